//! Certificate authority stand-in: an RSA-2048 key, its self-signed anchor
//! certificate, and the issuing of user-authentication certificates.
//!
//! The real JPKI user-authentication CA (利用者証明用認証局) issues certificates
//! whose subject carries no personal data; we do the same and put only a
//! serial-based common name in the subject.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, PublicKeyData, SerialNumber,
    SignatureAlgorithm,
};
use x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::card::{generate_rsa2048_pkcs8, random_bytes};
use crate::error::CardError;
use crate::validity::{end_of_day_jst, fifth_birthday_after, start_of_day_jst};

/// Organisation name written into every certificate this stand-in issues, so
/// nobody mistakes one for a real JPKI certificate.
pub const ORGANISATION: &str = "JPKI stand-in (zaitaku)";

/// Years a certificate date may use. UTCTime/GeneralizedTime both cover this,
/// and it keeps all date arithmetic far from chrono's limits.
const YEARS: std::ops::RangeInclusive<i32> = 1950..=9998;

/// A CA that can issue user-authentication certificates.
pub struct CertificateAuthority {
    name: String,
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    pub(crate) issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("CertificateAuthority")
            .field("name", &self.name)
            .field("cert_der_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Generate a new RSA-2048 CA key and a self-signed anchor certificate named
    /// `name` (e.g. 「JPKI stand-in 利用者証明用認証局 2023」), valid from 00:00 JST on
    /// `not_before` to 23:59:59 JST on `not_after`.
    pub fn generate(
        name: &str,
        not_before: NaiveDate,
        not_after: NaiveDate,
    ) -> Result<Self, CardError> {
        let pkcs8 = generate_rsa2048_pkcs8()?;
        Self::from_new_key(name, pkcs8, not_before, not_after)
    }

    /// Like [`generate`](Self::generate) but with an existing PKCS#8 RSA-2048
    /// key (tests reuse pre-generated keys; an operator may bring an HSM-made key).
    pub fn from_new_key(
        name: &str,
        pkcs8: Vec<u8>,
        not_before: NaiveDate,
        not_after: NaiveDate,
    ) -> Result<Self, CardError> {
        check_years(not_before)?;
        check_years(not_after)?;
        if not_after < not_before {
            return Err(CardError::InvalidDates(
                "認証局の有効期間の終わりが始まりより前です",
            ));
        }
        let key = rcgen_key(&pkcs8)?;
        check_rsa2048_spki(&key.subject_public_key_info())?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(name);
        params.serial_number = Some(random_serial()?);
        params.not_before = to_offset(start_of_day_jst(not_before))?;
        params.not_after = to_offset(end_of_day_jst(not_after))?;
        // pathLen 0: this CA signs end-entity certificates only.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params
            .self_signed(&key)
            .map_err(|e| CardError::Certificate(e.to_string()))?;
        let cert_der = cert.der().to_vec();
        Self::load(pkcs8, cert_der)
    }

    /// Load a CA saved with [`pkcs8_der`](Self::pkcs8_der) and
    /// [`cert_der`](Self::cert_der). Checks that the key belongs to the certificate.
    pub fn load(pkcs8: Vec<u8>, cert_der: Vec<u8>) -> Result<Self, CardError> {
        let (rest, cert) = X509Certificate::from_der(&cert_der)
            .map_err(|e| CardError::InvalidCaCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CardError::InvalidCaCertificate(
                "証明書の後ろに余分なデータがあります".into(),
            ));
        }
        let key = rcgen_key(&pkcs8)?;
        // A key that does not match would issue certificates that never verify.
        if cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(CardError::InvalidCaCertificate(
                "秘密鍵が証明書の公開鍵と一致しません".into(),
            ));
        }
        let name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let issuer = Issuer::from_ca_cert_der(&cert_der.as_slice().into(), key)
            .map_err(|e| CardError::InvalidCaCertificate(e.to_string()))?;
        Ok(CertificateAuthority {
            name,
            pkcs8,
            cert_der,
            issuer,
        })
    }

    /// The CA's common name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA private key, PKCS#8 DER (secret: store it accordingly).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The self-signed anchor certificate, DER. This is what a verifier is configured with.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Issue a user-authentication certificate for `subject_public_key` (an
    /// RSA-2048 SubjectPublicKeyInfo, DER, as `openssl pkey -pubout -outform DER`
    /// writes it) with serial `serial`, valid from 00:00 JST on `issued_on` to
    /// 23:59:59 JST on the holder's 5th birthday after issue.
    ///
    /// The certificate: sha256WithRSAEncryption, keyUsage digitalSignature
    /// (critical), extKeyUsage clientAuth, subject `C=JP, O=…, CN=UA-<serial hex>`.
    pub fn issue_user_certificate(
        &self,
        subject_public_key: &[u8],
        serial: u64,
        issued_on: NaiveDate,
        holder_birth_date: NaiveDate,
    ) -> Result<Vec<u8>, CardError> {
        let last_day = fifth_birthday_after(issued_on, holder_birth_date).ok_or(
            CardError::InvalidDates("生年月日が発行日より後か、範囲外です"),
        )?;
        check_years(issued_on)?;
        check_years(last_day)?;
        let mut params = user_certificate_params(serial)?;
        params.not_before = to_offset(start_of_day_jst(issued_on))?;
        params.not_after = to_offset(end_of_day_jst(last_day))?;
        self.sign_params(&params, subject_public_key)
    }

    /// Sign arbitrary parameters for `subject_public_key`; lets tests build
    /// deliberately wrong certificates with a trusted CA's key.
    pub(crate) fn sign_params(
        &self,
        params: &CertificateParams,
        subject_public_key: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        let subject = SubjectKey {
            pkcs1: check_rsa2048_spki(subject_public_key)?,
        };
        let cert = params
            .signed_by(&subject, &self.issuer)
            .map_err(|e| CardError::Certificate(e.to_string()))?;
        Ok(cert.der().to_vec())
    }
}

