//! ActiveCampaign's timestamps, read one way everywhere.
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

    /// The API path: a record field decoded by the deserializer every API type uses.
    fn api_path(raw: &str) -> Option<DateTime<Utc>> {
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(deserialize_with = "crate::activecampaign::decode::timestamp")]
            at: Option<DateTime<Utc>>,
        }
        let json = serde_json::json!({ "at": raw }).to_string();
        serde_json::from_str::<Probe>(&json)
            .expect("a string always decodes")
            .at
    }

    /// The webhook path: a delivery's time field.
    fn webhook_path(raw: &str) -> Result<Option<DateTime<Utc>>, String> {
        crate::webhook::event::time("date_time", Some(raw))
            .map(|t| t.map(|t| t.and_utc()))
            .map_err(|e| e.to_string())
    }

    fn assert_paths_agree(raw: &str) -> Result<Option<DateTime<Utc>>, TestCaseError> {
        let webhook = webhook_path(raw);
        let api = api_path(raw);
        match &webhook {
            Ok(t) => prop_assert_eq!(*t, api, "{:?}", raw),
            Err(_) => prop_assert_eq!(api, None, "{:?}", raw),
        }
        Ok(webhook.ok().flatten())
    }

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    /// Instants from 1990 to 2060, whole seconds or with a fraction.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        (
            631_152_000i64..2_840_140_800,
            prop_oneof![Just(0u32), 0u32..1_000_000_000],
        )
            .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
    }

    proptest! {
        #[test]
        fn both_paths_read_offset_times_exactly(t in instant(), offset_min in -720i32..=840, z in any::<bool>()) {
            let zone = chrono::FixedOffset::east_opt(offset_min * 60).expect("in range");
            let raw = if z && offset_min == 0 {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            } else {
                t.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            };
            prop_assert_eq!(assert_paths_agree(&raw)?, Some(t));
        }

        #[test]
        fn both_paths_read_chicago_wall_times_alike(t in instant(), sep in prop_oneof![Just(" "), Just("T")]) {
            let wall = t.with_timezone(&Chicago);
            let raw = format!("{}{sep}{}", wall.format("%Y-%m-%d"), wall.format("%H:%M:%S%.f"));
            let read = assert_paths_agree(&raw)?.expect("a wall time is a time");
            // The same wall time, and the instant itself or (in the autumn overlap) the earlier
            // of the two.
            prop_assert_eq!(read.with_timezone(&Chicago).naive_local(), wall.naive_local());
            prop_assert!(read == t || read == t - Duration::hours(1), "{} read as {}", raw, read);
        }

        #[test]
        fn both_paths_read_any_wall_text_alike(
            day in 0i64..25_000, secs in 0u32..86_400, frac in prop_oneof![Just(String::new()), "\\.[0-9]{1,9}"],
        ) {
            // Every wall time of a day, including the ones a gap skips.
            let date = NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid") + Duration::days(day);
            let naive = date.and_hms_opt(secs / 3600, secs / 60 % 60, secs % 60).expect("valid");
            let raw = format!("{}{frac}", naive.format("%Y-%m-%d %H:%M:%S"));
            let read = assert_paths_agree(&raw)?.expect("every wall time is read");
            let wall_as_utc = naive.and_utc();
            // Chicago is five or six hours behind UTC; a gap time lands within that too.
            let behind = read.signed_duration_since(wall_as_utc).num_seconds();
            prop_assert!((5 * 3600..=6 * 3600 + 1).contains(&behind), "{} read as {}", raw, read);
        }

        #[test]
        fn both_paths_agree_on_arbitrary_text(raw in ".{0,40}") {
            assert_paths_agree(&raw)?;
        }

        #[test]
        fn both_paths_agree_on_dates_alone(day in 0i64..25_000) {
            let date = NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid") + Duration::days(day);
            let raw = date.format("%Y-%m-%d").to_string();
            let read = assert_paths_agree(&raw)?.expect("a date is a time");
            prop_assert_eq!(read.with_timezone(&Chicago).naive_local(), date.and_hms_opt(0, 0, 0).expect("midnight"));
        }
    }
}
