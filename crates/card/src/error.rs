//! Errors of the issuing side (CA, card keys, randomness).
//!
//! The verifier's errors live in [`crate::verify::VerifyError`] and the token
//! parser's in [`crate::token::TokenError`]: those carry stable codes and
//! Japanese messages for the patient, whereas these are operator/programming
//! errors reported by the CLI and the authenticator.

use thiserror::Error;

/// Failure while generating keys, issuing certificates or signing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CardError {
    /// The system random generator or RSA key generation failed.
    #[error("RSA 鍵の生成に失敗しました")]
    KeyGeneration,
    /// A stored private key could not be read.
    #[error("秘密鍵（PKCS#8）を読み込めません: {0}")]
    KeyRejected(String),
    /// The subject public key is not an RSA-2048 SubjectPublicKeyInfo.
    #[error("公開鍵が RSA-2048 の SubjectPublicKeyInfo ではありません")]
    InvalidPublicKey,
    /// A stored CA certificate could not be read or does not match its key.
    #[error("認証局の証明書を読み込めません: {0}")]
    InvalidCaCertificate(String),
    /// rcgen refused to build the certificate.
    #[error("証明書を作成できません: {0}")]
    Certificate(String),
    /// Dates that cannot make a certificate (birth after issue, end before start, out of range).
    #[error("証明書の日付が正しくありません: {0}")]
    InvalidDates(&'static str),
    /// Serial numbers must be positive (RFC 5280 §4.1.2.2).
    #[error("シリアル番号は 1 以上にしてください")]
    InvalidSerial,
    /// RSA signing failed.
    #[error("署名に失敗しました")]
    Signing,
    /// The system random generator failed.
    #[error("乱数の生成に失敗しました")]
    Random,
}
