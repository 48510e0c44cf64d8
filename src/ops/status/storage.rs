//! How much room stored deliveries take: the `webhook_events` row count, its size on disk
//! where the backend tells it, and the oldest delivery kept (what retention prunes next).

use chrono::NaiveDateTime;
use diesel::dsl::min;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::WebhookStorage;
use crate::db::schema::webhook_events as we;
use crate::db::DbConn;
use crate::ops::utc;

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = Nullable<BigInt>)]
    bytes: Option<i64>,
}

/// The storage figures; `rows` is passed in (the status counts already read them).
pub(super) fn webhook_storage(conn: &mut DbConn, rows: i64) -> QueryResult<WebhookStorage> {
    let oldest: Option<NaiveDateTime> = we::table.select(min(we::received_at)).get_result(conn)?;
    let (bytes, size_of) = size_on_disk(conn)?;
    Ok(WebhookStorage {
        rows,
        bytes,
        size_of: size_of.to_owned(),
        oldest_received_at: oldest.map(utc),
    })
}

/// PostgreSQL: the table with its indexes and TOAST. SQLite: the table and its indexes from
/// the `dbstat` virtual table when the library has it, else the whole database file.
fn size_on_disk(conn: &mut DbConn) -> QueryResult<(Option<i64>, &'static str)> {
    match conn {
        DbConn::Pg(c) => {
            let s: Size = diesel::sql_query(
                "SELECT pg_total_relation_size('webhook_events')::bigint AS bytes",
            )
            .get_result(c)?;
            Ok((s.bytes, "table"))
        }
        DbConn::Sqlite(c) => {
            let dbstat: QueryResult<Size> = diesel::sql_query(
                "SELECT CAST(sum(pgsize) AS INTEGER) AS bytes FROM dbstat('main', 1) \
                 WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'webhook_events')",
            )
            .get_result(c);
            match dbstat {
                Ok(s) => Ok((s.bytes, "table")),
                Err(_) => {
                    let s: Size = diesel::sql_query(
                        "SELECT page_count * page_size AS bytes \
                         FROM pragma_page_count(), pragma_page_size()",
                    )
                    .get_result(c)?;
                    Ok((s.bytes, "database"))
                }
            }
        }
    }
}
