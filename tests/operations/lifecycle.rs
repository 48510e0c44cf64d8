//! `serve` as a process: graceful shutdown on SIGTERM, and secrets kept out of its output.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig};
use acmirror_sim::harness::{fixtures, TestDb, ADMIN_TOKEN, SECRET};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The database URL with a password in it on PostgreSQL (trust auth ignores it), so that the
/// test can look for the password in the output.
fn url_with_password(db: &TestDb) -> String {
    if db.is_postgres() {
        db.url.replacen(
            "postgres://postgres@",
            "postgres://postgres:pw-SECRET-db@",
            1,
        )
    } else {
        db.url.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_deliveries_and_exits_0_without_leaking_secrets() {
    let db = TestDb::fresh();
    let sim = FakeAc::start(FakeAcConfig {
        contacts: 50,
        deals: 10,
        rate_limit: 0,
        api_token: "api-SECRET-token".into(),
        ..FakeAcConfig::default()
    })
    .await
    .expect("sim");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .arg("serve")
        .env("ACMIRROR_DATABASE_URL", url_with_password(&db))
        .env("ACMIRROR_LISTEN", format!("127.0.0.1:{port}"))
        .env("ACMIRROR_WEBHOOK_SECRET", SECRET)
        .env("ACMIRROR_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("ACMIRROR_AC_API_URL", sim.base_url())
        .env("ACMIRROR_AC_API_TOKEN", "api-SECRET-token")
        .env("ACMIRROR_RECONCILE_CRON", "")
        .env("ACMIRROR_FULL_SYNC_CRON", "")
        .env("ACMIRROR_LOG", "debug")
        .env("ACMIRROR_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() == 200)
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "serve did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Exercise the paths that log: deliveries, a bad one, a resync, a rejected admin call.
    client
        .post(format!("{base}/admin/resync"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("resync");
    client
        .post(format!("{base}/admin/resync"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("401");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");

    let posts: Vec<_> = (0..40)
        .map(|i| {
            let body = if i == 0 {
                "type=update&date_time=nonsense".to_owned()
            } else {
                fixtures::form(fixtures::UPDATE).replace("John", &format!("John{i}"))
            };
            let (client, url) = (
                client.clone(),
                format!("{base}/webhooks/activecampaign/{SECRET}"),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .ok()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pid = child.id().to_string();
    let stopped_at = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("exits"))
        .await
        .expect("no panic");
    assert!(
        stopped_at.elapsed() < Duration::from_secs(10),
        "stopped in {:?}",
        stopped_at.elapsed()
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut acknowledged = 0;
    for p in posts {
        match p.await.expect("no panic") {
            Some(200) => acknowledged += 1,
            Some(other) => panic!("a delivery got {other} during shutdown"),
            None => {} // refused after the listener closed: ActiveCampaign counts it as lost
        }
    }
    let settings = db.settings(&[]);
    let (pool, _) = acmirror::app::open_database(&settings).await.expect("db");
    let stored: i64 = tokio::task::spawn_blocking(move || {
        use acmirror::db::schema::webhook_events as we;
        use diesel::prelude::*;
        we::table
            .count()
            .get_result(&mut *pool.get().expect("conn"))
            .expect("count")
    })
    .await
    .expect("no panic");
    assert!(
        stored >= acknowledged,
        "{acknowledged} acknowledged, {stored} stored"
    );

    let output = format!(
        "{}{}{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [SECRET, ADMIN_TOKEN, "api-SECRET-token", "pw-SECRET-db"] {
        assert!(!output.contains(secret), "output contains {secret}");
    }
    assert!(output.contains("shutting down"), "the shutdown is logged");
}
