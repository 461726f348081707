//! The card component: the demo wallet, PIN attempts under the lock rules,
//! and signing the login value.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_card::{
    CardKeys, CardKind, PinCounter, PinOutcome, build_token, validate_pin, verify_pin,
};
use zaitaku_storage::{AuditEvent, StoredCard};

use crate::{AttemptError, Identity, IdentityError};

/// How the holder unlocks the card.
#[derive(Debug, Clone)]
pub enum CardSecret {
    /// Physical card and Android: four digits.
    Pin(String),
    /// iPhone: Face ID / Touch ID (a button in the stand-in).
    Biometric,
}

/// A card as the authenticator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCard {
    pub id: i64,
    pub person_id: i64,
    pub kind: CardKind,
    pub kind_label: &'static str,
    /// The holder's name in kana, so the demo wallet can tell cards apart.
    pub holder: String,
    /// The case the card shows (「期限間近」, 「ロック」 …), which tells one
    /// holder's several cards apart; `None` for a card nobody named.
    pub label: Option<String>,
    pub tries_left: u8,
    pub locked: bool,
    pub revoked: bool,
    pub not_after: DateTime<Utc>,
}

fn kind_of(card: &StoredCard) -> Result<CardKind, IdentityError> {
    card.kind.parse::<CardKind>().map_err(|_| {
        IdentityError::Storage(zaitaku_storage::StorageError::Duplicate("カードの種類"))
    })
}

/// Attempts a contended PIN counter update this many times before giving up.
const CAS_RETRIES: usize = 8;

impl Identity {
    async fn wallet_entry(&self, card: &StoredCard) -> Result<WalletCard, IdentityError> {
        let kind = kind_of(card)?;
        let holder = self
            .store()
            .eligibility(card.person_id)
            .await?
            .map(|e| e.person.name_kana)
            .unwrap_or_default();
        Ok(WalletCard {
            id: card.id,
            person_id: card.person_id,
            kind,
            kind_label: kind.label_ja(),
            holder,
            label: card.wallet_label.clone(),
            tries_left: card.tries_left,
            locked: card.locked,
            revoked: card.revoked_at.is_some(),
            not_after: card.not_after,
        })
    }

    /// The demo wallet: cards a tester can pick in the authenticator.
    pub async fn wallet(&self) -> Result<Vec<WalletCard>, IdentityError> {
        let mut out = Vec::new();
        for card in self.store().cards(None).await? {
            out.push(self.wallet_entry(&card).await?);
        }
        Ok(out)
    }

    /// Names a card by the case it shows in the demo wallet.
    pub async fn name_wallet_card(&self, id: i64, label: &str) -> Result<(), IdentityError> {
        Ok(self.store().set_wallet_label(id, label).await?)
    }

    /// One card of the demo wallet (cards outside it cannot be picked).
    pub async fn wallet_card(&self, id: i64) -> Result<Option<WalletCard>, IdentityError> {
        match self.store().card(id).await? {
            Some(card) if card.in_demo_wallet => Ok(Some(self.wallet_entry(&card).await?)),
            _ => Ok(None),
        }
    }

    /// Any card's state, for the command line.
    pub async fn card_status(&self, id: i64) -> Result<WalletCard, IdentityError> {
        let card = self
            .store()
            .card(id)
            .await?
            .ok_or(IdentityError::NoSuchCard(id))?;
        self.wallet_entry(&card).await
    }

    /// The card checks the PIN (or the biometric stand-in) and, if it opens,
    /// signs SHA-256(origin) ‖ SHA-256(nonce). Returns the token.
    pub async fn sign_in_card(
        &self,
        card_id: i64,
        secret: &CardSecret,
        origin: &str,
        nonce_b64: &str,
        now: DateTime<Utc>,
    ) -> Result<String, AttemptError> {
        let internal = |e: IdentityError| AttemptError::Internal(e.to_string());
        let mut card = self
            .store()
            .card(card_id)
            .await
            .map_err(|e| internal(e.into()))?
            .ok_or(AttemptError::NoSuchCard)?;
        let kind = kind_of(&card).map_err(internal)?;
        let audit = |outcome: &'static str, person: i64| AuditEvent {
            actor: "patient",
            action: "card.unlock",
            outcome,
            institution_id: None,
            person_id: Some(person),
            detail: json!({"card": card_id, "kind": kind.as_str()}),
        };
        if card.revoked_at.is_some() {
            self.audit(audit("revoked", card.person_id), now).await;
            return Err(AttemptError::Revoked);
        }
        match (kind, secret) {
            (CardKind::IPhone, CardSecret::Biometric) => {}
            (CardKind::Physical | CardKind::Android, CardSecret::Pin(pin)) => {
                if validate_pin(pin).is_err() {
                    return Err(AttemptError::PinFormat);
                }
                let mut settled = false;
                for _ in 0..CAS_RETRIES {
                    let mut counter = PinCounter::from_stored(card.tries_left, card.locked);
                    if counter.is_locked() {
                        self.audit(audit("locked", card.person_id), now).await;
                        return Err(AttemptError::Locked);
                    }
                    let Some(hash) = card.pin_hash.as_deref() else {
                        return Err(AttemptError::Locked);
                    };
                    let correct =
                        verify_pin(pin, hash).map_err(|e| AttemptError::Internal(e.to_string()))?;
                    let outcome = counter.attempt(correct);
                    let wrote = self
                        .store()
                        .update_pin_counter(
                            card.id,
                            (card.tries_left, card.locked),
                            (counter.tries_left(), counter.is_locked()),
                        )
                        .await
                        .map_err(|e| internal(e.into()))?;
                    if !wrote {
                        // Another attempt changed the counter first: read it again.
                        card = self
                            .store()
                            .card(card_id)
                            .await
                            .map_err(|e| internal(e.into()))?
                            .ok_or(AttemptError::NoSuchCard)?;
                        continue;
                    }
                    match outcome {
                        PinOutcome::Accepted => {
                            settled = true;
                            break;
                        }
                        PinOutcome::Wrong { tries_left } => {
                            self.audit(audit("wrong_pin", card.person_id), now).await;
                            return Err(AttemptError::WrongPin { tries_left });
                        }
                        PinOutcome::LockedNow => {
                            self.audit(audit("locked_now", card.person_id), now).await;
                            return Err(AttemptError::LockedNow);
                        }
                        PinOutcome::AlreadyLocked => {
                            self.audit(audit("locked", card.person_id), now).await;
                            return Err(AttemptError::Locked);
                        }
                    }
                }
                if !settled {
                    return Err(AttemptError::Internal("PIN counter contended".into()));
                }
            }
            _ => return Err(AttemptError::PinFormat),
        }
        let nonce =
            decode_nonce(nonce_b64).ok_or(AttemptError::Internal("nonce is not base64".into()))?;
        let keys = CardKeys {
            pkcs8: card.key_pkcs8.clone(),
            cert_der: card.cert_der.clone(),
        };
        let token = build_token(&keys, origin, &nonce)
            .map_err(|e| AttemptError::Internal(e.to_string()))?;
        self.audit(audit("signed", card.person_id), now).await;
        Ok(token)
    }
}

/// The nonce travels as standard base64 (or base64url in a URL).
pub(crate) fn decode_nonce(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::STANDARD;
    STANDARD
        .decode(s)
        .ok()
        .or_else(|| zaitaku_proto::base64url::decode(s))
        .filter(|b| b.len() == 32)
}
