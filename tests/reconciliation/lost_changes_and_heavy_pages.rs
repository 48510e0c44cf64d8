//! Convergence when the service behaves as the simulator's realism profile says: contacts'
//! `udate` frozen while their tags, values and lists change, and pages too heavy to come back
//! whole. Runs on the backend under test.

use acmirror::reconcile::Mode;
use acmirror_sim::fake_ac::{FakeAcConfig, LostChange, Realism};
use acmirror_sim::harness::SimWorld;
use acmirror_sim::truth::Difference;

/// Textarea values on PostgreSQL while its schema still indexes field values with a btree,
/// which refuses entries above ~2.7 KB.
const PG_INDEXED_TEXTAREA_BYTES: usize = 2_000;

/// An account whose base records were last changed three days ago, so that an incremental
/// run's contact pass (25 h back) sees only what changed since.
fn frozen(seed: u64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 200,
        deals: 20,
        rate_limit: 0,
        epoch: Some(chrono::Utc::now() - chrono::Duration::days(3)),
        realism: Realism {
            frozen_udate: true,
            ..Realism::default()
        },
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

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn tags_added_without_webhooks_or_udate_change_arrive_with_one_incremental_run() {
    let w = SimWorld::start(frozen(31)).await;
    w.reconcile(Mode::Full).await;
    assert!(w.differences().await.is_empty(), "the full run loads all");

    let changed = w.sim.lost_changes(LostChange::TagAdded, 40);
    assert_eq!(changed.len(), 40);
    let before = w.differences().await;
    assert!(
        !before.is_empty() && before.iter().all(|d| d.what.contains("tag")),
        "only tags differ:\n{}",
        show(&before)
    );

    let run = w.reconcile(Mode::Incremental).await;
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences after one incremental run:\n{}",
        after.len(),
        show(&after)
    );
    assert!(run.counters.changed >= 40, "{:?}", run.counters);
    println!(
        "40 lost tag additions: {} differences before, 0 after; incremental run: {} requests",
        before.len(),
        run.counters.api_requests
    );
}

#[tokio::test]
async fn lost_removals_values_and_list_statuses_are_repaired_by_the_full_pass() {
    let w = SimWorld::start(frozen(32)).await;
    w.reconcile(Mode::Full).await;
    for kind in [
        LostChange::TagRemoved,
        LostChange::FieldValue,
        LostChange::ListStatus,
    ] {
        assert_eq!(w.sim.lost_changes(kind, 20).len(), 20, "{kind:?}");
    }
    let before = w.differences().await;
    assert!(before.len() >= 30, "lost changes show:\n{}", show(&before));

    // The incremental run cannot see these (no udate moved, no feed lists them) ...
    w.reconcile(Mode::Incremental).await;
    assert!(!w.differences().await.is_empty());
    // ... the full pass reads every contact with its parts and repairs them.
    w.reconcile(Mode::Full).await;
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences after the full run:\n{}",
        after.len(),
        show(&after)
    );
}

#[tokio::test]
async fn a_heavy_account_behind_a_response_size_limit_is_read_whole() {
    let max_response_bytes = 1_500_000;
    let mut config = FakeAcConfig {
        seed: 33,
        contacts: 250,
        deals: 20,
        rate_limit: 0,
        realism: Realism {
            heavy: true,
            max_response_bytes,
            ..Realism::default()
        },
        ..FakeAcConfig::default()
    };
    if std::env::var_os("ACMIRROR_TEST_DATABASE_URL").is_some() {
        config.realism.heavy_textarea_bytes = PG_INDEXED_TEXTAREA_BYTES;
    }
    let w = SimWorld::start(config).await;

    let run = w.reconcile(Mode::Full).await;
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences after a full run:\n{}",
        after.len(),
        show(&after)
    );
    let stats = w.sim.stats();
    assert!(
        stats.api_truncated > 0,
        "pages of 100 heavy contacts exceed {max_response_bytes} bytes and were cut off"
    );
    println!(
        "heavy account, 250 contacts, responses cut at {max_response_bytes} bytes: {} requests \
         ({} cut off), {} records, peak RSS of the test process {:?} kB",
        run.counters.api_requests,
        stats.api_truncated,
        run.counters.fetched,
        peak_rss_kb()
    );
}

#[tokio::test]
async fn with_frozen_udate_webhooks_and_runs_of_both_kinds_agree() {
    let w = SimWorld::start(frozen(34)).await;
    w.reconcile(Mode::Full).await;
    w.sim.run_changes(300).await;
    let d = w.differences().await;
    assert!(d.is_empty(), "webhooks alone:\n{}", show(&d));
    // Neither the incremental run's tag pass nor the full pass undoes a newer webhook.
    w.reconcile(Mode::Incremental).await;
    let d = w.differences().await;
    assert!(d.is_empty(), "after an incremental run:\n{}", show(&d));
    w.sim.run_changes(100).await;
    w.reconcile(Mode::Full).await;
    let d = w.differences().await;
    assert!(d.is_empty(), "after a full run:\n{}", show(&d));
}

#[tokio::test]
async fn many_lost_tag_additions_are_read_over_several_pages_and_no_further() {
    let w = SimWorld::start(frozen(35)).await;
    w.reconcile(Mode::Full).await;
    assert_eq!(w.sim.lost_changes(LostChange::TagAdded, 250).len(), 250);
    let run = w.reconcile(Mode::Incremental).await;
    let after = w.differences().await;
    assert!(after.is_empty(), "{}", show(&after));
    // Dimensions (8), one contacts page, one deals page, and 3 pages of associations: the
    // older associations (hundreds, from the account's history) are not read.
    assert!(
        run.counters.api_requests <= 14,
        "{} requests",
        run.counters.api_requests
    );
}
