//! The webhook receiver and the mirror, end to end over HTTP, on the backend under test.
#![allow(clippy::type_complexity)] // row tuples read back from the mirror

use acmirror::db::schema::{
    contact_field_values as cfv, contact_lists, contact_notes, contact_tag_states as cts, contacts,
    deal_notes, deal_tasks, deals, lists, pipelines, stages, webhook_events as we,
};
use acmirror_sim::harness::fixtures::{self, form};
use acmirror_sim::harness::TestApp;
use diesel::prelude::*;

fn tags_of(conn: &mut acmirror::db::DbConn, id: i64) -> Vec<String> {
    cts::table
        .filter(cts::contact_id.eq(id))
        .filter(cts::present.eq(true))
        .select(cts::tag)
        .order(cts::tag)
        .load(conn)
        .expect("query")
}

async fn first_name_of(app: &TestApp, id: i64) -> Option<String> {
    app.with_conn(move |c| {
        contacts::table
            .find(id)
            .select(contacts::first_name)
            .first(c)
            .expect("row")
    })
    .await
}

fn event_rows(
    conn: &mut acmirror::db::DbConn,
) -> Vec<(Option<String>, String, Option<String>, i32)> {
    we::table
        .select((we::event_type, we::status, we::error, we::deliveries))
        .order(we::id)
        .load(conn)
        .expect("query")
}

#[tokio::test]
async fn captured_tag_added_body_is_mirrored() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post(fixtures::TAG_ADDED_CAPTURED).await, 200);
    app.apply_all().await;
    let (contact, tags, fields) = app
        .with_conn(|c| {
            let contact: (
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<chrono::NaiveDateTime>,
            ) = contacts::table
                .find(123456)
                .select((
                    contacts::email,
                    contacts::first_name,
                    contacts::last_name,
                    contacts::phone,
                    contacts::updated_at,
                ))
                .first(c)
                .expect("contact row");
            let fields: Vec<(i64, String)> = cfv::table
                .filter(cfv::contact_id.eq(123456))
                .select((cfv::field_id, cfv::value))
                .load(c)
                .expect("q");
            (contact, tags_of(c, 123456), fields)
        })
        .await;
    assert_eq!(contact.0.as_deref(), Some("robert@example.com"));
    assert_eq!(contact.1.as_deref(), Some("Robert"));
    assert_eq!(
        contact.2.as_deref(),
        Some(""),
        "empty free text stays empty"
    );
    assert_eq!(contact.3.as_deref(), Some("+1 555-010-1234"));
    assert_eq!(
        contact.4.map(|t| t.to_string()).as_deref(),
        Some("2026-07-18 03:01:25"),
        "date_time in UTC"
    );
    assert_eq!(
        tags,
        vec![
            "[KRC] RFC START - 07/20/26",
            "[KRC] Registered - 07/20/26",
            "[KRC] Registered for Challenge"
        ]
    );
    assert_eq!(
        fields,
        vec![(39, "11111111-2222-4333-8444-555555555555".to_owned())]
    );
}

#[tokio::test]
async fn wrong_secret_is_404_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let status = app
        .client
        .post(app.url("/webhooks/activecampaign/not-the-secret"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(fixtures::TAG_ADDED_CAPTURED)
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 404);
    assert!(app.with_conn(event_rows).await.is_empty());
}

#[tokio::test]
async fn wrong_media_type_is_415_and_oversized_body_is_413() {
    let app = TestApp::spawn().await;
    let json = app
        .client
        .post(app.webhook_url())
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(json.status(), 415);
    let charset = app
        .client
        .post(app.webhook_url())
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(fixtures::TAG_ADDED_CAPTURED)
        .send()
        .await
        .expect("request");
    assert_eq!(charset.status(), 200, "a charset parameter is accepted");
    let big = format!("type=update&note={}", "a".repeat(1024 * 1024 + 10));
    let status = app.post(&big).await;
    assert_eq!(status, 413);
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(health, 200);
    assert_eq!(app.with_conn(event_rows).await.len(), 1);
}

