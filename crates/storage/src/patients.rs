//! What an institution's staff see and record about the patients who consented
//! to it: the consented-patient list and its search, 照会番号 and the photo-ID
//! check. Every query here is scoped to one institution; a person who never
//! consented to it does not exist for it.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use zaitaku_domain::consent::{CareKind, ConsentAction};
use zaitaku_domain::person::PersonId;
use zaitaku_domain::photo_id::PhotoIdReason;

use crate::sql::{Arg, date_text, from_micros, micros, parse_date};
use crate::writer::{Statement, Value};
use crate::{Result, StorageError, Store};

/// Filters of 同意取得済み患者一覧. Times are instants: the caller turns JST
/// dates into a half-open range.
#[derive(Debug, Clone, Default)]
pub struct PatientFilter {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub care_kind: Option<CareKind>,
    pub needs_photo_id_check_only: bool,
    /// Part of 氏名 or 氏名（カナ）; spaces are ignored on both sides. Kana
    /// is compared as the registry keeps it (full-width katakana).
    pub name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    /// 照会番号, exactly.
    pub reference_number: Option<String>,
    pub limit: i64,
}

/// One line of the list: the person and the newest consent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentedPatient {
    pub person_id: PersonId,
    pub name: String,
    pub name_kana: String,
    pub birth_date: NaiveDate,
    pub latest_action: ConsentAction,
    pub care_kind: CareKind,
    pub recorded_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub reference_number: Option<String>,
    /// Why a photo-ID check is outstanding: a registration not made in front
    /// of staff that came after the last check (seed 002 ⑤).
    pub photo_id_reason: Option<PhotoIdReason>,
}

impl ConsentedPatient {
    pub fn needs_photo_id_check(&self) -> bool {
        self.photo_id_reason.is_some()
    }
}

/// What staff recorded about one patient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientNotes {
    pub reference_number: Option<String>,
    pub photo_id_checked_at: Option<DateTime<Utc>>,
    pub photo_id_checked_by: Option<String>,
}

/// The reason of the newest registration not made in front of staff since
/// the last photo-ID check (or ever, without one); NULL when none is due.
const NEEDS_CHECK: &str = "(SELECT n.photo_id_reason FROM consents n WHERE n.institution_id = c.institution_id \
     AND n.person_id = c.person_id AND n.needs_photo_id_check = 1 AND n.action <> 'revoke' \
     AND (ip.photo_id_checked_at IS NULL OR n.recorded_at > ip.photo_id_checked_at) ORDER BY n.id DESC LIMIT 1)";

/// Names compared without the space between family and given name, which
/// people type or leave out at will.
const SPACELESS_NAME: &str = "REPLACE(REPLACE(p.name, ' ', ''), '\u{3000}', '')";
const SPACELESS_KANA: &str = "REPLACE(REPLACE(p.name_kana, ' ', ''), '\u{3000}', '')";

