//! 薬剤情報 (`YZKsiquc01req_` → `YZKsiquc01res_`) and 特定健診情報
//! (`TKKsiquc01req_` → `TKKsiquc01res_`) as files (reference §(e)). Their
//! request names the patient in the header with names of its own
//! (`InsuranceCardSymbol`, `InsuredPersonIdentificationNumber`,
//! `BranchNumber`); the result says `ResultCode` 1 and carries the
//! information, or 2 with the reason in `MessageContents`.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use zaitaku_domain::codes::{MedicalTreatmentFlag, Sex};
use zaitaku_domain::error::ValidationError;
use zaitaku_domain::institution::InstitutionCode;
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber, validate_symbol_or_number};

use super::fields::{Node, parse_text};
use super::individual::MAX_FILE_IDENTIFIER;
use super::qualification::{
    branch_field, check_declared, institution_code, insurer_field, message,
};
use super::reader::{CharacterCode, Document};
use super::rejection::{Rejection, RejectionKind};
use super::writer::XmlWriter;

/// `FileCategory`: what the result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileCategory {
    /// 1: PDF.
    Pdf,
    /// 2: XML.
    Xml,
    /// 3: 薬剤情報 and 診療情報, PDF.
    PdfWithClinical,
    /// 4: 薬剤情報 and 診療情報, XML.
    XmlWithClinical,
}

impl FileCategory {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pdf => "1",
            Self::Xml => "2",
            Self::PdfWithClinical => "3",
            Self::XmlWithClinical => "4",
        }
    }

    fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.trim() {
            "1" => Ok(Self::Pdf),
            "2" => Ok(Self::Xml),
            "3" => Ok(Self::PdfWithClinical),
            "4" => Ok(Self::XmlWithClinical),
            other => Err(ValidationError::UnknownCode {
                field: "ファイル種別",
                value: other.to_owned(),
            }),
        }
    }

    pub fn is_pdf(self) -> bool {
        matches!(self, Self::Pdf | Self::PdfWithClinical)
    }

    pub fn with_clinical(self) -> bool {
        matches!(self, Self::PdfWithClinical | Self::XmlWithClinical)
    }
}

/// A month written `yyyyMM`, as its first day.
fn parse_month(s: &str) -> Result<NaiveDate, ValidationError> {
    let t = s.trim();
    let bad = || ValidationError::DigitsLength {
        field: "年月",
        expected: "6（yyyyMM）",
    };
    if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let y: i32 = t[..4].parse().map_err(|_| bad())?;
    let m: u32 = t[4..].parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
}

fn month_field(d: NaiveDate) -> String {
    format!("{:04}{:02}", d.year(), d.month())
}

/// A 薬剤情報 or 特定健診情報 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalRequest {
    pub medical_institution_code: InstitutionCode,
    pub insurer_number: InsurerNumber,
    pub symbol: String,
    pub number: String,
    pub branch: Option<BranchNumber>,
    pub arbitrary_file_identifier: Option<String>,
    /// StartDate / EndDate (`yyyyMM`, 薬剤情報 only), as first days.
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub file_category: FileCategory,
    pub treatment: Option<MedicalTreatmentFlag>,
}

impl MedicalRequest {
    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (h, b) = message(doc)?;
        check_declared(doc, &h)?;
        let start = b.optional_by("StartDate", parse_month)?;
        let end = b.optional_by("EndDate", parse_month)?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(Rejection::new(
                RejectionKind::Format,
                format!(
                    "XmlMsg/MessageBody/StartDate {} > EndDate {}",
                    month_field(s),
                    month_field(e)
                ),
            ));
        }
        Ok(Self {
            medical_institution_code: h.required_by("MedicalInstitutionCode", institution_code)?,
            insurer_number: h.required_by("InsurerNumber", InsurerNumber::parse)?,
            symbol: h
                .optional_by("InsuranceCardSymbol", |t| {
                    validate_symbol_or_number("記号", t, false)
                })?
                .unwrap_or_default(),
            number: h.required_by("InsuredPersonIdentificationNumber", |t| {
                validate_symbol_or_number("番号", t, true)
            })?,
            branch: h.optional_by("BranchNumber", BranchNumber::parse)?,
            arbitrary_file_identifier: h
                .optional_by("ArbitraryFileIdentifier", parse_text(MAX_FILE_IDENTIFIER))?,
            start,
            end,
            file_category: b.required_by("FileCategory", FileCategory::parse)?,
            treatment: b.optional_by("MedicalTreatmentFlag", MedicalTreatmentFlag::parse)?,
        })
    }

    pub fn write(&self, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(512);
        w.open("MessageHeader");
        w.leaf(
            "MedicalInstitutionCode",
            self.medical_institution_code.as_str(),
        );
        w.leaf("InsurerNumber", &insurer_field(&self.insurer_number));
        w.optional(
            "InsuranceCardSymbol",
            (!self.symbol.is_empty()).then_some(self.symbol.as_str()),
        );
        w.leaf("InsuredPersonIdentificationNumber", &self.number);
        w.optional("BranchNumber", self.branch.map(branch_field).as_deref());
        w.optional(
            "ArbitraryFileIdentifier",
            self.arbitrary_file_identifier.as_deref(),
        );
        w.leaf("CharacterCodeIdentifier", encoding.identifier());
        w.close("MessageHeader");
        w.open("MessageBody");
        w.optional("StartDate", self.start.map(month_field).as_deref());
        w.optional("EndDate", self.end.map(month_field).as_deref());
        w.leaf("FileCategory", self.file_category.code());
        w.leaf("PrDiInfClassification", "1");
        w.optional("MedicalTreatmentFlag", self.treatment.map(|t| t.code()));
        w.close("MessageBody");
        w.finish(encoding)
    }
}

