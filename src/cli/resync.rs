//! `acmirror resync`: one reconciliation now, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use crate::activecampaign::StatsSnapshot;
use crate::app::open_database;
use crate::config::{ConfigError, SettingsArgs};
use crate::metrics::Metrics;
use crate::reconcile::runs::RunStatus;
use crate::reconcile::{Mode, Only, Progress, Reconciler, RunRequest, RunSummary, Trigger};

use super::{load_settings, CliError};

/// Arguments of `resync`.
#[derive(Debug, clap::Args)]
pub struct ResyncArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Read every contact and deal and mark those gone upstream as deleted
    #[arg(long)]
    full: bool,
    /// Only this part of the account
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Read changes since this time (RFC 3339) instead of the last run's watermark
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, conflicts_with = "full")]
    since: Option<DateTime<Utc>>,
    /// Only this contact (repeatable); a contact gone upstream is marked deleted
    #[arg(long = "contact", value_name = "ID")]
    contacts: Vec<i64>,
    /// Only this deal (repeatable)
    #[arg(long = "deal", value_name = "ID")]
    deals: Vec<i64>,
    /// Let a full run mark more than 10% (and more than 100) of the mirror deleted
    #[arg(long, requires = "full")]
    allow_mass_delete: bool,
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{raw:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z ({e})"))
}

/// A bar on a terminal, plain log lines elsewhere.
struct CliProgress {
    bar: Option<ProgressBar>,
    started: std::time::Instant,
}

impl CliProgress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} {msg:10} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta}) {prefix}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar
        });
        Self {
            bar,
            started: std::time::Instant::now(),
        }
    }
}

impl Progress for CliProgress {
    fn page(&self, part: Only, done: u64, total: Option<u64>, api: &StatsSnapshot) {
        let name = match part {
            Only::Contacts => "contacts",
            Only::Deals => "deals",
            Only::Dimensions => "dimensions",
        };
        match &self.bar {
            Some(bar) => {
                bar.set_message(name);
                if let Some(t) = total {
                    bar.set_length(t.max(done));
                }
                bar.set_position(done);
                bar.set_prefix(format!(
                    "requests {} 429s {}",
                    api.requests, api.rate_limited
                ));
            }
            None => {
                let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
                tracing::info!(
                    part = name,
                    done,
                    total = total.unwrap_or(0),
                    requests = api.requests,
                    rate_limited = api.rate_limited,
                    records_per_second = rate as u64,
                    "reconciliation progress"
                );
            }
        }
    }
}

fn print_summary(s: &RunSummary) {
    let outcome = if s.error.is_some() {
        RunStatus::Failed
    } else {
        RunStatus::Succeeded
    };
    let resumed = if s.resumed { " (resumed)" } else { "" };
    println!(
        "Reconciliation run {} ({}){resumed} {outcome} in {:.1} s",
        s.run_id,
        s.mode.as_str(),
        s.seconds
    );
    println!(
        "  API requests     {:>10}   (429 answers: {})",
        s.counters.api_requests, s.rate_limited
    );
    println!("  records fetched  {:>10}", s.counters.fetched);
    println!(
        "  records changed  {:>10}   (drift repaired)",
        s.counters.changed
    );
    println!("  records deleted  {:>10}", s.counters.deleted);
}

/// Runs one reconciliation and prints a summary; exit 1 when it fails.
pub fn run(args: ResyncArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let api = settings.api.clone().ok_or(ConfigError {
        setting: "ACMIRROR_AC_API_URL",
        message: "resync needs the API: set ACMIRROR_AC_API_URL and ACMIRROR_AC_API_TOKEN".into(),
    })?;
    let mode = if args.full {
        Mode::Full
    } else {
        Mode::Incremental
    };
    let req = RunRequest {
        only: args.only,
        since: args.since,
        contacts: args.contacts,
        deals: args.deals,
        allow_mass_delete: args.allow_mass_delete,
        ..RunRequest::new(mode, Trigger::Manual)
    };
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    let summary = runtime.block_on(async {
        let (pool, _) = open_database(&settings).await?;
        let rec = Reconciler::new(pool, &api, Arc::new(Metrics::new()))?;
        let progress = CliProgress::new();
        let summary = rec.run(req, &progress).await?;
        if let Some(bar) = &progress.bar {
            bar.finish_and_clear();
        }
        Ok::<_, anyhow::Error>(summary)
    })?;
    print_summary(&summary);
    match summary.error {
        None => Ok(()),
        Some(e) => Err(CliError::Failed(anyhow::anyhow!(
            "{e}\nThe next run resumes from the last committed page."
        ))),
    }
}
