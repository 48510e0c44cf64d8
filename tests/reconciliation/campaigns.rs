//! Campaigns and messages: read whole by full runs, repaired and removed by them, added by
//! engagement deliveries that name a campaign the mirror does not know yet; the README's
//! per-campaign query runs as written on the backend under test.

use std::collections::BTreeMap;

use acmirror::reconcile::{LogProgress, Mode, RunRequest, Trigger};
use acmirror_sim::fake_ac::FakeAcConfig;
use acmirror_sim::harness::fixtures::form;
use acmirror_sim::harness::SimWorld;
use acmirror_sim::truth::Difference;
use diesel::prelude::*;

fn small(seed: u64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 60,
        deals: 10,
        rate_limit: 0,
        ..FakeAcConfig::default()
    }
}

fn show(d: &[Difference]) -> String {
    d.iter()
        .take(10)
        .map(|d| format!("  {d}\n"))
        .collect::<String>()
}

/// `date_time` of a delivery `days_ago` days before now.
fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// An engagement delivery of `kind` naming a campaign and, when given, a contact.
fn engagement(
    kind: &str,
    at: &str,
    campaign: i64,
    name: &str,
    message: i64,
    contact: Option<i64>,
) -> String {
    let mut lines = format!(
        "type={kind}\ndate_time={at}\ninitiated_from=public\ninitiated_by=public\nlist=1\n\
         campaign[id]={campaign}\ncampaign[name]={name}\ncampaign[type]=single\n\
         campaign[status]=5\ncampaign[message][id]={message}\n\
         campaign[message][subject]=Subject of {name}\n"
    );
    if let Some(id) = contact {
        lines.push_str(&format!("contact[id]={id}\n"));
    }
    form(&lines)
}

/// A campaign row as stored: (name, type, message, version is set).
type Stored = (String, Option<String>, Option<i64>, bool);

async fn campaign_row(w: &SimWorld, id: i64) -> Option<Stored> {
    w.app
        .with_conn(move |c| {
            use acmirror::db::schema::campaigns as k;
            k::table
                .find(id)
                .select((k::name, k::campaign_type, k::message_id, k::updated_at))
                .first::<(
                    String,
                    Option<String>,
                    Option<i64>,
                    Option<chrono::NaiveDateTime>,
                )>(c)
                .optional()
                .expect("q")
                .map(|(n, t, m, v)| (n, t, m, v.is_some()))
        })
        .await
}

async fn message_subject(w: &SimWorld, id: i64) -> Option<String> {
    w.app
        .with_conn(move |c| {
            use acmirror::db::schema::messages as m;
            m::table
                .find(id)
                .select(m::subject)
                .first::<String>(c)
                .optional()
                .expect("q")
        })
        .await
}

async fn counts(w: &SimWorld) -> (i64, i64) {
    w.app
        .with_conn(|c| {
            use acmirror::db::schema::{campaigns, messages};
            let k: i64 = campaigns::table.count().get_result(c).expect("q");
            let m: i64 = messages::table.count().get_result(c).expect("q");
            (k, m)
        })
        .await
}

#[tokio::test]
async fn a_first_run_mirrors_campaigns_and_messages_and_later_incremental_runs_skip_them() {
    let w = SimWorld::start(small(61)).await;
    // No watermark yet: the first run reads everything, campaigns and messages included.
    let first = w.reconcile(Mode::Incremental).await;
    let truth = w.sim.truth();
    assert!(truth.campaigns.len() >= 3, "{}", truth.campaigns.len());
    assert!(truth.campaigns.values().any(|c| c.sent_at.is_some()));
    assert!(truth.campaigns.values().any(|c| c.sent_at.is_none()));
    assert_eq!(
        counts(&w).await,
        (truth.campaigns.len() as i64, truth.messages.len() as i64)
    );
    let d = w.differences().await;
    assert!(d.is_empty(), "{}", show(&d));
    assert!(first.counters.changed >= (truth.campaigns.len() + truth.messages.len()) as i64);

    // Later incremental runs cannot ask for what changed: an edit waits for a full run.
    let churn = w.sim.churn_campaigns(12);
    assert!(churn.campaigns_edited > 0, "{churn:?}");
    w.reconcile(Mode::Incremental).await;
    let d = w.differences().await;
    assert!(d.iter().any(|d| d.table == "campaigns"), "{}", show(&d));
    w.reconcile(Mode::Full).await;
    let d = w.differences().await;
    assert!(d.is_empty(), "{}", show(&d));
    // Nothing changed upstream: the next full run writes nothing.
    let again = w.reconcile(Mode::Full).await;
    assert_eq!((again.counters.changed, again.counters.deleted), (0, 0));
}

