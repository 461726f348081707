//! The authenticator's pages: authorize, choose a card, QR for another
//! device (and the status it polls), unlock (PIN or biometrics), success,
//! cancel. Every POST answers with a redirect, so that the browser's Back
//! and reload never send a PIN again.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::{Deserialize, Serialize};
use zaitaku_domain::display_form::DisplayForm;
use zaitaku_identity::{AttemptError, CardKind, CardSecret, WalletCard};
use zaitaku_proto::{base64url, pkce};
use zaitaku_storage::AuthRequest;

use crate::AuthenticatorState;
use crate::hints::{Purpose, client_name_ok};

/// How long a hand-off may take, as the nonce's lifetime.
const REQUEST_LIFETIME_MINUTES: i64 = 5;

#[derive(Template)]
#[template(path = "problem.html")]
struct Problem<'a> {
    title: &'a str,
    paragraphs: &'a [&'a str],
    code: &'a str,
    return_url: Option<String>,
    subject: Subject,
    /// Nothing went wrong (the authentication is done and used): not shown
    /// in the colours of an error, which would alarm a patient whose
    /// registration succeeded.
    calm: bool,
}

fn problem(
    status: StatusCode,
    title: &str,
    paragraphs: &[&str],
    code: &str,
    return_url: Option<String>,
) -> Response {
    show_problem(
        status,
        &Problem {
            title,
            paragraphs,
            code,
            return_url,
            subject: Subject::none(),
            calm: false,
        },
    )
}

fn show_problem(status: StatusCode, page: &Problem<'_>) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, format!("{}（{}）", page.title, page.code)).into_response(),
    }
}

/// A page about hand-off `req`, under its institution and action.
fn problem_about(
    req: &AuthRequest,
    status: StatusCode,
    title: &str,
    paragraphs: &[&str],
    code: &str,
    error: &str,
) -> Response {
    show_problem(
        status,
        &Problem {
            title,
            paragraphs,
            code,
            return_url: Some(return_to(req, &[("error", error), ("state", &req.state)])),
            subject: Subject::of(req),
            calm: error == "used",
        },
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "authenticator failure");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "ただいま認証できません",
        &["しばらくしてからもう一度お試しください。"],
        "Z-A-0009",
        None,
    )
}

fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(e),
    }
}

/// `redirect_uri` with the given query pairs appended.
fn return_to(req: &AuthRequest, pairs: &[(&str, &str)]) -> String {
    let sep = if req.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}{sep}{}", req.redirect_uri, query.join("&"))
}

/// Characters allowed in `state`, `code_challenge` and `nonce` (base64url,
/// plus the standard alphabet for the nonce).
fn token_like(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'='))
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    redirect_uri: Option<String>,
    /// `qr`: a PC asks to go straight to the QR code for a phone.
    prompt: Option<String>,
    /// Display hint: the institution's name.
    client_name: Option<String>,
    /// Display hint: what the authentication is for (see [`Purpose`]).
    purpose: Option<String>,
}

fn bad_request() -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "認証の要求が正しくありません",
        &["マイナ在宅受付Webの最初の画面から、もう一度やり直してください。"],
        "Z-A-0001",
        None,
    )
}

