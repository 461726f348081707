//! Small helpers shared by the repositories: placeholders and value conversions.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{Backend, Result, StorageError};

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
