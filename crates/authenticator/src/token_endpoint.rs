//! The back channel: the service exchanges the one-time code (with its PKCE
//! verifier) for the signed token, which it then verifies itself.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use zaitaku_proto::pkce;

use crate::AuthenticatorState;

#[derive(Deserialize)]
pub struct TokenRequest {
    code: Option<String>,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    /// The authentication token exactly as the card produced it.
    token: String,
    /// The patient used their own phone via the QR code: staff must check a
    /// photo ID afterwards.
    cross_device: bool,
}

#[derive(Serialize)]
struct TokenError {
    error: &'static str,
    error_description: &'static str,
}

fn refuse(error_description: &'static str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(TokenError {
            error: "invalid_grant",
            error_description,
        }),
    )
        .into_response()
}

/// Why a code could not be exchanged (the same answer for every cause).
pub const INVALID_GRANT: &str = "認可コードが無効です。";

/// The exchange behind the HTTP endpoint: spends the code, checks PKCE and
/// that `redirect_uri` is the one the code was issued for, returns the token
/// and the cross-device flag. (zaitaku's own web service uses [`claim`].)
pub async fn exchange(
    st: &AuthenticatorState,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Result<(String, bool), &'static str>, String> {
    if !pkce::verifier_length_ok(verifier) {
        return Ok(Err(VERIFIER_LENGTH));
    }
    let found = st
        .identity
        .store()
        .redeem_auth_code(code, Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    // An unknown, used or expired code, a wrong verifier and another
    // redirect_uri look the same from outside; the code is spent either way.
    Ok(release(found, verifier, redirect_uri))
}

const VERIFIER_LENGTH: &str = "code_verifier の長さが正しくありません。";

/// The token of a found request whose challenge the verifier answers and
/// whose `redirect_uri` is the redeemer's own: a code that a tampered request
/// sent elsewhere is worthless to whoever caught it there.
fn release(
    found: Option<zaitaku_storage::AuthRequest>,
    verifier: &str,
    redirect_uri: &str,
) -> Result<(String, bool), &'static str> {
    let found = found.ok_or(INVALID_GRANT)?;
    if !pkce::verifies(verifier, &found.code_challenge) || found.redirect_uri != redirect_uri {
        return Err(INVALID_GRANT);
    }
    found
        .token
        .map(|t| (t, found.cross_device))
        .ok_or(INVALID_GRANT)
}

/// A code checked for an in-process service, not yet spent.
pub struct Claimed {
    pub token: String,
    pub cross_device: bool,
    /// Spends the code; commit it with the login it allows, so that a
    /// registration needs one commit rather than two. It refuses the job if
    /// the code was spent meanwhile.
    pub redeem: zaitaku_storage::Write,
}

/// [`exchange`] for a service in this process that commits the redemption
/// together with its own writes: checks that the code is open and the PKCE
/// verifier matches, without spending the code. A code whose login is then
/// refused stays unspent, but the nonce its token carries is spent by that
/// refusal, so the token can never log in.
pub async fn claim(
    st: &AuthenticatorState,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Result<Claimed, &'static str>, String> {
    if !pkce::verifier_length_ok(verifier) {
        return Ok(Err(VERIFIER_LENGTH));
    }
    let now = Utc::now();
    let found = st
        .identity
        .store()
        .open_auth_code(code, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(
        release(found, verifier, redirect_uri).map(|(token, cross_device)| Claimed {
            token,
            cross_device,
            redeem: zaitaku_storage::Write::redeem_code(code, now),
        }),
    )
}

pub async fn token(
    State(st): State<AuthenticatorState>,
    Form(req): Form<TokenRequest>,
) -> Response {
    let (Some(code), Some(verifier), Some(redirect_uri)) =
        (req.code, req.code_verifier, req.redirect_uri)
    else {
        return refuse("code、code_verifier と redirect_uri が必要です。");
    };
    match exchange(&st, &code, &verifier, &redirect_uri).await {
        Ok(Ok((token, cross_device))) => Json(TokenResponse {
            token,
            cross_device,
        })
        .into_response(),
        Ok(Err(why)) => refuse(why),
        Err(e) => {
            tracing::error!(error = %e, "token endpoint failure");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response()
        }
    }
}
