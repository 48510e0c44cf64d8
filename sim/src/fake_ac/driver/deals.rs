//! Deal changes and the events they send.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::{live_contact, live_deal, staff_source, touch_deal};
use crate::fake_ac::catalog::{self, DEAL_FIELDS, PIPELINES};
use crate::fake_ac::clock;
use crate::fake_ac::generate::{self, Mix};
use crate::fake_ac::model::{Contact, Deal, Note, NoteOwner, Task, TASK_TYPES};
use crate::fake_ac::state::Account;
use crate::fake_ac::wire::{kv, Event};

const NOTES: &[&str] = &[
    "Sent the proposal",
    "Decision maker is the CFO; follow up in 2 weeks",
    "Discount of 10% approved",
];

/// A new open deal in the first stage of an unrestricted pipeline: `deal_add`.
pub(super) fn add(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let mut contact = live_contact(acct, rng)?;
    let id = acct.next_deal_id();
    let pipeline = &PIPELINES[rng.gen_range(0..2)];
    let mut m = Mix::new(rng.gen(), id, 11);
    let mut d = Deal {
        id,
        title: generate::deal_title(&mut m),
        value_cents: generate::deal_value(&mut m),
        currency: if rng.gen_bool(0.85) { "usd" } else { "eur" }.to_string(),
        pipeline: pipeline.id,
        stage: pipeline.stages[0].0,
        owner: catalog::USERS[rng.gen_range(0..catalog::USERS.len())].id,
        contact: contact.id,
        status: 0,
        cdate: now,
        mdate: now - 1,
        account: acct.random_company(rng).unwrap_or(0),
        fields: Default::default(),
        secondary: Default::default(),
    };
    let t = touch_deal(&mut d, Some(&mut contact), now);
    d.cdate = t;
    Some(finish(
        acct,
        Event::new("deal_add", t, staff_source(rng)),
        d,
        Some(contact),
    ))
}

/// Title, value or owner changed: `deal_update` with `updated_fields`.
pub(super) fn update(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let (mut d, mut c) = pick(acct, rng)?;
    let mut m = Mix::new(rng.gen(), d.id, 12);
    let field = match rng.gen_range(0..3) {
        0 => {
            d.title = generate::deal_title(&mut m);
            "title"
        }
        1 => {
            d.value_cents = generate::deal_value(&mut m);
            "value"
        }
        _ => {
            d.owner = catalog::USERS[rng.gen_range(0..catalog::USERS.len())].id;
            "owner"
        }
    };
    Some(changed(acct, rng, now, &mut d, c.as_mut(), &[field]).finish(acct, d, c))
}

/// A custom field set or cleared, or the account changed: `deal_update`.
pub(super) fn custom(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let (mut d, mut c) = pick(acct, rng)?;
    let field = if rng.gen_bool(0.2) {
        d.account = acct
            .random_company(rng)
            .filter(|_| rng.gen_bool(0.8))
            .unwrap_or(0);
        "account"
    } else {
        let f = DEAL_FIELDS.choose(rng)?;
        if rng.gen_bool(0.2) {
            d.fields.remove(&f.id);
        } else {
            let mut m = Mix::new(rng.gen(), d.id, 17);
            d.fields
                .insert(f.id, generate::crm_field_value(f, &mut m, now));
        }
        "fields"
    };
    Some(changed(acct, rng, now, &mut d, c.as_mut(), &[field]).finish(acct, d, c))
}

/// Moved to another stage of its pipeline: `deal_update` with `updated_fields[0]=stage`.
pub(super) fn stage(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let (mut d, mut c) = pick(acct, rng)?;
    let pipeline = catalog::pipeline(d.pipeline)?;
    let others: Vec<i64> = pipeline
        .stages
        .iter()
        .map(|s| s.0)
        .filter(|s| *s != d.stage)
        .collect();
    d.stage = *others.choose(rng)?;
    Some(changed(acct, rng, now, &mut d, c.as_mut(), &["stage"]).finish(acct, d, c))
}

/// Won or lost, or reopened: `deal_update` with `updated_fields[0]=status`.
pub(super) fn won_lost(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let (mut d, mut c) = pick(acct, rng)?;
    d.status = if d.status == 0 {
        rng.gen_range(1..=2)
    } else {
        0
    };
    Some(changed(acct, rng, now, &mut d, c.as_mut(), &["status"]).finish(acct, d, c))
}

