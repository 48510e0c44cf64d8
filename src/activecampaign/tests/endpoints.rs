//! Typed endpoints: the requests they send and how real response shapes decode.

use chrono::{DateTime, Utc};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::fixtures::*;
use super::{client_for, request_count, TOKEN};
use crate::activecampaign::ApiError;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test literal is RFC 3339")
}

fn json_body(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json")
}

#[tokio::test]
async fn every_request_carries_the_token_and_user_agent() {
    let server = MockServer::start().await;
    let agent = concat!("acmirror/", env!("CARGO_PKG_VERSION"));
    Mock::given(method("GET"))
        .and(path("/api/3/users/me"))
        .and(header("Api-Token", TOKEN))
        .and(header("User-Agent", agent))
        .respond_with(json_body(USER_ME))
        .expect(1)
        .mount(&server)
        .await;

    let user = client_for(&server)
        .users_me()
        .await
        .expect("token accepted");

    assert_eq!(user.id, 1);
    assert_eq!(user.username, "admin");
    assert_eq!(user.first_name, "Ada");
}

#[tokio::test]
async fn a_contacts_page_is_one_keyset_request_with_sideloads_attached() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/contacts"))
        .and(query_param("orders[id]", "ASC"))
        .and(query_param("id_greater", "0"))
        .and(query_param("limit", "100"))
        .and(query_param(
            "include",
            "contactTags.tag,fieldValues,contactLists",
        ))
        .and(query_param(
            "filters[updated_after]",
            "2026-05-27T03:05:54-05:00",
        ))
        .respond_with(json_body(CONTACTS_PAGE))
        .expect(1)
        .mount(&server)
        .await;

    let since = utc("2026-05-27T08:05:54Z");
    let page = client_for(&server)
        .contacts_page(0, Some(since))
        .await
        .expect("page decodes");

    assert_eq!(page.total, Some(14));
    assert_eq!(page.last_id, Some(4));
    assert!(page.is_last);
    assert_eq!(page.tags.get(&2).map(String::as_str), Some("VIP, gold"));
    let [first, second] = &page.contacts[..] else {
        panic!("expected two contacts, got {:?}", page.contacts);
    };
    assert_eq!((first.id, first.email.as_str()), (1, "api@nango.dev"));
    assert_eq!(first.first_name, "API Test");
    assert_eq!(first.udate, Some(utc("2026-05-28T10:07:18Z")));
    let tags: Vec<(i64, Option<&str>)> = first
        .tags
        .iter()
        .map(|t| (t.tag_id, t.name.as_deref()))
        .collect();
    assert_eq!(tags, [(1, Some("one")), (2, Some("VIP, gold")), (9, None)]);
    assert_eq!(first.field_values[&3].value, "||A||B||");
    let membership = &first.lists[&3];
    assert_eq!(membership.status, 1);
    assert_eq!(membership.sdate, Some(utc("2026-05-28T08:05:55Z")));
    assert_eq!(membership.udate, None);
    assert_eq!(membership.updated_at, Some(utc("2026-05-28T08:05:55Z")));
    assert_eq!((second.id, second.first_name.as_str()), (4, ""));
    assert!(second.tags.is_empty());
    assert_eq!(second.field_values[&3].value, "");
    assert_eq!(second.lists[&3].status, 2);
}

#[tokio::test]
async fn without_a_since_time_no_update_filter_is_sent() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/contacts"))
        .and(query_param("id_greater", "250"))
        .and(query_param_is_missing("filters[updated_after]"))
        .respond_with(json_body(r#"{"contacts":[],"meta":{"total":"0"}}"#))
        .expect(1)
        .mount(&server)
        .await;

    let page = client_for(&server)
        .contacts_page(250, None)
        .await
        .expect("empty page decodes");

    assert!(page.contacts.is_empty() && page.is_last);
    assert_eq!(page.last_id, None);
}

#[tokio::test]
async fn a_server_ignoring_id_greater_is_caught_instead_of_paged_forever() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/contacts"))
        .respond_with(json_body(CONTACTS_PAGE))
        .mount(&server)
        .await;

    let err = client_for(&server)
        .contacts_page(4, None)
        .await
        .expect_err("contacts at or below the cursor");

    assert!(matches!(err, ApiError::UnexpectedShape { .. }), "{err}");
}

#[tokio::test]
async fn a_single_contact_comes_with_its_sideloads_and_404_is_none() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/contacts/1"))
        .and(query_param(
            "include",
            "contactTags.tag,fieldValues,contactLists",
        ))
        .respond_with(json_body(ONE_CONTACT))
        .mount(&server)
        .await;
    Mock::given(path("/api/3/contacts/9"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "No Result found for Subscriber with id 9"})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server);

    let contact = client.contact(1).await.expect("read").expect("exists");
    let missing = client.contact(9).await.expect("404 is an answer");

    assert_eq!(contact.id, 1);
    assert_eq!(contact.lists[&3].status, 1);
    assert!(contact.tags.is_empty());
    assert_eq!(missing, None);
    assert_eq!(request_count(&server).await, 2, "404 is not retried");
}

