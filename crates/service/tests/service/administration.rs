//! The administration's use cases without HTTP: アカウント管理, 医療機関等
//! and its settings, 医療機関等の端末, 同意取得済み患者, 監査ログ. Each
//! refusal keeps its code, changes nothing, and the records audited are the
//! ones the audit viewer reads.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use zaitaku_domain::account::Role;
use zaitaku_domain::consent::{CareKind, Channel, ConsentAction, ConsentDecision, ConsentItem};
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_service::accounts::{self, AccountForm, AccountRefusal};
use zaitaku_service::audit_log::{self, Category, Filter};
use zaitaku_service::device::{self, DeviceRefusal};
use zaitaku_service::institution::{self, RegistrationForm, RegistrationRefusal, Settings};
use zaitaku_service::patients::{self, ReferenceRefusal, Search};
use zaitaku_service::staff::{Realm, Session, password_matches};
use zaitaku_storage::{
    AuditRecord, NewAccount, NewConsent, PersonRecords, Store, StoredAccount, StoredInstitution,
};
use zaitaku_testkit::on_both;

struct World {
    store: Store,
    a: StoredInstitution,
    b: StoredInstitution,
    admin: Session,
    general: StoredAccount,
    other: StoredAccount,
    operator: Session,
}

async fn institution(store: &Store, number: u16, name: &str) -> StoredInstitution {
    let kind = InstitutionKind::Medical;
    let code = InstitutionCode::build(Prefecture::new(13).unwrap(), kind, 1, number).unwrap();
    let i = Institution::new(code, name, true).unwrap();
    store
        .insert_institution(&i, &zaitaku_storage::new_url_token().unwrap(), crate::now())
        .await
        .unwrap()
}

/// An account that never logs in here (its hash is no password's).
async fn account(
    store: &Store,
    inst: Option<&StoredInstitution>,
    user_id: &str,
    role: Role,
) -> StoredAccount {
    store
        .insert_account(
            &NewAccount {
                institution_id: inst.map(|i| i.id),
                user_id,
                role,
                name: "試験 利用者",
                name_kana: "シケン　リヨウシャ",
                start_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                password_hash: "not-a-hash",
                must_change_password: false,
            },
            crate::now(),
        )
        .await
        .unwrap()
}

fn session(account: StoredAccount, inst: Option<&StoredInstitution>) -> Session {
    Session {
        sid: "sid".into(),
        csrf: "csrf".into(),
        realm: if inst.is_some() {
            Realm::Institution
        } else {
            Realm::Operator
        },
        account,
        institution: inst.cloned(),
    }
}

async fn world(url: &str) -> World {
    let store = Store::open(url).await.unwrap();
    let a = institution(&store, 11, "試験クリニック").await;
    let b = institution(&store, 12, "別の医院").await;
    let admin = account(&store, Some(&a), "aadmin", Role::Admin).await;
    let general = account(&store, Some(&a), "agen", Role::General).await;
    let other = account(&store, Some(&b), "badmin", Role::Admin).await;
    let operator = account(&store, None, "op01", Role::Operator).await;
    World {
        admin: session(admin, Some(&a)),
        operator: session(operator, None),
        store,
        a,
        b,
        general,
        other,
    }
}

async fn last(store: &Store, action: &str) -> AuditRecord {
    store
        .audit_records(Some(action), 1)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.action == action)
        .unwrap_or_else(|| panic!("no {action} record"))
}

async fn head(store: &Store) -> i64 {
    store.audit_records(None, 1).await.unwrap()[0].seq
}

