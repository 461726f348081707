//! The consent gate in front of patients' information, on SQLite and
//! PostgreSQL: medical information only for the consented items, while the
//! consent is in force and never on a certificate in its grace period, every
//! read audited; 再照会; the patient list's filters; 照会番号.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use zaitaku_domain::account::Role;
use zaitaku_domain::consent::{CareKind, Choice, ConsentItem};
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_domain::medical::{CheckupResult, ClinicalEvent, ClinicalKind};
use zaitaku_storage::{AuditRecord, Store, StoredAccount, StoredInstitution};
use zaitaku_testkit::client::{self, Browser, Reply};
use zaitaku_testkit::fixtures::{
    self, Consent, Records, account, card, consent, days_ago, drug, institution, jst_day, person,
    today,
};
use zaitaku_testkit::on_both;
use zaitaku_testkit::server::{self, Server};

/// Consent in force, every item agreed, valid card.
const OK: i64 = 101;
/// 診療情報・薬剤情報 answered 同意しない.
const ITEM: i64 = 102;
/// Online care, valid until yesterday.
const EXPIRED: i64 = 103;
/// Registered, then revoked.
const REVOKED: i64 = 104;
/// Card certificate in its grace period; registered on the patient's device.
const GRACE: i64 = 105;
/// Registered on the patient's device, not yet checked against a photo ID.
const PHOTO: i64 = 106;
/// Consented to B only.
const NEVER: i64 = 107;
/// Consented 45 days ago.
const OLD: i64 = 108;
/// Consent in force, no card at all.
const NO_CARD: i64 = 109;
/// Nobody has this ID.
const NOBODY: i64 = 999_999;

/// The drug dispensed to each person recently; shown only where allowed.
fn recent_drug(id: i64) -> String {
    format!("試験薬{id}錠")
}

const MID_DRUG: &str = "中間月薬錠";
const OLD_DRUG: &str = "過去年薬錠";
const LAB: &str = "試験用検査ＨｂＡ１ｃ";

fn mid_day() -> NaiveDate {
    today() - Duration::days(150)
}

