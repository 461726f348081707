//! Small helpers shared by the repositories: placeholders and value conversions.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Result, StorageError};

/// A row of either driver, read by column name: sqlx's for PostgreSQL and
/// the rest of SQLite, rusqlite's for SQLite's hot path (see `lite`). The
/// same mapping code then serves both.
pub(crate) trait Columns {
    fn int(&self, column: &str) -> Result<Option<i64>>;
    fn text(&self, column: &str) -> Result<Option<String>>;
    fn blob(&self, column: &str) -> Result<Option<Vec<u8>>>;
}

impl dyn Columns + '_ {
    /// `row.col::<T>("name")`, like sqlx's `try_get`.
    pub(crate) fn col<T: ColumnValue>(&self, column: &str) -> Result<T> {
        T::read(self, column)
    }
}

impl Columns for AnyRow {
    fn int(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn blob(&self, column: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.try_get(column)?)
    }
}

/// A rusqlite row read by column name. rusqlite finds a name by asking
/// SQLite for every column's name in turn (a foreign call, a length count and
/// a UTF-8 check each), which for a row read column by column is quadratic in
/// its width (measured: a few per cent of the server's CPU under load). The
/// mappings read columns mostly in the order they are selected, so the search
/// starts after the last column read. (Collecting the names once per query
/// instead was measured slower: most queries read one row.)
pub(crate) struct LiteRow<'a, 'stmt> {
    row: &'a rusqlite::Row<'stmt>,
    next: std::cell::Cell<usize>,
}

impl<'a, 'stmt> LiteRow<'a, 'stmt> {
    pub(crate) fn new(row: &'a rusqlite::Row<'stmt>) -> Self {
        Self {
            row,
            next: std::cell::Cell::new(0),
        }
    }

    /// Searches from the column after the last one read, wrapping around;
    /// ASCII case is ignored, as SQLite does.
    fn index(&self, column: &str) -> Result<usize> {
        let stmt = self.row.as_ref();
        let n = stmt.column_count();
        let start = self.next.get().min(n);
        let found = (start..n).chain(0..start).find(|&i| {
            stmt.column_name(i)
                .is_ok_and(|name| name.eq_ignore_ascii_case(column))
        });
        let i = found.ok_or_else(|| rusqlite::Error::InvalidColumnName(column.to_owned()))?;
        self.next.set(i + 1);
        Ok(i)
    }
}

impl Columns for LiteRow<'_, '_> {
    fn int(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.row.get(self.index(column)?)?)
    }

    fn text(&self, column: &str) -> Result<Option<String>> {
        Ok(self.row.get(self.index(column)?)?)
    }

    fn blob(&self, column: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.row.get(self.index(column)?)?)
    }
}

/// The column types the schema uses (see the crate docs).
pub(crate) trait ColumnValue: Sized {
    fn read(row: &dyn Columns, column: &str) -> Result<Self>;
}

fn not_null<T>(column: &str, v: Option<T>) -> Result<T> {
    v.ok_or_else(|| StorageError::corrupt("(row)", "(column)", format!("{column} is NULL")))
}

impl ColumnValue for i64 {
    fn read(row: &dyn Columns, column: &str) -> Result<Self> {
        not_null(column, row.int(column)?)
    }
}

impl ColumnValue for Option<i64> {
    fn read(row: &dyn Columns, column: &str) -> Result<Self> {
        row.int(column)
    }
}

impl ColumnValue for String {
    fn read(row: &dyn Columns, column: &str) -> Result<Self> {
        not_null(column, row.text(column)?)
    }
}

impl ColumnValue for Option<String> {
    fn read(row: &dyn Columns, column: &str) -> Result<Self> {
        row.text(column)
    }
}

impl ColumnValue for Vec<u8> {
    fn read(row: &dyn Columns, column: &str) -> Result<Self> {
        not_null(column, row.blob(column)?)
    }
}

impl ColumnValue for Option<Vec<u8>> {
    fn read(row: &dyn Columns, column: &str) -> Result<Self> {
        row.blob(column)
    }
}

/// A bound argument, for statements that run on either driver.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
    Blob(&'a [u8]),
    OptBlob(Option<&'a [u8]>),
}

impl<'a> Arg<'a> {
    pub(crate) fn bind(
        self,
        q: sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>>,
    ) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
        match self {
            Arg::Int(v) => q.bind(v),
            Arg::OptInt(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
            Arg::OptBlob(v) => q.bind(v),
        }
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match *self {
            Arg::Int(v) | Arg::OptInt(Some(v)) => ToSqlOutput::Owned(Value::Integer(v)),
            Arg::Text(v) | Arg::OptText(Some(v)) => {
                ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes()))
            }
            Arg::Blob(v) | Arg::OptBlob(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Arg::OptInt(None) | Arg::OptText(None) | Arg::OptBlob(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

/// `($1,$2,$3),($4,$5,$6)` for a multi-row insert on PostgreSQL, `(?,?,?),(?,?,?)`
/// on SQLite: SQLite looks a named parameter up by a linear scan, which makes
/// thousands of `$n` in one statement quadratic, while plain `?` costs nothing.
pub(crate) fn values_placeholders(rows: usize, cols: usize, backend: Backend) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&n.to_string());
                    n += 1;
                }
            }
        }
        s.push(')');
    }
    s
}

/// SQLite's default limit on bound variables is 32 766; PostgreSQL's 65 535.
pub(crate) const MAX_BINDS: usize = 30_000;

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn opt_date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(date_text)
}

pub(crate) fn parse_date(table: &'static str, column: &'static str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| StorageError::corrupt(table, column, e))
}

pub(crate) fn parse_opt_date(
    table: &'static str,
    column: &'static str,
    s: Option<String>,
) -> Result<Option<NaiveDate>> {
    s.map(|s| parse_date(table, column, &s)).transpose()
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(
    table: &'static str,
    column: &'static str,
    v: i64,
) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| StorageError::corrupt(table, column, v))
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            values_placeholders(2, 3, Backend::Postgres),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(values_placeholders(1, 1, Backend::Postgres), "($1)");
        assert_eq!(values_placeholders(2, 2, Backend::Sqlite), "(?,?),(?,?)");
    }
}
