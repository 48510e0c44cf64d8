//! The simulator's webhook deliveries: wire format, completeness and faults.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use acmirror_sim::fake_ac::{FakeAc, FakeAcConfig, FakeAcHandle, WebhookFaults};
use acmirror_sim::truth::{
    norm, AccountContactTruth, AccountTruth, DealTruth, ListTimes, Snapshot,
};
use chrono::DateTime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

async fn start(target: Option<String>, faults: WebhookFaults) -> FakeAcHandle {
    let config = FakeAcConfig {
        contacts: 60,
        deals: 30,
        rate_limit: 0,
        webhook_target: target,
        webhook_faults: faults,
        epoch: Some("2026-06-01T00:00:00Z".parse().expect("valid time")),
        ..FakeAcConfig::default()
    };
    FakeAc::start(config).await.expect("simulator starts")
}

/// Raw bodies in arrival order.
async fn bodies(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.expect("recording is on");
    requests
        .into_iter()
        .map(|r| String::from_utf8(r.body).expect("UTF-8 body"))
        .collect()
}

/// A decoded body, key to value.
type Pairs = BTreeMap<String, String>;

fn decode(body: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// Splits `contact[tags]`, keeping known names that contain ", " whole.
fn split_tags(joined: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let pieces: Vec<&str> = if joined.is_empty() {
        Vec::new()
    } else {
        joined.split(", ").collect()
    };
    let (mut out, mut i) = (BTreeSet::new(), 0);
    while i < pieces.len() {
        let take = (i + 1..=pieces.len())
            .rev()
            .find(|j| known.contains(&pieces[i..*j].join(", ")))
            .unwrap_or(i + 1);
        out.insert(pieces[i..take].join(", "));
        i = take;
    }
    out
}

fn cents(raw: &str) -> i64 {
    let (units, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let frac = format!("{frac:0<2}");
    units.parse::<i64>().expect("units") * 100 + frac[..2].parse::<i64>().expect("cents")
}

/// What SPEC section 4 says a mirror does with one delivery, minus the staleness rule
/// (deliveries arrive in order here).
fn apply(mirror: &mut Snapshot, p: &BTreeMap<String, String>) {
    let known: BTreeSet<String> = mirror.tags.keys().cloned().collect();
    if let Some(id) = p.get("contact[id]").and_then(|v| v.parse::<i64>().ok()) {
        let c = mirror.contacts.entry(id).or_default();
        c.email = norm(p.get("contact[email]").cloned());
        c.first_name = norm(p.get("contact[first_name]").cloned());
        c.last_name = norm(p.get("contact[last_name]").cloned());
        c.phone = norm(p.get("contact[phone]").cloned());
        let tags = split_tags(&p["contact[tags]"], &known);
        let at = DateTime::parse_from_rfc3339(&p["date_time"])
            .expect("date_time")
            .timestamp();
        c.tag_times.retain(|t, _| tags.contains(t));
        for t in tags.difference(&c.tags) {
            c.tag_times.insert(t.clone(), at);
        }
        c.tags = tags;
        for (k, v) in p.iter().filter(|(k, _)| k.starts_with("contact[fields][")) {
            let field: i64 = k["contact[fields][".len()..k.len() - 1]
                .parse()
                .expect("numeric field id");
            if v.is_empty() {
                c.field_values.remove(&field);
            } else {
                c.field_values.insert(field, v.clone());
            }
        }
        let list: i64 = p["list"].parse().expect("list id");
        let held = c.list_times.get(&list).and_then(|t| t.subscribed_at);
        match p["type"].as_str() {
            "subscribe" if list != 0 => {
                c.lists.insert(list, 1);
                let times = ListTimes {
                    subscribed_at: held.or(Some(at)),
                    ..ListTimes::default()
                };
                c.list_times.insert(list, times);
            }
            "unsubscribe" => {
                c.lists.insert(list, 2);
                let times = ListTimes {
                    subscribed_at: held,
                    unsubscribed_at: Some(at),
                    reason: norm(p.get("unsubscribe[reason]").cloned()),
                };
                c.list_times.insert(list, times);
            }
            _ => {}
        }
    }
    if let Some(id) = p.get("deal[id]").and_then(|v| v.parse::<i64>().ok()) {
        let num = |k: &str| p[k].parse::<i64>().ok();
        let deal = DealTruth {
            title: norm(p.get("deal[title]").cloned()),
            value_cents: Some(cents(&p["deal[value_raw]"])),
            currency: norm(p.get("deal[currency]").cloned()),
            pipeline_id: num("deal[pipelineid]"),
            stage_id: num("deal[stageid]"),
            owner_id: num("deal[owner]"),
            contact_id: num("deal[contactid]").filter(|c| *c != 0),
            status: num("deal[status]").map(|s| s as i32),
            account_id: num("deal[orgid]").filter(|a| *a != 0),
        };
        mirror.deals.insert(id, deal);
        mirror
            .deal_field_values
            .retain(|k, _| !k.starts_with(&format!("{id}/")));
        for (field, value) in positional_fields(p, "deal") {
            mirror
                .deal_field_values
                .insert(acmirror_sim::truth::value_key(id, field), value);
        }
    }
    if let Some(id) = p.get("account[id]").and_then(|v| v.parse::<i64>().ok()) {
        let account = AccountTruth {
            name: p["account[name]"].clone(),
            url: norm(p.get("account[account_url]").cloned()),
            field_values: positional_fields(p, "account"),
        };
        mirror.accounts.insert(id, account);
    }
    if let Some(id) = p
        .get("accountContact[id]")
        .and_then(|v| v.parse::<i64>().ok())
    {
        let num = |k: &str| p[k].parse::<i64>().expect("numeric id");
        let link = AccountContactTruth {
            account_id: num("accountContact[account]"),
            contact_id: num("accountContact[contact]"),
            job_title: norm(p.get("accountContact[job_title]").cloned()),
        };
        mirror.account_contacts.insert(id, link);
    }
}

/// `<block>[fields][N][id]` with `<block>[fields][N][value]`, the non-empty ones by id.
fn positional_fields(p: &Pairs, block: &str) -> BTreeMap<i64, String> {
    (0..)
        .map_while(|n| {
            let id = p.get(&format!("{block}[fields][{n}][id]"))?;
            let value = p.get(&format!("{block}[fields][{n}][value]"))?;
            Some((id.parse::<i64>().expect("field id"), value.clone()))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

#[tokio::test]
async fn a_mirror_applying_every_delivery_ends_identical_to_the_truth() {
    let server = receiver(200).await;
    let sim = start(Some(server.uri()), WebhookFaults::default()).await;
    let mut mirror = sim.truth();
    sim.run_changes(800).await;
    sim.flush().await;
    let received = bodies(&server).await;
    assert_eq!(received.len(), 800);
    for body in &received {
        apply(&mut mirror, &decode(body));
    }
    // This replay follows contacts and deals; notes and tasks (whose webhooks carry no note
    // id) are compared end to end through the daemon in tests/notes.rs.
    let mut truth = sim.truth();
    for s in [&mut mirror, &mut truth] {
        s.deal_notes.clear();
        s.contact_notes.clear();
        s.deal_tasks.clear();
    }
    let diff = acmirror_sim::truth::diff(&mirror, &truth);
    assert!(diff.is_empty(), "{:?}", &diff[..diff.len().min(5)]);
    sim.stop().await;
}

#[tokio::test]
async fn every_event_type_carries_its_wire_keys() {
    let server = receiver(200).await;
    let sim = start(Some(server.uri()), WebhookFaults::default()).await;
    sim.run_changes(1_500).await;
    sim.flush().await;
    let mut by_type: HashMap<String, Vec<(String, Pairs)>> = HashMap::new();
    for body in bodies(&server).await {
        let p = decode(&body);
        by_type
            .entry(p["type"].clone())
            .or_default()
            .push((body, p));
    }
    let contact = [
        "contact[id]",
        "contact[email]",
        "contact[tags]",
        "contact[ip]",
        "contact[fields][5]",
    ];
    let deal = [
        "deal[id]",
        "deal[value]",
        "deal[value_raw]",
        "deal[create_date_iso]",
        "deal[pipeline_title]",
        "deal[stage_title]",
        "deal[owner]",
        "deal[contactid]",
        "deal[status]",
    ];
    let expect: &[(&str, &[&str])] = &[
        ("subscribe", &contact),
        ("unsubscribe", &contact),
        ("update", &contact),
        ("contact_tag_added", &["tag", "contact[tags]"]),
        ("contact_tag_removed", &["tag", "contact[tags]"]),
        ("subscriber_note", &["note", "contact[id]"]),
        ("deal_add", &deal),
        (
            "deal_update",
            &["updated_fields[0]", "deal[id]", "contact[id]"],
        ),
        ("deal_note_add", &["note[id]", "note[text]", "deal[id]"]),
        (
            "deal_task_add",
            &[
                "task[id]",
                "task[type_title]",
                "task[duedate_iso]",
                "deal[id]",
            ],
        ),
        ("deal_task_complete", &["task[donedate_iso]", "deal[id]"]),
        ("open", &["campaign[id]", "contact[id]"]),
        ("click", &["link[url]", "contact[id]"]),
    ];
    for (kind, keys) in expect {
        let events = by_type
            .get(*kind)
            .unwrap_or_else(|| panic!("no {kind} event"));
        for (raw, p) in events {
            for key in [
                "type",
                "date_time",
                "initiated_from",
                "initiated_by",
                "list",
            ]
            .iter()
            .chain(keys.iter())
            {
                assert!(p.contains_key(*key), "{kind} lacks {key}: {raw}");
            }
            let t = DateTime::parse_from_rfc3339(&p["date_time"]).expect("ISO date_time");
            assert!(
                [-5 * 3600, -6 * 3600].contains(&t.offset().local_minus_utc()),
                "{raw}"
            );
            assert!(
                raw.contains("%5B") && !raw.contains('[') && !raw.contains(' '),
                "{raw}"
            );
        }
    }
    assert!(by_type["deal_note_add"]
        .iter()
        .all(|(_, p)| !p.contains_key("contact[id]")));
    let first_add = &by_type["deal_add"][0].1;
    assert!(first_add["deal[value]"].ends_with(&format!(
        ".{:0>2}",
        cents(&first_add["deal[value_raw]"]) % 100
    )));
    assert!(
        by_type["subscribe"].iter().any(|(_, p)| p["list"] == "0"),
        "a created contact has list 0"
    );
    sim.stop().await;
}

#[tokio::test]
async fn each_record_gets_strictly_increasing_times_and_the_api_shows_the_last() {
    let server = receiver(200).await;
    let sim = start(Some(server.uri()), WebhookFaults::default()).await;
    sim.run_changes(600).await;
    sim.flush().await;
    let mut last: HashMap<String, i64> = HashMap::new();
    for body in bodies(&server).await {
        let p = decode(&body);
        let t = DateTime::parse_from_rfc3339(&p["date_time"])
            .expect("ISO")
            .timestamp();
        for key in ["contact[id]", "deal[id]"] {
            if p["type"] == "deal_note_add" && key == "contact[id]" {
                continue;
            }
            if let Some(id) = p.get(key) {
                if let Some(prev) = last.insert(format!("{key}{id}"), t) {
                    assert!(t > prev, "{key} {id}: {prev} then {t}");
                }
            }
        }
    }
    let (key, t) = last
        .iter()
        .find(|(k, _)| k.starts_with("contact[id]"))
        .expect("a contact event");
    let id = &key["contact[id]".len()..];
    let res: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/contacts/{id}", sim.api_url()))
        .header("Api-Token", sim.api_token())
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let udate = DateTime::parse_from_rfc3339(res["contact"]["udate"].as_str().expect("udate"))
        .expect("ISO");
    assert_eq!(udate.timestamp(), *t, "udate is the time of the last event");
    sim.stop().await;
}

#[tokio::test]
async fn drops_duplicates_delays_and_outages_are_counted() {
    let server = receiver(200).await;
    let faults = WebhookFaults {
        drop: 0.3,
        duplicate: 0.3,
        reorder: 0.3,
        max_delay: Duration::from_millis(20),
        down: false,
    };
    let sim = start(Some(server.uri()), faults).await;
    sim.run_changes(300).await;
    sim.flush().await;
    let s = sim.stats();
    assert_eq!(s.changes, 300);
    assert!(
        s.deliveries_dropped > 0 && s.deliveries_duplicated > 0 && s.deliveries_delayed > 0,
        "{s:?}"
    );
    assert_eq!(
        s.deliveries_sent,
        300 - s.deliveries_dropped + s.deliveries_duplicated
    );
    assert_eq!(s.deliveries_ok, s.deliveries_sent);
    assert_eq!(bodies(&server).await.len() as u64, s.deliveries_ok);

    sim.set_down(true);
    sim.run_changes(10).await;
    sim.flush().await;
    let after = sim.stats();
    assert_eq!(after.deliveries_failed, 10);
    assert_eq!(
        bodies(&server).await.len() as u64,
        s.deliveries_ok,
        "nothing arrives while down"
    );
    sim.stop().await;
}

#[tokio::test]
async fn registered_webhooks_receive_only_their_events_and_sources() {
    let server = receiver(200).await;
    let sim = start(None, WebhookFaults::default()).await;
    let body = serde_json::json!({ "webhook": {
        "name": "tags", "url": format!("{}/hook", server.uri()),
        "events": ["contact_tag_added", "contact_tag_removed"], "sources": ["admin", "api"] } });
    let res = reqwest::Client::new()
        .post(format!("{}/webhooks", sim.api_url()))
        .header("Api-Token", sim.api_token())
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 201);
    sim.run_changes(400).await;
    sim.flush().await;
    let received = bodies(&server).await;
    assert!(!received.is_empty());
    for b in &received {
        let p = decode(b);
        assert!(p["type"].starts_with("contact_tag_"), "{b}");
        assert!(
            ["admin", "api"].contains(&p["initiated_from"].as_str()),
            "{b}"
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_410_answer_switches_the_target_off_for_good() {
    let server = receiver(410).await;
    let sim = start(Some(server.uri()), WebhookFaults::default()).await;
    sim.run_changes(5).await;
    sim.flush().await;
    assert_eq!(bodies(&server).await.len(), 1);
    assert_eq!(sim.stats().deliveries_failed, 1);
    sim.stop().await;
}

#[tokio::test]
async fn imports_and_deletions_send_no_webhooks() {
    let server = receiver(200).await;
    let sim = start(Some(server.uri()), WebhookFaults::default()).await;
    let ids = sim.bulk_import(25);
    assert_eq!(ids.clone().count(), 25);
    assert_eq!(sim.delete_contacts(4).len(), 4);
    assert_eq!(sim.delete_deals(2).len(), 2);
    sim.flush().await;
    assert!(bodies(&server).await.is_empty());
    let truth = sim.truth();
    assert!(ids.clone().all(|id| truth.contacts.contains_key(&id)));
    assert_eq!(truth.contacts.len(), 60 + 25 - 4);
    assert_eq!(truth.deals.len(), 30 - 2);
    sim.stop().await;
}
