//! Changes for which ActiveCampaign sends no webhook: note edits, task edits and reopenings,
//! note and task deletions, and secondary contacts joining or leaving deals. Only
//! reconciliation can see them.

use rand::rngs::StdRng;
use rand::seq::IteratorRandom;
use rand::Rng;

use crate::fake_ac::clock::next_change_time;
use crate::fake_ac::state::Account;

const EDITS: &[&str] = &[
    "Updated: budget confirmed",
    "Rescheduled the call to next week",
    "Needs a custom quote (edited)",
];

/// What one silent change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Silent {
    /// A note's text changed (`mdate` moved).
    NoteEdited,
    /// A note was deleted.
    NoteDeleted,
    /// A task's title, note or due date changed, or a done task was reopened (`udate` moved).
    TaskEdited,
    /// A task was deleted.
    TaskDeleted,
    /// A secondary contact joined or left a deal.
    DealContact,
}

/// Makes one random silent change at wall time `now`; `None` when there are no notes or
/// tasks to change.
pub(crate) fn silent_change(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Silent> {
    let first = rng.gen_range(0..5);
    (0..5).find_map(|i| match (first + i) % 5 {
        0 => edit_note(acct, rng, now),
        1 => delete_note(acct, rng),
        2 => edit_task(acct, rng, now),
        3 => delete_task(acct, rng),
        _ => deal_contact(acct, rng),
    })
}

/// A secondary contact leaves a deal that has one, or joins one.
fn deal_contact(acct: &mut Account, rng: &mut StdRng) -> Option<Silent> {
    let mut d = super::live_deal(acct, rng)?;
    match d.secondary.keys().next().copied() {
        Some(id) if rng.gen_bool(0.5) => {
            d.secondary.remove(&id);
        }
        _ => {
            let contact = super::live_contact(acct, rng)?;
            let id = acct.next_deal_contact;
            acct.next_deal_contact += 1;
            d.secondary
                .insert(id, (contact.id, Some(rng.gen_range(1..=3))));
        }
    }
    acct.put_deal(d);
    Some(Silent::DealContact)
}

fn edit_note(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Silent> {
    let note = acct.notes.values_mut().choose(rng)?;
    let text = EDITS[rng.gen_range(0..EDITS.len())];
    note.text = format!("{text} #{}", note.id);
    note.mdate = next_change_time(now, note.mdate);
    Some(Silent::NoteEdited)
}

fn delete_note(acct: &mut Account, rng: &mut StdRng) -> Option<Silent> {
    let id = *acct.notes.keys().choose(rng)?;
    acct.notes.remove(&id);
    Some(Silent::NoteDeleted)
}

fn edit_task(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Silent> {
    let task = acct.tasks.values_mut().choose(rng)?;
    match (task.done.is_some(), rng.gen_range(0..3)) {
        (true, 0) => task.done = None,
        (_, 1) => task.title = format!("Call back #{}", task.id),
        (_, 2) => task.due += 24 * 3_600,
        _ => task.note = format!("Agenda changed #{}", task.id),
    }
    task.udate = next_change_time(now, task.udate);
    Some(Silent::TaskEdited)
}

fn delete_task(acct: &mut Account, rng: &mut StdRng) -> Option<Silent> {
    let id = *acct.tasks.keys().choose(rng)?;
    acct.tasks.remove(&id);
    Some(Silent::TaskDeleted)
}

/// What [`crate::fake_ac::FakeAcHandle::churn_notes_and_tasks`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotesChurn {
    /// Notes whose text changed.
    pub notes_edited: u64,
    /// Notes deleted.
    pub notes_deleted: u64,
    /// Tasks edited or reopened.
    pub tasks_edited: u64,
    /// Tasks deleted.
    pub tasks_deleted: u64,
    /// Secondary contacts that joined or left deals.
    pub deal_contacts_changed: u64,
}

impl NotesChurn {
    /// Counts one change.
    pub(crate) fn add(&mut self, change: Silent) {
        match change {
            Silent::NoteEdited => self.notes_edited += 1,
            Silent::NoteDeleted => self.notes_deleted += 1,
            Silent::TaskEdited => self.tasks_edited += 1,
            Silent::TaskDeleted => self.tasks_deleted += 1,
            Silent::DealContact => self.deal_contacts_changed += 1,
        }
    }
}
