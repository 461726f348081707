//! The consent registry: an append-only history per institution and person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem, ConsentRecord,
};
use zaitaku_domain::person::PersonId;
use zaitaku_domain::photo_id::PhotoIdReason;

use crate::sql::{Arg, Columns, flag, from_micros, micros};
use crate::writer::{Db, Insert, Refusal, Step, Write, Written, insert_returning_id};
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
fn by_idempotency_key_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id WHERE c.idempotency_key = $1"
    )
}

fn choice_text(c: Option<&Choice>) -> Option<&'static str> {
    c.map(|c| match c {
        Choice::Agree => "agree",
        Choice::Disagree => "disagree",
    })
}

/// A person's latest consent record to an institution (`$1`, `$2`).
pub(crate) static LATEST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id \
         WHERE c.institution_id = $1 AND c.person_id = $2 ORDER BY c.id DESC LIMIT 1"
    )
});

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

/// ON CONFLICT DO NOTHING: the same idempotency key again writes nothing and
/// the first record is returned, also when two retries race.
const INSERT: Insert = insert_returning_id!(
    "INSERT INTO consents (institution_id, person_id, action, care_kind, channel, surgery, clinical_and_drug, \
     checkups, specific_disease, subsidy, limit_amount, prescription_form, recorded_at, valid_until, recorded_by, \
     needs_photo_id_check, idempotency_key, photo_id_reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
     ON CONFLICT DO NOTHING"
);

struct RecordConsent {
    institution_id: i64,
    person_id: i64,
    action: &'static str,
    care_kind: &'static str,
    channel: &'static str,
    choices: [Option<&'static str>; 6],
    prescription_form: Option<&'static str>,
    recorded_at: i64,
    valid_until: Option<i64>,
    recorded_by: String,
    needs_photo_id_check: i64,
    idempotency_key: Option<String>,
    photo_id_reason: Option<&'static str>,
    /// The record as it will read back, but for its id and the
    /// institution's code: returned without reading the row again.
    record: ConsentRecord,
}

impl Step for RecordConsent {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let [c0, c1, c2, c3, c4, c5] = self.choices;
        let args = [
            Arg::Int(self.institution_id),
            Arg::Int(self.person_id),
            Arg::Text(self.action),
            Arg::Text(self.care_kind),
            Arg::Text(self.channel),
            Arg::OptText(c0),
            Arg::OptText(c1),
            Arg::OptText(c2),
            Arg::OptText(c3),
            Arg::OptText(c4),
            Arg::OptText(c5),
            Arg::OptText(self.prescription_form),
            Arg::Int(self.recorded_at),
            Arg::OptInt(self.valid_until),
            Arg::Text(&self.recorded_by),
            Arg::Int(self.needs_photo_id_check),
            Arg::OptText(self.idempotency_key.as_deref()),
            Arg::OptText(self.photo_id_reason),
        ];
        let record = match db.insert_id(&INSERT, &args)? {
            Some(id) => self.inserted(db, id)?,
            None => self.recorded_under_key(db)?,
        };
        Ok(Ok(Written::Consent(record)))
    }
}

impl RecordConsent {
    /// The consent just inserted under `id`.
    fn inserted(&self, db: &mut Db, id: i64) -> Result<ConsentRecord> {
        let code = db
            .query(
                "SELECT code FROM institutions WHERE id = $1",
                &[Arg::Int(self.institution_id)],
                &|r| r.col::<String>("code"),
            )?
            .pop()
            .ok_or_else(|| {
                StorageError::corrupt("consents", "institution_id", self.institution_id)
            })?;
        Ok(ConsentRecord {
            id,
            institution_code: code,
            ..self.record.clone()
        })
    }

    /// The consent an earlier job wrote under the same idempotency key.
    fn recorded_under_key(&self, db: &mut Db) -> Result<ConsentRecord> {
        let key = self.idempotency_key.as_deref().unwrap_or_default();
        db.query(&by_idempotency_key_sql(), &[Arg::Text(key)], &|r| {
            from_row(r)
        })?
        .into_iter()
        .next()
        .ok_or(StorageError::Duplicate("同意登録"))
    }
}

/// An instant as the database keeps it (microseconds).
fn stored_instant(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros(t)).unwrap_or(t)
}

impl Write {
    /// Appends a consent event; with an idempotency key already stored, the
    /// first record is returned and nothing is written.
    pub fn record_consent(c: &NewConsent<'_>) -> Self {
        let d = c.decision;
        let revoke = c.action == ConsentAction::Revoke;
        let choice = |item| {
            if revoke {
                None
            } else {
                choice_text(d.choices.get(&item))
            }
        };
        Self::step(RecordConsent {
            institution_id: c.institution_id,
            person_id: c.person_id,
            action: c.action.as_str(),
            care_kind: d.care_kind.as_str(),
            channel: c.channel.as_str(),
            choices: [
                choice(ConsentItem::Surgery),
                choice(ConsentItem::ClinicalAndDrug),
                choice(ConsentItem::Checkups),
                choice(ConsentItem::SpecificDisease),
                choice(ConsentItem::Subsidy),
                choice(ConsentItem::LimitAmount),
            ],
            prescription_form: if revoke {
                None
            } else {
                d.prescription_form.map(PrescriptionForm::code)
            },
            recorded_at: micros(c.recorded_at),
            valid_until: d.valid_until.map(micros),
            recorded_by: c.recorded_by.to_owned(),
            needs_photo_id_check: flag(c.photo_id_reason.is_some()),
            idempotency_key: c.idempotency_key.map(str::to_owned),
            photo_id_reason: c.photo_id_reason.map(PhotoIdReason::as_str),
            record: ConsentRecord {
                id: 0,
                institution_code: String::new(),
                person_id: c.person_id,
                action: c.action,
                care_kind: d.care_kind,
                channel: c.channel,
                choices: if revoke {
                    BTreeMap::new()
                } else {
                    d.choices.clone()
                },
                prescription_form: if revoke { None } else { d.prescription_form },
                recorded_at: stored_instant(c.recorded_at),
                valid_until: d.valid_until.map(stored_instant),
                recorded_by: c.recorded_by.to_owned(),
                photo_id_reason: c.photo_id_reason,
            },
        })
    }
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
        self.fetch_optional(
            &LATEST,
            &[Arg::Int(institution_id), Arg::Int(person_id)],
            from_row,
        )
        .await
    }

    /// The consents given to the institution (registered or updated, not
    /// revoked) for `care_kind` whose `recorded_at` — or, with
    /// `by_valid_until`, whose `valid_until` — falls in `[from, until)`;
    /// oldest first.
    pub async fn consents_in_window(
        &self,
        institution_id: i64,
        care_kind: &str,
        by_valid_until: bool,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ConsentRecord>> {
        let column = if by_valid_until {
            "c.valid_until"
        } else {
            "c.recorded_at"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM consents c JOIN institutions i ON i.id = c.institution_id \
             WHERE c.institution_id = $1 AND c.care_kind = $2 AND c.action <> 'revoke' \
             AND {column} >= $3 AND {column} < $4 ORDER BY c.id"
        );
        self.fetch(
            &sql,
            &[
                Arg::Int(institution_id),
                Arg::Text(care_kind),
                Arg::Int(micros(from)),
                Arg::Int(micros(until)),
            ],
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
