//! The handlers of flows A, B and C.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{CareKind, Choice, ConsentItem, ConsentRequest, jst};
use zaitaku_domain::photo_id::photo_id_check;
use zaitaku_identity::CertificateStatus;
use zaitaku_storage::StoredInstitution;

use super::eligibility_view::{self, EligibilityView};
use super::session::{InVisit, cookie_header, load_visit, session_expired};
use crate::common::device::{display_form, is_institution_device};
use crate::common::error::WebError;
use crate::common::handoff::{Returned, Shown, authorize_url, returned};
use crate::common::refusal::Refusal;
use crate::pages::{open_institution, unavailable_url};
use crate::{AppState, today};
use zaitaku_service::consent;
use zaitaku_service::random_token;
use zaitaku_service::visit::{FlowKind, PendingAuth, Purpose, ShownConsent, Visit};

/// The visit's pages under its institution URL, in the order a patient
/// meets them.
#[derive(Clone, Copy)]
enum Page {
    Start,
    Choose,
    Confirm,
    /// Where the authenticator returns the visit; the code is bound to it.
    Callback,
    Done,
}

impl Page {
    fn path(self, token: &str) -> String {
        let step = match self {
            Self::Start => "",
            Self::Choose => "/choose",
            Self::Confirm => "/confirm",
            Self::Callback => "/callback",
            Self::Done => "/done",
        };
        format!("/w/{token}{step}")
    }

    fn redirect(self, token: &str) -> Response {
        Redirect::to(&self.path(token)).into_response()
    }
}

fn with_cookie(mut res: Response, visit: &Visit, state: &AppState) -> Result<Response, WebError> {
    res.headers_mut()
        .insert(header::SET_COOKIE, cookie_header(visit, state)?);
    Ok(res)
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
    let previous = load_visit(&state, &headers, inst.id).await?;
    let mut visit = Visit::new(inst.id, Utc::now())?;
    let from_partner =
        q.mode.is_some() || q.r#return.is_some() || q.date.is_some() || q.state.is_some();
    if from_partner {
        visit.care_kind = match q.mode.as_deref() {
            Some("online") => CareKind::Online,
            Some("outpatient") => CareKind::Outpatient,
            _ => CareKind::HomeVisit,
        };
        visit.partner_return = match q.r#return {
            Some(url) => registered_return(&state, &inst, url, "start").await?,
            None => None,
        };
        visit.consultation_date = q
            .date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        visit.partner_state = q.state.filter(|s| zaitaku_proto::partner::valid_state(s));
    } else if let Some(prev) = &previous {
        // 「最初の画面に戻る」 links carry no query: a patient sent by an
        // online-care partner must not lose the way back to it.
        visit.care_kind = prev.care_kind;
        visit.partner_return = prev.partner_return.clone();
        visit.consultation_date = prev.consultation_date;
        visit.partner_state = prev.partner_state.clone();
    }
    visit.save(&state.store, Utc::now()).await?;
    let page = StartPage {
        institution_name: &inst.institution.name,
        token: &token,
        csrf: &visit.csrf,
        subtitle: care_subtitle(visit.care_kind),
        unfinished: previous.is_some_and(|p| p.auth.is_some() && p.outcome.is_none()),
        partner: visit.partner_return.is_some(),
    };
    with_cookie(Html(page.render()?).into_response(), &visit, &state)
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
    Ok(zaitaku_service::partner::checked_return(&state.store, inst, url, step, Utc::now()).await?)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
    method: Option<String>,
}

