//! The receipt-computer interface over HTTP on SQLite and PostgreSQL,
//! against a synthetic population: the individual inquiry and the batch in
//! both encodings read back with `proto::oqs`, the consented-patient
//! retrieval, and every refusal a receipt computer must be able to act on
//! (the `.err`, its code, the audit).

use chrono::{Duration, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::codes::{
    ConsentFlag, InsuredCardClassification, MedicalTreatmentFlag, ProcessingResultStatus,
    QualificationValidity, ReferenceClassification, SegmentOfResult,
};
use zaitaku_domain::consent::{CareKind, Choice, ConsentItem};
use zaitaku_domain::eligibility::{Coverage, Eligibility};
use zaitaku_domain::institution::{InstitutionCode, InstitutionKind};
use zaitaku_proto::oqs::batch::{
    BatchResult, BatchUpload, ConsentedUpload, DownloadRequest, UploadReceipt, Window,
};
use zaitaku_proto::oqs::individual::{IndividualRequest, IndividualResult, RequestHeader};
use zaitaku_proto::oqs::qualification::SearchInfo;
use zaitaku_proto::oqs::{CharacterCode, read};
use zaitaku_storage::StoredInstitution;
use zaitaku_synth::SyntheticRecord;
use zaitaku_testkit::client::{Browser, between, unescape};
use zaitaku_testkit::fixtures;
use zaitaku_testkit::on_both;
use zaitaku_testkit::server::{self, Server};

pub(crate) struct World {
    pub(crate) srv: Server,
    pub(crate) a: StoredInstitution,
    b: StoredInstitution,
    pub(crate) people: Vec<SyntheticRecord>,
    pub(crate) utf8: String,
    pub(crate) sjis: String,
    b_link: String,
}

async fn issue(admin: &Browser, label: &str, character_code: &str) -> String {
    let page = admin
        .post(
            "/admin/oqs-links",
            &[("label", label), ("character_code", character_code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.summary());
    unescape(between(&page.body, "id=\"credential\" value=\"", "\"").unwrap())
}

pub(crate) async fn world(url: &str) -> World {
    let srv = server::start(url).await;
    let store = &srv.store;
    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        51,
        "試験在宅クリニック",
        true,
    )
    .await;
    let b =
        fixtures::institution(store, InstitutionKind::Medical, 52, "別院クリニック", true).await;
    fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&b), "badmin", Role::Admin, "別院 管理者").await;
    let people = fixtures::population(store, 23, fixtures::today(), 400).await;
    let admin = Browser::login(&srv.base, &a, "aadmin").await;
    let utf8 = issue(&admin, "受付レセコン", "0").await;
    let sjis = issue(&admin, "旧レセコン", "1").await;
    let b_admin = Browser::login(&srv.base, &b, "badmin").await;
    let b_link = issue(&b_admin, "別院レセコン", "0").await;
    World {
        srv,
        a,
        b,
        people,
        utf8,
        sjis,
        b_link,
    }
}

struct Answer {
    status: u16,
    name: String,
    code: String,
    body: Vec<u8>,
}

