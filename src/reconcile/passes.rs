//! The passes of a run: contacts and deals page by page, single records, and the bookkeeping
//! that commits each page together with the run's checkpoint.

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;

use std::sync::{Arc, Mutex};

use super::runs::{self, Counters, Phase};
use super::{pages, Mode, Only, PreparedRun, Progress, OVERLAP};
use crate::activecampaign::{ApiClient, ApiError, ContactsPage, PageSizer, StatsSnapshot};
use crate::db::{blocking, statistics, write_tx_retrying, DbConn};
use crate::mirror::{contacts, deals};
use crate::time::now;

/// Pages between two looks at the planner statistics of the tables a run fills (see
/// [`statistics`]): 2,000 records.
const STATISTICS_EVERY: u64 = 20;

/// The version for undated parts of a page (tag sets, memberships, values without a time of
/// their own): the second before ActiveCampaign served it, by ActiveCampaign's clock (the
/// response's `Date`), never the host's, which may be minutes off.
///
/// `Date` has one-second resolution and is written when the response is ready, at or just
/// after the read. A change made after the read is dated at least the read's second, which
/// is at least `Date` less one second, so its webhook is never older than this version and
/// wins (equal times: the later arrival wins; a strictly later one wins in any order). A
/// change made two or more seconds before `Date` is older and loses; one made within the
/// second before the read may still win, which at worst re-applies a state a moment older
/// than the page's until the next run, and never drops a change.
pub(super) fn as_of(served_at: DateTime<Utc>) -> NaiveDateTime {
    let secs = served_at.timestamp() - 1;
    DateTime::from_timestamp(secs, 0)
        .unwrap_or(served_at)
        .naive_utc()
}

/// Reads the contacts page after `after`, as many contacts as the connection carries: a page
/// that times out or comes back cut off is asked for again with half as many (down to one),
/// and the size grows back after pages go through. Returns the request time with the page.
async fn fetch_contacts(
    client: &ApiClient,
    sizer: &Mutex<PageSizer>,
    after: i64,
    since: Option<DateTime<Utc>>,
) -> anyhow::Result<(DateTime<Utc>, ContactsPage)> {
    let lock = || sizer.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let size = lock().size();
        match client.contacts_page_sized(after, since, size).await {
            Ok(page) => {
                lock().succeeded();
                return Ok((page.served_at, page));
            }
            Err(e @ ApiError::PageTooHeavy { .. }) => match lock().failed() {
                Some(smaller) => tracing::warn!(
                    after_id = after, size, next_size = smaller, error = %e,
                    "a contacts page did not come back whole, asking for fewer contacts"
                ),
                None => {
                    return Err(e).context(format!(
                        "Failed to read the contact after id {after} even alone"
                    ))
                }
            },
            Err(e) => return Err(e).context("Failed to read contacts from the API"),
        }
    }
}

impl PreparedRun {
    /// Where incremental reading starts: `--since`, or the watermark less the overlap.
    pub(super) async fn since(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        if self.req.mode == Mode::Full {
            return Ok(None);
        }
        if let Some(s) = self.req.since {
            return Ok(Some(s));
        }
        let pool = self.rec.pool.clone();
        let mark = blocking(&pool, |conn| Ok(runs::last_watermark(conn)?)).await?;
        Ok(mark.map(|m| m.and_utc() - OVERLAP))
    }

    fn count_requests(&mut self, api_start: &StatsSnapshot, base: i64) {
        let api = self.rec.client.stats().since(api_start);
        self.counters.api_requests = base + api.requests as i64;
        self.counters.rate_limited = self.base_rate_limited + api.rate_limited as i64;
    }

    /// Moves the checkpoint to `phase` and commits it.
    pub(super) async fn advance(
        &mut self,
        phase: Phase,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        self.checkpoint.phase = phase;
        self.commit(|_| Ok((0, 0)), api_start, base).await
    }

