//! Verification throughput, single thread.
//!
//! `token/warm_cache` is the figure the goal (≥ 34,000 verifications/s) is
//! about: a valid token whose certificate was seen before, so decode, purpose
//! and chain come from the cache while validity, revocation (a local list of
//! 10,000 entries) and the token signature are checked. The RSA-2048 verify
//! alone is measured beside it, as is a cold cache (every check every time).

// Benches are not compiled as tests, so allow-expect-in-tests does not reach
// them: a setup step that fails leaves nothing to measure, and `expect` stops
// the run with the reason.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use x509_parser::prelude::{FromDer, X509Certificate};
use zaitaku_card::{
    CardKeys, CertificateAuthority, LocalRevocationList, Verifier, build_token, new_nonce,
    parse_token, signed_value,
};

const ORIGIN: &str = "https://zaitaku.example";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn bench(c: &mut Criterion) {
    let ca_old = CertificateAuthority::generate(
        "JPKI stand-in 利用者証明用認証局 2023",
        day(2023, 1, 4),
        day(2043, 1, 3),
    )
    .expect("CA");
    let ca_new = CertificateAuthority::generate(
        "JPKI stand-in 利用者証明用認証局 2026",
        day(2026, 1, 5),
        day(2046, 1, 4),
    )
    .expect("CA");
    let keys = CardKeys::issue(&ca_new, 4242, day(2026, 11, 21), day(1950, 3, 10)).expect("card");
    let revoked = Arc::new(LocalRevocationList::new());
    for serial in 0..10_000u64 {
        revoked.add(ca_new.name(), &zaitaku_card::serial_hex(1_000_000 + serial));
    }
    let anchors = vec![ca_old.cert_der().to_vec(), ca_new.cert_der().to_vec()];
    let verifier = Verifier::new(anchors.clone(), revoked.clone()).expect("verifier");
    let cold = Verifier::new(anchors, revoked)
        .expect("verifier")
        .with_cache_capacity(0);
    let nonce = new_nonce().expect("nonce");
    let token = build_token(&keys, ORIGIN, &nonce).expect("token");
    let now = Utc
        .with_ymd_and_hms(2027, 6, 1, 3, 0, 0)
        .single()
        .expect("time");
    verifier
        .verify(&token, ORIGIN, &nonce, now)
        .expect("valid token");

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("token/warm_cache", |b| {
        b.iter(|| verifier.verify(black_box(&token), ORIGIN, black_box(&nonce), now))
    });
    group.bench_function("token/cold_cache", |b| {
        b.iter(|| cold.verify(black_box(&token), ORIGIN, black_box(&nonce), now))
    });
    group.bench_function("token/parse_only", |b| {
        b.iter(|| parse_token(black_box(&token)))
    });

    let (_, cert) = X509Certificate::from_der(&keys.cert_der).expect("cert");
    let spk = cert.public_key().subject_public_key.data.to_vec();
    let message = signed_value(ORIGIN, &nonce);
    let signature = keys.sign(&message).expect("sign");
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spk).expect("key");
    group.bench_function("rsa2048/parsed_key", |b| {
        b.iter(|| parsed.verify_sig(black_box(&message), black_box(&signature)))
    });
    let unparsed = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spk);
    group.bench_function("rsa2048/unparsed_key", |b| {
        b.iter(|| unparsed.verify(black_box(&message), black_box(&signature)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
