//! `/campaigns` and `/messages`: offset pages of 100, bodies shaped like the API's.

use chrono::{DateTime, Utc};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{client_for, config_for, fast_retry};
use crate::activecampaign::ApiClient;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test literal is RFC 3339")
}

fn json_body(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json")
}

/// A live `/campaigns` item (trimmed of counters and settings the mirror ignores), a sent
/// one, and one with the zero-date sentinel and odd scalars.
const CAMPAIGNS: &str = r#"{"campaigns":[
 {"type":"single","userid":"1","segmentid":"0","bounceid":"-1","realcid":"0","sendid":"0",
  "threadid":"0","seriesid":"1","formid":"0","basetemplateid":"0","basemessageid":"0",
  "addressid":"0","source":"ai","name":"Nango: Connect Your Product",
  "cdate":"2026-05-28T03:20:47-05:00","mdate":"2026-05-28T03:20:47-05:00",
  "sdate":null,"ldate":null,"send_amt":"0","total_amt":"0","opens":"0","uniqueopens":"0",
  "linkclicks":"0","status":"1","public":"1","scheduleddate":null,"deletestamp":null,
  "created_timestamp":"2026-05-28 03:20:47","updated_timestamp":"2026-05-28 03:20:47",
  "created_by":"0","updated_by":"0","numberOfMessages":"1","campaign_message_id":"1",
  "message_id":"3","format":"mime","typeText":"One-Time","statusString":"Automation",
  "links":{"user":"https://acct.api-us1.com/api/3/campaigns/1/user"},"id":"1","user":"1",
  "automation":"1"},
 {"type":"recurring","name":"March newsletter","cdate":"2026-03-01T09:00:00-06:00",
  "mdate":"2026-03-02T10:30:00-06:00","sdate":"2026-03-02T10:00:00-06:00",
  "ldate":"2026-03-09T10:00:00-05:00","send_amt":"1250","status":"5","message_id":"14",
  "id":"12"},
 {"type":"split","name":"Draft","cdate":"2026-04-01T09:00:00-05:00","mdate":null,
  "sdate":"0000-00-00 00:00:00","ldate":"","send_amt":null,"status":0,"message_id":"0",
  "id":13}
],"meta":{"total":"3"}}"#;

const MESSAGES: &str = r#"{"messages":[
 {"userid":"1","ed_instanceid":"0","ed_version":"1","cdate":"2018-08-17T09:47:38-05:00",
  "mdate":"2018-08-17T09:47:38-05:00","name":"","fromname":"John Doe",
  "fromemail":"noreply@example.com","reply2":"hello@example.com","priority":"3",
  "charset":"utf-8","encoding":"quoted-printable","format":"mime",
  "subject":"Update your subscription to %LISTNAME%","preheader_text":"",
  "text":"A very long text body","html":"<!DOCTYPE html><html>…</html>","htmlfetch":"now",
  "textfetch":"now","hidden":"0","preview_mime":"","preview_data":null,
  "links":{"user":"https://acct.api-us1.com/api/3/messages/2/user"},"id":"2","user":"1"}
],"meta":{"total":"1"}}"#;

#[tokio::test]
async fn a_campaigns_page_decodes_strings_nulls_and_the_zero_date() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/campaigns"))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "200"))
        .respond_with(json_body(CAMPAIGNS))
        .expect(1)
        .mount(&server)
        .await;

    let page = client_for(&server)
        .campaigns_page(200)
        .await
        .expect("decodes");

    assert_eq!(page.total, Some(3));
    assert!(page.is_last, "a short page is the last");
    let [draft_automation, sent, odd] = &page.items[..] else {
        panic!("three campaigns: {:?}", page.items);
    };
    assert_eq!(draft_automation.id, 1);
    assert_eq!(draft_automation.name, "Nango: Connect Your Product");
    assert_eq!(draft_automation.campaign_type.as_deref(), Some("single"));
    assert_eq!(draft_automation.status, Some(1));
    assert_eq!(draft_automation.message_id, Some(3));
    assert_eq!(draft_automation.sdate, None);
    assert_eq!(draft_automation.ldate, None);
    assert_eq!(draft_automation.send_amt, Some(0));
    assert_eq!(draft_automation.cdate, Some(utc("2026-05-28T08:20:47Z")));
    assert_eq!(draft_automation.mdate, Some(utc("2026-05-28T08:20:47Z")));

    assert_eq!(sent.id, 12);
    assert_eq!(sent.campaign_type.as_deref(), Some("recurring"));
    assert_eq!(sent.status, Some(5));
    assert_eq!(sent.sdate, Some(utc("2026-03-02T16:00:00Z")));
    assert_eq!(sent.ldate, Some(utc("2026-03-09T15:00:00Z")));
    assert_eq!(sent.send_amt, Some(1250));
    assert_eq!(sent.mdate, Some(utc("2026-03-02T16:30:00Z")));

    assert_eq!(odd.id, 13);
    assert_eq!(odd.status, Some(0));
    assert_eq!(odd.message_id, None, "message 0 is none");
    assert_eq!(odd.sdate, None, "the zero date is none");
    assert_eq!(odd.ldate, None);
    assert_eq!(odd.send_amt, None);
    assert_eq!(odd.mdate, None);
}

#[tokio::test]
async fn a_messages_page_keeps_the_envelope_and_a_full_page_is_not_the_last() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/messages"))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "0"))
        .respond_with(json_body(MESSAGES))
        .expect(1)
        .mount(&server)
        .await;
    let full: Vec<serde_json::Value> = (1..=100)
        .map(|id| serde_json::json!({"id": id.to_string(), "subject": format!("s{id}")}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/3/messages"))
        .and(query_param("offset", "100"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"messages": full, "meta": {"total": 120}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let page = client.messages_page(0).await.expect("decodes");
    assert_eq!(page.total, Some(1));
    assert!(page.is_last);
    let m = &page.items[0];
    assert_eq!(m.id, 2);
    assert_eq!(m.name, "");
    assert_eq!(m.subject, "Update your subscription to %LISTNAME%");
    assert_eq!(m.from_name, "John Doe");
    assert_eq!(m.from_email, "noreply@example.com");
    assert_eq!(m.cdate, Some(utc("2018-08-17T14:47:38Z")));
    assert_eq!(m.mdate, Some(utc("2018-08-17T14:47:38Z")));

    let page = client.messages_page(100).await.expect("decodes");
    assert_eq!(
        (page.items.len(), page.total, page.is_last),
        (100, Some(120), false)
    );
    assert_eq!(page.items[99].from_name, "", "absent fields are empty");
}

#[tokio::test]
async fn a_plan_without_campaigns_is_told_apart_by_its_403() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/campaigns"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"{"message":"You do not have permission to access this resource"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut config = config_for(&server);
    config.retry = fast_retry(3);
    let client = ApiClient::new(config).expect("client");

    let err = client.campaigns_page(0).await.expect_err("forbidden");
    assert!(err.is_forbidden(), "{err}");
    assert!(err.to_string().contains("campaigns"), "{err}");
}
