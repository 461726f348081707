//! The card reader's read without a PIN, for the staff app's 目視確認: the
//! certificate of the card set on the reader is checked (chain, validity,
//! revocation) and its holder looked up, but nothing is signed, so who
//! holds the card rests on the staff member who compared the face photo.
//! [`Identity::read_certificate`] takes the certificate as a reader hands
//! it over (DER); the virtual reader of the demo, [`Identity::virtual_reader`],
//! hands over the certificate of a card of the demo wallet set on it.

use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_storage::AuditEvent;

use crate::{Identified, Identity, IdentityError, LoginError};

impl Identity {
    /// The certificate of the demo-wallet card `card_id`, as the virtual
    /// reader reads it from the card set on it; `None` for a card outside
    /// the wallet.
    pub async fn virtual_reader(&self, card_id: i64) -> Result<Option<Vec<u8>>, IdentityError> {
        Ok(self
            .store()
            .card(card_id)
            .await?
            .filter(|c| c.in_demo_wallet)
            .map(|c| c.cert_der))
    }

    /// Checks a certificate read from a card at `now` and finds its holder.
    /// Audited (`card.read_certificate`) with the institution that read it.
    pub async fn read_certificate(
        &self,
        certificate_der: &[u8],
        institution_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Identified, LoginError> {
        let checked = async {
            let verified = self.verifier().verify_certificate(certificate_der, now)?;
            self.holder_of(&verified, now).await
        }
        .await;
        let (outcome, person, detail) = match &checked {
            Ok(i) => (
                "ok",
                Some(i.person_id),
                json!({"card": i.card_id, "status": i.status}),
            ),
            Err(e) => ("refused", None, json!({"code": e.code()})),
        };
        self.audit(
            AuditEvent {
                actor: "staff",
                action: "card.read_certificate",
                outcome,
                institution_id: Some(institution_id),
                person_id: person,
                detail,
            },
            now,
        )
        .await;
        checked
    }
}