fn old_day() -> NaiveDate {
    today() - Duration::days(400)
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

struct World {
    srv: Server,
    a: StoredInstitution,
    b: StoredInstitution,
    admin: StoredAccount,
    viewer: StoredAccount,
    general: StoredAccount,
}

async fn world(url: &str) -> World {
    let srv = server::start(url).await;
    let store = &srv.store;
    let state = &srv.state;
    let a = institution(
        store,
        InstitutionKind::Medical,
        11,
        "試験在宅クリニック",
        true,
    )
    .await;
    let b = institution(store, InstitutionKind::Medical, 22, "別院クリニック", true).await;
    let admin = account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    let viewer = account(store, Some(&a), "aview", Role::MedicalViewer, "試験 閲覧").await;
    let general = account(store, Some(&a), "agen", Role::General, "試験 一般").await;
    account(store, Some(&b), "badmin", Role::Admin, "別院 管理者").await;

    let recent = today() - Duration::days(10);
    let names = [
        (OK, "閲覧 可能"),
        (ITEM, "項目 不同意"),
        (EXPIRED, "期限 切れ"),
        (REVOKED, "取消 済み"),
        (GRACE, "猶予 期間"),
        (PHOTO, "写真 確認"),
        (NEVER, "未同意 患者"),
        (OLD, "過去 同意"),
        (NO_CARD, "カード 無し"),
    ];
    let (grace_birth, grace_issued) = fixtures::grace_card_dates();
    for (id, name) in names {
        let mut records = Records {
            drugs: vec![drug(recent, &recent_drug(id))],
            checkups: vec![CheckupResult {
                examined_on: today() - Duration::days(100),
                height_cm: 160.0,
                weight_kg: 55.0,
                waist_cm: 80.0,
                systolic_mmhg: 128,
                diastolic_mmhg: 78,
                hba1c_percent: 6.3,
                ldl_mg_dl: 131,
                hdl_mg_dl: 57,
                triglycerides_mg_dl: 149,
            }],
            ..Records::default()
        };
        if id == OK {
            records.drugs.push(drug(mid_day(), MID_DRUG));
            records.drugs.push(drug(old_day(), OLD_DRUG));
            records.clinical.push(ClinicalEvent {
                occurred_on: today() - Duration::days(5),
                kind: ClinicalKind::LabResult,
                name: LAB.into(),
                detail: "6.3 %".into(),
                institution_name: "試験在宅クリニック".into(),
            });
        }
        let birth = if id == GRACE {
            grace_birth
        } else {
            fixtures::birth()
        };
        person(store, id, name, birth, &records).await;
        match id {
            GRACE => card(state, id, grace_issued).await,
            NO_CARD => {}
            _ => card(state, id, today() - Duration::days(20)).await,
        }
    }
    let home = CareKind::HomeVisit;
    let consents = [
        (OK, Consent::register(home, days_ago(5))),
        (
            ITEM,
            Consent::register(home, days_ago(10))
                .with(ConsentItem::ClinicalAndDrug, Choice::Disagree),
        ),
        (
            EXPIRED,
            Consent::register(CareKind::Online, days_ago(2)).until(days_ago(1)),
        ),
        (REVOKED, Consent::register(home, days_ago(40))),
        (REVOKED, Consent::revoke(home, days_ago(3))),
        (
            GRACE,
            Consent::register(CareKind::Outpatient, days_ago(1)).own_device(),
        ),
        (PHOTO, Consent::register(home, days_ago(20)).own_device()),
        (OLD, Consent::register(home, days_ago(45))),
        (NO_CARD, Consent::register(home, days_ago(7))),
    ];
    for (id, c) in consents {
        consent(store, &a, id, c).await;
    }
    consent(store, &b, NEVER, Consent::register(home, days_ago(4))).await;
    World {
        srv,
        a,
        b,
        admin,
        viewer,
        general,
    }
}

/// The newest audit record of `action`, if it is newer than `after`.
async fn newest(store: &Store, action: &str, after: i64) -> Option<AuditRecord> {
    store
        .audit_records(Some(action), 1)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.seq > after && r.action == action)
}

async fn head(store: &Store) -> i64 {
    store.audit_records(None, 1).await.unwrap()[0].seq
}

fn names_account(r: &AuditRecord, a: &StoredAccount) -> bool {
    r.detail.contains(&format!("\"account\":{}", a.id))
        && r.detail.contains(&format!("\"user_id\":\"{}\"", a.user_id))
}

async fn medical(b: &Browser, id: i64, query: &str) -> Reply {
    b.get(&format!("/admin/patients/{id}/medical?{query}"))
        .await
}