async fn accounts_are_managed_within_the_institution(url: &str) {
    let w = world(url).await;
    let (store, now) = (&w.store, crate::now());

    let form = AccountForm {
        role: "medical_viewer",
        user_id: "view02",
        name: "閲覧 花子",
        name_kana: "エツラン ハナコ",
        start_date: "2026-04-01",
    };
    let created = accounts::create(store, &w.admin, &form, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.account.role, Role::MedicalViewer);
    assert_eq!(created.account.institution_id, Some(w.a.id));
    assert!(created.account.must_change_password);
    assert!(password_matches(
        &created.password,
        &created.account.password_hash
    ));
    let r = last(store, "account.create").await;
    assert!(r.detail.contains("\"target_user_id\":\"view02\""));
    assert!(!r.detail.contains(&created.password));
    // The same user ID again is refused with the ID named.
    let again = accounts::create(store, &w.admin, &form, now).await.unwrap();
    assert_eq!(
        again.unwrap_err(),
        AccountRefusal::UserIdTaken("view02".into())
    );

    // One's own account may be neither disabled nor reset.
    let me = w.admin.account.id;
    let refused = accounts::disable(store, &w.admin, me, now).await.unwrap();
    assert_eq!(refused.unwrap_err().code(), "Z-W-0623");
    let refused = accounts::reset_password(store, &w.admin, me, now)
        .await
        .unwrap();
    assert_eq!(refused.unwrap_err(), AccountRefusal::OwnAccount);
    assert!(!store.account(me).await.unwrap().unwrap().disabled);

    // Another institution's account reads as none, and the attempt is audited.
    let mark = head(store).await;
    let refused = accounts::disable(store, &w.admin, w.other.id, now)
        .await
        .unwrap();
    assert_eq!(refused.unwrap_err(), AccountRefusal::NotFound);
    assert!(!store.account(w.other.id).await.unwrap().unwrap().disabled);
    let denied = last(store, "access.denied").await;
    assert!(denied.seq > mark && denied.outcome == "not_found");
    assert!(
        denied
            .detail
            .contains(&format!("\"requested_account\":{}", w.other.id))
    );

    let disabled = accounts::disable(store, &w.admin, w.general.id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.id, w.general.id);
    assert!(store.account(w.general.id).await.unwrap().unwrap().disabled);
    assert_eq!(last(store, "account.disable").await.outcome, "ok");
    accounts::enable(store, &w.admin, w.general.id, now)
        .await
        .unwrap()
        .unwrap();
    assert!(!store.account(w.general.id).await.unwrap().unwrap().disabled);

    let reset = accounts::reset_password(store, &w.admin, w.general.id, now)
        .await
        .unwrap()
        .unwrap();
    let stored = store.account(w.general.id).await.unwrap().unwrap();
    assert!(stored.must_change_password);
    assert!(password_matches(&reset.password, &stored.password_hash));

    // The operator unlocks administrators only, and the record is the
    // institution's too.
    let refused = accounts::unlock_administrator(store, &w.operator, w.general.id, now)
        .await
        .unwrap();
    assert_eq!(refused.unwrap_err(), AccountRefusal::NotFound);
    accounts::unlock_administrator(store, &w.operator, w.other.id, now)
        .await
        .unwrap()
        .unwrap();
    let r = last(store, "account.unlock").await;
    assert_eq!(
        (r.actor.as_str(), r.institution_id),
        ("operator", Some(w.b.id))
    );
}
on_both!(accounts_are_managed_within_the_institution);

async fn institutions_are_registered_and_configured(url: &str) {
    let w = world(url).await;
    let (store, now) = (&w.store, crate::now());
    let code = InstitutionCode::build(Prefecture::new(27).unwrap(), InstitutionKind::Dental, 2, 45)
        .unwrap();
    let form = RegistrationForm {
        code: code.as_str(),
        name: "新規歯科医院",
        eprescription: true,
        admin_user_id: "dadmin",
        admin_name: "歯科 管理者",
        admin_kana: "シカ　カンリシャ",
    };
    let registered = institution::register(store, &w.operator, &form, now)
        .await
        .unwrap()
        .unwrap();
    assert!(!registered.institution.institution.remote_function_enabled);
    assert_eq!(registered.administrator.role, Role::Admin);
    assert!(registered.administrator.must_change_password);
    assert_eq!(
        last(store, "institution.create").await.institution_id,
        Some(registered.institution.id)
    );
    let again = institution::register(store, &w.operator, &form, now)
        .await
        .unwrap();
    assert_eq!(again.unwrap_err(), RegistrationRefusal::CodeTaken);

    // Switching the function on needs the terms acknowledged.
    let mut settings = Settings {
        function: true,
        terms_acknowledged: false,
        eprescription: true,
        items: ConsentItem::default_for(InstitutionKind::Medical),
        partner_origins: Some("https://online.example.jp\nnot an origin".into()),
    };
    let refused = institution::save_settings(store, &w.admin, &settings, now)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.refusal.as_ref().map(|r| r.code()), Some("Z-W-0610"));
    assert_eq!(refused.origin_messages().len(), 1);
    assert!(refused.origin_messages()[0].0.starts_with("2行目："));
    settings.terms_acknowledged = true;
    settings.partner_origins = Some("https://online.example.jp".into());
    let saved = institution::save_settings(store, &w.admin, &settings, now)
        .await
        .unwrap()
        .unwrap();
    assert!(saved.remote_function_enabled);
    let stored = store.institution(w.a.id).await.unwrap().unwrap();
    assert_eq!(stored.institution, saved);
    assert!(
        institution::terms_acceptance(store, &w.admin)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        last(store, "institution.settings")
            .await
            .detail
            .contains("\"terms_acknowledged\":true")
    );

    // A new URL stops the old one at once.
    let old = w.a.url_token.clone();
    let new = institution::rotate_url(store, &w.admin, now).await.unwrap();
    assert_ne!(new, old);
    assert!(store.institution_by_token(&old).await.unwrap().is_none());
    assert_eq!(
        store
            .institution_by_token(&new)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(w.a.id)
    );
}
on_both!(institutions_are_registered_and_configured);

