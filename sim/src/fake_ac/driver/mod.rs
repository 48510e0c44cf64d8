//! The change driver: one random change at a time, applied to the account, returning the
//! webhook event ActiveCampaign would send for it. Bulk imports and deletions, which send no
//! webhook, live on [`Account`] and the handle.

mod accounts;
mod campaigns;
mod contacts;
mod deals;
mod lost;

pub(crate) use campaigns::change as campaign_change;
pub use campaigns::CampaignsChurn;
pub use lost::LostChange;
mod notes;

pub(crate) use notes::silent_change;
pub use notes::NotesChurn;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clock::next_change_time;
use super::model::{Contact, Deal};
use super::state::Account;
use super::wire::Event;

/// The kinds of change, with their relative frequency.
const MIX: &[(Kind, u32)] = &[
    (Kind::CreateContact, 8),
    (Kind::UpdateContact, 18),
    (Kind::TagAdd, 12),
    (Kind::TagRemove, 8),
    (Kind::Subscribe, 6),
    (Kind::Unsubscribe, 4),
    (Kind::ContactNote, 4),
    (Kind::DealAdd, 6),
    (Kind::DealUpdate, 8),
    (Kind::DealStage, 8),
    (Kind::DealWonLost, 4),
    (Kind::DealNote, 3),
    (Kind::TaskAdd, 3),
    (Kind::TaskComplete, 2),
    (Kind::CampaignOpen, 3),
    (Kind::CampaignClick, 2),
    (Kind::AccountAdd, 1),
    (Kind::AccountUpdate, 2),
    (Kind::AccountContact, 3),
    (Kind::DealCustom, 3),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CreateContact,
    UpdateContact,
    TagAdd,
    TagRemove,
    Subscribe,
    Unsubscribe,
    ContactNote,
    DealAdd,
    DealUpdate,
    DealStage,
    DealWonLost,
    DealNote,
    TaskAdd,
    TaskComplete,
    CampaignOpen,
    CampaignClick,
    AccountAdd,
    AccountUpdate,
    AccountContact,
    DealCustom,
}

/// Makes random changes, reproducibly for a given seed.
#[derive(Debug)]
pub(crate) struct Driver {
    rng: StdRng,
}

impl Driver {
    /// A driver whose sequence of changes depends only on `seed` and the account.
    pub(crate) fn new(seed: u64) -> Self {
        Driver {
            rng: StdRng::seed_from_u64(seed ^ 0x00C0_FFEE),
        }
    }

    /// Applies one change at wall time `now` and returns the event it causes.
    pub(crate) fn step(&mut self, acct: &mut Account, now: i64) -> Event {
        let kind = self.pick_kind();
        let rng = &mut self.rng;
        let event = match kind {
            Kind::CreateContact => None,
            Kind::UpdateContact => contacts::update(acct, rng, now),
            Kind::TagAdd => contacts::tag(acct, rng, now, true),
            Kind::TagRemove => contacts::tag(acct, rng, now, false),
            Kind::Subscribe => contacts::subscription(acct, rng, now, true),
            Kind::Unsubscribe => contacts::subscription(acct, rng, now, false),
            Kind::ContactNote => contacts::note(acct, rng, now),
            Kind::CampaignOpen => contacts::campaign(acct, rng, now, false),
            Kind::CampaignClick => contacts::campaign(acct, rng, now, true),
            Kind::DealAdd => deals::add(acct, rng, now),
            Kind::DealUpdate => deals::update(acct, rng, now),
            Kind::DealStage => deals::stage(acct, rng, now),
            Kind::DealWonLost => deals::won_lost(acct, rng, now),
            Kind::DealNote => deals::note(acct, rng, now),
            Kind::TaskAdd => deals::task_add(acct, rng, now),
            Kind::TaskComplete => deals::task_complete(acct, rng, now),
            Kind::AccountAdd => accounts::add(acct, rng, now),
            Kind::AccountUpdate => accounts::update(acct, rng, now),
            Kind::AccountContact => accounts::contact(acct, rng, now),
            Kind::DealCustom => deals::custom(acct, rng, now),
        };
        // A change that found nothing to act on (no tags to remove, no deals) creates a
        // contact instead, so every step changes something and sends one event.
        event.unwrap_or_else(|| contacts::create(acct, rng, now))
    }

    /// Makes one change of `kind` whose webhook is lost; returns the contact it changed.
    pub(crate) fn lost_change(
        &mut self,
        acct: &mut Account,
        now: i64,
        kind: LostChange,
    ) -> Option<i64> {
        lost::apply(acct, &mut self.rng, now, kind)
    }

