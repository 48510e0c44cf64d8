//! Engagement deliveries (`open`, `click`, `bounce`, `sent`, `sms_*`, …) become rows of
//! `contact_activities`, one per delivery: duplicates and replays add nothing, and the rows can
//! be rebuilt from the stored deliveries.

use acmirror::db::schema::contact_activities as ca;
use acmirror::db::DbConn;
use acmirror_sim::harness::fixtures::{self, form};
use acmirror_sim::harness::{CampaignRate, TestApp};
use diesel::prelude::*;

#[derive(Debug, PartialEq, Eq, Queryable)]
struct Row {
    activity_type: String,
    contact_id: Option<i64>,
    campaign_id: Option<i64>,
    message_id: Option<i64>,
    link_url: Option<String>,
    detail: Option<String>,
    occurred_at: chrono::NaiveDateTime,
}

fn rows(c: &mut DbConn) -> Vec<Row> {
    ca::table
        .order(ca::event_id)
        .select((
            ca::activity_type,
            ca::contact_id,
            ca::campaign_id,
            ca::message_id,
            ca::link_url,
            ca::detail,
            ca::occurred_at,
        ))
        .load(c)
        .expect("read")
}

fn at(rfc3339: &str) -> chrono::NaiveDateTime {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("literal")
        .naive_utc()
}

#[tokio::test]
async fn each_engagement_delivery_becomes_one_activity() {
    let app = TestApp::spawn().await;
    for body in [
        fixtures::CLICK,
        fixtures::BOUNCE,
        fixtures::SENT,
        fixtures::SMS_REPLY,
    ] {
        assert_eq!(app.post(&form(body)).await, 200);
    }
    // The same click again: a duplicate, counted on its delivery, not a second activity.
    assert_eq!(app.post(&form(fixtures::CLICK)).await, 200);
    app.apply_all().await;
    let got = app.with_conn(rows).await;
    let row =
        |t: &str, contact, campaign, message, link: Option<&str>, detail: Option<&str>, when| Row {
            activity_type: t.into(),
            contact_id: contact,
            campaign_id: campaign,
            message_id: message,
            link_url: link.map(Into::into),
            detail: detail.map(Into::into),
            occurred_at: at(when),
        };
    assert_eq!(
        got,
        [
            row(
                "click",
                Some(3),
                Some(12),
                Some(14),
                Some("https://example.com/pricing"),
                None,
                "2024-03-01T09:15:02-05:00"
            ),
            row(
                "bounce",
                Some(3),
                Some(12),
                None,
                None,
                Some("hard 5.1.1 Mailbox does not exist"),
                "2024-03-01T09:12:44-06:00"
            ),
            row(
                "sent",
                None,
                Some(12),
                None,
                None,
                Some("2450"),
                "2024-03-01T08:00:00-06:00"
            ),
            row(
                "sms_reply",
                Some(3),
                None,
                None,
                None,
                Some("Yes please"),
                "2024-03-01T10:00:00-06:00"
            ),
        ]
    );
    // The contact block of an engagement delivery still refreshes the contact.
    let email: Option<String> = app
        .with_conn(|c| {
            use acmirror::db::schema::contacts;
            contacts::table
                .find(3)
                .select(contacts::email)
                .first(c)
                .expect("contact 3")
        })
        .await;
    assert!(email.is_some());
}

#[tokio::test]
async fn a_replay_adds_nothing_and_rebuilds_what_was_lost() {
    use acmirror::ops::replay::{replay, Selector};
    let app = TestApp::spawn().await;
    assert_eq!(app.post(&form(fixtures::CLICK)).await, 200);
    assert_eq!(app.post(&form(fixtures::SENT)).await, 200);
    app.apply_all().await;
    let before = app.with_conn(rows).await;
    assert_eq!(before.len(), 2);

    let since = Selector::Since(chrono::DateTime::UNIX_EPOCH);
    let (pool, metrics) = (app.pool(), app.daemon.metrics.clone());
    let replayed = since.clone();
    tokio::task::spawn_blocking(move || replay(&pool, &metrics, &replayed).expect("replay"))
        .await
        .expect("no panic");
    app.apply_all().await;
    assert_eq!(app.with_conn(rows).await, before, "a replay adds nothing");

    app.with_conn(|c| diesel::delete(ca::table).execute(c).expect("delete"))
        .await;
    let (pool, metrics) = (app.pool(), app.daemon.metrics.clone());
    tokio::task::spawn_blocking(move || replay(&pool, &metrics, &since).expect("replay"))
        .await
        .expect("no panic");
    app.apply_all().await;
    assert_eq!(
        app.with_conn(rows).await,
        before,
        "rebuilt from the deliveries"
    );
}

