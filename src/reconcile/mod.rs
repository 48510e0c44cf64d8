//! Reconciliation: repairs what webhooks missed by reading the ActiveCampaign API.
//!
//! Incremental runs read contacts and deals changed since the last successful run's watermark
//! less [`OVERLAP`] (the API's `updated_after` filter may honour only the date, in an unknown
//! zone), plus the small dimension tables in full, and the tag associations added since then
//! (a contact's `udate` may not move when only its tags change). Full runs read everything and mark what is
//! gone upstream as deleted. Every page goes through the mirror's one write path, so an older
//! API record never overwrites a newer webhook. Each page commits with the run's checkpoint,
//! so an interrupted run resumes where it stopped. A lock keeps runs exclusive across
//! processes.

pub mod campaigns;
pub mod crm;
pub mod deletions;
pub mod dimensions;
pub mod lock;
pub mod notes;
pub mod pages;
mod passes;
mod request;
pub mod runs;
pub mod schedule;
mod tag_feed;
mod ties;

pub use request::{LogProgress, Mode, Only, Progress, RunRequest, RunSummary, StartError, Trigger};

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDateTime;

use crate::activecampaign::{ApiClient, ClientConfig, StatsSnapshot};
use crate::config::ApiSettings;
use crate::db::{blocking, Pool};
use crate::metrics::Metrics;
use crate::time::now;
use lock::RunLock;
use runs::{Checkpoint, Counters, Phase};

/// How far before the watermark an incremental run starts reading.
pub const OVERLAP: chrono::Duration = chrono::Duration::hours(25);

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
    /// Pages committed by this process, to look at planner statistics every few pages.
    pages: u64,
    /// 429s counted before this process took the run over (a resumed run's earlier part).
    base_rate_limited: i64,
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
            pages: 0,
            base_rate_limited: counters.rate_limited,
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
        self.counters.rate_limited = self.base_rate_limited + api.rate_limited as i64;
        let error = outcome.err().map(|e| format!("{e:#}"));
        let watermark = (error.is_none() && self.req.is_whole_account()).then_some(self.started_at);
        let (pool, id, counters, err_text) = (
            self.rec.pool.clone(),
            self.run_id,
            self.counters,
            error.clone(),
        );
        let finished = blocking(&pool, move |conn| {
            runs::finish(conn, id, err_text.as_deref(), &counters, watermark, now())?;
            Ok(())
        })
        .await;
        if let Err(e) = finished {
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
            return self.targeted(api_start, base_requests).await;
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
                if let Some(since) = since {
                    self.recent_tags(since, api_start, base_requests).await?;
                }
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
            if self.req.mode == Mode::Full && self.req.only.is_none() {
                let n = notes::reconcile(&self.rec, self.req.allow_mass_delete).await?;
                self.counters.add(n.fetched, n.changed, n.deleted);
            }
            if self.req.mode == Mode::Full {
                let deleted =
                    deletions::detect(&self.rec, self.run_id, self.started_at, &self.req).await?;
                self.counters.deleted += deleted as i64;
            }
            // The CRM collections cannot be read by modification time: full runs read them,
            // and so does a first run, which reads everything anyway.
            let whole = self.req.mode == Mode::Full || since.is_none();
            if whole && self.req.only.is_none() {
                let n = crm::reconcile(
                    &self.rec,
                    self.run_id,
                    self.started_at,
                    self.req.mode == Mode::Full,
                    self.req.allow_mass_delete,
                )
                .await?;
                self.counters.add(n.fetched, n.changed, n.deleted);
                let c = campaigns::reconcile(
                    &self.rec,
                    self.run_id,
                    self.started_at,
                    self.req.mode == Mode::Full,
                    self.req.allow_mass_delete,
                )
                .await?;
                self.counters.add(c.fetched, c.changed, c.deleted);
            }
            self.advance(Phase::Done, api_start, base_requests).await?;
        }
        Ok(())
    }
}
