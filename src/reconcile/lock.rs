//! At most one reconciliation per mirror, across processes.
//!
//! PostgreSQL: a session advisory lock held on a dedicated connection; it is released when the
//! connection closes, so a killed process never leaves it behind. SQLite: a lease row with an
//! expiry, renewed while the run lives; a killed process's lease lapses after [`LEASE`].

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::schema::leases;
use crate::db::with_backend;
use crate::db::OnlyIf;
use crate::db::{DbConn, Pool, PooledConn};
use crate::time::now;

/// How long a SQLite lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(20);
/// How often a held lease is renewed.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

const ADVISORY_KEY: i64 = 0x6163_6d69_7272;
const LEASE_NAME: &str = "reconcile";

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The held lock, released on drop (also when a run is abandoned at shutdown).
pub struct RunLock {
    kind: Option<Kind>,
}

enum Kind {
    // A mutex makes the held connection shareable between threads (the run is moved across
    // tasks); it is never contended.
    Advisory(Mutex<PooledConn>),
    Lease { pool: Pool, holder: String },
}

/// Releases handed to a blocking thread by `drop` and not finished yet, and the signal that one
/// finished. A new acquisition in this process waits for them (see [`RunLock::try_acquire`]).
static RELEASING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Longest an acquisition waits for this process's own releases in flight.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

fn releasing() -> std::sync::MutexGuard<'static, usize> {
    RELEASING.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits (on a blocking thread) until no release started by `drop` is in flight, or
/// [`RELEASE_WAIT`] has passed.
fn wait_for_releases() {
    let pending = releasing();
    let _ = RELEASING
        .1
        .wait_timeout_while(pending, RELEASE_WAIT, |n| *n > 0);
}

fn lease_expiry() -> NaiveDateTime {
    now() + chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::seconds(30))
}

impl RunLock {
    /// Takes the lock if it is free; `None` when another run holds it. Blocks while a lock this
    /// process dropped is still being released, so that a run started right after another was
    /// abandoned finds it free.
    pub fn try_acquire(pool: &Pool) -> anyhow::Result<Option<Self>> {
        wait_for_releases();
        let mut conn = pool.get()?;
        match &mut *conn {
            DbConn::Pg(c) => {
                let row: Locked = diesel::sql_query(format!(
                    "SELECT pg_try_advisory_lock({ADVISORY_KEY}) AS locked"
                ))
                .get_result(c)?;
                Ok(row.locked.then(|| Self {
                    kind: Some(Kind::Advisory(Mutex::new(conn))),
                }))
            }
            DbConn::Sqlite(_) => {
                let holder = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
                let taken = take_lease(&mut conn, &holder)?;
                Ok(taken.then(|| Self {
                    kind: Some(Kind::Lease {
                        pool: pool.clone(),
                        holder,
                    }),
                }))
            }
        }
    }

    /// Releases the lock now.
    pub fn release(mut self) -> anyhow::Result<()> {
        match self.kind.take() {
            Some(kind) => release(kind),
            None => Ok(()),
        }
    }

    /// A cheap handle for renewing from another task.
    pub fn renewer(&self) -> Option<(Pool, String)> {
        match &self.kind {
            Some(Kind::Lease { pool, holder }) => Some((pool.clone(), holder.clone())),
            _ => None,
        }
    }
}

impl Drop for RunLock {
    /// Releases the lock. Inside the runtime (a run abandoned at shutdown, a task aborted) the
    /// release goes to a blocking thread, so that no async worker thread waits on the database.
    fn drop(&mut self) {
        let Some(kind) = self.kind.take() else {
            return;
        };
        let release_logged = move || {
            if let Err(e) = release(kind) {
                tracing::warn!(error = %e, "failed to release the reconciliation lock");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                *releasing() += 1;
                drop(runtime.spawn_blocking(move || {
                    release_logged();
                    *releasing() -= 1;
                    RELEASING.1.notify_all();
                }));
            }
            Err(_) => release_logged(),
        }
    }
}

