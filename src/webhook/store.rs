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

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, Notify};

use super::decode::decode;
use super::event::Delivery;
use super::spool::Spool;
use crate::db::cached::Cached;
use crate::db::health::WriteHealth;
use crate::db::schema::webhook_events as we;
use crate::db::{write_tx_retrying, DbConn, Pool, WriteGate};
use crate::metrics::Metrics;
use crate::mirror::SourceTime;
use crate::with_backend;

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
    let status = if d.error.is_some() {
        "failed"
    } else {
        "pending"
    };
    let row = (
        we::body_sha256.eq(&d.sha256),
        we::event_type.eq(&d.event_type),
        we::occurred_at.eq(d.occurred_at),
        we::received_at.eq(d.received_at),
        we::last_received_at.eq(d.received_at),
        we::initiated_from.eq(&d.initiated_from),
        we::contact_id.eq(d.contact_id),
        we::deal_id.eq(d.deal_id),
        we::status.eq(status),
        we::error.eq(&d.error),
        we::deliveries.eq(1),
        we::body.eq(&d.body),
    );
    let (id, deliveries): (i64, i32) = with_backend!(&mut *conn, |c| Cached(
        diesel::insert_into(we::table)
            .values(&row)
            .on_conflict(we::body_sha256)
            .do_update()
            .set((
                we::deliveries.eq(we::deliveries + 1),
                we::last_received_at.eq(d.received_at)
            ))
            .returning((we::id, we::deliveries))
    )
    .get_result(c))?;
    Ok(if deliveries == 1 {
        Stored::New(id)
    } else {
        Stored::Duplicate(id)
    })
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
    // Inserting in hash order takes the unique-index locks in one global order, so replicas
    // committing overlapping batches (the same delivery sent to two of them) cannot deadlock.
    let mut order: Vec<usize> = (0..deliveries.len()).collect();
    order.sort_by(|a, b| deliveries[*a].sha256.cmp(&deliveries[*b].sha256));
    let stored = write_tx_retrying(&mut conn, |c| {
        order
            .iter()
            .map(|i| insert(c, &deliveries[*i]))
            .collect::<QueryResult<Vec<_>>>()
    })
    .map_err(|e| StoreError(e.to_string()))?;
    let mut out = vec![Stored::New(0); deliveries.len()];
    for (i, s) in order.into_iter().zip(stored) {
        out[i] = s;
    }
    Ok(out)
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
