//! The parts every qualification message shares (別紙3-1): the result
//! header, the search information a request sends and a result echoes
//! (`QualificationConfirmSearchInfo`), and one person's qualification
//! (`ResultOfQualificationConfirmation`) with its certificates and consent
//! flags. Each part reads itself from a parsed file and writes itself in
//! the layout's order.

use chrono::{NaiveDate, NaiveDateTime};
use zaitaku_domain::codes::{
    BurdenRatio, ConsentFlag, InsuredCardClassification, LimitApplicationClassification,
    LimitClass, PersonalFamily, PrescriptionForm, ProcessingResultStatus, QualificationValidity,
    ReasonOfLoss, ReferenceClassification, SegmentOfResult, Sex, SpecificDisease,
};
use zaitaku_domain::eligibility::{PayerNumber, RecipientNumber};
use zaitaku_domain::error::ValidationError;
use zaitaku_domain::institution::InstitutionCode;
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};

use super::fields::{Node, parse_text};
use super::reader::{CharacterCode, Document};
use super::rejection::{Rejection, RejectionKind};
use super::writer::XmlWriter;

/// `XmlMsg` with its `MessageHeader` and `MessageBody`.
pub(crate) fn message(doc: &Document) -> Result<(Node<'_>, Node<'_>), Rejection> {
    let root = Node::root(&doc.root);
    if doc.root.name != "XmlMsg" {
        return Err(Rejection::new(RejectionKind::Layout, doc.root.name.clone()));
    }
    let header = root
        .child("MessageHeader")?
        .ok_or_else(|| Rejection::new(RejectionKind::Layout, "XmlMsg/MessageHeader"))?;
    let body = root
        .child("MessageBody")?
        .ok_or_else(|| Rejection::new(RejectionKind::Layout, "XmlMsg/MessageBody"))?;
    Ok((header, body))
}

/// A request's `CharacterCodeIdentifier`, when it gives one, must name the
/// encoding the file is written in.
pub(crate) fn check_declared(doc: &Document, header: &Node<'_>) -> Result<(), Rejection> {
    let Some(given) = header.optional("CharacterCodeIdentifier")? else {
        return Ok(());
    };
    match CharacterCode::from_identifier(given) {
        Some(c) if c == doc.encoding => Ok(()),
        Some(_) => Err(Rejection::new(
            RejectionKind::EncodingMismatch,
            format!(
                "CharacterCodeIdentifier {given}, XML宣言 {}",
                doc.encoding.declared_name()
            ),
        )),
        None => Err(Rejection::new(
            RejectionKind::UnknownCode,
            format!("XmlMsg/MessageHeader/CharacterCodeIdentifier: {given}"),
        )),
    }
}

pub(crate) fn institution_code(s: &str) -> Result<InstitutionCode, ValidationError> {
    InstitutionCode::parse(s)
}

/// An 8-character insurer number; a 6-digit 国保 number right-aligned with
/// spaces, as the interface writes it.
pub fn insurer_field(n: &InsurerNumber) -> String {
    format!("{:>8}", n.as_str())
}

pub fn branch_field(b: BranchNumber) -> String {
    format!("{:02}", b.value())
}

fn flag01(s: &str) -> Result<bool, ValidationError> {
    match s.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(ValidationError::UnknownCode {
            field: "同意フラグ",
            value: other.to_owned(),
        }),
    }
}

fn yen(s: &str) -> Result<u32, ValidationError> {
    let t = s.trim();
    if t.is_empty() || t.len() > 9 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::DigitsLength {
            field: "金額",
            expected: "1〜9",
        });
    }
    t.parse().map_err(|_| ValidationError::DigitsLength {
        field: "金額",
        expected: "1〜9",
    })
}

/// The counters of a batch result's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// NumberOfProcessingResult.
    pub total: u32,
    /// NumberOfNormalProcessing.
    pub normal: u32,
    /// NumberOfError.
    pub error: u32,
}