#[tokio::test]
async fn engagement_deliveries_stored_before_the_table_existed_are_applied_again() {
    use acmirror::db::schema::webhook_events as we;
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    let app = TestApp::spawn().await;
    // Back to the schema before contact_activities, as an older acmirror left it, with an
    // `open` and a `click` it had stored and set aside.
    let folder = match app.db.is_postgres() {
        true => "migrations/postgres",
        false => "migrations/sqlite",
    };
    let migrations = FileBasedMigrations::from_path(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder),
    )
    .expect("migrations");
    app.with_conn(move |c| {
        // Newer migrations first, down to the one that adds contact_activities.
        for _ in 0..20 {
            let reverted = match c {
                DbConn::Pg(pg) => pg.revert_last_migration(migrations.clone()),
                DbConn::Sqlite(lite) => lite.revert_last_migration(migrations.clone()),
            }
            .expect("revert")
            .to_string();
            if reverted == "20261207000003" {
                return;
            }
        }
        panic!("no migration 2026-12-07-000003 (contact_activities) to revert");
    })
    .await;
    // Written as that acmirror stored them: this one's intake also counts into a newer table.
    app.with_conn(|c| {
        let now = chrono::Utc::now().naive_utc();
        for (hash, kind, body) in [
            ("a".repeat(64), "click", form(fixtures::CLICK)),
            ("b".repeat(64), "sent", form(fixtures::SENT)),
        ] {
            diesel::insert_into(we::table)
                .values((
                    we::body_sha256.eq(hash),
                    we::event_type.eq(kind),
                    we::received_at.eq(now),
                    we::last_received_at.eq(now),
                    we::status.eq("ignored"),
                    we::error.eq("stored for reporting"),
                    we::body.eq(body.into_bytes()),
                ))
                .execute(c)
                .expect("stored as an older acmirror did");
        }
    })
    .await;

    // Upgrading applies the newer migration, which queues them again; they then apply.
    app.with_conn(|c| acmirror::db::migrate::run(c).expect("upgrade"))
        .await;
    app.apply_all().await;
    let got = app.with_conn(rows).await;
    let kinds: Vec<&str> = got.iter().map(|r| r.activity_type.as_str()).collect();
    assert_eq!(kinds, ["click", "sent"]);
}

#[tokio::test]
async fn the_readme_query_counts_openers_and_clickers_per_campaign_by_name() {
    let app = TestApp::spawn().await;
    // The fixtures' day moved into the last 30 days, and one click 40 days back.
    let day = |ago: i64| {
        (chrono::Utc::now() - chrono::Duration::days(ago))
            .format("%Y-%m-%d")
            .to_string()
    };
    let (recent, old) = (day(2), day(40));
    let click = fixtures::CLICK.replace("2024-03-01", &recent);
    let open = click
        .replace("type=click", "type=open")
        .replace("link[id]=55\nlink[url]=https://example.com/pricing", "");
    let other = click
        .replace("contact[id]=3", "contact[id]=4")
        .replace("09:15:02", "09:16:02");
    let older = click
        .replace("campaign[id]=12", "campaign[id]=11")
        .replace(
            "campaign[name]=March newsletter",
            "campaign[name]=February newsletter",
        )
        .replace(&recent, &old);
    let sent = fixtures::SENT.replace("2024-03-01", &recent);
    for body in [&click, &open, &other, &older, &sent] {
        assert_eq!(app.post(&form(body)).await, 200);
    }
    app.apply_all().await;
    let got = app.campaign_rates().await;
    // Campaign 12, known by the name its deliveries carry: contact 3 opened, contacts 3 and 4
    // clicked; the send has no contact. Until a full run reads the campaign, its send count,
    // and so its rates, are unknown. Campaign 11's click is older than 30 days.
    assert_eq!(
        got,
        [CampaignRate {
            campaign: "March newsletter".into(),
            sent: None,
            opened: 1,
            clicked: 2,
            open_rate: None,
            click_rate: None,
        }]
    );
}
