//! `status` and `events`.

use acmirror::db::schema::{contacts, deals, sync_runs as sr};
use acmirror::ops::events::{self, EventFilter};
use acmirror::ops::status;
use acmirror::webhook::store::{self, NewDelivery};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{acmirror, mirror_with, open, query, sample_bodies};
use acmirror_sim::harness::{fixtures, TestDb};

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("valid time")
        .with_timezone(&Utc)
}

/// Marks one contact and one deal deleted upstream, as a full reconciliation would.
fn mark_deleted(db: &TestDb) {
    query(db, |c| {
        let when = at("2026-02-01T00:00:00Z").naive_utc();
        diesel::update(contacts::table.find(3))
            .set(contacts::deleted_at.eq(when))
            .execute(c)
            .expect("contact marked");
        diesel::update(deals::table.find(1))
            .set(deals::deleted_at.eq(when))
            .execute(c)
            .expect("deal marked");
    });
}

#[tokio::test]
async fn status_counts_rows_and_deliveries_by_status() {
    let db = mirror_with(&sample_bodies()).await;
    mark_deleted(&db);

    let doc = query(&db, |c| status::collect(c, &db.settings(&[]))).expect("status");

    let n = &doc.counts;
    // subscribe: contact 10; update: contact 3 (deleted); deal_add: contact 9 and deal 1 (deleted).
    assert_eq!((n.contacts, n.contacts_deleted), (2, 1));
    assert_eq!((n.deals, n.deals_deleted), (0, 1));
    assert_eq!(
        (n.tags, n.contact_tags),
        (2, 2),
        "update carries tag1, tag2"
    );
    assert_eq!(n.lists, 1, "list_add");
    let w = &doc.webhooks;
    assert_eq!((w.pending, w.applied, w.ignored, w.failed), (0, 4, 1, 1));
    assert_eq!(
        w.last_event_type.as_deref(),
        Some("update"),
        "the bad update came last"
    );
    assert!(w.last_received_at.is_some());
    assert_eq!(
        (w.apply_lag_seconds, w.oldest_pending_received_at),
        (0, None)
    );
    assert!(doc.sync_runs.is_empty());
    assert_eq!(
        doc.database.backend,
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    // The JSON document served by /admin/status is the same document.
    let served = status::document(&open(&db), &db.settings(&[])).expect("document");
    let counts = serde_json::to_value(&doc.counts).expect("serialises");
    assert_eq!(served["counts"], counts);
    assert_eq!(served["webhooks"]["failed"], 1);
}

#[tokio::test]
async fn apply_lag_is_the_age_of_the_oldest_pending_delivery() {
    let db = TestDb::fresh();
    let settings = db.settings(&[]);
    acmirror::app::open_database(&settings)
        .await
        .expect("migrated");
    let received = at("2026-03-01T12:00:00Z").naive_utc();
    query(&db, |c| {
        for (i, body) in [fixtures::SUBSCRIBE, fixtures::UPDATE].iter().enumerate() {
            let when = received + chrono::Duration::seconds(30 * i as i64);
            let d = NewDelivery::from_body(super::form(body).into_bytes(), when);
            store::insert(c, &d).expect("stored");
        }
    });

    let now = at("2026-03-01T12:01:30Z");
    let doc = query(&db, |c| status::collect_at(c, &settings, now)).expect("status");

    assert_eq!(doc.webhooks.pending, 2);
    assert_eq!(doc.webhooks.apply_lag_seconds, 90);
    assert_eq!(
        doc.webhooks.oldest_pending_received_at,
        Some(received.and_utc())
    );
}

fn insert_run(c: &mut acmirror::db::DbConn, i: i64) {
    let started: NaiveDateTime =
        at("2026-04-01T00:00:00Z").naive_utc() + chrono::Duration::hours(i);
    let failed = i == 6;
    diesel::insert_into(sr::table)
        .values((
            sr::mode.eq(if i % 2 == 0 { "full" } else { "incremental" }),
            sr::run_trigger.eq("schedule"),
            sr::started_at.eq(started),
            sr::finished_at.eq(Some(started + chrono::Duration::minutes(2))),
            sr::status.eq(if failed { "failed" } else { "succeeded" }),
            sr::api_requests.eq(10 * i),
            sr::records_fetched.eq(100 * i),
            sr::records_changed.eq(i),
            sr::records_deleted.eq(0),
            sr::error.eq(failed.then_some("API answered 401")),
        ))
        .execute(c)
        .expect("run stored");
}

#[tokio::test]
async fn status_lists_the_last_five_runs_and_the_next_scheduled_ones() {
    let db = TestDb::fresh();
    let settings = db.settings(&[
        ("ACMIRROR_RECONCILE_CRON", "0 */15 * * * *"),
        ("ACMIRROR_AC_API_URL", "https://acct.api-us1.com"),
        ("ACMIRROR_AC_API_TOKEN", super::API_TOKEN),
    ]);
    acmirror::app::open_database(&settings)
        .await
        .expect("migrated");
    query(&db, |c| (1..=6).for_each(|i| insert_run(c, i)));

    let now = at("2026-04-01T10:07:00Z");
    let doc = query(&db, |c| status::collect_at(c, &settings, now)).expect("status");

    let ids: Vec<i64> = doc.sync_runs.iter().map(|r| r.id).collect();
    assert_eq!(ids, [6, 5, 4, 3, 2], "newest first, five of them");
    let newest = &doc.sync_runs[0];
    assert_eq!(
        (newest.mode.as_str(), newest.status.as_str()),
        ("full", "failed")
    );
    assert_eq!(
        (
            newest.api_requests,
            newest.records_fetched,
            newest.records_changed
        ),
        (60, 600, 6)
    );
    assert_eq!(newest.error.as_deref(), Some("API answered 401"));
    assert_eq!(
        doc.schedule.incremental.next_runs.first(),
        Some(&at("2026-04-01T10:15:00Z"))
    );
    assert_eq!(
        doc.schedule.full.cron, None,
        "disabled by the test settings"
    );
    assert!(doc.api.configured);
    let json = serde_json::to_string(&doc).expect("serialises");
    assert!(!json.contains(super::API_TOKEN) && !json.contains(acmirror_sim::harness::SECRET));
}

#[tokio::test]
async fn the_status_command_prints_counts_as_text_and_json_without_secrets() {
    let db = mirror_with(&sample_bodies()).await;
    mark_deleted(&db);

    let text = acmirror(&db, &[], &["status"]).await;
    let json = acmirror(&db, &[], &["status", "--json"]).await;

    assert_eq!(
        (text.code, json.code),
        (0, 0),
        "{}{}",
        text.stderr,
        json.stderr
    );
    text.assert_no_secrets();
    json.assert_no_secrets();
    let row = |name: &str| -> Vec<String> {
        let line = text
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .expect(name);
        line.split_whitespace().map(String::from).collect()
    };
    assert_eq!(row("contacts "), ["contacts", "2", "1"]);
    assert_eq!(row("deals "), ["deals", "0", "1"]);
    assert_eq!(
        row("failed "),
        [
            "failed",
            "1",
            "(see",
            "`acmirror",
            "events",
            "--failed`,",
            "fix,",
            "then",
            "`acmirror",
            "replay",
            "--failed`)"
        ]
    );
    assert!(
        text.stdout.contains("http://127.0.0.1:9/"),
        "the API URL is shown"
    );
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(doc["counts"]["contacts"], 2);
    assert_eq!(doc["counts"]["deals_deleted"], 1);
    assert_eq!(doc["webhooks"]["applied"], 4);
    assert_eq!(doc["webhooks"]["failed"], 1);
    assert_eq!(doc["api"]["configured"], true);
    assert_eq!(doc["api"]["reachable"], false, "nothing listens on port 9");
    assert!(doc["api"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("users/me")));
    if db.is_postgres() {
        assert!(doc["database"]["url"]
            .as_str()
            .expect("url")
            .contains("***"));
    }
}

#[tokio::test]
async fn help_never_shows_a_secret() {
    let db = TestDb::fresh();
    for cmd in [
        "status",
        "events",
        "replay",
        "register-webhook",
        "serve",
        "migrate",
    ] {
        let run = acmirror(&db, &[], &[cmd, "--help"]).await;
        assert_eq!(run.code, 0, "{cmd}: {}", run.stderr);
        run.assert_no_secrets();
    }
}

#[tokio::test]
async fn events_are_listed_newest_first_and_filtered() {
    let bodies = sample_bodies();
    let db = mirror_with(&bodies).await;
    let list = |f: EventFilter| query(&db, |c| events::list(c, &f)).expect("listed");

    let all = list(EventFilter::default());
    let failed = list(EventFilter {
        failed_only: true,
        ..Default::default()
    });
    let updates = list(EventFilter {
        event_type: Some("update".into()),
        ..Default::default()
    });
    let two = list(EventFilter {
        limit: 2,
        with_body: true,
        ..Default::default()
    });

    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!((ids.len(), ids), (6, sorted), "newest first");
    assert!(
        all.iter().all(|e| e.body.is_none()),
        "bodies only when asked"
    );
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("date_time"),
        "{failed:?}"
    );
    let statuses: Vec<&str> = updates.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["failed", "applied"]);
    assert_eq!(updates[1].contact_id, Some(3));
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].body.as_deref(), Some(bodies[5].as_str()));
}

