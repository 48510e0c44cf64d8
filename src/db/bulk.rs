//! Set-based upserts: one statement per table on PostgreSQL, a few fixed sizes on SQLite, each
//! prepared once per connection.
//!
//! diesel writes a multi-row `INSERT … ON CONFLICT DO UPDATE … WHERE` on PostgreSQL but not on
//! SQLite, and on both it marks an upsert unsafe to cache, so its statement would be parsed
//! and planned on every execution. Here the statement text is built from the table, its
//! columns and the conflict clause, and executed as a `statement::Statement`, which diesel keeps
//! prepared by that text:
//!
//! - on PostgreSQL every column travels as one array parameter and the rows come from
//!   `unnest($1::int8[], $2::text[], …)`: one statement of one text for a batch of any length,
//!   planned once, with as many parameters as the table has columns;
//! - on SQLite, which has no arrays, a multi-row `VALUES` for a row count taken from [`SIZES`]:
//!   a batch of any length costs a handful of statements.
//!
//! The conflict clause (the staleness comparison) stays inside the statement, so a multi-row
//! write compares versions row by row exactly as a single-row one does.

use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, QueryableByName};

pub use super::statement::Val;
use super::statement::{Column, Param, Statement};
use super::DbConn;

/// The row counts a SQLite statement is prepared for, largest first; a batch is cut greedily
/// into them. Parameters per statement stay far below SQLite's limit of 32,766 and PostgreSQL's
/// 65,535 (the widest table has 13 columns).
pub const SIZES: [usize; 5] = [256, 64, 16, 4, 1];

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
        let mut written = 0;
        for statement in self.statements(conn, rows, "")? {
            written += statement.execute(conn)?;
        }
        Ok(written)
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
        let tail = format!(" RETURNING {returning}");
        let mut out = Vec::with_capacity(rows.len());
        for statement in self.statements(conn, rows, &tail)? {
            out.extend(statement.load::<R>(conn)?);
        }
        Ok(out)
    }

    /// The statements that write `rows`, each followed by `tail`: one with an array per column
    /// on PostgreSQL, one per chunk on SQLite (made as they are run).
    fn statements<'s, 'a: 's>(
        &'s self,
        conn: &DbConn,
        rows: &'s [Vec<Val<'a>>],
        tail: &'s str,
    ) -> QueryResult<Box<dyn Iterator<Item = Statement<'a>> + 's>> {
        if rows.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        Ok(match conn {
            DbConn::Pg(_) => {
                let columns = self.transpose(rows)?;
                let types: Vec<&str> = columns.iter().map(Column::array_type).collect();
                let text = self.unnest_sql(&types) + tail;
                let params = columns.into_iter().map(Param::Column).collect();
                Box::new(std::iter::once(Statement::new(text, params)))
            }
            DbConn::Sqlite(_) => Box::new(chunks(rows).map(move |chunk| {
                let params = chunk.iter().flatten().map(|v| Param::Val(*v)).collect();
                Statement::new(self.values_sql(chunk.len()) + tail, params)
            })),
        })
    }

    /// `INSERT … SELECT * FROM unnest(?::type[], …) ON CONFLICT …` (PostgreSQL).
    fn unnest_sql(&self, array_types: &[&str]) -> String {
        let arrays: Vec<String> = array_types.iter().map(|t| format!("?::{t}")).collect();
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
            "INSERT INTO t (a, b) SELECT * FROM unnest(?::int8[], ?::text[]) ON CONFLICT (a) DO NOTHING"
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
        let err = u.transpose(&rows).expect_err("refused").to_string();
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
