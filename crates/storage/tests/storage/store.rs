//! The storage suite, run once against SQLite and once against PostgreSQL.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use zaitaku_domain::codes::{
    BurdenRatio, LimitCertificateKind, LimitClass, LossReason, PersonalFamily, PrescriptionForm,
    PublicSubsidyLaw, QualificationValidity, Sex, SpecificDisease,
};
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentItem, ConsentRequest, ConsentState,
};
use zaitaku_domain::eligibility::{
    Coverage, ElderlyCertificate, Eligibility, LimitCertificate, Loss, PayerNumber, Period,
    PublicSubsidy, Qualification, RecipientNumber, SpecificDiseaseCertificate,
};
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};
use zaitaku_domain::medical::{
    CheckupResult, ClinicalEvent, ClinicalKind, DispensingSetting, DrugRecord, DrugRoute,
};
use zaitaku_domain::person::{ConsiderateInfo, Person};
use zaitaku_domain::photo_id::PhotoIdReason;
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{NewConsent, PersonRecords, StorageError, Store};

use zaitaku_testkit::on_both;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
}

fn tokyo() -> Prefecture {
    Prefecture::new(13).unwrap()
}

fn clinic(number: u16, eprescription: bool) -> Institution {
    let code = InstitutionCode::build(tokyo(), InstitutionKind::Medical, 1, number).unwrap();
    Institution::new(code, "試験在宅クリニック", eprescription).unwrap()
}

fn full_eligibility(id: i64) -> Eligibility {
    let insurer = InsurerNumber::build(Some(6), tokyo(), 48).unwrap();
    let old = Qualification {
        id: 0,
        coverage: Coverage::Insurance {
            insurer_number: InsurerNumber::build(Some(1), tokyo(), 1).unwrap(),
            insurer_name: "全国健康保険協会 試験支部".into(),
            symbol: "9999".into(),
            number: "1".into(),
            branch: BranchNumber::parse("00").unwrap(),
            personal_family: PersonalFamily::Insured,
            insured_name: "試験 一郎".into(),
            burden_ratio: None,
        },
        acquired_on: d(2000, 4, 1),
        issued_on: Some(d(2000, 4, 10)),
        valid: Period {
            from: d(2000, 4, 1),
            to: None,
        },
        loss: Some(Loss {
            on: d(2020, 4, 1),
            reason: LossReason::Transfer,
        }),
    };
    let current = Qualification {
        id: 0,
        coverage: Coverage::Insurance {
            insurer_number: insurer,
            insurer_name: "ひかり試験健康保険組合".into(),
            symbol: "1234".into(),
            number: "12345678".into(),
            branch: BranchNumber::parse("02").unwrap(),
            personal_family: PersonalFamily::Dependent,
            insured_name: "試験 一郎".into(),
            burden_ratio: Some(BurdenRatio::Two),
        },
        acquired_on: d(2020, 4, 1),
        issued_on: None,
        valid: Period {
            from: d(2020, 4, 1),
            to: Some(d(2027, 3, 31)),
        },
        loss: None,
    };
    Eligibility {
        person: Person {
            id,
            name: "試験 花子".into(),
            name_kana: "シケン\u{3000}ハナコ".into(),
            birth_date: d(1954, 3, 10),
            sex: Sex::Female,
            postal_code: "1000001".into(),
            address: "東京都みどり市さくら台1-2-3".into(),
            considerate: Some(ConsiderateInfo {
                name: "試験 はな".into(),
                name_kana: "シケン\u{3000}ハナ".into(),
                sex: Sex::Unset,
            }),
            insurance_use_registered: id % 2 == 0,
        },
        qualifications: vec![old, current],
        elderly: vec![ElderlyCertificate {
            valid: Period {
                from: d(2024, 4, 1),
                to: Some(d(2027, 3, 31)),
            },
            burden_ratio: BurdenRatio::Two,
        }],
        limits: vec![LimitCertificate {
            kind: LimitCertificateKind::LimitAndMealReduction,
            class: LimitClass::B05,
            valid: Period {
                from: d(2025, 8, 1),
                to: Some(d(2026, 7, 31)),
            },
            long_term_from: Some(d(2025, 11, 1)),
        }],
        specific_diseases: vec![SpecificDiseaseCertificate {
            disease: SpecificDisease::Dialysis,
            valid: Period {
                from: d(2023, 4, 1),
                to: None,
            },
            self_pay_limit_yen: 10_000,
        }],
        subsidies: vec![PublicSubsidy {
            payer_number: PayerNumber::build(PublicSubsidyLaw::IntractableDisease, tokyo(), 1)
                .unwrap(),
            recipient_number: Some(RecipientNumber::build(123_456).unwrap()),
            valid: Period {
                from: d(2025, 10, 1),
                to: Some(d(2026, 9, 30)),
            },
            monthly_limit_yen: Some(5_000),
        }],
    }
}

