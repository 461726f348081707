//! Reading the audit log for the viewers: an institution sees only its own
//! records; the operator sees everything. Writing and verifying the chain is
//! [`crate::audit`]'s.

use chrono::{DateTime, Utc};

use crate::audit::from_row;
use crate::sql::micros;
use crate::{AuditRecord, Result, Store};

/// Which records to show, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// `Some` restricts to one institution (the institution viewer always sets it).
    pub institution_id: Option<i64>,
    /// e.g. `account.` or `medical.`
    pub action_prefix: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Show records older than this sequence number (paging).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn query_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut sql = String::from(
            "SELECT seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash FROM audit_log \
             WHERE action LIKE $1 AND at >= $2 AND at < $3 AND seq < $4",
        );
        if q.institution_id.is_some() {
            sql.push_str(" AND institution_id = $6");
        }
        sql.push_str(" ORDER BY seq DESC LIMIT $5");
        let pattern = format!(
            "{}%",
            q.action_prefix
                .as_deref()
                .unwrap_or("")
                .replace(['%', '_'], "")
        );
        let mut query = sqlx::query(&sql)
            .bind(pattern)
            .bind(q.from.map_or(i64::MIN, micros))
            .bind(q.until.map_or(i64::MAX, micros))
            .bind(q.before_seq.unwrap_or(i64::MAX))
            .bind(q.limit.clamp(1, 500));
        if let Some(id) = q.institution_id {
            query = query.bind(id);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}

impl Store {
    /// How many records the log holds.
    pub async fn audit_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
            .fetch_one(&self.pool)
            .await?;
        Ok(sqlx::Row::try_get(&row, "n")?)
    }
}
