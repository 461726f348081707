//! 同意取得済み患者一覧（訪問診療等・オンライン診療等）and the patient page:
//! eligibility as confirmed at consent and by 再照会, consent history,
//! 照会番号 and the photo-ID check (seed 002 「資格情報取得後に行うこと」).
//! A person who never consented to this institution is "not found" here,
//! exactly like a person who does not exist.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use zaitaku_domain::access::{CertificateStanding, MedicalRefusal};
use zaitaku_domain::consent::{CareKind, ConsentItem, ConsentRecord, ConsentState};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::person::{age_on, japanese_date};
use zaitaku_domain::photo_id::PhotoIdReason;
use zaitaku_service::patients::{self, PatientList, Search, SearchRefusal};
use zaitaku_storage::ConsentedPatient;

use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::staff::{CsrfForm, Gate, Staff, gate, no_such_record};
use crate::patient::eligibility_view::{self, EligibilityView, Row};
use crate::today;
use zaitaku_service::inquiry;
use zaitaku_service::staff::Realm;

fn state_label(s: ConsentState) -> &'static str {
    match s {
        ConsentState::None => "同意なし",
        ConsentState::InForce => "有効",
        ConsentState::Expired => "有効期限切れ",
        ConsentState::Revoked => "取消済み",
    }
}

pub struct ListLine {
    pub id: i64,
    pub name: String,
    pub name_kana: String,
    pub birth: String,
    pub consented_at: String,
    pub care_kind: &'static str,
    pub state: &'static str,
    pub reference: String,
    /// Why a photo-ID check is due, if it is.
    pub photo_reason: Option<&'static str>,
}

