//! Apply: events applied per second from a backlog of stored deliveries, and the apply lag
//! (commit of the delivery to commit of its effect) while intake runs at a fixed rate.
//!
//! `cargo bench --bench apply -- [--backlog 100000] [--seconds 60] [--rate R] [--lag-only | --backlog-only]`
//!
//! Without `--rate`, the lag run first measures the maximum intake on each backend (10 s,
//! unpaced) and offers half of it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acmirror::db::schema::webhook_events as we;
use acmirror::db::{write_tx, Pool};
use acmirror::metrics::Metrics;
use acmirror::webhook::store::{insert, NewDelivery};
use acmirror::webhook::worker;
use acmirror_sim::harness::bench::{self, arg, flag, heading, percentile};
use acmirror_sim::harness::load::{self, Load};
use acmirror_sim::harness::{with_conn, TestDb, SECRET};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// Stores `n` distinct deliveries as the intake would (not timed).
async fn fill_backlog(pool: &Pool, n: u64) {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        let now = acmirror::time::now();
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

async fn backlog(db: &TestDb, n: u64) {
    let pool = db.open().await;
    fill_backlog(&pool, n).await;
    if db.label() == "SQLite" {
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
        db.label(),
        done.claimed as f64 / secs,
        done.applied,
        done.ignored,
        done.failed
    );
}

/// Deliveries stored but not applied yet.
async fn pending(pool: &Pool) -> i64 {
    with_conn(pool, |c| {
        we::table
            .filter(we::status.eq("pending"))
            .count()
            .get_result(c)
            .expect("count")
    })
    .await
}

/// The most deliveries `serve` acknowledges per second on this backend: an unpaced 10 s run.
async fn max_intake(db: &TestDb) -> f64 {
    let daemon = db.daemon(&[]).await;
    let report = load::run(Load {
        url: format!("http://{}/webhooks/activecampaign/{SECRET}", daemon.addr),
        connections: 64,
        duration: Duration::from_secs(10),
        rate: None,
        run: 2,
    })
    .await;
    daemon.stop().await;
    println!(
        "maximum intake on {:<10}: {}",
        db.label(),
        report.line().trim()
    );
    report.rate()
}

/// Paced intake at `rate` (half the maximum unless `--rate` says) for `seconds`: the backlog
/// sampled every 100 ms while it runs, the time it takes to drain once the load stops, and the
/// lag of every delivery from its rows.
async fn lag(make: fn() -> TestDb, rate: Option<f64>, seconds: u64) {
    let rate = match rate {
        Some(r) => r,
        None => max_intake(&make()).await / 2.0,
    };
    let db = make();
    let daemon = db.daemon(&[]).await;
    let url = format!("http://{}/webhooks/activecampaign/{SECRET}", daemon.addr);
    let pool = daemon.pool.clone();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn({
        let (pool, sampling) = (pool.clone(), sampling.clone());
        async move {
            let mut most = 0i64;
            while sampling.load(Ordering::Relaxed) {
                most = most.max(pending(&pool).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            most
        }
    });
    let report = load::run(Load {
        url,
        connections: 64,
        duration: Duration::from_secs(seconds),
        rate: Some(rate),
        run: 3,
    })
    .await;
    let stopped = Instant::now();
    sampling.store(false, Ordering::Relaxed);
    let most = sampler.await.expect("sampler");
    let mut drained = None;
    for _ in 0..3_000 {
        if pending(&pool).await == 0 {
            drained = Some(stopped.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
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
    let accepted = report.rate().max(1.0);
    println!(
        "apply lag on {:<10} at {:>5.0} deliveries/s offered for {seconds} s: intake {}",
        db.label(),
        rate,
        report.line().trim()
    );
    println!(
        "  backlog at most {most} deliveries = {:.2} s of intake; drained to 0 in {} after the load stopped; applied {} of {}; lag p50 {} ms, p99 {} ms, max {} ms",
        most as f64 / accepted,
        drained.map_or("more than 30 s".to_owned(), |d| format!("{:.2} s", d.as_secs_f64())),
        lags.len(),
        rows.len(),
        percentile(&lags, 50.0),
        percentile(&lags, 99.0),
        percentile(&lags, 100.0)
    );
}

#[tokio::main]
async fn main() {
    load::child().await;
    let n = arg("--backlog", 100_000u64);
    let seconds = arg("--seconds", 60u64);
    let rate = arg("--rate", 0.0f64);
    let rate = (rate > 0.0).then_some(rate);
    if !flag("--lag-only") {
        backlogs(n).await;
    }
    if flag("--backlog-only") {
        return;
    }
    heading(&format!(
        "Apply lag while intake runs at {} for {seconds} s",
        rate.map_or("half the maximum intake".to_owned(), |r| format!(
            "{r:.0} deliveries/s"
        ))
    ));
    for make in bench::backends() {
        lag(make, rate, seconds).await;
    }
}

async fn backlogs(n: u64) {
    heading(&format!("Apply: a backlog of {n} stored deliveries"));
    let sizes: Vec<usize> = (0..300).map(|i| load::body(9, 0, i).len()).collect();
    println!(
        "delivery bodies: {} to {} bytes (7 tags, 14 custom fields; every one unique)",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    );
    for make in bench::backends() {
        backlog(&make(), n).await;
    }
}