/// `MessageHeader` of a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultHeader {
    /// 処理実行日時 (Japan time).
    pub process_execution_time: NaiveDateTime,
    /// 資格確認日.
    pub qualification_confirmation_date: Option<NaiveDate>,
    pub medical_institution_code: InstitutionCode,
    /// The request's, echoed: how a receipt computer matches the result.
    pub arbitrary_file_identifier: Option<String>,
    pub reference_classification: Option<ReferenceClassification>,
    /// 受付番号 of a batch.
    pub reception_number: Option<String>,
    pub segment_of_result: SegmentOfResult,
    /// ErrorCode and ErrorMessage, when SegmentOfResult is not 1.
    pub error: Option<(String, String)>,
    pub counts: Option<Counts>,
    pub character_code: CharacterCode,
}

impl ResultHeader {
    pub fn write(&self, w: &mut XmlWriter) {
        w.open("MessageHeader");
        w.date_time("ProcessExecutionTime", self.process_execution_time);
        w.optional_date(
            "QualificationConfirmationDate",
            self.qualification_confirmation_date,
        );
        w.leaf(
            "MedicalInstitutionCode",
            self.medical_institution_code.as_str(),
        );
        w.optional(
            "ArbitraryFileIdentifier",
            self.arbitrary_file_identifier.as_deref(),
        );
        w.optional(
            "ReferenceClassification",
            self.reference_classification.map(|c| c.code()),
        );
        w.optional("ReceptionNumber", self.reception_number.as_deref());
        w.leaf("SegmentOfResult", self.segment_of_result.code());
        if let Some((code, message)) = &self.error {
            w.leaf("ErrorCode", code);
            w.leaf("ErrorMessage", message);
        }
        if let Some(c) = self.counts {
            w.leaf("NumberOfProcessingResult", &c.total.to_string());
            w.leaf("NumberOfNormalProcessing", &c.normal.to_string());
            w.leaf("NumberOfError", &c.error.to_string());
        }
        w.leaf("CharacterCodeIdentifier", self.character_code.identifier());
        w.close("MessageHeader");
    }

    pub fn read(doc: &Document, h: &Node<'_>) -> Result<Self, Rejection> {
        let character_code = h.required_by("CharacterCodeIdentifier", |t| {
            CharacterCode::from_identifier(t).ok_or(ValidationError::UnknownCode {
                field: "文字コード識別",
                value: t.to_owned(),
            })
        })?;
        check_declared(doc, h)?;
        let count = |name: &str| -> Result<Option<u32>, Rejection> {
            h.optional_by(name, |t| {
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| ValidationError::DigitsLength {
                        field: "件数",
                        expected: "1〜9",
                    })
            })
        };
        let counts = match (
            count("NumberOfProcessingResult")?,
            count("NumberOfNormalProcessing")?,
            count("NumberOfError")?,
        ) {
            (Some(total), Some(normal), Some(error)) => Some(Counts {
                total,
                normal,
                error,
            }),
            _ => None,
        };
        let error = match (h.optional("ErrorCode")?, h.optional("ErrorMessage")?) {
            (Some(c), m) => Some((c.to_owned(), m.unwrap_or_default().to_owned())),
            _ => None,
        };
        Ok(Self {
            process_execution_time: h.optional_date_time("ProcessExecutionTime")?.ok_or_else(
                || {
                    Rejection::new(
                        RejectionKind::Missing,
                        "XmlMsg/MessageHeader/ProcessExecutionTime",
                    )
                },
            )?,
            qualification_confirmation_date: h.optional_date("QualificationConfirmationDate")?,
            medical_institution_code: h.required_by("MedicalInstitutionCode", institution_code)?,
            arbitrary_file_identifier: h.optional("ArbitraryFileIdentifier")?.map(str::to_owned),
            reference_classification: h
                .optional_by("ReferenceClassification", ReferenceClassification::parse)?,
            reception_number: h.optional("ReceptionNumber")?.map(str::to_owned),
            segment_of_result: h.required_by("SegmentOfResult", SegmentOfResult::parse)?,
            error,
            counts,
            character_code,
        })
    }
}

