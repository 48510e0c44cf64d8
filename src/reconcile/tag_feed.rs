//! The incremental run's tag pass: tag associations added since the mark, newest first.
//!
//! Whether a contact's `udate` moves when only its tags change is not documented, so the
//! contacts read by `filters[updated_after]` may not include a contact that only gained a
//! tag. `/contactTags?orders[cdate]=DESC` lists associations newest first; reading it until
//! `cdate` falls before the mark finds every tag added since, at one request per 100
//! associations. Each addition is versioned by its own `cdate`, an upstream time.

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::runs::Phase;
use super::PreparedRun;
use crate::activecampaign::StatsSnapshot;
use crate::db::DbConn;
use crate::mirror::tag_additions;

impl PreparedRun {
    /// Adds the tags associated with contacts at or after `since`. Runs inside the contacts
    /// phase; an interrupted run reads the list again from the top, which is harmless.
    pub(super) async fn recent_tags(
        &mut self,
        since: DateTime<Utc>,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        debug_assert_eq!(self.checkpoint.phase, Phase::Contacts);
        // The list comes newest first, but additions must be applied oldest first: each moves
        // its contact's tag-set version up to its own time, which would refuse an older
        // addition of the same contact applied after it. So the window is read whole first
        // (32 bytes per association added since the mark), then written in chunks.
        let mut found: Vec<(i64, i64, NaiveDateTime)> = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = self
                .rec
                .client
                .tag_associations_newest_first(offset)
                .await
                .context("Failed to read recent tag associations from the API")?;
            let reached_mark = page.items.iter().any(|a| a.added_at < since);
            found.extend(
                page.items
                    .iter()
                    .filter(|a| a.added_at >= since)
                    .map(|a| (a.contact_id, a.tag_id, a.added_at.naive_utc())),
            );
            if reached_mark || page.is_last || page.len == 0 {
                break;
            }
            offset += page.len as u64;
        }
        self.counters.fetched += found.len() as i64;
        found.sort_by_key(|(contact, tag, at)| (*at, *contact, *tag));
        found.dedup();
        for chunk in found.chunks(WRITE_CHUNK) {
            let chunk = chunk.to_vec();
            self.commit(move |c| apply(c, &chunk), api_start, base)
                .await?;
        }
        Ok(())
    }
}

/// Associations written per transaction.
const WRITE_CHUNK: usize = 500;

/// Adds a chunk of associations, oldest first; returns (tags added, 0).
fn apply(
    c: &mut DbConn,
    found: &[(i64, i64, NaiveDateTime)],
) -> diesel::QueryResult<(usize, usize)> {
    let mut tag_ids: Vec<i64> = found.iter().map(|(_, t, _)| *t).collect();
    tag_ids.sort_unstable();
    tag_ids.dedup();
    let names = tag_additions::names_by_id(c, &tag_ids)?;
    // A tag the mirror has no name for was deleted upstream (its associations stay listed) or
    // created after the dimension refresh: the next run sees it.
    let rows: Vec<(i64, String, NaiveDateTime)> = found
        .iter()
        .filter_map(|(id, t, at)| names.get(t).map(|n| (*id, n.clone(), *at)))
        .collect();
    Ok((tag_additions::add(c, &rows)?, 0))
}
