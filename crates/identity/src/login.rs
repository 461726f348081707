//! The web service's side: issuing nonces and turning a returned token into a
//! person, with every check and every outcome audited.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_card::{CardKind, CertificateStatus};
use zaitaku_storage::AuditEvent;

use crate::wallet::decode_nonce;
use crate::{Identity, IdentityError, LoginError, NONCE_LIFETIME_MINUTES, random_bytes};

/// Who signed in, and what the certificate allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub person_id: i64,
    pub card_id: i64,
    pub card_kind: CardKind,
    pub status: CertificateStatus,
}

impl Identified {
    /// False during the grace period after expiry (eligibility only).
    pub fn medical_information_allowed(&self) -> bool {
        self.status.allows_medical_information()
    }
}

impl Identity {
    /// A fresh nonce for this browser session: 32 random bytes, standard
    /// base64, single use, valid for five minutes.
    pub async fn new_nonce(
        &self,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, IdentityError> {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes)?;
        let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.store()
            .insert_nonce(
                &nonce,
                session_id,
                now,
                now + Duration::minutes(NONCE_LIFETIME_MINUTES),
            )
            .await?;
        Ok(nonce)
    }

    /// Checks, in order: the nonce (this session's, unused, unexpired — and
    /// spends it); the token (format, certificate, purpose, chain, validity,
    /// revocation, signature over origin and nonce); the card in the registry;
    /// the card's registration for insurance use.
    pub async fn verify_login(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        let result = self
            .verify_login_inner(token, origin, nonce_b64, session_id, now)
            .await;
        let (outcome, person, detail) = match &result {
            Ok(i) => (
                "ok",
                Some(i.person_id),
                json!({"card": i.card_id, "status": i.status}),
            ),
            Err(e) => ("refused", None, json!({"code": e.code()})),
        };
        self.audit(
            AuditEvent {
                actor: "patient",
                action: "login.verify",
                outcome,
                institution_id: None,
                person_id: person,
                detail,
            },
            now,
        )
        .await;
        result
    }

    async fn verify_login_inner(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        self.store()
            .consume_nonce(nonce_b64, session_id, now)
            .await
            .map_err(IdentityError::from)?
            .map_err(LoginError::Nonce)?;
        let nonce = decode_nonce(nonce_b64)
            .ok_or(LoginError::Nonce(zaitaku_storage::NonceRejection::Unknown))?;
        let verified = self.verifier().verify(token, origin, &nonce, now)?;
        let card = self
            .store()
            .card_by_serial(&verified.serial)
            .await
            .map_err(IdentityError::from)?
            .ok_or(LoginError::UnknownCard)?;
        if card.revoked_at.is_some() {
            return Err(LoginError::CardRevoked);
        }
        let person = self
            .store()
            .eligibility(card.person_id)
            .await
            .map_err(IdentityError::from)?
            .ok_or(LoginError::UnknownCard)?
            .person;
        if !person.insurance_use_registered {
            return Err(LoginError::NotRegistered);
        }
        let card_kind = card
            .kind
            .parse::<CardKind>()
            .map_err(|_| LoginError::UnknownCard)?;
        Ok(Identified {
            person_id: person.id,
            card_id: card.id,
            card_kind,
            status: verified.status,
        })
    }
}

impl Identity {
    /// Verifies a token without a session or nonce bookkeeping (for the
    /// command line and API clients checking their own tokens). Audited like
    /// every other verification.
    pub async fn check_token(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        now: DateTime<Utc>,
    ) -> Result<zaitaku_card::Verified, LoginError> {
        let result = match decode_nonce(nonce_b64) {
            Some(nonce) => self
                .verifier()
                .verify(token, origin, &nonce, now)
                .map_err(LoginError::from),
            None => Err(LoginError::Nonce(zaitaku_storage::NonceRejection::Unknown)),
        };
        let (outcome, detail) = match &result {
            Ok(v) => ("ok", json!({"serial": v.serial, "status": v.status})),
            Err(e) => ("refused", json!({"code": e.code()})),
        };
        self.audit(
            AuditEvent {
                actor: "api",
                action: "token.check",
                outcome,
                institution_id: None,
                person_id: None,
                detail,
            },
            now,
        )
        .await;
        result
    }
}
