//! Reconciliation: repairs what webhooks missed by reading the ActiveCampaign API.
//!
//! Incremental runs read contacts and deals changed since the last successful run's watermark
//! less [`OVERLAP`] (the API's `updated_after` filter may honour only the date, in an unknown
//! zone), plus the small dimension tables in full. Full runs read everything and mark what is
//! gone upstream as deleted. Every page goes through the mirror's one write path, so an older
//! API record never overwrites a newer webhook. Each page commits with the run's checkpoint,
//! so an interrupted run resumes where it stopped. A lock keeps runs exclusive across
//! processes.

pub mod deletions;
pub mod dimensions;
pub mod lock;
pub mod pages;
pub mod runs;
pub mod schedule;
pub mod service;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::activecampaign::{ApiClient, ClientConfig, StatsSnapshot};
use crate::config::ApiSettings;
use crate::db::{write_tx, Pool};
use crate::metrics::Metrics;
use crate::mirror::now;
use lock::RunLock;
use runs::{Checkpoint, Counters, Phase};

/// How far before the watermark an incremental run starts reading.
pub const OVERLAP: chrono::Duration = chrono::Duration::hours(25);

/// Incremental or full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Changes since the watermark.
    Incremental,
    /// Everything, with deletion detection.
    Full,
}

impl Mode {
    /// The `sync_runs.mode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incremental => "incremental",
            Self::Full => "full",
        }
    }
}

/// What started a run (`sync_runs.trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A cron schedule.
    Schedule,
    /// `acmirror resync`.
    Manual,
    /// `POST /admin/resync`.
    Admin,
}

impl Trigger {
    /// The `sync_runs.trigger` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
            Self::Admin => "admin",
        }
    }
}

/// Which part of the account a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Only {
    /// Contacts with their tags, field values and lists.
    Contacts,
    /// Deals.
    Deals,
    /// Tags, fields, lists, pipelines, stages.
    Dimensions,
}

/// A request for one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRequest {
    /// Incremental or full.
    #[serde(skip)]
    pub mode: Mode,
    /// What started it.
    #[serde(skip)]
    pub trigger: Trigger,
    /// Narrow to one part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<Only>,
    /// Read changes since this time instead of the watermark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Only these contacts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<i64>,
    /// Only these deals.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deals: Vec<i64>,
    /// Let a full run mark more than 10% (and more than 100) of the mirror deleted.
    #[serde(skip)]
    pub allow_mass_delete: bool,
}

impl RunRequest {
    /// A run of `mode` over everything.
    pub fn new(mode: Mode, trigger: Trigger) -> Self {
        Self {
            mode,
            trigger,
            only: None,
            since: None,
            contacts: vec![],
            deals: vec![],
            allow_mass_delete: false,
        }
    }

