//! `/admin/*` of `serve`: resyncs through the reconciler, replays through the running apply
//! worker, and the documents of the status command and the dashboard.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::future::BoxFuture;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::{blocking, write_tx_retrying, Pool, WriteGate};
use crate::http::{Admin, Document, ReplayTarget, TriggerError};
use crate::ops::dashboard::{self, ApiReach, Counted};
use crate::ops::replay;
use crate::reconcile::{LogProgress, Mode, Reconciler, RunRequest, StartError, Trigger};

/// How long an API check is trusted before the dashboard's next look starts another (one
/// request each time, so an open dashboard costs 12 requests an hour).
const API_CHECK_EVERY: Duration = Duration::from_secs(300);
/// After a failed check, the next one comes sooner.
const API_RECHECK_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// Longest an overview waits for a count of the mirror's rows before it answers with the
/// previous one.
const COUNT_WAIT: Duration = Duration::from_millis(50);
/// Longest a one-delivery replay waits for the apply worker.
const REPLAY_WAIT: Duration = Duration::from_secs(10);

/// What the admin operations need of the daemon.
pub struct Parts {
    /// The database.
    pub pool: Pool,
    /// The settings `serve` runs with.
    pub settings: Settings,
    /// The reconciler; `None` when the API is not configured.
    pub rec: Option<Reconciler>,
    /// SQLite's write turns.
    pub gate: WriteGate,
    /// Wakes the apply worker.
    pub applied: Arc<Notify>,
}

/// A value refreshed in the background, one refresh at a time, so that no request waits
/// longer than it chooses for a slow source (the API, a count of a large mirror).
struct Refreshed<T> {
    latest: tokio::sync::watch::Sender<Option<T>>,
    running: Arc<AtomicBool>,
}

impl<T: Clone + Send + Sync + 'static> Refreshed<T> {
    fn new() -> Self {
        Self {
            latest: tokio::sync::watch::Sender::new(None),
            running: Arc::default(),
        }
    }

    /// The latest value. When there is none or `due` says it is stale, starts `refresh` unless
    /// one runs, and waits for a new value at most `wait`. A refresh that gives `None` keeps
    /// the previous value.
    async fn get<F>(
        &self,
        due: impl FnOnce(&T) -> bool,
        wait: Duration,
        refresh: impl FnOnce() -> F,
    ) -> Option<T>
    where
        F: std::future::Future<Output = Option<T>> + Send + 'static,
    {
        let mut latest = self.latest.subscribe();
        if !latest.borrow_and_update().as_ref().is_none_or(due) {
            return latest.borrow().clone();
        }
        if !self.running.swap(true, Ordering::AcqRel) {
            let (job, sender, running) = (refresh(), self.latest.clone(), self.running.clone());
            tokio::spawn(async move {
                if let Some(value) = job.await {
                    sender.send_replace(Some(value));
                }
                running.store(false, Ordering::Release);
            });
        }
        if !wait.is_zero() {
            let _ = tokio::time::timeout(wait, latest.changed()).await;
        }
        let value = latest.borrow().clone();
        value
    }
}

/// Serves `/admin/*`; clones share one state.
#[derive(Clone)]
pub struct AdminOps(Arc<Inner>);

struct Inner {
    parts: Parts,
    webhook_url: OnceLock<String>,
    /// The last API check: when it ended and what it found.
    api: Refreshed<(Instant, ApiReach)>,
    /// The latest row counts of the mirrored tables.
    counts: Refreshed<Counted>,
}

