//! The receipt-computer interface's exchange: one request file in, one
//! result file (or `.err`) out, for the institution of the link that sent
//! it. The HTTP endpoint and the `oqs-link` folder agent both end here, so
//! a file gives the same bytes whichever way it came. Every exchange is
//! audited with the link, the message and the outcome; every person read
//! is named in the audit.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde_json::json;
use zaitaku_domain::codes::{
    ConsentFlag, InsuredCardClassification, ProcessingResultStatus, QualificationValidity,
    ReasonOfLoss, ReferenceClassification, SegmentOfResult,
};
use zaitaku_domain::consent::{ConsentItem, ConsentRecord, ConsentState, consent_flag, jst};
use zaitaku_domain::eligibility::{Coverage, Eligibility, Qualification};
use zaitaku_domain::institution::InstitutionCode;
use zaitaku_proto::oqs::individual::{IndividualRequest, IndividualResult};
use zaitaku_proto::oqs::medical::{
    Checkup, CheckupItem, CheckupResultFile, ClinicalDay, Drug, DrugDay, DrugResult, MedicalHeader,
    MedicalRequest, Patient,
};
use zaitaku_proto::oqs::pdf::{self, PdfFont};
use zaitaku_proto::oqs::qualification::{
    ConsentTriple, ElderlyInfo, LimitInfo, PersonAnswer, QualificationResult, ResultHeader,
    SearchInfo, SpecificDiseaseInfo, halfwidth_kana,
};
use zaitaku_proto::oqs::reference::{
    Registration, RegistrationEcho, RegistrationHeader, RegistrationOutcome, RegistrationRequest,
    RegistrationResult,
};
use zaitaku_proto::oqs::{
    CharacterCode, Rejection, RejectionKind, RequestKind, RequestName, read_as,
};
use zaitaku_storage::{AuditEvent, FoundByCard, Store, Write};

use crate::{ServiceError, jst_day};

/// The link a request came through, as its credential named it.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: i64,
    pub institution_id: i64,
    pub institution_code: InstitutionCode,
    /// The encoding results are written in (the 連携アプリ's setting).
    pub character_code: CharacterCode,
}

/// What goes back: a result file, or the `.err` of a rejected request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    Result {
        name: String,
        bytes: Vec<u8>,
    },
    Rejected {
        name: String,
        bytes: Vec<u8>,
        code: &'static str,
    },
    /// A large result kept in parts: the opening, then parts `0..parts`
    /// read one at a time ([`crate::jobs::result_part`]).
    Parts {
        name: String,
        opening: Vec<u8>,
        job_id: i64,
        parts: i64,
    },
}

/// Answers one request file. The file is taken by value: an upload is
/// kept as sent without a copy. `pdf_font` writes 薬剤情報・特定健診情報
/// asked for as PDF; without it they are refused (Z-Q-0009).
pub async fn exchange(
    store: &Store,
    link: &Link,
    file_name: &str,
    bytes: Vec<u8>,
    pdf_font: Option<&PdfFont>,
    now: DateTime<Utc>,
) -> Result<Exchange, ServiceError> {
    let name = match RequestName::parse(file_name) {
        Ok(n) => n,
        Err(r) => {
            let err_name = zaitaku_proto::oqs::file_name::err_name_for(file_name);
            return rejected(store, link, None, err_name, &r, now).await;
        }
    };
    let answered = match name.kind {
        RequestKind::IndividualInquiry => individual(store, link, &name, &bytes, now).await?,
        RequestKind::DrugInformation | RequestKind::CheckupInformation => {
            medical_file(store, link, &name, &bytes, pdf_font, now).await?
        }
        RequestKind::ReferenceNumberSingle => {
            register_single(store, link, &name, &bytes, now).await?
        }
        RequestKind::BatchUpload
        | RequestKind::HomeVisitUpload
        | RequestKind::OnlineUpload
        | RequestKind::ReferenceNumberUpload => {
            crate::jobs::upload(store, link, &name, bytes, now).await?
        }
        RequestKind::BatchDownload
        | RequestKind::HomeVisitDownload
        | RequestKind::OnlineDownload
        | RequestKind::ReferenceNumberDownload => {
            crate::jobs::download(store, link, &name, &bytes, now).await?
        }
    };
    match answered {
        Ok(exchange) => Ok(exchange),
        Err(r) => rejected(store, link, Some(name.kind), name.err(), &r, now).await,
    }
}

