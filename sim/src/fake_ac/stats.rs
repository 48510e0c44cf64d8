//! Counters of what the simulator did, for tests, benchmarks and the demo.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FakeAcStats {
    /// API requests received under `/api/3`, rejected ones included.
    pub api_requests: u64,
    /// API requests answered normally (not 429 and not an injected fault).
    pub api_served: u64,
    /// `429 Too Many Requests` sent.
    pub api_throttled: u64,
    /// Injected `503` answers.
    pub api_unavailable: u64,
    /// `403` answers: wrong or missing token, and injected ones.
    pub api_forbidden: u64,
    /// Responses delayed on purpose.
    pub api_slowed: u64,
    /// Responses whose body was cut.
    pub api_truncated: u64,
    /// Changes made by the driver, each sending one webhook event.
    pub changes: u64,
    /// Contacts added by bulk import (no webhooks).
    pub contacts_imported: u64,
    /// Contacts deleted (no webhooks).
    pub contacts_deleted: u64,
    /// Deals deleted (no webhooks).
    pub deals_deleted: u64,
    /// HTTP POSTs of deliveries attempted.
    pub deliveries_sent: u64,
    /// Deliveries the receiver acknowledged with a 2xx.
    pub deliveries_ok: u64,
    /// Deliveries that failed: receiver down, unreachable, or a non-2xx answer. Never retried.
    pub deliveries_failed: u64,
    /// Deliveries dropped on purpose.
    pub deliveries_dropped: u64,
    /// Extra copies sent on purpose.
    pub deliveries_duplicated: u64,
    /// Deliveries held back to be reordered.
    pub deliveries_delayed: u64,
}

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// Live counters, shared by the server, the driver and the sender.
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub $name: AtomicU64,)*
        }

        impl Counters {
            /// The current values.
            pub(crate) fn snapshot(&self) -> FakeAcStats {
                FakeAcStats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters!(
    api_requests,
    api_served,
    api_throttled,
    api_unavailable,
    api_forbidden,
    api_slowed,
    api_truncated,
    changes,
    contacts_imported,
    contacts_deleted,
    deals_deleted,
    deliveries_sent,
    deliveries_ok,
    deliveries_failed,
    deliveries_dropped,
    deliveries_duplicated,
    deliveries_delayed,
);

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
