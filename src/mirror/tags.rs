//! Contact tags. Every webhook with a contact block and every API page carries a contact's
//! whole tag set, so the set is versioned per contact (`contacts.tags_updated_at`) and
//! replaced as a whole; removed tags stay in `contact_tag_states` as tombstones.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::{SourceTime, CHUNK};
use crate::db::cached::Cached;
use crate::db::schema::{contact_tag_states as cts, contacts, tags};
use crate::db::DbConn;
use crate::upsert_rows;

/// Longest run of `", "`-separated parts tried as one tag name.
const MAX_PARTS_PER_NAME: usize = 6;

/// Splits `contact[tags]` into names. ActiveCampaign joins names with `", "`, and names may
/// contain `", "` themselves, so runs of parts that form a name in `known` are kept together
/// (longest run first).
pub fn split_tags(raw: &str, known: &HashSet<String>) -> BTreeSet<String> {
    let parts: Vec<&str> = raw.split(", ").collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < parts.len() {
        let longest = (i + 1..parts.len().min(i + MAX_PARTS_PER_NAME))
            .rev()
            .find(|&j| known.contains(&parts[i..=j].join(", ")));
        match longest {
            Some(j) => {
                out.insert(parts[i..=j].join(", "));
                i = j + 1;
            }
            None => {
                if !parts[i].trim().is_empty() {
                    out.insert(parts[i].to_owned());
                }
                i += 1;
            }
        }
    }
    out
}

/// Tag names from the `tags` table that could join parts of `raw`: the candidates for
/// [`split_tags`]. One query, only when the string has more than one part.
pub fn known_names_for(conn: &mut DbConn, raw: &str) -> QueryResult<HashSet<String>> {
    let parts: Vec<&str> = raw.split(", ").collect();
    if parts.len() < 2 {
        return Ok(HashSet::new());
    }
    let mut candidates = Vec::new();
    for i in 0..parts.len() {
        for j in i + 1..parts.len().min(i + MAX_PARTS_PER_NAME) {
            candidates.push(parts[i..=j].join(", "));
        }
    }
    let mut found = HashSet::new();
    for chunk in candidates.chunks(CHUNK) {
        let names: Vec<String> = tags::table
            .filter(tags::name.eq_any(chunk))
            .select(tags::name)
            .load(conn)?;
        found.extend(names);
    }
    Ok(found)
}

/// Makes sure the names exist in `tags` (id unknown until reconciliation learns it).
pub fn ensure_names<'a>(
    conn: &mut DbConn,
    names: impl IntoIterator<Item = &'a String>,
) -> QueryResult<()> {
    let rows: Vec<_> = names.into_iter().map(|n| tags::name.eq(n)).collect();
    for chunk in rows.chunks(CHUNK) {
        upsert_rows!(&mut *conn, chunk, |v| diesel::insert_into(tags::table)
            .values(v)
            .on_conflict(tags::name)
            .do_nothing())?;
    }
    Ok(())
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

/// Replaces the tag sets of these contacts with the sets as of the given times, for each
/// contact whose set is not newer already. The contacts must exist. Returns the number of
/// contact-tag pairs added or removed.
pub fn replace_sets(
    conn: &mut DbConn,
    sets: &[(i64, BTreeSet<String>, SourceTime)],
) -> QueryResult<usize> {
    if sets.is_empty() {
        return Ok(0);
    }
    if let [(id, set, at)] = sets {
        return replace_one(conn, *id, set, *at);
    }
    let ids: Vec<i64> = sets.iter().map(|(id, _, _)| *id).collect();
    let versions: HashMap<i64, Option<SourceTime>> =
        lock_versions(conn, &ids)?.into_iter().collect();
    let winners: Vec<&(i64, BTreeSet<String>, SourceTime)> = sets
        .iter()
        .filter(|(id, _, at)| versions.get(id).is_some_and(|v| v.is_none_or(|v| v <= *at)))
        .collect();
    if winners.is_empty() {
        return Ok(0);
    }
    // One statement per distinct time: a webhook has one, an API page usually a few.
    let mut by_time: HashMap<SourceTime, Vec<i64>> = HashMap::new();
    for (id, _, at) in &winners {
        by_time.entry(*at).or_default().push(*id);
    }
    for (at, ids) in &by_time {
        diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
            .set(contacts::tags_updated_at.eq(at))
            .execute(conn)?;
    }
    let winner_ids: Vec<i64> = winners.iter().map(|(id, _, _)| *id).collect();
    let mut present: HashMap<i64, HashSet<String>> = HashMap::new();
    let rows: Vec<(i64, String)> = cts::table
        .filter(cts::contact_id.eq_any(&winner_ids))
        .filter(cts::present.eq(true))
        .select((cts::contact_id, cts::tag))
        .load(conn)?;
    for (id, tag) in rows {
        present.entry(id).or_default().insert(tag);
    }

    let mut added = Vec::new();
    let mut changed = 0;
    for (id, wanted, at) in winners {
        let have = present.remove(id).unwrap_or_default();
        added.extend(
            wanted
                .iter()
                .filter(|t| !have.contains(*t))
                .map(|t| (*id, t.clone(), *at)),
        );
        let removed: Vec<&String> = have.iter().filter(|t| !wanted.contains(*t)).collect();
        if !removed.is_empty() {
            changed += diesel::update(
                cts::table
                    .filter(cts::contact_id.eq(id))
                    .filter(cts::tag.eq_any(&removed)),
            )
            .set((cts::present.eq(false), cts::updated_at.eq(at)))
            .execute(conn)?;
        }
    }
    ensure_names(conn, added.iter().map(|(_, t, _)| t))?;
    for chunk in added.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, tag, at)| {
                (
                    cts::contact_id.eq(id),
                    cts::tag.eq(tag),
                    cts::present.eq(true),
                    cts::updated_at.eq(at),
                )
            })
            .collect();
        changed += upsert_rows!(&mut *conn, &rows, |v| diesel::insert_into(cts::table)
            .values(v)
            .on_conflict((cts::contact_id, cts::tag))
            .do_update()
            .set((
                cts::present.eq(true),
                cts::updated_at.eq(excluded(cts::updated_at))
            )))?;
    }
    Ok(changed)
}