/// Step 1: validates the service's request and opens a hand-off.
pub async fn authorize(
    State(st): State<AuthenticatorState>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let (Some(state), Some(challenge), Some(nonce), Some(redirect_uri)) =
        (q.state, q.code_challenge, q.nonce, q.redirect_uri)
    else {
        return bad_request();
    };
    // A hint is optional, but one that is sent must be right: a service that
    // sends a wrong one has a bug worth seeing, not a page that hides it.
    let purpose = match q.purpose.as_deref().map(Purpose::parse) {
        None => None,
        Some(Some(p)) => Some(p),
        Some(None) => return bad_request(),
    };
    if q.code_challenge_method.as_deref() != Some(pkce::METHOD)
        || !token_like(&state, 16, 128)
        || !token_like(&challenge, 43, 43)
        || !token_like(&nonce, 43, 44)
        || !crate::callback_uri_ok(&redirect_uri, &st.origin)
        || q.client_name.as_deref().is_some_and(|n| !client_name_ok(n))
    {
        return bad_request();
    }
    let mut id = [0u8; 32];
    if let Err(e) = getrandom_fill(&mut id) {
        return internal(e);
    }
    let now = Utc::now();
    let req = AuthRequest {
        id: base64url::encode(&id),
        state,
        code_challenge: challenge,
        nonce,
        origin: st.origin.clone(),
        redirect_uri,
        created_at: now,
        expires_at: now + Duration::minutes(REQUEST_LIFETIME_MINUTES),
        card_id: None,
        code: None,
        token: None,
        completed_at: None,
        redeemed_at: None,
        cancelled_at: None,
        cross_device: false,
        client_name: q.client_name,
        purpose: purpose.map(|p| p.as_str().to_owned()),
    };
    if let Err(e) = st.identity.store().insert_auth_request(&req).await {
        return internal(e);
    }
    let next = if q.prompt.as_deref() == Some("qr") {
        format!("/auth/r/{}/qr", req.id)
    } else {
        format!("/auth/r/{}", req.id)
    };
    Redirect::to(&next).into_response()
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), String> {
    zaitaku_identity::random_bytes(buf).map_err(|e| e.to_string())
}

/// Where a hand-off stands, as its pages need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for a card.
    Open,
    /// The card signed; the code waits for the service.
    Completed,
    /// The service has redeemed the code.
    Used,
    /// 「やめる」 was pressed.
    Cancelled,
    /// Five minutes passed before the service redeemed anything.
    Expired,
}

fn stage(req: &AuthRequest, now: DateTime<Utc>) -> Stage {
    if req.cancelled_at.is_some() {
        Stage::Cancelled
    } else if req.redeemed_at.is_some() {
        // Back from the service's completion page minutes later is still a
        // used hand-off, not an expired one.
        Stage::Used
    } else if req.expires_at <= now {
        Stage::Expired
    } else if req.completed_at.is_some() {
        Stage::Completed
    } else {
        Stage::Open
    }
}

async fn load(st: &AuthenticatorState, id: &str) -> Result<AuthRequest, Response> {
    match st.identity.store().auth_request(id).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(bad_request()),
        Err(e) => Err(internal(e)),
    }
}

/// The page for a hand-off that can no longer take a card.
fn closed_page(req: &AuthRequest, stage: Stage) -> Response {
    match stage {
        Stage::Completed | Stage::Used => used_page(req),
        Stage::Cancelled => problem_about(
            req,
            StatusCode::GONE,
            "この認証は中止されました",
            &[
                "「やめる」が押されたため、この認証は終わっています。",
                "マイナ在宅受付Webに戻り、必要なときは最初からやり直してください。",
            ],
            "Z-A-0002",
            "cancelled",
        ),
        Stage::Expired | Stage::Open => problem_about(
            req,
            StatusCode::GONE,
            "認証の有効期限が切れました",
            &[
                "認証は5分以内に完了する必要があります。",
                "マイナ在宅受付Webに戻り、もう一度やり直してください。",
            ],
            "Z-A-0002",
            "expired",
        ),
    }
}

/// Back or reload after the card signed: the authentication is done and
/// cannot be used again, which is not the same as having run out of time.
fn used_page(req: &AuthRequest) -> Response {
    let mut paragraphs = vec![
        "この本人認証はすでに完了しています。同じ認証をもう一度使うことはできません。",
        "マイナ在宅受付Webに戻って続けてください。もう一度認証が必要なときは、マイナ在宅受付Webの画面からやり直してください。",
    ];
    if req.cross_device {
        paragraphs
            .push("二次元コードを読み取ったスマートフォンでは、この画面を閉じてかまいません。");
    }
    problem_about(
        req,
        StatusCode::GONE,
        "この認証は使用済みです",
        &paragraphs,
        "Z-A-0005",
        "used",
    )
}

/// An open request, or the page that says why it is not.
async fn open_request(st: &AuthenticatorState, id: &str) -> Result<AuthRequest, Response> {
    let req = load(st, id).await?;
    match stage(&req, Utc::now()) {
        Stage::Open => Ok(req),
        closed => Err(closed_page(&req, closed)),
    }
}

/// The institution and the action, from the request's display hints, shown
/// at the top of every step.
struct Subject {
    institution: Option<String>,
    lead: Option<&'static str>,
}