    fn pick_kind(&mut self) -> Kind {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.gen_range(0..total);
        for (kind, weight) in MIX {
            if roll < *weight {
                return *kind;
            }
            roll -= weight;
        }
        Kind::UpdateContact
    }
}

/// A random live contact, if one can be found quickly.
pub(super) fn live_contact(acct: &Account, rng: &mut StdRng) -> Option<Contact> {
    if acct.max_contact < 1 {
        return None;
    }
    (0..32).find_map(|_| acct.contact(rng.gen_range(1..=acct.max_contact)))
}

/// A random live deal outside the restricted pipeline, which the driver leaves alone.
pub(super) fn live_deal(acct: &Account, rng: &mut StdRng) -> Option<Deal> {
    if acct.max_deal < 1 {
        return None;
    }
    (0..32).find_map(|_| {
        let id = rng.gen_range(1..=acct.max_deal);
        (!acct.deal_is_restricted(id))
            .then(|| acct.deal(id))
            .flatten()
    })
}

/// Moves a contact's update time to its next change time and returns that time.
pub(super) fn touch_contact(c: &mut Contact, now: i64) -> i64 {
    c.touched = next_change_time(now, c.touched.max(c.udate));
    c.udate = c.touched;
    c.udate
}

/// The next change time of a contact whose tags, list memberships or field values change:
/// `udate` moves too, unless the account keeps it frozen for such changes.
pub(super) fn touch_parts(c: &mut Contact, now: i64, frozen_udate: bool) -> i64 {
    if !frozen_udate {
        return touch_contact(c, now);
    }
    c.touched = next_change_time(now, c.touched.max(c.udate));
    c.touched
}

/// Moves a deal's modification time, and its contact's update time when the event carries
/// the contact block, to one shared time later than both: the block is the contact's state
/// at that time, so it must not tie with the contact's own changes.
pub(super) fn touch_deal(d: &mut Deal, contact: Option<&mut Contact>, now: i64) -> i64 {
    let mut t = next_change_time(now, d.mdate);
    if let Some(c) = contact {
        t = t.max(next_change_time(now, c.touched.max(c.udate)));
        (c.udate, c.touched) = (t, t);
    }
    d.mdate = t;
    t
}

/// The `initiated_from` of a change made by someone at the account.
pub(super) fn staff_source(rng: &mut StdRng) -> &'static str {
    match rng.gen_range(0..10) {
        0..=6 => "admin",
        7 | 8 => "api",
        _ => "system",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_ac::generate::DealShape;

    fn account() -> Account {
        Account::new(
            5,
            DealShape {
                contacts: 30,
                deals: 10,
                restricted: 1,
            },
            2_000_000_000,
        )
    }

    #[test]
    fn the_same_seed_makes_the_same_changes() {
        let (mut a, mut b) = (account(), account());
        let (mut da, mut db) = (Driver::new(1), Driver::new(1));
        for i in 0..200 {
            let ea = da.step(&mut a, 2_000_000_000 + i);
            let eb = db.step(&mut b, 2_000_000_000 + i);
            assert_eq!(ea.body(), eb.body());
        }
    }

    #[test]
    fn each_record_changes_at_strictly_increasing_times() {
        let mut a = account();
        let mut d = Driver::new(2);
        let mut last: std::collections::HashMap<(bool, i64), i64> = Default::default();
        for _ in 0..500 {
            // Every change happens in the same wall second.
            let e = d.step(&mut a, 2_000_000_100);
            let mut keys = Vec::new();
            if let (true, Some(c)) = (e.contact_block, &e.contact) {
                keys.push((false, c.id));
            }
            if let Some(deal) = &e.deal {
                keys.push((true, deal.id));
            }
            for key in keys {
                if let Some(prev) = last.insert(key, e.time) {
                    assert!(e.time > prev, "{key:?} {prev} then {}", e.time);
                }
            }
        }
    }

    #[test]
    fn every_kind_of_event_is_produced() {
        let mut a = account();
        let mut d = Driver::new(3);
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..2_000 {
            kinds.insert(d.step(&mut a, 2_000_000_000 + i).kind);
        }
        for k in [
            "subscribe",
            "unsubscribe",
            "update",
            "contact_tag_added",
            "contact_tag_removed",
            "subscriber_note",
            "deal_add",
            "deal_update",
            "deal_note_add",
            "deal_task_add",
            "deal_task_complete",
            "open",
            "click",
            "account_add",
            "account_update",
            "account_contact_add",
            "account_contact_update",
        ] {
            assert!(kinds.contains(k), "{k} missing from {kinds:?}");
        }
    }
}
