//! The eligibility registry's model: qualifications with their history,
//! certificates, public subsidies and 医療扶助, and how a lookup resolves them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::check_digit::{self, is_ascii_digits};
use crate::codes::{
    BurdenRatio, EligibilityCategory, LimitCertificateKind, LimitClass, LossReason, PersonalFamily,
    PublicSubsidyLaw, QualificationValidity, SpecificDisease,
};
use crate::error::{Result, ValidationError};
use crate::insurer::{BranchNumber, InsurerNumber};
use crate::person::{self, Person};
use crate::prefecture::Prefecture;

/// A closed or open date range; `to` is inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

impl Period {
    pub fn new(field: &'static str, from: NaiveDate, to: Option<NaiveDate>) -> Result<Self> {
        if to.is_some_and(|t| t < from) {
            return Err(ValidationError::Period { field });
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        d >= self.from && self.to.is_none_or(|t| d <= t)
    }
}

/// 公費負担者番号: 法別 2 + 都道府県 2 + 実施機関 3 + 検証 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PayerNumber(String);

impl PayerNumber {
    const FIELD: &'static str = "公費負担者番号";

    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if !is_ascii_digits(s, 8) {
            return Err(ValidationError::DigitsLength {
                field: Self::FIELD,
                expected: "8",
            });
        }
        PublicSubsidyLaw::parse(&s[..2])?;
        Prefecture::from_digits(&s[2..4])?;
        if !check_digit::verify(s) {
            return Err(ValidationError::CheckDigit { field: Self::FIELD });
        }
        Ok(Self(s.to_owned()))
    }

    pub fn build(law: PublicSubsidyLaw, prefecture: Prefecture, body: u16) -> Result<Self> {
        let b = format!("{}{}{:03}", law.code(), prefecture.digits(), body % 1000);
        let c = check_digit::compute(&b).unwrap_or(0);
        Self::parse(&format!("{b}{c}"))
    }

    pub fn law(&self) -> PublicSubsidyLaw {
        // parse() accepted the law number.
        PublicSubsidyLaw::parse(&self.0[..2]).unwrap_or(PublicSubsidyLaw::LocalChild)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PayerNumber {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}
impl From<PayerNumber> for String {
    fn from(n: PayerNumber) -> Self {
        n.0
    }
}

/// 公費受給者番号: 6 digits + check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecipientNumber(String);

impl RecipientNumber {
    const FIELD: &'static str = "受給者番号";

    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if !is_ascii_digits(s, 7) {
            return Err(ValidationError::DigitsLength {
                field: Self::FIELD,
                expected: "7",
            });
        }
        if !check_digit::verify(s) {
            return Err(ValidationError::CheckDigit { field: Self::FIELD });
        }
        Ok(Self(s.to_owned()))
    }

    pub fn build(body: u32) -> Result<Self> {
        let b = format!("{:06}", body % 1_000_000);
        let c = check_digit::compute(&b).unwrap_or(0);
        Self::parse(&format!("{b}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RecipientNumber {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}
impl From<RecipientNumber> for String {
    fn from(n: RecipientNumber) -> Self {
        n.0
    }
}

/// What a qualification is: health insurance, or 医療扶助 (no insurer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Coverage {
    Insurance {
        insurer_number: InsurerNumber,
        insurer_name: String,
        symbol: String,
        number: String,
        branch: BranchNumber,
        personal_family: PersonalFamily,
        /// 被保険者氏名 (the insured person; differs from the patient for 家族).
        insured_name: String,
        /// 一部負担割合, shown for 後期高齢者医療.
        burden_ratio: Option<BurdenRatio>,
    },
    MedicalAssistance {
        welfare_office_name: String,
        payer_number: PayerNumber,
        recipient_number: RecipientNumber,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    /// 資格喪失日: the first day no longer covered.
    pub on: NaiveDate,
    pub reason: LossReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    pub id: i64,
    pub coverage: Coverage,
    /// 資格取得年月日.
    pub acquired_on: NaiveDate,
    /// 交付年月日: when its card or 資格確認書 was issued, if known.
    #[serde(default)]
    pub issued_on: Option<NaiveDate>,
    /// 有効開始日 / 有効終了日.
    pub valid: Period,
    pub loss: Option<Loss>,
}

impl Qualification {
    pub fn covers(&self, d: NaiveDate) -> bool {
        self.valid.contains(d) && self.loss.is_none_or(|l| d < l.on)
    }

    pub fn is_medical_assistance(&self) -> bool {
        matches!(self.coverage, Coverage::MedicalAssistance { .. })
    }
}

/// 高齢受給者証.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElderlyCertificate {
    pub valid: Period,
    pub burden_ratio: BurdenRatio,
}

/// 限度額適用認定証 (or 限度額適用・標準負担額減額認定証).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitCertificate {
    pub kind: LimitCertificateKind,
    pub class: LimitClass,
    pub valid: Period,
    /// 長期入院該当年月日.
    pub long_term_from: Option<NaiveDate>,
}

/// 特定疾病療養受療証 (at most 3 per person).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecificDiseaseCertificate {
    pub disease: SpecificDisease,
    pub valid: Period,
    /// 自己負担限度額 (円), 10,000 or 20,000.
    pub self_pay_limit_yen: u32,
}

/// 医療費助成受給者証 / 公費.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSubsidy {
    pub payer_number: PayerNumber,
    pub recipient_number: Option<RecipientNumber>,
    pub valid: Period,
    /// 月額自己負担上限額 (円), where the programme has one.
    pub monthly_limit_yen: Option<u32>,
}

/// Everything the registry knows about one person's eligibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    pub person: Person,
    /// Oldest first: the qualification history.
    pub qualifications: Vec<Qualification>,
    pub elderly: Vec<ElderlyCertificate>,
    pub limits: Vec<LimitCertificate>,
    pub specific_diseases: Vec<SpecificDiseaseCertificate>,
    pub subsidies: Vec<PublicSubsidy>,
}

