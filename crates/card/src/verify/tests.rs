//! Every path through the verifier.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};

use super::*;
use crate::ca::{CertificateAuthority, user_certificate_params};
use crate::card::{CardKeys, spki_from_pkcs8};
use crate::revocation::{LocalRevocationList, RevocationError};
use crate::testutil::{self, d};
use crate::token::{build_token, new_nonce};
use crate::validity::{end_of_day_jst, start_of_day_jst};

const ORIGIN: &str = "https://zaitaku.example";

/// Noon JST on a day.
fn at(y: i32, m: u32, day: u32) -> DateTime<Utc> {
    start_of_day_jst(d(y, m, day)) + chrono::Duration::hours(12)
}

/// A day when the standard test card (issued 2026-11-21, valid to 2031-03-10) is plainly valid.
fn today() -> DateTime<Utc> {
    at(2027, 6, 1)
}

struct Setup {
    verifier: Verifier,
    revoked: Arc<LocalRevocationList>,
}

fn verifier_with(anchors: &[&CertificateAuthority]) -> Setup {
    let revoked = Arc::new(LocalRevocationList::new());
    let verifier = Verifier::new(
        anchors.iter().map(|ca| ca.cert_der().to_vec()).collect(),
        revoked.clone(),
    )
    .unwrap();
    Setup { verifier, revoked }
}

fn both_anchors() -> Setup {
    verifier_with(&[testutil::ca_2023(), testutil::ca_2026()])
}

fn nonce() -> [u8; 32] {
    new_nonce().unwrap()
}

fn token_for(keys: &CardKeys, nonce: &[u8]) -> String {
    build_token(keys, ORIGIN, nonce).unwrap()
}

/// A token with the certificate replaced by `cert_der` (signature made with card key `i`).
fn token_with_cert(cert_der: Vec<u8>, key: usize, nonce: &[u8]) -> String {
    let keys = CardKeys {
        pkcs8: testutil::card_pkcs8(key),
        cert_der,
    };
    token_for(&keys, nonce)
}

fn code(result: Result<Verified, VerifyError>) -> &'static str {
    result.unwrap_err().code()
}

#[test]
fn good_token_is_accepted() {
    let s = both_anchors();
    let keys = testutil::user_keys(0);
    let n = nonce();
    let v = s
        .verifier
        .verify(&token_for(&keys, &n), ORIGIN, &n, today())
        .unwrap();
    assert_eq!(v.status, CertificateStatus::Valid);
    assert_eq!(v.serial, "64");
    assert_eq!(v.issuer_cn, testutil::CA_2023_NAME);
    assert_eq!(v.subject_cn, "UA-64");
    assert_eq!(v.not_before, start_of_day_jst(d(2026, 11, 21)));
    assert_eq!(v.not_after, end_of_day_jst(d(2031, 3, 10)));
    assert_eq!(
        v.fingerprint,
        crate::hex(aws_lc_rs::digest::digest(&SHA256, &keys.cert_der).as_ref())
    );
    assert!(v.status.allows_medical_information());
}

#[test]
fn tampered_signature_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let mut token = crate::token::parse_token(&token_for(&testutil::user_keys(0), &n)).unwrap();
    token.signature[100] ^= 0x01;
    let err = s
        .verifier
        .verify(&token.to_json(), ORIGIN, &n, today())
        .unwrap_err();
    assert_eq!(err, VerifyError::BadSignature);
    assert_eq!(err.code(), "Z-C-0019");
    assert_eq!(
        err.to_string(),
        "認証に失敗しました。もう一度最初からやり直してください。"
    );
}

