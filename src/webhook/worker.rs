//! The apply worker: applies stored deliveries in id order, a batch per transaction written
//! set-based ([`apply_batch`]), and marks each `applied`, `ignored` or `failed`. One
//! delivery's failure does not stop the others: a delivery that cannot be applied contributes
//! nothing to its batch, and a batch whose writes fail in the database is redone with a
//! savepoint per delivery. On PostgreSQL several replicas claim disjoint batches with
//! `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::apply::{apply, apply_batch, ApplyError, Outcome};
use super::decode::decode;
use super::event::Delivery;
use super::status::DeliveryStatus;
use crate::db::schema::webhook_events as we;
use crate::db::statement::{Param, Statement, Val};
use crate::db::{is_transient, statistics, write_tx, DbConn, Pool, WriteGate};
use crate::metrics::Metrics;
use crate::time::{now, SourceTime};

/// Most deliveries applied per transaction.
pub const BATCH: i64 = 500;

/// Passes between two looks at the planner statistics of the tables apply fills (see
/// [`crate::db::statistics`]).
const STATISTICS_EVERY: u64 = 20;

/// Analyzes mirror tables that outgrew their planner statistics; only speed depends on it.
fn refresh_statistics(pool: &Pool) {
    match pool.get() {
        Ok(mut conn) => statistics::refresh_logged(&mut conn),
        Err(e) => tracing::warn!(error = %e, "could not refresh planner statistics"),
    }
}

/// Fewest deliveries the live worker claims per pass.
const MIN_BATCH: i64 = 16;

/// How long a pass of the live worker should take. Where writers take turns (SQLite) a pass
/// holds the file's write lock and intake waits behind it, so it stays short; PostgreSQL locks
/// rows, and a longer pass spreads its fixed cost (a dozen statements and a commit) over more
/// deliveries.
fn pass_target(gate: &WriteGate) -> Duration {
    if gate.takes_turns() {
        Duration::from_millis(8)
    } else {
        Duration::from_millis(40)
    }
}

/// The batch size for the next pass: as many deliveries as the last pass's speed fits in the
/// target time, between [`MIN_BATCH`] and [`BATCH`].
fn next_limit(limit: i64, a: &Applied, took: Duration, target: Duration) -> i64 {
    if a.claimed == 0 {
        return limit;
    }
    let per = took.as_secs_f64() / a.claimed as f64;
    let fit = (target.as_secs_f64() / per.max(1e-6)) as i64;
    if a.claimed < limit as usize && fit > limit {
        // The queue ran dry before the limit: no evidence for a larger batch.
        return limit;
    }
    fit.clamp(MIN_BATCH, BATCH)
}

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
        .filter(we::status.eq(DeliveryStatus::Pending))
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

