//! Shared parts of the benchmarks: databases, a daemon, the load generator and reporting.
//!
//! Benchmarks are plain binaries (`harness = false`): they print figures, they assert nothing
//! about time, and CI never runs them.

#![allow(dead_code)]

pub mod load;

use std::collections::HashMap;
use std::time::Duration;

use acmirror::app::{open_database, Daemon, Plugins};
use acmirror::config::{Settings, SettingsArgs};
use acmirror::db::Pool;
use diesel::{Connection, RunQueryDsl};

/// The webhook secret of bench daemons.
pub const SECRET: &str = "bench-secret-0123456789";

/// HTTP worker threads of every server under test: one per core of the 2-core bench machine.
pub const WORKERS: usize = 2;

/// The PostgreSQL server to create bench databases on (`ACMIRROR_BENCH_PG`, default the local
/// trust-auth server). Set it to an empty string to skip PostgreSQL figures.
pub fn pg_base() -> Option<String> {
    match std::env::var("ACMIRROR_BENCH_PG") {
        Ok(v) if v.is_empty() => None,
        Ok(v) => Some(v),
        Err(_) => Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    }
}

/// A database that lives as long as the value: a SQLite file in a temporary directory, or a
/// PostgreSQL database dropped at the end.
pub struct BenchDb {
    /// `ACMIRROR_DATABASE_URL` of it.
    pub url: String,
    /// "SQLite" or "PostgreSQL", for reports.
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl BenchDb {
    /// A fresh SQLite file on the same disk as the build (not a tmpfs: fsync must be real).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let url = dir.path().join("bench.db").to_string_lossy().into_owned();
        Self {
            url,
            label: "SQLite",
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A fresh PostgreSQL database on `base`'s server.
    pub fn postgres(base: &str) -> Self {
        let name = format!("acm_bench_{:016x}", rand::random::<u64>());
        let mut admin = diesel::PgConnection::establish(base).expect("PostgreSQL reachable");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create bench database");
        let cut = base.rfind('/').expect("a database path in the URL");
        Self {
            url: format!("{}/{name}", &base[..cut]),
            label: "PostgreSQL",
            _dir: None,
            pg: Some((base.to_owned(), name)),
        }
    }

    /// Every backend to measure: SQLite unless `ACMIRROR_BENCH_SQLITE` is set to an empty
    /// string, then PostgreSQL unless disabled.
    pub fn all() -> Vec<fn() -> BenchDb> {
        let mut out: Vec<fn() -> BenchDb> = Vec::new();
        if std::env::var("ACMIRROR_BENCH_SQLITE").map_or(true, |v| !v.is_empty()) {
            out.push(BenchDb::sqlite);
        }
        if pg_base().is_some() {
            out.push(|| BenchDb::postgres(&pg_base().expect("checked")));
        }
        out
    }

    /// Settings of a daemon on this database, with no schedules and no API.
    pub fn settings(&self) -> Settings {
        let env: HashMap<String, String> = HashMap::from([
            ("ACMIRROR_DATABASE_URL".to_owned(), self.url.clone()),
            ("ACMIRROR_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("ACMIRROR_WEBHOOK_SECRET".to_owned(), SECRET.to_owned()),
            ("ACMIRROR_RECONCILE_CRON".to_owned(), String::new()),
            ("ACMIRROR_FULL_SYNC_CRON".to_owned(), String::new()),
        ]);
        Settings::load(&SettingsArgs::default(), &|k| env.get(k).cloned())
            .expect("bench settings are valid")
    }

    /// Opens the pool and migrates.
    pub async fn open(&self) -> Pool {
        open_database(&self.settings())
            .await
            .expect("database opens")
            .0
    }

    /// Starts a daemon (intake writer, apply worker, HTTP server) on this database.
    pub async fn daemon(&self) -> Daemon {
        let pool = self.open().await;
        Daemon::start(
            &self.settings(),
            pool,
            Default::default(),
            Plugins::default(),
            WORKERS,
        )
        .await
        .expect("daemon starts")
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = diesel::PgConnection::establish(base) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// Runs a blocking closure on a pooled connection.
pub async fn with_conn<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut acmirror::db::DbConn) -> T + Send + 'static,
) -> T {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || f(&mut pool.get().expect("connection")))
        .await
        .expect("no panic")
}

/// `--name value` from the bench's arguments (after `cargo bench --bench X --`).
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .find(|w| w[0] == name)
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(default)
}

/// True when `--flag` is among the arguments.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Prints a section heading.
pub fn heading(text: &str) {
    println!("\n## {text}");
}

/// Formats a duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
