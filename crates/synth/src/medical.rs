//! 薬剤情報 and 診療情報: chronic conditions by age and sex, the special
//! conditions behind certificates and subsidies, acute illnesses, surgeries,
//! allergies. Drugs, diagnoses and lab results follow from the conditions so
//! a record reads like one patient's.

use chrono::{Datelike, Days, Months, NaiveDate};
use zaitaku_domain::codes::Sex;
use zaitaku_domain::medical::{ClinicalEvent, ClinicalKind, DispensingSetting, DrugRecord};

use crate::addresses::Place;
use crate::drugs::*;
use crate::institutions::{Dept, clinic, pharmacy};
use crate::rng::{
    SynthRng, between, chance, day_between, days_before, per_mille, pick, successes, unit, weighted,
};

/// A lab value: (name, unit, low, high, decimals).
type Lab = (&'static str, &'static str, f64, f64, bool);

const HBA1C: Lab = ("HbA1c", "%", 6.2, 9.0, true);
const LDL: Lab = ("LDLコレステロール", "mg/dL", 95.0, 175.0, false);
const BNP: Lab = ("BNP", "pg/mL", 80.0, 520.0, false);
const URIC_ACID: Lab = ("尿酸", "mg/dL", 7.0, 9.6, true);
const TSH: Lab = ("TSH", "μIU/mL", 4.5, 12.0, true);
const EGFR: Lab = ("eGFR", "mL/min/1.73m²", 25.0, 59.0, false);
const CREATININE: Lab = ("クレアチニン", "mg/dL", 6.0, 12.0, true);

/// What a diagnosis brings with it.
pub(crate) struct Treatment {
    name: &'static str,
    dept: Dept,
    regimens: &'static [&'static [&'static Drug]],
    lab: Option<Lab>,
}

/// Flags the check-up values respond to.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Risks {
    pub hypertension: bool,
    pub diabetes: bool,
    pub lipids: bool,
}

#[derive(Clone, Copy)]
enum Flag {
    None,
    Hypertension,
    Diabetes,
    Lipids,
}

/// A chronic condition with its prevalence (‰) for the age bands
/// 0–14, 15–39, 40–64, 65–74, 75+.
struct Chronic {
    t: Treatment,
    male: [u16; 5],
    female: [u16; 5],
    flag: Flag,
}