async fn medical_information_opens_only_within_the_consent(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let store = &w.srv.store;
    let viewer = Browser::login(base, &w.a, "aview").await;

    // Allowed: the drugs of the requested 診療年月 range only.
    let mark = head(store).await;
    let mid = month(mid_day());
    let res = medical(&viewer, OK, &format!("kind=drugs&from={mid}&to={mid}")).await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert!(res.body.contains(MID_DRUG), "the drug of {mid}");
    assert!(!res.body.contains(OLD_DRUG) && !res.body.contains(&recent_drug(OK)));
    assert!(res.body.contains("1件"));
    let read = newest(store, "medical.read", mark).await.expect("audited");
    assert_eq!(
        (read.outcome.as_str(), read.person_id, read.institution_id),
        ("ok", Some(OK), Some(w.a.id))
    );
    assert!(names_account(&read, &w.viewer), "{}", read.detail);
    assert!(read.detail.contains("\"records\":1"), "{}", read.detail);
    assert!(read.detail.contains(&format!("\"from\":\"{mid}\"")));

    // A range over two older months, and the default (the last three months).
    let old = month(old_day());
    let res = medical(&viewer, OK, &format!("kind=drugs&from={old}&to={mid}")).await;
    assert!(res.body.contains(MID_DRUG) && res.body.contains(OLD_DRUG));
    assert!(!res.body.contains(&recent_drug(OK)));
    let res = medical(&viewer, OK, "kind=drugs").await;
    assert!(res.body.contains(&recent_drug(OK)));
    assert!(!res.body.contains(MID_DRUG) && !res.body.contains(OLD_DRUG));
    // A reversed or malformed range is refused with a message, not a table.
    let res = medical(&viewer, OK, &format!("kind=drugs&from={mid}&to={old}")).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("診療年月の期間が正しくありません"));
    assert!(!res.body.contains(MID_DRUG));
    let res = medical(&viewer, OK, "kind=drugs&from=2026-13").await;
    assert_eq!(res.status, 422);
    assert!(
        res.body
            .contains("診療年月は 2026-04 の形で入力してください。")
    );
    // Clinical information and check-ups.
    let res = medical(&viewer, OK, "kind=clinical").await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains(LAB));
    let res = medical(&viewer, OK, "kind=checkups").await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("6.3 %") && res.body.contains("128/78 mmHg"));

    // Refused, each with its reason; the records never reach the page.
    let refusals = [
        (ITEM, "kind=drugs", "Z-W-0641"),
        (EXPIRED, "kind=drugs", "Z-W-0642"),
        (EXPIRED, "kind=checkups", "Z-W-0642"),
        (REVOKED, "kind=drugs", "Z-W-0643"),
        (GRACE, "kind=drugs", "Z-W-0644"),
        (GRACE, "kind=clinical", "Z-W-0644"),
        (NO_CARD, "kind=drugs", "Z-W-0645"),
    ];
    for (id, query, code) in refusals {
        let mark = head(store).await;
        let res = medical(&viewer, id, query).await;
        assert_eq!(res.status, 403, "{id} {query}: {}", res.summary());
        assert!(res.shows_code(code), "{id} {query}: {}", res.summary());
        assert!(!res.body.contains(&recent_drug(id)), "{id}: drug shown");
        assert!(!res.body.contains("128/78"), "{id}: check-up shown");
        let read = newest(store, "medical.read", mark).await.expect("audited");
        assert_eq!(read.outcome, "refused");
        assert_eq!(read.person_id, Some(id));
        assert!(names_account(&read, &w.viewer));
        assert!(read.detail.contains(code), "{}", read.detail);
    }
    // The item the patient did agree to still opens.
    let res = medical(&viewer, ITEM, "kind=checkups").await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert!(res.body.contains("128/78 mmHg"));
    // The patient page says why before anyone clicks.
    let page = viewer.get(&format!("/admin/patients/{GRACE}")).await;
    assert!(page.body.contains("Z-W-0644"));
    assert!(
        !page
            .body
            .contains(&format!("/admin/patients/{GRACE}/medical?kind=drugs"))
    );
    let page = viewer.get(&format!("/admin/patients/{OK}")).await;
    assert!(
        page.body
            .contains(&format!("/admin/patients/{OK}/medical?kind=drugs"))
    );

    // Never consented to this institution: not found, exactly like nobody.
    let mark = head(store).await;
    let res = medical(&viewer, NEVER, "kind=drugs").await;
    assert_eq!(res.status, 404, "{}", res.summary());
    assert!(res.shows_code("Z-W-0605"));
    assert!(!res.body.contains("未同意") && !res.body.contains(&recent_drug(NEVER)));
    assert_eq!(res.body, medical(&viewer, NOBODY, "kind=drugs").await.body);
    let denied = store.audit_records(Some("access.denied"), 5).await.unwrap();
    assert!(
        denied.iter().any(|d| d.seq > mark
            && d.outcome == "not_found"
            && names_account(d, &w.viewer)
            && d.detail.contains(&format!("\"requested_person\":{NEVER}"))
            && d.detail.contains("\"attempted\":\"medical\"")),
        "{denied:?}"
    );

    // 一般利用者 may see the list, never medical information.
    let general = Browser::login(base, &w.a, "agen").await;
    let mark = head(store).await;
    let res = medical(&general, OK, "kind=drugs").await;
    assert_eq!(res.status, 403);
    assert!(res.shows_code("Z-W-0603"));
    assert!(!res.body.contains(&recent_drug(OK)));
    // Refused by role, and audited as a refused read of this patient.
    let denied = newest(store, "medical.read", mark).await.expect("audited");
    assert_eq!(denied.outcome, "refused");
    assert_eq!(denied.person_id, Some(OK));
    assert!(names_account(&denied, &w.general));
    assert!(denied.detail.contains("Z-W-0603"));
    let page = general.get(&format!("/admin/patients/{OK}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("/medical?"),
        "no links to medical information"
    );
    // The administrator holds the permission too.
    let admin = Browser::login(base, &w.a, "aadmin").await;
    let res = medical(&admin, OK, "kind=drugs").await;
    assert_eq!(res.status, 200);
    let read = newest(store, "medical.read", mark).await.expect("audited");
    assert!(names_account(&read, &w.admin));
}
on_both!(medical_information_opens_only_within_the_consent);

