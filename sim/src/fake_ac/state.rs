//! The account: base records generated on demand, overrides for the records that changed,
//! and the ids that were deleted. Nothing per base record is kept in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::config::Realism;
use super::generate::{self, DealShape};
use super::heavy;
use super::model::{
    assoc, Campaign, Company, CompanyLink, Contact, Deal, Message, Note, NoteOwner, Task,
};

/// A webhook registered through `POST /api/3/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub sources: Vec<String>,
    pub listid: i64,
    pub cdate: i64,
    /// Cleared for good when the receiver answers 410, as ActiveCampaign does.
    pub active: bool,
}

/// A collection as built at a generation of the account.
type Built = (u64, Arc<Vec<serde_json::Value>>);

/// Contacts created in one bulk import, generated on demand like the initial ones.
#[derive(Debug, Clone, Copy)]
struct ImportBatch {
    first: i64,
    last: i64,
    time: i64,
}

/// The whole simulated account.
#[derive(Debug)]
pub(crate) struct Account {
    pub seed: u64,
    /// Base records were created and last updated before this time.
    pub anchor: i64,
    pub shape: DealShape,
    pub max_contact: i64,
    pub max_deal: i64,
    imports: Vec<ImportBatch>,
    contacts: HashMap<i64, Contact>,
    deals: HashMap<i64, Deal>,
    deleted_contacts: BTreeSet<i64>,
    deleted_deals: BTreeSet<i64>,
    /// Accounts (organisations): ids up to this exist unless deleted.
    pub max_company: i64,
    companies: HashMap<i64, Company>,
    deleted_companies: BTreeSet<i64>,
    /// Contacts whose account link changed (`None`: no longer at any account).
    links: HashMap<i64, Option<CompanyLink>>,
    /// The next `contactDeals` id the driver gives out.
    pub next_deal_contact: i64,
    /// Moves with every change to contacts, deals or accounts; cached collections built at
    /// another generation are built again.
    generation: u64,
    /// Collections that are costly to build (every deal's custom field values, say), with
    /// the generation they were built at.
    cache: Mutex<HashMap<&'static str, Built>>,
    pub tasks: BTreeMap<i64, Task>,
    pub next_task: i64,
    /// Deal and contact notes by id.
    pub notes: BTreeMap<i64, Note>,
    pub next_note: i64,
    pub webhooks: BTreeMap<i64, Webhook>,
    pub next_webhook: i64,
    /// Campaigns by id.
    pub campaigns: BTreeMap<i64, Campaign>,
    /// Campaign messages by id.
    pub messages: BTreeMap<i64, Message>,
    /// `Realism::unstable_ties`: base deals come in groups created in the same second, and
    /// list endpoints return ties in a new order on every request.
    pub unstable_ties: bool,
    /// Orders of ties drawn so far; seeds the next one.
    tie_draws: AtomicU64,
    /// Behaviours of the real service to mimic.
    pub realism: Realism,
}

/// Base deals created in the same second when ties are on, as after a bulk import.
const BASE_TIE_GROUP: i64 = 25;

impl Account {
    /// An account of `shape.contacts` contacts and `shape.deals` deals created before `anchor`.
    pub(crate) fn new(seed: u64, shape: DealShape, anchor: i64) -> Self {
        let (mut campaigns, mut messages) = (BTreeMap::new(), BTreeMap::new());
        for (c, m) in generate::campaigns(seed, shape.contacts, anchor) {
            campaigns.insert(c.id, c);
            messages.insert(m.id, m);
        }
        Account {
            seed,
            anchor,
            shape,
            max_contact: shape.contacts,
            max_deal: shape.deals,
            imports: Vec::new(),
            contacts: HashMap::new(),
            deals: HashMap::new(),
            deleted_contacts: BTreeSet::new(),
            deleted_deals: BTreeSet::new(),
            max_company: shape.companies(),
            companies: HashMap::new(),
            deleted_companies: BTreeSet::new(),
            links: HashMap::new(),
            next_deal_contact: assoc::FIRST_NEW_DEAL_CONTACT,
            generation: 0,
            cache: Mutex::new(HashMap::new()),
            tasks: BTreeMap::new(),
            next_task: 1,
            notes: BTreeMap::new(),
            next_note: 1,
            webhooks: BTreeMap::new(),
            next_webhook: 1,
            campaigns,
            messages,
            unstable_ties: false,
            tie_draws: AtomicU64::new(0),
            realism: Realism::default(),
        }
    }