/// Decodes and parses a stored body; the error says why it is not a delivery.
fn parse(body: &[u8]) -> Result<Delivery, String> {
    decode(body)
        .map_err(|e| e.to_string())
        .and_then(|form| Delivery::parse(&form).map_err(|e| e.to_string()))
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
    let parsed: Vec<(i64, SourceTime, Result<Delivery, String>)> = batch
        .iter()
        .map(|(id, body, received_at)| (*id, *received_at, parse(body)))
        .collect();
    let outcomes: Vec<Result<Outcome, String>> = match isolation {
        Isolation::Optimistic => {
            let ok: Vec<(i64, &Delivery)> = parsed
                .iter()
                .filter_map(|(id, _, d)| d.as_ref().ok().map(|d| (*id, d)))
                .collect();
            let mut applied = match apply_batch(c, &ok, now) {
                Ok(outcomes) => outcomes.into_iter(),
                // A deadlock with another replica or a busy file is no fault of a delivery:
                // the batch rolls back and is applied again.
                Err(e) if is_transient(&e) => return Err(PassError::Db(e)),
                Err(_) => return Err(PassError::Isolate),
            };
            parsed
                .iter()
                .map(|(_, _, d)| match d {
                    Ok(_) => applied
                        .next()
                        .expect("one outcome per delivery")
                        .map_err(|e| e.to_string()),
                    Err(why) => Err(why.clone()),
                })
                .collect()
        }
        Isolation::Savepoints => {
            let mut out = Vec::with_capacity(parsed.len());
            for (id, _, d) in &parsed {
                out.push(match d {
                    Ok(d) => match c.transaction(|c| apply(c, *id, d, now)) {
                        Ok(outcome) => Ok(outcome),
                        Err(ApplyError::Db(e)) if is_transient(&e) => return Err(PassError::Db(e)),
                        Err(e) => Err(e.to_string()),
                    },
                    Err(why) => Err(why.clone()),
                });
            }
            out
        }
    };
    let mut lag = None;
    let mut stats = Applied {
        claimed: batch.len(),
        ..Applied::default()
    };
    let mut applied_ids = Vec::new();
    for ((id, received_at, _), outcome) in parsed.iter().zip(outcomes) {
        match outcome {
            Ok(Outcome::Applied) => {
                applied_ids.push(*id);
                lag = Some(now - *received_at);
            }
            Ok(Outcome::Ignored(why)) => {
                stats.ignored += 1;
                mark(c, *id, DeliveryStatus::Ignored, Some(why), now)?;
            }
            Err(why) => {
                stats.failed += 1;
                tracing::warn!(event_id = id, reason = %why, "delivery failed to apply; kept for replay");
                mark(c, *id, DeliveryStatus::Failed, Some(&why), now)?;
            }
        }
    }
    stats.applied = applied_ids.len();
    for chunk in applied_ids.chunks(crate::db::CHUNK) {
        diesel::update(we::table.filter(we::id.eq_any(chunk)))
            .set((
                we::status.eq(DeliveryStatus::Applied),
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
    status: DeliveryStatus,
    error: Option<&str>,
    now: SourceTime,
) -> QueryResult<usize> {
    Statement::new(
        "UPDATE webhook_events SET status = ?, error = ?, applied_at = ? WHERE id = ?".into(),
        vec![
            Param::Val(Val::Text(status.as_str())),
            Param::Val(Val::OptText(error)),
            Param::Val(Val::Ts(now)),
            Param::Val(Val::I64(id)),
        ],
    )
    .execute(conn)
}

/// Applies until no delivery is pending. Used at start (deliveries stored before a crash),
/// by `replay`, and by tests.
pub fn drain(pool: &Pool, metrics: &Metrics) -> anyhow::Result<Applied> {
    let mut total = Applied::default();
    let mut retries = 0u64;
    let mut passes = 0u64;
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
        passes += 1;
        if passes % STATISTICS_EVERY == 0 {
            refresh_statistics(pool);
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
    let target = pass_target(&gate);
    let mut limit = MIN_BATCH * 4;
    let mut passes = 0u64;
    loop {
        let (p, m) = (pool.clone(), metrics.clone());
        let turn = gate.enter().await;
        let started = std::time::Instant::now();
        let pass = tokio::task::spawn_blocking(move || apply_pending(&p, limit, &m)).await;
        let took = started.elapsed();
        drop(turn);
        match pass {
            // More may be pending: take the next turn, with a batch sized to the target.
            Ok(Ok(a)) if a.claimed > 0 => {
                limit = next_limit(limit, &a, took, target);
                passes += 1;
                // SQLite needs no statistics for key lookups.
                if passes % STATISTICS_EVERY == 0 && !gate.takes_turns() {
                    let p = pool.clone();
                    let _ = tokio::task::spawn_blocking(move || refresh_statistics(&p)).await;
                }
                continue;
            }
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
    for chunk in ids.chunks(crate::db::CHUNK) {
        n += diesel::update(we::table.filter(we::id.eq_any(chunk)))
            .set((
                we::status.eq(DeliveryStatus::Pending),
                we::error.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    Ok(n)
}
