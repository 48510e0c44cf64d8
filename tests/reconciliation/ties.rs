//! Deals listed by `orders[cdate]` when many share a creation second and the API returns ties
//! in a new order on every request (`Realism::unstable_ties`): nothing missed, nothing falsely
//! deleted, and every deletion confirmed.

use acmirror::reconcile::{LogProgress, Mode, RunRequest, Trigger};
use acmirror_sim::fake_ac::{FakeAcConfig, Realism};
use acmirror_sim::harness::SimWorld;

fn tied(seed: u64, deals: u64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 50,
        deals,
        rate_limit: 0,
        realism: Realism {
            unstable_ties: true,
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

#[tokio::test]
async fn three_full_passes_over_300_deals_created_in_one_second_miss_and_delete_nothing() {
    let w = SimWorld::start(tied(41, 60)).await;
    w.reconcile(Mode::Full).await;
    let imported = w.sim.bulk_import_deals(300);
    assert_eq!(imported.clone().count(), 300);
    let deals = 60 + 300;
    for pass in 1..=3 {
        let before = w.sim.stats().api_requests;
        let s = w.reconcile(Mode::Full).await;
        let requests = w.sim.stats().api_requests - before;
        eprintln!(
            "pass {pass}: {requests} requests for {deals} deals and 50 contacts \
             ({:.1} per 100 deals after 4 dimension reads and 1 contact page)",
            (requests.saturating_sub(5)) as f64 * 100.0 / deals as f64
        );
        assert_eq!(s.counters.deleted, 0, "pass {pass} deleted nothing");
        let d = w.differences().await;
        assert!(
            d.is_empty(),
            "pass {pass}: {} differences:\n{}",
            d.len(),
            show(&d)
        );
        // 4 deal pages and re-reads of the tied second; confirming the ~90 deals a plain
        // offset pass skips, one request each, would cost far more.
        assert!(requests <= 60, "pass {pass}: {requests} requests");
    }
}

#[tokio::test]
async fn a_deal_and_a_contact_wrongly_marked_deleted_come_back_on_the_next_pass() {
    let w = SimWorld::start(tied(42, 60)).await;
    w.reconcile(Mode::Full).await;
    let restricted = w.sim.restricted_deal_ids();
    let deal = (1..=60)
        .find(|id| !restricted.contains(id))
        .expect("a visible deal");
    let far = chrono::NaiveDate::from_ymd_opt(2099, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid");
    w.app
        .with_conn(move |c| {
            use acmirror::db::schema::{contacts, deals};
            use diesel::prelude::*;
            diesel::update(deals::table.find(deal))
                .set((
                    deals::deleted_at.eq(Some(far)),
                    deals::updated_at.eq(Some(far)),
                    deals::title.eq("stale"),
                ))
                .execute(c)
                .expect("mark deal");
            diesel::update(contacts::table.find(7))
                .set((
                    contacts::deleted_at.eq(Some(far)),
                    contacts::updated_at.eq(Some(far)),
                    contacts::first_name.eq("stale"),
                ))
                .execute(c)
                .expect("mark contact");
        })
        .await;
    // The deal's custom field values and secondary contacts look gone with it.
    let truth = w.sim.truth();
    let with_deal = truth
        .deal_field_values
        .keys()
        .filter(|k| k.starts_with(&format!("{deal}/")))
        .count()
        + truth
            .deal_contacts
            .values()
            .filter(|l| l.deal_id == deal)
            .count();
    assert_eq!(w.differences().await.len(), 2 + with_deal, "both look gone");

    let s = w.reconcile(Mode::Full).await;
    assert!(s.counters.changed >= 2, "{:?}", s.counters);
    let d = w.differences().await;
    assert!(d.is_empty(), "{} differences:\n{}", d.len(), show(&d));
}

#[tokio::test]
async fn more_than_200_deletion_candidates_are_each_confirmed() {
    let w = SimWorld::start(tied(43, 600)).await;
    w.reconcile(Mode::Full).await;
    let gone = w.sim.delete_deals(250);
    assert_eq!(gone.len(), 250);

    // 250 of 600 is over the 10% guard: confirming stops once the guard is crossed.
    let before = w.sim.stats().api_requests;
    let refused = w
        .rec
        .run(RunRequest::new(Mode::Full, Trigger::Manual), &LogProgress)
        .await
        .expect("starts");
    let spent = w.sim.stats().api_requests - before;
    let err = refused.error.expect("guarded");
    assert!(err.contains("--allow-mass-delete"), "{err}");
    assert_eq!(refused.counters.deleted, 0);
    assert!(
        (101..=101 + 30).contains(&spent.saturating_sub(4 + 1 + 4)),
        "{spent} requests: the pass, then 101 confirmed deletions at most"
    );

    let before = w.sim.stats().api_requests;
    let req = RunRequest {
        allow_mass_delete: true,
        ..RunRequest::new(Mode::Full, Trigger::Manual)
    };
    let allowed = w.rec.run(req, &LogProgress).await.expect("starts");
    let spent = w.sim.stats().api_requests - before;
    assert_eq!(allowed.error, None);
    assert!(allowed.resumed);
    assert_eq!(allowed.counters.deleted, 250);
    assert!(
        spent >= 250,
        "{spent} requests: each candidate is confirmed"
    );
    assert!(w.differences().await.is_empty());
}
