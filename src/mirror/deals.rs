//! Deals (their notes and tasks are in [`super::notes`]).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::OnlyIf;
use super::{coalesce_ts, SourceTime, CHUNK};
use crate::db::schema::deals;
use crate::db::DbConn;
use crate::{upsert_rows, with_backend};

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
    /// When this state became true upstream.
    pub source_time: SourceTime,
}

#[derive(Insertable)]
#[diesel(table_name = deals, treat_none_as_default_value = false)]
struct NewDeal<'a> {
    id: i64,
    title: Option<&'a str>,
    value_cents: Option<i64>,
    currency: Option<&'a str>,
    pipeline_id: Option<i64>,
    stage_id: Option<i64>,
    owner_id: Option<i64>,
    contact_id: Option<i64>,
    status: Option<i32>,
    created_at: Option<SourceTime>,
    updated_at: Option<SourceTime>,
    deleted_at: Option<SourceTime>,
    synced_at: SourceTime,
}

impl<'a> NewDeal<'a> {
    /// The row for `state`, versioned by `updated_at` (`None` for a stub any real state replaces).
    fn of(state: &'a DealState, updated_at: Option<SourceTime>, now: SourceTime) -> Self {
        NewDeal {
            id: state.id,
            title: state.title.as_deref(),
            value_cents: state.value_cents,
            currency: state.currency.as_deref(),
            pipeline_id: state.pipeline_id,
            stage_id: state.stage_id,
            owner_id: state.owner_id,
            contact_id: state.contact_id,
            status: state.status,
            created_at: state.created_at,
            updated_at,
            deleted_at: None,
            synced_at: now,
        }
    }
}

/// Writes deals whose state is at least as new as the mirror's; returns the rows written.
pub fn upsert(conn: &mut DbConn, rows: &[DealState], now: SourceTime) -> QueryResult<usize> {
    let mut newest: HashMap<i64, &DealState> = HashMap::with_capacity(rows.len());
    for row in rows {
        match newest.get(&row.id) {
            Some(have) if have.source_time > row.source_time => {}
            _ => {
                newest.insert(row.id, row);
            }
        }
    }
    let mut rows: Vec<&DealState> = newest.into_values().collect();
    rows.sort_by_key(|r| r.id);
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<NewDeal<'_>> = chunk
            .iter()
            .map(|r| NewDeal::of(r, Some(r.source_time), now))
            .collect();
        written += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(deals::table)
            .values(v)
            .on_conflict(deals::id)
            .do_update()
            .set((
                deals::title.eq(excluded(deals::title)),
                deals::value_cents.eq(excluded(deals::value_cents)),
                deals::currency.eq(excluded(deals::currency)),
                deals::pipeline_id.eq(excluded(deals::pipeline_id)),
                deals::stage_id.eq(excluded(deals::stage_id)),
                deals::owner_id.eq(excluded(deals::owner_id)),
                deals::contact_id.eq(excluded(deals::contact_id)),
                deals::status.eq(excluded(deals::status)),
                deals::created_at.eq(coalesce_ts(excluded(deals::created_at), deals::created_at)),
                deals::updated_at.eq(excluded(deals::updated_at)),
                deals::deleted_at.eq(None::<SourceTime>),
                deals::synced_at.eq(excluded(deals::synced_at)),
            ))
            .only_if(
                deals::updated_at
                    .is_null()
                    .or(deals::updated_at.le(excluded(deals::updated_at)))
            ))?;
    }
    Ok(written)
}

/// Inserts deals the API shows only as permission stubs (title and status, no dates) when the
/// mirror does not know them; never touches an existing row, and any real state replaces them.
pub fn ensure_stubs(
    conn: &mut DbConn,
    stubs: &[(i64, String, Option<i32>)],
    now: SourceTime,
) -> QueryResult<usize> {
    let mut n = 0;
    for (id, title, status) in stubs {
        let stub = DealState {
            id: *id,
            title: Some(title.clone()),
            status: *status,
            ..DealState::default()
        };
        let row = NewDeal::of(&stub, None, now);
        n += with_backend!(&mut *conn, |c| diesel::insert_into(deals::table)
            .values(&row)
            .on_conflict(deals::id)
            .do_nothing()
            .execute(c))?;
    }
    Ok(n)
}

/// The state the mirror holds for these deal ids.
pub fn load(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, DealState>> {
    type Row = (
        i64,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i32>,
        Option<SourceTime>,
        Option<SourceTime>,
    );
    let rows: Vec<Row> = deals::table
        .filter(deals::id.eq_any(ids))
        .select((
            deals::id,
            deals::title,
            deals::value_cents,
            deals::currency,
            deals::pipeline_id,
            deals::stage_id,
            deals::owner_id,
            deals::contact_id,
            deals::status,
            deals::created_at,
            deals::updated_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                title,
                value_cents,
                currency,
                pipeline_id,
                stage_id,
                owner_id,
                contact_id,
                status,
                created_at,
                updated_at,
            )| {
                let state = DealState {
                    id,
                    title,
                    value_cents,
                    currency,
                    pipeline_id,
                    stage_id,
                    owner_id,
                    contact_id,
                    status,
                    created_at,
                    source_time: updated_at.unwrap_or_default(),
                };
                (id, state)
            },
        )
        .collect())
}

super::deletion_tracking!(deals, "deals");
