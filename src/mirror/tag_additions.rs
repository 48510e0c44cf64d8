//! Single tag additions learnt from the association list (`/contactTags`), each with the
//! upstream time it was added.
//!
//! A contact's tag set carries one version (`contacts.tags_updated_at`). An addition at time
//! `t` applies when the mirror's set is not newer than `t`: a newer set already shows the
//! contact as of after the addition, and a tag missing from it was removed since. Applying
//! moves the set's version up to `t`, so that an older delivery of the whole set, which cannot
//! know of the tag, no longer removes it.

use std::collections::HashMap;

use diesel::prelude::*;

use super::tags::ensure_names;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{contact_tag_states as cts, contacts, tags};
use crate::db::DbConn;
use crate::time::SourceTime;

/// Tag names by ActiveCampaign tag id, for the ids the mirror knows.
pub fn names_by_id(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(Option<i64>, String)> = tags::table
        .filter(tags::id.eq_any(ids))
        .select((tags::id, tags::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name)| id.map(|id| (id, name)))
        .collect())
}

/// Adds `(contact id, tag name, added at)` associations where the contact's tag set is not
/// newer. Contacts the mirror does not hold are skipped: the contact pass brings them whole.
/// Returns the number of tags added.
pub fn add(conn: &mut DbConn, found: &[(i64, String, SourceTime)]) -> QueryResult<usize> {
    if found.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<i64> = found.iter().map(|(id, _, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut versions: HashMap<i64, Option<SourceTime>> =
        lock_versions(conn, &ids)?.into_iter().collect();
    let present: Vec<(i64, String)> = cts::table
        .filter(cts::contact_id.eq_any(&ids))
        .filter(cts::present.eq(true))
        .select((cts::contact_id, cts::tag))
        .load(conn)?;
    let present: std::collections::HashSet<(i64, String)> = present.into_iter().collect();
    // Oldest first, so that each addition of a contact finds the version the previous one set.
    let mut found: Vec<&(i64, String, SourceTime)> = found.iter().collect();
    found.sort_by_key(|(id, _, at)| (*at, *id));
    let mut added = 0;
    for (id, tag, at) in found {
        let Some(version) = versions.get_mut(id) else {
            continue;
        };
        if version.is_some_and(|v| v > *at) || present.contains(&(*id, tag.clone())) {
            continue;
        }
        ensure_names(conn, [tag])?;
        added += Upsert {
            table: "contact_tag_states",
            columns: &["contact_id", "tag", "present", "updated_at", "added_at"],
            conflict: "ON CONFLICT (contact_id, tag) DO UPDATE SET \
                       present = excluded.present, updated_at = excluded.updated_at, \
                       added_at = excluded.added_at"
                .to_owned(),
        }
        .run(
            conn,
            &[vec![
                Val::I64(*id),
                Val::Text(tag),
                Val::Bool(true),
                Val::Ts(*at),
                Val::Ts(*at),
            ]],
        )?;
        diesel::update(contacts::table.find(id))
            .set(contacts::tags_updated_at.eq(at))
            .execute(conn)?;
        *version = Some(*at);
    }
    Ok(added)
}

/// Locks the contacts' rows (PostgreSQL) and reads their tag-set versions.
fn lock_versions(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, Option<SourceTime>)>> {
    let query = contacts::table
        .filter(contacts::id.eq_any(ids))
        .select((contacts::id, contacts::tags_updated_at));
    match conn {
        DbConn::Pg(c) => query.for_update().load(c),
        // SQLite write transactions are exclusive (BEGIN IMMEDIATE): nothing can interleave.
        DbConn::Sqlite(c) => query.load(c),
    }
}
