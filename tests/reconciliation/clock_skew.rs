//! ActiveCampaign's clock is not the host's. With the simulator's clock ten minutes behind and
//! ten minutes ahead of the host, webhooks made after a reconciliation read the same contacts
//! are applied, webhooks made before it lose to it, and lossy traffic still converges.

use std::time::Duration;

use acmirror::reconcile::Mode;
use acmirror::time::format_filter_time;
use acmirror_sim::fake_ac::{FakeAcConfig, Realism, WebhookFaults};
use acmirror_sim::harness::fixtures::form;
use acmirror_sim::harness::SimWorld;
use acmirror_sim::truth::ContactTruth;
use chrono::Utc;
use diesel::prelude::*;

/// Ten minutes, each way.
const SKEWS: [i64; 2] = [-600, 600];

fn skewed(seed: u64, skew_secs: i64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 150,
        deals: 40,
        rate_limit: 0,
        realism: Realism {
            clock_skew_secs: skew_secs,
            ..Realism::default()
        },
        ..FakeAcConfig::default()
    }
}

fn show(d: &[acmirror_sim::truth::Difference]) -> String {
    d.iter()
        .take(10)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A delivery about `contact` as it stands, dated `secs_from_now` by the upstream clock.
fn delivery(
    kind: &str,
    id: i64,
    contact: &ContactTruth,
    tags: &[String],
    skew_secs: i64,
    secs_from_now: i64,
    extra: &str,
) -> String {
    let at = Utc::now() + chrono::Duration::seconds(skew_secs + secs_from_now);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    form(&format!(
        "type={kind}
date_time={}
initiated_from=admin
initiated_by=admin
list=0
contact[id]={id}
contact[email]={}
contact[first_name]={}
contact[last_name]={}
contact[phone]={}
contact[tags]={}
{extra}",
        format_filter_time(at),
        text(&contact.email),
        text(&contact.first_name),
        text(&contact.last_name),
        text(&contact.phone),
        tags.join(", "),
    ))
}

/// The tags the contact has now (the `contact_tags` view).
async fn tags_of(w: &SimWorld, id: i64) -> Vec<String> {
    w.app
        .with_conn(move |c| {
            acmirror::mirror::tags::current(c, &[id])
                .expect("tags")
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .collect()
        })
        .await
}

async fn value_of(w: &SimWorld, id: i64, field: i64) -> Option<String> {
    w.app
        .with_conn(move |c| {
            use acmirror::db::schema::contact_field_values as v;
            v::table
                .filter(v::contact_id.eq(id).and(v::field_id.eq(field)))
                .select(v::value)
                .first::<String>(c)
                .optional()
                .expect("value")
        })
        .await
}

async fn statuses(w: &SimWorld) -> Vec<String> {
    w.app
        .with_conn(|c| {
            use acmirror::db::schema::webhook_events as we;
            we::table
                .order(we::id)
                .select(we::status)
                .load::<String>(c)
                .expect("statuses")
        })
        .await
}

async fn webhooks_after_a_read_win_and_webhooks_before_it_lose(skew: i64) {
    // Arrange: a mirror that a full reconciliation has just read from a skewed account.
    let w = SimWorld::start(skewed(31, skew)).await;
    w.reconcile(Mode::Full).await;
    assert!(w.differences().await.is_empty(), "the full run loads all");
    let offset = w
        .rec
        .client()
        .upstream_offset()
        .expect("responses carry Date");
    assert!(
        (offset.num_seconds() - skew).abs() <= 2,
        "the client learnt the upstream clock: {offset} for a skew of {skew} s"
    );
    let truth = w.sim.truth();
    let mut contacts = truth.contacts.iter();
    let (&fresh_id, fresh) = contacts.next().expect("a contact");
    let (&stale_id, stale) = contacts.next().expect("another contact");
    let field = *truth.fields.keys().next().expect("a custom field");
    let tags = |c: &ContactTruth, extra: &str| {
        let mut t: Vec<String> = c.tags.iter().cloned().collect();
        t.push(extra.to_owned());
        t
    };

    // Act: a tag and a field value set one second after the read, by the upstream clock; and a
    // tag added two minutes before the read whose delivery arrives only now.
    let fresh_tags = tags(fresh, "after the read");
    let value = format!("set after the read, skew {skew}");
    let bodies = [
        delivery(
            "contact_tag_added",
            fresh_id,
            fresh,
            &fresh_tags,
            skew,
            1,
            "tag=after the read",
        ),
        delivery(
            "update",
            fresh_id,
            fresh,
            &fresh_tags,
            skew,
            1,
            &format!("contact[fields][{field}]={value}"),
        ),
        delivery(
            "contact_tag_added",
            stale_id,
            stale,
            &tags(stale, "before the read"),
            skew,
            -120,
            "tag=before the read",
        ),
    ];
    for body in &bodies {
        assert_eq!(w.app.post(body).await, 200);
    }
    w.app.apply_all().await;

    // Assert
    assert_eq!(statuses(&w).await, ["applied"; 3], "every delivery applied");
    assert!(
        tags_of(&w, fresh_id)
            .await
            .contains(&"after the read".to_owned()),
        "skew {skew}: a tag added after the read is mirrored"
    );
    assert_eq!(
        value_of(&w, fresh_id, field).await.as_deref(),
        Some(value.as_str()),
        "skew {skew}: a field value set after the read is mirrored"
    );
    assert!(
        !tags_of(&w, stale_id)
            .await
            .contains(&"before the read".to_owned()),
        "skew {skew}: a delivery older than the read does not override it"
    );
}

#[tokio::test]
async fn with_the_upstream_clock_behind_webhooks_after_a_read_apply() {
    webhooks_after_a_read_win_and_webhooks_before_it_lose(SKEWS[0]).await;
}

#[tokio::test]
async fn with_the_upstream_clock_ahead_webhooks_before_a_read_lose() {
    webhooks_after_a_read_win_and_webhooks_before_it_lose(SKEWS[1]).await;
}

async fn lossy_traffic_converges(skew: i64) {
    let w = SimWorld::start(skewed(32, skew)).await;
    w.reconcile(Mode::Full).await;

    // Lossless changes right after the read: webhooks alone keep the mirror exact.
    w.sim.run_changes(300).await;
    let d = w.differences().await;
    assert!(
        d.is_empty(),
        "skew {skew}: {} differences after lossless webhooks:\n{}",
        d.len(),
        show(&d)
    );

    // Lossy, duplicated and reordered changes, an import and deletions, repaired by an
    // incremental run then a full one, with webhooks still flowing between the two.
    w.sim.set_webhook_faults(WebhookFaults {
        drop: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        max_delay: Duration::from_millis(200),
        ..WebhookFaults::default()
    });
    w.sim.run_changes(300).await;
    w.sim.bulk_import(20);
    w.sim.delete_contacts(4);
    w.sim.delete_deals(2);
    assert!(!w.differences().await.is_empty(), "the faults left drift");
    w.reconcile(Mode::Incremental).await;
    w.sim.set_webhook_faults(WebhookFaults::default());
    w.sim.run_changes(100).await;
    let full = w.reconcile(Mode::Full).await;
    assert!(full.counters.deleted >= 6, "deletions were detected");
    w.sim.run_changes(100).await;

    let d = w.differences().await;
    let rows = if d.is_empty() {
        String::new()
    } else {
        note_rows(&w).await
    };
    assert!(
        d.is_empty(),
        "skew {skew}: {} differences after reconciliation:\n{}\ncontact notes:\n{rows}",
        d.len(),
        show(&d)
    );
}

/// Every contact note row, for the failure message.
async fn note_rows(w: &SimWorld) -> String {
    use acmirror::db::schema::contact_notes as cn;
    type Row = (
        i64,
        i64,
        String,
        Option<i64>,
        Option<i64>,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    );
    let rows: Vec<Row> = w
        .app
        .with_conn(|c| {
            cn::table
                .select((
                    cn::id,
                    cn::contact_id,
                    cn::note,
                    cn::ac_id,
                    cn::event_id,
                    cn::created_at,
                    cn::updated_at,
                    cn::synced_at,
                    cn::deleted_at,
                ))
                .order(cn::id)
                .load(c)
                .expect("contact notes")
        })
        .await;
    rows.iter()
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_convergence_run_with_the_upstream_clock_behind_ends_exact() {
    lossy_traffic_converges(SKEWS[0]).await;
}

#[tokio::test]
async fn a_convergence_run_with_the_upstream_clock_ahead_ends_exact() {
    lossy_traffic_converges(SKEWS[1]).await;
}
