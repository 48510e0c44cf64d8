//! `acmirror replay (--failed | --id N... | --since RFC3339)`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::config::SettingsArgs;
use crate::metrics::Metrics;
use crate::ops::replay::{self, ReplayReport, Selector};

use super::{load_settings, CliError};

/// Arguments of `replay`: exactly one selector.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("selector").required(true).args(["failed", "id", "since"])))]
pub struct ReplayArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Replay every delivery that failed to apply
    #[arg(long)]
    failed: bool,
    /// Replay these deliveries (ids from `acmirror events`)
    #[arg(long, value_name = "N", num_args = 1..)]
    id: Vec<i64>,
    /// Replay every delivery received at or after this time, e.g. 2026-01-31T00:00:00Z
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; use RFC 3339, e.g. 2026-01-31T00:00:00Z"))
}

/// Sets the selected deliveries back to pending, applies them now and reports the outcome.
/// Exits 1 when a selected delivery still fails or a requested id does not exist.
pub fn run(args: ReplayArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let selector = if args.failed {
        Selector::Failed
    } else if let Some(since) = args.since {
        Selector::Since(since)
    } else {
        Selector::Ids(args.id)
    };
    let pool = crate::ops::open_mirror(&settings)?;
    let report = replay::replay(&pool, &Metrics::new(), &selector)?;
    super::table::emit(&render_text(&report))?;
    if report.failed > 0 {
        return Err(anyhow::anyhow!(
            "{} replayed delivery(ies) still fail; see `acmirror events --failed` for the reasons",
            report.failed
        )
        .into());
    }
    if !report.missing_ids.is_empty() {
        return Err(anyhow::anyhow!(
            "no delivery has id {:?}; list ids with `acmirror events`",
            report.missing_ids
        )
        .into());
    }
    Ok(())
}

/// The report as text.
pub fn render_text(r: &ReplayReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    if r.requeued == 0 {
        let _ = writeln!(out, "Nothing to replay: no stored delivery matched.");
        return out;
    }
    let noun = if r.requeued == 1 {
        "delivery"
    } else {
        "deliveries"
    };
    let _ = writeln!(out, "Requeued {} {noun} and applied them:", r.requeued);
    let _ = writeln!(out, "  applied        {}", r.applied);
    let _ = writeln!(out, "  ignored        {}", r.ignored);
    let _ = writeln!(out, "  still failed   {}", r.failed);
    for (id, why) in &r.failures {
        let _ = writeln!(out, "    #{id}: {}", super::table::clip(why, 120));
    }
    if r.failed > r.failures.len() {
        let _ = writeln!(out, "    … and {} more", r.failed - r.failures.len());
    }
    if r.still_pending > 0 {
        let _ = writeln!(
            out,
            "  still pending  {} (claimed by a running `acmirror serve`, which applies them)",
            r.still_pending
        );
    }
    if r.others_applied > 0 {
        let _ = writeln!(
            out,
            "  also applied {} other pending deliveries from the queue",
            r.others_applied
        );
    }
    out
}
