//! 医療機関等: the 10-digit code, the kind of institution and what it offers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::check_digit::{self, is_ascii_digits};
use crate::consent::ConsentItem;
use crate::error::{Result, ValidationError};
use crate::partner_origin::PartnerOrigin;
use crate::prefecture::Prefecture;

/// The kind of institution. The 点数表 digit of the code follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    /// 病院・診療所（医科） — 点数表 1
    Medical,
    /// 病院・診療所（歯科） — 点数表 3
    Dental,
    /// 薬局 — 点数表 4
    Pharmacy,
    /// 訪問看護ステーション — 点数表 6
    HomeNursing,
}

impl InstitutionKind {
    pub const ALL: [Self; 4] = [
        Self::Medical,
        Self::Dental,
        Self::Pharmacy,
        Self::HomeNursing,
    ];

    pub fn table_digit(self) -> char {
        match self {
            Self::Medical => '1',
            Self::Dental => '3',
            Self::Pharmacy => '4',
            Self::HomeNursing => '6',
        }
    }

    pub fn from_table_digit(c: char) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.table_digit() == c)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Medical => "病院・診療所（医科）",
            Self::Dental => "病院・診療所（歯科）",
            Self::Pharmacy => "薬局",
            Self::HomeNursing => "訪問看護ステーション",
        }
    }

    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medical => "medical",
            Self::Dental => "dental",
            Self::Pharmacy => "pharmacy",
            Self::HomeNursing => "home_nursing",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "施設の種類",
                value: s.to_owned(),
            })
    }

    /// Only hospitals and clinics issue prescriptions (seed 000: ※電子処方箋に
    /// 対応している病院・診療所のみ).
    pub fn issues_prescriptions(self) -> bool {
        matches!(self, Self::Medical | Self::Dental)
    }
}

/// A validated 医療機関等コード: 都道府県 2 + 点数表 1 + 郡市区 2 + 機関番号 4 + 検証 1.
///
/// The check digit covers all nine digits before it (都道府県 + 点数表 + 郡市区 +
/// 機関番号), with the method of [`check_digit`]: the public example
/// `0110113719` (body `011011371` → 9) holds only that way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstitutionCode {
    digits: String,
    prefecture: Prefecture,
    kind: InstitutionKind,
}

impl InstitutionCode {
    const FIELD: &'static str = "医療機関等コード";

    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValidationError::Required { field: Self::FIELD });
        }
        if !is_ascii_digits(s, 10) {
            return Err(ValidationError::DigitsLength {
                field: Self::FIELD,
                expected: "10",
            });
        }
        let prefecture = Prefecture::from_digits(&s[..2])?;
        let table = s.as_bytes()[2] as char;
        let kind = InstitutionKind::from_table_digit(table)
            .ok_or(ValidationError::InstitutionTable(table))?;
        if !check_digit::verify(s) {
            return Err(ValidationError::CheckDigit { field: Self::FIELD });
        }
        Ok(Self {
            digits: s.to_owned(),
            prefecture,
            kind,
        })
    }

    /// Builds a valid code, computing the check digit.
    pub fn build(
        prefecture: Prefecture,
        kind: InstitutionKind,
        district: u8,
        number: u16,
    ) -> Result<Self> {
        let body = format!(
            "{}{}{:02}{:04}",
            prefecture.digits(),
            kind.table_digit(),
            district % 100,
            number % 10_000
        );
        let check = check_digit::compute(&body).unwrap_or(0);
        Self::parse(&format!("{body}{check}"))
    }

    /// Parses and checks that the 点数表 digit agrees with the kind.
    pub fn parse_for(s: &str, kind: InstitutionKind) -> Result<Self> {
        let code = Self::parse(s)?;
        if code.kind() != kind {
            return Err(ValidationError::InstitutionKindMismatch { kind: kind.label() });
        }
        Ok(code)
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn kind(&self) -> InstitutionKind {
        self.kind
    }

    pub fn prefecture(&self) -> Prefecture {
        self.prefecture
    }
}

impl fmt::Display for InstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl TryFrom<String> for InstitutionCode {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<InstitutionCode> for String {
    fn from(c: InstitutionCode) -> Self {
        c.digits
    }
}

/// An institution and its web-service settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub code: InstitutionCode,
    pub name: String,
    pub kind: InstitutionKind,
    /// 電子処方箋に対応している (hospitals and clinics only).
    pub eprescription: bool,
    /// 「オンライン診療等・外来診療等（通常とは異なる動線）機能」 switched on.
    pub remote_function_enabled: bool,
    /// The consent items its web service shows, in display order.
    pub consent_items: Vec<ConsentItem>,
    /// オンライン診療サービスの戻り先: the only origins a `return=` URL may
    /// have (at most [`crate::partner_origin::MAX_ORIGINS`], no repeats).
    #[serde(default)]
    pub partner_origins: Vec<PartnerOrigin>,
}