fn release(kind: Kind) -> anyhow::Result<()> {
    match kind {
        Kind::Advisory(conn) => {
            let mut conn = conn.into_inner().unwrap_or_else(PoisonError::into_inner);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({ADVISORY_KEY})"))
                .execute(&mut *conn)?;
        }
        Kind::Lease { pool, holder } => {
            let mut conn = pool.get()?;
            diesel::delete(
                leases::table
                    .filter(leases::name.eq(LEASE_NAME))
                    .filter(leases::holder.eq(holder)),
            )
            .execute(&mut conn)?;
        }
    }
    Ok(())
}

/// Renews a lease held by `holder`.
pub fn renew_lease(pool: &Pool, holder: &str) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    diesel::update(
        leases::table
            .filter(leases::name.eq(LEASE_NAME))
            .filter(leases::holder.eq(holder)),
    )
    .set(leases::expires_at.eq(lease_expiry()))
    .execute(&mut conn)?;
    Ok(())
}

/// A SQLite file lives on one machine, so a lease whose holder process no longer exists there
/// is stale at once, without waiting for it to expire (a killed `serve` restarts and resumes).
fn holder_is_gone(holder: &str) -> bool {
    let Some(pid) = holder.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    let proc_dir = std::path::Path::new("/proc");
    proc_dir.is_dir() && pid != std::process::id() && !proc_dir.join(pid.to_string()).exists()
}

fn take_lease(conn: &mut DbConn, holder: &str) -> QueryResult<bool> {
    let current: Option<String> = leases::table
        .filter(leases::name.eq(LEASE_NAME))
        .select(leases::holder)
        .first(conn)
        .optional()?;
    if let Some(stale) = current.filter(|h| holder_is_gone(h)) {
        tracing::info!(holder = %stale, "taking over the reconciliation lease of a process that no longer runs");
        diesel::delete(
            leases::table
                .filter(leases::name.eq(LEASE_NAME))
                .filter(leases::holder.eq(&stale)),
        )
        .execute(conn)?;
    }
    let row = (
        leases::name.eq(LEASE_NAME),
        leases::holder.eq(holder),
        leases::expires_at.eq(lease_expiry()),
    );
    let n = with_backend!(&mut *conn, |c| diesel::insert_into(leases::table)
        .values(&row)
        .on_conflict(leases::name)
        .do_update()
        .set((
            leases::holder.eq(holder),
            leases::expires_at.eq(lease_expiry())
        ))
        .only_if(leases::expires_at.lt(now()))
        .execute(c))?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_pool(dir: &tempfile::TempDir) -> Pool {
        let url =
            crate::db::DatabaseUrl::parse(&dir.path().join("m.db").to_string_lossy()).expect("url");
        let pool = crate::db::connect(&url, &crate::db::PoolOptions::default()).expect("pool");
        crate::db::migrate::run(&mut pool.get().expect("connection")).expect("migrated");
        pool
    }

    #[tokio::test(flavor = "current_thread")]
    async fn dropping_a_lock_never_blocks_the_runtime_thread() {
        use diesel::connection::SimpleConnection;
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = sqlite_pool(&dir);
        let lock = RunLock::try_acquire(&pool).expect("query").expect("free");
        // Before the lease would lapse by itself.
        let deadline = std::time::Instant::now() + LEASE / 2;
        // Another writer holds the file until this runtime's only thread tells it to let go.
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let writer_pool = pool.clone();
        let writer = std::thread::spawn(move || {
            let mut conn = writer_pool.get().expect("connection");
            let DbConn::Sqlite(c) = &mut *conn else {
                panic!("a SQLite pool");
            };
            c.batch_execute("BEGIN IMMEDIATE").expect("write lock");
            held_tx.send(()).expect("test waits");
            let _ = stop_rx.recv();
            c.batch_execute("COMMIT").expect("commit");
        });
        held_rx.await.expect("writer holds the lock");

        // Released inline, this would wait for the writer on the thread that must let it go.
        drop(lock);
        stop_tx.send(()).expect("writer waits");

        writer.join().expect("writer");
        let mut again = None;
        while again.is_none() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            again = RunLock::try_acquire(&pool).expect("query");
        }
        assert!(
            again.is_some(),
            "the dropped lock was released before its lease lapsed"
        );
    }
}
