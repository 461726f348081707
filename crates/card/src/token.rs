//! The authentication token, in the manner of Web eID's `web-eid:1.0` token.
//!
//! ```json
//! {"format":"zaitaku-auth-token:1",
//!  "unverifiedCertificate":"MIIE…(standard base64 of the certificate DER)",
//!  "algorithm":"RS256",
//!  "signature":"…(standard base64 of the 256-byte signature)",
//!  "appVersion":"…(optional, informative)"}
//! ```
//!
//! * `format` — exactly `zaitaku-auth-token:1`.
//! * `unverifiedCertificate` — the card's user-authentication certificate,
//!   DER, standard base64 (RFC 4648 §4, `+/`, with `=` padding, no line
//!   breaks), at most 4096 bytes of DER. "Unverified" because it is only a
//!   claim until the verifier has checked it.
//! * `algorithm` — exactly `RS256`: RSASSA-PKCS1-v1_5 with SHA-256.
//! * `signature` — standard base64 of exactly 256 bytes (RSA-2048).
//! * `appVersion` — optional string of at most 256 bytes, not checked.
//!
//! No other member is allowed, none may repeat, and the whole token is at most
//! 8192 bytes (UTF-8). The signed value is
//! `SHA-256(origin) ‖ SHA-256(nonce)` (64 bytes) where `origin` is the web
//! service's origin as UTF-8 bytes (`scheme://host[:port]`, no trailing slash,
//! e.g. `https://zaitaku.example`) and `nonce` is the 32 raw random bytes of the
//! challenge (which travels as standard base64). The card signs these 64 bytes
//! with RSASSA-PKCS1-v1_5/SHA-256, i.e. it hashes them once more.

use std::borrow::Cow;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use thiserror::Error;

use crate::card::{CardKeys, random_bytes};
use crate::error::CardError;

/// Value of the `format` member.
pub const TOKEN_FORMAT: &str = "zaitaku-auth-token:1";
/// Value of the `algorithm` member.
pub const TOKEN_ALGORITHM: &str = "RS256";
/// Largest accepted token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest accepted certificate, in bytes of DER.
pub const MAX_CERTIFICATE_BYTES: usize = 4 * 1024;
/// Exact signature length (RSA-2048).
pub const SIGNATURE_BYTES: usize = 256;
/// Largest accepted `appVersion`, in bytes.
pub const MAX_APP_VERSION_BYTES: usize = 256;
/// Length of a nonce, in bytes.
pub const NONCE_BYTES: usize = 32;
/// Length of the signed value, in bytes.
pub const SIGNED_VALUE_BYTES: usize = 64;

/// A token whose shape is right; nothing in it has been verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// The claimed certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The 256-byte RS256 signature over [`signed_value`].
    pub signature: Vec<u8>,
    /// Informative version string of the app that built the token.
    pub app_version: Option<String>,
}

impl AuthToken {
    /// Serialise as the JSON token (members in the documented order).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            96 + 4 * self.certificate_der.len().div_ceil(3) + 4 * self.signature.len().div_ceil(3),
        );
        out.push_str("{\"format\":\"");
        out.push_str(TOKEN_FORMAT);
        out.push_str("\",\"unverifiedCertificate\":\"");
        STANDARD.encode_string(&self.certificate_der, &mut out);
        out.push_str("\",\"algorithm\":\"");
        out.push_str(TOKEN_ALGORITHM);
        out.push_str("\",\"signature\":\"");
        STANDARD.encode_string(&self.signature, &mut out);
        out.push('"');
        if let Some(version) = &self.app_version {
            out.push_str(",\"appVersion\":");
            push_json_string(&mut out, version);
        }
        out.push('}');
        out
    }
}

/// The 64 bytes a card signs: `SHA-256(origin) ‖ SHA-256(nonce)`.
pub fn signed_value(origin: &str, nonce: &[u8]) -> [u8; SIGNED_VALUE_BYTES] {
    let mut out = [0u8; SIGNED_VALUE_BYTES];
    let (first, second) = out.split_at_mut(32);
    first.copy_from_slice(digest(&SHA256, origin.as_bytes()).as_ref());
    second.copy_from_slice(digest(&SHA256, nonce).as_ref());
    out
}

