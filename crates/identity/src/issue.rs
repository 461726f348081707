//! The stand-in's authorities and card issuance.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use zaitaku_card::{CardKeys, CardKind, CertificateAuthority, hash_pin, serial_hex, validate_pin};
use zaitaku_storage::{AuditEvent, NewCard, StoredCard};

use crate::{Identity, IdentityError, random_bytes};

/// The two anchors of the stand-in: the older one still verifies cards it
/// issued, as the real JPKI did across its 2023 CA rollover.
const AUTHORITIES: [(&str, i32, i32); 2] = [
    ("JPKI stand-in 利用者証明用認証局 2019", 2019, 2031),
    ("JPKI stand-in 利用者証明用認証局 2023", 2023, 2035),
];

#[derive(Debug, Clone)]
pub struct IssueCard {
    pub person_id: i64,
    pub kind: CardKind,
    /// Four digits for a physical or Android card; `None` for iPhone.
    pub pin: Option<String>,
    pub issued_on: NaiveDate,
    /// Which authority signs; `None` = the newest.
    pub authority_id: Option<i64>,
    pub in_demo_wallet: bool,
}

impl Identity {
    /// Creates the stand-in's authorities unless some exist.
    pub async fn ensure_authorities(&self, now: DateTime<Utc>) -> Result<(), IdentityError> {
        if !self.store().authorities().await?.is_empty() {
            return Ok(());
        }
        for (name, from, to) in AUTHORITIES {
            let (Some(nb), Some(na)) = (
                NaiveDate::from_ymd_opt(from, 1, 1),
                NaiveDate::from_ymd_opt(to, 12, 31),
            ) else {
                return Err(IdentityError::NoAuthority);
            };
            let ca = CertificateAuthority::generate(name, nb, na)?;
            self.store()
                .insert_authority(ca.name(), ca.cert_der(), Some(ca.pkcs8_der()), now)
                .await?;
        }
        self.reload_verifier().await
    }

    /// Issues a card: a new key, a certificate valid to the holder's fifth
    /// birthday after issue, and (except iPhone) a hashed PIN.
    pub async fn issue_card(
        &self,
        req: &IssueCard,
        now: DateTime<Utc>,
    ) -> Result<StoredCard, IdentityError> {
        let pin_hash = match (req.kind, &req.pin) {
            (CardKind::IPhone, None) => None,
            (CardKind::IPhone, Some(_)) => return Err(IdentityError::NoPinOnIphone),
            (_, Some(pin)) => {
                validate_pin(pin).map_err(|_| IdentityError::PinFormat)?;
                Some(hash_pin(pin).map_err(|_| IdentityError::PinFormat)?)
            }
            (_, None) => return Err(IdentityError::PinFormat),
        };
        let person = self
            .store()
            .eligibility(req.person_id)
            .await?
            .ok_or(IdentityError::NoSuchPerson(req.person_id))?
            .person;
        let authorities = self.store().authorities().await?;
        let authority = match req.authority_id {
            Some(id) => authorities.into_iter().find(|a| a.id == id),
            None => authorities
                .into_iter()
                .rev()
                .find(|a| a.key_pkcs8.is_some()),
        }
        .ok_or(IdentityError::NoAuthority)?;
        let key = authority
            .key_pkcs8
            .clone()
            .ok_or(IdentityError::NoAuthority)?;
        let ca = CertificateAuthority::load(key, authority.cert_der.clone())?;
        let serial = random_serial()?;
        let keys = CardKeys::issue(&ca, serial, req.issued_on, person.birth_date)?;
        // CardKeys::issue has already refused impossible dates; this only
        // repeats the computation for the stored expiry.
        let last_day = zaitaku_card::fifth_birthday_after(req.issued_on, person.birth_date)
            .ok_or(IdentityError::NoSuchPerson(req.person_id))?;
        let not_after = zaitaku_card::validity::end_of_day_jst(last_day);
        let serial_hex = serial_hex(serial);
        let card = self
            .store()
            .insert_card(&NewCard {
                person_id: req.person_id,
                kind: req.kind.as_str(),
                authority_id: authority.id,
                serial_hex: &serial_hex,
                cert_der: &keys.cert_der,
                key_pkcs8: &keys.pkcs8,
                pin_hash: pin_hash.as_deref(),
                in_demo_wallet: req.in_demo_wallet,
                issued_at: now,
                not_after,
            })
            .await?;
        self.audit(
            AuditEvent {
                actor: "municipality",
                action: "card.issue",
                outcome: "ok",
                institution_id: None,
                person_id: Some(req.person_id),
                detail: json!({"card": card.id, "kind": req.kind.as_str(), "serial": serial_hex, "authority": authority.name}),
            },
            now,
        )
        .await;
        Ok(card)
    }

    /// The municipality's reset of a locked (or forgotten) PIN. Audited.
    pub async fn reset_pin(
        &self,
        card_id: i64,
        new_pin: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IdentityError> {
        let card = self
            .store()
            .card(card_id)
            .await?
            .ok_or(IdentityError::NoSuchCard(card_id))?;
        if card.kind == CardKind::IPhone.as_str() {
            return Err(IdentityError::NoPinOnIphone);
        }
        validate_pin(new_pin).map_err(|_| IdentityError::PinFormat)?;
        let hash = hash_pin(new_pin).map_err(|_| IdentityError::PinFormat)?;
        self.store().reset_card_pin(card_id, &hash).await?;
        self.audit(
            AuditEvent {
                actor: &format!("municipality:{by}"),
                action: "card.pin_reset",
                outcome: "ok",
                institution_id: None,
                person_id: Some(card.person_id),
                detail: json!({"card": card_id, "was_locked": card.locked}),
            },
            now,
        )
        .await;
        Ok(())
    }

    /// Revokes a card's certificate; refused at once on this node and, through
    /// the card table, on every other.
    pub async fn revoke(&self, card_id: i64, now: DateTime<Utc>) -> Result<bool, IdentityError> {
        let card = self
            .store()
            .card(card_id)
            .await?
            .ok_or(IdentityError::NoSuchCard(card_id))?;
        let changed = self.store().revoke_card(card_id, now).await?;
        let issuer = self
            .store()
            .authorities()
            .await?
            .into_iter()
            .find(|a| a.id == card.authority_id)
            .map(|a| a.name)
            .unwrap_or_default();
        self.inner.revocations.add(&issuer, &card.serial_hex);
        self.audit(
            AuditEvent {
                actor: "municipality",
                action: "card.revoke",
                outcome: if changed { "ok" } else { "already_revoked" },
                institution_id: None,
                person_id: Some(card.person_id),
                detail: json!({"card": card_id, "serial": card.serial_hex}),
            },
            now,
        )
        .await;
        Ok(changed)
    }
}

/// A positive, non-zero 63-bit serial.
fn random_serial() -> Result<u64, IdentityError> {
    let mut b = [0u8; 8];
    loop {
        random_bytes(&mut b)?;
        let v = u64::from_be_bytes(b) & (u64::MAX >> 1);
        if v != 0 {
            return Ok(v);
        }
    }
}
