//! Key material of a virtual card: the kind of card, its RSA-2048 key and
//! certificate, and the card's one cryptographic operation, signing.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ca::CertificateAuthority;
use crate::error::CardError;

/// The carrier of a user-authentication certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// The My Number card itself (IC chip): 4-digit PIN.
    Physical,
    /// スマホ用電子証明書 on an iPhone: unlocked by biometrics, no PIN.
    #[serde(rename = "iphone")]
    IPhone,
    /// スマホ用電子証明書 on Android: its own 4-digit PIN with the same lock rules.
    Android,
}

impl CardKind {
    /// Every kind, in the order the wallet lists them.
    pub const ALL: [CardKind; 3] = [CardKind::Physical, CardKind::IPhone, CardKind::Android];

    /// Label shown to the patient.
    pub fn label_ja(self) -> &'static str {
        match self {
            CardKind::Physical => "マイナンバーカード",
            CardKind::IPhone => "スマートフォン（iPhone）",
            CardKind::Android => "スマートフォン（Android）",
        }
    }

    /// Stable identifier for storage and the CLI (`physical`, `iphone`, `android`).
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Physical => "physical",
            CardKind::IPhone => "iphone",
            CardKind::Android => "android",
        }
    }

    /// Whether the card is unlocked with a 4-digit PIN (and can therefore be
    /// locked by wrong PINs). The iPhone uses biometrics instead.
    pub fn uses_pin(self) -> bool {
        !matches!(self, CardKind::IPhone)
    }
}

impl fmt::Display for CardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown card kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("カードの種類が不明です: {0}（physical / iphone / android）")]
pub struct UnknownCardKind(pub String);

impl FromStr for CardKind {
    type Err = UnknownCardKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownCardKind(s.to_owned()))
    }
}

/// The key and certificate held by one card (or one smartphone certificate).
#[derive(Clone, PartialEq, Eq)]
pub struct CardKeys {
    /// RSA-2048 private key, PKCS#8 DER. Secret: only the card component holds it.
    pub pkcs8: Vec<u8>,
    /// The user-authentication certificate, DER.
    pub cert_der: Vec<u8>,
}

impl fmt::Debug for CardKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("CardKeys")
            .field("pkcs8", &"<secret>")
            .field("cert_der_len", &self.cert_der.len())
            .finish()
    }
}

impl CardKeys {
    /// Generate a fresh RSA-2048 key and have `ca` certify it (what happens at
    /// the municipal counter when a card or smartphone certificate is issued).
    pub fn issue(
        ca: &CertificateAuthority,
        serial: u64,
        issued_on: NaiveDate,
        holder_birth_date: NaiveDate,
    ) -> Result<Self, CardError> {
        let pkcs8 = generate_rsa2048_pkcs8()?;
        Self::certify(ca, pkcs8, serial, issued_on, holder_birth_date)
    }

    /// Have `ca` certify an existing PKCS#8 RSA-2048 key.
    pub fn certify(
        ca: &CertificateAuthority,
        pkcs8: Vec<u8>,
        serial: u64,
        issued_on: NaiveDate,
        holder_birth_date: NaiveDate,
    ) -> Result<Self, CardError> {
        let spki = spki_from_pkcs8(&pkcs8)?;
        let cert_der = ca.issue_user_certificate(&spki, serial, issued_on, holder_birth_date)?;
        Ok(CardKeys { pkcs8, cert_der })
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `data` (the card hashes the data
    /// itself). Returns the 256-byte signature.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, CardError> {
        let key =
            KeyPair::from_pkcs8(&self.pkcs8).map_err(|e| CardError::KeyRejected(e.to_string()))?;
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            data,
            &mut signature,
        )
        .map_err(|_| CardError::Signing)?;
        Ok(signature)
    }
}

/// Generate an RSA-2048 key (public exponent 65537), PKCS#8 DER.
pub fn generate_rsa2048_pkcs8() -> Result<Vec<u8>, CardError> {
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| CardError::KeyGeneration)?;
    let der = key.as_der().map_err(|_| CardError::KeyGeneration)?;
    Ok(der.as_ref().to_vec())
}

/// The SubjectPublicKeyInfo (DER) of a PKCS#8 RSA key.
pub fn spki_from_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>, CardError> {
    let key = KeyPair::from_pkcs8(pkcs8).map_err(|e| CardError::KeyRejected(e.to_string()))?;
    let spki = key
        .public_key()
        .as_der()
        .map_err(|e| CardError::KeyRejected(e.to_string()))?;
    Ok(spki.as_ref().to_vec())
}

/// `N` bytes from the operating system's secure random generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CardError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CardError::Random)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    #[test]
    fn kinds_labels_and_names() {
        assert_eq!(CardKind::Physical.label_ja(), "マイナンバーカード");
        assert_eq!(CardKind::IPhone.label_ja(), "スマートフォン（iPhone）");
        assert_eq!(CardKind::Android.label_ja(), "スマートフォン（Android）");
        for kind in CardKind::ALL {
            assert_eq!(kind.as_str().parse::<CardKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert_eq!(
            "iPhone".parse::<CardKind>(),
            Err(UnknownCardKind("iPhone".into())),
            "names are lower case"
        );
        assert!(CardKind::Physical.uses_pin());
        assert!(CardKind::Android.uses_pin());
        assert!(!CardKind::IPhone.uses_pin());
    }

    #[test]
    fn sign_is_pkcs1_v15_sha256() {
        let keys = testutil::user_keys(0);
        let sig = keys.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        let key = KeyPair::from_pkcs8(&keys.pkcs8).unwrap();
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().as_ref());
        assert!(public.verify(b"hello", &sig).is_ok());
        assert_eq!(
            public.verify(b"hellO", &sig),
            Err(aws_lc_rs::error::Unspecified)
        );
        // PKCS#1 v1.5 is deterministic.
        assert_eq!(keys.sign(b"hello").unwrap(), sig);
    }

    #[test]
    fn debug_hides_the_private_key() {
        let keys = testutil::user_keys(0);
        let shown = format!("{keys:?}");
        assert!(shown.contains("<secret>"));
        assert!(!shown.contains(&format!("{:?}", &keys.pkcs8[..8])));
    }

    #[test]
    fn bad_key_is_an_error_not_a_panic() {
        let keys = CardKeys {
            pkcs8: b"nope".to_vec(),
            cert_der: vec![],
        };
        assert!(matches!(keys.sign(b"x"), Err(CardError::KeyRejected(_))));
        assert!(matches!(
            spki_from_pkcs8(b"nope"),
            Err(CardError::KeyRejected(_))
        ));
    }
}
