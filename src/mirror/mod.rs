//! The one write path into the mirror tables.
//!
//! Webhook apply and reconciliation both call these functions with the source time of the
//! state they carry (an event's `date_time`, or the API's `udate`/`mdate`). Every write
//! compares that time with the version the row holds inside the same statement
//! (`ON CONFLICT … DO UPDATE … WHERE row.updated_at <= excluded.updated_at`), so older input
//! never overwrites newer state, whatever order it arrives in, and concurrent appliers cannot
//! interleave a read and a write. Equal times: the later arrival wins.

pub mod contacts;
pub mod deals;
pub mod dimensions;
pub mod tags;
pub mod values;

use chrono::NaiveDateTime;

/// The time a piece of state became true upstream, in UTC.
pub type SourceTime = NaiveDateTime;

diesel::define_sql_function! {
    /// `COALESCE` for nullable timestamps.
    #[sql_name = "COALESCE"]
    fn coalesce_ts(x: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, y: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamp>;
}

diesel::define_sql_function! {
    /// `COALESCE` for nullable big integers.
    #[sql_name = "COALESCE"]
    fn coalesce_i64(x: diesel::sql_types::Nullable<diesel::sql_types::BigInt>, y: diesel::sql_types::Nullable<diesel::sql_types::BigInt>) -> diesel::sql_types::Nullable<diesel::sql_types::BigInt>;
}

/// Rows per multi-row statement; well under SQLite's bound-variable limit.
pub(crate) const CHUNK: usize = 400;

/// The current time as the mirror records it (`synced_at`).
pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// `ON CONFLICT … DO UPDATE … WHERE`: diesel exposes the `WHERE` of an upsert through
/// `FilterDsl`, whose `filter` would be ambiguous with `QueryDsl::filter` if imported.
pub(crate) trait OnlyIf<P>: diesel::query_dsl::methods::FilterDsl<P> + Sized {
    /// Updates the conflicting row only where `predicate` holds.
    fn only_if(self, predicate: P) -> Self::Output {
        diesel::query_dsl::methods::FilterDsl::filter(self, predicate)
    }
}

impl<T: diesel::query_dsl::methods::FilterDsl<P>, P> OnlyIf<P> for T {}
