//! The simulator's REST API against the shapes and quirks of ActiveCampaign's API v3.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use acmirror_sim::fake_ac::{ApiFaults, FakeAc, FakeAcConfig, FakeAcHandle};
use acmirror_sim::truth::{norm, ContactTruth, DealContactTruth, DealTruth, ListTimes};
use serde_json::Value;

fn config(contacts: u64, deals: u64) -> FakeAcConfig {
    FakeAcConfig {
        contacts,
        deals,
        rate_limit: 0,
        epoch: Some("2026-06-01T00:00:00Z".parse().expect("valid time")),
        ..FakeAcConfig::default()
    }
}

async fn start(contacts: u64, deals: u64) -> FakeAcHandle {
    FakeAc::start(config(contacts, deals))
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

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|r| {
            r["id"]
                .as_str()
                .expect("string id")
                .parse()
                .expect("numeric id")
        })
        .collect()
}

#[tokio::test]
async fn envelopes_use_string_totals_except_deals_and_webhook_events() {
    let sim = start(30, 10).await;
    let contacts = get(&sim, "/contacts").await;
    assert_eq!(contacts["meta"]["total"], "30");
    assert_eq!(
        contacts["contacts"].as_array().expect("array").len(),
        20,
        "default limit"
    );
    let first = &contacts["contacts"][0];
    assert_eq!(first["id"], "1");
    assert!(
        first["cdate"].as_str().expect("cdate").ends_with(":00"),
        "{first}"
    );
    assert!(first["links"]["contactTags"]
        .as_str()
        .expect("link")
        .starts_with(&sim.base_url()));
    assert_eq!(
        first["created_timestamp"]
            .as_str()
            .expect("wall time")
            .len(),
        19
    );

    let deals = get(&sim, "/deals?limit=100").await;
    assert_eq!(deals["meta"]["total"], 10, "a number on /deals");
    let full = deals["deals"]
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["isDisabled"] == false);
    let full = full.expect("a full deal");
    assert!(full["value"].is_string() && full["status"].is_string() && full["group"].is_string());

    let events = get(&sim, "/webhook/events").await;
    assert_eq!(events["meta"]["total"], 29);
    for path in [
        "/tags",
        "/fields",
        "/lists",
        "/dealStages",
        "/dealGroups",
        "/webhooks",
        "/contactTags",
    ] {
        assert!(get(&sim, path).await["meta"]["total"].is_string(), "{path}");
    }
    assert_eq!(get(&sim, "/users/me").await["user"]["id"], "1");
    sim.stop().await;
}

#[tokio::test]
async fn contacts_page_by_offset_keyset_and_order() {
    let sim = start(250, 0).await;
    assert_eq!(
        ids(&get(&sim, "/contacts?limit=500").await["contacts"]).len(),
        100,
        "limit caps at 100"
    );
    let page = get(&sim, "/contacts?limit=5&offset=10").await;
    assert_eq!(ids(&page["contacts"]), vec![11, 12, 13, 14, 15]);
    let keyset = get(
        &sim,
        "/contacts?orders%5Bid%5D=ASC&id_greater=240&limit=100",
    )
    .await;
    assert_eq!(ids(&keyset["contacts"]), (241..=250).collect::<Vec<_>>());
    let desc = get(&sim, "/contacts?orders[id]=DESC&limit=3").await;
    assert_eq!(ids(&desc["contacts"]), vec![250, 249, 248]);
    let ignored = get(
        &sim,
        "/contacts?filters[no_such_thing]=1&orders[favourite]=ASC&limit=3",
    )
    .await;
    assert_eq!(
        ignored["meta"]["total"], "250",
        "unknown filters are ignored"
    );
    sim.stop().await;
}

