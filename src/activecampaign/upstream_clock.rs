//! ActiveCampaign's clock, as seen through the `Date` header of its responses.
//!
//! Record times (`udate`, `mdate`, `cdate`) and webhook `date_time` come from ActiveCampaign's
//! clock, which may be minutes off the host's. The mirror compares those times with each other,
//! so whatever version it derives from "when did we read this" must be on the same clock: the
//! response's `Date`, never the host's. [`UpstreamClock`] keeps the offset between the two so
//! that "ActiveCampaign's now" can be told between responses as well.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use reqwest::header::{HeaderMap, DATE};

/// The offset of ActiveCampaign's clock from the host's, learnt from response `Date` headers.
#[derive(Debug, Default)]
pub(crate) struct UpstreamClock {
    /// Upstream minus host, in milliseconds, from the latest response that had a `Date`.
    offset_ms: AtomicI64,
    known: AtomicBool,
}

impl UpstreamClock {
    /// Records a response dated `date` by the server that arrived at host time `received`.
    ///
    /// `Date` is truncated to the second and written before the response travelled, so the
    /// estimate is at most about a second (plus latency) behind the true offset and never
    /// ahead of it: a time derived from it never claims to be later than ActiveCampaign's
    /// clock really was, and so never suppresses a newer webhook.
    pub(crate) fn observe(&self, date: DateTime<Utc>, received: DateTime<Utc>) {
        let offset = date.signed_duration_since(received).num_milliseconds();
        self.offset_ms.store(offset, Ordering::Relaxed);
        self.known.store(true, Ordering::Relaxed);
    }

    /// Upstream minus host, once a response has told it.
    pub(crate) fn offset(&self) -> Option<Duration> {
        self.known
            .load(Ordering::Relaxed)
            .then(|| Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed)))
    }

    /// ActiveCampaign's current time: the host's, shifted by the last known offset (the
    /// host's own time until a response has carried a `Date`).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let host = Utc::now();
        self.offset().map_or(host, |offset| host + offset)
    }
}

/// The `Date` header of a response (`Thu, 03 Dec 2026 10:17:23 GMT`), if present and readable.
pub(crate) fn date_header(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let raw = headers.get(DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        rfc3339.parse().expect("test literal is RFC 3339")
    }

    #[test]
    fn http_dates_are_read_and_garbage_is_ignored() {
        let mut headers = HeaderMap::new();
        assert_eq!(date_header(&headers), None);
        headers.insert(
            DATE,
            HeaderValue::from_static("Thu, 03 Dec 2026 10:17:23 GMT"),
        );
        assert_eq!(date_header(&headers), Some(at("2026-12-03T10:17:23Z")));
        headers.insert(DATE, HeaderValue::from_static("yesterday"));
        assert_eq!(date_header(&headers), None);
    }

    #[test]
    fn the_offset_is_learnt_from_the_latest_response_either_way() {
        let clock = UpstreamClock::default();
        assert_eq!(clock.offset(), None);
        let received = at("2026-12-03T10:17:23.400Z");
        clock.observe(at("2026-12-03T10:07:23Z"), received);
        assert_eq!(clock.offset(), Some(Duration::milliseconds(-600_400)));
        clock.observe(at("2026-12-03T10:27:23Z"), received);
        assert_eq!(clock.offset(), Some(Duration::milliseconds(599_600)));
        // Derived from the offset, not from the host's clock alone.
        let ahead = clock.now() - Utc::now();
        assert!(ahead > Duration::minutes(9) && ahead <= Duration::minutes(10));
    }
}
