//! Partial webhook blocks, fields keyed by personalisation tag, and values of any size, on the
//! backend under test.

use acmirror::db::schema::{contact_field_values as cfv, contacts, webhook_events as we};
use acmirror::reconcile::Mode;
use acmirror_sim::fake_ac::{FakeAcConfig, Realism};
use acmirror_sim::harness::{SimWorld, TestApp};
use diesel::prelude::*;

fn body(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

type Scalars = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

async fn scalars(app: &TestApp, id: i64) -> Scalars {
    app.with_conn(move |c| {
        contacts::table
            .find(id)
            .select((
                contacts::email,
                contacts::first_name,
                contacts::last_name,
                contacts::phone,
            ))
            .first(c)
            .expect("contact")
    })
    .await
}

async fn field(app: &TestApp, contact: i64, field: i64) -> Option<String> {
    app.with_conn(move |c| {
        cfv::table
            .filter(cfv::contact_id.eq(contact))
            .filter(cfv::field_id.eq(field))
            .select(cfv::value)
            .first(c)
            .optional()
            .expect("query")
    })
    .await
}

fn full(time: &str, first: &str, phone: &str) -> String {
    body(&[
        ("type", "update"),
        ("date_time", time),
        ("contact[id]", "7"),
        ("contact[email]", "a@example.com"),
        ("contact[first_name]", first),
        ("contact[last_name]", "Lee"),
        ("contact[phone]", phone),
        ("contact[fields][1]", "Acme"),
    ])
}

#[tokio::test]
async fn absent_keys_leave_values_alone_and_empty_keys_clear_them_in_any_order() {
    let app = TestApp::spawn().await;
    // t1: full block. t2: an open that carries only the e-mail and an empty phone.
    // t3: an update that renames.
    let t3 = full("2026-07-01T10:00:03-05:00", "Zoe", "+1 555 0003");
    let t2 = body(&[
        ("type", "open"),
        ("date_time", "2026-07-01T10:00:02-05:00"),
        ("contact[id]", "7"),
        ("contact[email]", "b@example.com"),
        ("contact[phone]", ""),
    ]);
    let t1 = full("2026-07-01T10:00:01-05:00", "Ann", "+1 555 0001");
    // The sparse t2 first, then the older full t1: t1 still brings the keys t2 left out.
    for b in [&t2, &t1] {
        assert_eq!(app.post(b).await, 200);
        app.apply_all().await;
    }
    let (email, first, last, phone) = scalars(&app, 7).await;
    assert_eq!(
        email.as_deref(),
        Some("b@example.com"),
        "t2's e-mail is newer"
    );
    assert_eq!(phone.as_deref(), Some(""), "t2's empty phone is newer");
    assert_eq!(first.as_deref(), Some("Ann"), "only t1 carried names");
    assert_eq!(last.as_deref(), Some("Lee"));
    assert_eq!(field(&app, 7, 1).await.as_deref(), Some("Acme"));

    // The newest full block wins every column; t1 again (a replay) changes nothing.
    for b in [&t3, &t1] {
        assert_eq!(app.post(b).await, 200);
        app.apply_all().await;
    }
    let (email, first, _, phone) = scalars(&app, 7).await;
    assert_eq!(email.as_deref(), Some("a@example.com"));
    assert_eq!(first.as_deref(), Some("Zoe"));
    assert_eq!(phone.as_deref(), Some("+1 555 0003"));

    // A newer sparse block: absent names stay, the empty phone clears, fields stay.
    let t4 = body(&[
        ("type", "click"),
        ("date_time", "2026-07-01T10:00:04-05:00"),
        ("contact[id]", "7"),
        ("contact[phone]", ""),
    ]);
    assert_eq!(app.post(&t4).await, 200);
    app.apply_all().await;
    let (email, first, last, phone) = scalars(&app, 7).await;
    assert_eq!(
        (
            email.as_deref(),
            first.as_deref(),
            last.as_deref(),
            phone.as_deref()
        ),
        (Some("a@example.com"), Some("Zoe"), Some("Lee"), Some(""))
    );
    assert_eq!(field(&app, 7, 1).await.as_deref(), Some("Acme"));
}

async fn failed_reasons(app: &TestApp) -> Vec<String> {
    app.with_conn(|c| {
        we::table
            .filter(we::status.eq("failed"))
            .select(we::error)
            .load::<Option<String>>(c)
            .expect("query")
            .into_iter()
            .flatten()
            .collect()
    })
    .await
}

#[tokio::test]
async fn fields_keyed_by_tag_fail_until_the_fields_are_read_then_apply() {
    let w = SimWorld::start(FakeAcConfig {
        seed: 5,
        contacts: 20,
        deals: 2,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await;
    let delivery = body(&[
        ("type", "update"),
        ("date_time", "2030-01-01T00:00:00-06:00"),
        ("contact[id]", "3"),
        ("contact[email]", "c3@example.com"),
        ("contact[fields][Company]", "Tagged Inc"),
    ]);
    assert_eq!(w.app.post(&delivery).await, 200);
    w.app.apply_all().await;
    let reasons = failed_reasons(&w.app).await;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("unknown personalisation tag")
            && reasons[0].contains("contact[fields][company]"),
        "{}",
        reasons[0]
    );

    // The fields appear in the mirror with the next run; the delivery is applied after it.
    w.reconcile(Mode::Incremental).await;
    w.app.apply_all().await;
    assert!(failed_reasons(&w.app).await.is_empty());
    assert_eq!(field(&w.app, 3, 1).await.as_deref(), Some("Tagged Inc"));

    // A tag no field has stays failed after the fields are read again.
    let unknown = delivery.replace("Company", "no_such_field");
    assert_eq!(w.app.post(&unknown).await, 200);
    w.app.apply_all().await;
    w.reconcile(Mode::Incremental).await;
    w.app.apply_all().await;
    let reasons = failed_reasons(&w.app).await;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("no_such_field"), "{}", reasons[0]);
}

fn long_text(len: usize) -> String {
    // Varied text, so that no backend can compress it into a small index entry.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

#[tokio::test]
async fn values_of_60_kb_and_1_mb_are_stored_by_webhook_and_by_reconciliation() {
    let w = SimWorld::start(FakeAcConfig {
        seed: 6,
        contacts: 30,
        deals: 2,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await;
    w.reconcile(Mode::Full).await;
    let kb60 = long_text(60 * 1024);
    // The body limit is 1 MiB with the other keys: a value just under it.
    let mb1 = long_text(1024 * 1024 - 40 * 1024);
    let hook = body(&[
        ("type", "update"),
        ("date_time", "2030-01-01T00:00:00-06:00"),
        ("contact[id]", "4"),
        ("contact[fields][2]", &kb60),
    ]);
    assert_eq!(w.app.post(&hook).await, 200);
    let hook = body(&[
        ("type", "update"),
        ("date_time", "2030-01-01T00:00:00-06:00"),
        ("contact[id]", "5"),
        ("contact[fields][2]", &mb1),
    ]);
    assert!(hook.len() < 1024 * 1024, "{} bytes", hook.len());
    assert_eq!(w.app.post(&hook).await, 200);
    w.app.apply_all().await;
    assert!(failed_reasons(&w.app).await.is_empty());
    assert_eq!(field(&w.app, 4, 2).await.as_deref(), Some(kb60.as_str()));
    assert_eq!(field(&w.app, 5, 2).await.as_deref(), Some(mb1.as_str()));

    // Upstream values of the same sizes, found by a full run.
    assert!(w.sim.set_field_value(10, 2, &kb60));
    assert!(w.sim.set_field_value(11, 2, &mb1));
    w.reconcile(Mode::Full).await;
    assert_eq!(field(&w.app, 10, 2).await.as_deref(), Some(kb60.as_str()));
    assert_eq!(field(&w.app, 11, 2).await.as_deref(), Some(mb1.as_str()));
}

#[tokio::test]
async fn lossless_partial_webhooks_leave_no_differences() {
    let w = SimWorld::start(FakeAcConfig {
        seed: 21,
        contacts: 200,
        deals: 40,
        rate_limit: 0,
        realism: Realism {
            partial_webhooks: true,
            ..Realism::default()
        },
        ..FakeAcConfig::default()
    })
    .await;
    w.reconcile(Mode::Full).await;
    w.sim.run_changes(400).await;
    let d = w.differences().await;
    // The run did exercise both shapes.
    let bodies: Vec<Vec<u8>> = w
        .app
        .with_conn(|c| we::table.select(we::body).load(c).expect("bodies"))
        .await;
    let bodies: Vec<String> = bodies
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let tagged = bodies
        .iter()
        .filter(|b| b.contains("contact%5Bfields%5D%5Bcompany%5D"))
        .count();
    let sparse = bodies
        .iter()
        .filter(|b| b.starts_with("type=open") || b.starts_with("type=click"))
        .filter(|b| !b.contains("contact%5Bphone%5D") || !b.contains("contact%5Bfields%5D"))
        .count();
    assert!(
        tagged > 10 && sparse > 5,
        "{tagged} tagged, {sparse} sparse"
    );
    assert!(
        d.is_empty(),
        "{} differences:\n{}",
        d.len(),
        d.iter()
            .take(10)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