async fn send(w: &World, credential: Option<&str>, name: &str, body: Vec<u8>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("{}/oqs/v1/files/{name}", w.srv.base))
        .body(body);
    if let Some(c) = credential {
        req = req.bearer_auth(c);
    }
    let r = req.send().await.unwrap();
    let header = |h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Answer {
        status: r.status().as_u16(),
        name: header("x-oqs-file-name"),
        code: header("x-oqs-error-code"),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

pub(crate) fn code_of(i: &StoredInstitution) -> InstitutionCode {
    i.institution.code.clone()
}

/// A person of the population with an insurance qualification in force,
/// and their search information.
pub(crate) fn insured(people: &[SyntheticRecord], skip: usize) -> (&Eligibility, SearchInfo) {
    let today = fixtures::today();
    people
        .iter()
        .map(|p| &p.eligibility)
        .filter_map(|e| {
            let q = e.resolve(today).qualification.filter(|q| q.covers(today))?;
            match &q.coverage {
                Coverage::Insurance {
                    insurer_number,
                    symbol,
                    number,
                    branch,
                    ..
                } => Some((
                    e,
                    SearchInfo {
                        insurer_number: insurer_number.clone(),
                        symbol: symbol.clone(),
                        number: number.clone(),
                        branch: Some(*branch),
                        birthdate: e.person.birth_date,
                        limit_consent: true,
                        arbitrary_identifier: Some(format!("chart-{}", e.person.id)),
                    },
                )),
                Coverage::MedicalAssistance { .. } => None,
            }
        })
        .nth(skip)
        .unwrap()
}

pub(crate) fn individual(w: &World, search: SearchInfo) -> IndividualRequest {
    IndividualRequest {
        header: RequestHeader {
            medical_institution_code: code_of(&w.a),
            qualification_confirmation_date: Some(fixtures::today()),
            arbitrary_file_identifier: Some("clinic_0001".into()),
        },
        search,
    }
}

async fn an_individual_inquiry_is_answered_in_the_link_s_encoding(url: &str) {
    let w = world(url).await;
    let (e, search) = insured(&w.people, 0);
    fixtures::consent(
        &w.srv.store,
        &w.a,
        e.person.id,
        fixtures::Consent::register(CareKind::HomeVisit, Utc::now() - Duration::hours(1))
            .with(ConsentItem::Checkups, Choice::Agree)
            .with(ConsentItem::ClinicalAndDrug, Choice::Disagree),
    )
    .await;
    w.srv
        .store
        .set_reference_number(w.a.id, e.person.id, Some("K-0042"), Utc::now())
        .await
        .unwrap();
    for (credential, encoding) in [
        (&w.utf8, CharacterCode::Utf8),
        (&w.sjis, CharacterCode::ShiftJis),
    ] {
        // The request in the other encoding: the result follows the link.
        let other = if encoding == CharacterCode::Utf8 {
            CharacterCode::ShiftJis
        } else {
            CharacterCode::Utf8
        };
        let a = send(
            &w,
            Some(credential),
            "OQSsiquc01req_202612070001.xml",
            individual(&w, search.clone()).write(other),
        )
        .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.name, "OQSsiquc01res_202612070001.xml");
        let doc = read(&a.body).unwrap();
        assert_eq!(doc.encoding, encoding);
        let r = IndividualResult::read(&doc).unwrap();
        assert_eq!(r.header.character_code, encoding);
        assert_eq!(r.header.segment_of_result, SegmentOfResult::Done);
        assert_eq!(
            r.header.reference_classification,
            Some(ReferenceClassification::InsuranceData)
        );
        assert_eq!(
            r.header.arbitrary_file_identifier.as_deref(),
            Some("clinic_0001")
        );
        assert_eq!(r.header.medical_institution_code, code_of(&w.a));
        assert_eq!(r.answer.status, ProcessingResultStatus::Done);
        assert_eq!(r.answer.validity, Some(QualificationValidity::Valid));
        assert_eq!(r.answer.search, Some(search.echo()));
        let [q] = r.answer.results.as_slice() else {
            panic!("{:?}", r.answer.results)
        };
        assert_eq!(q.name, e.person.name);
        assert_eq!(q.birthdate, e.person.birth_date);
        assert_eq!(q.number.as_deref(), Some(search.number.as_str()));
        assert_eq!(q.reference_number.as_deref(), Some("K-0042"));
        assert_eq!(q.checkups_consent.flag, ConsentFlag::Given);
        assert!(q.checkups_consent.cons_time.is_some());
        assert_eq!(q.limit_consent.flag, ConsentFlag::Given);
        assert_eq!(q.pharmacists_consent.flag, ConsentFlag::None);
    }

    // Someone the number does not belong to (another birth date).
    let mut stranger = search.clone();
    stranger.birthdate = stranger.birthdate.pred_opt().unwrap();
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSsiquc01req_202612070002.xml",
        individual(&w, stranger).write(CharacterCode::Utf8),
    )
    .await;
    let r = IndividualResult::read(&read(&a.body).unwrap()).unwrap();
    assert_eq!(r.answer.validity, Some(QualificationValidity::NotFound));
    assert!(r.answer.results.is_empty());

    // A person's bad value: the result says which, with SegmentOfResult 9.
    let text = String::from_utf8(individual(&w, search.clone()).write(CharacterCode::Utf8))
        .unwrap()
        .replace(
            &format!(
                "<Birthdate>{}</Birthdate>",
                search.birthdate.format("%Y%m%d")
            ),
            "<Birthdate>1950-01-01</Birthdate>",
        );
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSsiquc01req_202612070003.xml",
        text.into_bytes(),
    )
    .await;
    assert_eq!(a.status, 200);
    let r = IndividualResult::read(&read(&a.body).unwrap()).unwrap();
    assert_eq!(r.header.segment_of_result, SegmentOfResult::Failed);
    assert_eq!(r.answer.status, ProcessingResultStatus::Error);
    let (code, message) = r.answer.note.unwrap();
    assert_eq!(code, "Z-Q-0011");
    assert!(message.contains("Birthdate"), "{message}");

    let audit = w
        .srv
        .store
        .audit_records(Some("oqs.inquiry"), 10)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|r| r.outcome == "ok"
            && r.person_id == Some(e.person.id)
            && r.actor == "receipt_computer"),
        "{audit:?}"
    );
}
on_both!(an_individual_inquiry_is_answered_in_the_link_s_encoding);

