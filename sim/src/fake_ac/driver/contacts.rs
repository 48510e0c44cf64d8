//! Contact changes and the events they send.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::{live_contact, staff_source, touch_contact, touch_parts};
use crate::fake_ac::catalog::{self, FIELDS, FIRST_NAMES, LAST_NAMES, LISTS};
use crate::fake_ac::generate::{self, Mix};
use crate::fake_ac::model::{FieldValue, ListSub, Note, NoteOwner};
use crate::fake_ac::state::Account;
use crate::fake_ac::wire::{kv, Event};

const NOTES: &[&str] = &[
    "Called, left a voicemail",
    "Interested in the Pro plan & annual billing",
    "Asked: \"can we pay by invoice?\"",
    "Moved to the Berlin office",
];

/// A new contact, created by a user, the API or a form: `subscribe` with the list it joined,
/// or list 0 when it joined none.
pub(super) fn create(acct: &mut Account, rng: &mut StdRng, now: i64) -> Event {
    let id = acct.next_contact_id();
    let mut c = generate::contact(acct.seed, id, now, now);
    c.tags.clear();
    c.fields.clear();
    c.lists.clear();
    let source = if rng.gen_bool(0.3) {
        "public"
    } else {
        staff_source(rng)
    };
    let mut e = Event::new("subscribe", now, source);
    if rng.gen_bool(0.5) {
        let list = LISTS[rng.gen_range(0..LISTS.len())].id;
        c.lists.insert(
            list,
            ListSub {
                status: 1,
                sdate: now,
                updated: now,
                unsub_date: None,
                reason: String::new(),
            },
        );
        e.list = list;
    }
    acct.put_contact(c.clone());
    e.contact = Some(c);
    e
}

/// A scalar or custom field change: `update` with the full contact.
pub(super) fn update(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let mut c = live_contact(acct, rng)?;
    let mut m = Mix::new(rng.gen(), c.id, 9);
    let what = rng.gen_range(0..10);
    // Kinds 5 and up change a custom field value only.
    let t = match what {
        0..=4 => touch_contact(&mut c, now),
        _ => touch_parts(&mut c, now, acct.realism.frozen_udate),
    };
    match what {
        0 => c.first_name = m.pick(FIRST_NAMES).to_string(),
        1 => c.last_name = m.pick(LAST_NAMES).to_string(),
        2 => c.phone = format!("+1 555-02{:02}-{:04}", c.id % 100, m.below(10_000)),
        3 => c.phone = String::new(),
        4 => {
            c.email = format!(
                "{}.{}@example.net",
                c.email.split('@').next().unwrap_or("c"),
                t % 10_000
            )
        }
        5 | 6 => clear_a_field(&mut c.fields, rng, t),
        _ => {
            let f = &FIELDS[rng.gen_range(0..FIELDS.len())];
            let value = generate::field_value(f.kind, &mut m, t);
            let cdate = c.fields.get(&f.id).map_or(t, |v| v.cdate);
            c.fields.insert(
                f.id,
                FieldValue {
                    value,
                    cdate,
                    udate: t,
                },
            );
        }
    }
    acct.put_contact(c.clone());
    Some(with_contact(Event::new("update", t, staff_source(rng)), c))
}

fn clear_a_field(
    fields: &mut std::collections::BTreeMap<i64, FieldValue>,
    rng: &mut StdRng,
    t: i64,
) {
    let set: Vec<i64> = fields
        .iter()
        .filter(|(_, v)| !v.value.is_empty())
        .map(|(k, _)| *k)
        .collect();
    if let Some(id) = set.choose(rng) {
        if let Some(v) = fields.get_mut(id) {
            // The row stays with an empty value, as the API shows a cleared field.
            v.value.clear();
            v.udate = t;
        }
    }
}

/// A tag applied or removed: `contact_tag_added` / `contact_tag_removed` with `tag=<name>`.
pub(super) fn tag(acct: &mut Account, rng: &mut StdRng, now: i64, add: bool) -> Option<Event> {
    let mut c = live_contact(acct, rng)?;
    let candidates: Vec<i64> = catalog::contact_tag_ids()
        .filter(|id| c.tags.contains_key(id) != add)
        .collect();
    let tag = *candidates.choose(rng)?;
    let t = touch_parts(&mut c, now, acct.realism.frozen_udate);
    let kind = if add {
        c.tags.insert(tag, t);
        "contact_tag_added"
    } else {
        c.tags.remove(&tag);
        "contact_tag_removed"
    };
    acct.put_contact(c.clone());
    let mut e = with_contact(Event::new(kind, t, staff_source(rng)), c);
    let name = catalog::tag_by_id(tag).map_or("", |d| d.name);
    e.tail.push(kv("tag", name));
    Some(e)
}

