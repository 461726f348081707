//! The server's return-signing key: the signed URL, and the public key as
//! partners fetch it (a JWK set, or PEM for openssl).
//!
//! Every node behind a load balancer must hold the same key (see
//! `--signing-key`); reading and writing the key file is
//! `zaitaku_web::partner_key`'s, the 32 random bytes of a new key come from
//! the caller.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::PartnerReturn;
use crate::base64url;

/// SubjectPublicKeyInfo DER of an Ed25519 key, less the 32 key bytes.
pub(crate) const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a key text or seed is not a usable return-signing key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("署名鍵が PEM 形式（-----BEGIN PRIVATE KEY-----）ではありません。")]
    NotPem,
    #[error(
        "署名鍵が Ed25519 の PKCS#8 鍵ではありません（openssl genpkey -algorithm ed25519 で作れます）。"
    )]
    NotEd25519,
    #[error("署名鍵を作成できません。")]
    Generate,
    #[error("署名鍵ファイルの PUBLIC KEY が Ed25519 の公開鍵ではありません。")]
    NotEd25519Public,
}

/// The server's return-signing key.
pub struct ReturnSigner {
    key: Ed25519KeyPair,
    /// PKCS#8 of a key made here from a seed, so that it can be saved.
    pkcs8: Option<Vec<u8>>,
    kid: String,
    /// Public keys published beside the signing key but never used to sign:
    /// the next key before a rotation, the previous one after it, so that a
    /// partner's cached key set never misses a link it is shown.
    also_published: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ReturnSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReturnSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ReturnSigner {
    /// A new key from 32 random bytes (the Ed25519 seed); its PKCS#8 is kept
    /// so that [`ReturnSigner::private_pem`] can save it.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeyError::Generate)?;
        let doc = key.to_pkcs8v1().map_err(|_| KeyError::Generate)?;
        let mut signer = Self::from_pkcs8(doc.as_ref())?;
        signer.pkcs8 = Some(doc.as_ref().to_vec());
        Ok(signer)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let key = Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::NotEd25519)?;
        let kid = thumbprint(key.public_key().as_ref());
        Ok(Self {
            key,
            pkcs8: None,
            kid,
            also_published: Vec::new(),
        })
    }

    /// A PKCS#8 `PRIVATE KEY` in PEM, as `openssl genpkey -algorithm ed25519`
    /// writes it, optionally followed by `PUBLIC KEY` blocks (as `openssl
    /// pkey -pubout` writes them) that are published too but never sign.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem)?;
        let der = blocks
            .iter()
            .find(|(label, _)| label == "PRIVATE KEY")
            .map(|(_, der)| der)
            .ok_or(KeyError::NotPem)?;
        let mut signer = Self::from_pkcs8(der)?;
        for (label, der) in &blocks {
            if label != "PUBLIC KEY" {
                continue;
            }
            let public = der
                .strip_prefix(&SPKI_PREFIX[..])
                .filter(|k| k.len() == 32)
                .ok_or(KeyError::NotEd25519Public)?;
            if public != signer.key.public_key().as_ref()
                && !signer.also_published.iter().any(|k| k == public)
            {
                signer.also_published.push(public.to_vec());
            }
        }
        Ok(signer)
    }

    /// The private key as a PKCS#8 `PRIVATE KEY` in PEM, for a key made by
    /// [`ReturnSigner::from_seed`] (a key read from PEM is not written out
    /// again).
    pub fn private_pem(&self) -> Option<String> {
        self.pkcs8
            .as_ref()
            .map(|der| pem("PRIVATE KEY", &STANDARD.encode(der)))
    }

    /// The key id: the RFC 7638 JWK thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK set partners fetch from [`super::KEYS_PATH`]: the signing key
    /// first, then the keys published beside it.
    pub fn jwks(&self) -> serde_json::Value {
        let jwk = |public: &[u8]| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": base64url::encode(public),
                "kid": thumbprint(public),
                "use": "sig",
                "alg": "EdDSA",
            })
        };
        let keys: Vec<_> = std::iter::once(self.key.public_key().as_ref())
            .chain(self.also_published.iter().map(Vec::as_slice))
            .map(jwk)
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn public_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.key.public_key().as_ref());
        pem("PUBLIC KEY", &STANDARD.encode(der))
    }

    /// The partner's URL with the signed `zaitaku_*` parameters appended.
    pub fn url(&self, r: &PartnerReturn<'_>) -> String {
        let sig = base64url::encode(self.key.sign(r.signed_text().as_bytes()).as_ref());
        let mut query: Vec<(String, String)> = r
            .fields()
            .into_iter()
            .filter(|(name, _)| *name != "return")
            .map(|(name, value)| (format!("zaitaku_{name}"), value))
            .collect();
        query.push(("zaitaku_kid".to_owned(), self.kid.clone()));
        query.push(("zaitaku_sig".to_owned(), sig));
        // Empty fields are left out of the URL; the signed text keeps them
        // as empty lines, so leaving them out changes nothing.
        query.retain(|(_, v)| !v.is_empty());
        let sep = if r.return_url.contains('?') { '&' } else { '?' };
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}{sep}{}", r.return_url, query.join("&"))
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key (members in lexical order).
fn thumbprint(public: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        base64url::encode(public)
    );
    base64url::encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref(),
    )
}

/// Every `-----BEGIN label-----` … `-----END label-----` block of a PEM
/// text, decoded.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        match open.as_mut() {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    open = Some((label.to_owned(), String::new()));
                }
            }
            Some((label, body)) => {
                if line == format!("-----END {label}-----") {
                    let der = STANDARD
                        .decode(body.as_bytes())
                        .map_err(|_| KeyError::NotPem)?;
                    blocks.push((std::mem::take(label), der));
                    open = None;
                } else {
                    body.push_str(line);
                }
            }
        }
    }
    if open.is_some() {
        return Err(KeyError::NotPem);
    }
    Ok(blocks)
}

fn pem(label: &str, b64: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