async fn refused_files_get_an_err_a_receipt_computer_can_act_on(url: &str) {
    let w = world(url).await;
    let (_, search) = insured(&w.people, 1);
    let good = individual(&w, search.clone()).write(CharacterCode::Utf8);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "OQSsiquc01req_1.xml",
            b"<XmlMsg><MessageHeader>".to_vec(),
            "Z-Q-0002",
        ),
        (
            "OQSsiquc01req_2.xml",
            // Shift_JIS bytes under a UTF-8 declaration.
            encoding_rs::SHIFT_JIS
                .encode(
                    &String::from_utf8(good.clone())
                        .unwrap()
                        .replace("clinic_0001", "診療所"),
                )
                .0
                .into_owned(),
            "Z-Q-0003",
        ),
        (
            "OQSsiquc01req_3.xml",
            b"<!DOCTYPE x [<!ENTITY a \"b\">]><XmlMsg/>".to_vec(),
            "Z-Q-0004",
        ),
        ("OQSsiquc99req_4.xml", good.clone(), "Z-Q-0006"),
        (
            "OQSsiquc01req_5.xml",
            String::from_utf8(good.clone())
                .unwrap()
                .replace(code_of(&w.a).as_str(), code_of(&w.b).as_str())
                .into_bytes(),
            "Z-Q-0020",
        ),
    ];
    for (name, body, code) in cases {
        let a = send(&w, Some(&w.utf8), name, body).await;
        assert_eq!(a.status, 422, "{name}");
        assert_eq!(a.code, code, "{name}: {}", String::from_utf8_lossy(&a.body));
        assert!(a.name.ends_with(".err"), "{}", a.name);
        let text = String::from_utf8(a.body).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], code);
        assert!(lines[1].ends_with('。'), "{text}");
    }
    // The .err of a Shift_JIS link is in Shift_JIS.
    let a = send(&w, Some(&w.sjis), "OQSsiquc01req_7.xml", b"<x>".to_vec()).await;
    assert_eq!(a.name, "OQSsiquc01req_7.err");
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&a.body);
    assert!(
        !bad && text.contains("XMLの形式が正しくありません。"),
        "{text}"
    );

    // Over the size limit: 413 with the .err, the file never read whole.
    let mut huge = good.clone();
    huge.resize(zaitaku_proto::oqs::reader::MAX_FILE_BYTES + 1, b' ');
    let a = send(&w, Some(&w.utf8), "OQSmuquc01req_10.xml", huge).await;
    assert_eq!((a.status, a.code.as_str()), (413, "Z-Q-0001"));
    assert_eq!(a.name, "OQSmuquc01req_10.err");

    // Credentials.
    let a = send(&w, None, "OQSsiquc01req_8.xml", good.clone()).await;
    assert_eq!((a.status, a.code.as_str()), (401, "Z-Q-0101"));
    let a = send(
        &w,
        Some("zoqs_1_nonsense"),
        "OQSsiquc01req_8.xml",
        good.clone(),
    )
    .await;
    assert_eq!(a.status, 401);
    // Another institution's link cannot ask about this one's code.
    let a = send(&w, Some(&w.b_link), "OQSsiquc01req_9.xml", good.clone()).await;
    assert_eq!((a.status, a.code.as_str()), (422, "Z-Q-0020"));

    let refused = w
        .srv
        .store
        .audit_records(Some("oqs.exchange"), 50)
        .await
        .unwrap();
    assert!(refused.iter().filter(|r| r.outcome == "refused").count() >= 8);
}
on_both!(refused_files_get_an_err_a_receipt_computer_can_act_on);

