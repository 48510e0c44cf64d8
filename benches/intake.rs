//! Durable intake: deliveries acknowledged per second (200 only after commit) under 64
//! concurrent connections, beside a bare actix-web handler that answers 200 without storing,
//! loaded by the same generator in the same run.
//!
//! `cargo bench --bench intake -- [--seconds 30] [--connections 64] [--url URL]`
//! With `--url`, only loads that external webhook URL (used by `scripts/bench` to measure the
//! memory of a separate `serve` process).

use std::collections::HashSet;
use std::time::Duration;

use acmirror::db::schema::webhook_events as we;
use acmirror_sim::harness::bench::{self, arg, heading};
use acmirror_sim::harness::load::{self, Load, LoadReport};
use acmirror_sim::harness::{with_conn, TestDb, SECRET, WORKERS};
use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::prelude::*;

/// The same server settings as the daemon's, with a handler that only reads the body.
fn bare_server() -> (actix_web::dev::Server, std::net::SocketAddr) {
    async fn ok(_body: web::Bytes) -> HttpResponse {
        HttpResponse::Ok().body("ok")
    }
    let server = HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(acmirror::http::MAX_BODY))
            .route("/webhooks/activecampaign/{secret}", web::post().to(ok))
    })
    .workers(WORKERS)
    .disable_signals()
    .bind("127.0.0.1:0")
    .expect("bind");
    let addr = server.addrs()[0];
    (server.run(), addr)
}

fn load_of(url: String, run: u64) -> Load {
    Load {
        url,
        connections: arg("--connections", 64),
        duration: Duration::from_secs(arg("--seconds", 30)),
        rate: None,
        run,
    }
}

async fn bare(run: u64) -> LoadReport {
    let (server, addr) = bare_server();
    let handle = server.handle();
    tokio::spawn(server);
    let url = format!("http://{addr}/webhooks/activecampaign/{SECRET}");
    let report = load::run(load_of(url, run)).await;
    handle.stop(true).await;
    report
}

/// Loads a daemon on `db`, stops it gracefully, then checks every acknowledged id is stored.
async fn durable(db: &TestDb, run: u64) -> (LoadReport, u64, i64) {
    let daemon = db.daemon(&[]).await;
    let url = format!("http://{}/webhooks/activecampaign/{SECRET}", daemon.addr);
    let pool = daemon.pool.clone();
    let report = load::run(load_of(url, run)).await;
    daemon.stop().await;
    let ids: Vec<i64> = with_conn(&pool, |c| {
        we::table.select(we::id).load(c).expect("stored ids")
    })
    .await;
    let stored: HashSet<i64> = ids.iter().copied().collect();
    let missing = report
        .event_ids
        .iter()
        .filter(|id| !stored.contains(id))
        .count() as u64;
    (report, missing, ids.len() as i64)
}

#[tokio::main]
async fn main() {
    load::child().await;
    if let Some(url) = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0] == "--url")
        .map(|w| w[1].clone())
    {
        let r = load::run(load_of(url, rand::random::<u32>() as u64)).await;
        println!("external: {}", r.line());
        return;
    }
    heading(&format!(
        "Durable intake: {} connections, {} s per server, {WORKERS} HTTP workers",
        arg("--connections", 64),
        arg("--seconds", 30)
    ));
    let base = bare(1).await;
    println!("bare actix-web handler (baseline): {}", base.line());
    for (i, make) in bench::backends().into_iter().enumerate() {
        let db = make();
        let (r, missing, rows) = durable(&db, 2 + i as u64).await;
        println!("acmirror intake on {:<10}: {}", db.label(), r.line());
        println!(
            "  {:.2}x the bare handler; acknowledged {} deliveries, {} rows stored, {} acknowledged missing",
            r.rate() / base.rate(),
            r.ok,
            rows,
            missing
        );
    }
}
