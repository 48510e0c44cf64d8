//! The documents behind the dashboard's JSON endpoints (`/admin/overview`, `/admin/runs`,
//! `/admin/deliveries/per-minute`, `/admin/deliveries/failed`, `/admin/apply/history`).
//!
//! Every query is bounded and reads an index or a small table, never a scan of
//! `webhook_events`: the per-minute chart reads the `delivery_minutes` counters (at most a day
//! of minutes times the event types), the failed and ignored marks a range of the
//! `(status, received_at)` index, the failed list a page of the `(status, id)` index, and the
//! runs the newest rows of `sync_runs` by primary key.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use super::status::{schedule_info, Schedules};
use crate::config::Settings;
use crate::db::schema::{sync_runs as sr, webhook_events as we};
use crate::db::{Backend, DbConn};
use crate::ops::utc;
use crate::reconcile::runs::{Checkpoint, Phase, RunStatus};
use crate::webhook::history::{self, minute_of};
use crate::webhook::status::DeliveryStatus;

/// Minutes the delivery chart covers.
pub const CHART_MINUTES: i64 = 24 * 60;
/// Runs `/admin/runs` lists.
pub const RUNS_SHOWN: i64 = 50;
/// Failed deliveries per page of `/admin/deliveries/failed`.
pub const FAILED_PAGE: i64 = 50;
/// Longest failure reason shown, in characters; the whole one is in `webhook_events.error`.
pub const REASON_MAX_CHARS: usize = 1_000;

/// `/admin/overview`.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// When it was computed.
    pub generated_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The webhook URL with the secret masked.
    pub webhook_url: Option<String>,
    /// Intake and apply now.
    pub webhooks: Intake,
    /// Rows per mirrored table.
    pub tables: Vec<TableRows>,
    /// When the rows were counted (`None` while the first count runs).
    pub tables_counted_at: Option<DateTime<Utc>>,
    /// When reconciliation runs next.
    pub schedule: Schedules,
    /// Whether the API answers.
    pub api: ApiReach,
}

/// The intake and apply state, from indexes only.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Intake {
    /// Deliveries waiting for the apply worker.
    pub pending: i64,
    /// Deliveries that could not be applied.
    pub failed: i64,
    /// When the oldest pending delivery arrived.
    pub oldest_pending_received_at: Option<DateTime<Utc>>,
    /// Its age in seconds; 0 when nothing is pending.
    pub apply_lag_seconds: i64,
    /// When the newest delivery arrived.
    pub last_received_at: Option<DateTime<Utc>>,
    /// Its type.
    pub last_event_type: Option<String>,
}

/// One table's row count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName)]
pub struct TableRows {
    /// The table (or view) name.
    #[diesel(sql_type = Text)]
    pub table: String,
    /// Its rows; for `contacts`, `deals` and `accounts` those not deleted upstream.
    #[diesel(sql_type = BigInt)]
    pub rows: i64,
}

/// Whether the API answered the last check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApiReach {
    /// `ACMIRROR_AC_API_URL` and `ACMIRROR_AC_API_TOKEN` are set.
    pub configured: bool,
    /// The API URL without credentials.
    pub url: Option<String>,
    /// The outcome of the last check; `None` before the first.
    pub reachable: Option<bool>,
    /// When it was checked.
    pub checked_at: Option<DateTime<Utc>>,
    /// Why it did not answer.
    pub error: Option<String>,
}

/// The tables `/admin/overview` counts, with the condition that makes a row count.
const COUNTED: &[(&str, &str)] = &[
    ("contacts", "deleted_at IS NULL"),
    ("contact_tags", ""),
    ("contact_lists", ""),
    ("contact_field_values", ""),
    ("contact_notes", ""),
    ("contact_activities", ""),
    ("tags", ""),
    ("lists", ""),
    ("fields", ""),
    ("field_options", ""),
    ("deals", "deleted_at IS NULL"),
    ("deal_contacts", ""),
    ("deal_field_values", ""),
    ("deal_notes", ""),
    ("deal_tasks", ""),
    ("deal_fields", ""),
    ("pipelines", ""),
    ("stages", ""),
    ("accounts", "deleted_at IS NULL"),
    ("account_contacts", "deleted_at IS NULL"),
    ("account_field_values", ""),
    ("account_fields", ""),
    ("users", ""),
    ("campaigns", ""),
    ("messages", ""),
];

