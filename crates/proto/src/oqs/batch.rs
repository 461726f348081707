//! 一括照会 (reference §(b)) and the bulks that share its shape: an upload
//! (`…01req_`) answered at once with a 受付番号 (`…01res_`), and a download
//! request (`…02req_`) answered with the results (`…02res_`) — or with
//! SegmentOfResult 2 while they are still being made.

use chrono::{NaiveDate, NaiveDateTime};
use zaitaku_domain::codes::{MedicalTreatmentFlag, SegmentOfResult};
use zaitaku_domain::error::ValidationError;
use zaitaku_domain::institution::InstitutionCode;

use super::fields::{DATE, Node, parse_text};
use super::individual::{MAX_FILE_IDENTIFIER, RequestHeader};
use super::qualification::{
    PersonAnswer, ResultHeader, SearchEcho, SearchInfo, check_declared, institution_code, message,
};
use super::reader::{CharacterCode, Document, Element, read_split};
use super::rejection::{Rejection, RejectionKind};
use super::writer::XmlWriter;

/// The most persons one upload takes.
pub const MAX_PERSONS: usize = 100_000;
/// The longest 受付番号 taken.
pub const MAX_RECEPTION_NUMBER: usize = 40;

/// `OQSmuquc01req_`: one `QualificationConfirmSearchInfo` per person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchUpload {
    pub header: RequestHeader,
    pub persons: Vec<SearchInfo>,
}

/// An upload as read: each person's search information judged apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBatchUpload {
    pub header: RequestHeader,
    pub persons: Vec<(SearchEcho, Result<SearchInfo, Rejection>)>,
}

/// Where the persons of an upload stand.
const PERSONS_AT: [&str; 3] = ["XmlMsg", "MessageBody", "QualificationConfirmSearchInfo"];

impl BatchUpload {
    /// Reads an upload, handing each person to `each` as it is read (the
    /// file's persons are never all in memory as elements). The header is
    /// checked after the last person; the number of persons is returned.
    pub fn read_each(
        bytes: &[u8],
        each: &mut dyn FnMut(SearchEcho, Result<SearchInfo, Rejection>) -> Result<(), Rejection>,
    ) -> Result<(RequestHeader, usize), Rejection> {
        let mut count = 0usize;
        let doc = read_split(bytes, &PERSONS_AT, &mut |element: Element| {
            if count == MAX_PERSONS {
                return Err(Rejection::new(
                    RejectionKind::TooMany,
                    format!("QualificationConfirmSearchInfo {MAX_PERSONS}件まで"),
                ));
            }
            count += 1;
            let node = Node::at(&element, &PERSONS_AT);
            each(SearchEcho::read(&node)?, SearchInfo::read(&node))
        })?;
        let (header, _) = message(&doc)?;
        let header = RequestHeader::read(&doc, &header)?;
        if count == 0 {
            return Err(Rejection::new(
                RejectionKind::Missing,
                "XmlMsg/MessageBody/QualificationConfirmSearchInfo",
            ));
        }
        Ok((header, count))
    }

    /// Reads a whole upload at once (a small file, a test).
    pub fn read_all(bytes: &[u8]) -> Result<ReadBatchUpload, Rejection> {
        let mut persons = Vec::new();
        let (header, _) = Self::read_each(bytes, &mut |echo, search| {
            persons.push((echo, search));
            Ok(())
        })?;
        Ok(ReadBatchUpload { header, persons })
    }

    pub fn write(&self, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(512 + self.persons.len() * 400);
        self.header.write(&mut w, encoding);
        w.open("MessageBody");
        for p in &self.persons {
            p.write(&mut w);
        }
        w.close("MessageBody");
        w.finish(encoding)
    }
}

/// `OQSmuhvq01req_` / `OQSmuonq01req_`: everyone who consented to this
/// institution through the web service or the staff app in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentedUpload {
    pub medical_institution_code: InstitutionCode,
    pub arbitrary_file_identifier: Option<String>,
    pub window: Window,
    pub treatment: MedicalTreatmentFlag,
}

