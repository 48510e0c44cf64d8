//! Database outages: deliveries are kept in the local spool and answered 200 while the
//! database cannot take writes, readiness says so within seconds, and nothing is lost to an
//! outage, a full disk or a kill -9. The PostgreSQL tests run a private server of their own.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acmirror::app::{open_database, Daemon};
use acmirror::config::{Settings, SettingsArgs};
use acmirror_sim::harness::private_pg::PrivatePg;
use acmirror_sim::harness::SECRET;
use diesel::prelude::*;

fn settings(db_url: &str, spool: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("ACMIRROR_DATABASE_URL".to_owned(), db_url.to_owned()),
        ("ACMIRROR_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("ACMIRROR_WEBHOOK_SECRET".to_owned(), SECRET.to_owned()),
        ("ACMIRROR_RECONCILE_CRON".to_owned(), String::new()),
        ("ACMIRROR_FULL_SYNC_CRON".to_owned(), String::new()),
        (
            "ACMIRROR_SPOOL_DIR".to_owned(),
            spool.to_string_lossy().into_owned(),
        ),
    ]);
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::load(&SettingsArgs::default(), &|k| env.get(k).cloned()).expect("valid settings")
}

fn body(i: usize) -> String {
    format!("type=outage_probe&seq={i}&date_time=2026-12-03T10%3A00%3A00-06%3A00")
}

async fn post(client: &reqwest::Client, base: &str, i: usize) -> u16 {
    match client
        .post(format!("{base}/webhooks/activecampaign/{SECRET}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body(i))
        .timeout(Duration::from_secs(60))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn readyz(client: &reqwest::Client, base: &str) -> (u16, String) {
    match client
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// Distinct deliveries of [`body`] stored in `webhook_events`, read on a fresh connection.
fn stored_on(url: &str) -> Option<i64> {
    use acmirror::db::schema::webhook_events as we;
    let mut conn = acmirror::db::DbConn::establish(url).ok()?;
    we::table
        .filter(we::event_type.eq("outage_probe"))
        .count()
        .get_result(&mut conn)
        .ok()
}

async fn wait_stored(url: &str, want: i64, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    let mut last = -1;
    while Instant::now() < deadline {
        let url = url.to_owned();
        last = tokio::task::spawn_blocking(move || stored_on(&url))
            .await
            .expect("no panic")
            .unwrap_or(-1);
        if last >= want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_45_s_postgres_outage_under_load_loses_no_delivery_and_readiness_tells() {
    let pg = tokio::task::spawn_blocking(PrivatePg::start)
        .await
        .expect("pg");
    let spool = tempfile::tempdir().expect("tempdir");
    let settings = settings(&pg.url(), spool.path(), &[]);
    let (pool, _) = open_database(&settings).await.expect("database opens");
    let daemon = Daemon::start(&settings, pool, Default::default(), 2)
        .await
        .expect("daemon starts");
    let base = format!("http://{}", daemon.addr);
    let client = reqwest::Client::new();
    let start = Instant::now();

    // Load: 10 deliveries per second, each answered independently.
    let answers: Arc<Mutex<Vec<(usize, u16, Duration)>>> = Arc::default();
    let stop_load = tokio_util::sync::CancellationToken::new();
    let load = {
        let (client, base, answers, stop) = (
            client.clone(),
            base.clone(),
            answers.clone(),
            stop_load.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut sent = Vec::new();
            for i in 0.. {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let (client, base, answers) = (client.clone(), base.clone(), answers.clone());
                sent.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let status = post(&client, &base, i).await;
                    answers.lock().expect("lock").push((i, status, t.elapsed()));
                }));
            }
            for s in sent {
                s.await.expect("no panic");
            }
        })
    };
    // Readiness, polled 4 times a second.
    let readiness: Arc<Mutex<Vec<(Duration, u16, String)>>> = Arc::default();
    let poll = {
        let (client, base, readiness, stop) = (
            client.clone(),
            base.clone(),
            readiness.clone(),
            stop_load.clone(),
        );
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let (status, text) = readyz(&client, &base).await;
                readiness
                    .lock()
                    .expect("lock")
                    .push((start.elapsed(), status, text));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_secs(5)).await;
    let pg = Arc::new(pg);
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.stop_server())
        .await
        .expect("stop");
    let down_at = start.elapsed();
    tokio::time::sleep(Duration::from_secs(45)).await;
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.start_server())
        .await
        .expect("start");
    let up_at = start.elapsed();
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop_load.cancel();
    load.await.expect("load");
    poll.await.expect("poll");

    let answers = answers.lock().expect("lock").clone();
    let sent = answers.len();
    let refused: Vec<_> = answers.iter().filter(|(_, s, _)| *s != 200).collect();
    let slowest = answers.iter().map(|a| a.2).max().unwrap_or_default();
    eprintln!(
        "outage: {sent} deliveries, {} refused, slowest answer {slowest:?}, down at {down_at:?}, up at {up_at:?}",
        refused.len()
    );
    assert!(sent >= 500, "the load ran: {sent}");
    assert!(refused.is_empty(), "deliveries refused: {refused:?}");

    let stored = wait_stored(&pg.url(), sent as i64, Duration::from_secs(60)).await;
    assert_eq!(stored, sent as i64, "every delivery reached webhook_events");

    let readiness = readiness.lock().expect("lock").clone();
    let first_503 = readiness
        .iter()
        .find(|(t, s, _)| *t >= down_at && *s == 503)
        .map(|(t, _, text)| (*t - down_at, text.clone()));
    eprintln!("readiness: first 503 after the stop {first_503:?}");
    let (after, text) = first_503.expect("/readyz answered 503 during the outage");
    assert!(
        after <= Duration::from_secs(3),
        "503 came {after:?} after the stop"
    );
    assert!(text.contains("spool"), "the reason names the spool: {text}");
    let slow_probe = readiness
        .iter()
        .filter(|(t, _, _)| *t >= down_at && *t < up_at)
        .any(|(_, s, _)| *s == 0);
    assert!(!slow_probe, "/readyz answered every poll during the outage");
    // The pool reconnects with a growing backoff (r2d2), so readiness may come back only once
    // the pool has a connection again: allow it 40 s after the restart.
    let mut back = readiness
        .iter()
        .find(|(t, s, _)| *t >= up_at && *s == 200)
        .map(|(t, _, _)| *t - up_at);
    while back.is_none() && start.elapsed() < up_at + Duration::from_secs(40) {
        if readyz(&client, &base).await.0 == 200 {
            back = Some(start.elapsed() - up_at);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("readiness: 200 again {back:?} after the restart");
    assert!(
        back.is_some(),
        "/readyz answered 200 again after the outage"
    );
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.lines().any(
            |l| l.starts_with("acmirror_webhook_deliveries_spooled_total") && !l.ends_with(" 0")
        ),
        "spooled deliveries are counted: {metrics}"
    );
    daemon.stop().await;
    let left: Vec<_> = std::fs::read_dir(spool.path())
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|e| !e.file_name().to_string_lossy().ends_with(".log")),
        "the drained spool leaves no segment: {left:?}"
    );
}

