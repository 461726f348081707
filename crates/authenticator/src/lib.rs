//! The authenticator: a separate component the web service hands the patient
//! to, behind a narrow contract modelled on the OIDC authorization-code flow
//! with PKCE (see `docs/auth-handoff.md`), so that the real デジタル認証アプリ /
//! JPKI platform could take its place.
//!
//! 1. The service redirects to `/auth/authorize` with `state`,
//!    `code_challenge` (S256, [`zaitaku_proto::pkce`]), `nonce` and
//!    `redirect_uri`.
//! 2. The patient chooses a card and unlocks it (PIN or biometrics); the card
//!    signs SHA-256(origin) ‖ SHA-256(nonce).
//! 3. The browser returns to `redirect_uri?code=…&state=…` from the success
//!    page (on a PC that showed a QR code, from the QR page once the phone
//!    is done).
//! 4. The service fetches the token over the back channel, `POST /auth/token`
//!    with `code`, `code_verifier` and the same `redirect_uri`, and verifies
//!    it itself.

mod hints;
mod pages;
mod token_endpoint;

pub use hints::{CLIENT_NAME_MAX_CHARS, Purpose, client_name_ok};
pub use token_endpoint::{Claimed, claim, exchange};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use zaitaku_identity::Identity;

/// What the authenticator needs: the card services and its public origin.
#[derive(Clone)]
pub struct AuthenticatorState {
    pub identity: Identity,
    /// e.g. `http://127.0.0.1:8080`; the origin cards sign and the only
    /// origin `redirect_uri` may point to.
    pub origin: String,
}

pub fn router(state: AuthenticatorState) -> Router {
    Router::new()
        .route("/auth/authorize", get(pages::authorize))
        .route("/auth/r/{id}", get(pages::choose))
        .route("/auth/r/{id}/qr", get(pages::qr))
        .route("/auth/r/{id}/status", get(pages::status))
        .route("/auth/r/{id}/done", get(pages::done))
        .route(
            "/auth/r/{id}/card/{card}",
            get(pages::unlock_page).post(pages::unlock),
        )
        .route("/auth/r/{id}/cancel", post(pages::cancel))
        .route("/auth/token", post(token_endpoint::token))
        .route("/auth/static/handoff.js", get(handoff_script))
        .route("/auth/static/keypad.js", get(keypad_script))
        .route("/auth/static/auth.css", get(stylesheet))
        .with_state(state)
}

/// The QR page's polling and countdown and the success page's return, the
/// PIN pad, and the look: the authenticator's own files, so that it stays a
/// component apart from the web service. Its stylesheet starts from the
/// palette and type it shares with the web service (`assets/base.css`), so
/// that a patient passing between the two sees one calm design.
const HANDOFF_JS: &str = include_str!("../static/handoff.js");
const KEYPAD_JS: &str = include_str!("../static/keypad.js");
const AUTH_CSS: &str = concat!(
    include_str!("../../../assets/base.css"),
    include_str!("../static/auth.css")
);

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

async fn handoff_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", HANDOFF_JS)
}

async fn keypad_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", KEYPAD_JS)
}

async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", AUTH_CSS)
}

/// Whether `uri` may receive a code: one of the service's own callback
/// pages, `/…/callback` on this origin, written plainly. Browsers resolve
/// `/\host`, `/<TAB>/host` and the like to another site, so anything beyond
/// unreserved characters and single slashes is refused rather than
/// interpreted (docs/auth-handoff.md §1).
pub fn callback_uri_ok(uri: &str, origin: &str) -> bool {
    let path = uri
        .strip_prefix(origin)
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(uri);
    uri.len() <= 512
        && path.starts_with('/')
        && path.ends_with("/callback")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
        && path[1..]
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}
