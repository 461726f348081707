//! Why a request file, or one person in it, was not accepted: a stable code
//! for the receipt computer (docs/error-codes.md, Z-Q), a Japanese message
//! for the clinic's staff, and the detail that says which element and which
//! value. A file-level rejection becomes the `.err` beside the request; a
//! person's rejection becomes that person's ProcessingResultCode/Message.

use zaitaku_domain::error::ValidationError;

use super::reader::{CharacterCode, Duplicated, ReadError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    /// Which element and value, in the file's own names; may be empty.
    pub detail: String,
}

/// The kinds of rejection, each with one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectionKind {
    Read(ReadError),
    /// `CharacterCodeIdentifier` says one encoding, the declaration another.
    EncodingMismatch,
    /// The file name is not a request of this interface.
    FileName,
    /// The root is not `XmlMsg` with a `MessageHeader` and a `MessageBody`.
    Layout,
    /// A required element is missing or empty.
    Missing,
    /// A value has the wrong length or form (digits, date, date-time).
    Format,
    /// A value is not in its code list.
    UnknownCode,
    /// A number's check digit does not match.
    CheckDigit,
    /// A single-valued element is given more than once.
    Duplicated,
    /// `MedicalInstitutionCode` is not the institution of the link.
    OtherInstitution,
    /// The `ReceptionNumber` is not one this institution was given.
    UnknownReception,
    /// More persons in one file than the interface takes.
    TooMany,
    /// A 照会番号 already registered to another patient of the institution.
    ReferenceNumberTaken,
    /// A message of the interface that this server does not answer.
    NotOffered,
    /// A PDF asked for, and the server has no Japanese font to write it.
    PdfUnavailable,
    /// Nobody holds the insurance-card data given.
    NoSuchPerson,
    /// Several persons hold it (a family, without 枝番).
    Ambiguous,
}

impl Rejection {
    pub fn new(kind: RejectionKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match &self.kind {
            RejectionKind::Read(e) => e.code(),
            RejectionKind::EncodingMismatch => "Z-Q-0005",
            RejectionKind::FileName => "Z-Q-0006",
            RejectionKind::Layout => "Z-Q-0007",
            RejectionKind::Missing => "Z-Q-0010",
            RejectionKind::Format => "Z-Q-0011",
            RejectionKind::UnknownCode => "Z-Q-0012",
            RejectionKind::CheckDigit => "Z-Q-0013",
            RejectionKind::Duplicated => "Z-Q-0014",
            RejectionKind::OtherInstitution => "Z-Q-0020",
            RejectionKind::UnknownReception => "Z-Q-0021",
            RejectionKind::TooMany => "Z-Q-0022",
            RejectionKind::ReferenceNumberTaken => "Z-Q-0023",
            RejectionKind::NotOffered => "Z-Q-0008",
            RejectionKind::PdfUnavailable => "Z-Q-0009",
            RejectionKind::NoSuchPerson => "Z-Q-0024",
            RejectionKind::Ambiguous => "Z-Q-0025",
        }
    }

    pub fn message(&self) -> &'static str {
        match &self.kind {
            RejectionKind::Read(e) => e.message(),
            RejectionKind::EncodingMismatch => {
                "文字コード識別（CharacterCodeIdentifier）がXML宣言の文字コードと一致しません。"
            }
            RejectionKind::FileName => {
                "ファイル名が正しくありません。要求ファイルの接頭辞（例: OQSsiquc01req_）で始まる .xml ファイルを作成してください。"
            }
            RejectionKind::Layout => {
                "XMLの構成が正しくありません（XmlMsg、MessageHeader、MessageBody）。"
            }
            RejectionKind::Missing => "必須の項目が設定されていません。",
            RejectionKind::Format => "項目の桁数または形式が正しくありません。",
            RejectionKind::UnknownCode => "項目に設定できない値（コード）が設定されています。",
            RejectionKind::CheckDigit => "番号の検証番号（チェックデジット）が正しくありません。",
            RejectionKind::Duplicated => "1回だけ設定できる項目が複数設定されています。",
            RejectionKind::OtherInstitution => {
                "医療機関等コードが、この連携に登録された医療機関等と一致しません。"
            }
            RejectionKind::UnknownReception => {
                "受付番号が見つかりません。この医療機関等で受け付けた受付番号を指定してください。"
            }
            RejectionKind::TooMany => "1ファイルに設定できる件数を超えています。",
            RejectionKind::ReferenceNumberTaken => {
                "この照会番号は、この医療機関等の別の患者に登録されています。"
            }
            RejectionKind::NotOffered => "この要求ファイルの種類は受け付けていません。",
            RejectionKind::PdfUnavailable => {
                "PDFを作成できません。ファイル種別（FileCategory）にXMLを指定してください。"
            }
            RejectionKind::NoSuchPerson => {
                "指定された被保険者証等の情報に該当する資格がありません。"
            }
            RejectionKind::Ambiguous => {
                "指定された被保険者証等の情報に複数の方が該当します。枝番を指定してください。"
            }
        }
    }

    /// The `.err` file's text: code, message and detail on three lines.
    pub fn err_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.code(), self.message(), self.detail)
    }

    /// The `.err` file in the link's encoding.
    pub fn err_file(&self, encoding: CharacterCode) -> Vec<u8> {
        let text = self.err_text();
        match encoding {
            CharacterCode::Utf8 => text.into_bytes(),
            CharacterCode::ShiftJis => super::writer::shift_jis(&text),
        }
    }

    /// A field's value refused by the domain's rule, named by its path.
    pub(crate) fn of_value(path: &str, e: &ValidationError) -> Self {
        let kind = match e {
            ValidationError::Required { .. } => RejectionKind::Missing,
            ValidationError::CheckDigit { .. } => RejectionKind::CheckDigit,
            ValidationError::UnknownCode { .. }
            | ValidationError::InstitutionTable(_)
            | ValidationError::Prefecture(_) => RejectionKind::UnknownCode,
            _ => RejectionKind::Format,
        };
        Self::new(kind, format!("{path}: {e}"))
    }
}

impl From<ReadError> for Rejection {
    fn from(e: ReadError) -> Self {
        let detail = e.to_string();
        Self::new(RejectionKind::Read(e), detail)
    }
}

impl From<Duplicated> for Rejection {
    fn from(e: Duplicated) -> Self {
        Self::new(RejectionKind::Duplicated, e.to_string())
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.code(), self.message(), self.detail)
    }
}

impl std::error::Error for Rejection {}