#[tokio::test]
async fn duplicate_delivery_is_counted_and_applied_once() {
    let app = TestApp::spawn().await;
    let body = form(fixtures::SUBSCRIBER_NOTE);
    assert_eq!(app.post(&body).await, 200);
    app.apply_all().await;
    assert_eq!(app.post(&body).await, 200);
    app.apply_all().await;
    let (events, notes) = app
        .with_conn(|c| {
            (
                event_rows(c),
                contact_notes::table
                    .count()
                    .get_result::<i64>(c)
                    .expect("q"),
            )
        })
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1, "applied");
    assert_eq!(events[0].3, 2, "deliveries counts the repeat");
    assert_eq!(notes, 1);
}

/// A `type` far past what an index entry holds is stored (shortened in `event_type`, whole in
/// the body) and kept for replay like any unknown event; a thousand deliveries of one type
/// leave the column indexed as usual.
#[tokio::test]
async fn an_overlong_event_type_is_stored_shortened_and_the_body_kept_whole() {
    let app = TestApp::spawn().await;
    let long_type = "x".repeat(5_000);
    let body = form(&format!(
        "type={long_type}\ndate_time=2026-11-20T10:00:00-06:00\ninitiated_from=admin\ncontact[id]=77\ncontact[email]=a@example.com"
    ));
    assert_eq!(app.post(&body).await, 200);
    for i in 0..1_000 {
        let note = form(&format!(
            "type=subscriber_note\ndate_time=2026-11-20T10:00:00-06:00\ninitiated_from=admin\ncontact[id]={i}\ncontact[email]=p{i}@example.com\nnote=n{i}"
        ));
        assert_eq!(app.post(&note).await, 200);
    }
    app.apply_all().await;
    let (stored_type, stored_body, notes): (Option<String>, Vec<u8>, i64) = app
        .with_conn(|c| {
            let (t, b) = we::table
                .order(we::id)
                .select((we::event_type, we::body))
                .first(c)
                .expect("row");
            let notes = we::table
                .filter(we::event_type.eq("subscriber_note"))
                .count()
                .get_result(c)
                .expect("count");
            (t, b, notes)
        })
        .await;
    assert_eq!(
        stored_type.as_deref(),
        Some(&long_type[..acmirror::webhook::store::EVENT_TYPE_MAX_CHARS])
    );
    assert_eq!(stored_body, body.as_bytes(), "the body is kept whole");
    assert_eq!(notes, 1_000);
}

fn update_at(time: &str, first: &str, tags: &str) -> String {
    form(&format!(
        "type=update\ndate_time={time}\ninitiated_from=admin\ninitiated_by=admin\nlist=0\ncontact[id]=77\ncontact[email]=a@example.com\ncontact[first_name]={first}\ncontact[last_name]=L\ncontact[phone]=\ncontact[tags]={tags}\ncontact[fields][5]={first}"
    ))
}

#[tokio::test]
async fn older_update_arriving_later_leaves_the_newer_state() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post(&update_at("2026-01-02T10:00:00-06:00", "New", "b"))
            .await,
        200
    );
    app.apply_all().await;
    assert_eq!(
        app.post(&update_at("2026-01-02T09:00:00-06:00", "Old", "a"))
            .await,
        200
    );
    app.apply_all().await;
    let (first, tags, field) = app
        .with_conn(|c| {
            let first: Option<String> = contacts::table
                .find(77)
                .select(contacts::first_name)
                .first(c)
                .expect("row");
            let field: String = cfv::table
                .filter(cfv::contact_id.eq(77))
                .select(cfv::value)
                .first(c)
                .expect("row");
            (first, tags_of(c, 77), field)
        })
        .await;
    assert_eq!(first.as_deref(), Some("New"));
    assert_eq!(tags, vec!["b"]);
    assert_eq!(field, "New");
}

#[tokio::test]
async fn equal_times_let_the_later_arrival_win() {
    let app = TestApp::spawn().await;
    app.post(&update_at("2026-01-02T10:00:00-06:00", "First", "a"))
        .await;
    app.apply_all().await;
    app.post(&update_at("2026-01-02T10:00:00-06:00", "Second", "a"))
        .await;
    app.apply_all().await;
    let first = first_name_of(&app, 77).await;
    assert_eq!(first.as_deref(), Some("Second"));
}

fn tag_event(kind: &str, time: &str, tags: &str, tag: &str) -> String {
    form(&format!(
        "type={kind}\ndate_time={time}\ninitiated_from=admin\ninitiated_by=admin\nlist=0\ncontact[id]=5\ncontact[email]=t@example.com\ncontact[first_name]=T\ncontact[last_name]=\ncontact[tags]={tags}\ntag={tag}"
    ))
}