fn assistance_eligibility(id: i64) -> Eligibility {
    Eligibility {
        person: Person {
            id,
            name: "扶助 太郎".into(),
            name_kana: "フジョ\u{3000}タロウ".into(),
            birth_date: d(1952, 1, 1),
            sex: Sex::Male,
            postal_code: "1000002".into(),
            address: "東京都みどり市さくら台4-5-6".into(),
            considerate: None,
            insurance_use_registered: true,
        },
        qualifications: vec![Qualification {
            id: 0,
            coverage: Coverage::MedicalAssistance {
                welfare_office_name: "みどり市福祉事務所".into(),
                payer_number: PayerNumber::build(PublicSubsidyLaw::PublicAssistance, tokyo(), 101)
                    .unwrap(),
                recipient_number: RecipientNumber::build(654_321).unwrap(),
            },
            acquired_on: d(2022, 4, 1),
            issued_on: None,
            valid: Period {
                from: d(2022, 4, 1),
                to: None,
            },
            loss: None,
        }],
        elderly: vec![],
        limits: vec![],
        specific_diseases: vec![],
        subsidies: vec![],
    }
}

fn drugs() -> Vec<DrugRecord> {
    [(2026, 10, 3), (2026, 6, 15), (2025, 1, 20)]
        .into_iter()
        .map(|(y, m, day)| DrugRecord {
            dispensed_on: d(y, m, day),
            prescribed_on: d(y, m, day),
            setting: DispensingSetting::Pharmacy,
            institution_name: "あおば試験薬局".into(),
            drug_name: "アムロジピン錠5mg".into(),
            generic_name: "アムロジピンベシル酸塩".into(),
            dosage: "1回1錠 1日1回 朝食後".into(),
            route: DrugRoute::Oral,
            quantity: 28.0,
            unit: "錠".into(),
            days: 28,
            times: 28,
        })
        .collect()
}

fn clinical() -> Vec<ClinicalEvent> {
    vec![
        ClinicalEvent {
            occurred_on: d(2024, 2, 1),
            kind: ClinicalKind::Diagnosis,
            name: "本態性高血圧症".into(),
            detail: "主病名".into(),
            institution_name: "試験在宅クリニック".into(),
        },
        ClinicalEvent {
            occurred_on: d(2025, 5, 9),
            kind: ClinicalKind::Allergy,
            name: "ペニシリン系抗菌薬".into(),
            detail: "発疹".into(),
            institution_name: "試験在宅クリニック".into(),
        },
    ]
}

fn checkups() -> Vec<CheckupResult> {
    vec![CheckupResult {
        examined_on: d(2025, 6, 12),
        height_cm: 152.4,
        weight_kg: 51.3,
        waist_cm: 78.5,
        systolic_mmhg: 138,
        diastolic_mmhg: 84,
        hba1c_percent: 5.9,
        ldl_mg_dl: 131,
        hdl_mg_dl: 62,
        triglycerides_mg_dl: 98,
    }]
}

/// A person with no medical information.
fn bare(e: &Eligibility) -> PersonRecords<'_> {
    PersonRecords::eligibility_only(e)
}

/// Qualification ids are assigned by the database; compare everything else.
fn without_ids(mut e: Eligibility) -> Eligibility {
    for q in &mut e.qualifications {
        q.id = 0;
    }
    e
}