/// `QualificationConfirmSearchInfo` of a request: who is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchInfo {
    pub insurer_number: InsurerNumber,
    /// 記号, empty when the card has none; leading zeros kept.
    pub symbol: String,
    /// 番号, leading zeros kept.
    pub number: String,
    pub branch: Option<BranchNumber>,
    pub birthdate: NaiveDate,
    /// LimitApplicationCertificateRelatedConsFlg: the patient agreed, at the
    /// counter, that the 限度額 information be given.
    pub limit_consent: bool,
    /// ArbitraryIdentifier: the receipt computer's own key for the person.
    pub arbitrary_identifier: Option<String>,
}

/// The search information exactly as sent, echoed in the result, whether
/// or not it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchEcho {
    pub insurer_number: Option<String>,
    pub symbol: Option<String>,
    pub number: Option<String>,
    pub branch: Option<String>,
    pub birthdate: Option<String>,
    pub limit_consent: Option<String>,
    pub arbitrary_identifier: Option<String>,
}

const SEARCH_FIELDS: [&str; 7] = [
    "InsurerNumber",
    "InsuredCardSymbol",
    "InsuredIdentificationNumber",
    "InsuredBranchNumber",
    "Birthdate",
    "LimitApplicationCertificateRelatedConsFlg",
    "ArbitraryIdentifier",
];

impl SearchEcho {
    fn fields(&self) -> [&Option<String>; 7] {
        [
            &self.insurer_number,
            &self.symbol,
            &self.number,
            &self.branch,
            &self.birthdate,
            &self.limit_consent,
            &self.arbitrary_identifier,
        ]
    }

    /// Reads what was sent, without judging it (a value given twice is
    /// echoed once; [`SearchInfo::read`] refuses it).
    pub fn read(n: &Node<'_>) -> Result<Self, Rejection> {
        let raw = |name: &str| -> Result<Option<String>, Rejection> {
            Ok(n.element
                .children_named(name)
                .next()
                .map(|c| c.text.clone()))
        };
        Ok(Self {
            insurer_number: raw(SEARCH_FIELDS[0])?,
            symbol: raw(SEARCH_FIELDS[1])?,
            number: raw(SEARCH_FIELDS[2])?,
            branch: raw(SEARCH_FIELDS[3])?,
            birthdate: raw(SEARCH_FIELDS[4])?,
            limit_consent: raw(SEARCH_FIELDS[5])?,
            arbitrary_identifier: raw(SEARCH_FIELDS[6])?,
        })
    }

    pub fn write(&self, w: &mut XmlWriter) {
        w.open("QualificationConfirmSearchInfo");
        for (name, value) in SEARCH_FIELDS.iter().zip(self.fields()) {
            w.optional(name, value.as_deref());
        }
        w.close("QualificationConfirmSearchInfo");
    }
}

impl SearchInfo {
    pub fn read(n: &Node<'_>) -> Result<Self, Rejection> {
        Ok(Self {
            insurer_number: n.required_by("InsurerNumber", InsurerNumber::parse)?,
            symbol: n
                .optional_by("InsuredCardSymbol", |t| {
                    zaitaku_domain::insurer::validate_symbol_or_number("記号", t, false)
                })?
                .unwrap_or_default(),
            number: n.required_by("InsuredIdentificationNumber", |t| {
                zaitaku_domain::insurer::validate_symbol_or_number("番号", t, true)
            })?,
            branch: n.optional_by("InsuredBranchNumber", BranchNumber::parse)?,
            birthdate: n.required_date("Birthdate")?,
            limit_consent: n.required_by("LimitApplicationCertificateRelatedConsFlg", flag01)?,
            arbitrary_identifier: n.optional_by("ArbitraryIdentifier", parse_text(100))?,
        })
    }

    pub fn echo(&self) -> SearchEcho {
        SearchEcho {
            insurer_number: Some(insurer_field(&self.insurer_number)),
            symbol: (!self.symbol.is_empty()).then(|| self.symbol.clone()),
            number: Some(self.number.clone()),
            branch: self.branch.map(branch_field),
            birthdate: Some(self.birthdate.format(super::fields::DATE).to_string()),
            limit_consent: Some(if self.limit_consent { "1" } else { "0" }.to_owned()),
            arbitrary_identifier: self.arbitrary_identifier.clone(),
        }
    }

    pub fn write(&self, w: &mut XmlWriter) {
        self.echo().write(w);
    }
}