#[tokio::test]
async fn late_tag_added_does_not_resurrect_a_removed_tag() {
    let app = TestApp::spawn().await;
    app.post(&tag_event(
        "contact_tag_added",
        "2026-03-01T10:00:00-06:00",
        "keep, vip",
        "vip",
    ))
    .await;
    app.apply_all().await;
    app.post(&tag_event(
        "contact_tag_removed",
        "2026-03-01T10:00:05-06:00",
        "keep",
        "vip",
    ))
    .await;
    app.apply_all().await;
    app.post(&tag_event(
        "contact_tag_added",
        "2026-03-01T10:00:01-06:00",
        "keep, vip",
        "vip",
    ))
    .await;
    app.apply_all().await;
    assert_eq!(app.with_conn(|c| tags_of(c, 5)).await, vec!["keep"]);
    let tombstone: bool = app
        .with_conn(|c| {
            cts::table
                .filter(cts::contact_id.eq(5))
                .filter(cts::tag.eq("vip"))
                .select(cts::present)
                .first(c)
                .expect("row")
        })
        .await;
    assert!(!tombstone, "vip is kept as a tombstone");
}

#[tokio::test]
async fn tag_names_containing_comma_space_are_resolved_by_the_event_tag() {
    let app = TestApp::spawn().await;
    app.post(&tag_event(
        "contact_tag_added",
        "2026-03-01T10:00:00-06:00",
        "Paris, France, vip",
        "Paris, France",
    ))
    .await;
    app.apply_all().await;
    assert_eq!(
        app.with_conn(|c| tags_of(c, 5)).await,
        vec!["Paris, France", "vip"]
    );
    // Later events know the name from the tags table.
    app.post(&tag_event(
        "contact_tag_removed",
        "2026-03-01T10:00:09-06:00",
        "Paris, France",
        "vip",
    ))
    .await;
    app.apply_all().await;
    assert_eq!(
        app.with_conn(|c| tags_of(c, 5)).await,
        vec!["Paris, France"]
    );
}

#[tokio::test]
async fn deal_add_mirrors_deal_pipeline_stage_and_contact() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post(&form(fixtures::DEAL_ADD)).await, 200);
    app.apply_all().await;
    let (deal, pipeline, stage, contact_email) = app
        .with_conn(|c| {
            let deal: (
                Option<String>,
                Option<i64>,
                Option<String>,
                Option<i64>,
                Option<i64>,
                Option<i64>,
                Option<i64>,
                Option<i32>,
            ) = deals::table
                .find(1)
                .select((
                    deals::title,
                    deals::value_cents,
                    deals::currency,
                    deals::pipeline_id,
                    deals::stage_id,
                    deals::owner_id,
                    deals::contact_id,
                    deals::status,
                ))
                .first(c)
                .expect("deal");
            let pipeline: String = pipelines::table
                .find(1)
                .select(pipelines::title)
                .first(c)
                .expect("pipeline");
            let stage: (Option<i64>, String) = stages::table
                .find(1)
                .select((stages::pipeline_id, stages::title))
                .first(c)
                .expect("stage");
            let email: Option<String> = contacts::table
                .find(9)
                .select(contacts::email)
                .first(c)
                .expect("contact");
            (deal, pipeline, stage, email)
        })
        .await;
    assert_eq!(
        deal,
        (
            Some("deal1".into()),
            Some(10000),
            Some("usd".into()),
            Some(1),
            Some(1),
            Some(1),
            Some(9),
            Some(0)
        )
    );
    assert_eq!(pipeline, "my_pipeline");
    assert_eq!(stage, (Some(1), "To Contact".into()));
    assert_eq!(contact_email.as_deref(), Some("lrubiano@grplug.com"));
}

