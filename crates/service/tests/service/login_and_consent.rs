//! Staff login with the lockout rule and sessions; consent after the card
//! login.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{Choice, ConsentAction, ConsentItem};
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, CardSecret, Identity, IssueCard};
use zaitaku_service::consent::{self, Authenticated, ConsentRefusal, Next};
use zaitaku_service::staff::{self, LoginRefusal, Realm};
use zaitaku_service::visit::{FlowKind, Purpose, Visit};
use zaitaku_storage::{NewAccount, Store, StoredInstitution, Write};
use zaitaku_testkit::on_both;

const ORIGIN: &str = "http://127.0.0.1:8080";
const PASSWORD: &str = "Zaitaku#2026";

use crate::now;

async fn clinic(store: &Store) -> StoredInstitution {
    let code = InstitutionCode::build(Prefecture::new(13).unwrap(), InstitutionKind::Medical, 1, 7)
        .unwrap();
    let i = Institution::new(code, "試験在宅クリニック", true).unwrap();
    store
        .insert_institution(&i, &zaitaku_storage::new_url_token().unwrap(), now())
        .await
        .unwrap()
}

async fn staff_member(store: &Store, inst: &StoredInstitution) {
    let hash = staff::hash_password(PASSWORD).unwrap();
    store
        .insert_account(
            &NewAccount {
                institution_id: Some(inst.id),
                user_id: "nurse01",
                role: Role::General,
                name: "試験 看護",
                name_kana: "シケン カンゴ",
                start_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                password_hash: &hash,
                must_change_password: false,
            },
            now(),
        )
        .await
        .unwrap();
}

async fn outcomes(store: &Store, action: &str) -> Vec<String> {
    store
        .audit_records(Some(action), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| r.outcome)
        .collect()
}

async fn five_wrong_passwords_lock_the_account(url: &str) {
    let store = Store::open(url).await.unwrap();
    let inst = clinic(&store).await;
    staff_member(&store, &inst).await;
    let code = inst.institution.code.as_str();
    let login = |password: &'static str, at: DateTime<Utc>| {
        let store = store.clone();
        let code = code.to_owned();
        async move {
            staff::login(&store, Realm::Institution, &code, "nurse01", password, at)
                .await
                .unwrap()
        }
    };
    for _ in 0..4 {
        assert_eq!(
            login("wrong", now()).await.unwrap_err(),
            LoginRefusal::WrongPassword
        );
    }
    assert_eq!(
        login("wrong", now()).await.unwrap_err(),
        LoginRefusal::LockedNow
    );
    // The right password is refused while the lock holds …
    assert_eq!(
        login(PASSWORD, now()).await.unwrap_err(),
        LoginRefusal::Locked
    );
    // … and an unknown ID is refused as such, for the audit log only.
    let unknown = staff::login(&store, Realm::Institution, code, "nobody", PASSWORD, now())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(unknown, LoginRefusal::UnknownUser);
    let audited = outcomes(&store, "account.login").await;
    assert_eq!(audited.iter().filter(|o| *o == "wrong_password").count(), 4);
    assert_eq!(audited.iter().filter(|o| *o == "locked_now").count(), 1);
    assert_eq!(audited.iter().filter(|o| *o == "locked").count(), 1);
    assert_eq!(audited.iter().filter(|o| *o == "unknown_user").count(), 1);
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
}
on_both!(five_wrong_passwords_lock_the_account);

