//! 同意取得済み患者 (seed 002 「資格情報取得後に行うこと」): the list of the
//! patients who consented to the staff's institution with its search, the
//! 照会番号 staff give a patient and the record of a photo-ID check
//! (顔写真付き身分証による本人確認). A person who never consented to the
//! institution does not exist for it, exactly like a person who does not
//! exist at all. Showing the list is a read of personal data: audited with
//! which fields were searched, never what was typed.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use zaitaku_domain::account::{Permission, validate_reference_number};
use zaitaku_domain::consent::{CareKind, next_midnight_jst};
use zaitaku_domain::error::ValidationError;
use zaitaku_storage::{ConsentedPatient, PatientFilter, StorageError, Store};

use crate::staff::Session;
use crate::{ServiceError, jst_day};

/// The list shows at most this many lines; the filters narrow it down.
pub const LIST_LIMIT: i64 = 200;

/// The first instant of a day in Japan.
pub fn jst_start(day: NaiveDate) -> DateTime<Utc> {
    next_midnight_jst(day) - Duration::days(1)
}

/// A day typed as `YYYY-MM-DD`; blank is none.
pub(crate) fn parse_day(s: Option<&str>) -> Result<Option<NaiveDate>, ()> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

/// Hiragana typed into a name field, as the registry's katakana.
pub fn katakana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ぁ'..='ゖ' => char::from_u32(u32::from(c) + 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The list's search as typed; every field is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct Search<'a> {
    /// 同意日 from and to, `YYYY-MM-DD`.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// [`CareKind::as_str`]; blank is every kind.
    pub kind: Option<&'a str>,
    /// `1`: only patients whose photo-ID check is due.
    pub photo: Option<&'a str>,
    /// 氏名 or カナ, in part.
    pub name: Option<&'a str>,
    /// 生年月日 `YYYY-MM-DD`.
    pub birth: Option<&'a str>,
    /// 照会番号, exactly.
    pub reference: Option<&'a str>,
}

/// Why the search was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchRefusal {
    /// The period ends before it starts.
    Period,
    /// A date or the kind does not read.
    Format,
}

impl SearchRefusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Period => "同意日の期間が正しくありません（開始日が終了日より後です）。",
            Self::Format => {
                "検索条件が正しくありません。日付は 2026-04-01 の形で入力してください。"
            }
        }
    }
}

/// The list as searched: the search as understood (to show it again), the
/// patients, and why nothing was searched, if it was not.
#[derive(Debug)]
pub struct PatientList {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kind: Option<CareKind>,
    pub photo: bool,
    pub name: String,
    pub birth: Option<NaiveDate>,
    pub reference: String,
    pub patients: Vec<ConsentedPatient>,
    /// There may be more than [`LIST_LIMIT`] lines.
    pub limit_reached: bool,
    pub refusal: Option<SearchRefusal>,
}

/// How many patients still await a photo-ID check, for the menu page's
/// reminder: `None` for a role that may not see patients. A count, not a
/// read of anyone's data, so it is not audited.
pub async fn photo_checks_pending(
    store: &Store,
    staff: &Session,
) -> Result<Option<usize>, ServiceError> {
    if !staff.account.role.may(Permission::ViewPatients) {
        return Ok(None);
    }
    let inst = staff.staff_institution()?;
    let pending = store
        .consented_patients(
            inst.id,
            &PatientFilter {
                needs_photo_id_check_only: true,
                limit: 500,
                ..PatientFilter::default()
            },
        )
        .await?;
    Ok(Some(pending.len()))
}

/// 同意取得済み患者一覧 of the staff's institution. Without any search, like
/// the staff app's result search, the consents of the last 30 days.
pub async fn list(
    store: &Store,
    staff: &Session,
    q: &Search<'_>,
    now: DateTime<Utc>,
) -> Result<PatientList, ServiceError> {
    let inst = staff.staff_institution()?;
    let first_visit = q.from.is_none()
        && q.to.is_none()
        && q.kind.is_none()
        && q.photo.is_none()
        && q.name.is_none()
        && q.birth.is_none()
        && q.reference.is_none();
    let from = if first_visit {
        Ok(Some(jst_day(now) - Duration::days(30)))
    } else {
        parse_day(q.from)
    };
    let to = parse_day(q.to);
    let kind = q
        .kind
        .filter(|k| !k.is_empty())
        .map(CareKind::parse)
        .transpose();
    let birth = parse_day(q.birth);
    let (from, to, kind, birth, refusal) = match (from, to, kind, birth) {
        (Ok(f), Ok(t), Ok(k), Ok(b)) if f.zip(t).is_none_or(|(f, t)| f <= t) => (f, t, k, b, None),
        (Ok(_), Ok(_), Ok(_), Ok(_)) => (None, None, None, None, Some(SearchRefusal::Period)),
        _ => (None, None, None, None, Some(SearchRefusal::Format)),
    };
    let photo = q.photo == Some("1");
    let name = q.name.map(str::trim).unwrap_or_default();
    let reference = q.reference.map(str::trim).unwrap_or_default();
    let patients = if refusal.is_none() {
        store
            .consented_patients(
                inst.id,
                &PatientFilter {
                    from: from.map(jst_start),
                    until: to.map(next_midnight_jst),
                    care_kind: kind,
                    needs_photo_id_check_only: photo,
                    name: (!name.is_empty()).then(|| katakana(name)),
                    birth_date: birth,
                    reference_number: (!reference.is_empty()).then(|| reference.to_owned()),
                    limit: LIST_LIMIT,
                },
            )
            .await?
    } else {
        Vec::new()
    };
    store
        .audit(
            &staff.actor().event(
                "patients.list",
                "ok",
                None,
                // Which fields were searched, not what was typed: the
                // record names no patient.
                json!({
                    "count": patients.len(), "from": from, "to": to,
                    "kind": kind.map(CareKind::as_str), "photo": photo,
                    "by_name": !name.is_empty(), "by_birth_date": birth.is_some(),
                    "by_reference": !reference.is_empty(),
                }),
            ),
            now,
        )
        .await?;
    Ok(PatientList {
        from,
        to,
        kind,
        photo,
        name: name.to_owned(),
        birth,
        reference: reference.to_owned(),
        limit_reached: i64::try_from(patients.len()).unwrap_or(i64::MAX) >= LIST_LIMIT,
        patients,
        refusal,
    })
}

