//! A statement written as SQL text, with its parameters, that diesel prepares once per
//! connection and keeps.
//!
//! diesel caches a prepared statement only when every fragment of the query says it may, and
//! its raw SQL (`sql_query`), its upserts and its updates all say no, because their text *can*
//! vary between executions of one Rust type. Wrapping such a query does not help: diesel
//! executes a reference to the query, and the reference asks the fragments inside. So the
//! set-based writers, whose text takes a handful of forms per table, were parsed and planned by
//! SQLite on every execution (`sqlite3_prepare_v3` at 7% of an apply pass's samples, each
//! statement up to 256 rows of placeholders long).
//!
//! `Statement` is a query fragment of its own: it pushes its text and binds its parameters and
//! never marks itself unsafe to cache, and it has no static query id, so diesel keys the cache by
//! the SQL text. A different text is a different entry, so correctness does not depend on the
//! text being fixed; but each distinct text stays cached for the life of the connection, so only
//! statements whose text takes few forms belong here.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{
    Array, BigInt, Binary, Bool, HasSqlType, Integer, Nullable, Text, Timestamp, Untyped,
};
use diesel::sqlite::Sqlite;
use diesel::{PgConnection, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

use super::DbConn;

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

/// One column of a batch, as the array PostgreSQL receives (NULL-able whatever the column's
/// constraint: the table enforces that).
#[derive(Debug)]
pub(crate) enum Column<'a> {
    I64(Vec<Option<i64>>),
    I32(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<&'a str>>),
    Ts(Vec<Option<NaiveDateTime>>),
    Bytes(Vec<Option<&'a [u8]>>),
}

impl<'a> Column<'a> {
    /// An empty column of `v`'s SQL type.
    pub(crate) fn of(v: Val<'a>, capacity: usize) -> Self {
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
    pub(crate) fn push(&mut self, v: Val<'a>) -> bool {
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

    /// PostgreSQL's name for the array type.
    pub(crate) fn array_type(&self) -> &'static str {
        match self {
            Column::I64(_) => "int8[]",
            Column::I32(_) => "int4[]",
            Column::Bool(_) => "bool[]",
            Column::Text(_) => "text[]",
            Column::Ts(_) => "timestamp[]",
            Column::Bytes(_) => "bytea[]",
        }
    }
}

/// A parameter: one value, or (PostgreSQL only) a whole column as an array.
#[derive(Debug)]
pub(crate) enum Param<'a> {
    Val(Val<'a>),
    Column(Column<'a>),
}

/// SQL text with `?` where each parameter goes (on both backends; PostgreSQL receives `$1`,
/// `$2`, …), and the parameters in order. See the module documentation.
#[derive(Debug)]
pub(crate) struct Statement<'a> {
    text: String,
    params: Vec<Param<'a>>,
}

impl<'a> Statement<'a> {
    /// `text` must hold exactly one `?` per parameter and no other `?`.
    pub(crate) fn new(text: String, params: Vec<Param<'a>>) -> Self {
        Statement { text, params }
    }

    /// Runs the statement; returns the rows it changed.
    pub(crate) fn execute(self, conn: &mut DbConn) -> QueryResult<usize> {
        match conn {
            DbConn::Pg(c) => RunQueryDsl::<PgConnection>::execute(self, c),
            DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::execute(self, c),
        }
    }

    /// Runs the statement and reads the rows it returns.
    pub(crate) fn load<R>(self, conn: &mut DbConn) -> QueryResult<Vec<R>>
    where
        R: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
    {
        match conn {
            DbConn::Pg(c) => RunQueryDsl::<PgConnection>::load(self, c),
            DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::load(self, c),
        }
    }

    /// Pushes the text with each `?` replaced by the next parameter, bound by `bind`.
    fn walk<'b, DB: Backend>(
        &'b self,
        mut out: AstPass<'_, 'b, DB>,
        bind: impl Fn(&mut AstPass<'_, 'b, DB>, &'b Param<'a>) -> QueryResult<()>,
    ) -> QueryResult<()> {
        let mut params = self.params.iter();
        let mut pieces = self.text.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        for piece in pieces {
            let param = params.next().ok_or_else(|| self.misfit())?;
            bind(&mut out, param)?;
            out.push_sql(piece);
        }
        match params.next() {
            Some(_) => Err(self.misfit()),
            None => Ok(()),
        }
    }

    fn misfit(&self) -> diesel::result::Error {
        diesel::result::Error::QueryBuilderError(
            format!(
                "{} parameters for a statement with {} placeholders: {:.80}",
                self.params.len(),
                self.text.matches('?').count(),
                self.text
            )
            .into(),
        )
    }
}

/// Binds one value as its SQL type.
fn bind_val<'b, DB>(out: &mut AstPass<'_, 'b, DB>, v: &'b Val<'_>) -> QueryResult<()>
where
    DB: Backend
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
    match v {
        Val::I64(x) => out.push_bind_param::<BigInt, _>(x),
        Val::OptI64(x) => out.push_bind_param::<Nullable<BigInt>, _>(x),
        Val::I32(x) => out.push_bind_param::<Integer, _>(x),
        Val::OptI32(x) => out.push_bind_param::<Nullable<Integer>, _>(x),
        Val::Bool(x) => out.push_bind_param::<Bool, _>(x),
        Val::Text(x) => out.push_bind_param::<Text, str>(x),
        Val::OptText(x) => out.push_bind_param::<Nullable<Text>, _>(x),
        Val::Ts(x) => out.push_bind_param::<Timestamp, _>(x),
        Val::OptTs(x) => out.push_bind_param::<Nullable<Timestamp>, _>(x),
        Val::Bytes(x) => out.push_bind_param::<Binary, [u8]>(x),
    }
}

impl QueryFragment<Sqlite> for Statement<'_> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk(out, |out, param| match param {
            Param::Val(v @ (Val::Ts(_) | Val::OptTs(Some(_)))) => {
                out.push_bind_param::<Timestamp, Val<'_>>(v)
            }
            Param::Val(v) => bind_val(out, v),
            Param::Column(_) => Err(diesel::result::Error::QueryBuilderError(
                "SQLite has no array parameters".into(),
            )),
        })
    }
}

