//! The JSON endpoints the dashboard reads and the actions it starts.

use acmirror_sim::harness::{ADMIN_TOKEN, SECRET};

use super::{update, Site, WHEN};

const DOCUMENTS: &[&str] = &[
    "/admin/overview",
    "/admin/deliveries/per-minute",
    "/admin/deliveries/failed",
    "/admin/apply/history",
    "/admin/runs",
];

#[tokio::test]
async fn every_document_needs_the_admin_token_and_the_page_does_not() {
    let site = Site::start().await;
    for path in DOCUMENTS {
        let anonymous = site
            .app
            .client
            .get(site.url(path))
            .send()
            .await
            .expect("request");
        let wrong = site
            .app
            .client
            .get(site.url(path))
            .bearer_auth("not-the-token")
            .send()
            .await
            .expect("request");
        assert_eq!(
            (anonymous.status().as_u16(), wrong.status().as_u16()),
            (401, 401),
            "{path}"
        );
        let (status, _) = site.get(path).await;
        assert_eq!(status, 200, "{path}");
    }
    for (path, media) in [
        ("/", "text/html"),
        ("/assets/dashboard.js", "text/javascript"),
        ("/assets/dashboard.css", "text/css"),
        ("/assets/uPlot.iife.min.js", "text/javascript"),
        ("/assets/uPlot.min.css", "text/css"),
    ] {
        let resp = site
            .app
            .client
            .get(site.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(media), "{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self';"),
            "{path}: {csp}"
        );
        let body = resp.text().await.expect("body");
        assert!(
            !body.contains(ADMIN_TOKEN) && !body.contains(SECRET),
            "{path}"
        );
    }
}

#[tokio::test]
async fn without_a_configured_token_the_documents_say_how_to_enable_them() {
    let db = acmirror_sim::harness::TestDb::fresh();
    let daemon = db.daemon(&[("ACMIRROR_ADMIN_TOKEN", "")]).await;
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{}/admin/overview", daemon.addr))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    daemon.stop().await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("ACMIRROR_ADMIN_TOKEN"), "{text}");
}

#[tokio::test]
async fn deliveries_per_minute_count_each_new_delivery_once_by_type_with_outcomes_marked() {
    let site = Site::start().await;
    for id in [1, 2, 3] {
        assert_eq!(
            site.post(&update(id, &format!("c{id}@example.com"))).await,
            200
        );
    }
    // A byte-identical repeat, an unknown type (ignored) and an undecodable update (failed).
    assert_eq!(site.post(&update(1, "c1@example.com")).await, 200);
    assert_eq!(
        site.post(&format!(
            "type=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E&date_time={WHEN}"
        ))
        .await,
        200
    );
    assert_eq!(
        site.post("type=update&date_time=yesterday&contact%5Bid%5D=9")
            .await,
        200
    );
    site.settled().await;

    let doc = site.json("/admin/deliveries/per-minute").await;
    let minutes = doc["minutes"].as_array().expect("minutes");
    assert_eq!(minutes.len(), 1440);
    let step = minutes[1].as_i64().expect("time") - minutes[0].as_i64().expect("time");
    assert_eq!(step, 60);
    let total = |counts: &serde_json::Value| -> i64 {
        counts
            .as_array()
            .expect("counts")
            .iter()
            .map(|n| n.as_i64().expect("count"))
            .sum()
    };
    let mut by_type: Vec<(String, i64)> = doc["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| {
            (
                t["event_type"].as_str().expect("type").to_owned(),
                total(&t["counts"]),
            )
        })
        .collect();
    by_type.sort();
    assert_eq!(
        by_type,
        vec![
            ("<script>window.pwned=1</script>".to_owned(), 1),
            ("update".to_owned(), 4)
        ]
    );
    assert_eq!((total(&doc["failed"]), total(&doc["ignored"])), (1, 1));
    // Everything arrived within the last minute or two: the newest buckets hold it.
    let recent: i64 = doc["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| {
            t["counts"].as_array().expect("counts")[1437..]
                .iter()
                .map(|n| n.as_i64().expect("count"))
                .sum::<i64>()
        })
        .sum();
    assert_eq!(recent, 5);
}