impl AdminOps {
    /// Admin operations over this mirror.
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(Inner {
            parts,
            webhook_url: OnceLock::new(),
            api: Refreshed::new(),
            counts: Refreshed::new(),
        }))
    }

    /// The webhook URL with its secret masked, once the server is bound.
    pub fn set_webhook_url(&self, url: String) {
        let _ = self.0.webhook_url.set(url);
    }

    /// The last API check's outcome; starts a new check in the background when it is stale,
    /// so that no dashboard request waits for the API.
    async fn api_reach(&self) -> ApiReach {
        let Some(api) = self.0.parts.settings.api.clone() else {
            return ApiReach::default();
        };
        let url = Some(crate::ops::status::public_api_url(&api.url));
        let stale = |(at, last): &(Instant, ApiReach)| {
            let every = if last.reachable == Some(true) {
                API_CHECK_EVERY
            } else {
                API_RECHECK_AFTER_FAILURE
            };
            at.elapsed() >= every
        };
        let check = || async move {
            let outcome = crate::ops::status::probe_api(&api).await;
            let found = ApiReach {
                reachable: Some(outcome.is_ok()),
                checked_at: Some(Utc::now()),
                error: outcome.err(),
                ..ApiReach::default()
            };
            Some((Instant::now(), found))
        };
        let last = self.0.api.get(stale, Duration::ZERO, check).await;
        ApiReach {
            configured: true,
            url,
            ..last.map(|(_, reach)| reach).unwrap_or_default()
        }
    }

    /// The row counts for an overview: counted now when that is cheap or due (a count runs
    /// in the background, and an overview waits for it at most [`COUNT_WAIT`]), else the
    /// latest ones. A large mirror's count thus never holds up the dashboard.
    async fn table_rows(&self) -> Option<Counted> {
        let pool = self.0.parts.pool.clone();
        let count = || async move {
            let started = Instant::now();
            match blocking(&pool, |conn| Ok(dashboard::table_rows(conn)?)).await {
                Ok(tables) => Some(Counted {
                    tables,
                    at: Utc::now(),
                    took: started.elapsed(),
                }),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "could not count the mirror's rows");
                    None
                }
            }
        };
        self.0
            .counts
            .get(|c| c.due(Utc::now()), COUNT_WAIT, count)
            .await
    }

    /// Requeues one delivery, wakes the apply worker and waits for its outcome.
    async fn replay_one(&self, id: i64) -> anyhow::Result<Option<serde_json::Value>> {
        let pool = self.0.parts.pool.clone();
        let requeued = {
            let _turn = self.0.parts.gate.enter().await;
            blocking(&pool, move |conn| {
                Ok(write_tx_retrying(conn, |c| {
                    crate::webhook::worker::requeue(c, &[id])
                })?)
            })
            .await?
        };
        if requeued == 0 {
            return Ok(None);
        }
        self.0.parts.applied.notify_one();
        let deadline = Instant::now() + REPLAY_WAIT;
        loop {
            let report = blocking(&pool, move |conn| Ok(replay::outcome(conn, &[id])?)).await?;
            if report.still_pending == 0 || Instant::now() >= deadline {
                let report = replay::ReplayReport { requeued, ..report };
                return Ok(Some(serde_json::to_value(report)?));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Marks every failed delivery pending and wakes the apply worker.
    async fn replay_failed(&self) -> anyhow::Result<serde_json::Value> {
        let pool = self.0.parts.pool.clone();
        let requeued = {
            let _turn = self.0.parts.gate.enter().await;
            blocking(&pool, |conn| {
                Ok(write_tx_retrying(conn, replay::requeue_failed)?)
            })
            .await?
        };
        self.0.parts.applied.notify_one();
        Ok(serde_json::json!({ "requeued": requeued }))
    }
}

impl Admin for AdminOps {
    fn trigger(
        &self,
        full: bool,
        allow_mass_delete: bool,
    ) -> BoxFuture<'static, Result<i64, TriggerError>> {
        let rec = self.0.parts.rec.clone();
        Box::pin(async move {
            let rec = rec.ok_or(TriggerError::NotConfigured)?;
            let mode = if full { Mode::Full } else { Mode::Incremental };
            let mut request = RunRequest::new(mode, Trigger::Admin);
            request.allow_mass_delete = full && allow_mass_delete;
            let run = rec.prepare(request).await.map_err(|e| match e {
                StartError::Busy => TriggerError::Busy(e.to_string()),
                StartError::Other(e) => TriggerError::Failed(format!("{e:#}")),
            })?;
            let id = run.run_id();
            tokio::spawn(async move {
                let summary = run.execute(&LogProgress).await;
                tracing::info!(run_id = summary.run_id, error = ?summary.error, "admin reconciliation finished");
            });
            Ok(id)
        })
    }

    fn document(&self, which: Document) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        let ops = self.clone();
        Box::pin(async move {
            let (pool, settings) = (ops.0.parts.pool.clone(), ops.0.parts.settings.clone());
            if which == Document::Status {
                return tokio::task::spawn_blocking(move || {
                    crate::ops::status::document(&pool, &settings)
                })
                .await
                .map_err(|e| format!("the status document panicked: {e}"))?;
            }
            let (api, counted) = match which {
                Document::Overview => (ops.api_reach().await, ops.table_rows().await),
                _ => (ApiReach::default(), None),
            };
            let webhook_url = ops.0.webhook_url.get().cloned();
            blocking(&pool, move |conn| {
                let now = Utc::now();
                Ok(match which {
                    Document::Status => unreachable!("answered above"),
                    Document::Overview => serde_json::to_value(dashboard::overview(
                        conn,
                        &settings,
                        webhook_url,
                        api,
                        counted,
                        now,
                    )?)?,
                    Document::DeliveriesPerMinute => {
                        serde_json::to_value(dashboard::per_minute(conn, now)?)?
                    }
                    Document::ApplyHistory => {
                        serde_json::to_value(dashboard::apply_history(conn, now)?)?
                    }
                    Document::Runs => {
                        serde_json::json!({ "runs": dashboard::runs(conn, now)? })
                    }
                    Document::Failed { before } => {
                        serde_json::to_value(dashboard::failed(conn, before)?)?
                    }
                })
            })
            .await
            .map_err(|e| format!("{e:#}"))
        })
    }

    fn replay(
        &self,
        target: ReplayTarget,
    ) -> BoxFuture<'static, Result<Option<serde_json::Value>, String>> {
        let ops = self.clone();
        Box::pin(async move {
            match target {
                ReplayTarget::One(id) => ops.replay_one(id).await,
                ReplayTarget::AllFailed => ops.replay_failed().await.map(Some),
            }
            .map_err(|e| format!("{e:#}"))
        })
    }
}