/// Sign the challenge (`origin`, `nonce`) with the card and build the token,
/// as the authenticator does after the PIN (or biometrics) has unlocked the card.
pub fn build_token(keys: &CardKeys, origin: &str, nonce: &[u8]) -> Result<String, CardError> {
    let signature = keys.sign(&signed_value(origin, nonce))?;
    Ok(AuthToken {
        certificate_der: keys.cert_der.clone(),
        signature,
        app_version: None,
    }
    .to_json())
}

/// 32 bytes from the operating system's secure random generator.
pub fn new_nonce() -> Result<[u8; NONCE_BYTES], CardError> {
    random_bytes::<NONCE_BYTES>()
}

/// A nonce as it travels in the challenge: standard base64 with padding (44 characters).
pub fn nonce_to_base64(nonce: &[u8; NONCE_BYTES]) -> String {
    STANDARD.encode(nonce)
}

/// The inverse of [`nonce_to_base64`]; `None` unless it is canonical base64 of exactly 32 bytes.
pub fn nonce_from_base64(text: &str) -> Option<[u8; NONCE_BYTES]> {
    if text.len() != 44 {
        return None;
    }
    STANDARD.decode(text).ok()?.try_into().ok()
}

/// Why a token was refused at the format stage. Each variant has a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    /// Z-C-0001: longer than 8192 bytes.
    #[error("認証データが大きすぎます。もう一度最初からやり直してください。")]
    TooLarge,
    /// Z-C-0002: not UTF-8 JSON.
    #[error(
        "認証データの形式が正しくありません（JSON ではありません）。もう一度最初からやり直してください。"
    )]
    NotJson,
    /// Z-C-0003: JSON, but not an object with exactly the documented members
    /// of the documented types (missing, unknown or repeated member, wrong type,
    /// `appVersion` too long).
    #[error(
        "認証データの形式が正しくありません（項目が不足しているか、不明な項目があります）。もう一度最初からやり直してください。"
    )]
    InvalidStructure,
    /// Z-C-0004: `format` is not `zaitaku-auth-token:1`.
    #[error("認証データの形式（format）に対応していません。もう一度最初からやり直してください。")]
    UnsupportedFormat,
    /// Z-C-0005: `algorithm` is not `RS256`.
    #[error(
        "認証データの署名方式（algorithm）に対応していません。もう一度最初からやり直してください。"
    )]
    UnsupportedAlgorithm,
    /// Z-C-0006: `unverifiedCertificate` or `signature` is not canonical standard base64.
    #[error(
        "認証データの形式が正しくありません（base64 の誤り）。もう一度最初からやり直してください。"
    )]
    InvalidBase64,
    /// Z-C-0007: the certificate is larger than 4096 bytes.
    #[error("認証データの電子証明書が大きすぎます。もう一度最初からやり直してください。")]
    CertificateTooLarge,
    /// Z-C-0008: the signature is not exactly 256 bytes.
    #[error("認証データの署名の長さが正しくありません。もう一度最初からやり直してください。")]
    SignatureLength,
}

impl TokenError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "Z-C-0001",
            TokenError::NotJson => "Z-C-0002",
            TokenError::InvalidStructure => "Z-C-0003",
            TokenError::UnsupportedFormat => "Z-C-0004",
            TokenError::UnsupportedAlgorithm => "Z-C-0005",
            TokenError::InvalidBase64 => "Z-C-0006",
            TokenError::CertificateTooLarge => "Z-C-0007",
            TokenError::SignatureLength => "Z-C-0008",
        }
    }
}

/// The token as it is on the wire. `Cow` borrows from the input when the JSON
/// string has no escapes (the usual case) and still accepts escaped strings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireToken<'a> {
    #[serde(borrow)]
    format: Cow<'a, str>,
    #[serde(rename = "unverifiedCertificate", borrow)]
    unverified_certificate: Cow<'a, str>,
    #[serde(borrow)]
    algorithm: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(rename = "appVersion", default)]
    app_version: Option<String>,
}