/// Which dates the window is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// ConsentDateFrom / ConsentDateTo: the day the consent was given.
    Consent { from: NaiveDate, to: NaiveDate },
    /// ExaminationDateFrom / ExaminationDateTo: the day of the
    /// consultation (オンライン診療等 only).
    Examination { from: NaiveDate, to: NaiveDate },
}

impl ConsentedUpload {
    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (header, body) = message(doc)?;
        check_declared(doc, &header)?;
        let info = body.required_child("QualificationConfirmSearchInfo")?;
        let window = match (
            info.optional("ExaminationDateFrom")?,
            info.optional("ConsentDateFrom")?,
        ) {
            (Some(_), _) => Window::Examination {
                from: info.required_date("ExaminationDateFrom")?,
                to: info.required_date("ExaminationDateTo")?,
            },
            _ => Window::Consent {
                from: info.required_date("ConsentDateFrom")?,
                to: info.required_date("ConsentDateTo")?,
            },
        };
        let (from, to) = match window {
            Window::Consent { from, to } | Window::Examination { from, to } => (from, to),
        };
        if from > to {
            return Err(Rejection::new(
                RejectionKind::Format,
                format!(
                    "{}: {} > {}",
                    info.path(),
                    from.format(DATE),
                    to.format(DATE)
                ),
            ));
        }
        Ok(Self {
            medical_institution_code: header
                .required_by("MedicalInstitutionCode", institution_code)?,
            arbitrary_file_identifier: header
                .optional_by("ArbitraryFileIdentifier", parse_text(MAX_FILE_IDENTIFIER))?,
            window,
            treatment: info.required_by("MedicalTreatmentFlag", MedicalTreatmentFlag::parse)?,
        })
    }

    pub fn write(&self, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(512);
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
        w.open("QualificationConfirmSearchInfo");
        match self.window {
            Window::Consent { from, to } => {
                w.date("ConsentDateFrom", from);
                w.date("ConsentDateTo", to);
            }
            Window::Examination { from, to } => {
                w.date("ExaminationDateFrom", from);
                w.date("ExaminationDateTo", to);
            }
        }
        w.leaf("MedicalTreatmentFlag", self.treatment.code());
        w.close("QualificationConfirmSearchInfo");
        w.close("MessageBody");
        w.finish(encoding)
    }
}

/// `…01res_`: the 受付番号 to download the results with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReceipt {
    pub process_execution_time: NaiveDateTime,
    pub medical_institution_code: InstitutionCode,
    pub arbitrary_file_identifier: Option<String>,
    pub reception_number: String,
    pub reception_date_time: NaiveDateTime,
    pub character_code: CharacterCode,
}

impl UploadReceipt {
    pub fn write(&self) -> Vec<u8> {
        let mut w = XmlWriter::new(512);
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
        w.leaf("SegmentOfResult", SegmentOfResult::Done.code());
        w.leaf("CharacterCodeIdentifier", self.character_code.identifier());
        w.close("MessageHeader");
        w.open("MessageBody");
        w.leaf("ReceptionNumber", &self.reception_number);
        w.date_time("ReceptionDateTime", self.reception_date_time);
        w.close("MessageBody");
        w.finish(self.character_code)
    }

    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (h, b) = message(doc)?;
        let header = ResultHeaderLite::read(doc, &h)?;
        Ok(Self {
            process_execution_time: header.process_execution_time,
            medical_institution_code: header.medical_institution_code,
            arbitrary_file_identifier: header.arbitrary_file_identifier,
            reception_number: b.required("ReceptionNumber")?.to_owned(),
            reception_date_time: b.optional_date_time("ReceptionDateTime")?.ok_or_else(|| {
                Rejection::new(
                    RejectionKind::Missing,
                    "XmlMsg/MessageBody/ReceptionDateTime",
                )
            })?,
            character_code: header.character_code,
        })
    }
}

