//! The staff app's side of `devices` (マイナ資格確認アプリ): activation codes
//! an administrator issues, the activation that turns one into a device, and
//! what an app device keeps (its login passcode, the count of wrong ones, the
//! 目視確認 setting). A code and a device token are stored only as SHA-256.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::devices::token_hash;
use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{
    Db, Insert, Refusal, Statement, Step, Value, Write, Written, insert_returning_id,
};
use crate::{Result, StorageError, Store};

/// What opening the app reads ([`Store::app_session_parts`]).
#[derive(Debug, Clone)]
pub struct AppSessionParts {
    pub device: AppDevice,
    /// The session's data and when it expires.
    pub session: Option<(serde_json::Value, DateTime<Utc>)>,
    pub account: Option<crate::StoredAccount>,
    pub institution: Option<crate::StoredInstitution>,
}

/// An issued アクティベーションコード (the code itself is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredActivationCode {
    pub id: i64,
    pub institution_id: i64,
    /// 端末識別メモ.
    pub memo: String,
    pub issued_at: DateTime<Utc>,
    /// The name of the administrator who issued it.
    pub issued_by: Option<String>,
    pub usable_from: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub device_id: Option<i64>,
}

/// An app device as its own requests need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDevice {
    pub id: i64,
    pub institution_id: i64,
    /// The account that activated it, the only one it logs in to.
    pub account_id: i64,
    pub memo: String,
    pub active: bool,
    /// `None` until a passcode is chosen, and after five wrong ones or a
    /// ログアウト: then the ID and password are asked first.
    pub passcode_hash: Option<String>,
    pub wrong_passcodes: u8,
    /// 目視確認で本人認証.
    pub visual_check: bool,
}

fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

fn instant(column: &'static str, v: i64) -> Result<DateTime<Utc>> {
    from_micros("activation_codes", column, v)
}

fn code_from(r: &dyn Columns) -> Result<StoredActivationCode> {
    Ok(StoredActivationCode {
        id: r.col("id")?,
        institution_id: r.col("institution_id")?,
        memo: r.col("memo")?,
        issued_at: instant("issued_at", r.col("issued_at")?)?,
        issued_by: r.col("issued_by_name")?,
        usable_from: instant("usable_from", r.col("usable_from")?)?,
        expires_at: instant("expires_at", r.col("expires_at")?)?,
        used_at: r
            .col::<Option<i64>>("used_at")?
            .map(|v| instant("used_at", v))
            .transpose()?,
        device_id: r.col("device_id")?,
    })
}

const CODE_COLUMNS: &str = "c.id, c.institution_id, c.memo, c.issued_at, a.name AS issued_by_name, \
     c.usable_from, c.expires_at, c.used_at, c.device_id";

fn device_from(r: &dyn Columns) -> Result<AppDevice> {
    let wrong: i64 = r.col("wrong_passcodes")?;
    Ok(AppDevice {
        id: r.col("id")?,
        institution_id: r.col("institution_id")?,
        account_id: r
            .col::<Option<i64>>("registered_by")?
            .ok_or_else(|| StorageError::corrupt("devices", "registered_by", "NULL"))?,
        memo: r.col("memo")?,
        active: r.col::<Option<i64>>("revoked_at")?.is_none(),
        passcode_hash: r.col("passcode_hash")?,
        wrong_passcodes: u8::try_from(wrong)
            .map_err(|_| StorageError::corrupt("devices", "wrong_passcodes", wrong))?,
        visual_check: r.col::<i64>("visual_check")? != 0,
    })
}

const DEVICE_COLUMNS: &str = "id, institution_id, registered_by, memo, revoked_at, passcode_hash, \
     wrong_passcodes, visual_check";

/// A new code, as [`Store::issue_activation_code`] takes it.
pub struct NewActivationCode<'a> {
    pub institution_id: i64,
    pub code: &'a str,
    pub memo: &'a str,
    pub issued_by: i64,
    pub issued_at: DateTime<Utc>,
    pub usable_from: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The activation: the device is inserted and the code marked used by it,
/// or, when the code is no longer open at `now` (used meanwhile, expired),
/// nothing is written and the job refuses with
/// [`Refusal::CodeNotRedeemable`].
struct Activate {
    institution_id: i64,
    code_id: i64,
    token_hash: String,
    memo: String,
    account_id: i64,
    now: i64,
}