/// Downloads until the job is done (the server's worker runs every 250 ms).
async fn downloaded(w: &World, credential: &str, prefix: &str, number: &str) -> BatchResult {
    let request = DownloadRequest {
        medical_institution_code: code_of(&w.a),
        reception_number: number.to_owned(),
    }
    .write(CharacterCode::Utf8);
    for _ in 0..200 {
        let a = send(
            w,
            Some(credential),
            &format!("{prefix}02req_{number}.xml"),
            request.clone(),
        )
        .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let r = BatchResult::read(&read(&a.body).unwrap()).unwrap();
        match r.header.segment_of_result {
            SegmentOfResult::Processing => {
                assert!(r.units.is_empty());
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            _ => return r,
        }
    }
    panic!("the job was not done in 20 s")
}

async fn a_batch_is_queued_worked_and_downloaded(url: &str) {
    let w = world(url).await;
    let (e0, s0) = insured(&w.people, 2);
    let (_, s1) = insured(&w.people, 3);
    let mut stranger = s1.clone();
    stranger.number = format!("{}9", stranger.number);
    let upload = BatchUpload {
        header: RequestHeader {
            medical_institution_code: code_of(&w.a),
            qualification_confirmation_date: None,
            arbitrary_file_identifier: Some("batch-1".into()),
        },
        persons: vec![s0.clone(), stranger, s1.clone()],
    };
    let mut text = String::from_utf8(upload.write(CharacterCode::Utf8)).unwrap();
    // A third person whose insurer number has a bad check digit.
    let wrong = s1.insurer_number.as_str().to_owned();
    let last = wrong.as_bytes()[wrong.len() - 1] - b'0';
    let bad = format!("{}{}", &wrong[..wrong.len() - 1], (last + 1) % 10);
    let at = text.rfind(&format!(">{:>8}<", wrong)).unwrap();
    text.replace_range(at..at + 10, &format!(">{bad:>8}<"));

    for (credential, encoding) in [
        (&w.sjis, CharacterCode::ShiftJis),
        (&w.utf8, CharacterCode::Utf8),
    ] {
        let name = format!("OQSmuquc01req_20261207000{}.xml", encoding.identifier());
        let a = send(&w, Some(credential), &name, text.clone().into_bytes()).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.name, name.replace("01req_", "01res_"));
        let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
        assert_eq!(receipt.character_code, encoding);
        assert_eq!(
            receipt.arbitrary_file_identifier.as_deref(),
            Some("batch-1")
        );
        // The same file sent again is the same job.
        let again = send(&w, Some(credential), &name, text.clone().into_bytes()).await;
        let again = UploadReceipt::read(&read(&again.body).unwrap()).unwrap();
        assert_eq!(again.reception_number, receipt.reception_number);

        let r = downloaded(&w, credential, "OQSmuquc", &receipt.reception_number).await;
        assert_eq!(r.header.segment_of_result, SegmentOfResult::Done);
        assert_eq!(r.header.character_code, encoding);
        assert_eq!(
            r.header.reception_number.as_deref(),
            Some(receipt.reception_number.as_str())
        );
        let counts = r.header.counts.unwrap();
        assert_eq!((counts.total, counts.normal, counts.error), (3, 2, 1));
        assert_eq!(r.units.len(), 3);
        assert_eq!(r.units[0].validity, Some(QualificationValidity::Valid));
        assert_eq!(r.units[0].results[0].name, e0.person.name);
        assert_eq!(r.units[0].search.as_ref(), Some(&s0.echo()));
        assert_eq!(r.units[1].validity, Some(QualificationValidity::NotFound));
        assert_eq!(r.units[2].status, ProcessingResultStatus::Error);
        assert_eq!(r.units[2].note.as_ref().unwrap().0, "Z-Q-0013");

        // Another institution's link does not find this 受付番号.
        let mine = DownloadRequest {
            medical_institution_code: code_of(&w.b),
            reception_number: receipt.reception_number.clone(),
        };
        let a = send(
            &w,
            Some(&w.b_link),
            "OQSmuquc02req_x.xml",
            mine.write(CharacterCode::Utf8),
        )
        .await;
        assert_eq!((a.status, a.code.as_str()), (422, "Z-Q-0021"));
    }
    let reads = w
        .srv
        .store
        .audit_records(Some("oqs.inquiry"), 50)
        .await
        .unwrap();
    assert!(reads.iter().any(|r| r.person_id == Some(e0.person.id)));

    // After the retention period the uploads, their parts and results are
    // gone.
    zaitaku_service::upkeep::purge(&w.srv.store, Utc::now() + Duration::days(8))
        .await
        .unwrap();
    for table in ["oqs_jobs", "oqs_job_parts", "oqs_job_uploads"] {
        let n: i64 = sqlx::Row::get(
            &sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(w.srv.store.pool())
                .await
                .unwrap(),
            0,
        );
        assert_eq!(n, 0, "{table}");
    }
}
on_both!(a_batch_is_queued_worked_and_downloaded);

