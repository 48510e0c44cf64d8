//! Cron schedules for reconciliation, and resuming a run interrupted by a crash.
//!
//! Each schedule is a loop that never dies from one failed run. With several replicas, the
//! lock lets one run at a time and a tick already served by another replica is skipped.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{runs, LogProgress, Mode, Reconciler, RunRequest, RunSummary, StartError, Trigger};

fn log_summary(s: &RunSummary) {
    match &s.error {
        None => tracing::info!(
            run_id = s.run_id,
            mode = s.mode.as_str(),
            requests = s.counters.api_requests,
            fetched = s.counters.fetched,
            changed = s.counters.changed,
            deleted = s.counters.deleted,
            seconds = s.seconds,
            "reconciliation finished"
        ),
        Some(e) => {
            tracing::error!(run_id = s.run_id, mode = s.mode.as_str(), error = %e, "reconciliation failed; the next run resumes from the last committed page")
        }
    }
}

/// Runs one scheduled reconciliation unless another replica served this tick or holds the
/// lock. Returns when the run ends or `shutdown` fires (the run then resumes at next start).
pub async fn run_once(
    rec: &Reconciler,
    mode: Mode,
    tick: chrono::NaiveDateTime,
    shutdown: &CancellationToken,
) {
    let pool = rec.pool.clone();
    let served = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        Ok(runs::scheduled_since(
            &mut *pool.get()?,
            mode.as_str(),
            tick,
        )?)
    })
    .await;
    if let Ok(Ok(true)) = served {
        tracing::debug!(
            mode = mode.as_str(),
            "another replica already ran this schedule tick"
        );
        return;
    }
    match rec.prepare(RunRequest::new(mode, Trigger::Schedule)).await {
        Err(StartError::Busy) => tracing::info!(
            mode = mode.as_str(),
            "scheduled reconciliation skipped: another run is in progress"
        ),
        Err(e) => {
            tracing::error!(mode = mode.as_str(), error = %e, "scheduled reconciliation could not start")
        }
        Ok(run) => {
            tokio::select! {
                s = run.execute(&LogProgress) => log_summary(&s),
                _ = shutdown.cancelled() => tracing::info!("shutdown: reconciliation stopped after its last committed page; it resumes at next start"),
            }
        }
    }
}

/// Runs `mode` on `schedule` until `shutdown`.
pub async fn run(
    rec: Reconciler,
    schedule: cron::Schedule,
    mode: Mode,
    shutdown: CancellationToken,
) {
    loop {
        let Some(next) = schedule.upcoming(Utc).next() else {
            tracing::warn!(
                mode = mode.as_str(),
                "the schedule has no future time; it stops"
            );
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return,
        }
        run_once(&rec, mode, next.naive_utc(), &shutdown).await;
    }
}

/// At start: a run left unfinished by a crash resumes now instead of at its next tick.
pub async fn resume_interrupted(rec: Reconciler, shutdown: CancellationToken) {
    let pool = rec.pool.clone();
    let now = crate::mirror::now();
    let pending = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Mode>> {
        let mut conn = pool.get()?;
        for mode in [Mode::Full, Mode::Incremental] {
            if runs::find_resumable(&mut conn, mode.as_str(), "{}", now)?.is_some() {
                return Ok(Some(mode));
            }
        }
        Ok(None)
    })
    .await;
    if let Ok(Ok(Some(mode))) = pending {
        tracing::info!(
            mode = mode.as_str(),
            "an interrupted reconciliation resumes"
        );
        match rec.prepare(RunRequest::new(mode, Trigger::Schedule)).await {
            Ok(run) => {
                tokio::select! {
                    s = run.execute(&LogProgress) => log_summary(&s),
                    _ = shutdown.cancelled() => {}
                }
            }
            Err(e) => {
                tracing::info!(error = %e, "the interrupted reconciliation did not resume now")
            }
        }
    }
}
