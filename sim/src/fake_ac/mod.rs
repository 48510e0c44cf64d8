//! A built-in ActiveCampaign simulator: the REST API v3 subset the mirror reads, a living
//! account that changes, and the webhook deliveries ActiveCampaign would send for each change,
//! with the faults a real account shows (rate limits, 503 bursts, lost, duplicated and
//! reordered webhooks). Tests, benchmarks and `acmirror demo` use it instead of a real account.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig};
//! let sim = FakeAc::start(FakeAcConfig { contacts: 50, deals: 10, ..FakeAcConfig::default() }).await?;
//! sim.set_webhook_target(Some("http://127.0.0.1:8080/webhooks/activecampaign/secret".into()));
//! sim.run_changes(100).await;
//! sim.flush().await;
//! let truth = sim.truth();
//! # let _ = truth; sim.stop().await; Ok(()) }
//! ```

mod api;
mod catalog;
mod cli;
mod clock;
mod config;
mod control;
mod driver;
mod edits;
mod engine;
mod generate;
mod heavy;
mod model;
mod partial;
mod query;
mod rate;
mod sender;
mod shared;
mod snapshot;
mod state;
mod stats;
mod wire;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

pub use cli::{run, FakeAcArgs};
pub use config::{ApiFaults, FakeAcConfig, Realism, WebhookFaults};
pub use driver::LostChange;
pub use driver::{CampaignsChurn, NotesChurn};
pub use stats::FakeAcStats;

use engine::Engine;
use generate::DealShape;
use sender::{Routing, Sender};
use shared::Shared;
use state::Account;

/// Starts simulators.
#[derive(Debug)]
pub struct FakeAc;

impl FakeAc {
    /// Generates the account, binds the listener and starts serving and delivering.
    /// Must be called inside a tokio runtime.
    pub async fn start(config: FakeAcConfig) -> anyhow::Result<FakeAcHandle> {
        let skew = config.realism.clock_skew_secs;
        let anchor = config
            .epoch
            .map_or_else(|| clock::Clock::new(skew).now_secs(), |t| t.timestamp());
        let shape = DealShape {
            contacts: config.contacts as i64,
            deals: config.deals as i64,
            restricted: config.restricted_deals as i64,
        };
        let account = Account::new(config.seed, shape, anchor).with_realism(config.realism.clone());
        let shared = Arc::new(Shared::new(
            account,
            config.api_token.clone(),
            config.rate_limit,
            config.api_faults.clone(),
        ));
        shared.clock.set_skew(skew);
        let routing = Routing {
            target: config.webhook_target.clone(),
            faults: config.webhook_faults.clone(),
            partial_webhooks: config.realism.partial_webhooks,
        };
        let sender = Sender::start(
            shared.clone(),
            routing,
            config.delivery_concurrency,
            config.seed,
        );
        let engine = Arc::new(Engine::new(shared.clone(), sender, config.seed));

        let (state, control) = (
            web::Data::from(shared.clone()),
            web::Data::from(engine.clone()),
        );
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(control.clone())
                .configure(control::configure)
                .configure(api::configure)
        })
        .workers(2)
        .disable_signals()
        .bind(config.listen)
        .with_context(|| format!("Failed to bind the simulator to {}", config.listen))?;
        let addr = *server
            .addrs()
            .first()
            .context("the simulator listener has no address")?;
        // Set before the first request can arrive: `links` need the real port.
        let _ = shared.base_url.set(format!("http://{addr}"));
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(FakeAcHandle {
            engine,
            server: handle,
            addr,
        })
    }
}

/// A running simulator. Cheap to clone; every clone controls the same instance.
#[derive(Debug, Clone)]
pub struct FakeAcHandle {
    engine: Arc<Engine>,
    server: ServerHandle,
    addr: SocketAddr,
}