impl Subject {
    fn of(req: &AuthRequest) -> Self {
        Self {
            institution: req.client_name.clone(),
            lead: purpose_of(req).map(Purpose::lead),
        }
    }

    fn none() -> Self {
        Self {
            institution: None,
            lead: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.institution.is_none() && self.lead.is_none()
    }
}

fn purpose_of(req: &AuthRequest) -> Option<Purpose> {
    req.purpose.as_deref().and_then(Purpose::parse)
}

/// The display form of the browser (seed 000's 参考 table), read as the web
/// service reads it: a PC or tablet gets the QR option, only a PC's OS the
/// IC card reader.
fn display_form(headers: &HeaderMap) -> DisplayForm {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    DisplayForm::of_user_agent(ua)
}

#[derive(Template)]
#[template(path = "choose.html")]
struct Choose<'a> {
    request_id: &'a str,
    /// A PC or tablet: the QR code for the patient's phone.
    pc: bool,
    /// A PC's OS: the IC card reader too, listing the physical cards.
    reader: bool,
    /// マイナ資格確認アプリ: the staff's device is the reader.
    staff_device: bool,
    cards: Vec<WalletCard>,
    subject: Subject,
}

#[derive(Deserialize)]
pub struct ChooseQuery {
    via: Option<String>,
}

/// Step 2: the wallet (and, on a PC or tablet, the QR option). A PC reads
/// only a physical card, through its IC card reader; a tablet has no reader
/// (seed 000 参考, seed 002 「iPadは未対応」) and offers the QR code alone; a
/// smartphone's certificate is used on the phone itself, reached directly or
/// through the QR code. マイナ資格確認アプリ's check reads every kind of card
/// on the staff's own device, whatever it is (seed 001: the card, the iPhone
/// or the Android is held to the device's reader).
pub async fn choose(
    State(st): State<AuthenticatorState>,
    Path(id): Path<String>,
    Query(q): Query<ChooseQuery>,
    headers: HeaderMap,
) -> Response {
    let req = match open_request(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let via_qr = q.via.as_deref() == Some("qr");
    if via_qr && let Err(e) = st.identity.store().mark_cross_device(&req.id).await {
        return internal(e);
    }
    let mut cards = match st.identity.wallet().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let form = display_form(&headers);
    let staff_device = purpose_of(&req) == Some(Purpose::Check);
    let pc = !form.is_phone() && !via_qr && !staff_device;
    let reader = form.card_reader() && !via_qr && !staff_device;
    if pc {
        cards.retain(|c| reader && c.kind == CardKind::Physical);
    }
    render(&Choose {
        request_id: &req.id,
        pc,
        reader,
        staff_device,
        cards,
        subject: Subject::of(&req),
    })
}

#[derive(Template)]
#[template(path = "qr.html")]
struct Qr<'a> {
    request_id: &'a str,
    qr_svg: String,
    subject: Subject,
    /// Seconds left when the page was made; the script counts down from it.
    seconds_left: i64,
}

impl Qr<'_> {
    /// `m:ss`, as the script writes it too.
    fn time_left(&self) -> String {
        format!("{}:{:02}", self.seconds_left / 60, self.seconds_left % 60)
    }
}

