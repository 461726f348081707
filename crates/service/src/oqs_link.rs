//! レセコン連携: the link credential (レセコン連携の認証情報) by which an
//! institution's receipt computer — or the `zaitaku oqs-link` folder agent in
//! front of it — reaches the receipt-computer interface
//! (docs/reference/oqs.md, "The link credential"). An administrator issues,
//! rotates (再発行) and revokes (無効化) links; every request of the
//! interface is authenticated by [`authenticate`].
//!
//! A credential is `zoqs_<link id>_<secret>`: the secret is 32 random bytes
//! as 43 base64url characters. It is shown once, at issue and at each
//! rotation; the server keeps only the SHA-256 of the secret's text and
//! compares in constant time. A refused credential — missing, malformed,
//! unknown, rotated away or revoked — is one refusal, Z-Q-0101, audited as
//! a security event (`oqs_link.authenticate`, actor `receipt_computer`);
//! issue, rotation and revocation are audited with the administrator.

use std::collections::HashMap;
use std::fmt::Write as _;

use aws_lc_rs::{constant_time, digest};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_domain::account::validate_display_name;
use zaitaku_domain::error::ValidationError;
use zaitaku_proto::oqs::CharacterCode;
use zaitaku_storage::{AuditEvent, NewOqsLink, Refusal, Store, StoredOqsLink, Write, Written};

use crate::ServiceError;
use crate::staff::Session;

/// What every credential starts with.
pub const PREFIX: &str = "zoqs_";
/// Characters of the secret: 32 bytes in base64url without padding.
const SECRET_CHARS: usize = 43;
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per link.
const USE_INTERVAL_SECONDS: i64 = 60;
/// How long a credential once authenticated is taken without reading its
/// link again.
const CACHE_SECONDS: i64 = 1;

/// The credentials authenticated in the last [`CACHE_SECONDS`], by the
/// SHA-256 of the text presented: a receipt computer sends its files in
/// bursts, and each would otherwise read its link again. A rotation or
/// revocation through this node forgets the link here at once; another
/// node of the same database may still take the old credential for up to
/// [`CACHE_SECONDS`] (docs/reference/oqs.md, "The link credential").
#[derive(Debug, Default)]
pub struct LinkCache {
    entries: std::sync::Mutex<HashMap<CredentialDigest, (LinkPrincipal, DateTime<Utc>)>>,
}

/// The SHA-256 of a credential's text.
type CredentialDigest = [u8; 32];

impl LinkCache {
    /// Beyond this many entries, the stale ones are dropped at the next
    /// insert (only credentials that authenticated get in).
    const TIDY_ABOVE: usize = 256;

    fn get(&self, key: &CredentialDigest, now: DateTime<Utc>) -> Option<LinkPrincipal> {
        let entries = self.entries.lock().ok()?;
        let (principal, at) = entries.get(key)?;
        (now >= *at && now - *at < Duration::seconds(CACHE_SECONDS)).then(|| principal.clone())
    }

    fn put(&self, key: CredentialDigest, principal: LinkPrincipal, now: DateTime<Utc>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::TIDY_ABOVE {
                entries.retain(|_, (_, at)| now - *at < Duration::seconds(CACHE_SECONDS));
            }
            entries.insert(key, (principal, now));
        }
    }

    /// Forgets every credential of the link.
    fn forget(&self, link_id: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (p, _)| p.link_id != link_id);
        }
    }
}

/// A credential as it was presented, taken apart (nothing is checked
/// against the database yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    pub link_id: i64,
    secret: &'a str,
}