#[test]
fn signature_by_another_key_is_refused() {
    let s = both_anchors();
    let n = nonce();
    // Card 0's certificate with a signature made by card 1's key.
    let token = token_with_cert(testutil::user_keys(0).cert_der, 1, &n);
    assert_eq!(
        s.verifier.verify(&token, ORIGIN, &n, today()),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn wrong_origin_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let token = token_for(&testutil::user_keys(0), &n);
    for origin in [
        "https://evil.example",
        "https://zaitaku.example/",
        "http://zaitaku.example",
        "",
    ] {
        assert_eq!(
            s.verifier.verify(&token, origin, &n, today()),
            Err(VerifyError::BadSignature),
            "{origin}"
        );
    }
}

#[test]
fn different_nonce_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let token = token_for(&testutil::user_keys(0), &n);
    let other = nonce();
    assert_eq!(
        s.verifier.verify(&token, ORIGIN, &other, today()),
        Err(VerifyError::BadSignature)
    );
    // The base64 text of the nonce is not the nonce.
    let text = crate::token::nonce_to_base64(&n);
    assert_eq!(
        s.verifier.verify(&token, ORIGIN, text.as_bytes(), today()),
        Err(VerifyError::InvalidNonce)
    );
    assert_eq!(
        code(s.verifier.verify(&token, ORIGIN, &[], today())),
        "Z-C-0020"
    );
}

#[test]
fn unknown_anchor_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let pkcs8 = testutil::card_pkcs8(0);
    let foreign = CardKeys::certify(
        testutil::rogue_ca(),
        pkcs8,
        5,
        d(2026, 11, 21),
        d(1980, 1, 1),
    )
    .unwrap();
    let err = s
        .verifier
        .verify(&token_for(&foreign, &n), ORIGIN, &n, today())
        .unwrap_err();
    assert_eq!(err, VerifyError::UnknownIssuer);
    assert_eq!(err.code(), "Z-C-0013");
    assert_eq!(err.stage(), "chain");
}

#[test]
fn impostor_with_an_anchor_name_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let forged = CardKeys::certify(
        testutil::impostor_ca(),
        testutil::card_pkcs8(0),
        100,
        d(2026, 11, 21),
        d(1950, 3, 10),
    )
    .unwrap();
    assert_eq!(
        s.verifier
            .verify(&token_for(&forged, &n), ORIGIN, &n, today()),
        Err(VerifyError::ChainSignature)
    );
}

#[test]
fn second_anchor_is_accepted() {
    let s = both_anchors();
    let n = nonce();
    let keys = CardKeys::certify(
        testutil::ca_2026(),
        testutil::card_pkcs8(1),
        0xabcdef,
        d(2026, 11, 21),
        d(1985, 7, 7),
    )
    .unwrap();
    let v = s
        .verifier
        .verify(&token_for(&keys, &n), ORIGIN, &n, today())
        .unwrap();
    assert_eq!(v.issuer_cn, testutil::CA_2026_NAME);
    assert_eq!(v.serial, "abcdef");
    // And a card from the first anchor still works with the same verifier.
    let old = testutil::user_keys(0);
    let v = s
        .verifier
        .verify(&token_for(&old, &n), ORIGIN, &n, today())
        .unwrap();
    assert_eq!(v.issuer_cn, testutil::CA_2023_NAME);
    // With only the new anchor configured, the old card is refused.
    let only_new = verifier_with(&[testutil::ca_2026()]);
    assert_eq!(
        only_new
            .verifier
            .verify(&token_for(&old, &n), ORIGIN, &n, today()),
        Err(VerifyError::UnknownIssuer)
    );
    assert_eq!(
        s.verifier.anchor_names(),
        vec![testutil::CA_2023_NAME, testutil::CA_2026_NAME]
    );
}

#[test]
fn revoked_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let keys = testutil::user_keys(0);
    let token = token_for(&keys, &n);
    assert!(s.verifier.verify(&token, ORIGIN, &n, today()).is_ok());
    // Revoked after the certificate is in the cache: still refused.
    s.revoked.add(testutil::CA_2023_NAME, "64");
    let err = s.verifier.verify(&token, ORIGIN, &n, today()).unwrap_err();
    assert_eq!(err, VerifyError::Revoked);
    assert_eq!(err.code(), "Z-C-0017");
    assert_eq!(err.to_string(), "この電子証明書は失効しています。");
    // The same serial from another CA is a different certificate.
    assert!(!s.revoked.contains(testutil::CA_2026_NAME, "64"));
    s.revoked.remove(testutil::CA_2023_NAME, "64");
    assert!(s.verifier.verify(&token, ORIGIN, &n, today()).is_ok());
}