/// PC side of the cross-device flow: shows the QR code while the phone
/// works; once the phone is done, the same address returns to the service
/// (the page's script polls [`status`] and comes back here, and without
/// the script the 「認証が終わったらこちら」 link does).
pub async fn qr(State(st): State<AuthenticatorState>, Path(id): Path<String>) -> Response {
    let req = match load(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let now = Utc::now();
    match (stage(&req, now), &req.code) {
        (Stage::Open, _) => {}
        (Stage::Completed, Some(code)) => {
            return Redirect::to(&return_to(&req, &[("code", code), ("state", &req.state)]))
                .into_response();
        }
        (closed, _) => return closed_page(&req, closed),
    }
    let link = format!("{}/auth/r/{}?via=qr", st.origin, req.id);
    let qr_svg = match QrCode::new(link.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(e) => return internal(e),
    };
    render(&Qr {
        request_id: &req.id,
        qr_svg,
        subject: Subject::of(&req),
        seconds_left: (req.expires_at - now).num_seconds().max(0),
    })
}

/// What the QR page's script learns from [`status`].
#[derive(Serialize)]
struct Status {
    /// `waiting`, `done`, `expired` or `cancelled`.
    state: &'static str,
    /// Where the PC goes now: the QR page's own address, which redirects
    /// back to the service with the code (so the code never travels in
    /// this JSON) or explains why it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// `GET /auth/r/{id}/status`: whether the phone has finished.
pub async fn status(State(st): State<AuthenticatorState>, Path(id): Path<String>) -> Response {
    let req = match st.identity.store().auth_request(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "authenticator status failure");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let state = match stage(&req, Utc::now()) {
        Stage::Open => "waiting",
        Stage::Completed | Stage::Used => "done",
        Stage::Cancelled => "cancelled",
        Stage::Expired => "expired",
    };
    let next = (state != "waiting").then(|| format!("/auth/r/{}/qr", req.id));
    axum::Json(Status { state, next }).into_response()
}

#[derive(Template)]
#[template(path = "pin.html")]
struct Pin<'a> {
    request_id: &'a str,
    card_id: i64,
    kind_label: &'a str,
    tries_left: u8,
    error: Option<&'a str>,
    subject: Subject,
}

#[derive(Template)]
#[template(path = "biometric.html")]
struct Biometric<'a> {
    request_id: &'a str,
    card_id: i64,
    kind_label: &'a str,
    subject: Subject,
}

fn locked_page(req: &AuthRequest) -> Response {
    problem_about(
        req,
        StatusCode::FORBIDDEN,
        "暗証番号がロックされています",
        &[
            "暗証番号を3回連続して間違えたため、このカードの利用者証明用電子証明書はロックされています。",
            "ロックの解除と暗証番号の再設定は、住民票がある市区町村の窓口で行ってください。マイナンバーカードと本人確認書類をお持ちください。",
        ],
        "Z-A-0003",
        "locked",
    )
}

fn revoked_page(req: &AuthRequest) -> Response {
    problem_about(
        req,
        StatusCode::FORBIDDEN,
        "このカードは利用できません",
        &[
            "このカードの電子証明書は失効しています。住民票がある市区町村の窓口にお問い合わせください。",
        ],
        "Z-A-0004",
        "revoked",
    )
}

/// Why the PIN page is shown again, carried through the redirect after the
/// POST (the tries left are read from the card each time).
#[derive(Deserialize)]
pub struct PinQuery {
    error: Option<String>,
}

const WRONG_PIN: &str = "wrong_pin";
const PIN_FORMAT: &str = "pin_format";

fn pin_message(error: Option<&str>) -> Option<&'static str> {
    match error {
        Some(WRONG_PIN) => Some("暗証番号が違います。もう一度入力してください。"),
        Some(PIN_FORMAT) => Some("暗証番号は数字4桁で入力してください。"),
        _ => None,
    }
}

fn card_path(req: &AuthRequest, card_id: i64) -> String {
    format!("/auth/r/{}/card/{card_id}", req.id)
}