#[tokio::test]
async fn deal_note_without_contact_block_applies() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post(&form(fixtures::DEAL_NOTE_ADD)).await, 200);
    app.apply_all().await;
    let (note, value, contact) = app
        .with_conn(|c| {
            let note: (i64, String) = deal_notes::table
                .find(1)
                .select((deal_notes::deal_id, deal_notes::note))
                .first(c)
                .expect("note");
            let value: Option<i64> = deals::table
                .find(1)
                .select(deals::value_cents)
                .first(c)
                .expect("deal");
            let contact: Option<String> = contacts::table
                .find(3)
                .select(contacts::email)
                .first(c)
                .expect("stub contact");
            (note, value, contact)
        })
        .await;
    assert_eq!(note, (1, "Tst node".into()));
    assert_eq!(
        value,
        Some(1_405_500),
        "value_raw 14055 in major units, not the display string 14,055.00"
    );
    assert_eq!(contact.as_deref(), Some("code.test@gmail.com"));
}

#[tokio::test]
async fn deal_task_added_then_completed() {
    let app = TestApp::spawn().await;
    app.post(&form(fixtures::DEAL_TASK_ADD)).await;
    let complete = fixtures::DEAL_TASK_ADD
        .replace("type=deal_task_add", "type=deal_task_complete")
        .replace(
            "date_time=2017-11-24T10:09:32-06:00",
            "date_time=2017-11-28T08:59:17-06:00",
        )
        + "\ntask[donedate_iso]=2017-11-28T08:59:17-06:00";
    app.post(&form(&complete)).await;
    app.apply_all().await;
    let task: (
        Option<String>,
        Option<String>,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    ) = app
        .with_conn(|c| {
            deal_tasks::table
                .find(1)
                .select((
                    deal_tasks::task_type,
                    deal_tasks::note,
                    deal_tasks::due_at,
                    deal_tasks::done_at,
                ))
                .first(c)
                .expect("task")
        })
        .await;
    assert_eq!(task.0.as_deref(), Some("Call"));
    assert_eq!(task.1.as_deref(), Some("task1"));
    assert_eq!(
        task.2.map(|t| t.to_string()).as_deref(),
        Some("2017-11-25 17:00:00")
    );
    assert_eq!(
        task.3.map(|t| t.to_string()).as_deref(),
        Some("2017-11-28 14:59:17")
    );
}

#[tokio::test]
async fn subscribe_then_unsubscribe_sets_list_status() {
    let app = TestApp::spawn().await;
    app.post(&form(fixtures::SUBSCRIBE)).await;
    app.apply_all().await;
    async fn status(app: &TestApp) -> i32 {
        app.with_conn(|c| {
            contact_lists::table
                .filter(contact_lists::contact_id.eq(10))
                .filter(contact_lists::list_id.eq(1))
                .select(contact_lists::status)
                .first::<i32>(c)
                .expect("row")
        })
        .await
    }
    assert_eq!(status(&app).await, 1);
    app.post(&form(fixtures::UNSUBSCRIBE)).await;
    app.apply_all().await;
    assert_eq!(status(&app).await, 2);
    // The older subscribe replayed late changes nothing.
    let ids: Vec<i64> = app
        .with_conn(|c| we::table.select(we::id).order(we::id).load(c).expect("q"))
        .await;
    app.with_conn(move |c| acmirror::webhook::worker::requeue(c, &ids[..1]).expect("requeue"))
        .await;
    app.apply_all().await;
    assert_eq!(status(&app).await, 2);
}

#[tokio::test]
async fn update_keeps_multi_value_fields_as_sent() {
    let app = TestApp::spawn().await;
    app.post(&form(fixtures::UPDATE)).await;
    app.apply_all().await;
    let fields: Vec<(i64, String)> = app
        .with_conn(|c| {
            cfv::table
                .filter(cfv::contact_id.eq(3))
                .select((cfv::field_id, cfv::value))
                .order(cfv::field_id)
                .load(c)
                .expect("q")
        })
        .await;
    assert_eq!(
        fields,
        vec![(1, "Option 1".into()), (2, "||Option 1||Option 2||".into())]
    );
    assert_eq!(app.with_conn(|c| tags_of(c, 3)).await, vec!["tag1", "tag2"]);
}

#[tokio::test]
async fn list_add_creates_the_list() {
    let app = TestApp::spawn().await;
    app.post(&form(fixtures::LIST_ADD)).await;
    app.apply_all().await;
    let name: String = app
        .with_conn(|c| {
            lists::table
                .find(4)
                .select(lists::name)
                .first(c)
                .expect("list")
        })
        .await;
    assert_eq!(name, "Webinar attendees");
}

