//! The apply worker: applies stored deliveries in id order, a batch per transaction, and
//! marks each `applied`, `ignored` or `failed`. One delivery's failure does not stop the
//! others: a batch that meets one is redone with a savepoint per delivery. On PostgreSQL several replicas claim disjoint batches with
//! `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::apply::{apply, ApplyError, Outcome};
use super::decode::decode;
use super::event::Delivery;
use crate::db::cached::Cached;
use crate::db::schema::webhook_events as we;
use crate::db::{is_transient, write_tx, DbConn, Pool, WriteGate};
use crate::metrics::Metrics;
use crate::mirror::{now, SourceTime};

/// Longest a pass keeps applying before it commits (it always applies at least one delivery).
const PASS_BUDGET: Duration = Duration::from_millis(15);

/// Deliveries applied per transaction.
pub const BATCH: i64 = 500;

/// What one pass applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Deliveries taken from the queue.
    pub claimed: usize,
    /// Applied to the mirror.
    pub applied: usize,
    /// Stored without effect.
    pub ignored: usize,
    /// Failed, with the reason stored.
    pub failed: usize,
}

fn claim(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(i64, Vec<u8>, SourceTime)>> {
    let query = we::table
        .filter(we::status.eq("pending"))
        .order(we::id)
        .limit(limit)
        .select((we::id, we::body, we::received_at));
    match conn {
        DbConn::Pg(c) => query.for_update().skip_locked().load(c),
        // SQLite write transactions are exclusive: one applier at a time.
        DbConn::Sqlite(c) => query.load(c),
    }
}

/// How a batch isolates one delivery's writes from the others'.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// No savepoints: the whole batch is abandoned and retried with savepoints if any
    /// delivery fails to apply. Failures are rare, and a savepoint per delivery cost about a
    /// sixth of the apply time on SQLite.
    Optimistic,
    /// A savepoint per delivery: a failing one rolls back alone.
    Savepoints,
}

/// Why a batch pass stopped.
#[derive(Debug)]
enum PassError {
    /// The database failed.
    Db(diesel::result::Error),
    /// An optimistic pass met a delivery that failed after it may have written.
    Isolate,
}

impl From<diesel::result::Error> for PassError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

fn apply_one(
    conn: &mut DbConn,
    id: i64,
    body: &[u8],
    now: SourceTime,
    isolation: Isolation,
) -> Result<Result<Outcome, String>, PassError> {
    // Undecodable bodies fail before any write: no isolation needed.
    let delivery = match decode(body)
        .map_err(|e| e.to_string())
        .and_then(|form| Delivery::parse(&form).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(why) => return Ok(Err(why)),
    };
    match isolation {
        Isolation::Savepoints => match conn.transaction(|c| apply(c, id, &delivery, now)) {
            Ok(outcome) => Ok(Ok(outcome)),
            // A deadlock with another replica or a busy file is no fault of the delivery: the
            // batch rolls back and is applied again, instead of marking the delivery failed.
            Err(ApplyError::Db(e)) if is_transient(&e) => Err(PassError::Db(e)),
            Err(e) => Ok(Err(e.to_string())),
        },
        Isolation::Optimistic => match apply(conn, id, &delivery, now) {
            Ok(outcome) => Ok(Ok(outcome)),
            Err(_) => Err(PassError::Isolate),
        },
    }
}

/// Applies up to `limit` pending deliveries in one transaction.
pub fn apply_pending(pool: &Pool, limit: i64, metrics: &Metrics) -> anyhow::Result<Applied> {
    let mut conn = pool.get()?;
    let (result, lag) = match write_tx(&mut conn, |c| pass(c, limit, Isolation::Optimistic)) {
        Err(PassError::Isolate) => write_tx(&mut conn, |c| pass(c, limit, Isolation::Savepoints)),
        other => other,
    }
    .map_err(|e| match e {
        PassError::Db(e) => anyhow::Error::from(e),
        PassError::Isolate => anyhow::anyhow!("a delivery failed outside its savepoint"),
    })?;
    metrics.deliveries_applied.inc_by(result.applied as u64);
    metrics.deliveries_ignored.inc_by(result.ignored as u64);
    metrics.deliveries_failed.inc_by(result.failed as u64);
    if let Some(lag) = lag {
        metrics.apply_lag_ms.set(lag.num_milliseconds());
    }
    Ok(result)
}

