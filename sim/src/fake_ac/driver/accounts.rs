//! Account (organisation) changes and the events they send: `account_add`, `account_update`,
//! `account_contact_add` and `account_contact_update`.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::{live_contact, staff_source};
use crate::fake_ac::catalog::{ACCOUNT_FIELDS, JOB_TITLES};
use crate::fake_ac::clock::{self, next_change_time};
use crate::fake_ac::generate::{self, Mix};
use crate::fake_ac::model::{Company, CompanyLink};
use crate::fake_ac::state::Account;
use crate::fake_ac::wire::{kv, Event};

/// The `account[...]` pairs of an account event, custom fields positional as sent.
fn account_pairs(c: &Company) -> Vec<(String, String)> {
    let mut out = vec![
        kv("account[id]", c.id.to_string()),
        kv("account[name]", &c.name),
        kv("account[account_url]", &c.url),
        kv("account[created_timestamp]", clock::wall(c.cdate)),
        kv("account[updated_timestamp]", clock::wall(c.udate)),
    ];
    for (n, f) in ACCOUNT_FIELDS.iter().enumerate() {
        let value = c.fields.get(&f.id).map_or("", String::as_str);
        out.push(kv(format!("account[fields][{n}][id]"), f.id.to_string()));
        out.push(kv(format!("account[fields][{n}][key]"), f.label));
        out.push(kv(format!("account[fields][{n}][value]"), value));
    }
    out
}

fn account_event(kind: &'static str, c: &Company, rng: &mut StdRng) -> Event {
    let mut e = Event::new(kind, c.udate, staff_source(rng));
    e.contact_block = false;
    e.tail = account_pairs(c);
    e
}

/// A new account: `account_add`.
pub(super) fn add(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let id = acct.max_company + 1;
    let mut c = generate::company(rng.gen(), id, id, now);
    (c.cdate, c.udate) = (now, now);
    acct.put_company(c.clone());
    Some(account_event("account_add", &c, rng))
}

/// A new name or custom field value: `account_update` with `updated_fields`.
pub(super) fn update(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let id = acct.random_company(rng)?;
    let mut c = acct.company(id)?;
    c.udate = next_change_time(now, c.udate);
    let changed = if rng.gen_bool(0.4) {
        c.name = format!(
            "{} {}",
            c.name.split(" (").next().unwrap_or(""),
            "(renamed)"
        );
        "name"
    } else {
        let f = ACCOUNT_FIELDS.choose(rng)?;
        if rng.gen_bool(0.2) {
            c.fields.remove(&f.id);
        } else {
            let mut m = Mix::new(rng.gen(), id, 16);
            c.fields
                .insert(f.id, generate::crm_field_value(f, &mut m, c.udate));
        }
        "fields"
    };
    acct.put_company(c.clone());
    let mut e = account_event("account_update", &c, rng);
    e.tail.push(kv("updated_fields[0]", changed));
    Some(e)
}

/// A contact joins an account, or its job title there changes: `account_contact_add` or
/// `account_contact_update`.
pub(super) fn contact(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<Event> {
    let c = live_contact(acct, rng)?;
    let held = acct.link(c.id);
    let udate = next_change_time(now, held.as_ref().map_or(now - 1, |l| l.udate));
    let (kind, link) = match held {
        Some(l) => (
            "account_contact_update",
            CompanyLink {
                job_title: JOB_TITLES.choose(rng)?.to_string(),
                udate,
                ..l
            },
        ),
        None => (
            "account_contact_add",
            CompanyLink {
                account: acct.random_company(rng)?,
                job_title: JOB_TITLES.choose(rng)?.to_string(),
                udate,
            },
        ),
    };
    acct.set_link(c.id, Some(link.clone()));
    let mut e = Event::new(kind, udate, staff_source(rng));
    e.contact_block = false;
    e.tail = vec![
        kv("accountContact[id]", c.id.to_string()),
        kv("accountContact[account]", link.account.to_string()),
        kv("accountContact[contact]", c.id.to_string()),
        kv("accountContact[job_title]", &link.job_title),
    ];
    Some(e)
}
