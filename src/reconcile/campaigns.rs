//! Campaigns and messages, read whole by full runs (and by a first run).
//!
//! Neither `/campaigns` nor `/messages` documents a filter by modification time, so a full run
//! reads every page of both (100 records per request) and writes each page in its own
//! transaction through the versioned writers of [`crate::mirror::campaigns`], marking what it
//! saw. Afterwards, rows it did not see and that nothing wrote since the run started were
//! deleted upstream and are removed. An account whose plan has no campaigns answers 403: the
//! pass then warns and leaves that table alone.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::crm::{each_page, sweep, CrmOutcome, Read};
use super::Reconciler;
use crate::activecampaign as ac;
use crate::db::DbConn;
use crate::mirror::campaigns::{self, Campaign, Message};
use crate::mirror::crm::Swept;
use crate::time::{now, source_time, SourceTime};

fn campaign(c: &ac::Campaign) -> Campaign {
    Campaign {
        id: c.id,
        name: c.name.clone(),
        campaign_type: c.campaign_type.clone(),
        status: c.status,
        message_id: c.message_id,
        sent_at: source_time(c.sdate),
        last_sent_at: source_time(c.ldate),
        send_amount: c.send_amt,
        created_at: source_time(c.cdate),
        updated_at: source_time(c.mdate),
    }
}

fn message(m: &ac::Message) -> Message {
    Message {
        id: m.id,
        name: m.name.clone(),
        subject: m.subject.clone(),
        from_name: m.from_name.clone(),
        from_email: m.from_email.clone(),
        created_at: source_time(m.cdate),
        updated_at: source_time(m.mdate),
    }
}

/// Writes a page of campaigns and marks them seen by run `run_id`; returns the rows changed.
fn write_campaigns(
    c: &mut DbConn,
    page: &[ac::Campaign],
    _: SourceTime,
    run_id: i64,
) -> QueryResult<usize> {
    let rows: Vec<Campaign> = page.iter().map(campaign).collect();
    let changed = campaigns::upsert_campaigns(c, &rows, now())?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    campaigns::mark_campaigns_seen(c, &ids, run_id)?;
    Ok(changed)
}

/// Writes a page of messages and marks them seen by run `run_id`; returns the rows changed.
fn write_messages(
    c: &mut DbConn,
    page: &[ac::Message],
    _: SourceTime,
    run_id: i64,
) -> QueryResult<usize> {
    let rows: Vec<Message> = page.iter().map(message).collect();
    let changed = campaigns::upsert_messages(c, &rows, now())?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    campaigns::mark_messages_seen(c, &ids, run_id)?;
    Ok(changed)
}

/// Reads every campaign, then every message, writes them, and in a full run (`remove`)
/// removes what run `run_id` (started at `started_at`, host clock) did not see, under the
/// mass-deletion guard.
pub async fn reconcile(
    rec: &Reconciler,
    run_id: i64,
    started_at: NaiveDateTime,
    remove: bool,
    allow_mass_delete: bool,
) -> anyhow::Result<CrmOutcome> {
    let client = rec.client.clone();
    let read_campaigns = each_page(
        rec,
        "campaigns",
        |o| client.campaigns_page(o),
        write_campaigns,
        run_id,
    )
    .await?;
    let read_messages = each_page(
        rec,
        "messages",
        |o| client.messages_page(o),
        write_messages,
        run_id,
    )
    .await?;
    let mut outcome = CrmOutcome::default();
    for read in [read_campaigns, read_messages] {
        let (fetched, changed) = read.counts();
        outcome.fetched += fetched;
        outcome.changed += changed;
    }
    if !remove {
        return Ok(outcome);
    }
    for (table, read) in [
        (Swept::Campaigns, read_campaigns),
        (Swept::Messages, read_messages),
    ] {
        if read != Read::Forbidden {
            outcome.deleted += sweep(rec, table, run_id, started_at, allow_mass_delete).await?;
        }
    }
    Ok(outcome)
}