/// A consent flag with the moment it was given and until when it holds
/// (…ConsFlg, …ConsTime, …AvailableTime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentTriple {
    pub flag: ConsentFlag,
    pub cons_time: Option<NaiveDateTime>,
    pub available_time: Option<NaiveDateTime>,
}

impl ConsentTriple {
    pub const NONE: Self = Self {
        flag: ConsentFlag::None,
        cons_time: None,
        available_time: None,
    };

    fn write(&self, w: &mut XmlWriter, stem: &str) {
        w.leaf(&format!("{stem}ConsFlg"), self.flag.code());
        w.optional_date_time(&format!("{stem}ConsTime"), self.cons_time);
        w.optional_date_time(&format!("{stem}AvailableTime"), self.available_time);
    }

    fn read(n: &Node<'_>, stem: &str) -> Result<Self, Rejection> {
        Ok(Self {
            flag: n
                .optional_by(&format!("{stem}ConsFlg"), ConsentFlag::parse)?
                .unwrap_or(ConsentFlag::None),
            cons_time: n.optional_date_time(&format!("{stem}ConsTime"))?,
            available_time: n.optional_date_time(&format!("{stem}AvailableTime"))?,
        })
    }
}

/// 高齢受給者証 (ElderlyRecipientCertificateInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElderlyInfo {
    pub certificate_date: Option<NaiveDate>,
    pub valid_start: NaiveDate,
    pub valid_end: Option<NaiveDate>,
    pub ratio: BurdenRatio,
}

/// 限度額適用認定証 (LimitApplicationCertificateRelatedInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitInfo {
    pub classification: LimitApplicationClassification,
    pub class: LimitClass,
    pub certificate_date: Option<NaiveDate>,
    pub valid_start: NaiveDate,
    pub valid_end: Option<NaiveDate>,
    pub long_term: Option<NaiveDate>,
}

/// 特定疾病療養受療証 (SpecificDiseasesCertificateInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecificDiseaseInfo {
    pub category: SpecificDisease,
    pub certificate_date: Option<NaiveDate>,
    pub valid_start: NaiveDate,
    pub valid_end: Option<NaiveDate>,
    /// SpecificDiseasesSelfPay: the monthly cap in yen.
    pub self_pay: u32,
}

/// One person's qualification (ResultOfQualificationConfirmation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationResult {
    pub card_classification: InsuredCardClassification,
    pub insurer_number: Option<InsurerNumber>,
    pub symbol: Option<String>,
    pub number: Option<String>,
    pub branch: Option<BranchNumber>,
    pub personal_family: Option<PersonalFamily>,
    /// 被保険者氏名 (the insured person, for a 家族).
    pub insured_name: Option<String>,
    pub name: String,
    /// 氏名カナ in half-width katakana, as the interface writes it.
    pub name_kana: String,
    pub sex: Sex,
    pub birthdate: NaiveDate,
    pub address: Option<String>,
    /// `123-4567`.
    pub post_number: Option<String>,
    pub qualification_date: Option<NaiveDate>,
    pub disqualification_date: Option<NaiveDate>,
    pub issuance_date: Option<NaiveDate>,
    pub valid_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub ratio: Option<BurdenRatio>,
    /// PreschoolClassification 1.
    pub preschool: bool,
    pub reason_of_loss: Option<ReasonOfLoss>,
    pub insurer_name: Option<String>,
    /// 福祉事務所名, for 医療扶助.
    pub welfare_office_name: Option<String>,
    /// 公費負担者番号 (`PublicExpenseNumber`), for 医療扶助.
    pub public_expense_number: Option<PayerNumber>,
    /// 公費受給者番号 (`BeneficiaryNumber`), for 医療扶助.
    pub beneficiary_number: Option<RecipientNumber>,
    pub elderly: Option<ElderlyInfo>,
    pub limit_consent: ConsentTriple,
    pub limit: Option<LimitInfo>,
    pub specific_disease_consent: ConsentTriple,
    pub specific_diseases: Vec<SpecificDiseaseInfo>,
    pub checkups_consent: ConsentTriple,
    pub pharmacists_consent: ConsentTriple,
    pub diagnosis_consent: ConsentTriple,
    pub operation_consent: ConsentTriple,
    /// 照会番号, when the institution registered one.
    pub reference_number: Option<String>,
}

