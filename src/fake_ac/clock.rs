//! Times as ActiveCampaign writes them, and the simulator's notion of "now".
//!
//! Records keep Unix seconds; the wire shows America/Chicago wall time with its offset
//! (`2026-05-28T03:05:54-05:00`) or the same wall time without a zone (`2026-05-28 03:05:54`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::America::Chicago;

/// The current time in whole seconds.
pub(crate) fn now_secs() -> i64 {
    Utc::now().timestamp()
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
    fn change_times_strictly_increase_within_a_second() {
        assert_eq!(next_change_time(100, 50), 100);
        assert_eq!(next_change_time(100, 100), 101);
        assert_eq!(next_change_time(100, 101), 102);
    }
}