/// A list membership started or ended: `subscribe` / `unsubscribe` with `list=<id>`.
pub(super) fn subscription(
    acct: &mut Account,
    rng: &mut StdRng,
    now: i64,
    on: bool,
) -> Option<Event> {
    let mut c = live_contact(acct, rng)?;
    let candidates: Vec<i64> = LISTS
        .iter()
        .map(|l| l.id)
        .filter(|id| c.lists.get(id).is_some_and(|s| s.status == 1) != on)
        .collect();
    let list = *candidates.choose(rng)?;
    let t = touch_parts(&mut c, now, acct.realism.frozen_udate);
    let public = rng.gen_bool(0.4);
    let source = if public { "public" } else { staff_source(rng) };
    let mut e = if on {
        let sdate = c.lists.get(&list).map_or(t, |s| s.sdate);
        c.lists.insert(
            list,
            ListSub {
                status: 1,
                sdate,
                updated: t,
                unsub_date: None,
                reason: String::new(),
            },
        );
        Event::new("subscribe", t, source)
    } else {
        let sub = c.lists.entry(list).or_insert(ListSub {
            status: 1,
            sdate: t,
            updated: t,
            unsub_date: None,
            reason: String::new(),
        });
        (sub.status, sub.updated, sub.unsub_date) = (2, t, Some(t));
        // Only a public unsubscribe, through the form, gives a reason.
        sub.reason = match public {
            true => "Too many emails".to_string(),
            false => String::new(),
        };
        Event::new("unsubscribe", t, source)
    };
    if !on && public {
        e.tail.push(kv("campaign[id]", "12"));
        e.tail.push(kv("unsubscribe[reason]", "Too many emails"));
    }
    e.list = list;
    acct.put_contact(c.clone());
    Some(with_contact(e, c))
}

/// A note on a contact: `subscriber_note` with `note=<text>`.
pub(super) fn note(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let mut c = live_contact(acct, rng)?;
    let t = touch_contact(&mut c, now);
    acct.put_contact(c.clone());
    let id = acct.next_note;
    acct.next_note += 1;
    let text = *NOTES.choose(rng).unwrap_or(&"note");
    acct.notes.insert(
        id,
        Note {
            id,
            owner: NoteOwner::Contact,
            relid: c.id,
            text: text.to_string(),
            cdate: t,
            mdate: t,
        },
    );
    let mut e = Event::new("subscriber_note", t, "admin");
    e.head.push(kv("note", text));
    Some(with_contact(e, c))
}

/// A campaign open or link click by the contact (`open` / `click`): no mirrored state changes,
/// but the body carries the contact block, so it takes a change time like any other event.
pub(super) fn campaign(
    acct: &mut Account,
    rng: &mut StdRng,
    now: i64,
    click: bool,
) -> Option<Event> {
    let mut c = live_contact(acct, rng)?;
    // A real campaign of the account, sent, with its message.
    let campaign = acct.campaign_for(c.id)?.clone();
    let subject = acct
        .messages
        .get(&campaign.message)
        .map(|m| m.subject.clone())
        .unwrap_or_default();
    let t = touch_contact(&mut c, now);
    acct.put_contact(c.clone());
    let mut e = Event::new(if click { "click" } else { "open" }, t, "public");
    e.list = c.lists.keys().next().copied().unwrap_or(1);
    e.head.extend([
        kv("campaign[id]", campaign.id.to_string()),
        kv("campaign[name]", campaign.name),
        kv("campaign[type]", campaign.kind),
        kv("campaign[status]", campaign.status.to_string()),
        kv("campaign[message][id]", campaign.message.to_string()),
        kv("campaign[message][subject]", subject),
    ]);
    if click {
        e.tail.extend([
            kv("link[id]", "55"),
            kv("link[url]", "https://example.com/pricing?utm_source=ac&x=1"),
        ]);
    }
    Some(with_contact(e, c))
}

fn with_contact(mut e: Event, c: crate::fake_ac::model::Contact) -> Event {
    e.contact = Some(c);
    e
}