/// Takes `zoqs_<id>_<secret>` apart: the id is a positive decimal without
/// leading zeros, the secret exactly 43 base64url characters that decode to
/// 32 bytes (the secret may itself contain `_`; the id cannot). `None` for
/// anything else.
pub fn parse(credential: &str) -> Option<Presented<'_>> {
    let rest = credential.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.is_empty() || id.len() > 18 || id.starts_with('0') {
        return None;
    }
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let link_id: i64 = id.parse().ok()?;
    if secret.len() != SECRET_CHARS
        || zaitaku_proto::base64url::decode(secret).map(|b| b.len()) != Some(SECRET_BYTES)
    {
        return None;
    }
    Some(Presented { link_id, secret })
}

/// The credential of link `id` with `secret`.
fn credential(id: i64, secret: &str) -> String {
    format!("{PREFIX}{id}_{secret}")
}

/// The hex SHA-256 of a secret's text, as `oqs_links.secret_sha256` keeps it.
pub fn secret_sha256(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in d.as_ref() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Whether `presented` is the credential whose secret hashes to `stored`,
/// compared in constant time.
pub fn matches(presented: &Presented<'_>, stored: &str) -> bool {
    constant_time::verify_slices_are_equal(
        secret_sha256(presented.secret).as_bytes(),
        stored.as_bytes(),
    )
    .is_ok()
}

/// A new secret: 32 random bytes, base64url.
fn new_secret() -> Result<String, ServiceError> {
    crate::random_text::<SECRET_BYTES>()
}

/// Why a presented credential was refused. One code and one sentence for
/// all, so the answer tells nothing about which links exist; the audit
/// record says which it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No credential at all.
    Missing,
    /// Not of the form `zoqs_<id>_<43 characters>`.
    Malformed,
    /// No link with that id.
    Unknown,
    /// The secret is not the link's (tampered, or rotated away).
    WrongSecret,
    /// The link was revoked (無効化).
    Revoked,
}

impl LinkRefusal {
    pub fn code(self) -> &'static str {
        "Z-Q-0101"
    }

    pub fn message(self) -> &'static str {
        "レセコン連携の認証情報が正しくありません。管理者に確認してください。"
    }

    /// The audit record's outcome.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::Missing => "no_credential",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown_link",
            Self::WrongSecret => "wrong_secret",
            Self::Revoked => "link_revoked",
        }
    }
}

impl std::fmt::Display for LinkRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// Who a request of the receipt-computer interface comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPrincipal {
    pub link_id: i64,
    pub institution_id: i64,
    /// 医療機関等コード of the link's institution.
    pub institution_code: String,
    /// The encoding its results are written in.
    pub character_code: CharacterCode,
}