const fn t(
    name: &'static str,
    dept: Dept,
    regimens: &'static [&'static [&'static Drug]],
    lab: Option<Lab>,
) -> Treatment {
    Treatment {
        name,
        dept,
        regimens,
        lab,
    }
}

const CHRONIC: &[Chronic] = &[
    Chronic {
        t: t(
            "高血圧症",
            Dept::Internal,
            &[
                &[&AMLODIPINE],
                &[&OLMESARTAN],
                &[&CANDESARTAN],
                &[&TELMISARTAN],
                &[&AMLODIPINE, &OLMESARTAN],
                &[&NIFEDIPINE],
                &[&AMLODIPINE, &TELMISARTAN],
            ],
            None,
        ),
        male: [0, 15, 200, 430, 550],
        female: [0, 5, 130, 370, 560],
        flag: Flag::Hypertension,
    },
    Chronic {
        t: t(
            "脂質異常症",
            Dept::Internal,
            &[
                &[&ROSUVASTATIN],
                &[&ATORVASTATIN],
                &[&PITAVASTATIN],
                &[&ROSUVASTATIN, &EZETIMIBE],
            ],
            Some(LDL),
        ),
        male: [0, 10, 130, 220, 200],
        female: [0, 5, 110, 300, 280],
        flag: Flag::Lipids,
    },
    Chronic {
        t: t(
            "2型糖尿病",
            Dept::Internal,
            &[
                &[&METFORMIN],
                &[&SITAGLIPTIN],
                &[&METFORMIN, &SITAGLIPTIN],
                &[&LINAGLIPTIN],
                &[&GLIMEPIRIDE, &METFORMIN],
                &[&EMPAGLIFLOZIN],
            ],
            Some(HBA1C),
        ),
        male: [0, 5, 80, 180, 190],
        female: [0, 3, 40, 100, 120],
        flag: Flag::Diabetes,
    },
    Chronic {
        t: t(
            "逆流性食道炎",
            Dept::Internal,
            &[&[&LANSOPRAZOLE], &[&VONOPRAZAN], &[&FAMOTIDINE]],
            None,
        ),
        male: [0, 10, 50, 80, 120],
        female: [0, 10, 50, 80, 120],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "慢性便秘症",
            Dept::Internal,
            &[
                &[&MAGNESIUM_OXIDE],
                &[&SENNOSIDE],
                &[&MAGNESIUM_OXIDE, &SENNOSIDE],
            ],
            None,
        ),
        male: [0, 3, 15, 50, 130],
        female: [0, 15, 40, 80, 170],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "不眠症",
            Dept::Internal,
            &[&[&BROTIZOLAM], &[&ZOLPIDEM]],
            None,
        ),
        male: [0, 10, 35, 60, 100],
        female: [0, 15, 45, 80, 120],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "骨粗鬆症",
            Dept::Orthopedic,
            &[
                &[&ALENDRONATE],
                &[&ELDECALCITOL],
                &[&ALENDRONATE, &ELDECALCITOL],
            ],
            None,
        ),
        male: [0, 0, 3, 15, 40],
        female: [0, 0, 25, 130, 260],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "心房細動",
            Dept::Internal,
            &[&[&APIXABAN], &[&EDOXABAN], &[&APIXABAN, &BISOPROLOL]],
            None,
        ),
        male: [0, 0, 8, 35, 70],
        female: [0, 0, 3, 15, 50],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "慢性心不全",
            Dept::Internal,
            &[&[&FUROSEMIDE, &BISOPROLOL], &[&FUROSEMIDE]],
            Some(BNP),
        ),
        male: [0, 0, 5, 20, 70],
        female: [0, 0, 3, 15, 70],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "狭心症",
            Dept::Internal,
            &[&[&ASPIRIN], &[&ASPIRIN, &ISOSORBIDE]],
            None,
        ),
        male: [0, 0, 12, 40, 60],
        female: [0, 0, 4, 20, 40],
        flag: Flag::None,
    },
    Chronic {
        t: t("前立腺肥大症", Dept::Urology, &[&[&TAMSULOSIN]], None),
        male: [0, 0, 25, 130, 220],
        female: [0, 0, 0, 0, 0],
        flag: Flag::None,
    },
    Chronic {
        t: t("過活動膀胱", Dept::Urology, &[&[&MIRABEGRON]], None),
        male: [0, 0, 8, 30, 60],
        female: [0, 2, 15, 50, 90],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "アルツハイマー型認知症",
            Dept::Neuro,
            &[&[&DONEPEZIL], &[&DONEPEZIL, &YOKUKANSAN]],
            None,
        ),
        male: [0, 0, 1, 15, 100],
        female: [0, 0, 1, 15, 120],
        flag: Flag::None,
    },
    Chronic {
        t: t("緑内障", Dept::Eye, &[&[&LATANOPROST]], None),
        male: [0, 1, 12, 45, 70],
        female: [0, 1, 12, 45, 70],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "変形性膝関節症",
            Dept::Orthopedic,
            &[&[&LOXOPROFEN, &REBAMIPIDE], &[&CELECOXIB]],
            None,
        ),
        male: [0, 0, 15, 50, 80],
        female: [0, 0, 30, 100, 150],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "腰部脊柱管狭窄症",
            Dept::Orthopedic,
            &[&[&LIMAPROST], &[&PREGABALIN], &[&MECOBALAMIN]],
            None,
        ),
        male: [0, 0, 15, 50, 80],
        female: [0, 0, 15, 50, 80],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "高尿酸血症",
            Dept::Internal,
            &[&[&FEBUXOSTAT], &[&ALLOPURINOL]],
            Some(URIC_ACID),
        ),
        male: [0, 10, 55, 60, 50],
        female: [0, 0, 4, 8, 12],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "甲状腺機能低下症",
            Dept::Internal,
            &[&[&LEVOTHYROXINE]],
            Some(TSH),
        ),
        male: [0, 2, 4, 6, 8],
        female: [1, 6, 20, 25, 25],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "気管支喘息",
            Dept::Internal,
            &[&[&MONTELUKAST], &[&MONTELUKAST, &THEOPHYLLINE]],
            None,
        ),
        male: [0, 25, 25, 30, 35],
        female: [0, 30, 30, 35, 35],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "小児気管支喘息",
            Dept::Pediatric,
            &[&[&TULOBUTEROL_SYRUP]],
            None,
        ),
        male: [50, 0, 0, 0, 0],
        female: [35, 0, 0, 0, 0],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "アトピー性皮膚炎",
            Dept::Skin,
            &[&[&HEPARINOID, &BETAMETHASONE], &[&HEPARINOID]],
            None,
        ),
        male: [70, 40, 15, 8, 5],
        female: [70, 40, 15, 8, 5],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "アレルギー性鼻炎",
            Dept::Ent,
            &[&[&FEXOFENADINE], &[&BILASTINE], &[&EPINASTINE]],
            None,
        ),
        male: [0, 100, 70, 40, 25],
        female: [0, 100, 70, 40, 25],
        flag: Flag::None,
    },
    Chronic {
        t: t(
            "慢性腎臓病",
            Dept::Internal,
            &[&[&SPHERICAL_CARBON]],
            Some(EGFR),
        ),
        male: [0, 2, 15, 60, 120],
        female: [0, 2, 15, 60, 120],
        flag: Flag::None,
    },
];