/// A `LIKE … ESCAPE '!'` pattern that finds `s` anywhere, spaces left out
/// and the wildcards in `s` taken literally.
fn contains_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for c in s.chars().filter(|c| !matches!(c, ' ' | '\u{3000}')) {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn patient_from_row(row: &AnyRow) -> Result<ConsentedPatient> {
    let t = "consents";
    let birth: String = row.try_get("birth_date")?;
    let action: String = row.try_get("action")?;
    let care: String = row.try_get("care_kind")?;
    Ok(ConsentedPatient {
        person_id: row.try_get("person_id")?,
        name: row.try_get("name")?,
        name_kana: row.try_get("name_kana")?,
        birth_date: parse_date("persons", "birth_date", &birth)?,
        latest_action: ConsentAction::parse(&action)
            .map_err(|e| StorageError::corrupt(t, "action", e))?,
        care_kind: CareKind::parse(&care).map_err(|e| StorageError::corrupt(t, "care_kind", e))?,
        recorded_at: from_micros(t, "recorded_at", row.try_get("recorded_at")?)?,
        valid_until: row
            .try_get::<Option<i64>, _>("valid_until")?
            .map(|v| from_micros(t, "valid_until", v))
            .transpose()?,
        reference_number: row.try_get("reference_number")?,
        photo_id_reason: row
            .try_get::<Option<String>, _>("needs_check")?
            .map(|r| {
                PhotoIdReason::parse(&r).map_err(|e| StorageError::corrupt(t, "photo_id_reason", e))
            })
            .transpose()?,
    })
}

impl Store {
    /// 同意取得済み患者一覧: one line per person, by the newest consent event,
    /// newest first.
    pub async fn consented_patients(
        &self,
        institution_id: i64,
        f: &PatientFilter,
    ) -> Result<Vec<ConsentedPatient>> {
        let mut sql = format!(
            "SELECT c.person_id, p.name, p.name_kana, p.birth_date, c.action, c.care_kind, c.recorded_at, c.valid_until, \
             ip.reference_number, {NEEDS_CHECK} AS needs_check \
             FROM consents c \
             JOIN (SELECT person_id, MAX(id) AS id FROM consents WHERE institution_id = $1 GROUP BY person_id) l ON l.id = c.id \
             JOIN persons p ON p.id = c.person_id \
             LEFT JOIN institution_patients ip ON ip.institution_id = c.institution_id AND ip.person_id = c.person_id \
             WHERE c.recorded_at >= $2 AND c.recorded_at < $3"
        );
        // The optional conditions' values, bound after the four fixed ones.
        let mut values: Vec<String> = Vec::new();
        let mut placeholder = |value: String| {
            values.push(value);
            format!("${}", values.len() + 4)
        };
        if let Some(kind) = f.care_kind {
            let p = placeholder(kind.as_str().to_owned());
            sql.push_str(&format!(" AND c.care_kind = {p}"));
        }
        if let Some(name) = f.name.as_deref().filter(|n| !n.trim().is_empty()) {
            let p = placeholder(contains_pattern(name));
            sql.push_str(&format!(
                " AND ({SPACELESS_NAME} LIKE {p} ESCAPE '!' OR {SPACELESS_KANA} LIKE {p} ESCAPE '!')"
            ));
        }
        if let Some(birth) = f.birth_date {
            let p = placeholder(date_text(birth));
            sql.push_str(&format!(" AND p.birth_date = {p}"));
        }
        if let Some(reference) = f.reference_number.as_deref() {
            let p = placeholder(reference.trim().to_owned());
            sql.push_str(&format!(" AND ip.reference_number = {p}"));
        }
        let outer = if f.needs_photo_id_check_only {
            format!(
                "SELECT * FROM ({sql}) x WHERE x.needs_check IS NOT NULL ORDER BY x.recorded_at DESC LIMIT $4"
            )
        } else {
            format!("{sql} ORDER BY c.recorded_at DESC LIMIT $4")
        };
        let q = sqlx::query(&outer)
            .bind(institution_id)
            .bind(f.from.map_or(i64::MIN, micros))
            .bind(f.until.map_or(i64::MAX, micros))
            .bind(f.limit.max(1));
        values
            .into_iter()
            .fold(q, |q, v| q.bind(v))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(patient_from_row)
            .collect()
    }

    /// The list line of one person, or `None` when this person never consented
    /// to this institution — the only door to a patient's pages.
    pub async fn consented_patient(
        &self,
        institution_id: i64,
        person_id: PersonId,
    ) -> Result<Option<ConsentedPatient>> {
        let sql = format!(
            "SELECT c.person_id, p.name, p.name_kana, p.birth_date, c.action, c.care_kind, c.recorded_at, c.valid_until, \
             ip.reference_number, {NEEDS_CHECK} AS needs_check \
             FROM consents c \
             JOIN persons p ON p.id = c.person_id \
             LEFT JOIN institution_patients ip ON ip.institution_id = c.institution_id AND ip.person_id = c.person_id \
             WHERE c.institution_id = $1 AND c.person_id = $2 ORDER BY c.id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(institution_id)
            .bind(person_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(patient_from_row).transpose()
    }

    pub async fn patient_notes(
        &self,
        institution_id: i64,
        person_id: PersonId,
    ) -> Result<PatientNotes> {
        let notes = self
            .fetch_optional(
                "SELECT ip.reference_number, ip.photo_id_checked_at, a.name AS checked_by FROM institution_patients ip \
                 LEFT JOIN accounts a ON a.id = ip.photo_id_checked_by \
                 WHERE ip.institution_id = $1 AND ip.person_id = $2",
                &[Arg::Int(institution_id), Arg::Int(person_id)],
                |row| {
                    Ok(PatientNotes {
                        reference_number: row.col("reference_number")?,
                        photo_id_checked_at: row
                            .col::<Option<i64>>("photo_id_checked_at")?
                            .map(|v| from_micros("institution_patients", "photo_id_checked_at", v))
                            .transpose()?,
                        photo_id_checked_by: row.col("checked_by")?,
                    })
                },
            )
            .await?;
        Ok(notes.unwrap_or_default())
    }

    /// Registers (or clears, with `None`) the 照会番号. A number another
    /// patient of the same institution already has is refused
    /// ([`StorageError::Duplicate`]).
    pub async fn set_reference_number(
        &self,
        institution_id: i64,
        person_id: PersonId,
        reference: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "INSERT INTO institution_patients (institution_id, person_id, reference_number, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (institution_id, person_id) \
             DO UPDATE SET reference_number = excluded.reference_number, updated_at = excluded.updated_at",
            vec![Value::Int(institution_id), Value::Int(person_id), Value::OptText(reference.map(str::to_owned)), Value::Int(micros(now))],
        ).unique_as("照会番号"))
        .await?;
        Ok(())
    }

    /// Staff matched the patient against a photo ID.
    pub async fn record_photo_id_check(
        &self,
        institution_id: i64,
        person_id: PersonId,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "INSERT INTO institution_patients (institution_id, person_id, photo_id_checked_at, photo_id_checked_by, \
             updated_at) VALUES ($1, $2, $3, $4, $3) ON CONFLICT (institution_id, person_id) \
             DO UPDATE SET photo_id_checked_at = excluded.photo_id_checked_at, \
             photo_id_checked_by = excluded.photo_id_checked_by, updated_at = excluded.updated_at",
            vec![Value::Int(institution_id), Value::Int(person_id), Value::Int(micros(now)), Value::Int(account_id)],
        ))
        .await?;
        Ok(())
    }
}
