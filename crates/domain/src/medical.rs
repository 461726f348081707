//! Medical information kept for a person and released only under consent:
//! 薬剤情報, 診療情報 and 特定健診等情報.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::consent::ConsentItem;

/// One dispensed drug (薬剤情報), with the columns of seed 002's 薬剤情報
/// table: 入外/調剤, 診療月, 処方日, 調剤日, 用法, 内服/外用, 薬剤名, 一般名,
/// 数量, 回数.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrugRecord {
    /// 調剤年月日 (its month is the 診療年月 used for range queries).
    pub dispensed_on: NaiveDate,
    /// 処方日: the day of the prescription, on or before the dispensing.
    pub prescribed_on: NaiveDate,
    /// 入外/調剤.
    pub setting: DispensingSetting,
    pub institution_name: String,
    /// 薬剤名 as prescribed.
    pub drug_name: String,
    /// 一般名: the active ingredient.
    pub generic_name: String,
    /// e.g. 「1回1錠 1日3回 毎食後」.
    pub dosage: String,
    /// 内服, 頓服, 外用 or 注射.
    pub route: DrugRoute,
    pub quantity: f64,
    pub unit: String,
    pub days: u16,
    /// 回数: days for 内服, doses for 頓服, 1 for 外用 and 注射.
    pub times: u16,
}

/// 入外/調剤: where the drug was given out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispensingSetting {
    /// 入院
    Inpatient,
    /// 外来 (院内処方)
    Outpatient,
    /// 調剤 (院外処方, a pharmacy)
    Pharmacy,
}

impl DispensingSetting {
    pub const ALL: [Self; 3] = [Self::Inpatient, Self::Outpatient, Self::Pharmacy];

    pub fn label(self) -> &'static str {
        match self {
            Self::Inpatient => "入院",
            Self::Outpatient => "外来",
            Self::Pharmacy => "調剤",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inpatient => "inpatient",
            Self::Outpatient => "outpatient",
            Self::Pharmacy => "pharmacy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// 内服/頓服/外用/注射.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrugRoute {
    /// 内服
    Oral,
    /// 頓服 (as needed)
    AsNeeded,
    /// 外用
    External,
    /// 注射
    Injection,
}

impl DrugRoute {
    pub const ALL: [Self; 4] = [Self::Oral, Self::AsNeeded, Self::External, Self::Injection];

    pub fn label(self) -> &'static str {
        match self {
            Self::Oral => "内服",
            Self::AsNeeded => "頓服",
            Self::External => "外用",
            Self::Injection => "注射",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oral => "oral",
            Self::AsNeeded => "as_needed",
            Self::External => "external",
            Self::Injection => "injection",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How 回数 reads: 14日分, 5回分, 1回.
    pub fn times_label(self, times: u16) -> String {
        match self {
            Self::Oral => format!("{times}日分"),
            Self::AsNeeded => format!("{times}回分"),
            Self::External | Self::Injection => format!("{times}回"),
        }
    }
}

/// The kind of a clinical event (診療情報).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClinicalKind {
    /// 手術
    Surgery,
    /// 傷病名
    Diagnosis,
    /// 感染症検査結果
    InfectionTest,
    /// 検査結果（感染症を除く）
    LabResult,
    /// アレルギー
    Allergy,
}

impl ClinicalKind {
    pub const ALL: [Self; 5] = [
        Self::Surgery,
        Self::Diagnosis,
        Self::InfectionTest,
        Self::LabResult,
        Self::Allergy,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Surgery => "手術",
            Self::Diagnosis => "傷病名",
            Self::InfectionTest => "感染症検査結果",
            Self::LabResult => "検査結果",
            Self::Allergy => "アレルギー",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Surgery => "surgery",
            Self::Diagnosis => "diagnosis",
            Self::InfectionTest => "infection_test",
            Self::LabResult => "lab_result",
            Self::Allergy => "allergy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Which consent item releases this kind (seed 000 item wording: surgery,
    /// diagnoses and infection tests under the first item; other tests and
    /// allergies under the second).
    pub fn consent_item(self) -> ConsentItem {
        match self {
            Self::Surgery | Self::Diagnosis | Self::InfectionTest => ConsentItem::Surgery,
            Self::LabResult | Self::Allergy => ConsentItem::ClinicalAndDrug,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicalEvent {
    pub occurred_on: NaiveDate,
    pub kind: ClinicalKind,
    pub name: String,
    /// Result or detail, e.g. 「陰性」, 「HbA1c 6.8 %」.
    pub detail: String,
    pub institution_name: String,
}

/// One 特定健診 result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckupResult {
    pub examined_on: NaiveDate,
    pub height_cm: f64,
    pub weight_kg: f64,
    pub waist_cm: f64,
    pub systolic_mmhg: u16,
    pub diastolic_mmhg: u16,
    pub hba1c_percent: f64,
    pub ldl_mg_dl: u16,
    pub hdl_mg_dl: u16,
    pub triglycerides_mg_dl: u16,
}

impl CheckupResult {
    pub fn bmi(&self) -> f64 {
        let m = self.height_cm / 100.0;
        if m <= 0.0 {
            0.0
        } else {
            self.weight_kg / (m * m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinical_kinds_map_to_items() {
        assert_eq!(
            ClinicalKind::InfectionTest.consent_item(),
            ConsentItem::Surgery
        );
        assert_eq!(
            ClinicalKind::Allergy.consent_item(),
            ConsentItem::ClinicalAndDrug
        );
        for k in ClinicalKind::ALL {
            assert_eq!(ClinicalKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn drug_codes_round_trip() {
        for k in DispensingSetting::ALL {
            assert_eq!(DispensingSetting::parse(k.as_str()), Some(k));
        }
        for r in DrugRoute::ALL {
            assert_eq!(DrugRoute::parse(r.as_str()), Some(r));
        }
        assert_eq!(DrugRoute::Oral.times_label(14), "14日分");
        assert_eq!(DrugRoute::AsNeeded.times_label(5), "5回分");
    }

    #[test]
    fn bmi() {
        let c = CheckupResult {
            examined_on: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default(),
            height_cm: 170.0,
            weight_kg: 72.25,
            waist_cm: 84.0,
            systolic_mmhg: 128,
            diastolic_mmhg: 82,
            hba1c_percent: 5.6,
            ldl_mg_dl: 120,
            hdl_mg_dl: 55,
            triglycerides_mg_dl: 110,
        };
        assert!((c.bmi() - 25.0).abs() < 1e-9);
    }
}
