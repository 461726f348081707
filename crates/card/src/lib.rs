//! Card identity for zaitaku: a stand-in for JPKI's user-authentication
//! certificate (利用者証明用電子証明書) on the My Number card and on smartphones.
//!
//! Pure crypto and rules, no database and no HTTP:
//!
//! * [`ca`] — the CA stand-in: RSA-2048 anchors, user certificates valid to the
//!   holder's 5th birthday after issue;
//! * [`card`] — a card's kind, key and certificate, and its signing operation;
//! * [`pin`] — 4-digit PIN rules, the retry counter and the stored PIN hash;
//! * [`token`] — the Web eID-style authentication token and the nonce;
//! * [`verify`] — the verifier (format, certificate, purpose, chain, validity,
//!   revocation, signature), with stable error codes and Japanese messages;
//! * [`revocation`] — the revocation provider interface and a local list;
//! * [`validity`] — validity periods and the valid/expiring/grace status.
//!
//! The protocol is the real one in shape (RSA-2048 PKCS#1 v1.5 / SHA-256 over
//! `SHA-256(origin) ‖ SHA-256(nonce)`), so a real card could later produce the
//! same tokens.

pub mod ca;
pub mod card;
pub mod error;
pub mod pin;
pub mod revocation;
pub mod token;
pub mod validity;
pub mod verify;

#[cfg(test)]
mod testutil;

pub use ca::{CertificateAuthority, serial_hex, serial_hex_from_bytes};
pub use card::{CardKeys, CardKind, UnknownCardKind, generate_rsa2048_pkcs8, spki_from_pkcs8};
pub use error::CardError;
pub use pin::{
    PinCounter, PinError, PinFormatError, PinOutcome, hash_pin, validate_pin, verify_pin,
};
pub use revocation::{LocalRevocationList, RevocationError, RevocationProvider};
pub use token::{
    AuthToken, TokenError, build_token, new_nonce, nonce_from_base64, nonce_to_base64, parse_token,
    parse_token_bytes, signed_value,
};
pub use validity::{
    CertificateStatus, EXPIRING_WARNING_JA, GRACE_WARNING_JA, fifth_birthday_after,
};
pub use verify::{Verified, Verifier, VerifyError};

/// Lowercase hex, for serials and fingerprints.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
