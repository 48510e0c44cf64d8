//! Notes and deal tasks: lost deliveries, upstream edits and deletions repaired by a full
//! reconciliation, and one row per contact note whichever way it arrives first. Runs on the
//! backend under test (SQLite, or PostgreSQL with `ACMIRROR_TEST_DATABASE_URL`).

use acmirror::reconcile::Mode;
use acmirror_sim::fake_ac::{FakeAcConfig, WebhookFaults};
use acmirror_sim::harness::SimWorld;
use acmirror_sim::truth::Difference;

const NOTE_TABLES: [&str; 3] = ["deal_notes", "contact_notes", "deal_tasks"];

/// Tables whose collections the API cannot filter by modification time: full runs repair them.
const CRM_TABLES: [&str; 4] = [
    "accounts",
    "account_contacts",
    "deal_field_values",
    "deal_contacts",
];

fn small(seed: u64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 120,
        deals: 40,
        rate_limit: 0,
        ..FakeAcConfig::default()
    }
}

fn show(d: &[Difference]) -> String {
    d.iter()
        .take(10)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn in_table<'a>(d: &'a [Difference], table: &str) -> Vec<&'a Difference> {
    d.iter().filter(|x| x.table == table).collect()
}

/// Rows marked deleted in each of the three tables.
async fn deleted_rows(w: &SimWorld) -> (i64, i64, i64) {
    w.app
        .with_conn(|c| {
            use acmirror::db::schema::{contact_notes as cn, deal_notes as dn, deal_tasks as dt};
            use diesel::prelude::*;
            let d: i64 = dn::table
                .filter(dn::deleted_at.is_not_null())
                .count()
                .get_result(c)
                .expect("q");
            let n: i64 = cn::table
                .filter(cn::deleted_at.is_not_null())
                .count()
                .get_result(c)
                .expect("q");
            let t: i64 = dt::table
                .filter(dt::deleted_at.is_not_null())
                .count()
                .get_result(c)
                .expect("q");
            (d, n, t)
        })
        .await
}

#[tokio::test]
async fn lost_note_and_task_deliveries_are_repaired_by_a_full_run() {
    let w = SimWorld::start(small(31)).await;
    w.reconcile(Mode::Full).await;
    // Tasks exist in the mirror first, so that lost completions can be seen as such.
    w.sim.run_changes(800).await;
    assert!(w.differences().await.is_empty(), "lossless webhooks");
    w.sim.set_webhook_faults(WebhookFaults {
        drop: 1.0,
        ..WebhookFaults::default()
    });
    w.sim.run_changes(600).await;
    let before = w.differences().await;
    for table in NOTE_TABLES {
        assert!(
            in_table(&before, table)
                .iter()
                .any(|d| d.what == "missing from the mirror"),
            "lost {table} additions:\n{}",
            show(&before)
        );
    }
    assert!(
        in_table(&before, "deal_tasks")
            .iter()
            .any(|d| d.what.contains("done: false") && d.what.contains("done: true")),
        "a lost deal_task_complete:\n{}",
        show(
            &in_table(&before, "deal_tasks")
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        )
    );

    let inc = w.reconcile(Mode::Incremental).await;
    let after_inc = w.differences().await;
    assert!(
        after_inc
            .iter()
            .all(|d| NOTE_TABLES.contains(&d.table) || CRM_TABLES.contains(&d.table)),
        "an incremental run repairs everything but notes, tasks and the CRM tables:\n{}",
        show(&after_inc)
    );
    assert!(inc.counters.changed > 0);

    let full = w.reconcile(Mode::Full).await;
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences after the full run:\n{}",
        after.len(),
        show(&after)
    );
    assert!(
        full.counters.changed >= after_inc.len() as i64,
        "each remaining difference took at least one row change"
    );
    assert_eq!(full.counters.deleted, 0, "nothing was deleted upstream");
}