impl QualificationResult {
    pub fn write(&self, w: &mut XmlWriter) {
        w.open("ResultOfQualificationConfirmation");
        w.leaf("InsuredCardClassification", self.card_classification.code());
        w.optional(
            "InsurerNumber",
            self.insurer_number.as_ref().map(insurer_field).as_deref(),
        );
        w.optional("InsuredCardSymbol", self.symbol.as_deref());
        w.optional("InsuredIdentificationNumber", self.number.as_deref());
        w.optional(
            "InsuredBranchNumber",
            self.branch.map(branch_field).as_deref(),
        );
        w.optional(
            "PersonalFamilyClassification",
            self.personal_family.map(|p| p.code()),
        );
        w.optional("InsuredName", self.insured_name.as_deref());
        w.leaf("Name", &self.name);
        w.leaf("NameKana", &self.name_kana);
        w.leaf("Sex1", self.sex.code());
        w.date("Birthdate", self.birthdate);
        w.optional("Address", self.address.as_deref());
        w.optional("PostNumber", self.post_number.as_deref());
        w.optional_date("QualificationDate", self.qualification_date);
        w.optional_date("DisqualificationDate", self.disqualification_date);
        w.optional_date("InsuredCertificateIssuanceDate", self.issuance_date);
        w.optional_date("InsuredCardValidDate", self.valid_date);
        w.optional_date("InsuredCardExpirationDate", self.expiration_date);
        w.optional(
            "InsuredPartialContributionRatio",
            self.ratio.map(|r| r.code()),
        );
        if self.preschool {
            w.leaf("PreschoolClassification", "1");
        }
        w.optional("ReasonOfLoss", self.reason_of_loss.map(|r| r.code()));
        w.optional("InsurerName", self.insurer_name.as_deref());
        w.optional("WelfareOfficeName", self.welfare_office_name.as_deref());
        w.optional(
            "PublicExpenseNumber",
            self.public_expense_number.as_ref().map(PayerNumber::as_str),
        );
        w.optional(
            "BeneficiaryNumber",
            self.beneficiary_number
                .as_ref()
                .map(RecipientNumber::as_str),
        );
        if let Some(e) = &self.elderly {
            w.open("ElderlyRecipientCertificateInfo");
            w.optional_date("ElderlyRecipientCertificateDate", e.certificate_date);
            w.date("ElderlyRecipientValidStartDate", e.valid_start);
            w.optional_date("ElderlyRecipientValidEndDate", e.valid_end);
            w.leaf("ElderlyRecipientContributionRatio", e.ratio.code());
            w.close("ElderlyRecipientCertificateInfo");
        }
        self.limit_consent
            .write(w, "LimitApplicationCertificateRelated");
        if let Some(l) = &self.limit {
            w.open("LimitApplicationCertificateRelatedInfo");
            w.leaf(
                "LimitApplicationCertificateClassification",
                l.classification.code(),
            );
            w.leaf(
                "LimitApplicationCertificateClassificationFlag",
                l.class.code(),
            );
            w.optional_date("LimitApplicationCertificateDate", l.certificate_date);
            w.date("LimitApplicationCertificateValidStartDate", l.valid_start);
            w.optional_date("LimitApplicationCertificateValidEndDate", l.valid_end);
            w.optional_date("LimitApplicationCertificateLongTermDate", l.long_term);
            w.close("LimitApplicationCertificateRelatedInfo");
        }
        self.specific_disease_consent
            .write(w, "SpecificDiseasesCertificateRelated");
        if !self.specific_diseases.is_empty() {
            w.open("SpecificDiseasesCertificateList");
            for s in &self.specific_diseases {
                w.open("SpecificDiseasesCertificateInfo");
                w.leaf("SpecificDiseasesDiseaseCategory", s.category.code());
                w.optional_date("SpecificDiseasesCertificateDate", s.certificate_date);
                w.date("SpecificDiseasesValidStartDate", s.valid_start);
                w.optional_date("SpecificDiseasesValidEndDate", s.valid_end);
                w.leaf("SpecificDiseasesSelfPay", &s.self_pay.to_string());
                w.close("SpecificDiseasesCertificateInfo");
            }
            w.close("SpecificDiseasesCertificateList");
        }
        self.checkups_consent.write(w, "SpecificHealthCheckupsInfo");
        self.pharmacists_consent.write(w, "PharmacistsInfo");
        self.diagnosis_consent.write(w, "DiagnosisInfo");
        self.operation_consent.write(w, "OperationInfo");
        w.optional("ReferenceNumber", self.reference_number.as_deref());
        w.close("ResultOfQualificationConfirmation");
    }