/// A note on a deal: `deal_note_add`, which carries no contact block.
pub(super) fn note(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let (mut d, c) = pick(acct, rng)?;
    let t = touch_deal(&mut d, None, now);
    let id = acct.next_note;
    acct.next_note += 1;
    let text = *NOTES.choose(rng).unwrap_or(&"note");
    acct.notes.insert(
        id,
        Note {
            id,
            owner: NoteOwner::Deal,
            relid: d.id,
            text: text.to_string(),
            cdate: t,
            mdate: t,
        },
    );
    let mut e = Event::new("deal_note_add", t, "admin");
    e.contact_block = false;
    e.head.push(kv("note[id]", id.to_string()));
    e.head.push(kv("note[text]", text));
    Some(finish(acct, e, d, c))
}

/// A task on a deal: `deal_task_add` with `task[...]`.
pub(super) fn task_add(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let (mut d, mut c) = pick(acct, rng)?;
    let t = touch_deal(&mut d, c.as_mut(), now);
    let (type_id, _) = TASK_TYPES[rng.gen_range(0..TASK_TYPES.len())];
    let task = Task {
        id: acct.next_task,
        deal: d.id,
        type_id,
        title: if rng.gen_bool(0.5) {
            String::new()
        } else {
            "Follow up".to_string()
        },
        note: "Discuss the renewal terms".to_string(),
        due: (t / 3_600 + 24 * rng.gen_range(1..10)) * 3_600,
        done: None,
        cdate: t,
        udate: t,
    };
    acct.next_task += 1;
    acct.tasks.insert(task.id, task.clone());
    let mut e = Event::new("deal_task_add", t, staff_source(rng));
    e.tail = task_pairs(&task);
    Some(finish(acct, e, d, c))
}

/// An open task completed: `deal_task_complete` with `task[donedate...]`.
pub(super) fn task_complete(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let open: Vec<i64> = acct
        .tasks
        .values()
        .filter(|t| t.done.is_none())
        .map(|t| t.id)
        .collect();
    let id = *open.choose(rng)?;
    let mut task = acct.tasks.get(&id)?.clone();
    let mut d = acct.deal(task.deal)?;
    let mut c = acct.contact(d.contact);
    let t = touch_deal(&mut d, c.as_mut(), now);
    task.done = Some(t);
    task.udate = t;
    acct.tasks.insert(id, task.clone());
    let mut e = Event::new("deal_task_complete", t, "admin");
    e.tail = task_pairs(&task);
    Some(finish(acct, e, d, c))
}

fn task_pairs(task: &Task) -> Vec<(String, String)> {
    let type_title = TASK_TYPES
        .iter()
        .find(|(id, _)| *id == task.type_id)
        .map_or("", |t| t.1);
    let end = task.due + 15 * 60;
    let mut out = vec![
        kv("task[id]", task.id.to_string()),
        kv("task[type_id]", task.type_id.to_string()),
        kv("task[type_title]", type_title),
        kv("task[title]", &task.title),
        kv("task[note]", &task.note),
        kv("task[duedate]", clock::wall(task.due)),
        kv("task[duedate_iso]", clock::iso(task.due)),
        kv("task[edate]", clock::wall(end)),
        kv("task[edate_iso]", clock::iso(end)),
    ];
    if let Some(done) = task.done {
        out.push(kv("task[donedate]", clock::wall(done)));
        out.push(kv("task[donedate_iso]", clock::iso(done)));
    }
    out
}

fn pick(acct: &Account, rng: &mut StdRng) -> Option<(Deal, Option<Contact>)> {
    let d = live_deal(acct, rng)?;
    let c = acct.contact(d.contact);
    Some((d, c))
}

/// A `deal_update` under construction, its time already taken.
struct Changed(Event);

impl Changed {
    fn finish(self, acct: &mut Account, d: Deal, c: Option<Contact>) -> Event {
        finish(acct, self.0, d, c)
    }
}

fn changed(
    _acct: &Account,
    rng: &mut StdRng,
    now: i64,
    d: &mut Deal,
    c: Option<&mut Contact>,
    fields: &[&str],
) -> Changed {
    let t = touch_deal(d, c, now);
    let mut e = Event::new("deal_update", t, staff_source(rng));
    // ActiveCampaign lists system columns too; `mdate` always changes with the rest.
    for (i, f) in fields.iter().chain(["mdate"].iter()).enumerate() {
        e.tail.push(kv(format!("updated_fields[{i}]"), *f));
    }
    Changed(e)
}

fn finish(acct: &mut Account, mut e: Event, mut d: Deal, c: Option<Contact>) -> Event {
    d.account = acct.deal_account(&d).unwrap_or(0);
    acct.put_deal(d.clone());
    if let Some(c) = &c {
        acct.put_contact(c.clone());
    }
    e.deal = Some(d);
    e.contact = c;
    e
}