    /// The same account, behaving as `realism` says.
    pub(crate) fn with_realism(mut self, realism: Realism) -> Self {
        self.unstable_ties = realism.unstable_ties;
        self.realism = realism;
        self
    }

    /// A seed for the order of ties in one response: a new one on every call.
    pub(crate) fn next_tie_draw(&self) -> u64 {
        let n = self.tie_draws.fetch_add(1, Ordering::Relaxed);
        self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// With ties on, a base deal shares the creation second of the first deal of its group.
    fn base_deal_cdate(&self, id: i64, cdate: i64) -> i64 {
        if !self.unstable_ties || id > self.shape.deals {
            return cdate;
        }
        let first = (id - 1) / BASE_TIE_GROUP * BASE_TIE_GROUP + 1;
        generate::base_cdate(first, self.shape.deals, self.anchor).min(cdate)
    }

    /// Whether contact `id` exists now.
    pub(crate) fn contact_exists(&self, id: i64) -> bool {
        (1..=self.max_contact).contains(&id) && !self.deleted_contacts.contains(&id)
    }

    /// Whether deal `id` exists now.
    pub(crate) fn deal_exists(&self, id: i64) -> bool {
        (1..=self.max_deal).contains(&id) && !self.deleted_deals.contains(&id)
    }

    fn base_contact_cdate(&self, id: i64) -> i64 {
        if id <= self.shape.contacts {
            return generate::base_cdate(id, self.shape.contacts, self.anchor);
        }
        let i = self.imports.partition_point(|b| b.last < id);
        match self.imports.get(i) {
            Some(b) if b.first <= id => b.time,
            // Created by the driver, so an override exists; never reached for live ids.
            _ => self.anchor,
        }
    }

    /// Contact `id` as it is now.
    pub(crate) fn contact(&self, id: i64) -> Option<Contact> {
        if !self.contact_exists(id) {
            return None;
        }
        if let Some(c) = self.contacts.get(&id) {
            return Some(c.clone());
        }
        let cdate = self.base_contact_cdate(id);
        let mut c = generate::contact(self.seed, id, cdate, self.anchor.max(cdate));
        if self.realism.heavy {
            heavy::add_tags(&mut c, self.seed);
            heavy::add_fields(&mut c, self.seed, self.realism.heavy_textarea_bytes);
        }
        Some(c)
    }

    /// Tag id to time applied, for contact `id`, without generating a heavy contact's
    /// field values.
    pub(crate) fn contact_tags(&self, id: i64) -> Option<BTreeMap<i64, i64>> {
        if !self.contact_exists(id) {
            return None;
        }
        if let Some(c) = self.contacts.get(&id) {
            return Some(c.tags.clone());
        }
        let cdate = self.base_contact_cdate(id);
        let mut c = generate::contact(self.seed, id, cdate, self.anchor.max(cdate));
        if self.realism.heavy {
            heavy::add_tags(&mut c, self.seed);
        }
        Some(c.tags)
    }

    /// `(cdate, udate)` of contact `id`, without generating the whole record.
    pub(crate) fn contact_times(&self, id: i64) -> Option<(i64, i64)> {
        if !self.contact_exists(id) {
            return None;
        }
        if let Some(c) = self.contacts.get(&id) {
            return Some((c.cdate, c.udate));
        }
        let cdate = self.base_contact_cdate(id);
        Some((
            cdate,
            generate::base_udate(self.seed, id, cdate, self.anchor.max(cdate)),
        ))
    }

    /// Stores the new state of a contact.
    pub(crate) fn put_contact(&mut self, c: Contact) {
        self.generation += 1;
        self.contacts.insert(c.id, c);
    }

    /// A fresh contact id.
    pub(crate) fn next_contact_id(&mut self) -> i64 {
        self.max_contact += 1;
        self.max_contact
    }

    /// Adds `n` contacts generated on demand, created at `time`; returns their ids.
    pub(crate) fn import(&mut self, n: i64, time: i64) -> std::ops::RangeInclusive<i64> {
        self.generation += 1;
        let first = self.max_contact + 1;
        self.max_contact += n.max(0);
        if n > 0 {
            self.imports.push(ImportBatch {
                first,
                last: self.max_contact,
                time,
            });
        }
        first..=self.max_contact
    }

    /// Deletes a contact (no webhook exists for this).
    pub(crate) fn delete_contact(&mut self, id: i64) -> bool {
        self.generation += 1;
        if !self.contact_exists(id) {
            return false;
        }
        self.contacts.remove(&id);
        self.notes
            .retain(|_, n| !(n.owner == NoteOwner::Contact && n.relid == id));
        self.deleted_contacts.insert(id)
    }

    /// Deal `id` as it is now.
    pub(crate) fn deal(&self, id: i64) -> Option<Deal> {
        if !self.deal_exists(id) {
            return None;
        }
        match self.deals.get(&id) {
            Some(d) => Some(d.clone()),
            None => {
                let mut d = generate::deal(self.seed, id, self.shape, self.anchor);
                d.cdate = self.base_deal_cdate(id, d.cdate);
                Some(d)
            }
        }
    }

    /// `(cdate, mdate)` of deal `id`, without generating the whole record.
    pub(crate) fn deal_times(&self, id: i64) -> Option<(i64, i64)> {
        if !self.deal_exists(id) {
            return None;
        }
        match self.deals.get(&id) {
            Some(d) => Some((d.cdate, d.mdate)),
            None => {
                let (cdate, mdate) =
                    generate::base_deal_times(self.seed, id, self.shape, self.anchor);
                Some((self.base_deal_cdate(id, cdate), mdate))
            }
        }
    }

    /// `(value in cents, currency)` of deal `id`, without generating the whole record.
    pub(crate) fn deal_money(&self, id: i64) -> Option<(i64, String)> {
        if !self.deal_exists(id) {
            return None;
        }
        match self.deals.get(&id) {
            Some(d) => Some((d.value_cents, d.currency.clone())),
            None => {
                let (v, c) = generate::base_deal_money(self.seed, id);
                Some((v, c.to_string()))
            }
        }
    }

    /// Stores the new state of a deal.
    pub(crate) fn put_deal(&mut self, d: Deal) {
        self.generation += 1;
        self.deals.insert(d.id, d);
    }

    /// A fresh deal id.
    pub(crate) fn next_deal_id(&mut self) -> i64 {
        self.max_deal += 1;
        self.max_deal
    }

    /// Adds `n` deals the way a bulk import does: all created (and last modified) at `time`,
    /// in pipelines the API user may see; returns their ids.
    pub(crate) fn import_deals(&mut self, n: i64, time: i64) -> std::ops::RangeInclusive<i64> {
        let first = self.max_deal + 1;
        for _ in 0..n.max(0) {
            let id = self.next_deal_id();
            let mut d = generate::deal(self.seed, id, self.shape, self.anchor);
            (d.cdate, d.mdate) = (time, time);
            self.put_deal(d);
        }
        first..=self.max_deal
    }

    /// Deletes a deal (no webhook exists for this).
    pub(crate) fn delete_deal(&mut self, id: i64) -> bool {
        self.generation += 1;
        if !self.deal_exists(id) {
            return false;
        }
        self.deals.remove(&id);
        self.tasks.retain(|_, t| t.deal != id);
        self.notes
            .retain(|_, n| !(n.owner == NoteOwner::Deal && n.relid == id));
        self.deleted_deals.insert(id)
    }

    /// Whether account `id` exists now.
    pub(crate) fn company_exists(&self, id: i64) -> bool {
        (1..=self.max_company).contains(&id) && !self.deleted_companies.contains(&id)
    }

    /// Account `id` as it is now.
    pub(crate) fn company(&self, id: i64) -> Option<Company> {
        if !self.company_exists(id) {
            return None;
        }
        Some(match self.companies.get(&id) {
            Some(c) => c.clone(),
            None => generate::company(self.seed, id, self.shape.companies(), self.anchor),
        })
    }

    /// Stores the new state of an account.
    pub(crate) fn put_company(&mut self, c: Company) {
        self.generation += 1;
        self.max_company = self.max_company.max(c.id);
        self.companies.insert(c.id, c);
    }

    /// Deletes an account (no webhook exists for this): its contacts leave it and its deals
    /// show no account.
    pub(crate) fn delete_company(&mut self, id: i64) -> bool {
        if !self.company_exists(id) {
            return false;
        }
        self.generation += 1;
        self.companies.remove(&id);
        self.deleted_companies.insert(id)
    }

    /// A random live account, if one can be found quickly.
    pub(crate) fn random_company(&self, rng: &mut impl rand::Rng) -> Option<i64> {
        (0..8)
            .map(|_| rng.gen_range(1..=self.max_company.max(1)))
            .find(|id| self.company_exists(*id))
    }

    /// The live account a deal is for, if any.
    pub(crate) fn deal_account(&self, d: &Deal) -> Option<i64> {
        Some(d.account).filter(|a| self.company_exists(*a))
    }

    /// The account live contact `id` works at, if it still exists.
    pub(crate) fn link(&self, id: i64) -> Option<CompanyLink> {
        if !self.contact_exists(id) {
            return None;
        }
        let link = match self.links.get(&id) {
            Some(l) => l.clone(),
            None if id <= self.shape.contacts => {
                let (cdate, _) = self.contact_times(id)?;
                generate::company_link(self.seed, id, self.shape.companies(), cdate)
            }
            None => None,
        };
        link.filter(|l| self.company_exists(l.account))
    }

    /// Sets the account contact `id` works at.
    pub(crate) fn set_link(&mut self, id: i64, link: Option<CompanyLink>) {
        self.generation += 1;
        self.links.insert(id, link);
    }

    /// When deal `id`'s next open task is due (the API's `nextdate`).
    pub(crate) fn next_task_due(&self, id: i64) -> Option<i64> {
        self.tasks
            .values()
            .filter(|t| t.deal == id && t.done.is_none())
            .map(|t| t.due)
            .min()
    }

    /// The live secondary contacts of a deal: association id to contact and role.
    pub(crate) fn deal_contacts(&self, d: &Deal) -> BTreeMap<i64, (i64, Option<i64>)> {
        d.secondary
            .iter()
            .filter(|(_, (c, _))| self.contact_exists(*c))
            .map(|(id, v)| (*id, *v))
            .collect()
    }

    /// A collection built by `build`, or the one built before if nothing changed since.
    pub(crate) fn cached(
        &self,
        name: &'static str,
        build: impl FnOnce(&Self) -> Vec<serde_json::Value>,
    ) -> Arc<Vec<serde_json::Value>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((generation, items)) = cache.get(name) {
            if *generation == self.generation {
                return items.clone();
            }
        }
        let items = Arc::new(build(self));
        cache.insert(name, (self.generation, items.clone()));
        items
    }

