//! The wider CRM tables: accounts and the contacts at them, custom fields and values of deals
//! and accounts, and deals' secondary contacts; and the full-pass removal shared with campaigns
//! and messages ([`Swept`]).
//!
//! Accounts are versioned like contacts and deals (newer source time wins, marked deleted when
//! gone). Account contacts and custom field values carry the source time of what wrote them
//! and newer wins per row; a full run marks each row it reads with its id whatever the row's
//! version (the record exists upstream), so that [`remove_unseen`] can drop those gone
//! upstream. Custom field definitions and deal contacts carry no source times: the newest
//! read wins.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::dimensions::last_per_id;
use super::newest_per_key;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{
    account_contacts, account_field_values, accounts, deal_contacts, deal_field_values,
};
use crate::db::statement::{Param, Statement};
use crate::db::DbConn;
use crate::time::SourceTime;

/// An account's name, address and owner as the mirror holds them.
pub type AccountHeld = (String, Option<String>, Option<i64>);

/// A deal contact's deal, contact and role as the mirror holds them.
pub type DealContactHeld = (i64, i64, Option<i64>);

/// An account contact's account, contact and job title as the mirror holds them.
pub type AccountContactHeld = (i64, i64, Option<String>);

/// The kind of record custom fields belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// Deals: `deal_fields`, `deal_field_values`.
    Deal,
    /// Accounts: `account_fields`, `account_field_values`.
    Account,
}

impl Object {
    fn fields_table(self) -> &'static str {
        match self {
            Object::Deal => "deal_fields",
            Object::Account => "account_fields",
        }
    }

    fn values_table(self) -> &'static str {
        match self {
            Object::Deal => "deal_field_values",
            Object::Account => "account_field_values",
        }
    }

    fn value_columns(self) -> &'static [&'static str; 6] {
        match self {
            Object::Deal => &[
                "deal_id",
                "field_id",
                "value",
                "updated_at",
                "synced_at",
                "seen_run",
            ],
            Object::Account => &[
                "account_id",
                "field_id",
                "value",
                "updated_at",
                "synced_at",
                "seen_run",
            ],
        }
    }
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// Field id.
    pub id: i64,
    /// Label shown.
    pub label: String,
    /// Type (`text`, `dropdown`, `currency`, …).
    pub field_type: Option<String>,
    /// The choices of a choice field, as a JSON array; `None` for other types.
    pub options: Option<String>,
    /// Position on forms.
    pub display_order: Option<i64>,
}

/// Writes the complete list of `object`'s field definitions: changed ones are written, ones
/// no longer listed removed. Returns the rows written or removed.
pub fn replace_fields(conn: &mut DbConn, object: Object, defs: &[FieldDef]) -> QueryResult<usize> {
    let table = object.fields_table();
    let rows = last_per_id(defs, |d| d.id);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|d| {
            vec![
                Val::I64(d.id),
                Val::Text(&d.label),
                Val::OptText(d.field_type.as_deref()),
                Val::OptText(d.options.as_deref()),
                Val::OptI64(d.display_order),
            ]
        })
        .collect();
    let written = Upsert {
        table,
        columns: &["id", "label", "field_type", "options", "display_order"],
        conflict: format!(
            "ON CONFLICT (id) DO UPDATE SET label = excluded.label, \
             field_type = excluded.field_type, options = excluded.options, \
             display_order = excluded.display_order \
             WHERE {table}.label <> excluded.label \
             OR {table}.field_type IS DISTINCT FROM excluded.field_type \
             OR {table}.options IS DISTINCT FROM excluded.options \
             OR {table}.display_order IS DISTINCT FROM excluded.display_order"
        ),
    }
    .run(conn, &values)?;
    let listed: Vec<String> = rows.iter().map(|d| d.id.to_string()).collect();
    let keep = match listed.is_empty() {
        true => String::new(),
        false => format!(" WHERE id NOT IN ({})", listed.join(", ")),
    };
    let removed = Statement::new(format!("DELETE FROM {table}{keep}"), Vec::new()).execute(conn)?;
    Ok(written + removed)
}

/// A custom field value of a deal or an account as of `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    /// The deal or account.
    pub owner: i64,
    /// The field.
    pub field: i64,
    /// The value (empty when cleared).
    pub value: String,
    /// When this value was true upstream.
    pub at: SourceTime,
}

