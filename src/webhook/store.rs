//! Durable intake with group commit.
//!
//! Handlers hand their delivery to one writer task and wait. The writer takes everything that
//! queued up while the previous transaction committed, inserts it in one transaction (one
//! fsync), then answers each handler. So a delivery is durable before its 200, and the disk's
//! flush rate caps transactions, not deliveries.
//!
//! When the database cannot take the batch (an error, or no connection within
//! [`DB_WAIT`]), or is already known to be down, the batch goes to the local spool instead
//! (appended and fsynced once) and the handlers are answered [`Stored::Spooled`]; the spool
//! drains into the database when it is back (see [`super::fallback`]). Only when the spool
//! cannot take it either is a delivery refused.
//!
//! Duplicates are found by the SHA-256 of the raw body under a unique index, inside the same
//! insert (`ON CONFLICT … DO UPDATE SET deliveries = deliveries + 1`), so two identical
//! deliveries racing on two replicas cannot both count as new.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, Notify};

use super::decode::decode;
use super::event::Delivery;
use super::history;
use super::spool::Spool;
use super::status::DeliveryStatus;
use crate::db::bulk::{Upsert, Val};
use crate::db::health::WriteHealth;
use crate::db::{write_tx_retrying, DbConn, Pool, WriteGate};
use crate::metrics::Metrics;
use crate::time::SourceTime;

/// Most deliveries committed in one transaction.
const MAX_BATCH: usize = 2_000;
/// Longest the writer waits for a database connection before spooling a batch.
pub const DB_WAIT: Duration = Duration::from_secs(1);
/// Longest the writer waits for a batch's commit before spooling it (a database that hangs
/// rather than refuses). A commit that lands after this is deduplicated when the spool drains.
const COMMIT_WAIT: Duration = Duration::from_secs(10);

/// Longest `event_type` stored, in characters. ActiveCampaign's event names are a few words;
/// a longer `type` is kept whole in the body and shortened here, so that the column's index
/// entry always fits (PostgreSQL's btree holds about 2.7 KB).
pub const EVENT_TYPE_MAX_CHARS: usize = 100;

fn bounded(event_type: Option<String>) -> Option<String> {
    event_type.map(|t| match t.char_indices().nth(EVENT_TYPE_MAX_CHARS) {
        Some((end, _)) => t[..end].to_owned(),
        None => t,
    })
}

/// A delivery ready to be stored, with what could be read from it.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The raw body.
    pub body: Vec<u8>,
    /// Hex SHA-256 of the body.
    pub sha256: String,
    /// When it arrived.
    pub received_at: SourceTime,
    /// `type`.
    pub event_type: Option<String>,
    /// `date_time` in UTC.
    pub occurred_at: Option<SourceTime>,
    /// `initiated_from`.
    pub initiated_from: Option<String>,
    /// The contact concerned.
    pub contact_id: Option<i64>,
    /// The deal concerned.
    pub deal_id: Option<i64>,
    /// Why the body cannot be applied, if it cannot.
    pub error: Option<String>,
}

impl NewDelivery {
    /// Hashes and reads a raw body. Undecodable bodies are still stored, as `failed` with the
    /// reason, so that they can be replayed after a fix.
    pub fn from_body(body: Vec<u8>, received_at: SourceTime) -> Self {
        let sha256 = hex::encode(Sha256::digest(&body));
        let mut d = Self {
            body,
            sha256,
            received_at,
            event_type: None,
            occurred_at: None,
            initiated_from: None,
            contact_id: None,
            deal_id: None,
            error: None,
        };
        let form = match decode(&d.body) {
            Ok(form) => form,
            Err(e) => {
                d.error = Some(e.to_string());
                return d;
            }
        };
        match Delivery::parse(&form) {
            Ok(p) => {
                d.contact_id = p.contact_id();
                d.deal_id = p.deal_id();
                d.event_type = bounded(p.event_type);
                d.occurred_at = p.occurred_at;
                d.initiated_from = p.initiated_from;
            }
            Err(e) => {
                // Keep what can be read, so `events --type` still finds it.
                d.event_type = bounded(form.get(&["type"]).map(str::to_owned));
                d.error = Some(e.to_string());
            }
        }
        d
    }
}

/// How a delivery was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// First time this body arrived; its id.
    New(i64),
    /// A repeat of delivery `id`.
    Duplicate(i64),
    /// On disk in the local spool; it reaches the database when the database takes writes.
    Spooled,
}

/// Inserts one delivery (or counts a repeat) inside the caller's transaction.
pub fn insert(conn: &mut DbConn, d: &NewDelivery) -> QueryResult<Stored> {
    let mut stored = insert_all(conn, std::slice::from_ref(d))?;
    Ok(stored.pop().expect("one result per delivery"))
}

