//! Set-based upserts: one statement per table on PostgreSQL, a few fixed sizes on SQLite, each
//! prepared once per connection.
//!
//! diesel writes a multi-row `INSERT … ON CONFLICT DO UPDATE … WHERE` on PostgreSQL but not on
//! SQLite, and on both it marks an upsert unsafe to cache, so its statement would be parsed
//! and planned on every execution. Here the statement text is built from the table, its
//! columns and the conflict clause, and executed through [`Cached`], which caches it by that
//! text:
//!
//! - on PostgreSQL every column travels as one array parameter and the rows come from
//!   `unnest($1::int8[], $2::text[], …)`: one statement of one text for a batch of any length,
//!   planned once, with as many parameters as the table has columns;
//! - on SQLite, which has no arrays, a multi-row `VALUES` for a row count taken from [`SIZES`]:
//!   a batch of any length costs a handful of statements.
//!
//! The conflict clause (the staleness comparison) stays inside the statement, so a multi-row
//! write compares versions row by row exactly as a single-row one does.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{
    Array, BigInt, Binary, Bool, HasSqlType, Integer, Nullable, Text, Timestamp,
};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use super::cached::Cached;
use super::DbConn;

/// The row counts a SQLite statement is prepared for, largest first; a batch is cut greedily
/// into them. Parameters per statement stay far below SQLite's limit of 32,766 and PostgreSQL's
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
    /// `BLOB` / `BYTEA NOT NULL`
    Bytes(&'a [u8]),
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
    /// Writes `rows` (each `columns.len()` values, no key twice, each column of one SQL type);
    /// returns the rows inserted or updated.
    pub fn run(&self, conn: &mut DbConn, rows: &[Vec<Val<'_>>]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        match conn {
            DbConn::Pg(c) => {
                let columns = self.transpose(rows)?;
                let types: Vec<&str> = columns.iter().map(Column::array_type).collect();
                let mut q = diesel::sql_query(self.unnest_sql(&types)).into_boxed();
                for column in columns {
                    q = column.bind(q);
                }
                Cached(q).execute(c)
            }
            DbConn::Sqlite(c) => {
                let mut written = 0;
                for chunk in chunks(rows) {
                    let q = diesel::sql_query(self.values_sql(chunk.len())).into_boxed();
                    written += Cached(bind_all(q, chunk)).execute(c)?;
                }
                Ok(written)
            }
        }
    }

    /// Writes `rows` as [`Upsert::run`] does and returns `returning` (a `RETURNING` list) of
    /// every row inserted or updated, in no particular order.
    pub fn run_returning<R>(
        &self,
        conn: &mut DbConn,
        rows: &[Vec<Val<'_>>],
        returning: &str,
    ) -> QueryResult<Vec<R>>
    where
        R: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
    {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        match conn {
            DbConn::Pg(c) => {
                let columns = self.transpose(rows)?;
                let types: Vec<&str> = columns.iter().map(Column::array_type).collect();
                let sql = format!("{} RETURNING {returning}", self.unnest_sql(&types));
                let mut q = diesel::sql_query(sql).into_boxed();
                for column in columns {
                    q = column.bind(q);
                }
                Cached(q).load(c)
            }
            DbConn::Sqlite(c) => {
                let mut out = Vec::with_capacity(rows.len());
                for chunk in chunks(rows) {
                    let sql = format!("{} RETURNING {returning}", self.values_sql(chunk.len()));
                    let q = diesel::sql_query(sql).into_boxed();
                    out.extend(Cached(bind_all(q, chunk)).load::<R>(c)?);
                }
                Ok(out)
            }
        }
    }

    /// `INSERT … SELECT * FROM unnest($1::type[], …) ON CONFLICT …` (PostgreSQL).
    fn unnest_sql(&self, array_types: &[&str]) -> String {
        let arrays: Vec<String> = array_types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("${}::{t}", i + 1))
            .collect();
        format!(
            "INSERT INTO {} ({}) SELECT * FROM unnest({}) {}",
            self.table,
            self.columns.join(", "),
            arrays.join(", "),
            self.conflict
        )
    }

    /// The rows as one array per column.
    fn transpose<'a>(&self, rows: &[Vec<Val<'a>>]) -> QueryResult<Vec<Column<'a>>> {
        let mut columns: Vec<Column<'a>> =
            rows[0].iter().map(|v| Column::of(*v, rows.len())).collect();
        for row in rows {
            if row.len() != columns.len() {
                return Err(self.misfit(format!(
                    "a row of {} values for {} columns",
                    row.len(),
                    columns.len()
                )));
            }
            for (i, (column, v)) in columns.iter_mut().zip(row).enumerate() {
                if !column.push(*v) {
                    return Err(self.misfit(format!(
                        "column {} mixes SQL types ({v:?})",
                        self.columns.get(i).unwrap_or(&"?")
                    )));
                }
            }
        }
        Ok(columns)
    }

    fn misfit(&self, what: String) -> diesel::result::Error {
        diesel::result::Error::QueryBuilderError(
            format!("upsert into {}: {what}", self.table).into(),
        )
    }

    /// `INSERT … VALUES (?, …), … ON CONFLICT …` for `rows` rows (SQLite).
    fn values_sql(&self, rows: usize) -> String {
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
                sql.push('?');
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(&self.conflict);
        sql
    }
}

