//! Arbitrary bytes into the token parser and the verifier's early stages.
//! Nothing may panic; whatever the input, the answer is a result.
#![no_main]

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, NaiveDate, Utc};
use libfuzzer_sys::fuzz_target;
use zaitaku_card::{
    AuthToken, CertificateAuthority, LocalRevocationList, Verifier, parse_token_bytes,
};

const ORIGIN: &str = "https://zaitaku.example";
const NONCE: [u8; 32] = [7; 32];

/// One anchor generated at start-up (RSA key generation takes a moment, once).
static VERIFIER: LazyLock<Option<Verifier>> = LazyLock::new(|| {
    let from = NaiveDate::from_ymd_opt(2023, 1, 4)?;
    let to = NaiveDate::from_ymd_opt(2043, 1, 3)?;
    let ca = CertificateAuthority::generate("fuzz CA", from, to).ok()?;
    Verifier::new(
        vec![ca.cert_der().to_vec()],
        Arc::new(LocalRevocationList::new()),
    )
    .ok()
});

fuzz_target!(|data: &[u8]| {
    // Stage 1 alone, on raw bytes.
    let _ = parse_token_bytes(data);
    let Some(verifier) = VERIFIER.as_ref() else {
        return;
    };
    let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    // The whole verifier on the bytes as a token.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verifier.verify(text, ORIGIN, &NONCE, now);
    }
    // The bytes as the certificate of a well-formed token: reaches the
    // certificate decode, purpose and chain stages directly.
    let token = AuthToken {
        certificate_der: data.to_vec(),
        signature: vec![0; 256],
        app_version: None,
    };
    let _ = verifier.verify_token(&token, ORIGIN, &NONCE, now);
});
