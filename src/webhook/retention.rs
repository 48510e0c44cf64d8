//! Retention of stored deliveries: `webhook_events` keeps every raw body, so without pruning a
//! busy account grows the database without limit.
//!
//! Deliveries that are `applied` or `ignored` and were received more than
//! `ACMIRROR_RETENTION_DAYS` ago are deleted; `pending` and `failed` ones are kept whatever
//! their age, until they are applied or replayed. Deletion goes in small batches, one short
//! transaction each, with a pause between them; on SQLite each batch takes its turn at the
//! [`WriteGate`] like the intake writer and the apply worker, so intake never waits for more
//! than one batch. Deletes are idempotent, so replicas may prune at the same time.
//!
//! A body that arrives again after its first copy was pruned is stored and applied again; the
//! mirror's staleness rule makes that harmless.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use tokio_util::sync::CancellationToken;

use super::status::DeliveryStatus;
use crate::db::schema::webhook_events as we;
use crate::db::{blocking, checkpoint, write_tx_retrying, DbConn, Pool, WriteGate};

/// Statuses that may be pruned: the delivery has had its effect, or has none.
pub const PRUNABLE: [DeliveryStatus; 2] = [DeliveryStatus::Applied, DeliveryStatus::Ignored];

/// How pruning runs.
#[derive(Clone, Debug)]
pub struct Retention {
    /// Keep deliveries this many days; 0 keeps them forever.
    pub days: u32,
    /// Rows deleted per transaction.
    pub batch: i64,
    /// Pause between two batches, so that other writers get the database.
    pub pause: Duration,
    /// Time between two pruning passes.
    pub every: Duration,
}

impl Retention {
    /// The daemon's defaults: 250 rows per transaction, 100 ms between batches (up to about
    /// 2,000 rows/s, far above any account's delivery rate), hourly.
    pub fn days(days: u32) -> Self {
        Self {
            days,
            batch: 250,
            pause: Duration::from_millis(100),
            every: Duration::from_secs(3_600),
        }
    }

    /// Deliveries received before this time may be pruned; `None` when retention is off.
    pub fn cutoff(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        (self.days > 0).then(|| now - chrono::Duration::days(i64::from(self.days)))
    }
}

/// Deletes up to `limit` prunable deliveries received before `cutoff`, oldest first; returns
/// how many it deleted. Call it inside a transaction. The select walks the
/// `(status, received_at)` index from its old end; the delete goes by primary key.
pub fn delete_batch(conn: &mut DbConn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    // One status at a time: equality on status and a range on received_at is a plain range
    // scan of the (status, received_at) index, with no sort, however large the table.
    let mut ids: Vec<i64> = Vec::new();
    for status in PRUNABLE {
        let room = limit - ids.len() as i64;
        if room <= 0 {
            break;
        }
        ids.extend(
            we::table
                .filter(we::status.eq(status))
                .filter(we::received_at.lt(cutoff))
                .order(we::received_at)
                .select(we::id)
                .limit(room)
                .load::<i64>(conn)?,
        );
    }
    if ids.is_empty() {
        return Ok(0);
    }
    // Re-checked at delete time: a replay may have set one back to pending meanwhile.
    diesel::delete(
        we::table
            .filter(we::id.eq_any(ids))
            .filter(we::status.eq_any(PRUNABLE)),
    )
    .execute(conn)
}

/// One pass: deletes batch after batch until none is left or `stop` is cancelled. Returns the
/// number of deliveries deleted.
pub async fn prune(
    pool: &Pool,
    gate: &WriteGate,
    retention: &Retention,
    stop: &CancellationToken,
) -> anyhow::Result<u64> {
    let Some(cutoff) = retention.cutoff(Utc::now().naive_utc()) else {
        return Ok(0);
    };
    let mut total = 0u64;
    while !stop.is_cancelled() {
        let deleted = {
            let _turn = gate.enter().await;
            let limit = retention.batch;
            blocking(pool, move |conn| {
                Ok(write_tx_retrying(conn, |c| delete_batch(c, cutoff, limit))?)
            })
            .await?
        };
        total += deleted as u64;
        if deleted == 0 {
            break;
        }
        // After the write turn is given back, so that the intake writer commits meanwhile: a
        // batch dirties many pages (bodies and five indexes), whose copy would otherwise fall
        // on the next commit (see `db::checkpoint`).
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || {
            if let Ok(mut conn) = pool.get() {
                checkpoint::passive(&mut conn);
            }
        })
        .await?;
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(retention.pause) => {}
        }
    }
    Ok(total)
}

/// The background job: a pass at start, then one every `retention.every`, until `stop`.
/// A failed pass is logged and retried at the next tick.
pub async fn run(pool: Pool, gate: WriteGate, retention: Retention, stop: CancellationToken) {
    if retention.days == 0 {
        tracing::info!("ACMIRROR_RETENTION_DAYS is 0: stored deliveries are kept forever");
        return;
    }
    loop {
        match prune(&pool, &gate, &retention, &stop).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deleted = n,
                retention_days = retention.days,
                "pruned applied and ignored deliveries older than the retention"
            ),
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "pruning old deliveries failed; trying again at the next pass"
            ),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(retention.every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_days_means_no_cutoff() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .expect("valid")
            .naive_utc();
        assert_eq!(Retention::days(0).cutoff(now), None);
        assert_eq!(
            Retention::days(30).cutoff(now),
            Some(now - chrono::Duration::days(30))
        );
    }
}
