//! `acmirror fake-ac`: the simulator as a standalone process.

use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{FakeAc, FakeAcConfig, Realism, WebhookFaults};

/// Options of `acmirror fake-ac`.
#[derive(Debug, Clone, clap::Args)]
pub struct FakeAcArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Seed of the generated account and of its changes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Contacts in the account at start.
    #[arg(long, default_value_t = 1_000)]
    pub contacts: u64,
    /// Deals in the account at start.
    #[arg(long, default_value_t = 200)]
    pub deals: u64,
    /// Deals the API shows only as permission stubs.
    #[arg(long, default_value_t = 3)]
    pub restricted_deals: u64,
    /// API requests per second before 429 (0: no limit).
    #[arg(long, default_value_t = 5)]
    pub rate_limit: u32,
    /// Changes per second, each sending a webhook (0: the account stays still).
    #[arg(long, default_value_t = 0.0)]
    pub change_rate: f64,
    /// URL that receives every webhook event (besides webhooks registered through the API).
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Fraction of deliveries to drop.
    #[arg(long, default_value_t = 0.0)]
    pub drop: f64,
    /// Fraction of deliveries to send twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Fraction of deliveries to delay so that later ones overtake them.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// The Api-Token the simulated API accepts.
    #[arg(long, default_value = "fake-token")]
    pub api_token: String,
    /// `strict` behaves as the real service may where nothing documents it: a contact's
    /// `udate` frozen on tag, list and field changes, shuffled ties under offset paging, a
    /// heavy account, cut-off large responses, partial webhook blocks, and a skewed clock.
    #[arg(long, value_enum, default_value_t = RealismProfile::Default)]
    pub realism: RealismProfile,
    /// Seconds the upstream clock runs ahead of (positive) or behind (negative) this host's;
    /// with `--realism strict` the default is 600 behind.
    #[arg(long, allow_hyphen_values = true)]
    pub clock_skew: Option<i64>,
}

/// The simulator's behaviour profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RealismProfile {
    /// The documented behaviour only.
    Default,
    /// Every undocumented behaviour the mirror must survive.
    Strict,
}

impl FakeAcArgs {
    /// The simulator configuration these options describe.
    pub fn config(&self) -> FakeAcConfig {
        FakeAcConfig {
            listen: self.listen,
            api_token: self.api_token.clone(),
            seed: self.seed,
            contacts: self.contacts,
            deals: self.deals,
            restricted_deals: self.restricted_deals,
            rate_limit: self.rate_limit,
            webhook_target: self.webhook_url.clone(),
            webhook_faults: WebhookFaults {
                drop: self.drop,
                duplicate: self.duplicate,
                reorder: self.reorder,
                ..WebhookFaults::default()
            },
            realism: match self.realism {
                RealismProfile::Default => Realism {
                    clock_skew_secs: self.clock_skew.unwrap_or(0),
                    ..Realism::default()
                },
                RealismProfile::Strict => Realism::strict(self.clock_skew.unwrap_or(-600)),
            },
            ..FakeAcConfig::default()
        }
    }
}

/// Runs the simulator until `shutdown` is cancelled, printing where to reach it.
pub async fn run(args: FakeAcArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let sim = FakeAc::start(args.config()).await?;
    println!("ActiveCampaign simulator listening on {}", sim.api_url());
    println!("  Api-Token: {}", sim.api_token());
    println!(
        "  ground truth: {}/__fake/truth, counters: {}/__fake/stats",
        sim.base_url(),
        sim.base_url()
    );
    if let Some(url) = &args.webhook_url {
        println!("  delivering webhooks to {url}");
    }
    if args.change_rate > 0.0 {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = sim.run_for(Duration::from_secs(1), args.change_rate) => {}
            }
        }
    } else {
        shutdown.cancelled().await;
    }
    let stats = sim.stats();
    sim.stop().await;
    println!(
        "simulator stopped: {} changes, {} deliveries ok, {} failed, {} dropped, {} API requests, {} throttled",
        stats.changes, stats.deliveries_ok, stats.deliveries_failed, stats.deliveries_dropped, stats.api_requests, stats.api_throttled
    );
    Ok(())
}
