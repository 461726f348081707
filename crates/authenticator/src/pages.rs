//! The authenticator's pages: authorize, choose a card, QR for another
//! device, unlock (PIN or biometrics), cancel.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use zaitaku_domain::display_form::DisplayForm;
use zaitaku_identity::{AttemptError, CardKind, CardSecret, WalletCard};
use zaitaku_storage::AuthRequest;

use crate::{AuthenticatorState, b64url};

/// How long a hand-off may take, as the nonce's lifetime.
const REQUEST_LIFETIME_MINUTES: i64 = 5;

#[derive(Template)]
#[template(path = "problem.html")]
struct Problem<'a> {
    title: &'a str,
    paragraphs: &'a [&'a str],
    code: &'a str,
    return_url: Option<String>,
}

fn problem(
    status: StatusCode,
    title: &str,
    paragraphs: &[&str],
    code: &str,
    return_url: Option<String>,
) -> Response {
    let page = Problem {
        title,
        paragraphs,
        code,
        return_url,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, format!("{title}（{code}）")).into_response(),
    }
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
    if q.code_challenge_method.as_deref() != Some("S256")
        || !token_like(&state, 16, 128)
        || !token_like(&challenge, 43, 43)
        || !token_like(&nonce, 43, 44)
        || !crate::callback_uri_ok(&redirect_uri, &st.origin)
    {
        return bad_request();
    }
    let mut id = [0u8; 32];
    if let Err(e) = getrandom_fill(&mut id) {
        return internal(e);
    }
    let now = Utc::now();
    let req = AuthRequest {
        id: b64url(&id),
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
        client_name: None,
        purpose: None,
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

/// An open request, or the page that says why it is not.
async fn open_request(st: &AuthenticatorState, id: &str) -> Result<AuthRequest, Response> {
    let req = match st.identity.store().auth_request(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(bad_request()),
        Err(e) => return Err(internal(e)),
    };
    if req.cancelled_at.is_some() || req.completed_at.is_some() || req.expires_at <= Utc::now() {
        let back = return_to(&req, &[("error", "expired"), ("state", &req.state)]);
        return Err(problem(
            StatusCode::GONE,
            "認証の有効期限が切れました",
            &[
                "認証は5分以内に完了する必要があります。",
                "マイナ在宅受付Webに戻り、もう一度やり直してください。",
            ],
            "Z-A-0002",
            Some(back),
        ));
    }
    Ok(req)
}

/// The PC (or tablet) form gets the QR option, as in the web service.
fn is_pc(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    !DisplayForm::of_user_agent(ua).is_phone()
}

#[derive(Template)]
#[template(path = "choose.html")]
struct Choose<'a> {
    request_id: &'a str,
    pc: bool,
    cards: Vec<WalletCard>,
}

#[derive(Deserialize)]
pub struct ChooseQuery {
    via: Option<String>,
}

/// Step 2: the wallet (and, on a PC, the QR option).
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
    let cards = match st.identity.wallet().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    render(&Choose {
        request_id: &req.id,
        pc: is_pc(&headers) && !via_qr,
        cards,
    })
}

#[derive(Template)]
#[template(path = "qr.html")]
struct Qr<'a> {
    request_id: &'a str,
    qr_svg: String,
}

/// PC side of the cross-device flow: shows the QR code and moves on by
/// itself once the phone has completed the request.
pub async fn qr(State(st): State<AuthenticatorState>, Path(id): Path<String>) -> Response {
    let req = match st.identity.store().auth_request(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return bad_request(),
        Err(e) => return internal(e),
    };
    if let (Some(code), None) = (&req.code, req.cancelled_at) {
        return Redirect::to(&return_to(&req, &[("code", code), ("state", &req.state)]))
            .into_response();
    }
    let req = match open_request(&st, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let link = format!("{}/auth/r/{}?via=qr", st.origin, req.id);
    let qr_svg = match QrCode::new(link.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
        Err(e) => return internal(e),
    };
    render(&Qr {
        request_id: &req.id,
        qr_svg,
    })
}

#[derive(Template)]
#[template(path = "pin.html")]
struct Pin<'a> {
    request_id: &'a str,
    card_id: i64,
    kind_label: &'a str,
    tries_left: u8,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "biometric.html")]