/// The webhook case, one contact: the version check and its bump are one statement (which also
/// locks the row on PostgreSQL), and an unchanged set costs one more read.
fn replace_one(
    conn: &mut DbConn,
    id: i64,
    wanted: &BTreeSet<String>,
    at: SourceTime,
) -> QueryResult<usize> {
    let won = Cached(
        diesel::update(contacts::table.find(id))
            .filter(
                contacts::tags_updated_at
                    .is_null()
                    .or(contacts::tags_updated_at.le(at)),
            )
            .set(contacts::tags_updated_at.eq(at)),
    )
    .execute(conn)?;
    if won == 0 {
        return Ok(0);
    }
    let have: HashSet<String> = cts::table
        .filter(cts::contact_id.eq(id))
        .filter(cts::present.eq(true))
        .select(cts::tag)
        .load(conn)?
        .into_iter()
        .collect();
    let removed: Vec<&String> = have.iter().filter(|t| !wanted.contains(*t)).collect();
    let added: Vec<&String> = wanted.iter().filter(|t| !have.contains(*t)).collect();
    let mut changed = 0;
    if !removed.is_empty() {
        changed += diesel::update(
            cts::table
                .filter(cts::contact_id.eq(id))
                .filter(cts::tag.eq_any(&removed)),
        )
        .set((cts::present.eq(false), cts::updated_at.eq(at)))
        .execute(conn)?;
    }
    if !added.is_empty() {
        ensure_names(conn, added.iter().copied())?;
        let rows: Vec<_> = added
            .iter()
            .map(|tag| {
                (
                    cts::contact_id.eq(id),
                    cts::tag.eq(*tag),
                    cts::present.eq(true),
                    cts::updated_at.eq(at),
                )
            })
            .collect();
        changed += upsert_rows!(&mut *conn, &rows, |v| diesel::insert_into(cts::table)
            .values(v)
            .on_conflict((cts::contact_id, cts::tag))
            .do_update()
            .set((
                cts::present.eq(true),
                cts::updated_at.eq(excluded(cts::updated_at))
            )))?;
    }
    Ok(changed)
}

/// The tags each contact has now.
pub fn current(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, BTreeSet<String>>> {
    let rows: Vec<(i64, String)> = cts::table
        .filter(cts::contact_id.eq_any(ids))
        .filter(cts::present.eq(true))
        .select((cts::contact_id, cts::tag))
        .load(conn)?;
    let mut out: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (id, tag) in rows {
        out.entry(id).or_default().insert(tag);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(names: &[&str]) -> HashSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_names_split_on_comma_space() {
        let got = split_tags("tag1, tag2", &known(&[]));
        assert_eq!(
            got,
            ["tag1", "tag2"].iter().map(|s| s.to_string()).collect()
        );
    }

    #[test]
    fn empty_string_is_no_tags() {
        assert!(split_tags("", &known(&[])).is_empty());
    }

    #[test]
    fn known_names_with_comma_space_stay_whole() {
        let got = split_tags(
            "VIP, Gold, newsletter, Paris, France",
            &known(&["VIP, Gold", "Paris, France"]),
        );
        let want: BTreeSet<String> = ["VIP, Gold", "newsletter", "Paris, France"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn longest_known_run_wins() {
        let got = split_tags("a, b, c", &known(&["a, b", "a, b, c"]));
        assert_eq!(got, ["a, b, c"].iter().map(|s| s.to_string()).collect());
    }

    #[test]
    fn captured_tag_string_splits_into_three() {
        let raw = "[KRC] Registered for Challenge, [KRC] Registered - 07/20/26, [KRC] RFC START - 07/20/26";
        assert_eq!(split_tags(raw, &known(&[])).len(), 3);
    }
}