impl Institution {
    pub fn new(code: InstitutionCode, name: &str, eprescription: bool) -> Result<Self> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ValidationError::Required {
                field: "医療機関等名称",
            });
        }
        if name.chars().count() > 100 {
            return Err(ValidationError::TooLong {
                field: "医療機関等名称",
                max: 100,
            });
        }
        let kind = code.kind();
        if eprescription && !kind.issues_prescriptions() {
            return Err(ValidationError::EprescriptionNotApplicable);
        }
        Ok(Self {
            code,
            name: name.to_owned(),
            kind,
            eprescription,
            remote_function_enabled: false,
            consent_items: ConsentItem::default_for(kind),
            partner_origins: Vec::new(),
        })
    }

    /// The prescription-form question is asked only here (seed 000 part 3).
    pub fn asks_prescription_form(&self) -> bool {
        self.eprescription && self.kind.issues_prescriptions()
    }

    pub fn offers(&self, item: ConsentItem) -> bool {
        self.consent_items.contains(&item)
    }

    /// Replaces the offered items, keeping the canonical order and dropping repeats.
    pub fn set_consent_items(&mut self, items: &[ConsentItem]) {
        self.consent_items = ConsentItem::ALL
            .into_iter()
            .filter(|i| items.contains(i))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_kind() {
        let tokyo = Prefecture::new(13).unwrap();
        let c = InstitutionCode::build(tokyo, InstitutionKind::Medical, 1, 2345).unwrap();
        assert_eq!(c.as_str(), "1310123458");
        assert_eq!(c.kind(), InstitutionKind::Medical);
        assert_eq!(c.prefecture().name(), "東京都");
        for kind in InstitutionKind::ALL {
            let c = InstitutionCode::build(Prefecture::new(27).unwrap(), kind, 12, 9876).unwrap();
            assert_eq!(c.kind(), kind);
            assert!(InstitutionCode::parse_for(c.as_str(), kind).is_ok());
        }
    }

    #[test]
    fn check_digit_covers_all_nine_digits() {
        // The public example: body 011011371 → 9.
        let c = InstitutionCode::parse("0110113719").unwrap();
        assert_eq!(c.kind(), InstitutionKind::Medical);
        assert_eq!(c.prefecture().name(), "北海道");
        let built = InstitutionCode::build(
            Prefecture::new(1).unwrap(),
            InstitutionKind::Medical,
            1,
            1371,
        )
        .unwrap();
        assert_eq!(built, c);
        // Valid if only 郡市区 + 機関番号 were checked (012345 → 5), but the
        // prefecture and 点数表 digits count too.
        assert_eq!(
            InstitutionCode::parse("1310123455").unwrap_err().code(),
            "Z-V-0003"
        );
        // The same district and number in another prefecture or table needs
        // another check digit.
        let osaka = InstitutionCode::build(
            Prefecture::new(27).unwrap(),
            InstitutionKind::Medical,
            1,
            2345,
        )
        .unwrap();
        let tokyo_pharmacy = InstitutionCode::build(
            Prefecture::new(13).unwrap(),
            InstitutionKind::Pharmacy,
            1,
            2345,
        )
        .unwrap();
        assert_eq!(osaka.as_str(), "2710123452");
        assert_eq!(tokyo_pharmacy.as_str(), "1340123452");
    }

    #[test]
    fn refusals() {
        let code = |s: &str| InstitutionCode::parse(s).unwrap_err().code();
        assert_eq!(code(""), "Z-V-0001");
        assert_eq!(code("131012345"), "Z-V-0002");
        assert_eq!(code("13101234588"), "Z-V-0002");
        assert_eq!(code("1310123457"), "Z-V-0003");
        assert_eq!(code("1320123455"), "Z-V-0004");
        assert_eq!(code("1350123455"), "Z-V-0004");
        assert_eq!(code("4810123455"), "Z-V-0005");
        assert_eq!(code("0010123455"), "Z-V-0005");
        assert_eq!(
            InstitutionCode::parse("1310123455")
                .unwrap_err()
                .to_string(),
            "医療機関等コードの検証番号（チェックデジット）が正しくありません。番号をもう一度ご確認ください。"
        );
        assert_eq!(
            InstitutionCode::parse_for("1310123458", InstitutionKind::Pharmacy)
                .unwrap_err()
                .code(),
            "Z-V-0006"
        );
    }

    #[test]
    fn eprescription_only_for_clinics() {
        let tokyo = Prefecture::new(13).unwrap();
        let pharmacy = InstitutionCode::build(tokyo, InstitutionKind::Pharmacy, 1, 1).unwrap();
        assert_eq!(
            Institution::new(pharmacy.clone(), "みどり薬局", true)
                .unwrap_err()
                .code(),
            "Z-V-0019"
        );
        let p = Institution::new(pharmacy, "みどり薬局", false).unwrap();
        assert!(!p.asks_prescription_form());
        let clinic = InstitutionCode::build(tokyo, InstitutionKind::Medical, 1, 1).unwrap();
        let c = Institution::new(clinic, "  ", true);
        assert_eq!(c.unwrap_err().code(), "Z-V-0001");
    }

    #[test]
    fn consent_items_keep_canonical_order() {
        let clinic =
            InstitutionCode::build(Prefecture::new(1).unwrap(), InstitutionKind::Medical, 1, 1)
                .unwrap();
        let mut i = Institution::new(clinic, "さくら診療所", true).unwrap();
        i.set_consent_items(&[
            ConsentItem::Checkups,
            ConsentItem::ClinicalAndDrug,
            ConsentItem::Checkups,
        ]);
        assert_eq!(
            i.consent_items,
            vec![ConsentItem::ClinicalAndDrug, ConsentItem::Checkups]
        );
        assert!(i.offers(ConsentItem::Checkups));
        assert!(!i.offers(ConsentItem::LimitAmount));
    }
}
