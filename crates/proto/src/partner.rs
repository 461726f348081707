//! The way back to an online-care partner (seed 003, 「手続きを終了する」),
//! signed so that the partner can tell a finished registration from a URL
//! someone typed.
//!
//! The partner sends the patient to `/w/{token}?mode=online&return=URL&date=…`
//! (optionally with its own `state`). When the patient leaves, the browser
//! goes to `URL` with `zaitaku_*` parameters and an Ed25519 signature over
//! them and over `URL` itself, so a signature made for one partner's page
//! cannot be replayed at another. The public key is published as a JWK set at
//! [`KEYS_PATH`] (and as PEM at [`KEY_PEM_PATH`] for openssl). The URL carries
//! nothing about the patient: no name, no card, no consent number. The recipe
//! a partner follows is in docs/auth-handoff.md.
//!
//! * this file — what is returned ([`PartnerReturn`]) and the exact text
//!   that is signed;
//! * [`signer`] — the server's key ([`ReturnSigner`]): the signed URL, the
//!   JWK set and the PEM it publishes;
//! * [`verify`] — the partner's check of a returned URL ([`verify_return`]).
//!
//! The key file and the randomness of a new key are the caller's
//! (`zaitaku_web::partner_key`); the time is a parameter.

pub mod signer;
pub mod verify;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use zaitaku_domain::consent::ConsentAction;

pub use signer::{KeyError, ReturnSigner};
pub use verify::{ReturnVerifyError, VerifiedReturn, verify_return};

/// Where the JWK set with the return-signing key is published.
pub const KEYS_PATH: &str = "/.well-known/zaitaku-return-keys.json";
/// The same public key as a PEM `PUBLIC KEY`, for `openssl pkeyutl`.
pub const KEY_PEM_PATH: &str = "/.well-known/zaitaku-return-key.pem";
/// First line of the signed text; a new format gets a new version.
pub const VERSION: &str = "zaitaku-return-v1";

/// Whether the patient finished what they came for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStatus {
    /// The completion screen was reached: the consent is registered,
    /// updated or cancelled.
    Completed,
    /// The patient left before finishing (or could not finish): nothing was
    /// written by this visit.
    NotCompleted,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::NotCompleted => "not_completed",
        }
    }
}

/// What the partner is told. Every value is URL-safe as it stands (ASCII
/// letters, digits, `-`, `_`, `.`, `~`), so the query and the signed text
/// carry the very same characters.
#[derive(Debug, Clone)]
pub struct PartnerReturn<'a> {
    /// The partner's `return` URL exactly as it sent it.
    pub return_url: &'a str,
    pub status: ReturnStatus,
    pub action: Option<ConsentAction>,
    /// 医療機関等コード (10 digits): which institution the consent is for.
    pub institution_code: &'a str,
    /// The consultation day the consent is valid until (online care).
    pub consultation_date: Option<NaiveDate>,
    /// Seconds since 1970 (UTC) when the link was made.
    pub issued_at: i64,
    /// The partner's own `state`, returned unchanged.
    pub state: Option<&'a str>,
}

impl PartnerReturn<'_> {
    /// The exact text that is signed: the version line, then one
    /// `name=value` line per field in this order, each ending in LF.
    pub fn signed_text(&self) -> String {
        let mut text = format!("{VERSION}\n");
        for (name, value) in self.fields() {
            text.push_str(name);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
        text
    }

    /// The signed fields by name, in the order of the signed text (the URL
    /// carries them as `zaitaku_{name}`, except `return`).
    pub(crate) fn fields(&self) -> [(&'static str, String); 7] {
        [
            ("return", self.return_url.to_owned()),
            ("status", self.status.as_str().to_owned()),
            ("action", self.action.map_or("", |a| a.as_str()).to_owned()),
            ("institution", self.institution_code.to_owned()),
            (
                "date",
                self.consultation_date
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            ),
            ("issued_at", self.issued_at.to_string()),
            ("state", self.state.unwrap_or_default().to_owned()),
        ]
    }
}

/// A partner's `state` as zaitaku accepts it: 1–128 URL-safe characters, so
/// that it goes into the URL and the signed text unchanged.
pub fn valid_state(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}
