//! The contracts outside parties see: formats that leave or enter zaitaku
//! and must stay exactly as documented, whatever the server does inside.
//!
//! Pure, no I/O: keys, bytes and the current time come in as parameters;
//! nothing here reads a file, the clock or the random generator.
//!
//! * [`partner`] — the signed return to an online-care partner: the signed
//!   text, the signing key with its JWK set and PEM, the partner's verifier
//!   (docs/auth-handoff.md);
//! * [`pkce`] — PKCE with S256 (RFC 7636), between the service and the
//!   authenticator in the hand-off;
//! * [`base64url`] — base64url without padding, as PKCE, JWKs, signatures in
//!   URLs and random tokens use it.
//! * [`oqs`] — the receipt-computer interface's XML files (the reader so
//!   far; the messages come next).

pub mod base64url;
pub mod oqs;
pub mod partner;
pub mod pkce;
