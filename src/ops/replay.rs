//! Re-applying stored deliveries (`acmirror replay`).
//!
//! Replay marks the selected deliveries `pending` and runs the apply worker's drain, so they
//! go through exactly the path a fresh delivery takes. That is safe to repeat: mirror writes
//! are idempotent upserts guarded by the staleness rule, so re-applying an old delivery never
//! overwrites newer state.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::webhook_events as we;
use crate::db::{write_tx, DbConn, Pool};
use crate::metrics::Metrics;
use crate::webhook::status::DeliveryStatus;
use crate::webhook::worker;

/// How many failure reasons a report carries.
pub const REASONS_SHOWN: usize = 5;

/// Which deliveries to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every delivery whose status is `failed`.
    Failed,
    /// These delivery ids.
    Ids(Vec<i64>),
    /// Every delivery received at or after this time.
    Since(DateTime<Utc>),
}

/// What a replay did to the selected deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Deliveries set back to `pending`.
    pub requeued: usize,
    /// Of those, applied to the mirror.
    pub applied: usize,
    /// Of those, stored without effect.
    pub ignored: usize,
    /// Of those, failed again.
    pub failed: usize,
    /// Of those, still pending: another process (a running `serve` on PostgreSQL) holds them
    /// and applies them itself.
    pub still_pending: usize,
    /// Requested ids that do not exist.
    pub missing_ids: Vec<i64>,
    /// The first few failures: delivery id and reason.
    pub failures: Vec<(i64, String)>,
    /// Other pending deliveries applied along the way (the queue is applied in id order).
    pub others_applied: usize,
}

/// Requeues the selected deliveries, applies them now, and reports their outcome.
pub fn replay(pool: &Pool, metrics: &Metrics, selector: &Selector) -> anyhow::Result<ReplayReport> {
    use anyhow::Context;
    let mut conn = pool.get().context("Failed to open a database connection")?;
    let (ids, missing_ids) = select(&mut conn, selector).context("Failed to select deliveries")?;
    let requeued = write_tx(&mut conn, |c| worker::requeue(c, &ids))
        .context("Failed to mark the deliveries pending")?;
    drop(conn);
    let drained = worker::drain(pool, metrics).context("Failed to apply the deliveries")?;
    let mut conn = pool.get().context("Failed to open a database connection")?;
    let mut report = outcome(&mut conn, &ids).context("Failed to read the outcome")?;
    report.requeued = requeued;
    report.missing_ids = missing_ids;
    let ours = report.applied + report.ignored + report.failed;
    report.others_applied = drained.claimed.saturating_sub(ours);
    Ok(report)
}

/// The ids a selector names that exist, and the requested ids that do not.
fn select(conn: &mut DbConn, selector: &Selector) -> QueryResult<(Vec<i64>, Vec<i64>)> {
    let ids: Vec<i64> = match selector {
        Selector::Failed => we::table
            .filter(we::status.eq(DeliveryStatus::Failed))
            .select(we::id)
            .order(we::id)
            .load(conn)?,
        Selector::Since(t) => we::table
            .filter(we::received_at.ge(t.naive_utc()))
            .select(we::id)
            .order(we::id)
            .load(conn)?,
        Selector::Ids(wanted) => {
            let mut found = Vec::new();
            for chunk in wanted.chunks(crate::db::CHUNK) {
                let part: Vec<i64> = we::table
                    .filter(we::id.eq_any(chunk))
                    .select(we::id)
                    .load(conn)?;
                found.extend(part);
            }
            found.sort_unstable();
            found.dedup();
            let mut missing: Vec<i64> = wanted
                .iter()
                .copied()
                .filter(|id| found.binary_search(id).is_err())
                .collect();
            missing.sort_unstable();
            missing.dedup();
            return Ok((found, missing));
        }
    };
    Ok((ids, Vec::new()))
}

/// Marks every failed delivery pending, in one statement, for a running apply worker to
/// apply; returns how many.
pub fn requeue_failed(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(we::table.filter(we::status.eq(DeliveryStatus::Failed)))
        .set((
            we::status.eq(DeliveryStatus::Pending),
            we::error.eq(None::<String>),
        ))
        .execute(conn)
}

/// Counts the given deliveries by their status now.
pub fn outcome(conn: &mut DbConn, ids: &[i64]) -> QueryResult<ReplayReport> {
    let mut report = ReplayReport::default();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, DeliveryStatus, Option<String>)> = we::table
            .filter(we::id.eq_any(chunk))
            .select((we::id, we::status, we::error))
            .order(we::id)
            .load(conn)?;
        for (id, status, error) in rows {
            match status {
                DeliveryStatus::Applied => report.applied += 1,
                DeliveryStatus::Ignored => report.ignored += 1,
                DeliveryStatus::Failed => {
                    report.failed += 1;
                    if report.failures.len() < REASONS_SHOWN {
                        report.failures.push((id, error.unwrap_or_default()));
                    }
                }
                DeliveryStatus::Pending => report.still_pending += 1,
            }
        }
    }
    Ok(report)
}
