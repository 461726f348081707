//! The web service's side: issuing nonces and turning a returned token into a
//! person, with every check and every outcome audited.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_card::{CardKind, CertificateStatus, VerifyError};
use zaitaku_storage::{AuditEvent, Refusal, Refused, Write, Written};

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
    /// the card's registration for insurance use. The nonce is spent and the
    /// outcome audited in one durable write.
    pub async fn verify_login(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        let pending = self
            .check_login(token, origin, nonce_b64, session_id, now)
            .await;
        self.finish_login(pending, Vec::new())
            .await
            .map(|(who, _)| who)
    }

    /// 健康保険証利用登録's card read (the staff app, seed 001 §12): the
    /// token is verified, the nonce spent and the attempt audited exactly as
    /// for a login, but the card's holder need not be registered yet.
    pub async fn verify_for_registration(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        let checked = async {
            let nonce = decode_nonce(nonce_b64).ok_or(VerifyError::InvalidNonce)?;
            let verified = self.verifier().verify(token, origin, &nonce, now)?;
            self.card_of(&verified).await.map(|(who, _)| who)
        }
        .await;
        let pending = PendingLogin {
            nonce: nonce_b64.to_owned(),
            session_id: session_id.to_owned(),
            now,
            checked,
        };
        self.finish_login(pending, Vec::new())
            .await
            .map(|(who, _)| who)
    }

    /// The first half of [`Identity::verify_login`]: every check that only
    /// reads. Nothing is written and the nonce is not spent yet; the caller
    /// must pass the result to [`Identity::finish_login`], which spends the
    /// nonce (a rejected nonce still takes precedence over any other refusal).
    pub async fn check_login(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> PendingLogin {
        PendingLogin {
            nonce: nonce_b64.to_owned(),
            session_id: session_id.to_owned(),
            now,
            checked: self
                .check_token_and_card(token, origin, nonce_b64, now)
                .await,
        }
    }

    /// The second half: spends the nonce and audits the outcome in one job of
    /// the group-commit writer, together with `writes` when the login
    /// succeeds (so a registration and the login that allowed it are durable
    /// together, or not at all). Returns what `writes` produced. On a refused
    /// login nothing of `writes` is written.
    pub async fn finish_login(
        &self,
        pending: PendingLogin,
        writes: Vec<Write>,
    ) -> Result<(Identified, Vec<Written>), LoginError> {
        let PendingLogin {
            nonce,
            session_id,
            now,
            checked,
        } = pending;
        let audit_of = |outcome: &str, person: Option<i64>, detail: serde_json::Value| {
            Write::audit(
                &AuditEvent {
                    actor: "patient",
                    action: "login.verify",
                    outcome,
                    institution_id: None,
                    person_id: person,
                    detail,
                },
                now,
            )
        };
        let mut job = vec![Write::spend_nonce(&nonce, &session_id, now)];
        match &checked {
            Ok(i) => {
                job.push(audit_of(
                    "ok",
                    Some(i.person_id),
                    json!({"card": i.card_id, "status": i.status}),
                ));
                job.extend(writes);
            }
            Err(e) => job.push(audit_of("refused", None, json!({"code": e.code()}))),
        }
        let written = self.store().write(job).await.map_err(IdentityError::from)?;
        match written {
            Ok(mut out) => match checked {
                Ok(who) => Ok((who, out.split_off(2.min(out.len())))),
                Err(e) => Err(e),
            },
            Err(Refused {
                refusal: Refusal::Nonce(why),
                ..
            }) => {
                let refused = LoginError::Nonce(why);
                self.audit(
                    AuditEvent {
                        actor: "patient",
                        action: "login.verify",
                        outcome: "refused",
                        institution_id: None,
                        person_id: None,
                        detail: json!({"code": refused.code()}),
                    },
                    now,
                )
                .await;
                Err(refused)
            }
            Err(other) => Err(LoginError::Internal(IdentityError::Storage(
                zaitaku_storage::StorageError::Writer(format!("{other:?}")),
            ))),
        }
    }

    async fn check_token_and_card(
        &self,
        token: &str,
        origin: &str,
        nonce_b64: &str,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        let nonce = decode_nonce(nonce_b64).ok_or(VerifyError::InvalidNonce)?;
        let verified = self.verifier().verify(token, origin, &nonce, now)?;
        self.holder_of(&verified, now).await
    }

    /// The registry's side of a verified certificate: its card, not
    /// revoked, registered for insurance use.
    pub(crate) async fn holder_of(
        &self,
        verified: &zaitaku_card::Verified,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        let (who, registered) = self.card_of(verified).await?;
        if registered {
            return Ok(who);
        }
        // A registration requested in the staff app: still being processed,
        // or in force from now on (applied to the person's record here).
        let pending = self
            .store()
            .pending_insurance_registration(who.person_id)
            .await
            .map_err(IdentityError::from)?;
        match pending {
            None => Err(LoginError::NotRegistered),
            Some(at) if at > now => Err(LoginError::RegistrationPending),
            Some(_) => {
                let applied = self
                    .store()
                    .write(vec![zaitaku_storage::Write::apply_insurance_registration(
                        who.person_id,
                        now,
                    )])
                    .await
                    .map_err(IdentityError::from)?;
                if applied.is_err() {
                    return Err(LoginError::RegistrationPending);
                }
                Ok(who)
            }
        }
    }

    /// The card and its holder for a verified certificate, and whether the
    /// holder is registered for insurance use.
    pub(crate) async fn card_of(
        &self,
        verified: &zaitaku_card::Verified,
    ) -> Result<(Identified, bool), LoginError> {
        let card = self
            .store()
            .card_holder(&verified.serial)
            .await
            .map_err(IdentityError::from)?
            .ok_or(LoginError::UnknownCard)?;
        if card.revoked {
            return Err(LoginError::CardRevoked);
        }
        let Some(registered) = card.insurance_use_registered else {
            return Err(LoginError::UnknownCard);
        };
        let card_kind = card
            .kind
            .parse::<CardKind>()
            .map_err(|_| LoginError::UnknownCard)?;
        Ok((
            Identified {
                person_id: card.person_id,
                card_id: card.card_id,
                card_kind,
                status: verified.status,
            },
            registered,
        ))
    }
}

/// A login whose checks are done but whose nonce is not spent yet; finish it
/// with [`Identity::finish_login`].
#[must_use = "the nonce is spent and the attempt audited only by Identity::finish_login"]
#[derive(Debug)]
pub struct PendingLogin {
    nonce: String,
    session_id: String,
    now: DateTime<Utc>,
    checked: Result<Identified, LoginError>,
}

impl PendingLogin {
    /// Who signed in, if every check passed (the nonce is still to be spent).
    pub fn identified(&self) -> Option<&Identified> {
        self.checked.as_ref().ok()
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
            None => Err(LoginError::Token(VerifyError::InvalidNonce)),
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
