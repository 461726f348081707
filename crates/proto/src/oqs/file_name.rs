//! The names of the files: `<prefix><nn>req_<suffix>.xml` in `req/`, the
//! result under the same name with `req` turned into `res` in `res/`, and a
//! rejection as `<request base name>.err`.

use super::rejection::{Rejection, RejectionKind};

/// Which message a request file is, by its name's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `OQSsiquc01req_`: 資格確認 for one person by insurance-card data.
    IndividualInquiry,
    /// `OQSmuquc01req_`: 一括照会, the upload.
    BatchUpload,
    /// `OQSmuquc02req_`: 一括照会, the download by ReceptionNumber.
    BatchDownload,
    /// `OQSmuhvq01req_`: 同意済資格情報 for 訪問診療等, the request.
    HomeVisitUpload,
    /// `OQSmuhvq02req_`.
    HomeVisitDownload,
    /// `OQSmuonq01req_`: 同意済資格情報 for オンライン診療等, the request.
    OnlineUpload,
    /// `OQSmuonq02req_`.
    OnlineDownload,
    /// `OQSsiimm01req_`: 照会番号登録 for one patient.
    ReferenceNumberSingle,
    /// `OQSmuimm01req_`: 照会番号一括登録, the upload.
    ReferenceNumberUpload,
    /// `OQSmuimm02req_`.
    ReferenceNumberDownload,
    /// `YZKsiquc01req_`: 薬剤情報 (and 診療情報).
    DrugInformation,
    /// `TKKsiquc01req_`: 特定健診情報.
    CheckupInformation,
}

impl RequestKind {
    pub const ALL: [Self; 12] = [
        Self::IndividualInquiry,
        Self::BatchUpload,
        Self::BatchDownload,
        Self::HomeVisitUpload,
        Self::HomeVisitDownload,
        Self::OnlineUpload,
        Self::OnlineDownload,
        Self::ReferenceNumberSingle,
        Self::ReferenceNumberUpload,
        Self::ReferenceNumberDownload,
        Self::DrugInformation,
        Self::CheckupInformation,
    ];

    /// The name's prefix, up to and including `req_`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::IndividualInquiry => "OQSsiquc01req_",
            Self::BatchUpload => "OQSmuquc01req_",
            Self::BatchDownload => "OQSmuquc02req_",
            Self::HomeVisitUpload => "OQSmuhvq01req_",
            Self::HomeVisitDownload => "OQSmuhvq02req_",
            Self::OnlineUpload => "OQSmuonq01req_",
            Self::OnlineDownload => "OQSmuonq02req_",
            Self::ReferenceNumberSingle => "OQSsiimm01req_",
            Self::ReferenceNumberUpload => "OQSmuimm01req_",
            Self::ReferenceNumberDownload => "OQSmuimm02req_",
            Self::DrugInformation => "YZKsiquc01req_",
            Self::CheckupInformation => "TKKsiquc01req_",
        }
    }

    /// The audit's name for the message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IndividualInquiry => "siquc01",
            Self::BatchUpload => "muquc01",
            Self::BatchDownload => "muquc02",
            Self::HomeVisitUpload => "muhvq01",
            Self::HomeVisitDownload => "muhvq02",
            Self::OnlineUpload => "muonq01",
            Self::OnlineDownload => "muonq02",
            Self::ReferenceNumberSingle => "siimm01",
            Self::ReferenceNumberUpload => "muimm01",
            Self::ReferenceNumberDownload => "muimm02",
            Self::DrugInformation => "yzk",
            Self::CheckupInformation => "tkk",
        }
    }
}

/// A request file's name, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestName {
    pub kind: RequestKind,
    /// What follows the prefix, without `.xml`.
    pub suffix: String,
}

/// The longest suffix taken (clients write 12 or 13 characters).
pub const MAX_SUFFIX: usize = 64;

impl RequestName {
    /// A name of the interface: a known prefix, a suffix of letters,
    /// digits, `_` and `-`, and `.xml`. Nothing that could name a path.
    pub fn parse(name: &str) -> Result<Self, Rejection> {
        let refused = || {
            Rejection::new(
                RejectionKind::FileName,
                name.chars().take(120).collect::<String>(),
            )
        };
        let kind = RequestKind::ALL
            .into_iter()
            .find(|k| name.starts_with(k.prefix()))
            .ok_or_else(refused)?;
        let rest = &name[kind.prefix().len()..];
        let suffix = rest.strip_suffix(".xml").ok_or_else(refused)?;
        if suffix.is_empty()
            || suffix.len() > MAX_SUFFIX
            || !suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(refused());
        }
        Ok(Self {
            kind,
            suffix: suffix.to_owned(),
        })
    }

    pub fn request(&self) -> String {
        format!("{}{}.xml", self.kind.prefix(), self.suffix)
    }

    /// The result's name: `req` turned into `res`, with `extension`
    /// (`xml`, or `pdf` for a PDF the request asked for).
    pub fn result(&self, extension: &str) -> String {
        let prefix = self.kind.prefix();
        let stem = &prefix[..prefix.len() - 4];
        format!("{stem}res_{}.{extension}", self.suffix)
    }

    /// The rejection's name: the request's base name with `.err`.
    pub fn err(&self) -> String {
        format!("{}{}.err", self.kind.prefix(), self.suffix)
    }
}

/// The `.err` name for a file whose name could not be read: its own base
/// name, made safe to write beside it.
pub fn err_name_for(raw: &str) -> String {
    let base = raw.strip_suffix(".xml").unwrap_or(raw);
    let safe: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(120)
        .collect();
    format!("{safe}.err")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_names_its_result_and_its_err() {
        for kind in RequestKind::ALL {
            let name = format!("{}202612070001.xml", kind.prefix());
            let parsed = RequestName::parse(&name).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.request(), name);
            let result = parsed.result("xml");
            assert!(result.contains("res_202612070001.xml"), "{result}");
            assert_eq!(result.replace("res_", "req_"), name);
            assert_eq!(parsed.err(), format!("{}202612070001.err", kind.prefix()));
        }
        assert_eq!(
            RequestName::parse("YZKsiquc01req_01261207123412345.xml")
                .unwrap()
                .result("pdf"),
            "YZKsiquc01res_01261207123412345.pdf"
        );
    }

    #[test]
    fn names_outside_the_interface_are_refused() {
        for bad in [
            "OQSsiquc01res_1.xml",
            "OQSsiquc01req_.xml",
            "OQSsiquc01req_1.txt",
            "OQSsiquc01req_../../etc.xml",
            "OQSsiquc01req_a b.xml",
            "hello.xml",
            "",
        ] {
            let e = RequestName::parse(bad).unwrap_err();
            assert_eq!(e.code(), "Z-Q-0006", "{bad}");
        }
        assert_eq!(err_name_for("../x y.xml"), "xy.err");
    }
}