async fn eligibility_round_trip(url: &str) {
    let store = Store::open(url).await.unwrap();
    let a = full_eligibility(1);
    let b = assistance_eligibility(2);
    let (dr, cl, ch) = (drugs(), clinical(), checkups());
    store
        .insert_persons(&[
            PersonRecords {
                eligibility: &a,
                drugs: &dr,
                clinical: &cl,
                checkups: &ch,
            },
            bare(&b),
        ])
        .await
        .unwrap();
    assert_eq!(store.count_persons().await.unwrap(), 2);
    assert_eq!(store.max_person_id().await.unwrap(), 2);

    let got = store.eligibility(1).await.unwrap().unwrap();
    assert_eq!(without_ids(got.clone()), a);
    let r = got.resolve(d(2026, 11, 21));
    assert_eq!(r.validity, QualificationValidity::Valid);
    assert_eq!(got.burden_ratio(d(2026, 11, 21)), Some(BurdenRatio::Two));
    assert_eq!(without_ids(store.eligibility(2).await.unwrap().unwrap()), b);
    assert_eq!(store.eligibility(3).await.unwrap(), None);

    // 診療年月 range: October 2026 only.
    let oct = store
        .drug_history(1, d(2026, 10, 1), d(2026, 10, 31))
        .await
        .unwrap();
    assert_eq!(oct.len(), 1);
    assert_eq!(oct[0].dispensed_on, d(2026, 10, 3));
    let all = store
        .drug_history(1, d(2000, 1, 1), d(2030, 1, 1))
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.dispensed_on).collect::<Vec<_>>(),
        vec![d(2026, 10, 3), d(2026, 6, 15), d(2025, 1, 20)]
    );
    assert_eq!(
        store.clinical_events(1).await.unwrap()[0].kind,
        ClinicalKind::Allergy
    );
    assert_eq!(store.checkups(1).await.unwrap(), ch);
    assert!(
        store
            .drug_history(2, d(2000, 1, 1), d(2030, 1, 1))
            .await
            .unwrap()
            .is_empty()
    );
}
on_both!(eligibility_round_trip);

async fn a_failed_batch_writes_nothing(url: &str) {
    let store = Store::open(url).await.unwrap();
    let a = full_eligibility(1);
    store.insert_persons(&[bare(&a)]).await.unwrap();
    // Person 2 is new but person 1 repeats: the whole batch must be refused.
    let b = assistance_eligibility(2);
    let err = store
        .insert_persons(&[bare(&b), bare(&a)])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "Z-S-0004");
    assert_eq!(store.count_persons().await.unwrap(), 1);
    assert_eq!(store.eligibility(2).await.unwrap(), None);

    // Four specific-disease certificates break a domain rule: refused before writing.
    let mut too_many = full_eligibility(5);
    for _ in 0..3 {
        too_many
            .specific_diseases
            .push(too_many.specific_diseases[0].clone());
    }
    let err = store.insert_persons(&[bare(&too_many)]).await.unwrap_err();
    assert_eq!(err.code(), "Z-V-0013");
    assert_eq!(store.count_persons().await.unwrap(), 1);
}
on_both!(a_failed_batch_writes_nothing);

async fn bulk_loader_many_persons(url: &str) {
    let store = Store::open(url).await.unwrap();
    let people: Vec<Eligibility> = (1..=2500).map(full_eligibility).collect();
    let dr = drugs();
    let records: Vec<PersonRecords> = people
        .iter()
        .map(|e| PersonRecords {
            eligibility: e,
            drugs: &dr,
            clinical: &[],
            checkups: &[],
        })
        .collect();
    let mut loader = store.bulk_loader().await.unwrap();
    // Large enough to need several statements per table (bind-variable limit).
    loader.insert(&records).await.unwrap();
    loader.finish().await.unwrap();
    assert_eq!(store.count_persons().await.unwrap(), 2500);
    let last = store.eligibility(2500).await.unwrap().unwrap();
    assert_eq!(without_ids(last), full_eligibility(2500));
    assert_eq!(
        store
            .drug_history(1777, d(2000, 1, 1), d(2030, 1, 1))
            .await
            .unwrap()
            .len(),
        3
    );
}
on_both!(bulk_loader_many_persons);