/// The conflict clause of a versioned association or value row keyed by `key`: the data
/// columns take the newer state (the later on a tie), while a full run's seen mark and the
/// write time are recorded whatever the version.
fn versioned_conflict(table: &str, key: &str, data: &[&str]) -> String {
    let newer = format!("{table}.updated_at <= excluded.updated_at");
    let sets: Vec<String> = data
        .iter()
        .chain(&["updated_at"])
        .map(|c| format!("{c} = CASE WHEN {newer} THEN excluded.{c} ELSE {table}.{c} END"))
        .collect();
    format!(
        "ON CONFLICT ({key}) DO UPDATE SET {}, synced_at = excluded.synced_at, \
         seen_run = COALESCE(excluded.seen_run, {table}.seen_run)",
        sets.join(", ")
    )
}

/// Writes custom field values of `object` (newer wins per value); `seen_run` marks them read
/// by that full run. Of values for one key, the newest counts. Returns the rows written.
pub fn upsert_values(
    conn: &mut DbConn,
    object: Object,
    rows: &[FieldValue],
    seen_run: Option<i64>,
    now: SourceTime,
) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |v| (v.owner, v.field), |v| v.at);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|v| {
            vec![
                Val::I64(v.owner),
                Val::I64(v.field),
                Val::Text(&v.value),
                Val::Ts(v.at),
                Val::Ts(now),
                Val::OptI64(seen_run),
            ]
        })
        .collect();
    let columns = object.value_columns();
    let table = object.values_table();
    Upsert {
        table,
        columns,
        conflict: versioned_conflict(table, &format!("{}, field_id", columns[0]), &["value"]),
    }
    .run(conn, &values)
}

/// The values the mirror holds for these deals or accounts, by (owner, field).
pub fn values_of(
    conn: &mut DbConn,
    object: Object,
    owners: &[i64],
) -> QueryResult<BTreeMap<(i64, i64), String>> {
    let mut out = BTreeMap::new();
    for chunk in owners.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64, String)> = match object {
            Object::Deal => deal_field_values::table
                .filter(deal_field_values::deal_id.eq_any(chunk))
                .select((
                    deal_field_values::deal_id,
                    deal_field_values::field_id,
                    deal_field_values::value,
                ))
                .load(conn)?,
            Object::Account => account_field_values::table
                .filter(account_field_values::account_id.eq_any(chunk))
                .select((
                    account_field_values::account_id,
                    account_field_values::field_id,
                    account_field_values::value,
                ))
                .load(conn)?,
        };
        out.extend(rows.into_iter().map(|(o, f, v)| ((o, f), v)));
    }
    Ok(out)
}

/// An account as of `source_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// ActiveCampaign's id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Web address.
    pub url: Option<String>,
    /// Owning user, when the source says.
    pub owner_id: Option<i64>,
    /// Creation time.
    pub created_at: Option<SourceTime>,
    /// When this state became true upstream.
    pub source_time: SourceTime,
}

/// Writes accounts whose state is at least as new as the mirror's (the newest per account);
/// a write clears a deletion mark it outranks. Returns the rows written.
pub fn upsert_accounts(
    conn: &mut DbConn,
    rows: &[AccountState],
    now: SourceTime,
) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |a| a.id, |a| a.source_time);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|a| {
            vec![
                Val::I64(a.id),
                Val::Text(&a.name),
                Val::OptText(a.url.as_deref()),
                Val::OptI64(a.owner_id),
                Val::OptTs(a.created_at),
                Val::Ts(a.source_time),
                Val::Ts(now),
            ]
        })
        .collect();
    Upsert {
        table: "accounts",
        columns: &[
            "id",
            "name",
            "url",
            "owner_id",
            "created_at",
            "updated_at",
            "synced_at",
        ],
        conflict: "ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url, \
                   owner_id = COALESCE(excluded.owner_id, accounts.owner_id), \
                   created_at = COALESCE(excluded.created_at, accounts.created_at), \
                   updated_at = excluded.updated_at, synced_at = excluded.synced_at, \
                   deleted_at = NULL \
                   WHERE accounts.updated_at IS NULL OR accounts.updated_at <= excluded.updated_at"
            .to_owned(),
    }
    .run(conn, &values)
}

/// The name, address and owner the mirror holds for these accounts.
pub fn accounts_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, AccountHeld>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, String, Option<String>, Option<i64>)> = accounts::table
            .filter(accounts::id.eq_any(chunk))
            .filter(accounts::deleted_at.is_null())
            .select((
                accounts::id,
                accounts::name,
                accounts::url,
                accounts::owner_id,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, n, u, o)| (id, (n, u, o))));
    }
    Ok(out)
}

