//! 同意登録・更新・取消: what happens once the patient has authenticated with
//! the card in flows A, B and C (seed 000). Everything is read and decided
//! first; then the nonce is spent, the login audited, the hand-off's
//! one-time code spent and the consent, its audit record and the visit with
//! its outcome written in ONE job of the group-commit writer, so they are
//! durable together or not at all (docs/design/consent.md).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::consent::{
    Channel, ConsentAction, ConsentDecision, ConsentRecord, ConsentRequest, ConsentState,
};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::photo_id::PhotoIdReason;
use zaitaku_identity::{Identified, Identity, LoginError, PendingLogin};
use zaitaku_storage::{NewConsent, Store, StoredInstitution, Write};

use crate::actor::patient_event;
use crate::visit::{FlowKind, Outcome, Purpose, ShownConsent, Visit};
use crate::{ServiceError, jst_day};

/// Why no consent was written although the card was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentRefusal {
    /// The card's person is not in the eligibility registry.
    UnknownPerson,
    /// Flow B: the card that saves is not the one that was shown the consent.
    OtherCard,
    /// 資格情報なし.
    NoQualification,
    /// 資格無効 (expired or lost).
    InvalidQualification,
    /// Flow C with nothing in force.
    NothingToCancel,
    /// The choices do not fit the institution (a tampered form).
    Choices { code: &'static str, message: String },
}

impl ConsentRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownPerson => "Z-C-0105",
            Self::OtherCard => "Z-W-0452",
            Self::NoQualification => "Z-W-0450",
            Self::InvalidQualification => "Z-W-0451",
            Self::NothingToCancel => "Z-W-0453",
            Self::Choices { code, .. } => code,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Self::UnknownPerson | Self::NoQualification => "資格情報が確認できませんでした",
            Self::OtherCard => "認証したカードが異なります",
            Self::InvalidQualification => "この資格は無効です",
            Self::NothingToCancel => "取り消す同意がありません",
            Self::Choices { .. } => "選択内容を確認してください",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::UnknownPerson => "登録されていないカードです。",
            Self::OtherCard => {
                "同意内容を表示したときと別の方のカードで認証されました。同意は更新されていません。最初からやり直してください。"
            }
            Self::NoQualification => {
                "医療保険の資格情報が見つかりませんでした。健康保険証の資格確認書などで資格を確認してください。ご不明な点は加入している医療保険者にお問い合わせください。"
            }
            Self::InvalidQualification => {
                "登録されている医療保険の資格は有効期限が切れているか、喪失しています。新しい保険者の資格確認書などで資格を確認してください。"
            }
            Self::NothingToCancel => "この医療機関等に登録されている同意はありません。",
            Self::Choices { message, .. } => message,
        }
    }

    /// Whether the registry allows a consent to be registered on `today`.
    pub fn of_eligibility(e: &Eligibility, today: NaiveDate) -> Option<Self> {
        match e.resolve(today).validity {
            QualificationValidity::Valid
            | QualificationValidity::ValidUnregistered
            | QualificationValidity::Multiple => None,
            QualificationValidity::NotFound => Some(Self::NoQualification),
            QualificationValidity::Invalid | QualificationValidity::InvalidNewerExists => {
                Some(Self::InvalidQualification)
            }
        }
    }
}

/// Where the visit goes once the writes are durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The login was refused: back to the start of the visit.
    Start,
    /// Flow B: the stored consent is shown to be updated.
    Choose,
    /// The consent was written: the completion screen.
    Done,
    /// Nothing was written but the audit record; the visit's hand-off ended.
    Refused(ConsentRefusal),
}

/// The authenticated return of the card, with what the surface knows of how
/// the visit ran.
pub struct Authenticated {
    pub login: PendingLogin,
    /// Spends the hand-off's one-time code in the same commit.
    pub redeem: Write,
    pub purpose: Purpose,
    /// The card was read on another device (the QR path).
    pub cross_device: bool,
    /// Why staff must check a photo ID afterwards (seed 002), if they must.
    pub photo_id: Option<PhotoIdReason>,
}