struct Biometric<'a> {
    request_id: &'a str,
    card_id: i64,
    kind_label: &'a str,
}

fn locked_page(req: &AuthRequest) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "暗証番号がロックされています",
        &[
            "暗証番号を3回連続して間違えたため、このカードの利用者証明用電子証明書はロックされています。",
            "ロックの解除と暗証番号の再設定は、住民票がある市区町村の窓口で行ってください。マイナンバーカードと本人確認書類をお持ちください。",
        ],
        "Z-A-0003",
        Some(return_to(
            req,
            &[("error", "locked"), ("state", &req.state)],
        )),
    )
}

fn revoked_page(req: &AuthRequest) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "このカードは利用できません",
        &[
            "このカードの電子証明書は失効しています。住民票がある市区町村の窓口にお問い合わせください。",
        ],
        "Z-A-0004",
        Some(return_to(
            req,
            &[("error", "revoked"), ("state", &req.state)],
        )),
    )
}

/// Step 3a: the PIN pad, or the biometric prompt for iPhone cards.
pub async fn unlock_page(
    State(st): State<AuthenticatorState>,
    Path((id, card_id)): Path<(String, i64)>,
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
        }),
        CardKind::Physical | CardKind::Android => render(&Pin {
            request_id: &req.id,
            card_id,
            kind_label: card.kind_label,
            tries_left: card.tries_left,
            error: None,
        }),
    }
}

#[derive(Deserialize)]
pub struct UnlockForm {
    pin: Option<String>,
    biometric: Option<String>,
}

#[derive(Template)]
#[template(path = "done.html")]
struct Done {
    return_url: Option<String>,
}

/// Step 3b: the card checks the PIN and signs; the request completes.
pub async fn unlock(
    State(st): State<AuthenticatorState>,
    Path((id, card_id)): Path<(String, i64)>,
    Form(form): Form<UnlockForm>,
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
            return render(&Pin {
                request_id: &req.id,
                card_id,
                kind_label: card.kind_label,
                tries_left: card.tries_left,
                error: Some("暗証番号は数字4桁で入力してください。"),
            });
        }
        Err(AttemptError::WrongPin { tries_left }) => {
            return render(&Pin {
                request_id: &req.id,
                card_id,
                kind_label: card.kind_label,
                tries_left,
                error: Some("暗証番号が違います。もう一度入力してください。"),
            });
        }
        Err(AttemptError::Locked | AttemptError::LockedNow) => return locked_page(&req),
        Err(AttemptError::Revoked) => return revoked_page(&req),
        Err(AttemptError::NoSuchCard) => return bad_request(),
        Err(AttemptError::Internal(e)) => return internal(e),
    };
    let mut code = [0u8; 32];
    if let Err(e) = getrandom_fill(&mut code) {
        return internal(e);
    }
    let code = b64url(&code);
    match st
        .identity
        .store()
        .complete_auth_request(&req.id, card_id, &code, &token, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return open_request(&st, &id)
                .await
                .err()
                .unwrap_or_else(bad_request);
        }
        Err(e) => return internal(e),
    }
    // On the patient's own phone (QR flow) the PC continues by itself.
    let return_url =
        (!req.cross_device).then(|| return_to(&req, &[("code", &code), ("state", &req.state)]));
    render(&Done { return_url })
}

/// 「やめる」: back to the service with `error=cancelled`.
pub async fn cancel(State(st): State<AuthenticatorState>, Path(id): Path<String>) -> Response {
    let req = match st.identity.store().auth_request(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return bad_request(),
        Err(e) => return internal(e),
    };
    if let Err(e) = st
        .identity
        .store()
        .cancel_auth_request(&id, Utc::now())
        .await
    {
        return internal(e);
    }
    Redirect::to(&return_to(
        &req,
        &[("error", "cancelled"), ("state", &req.state)],
    ))
    .into_response()
}