#[test]
fn revocation_checked_before_signature() {
    let s = both_anchors();
    let n = nonce();
    s.revoked.add(testutil::CA_2023_NAME, "64");
    let token = token_for(&testutil::user_keys(0), &n);
    // Wrong origin too, but revocation comes first.
    assert_eq!(
        s.verifier
            .verify(&token, "https://evil.example", &n, today()),
        Err(VerifyError::Revoked)
    );
}

struct Unreachable;

impl RevocationProvider for Unreachable {
    fn is_revoked(&self, _issuer: &str, _serial_hex: &str) -> Result<bool, RevocationError> {
        Err(RevocationError("OCSP responder timed out".into()))
    }
}

#[test]
fn unavailable_revocation_data_refuses() {
    let verifier = Verifier::new(
        vec![testutil::ca_2023().cert_der().to_vec()],
        Arc::new(Unreachable),
    )
    .unwrap();
    let n = nonce();
    let err = verifier
        .verify(&token_for(&testutil::user_keys(0), &n), ORIGIN, &n, today())
        .unwrap_err();
    assert!(matches!(err, VerifyError::RevocationUnavailable(_)));
    assert_eq!(err.code(), "Z-C-0018");
}

#[test]
fn expiring_is_accepted_with_status() {
    let s = both_anchors();
    let n = nonce();
    let v = s
        .verifier
        .verify(
            &token_for(&testutil::user_keys(0), &n),
            ORIGIN,
            &n,
            at(2031, 1, 15),
        )
        .unwrap();
    assert_eq!(v.status, CertificateStatus::Expiring { days_left: 54 });
    assert_eq!(v.status.warning_ja(), Some(crate::EXPIRING_WARNING_JA));
    assert!(v.status.allows_medical_information());
}

#[test]
fn grace_is_accepted_without_medical_information() {
    let s = both_anchors();
    let n = nonce();
    let v = s
        .verifier
        .verify(
            &token_for(&testutil::user_keys(0), &n),
            ORIGIN,
            &n,
            at(2031, 4, 1),
        )
        .unwrap();
    assert_eq!(
        v.status,
        CertificateStatus::Grace {
            days_since_expiry: 22
        }
    );
    assert_eq!(v.status.warning_ja(), Some(crate::GRACE_WARNING_JA));
    assert!(!v.status.allows_medical_information());
}

#[test]
fn expired_beyond_grace_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let token = token_for(&testutil::user_keys(0), &n);
    let err = s
        .verifier
        .verify(&token, ORIGIN, &n, at(2031, 7, 1))
        .unwrap_err();
    assert_eq!(
        err,
        VerifyError::Expired {
            days_since_expiry: 113
        }
    );
    assert_eq!(err.code(), "Z-C-0016");
    assert_eq!(
        err.to_string(),
        "マイナンバーカードの電子証明書の有効期限が切れています。住民票がある市区町村の窓口で更新してください。"
    );
    // Expiry is checked before revocation and signature.
    s.revoked.add(testutil::CA_2023_NAME, "64");
    assert_eq!(
        code(
            s.verifier
                .verify(&token, "https://evil.example", &n, at(2031, 7, 1))
        ),
        "Z-C-0016"
    );
}

#[test]
fn not_yet_valid_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let token = token_for(&testutil::user_keys(0), &n);
    let err = s
        .verifier
        .verify(&token, ORIGIN, &n, at(2026, 11, 20))
        .unwrap_err();
    assert_eq!(err, VerifyError::NotYetValid);
    assert_eq!(err.code(), "Z-C-0015");
    // From 00:00 JST on the day of issue it is valid.
    assert!(
        s.verifier
            .verify(&token, ORIGIN, &n, start_of_day_jst(d(2026, 11, 21)))
            .is_ok()
    );
}

