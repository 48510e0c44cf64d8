//! `/admin/resync` and `/admin/status` of `serve`: the HTTP layer's trigger, served by the
//! reconciler and the status document.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::config::Settings;
use crate::db::Pool;
use crate::http::{ResyncTrigger, TriggerError};
use crate::reconcile::{LogProgress, Mode, Reconciler, RunRequest, StartError, Trigger};

/// Serves `/admin/resync` and `/admin/status`.
pub struct AdminOps {
    pool: Pool,
    settings: Settings,
    rec: Option<Reconciler>,
}

impl AdminOps {
    /// Admin operations over this mirror; `rec` is `None` when the API is not configured.
    pub fn new(pool: Pool, settings: Settings, rec: Option<Reconciler>) -> Arc<Self> {
        Arc::new(Self {
            pool,
            settings,
            rec,
        })
    }
}

impl ResyncTrigger for AdminOps {
    fn trigger(&self, full: bool) -> BoxFuture<'static, Result<i64, TriggerError>> {
        let rec = self.rec.clone();
        Box::pin(async move {
            let rec = rec.ok_or(TriggerError::NotConfigured)?;
            let mode = if full { Mode::Full } else { Mode::Incremental };
            let run = rec
                .prepare(RunRequest::new(mode, Trigger::Admin))
                .await
                .map_err(|e| match e {
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

    fn status(&self) -> Result<serde_json::Value, String> {
        crate::ops::status::document(&self.pool, &self.settings)
    }
}
