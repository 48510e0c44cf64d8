//! Operator commands as library functions: what `status`, `events`, `replay` and
//! `register-webhook` compute and do, without their printing. The CLI in `crate::cli` renders
//! the results; `/admin/status` serves the same status document.

pub mod dashboard;
pub mod events;
pub mod register;
pub mod replay;
pub mod status;

use anyhow::Context;

use crate::config::Settings;
use crate::db::{self, DatabaseUrl, Pool, PoolOptions};

/// Opens an existing, current mirror for inspection or replay.
///
/// Unlike `serve` and `migrate` this never creates or upgrades anything: a missing SQLite
/// file or a schema behind this binary is an error that says to run `acmirror migrate`, so
/// that a mistyped `ACMIRROR_DATABASE_URL` does not quietly create an empty mirror.
pub fn open_mirror(settings: &Settings) -> anyhow::Result<Pool> {
    let url = &settings.database;
    if let DatabaseUrl::Sqlite(path) = url {
        if !std::path::Path::new(path).exists() {
            anyhow::bail!(
                "Failed to open the mirror: the SQLite file {path:?} does not exist; check ACMIRROR_DATABASE_URL, or create it with `acmirror migrate`"
            );
        }
    }
    let opts = PoolOptions {
        // A command needs one connection; a large pool would only hold PostgreSQL slots.
        max_size: 2,
        ..PoolOptions::default()
    };
    let pool = db::connect(url, &opts)?;
    let mut conn = pool
        .get()
        .with_context(|| format!("Failed to connect to the database {}", url.redacted()))?;
    if db::migrate::has_pending(&mut conn)? {
        anyhow::bail!(
            "Failed to open the mirror {}: its schema is older than this binary; run `acmirror migrate` first",
            url.redacted()
        );
    }
    drop(conn);
    Ok(pool)
}

/// A time stored by the mirror (naive UTC) as a UTC timestamp for display and JSON.
pub(crate) fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
