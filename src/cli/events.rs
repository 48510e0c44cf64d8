//! `acmirror events [--failed] [--type T] [--limit N] [--json]`.

use anyhow::Context;

use crate::config::SettingsArgs;
use crate::ops::events::{self, EventFilter, EventRow};

use super::table::{clip, opt, render, time};
use super::{load_settings, CliError};

/// Arguments of `events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Only deliveries that failed to apply
    #[arg(long)]
    failed: bool,
    /// Only deliveries of this event type, e.g. contact_tag_added
    #[arg(long = "type", value_name = "T")]
    event_type: Option<String>,
    /// At most N deliveries, newest first
    #[arg(long, value_name = "N", default_value_t = events::DEFAULT_LIMIT,
          value_parser = clap::value_parser!(i64).range(1..))]
    limit: i64,
    /// Print a JSON array, each delivery with its raw body as text
    #[arg(long)]
    json: bool,
}

/// Lists stored webhook deliveries, newest first.
pub fn run(args: EventsArgs) -> Result<(), CliError> {
    let settings = load_settings(&args.settings)?;
    super::init_tracing(&settings);
    let pool = crate::ops::open_mirror(&settings)?;
    let mut conn = pool.get().context("Failed to open a database connection")?;
    let filter = EventFilter {
        failed_only: args.failed,
        event_type: args.event_type,
        limit: args.limit,
        with_body: args.json,
    };
    let rows = events::list(&mut conn, &filter).context("Failed to list deliveries")?;
    if args.json {
        let text = serde_json::to_string_pretty(&rows).context("Failed to encode deliveries")?;
        super::table::emit(&(text + "\n"))?;
    } else {
        super::table::emit(&render_text(&rows))?;
    }
    Ok(())
}

/// The deliveries as an aligned table (without bodies).
pub fn render_text(rows: &[EventRow]) -> String {
    if rows.is_empty() {
        return "no deliveries match\n".to_owned();
    }
    let headers = [
        "ID",
        "RECEIVED (UTC)",
        "TYPE",
        "STATUS",
        "DELIVERIES",
        "CONTACT",
        "DEAL",
        "ERROR",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                time(&e.received_at),
                opt(e.event_type.as_deref()),
                e.status.clone(),
                e.deliveries.to_string(),
                opt(e.contact_id),
                opt(e.deal_id),
                clip(e.error.as_deref().unwrap_or(""), 80),
            ]
        })
        .collect();
    render(&headers, &cells)
}