    /// Starts writing what `apply` writes (returning records changed and deleted) together
    /// with the checkpoint, in one transaction, so that a resumed run never redoes or skips a
    /// committed page. [`PreparedRun::finish_commit`] takes the result.
    fn start_commit<F>(
        &mut self,
        apply: F,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> tokio::task::JoinHandle<anyhow::Result<(usize, usize)>>
    where
        F: Fn(&mut DbConn) -> QueryResult<(usize, usize)> + Send + 'static,
    {
        self.count_requests(api_start, base);
        self.pages += 1;
        let look_at_statistics = self.pages % STATISTICS_EVERY == 0;
        let (pool, id, cp, counters) = (
            self.rec.pool.clone(),
            self.run_id,
            self.checkpoint.clone(),
            self.counters,
        );
        tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
            let mut conn = pool.get()?;
            let written = write_tx_retrying(&mut conn, |c| {
                let (changed, deleted) = apply(c)?;
                let counters = Counters {
                    changed: counters.changed + changed as i64,
                    deleted: counters.deleted + deleted as i64,
                    ..counters
                };
                runs::save(c, id, &cp, &counters, now())?;
                Ok((changed, deleted))
            })?;
            if look_at_statistics {
                statistics::refresh_logged(&mut conn);
            }
            Ok(written)
        })
    }

    fn finish_commit(&mut self, (changed, deleted): (usize, usize)) {
        self.counters.changed += changed as i64;
        self.counters.deleted += deleted as i64;
    }

    /// Writes what `apply` writes and the checkpoint, and waits for the commit.
    pub(super) async fn commit<F>(
        &mut self,
        apply: F,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()>
    where
        F: Fn(&mut DbConn) -> QueryResult<(usize, usize)> + Send + 'static,
    {
        let result = self.start_commit(apply, api_start, base).await??;
        self.finish_commit(result);
        Ok(())
    }

    /// Every contact (or those changed since `since`), 100 per request with their tags, field
    /// values and list memberships. The next page is read while this one is written: its key is
    /// known before the write, so API time and database time overlap instead of adding up; the
    /// checkpoint still moves only with a committed page.
    pub(super) async fn contacts(
        &mut self,
        since: Option<DateTime<Utc>>,
        progress: &dyn Progress,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        let seen = (self.req.mode == Mode::Full).then_some(self.run_id);
        let client = self.rec.client.clone();
        // Owned by one fetch at a time: pages are read one after another.
        let sizer = Arc::new(Mutex::new(PageSizer::default()));
        let fetch = |after: i64| {
            let (client, sizer) = (client.clone(), sizer.clone());
            async move { fetch_contacts(&client, &sizer, after, since).await }
        };
        let mut next = fetch(self.checkpoint.contacts_after).await?;
        loop {
            let (served_at, page) = next;
            let at = as_of(served_at);
            self.checkpoint.contacts_after = page.last_id.unwrap_or(self.checkpoint.contacts_after);
            self.counters.fetched += page.contacts.len() as i64;
            let (is_last, total, after) = (
                page.is_last || page.contacts.is_empty(),
                page.total,
                self.checkpoint.contacts_after,
            );
            let write = self.start_commit(
                move |c| {
                    Ok((
                        pages::apply_contacts(c, &page.contacts, &page.tags, at, seen, now())?,
                        0,
                    ))
                },
                api_start,
                base,
            );
            let prefetch = async {
                match is_last {
                    true => None,
                    false => Some(fetch(after).await),
                }
            };
            let (written, fetched) = tokio::join!(write, prefetch);
            self.finish_commit(written??);
            progress.page(
                Only::Contacts,
                self.counters.fetched as u64,
                total,
                &self.rec.client.stats().since(api_start),
            );
            match fetched {
                None => return Ok(()),
                Some(fetched) => next = fetched?,
            }
        }
    }

    /// Every deal (or those changed since `since`), 100 per request, then the seconds whose
    /// tied deals offset paging skipped (see [`super::ties`]).
    pub(super) async fn deals(
        &mut self,
        since: Option<DateTime<Utc>>,
        progress: &dyn Progress,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        let seen = (self.req.mode == Mode::Full).then_some(self.run_id);
        let mut done = 0u64;
        let mut tally = super::ties::Tally::default();
        loop {
            let page = self
                .rec
                .client
                .deals_page(self.checkpoint.deals_offset, since)
                .await
                .context("Failed to read deals from the API")?;
            let at = as_of(page.served_at);
            self.checkpoint.deals_offset = page
                .next_offset()
                .unwrap_or(self.checkpoint.deals_offset + page.deals.len() as u64);
            self.counters.fetched += page.deals.len() as i64;
            done += page.deals.len() as u64;
            let (is_last, total) = (page.is_last || page.deals.is_empty(), page.total);
            tally.page(&page.deals, total);
            self.commit(
                move |c| Ok((pages::apply_deals(c, &page.deals, at, seen, now())?, 0)),
                api_start,
                base,
            )
            .await?;
            progress.page(
                Only::Deals,
                done,
                total,
                &self.rec.client.stats().since(api_start),
            );
            if is_last {
                break;
            }
        }
        self.repair_ties(tally, since, api_start, base).await?;
        Ok(())
    }

    /// `--contact ID` / `--deal ID`: one request each; a 404 means deleted upstream.
    pub(super) async fn targeted(
        &mut self,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        for id in self.req.contacts.clone() {
            let found = self
                .rec
                .client
                .contact(id)
                .await
                .with_context(|| format!("Failed to read contact {id}"))?;
            self.counters.fetched += i64::from(found.is_some());
            let at = as_of(self.rec.client.upstream_now());
            self.commit(
                move |c| match &found {
                    Some(contact) => Ok((
                        pages::apply_contacts(
                            c,
                            std::slice::from_ref(contact),
                            &Default::default(),
                            at,
                            None,
                            now(),
                        )?,
                        0,
                    )),
                    None => Ok((0, contacts::mark_deleted(c, &[id], at, now())?)),
                },
                api_start,
                base,
            )
            .await?;
        }
        for id in self.req.deals.clone() {
            let found = self
                .rec
                .client
                .deal(id)
                .await
                .with_context(|| format!("Failed to read deal {id}"))?;
            self.counters.fetched += i64::from(found.is_some());
            let at = as_of(self.rec.client.upstream_now());
            self.commit(
                move |c| match &found {
                    Some(deal) => Ok((
                        pages::apply_deals(c, std::slice::from_ref(deal), at, None, now())?,
                        0,
                    )),
                    None => Ok((0, deals::mark_deleted(c, &[id], at, now())?)),
                },
                api_start,
                base,
            )
            .await?;
        }
        self.checkpoint.phase = Phase::Done;
        Ok(())
    }
}
