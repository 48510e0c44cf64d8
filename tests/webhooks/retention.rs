//! Retention: applied and ignored deliveries older than `ACMIRROR_RETENTION_DAYS` are pruned in
//! batches; failed, pending and recent ones stay. Runs on SQLite, and on PostgreSQL when
//! `ACMIRROR_TEST_DATABASE_URL` is set.

use std::time::Duration;

use acmirror::app::{open_database, Daemon};
use acmirror::db::schema::webhook_events as we;
use acmirror::db::{DbConn, Pool, WriteGate};
use acmirror::ops::status;
use acmirror::webhook::retention::{self, Retention};
use acmirror::webhook::store::{self, NewDelivery};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use tokio_util::sync::CancellationToken;

use acmirror_sim::harness::TestDb;

fn days_ago(days: i64) -> NaiveDateTime {
    (Utc::now() - chrono::Duration::days(days)).naive_utc()
}

/// Stores one delivery received at `received_at` with `status`; returns its id.
fn stored(conn: &mut DbConn, n: usize, received_at: NaiveDateTime, status: &str) -> i64 {
    let body = format!("type=update&date_time=2026-01-01T00:00:00-06:00&contact[id]={n}&contact[email]=c{n}%40example.com&n={n}");
    let d = NewDelivery::from_body(body.into_bytes(), received_at);
    let id = match store::insert(conn, &d).expect("stored") {
        store::Stored::New(id) => id,
        other => panic!("bodies are distinct and the database is up: {other:?}"),
    };
    diesel::update(we::table.find(id))
        .set(we::status.eq(status))
        .execute(conn)
        .expect("status set");
    id
}

/// Old rows in every status, and recent applied ones. Returns (ids to prune, ids to keep).
fn fill(pool: &Pool) -> (Vec<i64>, Vec<i64>) {
    let mut conn = pool.get().expect("connection");
    let (mut prune, mut keep) = (Vec::new(), Vec::new());
    for n in 0..25 {
        let status = if n % 5 == 0 { "ignored" } else { "applied" };
        prune.push(stored(&mut conn, n, days_ago(40 + n as i64), status));
    }
    keep.push(stored(&mut conn, 100, days_ago(90), "failed"));
    keep.push(stored(&mut conn, 101, days_ago(90), "pending"));
    keep.push(stored(&mut conn, 102, days_ago(29), "applied"));
    keep.push(stored(&mut conn, 103, days_ago(1), "ignored"));
    keep.push(stored(&mut conn, 104, days_ago(0), "applied"));
    (prune, keep)
}

fn remaining(pool: &Pool) -> Vec<i64> {
    let mut conn = pool.get().expect("connection");
    we::table
        .select(we::id)
        .order(we::id)
        .load(&mut conn)
        .expect("ids")
}

async fn open(db: &TestDb, extra: &[(&str, &str)]) -> Pool {
    open_database(&db.settings(extra))
        .await
        .expect("database")
        .0
}

#[tokio::test]
async fn old_applied_and_ignored_deliveries_are_pruned_and_the_rest_kept() {
    let db = TestDb::fresh();
    let pool = open(&db, &[]).await;
    let (_, keep) = fill(&pool);
    let gate = WriteGate::for_backend(db.settings(&[]).database.backend());
    let retention = Retention {
        batch: 4,
        pause: Duration::from_millis(1),
        ..Retention::days(30)
    };

    let deleted = retention::prune(&pool, &gate, &retention, &CancellationToken::new())
        .await
        .expect("prunes");

    assert_eq!(deleted, 25, "25 old applied/ignored rows, in batches of 4");
    assert_eq!(remaining(&pool), keep);
    // A second pass finds nothing: deletes are idempotent.
    let again = retention::prune(&pool, &gate, &retention, &CancellationToken::new())
        .await
        .expect("prunes");
    assert_eq!(again, 0);
}

#[tokio::test]
async fn zero_days_keeps_every_delivery() {
    let db = TestDb::fresh();
    let pool = open(&db, &[]).await;
    let (prune, keep) = fill(&pool);
    let gate = WriteGate::default();

    let deleted = retention::prune(&pool, &gate, &Retention::days(0), &CancellationToken::new())
        .await
        .expect("no-op");

    assert_eq!(deleted, 0);
    assert_eq!(remaining(&pool).len(), prune.len() + keep.len());
}

#[tokio::test]
async fn the_daemon_prunes_at_start_with_the_configured_retention() {
    let db = TestDb::fresh();
    let settings = db.settings(&[("ACMIRROR_RETENTION_DAYS", "7")]);
    let pool = open(&db, &[]).await;
    let (_, keep) = fill(&pool);
    // Kept by 30 days, pruned by 7.
    let recent_but_over_7 = keep[2];

    let daemon = Daemon::start(&settings, pool.clone(), Default::default(), 1)
        .await
        .expect("daemon starts");
    let mut left = remaining(&pool);
    for _ in 0..200 {
        if !left.contains(&recent_but_over_7) && left.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = remaining(&pool);
    }
    daemon.stop().await;

    let expected: Vec<i64> = keep
        .into_iter()
        .filter(|id| *id != recent_but_over_7)
        .collect();
    assert_eq!(left, expected, "failed, pending and the last 7 days stay");
}

#[tokio::test]
async fn status_shows_the_size_and_the_oldest_stored_delivery() {
    let db = TestDb::fresh();
    let settings = db.settings(&[]);
    let pool = open(&db, &[]).await;
    fill(&pool);
    let mut conn = pool.get().expect("connection");

    let doc = status::collect(&mut conn, &settings).expect("status");

    let s = &doc.webhook_storage;
    assert_eq!(s.rows, 30);
    assert!(s.bytes.is_some_and(|b| b > 0), "{s:?}");
    assert_eq!(
        s.size_of, "table",
        "PostgreSQL and the bundled SQLite both tell: {s:?}"
    );
    let oldest = s.oldest_received_at.expect("rows exist").naive_utc();
    let expected = days_ago(90);
    assert!(
        (oldest - expected).num_seconds().abs() < 60,
        "{oldest} vs {expected}"
    );
    let json = serde_json::to_value(&doc).expect("serialises");
    assert_eq!(json["webhook_storage"]["rows"], 30);
    let text = acmirror::cli::status::render_text(&doc);
    assert!(text.contains("30 rows"), "{text}");
}
