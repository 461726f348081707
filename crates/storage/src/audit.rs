//! The audit log: append-only and hash-chained. Each record's hash covers the
//! previous record's hash and its own fields, so editing or deleting any
//! record breaks every hash after it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{from_micros, micros};
use crate::writer::{Write, Written};
use crate::{Result, StorageError, Store};

/// What to record. `detail` is a short JSON object; it never holds a PIN,
/// a password or a token.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub outcome: &'a str,
    pub institution_id: Option<i64>,
    pub person_id: Option<i64>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub institution_id: Option<i64>,
    pub person_id: Option<i64>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields a record's hash covers, besides the previous hash.
pub(crate) struct Hashed<'a> {
    pub(crate) seq: i64,
    pub(crate) at: i64,
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) outcome: &'a str,
    pub(crate) institution_id: Option<i64>,
    pub(crate) person_id: Option<i64>,
    pub(crate) detail: &'a str,
}

pub(crate) fn record_hash(prev: &str, f: &Hashed<'_>) -> String {
    let mut h = Sha256::new();
    // Length-prefixed fields: no two different records hash the same input.
    for part in [
        prev.to_owned(),
        f.seq.to_string(),
        f.at.to_string(),
        f.actor.to_owned(),
        f.action.to_owned(),
        f.outcome.to_owned(),
        f.institution_id.map_or_else(String::new, |v| v.to_string()),
        f.person_id.map_or_else(String::new, |v| v.to_string()),
        f.detail.to_owned(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(crate) fn from_row(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: from_micros("audit_log", "at", row.try_get("at")?)?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        outcome: row.try_get("outcome")?,
        institution_id: row.try_get("institution_id")?,
        person_id: row.try_get("person_id")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

impl Store {
    /// Appends one record; durable when this returns. The group-commit
    /// writer is the appender (see `writer`), so concurrent appends share a
    /// commit and the chain stays in order.
    pub async fn audit(&self, e: &AuditEvent<'_>, now: DateTime<Utc>) -> Result<AuditRecord> {
        let written = self
            .write_one(Write::audit(e, now))
            .await?
            .map_err(|r| StorageError::Writer(format!("{r:?}")))?;
        match written {
            Written::Audit(record) => Ok(record),
            other => Err(StorageError::Writer(format!("unexpected {other:?}"))),
        }
    }

    /// The newest records first, optionally filtered by action prefix.
    pub async fn audit_records(
        &self,
        action_prefix: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let pattern = format!("{}%", action_prefix.unwrap_or(""));
        sqlx::query(
            "SELECT seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash FROM audit_log \
             WHERE action LIKE $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// Walks the whole chain; returns the first sequence number whose record
    /// was edited, removed or re-ordered, or `None` when the chain is intact.
    pub async fn verify_audit_chain(&self) -> Result<Option<i64>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut prev = "0".repeat(64);
        let mut expected_seq = 1;
        for row in &rows {
            let r = from_row(row)?;
            let recomputed = record_hash(
                &prev,
                &Hashed {
                    seq: r.seq,
                    at: micros(r.at),
                    actor: &r.actor,
                    action: &r.action,
                    outcome: &r.outcome,
                    institution_id: r.institution_id,
                    person_id: r.person_id,
                    detail: &r.detail,
                },
            );
            if r.seq != expected_seq || r.prev_hash != prev || r.hash != recomputed {
                return Ok(Some(expected_seq));
            }
            prev = r.hash;
            expected_seq += 1;
        }
        let head = sqlx::query("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("last_hash")?;
        if head_seq != expected_seq - 1 || head_hash != prev {
            // Records were removed from the end.
            return Ok(Some(expected_seq));
        }
        Ok(None)
    }
}