/// Refuses a request the surface could not even take (a body over the
/// size limit), audited like every other refusal.
pub async fn refuse(
    store: &Store,
    link: &Link,
    err_name: &str,
    rejection: &Rejection,
    now: DateTime<Utc>,
) -> Result<Exchange, ServiceError> {
    rejected(store, link, None, err_name.to_owned(), rejection, now).await
}

async fn rejected(
    store: &Store,
    link: &Link,
    kind: Option<RequestKind>,
    name: String,
    r: &Rejection,
    now: DateTime<Utc>,
) -> Result<Exchange, ServiceError> {
    store
        .audit(
            &link_event(
                link,
                "oqs.exchange",
                "refused",
                None,
                json!({"message": kind.map(RequestKind::as_str), "file": name, "code": r.code(), "detail": r.detail}),
            ),
            now,
        )
        .await?;
    Ok(Exchange::Rejected {
        name,
        bytes: r.err_file(link.character_code),
        code: r.code(),
    })
}

/// An audit record of what a receipt computer asked through its link.
pub(crate) fn link_event<'e>(
    link: &Link,
    action: &'e str,
    outcome: &'e str,
    person_id: Option<i64>,
    detail: serde_json::Value,
) -> AuditEvent<'e> {
    let mut detail = detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("link".into(), json!(link.id));
    }
    AuditEvent {
        actor: "receipt_computer",
        action,
        outcome,
        institution_id: Some(link.institution_id),
        person_id,
        detail,
    }
}

/// A file that claims another institution is refused before anything is
/// read: a link reads only its own institution's patients.
pub(crate) fn own_institution(link: &Link, code: &InstitutionCode) -> Result<(), Rejection> {
    if code == &link.institution_code {
        Ok(())
    } else {
        Err(Rejection::new(
            RejectionKind::OtherInstitution,
            format!("MedicalInstitutionCode {}", code.as_str()),
        ))
    }
}

