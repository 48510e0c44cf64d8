//! `acmirror serve`.

use anyhow::Context;

use std::sync::Arc;

use crate::app::{base_url, open_database, Daemon, MASKED_WEBHOOK_PATH};
use crate::config::SettingsArgs;
use crate::metrics::Metrics;

use super::{load_settings, CliError};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// HTTP worker threads (default: one per core)
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

/// Runs the daemon until SIGINT or SIGTERM, then stops gracefully and exits 0.
pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    runtime.block_on(async move {
        let (pool, applied) = open_database(&settings).await?;
        tracing::info!(database = %settings.database.redacted(), migrations_applied = applied.len(), "database ready");
        let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let daemon = Daemon::start(&settings, pool, Arc::new(Metrics::new()), workers).await?;
        announce(&settings, &daemon);
        wait_for_signal().await?;
        tracing::info!("shutting down: no new deliveries, finishing in-flight work");
        daemon.stop().await;
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

fn announce(settings: &crate::config::Settings, daemon: &Daemon) {
    let base = base_url(settings, daemon.addr);
    if daemon.secret_generated {
        // Printed once, when generated: this is the URL to give ActiveCampaign.
        println!("Generated a webhook secret. Webhook URL (give it to ActiveCampaign through an HTTPS proxy on port 443, or `acmirror register-webhook`):");
        println!("  {base}{}", daemon.webhook_path());
    } else {
        // No character of the secret: a log or a screen share must not narrow it down.
        println!("Webhook URL: {base}{MASKED_WEBHOOK_PATH} (secret masked; it is ACMIRROR_WEBHOOK_SECRET)");
    }
    if settings.api.is_none() {
        tracing::warn!("ACMIRROR_AC_API_URL is not set: reconciliation is disabled, lost webhooks will not be repaired");
    }
    tracing::info!(listen = %daemon.addr, "serving");
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("Failed to watch SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("Failed to watch SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
