//! Riding out a database outage: the spool's settings, and the task that drains the spool into
//! `webhook_events` once the database takes writes again.
//!
//! While the database cannot take a write, the intake writer appends deliveries to the spool
//! and answers 200 (see [`super::store`]). This task watches: every second it refreshes the
//! spool gauges, probes the database when it is known to be down, and once a probe succeeds it
//! seals the spool (new arrivals go to a fresh segment, or straight to the database) and
//! commits the sealed segments oldest first, in arrival order, in batches, removing each
//! segment once all its records are committed. Deliveries keep flowing meanwhile.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::spool::{Spool, SpoolStats};
use super::store::{commit_batch, NewDelivery, Stored};
use crate::db::health::WriteHealth;
use crate::db::{DatabaseUrl, Pool, WriteGate};
use crate::metrics::Metrics;
use crate::setting::{bad, ConfigError, EnvLookup};

/// Default size limit of the spool: 256 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Deliveries committed per drain transaction.
const DRAIN_BATCH: usize = 500;
/// How often the task looks at the spool and the database.
const TICK: Duration = Duration::from_secs(1);
/// How often the log repeats what the spool holds while it holds something.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// Reads `ACMIRROR_SPOOL_DIR` and `ACMIRROR_SPOOL_MAX_BYTES` (environment, then file).
///
/// The default directory is `acmirror-spool-<listen port>`, beside the SQLite database file or,
/// on PostgreSQL, in the working directory: replicas on one host listen on different ports, so
/// they get different directories, and a restarted process finds its own spool again.
pub fn settings(
    env: EnvLookup<'_>,
    file_dir: Option<PathBuf>,
    file_max: Option<u64>,
    database: &DatabaseUrl,
    listen: SocketAddr,
) -> Result<(PathBuf, u64), ConfigError> {
    let dir = match env("ACMIRROR_SPOOL_DIR").filter(|s| !s.trim().is_empty()) {
        Some(d) => PathBuf::from(d.trim()),
        None => file_dir.unwrap_or_else(|| {
            let name = format!("acmirror-spool-{}", listen.port());
            match database {
                DatabaseUrl::Sqlite(path) => std::path::Path::new(path)
                    .parent()
                    .map_or_else(|| PathBuf::from(&name), |p| p.join(&name)),
                DatabaseUrl::Postgres(_) => PathBuf::from(name),
            }
        }),
    };
    let max = match env("ACMIRROR_SPOOL_MAX_BYTES") {
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            bad(
                "ACMIRROR_SPOOL_MAX_BYTES",
                format!("{raw:?} is not a number of bytes (0 disables the spool)"),
            )
        })?,
        None => file_max.unwrap_or(DEFAULT_MAX_BYTES),
    };
    Ok((dir, max))
}

/// Publishes what the spool holds to the metrics.
pub fn publish(spool: &Spool, metrics: &Metrics) -> SpoolStats {
    let stats = spool.stats();
    metrics.spool_bytes.set(gauge(stats.bytes));
    metrics.spool_deliveries.set(gauge(stats.deliveries));
    metrics.spool_oldest_age_seconds.set(age_seconds(&stats));
    stats
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Age in seconds of the oldest spooled delivery; 0 when the spool is empty.
pub fn age_seconds(stats: &SpoolStats) -> i64 {
    stats
        .oldest_received_at
        .map_or(0, |t| (crate::time::now() - t).num_seconds().max(0))
}

/// What the drain task needs.
pub struct Drain {
    /// The spool.
    pub spool: Arc<Spool>,
    /// Database pool.
    pub pool: Pool,
    /// Write health, shared with intake and readiness.
    pub health: WriteHealth,
    /// Takes turns with the other writers on SQLite.
    pub gate: WriteGate,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Wakes the apply worker after a commit.
    pub applied: Arc<Notify>,
}

impl Drain {
    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut last_report: Option<Instant> = None;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let stats = publish(&self.spool, &self.metrics);
            let down = self.health.down_reason().is_some();
            if stats.deliveries == 0 && !down {
                last_report = None;
                continue;
            }
            if stats.deliveries > 0 && last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
                tracing::warn!(
                    spool_dir = %self.spool.dir().display(),
                    spool_deliveries = stats.deliveries,
                    spool_bytes = stats.bytes,
                    oldest_age_seconds = age_seconds(&stats),
                    database_down = down,
                    "deliveries are waiting in the spool"
                );
                last_report = Some(Instant::now());
            }
            if self.health.check().await.is_err() || stats.deliveries == 0 {
                continue;
            }
            match self.drain().await {
                Ok(n) => {
                    let left = publish(&self.spool, &self.metrics);
                    tracing::info!(
                        drained = n,
                        spool_deliveries = left.deliveries,
                        "drained the spool into the database"
                    );
                }
                Err(e) => {
                    self.health.mark_down(&e);
                    tracing::warn!(error = %e, "spool drain stopped; it resumes when the database takes writes");
                }
            }
        }
    }

    /// Commits every sealed segment, oldest first; returns the deliveries committed.
    pub async fn drain(&self) -> Result<u64, String> {
        let mut total = 0u64;
        for sealed in self.spool.seal() {
            let spool = self.spool.clone();
            let seg = sealed.clone();
            let records = tokio::task::spawn_blocking(move || spool.read(&seg))
                .await
                .map_err(|e| format!("reading the spool panicked: {e}"))?
                .map_err(|e| e.to_string())?;
            for chunk in records.chunks(DRAIN_BATCH) {
                let deliveries: Vec<NewDelivery> = chunk
                    .iter()
                    .map(|r| NewDelivery::from_body(r.body.clone(), r.received_at))
                    .collect();
                let pool = self.pool.clone();
                let turn = self.gate.enter().await;
                let stored = tokio::task::spawn_blocking(move || commit_batch(&pool, &deliveries))
                    .await
                    .map_err(|e| format!("the spool drain panicked: {e}"))?
                    .map_err(|e| e.0)?;
                drop(turn);
                self.health.mark_ok();
                for s in &stored {
                    self.metrics.deliveries_received.inc();
                    if matches!(s, Stored::Duplicate(_)) {
                        self.metrics.deliveries_duplicate.inc();
                    }
                }
                total += stored.len() as u64;
                self.applied.notify_one();
            }
            self.spool.remove(sealed.seq).map_err(|e| e.to_string())?;
        }
        Ok(total)
    }
}
