//! `register-webhook` against a mock of the ActiveCampaign API on 127.0.0.1.

use acmirror::ops::register::ALL_SOURCES;
use acmirror::webhook::kind::EventKind;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{acmirror, query, Run, HOOK_SECRET};
use acmirror_sim::harness::TestDb;

const PUBLIC: &str = "https://mirror.example.com";

/// Every event type the reference account offers, with the account events that the API's
/// documentation of `POST /webhooks` names besides.
const OFFERED: &[&str] = &[
    "account_add",
    "account_contact_add",
    "account_contact_update",
    "account_update",
    "bounce",
    "click",
    "contact_tag_added",
    "contact_tag_removed",
    "deal_add",
    "deal_note_add",
    "deal_pipeline_add",
    "deal_stage_add",
    "deal_task_add",
    "deal_task_complete",
    "deal_tasktype_add",
    "deal_update",
    "forward",
    "list_add",
    "open",
    "reply",
    "sent",
    "share",
    "sms_reply",
    "sms_sent",
    "sms_unsub",
    "subscribe",
    "subscriber_note",
    "unsubscribe",
    "update",
];

fn hook_url(secret: &str) -> String {
    format!("{PUBLIC}/webhooks/activecampaign/{secret}")
}

fn hook(id: i64, url: &str, events: &[&str]) -> Value {
    json!({ "id": id.to_string(), "name": "acmirror", "url": url, "events": events,
            "sources": ALL_SOURCES, "listid": "0", "cdate": "2026-01-01T12:00:00-06:00" })
}

/// A mock account holding `hooks`; creating answers id 7, updating echoes the body.
async fn account(hooks: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/webhook/events"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "webhookEvents": OFFERED, "meta": { "total": OFFERED.len() } }),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/3/webhooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "webhooks": hooks, "meta": { "total": hooks.len().to_string() } }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/3/webhooks"))
        .respond_with(|req: &wiremock::Request| {
            let mut body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            body["webhook"]["id"] = json!("7");
            ResponseTemplate::new(201).set_body_json(body)
        })
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(|req: &wiremock::Request| {
            let mut body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let id = req.url.path().rsplit('/').next().unwrap_or("0").to_owned();
            body["webhook"]["id"] = json!(id);
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    server
}

/// The write requests the account received: (method, path, JSON body).
async fn writes(server: &MockServer) -> Vec<(String, String, Value)> {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| {
            let body = serde_json::from_slice(&r.body).expect("JSON body");
            (r.method.to_string(), r.url.path().to_owned(), body)
        })
        .collect()
}

async fn register(db: &TestDb, server: &MockServer, extra: &[(&str, &str)], args: &[&str]) -> Run {
    let uri = server.uri();
    let mut env = vec![("ACMIRROR_AC_API_URL", uri.as_str())];
    env.extend_from_slice(extra);
    let mut argv = vec!["register-webhook"];
    argv.extend_from_slice(args);
    let run = acmirror(db, &env, &argv).await;
    run.assert_no_secrets();
    run
}

