//! The apply worker: applies stored deliveries in id order, a batch per transaction, and
//! marks each `applied`, `ignored` or `failed`. One delivery's failure (in its own savepoint)
//! does not stop the others. On PostgreSQL several replicas claim disjoint batches with
//! `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::apply::{apply, ApplyError, Outcome};
use super::decode::decode;
use super::event::Delivery;
use crate::db::schema::webhook_events as we;
use crate::db::{is_transient, write_tx, DbConn, Pool};
use crate::metrics::Metrics;
use crate::mirror::{now, SourceTime};

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

/// Why one delivery was not applied.
enum NotApplied {
    /// Something about this delivery: it is marked `failed` with the reason.
    Permanent(String),
    /// A passing condition (deadlock with another replica, a busy database): the whole batch
    /// rolls back and is applied again later, so the delivery is not wrongly marked failed.
    Transient(diesel::result::Error),
}

fn apply_one(
    conn: &mut DbConn,
    id: i64,
    body: &[u8],
    now: SourceTime,
) -> Result<Outcome, NotApplied> {
    let form = decode(body).map_err(|e| NotApplied::Permanent(e.to_string()))?;
    let delivery = Delivery::parse(&form).map_err(|e| NotApplied::Permanent(e.to_string()))?;
    // A savepoint per delivery: a failing one rolls back alone.
    conn.transaction(|c| apply(c, id, &delivery, now))
        .map_err(|e: ApplyError| match e {
            ApplyError::Db(db) if is_transient(&db) => NotApplied::Transient(db),
            other => NotApplied::Permanent(other.to_string()),
        })
}

/// Applies up to `limit` pending deliveries in one transaction.
pub fn apply_pending(pool: &Pool, limit: i64, metrics: &Metrics) -> anyhow::Result<Applied> {
    let mut conn = pool.get()?;
    let mut lag = None;
    let result = write_tx(&mut conn, |c| {
        let batch = claim(c, limit)?;
        let now = now();
        let mut stats = Applied {
            claimed: batch.len(),
            ..Applied::default()
        };
        let mut applied_ids = Vec::new();
        for (id, body, received_at) in &batch {
            match apply_one(c, *id, body, now) {
                Ok(Outcome::Applied) => {
                    applied_ids.push(*id);
                    lag = Some(now - *received_at);
                }
                Ok(Outcome::Ignored(why)) => {
                    stats.ignored += 1;
                    mark(c, *id, "ignored", Some(why), now)?;
                }
                Err(NotApplied::Transient(e)) => return Err(e),
                Err(NotApplied::Permanent(why)) => {
                    stats.failed += 1;
                    tracing::warn!(event_id = id, reason = %why, "delivery failed to apply; kept for replay");
                    mark(c, *id, "failed", Some(&why), now)?;
                }
            }
        }
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
        Ok::<_, diesel::result::Error>(stats)
    })?;
    metrics.deliveries_applied.inc_by(result.applied as u64);
    metrics.deliveries_ignored.inc_by(result.ignored as u64);
    metrics.deliveries_failed.inc_by(result.failed as u64);
    if let Some(lag) = lag {
        metrics.apply_lag_ms.set(lag.num_milliseconds());
    }
    Ok(result)
}

fn mark(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    error: Option<&str>,
    now: SourceTime,
) -> QueryResult<usize> {
    diesel::update(we::table.find(id))
        .set((
            we::status.eq(status),
            we::error.eq(error),
            we::applied_at.eq(now),
        ))
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
                std::thread::sleep(std::time::Duration::from_millis(20 * retries));
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
) {
    loop {
        let (p, m) = (pool.clone(), metrics.clone());
        match tokio::task::spawn_blocking(move || apply_pending(&p, BATCH, &m)).await {
            Ok(Ok(a)) if a.claimed as i64 == BATCH => continue,
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
