//! The back channel: the service exchanges the one-time code (with its PKCE
//! verifier) for the signed token, which it then verifies itself.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::{AuthenticatorState, code_challenge};

#[derive(Deserialize)]
pub struct TokenRequest {
    code: Option<String>,
    code_verifier: Option<String>,
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

/// The exchange itself, shared by the HTTP endpoint and in-process callers:
/// spends the code, checks PKCE, returns the token and the cross-device flag.
pub async fn exchange(
    st: &AuthenticatorState,
    code: &str,
    verifier: &str,
) -> Result<Result<(String, bool), &'static str>, String> {
    if !(43..=128).contains(&verifier.len()) {
        return Ok(Err("code_verifier の長さが正しくありません。"));
    }
    let found = st
        .identity
        .store()
        .redeem_auth_code(code, Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    // An unknown, used or expired code and a wrong verifier look the same
    // from outside; the code is spent either way.
    let Some(found) = found else {
        return Ok(Err(INVALID_GRANT));
    };
    if code_challenge(verifier) != found.code_challenge {
        return Ok(Err(INVALID_GRANT));
    }
    Ok(found
        .token
        .map(|t| (t, found.cross_device))
        .ok_or(INVALID_GRANT))
}

pub async fn token(
    State(st): State<AuthenticatorState>,
    Form(req): Form<TokenRequest>,
) -> Response {
    let (Some(code), Some(verifier)) = (req.code, req.code_verifier) else {
        return refuse("code と code_verifier が必要です。");
    };
    match exchange(&st, &code, &verifier).await {
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