async fn a_password_change_ends_the_other_sessions(url: &str) {
    let store = Store::open(url).await.unwrap();
    let inst = clinic(&store).await;
    staff_member(&store, &inst).await;
    let code = inst.institution.code.as_str();
    let sign_in = || async {
        staff::login(&store, Realm::Institution, code, "nurse01", PASSWORD, now())
            .await
            .unwrap()
            .unwrap()
            .session
    };
    let phone = sign_in().await;
    let desk = sign_in().await;
    assert!(
        staff::resume_session(&store, &phone.sid, Realm::Institution, now())
            .await
            .unwrap()
            .is_some()
    );
    // Not on the operator's realm.
    assert!(
        staff::resume_session(&store, &phone.sid, Realm::Operator, now())
            .await
            .unwrap()
            .is_none()
    );
    let refused = staff::change_password(&store, &desk, PASSWORD, "Short1!", "Short1!", now())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(refused, staff::PasswordRefusal::Rule { .. }),
        "{refused:?}"
    );
    let new = "Kaigo#Houmon2027";
    let desk = staff::change_password(&store, &desk, PASSWORD, new, new, now())
        .await
        .unwrap()
        .unwrap();
    assert!(
        staff::resume_session(&store, &desk.sid, Realm::Institution, now())
            .await
            .unwrap()
            .is_some(),
        "the session that changed the password goes on"
    );
    assert!(
        staff::resume_session(&store, &phone.sid, Realm::Institution, now())
            .await
            .unwrap()
            .is_none(),
        "every other session has ended"
    );
    assert_eq!(
        outcomes(&store, "account.password_change").await,
        vec!["ok".to_owned()]
    );
}
on_both!(a_password_change_ends_the_other_sessions);

/// An institution, person 1 (registered for insurance use) with a physical
/// card, and a visit of flow `kind` with every item agreed.
async fn patient_at_clinic(url: &str, kind: FlowKind) -> (Identity, StoredInstitution, Visit, i64) {
    let store = Store::open(url).await.unwrap();
    let inst = clinic(&store).await;
    zaitaku_testkit::fixtures::insured_person(
        &store,
        1,
        "試験 花子",
        "シケン\u{3000}ハナコ",
        NaiveDate::from_ymd_opt(1950, 5, 5).unwrap(),
    )
    .await;
    let identity = Identity::new(store.clone()).await.unwrap();
    identity.ensure_authorities(now()).await.unwrap();
    let card = identity
        .issue_card(
            &IssueCard {
                person_id: 1,
                kind: CardKind::Physical,
                pin: Some("1234".to_owned()),
                issued_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                authority_id: None,
                in_demo_wallet: true,
            },
            now(),
        )
        .await
        .unwrap()
        .id;
    let mut visit = Visit::new(inst.id, now()).unwrap();
    visit.choose_flow(&store, kind, now()).await.unwrap();
    visit.choices = inst
        .institution
        .consent_items
        .iter()
        .map(|i| (*i, Choice::Agree))
        .collect::<BTreeMap<ConsentItem, Choice>>();
    visit.prescription_form = Some(PrescriptionForm::Electronic);
    (identity, inst, visit, card)
}

/// The card's return as the callback sees it: a token signed for a fresh
/// nonce of this visit.
async fn returned(
    identity: &Identity,
    visit: &Visit,
    card: i64,
    purpose: Purpose,
) -> Authenticated {
    let nonce = identity.new_nonce(&visit.sid, now()).await.unwrap();
    let token = identity
        .sign_in_card(
            card,
            &CardSecret::Pin("1234".to_owned()),
            ORIGIN,
            &nonce,
            now(),
        )
        .await
        .unwrap();
    Authenticated {
        login: identity
            .check_login(&token, ORIGIN, &nonce, &visit.sid, now())
            .await,
        // No authenticator hand-off in these tests: an audit record stands in
        // for the spent code, in the same job.
        redeem: Write::audit(
            &zaitaku_storage::AuditEvent {
                actor: "test",
                action: "test.redeem",
                outcome: "ok",
                institution_id: None,
                person_id: None,
                detail: serde_json::json!({}),
            },
            now(),
        ),
        purpose,
        cross_device: false,
        photo_id: None,
    }
}

/// The card comes back to the visit for `purpose`, and the use case runs.
async fn card_returns(
    identity: &Identity,
    inst: &StoredInstitution,
    visit: &mut Visit,
    card: i64,
    purpose: Purpose,
    at: DateTime<Utc>,
) -> Next {
    let back = returned(identity, visit, card, purpose).await;
    consent::after_login(identity.store(), identity, inst, visit, back, at)
        .await
        .unwrap()
        .unwrap()
}

