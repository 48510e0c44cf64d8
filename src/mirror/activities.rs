//! `contact_activities`: one row per engagement delivery, keyed by the delivery. Rows are only
//! ever added: a delivery applied again (a duplicate, a replay) writes nothing.

use diesel::QueryResult;

use crate::db::bulk::{Upsert, Val};
use crate::db::DbConn;
use crate::time::SourceTime;

/// An engagement event of a contact (or, for `sent`, of a campaign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The delivery it was built from.
    pub event_id: i64,
    /// The event type: `open`, `click`, `bounce`, `sent`, `reply`, `forward`, `share`, `sms_*`.
    pub activity_type: &'static str,
    /// The contact, when the delivery names one.
    pub contact_id: Option<i64>,
    /// The campaign.
    pub campaign_id: Option<i64>,
    /// The campaign's message.
    pub message_id: Option<i64>,
    /// The link clicked.
    pub link_url: Option<String>,
    /// What else the delivery says (see [`crate::webhook::event::Engagement::detail`]).
    pub detail: Option<String>,
    /// When it happened (the delivery's `date_time`).
    pub occurred_at: SourceTime,
}

/// Adds the activities the mirror does not hold yet; returns how many were added.
pub fn add(conn: &mut DbConn, rows: &[Activity]) -> QueryResult<usize> {
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|a| {
            vec![
                Val::I64(a.event_id),
                Val::Text(a.activity_type),
                Val::OptI64(a.contact_id),
                Val::OptI64(a.campaign_id),
                Val::OptI64(a.message_id),
                Val::OptText(a.link_url.as_deref()),
                Val::OptText(a.detail.as_deref()),
                Val::Ts(a.occurred_at),
            ]
        })
        .collect();
    Upsert {
        table: "contact_activities",
        columns: &[
            "event_id",
            "activity_type",
            "contact_id",
            "campaign_id",
            "message_id",
            "link_url",
            "detail",
            "occurred_at",
        ],
        conflict: "ON CONFLICT (event_id) DO NOTHING".to_owned(),
    }
    .run(conn, &values)
}
