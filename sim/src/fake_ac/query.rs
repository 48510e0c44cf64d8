//! Listing contacts and deals the way `GET /contacts` and `GET /deals` do: filters, order,
//! `id_greater`, `offset` and `limit`, with the total of every match.
//!
//! Unfiltered pages are found by id arithmetic, so keyset and offset paging stay cheap on a
//! million contacts. Date filters scan the id range with the cheap time functions.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::state::Account;

/// Time and id bounds common to contacts and deals. Times are Unix seconds, inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub limit: i64,
    pub offset: i64,
    pub desc: bool,
    pub id_greater: Option<i64>,
    pub id_less: Option<i64>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// `orders[cdate]` was asked for (as opposed to `orders[id]` or no order).
    pub by_cdate: bool,
}

impl ListQuery {
    fn has_time_filter(&self) -> bool {
        self.created_after.is_some()
            || self.created_before.is_some()
            || self.updated_after.is_some()
            || self.updated_before.is_some()
    }

    fn matches(&self, (cdate, udate): (i64, i64)) -> bool {
        self.created_after.is_none_or(|t| cdate >= t)
            && self.created_before.is_none_or(|t| cdate <= t)
            && self.updated_after.is_none_or(|t| udate >= t)
            && self.updated_before.is_none_or(|t| udate <= t)
    }

    fn bounds(&self, max: i64) -> (i64, i64) {
        let lo = self.id_greater.map_or(1, |g| g.saturating_add(1)).max(1);
        let hi = self.id_less.map_or(max, |l| l.saturating_sub(1)).min(max);
        (lo, hi)
    }
}

/// A page of ids and the number of records matching the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub total: i64,
    pub ids: Vec<i64>,
}

/// Lists contact ids; creation order equals id order, so `orders[cdate]` is `orders[id]`,
/// except that with unstable ties contacts created in the same second (a bulk import) come
/// back in a new order on every request.
pub(crate) fn contacts(acct: &Account, q: &ListQuery) -> Page {
    let (lo, hi) = q.bounds(acct.max_contact);
    if acct.unstable_ties && q.by_cdate {
        let keyed = (lo..=hi)
            .filter_map(|id| acct.contact_times(id).map(|t| (id, t)))
            .filter(|(_, t)| q.matches(*t))
            .map(|(id, (cdate, _))| (cdate, id));
        return tied_page(keyed.collect(), q, acct.next_tie_draw());
    }
    if q.has_time_filter() {
        return scan(lo, hi, q, |id| {
            acct.contact_times(id).is_some_and(|t| q.matches(t))
        });
    }
    let total = acct.live_contacts_in(lo, hi);
    let ids = arithmetic_page(
        total,
        q,
        hi,
        |k| acct.kth_live_contact(lo, k),
        |id| acct.contact_exists(id),
    );
    Page { total, ids }
}

/// Lists deal ids. Permission stubs carry no dates, and ActiveCampaign returns them whatever
/// the date filters say, so they always match.
///
/// With unstable ties, deals are sorted by `cdate` as ActiveCampaign's database sorts them:
/// deals created in the same second come back in a new order on every request, so offset
/// pages across a tied group skip some and repeat others.
pub(crate) fn deals(acct: &Account, q: &ListQuery) -> Page {
    let (lo, hi) = q.bounds(acct.max_deal);
    if acct.unstable_ties {
        let keyed = (lo..=hi)
            .filter_map(|id| acct.deal_times(id).map(|t| (id, t)))
            .filter(|(id, t)| acct.deal_is_restricted(*id) || q.matches(*t))
            .map(|(id, (cdate, _))| (cdate, id));
        return tied_page(keyed.collect(), q, acct.next_tie_draw());
    }
    if q.has_time_filter() {
        return scan(lo, hi, q, |id| {
            acct.deal_is_restricted(id) && acct.deal_exists(id)
                || acct.deal_times(id).is_some_and(|t| q.matches(t))
        });
    }
    let total = acct.live_deals_in(lo, hi);
    let ids = arithmetic_page(
        total,
        q,
        hi,
        |k| acct.kth_live_deal(lo, k),
        |id| acct.deal_exists(id),
    );
    Page { total, ids }
}

/// Sorts `(key, id)` pairs by key (descending with `desc`) the way a database without a total
/// order does: the order within each run of equal keys is drawn from `draw`, so two requests
/// see ties in different orders. Shared by every list endpoint that sorts on a non-unique key.
pub(crate) fn order_with_unstable_ties(items: &mut [(i64, i64)], desc: bool, draw: u64) {
    items.sort_unstable();
    if desc {
        items.reverse();
    }
    let mut rng = StdRng::seed_from_u64(draw);
    let mut start = 0;
    while start < items.len() {
        let key = items[start].0;
        let end = start + items[start..].iter().take_while(|(k, _)| *k == key).count();
        items[start..end].shuffle(&mut rng);
        start = end;
    }
}

/// One offset page of `keyed` (every match), ordered with unstable ties.
fn tied_page(mut keyed: Vec<(i64, i64)>, q: &ListQuery, draw: u64) -> Page {
    order_with_unstable_ties(&mut keyed, q.desc, draw);
    let total = keyed.len() as i64;
    let ids = keyed
        .into_iter()
        .skip(q.offset.max(0) as usize)
        .take(q.limit.max(0) as usize)
        .map(|(_, id)| id)
        .collect();
    Page { total, ids }
}

