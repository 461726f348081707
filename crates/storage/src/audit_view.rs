//! Reading the audit log for the viewers: an institution sees only its own
//! records; the operator sees everything. Writing and verifying the chain is
//! [`crate::audit`]'s.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

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
    /// One action exactly, e.g. `medical.read`.
    pub action: Option<String>,
    /// Records about any of these persons (an empty list matches nothing).
    pub person_ids: Option<Vec<i64>>,
    /// Records made by the account with this user ID (staff records and
    /// login attempts carry it). Within an institution, an operator's records
    /// (an unlock) never match: operators' user IDs are another namespace.
    pub user_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Show records older than this sequence number (paging).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

enum Value {
    Int(i64),
    Text(String),
}

/// At most this many persons in one `IN` list.
const MAX_PERSONS: usize = 200;

impl Store {
    pub async fn query_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut sql = String::from(
            "SELECT seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash FROM audit_log \
             WHERE action LIKE $1 AND at >= $2 AND at < $3 AND seq < $4",
        );
        // The optional conditions' values, in the order of their `$6…`.
        let mut values: Vec<Value> = Vec::new();
        let mut placeholder = |v: Value| {
            values.push(v);
            format!("${}", values.len() + 5)
        };
        if let Some(id) = q.institution_id {
            let p = placeholder(Value::Int(id));
            sql.push_str(&format!(" AND institution_id = {p}"));
        }
        if let Some(action) = &q.action {
            let p = placeholder(Value::Text(action.clone()));
            sql.push_str(&format!(" AND action = {p}"));
        }
        if let Some(persons) = &q.person_ids {
            if persons.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                let list: Vec<String> = persons
                    .iter()
                    .take(MAX_PERSONS)
                    .map(|id| placeholder(Value::Int(*id)))
                    .collect();
                sql.push_str(&format!(" AND person_id IN ({})", list.join(", ")));
            }
        }
        if let Some(user) = &q.user_id {
            // The detail is a JSON object with sorted keys written by this
            // program, so `"user_id":"…"` appears exactly so; user IDs are
            // alphanumeric (no quote, no wildcard).
            let user: String = user.chars().filter(char::is_ascii_alphanumeric).collect();
            let p = placeholder(Value::Text(format!("%\"user_id\":\"{user}\"%")));
            sql.push_str(&format!(" AND detail LIKE {p}"));
            if q.institution_id.is_some() {
                let o = placeholder(Value::Text("%\"role\":\"operator\"%".to_owned()));
                sql.push_str(&format!(" AND detail NOT LIKE {o}"));
            }
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
        for v in values {
            query = match v {
                Value::Int(i) => query.bind(i),
                Value::Text(t) => query.bind(t),
            };
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// 氏名 of these persons, only of those who consented to the institution
    /// (a person exists for an institution only after consenting to it).
    pub async fn consented_names(
        &self,
        institution_id: i64,
        person_ids: &[i64],
    ) -> Result<BTreeMap<i64, String>> {
        if person_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<i64> = person_ids.iter().copied().take(MAX_PERSONS).collect();
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT p.id, p.name FROM persons p WHERE p.id IN ({}) \
             AND EXISTS (SELECT 1 FROM consents c WHERE c.institution_id = $1 AND c.person_id = p.id)",
            list.join(", ")
        );
        let query = ids
            .iter()
            .fold(sqlx::query(&sql).bind(institution_id), |q, id| q.bind(*id));
        let mut out = BTreeMap::new();
        for row in query.fetch_all(&self.pool).await? {
            out.insert(row.try_get("id")?, row.try_get("name")?);
        }
        Ok(out)
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
