//! The token verifier.
//!
//! Checks, in this order, stopping at the first failure:
//!
//! 1. format and size of the token ([`crate::token::parse_token`]);
//! 2. certificate decode (X.509 DER, RSA-2048 key, sha256WithRSAEncryption);
//! 3. key usage `digitalSignature` and extended key usage `clientAuth`;
//! 4. chain to a configured anchor (issuer name equal to an anchor's subject
//!    and the certificate signed by that anchor's key; any number of anchors
//!    may be configured at once, for CA rollover);
//! 5. validity at `now` → [`CertificateStatus`] (valid, expiring, grace) or an
//!    error (not yet valid, expired beyond grace);
//! 6. revocation, through the [`RevocationProvider`];
//! 7. the token signature over `SHA-256(origin) ‖ SHA-256(nonce)`.
//!
//! Steps 2–4 depend only on the certificate bytes, so their result is cached
//! by SHA-256 of the DER: a repeated certificate skips decoding and the anchor
//! signature check. Steps 5–7 depend on time, on revocation data and on the
//! challenge, and run on every call.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use chrono::{DateTime, Utc};
use thiserror::Error;
use x509_parser::oid_registry::{OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

use crate::ca::serial_hex_from_bytes;
use crate::error::CardError;
use crate::revocation::RevocationProvider;
use crate::token::{AuthToken, NONCE_BYTES, TokenError, parse_token, signed_value};
use crate::validity::{CertificateStatus, ValidityError, classify};

/// Default bound on the number of cached certificate checks.
pub const DEFAULT_CACHE_CAPACITY: usize = 100_000;

/// What a successful verification establishes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// Certificate serial, lowercase hex ([`crate::serial_hex`] spelling).
    pub serial: String,
    /// Common name of the issuing CA (the anchor).
    pub issuer_cn: String,
    /// Common name of the certificate's subject (serial-based, no personal data).
    pub subject_cn: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity (inclusive).
    pub not_after: DateTime<Utc>,
    /// Valid, expiring or in grace. In grace, medical information must not be provided.
    pub status: CertificateStatus,
    /// SHA-256 of the certificate DER, lowercase hex: a stable key to link the
    /// certificate to a person.
    pub fingerprint: String,
}

/// Why a token was refused. Each variant has a stable code ([`VerifyError::code`])
/// and a Japanese message for the patient (`Display`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Z-C-0001 … Z-C-0008: the token's format or size (see [`TokenError`]).
    #[error(transparent)]
    Format(#[from] TokenError),
    /// Z-C-0009: the certificate is not decodable DER X.509.
    #[error("電子証明書を読み取れませんでした。もう一度最初からやり直してください。")]
    CertificateMalformed,
    /// Z-C-0010: the certificate key is not RSA-2048 or it is not signed with sha256WithRSAEncryption.
    #[error(
        "この電子証明書の鍵または署名方式には対応していません。マイナンバーカードの利用者証明用電子証明書を使ってください。"
    )]
    UnsupportedCertificate,
    /// Z-C-0011: keyUsage missing or without digitalSignature.
    #[error(
        "この電子証明書は本人確認（利用者証明）には使えません。マイナンバーカードの利用者証明用電子証明書を使ってください。"
    )]
    KeyUsage,
    /// Z-C-0012: extKeyUsage missing or without clientAuth.
    #[error(
        "この電子証明書はログイン（利用者証明）用ではありません。マイナンバーカードの利用者証明用電子証明書を使ってください。"
    )]
    ExtendedKeyUsage,
    /// Z-C-0013: the issuer is none of the configured anchors.
    #[error(
        "この電子証明書の発行元を確認できません。マイナンバーカードの利用者証明用電子証明書を使ってください。"
    )]
    UnknownIssuer,
    /// Z-C-0014: the issuer name matches an anchor but its key did not sign the certificate.
    #[error("この電子証明書は正しく発行されたものではありません。")]
    ChainSignature,
    /// Z-C-0015: before notBefore.
    #[error("この電子証明書はまだ有効になっていません。")]
    NotYetValid,
    /// Z-C-0016: more than 3 months after notAfter.
    #[error(
        "マイナンバーカードの電子証明書の有効期限が切れています。住民票がある市区町村の窓口で更新してください。"
    )]
    Expired {
        /// Calendar days since the last valid day.
        days_since_expiry: i64,
    },
    /// Z-C-0017: revoked.
    #[error("この電子証明書は失効しています。")]
    Revoked,
    /// Z-C-0018: the revocation provider could not answer; refused rather than assumed good.
    #[error("電子証明書の失効確認ができませんでした。しばらくしてからもう一度お試しください。")]
    RevocationUnavailable(String),
    /// Z-C-0019: the signature does not verify for this origin and nonce
    /// (tampered, wrong origin, other nonce).
    #[error("認証に失敗しました。もう一度最初からやり直してください。")]
    BadSignature,
    /// Z-C-0020: the nonce passed by the server is not 32 bytes (a caller bug,
    /// e.g. the base64 text instead of the bytes).
    #[error("認証要求が正しくありません。もう一度最初からやり直してください。")]
    InvalidNonce,
}

