//! Per-contact custom field values and list memberships, each versioned on its own.

use std::collections::HashMap;

use diesel::prelude::*;

use super::SourceTime;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{contact_field_values as cfv, contact_lists as cl};
use crate::db::DbConn;

/// Keeps the newest of the values given for one key; of equal times, the later given.
fn keep_newest<K: std::hash::Hash + Eq, V>(
    into: &mut HashMap<K, (V, SourceTime)>,
    key: K,
    value: (V, SourceTime),
) {
    match into.get(&key) {
        Some((_, held)) if *held > value.1 => {}
        _ => {
            into.insert(key, value);
        }
    }
}

/// Writes field values `(contact, field, value, as of)`, in arrival order, repeats allowed; a
/// value held with a newer version stays. Returns the rows written.
pub fn upsert_field_values(
    conn: &mut DbConn,
    values: &[(i64, i64, String, SourceTime)],
) -> QueryResult<usize> {
    let mut dedup: HashMap<(i64, i64), (&str, SourceTime)> = HashMap::with_capacity(values.len());
    for (contact, field, value, at) in values {
        keep_newest(&mut dedup, (*contact, *field), (value.as_str(), *at));
    }
    let mut rows: Vec<_> = dedup.into_iter().collect();
    rows.sort_unstable();
    let rows: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|((contact, field), (value, at))| {
            vec![
                Val::I64(*contact),
                Val::I64(*field),
                Val::Text(value),
                Val::Ts(*at),
            ]
        })
        .collect();
    let written = Upsert {
        table: "contact_field_values",
        columns: &["contact_id", "field_id", "value", "updated_at"],
        conflict: "ON CONFLICT (contact_id, field_id) DO UPDATE SET value = excluded.value, \
                   updated_at = excluded.updated_at \
                   WHERE contact_field_values.updated_at <= excluded.updated_at"
            .to_owned(),
    }
    .run(conn, &rows)?;
    Ok(written)
}

/// Writes list memberships `(contact, list, status, as of)` under the same rule.
pub fn upsert_memberships(
    conn: &mut DbConn,
    rows: &[(i64, i64, i32, SourceTime)],
) -> QueryResult<usize> {
    let mut dedup: HashMap<(i64, i64), (i32, SourceTime)> = HashMap::with_capacity(rows.len());
    for (contact, list, status, at) in rows {
        keep_newest(&mut dedup, (*contact, *list), (*status, *at));
    }
    let mut rows: Vec<_> = dedup.into_iter().collect();
    rows.sort_unstable();
    let rows: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|((contact, list), (status, at))| {
            vec![
                Val::I64(*contact),
                Val::I64(*list),
                Val::I32(*status),
                Val::Ts(*at),
            ]
        })
        .collect();
    let written = Upsert {
        table: "contact_lists",
        columns: &["contact_id", "list_id", "status", "updated_at"],
        conflict: "ON CONFLICT (contact_id, list_id) DO UPDATE SET status = excluded.status, \
                   updated_at = excluded.updated_at \
                   WHERE contact_lists.updated_at <= excluded.updated_at"
            .to_owned(),
    }
    .run(conn, &rows)?;
    Ok(written)
}

/// Field values held for these contacts: `(contact, field) → value`.
pub fn field_values_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<(i64, i64), String>> {
    let rows: Vec<(i64, i64, String)> = cfv::table
        .filter(cfv::contact_id.eq_any(ids))
        .select((cfv::contact_id, cfv::field_id, cfv::value))
        .load(conn)?;
    Ok(rows.into_iter().map(|(c, f, v)| ((c, f), v)).collect())
}

/// Memberships held for these contacts: `(contact, list) → status`.
pub fn memberships_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<(i64, i64), i32>> {
    let rows: Vec<(i64, i64, i32)> = cl::table
        .filter(cl::contact_id.eq_any(ids))
        .select((cl::contact_id, cl::list_id, cl::status))
        .load(conn)?;
    Ok(rows.into_iter().map(|(c, l, s)| ((c, l), s)).collect())
}