/// Finishes the login and decides the visit's consent, committing
/// everything in one job; the visit, saved in that job, no longer holds the
/// hand-off, so a reload starts over instead of trying the spent code again.
/// `Err(LoginError)` is a refused login: nothing of the consent is written,
/// the refusal is audited, and the stored visit keeps its hand-off, whose
/// nonce is spent, so a reload is refused at the nonce (Z-C-0104).
pub async fn after_login(
    store: &Store,
    identity: &Identity,
    inst: &StoredInstitution,
    visit: &mut Visit,
    returned: Authenticated,
    now: DateTime<Utc>,
) -> Result<Result<Next, LoginError>, ServiceError> {
    let Authenticated {
        login,
        redeem,
        purpose,
        cross_device,
        photo_id,
    } = returned;
    visit.auth = None;
    let (mut writes, next) = match login.identified() {
        Some(who) => {
            let ctx = Decide {
                inst,
                who,
                purpose,
                cross_device,
                photo_id,
                now,
            };
            decide(store, visit, &ctx).await?
        }
        None => (Vec::new(), Next::Start),
    };
    writes.insert(0, redeem);
    match identity.finish_login(login, writes).await {
        Err(e) => Ok(Err(e)),
        Ok(_) => Ok(Ok(next)),
    }
}

struct Decide<'a> {
    inst: &'a StoredInstitution,
    who: &'a Identified,
    purpose: Purpose,
    cross_device: bool,
    photo_id: Option<PhotoIdReason>,
    now: DateTime<Utc>,
}