/// `OQSsiquc01req_` → `OQSsiquc01res_`.
async fn individual(
    store: &Store,
    link: &Link,
    name: &RequestName,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Exchange, Rejection>, ServiceError> {
    let request = match read_as(bytes, IndividualRequest::read) {
        Ok(r) => r,
        Err(r) => return Ok(Err(r)),
    };
    if let Err(r) = own_institution(link, &request.header.medical_institution_code) {
        return Ok(Err(r));
    }
    let on = request
        .header
        .qualification_confirmation_date
        .unwrap_or_else(|| jst_day(now));
    let (answer, person_id, outcome) = match &request.search {
        Err(r) => (
            PersonAnswer::refused(r, Some(request.echo.clone())),
            None,
            "refused",
        ),
        Ok(search) => {
            let (mut answer, person_id) = answer_by_card(store, link, search, on, now).await?;
            answer.search = Some(request.echo.clone());
            let outcome = if person_id.is_some() {
                "ok"
            } else {
                "not_found"
            };
            (answer, person_id, outcome)
        }
    };
    let failed = answer.status == ProcessingResultStatus::Error;
    let result = IndividualResult {
        header: ResultHeader {
            process_execution_time: now.with_timezone(&jst()).naive_local(),
            qualification_confirmation_date: Some(on),
            medical_institution_code: link.institution_code.clone(),
            arbitrary_file_identifier: request.header.arbitrary_file_identifier.clone(),
            reference_classification: Some(ReferenceClassification::InsuranceData),
            reception_number: None,
            segment_of_result: if failed {
                SegmentOfResult::Failed
            } else {
                SegmentOfResult::Done
            },
            error: answer.note.clone().filter(|_| failed),
            counts: None,
            character_code: link.character_code,
        },
        answer,
    };
    store
        .audit(
            &link_event(
                link,
                "oqs.inquiry",
                outcome,
                person_id,
                json!({"message": name.kind.as_str(), "file": name.request(), "on": on}),
            ),
            now,
        )
        .await?;
    Ok(Ok(Exchange::Result {
        name: name.result("xml"),
        bytes: result.write(),
    }))
}

/// One person found by insurance-card data: 該当資格なし when nobody with
/// this number was born on that day, 複数該当 when several were.
pub(crate) async fn answer_by_card(
    store: &Store,
    link: &Link,
    search: &SearchInfo,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(PersonAnswer, Option<i64>), ServiceError> {
    let found = store
        .found_by_card(
            search.insurer_number.as_str(),
            &search.number,
            search.birthdate,
            link.institution_id,
        )
        .await?;
    // Within a family the 枝番 tells the members apart, when it is given.
    let matches: Vec<&FoundByCard> = found
        .iter()
        .filter(|f| {
            f.eligibility
                .qualifications
                .iter()
                .any(|q| match &q.coverage {
                    Coverage::Insurance {
                        insurer_number,
                        symbol,
                        number,
                        branch,
                        ..
                    } => {
                        insurer_number == &search.insurer_number
                            && symbol == &search.symbol
                            && number == &search.number
                            && search.branch.is_none_or(|b| b == *branch)
                    }
                    Coverage::MedicalAssistance { .. } => false,
                })
        })
        .collect();
    let empty = PersonAnswer::empty;
    let f = match matches.as_slice() {
        [] => return Ok((empty(QualificationValidity::NotFound), None)),
        [f] => *f,
        _ => return Ok((empty(QualificationValidity::Multiple), None)),
    };
    let e = &f.eligibility;
    let resolved = e.resolve_by_card(&search.insurer_number, &search.symbol, &search.number, on);
    let Some(q) = resolved.qualification else {
        return Ok((empty(QualificationValidity::NotFound), None));
    };
    let person_id = e.person.id;
    let latest = f.latest_consent.as_ref();
    let mut result =
        qualification_result(e, q, on, Flags::counter(latest, search.limit_consent, now));
    result.reference_number = f.reference_number.clone();
    Ok((
        PersonAnswer {
            prescription: latest
                .filter(|r| ConsentState::of(Some(r), now) == ConsentState::InForce)
                .and_then(|r| r.prescription_form),
            status: ProcessingResultStatus::Done,
            note: None,
            validity: Some(resolved.validity),
            results: vec![result],
            search: None,
        },
        Some(person_id),
    ))
}

/// The consent flags a result carries, and whether the 限度額 and 特定疾病
/// certificates may be given.
pub(crate) struct Flags {
    pub limit: ConsentTriple,
    pub specific_disease: ConsentTriple,
    pub checkups: ConsentTriple,
    pub pharmacists: ConsentTriple,
    pub diagnosis: ConsentTriple,
    pub operation: ConsentTriple,
}

impl Flags {
    /// From the patient's consent to this institution. `expired_as_2`:
    /// flag 2 (同意有効期限切れ) is written only by the 訪問診療等 and
    /// オンライン診療等 interfaces; elsewhere an expired consent is 0.
    pub fn of_consent(
        latest: Option<&ConsentRecord>,
        now: DateTime<Utc>,
        expired_as_2: bool,
    ) -> Self {
        let triple = |item: ConsentItem| {
            let flag = match consent_flag(latest, item, now) {
                ConsentFlag::Expired if !expired_as_2 => ConsentFlag::None,
                f => f,
            };
            match (flag, latest) {
                (ConsentFlag::None, _) | (_, None) => ConsentTriple::NONE,
                (flag, Some(r)) => ConsentTriple {
                    flag,
                    cons_time: Some(r.recorded_at.with_timezone(&jst()).naive_local()),
                    available_time: r.valid_until.map(|u| u.with_timezone(&jst()).naive_local()),
                },
            }
        };
        Self {
            limit: triple(ConsentItem::LimitAmount),
            specific_disease: triple(ConsentItem::SpecificDisease),
            checkups: triple(ConsentItem::Checkups),
            pharmacists: triple(ConsentItem::ClinicalAndDrug),
            diagnosis: triple(ConsentItem::ClinicalAndDrug),
            operation: triple(ConsentItem::Surgery),
        }
    }

    /// An inquiry by insurance-card data at the counter: the request's own
    /// flag stands for the patient's spoken consent to the 限度額
    /// information, given now; the rest follows the consent to this
    /// institution.
    fn counter(latest: Option<&ConsentRecord>, limit_consent: bool, now: DateTime<Utc>) -> Self {
        let mut flags = Self::of_consent(latest, now, false);
        if limit_consent {
            flags.limit = ConsentTriple {
                flag: ConsentFlag::Given,
                cons_time: Some(now.with_timezone(&jst()).naive_local()),
                available_time: None,
            };
        }
        flags
    }
}

/// One person's qualification in the layout, as of `on`: certificates only
/// where their consent flag is 1.
pub(crate) fn qualification_result(
    e: &Eligibility,
    q: &Qualification,
    on: NaiveDate,
    flags: Flags,
) -> QualificationResult {
    let p = &e.person;
    let (
        card_classification,
        insurer_number,
        symbol,
        number,
        branch,
        personal_family,
        insured_name,
        insurer_name,
        welfare,
    ) = match &q.coverage {
        Coverage::Insurance {
            insurer_number,
            insurer_name,
            symbol,
            number,
            branch,
            personal_family,
            insured_name,
            ..
        } => (
            InsuredCardClassification::General,
            Some(insurer_number.clone()),
            (!symbol.is_empty()).then(|| symbol.clone()),
            Some(number.clone()),
            Some(*branch),
            Some(*personal_family),
            Some(insured_name.clone()),
            Some(insurer_name.clone()),
            None,
        ),
        Coverage::MedicalAssistance {
            welfare_office_name,
            payer_number,
            recipient_number,
        } => (
            InsuredCardClassification::MedicalAssistance,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some((
                welfare_office_name.clone(),
                payer_number.clone(),
                recipient_number.clone(),
            )),
        ),
    };
    let given = |t: &ConsentTriple| t.flag == ConsentFlag::Given;
    let limit = e
        .limit_on(on)
        .filter(|_| given(&flags.limit))
        .map(|l| LimitInfo {
            classification: l.kind.into(),
            class: l.class,
            certificate_date: None,
            valid_start: l.valid.from,
            valid_end: l.valid.to,
            long_term: l.long_term_from,
        });
    let specific_diseases = if given(&flags.specific_disease) {
        e.specific_diseases_on(on)
            .map(|s| SpecificDiseaseInfo {
                category: s.disease,
                certificate_date: None,
                valid_start: s.valid.from,
                valid_end: s.valid.to,
                self_pay: s.self_pay_limit_yen,
            })
            .collect()
    } else {
        Vec::new()
    };
    QualificationResult {
        card_classification,
        insurer_number,
        symbol,
        number,
        branch,
        personal_family,
        insured_name,
        name: p.name.clone(),
        name_kana: halfwidth_kana(&p.name_kana),
        sex: p.sex,
        birthdate: p.birth_date,
        address: Some(p.address.clone()),
        post_number: post_number(&p.postal_code),
        qualification_date: Some(q.acquired_on),
        disqualification_date: q.loss.map(|l| l.on),
        issuance_date: q.issued_on,
        valid_date: Some(q.valid.from),
        expiration_date: q.valid.to,
        ratio: e.burden_ratio(on),
        preschool: e.is_preschool(on),
        reason_of_loss: q.loss.map(|l| ReasonOfLoss::from(l.reason)),
        insurer_name,
        welfare_office_name: welfare.as_ref().map(|w| w.0.clone()),
        public_expense_number: welfare.as_ref().map(|w| w.1.clone()),
        beneficiary_number: welfare.map(|w| w.2),
        elderly: e.elderly_on(on).map(|c| ElderlyInfo {
            certificate_date: None,
            valid_start: c.valid.from,
            valid_end: c.valid.to,
            ratio: c.burden_ratio,
        }),
        limit_consent: flags.limit,
        limit,
        specific_disease_consent: flags.specific_disease,
        specific_diseases,
        checkups_consent: flags.checkups,
        pharmacists_consent: flags.pharmacists,
        diagnosis_consent: flags.diagnosis,
        operation_consent: flags.operation,
        reference_number: None,
    }
}

/// `1000001` as the layout writes it, `100-0001`.
fn post_number(postal: &str) -> Option<String> {
    let digits: String = postal.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == 7).then(|| format!("{}-{}", &digits[..3], &digits[3..]))
}

/// A check-in result (face file) and its place in the institution's
/// sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Face {
    pub name: String,
    pub bytes: Vec<u8>,
    pub cursor: i64,
}

