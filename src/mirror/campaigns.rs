//! `campaigns` and `messages`: read whole by full reconciliations, named by engagement
//! deliveries. A row's version is ActiveCampaign's `mdate`: an older read never overwrites a
//! newer one, and a row that a delivery added (version NULL) is replaced by any read. Each
//! writer returns the rows that changed.

use diesel::prelude::*;

use super::newest_per_key;
use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{campaigns, messages};
use crate::db::DbConn;
use crate::time::SourceTime;

/// A campaign as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Campaign id (what `contact_activities.campaign_id` holds).
    pub id: i64,
    /// Name.
    pub name: String,
    /// ActiveCampaign's `type`: `single`, `recurring`, `split`, `responder`, …
    pub campaign_type: Option<String>,
    /// ActiveCampaign's numeric status.
    pub status: Option<i32>,
    /// Its message.
    pub message_id: Option<i64>,
    /// `sdate`: when it was sent.
    pub sent_at: Option<SourceTime>,
    /// `ldate`: when it was last sent.
    pub last_sent_at: Option<SourceTime>,
    /// `send_amt`: how many e-mails it sent.
    pub send_amount: Option<i64>,
    /// `cdate`
    pub created_at: Option<SourceTime>,
    /// `mdate`: the version.
    pub updated_at: Option<SourceTime>,
}

/// A campaign message's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message id (what `campaigns.message_id` and `contact_activities.message_id` hold).
    pub id: i64,
    /// Internal name.
    pub name: String,
    /// Subject line.
    pub subject: String,
    /// Sender name.
    pub from_name: String,
    /// Sender address.
    pub from_email: String,
    /// `cdate`
    pub created_at: Option<SourceTime>,
    /// `mdate`: the version.
    pub updated_at: Option<SourceTime>,
}

/// What an engagement delivery says of its campaign (`campaign[...]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignMention {
    /// `campaign[id]`
    pub id: i64,
    /// `campaign[name]`
    pub name: String,
    /// `campaign[message][id]`
    pub message_id: Option<i64>,
    /// `campaign[message][subject]`
    pub subject: Option<String>,
}

const CAMPAIGN_COLUMNS: [&str; 11] = [
    "id",
    "name",
    "campaign_type",
    "status",
    "message_id",
    "sent_at",
    "last_sent_at",
    "send_amount",
    "created_at",
    "updated_at",
    "synced_at",
];

const MESSAGE_COLUMNS: [&str; 8] = [
    "id",
    "name",
    "subject",
    "from_name",
    "from_email",
    "created_at",
    "updated_at",
    "synced_at",
];

fn campaign_row(c: &Campaign, now: SourceTime) -> Vec<Val<'_>> {
    vec![
        Val::I64(c.id),
        Val::Text(&c.name),
        Val::OptText(c.campaign_type.as_deref()),
        Val::OptI32(c.status),
        Val::OptI64(c.message_id),
        Val::OptTs(c.sent_at),
        Val::OptTs(c.last_sent_at),
        Val::OptI64(c.send_amount),
        Val::OptTs(c.created_at),
        Val::OptTs(c.updated_at),
        Val::Ts(now),
    ]
}

fn message_row(m: &Message, now: SourceTime) -> Vec<Val<'_>> {
    vec![
        Val::I64(m.id),
        Val::Text(&m.name),
        Val::Text(&m.subject),
        Val::Text(&m.from_name),
        Val::Text(&m.from_email),
        Val::OptTs(m.created_at),
        Val::OptTs(m.updated_at),
        Val::Ts(now),
    ]
}

/// `ON CONFLICT (id) DO UPDATE` of every column but the key, where the row holds no newer
/// version and something differs (so that only real changes count).
fn versioned_conflict(table: &str, columns: &[&str]) -> String {
    let data = &columns[1..columns.len() - 1];
    let set = columns[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let differs = data
        .iter()
        .map(|c| format!("{table}.{c} IS DISTINCT FROM excluded.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!(
        "ON CONFLICT (id) DO UPDATE SET {set} \
         WHERE ({table}.updated_at IS NULL OR {table}.updated_at <= excluded.updated_at) \
         AND ({differs})"
    )
}

/// Writes campaigns read from the API; of rows for one id the newest wins. Returns the rows
/// that changed.
pub fn upsert_campaigns(
    conn: &mut DbConn,
    rows: &[Campaign],
    now: SourceTime,
) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |c| c.id, |c| c.updated_at.unwrap_or_default());
    let values: Vec<Vec<Val<'_>>> = rows.iter().map(|c| campaign_row(c, now)).collect();
    Upsert {
        table: "campaigns",
        columns: &CAMPAIGN_COLUMNS,
        conflict: versioned_conflict("campaigns", &CAMPAIGN_COLUMNS),
    }
    .run(conn, &values)
}

