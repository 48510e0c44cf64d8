//! Custom field values keyed by personalisation tag (`contact[fields][utm_source]`), as
//! automation webhooks send them, instead of by numeric field id.
//!
//! A tag resolves through `fields.perstag`, compared case-insensitively. The `fields` table is
//! filled by reconciliation, so a tag can be unknown only because the field is new upstream:
//! such a delivery is stored `failed` with a reason that starts with [`UNKNOWN_TAG_REASON`],
//! and every dimension refresh (every reconciliation run) puts those deliveries back in the
//! queue. A tag that is still unknown after the refresh fails again, with the same reason.

use std::collections::HashMap;

use diesel::prelude::*;

use super::apply::ApplyError;
use super::status::DeliveryStatus;
use crate::db::schema::{fields, webhook_events as we};
use crate::db::DbConn;

/// How the reason of a delivery failed for an unknown personalisation tag begins.
pub const UNKNOWN_TAG_REASON: &str = "unknown personalisation tag";

/// The failure reason for `tags` (lower case).
pub fn unknown_reason(tags: &[String]) -> String {
    let keys: Vec<String> = tags
        .iter()
        .map(|t| format!("contact[fields][{t}]"))
        .collect();
    format!(
        "{UNKNOWN_TAG_REASON}: no custom field has the personalisation tag of {}. The delivery \
         is applied again after the next reconciliation reads the custom fields; run \
         `acmirror resync --only dimensions` to do it now",
        keys.join(", ")
    )
}

/// The personalisation tags of the known fields (lower case) and their field ids.
pub fn known(conn: &mut DbConn) -> QueryResult<HashMap<String, i64>> {
    Ok(fields::table
        .filter(fields::perstag.is_not_null())
        .select((fields::id, fields::perstag))
        .load::<(i64, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(id, tag)| Some((tag?.to_lowercase(), id)))
        .collect())
}

/// Resolves `(tag, value)` pairs to `(field id, value)` with the `known` tags; fails with
/// every unknown tag.
pub fn resolve(
    known: &HashMap<String, i64>,
    tagged: &[(String, String)],
) -> Result<Vec<(i64, String)>, ApplyError> {
    let mut unknown: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(tagged.len());
    for (tag, value) in tagged {
        match known.get(&tag.to_lowercase()) {
            Some(id) => out.push((*id, value.clone())),
            None => unknown.push(tag.to_lowercase()),
        }
    }
    if unknown.is_empty() {
        Ok(out)
    } else {
        unknown.sort();
        unknown.dedup();
        Err(ApplyError::UnknownFieldTags(unknown))
    }
}

/// Puts deliveries that failed for an unknown personalisation tag back in the queue; called
/// once the custom fields have been read again. Returns how many.
pub fn requeue_unknown_tags(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(
        we::table
            .filter(we::status.eq(DeliveryStatus::Failed))
            .filter(we::error.like(format!("{UNKNOWN_TAG_REASON}%"))),
    )
    .set((
        we::status.eq(DeliveryStatus::Pending),
        we::error.eq(None::<String>),
    ))
    .execute(conn)
}