#[tokio::test]
async fn include_sideloads_tags_field_values_and_lists() {
    let sim = start(40, 0).await;
    let page = get(
        &sim,
        "/contacts?limit=40&include=contactTags.tag,fieldValues,contactLists,bogus",
    )
    .await;
    for key in ["contactTags", "tags", "fieldValues", "contactLists"] {
        assert!(page[key].is_array(), "{key} sideloaded");
    }
    let tag_rows: BTreeSet<String> = page["contactTags"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    let mut referenced = BTreeSet::new();
    for c in page["contacts"].as_array().expect("array") {
        for id in c["contactTags"].as_array().expect("id array") {
            referenced.insert(id.as_str().expect("string id").to_string());
        }
    }
    assert_eq!(tag_rows, referenced);
    let tag_ids: BTreeSet<&str> = page["tags"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    for row in page["contactTags"].as_array().expect("array") {
        assert!(tag_ids.contains(row["tag"].as_str().expect("tag id")));
    }
    let plain = get(&sim, "/contacts?limit=1").await;
    assert!(
        plain.get("contactTags").is_none() && plain["contacts"][0].get("contactTags").is_none()
    );
    sim.stop().await;
}

#[tokio::test]
async fn updated_after_returns_only_what_changed_since() {
    let sim = start(200, 50).await;
    // Every base record predates the epoch; changes happen now.
    let since = "2026-06-01";
    assert_eq!(
        get(&sim, &format!("/contacts?filters[updated_after]={since}")).await["meta"]["total"],
        "0"
    );
    sim.run_changes(40).await;
    let page = get(
        &sim,
        &format!("/contacts?limit=100&filters%5Bupdated_after%5D={since}"),
    )
    .await;
    let changed = ids(&page["contacts"]);
    assert!(!changed.is_empty());
    assert_eq!(page["meta"]["total"], changed.len().to_string());
    let deals = get(
        &sim,
        &format!("/deals?limit=100&filters[updated_after]={since}T00:00:00-05:00"),
    )
    .await;
    let stubs = deals["deals"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| d["isDisabled"] == true)
        .count();
    assert_eq!(
        stubs, 3,
        "permission stubs come back whatever the date filter"
    );
    sim.stop().await;
}

#[tokio::test]
async fn restricted_deals_are_permission_stubs() {
    let sim = start(20, 30).await;
    let restricted = sim.restricted_deal_ids();
    assert_eq!(restricted.len(), 3);
    let one = get(&sim, &format!("/deals/{}", restricted[0])).await;
    let keys: BTreeSet<&str> = one["deal"]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "isDisabled", "status", "title"])
    );
    assert_eq!(one["deal"]["isDisabled"], true);
    sim.stop().await;
}

