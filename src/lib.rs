//! acmirror: a local SQL mirror of an ActiveCampaign account, fed by webhooks and repaired by
//! reconciliation against the REST API v3.

pub mod fake_ac;
pub mod truth;
