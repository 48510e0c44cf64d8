//! `acmirror fake-ac`: the built-in ActiveCampaign simulator.

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::SettingsArgs;
use crate::fake_ac::FakeAcArgs;

use super::{load_settings, CliError};

/// Arguments of `fake-ac`.
#[derive(Debug, clap::Args)]
pub struct FakeAcCommand {
    /// TOML settings file (only the logging settings apply to the simulator)
    #[arg(long, value_name = "FILE", env = "ACMIRROR_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    sim: FakeAcArgs,
}

/// Runs the simulator until SIGINT or SIGTERM.
pub fn run(args: FakeAcCommand) -> Result<(), CliError> {
    let settings = load_settings(&SettingsArgs {
        config: args.config.clone(),
        ..SettingsArgs::default()
    })?;
    super::init_tracing(&settings);
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let watcher = shutdown.clone();
        tokio::spawn(async move {
            if super::serve::wait_for_signal().await.is_ok() {
                watcher.cancel();
            }
        });
        crate::fake_ac::run(args.sim, shutdown).await
    })?;
    Ok(())
}
