//! オンライン診療等: the partner's way back (seed 003, 「手続きを終了する」).
//! Which return URLs are accepted is the institution's list of registered
//! origins (`zaitaku_domain::partner_origin`); every refusal and every
//! return is audited. The signature over the return is the surface's
//! (docs/auth-handoff.md).

use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_domain::consent::ConsentAction;
use zaitaku_domain::partner_origin::{ReturnRefusal, return_origin};
use zaitaku_storage::{Store, StoredInstitution};

use crate::ServiceError;
use crate::actor::patient_event;
use crate::visit::Visit;

/// `url` when its origin is registered for the institution; otherwise
/// `None`, and the refusal is audited with the reason and, when it could be
/// read, the origin — never the URL, whose path and query are the partner's
/// and may name the patient. The patient is not told: the visit goes on
/// without a way back, and the institution sees the refusal in its audit log.
pub async fn checked_return(
    store: &Store,
    inst: &StoredInstitution,
    url: String,
    step: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, ServiceError> {
    let refusal = match return_origin(&url, &inst.institution.partner_origins) {
        Ok(_) => return Ok(Some(url)),
        Err(refusal) => refusal,
    };
    let origin = match &refusal {
        ReturnRefusal::NotRegistered(origin) => Some(origin.as_str()),
        _ => None,
    };
    store
        .audit(
            &patient_event(
                "partner.return_url",
                "refused",
                inst.id,
                None,
                json!({"reason": refusal.as_str(), "origin": origin, "step": step}),
            ),
            now,
        )
        .await?;
    Ok(None)
}

/// The patient leaves for the partner: what the visit completed (the
/// consent's action, if the consent it wrote is still the latest), audited.
pub async fn leave(
    store: &Store,
    inst: &StoredInstitution,
    visit: &Visit,
    now: DateTime<Utc>,
) -> Result<Option<ConsentAction>, ServiceError> {
    let action = match &visit.outcome {
        Some(outcome) => store
            .latest_consent(inst.id, outcome.person_id)
            .await?
            .filter(|r| r.id == outcome.consent_id)
            .map(|r| r.action),
        None => None,
    };
    store
        .audit(
            &patient_event(
                "partner.return",
                if action.is_some() {
                    "completed"
                } else {
                    "not_completed"
                },
                inst.id,
                visit.outcome.as_ref().map(|o| o.person_id),
                json!({"action": action}),
            ),
            now,
        )
        .await?;
    Ok(action)
}