/// The answer to "what is this person's eligibility today?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution<'a> {
    pub validity: QualificationValidity,
    /// The qualification to show: the one in force, or the latest ended one.
    pub qualification: Option<&'a Qualification>,
}

impl Eligibility {
    pub const MAX_SPECIFIC_DISEASES: usize = 3;

    /// Checks the invariants a stored record must keep.
    pub fn validate(&self) -> Result<()> {
        if self.specific_diseases.len() > Self::MAX_SPECIFIC_DISEASES {
            return Err(ValidationError::TooManySpecificDiseases);
        }
        Ok(())
    }

    /// Resolution for a card-based lookup (the card identifies the person, not
    /// a qualification): one in force → 有効; several → 複数該当; none in force
    /// but a history → 無効 with the latest; no history → 該当資格なし.
    pub fn resolve(&self, on: NaiveDate) -> Resolution<'_> {
        let mut in_force = self.qualifications.iter().filter(|q| q.covers(on));
        match (in_force.next(), in_force.next()) {
            (Some(q), None) => Resolution {
                validity: QualificationValidity::Valid,
                qualification: Some(q),
            },
            (Some(q), Some(_)) => Resolution {
                validity: QualificationValidity::Multiple,
                qualification: Some(q),
            },
            (None, _) => Resolution {
                validity: if self.qualifications.is_empty() {
                    QualificationValidity::NotFound
                } else {
                    QualificationValidity::Invalid
                },
                qualification: self.latest(),
            },
        }
    }

    /// Resolution for a lookup by insurance-card data (保険者番号・記号・番号・枝番):
    /// a matching qualification that has ended is 無効, or 無効（新しい資格あり）
    /// when another qualification is in force.
    pub fn resolve_by_card(
        &self,
        insurer: &InsurerNumber,
        symbol: &str,
        number: &str,
        on: NaiveDate,
    ) -> Resolution<'_> {
        let matched = self
            .qualifications
            .iter()
            .rev()
            .find(|q| match &q.coverage {
                Coverage::Insurance {
                    insurer_number,
                    symbol: s,
                    number: n,
                    ..
                } => insurer_number == insurer && s == symbol && n == number,
                Coverage::MedicalAssistance { .. } => false,
            });
        let Some(q) = matched else {
            return Resolution {
                validity: QualificationValidity::NotFound,
                qualification: None,
            };
        };
        let validity = if q.covers(on) {
            QualificationValidity::Valid
        } else if self.qualifications.iter().any(|o| o.covers(on)) {
            QualificationValidity::InvalidNewerExists
        } else {
            QualificationValidity::Invalid
        };
        Resolution {
            validity,
            qualification: Some(q),
        }
    }

    fn latest(&self) -> Option<&Qualification> {
        self.qualifications
            .iter()
            .max_by_key(|q| (q.valid.from, q.id))
    }

    pub fn is_preschool(&self, on: NaiveDate) -> bool {
        person::is_preschool(self.person.birth_date, on)
    }

    pub fn elderly_on(&self, on: NaiveDate) -> Option<&ElderlyCertificate> {
        self.elderly.iter().find(|c| c.valid.contains(on))
    }

    pub fn limit_on(&self, on: NaiveDate) -> Option<&LimitCertificate> {
        self.limits.iter().find(|c| c.valid.contains(on))
    }

    pub fn specific_diseases_on(
        &self,
        on: NaiveDate,
    ) -> impl Iterator<Item = &SpecificDiseaseCertificate> {
        self.specific_diseases
            .iter()
            .filter(move |c| c.valid.contains(on))
    }

    /// 医療費助成受給者証: public subsidies in force, 医療扶助 excluded.
    pub fn subsidies_on(&self, on: NaiveDate) -> impl Iterator<Item = &PublicSubsidy> {
        self.subsidies
            .iter()
            .filter(move |s| s.valid.contains(on) && !s.payer_number.law().is_medical_assistance())
    }

    /// 区分 as shown on the completion and result screens.
    pub fn category(&self, on: NaiveDate) -> EligibilityCategory {
        let resolved = self.resolve(on);
        if resolved
            .qualification
            .is_some_and(Qualification::is_medical_assistance)
        {
            EligibilityCategory::MedicalAssistance
        } else if self.is_preschool(on) {
            EligibilityCategory::Preschool
        } else if self.elderly_on(on).is_some() {
            EligibilityCategory::ElderlyRecipient
        } else {
            EligibilityCategory::General
        }
    }

    /// 一部負担割合: the qualification's own (後期高齢), else the 高齢受給者証's,
    /// else 2割 before school and 3割 otherwise.
    pub fn burden_ratio(&self, on: NaiveDate) -> Option<BurdenRatio> {
        let resolved = self.resolve(on);
        let q = resolved.qualification.filter(|q| q.covers(on))?;
        match &q.coverage {
            Coverage::MedicalAssistance { .. } => None,
            Coverage::Insurance { burden_ratio, .. } => Some(burden_ratio.unwrap_or_else(|| {
                if let Some(e) = self.elderly_on(on) {
                    e.burden_ratio
                } else if self.is_preschool(on) {
                    BurdenRatio::Two
                } else {
                    BurdenRatio::Three
                }
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Sex;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn person(birth: NaiveDate) -> Person {
        Person {
            id: 1,
            name: "試験 花子".into(),
            name_kana: "シケン\u{3000}ハナコ".into(),
            birth_date: birth,
            sex: Sex::Female,
            postal_code: "1000001".into(),
            address: "東京都千代田区試験町1-1".into(),
            considerate: None,
            insurance_use_registered: true,
        }
    }

    fn insurance(
        id: i64,
        insurer: &str,
        number: &str,
        from: NaiveDate,
        loss: Option<Loss>,
    ) -> Qualification {
        Qualification {
            id,
            coverage: Coverage::Insurance {
                insurer_number: InsurerNumber::parse(insurer).unwrap(),
                insurer_name: "試験健康保険組合".into(),
                symbol: "1234".into(),
                number: number.into(),
                branch: BranchNumber::parse("00").unwrap(),
                personal_family: PersonalFamily::Insured,
                insured_name: "試験 花子".into(),
                burden_ratio: None,
            },
            acquired_on: from,
            issued_on: None,
            valid: Period { from, to: None },
            loss,
        }
    }

    fn eligibility(birth: NaiveDate, qualifications: Vec<Qualification>) -> Eligibility {
        Eligibility {
            person: person(birth),
            qualifications,
            elderly: vec![],
            limits: vec![],
            specific_diseases: vec![],
            subsidies: vec![],
        }
    }

    #[test]
    fn insurer_change_history() {
        let lost = Loss {
            on: d(2024, 4, 1),
            reason: LossReason::Transfer,
        };
        let e = eligibility(
            d(1980, 6, 1),
            vec![
                insurance(1, "06130488", "1", d(2010, 4, 1), Some(lost)),
                insurance(2, "01130012", "2", d(2024, 4, 1), None),
            ],
        );
        let r = e.resolve(d(2025, 1, 1));
        assert_eq!(r.validity, QualificationValidity::Valid);
        assert_eq!(r.qualification.map(|q| q.id), Some(2));
        // The day before the change the old one was in force.
        assert_eq!(
            e.resolve(d(2024, 3, 31)).qualification.map(|q| q.id),
            Some(1)
        );
        // Looking up by the old card's data.
        let old = InsurerNumber::parse("06130488").unwrap();
        assert_eq!(
            e.resolve_by_card(&old, "1234", "1", d(2025, 1, 1)).validity,
            QualificationValidity::InvalidNewerExists
        );
        assert_eq!(
            e.resolve_by_card(&old, "1234", "9", d(2025, 1, 1)).validity,
            QualificationValidity::NotFound
        );
    }

    #[test]
    fn lost_without_successor_is_invalid() {
        let lost = Loss {
            on: d(2025, 1, 1),
            reason: LossReason::Retirement,
        };
        let e = eligibility(
            d(1980, 6, 1),
            vec![insurance(1, "06130488", "1", d(2010, 4, 1), Some(lost))],
        );
        assert_eq!(
            e.resolve(d(2025, 1, 1)).validity,
            QualificationValidity::Invalid
        );
        let old = InsurerNumber::parse("06130488").unwrap();
        assert_eq!(
            e.resolve_by_card(&old, "1234", "1", d(2025, 6, 1)).validity,
            QualificationValidity::Invalid
        );
        assert_eq!(
            eligibility(d(1980, 6, 1), vec![])
                .resolve(d(2025, 1, 1))
                .validity,
            QualificationValidity::NotFound
        );
        assert_eq!(e.burden_ratio(d(2025, 1, 1)), None);
    }

    #[test]
    fn two_in_force_is_multiple() {
        let e = eligibility(
            d(1980, 6, 1),
            vec![
                insurance(1, "06130488", "1", d(2010, 4, 1), None),
                insurance(2, "01130012", "2", d(2020, 4, 1), None),
            ],
        );
        assert_eq!(
            e.resolve(d(2025, 1, 1)).validity,
            QualificationValidity::Multiple
        );
    }

    #[test]
    fn categories_and_ratios() {
        let today = d(2026, 11, 21);
        let child = eligibility(
            d(2021, 5, 5),
            vec![insurance(1, "06130488", "1", d(2021, 5, 5), None)],
        );
        assert_eq!(child.category(today), EligibilityCategory::Preschool);
        assert_eq!(child.burden_ratio(today), Some(BurdenRatio::Two));

        let mut elder = eligibility(
            d(1954, 3, 10),
            vec![insurance(1, "06130488", "1", d(1990, 4, 1), None)],
        );
        elder.elderly.push(ElderlyCertificate {
            valid: Period {
                from: d(2024, 4, 1),
                to: Some(d(2027, 3, 31)),
            },
            burden_ratio: BurdenRatio::Two,
        });
        assert_eq!(elder.category(today), EligibilityCategory::ElderlyRecipient);
        assert_eq!(elder.burden_ratio(today), Some(BurdenRatio::Two));

        let adult = eligibility(
            d(1980, 6, 1),
            vec![insurance(1, "06130488", "1", d(2010, 4, 1), None)],
        );
        assert_eq!(adult.category(today), EligibilityCategory::General);
        assert_eq!(adult.burden_ratio(today), Some(BurdenRatio::Three));
    }

    #[test]
    fn medical_assistance_has_no_insurer() {
        let tokyo = Prefecture::new(13).unwrap();
        let q = Qualification {
            id: 1,
            coverage: Coverage::MedicalAssistance {
                welfare_office_name: "試験区福祉事務所".into(),
                payer_number: PayerNumber::build(PublicSubsidyLaw::PublicAssistance, tokyo, 101)
                    .unwrap(),
                recipient_number: RecipientNumber::build(123_456).unwrap(),
            },
            acquired_on: d(2022, 4, 1),
            issued_on: None,
            valid: Period {
                from: d(2022, 4, 1),
                to: None,
            },
            loss: None,
        };
        let e = eligibility(d(1950, 1, 1), vec![q]);
        assert_eq!(
            e.category(d(2026, 1, 1)),
            EligibilityCategory::MedicalAssistance
        );
        assert_eq!(e.burden_ratio(d(2026, 1, 1)), None);
    }

    #[test]
    fn subsidy_numbers() {
        let tokyo = Prefecture::new(13).unwrap();
        // 54 13 001 → body 5413001: 1·2,0,0,3,1·2,4,5·2=10→1 → 2+0+0+3+2+4+1=12 → 8.
        let p = PayerNumber::build(PublicSubsidyLaw::IntractableDisease, tokyo, 1).unwrap();
        assert_eq!(p.as_str(), "54130018");
        assert_eq!(p.law(), PublicSubsidyLaw::IntractableDisease);
        assert_eq!(
            PayerNumber::parse("54130017").unwrap_err().code(),
            "Z-V-0003"
        );
        assert_eq!(
            PayerNumber::parse("55130017").unwrap_err().code(),
            "Z-V-0009"
        );
        assert_eq!(
            PayerNumber::parse("5413001").unwrap_err().code(),
            "Z-V-0002"
        );
        // 123456: 6·2=12→3,5,4·2=8,3,2·2=4,1 → 24 → 6.
        assert_eq!(RecipientNumber::build(123_456).unwrap().as_str(), "1234566");
        assert_eq!(
            RecipientNumber::parse("1234567").unwrap_err().code(),
            "Z-V-0003"
        );
    }

    #[test]
    fn periods() {
        assert_eq!(
            Period::new("有効期間", d(2025, 4, 1), Some(d(2025, 3, 31))),
            Err(ValidationError::Period {
                field: "有効期間"
            })
        );
        let p = Period::new("有効期間", d(2025, 4, 1), Some(d(2026, 3, 31))).unwrap();
        assert!(p.contains(d(2026, 3, 31)));
        assert!(!p.contains(d(2026, 4, 1)));
        assert!(!p.contains(d(2025, 3, 31)));
    }

    #[test]
    fn at_most_three_specific_diseases() {
        let mut e = eligibility(d(1970, 1, 1), vec![]);
        for disease in [
            SpecificDisease::Dialysis,
            SpecificDisease::Hemophilia,
            SpecificDisease::BloodProductHiv,
            SpecificDisease::Dialysis,
        ] {
            e.specific_diseases.push(SpecificDiseaseCertificate {
                disease,
                valid: Period {
                    from: d(2020, 1, 1),
                    to: None,
                },
                self_pay_limit_yen: 10_000,
            });
        }
        assert_eq!(e.validate().unwrap_err().code(), "Z-V-0013");
        e.specific_diseases.pop();
        assert!(e.validate().is_ok());
    }
}
