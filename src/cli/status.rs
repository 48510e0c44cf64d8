//! `acmirror status [--json]`.

use std::fmt::Write as _;

use anyhow::Context;

use crate::config::SettingsArgs;
use crate::ops::status::{self, ScheduleInfo, Status};

use super::table::{clip, opt, render, time};
use super::{load_settings, CliError};

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Print the status document as JSON (the same document as GET /admin/status)
    #[arg(long)]
    json: bool,
}

/// Prints counts, webhook intake, recent reconciliation runs and the schedule.
pub fn run(args: StatusArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let pool = crate::ops::open_mirror(&settings)?;
    let mut conn = pool.get().context("Failed to open a database connection")?;
    let mut doc =
        status::collect(&mut conn, &settings).context("Failed to read the mirror's status")?;
    if let Some(api) = &settings.api {
        let (reachable, error) = check_api(api);
        doc.api.reachable = Some(reachable);
        doc.api.error = error;
    }
    if args.json {
        let text = serde_json::to_string_pretty(&doc).context("Failed to encode the status")?;
        super::table::emit(&(text + "\n"))?;
    } else {
        super::table::emit(&render_text(&doc))?;
    }
    Ok(())
}

/// One `GET /users/me`, no retries: does the API answer with this token?
fn check_api(api: &crate::config::ApiSettings) -> (bool, Option<String>) {
    let outcome = tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(status::probe_api(api)));
    match outcome {
        Ok(()) => (true, None),
        Err(e) => (false, Some(e)),
    }
}

/// The human-readable status: aligned sections.
pub fn render_text(s: &Status) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "acmirror status at {} UTC", time(&s.generated_at));
    let _ = writeln!(
        out,
        "  database  {} ({})",
        s.database.url, s.database.backend
    );
    let api = match (&s.api.url, s.api.configured) {
        (Some(url), true) => match (s.api.reachable, &s.api.error) {
            (Some(true), _) => format!("{url} (token set, reachable)"),
            (Some(false), Some(e)) => format!("{url} (token set, NOT reachable: {e})"),
            _ => format!("{url} (token set)"),
        },
        _ => "not configured: reconciliation is off (set ACMIRROR_AC_API_URL and ACMIRROR_AC_API_TOKEN)".to_owned(),
    };
    let _ = writeln!(out, "  api       {api}");

    let c = &s.counts;
    let _ = writeln!(out, "\nMirror");
    let rows = vec![
        count_row("contacts", c.contacts, Some(c.contacts_deleted)),
        count_row("deals", c.deals, Some(c.deals_deleted)),
        count_row("tags", c.tags, None),
        count_row("lists", c.lists, None),
        count_row("contact_tags", c.contact_tags, None),
    ];
    out.push_str(&indent(&render(
        &["TABLE", "ROWS", "DELETED UPSTREAM"],
        &rows,
    )));

    out.push_str(&webhooks_section(s));
    out.push_str(&runs_section(s));

    let _ = writeln!(out, "\nSchedule (UTC)");
    let rows = vec![
        schedule_row("incremental", &s.schedule.incremental),
        schedule_row("full", &s.schedule.full),
    ];
    out.push_str(&indent(&render(&["RUN", "CRON", "NEXT"], &rows)));
    out
}

fn count_row(name: &str, live: i64, deleted: Option<i64>) -> Vec<String> {
    vec![name.to_owned(), live.to_string(), opt(deleted)]
}

fn webhooks_section(s: &Status) -> String {
    let w = &s.webhooks;
    let mut out = String::from("\nWebhook deliveries\n");
    let last = match (&w.last_received_at, &w.last_event_type) {
        (Some(t), ty) => format!("{} UTC ({})", time(t), ty.as_deref().unwrap_or("no type")),
        (None, _) => "never".to_owned(),
    };
    let lag = match &w.oldest_pending_received_at {
        Some(t) => format!(
            "{} s (oldest pending since {} UTC)",
            w.apply_lag_seconds,
            time(t)
        ),
        None => "0 s (nothing pending)".to_owned(),
    };
    let failed = if w.failed > 0 {
        format!(
            "{} (see `acmirror events --failed`, fix, then `acmirror replay --failed`)",
            w.failed
        )
    } else {
        "0".to_owned()
    };
    let rows = [
        ("last received", last),
        ("pending", w.pending.to_string()),
        ("applied", w.applied.to_string()),
        ("ignored", w.ignored.to_string()),
        ("failed", failed),
        ("apply lag", lag),
        ("stored", storage_line(&s.webhook_storage)),
        ("spool", spool_line(s.spool.as_ref())),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<14} {v}");
    }
    out
}

/// `N rows, X MiB on disk, oldest received T UTC`.
fn storage_line(w: &status::WebhookStorage) -> String {
    let size = match (w.bytes, w.size_of.as_str()) {
        (Some(b), "database") => format!(", {} on disk (whole database file)", human_bytes(b)),
        (Some(b), _) => format!(", {} on disk", human_bytes(b)),
        (None, _) => String::new(),
    };
    let oldest = match &w.oldest_received_at {
        Some(t) => format!(", oldest received {} UTC", time(t)),
        None => String::new(),
    };
    format!("{} rows{size}{oldest}", w.rows)
}

/// `N deliveries waiting, X MiB of Y MiB, oldest received T UTC (DIR)`.
fn spool_line(spool: Option<&status::SpoolInfo>) -> String {
    let Some(sp) = spool else {
        return "disabled (ACMIRROR_SPOOL_MAX_BYTES=0)".to_owned();
    };
    if let Some(e) = &sp.error {
        return format!("cannot be read: {e}");
    }
    let oldest = match &sp.oldest_received_at {
        Some(t) => format!(", oldest received {} UTC", time(t)),
        None => String::new(),
    };
    format!(
        "{} deliveries waiting for the database, {} of {}{oldest} ({})",
        sp.deliveries,
        human_bytes(sp.bytes as i64),
        human_bytes(sp.max_bytes as i64),
        sp.dir
    )
}

fn human_bytes(b: i64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= 1024 * 1024 * 1024 {
        format!("{:.1} GiB", b as f64 / (1024.0 * MIB))
    } else {
        format!("{:.1} MiB", b as f64 / MIB)
    }
}

fn runs_section(s: &Status) -> String {
    let mut out = format!("\nReconciliation runs (last {})\n", status::RECENT_RUNS);
    if s.sync_runs.is_empty() {
        out.push_str("  none yet\n");
        return out;
    }
    let rows: Vec<Vec<String>> = s
        .sync_runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.mode.clone(),
                r.trigger.clone(),
                r.status.clone(),
                time(&r.started_at),
                opt(r.finished_at.as_ref().map(time)),
                r.api_requests.to_string(),
                r.records_fetched.to_string(),
                r.records_changed.to_string(),
                r.records_deleted.to_string(),
                clip(r.error.as_deref().unwrap_or(""), 60),
            ]
        })
        .collect();
    let headers = [
        "ID", "MODE", "TRIGGER", "STATUS", "STARTED", "FINISHED", "REQUESTS", "FETCHED", "CHANGED",
        "DELETED", "ERROR",
    ];
    out.push_str(&indent(&render(&headers, &rows)));
    out
}

fn schedule_row(name: &str, info: &ScheduleInfo) -> Vec<String> {
    match &info.cron {
        None => vec![name.to_owned(), "disabled".to_owned(), "-".to_owned()],
        Some(cron) => vec![
            name.to_owned(),
            cron.clone(),
            opt(info.next_runs.first().map(time)),
        ],
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