    pub fn read(n: &Node<'_>) -> Result<Self, Rejection> {
        let text = |name: &str| -> Result<Option<String>, Rejection> {
            Ok(n.optional(name)?.map(str::to_owned))
        };
        let elderly = match n.child("ElderlyRecipientCertificateInfo")? {
            None => None,
            Some(e) => Some(ElderlyInfo {
                certificate_date: e.optional_date("ElderlyRecipientCertificateDate")?,
                valid_start: e.required_date("ElderlyRecipientValidStartDate")?,
                valid_end: e.optional_date("ElderlyRecipientValidEndDate")?,
                ratio: e.required_by("ElderlyRecipientContributionRatio", BurdenRatio::parse)?,
            }),
        };
        let limit = match n.child("LimitApplicationCertificateRelatedInfo")? {
            None => None,
            Some(l) => Some(LimitInfo {
                classification: l.required_by(
                    "LimitApplicationCertificateClassification",
                    LimitApplicationClassification::parse,
                )?,
                class: l.required_by(
                    "LimitApplicationCertificateClassificationFlag",
                    LimitClass::parse,
                )?,
                certificate_date: l.optional_date("LimitApplicationCertificateDate")?,
                valid_start: l.required_date("LimitApplicationCertificateValidStartDate")?,
                valid_end: l.optional_date("LimitApplicationCertificateValidEndDate")?,
                long_term: l.optional_date("LimitApplicationCertificateLongTermDate")?,
            }),
        };
        let mut specific_diseases = Vec::new();
        if let Some(list) = n.child("SpecificDiseasesCertificateList")? {
            for s in list.each("SpecificDiseasesCertificateInfo") {
                specific_diseases.push(SpecificDiseaseInfo {
                    category: s
                        .required_by("SpecificDiseasesDiseaseCategory", SpecificDisease::parse)?,
                    certificate_date: s.optional_date("SpecificDiseasesCertificateDate")?,
                    valid_start: s.required_date("SpecificDiseasesValidStartDate")?,
                    valid_end: s.optional_date("SpecificDiseasesValidEndDate")?,
                    self_pay: s.required_by("SpecificDiseasesSelfPay", yen)?,
                });
            }
        }
        Ok(Self {
            card_classification: n.required_by(
                "InsuredCardClassification",
                InsuredCardClassification::parse,
            )?,
            insurer_number: n.optional_by("InsurerNumber", InsurerNumber::parse)?,
            symbol: text("InsuredCardSymbol")?,
            number: text("InsuredIdentificationNumber")?,
            branch: n.optional_by("InsuredBranchNumber", BranchNumber::parse)?,
            personal_family: n
                .optional_by("PersonalFamilyClassification", PersonalFamily::parse)?,
            insured_name: text("InsuredName")?,
            name: n.required("Name")?.to_owned(),
            name_kana: n.required("NameKana")?.to_owned(),
            sex: n.required_by("Sex1", Sex::parse)?,
            birthdate: n.required_date("Birthdate")?,
            address: text("Address")?,
            post_number: text("PostNumber")?,
            qualification_date: n.optional_date("QualificationDate")?,
            disqualification_date: n.optional_date("DisqualificationDate")?,
            issuance_date: n.optional_date("InsuredCertificateIssuanceDate")?,
            valid_date: n.optional_date("InsuredCardValidDate")?,
            expiration_date: n.optional_date("InsuredCardExpirationDate")?,
            ratio: n.optional_by("InsuredPartialContributionRatio", BurdenRatio::parse)?,
            preschool: n.optional("PreschoolClassification")? == Some("1"),
            reason_of_loss: n.optional_by("ReasonOfLoss", ReasonOfLoss::parse)?,
            insurer_name: text("InsurerName")?,
            welfare_office_name: text("WelfareOfficeName")?,
            public_expense_number: n.optional_by("PublicExpenseNumber", PayerNumber::parse)?,
            beneficiary_number: n.optional_by("BeneficiaryNumber", RecipientNumber::parse)?,
            elderly,
            limit_consent: ConsentTriple::read(n, "LimitApplicationCertificateRelated")?,
            limit,
            specific_disease_consent: ConsentTriple::read(n, "SpecificDiseasesCertificateRelated")?,
            specific_diseases,
            checkups_consent: ConsentTriple::read(n, "SpecificHealthCheckupsInfo")?,
            pharmacists_consent: ConsentTriple::read(n, "PharmacistsInfo")?,
            diagnosis_consent: ConsentTriple::read(n, "DiagnosisInfo")?,
            operation_consent: ConsentTriple::read(n, "OperationInfo")?,
            reference_number: text("ReferenceNumber")?,
        })
    }
}

