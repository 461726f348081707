//! Round trips of every message in both encodings (parse(write(x)) = x),
//! order independence, and the refusals a receipt computer acts on.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use proptest::prelude::*;
use zaitaku_domain::codes::{
    BurdenRatio, ConsentFlag, InsuredCardClassification, LimitApplicationClassification,
    LimitClass, MedicalTreatmentFlag, PersonalFamily, PrescriptionForm, ProcessingResultStatus,
    PublicSubsidyLaw, QualificationValidity, ReasonOfLoss, ReferenceClassification,
    SegmentOfResult, Sex, SpecificDisease,
};
use zaitaku_domain::eligibility::{PayerNumber, RecipientNumber};
use zaitaku_domain::institution::{InstitutionCode, InstitutionKind};
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};
use zaitaku_domain::prefecture::Prefecture;

use super::batch::{
    BatchResult, BatchUpload, ConsentedUpload, DownloadRequest, UploadReceipt, Window,
};
use super::individual::{IndividualRequest, IndividualResult, RequestHeader};
use super::medical::{
    Checkup, CheckupItem, CheckupResultFile, ClinicalDay, Drug, DrugDay, DrugResult, FileCategory,
    MedicalHeader, MedicalRequest, Patient,
};
use super::qualification::{
    ConsentTriple, Counts, ElderlyInfo, LimitInfo, PersonAnswer, QualificationResult, ResultHeader,
    SearchInfo, SpecificDiseaseInfo, halfwidth_kana,
};
use super::reference::{
    Registration, RegistrationHeader, RegistrationOutcome, RegistrationRequest, RegistrationResult,
};
use super::*;

// ---- strategies ----------------------------------------------------------

/// Characters that test escaping and both encodings: ASCII, kana (full and
/// half width), kanji incl. CP932's extensions, and what CP932 lacks.
fn text(max: usize) -> impl Strategy<Value = String> {
    const CHARS: &[char] = &[
        'a', 'Z', '0', '9', ' ', '-', '&', '<', '>', '"', '\'', 'ア', 'ガ', 'ｱ', 'ﾞ', '山', '田',
        '髙', '﨑', '①', 'Ⅲ', '〜', '～', '−', '😀', '鷗', '𠮷', '\u{3000}',
    ];
    proptest::collection::vec(proptest::sample::select(CHARS), 1..=max).prop_map(|v| {
        let s: String = v.into_iter().collect();
        // The reader keeps text as written; a value never starts or ends
        // with a space in these layouts (InsurerNumber is the exception
        // and is trimmed by its own rule).
        let t = s.trim_matches(|c: char| c == ' ' || c == '\u{3000}');
        if t.is_empty() {
            "x".to_owned()
        } else {
            t.to_owned()
        }
    })
}