/// 「同意登録をする」, 「同意照会・更新」, 「すべての同意を取消す」.
pub async fn flow_start(
    State(state): State<AppState>,
    Path((_, kind)): Path<(String, String)>,
    InVisit {
        token,
        inst,
        mut visit,
    }: InVisit,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return Ok(session_expired(&inst, &token));
    }
    let kind = match kind.as_str() {
        "register" => FlowKind::Register,
        "update" => FlowKind::Update,
        "cancel" => FlowKind::Cancel,
        _ => return Ok(unavailable_url()),
    };
    visit.choose_flow(&state.store, kind, Utc::now()).await?;
    let next = match kind {
        FlowKind::Register => Page::Choose.path(&token),
        // Nobody sees stored consent before authenticating.
        FlowKind::Update => {
            return begin_auth(
                &state,
                &inst,
                &headers,
                visit,
                Purpose::View,
                form.method.as_deref(),
            )
            .await;
        }
        FlowKind::Cancel => Page::Confirm.path(&token),
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
    visit: &'a Visit,
    token: &'a str,
    error: Option<String>,
) -> ChoosePage<'a> {
    let update = visit.kind == Some(FlowKind::Update);
    let refused = error.is_some();
    let ask_prescription = inst.institution.asks_prescription_form();
    ChoosePage {
        institution_name: &inst.institution.name,
        token,
        csrf: &visit.csrf,
        subtitle: care_subtitle(visit.care_kind),
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
                agree: visit.choices.get(i) == Some(&Choice::Agree),
                disagree: visit.choices.get(i) == Some(&Choice::Disagree),
                missing: refused && !visit.choices.contains_key(i),
            })
            .collect(),
        ask_prescription,
        prescription_missing: refused && ask_prescription && visit.prescription_form.is_none(),
        all_set: false,
        electronic: visit.prescription_form == Some(PrescriptionForm::Electronic),
        paper: visit.prescription_form == Some(PrescriptionForm::Paper),
        online: visit.care_kind == CareKind::Online,
        consultation_date: visit
            .consultation_date
            .unwrap_or_else(today)
            .format("%Y-%m-%d")
            .to_string(),
        min_date: today().format("%Y-%m-%d").to_string(),
        error,
        no_stored_consent: update && visit.choices.is_empty(),
    }
}

#[derive(Deserialize)]
pub struct ChooseQuery {
    all: Option<String>,
}

pub async fn choose_page(
    InVisit { token, inst, visit }: InVisit,
    Query(q): Query<ChooseQuery>,
) -> Result<Response, WebError> {
    match visit.kind {
        Some(FlowKind::Register) => {}
        Some(FlowKind::Update) if visit.identified_person.is_some() => {}
        _ => return Ok(Page::Start.redirect(&token)),
    }
    let mut page = choose_view(&inst, &visit, &token, None);
    page.all_set = q.all.is_some();
    Ok(Html(page.render()?).into_response())
}

