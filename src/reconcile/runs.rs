//! `sync_runs`: one row per reconciliation run, with the checkpoint that lets an interrupted
//! run resume from its last committed page.

use chrono::NaiveDateTime;
use diesel::deserialize::FromSqlRow;
use diesel::expression::AsExpression;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::sync_runs as sr;
use crate::db::with_backend;
use crate::db::DbConn;

/// Where a run stands: `sync_runs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum RunStatus {
    /// In progress (or its process died; see [`fail_orphans`]).
    Running,
    /// Finished without error.
    Succeeded,
    /// Stopped by an error; a recent one with a checkpoint resumes.
    Failed,
}

impl RunStatus {
    /// The name stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    /// The status a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

crate::db::text_enum!(RunStatus, "run status");

/// The stored scope of a run over the whole account (no `--only`, `--since`, `--contact` or
/// `--deal`): only such runs move the incremental watermark and resume at start.
pub const WHOLE_ACCOUNT: &str = "{}";

/// Where a run has got to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Tags, fields, lists, pipelines and stages.
    #[default]
    Dimensions,
    /// Contacts, page by page.
    Contacts,
    /// Deals, page by page.
    Deals,
    /// Deletion detection (full runs).
    Deletions,
    /// Finished.
    Done,
}

/// The resume point, committed with every page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The phase in progress.
    pub phase: Phase,
    /// Contacts with ids up to this one are done.
    pub contacts_after: i64,
    /// Deals before this offset are done.
    pub deals_offset: u64,
}

/// What a run has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Requests sent to the API.
    pub api_requests: i64,
    /// Records read from the API.
    pub fetched: i64,
    /// Records whose mirrored state changed (drift repaired).
    pub changed: i64,
    /// Records marked deleted.
    pub deleted: i64,
    /// 429 answers received.
    pub rate_limited: i64,
}

impl Counters {
    /// Adds what one part of a run read, changed and deleted.
    pub fn add(&mut self, fetched: usize, changed: usize, deleted: usize) {
        self.fetched += fetched as i64;
        self.changed += changed as i64;
        self.deleted += deleted as i64;
    }
}

/// A run that can be resumed.
#[derive(Debug, Clone)]
pub struct Resumable {
    /// Its id.
    pub id: i64,
    /// When it started.
    pub started_at: NaiveDateTime,
    /// Where it got to.
    pub checkpoint: Checkpoint,
    /// What it had done.
    pub counters: Counters,
}

/// Creates a run row in status `running`.
pub fn create(
    conn: &mut DbConn,
    mode: &str,
    trigger: &str,
    scope: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let row = (
        sr::mode.eq(mode),
        sr::run_trigger.eq(trigger),
        sr::started_at.eq(now),
        sr::status.eq(RunStatus::Running),
        sr::scope.eq(scope),
        // No page committed yet: nothing to resume from.
        sr::checkpoint.eq("{}"),
        sr::heartbeat_at.eq(now),
    );
    with_backend!(&mut *conn, |c| diesel::insert_into(sr::table)
        .values(&row)
        .returning(sr::id)
        .get_result(c))
}

/// What a resumption reads of the latest run.
#[derive(Queryable, Selectable)]
#[diesel(table_name = sr)]
struct StoredRun {
    id: i64,
    mode: String,
    scope: String,
    status: RunStatus,
    started_at: NaiveDateTime,
    checkpoint: String,
    api_requests: i64,
    records_fetched: i64,
    records_changed: i64,
    records_deleted: i64,
    rate_limited: i64,
}

