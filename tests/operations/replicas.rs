//! Several daemons on one database (PostgreSQL in production; the same guarantees hold on a
//! shared SQLite file): each delivery is applied exactly once, one reconciliation runs at a
//! time, and schedules do not double-fire.

use std::sync::Arc;
use std::time::Duration;

use acmirror::app::{open_database, Daemon};
use acmirror::metrics::Metrics;
use acmirror::reconcile::{
    schedule, LogProgress, Mode, Reconciler, RunRequest, StartError, Trigger,
};
use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig};
use acmirror_sim::harness::{fixtures::form, sim_client, TestDb, SECRET};
use diesel::prelude::*;

async fn daemon(db: &TestDb) -> Daemon {
    let settings = db.settings(&[]);
    let (pool, _) = open_database(&settings).await.expect("database");
    Daemon::start(&settings, pool, Arc::new(Metrics::new()), 2)
        .await
        .expect("daemon")
}

fn note(i: usize) -> String {
    form(&format!(
        "type=subscriber_note\ndate_time=2026-02-01T10:00:{:02}-06:00\ninitiated_from=admin\ninitiated_by=admin\nlist=0\nnote=note {i}\ncontact[id]={}\ncontact[email]=c{i}@example.com\ncontact[first_name]=C\ncontact[last_name]=\ncontact[tags]=",
        i % 60,
        1000 + i
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_delivery_is_applied_exactly_once_across_replicas() {
    let db = TestDb::fresh();
    let a = daemon(&db).await;
    let b = daemon(&db).await;
    let client = reqwest::Client::new();
    let n = 120;
    // Every delivery reaches both replicas at once: the worst case of duplicates racing.
    let posts = (0..n).flat_map(|i| {
        let body = note(i);
        [a.addr, b.addr].map(|addr| {
            let (client, body) = (client.clone(), body.clone());
            async move {
                client
                    .post(format!("http://{addr}/webhooks/activecampaign/{SECRET}"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .expect("request")
                    .status()
                    .as_u16()
            }
        })
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200));
    let pool = a.pool.clone();
    let mut rows = (0, 0, 0);
    for _ in 0..200 {
        let p = pool.clone();
        rows = tokio::task::spawn_blocking(move || {
            use acmirror::db::schema::{contact_notes, webhook_events as we};
            let mut c = p.get().expect("conn");
            let events: i64 = we::table.count().get_result(&mut *c).expect("q");
            let applied: i64 = we::table
                .filter(we::status.eq("applied"))
                .count()
                .get_result(&mut *c)
                .expect("q");
            let notes: i64 = contact_notes::table.count().get_result(&mut *c).expect("q");
            (events, applied, notes)
        })
        .await
        .expect("no panic");
        if rows.1 == n as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        rows,
        (n as i64, n as i64, n as i64),
        "(stored, applied, notes)"
    );
    let applied = a.metrics.deliveries_applied.get() + b.metrics.deliveries_applied.get();
    assert_eq!(
        applied, n as u64,
        "the replicas together applied each delivery once"
    );
    let duplicates = a.metrics.deliveries_duplicate.get() + b.metrics.deliveries_duplicate.get();
    assert_eq!(
        duplicates, n as u64,
        "one of each pair was recognised as a repeat"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reconciliation_at_a_time_and_schedules_do_not_double_fire() {
    let db = TestDb::fresh();
    let settings = db.settings(&[]);
    let (pool_a, _) = open_database(&settings).await.expect("database");
    let (pool_b, _) = open_database(&settings).await.expect("database");
    let sim = FakeAc::start(FakeAcConfig {
        contacts: 150,
        deals: 30,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await
    .expect("sim");
    let rec_a = Reconciler::with_client(
        pool_a.clone(),
        sim_client(&sim, sim.api_token(), 200.0),
        Default::default(),
    );
    let rec_b = Reconciler::with_client(
        pool_b,
        sim_client(&sim, sim.api_token(), 200.0),
        Default::default(),
    );

    let held = rec_a
        .prepare(RunRequest::new(Mode::Full, Trigger::Manual))
        .await
        .expect("first");
    assert!(matches!(
        rec_b
            .prepare(RunRequest::new(Mode::Full, Trigger::Admin))
            .await,
        Err(StartError::Busy)
    ));
    assert_eq!(held.execute(&LogProgress).await.error, None);

    let every_second: cron::Schedule = "* * * * * *".parse().expect("cron");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let tasks = [rec_a, rec_b].map(|r| {
        tokio::spawn(schedule::run(
            r,
            every_second.clone(),
            Mode::Incremental,
            shutdown.clone(),
        ))
    });
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    shutdown.cancel();
    for t in tasks {
        t.await.expect("schedule task ends");
    }
    let runs: Vec<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> =
        tokio::task::spawn_blocking(move || {
            use acmirror::db::schema::sync_runs as sr;
            sr::table
                .filter(sr::run_trigger.eq("schedule"))
                .order(sr::started_at)
                .select((sr::started_at, sr::finished_at))
                .load(&mut *pool_a.get().expect("conn"))
                .expect("q")
        })
        .await
        .expect("no panic");
    assert!(
        !runs.is_empty() && runs.len() <= 4,
        "{} scheduled runs in 3.5 s from two replicas",
        runs.len()
    );
    for pair in runs.windows(2) {
        let finished = pair[0].1.expect("finished");
        assert!(finished <= pair[1].0, "runs overlap: {pair:?}");
    }
}
