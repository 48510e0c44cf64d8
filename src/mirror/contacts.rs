//! Contacts: scalar state, stubs known only by reference, and deletion marks.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::bulk::{Upsert, Val};
use crate::db::schema::contacts;
use crate::db::DbConn;
use crate::time::SourceTime;

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

/// The columns a contact row is written with, in the order of its values.
const ROW_COLUMNS: [&str; 13] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "created_at",
    "updated_at",
    "deleted_at",
    "synced_at",
    "email_updated_at",
    "first_name_updated_at",
    "last_name_updated_at",
    "phone_updated_at",
];

/// A column's newest value among several sources, and its time.
type Slot = Option<(Option<String>, SourceTime)>;

/// One contact's scalar state merged from several sources in arrival order: each column holds
/// the newest value carried (the later arrival wins on equal times), the row's version is the
/// newest time. Writing the merged row gives what writing the sources one by one gives, since
/// every column is compared with its own version.
#[derive(Debug, Default)]
struct Merged {
    id: i64,
    email: Slot,
    first_name: Slot,
    last_name: Slot,
    phone: Slot,
    /// The creation time of the newest source that carries one.
    created_at: Option<(SourceTime, SourceTime)>,
    updated_at: Option<SourceTime>,
}

impl Merged {
    fn take(&mut self, r: &ContactState, present: Present) {
        let at = r.source_time;
        let newer = |slot: &Slot| slot.as_ref().is_none_or(|(_, t)| *t <= at);
        for (carried, slot, value) in [
            (present.email, &mut self.email, &r.email),
            (present.first_name, &mut self.first_name, &r.first_name),
            (present.last_name, &mut self.last_name, &r.last_name),
            (present.phone, &mut self.phone, &r.phone),
        ] {
            if carried && newer(slot) {
                *slot = Some((value.clone(), at));
            }
        }
        if let Some(created) = r.created_at {
            if self.created_at.is_none_or(|(_, t)| t <= at) {
                self.created_at = Some((created, at));
            }
        }
        self.updated_at = Some(self.updated_at.map_or(at, |t| t.max(at)));
    }

    /// The row's values, in [`ROW_COLUMNS`] order.
    fn values(&self, now: SourceTime) -> Vec<Val<'_>> {
        fn value(slot: &Slot) -> Val<'_> {
            Val::OptText(slot.as_ref().and_then(|(v, _)| v.as_deref()))
        }
        let version = |slot: &Slot| Val::OptTs(slot.as_ref().map(|(_, t)| *t));
        vec![
            Val::I64(self.id),
            value(&self.email),
            value(&self.first_name),
            value(&self.last_name),
            value(&self.phone),
            Val::OptTs(self.created_at.map(|(c, _)| c)),
            Val::OptTs(self.updated_at),
            Val::OptTs(None),
            Val::Ts(now),
            version(&self.email),
            version(&self.first_name),
            version(&self.last_name),
            version(&self.phone),
        ]
    }
}

/// Merges states in arrival order into one row per contact, in id order.
fn merge(rows: &[(ContactState, Present)]) -> Vec<Merged> {
    let mut by_id: HashMap<i64, Merged> = HashMap::with_capacity(rows.len());
    for (r, present) in rows {
        by_id
            .entry(r.id)
            .or_insert_with(|| Merged {
                id: r.id,
                ..Merged::default()
            })
            .take(r, *present);
    }
    let mut out: Vec<Merged> = by_id.into_values().collect();
    out.sort_unstable_by_key(|m| m.id);
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
/// source time it has taken. Rows may repeat a contact, in arrival order: they are merged
/// first, with the result of writing them one by one (a creation time is taken from the
/// newest source carrying one). Returns how many rows took new state.
pub fn upsert_partial(
    conn: &mut DbConn,
    rows: &[(ContactState, Present)],
    now: SourceTime,
) -> QueryResult<usize> {
    let set: Vec<String> = COLUMNS
        .iter()
        .flat_map(|col| {
            [
                format!("{col} = {}", when_column_newer(col, col)),
                format!(
                    "{col}_updated_at = {}",
                    when_column_newer(col, &format!("{col}_updated_at"))
                ),
            ]
        })
        .chain([
            "created_at = COALESCE(excluded.created_at, contacts.created_at)".to_owned(),
            format!("updated_at = CASE WHEN {ROW_NEWER} THEN excluded.updated_at ELSE contacts.updated_at END"),
            format!("deleted_at = CASE WHEN {ROW_NEWER} THEN NULL ELSE contacts.deleted_at END"),
            "synced_at = excluded.synced_at".to_owned(),
        ])
        .collect();
    let any_newer = format!("{ROW_NEWER} OR {}", COLUMNS.map(column_newer).join(" OR "));
    let upsert = Upsert {
        table: "contacts",
        columns: &ROW_COLUMNS,
        conflict: format!(
            "ON CONFLICT (id) DO UPDATE SET {} WHERE {any_newer}",
            set.join(", ")
        ),
    };
    let merged = merge(rows);
    let rows: Vec<Vec<Val<'_>>> = merged.iter().map(|m| m.values(now)).collect();
    let written = upsert.run(conn, &rows)?;
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
/// real state replaces them. Existing contacts are left alone, and of stubs for one contact
/// the first counts.
pub fn ensure_stubs(
    conn: &mut DbConn,
    stubs: &[ContactStub],
    now: SourceTime,
) -> QueryResult<usize> {
    let mut seen = std::collections::HashSet::with_capacity(stubs.len());
    let mut stubs: Vec<&ContactStub> = stubs.iter().filter(|s| seen.insert(s.id)).collect();
    stubs.sort_unstable_by_key(|s| s.id);
    let rows: Vec<Vec<Val<'_>>> = stubs
        .iter()
        .map(|stub| {
            // No versions: any real state replaces a stub.
            let none = Val::OptTs(None);
            vec![
                Val::I64(stub.id),
                Val::OptText(stub.email.as_deref()),
                Val::OptText(stub.first_name.as_deref()),
                Val::OptText(stub.last_name.as_deref()),
                Val::OptText(None),
                none,
                none,
                none,
                Val::Ts(now),
                none,
                none,
                none,
                none,
            ]
        })
        .collect();
    let n = Upsert {
        table: "contacts",
        columns: &ROW_COLUMNS,
        conflict: "ON CONFLICT (id) DO NOTHING".to_owned(),
    }
    .run(conn, &rows)?;
    Ok(n)
}

/// A contact's scalar columns as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = contacts)]
struct Stored {
    id: i64,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    created_at: Option<SourceTime>,
    updated_at: Option<SourceTime>,
}

impl From<Stored> for ContactState {
    fn from(row: Stored) -> Self {
        Self {
            id: row.id,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            phone: row.phone,
            created_at: row.created_at,
            source_time: row.updated_at.unwrap_or_default(),
        }
    }
}

/// The scalar state the mirror holds for these ids (deleted rows included).
pub fn load(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, ContactState>> {
    let rows: Vec<Stored> = contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(Stored::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.into())).collect())
}

super::deletion_tracking!(contacts, "contacts");