/// A certificate from CA 2023 for card key 2 with the user profile changed by `change`.
fn odd_certificate(change: impl FnOnce(&mut rcgen::CertificateParams)) -> Vec<u8> {
    let ca = testutil::ca_2023();
    let mut params = user_certificate_params(900).unwrap();
    params.not_before =
        time::OffsetDateTime::from_unix_timestamp(start_of_day_jst(d(2026, 11, 21)).timestamp())
            .unwrap();
    params.not_after =
        time::OffsetDateTime::from_unix_timestamp(end_of_day_jst(d(2031, 3, 10)).timestamp())
            .unwrap();
    change(&mut params);
    ca.sign_params(&params, &spki_from_pkcs8(&testutil::card_pkcs8(2)).unwrap())
        .unwrap()
}

#[test]
fn wrong_key_usage_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let cases: Vec<(Vec<u8>, VerifyError)> = vec![
        (
            odd_certificate(|p| p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]),
            VerifyError::KeyUsage,
        ),
        (
            odd_certificate(|p| p.key_usages = vec![]),
            VerifyError::KeyUsage,
        ),
        (
            odd_certificate(|p| p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth]),
            VerifyError::ExtendedKeyUsage,
        ),
        (
            odd_certificate(|p| p.extended_key_usages = vec![]),
            VerifyError::ExtendedKeyUsage,
        ),
        // Both wrong: key usage is checked first.
        (
            odd_certificate(|p| {
                p.key_usages = vec![KeyUsagePurpose::ContentCommitment];
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
            }),
            VerifyError::KeyUsage,
        ),
    ];
    for (cert, expected) in cases {
        let token = token_with_cert(cert, 2, &n);
        assert_eq!(
            s.verifier.verify(&token, ORIGIN, &n, today()),
            Err(expected.clone())
        );
        assert_eq!(expected.stage(), "usage");
    }
    // The control: the same construction with the normal profile is accepted.
    let token = token_with_cert(odd_certificate(|_| {}), 2, &n);
    assert!(s.verifier.verify(&token, ORIGIN, &n, today()).is_ok());
    // Usage is checked before the chain: a rogue CA's wrong-usage certificate
    // reports the usage.
    let mut params = user_certificate_params(901).unwrap();
    params.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let rogue = testutil::rogue_ca()
        .sign_params(&params, &spki_from_pkcs8(&testutil::card_pkcs8(2)).unwrap())
        .unwrap();
    assert_eq!(
        s.verifier
            .verify(&token_with_cert(rogue, 2, &n), ORIGIN, &n, today()),
        Err(VerifyError::KeyUsage)
    );
}

#[test]
fn non_rsa2048_certificate_is_refused() {
    let s = both_anchors();
    let n = nonce();
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = user_certificate_params(902).unwrap();
    params.not_before =
        time::OffsetDateTime::from_unix_timestamp(start_of_day_jst(d(2026, 11, 21)).timestamp())
            .unwrap();
    let cert = params.signed_by(&ec, &testutil::ca_2023().issuer).unwrap();
    let err = s
        .verifier
        .verify(
            &token_with_cert(cert.der().to_vec(), 0, &n),
            ORIGIN,
            &n,
            today(),
        )
        .unwrap_err();
    assert_eq!(err, VerifyError::UnsupportedCertificate);
    assert_eq!(err.code(), "Z-C-0010");
}