/// The reads and decisions for an authenticated patient: the writes to make
/// together with the login, and where to go afterwards.
async fn decide(
    store: &Store,
    visit: &mut Visit,
    ctx: &Decide<'_>,
) -> Result<(Vec<Write>, Next), ServiceError> {
    let Decide {
        inst,
        who,
        purpose,
        cross_device,
        photo_id,
        now,
    } = *ctx;
    let kind = visit.kind.unwrap_or(FlowKind::Register);
    // The stored consent matters only to show it (flow B) and to cancel it.
    let needs_latest = purpose == Purpose::View || kind == FlowKind::Cancel;
    // Independent reads, side by side on two connections.
    let (eligibility, latest) = tokio::try_join!(store.eligibility(who.person_id), async {
        if needs_latest {
            store.latest_consent(inst.id, who.person_id).await
        } else {
            Ok(None)
        }
    })?;
    let refused = |visit: &Visit, mut writes: Vec<Write>, why: ConsentRefusal| {
        writes.push(visit.save_write(now)?);
        Ok::<_, ServiceError>((writes, Next::Refused(why)))
    };
    let Some(eligibility) = eligibility else {
        return refused(visit, Vec::new(), ConsentRefusal::UnknownPerson);
    };

    if purpose == Purpose::View {
        let read = Write::audit(
            &patient_event(
                "consent.read",
                "ok",
                inst.id,
                Some(who.person_id),
                json!({"found": latest.is_some()}),
            ),
            now,
        );
        visit.identified_person = Some(who.person_id);
        if let Some(r) = latest.filter(|r| ConsentState::of(Some(r), now) == ConsentState::InForce)
        {
            visit.choices = r.choices.clone();
            visit.prescription_form = r.prescription_form;
            visit.care_kind = r.care_kind;
            visit.shown = Some(ShownConsent {
                choices: r.choices.clone(),
                prescription_form: r.prescription_form,
            });
        }
        return Ok((vec![read, visit.save_write(now)?], Next::Choose));
    }

    if kind == FlowKind::Update && visit.identified_person != Some(who.person_id) {
        return refused(visit, Vec::new(), ConsentRefusal::OtherCard);
    }
    if kind != FlowKind::Cancel
        && let Some(why) = ConsentRefusal::of_eligibility(&eligibility, jst_day(now))
    {
        let audit = Write::audit(
            &patient_event(
                "consent.write",
                why.code(),
                inst.id,
                Some(who.person_id),
                json!({"flow": kind}),
            ),
            now,
        );
        return refused(visit, vec![audit], why);
    }

    let (action, decision) = match kind {
        FlowKind::Cancel => {
            let Some(prev) = latest.filter(|r| r.action != ConsentAction::Revoke) else {
                return refused(visit, Vec::new(), ConsentRefusal::NothingToCancel);
            };
            let decision = ConsentDecision {
                care_kind: prev.care_kind,
                choices: BTreeMap::new(),
                prescription_form: None,
                valid_until: None,
            };
            (ConsentAction::Revoke, decision)
        }
        FlowKind::Register | FlowKind::Update => {
            let request = ConsentRequest {
                choices: visit.choices.clone(),
                prescription_form: visit.prescription_form,
                consultation_date: visit.consultation_date,
            };
            let decision = match request.validate(&inst.institution, visit.care_kind, now) {
                Ok(d) => d,
                Err(e) => {
                    let why = ConsentRefusal::Choices {
                        code: e.code(),
                        message: e.to_string(),
                    };
                    return refused(visit, Vec::new(), why);
                }
            };
            // Recorded as what the patient chose and reads on the completion
            // screen: flow A registers (replacing any consent in force),
            // flow B updates.
            let action = if kind == FlowKind::Update {
                ConsentAction::Update
            } else {
                ConsentAction::Register
            };
            (action, decision)
        }
    };
    let channel = if visit.partner_return.is_some() {
        Channel::Partner
    } else {
        Channel::Web
    };
    let consent = Write::record_consent(&NewConsent {
        institution_id: inst.id,
        person_id: who.person_id,
        action,
        channel,
        decision: &decision,
        recorded_at: now,
        recorded_by: "patient",
        photo_id_reason: photo_id,
        idempotency_key: Some(&visit.idempotency),
    });
    // The consent's id is known only once it is inserted, inside the writer's
    // batch: the audit record and the visit's outcome that name it carry a
    // placeholder the writer replaces with it.
    visit.outcome = Some(Outcome {
        consent_id: 0,
        person_id: who.person_id,
        status: who.status,
        cross_device,
    });
    let audit = Write::audit_naming_consent(
        patient_event(
            "consent.write",
            "ok",
            inst.id,
            Some(who.person_id),
            json!({"consent": 0, "action": action, "channel": channel, "cross_device": cross_device, "photo_id": photo_id.map(PhotoIdReason::as_str)}),
        ),
        "/consent",
        now,
    );
    let save = visit.save_write_naming_consent(now)?;
    Ok((vec![consent, audit, save], Next::Done))
}

/// What the completion screen shows: the consent the visit wrote and, after
/// a registration, the eligibility it released (a read of personal data,
/// audited).
pub struct Completion {
    pub record: ConsentRecord,
    pub eligibility: Option<Eligibility>,
}

/// The visit's written consent, or `None` when it is no longer the latest
/// (another visit has written since) and the patient starts again.
pub async fn completion(
    store: &Store,
    institution_id: i64,
    kind: FlowKind,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Option<Completion>, ServiceError> {
    let registered = kind == FlowKind::Register;
    // Independent reads, side by side on two connections.
    let (record, eligibility) = tokio::try_join!(
        store.latest_consent(institution_id, outcome.person_id),
        async {
            if registered {
                store.eligibility(outcome.person_id).await
            } else {
                Ok(None)
            }
        }
    )?;
    let Some(record) = record else {
        return Ok(None);
    };
    if eligibility.is_some() {
        store
            .audit(
                &patient_event(
                    "read.eligibility",
                    "ok",
                    institution_id,
                    Some(outcome.person_id),
                    json!({"page": "completion"}),
                ),
                now,
            )
            .await?;
    }
    Ok(Some(Completion {
        record,
        eligibility,
    }))
}
