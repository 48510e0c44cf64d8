//! The simulator itself: its API against ActiveCampaign's shapes and quirks, its webhook
//! deliveries, its realism switches, and the `acmirror-sim` binary.

mod api;
mod cli;
mod tag_feed_and_heavy;
mod webhooks;
