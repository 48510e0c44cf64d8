//! A closed-loop (or paced) HTTP load generator: N concurrent connections posting webhook
//! bodies, each request timed from send to the end of the response. It runs as a separate
//! process (the bench binary started again with `--load-generator`), so that its CPU, its
//! allocator and its runtime are not the server's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Requests answered 200.
    pub ok: u64,
    /// Requests answered otherwise or failed.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of every 200, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// `X-Acmirror-Event-Id` of every 200 (empty for servers that do not send it).
    pub event_ids: Vec<i64>,
}

impl LoadReport {
    /// Acknowledged requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Latency percentile in milliseconds.
    pub fn p(&self, pct: f64) -> f64 {
        f64::from(super::bench::percentile(&self.latencies_us, pct)) / 1000.0
    }

    /// One line: rate and latency percentiles.
    pub fn line(&self) -> String {
        format!(
            "{:>8.0} req/s  ok {:>7}  errors {:>3}  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            self.rate(),
            self.ok,
            self.errors,
            self.p(50.0),
            self.p(99.0),
            self.p(100.0)
        )
    }
}

/// How to load a server.
#[derive(Debug, Clone)]
pub struct Load {
    /// The webhook URL.
    pub url: String,
    /// Concurrent connections (one task each).
    pub connections: usize,
    /// How long to run.
    pub duration: Duration,
    /// Total requests per second to pace at; `None` sends as fast as answers come back.
    pub rate: Option<f64>,
    /// Distinguishes the bodies of separate runs against one database.
    pub run: u64,
}

/// A realistic delivery (about 1.5 KB): simulator-style `update` and `open` bodies with seven
/// tags and fourteen custom fields (one a 150-character note), each for a distinct contact so that duplicate detection
/// does not collapse them.
pub fn body(run: u64, task: usize, seq: u64) -> String {
    let contact = (run * 1_000 + task as u64) * 1_000_000 + seq;
    let secs = seq % 60;
    let mins = (seq / 60) % 60;
    let date = format!("2026-11-20T10:{mins:02}:{secs:02}-06:00");
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(20);
    let mut kv = |k: &str, v: String| pairs.push((k.to_owned(), v));
    let kind = if seq % 3 == 0 { "open" } else { "update" };
    kv("type", kind.to_owned());
    kv("date_time", date);
    kv(
        "initiated_from",
        if kind == "open" { "system" } else { "admin" }.to_owned(),
    );
    kv(
        "initiated_by",
        if kind == "open" { "system" } else { "admin" }.to_owned(),
    );
    kv("list", "0".to_owned());
    if kind == "open" {
        kv("campaign[id]", (seq % 40).to_string());
        kv("campaign[name]", "November newsletter".to_owned());
        kv("message[id]", (seq % 40).to_string());
    }
    kv("contact[id]", contact.to_string());
    kv("contact[email]", format!("person{contact}@example.com"));
    kv("contact[first_name]", "Ada".to_owned());
    kv("contact[last_name]", format!("Lovelace{}", seq % 97));
    kv(
        "contact[phone]",
        format!("+1 555-01{:02}-{:04}", seq % 100, seq % 10_000),
    );
    kv("contact[ip]", "0.0.0.0".to_owned());
    kv(
        "contact[tags]",
        format!(
            "newsletter, customer, webinar-2026-{:02}, region-emea, plan-pro, \
             [KRC] Registered - {:02}/20/26, source-{}",
            seq % 12,
            seq % 12 + 1,
            seq % 7
        ),
    );
    // A dozen custom fields as a real account has them: dropdowns, a multi-select, dates,
    // numbers, a URL and a free-text note, so that a body is about 1.5 KB.
    kv("contact[fields][1]", format!("Option {}", seq % 3));
    kv("contact[fields][2]", "||Option 1||Option 2||".to_owned());
    kv(
        "contact[fields][3]",
        format!("2026-{:02}-{:02}", seq % 12 + 1, seq % 28 + 1),
    );
    kv("contact[fields][4]", format!("{}", 10 + seq % 490));
    kv(
        "contact[fields][5]",
        "Enterprise (500+ employees)".to_owned(),
    );
    kv(
        "contact[fields][6]",
        format!("https://example.com/landing/{seq}?utm_source=newsletter"),
    );
    kv("contact[fields][7]", "google".to_owned());
    kv("contact[fields][8]", "cpc".to_owned());
    kv("contact[fields][9]", format!("Spring campaign {}", seq % 5));
    kv("contact[fields][10]", "Europe/Berlin".to_owned());
    kv(
        "contact[fields][11]",
        format!("{}.{:02}", 100 + seq % 900, seq % 100),
    );
    kv(
        "contact[fields][12]",
        format!(
            "Asked about annual invoicing and a volume discount for {} seats; follow up after \
             the procurement review. Prefers e-mail over calls, available Tuesday to Thursday.",
            5 + seq % 95
        ),
    );
    kv("contact[fields][13]", format!("{}", seq % 2 == 0));
    kv(
        "contact[fields][14]",
        format!(
            "Account manager {}: renewal window Q{}",
            seq % 17,
            seq % 4 + 1
        ),
    );
    kv("orgname", String::new());
    acmirror::webhook::decode::encode(&pairs)
}