/// Parse raw bytes (e.g. a request body) as a token. Never panics.
pub fn parse_token_bytes(bytes: &[u8]) -> Result<AuthToken, TokenError> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| TokenError::NotJson)?;
    parse_token(text)
}

/// Parse a token, checking everything about its shape (see the module
/// documentation) but nothing about what it claims. Never panics.
pub fn parse_token(token: &str) -> Result<AuthToken, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let wire: WireToken<'_> = serde_json::from_str(token).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => TokenError::InvalidStructure,
        _ => TokenError::NotJson,
    })?;
    if wire.format != TOKEN_FORMAT {
        return Err(TokenError::UnsupportedFormat);
    }
    if wire.algorithm != TOKEN_ALGORITHM {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    if wire
        .app_version
        .as_ref()
        .is_some_and(|v| v.len() > MAX_APP_VERSION_BYTES)
    {
        return Err(TokenError::InvalidStructure);
    }
    // Refuse by length before decoding: base64 of 4096 bytes is 5464 characters.
    if wire.unverified_certificate.len() > 4 * MAX_CERTIFICATE_BYTES.div_ceil(3) {
        return Err(TokenError::CertificateTooLarge);
    }
    let certificate_der = STANDARD
        .decode(wire.unverified_certificate.as_bytes())
        .map_err(|_| TokenError::InvalidBase64)?;
    if certificate_der.len() > MAX_CERTIFICATE_BYTES {
        return Err(TokenError::CertificateTooLarge);
    }
    if wire.signature.len() > 4 * SIGNATURE_BYTES.div_ceil(3) {
        return Err(TokenError::SignatureLength);
    }
    let signature = STANDARD
        .decode(wire.signature.as_bytes())
        .map_err(|_| TokenError::InvalidBase64)?;
    if signature.len() != SIGNATURE_BYTES {
        return Err(TokenError::SignatureLength);
    }
    Ok(AuthToken {
        certificate_der,
        signature,
        app_version: wire.app_version,
    })
}

