//! What a run is asked to do, how it reports progress, and how it ends.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::runs::Counters;
use crate::activecampaign::StatsSnapshot;

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

    /// What the run covers, as stored in `sync_runs.scope`: the request's filters as JSON,
    /// [`super::runs::WHOLE_ACCOUNT`] when there are none.
    pub(super) fn scope(&self) -> String {
        if self.is_whole_account() {
            return super::runs::WHOLE_ACCOUNT.to_owned();
        }
        serde_json::to_string(self).unwrap_or_else(|_| super::runs::WHOLE_ACCOUNT.into())
    }

    /// True when no filter narrows the run.
    pub(super) fn is_whole_account(&self) -> bool {
        self.only.is_none()
            && self.since.is_none()
            && self.contacts.is_empty()
            && self.deals.is_empty()
    }

    pub(super) fn covers(&self, part: Only) -> bool {
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
            total = total.unwrap_or(0),
            requests = api.requests,
            "reconciliation page committed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::runs::{RunStatus, WHOLE_ACCOUNT};

    #[test]
    fn only_a_run_without_filters_covers_the_whole_account() {
        let whole = RunRequest::new(Mode::Incremental, Trigger::Manual);
        assert!(whole.is_whole_account());
        assert_eq!(whole.scope(), WHOLE_ACCOUNT);
        let one = RunRequest {
            contacts: vec![7],
            ..RunRequest::new(Mode::Incremental, Trigger::Manual)
        };
        assert!(!one.is_whole_account());
        assert_eq!(one.scope(), r#"{"contacts":[7]}"#);
        let forced = RunRequest {
            allow_mass_delete: true,
            ..RunRequest::new(Mode::Full, Trigger::Manual)
        };
        assert!(forced.is_whole_account(), "a guard switch narrows nothing");
    }

    #[test]
    fn run_statuses_read_back_from_their_names() {
        for s in [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed] {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("pending"), None);
    }
}
