//! Webhook registration endpoints.

use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{client_for, request_count};
use crate::activecampaign::NewWebhook;

const HOOK_URL: &str = "https://mirror.example.com/webhooks/activecampaign/s3cret-path";

fn new_hook() -> NewWebhook {
    NewWebhook {
        name: "acmirror".to_owned(),
        url: HOOK_URL.to_owned(),
        events: vec!["update".to_owned(), "deal_update".to_owned()],
        sources: ["public", "admin", "api", "system"]
            .map(String::from)
            .to_vec(),
        list_id: None,
    }
}

fn hook_json(id: &str, url: &str) -> serde_json::Value {
    json!({ "cdate": "2016-01-01T12:00:00-00:00", "listid": "0", "name": "acmirror",
            "url": url, "events": ["update", "deal_update"],
            "sources": ["public", "admin", "api", "system"], "links": [], "id": id })
}

#[tokio::test]
async fn webhooks_are_listed_by_url_even_when_the_filter_is_ignored() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/webhooks"))
        .and(query_param("filters[url]", HOOK_URL))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhooks": [hook_json("1", "https://other.example.com/hook"), hook_json("2", HOOK_URL)],
            "meta": { "total": "2" }
        })))
        .mount(&server)
        .await;

    let hooks = client_for(&server)
        .list_webhooks(Some(HOOK_URL))
        .await
        .expect("listed");

    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].id, 2);
    assert_eq!(hooks[0].list_id, None);
    assert_eq!(hooks[0].sources.len(), 4);
    assert!(!format!("{:?}", hooks[0]).contains("s3cret-path"));
}

#[tokio::test]
async fn a_webhook_is_created_with_the_documented_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/3/webhooks"))
        .and(body_json(json!({ "webhook": {
            "name": "acmirror", "url": HOOK_URL, "events": ["update", "deal_update"],
            "sources": ["public", "admin", "api", "system"] } })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "webhook": hook_json("7", HOOK_URL) })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let hook = client_for(&server)
        .create_webhook(&new_hook())
        .await
        .expect("created");

    assert_eq!(hook.id, 7);
    assert_eq!(hook.url, HOOK_URL);
}

#[tokio::test]
async fn updating_and_deleting_report_a_missing_webhook() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/3/webhooks/7"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "webhook": hook_json("7", HOOK_URL) })),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/3/webhooks/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/3/webhooks/8"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = client_for(&server);

    let updated = client.update_webhook(7, &new_hook()).await.expect("answer");
    let deleted = client.delete_webhook(7).await.expect("answer");
    let absent = client.delete_webhook(8).await.expect("answer");

    assert_eq!(updated.map(|h| h.id), Some(7));
    assert!(deleted);
    assert!(!absent);
}

#[tokio::test]
async fn an_empty_delete_body_is_accepted() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/3/webhooks/3"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;

    assert!(client_for(&server).delete_webhook(3).await.expect("answer"));
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn webhook_event_types_are_read_from_the_singular_path() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/webhook/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhookEvents": ["subscribe", "update", "deal_update"], "meta": { "total": 3 }
        })))
        .mount(&server)
        .await;

    let events = client_for(&server).webhook_events().await.expect("listed");

    assert_eq!(events, ["subscribe", "update", "deal_update"]);
}
