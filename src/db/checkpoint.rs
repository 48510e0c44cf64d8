//! Write-ahead-log checkpoints on SQLite, off the commit path.
//!
//! SQLite appends every commit to the WAL file and copies the log back into the database file
//! (a checkpoint, with an fsync of the database file) when a commit leaves more than
//! `wal_autocheckpoint` pages in the log. That copy runs inside whichever commit crossed the
//! threshold, usually the intake writer's, since it commits most often; a delivery's 200 then
//! waits for it. `serve` therefore runs passive checkpoints from their own task every
//! [`EVERY`]: a passive checkpoint copies what no reader still needs, beside the writers,
//! without taking the write lock. The automatic checkpoint stays as the fallback for when this
//! task falls behind (and for commands that run without it).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use tokio_util::sync::CancellationToken;

use super::{DbConn, Pool};

/// Time between two passive checkpoints.
pub const EVERY: Duration = Duration::from_millis(200);

/// Longest the task waits for a connection; a busy pool skips a turn.
const CONNECTION_WAIT: Duration = Duration::from_millis(50);

/// Copies the log into the database file as far as readers allow, without blocking writers
/// (SQLite; nothing on PostgreSQL). A failure leaves the work to the automatic checkpoint.
pub fn passive(conn: &mut DbConn) {
    if let DbConn::Sqlite(c) = conn {
        if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::debug!(error = %e, "passive checkpoint failed");
        }
    }
}

/// Runs passive checkpoints every [`EVERY`] until `stop` (SQLite).
pub async fn run(pool: Pool, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        let pool = pool.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(mut conn) = pool.get_timeout(CONNECTION_WAIT) {
                passive(&mut conn);
            }
        })
        .await;
    }
}
