//! What the benchmarks share besides databases and daemons: their backends, their arguments,
//! and how they report. Benchmarks are plain binaries (`harness = false`): they print figures
//! beside a baseline measured in the same run, they assert nothing about time, and CI never
//! runs them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use acmirror::db::{DbConn, Pool};
use diesel::RunQueryDsl;

use super::{with_conn, TestDb};

/// The PostgreSQL server to create bench databases on (`ACMIRROR_BENCH_PG`, default the local
/// trust-auth server). Set it to an empty string to skip PostgreSQL figures.
pub fn pg_base() -> Option<String> {
    match std::env::var("ACMIRROR_BENCH_PG") {
        Ok(v) if v.is_empty() => None,
        Ok(v) => Some(v),
        Err(_) => Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    }
}

/// A fresh SQLite file on the build's disk, not a tmpfs, so that fsync is real: under
/// `ACMIRROR_BENCH_DIR`, by default `target/tmp` of the package (`cargo bench` runs there).
pub fn sqlite() -> TestDb {
    let dir = std::env::var_os("ACMIRROR_BENCH_DIR")
        .map_or_else(|| PathBuf::from("target/tmp"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the bench folder can be created");
    TestDb::sqlite_in(&dir)
}

/// A fresh database on the PostgreSQL server of `ACMIRROR_BENCH_PG`.
pub fn postgres() -> TestDb {
    TestDb::postgres(&pg_base().expect("ACMIRROR_BENCH_PG is not empty"))
}

/// Every backend to measure: SQLite unless `ACMIRROR_BENCH_SQLITE` is set to an empty string,
/// then PostgreSQL unless `ACMIRROR_BENCH_PG` is.
pub fn backends() -> Vec<fn() -> TestDb> {
    let mut out: Vec<fn() -> TestDb> = Vec::new();
    if std::env::var("ACMIRROR_BENCH_SQLITE").map_or(true, |v| !v.is_empty()) {
        out.push(sqlite);
    }
    if pg_base().is_some() {
        out.push(postgres);
    }
    out
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

/// Where generated rows come from: the numbers `n` of a range, written as each backend makes
/// them fastest. A statement reads `{with}INSERT INTO t (…) SELECT … FROM {from}`, its
/// expressions over `n`.
pub struct Series {
    /// What goes before `INSERT`: a recursive CTE on SQLite, nothing on PostgreSQL.
    pub with: String,
    /// The row source: the CTE on SQLite, `generate_series` on PostgreSQL.
    pub from: String,
}

/// The numbers `from..=to` as a row source for `conn`'s backend.
pub fn series(conn: &DbConn, from: i64, to: i64) -> Series {
    match conn {
        DbConn::Sqlite(_) => Series {
            with: format!(
                "WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to}) "
            ),
            from: "s".to_owned(),
        },
        DbConn::Pg(_) => Series {
            with: String::new(),
            from: format!("generate_series({from}::bigint, {to}::bigint) AS s(n)"),
        },
    }
}

/// Inserts `rows` generated rows, `chunk` per statement: `sql(conn, from, to)` is the
/// statement for the rows numbered `from..=to` (from 1). One `INSERT … SELECT` per chunk keeps
/// the rows inside the database server: 10 million take about two minutes on either backend.
/// Prints progress per million rows when `progress`; returns the time taken.
pub async fn fill<F>(pool: &Pool, rows: i64, chunk: i64, progress: bool, sql: F) -> Duration
where
    F: Fn(&DbConn, i64, i64) -> String + Clone + Send + 'static,
{
    let started = Instant::now();
    let mut done = 0;
    while done < rows {
        let to = (done + chunk).min(rows);
        let from = done + 1;
        let sql = sql.clone();
        with_conn(pool, move |c| {
            let statement = sql(c, from, to);
            diesel::sql_query(statement)
                .execute(c)
                .unwrap_or_else(|e| panic!("fill rows {from} to {to}: {e}"))
        })
        .await;
        done = to;
        if progress && (done % 1_000_000 == 0 || done == rows) {
            println!(
                "  filled {done} rows in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    started.elapsed()
}
