//! The simulator's realism switches owned by the convergence work: the association list in
//! `cdate` order, heavy accounts, and responses cut off at a size; and the client's answer to
//! a cut-off page.

use acmirror::activecampaign::ApiError;
use acmirror_sim::fake_ac::{ApiFaults, FakeAc, FakeAcConfig, FakeAcHandle, Realism};
use serde_json::Value;

fn config(realism: Realism) -> FakeAcConfig {
    FakeAcConfig {
        contacts: 40,
        deals: 5,
        rate_limit: 0,
        epoch: Some("2026-06-01T00:00:00Z".parse().expect("valid time")),
        realism,
        ..FakeAcConfig::default()
    }
}

async fn start(realism: Realism) -> FakeAcHandle {
    FakeAc::start(config(realism))
        .await
        .expect("simulator starts")
}

async fn get_raw(sim: &FakeAcHandle, path_and_query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path_and_query}", sim.api_url()))
        .header("Api-Token", sim.api_token())
        .send()
        .await
        .expect("request sent")
}

async fn get(sim: &FakeAcHandle, path_and_query: &str) -> Value {
    let res = get_raw(sim, path_and_query).await;
    assert_eq!(res.status(), 200, "{path_and_query}");
    res.json().await.expect("JSON body")
}

fn cdates(body: &Value) -> Vec<i64> {
    body["contactTags"]
        .as_array()
        .expect("contactTags")
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r["cdate"].as_str().expect("cdate"))
                .expect("ISO time")
                .timestamp()
        })
        .collect()
}

#[tokio::test]
async fn contact_tags_come_newest_first_and_filter_on_one_exact_cdate() {
    let sim = start(Realism::default()).await;
    let all = get(&sim, "/contactTags?limit=100").await;
    let total: usize = all["meta"]["total"]
        .as_str()
        .expect("string total")
        .parse()
        .expect("number");
    assert!(total > 40, "some tags on 40 contacts: {total}");

    let mut seen = Vec::new();
    for offset in (0..total).step_by(100) {
        let page = get(
            &sim,
            &format!("/contactTags?orders[cdate]=DESC&limit=100&offset={offset}"),
        )
        .await;
        seen.extend(cdates(&page));
    }
    assert_eq!(seen.len(), total);
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let newest = &get(&sim, "/contactTags?orders[cdate]=DESC&limit=1").await["contactTags"][0];
    let at = newest["cdate"].as_str().expect("cdate");
    let exact = get(
        &sim,
        &format!("/contactTags?filters[cdate]={}", urlencode(at)),
    )
    .await;
    assert!(cdates(&exact).iter().all(|t| *t == seen[0]));
    assert!(!cdates(&exact).is_empty());
    // Names that are not the documented columns are ignored, as upstream.
    let ignored = get(&sim, "/contactTags?filters[contact]=1&limit=100").await;
    assert_eq!(ignored["meta"]["total"], all["meta"]["total"]);
    let one = get(&sim, "/contactTags?filters[subscriberid]=1&limit=100").await;
    assert!(one["contactTags"]
        .as_array()
        .expect("array")
        .iter()
        .all(|r| r["contact"] == "1"));
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn a_heavy_account_has_two_hundred_fields_and_pages_of_megabytes() {
    let sim = start(Realism {
        heavy: true,
        ..Realism::default()
    })
    .await;
    let fields = get(&sim, "/fields?limit=100").await;
    assert_eq!(fields["meta"]["total"], "200");
    let page = get_raw(
        &sim,
        "/contacts?limit=40&include=contactTags.tag,fieldValues,contactLists",
    )
    .await
    .bytes()
    .await
    .expect("body");
    assert!(
        page.len() > 2_000_000,
        "{} bytes for 40 contacts",
        page.len()
    );
    let body: Value = serde_json::from_slice(&page).expect("whole JSON");
    let tags = body["contactTags"].as_array().expect("contactTags").len();
    assert!(tags >= 40 * 40, "about 50 tags per contact: {tags}");
}

#[tokio::test]
async fn responses_above_the_size_limit_are_cut_off() {
    let sim = start(Realism {
        max_response_bytes: 10_000,
        ..Realism::default()
    })
    .await;
    let small = get_raw(&sim, "/contacts?limit=1")
        .await
        .bytes()
        .await
        .expect("body");
    assert!(
        serde_json::from_slice::<Value>(&small).is_ok(),
        "a small page is whole"
    );
    let big = get_raw(&sim, "/contacts?limit=40&include=fieldValues")
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(big.len(), 10_000);
    assert!(serde_json::from_slice::<Value>(&big).is_err());
    assert_eq!(sim.stats().api_truncated, 1);
}

#[tokio::test]
async fn a_cut_off_page_is_reported_at_once_when_the_caller_can_ask_for_less() {
    let sim = start(Realism::default()).await;
    sim.set_api_faults(ApiFaults {
        truncate: 1.0,
        ..ApiFaults::default()
    });
    let client = acmirror_sim::harness::sim_client(&sim, sim.api_token(), 1000.0);
    let err = client
        .contacts_page_sized(0, None, 50)
        .await
        .expect_err("every body is cut");
    assert!(matches!(err, ApiError::PageTooHeavy { .. }), "{err}");
    assert!(err.to_string().contains("fewer records per page"), "{err}");
    assert_eq!(client.stats().requests, 1, "not repeated");

    // A single contact cannot be made smaller: it is retried as before.
    let err = client
        .contacts_page_sized(0, None, 1)
        .await
        .expect_err("every body is cut");
    assert!(matches!(err, ApiError::Exhausted { .. }), "{err}");
    assert!(client.stats().requests > 2);
}

#[tokio::test]
async fn a_timed_out_page_is_reported_at_once_too() {
    use acmirror::activecampaign::{ApiClient, ClientConfig};
    use std::time::Duration;
    let sim = start(Realism::default()).await;
    sim.set_api_faults(ApiFaults {
        slow: 1.0,
        latency: Duration::from_secs(3),
        ..ApiFaults::default()
    });
    let mut config = ClientConfig::new(sim.base_url(), sim.api_token().to_owned().into());
    config.rate_limit = 1000.0;
    config.request_timeout = Duration::from_millis(300);
    let client = ApiClient::new(config).expect("client");
    let err = client
        .contacts_page_sized(0, None, 100)
        .await
        .expect_err("every response is late");
    assert!(matches!(err, ApiError::PageTooHeavy { .. }), "{err}");
    assert_eq!(client.stats().requests, 1, "not repeated");
}
