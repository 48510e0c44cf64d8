//! Writes API pages into the mirror through the one write path, and counts the drift they
//! repair. A page is one transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::QueryResult;

use crate::activecampaign::{Contact, Deal};
use crate::db::DbConn;
use crate::mirror::contacts::{self, ContactState};
use crate::mirror::deals::{self, DealState};
use crate::mirror::tags::TagSet;
use crate::mirror::values::{Membership, MembershipSource};
use crate::mirror::{tags, values};
use crate::time::{source_time, SourceTime};

/// The contact's scalar state as the API shows it, versioned by `udate`.
pub fn contact_state(c: &Contact, fetched_at: SourceTime) -> ContactState {
    ContactState {
        id: c.id,
        email: Some(c.email.clone()),
        first_name: Some(c.first_name.clone()),
        last_name: Some(c.last_name.clone()),
        phone: Some(c.phone.clone()),
        created_at: source_time(c.cdate),
        source_time: source_time(c.udate)
            .or(source_time(c.cdate))
            .unwrap_or(fetched_at),
    }
}

/// The contact's tags by name, each with when it was added.
fn tag_set(c: &Contact, names: &BTreeMap<i64, String>) -> BTreeMap<String, Option<SourceTime>> {
    c.tags
        .iter()
        .filter_map(|t| {
            let name = t.name.clone().or_else(|| names.get(&t.tag_id).cloned())?;
            Some((name, source_time(t.added_at)))
        })
        .collect()
}

/// The version of a contact's undated parts (tag set, field values, list memberships): the
/// time the page was requested less a second, so that a webhook from the same second wins, or
/// the contact's `udate` when that is later (the page shows the state at least as of then).
fn parts_as_of(c: &Contact, requested: SourceTime) -> SourceTime {
    source_time(c.udate).map_or(requested, |u| u.max(requested))
}

/// The values the mirror holds for `contact`.
fn held(
    values: &BTreeMap<(i64, i64), String>,
    contact: i64,
) -> impl Iterator<Item = (&(i64, i64), &String)> {
    values.range((contact, i64::MIN)..=(contact, i64::MAX))
}

/// Applies a page of contacts; returns how many contacts changed.
pub fn apply_contacts(
    conn: &mut DbConn,
    page: &[Contact],
    names: &BTreeMap<i64, String>,
    requested: SourceTime,
    seen_run: Option<i64>,
    now: SourceTime,
) -> QueryResult<usize> {
    if page.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
    // The page shows these contacts alive: a deletion mark, whatever its version, is wrong.
    let revived: BTreeSet<i64> = contacts::deleted_among(conn, &ids)?.into_iter().collect();
    contacts::revive(conn, &ids)?;
    let before = contacts::load(conn, &ids)?;
    let before_tags = tags::current(conn, &ids)?;
    let before_values = values::field_values_of(conn, &ids)?;
    let before_lists = values::memberships_of(conn, &ids)?;

    let states: Vec<ContactState> = page.iter().map(|c| contact_state(c, requested)).collect();
    let sets: Vec<TagSet> = page
        .iter()
        .map(|c| TagSet {
            contact: c.id,
            tags: tag_set(c, names),
            at: parts_as_of(c, requested),
        })
        .collect();
    let mut field_rows = Vec::new();
    let mut list_rows = Vec::new();
    for c in page {
        let at = parts_as_of(c, requested);
        field_rows.extend(
            c.field_values
                .iter()
                .map(|(f, v)| (c.id, *f, v.value.clone(), at)),
        );
        // The API lists every value the contact has: a value the mirror holds that the API no
        // longer shows was cleared upstream.
        field_rows.extend(
            held(&before_values, c.id)
                .filter(|((_, f), _)| !c.field_values.contains_key(f))
                .map(|((cid, f), _)| (*cid, *f, String::new(), at)),
        );
        list_rows.extend(c.lists.iter().map(|(l, m)| Membership {
            contact: c.id,
            list: *l,
            status: m.status,
            subscribed_at: source_time(m.sdate),
            unsubscribed_at: source_time(m.udate),
            unsubscribe_reason: m.unsubscribe_reason.clone(),
            at,
        }));
    }

    let mut changed = 0;
    for ((c, state), set) in page.iter().zip(&states).zip(&sets) {
        let set: BTreeSet<String> = set.tags.keys().cloned().collect();
        let scalars_differ = before.get(&c.id).is_none_or(|b| {
            (&b.email, &b.first_name, &b.last_name, &b.phone)
                != (
                    &state.email,
                    &state.first_name,
                    &state.last_name,
                    &state.phone,
                )
        });
        let tags_differ = before_tags.get(&c.id).cloned().unwrap_or_default() != set;
        let values_differ = c
            .field_values
            .iter()
            .any(|(f, v)| before_values.get(&(c.id, *f)) != Some(&v.value))
            || held(&before_values, c.id)
                .any(|((_, f), v)| !v.is_empty() && !c.field_values.contains_key(f));
        let lists_differ = c
            .lists
            .iter()
            .any(|(l, m)| before_lists.get(&(c.id, *l)) != Some(&m.status));
        if scalars_differ || tags_differ || values_differ || lists_differ || revived.contains(&c.id)
        {
            changed += 1;
        }
    }

    contacts::upsert(conn, &states, now)?;
    tags::replace_sets(conn, &sets)?;
    values::upsert_field_values(conn, &field_rows)?;
    values::upsert_memberships(conn, &list_rows, MembershipSource::Api)?;
    if let Some(run) = seen_run {
        contacts::mark_seen(conn, &ids, run)?;
    }
    Ok(changed)
}

