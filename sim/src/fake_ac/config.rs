//! Settings of a simulator instance.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How to build and run a simulated account.
#[derive(Debug, Clone)]
pub struct FakeAcConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The `Api-Token` value requests must carry.
    pub api_token: String,
    /// Seed of the generated account and of the change driver.
    pub seed: u64,
    /// Contacts in the account at start (ids `1..=contacts`).
    pub contacts: u64,
    /// Deals in the account at start (ids `1..=deals`).
    pub deals: u64,
    /// How many of the starting deals sit in a pipeline the API user may not see; the API
    /// shows them as permission stubs.
    pub restricted_deals: u64,
    /// API requests per second before `429`; 0 for no limit.
    pub rate_limit: u32,
    /// Where every webhook event is delivered, besides the webhooks registered through the API.
    pub webhook_target: Option<String>,
    /// Faults of the REST API.
    pub api_faults: ApiFaults,
    /// Faults of webhook delivery.
    pub webhook_faults: WebhookFaults,
    /// End of the generated history: base records were created and last updated before it.
    /// `None` means the start time; fix it to get byte-identical accounts across runs.
    pub epoch: Option<DateTime<Utc>>,
    /// Deliveries in flight at once. 1 keeps deliveries that are not delayed in order.
    pub delivery_concurrency: usize,
    /// Behaviours of the real service that the mirror must survive (off by default).
    pub realism: Realism,
}

impl Default for FakeAcConfig {
    fn default() -> Self {
        FakeAcConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_token: "fake-token".to_string(),
            seed: 1,
            contacts: 1_000,
            deals: 200,
            restricted_deals: 3,
            rate_limit: 5,
            webhook_target: None,
            api_faults: ApiFaults::default(),
            webhook_faults: WebhookFaults::default(),
            epoch: None,
            delivery_concurrency: 1,
            realism: Realism::default(),
        }
    }
}

/// Misbehaviour of the REST API, each knob a probability per request (0.0 to 1.0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiFaults {
    /// Chance that a request starts a burst of `503 Service Unavailable`.
    pub burst_503: f64,
    /// Requests answered 503 in one burst (the one that started it included); 0 means 1.
    pub burst_503_len: u32,
    /// Chance of an intermittent `403` although the token is right.
    pub forbidden: f64,
    /// Chance that a response is delayed by `latency`.
    pub slow: f64,
    /// Delay added to slow responses.
    pub latency: Duration,
    /// Chance that a response body is cut in half.
    pub truncate: f64,
    /// Collections (`accounts`, `campaigns`, …, the path after `/api/3/`) always answered 403,
    /// as for a plan without the feature or a user without the permission.
    pub forbidden_collections: Vec<String>,
}

/// Misbehaviour of webhook delivery. Fractions are probabilities per delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFaults {
    /// Fraction of deliveries never sent.
    pub drop: f64,
    /// Fraction of deliveries sent twice.
    pub duplicate: f64,
    /// Fraction of deliveries held back by a random delay up to `max_delay`, so that later
    /// ones overtake them.
    pub reorder: f64,
    /// Longest delay of a reordered delivery.
    pub max_delay: Duration,
    /// While true every delivery fails and is lost, as when the receiver is unreachable.
    pub down: bool,
}

impl Default for WebhookFaults {
    fn default() -> Self {
        WebhookFaults {
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            max_delay: Duration::from_millis(300),
            down: false,
        }
    }
}

/// Ways the real ActiveCampaign may behave that nothing documents either way (see the README's
/// "What acmirror assumes about ActiveCampaign"). Each is off by default; [`Realism::strict`]
/// turns every one on, so that the mirror is proven right whichever way the service behaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Realism {
    /// A contact's `udate` does not move when only its tags, list memberships or custom field
    /// values change.
    pub frozen_udate: bool,
    /// Bulk-created deals share one `cdate` second, and items with equal sort keys come back in
    /// a different order on every request under offset paging.
    pub unstable_ties: bool,
    /// A heavy account: ~200 custom fields including long textarea values, ~50 tags per
    /// contact, so that a page of 100 contacts with sideloads is several MB.
    pub heavy: bool,
    /// Responses larger than this many bytes are cut off (as a proxy or a timeout would); 0 for
    /// no limit.
    pub max_response_bytes: usize,
    /// Webhook contact blocks leave some keys out for some event types, and automation-style
    /// bodies key custom fields by personalisation tag instead of numeric id.
    pub partial_webhooks: bool,
    /// Seconds the upstream clock runs ahead of (positive) or behind (negative) the host.
    pub clock_skew_secs: i64,
    /// Longest textarea value of a heavy account, in bytes; values run from a third of it up
    /// to it. 0 for the default, 60 KB. A PostgreSQL mirror whose schema still indexes field
    /// values in a btree needs it below ~2.7 KB.
    pub heavy_textarea_bytes: usize,
}

impl Realism {
    /// Every behaviour on; the upstream clock `skew_secs` off the host's.
    pub fn strict(skew_secs: i64) -> Self {
        Realism {
            frozen_udate: true,
            unstable_ties: true,
            heavy: true,
            max_response_bytes: 4 * 1024 * 1024,
            partial_webhooks: true,
            clock_skew_secs: skew_secs,
            heavy_textarea_bytes: 0,
        }
    }
}