/// The few header fields an upload receipt has.
struct ResultHeaderLite {
    process_execution_time: NaiveDateTime,
    medical_institution_code: InstitutionCode,
    arbitrary_file_identifier: Option<String>,
    character_code: CharacterCode,
}

impl ResultHeaderLite {
    fn read(doc: &Document, h: &Node<'_>) -> Result<Self, Rejection> {
        check_declared(doc, h)?;
        Ok(Self {
            process_execution_time: h.optional_date_time("ProcessExecutionTime")?.ok_or_else(
                || {
                    Rejection::new(
                        RejectionKind::Missing,
                        "XmlMsg/MessageHeader/ProcessExecutionTime",
                    )
                },
            )?,
            medical_institution_code: h.required_by("MedicalInstitutionCode", institution_code)?,
            arbitrary_file_identifier: h.optional("ArbitraryFileIdentifier")?.map(str::to_owned),
            character_code: h.required_by("CharacterCodeIdentifier", |t| {
                CharacterCode::from_identifier(t).ok_or(ValidationError::UnknownCode {
                    field: "文字コード識別",
                    value: t.to_owned(),
                })
            })?,
        })
    }
}

/// `…02req_`: the results of a 受付番号.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    pub medical_institution_code: InstitutionCode,
    pub reception_number: String,
}

impl DownloadRequest {
    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (h, b) = message(doc)?;
        check_declared(doc, &h)?;
        Ok(Self {
            medical_institution_code: h.required_by("MedicalInstitutionCode", institution_code)?,
            reception_number: b.required_by("ReceptionNumber", |t| {
                let t = t.trim();
                if t.len() > MAX_RECEPTION_NUMBER || !t.bytes().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ValidationError::Characters {
                        field: "受付番号",
                        allowed: "半角英数字",
                    });
                }
                Ok(t.to_owned())
            })?,
        })
    }

    pub fn write(&self, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(256);
        w.open("MessageHeader");
        w.leaf(
            "MedicalInstitutionCode",
            self.medical_institution_code.as_str(),
        );
        w.close("MessageHeader");
        w.open("MessageBody");
        w.leaf("ReceptionNumber", &self.reception_number);
        w.close("MessageBody");
        w.finish(encoding)
    }
}

/// `…02res_`: the header with its counters and one `BulkConfirmUnit` per
/// person, in the order of the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResult {
    pub header: ResultHeader,
    pub units: Vec<PersonAnswer>,
}

impl BatchResult {
    /// The file's opening: declaration, header and `<MessageBody>`; units
    /// follow as [`unit`] writes them, then [`CLOSING`]. A large result is
    /// written and kept in parts this way, never whole in memory.
    pub fn opening(header: &ResultHeader) -> Vec<u8> {
        let mut w = XmlWriter::new(1024);
        header.write(&mut w);
        w.open("MessageBody");
        w.finish_open(header.character_code)
    }

    pub fn write(&self) -> Vec<u8> {
        let mut out = Self::opening(&self.header);
        for u in &self.units {
            out.extend_from_slice(&unit(u, self.header.character_code));
        }
        out.extend_from_slice(CLOSING);
        out
    }

    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (header, body) = message(doc)?;
        let mut units = Vec::new();
        for u in body.each("BulkConfirmUnit") {
            units.push(PersonAnswer::read(&u)?);
        }
        Ok(Self {
            header: ResultHeader::read(doc, &header)?,
            units,
        })
    }
}

/// The end of a result written in parts.
pub const CLOSING: &[u8] = b"</MessageBody></XmlMsg>";

/// One `BulkConfirmUnit`, encoded.
pub fn unit(answer: &PersonAnswer, encoding: CharacterCode) -> Vec<u8> {
    let mut w = XmlWriter::fragment(2048);
    w.open("BulkConfirmUnit");
    answer.write_fields(&mut w, false);
    w.close("BulkConfirmUnit");
    w.encode(encoding)
}