/// Rows per mirrored table, in one statement.
pub fn table_rows(conn: &mut DbConn) -> QueryResult<Vec<TableRows>> {
    let sql = COUNTED
        .iter()
        .map(|(table, cond)| {
            let filter = if cond.is_empty() {
                String::new()
            } else {
                format!(" WHERE {cond}")
            };
            format!("SELECT '{table}' AS \"table\", count(*) AS \"rows\" FROM {table}{filter}")
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    diesel::sql_query(sql).load(conn)
}

/// Pending and failed deliveries, the lag, and the newest delivery.
pub fn intake(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<Intake> {
    let (pending, oldest) = history::backlog(conn)?;
    let failed: i64 = we::table
        .filter(we::status.eq(DeliveryStatus::Failed))
        .select(count_star())
        .get_result(conn)?;
    let last = history::newest(conn)?;
    Ok(Intake {
        pending,
        failed,
        oldest_pending_received_at: oldest.map(utc),
        apply_lag_seconds: history::lag_seconds(oldest, now.naive_utc()),
        last_received_at: last.as_ref().map(|(t, _)| utc(*t)),
        last_event_type: last.and_then(|(_, t)| t),
    })
}

/// Row counts as of a time, and how long counting took.
#[derive(Debug, Clone)]
pub struct Counted {
    /// The counts.
    pub tables: Vec<TableRows>,
    /// When they were counted.
    pub at: DateTime<Utc>,
    /// How long the count took.
    pub took: std::time::Duration,
}

/// A count that takes less than this is repeated for every overview.
pub const CHEAP_COUNT: std::time::Duration = std::time::Duration::from_millis(20);

impl Counted {
    /// Whether the counts should be taken again at `now`: always when counting is cheap
    /// (under [`CHEAP_COUNT`]), else once they are older than 10 s or 50 times the count's
    /// own time, so that counting a large mirror takes at most 2% of one connection's time
    /// however many dashboards are open.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        if self.took < CHEAP_COUNT {
            return true;
        }
        let every = (self.took * 50).max(std::time::Duration::from_secs(10));
        (now - self.at).to_std().unwrap_or_default() >= every
    }
}

/// The overview, with the webhook URL, API check and row counts the caller knows.
pub fn overview(
    conn: &mut DbConn,
    settings: &Settings,
    webhook_url: Option<String>,
    api: ApiReach,
    counted: Option<Counted>,
    now: DateTime<Utc>,
) -> QueryResult<Overview> {
    Ok(Overview {
        generated_at: now,
        backend: match conn.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        webhook_url,
        webhooks: intake(conn, now)?,
        tables_counted_at: counted.as_ref().map(|c| c.at),
        tables: counted.map(|c| c.tables).unwrap_or_default(),
        schedule: Schedules {
            incremental: schedule_info(settings.reconcile_cron.as_ref(), now),
            full: schedule_info(settings.full_sync_cron.as_ref(), now),
        },
        api,
    })
}

/// `/admin/deliveries/per-minute`: the last [`CHART_MINUTES`] minutes, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PerMinute {
    /// Each bucket's start, in Unix seconds.
    pub minutes: Vec<i64>,
    /// Deliveries per bucket for each event type, the busiest type first.
    pub types: Vec<TypeCounts>,
    /// Of each bucket's deliveries, those failed now.
    pub failed: Vec<i64>,
    /// Of each bucket's deliveries, those ignored now.
    pub ignored: Vec<i64>,
    /// True when there were more failed or ignored deliveries than the marks read.
    pub marks_truncated: bool,
}

/// One event type's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCounts {
    /// The `type` the deliveries carried (empty when they carried none).
    pub event_type: String,
    /// Deliveries per bucket.
    pub counts: Vec<i64>,
}