/// The full-pass bookkeeping of `accounts`: seen marks, deletion candidates and marks.
pub mod account_rows {
    use diesel::prelude::*;

    use crate::db::schema::accounts;
    use crate::db::DbConn;
    use crate::time::SourceTime;

    crate::mirror::deletion_tracking!(accounts, "accounts");
}

/// A contact at an account as of `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountContactState {
    /// ActiveCampaign's id of the association.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// The contact.
    pub contact_id: i64,
    /// Job title.
    pub job_title: Option<String>,
    /// When this state was true upstream.
    pub at: SourceTime,
}

/// Writes account contacts (newer wins per association); `seen_run` marks them read by that
/// full run. Returns the rows written.
pub fn upsert_account_contacts(
    conn: &mut DbConn,
    rows: &[AccountContactState],
    seen_run: Option<i64>,
    now: SourceTime,
) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |a| a.id, |a| a.at);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|a| {
            vec![
                Val::I64(a.id),
                Val::I64(a.account_id),
                Val::I64(a.contact_id),
                Val::OptText(a.job_title.as_deref()),
                Val::Ts(a.at),
                Val::Ts(now),
                Val::OptI64(seen_run),
            ]
        })
        .collect();
    Upsert {
        table: "account_contacts",
        columns: &[
            "id",
            "account_id",
            "contact_id",
            "job_title",
            "updated_at",
            "synced_at",
            "seen_run",
        ],
        conflict: versioned_conflict(
            "account_contacts",
            "id",
            &["account_id", "contact_id", "job_title", "deleted_at"],
        ),
    }
    .run(conn, &values)
}

/// A secondary contact of a deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealContactRow {
    /// ActiveCampaign's id of the association.
    pub id: i64,
    /// The deal.
    pub deal_id: i64,
    /// The contact.
    pub contact_id: i64,
    /// The contact's role on the deal.
    pub role_id: Option<i64>,
    /// When the contact was added.
    pub created_at: Option<SourceTime>,
}

/// Writes deal contacts read by full run `seen_run` (the seen mark always, the rest where it
/// changed); returns the rows written.
pub fn upsert_deal_contacts(
    conn: &mut DbConn,
    rows: &[DealContactRow],
    seen_run: i64,
    now: SourceTime,
) -> QueryResult<usize> {
    let rows = last_per_id(rows, |d| d.id);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|d| {
            vec![
                Val::I64(d.id),
                Val::I64(d.deal_id),
                Val::I64(d.contact_id),
                Val::OptI64(d.role_id),
                Val::OptTs(d.created_at),
                Val::Ts(now),
                Val::I64(seen_run),
            ]
        })
        .collect();
    let changed = "deal_contacts.deal_id <> excluded.deal_id \
                   OR deal_contacts.contact_id <> excluded.contact_id \
                   OR deal_contacts.role_id IS DISTINCT FROM excluded.role_id";
    let written = Upsert {
        table: "deal_contacts",
        columns: &[
            "id",
            "deal_id",
            "contact_id",
            "role_id",
            "created_at",
            "synced_at",
            "seen_run",
        ],
        conflict: format!(
            "ON CONFLICT (id) DO UPDATE SET deal_id = excluded.deal_id, \
             contact_id = excluded.contact_id, role_id = excluded.role_id, \
             created_at = COALESCE(excluded.created_at, deal_contacts.created_at), \
             synced_at = excluded.synced_at, seen_run = excluded.seen_run \
             WHERE {changed} OR deal_contacts.seen_run IS DISTINCT FROM excluded.seen_run"
        ),
    }
    .run(conn, &values)?;
    Ok(written)
}

/// The (deal, contact, role) the mirror holds for these deal contact ids.
pub fn deal_contacts_of(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<BTreeMap<i64, DealContactHeld>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64, i64, Option<i64>)> = deal_contacts::table
            .filter(deal_contacts::id.eq_any(chunk))
            .select((
                deal_contacts::id,
                deal_contacts::deal_id,
                deal_contacts::contact_id,
                deal_contacts::role_id,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, d, c, r)| (id, (d, c, r))));
    }
    Ok(out)
}