/// The requirement is that every attempt to read medical information names
/// the person; a refusal by role records only the account and permission.
async fn a_refusal_by_role_names_the_person(url: &str) {
    let w = world(url).await;
    let store = &w.srv.store;
    let general = Browser::login(&w.srv.base, &w.a, "agen").await;
    let mark = head(store).await;
    let res = medical(&general, OK, "kind=drugs").await;
    assert_eq!(res.status, 403);
    let records = store.audit_records(None, 5).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.seq > mark && names_account(r, &w.general) && r.person_id == Some(OK)),
        "no record names person {OK}: {:?}",
        records
            .iter()
            .map(|r| (&r.action, &r.outcome, r.person_id, &r.detail))
            .collect::<Vec<_>>()
    );
}
mod role_refusal {
    // Kept apart so that the bug is visible in the test list.
    #[tokio::test]
    async fn sqlite() {
        let db = zaitaku_testkit::sqlite();
        super::a_refusal_by_role_names_the_person(&db.url).await;
    }
    #[tokio::test]
    async fn postgres() {
        let url = zaitaku_testkit::postgres().await;
        super::a_refusal_by_role_names_the_person(&url).await;
    }
}

async fn requery_needs_a_consent_in_force(url: &str) {
    let w = world(url).await;
    let store = &w.srv.store;
    let general = Browser::login(&w.srv.base, &w.a, "agen").await;
    for id in [OK, GRACE] {
        let page = general.get(&format!("/admin/patients/{id}")).await;
        assert!(page.body.contains(&format!("/admin/patients/{id}/requery")));
        let mark = head(store).await;
        let res = general
            .post(&format!("/admin/patients/{id}/requery"), &[])
            .await;
        assert_eq!(res.status, 200, "{}", res.summary());
        assert!(res.body.contains("再照会しました"), "{id}");
        let r = newest(store, "eligibility.requery", mark)
            .await
            .expect("audited");
        assert_eq!((r.outcome.as_str(), r.person_id), ("ok", Some(id)));
        assert!(names_account(&r, &w.general));
    }
    for (id, code) in [(EXPIRED, "Z-W-0642"), (REVOKED, "Z-W-0643")] {
        let page = general.get(&format!("/admin/patients/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains(&format!("/admin/patients/{id}/requery")),
            "no 再照会 button for {id}"
        );
        let mark = head(store).await;
        let res = general
            .post(&format!("/admin/patients/{id}/requery"), &[])
            .await;
        assert!(res.shows_code(code), "{id}: {}", res.summary());
        assert!(!res.body.contains("再照会しました"));
        let r = newest(store, "eligibility.requery", mark)
            .await
            .expect("audited");
        assert_eq!((r.outcome.as_str(), r.person_id), ("refused", Some(id)));
    }
    let res = general
        .post(&format!("/admin/patients/{NEVER}/requery"), &[])
        .await;
    assert_eq!(res.status, 404);
    assert!(res.shows_code("Z-W-0605") && !res.body.contains("未同意"));
}
on_both!(requery_needs_a_consent_in_force);

/// The patients a list page shows, by the links of its lines.
fn listed(res: &Reply) -> BTreeSet<i64> {
    assert_eq!(res.status, 200, "{}", res.summary());
    res.body
        .split("<a href=\"/admin/patients/")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

async fn the_patient_list_filters(url: &str) {
    let w = world(url).await;
    let general = Browser::login(&w.srv.base, &w.a, "agen").await;
    // First visit: the last 30 days, this institution only.
    let res = general.get("/admin/patients").await;
    assert_eq!(
        listed(&res),
        set(&[OK, ITEM, EXPIRED, REVOKED, GRACE, PHOTO, NO_CARD])
    );
    assert!(!res.body.contains("未同意"));
    let from = jst_day(days_ago(12));
    let to = jst_day(days_ago(4));
    let res = general
        .get(&format!("/admin/patients?from={from}&to={to}"))
        .await;
    assert_eq!(listed(&res), set(&[OK, ITEM, NO_CARD]));
    let from = jst_day(days_ago(60));
    let res = general.get(&format!("/admin/patients?from={from}")).await;
    assert!(listed(&res).contains(&OLD));
    let res = general.get("/admin/patients?kind=online").await;
    assert_eq!(listed(&res), set(&[EXPIRED]));
    assert!(res.body.contains("有効期限切れ"));
    let res = general.get("/admin/patients?kind=outpatient").await;
    assert_eq!(listed(&res), set(&[GRACE]));
    let res = general.get("/admin/patients?kind=home_visit").await;
    assert_eq!(listed(&res), set(&[OK, ITEM, REVOKED, PHOTO, OLD, NO_CARD]));
    assert!(res.body.contains("取消済み"));
    // Wrong dates are refused with a message.
    let res = general.get("/admin/patients?from=2026-13-01").await;
    assert_eq!(res.status, 422);
    assert!(
        res.body
            .contains("日付は 2026-04-01 の形で入力してください。")
    );
    let res = general
        .get(&format!("/admin/patients?from={to}&to={from}"))
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("開始日が終了日より後です"));

    // Registrations on the patient's own device await a photo-ID check.
    let res = general.get("/admin/patients?photo=1").await;
    assert_eq!(listed(&res), set(&[GRACE, PHOTO]));
    let res = general.get("/admin/patients?photo=1&kind=home_visit").await;
    assert_eq!(listed(&res), set(&[PHOTO]));
    let from = jst_day(days_ago(2));
    let res = general
        .get(&format!("/admin/patients?photo=1&from={from}"))
        .await;
    assert_eq!(listed(&res), set(&[GRACE]));
    let menu = general.get("/admin").await;
    assert!(menu.body.contains("済んでいない方が 2 人います"));
    let res = general
        .post(&format!("/admin/patients/{GRACE}/photo-id"), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location, format!("/admin/patients/{GRACE}?done=photo"));
    let page = general.get(&res.location).await;
    assert!(
        page.body
            .contains("顔写真付き身分証による本人確認を記録しました。")
    );
    assert!(page.body.contains("確認済み：") && page.body.contains("試験 一般"));
    let res = general.get("/admin/patients?photo=1").await;
    assert_eq!(listed(&res), set(&[PHOTO]));
    let store = &w.srv.store;
    let r = newest(store, "patient.photo_id_checked", 0)
        .await
        .expect("audited");
    assert_eq!(r.person_id, Some(GRACE));
    assert!(names_account(&r, &w.general));
}
on_both!(the_patient_list_filters);

async fn reference_of(store: &Store, inst: &StoredInstitution, id: i64) -> Option<String> {
    store
        .patient_notes(inst.id, id)
        .await
        .unwrap()
        .reference_number
}

async fn reference_numbers_are_unique_per_institution(url: &str) {
    let w = world(url).await;
    let store = &w.srv.store;
    let admin = Browser::login(&w.srv.base, &w.a, "aadmin").await;
    let fifty = "照会".repeat(25);
    let fifty_one = format!("{fifty}1");
    assert_eq!(fifty.chars().count(), 50);

    let res = admin
        .post(
            &format!("/admin/patients/{OK}/reference"),
            &[("reference", &fifty)],
        )
        .await;
    assert_eq!(res.location, format!("/admin/patients/{OK}?done=reference"));
    let page = admin.get(&res.location).await;
    assert!(page.body.contains("照会番号を登録しました。"));
    assert!(page.body.contains(&format!("value=\"{fifty}\"")));
    assert_eq!(
        reference_of(store, &w.a, OK).await.as_deref(),
        Some(&*fifty)
    );
    let list = admin.get("/admin/patients").await;
    assert!(list.body.contains(&fifty));

    // 51 characters: refused, the field keeps what was typed, nothing stored.
    let res = admin
        .post(
            &format!("/admin/patients/{OK}/reference"),
            &[("reference", &fifty_one)],
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.summary());
    assert!(res.body.contains("50文字以内で入力してください。"));
    assert!(res.body.contains(&format!("value=\"{fifty_one}\"")));
    assert_eq!(
        reference_of(store, &w.a, OK).await.as_deref(),
        Some(&*fifty)
    );

    // The same number on another patient of the same institution: refused.
    let res = admin
        .post(
            &format!("/admin/patients/{ITEM}/reference"),
            &[("reference", &fifty)],
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.summary());
    assert!(res.shows_code("Z-W-0631"));
    assert!(res.body.contains("別の患者に登録されています"));
    assert_eq!(reference_of(store, &w.a, ITEM).await, None);

    // The same number at another institution: accepted.
    let b_admin = Browser::login(&w.srv.base, &w.b, "badmin").await;
    let res = b_admin
        .post(
            &format!("/admin/patients/{NEVER}/reference"),
            &[("reference", &fifty)],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.summary());
    assert_eq!(
        reference_of(store, &w.b, NEVER).await.as_deref(),
        Some(&*fifty)
    );

    // An empty field removes the number, which another patient may then take.
    let res = admin
        .post(
            &format!("/admin/patients/{OK}/reference"),
            &[("reference", "")],
        )
        .await;
    assert_eq!(
        res.location,
        format!("/admin/patients/{OK}?done=reference_cleared")
    );
    assert_eq!(reference_of(store, &w.a, OK).await, None);
    let res = admin
        .post(
            &format!("/admin/patients/{ITEM}/reference"),
            &[("reference", &fifty)],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.summary());
    assert_eq!(
        reference_of(store, &w.a, ITEM).await.as_deref(),
        Some(&*fifty)
    );
    let r = newest(store, "patient.reference_number", 0)
        .await
        .expect("audited");
    assert_eq!(r.person_id, Some(ITEM));
    assert!(names_account(&r, &w.admin));
    assert!(
        !r.detail.contains(&fifty),
        "the number itself is not logged"
    );
}
on_both!(reference_numbers_are_unique_per_institution);

/// 51 ordinary characters are too many, not forbidden characters.
async fn a_long_reference_number_is_told_it_is_too_long(url: &str) {
    let w = world(url).await;
    let admin = Browser::login(&w.srv.base, &w.a, "aadmin").await;
    let res = admin
        .post(
            &format!("/admin/patients/{OK}/reference"),
            &[("reference", &"1".repeat(51))],
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.summary());
    assert_eq!(
        client::between(&res.body, "role=\"alert\"><p>", "</p>"),
        Some("照会番号は50文字以内で入力してください。")
    );
    assert!(res.shows_code("Z-V-0007"), "{}", res.summary());
    assert_eq!(reference_of(&w.srv.store, &w.a, OK).await, None);
}
mod long_reference_message {
    #[tokio::test]
    async fn sqlite() {
        let db = zaitaku_testkit::sqlite();
        super::a_long_reference_number_is_told_it_is_too_long(&db.url).await;
    }
    #[tokio::test]
    async fn postgres() {
        let url = zaitaku_testkit::postgres().await;
        super::a_long_reference_number_is_told_it_is_too_long(&url).await;
    }
}

/// The check-up page offers the 診療年月 range like the other two; a
/// check-up outside the chosen months should not be listed (the audit
/// record says only that range was read).
async fn check_ups_keep_to_the_chosen_months(url: &str) {
    let w = world(url).await;
    let store = &w.srv.store;
    let viewer = Browser::login(&w.srv.base, &w.a, "aview").await;
    // The month of the check-up (100 days ago) lists it; this month, nothing.
    let examined = month(today() - Duration::days(100));
    let this_month = month(today());
    for (from_to, listed) in [(&examined, true), (&this_month, false)] {
        let mark = head(store).await;
        let res = medical(
            &viewer,
            OK,
            &format!("kind=checkups&from={from_to}&to={from_to}"),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.summary());
        assert!(
            res.body
                .contains(&format!("name=\"from\" value=\"{from_to}\"")),
            "the range is offered as chosen"
        );
        assert_eq!(
            res.body.contains("<caption>1件</caption>") && res.body.contains("128/78 mmHg"),
            listed,
            "{from_to}"
        );
        assert_eq!(
            res.body.contains("対象期間に特定健診等情報はありません。"),
            !listed,
            "{from_to}"
        );
        let read = newest(store, "medical.read", mark).await.expect("audited");
        for field in [
            format!("\"from\":\"{from_to}\""),
            format!("\"to\":\"{from_to}\""),
            format!("\"records\":{}", u8::from(listed)),
        ] {
            assert!(read.detail.contains(&field), "{field}: {}", read.detail);
        }
    }
}
mod check_up_range {
    #[tokio::test]
    async fn sqlite() {
        let db = zaitaku_testkit::sqlite();
        super::check_ups_keep_to_the_chosen_months(&db.url).await;
    }
    #[tokio::test]
    async fn postgres() {
        let url = zaitaku_testkit::postgres().await;
        super::check_ups_keep_to_the_chosen_months(&url).await;
    }
}

/// 同意取得済み患者一覧 searched as staff look a patient up: by part of the
/// name or the kana (typed in hiragana too, with or without the space), by
/// birth date, by 照会番号 — and never beyond the institution's patients.
async fn the_patient_list_searches_by_name_kana_birth_and_reference(url: &str) {
    let w = world(url).await;
    let store = &w.srv.store;
    let birth = NaiveDate::from_ymd_opt(1941, 2, 3).unwrap();
    let other_birth = NaiveDate::from_ymd_opt(1952, 8, 9).unwrap();
    for (id, name, kana, born) in [
        (9101, "厚労 太郎", "コウロウ　タロウ", birth),
        (9102, "厚労 花江", "コウロウ　ハナエ", other_birth),
        (9103, "山田 100%", "ヤマダ　ヒャク", other_birth),
        (9104, "厚労 別院", "コウロウ　ベツイン", birth),
    ] {
        fixtures::insured_person(store, id, name, kana, born).await;
        let inst = if id == 9104 { &w.b } else { &w.a };
        fixtures::consent(
            store,
            inst,
            id,
            Consent::register(CareKind::HomeVisit, days_ago(90)),
        )
        .await;
    }
    store
        .set_reference_number(w.a.id, 9102, Some("SHIN-0042"), chrono::Utc::now())
        .await
        .unwrap();
    store
        .set_reference_number(w.b.id, 9104, Some("SHIN-0042"), chrono::Utc::now())
        .await
        .unwrap();
    let general = Browser::login(&w.srv.base, &w.a, "agen").await;
    let search = |q: &str| format!("/admin/patients?from=&to=&kind=&{q}");
    for (q, expected) in [
        ("name=厚労", set(&[9101, 9102])),
        ("name=太郎", set(&[9101])),
        ("name=厚労太郎", set(&[9101])),
        ("name=こうろう%E3%80%80たろう", set(&[9101])),
        ("name=コウロウ", set(&[9101, 9102])),
        ("name=はなえ", set(&[9102])),
        ("name=100%25", set(&[9103])),
        ("name=%25", set(&[9103])),
        ("name=_", set(&[])),
        ("birth=1941-02-03", set(&[9101])),
        ("name=厚労&birth=1952-08-09", set(&[9102])),
        ("reference=SHIN-0042", set(&[9102])),
        ("reference=SHIN-004", set(&[])),
        ("name=別院", set(&[])),
    ] {
        let res = general.get(&search(q)).await;
        assert_eq!(listed(&res), expected, "{q}");
    }
    // The form keeps what was searched.
    let res = general
        .get(&search("name=厚労&birth=1941-02-03&reference=X"))
        .await;
    assert!(
        res.body
            .contains("id=\"name\" name=\"name\" value=\"厚労\"")
    );
    assert!(res.body.contains("value=\"1941-02-03\""));
    assert!(
        res.body
            .contains("id=\"reference\" name=\"reference\" value=\"X\"")
    );
    let res = general.get(&search("birth=1941-2-30")).await;
    assert_eq!(res.status, 422);
    // The search is audited without what was typed.
    let r = store
        .audit_records(Some("patients.list"), 50)
        .await
        .unwrap();
    assert!(
        r.iter()
            .all(|r| !r.detail.contains("厚労") && !r.detail.contains("SHIN"))
    );
}
on_both!(the_patient_list_searches_by_name_kana_birth_and_reference);

/// Seed 002's 患者情報 (郵便番号, 住所, 交付年月日, 有効期限) on the patient page,
/// and its 薬剤情報 columns on the drug history.
async fn the_patient_page_and_drug_history_have_the_seeds_fields(url: &str) {
    let w = world(url).await;
    let store = &w.srv.store;
    fixtures::insured_person(
        store,
        9201,
        "厚労 太郎",
        "コウロウ　タロウ",
        fixtures::birth(),
    )
    .await;
    consent(
        store,
        &w.a,
        9201,
        Consent::register(CareKind::HomeVisit, days_ago(2)),
    )
    .await;
    let viewer = Browser::login(&w.srv.base, &w.a, "aview").await;
    let page = viewer.get("/admin/patients/9201").await;
    assert_eq!(page.status, 200, "{}", page.summary());
    let fact = |label: &str| {
        client::between(&page.body, &format!("<dt>{label}</dt><dd>"), "</dd>")
            .unwrap_or_else(|| panic!("no {label}"))
            .to_owned()
    };
    assert_eq!(fact("郵便番号"), "100-0001");
    assert_eq!(fact("住所"), "東京都みどり市1-1");
    assert_eq!(fact("資格取得年月日"), "2020年04月01日");
    assert_eq!(fact("交付年月日"), "2020年04月15日");
    assert_eq!(fact("有効期限"), "2020年04月01日 ～ 定めなし");
    assert!(!page.body.contains("有効開始日"), "said once, as 有効期限");

    let res = medical(&viewer, OK, "kind=drugs").await;
    assert_eq!(res.status, 200, "{}", res.summary());
    let header = client::between(&res.body, "<thead><tr>", "</tr></thead>").unwrap();
    let columns: Vec<&str> = header
        .split("<th scope=\"col\">")
        .skip(1)
        .filter_map(|c| c.split('<').next())
        .collect();
    assert_eq!(
        columns,
        [
            "入外/調剤",
            "診療年月",
            "処方日",
            "調剤日",
            "用法",
            "内服/外用",
            "薬剤名",
            "一般名",
            "数量",
            "回数",
            "医療機関等"
        ]
    );
    for cell in [
        "<td data-label=\"入外/調剤\">調剤</td>",
        "<td data-label=\"内服/外用\">内服</td>",
        &format!(
            "<td data-label=\"一般名\">{}（一般名）</td>",
            recent_drug(OK)
        ),
        "<td data-label=\"回数\">14日分</td>",
    ] {
        assert!(res.body.contains(cell), "{cell}");
    }
}
on_both!(the_patient_page_and_drug_history_have_the_seeds_fields);
