//! Browser-session rows inside a batch: kept in memory and written together
//! before the commit. Invariant: the last write of an id in the batch wins,
//! as it would one by one, deletions included.

use std::collections::HashMap;

use super::engine::Db;
use super::{Text, Written};
use crate::Result;
use crate::sql::{Arg, values_placeholders};

/// A session write as sent.
pub(super) enum SessionWrite {
    Put {
        id: String,
        data: Text,
        created_at: i64,
        expires_at: i64,
    },
    Delete {
        id: String,
    },
}

/// A session write as the batch writes it; no data is a deletion.
pub(super) struct SessionRow {
    id: String,
    data: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl SessionWrite {
    pub(super) fn row(&mut self, written: &[Written]) -> Result<SessionRow> {
        Ok(match self {
            SessionWrite::Put {
                id,
                data,
                created_at,
                expires_at,
            } => SessionRow {
                id: id.clone(),
                data: Some(data.resolve(written)?),
                created_at: *created_at,
                expires_at: *expires_at,
            },
            SessionWrite::Delete { id } => SessionRow {
                id: id.clone(),
                data: None,
                created_at: 0,
                expires_at: 0,
            },
        })
    }
}

/// Rows kept for the end of the batch (Deferred).
#[derive(Default)]
pub(super) struct Sessions {
    kept: Vec<SessionRow>,
}

impl Sessions {
    pub(super) fn mark(&self) -> usize {
        self.kept.len()
    }

    pub(super) fn reset(&mut self, mark: usize) {
        self.kept.truncate(mark);
    }

    pub(super) fn keep(&mut self, row: SessionRow) {
        self.kept.push(row);
    }

    /// The last write of each id, in one statement per chunk of rows.
    pub(super) fn flush(&mut self, db: &mut Db) -> Result<()> {
        // PostgreSQL also refuses to upsert one row twice in a statement.
        let mut latest: HashMap<&str, usize> = HashMap::new();
        for (i, s) in self.kept.iter().enumerate() {
            latest.insert(&s.id, i);
        }
        let mut last: Vec<usize> = latest.into_values().collect();
        last.sort_unstable();
        let rows: Vec<&SessionRow> = last.into_iter().map(|i| &self.kept[i]).collect();
        write(db, &rows)
    }
}

/// Upserts and deletes `rows` (distinct ids).
pub(super) fn write(db: &mut Db, rows: &[&SessionRow]) -> Result<()> {
    const COLUMNS: usize = 4;
    let mut puts = Vec::with_capacity(rows.len());
    for s in rows {
        match &s.data {
            Some(data) => puts.push((*s, data.as_str())),
            None => {
                db.changed(
                    "DELETE FROM web_sessions WHERE id = $1",
                    &[Arg::Text(&s.id)],
                )?;
            }
        }
    }
    for chunk in puts.chunks(db.rows_per_insert(COLUMNS)) {
        let sql = format!(
            "INSERT INTO web_sessions (id, data, created_at, expires_at) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
            values_placeholders(chunk.len(), COLUMNS, db.backend())
        );
        let mut args = Vec::with_capacity(chunk.len() * COLUMNS);
        for (s, data) in chunk {
            args.extend([
                Arg::Text(&s.id),
                Arg::Text(data),
                Arg::Int(s.created_at),
                Arg::Int(s.expires_at),
            ]);
        }
        db.insert_rows(&sql, &args)?;
    }
    Ok(())
}