/// Writes messages read from the API; of rows for one id the newest wins. Returns the rows
/// that changed.
pub fn upsert_messages(conn: &mut DbConn, rows: &[Message], now: SourceTime) -> QueryResult<usize> {
    let rows = newest_per_key(rows, |m| m.id, |m| m.updated_at.unwrap_or_default());
    let values: Vec<Vec<Val<'_>>> = rows.iter().map(|m| message_row(m, now)).collect();
    Upsert {
        table: "messages",
        columns: &MESSAGE_COLUMNS,
        conflict: versioned_conflict("messages", &MESSAGE_COLUMNS),
    }
    .run(conn, &values)
}

/// Adds the campaigns and messages that engagement deliveries name and the mirror does not
/// hold yet, with what the delivery says (name; subject) and no version, so that the next API
/// read replaces them; rows already held are left alone, since the API's record wins. Of
/// mentions of one campaign, the first counts. Returns the rows added.
pub fn add_unknown_campaigns(
    conn: &mut DbConn,
    mentions: &[CampaignMention],
    now: SourceTime,
) -> QueryResult<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut stubs: Vec<Campaign> = mentions
        .iter()
        .filter(|m| seen.insert(m.id))
        .map(|m| Campaign {
            id: m.id,
            name: m.name.clone(),
            campaign_type: None,
            status: None,
            message_id: m.message_id,
            sent_at: None,
            last_sent_at: None,
            send_amount: None,
            created_at: None,
            updated_at: None,
        })
        .collect();
    stubs.sort_unstable_by_key(|c| c.id);
    let mut by_message: Vec<(i64, &CampaignMention)> = mentions
        .iter()
        .filter_map(|m| Some((m.message_id?, m)))
        .collect();
    by_message.sort_by_key(|(id, _)| *id);
    let mut seen = std::collections::HashSet::new();
    let message_stubs: Vec<Message> = by_message
        .into_iter()
        .filter(|(id, _)| seen.insert(*id))
        .map(|(id, m)| Message {
            id,
            name: String::new(),
            subject: m.subject.clone().unwrap_or_default(),
            from_name: String::new(),
            from_email: String::new(),
            created_at: None,
            updated_at: None,
        })
        .collect();
    let campaign_values: Vec<Vec<Val<'_>>> = stubs.iter().map(|c| campaign_row(c, now)).collect();
    let message_values: Vec<Vec<Val<'_>>> =
        message_stubs.iter().map(|m| message_row(m, now)).collect();
    let added = Upsert {
        table: "campaigns",
        columns: &CAMPAIGN_COLUMNS,
        conflict: "ON CONFLICT (id) DO NOTHING".to_owned(),
    }
    .run(conn, &campaign_values)?;
    Ok(added
        + Upsert {
            table: "messages",
            columns: &MESSAGE_COLUMNS,
            conflict: "ON CONFLICT (id) DO NOTHING".to_owned(),
        }
        .run(conn, &message_values)?)
}

/// Records that full run `run_id` saw these campaigns upstream.
pub fn mark_campaigns_seen(conn: &mut DbConn, ids: &[i64], run_id: i64) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(crate::db::CHUNK) {
        n += diesel::update(campaigns::table.filter(campaigns::id.eq_any(chunk)))
            .set(campaigns::seen_run.eq(run_id))
            .execute(conn)?;
    }
    Ok(n)
}

/// Records that full run `run_id` saw these messages upstream.
pub fn mark_messages_seen(conn: &mut DbConn, ids: &[i64], run_id: i64) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(crate::db::CHUNK) {
        n += diesel::update(messages::table.filter(messages::id.eq_any(chunk)))
            .set(messages::seen_run.eq(run_id))
            .execute(conn)?;
    }
    Ok(n)
}
