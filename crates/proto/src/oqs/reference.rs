//! 照会番号登録 (reference §(d)): the receipt computer registers its own
//! number for a patient (診察券番号) — one at a time (`OQSsiimm01req_` →
//! `OQSsiimm01res_`) or in bulk (`OQSmuimm01req_` → 受付番号 →
//! `OQSmuimm02req_` → `OQSmuimm02res_` with one `BulkRegistrationUnit` per
//! patient). The number comes back in later results.

use chrono::NaiveDateTime;
use zaitaku_domain::account::validate_reference_number;
use zaitaku_domain::codes::{ProcessingResultStatus, SegmentOfResult};
use zaitaku_domain::institution::InstitutionCode;
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber, validate_symbol_or_number};

use super::batch::MAX_PERSONS;
use super::fields::{Node, parse_text};
use super::individual::MAX_FILE_IDENTIFIER;
use super::qualification::{
    Counts, branch_field, check_declared, institution_code, insurer_field, message,
};
use super::reader::{CharacterCode, Document, Element, read_split};
use super::rejection::{Rejection, RejectionKind};
use super::writer::XmlWriter;

/// One patient's registration (`ReferenceNumberRegistrationInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// 照会番号, up to 50 characters.
    pub reference_number: String,
    pub insurer_number: InsurerNumber,
    /// Empty when the card has none.
    pub symbol: String,
    pub number: String,
    pub branch: Option<BranchNumber>,
}

/// The registration exactly as sent, echoed in the result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrationEcho {
    pub reference_number: Option<String>,
    pub insurer_number: Option<String>,
    pub symbol: Option<String>,
    pub number: Option<String>,
    pub branch: Option<String>,
}

const FIELDS: [&str; 5] = [
    "ReferenceNumber",
    "InsurerNumber",
    "InsuredCardSymbol",
    "InsuredIdentificationNumber",
    "InsuredBranchNumber",
];

impl RegistrationEcho {
    pub fn read(n: &Node<'_>) -> Self {
        let raw = |name: &str| {
            n.element
                .children_named(name)
                .next()
                .map(|c| c.text.clone())
        };
        Self {
            reference_number: raw(FIELDS[0]),
            insurer_number: raw(FIELDS[1]),
            symbol: raw(FIELDS[2]),
            number: raw(FIELDS[3]),
            branch: raw(FIELDS[4]),
        }
    }

    pub fn write(&self, w: &mut XmlWriter) {
        w.open("ReferenceNumberRegistrationInfo");
        for (name, value) in FIELDS.iter().zip([
            &self.reference_number,
            &self.insurer_number,
            &self.symbol,
            &self.number,
            &self.branch,
        ]) {
            w.optional(name, value.as_deref());
        }
        w.close("ReferenceNumberRegistrationInfo");
    }
}

impl Registration {
    pub fn read(n: &Node<'_>) -> Result<Self, Rejection> {
        Ok(Self {
            reference_number: n.required_by("ReferenceNumber", validate_reference_number)?,
            insurer_number: n.required_by("InsurerNumber", InsurerNumber::parse)?,
            symbol: n
                .optional_by("InsuredCardSymbol", |t| {
                    validate_symbol_or_number("記号", t, false)
                })?
                .unwrap_or_default(),
            number: n.required_by("InsuredIdentificationNumber", |t| {
                validate_symbol_or_number("番号", t, true)
            })?,
            branch: n.optional_by("InsuredBranchNumber", BranchNumber::parse)?,
        })
    }

    pub fn echo(&self) -> RegistrationEcho {
        RegistrationEcho {
            reference_number: Some(self.reference_number.clone()),
            insurer_number: Some(insurer_field(&self.insurer_number)),
            symbol: (!self.symbol.is_empty()).then(|| self.symbol.clone()),
            number: Some(self.number.clone()),
            branch: self.branch.map(branch_field),
        }
    }
}

/// A registration request, single or bulk: the header and each patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    pub medical_institution_code: InstitutionCode,
    pub arbitrary_file_identifier: Option<String>,
    pub registrations: Vec<Registration>,
}

/// Where the patients of a registration request stand.
const REGISTRATIONS_AT: [&str; 3] = ["XmlMsg", "MessageBody", "ReferenceNumberRegistrationInfo"];

impl RegistrationRequest {
    /// Reads a request, handing each patient to `each` as it is read.
    pub fn read_each(
        bytes: &[u8],
        each: &mut dyn FnMut(
            RegistrationEcho,
            Result<Registration, Rejection>,
        ) -> Result<(), Rejection>,
    ) -> Result<(InstitutionCode, Option<String>, usize), Rejection> {
        let mut count = 0usize;
        let doc = read_split(bytes, &REGISTRATIONS_AT, &mut |element: Element| {
            if count == MAX_PERSONS {
                return Err(Rejection::new(
                    RejectionKind::TooMany,
                    format!("ReferenceNumberRegistrationInfo {MAX_PERSONS}件まで"),
                ));
            }
            count += 1;
            let node = Node::at(&element, &REGISTRATIONS_AT);
            each(RegistrationEcho::read(&node), Registration::read(&node))
        })?;
        let (header, _) = message(&doc)?;
        check_declared(&doc, &header)?;
        if count == 0 {
            return Err(Rejection::new(
                RejectionKind::Missing,
                "XmlMsg/MessageBody/ReferenceNumberRegistrationInfo",
            ));
        }
        Ok((
            header.required_by("MedicalInstitutionCode", institution_code)?,
            header.optional_by("ArbitraryFileIdentifier", parse_text(MAX_FILE_IDENTIFIER))?,
            count,
        ))
    }

