//! Validation errors: a stable code for machines and a Japanese sentence for people.
//!
//! Codes are never renumbered; a retired code stays retired. The table lives in
//! `docs/error-codes.md` and a test keeps the two in step.

use std::fmt;

/// Everything a domain rule can refuse. Each variant maps to exactly one code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field}を入力してください。")]
    Required { field: &'static str },
    #[error("{field}は半角数字{expected}桁で入力してください。")]
    DigitsLength {
        field: &'static str,
        expected: &'static str,
    },
    #[error(
        "{field}の検証番号（チェックデジット）が正しくありません。番号をもう一度ご確認ください。"
    )]
    CheckDigit { field: &'static str },
    #[error(
        "医療機関等コードの点数表コード「{0}」は使用できません（1: 医科、3: 歯科、4: 調剤、6: 訪問看護）。"
    )]
    InstitutionTable(char),
    #[error("都道府県番号「{0}」は存在しません（01〜47）。")]
    Prefecture(String),
    #[error("医療機関等コードの点数表コードが施設の種類（{kind}）と一致しません。")]
    InstitutionKindMismatch { kind: &'static str },
    #[error("{field}は{max}文字以内で入力してください。")]
    TooLong { field: &'static str, max: usize },
    #[error("{field}に使用できない文字が含まれています。{allowed}")]
    Characters {
        field: &'static str,
        allowed: &'static str,
    },
    #[error("{field}の値「{value}」は定義されていません。")]
    UnknownCode { field: &'static str, value: String },
    #[error("{field}の日付「{value}」が正しくありません（例: 2026-04-01）。")]
    Date { field: &'static str, value: String },
    #[error("{field}の期間が正しくありません（開始日が終了日より後です）。")]
    Period { field: &'static str },
    #[error("生年月日が未来の日付です。")]
    BirthDateInFuture,
    #[error("特定疾病療養受療証は3件までです。")]
    TooManySpecificDiseases,
    #[error("処方箋の発行方法を選択してください。")]
    PrescriptionFormRequired,
    #[error("この医療機関等では処方箋の発行方法を選択できません。")]
    PrescriptionFormNotOffered,
    #[error("「{0}」はこの医療機関等では同意項目として設定されていません。")]
    ConsentItemNotOffered(&'static str),
    #[error(
        "同意項目が選択されていません。すべての項目で「同意する」か「同意しない」を選んでください。"
    )]
    ConsentItemMissing,
    #[error("受診予定日が正しくありません。本日以降の日付を入力してください。")]
    ConsultationDate,
    #[error("電子処方箋は病院・診療所（医科・歯科）でのみ設定できます。")]
    EprescriptionNotApplicable,
    #[error("パスワードは8〜20文字で入力してください。")]
    PasswordLength,
    #[error("パスワードには英大文字・英小文字・数字・記号をそれぞれ1文字以上含めてください。")]
    PasswordClasses,
    #[error(
        "オンライン診療サービスの戻り先「{0}」は https:// で始めてください（http:// は 127.0.0.1・localhost など、同じ端末の中で試すときだけ使えます）。"
    )]
    PartnerOriginScheme(String),
    #[error(
        "オンライン診療サービスの戻り先「{0}」はオリジンの形になっていません。https://ホスト名 または https://ホスト名:ポート番号 の形で入力してください（「/」以降のパス、「?」「#」「@」は含められません）。"
    )]
    PartnerOriginForm(String),
    #[error("オンライン診療サービスの戻り先は{max}件まで登録できます。")]
    TooManyPartnerOrigins { max: usize },
    #[error("資格確認日は{earliest}から本日までの範囲で指定してください。")]
    SearchPeriod { earliest: String },
}

