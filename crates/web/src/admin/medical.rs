//! Consent-gated medical information: drug history by 診療年月 range, clinical
//! information, check-ups. Only for 医療情報閲覧 and administrator roles, only
//! the items the patient consented to, only while the consent is in force,
//! never on a certificate in its grace period. Every read, granted or refused,
//! is audited with who, what and when.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::access::{CertificateStanding, MedicalRefusal, medical_access};
use zaitaku_domain::account::Permission;
use zaitaku_domain::consent::{ConsentItem, ConsentRecord};
use zaitaku_domain::medical::ClinicalKind;
use zaitaku_domain::person::{japanese_date, wareki_month};

use super::auth::{Realm, forbidden, gate};
use super::patients::{certificate_standing, consented, patient};
use super::{Nav, today};
use crate::AppState;
use crate::error::WebError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MedicalKind {
    Drugs,
    Clinical,
    Checkups,
}

pub const KINDS: [MedicalKind; 3] = [
    MedicalKind::Drugs,
    MedicalKind::Clinical,
    MedicalKind::Checkups,
];

impl MedicalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drugs => "drugs",
            Self::Clinical => "clinical",
            Self::Checkups => "checkups",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Drugs => "薬剤情報",
            Self::Clinical => "診療情報",
            Self::Checkups => "特定健診等情報",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        KINDS.into_iter().find(|k| k.as_str() == s)
    }

    /// The consent items that release this kind; clinical information is
    /// split between the first two items (seed 000 wording), so either opens
    /// the page and each event is then filtered by its own item.
    fn items(self) -> &'static [ConsentItem] {
        match self {
            Self::Drugs => &[ConsentItem::ClinicalAndDrug],
            Self::Clinical => &[ConsentItem::Surgery, ConsentItem::ClinicalAndDrug],
            Self::Checkups => &[ConsentItem::Checkups],
        }
    }

    /// Granted if any of its items is; otherwise the first item's refusal
    /// (they differ only when one item was consented and the other not).
    pub fn access(
        self,
        latest: Option<&ConsentRecord>,
        standing: CertificateStanding,
        now: DateTime<Utc>,
    ) -> Result<(), MedicalRefusal> {
        let mut first = None;
        for item in self.items() {
            match medical_access(latest, *item, standing, now) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        Err(first.unwrap_or(MedicalRefusal::ItemNotConsented))
    }
}

#[derive(Deserialize, Default)]
pub struct MedicalQuery {
    kind: Option<String>,
    /// 診療年月 `YYYY-MM`
    from: Option<String>,
    to: Option<String>,
}