#[tokio::test]
async fn bad_bodies_are_stored_acknowledged_and_marked() {
    let app = TestApp::spawn().await;
    let deep = format!(
        "type=update&date_time=2026-01-01T00:00:00Z&a{}=1",
        "[x]".repeat(50)
    );
    let many: String = (0..10_000)
        .map(|i| format!("contact[fields][{i}]=v&"))
        .collect::<String>()
        + "type=update&date_time=2026-01-01T00:00:00Z&contact[id]=8";
    let bodies = [
        "%%%garbage%%%".to_owned(),
        "type=update&date_time=yesterday&contact[id]=1".to_owned(),
        "type=update&date_time=2026-01-01T00:00:00Z&contact[id]=99999999999999999999999".to_owned(),
        "type=mystery_event&date_time=2026-01-01T00:00:00Z".to_owned(),
        "contact[id]=903&contact[email]=ivan%40grozny.me&seriesid=22".to_owned(),
        "contact[email]=%FF%FE&type=update".to_owned(),
        deep,
        many,
    ];
    for body in &bodies {
        assert_eq!(app.post(body).await, 200, "{body:.60}");
    }
    app.apply_all().await;
    let rows = app.with_conn(event_rows).await;
    let statuses: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        statuses,
        vec!["failed", "failed", "failed", "ignored", "ignored", "failed", "failed", "applied"]
    );
    assert!(
        rows[1].2.as_deref().unwrap_or("").contains("date_time"),
        "{:?}",
        rows[1].2
    );
    assert!(
        rows.iter()
            .filter(|r| r.1 == "failed")
            .all(|r| r.2.is_some()),
        "every failure says why"
    );
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(health, 200);
    let fields: i64 = app
        .with_conn(|c| {
            cfv::table
                .filter(cfv::contact_id.eq(8))
                .count()
                .get_result(c)
                .expect("q")
        })
        .await;
    assert_eq!(fields, 10_000);
}