impl QueryFragment<Pg> for Statement<'_> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, |out, param| match param {
            Param::Val(v) => bind_val(out, v),
            Param::Column(Column::I64(c)) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(c),
            Param::Column(Column::I32(c)) => out.push_bind_param::<Array<Nullable<Integer>>, _>(c),
            Param::Column(Column::Bool(c)) => out.push_bind_param::<Array<Nullable<Bool>>, _>(c),
            Param::Column(Column::Text(c)) => out.push_bind_param::<Array<Nullable<Text>>, _>(c),
            Param::Column(Column::Ts(c)) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(c),
            Param::Column(Column::Bytes(c)) => out.push_bind_param::<Array<Nullable<Binary>>, _>(c),
        })
    }
}

/// A timestamp as SQLite stores it: the text diesel writes for a `NaiveDateTime`
/// (`%F %T%.f`), made without chrono's format machinery, which took 8% of an apply pass's
/// samples (every written row carries one or two timestamps). Implemented on [`Val`] so that
/// the bind can borrow the value from the statement.
impl ToSql<Timestamp, Sqlite> for Val<'_> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        match self {
            Val::Ts(t) | Val::OptTs(Some(t)) => {
                out.set_value(sqlite_time(t));
                Ok(IsNull::No)
            }
            other => Err(format!("{other:?} is not a timestamp").into()),
        }
    }
}

/// `t` as chrono formats it with `%F %T%.f`: the fraction left out when zero, else in 3, 6 or
/// 9 digits, the fewest that hold it exactly.
fn sqlite_time(t: &NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.format("%F %T%.f").to_string();
    }
    // A leap second is second 59 with a nanosecond count from 1,000,000,000 on.
    let (second, nano) = match t.nanosecond() {
        n @ 1_000_000_000.. => (t.second() + 1, n - 1_000_000_000),
        n => (t.second(), n),
    };
    let mut s = String::with_capacity(29);
    for (separator, n, width) in [
        ("", year as u32, 4),
        ("-", t.month(), 2),
        ("-", t.day(), 2),
        (" ", t.hour(), 2),
        (":", t.minute(), 2),
        (":", second, 2),
    ] {
        s.push_str(separator);
        push_digits(&mut s, n, width);
    }
    if nano != 0 {
        s.push('.');
        match (nano % 1_000_000, nano % 1_000) {
            (0, _) => push_digits(&mut s, nano / 1_000_000, 3),
            (_, 0) => push_digits(&mut s, nano / 1_000, 6),
            _ => push_digits(&mut s, nano, 9),
        }
    }
    s
}

/// `n`'s last `width` decimal digits, zero-padded.
fn push_digits(s: &mut String, n: u32, width: u32) {
    for i in (0..width).rev() {
        s.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
    }
}