const INSERT_APP_DEVICE: Insert = insert_returning_id!(
    "INSERT INTO devices (institution_id, kind, token_hash, memo, registered_at, registered_by) \
     VALUES ($1, 'app', $2, $3, $4, $5)"
);

impl Step for Activate {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let id = db
            .insert_id(
                &INSERT_APP_DEVICE,
                &[
                    Arg::Int(self.institution_id),
                    Arg::Text(&self.token_hash),
                    Arg::Text(&self.memo),
                    Arg::Int(self.now),
                    Arg::Int(self.account_id),
                ],
            )
            .map_err(|e| e.unique_as("端末"))?
            .ok_or_else(|| StorageError::Writer("devices: no row inserted".into()))?;
        let used = db.changed(
            "UPDATE activation_codes SET used_at = $1, device_id = $2 \
             WHERE id = $3 AND institution_id = $4 AND used_at IS NULL \
             AND usable_from <= $1 AND expires_at > $1",
            &[
                Arg::Int(self.now),
                Arg::Int(id),
                Arg::Int(self.code_id),
                Arg::Int(self.institution_id),
            ],
        )?;
        Ok(if used == 1 {
            Ok(Written::Id(id))
        } else {
            Err(Refusal::CodeNotRedeemable)
        })
    }
}

impl Write {
    /// Activates a device with the code `code_id` (see [`Store::activation_code`]):
    /// its id, or [`Refusal::CodeNotRedeemable`] when the code is not open
    /// at `now` any more.
    pub fn activate_app_device(
        institution_id: i64,
        code_id: i64,
        token: &str,
        memo: &str,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Self {
        Self::step(Activate {
            institution_id,
            code_id,
            token_hash: token_hash(token),
            memo: memo.to_owned(),
            account_id,
            now: micros(now),
        })
    }
}

impl Store {
    /// Keeps a new code (its hash); `Duplicate` in the unlikely case that
    /// the institution holds the same twelve digits already.
    pub async fn issue_activation_code(&self, new: &NewActivationCode<'_>) -> Result<()> {
        self.write_step(
            Statement::new(
                "INSERT INTO activation_codes (institution_id, code_hash, memo, issued_at, \
                 issued_by, usable_from, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    Value::Int(new.institution_id),
                    Value::Text(code_hash(new.code)),
                    Value::Text(new.memo.to_owned()),
                    Value::Int(micros(new.issued_at)),
                    Value::Int(new.issued_by),
                    Value::Int(micros(new.usable_from)),
                    Value::Int(micros(new.expires_at)),
                ],
            )
            .unique_as("アクティベーションコード"),
        )
        .await?;
        Ok(())
    }