/// Who the information is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub name: String,
    /// Half-width katakana.
    pub kana: String,
    pub birth: NaiveDate,
    pub sex: Sex,
}

/// The header of a 薬剤情報 or 特定健診情報 result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalHeader {
    pub process_execution_time: NaiveDateTime,
    pub medical_institution_code: InstitutionCode,
    pub arbitrary_file_identifier: Option<String>,
    /// `ResultCode` 1; otherwise 2 and the reason (`MessageContents`).
    pub refusal: Option<String>,
    pub character_code: CharacterCode,
}

impl MedicalHeader {
    fn write(&self, w: &mut XmlWriter, patient: Option<&Patient>, drugs: bool) {
        w.open("MessageHeader");
        w.date_time("ProcessExecutionTime", self.process_execution_time);
        w.leaf(
            "MedicalInstitutionCode",
            self.medical_institution_code.as_str(),
        );
        w.optional(
            "ArbitraryFileIdentifier",
            self.arbitrary_file_identifier.as_deref(),
        );
        w.leaf("ResultCode", if self.refusal.is_some() { "2" } else { "1" });
        w.optional("MessageContents", self.refusal.as_deref());
        w.leaf("CharacterCodeIdentifier", self.character_code.identifier());
        if let Some(p) = patient {
            // The two files name the patient's block differently.
            let (block, name, kana, birth, sex) = if drugs {
                ("QuaInf", "Name", "KanaName", "Birth", "AdmGendCode")
            } else {
                (
                    "QualificationsInfo",
                    "Name",
                    "KanasName",
                    "Birthday",
                    "AdministrativeGenderCode",
                )
            };
            w.open(block);
            w.leaf(name, &p.name);
            w.leaf(kana, &p.kana);
            w.date(birth, p.birth);
            w.leaf(sex, p.sex.code());
            w.close(block);
        }
        w.close("MessageHeader");
    }

    fn read(
        doc: &Document,
        h: &Node<'_>,
        drugs: bool,
    ) -> Result<(Self, Option<Patient>), Rejection> {
        let character_code = h.required_by("CharacterCodeIdentifier", |t| {
            CharacterCode::from_identifier(t).ok_or(ValidationError::UnknownCode {
                field: "文字コード識別",
                value: t.to_owned(),
            })
        })?;
        check_declared(doc, h)?;
        let refusal = match h.required("ResultCode")?.trim() {
            "1" => None,
            _ => Some(
                h.optional("MessageContents")?
                    .unwrap_or_default()
                    .to_owned(),
            ),
        };
        let (block, kana, birth, sex) = if drugs {
            ("QuaInf", "KanaName", "Birth", "AdmGendCode")
        } else {
            (
                "QualificationsInfo",
                "KanasName",
                "Birthday",
                "AdministrativeGenderCode",
            )
        };
        let patient = match h.child(block)? {
            None => None,
            Some(p) => Some(Patient {
                name: p.required("Name")?.to_owned(),
                kana: p.required(kana)?.to_owned(),
                birth: p.required_date(birth)?,
                sex: p.required_by(sex, Sex::parse)?,
            }),
        };
        Ok((
            Self {
                process_execution_time: h.optional_date_time("ProcessExecutionTime")?.ok_or_else(
                    || {
                        Rejection::new(
                            RejectionKind::Missing,
                            "XmlMsg/MessageHeader/ProcessExecutionTime",
                        )
                    },
                )?,
                medical_institution_code: h
                    .required_by("MedicalInstitutionCode", institution_code)?,
                arbitrary_file_identifier: h
                    .optional("ArbitraryFileIdentifier")?
                    .map(str::to_owned),
                refusal,
                character_code,
            },
            patient,
        ))
    }
}

