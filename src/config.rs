//! Settings: command-line flag > environment variable > `--config` TOML file > default.
//!
//! Secrets (API token, webhook secret, admin token, a database password) are read from the
//! environment or the file only, never from flags (which show in `ps`), and are held as
//! [`SecretString`] so that `Debug` cannot print them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use serde::Deserialize;

use crate::db::DatabaseUrl;

/// A setting with a bad value; the message names the setting. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The setting's environment-variable name.
    pub setting: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

pub(crate) fn bad(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        message: message.into(),
    }
}

/// The settings every subcommand accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SettingsArgs {
    /// TOML file with settings (keys as the environment variables, lower case, without ACMIRROR_)
    #[arg(long, value_name = "FILE", env = "ACMIRROR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database: a SQLite file path, sqlite://PATH, or postgres://… [env: ACMIRROR_DATABASE_URL] [default: acmirror.db]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Address of the HTTP server [env: ACMIRROR_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The account's API URL, e.g. https://acct.api-us1.com [env: ACMIRROR_AC_API_URL]
    #[arg(long, value_name = "URL")]
    pub ac_api_url: Option<String>,
    /// API requests per second [env: ACMIRROR_AC_RATE_LIMIT] [default: 4]
    #[arg(long, value_name = "RPS")]
    pub ac_rate_limit: Option<String>,
    /// Incremental reconciliation schedule, cron with seconds, UTC; empty disables [env: ACMIRROR_RECONCILE_CRON]
    #[arg(long, value_name = "CRON")]
    pub reconcile_cron: Option<String>,
    /// Full reconciliation schedule; empty disables [env: ACMIRROR_FULL_SYNC_CRON]
    #[arg(long, value_name = "CRON")]
    pub full_sync_cron: Option<String>,
    /// Log filter, tracing EnvFilter syntax [env: ACMIRROR_LOG] [default: info]
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
    /// Log format: pretty or json [env: ACMIRROR_LOG_FORMAT] [default: pretty on a terminal, else json]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// The optional TOML file. Unknown keys are an error so that a typo does not go unnoticed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    listen: Option<String>,
    webhook_secret: Option<String>,
    ac_api_url: Option<String>,
    ac_api_token: Option<String>,
    ac_rate_limit: Option<toml::Value>,
    reconcile_cron: Option<String>,
    full_sync_cron: Option<String>,
    admin_token: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    db_pool_size: Option<u32>,
    spool_dir: Option<PathBuf>,
    spool_max_bytes: Option<u64>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Access to the ActiveCampaign API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The account's API URL as configured.
    pub url: String,
    /// The `Api-Token`.
    pub token: SecretString,
    /// Requests per second.
    pub rate_limit: f64,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the mirror lives.
    pub database: DatabaseUrl,
    /// Size of the connection pool.
    pub db_pool_size: u32,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// The configured webhook secret; `None` means generate one and keep it in the database.
    pub webhook_secret: Option<SecretString>,
    /// API access; `None` disables reconciliation.
    pub api: Option<ApiSettings>,
    /// Incremental schedule; `None` disables it.
    pub reconcile_cron: Option<cron::Schedule>,
    /// Full schedule; `None` disables it.
    pub full_sync_cron: Option<cron::Schedule>,
    /// Bearer token for `/admin/*`; `None` disables the admin endpoints.
    pub admin_token: Option<SecretString>,
    /// Log filter.
    pub log: String,
    /// Log format.
    pub log_format: LogFormat,
    /// TLS certificate and key (PEM) to serve HTTPS directly.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where deliveries wait while the database cannot take writes (`ACMIRROR_SPOOL_DIR`).
    pub spool_dir: PathBuf,
    /// Size limit of the spool in bytes; 0 disables it (`ACMIRROR_SPOOL_MAX_BYTES`).
    pub spool_max_bytes: u64,
}

/// Reads the environment through a function so that tests need not mutate the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