/// `rows` cut greedily into chunks of the [`SIZES`].
fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        let n = SIZES.into_iter().find(|s| *s <= rest.len())?;
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// One column of a batch, as the array PostgreSQL receives (NULL-able whatever the column's
/// constraint: the table enforces that).
enum Column<'a> {
    I64(Vec<Option<i64>>),
    I32(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<&'a str>>),
    Ts(Vec<Option<NaiveDateTime>>),
    Bytes(Vec<Option<&'a [u8]>>),
}

impl<'a> Column<'a> {
    /// An empty column of `v`'s SQL type.
    fn of(v: Val<'a>, capacity: usize) -> Self {
        match v {
            Val::I64(_) | Val::OptI64(_) => Column::I64(Vec::with_capacity(capacity)),
            Val::I32(_) | Val::OptI32(_) => Column::I32(Vec::with_capacity(capacity)),
            Val::Bool(_) => Column::Bool(Vec::with_capacity(capacity)),
            Val::Text(_) | Val::OptText(_) => Column::Text(Vec::with_capacity(capacity)),
            Val::Ts(_) | Val::OptTs(_) => Column::Ts(Vec::with_capacity(capacity)),
            Val::Bytes(_) => Column::Bytes(Vec::with_capacity(capacity)),
        }
    }

    /// Appends `v`; false when it is of another SQL type.
    fn push(&mut self, v: Val<'a>) -> bool {
        match (self, v) {
            (Column::I64(c), Val::I64(x)) => c.push(Some(x)),
            (Column::I64(c), Val::OptI64(x)) => c.push(x),
            (Column::I32(c), Val::I32(x)) => c.push(Some(x)),
            (Column::I32(c), Val::OptI32(x)) => c.push(x),
            (Column::Bool(c), Val::Bool(x)) => c.push(Some(x)),
            (Column::Text(c), Val::Text(x)) => c.push(Some(x)),
            (Column::Text(c), Val::OptText(x)) => c.push(x),
            (Column::Ts(c), Val::Ts(x)) => c.push(Some(x)),
            (Column::Ts(c), Val::OptTs(x)) => c.push(x),
            (Column::Bytes(c), Val::Bytes(x)) => c.push(Some(x)),
            _ => return false,
        }
        true
    }

    fn array_type(&self) -> &'static str {
        match self {
            Column::I64(_) => "int8[]",
            Column::I32(_) => "int4[]",
            Column::Bool(_) => "bool[]",
            Column::Text(_) => "text[]",
            Column::Ts(_) => "timestamp[]",
            Column::Bytes(_) => "bytea[]",
        }
    }

    fn bind(
        self,
        q: BoxedSqlQuery<'a, diesel::pg::Pg, SqlQuery>,
    ) -> BoxedSqlQuery<'a, diesel::pg::Pg, SqlQuery> {
        match self {
            Column::I64(c) => q.bind::<Array<Nullable<BigInt>>, _>(c),
            Column::I32(c) => q.bind::<Array<Nullable<Integer>>, _>(c),
            Column::Bool(c) => q.bind::<Array<Nullable<Bool>>, _>(c),
            Column::Text(c) => q.bind::<Array<Nullable<Text>>, _>(c),
            Column::Ts(c) => q.bind::<Array<Nullable<Timestamp>>, _>(c),
            Column::Bytes(c) => q.bind::<Array<Nullable<Binary>>, _>(c),
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
        + HasSqlType<Timestamp>
        + HasSqlType<Binary>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    bool: diesel::serialize::ToSql<Bool, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
    [u8]: diesel::serialize::ToSql<Binary, DB>,
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
                Val::Bytes(x) => q.bind::<Binary, _>(x),
            };
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_rows_as_values_or_arrays() {
        let u = Upsert {
            table: "t",
            columns: &["a", "b"],
            conflict: "ON CONFLICT (a) DO NOTHING".into(),
        };
        assert_eq!(
            u.values_sql(2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            u.unnest_sql(&["int8[]", "text[]"]),
            "INSERT INTO t (a, b) SELECT * FROM unnest($1::int8[], $2::text[]) ON CONFLICT (a) DO NOTHING"
        );
    }

    #[test]
    fn a_column_of_two_sql_types_is_refused_by_name() {
        let u = Upsert {
            table: "t",
            columns: &["a", "b"],
            conflict: String::new(),
        };
        let rows = vec![
            vec![Val::I64(1), Val::OptText(None)],
            vec![Val::I64(2), Val::OptI64(Some(3))],
        ];
        let err = u.transpose(&rows).err().expect("refused").to_string();
        assert!(
            err.contains("upsert into t: column b mixes SQL types"),
            "{err}"
        );
        let ok = u.transpose(&rows[..1]).expect("one type per column");
        assert_eq!(
            ok.iter().map(Column::array_type).collect::<Vec<_>>(),
            ["int8[]", "text[]"]
        );
    }
}
