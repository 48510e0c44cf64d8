//! `acmirror migrate`.

use crate::config::SettingsArgs;

use super::{load_settings, CliError};

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    settings: SettingsArgs,
}

/// Creates or upgrades the schema and prints what it did.
pub fn run(args: MigrateArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let runtime = tokio::runtime::Runtime::new().map_err(anyhow::Error::from)?;
    let (_, applied) = runtime.block_on(crate::app::open_database(&settings))?;
    if applied.is_empty() {
        println!("{}: the schema is up to date", settings.database.redacted());
    } else {
        for version in &applied {
            println!(
                "{}: applied migration {version}",
                settings.database.redacted()
            );
        }
    }
    Ok(())
}
