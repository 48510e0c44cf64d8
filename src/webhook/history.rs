//! What the dashboard charts over time, kept small so that reading a day of it costs the same
//! however large `webhook_events` grows:
//!
//! - `delivery_minutes`: new deliveries per minute of receipt and event type, counted in the
//!   transaction that stores them. Each process counts under a writer id of its own, so
//!   replicas sharing a PostgreSQL database never wait on each other's counter rows.
//! - `apply_samples`: the apply backlog and lag, sampled once a minute by `serve` (one sample
//!   per minute whichever replica takes it).
//!
//! Both keep [`KEPT`] of history; `serve` prunes older rows as it samples.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use tokio_util::sync::CancellationToken;

use super::status::DeliveryStatus;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{apply_samples as samples, delivery_minutes as dm, webhook_events as we};
use crate::db::{blocking, with_backend, write_tx_retrying, DbConn, Pool, WriteGate};

/// How much history is kept: the dashboard shows a day, and a day more stays for a look back.
pub const KEPT: chrono::Duration = chrono::Duration::hours(48);
/// Time between two samples of the apply backlog.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(60);

/// The start of `t`'s minute.
pub fn minute_of(t: NaiveDateTime) -> NaiveDateTime {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// This process's writer id in `delivery_minutes`: random, drawn once.
fn writer() -> i64 {
    static WRITER: OnceLock<i64> = OnceLock::new();
    *WRITER.get_or_init(|| i64::from(rand::random::<u32>()) + 1)
}

/// Counts newly stored deliveries, given as (time of receipt, event type), inside the
/// transaction that stored them.
pub fn count_stored<'a>(
    conn: &mut DbConn,
    stored: impl IntoIterator<Item = (NaiveDateTime, Option<&'a str>)>,
) -> QueryResult<()> {
    // One row per key: a PostgreSQL upsert may not touch one row twice, and keys in order
    // take the rows' locks in one order.
    let mut counts: BTreeMap<(NaiveDateTime, &str), i64> = BTreeMap::new();
    for (at, event_type) in stored {
        *counts
            .entry((minute_of(at), event_type.unwrap_or("")))
            .or_default() += 1;
    }
    if counts.is_empty() {
        return Ok(());
    }
    let writer = writer();
    let rows: Vec<Vec<Val<'_>>> = counts
        .iter()
        .map(|((minute, event_type), n)| {
            vec![
                Val::Ts(*minute),
                Val::Text(event_type),
                Val::I64(writer),
                Val::I64(*n),
            ]
        })
        .collect();
    Upsert {
        table: "delivery_minutes",
        columns: &["minute", "event_type", "writer", "deliveries"],
        conflict: "ON CONFLICT (minute, event_type, writer) DO UPDATE SET \
                   deliveries = delivery_minutes.deliveries + excluded.deliveries"
            .into(),
    }
    .run(conn, &rows)?;
    Ok(())
}

/// Deliveries per minute and event type received in `[from, to)`, summed over writers.
pub fn per_minute(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(NaiveDateTime, String, i64)>> {
    let rows: Vec<(NaiveDateTime, String, i64)> = dm::table
        .filter(dm::minute.ge(from))
        .filter(dm::minute.lt(to))
        .select((dm::minute, dm::event_type, dm::deliveries))
        .load(conn)?;
    // Summed here rather than grouped in SQL: SQLite stores times as text, and a row counted
    // by the migration and one counted live may spell one minute differently.
    let mut sums: BTreeMap<(NaiveDateTime, String), i64> = BTreeMap::new();
    for (minute, event_type, n) in rows {
        *sums.entry((minute_of(minute), event_type)).or_default() += n;
    }
    Ok(sums.into_iter().map(|((m, t), n)| (m, t, n)).collect())
}

/// Most deliveries of one status read for the failed and ignored marks of the chart; beyond
/// this the marks show the newest ones only.
pub const STATUS_MARKS_MAX: i64 = 50_000;

/// When each delivery received in `[from, to)` that has `status` now arrived, newest first, at
/// most [`STATUS_MARKS_MAX`]: a range of the `(status, received_at)` index.
pub fn received_with_status(
    conn: &mut DbConn,
    status: DeliveryStatus,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    we::table
        .filter(we::status.eq(status))
        .filter(we::received_at.ge(from))
        .filter(we::received_at.lt(to))
        .order(we::received_at.desc())
        .select(we::received_at)
        .limit(STATUS_MARKS_MAX)
        .load(conn)
}

/// The apply backlog now: pending deliveries, and when the oldest of them arrived.
pub fn backlog(conn: &mut DbConn) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let pending: i64 = we::table
        .filter(we::status.eq(DeliveryStatus::Pending))
        .select(count_star())
        .get_result(conn)?;
    Ok((pending, oldest_pending(conn)?))
}

/// When the oldest pending delivery arrived (the start of the `(status, received_at)` index's
/// pending range).
pub fn oldest_pending(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    we::table
        .filter(we::status.eq(DeliveryStatus::Pending))
        .select(min(we::received_at))
        .get_result(conn)
}

/// The apply lag at `now`: the age in seconds of the oldest pending delivery, 0 when none is.
pub fn lag_seconds(oldest_pending: Option<NaiveDateTime>, now: NaiveDateTime) -> i64 {
    oldest_pending.map_or(0, |t| (now - t).num_seconds().max(0))
}

/// The newest delivery: when it arrived and its type.
pub fn newest(conn: &mut DbConn) -> QueryResult<Option<(NaiveDateTime, Option<String>)>> {
    we::table
        // `received_at` is indexed; `last_received_at` (moved by repeats) is not, and sorting
        // by it would read every row, bodies included.
        .order((we::received_at.desc(), we::id.desc()))
        .select((we::received_at, we::event_type))
        .first(conn)
        .optional()
}

/// Records the backlog as of `now` (once per minute: a second sample of the same minute, from
/// another replica, is dropped) and prunes history older than [`KEPT`].
pub fn sample(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
    let (pending, oldest) = backlog(conn)?;
    let lag = lag_seconds(oldest, now);
    let at = minute_of(now);
    with_backend!(&mut *conn, |c| diesel::insert_into(samples::table)
        .values((
            samples::at.eq(at),
            samples::backlog.eq(pending),
            samples::lag_seconds.eq(lag),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let cutoff = now - KEPT;
    diesel::delete(samples::table.filter(samples::at.lt(cutoff))).execute(conn)?;
    diesel::delete(dm::table.filter(dm::minute.lt(cutoff))).execute(conn)?;
    Ok(())
}

/// Backlog samples taken in `[from, to)`, oldest first: (time, backlog, lag in seconds).
pub fn samples_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(NaiveDateTime, i64, i64)>> {
    samples::table
        .filter(samples::at.ge(from))
        .filter(samples::at.lt(to))
        .order(samples::at)
        .select((samples::at, samples::backlog, samples::lag_seconds))
        .load(conn)
}

/// Samples the backlog once a minute until `stop` is cancelled.
pub async fn run(pool: Pool, gate: WriteGate, stop: CancellationToken) {
    loop {
        let taken = {
            let _turn = gate.enter().await;
            let now: DateTime<Utc> = Utc::now();
            blocking(&pool, move |conn| {
                Ok(write_tx_retrying(conn, |c| sample(c, now.naive_utc()))?)
            })
            .await
        };
        if let Err(e) = taken {
            tracing::warn!(error = %format!("{e:#}"), "could not sample the apply backlog");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(SAMPLE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_starts_at_its_zeroth_second() {
        let t = NaiveDateTime::parse_from_str("2026-12-07 12:34:56.789", "%Y-%m-%d %H:%M:%S%.f")
            .expect("valid time");
        assert_eq!(minute_of(t).to_string(), "2026-12-07 12:34:00");
        assert_eq!(minute_of(minute_of(t)), minute_of(t));
    }
}