impl QueryId for Statement<'_> {
    type QueryId = ();
    // No static id: diesel then keys its cache by the SQL text, never by the Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Statement<'_> {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use diesel::connection::{InstrumentationEvent, SimpleConnection};
    use diesel::Connection;
    use proptest::strategy::Strategy;

    use super::*;

    /// Counts the statements diesel prepares to keep.
    fn counting(conn: &mut SqliteConnection) -> Arc<AtomicUsize> {
        let kept = Arc::new(AtomicUsize::new(0));
        let seen = kept.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if matches!(event, InstrumentationEvent::CacheQuery { .. }) {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        });
        kept
    }

    #[test]
    fn a_statement_is_prepared_once_per_connection_and_kept() {
        let mut conn = SqliteConnection::establish(":memory:").expect("sqlite");
        conn.batch_execute("CREATE TABLE t (a BIGINT PRIMARY KEY, b TEXT)")
            .expect("table");
        let kept = counting(&mut conn);
        let mut conn = DbConn::Sqlite(conn);
        for (a, b) in [(1, "one"), (2, "two"), (1, "uno")] {
            let s = Statement::new(
                "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b"
                    .into(),
                vec![Param::Val(Val::I64(a)), Param::Val(Val::Text(b))],
            );
            assert_eq!(s.execute(&mut conn).expect("upsert"), 1);
        }
        assert_eq!(
            kept.load(Ordering::Relaxed),
            1,
            "prepared once, then reused"
        );

        #[derive(QueryableByName, PartialEq, Debug)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            a: i64,
            #[diesel(sql_type = Nullable<Text>)]
            b: Option<String>,
        }
        let read = || {
            Statement::new(
                "SELECT a, b FROM t WHERE a >= ? ORDER BY a".into(),
                vec![Param::Val(Val::I64(1))],
            )
        };
        let rows: Vec<Row> = read().load(&mut conn).expect("read");
        let rows_again: Vec<Row> = read().load(&mut conn).expect("read again");
        assert_eq!(rows, rows_again);
        assert_eq!(
            rows,
            [
                Row {
                    a: 1,
                    b: Some("uno".into())
                },
                Row {
                    a: 2,
                    b: Some("two".into())
                }
            ]
        );
        assert_eq!(
            kept.load(Ordering::Relaxed),
            2,
            "one more text, one more entry"
        );
    }

    proptest::proptest! {
        #[test]
        fn timestamps_are_written_as_diesel_writes_them(
            secs in -70_000_000_000i64..260_000_000_000,
            nano in proptest::prop_oneof![
                proptest::strategy::Just(0u32),
                (0u32..1_000).prop_map(|ms| ms * 1_000_000),
                (0u32..1_000_000).prop_map(|us| us * 1_000),
                0u32..1_000_000_000,
            ],
            leap in proptest::bool::ANY,
        ) {
            // A leap second: second 59 with 1,000,000,000 added to its nanoseconds.
            let (secs, nano) = match leap {
                true => (secs - secs.rem_euclid(60) + 59, nano + 1_000_000_000),
                false => (secs, nano),
            };
            let t = chrono::DateTime::from_timestamp(secs, nano).expect("in range").naive_utc();
            proptest::prop_assert_eq!(sqlite_time(&t), t.format("%F %T%.f").to_string());
        }
    }

    #[test]
    fn a_timestamp_reads_back_as_written() {
        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").expect("sqlite"));
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_micro_opt(3, 4, 5, 120_000))
            .expect("time");
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Timestamp)]
            t: NaiveDateTime,
            #[diesel(sql_type = Text)]
            text: String,
        }
        let rows: Vec<Row> = Statement::new(
            "SELECT ? AS t, CAST(? AS TEXT) AS text".into(),
            vec![Param::Val(Val::Ts(t)), Param::Val(Val::OptTs(Some(t)))],
        )
        .load(&mut conn)
        .expect("read");
        assert_eq!(rows[0].t, t);
        assert_eq!(rows[0].text, "2026-12-07 03:04:05.120");
    }

    #[test]
    fn placeholders_and_parameters_must_agree() {
        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").expect("sqlite"));
        let s = Statement::new("SELECT ?, ?".into(), vec![Param::Val(Val::I64(1))]);
        let err = s
            .execute(&mut conn)
            .expect_err("one parameter short")
            .to_string();
        assert!(
            err.contains("1 parameters for a statement with 2 placeholders"),
            "{err}"
        );
    }
}