#[test]
fn malformed_inputs_have_their_own_codes() {
    let s = both_anchors();
    let n = nonce();
    let good = token_for(&testutil::user_keys(0), &n);
    let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
    let mut with = |member: &str, value: String| {
        let saved = json[member].clone();
        json[member] = serde_json::Value::String(value);
        let out = json.to_string();
        json[member] = saved;
        out
    };
    let garbage_cert = with(
        "unverifiedCertificate",
        STANDARD.encode(b"certificate garbage"),
    );
    let mut trailing = testutil::user_keys(0).cert_der;
    trailing.push(0);
    let trailing_cert = with("unverifiedCertificate", STANDARD.encode(&trailing));
    let empty_cert = with("unverifiedCertificate", String::new());
    let cases: Vec<(String, &str)> = vec![
        ("not JSON".into(), "Z-C-0002"),
        (good.replace("\"signature\"", "\"sig\""), "Z-C-0003"),
        (with("format", "web-eid:1.0".into()), "Z-C-0004"),
        (with("algorithm", "ES256".into()), "Z-C-0005"),
        (with("unverifiedCertificate", "***".into()), "Z-C-0006"),
        (with("signature", "not base64".into()), "Z-C-0006"),
        (format!("{good}{}", " ".repeat(8 * 1024)), "Z-C-0001"),
        (
            with("unverifiedCertificate", STANDARD.encode(vec![0x30; 4097])),
            "Z-C-0007",
        ),
        (
            with("signature", STANDARD.encode(vec![1u8; 128])),
            "Z-C-0008",
        ),
        (garbage_cert, "Z-C-0009"),
        (trailing_cert, "Z-C-0009"),
        (empty_cert, "Z-C-0009"),
    ];
    for (token, expected) in cases {
        let err = s.verifier.verify(&token, ORIGIN, &n, today()).unwrap_err();
        assert_eq!(err.code(), expected, "{token:.100}");
        // Every message is Japanese text for the patient.
        assert!(err.to_string().ends_with('。'), "{err}");
    }
    // A truncated signature: cut the base64 short.
    let sig = json["signature"].as_str().unwrap().to_owned();
    let truncated = good.replace(&sig, &sig[..sig.len() - 4]);
    assert_eq!(
        code(s.verifier.verify(&truncated, ORIGIN, &n, today())),
        "Z-C-0008"
    );
    let truncated = good.replace(&sig, &sig[..sig.len() - 1]);
    assert_eq!(
        code(s.verifier.verify(&truncated, ORIGIN, &n, today())),
        "Z-C-0006"
    );
}

#[test]
fn mutated_tokens_never_panic() {
    let s = both_anchors();
    let n = nonce();
    let good = token_for(&testutil::user_keys(0), &n).into_bytes();
    let token = crate::token::parse_token(std::str::from_utf8(&good).unwrap()).unwrap();
    // A small xorshift so the test is deterministic without another dependency.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accepted = 0;
    for _ in 0..3000 {
        // Mutate either the JSON text or the certificate DER inside a well-formed token.
        let candidate = if next() % 2 == 0 {
            let mut bytes = good.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut t = token.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % t.certificate_der.len();
                t.certificate_der[i] = next() as u8;
            }
            if next() % 4 == 0 {
                let len = (next() as usize) % t.certificate_der.len();
                t.certificate_der.truncate(len);
            }
            t.to_json()
        };
        if s.verifier.verify(&candidate, ORIGIN, &n, today()).is_ok() {
            accepted += 1;
        }
    }
    // Mutations landing in JSON whitespace-free base64 padding-free places can
    // survive only if they leave the signed bytes intact, which is very rare.
    assert!(accepted < 30, "{accepted}");
}

#[test]
fn cache_skips_the_chain_but_not_the_rest() {
    let s = both_anchors();
    let n = nonce();
    let keys = testutil::user_keys(1);
    let token = token_for(&keys, &n);
    assert_eq!(s.verifier.cached_certificates(), 0);
    assert!(s.verifier.verify(&token, ORIGIN, &n, today()).is_ok());
    assert_eq!(s.verifier.cached_certificates(), 1);
    assert!(s.verifier.verify(&token, ORIGIN, &n, today()).is_ok());
    assert_eq!(s.verifier.cached_certificates(), 1);
    // Cached, and still: validity, signature, origin and nonce are checked.
    assert_eq!(
        code(s.verifier.verify(&token, ORIGIN, &n, at(2031, 7, 1))),
        "Z-C-0016"
    );
    assert_eq!(
        code(s.verifier.verify(&token, ORIGIN, &n, at(2026, 1, 1))),
        "Z-C-0015"
    );
    assert_eq!(
        code(
            s.verifier
                .verify(&token, "https://evil.example", &n, today())
        ),
        "Z-C-0019"
    );
    assert_eq!(
        code(s.verifier.verify(&token, ORIGIN, &nonce(), today())),
        "Z-C-0019"
    );
    // Failures are not cached.
    let foreign = CardKeys::certify(
        testutil::rogue_ca(),
        testutil::card_pkcs8(0),
        5,
        d(2026, 11, 21),
        d(1980, 1, 1),
    )
    .unwrap();
    assert_eq!(
        code(
            s.verifier
                .verify(&token_for(&foreign, &n), ORIGIN, &n, today())
        ),
        "Z-C-0013"
    );
    assert_eq!(s.verifier.cached_certificates(), 1);
}

