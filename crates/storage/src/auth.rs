//! Nonces and the authenticator hand-off, kept in the database so that any
//! server node can check what another node issued.

use chrono::{DateTime, Utc};

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{Db, Refusal, Step, Write, Written};
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

/// Hand-offs and nonces removed per job of a purge, so that a purge holds
/// the writer (and on SQLite the write lock) for one short statement at a
/// time rather than for every expired row at once.
const PURGE_CHUNK: i64 = 1_000;

struct InsertNonce {
    nonce: String,
    session_id: String,
    now: i64,
    expires_at: i64,
}

impl Step for InsertNonce {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        db.changed(
            "INSERT INTO auth_nonces (nonce, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[
                Arg::Text(&self.nonce),
                Arg::Text(&self.session_id),
                Arg::Int(self.now),
                Arg::Int(self.expires_at),
            ],
        )
        .map_err(|e| e.unique_as("ノンス"))?;
        Ok(Ok(Written::Done))
    }
}

/// A conditional write: it tells by the number of rows it changed whether it
/// wrote (on SQLite a `RETURNING` clause costs a temporary table per
/// execution), and only on a refusal reads why.
struct SpendNonce {
    nonce: String,
    session_id: String,
    now: i64,
}

impl Step for SpendNonce {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let changed = db.changed(
            "UPDATE auth_nonces SET used_at = $1 WHERE nonce = $2 AND session_id = $3 \
             AND used_at IS NULL AND expires_at > $1",
            &[
                Arg::Int(self.now),
                Arg::Text(&self.nonce),
                Arg::Text(&self.session_id),
            ],
        )?;
        if changed > 0 {
            return Ok(Ok(Written::Done));
        }
        Ok(Err(Refusal::Nonce(self.rejection(db)?)))
    }
}

impl SpendNonce {
    fn rejection(&self, db: &mut Db) -> Result<NonceRejection> {
        let found = db
            .query(
                "SELECT session_id, expires_at, used_at FROM auth_nonces WHERE nonce = $1",
                &[Arg::Text(&self.nonce)],
                &|r| {
                    Ok((
                        r.col::<String>("session_id")?,
                        r.col::<i64>("expires_at")?,
                        r.col::<Option<i64>>("used_at")?,
                    ))
                },
            )?
            .into_iter()
            .next();
        let Some((owner, expires, used)) = found else {
            return Ok(NonceRejection::Unknown);
        };
        Ok(if owner != self.session_id {
            NonceRejection::OtherSession
        } else if used.is_some() {
            NonceRejection::AlreadyUsed
        } else if expires <= self.now {
            NonceRejection::Expired
        } else {
            NonceRejection::Unknown
        })
    }
}

struct InsertAuthRequest(AuthRequest);

impl Step for InsertAuthRequest {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let r = &self.0;
        db.changed(
            "INSERT INTO auth_requests (id, state, code_challenge, nonce, origin, redirect_uri, created_at, \
             expires_at, client_name, purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                Arg::Text(&r.id),
                Arg::Text(&r.state),
                Arg::Text(&r.code_challenge),
                Arg::Text(&r.nonce),
                Arg::Text(&r.origin),
                Arg::Text(&r.redirect_uri),
                Arg::Int(micros(r.created_at)),
                Arg::Int(micros(r.expires_at)),
                Arg::OptText(r.client_name.as_deref()),
                Arg::OptText(r.purpose.as_deref()),
            ],
        )
        .map_err(|e| e.unique_as("認証要求"))?;
        Ok(Ok(Written::Done))
    }
}

struct CompleteAuthRequest {
    id: String,
    card_id: i64,
    code: String,
    token: String,
    now: i64,
}

impl Step for CompleteAuthRequest {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let changed = db.changed(
            "UPDATE auth_requests SET card_id = $1, code = $2, token = $3, completed_at = $4 \
             WHERE id = $5 AND completed_at IS NULL AND cancelled_at IS NULL AND expires_at > $4",
            &[
                Arg::Int(self.card_id),
                Arg::Text(&self.code),
                Arg::Text(&self.token),
                Arg::Int(self.now),
                Arg::Text(&self.id),
            ],
        )?;
        Ok(if changed > 0 {
            Ok(Written::Done)
        } else {
            Err(Refusal::RequestNotOpen)
        })
    }
}

struct RedeemCode {
    code: String,
    now: i64,
}

impl Step for RedeemCode {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        // The token is single use: once spent it is not kept (and the row,
        // which it makes 2–3 KB long, is rewritten short).
        let changed = db.changed(
            "UPDATE auth_requests SET redeemed_at = $1, token = NULL \
             WHERE code = $2 AND redeemed_at IS NULL AND expires_at > $1",
            &[Arg::Int(self.now), Arg::Text(&self.code)],
        )?;
        Ok(if changed > 0 {
            Ok(Written::Done)
        } else {
            Err(Refusal::CodeNotRedeemable)
        })
    }
}

