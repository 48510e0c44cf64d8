//! Apply: events applied per second from a backlog of stored deliveries, and the apply lag
//! (commit of the delivery to commit of its effect) while intake runs at a fixed rate.
//!
//! `cargo bench --bench apply -- [--backlog 100000] [--rate 5000] [--seconds 15]`

mod support;

use std::time::{Duration, Instant};

use acmirror::db::schema::webhook_events as we;
use acmirror::db::{write_tx, Pool};
use acmirror::metrics::Metrics;
use acmirror::webhook::store::{insert, NewDelivery};
use acmirror::webhook::worker;
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use support::load::{self, Load};
use support::{arg, heading, percentile, with_conn, BenchDb, SECRET};

/// Stores `n` distinct deliveries as the intake would (not timed).
async fn fill_backlog(pool: &Pool, n: u64) {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        let now = acmirror::mirror::now();
        for start in (0..n).step_by(5_000) {
            let end = (start + 5_000).min(n);
            write_tx(&mut conn, |c| {
                for seq in start..end {
                    let task = (seq % 64) as usize;
                    let d = NewDelivery::from_body(load::body(9, task, seq).into_bytes(), now);
                    insert(c, &d)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .expect("backlog stored");
        }
    })
    .await
    .expect("no panic");
}

/// Baseline: how fast this SQLite file takes plain rows, written by SQLite itself (a
/// recursive CTE, no statement per row), in one transaction.
async fn raw_sqlite_rows(pool: &Pool, n: u64) -> f64 {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        let sql = format!(
            "CREATE TABLE scratch (id INTEGER PRIMARY KEY, email TEXT, name TEXT, at TEXT);
             BEGIN IMMEDIATE;
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
             INSERT INTO scratch SELECT i, 'person' || i || '@example.com', 'Ada', datetime('now') FROM s;
             COMMIT; DROP TABLE scratch;"
        );
        let t = Instant::now();
        conn.batch_execute(&sql).expect("scratch rows");
        n as f64 / t.elapsed().as_secs_f64()
    })
    .await
    .expect("no panic")
}

async fn backlog(db: &BenchDb, n: u64) {
    let pool = db.open().await;
    fill_backlog(&pool, n).await;
    if db.label == "SQLite" {
        let raw = raw_sqlite_rows(&pool, n).await;
        println!("baseline, plain SQLite rows in one transaction: {raw:>9.0} rows/s");
    }
    let p = pool.clone();
    let t = Instant::now();
    let done = tokio::task::spawn_blocking(move || worker::drain(&p, &Metrics::new()))
        .await
        .expect("no panic")
        .expect("drain");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "apply backlog on {:<10}: {:>9.0} deliveries/s ({} applied, {} ignored, {} failed in {secs:.1} s)",
        db.label,
        done.claimed as f64 / secs,
        done.applied,
        done.ignored,
        done.failed
    );
}

/// Paced intake at `rate` for `seconds`, then the lag of every delivery from its rows.
async fn lag(db: &BenchDb, rate: f64, seconds: u64) {
    let daemon = db.daemon().await;
    let url = format!("http://{}/webhooks/activecampaign/{SECRET}", daemon.addr);
    let pool = daemon.pool.clone();
    let report = load::run(Load {
        url,
        connections: 64,
        duration: Duration::from_secs(seconds),
        rate: Some(rate),
        run: 3,
    })
    .await;
    // Let the worker finish what the last second queued before stopping.
    for _ in 0..300 {
        let pending: i64 = with_conn(&pool, |c| {
            we::table
                .filter(we::status.eq("pending"))
                .count()
                .get_result(c)
                .expect("count")
        })
        .await;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.stop().await;
    let rows: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = with_conn(&pool, |c| {
        we::table
            .select((we::received_at, we::applied_at))
            .load(c)
            .expect("rows")
    })
    .await;
    let mut lags: Vec<u32> = rows
        .iter()
        .filter_map(|(r, a)| a.map(|a| (a - *r).num_milliseconds().max(0) as u32))
        .collect();
    lags.sort_unstable();
    println!(
        "apply lag on {:<10} at {:>5.0} deliveries/s offered: intake {}; applied {} of {}; lag p50 {} ms, p99 {} ms, max {} ms",
        db.label,
        rate,
        report.line().trim(),
        lags.len(),
        rows.len(),
        percentile(&lags, 50.0),
        percentile(&lags, 99.0),
        percentile(&lags, 100.0)
    );
}

#[tokio::main]
async fn main() {
    support::load::child().await;
    let n = arg("--backlog", 100_000u64);
    heading(&format!("Apply: a backlog of {n} stored deliveries"));
    let sizes: Vec<usize> = (0..300).map(|i| load::body(9, 0, i).len()).collect();
    println!(
        "delivery bodies: {} to {} bytes (7 tags, 14 custom fields; every one unique)",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    );
    for make in BenchDb::all() {
        backlog(&make(), n).await;
    }
    let rate = arg("--rate", 5_000.0f64);
    let seconds = arg("--seconds", 15u64);
    heading(&format!(
        "Apply lag while intake runs at {rate:.0} deliveries/s for {seconds} s"
    ));
    for make in BenchDb::all() {
        lag(&make(), rate, seconds).await;
    }
}