/// One drug dispensed (`DrugInf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drug {
    /// DrugN: as prescribed.
    pub name: String,
    /// IngreN: the active ingredient.
    pub ingredient: String,
    /// Qua1: the quantity, as written (e.g. `3`, `1.5`).
    pub quantity: String,
    pub unit: String,
    /// UsageN: e.g. 1回1錠 1日3回 毎食後.
    pub usage: String,
    pub times: u16,
}

/// One day of dispensing at one institution (`CzDiDateInf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugDay {
    pub date: NaiveDate,
    pub institution: String,
    pub drugs: Vec<Drug>,
}

/// One day's clinical events at one institution (`MeTrDateInf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicalDay {
    pub date: NaiveDate,
    pub institution: String,
    /// MeTrN and its detail (MeTrDtl).
    pub events: Vec<(String, String)>,
}

/// `YZKsiquc01res_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugResult {
    pub header: MedicalHeader,
    pub patient: Option<Patient>,
    /// Grouped by month (`CzDiMonthInf`), oldest first.
    pub drugs: Vec<DrugDay>,
    /// Grouped by month (`MeTrMonthInf`), oldest first; only for
    /// FileCategory 3 and 4.
    pub clinical: Vec<ClinicalDay>,
}

fn months<T>(days: &[T], date: impl Fn(&T) -> NaiveDate) -> Vec<(NaiveDate, Vec<&T>)> {
    let mut out: Vec<(NaiveDate, Vec<&T>)> = Vec::new();
    for d in days {
        let first = date(d).with_day(1).unwrap_or(date(d));
        match out.last_mut() {
            Some((m, v)) if *m == first => v.push(d),
            _ => out.push((first, vec![d])),
        }
    }
    out
}

impl DrugResult {
    pub fn write(&self) -> Vec<u8> {
        let mut w = XmlWriter::new(4096);
        self.header.write(&mut w, self.patient.as_ref(), true);
        w.open("MessageBody");
        if !self.clinical.is_empty() {
            for (month, days) in months(&self.clinical, |d| d.date) {
                w.open("MeTrMonthInf");
                w.leaf("MeTrMonth", &month_field(month));
                w.open("MeTrDateInfs");
                for d in days {
                    w.open("MeTrDateInf");
                    w.date("MeTrDate", d.date);
                    w.leaf("MedInstN", &d.institution);
                    w.open("MeTrInfs");
                    for (name, detail) in &d.events {
                        w.open("MeTrInf");
                        w.leaf("MeTrN", name);
                        w.leaf("MeTrDtl", detail);
                        w.close("MeTrInf");
                    }
                    w.close("MeTrInfs");
                    w.close("MeTrDateInf");
                }
                w.close("MeTrDateInfs");
                w.close("MeTrMonthInf");
            }
        }
        if !self.drugs.is_empty() {
            w.open("CzDiInf");
            for (month, days) in months(&self.drugs, |d| d.date) {
                w.open("CzDiMonthInf");
                w.leaf("CzDiMonth", &month_field(month));
                w.open("CzDiDateInfs");
                for d in days {
                    w.open("CzDiDateInf");
                    w.date("CzDiDate", d.date);
                    w.leaf("MedInstN", &d.institution);
                    w.open("DrugInfs");
                    for g in &d.drugs {
                        w.open("DrugInf");
                        w.leaf("DrugN", &g.name);
                        w.leaf("IngreN", &g.ingredient);
                        w.leaf("Qua1", &g.quantity);
                        w.leaf("Unit", &g.unit);
                        w.leaf("UsageN", &g.usage);
                        w.leaf("Times", &g.times.to_string());
                        w.close("DrugInf");
                    }
                    w.close("DrugInfs");
                    w.close("CzDiDateInf");
                }
                w.close("CzDiDateInfs");
                w.close("CzDiMonthInf");
            }
            w.close("CzDiInf");
        }
        w.close("MessageBody");
        w.finish(self.header.character_code)
    }

    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (h, b) = message(doc)?;
        let (header, patient) = MedicalHeader::read(doc, &h, true)?;
        let mut drugs = Vec::new();
        if let Some(inf) = b.child("CzDiInf")? {
            for m in inf.each("CzDiMonthInf") {
                let Some(days) = m.child("CzDiDateInfs")? else {
                    continue;
                };
                for d in days.each("CzDiDateInf") {
                    let mut list = Vec::new();
                    if let Some(infs) = d.child("DrugInfs")? {
                        for g in infs.each("DrugInf") {
                            list.push(Drug {
                                name: g.required("DrugN")?.to_owned(),
                                ingredient: g.optional("IngreN")?.unwrap_or_default().to_owned(),
                                quantity: g.optional("Qua1")?.unwrap_or_default().to_owned(),
                                unit: g.optional("Unit")?.unwrap_or_default().to_owned(),
                                usage: g.optional("UsageN")?.unwrap_or_default().to_owned(),
                                times: g
                                    .optional("Times")?
                                    .and_then(|t| t.trim().parse().ok())
                                    .unwrap_or(0),
                            });
                        }
                    }
                    drugs.push(DrugDay {
                        date: d.required_date("CzDiDate")?,
                        institution: d.optional("MedInstN")?.unwrap_or_default().to_owned(),
                        drugs: list,
                    });
                }
            }
        }
        let mut clinical = Vec::new();
        for m in b.each("MeTrMonthInf") {
            let Some(days) = m.child("MeTrDateInfs")? else {
                continue;
            };
            for d in days.each("MeTrDateInf") {
                let mut events = Vec::new();
                if let Some(infs) = d.child("MeTrInfs")? {
                    for e in infs.each("MeTrInf") {
                        events.push((
                            e.required("MeTrN")?.to_owned(),
                            e.optional("MeTrDtl")?.unwrap_or_default().to_owned(),
                        ));
                    }
                }
                clinical.push(ClinicalDay {
                    date: d.required_date("MeTrDate")?,
                    institution: d.optional("MedInstN")?.unwrap_or_default().to_owned(),
                    events,
                });
            }
        }
        Ok(Self {
            header,
            patient,
            drugs,
            clinical,
        })
    }
}

