//! The process-wide request throttle: a token bucket plus a shared pause.
//!
//! ActiveCampaign's 5 requests/s limit belongs to the account, so every request of the process
//! goes through one bucket. When the API answers 429 with `Retry-After`, the whole client
//! waits, not only the caller that saw it: the others would just collect 429s of their own.
//!
//! The bucket runs on tokio's clock rather than governor's default one, so that tests with
//! paused time can drive it and so that waits are ordinary tokio sleeps.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// Time since the throttle was made, read from tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.origin.elapsed())
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// Spaces requests at a fixed rate and holds all of them during a server-requested pause.
#[derive(Debug)]
pub(crate) struct Throttle {
    bucket: Bucket,
    clock: TokioClock,
    paused_until: Mutex<Option<Instant>>,
}

impl Throttle {
    /// A throttle admitting `per_second` requests per second (fractions allowed), evenly
    /// spaced: a burst of one, because the account limit is shared and bursts are what other
    /// integrations would pay for. Returns `None` unless the rate is positive and finite.
    pub(crate) fn new(per_second: f64) -> Option<Self> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return None;
        }
        let period = Duration::try_from_secs_f64(1.0 / per_second).ok()?;
        let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::MIN);
        let clock = TokioClock {
            origin: Instant::now(),
        };
        Some(Self {
            bucket: RateLimiter::direct_with_clock(quota, clock),
            clock,
            paused_until: Mutex::new(None),
        })
    }

    /// Waits until this request may be sent.
    pub(crate) async fn acquire(&self) {
        loop {
            if let Some(until) = self.pause_deadline() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.bucket.check() {
                Ok(()) => return,
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
    }

    /// Holds every request of the process for `wait` (extending, never shortening, a pause
    /// already in force).
    pub(crate) fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut guard = self.lock();
        if guard.is_none_or(|current| current < until) {
            *guard = Some(until);
        }
    }

    fn pause_deadline(&self) -> Option<Instant> {
        let mut guard = self.lock();
        match *guard {
            Some(until) if until > Instant::now() => Some(until),
            Some(_) => {
                *guard = None;
                None
            }
            None => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The guarded value is a plain Option, always consistent: a panic elsewhere while
        // holding the lock cannot leave it half-written, so a poisoned lock is still usable.
        self.paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn refuses_rates_that_are_not_positive() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Throttle::new(bad).is_none(), "{bad}");
        }
        assert!(Throttle::new(0.5).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_at_the_configured_rate() {
        let throttle = Throttle::new(4.0).expect("valid rate");
        let start = Instant::now();
        for _ in 0..9 {
            throttle.acquire().await;
        }
        // The first request goes at once, the next eight each wait a quarter second.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn fractional_rates_space_requests_further_apart() {
        let throttle = Throttle::new(0.5).expect("valid rate");
        let start = Instant::now();
        throttle.acquire().await;
        throttle.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_bucket() {
        let throttle = Arc::new(Throttle::new(2.0).expect("valid rate"));
        let start = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let throttle = Arc::clone(&throttle);
                tokio::spawn(async move { throttle.acquire().await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task completes");
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_caller() {
        let throttle = Arc::new(Throttle::new(100.0).expect("valid rate"));
        throttle.pause_for(Duration::from_secs(30));
        throttle.pause_for(Duration::from_secs(5)); // shorter: must not cut the pause
        let start = Instant::now();
        let other = {
            let throttle = Arc::clone(&throttle);
            tokio::spawn(async move {
                throttle.acquire().await;
                Instant::now()
            })
        };
        throttle.acquire().await;
        let other_went_at = other.await.expect("task completes");
        assert!(start.elapsed() >= Duration::from_secs(30));
        assert!(other_went_at.duration_since(start) >= Duration::from_secs(30));
    }
}
