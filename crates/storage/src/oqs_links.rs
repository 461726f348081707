//! レセコン連携 (`oqs_links`): the link credentials by which an institution's
//! receipt computer reaches the receipt-computer interface. Only the SHA-256
//! of a credential's secret is stored (hex, computed by the caller); the
//! credential itself is shown once by the administration.

use chrono::{DateTime, Duration, Utc};

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{
    Db, Insert, Refusal, Statement, Step, Value, Write, Written, insert_returning_id,
};
use crate::{Result, StorageError, Store};

/// `last_used_at` is written at most this often per link.
const USE_INTERVAL: Duration = Duration::minutes(1);

/// A link as the administration lists it (the secret's hash is not in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOqsLink {
    pub id: i64,
    pub institution_id: i64,
    /// 名称.
    pub label: String,
    /// `CharacterCodeIdentifier`: `"0"` UTF-8, `"1"` Shift_JIS.
    pub character_code: String,
    pub created_at: DateTime<Utc>,
    /// The name of the administrator who issued it.
    pub created_by: Option<String>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl StoredOqsLink {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// What authenticating a presented credential reads: the link, the hash its
/// secret must match and its institution's code.
#[derive(Debug, Clone)]
pub struct OqsLinkKey {
    pub link: StoredOqsLink,
    /// Hex SHA-256 of the secret of the current credential.
    pub secret_sha256: String,
    /// 医療機関等コード of the link's institution.
    pub institution_code: String,
}

/// A new link, as [`Write::issue_oqs_link`] takes it.
pub struct NewOqsLink<'a> {
    pub institution_id: i64,
    pub label: &'a str,
    pub secret_sha256: &'a str,
    pub character_code: &'a str,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

fn instant(column: &'static str, v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(|v| from_micros("oqs_links", column, v)).transpose()
}

fn link_from(r: &dyn Columns) -> Result<StoredOqsLink> {
    let character_code: String = r.col("character_code")?;
    if !matches!(character_code.as_str(), "0" | "1") {
        return Err(StorageError::corrupt(
            "oqs_links",
            "character_code",
            character_code,
        ));
    }
    Ok(StoredOqsLink {
        id: r.col("id")?,
        institution_id: r.col("institution_id")?,
        label: r.col("label")?,
        character_code,
        created_at: from_micros("oqs_links", "created_at", r.col("created_at")?)?,
        created_by: r.col("created_by_name")?,
        rotated_at: instant("rotated_at", r.col("rotated_at")?)?,
        revoked_at: instant("revoked_at", r.col("revoked_at")?)?,
        last_used_at: instant("last_used_at", r.col("last_used_at")?)?,
    })
}

const LINK_COLUMNS: &str = "l.id, l.institution_id, l.label, l.character_code, l.created_at, \
     a.name AS created_by_name, l.rotated_at, l.revoked_at, l.last_used_at";

struct Issue {
    institution_id: i64,
    label: String,
    secret_sha256: String,
    character_code: String,
    created_by: i64,
    created_at: i64,
}

const INSERT_LINK: Insert = insert_returning_id!(
    "INSERT INTO oqs_links (institution_id, label, secret_sha256, character_code, created_at, \
     created_by) VALUES ($1, $2, $3, $4, $5, $6)"
);

impl Step for Issue {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let id = db
            .insert_id(
                &INSERT_LINK,
                &[
                    Arg::Int(self.institution_id),
                    Arg::Text(&self.label),
                    Arg::Text(&self.secret_sha256),
                    Arg::Text(&self.character_code),
                    Arg::Int(self.created_at),
                    Arg::Int(self.created_by),
                ],
            )?
            .ok_or_else(|| StorageError::Writer("oqs_links: no row inserted".into()))?;
        Ok(Ok(Written::Id(id)))
    }
}

impl Write {
    /// A new link: answers [`Written::Id`] with its id (an audit record of
    /// the same job may name it, [`Write::audit_naming_row`]).
    pub fn issue_oqs_link(new: &NewOqsLink<'_>) -> Self {
        Self::step(Issue {
            institution_id: new.institution_id,
            label: new.label.to_owned(),
            secret_sha256: new.secret_sha256.to_owned(),
            character_code: new.character_code.to_owned(),
            created_by: new.created_by,
            created_at: micros(new.created_at),
        })
    }

    /// 再発行: the institution's unrevoked link `id` keeps the new secret's
    /// hash, so the previous credential stops at once. Refused
    /// ([`Refusal::NoChange`]) when the link is revoked or not the
    /// institution's.
    pub fn rotate_oqs_link(
        institution_id: i64,
        id: i64,
        secret_sha256: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self::step(Statement::conditional(
            "UPDATE oqs_links SET secret_sha256 = $1, rotated_at = $2 \
             WHERE id = $3 AND institution_id = $4 AND revoked_at IS NULL",
            vec![
                Value::Text(secret_sha256.to_owned()),
                Value::Int(micros(now)),
                Value::Int(id),
                Value::Int(institution_id),
            ],
        ))
    }

    /// 無効化 of the institution's link `id`; refused ([`Refusal::NoChange`])
    /// when it is revoked already or not the institution's.
    pub fn revoke_oqs_link(institution_id: i64, id: i64, now: DateTime<Utc>) -> Self {
        Self::step(Statement::conditional(
            "UPDATE oqs_links SET revoked_at = $1 \
             WHERE id = $2 AND institution_id = $3 AND revoked_at IS NULL",
            vec![
                Value::Int(micros(now)),
                Value::Int(id),
                Value::Int(institution_id),
            ],
        ))
    }
}

impl Store {
    /// The institution's links, newest first, revoked ones included.
    pub async fn oqs_links_of(&self, institution_id: i64) -> Result<Vec<StoredOqsLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM oqs_links l LEFT JOIN accounts a ON a.id = l.created_by \
             WHERE l.institution_id = $1 ORDER BY l.id DESC"
        );
        self.fetch(&sql, &[Arg::Int(institution_id)], link_from)
            .await
    }

    /// The institution's link `id`, whatever its state; `None` for another
    /// institution's or none.
    pub async fn oqs_link_of(&self, institution_id: i64, id: i64) -> Result<Option<StoredOqsLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM oqs_links l LEFT JOIN accounts a ON a.id = l.created_by \
             WHERE l.id = $1 AND l.institution_id = $2"
        );
        self.fetch_optional(&sql, &[Arg::Int(id), Arg::Int(institution_id)], link_from)
            .await
    }

    /// The link `id` with its secret's hash and its institution's code, in
    /// one read by the key; `None` when there is no such link.
    pub async fn oqs_link_key(&self, id: i64) -> Result<Option<OqsLinkKey>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS}, l.secret_sha256, i.code AS institution_code \
             FROM oqs_links l JOIN institutions i ON i.id = l.institution_id \
             LEFT JOIN accounts a ON a.id = l.created_by WHERE l.id = $1"
        );
        self.fetch_optional(&sql, &[Arg::Int(id)], |r| {
            Ok(OqsLinkKey {
                link: link_from(r)?,
                secret_sha256: r.col("secret_sha256")?,
                institution_code: r.col("institution_code")?,
            })
        })
        .await
    }

    /// Notes a use of the link at `now`, unless one was noted less than a
    /// minute before (then nothing is written): whether it wrote.
    pub async fn touch_oqs_link(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.write_conditional(Statement::conditional(
            "UPDATE oqs_links SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
            vec![
                Value::Int(micros(now)),
                Value::Int(id),
                Value::Int(micros(now - USE_INTERVAL)),
            ],
        ))
        .await
    }
}
