//! Multi-row upserts in a few fixed sizes, each prepared once per connection.
//!
//! diesel writes a multi-row `INSERT … ON CONFLICT DO UPDATE … WHERE` on PostgreSQL but not on
//! SQLite, and on both it marks an upsert unsafe to cache, so its statement would be parsed
//! and planned on every execution. Here the statement text is built from the table, its
//! columns and the conflict clause for a row count taken from [`SIZES`], and executed through
//! [`Cached`], which caches it by that text: a batch of any length costs a handful of
//! statements, each prepared once per connection. The conflict clause (the staleness
//! comparison) stays inside the statement, so a multi-row write compares versions row by row
//! exactly as a single-row one does.

use chrono::NaiveDateTime;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Nullable, Text, Timestamp};
use diesel::{QueryResult, RunQueryDsl};

use super::cached::Cached;
use super::DbConn;

/// The row counts a statement is prepared for, largest first; a batch is cut greedily into
/// them. Parameters per statement stay far below SQLite's limit of 32,766 and PostgreSQL's
/// 65,535 (the widest table has 13 columns).
pub const SIZES: [usize; 5] = [256, 64, 16, 4, 1];

/// One value of a row, as its SQL type.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    /// `BIGINT NOT NULL`
    I64(i64),
    /// `BIGINT`
    OptI64(Option<i64>),
    /// `INTEGER`
    OptI32(Option<i32>),
    /// `INTEGER NOT NULL`
    I32(i32),
    /// `BOOLEAN NOT NULL`
    Bool(bool),
    /// `TEXT NOT NULL`
    Text(&'a str),
    /// `TEXT`
    OptText(Option<&'a str>),
    /// `TIMESTAMP NOT NULL`
    Ts(NaiveDateTime),
    /// `TIMESTAMP`
    OptTs(Option<NaiveDateTime>),
}

/// An upsert into `table`: the columns in row order, and what follows `VALUES …` (the
/// `ON CONFLICT` clause, which may refer to `excluded.` and to the table by name).
#[derive(Debug, Clone)]
pub struct Upsert {
    /// The table.
    pub table: &'static str,
    /// Its columns, in the order of each row's values.
    pub columns: &'static [&'static str],
    /// `ON CONFLICT (…) DO …`
    pub conflict: String,
}

impl Upsert {
    /// Writes `rows` (each `columns.len()` values, no key twice); returns the rows inserted or
    /// updated.
    pub fn run(&self, conn: &mut DbConn, rows: &[Vec<Val<'_>>]) -> QueryResult<usize> {
        let mut written = 0;
        let mut rest = rows;
        while !rest.is_empty() {
            let n = SIZES
                .into_iter()
                .find(|s| *s <= rest.len())
                .expect("the smallest size is 1");
            let (chunk, tail) = rest.split_at(n);
            written += self.execute(conn, chunk)?;
            rest = tail;
        }
        Ok(written)
    }

    fn sql(&self, rows: usize, numbered: bool) -> String {
        let width = self.columns.len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        );
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                if numbered {
                    sql.push_str(&format!("${}", r * width + c + 1));
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(&self.conflict);
        sql
    }

    fn execute(&self, conn: &mut DbConn, rows: &[Vec<Val<'_>>]) -> QueryResult<usize> {
        match conn {
            DbConn::Pg(c) => {
                let q = diesel::sql_query(self.sql(rows.len(), true)).into_boxed();
                Cached(bind_all(q, rows)).execute(c)
            }
            DbConn::Sqlite(c) => {
                let q = diesel::sql_query(self.sql(rows.len(), false)).into_boxed();
                Cached(bind_all(q, rows)).execute(c)
            }
        }
    }
}

/// Binds every value of every row, in order.
fn bind_all<'f, DB>(
    mut q: BoxedSqlQuery<'f, DB, SqlQuery>,
    rows: &[Vec<Val<'f>>],
) -> BoxedSqlQuery<'f, DB, SqlQuery>
where
    DB: diesel::backend::Backend
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Bool>
        + HasSqlType<Text>
        + HasSqlType<Timestamp>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    bool: diesel::serialize::ToSql<Bool, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
{
    for row in rows {
        for v in row {
            q = match *v {
                Val::I64(x) => q.bind::<BigInt, _>(x),
                Val::OptI64(x) => q.bind::<Nullable<BigInt>, _>(x),
                Val::I32(x) => q.bind::<Integer, _>(x),
                Val::OptI32(x) => q.bind::<Nullable<Integer>, _>(x),
                Val::Bool(x) => q.bind::<Bool, _>(x),
                Val::Text(x) => q.bind::<Text, _>(x),
                Val::OptText(x) => q.bind::<Nullable<Text>, _>(x),
                Val::Ts(x) => q.bind::<Timestamp, _>(x),
                Val::OptTs(x) => q.bind::<Nullable<Timestamp>, _>(x),
            };
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_parameters_per_backend() {
        let u = Upsert {
            table: "t",
            columns: &["a", "b"],
            conflict: "ON CONFLICT (a) DO NOTHING".into(),
        };
        assert_eq!(
            u.sql(2, true),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            u.sql(2, false),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING"
        );
    }
}
