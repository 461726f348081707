//! マイナ資格確認アプリ（居宅同意取得型） (seed 002, 初回訪問時): in the
//! patient's home the patient chooses each consent item the institution
//! offers (and the prescription form where it applies) on H-01-W, confirms
//! on H-02-W, then identity by 目視 or 暗証番号 (the switch ☑ at the top
//! right of H-01-W) on the card reader; the consent is registered (channel
//! アプリ) with the check and the result C-04-01-W shows.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{CareKind, Choice, ConsentRequest};
use zaitaku_service::device::app::AppSession;
use zaitaku_service::inquiry::app_check::{self, Method};

use super::session::InApp;
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;

pub struct ItemView {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `agree`, `disagree` or empty.
    pub choice: &'static str,
}

#[derive(Template)]
#[template(path = "app/consent.html")]
struct ConsentPage {
    institution: String,
    csrf: String,
    method: &'static str,
    method_label: &'static str,
    other_method: &'static str,
    other_label: &'static str,
    items: Vec<ItemView>,
    asks_prescription: bool,
    forms: Vec<(&'static str, &'static str, bool)>,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "app/consent_confirm.html")]
struct ConfirmPage {
    csrf: String,
    method: &'static str,
    method_label: &'static str,
    rows: Vec<(&'static str, &'static str)>,
    fields: Vec<(String, String)>,
}

/// The method of the consent screen: its own switch, the device's setting
/// by default.
fn method_of(s: &AppSession, asked: Option<&str>) -> Method {
    match asked.and_then(Method::parse) {
        Some(m @ (Method::Visual | Method::Pin)) => m,
        _ if s.device.visual_check => Method::Visual,
        _ => Method::Pin,
    }
}

fn page(
    s: &AppSession,
    method: Method,
    request: &ConsentRequest,
    error: Option<(String, &'static str)>,
) -> Result<Response, WebError> {
    let inst = &s.institution.institution;
    let other = if method == Method::Visual {
        Method::Pin
    } else {
        Method::Visual
    };
    let page = ConsentPage {
        institution: inst.name.clone(),
        csrf: s.csrf.clone(),
        method: method.as_str(),
        method_label: method.label(),
        other_method: other.as_str(),
        other_label: other.label(),
        items: inst
            .consent_items
            .iter()
            .map(|i| ItemView {
                key: i.as_str(),
                label: i.label(),
                help: i.help(),
                choice: match request.choices.get(i) {
                    Some(Choice::Agree) => "agree",
                    Some(Choice::Disagree) => "disagree",
                    None => "",
                },
            })
            .collect(),
        asks_prescription: inst.asks_prescription_form(),
        forms: PrescriptionForm::ALL
            .iter()
            .map(|f| (f.code(), f.label(), request.prescription_form == Some(*f)))
            .collect(),
        notice: None,
        error,
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

#[derive(Deserialize)]
pub struct MethodQuery {
    method: Option<String>,
}

/// H-01-W 同意内容の選択.
pub async fn choose(InApp(s): InApp, Query(q): Query<MethodQuery>) -> Result<Response, WebError> {
    let method = method_of(&s, q.method.as_deref());
    let empty = ConsentRequest {
        choices: BTreeMap::new(),
        prescription_form: None,
        consultation_date: None,
    };
    page(&s, method, &empty, None)
}

/// The choices of the form, for the offered items only.
fn request_of(s: &AppSession, form: &HashMap<String, String>) -> ConsentRequest {
    let mut choices = BTreeMap::new();
    for item in &s.institution.institution.consent_items {
        match form
            .get(&format!("item_{}", item.as_str()))
            .map(String::as_str)
        {
            Some("agree") => {
                choices.insert(*item, Choice::Agree);
            }
            Some("disagree") => {
                choices.insert(*item, Choice::Disagree);
            }
            _ => {}
        }
    }
    ConsentRequest {
        choices,
        prescription_form: form
            .get("prescription_form")
            .and_then(|v| PrescriptionForm::parse(v).ok()),
        consultation_date: None,
    }
}

/// 確認する: H-02-W with what was chosen, or H-01-W again with why not.
pub async fn review(
    app: InApp,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    if !app.csrf_ok(form.get("csrf").map(String::as_str)) {
        return Ok(Redirect::to("/app/consent").into_response());
    }
    let InApp(s) = app;
    let method = method_of(&s, form.get("method").map(String::as_str));
    let request = request_of(&s, &form);
    if let Err(e) = request.validate(&s.institution.institution, CareKind::HomeVisit, Utc::now()) {
        return page(&s, method, &request, Some((e.to_string(), e.code())));
    }
    let mut rows: Vec<(&'static str, &'static str)> = request
        .choices
        .iter()
        .map(|(item, c)| {
            (
                item.label(),
                if *c == Choice::Agree {
                    "同意する"
                } else {
                    "同意しない"
                },
            )
        })
        .collect();
    let mut fields: Vec<(String, String)> = request
        .choices
        .iter()
        .map(|(item, c)| {
            (
                format!("item_{}", item.as_str()),
                if *c == Choice::Agree {
                    "agree"
                } else {
                    "disagree"
                }
                .to_owned(),
            )
        })
        .collect();
    if let Some(f) = request.prescription_form {
        rows.push(("処方箋の発行方法", f.label()));
        fields.push(("prescription_form".into(), f.code().to_owned()));
    }
    let page = ConfirmPage {
        csrf: s.csrf.clone(),
        method: method.as_str(),
        method_label: method.label(),
        rows,
        fields,
    };
    Ok(form_page(page.render()?, false))
}

/// 本人確認に進む: the consent waits for the card.
pub async fn confirm(
    State(state): State<AppState>,
    app: InApp,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    if !app.csrf_ok(form.get("csrf").map(String::as_str)) {
        return Ok(Redirect::to("/app/consent").into_response());
    }
    let InApp(mut s) = app;
    let method = method_of(&s, form.get("method").map(String::as_str));
    let request = request_of(&s, &form);
    let begun = app_check::begin_with_consent(
        &state.store,
        &state.identity,
        &mut s,
        method,
        &request,
        Utc::now(),
    )
    .await?;
    match begun {
        Ok(_) => Ok(Redirect::to("/app/check/read").into_response()),
        Err(why) => page(&s, method, &request, Some((why.message(), why.code()))),
    }
}
