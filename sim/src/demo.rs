//! `acmirror demo` (`acmirror-sim demo`): the whole loop on one machine, with no account. A simulated account sends
//! lossy webhooks to a mirror on a temporary SQLite file; then reconciliation repairs what the
//! webhooks lost, and the command prints what was lost and what was repaired.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::fake_ac::{FakeAc, FakeAcConfig, FakeAcHandle, WebhookFaults};
use crate::truth::diff;
use acmirror::app::{open_database, Daemon};
use acmirror::config::{Settings, SettingsArgs};
use acmirror::metrics::Metrics;
use acmirror::reconcile::{LogProgress, Mode, Reconciler, RunRequest, RunSummary, Trigger};

use acmirror::cli::{init_tracing, load_settings, CliError};

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Seconds of simulated account activity
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Changes per second during the activity
    #[arg(long, default_value_t = 25.0)]
    rate: f64,
    /// Share of webhooks lost
    #[arg(long, default_value_t = 0.10)]
    drop: f64,
}

/// Runs the demo and prints its report.
pub fn run(args: DemoArgs) -> Result<(), CliError> {
    let mut base = load_settings(&args.settings)?;
    base.log = std::env::var("ACMIRROR_LOG").unwrap_or_else(|_| "warn".into());
    init_tracing(&base);
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    runtime.block_on(demo(args))?;
    Ok(())
}

fn demo_settings(db: &std::path::Path) -> anyhow::Result<Settings> {
    let env = std::collections::HashMap::from([
        ("ACMIRROR_DATABASE_URL", db.to_string_lossy().into_owned()),
        ("ACMIRROR_LISTEN", "127.0.0.1:0".to_owned()),
        ("ACMIRROR_RECONCILE_CRON", String::new()),
        ("ACMIRROR_FULL_SYNC_CRON", String::new()),
        ("ACMIRROR_LOG_FORMAT", "pretty".to_owned()),
    ]);
    Ok(Settings::load(&SettingsArgs::default(), &|k| {
        env.get(k).cloned()
    })?)
}

async fn differences(sim: &FakeAcHandle, daemon: &Daemon) -> anyhow::Result<usize> {
    sim.flush().await;
    let pool = daemon.pool.clone();
    let metrics = daemon.metrics.clone();
    let mirror = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        acmirror::webhook::worker::drain(&pool, &metrics)?;
        Ok(crate::verify::mirror_snapshot(&mut *pool.get()?)?)
    })
    .await??;
    Ok(diff(&mirror, &sim.truth()).len())
}

async fn reconcile(rec: &Reconciler, mode: Mode) -> anyhow::Result<RunSummary> {
    let s = rec
        .run(RunRequest::new(mode, Trigger::Manual), &LogProgress)
        .await?;
    if let Some(e) = &s.error {
        anyhow::bail!("the {} reconciliation failed: {e}", mode.as_str());
    }
    println!(
        "  {:<11} run: {:>4} API requests, {:>6} records read, {:>4} repaired, {:>3} marked deleted, {:.1} s",
        mode.as_str(), s.counters.api_requests, s.counters.fetched, s.counters.changed, s.counters.deleted, s.seconds
    );
    Ok(s)
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("acmirror-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let db = dir.join("mirror.db");
    let sim = FakeAc::start(FakeAcConfig {
        contacts: 1_000,
        deals: 200,
        rate_limit: 5,
        ..FakeAcConfig::default()
    })
    .await?;
    let mut settings = demo_settings(&db)?;
    settings.api = Some(acmirror::config::ApiSettings {
        url: sim.base_url(),
        token: sim.api_token().to_owned().into(),
        rate_limit: 4.0,
    });
    let (pool, _) = open_database(&settings).await?;
    let metrics = Arc::new(Metrics::new());
    let daemon = Daemon::start(&settings, pool, metrics.clone(), 2).await?;
    let rec = daemon
        .reconciler()
        .context("the daemon reconciles against the simulator")?;
    sim.set_webhook_target(Some(format!(
        "http://{}{}",
        daemon.addr,
        daemon.webhook_path()
    )));
    let faults = WebhookFaults {
        drop: args.drop,
        duplicate: 0.05,
        reorder: 0.10,
        ..WebhookFaults::default()
    };

    println!(
        "acmirror demo: a simulated ActiveCampaign account ({}) and a mirror on {}",
        sim.api_url(),
        db.display()
    );
    println!("1. The first full reconciliation loads the account (1,000 contacts, 200 deals) within the 5 requests/s limit:");
    reconcile(rec, Mode::Full).await?;

    println!(
        "2. {} s of account activity; {:.0}% of webhooks are lost, 5% duplicated, 10% reordered:",
        args.seconds,
        args.drop * 100.0
    );
    sim.set_webhook_faults(faults);
    for second in 1..=args.seconds {
        sim.run_for(Duration::from_secs(1), args.rate).await;
        let s = sim.stats();
        println!(
            "  {second:>3} s: {:>5} changes, {:>5} deliveries, {:>4} lost, {:>4} duplicated, {:>5} applied",
            s.changes, s.deliveries_sent, s.deliveries_dropped, s.deliveries_duplicated, metrics.deliveries_applied.get()
        );
    }
    let imported = sim.bulk_import(50);
    let gone_contacts = sim.delete_contacts(10);
    let gone_deals = sim.delete_deals(3);
    println!(
        "  plus a bulk import of {} contacts and {} contact and {} deal deletions, which send no webhooks",
        imported.count(), gone_contacts.len(), gone_deals.len()
    );
    let before = differences(&sim, &daemon).await?;

    println!("3. Reconciliation repairs what the webhooks missed:");
    let inc = reconcile(rec, Mode::Incremental).await?;
    let full = reconcile(rec, Mode::Full).await?;
    let after = differences(&sim, &daemon).await?;
    let s = sim.stats();
    println!();
    println!(
        "  changes made upstream          {:>7}",
        s.changes + s.contacts_imported + s.contacts_deleted + s.deals_deleted
    );
    println!("  webhook deliveries sent        {:>7}", s.deliveries_sent);
    println!(
        "  deliveries lost                {:>7}",
        s.deliveries_dropped
    );
    println!(
        "  deliveries duplicated          {:>7}",
        s.deliveries_duplicated
    );
    println!("  mirror differences before      {:>7}", before);
    println!(
        "  records repaired               {:>7}",
        inc.counters.changed + full.counters.changed + full.counters.deleted
    );
    println!("  mirror differences after       {:>7}", after);
    println!();
    println!("The mirror stays at {} . Try:", db.display());
    println!("  sqlite3 {} \"SELECT status, COUNT(*), SUM(value_cents)/100.0 FROM deals WHERE deleted_at IS NULL GROUP BY status\"", db.display());
    sim.stop().await;
    daemon.stop().await;
    if after != 0 {
        anyhow::bail!("{after} differences remain after reconciliation");
    }
    Ok(())
}
