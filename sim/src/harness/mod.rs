//! The harness that the tests and the benchmarks share: a fresh database (a SQLite file, or a
//! new PostgreSQL database), a daemon on a random port of 127.0.0.1, and a simulator whose
//! webhooks go to it.

pub mod bench;
pub mod fixtures;
pub mod load;
pub mod private_pg;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use acmirror::app::{open_database, Daemon};
use acmirror::config::{Settings, SettingsArgs};
use acmirror::db::{DbConn, Pool};
use diesel::{Connection, RunQueryDsl};

/// The webhook secret every daemon of the harness uses.
pub const SECRET: &str = "test-secret-0123456789";
/// The admin token every daemon of the harness uses.
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";
/// HTTP worker threads of every daemon of the harness: one per core of a 2-core machine.
pub const WORKERS: usize = 2;

/// A database that lives as long as the value: a SQLite file in a temporary folder, or a
/// PostgreSQL database dropped at the end.
pub struct TestDb {
    /// `ACMIRROR_DATABASE_URL` of it.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
    /// Holds one spool directory per daemon started on this database.
    spools: tempfile::TempDir,
}

impl TestDb {
    /// A new, empty database on the backend under test: PostgreSQL on the server of
    /// `ACMIRROR_TEST_DATABASE_URL` when it is set, else SQLite in the system's temporary folder.
    pub fn fresh() -> Self {
        match std::env::var("ACMIRROR_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => Self::postgres(&base),
            _ => Self::sqlite_in(&std::env::temp_dir()),
        }
    }