impl Settings {
    /// Layers flags, environment, file and defaults, and validates the result.
    pub fn load(args: &SettingsArgs, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let pick = |flag: &Option<String>, key: &str, from_file: &Option<String>| {
            flag.clone()
                .or_else(|| env(key))
                .or_else(|| from_file.clone())
        };
        let secret = |key: &str, from_file: &Option<String>| {
            env(key)
                .or_else(|| from_file.clone())
                .filter(|s| !s.is_empty())
                .map(SecretString::from)
        };

        let database_raw = pick(
            &args.database_url,
            "ACMIRROR_DATABASE_URL",
            &file.database_url,
        )
        .unwrap_or_else(|| "acmirror.db".into());
        let database =
            DatabaseUrl::parse(&database_raw).map_err(|m| bad("ACMIRROR_DATABASE_URL", m))?;

        let listen_raw = pick(&args.listen, "ACMIRROR_LISTEN", &file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = SocketAddr::from_str(listen_raw.trim()).map_err(|_| {
            bad(
                "ACMIRROR_LISTEN",
                format!("{listen_raw:?} is not an address like 127.0.0.1:8080"),
            )
        })?;

        let rate_raw = args
            .ac_rate_limit
            .clone()
            .or_else(|| env("ACMIRROR_AC_RATE_LIMIT"))
            .or_else(|| {
                file.ac_rate_limit
                    .as_ref()
                    .map(|v| v.to_string().trim_matches('"').to_owned())
            });
        let rate_limit = parse_rate(rate_raw)?;

        let api_url = pick(&args.ac_api_url, "ACMIRROR_AC_API_URL", &file.ac_api_url)
            .filter(|s| !s.is_empty());
        let api_token = secret("ACMIRROR_AC_API_TOKEN", &file.ac_api_token);
        let api = match (api_url, api_token) {
            (Some(url), Some(token)) => Some(ApiSettings { url: check_api_url(&url)?, token, rate_limit }),
            (Some(_), None) => {
                return Err(bad("ACMIRROR_AC_API_TOKEN", "is required when ACMIRROR_AC_API_URL is set (Settings → Developer in ActiveCampaign)"))
            }
            (None, Some(_)) => {
                return Err(bad("ACMIRROR_AC_API_URL", "is required when ACMIRROR_AC_API_TOKEN is set, e.g. https://youraccount.api-us1.com"))
            }
            (None, None) => None,
        };

        let reconcile_cron = parse_cron(
            "ACMIRROR_RECONCILE_CRON",
            pick(
                &args.reconcile_cron,
                "ACMIRROR_RECONCILE_CRON",
                &file.reconcile_cron,
            ),
            "0 */15 * * * *",
        )?;
        let full_sync_cron = parse_cron(
            "ACMIRROR_FULL_SYNC_CRON",
            pick(
                &args.full_sync_cron,
                "ACMIRROR_FULL_SYNC_CRON",
                &file.full_sync_cron,
            ),
            "0 0 3 * * *",
        )?;

        let log = pick(&args.log, "ACMIRROR_LOG", &file.log).unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log).map_err(|e| {
            bad(
                "ACMIRROR_LOG",
                format!("{log:?} is not a valid filter: {e}"),
            )
        })?;
        let log_format =
            match pick(&args.log_format, "ACMIRROR_LOG_FORMAT", &file.log_format).as_deref() {
                None | Some("") => default_log_format(),
                Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(bad(
                        "ACMIRROR_LOG_FORMAT",
                        format!("{other:?}: use pretty or json"),
                    ))
                }
            };

        let tls_cert = env("ACMIRROR_TLS_CERT")
            .map(PathBuf::from)
            .or(file.tls_cert);
        let tls_key = env("ACMIRROR_TLS_KEY").map(PathBuf::from).or(file.tls_key);
        let tls = match (tls_cert, tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    "ACMIRROR_TLS_KEY",
                    "is required with ACMIRROR_TLS_CERT",
                ))
            }
            (None, Some(_)) => {
                return Err(bad(
                    "ACMIRROR_TLS_CERT",
                    "is required with ACMIRROR_TLS_KEY",
                ))
            }
        };

        let db_pool_size = match env("ACMIRROR_DB_POOL_SIZE") {
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad(
                        "ACMIRROR_DB_POOL_SIZE",
                        format!("{raw:?} is not a positive number"),
                    )
                })?,
            None => file.db_pool_size.unwrap_or(8),
        };

        let (spool_dir, spool_max_bytes) = crate::webhook::fallback::settings(
            env,
            file.spool_dir,
            file.spool_max_bytes,
            &database,
            listen,
        )?;

        Ok(Self {
            database,
            db_pool_size,
            listen,
            webhook_secret: secret("ACMIRROR_WEBHOOK_SECRET", &file.webhook_secret),
            api,
            reconcile_cron,
            full_sync_cron,
            admin_token: secret("ACMIRROR_ADMIN_TOKEN", &file.admin_token),
            log,
            log_format,
            tls,
            spool_dir,
            spool_max_bytes,
        })
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("--config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| bad("--config", format!("{}: {e}", path.display())))
}