pub(crate) const DIALYSIS: Treatment = t(
    "慢性腎不全（人工透析）",
    Dept::Kidney,
    &[
        &[&LANTHANUM, &CALCIUM_CARBONATE],
        &[&LANTHANUM],
        &[&CALCIUM_CARBONATE],
    ],
    Some(CREATININE),
);

pub(crate) const HEMOPHILIA: Treatment = t("血友病A", Dept::Hospital, &[], None);

pub(crate) const HIV: Treatment = t("HIV感染症", Dept::Hospital, &[], None);

/// 自立支援医療（精神通院）: the last is for the young only.
pub(crate) const PSYCHIATRIC: &[Treatment] = &[
    t(
        "うつ病",
        Dept::Mental,
        &[
            &[&SERTRALINE],
            &[&ESCITALOPRAM],
            &[&SERTRALINE, &BROTIZOLAM],
        ],
        None,
    ),
    t(
        "双極性感情障害",
        Dept::Mental,
        &[&[&LITHIUM], &[&ARIPIPRAZOLE]],
        None,
    ),
    t(
        "統合失調症",
        Dept::Mental,
        &[&[&ARIPIPRAZOLE], &[&OLANZAPINE]],
        None,
    ),
    t(
        "パニック障害",
        Dept::Mental,
        &[&[&ESCITALOPRAM], &[&SERTRALINE]],
        None,
    ),
    t("注意欠如・多動症", Dept::Mental, &[&[&ATOMOXETINE]], None),
];

/// 指定難病.
pub(crate) const INTRACTABLE: &[Treatment] = &[
    t("パーキンソン病", Dept::Neuro, &[&[&LEVODOPA]], None),
    t("潰瘍性大腸炎", Dept::Hospital, &[&[&MESALAZINE]], None),
    t("クローン病", Dept::Hospital, &[&[&MESALAZINE]], None),
    t(
        "全身性エリテマトーデス",
        Dept::Hospital,
        &[&[&PREDNISOLONE]],
        None,
    ),
    t("重症筋無力症", Dept::Neuro, &[&[&PREDNISOLONE]], None),
    t("後縦靱帯骨化症", Dept::Orthopedic, &[&[&PREGABALIN]], None),
    t(
        "特発性拡張型心筋症",
        Dept::Hospital,
        &[&[&FUROSEMIDE, &BISOPROLOL]],
        Some(BNP),
    ),
    t("全身性強皮症", Dept::Hospital, &[&[&PREDNISOLONE]], None),
    t("筋萎縮性側索硬化症", Dept::Neuro, &[&[&RILUZOLE]], None),
    t("多発性硬化症", Dept::Neuro, &[&[&PREDNISOLONE]], None),
];

/// 小児慢性特定疾病.
pub(crate) const CHILD_CHRONIC: &[Treatment] = &[
    t("1型糖尿病", Dept::Hospital, &[], Some(HBA1C)),
    t(
        "ネフローゼ症候群",
        Dept::Hospital,
        &[&[&PREDNISOLONE]],
        None,
    ),
    t("心室中隔欠損症", Dept::Hospital, &[&[&FUROSEMIDE]], None),
    t("成長ホルモン分泌不全性低身長症", Dept::Hospital, &[], None),
    t(
        "若年性特発性関節炎",
        Dept::Hospital,
        &[&[&PREDNISOLONE]],
        None,
    ),
];

