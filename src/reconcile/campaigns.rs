//! Campaigns and messages, read whole by full runs (and by a first run).
//!
//! Neither `/campaigns` nor `/messages` documents a filter by modification time, so a full run
//! reads every page of both (100 records per request) and writes each page in its own
//! transaction through the versioned writers of [`crate::mirror::campaigns`], marking what it
//! saw. Afterwards, rows it did not see and that nothing wrote since the run started were
//! deleted upstream and are removed. An account whose plan has no campaigns answers 403: the
//! pass then warns and leaves that table alone.

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::deletions::guard;
use super::Reconciler;
use crate::activecampaign::{self as ac, ApiError};
use diesel::QueryResult;

use crate::db::{blocking, write_tx_retrying, DbConn};
use crate::mirror::campaigns::{self, Campaign, Message};
use crate::mirror::crm::{self, Swept};
use crate::time::now;

/// What the pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignsOutcome {
    /// Campaigns and messages read from the API.
    pub fetched: usize,
    /// Rows whose mirrored state changed.
    pub changed: usize,
    /// Rows removed (deleted upstream).
    pub deleted: usize,
}

fn utc(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

fn campaign(c: ac::Campaign) -> Campaign {
    Campaign {
        id: c.id,
        name: c.name,
        campaign_type: c.campaign_type,
        status: c.status,
        message_id: c.message_id,
        sent_at: utc(c.sdate),
        last_sent_at: utc(c.ldate),
        send_amount: c.send_amt,
        created_at: utc(c.cdate),
        updated_at: utc(c.mdate),
    }
}

fn message(m: ac::Message) -> Message {
    Message {
        id: m.id,
        name: m.name,
        subject: m.subject,
        from_name: m.from_name,
        from_email: m.from_email,
        created_at: utc(m.cdate),
        updated_at: utc(m.mdate),
    }
}

/// How one endpoint's pass ended.
enum Read {
    /// Every page was read and written: `(fetched, changed)`.
    Complete(usize, usize),
    /// The API refused the endpoint (403); nothing more was read from it.
    Forbidden,
}

/// The two collections.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Campaigns,
    Messages,
}

/// One page's records, converted for the mirror.
enum Rows {
    Campaigns(Vec<Campaign>),
    Messages(Vec<Message>),
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Campaigns => "campaigns",
            Endpoint::Messages => "messages",
        }
    }

    /// The page at `offset`: its rows, first id and whether it is the last.
    async fn page(
        self,
        client: &ac::ApiClient,
        offset: u64,
    ) -> Result<(Rows, usize, Option<i64>, bool), ApiError> {
        Ok(match self {
            Endpoint::Campaigns => {
                let p = client.campaigns_page(offset).await?;
                let (len, first) = (p.items.len(), p.items.first().map(|c| c.id));
                let rows = p.items.into_iter().map(campaign).collect();
                (Rows::Campaigns(rows), len, first, p.is_last)
            }
            Endpoint::Messages => {
                let p = client.messages_page(offset).await?;
                let (len, first) = (p.items.len(), p.items.first().map(|m| m.id));
                let rows = p.items.into_iter().map(message).collect();
                (Rows::Messages(rows), len, first, p.is_last)
            }
        })
    }
}

/// Writes one page and marks its rows seen by run `run_id`; returns the rows changed.
fn write(c: &mut DbConn, rows: &Rows, run_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    match rows {
        Rows::Campaigns(rows) => {
            let changed = campaigns::upsert_campaigns(c, rows, at)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            campaigns::mark_campaigns_seen(c, &ids, run_id)?;
            Ok(changed)
        }
        Rows::Messages(rows) => {
            let changed = campaigns::upsert_messages(c, rows, at)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            campaigns::mark_messages_seen(c, &ids, run_id)?;
            Ok(changed)
        }
    }
}

/// Reads every page of one endpoint and writes each in its own transaction.
async fn pass(rec: &Reconciler, endpoint: Endpoint, run_id: i64) -> anyhow::Result<Read> {
    let what = endpoint.name();
    let (mut offset, mut fetched, mut changed) = (0u64, 0usize, 0usize);
    let mut previous_first: Option<i64> = None;
    loop {
        let (rows, len, first, is_last) = match endpoint.page(&rec.client, offset).await {
            Ok(page) => page,
            Err(e) if e.is_forbidden() => {
                tracing::warn!(
                    error = %e,
                    "the API refuses {what} to this token (a plan without campaigns?); \
                     {what} are not mirrored and nothing is removed from them"
                );
                return Ok(Read::Forbidden);
            }
            Err(e) => return Err(e).with_context(|| format!("Failed to read {what} from the API")),
        };
        // A server that ignores `offset` would otherwise be read forever.
        if len == ac::PAGE_SIZE && previous_first.is_some() && first == previous_first {
            anyhow::bail!(
                "Failed to read {what} from the API: offset {offset} returned the previous page again"
            );
        }
        previous_first = first;
        fetched += len;
        changed += blocking(&rec.pool, move |conn| {
            Ok(write_tx_retrying(conn, |c| write(c, &rows, run_id, now()))?)
        })
        .await
        .with_context(|| format!("Failed to write {what} to the mirror"))?;
        if is_last {
            return Ok(Read::Complete(fetched, changed));
        }
        offset += len as u64;
    }
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
) -> anyhow::Result<CampaignsOutcome> {
    let read_campaigns = pass(rec, Endpoint::Campaigns, run_id).await?;
    let read_messages = pass(rec, Endpoint::Messages, run_id).await?;
    let mut outcome = CampaignsOutcome::default();
    let mut complete = (false, false);
    for (read, done) in [
        (read_campaigns, &mut complete.0),
        (read_messages, &mut complete.1),
    ] {
        if let Read::Complete(fetched, changed) = read {
            outcome.fetched += fetched;
            outcome.changed += changed;
            *done = true;
        }
    }
    if !remove {
        return Ok(outcome);
    }
    for (table, done) in [
        (Swept::Campaigns, complete.0),
        (Swept::Messages, complete.1),
    ] {
        if !done {
            continue;
        }
        let (unseen, all) = blocking(&rec.pool, move |conn| {
            Ok(crm::unseen_count(conn, table, run_id, started_at)?)
        })
        .await?;
        guard(table.table(), unseen as usize, all, allow_mass_delete)?;
        outcome.deleted += blocking(&rec.pool, move |conn| {
            Ok(write_tx_retrying(conn, |c| {
                crm::remove_unseen(c, table, run_id, started_at, started_at)
            })?)
        })
        .await
        .context("Failed to remove campaigns and messages deleted upstream")?;
    }
    Ok(outcome)
}