/// The link `presented` (the `Authorization: Bearer` value) names, if the
/// credential is its current one and the link is not revoked; otherwise
/// [`ServiceError::LinkRefused`] (Z-Q-0101), audited. A use is noted on the
/// link at most once a minute.
pub async fn authenticate(
    store: &Store,
    cache: &LinkCache,
    presented: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LinkPrincipal, ServiceError> {
    let refused = |why: LinkRefusal, link: Option<i64>, institution_id: Option<i64>| async move {
        let event = AuditEvent {
            actor: "receipt_computer",
            action: "oqs_link.authenticate",
            outcome: why.outcome(),
            institution_id,
            person_id: None,
            detail: json!({"code": why.code(), "link": link}),
        };
        store.audit(&event, now).await?;
        Err::<LinkPrincipal, _>(ServiceError::LinkRefused(why))
    };
    let Some(text) = presented.map(str::trim).filter(|t| !t.is_empty()) else {
        return refused(LinkRefusal::Missing, None, None).await;
    };
    let mut digest_key: CredentialDigest = [0; 32];
    digest_key.copy_from_slice(digest::digest(&digest::SHA256, text.as_bytes()).as_ref());
    if let Some(principal) = cache.get(&digest_key, now) {
        return Ok(principal);
    }
    let Some(p) = parse(text) else {
        return refused(LinkRefusal::Malformed, None, None).await;
    };
    let Some(key) = store.oqs_link_key(p.link_id).await? else {
        return refused(LinkRefusal::Unknown, Some(p.link_id), None).await;
    };
    let link = &key.link;
    if !matches(&p, &key.secret_sha256) {
        return refused(
            LinkRefusal::WrongSecret,
            Some(link.id),
            Some(link.institution_id),
        )
        .await;
    }
    if !link.is_active() {
        return refused(
            LinkRefusal::Revoked,
            Some(link.id),
            Some(link.institution_id),
        )
        .await;
    }
    let character_code = CharacterCode::from_identifier(&link.character_code)
        .ok_or_else(|| ServiceError::Internal(format!("link {} has no character code", link.id)))?;
    if link
        .last_used_at
        .is_none_or(|t| now - t >= Duration::seconds(USE_INTERVAL_SECONDS))
    {
        store.touch_oqs_link(link.id, now).await?;
    }
    let principal = LinkPrincipal {
        link_id: link.id,
        institution_id: link.institution_id,
        institution_code: key.institution_code,
        character_code,
    };
    cache.put(digest_key, principal.clone(), now);
    Ok(principal)
}

/// The institution's links, newest first, revoked ones included.
pub async fn list(store: &Store, admin: &Session) -> Result<Vec<StoredOqsLink>, ServiceError> {
    let inst = admin.staff_institution()?;
    Ok(store.oqs_links_of(inst.id).await?)
}

/// A link just issued or rotated, with its credential, shown this once.
#[derive(Debug)]
pub struct Issued {
    pub link: StoredOqsLink,
    pub credential: String,
}

/// The label of a character code for people.
pub fn character_code_label(c: CharacterCode) -> &'static str {
    match c {
        CharacterCode::Utf8 => "UTF-8",
        CharacterCode::ShiftJis => "Shift_JIS",
    }
}

/// 《発行》: a new link of the administrator's institution named `label`
/// (名称, up to 50 characters) whose results are written in
/// `character_code` (`"0"` UTF-8, `"1"` Shift_JIS). The link and its audit
/// record are one job.
pub async fn issue(
    store: &Store,
    admin: &Session,
    label: &str,
    character_code: &str,
    now: DateTime<Utc>,
) -> Result<Result<Issued, ValidationError>, ServiceError> {
    let label = match validate_display_name("名称", label) {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    if character_code.trim().is_empty() {
        return Ok(Err(ValidationError::Required {
            field: "文字コード",
        }));
    }
    let Some(code) = CharacterCode::from_identifier(character_code) else {
        return Ok(Err(ValidationError::UnknownCode {
            field: "文字コード",
            value: character_code.trim().to_owned(),
        }));
    };
    let inst = admin.staff_institution()?;
    let secret = new_secret()?;
    let hash = secret_sha256(&secret);
    let event = admin.actor().event(
        "oqs_link.issue",
        "ok",
        None,
        json!({"link": null, "link_label": label, "character_code": code.identifier()}),
    );
    let job = vec![
        Write::issue_oqs_link(&NewOqsLink {
            institution_id: inst.id,
            label: &label,
            secret_sha256: &hash,
            character_code: code.identifier(),
            created_by: admin.account.id,
            created_at: now,
        }),
        Write::audit_naming_row(event, "/link", now),
    ];
    let written = store
        .write(job)
        .await?
        .map_err(|r| ServiceError::Internal(format!("issuing a link refused: {r:?}")))?;
    let Some(Written::Id(id)) = written.first() else {
        return Err(ServiceError::Internal("no id for the new link".into()));
    };
    let link = store
        .oqs_link_of(inst.id, *id)
        .await?
        .ok_or_else(|| ServiceError::Internal("the link just issued is not stored".into()))?;
    let credential = credential(link.id, &secret);
    Ok(Ok(Issued { link, credential }))
}

/// Why a link could not be rotated or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChangeRefusal {
    /// The institution has no such link (the attempt is audited as
    /// `access.denied`).
    NotFound,
    /// It was revoked: a revoked link is never issued a credential again.
    Revoked,
}