/// One batch inside the caller's transaction; returns what it did and the last apply lag.
fn pass(
    c: &mut DbConn,
    limit: i64,
    isolation: Isolation,
) -> Result<(Applied, Option<chrono::TimeDelta>), PassError> {
    let batch = claim(c, limit)?;
    let now = now();
    let mut lag = None;
    let mut stats = Applied {
        claimed: batch.len(),
        ..Applied::default()
    };
    let mut applied_ids = Vec::new();
    let started = std::time::Instant::now();
    let mut taken = 0;
    for (id, body, received_at) in &batch {
        // A pass holds the write lock; past its budget it commits what it has, so that intake
        // waits at most about this long. The rest stays pending for the next pass.
        if taken > 0 && started.elapsed() > PASS_BUDGET {
            break;
        }
        taken += 1;
        match apply_one(c, *id, body, now, isolation)? {
            Ok(Outcome::Applied) => {
                applied_ids.push(*id);
                lag = Some(now - *received_at);
            }
            Ok(Outcome::Ignored(why)) => {
                stats.ignored += 1;
                mark(c, *id, "ignored", Some(why), now)?;
            }
            Err(why) => {
                stats.failed += 1;
                tracing::warn!(event_id = id, reason = %why, "delivery failed to apply; kept for replay");
                mark(c, *id, "failed", Some(&why), now)?;
            }
        }
    }
    stats.claimed = taken;
    stats.applied = applied_ids.len();
    for chunk in applied_ids.chunks(crate::mirror::CHUNK) {
        diesel::update(we::table.filter(we::id.eq_any(chunk)))
            .set((
                we::status.eq("applied"),
                we::error.eq(None::<String>),
                we::applied_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok((stats, lag))
}

fn mark(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    error: Option<&str>,
    now: SourceTime,
) -> QueryResult<usize> {
    Cached(diesel::update(we::table.find(id)).set((
        we::status.eq(status),
        we::error.eq(error),
        we::applied_at.eq(now),
    )))
    .execute(conn)
}

/// Applies until no delivery is pending. Used at start (deliveries stored before a crash),
/// by `replay`, and by tests.
pub fn drain(pool: &Pool, metrics: &Metrics) -> anyhow::Result<Applied> {
    let mut total = Applied::default();
    let mut retries = 0u64;
    loop {
        let a = match apply_pending(pool, BATCH, metrics) {
            Ok(a) => a,
            Err(e)
                if retries < 20
                    && e.downcast_ref::<diesel::result::Error>()
                        .is_some_and(is_transient) =>
            {
                retries += 1;
                tracing::debug!(error = %e, "apply batch rolled back; retrying");
                std::thread::sleep(Duration::from_millis(20 * retries));
                continue;
            }
            Err(e) => return Err(e),
        };
        total.claimed += a.claimed;
        total.applied += a.applied;
        total.ignored += a.ignored;
        total.failed += a.failed;
        if a.claimed == 0 {
            return Ok(total);
        }
    }
}

/// Runs the worker until `shutdown`; wakes on `notify` (a commit) or every second.
pub async fn run(
    pool: Pool,
    metrics: Arc<Metrics>,
    notify: Arc<Notify>,
    shutdown: CancellationToken,
    gate: WriteGate,
) {
    loop {
        let (p, m) = (pool.clone(), metrics.clone());
        let turn = gate.enter().await;
        let pass = tokio::task::spawn_blocking(move || apply_pending(&p, BATCH, &m)).await;
        drop(turn);
        match pass {
            // More may be pending (a pass stops at its time budget): take the next turn.
            Ok(Ok(a)) if a.claimed > 0 => continue,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "apply pass failed; retrying"),
            Err(e) => tracing::error!(error = %e, "apply pass panicked; retrying"),
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Marks deliveries pending again so that they are re-applied (under the staleness rule).
pub fn requeue(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(crate::mirror::CHUNK) {
        n += diesel::update(we::table.filter(we::id.eq_any(chunk)))
            .set((we::status.eq("pending"), we::error.eq(None::<String>)))
            .execute(conn)?;
    }
    Ok(n)
}
