//! The consent registry: an append-only history per institution and person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem, ConsentRecord,
};
use zaitaku_domain::person::PersonId;

use crate::sql::{flag, from_micros, micros};
use crate::{Result, StorageError, Store};

/// A consent event to append.
#[derive(Debug, Clone)]
pub struct NewConsent<'a> {
    pub institution_id: i64,
    pub person_id: PersonId,
    pub action: ConsentAction,
    pub channel: Channel,
    /// For `Revoke`, the decision carries no choices and no prescription form.
    pub decision: &'a ConsentDecision,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: &'a str,
    pub needs_photo_id_check: bool,
    /// The same key twice returns the first record instead of writing again.
    pub idempotency_key: Option<&'a str>,
}

const COLUMNS: &str = "c.id, i.code AS institution_code, c.person_id, c.action, c.care_kind, c.channel, c.surgery, \
     c.clinical_and_drug, c.checkups, c.specific_disease, c.subsidy, c.limit_amount, c.prescription_form, c.recorded_at, \
     c.valid_until, c.recorded_by, c.needs_photo_id_check";

fn choice_text(c: Option<&Choice>) -> Option<&'static str> {
    c.map(|c| match c {
        Choice::Agree => "agree",
        Choice::Disagree => "disagree",
    })
}

fn from_row(row: &AnyRow) -> Result<ConsentRecord> {
    let t = "consents";
    let mut choices = BTreeMap::new();
    for item in ConsentItem::ALL {
        let v: Option<String> = row.try_get(item.as_str())?;
        let choice = match v.as_deref() {
            None => continue,
            Some("agree") => Choice::Agree,
            Some("disagree") => Choice::Disagree,
            Some(other) => return Err(StorageError::corrupt(t, item.as_str(), other)),
        };
        choices.insert(item, choice);
    }
    let action: String = row.try_get("action")?;
    let care: String = row.try_get("care_kind")?;
    let channel: String = row.try_get("channel")?;
    let form: Option<String> = row.try_get("prescription_form")?;
    Ok(ConsentRecord {
        id: row.try_get("id")?,
        institution_code: row.try_get("institution_code")?,
        person_id: row.try_get("person_id")?,
        action: ConsentAction::parse(&action).map_err(|e| StorageError::corrupt(t, "action", e))?,
        care_kind: CareKind::parse(&care).map_err(|e| StorageError::corrupt(t, "care_kind", e))?,
        channel: Channel::parse(&channel).map_err(|e| StorageError::corrupt(t, "channel", e))?,
        choices,
        prescription_form: form
            .map(|f| {
                PrescriptionForm::parse(&f)
                    .map_err(|e| StorageError::corrupt(t, "prescription_form", e))
            })
            .transpose()?,
        recorded_at: from_micros(t, "recorded_at", row.try_get("recorded_at")?)?,
        valid_until: row
            .try_get::<Option<i64>, _>("valid_until")?
            .map(|v| from_micros(t, "valid_until", v))
            .transpose()?,
        recorded_by: row.try_get("recorded_by")?,
        needs_photo_id_check: row.try_get::<i64, _>("needs_photo_id_check")? != 0,
    })
}

impl Store {
    /// Appends a consent event and returns it as stored. The commit is durable
    /// (see the crate docs on `synchronous`) before this returns.
    pub async fn record_consent(&self, c: &NewConsent<'_>) -> Result<ConsentRecord> {
        if let Some(key) = c.idempotency_key
            && let Some(existing) = self.consent_by_idempotency_key(key).await?
        {
            return Ok(existing);
        }
        let d = c.decision;
        let revoke = c.action == ConsentAction::Revoke;
        let choice = |item| {
            if revoke {
                None
            } else {
                choice_text(d.choices.get(&item))
            }
        };
        let inserted = sqlx::query(
            "INSERT INTO consents (institution_id, person_id, action, care_kind, channel, surgery, clinical_and_drug, \
             checkups, specific_disease, subsidy, limit_amount, prescription_form, recorded_at, valid_until, recorded_by, \
             needs_photo_id_check, idempotency_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
        )
        .bind(c.institution_id)
        .bind(c.person_id)
        .bind(c.action.as_str())
        .bind(d.care_kind.as_str())
        .bind(c.channel.as_str())
        .bind(choice(ConsentItem::Surgery))
        .bind(choice(ConsentItem::ClinicalAndDrug))
        .bind(choice(ConsentItem::Checkups))
        .bind(choice(ConsentItem::SpecificDisease))
        .bind(choice(ConsentItem::Subsidy))
        .bind(choice(ConsentItem::LimitAmount))
        .bind(if revoke { None } else { d.prescription_form.map(PrescriptionForm::code) })
        .bind(micros(c.recorded_at))
        .bind(d.valid_until.map(micros))
        .bind(c.recorded_by)
        .bind(flag(c.needs_photo_id_check))
        .bind(c.idempotency_key)
        .fetch_one(&self.pool)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            // A concurrent retry with the same key won the race: return its record.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                let key = c.idempotency_key.unwrap_or_default();
                return self
                    .consent_by_idempotency_key(key)
                    .await?
                    .ok_or(StorageError::Duplicate("同意登録"));
            }
            Err(e) => return Err(e.into()),
        };
        self.consent_by_id(id)
            .await?
            .ok_or_else(|| StorageError::corrupt("consents", "id", id))
    }

    async fn consent_by_id(&self, id: i64) -> Result<Option<ConsentRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id WHERE c.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn consent_by_idempotency_key(&self, key: &str) -> Result<Option<ConsentRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id WHERE c.idempotency_key = $1"
        );
        let row = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The newest consent event for this institution and person.
    pub async fn latest_consent(
        &self,
        institution_id: i64,
        person_id: PersonId,
    ) -> Result<Option<ConsentRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id \
             WHERE c.institution_id = $1 AND c.person_id = $2 ORDER BY c.id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(institution_id)
            .bind(person_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The whole history, oldest first.
    pub async fn consent_history(
        &self,
        institution_id: i64,
        person_id: PersonId,
    ) -> Result<Vec<ConsentRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id \
             WHERE c.institution_id = $1 AND c.person_id = $2 ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(institution_id)
            .bind(person_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }
}
