//! The connection pool against a PostgreSQL server with few slots: a private server started by
//! the test (`initdb` in a temporary folder, `pg_ctl` on a spare port, `max_connections=20`),
//! never the machine's shared one. Skipped, with a message, where the PostgreSQL binaries are
//! missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use acmirror::config::{Settings, SettingsArgs};
use diesel::{Connection, PgConnection};

/// A PostgreSQL server of the test's own, stopped and removed on drop.
struct PrivatePg {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Runs a PostgreSQL binary as the `postgres` user when the test runs as root (initdb refuses
/// root).
fn pg_cmd(bin: &Path, tool: &str) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn spare_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl PrivatePg {
    fn start(max_connections: u32) -> Option<Self> {
        let Some(bin) = pg_bin() else {
            eprintln!("skipped: no PostgreSQL binaries under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let _ = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status();
        let data = dir.path().join("data");
        let out = pg_cmd(&bin, "initdb")
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = spare_port();
        let opts = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c max_connections={max_connections} -c unix_socket_directories={} -c fsync=off",
            dir.path().display()
        );
        let out = pg_cmd(&bin, "pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(dir.path().join("log"))
            .arg("start")
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Self { bin, dir, port })
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = pg_cmd(&self.bin, "pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}

fn settings(url: &str, pool_size: &str) -> Settings {
    let env = |k: &str| match k {
        "ACMIRROR_DATABASE_URL" => Some(url.to_owned()),
        "ACMIRROR_DB_POOL_SIZE" => Some(pool_size.to_owned()),
        "ACMIRROR_LOG_FORMAT" => Some("json".to_owned()),
        _ => None,
    };
    Settings::load(&SettingsArgs::default(), &env).expect("valid settings")
}

#[tokio::test]
async fn an_oversized_pool_is_capped_and_leaves_room_for_other_clients() {
    let Some(pg) = PrivatePg::start(20) else {
        return;
    };
    let url = pg.url();

    let (pool, _) = acmirror::app::open_database(&settings(&url, "200"))
        .await
        .expect("opens with a capped pool");

    // 20 − 3 reserved for superusers − 0 in use = 17 free; the pool takes half: 8.
    assert_eq!(pool.max_size(), 8);
    // Two kept idle, plus the one the migrations used while the pool replenished.
    assert!(
        pool.state().connections <= 3,
        "connections open on demand, not all at start: {:?}",
        pool.state()
    );
    // Even with the whole pool checked out, other clients still get in.
    let held: Vec<_> = (0..8).map(|_| pool.get().expect("pooled")).collect();
    let others: Vec<PgConnection> = (0..5)
        .map(|i| PgConnection::establish(&url).unwrap_or_else(|e| panic!("client {i}: {e}")))
        .collect();
    assert_eq!((held.len(), others.len()), (8, 5));
}

#[test]
fn a_server_with_no_free_slot_is_refused_naming_the_setting_without_error_spam() {
    let Some(pg) = PrivatePg::start(20) else {
        return;
    };
    let url = pg.url();
    // 17 ordinary slots: take them all.
    let _hogs: Vec<PgConnection> = (0..17)
        .map(|i| PgConnection::establish(&url).unwrap_or_else(|e| panic!("hog {i}: {e}")))
        .collect();

    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .arg("migrate")
        .env_clear()
        .env("ACMIRROR_DATABASE_URL", &url)
        .env("ACMIRROR_DB_POOL_SIZE", "200")
        .env("ACMIRROR_LOG_FORMAT", "json")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ACMIRROR_DB_POOL_SIZE"), "{stderr}");
    assert!(stderr.contains("no free connection slot"), "{stderr}");
    assert!(stderr.lines().count() <= 5, "error spam:\n{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused at once, not after the pool timeout: {:?}",
        started.elapsed()
    );
}