    /// The institution's codes, newest first, at most `limit`.
    pub async fn activation_codes_of(
        &self,
        institution_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredActivationCode>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM activation_codes c LEFT JOIN accounts a ON a.id = c.issued_by \
             WHERE c.institution_id = $1 ORDER BY c.id DESC LIMIT $2"
        );
        self.fetch(
            &sql,
            &[Arg::Int(institution_id), Arg::Int(limit)],
            code_from,
        )
        .await
    }

    /// The institution's code with these digits, whatever its state.
    pub async fn activation_code(
        &self,
        institution_id: i64,
        code: &str,
    ) -> Result<Option<StoredActivationCode>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM activation_codes c LEFT JOIN accounts a ON a.id = c.issued_by \
             WHERE c.institution_id = $1 AND c.code_hash = $2"
        );
        self.fetch_optional(
            &sql,
            &[Arg::Int(institution_id), Arg::Text(&code_hash(code))],
            code_from,
        )
        .await
    }

    /// The app device keeping `token`, whatever its state; `None` for an
    /// unknown token or a browser device.
    pub async fn app_device_by_token(&self, token: &str) -> Result<Option<AppDevice>> {
        let sql =
            format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1 AND kind = 'app'");
        self.fetch_optional(&sql, &[Arg::Text(&token_hash(token))], device_from)
            .await
    }

    /// What opening the app reads, in one read transaction: the app device
    /// keeping `token`, whatever its state, and — when it is active and
    /// `sid` names a live session — that session's data and expiry, the
    /// device's account and its institution.
    pub async fn app_session_parts(
        &self,
        token: &str,
        sid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<AppSessionParts>> {
        let mut snap = self.snapshot()?;
        let sql =
            format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1 AND kind = 'app'");
        let Some(device) = snap
            .fetch(&sql, &[Arg::Text(&token_hash(token))], device_from)
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let mut parts = AppSessionParts {
            device,
            session: None,
            account: None,
            institution: None,
        };
        let Some(sid) = sid.filter(|s| !s.is_empty() && parts.device.active) else {
            return Ok(Some(parts));
        };
        parts.session = snap
            .fetch(
                "SELECT data, expires_at FROM web_sessions WHERE id = $1 AND expires_at > $2",
                &[Arg::Text(sid), Arg::Int(micros(now))],
                |r| {
                    let data = serde_json::from_str(&r.col::<String>("data")?)
                        .map_err(|e| StorageError::corrupt("web_sessions", "data", e))?;
                    Ok((
                        data,
                        from_micros("web_sessions", "expires_at", r.col("expires_at")?)?,
                    ))
                },
            )
            .await?
            .pop();
        if parts.session.is_none() {
            return Ok(Some(parts));
        }
        let sql = format!(
            "SELECT {} FROM accounts a WHERE a.id = $1",
            crate::accounts::COLUMNS
        );
        parts.account = snap
            .fetch(
                &sql,
                &[Arg::Int(parts.device.account_id)],
                crate::accounts::from_row,
            )
            .await?
            .pop();
        let sql = format!(
            "SELECT {} FROM institutions WHERE id = $1",
            crate::institutions::COLUMNS
        );
        parts.institution = snap
            .fetch(
                &sql,
                &[Arg::Int(parts.device.institution_id)],
                crate::institutions::from_row,
            )
            .await?
            .pop();
        Ok(Some(parts))
    }

    /// The app device `id`, whatever its state.
    pub async fn app_device_by_id(&self, id: i64) -> Result<Option<AppDevice>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1 AND kind = 'app'");
        self.fetch_optional(&sql, &[Arg::Int(id)], device_from)
            .await
    }

    /// Sets the login passcode (a hash) and clears the count of wrong ones.
    pub async fn set_app_passcode(&self, device_id: i64, passcode_hash: &str) -> Result<bool> {
        self.write_conditional(Statement::conditional(
            "UPDATE devices SET passcode_hash = $1, wrong_passcodes = 0 \
             WHERE id = $2 AND kind = 'app' AND revoked_at IS NULL",
            vec![Value::Text(passcode_hash.to_owned()), Value::Int(device_id)],
        ))
        .await
    }

    /// Records one passcode attempt, if the count is still `seen` (another
    /// attempt did not move it first): the new count, and when `forget` the
    /// passcode too, so that only the ID and password open the app.
    pub async fn record_passcode_attempt(
        &self,
        device_id: i64,
        seen: u8,
        wrong: u8,
        forget: bool,
    ) -> Result<bool> {
        let sql = if forget {
            "UPDATE devices SET wrong_passcodes = $1, passcode_hash = NULL \
             WHERE id = $2 AND wrong_passcodes = $3"
        } else {
            "UPDATE devices SET wrong_passcodes = $1 WHERE id = $2 AND wrong_passcodes = $3"
        };
        self.write_conditional(Statement::conditional(
            sql,
            vec![
                Value::Int(i64::from(wrong)),
                Value::Int(device_id),
                Value::Int(i64::from(seen)),
            ],
        ))
        .await
    }

    /// ログアウト: the passcode is forgotten; the next start asks for the ID
    /// and password.
    pub async fn forget_app_passcode(&self, device_id: i64) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE devices SET passcode_hash = NULL WHERE id = $1 AND kind = 'app'",
            vec![Value::Int(device_id)],
        ))
        .await?;
        Ok(())
    }

    /// 目視確認で本人認証 on or off.
    pub async fn set_app_visual_check(&self, device_id: i64, on: bool) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE devices SET visual_check = $1 WHERE id = $2 AND kind = 'app'",
            vec![Value::Int(i64::from(on)), Value::Int(device_id)],
        ))
        .await?;
        Ok(())
    }
}