/// The patient `id` if they consented to the staff's institution; `None`
/// otherwise, and the attempt (`attempted`: what the staff tried) is
/// audited.
pub async fn consented(
    store: &Store,
    staff: &Session,
    id: i64,
    attempted: &str,
    now: DateTime<Utc>,
) -> Result<Option<ConsentedPatient>, ServiceError> {
    let inst = staff.staff_institution()?;
    let found = store.consented_patient(inst.id, id).await?;
    if found.is_none() {
        store
            .audit(
                &staff.actor().event(
                    "access.denied",
                    "not_found",
                    None,
                    json!({"requested_person": id, "attempted": attempted}),
                ),
                now,
            )
            .await?;
    }
    Ok(found)
}

/// Why a 照会番号 was not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceRefusal {
    /// The number breaks a rule (characters, length).
    Rule(ValidationError),
    /// Another patient of the institution has this number.
    Taken,
}

impl ReferenceRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rule(e) => e.code(),
            Self::Taken => "Z-W-0631",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Rule(e) => e.to_string(),
            Self::Taken => "この照会番号は別の患者に登録されています。医療機関等の中で重複しない番号を入力してください。".into(),
        }
    }
}

/// Records the 照会番号 `input` for a consented patient; a blank one removes
/// the number. Returns the number now recorded.
pub async fn set_reference(
    store: &Store,
    staff: &Session,
    patient: &ConsentedPatient,
    input: &str,
    now: DateTime<Utc>,
) -> Result<Result<Option<String>, ReferenceRefusal>, ServiceError> {
    let inst = staff.staff_institution()?;
    let value = if input.trim().is_empty() {
        None
    } else {
        match validate_reference_number(input) {
            Ok(v) => Some(v),
            Err(e) => return Ok(Err(ReferenceRefusal::Rule(e))),
        }
    };
    let id = patient.person_id;
    match store
        .set_reference_number(inst.id, id, value.as_deref(), now)
        .await
    {
        Ok(()) => {}
        Err(StorageError::Duplicate(_)) => return Ok(Err(ReferenceRefusal::Taken)),
        Err(e) => return Err(e.into()),
    }
    store
        .audit(
            &staff.actor().event(
                "patient.reference_number",
                "ok",
                Some(id),
                json!({"cleared": value.is_none()}),
            ),
            now,
        )
        .await?;
    Ok(Ok(value))
}

/// Records that staff matched a consented patient against a photo ID, which
/// settles the check a registration not made in front of staff left due.
pub async fn record_photo_id_check(
    store: &Store,
    staff: &Session,
    patient: &ConsentedPatient,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let inst = staff.staff_institution()?;
    let id = patient.person_id;
    store
        .record_photo_id_check(inst.id, id, staff.account.id, now)
        .await?;
    store
        .audit(
            &staff
                .actor()
                .event("patient.photo_id_checked", "ok", Some(id), json!({})),
            now,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jst_day_bounds() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(jst_start(d).to_rfc3339(), "2026-11-20T15:00:00+00:00");
        assert_eq!(
            next_midnight_jst(d).to_rfc3339(),
            "2026-11-21T15:00:00+00:00"
        );
        assert_eq!(parse_day(Some("2026-13-01")), Err(()));
        assert_eq!(parse_day(Some(" ")), Ok(None));
    }

    #[test]
    fn hiragana_is_searched_as_katakana() {
        assert_eq!(katakana("こうろう たろう"), "コウロウ タロウ");
        assert_eq!(katakana("厚労 タロウ"), "厚労 タロウ");
    }
}
