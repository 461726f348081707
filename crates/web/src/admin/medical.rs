//! The medical-information page: drug history by 診療年月 range, clinical
//! information, check-ups, as `zaitaku_service::inquiry::medical` releases
//! them (consent gate, roles and audit are there).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use zaitaku_domain::access::MedicalKind;
use zaitaku_domain::person::{japanese_date, wareki_month};
use zaitaku_service::inquiry::{self, MedicalRecords, Window};

use super::patients::{consented, patient};
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::nav::Nav;
use crate::common::refusal::Refusal;
use crate::common::staff::{Staff, gate, refusal_page};
use crate::today;
use zaitaku_service::staff::Realm;

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

/// A day of the 診療年月 row as 「5日」; one in another month (a prescription
/// filled after the month turned) with its month, 「9月30日」.
fn day_in(day: NaiveDate, row: NaiveDate) -> String {
    if (day.year(), day.month()) == (row.year(), row.month()) {
        format!("{}日", day.day())
    } else {
        format!("{}月{}日", day.month(), day.day())
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff<gate::ViewPatients>,
    _headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<MedicalQuery>,
) -> Result<Response, WebError> {
    // Every institution role reaches the patient; the role check follows so
    // that a refusal is audited against the patient it concerned.
    let patient = patient!(state, staff, id, "medical");
    let kind = q
        .kind
        .as_deref()
        .and_then(MedicalKind::parse)
        .unwrap_or(MedicalKind::Drugs);
    let now = Utc::now();
    let window = Window::of(kind, q.from.as_deref(), q.to.as_deref(), today());
    let Some(read) = inquiry::medical(
        &state.store,
        &staff,
        id,
        q.kind.as_deref(),
        kind,
        window,
        now,
    )
    .await?
    else {
        return Ok(refusal_page(&staff, Refusal::Forbidden, None));
    };
    let (header_row, lines): (Vec<&'static str>, Vec<Line>) = match &read.records {
        MedicalRecords::Nothing => (Vec::new(), Vec::new()),
        // Seed 002's 薬剤情報 columns, then who dispensed it.
        MedicalRecords::Drugs(records) => (
            vec![
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
            ],
            records
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
                .collect(),
        ),
        MedicalRecords::Clinical(events) => (
            vec!["日付", "区分", "名称", "内容", "医療機関等"],
            events
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
                .collect(),
        ),
        MedicalRecords::Checkups(results) => (
            vec![
                "受診日",
                "身長",
                "体重",
                "腹囲",
                "血圧",
                "HbA1c",
                "LDL",
                "HDL",
                "中性脂肪",
            ],
            results
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
                .collect(),
        ),
    };
    let (from, to, error) = (window.from, window.to, window.error);
    let access = read.access;
    let page = MedicalPage {
        id,
        name: patient.name.clone(),
        kind: kind.as_str(),
        kind_label: kind.label(),
        tabs: MedicalKind::ALL
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
    if page.refusal.is_some() {
        return Ok((StatusCode::FORBIDDEN, Html(page.render()?)).into_response());
    }
    Ok(form_page(page.render()?, page.error.is_some()))
}