/// One 特定健診 item (`HealthCheckupResultAndQuestionInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupItem {
    pub code: String,
    pub name: String,
    /// DataType: `PQ` (a measured quantity).
    pub data_type: String,
    pub value: String,
    pub unit: String,
}

/// One 特定健診 (`SpecificHealthCheckupInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkup {
    /// EffectiveTime: the day of the check-up.
    pub on: NaiveDate,
    pub items: Vec<CheckupItem>,
}

/// `TKKsiquc01res_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupResultFile {
    pub header: MedicalHeader,
    pub patient: Option<Patient>,
    /// Oldest first.
    pub checkups: Vec<Checkup>,
}

impl CheckupResultFile {
    pub fn write(&self) -> Vec<u8> {
        let mut w = XmlWriter::new(4096);
        self.header.write(&mut w, self.patient.as_ref(), false);
        w.open("MessageBody");
        for c in &self.checkups {
            w.open("SpecificHealthCheckupInfo");
            w.date("EffectiveTime", c.on);
            w.open("HealthCheckupResultAndQuestionInfos");
            for i in &c.items {
                w.open("HealthCheckupResultAndQuestionInfo");
                w.leaf("ItemCode", &i.code);
                w.leaf("ItemName", &i.name);
                w.leaf("DataType", &i.data_type);
                w.leaf("DataValue", &i.value);
                w.leaf("Unit", &i.unit);
                w.close("HealthCheckupResultAndQuestionInfo");
            }
            w.close("HealthCheckupResultAndQuestionInfos");
            w.close("SpecificHealthCheckupInfo");
        }
        w.close("MessageBody");
        w.finish(self.header.character_code)
    }

    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (h, b) = message(doc)?;
        let (header, patient) = MedicalHeader::read(doc, &h, false)?;
        let mut checkups = Vec::new();
        for c in b.each("SpecificHealthCheckupInfo") {
            let mut items = Vec::new();
            if let Some(infos) = c.child("HealthCheckupResultAndQuestionInfos")? {
                for i in infos.each("HealthCheckupResultAndQuestionInfo") {
                    items.push(CheckupItem {
                        code: i.required("ItemCode")?.to_owned(),
                        name: i.optional("ItemName")?.unwrap_or_default().to_owned(),
                        data_type: i.optional("DataType")?.unwrap_or_default().to_owned(),
                        value: i.optional("DataValue")?.unwrap_or_default().to_owned(),
                        unit: i.optional("Unit")?.unwrap_or_default().to_owned(),
                    });
                }
            }
            checkups.push(Checkup {
                on: c.required_date("EffectiveTime")?,
                items,
            });
        }
        Ok(Self {
            header,
            patient,
            checkups,
        })
    }
}
