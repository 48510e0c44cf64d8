//! Retry policy: which failures are worth another request, and how long to wait first.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

/// How persistently transient failures are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Requests sent at most for one call, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Ceiling of the exponential backoff.
    pub max_delay: Duration,
    /// Ceiling of a server-sent `Retry-After`, so that a bogus value cannot stall a run.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry): exponential, capped,
    /// with "equal jitter" (half fixed, half random) so that concurrent callers that failed
    /// together do not come back together.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let half = full / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::thread_rng().gen_range(0..=jitter_nanos))
    }

    /// The server's `Retry-After`, capped by [`RetryPolicy::max_retry_after`].
    pub(crate) fn retry_after(&self, headers: &HeaderMap) -> Option<Duration> {
        parse_retry_after(headers).map(|d| d.min(self.max_retry_after))
    }
}

/// Reads `Retry-After` as delay-seconds (ActiveCampaign's form) or as an HTTP date.
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = raw.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// What a response status means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// 2xx: decode the body.
    Success,
    /// 404: absence, which single-record reads turn into `None`.
    NotFound,
    /// 429: the account's rate limit; pause the whole client.
    RateLimited,
    /// 500/502/503/504 and 408: the server or a proxy hiccupped.
    ServerError,
    /// 401/403: bad token, missing permission, or ActiveCampaign's intermittent 403.
    Auth,
    /// 402: the account's billing is broken.
    Payment,
    /// Any other status: the request itself is wrong.
    Fatal,
}

/// Classifies a status code.
pub(crate) fn classify(status: StatusCode) -> StatusClass {
    match status.as_u16() {
        200..=299 => StatusClass::Success,
        404 => StatusClass::NotFound,
        429 => StatusClass::RateLimited,
        408 | 500 | 502 | 503 | 504 => StatusClass::ServerError,
        401 | 403 => StatusClass::Auth,
        402 => StatusClass::Payment,
        _ => StatusClass::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            RETRY_AFTER,
            HeaderValue::from_str(value).expect("valid header"),
        );
        map
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(&headers("30")),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&headers("soon")), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn retry_after_is_capped() {
        let policy = RetryPolicy {
            max_retry_after: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        assert_eq!(
            policy.retry_after(&headers("86400")),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn backoff_grows_exponentially_within_its_jitter_band() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for (retry, full_ms) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (30, 1000),
        ] {
            let wait = policy.backoff(retry);
            let full = Duration::from_millis(full_ms);
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?}");
        }
    }

    #[test]
    fn statuses_are_classified() {
        let class = |code: u16| classify(StatusCode::from_u16(code).expect("valid code"));
        assert_eq!(class(201), StatusClass::Success);
        assert_eq!(class(404), StatusClass::NotFound);
        assert_eq!(class(429), StatusClass::RateLimited);
        assert_eq!(class(503), StatusClass::ServerError);
        assert_eq!(class(403), StatusClass::Auth);
        assert_eq!(class(401), StatusClass::Auth);
        assert_eq!(class(402), StatusClass::Payment);
        assert_eq!(class(422), StatusClass::Fatal);
        assert_eq!(class(501), StatusClass::Fatal);
    }
}
