//! Reconciliation against the built-in simulator: records per second into each backend beside
//! a read-only pass over the same pages (the API side alone), requests per 100 records, an
//! incremental run after 1,000 changes, and the share of a 5 requests/s limit used.
//!
//! `cargo bench --bench reconcile -- [--contacts 200000] [--deals 50000]
//!   [--small-contacts 10000] [--small-deals 2000] [--skip-limited]`

use std::sync::Mutex;
use std::time::Instant;

use acmirror::activecampaign::{ApiClient, ClientConfig, StatsSnapshot};
use acmirror::metrics::Metrics;
use acmirror::reconcile::{Mode, Only, Progress, Reconciler, RunRequest, RunSummary, Trigger};
use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig, FakeAcHandle};
use acmirror_sim::harness::bench::{self, arg, flag, heading};

/// Client-side rate when the simulator has no limit: high enough never to wait.
const UNLIMITED: f64 = 100_000.0;

fn client(sim: &FakeAcHandle, rate: f64) -> ApiClient {
    let mut config = ClientConfig::new(sim.base_url(), sim.api_token().to_owned().into());
    config.rate_limit = rate;
    ApiClient::new(config).expect("client")
}

/// Remembers when the contacts phase ended (the first deals page).
#[derive(Default)]
struct Phases {
    contacts_done: Mutex<Option<(Instant, u64)>>,
}

impl Progress for Phases {
    fn page(&self, part: Only, done: u64, _total: Option<u64>, _api: &StatsSnapshot) {
        if part == Only::Contacts {
            *self.contacts_done.lock().expect("not poisoned") = Some((Instant::now(), done));
        }
    }
}

/// Baseline: every page of contacts, deals and the CRM collections a full run reads, fetched
/// and decoded, written nowhere.
async fn read_only(sim: &FakeAcHandle) -> (u64, u64, f64) {
    let c = client(sim, UNLIMITED);
    let t = Instant::now();
    let (mut records, mut after) = (0u64, 0i64);
    loop {
        let page = c.contacts_page(after, None).await.expect("contacts page");
        records += page.contacts.len() as u64;
        after = page.last_id.unwrap_or(after);
        if page.is_last || page.contacts.is_empty() {
            break;
        }
    }
    let mut offset = 0;
    loop {
        let page = c.deals_page(offset, None).await.expect("deals page");
        records += page.deals.len() as u64;
        match page.next_offset() {
            Some(n) if !page.deals.is_empty() => offset = n,
            _ => break,
        }
    }
    // The CRM collections a full run reads whole.
    macro_rules! whole {
        ($read:ident) => {{
            let mut offset = 0u64;
            loop {
                let page = c.$read(offset).await.expect(stringify!($read));
                records += page.len() as u64;
                offset += page.len() as u64;
                if page.is_last || page.is_empty() {
                    break;
                }
            }
        }};
    }
    whole!(accounts_page);
    whole!(account_contacts_page);
    whole!(account_values_page);
    whole!(deal_values_page);
    whole!(deal_contacts_page);
    whole!(campaigns_page);
    whole!(messages_page);
    (records, c.stats().requests, t.elapsed().as_secs_f64())
}

async fn run(rec: &Reconciler, mode: Mode, progress: &dyn Progress) -> RunSummary {
    let summary = rec
        .run(RunRequest::new(mode, Trigger::Manual), progress)
        .await
        .expect("run starts");
    assert_eq!(summary.error, None, "run failed");
    summary
}

fn per_100(s: &RunSummary) -> f64 {
    100.0 * s.counters.api_requests as f64 / s.counters.fetched.max(1) as f64
}

async fn full_runs(contacts: u64, deals: u64) {
    heading(&format!(
        "Reconciliation, full run: {contacts} contacts + {deals} deals, no rate limit"
    ));
    let sim = FakeAc::start(FakeAcConfig {
        contacts,
        deals,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await
    .expect("simulator");
    let (records, requests, secs) = read_only(&sim).await;
    println!(
        "baseline, read-only pass (API + decode, no database): {:>7.0} records/s, {requests} requests, {:.2} per 100 records",
        records as f64 / secs,
        100.0 * requests as f64 / records as f64
    );
    for make in bench::backends() {
        let db = make();
        let pool = db.open().await;
        let rec = Reconciler::with_client(pool, client(&sim, UNLIMITED), Metrics::new().into());
        let phases = Phases::default();
        let start = Instant::now();
        let s = run(&rec, Mode::Full, &phases).await;
        let (at, n) = phases
            .contacts_done
            .lock()
            .expect("not poisoned")
            .unwrap_or((start, 0));
        println!(
            "full run into {:<10}: {:>7.0} records/s ({} records in {:.1} s); contacts phase {:>7.0} contacts/s; {} requests, {:.2} per 100 records, {} x 429",
            db.label(),
            s.counters.fetched as f64 / s.seconds,
            s.counters.fetched,
            s.seconds,
            n as f64 / (at - start).as_secs_f64(),
            s.counters.api_requests,
            per_100(&s),
            s.rate_limited
        );
        if db.label() == "SQLite" {
            sim.run_changes(1_000).await;
            let s = run(&rec, Mode::Incremental, &phases).await;
            println!(
                "incremental run after 1000 changes into {}: {} requests, {} records read, {} changed, {:.1} s",
                db.label(), s.counters.api_requests, s.counters.fetched, s.counters.changed, s.seconds
            );
        }
    }
    sim.stop().await;
}

async fn limited(contacts: u64, deals: u64, rate: f64) {
    let sim = FakeAc::start(FakeAcConfig {
        contacts,
        deals,
        rate_limit: 5,
        ..FakeAcConfig::default()
    })
    .await
    .expect("simulator");
    let db = bench::sqlite();
    let pool = db.open().await;
    let rec = Reconciler::with_client(pool, client(&sim, rate), Metrics::new().into());
    let s = run(&rec, Mode::Full, &Phases::default()).await;
    let used = s.counters.api_requests as f64 / s.seconds / 5.0;
    println!(
        "client at {rate} requests/s: {} requests in {:.1} s = {:.1}% of the 5/s limit, {} x 429, {:.2} requests per 100 records ({} records)",
        s.counters.api_requests,
        s.seconds,
        100.0 * used,
        s.rate_limited,
        per_100(&s),
        s.counters.fetched
    );
    sim.stop().await;
}

#[tokio::main]
async fn main() {
    acmirror_sim::harness::load::child().await;
    full_runs(arg("--contacts", 200_000), arg("--deals", 50_000)).await;
    if !flag("--skip-limited") {
        let (c, d) = (arg("--small-contacts", 10_000), arg("--small-deals", 2_000));
        heading(&format!(
            "Reconciliation at the simulator's 5 requests/s: {c} contacts + {d} deals, SQLite"
        ));
        limited(c, d, 5.0).await;
        limited(c, d, acmirror::activecampaign::DEFAULT_RATE_LIMIT).await;
    }
}
