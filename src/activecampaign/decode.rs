//! Lenient decoding of ActiveCampaign's scalars and timestamps.
//!
//! The API sends nearly every number as a string (`"id":"5"`), a few as numbers, flags as
//! booleans or `0`/`1`, and timestamps in four styles. These `deserialize_with` helpers accept
//! every variant seen in real traffic, so that a new quirk degrades one value instead of
//! failing a whole page.

use chrono::{DateTime, Utc};

use crate::time;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads any JSON scalar as an integer: `5`, `"5"`, `5.0`, `"5.0"`. Anything else is `None`.
fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && f.fract() == 0.0)
                    .map(|f| f as i64)
            })
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A required id: string or number. Missing or unreadable ids are a shape error, because a
/// record without an id cannot be mirrored.
pub(crate) fn id<'de, D: Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(de)?;
    as_i64(&value).ok_or_else(|| serde::de::Error::custom(format!("expected an id, got {value}")))
}

/// An optional integer: string or number; `null`, `""` and unreadable values are `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(as_i64(&Value::deserialize(de)?))
}

/// A foreign key: like [`opt_i64`], and `0` also means "none" (`"contact":"0"`).
pub(crate) fn opt_ref<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(opt_i64(de)?.filter(|id| *id != 0))
}

/// A small enumeration such as a status (`"1"`, `1`).
pub(crate) fn opt_i32<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i32>, D::Error> {
    Ok(opt_i64(de)?.and_then(|n| i32::try_from(n).ok()))
}

/// A count such as `meta.total`: `"14"` on most endpoints, `15` on `/deals`.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    Ok(opt_i64(de)?.and_then(|n| u64::try_from(n).ok()))
}

/// A flag: `true`/`false`, `1`/`0`, `"1"`/`"0"`, `"true"`/`"false"`; `null` is false.
pub(crate) fn flag<'de, D: Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Bool(b) => b,
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true"),
        other => as_i64(&other).is_some_and(|n| n != 0),
    })
}

/// Free text: strings as they are, numbers and booleans as their JSON text, `null` as `""`.
pub(crate) fn text<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    Ok(opt_text(de)?.unwrap_or_default())
}

/// Like [`text`] but `null` stays `None`.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other @ (Value::Number(_) | Value::Bool(_)) => Some(other.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    })
}

/// A list of records where `null` or a missing key means none.
pub(crate) fn list<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// A list of ids (strings or numbers); `None` when the key is missing, `null` or not a list,
/// so that "not said" stays apart from "none".
pub(crate) fn opt_id_list<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Vec<i64>>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Array(items) => Some(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Value::String(s) => s.trim().parse().ok(),
                    Value::Number(n) => n.as_i64(),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    })
}

/// A list of strings; `null` or a non-list is empty.
pub(crate) fn text_list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A timestamp in any of the API's styles (see [`crate::time`]); an unreadable one is logged
/// and treated as absent, so that one odd value does not fail a page.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::String(s) => time::parse(&s).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unreadable ActiveCampaign timestamp treated as absent");
            None
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "id")]
        id: i64,
        #[serde(default, deserialize_with = "opt_ref")]
        owner: Option<i64>,
        #[serde(default, deserialize_with = "flag")]
        disabled: bool,
        #[serde(default, deserialize_with = "opt_u64")]
        total: Option<u64>,
        #[serde(default, deserialize_with = "text")]
        name: String,
        #[serde(default, deserialize_with = "timestamp")]
        at: Option<DateTime<Utc>>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).expect("probe decodes")
    }

    fn utc(s: &str) -> Option<DateTime<Utc>> {
        Some(
            s.parse::<DateTime<Utc>>()
                .expect("test literal is RFC 3339"),
        )
    }

    #[test]
    fn ids_and_counts_accept_strings_and_numbers() {
        assert_eq!(probe(r#"{"id":"5"}"#).id, 5);
        assert_eq!(probe(r#"{"id":5}"#).id, 5);
        assert_eq!(probe(r#"{"id":"7","total":"14"}"#).total, Some(14));
        assert_eq!(probe(r#"{"id":"7","total":15}"#).total, Some(15));
        assert!(serde_json::from_str::<Probe>(r#"{"id":"abc"}"#).is_err());
    }

    #[test]
    fn zero_and_null_references_mean_none() {
        assert_eq!(probe(r#"{"id":1,"owner":"0"}"#).owner, None);
        assert_eq!(probe(r#"{"id":1,"owner":null}"#).owner, None);
        assert_eq!(probe(r#"{"id":1,"owner":"3"}"#).owner, Some(3));
    }

    #[test]
    fn flags_accept_booleans_and_digits() {
        for (json, want) in [
            ("true", true),
            ("1", true),
            (r#""1""#, true),
            ("false", false),
        ] {
            let text = format!(r#"{{"id":1,"disabled":{json}}}"#);
            assert_eq!(probe(&text).disabled, want, "{json}");
        }
        assert!(!probe(r#"{"id":1,"disabled":"0"}"#).disabled);
        assert!(!probe(r#"{"id":1,"disabled":null}"#).disabled);
    }

    #[test]
    fn text_tolerates_null_and_numbers() {
        assert_eq!(probe(r#"{"id":1,"name":null}"#).name, "");
        assert_eq!(probe(r#"{"id":1,"name":42}"#).name, "42");
    }

    #[test]
    fn zero_empty_null_and_garbage_dates_are_none() {
        for raw in ["0000-00-00", "0000-00-00 00:00:00", "", "  ", "soon"] {
            let text = format!(r#"{{"id":1,"at":"{raw}"}}"#);
            assert_eq!(probe(&text).at, None, "{raw:?}");
        }
        assert_eq!(probe(r#"{"id":1,"at":null}"#).at, None);
        assert_eq!(probe(r#"{"id":1,"at":"0000-00-00 00:00:00"}"#).at, None);
        assert_eq!(
            probe(r#"{"id":1,"at":"2026-05-28T05:07:18-05:00"}"#).at,
            utc("2026-05-28T10:07:18Z")
        );
    }
}