/// An infection test: (name, positive results).
type Test = (&'static str, &'static [&'static str]);

const FLU_TEST: Test = (
    "インフルエンザウイルス抗原",
    &["陽性（A型）", "陽性（A型）", "陽性（B型）"],
);
const COVID_TEST: Test = ("SARS-CoV-2抗原", &["陽性"]);
const STREP_TEST: Test = ("A群β溶血性連鎖球菌迅速検査", &["陽性"]);
const RSV_TEST: Test = ("RSウイルス抗原", &["陽性"]);

/// An acute illness: who gets it, how it is treated and tested
/// (test, probability tested, probability positive).
struct Acute {
    name: &'static str,
    ages: (u32, u32),
    women_only: bool,
    weight: u32,
    dept: Dept,
    regimens: &'static [&'static [&'static Drug]],
    test: Option<(Test, f64, f64)>,
    /// Days prescribed: 5 for antivirals (as labelled), a week for most.
    days: u16,
}

const ACUTE_CHILD: &[Acute] = &[
    Acute {
        name: "急性上気道炎",
        ages: (0, 14),
        women_only: false,
        weight: 40,
        dept: Dept::Pediatric,
        regimens: &[
            &[&CARBOCISTEINE_SYRUP, &ACETAMINOPHEN_GRANULES],
            &[&CARBOCISTEINE_SYRUP],
        ],
        test: Some((FLU_TEST, 0.3, 0.0)),
        days: 7,
    },
    Acute {
        name: "インフルエンザ",
        ages: (0, 14),
        women_only: false,
        weight: 10,
        dept: Dept::Pediatric,
        regimens: &[&[&OSELTAMIVIR_SYRUP, &ACETAMINOPHEN_GRANULES]],
        test: Some((FLU_TEST, 1.0, 1.0)),
        days: 5,
    },
    Acute {
        name: "溶連菌感染症",
        ages: (2, 14),
        women_only: false,
        weight: 6,
        dept: Dept::Pediatric,
        regimens: &[&[&AMOXICILLIN_GRANULES]],
        test: Some((STREP_TEST, 1.0, 1.0)),
        days: 7,
    },
    Acute {
        name: "急性中耳炎",
        ages: (0, 10),
        women_only: false,
        weight: 8,
        dept: Dept::Ent,
        regimens: &[&[&AMOXICILLIN_GRANULES]],
        test: None,
        days: 7,
    },
    Acute {
        name: "急性胃腸炎",
        ages: (0, 14),
        women_only: false,
        weight: 8,
        dept: Dept::Pediatric,
        regimens: &[&[&PROBIOTIC]],
        test: None,
        days: 7,
    },
    Acute {
        name: "RSウイルス感染症",
        ages: (0, 2),
        women_only: false,
        weight: 6,
        dept: Dept::Pediatric,
        regimens: &[&[&CARBOCISTEINE_SYRUP, &TULOBUTEROL_SYRUP]],
        test: Some((RSV_TEST, 1.0, 1.0)),
        days: 7,
    },
    Acute {
        name: "新型コロナウイルス感染症",
        ages: (0, 14),
        women_only: false,
        weight: 4,
        dept: Dept::Pediatric,
        regimens: &[&[&ACETAMINOPHEN_GRANULES]],
        test: Some((COVID_TEST, 1.0, 1.0)),
        days: 7,
    },
    Acute {
        name: "湿疹",
        ages: (0, 14),
        women_only: false,
        weight: 5,
        dept: Dept::Skin,
        regimens: &[&[&HEPARINOID]],
        test: None,
        days: 14,
    },
    Acute {
        name: "急性結膜炎",
        ages: (0, 14),
        women_only: false,
        weight: 4,
        dept: Dept::Eye,
        regimens: &[&[&LEVOFLOXACIN_EYE]],
        test: None,
        days: 7,
    },
];

const ACUTE_ADULT: &[Acute] = &[
    Acute {
        name: "急性上気道炎",
        ages: (15, 120),
        women_only: false,
        weight: 35,
        dept: Dept::Internal,
        regimens: &[
            &[&ACETAMINOPHEN, &CARBOCISTEINE],
            &[&KAKKONTO],
            &[&CARBOCISTEINE, &DEXTROMETHORPHAN, &TRANEXAMIC],
        ],
        test: Some((COVID_TEST, 0.4, 0.0)),
        days: 7,
    },
    Acute {
        name: "インフルエンザ",
        ages: (15, 120),
        women_only: false,
        weight: 8,
        dept: Dept::Internal,
        regimens: &[&[&OSELTAMIVIR, &ACETAMINOPHEN]],
        test: Some((FLU_TEST, 1.0, 1.0)),
        days: 5,
    },
    Acute {
        name: "新型コロナウイルス感染症",
        ages: (15, 120),
        women_only: false,
        weight: 8,
        dept: Dept::Internal,
        regimens: &[&[&ACETAMINOPHEN], &[&ACETAMINOPHEN, &DEXTROMETHORPHAN]],
        test: Some((COVID_TEST, 1.0, 1.0)),
        days: 7,
    },
    Acute {
        name: "急性気管支炎",
        ages: (15, 120),
        women_only: false,
        weight: 8,
        dept: Dept::Internal,
        regimens: &[&[&CLARITHROMYCIN, &CARBOCISTEINE]],
        test: None,
        days: 7,
    },
    Acute {
        name: "急性咽頭炎",
        ages: (15, 120),
        women_only: false,
        weight: 8,
        dept: Dept::Ent,
        regimens: &[&[&CEFCAPENE, &TRANEXAMIC], &[&AMOXICILLIN]],
        test: Some((STREP_TEST, 0.3, 0.3)),
        days: 7,
    },
    Acute {
        name: "急性胃腸炎",
        ages: (15, 120),
        women_only: false,
        weight: 8,
        dept: Dept::Internal,
        regimens: &[&[&PROBIOTIC, &DOMPERIDONE]],
        test: None,
        days: 7,
    },
    Acute {
        name: "急性膀胱炎",
        ages: (15, 120),
        women_only: true,
        weight: 10,
        dept: Dept::Internal,
        regimens: &[&[&LEVOFLOXACIN], &[&CEFCAPENE]],
        test: None,
        days: 7,
    },
    Acute {
        name: "腰痛症",
        ages: (18, 120),
        women_only: false,
        weight: 8,
        dept: Dept::Orthopedic,
        regimens: &[&[&LOXOPROFEN, &REBAMIPIDE]],
        test: None,
        days: 14,
    },
    Acute {
        name: "急性結膜炎",
        ages: (15, 120),
        women_only: false,
        weight: 4,
        dept: Dept::Eye,
        regimens: &[&[&LEVOFLOXACIN_EYE]],
        test: None,
        days: 7,
    },
    Acute {
        name: "湿疹",
        ages: (15, 120),
        women_only: false,
        weight: 5,
        dept: Dept::Skin,
        regimens: &[&[&BETAMETHASONE]],
        test: None,
        days: 14,
    },
];

/// (operation, detail, ages, men only / women only, weight).
struct Surgery {
    name: &'static str,
    details: &'static [&'static str],
    ages: (u32, u32),
    sex: Option<Sex>,
    weight: u32,
}

const SURGERIES: &[Surgery] = &[
    Surgery {
        name: "水晶体再建術",
        details: &["白内障（右眼）", "白内障（左眼）"],
        ages: (55, 120),
        sex: None,
        weight: 30,
    },
    Surgery {
        name: "人工膝関節置換術",
        details: &["変形性膝関節症（右膝）", "変形性膝関節症（左膝）"],
        ages: (60, 120),
        sex: None,
        weight: 8,
    },
    Surgery {
        name: "経皮的冠動脈ステント留置術",
        details: &["狭心症"],
        ages: (45, 120),
        sex: None,
        weight: 8,
    },
    Surgery {
        name: "大腿骨頸部骨折観血的手術",
        details: &["転倒による右大腿骨頸部骨折", "転倒による左大腿骨頸部骨折"],
        ages: (70, 120),
        sex: None,
        weight: 6,
    },
    Surgery {
        name: "内視鏡的大腸ポリープ切除術",
        details: &["大腸ポリープ"],
        ages: (40, 120),
        sex: None,
        weight: 15,
    },
    Surgery {
        name: "腹腔鏡下胆嚢摘出術",
        details: &["胆石症"],
        ages: (30, 120),
        sex: None,
        weight: 8,
    },
    Surgery {
        name: "経尿道的前立腺切除術",
        details: &["前立腺肥大症"],
        ages: (60, 120),
        sex: Some(Sex::Male),
        weight: 4,
    },
    Surgery {
        name: "鼠径ヘルニア手術",
        details: &["右鼠径ヘルニア", "左鼠径ヘルニア"],
        ages: (1, 120),
        sex: None,
        weight: 6,
    },
    Surgery {
        name: "腹腔鏡下虫垂切除術",
        details: &["急性虫垂炎"],
        ages: (5, 60),
        sex: None,
        weight: 6,
    },
    Surgery {
        name: "帝王切開術",
        details: &["骨盤位", "前回帝王切開"],
        ages: (25, 42),
        sex: Some(Sex::Female),
        weight: 30,
    },
    Surgery {
        name: "口蓋扁桃摘出術",
        details: &["慢性扁桃炎"],
        ages: (4, 30),
        sex: None,
        weight: 4,
    },
    Surgery {
        name: "鼓膜切開術",
        details: &["滲出性中耳炎"],
        ages: (0, 8),
        sex: None,
        weight: 6,
    },
];

/// (allergen, reaction, ages, weight).
const ALLERGIES: &[(&str, &str, (u32, u32), u32)] = &[
    ("卵", "じんましん", (0, 14), 10),
    ("牛乳", "じんましん", (0, 10), 5),
    ("小麦", "アナフィラキシー", (0, 20), 3),
    ("そば", "アナフィラキシー", (3, 120), 2),
    ("ペニシリン系抗菌薬", "発疹", (0, 120), 6),
    ("セフェム系抗菌薬", "薬疹", (0, 120), 4),
    ("ロキソプロフェンナトリウム", "喘息発作", (15, 120), 3),
    ("ヨード造影剤", "じんましん", (20, 120), 3),
    ("甲殻類（えび・かに）", "口腔内のかゆみ", (3, 120), 4),
    ("スギ花粉", "鼻炎・結膜炎", (3, 120), 6),
];

/// Who the medical history is about.
pub(crate) struct Patient<'a> {
    pub birth: NaiveDate,
    pub age: u32,
    pub sex: Sex,
    pub today: NaiveDate,
    pub place: &'a Place,
    pub dialysis_since: Option<NaiveDate>,
    pub hemophilia: bool,
    pub hiv: bool,
    /// The conditions behind a public subsidy, if any.
    pub special: &'a [&'static Treatment],
}