/// The profile of a user-authentication certificate, without validity dates.
pub(crate) fn user_certificate_params(serial: u64) -> Result<CertificateParams, CardError> {
    if serial == 0 {
        return Err(CardError::InvalidSerial);
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&format!("UA-{}", serial_hex(serial)));
    params.serial_number = Some(SerialNumber::from(serial));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// The serial number as the verifier and the revocation list spell it: the
/// big-endian magnitude with leading zero bytes removed, lowercase hex, an even
/// number of digits (so 0x1234 → "1234", 0x123 → "0123"; `openssl x509 -serial`
/// prints the same in upper case).
pub fn serial_hex(serial: u64) -> String {
    serial_hex_from_bytes(&serial.to_be_bytes())
}

/// [`serial_hex`] for the raw DER integer bytes of a certificate's serial.
pub fn serial_hex_from_bytes(raw: &[u8]) -> String {
    let magnitude: &[u8] = match raw.iter().position(|b| *b != 0) {
        Some(first) => raw.get(first..).unwrap_or(&[0]),
        None => &[0],
    };
    crate::hex(magnitude)
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, common_name);
    dn
}

fn rcgen_key(pkcs8: &[u8]) -> Result<KeyPair, CardError> {
    let alg: &'static SignatureAlgorithm = &PKCS_RSA_SHA256;
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), alg)
        .map_err(|e| CardError::KeyRejected(e.to_string()))
}

/// Check that `spki` is an RSA SubjectPublicKeyInfo with a 2048-bit modulus and
/// return the inner RSAPublicKey (PKCS#1) DER.
fn check_rsa2048_spki(spki: &[u8]) -> Result<Vec<u8>, CardError> {
    let (rest, info) =
        SubjectPublicKeyInfo::from_der(spki).map_err(|_| CardError::InvalidPublicKey)?;
    if !rest.is_empty() || info.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
        return Err(CardError::InvalidPublicKey);
    }
    match info.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa))
            if crate::verify::is_rsa2048(rsa.modulus) =>
        {
            Ok(info.subject_public_key.data.to_vec())
        }
        _ => Err(CardError::InvalidPublicKey),
    }
}

/// A subject public key in the shape rcgen wants (PKCS#1 RSAPublicKey bytes).
struct SubjectKey {
    pkcs1: Vec<u8>,
}

impl PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.pkcs1
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

fn random_serial() -> Result<SerialNumber, CardError> {
    let mut bytes = random_bytes::<8>()?;
    // Positive and non-zero: clear the sign bit, set a low bit.
    bytes[0] &= 0x7f;
    bytes[7] |= 1;
    Ok(SerialNumber::from(bytes.to_vec()))
}

fn check_years(day: NaiveDate) -> Result<(), CardError> {
    if YEARS.contains(&day.year()) {
        Ok(())
    } else {
        Err(CardError::InvalidDates(
            "年は 1950〜9998 の範囲にしてください",
        ))
    }
}