fn list_line(p: &ConsentedPatient, now: DateTime<Utc>) -> ListLine {
    let state = match p.latest_action {
        zaitaku_domain::consent::ConsentAction::Revoke => ConsentState::Revoked,
        _ if p.valid_until.is_some_and(|u| now >= u) => ConsentState::Expired,
        _ => ConsentState::InForce,
    };
    ListLine {
        id: p.person_id,
        name: p.name.clone(),
        name_kana: p.name_kana.clone(),
        birth: format!(
            "{}（{}歳）",
            japanese_date(p.birth_date),
            age_on(p.birth_date, today())
        ),
        consented_at: jst_minute(p.recorded_at),
        care_kind: p.care_kind.label(),
        state: state_label(state),
        reference: p.reference_number.clone().unwrap_or_default(),
        photo_reason: p.photo_id_reason.map(PhotoIdReason::label),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    photo: Option<String>,
    /// 氏名 or カナ, in part.
    name: Option<String>,
    /// 生年月日 `YYYY-MM-DD`.
    birth: Option<String>,
    /// 照会番号, exactly.
    reference: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/patients.html")]
struct ListPage<'a> {
    nav: Nav<'a>,
    from: String,
    to: String,
    kind: String,
    photo: bool,
    name: String,
    birth: String,
    reference: String,
    kinds: Vec<(&'static str, &'static str)>,
    patients: Vec<ListLine>,
    limit_reached: bool,
    error: Option<&'static str>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff<gate::ViewPatients>,
    _headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let search = Search {
        from: q.from.as_deref(),
        to: q.to.as_deref(),
        kind: q.kind.as_deref(),
        photo: q.photo.as_deref(),
        name: q.name.as_deref(),
        birth: q.birth.as_deref(),
        reference: q.reference.as_deref(),
    };
    let now = Utc::now();
    let PatientList {
        from,
        to,
        kind,
        photo,
        name,
        birth,
        reference,
        patients,
        limit_reached,
        refusal,
    } = patients::list(&state.store, &staff, &search, now).await?;
    let page = ListPage {
        from: from
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        to: to
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        kind: kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        photo,
        name,
        birth: birth
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        reference,
        kinds: [CareKind::HomeVisit, CareKind::Online, CareKind::Outpatient]
            .into_iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        limit_reached,
        patients: patients.iter().map(|p| list_line(p, now)).collect(),
        error: refusal.map(SearchRefusal::message),
        nav: Nav::new(&staff, Realm::Institution, "/admin/patients"),
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

/// The patient `id` if they consented to the signed-in staff's institution;
/// otherwise the not-found page (the attempt is audited by the service).
pub async fn consented(
    state: &AppState,
    staff: &Staff<impl Gate>,
    id: i64,
    action: &str,
) -> Result<Result<ConsentedPatient, Response>, WebError> {
    match patients::consented(&state.store, staff, id, action, Utc::now()).await? {
        Some(p) => Ok(Ok(p)),
        None => Ok(Err(no_such_record(
            staff,
            Some(("/admin/patients", "同意取得済み患者一覧に戻る")),
        ))),
    }
}

macro_rules! patient {
    ($state:expr, $staff:expr, $id:expr, $action:expr) => {
        match consented(&$state, &$staff, $id, $action).await? {
            Ok(p) => p,
            Err(r) => return Ok(r),
        }
    };
}
pub(crate) use patient;

pub struct HistoryLine {
    pub at: String,
    pub action: &'static str,
    pub care_kind: &'static str,
    pub channel: &'static str,
    pub choices: Vec<(&'static str, &'static str)>,
    pub prescription: &'static str,
    pub valid_until: String,
    /// Where it was registered, when not in front of staff.
    pub photo_reason: Option<&'static str>,
}

fn history_line(r: &ConsentRecord) -> HistoryLine {
    HistoryLine {
        at: jst_minute(r.recorded_at),
        action: r.action.label(),
        care_kind: r.care_kind.label(),
        channel: r.channel.label(),
        choices: r
            .choices
            .iter()
            .map(|(item, c)| (item.label(), c.label()))
            .collect(),
        prescription: r.prescription_form.map_or("—", |f| f.label()),
        valid_until: r
            .valid_until
            .map_or("定めなし（取消まで）".to_owned(), jst_minute),
        photo_reason: r.photo_id_reason.map(PhotoIdReason::label),
    }
}

/// One medical-information link and whether it would open now.
pub struct MedicalLink {
    pub kind: &'static str,
    pub label: &'static str,
    pub refusal: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/patient.html")]
struct DetailPage<'a> {
    nav: Nav<'a>,
    id: i64,
    name: String,
    name_kana: String,
    birth: String,
    sex: &'static str,
    /// 郵便番号 and 住所 as the registry has them (seed 002 患者情報).
    postal_code: String,
    address: String,
    state: &'static str,
    in_force: bool,
    /// Why a photo-ID check is due, if it is.
    photo_reason: Option<&'static str>,
    photo_checked: Option<String>,
    reference: String,
    notice: Option<String>,
    error: Option<(String, &'static str)>,
    eligibility: Option<EligibilityView>,
    eligibility_date: String,
    requeried_at: Option<String>,
    requery_refusal: Option<String>,
    certificate_note: Option<&'static str>,
    medical: Vec<MedicalLink>,
    history: Vec<HistoryLine>,
}

/// Extra things to show on the patient page after an action.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<(String, &'static str)>,
    requeried: bool,
    reference_input: Option<String>,
}

async fn render_detail(
    state: &AppState,
    staff: &Staff<impl Gate>,
    patient: &ConsentedPatient,
    outcome: Outcome,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let now = Utc::now();
    let pid = patient.person_id;
    let found = inquiry::patient(&state.store, staff, pid, outcome.requeried, now).await?;
    let (history, notes, eligibility, on) =
        (&found.history, found.notes, &found.eligibility, found.on);
    let consent_state = ConsentState::of(history.last(), now);
    let view = eligibility.as_ref().map(|e| {
        let mut view = eligibility_view::build(
            e,
            &found.choices,
            inst.institution.offers(ConsentItem::LimitAmount),
            on,
        );
        with_card_dates(&mut view, e, on);
        view
    });
    let medical = found
        .medical
        .iter()
        .map(|(k, access)| MedicalLink {
            kind: k.as_str(),
            label: k.label(),
            refusal: access
                .err()
                .map(|r: MedicalRefusal| format!("{r}（{}）", r.code())),
        })
        .collect();
    let person = eligibility.as_ref().map(|e| &e.person);
    let page = DetailPage {
        id: pid,
        name: patient.name.clone(),
        name_kana: patient.name_kana.clone(),
        birth: format!(
            "{}（{}歳）",
            japanese_date(patient.birth_date),
            age_on(patient.birth_date, today())
        ),
        sex: person.map_or("—", |p| p.sex.label()),
        postal_code: person.map_or("—".to_owned(), |p| postal(&p.postal_code)),
        address: person.map_or("—".to_owned(), |p| p.address.clone()),
        state: state_label(consent_state),
        in_force: consent_state == ConsentState::InForce,
        photo_reason: patient.photo_id_reason.map(PhotoIdReason::label),
        photo_checked: notes.photo_id_checked_at.map(|at| {
            format!(
                "{}（{}）",
                jst_minute(at),
                notes.photo_id_checked_by.clone().unwrap_or_default()
            )
        }),
        reference: outcome
            .reference_input
            .or(notes.reference_number)
            .unwrap_or_default(),
        notice: outcome.notice,
        error: outcome.error,
        eligibility: view,
        eligibility_date: japanese_date(on),
        requeried_at: found.requeried.then(|| jst_minute(now)),
        requery_refusal: found
            .requery_refusal
            .map(|r| format!("{r}（{}）", r.code())),
        certificate_note: match found.standing {
            CertificateStanding::Valid => None,
            CertificateStanding::Grace => Some(
                "電子証明書の有効期限切れ（猶予期間中）です。資格情報は確認できますが、薬剤情報等は提供されません。",
            ),
            CertificateStanding::Unusable => {
                Some("有効な電子証明書がありません。薬剤情報等は提供されません。")
            }
        },
        medical,
        history: history.iter().rev().map(history_line).collect(),
        nav: Nav::new(staff, Realm::Institution, "/admin/patients"),
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

#[derive(Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    staff: Staff<gate::ViewPatients>,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, WebError> {
    let patient = patient!(state, staff, id, "view");
    let notice = match q.done.as_deref() {
        Some("reference") => Some("照会番号を登録しました。".to_owned()),
        Some("reference_cleared") => Some("照会番号を削除しました。".to_owned()),
        Some("photo") => Some("顔写真付き身分証による本人確認を記録しました。".to_owned()),
        _ => None,
    };
    render_detail(
        &state,
        &staff,
        &patient,
        Outcome {
            notice,
            ..Outcome::default()
        },
    )
    .await
}

pub async fn requery(
    State(state): State<AppState>,
    staff: Staff<gate::ViewPatients>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let patient = patient!(state, staff, id, "requery");
    render_detail(
        &state,
        &staff,
        &patient,
        Outcome {
            requeried: true,
            ..Outcome::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct ReferenceForm {
    csrf: Option<String>,
    reference: String,
}

pub async fn set_reference(
    State(state): State<AppState>,
    staff: Staff<gate::RecordPatientNotes>,
    Path(id): Path<i64>,
    Form(form): Form<ReferenceForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let patient = patient!(state, staff, id, "reference");
    let set = patients::set_reference(&state.store, &staff, &patient, &form.reference, Utc::now())
        .await?;
    let done = match set {
        Ok(Some(_)) => "reference",
        Ok(None) => "reference_cleared",
        Err(why) => {
            let outcome = Outcome {
                error: Some((why.message(), why.code())),
                reference_input: Some(form.reference),
                ..Outcome::default()
            };
            return render_detail(&state, &staff, &patient, outcome).await;
        }
    };
    Ok(Redirect::to(&format!("/admin/patients/{id}?done={done}")).into_response())
}

pub async fn photo_id_checked(
    State(state): State<AppState>,
    staff: Staff<gate::RecordPatientNotes>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let patient = patient!(state, staff, id, "photo_id");
    patients::record_photo_id_check(&state.store, &staff, &patient, Utc::now()).await?;
    Ok(Redirect::to(&format!("/admin/patients/{id}?done=photo")).into_response())
}

/// 〒 100-0001 for the registry's seven digits.
fn postal(code: &str) -> String {
    match (code.get(..3), code.get(3..)) {
        (Some(a), Some(b)) if code.len() == 7 => format!("{a}-{b}"),
        _ => code.to_owned(),
    }
}

/// Seed 002's 患者情報 shows the qualification's 交付年月日 and 有効期限
/// (from ～ to) after 資格取得年月日; the completion screen's 有効開始日 and
/// 有効終了日 say the latter in two rows, so they give way here.
fn with_card_dates(view: &mut EligibilityView, e: &Eligibility, on: NaiveDate) {
    let Some(q) = e.resolve(on).qualification else {
        return;
    };
    view.other
        .retain(|r| r.label != "有効開始日" && r.label != "有効終了日");
    let at = view
        .other
        .iter()
        .position(|r| r.label == "資格取得年月日")
        .map_or(view.other.len(), |i| i + 1);
    let rows = [
        Row {
            label: "交付年月日",
            value: q.issued_on.map_or("—".to_owned(), japanese_date),
        },
        Row {
            label: "有効期限",
            value: format!(
                "{} ～ {}",
                japanese_date(q.valid.from),
                q.valid.to.map_or("定めなし".to_owned(), japanese_date)
            ),
        },
    ];
    for (i, row) in rows.into_iter().enumerate() {
        view.other.insert(at + i, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_codes_read_with_a_hyphen() {
        assert_eq!(postal("1000001"), "100-0001");
        assert_eq!(postal("100-0001"), "100-0001");
    }
}