pub struct Line {
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/medical.html")]
struct MedicalPage<'a> {
    nav: Nav<'a>,
    id: i64,
    name: String,
    kind: &'static str,
    kind_label: &'static str,
    tabs: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    refusal: Option<(String, &'static str)>,
    error: Option<&'static str>,
    headers: Vec<&'static str>,
    lines: Vec<Line>,
}

fn month(s: Option<&str>) -> Result<Option<NaiveDate>, ()> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

/// A day of the 診療年月 row as 「5日」; one in another month (a prescription
/// filled after the month turned) with its month, 「9月30日」.
fn day_in(day: NaiveDate, row: NaiveDate) -> String {
    if (day.year(), day.month()) == (row.year(), row.month()) {
        format!("{}日", day.day())
    } else {
        format!("{}月{}日", day.month(), day.day())
    }
}

fn last_day_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first)
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<MedicalQuery>,
) -> Result<Response, WebError> {
    // Every institution role reaches the patient; the role check follows so
    // that a refusal is audited against the patient it concerned.
    let staff = gate!(state, headers, Realm::Institution, Permission::ViewPatients);
    let patient = patient!(state, staff, id, "medical");
    if !staff.may(Permission::ViewMedical) {
        state
            .store
            .audit(
                &staff.event(
                    "medical.read",
                    "refused",
                    Some(id),
                    json!({"kind": q.kind, "refusal": "Z-W-0603"}),
                ),
                Utc::now(),
            )
            .await?;
        return Ok(forbidden(&staff));
    }
    let inst = staff.institution()?;
    let kind = q
        .kind
        .as_deref()
        .and_then(MedicalKind::parse)
        .unwrap_or(MedicalKind::Drugs);
    let now = Utc::now();
    let today = today();
    // Default range: the last 3 診療年月 including this one; check-ups are
    // yearly, so their default reaches back five years.
    let this_month = today.with_day(1).unwrap_or(today);
    let back = if kind == MedicalKind::Checkups { 59 } else { 2 };
    let default_from = this_month
        .checked_sub_months(Months::new(back))
        .unwrap_or(this_month);
    let (from, to, error) = match (month(q.from.as_deref()), month(q.to.as_deref())) {
        (Ok(f), Ok(t)) => {
            let f = f.unwrap_or(default_from);
            let t = t.unwrap_or(this_month);
            if f <= t {
                (f, t, None)
            } else {
                (
                    default_from,
                    this_month,
                    Some("診療年月の期間が正しくありません（開始が終了より後です）。"),
                )
            }
        }
        _ => (
            default_from,
            this_month,
            Some("診療年月は 2026-04 の形で入力してください。"),
        ),
    };
    let latest = state.store.latest_consent(inst.id, id).await?;
    let standing = certificate_standing(&state, id, now).await?;
    let access = kind.access(latest.as_ref(), standing, now);
    let mut header_row: Vec<&'static str> = Vec::new();
    let mut lines = Vec::new();
    let mut count = 0usize;
    if access.is_ok() && error.is_none() {
        match kind {
            MedicalKind::Drugs => {
                // Seed 002's 薬剤情報 columns, then who dispensed it.
                header_row = vec![
                    "入外/調剤",
                    "診療年月",
                    "処方日",
                    "調剤日",
                    "用法",
                    "内服/外用",
                    "薬剤名",
                    "一般名",
                    "数量",
                    "回数",
                    "医療機関等",
                ];
                let records = state
                    .store
                    .drug_history(id, from, last_day_of_month(to))
                    .await?;
                count = records.len();
                lines = records
                    .iter()
                    .map(|r| Line {
                        cells: vec![
                            r.setting.label().to_owned(),
                            wareki_month(r.dispensed_on),
                            day_in(r.prescribed_on, r.dispensed_on),
                            format!("{}日", r.dispensed_on.day()),
                            r.dosage.clone(),
                            r.route.label().to_owned(),
                            r.drug_name.clone(),
                            if r.generic_name.is_empty() {
                                "—".to_owned()
                            } else {
                                r.generic_name.clone()
                            },
                            format!("{}{}", r.quantity, r.unit),
                            r.route.times_label(r.times),
                            r.institution_name.clone(),
                        ],
                    })
                    .collect();
            }
            MedicalKind::Clinical => {
                header_row = vec!["日付", "区分", "名称", "内容", "医療機関等"];
                let allowed = |k: ClinicalKind| {
                    medical_access(latest.as_ref(), k.consent_item(), standing, now).is_ok()
                };
                let events: Vec<_> = state
                    .store
                    .clinical_events(id)
                    .await?
                    .into_iter()
                    .filter(|e| allowed(e.kind))
                    .filter(|e| e.occurred_on >= from && e.occurred_on <= last_day_of_month(to))
                    .collect();
                count = events.len();
                lines = events
                    .iter()
                    .map(|e| Line {
                        cells: vec![
                            japanese_date(e.occurred_on),
                            e.kind.label().to_owned(),
                            e.name.clone(),
                            e.detail.clone(),
                            e.institution_name.clone(),
                        ],
                    })
                    .collect();
            }
            MedicalKind::Checkups => {
                header_row = vec![
                    "受診日",
                    "身長",
                    "体重",
                    "腹囲",
                    "血圧",
                    "HbA1c",
                    "LDL",
                    "HDL",
                    "中性脂肪",
                ];
                let results: Vec<_> = state
                    .store
                    .checkups(id)
                    .await?
                    .into_iter()
                    .filter(|c| c.examined_on >= from && c.examined_on <= last_day_of_month(to))
                    .collect();
                count = results.len();
                lines = results
                    .iter()
                    .map(|c| Line {
                        cells: vec![
                            japanese_date(c.examined_on),
                            format!("{:.1} cm", c.height_cm),
                            format!("{:.1} kg", c.weight_kg),
                            format!("{:.1} cm", c.waist_cm),
                            format!("{}/{} mmHg", c.systolic_mmhg, c.diastolic_mmhg),
                            format!("{:.1} %", c.hba1c_percent),
                            format!("{} mg/dL", c.ldl_mg_dl),
                            format!("{} mg/dL", c.hdl_mg_dl),
                            format!("{} mg/dL", c.triglycerides_mg_dl),
                        ],
                    })
                    .collect();
            }
        }
    }
    state
        .store
        .audit(
            &staff.event(
                "medical.read",
                match (&access, error) {
                    (Ok(()), None) => "ok",
                    (Ok(()), Some(_)) => "bad_request",
                    (Err(_), _) => "refused",
                },
                Some(id),
                json!({
                    "kind": kind.as_str(),
                    "from": from.format("%Y-%m").to_string(),
                    "to": to.format("%Y-%m").to_string(),
                    "records": count,
                    "refusal": access.err().map(MedicalRefusal::code),
                }),
            ),
            now,
        )
        .await?;
    let page = MedicalPage {
        id,
        name: patient.name.clone(),
        kind: kind.as_str(),
        kind_label: kind.label(),
        tabs: KINDS
            .iter()
            .map(|k| (k.as_str(), k.label(), *k == kind))
            .collect(),
        from: from.format("%Y-%m").to_string(),
        to: to.format("%Y-%m").to_string(),
        refusal: access.err().map(|r| (r.to_string(), r.code())),
        error,
        headers: header_row,
        lines,
        nav: Nav::new(&staff, Realm::Institution, "/admin/patients"),
    };
    let status = if page.refusal.is_some() {
        StatusCode::FORBIDDEN
    } else if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = (status, Html(page.render()?)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
