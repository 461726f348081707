//! Server-side browser sessions: a random id in a cookie, the data here.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::sql::micros;
use crate::{Result, Store};

impl Store {
    /// Creates or replaces a session.
    pub async fn put_session(
        &self,
        id: &str,
        data: &serde_json::Value,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM web_sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id, data, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(data.to_string())
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session's data while it has not expired.
    pub async fn session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT data FROM web_sessions WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get("data")?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| crate::StorageError::corrupt("web_sessions", "data", e))
    }

    pub async fn delete_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
