//! The operator commands (`status`, `events`, `replay`, `register-webhook`): the library
//! functions and the binary end to end, on the backend under test.

mod admin;
mod register;
mod replay;
mod status_events;

use acmirror::db::schema::webhook_events as we;
use acmirror::db::Pool;
use acmirror_sim::harness::fixtures::{self, form};
use acmirror_sim::harness::{TestApp, TestDb};
use diesel::prelude::*;

/// Distinctive secrets given to the child process; no output may contain them.
pub const HOOK_SECRET: &str = "hook-secret-SEKRIT-9a7c41";
pub const ADMIN_TOKEN: &str = "admin-token-SEKRIT-2b8d55";
pub const API_TOKEN: &str = "api-token-SEKRIT-5e1f06";
pub const DB_PASSWORD: &str = "dbpass-SEKRIT-31d2aa";

/// What one run of the binary printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts that neither stream shows any configured secret.
    pub fn assert_no_secrets(&self) {
        for secret in [
            HOOK_SECRET,
            ADMIN_TOKEN,
            API_TOKEN,
            DB_PASSWORD,
            acmirror_sim::harness::SECRET,
        ] {
            assert!(
                !self.stdout.contains(secret) && !self.stderr.contains(secret),
                "output shows {secret}:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
    }
}

/// The database URL the child uses: on PostgreSQL with a password added, which the local
/// test server (trust authentication) ignores, so that its redaction can be checked.
pub fn child_db_url(db: &TestDb) -> String {
    if !db.is_postgres() {
        return db.url.clone();
    }
    let mut url = url::Url::parse(&db.url).expect("test database URL parses");
    url.set_password(Some(DB_PASSWORD))
        .expect("a postgres URL takes a password");
    url.to_string()
}

/// The child's environment: only what is set here, with `extra` replacing or adding values
/// (an empty value unsets a setting).
pub fn child_env(db: &TestDb, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("ACMIRROR_DATABASE_URL", child_db_url(db).as_str()),
        ("ACMIRROR_WEBHOOK_SECRET", HOOK_SECRET),
        ("ACMIRROR_ADMIN_TOKEN", ADMIN_TOKEN),
        ("ACMIRROR_AC_API_URL", "http://127.0.0.1:9/"),
        ("ACMIRROR_AC_API_TOKEN", API_TOKEN),
        ("ACMIRROR_AC_RATE_LIMIT", "100"),
        ("ACMIRROR_LOG_FORMAT", "json"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

/// Runs `acmirror ARGS` with [`child_env`].
pub async fn acmirror(db: &TestDb, extra: &[(&str, &str)], args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .args(args)
        .env_clear()
        .envs(child_env(db, extra))
        .output()
        .await
        .expect("the binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The bodies most tests start from, in posting order: three applied contact/deal events,
/// a list, one ignored and one failed delivery.
pub fn sample_bodies() -> Vec<String> {
    vec![
        form(fixtures::SUBSCRIBE),
        form(fixtures::UPDATE),
        form(fixtures::DEAL_ADD),
        form(fixtures::LIST_ADD),
        "type=mystery_event&date_time=2026-01-01T00:00:00Z".to_owned(),
        "type=update&date_time=yesterday&contact[id]=1".to_owned(),
    ]
}

/// Posts `bodies` to a daemon, applies them, stops the daemon and returns its database, so
/// that the commands run against a mirror nothing else is writing to.
pub async fn mirror_with(bodies: &[String]) -> TestDb {
    let app = TestApp::spawn().await;
    for body in bodies {
        assert_eq!(app.post(body).await, 200, "{body:.60}");
    }
    app.apply_all().await;
    let TestApp { db, daemon, .. } = app;
    daemon.stop().await;
    db
}

/// A pool on an existing test mirror, as the commands open it.
pub fn open(db: &TestDb) -> Pool {
    acmirror::ops::open_mirror(&db.settings(&[])).expect("the mirror opens")
}

/// Runs a query on the mirror.
pub fn query<T>(db: &TestDb, f: impl FnOnce(&mut acmirror::db::DbConn) -> T) -> T {
    let pool = open(db);
    let mut conn = pool.get().expect("connection");
    f(&mut conn)
}

/// Delivery ids with their status and error, in id order.
pub fn deliveries(db: &TestDb) -> Vec<(i64, String, Option<String>)> {
    query(db, |c| {
        we::table
            .select((we::id, we::status, we::error))
            .order(we::id)
            .load(c)
            .expect("query")
    })
}
