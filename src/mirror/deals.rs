//! Deals (their notes and tasks are in [`super::notes`]).

use std::collections::HashMap;

use diesel::prelude::*;

use super::newest_per_key;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::deals;
use crate::db::DbConn;
use crate::time::SourceTime;

/// A deal as of `source_time`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DealState {
    /// ActiveCampaign's id.
    pub id: i64,
    /// Title.
    pub title: Option<String>,
    /// Value in cents.
    pub value_cents: Option<i64>,
    /// Lower-case ISO currency code.
    pub currency: Option<String>,
    /// Pipeline (deal group) id.
    pub pipeline_id: Option<i64>,
    /// Stage id.
    pub stage_id: Option<i64>,
    /// Owner (user) id.
    pub owner_id: Option<i64>,
    /// Primary contact id.
    pub contact_id: Option<i64>,
    /// 0 open, 1 won, 2 lost.
    pub status: Option<i32>,
    /// Creation time.
    pub created_at: Option<SourceTime>,
    /// The account (organisation) the deal is for.
    pub account_id: Option<i64>,
    /// Win probability in percent (the API's records only).
    pub win_probability: Option<i32>,
    /// When the next open task is due (the API's records only).
    pub next_task_at: Option<SourceTime>,
    /// When this state became true upstream.
    pub source_time: SourceTime,
}

/// The columns a deal row is written with, in [`row`]'s order.
const COLUMNS: [&str; 16] = [
    "id",
    "title",
    "value_cents",
    "currency",
    "pipeline_id",
    "stage_id",
    "owner_id",
    "contact_id",
    "status",
    "created_at",
    "updated_at",
    "deleted_at",
    "synced_at",
    "account_id",
    "win_probability",
    "next_task_at",
];

/// Which columns a state carries: deliveries have no win probability or next task date, so
/// their writes leave those as the mirror holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An API record: every column.
    Api,
    /// A webhook's deal block.
    Webhook,
}

/// The row for `state`, versioned by `updated_at` (`None` for a stub any real state replaces).
fn row(state: &DealState, updated_at: Option<SourceTime>, now: SourceTime) -> Vec<Val<'_>> {
    vec![
        Val::I64(state.id),
        Val::OptText(state.title.as_deref()),
        Val::OptI64(state.value_cents),
        Val::OptText(state.currency.as_deref()),
        Val::OptI64(state.pipeline_id),
        Val::OptI64(state.stage_id),
        Val::OptI64(state.owner_id),
        Val::OptI64(state.contact_id),
        Val::OptI32(state.status),
        Val::OptTs(state.created_at),
        Val::OptTs(updated_at),
        Val::OptTs(None),
        Val::Ts(now),
        Val::OptI64(state.account_id),
        Val::OptI32(state.win_probability),
        Val::OptTs(state.next_task_at),
    ]
}

/// Writes deals whose state is at least as new as the mirror's; returns the rows written. Of
/// states for one deal, the newest counts (the later on a tie).
pub fn upsert(
    conn: &mut DbConn,
    rows: &[DealState],
    source: Source,
    now: SourceTime,
) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |r| r.id, |r| r.source_time);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|r| row(r, Some(r.source_time), now))
        .collect();
    let replaced = [
        "title",
        "value_cents",
        "currency",
        "pipeline_id",
        "stage_id",
        "owner_id",
        "contact_id",
        "status",
        "updated_at",
        "synced_at",
        "account_id",
    ]
    .iter()
    .chain(match source {
        Source::Api => &["win_probability", "next_task_at"][..],
        Source::Webhook => &[][..],
    })
    .map(|c| format!("{c} = excluded.{c}"))
    .collect::<Vec<_>>()
    .join(", ");
    Upsert {
        table: "deals",
        columns: &COLUMNS,
        conflict: format!(
            "ON CONFLICT (id) DO UPDATE SET {replaced}, \
             created_at = COALESCE(excluded.created_at, deals.created_at), deleted_at = NULL \
             WHERE deals.updated_at IS NULL OR deals.updated_at <= excluded.updated_at"
        ),
    }
    .run(conn, &values)
}

/// Inserts deals the API shows only as permission stubs (title and status, no dates) when the
/// mirror does not know them; never touches an existing row, and any real state replaces them.
/// Of stubs for one deal, the first counts.
pub fn ensure_stubs(
    conn: &mut DbConn,
    stubs: &[(i64, String, Option<i32>)],
    now: SourceTime,
) -> QueryResult<usize> {
    let mut seen = std::collections::HashSet::with_capacity(stubs.len());
    let mut states: Vec<DealState> = stubs
        .iter()
        .filter(|(id, _, _)| seen.insert(*id))
        .map(|(id, title, status)| DealState {
            id: *id,
            title: Some(title.clone()),
            status: *status,
            ..DealState::default()
        })
        .collect();
    states.sort_unstable_by_key(|s| s.id);
    let values: Vec<Vec<Val<'_>>> = states.iter().map(|s| row(s, None, now)).collect();
    Upsert {
        table: "deals",
        columns: &COLUMNS,
        conflict: "ON CONFLICT (id) DO NOTHING".to_owned(),
    }
    .run(conn, &values)
}

/// A deal's columns as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = deals)]
struct Stored {
    id: i64,
    title: Option<String>,
    value_cents: Option<i64>,
    currency: Option<String>,
    pipeline_id: Option<i64>,
    stage_id: Option<i64>,
    owner_id: Option<i64>,
    contact_id: Option<i64>,
    status: Option<i32>,
    created_at: Option<SourceTime>,
    updated_at: Option<SourceTime>,
    account_id: Option<i64>,
    win_probability: Option<i32>,
    next_task_at: Option<SourceTime>,
}

impl From<Stored> for DealState {
    fn from(row: Stored) -> Self {
        Self {
            id: row.id,
            title: row.title,
            value_cents: row.value_cents,
            currency: row.currency,
            pipeline_id: row.pipeline_id,
            stage_id: row.stage_id,
            owner_id: row.owner_id,
            contact_id: row.contact_id,
            status: row.status,
            created_at: row.created_at,
            account_id: row.account_id,
            win_probability: row.win_probability,
            next_task_at: row.next_task_at,
            source_time: row.updated_at.unwrap_or_default(),
        }
    }
}

/// The state the mirror holds for these deal ids.
pub fn load(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, DealState>> {
    let rows: Vec<Stored> = deals::table
        .filter(deals::id.eq_any(ids))
        .select(Stored::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.into())).collect())
}

super::deletion_tracking!(deals, "deals");
