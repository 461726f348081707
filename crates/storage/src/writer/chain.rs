//! The audit chain inside a batch: the head is read once under the write lock
//! and kept in memory, each record hashed onto the one before, and the
//! records inserted together before the commit. Invariant: the head row and
//! the records always agree, because both are written in the batch's
//! transaction (docs/design/storage.md, "The writer").

use super::engine::Db;
use super::{Text, Written};
use crate::audit::{AuditRecord, Hashed, record_hash};
use crate::sql::{Arg, from_micros, micros, values_placeholders};
use crate::{Result, StorageError};

/// An audit write as sent; its record is made when the batch appends it.
pub(super) struct AuditRow {
    pub(super) at: i64,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) outcome: String,
    pub(super) institution_id: Option<i64>,
    pub(super) person_id: Option<i64>,
    pub(super) detail: Text,
}

/// Reads the head and locks it for the rest of the transaction (on SQLite
/// the batch already holds the write lock).
const HEAD: &str = "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, last_hash";

const COLUMNS: usize = 10;

/// The chain as this batch has extended it.
pub(super) struct Chain {
    /// (seq, hash) of the newest record, when the batch appends.
    head: Option<(i64, String)>,
    read: Option<(i64, String)>,
    /// Records kept for the end of the batch (Deferred).
    kept: Vec<AuditRecord>,
}

/// Where a job started, to forget what it appended when it is rolled back.
pub(super) struct Mark {
    head: Option<(i64, String)>,
    kept: usize,
}

impl Chain {
    /// A batch that does not audit leaves the head row alone.
    pub(super) fn untouched() -> Self {
        Self {
            head: None,
            read: None,
            kept: Vec::new(),
        }
    }

    /// Must run before any savepoint, so that a job rolled back cannot
    /// release the head row's lock on PostgreSQL.
    pub(super) fn read_head(db: &mut Db) -> Result<Self> {
        let head = db
            .query(HEAD, &[], &|r| {
                Ok((r.col::<i64>("seq")?, r.col::<String>("last_hash")?))
            })?
            .into_iter()
            .next()
            .ok_or_else(|| StorageError::corrupt("audit_head", "id", "missing"))?;
        Ok(Self {
            head: Some(head.clone()),
            read: Some(head),
            kept: Vec::new(),
        })
    }

    pub(super) fn mark(&self) -> Mark {
        Mark {
            head: self.head.clone(),
            kept: self.kept.len(),
        }
    }

    pub(super) fn reset(&mut self, m: Mark) {
        self.head = m.head;
        self.kept.truncate(m.kept);
    }

    /// Hashes `a` onto the chain; keeps it for [`Chain::flush`] or, when not
    /// `deferred`, inserts it now (inside the job's savepoint).
    pub(super) fn append(
        &mut self,
        db: &mut Db,
        a: &mut AuditRow,
        written: &[Written],
        deferred: bool,
    ) -> Result<AuditRecord> {
        let detail = a.detail.resolve(written)?;
        let (prev_seq, prev) = self
            .head
            .take()
            .ok_or_else(|| StorageError::Writer("audit head not read".into()))?;
        let seq = prev_seq + 1;
        let hash = record_hash(
            &prev,
            &Hashed {
                seq,
                at: a.at,
                actor: &a.actor,
                action: &a.action,
                outcome: &a.outcome,
                institution_id: a.institution_id,
                person_id: a.person_id,
                detail: &detail,
            },
        );
        let record = AuditRecord {
            seq,
            at: from_micros("audit_log", "at", a.at)?,
            actor: a.actor.clone(),
            action: a.action.clone(),
            outcome: a.outcome.clone(),
            institution_id: a.institution_id,
            person_id: a.person_id,
            detail,
            prev_hash: prev,
            hash: hash.clone(),
        };
        self.head = Some((seq, hash));
        if deferred {
            self.kept.push(record.clone());
        } else {
            insert(db, std::slice::from_ref(&record))?;
        }
        Ok(record)
    }

    /// The kept records and the new head.
    pub(super) fn flush(&mut self, db: &mut Db) -> Result<()> {
        insert(db, &self.kept)?;
        if let (Some((seq, hash)), Some(read)) = (&self.head, &self.read)
            && (*seq, hash) != (read.0, &read.1)
        {
            db.insert_rows(
                "UPDATE audit_head SET seq = $1, last_hash = $2 WHERE id = 1",
                &[Arg::Int(*seq), Arg::Text(hash)],
            )?;
        }
        Ok(())
    }
}

fn insert(db: &mut Db, records: &[AuditRecord]) -> Result<()> {
    for chunk in records.chunks(db.rows_per_insert(COLUMNS)) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, \
             hash) VALUES {}",
            values_placeholders(chunk.len(), COLUMNS, db.backend())
        );
        let mut args = Vec::with_capacity(chunk.len() * COLUMNS);
        for r in chunk {
            args.extend([
                Arg::Int(r.seq),
                Arg::Int(micros(r.at)),
                Arg::Text(&r.actor),
                Arg::Text(&r.action),
                Arg::Text(&r.outcome),
                Arg::OptInt(r.institution_id),
                Arg::OptInt(r.person_id),
                Arg::Text(&r.detail),
                Arg::Text(&r.prev_hash),
                Arg::Text(&r.hash),
            ]);
        }
        db.insert_rows(&sql, &args)?;
    }
    Ok(())
}