#[tokio::test]
async fn upstream_edits_are_repaired_by_the_next_full_run() {
    let w = SimWorld::start(small(62)).await;
    w.reconcile(Mode::Full).await;
    let churn = w.sim.churn_campaigns(12);
    assert!(
        churn.campaigns_edited > 0 && churn.messages_edited > 0,
        "{churn:?}"
    );
    let before = w.differences().await;
    assert!(
        before
            .iter()
            .any(|d| d.table == "campaigns" && d.what.starts_with("mirror has")),
        "no webhook tells of edits: {}",
        show(&before)
    );
    let full = w.reconcile(Mode::Full).await;
    let after = w.differences().await;
    assert!(after.is_empty(), "{}", show(&after));
    assert!(full.counters.changed > 0);
    assert_eq!(full.counters.deleted, 2 * churn.campaigns_deleted as i64);
}

#[tokio::test]
async fn a_deleted_campaign_is_removed_but_one_a_delivery_adds_during_the_run_is_kept() {
    let w = SimWorld::start(small(63)).await;
    w.reconcile(Mode::Full).await;
    let truth = w.sim.truth();
    let (&gone, campaign) = truth.campaigns.iter().nth(1).expect("a second campaign");
    let gone_message = campaign.message_id.expect("a message");
    assert!(campaign_row(&w, gone).await.is_some());
    assert!(w.sim.delete_campaign(gone));

    // The run starts; while it reads, a delivery names a campaign created upstream after the
    // pages were read (the simulator does not list it).
    let run = w
        .rec
        .prepare(RunRequest::new(Mode::Full, Trigger::Manual))
        .await
        .expect("starts");
    let sent = engagement("sent", &days_ago(0), 9_001, "Flash sale", 9_501, None);
    assert_eq!(w.app.post(&sent).await, 200);
    w.app.apply_all().await;
    let s = run.execute(&LogProgress).await;
    assert_eq!(s.error, None);
    assert_eq!(s.counters.deleted, 2, "the campaign and its message");
    assert_eq!(campaign_row(&w, gone).await, None);
    assert_eq!(message_subject(&w, gone_message).await, None);
    assert_eq!(
        campaign_row(&w, 9_001).await,
        Some(("Flash sale".into(), None, Some(9_501), false)),
        "written after the run started: left for the next full run"
    );
    let d = w.differences().await;
    assert_eq!(
        d.iter()
            .map(|d| (d.table, d.key.as_str()))
            .collect::<Vec<_>>(),
        [("campaigns", "9001"), ("messages", "9501")],
        "{}",
        show(&d)
    );

    // The next full run does not see it either, and it was written before that run: removed.
    let next = w.reconcile(Mode::Full).await;
    assert_eq!(next.counters.deleted, 2);
    assert_eq!(campaign_row(&w, 9_001).await, None);
    let d = w.differences().await;
    assert!(d.is_empty(), "{}", show(&d));
}