/// The institution's next check-in result after `after`: every check made
/// at this institution in the staff app, as the card reader's result
/// (ReferenceClassification 1) with the consent flags as the patient gave
/// them, and the qualification as of the day of the check.
pub async fn next_face(
    store: &Store,
    link: &Link,
    after: i64,
    now: DateTime<Utc>,
) -> Result<Option<Face>, ServiceError> {
    let Some(check) = store
        .app_check_after(link.institution_id, after.max(0))
        .await?
    else {
        return Ok(None);
    };
    let checked = check.checked_at.with_timezone(&jst()).naive_local();
    let day = checked.date();
    let latest = store
        .latest_consent(link.institution_id, check.person_id)
        .await?;
    let answer = answer_for_person(
        store,
        link,
        check.person_id,
        day,
        latest.as_ref(),
        check.checked_at,
        false,
    )
    .await?;
    let result = IndividualResult {
        header: ResultHeader {
            process_execution_time: checked,
            qualification_confirmation_date: Some(day),
            medical_institution_code: link.institution_code.clone(),
            arbitrary_file_identifier: Some(face_identifier(check.id)),
            reference_classification: Some(ReferenceClassification::Card),
            reception_number: None,
            segment_of_result: SegmentOfResult::Done,
            error: None,
            counts: None,
            character_code: link.character_code,
        },
        answer,
    };
    store
        .audit(
            &link_event(
                link,
                "oqs.face",
                "ok",
                Some(check.person_id),
                json!({"check": check.id}),
            ),
            now,
        )
        .await?;
    Ok(Some(Face {
        name: format!(
            "OQSsiquc01res_face_{}{:020x}_{}.xml",
            link.institution_code.as_str(),
            check.id,
            checked.format("%Y%m%d%H%M%S")
        ),
        bytes: result.write(),
        cursor: check.id,
    }))
}

