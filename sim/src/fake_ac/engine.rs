//! The parts that change the account: the driver, bulk imports, deletions, and the sender
//! that turns each change into deliveries. Shared by the handle and the control endpoints.

use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::driver::{campaign_change, silent_change, CampaignsChurn, Driver, NotesChurn};
use super::sender::{Outgoing, Sender};
use super::shared::Shared;
use super::snapshot;
use super::stats::bump;
use crate::truth::Snapshot;

/// The account's moving parts.
#[derive(Debug)]
pub(crate) struct Engine {
    pub shared: Arc<Shared>,
    pub sender: Sender,
    driver: Mutex<Driver>,
    picker: Mutex<StdRng>,
}

impl Engine {
    /// Wraps the shared state; `sender` must already run.
    pub(crate) fn new(shared: Arc<Shared>, sender: Sender, seed: u64) -> Self {
        Engine {
            shared,
            sender,
            driver: Mutex::new(Driver::new(seed)),
            picker: Mutex::new(StdRng::seed_from_u64(seed ^ 0xde1e7e)),
        }
    }

    /// Makes one change now and queues its webhook event. The queue slot is taken first, so
    /// a caller that gives up while waiting leaves no change without its event.
    pub(crate) async fn change(&self) {
        let Some(slot) = self.sender.reserve().await else {
            return;
        };
        let event = {
            let mut driver = self.driver.lock().unwrap_or_else(|e| e.into_inner());
            let mut acct = self.shared.account();
            let event = driver.step(&mut acct, self.shared.clock.now_secs());
            // Before the account is released, so that any read that sees the change is dated
            // no earlier than it.
            self.shared.clock.observe(event.time);
            event
        };
        bump(&self.shared.stats.changes);
        slot.send(Outgoing::from(&event));
    }

    /// Makes `count` changes as fast as deliveries are accepted.
    pub(crate) async fn run_changes(&self, count: u64) {
        for _ in 0..count {
            self.change().await;
        }
    }

    /// Makes changes at `per_second` for `duration` (no changes when the rate is 0).
    pub(crate) async fn run_for(&self, duration: Duration, per_second: f64) {
        let start = Instant::now();
        let mut done: u64 = 0;
        loop {
            let elapsed = start.elapsed().min(duration);
            let due = (elapsed.as_secs_f64() * per_second.max(0.0)) as u64;
            while done < due {
                self.change().await;
                done += 1;
            }
            if start.elapsed() >= duration {
                return;
            }
            tokio::time::sleep(
                Duration::from_millis(10).min(duration - start.elapsed().min(duration)),
            )
            .await;
        }
    }

    /// Adds `n` contacts the way a CSV import does: no webhooks.
    pub(crate) fn bulk_import(&self, n: u64) -> RangeInclusive<i64> {
        let now = self.shared.clock.now_secs();
        let ids = self.shared.account().import(n as i64, now);
        self.shared
            .stats
            .contacts_imported
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        ids
    }

    /// Adds `n` deals created in the same second, as a bulk import does: no webhooks.
    pub(crate) fn bulk_import_deals(&self, n: u64) -> RangeInclusive<i64> {
        self.shared
            .account()
            .import_deals(n as i64, self.shared.clock.now_secs())
    }

    /// Deletes up to `n` random contacts (no webhooks); returns their ids.
    pub(crate) fn delete_contacts(&self, n: u64) -> Vec<i64> {
        self.delete_random(
            n,
            |acct, id| acct.delete_contact(id),
            |acct| acct.max_contact,
            &self.shared.stats.contacts_deleted,
        )
    }

    /// Deletes up to `n` random deals (no webhooks); returns their ids.
    pub(crate) fn delete_deals(&self, n: u64) -> Vec<i64> {
        self.delete_random(
            n,
            |acct, id| acct.delete_deal(id),
            |acct| acct.max_deal,
            &self.shared.stats.deals_deleted,
        )
    }

    fn delete_random(
        &self,
        n: u64,
        delete: impl Fn(&mut super::state::Account, i64) -> bool,
        max: impl Fn(&super::state::Account) -> i64,
        counter: &std::sync::atomic::AtomicU64,
    ) -> Vec<i64> {
        let mut rng = self.picker.lock().unwrap_or_else(|e| e.into_inner());
        let mut acct = self.shared.account();
        let mut deleted = Vec::new();
        let top = max(&acct);
        // Random probes find live ids quickly unless most are gone; give up after enough misses.
        for _ in 0..(n * 20 + 100) {
            if deleted.len() as u64 >= n || top < 1 {
                break;
            }
            let id = rng.gen_range(1..=top);
            if delete(&mut acct, id) {
                bump(counter);
                deleted.push(id);
            }
        }
        deleted.sort_unstable();
        deleted
    }

    /// Makes `n` changes of `kind` without webhooks; returns the contacts changed.
    pub(crate) fn lost_changes(&self, kind: super::driver::LostChange, n: u64) -> Vec<i64> {
        let now = self.shared.clock.now_secs();
        let mut driver = self.driver.lock().unwrap_or_else(|e| e.into_inner());
        let mut acct = self.shared.account();
        let mut changed = Vec::new();
        // A random contact may have nothing to take off; give up after enough misses.
        for _ in 0..(n * 20 + 100) {
            if changed.len() as u64 >= n {
                break;
            }
            changed.extend(driver.lost_change(&mut acct, now, kind));
        }
        for id in &changed {
            if let Some(c) = acct.contact(*id) {
                self.shared.clock.observe(c.touched.max(c.udate));
            }
        }
        changed
    }

    /// Makes up to `n` note and task changes that send no webhook (edits, reopenings,
    /// deletions).
    pub(crate) fn churn_notes_and_tasks(&self, n: u64) -> NotesChurn {
        let now = self.shared.clock.now_secs();
        let mut rng = self.picker.lock().unwrap_or_else(|e| e.into_inner());
        let mut acct = self.shared.account();
        let mut done = NotesChurn::default();
        for _ in 0..n {
            match silent_change(&mut acct, &mut rng, now) {
                Some(change) => done.add(change),
                None => break,
            }
        }
        let notes = acct.notes.values().map(|n| n.mdate);
        let tasks = acct.tasks.values().map(|t| t.udate);
        if let Some(latest) = notes.chain(tasks).max() {
            self.shared.clock.observe(latest);
        }
        done
    }

    /// Makes up to `n` campaign and message changes that send no webhook (edits, now and
    /// then a deletion).
    pub(crate) fn churn_campaigns(&self, n: u64) -> CampaignsChurn {
        let now = self.shared.clock.now_secs();
        let mut rng = self.picker.lock().unwrap_or_else(|e| e.into_inner());
        let mut acct = self.shared.account();
        let mut done = CampaignsChurn::default();
        for _ in 0..n {
            if !campaign_change(&mut acct, &mut rng, now, &mut done) {
                break;
            }
        }
        let campaigns = acct.campaigns.values().map(|c| c.mdate);
        let messages = acct.messages.values().map(|m| m.mdate);
        if let Some(latest) = campaigns.chain(messages).max() {
            self.shared.clock.observe(latest);
        }
        done
    }

    /// Deletes campaign `id` and its message (no webhook); false when there is no such
    /// campaign.
    pub(crate) fn delete_campaign(&self, id: i64) -> bool {
        self.shared.account().delete_campaign(id)
    }

    /// The account as a [`Snapshot`].
    pub(crate) fn truth(&self) -> Snapshot {
        snapshot::snapshot(&self.shared.account())
    }
}
