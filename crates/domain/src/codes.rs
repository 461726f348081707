//! The national code lists (オンライン資格確認 別紙 code tables) as enums that know
//! their code and their Japanese label.

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// Declares a code-list enum: each variant has its wire code and its label.
macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident, field = $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[ $( Self::$variant ),+ ];
            const FIELD: &'static str = $field;

            /// The code as it appears in national files and in storage.
            pub fn code(self) -> &'static str {
                match self { $( Self::$variant => $code ),+ }
            }

            /// The Japanese label shown to people.
            pub fn label(self) -> &'static str {
                match self { $( Self::$variant => $label ),+ }
            }

            pub fn parse(code: &str) -> Result<Self> {
                match code.trim() {
                    $( $code => Ok(Self::$variant), )+
                    other => Err(ValidationError::UnknownCode {
                        field: Self::FIELD,
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.code().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

code_list! {
    /// 資格有効性 (QualificationValidity).
    QualificationValidity, field = "資格有効性" {
        Valid = "1" => "有効",
        Invalid = "2" => "無効",
        InvalidNewerExists = "3" => "無効（新しい資格あり）",
        NotFound = "4" => "該当資格なし",
        Multiple = "5" => "複数該当",
        /// 医療扶助 only; zaitaku reads it but never answers it.
        ValidUnregistered = "6" => "有効（未登録）",
    }
}

code_list! {
    /// 本人・家族の別 (PersonalFamilyClassification).
    PersonalFamily, field = "本人・家族の別" {
        Insured = "1" => "本人",
        Dependent = "2" => "家族",
    }
}

code_list! {
    /// 性別 (Sex1 / Sex2).
    Sex, field = "性別" {
        Male = "1" => "男",
        Female = "2" => "女",
        Unset = "3" => "未設定",
    }
}

code_list! {
    /// 一部負担割合 / 負担割合 (InsuredPartialContributionRatio), three digits.
    BurdenRatio, field = "負担割合" {
        One = "010" => "1割",
        Two = "020" => "2割",
        Three = "030" => "3割",
    }
}

impl BurdenRatio {
    /// The wording on the completion screen of seed 000 (「1割負担」).
    pub fn burden_label(self) -> &'static str {
        match self {
            Self::One => "1割負担",
            Self::Two => "2割負担",
            Self::Three => "3割負担",
        }
    }
}

code_list! {
    /// 限度額適用認定証区分: which certificate was issued.
    LimitCertificateKind, field = "限度額適用認定証区分" {
        Limit = "01" => "限度額適用認定証",
        LimitAndMealReduction = "02" => "限度額適用・標準負担額減額認定証",
    }
}

code_list! {
    /// 限度額適用認定証 適用区分 (A01–A06 under 70, B01–B10 from 70).
    LimitClass, field = "限度額適用区分" {
        A01 = "A01" => "ア",
        A02 = "A02" => "イ",
        A03 = "A03" => "ウ",
        A04 = "A04" => "エ",
        A05 = "A05" => "オ",
        A06 = "A06" => "オ（境）",
        B01 = "B01" => "現役並みⅢ",
        B02 = "B02" => "現役並みⅡ",
        B03 = "B03" => "現役並みⅠ",
        B04 = "B04" => "一般",
        B05 = "B05" => "低所得Ⅱ",
        B06 = "B06" => "低所得Ⅰ",
        B07 = "B07" => "低所得Ⅰ（老福）",
        B08 = "B08" => "低所得Ⅰ（境）",
        B09 = "B09" => "一般Ⅱ",
        B10 = "B10" => "一般Ⅰ",
    }
}

impl LimitClass {
    /// A-classes apply under 70, B-classes from 70.
    pub fn for_seventy_or_over(self) -> bool {
        self.code().starts_with('B')
    }
}

code_list! {
    /// 特定疾病療養受療証 認定疾病区分.
    SpecificDisease, field = "認定疾病区分" {
        Dialysis = "1" => "人工透析を必要とする慢性腎不全",
        Hemophilia = "2" => "先天性血液凝固因子障害（第VIII因子、第IX因子）",
        BloodProductHiv = "3" => "血液凝固因子製剤の投与に起因するHIV感染症",
    }
}

code_list! {
    /// 公費負担医療・医療費助成の法別番号 (the two digits that open a 公費負担者番号).
    PublicSubsidyLaw, field = "法別番号" {
        Tuberculosis = "10" => "感染症法（結核患者の適正医療）",
        PublicAssistance = "12" => "生活保護法（医療扶助）",
        Rehabilitation = "15" => "障害者総合支援法（更生医療）",
        Upbringing = "16" => "障害者総合支援法（育成医療）",
        PsychiatricOutpatient = "21" => "障害者総合支援法（精神通院医療）",
        SpecificDiseaseTreatment = "51" => "特定疾患治療費・先天性血液凝固因子障害等治療費",
        ChildChronic = "52" => "児童福祉法（小児慢性特定疾病医療支援）",
        IntractableDisease = "54" => "難病法（特定医療費）",
        AtomicBomb = "19" => "原爆被爆者援護法（認定疾病医療）",
        LocalChild = "88" => "地方単独事業（子ども医療費助成）",
        LocalSingleParent = "89" => "地方単独事業（ひとり親家庭等医療費助成）",
        LocalDisability = "80" => "地方単独事業（重度心身障害者医療費助成）",
    }
}

impl PublicSubsidyLaw {
    /// 医療扶助 is shown as its own block, not among 医療費助成受給者証情報.
    pub fn is_medical_assistance(self) -> bool {
        self == Self::PublicAssistance
    }
}

code_list! {
    /// 区分 on the completion and result screens.
    EligibilityCategory, field = "区分" {
        General = "1" => "一般",
        Preschool = "2" => "義務教育就学前",
        ElderlyRecipient = "3" => "高齢受給者",
        MedicalAssistance = "4" => "医療扶助",
    }
}

code_list! {
    /// Why a qualification ended (資格喪失事由), as kept in the history.
    LossReason, field = "資格喪失事由" {
        Retirement = "1" => "退職",
        Transfer = "2" => "転職（保険者変更）",
        Moved = "3" => "転居",
        Death = "4" => "死亡",
        Age75 = "5" => "75歳到達（後期高齢者医療へ移行）",
        DependentRemoved = "6" => "被扶養者からの削除",
        PublicAssistanceStarted = "7" => "生活保護開始",
        Other = "9" => "その他",
    }
}

code_list! {
    /// 処方箋の発行方法 (PrescriptionIssueSelect).
    PrescriptionForm, field = "処方箋の発行方法" {
        Electronic = "1" => "電子処方箋を希望",
        Paper = "2" => "紙の処方箋を希望",
    }
}

code_list! {
    /// The consent flags of the national layout (…ConsFlg).
    ConsentFlag, field = "同意フラグ" {
        None = "0" => "同意なし",
        Given = "1" => "同意あり",
        Expired = "2" => "同意期限切れ",
        /// The 救急医療 interface only; zaitaku reads it but never writes it.
        Difficult = "3" => "同意取得困難",
    }
}

code_list! {
    /// 照会区分 (ReferenceClassification): how the person was identified.
    ReferenceClassification, field = "照会区分" {
        Card = "1" => "マイナンバーカード",
        InsuranceData = "2" => "被保険者証情報",
    }
}

code_list! {
    /// 処理結果区分 (SegmentOfResult) of a result file.
    SegmentOfResult, field = "処理結果区分" {
        Done = "1" => "正常終了",
        Processing = "2" => "処理中",
        Failed = "9" => "異常終了",
    }
}

code_list! {
    /// 処理結果状況 (ProcessingResultStatus, OQSCD004) of one person.
    ProcessingResultStatus, field = "処理結果状況" {
        Done = "1" => "正常終了",
        Error = "2" => "異常終了",
    }
}

code_list! {
    /// 被保険者証区分 (InsuredCardClassification).
    InsuredCardClassification, field = "被保険者証区分" {
        General = "01" => "被保険者証（一般）",
        Retired = "02" => "被保険者証（退職）",
        ShortTermGeneral = "03" => "短期被保険者証（一般）",
        ShortTermRetired = "04" => "短期被保険者証（退職）",
        QualificationCertificate = "05" => "被保険者資格証明書",
        SpecialRetiree = "06" => "特例退職被保険者証",
        SelfDefenseForces = "07" => "自衛官診療証",
        MedicalAssistance = "A1" => "医療扶助",
    }
}

code_list! {
    /// 資格喪失事由 (ReasonOfLoss) as the national files write it.
    ReasonOfLoss, field = "資格喪失事由" {
        Death = "01" => "死亡",
        PublicAssistance = "02" => "生活保護受給開始",
        OtherInsurance = "03" => "医療保険等の資格取得",
        Other = "99" => "その他",
    }
}

impl From<LossReason> for ReasonOfLoss {
    fn from(r: LossReason) -> Self {
        match r {
            LossReason::Death => Self::Death,
            LossReason::PublicAssistanceStarted => Self::PublicAssistance,
            LossReason::Transfer | LossReason::Age75 => Self::OtherInsurance,
            LossReason::Retirement
            | LossReason::Moved
            | LossReason::DependentRemoved
            | LossReason::Other => Self::Other,
        }
    }
}

code_list! {
    /// 限度額適用認定証区分 as the national files write it (adds 03).
    LimitApplicationClassification, field = "限度額適用認定証区分" {
        Limit = "01" => "限度額適用認定証",
        LimitAndMealReduction = "02" => "限度額適用・標準負担額減額認定証",
        MealReduction = "03" => "標準負担額減額認定証",
    }
}

impl From<LimitCertificateKind> for LimitApplicationClassification {
    fn from(k: LimitCertificateKind) -> Self {
        match k {
            LimitCertificateKind::Limit => Self::Limit,
            LimitCertificateKind::LimitAndMealReduction => Self::LimitAndMealReduction,
        }
    }
}

code_list! {
    /// 診療区分 (MedicalTreatmentFlag) of bulk and drug requests.
    MedicalTreatmentFlag, field = "診療区分" {
        Outpatient = "1" => "外来",
        HomeVisit = "2" => "訪問診療",
        Online = "3" => "オンライン診療",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_code() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            parse: fn(&str) -> Result<T>,
        ) {
            let mut seen = std::collections::BTreeSet::new();
            for &v in all {
                assert!(seen.insert(code(v)), "duplicate code {}", code(v));
                assert_eq!(parse(code(v)), Ok(v));
            }
        }
        check(
            QualificationValidity::ALL,
            QualificationValidity::code,
            QualificationValidity::parse,
        );
        check(
            PersonalFamily::ALL,
            PersonalFamily::code,
            PersonalFamily::parse,
        );
        check(Sex::ALL, Sex::code, Sex::parse);
        check(BurdenRatio::ALL, BurdenRatio::code, BurdenRatio::parse);
        check(
            LimitCertificateKind::ALL,
            LimitCertificateKind::code,
            LimitCertificateKind::parse,
        );
        check(LimitClass::ALL, LimitClass::code, LimitClass::parse);
        check(
            SpecificDisease::ALL,
            SpecificDisease::code,
            SpecificDisease::parse,
        );
        check(
            PublicSubsidyLaw::ALL,
            PublicSubsidyLaw::code,
            PublicSubsidyLaw::parse,
        );
        check(
            EligibilityCategory::ALL,
            EligibilityCategory::code,
            EligibilityCategory::parse,
        );
        check(LossReason::ALL, LossReason::code, LossReason::parse);
        check(
            PrescriptionForm::ALL,
            PrescriptionForm::code,
            PrescriptionForm::parse,
        );
        check(ConsentFlag::ALL, ConsentFlag::code, ConsentFlag::parse);
        check(
            ReferenceClassification::ALL,
            ReferenceClassification::code,
            ReferenceClassification::parse,
        );
        check(
            SegmentOfResult::ALL,
            SegmentOfResult::code,
            SegmentOfResult::parse,
        );
        check(
            ProcessingResultStatus::ALL,
            ProcessingResultStatus::code,
            ProcessingResultStatus::parse,
        );
        check(
            InsuredCardClassification::ALL,
            InsuredCardClassification::code,
            InsuredCardClassification::parse,
        );
        check(ReasonOfLoss::ALL, ReasonOfLoss::code, ReasonOfLoss::parse);
        check(
            LimitApplicationClassification::ALL,
            LimitApplicationClassification::code,
            LimitApplicationClassification::parse,
        );
        check(
            MedicalTreatmentFlag::ALL,
            MedicalTreatmentFlag::code,
            MedicalTreatmentFlag::parse,
        );
    }

    #[test]
    fn national_vectors() {
        assert_eq!(
            QualificationValidity::parse("3").unwrap().label(),
            "無効（新しい資格あり）"
        );
        assert_eq!(
            QualificationValidity::parse("5").unwrap().label(),
            "複数該当"
        );
        assert_eq!(PersonalFamily::parse("2").unwrap().label(), "家族");
        assert_eq!(Sex::parse("3").unwrap().label(), "未設定");
        assert_eq!(BurdenRatio::parse("010").unwrap().burden_label(), "1割負担");
        assert_eq!(BurdenRatio::parse("030").unwrap().label(), "3割");
        assert_eq!(LimitClass::parse("A01").unwrap().label(), "ア");
        assert_eq!(LimitClass::parse("A05").unwrap().label(), "オ");
        assert_eq!(LimitClass::parse("A06").unwrap().label(), "オ（境）");
        assert_eq!(LimitClass::parse("B01").unwrap().label(), "現役並みⅢ");
        assert_eq!(LimitClass::parse("B10").unwrap().label(), "一般Ⅰ");
        assert_eq!(LimitClass::ALL.len(), 16);
        assert!(LimitClass::B03.for_seventy_or_over());
        assert!(!LimitClass::A03.for_seventy_or_over());
        assert_eq!(
            SpecificDisease::parse("1").unwrap(),
            SpecificDisease::Dialysis
        );
        assert_eq!(
            PrescriptionForm::parse("2").unwrap().label(),
            "紙の処方箋を希望"
        );
        assert_eq!(ConsentFlag::parse("2").unwrap().label(), "同意期限切れ");
    }

    #[test]
    fn unknown_codes_are_refused_with_a_message() {
        let e = LimitClass::parse("A07").unwrap_err();
        assert_eq!(e.code(), "Z-V-0009");
        assert_eq!(
            e.to_string(),
            "限度額適用区分の値「A07」は定義されていません。"
        );
        let unknown = |field: &'static str, value: &str| ValidationError::UnknownCode {
            field,
            value: value.into(),
        };
        assert_eq!(
            BurdenRatio::parse("10"),
            Err(unknown(BurdenRatio::FIELD, "10"))
        );
        assert_eq!(
            BurdenRatio::parse("040"),
            Err(unknown(BurdenRatio::FIELD, "040"))
        );
        assert_eq!(Sex::parse("0"), Err(unknown(Sex::FIELD, "0")));
        assert_eq!(
            QualificationValidity::parse(""),
            Err(unknown(QualificationValidity::FIELD, ""))
        );
        assert_eq!(
            SpecificDisease::parse("4"),
            Err(unknown(SpecificDisease::FIELD, "4"))
        );
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(serde_json::to_string(&LimitClass::B09).unwrap(), "\"B09\"");
        let v: BurdenRatio = serde_json::from_str("\"020\"").unwrap();
        assert_eq!(v, BurdenRatio::Two);
        let e = serde_json::from_str::<BurdenRatio>("\"025\"").unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "{}の値「025」は定義されていません。",
                BurdenRatio::FIELD
            )),
            "{e}"
        );
    }
}
