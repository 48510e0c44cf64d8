//! Time in the mirror: the source time that orders writes, the host's `now`, and
//! ActiveCampaign's timestamps, read one way everywhere.
//!
//! [`SourceTime`] is the instant a piece of state became true upstream, in UTC; every write
//! compares it with the stored one, so older data never overwrites newer. [`now`] is the host's
//! clock, which the mirror records as `synced_at` and `received_at` and never compares with a
//! source time.
//!
//! Webhook deliveries (`date_time`, `deal[create_date]`, `task[duedate]`…) and API records
//! (`cdate`, `udate`, `mdate`, `edate`, `*_timestamp`) use the same handful of styles. Both
//! paths call [`parse`], so that one text always means one instant, whichever way it reached
//! the mirror:
//!
//! - RFC 3339 / ISO-8601 with an offset: `2026-05-28T03:05:54-05:00`, `…Z`, `…-0500`, with a
//!   `T` or a space, with or without fractional seconds. Exact.
//! - Zone-less `YYYY-MM-DD HH:MM:SS` (or with a `T`, optionally with fractional seconds):
//!   wall time in America/Chicago, the zone every recorded sample carries.
//!   - In the autumn overlap (a wall time that happened twice) the earlier instant is taken.
//!   - A wall time in the spring-forward gap (02:00–02:59 on the second Sunday of March) never
//!     showed on a Chicago clock. It is read with the offset in force before the jump (standard
//!     time, UTC−6), i.e. as a clock that had not yet sprung forward would have meant it:
//!     `2024-03-10 02:30:00` is `2024-03-10T08:30:00Z` (03:30 CDT).
//! - A bare `YYYY-MM-DD`: midnight America/Chicago.
//! - Empty, or any value starting `0000-00-00`: no time (`Ok(None)`).
//!
//! Anything else is an error; the webhook path fails the delivery with it (it can be replayed
//! after a fix), the API path logs it and treats the value as absent (one odd value must not
//! fail a page).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::America::Chicago;

/// The time a piece of state became true upstream, in UTC.
pub type SourceTime = NaiveDateTime;

/// An API time as a source time (UTC, without zone).
pub fn source_time(t: Option<DateTime<Utc>>) -> Option<SourceTime> {
    t.map(|t| t.naive_utc())
}

/// The current time as the mirror records it (`synced_at`, `received_at`).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// A text that is not a timestamp in any of ActiveCampaign's styles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{shown} is not an ActiveCampaign time (RFC 3339, or YYYY-MM-DD[ HH:MM:SS] in America/Chicago)"
)]
pub struct TimeError {
    /// The start of the offending text, quoted.
    shown: String,
}

impl TimeError {
    fn of(raw: &str) -> Self {
        let cut: String = raw.chars().take(40).collect();
        TimeError {
            shown: format!("{cut:?}"),
        }
    }
}

/// True for the values that mean "no time": empty and the zero date in any form.
pub fn is_blank(raw: &str) -> bool {
    let s = raw.trim();
    s.is_empty() || s.starts_with("0000-00-00")
}

/// Reads one ActiveCampaign timestamp; see the module documentation for the styles.
pub fn parse(raw: &str) -> Result<Option<DateTime<Utc>>, TimeError> {
    let s = raw.trim();
    if is_blank(s) {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return chicago(naive).map(Some).ok_or_else(|| TimeError::of(s));
        }
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| TimeError::of(s))?;
    day.and_hms_opt(0, 0, 0)
        .and_then(chicago)
        .map(Some)
        .ok_or_else(|| TimeError::of(s))
}

/// A Chicago wall time as an instant: the earlier one in the overlap, the standard-offset
/// reading in the gap. `None` only at the edges of chrono's range.
pub fn chicago(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match Chicago.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        // Chicago's gaps are one hour long, so an hour earlier is a wall time before the jump,
        // carrying the offset then in force; the same offset applied to `naive` is that
        // instant plus an hour.
        LocalResult::None => Chicago
            .from_local_datetime(&naive.checked_sub_signed(Duration::hours(1))?)
            .earliest()
            .and_then(|before| {
                before
                    .with_timezone(&Utc)
                    .checked_add_signed(Duration::hours(1))
            }),
    }
}