impl ValidationError {
    /// Stable machine-readable code (`Z-V-nnnn`). Never reuse a number.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required { .. } => "Z-V-0001",
            Self::DigitsLength { .. } => "Z-V-0002",
            Self::CheckDigit { .. } => "Z-V-0003",
            Self::InstitutionTable(_) => "Z-V-0004",
            Self::Prefecture(_) => "Z-V-0005",
            Self::InstitutionKindMismatch { .. } => "Z-V-0006",
            Self::TooLong { .. } => "Z-V-0007",
            Self::Characters { .. } => "Z-V-0008",
            Self::UnknownCode { .. } => "Z-V-0009",
            Self::Date { .. } => "Z-V-0010",
            Self::Period { .. } => "Z-V-0011",
            Self::BirthDateInFuture => "Z-V-0012",
            Self::TooManySpecificDiseases => "Z-V-0013",
            Self::PrescriptionFormRequired => "Z-V-0014",
            Self::PrescriptionFormNotOffered => "Z-V-0015",
            Self::ConsentItemNotOffered(_) => "Z-V-0016",
            Self::ConsentItemMissing => "Z-V-0017",
            Self::ConsultationDate => "Z-V-0018",
            Self::EprescriptionNotApplicable => "Z-V-0019",
            Self::PasswordLength => "Z-V-0020",
            Self::PasswordClasses => "Z-V-0021",
            Self::PartnerOriginScheme(_) => "Z-V-0022",
            Self::PartnerOriginForm(_) => "Z-V-0023",
            Self::TooManyPartnerOrigins { .. } => "Z-V-0024",
            Self::SearchPeriod { .. } => "Z-V-0025",
        }
    }

    /// Every code with a one-line description, for documentation and tests.
    pub const CATALOGUE: &'static [(&'static str, &'static str)] = &[
        ("Z-V-0001", "必須項目が空"),
        ("Z-V-0002", "数字の桁数・形式が違う"),
        ("Z-V-0003", "チェックデジット不一致"),
        ("Z-V-0004", "医療機関等コードの点数表コードが不正"),
        ("Z-V-0005", "都道府県番号が不正"),
        ("Z-V-0006", "点数表コードと施設種別の不一致"),
        ("Z-V-0007", "文字数超過"),
        ("Z-V-0008", "使用できない文字"),
        ("Z-V-0009", "コード表にない値"),
        ("Z-V-0010", "日付の形式が不正"),
        ("Z-V-0011", "期間の開始日が終了日より後"),
        ("Z-V-0012", "生年月日が未来"),
        ("Z-V-0013", "特定疾病療養受療証が3件超"),
        ("Z-V-0014", "処方箋の発行方法が未選択"),
        ("Z-V-0015", "処方箋の発行方法を選べない施設"),
        ("Z-V-0016", "施設が提示していない同意項目"),
        ("Z-V-0017", "同意項目の未選択"),
        ("Z-V-0018", "受診予定日が不正"),
        ("Z-V-0019", "電子処方箋を設定できない施設種別"),
        ("Z-V-0020", "パスワードの文字数が8〜20文字でない"),
        ("Z-V-0021", "パスワードに必要な文字の種類が足りない"),
        (
            "Z-V-0022",
            "オンライン診療サービスの戻り先が https でない（http は自端末のみ）",
        ),
        (
            "Z-V-0023",
            "オンライン診療サービスの戻り先がオリジンの形でない",
        ),
        ("Z-V-0024", "オンライン診療サービスの戻り先が10件超"),
        ("Z-V-0025", "資格確認結果検索の期間が前月1日〜本日の外"),
    ];
}

/// A code plus message pair, for places that carry errors across layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded<'a> {
    pub code: &'a str,
    pub message: String,
}

impl fmt::Display for Coded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}（エラーコード: {}）", self.message, self.code)
    }
}

impl ValidationError {
    pub fn coded(&self) -> Coded<'static> {
        Coded {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

pub type Result<T, E = ValidationError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_catalogued() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in ValidationError::CATALOGUE {
            assert!(seen.insert(*code), "duplicate {code}");
        }
        let samples = [
            ValidationError::Required { field: "x" },
            ValidationError::CheckDigit { field: "x" },
            ValidationError::EprescriptionNotApplicable,
            ValidationError::PartnerOriginScheme("x".into()),
            ValidationError::PartnerOriginForm("x".into()),
            ValidationError::TooManyPartnerOrigins { max: 10 },
        ];
        for s in samples {
            assert!(seen.contains(s.code()));
        }
    }

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../../docs/error-codes.md");
        for (code, _) in ValidationError::CATALOGUE {
            assert!(
                doc.contains(&format!("| {code} |")),
                "{code} missing from docs/error-codes.md"
            );
        }
    }

    #[test]
    fn coded_display_carries_both() {
        let e = ValidationError::CheckDigit {
            field: "保険者番号",
        };
        assert_eq!(
            e.coded().to_string(),
            "保険者番号の検証番号（チェックデジット）が正しくありません。番号をもう一度ご確認ください。（エラーコード: Z-V-0003）"
        );
    }
}