    fn scope(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    fn covers(&self, part: Only) -> bool {
        self.only.is_none_or(|o| o == part)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// `sync_runs.id`.
    pub run_id: i64,
    /// Incremental or full.
    pub mode: Mode,
    /// True when it resumed an interrupted run.
    pub resumed: bool,
    /// What it did.
    pub counters: Counters,
    /// 429 answers met.
    pub rate_limited: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another run holds the lock.
    #[error("another reconciliation is running against this mirror; wait for it to finish (see `acmirror status`)")]
    Busy,
    /// Set-up failed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Receives progress; the CLI draws a bar, the daemon logs.
pub trait Progress: Send + Sync {
    /// A page was committed.
    fn page(&self, part: Only, done: u64, total: Option<u64>, api: &StatsSnapshot);
}

/// Logs progress at debug level.
pub struct LogProgress;

impl Progress for LogProgress {
    fn page(&self, part: Only, done: u64, total: Option<u64>, api: &StatsSnapshot) {
        tracing::debug!(
            ?part,
            done,
            ?total,
            requests = api.requests,
            "reconciliation page committed"
        );
    }
}

/// Runs reconciliations against one mirror.
#[derive(Clone)]
pub struct Reconciler {
    pool: Pool,
    client: ApiClient,
    metrics: Arc<Metrics>,
}

/// A run that holds the lock and has its `sync_runs` row.
pub struct PreparedRun {
    rec: Reconciler,
    req: RunRequest,
    lock: RunLock,
    run_id: i64,
    started_at: NaiveDateTime,
    checkpoint: Checkpoint,
    counters: Counters,
    resumed: bool,
}

impl Reconciler {
    /// A reconciler using the configured API.
    pub fn new(pool: Pool, api: &ApiSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let mut config = ClientConfig::new(api.url.clone(), api.token.clone());
        config.rate_limit = api.rate_limit;
        let client =
            ApiClient::new(config).context("Failed to set up the ActiveCampaign client")?;
        Ok(Self {
            pool,
            client,
            metrics,
        })
    }

    /// A reconciler with a ready client (tests, simulator).
    pub fn with_client(pool: Pool, client: ApiClient, metrics: Arc<Metrics>) -> Self {
        Self {
            pool,
            client,
            metrics,
        }
    }

    /// The API client.
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// Takes the lock and creates (or resumes) the run row.
    pub async fn prepare(&self, req: RunRequest) -> Result<PreparedRun, StartError> {
        let pool = self.pool.clone();
        let scope = req.scope();
        let (mode, trigger) = (req.mode.as_str(), req.trigger.as_str());
        let prepared = tokio::task::spawn_blocking(move || -> Result<_, StartError> {
            let lock = RunLock::try_acquire(&pool)?.ok_or(StartError::Busy)?;
            let mut conn = pool.get().map_err(anyhow::Error::from)?;
            let now = now();
            let resumable =
                runs::find_resumable(&mut conn, mode, &scope, now).map_err(anyhow::Error::from)?;
            let (id, started_at, checkpoint, counters, resumed) = match resumable {
                Some(r) => {
                    runs::reopen(&mut conn, r.id, trigger, now).map_err(anyhow::Error::from)?;
                    (r.id, r.started_at, r.checkpoint, r.counters, true)
                }
                None => {
                    let id = runs::create(&mut conn, mode, trigger, &scope, now)
                        .map_err(anyhow::Error::from)?;
                    (id, now, Checkpoint::default(), Counters::default(), false)
                }
            };
            runs::fail_orphans(&mut conn, id, now).map_err(anyhow::Error::from)?;
            Ok((lock, id, started_at, checkpoint, counters, resumed))
        })
        .await
        .map_err(|e| StartError::Other(anyhow::anyhow!("run set-up panicked: {e}")))??;
        let (lock, run_id, started_at, checkpoint, counters, resumed) = prepared;
        if resumed {
            tracing::info!(run_id, phase = ?checkpoint.phase, "resuming an interrupted reconciliation");
        }
        Ok(PreparedRun {
            rec: self.clone(),
            req,
            lock,
            run_id,
            started_at,
            checkpoint,
            counters,
            resumed,
        })
    }

    /// Runs one reconciliation to the end.
    pub async fn run(
        &self,
        req: RunRequest,
        progress: &dyn Progress,
    ) -> Result<RunSummary, StartError> {
        Ok(self.prepare(req).await?.execute(progress).await)
    }
}

impl PreparedRun {
    /// The run's id.
    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    /// Runs the phases from the checkpoint on, records the outcome, releases the lock.
    pub async fn execute(mut self, progress: &dyn Progress) -> RunSummary {
        let clock = Instant::now();
        let api_start = self.rec.client.stats();
        let renewal = self.lock.renewer().map(|(pool, holder)| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lock::RENEW_EVERY).await;
                    let (p, h) = (pool.clone(), holder.clone());
                    if let Ok(Err(e)) =
                        tokio::task::spawn_blocking(move || lock::renew_lease(&p, &h)).await
                    {
                        tracing::warn!(error = %e, "failed to renew the reconciliation lease");
                    }
                }
            })
        });
        let base_requests = self.counters.api_requests;
        let outcome = self.phases(progress, &api_start, base_requests).await;
        if let Some(task) = renewal {
            task.abort();
        }
        let api = self.rec.client.stats().since(&api_start);
        self.counters.api_requests = base_requests + api.requests as i64;
        let error = outcome.err().map(|e| format!("{e:#}"));
        let watermark = (error.is_none() && self.req.scope() == "{}").then_some(self.started_at);
        let (pool, id, counters, err_text) = (
            self.rec.pool.clone(),
            self.run_id,
            self.counters,
            error.clone(),
        );
        let finished = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut conn = pool.get()?;
            runs::finish(
                &mut conn,
                id,
                err_text.as_deref(),
                &counters,
                watermark,
                now(),
            )?;
            Ok(())
        })
        .await;
        if let Ok(Err(e)) | Err(e) = finished.map_err(anyhow::Error::from) {
            tracing::error!(error = %e, run_id = id, "failed to record the end of the run");
        }
        let lock = self.lock;
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || lock.release()).await {
            tracing::warn!(error = %e, "failed to release the reconciliation lock");
        }
        let m = &self.rec.metrics;
        m.reconcile_runs.inc();
        m.api_requests.inc_by(api.requests);
        m.api_rate_limited.inc_by(api.rate_limited);
        m.records_repaired
            .inc_by(self.counters.changed.max(0) as u64 + self.counters.deleted.max(0) as u64);
        if error.is_some() {
            m.reconcile_failures.inc();
        }
        RunSummary {
            run_id: self.run_id,
            mode: self.req.mode,
            resumed: self.resumed,
            counters: self.counters,
            rate_limited: api.rate_limited,
            seconds: clock.elapsed().as_secs_f64(),
            error,
        }
    }

    async fn phases(
        &mut self,
        progress: &dyn Progress,
        api_start: &StatsSnapshot,
        base_requests: i64,
    ) -> anyhow::Result<()> {
        if !self.req.contacts.is_empty() || !self.req.deals.is_empty() {
            return self.targeted().await;
        }
        if self.checkpoint.phase == Phase::Dimensions {
            if self.req.covers(Only::Dimensions) {
                let changed = dimensions::refresh(&self.rec.pool, &self.rec.client).await?;
                self.counters.changed += changed as i64;
            }
            self.advance(Phase::Contacts, api_start, base_requests)
                .await?;
        }
        let since = self.since().await?;
        if self.checkpoint.phase == Phase::Contacts {
            if self.req.covers(Only::Contacts) {
                self.contacts(since, progress, api_start, base_requests)
                    .await?;
            }
            self.advance(Phase::Deals, api_start, base_requests).await?;
        }
        if self.checkpoint.phase == Phase::Deals {
            if self.req.covers(Only::Deals) {
                self.deals(since, progress, api_start, base_requests)
                    .await?;
            }
            self.advance(Phase::Deletions, api_start, base_requests)
                .await?;
        }
        if self.checkpoint.phase == Phase::Deletions {
            if self.req.mode == Mode::Full {
                let deleted =
                    deletions::detect(&self.rec, self.run_id, self.started_at, &self.req).await?;
                self.counters.deleted += deleted as i64;
            }
            self.advance(Phase::Done, api_start, base_requests).await?;
        }
        Ok(())
    }

    /// Where incremental reading starts: `--since`, or the watermark less the overlap.
    async fn since(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        if self.req.mode == Mode::Full {
            return Ok(None);
        }
        if let Some(s) = self.req.since {
            return Ok(Some(s));
        }
        let pool = self.rec.pool.clone();
        let mark = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            Ok(runs::last_watermark(&mut *pool.get()?)?)
        })
        .await??;
        Ok(mark.map(|m| m.and_utc() - OVERLAP))
    }

    async fn advance(
        &mut self,
        phase: Phase,
        api_start: &StatsSnapshot,
        base_requests: i64,
    ) -> anyhow::Result<()> {
        self.checkpoint.phase = phase;
        self.counters.api_requests =
            base_requests + self.rec.client.stats().since(api_start).requests as i64;
        let (pool, id, cp, counters) = (
            self.rec.pool.clone(),
            self.run_id,
            self.checkpoint.clone(),
            self.counters,
        );
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            runs::save(&mut *pool.get()?, id, &cp, &counters, now())?;
            Ok(())
        })
        .await??;
        Ok(())
    }

    /// The version for undated parts of a page: request time less a second.
    fn as_of(requested_at: DateTime<Utc>) -> NaiveDateTime {
        let secs = requested_at.timestamp() - 1;
        DateTime::from_timestamp(secs, 0)
            .unwrap_or(requested_at)
            .naive_utc()
    }

    async fn contacts(
        &mut self,
        since: Option<DateTime<Utc>>,
        progress: &dyn Progress,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        let seen = (self.req.mode == Mode::Full).then_some(self.run_id);
        let client = self.rec.client.clone();
        let fetch = |after: i64| {
            let client = client.clone();
            async move {
                let requested_at = Utc::now();
                let page = client
                    .contacts_page(after, since)
                    .await
                    .context("Failed to read contacts from the API")?;
                Ok::<_, anyhow::Error>((requested_at, page))
            }
        };
        let mut next = fetch(self.checkpoint.contacts_after).await?;
        loop {
            let (requested_at, page) = next;
            let as_of = Self::as_of(requested_at);
            self.checkpoint.contacts_after = page.last_id.unwrap_or(self.checkpoint.contacts_after);
            self.counters.fetched += page.contacts.len() as i64;
            self.counters.api_requests =
                base + self.rec.client.stats().since(api_start).requests as i64;
            let (pool, id, cp, counters) = (
                self.rec.pool.clone(),
                self.run_id,
                self.checkpoint.clone(),
                self.counters,
            );
            let is_last = page.is_last || page.contacts.is_empty();
            let total = page.total;
            let write = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                let n = write_tx(&mut conn, |c| {
                    let n =
                        pages::apply_contacts(c, &page.contacts, &page.tags, as_of, seen, now())?;
                    let counters = Counters {
                        changed: counters.changed + n as i64,
                        ..counters
                    };
                    runs::save(c, id, &cp, &counters, now())?;
                    Ok::<_, diesel::result::Error>(n)
                })?;
                Ok(n)
            });
            // The next page is read while this one is written: the key of the next request is
            // known before the write, and API time and database time then overlap instead of
            // adding up. The checkpoint still only moves with a committed page.
            let prefetch = async {
                match is_last {
                    true => None,
                    false => Some(fetch(self.checkpoint.contacts_after).await),
                }
            };
            let (written, fetched) = tokio::join!(write, prefetch);
            let changed = written??;
            self.counters.changed += changed as i64;
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

    async fn deals(
        &mut self,
        since: Option<DateTime<Utc>>,
        progress: &dyn Progress,
        api_start: &StatsSnapshot,
        base: i64,
    ) -> anyhow::Result<()> {
        let seen = (self.req.mode == Mode::Full).then_some(self.run_id);
        let mut done = 0u64;
        loop {
            let requested_at = Utc::now();
            let page = self
                .rec
                .client
                .deals_page(self.checkpoint.deals_offset, since)
                .await
                .context("Failed to read deals from the API")?;
            let as_of = Self::as_of(requested_at);
            let next = page.next_offset();
            self.checkpoint.deals_offset =
                next.unwrap_or(self.checkpoint.deals_offset + page.deals.len() as u64);
            self.counters.fetched += page.deals.len() as i64;
            done += page.deals.len() as u64;
            self.counters.api_requests =
                base + self.rec.client.stats().since(api_start).requests as i64;
            let (pool, id, cp, counters) = (
                self.rec.pool.clone(),
                self.run_id,
                self.checkpoint.clone(),
                self.counters,
            );
            let total = page.total;
            let is_last = page.is_last || page.deals.is_empty();
            let changed = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                let n = write_tx(&mut conn, |c| {
                    let n = pages::apply_deals(c, &page.deals, as_of, seen, now())?;
                    let counters = Counters {
                        changed: counters.changed + n as i64,
                        ..counters
                    };
                    runs::save(c, id, &cp, &counters, now())?;
                    Ok::<_, diesel::result::Error>(n)
                })?;
                Ok(n)
            })
            .await??;
            self.counters.changed += changed as i64;
            progress.page(
                Only::Deals,
                done,
                total,
                &self.rec.client.stats().since(api_start),
            );
            if is_last {
                return Ok(());
            }
        }
    }

    /// `--contact ID` / `--deal ID`: one request each; a 404 means deleted upstream.
    async fn targeted(&mut self) -> anyhow::Result<()> {
        for id in self.req.contacts.clone() {
            let requested_at = Utc::now();
            let found = self
                .rec
                .client
                .contact(id)
                .await
                .with_context(|| format!("Failed to read contact {id}"))?;
            self.counters.fetched += i64::from(found.is_some());
            let pool = self.rec.pool.clone();
            let as_of = Self::as_of(requested_at);
            let (changed, deleted) =
                tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
                    let mut conn = pool.get()?;
                    Ok(write_tx(&mut conn, |c| match &found {
                        Some(contact) => Ok::<_, diesel::result::Error>((
                            pages::apply_contacts(
                                c,
                                std::slice::from_ref(contact),
                                &Default::default(),
                                as_of,
                                None,
                                now(),
                            )?,
                            0,
                        )),
                        None => Ok((
                            0,
                            crate::mirror::contacts::mark_deleted(c, &[id], as_of, now())?,
                        )),
                    })?)
                })
                .await??;
            self.counters.changed += changed as i64;
            self.counters.deleted += deleted as i64;
        }
        for id in self.req.deals.clone() {
            let requested_at = Utc::now();
            let found = self
                .rec
                .client
                .deal(id)
                .await
                .with_context(|| format!("Failed to read deal {id}"))?;
            self.counters.fetched += i64::from(found.is_some());
            let pool = self.rec.pool.clone();
            let as_of = Self::as_of(requested_at);
            let (changed, deleted) =
                tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
                    let mut conn = pool.get()?;
                    Ok(write_tx(&mut conn, |c| match &found {
                        Some(deal) => Ok::<_, diesel::result::Error>((
                            pages::apply_deals(c, std::slice::from_ref(deal), as_of, None, now())?,
                            0,
                        )),
                        None => Ok((
                            0,
                            crate::mirror::deals::mark_deleted(c, &[id], as_of, now())?,
                        )),
                    })?)
                })
                .await??;
            self.counters.changed += changed as i64;
            self.counters.deleted += deleted as i64;
        }
        self.checkpoint.phase = Phase::Done;
        Ok(())
    }
}
