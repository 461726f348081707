//! The relying party's side of the authenticator hand-off, shared by the
//! consent flows and the identity check: PKCE, the redirect there, and the
//! way back (an error, or a code exchanged for the card's token).

use crate::AppState;
use crate::error::WebError;

/// What came back from the authenticator.
pub(crate) enum Returned {
    Token {
        token: String,
        cross_device: bool,
        /// Spends the code: commit it with the login (see
        /// [`zaitaku_authenticator::claim`]).
        redeem: zaitaku_storage::Write,
    },
    Refused {
        title: &'static str,
        message: &'static str,
        code: &'static str,
    },
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

/// Title, message and code for `error=used`: the patient went back to an
/// authenticator page of a hand-off that has already done its work.
pub(crate) const USED: (&str, &str, &str) = (
    "この認証は使用済みです",
    "この本人認証はすでに使われています。同意の登録・更新・取消を続けるときは、最初の画面からやり直してください。",
    "Z-A-0005",
);

/// Interprets the return (`error=…` or `code=…`) and, for a code, fetches the
/// token over the back channel with the PKCE verifier (the code is spent by
/// the returned write).
pub(crate) async fn returned(
    state: &AppState,
    error: Option<&str>,
    code: Option<&str>,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Returned, WebError> {
    let refused = |title, message, code| {
        Ok(Returned::Refused {
            title,
            message,
            code,
        })
    };
    match error {
        Some("cancelled") => {
            return refused(
                "本人認証を中止しました",
                "本人認証は行われていません。同意の登録・更新・取消も行われていません。必要なときは、最初の画面からやり直してください。",
                "Z-W-0442",
            );
        }
        Some("locked") => {
            return refused(
                "暗証番号がロックされています",
                "暗証番号を3回連続して間違えたため、ロックされています。ロックの解除と暗証番号の再設定は、住民票がある市区町村の窓口で行ってください。",
                "Z-A-0003",
            );
        }
        Some("used") => {
            let (title, message, code) = USED;
            return refused(title, message, code);
        }
        Some("revoked") => {
            return refused(
                "このカードは利用できません",
                "このカードの電子証明書は失効しています。住民票がある市区町村の窓口にお問い合わせください。",
                "Z-A-0004",
            );
        }
        Some(_) => {
            return refused(
                "本人認証が完了しませんでした",
                "認証の有効期限（5分）が切れたか、認証アプリから戻りませんでした。同意は登録されていません。最初からやり直してください。",
                "Z-A-0002",
            );
        }
        None => {}
    }
    let Some(code) = code else {
        return refused(
            "認証できませんでした",
            "最初からやり直してください。",
            "Z-W-0441",
        );
    };
    let auth = zaitaku_authenticator::AuthenticatorState {
        identity: state.identity.clone(),
        origin: state.origin(),
    };
    match zaitaku_authenticator::claim(&auth, code, verifier, redirect_uri).await {
        Ok(Ok(c)) => Ok(Returned::Token {
            token: c.token,
            cross_device: c.cross_device,
            redeem: c.redeem,
        }),
        Ok(Err(why)) => refused("認証できませんでした", why, "Z-W-0441"),
        Err(e) => Err(WebError::Internal(e)),
    }
}