/// A face file's ArbitraryFileIdentifier: 16 characters, as the card
/// reader's are, unique per check.
fn face_identifier(check_id: i64) -> String {
    zaitaku_proto::base64url::encode(&check_id.to_be_bytes())
        .chars()
        .chain(std::iter::repeat('A'))
        .take(16)
        .collect()
}

/// Registers one patient's 照会番号 for the link's institution, by the
/// rule of the administration's screen (≤ 50 characters, unique in the
/// institution): the patient is found by 保険者番号・記号・番号 (and 枝番
/// when given). The outcome and, on success, the patient are audited.
pub(crate) async fn register_reference(
    store: &Store,
    link: &Link,
    echo: RegistrationEcho,
    registration: Result<Registration, Rejection>,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(RegistrationOutcome, Option<Write>), ServiceError> {
    let r = match registration {
        Ok(r) => r,
        Err(e) => return Ok((RegistrationOutcome::refused(echo, &e), None)),
    };
    let person_id = match person_by_card_data(
        store,
        &r.insurer_number,
        &r.symbol,
        &r.number,
        r.branch,
        "ReferenceNumberRegistrationInfo",
    )
    .await?
    {
        Ok(id) => id,
        Err(e) => return Ok((RegistrationOutcome::refused(echo, &e), None)),
    };
    match store
        .set_reference_number(
            link.institution_id,
            person_id,
            Some(&r.reference_number),
            now,
        )
        .await
    {
        Ok(()) => {}
        Err(zaitaku_storage::StorageError::Duplicate(_)) => {
            let e = Rejection::new(
                RejectionKind::ReferenceNumberTaken,
                format!("ReferenceNumber {}", r.reference_number),
            );
            return Ok((RegistrationOutcome::refused(echo, &e), None));
        }
        Err(e) => return Err(e.into()),
    }
    let audit = Write::audit(
        &link_event(
            link,
            "oqs.reference_number",
            "ok",
            Some(person_id),
            json!({"message": message}),
        ),
        now,
    );
    Ok((
        RegistrationOutcome {
            echo,
            status: ProcessingResultStatus::Done,
            note: None,
        },
        Some(audit),
    ))
}

/// `OQSsiimm01req_` → `OQSsiimm01res_`.
async fn register_single(
    store: &Store,
    link: &Link,
    name: &RequestName,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Exchange, Rejection>, ServiceError> {
    let mut patients = Vec::new();
    let read = RegistrationRequest::read_each(bytes, &mut |echo, r| {
        if !patients.is_empty() {
            return Err(Rejection::new(
                RejectionKind::TooMany,
                "ReferenceNumberRegistrationInfo 1件まで（複数は OQSmuimm01req_）",
            ));
        }
        patients.push((echo, r));
        Ok(())
    });
    let (code, file_identifier, _) = match read {
        Ok(r) => r,
        Err(r) => return Ok(Err(r)),
    };
    if let Err(r) = own_institution(link, &code) {
        return Ok(Err(r));
    }
    let Some((echo, registration)) = patients.pop() else {
        return Ok(Err(Rejection::new(
            RejectionKind::Missing,
            "XmlMsg/MessageBody/ReferenceNumberRegistrationInfo",
        )));
    };
    let (outcome, audit) =
        register_reference(store, link, echo, registration, name.kind.as_str(), now).await?;
    match audit {
        Some(a) => {
            store
                .write(vec![a])
                .await?
                .map_err(|r| ServiceError::Internal(format!("{r:?}")))?;
        }
        None => {
            store
                .audit(
                    &link_event(
                        link,
                        "oqs.reference_number",
                        "refused",
                        None,
                        json!({"message": name.kind.as_str(), "code": outcome.note.as_ref().map(|n| n.0.clone())}),
                    ),
                    now,
                )
                .await?;
        }
    }
    let failed = outcome.status == ProcessingResultStatus::Error;
    let result = RegistrationResult {
        header: RegistrationHeader {
            process_execution_time: now.with_timezone(&jst()).naive_local(),
            medical_institution_code: link.institution_code.clone(),
            arbitrary_file_identifier: file_identifier,
            reception_number: None,
            segment_of_result: if failed {
                SegmentOfResult::Failed
            } else {
                SegmentOfResult::Done
            },
            error: outcome.note.clone().filter(|_| failed),
            counts: None,
            character_code: link.character_code,
        },
        outcomes: vec![outcome],
        bulk: false,
    };
    Ok(Ok(Exchange::Result {
        name: name.result("xml"),
        bytes: result.write(),
    }))
}

/// The one person holding this insurance-card data (no birth date given):
/// nobody is Z-Q-0024, several (a family without 枝番) Z-Q-0025.
async fn person_by_card_data(
    store: &Store,
    insurer: &zaitaku_domain::insurer::InsurerNumber,
    symbol: &str,
    number: &str,
    branch: Option<zaitaku_domain::insurer::BranchNumber>,
    at: &str,
) -> Result<Result<i64, Rejection>, ServiceError> {
    let mut found = Vec::new();
    for id in store
        .persons_by_card_number(insurer.as_str(), number)
        .await?
    {
        let Some(e) = store.eligibility(id).await? else {
            continue;
        };
        let holds = e.qualifications.iter().any(|q| match &q.coverage {
            Coverage::Insurance {
                insurer_number,
                symbol: s,
                number: n,
                branch: b,
                ..
            } => {
                insurer_number == insurer
                    && s == symbol
                    && n == number
                    && branch.is_none_or(|given| given == *b)
            }
            Coverage::MedicalAssistance { .. } => false,
        });
        if holds {
            found.push(id);
        }
    }
    Ok(match found.as_slice() {
        [id] => Ok(*id),
        [] => Err(Rejection::new(RejectionKind::NoSuchPerson, at)),
        _ => Err(Rejection::new(RejectionKind::Ambiguous, at)),
    })
}

/// 特定健診 items as the file names them. The codes are those zaitaku
/// uses for its synthetic check-ups (docs/reference/oqs.md).
fn checkup_items(c: &zaitaku_domain::medical::CheckupResult) -> Vec<CheckupItem> {
    let item = |code: &str, name: &str, value: String, unit: &str| CheckupItem {
        code: code.to_owned(),
        name: name.to_owned(),
        data_type: "PQ".to_owned(),
        value,
        unit: unit.to_owned(),
    };
    vec![
        item(
            "9N001000000000001",
            "身長",
            format!("{:.1}", c.height_cm),
            "cm",
        ),
        item(
            "9N006000000000001",
            "体重",
            format!("{:.1}", c.weight_kg),
            "kg",
        ),
        item(
            "9N016160100000001",
            "腹囲（実測）",
            format!("{:.1}", c.waist_cm),
            "cm",
        ),
        item(
            "9N011000000000001",
            "BMI",
            format!("{:.1}", c.bmi()),
            "kg/m2",
        ),
        item(
            "9A755000000000001",
            "収縮期血圧（その他）",
            c.systolic_mmhg.to_string(),
            "mmHg",
        ),
        item(
            "9A765000000000001",
            "拡張期血圧（その他）",
            c.diastolic_mmhg.to_string(),
            "mmHg",
        ),
        item(
            "3D046000001906202",
            "HbA1c（NGSP値）",
            format!("{:.1}", c.hba1c_percent),
            "%",
        ),
        item(
            "3F077000002327101",
            "LDLコレステロール",
            c.ldl_mg_dl.to_string(),
            "mg/dl",
        ),
        item(
            "3F070000002327101",
            "HDLコレステロール",
            c.hdl_mg_dl.to_string(),
            "mg/dl",
        ),
        item(
            "3F015000002327101",
            "中性脂肪（トリグリセリド）",
            c.triglycerides_mg_dl.to_string(),
            "mg/dl",
        ),
    ]
}

/// `YZKsiquc01req_` / `TKKsiquc01req_`: the information, as XML or (by
/// `FileCategory`) as PDF, only while the patient's consent to this
/// institution for it is in force (and the card's certificate is not in
/// its grace period). Otherwise the answer is an XML result, `ResultCode`
/// 2 with the reason, whichever was asked: a PDF cannot carry the code a
/// receipt computer acts on.
async fn medical_file(
    store: &Store,
    link: &Link,
    name: &RequestName,
    bytes: &[u8],
    pdf_font: Option<&PdfFont>,
    now: DateTime<Utc>,
) -> Result<Result<Exchange, Rejection>, ServiceError> {
    use zaitaku_domain::access::MedicalKind;
    let request = match read_as(bytes, MedicalRequest::read) {
        Ok(r) => r,
        Err(r) => return Ok(Err(r)),
    };
    if let Err(r) = own_institution(link, &request.medical_institution_code) {
        return Ok(Err(r));
    }
    let pdf_font = match (request.file_category.is_pdf(), pdf_font) {
        (false, _) => None,
        (true, Some(font)) => Some(font),
        (true, None) => {
            return Ok(Err(Rejection::new(
                RejectionKind::PdfUnavailable,
                format!(
                    "XmlMsg/MessageBody/FileCategory {}（PDF）: このサーバーには日本語フォントがありません",
                    request.file_category.code()
                ),
            )));
        }
    };
    let drugs = name.kind == RequestKind::DrugInformation;
    let kinds: &[MedicalKind] = if !drugs {
        &[MedicalKind::Checkups]
    } else if request.file_category.with_clinical() {
        &[MedicalKind::Drugs, MedicalKind::Clinical]
    } else {
        &[MedicalKind::Drugs]
    };
    let header = |refusal: Option<String>| MedicalHeader {
        process_execution_time: now.with_timezone(&jst()).naive_local(),
        medical_institution_code: link.institution_code.clone(),
        arbitrary_file_identifier: request.arbitrary_file_identifier.clone(),
        refusal,
        character_code: link.character_code,
    };
    let found = person_by_card_data(
        store,
        &request.insurer_number,
        &request.symbol,
        &request.number,
        request.branch,
        "XmlMsg/MessageHeader",
    )
    .await?;
    let (person_id, refusal) = match found {
        Err(r) => (None, Some(r.message().to_owned())),
        Ok(id) => {
            let latest = store.latest_consent(link.institution_id, id).await?;
            let standing = super::certificate_standing(store, id, now).await?;
            let refusal = kinds
                .iter()
                .find_map(|k| k.access(latest.as_ref(), standing, now).err())
                .map(|e| e.to_string());
            (Some(id), refusal)
        }
    };
    store
        .audit(
            &link_event(
                link,
                "oqs.medical",
                if refusal.is_some() { "refused" } else { "ok" },
                person_id,
                json!({"message": name.kind.as_str(), "file_category": request.file_category.code()}),
            ),
            now,
        )
        .await?;
    let (Some(id), None) = (person_id, &refusal) else {
        let bytes = if drugs {
            DrugResult {
                header: header(refusal),
                patient: None,
                drugs: Vec::new(),
                clinical: Vec::new(),
            }
            .write()
        } else {
            CheckupResultFile {
                header: header(refusal),
                patient: None,
                checkups: Vec::new(),
            }
            .write()
        };
        return Ok(Ok(Exchange::Result {
            name: name.result("xml"),
            bytes,
        }));
    };
    let Some(e) = store.eligibility(id).await? else {
        return Err(ServiceError::Internal("a person found is not there".into()));
    };
    let patient = Patient {
        name: e.person.name.clone(),
        kana: halfwidth_kana(&e.person.name_kana),
        birth: e.person.birth_date,
        sex: e.person.sex,
    };
    let bytes = if drugs {
        let today = jst_day(now);
        let this_month = today.with_day(1).unwrap_or(today);
        let from = request.start.unwrap_or_else(|| {
            this_month
                .checked_sub_months(Months::new(2))
                .unwrap_or(this_month)
        });
        let last = request
            .end
            .unwrap_or(this_month)
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or(today);
        let mut history = store.drug_history(id, from, last).await?;
        history.reverse();
        let mut days: Vec<DrugDay> = Vec::new();
        for d in history {
            let drug = Drug {
                name: d.drug_name,
                ingredient: d.generic_name,
                quantity: format!("{}", d.quantity),
                unit: d.unit,
                usage: d.dosage,
                times: d.times,
            };
            match days.last_mut() {
                Some(day)
                    if day.date == d.dispensed_on && day.institution == d.institution_name =>
                {
                    day.drugs.push(drug);
                }
                _ => days.push(DrugDay {
                    date: d.dispensed_on,
                    institution: d.institution_name,
                    drugs: vec![drug],
                }),
            }
        }
        let mut clinical: Vec<ClinicalDay> = Vec::new();
        if request.file_category.with_clinical() {
            let latest = store.latest_consent(link.institution_id, id).await?;
            let mut events: Vec<_> = store
                .clinical_events(id)
                .await?
                .into_iter()
                .filter(|c| c.occurred_on >= from && c.occurred_on <= last)
                .filter(|c| {
                    zaitaku_domain::consent::permits(latest.as_ref(), c.kind.consent_item(), now)
                })
                .collect();
            events.sort_by_key(|c| c.occurred_on);
            for c in events {
                match clinical.last_mut() {
                    Some(day)
                        if day.date == c.occurred_on && day.institution == c.institution_name =>
                    {
                        day.events.push((c.name, c.detail));
                    }
                    _ => clinical.push(ClinicalDay {
                        date: c.occurred_on,
                        institution: c.institution_name,
                        events: vec![(c.name, c.detail)],
                    }),
                }
            }
        }
        let result = DrugResult {
            header: header(None),
            patient: Some(patient),
            drugs: days,
            clinical,
        };
        match pdf_font {
            None => Ok(result.write()),
            Some(font) => {
                let (font, clinical) = (font.clone(), request.file_category.with_clinical());
                rendered(move || pdf::drug_information(&result, (from, last), clinical, &font))
                    .await?
            }
        }
    } else {
        let mut checkups: Vec<Checkup> = store
            .checkups(id)
            .await?
            .iter()
            .map(|c| Checkup {
                on: c.examined_on,
                items: checkup_items(c),
            })
            .collect();
        checkups.sort_by_key(|c| c.on);
        let result = CheckupResultFile {
            header: header(None),
            patient: Some(patient),
            checkups,
        };
        match pdf_font {
            None => Ok(result.write()),
            Some(font) => {
                let font = font.clone();
                rendered(move || pdf::checkup_information(&result, &font)).await?
            }
        }
    };
    match bytes {
        Ok(bytes) => Ok(Ok(Exchange::Result {
            name: name.result(if pdf_font.is_some() { "pdf" } else { "xml" }),
            bytes,
        })),
        Err(e) => Ok(Err(Rejection::new(
            RejectionKind::PdfUnavailable,
            e.to_string(),
        ))),
    }
}

/// A PDF laid out and its font subset on a blocking thread: tens of
/// milliseconds of work that would otherwise hold up the requests sharing
/// this worker.
async fn rendered(
    render: impl FnOnce() -> Result<Vec<u8>, pdf::PdfError> + Send + 'static,
) -> Result<Result<Vec<u8>, pdf::PdfError>, ServiceError> {
    tokio::task::spawn_blocking(render)
        .await
        .map_err(|e| ServiceError::Internal(format!("PDF rendering stopped: {e}")))
}

/// A person's answer when the card (not card data) named them: the
/// qualification as of `day`, the flags of `consent` as they stood at `at`
/// (`expired_as_2` in the 訪問診療等・オンライン診療等 results), the
/// prescription form while that consent holds, and the institution's
/// 照会番号.
pub(crate) async fn answer_for_person(
    store: &Store,
    link: &Link,
    person_id: i64,
    day: NaiveDate,
    consent: Option<&ConsentRecord>,
    at: DateTime<Utc>,
    expired_as_2: bool,
) -> Result<PersonAnswer, ServiceError> {
    let Some(e) = store.eligibility(person_id).await? else {
        return Ok(PersonAnswer::empty(QualificationValidity::NotFound));
    };
    let reference = store
        .patient_notes(link.institution_id, person_id)
        .await?
        .reference_number;
    let resolved = e.resolve(day);
    let results = resolved
        .qualification
        .map(|q| {
            let mut r =
                qualification_result(&e, q, day, Flags::of_consent(consent, at, expired_as_2));
            r.reference_number = reference.clone();
            r
        })
        .into_iter()
        .collect();
    Ok(PersonAnswer {
        prescription: consent
            .filter(|r| ConsentState::of(Some(r), at) == ConsentState::InForce)
            .and_then(|r| r.prescription_form),
        results,
        ..PersonAnswer::empty(resolved.validity)
    })
}