async fn consented_patients_are_retrieved_by_window(url: &str) {
    let w = world(url).await;
    let (e, _) = insured(&w.people, 4);
    let (other, _) = insured(&w.people, 5);
    let now = Utc::now();
    fixtures::consent(
        &w.srv.store,
        &w.a,
        e.person.id,
        fixtures::Consent::register(CareKind::HomeVisit, now - Duration::days(2))
            .with(ConsentItem::ClinicalAndDrug, Choice::Agree),
    )
    .await;
    // Consented to the other institution: never in this one's results.
    fixtures::consent(
        &w.srv.store,
        &w.b,
        other.person.id,
        fixtures::Consent::register(CareKind::HomeVisit, now - Duration::days(2)),
    )
    .await;
    let today = fixtures::today();
    let request = ConsentedUpload {
        medical_institution_code: code_of(&w.a),
        arbitrary_file_identifier: Some("visit-1".into()),
        window: Window::Consent {
            from: today - Duration::days(7),
            to: today,
        },
        treatment: MedicalTreatmentFlag::HomeVisit,
    };
    let a = send(
        &w,
        Some(&w.sjis),
        "OQSmuhvq01req_202612070001.xml",
        request.write(CharacterCode::ShiftJis),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
    let r = downloaded(&w, &w.sjis, "OQSmuhvq", &receipt.reception_number).await;
    assert_eq!(r.units.len(), 1, "{:?}", r.units);
    let q = &r.units[0].results[0];
    assert_eq!(q.name, e.person.name);
    assert_eq!(q.pharmacists_consent.flag, ConsentFlag::Given);
    assert!(q.pharmacists_consent.cons_time.is_some());

    // Consented in the window, then revoked: not listed.
    let (revoked, _) = insured(&w.people, 10);
    fixtures::consent(
        &w.srv.store,
        &w.a,
        revoked.person.id,
        fixtures::Consent::register(CareKind::HomeVisit, now - Duration::days(3)),
    )
    .await;
    fixtures::consent(
        &w.srv.store,
        &w.a,
        revoked.person.id,
        fixtures::Consent::revoke(CareKind::HomeVisit, now - Duration::days(1)),
    )
    .await;
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSmuhvq01req_202612070005.xml",
        request.write(CharacterCode::Utf8),
    )
    .await;
    let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
    let r = downloaded(&w, &w.utf8, "OQSmuhvq", &receipt.reception_number).await;
    let names: Vec<_> = r.units.iter().map(|u| u.results[0].name.clone()).collect();
    assert_eq!(
        names,
        std::slice::from_ref(&e.person.name),
        "a revoked consent is listed"
    );

    // オンライン診療等 by consultation day: a consent for a consultation
    // today holds until tomorrow 00:00; only a window with today finds it.
    let (online, _) = insured(&w.people, 11);
    let tomorrow = zaitaku_domain::consent::next_midnight_jst(today);
    fixtures::consent(
        &w.srv.store,
        &w.a,
        online.person.id,
        fixtures::Consent::register(CareKind::Online, now - Duration::hours(1)).until(tomorrow),
    )
    .await;
    for (from, to, listed) in [
        (today, today, true),
        (today - Duration::days(3), today - Duration::days(1), false),
        (today + Duration::days(1), today + Duration::days(2), false),
    ] {
        let ask = ConsentedUpload {
            medical_institution_code: code_of(&w.a),
            arbitrary_file_identifier: None,
            window: Window::Examination { from, to },
            treatment: MedicalTreatmentFlag::Online,
        };
        let a = send(
            &w,
            Some(&w.utf8),
            "OQSmuonq01req_202612070006.xml",
            ask.write(CharacterCode::Utf8),
        )
        .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
        let r = downloaded(&w, &w.utf8, "OQSmuonq", &receipt.reception_number).await;
        assert_eq!(r.units.len(), usize::from(listed), "{from}..{to}");
    }

    // 医療扶助: the welfare office and the public-expense numbers stand
    // where an insured person's insurer fields would.
    let assisted = w
        .people
        .iter()
        .map(|p| &p.eligibility)
        .find(|e| {
            e.resolve(today)
                .qualification
                .is_some_and(|q| q.covers(today) && q.is_medical_assistance())
        })
        .expect("the population has a 医療扶助 person");
    fixtures::consent(
        &w.srv.store,
        &w.a,
        assisted.person.id,
        fixtures::Consent::register(CareKind::HomeVisit, now - Duration::hours(2)),
    )
    .await;
    let a = send(
        &w,
        Some(&w.sjis),
        "OQSmuhvq01req_202612070009.xml",
        request.write(CharacterCode::ShiftJis),
    )
    .await;
    let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
    let r = downloaded(&w, &w.sjis, "OQSmuhvq", &receipt.reception_number).await;
    let unit = r
        .units
        .iter()
        .find(|u| u.results[0].name == assisted.person.name)
        .expect("the 医療扶助 person is listed");
    let q = &unit.results[0];
    let Some(Coverage::MedicalAssistance {
        welfare_office_name,
        payer_number,
        recipient_number,
    }) = assisted
        .resolve(today)
        .qualification
        .map(|q| q.coverage.clone())
    else {
        unreachable!()
    };
    assert_eq!(
        q.card_classification,
        InsuredCardClassification::MedicalAssistance
    );
    assert_eq!(q.insurer_number, None);
    assert_eq!(q.welfare_office_name.as_ref(), Some(&welfare_office_name));
    assert_eq!(q.public_expense_number.as_ref(), Some(&payer_number));
    assert_eq!(q.beneficiary_number.as_ref(), Some(&recipient_number));

    // The wrong treatment flag for the prefix is refused.
    let mut online = request.clone();
    online.treatment = MedicalTreatmentFlag::Online;
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSmuhvq01req_202612070002.xml",
        online.write(CharacterCode::Utf8),
    )
    .await;
    assert_eq!((a.status, a.code.as_str()), (422, "Z-Q-0012"));
}
on_both!(consented_patients_are_retrieved_by_window);

