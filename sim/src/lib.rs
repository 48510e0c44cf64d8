//! The ActiveCampaign simulator that acmirror is tested against, and what goes with it.
//!
//! - [`fake_ac`]: the REST API v3 subset the mirror reads, a living account that changes, and
//!   the webhook deliveries ActiveCampaign would send, with the faults a real account shows.
//! - [`truth`]: the account's state in the shape of the reporting schema, and [`verify`], which
//!   renders the mirror the same way so that [`truth::diff`] can list every difference.
//! - [`demo`]: the whole loop on one machine with no account.
//! - [`harness`]: databases, daemons and simulators for the tests and the benchmarks.
//!
//! The daemon (`acmirror`) does not depend on this crate; this crate depends on the daemon.

pub mod demo;
pub mod fake_ac;
pub mod harness;
pub mod truth;
pub mod verify;