/// The flag that turns a bench binary into the load generator.
const CHILD_FLAG: &str = "--load-generator";

/// Runs the load in a separate process (this binary again) and collects its report.
pub async fn run(load: Load) -> LoadReport {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let rate = load.rate.map_or("none".to_owned(), |r| r.to_string());
    let out = tokio::process::Command::new(exe)
        .arg(CHILD_FLAG)
        .arg(&load.url)
        .arg(load.connections.to_string())
        .arg(load.duration.as_secs_f64().to_string())
        .arg(rate)
        .arg(load.run.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .expect("load generator runs");
    assert!(
        out.status.success(),
        "load generator failed: {}",
        out.status
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 report");
    let mut lines = text.lines();
    let mut head = lines.next().expect("report head").split(' ');
    let mut next = || head.next().expect("field").parse::<u64>().expect("number");
    let (ok, errors, elapsed_us) = (next(), next(), next());
    let numbers = |line: Option<&str>| -> Vec<i64> {
        line.unwrap_or_default()
            .split_whitespace()
            .map(|n| n.parse().expect("number"))
            .collect()
    };
    LoadReport {
        ok,
        errors,
        elapsed: Duration::from_micros(elapsed_us),
        latencies_us: numbers(lines.next())
            .into_iter()
            .map(|n| n as u32)
            .collect(),
        event_ids: numbers(lines.next()),
    }
}

/// In the load generator process (started by [`run`]): runs the load, prints the report and
/// exits. Elsewhere it returns at once; every bench's `main` calls it first.
pub async fn child() {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == CHILD_FLAG) else {
        return;
    };
    let a = &args[at + 1..];
    let load = Load {
        url: a[0].clone(),
        connections: a[1].parse().expect("connections"),
        duration: Duration::from_secs_f64(a[2].parse().expect("seconds")),
        rate: a[3].parse().ok(),
        run: a[4].parse().expect("run"),
    };
    let r = run_here(load).await;
    let join = |v: Vec<String>| v.join(" ");
    println!("{} {} {}", r.ok, r.errors, r.elapsed.as_micros());
    println!(
        "{}",
        join(r.latencies_us.iter().map(u32::to_string).collect())
    );
    println!("{}", join(r.event_ids.iter().map(i64::to_string).collect()));
    std::process::exit(0);
}

/// Runs the load in this process and collects every answer.
async fn run_here(load: Load) -> LoadReport {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(load.connections)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let start = Instant::now();
    let deadline = start + load.duration;
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for task in 0..load.connections {
        let (client, load, errors) = (client.clone(), load.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ids = Vec::new();
            let mut pace = load.rate.map(|r| {
                let period = Duration::from_secs_f64(load.connections as f64 / r);
                let mut i = tokio::time::interval_at(
                    tokio::time::Instant::now()
                        + period.mul_f64(task as f64 / load.connections as f64),
                    period,
                );
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                i
            });
            let mut seq = 0u64;
            while Instant::now() < deadline {
                if let Some(p) = pace.as_mut() {
                    p.tick().await;
                }
                let b = body(load.run, task, seq);
                seq += 1;
                let sent = Instant::now();
                let res = client
                    .post(&load.url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(b)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let id = r
                            .headers()
                            .get("X-Acmirror-Event-Id")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<i64>().ok());
                        // The acknowledgement is the complete response.
                        let _ = r.bytes().await;
                        lat.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        ids.extend(id);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            (lat, ids)
        }));
    }
    let mut report = LoadReport::default();
    for t in tasks {
        let (lat, ids) = t.await.expect("load task");
        report.ok += lat.len() as u64;
        report.latencies_us.extend(lat);
        report.event_ids.extend(ids);
    }
    report.elapsed = start.elapsed();
    report.errors = errors.load(Ordering::Relaxed);
    report.latencies_us.sort_unstable();
    report
}
