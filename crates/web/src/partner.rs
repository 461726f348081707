//! The way back to an online-care partner (seed 003, 「手続きを終了する」),
//! signed so that the partner can tell a finished registration from a URL
//! someone typed.
//!
//! The partner sends the patient to `/w/{token}?mode=online&return=URL&date=…`
//! (optionally with its own `state`). When the patient leaves, the browser
//! goes to `URL` with `zaitaku_*` parameters and an Ed25519 signature over
//! them and over `URL` itself, so a signature made for one partner's page
//! cannot be replayed at another. The public key is published as a JWK set at
//! [`KEYS_PATH`] (and as PEM at [`KEY_PEM_PATH`] for openssl). The URL carries
//! nothing about the patient: no name, no card, no consent number. The recipe
//! a partner follows is in docs/auth-handoff.md.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::NaiveDate;
use zaitaku_domain::consent::ConsentAction;

/// Where the JWK set with the return-signing key is published.
pub const KEYS_PATH: &str = "/.well-known/zaitaku-return-keys.json";
/// The same public key as a PEM `PUBLIC KEY`, for `openssl pkeyutl`.
pub const KEY_PEM_PATH: &str = "/.well-known/zaitaku-return-key.pem";
/// First line of the signed text; a new format gets a new version.
pub const VERSION: &str = "zaitaku-return-v1";

/// SubjectPublicKeyInfo DER of an Ed25519 key, less the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("署名鍵ファイル {path} を読めません: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("署名鍵ファイル {path} を書けません: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
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

/// Whether the patient finished what they came for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStatus {
    /// The completion screen was reached: the consent is registered,
    /// updated or cancelled.
    Completed,
    /// The patient left before finishing (or could not finish): nothing was
    /// written by this visit.
    NotCompleted,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::NotCompleted => "not_completed",
        }
    }
}

/// What the partner is told. Every value is URL-safe as it stands (ASCII
/// letters, digits, `-`, `_`, `.`, `~`), so the query and the signed text
/// carry the very same characters.
#[derive(Debug, Clone)]
pub struct PartnerReturn<'a> {
    /// The partner's `return` URL exactly as it sent it.
    pub return_url: &'a str,
    pub status: ReturnStatus,
    pub action: Option<ConsentAction>,
    /// 医療機関等コード (10 digits): which institution the consent is for.
    pub institution_code: &'a str,
    /// The consultation day the consent is valid until (online care).
    pub consultation_date: Option<NaiveDate>,
    /// Seconds since 1970 (UTC) when the link was made.
    pub issued_at: i64,
    /// The partner's own `state`, returned unchanged.
    pub state: Option<&'a str>,
}

impl PartnerReturn<'_> {
    /// The exact text that is signed: the version line, then one
    /// `name=value` line per field in this order, each ending in LF.
    pub fn signed_text(&self) -> String {
        let fields = [
            ("return", self.return_url.to_owned()),
            ("status", self.status.as_str().to_owned()),
            ("action", self.action.map_or("", |a| a.as_str()).to_owned()),
            ("institution", self.institution_code.to_owned()),
            (
                "date",
                self.consultation_date
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            ),
            ("issued_at", self.issued_at.to_string()),
            ("state", self.state.unwrap_or_default().to_owned()),
        ];
        let mut text = format!("{VERSION}\n");
        for (name, value) in fields {
            text.push_str(name);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
        text
    }
}

