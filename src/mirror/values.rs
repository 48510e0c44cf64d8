//! Per-contact custom field values and list memberships, each versioned on its own.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::newest_per_key;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{contact_field_values as cfv, contact_lists as cl};
use crate::db::DbConn;
use crate::time::SourceTime;

/// Writes field values `(contact, field, value, as of)`, in arrival order, repeats allowed: of
/// the values for one (contact, field) the newest is written (of equal times, the later
/// given), and a value held with a newer version stays. Returns the rows written.
pub fn upsert_field_values(
    conn: &mut DbConn,
    values: &[(i64, i64, String, SourceTime)],
) -> QueryResult<usize> {
    let rows: Vec<Vec<Val<'_>>> = newest_per_key(values, |r| (r.0, r.1), |r| r.3)
        .into_iter()
        .map(|(contact, field, value, at)| {
            vec![
                Val::I64(*contact),
                Val::I64(*field),
                Val::Text(value),
                Val::Ts(*at),
            ]
        })
        .collect();
    Upsert {
        table: "contact_field_values",
        columns: &["contact_id", "field_id", "value", "updated_at"],
        conflict: "ON CONFLICT (contact_id, field_id) DO UPDATE SET value = excluded.value, \
                   updated_at = excluded.updated_at \
                   WHERE contact_field_values.updated_at <= excluded.updated_at"
            .to_owned(),
    }
    .run(conn, &rows)
}

/// A contact's membership of a list as of `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The contact.
    pub contact: i64,
    /// The list.
    pub list: i64,
    /// 0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced.
    pub status: i32,
    /// When the contact subscribed, when the source says.
    pub subscribed_at: Option<SourceTime>,
    /// When the contact unsubscribed; `None` while subscribed.
    pub unsubscribed_at: Option<SourceTime>,
    /// Why the contact unsubscribed, when it said.
    pub unsubscribe_reason: Option<String>,
    /// When this state was true upstream.
    pub at: SourceTime,
}

/// Which source a membership comes from: the API's record is whole; a subscribe delivery knows
/// the subscription time only of a new membership, so the time the mirror holds stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipSource {
    /// `contactLists` records.
    Api,
    /// `subscribe` and `unsubscribe` deliveries.
    Webhook,
}

/// Writes list memberships given in arrival order, repeats allowed: of the rows for one
/// (contact, list) the newest is written (of equal times, the later given), and a membership
/// held with a newer version stays. Returns the rows written.
pub fn upsert_memberships(
    conn: &mut DbConn,
    rows: &[Membership],
    source: MembershipSource,
) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |m| (m.contact, m.list), |m| m.at);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|m| {
            vec![
                Val::I64(m.contact),
                Val::I64(m.list),
                Val::I32(m.status),
                Val::Ts(m.at),
                Val::OptTs(m.subscribed_at),
                Val::OptTs(m.unsubscribed_at),
                Val::OptText(m.unsubscribe_reason.as_deref()),
            ]
        })
        .collect();
    let subscribed = match source {
        MembershipSource::Api => "excluded.subscribed_at",
        MembershipSource::Webhook => {
            "COALESCE(contact_lists.subscribed_at, excluded.subscribed_at)"
        }
    };
    Upsert {
        table: "contact_lists",
        columns: &[
            "contact_id",
            "list_id",
            "status",
            "updated_at",
            "subscribed_at",
            "unsubscribed_at",
            "unsubscribe_reason",
        ],
        conflict: format!(
            "ON CONFLICT (contact_id, list_id) DO UPDATE SET status = excluded.status, \
             updated_at = excluded.updated_at, subscribed_at = {subscribed}, \
             unsubscribed_at = excluded.unsubscribed_at, \
             unsubscribe_reason = excluded.unsubscribe_reason \
             WHERE contact_lists.updated_at <= excluded.updated_at"
        ),
    }
    .run(conn, &values)
}

/// Field values held for these contacts: `(contact, field) → value`.
/// Ordered by key, so that one contact's values are a range.
pub fn field_values_of(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<BTreeMap<(i64, i64), String>> {
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