/// The (account, contact, job title) the mirror holds for these account contact ids, of those
/// not marked gone.
pub fn account_contacts_of(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<BTreeMap<i64, AccountContactHeld>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64, i64, Option<String>)> = account_contacts::table
            .filter(account_contacts::id.eq_any(chunk))
            .filter(account_contacts::deleted_at.is_null())
            .select((
                account_contacts::id,
                account_contacts::account_id,
                account_contacts::contact_id,
                account_contacts::job_title,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, a, c, j)| (id, (a, c, j))));
    }
    Ok(out)
}

/// A table whose rows a full run marks as it reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swept {
    /// `account_contacts`
    AccountContacts,
    /// `account_field_values`
    AccountFieldValues,
    /// `deal_field_values`
    DealFieldValues,
    /// `deal_contacts`
    DealContacts,
    /// `campaigns`
    Campaigns,
    /// `messages`
    Messages,
}

impl Swept {
    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            Swept::AccountContacts => "account_contacts",
            Swept::AccountFieldValues => "account_field_values",
            Swept::DealFieldValues => "deal_field_values",
            Swept::DealContacts => "deal_contacts",
            Swept::Campaigns => "campaigns",
            Swept::Messages => "messages",
        }
    }

    /// How a row gone upstream is kept, so that a delivery older than its removal cannot bring
    /// it back: the SQL that marks it (with one `?` for the time of the removal) and the
    /// condition of rows not so marked. `None`: the row is removed (nothing writes it but
    /// reconciliation).
    fn tombstone(self) -> Option<(&'static str, &'static str)> {
        match self {
            Swept::AccountFieldValues | Swept::DealFieldValues => Some((
                "value = '', updated_at = CASE WHEN updated_at < ? THEN ? ELSE updated_at END",
                "value <> ''",
            )),
            Swept::AccountContacts => Some((
                "deleted_at = ?, updated_at = CASE WHEN updated_at < ? THEN ? ELSE updated_at END",
                "deleted_at IS NULL",
            )),
            Swept::DealContacts | Swept::Campaigns | Swept::Messages => None,
        }
    }

    /// The condition on rows that full run `?` did not read and that nothing wrote since it
    /// started at `?` (host clock), and that are not marked gone already.
    fn unseen(self) -> String {
        let base = "(seen_run IS NULL OR seen_run <> ?) AND synced_at < ?";
        match self.tombstone() {
            Some((_, live)) => format!("{base} AND {live}"),
            None => base.to_owned(),
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many rows of `table` [`remove_unseen`] would remove or mark, and how many live rows it
/// holds.
pub fn unseen_count(
    conn: &mut DbConn,
    table: Swept,
    run_id: i64,
    started: SourceTime,
) -> QueryResult<(i64, i64)> {
    let t = table.table();
    let params = vec![Param::Val(Val::I64(run_id)), Param::Val(Val::Ts(started))];
    let unseen: Vec<Count> = Statement::new(
        format!("SELECT COUNT(*) AS n FROM {t} WHERE {}", table.unseen()),
        params,
    )
    .load(conn)?;
    let live = match table.tombstone() {
        Some((_, live)) => format!(" WHERE {live}"),
        None => String::new(),
    };
    let all: Vec<Count> =
        Statement::new(format!("SELECT COUNT(*) AS n FROM {t}{live}"), Vec::new()).load(conn)?;
    let n = |c: Vec<Count>| c.first().map_or(0, |c| c.n);
    Ok((n(unseen), n(all)))
}

/// Of the rows of `table` that full run `run_id` did not read and that nothing wrote since it
/// started, gone upstream: removes them, or marks them (see [`Swept::tombstone`]) with the
/// version `gone_as_of` (ActiveCampaign's time after the pass) unless they hold a later one.
/// Returns the rows.
pub fn remove_unseen(
    conn: &mut DbConn,
    table: Swept,
    run_id: i64,
    started: SourceTime,
    gone_as_of: SourceTime,
) -> QueryResult<usize> {
    let t = table.table();
    let (text, mut params) = match table.tombstone() {
        Some((mark, _)) => {
            let times = mark.matches('?').count();
            (
                format!("UPDATE {t} SET {mark} WHERE {}", table.unseen()),
                (0..times)
                    .map(|_| Param::Val(Val::Ts(gone_as_of)))
                    .collect(),
            )
        }
        None => (
            format!("DELETE FROM {t} WHERE {}", table.unseen()),
            Vec::new(),
        ),
    };
    params.extend([Param::Val(Val::I64(run_id)), Param::Val(Val::Ts(started))]);
    Statement::new(text, params).execute(conn)
}