#[test]
fn cache_is_bounded() {
    let s = both_anchors();
    let verifier = s.verifier.with_cache_capacity(2);
    let n = nonce();
    for i in 0..3 {
        let keys = testutil::user_keys(i);
        assert!(
            verifier
                .verify(&token_for(&keys, &n), ORIGIN, &n, today())
                .is_ok()
        );
        assert!(verifier.cached_certificates() <= 2);
    }
    let no_cache = both_anchors().verifier.with_cache_capacity(0);
    assert!(
        no_cache
            .verify(&token_for(&testutil::user_keys(0), &n), ORIGIN, &n, today())
            .is_ok()
    );
    assert_eq!(no_cache.cached_certificates(), 0);
}

#[test]
fn smartphone_certificates_are_separate_cards() {
    // One person: a physical card and an Android certificate, different keys and serials.
    let s = both_anchors();
    let n = nonce();
    let physical = testutil::user_keys(0);
    let android = CardKeys::certify(
        testutil::ca_2023(),
        testutil::card_pkcs8(2),
        200,
        d(2026, 11, 21),
        d(1950, 3, 10),
    )
    .unwrap();
    let a = s
        .verifier
        .verify(&token_for(&physical, &n), ORIGIN, &n, today())
        .unwrap();
    let b = s
        .verifier
        .verify(&token_for(&android, &n), ORIGIN, &n, today())
        .unwrap();
    assert_ne!(a.serial, b.serial);
    assert_ne!(a.fingerprint, b.fingerprint);
    // Revoking the smartphone certificate leaves the card usable.
    s.revoked.add(&b.issuer_cn, &b.serial);
    assert_eq!(
        code(
            s.verifier
                .verify(&token_for(&android, &n), ORIGIN, &n, today())
        ),
        "Z-C-0017"
    );
    assert!(
        s.verifier
            .verify(&token_for(&physical, &n), ORIGIN, &n, today())
            .is_ok()
    );
}