/// Deliveries per minute over the last day as of `now`.
pub fn per_minute(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<PerMinute> {
    let to = minute_of(now.naive_utc()) + Duration::minutes(1);
    let from = to - Duration::minutes(CHART_MINUTES);
    let slot = |t: NaiveDateTime| -> Option<usize> {
        let i = (t - from).num_minutes();
        (0..CHART_MINUTES).contains(&i).then_some(i as usize)
    };
    let len = CHART_MINUTES as usize;
    let mut types: Vec<TypeCounts> = Vec::new();
    for (minute, event_type, n) in history::per_minute(conn, from, to)? {
        let Some(i) = slot(minute) else { continue };
        let at = match types.iter().position(|t| t.event_type == event_type) {
            Some(at) => at,
            None => {
                types.push(TypeCounts {
                    event_type,
                    counts: vec![0; len],
                });
                types.len() - 1
            }
        };
        types[at].counts[i] += n;
    }
    types.sort_by_key(|t| std::cmp::Reverse(t.counts.iter().sum::<i64>()));
    let mut marks_truncated = false;
    let mut marks = |status| -> QueryResult<Vec<i64>> {
        let times = history::received_with_status(conn, status, from, to)?;
        marks_truncated |= times.len() as i64 >= history::STATUS_MARKS_MAX;
        let mut counts = vec![0; len];
        for i in times.into_iter().filter_map(slot) {
            counts[i] += 1;
        }
        Ok(counts)
    };
    let failed = marks(DeliveryStatus::Failed)?;
    let ignored = marks(DeliveryStatus::Ignored)?;
    Ok(PerMinute {
        minutes: (0..CHART_MINUTES)
            .map(|i| (from + Duration::minutes(i)).and_utc().timestamp())
            .collect(),
        types,
        failed,
        ignored,
        marks_truncated,
    })
}

/// `/admin/apply/history`: one sample per minute over the last day, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyHistory {
    /// When each sample was taken, in Unix seconds.
    pub at: Vec<i64>,
    /// Pending deliveries.
    pub backlog: Vec<i64>,
    /// Age of the oldest pending delivery, in seconds.
    pub lag_seconds: Vec<i64>,
}

/// The backlog samples of the last day as of `now`.
pub fn apply_history(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<ApplyHistory> {
    let to = now.naive_utc() + Duration::minutes(1);
    let from = to - Duration::minutes(CHART_MINUTES + 1);
    let mut h = ApplyHistory::default();
    for (at, backlog, lag) in history::samples_between(conn, from, to)? {
        h.at.push(at.and_utc().timestamp());
        h.backlog.push(backlog);
        h.lag_seconds.push(lag);
    }
    Ok(h)
}

/// One run as `/admin/runs` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    /// Run id.
    pub id: i64,
    /// `incremental` or `full`.
    pub mode: String,
    /// `schedule`, `manual` or `admin`.
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub status: &'static str,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End; `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// Seconds from start to end, or to now while running.
    pub seconds: f64,
    /// API requests spent.
    pub api_requests: i64,
    /// 429 answers received.
    pub rate_limited: i64,
    /// Records read from the API.
    pub records_fetched: i64,
    /// Mirror rows changed (drift repaired).
    pub records_changed: i64,
    /// Rows marked deleted.
    pub records_deleted: i64,
    /// The phase it is in (or stopped in), when it committed one.
    pub phase: Option<Phase>,
    /// Why it failed.
    pub error: Option<String>,
    /// True when the mass-delete guard stopped this full run; `error` says what to do.
    pub mass_delete_guard: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sr)]
struct StoredRun {
    id: i64,
    mode: String,
    run_trigger: String,
    status: RunStatus,
    started_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    api_requests: i64,
    rate_limited: i64,
    records_fetched: i64,
    records_changed: i64,
    records_deleted: i64,
    checkpoint: String,
    error: Option<String>,
}

