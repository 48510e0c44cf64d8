//! Times as ActiveCampaign writes them, and the simulator's notion of "now".
//!
//! Records keep Unix seconds; the wire shows America/Chicago wall time with its offset
//! (`2026-05-28T03:05:54-05:00`) or the same wall time without a zone (`2026-05-28 03:05:54`).
//!
//! The simulated service keeps its own clock ([`Clock`]), which may run ahead of or behind the
//! host's ([`Realism::clock_skew_secs`](super::Realism)): every time it writes (record dates,
//! webhook `date_time`, the HTTP `Date` header) comes from that clock, as every time the real
//! service writes comes from ActiveCampaign's clock, not the mirror's.

use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, DATE};
use actix_web::middleware::Next;
use actix_web::web;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::America::Chicago;

use super::shared::Shared;

/// The host's current time in whole seconds.
pub(crate) fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// The simulated service's clock: the host's, shifted by a fixed number of seconds, and never
/// behind a time the service has written.
///
/// A record changed twice in one second takes the next second for its second change (see
/// [`next_change_time`]), which can run ahead of the wall clock. A real server never writes a
/// time its own clock has not reached, so the clock moves up to every time written
/// ([`Clock::observe`]): a `Date` header is never older than the data it comes with.
#[derive(Debug)]
pub(crate) struct Clock {
    skew_secs: AtomicI64,
    written: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(0)
    }
}

impl Clock {
    /// A clock `skew_secs` ahead of the host's (behind when negative).
    pub(crate) fn new(skew_secs: i64) -> Self {
        Clock {
            skew_secs: AtomicI64::new(skew_secs),
            written: AtomicI64::new(i64::MIN),
        }
    }

    /// Records that the service wrote time `secs`; the clock reads at least that from now on.
    pub(crate) fn observe(&self, secs: i64) {
        self.written.fetch_max(secs, Ordering::Relaxed);
    }

    /// Moves the clock to `skew_secs` off the host's.
    pub(crate) fn set_skew(&self, skew_secs: i64) {
        self.skew_secs.store(skew_secs, Ordering::Relaxed);
    }

    /// The service's current time in whole seconds.
    pub(crate) fn now_secs(&self) -> i64 {
        (now_secs() + self.skew_secs.load(Ordering::Relaxed))
            .max(self.written.load(Ordering::Relaxed))
    }

    /// The service's current time as an HTTP `Date` (`Thu, 03 Dec 2026 10:17:23 GMT`).
    pub(crate) fn http_date(&self) -> String {
        Utc.timestamp_opt(self.now_secs(), 0)
            .single()
            .unwrap_or_default()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }
}

/// Middleware: dates every API response by the service's clock, taken when the response is
/// ready (after the handler read the account), as a real server does. actix-web keeps a
/// `Date` the application set instead of writing the host's.
pub(crate) async fn date_header(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let shared = req.app_data::<web::Data<Shared>>().cloned();
    let mut res = next.call(req).await?;
    if let Some(shared) = shared {
        if let Ok(value) = HeaderValue::from_str(&shared.clock.http_date()) {
            res.headers_mut().insert(DATE, value);
        }
    }
    Ok(res)
}

/// The time a record changes at when it changes now: strictly after its previous change, so
/// that with one-second resolution the newest state always carries the greatest time.
pub(crate) fn next_change_time(now: i64, last: i64) -> i64 {
    now.max(last + 1)
}

fn chicago(secs: i64) -> DateTime<chrono_tz::Tz> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .with_timezone(&Chicago)
}

/// ISO-8601 with the Chicago offset, e.g. `2026-05-28T03:05:54-05:00`.
pub(crate) fn iso(secs: i64) -> String {
    chicago(secs).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Zone-less Chicago wall time, e.g. `2026-05-28 03:05:54`.
pub(crate) fn wall(secs: i64) -> String {
    chicago(secs).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Chicago calendar date, e.g. `2026-05-28`.
pub(crate) fn date(secs: i64) -> String {
    chicago(secs).format("%Y-%m-%d").to_string()
}

/// Parses a `filters[updated_after]`-style value: a date (`YYYY-MM-DD`, midnight Chicago),
/// an RFC 3339 datetime, or a zone-less datetime (Chicago). `None` when unparseable, which
/// makes the filter ignored, as ActiveCampaign ignores what it does not understand.
pub(crate) fn parse_filter_time(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Some(dt.timestamp());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(value, format) {
            return local(naive);
        }
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    local(day.and_hms_opt(0, 0, 0)?)
}

fn local(naive: NaiveDateTime) -> Option<i64> {
    Chicago
        .from_local_datetime(&naive)
        .earliest()
        .map(|dt| dt.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_never_reads_behind_a_time_it_wrote() {
        let clock = Clock::new(-600);
        let behind = clock.now_secs();
        assert!(behind <= now_secs() - 599, "skewed behind the host");
        clock.observe(now_secs() + 3_600);
        assert!(clock.now_secs() >= now_secs() + 3_599);
        clock.observe(0);
        assert!(
            clock.now_secs() >= now_secs() + 3_599,
            "an older time moves nothing"
        );
    }

    #[test]
    fn iso_uses_the_central_offset_with_daylight_saving() {
        let summer = DateTime::parse_from_rfc3339("2026-05-28T08:05:54Z").expect("valid");
        let winter = DateTime::parse_from_rfc3339("2026-01-20T15:28:02Z").expect("valid");
        assert_eq!(iso(summer.timestamp()), "2026-05-28T03:05:54-05:00");
        assert_eq!(wall(summer.timestamp()), "2026-05-28 03:05:54");
        assert_eq!(iso(winter.timestamp()), "2026-01-20T09:28:02-06:00");
    }

    #[test]
    fn filter_times_accept_dates_and_datetimes() {
        let t = parse_filter_time("2026-05-28T03:05:54-05:00").expect("rfc3339");
        assert_eq!(parse_filter_time("2026-05-28 03:05:54"), Some(t));
        assert_eq!(parse_filter_time("2026-05-28T08:05:54Z"), Some(t));
        let day = parse_filter_time("2026-05-28").expect("date");
        assert_eq!(iso(day), "2026-05-28T00:00:00-05:00");
        assert_eq!(parse_filter_time("yesterday"), None);
    }

    #[test]
    fn the_service_clock_runs_off_the_host_by_the_skew() {
        // Generous bounds: only the skew is under test, not the speed of the machine.
        let within = |t: i64, host: i64, skew: i64| (host + skew..host + skew + 60).contains(&t);
        let (behind, ahead) = (Clock::new(-600), Clock::new(600));
        let host = now_secs();
        assert!(within(behind.now_secs(), host, -600));
        assert!(within(ahead.now_secs(), host, 600));
        let date = DateTime::parse_from_rfc2822(&ahead.http_date()).expect("an HTTP date");
        assert!(within(date.timestamp(), host, 600));
        ahead.set_skew(0);
        assert!(within(ahead.now_secs(), host, 0));
    }

    #[test]
    fn change_times_strictly_increase_within_a_second() {
        assert_eq!(next_change_time(100, 50), 100);
        assert_eq!(next_change_time(100, 100), 101);
        assert_eq!(next_change_time(100, 101), 102);
    }
}