#[tokio::test]
async fn the_events_command_prints_a_table_or_json_with_bodies() {
    let bodies = sample_bodies();
    let db = mirror_with(&bodies).await;

    let table = acmirror(&db, &[], &["events", "--type", "update"]).await;
    let json = acmirror(&db, &[], &["events", "--failed", "--json"]).await;
    let limited = acmirror(&db, &[], &["events", "--limit", "1", "--json"]).await;
    let bad = acmirror(&db, &[], &["events", "--limit", "0"]).await;

    assert_eq!(
        (table.code, json.code, limited.code),
        (0, 0, 0),
        "{}",
        table.stderr
    );
    table.assert_no_secrets();
    json.assert_no_secrets();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "header and two updates:\n{}", table.stdout);
    assert!(lines[0].starts_with("ID") && lines[0].contains("ERROR"));
    assert!(lines[1].contains("failed") && lines[1].contains("date_time"));
    assert!(lines[2].contains("applied") && !table.stdout.contains("contact[id]"));
    let failed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(failed.as_array().map(Vec::len), Some(1));
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["body"], bodies[5]);
    let limited: serde_json::Value = serde_json::from_str(&limited.stdout).expect("JSON");
    assert_eq!(limited.as_array().map(Vec::len), Some(1));
    assert_eq!(bad.code, 2, "a limit below 1 is bad usage");
}

#[tokio::test]
async fn commands_refuse_a_mirror_that_does_not_exist() {
    let db = TestDb::fresh();
    if db.is_postgres() {
        return; // a PostgreSQL database always exists; the SQLite file is what can be missing
    }

    let run = acmirror(&db, &[], &["status"]).await;

    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("acmirror migrate"), "{}", run.stderr);
    assert!(
        !std::path::Path::new(&db.url).exists(),
        "no empty mirror is created"
    );
}