#[tokio::test]
async fn deleted_contacts_and_deals_are_gone() {
    let sim = start(20, 10).await;
    let client = reqwest::Client::new();
    let del = client
        .delete(format!("{}/contacts/7", sim.api_url()))
        .header("Api-Token", sim.api_token())
        .send()
        .await
        .expect("sent");
    assert_eq!(del.status(), 200);
    let res = get_raw(&sim, "/contacts/7").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.expect("JSON");
    assert_eq!(body["message"], "No Result found for Subscriber with id 7");
    let list = get(&sim, "/contacts?limit=100").await;
    assert_eq!(list["meta"]["total"], "19");
    assert!(!ids(&list["contacts"]).contains(&7));
    let gone = sim.delete_deals(2);
    assert_eq!(gone.len(), 2);
    assert_eq!(
        get_raw(&sim, &format!("/deals/{}", gone[0])).await.status(),
        404
    );
    assert_eq!(get(&sim, "/deals").await["meta"]["total"], 8);
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_with_403() {
    let sim = start(5, 0).await;
    let client = reqwest::Client::new();
    let none = client
        .get(format!("{}/contacts", sim.api_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(none.status(), 403);
    let wrong = client
        .get(format!("{}/contacts", sim.api_url()))
        .header("Api-Token", "nope")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 403);
    assert!(wrong.json::<Value>().await.expect("JSON")["message"].is_string());
    assert_eq!(sim.stats().api_forbidden, 2);
    sim.stop().await;
}

#[tokio::test]
async fn going_over_the_rate_limit_gives_429_with_headers() {
    let sim = FakeAc::start(FakeAcConfig {
        rate_limit: 2,
        ..config(5, 0)
    })
    .await
    .expect("starts");
    let mut throttled = None;
    for _ in 0..10 {
        let res = get_raw(&sim, "/tags").await;
        if res.status() == 429 {
            throttled = Some(res);
            break;
        }
        assert_eq!(res.headers()["RateLimit-Limit"], "2");
    }
    let res = throttled.expect("a burst of 10 exceeds 2 per second");
    assert!(
        res.headers()["Retry-After"]
            .to_str()
            .expect("ascii")
            .parse::<u64>()
            .expect("seconds")
            >= 1
    );
    assert_eq!(res.headers()["RateLimit-Limit"], "2");
    assert_eq!(res.headers()["RateLimit-Remaining"], "0");
    assert!(sim.stats().api_throttled >= 1);
    sim.stop().await;
}

#[tokio::test]
async fn injected_faults_are_served_and_counted() {
    let sim = start(5, 0).await;
    sim.set_api_faults(ApiFaults {
        burst_503: 1.0,
        burst_503_len: 3,
        ..ApiFaults::default()
    });
    assert_eq!(get_raw(&sim, "/tags").await.status(), 503);
    sim.set_api_faults(ApiFaults {
        truncate: 1.0,
        slow: 1.0,
        latency: Duration::from_millis(5),
        ..ApiFaults::default()
    });
    let text = get_raw(&sim, "/tags").await.text().await.expect("body");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "a cut body is not JSON"
    );
    sim.set_api_faults(ApiFaults {
        forbidden: 1.0,
        ..ApiFaults::default()
    });
    assert_eq!(get_raw(&sim, "/tags").await.status(), 403);
    let s = sim.stats();
    assert_eq!(
        (
            s.api_unavailable,
            s.api_truncated,
            s.api_slowed,
            s.api_forbidden
        ),
        (1, 1, 1, 1)
    );
    sim.stop().await;
}

#[tokio::test]
async fn webhooks_can_be_created_listed_updated_and_deleted() {
    let sim = start(5, 0).await;
    let client = reqwest::Client::new();
    let url = format!("{}/webhooks", sim.api_url());
    let body = serde_json::json!({ "webhook": { "name": "mirror", "url": "http://127.0.0.1:9/hook", "events": ["update"], "sources": ["admin", "api"] } });
    let created = client
        .post(&url)
        .header("Api-Token", sim.api_token())
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("JSON")["webhook"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let found = get(&sim, "/webhooks?filters[url]=http://127.0.0.1:9/hook").await;
    assert_eq!(
        (
            found["meta"]["total"].as_str(),
            ids(&found["webhooks"]).len()
        ),
        (Some("1"), 1)
    );
    assert_eq!(
        get(&sim, "/webhooks?filters[url]=http://elsewhere").await["meta"]["total"],
        "0"
    );
    let put = serde_json::json!({ "webhook": { "events": ["update", "subscribe"] } });
    let updated = client
        .put(format!("{url}/{id}"))
        .header("Api-Token", sim.api_token())
        .json(&put)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        updated.json::<Value>().await.expect("JSON")["webhook"]["events"],
        serde_json::json!(["update", "subscribe"])
    );
    let deleted = client
        .delete(format!("{url}/{id}"))
        .header("Api-Token", sim.api_token())
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        get_raw(&sim, &format!("/webhooks/{id}")).await.status(),
        404
    );
    sim.stop().await;
}

/// Reads every contact and deal through the API, as a full reconciliation would.
/// Contacts, deals, deal custom field values and deal contacts as the API shows them.
type ReadBack = (
    BTreeMap<i64, ContactTruth>,
    BTreeMap<i64, DealTruth>,
    BTreeMap<String, String>,
    BTreeMap<i64, DealContactTruth>,
);

