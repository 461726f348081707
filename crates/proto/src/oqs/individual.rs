//! 資格確認 for one person by insurance-card data: `OQSsiquc01req_` →
//! `OQSsiquc01res_` (reference §(a)), and the request header the other
//! requests share.

use chrono::NaiveDate;
use zaitaku_domain::institution::InstitutionCode;

use super::fields::{Node, parse_text};
use super::qualification::{
    PersonAnswer, ResultHeader, SearchEcho, SearchInfo, check_declared, institution_code, message,
};
use super::reader::{CharacterCode, Document};
use super::rejection::Rejection;
use super::writer::XmlWriter;

/// The longest ArbitraryFileIdentifier taken.
pub const MAX_FILE_IDENTIFIER: usize = 100;

/// `MessageHeader` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    pub medical_institution_code: InstitutionCode,
    /// 資格確認日 asked for; the day of processing when absent.
    pub qualification_confirmation_date: Option<NaiveDate>,
    pub arbitrary_file_identifier: Option<String>,
}

impl RequestHeader {
    pub fn read(doc: &Document, h: &Node<'_>) -> Result<Self, Rejection> {
        check_declared(doc, h)?;
        Ok(Self {
            medical_institution_code: h.required_by("MedicalInstitutionCode", institution_code)?,
            qualification_confirmation_date: h.optional_date("QualificationConfirmationDate")?,
            arbitrary_file_identifier: h
                .optional_by("ArbitraryFileIdentifier", parse_text(MAX_FILE_IDENTIFIER))?,
        })
    }

    pub fn write(&self, w: &mut XmlWriter, encoding: CharacterCode) {
        w.open("MessageHeader");
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
        w.leaf("CharacterCodeIdentifier", encoding.identifier());
        w.close("MessageHeader");
    }
}

/// An individual inquiry as a receipt computer writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndividualRequest {
    pub header: RequestHeader,
    pub search: SearchInfo,
}

/// An individual inquiry as read: the file was accepted; the person's
/// search information may still be refused, and is echoed either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadIndividualRequest {
    pub header: RequestHeader,
    pub echo: SearchEcho,
    pub search: Result<SearchInfo, Rejection>,
}

impl IndividualRequest {
    /// Reads a request. A file that is not this message (layout, header,
    /// encoding) is refused as a whole; the search information is judged
    /// apart, so its refusal can be answered in a result.
    pub fn read(doc: &Document) -> Result<ReadIndividualRequest, Rejection> {
        let (header, body) = message(doc)?;
        let header = RequestHeader::read(doc, &header)?;
        let info = body.required_child("QualificationConfirmSearchInfo")?;
        let echo = SearchEcho::read(&info)?;
        Ok(ReadIndividualRequest {
            header,
            echo,
            search: SearchInfo::read(&info),
        })
    }

    pub fn write(&self, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(1024);
        self.header.write(&mut w, encoding);
        w.open("MessageBody");
        self.search.write(&mut w);
        w.close("MessageBody");
        w.finish(encoding)
    }
}

/// `OQSsiquc01res_` (and, with ReferenceClassification 1 and no echo, a
/// face file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndividualResult {
    pub header: ResultHeader,
    pub answer: PersonAnswer,
}

impl IndividualResult {
    pub fn write(&self) -> Vec<u8> {
        let mut w = XmlWriter::new(4096);
        self.header.write(&mut w);
        w.open("MessageBody");
        self.answer.write_fields(&mut w, true);
        w.close("MessageBody");
        w.finish(self.header.character_code)
    }

    pub fn read(doc: &Document) -> Result<Self, Rejection> {
        let (header, body) = message(doc)?;
        Ok(Self {
            header: ResultHeader::read(doc, &header)?,
            answer: PersonAnswer::read(&body)?,
        })
    }
}
