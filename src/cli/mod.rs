//! The command line: one file per subcommand.

pub mod events;
pub mod migrate;
pub mod register_webhook;
pub mod replay;
pub mod resync;
pub mod serve;
pub mod simulator;
pub mod status;
mod table;

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, Settings, SettingsArgs};

/// acmirror keeps a local SQL mirror of an ActiveCampaign account's contacts and deals.
#[derive(Debug, Parser)]
#[command(name = "acmirror", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, then receive webhooks, apply them and reconcile on schedule until SIGINT/SIGTERM
    Serve(serve::ServeArgs),
    /// Create or upgrade the schema, print what was done, exit
    Migrate(migrate::MigrateArgs),
    /// Run one reconciliation against the API now and print a summary
    Resync(resync::ResyncArgs),
    /// Run the ActiveCampaign simulator (API v3 subset and webhook sender): `acmirror-sim fake-ac`
    #[command(disable_help_flag = true)]
    FakeAc(simulator::Handover),
    /// The whole loop on one machine with no account, lossy webhooks then reconciliation:
    /// `acmirror-sim demo`
    #[command(disable_help_flag = true)]
    Demo(simulator::Handover),
    /// Counts, last webhook received, pending and failed deliveries, recent reconciliation runs
    Status(status::StatusArgs),
    /// List stored webhook deliveries, newest first
    Events(events::EventsArgs),
    /// Re-apply stored deliveries (after a fix, or after a schema change)
    Replay(replay::ReplayArgs),
    /// Create or update the account's webhook so that it points at this mirror; idempotent
    RegisterWebhook(register_webhook::RegisterWebhookArgs),
}

/// A failure with its exit code: 1 the work failed, 2 bad usage or configuration.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The work failed (exit 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Config(_) => 2,
            // A setting that only the database can judge (e.g. the pool size) fails late.
            Self::Failed(e) if e.downcast_ref::<ConfigError>().is_some() => 2,
            Self::Failed(_) => 1,
        }
    }
}

/// Loads settings from flags, the environment and the file.
pub fn load_settings(args: &SettingsArgs) -> Result<Settings, ConfigError> {
    Settings::load(args, &crate::config::process_env)
}

/// Sets up logging to stderr in the configured format.
pub fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.log_format {
        crate::config::LogFormat::Json => builder.json().try_init(),
        crate::config::LogFormat::Pretty => builder.try_init(),
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = result;
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Resync(args) => resync::run(args),
        Command::FakeAc(args) => simulator::hand_over("fake-ac", args),
        Command::Demo(args) => simulator::hand_over("demo", args),
        Command::Status(args) => status::run(args),
        Command::Events(args) => events::run(args),
        Command::Replay(args) => replay::run(args),
        Command::RegisterWebhook(args) => register_webhook::run(args),
    }
}