impl LinkChangeRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "Z-W-0605",
            Self::Revoked => "Z-W-0670",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotFound => "該当する情報がありません。",
            Self::Revoked => {
                "このレセコン連携は無効化されているため、再発行できません。新しく発行してください。"
            }
        }
    }
}

async fn not_found(
    store: &Store,
    admin: &Session,
    id: i64,
    attempted: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store
        .audit(
            &admin.actor().event(
                "access.denied",
                "not_found",
                None,
                json!({"requested_link": id, "attempted": attempted}),
            ),
            now,
        )
        .await?;
    Ok(())
}

/// The institution's link `id` for a confirmation page; `None` (audited)
/// when the institution has none such.
pub async fn find(
    store: &Store,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<StoredOqsLink>, ServiceError> {
    let inst = admin.staff_institution()?;
    let link = store.oqs_link_of(inst.id, id).await?;
    if link.is_none() {
        not_found(store, admin, id, "oqs_link_view", now).await?;
    }
    Ok(link)
}

/// 再発行: the link `id` gets a new secret and the previous credential
/// stops at once. The change and its audit record are one job.
pub async fn rotate(
    store: &Store,
    cache: &LinkCache,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<Issued, LinkChangeRefusal>, ServiceError> {
    let inst = admin.staff_institution()?;
    let Some(link) = store.oqs_link_of(inst.id, id).await? else {
        not_found(store, admin, id, "oqs_link_rotate", now).await?;
        return Ok(Err(LinkChangeRefusal::NotFound));
    };
    let audit = |outcome: &'static str| {
        admin.actor().event(
            "oqs_link.rotate",
            outcome,
            None,
            json!({"link": link.id, "link_label": link.label}),
        )
    };
    if !link.is_active() {
        store.audit(&audit("link_revoked"), now).await?;
        return Ok(Err(LinkChangeRefusal::Revoked));
    }
    let secret = new_secret()?;
    let job = vec![
        Write::rotate_oqs_link(inst.id, link.id, &secret_sha256(&secret), now),
        Write::audit(&audit("ok"), now),
    ];
    let written = store.write(job).await?;
    cache.forget(link.id);
    match written {
        Ok(_) => {}
        // Revoked between the read and the write.
        Err(r) if r.refusal == Refusal::NoChange => {
            store.audit(&audit("link_revoked"), now).await?;
            return Ok(Err(LinkChangeRefusal::Revoked));
        }
        Err(r) => return Err(ServiceError::Internal(format!("rotation refused: {r:?}"))),
    }
    let link = store
        .oqs_link_of(inst.id, link.id)
        .await?
        .ok_or_else(|| ServiceError::Internal("the link just rotated is not stored".into()))?;
    let credential = credential(link.id, &secret);
    Ok(Ok(Issued { link, credential }))
}

/// 無効化 of the link `id`: its credential never authenticates again.
/// Revoking one already revoked changes nothing and is audited as such.
pub async fn revoke(
    store: &Store,
    cache: &LinkCache,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<StoredOqsLink, LinkChangeRefusal>, ServiceError> {
    let inst = admin.staff_institution()?;
    let Some(link) = store.oqs_link_of(inst.id, id).await? else {
        not_found(store, admin, id, "oqs_link_revoke", now).await?;
        return Ok(Err(LinkChangeRefusal::NotFound));
    };
    let audit = |outcome: &'static str| {
        admin.actor().event(
            "oqs_link.revoke",
            outcome,
            None,
            json!({"link": link.id, "link_label": link.label}),
        )
    };
    let job = vec![
        Write::revoke_oqs_link(inst.id, link.id, now),
        Write::audit(&audit("ok"), now),
    ];
    let written = store.write(job).await?;
    cache.forget(link.id);
    match written {
        Ok(_) => {}
        Err(r) if r.refusal == Refusal::NoChange => {
            store.audit(&audit("already_revoked"), now).await?;
        }
        Err(r) => return Err(ServiceError::Internal(format!("revocation refused: {r:?}"))),
    }
    let link = store
        .oqs_link_of(inst.id, link.id)
        .await?
        .ok_or_else(|| ServiceError::Internal("the link just revoked is not stored".into()))?;
    Ok(Ok(link))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn a_credential_is_taken_apart() {
        assert_eq!(SECRET.len(), 43);
        let text = credential(12, SECRET);
        assert_eq!(text, format!("zoqs_12_{SECRET}"));
        let p = parse(&text).unwrap();
        assert_eq!(p.link_id, 12);
        assert_eq!(p.secret, SECRET);
        // The secret may contain `_` itself; the id ends at the first one.
        let under = "_-_-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw";
        assert_eq!(under.len(), 43);
        let text = credential(7, under);
        let p = parse(&text).unwrap();
        assert_eq!((p.link_id, p.secret), (7, under));
    }

    #[test]
    fn anything_else_is_malformed() {
        let long = format!("zoqs_1_{SECRET}A");
        let short = format!("zoqs_1_{}", &SECRET[..42]);
        let cases = [
            String::new(),
            "zoqs_".into(),
            format!("zoqs__{SECRET}"),
            format!("zoqs_01_{SECRET}"),
            format!("zoqs_-1_{SECRET}"),
            format!("zoqs_+1_{SECRET}"),
            format!("zoqs_1x_{SECRET}"),
            format!("zoqs_99999999999999999999_{SECRET}"),
            format!("ZOQS_1_{SECRET}"),
            format!("Bearer zoqs_1_{SECRET}"),
            format!("zoqs_1{SECRET}"),
            long,
            short,
            // Not base64url: `+`, `/`, `=`, a space, non-ASCII.
            format!("zoqs_1_+{}", &SECRET[1..]),
            format!("zoqs_1_/{}", &SECRET[1..]),
            format!("zoqs_1_{}=", &SECRET[..42]),
            format!("zoqs_1_ {}", &SECRET[1..]),
            format!("zoqs_1_あ{}", &SECRET[3..]),
            // The last character carries non-zero trailing bits.
            format!("zoqs_1_{}9", &SECRET[..42]),
        ];
        for c in cases {
            assert_eq!(parse(&c), None, "{c:?}");
        }
    }

    #[test]
    fn the_secret_is_compared_by_its_hash() {
        let text = credential(3, SECRET);
        let p = parse(&text).unwrap();
        let stored = secret_sha256(SECRET);
        assert_eq!(stored.len(), 64);
        assert!(stored.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(matches(&p, &stored));
        // One character changed in the secret: another hash.
        let tampered = format!("B{}", &SECRET[1..]);
        let other = credential(3, &tampered);
        let q = parse(&other).unwrap();
        assert!(!matches(&q, &stored));
        assert!(!matches(&p, ""));
        assert!(!matches(&p, &stored.to_uppercase()));
    }

    #[test]
    fn new_secrets_are_43_characters_and_parse() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_CHARS);
        assert!(parse(&credential(1, &a)).is_some());
    }

    #[test]
    fn every_refusal_is_one_documented_code() {
        let doc = include_str!("../../../docs/error-codes.md");
        for why in [
            LinkRefusal::Missing,
            LinkRefusal::Malformed,
            LinkRefusal::Unknown,
            LinkRefusal::WrongSecret,
            LinkRefusal::Revoked,
        ] {
            assert_eq!(why.code(), "Z-Q-0101");
            assert!(doc.contains(&format!("| {} |", why.code())));
            assert_eq!(ServiceError::LinkRefused(why).code(), "Z-Q-0101");
        }
        for why in [LinkChangeRefusal::NotFound, LinkChangeRefusal::Revoked] {
            assert!(doc.contains(&format!("| {} |", why.code())));
        }
    }
}