struct Serve {
    child: Child,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db_url: &str, spool: &std::path::Path, port: u16) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .arg("serve")
        .env_clear()
        .env("ACMIRROR_DATABASE_URL", db_url)
        .env("ACMIRROR_LISTEN", format!("127.0.0.1:{port}"))
        .env("ACMIRROR_WEBHOOK_SECRET", SECRET)
        .env("ACMIRROR_SPOOL_DIR", spool)
        .env("ACMIRROR_RECONCILE_CRON", "")
        .env("ACMIRROR_FULL_SYNC_CRON", "")
        .env("ACMIRROR_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    Serve { child }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if readyz(client, base).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("serve did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_while_the_spool_holds_deliveries_loses_none() {
    let pg = tokio::task::spawn_blocking(PrivatePg::start)
        .await
        .expect("pg");
    let spool = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut first = serve(&pg.url(), spool.path(), port);
    wait_ready(&client, &base).await;

    let pg = Arc::new(pg);
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.stop_server())
        .await
        .expect("stop");
    let total = 40;
    let answers = futures_util::future::join_all((0..total).map(|i| post(&client, &base, i))).await;
    assert!(
        answers.iter().all(|s| *s == 200),
        "every delivery is answered 200 during the outage: {answers:?}"
    );
    first.child.kill().expect("kill -9");
    first.child.wait().expect("reaped");
    let segments = std::fs::read_dir(spool.path())
        .expect("spool dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .count();
    assert!(segments > 0, "the spool holds the deliveries on disk");

    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.start_server())
        .await
        .expect("start");
    // `status` shows what waits in the spool before anything drains it.
    let out = Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .args(["status", "--json"])
        .env_clear()
        .env("ACMIRROR_DATABASE_URL", pg.url())
        .env("ACMIRROR_SPOOL_DIR", spool.path())
        .output()
        .expect("status runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["spool"]["deliveries"], total as u64, "{doc}");
    assert!(doc["spool"]["bytes"].as_u64().unwrap_or(0) > 0, "{doc}");
    assert!(doc["spool"]["oldest_received_at"].is_string(), "{doc}");
    let _second = serve(&pg.url(), spool.path(), port);
    let stored = wait_stored(&pg.url(), total as i64, Duration::from_secs(30)).await;
    assert_eq!(
        stored, total as i64,
        "every spooled delivery reached the database"
    );
}

/// A tmpfs of `mb` MiB mounted on a temporary folder; unmounted on drop.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    fn mount(mb: u32) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(Self { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the disk with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_sqlite_spools_deliveries_until_the_spool_is_full() {
    let Some(disk) = TinyDisk::mount(8) else {
        eprintln!("skipped: this sandbox cannot mount a tmpfs");
        return;
    };
    let db_path = disk.path().join("mirror.db");
    let db_url = db_path.to_string_lossy().into_owned();
    let spool = tempfile::tempdir().expect("tempdir");
    // Room for 20 deliveries of about 70 bytes each.
    let settings = settings(
        &db_url,
        spool.path(),
        &[("ACMIRROR_SPOOL_MAX_BYTES", "1600")],
    );
    let (pool, _) = open_database(&settings).await.expect("database opens");
    let daemon = Daemon::start(&settings, pool, Default::default(), 2)
        .await
        .expect("daemon starts");
    let base = format!("http://{}", daemon.addr);
    let client = reqwest::Client::new();
    assert_eq!(readyz(&client, &base).await.0, 200);
    assert_eq!(post(&client, &base, 0).await, 200);

    // An empty WAL, so that the next write has to grow a file on the full disk. The checkpoint
    // cannot truncate while the daemon's apply worker or checkpoint task reads: again until it
    // says it did (busy 0, nothing left in the log).
    {
        #[derive(diesel::QueryableByName)]
        struct Checkpoint {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            busy: i32,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            log: i32,
        }
        let mut conn = diesel::SqliteConnection::establish(&db_url).expect("sqlite");
        let mut truncated = false;
        for _ in 0..200 {
            let c: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                .get_result(&mut conn)
                .expect("checkpoint");
            if c.busy == 0 && c.log == 0 {
                truncated = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(truncated, "the WAL could be truncated");
    }
    let filler = disk.fill();
    let mut answers = Vec::new();
    for i in 1..=30 {
        let t = Instant::now();
        answers.push((post(&client, &base, i).await, t.elapsed()));
    }
    let accepted = answers.iter().filter(|(s, _)| *s == 200).count();
    eprintln!("full disk: answers {answers:?}");
    assert!(accepted >= 15, "the spool took deliveries: {answers:?}");
    let (first_refusal, _) = answers
        .iter()
        .enumerate()
        .find(|(_, (s, _))| *s != 200)
        .expect("a full spool refuses");
    assert!(
        answers[first_refusal..]
            .iter()
            .all(|(s, t)| *s == 503 && *t < Duration::from_secs(3)),
        "once the spool is full every delivery gets 503 at once: {answers:?}"
    );
    let (status, text) = readyz(&client, &base).await;
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains("full"),
        "the reason says the disk is full: {text}"
    );

    std::fs::remove_file(filler).expect("free the disk");
    let stored = wait_stored(&db_url, 1 + accepted as i64, Duration::from_secs(20)).await;
    assert_eq!(
        stored,
        1 + accepted as i64,
        "every accepted delivery is stored"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = 0;
    while Instant::now() < deadline && status != 200 {
        status = readyz(&client, &base).await.0;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "ready again once the disk has room");
    daemon.stop().await;
}

/// Sets the immutable attribute (which stops root too) for as long as it lives.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn set(path: &std::path::Path) -> Option<Self> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Self(path.to_owned()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[tokio::test]
async fn serve_refuses_to_start_on_an_unwritable_sqlite_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("mirror.db");
    let db_url = db_path.to_string_lossy().into_owned();
    let spool = dir.path().join("spool");
    let (pool, _) = open_database(&settings(&db_url, &spool, &[]))
        .await
        .expect("database opens");
    drop(pool);
    let Some(_guard) = Immutable::set(&db_path) else {
        eprintln!("skipped: chattr +i is not supported here");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .arg("serve")
        .env_clear()
        .env("ACMIRROR_DATABASE_URL", &db_url)
        .env("ACMIRROR_LISTEN", format!("127.0.0.1:{port}"))
        .env("ACMIRROR_WEBHOOK_SECRET", SECRET)
        .env("ACMIRROR_SPOOL_DIR", &spool)
        .env("ACMIRROR_RECONCILE_CRON", "")
        .env("ACMIRROR_FULL_SYNC_CRON", "")
        .env("ACMIRROR_LOG_FORMAT", "json")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("serve exits instead of serving")
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve must refuse: {stderr}");
    assert!(
        stderr.contains("cannot be written") && stderr.contains("readonly"),
        "the message says why and what to do: {stderr}"
    );
    assert!(!stderr.contains(SECRET), "no secret in the message");
}