    /// A new SQLite file in a temporary folder under `parent` (benchmarks put it on the build's
    /// disk rather than a tmpfs, so that fsync is real).
    pub fn sqlite_in(parent: &Path) -> Self {
        let dir = tempfile::tempdir_in(parent).expect("tempdir");
        let url = dir.path().join("mirror.db").to_string_lossy().into_owned();
        Self {
            url,
            _dir: Some(dir),
            pg: None,
            spools: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A new database on the PostgreSQL server of `base` (a URL with a database path).
    pub fn postgres(base: &str) -> Self {
        let name = format!("acm_test_{:016x}", rand::random::<u64>());
        let mut admin = diesel::PgConnection::establish(base)
            .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at the test URL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = match base.rfind('/') {
            Some(i) if base[..i].ends_with(':') || base[..i].ends_with('/') => {
                format!("{base}/{name}")
            }
            Some(i) => format!("{}/{name}", &base[..i]),
            None => panic!("the PostgreSQL URL needs a database path"),
        };
        Self {
            url,
            _dir: None,
            pg: Some((base.to_owned(), name)),
            spools: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// "SQLite" or "PostgreSQL", for reports.
    pub fn label(&self) -> &'static str {
        if self.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// Settings for a daemon on this database, with no schedules and no API, each call with a
    /// spool directory of its own (replicas must not share one); `extra` overrides.
    pub fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let spool = self
            .spools
            .path()
            .join(format!("spool-{:016x}", rand::random::<u64>()));
        let mut env: HashMap<String, String> = HashMap::from([
            (
                "ACMIRROR_SPOOL_DIR".to_owned(),
                spool.to_string_lossy().into_owned(),
            ),
            ("ACMIRROR_DATABASE_URL".to_owned(), self.url.clone()),
            ("ACMIRROR_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("ACMIRROR_WEBHOOK_SECRET".to_owned(), SECRET.to_owned()),
            ("ACMIRROR_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned()),
            ("ACMIRROR_LOG_FORMAT".to_owned(), "json".to_owned()),
            ("ACMIRROR_RECONCILE_CRON".to_owned(), String::new()),
            ("ACMIRROR_FULL_SYNC_CRON".to_owned(), String::new()),
        ]);
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        Settings::load(&SettingsArgs::default(), &|k| env.get(k).cloned())
            .expect("harness settings are valid")
    }

    /// Opens a pool on this database and migrates.
    pub async fn open(&self) -> Pool {
        open_database(&self.settings(&[]))
            .await
            .expect("database opens")
            .0
    }

    /// Starts a daemon (intake writer, apply worker, HTTP server) on this database.
    pub async fn daemon(&self, extra: &[(&str, &str)]) -> Daemon {
        let settings = self.settings(extra);
        let (pool, _) = open_database(&settings).await.expect("database opens");
        Daemon::start(&settings, pool, Default::default(), WORKERS)
            .await
            .expect("daemon starts")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = diesel::PgConnection::establish(base) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// The SQL of the README's example query that starts with `-- <title>`, so that tests run the
/// queries as the README shows them.
pub fn readme_query(title: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md is readable");
    let marker = format!("-- {title}\n");
    let start = readme.find(&marker).expect("the README has the query") + marker.len();
    let end = start + readme[start..].find(';').expect("the query ends with ;");
    readme[start..end].to_owned()
}

/// A row of the README's open and click rates per campaign, the percentages read as doubles
/// (numeric on PostgreSQL, real on SQLite).
#[derive(Debug, PartialEq, diesel::QueryableByName)]
pub struct CampaignRate {
    /// The campaign's name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub campaign: String,
    /// E-mails it sent, once a run has read the campaign.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub sent: Option<i64>,
    /// Contacts who opened.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub opened: i64,
    /// Contacts who clicked.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub clicked: i64,
    /// Openers per 100 sent.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub open_rate: Option<f64>,
    /// Clickers per 100 sent.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub click_rate: Option<f64>,
}

/// A command for `program` with none of the test process's `ACMIRROR_*` settings.
pub fn command(program: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    for (key, _) in std::env::vars() {
        if key.starts_with("ACMIRROR_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Asserts that `program <sub> --help` succeeds and shows none of the secrets set in its
/// environment (API token, webhook secret, admin token, database password).
pub fn assert_help_hides_secrets(program: &str, sub: &str) {
    let out = command(program)
        .args([sub, "--help"])
        .env("ACMIRROR_AC_API_TOKEN", "tok-SECRET-1")
        .env("ACMIRROR_WEBHOOK_SECRET", "hook-SECRET-2")
        .env("ACMIRROR_ADMIN_TOKEN", "admin-SECRET-3")
        .env(
            "ACMIRROR_DATABASE_URL",
            "postgres://u:pw-SECRET-4@127.0.0.1/db",
        )
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("SECRET"),
        "{sub} --help shows a secret:\n{text}"
    );
}

/// Runs a blocking closure on a pooled connection.
pub async fn with_conn<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConn) -> T + Send + 'static,
) -> T {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || f(&mut pool.get().expect("connection")))
        .await
        .expect("no panic")
}

/// A daemon under test.
pub struct TestApp {
    pub db: TestDb,
    pub daemon: Daemon,
    pub client: reqwest::Client,
}

impl TestApp {
    /// The README's open and click rates per campaign over the last 30 days, run as the
    /// version of the query for this backend shows it.
    pub async fn campaign_rates(&self) -> Vec<CampaignRate> {
        let backend = if self.db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        let query = readme_query(&format!(
            "Open and click rate per campaign over the last 30 days ({backend})"
        ));
        let sql = format!(
            "SELECT campaign, sent, opened, clicked, \
             CAST(open_rate_pct AS DOUBLE PRECISION) AS open_rate, \
             CAST(click_rate_pct AS DOUBLE PRECISION) AS click_rate FROM ({query}) q"
        );
        self.with_conn(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(sql).load(c).expect("the query runs")
        })
        .await
    }

    /// Starts a daemon on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts a daemon with extra settings.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::fresh();
        let daemon = db.daemon(extra).await;
        Self {
            db,
            daemon,
            client: reqwest::Client::new(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.daemon.addr)
    }

    pub fn webhook_url(&self) -> String {
        self.url(&format!("/webhooks/activecampaign/{SECRET}"))
    }

    pub fn pool(&self) -> Pool {
        self.daemon.pool.clone()
    }

    /// Posts a form body to the webhook endpoint; returns the status code.
    pub async fn post(&self, body: &str) -> u16 {
        self.client
            .post(self.webhook_url())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }

    /// Applies every stored delivery now, and waits for any batch the daemon's own worker
    /// holds (on PostgreSQL it skips rows another transaction has claimed).
    pub async fn apply_all(&self) {
        use acmirror::db::schema::webhook_events as we;
        use diesel::prelude::*;
        for _ in 0..400 {
            let pool = self.pool();
            let metrics = self.daemon.metrics.clone();
            tokio::task::spawn_blocking(move || acmirror::webhook::worker::drain(&pool, &metrics))
                .await
                .expect("no panic")
                .expect("apply succeeds");
            let pending: i64 = self
                .with_conn(|c| {
                    we::table
                        .filter(we::status.eq(acmirror::webhook::status::DeliveryStatus::Pending))
                        .count()
                        .get_result(c)
                        .expect("count")
                })
                .await;
            if pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("deliveries stayed pending for 10 s");
    }

    /// Runs a query on a pooled connection.
    pub async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> T + Send + 'static,
    ) -> T {
        with_conn(&self.daemon.pool, f).await
    }
}

/// A daemon plus a simulator that posts its webhooks to it, and a reconciler reading the
/// simulator's API.
pub struct SimWorld {
    pub app: TestApp,
    pub sim: crate::fake_ac::FakeAcHandle,
    pub rec: acmirror::reconcile::Reconciler,
}

/// An API client for the simulator with fast retries.
pub fn sim_client(
    sim: &crate::fake_ac::FakeAcHandle,
    token: &str,
    rate: f64,
) -> acmirror::activecampaign::ApiClient {
    use acmirror::activecampaign::{ApiClient, ClientConfig, RetryPolicy};
    let mut config = ClientConfig::new(sim.base_url(), token.to_owned().into());
    config.rate_limit = rate;
    config.retry = RetryPolicy {
        max_attempts: 12,
        base_delay: std::time::Duration::from_millis(20),
        max_delay: std::time::Duration::from_millis(500),
        max_retry_after: std::time::Duration::from_secs(2),
    };
    ApiClient::new(config).expect("client")
}

impl SimWorld {
    /// Starts a daemon and a simulator of `contacts`/`deals`, deliveries aimed at the daemon.
    pub async fn start(mut config: crate::fake_ac::FakeAcConfig) -> Self {
        let app = TestApp::spawn().await;
        config.webhook_target = Some(app.webhook_url());
        let sim = crate::fake_ac::FakeAc::start(config)
            .await
            .expect("simulator starts");
        let client = sim_client(&sim, sim.api_token(), 200.0);
        let rec = acmirror::reconcile::Reconciler::with_client(
            app.pool(),
            client,
            app.daemon.metrics.clone(),
        );
        Self { app, sim, rec }
    }

    /// Runs one reconciliation of `mode`; panics if it cannot start or fails.
    pub async fn reconcile(
        &self,
        mode: acmirror::reconcile::Mode,
    ) -> acmirror::reconcile::RunSummary {
        let req = acmirror::reconcile::RunRequest::new(mode, acmirror::reconcile::Trigger::Manual);
        let summary = self
            .rec
            .run(req, &acmirror::reconcile::LogProgress)
            .await
            .expect("run starts");
        assert_eq!(summary.error, None, "run failed");
        summary
    }

    /// Every difference between the mirror and the simulator's truth.
    pub async fn differences(&self) -> Vec<crate::truth::Difference> {
        self.sim.flush().await;
        self.app.apply_all().await;
        let failed: Vec<(i64, Option<String>)> = self
            .app
            .with_conn(|c| {
                use acmirror::db::schema::webhook_events as we;
                use diesel::prelude::*;
                we::table
                    .filter(we::status.eq(acmirror::webhook::status::DeliveryStatus::Failed))
                    .select((we::id, we::error))
                    .load(c)
                    .expect("query")
            })
            .await;
        assert!(
            failed.is_empty(),
            "the simulator's deliveries all apply: {failed:?}"
        );
        let truth = self.sim.truth();
        let mirror = self
            .app
            .with_conn(|c| crate::verify::mirror_snapshot(c).expect("snapshot"))
            .await;
        crate::truth::diff(&mirror, &truth)
    }
}
