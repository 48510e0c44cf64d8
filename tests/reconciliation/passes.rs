//! Reconciliation against the built-in simulator, on the backend under test.

use acmirror::reconcile::{LogProgress, Mode, RunRequest, StartError, Trigger};
use acmirror_sim::fake_ac::{FakeAcConfig, Realism, WebhookFaults};
use acmirror_sim::harness::{sim_client, SimWorld};

fn small(seed: u64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 250,
        deals: 60,
        rate_limit: 0,
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
async fn webhooks_alone_keep_a_synced_mirror_exact() {
    let w = SimWorld::start(small(11)).await;
    w.reconcile(Mode::Full).await;
    assert!(
        w.differences().await.is_empty(),
        "the first full run loads the account"
    );
    w.sim.run_changes(400).await;
    let d = w.differences().await;
    assert!(
        d.is_empty(),
        "{} differences after lossless webhooks:\n{}",
        d.len(),
        show(&d)
    );
    assert!(w.sim.stats().deliveries_ok >= 400);
}

#[tokio::test]
async fn lossy_webhooks_imports_and_deletions_are_repaired_by_incremental_then_full() {
    let w = SimWorld::start(small(12)).await;
    w.reconcile(Mode::Full).await;
    w.sim.set_webhook_faults(WebhookFaults {
        drop: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        ..WebhookFaults::default()
    });
    w.sim.run_changes(500).await;
    w.sim.bulk_import(30);
    let deleted_contacts = w.sim.delete_contacts(5);
    w.sim.delete_deals(3);
    let before = w.differences().await;
    assert!(
        !before.is_empty(),
        "lost deliveries, an import and deletions leave drift"
    );
    let stats = w.sim.stats();
    assert!(stats.deliveries_dropped > 0 && stats.deliveries_duplicated > 0);

    let inc = w.reconcile(Mode::Incremental).await;
    assert!(
        inc.counters.changed > 0,
        "the incremental run repaired drift"
    );
    let after_inc = w.differences().await;
    // Notes, tasks and the CRM collections have no date filter upstream: only a full run
    // repairs them.
    let full_only = [
        "deal_notes",
        "contact_notes",
        "deal_tasks",
        "accounts",
        "account_contacts",
        "deal_field_values",
        "deal_contacts",
    ];
    assert!(
        after_inc
            .iter()
            .all(|d| d.what.contains("gone upstream") || full_only.contains(&d.table)),
        "only deletions, notes and tasks remain:\n{}",
        show(&after_inc)
    );

    // A contact of the import that was deleted before any run read it never reached the
    // mirror: there is nothing to mark.
    let ids = deleted_contacts.clone();
    let held: i64 = w
        .app
        .with_conn(move |c| {
            use acmirror::db::schema::contacts;
            use diesel::prelude::*;
            contacts::table
                .filter(contacts::id.eq_any(ids))
                .count()
                .get_result(c)
                .expect("q")
        })
        .await;
    assert!(held > 0, "{held} of the deleted contacts were mirrored");
    let full = w.reconcile(Mode::Full).await;
    let (contacts_marked, deals_marked) = w
        .app
        .with_conn(|c| {
            use acmirror::db::schema::{contacts, deals};
            use diesel::prelude::*;
            let n: i64 = contacts::table
                .filter(contacts::deleted_at.is_not_null())
                .count()
                .get_result(c)
                .expect("q");
            let m: i64 = deals::table
                .filter(deals::deleted_at.is_not_null())
                .count()
                .get_result(c)
                .expect("q");
            (n, m)
        })
        .await;
    assert_eq!((contacts_marked, deals_marked), (held, 3));
    assert!(
        full.counters.deleted >= held + 3,
        "{held} contacts and 3 deals, with the deals' notes and tasks"
    );
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences after the full run:\n{}",
        after.len(),
        show(&after)
    );

    let id = deleted_contacts[0];
    let deleted_at: Option<chrono::NaiveDateTime> = w
        .app
        .with_conn(move |c| {
            use acmirror::db::schema::contacts;
            use diesel::prelude::*;
            contacts::table
                .find(id)
                .select(contacts::deleted_at)
                .first(c)
                .expect("row kept")
        })
        .await;
    assert!(deleted_at.is_some(), "deleted rows are marked, not removed");
}

