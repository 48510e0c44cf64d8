//! Prepared-statement caching for statements of a fixed shape that diesel will not cache.
//!
//! diesel marks every `UPDATE` and every `ON CONFLICT … DO UPDATE` as unsafe to cache, because
//! their SQL *can* vary between executions of one Rust type (a changeset that skips `None`
//! fields, a batch of varying length) and its fast cache is keyed by type. So on SQLite each
//! row of an upsert was parsed and planned again: the profile of apply and reconciliation
//! showed `sqlite3_prepare_v3` at about 40 % of the time.
//!
//! [`Cached`] forces the other cache key diesel has, the SQL text itself (plus bind types), so a
//! statement whose text differs is a different entry and correctness does not depend on the
//! shape being fixed. Only wrap statements whose text takes few forms (single-row upserts,
//! updates by key), never `IN (…)` lists of varying length: each distinct text stays cached
//! for the life of the connection.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement cached by its SQL text. See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    // No static id: diesel then keys the cache by the SQL text, never by the Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}
