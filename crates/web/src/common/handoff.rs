//! The relying party's side of the authenticator hand-off, shared by the
//! consent flows and the identity check: PKCE, the redirect there, and the
//! way back (an error, or a code exchanged for the card's token).

use super::error::WebError;
use super::refusal::Refusal;
use super::state::AppState;

/// The card's token the authenticator gave back.
pub(crate) struct Returned {
    pub token: String,
    pub cross_device: bool,
    /// Spends the code: commit it with the login (see
    /// [`zaitaku_authenticator::claim`]).
    pub redeem: zaitaku_storage::Write,
}

/// What the authenticator is asked to show on its pages: the institution
/// and what the authentication is for (docs/auth-handoff.md §1).
pub(crate) struct Shown<'a> {
    pub client_name: Option<&'a str>,
    pub purpose: zaitaku_authenticator::Purpose,
}

/// `/auth/authorize?…` for a fresh hand-off back to `redirect_uri`.
pub(crate) fn authorize_url(
    state: &str,
    verifier: &str,
    nonce: &str,
    redirect_uri: &str,
    qr: bool,
    shown: &Shown<'_>,
) -> String {
    // A name the authenticator would refuse is left out rather than
    // failing the patient's authentication over a display hint.
    let client_name = shown
        .client_name
        .filter(|n| zaitaku_authenticator::client_name_ok(n))
        .map(|n| format!("&client_name={}", urlencode(n)))
        .unwrap_or_default();
    format!(
        "/auth/authorize?state={state}&code_challenge={}&code_challenge_method={}&nonce={}&redirect_uri={redirect_uri}{}{client_name}&purpose={}",
        zaitaku_proto::pkce::challenge(verifier),
        zaitaku_proto::pkce::METHOD,
        urlencode(nonce),
        if qr { "&prompt=qr" } else { "" },
        shown.purpose.as_str(),
    )
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Interprets the return (`error=…` or `code=…`) and, for a code, fetches the
/// token over the back channel with the PKCE verifier (the code is spent by
/// the returned write).
pub(crate) async fn returned(
    state: &AppState,
    error: Option<&str>,
    code: Option<&str>,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Result<Returned, Refusal>, WebError> {
    let refused = |why| Ok(Err(why));
    if let Some(error) = error {
        return refused(match error {
            "cancelled" => Refusal::AuthCancelled,
            "locked" => Refusal::CardLocked,
            "used" => Refusal::HandoffUsed,
            "revoked" => Refusal::CardRevoked,
            _ => Refusal::HandoffIncomplete,
        });
    }
    let Some(code) = code else {
        return refused(Refusal::NoCode);
    };
    let auth = zaitaku_authenticator::AuthenticatorState {
        identity: state.identity.clone(),
        origin: state.origin(),
    };
    match zaitaku_authenticator::claim(&auth, code, verifier, redirect_uri).await {
        Ok(Ok(c)) => Ok(Ok(Returned {
            token: c.token,
            cross_device: c.cross_device,
            redeem: c.redeem,
        })),
        Ok(Err(why)) => refused(Refusal::NotClaimed(why)),
        Err(e) => Err(WebError::Internal(e)),
    }
}
