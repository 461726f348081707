//! Shared test fixtures. RSA key generation is the slow part of the tests, so
//! a handful of keys is generated once per test binary and reused.

use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::ca::CertificateAuthority;
use crate::card::{CardKeys, generate_rsa2048_pkcs8};

pub const CA_2023_NAME: &str = "JPKI stand-in 利用者証明用認証局 2023";
pub const CA_2026_NAME: &str = "JPKI stand-in 利用者証明用認証局 2026";
pub const ROGUE_NAME: &str = "Somebody else's CA";

/// Keys: 0 = CA 2023, 1 = CA 2026, 2 = rogue CA, 3.. = cards.
static KEYS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| generate_rsa2048_pkcs8().unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
});

static CA_2023: LazyLock<CertificateAuthority> = LazyLock::new(|| {
    CertificateAuthority::from_new_key(CA_2023_NAME, KEYS[0].clone(), d(2023, 1, 4), d(2043, 1, 3))
        .unwrap()
});

static CA_2026: LazyLock<CertificateAuthority> = LazyLock::new(|| {
    CertificateAuthority::from_new_key(CA_2026_NAME, KEYS[1].clone(), d(2026, 1, 5), d(2046, 1, 4))
        .unwrap()
});

/// A CA nobody configured.
static ROGUE: LazyLock<CertificateAuthority> = LazyLock::new(|| {
    CertificateAuthority::from_new_key(ROGUE_NAME, KEYS[2].clone(), d(2023, 1, 4), d(2043, 1, 3))
        .unwrap()
});

/// A CA with its own key that copies CA 2023's name exactly.
static IMPOSTOR: LazyLock<CertificateAuthority> = LazyLock::new(|| {
    CertificateAuthority::from_new_key(CA_2023_NAME, KEYS[2].clone(), d(2023, 1, 4), d(2043, 1, 3))
        .unwrap()
});

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn ca_2023() -> &'static CertificateAuthority {
    &CA_2023
}

pub fn ca_2026() -> &'static CertificateAuthority {
    &CA_2026
}

pub fn rogue_ca() -> &'static CertificateAuthority {
    &ROGUE
}

pub fn impostor_ca() -> &'static CertificateAuthority {
    &IMPOSTOR
}

/// Card key number `i` (0..3), PKCS#8.
pub fn card_pkcs8(i: usize) -> Vec<u8> {
    KEYS[3 + i].clone()
}

/// Card key `i` certified by CA 2023: serial 100 + i, issued 2026-11-21 to
/// someone born 1950-03-10, so valid to 2031-03-10.
pub fn user_keys(i: usize) -> CardKeys {
    CardKeys::certify(
        ca_2023(),
        card_pkcs8(i),
        100 + i as u64,
        d(2026, 11, 21),
        d(1950, 3, 10),
    )
    .unwrap()
}