    pub fn write(&self, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(512 + self.registrations.len() * 300);
        w.open("MessageHeader");
        w.leaf(
            "MedicalInstitutionCode",
            self.medical_institution_code.as_str(),
        );
        w.optional(
            "ArbitraryFileIdentifier",
            self.arbitrary_file_identifier.as_deref(),
        );
        w.leaf("CharacterCodeIdentifier", encoding.identifier());
        w.close("MessageHeader");
        w.open("MessageBody");
        for r in &self.registrations {
            r.echo().write(&mut w);
        }
        w.close("MessageBody");
        w.finish(encoding)
    }
}

/// One patient's outcome: the echo, the status and, on error, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationOutcome {
    pub echo: RegistrationEcho,
    pub status: ProcessingResultStatus,
    pub note: Option<(String, String)>,
}

impl RegistrationOutcome {
    pub fn refused(echo: RegistrationEcho, r: &Rejection) -> Self {
        Self {
            echo,
            status: ProcessingResultStatus::Error,
            note: Some((
                r.code().to_owned(),
                format!("{}（{}）", r.message(), r.detail),
            )),
        }
    }

    fn write_fields(&self, w: &mut XmlWriter) {
        self.echo.write(w);
        w.leaf("ProcessingResultStatus", self.status.code());
        if let Some((code, message)) = &self.note {
            w.leaf("ProcessingResultCode", code);
            w.leaf("ProcessingResultMessage", message);
        }
    }

    fn read(n: &Node<'_>) -> Result<Self, Rejection> {
        let echo = match n.child("ReferenceNumberRegistrationInfo")? {
            Some(i) => RegistrationEcho::read(&i),
            None => RegistrationEcho::default(),
        };
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
            echo,
            status: n.required_by("ProcessingResultStatus", ProcessingResultStatus::parse)?,
            note,
        })
    }
}

/// The header of a registration result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationHeader {
    pub process_execution_time: NaiveDateTime,
    pub medical_institution_code: InstitutionCode,
    pub arbitrary_file_identifier: Option<String>,
    pub reception_number: Option<String>,
    pub segment_of_result: SegmentOfResult,
    pub error: Option<(String, String)>,
    pub counts: Option<Counts>,
    pub character_code: CharacterCode,
}

impl RegistrationHeader {
    fn write(&self, w: &mut XmlWriter) {
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

    fn read(doc: &Document, h: &Node<'_>) -> Result<Self, Rejection> {
        // The header of a qualification result has the same names; its
        // reader is reused and the fields this header lacks are dropped.
        let q = super::qualification::ResultHeader::read(doc, h)?;
        Ok(Self {
            process_execution_time: q.process_execution_time,
            medical_institution_code: q.medical_institution_code,
            arbitrary_file_identifier: q.arbitrary_file_identifier,
            reception_number: q.reception_number,
            segment_of_result: q.segment_of_result,
            error: q.error,
            counts: q.counts,
            character_code: q.character_code,
        })
    }
}

/// `OQSsiimm01res_` (one outcome in the body) or `OQSmuimm02res_` (one
/// `BulkRegistrationUnit` per patient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationResult {
    pub header: RegistrationHeader,
    pub outcomes: Vec<RegistrationOutcome>,
    /// `BulkRegistrationUnit`s (bulk) or the body itself (single).
    pub bulk: bool,
}

impl RegistrationResult {
    /// The file's opening (declaration, header, `<MessageBody>`): a bulk
    /// result's units follow as [`bulk_unit`] writes them, then
    /// [`super::batch::CLOSING`].
    pub fn opening(header: &RegistrationHeader) -> Vec<u8> {
        let mut w = XmlWriter::new(1024);
        header.write(&mut w);
        w.open("MessageBody");
        w.finish_open(header.character_code)
    }

    pub fn write(&self) -> Vec<u8> {
        let encoding = self.header.character_code;
        let mut out = Self::opening(&self.header);
        for o in &self.outcomes {
            if self.bulk {
                out.extend_from_slice(&bulk_unit(o, encoding));
            } else {
                let mut w = XmlWriter::fragment(512);
                o.write_fields(&mut w);
                out.extend_from_slice(&w.encode(encoding));
            }
        }
        out.extend_from_slice(super::batch::CLOSING);
        out
    }

    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (header, body) = message(doc)?;
        let header = RegistrationHeader::read(doc, &header)?;
        let units: Vec<_> = body.each("BulkRegistrationUnit").collect();
        let (outcomes, bulk) = if units.is_empty() {
            let single = if body.element.children.is_empty() {
                Vec::new()
            } else {
                vec![RegistrationOutcome::read(&body)?]
            };
            (single, false)
        } else {
            let mut v = Vec::new();
            for u in &units {
                v.push(RegistrationOutcome::read(u)?);
            }
            (v, true)
        };
        Ok(Self {
            header,
            outcomes,
            bulk,
        })
    }
}

/// One `BulkRegistrationUnit`, encoded.
pub fn bulk_unit(outcome: &RegistrationOutcome, encoding: CharacterCode) -> Vec<u8> {
    let mut w = XmlWriter::fragment(512);
    w.open("BulkRegistrationUnit");
    outcome.write_fields(&mut w);
    w.close("BulkRegistrationUnit");
    w.encode(encoding)
}