#[tokio::test]
async fn a_delivery_adds_an_unknown_campaign_by_name_and_the_api_read_replaces_it() {
    let w = SimWorld::start(small(64)).await;
    let truth = w.sim.truth();
    let (&id, upstream) = truth.campaigns.iter().next().expect("a campaign");
    let message = upstream.message_id.expect("a message");

    let first = engagement(
        "sent",
        &days_ago(1),
        id,
        "Named by a delivery",
        message,
        None,
    );
    let second = engagement("sent", &days_ago(0), id, "Named again", message, None);
    for body in [first, second] {
        assert_eq!(w.app.post(&body).await, 200);
        w.app.apply_all().await;
    }
    assert_eq!(
        campaign_row(&w, id).await,
        Some(("Named by a delivery".into(), None, Some(message), false)),
        "added at once by the first delivery; the second leaves it alone"
    );
    assert_eq!(
        message_subject(&w, message).await.as_deref(),
        Some("Subject of Named by a delivery")
    );

    w.reconcile(Mode::Full).await;
    assert_eq!(
        campaign_row(&w, id).await,
        Some((
            upstream.name.clone(),
            upstream.campaign_type.clone(),
            Some(message),
            true
        )),
        "the API's record replaces the delivery's"
    );
    let d = w.differences().await;
    assert!(d.is_empty(), "{}", show(&d));
}

#[tokio::test]
async fn the_readme_query_reports_open_and_click_rates_by_campaign_name() {
    let w = SimWorld::start(small(65)).await;
    w.reconcile(Mode::Full).await;
    let truth = w.sim.truth();
    let sent: Vec<(i64, String, i64, i64)> = truth
        .campaigns
        .iter()
        .filter(|(_, c)| c.sent_at.is_some())
        .map(|(id, c)| {
            let amount = c.send_amount.expect("sent");
            (*id, c.name.clone(), c.message_id.expect("message"), amount)
        })
        .collect();
    let [(a, a_name, a_msg, a_sent), (b, b_name, b_msg, b_sent), ..] = &sent[..] else {
        panic!("two sent campaigns: {sent:?}");
    };
    let (recent, earlier, old) = (days_ago(1), days_ago(2), days_ago(40));
    let deliveries = [
        // Campaign A: contacts 1, 2 and 3 opened (1 twice), contact 1 clicked.
        ("open", &recent, *a, a_name, *a_msg, 1),
        ("open", &earlier, *a, a_name, *a_msg, 1),
        ("open", &recent, *a, a_name, *a_msg, 2),
        ("open", &recent, *a, a_name, *a_msg, 3),
        ("click", &recent, *a, a_name, *a_msg, 1),
        // Campaign B: contact 4 opened; contact 5's open and click are too old.
        ("open", &recent, *b, b_name, *b_msg, 4),
        ("open", &old, *b, b_name, *b_msg, 5),
        ("click", &old, *b, b_name, *b_msg, 5),
    ];
    for (kind, at, campaign, name, message, contact) in deliveries {
        let body = engagement(kind, at, campaign, name, message, Some(contact));
        assert_eq!(w.app.post(&body).await, 200);
    }
    w.app.apply_all().await;

    let got = w.app.campaign_rates().await;
    let pct = |n: i64, of: i64| (1000.0 * n as f64 / of as f64).round() / 10.0;
    let mut expected: BTreeMap<String, (i64, i64, i64, f64, f64)> = BTreeMap::new();
    expected.insert(
        a_name.clone(),
        (*a_sent, 3, 1, pct(3, *a_sent), pct(1, *a_sent)),
    );
    expected.insert(b_name.clone(), (*b_sent, 1, 0, pct(1, *b_sent), 0.0));
    let names: Vec<&str> = got.iter().map(|r| r.campaign.as_str()).collect();
    let want: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(names, want, "campaigns by name, in name order: {got:?}");
    for r in &got {
        let (sent, opened, clicked, open_rate, click_rate) = expected[&r.campaign];
        assert_eq!(
            (r.sent, r.opened, r.clicked),
            (Some(sent), opened, clicked),
            "{r:?}"
        );
        let close = |x: Option<f64>, y: f64| x.is_some_and(|x| (x - y).abs() < 0.051);
        assert!(close(r.open_rate, open_rate), "{r:?} vs {open_rate}");
        assert!(close(r.click_rate, click_rate), "{r:?} vs {click_rate}");
    }
}
