//! Contact tags. Every webhook with a contact block and every API page carries a contact's
//! whole tag set, so the set is versioned per contact (`contacts.tags_updated_at`) and
//! replaced as a whole; removed tags stay in `contact_tag_states` as tombstones.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use diesel::prelude::*;

use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{contact_tag_states as cts, contacts, tags};
use crate::db::DbConn;
use crate::db::CHUNK;
use crate::time::SourceTime;

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

/// Tag names from the `tags` table that could join parts of these `contact[tags]` strings:
/// the candidates for [`split_tags`]. Queried only for strings with more than one part.
pub fn known_names<'a>(
    conn: &mut DbConn,
    raws: impl IntoIterator<Item = &'a str>,
) -> QueryResult<HashSet<String>> {
    let mut candidates = HashSet::new();
    for raw in raws {
        let parts: Vec<&str> = raw.split(", ").collect();
        for i in 0..parts.len() {
            for j in i + 1..parts.len().min(i + MAX_PARTS_PER_NAME) {
                candidates.insert(parts[i..=j].join(", "));
            }
        }
    }
    let mut candidates: Vec<String> = candidates.into_iter().collect();
    candidates.sort_unstable();
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
    let rows: Vec<Vec<Val<'_>>> = names.into_iter().map(|n| vec![Val::Text(n)]).collect();
    Upsert {
        table: "tags",
        columns: &["name"],
        conflict: "ON CONFLICT (name) DO NOTHING".to_owned(),
    }
    .run(conn, &rows)?;
    Ok(())
}

/// Locks the contacts' rows (PostgreSQL), in id order so that two writers cannot deadlock on
/// them, and reads their tag-set versions.
fn lock_versions(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, Option<SourceTime>)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let query = contacts::table
            .filter(contacts::id.eq_any(chunk))
            .order(contacts::id)
            .select((contacts::id, contacts::tags_updated_at));
        let rows: Vec<(i64, Option<SourceTime>)> = match conn {
            DbConn::Pg(c) => query.for_update().load(c)?,
            // SQLite write transactions are exclusive (BEGIN IMMEDIATE): nothing can interleave.
            DbConn::Sqlite(c) => query.load(c)?,
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Where a tag write takes a contact's set from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSource {
    /// The whole set, already split (an API page).
    Set(BTreeSet<String>),
    /// `contact[tags]` as a webhook sent it, split with the tag names known at that point.
    Raw(String),
    /// No tag string: the set the contact has at that point.
    Current,
}

/// One contact's tag set as of `at`, as one delivery or one API record states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagWrite {
    /// The contact (it must exist).
    pub contact: i64,
    /// When the set became true upstream.
    pub at: SourceTime,
    /// Where the set comes from.
    pub source: TagSource,
    /// The tag a tag event names: it decides how a `Raw` string splits, and it is present
    /// (`Some(true)`) or absent (`Some(false)`) afterwards.
    pub named: Option<(String, Option<bool>)>,
    /// When tags of the set were added, where the source says (the API's association
    /// `cdate`): a tag the write adds gets its time (else the write's), and a tag the mirror
    /// holds with another time is corrected.
    pub added: BTreeMap<String, SourceTime>,
}

/// A contact's whole tag set as an API record shows it, with when each tag was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSet {
    /// The contact (it must exist).
    pub contact: i64,
    /// Its tags, each with the time it was added where the record says.
    pub tags: BTreeMap<String, Option<SourceTime>>,
    /// When the set was true upstream.
    pub at: SourceTime,
}

/// Replaces the tag sets of these contacts with the sets as of the given times, for each
/// contact whose set is not newer already. The contacts must exist. Returns the number of
/// contact-tag pairs added or removed.
pub fn replace_sets(conn: &mut DbConn, sets: &[TagSet]) -> QueryResult<usize> {
    let writes: Vec<TagWrite> = sets
        .iter()
        .map(|set| TagWrite {
            contact: set.contact,
            at: set.at,
            source: TagSource::Set(set.tags.keys().cloned().collect()),
            named: None,
            added: set
                .tags
                .iter()
                .filter_map(|(t, at)| Some((t.clone(), (*at)?)))
                .collect(),
        })
        .collect();
    write(conn, &writes)
}

