//! 保険者番号 and the insured person's 記号・番号・枝番.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::check_digit::{self, is_ascii_digits};
use crate::error::{Result, ValidationError};
use crate::prefecture::Prefecture;

/// The kind of insurer, read from the 法別番号 (or the 6-digit 国保 form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InsurerKind {
    /// 01 全国健康保険協会管掌健康保険（協会けんぽ）
    KyokaiKenpo,
    /// 02 船員保険
    Seamen,
    /// 03, 04 日雇特例被保険者
    DayLaborer,
    /// 06 組合管掌健康保険
    HealthInsuranceSociety,
    /// 07 防衛省職員給与法による自衛官等
    SelfDefenseForces,
    /// 31–34 共済組合
    MutualAid,
    /// 63, 72–75 特例退職・特定健康保険組合等
    SpecialRetiree,
    /// 39 後期高齢者医療
    LateElderly,
    /// 6 digits: 国民健康保険（市町村・国保組合）
    NationalHealth,
}

impl InsurerKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::KyokaiKenpo => "協会けんぽ",
            Self::Seamen => "船員保険",
            Self::DayLaborer => "日雇特例被保険者",
            Self::HealthInsuranceSociety => "健康保険組合",
            Self::SelfDefenseForces => "自衛官等",
            Self::MutualAid => "共済組合",
            Self::SpecialRetiree => "特例退職被保険者等",
            Self::LateElderly => "後期高齢者医療",
            Self::NationalHealth => "国民健康保険",
        }
    }

    /// 法別番号 → kind. `None` for numbers outside the health-insurance range.
    pub fn from_law_number(law: u8) -> Option<Self> {
        Some(match law {
            1 => Self::KyokaiKenpo,
            2 => Self::Seamen,
            3 | 4 => Self::DayLaborer,
            6 => Self::HealthInsuranceSociety,
            7 => Self::SelfDefenseForces,
            31..=34 => Self::MutualAid,
            39 => Self::LateElderly,
            63 | 72..=75 => Self::SpecialRetiree,
            _ => return None,
        })
    }
}

/// A validated 保険者番号: 8 digits (法別 2 + 都道府県 2 + 保険者 3 + 検証 1)
/// or 6 digits for 国民健康保険 (都道府県 2 + 保険者 3 + 検証 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InsurerNumber(String, Prefecture);

impl InsurerNumber {
    const FIELD: &'static str = "保険者番号";

    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValidationError::Required { field: Self::FIELD });
        }
        if !(is_ascii_digits(s, 8) || is_ascii_digits(s, 6)) {
            return Err(ValidationError::DigitsLength {
                field: Self::FIELD,
                expected: "8（国民健康保険は6）",
            });
        }
        let pref_at = if s.len() == 8 { 2 } else { 0 };
        let prefecture = Prefecture::from_digits(&s[pref_at..pref_at + 2])?;
        if s.len() == 8 {
            let law: u8 = s[..2].parse().unwrap_or(0);
            if InsurerKind::from_law_number(law).is_none() {
                return Err(ValidationError::UnknownCode {
                    field: "法別番号",
                    value: s[..2].to_owned(),
                });
            }
        }
        if !check_digit::verify(s) {
            return Err(ValidationError::CheckDigit { field: Self::FIELD });
        }
        Ok(Self(s.to_owned(), prefecture))
    }

    /// Builds a valid number from its parts, computing the check digit.
    /// `law` is `None` for 国民健康保険.
    pub fn build(law: Option<u8>, prefecture: Prefecture, insurer: u16) -> Result<Self> {
        let body = match law {
            Some(l) => format!("{l:02}{}{:03}", prefecture.digits(), insurer % 1000),
            None => format!("{}{:03}", prefecture.digits(), insurer % 1000),
        };
        let check = check_digit::compute(&body).ok_or(ValidationError::DigitsLength {
            field: Self::FIELD,
            expected: "8（国民健康保険は6）",
        })?;
        Self::parse(&format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> InsurerKind {
        if self.0.len() == 6 {
            return InsurerKind::NationalHealth;
        }
        // parse() guaranteed a known law number.
        InsurerKind::from_law_number(self.0[..2].parse().unwrap_or(0))
            .unwrap_or(InsurerKind::NationalHealth)
    }

    pub fn prefecture(&self) -> Prefecture {
        self.1
    }
}

impl fmt::Display for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for InsurerNumber {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<InsurerNumber> for String {
    fn from(n: InsurerNumber) -> Self {
        n.0
    }
}

/// 被保険者証等記号 / 番号: up to 20 characters each. The national layout allows
/// full-width characters in the symbol (e.g. 「千葉」), so only the length and the
/// absence of control characters are enforced.
pub fn validate_symbol_or_number(field: &'static str, s: &str, required: bool) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return if required {
            Err(ValidationError::Required { field })
        } else {
            Ok(String::new())
        };
    }
    if s.chars().count() > 20 {
        return Err(ValidationError::TooLong { field, max: 20 });
    }
    if s.chars().any(char::is_control) {
        return Err(ValidationError::Characters {
            field,
            allowed: "改行やタブは使用できません。",
        });
    }
    Ok(s.to_owned())
}