/// Append `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuthToken {
        AuthToken {
            certificate_der: vec![0x30, 0x82, 0x01, 0x00, 0xff],
            signature: vec![7; SIGNATURE_BYTES],
            app_version: None,
        }
    }

    fn with(member: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        v[member] = serde_json::Value::String(value.to_owned());
        v.to_string()
    }

    #[test]
    fn round_trip_and_member_names() {
        let token = sample().to_json();
        assert!(token.starts_with(r#"{"format":"zaitaku-auth-token:1","unverifiedCertificate":"MIIBAP8=","algorithm":"RS256","signature":""#));
        assert_eq!(parse_token(&token), Ok(sample()));
        let mut versioned = sample();
        versioned.app_version = Some("zaitaku-authenticator/0.1 \"β\"\n".into());
        assert_eq!(parse_token(&versioned.to_json()), Ok(versioned.clone()));
        assert_eq!(
            parse_token_bytes(versioned.to_json().as_bytes()),
            Ok(versioned)
        );
        // Member order and insignificant whitespace do not matter; JSON escapes are decoded.
        let reordered = format!(
            " {{ \"signature\" : \"{}\", \"algorithm\":\"RS256\", \"unverifiedCertificate\":\"MIIBAP8\\u003d\", \"format\":\"zaitaku-auth-token:1\", \"appVersion\": null }} ",
            STANDARD.encode([7u8; SIGNATURE_BYTES])
        );
        assert_eq!(parse_token(&reordered), Ok(sample()));
    }

    #[test]
    fn signed_value_layout() {
        let v = signed_value("https://zaitaku.example", &[1u8; 32]);
        assert_eq!(
            &v[..32],
            digest(&SHA256, b"https://zaitaku.example").as_ref()
        );
        assert_eq!(&v[32..], digest(&SHA256, &[1u8; 32]).as_ref());
    }

    #[test]
    fn nonces() {
        let a = new_nonce().unwrap();
        let b = new_nonce().unwrap();
        assert_ne!(a, b);
        let text = nonce_to_base64(&a);
        assert_eq!(text.len(), 44);
        assert_eq!(nonce_from_base64(&text), Some(a));
        assert_eq!(nonce_from_base64(&STANDARD.encode([0u8; 31])), None);
        assert_eq!(
            nonce_from_base64("not base64 at all, but forty-four chars!!!!"),
            None
        );
        assert_eq!(nonce_from_base64(""), None);
    }

    #[test]
    fn malformed_tokens_each_have_their_code() {
        let cases: Vec<(String, TokenError)> = vec![
            ("not json".into(), TokenError::NotJson),
            ("".into(), TokenError::NotJson),
            ("{\"format\":".into(), TokenError::NotJson),
            (format!("{}x", sample().to_json()), TokenError::NotJson),
            ("[]".into(), TokenError::InvalidStructure),
            ("null".into(), TokenError::InvalidStructure),
            ("{}".into(), TokenError::InvalidStructure),
            (
                sample().to_json().replace(",\"algorithm\":\"RS256\"", ""),
                TokenError::InvalidStructure,
            ),
            (
                sample().to_json().replace('}', ",\"extra\":1}"),
                TokenError::InvalidStructure,
            ),
            (
                sample()
                    .to_json()
                    .replace('}', ",\"format\":\"zaitaku-auth-token:1\"}"),
                TokenError::InvalidStructure,
            ),
            (
                sample().to_json().replace("\"RS256\"", "256"),
                TokenError::InvalidStructure,
            ),
            (
                with("appVersion", &"v".repeat(257)),
                TokenError::InvalidStructure,
            ),
            (with("format", "web-eid:1.0"), TokenError::UnsupportedFormat),
            (
                with("format", "zaitaku-auth-token:2"),
                TokenError::UnsupportedFormat,
            ),
            (
                with("format", "ZAITAKU-AUTH-TOKEN:1"),
                TokenError::UnsupportedFormat,
            ),
            (with("algorithm", "PS256"), TokenError::UnsupportedAlgorithm),
            (with("algorithm", "rs256"), TokenError::UnsupportedAlgorithm),
            (with("algorithm", "none"), TokenError::UnsupportedAlgorithm),
            (
                with("unverifiedCertificate", "MIIBAP8"),
                TokenError::InvalidBase64,
            ),
            (
                with("unverifiedCertificate", "MIIB AP8="),
                TokenError::InvalidBase64,
            ),
            (
                with("unverifiedCertificate", "MIIBAP-_"),
                TokenError::InvalidBase64,
            ),
            // Non-canonical: the last character carries bits that must be zero.
            (
                with("unverifiedCertificate", "MIIBAP9="),
                TokenError::InvalidBase64,
            ),
            (with("signature", "!!!!"), TokenError::InvalidBase64),
            (
                with("unverifiedCertificate", &STANDARD.encode(vec![0u8; 4097])),
                TokenError::CertificateTooLarge,
            ),
            (
                with("signature", &STANDARD.encode(vec![0u8; 255])),
                TokenError::SignatureLength,
            ),
            (
                with("signature", &STANDARD.encode(vec![0u8; 257])),
                TokenError::SignatureLength,
            ),
            (with("signature", ""), TokenError::SignatureLength),
            (
                format!("{}{}", sample().to_json(), " ".repeat(MAX_TOKEN_BYTES)),
                TokenError::TooLarge,
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(parse_token(&token), Err(expected), "{token:.120}");
        }
        assert_eq!(parse_token_bytes(&[0xff, 0xfe]), Err(TokenError::NotJson));
        assert_eq!(
            parse_token_bytes(&vec![b' '; MAX_TOKEN_BYTES + 1]),
            Err(TokenError::TooLarge)
        );
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            TokenError::TooLarge,
            TokenError::NotJson,
            TokenError::InvalidStructure,
            TokenError::UnsupportedFormat,
            TokenError::UnsupportedAlgorithm,
            TokenError::InvalidBase64,
            TokenError::CertificateTooLarge,
            TokenError::SignatureLength,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
    }
}