fn digits(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(&['0', '1', '5', '9'][..]),
        min..=max,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn prefecture() -> impl Strategy<Value = Prefecture> {
    (1u8..=47).prop_map(|n| Prefecture::from_digits(&format!("{n:02}")).unwrap())
}

fn insurer() -> impl Strategy<Value = InsurerNumber> {
    (
        proptest::sample::select(&[None, Some(1u8), Some(6), Some(31), Some(39)][..]),
        prefecture(),
        0u16..1000,
    )
        .prop_map(|(law, p, n)| InsurerNumber::build(law, p, n).unwrap())
}

fn institution() -> impl Strategy<Value = InstitutionCode> {
    (
        prefecture(),
        proptest::sample::select(&InstitutionKind::ALL[..]),
        0u8..100,
        0u16..10_000,
    )
        .prop_map(|(p, k, d, n)| InstitutionCode::build(p, k, d, n).unwrap())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1900i32..2100, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn date_time() -> impl Strategy<Value = NaiveDateTime> {
    (date(), 0u32..24, 0u32..60, 0u32..60)
        .prop_map(|(d, h, m, s)| d.and_time(NaiveTime::from_hms_opt(h, m, s).unwrap()))
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn search() -> impl Strategy<Value = SearchInfo> {
    (
        insurer(),
        proptest::option::of(text(20)),
        digits(1, 20),
        proptest::option::of((0u8..100).prop_map(|b| BranchNumber::new(b).unwrap())),
        date(),
        any::<bool>(),
        proptest::option::of(text(40)),
    )
        .prop_map(
            |(insurer_number, symbol, number, branch, birthdate, limit_consent, id)| SearchInfo {
                insurer_number,
                symbol: symbol.unwrap_or_default(),
                number,
                branch,
                birthdate,
                limit_consent,
                arbitrary_identifier: id,
            },
        )
}

fn consent() -> impl Strategy<Value = ConsentTriple> {
    (
        pick(ConsentFlag::ALL),
        proptest::option::of(date_time()),
        proptest::option::of(date_time()),
    )
        .prop_map(|(flag, cons_time, available_time)| ConsentTriple {
            flag,
            cons_time,
            available_time,
        })
}

fn qualification() -> impl Strategy<Value = QualificationResult> {
    let who = (
        pick(InsuredCardClassification::ALL),
        proptest::option::of(insurer()),
        proptest::option::of(text(20)),
        proptest::option::of(digits(1, 20)),
        proptest::option::of((0u8..100).prop_map(|b| BranchNumber::new(b).unwrap())),
        proptest::option::of(pick(PersonalFamily::ALL)),
        proptest::option::of(text(30)),
        text(30),
        text(30).prop_map(|s| halfwidth_kana(&s)),
        pick(Sex::ALL),
        date(),
        proptest::option::of(text(60)),
    );
    let dates = (
        proptest::option::of(date()),
        proptest::option::of(date()),
        proptest::option::of(date()),
        proptest::option::of(date()),
        proptest::option::of(date()),
        proptest::option::of(pick(BurdenRatio::ALL)),
        any::<bool>(),
        proptest::option::of(pick(ReasonOfLoss::ALL)),
        proptest::option::of(text(40)),
        proptest::option::of(text(40)),
    );
    let certificates = (
        proptest::option::of((
            proptest::option::of(date()),
            date(),
            proptest::option::of(date()),
            pick(BurdenRatio::ALL),
        )),
        consent(),
        proptest::option::of((
            pick(LimitApplicationClassification::ALL),
            pick(LimitClass::ALL),
            proptest::option::of(date()),
            date(),
            proptest::option::of(date()),
            proptest::option::of(date()),
        )),
        consent(),
        proptest::collection::vec(
            (
                pick(SpecificDisease::ALL),
                proptest::option::of(date()),
                date(),
                proptest::option::of(date()),
                0u32..100_000,
            ),
            0..=3,
        ),
        (consent(), consent(), consent(), consent()),
        proptest::option::of(text(50)),
    );
    (who, dates, certificates).prop_map(|(who, dates, certs)| {
        let (elderly, limit_consent, limit, sd_consent, sds, views, reference) = certs;
        QualificationResult {
            card_classification: who.0,
            insurer_number: who.1,
            symbol: who.2,
            number: who.3,
            branch: who.4,
            personal_family: who.5,
            insured_name: who.6,
            name: who.7,
            name_kana: who.8,
            sex: who.9,
            birthdate: who.10,
            address: who.11,
            post_number: Some("123-4567".into()),
            qualification_date: dates.0,
            disqualification_date: dates.1,
            issuance_date: dates.2,
            valid_date: dates.3,
            expiration_date: dates.4,
            ratio: dates.5,
            preschool: dates.6,
            reason_of_loss: dates.7,
            insurer_name: dates.8,
            welfare_office_name: dates.9.clone(),
            public_expense_number: dates.9.as_ref().map(|_| {
                PayerNumber::build(
                    PublicSubsidyLaw::PublicAssistance,
                    Prefecture::from_digits("13").unwrap(),
                    123,
                )
                .unwrap()
            }),
            beneficiary_number: dates
                .9
                .as_ref()
                .map(|_| RecipientNumber::build(45678).unwrap()),
            elderly: elderly.map(|e| ElderlyInfo {
                certificate_date: e.0,
                valid_start: e.1,
                valid_end: e.2,
                ratio: e.3,
            }),
            limit_consent,
            limit: limit.map(|l| LimitInfo {
                classification: l.0,
                class: l.1,
                certificate_date: l.2,
                valid_start: l.3,
                valid_end: l.4,
                long_term: l.5,
            }),
            specific_disease_consent: sd_consent,
            specific_diseases: sds
                .into_iter()
                .map(|s| SpecificDiseaseInfo {
                    category: s.0,
                    certificate_date: s.1,
                    valid_start: s.2,
                    valid_end: s.3,
                    self_pay: s.4,
                })
                .collect(),
            checkups_consent: views.0,
            pharmacists_consent: views.1,
            diagnosis_consent: views.2,
            operation_consent: views.3,
            reference_number: reference,
        }
    })
}

fn encoding() -> impl Strategy<Value = CharacterCode> {
    pick(&[CharacterCode::Utf8, CharacterCode::ShiftJis])
}

fn result_header() -> impl Strategy<Value = ResultHeader> {
    (
        date_time(),
        proptest::option::of(date()),
        institution(),
        proptest::option::of(text(30)),
        proptest::option::of(pick(ReferenceClassification::ALL)),
        proptest::option::of(digits(1, 20)),
        pick(SegmentOfResult::ALL),
        proptest::option::of((text(10), text(40))),
        proptest::option::of((0u32..200_000, 0u32..200_000, 0u32..200_000)),
        encoding(),
    )
        .prop_map(|h| ResultHeader {
            process_execution_time: h.0,
            qualification_confirmation_date: h.1,
            medical_institution_code: h.2,
            arbitrary_file_identifier: h.3,
            reference_classification: h.4,
            reception_number: h.5,
            segment_of_result: h.6,
            error: h.7,
            counts: h.8.map(|c| Counts {
                total: c.0,
                normal: c.1,
                error: c.2,
            }),
            character_code: h.9,
        })
}

fn answer() -> impl Strategy<Value = PersonAnswer> {
    (
        proptest::option::of(pick(PrescriptionForm::ALL)),
        pick(ProcessingResultStatus::ALL),
        proptest::option::of((text(10), text(40))),
        proptest::option::of(pick(QualificationValidity::ALL)),
        proptest::collection::vec(qualification(), 0..=2),
        proptest::option::of(search().prop_map(|s| s.echo())),
    )
        .prop_map(|a| PersonAnswer {
            prescription: a.0,
            status: a.1,
            note: a.2,
            validity: a.3,
            results: a.4,
            search: a.5,
        })
}

// ---- round trips ---------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn an_individual_request_reads_back_as_written(
        institution in institution(),
        day in proptest::option::of(date()),
        id in proptest::option::of(text(30)),
        search in search(),
        encoding in encoding(),
    ) {
        let request = IndividualRequest {
            header: RequestHeader {
                medical_institution_code: institution,
                qualification_confirmation_date: day,
                arbitrary_file_identifier: id,
            },
            search,
        };
        let bytes = request.write(encoding);
        let doc = read(&bytes).unwrap();
        prop_assert_eq!(doc.encoding, encoding);
        let back = IndividualRequest::read(&doc).unwrap();
        prop_assert_eq!(&back.header, &request.header);
        prop_assert_eq!(back.search.as_ref(), Ok(&request.search));
        prop_assert_eq!(back.echo, request.search.echo());
    }

    #[test]
    fn an_individual_result_reads_back_as_written(header in result_header(), answer in answer()) {
        let result = IndividualResult { header, answer };
        let bytes = result.write();
        let back = IndividualResult::read(&read(&bytes).unwrap()).unwrap();
        prop_assert_eq!(back, result);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_batch_upload_reads_back_as_written(
        institution in institution(),
        id in proptest::option::of(text(30)),
        persons in proptest::collection::vec(search(), 1..20),
        encoding in encoding(),
    ) {
        let upload = BatchUpload {
            header: RequestHeader {
                medical_institution_code: institution,
                qualification_confirmation_date: None,
                arbitrary_file_identifier: id,
            },
            persons,
        };
        let back = BatchUpload::read_all(&upload.write(encoding)).unwrap();
        prop_assert_eq!(&back.header, &upload.header);
        let persons: Vec<_> = back.persons.into_iter().map(|(_, p)| p.unwrap()).collect();
        prop_assert_eq!(persons, upload.persons);
    }

    #[test]
    fn a_receipt_and_a_download_request_read_back_as_written(
        institution in institution(),
        at in date_time(),
        id in proptest::option::of(text(30)),
        number in digits(1, 20),
        encoding in encoding(),
    ) {
        let receipt = UploadReceipt {
            process_execution_time: at,
            medical_institution_code: institution.clone(),
            arbitrary_file_identifier: id,
            reception_number: number.clone(),
            reception_date_time: at,
            character_code: encoding,
        };
        prop_assert_eq!(UploadReceipt::read(&read(&receipt.write()).unwrap()).unwrap(), receipt);
        let download = DownloadRequest { medical_institution_code: institution, reception_number: number };
        prop_assert_eq!(DownloadRequest::read(&read(&download.write(encoding)).unwrap()).unwrap(), download);
    }

    #[test]
    fn a_batch_result_reads_back_as_written(
        header in result_header(),
        units in proptest::collection::vec(answer(), 0..4),
    ) {
        let result = BatchResult { header, units: units.into_iter().map(|mut u| { u.prescription = None; u }).collect() };
        let back = BatchResult::read(&read(&result.write()).unwrap()).unwrap();
        prop_assert_eq!(back, result);
    }

    #[test]
    fn a_consented_patients_request_reads_back_as_written(
        institution in institution(),
        id in proptest::option::of(text(30)),
        a in date(),
        b in date(),
        examination in any::<bool>(),
        treatment in pick(MedicalTreatmentFlag::ALL),
        encoding in encoding(),
    ) {
        let (from, to) = if a <= b { (a, b) } else { (b, a) };
        let upload = ConsentedUpload {
            medical_institution_code: institution,
            arbitrary_file_identifier: id,
            window: if examination { Window::Examination { from, to } } else { Window::Consent { from, to } },
            treatment,
        };
        prop_assert_eq!(ConsentedUpload::read(&read(&upload.write(encoding)).unwrap()).unwrap(), upload);
    }
}

fn registration() -> impl Strategy<Value = Registration> {
    (
        text(50),
        insurer(),
        proptest::option::of(text(20)),
        digits(1, 20),
        proptest::option::of((0u8..100).prop_map(|b| BranchNumber::new(b).unwrap())),
    )
        .prop_map(
            |(reference_number, insurer_number, symbol, number, branch)| Registration {
                reference_number,
                insurer_number,
                symbol: symbol.unwrap_or_default(),
                number,
                branch,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_registration_request_reads_back_as_written(
        institution in institution(),
        id in proptest::option::of(text(30)),
        registrations in proptest::collection::vec(registration(), 1..10),
        encoding in encoding(),
    ) {
        let request = RegistrationRequest {
            medical_institution_code: institution,
            arbitrary_file_identifier: id,
            registrations,
        };
        let mut back = Vec::new();
        let (code, id, n) = RegistrationRequest::read_each(&request.write(encoding), &mut |echo, r| {
            back.push((echo, r.unwrap()));
            Ok(())
        })
        .unwrap();
        prop_assert_eq!(code, request.medical_institution_code.clone());
        prop_assert_eq!(id, request.arbitrary_file_identifier.clone());
        prop_assert_eq!(n, request.registrations.len());
        for ((echo, r), sent) in back.iter().zip(&request.registrations) {
            prop_assert_eq!(r, sent);
            prop_assert_eq!(echo, &sent.echo());
        }
    }

    #[test]
    fn a_registration_result_reads_back_as_written(
        header in result_header(),
        outcomes in proptest::collection::vec(
            (registration(), pick(ProcessingResultStatus::ALL), proptest::option::of((text(10), text(40)))),
            1..5,
        ),
        bulk in any::<bool>(),
    ) {
        let outcomes: Vec<_> = outcomes
            .into_iter()
            .map(|(r, status, note)| RegistrationOutcome { echo: r.echo(), status, note })
            .collect();
        let result = RegistrationResult {
            header: RegistrationHeader {
                process_execution_time: header.process_execution_time,
                medical_institution_code: header.medical_institution_code,
                arbitrary_file_identifier: header.arbitrary_file_identifier,
                reception_number: header.reception_number,
                segment_of_result: header.segment_of_result,
                error: header.error,
                counts: header.counts,
                character_code: header.character_code,
            },
            outcomes: if bulk { outcomes } else { outcomes.into_iter().take(1).collect() },
            bulk,
        };
        let back = RegistrationResult::read(&read(&result.write()).unwrap()).unwrap();
        prop_assert_eq!(back, result);
    }
}

fn month() -> impl Strategy<Value = NaiveDate> {
    (2000i32..2100, 1u32..=12).prop_map(|(y, m)| NaiveDate::from_ymd_opt(y, m, 1).unwrap())
}

fn patient() -> impl Strategy<Value = Patient> {
    (
        text(30),
        text(30).prop_map(|s| halfwidth_kana(&s)),
        date(),
        pick(Sex::ALL),
    )
        .prop_map(|(name, kana, birth, sex)| Patient {
            name,
            kana,
            birth,
            sex,
        })
}

fn medical_header() -> impl Strategy<Value = MedicalHeader> {
    (
        date_time(),
        institution(),
        proptest::option::of(text(30)),
        proptest::option::of(text(60)),
        encoding(),
    )
        .prop_map(|h| MedicalHeader {
            process_execution_time: h.0,
            medical_institution_code: h.1,
            arbitrary_file_identifier: h.2,
            refusal: h.3,
            character_code: h.4,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_medical_request_reads_back_as_written(
        institution in institution(),
        s in search(),
        a in month(),
        b in month(),
        category in pick(&[FileCategory::Pdf, FileCategory::Xml, FileCategory::PdfWithClinical, FileCategory::XmlWithClinical]),
        treatment in proptest::option::of(pick(MedicalTreatmentFlag::ALL)),
        encoding in encoding(),
    ) {
        let (start, end) = if a <= b { (a, b) } else { (b, a) };
        let request = MedicalRequest {
            medical_institution_code: institution,
            insurer_number: s.insurer_number,
            symbol: s.symbol,
            number: s.number,
            branch: s.branch,
            arbitrary_file_identifier: s.arbitrary_identifier,
            start: Some(start),
            end: Some(end),
            file_category: category,
            treatment,
        };
        prop_assert_eq!(MedicalRequest::read(&read(&request.write(encoding)).unwrap()).unwrap(), request);
    }

    #[test]
    fn drug_and_checkup_results_read_back_as_written(
        header in medical_header(),
        patient in proptest::option::of(patient()),
        days in proptest::collection::vec(
            (date(), text(20), proptest::collection::vec((text(20), text(20), digits(1, 3), text(5), text(30), 0u16..100), 1..3)),
            0..4,
        ),
        clinical in proptest::collection::vec((date(), text(20), proptest::collection::vec((text(20), text(20)), 1..3)), 0..3),
        checkups in proptest::collection::vec(
            (date(), proptest::collection::vec((digits(17, 17), text(20), text(10), text(5)), 1..4)),
            0..3,
        ),
    ) {
        let mut drugs: Vec<DrugDay> = days
            .into_iter()
            .map(|(date, institution, drugs)| DrugDay {
                date,
                institution,
                drugs: drugs
                    .into_iter()
                    .map(|(name, ingredient, quantity, unit, usage, times)| Drug { name, ingredient, quantity, unit, usage, times })
                    .collect(),
            })
            .collect();
        drugs.sort_by_key(|d| d.date);
        let mut clinical: Vec<ClinicalDay> = clinical
            .into_iter()
            .map(|(date, institution, events)| ClinicalDay { date, institution, events })
            .collect();
        clinical.sort_by_key(|d| d.date);
        let result = DrugResult { header: header.clone(), patient: patient.clone(), drugs, clinical };
        prop_assert_eq!(DrugResult::read(&read(&result.write()).unwrap()).unwrap(), result);
        let file = CheckupResultFile {
            header,
            patient,
            checkups: checkups
                .into_iter()
                .map(|(on, items)| Checkup {
                    on,
                    items: items
                        .into_iter()
                        .map(|(code, name, value, unit)| CheckupItem { code, name, data_type: "PQ".into(), value, unit })
                        .collect(),
                })
                .collect(),
        };
        prop_assert_eq!(CheckupResultFile::read(&read(&file.write()).unwrap()).unwrap(), file);
    }
}

// ---- examples --------------------------------------------------------------

fn code() -> InstitutionCode {
    InstitutionCode::build(
        Prefecture::from_digits("13").unwrap(),
        InstitutionKind::Medical,
        1,
        2345,
    )
    .unwrap()
}

fn request_text(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\
         <XmlMsg><MessageHeader><QualificationConfirmationDate>20261207</QualificationConfirmationDate>\
         <MedicalInstitutionCode>{}</MedicalInstitutionCode>\
         <ArbitraryFileIdentifier>clinic_0001</ArbitraryFileIdentifier></MessageHeader>\
         <MessageBody><QualificationConfirmSearchInfo>{body}</QualificationConfirmSearchInfo>\
         </MessageBody></XmlMsg>",
        code().as_str()
    )
}

fn person_refusal(body: &str) -> Rejection {
    let doc = read(request_text(body).as_bytes()).unwrap();
    IndividualRequest::read(&doc).unwrap().search.unwrap_err()
}

const GOOD: &str = "<Birthdate>19500101</Birthdate><InsuredIdentificationNumber>00012</InsuredIdentificationNumber>\
    <LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>\
    <InsurerNumber>  138057</InsurerNumber><InsuredCardSymbol>０１</InsuredCardSymbol>\
    <InsuredBranchNumber>01</InsuredBranchNumber>";

#[test]
fn a_request_in_any_order_with_a_six_digit_insurer_is_read() {
    let doc = read(request_text(GOOD).as_bytes()).unwrap();
    let r = IndividualRequest::read(&doc).unwrap();
    let s = r.search.unwrap();
    assert_eq!(s.insurer_number.as_str(), "138057");
    assert_eq!(s.number, "00012", "leading zeros are kept");
    assert_eq!(s.symbol, "０１");
    assert_eq!(s.branch.map(|b| b.value()), Some(1));
    assert!(s.limit_consent);
    assert_eq!(r.echo.insurer_number.as_deref(), Some("  138057"));
    assert_eq!(
        r.header.arbitrary_file_identifier.as_deref(),
        Some("clinic_0001")
    );
    // Written back, the 国保 number is right-aligned with spaces.
    let mut w = writer::XmlWriter::new(256);
    s.write(&mut w);
    let text = String::from_utf8(w.finish(CharacterCode::Utf8)).unwrap();
    assert!(
        text.contains("<InsurerNumber>  138057</InsurerNumber>"),
        "{text}"
    );
}

#[test]
fn a_person_s_bad_values_are_refused_by_element_with_their_codes() {
    let cases = [
        (
            GOOD.replace("<Birthdate>19500101</Birthdate>", ""),
            "Z-Q-0010",
            "Birthdate",
        ),
        (
            GOOD.replace("  138057", "  138058"),
            "Z-Q-0013",
            "InsurerNumber",
        ),
        (
            GOOD.replace("19500101", "1950-01-01"),
            "Z-Q-0011",
            "Birthdate",
        ),
        (
            GOOD.replace("19500101", "19500230"),
            "Z-Q-0011",
            "Birthdate",
        ),
        (
            GOOD.replace(
                "<LimitApplicationCertificateRelatedConsFlg>1",
                "<LimitApplicationCertificateRelatedConsFlg>7",
            ),
            "Z-Q-0012",
            "LimitApplicationCertificateRelatedConsFlg",
        ),
        (
            GOOD.replace("<InsuredBranchNumber>01", "<InsuredBranchNumber>1"),
            "Z-Q-0011",
            "InsuredBranchNumber",
        ),
        (
            format!("{GOOD}<Birthdate>19500101</Birthdate>"),
            "Z-Q-0014",
            "Birthdate",
        ),
    ];
    for (body, code, element) in cases {
        let e = person_refusal(&body);
        assert_eq!(e.code(), code, "{body}: {e}");
        assert!(e.detail.contains(element), "{e}");
        assert!(!e.message().is_empty());
    }
}

#[test]
fn a_file_that_is_not_the_message_is_refused_whole() {
    let file = |s: &str| IndividualRequest::read(&read(s.as_bytes()).unwrap()).unwrap_err();
    assert_eq!(file("<Other/>").code(), "Z-Q-0007");
    assert_eq!(file("<XmlMsg><MessageHeader/></XmlMsg>").code(), "Z-Q-0007");
    let no_code = request_text(GOOD).replace(code().as_str(), "");
    assert_eq!(file(&no_code).code(), "Z-Q-0010");
    let good = code();
    let last = good.as_str().as_bytes()[9] - b'0';
    let wrong = format!("{}{}", &good.as_str()[..9], (last + 1) % 10);
    let bad_digit = request_text(GOOD).replace(good.as_str(), &wrong);
    assert_eq!(file(&bad_digit).code(), "Z-Q-0013");
    let no_person = request_text(GOOD).replace(GOOD, "").replace(
        "<QualificationConfirmSearchInfo></QualificationConfirmSearchInfo>",
        "",
    );
    assert_eq!(file(&no_person).code(), "Z-Q-0010");
    let mismatch = request_text(GOOD).replace(
        "</MessageHeader>",
        "<CharacterCodeIdentifier>1</CharacterCodeIdentifier></MessageHeader>",
    );
    assert_eq!(file(&mismatch).code(), "Z-Q-0005");
    let unknown = mismatch.replace(">1</CharacterCode", ">7</CharacterCode");
    assert_eq!(file(&unknown).code(), "Z-Q-0012");
}

#[test]
fn a_result_s_declaration_and_identifier_must_agree() {
    let result = IndividualResult {
        header: ResultHeader {
            process_execution_time: NaiveDate::from_ymd_opt(2026, 12, 7)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
            qualification_confirmation_date: None,
            medical_institution_code: code(),
            arbitrary_file_identifier: None,
            reference_classification: Some(ReferenceClassification::InsuranceData),
            reception_number: None,
            segment_of_result: SegmentOfResult::Done,
            error: None,
            counts: None,
            character_code: CharacterCode::Utf8,
        },
        answer: PersonAnswer {
            prescription: None,
            status: ProcessingResultStatus::Done,
            note: None,
            validity: Some(QualificationValidity::NotFound),
            results: vec![],
            search: None,
        },
    };
    let text = String::from_utf8(result.write()).unwrap();
    assert!(text.contains("<ResultList></ResultList>"), "{text}");
    let lying = text.replace("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"");
    let e = IndividualResult::read(&read(lying.as_bytes()).unwrap()).unwrap_err();
    assert_eq!(e.code(), "Z-Q-0005");
}

#[test]
fn kana_is_written_half_width() {
    assert_eq!(halfwidth_kana("シンリョウ\u{3000}タロウ"), "ｼﾝﾘｮｳ ﾀﾛｳ");
    assert_eq!(halfwidth_kana("ガッコウ・ヴィーナス"), "ｶﾞｯｺｳ･ｳﾞｨｰﾅｽ");
    assert_eq!(halfwidth_kana("パピプペポ"), "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ");
}

#[test]
fn every_rejection_has_a_code_and_a_japanese_message() {
    use rejection::RejectionKind::*;
    let kinds = [
        EncodingMismatch,
        FileName,
        Layout,
        Missing,
        Format,
        UnknownCode,
        CheckDigit,
        Duplicated,
        OtherInstitution,
        UnknownReception,
        TooMany,
        ReferenceNumberTaken,
        NotOffered,
        PdfUnavailable,
        NoSuchPerson,
        Ambiguous,
    ];
    let mut seen = std::collections::BTreeSet::new();
    for k in kinds {
        let r = Rejection::new(k, "x");
        assert!(r.code().starts_with("Z-Q-"));
        assert!(seen.insert(r.code()), "{}", r.code());
        assert!(r.message().ends_with('。'), "{}", r.message());
        let lines: Vec<_> = r.err_text().lines().map(str::to_owned).collect();
        assert_eq!(lines, [r.code(), r.message(), "x"]);
        let doc = include_str!("../../../../docs/error-codes.md");
        let row = format!("| {} |", r.code());
        let line = doc.lines().find(|l| l.starts_with(&row));
        assert!(
            line.is_some_and(|l| l.ends_with(&format!("| {} |", r.message()))),
            "{} and its message are not in docs/error-codes.md",
            r.code()
        );
    }
}