/// One person's answer: status, validity, qualifications and the echo.
/// The body of an individual result and of a face file, and one
/// `BulkConfirmUnit` of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonAnswer {
    /// PrescriptionIssueSelect (body level; individual and face files).
    pub prescription: Option<PrescriptionForm>,
    pub status: ProcessingResultStatus,
    /// ProcessingResultCode and ProcessingResultMessage.
    pub note: Option<(String, String)>,
    pub validity: Option<QualificationValidity>,
    pub results: Vec<QualificationResult>,
    pub search: Option<SearchEcho>,
}

impl PersonAnswer {
    /// Done, with this validity and nothing else yet.
    pub fn empty(validity: QualificationValidity) -> Self {
        Self {
            prescription: None,
            status: ProcessingResultStatus::Done,
            note: None,
            validity: Some(validity),
            results: Vec::new(),
            search: None,
        }
    }

    /// A person whose search information was refused.
    pub fn refused(rejection: &Rejection, search: Option<SearchEcho>) -> Self {
        Self {
            prescription: None,
            status: ProcessingResultStatus::Error,
            note: Some((
                rejection.code().to_owned(),
                format!("{}（{}）", rejection.message(), rejection.detail),
            )),
            validity: None,
            results: Vec::new(),
            search,
        }
    }

    /// Writes the answer's elements; `wrap` puts the results in a
    /// `ResultList` (individual and face files) or not (`BulkConfirmUnit`).
    pub fn write_fields(&self, w: &mut XmlWriter, wrap: bool) {
        w.optional(
            "PrescriptionIssueSelect",
            self.prescription.map(|p| p.code()),
        );
        w.leaf("ProcessingResultStatus", self.status.code());
        if let Some((code, message)) = &self.note {
            w.leaf("ProcessingResultCode", code);
            w.leaf("ProcessingResultMessage", message);
        }
        w.optional("QualificationValidity", self.validity.map(|v| v.code()));
        if wrap {
            w.open("ResultList");
        }
        for r in &self.results {
            r.write(w);
        }
        if wrap {
            w.close("ResultList");
        }
        if let Some(s) = &self.search {
            s.write(w);
        }
    }

    /// Reads an answer; results are taken from a `ResultList` or directly
    /// from the node, whichever the file has.
    pub fn read(n: &Node<'_>) -> Result<Self, Rejection> {
        let mut results = Vec::new();
        if let Some(list) = n.child("ResultList")? {
            for r in list.each("ResultOfQualificationConfirmation") {
                results.push(QualificationResult::read(&r)?);
            }
        }
        for r in n.each("ResultOfQualificationConfirmation") {
            results.push(QualificationResult::read(&r)?);
        }
        let note = match n.optional("ProcessingResultCode")? {
            Some(c) => Some((
                c.to_owned(),
                n.optional("ProcessingResultMessage")?
                    .unwrap_or_default()
                    .to_owned(),
            )),
            None => None,
        };
        Ok(Self {
            prescription: n.optional_by("PrescriptionIssueSelect", PrescriptionForm::parse)?,
            status: n.required_by("ProcessingResultStatus", ProcessingResultStatus::parse)?,
            note,
            validity: n.optional_by("QualificationValidity", QualificationValidity::parse)?,
            results,
            search: match n.child("QualificationConfirmSearchInfo")? {
                Some(s) => Some(SearchEcho::read(&s)?),
                None => None,
            },
        })
    }
}