    /// The sent campaign that engagement events of contact `contact` name: one of the live
    /// sent campaigns, chosen by the contact's id (no random draw, so that the sequence of
    /// changes stays what it was before campaigns existed).
    pub(crate) fn campaign_for(&self, contact: i64) -> Option<&Campaign> {
        let sent: Vec<&Campaign> = self
            .campaigns
            .values()
            .filter(|c| c.sdate.is_some())
            .collect();
        if sent.is_empty() {
            return None;
        }
        Some(sent[contact.rem_euclid(sent.len() as i64) as usize])
    }

    /// Deletes a campaign and its message (no webhook exists for this).
    pub(crate) fn delete_campaign(&mut self, id: i64) -> bool {
        match self.campaigns.remove(&id) {
            Some(c) => {
                self.messages.remove(&c.message);
                true
            }
            None => false,
        }
    }

    /// Whether deal `id` lies in the pipeline the API user may not see.
    pub(crate) fn deal_is_restricted(&self, id: i64) -> bool {
        match self.deals.get(&id) {
            Some(d) => d.pipeline == super::catalog::RESTRICTED_PIPELINE,
            None => self.shape.is_restricted(id),
        }
    }

    /// Live contacts with an id in `lo..=hi`.
    pub(crate) fn live_contacts_in(&self, lo: i64, hi: i64) -> i64 {
        live_in(&self.deleted_contacts, lo, hi)
    }

