//! Sizing the connection pool to what the database server can give.
//!
//! PostgreSQL refuses connections beyond `max_connections` (less the slots reserved for
//! superusers and for `pg_use_reserved_connections`), and every client of the server shares
//! those slots: psql, backups, monitoring and other replicas of this daemon. A pool sized
//! beyond what is free would take every slot and lock the others out.
//!
//! The rule ([`cap_pool`]): the pool may use at most **half of the slots free at start**
//! (rounded down, at least one), where free = `max_connections` − reserved slots − client
//! connections already open. Half leaves room for other clients and for a second replica that
//! starts later and applies the same rule. No free slot at all is refused.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::PgConnection;

use crate::setting::ConfigError;

/// The setting that sizes the pool.
pub const POOL_SETTING: &str = "ACMIRROR_DB_POOL_SIZE";

/// What the server reported at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerSlots {
    /// `max_connections`.
    pub max_connections: i64,
    /// `superuser_reserved_connections` plus `reserved_connections` (PostgreSQL 16+).
    pub reserved: i64,
    /// Client connections open now, other than the one that asked.
    pub in_use: i64,
}

impl ServerSlots {
    /// Slots another ordinary client could still open.
    pub fn free(&self) -> i64 {
        (self.max_connections - self.reserved - self.in_use).max(0)
    }
}

/// The pool size to use: `requested`, or less when the server has too few free slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolCap {
    /// The size to build the pool with.
    pub size: u32,
    /// True when `size` is below what was requested.
    pub capped: bool,
}

/// Applies the rule of this module; refuses a request that cannot work.
pub fn cap_pool(requested: u32, slots: ServerSlots) -> Result<PoolCap, ConfigError> {
    if requested == 0 {
        return Err(ConfigError {
            setting: POOL_SETTING,
            message: "0 connections cannot work; use a positive number (default 8)".into(),
        });
    }
    let free = slots.free();
    if free == 0 {
        return Err(ConfigError {
            setting: POOL_SETTING,
            message: format!(
                "the database server has no free connection slot ({} in use, {} reserved, max_connections {}); close idle clients or raise max_connections, then start again",
                slots.in_use, slots.reserved, slots.max_connections
            ),
        });
    }
    let allowed = u32::try_from((free / 2).max(1)).unwrap_or(u32::MAX);
    Ok(PoolCap {
        size: requested.min(allowed),
        capped: requested > allowed,
    })
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    max_connections: i64,
    #[diesel(sql_type = BigInt)]
    reserved: i64,
    #[diesel(sql_type = BigInt)]
    in_use: i64,
}

/// Reads the server's slots over one short-lived connection.
pub fn probe(conn: &mut PgConnection) -> QueryResult<ServerSlots> {
    // `reserved_connections` exists from PostgreSQL 16; `current_setting(.., true)` gives NULL
    // before that. Only client backends take a `max_connections` slot.
    let row: Row = diesel::sql_query(
        "SELECT current_setting('max_connections')::bigint AS max_connections, \
         current_setting('superuser_reserved_connections')::bigint \
           + COALESCE(NULLIF(current_setting('reserved_connections', true), '')::bigint, 0) AS reserved, \
         (SELECT count(*) FROM pg_stat_activity \
           WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) AS in_use",
    )
    .get_result(conn)?;
    Ok(ServerSlots {
        max_connections: row.max_connections,
        reserved: row.reserved,
        in_use: row.in_use,
    })
}

/// Logs pool connection failures without flooding: the first at once, then at most one line
/// every 10 seconds with the number of failures in between.
#[derive(Debug, Default)]
pub struct QuietErrors {
    last_logged: AtomicU64,
    suppressed: AtomicU64,
}

impl<E: std::fmt::Display> diesel::r2d2::HandleError<E> for QuietErrors {
    fn handle_error(&self, error: E) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_logged.load(Ordering::Relaxed);
        if last != 0 && now < last + 10 {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self
            .last_logged
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(
                error = %error,
                similar_errors_not_logged = suppressed,
                "cannot open a database connection; if the server says too many clients, lower {POOL_SETTING} or raise max_connections"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(max: i64, reserved: i64, in_use: i64) -> ServerSlots {
        ServerSlots {
            max_connections: max,
            reserved,
            in_use,
        }
    }

    #[test]
    fn a_pool_that_fits_is_kept() {
        let cap = cap_pool(8, slots(100, 3, 10)).expect("fits");
        assert_eq!(
            cap,
            PoolCap {
                size: 8,
                capped: false
            }
        );
    }

    #[test]
    fn an_oversized_pool_takes_half_of_the_free_slots() {
        // 100 − 3 reserved − 10 in use = 87 free; half is 43.
        let cap = cap_pool(200, slots(100, 3, 10)).expect("capped");
        assert_eq!(
            cap,
            PoolCap {
                size: 43,
                capped: true
            }
        );
    }

    #[test]
    fn a_single_free_slot_still_gives_one_connection() {
        let cap = cap_pool(8, slots(20, 3, 16)).expect("one slot");
        assert_eq!(cap.size, 1);
        assert!(cap.capped);
    }

    #[test]
    fn no_free_slot_or_zero_is_refused_naming_the_setting() {
        let err = cap_pool(8, slots(20, 3, 17)).expect_err("full");
        assert_eq!(err.setting, POOL_SETTING);
        assert!(err.message.contains("max_connections"), "{err}");
        let err = cap_pool(0, slots(100, 3, 0)).expect_err("zero");
        assert_eq!(err.setting, POOL_SETTING);
    }
}
