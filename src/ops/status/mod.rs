//! The status document of `acmirror status --json` and `GET /admin/status`.
//!
//! # Fields (a stable contract: fields may be added, never renamed or removed)
//!
//! All times are RFC 3339 in UTC; absent values are `null`.
//!
//! - `generated_at`: when the document was computed.
//! - `database`: `{ "backend": "sqlite"|"postgres", "url": <URL with any password as ***> }`.
//! - `counts`: `{ "contacts", "contacts_deleted", "deals", "deals_deleted", "tags", "lists",
//!   "contact_tags" }`. `contacts`/`deals` count live rows (`deleted_at IS NULL`), the
//!   `_deleted` fields the rows marked deleted upstream; `contact_tags` counts the
//!   `contact_tags` view (tags contacts have now).
//! - `webhooks`: `{ "last_received_at", "last_event_type", "pending", "applied", "ignored",
//!   "failed", "oldest_pending_received_at", "apply_lag_seconds" }`: the most recent new
//!   delivery (a byte-identical repeat only increments its `deliveries`), stored deliveries by
//!   status, and the age in seconds of the oldest pending one (0 if none).
//! - `webhook_storage`: `{ "rows", "bytes", "size_of", "oldest_received_at" }`: the rows of
//!   `webhook_events`, their size on disk in bytes (`null` if unknown), what that size covers
//!   (`table`: the table with its indexes; `database`: the whole SQLite file, when SQLite
//!   lacks `dbstat`), and the receipt time of the oldest delivery kept.
//! - `spool`: `{ "dir", "max_bytes", "bytes", "deliveries", "oldest_received_at", "error" }`:
//!   deliveries acknowledged while the database could not take writes and not yet drained
//!   into `webhook_events` (see `ACMIRROR_SPOOL_DIR`); `null` when the spool is disabled.
//! - `sync_runs`: the last 5 reconciliation runs, newest first, each `{ "id", "mode",
//!   "trigger", "status", "started_at", "finished_at", "api_requests", "records_fetched",
//!   "records_changed", "records_deleted", "error" }`.
//! - `schedule`: `{ "incremental": S, "full": S }`, each `S` being `{ "cron": <expression or
//!   null when disabled>, "next_runs": [<the next 3 times>] }`.
//! - `api`: `{ "configured": bool, "url": <API URL without credentials, or null> }`. The token
//!   is never included, nor are the webhook secret or the admin token.

mod queries;
mod storage;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::db::{Backend, DbConn};
use queries::{counts, recent_runs, webhook_stats};

/// How many recent reconciliation runs the document lists.
pub const RECENT_RUNS: i64 = 5;
/// How many upcoming scheduled times the document lists per schedule.
pub const UPCOMING: usize = 3;

/// The whole status document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// When the document was computed.
    pub generated_at: DateTime<Utc>,
    /// The database, password redacted.
    pub database: DatabaseInfo,
    /// Row counts of the mirror tables.
    pub counts: Counts,
    /// Webhook intake and apply state.
    pub webhooks: WebhookStats,
    /// Room taken by stored deliveries.
    #[serde(default)]
    pub webhook_storage: WebhookStorage,
    /// Deliveries waiting in this process's spool for the database.
    #[serde(default)]
    pub spool: Option<SpoolInfo>,
    /// The most recent reconciliation runs, newest first.
    pub sync_runs: Vec<SyncRun>,
    /// When reconciliation runs next.
    pub schedule: Schedules,
    /// Whether reconciliation can reach the API.
    pub api: ApiInfo,
}

/// Which database the mirror is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The URL or path, any password replaced by `***`.
    pub url: String,
}

/// Row counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Contacts not deleted upstream.
    pub contacts: i64,
    /// Contacts marked deleted by a full reconciliation.
    pub contacts_deleted: i64,
    /// Deals not deleted upstream.
    pub deals: i64,
    /// Deals marked deleted by a full reconciliation.
    pub deals_deleted: i64,
    /// Known tag names.
    pub tags: i64,
    /// Mailing lists.
    pub lists: i64,
    /// Contact-tag pairs present now.
    pub contact_tags: i64,
}

