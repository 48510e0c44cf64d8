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

/// Which scalar keys a source carried. A key left out of a webhook block leaves the stored
/// column and its version alone; a key present with an empty value clears the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Present {
    /// `email` was carried.
    pub email: bool,
    /// `first_name` was carried.
    pub first_name: bool,
    /// `last_name` was carried.
    pub last_name: bool,
    /// `phone` was carried.
    pub phone: bool,
}

impl Present {
    /// Every column carried, as in an API record.
    pub const ALL: Present = Present {
        email: true,
        first_name: true,
        last_name: true,
        phone: true,
    };
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
    email_updated_at: Option<SourceTime>,
    first_name_updated_at: Option<SourceTime>,
    last_name_updated_at: Option<SourceTime>,
    phone_updated_at: Option<SourceTime>,
}

impl<'a> NewContact<'a> {
    fn of(r: &'a ContactState, present: Present, now: SourceTime) -> Self {
        let keep = |carried: bool, v: &'a Option<String>| v.as_deref().filter(|_| carried);
        let at = |carried: bool| Some(r.source_time).filter(|_| carried);
        NewContact {
            id: r.id,
            email: keep(present.email, &r.email),
            first_name: keep(present.first_name, &r.first_name),
            last_name: keep(present.last_name, &r.last_name),
            phone: keep(present.phone, &r.phone),
            created_at: r.created_at,
            updated_at: Some(r.source_time),
            deleted_at: None,
            synced_at: now,
            email_updated_at: at(present.email),
            first_name_updated_at: at(present.first_name),
            last_name_updated_at: at(present.last_name),
            phone_updated_at: at(present.phone),
        }
    }
}

/// Splits rows into rounds in which each id appears once (its k-th state goes to round k), so
/// that one statement never touches a row twice. Every column is guarded by its own version,
/// so the rounds may run in any order; keeping input order makes the later of two states with
/// equal times win.
fn rounds(rows: &[(ContactState, Present)]) -> Vec<Vec<&(ContactState, Present)>> {
    let mut seen: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<Vec<&(ContactState, Present)>> = Vec::new();
    for row in rows {
        let k = seen.entry(row.0.id).or_insert(0);
        if out.len() <= *k {
            out.push(Vec::new());
        }
        out[*k].push(row);
        *k += 1;
    }
    for round in &mut out {
        round.sort_by_key(|(r, _)| r.id);
    }
    out
}

/// The scalar columns versioned one by one.
const COLUMNS: [&str; 4] = ["email", "first_name", "last_name", "phone"];

/// True when the source carried `col` and it is at least as new as the row's version of it.
fn column_newer(col: &str) -> String {
    format!(
        "(excluded.{col}_updated_at IS NOT NULL AND (contacts.{col}_updated_at IS NULL \
         OR contacts.{col}_updated_at <= excluded.{col}_updated_at))"
    )
}

/// `CASE` that takes the incoming `take` when `col` is newer, else keeps the row's.
fn when_column_newer(col: &str, take: &str) -> String {
    format!(
        "CASE WHEN {} THEN excluded.{take} ELSE contacts.{take} END",
        column_newer(col)
    )
}

/// True when the incoming row is at least as new as the row's overall version.
const ROW_NEWER: &str =
    "(contacts.updated_at IS NULL OR contacts.updated_at <= excluded.updated_at)";

/// Writes contacts whose state is at least as new as the mirror's, every key carried; returns
/// how many rows took new state. A contact marked deleted comes back to life when newer state
/// arrives.
pub fn upsert(conn: &mut DbConn, rows: &[ContactState], now: SourceTime) -> QueryResult<usize> {
    let rows: Vec<(ContactState, Present)> =
        rows.iter().map(|r| (r.clone(), Present::ALL)).collect();
    upsert_partial(conn, &rows, now)
}

/// Writes contacts from sources that may leave keys out. Each column is versioned on its own:
/// a column whose key was carried takes the value if it is at least as new as that column's
/// version; an absent key leaves the column alone. The row's `updated_at` is the newest
/// source time it has taken. Returns how many rows took new state.
pub fn upsert_partial(
    conn: &mut DbConn,
    rows: &[(ContactState, Present)],
    now: SourceTime,
) -> QueryResult<usize> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Nullable, Text, Timestamp};
    let text = |col: &str| sql::<Nullable<Text>>(&when_column_newer(col, col));
    let version = |col: &str| {
        sql::<Nullable<Timestamp>>(&when_column_newer(col, &format!("{col}_updated_at")))
    };
    let any_newer = format!("{ROW_NEWER} OR {}", COLUMNS.map(column_newer).join(" OR "));
    let row_version =
        format!("CASE WHEN {ROW_NEWER} THEN excluded.updated_at ELSE contacts.updated_at END");
    let revived = format!("CASE WHEN {ROW_NEWER} THEN NULL ELSE contacts.deleted_at END");
    let mut written = 0;
    for round in rounds(rows) {
        for chunk in round.chunks(CHUNK) {
            let new: Vec<NewContact<'_>> = chunk
                .iter()
                .map(|(r, present)| NewContact::of(r, *present, now))
                .collect();
            written += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(contacts::table)
                .values(v)
                .on_conflict(contacts::id)
                .do_update()
                .set((
                    contacts::email.eq(text("email")),
                    contacts::email_updated_at.eq(version("email")),
                    contacts::first_name.eq(text("first_name")),
                    contacts::first_name_updated_at.eq(version("first_name")),
                    contacts::last_name.eq(text("last_name")),
                    contacts::last_name_updated_at.eq(version("last_name")),
                    contacts::phone.eq(text("phone")),
                    contacts::phone_updated_at.eq(version("phone")),
                    contacts::created_at.eq(coalesce_ts(
                        excluded(contacts::created_at),
                        contacts::created_at
                    )),
                    contacts::updated_at.eq(sql::<Nullable<Timestamp>>(&row_version)),
                    contacts::deleted_at.eq(sql::<Nullable<Timestamp>>(&revived)),
                    contacts::synced_at.eq(excluded(contacts::synced_at)),
                ))
                .only_if(sql::<Bool>(&any_newer)))?;
        }
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
        email_updated_at: None,
        first_name_updated_at: None,
        last_name_updated_at: None,
        phone_updated_at: None,
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
