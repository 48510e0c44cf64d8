//! State shared by the HTTP server, the change driver and the webhook sender.

use std::sync::{Mutex, MutexGuard, OnceLock};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::clock::Clock;
use super::config::ApiFaults;
use super::rate::RateLimiter;
use super::state::Account;
use super::stats::Counters;

/// Everything the pieces of one simulator instance share.
#[derive(Debug)]
pub(crate) struct Shared {
    account: Mutex<Account>,
    /// The `Api-Token` value requests must carry.
    pub token: String,
    /// `http://127.0.0.1:PORT`, known once the listener is bound; used in `links`.
    pub base_url: OnceLock<String>,
    pub stats: Counters,
    pub limiter: RateLimiter,
    pub faults: Mutex<FaultState>,
    /// The service's clock, which every time the simulator writes comes from.
    pub clock: Clock,
}

/// The API fault settings and the state of a 503 burst in progress.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub knobs: ApiFaults,
    pub burst_left: u32,
    pub rng: StdRng,
}

impl Shared {
    /// State for a new instance.
    pub(crate) fn new(account: Account, token: String, rate: u32, faults: ApiFaults) -> Self {
        let seed = account.seed;
        Shared {
            account: Mutex::new(account),
            token,
            base_url: OnceLock::new(),
            stats: Counters::default(),
            limiter: RateLimiter::new(rate),
            faults: Mutex::new(FaultState {
                knobs: faults,
                burst_left: 0,
                rng: StdRng::seed_from_u64(seed ^ 0x000f_a017),
            }),
            clock: Clock::default(),
        }
    }

    /// The account, locked. Holders never await, so a std mutex is right.
    pub(crate) fn account(&self) -> MutexGuard<'_, Account> {
        // A panic while holding the lock leaves a consistent account (every mutation is a
        // single put), so a poisoned lock is still usable.
        self.account.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault settings, locked.
    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The base URL for `links`.
    pub(crate) fn base(&self) -> &str {
        self.base_url
            .get()
            .map_or("http://127.0.0.1", String::as_str)
    }
}