#[tokio::test]
async fn upstream_note_edits_task_changes_and_deletions_reach_the_mirror() {
    let w = SimWorld::start(small(32)).await;
    w.reconcile(Mode::Full).await;
    w.sim.run_changes(600).await;
    assert!(w.differences().await.is_empty(), "lossless webhooks");
    let churn = w.sim.churn_notes_and_tasks(60);
    assert!(
        churn.notes_edited > 0
            && churn.notes_deleted > 0
            && churn.tasks_edited > 0
            && churn.tasks_deleted > 0,
        "{churn:?}"
    );
    let before = w.differences().await;
    assert!(!before.is_empty(), "no webhook tells of these changes");

    let full = w.reconcile(Mode::Full).await;
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences after the full run:\n{}",
        after.len(),
        show(&after)
    );
    let (deal_notes, contact_notes, tasks) = deleted_rows(&w).await;
    assert_eq!(
        (deal_notes + contact_notes, tasks),
        (churn.notes_deleted as i64, churn.tasks_deleted as i64),
        "deleted notes and tasks are marked, not removed"
    );
    assert_eq!(
        full.counters.deleted,
        (churn.notes_deleted + churn.tasks_deleted) as i64
    );

    // A second full run finds nothing more to do, and the marks hold.
    let again = w.reconcile(Mode::Full).await;
    assert_eq!((again.counters.changed, again.counters.deleted), (0, 0));
    assert!(w.differences().await.is_empty());
}

/// Contact note rows: (contact, text, event id, ActiveCampaign id), live ones only.
async fn contact_note_rows(w: &SimWorld) -> Vec<(i64, String, Option<i64>, Option<i64>)> {
    w.app
        .with_conn(|c| {
            use acmirror::db::schema::contact_notes as cn;
            use diesel::prelude::*;
            cn::table
                .filter(cn::deleted_at.is_null())
                .select((cn::contact_id, cn::note, cn::event_id, cn::ac_id))
                .order(cn::id)
                .load(c)
                .expect("q")
        })
        .await
}

