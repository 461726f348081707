//! The handlers of flows A, B and C.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem, ConsentRequest,
    ConsentState, jst,
};
use zaitaku_domain::partner_origin::{ReturnRefusal, return_origin};
use zaitaku_domain::photo_id::{PhotoIdReason, photo_id_check};
use zaitaku_identity::CertificateStatus;
use zaitaku_storage::{AuditEvent, NewConsent, StoredInstitution, Write, Written};

use super::eligibility_view::{self, EligibilityView};
use super::session::{
    Flow, FlowKind, Outcome, PendingAuth, Purpose, ShownConsent, idempotency_key, random_token,
};
use crate::error::{WebError, error_page};
use crate::handoff::{Returned, Shown, USED, authorize_url, returned};
use crate::pages::{open_institution, unavailable_url};
use crate::{AppState, today};

fn display_form(headers: &HeaderMap) -> zaitaku_domain::display_form::DisplayForm {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    zaitaku_domain::display_form::DisplayForm::of_user_agent(ua)
}

fn session_expired(inst: &StoredInstitution, token: &str) -> Response {
    let page = ExpiredPage {
        token,
        institution_name: &inst.institution.name,
    };
    match page.render() {
        Ok(html) => (StatusCode::GONE, Html(html)).into_response(),
        Err(_) => error_page(
            StatusCode::GONE,
            "セッションの有効期限が切れました",
            "最初からやり直してください。",
            "Z-W-0440",
        ),
    }
}

#[derive(Template)]
#[template(path = "flow/expired.html")]
struct ExpiredPage<'a> {
    token: &'a str,
    institution_name: &'a str,
}

/// The institution and the visit, or the page that explains why not.
async fn context(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
) -> Result<Result<(StoredInstitution, Flow), Response>, WebError> {
    let Some(inst) = open_institution(state, token).await? else {
        return Ok(Err(unavailable_url()));
    };
    match Flow::load(state, headers, inst.id).await? {
        Some(flow) => Ok(Ok((inst, flow))),
        None => Ok(Err(session_expired(&inst, token))),
    }
}

fn with_cookie(mut res: Response, flow: &Flow, state: &AppState) -> Result<Response, WebError> {
    res.headers_mut()
        .insert(header::SET_COOKIE, flow.cookie_header(state)?);
    Ok(res)
}

fn audit_event<'a>(
    action: &'a str,
    outcome: &'a str,
    inst: &StoredInstitution,
    person: Option<i64>,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    AuditEvent {
        actor: "patient",
        action,
        outcome,
        institution_id: Some(inst.id),
        person_id: person,
        detail,
    }
}

// ----------------------------------------------------------------

#[derive(Deserialize)]
pub struct StartQuery {
    /// `online` for オンライン診療等 (a partner sends the patient).
    mode: Option<String>,
    /// Where 「手続きを終了する」 returns (the partner's page).
    r#return: Option<String>,
    /// The consultation day the partner already knows.
    date: Option<String>,
    /// The partner's own value, returned unchanged in the signed return.
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage<'a> {
    institution_name: &'a str,
    token: &'a str,
    csrf: &'a str,
    subtitle: &'static str,
    /// The previous visit went to the authenticator and never came back.
    unfinished: bool,
    /// Sent by an online-care partner: offer the way back without registering.
    partner: bool,
}

fn care_subtitle(kind: CareKind) -> &'static str {
    match kind {
        CareKind::HomeVisit => "訪問診療等",
        CareKind::Online => "オンライン診療等",
        CareKind::Outpatient => "外来診療等",
    }
}

/// 画面番号 A-01. Opens a new visit each time.
pub async fn start(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Result<Response, WebError> {
    let Some(inst) = open_institution(&state, &token).await? else {
        return Ok(unavailable_url());
    };
    let previous = Flow::load(&state, &headers, inst.id).await?;
    let mut flow = Flow::new(inst.id)?;
    let from_partner =
        q.mode.is_some() || q.r#return.is_some() || q.date.is_some() || q.state.is_some();
    if from_partner {
        flow.care_kind = match q.mode.as_deref() {
            Some("online") => CareKind::Online,
            Some("outpatient") => CareKind::Outpatient,
            _ => CareKind::HomeVisit,
        };
        flow.partner_return = match q.r#return {
            Some(url) => registered_return(&state, &inst, url, "start").await?,
            None => None,
        };
        flow.consultation_date = q
            .date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        flow.partner_state = q.state.filter(|s| zaitaku_proto::partner::valid_state(s));
    } else if let Some(prev) = &previous {
        // 「最初の画面に戻る」 links carry no query: a patient sent by an
        // online-care partner must not lose the way back to it.
        flow.care_kind = prev.care_kind;
        flow.partner_return = prev.partner_return.clone();
        flow.consultation_date = prev.consultation_date;
        flow.partner_state = prev.partner_state.clone();
    }
    flow.save(&state).await?;
    let page = StartPage {
        institution_name: &inst.institution.name,
        token: &token,
        csrf: &flow.csrf,
        subtitle: care_subtitle(flow.care_kind),
        unfinished: previous.is_some_and(|p| p.auth.is_some() && p.outcome.is_none()),
        partner: flow.partner_return.is_some(),
    };
    with_cookie(Html(page.render()?).into_response(), &flow, &state)
}

