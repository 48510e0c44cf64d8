//! Deals skipped by offset paging over ties. Deals are listed by `orders[cdate]`, and the
//! deals of one bulk import share a `cdate` second; the API returns such ties in any order,
//! and a new one on every request, so a tied group that straddles a page boundary shows some
//! of its deals twice and others never. A pass tallies what it saw against `meta.total`; when
//! the two disagree it re-reads each tied second on its own (`filters[created_after]` and
//! `filters[created_before]` set to that second) until it has seen every deal of the window.

use std::collections::{BTreeSet, HashSet};

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::activecampaign::{Deal, StatsSnapshot};

use super::{pages, PreparedRun};
use crate::time::now;

/// Reads of one window allowed per page it holds: every read of a fully tied window returns
/// a fresh random sample, so collecting all of it takes several reads (about 15 pages for a
/// window of 300 deals); beyond this the pass gives up and says so.
const READS_PER_WINDOW_PAGE: u64 = 12;
/// Extra reads allowed for every window, however small.
const EXTRA_WINDOW_READS: u64 = 8;

/// The two ends of one page, for finding the seconds that straddle a page boundary.
#[derive(Debug, Clone, Copy)]
struct Ends {
    /// The first deal's `cdate` (`None` for a permission stub, which has no dates).
    head: Option<DateTime<Utc>>,
    /// The first dated deal's `cdate`.
    head_dated: Option<DateTime<Utc>>,
    /// The last deal's `cdate`.
    tail: Option<DateTime<Utc>>,
    /// The last dated deal's `cdate`.
    tail_dated: Option<DateTime<Utc>>,
}

impl Ends {
    fn of(deals: &[Deal]) -> Option<Self> {
        Some(Ends {
            head: deals.first()?.cdate,
            head_dated: deals.iter().find_map(|d| d.cdate),
            tail: deals.last()?.cdate,
            tail_dated: deals.iter().rev().find_map(|d| d.cdate),
        })
    }
}

/// What a deal pass has seen, and the seconds whose deals may have been skipped.
#[derive(Debug, Default)]
pub(super) struct Tally {
    seen: HashSet<i64>,
    /// Seconds that straddle a page boundary.
    suspects: BTreeSet<DateTime<Utc>>,
    /// `meta.total` of the latest page.
    total: Option<u64>,
    last: Option<Ends>,
}

impl Tally {
    /// Records one page of the pass, read after the previous one.
    pub(super) fn page(&mut self, deals: &[Deal], total: Option<u64>) {
        self.seen.extend(deals.iter().map(|d| d.id));
        self.total = total.or(self.total);
        let Some(ends) = Ends::of(deals) else {
            return;
        };
        if let Some(prev) = self.last {
            match (prev.tail, ends.head) {
                (Some(a), Some(b)) if a == b => {
                    self.suspects.insert(a);
                }
                (Some(_), Some(_)) => {}
                // A stub at the boundary hides its time: suspect the seconds around it.
                _ => self
                    .suspects
                    .extend(prev.tail_dated.into_iter().chain(ends.head_dated)),
            }
        }
        self.last = Some(ends);
    }

    /// Distinct deals seen so far.
    pub(super) fn seen(&self) -> usize {
        self.seen.len()
    }

    /// True when the pass saw as many distinct deals as the API counts (or the API gave no
    /// count to compare with).
    pub(super) fn complete(&self) -> bool {
        self.total.is_none_or(|t| self.seen.len() as u64 >= t)
    }
}

/// What the tie repair did, for the log and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Repair {
    /// Windows (tied seconds) re-read.
    pub windows: usize,
    /// Requests spent.
    pub requests: u64,
    /// Deals found that the pass had skipped.
    pub found: usize,
}

