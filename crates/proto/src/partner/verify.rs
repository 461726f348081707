//! A partner's check of a returned URL, following docs/auth-handoff.md: what
//! an online-care partner runs (in whatever language) before it believes a
//! `completed`. Written from the recipe, not from the signer, so that the
//! tests check the recipe too.

use aws_lc_rs::signature;

use super::VERSION;
use crate::base64url;

/// Why a returned URL is not a genuine return from zaitaku.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReturnVerifyError {
    #[error("the URL does not start with the expected return URL")]
    WrongReturnUrl,
    #[error("zaitaku_{0} is missing or malformed")]
    Malformed(&'static str),
    #[error("no published key has this kid")]
    UnknownKey,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the link is too old or from the future")]
    Stale,
}

/// What a partner learns from a verified return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReturn {
    pub status: String,
    pub action: String,
    pub institution: String,
    pub date: String,
    pub issued_at: i64,
    pub state: String,
}

/// A partner's check of a return, following docs/auth-handoff.md: the URL
/// must be `return_url` plus the `zaitaku_*` parameters, signed by a key in
/// `jwks`, issued within `max_age_seconds` of `now` (seconds since 1970).
pub fn verify_return(
    received: &str,
    return_url: &str,
    jwks: &serde_json::Value,
    now: i64,
    max_age_seconds: i64,
) -> Result<VerifiedReturn, ReturnVerifyError> {
    let rest = received
        .strip_prefix(return_url)
        .ok_or(ReturnVerifyError::WrongReturnUrl)?;
    let query = rest
        .strip_prefix(['?', '&'])
        .ok_or(ReturnVerifyError::WrongReturnUrl)?;
    let mut ours = std::collections::BTreeMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(name) = k.strip_prefix("zaitaku_") {
            if ours.insert(name.to_owned(), v.to_owned()).is_some() {
                return Err(ReturnVerifyError::Malformed("duplicate"));
            }
        } else {
            // The partner's own parameters belong to return_url, before ours.
            return Err(ReturnVerifyError::WrongReturnUrl);
        }
    }
    let get = |k: &str| ours.get(k).cloned().unwrap_or_default();
    let kid = ours.get("kid").ok_or(ReturnVerifyError::Malformed("kid"))?;
    let sig = ours
        .get("sig")
        .and_then(|s| base64url::decode(s))
        .ok_or(ReturnVerifyError::Malformed("sig"))?;
    let issued_at: i64 = get("issued_at")
        .parse()
        .map_err(|_| ReturnVerifyError::Malformed("issued_at"))?;
    let x = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"].as_str() == Some(kid) && k["crv"].as_str() == Some("Ed25519"))
        .and_then(|k| k["x"].as_str())
        .and_then(base64url::decode)
        .ok_or(ReturnVerifyError::UnknownKey)?;
    let text = format!(
        "{VERSION}\nreturn={return_url}\nstatus={}\naction={}\ninstitution={}\ndate={}\nissued_at={issued_at}\nstate={}\n",
        get("status"),
        get("action"),
        get("institution"),
        get("date"),
        get("state"),
    );
    signature::UnparsedPublicKey::new(&signature::ED25519, &x)
        .verify(text.as_bytes(), &sig)
        .map_err(|_| ReturnVerifyError::BadSignature)?;
    if issued_at > now + 60 || now - issued_at > max_age_seconds {
        return Err(ReturnVerifyError::Stale);
    }
    Ok(VerifiedReturn {
        status: get("status"),
        action: get("action"),
        institution: get("institution"),
        date: get("date"),
        issued_at,
        state: get("state"),
    })
}
