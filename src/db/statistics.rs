//! Planner statistics for tables that grow faster than autovacuum looks at them.
//!
//! PostgreSQL plans `id = ANY($1)` from the table's statistics. Without them (a table filled
//! since its last `ANALYZE`) it assumes each key matches a fixed fraction of the rows, so a
//! lookup of a page's 100 contacts looks like a fifth of the table and runs as a sequential
//! scan: measured on `contact_tag_states` with 1,000,000 rows, 70 ms instead of 0.2 ms. A
//! full reconciliation into a new database fills the mirror's tables at thousands of rows per
//! second, while autovacuum analyzes each database at most once a minute; so the reconciler
//! calls [`refresh`] between pages, which analyzes a mirror table each time its file has
//! doubled since the planner last learned its size (a handful of times while it fills to a
//! million rows, never while its size holds).
//! SQLite plans key lookups by index without statistics; there this does nothing.

use diesel::sql_types::Text;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use super::DbConn;

/// The mirror tables that are read by key while they fill.
pub const TABLES: &[&str] = &[
    "contacts",
    "contact_tag_states",
    "contact_field_values",
    "contact_lists",
    "deals",
];

/// Bytes below which a table is left to autovacuum (a scan of it takes about a millisecond).
const MIN_BYTES: i64 = 1024 * 1024;

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = Text)]
    relname: String,
}

/// Analyzes each of [`TABLES`] that is more than twice the size the planner last learned and
/// over [`MIN_BYTES`] (PostgreSQL); returns the tables analyzed.
pub fn refresh(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let DbConn::Pg(c) = conn else {
        return Ok(Vec::new());
    };
    // `relpages` is the size the planner last learned (0: never analyzed); the file's size
    // now is one stat() away.
    let stale: Vec<Stale> = diesel::sql_query(format!(
        "SELECT c.relname::text AS relname FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' \
         AND c.relname IN ({}) \
         AND pg_relation_size(c.oid) > GREATEST({MIN_BYTES}, \
             2 * c.relpages::bigint * current_setting('block_size')::bigint)",
        TABLES
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .load(c)?;
    let mut analyzed = Vec::with_capacity(stale.len());
    for Stale { relname } in stale {
        if !TABLES.contains(&relname.as_str()) {
            continue;
        }
        diesel::sql_query(format!("ANALYZE \"{relname}\"")).execute(c)?;
        analyzed.push(relname);
    }
    Ok(analyzed)
}

/// [`refresh`] for callers whose work is already done: only speed depends on it, so a
/// failure is logged, not returned.
pub fn refresh_logged(conn: &mut DbConn) {
    match refresh(conn) {
        Ok(tables) if !tables.is_empty() => {
            tracing::debug!(?tables, "refreshed planner statistics");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not refresh planner statistics"),
    }
}
