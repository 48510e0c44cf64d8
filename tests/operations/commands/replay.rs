//! `replay`.

use acmirror::db::schema::{contact_tag_states as cts, contacts, webhook_events as we};
use acmirror::metrics::Metrics;
use acmirror::ops::replay::{replay, Selector};
use diesel::prelude::*;

use super::{acmirror, deliveries, mirror_with, open, query, sample_bodies};
use acmirror_sim::harness::TestDb;

/// Contact 3 as the mirror holds it: scalar fields, version and present tags.
type ContactState = (
    Option<String>,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    Vec<String>,
);

fn contact_3(db: &TestDb) -> ContactState {
    query(db, |c| {
        let (email, first, updated) = contacts::table
            .find(3)
            .select((contacts::email, contacts::first_name, contacts::updated_at))
            .first(c)
            .expect("contact 3");
        let tags = cts::table
            .filter(cts::contact_id.eq(3).and(cts::present.eq(true)))
            .select(cts::tag)
            .order(cts::tag)
            .load(c)
            .expect("tags");
        (email, first, updated, tags)
    })
}

/// The id of the applied `update` delivery (contact 3).
fn update_id(db: &TestDb) -> i64 {
    query(db, |c| {
        we::table
            .filter(we::contact_id.eq(3).and(we::status.eq("applied")))
            .select(we::id)
            .first(c)
            .expect("the update delivery")
    })
}

#[tokio::test]
async fn replaying_an_applied_delivery_changes_nothing() {
    let db = mirror_with(&sample_bodies()).await;
    let before = contact_3(&db);
    let id = update_id(&db);

    let report = replay(&open(&db), &Metrics::new(), &Selector::Ids(vec![id])).expect("replayed");

    assert_eq!((report.requeued, report.applied, report.failed), (1, 1, 0));
    assert_eq!(report.others_applied, 0);
    assert_eq!(contact_3(&db), before);
    let row = deliveries(&db)
        .into_iter()
        .find(|d| d.0 == id)
        .expect("row");
    assert_eq!((row.1.as_str(), row.2), ("applied", None));
}

#[tokio::test]
async fn a_delivery_that_failed_during_an_outage_is_repaired_by_replay() {
    let db = mirror_with(&sample_bodies()).await;
    let good = contact_3(&db);
    let id = update_id(&db);
    // As if the apply had failed: the delivery is marked failed and the mirror lacks its state.
    query(&db, |c| {
        diesel::update(we::table.find(id))
            .set((
                we::status.eq("failed"),
                we::error.eq("database was read-only"),
            ))
            .execute(c)
            .expect("marked failed");
        diesel::update(contacts::table.find(3))
            .set(contacts::first_name.eq("stale"))
            .execute(c)
            .expect("damaged");
    });

    let run = acmirror(&db, &[], &["replay", "--failed"]).await;

    run.assert_no_secrets();
    assert_eq!(contact_3(&db), good, "the same-time delivery re-applies");
    let rows = deliveries(&db);
    let repaired = rows.iter().find(|d| d.0 == id).expect("row");
    assert_eq!((repaired.1.as_str(), &repaired.2), ("applied", &None));
    // The undecodable delivery was replayed too and still fails, with its reason.
    let bad = rows.last().expect("the bad delivery");
    assert_eq!(bad.1, "failed");
    assert!(
        bad.2.as_deref().unwrap_or("").contains("date_time"),
        "{bad:?}"
    );
    assert_eq!(run.code, 1, "a delivery still fails: {}", run.stdout);
    assert!(
        run.stdout.contains("Requeued 2 deliveries"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("applied        1"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("#{}: ", bad.0)),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("still fail"), "{}", run.stderr);
}

#[tokio::test]
async fn replay_needs_exactly_one_selector() {
    let db = mirror_with(&sample_bodies()).await;

    let none = acmirror(&db, &[], &["replay"]).await;
    let two = acmirror(&db, &[], &["replay", "--failed", "--id", "1"]).await;
    let bad_time = acmirror(&db, &[], &["replay", "--since", "yesterday"]).await;

    assert_eq!((none.code, two.code, bad_time.code), (2, 2, 2));
    assert!(none.stderr.contains("--failed"), "{}", none.stderr);
    assert!(bad_time.stderr.contains("RFC 3339"), "{}", bad_time.stderr);
    let statuses: Vec<String> = deliveries(&db).into_iter().map(|d| d.1).collect();
    assert!(
        !statuses.iter().any(|s| s == "pending"),
        "nothing was requeued"
    );
}

#[tokio::test]
async fn replay_since_selects_by_arrival_time() {
    let db = mirror_with(&sample_bodies()).await;

    let future = acmirror(&db, &[], &["replay", "--since", "2999-01-01T00:00:00Z"]).await;
    let all = replay(
        &open(&db),
        &Metrics::new(),
        &Selector::Since(chrono::DateTime::UNIX_EPOCH),
    )
    .expect("replayed");

    assert_eq!(future.code, 0, "{}", future.stderr);
    assert!(
        future.stdout.contains("Nothing to replay"),
        "{}",
        future.stdout
    );
    assert_eq!(
        (all.requeued, all.applied, all.ignored, all.failed),
        (6, 4, 1, 1)
    );
    assert_eq!(all.failures.len(), 1);
}

#[tokio::test]
async fn replaying_an_unknown_id_says_so() {
    let db = mirror_with(&sample_bodies()).await;

    let run = acmirror(&db, &[], &["replay", "--id", "999999"]).await;

    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("999999"), "{}", run.stderr);
}
