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
use crate::setting::bad;
pub use crate::setting::{process_env, ConfigError, EnvLookup};

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
    retention_days: Option<u32>,
    max_connections: Option<u64>,
    listen_backlog: Option<u64>,
    body_timeout: Option<u64>,
    request_timeout: Option<u64>,
    body_memory_mb: Option<u64>,
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
    /// Days to keep applied and ignored deliveries in `webhook_events`; 0 keeps them forever.
    pub retention_days: u32,
    /// Connection, time and body-memory bounds of the HTTP server.
    pub http_limits: crate::http::limits::HttpLimits,
    /// Where deliveries wait while the database cannot take writes (`ACMIRROR_SPOOL_DIR`).
    pub spool_dir: PathBuf,
    /// Size limit of the spool in bytes; 0 disables it (`ACMIRROR_SPOOL_MAX_BYTES`).
    pub spool_max_bytes: u64,
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

        let retention_days = match env("ACMIRROR_RETENTION_DAYS") {
            Some(raw) => raw.trim().parse::<u32>().map_err(|_| {
                bad(
                    "ACMIRROR_RETENTION_DAYS",
                    format!("{raw:?} is not a whole number of days (0 keeps deliveries forever)"),
                )
            })?,
            None => file.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
        };

        let webhook_secret = secret("ACMIRROR_WEBHOOK_SECRET", &file.webhook_secret);
        if let Some(s) = &webhook_secret {
            check_webhook_secret(s)?;
        }
        let http_limits = crate::http::limits::HttpLimits::load(
            env,
            crate::http::limits::FileLimits {
                max_connections: file.max_connections,
                listen_backlog: file.listen_backlog,
                body_timeout: file.body_timeout,
                request_timeout: file.request_timeout,
                body_memory_mb: file.body_memory_mb,
            },
        )?;
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
            webhook_secret,
            api,
            reconcile_cron,
            full_sync_cron,
            admin_token: secret("ACMIRROR_ADMIN_TOKEN", &file.admin_token),
            log,
            log_format,
            tls,
            retention_days,
            http_limits,
            spool_dir,
            spool_max_bytes,
        })
    }
}

/// Default of `ACMIRROR_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Shortest accepted configured webhook secret.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 16;

/// The webhook secret is a URL path segment that ActiveCampaign sends back verbatim: it must be
/// long enough not to be guessed and made only of characters that need no percent-encoding
/// (RFC 3986 unreserved), so that the URL printed and registered is the URL that matches.
fn check_webhook_secret(secret: &SecretString) -> Result<(), ConfigError> {
    use secrecy::ExposeSecret;
    let s = secret.expose_secret();
    let unreserved = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    if s.chars().count() < MIN_WEBHOOK_SECRET_LEN || !s.chars().all(unreserved) {
        return Err(bad(
            "ACMIRROR_WEBHOOK_SECRET",
            format!(
                "must be at least {MIN_WEBHOOK_SECRET_LEN} characters, each one of A-Z a-z 0-9 - . _ ~ (it is a URL path segment); \
                 generate one with `openssl rand -hex 32`, or unset it to have acmirror generate and keep one"
            ),
        ));
    }
    Ok(())
}

/// Keys of the file whose values are secret.
const SECRET_KEYS: &[&str] = &[
    "webhook_secret",
    "ac_api_token",
    "admin_token",
    "database_url",
];

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("--config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        bad(
            "--config",
            format!("{}: {}", path.display(), describe_toml_error(&text, &e)),
        )
    })
}

/// A TOML error as "line N, key K: what is wrong", without any value from the file: toml's
/// own rendering quotes the offending line, which may hold a token, and serde's type errors
/// quote the value. Quoted parts of the message are kept only when they name a setting key.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let mut out = String::new();
    let mut line_key = None;
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        out.push_str(&format!("line {line_no}"));
        line_key = text.lines().nth(line_no - 1).and_then(line_key_of);
        if let Some(k) = &line_key {
            out.push_str(&format!(", key {k}"));
            if SECRET_KEYS.contains(&k.as_str()) {
                out.push_str(" (a secret: its value is not shown)");
            }
        }
        out.push_str(": ");
    }
    out.push_str(&redact_quoted(e.message(), line_key.as_deref()));
    out
}