fn band(age: u32) -> usize {
    match age {
        0..15 => 0,
        15..40 => 1,
        40..65 => 2,
        65..75 => 3,
        _ => 4,
    }
}

/// The window the portal shows: about three years back.
fn window_start(today: NaiveDate) -> NaiveDate {
    today.checked_sub_months(Months::new(36)).unwrap_or(today)
}

struct Writer<'a> {
    rng: &'a mut SynthRng,
    patient: &'a Patient<'a>,
    from: NaiveDate,
    pharmacy: String,
    drugs: Vec<DrugRecord>,
    clinical: Vec<ClinicalEvent>,
}

impl Writer<'_> {
    fn event(&mut self, on: NaiveDate, kind: ClinicalKind, name: &str, detail: String, dept: Dept) {
        self.clinical.push(ClinicalEvent {
            occurred_on: on,
            kind,
            name: name.to_owned(),
            detail,
            institution_name: clinic(self.patient.place, dept),
        });
    }

    /// At an outside pharmacy (調剤) the prescription is sometimes filled a
    /// day or two after the visit; a clinic dispenses the same day (外来).
    /// Derived from the day, not drawn, so the rest of the population stays
    /// the same for a seed.
    fn dispense(&mut self, on: NaiveDate, drug: &Drug, days: u16, institution: &str) {
        let (setting, prescribed_on) = if institution == self.pharmacy {
            let lag = u64::from(on.ordinal() % 7 / 5);
            (
                DispensingSetting::Pharmacy,
                on.checked_sub_days(Days::new(lag)).unwrap_or(on),
            )
        } else {
            (DispensingSetting::Outpatient, on)
        };
        self.drugs.push(DrugRecord {
            dispensed_on: on,
            prescribed_on,
            setting,
            institution_name: institution.to_owned(),
            drug_name: drug.name.to_owned(),
            generic_name: drug.generic_name(),
            dosage: drug.dosage.to_owned(),
            route: drug.route(),
            quantity: drug.quantity(days),
            unit: drug.unit.to_owned(),
            days,
            times: drug.times(days),
        });
    }

    /// Where the prescription is filled: mostly an outside pharmacy
    /// (院外処方), sometimes the clinic itself (院内処方).
    fn dispenser(&mut self, dept: Dept) -> String {
        if chance(self.rng, 0.8) {
            self.pharmacy.clone()
        } else {
            clinic(self.patient.place, dept)
        }
    }

    fn lab(&mut self, on: NaiveDate, lab: Lab, dept: Dept) {
        let (name, unit_label, lo, hi, decimals) = lab;
        let v = lo + (hi - lo) * unit(self.rng);
        let detail = if decimals {
            format!("{v:.1} {unit_label}")
        } else {
            format!("{v:.0} {unit_label}")
        };
        self.event(on, ClinicalKind::LabResult, name, detail, dept);
    }

    /// A long-term condition: its diagnosis, the regimen on a few recent
    /// visits, sometimes a lab result.
    fn chronic(&mut self, t: &Treatment) {
        let today = self.patient.today;
        let elderly = self.patient.age >= 65;
        let diagnosed = day_between(self.rng, self.from, days_before(today, 30));
        self.event(
            diagnosed,
            ClinicalKind::Diagnosis,
            t.name,
            "継続".to_owned(),
            t.dept,
        );
        if let Some(&regimen) = pick(self.rng, t.regimens) {
            let days_table: &[(u16, u32)] = if elderly {
                &[(28, 30), (30, 10), (56, 20), (60, 10), (84, 15), (90, 15)]
            } else {
                &[(14, 15), (28, 35), (30, 15), (56, 15), (60, 10), (90, 10)]
            };
            let days = weighted(self.rng, days_table, 28);
            let visits = if elderly {
                weighted(self.rng, &[(1u32, 30), (2, 40), (3, 30)], 1)
            } else {
                weighted(self.rng, &[(1u32, 50), (2, 35), (3, 15)], 1)
            };
            let at = self.dispenser(t.dept);
            let mut on = days_before(today, between(self.rng, 0, u32::from(days)));
            for _ in 0..visits {
                if on < self.from || on < diagnosed {
                    break;
                }
                for drug in regimen {
                    self.dispense(on, drug, days, &at);
                }
                on = days_before(on, u32::from(days) + between(self.rng, 0, 10));
            }
        }
        if let Some(lab) = t.lab
            && chance(self.rng, 0.6)
        {
            let on = day_between(self.rng, diagnosed, today);
            self.lab(on, lab, t.dept);
        }
    }

    fn acute(&mut self, table: &[Acute]) {
        let p = self.patient;
        let eligible = |a: &&Acute| {
            (a.ages.0..=a.ages.1).contains(&p.age) && (!a.women_only || p.sex == Sex::Female)
        };
        let total: u32 = table.iter().filter(eligible).map(|a| a.weight).sum();
        let mut r = crate::rng::below(self.rng, total);
        let Some(a) = table.iter().filter(eligible).find(|a| {
            let hit = r < a.weight;
            r = r.saturating_sub(a.weight);
            hit
        }) else {
            return;
        };
        let on = day_between(self.rng, self.from, p.today);
        self.event(
            on,
            ClinicalKind::Diagnosis,
            a.name,
            "治癒".to_owned(),
            a.dept,
        );
        if let Some(((test, positives), p_test, p_pos)) = a.test
            && chance(self.rng, p_test)
        {
            let result = if chance(self.rng, p_pos) {
                pick(self.rng, positives).copied().unwrap_or("陽性")
            } else {
                "陰性"
            };
            self.event(
                on,
                ClinicalKind::InfectionTest,
                test,
                result.to_owned(),
                a.dept,
            );
        }
        if let Some(&regimen) = pick(self.rng, a.regimens) {
            let days = a.days;
            let at = self.dispenser(a.dept);
            for drug in regimen {
                self.dispense(on, drug, days, &at);
            }
        }
    }

    fn surgery(&mut self) {
        let p = self.patient;
        let eligible = |s: &&Surgery| {
            (s.ages.0..=s.ages.1).contains(&p.age) && s.sex.is_none_or(|x| x == p.sex)
        };
        let total: u32 = SURGERIES.iter().filter(eligible).map(|s| s.weight).sum();
        let mut r = crate::rng::below(self.rng, total);
        let Some(s) = SURGERIES.iter().filter(eligible).find(|s| {
            let hit = r < s.weight;
            r = r.saturating_sub(s.weight);
            hit
        }) else {
            return;
        };
        let on = day_between(self.rng, self.from, p.today);
        let detail = pick(self.rng, s.details).copied().unwrap_or("");
        self.event(
            on,
            ClinicalKind::Surgery,
            s.name,
            detail.to_owned(),
            Dept::Hospital,
        );
        let before = between(self.rng, 7, 30);
        self.preoperative_tests(days_before(on, before).max(self.from));
    }

    fn preoperative_tests(&mut self, on: NaiveDate) {
        if chance(self.rng, 0.5) {
            let hbs = if per_mille(self.rng, 10) {
                "陽性"
            } else {
                "陰性"
            };
            self.event(
                on,
                ClinicalKind::InfectionTest,
                "HBs抗原",
                hbs.to_owned(),
                Dept::Hospital,
            );
            self.event(
                on,
                ClinicalKind::InfectionTest,
                "HCV抗体",
                "陰性".to_owned(),
                Dept::Hospital,
            );
        }
    }

    fn allergy(&mut self) {
        let p = self.patient;
        let eligible = |a: &&(&str, &str, (u32, u32), u32)| (a.2.0..=a.2.1).contains(&p.age);
        let total: u32 = ALLERGIES.iter().filter(eligible).map(|a| a.3).sum();
        let mut r = crate::rng::below(self.rng, total);
        let Some(&(allergen, reaction, _, _)) = ALLERGIES.iter().filter(eligible).find(|a| {
            let hit = r < a.3;
            r = r.saturating_sub(a.3);
            hit
        }) else {
            return;
        };
        let on = day_between(self.rng, self.from, p.today);
        let dept = if p.age < 15 {
            Dept::Pediatric
        } else {
            Dept::Internal
        };
        self.event(
            on,
            ClinicalKind::Allergy,
            allergen,
            reaction.to_owned(),
            dept,
        );
    }
}