/// The newest [`RUNS_SHOWN`] runs, newest first.
pub fn runs(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<Vec<RunView>> {
    newest_runs(conn, RUNS_SHOWN, now)
}

/// The newest `limit` runs, newest first, as of `now` (the time a running run has taken).
pub fn newest_runs(conn: &mut DbConn, limit: i64, now: DateTime<Utc>) -> QueryResult<Vec<RunView>> {
    let rows: Vec<StoredRun> = sr::table
        .order(sr::id.desc())
        .limit(limit)
        .select(StoredRun::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let started_at = utc(r.started_at);
            let finished_at = r.finished_at.map(utc);
            let end = finished_at.unwrap_or(now);
            let phase = serde_json::from_str::<Checkpoint>(&r.checkpoint)
                .ok()
                .filter(|_| r.checkpoint != "{}")
                .map(|c| c.phase);
            RunView {
                id: r.id,
                mode: r.mode,
                trigger: r.run_trigger,
                status: r.status.as_str(),
                started_at,
                finished_at,
                seconds: ((end - started_at).num_milliseconds().max(0) as f64) / 1000.0,
                api_requests: r.api_requests,
                rate_limited: r.rate_limited,
                records_fetched: r.records_fetched,
                records_changed: r.records_changed,
                records_deleted: r.records_deleted,
                phase,
                mass_delete_guard: r
                    .error
                    .as_deref()
                    .is_some_and(crate::reconcile::deletions::is_guard_refusal),
                error: r.error,
            }
        })
        .collect())
}

/// A page of `/admin/deliveries/failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedPage {
    /// Failed deliveries in all.
    pub total: i64,
    /// This page, newest first.
    pub deliveries: Vec<FailedDelivery>,
    /// The `before` of the next page, when there is one.
    pub next_before: Option<i64>,
}

/// A failed delivery and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedDelivery {
    /// Its id (what `replay --id` takes).
    pub id: i64,
    /// Its `type`.
    pub event_type: Option<String>,
    /// When it first arrived.
    pub received_at: DateTime<Utc>,
    /// Copies received.
    pub deliveries: i32,
    /// The contact it names.
    pub contact_id: Option<i64>,
    /// The deal it names.
    pub deal_id: Option<i64>,
    /// Why it failed (shortened to [`REASON_MAX_CHARS`]).
    pub error: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = we)]
struct StoredFailure {
    id: i64,
    event_type: Option<String>,
    received_at: NaiveDateTime,
    deliveries: i32,
    contact_id: Option<i64>,
    deal_id: Option<i64>,
    error: Option<String>,
}

/// Failed deliveries with ids below `before` (all when `None`), newest first.
pub fn failed(conn: &mut DbConn, before: Option<i64>) -> QueryResult<FailedPage> {
    let total: i64 = we::table
        .filter(we::status.eq(DeliveryStatus::Failed))
        .select(count_star())
        .get_result(conn)?;
    let rows: Vec<StoredFailure> = we::table
        .filter(we::status.eq(DeliveryStatus::Failed))
        .filter(we::id.lt(before.unwrap_or(i64::MAX)))
        .order(we::id.desc())
        .limit(FAILED_PAGE + 1)
        .select(StoredFailure::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > FAILED_PAGE;
    let deliveries: Vec<FailedDelivery> = rows
        .into_iter()
        .take(FAILED_PAGE as usize)
        .map(|r| FailedDelivery {
            id: r.id,
            event_type: r.event_type,
            received_at: utc(r.received_at),
            deliveries: r.deliveries,
            contact_id: r.contact_id,
            deal_id: r.deal_id,
            error: r.error.map(|e| shorten(e, REASON_MAX_CHARS)),
        })
        .collect();
    let next_before = more.then(|| deliveries.last().map(|d| d.id)).flatten();
    Ok(FailedPage {
        total,
        deliveries,
        next_before,
    })
}

fn shorten(mut s: String, max_chars: usize) -> String {
    if let Some((at, _)) = s.char_indices().nth(max_chars) {
        s.truncate(at);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_counts_are_always_due_and_costly_ones_at_intervals_that_grow_with_their_cost() {
        let at = Utc::now();
        let counted = |ms: u64| Counted {
            tables: Vec::new(),
            at,
            took: std::time::Duration::from_millis(ms),
        };
        let later = |s: i64| at + Duration::seconds(s);
        assert!(counted(5).due(at));
        assert!(!counted(250).due(later(9)));
        assert!(counted(250).due(later(13)));
        assert!(!counted(1_000).due(later(49)));
        assert!(counted(1_000).due(later(50)));
    }

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        assert_eq!(shorten("abc".into(), 3), "abc");
        assert_eq!(shorten("abcd".into(), 3), "abc…");
        assert_eq!(shorten("ééé é".into(), 2), "éé…");
    }
}