/// The columns a delivery is stored with, in [`row`]'s order.
const COLUMNS: &[&str] = &[
    "body_sha256",
    "event_type",
    "occurred_at",
    "received_at",
    "last_received_at",
    "initiated_from",
    "contact_id",
    "deal_id",
    "status",
    "error",
    "deliveries",
    "body",
];

fn row(d: &NewDelivery, copies: i32) -> Vec<Val<'_>> {
    let status = if d.error.is_some() {
        DeliveryStatus::Failed
    } else {
        DeliveryStatus::Pending
    };
    vec![
        Val::Text(&d.sha256),
        Val::OptText(d.event_type.as_deref()),
        Val::OptTs(d.occurred_at),
        Val::Ts(d.received_at),
        Val::Ts(d.received_at),
        Val::OptText(d.initiated_from.as_deref()),
        Val::OptI64(d.contact_id),
        Val::OptI64(d.deal_id),
        Val::Text(status.as_str()),
        Val::OptText(d.error.as_deref()),
        Val::I32(copies),
        Val::Bytes(&d.body),
    ]
}

/// What the insert returns of each row it wrote.
#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body_sha256: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    deliveries: i32,
}

/// Inserts deliveries (or counts repeats) inside the caller's transaction, one statement for
/// the batch (a few on SQLite); returns how each was stored, in the order given.
///
/// A body that comes more than once in the batch is one row whose `deliveries` starts at its
/// count. The row's count after the statement tells new from repeated: it equals the batch's
/// count only where the statement inserted the row (a row stored before holds at least one
/// more), and then the first copy is new and the others repeat it. Rows go in hash order, so
/// replicas committing overlapping batches take the unique index's locks in one global order
/// and cannot deadlock.
pub fn insert_all(conn: &mut DbConn, deliveries: &[NewDelivery]) -> QueryResult<Vec<Stored>> {
    // Hash → (index of its first copy, copies in the batch).
    let mut copies: BTreeMap<&str, (usize, i32)> = BTreeMap::new();
    for (i, d) in deliveries.iter().enumerate() {
        copies
            .entry(d.sha256.as_str())
            .and_modify(|(_, n)| *n += 1)
            .or_insert((i, 1));
    }
    let rows: Vec<Vec<Val<'_>>> = copies
        .values()
        .map(|(first, n)| row(&deliveries[*first], *n))
        .collect();
    let upsert = Upsert {
        table: "webhook_events",
        columns: COLUMNS,
        conflict: "ON CONFLICT (body_sha256) DO UPDATE SET \
                   deliveries = webhook_events.deliveries + excluded.deliveries, \
                   last_received_at = excluded.last_received_at"
            .into(),
    };
    let written: HashMap<String, (i64, i32)> = upsert
        .run_returning::<Written>(conn, &rows, "id, body_sha256, deliveries")?
        .into_iter()
        .map(|w| (w.body_sha256, (w.id, w.deliveries)))
        .collect();
    let stored = deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (first, n) = copies[d.sha256.as_str()];
            let &(id, total) = written.get(&d.sha256).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(
                    format!("the insert returned no row for delivery {}", d.sha256).into(),
                )
            })?;
            Ok(if i == first && total == n {
                Stored::New(id)
            } else {
                Stored::Duplicate(id)
            })
        })
        .collect::<QueryResult<Vec<Stored>>>()?;
    history::count_stored(
        conn,
        deliveries
            .iter()
            .zip(&stored)
            .filter(|(_, s)| matches!(s, Stored::New(_)))
            .map(|(d, _)| (d.received_at, d.event_type.as_deref())),
    )?;
    Ok(stored)
}

/// Why a delivery could not be stored.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the delivery could not be stored: {0}")]
pub struct StoreError(pub String);

struct Job {
    delivery: NewDelivery,
    reply: oneshot::Sender<Result<Stored, StoreError>>,
}

/// The handle handlers use to store deliveries.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Job>,
}

/// Where the writer stores deliveries.
#[derive(Clone)]
pub struct Sink {
    /// Database pool.
    pub pool: Pool,
    /// Takes turns with the other writers on SQLite.
    pub gate: WriteGate,
    /// Write health, fed with every commit's outcome.
    pub health: WriteHealth,
    /// Where batches go while the database cannot take them; `None` disables spooling.
    pub spool: Option<Arc<Spool>>,
}

impl Intake {
    /// Starts the writer task without a spool. `applied` is notified after each commit.
    pub fn start(
        pool: Pool,
        metrics: Arc<Metrics>,
        applied: Arc<Notify>,
        gate: WriteGate,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let health = WriteHealth::new(pool.clone());
        let sink = Sink {
            pool,
            gate,
            health,
            spool: None,
        };
        Self::start_with(sink, metrics, applied)
    }