impl VerifyError {
    /// Stable error code, `Z-C-0001` … `Z-C-0020`.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Format(e) => e.code(),
            VerifyError::CertificateMalformed => "Z-C-0009",
            VerifyError::UnsupportedCertificate => "Z-C-0010",
            VerifyError::KeyUsage => "Z-C-0011",
            VerifyError::ExtendedKeyUsage => "Z-C-0012",
            VerifyError::UnknownIssuer => "Z-C-0013",
            VerifyError::ChainSignature => "Z-C-0014",
            VerifyError::NotYetValid => "Z-C-0015",
            VerifyError::Expired { .. } => "Z-C-0016",
            VerifyError::Revoked => "Z-C-0017",
            VerifyError::RevocationUnavailable(_) => "Z-C-0018",
            VerifyError::BadSignature => "Z-C-0019",
            VerifyError::InvalidNonce => "Z-C-0020",
        }
    }

    /// The verification step that failed, for the audit record:
    /// `request`, `format`, `certificate`, `usage`, `chain`, `validity`,
    /// `revocation` or `signature`.
    pub fn stage(&self) -> &'static str {
        match self {
            VerifyError::InvalidNonce => "request",
            VerifyError::Format(_) => "format",
            VerifyError::CertificateMalformed | VerifyError::UnsupportedCertificate => {
                "certificate"
            }
            VerifyError::KeyUsage | VerifyError::ExtendedKeyUsage => "usage",
            VerifyError::UnknownIssuer | VerifyError::ChainSignature => "chain",
            VerifyError::NotYetValid | VerifyError::Expired { .. } => "validity",
            VerifyError::Revoked | VerifyError::RevocationUnavailable(_) => "revocation",
            VerifyError::BadSignature => "signature",
        }
    }
}

/// A configured trust anchor.
struct Anchor {
    /// Subject name, DER, compared byte for byte with the certificate's issuer.
    subject: Vec<u8>,
    common_name: String,
    key: ParsedPublicKey,
}

/// The outcome of steps 2–4 for one certificate: everything later steps need.
struct CheckedCertificate {
    serial: String,
    issuer_cn: String,
    subject_cn: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    key: ParsedPublicKey,
    fingerprint: String,
}

