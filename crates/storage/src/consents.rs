//! The consent registry: an append-only history per institution and person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem, ConsentRecord,
};
use zaitaku_domain::person::PersonId;
use zaitaku_domain::photo_id::PhotoIdReason;

use crate::sql::{Arg, Columns, from_micros};
use crate::writer::{Write, Written};
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
    /// Why staff must check a photo ID afterwards, if they must.
    pub photo_id_reason: Option<PhotoIdReason>,
    /// The same key twice returns the first record instead of writing again.
    pub idempotency_key: Option<&'a str>,
}

const COLUMNS: &str = "c.id, i.code AS institution_code, c.person_id, c.action, c.care_kind, c.channel, c.surgery, \
     c.clinical_and_drug, c.checkups, c.specific_disease, c.subsidy, c.limit_amount, c.prescription_form, c.recorded_at, \
     c.valid_until, c.recorded_by, c.photo_id_reason";

/// The record written under an idempotency key.
pub(crate) fn by_idempotency_key_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id WHERE c.idempotency_key = $1"
    )
}

pub(crate) fn choice_text(c: Option<&Choice>) -> Option<&'static str> {
    c.map(|c| match c {
        Choice::Agree => "agree",
        Choice::Disagree => "disagree",
    })
}

pub(crate) fn from_row(row: &dyn Columns) -> Result<ConsentRecord> {
    let t = "consents";
    let mut choices = BTreeMap::new();
    for item in ConsentItem::ALL {
        let v: Option<String> = row.col(item.as_str())?;
        let choice = match v.as_deref() {
            None => continue,
            Some("agree") => Choice::Agree,
            Some("disagree") => Choice::Disagree,
            Some(other) => return Err(StorageError::corrupt(t, item.as_str(), other)),
        };
        choices.insert(item, choice);
    }
    let action: String = row.col("action")?;
    let care: String = row.col("care_kind")?;
    let channel: String = row.col("channel")?;
    let form: Option<String> = row.col("prescription_form")?;
    Ok(ConsentRecord {
        id: row.col("id")?,
        institution_code: row.col("institution_code")?,
        person_id: row.col("person_id")?,
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
        recorded_at: from_micros(t, "recorded_at", row.col("recorded_at")?)?,
        valid_until: row
            .col::<Option<i64>>("valid_until")?
            .map(|v| from_micros(t, "valid_until", v))
            .transpose()?,
        recorded_by: row.col("recorded_by")?,
        photo_id_reason: row
            .col::<Option<String>>("photo_id_reason")?
            .map(|r| {
                PhotoIdReason::parse(&r).map_err(|e| StorageError::corrupt(t, "photo_id_reason", e))
            })
            .transpose()?,
    })
}

impl Store {
    /// Appends a consent event and returns it as stored. The commit is durable
    /// (see the crate docs on `synchronous`) before this returns. The same
    /// idempotency key again returns the first record without writing.
    pub async fn record_consent(&self, c: &NewConsent<'_>) -> Result<ConsentRecord> {
        match self.write_one(Write::record_consent(c)).await? {
            Ok(Written::Consent(record)) => Ok(record),
            other => Err(StorageError::Writer(format!("{other:?}"))),
        }
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
        self.fetch_optional(
            &sql,
            &[Arg::Int(institution_id), Arg::Int(person_id)],
            from_row,
        )
        .await
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
        rows.iter().map(|r| from_row(r)).collect()
    }
}
