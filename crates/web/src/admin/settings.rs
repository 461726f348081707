//! 環境設定情報更新 (seed 002 事前準備①): the 「オンライン診療等・外来診療等
//! （通常とは異なる動線）機能」 switch, which may be turned on only after the
//! administrator acknowledges the terms; e-prescription capability; the consent
//! items the web service offers; the online-care partners' origins a patient
//! may be sent back to (オンライン診療サービスの戻り先).

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::consent::ConsentItem;
use zaitaku_domain::partner_origin::{MAX_ORIGINS, PartnerOrigin};
use zaitaku_service::institution::{self, Settings};

use crate::AppState;
use crate::common::error::WebError;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::staff::{Gate, Staff, gate};
use zaitaku_service::staff::Realm;

pub struct ItemBox {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage<'a> {
    nav: Nav<'a>,
    enabled: bool,
    eprescription: bool,
    eprescription_applies: bool,
    items: Vec<ItemBox>,
    /// The partner origins, one per line, as stored or as just entered.
    partner_origins: String,
    /// Each refused line of the partner origins, shown beside the field.
    origin_errors: Vec<(String, &'static str)>,
    max_origins: usize,
    terms_accepted: Option<String>,
    error: Option<(String, &'static str)>,
    saved: bool,
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    staff: &Staff<impl Gate>,
    form: Option<&SettingsForm>,
    error: Option<(String, &'static str)>,
    origin_errors: Vec<(String, &'static str)>,
    saved: bool,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let i = &inst.institution;
    let chosen = |item: ConsentItem| match form {
        Some(f) => f.items().contains(&item),
        None => i.offers(item),
    };
    let page = SettingsPage {
        enabled: form.map_or(i.remote_function_enabled, SettingsForm::enabled),
        eprescription: form.map_or(i.eprescription, |f| f.eprescription.as_deref() == Some("1")),
        eprescription_applies: i.kind.issues_prescriptions(),
        items: ConsentItem::ALL
            .into_iter()
            .map(|item| ItemBox {
                value: item.as_str(),
                label: item.label(),
                checked: chosen(item),
            })
            .collect(),
        partner_origins: match form.and_then(|f| f.partner_origins.clone()) {
            Some(entered) => entered,
            None => i
                .partner_origins
                .iter()
                .map(PartnerOrigin::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
        },
        max_origins: MAX_ORIGINS,
        terms_accepted: institution::terms_acceptance(&state.store, staff)
            .await?
            .map(|(at, by)| format!("{}（{by}）", jst_minute(at))),
        error,
        saved,
        nav: Nav::new(staff, Realm::Institution, "/admin/settings"),
        origin_errors,
    };
    let status = if page.error.is_some() || !page.origin_errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff<gate::ManageSettings>,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, WebError> {
    render(&state, &staff, None, None, Vec::new(), q.saved.is_some()).await
}

/// Checkboxes arrive as repeated `items=` fields, which `Form` cannot collect
/// into a Vec; the raw pairs are read instead.
#[derive(Default)]
pub struct SettingsForm {
    csrf: Option<String>,
    function: Option<String>,
    terms: Option<String>,
    eprescription: Option<String>,
    items: Vec<String>,
    /// `None` when the form has no such field: a client that does not know
    /// it leaves the registered origins as they are.
    partner_origins: Option<String>,
}

impl SettingsForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = Some(v),
                "function" => f.function = Some(v),
                "terms" => f.terms = Some(v),
                "eprescription" => f.eprescription = Some(v),
                "items" => f.items.push(v),
                "partner_origins" => f.partner_origins = Some(v),
                _ => {}
            }
        }
        f
    }

    fn enabled(&self) -> bool {
        self.function.as_deref() == Some("on")
    }

    fn items(&self) -> Vec<ConsentItem> {
        self.items
            .iter()
            .filter_map(|s| ConsentItem::parse(s).ok())
            .collect()
    }
}

pub async fn save(
    State(state): State<AppState>,
    staff: Staff<gate::ManageSettings>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = SettingsForm::from_pairs(pairs);
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let settings = Settings {
        function: form.enabled(),
        terms_acknowledged: form.terms.as_deref() == Some("1"),
        eprescription: form.eprescription.as_deref() == Some("1"),
        items: form.items(),
        partner_origins: form.partner_origins.clone(),
    };
    match institution::save_settings(&state.store, &staff, &settings, Utc::now()).await? {
        Ok(_) => Ok(Redirect::to("/admin/settings?saved=1").into_response()),
        Err(refused) => {
            let error = refused.refusal.as_ref().map(|r| (r.message(), r.code()));
            let origin_errors = refused.origin_messages();
            render(&state, &staff, Some(&form), error, origin_errors, false).await
        }
    }
}