impl PreparedRun {
    /// Re-reads the tied seconds of a deal pass that saw fewer deals than `meta.total`, until
    /// each window has shown every deal it holds (or the pass has seen them all).
    pub(super) async fn repair_ties(
        &mut self,
        mut tally: Tally,
        since: Option<DateTime<Utc>>,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<Repair> {
        let mut repair = Repair::default();
        if tally.complete() {
            return Ok(repair);
        }
        let before = tally.seen();
        let seen_run = (self.req.mode == super::Mode::Full).then_some(self.run_id);
        for second in std::mem::take(&mut tally.suspects) {
            if tally.complete() {
                break;
            }
            repair.windows += 1;
            let mut window: HashSet<i64> = HashSet::new();
            let (mut offset, mut reads) = (0u64, 0u64);
            loop {
                let page = self
                    .rec
                    .client
                    .deals_created_in_second(second, offset, since)
                    .await
                    .context("Failed to re-read deals created in the same second")?;
                reads += 1;
                window.extend(page.deals.iter().map(|d| d.id));
                tally.seen.extend(page.deals.iter().map(|d| d.id));
                let want = page.total.unwrap_or(window.len() as u64);
                let at = super::passes::as_of(page.served_at);
                offset = page.next_offset().unwrap_or(0);
                let deals = page.deals;
                self.commit(
                    move |c| Ok((pages::apply_deals(c, &deals, at, seen_run, now())?, 0)),
                    api_start,
                    base,
                )
                .await?;
                if window.len() as u64 >= want || tally.complete() {
                    break;
                }
                let cap = want.div_ceil(100) * READS_PER_WINDOW_PAGE + EXTRA_WINDOW_READS;
                if reads >= cap {
                    tracing::warn!(
                        second = %second,
                        seen = window.len(),
                        total = want,
                        reads,
                        "deals created in one second are still partly unseen after repeated reads; \
                         the next full run reads them again"
                    );
                    break;
                }
            }
            repair.requests += reads;
        }
        repair.found = tally.seen() - before;
        tracing::info!(
            windows = repair.windows,
            requests = repair.requests,
            found = repair.found,
            seen = tally.seen(),
            total = tally.total,
            "re-read deals created in the same second"
        );
        Ok(repair)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(id: i64, secs: Option<i64>) -> Deal {
        Deal {
            id,
            title: String::new(),
            value_cents: None,
            currency: None,
            pipeline_id: None,
            stage_id: None,
            owner_id: None,
            contact_id: None,
            status: None,
            cdate: secs.and_then(|s| DateTime::from_timestamp(s, 0)),
            mdate: None,
            account: None,
            win_probability: None,
            nextdate: None,
            is_disabled: secs.is_none(),
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).expect("valid")
    }

    #[test]
    fn a_second_on_both_sides_of_a_boundary_is_suspect() {
        let mut t = Tally::default();
        t.page(&[deal(1, Some(10)), deal(2, Some(20))], Some(5));
        t.page(&[deal(3, Some(20)), deal(4, Some(30))], Some(5));
        t.page(&[deal(5, Some(40))], Some(5));
        assert_eq!(t.suspects.iter().copied().collect::<Vec<_>>(), vec![at(20)]);
        assert!(t.complete());
    }

    #[test]
    fn a_stub_at_a_boundary_makes_both_neighbouring_seconds_suspect() {
        let mut t = Tally::default();
        t.page(&[deal(1, Some(10)), deal(2, None)], Some(6));
        t.page(&[deal(3, Some(30))], Some(6));
        assert_eq!(
            t.suspects.iter().copied().collect::<Vec<_>>(),
            vec![at(10), at(30)]
        );
        assert!(!t.complete(), "3 distinct deals of 6");
    }

    #[test]
    fn a_repeated_deal_counts_once() {
        let mut t = Tally::default();
        t.page(&[deal(1, Some(10)), deal(2, Some(10))], Some(3));
        t.page(&[deal(2, Some(10))], Some(3));
        assert_eq!(t.seen(), 2);
        assert!(!t.complete());
    }
}