/// The strict profile: `udate` frozen on tag, list and field changes, shuffled ties, a heavy
/// account with cut-off large responses, partial webhook blocks and a skewed upstream clock.
async fn strict_profile_converges(seed: u64, skew_secs: i64) {
    let w = SimWorld::start(FakeAcConfig {
        contacts: 120,
        deals: 60,
        realism: Realism::strict(skew_secs),
        ..small(seed)
    })
    .await;
    w.reconcile(Mode::Full).await;
    w.sim.set_webhook_faults(WebhookFaults {
        drop: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        ..WebhookFaults::default()
    });
    w.sim.run_changes(300).await;
    w.sim.bulk_import(30);
    w.sim.delete_contacts(4);
    w.sim.delete_deals(3);
    assert!(
        !w.differences().await.is_empty(),
        "lost deliveries leave drift"
    );

    w.reconcile(Mode::Incremental).await;
    for _ in 0..2 {
        w.reconcile(Mode::Full).await;
        let after = w.differences().await;
        assert!(
            after.is_empty(),
            "{} differences after a full run (skew {skew_secs} s):\n{}",
            after.len(),
            show(&after)
        );
    }
}

#[tokio::test]
async fn the_strict_profile_converges_with_the_upstream_clock_behind() {
    strict_profile_converges(21, -600).await;
}

#[tokio::test]
async fn the_strict_profile_converges_with_the_upstream_clock_ahead() {
    strict_profile_converges(22, 600).await;
}

#[tokio::test]
async fn contacts_arrive_with_sideloads_in_one_request_per_hundred() {
    let w = SimWorld::start(small(13)).await;
    let s = w.reconcile(Mode::Full).await;
    // 250 contacts = 3 pages, 60 deals (3 of them stubs) = 1 page, 7 dimension reads (tags,
    // fields, lists, pipelines, users, deal and account fields), 3 for notes, deal tasks and task
    // types, the CRM collections (6 accounts, ~90 of their contacts, ~10 of their values, ~140
    // deal values, ~15 deal contacts: 6 pages) and 2 for campaigns and messages, nothing per
    // record.
    assert!(
        s.counters.api_requests <= 3 + 1 + 7 + 3 + 6 + 2 + 1,
        "{} requests",
        s.counters.api_requests
    );
    assert_eq!(
        s.counters.fetched as usize,
        250 + 60 + w.sim.truth().crm_records() + 3 + 3,
        "contacts and deals, stubs included, the CRM collections, and the 3 campaigns with \
         their messages"
    );
}

#[tokio::test]
async fn a_rate_limited_account_is_ridden_out() {
    let mut cfg = small(14);
    cfg.rate_limit = 5;
    let w = SimWorld::start(cfg).await;
    // Bursts of 503 as users report under load, on top of the 429s.
    w.sim.set_api_faults(acmirror_sim::fake_ac::ApiFaults {
        burst_503: 0.1,
        burst_503_len: 3,
        ..Default::default()
    });
    // Ask for four times the account's limit: the client must back off on 429s.
    let client = sim_client(&w.sim, w.sim.api_token(), 20.0);
    let rec = acmirror::reconcile::Reconciler::with_client(
        w.app.pool(),
        client,
        w.app.daemon.metrics.clone(),
    );
    let s = rec
        .run(RunRequest::new(Mode::Full, Trigger::Manual), &LogProgress)
        .await
        .expect("starts");
    assert_eq!(s.error, None);
    assert!(s.rate_limited > 0, "the simulator answered 429");
    assert!(
        w.sim.stats().api_unavailable > 0,
        "the simulator answered 503"
    );
    assert!(w.differences().await.is_empty());
}

#[tokio::test]
async fn a_wrong_token_fails_fast_naming_the_setting_not_the_token() {
    let w = SimWorld::start(small(15)).await;
    let client = sim_client(&w.sim, "wrong-token-xyz", 200.0);
    let rec = acmirror::reconcile::Reconciler::with_client(
        w.app.pool(),
        client,
        w.app.daemon.metrics.clone(),
    );
    let s = rec
        .run(
            RunRequest::new(Mode::Incremental, Trigger::Manual),
            &LogProgress,
        )
        .await
        .expect("starts");
    let err = s.error.expect("the run fails");
    assert!(err.contains("ACMIRROR_AC_API_TOKEN"), "{err}");
    assert!(!err.contains("wrong-token-xyz"), "{err}");
    assert!(
        s.counters.api_requests <= 3,
        "{} requests",
        s.counters.api_requests
    );
}