#[tokio::test]
async fn a_webhook_is_created_when_the_account_has_none() {
    let (db, server) = (TestDb::fresh(), account(vec![]).await);

    let run = register(&db, &server, &[], &["--url", "https://mirror.example.com/"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes = writes(&server).await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    let (verb, at, body) = &writes[0];
    assert_eq!((verb.as_str(), at.as_str()), ("POST", "/api/3/webhooks"));
    assert_eq!(body["webhook"]["url"], hook_url(HOOK_SECRET));
    assert_eq!(body["webhook"]["name"], "acmirror");
    assert_eq!(
        body["webhook"]["events"],
        json!(EventKind::mirrored_names())
    );
    assert_eq!(
        body["webhook"]["sources"],
        json!(["public", "admin", "api", "system"])
    );
    assert!(run.stdout.contains("Created webhook 7"), "{}", run.stdout);
    assert!(
        run.stdout.contains("/webhooks/activecampaign/****"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stderr.contains("443"),
        "https on 443 needs no warning: {}",
        run.stderr
    );
}

#[tokio::test]
async fn an_identical_webhook_is_left_unchanged() {
    let mut events: Vec<&str> = EventKind::mirrored_names();
    events.reverse(); // order does not matter
    let server = account(vec![hook(3, &hook_url(HOOK_SECRET), &events)]).await;

    let run = register(&TestDb::fresh(), &server, &[], &["--url", PUBLIC]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(writes(&server).await.is_empty());
    assert!(
        run.stdout.starts_with("Unchanged: webhook 3"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_webhook_with_other_events_is_updated() {
    let server = account(vec![
        hook(1, "https://elsewhere.example.com/hook", &["update"]),
        hook(5, &hook_url(HOOK_SECRET), &["update"]),
    ])
    .await;

    let run = register(&TestDb::fresh(), &server, &[], &["--url", PUBLIC]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes = writes(&server).await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        (writes[0].0.as_str(), writes[0].1.as_str()),
        ("PUT", "/api/3/webhooks/5")
    );
    assert_eq!(
        writes[0].2["webhook"]["events"],
        json!(EventKind::mirrored_names())
    );
    assert!(run.stdout.contains("Updated webhook 5"), "{}", run.stdout);
}

#[tokio::test]
async fn a_webhook_with_an_old_secret_is_moved_to_the_new_url() {
    let server = account(vec![hook(
        9,
        &hook_url("old-secret-value"),
        &EventKind::mirrored_names(),
    )])
    .await;

    let run = register(&TestDb::fresh(), &server, &[], &["--url", PUBLIC]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes = writes(&server).await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].1, "/api/3/webhooks/9");
    assert_eq!(writes[0].2["webhook"]["url"], hook_url(HOOK_SECRET));
}

#[tokio::test]
async fn chosen_events_and_sources_are_sent_and_plain_http_is_warned_about() {
    let server = account(vec![]).await;
    let args = [
        "--url",
        "http://mirror.example.com:8080",
        "--events",
        "update,deal_add",
        "--sources",
        "api,admin",
    ];

    let run = register(&TestDb::fresh(), &server, &[], &args).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ActiveCampaign only posts HTTPS to port 443"),
        "{}",
        run.stderr
    );
    let writes = writes(&server).await;
    let webhook = &writes[0].2["webhook"];
    assert_eq!(webhook["events"], json!(["update", "deal_add"]));
    assert_eq!(webhook["sources"], json!(["api", "admin"]));
    assert_eq!(
        webhook["url"],
        format!("http://mirror.example.com:8080/webhooks/activecampaign/{HOOK_SECRET}")
    );
}

#[tokio::test]
async fn bad_arguments_and_missing_api_settings_exit_2() {
    let server = account(vec![]).await;
    let db = TestDb::fresh();

    let no_api = acmirror(
        &db,
        &[("ACMIRROR_AC_API_URL", ""), ("ACMIRROR_AC_API_TOKEN", "")],
        &["register-webhook", "--url", PUBLIC],
    )
    .await;
    let bad_event = register(
        &db,
        &server,
        &[],
        &["--url", PUBLIC, "--events", "update,bogus"],
    )
    .await;
    let bad_source = register(
        &db,
        &server,
        &[],
        &["--url", PUBLIC, "--sources", "everyone"],
    )
    .await;
    let bad_url = register(&db, &server, &[], &["--url", "mirror.example.com"]).await;

    assert_eq!(
        (no_api.code, bad_event.code, bad_source.code, bad_url.code),
        (2, 2, 2, 2)
    );
    assert!(
        no_api.stderr.contains("ACMIRROR_AC_API_URL")
            && no_api.stderr.contains("ACMIRROR_AC_API_TOKEN")
    );
    assert!(bad_event.stderr.contains("bogus"), "{}", bad_event.stderr);
    assert!(writes(&server).await.is_empty());
}

#[tokio::test]
async fn without_a_configured_secret_the_stored_one_is_used() {
    let server = account(vec![]).await;
    let db = TestDb::fresh();

    let run = register(
        &db,
        &server,
        &[("ACMIRROR_WEBHOOK_SECRET", "")],
        &["--url", PUBLIC],
    )
    .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let stored = query(&db, |c| acmirror::db::meta::get(c, "webhook_secret"))
        .expect("query")
        .expect("a secret was generated and stored");
    let writes = writes(&server).await;
    assert_eq!(writes[0].2["webhook"]["url"], hook_url(&stored));
    assert!(!run.stdout.contains(&stored) && !run.stderr.contains(&stored));
    assert!(
        run.stdout.contains("Generated a webhook secret"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn registers_with_the_simulator_and_it_then_delivers_there() {
    use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig};
    let sim = FakeAc::start(FakeAcConfig {
        contacts: 20,
        deals: 5,
        rate_limit: 0,
        api_token: super::API_TOKEN.into(),
        ..FakeAcConfig::default()
    })
    .await
    .expect("simulator");
    let db = TestDb::fresh();
    let env = [("ACMIRROR_AC_API_URL", sim.base_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = acmirror(&db, &env, &["register-webhook", "--url", PUBLIC]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("Created"), "{}", first.stdout);
    let again = acmirror(&db, &env, &["register-webhook", "--url", PUBLIC]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("Unchanged"), "{}", again.stdout);
    again.assert_no_secrets();
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/webhooks", sim.api_url()))
        .header("Api-Token", super::API_TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let hooks = listed["webhooks"].as_array().expect("array");
    assert_eq!(hooks.len(), 1, "idempotent: one webhook");
    assert_eq!(hooks[0]["url"], hook_url(HOOK_SECRET));
}
