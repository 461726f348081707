//! Institutions and their web-service settings, found by code or by URL token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::Row;
use zaitaku_domain::consent::ConsentItem;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::partner_origin::PartnerOrigin;

use crate::sql::{Arg, Columns, flag, from_micros, micros};
use crate::writer::{Db, Refusal, Statement, Step, Value, Written};
use crate::{Result, StorageError, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstitution {
    pub id: i64,
    pub institution: Institution,
    /// The unguessable part of the institution's web-service URL.
    pub url_token: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How long a looked-up institution is served from memory. Every page of a
/// visit starts with this lookup; a change made on this node (settings,
/// rotated URL) empties the cache at once, one made elsewhere (another node,
/// the command line) is seen after at most this long.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);
/// Bounded, so random tokens cannot grow it (only hits are kept anyway).
const TOKEN_CACHE_MAX: usize = 10_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct TokenCache(Arc<Mutex<HashMap<String, (Instant, StoredInstitution)>>>);

impl TokenCache {
    fn get(&self, token: &str) -> Option<StoredInstitution> {
        let map = self.0.lock().ok()?;
        map.get(token)
            .filter(|(at, _)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(_, i)| i.clone())
    }

    fn put(&self, token: &str, i: &StoredInstitution) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= TOKEN_CACHE_MAX {
                map.retain(|_, (at, _)| at.elapsed() < TOKEN_CACHE_TTL);
                if map.len() >= TOKEN_CACHE_MAX {
                    map.clear();
                }
            }
            map.insert(token.to_owned(), (Instant::now(), i.clone()));
        }
    }

    fn clear(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

/// The columns of [`StoredInstitution`], as a macro so that statements built
/// from them stay static texts.
macro_rules! columns {
    () => {
        "id, code, name, kind, eprescription, remote_function_enabled, consent_items, partner_origins, url_token, \
         created_at, updated_at"
    };
}
pub(crate) const COLUMNS: &str = columns!();

/// 32 random bytes, URL-safe: the token cannot be guessed or enumerated.
pub fn new_url_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StorageError::corrupt("institutions", "url_token", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn items_text(items: &[ConsentItem]) -> String {
    items
        .iter()
        .map(|i| i.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Origins hold no space, so one space separates them.
fn origins_text(origins: &[PartnerOrigin]) -> String {
    origins
        .iter()
        .map(PartnerOrigin::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn from_row(row: &dyn Columns) -> Result<StoredInstitution> {
    let t = "institutions";
    let code: String = row.col("code")?;
    let kind: String = row.col("kind")?;
    let items: String = row.col("consent_items")?;
    let mut consent_items = items
        .split(',')
        .filter(|s| !s.is_empty())
        .map(ConsentItem::parse)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| StorageError::corrupt(t, "consent_items", e))?;
    // Rows written before the display order changed keep their old order.
    consent_items.sort();
    consent_items.dedup();
    let origins: String = row.col("partner_origins")?;
    let partner_origins = origins
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(PartnerOrigin::parse)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| StorageError::corrupt(t, "partner_origins", e))?;
    let institution = Institution {
        code: InstitutionCode::parse(&code).map_err(|e| StorageError::corrupt(t, "code", e))?,
        name: row.col("name")?,
        kind: InstitutionKind::parse(&kind).map_err(|e| StorageError::corrupt(t, "kind", e))?,
        eprescription: row.col::<i64>("eprescription")? != 0,
        remote_function_enabled: row.col::<i64>("remote_function_enabled")? != 0,
        consent_items,
        partner_origins,
    };
    Ok(StoredInstitution {
        id: row.col("id")?,
        institution,
        url_token: row.col("url_token")?,
        created_at: from_micros(t, "created_at", row.col("created_at")?)?,
        updated_at: from_micros(t, "updated_at", row.col("updated_at")?)?,
    })
}

struct InsertInstitution {
    code: String,
    name: String,
    kind: &'static str,
    eprescription: bool,
    remote_function_enabled: bool,
    consent_items: String,
    partner_origins: String,
    url_token: String,
    now: i64,
}

impl Step for InsertInstitution {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        const SQL: &str = concat!(
            "INSERT INTO institutions (code, name, kind, eprescription, remote_function_enabled, consent_items, \
             partner_origins, url_token, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             RETURNING ",
            columns!()
        );
        let stored = db
            .query(
                SQL,
                &[
                    Arg::Text(&self.code),
                    Arg::Text(&self.name),
                    Arg::Text(self.kind),
                    Arg::Int(flag(self.eprescription)),
                    Arg::Int(flag(self.remote_function_enabled)),
                    Arg::Text(&self.consent_items),
                    Arg::Text(&self.partner_origins),
                    Arg::Text(&self.url_token),
                    Arg::Int(self.now),
                ],
                &from_row,
            )
            .map_err(|e| e.unique_as("医療機関等コードまたはURL"))?
            .pop()
            .ok_or_else(|| StorageError::Writer("institutions: no row inserted".into()))?;
        Ok(Ok(Written::Institution(Box::new(stored))))
    }
}

impl Store {
    pub async fn insert_institution(
        &self,
        i: &Institution,
        url_token: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredInstitution> {
        let insert = InsertInstitution {
            code: i.code.as_str().to_owned(),
            name: i.name.clone(),
            kind: i.kind.as_str(),
            eprescription: i.eprescription,
            remote_function_enabled: i.remote_function_enabled,
            consent_items: items_text(&i.consent_items),
            partner_origins: origins_text(&i.partner_origins),
            url_token: url_token.to_owned(),
            now: micros(now),
        };
        match self.write_step(insert).await? {
            Written::Institution(stored) => Ok(*stored),
            other => Err(StorageError::Writer(format!("unexpected {other:?}"))),
        }
    }

    /// The institution behind a web-service URL, or `None` for an unknown or
    /// rotated token.
    pub async fn institution_by_token(&self, token: &str) -> Result<Option<StoredInstitution>> {
        if let Some(hit) = self.institutions.get(token) {
            return Ok(Some(hit));
        }
        let sql = format!("SELECT {COLUMNS} FROM institutions WHERE url_token = $1");
        let row = sqlx::query(&sql)
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        let found = row.as_ref().map(|r| from_row(r)).transpose()?;
        if let Some(i) = &found {
            self.institutions.put(token, i);
        }
        Ok(found)
    }

    pub async fn institution_by_code(
        &self,
        code: &InstitutionCode,
    ) -> Result<Option<StoredInstitution>> {
        let sql = format!("SELECT {COLUMNS} FROM institutions WHERE code = $1");
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| from_row(r)).transpose()
    }

    pub async fn list_institutions(&self) -> Result<Vec<StoredInstitution>> {
        let sql = format!("SELECT {COLUMNS} FROM institutions ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|r| from_row(r)).collect()
    }

    /// Saves the settings an administrator can change (name, e-prescription,
    /// the function switch, consent items, partner origins). The code and
    /// kind never change.
    pub async fn update_institution_settings(
        &self,
        id: i64,
        i: &Institution,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE institutions SET name = $1, eprescription = $2, remote_function_enabled = $3, consent_items = $4, \
             partner_origins = $5, updated_at = $6 WHERE id = $7",
            vec![Value::Text(i.name.clone()), Value::Int(flag(i.eprescription)), Value::Int(flag(i.remote_function_enabled)), Value::Text(items_text(&i.consent_items)), Value::Text(origins_text(&i.partner_origins)), Value::Int(micros(now)), Value::Int(id)],
        ))
        .await?;
        self.institutions.clear();
        Ok(())
    }

    /// Issues a new URL token; the old one stops working at once.
    pub async fn rotate_url_token(&self, id: i64, now: DateTime<Utc>) -> Result<String> {
        let token = new_url_token()?;
        self.write_step(Statement::new(
            "UPDATE institutions SET url_token = $1, updated_at = $2 WHERE id = $3",
            vec![
                Value::Text(token.clone()),
                Value::Int(micros(now)),
                Value::Int(id),
            ],
        ))
        .await?;
        self.institutions.clear();
        Ok(token)
    }

    pub async fn institution(&self, id: i64) -> Result<Option<StoredInstitution>> {
        let sql = format!("SELECT {COLUMNS} FROM institutions WHERE id = $1");
        self.fetch_optional(&sql, &[Arg::Int(id)], from_row).await
    }

    /// The administrator acknowledged the オンライン資格確認等システム利用規約
    /// when switching the function on.
    pub async fn record_terms_acceptance(
        &self,
        id: i64,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE institutions SET terms_accepted_at = $1, terms_accepted_by = $2 WHERE id = $3",
            vec![
                Value::Int(micros(now)),
                Value::Int(account_id),
                Value::Int(id),
            ],
        ))
        .await?;
        Ok(())
    }

    /// When, and by whom (user name), the terms were last acknowledged.
    pub async fn terms_acceptance(&self, id: i64) -> Result<Option<(DateTime<Utc>, String)>> {
        let row = sqlx::query(
            "SELECT i.terms_accepted_at, a.name FROM institutions i LEFT JOIN accounts a ON a.id = i.terms_accepted_by \
             WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let at: Option<i64> = row.try_get("terms_accepted_at")?;
        let name: Option<String> = row.try_get("name")?;
        at.map(|v| {
            Ok((
                from_micros("institutions", "terms_accepted_at", v)?,
                name.unwrap_or_default(),
            ))
        })
        .transpose()
    }
}