#[tokio::test]
async fn a_deals_page_decodes_stubs_cents_and_pipelines() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/deals"))
        .and(query_param("orders[cdate]", "ASC"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "100"))
        .respond_with(json_body(DEALS_PAGE))
        .expect(1)
        .mount(&server)
        .await;

    let page = client_for(&server)
        .deals_page(0, None)
        .await
        .expect("page decodes");

    assert_eq!(page.total, Some(15));
    assert!(page.is_last);
    assert_eq!(page.next_offset(), None);
    let [stub, deal] = &page.deals[..] else {
        panic!("expected two deals, got {:?}", page.deals);
    };
    assert!(stub.is_stub());
    assert!(!deal.is_stub() && !deal.is_disabled);
    assert_eq!(deal.id, 17);
    assert_eq!(deal.value_cents, Some(55555));
    assert_eq!(deal.currency.as_deref(), Some("usd"));
    assert_eq!((deal.pipeline_id, deal.stage_id), (Some(4), Some(10)));
    assert_eq!((deal.owner_id, deal.contact_id), (Some(1), Some(1)));
    assert_eq!(deal.status, Some(0));
    assert_eq!(deal.mdate, Some(utc("2026-05-28T10:10:16Z")));
}

#[tokio::test]
async fn a_missing_deal_is_none() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/deals/5"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({})))
        .mount(&server)
        .await;

    assert_eq!(client_for(&server).deal(5).await.expect("answer"), None);
}

#[tokio::test]
async fn pipelines_and_their_stages_come_from_one_dealgroups_pass() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/dealGroups"))
        .respond_with(json_body(DEAL_GROUPS))
        .expect(1)
        .mount(&server)
        .await;

    let all = client_for(&server).pipelines().await.expect("decodes");

    assert_eq!(all.pipelines.len(), 1);
    assert_eq!(all.pipelines[0].title, "Pipeline A");
    let stages: Vec<(i64, Option<i64>, &str)> = all
        .stages
        .iter()
        .map(|s| (s.id, s.pipeline_id, s.title.as_str()))
        .collect();
    assert_eq!(stages, [(1, Some(1), "Stage 1"), (2, Some(1), "Stage 2")]);
}

#[tokio::test]
async fn dimensions_decode_and_template_tags_are_left_out() {
    let server = MockServer::start().await;
    for (route, body) in [("tags", TAGS), ("fields", FIELDS), ("lists", LISTS)] {
        Mock::given(path(format!("/api/3/{route}")))
            .respond_with(json_body(body))
            .mount(&server)
            .await;
    }
    let client = client_for(&server);

    let tags = client.tags().await.expect("tags");
    let fields = client.fields().await.expect("fields");
    let lists = client.lists().await.expect("lists");

    assert_eq!(tags.len(), 1);
    assert_eq!((tags[0].id, tags[0].name.as_str()), (1, "one"));
    assert_eq!(fields.fields[0].perstag, "PREFERRED_LANGUAGE");
    assert_eq!(fields.fields[0].field_type, "dropdown");
    assert_eq!(fields.fields[0].options, Some(vec![1, 2, 3]));
    assert_eq!(
        fields.options,
        [acmirror_option(1, 1, "af", "Afrikaans", None)],
        "the sideloaded option, its order absent"
    );
    assert_eq!(
        (lists[0].id, lists[0].name.as_str()),
        (1, "Email Subscription")
    );
}

#[tokio::test]
async fn offset_paging_stops_on_the_first_short_page() {
    let server = MockServer::start().await;
    let page = |first: i64, count: i64| {
        let tags: Vec<_> = (first..first + count)
            .map(|id| json!({"tagType": "contact", "tag": format!("t{id}"), "id": id.to_string()}))
            .collect();
        // meta.total deliberately wrong: paging must not trust it.
        ResponseTemplate::new(200).set_body_json(json!({"tags": tags, "meta": {"total": "999"}}))
    };
    Mock::given(path("/api/3/tags"))
        .and(query_param("offset", "0"))
        .respond_with(page(1, 100))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/3/tags"))
        .and(query_param("offset", "100"))
        .respond_with(page(101, 3))
        .expect(1)
        .mount(&server)
        .await;

    let tags = client_for(&server).tags().await.expect("two pages");

    assert_eq!(tags.len(), 103);
    assert_eq!(tags.last().map(|t| t.id), Some(103));
}

fn acmirror_option(
    id: i64,
    field_id: i64,
    value: &str,
    label: &str,
    order: Option<i64>,
) -> crate::activecampaign::FieldOption {
    crate::activecampaign::FieldOption {
        id,
        field_id,
        value: value.into(),
        label: label.into(),
        order,
    }
}