/// Reads the B-01 / C-03 form; 「すべての項目に同意する」 sets every item and
/// shows the page again, so the patient still confirms the choice.
pub async fn choose_submit(
    State(state): State<AppState>,
    InVisit {
        token,
        inst,
        mut visit,
    }: InVisit,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    if !visit.csrf_ok(form.get("csrf").map(String::as_str)) {
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
    visit.choices = choices;
    visit.prescription_form = form
        .get("prescription_form")
        .and_then(|v| PrescriptionForm::parse(v).ok());
    if visit.care_kind == CareKind::Online {
        visit.consultation_date = form
            .get("consultation_date")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .or(visit.consultation_date);
    }
    visit.save(&state.store, Utc::now()).await?;
    if form.contains_key("all") {
        // Back to the same page at the same place, by GET, so that the back
        // button never offers to post again.
        return Ok(Redirect::to(&format!("/w/{token}/choose?all=1#all-status")).into_response());
    }
    if let Err(e) = request_of(&visit).validate(&inst.institution, visit.care_kind, Utc::now()) {
        let page = choose_view(&inst, &visit, &token, Some(e.to_string()));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    }
    Ok(Page::Confirm.redirect(&token))
}

fn request_of(visit: &Visit) -> ConsentRequest {
    ConsentRequest {
        choices: visit.choices.clone(),
        prescription_form: visit.prescription_form,
        consultation_date: visit.consultation_date,
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
    InVisit { token, inst, visit }: InVisit,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (screen_id, kind) = match visit.kind {
        Some(FlowKind::Register) => ("B-02", "register"),
        Some(FlowKind::Update) => ("C-07", "update"),
        Some(FlowKind::Cancel) => ("C-02", "cancel"),
        None => return Ok(Page::Start.redirect(&token)),
    };
    if kind != "cancel"
        && request_of(&visit)
            .validate(&inst.institution, visit.care_kind, Utc::now())
            .is_err()
    {
        return Ok(Page::Choose.redirect(&token));
    }
    let page = ConfirmPage {
        institution_name: &inst.institution.name,
        token: &token,
        csrf: &visit.csrf,
        subtitle: care_subtitle(visit.care_kind),
        screen_id,
        kind,
        rows: chosen_rows(&inst, &visit.choices),
        prescription: visit.prescription_form.map(PrescriptionForm::label),
        consultation_date: (visit.care_kind == CareKind::Online).then(|| {
            zaitaku_domain::person::japanese_date(visit.consultation_date.unwrap_or_else(today))
        }),
        phone: display_form(&headers).is_phone(),
        card_reader: display_form(&headers).card_reader(),
        ask_prescription: inst.institution.asks_prescription_form(),
        pending: visit.auth.is_some(),
        unchanged: kind == "update"
            && visit.shown.as_ref()
                == Some(&ShownConsent {
                    choices: visit.choices.clone(),
                    prescription_form: visit.prescription_form,
                }),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------- authentication

/// 「同意内容を登録する」 and the like: hands the patient to the authenticator.
pub async fn auth(
    State(state): State<AppState>,
    InVisit { token, inst, visit }: InVisit,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return Ok(session_expired(&inst, &token));
    }
    if visit.kind.is_none() {
        return Ok(Page::Start.redirect(&token));
    }
    if visit.kind != Some(FlowKind::Cancel)
        && request_of(&visit)
            .validate(&inst.institution, visit.care_kind, Utc::now())
            .is_err()
    {
        return Ok(Page::Choose.redirect(&token));
    }
    begin_auth(
        &state,
        &inst,
        &headers,
        visit,
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
    mut visit: Visit,
    purpose: Purpose,
    method: Option<&str>,
) -> Result<Response, WebError> {
    let token = inst.url_token.as_str();
    let now = Utc::now();
    let verifier = random_token()?;
    let oauth_state = random_token()?;
    let nonce = state
        .identity
        .new_nonce(&visit.sid, now)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let url = authorize_url(
        &oauth_state,
        &verifier,
        &nonce,
        &Page::Callback.path(token),
        method == Some("qr"),
        &Shown {
            client_name: Some(&inst.institution.name),
            purpose: shown_purpose(visit.kind, purpose),
        },
    );
    visit.auth = Some(PendingAuth {
        state: oauth_state,
        verifier,
        nonce,
        purpose,
    });
    visit.save(&state.store, Utc::now()).await?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// A refusal within the visit: the institution, 訪問診療等 or オンライン診療等,
/// and for a patient an online-care partner sent, the way back to it.
fn refusal_page(
    token: &str,
    refusal: &Refusal,
    inst: Option<&StoredInstitution>,
    visit: Option<&Visit>,
) -> Response {
    let message = refusal.message();
    let page = FlowError {
        token,
        title: refusal.title(),
        message: &message,
        code: refusal.code(),
        institution_name: inst.map(|i| i.institution.name.as_str()),
        subtitle: visit.map(|f| care_subtitle(f.care_kind)),
        partner: visit.is_some_and(|f| f.partner_return.is_some()),
    };
    match page.render() {
        Ok(html) => (StatusCode::FORBIDDEN, Html(html)).into_response(),
        Err(_) => refusal.plain_page(StatusCode::FORBIDDEN),
    }
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

/// 訪問診療等 / オンライン診療等 for a page outside the visit (the FAQ), from
/// the visit in progress if there is one.
pub(crate) async fn visit_subtitle(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
) -> Result<&'static str, WebError> {
    let kind = load_visit(state, headers, institution_id)
        .await?
        .map_or(CareKind::HomeVisit, |f| f.care_kind);
    Ok(care_subtitle(kind))
}

/// Back from the authenticator: the only place where stored consent is read
/// and where anything is written (`zaitaku_service::consent`, in one job of
/// the group-commit writer). The code and the nonce are single use, so a
/// reload or a second submit of this URL is refused (at the code, or at the
/// nonce when both ran at once) and never registers twice; a reload after
/// success goes to the completion page.
pub async fn callback(
    State(state): State<AppState>,
    InVisit {
        token,
        inst,
        mut visit,
    }: InVisit,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    // A refusal (保険証未登録, a locked card …) is shown within the visit —
    // the institution, 訪問診療等 or オンライン診療等 — and a patient an
    // online-care partner sent gets the way back to it on that very page, so
    // that the partner learns of it and can offer its own fallback (seed 003:
    // uploading an image of the insurance card).
    let refused =
        |visit: &Visit, why: Refusal| refusal_page(&token, &why, Some(&inst), Some(visit));
    // A reload of this page after success shows the result again.
    if visit.outcome.is_some() && visit.auth.is_none() {
        return Ok(Page::Done.redirect(&token));
    }
    // Back to an authenticator page of a hand-off this visit has already
    // used (flow B once the stored consent was shown, a login that was
    // refused): say so, rather than start over without a word or blame the
    // patient's handling as a mismatched state would.
    let pending_state = visit.auth.as_ref().map(|p| p.state.as_str());
    if q.error.as_deref() == Some("used") && pending_state != q.state.as_deref() {
        return Ok(refused(&visit, Refusal::HandoffUsed));
    }
    let Some(pending) = visit.auth.clone() else {
        return Ok(Page::Start.redirect(&token));
    };
    if q.state.as_deref() != Some(pending.state.as_str()) {
        return Ok(refused(&visit, Refusal::OtherState));
    }
    let callback = Page::Callback.path(&token);
    let back = returned(
        &state,
        q.error.as_deref(),
        q.code.as_deref(),
        &pending.verifier,
        &callback,
    );
    let Returned {
        token: signed,
        cross_device,
        redeem,
    } = match back.await? {
        Ok(r) => r,
        Err(why) => return Ok(refused(&visit, why)),
    };
    let now = Utc::now();
    let login = state
        .identity
        .check_login(&signed, &state.origin(), &pending.nonce, &visit.sid, now)
        .await;
    let photo_id = match login.identified() {
        Some(_) => {
            let on_device = is_institution_device(&state, &headers, inst.id, now).await?;
            photo_id_check(visit.care_kind, cross_device, on_device)
        }
        None => None,
    };
    let returned = consent::Authenticated {
        login,
        redeem,
        purpose: pending.purpose,
        cross_device,
        photo_id,
    };
    let next = consent::after_login(
        &state.store,
        &state.identity,
        &inst,
        &mut visit,
        returned,
        now,
    )
    .await?;
    Ok(match next {
        Err(e) => refused(&visit, Refusal::Login(e)),
        Ok(consent::Next::Start) => Page::Start.redirect(&token),
        Ok(consent::Next::Choose) => Page::Choose.redirect(&token),
        Ok(consent::Next::Done) => Page::Done.redirect(&token),
        Ok(consent::Next::Refused(why)) => refused(&visit, Refusal::Consent(why)),
    })
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
    InVisit { token, inst, visit }: InVisit,
) -> Result<Response, WebError> {
    let Some(outcome) = visit.outcome.clone() else {
        if let Some(pending) = &visit.auth {
            return pending_page(&inst, &visit, &token, pending.purpose);
        }
        return Ok(Page::Start.redirect(&token));
    };
    let kind = visit.kind.unwrap_or(FlowKind::Register);
    let Some(written) =
        consent::completion(&state.store, inst.id, kind, &outcome, Utc::now()).await?
    else {
        return Ok(Page::Start.redirect(&token));
    };
    let record = written.record;
    let (screen_id, kind_name) = match kind {
        FlowKind::Register => ("B-03", "register"),
        FlowKind::Update => ("C-09", "update"),
        FlowKind::Cancel => ("C-10", "cancel"),
    };
    let eligibility = if kind == FlowKind::Register {
        written.eligibility.map(|e| {
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
        subtitle: care_subtitle(visit.care_kind),
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
        partner: visit.partner_return.is_some(),
        ask_prescription: inst.institution.asks_prescription_form(),
    };
    Ok(Html(page.render()?).into_response())
}

/// 画面番号 E-04: the patient went to the authenticator and is back here
/// without its answer (closed it, or it never returned). Nothing was written.
fn pending_page(
    inst: &StoredInstitution,
    visit: &Visit,
    token: &str,
    purpose: Purpose,
) -> Result<Response, WebError> {
    let page = PendingPage {
        institution_name: &inst.institution.name,
        subtitle: care_subtitle(visit.care_kind),
        token,
        csrf: &visit.csrf,
        viewing: purpose == Purpose::View,
        partner: visit.partner_return.is_some(),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------- back to the partner

/// 「手続きを終了する」 / 「同意登録をせずに戻る」: back to the online-care
/// partner with a signed result (see [`zaitaku_proto::partner`]). Signed when pressed,
/// so that the partner's freshness check counts from the moment the patient
/// left, however long the completion screen stayed open.
pub async fn leave(
    State(state): State<AppState>,
    InVisit { token, inst, visit }: InVisit,
) -> Result<Response, WebError> {
    // Checked again: the administrator may have removed the origin since
    // the visit began.
    let checked = match visit.partner_return.clone() {
        Some(url) => registered_return(&state, &inst, url, "leave").await?,
        None => None,
    };
    let Some(return_url) = checked.as_deref() else {
        return Ok(Page::Start.redirect(&token));
    };
    let action = zaitaku_service::partner::leave(&state.store, &inst, &visit, Utc::now()).await?;
    let url = state.signer.url(&zaitaku_proto::partner::PartnerReturn {
        return_url,
        status: if action.is_some() {
            zaitaku_proto::partner::ReturnStatus::Completed
        } else {
            zaitaku_proto::partner::ReturnStatus::NotCompleted
        },
        action,
        institution_code: inst.institution.code.as_str(),
        consultation_date: visit.consultation_date,
        issued_at: Utc::now().timestamp(),
        state: visit.partner_state.as_deref(),
    });
    Ok(Redirect::to(&url).into_response())
}