#[tokio::test]
async fn concurrent_out_of_order_updates_end_in_the_newest_state() {
    let app = TestApp::spawn().await;
    let mut bodies: Vec<(u32, String)> = (0..40)
        .map(|i| {
            (
                i,
                update_at(
                    &format!("2026-05-01T10:{:02}:{:02}-05:00", i / 60, i % 60),
                    &format!("v{i:02}"),
                    &format!("t{i:02}"),
                ),
            )
        })
        .collect();
    // A fixed shuffle: reversed halves, interleaved.
    bodies.reverse();
    let (a, b) = bodies.split_at(20);
    let order: Vec<(u32, String)> = a
        .iter()
        .zip(b)
        .flat_map(|(x, y)| [y.clone(), x.clone()])
        .collect();
    let posts = order.iter().map(|(_, body)| {
        let client = app.client.clone();
        let url = app.webhook_url();
        let body = body.clone();
        async move {
            client
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200));
    app.apply_all().await;
    let first = first_name_of(&app, 77).await;
    assert_eq!(first.as_deref(), Some("v39"));
    assert_eq!(app.with_conn(|c| tags_of(c, 77)).await, vec!["t39"]);
}

#[tokio::test]
async fn the_worker_applies_without_being_asked() {
    let app = TestApp::spawn().await;
    app.post(&form(fixtures::UPDATE)).await;
    let mut status = String::new();
    for _ in 0..100 {
        status = app
            .with_conn(|c| {
                we::table
                    .select(we::status)
                    .first::<String>(c)
                    .expect("row")
            })
            .await;
        if status == "applied" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "applied");
}

#[tokio::test]
async fn readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    app.post(&form(fixtures::UPDATE)).await;
    app.post(&form(fixtures::UPDATE)).await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(ready, 200);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("acmirror_webhook_deliveries_received_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("acmirror_webhook_deliveries_duplicate_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn serve_copies_the_write_ahead_log_into_the_database_file_beside_the_writers() {
    // SQLite copies its log into the database file once it holds 1,000 pages (4 MB), inside
    // the commit that crosses that size. `serve` copies it in the background instead, so a
    // few hundred kilobytes of deliveries reach the database file long before that.
    let app = TestApp::spawn().await;
    if app.db.is_postgres() {
        eprintln!("SQLite only: PostgreSQL manages its own log");
        return;
    }
    let file = std::path::PathBuf::from(&app.db.url);
    let size = || std::fs::metadata(&file).expect("database file").len();
    // Start-up writes settle first: the size holds for a second.
    let (mut settled, mut since) = (size(), std::time::Instant::now());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while since.elapsed() < std::time::Duration::from_secs(1)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if size() != settled {
            (settled, since) = (size(), std::time::Instant::now());
        }
    }
    // Few commits of large bodies: SQLite's own threshold counts pages per commit.
    let note = "n".repeat(15_000);
    for n in 0..20 {
        let body = fixtures::UPDATE.replace("contact[id]=3", &format!("contact[id]={}", 500 + n));
        assert_eq!(
            app.post(&form(&format!("{body}\nnote={note}{n}"))).await,
            200
        );
    }

    let mut grown = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        grown = size().saturating_sub(settled);
        if grown >= 250_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    assert!(
        grown >= 250_000,
        "the database file grew {grown} bytes after 300 KB of deliveries"
    );
}

#[tokio::test]
async fn a_batch_stores_each_body_once_and_counts_every_copy() {
    // The intake writer commits whatever queued up as one statement: a body that comes twice
    // in one batch, or again after an earlier batch, is one row counted per copy.
    use acmirror::webhook::store::{insert_all, NewDelivery, Stored};
    let db = acmirror_sim::harness::TestDb::fresh();
    let (pool, _) = acmirror::app::open_database(&db.settings(&[]))
        .await
        .expect("database");
    let body = |id: i64| {
        NewDelivery::from_body(
            form(&fixtures::UPDATE.replace("contact[id]=3", &format!("contact[id]={id}")))
                .into_bytes(),
            acmirror::time::now(),
        )
    };
    let (a, b, c) = (body(71), body(72), body(73));
    let mut conn = pool.get().expect("connection");
    let first = acmirror::db::write_tx(&mut conn, |c| insert_all(c, std::slice::from_ref(&b)))
        .expect("stored");

    let second = acmirror::db::write_tx(&mut conn, |conn| {
        insert_all(conn, &[a.clone(), b.clone(), a.clone(), c.clone()])
    })
    .expect("stored");

    let Stored::New(b_id) = first[0] else {
        panic!("a new body is new: {first:?}");
    };
    let Stored::New(a_id) = second[0] else {
        panic!("the first copy of a new body is new: {second:?}");
    };
    assert_eq!(second[1], Stored::Duplicate(b_id));
    assert_eq!(second[2], Stored::Duplicate(a_id));
    assert!(matches!(second[3], Stored::New(id) if id != a_id && id != b_id));
    let counts: Vec<(String, i32)> = we::table
        .select((we::body_sha256, we::deliveries))
        .order(we::id)
        .load(&mut conn)
        .expect("rows");
    let count_of = |d: &NewDelivery| counts.iter().find(|(s, _)| *s == d.sha256).map(|r| r.1);
    assert_eq!(counts.len(), 3);
    assert_eq!(
        (count_of(&a), count_of(&b), count_of(&c)),
        (Some(2), Some(2), Some(1))
    );
}

#[tokio::test]
async fn a_deal_delivery_names_an_owner_the_mirror_does_not_know_yet() {
    use acmirror::db::schema::users;
    let app = TestApp::spawn().await;
    assert_eq!(app.post(&form(fixtures::DEAL_ADD)).await, 200);
    // A later delivery naming the same owner otherwise: the first record stays until the
    // API's full record replaces it.
    let renamed = fixtures::DEAL_ADD
        .replace(
            "deal[owner_firstname]=TestGearplug",
            "deal[owner_firstname]=Other",
        )
        .replace("deal[id]=", "deal[id]=9");
    assert_eq!(app.post(&form(&renamed)).await, 200);
    app.apply_all().await;
    let held: Vec<(i64, String, String, String, String)> = app
        .with_conn(|c| {
            users::table
                .select((
                    users::id,
                    users::username,
                    users::first_name,
                    users::last_name,
                    users::email,
                ))
                .load(c)
                .expect("users")
        })
        .await;
    assert_eq!(
        held,
        [(
            1,
            String::new(),
            "TestGearplug".to_owned(),
            String::new(),
            String::new()
        )]
    );
}