/// 枝番: exactly two ASCII digits ("00"–"99").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BranchNumber(u8);

impl BranchNumber {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if !is_ascii_digits(s, 2) {
            return Err(ValidationError::DigitsLength {
                field: "枝番",
                expected: "2",
            });
        }
        Ok(Self(s.parse().unwrap_or(0)))
    }

    pub fn new(n: u8) -> Option<Self> {
        (n < 100).then_some(Self(n))
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for BranchNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl TryFrom<String> for BranchNumber {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<BranchNumber> for String {
    fn from(b: BranchNumber) -> Self {
        b.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_digit_numbers() {
        // 06 13 048 + 8: the DESIGN.md example, a 健康保険組合 in 東京都.
        let n = InsurerNumber::parse("06130488").unwrap();
        assert_eq!(n.kind(), InsurerKind::HealthInsuranceSociety);
        assert_eq!(n.prefecture().name(), "東京都");
        // 01 13 001 → 協会けんぽ 東京支部-style.
        let k = InsurerNumber::build(Some(1), Prefecture::new(13).unwrap(), 1).unwrap();
        assert_eq!(k.as_str(), "01130012");
        assert_eq!(k.kind(), InsurerKind::KyokaiKenpo);
        // 後期高齢 39 13 001 → 39130018.
        let l = InsurerNumber::parse("39130018").unwrap();
        assert_eq!(l.kind(), InsurerKind::LateElderly);
        // 共済 31 13 001: 1·2,0,0·2,3,1·2,1,3·2 → 2+0+0+3+2+1+6=14 → 6.
        assert_eq!(
            InsurerNumber::parse("31130016").unwrap().kind(),
            InsurerKind::MutualAid
        );
    }

    #[test]
    fn six_digit_national_health() {
        // 13 800 + check: 0·2,0,8·2=16→7,3,1·2 → 0+0+7+3+2=12 → 8.
        let n = InsurerNumber::parse("138008").unwrap();
        assert_eq!(n.kind(), InsurerKind::NationalHealth);
        assert_eq!(n.prefecture().name(), "東京都");
        assert_eq!(
            InsurerNumber::parse("138001").unwrap_err().code(),
            "Z-V-0003"
        );
    }

    #[test]
    fn refusals_have_their_codes() {
        let code = |s: &str| InsurerNumber::parse(s).unwrap_err().code();
        assert_eq!(code(""), "Z-V-0001");
        assert_eq!(code("1234567"), "Z-V-0002");
        assert_eq!(code("0613048８"), "Z-V-0002");
        assert_eq!(code("06130487"), "Z-V-0003");
        assert_eq!(code("06480488"), "Z-V-0005");
        assert_eq!(code("99130018"), "Z-V-0009");
    }

    #[test]
    fn every_kind_builds_valid_numbers() {
        let tokyo = Prefecture::new(13).unwrap();
        for law in [1u8, 2, 3, 4, 6, 7, 31, 32, 33, 34, 39, 63, 72, 75] {
            for insurer in [0u16, 1, 57, 999] {
                let n = InsurerNumber::build(Some(law), tokyo, insurer).unwrap();
                assert!(check_digit::verify(n.as_str()));
            }
        }
        assert_eq!(
            InsurerNumber::build(Some(99), tokyo, 1).unwrap_err().code(),
            "Z-V-0009"
        );
    }

    #[test]
    fn branch_number() {
        assert_eq!(BranchNumber::parse("02").unwrap().to_string(), "02");
        for bad in ["2", "002", "a2"] {
            assert_eq!(
                BranchNumber::parse(bad),
                Err(ValidationError::DigitsLength {
                    field: "枝番",
                    expected: "2"
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn symbol_and_number() {
        assert_eq!(
            validate_symbol_or_number("記号", " 1234 ", true).unwrap(),
            "1234"
        );
        assert_eq!(
            validate_symbol_or_number("記号", "千葉", true).unwrap(),
            "千葉"
        );
        assert_eq!(
            validate_symbol_or_number("番号", "", true),
            Err(ValidationError::Required { field: "番号" })
        );
        assert_eq!(validate_symbol_or_number("記号", "", false).unwrap(), "");
        assert_eq!(
            validate_symbol_or_number("番号", &"1".repeat(21), true),
            Err(ValidationError::TooLong {
                field: "番号",
                max: 20
            })
        );
        assert!(validate_symbol_or_number("番号", &"１".repeat(20), true).is_ok());
        assert_eq!(
            validate_symbol_or_number("番号", "12\t3", true),
            Err(ValidationError::Characters {
                field: "番号",
                allowed: "改行やタブは使用できません。"
            })
        );
    }
}