fn arithmetic_page(
    total: i64,
    q: &ListQuery,
    hi: i64,
    kth: impl Fn(i64) -> i64,
    exists: impl Fn(i64) -> bool,
) -> Vec<i64> {
    let wanted = q.limit.min(total - q.offset).max(0);
    if wanted == 0 {
        return Vec::new();
    }
    let (mut id, step) = if q.desc {
        (kth(total - q.offset), -1)
    } else {
        (kth(q.offset + 1), 1)
    };
    let mut ids = Vec::with_capacity(wanted as usize);
    while (ids.len() as i64) < wanted && id >= 1 && id <= hi {
        if exists(id) {
            ids.push(id);
        }
        id += step;
    }
    ids
}

fn scan(lo: i64, hi: i64, q: &ListQuery, matches: impl Fn(i64) -> bool) -> Page {
    let mut total = 0;
    let mut ids = Vec::new();
    let mut visit = |id: i64| {
        if matches(id) {
            if total >= q.offset && (ids.len() as i64) < q.limit {
                ids.push(id);
            }
            total += 1;
        }
    };
    if q.desc {
        (lo..=hi).rev().for_each(&mut visit);
    } else {
        (lo..=hi).for_each(&mut visit);
    }
    Page { total, ids }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_ac::generate::DealShape;

    fn account() -> Account {
        let mut a = Account::new(
            9,
            DealShape {
                contacts: 50,
                deals: 20,
                restricted: 2,
            },
            2_000_000_000,
        );
        for id in [3, 4, 10, 49] {
            a.delete_contact(id);
        }
        a
    }

    fn q(limit: i64) -> ListQuery {
        ListQuery {
            limit,
            ..ListQuery::default()
        }
    }

    #[test]
    fn offset_pages_cover_every_live_contact_once() {
        let a = account();
        let mut seen = Vec::new();
        for offset in (0..60).step_by(7) {
            let page = contacts(&a, &ListQuery { offset, ..q(7) });
            assert_eq!(page.total, 46);
            seen.extend(page.ids);
        }
        let want: Vec<i64> = (1..=50).filter(|id| ![3, 4, 10, 49].contains(id)).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn keyset_and_descending_pages_agree_with_the_scan() {
        let a = account();
        let page = contacts(
            &a,
            &ListQuery {
                id_greater: Some(2),
                ..q(3)
            },
        );
        assert_eq!(page.ids, vec![5, 6, 7]);
        assert_eq!(page.total, 44);
        let desc = contacts(
            &a,
            &ListQuery {
                desc: true,
                offset: 1,
                ..q(3)
            },
        );
        assert_eq!(desc.ids, vec![48, 47, 46]);
    }

    #[test]
    fn updated_after_keeps_only_later_records() {
        let a = account();
        let cut = a.contact_times(25).expect("live").1;
        let page = contacts(
            &a,
            &ListQuery {
                updated_after: Some(cut),
                ..q(100)
            },
        );
        assert!(page.ids.contains(&25));
        assert_eq!(page.total as usize, page.ids.len());
        for id in page.ids {
            assert!(a.contact_times(id).expect("live").1 >= cut);
        }
    }

    fn tied_account() -> Account {
        let mut a = account();
        a.unstable_ties = true;
        a.import_deals(300, 2_100_000_000);
        a
    }

    #[test]
    fn ties_come_back_in_a_new_order_on_every_request() {
        let a = tied_account();
        let first = deals(&a, &q(100));
        let again = deals(&a, &q(100));
        assert_eq!(first.total, 320);
        // Base deals come in groups of 25 sharing a second, so ties already start on page one.
        assert_ne!(first.ids, again.ids);
        // Only the order within a tied second changes, never which seconds a page holds.
        let seconds = |ids: &[i64]| -> Vec<i64> {
            ids.iter()
                .map(|id| a.deal_times(*id).expect("live").0)
                .collect()
        };
        assert_eq!(seconds(&first.ids), seconds(&again.ids));
    }

    #[test]
    fn offset_paging_over_a_tied_import_misses_some_deals() {
        let a = tied_account();
        let mut seen = std::collections::BTreeSet::new();
        for offset in (0..320).step_by(100) {
            seen.extend(deals(&a, &ListQuery { offset, ..q(100) }).ids);
        }
        assert!(seen.len() < 320, "shuffled ties across pages hide deals");
    }

    #[test]
    fn a_one_second_window_holds_exactly_that_second() {
        let a = tied_account();
        let window = ListQuery {
            created_after: Some(2_100_000_000),
            created_before: Some(2_100_000_000),
            ..q(100)
        };
        let page = deals(&a, &window);
        // The import and the two permission stubs, which ignore date filters.
        assert_eq!(page.total, 302);
        assert!(page
            .ids
            .iter()
            .all(|id| *id > 20 || a.deal_is_restricted(*id)));
    }

    #[test]
    fn ties_sort_descending_too() {
        let mut items = vec![(2, 1), (1, 2), (2, 3), (3, 4), (1, 5)];
        order_with_unstable_ties(&mut items, true, 7);
        let keys: Vec<i64> = items.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec![3, 2, 2, 1, 1]);
    }

    #[test]
    fn stub_deals_survive_date_filters() {
        let a = account();
        let page = deals(
            &a,
            &ListQuery {
                updated_after: Some(i64::MAX),
                ..q(100)
            },
        );
        assert_eq!(page.ids, vec![10, 20]);
    }
}