    /// The `k`-th (1-based) live contact id at or above `lo`.
    pub(crate) fn kth_live_contact(&self, lo: i64, k: i64) -> i64 {
        kth_live(&self.deleted_contacts, lo, k)
    }

    /// Live deals with an id in `lo..=hi`.
    pub(crate) fn live_deals_in(&self, lo: i64, hi: i64) -> i64 {
        live_in(&self.deleted_deals, lo, hi)
    }

    /// The `k`-th (1-based) live deal id at or above `lo`.
    pub(crate) fn kth_live_deal(&self, lo: i64, k: i64) -> i64 {
        kth_live(&self.deleted_deals, lo, k)
    }
}

fn live_in(deleted: &BTreeSet<i64>, lo: i64, hi: i64) -> i64 {
    if hi < lo {
        return 0;
    }
    (hi - lo + 1) - deleted.range(lo..=hi).count() as i64
}

/// Smallest id `x >= lo` with `k` live ids in `lo..=x`. Jumps by the shortfall each round,
/// so paging deep into a large account costs a few set lookups, not a walk over every id.
fn kth_live(deleted: &BTreeSet<i64>, lo: i64, k: i64) -> i64 {
    let mut cand = lo + k - 1;
    loop {
        let have = live_in(deleted, lo, cand);
        if have >= k {
            return cand;
        }
        cand += k - have;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account::new(
            1,
            DealShape {
                contacts: 20,
                deals: 10,
                restricted: 2,
            },
            2_000_000_000,
        )
    }

    #[test]
    fn kth_live_skips_deleted_ids() {
        let mut a = account();
        for id in [2, 3, 7] {
            assert!(a.delete_contact(id));
        }
        assert_eq!(a.kth_live_contact(1, 1), 1);
        assert_eq!(a.kth_live_contact(1, 2), 4);
        assert_eq!(a.kth_live_contact(1, 5), 8);
        assert_eq!(a.kth_live_contact(3, 1), 4);
        assert_eq!(a.live_contacts_in(1, 20), 17);
    }

    #[test]
    fn deleted_contacts_are_gone_and_imports_are_generated() {
        let mut a = account();
        assert!(a.delete_contact(5));
        assert!(a.contact(5).is_none());
        assert!(!a.delete_contact(5));
        let ids = a.import(3, 2_100_000_000);
        assert_eq!(ids, 21..=23);
        let c = a.contact(22).expect("imported");
        assert_eq!((c.cdate, c.udate), (2_100_000_000, 2_100_000_000));
        assert_eq!(a.contact_times(22), Some((c.cdate, c.udate)));
    }

    #[test]
    fn cheap_times_match_the_generated_record() {
        let a = account();
        for id in 1..=20 {
            let c = a.contact(id).expect("live");
            assert_eq!(a.contact_times(id), Some((c.cdate, c.udate)));
        }
    }
}
