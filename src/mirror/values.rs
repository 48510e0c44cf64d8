//! Per-contact custom field values and list memberships, each versioned on its own.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::OnlyIf;
use super::{SourceTime, CHUNK};
use crate::db::schema::{contact_field_values as cfv, contact_lists as cl};
use crate::db::DbConn;
use crate::upsert_rows;

/// Writes field values `(contact, field, value, as of)`; a value held with a newer version
/// stays. Returns the rows written.
pub fn upsert_field_values(
    conn: &mut DbConn,
    values: &[(i64, i64, String, SourceTime)],
) -> QueryResult<usize> {
    let mut dedup: HashMap<(i64, i64), (&str, SourceTime)> = HashMap::with_capacity(values.len());
    for (contact, field, value, at) in values {
        dedup.insert((*contact, *field), (value, *at));
    }
    let mut rows: Vec<_> = dedup.into_iter().collect();
    rows.sort_unstable();
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<_> = chunk
            .iter()
            .map(|((contact, field), (value, at))| {
                (
                    cfv::contact_id.eq(*contact),
                    cfv::field_id.eq(*field),
                    cfv::value.eq(*value),
                    cfv::updated_at.eq(*at),
                )
            })
            .collect();
        written += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(cfv::table)
            .values(v)
            .on_conflict((cfv::contact_id, cfv::field_id))
            .do_update()
            .set((
                cfv::value.eq(excluded(cfv::value)),
                cfv::updated_at.eq(excluded(cfv::updated_at))
            ))
            .only_if(cfv::updated_at.le(excluded(cfv::updated_at))))?;
    }
    Ok(written)
}

/// Writes list memberships `(contact, list, status, as of)` under the same rule.
pub fn upsert_memberships(
    conn: &mut DbConn,
    rows: &[(i64, i64, i32, SourceTime)],
) -> QueryResult<usize> {
    let mut dedup: HashMap<(i64, i64), (i32, SourceTime)> = HashMap::with_capacity(rows.len());
    for (contact, list, status, at) in rows {
        dedup.insert((*contact, *list), (*status, *at));
    }
    let mut rows: Vec<_> = dedup.into_iter().collect();
    rows.sort_unstable();
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<_> = chunk
            .iter()
            .map(|((contact, list), (status, at))| {
                (
                    cl::contact_id.eq(*contact),
                    cl::list_id.eq(*list),
                    cl::status.eq(*status),
                    cl::updated_at.eq(*at),
                )
            })
            .collect();
        written += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(cl::table)
            .values(v)
            .on_conflict((cl::contact_id, cl::list_id))
            .do_update()
            .set((
                cl::status.eq(excluded(cl::status)),
                cl::updated_at.eq(excluded(cl::updated_at))
            ))
            .only_if(cl::updated_at.le(excluded(cl::updated_at))))?;
    }
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