/// A partner's `state` as zaitaku accepts it: 1–128 URL-safe characters, so
/// that it goes into the URL and the signed text unchanged.
pub fn valid_state(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// The server's return-signing key. Every node behind a load balancer must
/// hold the same one (see `--signing-key`).
pub struct ReturnSigner {
    key: Ed25519KeyPair,
    /// PKCS#8 of a key generated here, so that it can be saved.
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
    /// A new random key.
    pub fn generate() -> Result<Self, SigningKeyError> {
        let doc = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| SigningKeyError::Generate)?;
        let mut signer = Self::from_pkcs8(doc.as_ref())?;
        signer.pkcs8 = Some(doc.as_ref().to_vec());
        Ok(signer)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, SigningKeyError> {
        let key = Ed25519KeyPair::from_pkcs8(der).map_err(|_| SigningKeyError::NotEd25519)?;
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
    pub fn from_pem(pem: &str) -> Result<Self, SigningKeyError> {
        let blocks = pem_blocks(pem)?;
        let der = blocks
            .iter()
            .find(|(label, _)| label == "PRIVATE KEY")
            .map(|(_, der)| der)
            .ok_or(SigningKeyError::NotPem)?;
        let mut signer = Self::from_pkcs8(der)?;
        for (label, der) in &blocks {
            if label != "PUBLIC KEY" {
                continue;
            }
            let public = der
                .strip_prefix(&SPKI_PREFIX[..])
                .filter(|k| k.len() == 32)
                .ok_or(SigningKeyError::NotEd25519Public)?;
            if public != signer.key.public_key().as_ref()
                && !signer.also_published.iter().any(|k| k == public)
            {
                signer.also_published.push(public.to_vec());
            }
        }
        Ok(signer)
    }

    /// Reads the key at `path`, or creates it there (readable by the owner
    /// only) when the file does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, SigningKeyError> {
        match std::fs::read_to_string(path) {
            Ok(pem) => Self::from_pem(&pem),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let signer = Self::generate()?;
                let pem = signer.private_pem().ok_or(SigningKeyError::Generate)?;
                write_private(path, pem.as_bytes()).map_err(|source| SigningKeyError::Write {
                    path: path.display().to_string(),
                    source,
                })?;
                Ok(signer)
            }
            Err(source) => Err(SigningKeyError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn private_pem(&self) -> Option<String> {
        self.pkcs8
            .as_ref()
            .map(|der| pem("PRIVATE KEY", &STANDARD.encode(der)))
    }

    /// The key id: the RFC 7638 JWK thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK set partners fetch from [`KEYS_PATH`]: the signing key first,
    /// then the keys published beside it.
    pub fn jwks(&self) -> serde_json::Value {
        let jwk = |public: &[u8]| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(public),
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
        let sig = URL_SAFE_NO_PAD.encode(self.key.sign(r.signed_text().as_bytes()).as_ref());
        let mut query = vec![
            ("zaitaku_status", r.status.as_str().to_owned()),
            (
                "zaitaku_action",
                r.action.map_or("", |a| a.as_str()).to_owned(),
            ),
            ("zaitaku_institution", r.institution_code.to_owned()),
            (
                "zaitaku_date",
                r.consultation_date
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            ),
            ("zaitaku_issued_at", r.issued_at.to_string()),
            ("zaitaku_state", r.state.unwrap_or_default().to_owned()),
            ("zaitaku_kid", self.kid.clone()),
            ("zaitaku_sig", sig),
        ];
        // Empty fields are left out of the URL; the signed text keeps them
        // as empty lines, so leaving them out changes nothing.
        query.retain(|(_, v)| !v.is_empty());
        let sep = if r.return_url.contains('?') { '&' } else { '?' };
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}{sep}{}", r.return_url, query.join("&"))
    }
}

/// Why a returned URL is not a genuine return from zaitaku.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReturnVerifyError {
    #[error("the URL does not start with the expected return URL")]
    WrongReturnUrl,
    #[error("zaitaku_{0} is missing or malformed")]
    Malformed(&'static str),
    #[error("no published key has this kid")]
    UnknownKey,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the link is too old or from the future")]
    Stale,
}

/// What a partner learns from a verified return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReturn {
    pub status: String,
    pub action: String,
    pub institution: String,
    pub date: String,
    pub issued_at: i64,
    pub state: String,
}

/// A partner's check of a return, following docs/auth-handoff.md: the URL
/// must be `return_url` plus the `zaitaku_*` parameters, signed by a key in
/// `jwks`, issued within `max_age_seconds` of `now`.
pub fn verify_return(
    received: &str,
    return_url: &str,
    jwks: &serde_json::Value,
    now: i64,
    max_age_seconds: i64,
) -> Result<VerifiedReturn, ReturnVerifyError> {
    let rest = received
        .strip_prefix(return_url)
        .ok_or(ReturnVerifyError::WrongReturnUrl)?;
    let query = rest
        .strip_prefix(['?', '&'])
        .ok_or(ReturnVerifyError::WrongReturnUrl)?;
    let mut ours = std::collections::BTreeMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(name) = k.strip_prefix("zaitaku_") {
            if ours.insert(name.to_owned(), v.to_owned()).is_some() {
                return Err(ReturnVerifyError::Malformed("duplicate"));
            }
        } else {
            // The partner's own parameters belong to return_url, before ours.
            return Err(ReturnVerifyError::WrongReturnUrl);
        }
    }
    let get = |k: &str| ours.get(k).cloned().unwrap_or_default();
    let kid = ours.get("kid").ok_or(ReturnVerifyError::Malformed("kid"))?;
    let sig = ours
        .get("sig")
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or(ReturnVerifyError::Malformed("sig"))?;
    let issued_at: i64 = get("issued_at")
        .parse()
        .map_err(|_| ReturnVerifyError::Malformed("issued_at"))?;
    let x = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"].as_str() == Some(kid) && k["crv"].as_str() == Some("Ed25519"))
        .and_then(|k| k["x"].as_str())
        .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
        .ok_or(ReturnVerifyError::UnknownKey)?;
    let text = format!(
        "{VERSION}\nreturn={return_url}\nstatus={}\naction={}\ninstitution={}\ndate={}\nissued_at={issued_at}\nstate={}\n",
        get("status"),
        get("action"),
        get("institution"),
        get("date"),
        get("state"),
    );
    signature::UnparsedPublicKey::new(&signature::ED25519, &x)
        .verify(text.as_bytes(), &sig)
        .map_err(|_| ReturnVerifyError::BadSignature)?;
    if issued_at > now + 60 || now - issued_at > max_age_seconds {
        return Err(ReturnVerifyError::Stale);
    }
    Ok(VerifiedReturn {
        status: get("status"),
        action: get("action"),
        institution: get("institution"),
        date: get("date"),
        issued_at,
        state: get("state"),
    })
}