#[tokio::test]
async fn a_mass_deletion_stops_unless_allowed() {
    let w = SimWorld::start(small(16)).await;
    w.reconcile(Mode::Full).await;
    w.sim.delete_contacts(150);
    let refused = w
        .rec
        .run(RunRequest::new(Mode::Full, Trigger::Manual), &LogProgress)
        .await
        .expect("starts");
    let err = refused.error.expect("guarded");
    assert!(err.contains("--allow-mass-delete"), "{err}");
    assert_eq!(refused.counters.deleted, 0);
    let req = RunRequest {
        allow_mass_delete: true,
        ..RunRequest::new(Mode::Full, Trigger::Manual)
    };
    let allowed = w.rec.run(req, &LogProgress).await.expect("starts");
    assert_eq!(allowed.error, None);
    assert!(
        allowed.resumed,
        "the refused run resumes at its deletion phase"
    );
    assert_eq!(allowed.counters.deleted, 150);
    assert!(w.differences().await.is_empty());
}

#[tokio::test]
async fn only_one_run_at_a_time() {
    let w = SimWorld::start(small(17)).await;
    let first = w
        .rec
        .prepare(RunRequest::new(Mode::Full, Trigger::Manual))
        .await
        .expect("first run starts");
    let second = w
        .rec
        .prepare(RunRequest::new(Mode::Incremental, Trigger::Manual))
        .await;
    assert!(matches!(second, Err(StartError::Busy)));
    let s = first.execute(&LogProgress).await;
    assert_eq!(s.error, None);
    let third = w
        .rec
        .prepare(RunRequest::new(Mode::Incremental, Trigger::Manual))
        .await;
    assert!(third.is_ok(), "the lock is released when a run ends");
}

/// Stops the run after its first committed contacts page, as a kill would.
struct StopAfterFirstPage(tokio::sync::Notify);

impl acmirror::reconcile::Progress for StopAfterFirstPage {
    fn page(
        &self,
        _: acmirror::reconcile::Only,
        _: u64,
        _: Option<u64>,
        _: &acmirror::activecampaign::StatsSnapshot,
    ) {
        self.0.notify_one();
    }
}

#[tokio::test]
async fn an_interrupted_run_resumes_from_its_last_page() {
    let w = SimWorld::start(small(18)).await;
    let run = w
        .rec
        .prepare(RunRequest::new(Mode::Full, Trigger::Manual))
        .await
        .expect("starts");
    let first_id = run.run_id();
    let stop = StopAfterFirstPage(tokio::sync::Notify::new());
    tokio::select! {
        _ = run.execute(&stop) => panic!("the run should have been interrupted"),
        _ = stop.0.notified() => {}
    }
    let resumed = w.reconcile(Mode::Full).await;
    assert!(resumed.resumed);
    assert_eq!(resumed.run_id, first_id);
    // The CRM collections are read whole after the deletion check, by the resumed part.
    let crm = w.sim.truth().crm_records();
    assert!(
        (resumed.counters.fetched as usize) < 250 + 63 + 100 + crm,
        "pages already committed are not read again"
    );
    assert!(w.differences().await.is_empty());
}

#[tokio::test]
async fn a_single_contact_resync_marks_a_deleted_contact() {
    let w = SimWorld::start(small(19)).await;
    w.reconcile(Mode::Full).await;
    let gone = w.sim.delete_contacts(1)[0];
    let req = RunRequest {
        contacts: vec![gone, 1],
        ..RunRequest::new(Mode::Incremental, Trigger::Manual)
    };
    let s = w.rec.run(req, &LogProgress).await.expect("starts");
    assert_eq!(s.error, None);
    assert_eq!(s.counters.deleted, 1);
    assert!(s.counters.api_requests <= 2);
    assert!(w.differences().await.is_empty());
}
