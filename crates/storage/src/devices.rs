//! An institution's own devices (医療機関等の端末): browsers registered by an
//! administrator, and later the staff app's activated installs. A device is
//! known by a random token it keeps (a cookie); only the token's SHA-256 is
//! stored.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{Db, Insert, Refusal, Statement, Step, Value, Written, insert_returning_id};
use crate::{Result, StorageError, Store};

/// What kind of device: a browser with the device cookie, or the staff app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Browser,
    App,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::App => "app",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Browser => "ブラウザ",
            Self::App => "マイナ資格確認アプリ",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "browser" => Ok(Self::Browser),
            "app" => Ok(Self::App),
            other => Err(StorageError::corrupt("devices", "kind", other)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDevice {
    pub id: i64,
    pub institution_id: i64,
    pub kind: DeviceKind,
    pub memo: String,
    pub registered_at: DateTime<Utc>,
    /// The name of the account that registered it.
    pub registered_by: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl StoredDevice {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// The hex SHA-256 a device token is stored and looked up as.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn opt_instant(column: &'static str, v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(|v| from_micros("devices", column, v)).transpose()
}

fn from_row(row: &AnyRow) -> Result<StoredDevice> {
    let kind: String = row.try_get("kind")?;
    Ok(StoredDevice {
        id: row.try_get("id")?,
        institution_id: row.try_get("institution_id")?,
        kind: DeviceKind::parse(&kind)?,
        memo: row.try_get("memo")?,
        registered_at: from_micros("devices", "registered_at", row.try_get("registered_at")?)?,
        registered_by: row.try_get("registered_by_name")?,
        last_seen_at: opt_instant("last_seen_at", row.try_get("last_seen_at")?)?,
        revoked_at: opt_instant("revoked_at", row.try_get("revoked_at")?)?,
    })
}

const COLUMNS: &str = "d.id, d.institution_id, d.kind, d.memo, d.registered_at, a.name AS registered_by_name, \
     d.last_seen_at, d.revoked_at";

/// The device a token names, as the registration path needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSighting {
    pub id: i64,
    pub institution_id: i64,
    pub active: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
}

const INSERT: Insert = insert_returning_id!(
    "INSERT INTO devices (institution_id, kind, token_hash, memo, registered_at, registered_by) \
     VALUES ($1, $2, $3, $4, $5, $6)"
);

struct RegisterDevice {
    institution_id: i64,
    kind: DeviceKind,
    token_hash: String,
    memo: String,
    account_id: i64,
    now: i64,
}

impl Step for RegisterDevice {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let id = db
            .insert_id(
                &INSERT,
                &[
                    Arg::Int(self.institution_id),
                    Arg::Text(self.kind.as_str()),
                    Arg::Text(&self.token_hash),
                    Arg::Text(&self.memo),
                    Arg::Int(self.now),
                    Arg::Int(self.account_id),
                ],
            )
            .map_err(|e| e.unique_as("端末"))?
            .ok_or_else(|| StorageError::Writer("devices: no row inserted".into()))?;
        Ok(Ok(Written::Id(id)))
    }
}

impl Store {
    /// Registers the device that keeps `token`.
    pub async fn register_device(
        &self,
        institution_id: i64,
        kind: DeviceKind,
        token: &str,
        memo: &str,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<StoredDevice> {
        let register = RegisterDevice {
            institution_id,
            kind,
            token_hash: token_hash(token),
            memo: memo.to_owned(),
            account_id,
            now: micros(now),
        };
        let Written::Id(id) = self.write_step(register).await? else {
            return Err(StorageError::Writer("devices: no id".into()));
        };
        self.device_of(institution_id, id)
            .await?
            .ok_or_else(|| StorageError::corrupt("devices", "id", id))
    }

    /// The institution's devices, newest first, revoked ones included.
    pub async fn devices_of(&self, institution_id: i64) -> Result<Vec<StoredDevice>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM devices d LEFT JOIN accounts a ON a.id = d.registered_by \
             WHERE d.institution_id = $1 ORDER BY d.id DESC"
        );
        sqlx::query(&sql)
            .bind(institution_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// One device, only if it belongs to this institution.
    pub async fn device_of(&self, institution_id: i64, id: i64) -> Result<Option<StoredDevice>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM devices d LEFT JOIN accounts a ON a.id = d.registered_by \
             WHERE d.institution_id = $1 AND d.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(institution_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The device keeping `token`, whatever its institution or state: one
    /// read by the token's unique index, on the registration path.
    pub async fn device_by_token(&self, token: &str) -> Result<Option<DeviceSighting>> {
        self.fetch_optional(
            "SELECT id, institution_id, revoked_at, last_seen_at FROM devices WHERE token_hash = $1",
            &[Arg::Text(&token_hash(token))],
            |r: &dyn Columns| {
                Ok(DeviceSighting {
                    id: r.col("id")?,
                    institution_id: r.col("institution_id")?,
                    active: r.col::<Option<i64>>("revoked_at")?.is_none(),
                    last_seen_at: opt_instant("last_seen_at", r.col("last_seen_at")?)?,
                })
            },
        )
        .await
    }

    /// Notes that the device was used now.
    pub async fn touch_device(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
            vec![Value::Int(micros(now)), Value::Int(id)],
        ))
        .await?;
        Ok(())
    }

    /// 登録解除. `false` when it was already revoked (nothing changes).
    pub async fn revoke_device(
        &self,
        institution_id: i64,
        id: i64,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.write_conditional(Statement::conditional(
            "UPDATE devices SET revoked_at = $1, revoked_by = $2 \
             WHERE institution_id = $3 AND id = $4 AND revoked_at IS NULL",
            vec![
                Value::Int(micros(now)),
                Value::Int(account_id),
                Value::Int(institution_id),
                Value::Int(id),
            ],
        ))
        .await
    }
}
