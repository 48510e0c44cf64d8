//! Cron schedules for reconciliation, and resuming a run interrupted by a crash.
//!
//! Each schedule is a loop that never dies from one failed run. With several replicas, the
//! lock lets one run at a time and a tick already served by another replica is skipped.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{runs, LogProgress, Mode, Reconciler, RunRequest, RunSummary, StartError, Trigger};
use crate::config::Settings;
use crate::db::blocking;

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
    let served = blocking(&pool, move |conn| {
        Ok(runs::scheduled_since(conn, mode.as_str(), tick)?)
    })
    .await;
    if let Ok(true) = served {
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

/// Calls `fire` at every time of `schedule`, as told by `now`, until `shutdown`. A tick that
/// passes while `fire` still runs is skipped, not queued.
pub async fn ticks<F, Fut>(
    schedule: &cron::Schedule,
    now: impl Fn() -> DateTime<Utc>,
    shutdown: &CancellationToken,
    mut fire: F,
) where
    F: FnMut(DateTime<Utc>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        let current = now();
        let Some(next) = schedule.after(&current).next() else {
            tracing::warn!("the schedule has no future time; it stops");
            return;
        };
        let wait = (next - current).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return,
        }
        fire(next).await;
    }
}

/// Runs `mode` on `schedule` until `shutdown`.
pub async fn run(
    rec: Reconciler,
    schedule: cron::Schedule,
    mode: Mode,
    shutdown: CancellationToken,
) {
    ticks(&schedule, Utc::now, &shutdown, |tick| {
        let (rec, shutdown) = (rec.clone(), shutdown.clone());
        async move { run_once(&rec, mode, tick.naive_utc(), &shutdown).await }
    })
    .await;
}

/// At start: a run left unfinished by a crash resumes now instead of at its next tick.
pub async fn resume_interrupted(rec: Reconciler, shutdown: CancellationToken) {
    let pool = rec.pool.clone();
    let now = crate::time::now();
    let pending = blocking(&pool, move |conn| {
        for mode in [Mode::Full, Mode::Incremental] {
            if runs::find_resumable(conn, mode.as_str(), runs::WHOLE_ACCOUNT, now)?.is_some() {
                return Ok(Some(mode));
            }
        }
        Ok(None)
    })
    .await;
    if let Ok(Some(mode)) = pending {
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

/// Starts what `serve` runs on its own: the resumption of an interrupted run, and each
/// configured schedule (`ACMIRROR_RECONCILE_CRON`, `ACMIRROR_FULL_SYNC_CRON`). The tasks end
/// when `shutdown` fires.
pub fn spawn(
    rec: &Reconciler,
    settings: &Settings,
    shutdown: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(resume_interrupted(
        rec.clone(),
        shutdown.clone(),
    ))];
    for (cron, mode, name) in [
        (
            &settings.reconcile_cron,
            Mode::Incremental,
            "ACMIRROR_RECONCILE_CRON",
        ),
        (
            &settings.full_sync_cron,
            Mode::Full,
            "ACMIRROR_FULL_SYNC_CRON",
        ),
    ] {
        match cron {
            Some(s) => {
                tracing::info!(schedule = %s, mode = mode.as_str(), "reconciliation scheduled");
                tasks.push(tokio::spawn(run(
                    rec.clone(),
                    s.clone(),
                    mode,
                    shutdown.clone(),
                )));
            }
            None => tracing::info!(
                setting = name,
                mode = mode.as_str(),
                "schedule disabled (empty)"
            ),
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use std::sync::{Arc, Mutex};

    #[tokio::test(start_paused = true)]
    async fn fires_at_each_scheduled_time_and_stops_on_shutdown() {
        let start: DateTime<Utc> = "2026-11-29T00:14:30Z".parse().expect("time");
        let origin = tokio::time::Instant::now();
        let clock = move || start + chrono::Duration::from_std(origin.elapsed()).expect("small");
        let schedule = cron::Schedule::from_str("0 */15 * * * *").expect("cron");
        let fired = Arc::new(Mutex::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let task = {
            let (fired, shutdown) = (fired.clone(), shutdown.clone());
            tokio::spawn(async move {
                ticks(&schedule, clock, &shutdown, |tick| {
                    fired.lock().expect("lock").push(tick.to_rfc3339());
                    async {}
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_secs(25 * 60)).await; // until 00:39:30
        shutdown.cancel();
        task.await.expect("the loop ends on shutdown");
        let fired = fired.lock().expect("lock").clone();
        assert_eq!(
            fired,
            vec!["2026-11-29T00:15:00+00:00", "2026-11-29T00:30:00+00:00"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_run_skips_the_ticks_it_overlaps() {
        let start: DateTime<Utc> = "2026-11-29T00:00:30Z".parse().expect("time");
        let origin = tokio::time::Instant::now();
        let clock = move || start + chrono::Duration::from_std(origin.elapsed()).expect("small");
        let every_minute = cron::Schedule::from_str("0 * * * * *").expect("cron");
        let count = Arc::new(Mutex::new(0));
        let shutdown = CancellationToken::new();
        let task = {
            let (count, shutdown) = (count.clone(), shutdown.clone());
            tokio::spawn(async move {
                ticks(&every_minute, clock, &shutdown, |_| {
                    *count.lock().expect("lock") += 1;
                    // Each run lasts 150 s: the two ticks inside it are not queued.
                    tokio::time::sleep(Duration::from_secs(150))
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_secs(10 * 60)).await;
        shutdown.cancel();
        task.await.expect("ends");
        // Runs start at 00:01, 00:04, 00:07 and 00:10 (each after a 150 s run plus the wait).
        assert_eq!(*count.lock().expect("lock"), 4);
    }
}