/// Deliveries by status, and how far the apply worker is behind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookStats {
    /// When the most recent new delivery arrived.
    pub last_received_at: Option<DateTime<Utc>>,
    /// Its `type`.
    pub last_event_type: Option<String>,
    /// Stored, not applied yet.
    pub pending: i64,
    /// Applied to the mirror.
    pub applied: i64,
    /// Stored without effect (unknown or reporting-only types).
    pub ignored: i64,
    /// Could not be applied; replayable with `acmirror replay --failed`.
    pub failed: i64,
    /// When the oldest pending delivery arrived.
    pub oldest_pending_received_at: Option<DateTime<Utc>>,
    /// Age of the oldest pending delivery in seconds; 0 when none is pending.
    pub apply_lag_seconds: i64,
}

/// The size of `webhook_events`, which retention (`ACMIRROR_RETENTION_DAYS`) bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookStorage {
    /// Stored deliveries, every status.
    pub rows: i64,
    /// Bytes on disk, when the backend tells.
    pub bytes: Option<i64>,
    /// What `bytes` covers: `table` (with its indexes) or `database` (the whole file).
    pub size_of: String,
    /// When the oldest stored delivery arrived.
    pub oldest_received_at: Option<DateTime<Utc>>,
}

/// The spool directory of `ACMIRROR_SPOOL_DIR`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolInfo {
    /// Its directory.
    pub dir: String,
    /// Its size limit in bytes.
    pub max_bytes: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Deliveries held.
    pub deliveries: u64,
    /// When the oldest held delivery arrived.
    pub oldest_received_at: Option<DateTime<Utc>>,
    /// Why the directory could not be read, if it could not.
    pub error: Option<String>,
}

fn spool_info(settings: &Settings) -> Option<SpoolInfo> {
    if settings.spool_max_bytes == 0 {
        return None;
    }
    let mut info = SpoolInfo {
        dir: settings.spool_dir.display().to_string(),
        max_bytes: settings.spool_max_bytes,
        ..SpoolInfo::default()
    };
    match crate::webhook::spool::peek(&settings.spool_dir) {
        Ok(stats) => {
            info.bytes = stats.bytes;
            info.deliveries = stats.deliveries;
            info.oldest_received_at = stats.oldest_received_at.map(|t| t.and_utc());
        }
        Err(e) => info.error = Some(e.to_string()),
    }
    Some(info)
}

/// One row of `sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Run id.
    pub id: i64,
    /// `incremental` or `full`.
    pub mode: String,
    /// `schedule`, `manual` or `admin`.
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// End time; `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// API requests spent.
    pub api_requests: i64,
    /// Records read from the API.
    pub records_fetched: i64,
    /// Mirror rows the run changed (drift repaired).
    pub records_changed: i64,
    /// Rows marked deleted.
    pub records_deleted: i64,
    /// Why it failed.
    pub error: Option<String>,
}

/// Both reconciliation schedules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedules {
    /// `ACMIRROR_RECONCILE_CRON`.
    pub incremental: ScheduleInfo,
    /// `ACMIRROR_FULL_SYNC_CRON`.
    pub full: ScheduleInfo,
}

/// One schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// The cron expression; `None` when the schedule is disabled.
    pub cron: Option<String>,
    /// The next times it fires (empty when disabled).
    pub next_runs: Vec<DateTime<Utc>>,
}

/// API configuration, without the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiInfo {
    /// True when `ACMIRROR_AC_API_URL` and `ACMIRROR_AC_API_TOKEN` are set.
    pub configured: bool,
    /// The API URL, stripped of any credentials, query and fragment.
    pub url: Option<String>,
    /// Whether `GET /users/me` answered, when the caller checked (`acmirror status` does, with
    /// one request; `/admin/status` does not, so that monitoring spends no API requests).
    #[serde(default)]
    pub reachable: Option<bool>,
    /// Why the API did not answer, when it did not.
    #[serde(default)]
    pub error: Option<String>,
}

