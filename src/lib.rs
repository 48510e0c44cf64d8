//! acmirror: a local SQL mirror of an ActiveCampaign account, fed by webhooks and repaired by
//! reconciliation against the REST API v3.

pub mod activecampaign;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod metrics;
pub mod mirror;
pub mod ops;
pub mod truth;
pub mod webhook;

/// Reconciliation pieces for the daemon, when the API is configured.
pub fn reconcile_plugins(
    _settings: &config::Settings,
    _pool: &db::Pool,
) -> anyhow::Result<app::Plugins> {
    Ok(app::Plugins::default())
}