/// Verifies authentication tokens against configured anchors. Cheap to share:
/// put it in an `Arc` and call [`verify`](Self::verify) from any thread.
pub struct Verifier {
    anchors: Vec<Anchor>,
    revocation: Arc<dyn RevocationProvider>,
    cache: RwLock<HashMap<[u8; 32], Arc<CheckedCertificate>>>,
    cache_capacity: usize,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "anchors",
                &self
                    .anchors
                    .iter()
                    .map(|a| &a.common_name)
                    .collect::<Vec<_>>(),
            )
            .field("cached_certificates", &self.cached_certificates())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier trusting every certificate in `anchors` (DER; RSA keys of
    /// 2048–8192 bits). Anchors are trusted for as long as they are configured;
    /// to end a rollover, remove the old anchor.
    pub fn new(
        anchors: Vec<Vec<u8>>,
        revocation: Arc<dyn RevocationProvider>,
    ) -> Result<Self, CardError> {
        let anchors = anchors
            .iter()
            .map(|der| parse_anchor(der))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Verifier {
            anchors,
            revocation,
            cache: RwLock::new(HashMap::new()),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        })
    }

    /// Bound the certificate cache to `capacity` entries (0 disables it). When
    /// full, the cache is emptied and refills from the next calls.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Common names of the configured anchors.
    pub fn anchor_names(&self) -> Vec<&str> {
        self.anchors
            .iter()
            .map(|a| a.common_name.as_str())
            .collect()
    }

    /// Number of certificates whose decode and chain check are cached.
    pub fn cached_certificates(&self) -> usize {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Verify `token` for the challenge (`expected_origin`, `nonce`) at `now`.
    /// `nonce` is the 32 raw bytes the server issued (not their base64).
    /// Whether the nonce is fresh, unused and bound to this session is the
    /// caller's check.
    pub fn verify(
        &self,
        token: &str,
        expected_origin: &str,
        nonce: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, VerifyError> {
        if nonce.len() != NONCE_BYTES {
            return Err(VerifyError::InvalidNonce);
        }
        let token = parse_token(token)?;
        self.verify_token(&token, expected_origin, nonce, now)
    }

    /// Steps 2–7 for an already parsed token.
    pub fn verify_token(
        &self,
        token: &AuthToken,
        expected_origin: &str,
        nonce: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, VerifyError> {
        if nonce.len() != NONCE_BYTES {
            return Err(VerifyError::InvalidNonce);
        }
        let (cert, status) = self.standing_certificate(&token.certificate_der, now)?;
        cert.key
            .verify_sig(&signed_value(expected_origin, nonce), &token.signature)
            .map_err(|_| VerifyError::BadSignature)?;
        Ok(Self::verified(&cert, status))
    }

    /// Steps 2–6 for a certificate read from a card without its PIN (the
    /// staff app's 目視確認): chain, validity and revocation. No signature
    /// is checked, so the result proves only that such a card was read; who
    /// holds it rests on the staff member who compared the face photo.
    pub fn verify_certificate(
        &self,
        certificate_der: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, VerifyError> {
        let (cert, status) = self.standing_certificate(certificate_der, now)?;
        Ok(Self::verified(&cert, status))
    }

    /// Steps 2–6: the checked certificate and its standing at `now`.
    fn standing_certificate(
        &self,
        der: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(Arc<CheckedCertificate>, CertificateStatus), VerifyError> {
        let cert = self.checked_certificate(der)?;
        let status = classify(cert.not_before, cert.not_after, now).map_err(|e| match e {
            ValidityError::NotYetValid => VerifyError::NotYetValid,
            ValidityError::Expired { days_since_expiry } => {
                VerifyError::Expired { days_since_expiry }
            }
        })?;
        match self.revocation.is_revoked(&cert.issuer_cn, &cert.serial) {
            Ok(false) => {}
            Ok(true) => return Err(VerifyError::Revoked),
            Err(e) => return Err(VerifyError::RevocationUnavailable(e.0)),
        }
        Ok((cert, status))
    }

    fn verified(cert: &CheckedCertificate, status: CertificateStatus) -> Verified {
        Verified {
            serial: cert.serial.clone(),
            issuer_cn: cert.issuer_cn.clone(),
            subject_cn: cert.subject_cn.clone(),
            not_before: cert.not_before,
            not_after: cert.not_after,
            status,
            fingerprint: cert.fingerprint.clone(),
        }
    }

    /// Steps 2–4, from the cache when this exact certificate passed them before.
    fn checked_certificate(&self, der: &[u8]) -> Result<Arc<CheckedCertificate>, VerifyError> {
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(digest(&SHA256, der).as_ref());
        // The cache maps immutable values; a panic elsewhere cannot leave an
        // entry half-written, so a poisoned lock is still usable.
        if let Some(hit) = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&fingerprint)
        {
            return Ok(Arc::clone(hit));
        }
        // Only successes are cached: failures are cheap to recompute and
        // caching them would let anyone fill the cache with garbage.
        let checked = Arc::new(self.check_certificate(der, &fingerprint)?);
        if self.cache_capacity > 0 {
            let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= self.cache_capacity {
                cache.clear();
            }
            cache.insert(fingerprint, Arc::clone(&checked));
        }
        Ok(checked)
    }

    fn check_certificate(
        &self,
        der: &[u8],
        fingerprint: &[u8; 32],
    ) -> Result<CheckedCertificate, VerifyError> {
        // Step 2: decode.
        let cert = match X509Certificate::from_der(der) {
            Ok(([], cert)) => cert,
            _ => return Err(VerifyError::CertificateMalformed),
        };
        let raw_serial = cert.raw_serial();
        // RFC 5280 serials are positive integers.
        if raw_serial.first().is_none_or(|b| b & 0x80 != 0) {
            return Err(VerifyError::CertificateMalformed);
        }
        let validity = cert.validity();
        let not_before = DateTime::from_timestamp(validity.not_before.timestamp(), 0)
            .ok_or(VerifyError::CertificateMalformed)?;
        let not_after = DateTime::from_timestamp(validity.not_after.timestamp(), 0)
            .ok_or(VerifyError::CertificateMalformed)?;
        if cert.signature_algorithm.algorithm != OID_PKCS1_SHA256WITHRSA
            || cert.tbs_certificate.signature.algorithm != OID_PKCS1_SHA256WITHRSA
        {
            return Err(VerifyError::UnsupportedCertificate);
        }
        let key = rsa2048_key(cert.public_key()).ok_or(VerifyError::UnsupportedCertificate)?;

        // Step 3: purpose.
        match cert.key_usage() {
            Ok(Some(ku)) if ku.value.digital_signature() => {}
            Ok(_) => return Err(VerifyError::KeyUsage),
            // A repeated extension.
            Err(_) => return Err(VerifyError::CertificateMalformed),
        }
        match cert.extended_key_usage() {
            Ok(Some(eku)) if eku.value.client_auth => {}
            Ok(_) => return Err(VerifyError::ExtendedKeyUsage),
            Err(_) => return Err(VerifyError::CertificateMalformed),
        }

        // Step 4: chain. Several anchors may share a name (a re-keyed CA), so
        // try every anchor whose subject matches before giving up.
        let issuer = cert.issuer().as_raw();
        let mut anchor = None;
        let mut name_matched = false;
        for candidate in self.anchors.iter().filter(|a| a.subject == issuer) {
            name_matched = true;
            if candidate
                .key
                .verify_sig(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
                .is_ok()
            {
                anchor = Some(candidate);
                break;
            }
        }
        let anchor = match (anchor, name_matched) {
            (Some(a), _) => a,
            (None, true) => return Err(VerifyError::ChainSignature),
            (None, false) => return Err(VerifyError::UnknownIssuer),
        };

        Ok(CheckedCertificate {
            serial: serial_hex_from_bytes(raw_serial),
            issuer_cn: anchor.common_name.clone(),
            subject_cn: common_name(cert.subject()),
            not_before,
            not_after,
            key,
            fingerprint: crate::hex(fingerprint),
        })
    }
}

fn parse_anchor(der: &[u8]) -> Result<Anchor, CardError> {
    let invalid = |why: &str| CardError::InvalidCaCertificate(why.to_owned());
    let cert = match X509Certificate::from_der(der) {
        Ok(([], cert)) => cert,
        _ => return Err(invalid("トラストアンカーの証明書を読み取れません")),
    };
    let spki = cert.public_key();
    if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
        return Err(invalid("トラストアンカーの鍵が RSA ではありません"));
    }
    let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &*spki.subject_public_key.data)
        .map_err(|_| invalid("トラストアンカーの鍵を読み取れません（RSA 2048〜8192 ビット）"))?;
    Ok(Anchor {
        subject: cert.subject().as_raw().to_vec(),
        common_name: common_name(cert.subject()),
        key,
    })
}

/// The verification key of an RSA SubjectPublicKeyInfo with a 2048-bit modulus.
fn rsa2048_key(spki: &SubjectPublicKeyInfo<'_>) -> Option<ParsedPublicKey> {
    if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
        return None;
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) if is_rsa2048(rsa.modulus) => {
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &*spki.subject_public_key.data).ok()
        }
        _ => None,
    }
}

/// Whether a big-endian modulus (possibly with DER's leading zero byte) is exactly 2048 bits.
pub(crate) fn is_rsa2048(modulus: &[u8]) -> bool {
    let start = modulus
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(modulus.len());
    let significant = modulus.get(start..).unwrap_or_default();
    significant.len() == 256 && significant.first().is_some_and(|b| b & 0x80 != 0)
}

fn common_name(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests;