/// The deal's state as the API shows it, versioned by `mdate`. Stubs have no state.
pub fn deal_state(d: &Deal, fetched_at: SourceTime) -> Option<DealState> {
    if d.is_stub() {
        return None;
    }
    Some(DealState {
        id: d.id,
        title: Some(d.title.clone()),
        value_cents: d.value_cents,
        currency: d.currency.clone(),
        pipeline_id: d.pipeline_id,
        stage_id: d.stage_id,
        owner_id: d.owner_id,
        contact_id: d.contact_id,
        status: d.status,
        created_at: source_time(d.cdate),
        account_id: d.account,
        win_probability: d.win_probability,
        next_task_at: source_time(d.nextdate),
        source_time: source_time(d.mdate)
            .or(source_time(d.cdate))
            .unwrap_or(fetched_at),
    })
}

/// Applies a page of deals; permission stubs never overwrite data but count as seen. Returns
/// how many deals changed.
pub fn apply_deals(
    conn: &mut DbConn,
    page: &[Deal],
    as_of: SourceTime,
    seen_run: Option<i64>,
    now: SourceTime,
) -> QueryResult<usize> {
    if page.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = page.iter().map(|d| d.id).collect();
    let states: Vec<DealState> = page.iter().filter_map(|d| deal_state(d, as_of)).collect();
    // The page shows these deals alive (stubs included): a deletion mark, whatever its
    // version, is wrong, and the state read with them replaces what the mark left.
    let revived: BTreeSet<i64> = deals::deleted_among(conn, &ids)?.into_iter().collect();
    deals::revive(conn, &ids)?;
    let before: HashMap<i64, DealState> = deals::load(conn, &ids)?;
    let changed_states = states
        .iter()
        .filter(|s| !revived.contains(&s.id))
        .filter(|s| {
            before.get(&s.id).is_none_or(|b| {
                (
                    &b.title,
                    b.value_cents,
                    &b.currency,
                    b.pipeline_id,
                    b.stage_id,
                    b.owner_id,
                    b.contact_id,
                    b.status,
                    b.account_id,
                    b.win_probability,
                    b.next_task_at,
                ) != (
                    &s.title,
                    s.value_cents,
                    &s.currency,
                    s.pipeline_id,
                    s.stage_id,
                    s.owner_id,
                    s.contact_id,
                    s.status,
                    s.account_id,
                    s.win_probability,
                    s.next_task_at,
                )
            })
        })
        .count();
    let changed = changed_states + revived.len();
    deals::upsert(conn, &states, deals::Source::Api, now)?;
    let stubs: Vec<(i64, String, Option<i32>)> = page
        .iter()
        .filter(|d| d.is_stub())
        .map(|d| (d.id, d.title.clone(), d.status))
        .collect();
    deals::ensure_stubs(conn, &stubs, now)?;
    if let Some(run) = seen_run {
        deals::mark_seen(conn, &ids, run)?;
    }
    Ok(changed)
}
