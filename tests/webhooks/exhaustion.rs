//! Unauthenticated and slow clients cannot exhaust the daemon: memory, connections and time
//! are bounded, and real deliveries are still answered. Some tests run the real binary as a
//! child process to read its resident memory from /proc.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acmirror_sim::harness::{fixtures, TestApp, TestDb, ADMIN_TOKEN, SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

/// `acmirror serve` in a child process, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `serve` on `db` through `sh -c "ulimit -n NOFILE; exec acmirror serve"`.
    fn start(db: &TestDb, nofile: u32, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "ulimit -n {nofile} && exec \"$0\" serve --workers 2",
            ))
            .arg(env!("CARGO_BIN_EXE_acmirror"))
            .env("ACMIRROR_DATABASE_URL", &db.url)
            .env("ACMIRROR_LISTEN", "127.0.0.1:0")
            .env("ACMIRROR_WEBHOOK_SECRET", SECRET)
            .env("ACMIRROR_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ACMIRROR_LOG_FORMAT", "json")
            .env("ACMIRROR_RECONCILE_CRON", "")
            .env("ACMIRROR_FULL_SYNC_CRON", "")
            .env_remove("ACMIRROR_AC_API_URL")
            .env_remove("ACMIRROR_AC_API_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("\"serving\"") {
                    let addr = line
                        .split("\"listen\":\"")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .and_then(|a| a.parse::<SocketAddr>().ok());
                    if let Some(addr) = addr {
                        let _ = tx.send(addr);
                    }
                }
                sink.lock().expect("lock").push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "serve did not start: {:?}",
                    lines.lock().expect("lock").join("\n")
                );
            }
        };
        Self {
            child,
            addr,
            stderr: lines,
        }
    }

    /// Resident memory of the process, in bytes.
    fn rss(&self) -> usize {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        let kib: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS");
        kib * 1024
    }

    fn log(&self) -> String {
        self.stderr.lock().expect("lock").join("\n")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request head announcing a `length`-byte form body.
fn head(secret: &str, length: usize) -> String {
    format!(
        "POST /webhooks/activecampaign/{secret} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// What a client that sent a head and part of a body saw: the status line, if any, and
/// whether the server closed the connection.
#[derive(Debug)]
struct Seen {
    status: Option<String>,
    closed: bool,
}

/// Reads until the server closes the connection or `wait` passes.
async fn read_answer(stream: &mut TcpStream, wait: Duration) -> Seen {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .lines()
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    Seen { status, closed }
}

async fn deliver(client: &reqwest::Client, addr: SocketAddr, n: usize) -> u16 {
    let body = fixtures::form(fixtures::UPDATE).replace(
        "contact%5Bid%5D=3",
        &format!("contact%5Bid%5D={}", 1000 + n),
    );
    client
        .post(format!("http://{addr}/webhooks/activecampaign/{SECRET}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// 300 connections to a wrong secret, each announcing a 1 MiB body and sending all of it but
/// the last byte, then holding on: `serve` stays under 150 MB resident, every one of them is
/// closed without its body being kept, and real deliveries are answered 200 meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_flood_costs_no_memory_and_real_deliveries_are_answered() {
    const ATTACKERS: usize = 300;
    let db = TestDb::fresh();
    // 1,024 descriptors, as on a default systemd unit: the connection bound must fit in it.
    let served = Served::start(&db, 1024, &[]);
    let addr = served.addr;
    let baseline = served.rss();

    let (release, held) = tokio::sync::watch::channel(false);
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..ATTACKERS {
        let mut held = held.clone();
        let seen_tx = seen_tx.clone();
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let mut sent = 0usize;
            let body = vec![b'a'; 64 * 1024];
            if stream
                .write_all(head("wrong-secret", MIB).as_bytes())
                .await
                .is_ok()
            {
                while sent < MIB - 1 {
                    let n = (MIB - 1 - sent).min(body.len());
                    if stream.write_all(&body[..n]).await.is_err() {
                        break;
                    }
                    sent += n;
                }
            }
            let seen = read_answer(&mut stream, Duration::from_secs(10)).await;
            let _ = seen_tx.send(seen);
            // Hold the connection (if the server has not closed it) until released.
            let _ = held.wait_for(|go| *go).await;
            drop(stream);
        });
    }
    drop(seen_tx);

    // Real deliveries while the flood holds its connections.
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut peak = baseline;
    let started = Instant::now();
    for n in 0..20 {
        statuses.push(deliver(&client, addr, n).await);
        peak = peak.max(served.rss());
    }
    let deliveries_took = started.elapsed();
    // Every attacker has sent what it could and seen the server's answer, or waited 10 s.
    let mut closed = 0;
    let mut not_found = 0;
    let mut answered = 0;
    let collect_until = tokio::time::Instant::now() + Duration::from_secs(40);
    while answered < ATTACKERS {
        let next = tokio::time::timeout_at(collect_until, seen_rx.recv()).await;
        let Ok(Some(seen)) = next else { break };
        answered += 1;
        closed += usize::from(seen.closed);
        not_found += usize::from(seen.status.as_deref().is_some_and(|s| s.contains(" 404")));
        peak = peak.max(served.rss());
    }
    peak = peak.max(served.rss());
    let _ = release.send(true);
    eprintln!(
        "wrong-secret flood: {ATTACKERS} connections; rss baseline {} MB, peak {} MB; \
         {closed} closed by the server ({not_found} saw the 404); 20 deliveries in {:?}",
        baseline / MIB,
        peak / MIB,
        deliveries_took
    );
    assert!(
        statuses.iter().all(|s| *s == 200),
        "real deliveries: {statuses:?}"
    );
    assert!(peak < 150 * 1_000_000, "peak resident memory {peak} bytes");
    assert_eq!(answered, ATTACKERS, "every attacker finished sending");
    assert_eq!(closed, ATTACKERS, "every wrong-secret connection is closed");
    assert!(
        served
            .log()
            .contains("ACMIRROR_MAX_CONNECTIONS does not fit the open file limit"),
        "the connection bound is fitted to ulimit -n 1024 and says so"
    );
}

/// A body that stops arriving is answered 408 and closed with the right secret, and a wrong
/// secret is answered and closed without waiting for its body at all; the admin endpoint
/// refuses a missing token before reading its body.
#[tokio::test]
async fn a_stalled_body_is_closed_within_the_body_timeout() {
    let app = TestApp::spawn().await;
    let addr = app.addr();
    let stall = |secret: &'static str| async move {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(head(secret, 1000).as_bytes())
            .await
            .expect("head");
        stream
            .write_all(b"type=update&contact")
            .await
            .expect("part");
        let started = Instant::now();
        let seen = read_answer(&mut stream, Duration::from_secs(60)).await;
        (started.elapsed(), seen)
    };
    let admin = async move {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(
                b"POST /admin/resync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{\"fu",
            )
            .await
            .expect("head");
        let started = Instant::now();
        let seen = read_answer(&mut stream, Duration::from_secs(60)).await;
        (started.elapsed(), seen)
    };
    let (right, wrong, admin) = tokio::join!(stall(SECRET), stall("wrong-secret"), admin);
    eprintln!("right secret: {right:?}; wrong secret: {wrong:?}; admin: {admin:?}");

    assert!(
        right.1.closed,
        "the stalled delivery's connection is closed"
    );
    assert!(
        right.0 < Duration::from_secs(45),
        "closed after {:?}",
        right.0
    );
    assert!(
        right
            .1
            .status
            .as_deref()
            .is_some_and(|s| s.contains(" 408")),
        "{right:?}"
    );
    assert!(
        wrong.1.closed && wrong.0 < Duration::from_secs(5),
        "{wrong:?}"
    );
    assert!(
        wrong
            .1
            .status
            .as_deref()
            .is_some_and(|s| s.contains(" 404")),
        "{wrong:?}"
    );
    assert!(
        admin.1.closed && admin.0 < Duration::from_secs(5),
        "{admin:?}"
    );
    assert!(
        admin
            .1
            .status
            .as_deref()
            .is_some_and(|s| s.contains(" 401")),
        "{admin:?}"
    );
    assert_eq!(app.post(&fixtures::form(fixtures::UPDATE)).await, 200);
}

/// Authenticated bodies in flight share a memory budget: when stalled bodies hold all of it, a
/// further delivery is answered 503 at once instead of being buffered, and once they are gone
/// deliveries are stored again.
#[tokio::test]
async fn bodies_in_flight_beyond_the_memory_budget_are_refused_quickly() {
    let app = TestApp::spawn_with(&[("ACMIRROR_BODY_MEMORY_MB", "2")]).await;
    let addr = app.addr();
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(head(SECRET, MIB).as_bytes())
            .await
            .expect("head");
        stream
            .write_all(&vec![b'a'; 1_000_000])
            .await
            .expect("body");
        holders.push(stream);
    }
    // The two stalled bodies hold at least 1,000,000 bytes each, however their chunks arrive,
    // so less than 100 KB of the 2 MiB budget is left: a 100 KB delivery does not fit.
    let body = format!(
        "{}&pad={}",
        fixtures::form(fixtures::UPDATE),
        "p".repeat(100_000)
    );
    let mut refused = None;
    for _ in 0..50 {
        let started = Instant::now();
        let status = app.post(&body).await;
        if status == 503 {
            refused = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("a delivery is refused while the budget is held");
    assert!(
        refused < Duration::from_secs(5),
        "refused after {refused:?}"
    );

    drop(holders);
    let mut stored = false;
    for _ in 0..100 {
        if app.post(&body).await == 200 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stored,
        "the budget is returned when the stalled clients go away"
    );
}

/// `Authorization: bearer …` is the same scheme as `Bearer …` (RFC 9110).
#[tokio::test]
async fn a_lower_case_bearer_scheme_is_accepted() {
    let app = TestApp::spawn().await;
    let resync = |auth: String| {
        app.client
            .post(app.url("/admin/resync"))
            .header("Authorization", auth)
            .send()
    };
    let lower = resync(format!("bearer {ADMIN_TOKEN}"))
        .await
        .expect("request");
    let upper = resync(format!("BEARER {ADMIN_TOKEN}"))
        .await
        .expect("request");
    let wrong = resync("bearer not-the-token".to_owned())
        .await
        .expect("request");
    // Reconciliation is not configured in this daemon: an accepted token gets 503, not 401.
    assert_eq!(lower.status(), 503);
    assert_eq!(upper.status(), 503);
    assert_eq!(wrong.status(), 401);
}

/// A PostgreSQL server that does not answer fails start-up at once with one message, not a
/// page of connection-pool errors.
#[test]
fn an_unreachable_postgres_fails_start_up_with_one_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_acmirror"))
        .arg("serve")
        .env(
            "ACMIRROR_DATABASE_URL",
            format!("postgres://acm:hunter2@127.0.0.1:{port}/acm"),
        )
        .env("ACMIRROR_LISTEN", "127.0.0.1:0")
        .env("ACMIRROR_LOG_FORMAT", "json")
        .env_remove("ACMIRROR_AC_API_URL")
        .env_remove("ACMIRROR_AC_API_TOKEN")
        .output()
        .expect("runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(!stderr.contains("r2d2"), "no pool noise: {stderr}");
    assert_eq!(stderr.matches("Failed to connect").count(), 1, "{stderr}");
    assert!(stderr.contains("PostgreSQL is running"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password is not shown");
}

/// A tmpfs of 2 MiB, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Restarting on a full disk says that the disk is full and where, not "disk I/O error".
/// Needs permission to mount a tmpfs (root); elsewhere it says so and checks nothing.
#[test]
fn restarting_on_a_full_disk_says_the_disk_is_full() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let db = disk.dir.path().join("mirror.db");
    let run = |cmd: &str| {
        Command::new(env!("CARGO_BIN_EXE_acmirror"))
            .arg(cmd)
            .env("ACMIRROR_DATABASE_URL", &db)
            .env("ACMIRROR_LISTEN", "127.0.0.1:0")
            .env("ACMIRROR_WEBHOOK_SECRET", SECRET)
            .env("ACMIRROR_LOG_FORMAT", "json")
            .env_remove("ACMIRROR_AC_API_URL")
            .env_remove("ACMIRROR_AC_API_TOKEN")
            .output()
            .expect("runs")
    };
    assert!(run("migrate").status.success());
    // Stop as a crash would leave it: no WAL or shared-memory file yet, then fill the disk.
    for side in ["mirror.db-wal", "mirror.db-shm"] {
        let _ = std::fs::remove_file(disk.dir.path().join(side));
    }
    let mut filler = std::fs::File::create(disk.dir.path().join("filler")).expect("create");
    let block = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);

    let out = run("serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
    assert!(stderr.contains(db.to_str().expect("utf-8")), "{stderr}");
}