/// `url` when its origin is one the institution registered
/// (`zaitaku_domain::partner_origin`); otherwise `None`, and the refusal is
/// audited with the reason and, when it could be read, the origin — never
/// the URL, whose path and query are the partner's and may name the patient.
/// The patient is not told: the visit goes on without a way back, and the
/// institution sees the refusal in its audit log (docs/auth-handoff.md).
async fn registered_return(
    state: &AppState,
    inst: &StoredInstitution,
    url: String,
    step: &str,
) -> Result<Option<String>, WebError> {
    let refusal = match return_origin(&url, &inst.institution.partner_origins) {
        Ok(_) => return Ok(Some(url)),
        Err(refusal) => refusal,
    };
    let origin = match &refusal {
        ReturnRefusal::NotRegistered(origin) => Some(origin.as_str()),
        _ => None,
    };
    state
        .store
        .audit(
            &audit_event(
                "partner.return_url",
                "refused",
                inst,
                None,
                json!({"reason": refusal.as_str(), "origin": origin, "step": step}),
            ),
            Utc::now(),
        )
        .await?;
    Ok(None)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
    method: Option<String>,
}

/// 「同意登録をする」, 「同意照会・更新」, 「すべての同意を取消す」.
pub async fn flow_start(
    State(state): State<AppState>,
    Path((token, kind)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let (inst, mut flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    if !flow.csrf_ok(form.csrf.as_deref()) {
        return Ok(session_expired(&inst, &token));
    }
    let kind = match kind.as_str() {
        "register" => FlowKind::Register,
        "update" => FlowKind::Update,
        "cancel" => FlowKind::Cancel,
        _ => return Ok(unavailable_url()),
    };
    // A new choice of flow starts a new write.
    flow.kind = Some(kind);
    flow.outcome = None;
    flow.identified_person = None;
    flow.shown = None;
    flow.choices = BTreeMap::new();
    flow.prescription_form = None;
    flow.idempotency = idempotency_key()?;
    // The visit and its audit record share one commit.
    state
        .store
        .write(vec![
            flow.save_write()?,
            Write::audit(
                &audit_event("flow.start", "ok", &inst, None, json!({"flow": kind})),
                Utc::now(),
            ),
        ])
        .await?
        .map_err(|r| WebError::Internal(format!("{r:?}")))?;
    let next = match kind {
        FlowKind::Register => format!("/w/{token}/choose"),
        // Nobody sees stored consent before authenticating.
        FlowKind::Update => {
            return begin_auth(
                &state,
                &inst,
                &headers,
                flow,
                Purpose::View,
                form.method.as_deref(),
            )
            .await;
        }
        FlowKind::Cancel => format!("/w/{token}/confirm"),
    };
    Ok(Redirect::to(&next).into_response())
}

// ---------------------------------------------------------------- B-01 / C-03

struct ItemView {
    name: &'static str,
    label: &'static str,
    help: &'static str,
    agree: bool,
    disagree: bool,
    /// Left unanswered on a submit that was refused: said beside the item.
    missing: bool,
}

#[derive(Template)]
#[template(path = "flow/choose.html")]
struct ChoosePage<'a> {
    institution_name: &'a str,
    token: &'a str,
    csrf: &'a str,
    subtitle: &'static str,
    screen_id: &'static str,
    update: bool,
    items: Vec<ItemView>,
    ask_prescription: bool,
    electronic: bool,
    paper: bool,
    online: bool,
    consultation_date: String,
    min_date: String,
    error: Option<String>,
    /// The prescription form was left unanswered on a refused submit.
    prescription_missing: bool,
    /// 「すべての項目に同意する」 was just pressed (without the script).
    all_set: bool,
    no_stored_consent: bool,
}

fn choose_view<'a>(
    inst: &'a StoredInstitution,
    flow: &'a Flow,
    token: &'a str,
    error: Option<String>,
) -> ChoosePage<'a> {
    let update = flow.kind == Some(FlowKind::Update);
    let refused = error.is_some();
    let ask_prescription = inst.institution.asks_prescription_form();
    ChoosePage {
        institution_name: &inst.institution.name,
        token,
        csrf: &flow.csrf,
        subtitle: care_subtitle(flow.care_kind),
        screen_id: if update { "C-03" } else { "B-01" },
        update,
        items: inst
            .institution
            .consent_items
            .iter()
            .map(|i| ItemView {
                name: i.as_str(),
                label: i.label(),
                help: i.help(),
                agree: flow.choices.get(i) == Some(&Choice::Agree),
                disagree: flow.choices.get(i) == Some(&Choice::Disagree),
                missing: refused && !flow.choices.contains_key(i),
            })
            .collect(),
        ask_prescription,
        prescription_missing: refused && ask_prescription && flow.prescription_form.is_none(),
        all_set: false,
        electronic: flow.prescription_form == Some(PrescriptionForm::Electronic),
        paper: flow.prescription_form == Some(PrescriptionForm::Paper),
        online: flow.care_kind == CareKind::Online,
        consultation_date: flow
            .consultation_date
            .unwrap_or_else(today)
            .format("%Y-%m-%d")
            .to_string(),
        min_date: today().format("%Y-%m-%d").to_string(),
        error,
        no_stored_consent: update && flow.choices.is_empty(),
    }
}