#[tokio::test]
async fn a_failed_delivery_is_listed_with_its_reason_and_replays_once_its_cause_is_fixed() {
    let site = Site::start().await;
    site.refuse_email("refused@example.com").await;
    assert_eq!(site.post(&update(7, "refused@example.com")).await, 200);
    site.settled().await;

    let page = site.json("/admin/deliveries/failed").await;
    assert_eq!(page["total"], 1, "{page}");
    let failed = &page["deliveries"][0];
    let id = failed["id"].as_i64().expect("id");
    assert_eq!(failed["event_type"], "update");
    assert_eq!(failed["contact_id"], 7);
    assert!(
        failed["error"].as_str().unwrap_or("").contains("refused"),
        "{failed}"
    );
    assert_eq!(site.json("/admin/overview").await["webhooks"]["failed"], 1);

    // While the cause remains, a replay fails again and says why.
    let again = site.replay(id).await;
    assert_eq!(
        (again["failed"].as_i64(), again["applied"].as_i64()),
        (Some(1), Some(0))
    );

    site.accept_all().await;
    let fixed = site.replay(id).await;
    assert_eq!(
        (fixed["applied"].as_i64(), fixed["failed"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(site.json("/admin/deliveries/failed").await["total"], 0);
    site.expect_rows("contacts", 1).await;

    let (status, _) = site
        .post_admin("/admin/replay", serde_json::json!({ "id": id + 1000 }))
        .await;
    assert_eq!(status, 404);
    let (status, text) = site
        .post_admin(
            "/admin/replay",
            serde_json::json!({ "id": id, "failed": true }),
        )
        .await;
    assert_eq!(status, 400, "{text}");
}

#[tokio::test]
async fn replay_all_hands_every_failed_delivery_to_the_apply_worker() {
    let site = Site::start().await;
    site.refuse_email("refused@example.com").await;
    for id in [11, 12, 13] {
        assert_eq!(site.post(&update(id, "refused@example.com")).await, 200);
    }
    site.settled().await;
    assert_eq!(site.json("/admin/deliveries/failed").await["total"], 3);
    site.accept_all().await;

    let (status, text) = site
        .post_admin("/admin/replay", serde_json::json!({ "failed": true }))
        .await;
    assert_eq!((status, text.as_str()), (202, r#"{"requeued":3}"#));
    site.settled().await;
    assert_eq!(site.json("/admin/deliveries/failed").await["total"], 0);
    assert_eq!(site.json("/admin/overview").await["webhooks"]["failed"], 0);
}

#[tokio::test]
async fn a_full_resync_started_here_is_listed_with_its_figures() {
    let site = Site::start().await;
    let run = site.full_resync(false).await;

    assert_eq!(
        (&run["status"], &run["mode"], &run["trigger"]),
        (&"succeeded".into(), &"full".into(), &"admin".into()),
        "{run}"
    );
    assert!(
        run["records_fetched"].as_i64().expect("fetched") >= 48,
        "{run}"
    );
    assert!(run["api_requests"].as_i64().expect("requests") > 0, "{run}");
    assert_eq!(run["rate_limited"], 0, "{run}");
    assert_eq!(run["phase"], "done", "{run}");
    assert_eq!(run["mass_delete_guard"], false, "{run}");

    site.expect_rows("contacts", 40).await;
    site.expect_rows("deals", 8).await;
    let overview = site.json("/admin/overview").await;
    assert_eq!(
        overview["schedule"]["full"]["cron"],
        serde_json::Value::Null
    );
    assert_eq!(overview["api"]["configured"], true);
    let url = overview["webhook_url"].as_str().expect("webhook URL");
    assert!(url.ends_with("/webhooks/activecampaign/****"), "{url}");
    let text = overview.to_string();
    assert!(
        !text.contains(SECRET) && !text.contains(site.sim.api_token()),
        "{text}"
    );
}

#[tokio::test]
async fn a_run_that_met_rate_limits_counts_its_429s() {
    let site = Site::start_limited(4).await;
    let run = site.full_resync(false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let limited = run["rate_limited"].as_i64().expect("429s");
    assert!(limited > 0, "{run}");
    assert!(
        run["api_requests"].as_i64().expect("requests") > limited,
        "{run}"
    );
}

#[tokio::test]
async fn the_apply_backlog_is_sampled_from_the_start() {
    let site = Site::start().await;
    let mut doc = serde_json::Value::Null;
    for _ in 0..100 {
        doc = site.json("/admin/apply/history").await;
        if !doc["at"].as_array().expect("times").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let at = doc["at"].as_array().expect("times");
    assert_eq!(at.len(), 1, "{doc}");
    let now = chrono::Utc::now().timestamp();
    let sampled = at[0].as_i64().expect("time");
    assert!((now - 120..=now).contains(&sampled), "{doc}");
    assert_eq!(
        (&doc["backlog"][0], &doc["lag_seconds"][0]),
        (&0.into(), &0.into())
    );
}

#[tokio::test]
async fn a_full_run_the_mass_delete_guard_stopped_says_so_and_can_be_allowed_from_here() {
    let site = Site::start_with(acmirror_sim::fake_ac::FakeAcConfig {
        contacts: 250,
        deals: 20,
        rate_limit: 0,
        ..Default::default()
    })
    .await;
    assert_eq!(site.full_resync(false).await["status"], "succeeded");
    site.sim.delete_contacts(150);

    let stopped = site.full_resync(false).await;
    assert_eq!(
        (
            &stopped["status"],
            &stopped["mass_delete_guard"],
            &stopped["records_deleted"]
        ),
        (&"failed".into(), &true.into(), &0.into()),
        "{stopped}"
    );
    let why = stopped["error"].as_str().unwrap_or("");
    assert!(
        why.contains("nothing was deleted") && why.contains("--allow-mass-delete"),
        "{why}"
    );

    let allowed = site.full_resync(true).await;
    assert_eq!(
        (&allowed["status"], &allowed["mass_delete_guard"]),
        (&"succeeded".into(), &false.into()),
        "{allowed}"
    );
    assert_eq!(allowed["records_deleted"], 150, "{allowed}");
    // Live contacts only.
    site.expect_rows("contacts", 100).await;
}
