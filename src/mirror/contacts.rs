//! Contacts: scalar state, stubs known only by reference, and deletion marks.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::OnlyIf;
use super::{coalesce_ts, SourceTime, CHUNK};
use crate::db::schema::contacts;
use crate::db::DbConn;
use crate::{upsert_rows, with_backend};

/// A contact's scalar fields as of `source_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactState {
    /// ActiveCampaign's id.
    pub id: i64,
    /// E-mail address, as sent.
    pub email: Option<String>,
    /// First name, as sent.
    pub first_name: Option<String>,
    /// Last name, as sent.
    pub last_name: Option<String>,
    /// Phone, free text as sent.
    pub phone: Option<String>,
    /// Creation time, when the source knows it.
    pub created_at: Option<SourceTime>,
    /// When this state became true upstream.
    pub source_time: SourceTime,
}

#[derive(Insertable)]
#[diesel(table_name = contacts, treat_none_as_default_value = false)]
struct NewContact<'a> {
    id: i64,
    email: Option<&'a str>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    phone: Option<&'a str>,
    created_at: Option<SourceTime>,
    updated_at: Option<SourceTime>,
    deleted_at: Option<SourceTime>,
    synced_at: SourceTime,
}

/// Keeps the newest state per id (later entries win ties), so one statement never touches a
/// row twice.
fn newest_per_id(rows: &[ContactState]) -> Vec<&ContactState> {
    let mut by_id: HashMap<i64, &ContactState> = HashMap::with_capacity(rows.len());
    for row in rows {
        match by_id.get(&row.id) {
            Some(have) if have.source_time > row.source_time => {}
            _ => {
                by_id.insert(row.id, row);
            }
        }
    }
    let mut out: Vec<_> = by_id.into_values().collect();
    out.sort_by_key(|r| r.id);
    out
}

/// Writes contacts whose state is at least as new as the mirror's; returns how many rows
/// took the new state. A contact marked deleted comes back to life when newer state arrives.
pub fn upsert(conn: &mut DbConn, rows: &[ContactState], now: SourceTime) -> QueryResult<usize> {
    let rows = newest_per_id(rows);
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<NewContact<'_>> = chunk
            .iter()
            .map(|r| NewContact {
                id: r.id,
                email: r.email.as_deref(),
                first_name: r.first_name.as_deref(),
                last_name: r.last_name.as_deref(),
                phone: r.phone.as_deref(),
                created_at: r.created_at,
                updated_at: Some(r.source_time),
                deleted_at: None,
                synced_at: now,
            })
            .collect();
        written += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(contacts::table)
            .values(v)
            .on_conflict(contacts::id)
            .do_update()
            .set((
                contacts::email.eq(excluded(contacts::email)),
                contacts::first_name.eq(excluded(contacts::first_name)),
                contacts::last_name.eq(excluded(contacts::last_name)),
                contacts::phone.eq(excluded(contacts::phone)),
                contacts::created_at.eq(coalesce_ts(
                    excluded(contacts::created_at),
                    contacts::created_at
                )),
                contacts::updated_at.eq(excluded(contacts::updated_at)),
                contacts::deleted_at.eq(None::<SourceTime>),
                contacts::synced_at.eq(excluded(contacts::synced_at)),
            ))
            .only_if(
                contacts::updated_at
                    .is_null()
                    .or(contacts::updated_at.le(excluded(contacts::updated_at))),
            ))?;
    }
    Ok(written)
}

/// A contact known only by reference (a deal's primary contact): what the reference says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactStub {
    /// ActiveCampaign's id.
    pub id: i64,
    /// E-mail, if the reference carries it.
    pub email: Option<String>,
    /// First name, if carried.
    pub first_name: Option<String>,
    /// Last name, if carried.
    pub last_name: Option<String>,
}

/// Inserts contacts that the mirror does not know yet, with no source time, so that any
/// real state replaces them. Existing contacts are left alone.
pub fn ensure_stub(conn: &mut DbConn, stub: &ContactStub, now: SourceTime) -> QueryResult<usize> {
    let new = NewContact {
        id: stub.id,
        email: stub.email.as_deref(),
        first_name: stub.first_name.as_deref(),
        last_name: stub.last_name.as_deref(),
        phone: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
        synced_at: now,
    };
    with_backend!(&mut *conn, |c| diesel::insert_into(contacts::table)
        .values(&new)
        .on_conflict(contacts::id)
        .do_nothing()
        .execute(c))
}

/// The scalar state the mirror holds for these ids (deleted rows included).
pub fn load(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, ContactState>> {
    type Row = (
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<SourceTime>,
        Option<SourceTime>,
    );
    let rows: Vec<Row> = contacts::table
        .filter(contacts::id.eq_any(ids))
        .select((
            contacts::id,
            contacts::email,
            contacts::first_name,
            contacts::last_name,
            contacts::phone,
            contacts::created_at,
            contacts::updated_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, email, first_name, last_name, phone, created_at, updated_at)| {
                let state = ContactState {
                    id,
                    email,
                    first_name,
                    last_name,
                    phone,
                    created_at,
                    source_time: updated_at.unwrap_or_default(),
                };
                (id, state)
            },
        )
        .collect())
}

super::deletion_tracking!(contacts, "contacts");