/// Formats a `filters[updated_after]` / `filters[created_after]` value.
///
/// The parameter is documented as a `date` and its handling of time and zone is unverified.
/// ISO-8601 in America/Chicago with an explicit offset is right under every plausible server
/// behaviour: an offset-aware parser gets the exact instant, a parser that drops the offset
/// compares against the account's Chicago wall clock, and one that keeps only the date gets
/// the Chicago date, which is never later than the UTC date. Callers add their own overlap.
pub fn format_filter_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Chicago)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> Option<DateTime<Utc>> {
        Some(rfc3339.parse().expect("test literal is RFC 3339"))
    }

    fn ok(raw: &str) -> Option<DateTime<Utc>> {
        parse(raw).unwrap_or_else(|e| panic!("{raw:?} parses: {e}"))
    }

    #[test]
    fn offsets_are_exact_in_every_spelling() {
        let want = at("2026-05-28T08:05:54Z");
        for raw in [
            "2026-05-28T03:05:54-05:00",
            "2026-05-28T03:05:54-0500",
            "2026-05-28 03:05:54-05:00",
            "2026-05-28T08:05:54Z",
            "2026-05-28T08:05:54+00:00",
            " 2026-05-28T03:05:54-05:00 ",
        ] {
            assert_eq!(ok(raw), want, "{raw}");
        }
    }

    #[test]
    fn fractional_seconds_are_kept() {
        assert_eq!(
            ok("2026-05-28T03:05:54.250-05:00"),
            at("2026-05-28T08:05:54.250Z")
        );
        assert_eq!(ok("2026-05-28 03:05:54.5"), at("2026-05-28T08:05:54.500Z"));
        assert_eq!(
            ok("2026-05-28T03:05:54.123456"),
            at("2026-05-28T08:05:54.123456Z")
        );
    }

    #[test]
    fn zone_less_times_are_chicago_wall_time_in_summer_and_winter() {
        assert_eq!(ok("2026-05-28 03:05:54"), at("2026-05-28T08:05:54Z"));
        assert_eq!(ok("2026-05-28T03:05:54"), at("2026-05-28T08:05:54Z"));
        assert_eq!(ok("2019-11-22 14:15:37"), at("2019-11-22T20:15:37Z"));
    }

    #[test]
    fn a_spring_forward_gap_time_reads_with_the_standard_offset() {
        // 2024-03-10: 02:00 CST jumped to 03:00 CDT; 02:30 never showed on a Chicago clock.
        assert_eq!(ok("2024-03-10 02:30:00"), at("2024-03-10T08:30:00Z"));
        assert_eq!(ok("2024-03-10 02:00:00"), at("2024-03-10T08:00:00Z"));
        assert_eq!(ok("2024-03-10 02:59:59.5"), at("2024-03-10T08:59:59.500Z"));
        // The instants either side of the gap are ordinary.
        assert_eq!(ok("2024-03-10 01:59:59"), at("2024-03-10T07:59:59Z"));
        assert_eq!(ok("2024-03-10 03:00:00"), at("2024-03-10T08:00:00Z"));
    }

    #[test]
    fn a_fall_back_overlap_time_reads_as_the_earlier_instant() {
        // 2024-11-03: 01:00–01:59 happened twice, first in CDT (UTC−5) then in CST (UTC−6).
        assert_eq!(ok("2024-11-03 01:30:00"), at("2024-11-03T06:30:00Z"));
        assert_eq!(ok("2024-11-03 00:59:59"), at("2024-11-03T05:59:59Z"));
        assert_eq!(ok("2024-11-03 02:00:00"), at("2024-11-03T08:00:00Z"));
    }

    #[test]
    fn a_date_alone_is_midnight_in_chicago() {
        assert_eq!(ok("2020-05-19"), at("2020-05-19T05:00:00Z"));
        assert_eq!(ok("2020-01-19"), at("2020-01-19T06:00:00Z"));
        // Transition days: midnight comes before the 02:00 change.
        assert_eq!(ok("2024-03-10"), at("2024-03-10T06:00:00Z"));
        assert_eq!(ok("2024-11-03"), at("2024-11-03T05:00:00Z"));
    }

    #[test]
    fn zero_dates_and_blanks_are_no_time() {
        for raw in [
            "",
            "   ",
            "0000-00-00",
            "0000-00-00 00:00:00",
            "0000-00-00T00:00:00-05:00",
        ] {
            assert_eq!(parse(raw), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn other_text_is_an_error_that_quotes_it() {
        for raw in [
            "soon",
            "2024-13-01",
            "2024-02-30 10:00:00",
            "99999-01-01T00:00:00Z",
            "12:00",
        ] {
            let e = parse(raw).expect_err(raw);
            assert!(e.to_string().contains(&raw[..2]), "{e}");
        }
        let long = "x".repeat(500);
        assert!(parse(&long).expect_err("garbage").to_string().len() < 200);
    }

    #[test]
    fn filter_times_are_chicago_iso_with_offset() {
        let t = at("2026-05-28T08:05:54Z").expect("literal");
        assert_eq!(format_filter_time(t), "2026-05-28T03:05:54-05:00");
        let winter = at("2026-01-02T03:00:00Z").expect("literal");
        assert_eq!(format_filter_time(winter), "2026-01-01T21:00:00-06:00");
        assert_eq!(ok(&format_filter_time(t)), Some(t));
    }
}