    /// Starts the writer task. `applied` is notified after each commit.
    pub fn start_with(
        sink: Sink,
        metrics: Arc<Metrics>,
        applied: Arc<Notify>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let task = tokio::spawn(writer(sink, rx, metrics, applied));
        (Self { tx }, task)
    }

    /// Stores a delivery durably; returns once it is committed.
    pub async fn store(&self, delivery: NewDelivery) -> Result<Stored, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { delivery, reply })
            .await
            .map_err(|_| StoreError("the intake writer has stopped (shutting down)".into()))?;
        rx.await
            .map_err(|_| StoreError("the intake writer stopped before committing".into()))?
    }
}

/// Runs until every `Intake` handle is dropped and the queue is drained.
async fn writer(
    sink: Sink,
    mut rx: mpsc::Receiver<Job>,
    metrics: Arc<Metrics>,
    applied: Arc<Notify>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let deliveries: Vec<NewDelivery> = jobs.iter().map(|j| j.delivery.clone()).collect();
        // Known down with a spool to fall back on: do not wait on the database again.
        let known_down = sink.spool.is_some() && sink.health.down_reason().is_some();
        let result = if known_down {
            Err(StoreError("the database cannot take writes".into()))
        } else {
            let outcome = commit(&sink, deliveries.clone()).await;
            match &outcome {
                Ok(_) => sink.health.mark_ok(),
                Err(e) => sink.health.mark_down(&e.0),
            }
            outcome
        };
        let result = match (result, &sink.spool) {
            (Err(e), Some(spool)) => match spool_batch(spool, deliveries).await {
                Ok(()) => {
                    metrics.deliveries_spooled.inc_by(jobs.len() as u64);
                    super::fallback::publish(spool, &metrics);
                    Ok(vec![Stored::Spooled; jobs.len()])
                }
                Err(spool_err) => Err(StoreError(format!(
                    "{e}; and the spool refused it: {spool_err}"
                ))),
            },
            (other, _) => other,
        };
        match result {
            Ok(stored) => {
                let committed = stored.iter().any(|s| !matches!(s, Stored::Spooled));
                for (job, s) in jobs.into_iter().zip(stored) {
                    if !matches!(s, Stored::Spooled) {
                        metrics.deliveries_received.inc();
                    }
                    if matches!(s, Stored::Duplicate(_)) {
                        metrics.deliveries_duplicate.inc();
                    }
                    let _ = job.reply.send(Ok(s));
                }
                if committed {
                    applied.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = jobs.len(), "failed to store deliveries");
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Commits a batch to the database, giving up after [`COMMIT_WAIT`].
async fn commit(sink: &Sink, deliveries: Vec<NewDelivery>) -> Result<Vec<Stored>, StoreError> {
    let pool = sink.pool.clone();
    let turn = sink.gate.enter().await;
    let task = tokio::task::spawn_blocking(move || commit_batch(&pool, &deliveries));
    let result = match tokio::time::timeout(COMMIT_WAIT, task).await {
        Ok(joined) => {
            joined.unwrap_or_else(|e| Err(StoreError(format!("the intake writer panicked: {e}"))))
        }
        Err(_) => Err(StoreError(format!(
            "the database did not commit within {COMMIT_WAIT:?}"
        ))),
    };
    drop(turn);
    result
}

/// Appends a batch to the spool and fsyncs it.
async fn spool_batch(spool: &Arc<Spool>, deliveries: Vec<NewDelivery>) -> Result<(), String> {
    let spool = spool.clone();
    tokio::task::spawn_blocking(move || {
        let batch: Vec<_> = deliveries
            .iter()
            .map(|d| (d.received_at, d.body.as_slice()))
            .collect();
        spool.append(&batch)
    })
    .await
    .map_err(|e| format!("the spool writer panicked: {e}"))?
    .map_err(|e| e.to_string())
}

/// Inserts a batch in one transaction, waiting at most [`DB_WAIT`] for a connection.
pub fn commit_batch(pool: &Pool, deliveries: &[NewDelivery]) -> Result<Vec<Stored>, StoreError> {
    let mut conn = pool
        .get_timeout(DB_WAIT)
        .map_err(|e| StoreError(format!("no database connection within {DB_WAIT:?}: {e}")))?;
    write_tx_retrying(&mut conn, |c| insert_all(c, deliveries))
        .map_err(|e| StoreError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_shortened_on_a_character_boundary() {
        assert_eq!(bounded(Some("update".into())).as_deref(), Some("update"));
        let long: String = "é".repeat(150);
        let kept = bounded(Some(long)).expect("kept");
        assert_eq!(kept.chars().count(), EVENT_TYPE_MAX_CHARS);
        assert_eq!(kept, "é".repeat(EVENT_TYPE_MAX_CHARS));
        assert_eq!(bounded(None), None);
    }
}