async fn institutions(url: &str) {
    let store = Store::open(url).await.unwrap();
    let i = clinic(1, true);
    let token = zaitaku_storage::new_url_token().unwrap();
    assert_eq!(token.len(), 64);
    let saved = store.insert_institution(&i, &token, now()).await.unwrap();
    assert_eq!(saved.institution, i);
    assert_eq!(
        store
            .institution_by_token(&token)
            .await
            .unwrap()
            .unwrap()
            .id,
        saved.id
    );
    assert_eq!(
        store
            .institution_by_code(&i.code)
            .await
            .unwrap()
            .unwrap()
            .url_token,
        token
    );
    assert!(store.institution_by_token("nope").await.unwrap().is_none());

    // Same code twice is refused with its own code.
    let dup = store
        .insert_institution(&i, "other-token", now())
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "Z-S-0006");

    // Rotation: the old token stops at once.
    let new_token = store.rotate_url_token(saved.id, now()).await.unwrap();
    assert_ne!(new_token, token);
    assert!(store.institution_by_token(&token).await.unwrap().is_none());
    assert_eq!(
        store
            .institution_by_token(&new_token)
            .await
            .unwrap()
            .unwrap()
            .id,
        saved.id
    );

    // Settings.
    let mut changed = saved.institution.clone();
    changed.remote_function_enabled = true;
    changed.set_consent_items(&[ConsentItem::ClinicalAndDrug, ConsentItem::LimitAmount]);
    store
        .update_institution_settings(saved.id, &changed, now())
        .await
        .unwrap();
    let reloaded = store.institution_by_code(&i.code).await.unwrap().unwrap();
    assert!(reloaded.institution.remote_function_enabled);
    assert_eq!(
        reloaded.institution.consent_items,
        vec![ConsentItem::ClinicalAndDrug, ConsentItem::LimitAmount]
    );
    assert!(reloaded.institution.partner_origins.is_empty());

    // The online-care partners' origins, in the order given, on every lookup.
    changed.partner_origins = zaitaku_domain::partner_origin::parse_list(
        "https://partner.example\nhttp://127.0.0.1:9000\nhttps://[2001:db8::1]:8443",
    )
    .unwrap();
    store
        .update_institution_settings(saved.id, &changed, now())
        .await
        .unwrap();
    for found in [
        store.institution_by_code(&i.code).await.unwrap().unwrap(),
        store
            .institution_by_token(&new_token)
            .await
            .unwrap()
            .unwrap(),
        store.institution(saved.id).await.unwrap().unwrap(),
    ] {
        assert_eq!(found.institution, changed);
    }
    let mut other = clinic(9, false);
    other.partner_origins = changed.partner_origins[..1].to_vec();
    let other = store
        .insert_institution(&other, "token-9", now())
        .await
        .unwrap();
    assert_eq!(
        store
            .institution(other.id)
            .await
            .unwrap()
            .unwrap()
            .institution
            .partner_origins,
        changed.partner_origins[..1]
    );
    changed.partner_origins.clear();
    store
        .update_institution_settings(saved.id, &changed, now())
        .await
        .unwrap();
    assert!(
        store
            .institution_by_token(&new_token)
            .await
            .unwrap()
            .unwrap()
            .institution
            .partner_origins
            .is_empty()
    );
    assert_eq!(store.list_institutions().await.unwrap().len(), 2);
}
on_both!(institutions);

