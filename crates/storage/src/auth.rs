//! Nonces and the authenticator hand-off, kept in the database so that any
//! server node can check what another node issued.

use chrono::{DateTime, Utc};

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{Refusal, Write};
use crate::{Result, StorageError, Store};

/// Why a nonce could not be consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceRejection {
    Unknown,
    OtherSession,
    Expired,
    AlreadyUsed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub id: String,
    pub state: String,
    pub code_challenge: String,
    pub nonce: String,
    pub origin: String,
    pub redirect_uri: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub card_id: Option<i64>,
    pub code: Option<String>,
    pub token: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cross_device: bool,
    /// The institution's name, as the service asked it to be shown.
    pub client_name: Option<String>,
    /// What the authentication is for (`register`, `view`, …), as sent.
    pub purpose: Option<String>,
}

pub(crate) const REQUEST_COLUMNS: &str = "id, state, code_challenge, nonce, origin, redirect_uri, created_at, expires_at, card_id, code, \
     token, completed_at, redeemed_at, cancelled_at, cross_device, client_name, purpose";

fn opt_time(row: &dyn Columns, column: &'static str) -> Result<Option<DateTime<Utc>>> {
    row.col::<Option<i64>>(column)?
        .map(|v| from_micros("auth_requests", column, v))
        .transpose()
}

pub(crate) fn request_from_row(row: &dyn Columns) -> Result<AuthRequest> {
    let t = "auth_requests";
    Ok(AuthRequest {
        id: row.col("id")?,
        state: row.col("state")?,
        code_challenge: row.col("code_challenge")?,
        nonce: row.col("nonce")?,
        origin: row.col("origin")?,
        redirect_uri: row.col("redirect_uri")?,
        created_at: from_micros(t, "created_at", row.col("created_at")?)?,
        expires_at: from_micros(t, "expires_at", row.col("expires_at")?)?,
        card_id: row.col("card_id")?,
        code: row.col("code")?,
        token: row.col("token")?,
        completed_at: opt_time(row, "completed_at")?,
        redeemed_at: opt_time(row, "redeemed_at")?,
        cancelled_at: opt_time(row, "cancelled_at")?,
        cross_device: row.col::<i64>("cross_device")? != 0,
        client_name: row.col("client_name")?,
        purpose: row.col("purpose")?,
    })
}

impl Store {
    pub async fn insert_nonce(
        &self,
        nonce: &str,
        session_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.write_one(Write::insert_nonce(nonce, session_id, now, expires_at))
            .await?
            .map_err(|r| StorageError::Writer(format!("{r:?}")))?;
        Ok(())
    }

    /// Uses a nonce up: succeeds once, for its own session, before it expires.
    /// The conditional UPDATE makes "once" hold across nodes and races; it is
    /// durable when this returns.
    pub async fn consume_nonce(
        &self,
        nonce: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), NonceRejection>> {
        match self
            .write_one(Write::spend_nonce(nonce, session_id, now))
            .await?
        {
            Ok(_) => Ok(Ok(())),
            Err(Refusal::Nonce(why)) => Ok(Err(why)),
            Err(other) => Err(StorageError::Writer(format!("{other:?}"))),
        }
    }

    /// Removes nonces and hand-offs that ended more than a day ago.
    pub async fn purge_expired_auth(&self, now: DateTime<Utc>) -> Result<u64> {
        let cutoff = micros(now) - 86_400_000_000;
        let a = sqlx::query("DELETE FROM auth_nonces WHERE expires_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM auth_requests WHERE expires_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(a + b)
    }

    pub async fn insert_auth_request(&self, r: &AuthRequest) -> Result<()> {
        self.write_one(Write::insert_auth_request(r))
            .await?
            .map_err(|r| StorageError::Writer(format!("{r:?}")))?;
        Ok(())
    }

    pub async fn auth_request(&self, id: &str) -> Result<Option<AuthRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM auth_requests WHERE id = $1");
        self.fetch_optional(&sql, &[Arg::Text(id)], request_from_row)
            .await
    }

    /// Records the signed token and its one-time code; only an open request
    /// can complete, and only once.
    pub async fn complete_auth_request(
        &self,
        id: &str,
        card_id: i64,
        code: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        match self
            .write_one(Write::complete_auth_request(id, card_id, code, token, now))
            .await?
        {
            Ok(_) => Ok(true),
            Err(Refusal::RequestNotOpen) => Ok(false),
            Err(other) => Err(StorageError::Writer(format!("{other:?}"))),
        }
    }

    /// The request was opened on another device through its QR code.
    pub async fn mark_cross_device(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE auth_requests SET cross_device = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn cancel_auth_request(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE auth_requests SET cancelled_at = $1 WHERE id = $2 AND completed_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(micros(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The request behind a code that is still redeemable (not redeemed, not
    /// expired), without redeeming it: the caller commits
    /// [`Write::redeem_code`] together with what the code allows.
    pub async fn open_auth_code(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM auth_requests WHERE code = $1 AND redeemed_at IS NULL AND expires_at > $2"
        );
        self.fetch_optional(
            &sql,
            &[Arg::Text(code), Arg::Int(micros(now))],
            request_from_row,
        )
        .await
    }

    /// The back channel: exchanges a code for its request once. The caller
    /// checks PKCE on the returned request before releasing the token.
    pub async fn redeem_auth_code(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthRequest>> {
        // Read first: spending the code also deletes the token. Of two
        // exchanges at once, both may read it; only one spends it.
        let Some(open) = self.open_auth_code(code, now).await? else {
            return Ok(None);
        };
        match self.write_one(Write::redeem_code(code, now)).await? {
            Ok(_) => Ok(Some(open)),
            Err(Refusal::CodeNotRedeemable) => Ok(None),
            Err(other) => Err(StorageError::Writer(format!("{other:?}"))),
        }
    }
}