fn parse_rate(raw: Option<String>) -> Result<f64, ConfigError> {
    let Some(raw) = raw else { return Ok(4.0) };
    match raw.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v <= 1000.0 => Ok(v),
        _ => Err(bad(
            "ACMIRROR_AC_RATE_LIMIT",
            format!("{raw:?} is not a number of requests per second above 0 (the account allows 5, shared)"),
        )),
    }
}

fn check_api_url(raw: &str) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(raw.trim()).map_err(|e| {
        bad(
            "ACMIRROR_AC_API_URL",
            format!("{raw:?} is not a URL ({e}); copy it from Settings → Developer"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("ACMIRROR_AC_API_URL", "must start with https://"));
    }
    Ok(raw.trim().to_owned())
}

/// Parses a six-field cron schedule; an empty string disables the job.
fn parse_cron(
    setting: &'static str,
    raw: Option<String>,
    default: &str,
) -> Result<Option<cron::Schedule>, ConfigError> {
    let raw = raw.unwrap_or_else(|| default.to_owned());
    if raw.trim().is_empty() {
        return Ok(None);
    }
    cron::Schedule::from_str(raw.trim()).map(Some).map_err(|e| {
        bad(setting, format!("{raw:?} is not a cron schedule with seconds, e.g. \"0 */15 * * * *\" ({e}); empty disables"))
    })
}

fn default_log_format() -> LogFormat {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn load(args: SettingsArgs, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&args, &|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_give_a_local_sqlite_mirror_without_api() {
        let s = load(SettingsArgs::default(), &[]).expect("defaults are valid");
        assert_eq!(s.database.redacted(), "acmirror.db");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(s.api.is_none());
        assert!(s.reconcile_cron.is_some() && s.full_sync_cron.is_some());
    }

    #[test]
    fn flag_beats_environment_which_beats_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("acmirror.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:1111\"\nlog = \"debug\"\nac_rate_limit = 2\n",
        )
        .expect("write");
        let args = SettingsArgs {
            config: Some(path),
            listen: Some("127.0.0.1:3333".into()),
            ..Default::default()
        };
        let s = load(
            args.clone(),
            &[
                ("ACMIRROR_LISTEN", "127.0.0.1:2222"),
                ("ACMIRROR_LOG", "warn"),
            ],
        )
        .expect("valid");
        assert_eq!(s.listen.to_string(), "127.0.0.1:3333");
        assert_eq!(s.log, "warn");
        let s = load(
            SettingsArgs {
                listen: None,
                ..args
            },
            &[],
        )
        .expect("valid");
        assert_eq!(s.listen.to_string(), "127.0.0.1:1111");
        assert_eq!(s.log, "debug");
    }

    #[test]
    fn bad_values_name_their_setting() {
        let cases = [
            ("ACMIRROR_LISTEN", "nowhere"),
            ("ACMIRROR_AC_RATE_LIMIT", "fast"),
            ("ACMIRROR_RECONCILE_CRON", "every day"),
            ("ACMIRROR_LOG_FORMAT", "xml"),
            ("ACMIRROR_DATABASE_URL", "mysql://db/x"),
        ];
        for (key, value) in cases {
            let err = load(SettingsArgs::default(), &[(key, value)]).expect_err(key);
            assert_eq!(err.setting, key, "{err}");
        }
    }

    #[test]
    fn empty_cron_disables_the_job() {
        let s = load(SettingsArgs::default(), &[("ACMIRROR_FULL_SYNC_CRON", "")]).expect("valid");
        assert!(s.full_sync_cron.is_none());
    }

    #[test]
    fn api_token_is_kept_secret_and_required_with_the_url() {
        let err = load(
            SettingsArgs::default(),
            &[("ACMIRROR_AC_API_URL", "https://a.api-us1.com")],
        )
        .expect_err("no token");
        assert_eq!(err.setting, "ACMIRROR_AC_API_TOKEN");
        let s = load(
            SettingsArgs::default(),
            &[
                ("ACMIRROR_AC_API_URL", "https://a.api-us1.com"),
                ("ACMIRROR_AC_API_TOKEN", "tok-123456"),
            ],
        )
        .expect("valid");
        assert!(!format!("{s:?}").contains("tok-123456"));
        assert_eq!(
            s.api.expect("configured").token.expose_secret(),
            "tok-123456"
        );
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "lissten = \"x\"\n").expect("write");
        let err = load(
            SettingsArgs {
                config: Some(path),
                ..Default::default()
            },
            &[],
        )
        .expect_err("typo");
        assert!(err.message.contains("lissten"), "{err}");
    }
}