async fn read_back(sim: &FakeAcHandle) -> ReadBack {
    let (mut contacts, mut last) = (BTreeMap::new(), 0);
    loop {
        let page = get(sim, &format!("/contacts?orders[id]=ASC&id_greater={last}&limit=100&include=contactTags.tag,fieldValues,contactLists")).await;
        let tag_names: BTreeMap<String, String> = page["tags"]
            .as_array()
            .expect("array")
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().expect("id").to_string(),
                    t["tag"].as_str().expect("name").to_string(),
                )
            })
            .collect();
        let list = page["contacts"].as_array().expect("array");
        if list.is_empty() {
            break;
        }
        for c in list {
            let id: i64 = c["id"].as_str().expect("id").parse().expect("numeric");
            let s = |k: &str| norm(c[k].as_str().map(str::to_string));
            let mut t = ContactTruth {
                email: s("email"),
                first_name: s("firstName"),
                last_name: s("lastName"),
                phone: s("phone"),
                ..ContactTruth::default()
            };
            let mine = |row: &&Value| row["contact"].as_str() == Some(&id.to_string());
            for row in page["contactTags"]
                .as_array()
                .expect("array")
                .iter()
                .filter(mine)
            {
                let name = tag_names[row["tag"].as_str().expect("tag")].clone();
                let added =
                    chrono::DateTime::parse_from_rfc3339(row["cdate"].as_str().expect("cdate"))
                        .expect("offset time")
                        .timestamp();
                t.tag_times.insert(name.clone(), added);
                t.tags.insert(name);
            }
            for row in page["fieldValues"]
                .as_array()
                .expect("array")
                .iter()
                .filter(mine)
            {
                let v = row["value"].as_str().expect("value");
                if !v.is_empty() {
                    t.field_values.insert(
                        row["field"]
                            .as_str()
                            .expect("field")
                            .parse()
                            .expect("numeric"),
                        v.to_string(),
                    );
                }
            }
            for row in page["contactLists"]
                .as_array()
                .expect("array")
                .iter()
                .filter(mine)
            {
                let list: i64 = row["list"].as_str().expect("list").parse().expect("n");
                t.lists.insert(
                    list,
                    row["status"].as_str().expect("status").parse().expect("n"),
                );
                let at = |k: &str| {
                    row[k].as_str().map(|v| {
                        chrono::DateTime::parse_from_rfc3339(v)
                            .expect("offset time")
                            .timestamp()
                    })
                };
                let times = ListTimes {
                    subscribed_at: at("sdate"),
                    unsubscribed_at: at("udate"),
                    reason: norm(row["unsubreason"].as_str().map(str::to_string)),
                };
                t.list_times.insert(list, times);
            }
            contacts.insert(id, t);
            last = id;
        }
    }
    let mut deals = BTreeMap::new();
    let mut values = BTreeMap::new();
    let mut links = BTreeMap::new();
    for offset in (0..).step_by(100) {
        let page = get(
            sim,
            &format!("/deals?orders[cdate]=ASC&limit=100&offset={offset}"),
        )
        .await;
        let list = page["deals"].as_array().expect("array");
        if list.is_empty() {
            break;
        }
        for d in list {
            let num = |k: &str| d[k].as_str().and_then(|v| v.parse::<i64>().ok());
            let t = DealTruth {
                title: norm(d["title"].as_str().map(str::to_string)),
                value_cents: num("value"),
                currency: norm(d["currency"].as_str().map(str::to_string)),
                pipeline_id: num("group"),
                stage_id: num("stage"),
                owner_id: num("owner"),
                contact_id: num("contact"),
                status: num("status").map(|s| s as i32),
                account_id: num("account"),
            };
            deals.insert(num("id").expect("id"), t);
        }
    }
    for v in all_pages(sim, "dealCustomFieldData").await {
        let deal = v["dealId"].as_i64().expect("dealId is a number");
        let field = v["customFieldId"]
            .as_i64()
            .expect("customFieldId is a number");
        let value = v["fieldValue"].as_str().expect("fieldValue").to_string();
        values.insert(acmirror_sim::truth::value_key(deal, field), value);
    }
    for v in all_pages(sim, "contactDeals").await {
        let num = |k: &str| v[k].as_str().and_then(|s| s.parse::<i64>().ok());
        let link = DealContactTruth {
            deal_id: num("deal").expect("deal"),
            contact_id: num("contact").expect("contact"),
            role_id: num("role"),
        };
        links.insert(num("id").expect("id"), link);
    }
    (contacts, deals, values, links)
}

