//! Prometheus metrics served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Every counter and gauge the daemon exposes.
pub struct Metrics {
    registry: Registry,
    /// Deliveries received and stored (duplicates included).
    pub deliveries_received: Counter,
    /// Byte-identical repeats.
    pub deliveries_duplicate: Counter,
    /// Deliveries applied to the mirror.
    pub deliveries_applied: Counter,
    /// Deliveries that failed to parse or apply.
    pub deliveries_failed: Counter,
    /// Deliveries stored but not applied (unknown types, automation bodies).
    pub deliveries_ignored: Counter,
    /// Seconds between receipt and apply of the last applied delivery.
    pub apply_lag_ms: Gauge,
    /// Reconciliation runs finished (any outcome).
    pub reconcile_runs: Counter,
    /// Reconciliation runs that failed.
    pub reconcile_failures: Counter,
    /// Requests sent to the ActiveCampaign API.
    pub api_requests: Counter,
    /// 429 answers from the API.
    pub api_rate_limited: Counter,
    /// Mirror records repaired by reconciliation.
    pub records_repaired: Counter,
    /// Deliveries written to the spool because the database could not take them.
    pub deliveries_spooled: Counter,
    /// Bytes the spool holds.
    pub spool_bytes: Gauge,
    /// Deliveries the spool holds.
    pub spool_deliveries: Gauge,
    /// Age in seconds of the oldest delivery in the spool (0 when empty).
    pub spool_oldest_age_seconds: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("acmirror");
        let m = Self {
            deliveries_received: Counter::default(),
            deliveries_duplicate: Counter::default(),
            deliveries_applied: Counter::default(),
            deliveries_failed: Counter::default(),
            deliveries_ignored: Counter::default(),
            apply_lag_ms: Gauge::default(),
            reconcile_runs: Counter::default(),
            reconcile_failures: Counter::default(),
            api_requests: Counter::default(),
            api_rate_limited: Counter::default(),
            records_repaired: Counter::default(),
            deliveries_spooled: Counter::default(),
            spool_bytes: Gauge::default(),
            spool_deliveries: Gauge::default(),
            spool_oldest_age_seconds: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "webhook_deliveries_received",
            "Deliveries received and stored",
            m.deliveries_received.clone(),
        );
        registry.register(
            "webhook_deliveries_duplicate",
            "Byte-identical repeated deliveries",
            m.deliveries_duplicate.clone(),
        );
        registry.register(
            "webhook_deliveries_applied",
            "Deliveries applied to the mirror",
            m.deliveries_applied.clone(),
        );
        registry.register(
            "webhook_deliveries_failed",
            "Deliveries that could not be parsed or applied",
            m.deliveries_failed.clone(),
        );
        registry.register(
            "webhook_deliveries_ignored",
            "Deliveries stored without effect on the mirror",
            m.deliveries_ignored.clone(),
        );
        registry.register(
            "webhook_apply_lag_milliseconds",
            "Receipt-to-apply delay of the last applied delivery",
            m.apply_lag_ms.clone(),
        );
        registry.register(
            "reconcile_runs",
            "Reconciliation runs finished",
            m.reconcile_runs.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Reconciliation runs that failed",
            m.reconcile_failures.clone(),
        );
        registry.register(
            "api_requests",
            "Requests sent to the ActiveCampaign API",
            m.api_requests.clone(),
        );
        registry.register(
            "api_rate_limited",
            "429 answers from the ActiveCampaign API",
            m.api_rate_limited.clone(),
        );
        registry.register(
            "reconcile_records_repaired",
            "Mirror records repaired by reconciliation",
            m.records_repaired.clone(),
        );
        registry.register(
            "webhook_deliveries_spooled",
            "Deliveries written to the local spool while the database could not take writes",
            m.deliveries_spooled.clone(),
        );
        registry.register(
            "spool_bytes",
            "Bytes held in the local spool",
            m.spool_bytes.clone(),
        );
        registry.register(
            "spool_deliveries",
            "Deliveries held in the local spool",
            m.spool_deliveries.clone(),
        );
        registry.register(
            "spool_oldest_age_seconds",
            "Age of the oldest delivery in the local spool",
            m.spool_oldest_age_seconds.clone(),
        );
        Self { registry, ..m }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