/// Drugs, clinical events and the risks check-ups should reflect.
pub(crate) fn history(
    rng: &mut SynthRng,
    patient: &Patient<'_>,
) -> (Vec<DrugRecord>, Vec<ClinicalEvent>, Risks) {
    let mut w = Writer {
        pharmacy: pharmacy(patient.place),
        rng,
        patient,
        from: window_start(patient.today).max(patient.birth),
        drugs: Vec::new(),
        clinical: Vec::new(),
    };
    let mut risks = Risks::default();
    let b = band(patient.age);
    for c in CHRONIC {
        let p = if patient.sex == Sex::Female {
            c.female[b]
        } else {
            c.male[b]
        };
        if p == 0 || !per_mille(w.rng, u32::from(p)) {
            continue;
        }
        match c.flag {
            Flag::Hypertension => risks.hypertension = true,
            Flag::Diabetes => risks.diabetes = true,
            Flag::Lipids => risks.lipids = true,
            Flag::None => {}
        }
        w.chronic(&c.t);
    }
    if let Some(since) = patient.dialysis_since {
        w.chronic(&DIALYSIS);
        if since >= w.from && chance(w.rng, 0.7) {
            let before = between(w.rng, 14, 60);
            w.event(
                days_before(since, before),
                ClinicalKind::Surgery,
                "内シャント設置術",
                "透析導入のため".to_owned(),
                Dept::Hospital,
            );
        }
    }
    if patient.hemophilia {
        w.chronic(&HEMOPHILIA);
    }
    if patient.hiv {
        w.chronic(&HIV);
    }
    for &t in patient.special {
        w.chronic(t);
    }
    let episodes = match patient.age {
        0..7 => successes(w.rng, 4, 0.45),
        7..15 => successes(w.rng, 3, 0.4),
        15..65 => successes(w.rng, 3, 0.35),
        _ => successes(w.rng, 2, 0.3),
    };
    let table = if patient.age < 15 {
        ACUTE_CHILD
    } else {
        ACUTE_ADULT
    };
    for _ in 0..episodes {
        w.acute(table);
    }
    let surgery_per_mille = [5, 18, 22, 50, 80][b];
    if per_mille(w.rng, surgery_per_mille) {
        w.surgery();
    }
    if per_mille(w.rng, if patient.age < 15 { 80 } else { 50 }) {
        w.allergy();
    }
    (w.drugs, w.clinical, risks)
}