/// Step 3a: the PIN pad, or the biometric prompt for iPhone cards.
pub async fn unlock_page(
    State(st): State<AuthenticatorState>,
    Path((id, card_id)): Path<(String, i64)>,
    Query(q): Query<PinQuery>,
) -> Response {
    let req = match open_request(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let card = match st.identity.wallet_card(card_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return bad_request(),
        Err(e) => return internal(e),
    };
    if card.revoked {
        return revoked_page(&req);
    }
    if card.locked {
        return locked_page(&req);
    }
    match card.kind {
        CardKind::IPhone => render(&Biometric {
            request_id: &req.id,
            card_id,
            kind_label: card.kind_label,
            subject: Subject::of(&req),
        }),
        CardKind::Physical | CardKind::Android => render(&Pin {
            request_id: &req.id,
            card_id,
            kind_label: card.kind_label,
            tries_left: card.tries_left,
            error: pin_message(q.error.as_deref()),
            subject: Subject::of(&req),
        }),
    }
}

#[derive(Deserialize)]
pub struct UnlockForm {
    pin: Option<String>,
    biometric: Option<String>,
}

/// Step 3b: the card checks the PIN and signs; the request completes. Every
/// answer is a redirect to a page of its own: the PIN page with why it is
/// shown again, the card's lock or revocation (the PIN page shows those
/// too), or the success page.
pub async fn unlock(
    State(st): State<AuthenticatorState>,
    Path((id, card_id)): Path<(String, i64)>,
    Form(form): Form<UnlockForm>,
) -> Response {
    let req = match load(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let again = card_path(&req, card_id);
    if stage(&req, Utc::now()) != Stage::Open {
        // A second submit or a resubmission: the PIN page says why not.
        return Redirect::to(&again).into_response();
    }
    let card = match st.identity.wallet_card(card_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return bad_request(),
        Err(e) => return internal(e),
    };
    let secret = match (card.kind, form.pin, form.biometric) {
        (CardKind::IPhone, _, Some(_)) => CardSecret::Biometric,
        (CardKind::Physical | CardKind::Android, Some(pin), _) => CardSecret::Pin(pin),
        _ => return bad_request(),
    };
    let now = Utc::now();
    let token = match st
        .identity
        .sign_in_card(card_id, &secret, &req.origin, &req.nonce, now)
        .await
    {
        Ok(t) => t,
        Err(AttemptError::PinFormat) => {
            return Redirect::to(&format!("{again}?error={PIN_FORMAT}")).into_response();
        }
        Err(AttemptError::WrongPin { .. }) => {
            return Redirect::to(&format!("{again}?error={WRONG_PIN}")).into_response();
        }
        Err(AttemptError::Locked | AttemptError::LockedNow | AttemptError::Revoked) => {
            return Redirect::to(&again).into_response();
        }
        Err(AttemptError::NoSuchCard) => return bad_request(),
        Err(AttemptError::Internal(e)) => return internal(e),
    };
    let mut code = [0u8; 32];
    if let Err(e) = getrandom_fill(&mut code) {
        return internal(e);
    }
    let code = base64url::encode(&code);
    match st
        .identity
        .store()
        .complete_auth_request(&req.id, card_id, &code, &token, now)
        .await
    {
        // Refused: it closed meanwhile (a second tab, the last second of
        // the five minutes); the PIN page says which.
        Ok(true) => Redirect::to(&format!("/auth/r/{}/done", req.id)).into_response(),
        Ok(false) => Redirect::to(&again).into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "done.html")]
struct Done {
    /// Back to the service with the code; none on the phone that read the
    /// QR code, where the PC continues by itself.
    return_url: Option<String>,
    subject: Subject,
    /// 同意登録 … : what the patient must still complete at the service.
    unfinished: Option<&'static str>,
}

/// Step 4, the success page: back to the service after a moment (the
/// script, or the link), or on the phone that read the QR code, back to
/// the PC. Once the service has the code, this page too says it is used.
pub async fn done(State(st): State<AuthenticatorState>, Path(id): Path<String>) -> Response {
    let req = match load(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    match (stage(&req, Utc::now()), &req.code) {
        (Stage::Open, _) => Redirect::to(&format!("/auth/r/{}", req.id)).into_response(),
        (Stage::Completed, Some(code)) => {
            let return_url = (!req.cross_device)
                .then(|| return_to(&req, &[("code", code), ("state", &req.state)]));
            let unfinished = match purpose_of(&req) {
                Some(p) => p.unfinished(),
                None => Some("手続き"),
            };
            render(&Done {
                return_url,
                subject: Subject::of(&req),
                unfinished,
            })
        }
        (closed, _) => closed_page(&req, closed),
    }
}

/// 「やめる」: back to the service with `error=cancelled`.
pub async fn cancel(State(st): State<AuthenticatorState>, Path(id): Path<String>) -> Response {
    let req = match load(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let cancelled = match st
        .identity
        .store()
        .cancel_auth_request(&id, Utc::now())
        .await
    {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    if !cancelled && req.cancelled_at.is_none() {
        // Finished or expired meanwhile (a stale page): its own page says so.
        return Redirect::to(&format!("/auth/r/{}", req.id)).into_response();
    }
    Redirect::to(&return_to(
        &req,
        &[("error", "cancelled"), ("state", &req.state)],
    ))
    .into_response()
}
