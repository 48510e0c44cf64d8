//! `acmirror-sim`: the ActiveCampaign simulator as a process (`fake-ac`), and the whole loop on
//! one machine with no account (`demo`). `acmirror fake-ac` and `acmirror demo` hand over to it.

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use acmirror::cli::{init_tracing, load_settings, CliError};
use acmirror::config::SettingsArgs;
use acmirror_sim::demo::{self, DemoArgs};
use acmirror_sim::fake_ac::FakeAcArgs;

/// The ActiveCampaign simulator that acmirror is tested against.
#[derive(Debug, Parser)]
#[command(name = "acmirror-sim", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the ActiveCampaign simulator (API v3 subset and webhook sender)
    FakeAc(FakeAcCommand),
    /// The whole loop on one machine with no account: lossy webhooks, then reconciliation
    Demo(DemoArgs),
}

/// Arguments of `fake-ac`.
#[derive(Debug, clap::Args)]
struct FakeAcCommand {
    /// TOML settings file (only the logging settings apply to the simulator)
    #[arg(long, value_name = "FILE", env = "ACMIRROR_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    sim: FakeAcArgs,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::FakeAc(args) => fake_ac(args),
        Command::Demo(args) => demo::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(err.exit_code());
    }
}

/// Runs the simulator until SIGINT or SIGTERM.
fn fake_ac(args: FakeAcCommand) -> Result<(), CliError> {
    let settings = load_settings(&SettingsArgs {
        config: args.config.clone(),
        ..SettingsArgs::default()
    })?;
    init_tracing(&settings);
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let watcher = shutdown.clone();
        tokio::spawn(async move {
            if acmirror::cli::serve::wait_for_signal().await.is_ok() {
                watcher.cancel();
            }
        });
        acmirror_sim::fake_ac::run(args.sim, shutdown).await
    })?;
    Ok(())
}