#[test]
fn verifier_is_shared_across_threads() {
    let s = Arc::new(both_anchors());
    let n = nonce();
    let token = Arc::new(token_for(&testutil::user_keys(0), &n));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(&s);
            let token = Arc::clone(&token);
            std::thread::spawn(move || {
                (0..20).all(|_| s.verifier.verify(&token, ORIGIN, &n, today()).is_ok())
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}

#[test]
fn bad_anchors_are_refused() {
    let list: Arc<dyn RevocationProvider> = Arc::new(LocalRevocationList::new());
    assert!(matches!(
        Verifier::new(vec![b"garbage".to_vec()], list.clone()),
        Err(CardError::InvalidCaCertificate(_))
    ));
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ec_anchor = rcgen::CertificateParams::default()
        .self_signed(&ec)
        .unwrap();
    assert!(matches!(
        Verifier::new(vec![ec_anchor.der().to_vec()], list.clone()),
        Err(CardError::InvalidCaCertificate(_))
    ));
    // No anchors at all is allowed and trusts nothing.
    let empty = Verifier::new(vec![], list).unwrap();
    let n = nonce();
    assert_eq!(
        code(empty.verify(&token_for(&testutil::user_keys(0), &n), ORIGIN, &n, today())),
        "Z-C-0013"
    );
}

#[test]
fn codes_are_distinct_and_stable() {
    let all = [
        VerifyError::Format(TokenError::TooLarge),
        VerifyError::Format(TokenError::NotJson),
        VerifyError::Format(TokenError::InvalidStructure),
        VerifyError::Format(TokenError::UnsupportedFormat),
        VerifyError::Format(TokenError::UnsupportedAlgorithm),
        VerifyError::Format(TokenError::InvalidBase64),
        VerifyError::Format(TokenError::CertificateTooLarge),
        VerifyError::Format(TokenError::SignatureLength),
        VerifyError::CertificateMalformed,
        VerifyError::UnsupportedCertificate,
        VerifyError::KeyUsage,
        VerifyError::ExtendedKeyUsage,
        VerifyError::UnknownIssuer,
        VerifyError::ChainSignature,
        VerifyError::NotYetValid,
        VerifyError::Expired {
            days_since_expiry: 100,
        },
        VerifyError::Revoked,
        VerifyError::RevocationUnavailable(String::new()),
        VerifyError::BadSignature,
        VerifyError::InvalidNonce,
    ];
    let codes: Vec<&str> = all.iter().map(VerifyError::code).collect();
    let expected: Vec<String> = (1..=20).map(|i| format!("Z-C-{i:04}")).collect();
    assert_eq!(codes, expected);
    for e in &all {
        assert!(!e.to_string().is_empty());
        assert!(!e.stage().is_empty());
    }
}

/// Builds a token with the openssl command line only, following the documented
/// recipe, and checks the verifier accepts it; also checks openssl accepts our
/// certificate chain for client authentication. Fails without openssl
/// (scripts/ensure-packages installs it): a skip would pass unseen.
#[test]
fn token_built_with_openssl_is_accepted() {
    use std::process::Command;
    let version = Command::new("openssl").arg("version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "this test needs the openssl command ({version:?}); run scripts/ensure-packages"
    );
    let dir = tempfile::tempdir().unwrap();
    let keys = testutil::user_keys(0);
    std::fs::write(dir.path().join("card.p8.der"), &keys.pkcs8).unwrap();
    std::fs::write(dir.path().join("card.cer"), &keys.cert_der).unwrap();
    std::fs::write(dir.path().join("ca.cer"), testutil::ca_2023().cert_der()).unwrap();
    let n = nonce();
    let script = r#"
set -eu
# PEM forms, as a user would usually hold them.
openssl pkey -inform DER -in card.p8.der -out card.key
openssl x509 -inform DER -in card.cer -out card.pem
openssl x509 -inform DER -in ca.cer -out ca.pem
# The signed value: SHA-256(origin) || SHA-256(nonce bytes), 64 bytes.
printf '%s' "$ORIGIN" | openssl dgst -sha256 -binary > tbs.bin
printf '%s' "$NONCE_B64" | openssl base64 -d -A | openssl dgst -sha256 -binary >> tbs.bin
# RS256 = RSASSA-PKCS1-v1_5 with SHA-256 over those 64 bytes.
openssl dgst -sha256 -sign card.key -out sig.bin tbs.bin
CERT_B64=$(openssl x509 -in card.pem -outform DER | openssl base64 -A)
SIG_B64=$(openssl base64 -A -in sig.bin)
printf '{"format":"zaitaku-auth-token:1","unverifiedCertificate":"%s","algorithm":"RS256","signature":"%s"}' \
  "$CERT_B64" "$SIG_B64" > token.json
# The profile as openssl sees it: chains to the anchor, fit for TLS client auth.
openssl verify -attime "$AT" -CAfile ca.pem -purpose sslclient card.pem >&2
"#;
    let when = today();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir.path())
        .env("ORIGIN", ORIGIN)
        .env("NONCE_B64", crate::token::nonce_to_base64(&n))
        .env("AT", when.timestamp().to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = std::fs::read_to_string(dir.path().join("token.json")).unwrap();
    let s = both_anchors();
    let v = s.verifier.verify(&token, ORIGIN, &n, when).unwrap();
    assert_eq!(v.serial, "64");
    // Same bytes as our own builder: PKCS#1 v1.5 signatures are deterministic.
    assert_eq!(token, token_for(&keys, &n));
}
