//! Chaos: `serve` processes are killed with SIGKILL during intake, apply and reconciliation
//! while the simulator sends lossy webhooks; at the end one full reconciliation leaves the
//! mirror identical to the truth, and every delivery that got a 200 is stored. On PostgreSQL
//! two replicas share the database and both receive every delivery.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acmirror::reconcile::{LogProgress, Mode, Reconciler, RunRequest, Trigger};
use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig, Realism, WebhookFaults};
use acmirror_sim::harness::{sim_client, TestDb, ADMIN_TOKEN, SECRET};
use diesel::prelude::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One `acmirror serve` process on a fixed port, restartable.
struct Replica {
    port: u16,
    db_url: String,
    api_url: String,
    token: String,
    /// Its own spool: where deliveries wait while the database cannot take writes.
    spool: tempfile::TempDir,
    child: Option<Child>,
}

impl Replica {
    fn new(db: &TestDb, api_url: &str, token: &str) -> Self {
        Self {
            port: free_port(),
            db_url: db.url.clone(),
            api_url: api_url.to_owned(),
            token: token.to_owned(),
            spool: tempfile::tempdir().expect("spool dir"),
            child: None,
        }
    }

    fn webhook_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/webhooks/activecampaign/{SECRET}",
            self.port
        )
    }

    async fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_acmirror"))
            .arg("serve")
            .env("ACMIRROR_DATABASE_URL", &self.db_url)
            .env("ACMIRROR_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("ACMIRROR_WEBHOOK_SECRET", SECRET)
            .env("ACMIRROR_SPOOL_DIR", self.spool.path())
            .env("ACMIRROR_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ACMIRROR_AC_API_URL", &self.api_url)
            .env("ACMIRROR_AC_API_TOKEN", &self.token)
            .env("ACMIRROR_AC_RATE_LIMIT", "20")
            .env("ACMIRROR_RECONCILE_CRON", "")
            .env("ACMIRROR_FULL_SYNC_CRON", "")
            .env("ACMIRROR_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        self.child = Some(child);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = client
                .get(format!("http://127.0.0.1:{}/readyz", self.port))
                .send()
                .await;
            if ready.map(|r| r.status() == 200).unwrap_or(false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not become ready");
    }

    /// Deliveries acknowledged from the spool and not yet in the database.
    fn spooled(&self) -> u64 {
        acmirror::webhook::spool::peek(self.spool.path())
            .expect("spool readable")
            .deliveries
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    async fn trigger_full_resync(&self) -> u16 {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/admin/resync", self.port))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({ "full": true }))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn register(sim: &acmirror_sim::fake_ac::FakeAcHandle, url: &str) {
    let client = reqwest::Client::new();
    let events: serde_json::Value = client
        .get(format!("{}/webhook/events", sim.api_url()))
        .header("Api-Token", sim.api_token())
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let body = serde_json::json!({ "webhook": {
        "name": "acmirror", "url": url, "events": events["webhookEvents"], "sources": ["public", "admin", "api", "system"]
    }});
    let status = client
        .post(format!("{}/webhooks", sim.api_url()))
        .header("Api-Token", sim.api_token())
        .json(&body)
        .send()
        .await
        .expect("create")
        .status();
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_replicas_lose_nothing_acknowledged_and_reconciliation_converges() {
    let db = TestDb::fresh();
    let replicas_wanted = if db.is_postgres() { 2 } else { 1 };
    let sim = FakeAc::start(FakeAcConfig {
        seed: 99,
        contacts: 400,
        deals: 80,
        rate_limit: 0,
        delivery_concurrency: 8,
        // The real service as it may behave: frozen `udate`, shuffled ties, heavy pages cut
        // off, partial webhook blocks, and an upstream clock ten minutes off the host's.
        realism: Realism::strict(if db.is_postgres() { 600 } else { -600 }),
        ..FakeAcConfig::default()
    })
    .await
    .expect("simulator");
    sim.set_webhook_faults(WebhookFaults {
        drop: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        ..WebhookFaults::default()
    });
    let mut replicas: Vec<Replica> = (0..replicas_wanted)
        .map(|_| Replica::new(&db, &sim.base_url(), sim.api_token()))
        .collect();
    for r in &mut replicas {
        r.start().await;
        register(&sim, &r.webhook_url()).await;
    }

    let mut kills = 0;
    for round in 0..4 {
        // Intake and apply under way: changes flow, then a replica dies mid-stream.
        let changes = sim.run_for(Duration::from_millis(1500), 150.0);
        let victim = round % replicas.len();
        tokio::pin!(changes);
        tokio::select! {
            _ = &mut changes => {}
            _ = tokio::time::sleep(Duration::from_millis(700)) => {
                replicas[victim].kill();
                kills += 1;
                changes.await;
            }
        }
        replicas[victim].start().await;
        if round % 2 == 1 {
            // A reconciliation in flight, then a kill.
            let survivor = (victim + 1) % replicas.len();
            // 409: a run resumed at start is in flight already, which serves as well.
            let status = replicas[survivor].trigger_full_resync().await;
            assert!(status == 202 || status == 409, "{status}");
            tokio::time::sleep(Duration::from_millis(150)).await;
            replicas[survivor].kill();
            kills += 1;
            replicas[survivor].start().await;
        }
    }
    sim.bulk_import(40);
    sim.delete_contacts(6);
    sim.delete_deals(2);
    // Campaign edits and the odd deletion, which only a full run repairs.
    sim.churn_campaigns(6);
    sim.flush().await;

    let stats = sim.stats();
    let pool = acmirror::db::connect(
        &acmirror::db::DatabaseUrl::parse(&db.url).expect("url"),
        &Default::default(),
    )
    .expect("pool");
    // The replicas drain their spools and apply what is pending (including what a killed one
    // left); then one full run.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spooled: u64 = replicas.iter().map(Replica::spooled).sum();
        if spooled > 0 {
            assert!(
                Instant::now() < deadline,
                "{spooled} deliveries still in the spools"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let p = pool.clone();
        let pending: i64 = tokio::task::spawn_blocking(move || {
            use acmirror::db::schema::webhook_events as we;
            we::table
                .filter(we::status.eq("pending"))
                .count()
                .get_result(&mut *p.get().expect("conn"))
                .expect("count")
        })
        .await
        .expect("no panic");
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deliveries still pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every delivery answered 200 is stored (a repeat counts in `deliveries`), spooled ones
    // included once drained.
    let pool2 = pool.clone();
    let stored: i64 = tokio::task::spawn_blocking(move || {
        use acmirror::db::schema::webhook_events as we;
        let mut conn = pool2.get().expect("conn");
        let total: Option<i64> = we::table
            .select(diesel::dsl::sum(we::deliveries))
            .first(&mut *conn)
            .expect("sum");
        total.unwrap_or(0)
    })
    .await
    .expect("no panic");
    assert!(
        stored as u64 >= stats.deliveries_ok,
        "{} acknowledged, {stored} stored",
        stats.deliveries_ok
    );

    let rec = Reconciler::with_client(
        pool.clone(),
        sim_client(&sim, sim.api_token(), 200.0),
        Default::default(),
    );
    // A full run killed earlier resumes at its last page: it cannot see deletions made after
    // it read a page, which the next full run catches. So run until a fresh one completes.
    let mut fresh = false;
    for _ in 0..100 {
        match rec
            .run(RunRequest::new(Mode::Full, Trigger::Manual), &LogProgress)
            .await
        {
            Ok(s) => {
                assert_eq!(s.error, None);
                if !s.resumed {
                    fresh = true;
                    break;
                }
            }
            // A replica's admin run may still hold the lock.
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    assert!(fresh, "a fresh full run completes");
    let truth = sim.truth();
    let mirror = tokio::task::spawn_blocking(move || {
        acmirror_sim::verify::mirror_snapshot(&mut pool.get().expect("conn")).expect("snapshot")
    })
    .await
    .expect("no panic");
    let differences = acmirror_sim::truth::diff(&mirror, &truth);
    let figures = format!(
        "chaos: backend={} replicas={} changes={} deliveries_sent={} lost_by_sender={} failed_while_down={} kills={} acknowledged={} stored={} differences_at_end={}",
        if db.is_postgres() { "postgres" } else { "sqlite" },
        replicas.len(),
        stats.changes,
        stats.deliveries_sent,
        stats.deliveries_dropped,
        stats.deliveries_failed,
        kills,
        stats.deliveries_ok,
        stored,
        differences.len()
    );
    println!("{figures}");
    // CI prints this file after the suite, since test output is captured.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chaos-figures.txt");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("figures file");
    std::io::Write::write_all(&mut file, format!("{figures}\n").as_bytes()).expect("write figures");
    assert!(kills >= 3);
    assert!(
        differences.is_empty(),
        "{:?}",
        differences.iter().take(5).collect::<Vec<_>>()
    );
}