/// Computes the status document now.
pub fn collect(conn: &mut DbConn, settings: &Settings) -> QueryResult<Status> {
    collect_at(conn, settings, Utc::now())
}

/// Computes the status document as of `now` (lag and next runs are relative to it).
pub fn collect_at(
    conn: &mut DbConn,
    settings: &Settings,
    now: DateTime<Utc>,
) -> QueryResult<Status> {
    let backend = match conn.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let webhooks = webhook_stats(conn, now)?;
    let rows = webhooks.pending + webhooks.applied + webhooks.ignored + webhooks.failed;
    Ok(Status {
        generated_at: now,
        database: DatabaseInfo {
            backend: backend.to_owned(),
            url: settings.database.redacted(),
        },
        counts: counts(conn)?,
        webhook_storage: storage::webhook_storage(conn, rows)?,
        webhooks,
        spool: spool_info(settings),
        sync_runs: recent_runs(conn, now)?,
        schedule: Schedules {
            incremental: schedule_info(settings.reconcile_cron.as_ref(), now),
            full: schedule_info(settings.full_sync_cron.as_ref(), now),
        },
        api: ApiInfo {
            configured: settings.api.is_some(),
            url: settings.api.as_ref().map(|api| public_api_url(&api.url)),
            reachable: None,
            error: None,
        },
    })
}

/// The status document as JSON, from a pool: what `GET /admin/status` serves.
pub fn document(pool: &crate::db::Pool, settings: &Settings) -> Result<serde_json::Value, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let status = collect(&mut conn, settings).map_err(|e| e.to_string())?;
    serde_json::to_value(status).map_err(|e| e.to_string())
}

/// One `GET /users/me` with its own client, no retries, at most 10 s: does the API answer
/// with this URL and token? The error names the cause, never the token.
pub async fn probe_api(api: &crate::config::ApiSettings) -> Result<(), String> {
    use crate::activecampaign::{ApiClient, ClientConfig, RetryPolicy};
    let mut config = ClientConfig::new(api.url.clone(), api.token.clone());
    config.rate_limit = api.rate_limit;
    config.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    config.request_timeout = std::time::Duration::from_secs(10);
    let client = ApiClient::new(config).map_err(|e| e.to_string())?;
    client
        .users_me()
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub(crate) fn schedule_info(schedule: Option<&cron::Schedule>, now: DateTime<Utc>) -> ScheduleInfo {
    match schedule {
        None => ScheduleInfo {
            cron: None,
            next_runs: Vec::new(),
        },
        Some(s) => ScheduleInfo {
            cron: Some(s.source().to_owned()),
            next_runs: s.after(&now).take(UPCOMING).collect(),
        },
    }
}

/// The API URL without user info, query or fragment: a token pasted into the URL by mistake
/// must not reach a status page.
pub(crate) fn public_api_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            // Clearing credentials fails only for URLs that cannot have them.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_loses_credentials_and_query() {
        assert_eq!(
            public_api_url("https://user:tok@acct.api-us1.com/api/3?api_key=x#f"),
            "https://acct.api-us1.com/api/3"
        );
    }

    #[test]
    fn a_disabled_schedule_has_no_next_runs() {
        let now = Utc::now();
        let info = schedule_info(None, now);
        assert_eq!(info.cron, None);
        assert!(info.next_runs.is_empty());
    }

    #[test]
    fn next_runs_follow_the_cron_expression() {
        use std::str::FromStr;
        let s = cron::Schedule::from_str("0 0 3 * * *").expect("valid cron");
        let now = DateTime::parse_from_rfc3339("2026-01-01T04:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc);
        let info = schedule_info(Some(&s), now);
        let expected: Vec<String> = [
            "2026-01-02T03:00:00Z",
            "2026-01-03T03:00:00Z",
            "2026-01-04T03:00:00Z",
        ]
        .map(String::from)
        .to_vec();
        let got: Vec<String> = info
            .next_runs
            .iter()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(info.cron.as_deref(), Some("0 0 3 * * *"));
    }
}
