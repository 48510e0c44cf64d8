//! `acmirror register-webhook --url PUBLIC_URL [--events E,...] [--sources S,...]`.

use std::fmt::Write as _;

use anyhow::Context;

use crate::activecampaign::{ApiClient, ClientConfig};
use crate::config::{ConfigError, Settings, SettingsArgs};
use crate::ops::register::{self, Action, RegisterError, Registered, Registration};

use super::{load_settings, CliError};

/// Arguments of `register-webhook`.
#[derive(Debug, clap::Args)]
pub struct RegisterWebhookArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The mirror's public base URL as ActiveCampaign reaches it, e.g. https://mirror.example.com,
    /// or the full webhook URL that `serve` prints (ActiveCampaign only posts HTTPS to port 443)
    #[arg(long, value_name = "PUBLIC_URL")]
    url: String,
    /// Event types to subscribe, or `all` (engagement events too: one delivery per recipient
    /// and event) [default: every type the mirror uses that the account offers]
    #[arg(long, value_name = "E,...", value_delimiter = ',')]
    events: Option<Vec<String>>,
    /// Initiators to include
    #[arg(
        long,
        value_name = "S,...",
        value_delimiter = ',',
        default_value = "public,admin,api,system"
    )]
    sources: Vec<String>,
}

/// Creates or updates the account's webhook so that it points at this mirror.
pub fn run(args: RegisterWebhookArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let Some(api) = settings.api.clone() else {
        return Err(ConfigError {
            setting: "ACMIRROR_AC_API_URL",
            message: "register-webhook needs ACMIRROR_AC_API_URL and ACMIRROR_AC_API_TOKEN (Settings → Developer in ActiveCampaign)".to_owned(),
        }
        .into());
    };
    let warning = register::check_public_url(&args.url).map_err(usage)?;
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
    }
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    let registered = runtime.block_on(async {
        let (secret, generated) = secret(&settings).await?;
        if generated {
            println!("Generated a webhook secret and stored it in the database; `acmirror serve` uses it.");
        }
        let mut config = ClientConfig::new(api.url.clone(), api.token.clone());
        config.rate_limit = api.rate_limit;
        let client = ApiClient::new(config).context("Failed to set up the API client; check ACMIRROR_AC_API_URL and ACMIRROR_AC_API_TOKEN")?;
        let reg = Registration {
            public_url: args.url.clone(),
            secret,
            events: args.events.clone(),
            sources: args.sources.clone(),
        };
        register::register(&client, &reg).await.map_err(|e| match e {
            RegisterError::Usage(_) => usage(e),
            RegisterError::Api(_) => CliError::Failed(anyhow::Error::new(e).context(
                "check ACMIRROR_AC_API_URL, ACMIRROR_AC_API_TOKEN and that the API user may manage webhooks",
            )),
        })
    })?;
    super::table::emit(&render_text(&registered))?;
    if !registered.other_hooks.is_empty() {
        eprintln!(
            "warning: webhook(s) {:?} also point at this mirror with another secret; delete them in ActiveCampaign (Settings → Developer → Webhooks)",
            registered.other_hooks
        );
    }
    Ok(())
}

/// The configured secret, or the one stored in (or now generated into) the database.
async fn secret(settings: &Settings) -> Result<(secrecy::SecretString, bool), CliError> {
    if let Some(s) = &settings.webhook_secret {
        return Ok((s.clone(), false));
    }
    // The stored secret lives in the mirror's database, created here if `serve` never ran.
    let (pool, _) = crate::app::open_database(settings).await?;
    Ok(crate::app::webhook_secret(&pool, None).await?)
}

fn usage(e: RegisterError) -> CliError {
    CliError::Config(ConfigError {
        setting: "register-webhook",
        message: e.to_string(),
    })
}

/// What was done, with the secret masked.
pub fn render_text(r: &Registered) -> String {
    let verb = match r.action {
        Action::Created => "Created",
        Action::Updated => "Updated",
        Action::Unchanged => "Unchanged:",
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{verb} webhook {} → {}", r.webhook_id, r.masked_url);
    let _ = writeln!(out, "  events   {}", r.events.join(","));
    let _ = writeln!(out, "  sources  {}", r.sources.join(","));
    if !r.unavailable_events.is_empty() {
        let _ = writeln!(
            out,
            "  not offered by this account (not subscribed): {}",
            r.unavailable_events.join(",")
        );
    }
    out
}
