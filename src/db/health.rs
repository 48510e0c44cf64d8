//! Whether the database can take a write right now, known fast.
//!
//! The state is fed by the intake writer's own commits (a success or a failure is news) and by
//! a cheap write probe: one upsert of a row in `acmirror_meta`, through a connection checked out
//! with a short timeout and bounded as a whole by [`PROBE_TIMEOUT`]. Nothing that reads the
//! state ever waits on the pool's 30 s timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::schema::acmirror_meta::dsl as m;
use super::{write_tx, DbConn, Pool};
use crate::db::with_backend;

/// Longest a write probe waits for a connection; the whole probe is bounded by twice this.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// A successful write younger than this makes a new probe unnecessary.
pub const FRESH: Duration = Duration::from_secs(1);
/// While the database is known down, a failed probe younger than this is answered from cache.
pub const RETRY: Duration = Duration::from_secs(1);
/// Key of the row the probe writes.
const PROBE_KEY: &str = "write_probe";

/// One upsert that only succeeds when the database accepts a durable write, and a check that
/// the schema is current.
pub fn probe_write(conn: &mut DbConn) -> anyhow::Result<()> {
    let now = crate::time::now().and_utc().to_rfc3339();
    write_tx(conn, |c| {
        with_backend!(&mut *c, |c| diesel::insert_into(m::acmirror_meta)
            .values((m::key.eq(PROBE_KEY), m::value.eq(&now)))
            .on_conflict(m::key)
            .do_update()
            .set(m::value.eq(&now))
            .execute(c))
    })
    .map_err(|e| anyhow::anyhow!("the database refused a write: {e}"))?;
    if super::migrate::has_pending(conn)? {
        anyhow::bail!("the schema is not current; run `acmirror migrate`");
    }
    Ok(())
}

#[derive(Debug)]
struct State {
    /// Why the last write failed; `None` after a success.
    down: Option<String>,
    last_ok: Option<Instant>,
    last_failure: Option<Instant>,
}

/// The cached write-health of the database, shared by intake, readiness and the spool drain.
#[derive(Clone)]
pub struct WriteHealth {
    state: Arc<Mutex<State>>,
    probing: Arc<AtomicBool>,
    pool: Pool,
}

impl WriteHealth {
    /// Starts healthy (start-up has just written to the database).
    pub fn new(pool: Pool) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                down: None,
                last_ok: Some(Instant::now()),
                last_failure: None,
            })),
            probing: Arc::new(AtomicBool::new(false)),
            pool,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a committed write.
    pub fn mark_ok(&self) {
        let mut s = self.lock();
        if let Some(why) = s.down.take() {
            tracing::info!(was = %why, "the database takes writes again");
        }
        s.last_ok = Some(Instant::now());
    }

    /// Records a failed write and why.
    pub fn mark_down(&self, why: &str) {
        let mut s = self.lock();
        if s.down.is_none() {
            tracing::error!(reason = %why, "the database cannot take writes");
        }
        s.down = Some(why.to_owned());
        s.last_failure = Some(Instant::now());
    }

    /// Why the database cannot take writes, if it is known not to.
    pub fn down_reason(&self) -> Option<String> {
        self.lock().down.clone()
    }

    /// `Ok` when the database took a write within [`FRESH`] or takes the probe now; the reason
    /// otherwise. A failure younger than [`RETRY`] is answered from cache. Returns within
    /// about twice [`PROBE_TIMEOUT`]. Concurrent callers share one probe: while one runs, the
    /// others answer from the cached state.
    pub async fn check(&self) -> Result<(), String> {
        {
            let s = self.lock();
            match &s.down {
                None if s.last_ok.is_some_and(|t| t.elapsed() < FRESH) => return Ok(()),
                Some(why) if s.last_failure.is_some_and(|t| t.elapsed() < RETRY) => {
                    return Err(why.clone())
                }
                _ => {}
            }
        }
        if self.probing.swap(true, Ordering::AcqRel) {
            return match self.down_reason() {
                Some(why) => Err(why),
                None => Ok(()),
            };
        }
        let result = self.probe().await;
        self.probing.store(false, Ordering::Release);
        match &result {
            Ok(()) => self.mark_ok(),
            Err(why) => self.mark_down(why),
        }
        result
    }

    async fn probe(&self) -> Result<(), String> {
        let pool = self.pool.clone();
        let task = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut conn = pool.get_timeout(PROBE_TIMEOUT).map_err(|e| {
                anyhow::anyhow!("no database connection within {PROBE_TIMEOUT:?}: {e}")
            })?;
            probe_write(&mut conn)
        });
        match tokio::time::timeout(PROBE_TIMEOUT * 2, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("{e:#}")),
            Ok(Err(e)) => Err(format!("the write probe failed: {e}")),
            Err(_) => Err(format!(
                "the database did not take a write within {:?}",
                PROBE_TIMEOUT * 2
            )),
        }
    }
}