async fn reference_numbers_are_registered_and_come_back(url: &str) {
    use zaitaku_proto::oqs::reference::{Registration, RegistrationRequest, RegistrationResult};
    let w = world(url).await;
    let (e, search) = insured(&w.people, 8);
    let (_, other) = insured(&w.people, 9);
    let registration = |reference: &str, s: &SearchInfo| Registration {
        reference_number: reference.to_owned(),
        insurer_number: s.insurer_number.clone(),
        symbol: s.symbol.clone(),
        number: s.number.clone(),
        branch: s.branch,
    };
    let request = |registrations: Vec<Registration>| RegistrationRequest {
        medical_institution_code: code_of(&w.a),
        arbitrary_file_identifier: Some("imm-1".into()),
        registrations,
    };

    // One patient: registered, then returned by an inquiry.
    let a = send(
        &w,
        Some(&w.sjis),
        "OQSsiimm01req_202612070001.xml",
        request(vec![registration("診察券-0001", &search)]).write(CharacterCode::ShiftJis),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.name, "OQSsiimm01res_202612070001.xml");
    let r = RegistrationResult::read(&read(&a.body).unwrap()).unwrap();
    assert_eq!(r.header.segment_of_result, SegmentOfResult::Done);
    assert_eq!(r.header.arbitrary_file_identifier.as_deref(), Some("imm-1"));
    assert_eq!(r.outcomes[0].status, ProcessingResultStatus::Done);
    assert_eq!(
        r.outcomes[0].echo.reference_number.as_deref(),
        Some("診察券-0001")
    );
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSsiquc01req_202612070009.xml",
        individual(&w, search.clone()).write(CharacterCode::Utf8),
    )
    .await;
    let result = IndividualResult::read(&read(&a.body).unwrap()).unwrap();
    assert_eq!(
        result.answer.results[0].reference_number.as_deref(),
        Some("診察券-0001")
    );
    assert_eq!(
        w.srv
            .store
            .patient_notes(w.a.id, e.person.id)
            .await
            .unwrap()
            .reference_number
            .as_deref(),
        Some("診察券-0001")
    );

    // The same number for another patient, and a card nobody holds.
    let mut nobody = other.clone();
    nobody.number = format!("{}7", nobody.number);
    for (reg, code) in [
        (registration("診察券-0001", &other), "Z-Q-0023"),
        (registration("診察券-0002", &nobody), "Z-Q-0024"),
    ] {
        let a = send(
            &w,
            Some(&w.utf8),
            "OQSsiimm01req_202612070002.xml",
            request(vec![reg]).write(CharacterCode::Utf8),
        )
        .await;
        let r = RegistrationResult::read(&read(&a.body).unwrap()).unwrap();
        assert_eq!(r.header.segment_of_result, SegmentOfResult::Failed);
        assert_eq!(r.outcomes[0].status, ProcessingResultStatus::Error);
        assert_eq!(r.outcomes[0].note.as_ref().unwrap().0, code);
    }
    // Two patients in a single request are refused as a file.
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSsiimm01req_202612070003.xml",
        request(vec![registration("A", &search), registration("B", &other)])
            .write(CharacterCode::Utf8),
    )
    .await;
    assert_eq!((a.status, a.code.as_str()), (422, "Z-Q-0022"));

    // In bulk: one registered, one refused.
    let a = send(
        &w,
        Some(&w.utf8),
        "OQSmuimm01req_202612070004.xml",
        request(vec![
            registration("診察券-0003", &other),
            registration("診察券-0001", &other),
        ])
        .write(CharacterCode::Utf8),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
    let download = DownloadRequest {
        medical_institution_code: code_of(&w.a),
        reception_number: receipt.reception_number.clone(),
    }
    .write(CharacterCode::Utf8);
    let mut done = None;
    for _ in 0..200 {
        let a = send(
            &w,
            Some(&w.utf8),
            "OQSmuimm02req_202612070005.xml",
            download.clone(),
        )
        .await;
        assert_eq!(a.status, 200);
        let r = RegistrationResult::read(&read(&a.body).unwrap()).unwrap();
        if r.header.segment_of_result == SegmentOfResult::Done {
            done = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = done.expect("the bulk registration was not done");
    assert!(r.bulk);
    let counts = r.header.counts.unwrap();
    assert_eq!((counts.total, counts.normal, counts.error), (2, 1, 1));
    assert_eq!(r.outcomes[0].status, ProcessingResultStatus::Done);
    assert_eq!(r.outcomes[1].note.as_ref().unwrap().0, "Z-Q-0023");
    let audit = w
        .srv
        .store
        .audit_records(Some("oqs.reference_number"), 10)
        .await
        .unwrap();
    assert!(audit.iter().any(|r| r.person_id == Some(e.person.id)));
}
on_both!(reference_numbers_are_registered_and_come_back);

fn medical_request(
    w: &World,
    s: &SearchInfo,
    file_category: zaitaku_proto::oqs::medical::FileCategory,
) -> zaitaku_proto::oqs::medical::MedicalRequest {
    zaitaku_proto::oqs::medical::MedicalRequest {
        medical_institution_code: code_of(&w.a),
        insurer_number: s.insurer_number.clone(),
        symbol: s.symbol.clone(),
        number: s.number.clone(),
        branch: s.branch,
        arbitrary_file_identifier: Some("yzk-1".into()),
        start: None,
        end: None,
        file_category,
        treatment: Some(MedicalTreatmentFlag::HomeVisit),
    }
}

/// A 訪問診療 consent to institution A an hour ago that releases 診療・薬剤
/// information (and 特定健診 as `checkups` says), and a card in force.
async fn consented_with_card(w: &World, person_id: i64, checkups: Choice) {
    fixtures::consent(
        &w.srv.store,
        &w.a,
        person_id,
        fixtures::Consent::register(CareKind::HomeVisit, Utc::now() - Duration::hours(1))
            .with(ConsentItem::ClinicalAndDrug, Choice::Agree)
            .with(ConsentItem::Checkups, checkups),
    )
    .await;
    zaitaku_testkit::fixtures::card(
        &w.srv.state,
        person_id,
        fixtures::today() - Duration::days(30),
    )
    .await;
}

async fn drug_and_checkup_files_only_under_the_patient_s_consent(url: &str) {
    use zaitaku_proto::oqs::medical::{CheckupResultFile, DrugResult, FileCategory};
    let w = world(url).await;
    let (e, search) = insured(&w.people, 12);
    let (_, stranger) = insured(&w.people, 13);
    consented_with_card(&w, e.person.id, Choice::Disagree).await;

    for (credential, encoding) in [
        (&w.utf8, CharacterCode::Utf8),
        (&w.sjis, CharacterCode::ShiftJis),
    ] {
        let a = send(
            &w,
            Some(credential),
            "YZKsiquc01req_0226120710001.xml",
            medical_request(&w, &search, FileCategory::XmlWithClinical).write(encoding),
        )
        .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.name, "YZKsiquc01res_0226120710001.xml");
        let r = DrugResult::read(&read(&a.body).unwrap()).unwrap();
        assert_eq!(r.header.refusal, None, "{r:?}");
        assert_eq!(r.header.character_code, encoding);
        assert_eq!(r.patient.as_ref().unwrap().name, e.person.name);
        for d in &r.drugs {
            assert!(!d.drugs.is_empty());
        }
    }
    // 特定健診 was not consented: ResultCode 2 and the reason.
    let a = send(
        &w,
        Some(&w.utf8),
        "TKKsiquc01req_0226120710002.xml",
        medical_request(&w, &search, FileCategory::Xml).write(CharacterCode::Utf8),
    )
    .await;
    let r = CheckupResultFile::read(&read(&a.body).unwrap()).unwrap();
    assert!(r.patient.is_none() && r.checkups.is_empty());
    assert!(
        r.header
            .refusal
            .as_deref()
            .unwrap()
            .contains("同意していない"),
        "{r:?}"
    );
    // Someone who never consented to this institution.
    let a = send(
        &w,
        Some(&w.utf8),
        "YZKsiquc01req_0226120710003.xml",
        medical_request(&w, &stranger, FileCategory::Xml).write(CharacterCode::Utf8),
    )
    .await;
    let r = DrugResult::read(&read(&a.body).unwrap()).unwrap();
    assert!(
        r.header
            .refusal
            .as_deref()
            .unwrap()
            .contains("同意を取得していない"),
        "{r:?}"
    );
    assert!(r.drugs.is_empty());
    let audit = w
        .srv
        .store
        .audit_records(Some("oqs.medical"), 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.outcome == "ok" && a.person_id == Some(e.person.id))
    );
    assert!(audit.iter().any(|a| a.outcome == "refused"));
}
on_both!(drug_and_checkup_files_only_under_the_patient_s_consent);

