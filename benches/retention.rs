//! Intake latency while retention prunes a large `webhook_events`: fills the table with old
//! `applied` deliveries (10 million by default), then loads the daemon's webhook endpoint at
//! a paced rate with realistic bodies, once with retention off and once while the pruner
//! deletes old rows, and compares p99.
//!
//! `cargo bench --bench retention -- [--rows 10000000] [--seconds 20] [--rate 1000]
//!  [--connections 64] [--postgres]`

use std::time::Duration;

use acmirror::app::Daemon;
use acmirror::config::Settings;
use acmirror::db::schema::webhook_events as we;
use acmirror::db::{DbConn, Pool};
use acmirror_sim::harness::bench::{self, arg, flag, heading};
use acmirror_sim::harness::load::{self, Load, LoadReport};
use acmirror_sim::harness::{with_conn, TestDb, SECRET, WORKERS};
use diesel::prelude::*;

/// Rows inserted per statement while filling.
const FILL_CHUNK: i64 = 250_000;

/// Filler rows: `update` deliveries of distinct contacts, 60 to 61 days old, ~600-byte bodies.
/// Hashes are sequential (`old…n`) and times increase with n, so every index is appended to.
fn fill_sql(conn: &DbConn, from: i64, to: i64) -> String {
    let bench::Series { with, from: source } = bench::series(conn, from, to);
    match conn {
        DbConn::Sqlite(_) => format!(
            "{with}INSERT INTO webhook_events (body_sha256, event_type, occurred_at, received_at, \
               last_received_at, initiated_from, contact_id, status, deliveries, applied_at, body) \
             SELECT printf('old%061d', n), 'update', t, t, t, 'admin', n, 'applied', 1, t, \
               CAST('type=update&date_time=2026-10-01T10%3A00%3A00-05%3A00&initiated_from=admin&contact%5Bid%5D=' \
                 || n || '&contact%5Bemail%5D=person' || n || '%40example.com&contact%5Bfirst_name%5D=Ada&pad=' \
                 || substr(hex(zeroblob(240)), 1, 480) AS BLOB) \
             FROM (SELECT n, strftime('%Y-%m-%d %H:%M:%f', 'now', '-61 days', '+' || (n / 200) || ' seconds') AS t FROM {source})"
        ),
        DbConn::Pg(_) => format!(
            "INSERT INTO webhook_events (body_sha256, event_type, occurred_at, received_at, \
               last_received_at, initiated_from, contact_id, status, deliveries, applied_at, body) \
             SELECT 'old' || lpad(n::text, 61, '0'), 'update', t, t, t, 'admin', n, 'applied', 1, t, \
               convert_to('type=update&date_time=2026-10-01T10%3A00%3A00-05%3A00&initiated_from=admin&contact%5Bid%5D=' \
                 || n || '&contact%5Bemail%5D=person' || n || '%40example.com&contact%5Bfirst_name%5D=Ada&pad=' \
                 || repeat('0', 480), 'UTF8') \
             FROM (SELECT n, (now() AT TIME ZONE 'UTC') - interval '61 days' + (n / 200) * interval '1 second' AS t \
                   FROM {source}) AS g"
        ),
    }
}

fn settings(db: &TestDb, retention_days: &str) -> Settings {
    db.settings(&[("ACMIRROR_RETENTION_DAYS", retention_days)])
}

async fn count(pool: &Pool) -> i64 {
    with_conn(pool, |c| we::table.count().get_result(c).expect("count")).await
}

/// Runs the paced load against a daemon with the given retention; returns the report and
/// how many rows the table lost meanwhile (rows deleted − deliveries stored).
async fn measure(db: &TestDb, pool: &Pool, retention_days: &str, run: u64) -> (LoadReport, i64) {
    let before = count(pool).await;
    let s = settings(db, retention_days);
    let daemon = Daemon::start(&s, pool.clone(), Default::default(), WORKERS)
        .await
        .expect("daemon starts");
    let url = format!("http://{}/webhooks/activecampaign/{SECRET}", daemon.addr);
    let report = load::run(Load {
        url,
        connections: arg("--connections", 64),
        duration: Duration::from_secs(arg("--seconds", 20)),
        rate: Some(arg("--rate", 1000.0)),
        run,
    })
    .await;
    daemon.stop().await;
    let after = count(pool).await;
    let pruned = before + report.ok as i64 - after;
    (report, pruned)
}

#[tokio::main]
async fn main() {
    load::child().await;
    let rows: i64 = arg("--rows", 10_000_000);
    let db = if flag("--postgres") {
        bench::postgres()
    } else {
        bench::sqlite()
    };
    heading(&format!(
        "Intake while pruning, {}: {rows} old applied deliveries, {} req/s paced over {} connections, {} s per run",
        db.label(),
        arg("--rate", 1000.0),
        arg("--connections", 64),
        arg("--seconds", 20)
    ));
    let sizes: Vec<usize> = (0..300).map(|i| load::body(1, 0, i).len()).collect();
    println!(
        "delivery bodies: {} to {} bytes",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    );
    let pool = db.open().await;
    bench::fill(&pool, rows, FILL_CHUNK, true, fill_sql).await;
    settle(&pool).await;

    // Baseline on both sides of the pruning run, so that drift shows.
    let (off, _) = measure(&db, &pool, "0", 1).await;
    println!("retention off           : {}", off.line());
    let (on, pruned) = measure(&db, &pool, "30", 2).await;
    println!("retention on (pruning)  : {}", on.line());
    let (again, _) = measure(&db, &pool, "0", 3).await;
    println!("retention off again     : {}", again.line());
    println!(
        "  pruned {pruned} rows during the run ({:.0} rows/s); p99 with pruning / without = {:.2} (before) {:.2} (after)",
        pruned as f64 / on.elapsed.as_secs_f64(),
        on.p(99.0) / off.p(99.0),
        on.p(99.0) / again.p(99.0)
    );
}

/// Leaves the filled table as a long-running database has it: statistics gathered and the
/// fill's writes checkpointed, so that neither lands in the first measurement.
async fn settle(pool: &Pool) {
    with_conn(pool, |c| {
        let sql = match c {
            DbConn::Sqlite(_) => "PRAGMA wal_checkpoint(TRUNCATE)",
            DbConn::Pg(_) => "VACUUM ANALYZE webhook_events",
        };
        diesel::sql_query(sql).execute(c).expect("settle");
        if let DbConn::Pg(_) = c {
            diesel::sql_query("CHECKPOINT")
                .execute(c)
                .expect("checkpoint");
        }
    })
    .await;
}