/// RFC 7638 thumbprint of an Ed25519 public key (members in lexical order).
fn thumbprint(public: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public)
    );
    URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref(),
    )
}

/// Every `-----BEGIN label-----` … `-----END label-----` block of a PEM
/// text, decoded.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, SigningKeyError> {
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
                        .map_err(|_| SigningKeyError::NotPem)?;
                    blocks.push((std::mem::take(label), der));
                    open = None;
                } else {
                    body.push_str(line);
                }
            }
        }
    }
    if open.is_some() {
        return Err(SigningKeyError::NotPem);
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

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(state: Option<&'a str>) -> PartnerReturn<'a> {
        PartnerReturn {
            return_url: "https://partner.example/visit/9?lang=ja",
            status: ReturnStatus::Completed,
            action: Some(ConsentAction::Register),
            institution_code: "1310100217",
            consultation_date: NaiveDate::from_ymd_opt(2026, 5, 1),
            issued_at: 1_780_000_000,
            state,
        }
    }

    #[test]
    fn a_signed_return_verifies_and_any_change_is_caught() {
        let signer = ReturnSigner::generate().unwrap();
        let jwks = signer.jwks();
        let r = sample(Some("abc-123"));
        let url = signer.url(&r);
        assert!(
            url.starts_with("https://partner.example/visit/9?lang=ja&zaitaku_status=completed")
        );
        let ok = verify_return(&url, r.return_url, &jwks, r.issued_at + 5, 600).unwrap();
        assert_eq!(ok.status, "completed");
        assert_eq!(ok.action, "register");
        assert_eq!(ok.date, "2026-05-01");
        assert_eq!(ok.state, "abc-123");

        for (from, to) in [
            ("zaitaku_date=2026-05-01", "zaitaku_date=2026-05-02"),
            ("zaitaku_status=completed", "zaitaku_status=not_completed"),
            ("zaitaku_state=abc-123", "zaitaku_state=abc-124"),
            (
                "zaitaku_institution=1310100217",
                "zaitaku_institution=1310100225",
            ),
        ] {
            let forged = url.replace(from, to);
            assert_ne!(forged, url);
            assert_eq!(
                verify_return(&forged, r.return_url, &jwks, r.issued_at, 600),
                Err(ReturnVerifyError::BadSignature),
                "{to}"
            );
        }
        // Replayed at another partner page.
        let elsewhere = url.replace("/visit/9", "/visit/10");
        assert!(
            verify_return(
                &elsewhere,
                "https://partner.example/visit/10?lang=ja",
                &jwks,
                r.issued_at,
                600
            )
            .is_err()
        );
        // Too old, or signed by another server.
        assert_eq!(
            verify_return(&url, r.return_url, &jwks, r.issued_at + 601, 600),
            Err(ReturnVerifyError::Stale)
        );
        let other = ReturnSigner::generate().unwrap().jwks();
        assert_eq!(
            verify_return(&url, r.return_url, &other, r.issued_at, 600),
            Err(ReturnVerifyError::UnknownKey)
        );
    }

    #[test]
    fn empty_fields_are_left_out_of_the_url_but_still_signed() {
        let signer = ReturnSigner::generate().unwrap();
        let mut r = sample(None);
        r.status = ReturnStatus::NotCompleted;
        r.action = None;
        r.consultation_date = None;
        let url = signer.url(&r);
        assert!(!url.contains("zaitaku_state") && !url.contains("zaitaku_action"));
        assert!(verify_return(&url, r.return_url, &signer.jwks(), r.issued_at, 600).is_ok());
        let forged = format!("{url}&zaitaku_action=register");
        assert_eq!(
            verify_return(&forged, r.return_url, &signer.jwks(), r.issued_at, 600),
            Err(ReturnVerifyError::BadSignature)
        );
    }

    #[test]
    fn keys_round_trip_through_pem_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("return-key.pem");
        let first = ReturnSigner::load_or_create(&path).unwrap();
        let again = ReturnSigner::load_or_create(&path).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert!(matches!(
            ReturnSigner::from_pem("not a key").err(),
            Some(SigningKeyError::NotPem)
        ));
        assert!(
            first
                .public_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
    }

    #[test]
    fn keys_published_beside_the_signing_key_verify_old_links() {
        let old = ReturnSigner::generate().unwrap();
        let new = ReturnSigner::generate().unwrap();
        let r = sample(Some("s1"));
        let old_link = old.url(&r);

        // After the rotation: the new private key signs, the old public key
        // is still published, so a link signed before still verifies.
        let file = format!("{}{}", new.private_pem().unwrap(), old.public_pem());
        let rotated = ReturnSigner::from_pem(&file).unwrap();
        assert_eq!(rotated.kid(), new.kid());
        let jwks = rotated.jwks();
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, [new.kid(), old.kid()]);
        assert!(verify_return(&old_link, r.return_url, &jwks, r.issued_at, 600).is_ok());
        assert!(verify_return(&rotated.url(&r), r.return_url, &jwks, r.issued_at, 600).is_ok());
        // The PEM endpoint offers only the key that signs now.
        assert_eq!(rotated.public_pem(), new.public_pem());

        // A PUBLIC KEY that is not Ed25519 is refused, not ignored.
        let rsa_spki = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            ReturnSigner::from_pem(&format!("{}{rsa_spki}", new.private_pem().unwrap())),
            Err(SigningKeyError::NotEd25519Public)
        ));
    }

    #[test]
    fn partner_state_must_be_url_safe() {
        assert!(valid_state("r-9f_2.x~"));
        assert!(!valid_state(""));
        assert!(!valid_state("a&zaitaku_status=completed"));
        assert!(!valid_state(&"a".repeat(129)));
    }
}
