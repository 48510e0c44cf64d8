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
pub mod reconcile;
pub mod setting;
pub mod time;
pub mod webhook;

#[cfg(test)]
mod layers;