/// Full-width katakana (and the ideographic space) as the half-width
/// katakana the interface's NameKana carries: ガ becomes ｶﾞ. Anything
/// without a half-width form is kept.
pub fn halfwidth_kana(s: &str) -> String {
    const BASE: &str = "ァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴ";
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        match c {
            '\u{3000}' => out.push(' '),
            'ー' => out.push('ｰ'),
            '・' => out.push('･'),
            'ヴ' => out.push_str("ｳﾞ"),
            c if BASE.contains(c) => out.push_str(halfwidth_one(c)),
            c => out.push(c),
        }
    }
    out
}

fn halfwidth_one(c: char) -> &'static str {
    match c {
        'ァ' => "ｧ",
        'ア' => "ｱ",
        'ィ' => "ｨ",
        'イ' => "ｲ",
        'ゥ' => "ｩ",
        'ウ' => "ｳ",
        'ェ' => "ｪ",
        'エ' => "ｴ",
        'ォ' => "ｫ",
        'オ' => "ｵ",
        'カ' => "ｶ",
        'ガ' => "ｶﾞ",
        'キ' => "ｷ",
        'ギ' => "ｷﾞ",
        'ク' => "ｸ",
        'グ' => "ｸﾞ",
        'ケ' => "ｹ",
        'ゲ' => "ｹﾞ",
        'コ' => "ｺ",
        'ゴ' => "ｺﾞ",
        'サ' => "ｻ",
        'ザ' => "ｻﾞ",
        'シ' => "ｼ",
        'ジ' => "ｼﾞ",
        'ス' => "ｽ",
        'ズ' => "ｽﾞ",
        'セ' => "ｾ",
        'ゼ' => "ｾﾞ",
        'ソ' => "ｿ",
        'ゾ' => "ｿﾞ",
        'タ' => "ﾀ",
        'ダ' => "ﾀﾞ",
        'チ' => "ﾁ",
        'ヂ' => "ﾁﾞ",
        'ッ' => "ｯ",
        'ツ' => "ﾂ",
        'ヅ' => "ﾂﾞ",
        'テ' => "ﾃ",
        'デ' => "ﾃﾞ",
        'ト' => "ﾄ",
        'ド' => "ﾄﾞ",
        'ナ' => "ﾅ",
        'ニ' => "ﾆ",
        'ヌ' => "ﾇ",
        'ネ' => "ﾈ",
        'ノ' => "ﾉ",
        'ハ' => "ﾊ",
        'バ' => "ﾊﾞ",
        'パ' => "ﾊﾟ",
        'ヒ' => "ﾋ",
        'ビ' => "ﾋﾞ",
        'ピ' => "ﾋﾟ",
        'フ' => "ﾌ",
        'ブ' => "ﾌﾞ",
        'プ' => "ﾌﾟ",
        'ヘ' => "ﾍ",
        'ベ' => "ﾍﾞ",
        'ペ' => "ﾍﾟ",
        'ホ' => "ﾎ",
        'ボ' => "ﾎﾞ",
        'ポ' => "ﾎﾟ",
        'マ' => "ﾏ",
        'ミ' => "ﾐ",
        'ム' => "ﾑ",
        'メ' => "ﾒ",
        'モ' => "ﾓ",
        'ャ' => "ｬ",
        'ヤ' => "ﾔ",
        'ュ' => "ｭ",
        'ユ' => "ﾕ",
        'ョ' => "ｮ",
        'ヨ' => "ﾖ",
        'ラ' => "ﾗ",
        'リ' => "ﾘ",
        'ル' => "ﾙ",
        'レ' => "ﾚ",
        'ロ' => "ﾛ",
        'ヮ' => "ﾜ",
        'ワ' => "ﾜ",
        'ヰ' => "ｲ",
        'ヱ' => "ｴ",
        'ヲ' => "ｦ",
        'ン' => "ﾝ",
        _ => "",
    }
}