/// The bare key a `key = value` line assigns, if any.
fn line_key_of(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    bare.then(|| key.to_owned())
}

/// Replaces every `…` or "…" quoted part of `message` by `…`, unless it is a setting key.
fn redact_quoted(message: &str, line_key: Option<&str>) -> String {
    const KNOWN: &[&str] = &[
        "database_url",
        "listen",
        "webhook_secret",
        "ac_api_url",
        "ac_api_token",
        "ac_rate_limit",
        "reconcile_cron",
        "full_sync_cron",
        "admin_token",
        "log",
        "log_format",
        "tls_cert",
        "tls_key",
        "db_pool_size",
        "retention_days",
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(['`', '"']) {
        let quote = rest[i..].chars().next().unwrap_or('"');
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(quote) {
            Some(j) => {
                let inner = &after[..j];
                let is_key = KNOWN.contains(&inner) || Some(inner) == line_key;
                out.push(quote);
                out.push_str(if is_key { inner } else { "…" });
                out.push(quote);
                rest = &after[j + 1..];
            }
            None => {
                out.push('…');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // Multi-line messages (a parser's context) are cut to their first line.
    out.lines().next().unwrap_or_default().to_owned()
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
        return Err(bad(
            "ACMIRROR_AC_API_URL",
            "must start with https:// (ActiveCampaign) or http:// (a simulator such as `acmirror fake-ac`)",
        ));
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
    cron::Schedule::from_str(raw.trim())
        .map(Some)
        .map_err(|e| bad(setting, cron_advice(raw.trim(), &e.to_string())))
}

/// What is wrong with a cron expression, and the expression to use instead where it is clear.
fn cron_advice(raw: &str, parser_says: &str) -> String {
    let fields = raw.split_whitespace().count();
    if fields == 5 {
        return format!(
            "{raw:?} has 5 fields, but acmirror's cron has 6, with seconds first (UTC); \
             for this schedule use \"0 {raw}\"; empty disables"
        );
    }
    // The parser's message repeats the expression with a caret under the fault: keep it on
    // one line, and only when it says more than the expression itself.
    let detail = parser_says.split_whitespace().collect::<Vec<_>>().join(" ");
    let detail = detail
        .trim_start_matches(raw)
        .trim_start()
        .trim_start_matches('^')
        .trim();
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    format!(
        "{raw:?} is not a cron schedule{detail}: acmirror's cron has 6 fields, seconds first, \
         UTC, e.g. \"0 */15 * * * *\" for every 15 minutes; empty disables"
    )
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
    fn a_five_field_cron_is_explained_with_the_corrected_expression() {
        let err = load(
            SettingsArgs::default(),
            &[("ACMIRROR_RECONCILE_CRON", "*/15 * * * *")],
        )
        .expect_err("five fields");
        assert_eq!(err.setting, "ACMIRROR_RECONCILE_CRON");
        assert!(err.message.contains("6, with seconds first"), "{err}");
        assert!(err.message.contains("\"0 */15 * * * *\""), "{err}");
        let corrected = load(
            SettingsArgs::default(),
            &[("ACMIRROR_RECONCILE_CRON", "0 */15 * * * *")],
        );
        assert!(corrected.is_ok(), "the suggested expression is accepted");
        let err = load(
            SettingsArgs::default(),
            &[("ACMIRROR_FULL_SYNC_CRON", "every day")],
        )
        .expect_err("not cron");
        assert!(err.message.contains("6 fields, seconds first"), "{err}");
        assert!(!err.message.contains('\n'), "one line: {err}");
    }

    #[test]
    fn an_unsupported_database_scheme_names_the_setting_once() {
        let err = load(
            SettingsArgs::default(),
            &[("ACMIRROR_DATABASE_URL", "mysql://db/x")],
        )
        .expect_err("mysql");
        let text = err.to_string();
        assert_eq!(text.matches("ACMIRROR_DATABASE_URL").count(), 1, "{text}");
        assert!(
            text.contains("mysql") && text.contains("postgres://"),
            "{text}"
        );
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

    fn load_file(text: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("acmirror.toml");
        std::fs::write(&path, text).expect("write");
        load(
            SettingsArgs {
                config: Some(path),
                ..Default::default()
            },
            &[],
        )
    }

    #[test]
    fn a_syntax_error_on_the_token_line_names_the_line_but_not_the_token() {
        let err = load_file(
            "listen = \"127.0.0.1:8080\"\nac_api_token = \"tok-9f8e7d6c5b4a39281 trailing\nlog = \"info\"\n",
        )
        .expect_err("unterminated string");
        let text = err.to_string();
        assert_eq!(err.setting, "--config");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("ac_api_token"), "{text}");
        assert!(!text.contains("9f8e7d6c"), "the token leaks: {text}");
        assert!(!text.contains("trailing"), "the line leaks: {text}");
    }

    #[test]
    fn a_type_error_on_a_secret_key_shows_no_value() {
        for (key, value) in [
            ("admin_token", "918273645546372819"),
            ("webhook_secret", "[\"hook-0a1b2c3d4e5f6a7b\"]"),
            ("ac_api_token", "{ a = \"tok-5e6f7a8b9c0d1e2f\" }"),
        ] {
            let err = load_file(&format!("log = \"info\"\n{key} = {value}\n")).expect_err(key);
            let text = err.to_string();
            assert!(text.contains(key), "{text}");
            assert!(text.contains("line 2"), "{text}");
            for needle in ["918273645546372819", "0a1b2c3d", "5e6f7a8b"] {
                assert!(!text.contains(needle), "a secret leaks: {text}");
            }
        }
    }

    #[test]
    fn a_type_error_on_an_ordinary_key_names_it_without_its_value() {
        let err = load_file("db_pool_size = \"lots\"\n").expect_err("type");
        let text = err.to_string();
        assert!(
            text.contains("db_pool_size") && text.contains("line 1"),
            "{text}"
        );
        assert!(!text.contains("lots"), "{text}");
    }

    #[test]
    fn short_or_url_unsafe_webhook_secrets_are_refused() {
        for bad_secret in [
            "abc",
            "only-15-chars-x",
            "has/slash-0123456789",
            "with space 0123456789",
            "percent%20encoded-0123",
            "ünïcode-0123456789ab",
        ] {
            let err = load(
                SettingsArgs::default(),
                &[("ACMIRROR_WEBHOOK_SECRET", bad_secret)],
            )
            .expect_err(bad_secret);
            assert_eq!(err.setting, "ACMIRROR_WEBHOOK_SECRET");
            assert!(
                err.message.contains("16") && err.message.contains("A-Z a-z 0-9"),
                "{err}"
            );
            assert!(!err.to_string().contains(bad_secret), "{err}");
        }
        let ok = load(
            SettingsArgs::default(),
            &[("ACMIRROR_WEBHOOK_SECRET", "Abc-def_ghi.jkl~0")],
        )
        .expect("16+ unreserved");
        assert!(ok.webhook_secret.is_some());
    }

    #[test]
    fn retention_defaults_to_30_days_and_0_keeps_forever() {
        assert_eq!(
            load(SettingsArgs::default(), &[])
                .expect("valid")
                .retention_days,
            30
        );
        let s = load(SettingsArgs::default(), &[("ACMIRROR_RETENTION_DAYS", "0")]).expect("valid");
        assert_eq!(s.retention_days, 0);
        let err = load(
            SettingsArgs::default(),
            &[("ACMIRROR_RETENTION_DAYS", "-1")],
        )
        .expect_err("negative");
        assert_eq!(err.setting, "ACMIRROR_RETENTION_DAYS");
        assert_eq!(
            load_file("retention_days = 7\n")
                .expect("valid")
                .retention_days,
            7
        );
    }
}
