//! Listing stored webhook deliveries (`acmirror events`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::utc;
use crate::db::schema::webhook_events as we;
use crate::db::DbConn;
use crate::webhook::status::DeliveryStatus;

/// How many deliveries `events` lists when `--limit` is not given.
pub const DEFAULT_LIMIT: i64 = 50;

/// Which deliveries to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Only deliveries whose status is `failed`.
    pub failed_only: bool,
    /// Only deliveries of this `type`.
    pub event_type: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
    /// Include the raw body (as lossy UTF-8 text).
    pub with_body: bool,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self {
            failed_only: false,
            event_type: None,
            limit: DEFAULT_LIMIT,
            with_body: false,
        }
    }
}

/// One stored delivery. The JSON form of `events --json` is an array of these, with the
/// field names below; `body` is present only when asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// Delivery id (the `--id` of `replay`).
    pub id: i64,
    /// When it first arrived.
    pub received_at: DateTime<Utc>,
    /// When the event happened upstream (`date_time`).
    pub occurred_at: Option<DateTime<Utc>>,
    /// `type`.
    pub event_type: Option<String>,
    /// `initiated_from`.
    pub initiated_from: Option<String>,
    /// `pending`, `applied`, `ignored` or `failed`.
    pub status: String,
    /// How many identical deliveries arrived.
    pub deliveries: i32,
    /// The contact concerned.
    pub contact_id: Option<i64>,
    /// The deal concerned.
    pub deal_id: Option<i64>,
    /// Why it failed or was ignored.
    pub error: Option<String>,
    /// The raw body, lossy UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// A delivery's columns as the listing shows them (the body is read apart).
#[derive(Queryable, Selectable)]
#[diesel(table_name = we)]
struct Stored {
    id: i64,
    received_at: NaiveDateTime,
    occurred_at: Option<NaiveDateTime>,
    event_type: Option<String>,
    initiated_from: Option<String>,
    status: String,
    deliveries: i32,
    contact_id: Option<i64>,
    deal_id: Option<i64>,
    error: Option<String>,
}

/// Lists deliveries newest first.
pub fn list(conn: &mut DbConn, filter: &EventFilter) -> QueryResult<Vec<EventRow>> {
    let mut query = we::table
        .select(Stored::as_select())
        .order((we::received_at.desc(), we::id.desc()))
        .limit(filter.limit.max(0))
        .into_boxed();
    if filter.failed_only {
        query = query.filter(we::status.eq(DeliveryStatus::Failed));
    }
    if let Some(t) = &filter.event_type {
        query = query.filter(we::event_type.eq(t.clone()));
    }
    let rows: Vec<Stored> = query.load(conn)?;
    let mut events: Vec<EventRow> = rows.into_iter().map(to_event).collect();
    if filter.with_body {
        attach_bodies(conn, &mut events)?;
    }
    Ok(events)
}

fn to_event(r: Stored) -> EventRow {
    EventRow {
        id: r.id,
        received_at: utc(r.received_at),
        occurred_at: r.occurred_at.map(utc),
        event_type: r.event_type,
        initiated_from: r.initiated_from,
        status: r.status,
        deliveries: r.deliveries,
        contact_id: r.contact_id,
        deal_id: r.deal_id,
        error: r.error,
        body: None,
    }
}

/// Bodies are read separately so that the text listing never loads them.
fn attach_bodies(conn: &mut DbConn, events: &mut [EventRow]) -> QueryResult<()> {
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let bodies: Vec<(i64, Vec<u8>)> = we::table
            .filter(we::id.eq_any(chunk))
            .select((we::id, we::body))
            .load(conn)?;
        for (id, body) in bodies {
            if let Some(e) = events.iter_mut().find(|e| e.id == id) {
                e.body = Some(String::from_utf8_lossy(&body).into_owned());
            }
        }
    }
    Ok(())
}