async fn consent_history_and_gating(url: &str) {
    let store = Store::open(url).await.unwrap();
    let inst = store
        .insert_institution(
            &clinic(2, true),
            &zaitaku_storage::new_url_token().unwrap(),
            now(),
        )
        .await
        .unwrap();
    let p = full_eligibility(1);
    store.insert_persons(&[bare(&p)]).await.unwrap();
    assert!(store.latest_consent(inst.id, 1).await.unwrap().is_none());

    let mut choices: BTreeMap<_, _> = inst
        .institution
        .consent_items
        .iter()
        .map(|i| (*i, Choice::Agree))
        .collect();
    choices.insert(ConsentItem::Checkups, Choice::Disagree);
    let req = ConsentRequest {
        choices,
        prescription_form: Some(PrescriptionForm::Electronic),
        consultation_date: None,
    };
    let decision = req
        .validate(&inst.institution, CareKind::HomeVisit, now())
        .unwrap();
    let new = NewConsent {
        institution_id: inst.id,
        person_id: 1,
        action: ConsentAction::Register,
        channel: Channel::Web,
        decision: &decision,
        recorded_at: now(),
        recorded_by: "patient",
        photo_id_reason: Some(PhotoIdReason::CrossDevice),
        idempotency_key: Some("submit-1"),
    };
    let first = store.record_consent(&new).await.unwrap();
    assert_eq!(
        first.choices.get(&ConsentItem::Checkups),
        Some(&Choice::Disagree)
    );
    assert_eq!(first.prescription_form, Some(PrescriptionForm::Electronic));
    assert_eq!(first.photo_id_reason, Some(PhotoIdReason::CrossDevice));
    assert_eq!(first.institution_code, inst.institution.code.as_str());
    // A double submit returns the first record and writes nothing.
    let again = store.record_consent(&new).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(store.consent_history(inst.id, 1).await.unwrap().len(), 1);

    let latest = store.latest_consent(inst.id, 1).await.unwrap();
    assert!(zaitaku_domain::consent::permits(
        latest.as_ref(),
        ConsentItem::ClinicalAndDrug,
        now()
    ));
    assert!(!zaitaku_domain::consent::permits(
        latest.as_ref(),
        ConsentItem::Checkups,
        now()
    ));

    // Online care: valid to the end of the consultation day, then expired.
    let online = req
        .validate(&inst.institution, CareKind::Online, now())
        .unwrap();
    let upd = store
        .record_consent(&NewConsent {
            action: ConsentAction::Update,
            decision: &online,
            idempotency_key: Some("submit-2"),
            ..new.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        upd.valid_until,
        Some(Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap())
    );
    let later = Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap();
    assert_eq!(ConsentState::of(Some(&upd), later), ConsentState::Expired);

    // Revocation keeps history and withdraws every item and the form.
    let revoked = store
        .record_consent(&NewConsent {
            action: ConsentAction::Revoke,
            idempotency_key: None,
            ..new.clone()
        })
        .await
        .unwrap();
    assert!(revoked.choices.is_empty());
    assert_eq!(revoked.prescription_form, None);
    let history = store.consent_history(inst.id, 1).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.action).collect::<Vec<_>>(),
        vec![
            ConsentAction::Register,
            ConsentAction::Update,
            ConsentAction::Revoke
        ]
    );
    let latest = store.latest_consent(inst.id, 1).await.unwrap();
    assert_eq!(
        ConsentState::of(latest.as_ref(), now()),
        ConsentState::Revoked
    );

    // A consent for a person who does not exist is refused by the database.
    let err = store
        .record_consent(&NewConsent {
            person_id: 999,
            idempotency_key: None,
            ..new.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "Z-S-0004");
}
on_both!(consent_history_and_gating);

async fn reopen_is_idempotent_and_durable(url: &str) {
    let store = Store::open(url).await.unwrap();
    let inst = store
        .insert_institution(
            &clinic(3, false),
            &zaitaku_storage::new_url_token().unwrap(),
            now(),
        )
        .await
        .unwrap();
    store.close().await;
    let again = Store::open(url).await.unwrap();
    assert_eq!(again.list_institutions().await.unwrap(), vec![inst]);
    again.ping().await.unwrap();
}
on_both!(reopen_is_idempotent_and_durable);

async fn corrupt_values_are_reported_not_panicked(url: &str) {
    let store = Store::open(url).await.unwrap();
    let a = full_eligibility(1);
    store.insert_persons(&[bare(&a)]).await.unwrap();
    sqlx::query("UPDATE limit_certificates SET class = 'Z99'")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.eligibility(1).await.unwrap_err();
    assert!(matches!(err, StorageError::Corrupt { .. }), "{err}");
    assert_eq!(err.code(), "Z-S-0005");
    assert!(
        err.to_string().contains("limit_certificates.class"),
        "{err}"
    );
}
on_both!(corrupt_values_are_reported_not_panicked);

#[tokio::test]
async fn bad_urls_give_one_clear_line() {
    let e = Store::open("mysql://localhost/x").await.unwrap_err();
    assert_eq!(e.code(), "Z-S-0001");
    assert!(e.to_string().contains("sqlite:"), "{e}");

    let e = Store::open("sqlite:/nonexistent-dir/zaitaku.sqlite3")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "Z-S-0002");
    assert!(
        e.to_string().starts_with("データベースに接続できません"),
        "{e}"
    );

    let port = zaitaku_testkit::free_port();
    let e = Store::connect(
        &format!("postgres://u:secret@127.0.0.1:{port}/db"),
        &zaitaku_storage::ConnectOptions {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(2),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "Z-S-0002");
    assert!(!e.to_string().contains("secret"), "password leaked: {e}");
}