#[tokio::test]
async fn a_contact_note_from_a_webhook_and_from_the_api_is_one_row() {
    let w = SimWorld::start(small(33)).await;
    w.reconcile(Mode::Full).await;

    // Webhook first, then the API: the API note adopts the webhook's row.
    w.sim.run_changes(300).await;
    assert!(w.differences().await.is_empty());
    let from_hooks = contact_note_rows(&w).await;
    assert!(!from_hooks.is_empty(), "the driver wrote contact notes");
    w.reconcile(Mode::Full).await;
    let rows = contact_note_rows(&w).await;
    assert_eq!(rows.len(), from_hooks.len(), "no second row per note");
    assert!(
        rows.iter().all(|r| r.2.is_some() && r.3.is_some()),
        "each row has its delivery and its id: {rows:?}"
    );

    // API first, then a late delivery of the same note: it joins the row.
    w.sim.set_down(true);
    w.sim.run_changes(300).await;
    w.sim.flush().await;
    w.sim.set_down(false);
    w.reconcile(Mode::Full).await;
    assert!(w.differences().await.is_empty());
    let api_notes = w.rec.client().notes().await.expect("notes");
    let late = api_notes
        .iter()
        .filter(|n| n.contact_id().is_some())
        .find(|n| !rows.iter().any(|r| r.3 == Some(n.id)))
        .expect("a contact note added while webhooks were down");
    let contact = late.contact_id().expect("a contact note");
    let at = late.cdate.expect("cdate").to_rfc3339();
    let body = format!(
        "type=subscriber_note&date_time={}&initiated_from=admin&list=0&note={}&contact%5Bid%5D={contact}",
        urlencoding(&at),
        urlencoding(&late.note)
    );
    let before = contact_note_rows(&w).await.len();
    for _ in 0..2 {
        assert_eq!(w.app.post(&body).await, 200);
        w.app.apply_all().await;
    }
    let rows = contact_note_rows(&w).await;
    assert_eq!(rows.len(), before, "the late delivery added no row");
    let joined: Vec<_> = rows.iter().filter(|r| r.3 == Some(late.id)).collect();
    assert_eq!(joined.len(), 1);
    assert!(joined[0].2.is_some(), "the row now names its delivery");
    assert!(w.differences().await.is_empty());
    let again = w.reconcile(Mode::Full).await;
    assert_eq!((again.counters.changed, again.counters.deleted), (0, 0));
    assert_eq!(contact_note_rows(&w).await.len(), before);
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn task_versions_decide_completion_and_only_a_sighting_revives_a_deleted_task() {
    use acmirror::mirror::notes::{self, Done, Kind, TaskState};
    let app = acmirror_sim::harness::TestApp::spawn().await;
    let at = |s: i64| {
        chrono::DateTime::from_timestamp(1_800_000_000 + s, 0)
            .expect("valid")
            .naive_utc()
    };
    let task = move |done: Done, v: i64| TaskState {
        id: 77,
        deal_id: 5,
        task_type: Some("Call".into()),
        title: Some(String::new()),
        note: Some("agenda".into()),
        due_at: Some(at(9_000)),
        done,
        source_time: at(v),
    };
    let done_at = |c: &mut acmirror::db::DbConn| {
        use acmirror::db::schema::deal_tasks as dt;
        use diesel::prelude::*;
        dt::table
            .find(77)
            .select((dt::done_at, dt::deleted_at.is_not_null()))
            .first::<(Option<chrono::NaiveDateTime>, bool)>(c)
            .expect("row")
    };
    app.with_conn(move |c| {
        let now = at(100_000);
        // A delivered completion at t=20 with its exact time.
        assert!(
            notes::upsert_task(c, &task(Done::Exact(Some(at(20))), 20), false, now).expect("write")
        );
        // An API read from before the completion (udate 10, open) changes nothing.
        assert!(!notes::upsert_task(c, &task(Done::Open, 10), true, now).expect("write"));
        assert_eq!(done_at(c), (Some(at(20)), false));
        // The API shows it done later without a time: the exact time is kept.
        notes::upsert_task(c, &task(Done::Approx(at(30)), 30), true, now).expect("write");
        assert_eq!(done_at(c), (Some(at(20)), false));
        // Reopened upstream (no webhook exists for that), seen by a newer read.
        assert!(notes::upsert_task(c, &task(Done::Open, 40), true, now).expect("write"));
        assert_eq!(done_at(c), (None, false));
        // Deleted upstream: a late delivery does not bring it back, a sighting does.
        assert_eq!(
            notes::mark_deleted(c, Kind::DealTasks, &[77], at(50), now).expect("write"),
            1
        );
        notes::upsert_task(c, &task(Done::Exact(Some(at(45))), 45), false, now).expect("write");
        assert!(done_at(c).1, "still deleted after a stale delivery");
        assert!(notes::upsert_task(c, &task(Done::Open, 60), true, now).expect("write"));
        assert_eq!(done_at(c), (None, false));
    })
    .await;
}

/// A contact note whose delivery was lost is mirrored from the API; a second note of the same
/// text made on the same contact soon after is a new row, not that one's late delivery; the
/// late delivery itself (dated the note's creation second) still joins the API row.
#[tokio::test]
async fn a_same_text_note_made_soon_after_a_lost_one_is_its_own_row() {
    use acmirror::db::schema::contact_notes as cn;
    use acmirror::mirror::notes::{self, NoteState};
    use diesel::prelude::*;

    let w = SimWorld::start(small(5)).await;
    let t0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("time");
    let later = t0 + chrono::Duration::seconds(20);
    let rows = w
        .app
        .with_conn(move |c| {
            let now = acmirror::time::now();
            let api = NoteState {
                id: 30,
                parent_id: 99,
                note: "Called, left a voicemail".into(),
                created_at: Some(t0),
                source_time: t0,
            };
            notes::upsert_api_contact_note(c, &api, now).expect("api note");
            notes::add_contact_note(c, 748, 99, "Called, left a voicemail", later, now)
                .expect("second note");
            notes::add_contact_note(c, 749, 99, "Called, left a voicemail", t0, now)
                .expect("late delivery of the first");
            cn::table
                .filter(cn::contact_id.eq(99))
                .order(cn::id)
                .select((cn::ac_id, cn::event_id, cn::created_at))
                .load::<(Option<i64>, Option<i64>, Option<chrono::NaiveDateTime>)>(c)
                .expect("rows")
        })
        .await;
    assert_eq!(
        rows,
        vec![
            (Some(30), Some(749), Some(t0)),
            (None, Some(748), Some(later)),
        ]
    );
}