async fn a_registration_is_written_with_its_audit_record_and_the_visit(url: &str) {
    let (identity, inst, mut visit, card) = patient_at_clinic(url, FlowKind::Register).await;
    let store = identity.store().clone();
    let next = card_returns(&identity, &inst, &mut visit, card, Purpose::Save, now()).await;
    assert_eq!(next, Next::Done);
    let record = store.latest_consent(inst.id, 1).await.unwrap().unwrap();
    assert_eq!(record.action, ConsentAction::Register);
    assert_eq!(record.prescription_form, Some(PrescriptionForm::Electronic));
    // The visit as stored names the consent it wrote.
    let stored = Visit::load(&store, &visit.sid, inst.id, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.outcome.map(|o| o.consent_id), Some(record.id));
    assert!(stored.auth.is_none());
    let written = store
        .audit_records(Some("consent.write"), 10)
        .await
        .unwrap();
    assert_eq!(written.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&written[0].detail).unwrap();
    assert_eq!(detail["consent"], serde_json::json!(record.id));
    assert_eq!(outcomes(&store, "test.redeem").await, vec!["ok".to_owned()]);
    // What the completion screen reads, audited.
    let outcome = stored_outcome(&store, &visit, inst.id).await;
    let done = consent::completion(&store, inst.id, FlowKind::Register, &outcome, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.record.id, record.id);
    assert!(done.eligibility.is_some());
    assert_eq!(
        outcomes(&store, "read.eligibility").await,
        vec!["ok".to_owned()]
    );
}
on_both!(a_registration_is_written_with_its_audit_record_and_the_visit);

async fn stored_outcome(
    store: &Store,
    visit: &Visit,
    inst: i64,
) -> zaitaku_service::visit::Outcome {
    Visit::load(store, &visit.sid, inst, now())
        .await
        .unwrap()
        .unwrap()
        .outcome
        .unwrap()
}

async fn nothing_to_cancel_is_refused_and_nothing_written(url: &str) {
    let (identity, inst, mut visit, card) = patient_at_clinic(url, FlowKind::Cancel).await;
    let store = identity.store().clone();
    let next = card_returns(&identity, &inst, &mut visit, card, Purpose::Save, now()).await;
    assert_eq!(next, Next::Refused(ConsentRefusal::NothingToCancel));
    assert_eq!(ConsentRefusal::NothingToCancel.code(), "Z-W-0453");
    assert!(store.latest_consent(inst.id, 1).await.unwrap().is_none());
    // The hand-off ended in the stored visit: a reload starts over.
    let stored = Visit::load(&store, &visit.sid, inst.id, now())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.auth.is_none() && stored.outcome.is_none());
}
on_both!(nothing_to_cancel_is_refused_and_nothing_written);

async fn flow_b_saves_only_with_the_card_that_was_shown(url: &str) {
    let (identity, inst, mut visit, card) = patient_at_clinic(url, FlowKind::Update).await;
    let store = identity.store().clone();
    // Saving without having been shown the consent first: another card, as
    // far as the visit knows.
    let next = card_returns(&identity, &inst, &mut visit, card, Purpose::Save, now()).await;
    assert_eq!(next, Next::Refused(ConsentRefusal::OtherCard));
    // Shown first (nothing in force yet), then saved with the same card.
    let next = card_returns(&identity, &inst, &mut visit, card, Purpose::View, now()).await;
    assert_eq!(next, Next::Choose);
    assert_eq!(visit.identified_person, Some(1));
    let back = returned(&identity, &visit, card, Purpose::Save).await;
    let next = consent::after_login(
        &store,
        &identity,
        &inst,
        &mut visit,
        back,
        now() + Duration::seconds(30),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(next, Next::Done);
    let record = store.latest_consent(inst.id, 1).await.unwrap().unwrap();
    assert_eq!(record.action, ConsentAction::Update);
}
on_both!(flow_b_saves_only_with_the_card_that_was_shown);