struct MarkCrossDevice {
    id: String,
}

impl Step for MarkCrossDevice {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        db.changed(
            "UPDATE auth_requests SET cross_device = 1 WHERE id = $1",
            &[Arg::Text(&self.id)],
        )?;
        Ok(Ok(Written::Done))
    }
}

struct CancelAuthRequest {
    id: String,
    now: i64,
}

impl Step for CancelAuthRequest {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let changed = db.changed(
            "UPDATE auth_requests SET cancelled_at = $1 WHERE id = $2 AND completed_at IS NULL \
             AND cancelled_at IS NULL",
            &[Arg::Int(self.now), Arg::Text(&self.id)],
        )?;
        Ok(if changed > 0 {
            Ok(Written::Done)
        } else {
            Err(Refusal::RequestNotOpen)
        })
    }
}

/// Up to [`PURGE_CHUNK`] nonces or hand-offs that expired before `cutoff`.
enum PurgeExpired {
    Nonces { cutoff: i64 },
    Requests { cutoff: i64 },
}

impl Step for PurgeExpired {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let (sql, cutoff) = match *self {
            PurgeExpired::Nonces { cutoff } => (
                "DELETE FROM auth_nonces WHERE nonce IN \
                 (SELECT nonce FROM auth_nonces WHERE expires_at < $1 LIMIT $2)",
                cutoff,
            ),
            PurgeExpired::Requests { cutoff } => (
                "DELETE FROM auth_requests WHERE id IN \
                 (SELECT id FROM auth_requests WHERE expires_at < $1 LIMIT $2)",
                cutoff,
            ),
        };
        let removed = db.changed(sql, &[Arg::Int(cutoff), Arg::Int(PURGE_CHUNK)])?;
        Ok(Ok(Written::Count(removed)))
    }
}

impl Write {
    /// Uses a nonce up (see [`crate::Store::consume_nonce`]); a rejection
    /// refuses the whole job.
    pub fn spend_nonce(nonce: &str, session_id: &str, now: DateTime<Utc>) -> Self {
        Self::step(SpendNonce {
            nonce: nonce.to_owned(),
            session_id: session_id.to_owned(),
            now: micros(now),
        })
    }

    /// Spends a one-time code of the authenticator hand-off, deleting the
    /// token it carried; an unknown, spent or expired code refuses the whole
    /// job.
    pub fn redeem_code(code: &str, now: DateTime<Utc>) -> Self {
        Self::step(RedeemCode {
            code: code.to_owned(),
            now: micros(now),
        })
    }
}

impl Store {
    pub async fn insert_nonce(
        &self,
        nonce: &str,
        session_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(InsertNonce {
            nonce: nonce.to_owned(),
            session_id: session_id.to_owned(),
            now: micros(now),
            expires_at: micros(expires_at),
        })
        .await?;
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

    /// Removes nonces and hand-offs that ended more than a day ago, in jobs
    /// of at most [`PURGE_CHUNK`] rows of each.
    pub async fn purge_expired_auth(&self, now: DateTime<Utc>) -> Result<u64> {
        let cutoff = micros(now) - 86_400_000_000;
        let mut total = 0;
        loop {
            let written = self
                .write(vec![
                    Write::step(PurgeExpired::Nonces { cutoff }),
                    Write::step(PurgeExpired::Requests { cutoff }),
                ])
                .await?
                .map_err(|r| StorageError::Writer(format!("{r:?}")))?;
            let mut full = false;
            for w in written {
                if let Written::Count(n) = w {
                    total += n;
                    full |= n >= PURGE_CHUNK.unsigned_abs();
                }
            }
            if !full {
                return Ok(total);
            }
        }
    }

    pub async fn insert_auth_request(&self, r: &AuthRequest) -> Result<()> {
        self.write_step(InsertAuthRequest(r.clone())).await?;
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
            .write_one(Write::step(CompleteAuthRequest {
                id: id.to_owned(),
                card_id,
                code: code.to_owned(),
                token: token.to_owned(),
                now: micros(now),
            }))
            .await?
        {
            Ok(_) => Ok(true),
            Err(Refusal::RequestNotOpen) => Ok(false),
            Err(other) => Err(StorageError::Writer(format!("{other:?}"))),
        }
    }

    /// The request was opened on another device through its QR code.
    pub async fn mark_cross_device(&self, id: &str) -> Result<()> {
        self.write_step(MarkCrossDevice { id: id.to_owned() })
            .await?;
        Ok(())
    }

    pub async fn cancel_auth_request(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let cancel = CancelAuthRequest {
            id: id.to_owned(),
            now: micros(now),
        };
        match self.write_one(Write::step(cancel)).await? {
            Ok(_) => Ok(true),
            Err(Refusal::RequestNotOpen) => Ok(false),
            Err(other) => Err(StorageError::Writer(format!("{other:?}"))),
        }
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