/// The latest run, if it is of this mode and scope and did not finish: it resumes.
pub fn find_resumable(
    conn: &mut DbConn,
    mode: &str,
    scope: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Resumable>> {
    let Some(last) = sr::table
        .order(sr::id.desc())
        .select(StoredRun::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let StoredRun {
        id,
        mode: last_mode,
        scope: last_scope,
        status,
        started_at,
        checkpoint,
        api_requests,
        records_fetched: fetched,
        records_changed: changed,
        records_deleted: deleted,
        rate_limited,
    } = last;
    let recent = now - started_at < chrono::Duration::hours(24);
    let unfinished = match status {
        RunStatus::Running | RunStatus::Failed => true,
        RunStatus::Succeeded => false,
    };
    let checkpoint: Checkpoint = serde_json::from_str(&checkpoint).unwrap_or_default();
    if last_mode != mode
        || last_scope != scope
        || !unfinished
        || !recent
        || checkpoint == Checkpoint::default()
    {
        return Ok(None);
    }
    let counters = Counters {
        api_requests,
        fetched,
        changed,
        deleted,
        rate_limited,
    };
    Ok(Some(Resumable {
        id,
        started_at,
        checkpoint,
        counters,
    }))
}

/// Marks a resumed run running again.
pub fn reopen(conn: &mut DbConn, id: i64, trigger: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sr::table.find(id))
        .set((
            sr::status.eq(RunStatus::Running),
            sr::run_trigger.eq(trigger),
            sr::error.eq(None::<String>),
            sr::heartbeat_at.eq(now),
        ))
        .execute(conn)
}

/// Runs still marked `running` other than `keep` died with their process (the caller holds
/// the reconciliation lock, so nothing else can be running).
pub fn fail_orphans(conn: &mut DbConn, keep: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        sr::table
            .filter(sr::status.eq(RunStatus::Running))
            .filter(sr::id.ne(keep)),
    )
    .set((
        sr::status.eq(RunStatus::Failed),
        sr::error.eq("interrupted: the process stopped during the run"),
        sr::finished_at.eq(now),
    ))
    .execute(conn)
}

/// Commits progress; called in the same transaction as the page it follows.
pub fn save(
    conn: &mut DbConn,
    id: i64,
    checkpoint: &Checkpoint,
    counters: &Counters,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let json = serde_json::to_string(checkpoint).unwrap_or_else(|_| "{}".into());
    diesel::update(sr::table.find(id))
        .set((
            sr::checkpoint.eq(json),
            sr::api_requests.eq(counters.api_requests),
            sr::records_fetched.eq(counters.fetched),
            sr::records_changed.eq(counters.changed),
            sr::records_deleted.eq(counters.deleted),
            sr::rate_limited.eq(counters.rate_limited),
            sr::heartbeat_at.eq(now),
        ))
        .execute(conn)
}

/// Records the end of a run.
pub fn finish(
    conn: &mut DbConn,
    id: i64,
    error: Option<&str>,
    counters: &Counters,
    watermark: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let status = if error.is_some() {
        RunStatus::Failed
    } else {
        RunStatus::Succeeded
    };
    diesel::update(sr::table.find(id))
        .set((
            sr::status.eq(status),
            sr::error.eq(error),
            sr::finished_at.eq(now),
            sr::watermark.eq(watermark),
            sr::api_requests.eq(counters.api_requests),
            sr::records_fetched.eq(counters.fetched),
            sr::records_changed.eq(counters.changed),
            sr::records_deleted.eq(counters.deleted),
            sr::rate_limited.eq(counters.rate_limited),
            sr::heartbeat_at.eq(now),
        ))
        .execute(conn)
}

/// The newest watermark of a successful run that read contacts and deals in full scope.
pub fn last_watermark(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    sr::table
        .filter(sr::status.eq(RunStatus::Succeeded))
        .filter(sr::scope.eq(WHOLE_ACCOUNT))
        .select(diesel::dsl::max(sr::watermark))
        .first(conn)
}

/// True when a run of `mode` with trigger `schedule` started at or after `since` (another
/// replica already served this tick).
pub fn scheduled_since(conn: &mut DbConn, mode: &str, since: NaiveDateTime) -> QueryResult<bool> {
    let n: i64 = sr::table
        .filter(sr::mode.eq(mode))
        .filter(sr::run_trigger.eq("schedule"))
        .filter(sr::started_at.ge(since))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