async fn devices_are_registered_seen_and_revoked(url: &str) {
    let w = world(url).await;
    let (store, now) = (&w.store, crate::now());
    let token = zaitaku_service::random_token().unwrap();
    let refused = device::register(store, &w.admin, None, "　", token.clone(), now)
        .await
        .unwrap();
    assert!(matches!(refused, Err(DeviceRefusal::Memo(_))));
    let registered = device::register(store, &w.admin, None, "受付1号機", token.clone(), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(registered.token, token);
    let here = device::this_browser(store, &w.admin, Some(&token))
        .await
        .unwrap();
    assert_eq!(here.map(|d| d.id), Some(registered.device.id));
    let again = device::register(store, &w.admin, Some(&token), "二重", "x".into(), now)
        .await
        .unwrap();
    assert_eq!(again.unwrap_err().code(), "Z-W-0660");

    // The use is noted at most once per ten minutes; another institution's
    // visit is not on this device.
    assert!(
        !device::seen_at(store, Some(&token), w.b.id, now)
            .await
            .unwrap()
    );
    assert!(
        device::seen_at(store, Some(&token), w.a.id, now)
            .await
            .unwrap()
    );
    let seen = |t| async move {
        device::sighting(store, Some(t))
            .await
            .unwrap()
            .and_then(|d| d.last_seen_at)
    };
    let first = seen(&token).await.expect("noted");
    let later = now + Duration::minutes(5);
    assert!(
        device::seen_at(store, Some(&token), w.a.id, later)
            .await
            .unwrap()
    );
    assert_eq!(seen(&token).await, Some(first));
    let much_later = now + Duration::minutes(11);
    assert!(
        device::seen_at(store, Some(&token), w.a.id, much_later)
            .await
            .unwrap()
    );
    assert!(seen(&token).await > Some(first));

    let id = registered.device.id;
    let revoked = device::revoke(store, &w.admin, id, Some(&token), now)
        .await
        .unwrap()
        .expect("the institution's device");
    assert!(revoked.this_browser);
    assert!(
        !device::seen_at(store, Some(&token), w.a.id, now)
            .await
            .unwrap()
    );
    device::revoke(store, &w.admin, id, None, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        last(store, "device.revoke").await.outcome,
        "already_revoked"
    );
    assert!(
        device::revoke(store, &w.admin, id + 1000, None, now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(last(store, "access.denied").await.outcome, "not_found");
}
on_both!(devices_are_registered_seen_and_revoked);

async fn consented(
    store: &Store,
    inst: &StoredInstitution,
    person_id: i64,
    (name, kana): (&str, &str),
) {
    let mut e = zaitaku_testkit::person(
        person_id,
        NaiveDate::from_ymd_opt(1950, 7, 1).unwrap(),
        true,
    );
    e.person.name = name.into();
    e.person.name_kana = kana.into();
    store
        .insert_persons(&[PersonRecords::eligibility_only(&e)])
        .await
        .unwrap();
    let decision = ConsentDecision {
        care_kind: CareKind::HomeVisit,
        choices: BTreeMap::new(),
        prescription_form: None,
        valid_until: None,
    };
    store
        .record_consent(&NewConsent {
            institution_id: inst.id,
            person_id,
            action: ConsentAction::Register,
            channel: Channel::Web,
            decision: &decision,
            recorded_at: crate::now() - Duration::days(1),
            recorded_by: "patient",
            photo_id_reason: Some(zaitaku_domain::photo_id::PhotoIdReason::OwnDevice),
            idempotency_key: None,
        })
        .await
        .unwrap();
}

async fn patients_are_listed_and_noted_within_the_consent(url: &str) {
    let w = world(url).await;
    let (store, now) = (&w.store, crate::now());
    consented(store, &w.a, 71, ("監査 花子", "カンサ\u{3000}ハナコ")).await;
    consented(store, &w.a, 72, ("監査 次郎", "カンサ\u{3000}ジロウ")).await;
    consented(store, &w.b, 73, ("別院 太郎", "ベツイン\u{3000}タロウ")).await;

    let list = patients::list(store, &w.admin, &Search::default(), now)
        .await
        .unwrap();
    assert_eq!(list.patients.len(), 2);
    assert!(
        list.refusal.is_none() && list.from.is_some(),
        "last 30 days"
    );
    let search = Search {
        name: Some("はなこ"),
        ..Search::default()
    };
    let list = patients::list(store, &w.admin, &search, now).await.unwrap();
    assert_eq!(
        list.patients
            .iter()
            .map(|p| p.person_id)
            .collect::<Vec<_>>(),
        [71]
    );
    let r = last(store, "patients.list").await;
    assert!(r.detail.contains("\"by_name\":true") && !r.detail.contains("はなこ"));
    let search = Search {
        from: Some("2026-05-02"),
        to: Some("2026-05-01"),
        ..Search::default()
    };
    let list = patients::list(store, &w.admin, &search, now).await.unwrap();
    assert!(list.patients.is_empty());
    assert!(list.refusal.is_some());

    // Another institution's patient does not exist here.
    let none = patients::consented(store, &w.admin, 73, "reference", now)
        .await
        .unwrap();
    assert!(none.is_none());
    let denied = last(store, "access.denied").await;
    assert!(denied.detail.contains("\"requested_person\":73"));

    let hanako = patients::consented(store, &w.admin, 71, "reference", now)
        .await
        .unwrap()
        .unwrap();
    let jiro = patients::consented(store, &w.admin, 72, "reference", now)
        .await
        .unwrap()
        .unwrap();
    let set = patients::set_reference(store, &w.admin, &hanako, " A-001 ", now)
        .await
        .unwrap()
        .unwrap();
    assert!(set.is_some());
    let taken = patients::set_reference(store, &w.admin, &jiro, set.as_deref().unwrap(), now)
        .await
        .unwrap();
    assert_eq!(taken.unwrap_err(), ReferenceRefusal::Taken);
    let cleared = patients::set_reference(store, &w.admin, &hanako, "  ", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared, None);
    assert!(
        last(store, "patient.reference_number")
            .await
            .detail
            .contains("\"cleared\":true")
    );

    assert!(hanako.needs_photo_id_check());
    patients::record_photo_id_check(store, &w.admin, &hanako, now)
        .await
        .unwrap();
    let after = store.consented_patient(w.a.id, 71).await.unwrap().unwrap();
    assert!(!after.needs_photo_id_check());
    assert_eq!(
        last(store, "patient.photo_id_checked").await.person_id,
        Some(71)
    );
}
on_both!(patients_are_listed_and_noted_within_the_consent);

async fn reading_the_audit_log_is_recorded(url: &str) {
    let w = world(url).await;
    let (store, now) = (&w.store, crate::now());
    accounts::enable(store, &w.admin, w.general.id, now)
        .await
        .unwrap()
        .unwrap();
    let filter = Filter {
        category: Category::Prefix("account."),
        ..Filter::default()
    };
    let read = audit_log::view(store, &w.admin, &filter, now)
        .await
        .unwrap();
    assert!(!read.records.is_empty());
    assert!(
        read.records
            .iter()
            .all(|r| r.action.starts_with("account.") && r.institution_id == Some(w.a.id))
    );
    let r = last(store, "audit.view").await;
    assert!(r.detail.contains("\"category\":\"account.\""));
    assert!(r.detail.contains("\"platform\":false"));

    let refused = audit_log::export(
        store,
        &w.admin,
        &Filter {
            from: Some("2026-13-01"),
            ..Filter::default()
        },
        now,
    )
    .await
    .unwrap();
    assert!(refused.is_err());
    let exported = audit_log::export(store, &w.operator, &Filter::default(), now)
        .await
        .unwrap()
        .unwrap();
    assert!(exported.records.len() >= 2);
    assert!(
        last(store, "audit.export")
            .await
            .detail
            .contains("\"platform\":true")
    );
    let names = audit_log::names(store, &w.operator, &exported.records)
        .await
        .unwrap();
    assert!(names.accounts.contains_key(&w.admin.account.id));
    assert!(names.institutions.contains_key(&w.a.id));

    assert_eq!(
        audit_log::verify_chain(store, &w.operator, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(last(store, "audit.verify").await.outcome, "intact");
}
on_both!(reading_the_audit_log_is_recorded);
