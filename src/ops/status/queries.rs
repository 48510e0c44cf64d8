//! The queries behind the status document. Each reads an index or a small table, never
//! the delivery bodies, so that status stays cheap on a large `webhook_events`.

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::{Counts, SyncRun, WebhookStats, RECENT_RUNS};
use crate::db::schema::{
    contact_tag_states as cts, contacts, deals, lists, tags, webhook_events as we,
};
use crate::db::DbConn;
use crate::ops::utc;
use crate::webhook::history;
use crate::webhook::status::DeliveryStatus;

pub(super) fn counts(conn: &mut DbConn) -> QueryResult<Counts> {
    Ok(Counts {
        contacts: contacts::table
            .filter(contacts::deleted_at.is_null())
            .count()
            .get_result(conn)?,
        contacts_deleted: contacts::table
            .filter(contacts::deleted_at.is_not_null())
            .count()
            .get_result(conn)?,
        deals: deals::table
            .filter(deals::deleted_at.is_null())
            .count()
            .get_result(conn)?,
        deals_deleted: deals::table
            .filter(deals::deleted_at.is_not_null())
            .count()
            .get_result(conn)?,
        tags: tags::table.count().get_result(conn)?,
        lists: lists::table.count().get_result(conn)?,
        // The contact_tags view is exactly the present rows of contact_tag_states.
        contact_tags: cts::table
            .filter(cts::present.eq(true))
            .count()
            .get_result(conn)?,
    })
}

pub(super) fn webhook_stats(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<WebhookStats> {
    let by_status: Vec<(String, i64)> = we::table
        .group_by(we::status)
        .select((we::status, count_star()))
        .load(conn)?;
    let n = |s: DeliveryStatus| {
        by_status
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let last = history::newest(conn)?;
    let oldest_pending = history::oldest_pending(conn)?;
    Ok(WebhookStats {
        last_received_at: last.as_ref().map(|(t, _)| utc(*t)),
        last_event_type: last.and_then(|(_, t)| t),
        pending: n(DeliveryStatus::Pending),
        applied: n(DeliveryStatus::Applied),
        ignored: n(DeliveryStatus::Ignored),
        failed: n(DeliveryStatus::Failed),
        oldest_pending_received_at: oldest_pending.map(utc),
        apply_lag_seconds: history::lag_seconds(oldest_pending, now.naive_utc()),
    })
}

pub(super) fn recent_runs(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<Vec<SyncRun>> {
    Ok(crate::ops::dashboard::newest_runs(conn, RECENT_RUNS, now)?
        .into_iter()
        .map(|r| SyncRun {
            id: r.id,
            mode: r.mode,
            trigger: r.trigger,
            status: r.status.to_owned(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            api_requests: r.api_requests,
            records_fetched: r.records_fetched,
            records_changed: r.records_changed,
            records_deleted: r.records_deleted,
            error: r.error,
        })
        .collect())
}