/// Every record of an offset-paged collection, 100 per request.
async fn all_pages(sim: &FakeAcHandle, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for offset in (0..).step_by(100) {
        let page = get(sim, &format!("/{key}?limit=100&offset={offset}")).await;
        let list = page[key].as_array().expect("array").clone();
        let n = list.len();
        out.extend(list);
        if n < 100 {
            return out;
        }
    }
    out
}

#[tokio::test]
async fn the_api_shows_exactly_the_truth() {
    let sim = start(230, 120).await;
    sim.run_changes(300).await;
    sim.bulk_import(15);
    sim.delete_contacts(5);
    sim.delete_deals(5);
    let (contacts, deals, values, links) = read_back(&sim).await;
    let truth = sim.truth();
    assert!(
        truth.contacts.len() > 240,
        "imports and created contacts are live"
    );
    assert!(
        contacts == truth.contacts,
        "contacts read back differ from the truth"
    );
    assert!(
        deals == truth.deals,
        "deals read back differ from the truth"
    );
    assert!(!values.is_empty() && !links.is_empty());
    assert_eq!(values, truth.deal_field_values);
    assert_eq!(links, truth.deal_contacts);
    let served: acmirror_sim::truth::Snapshot =
        reqwest::get(format!("{}/__fake/truth", sim.base_url()))
            .await
            .expect("sent")
            .json()
            .await
            .expect("JSON");
    assert_eq!(served, truth);
    sim.stop().await;
}

#[tokio::test]
async fn the_same_seed_generates_the_same_account() {
    let (a, b) = (start(100, 40).await, start(100, 40).await);
    assert_eq!(a.truth(), b.truth());
    let without_links = |mut page: Value| {
        for c in page["contacts"].as_array_mut().expect("array") {
            c.as_object_mut().expect("object").remove("links");
        }
        page["contacts"].take()
    };
    let (pa, pb) = (
        get(&a, "/contacts?limit=100").await,
        get(&b, "/contacts?limit=100").await,
    );
    assert!(
        without_links(pa) == without_links(pb),
        "the API pages differ"
    );
    let c = FakeAc::start(FakeAcConfig {
        seed: 2,
        ..config(100, 40)
    })
    .await
    .expect("starts");
    assert_ne!(a.truth().contacts, c.truth().contacts);
    for sim in [a, b, c] {
        sim.stop().await;
    }
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: acmirror_sim::fake_ac::FakeAcArgs,
}

#[tokio::test]
async fn the_command_parses_its_options_and_runs_until_shutdown() {
    use clap::Parser;
    let cli = Cli::parse_from([
        "fake-ac",
        "--listen",
        "127.0.0.1:0",
        "--contacts",
        "10",
        "--change-rate",
        "20",
        "--drop",
        "0.5",
    ]);
    assert_eq!(cli.args.api_token, "fake-token");
    let config = cli.args.config();
    assert_eq!(
        (
            config.contacts,
            config.rate_limit,
            config.webhook_faults.drop
        ),
        (10, 5, 0.5)
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(acmirror_sim::fake_ac::run(cli.args, shutdown.clone()));
    shutdown.cancel();
    task.await.expect("joined").expect("runs and stops cleanly");
}