#[derive(Deserialize)]
pub struct ChooseQuery {
    all: Option<String>,
}

pub async fn choose_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ChooseQuery>,
) -> Result<Response, WebError> {
    let (inst, flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    match flow.kind {
        Some(FlowKind::Register) => {}
        Some(FlowKind::Update) if flow.identified_person.is_some() => {}
        _ => return Ok(Redirect::to(&format!("/w/{token}")).into_response()),
    }
    let mut page = choose_view(&inst, &flow, &token, None);
    page.all_set = q.all.is_some();
    Ok(Html(page.render()?).into_response())
}

/// Reads the B-01 / C-03 form; 「すべての項目に同意する」 sets every item and
/// shows the page again, so the patient still confirms the choice.
pub async fn choose_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let (inst, mut flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    if !flow.csrf_ok(form.get("csrf").map(String::as_str)) {
        return Ok(session_expired(&inst, &token));
    }
    let mut choices = BTreeMap::new();
    for item in &inst.institution.consent_items {
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
    if form.contains_key("all") {
        for item in &inst.institution.consent_items {
            choices.insert(*item, Choice::Agree);
        }
    }
    flow.choices = choices;
    flow.prescription_form = form
        .get("prescription_form")
        .and_then(|v| PrescriptionForm::parse(v).ok());
    if flow.care_kind == CareKind::Online {
        flow.consultation_date = form
            .get("consultation_date")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .or(flow.consultation_date);
    }
    flow.save(&state).await?;
    if form.contains_key("all") {
        // Back to the same page at the same place, by GET, so that the back
        // button never offers to post again.
        return Ok(Redirect::to(&format!("/w/{token}/choose?all=1#all-status")).into_response());
    }
    if let Err(e) = request_of(&flow).validate(&inst.institution, flow.care_kind, Utc::now()) {
        let page = choose_view(&inst, &flow, &token, Some(e.to_string()));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    }
    Ok(Redirect::to(&format!("/w/{token}/confirm")).into_response())
}

fn request_of(flow: &Flow) -> ConsentRequest {
    ConsentRequest {
        choices: flow.choices.clone(),
        prescription_form: flow.prescription_form,
        consultation_date: flow.consultation_date,
    }
}

// ---------------------------------------------------------------- B-02 / C-07 / cancel confirm

struct ChosenRow {
    label: &'static str,
    value: &'static str,
}

#[derive(Template)]
#[template(path = "flow/confirm.html")]
struct ConfirmPage<'a> {
    institution_name: &'a str,
    token: &'a str,
    csrf: &'a str,
    subtitle: &'static str,
    screen_id: &'static str,
    kind: &'static str,
    rows: Vec<ChosenRow>,
    prescription: Option<&'static str>,
    consultation_date: Option<String>,
    phone: bool,
    /// Windows or macOS (seed 000 参考): the IC card reader is offered.
    card_reader: bool,
    /// A hospital or clinic with e-prescriptions: the prescription form is
    /// part of what is registered and what is cancelled.
    ask_prescription: bool,
    /// The patient went to the authenticator and came back without it.
    pending: bool,
    /// Flow B with exactly the consent that was shown: nothing would change.
    unchanged: bool,
}

fn chosen_rows(
    inst: &StoredInstitution,
    choices: &BTreeMap<ConsentItem, Choice>,
) -> Vec<ChosenRow> {
    inst.institution
        .consent_items
        .iter()
        .filter_map(|i| {
            choices.get(i).map(|c| ChosenRow {
                label: i.label(),
                value: c.label(),
            })
        })
        .collect()
}

pub async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (inst, flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let (screen_id, kind) = match flow.kind {
        Some(FlowKind::Register) => ("B-02", "register"),
        Some(FlowKind::Update) => ("C-07", "update"),
        Some(FlowKind::Cancel) => ("C-02", "cancel"),
        None => return Ok(Redirect::to(&format!("/w/{token}")).into_response()),
    };
    if kind != "cancel"
        && request_of(&flow)
            .validate(&inst.institution, flow.care_kind, Utc::now())
            .is_err()
    {
        return Ok(Redirect::to(&format!("/w/{token}/choose")).into_response());
    }
    let page = ConfirmPage {
        institution_name: &inst.institution.name,
        token: &token,
        csrf: &flow.csrf,
        subtitle: care_subtitle(flow.care_kind),
        screen_id,
        kind,
        rows: chosen_rows(&inst, &flow.choices),
        prescription: flow.prescription_form.map(PrescriptionForm::label),
        consultation_date: (flow.care_kind == CareKind::Online).then(|| {
            zaitaku_domain::person::japanese_date(flow.consultation_date.unwrap_or_else(today))
        }),
        phone: display_form(&headers).is_phone(),
        card_reader: display_form(&headers).card_reader(),
        ask_prescription: inst.institution.asks_prescription_form(),
        pending: flow.auth.is_some(),
        unchanged: kind == "update"
            && flow.shown.as_ref()
                == Some(&ShownConsent {
                    choices: flow.choices.clone(),
                    prescription_form: flow.prescription_form,
                }),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------- authentication

/// 「同意内容を登録する」 and the like: hands the patient to the authenticator.
pub async fn auth(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let (inst, flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    if !flow.csrf_ok(form.csrf.as_deref()) {
        return Ok(session_expired(&inst, &token));
    }
    if flow.kind.is_none() {
        return Ok(Redirect::to(&format!("/w/{token}")).into_response());
    }
    if flow.kind != Some(FlowKind::Cancel)
        && request_of(&flow)
            .validate(&inst.institution, flow.care_kind, Utc::now())
            .is_err()
    {
        return Ok(Redirect::to(&format!("/w/{token}/choose")).into_response());
    }
    begin_auth(
        &state,
        &inst,
        &headers,
        flow,
        Purpose::Save,
        form.method.as_deref(),
    )
    .await
}

/// What the authenticator's pages should say the authentication is for.
fn shown_purpose(kind: Option<FlowKind>, purpose: Purpose) -> zaitaku_authenticator::Purpose {
    use zaitaku_authenticator::Purpose as Shown;
    match (kind, purpose) {
        (_, Purpose::View) => Shown::View,
        (Some(FlowKind::Update), Purpose::Save) => Shown::Update,
        (Some(FlowKind::Cancel), Purpose::Save) => Shown::Cancel,
        (Some(FlowKind::Register) | None, Purpose::Save) => Shown::Register,
    }
}

async fn begin_auth(
    state: &AppState,
    inst: &StoredInstitution,
    _headers: &HeaderMap,
    mut flow: Flow,
    purpose: Purpose,
    method: Option<&str>,
) -> Result<Response, WebError> {
    let token = inst.url_token.as_str();
    let now = Utc::now();
    let verifier = random_token()?;
    let oauth_state = random_token()?;
    let nonce = state
        .identity
        .new_nonce(&flow.sid, now)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let url = authorize_url(
        &oauth_state,
        &verifier,
        &nonce,
        &callback_path(token),
        method == Some("qr"),
        &Shown {
            client_name: Some(&inst.institution.name),
            purpose: shown_purpose(flow.kind, purpose),
        },
    );
    flow.auth = Some(PendingAuth {
        state: oauth_state,
        verifier,
        nonce,
        purpose,
    });
    flow.save(state).await?;
    Ok(Redirect::to(&url).into_response())
}

/// Where the authenticator returns a visit; the code is bound to it.
fn callback_path(token: &str) -> String {
    format!("/w/{token}/callback")
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn refused(token: &str, title: &str, message: &str, code: &str) -> Response {
    let mut res = refusal_page(token, title, message, code, None, None);
    res.extensions_mut().insert(Refusal {
        title: title.to_owned(),
        message: message.to_owned(),
        code: code.to_owned(),
    });
    res
}

fn refusal_page(
    token: &str,
    title: &str,
    message: &str,
    code: &str,
    inst: Option<&StoredInstitution>,
    flow: Option<&Flow>,
) -> Response {
    let page = FlowError {
        token,
        title,
        message,
        code,
        institution_name: inst.map(|i| i.institution.name.as_str()),
        subtitle: flow.map(|f| care_subtitle(f.care_kind)),
        partner: flow.is_some_and(|f| f.partner_return.is_some()),
    };
    match page.render() {
        Ok(html) => (StatusCode::FORBIDDEN, Html(html)).into_response(),
        Err(_) => error_page(StatusCode::FORBIDDEN, title, message, code),
    }
}

/// What a refusal page said, so that [`refusal_in_context`] can show it
/// again within the visit.
#[derive(Clone)]
struct Refusal {
    title: String,
    message: String,
    code: String,
}

#[derive(Template)]
#[template(path = "flow/error.html")]
struct FlowError<'a> {
    token: &'a str,
    title: &'a str,
    message: &'a str,
    code: &'a str,
    institution_name: Option<&'a str>,
    /// 訪問診療等 / オンライン診療等, as on the visit's other screens.
    subtitle: Option<&'static str>,
    /// Sent by an online-care partner: offer 「同意登録をせずに戻る」.
    partner: bool,
}

/// Around the callback: a refusal (保険証未登録, a locked card …) is shown
/// within the visit — the institution, 訪問診療等 or オンライン診療等 — and a
/// patient an online-care partner sent gets the way back to it on that very
/// page, so that the partner learns of it and can offer its own fallback
/// (seed 003: uploading an image of the insurance card). The callback itself
/// stays as it is.
pub async fn refusal_in_context(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Only the visit's cookie is needed afterwards: the whole header map
    // would be copied on every registration for the few that are refused.
    let cookies: HeaderMap = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .map(|v| (header::COOKIE, v.clone()))
        .collect();
    let res = next.run(req).await;
    let Some(refusal) = res.extensions().get::<Refusal>().cloned() else {
        return res;
    };
    let token = token.as_str();
    let Ok(Some(inst)) = open_institution(&state, token).await else {
        return res;
    };
    let flow = Flow::load(&state, &cookies, inst.id).await.ok().flatten();
    refusal_page(
        token,
        &refusal.title,
        &refusal.message,
        &refusal.code,
        Some(&inst),
        flow.as_ref(),
    )
}

/// 訪問診療等 / オンライン診療等 for a page outside the flow (the FAQ), from
/// the visit in progress if there is one.
pub(crate) async fn visit_subtitle(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
) -> Result<&'static str, WebError> {
    let kind = Flow::load(state, headers, institution_id)
        .await?
        .map_or(CareKind::HomeVisit, |f| f.care_kind);
    Ok(care_subtitle(kind))
}

/// What the callback does once its writes are durable.
enum After {
    Redirect(String),
    Refuse {
        title: &'static str,
        message: String,
        code: &'static str,
    },
}

/// Back from the authenticator: the only place where stored consent is read
/// and where anything is written.
///
/// Everything is read and decided first; then the nonce is spent, the login
/// audited, the one-time code spent and this callback's writes (consent, its
/// audit record, the visit with its outcome) made in one job of the
/// group-commit writer, so they are durable together before the browser is
/// sent on. The code and the nonce are single use, so a reload or a second
/// submit of this URL is refused (at the code, or at the nonce when both ran
/// at once) and never registers twice; a reload after success goes to the
/// completion page.
pub async fn callback(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    let (inst, mut flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    // A reload of this page after success shows the result again.
    if flow.outcome.is_some() && flow.auth.is_none() {
        return Ok(Redirect::to(&format!("/w/{token}/done")).into_response());
    }
    // Back to an authenticator page of a hand-off this visit has already
    // used (flow B once the stored consent was shown, a login that was
    // refused): say so, rather than start over without a word or blame the
    // patient's handling as a mismatched state would.
    let pending_state = flow.auth.as_ref().map(|p| p.state.as_str());
    if q.error.as_deref() == Some("used") && pending_state != q.state.as_deref() {
        let (title, message, code) = USED;
        return Ok(refused(&token, title, message, code));
    }
    let Some(pending) = flow.auth.clone() else {
        return Ok(Redirect::to(&format!("/w/{token}")).into_response());
    };
    if q.state.as_deref() != Some(pending.state.as_str()) {
        return Ok(refused(
            &token,
            "認証できませんでした",
            "画面の操作が正しくありません。最初からやり直してください。",
            "Z-W-0441",
        ));
    }
    let (signed, cross_device, redeem) = match returned(
        &state,
        q.error.as_deref(),
        q.code.as_deref(),
        &pending.verifier,
        &callback_path(&token),
    )
    .await?
    {
        Returned::Token {
            token,
            cross_device,
            redeem,
        } => (token, cross_device, redeem),
        Returned::Refused {
            title,
            message,
            code,
        } => return Ok(refused(&token, title, message, code)),
    };
    let now = Utc::now();
    let login = state
        .identity
        .check_login(&signed, &state.origin(), &pending.nonce, &flow.sid, now)
        .await;
    flow.auth = None;
    let (mut writes, after) = match login.identified() {
        Some(who) => {
            let on_device =
                crate::device::is_institution_device(&state, &headers, inst.id, now).await?;
            let ctx = Decide {
                inst: &inst,
                who,
                purpose: pending.purpose,
                cross_device,
                photo_id: photo_id_check(flow.care_kind, cross_device, on_device),
                token: &token,
                now,
            };
            decide(&state, &mut flow, &ctx).await?
        }
        None => (Vec::new(), After::Redirect(format!("/w/{token}"))),
    };
    // The code is spent in the same commit as the nonce and the consent.
    writes.insert(0, redeem);
    match state.identity.finish_login(login, writes).await {
        Err(e) => Ok(refused(&token, e.title(), &e.to_string(), e.code())),
        Ok(_) => Ok(match after {
            After::Redirect(to) => Redirect::to(&to).into_response(),
            After::Refuse {
                title,
                message,
                code,
            } => refused(&token, title, &message, code),
        }),
    }
}

/// The callback's reads and decisions for an authenticated patient: the
/// writes to make together with the login, and where to go afterwards.
struct Decide<'a> {
    inst: &'a StoredInstitution,
    who: &'a zaitaku_identity::Identified,
    purpose: Purpose,
    cross_device: bool,
    /// Why staff must check a photo ID afterwards (seed 002), if they must.
    photo_id: Option<PhotoIdReason>,
    token: &'a str,
    now: chrono::DateTime<Utc>,
}

async fn decide(
    state: &AppState,
    flow: &mut Flow,
    ctx: &Decide<'_>,
) -> Result<(Vec<Write>, After), WebError> {
    let Decide {
        inst,
        who,
        purpose,
        cross_device,
        photo_id,
        token,
        now,
    } = *ctx;
    let refuse = |title, message: &str, code| After::Refuse {
        title,
        message: message.to_owned(),
        code,
    };
    // Every refusal below also ends the hand-off in the visit (auth cleared),
    // so a reload starts over instead of trying the spent code again.
    // Independent reads, side by side on two connections.
    let kind = flow.kind.unwrap_or(FlowKind::Register);
    // The stored consent matters only to show it (flow B) and to cancel it.
    let needs_latest = purpose == Purpose::View || kind == FlowKind::Cancel;
    let (eligibility, latest) = tokio::try_join!(state.store.eligibility(who.person_id), async {
        if needs_latest {
            state.store.latest_consent(inst.id, who.person_id).await
        } else {
            Ok(None)
        }
    })?;
    let Some(eligibility) = eligibility else {
        return Ok((
            vec![flow.save_write()?],
            refuse(
                "資格情報が確認できませんでした",
                "登録されていないカードです。",
                "Z-C-0105",
            ),
        ));
    };

    if purpose == Purpose::View {
        // Flow B, first authentication: show the stored consent to update.
        let read = Write::audit(
            &audit_event(
                "consent.read",
                "ok",
                inst,
                Some(who.person_id),
                json!({"found": latest.is_some()}),
            ),
            now,
        );
        flow.identified_person = Some(who.person_id);
        if let Some(r) = latest.filter(|r| ConsentState::of(Some(r), now) == ConsentState::InForce)
        {
            flow.choices = r.choices.clone();
            flow.prescription_form = r.prescription_form;
            flow.care_kind = r.care_kind;
            flow.shown = Some(ShownConsent {
                choices: r.choices.clone(),
                prescription_form: r.prescription_form,
            });
        }
        return Ok((
            vec![read, flow.save_write()?],
            After::Redirect(format!("/w/{token}/choose")),
        ));
    }

    if kind == FlowKind::Update && flow.identified_person != Some(who.person_id) {
        return Ok((
            vec![flow.save_write()?],
            refuse(
                "認証したカードが異なります",
                "同意内容を表示したときと別の方のカードで認証されました。同意は更新されていません。最初からやり直してください。",
                "Z-W-0452",
            ),
        ));
    }
    if kind != FlowKind::Cancel
        && let Some((title, message, code)) = eligibility_view::refusal(&eligibility, today())
    {
        let audit = Write::audit(
            &audit_event(
                "consent.write",
                code,
                inst,
                Some(who.person_id),
                json!({"flow": kind}),
            ),
            now,
        );
        return Ok((
            vec![audit, flow.save_write()?],
            refuse(title, message, code),
        ));
    }

    let (action, decision) = match kind {
        FlowKind::Cancel => {
            let Some(prev) = latest.filter(|r| r.action != ConsentAction::Revoke) else {
                return Ok((
                    vec![flow.save_write()?],
                    refuse(
                        "取り消す同意がありません",
                        "この医療機関等に登録されている同意はありません。",
                        "Z-W-0453",
                    ),
                ));
            };
            let decision = ConsentDecision {
                care_kind: prev.care_kind,
                choices: BTreeMap::new(),
                prescription_form: None,
                valid_until: None,
            };
            (ConsentAction::Revoke, decision)
        }
        FlowKind::Register | FlowKind::Update => {
            let decision = match request_of(flow).validate(&inst.institution, flow.care_kind, now) {
                Ok(d) => d,
                Err(e) => {
                    return Ok((
                        vec![flow.save_write()?],
                        refuse("選択内容を確認してください", &e.to_string(), e.code()),
                    ));
                }
            };
            // Recorded as what the patient chose and reads on the completion
            // screen: flow A registers (replacing any consent in force),
            // flow B updates.
            let action = if kind == FlowKind::Update {
                ConsentAction::Update
            } else {
                ConsentAction::Register
            };
            (action, decision)
        }
    };
    let channel = if flow.partner_return.is_some() {
        Channel::Partner
    } else {
        Channel::Web
    };
    let consent = Write::record_consent(&NewConsent {
        institution_id: inst.id,
        person_id: who.person_id,
        action,
        channel,
        decision: &decision,
        recorded_at: now,
        recorded_by: "patient",
        photo_id_reason: photo_id,
        idempotency_key: Some(&flow.idempotency),
    });
    // The consent's id is known only once it is inserted; the audit record and
    // the visit's outcome that name it follow in the same job.
    flow.outcome = Some(Outcome {
        consent_id: 0,
        person_id: who.person_id,
        status: who.status,
        cross_device,
    });
    let visit = flow.clone();
    let (inst_id, person_id) = (inst.id, who.person_id);
    let then = Write::then(move |written| {
        let Some(record) = written.iter().find_map(|w| match w {
            Written::Consent(r) => Some(r),
            _ => None,
        }) else {
            return Vec::new();
        };
        let mut visit = visit.clone();
        if let Some(outcome) = visit.outcome.as_mut() {
            outcome.consent_id = record.id;
        }
        let mut writes = vec![Write::audit(
            &AuditEvent {
                actor: "patient",
                action: "consent.write",
                outcome: "ok",
                institution_id: Some(inst_id),
                person_id: Some(person_id),
                detail: json!({"consent": record.id, "action": record.action, "channel": record.channel, "cross_device": cross_device, "photo_id": photo_id.map(PhotoIdReason::as_str)}),
            },
            now,
        )];
        // Serialised here, in the writer's thread, because the consent's id is
        // known only now; a visit always serialises (strings, numbers, maps
        // keyed by strings), so a failure is only logged: the consent and its
        // audit record stand, and the patient is shown A-01 again.
        match visit.save_write() {
            Ok(save) => writes.push(save),
            Err(e) => tracing::error!(error = %e, "the visit could not be saved"),
        }
        writes
    });
    Ok((
        vec![consent, then],
        After::Redirect(format!("/w/{token}/done")),
    ))
}

// ---------------------------------------------------------------- completion

#[derive(Template)]
#[template(path = "flow/done.html")]
struct DonePage<'a> {
    institution_name: &'a str,
    subtitle: &'static str,
    screen_id: &'static str,
    kind: &'static str,
    rows: Vec<ChosenRow>,
    prescription: Option<&'static str>,
    valid_until: Option<String>,
    warning: Option<&'static str>,
    grace: bool,
    cross_device: bool,
    eligibility: Option<EligibilityView>,
    token: &'a str,
    /// Sent by an online-care partner: 「手続きを終了する」 goes back to it.
    partner: bool,
    /// The prescription form is registered here, and cancelled with the rest.
    ask_prescription: bool,
}

#[derive(Template)]
#[template(path = "flow/pending.html")]
struct PendingPage<'a> {
    institution_name: &'a str,
    subtitle: &'static str,
    token: &'a str,
    csrf: &'a str,
    /// Flow B's first authentication (to show the stored consent).
    viewing: bool,
    partner: bool,
}

pub async fn done_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (inst, flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let Some(outcome) = flow.outcome.clone() else {
        if let Some(pending) = &flow.auth {
            return pending_page(&inst, &flow, &token, pending.purpose);
        }
        return Ok(Redirect::to(&format!("/w/{token}")).into_response());
    };
    let kind = flow.kind.unwrap_or(FlowKind::Register);
    // Independent reads, side by side on two connections.
    let (record, e) = tokio::try_join!(
        state.store.latest_consent(inst.id, outcome.person_id),
        async {
            if kind == FlowKind::Register {
                state.store.eligibility(outcome.person_id).await
            } else {
                Ok(None)
            }
        }
    )?;
    let Some(record) = record else {
        return Ok(Redirect::to(&format!("/w/{token}")).into_response());
    };
    let (screen_id, kind_name) = match kind {
        FlowKind::Register => ("B-03", "register"),
        FlowKind::Update => ("C-09", "update"),
        FlowKind::Cancel => ("C-10", "cancel"),
    };
    let eligibility = if kind == FlowKind::Register {
        if e.is_some() {
            state
                .store
                .audit(
                    &audit_event(
                        "read.eligibility",
                        "ok",
                        &inst,
                        Some(outcome.person_id),
                        json!({"page": "completion"}),
                    ),
                    Utc::now(),
                )
                .await?;
        }
        e.map(|e| {
            eligibility_view::build(
                &e,
                &record.choices,
                inst.institution.offers(ConsentItem::LimitAmount),
                today(),
            )
        })
    } else {
        None
    };
    let page = DonePage {
        institution_name: &inst.institution.name,
        subtitle: care_subtitle(flow.care_kind),
        screen_id,
        kind: kind_name,
        rows: chosen_rows(&inst, &record.choices),
        prescription: record.prescription_form.map(PrescriptionForm::label),
        valid_until: record.valid_until.map(|u| {
            let last = (u - chrono::Duration::seconds(1))
                .with_timezone(&jst())
                .date_naive();
            zaitaku_domain::person::japanese_date(last)
        }),
        warning: outcome.status.warning_ja(),
        grace: matches!(outcome.status, CertificateStatus::Grace { .. }),
        cross_device: outcome.cross_device,
        eligibility,
        token: &token,
        partner: flow.partner_return.is_some(),
        ask_prescription: inst.institution.asks_prescription_form(),
    };
    Ok(Html(page.render()?).into_response())
}

/// 画面番号 E-04: the patient went to the authenticator and is back here
/// without its answer (closed it, or it never returned). Nothing was written.
fn pending_page(
    inst: &StoredInstitution,
    flow: &Flow,
    token: &str,
    purpose: Purpose,
) -> Result<Response, WebError> {
    let page = PendingPage {
        institution_name: &inst.institution.name,
        subtitle: care_subtitle(flow.care_kind),
        token,
        csrf: &flow.csrf,
        viewing: purpose == Purpose::View,
        partner: flow.partner_return.is_some(),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------- back to the partner

/// 「手続きを終了する」 / 「同意登録をせずに戻る」: back to the online-care
/// partner with a signed result (see [`crate::partner`]). Signed when pressed,
/// so that the partner's freshness check counts from the moment the patient
/// left, however long the completion screen stayed open.
pub async fn leave(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (inst, flow) = match context(&state, &token, &headers).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    // Checked again: the administrator may have removed the origin since
    // the visit began, or the visit began before origins were checked.
    let checked = match flow.partner_return.clone() {
        Some(url) => registered_return(&state, &inst, url, "leave").await?,
        None => None,
    };
    let Some(return_url) = checked.as_deref() else {
        return Ok(Redirect::to(&format!("/w/{token}")).into_response());
    };
    let action = match &flow.outcome {
        Some(outcome) => state
            .store
            .latest_consent(inst.id, outcome.person_id)
            .await?
            .filter(|r| r.id == outcome.consent_id)
            .map(|r| r.action),
        None => None,
    };
    let url = state.signer.url(&zaitaku_proto::partner::PartnerReturn {
        return_url,
        status: if action.is_some() {
            zaitaku_proto::partner::ReturnStatus::Completed
        } else {
            zaitaku_proto::partner::ReturnStatus::NotCompleted
        },
        action,
        institution_code: inst.institution.code.as_str(),
        consultation_date: flow.consultation_date,
        issued_at: Utc::now().timestamp(),
        state: flow.partner_state.as_deref(),
    });
    state
        .store
        .audit(
            &audit_event(
                "partner.return",
                if action.is_some() {
                    "completed"
                } else {
                    "not_completed"
                },
                &inst,
                flow.outcome.as_ref().map(|o| o.person_id),
                json!({"action": action}),
            ),
            Utc::now(),
        )
        .await?;
    Ok(Redirect::to(&url).into_response())
}
