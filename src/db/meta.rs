//! The daemon's own key-value settings (`acmirror_meta`).

use diesel::prelude::*;

use super::schema::acmirror_meta::dsl as m;
use super::DbConn;
use crate::db::with_backend;

/// Reads a setting.
pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    m::acmirror_meta
        .filter(m::key.eq(key))
        .select(m::value)
        .first(conn)
        .optional()
}

/// Stores `value` under `key` unless a value is there already, and returns the value that
/// is stored. Replicas racing to initialise the same key all end up with one value.
pub fn get_or_insert(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<String> {
    with_backend!(&mut *conn, |c| diesel::insert_into(m::acmirror_meta)
        .values((m::key.eq(key), m::value.eq(value)))
        .on_conflict(m::key)
        .do_nothing()
        .execute(c))?;
    m::acmirror_meta
        .filter(m::key.eq(key))
        .select(m::value)
        .first(conn)
}