/// Applies tag writes in the order given, with the result of applying them one at a time: each
/// replaces its contact's set if it is at least as new as the set's version, a `Current` write
/// starts from the set the earlier writes left, and a `Raw` string splits with the names the
/// earlier writes added. The whole batch is worked out in memory from one read of the
/// versions (rows locked) and the present tags, then written with one multi-row statement per
/// table and chunk. Returns the number of contact-tag pairs added or removed.
pub fn write(conn: &mut DbConn, writes: &[TagWrite]) -> QueryResult<usize> {
    if writes.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<i64> = writes.iter().map(|w| w.contact).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut versions: HashMap<i64, Option<SourceTime>> =
        lock_versions(conn, &ids)?.into_iter().collect();
    let mut times = present_with_times(conn, &ids)?;
    let mut sets: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (id, tag) in times.keys() {
        sets.entry(*id).or_default().insert(tag.clone());
    }
    let mut known = known_names(
        conn,
        writes.iter().filter_map(|w| match &w.source {
            TagSource::Raw(raw) => Some(raw.as_str()),
            _ => None,
        }),
    )?;

    // (contact, tag) → (present, version, added at).
    type Change = (bool, SourceTime, Option<SourceTime>);
    let mut changes: HashMap<(i64, String), Change> = HashMap::new();
    let mut added_names: HashSet<String> = HashSet::new();
    let mut bumped: HashMap<i64, SourceTime> = HashMap::new();
    for w in writes {
        let Some(version) = versions.get_mut(&w.contact) else {
            continue;
        };
        if version.is_some_and(|v| v > w.at) {
            continue;
        }
        let have = sets.entry(w.contact).or_default();
        let mut wanted = match &w.source {
            TagSource::Set(set) => set.clone(),
            TagSource::Raw(raw) => {
                let named = w.named.iter().map(|(t, _)| t.clone());
                let extra: Vec<String> = named.filter(|t| known.insert(t.clone())).collect();
                let split = split_tags(raw, &known);
                for t in extra {
                    known.remove(&t);
                }
                split
            }
            TagSource::Current => have.clone(),
        };
        match &w.named {
            Some((t, Some(true))) => {
                wanted.insert(t.clone());
            }
            Some((t, Some(false))) => {
                wanted.remove(t);
            }
            _ => {}
        }
        for t in wanted.difference(have) {
            let added = w.added.get(t).copied().unwrap_or(w.at);
            changes.insert((w.contact, t.clone()), (true, w.at, Some(added)));
            times.insert((w.contact, t.clone()), Some(added));
            // Known from here on, as `ensure_names` would have made it for the next write.
            known.insert(t.clone());
            added_names.insert(t.clone());
        }
        for t in have.difference(&wanted) {
            changes.insert((w.contact, t.clone()), (false, w.at, None));
            times.remove(&(w.contact, t.clone()));
        }
        // Tags kept whose addition time the source knows better.
        for t in wanted.intersection(have) {
            let Some(added) = w.added.get(t) else {
                continue;
            };
            let held = times.entry((w.contact, t.clone())).or_default();
            if *held != Some(*added) {
                *held = Some(*added);
                changes.insert((w.contact, t.clone()), (true, w.at, Some(*added)));
            }
        }
        *have = wanted;
        *version = Some(w.at);
        bumped.insert(w.contact, w.at);
    }
    if bumped.is_empty() {
        return Ok(0);
    }

    let mut names: Vec<&String> = added_names.iter().collect();
    names.sort_unstable();
    ensure_names(conn, names)?;
    let mut rows: Vec<_> = changes.into_iter().collect();
    rows.sort_unstable();
    let rows: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|((id, tag), (present, at, added))| {
            vec![
                Val::I64(*id),
                Val::Text(tag),
                Val::Bool(*present),
                Val::Ts(*at),
                Val::OptTs(*added),
            ]
        })
        .collect();
    let changed = Upsert {
        table: "contact_tag_states",
        columns: &["contact_id", "tag", "present", "updated_at", "added_at"],
        conflict: "ON CONFLICT (contact_id, tag) DO UPDATE SET present = excluded.present, \
                   updated_at = excluded.updated_at, added_at = excluded.added_at"
            .to_owned(),
    }
    .run(conn, &rows)?;
    // The versions: an upsert on rows that exist (they are locked), so one statement per
    // chunk whatever the times.
    let mut bumped: Vec<(i64, SourceTime)> = bumped.into_iter().collect();
    bumped.sort_unstable();
    let now = crate::time::now();
    let rows: Vec<Vec<Val<'_>>> = bumped
        .iter()
        .map(|(id, at)| vec![Val::I64(*id), Val::Ts(*at), Val::Ts(now)])
        .collect();
    Upsert {
        table: "contacts",
        columns: &["id", "tags_updated_at", "synced_at"],
        conflict: "ON CONFLICT (id) DO UPDATE SET tags_updated_at = excluded.tags_updated_at"
            .to_owned(),
    }
    .run(conn, &rows)?;
    Ok(changed)
}

/// The tags these contacts have now, with when each was added.
fn present_with_times(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<HashMap<(i64, String), Option<SourceTime>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, Option<SourceTime>)> = cts::table
            .filter(cts::contact_id.eq_any(chunk))
            .filter(cts::present.eq(true))
            .select((cts::contact_id, cts::tag, cts::added_at))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, tag, at)| ((id, tag), at)));
    }
    Ok(out)
}

/// The tags each contact has now.
pub fn current(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, BTreeSet<String>>> {
    let mut out: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for (id, tag) in present_with_times(conn, ids)?.into_keys() {
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
