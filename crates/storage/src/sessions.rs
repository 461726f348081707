//! Server-side browser sessions: a random id in a cookie, the data here.

use chrono::{DateTime, Utc};

use crate::sql::{Arg, micros};
use crate::writer::Write;
use crate::{Result, Store};

impl Store {
    /// Creates or replaces a session; durable when this returns.
    pub async fn put_session(
        &self,
        id: &str,
        data: &serde_json::Value,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.write_one(Write::put_session(id, data, now, expires_at))
            .await?
            .map_err(|r| crate::StorageError::Writer(format!("{r:?}")))?;
        Ok(())
    }

    /// The session's data while it has not expired.
    pub async fn session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<serde_json::Value>> {
        let Some(text) = self.session_text(id, now).await? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| crate::StorageError::corrupt("web_sessions", "data", e))
    }

    /// The session's data as stored (JSON text), for a caller that parses it
    /// into its own type: one parse instead of text → `Value` → type, on
    /// every request of a visit.
    pub async fn session_text(&self, id: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        self.fetch_optional(
            "SELECT data FROM web_sessions WHERE id = $1 AND expires_at > $2",
            &[Arg::Text(id), Arg::Int(micros(now))],
            |r| r.col::<String>("data"),
        )
        .await
    }

    /// Ends a session; durable when this returns.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        self.write_one(Write::delete_session(id))
            .await?
            .map_err(|r| crate::StorageError::Writer(format!("{r:?}")))?;
        Ok(())
    }
}