impl FakeAcHandle {
    /// `http://127.0.0.1:PORT`: what to configure as the account's API URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/3`.
    pub fn api_url(&self) -> String {
        format!("{}/api/3", self.base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `Api-Token` the API accepts.
    pub fn api_token(&self) -> &str {
        &self.engine.shared.token
    }

    /// The account's current state, to compare a mirror with.
    pub fn truth(&self) -> crate::truth::Snapshot {
        self.engine.truth()
    }

    /// What the simulator has done so far.
    pub fn stats(&self) -> FakeAcStats {
        self.engine.shared.stats.snapshot()
    }

    /// Makes `count` random changes, each queuing one webhook event; returns when all are
    /// queued (see [`flush`](Self::flush) to wait for delivery).
    pub async fn run_changes(&self, count: u64) {
        self.engine.run_changes(count).await;
    }

    /// Makes changes at `per_second` for `duration`.
    pub async fn run_for(&self, duration: Duration, per_second: f64) {
        self.engine.run_for(duration, per_second).await;
    }

    /// Adds `n` contacts as a bulk import does, without webhooks; returns their ids.
    pub fn bulk_import(&self, n: u64) -> RangeInclusive<i64> {
        self.engine.bulk_import(n)
    }

    /// Adds `n` deals as a bulk import does, all created in the same second and without
    /// webhooks; returns their ids.
    pub fn bulk_import_deals(&self, n: u64) -> RangeInclusive<i64> {
        self.engine.bulk_import_deals(n)
    }

    /// Makes `n` contact changes of `kind` whose webhooks are lost (none is sent); returns the
    /// contacts changed, in order (a contact may appear more than once).
    pub fn lost_changes(&self, kind: LostChange, n: u64) -> Vec<i64> {
        self.engine.lost_changes(kind, n)
    }

    /// Deletes up to `n` random contacts, without webhooks; returns their ids.
    pub fn delete_contacts(&self, n: u64) -> Vec<i64> {
        self.engine.delete_contacts(n)
    }

    /// Deletes up to `n` random deals, without webhooks; returns their ids.
    pub fn delete_deals(&self, n: u64) -> Vec<i64> {
        self.engine.delete_deals(n)
    }

    /// Makes up to `n` note and task changes for which ActiveCampaign sends no webhook: note
    /// edits, task edits and reopenings, note and task deletions.
    pub fn churn_notes_and_tasks(&self, n: u64) -> NotesChurn {
        self.engine.churn_notes_and_tasks(n)
    }

    /// Makes up to `n` campaign and message changes for which ActiveCampaign sends no webhook:
    /// renames, new subjects, another send of a recurring campaign, and now and then a
    /// deletion (campaign and message).
    pub fn churn_campaigns(&self, n: u64) -> CampaignsChurn {
        self.engine.churn_campaigns(n)
    }

    /// Deletes campaign `id` and its message, without webhooks; false when there is none.
    pub fn delete_campaign(&self, id: i64) -> bool {
        self.engine.delete_campaign(id)
    }

    /// Sets or clears the URL that receives every event, besides registered webhooks.
    pub fn set_webhook_target(&self, url: Option<String>) {
        self.engine.sender.routing().target = url;
    }

    /// Replaces the webhook delivery faults.
    pub fn set_webhook_faults(&self, faults: WebhookFaults) {
        self.engine.sender.routing().faults = faults;
    }

    /// Turns the "receiver down" switch on or off: while on, deliveries fail and are lost.
    pub fn set_down(&self, down: bool) {
        self.engine.sender.routing().faults.down = down;
    }

    /// Replaces the API faults.
    pub fn set_api_faults(&self, faults: ApiFaults) {
        let mut f = self.engine.shared.faults();
        f.knobs = faults;
        f.burst_left = 0;
    }

    /// Changes the API rate limit (requests per second, 0 for none).
    pub fn set_rate_limit(&self, per_second: u32) {
        self.engine.shared.limiter.set_rate(per_second);
    }

    /// Ids of the deals the API shows as permission stubs.
    pub fn restricted_deal_ids(&self) -> Vec<i64> {
        let acct = self.engine.shared.account();
        (1..=acct.max_deal)
            .filter(|id| acct.deal_exists(*id) && acct.deal_is_restricted(*id))
            .collect()
    }

    /// Waits until every queued, delayed and in-flight delivery has been attempted.
    pub async fn flush(&self) {
        self.engine.sender.pending.wait_idle().await;
    }

    /// Stops the HTTP server. Deliveries still queued are abandoned.
    pub async fn stop(&self) {
        self.server.stop(true).await;
    }
}