fn to_offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime, CardError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|_| CardError::InvalidDates("日時が範囲外です"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self, d};
    use x509_parser::extensions::ParsedExtension;

    #[test]
    fn serial_hex_spelling() {
        assert_eq!(serial_hex(1), "01");
        assert_eq!(serial_hex(0x123), "0123");
        assert_eq!(serial_hex(0x1234), "1234");
        assert_eq!(serial_hex(u64::MAX), "ffffffffffffffff");
        assert_eq!(serial_hex_from_bytes(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex_from_bytes(&[0x00]), "00");
        assert_eq!(serial_hex_from_bytes(&[]), "00");
    }

    #[test]
    fn user_certificate_profile() {
        let ca = testutil::ca_2023();
        let keys = testutil::user_keys(0);
        let spki = crate::card::spki_from_pkcs8(&keys.pkcs8).unwrap();
        let der = ca
            .issue_user_certificate(&spki, 0x1234_5678, d(2026, 11, 21), d(1950, 3, 10))
            .unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(cert.raw_serial(), &[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(
            cert.signature_algorithm.algorithm,
            x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA
        );
        let (_, anchor) = X509Certificate::from_der(ca.cert_der()).unwrap();
        assert_eq!(cert.issuer().as_raw(), anchor.subject().as_raw());
        // No personal data in the subject: only the serial-based CN.
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(cn, "UA-12345678");
        assert_eq!(
            cert.validity().not_before.timestamp(),
            start_of_day_jst(d(2026, 11, 21)).timestamp()
        );
        assert_eq!(
            cert.validity().not_after.timestamp(),
            end_of_day_jst(d(2031, 3, 10)).timestamp()
        );
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical);
        assert!(ku.value.digital_signature());
        assert!(!ku.value.key_cert_sign());
        let eku = cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.client_auth);
        assert!(!eku.value.server_auth);
        assert!(cert.extensions().iter().any(|e| matches!(
            e.parsed_extension(),
            ParsedExtension::BasicConstraints(bc) if !bc.ca
        )));
        let rsa = match cert.public_key().parsed().unwrap() {
            x509_parser::public_key::PublicKey::RSA(rsa) => rsa,
            _ => panic!("not RSA"),
        };
        assert!(crate::verify::is_rsa2048(rsa.modulus));
    }

    #[test]
    fn anchor_profile_and_reload() {
        let ca = testutil::ca_2023();
        let (_, cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
        assert_eq!(cert.subject().as_raw(), cert.issuer().as_raw());
        assert!(cert.is_ca());
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.value.key_cert_sign());
        assert_eq!(ca.name(), testutil::CA_2023_NAME);

        let reloaded =
            CertificateAuthority::load(ca.pkcs8_der().to_vec(), ca.cert_der().to_vec()).unwrap();
        assert_eq!(reloaded.name(), ca.name());
        // A certificate issued by the reloaded CA chains to the original anchor.
        let keys = testutil::user_keys(1);
        let spki = crate::card::spki_from_pkcs8(&keys.pkcs8).unwrap();
        let der = reloaded
            .issue_user_certificate(&spki, 7, d(2026, 1, 1), d(1990, 1, 1))
            .unwrap();
        let (_, user) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(user.issuer().as_raw(), cert.subject().as_raw());
    }

    #[test]
    fn load_refuses_a_foreign_key() {
        let ca = testutil::ca_2023();
        let other = testutil::ca_2026();
        let err = CertificateAuthority::load(other.pkcs8_der().to_vec(), ca.cert_der().to_vec())
            .unwrap_err();
        assert!(matches!(err, CardError::InvalidCaCertificate(_)));
        assert!(matches!(
            CertificateAuthority::load(ca.pkcs8_der().to_vec(), b"garbage".to_vec()),
            Err(CardError::InvalidCaCertificate(_))
        ));
        assert!(matches!(
            CertificateAuthority::load(b"garbage".to_vec(), ca.cert_der().to_vec()),
            Err(CardError::KeyRejected(_))
        ));
    }

    #[test]
    fn issue_refuses_bad_inputs() {
        let ca = testutil::ca_2023();
        let keys = testutil::user_keys(0);
        let spki = crate::card::spki_from_pkcs8(&keys.pkcs8).unwrap();
        assert_eq!(
            ca.issue_user_certificate(&spki, 0, d(2026, 1, 1), d(1990, 1, 1)),
            Err(CardError::InvalidSerial)
        );
        assert!(matches!(
            ca.issue_user_certificate(&spki, 1, d(2026, 1, 1), d(2027, 1, 1)),
            Err(CardError::InvalidDates(_))
        ));
        assert_eq!(
            ca.issue_user_certificate(b"not a key", 1, d(2026, 1, 1), d(1990, 1, 1)),
            Err(CardError::InvalidPublicKey)
        );
        // The PKCS#1 form instead of SubjectPublicKeyInfo is refused too.
        assert_eq!(
            ca.issue_user_certificate(
                &check_rsa2048_spki(&spki).unwrap(),
                1,
                d(2026, 1, 1),
                d(1990, 1, 1)
            ),
            Err(CardError::InvalidPublicKey)
        );
    }
}