/// The text a person reads in a PDF, as poppler's `pdftotext` takes it out
/// (Debian `poppler-utils`, scripts/ensure-packages).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success(), "pdftotext refused the file");
    String::from_utf8(out.stdout).unwrap()
}

async fn drug_and_checkup_files_come_as_pdf_when_asked(url: &str) {
    use zaitaku_proto::oqs::medical::{CheckupResultFile, DrugResult, FileCategory};
    let w = world(url).await;
    // Someone with drugs dispensed in the default window and a check-up.
    let (e, search) = (14..200)
        .map(|skip| insured(&w.people, skip))
        .find(|(e, _)| {
            w.people.iter().any(|p| {
                p.eligibility.person.id == e.person.id
                    && !p.checkups.is_empty()
                    && p.drugs
                        .iter()
                        .any(|d| d.dispensed_on >= fixtures::today() - Duration::days(50))
            })
        })
        .unwrap();
    consented_with_card(&w, e.person.id, Choice::Agree).await;

    // The same request as XML and as PDF: what the XML says, the PDF shows.
    let xml = send(
        &w,
        Some(&w.sjis),
        "YZKsiquc01req_0426120710001.xml",
        medical_request(&w, &search, FileCategory::XmlWithClinical).write(CharacterCode::ShiftJis),
    )
    .await;
    let drugs = DrugResult::read(&read(&xml.body).unwrap()).unwrap();
    assert!(!drugs.drugs.is_empty(), "{drugs:?}");
    let a = send(
        &w,
        Some(&w.sjis),
        "YZKsiquc01req_0326120710001.xml",
        medical_request(&w, &search, FileCategory::PdfWithClinical).write(CharacterCode::ShiftJis),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.name, "YZKsiquc01res_0326120710001.pdf");
    assert!(a.body.starts_with(b"%PDF-"));
    let text = pdf_text(&a.body);
    assert!(text.contains("薬剤情報・診療情報"), "{text}");
    assert!(text.contains(&e.person.name), "{text}");
    assert!(
        text.contains("調剤情報") && text.contains("診療情報"),
        "{text}"
    );
    let flat: String = text.split_whitespace().collect();
    for day in &drugs.drugs {
        assert!(
            flat.contains(&day.institution.replace(' ', "")),
            "{} not in {text}",
            day.institution
        );
        for d in &day.drugs {
            // A long name wraps inside its column; its start is on one line.
            let start: String = d.name.chars().take(6).collect();
            assert!(text.contains(&start), "{} not in {text}", d.name);
        }
    }

    let a = send(
        &w,
        Some(&w.utf8),
        "TKKsiquc01req_0126120710002.xml",
        medical_request(&w, &search, FileCategory::Pdf).write(CharacterCode::Utf8),
    )
    .await;
    assert_eq!(a.name, "TKKsiquc01res_0126120710002.pdf");
    let text = pdf_text(&a.body);
    assert!(
        text.contains("特定健診情報") && text.contains("実施日"),
        "{text}"
    );
    assert!(text.contains("身長"), "{text}");

    // Refused: the reason comes as an XML result, even when a PDF was asked.
    let (_, stranger) = insured(&w.people, 13);
    let a = send(
        &w,
        Some(&w.utf8),
        "TKKsiquc01req_0126120710003.xml",
        medical_request(&w, &stranger, FileCategory::Pdf).write(CharacterCode::Utf8),
    )
    .await;
    assert_eq!(a.name, "TKKsiquc01res_0126120710003.xml");
    let r = CheckupResultFile::read(&read(&a.body).unwrap()).unwrap();
    assert!(r.header.refusal.is_some(), "{r:?}");

    // A server without a Japanese font says so, and XML still works.
    let bare = server::start_with(url, |s| s.with_pdf_font(None)).await;
    let pdf = reqwest::Client::new()
        .post(format!(
            "{}/oqs/v1/files/TKKsiquc01req_0126120710004.xml",
            bare.base
        ))
        .bearer_auth(&w.utf8)
        .body(medical_request(&w, &search, FileCategory::Pdf).write(CharacterCode::Utf8))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 422);
    assert_eq!(
        pdf.headers()["x-oqs-file-name"],
        "TKKsiquc01req_0126120710004.err"
    );
    assert_eq!(pdf.headers()["x-oqs-error-code"], "Z-Q-0009");
    let text = pdf.text().await.unwrap();
    assert!(text.contains("PDFを作成できません"), "{text}");
    let xml = reqwest::Client::new()
        .post(format!(
            "{}/oqs/v1/files/TKKsiquc01req_0226120710005.xml",
            bare.base
        ))
        .bearer_auth(&w.utf8)
        .body(medical_request(&w, &search, FileCategory::Xml).write(CharacterCode::Utf8))
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
}
on_both!(drug_and_checkup_files_come_as_pdf_when_asked);
