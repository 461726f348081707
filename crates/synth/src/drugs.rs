//! Common generic drugs with the dosage wording of a Japanese prescription.

use zaitaku_domain::medical::DrugRoute;

/// How much is dispensed: per day of the prescription, or a fixed amount
/// (ointments, eye drops, as-needed doses).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Qty {
    PerDay(f64),
    Fixed(f64),
}

#[derive(Debug)]
pub(crate) struct Drug {
    pub name: &'static str,
    pub dosage: &'static str,
    pub unit: &'static str,
    pub qty: Qty,
}

impl Drug {
    pub(crate) fn quantity(&self, days: u16) -> f64 {
        match self.qty {
            Qty::PerDay(q) => (q * f64::from(days)).round(),
            Qty::Fixed(q) => q,
        }
    }

    /// 内服, 頓服 (「…時」: when a symptom comes) or 外用 (applied, eye drops).
    pub(crate) fn route(&self) -> DrugRoute {
        if self.dosage.contains("塗布") || self.dosage.contains("眼") {
            DrugRoute::External
        } else if self.dosage.contains("時 ") {
            DrugRoute::AsNeeded
        } else {
            DrugRoute::Oral
        }
    }

    /// 回数: the days of an oral regimen, the doses of an as-needed one
    /// (the quantity over 「1回N」), one for a drug applied.
    pub(crate) fn times(&self, days: u16) -> u16 {
        match self.route() {
            DrugRoute::Oral => days,
            DrugRoute::External | DrugRoute::Injection => 1,
            DrugRoute::AsNeeded => {
                let per_dose: f64 = self
                    .dosage
                    .strip_prefix("1回")
                    .map(|r| {
                        r.chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>()
                    })
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1.0);
                // Whole doses of a small count: the cast cannot truncate.
                (self.quantity(days) / per_dose).floor().clamp(1.0, 99.0) as u16
            }
        }
    }

    /// 一般名: the active ingredient, the name without its form and strength,
    /// with the salt where the name leaves it out.
    pub(crate) fn generic_name(&self) -> String {
        const FORMS: [&str; 13] = [
            "OD錠",
            "徐放錠",
            "腸溶錠",
            "配合錠",
            "ドライシロップ",
            "錠",
            "カプセル",
            "点眼液",
            "油性クリーム",
            "軟膏",
            "エキス顆粒",
            "細粒",
            "シロップ",
        ];
        let mut base = self.name;
        for f in FORMS {
            if let Some(i) = self.name.find(f).filter(|i| *i > 0) {
                base = &self.name[..i];
                break;
            }
        }
        let base = base.strip_suffix("散10%").unwrap_or(base);
        let base = base.split("細粒分包").next().unwrap_or(base);
        let salt = match base {
            "アムロジピン" => "アムロジピンベシル酸塩",
            "オルメサルタン" => "オルメサルタン メドキソミル",
            "カンデサルタン" => "カンデサルタン シレキセチル",
            "ロスバスタチン" => "ロスバスタチンカルシウム",
            "アトルバスタチン" => "アトルバスタチンカルシウム水和物",
            "シタグリプチン" => "シタグリプチンリン酸塩水和物",
            "ボノプラザン" => "ボノプラザンフマル酸塩",
            "アレンドロン酸" => "アレンドロン酸ナトリウム水和物",
            "モンテルカスト" => "モンテルカストナトリウム",
            "セルトラリン" => "セルトラリン塩酸塩",
            "エスシタロプラム" => "エスシタロプラムシュウ酸塩",
            "アトモキセチン" => "アトモキセチン塩酸塩",
            "オセルタミビル" => "オセルタミビルリン酸塩",
            "アモキシシリン" => "アモキシシリン水和物",
            other => other,
        };
        salt.to_owned()
    }
}

macro_rules! drugs {
    ($( $id:ident = $name:literal, $dosage:literal, $unit:literal, $qty:expr; )+) => {
        $( pub(crate) const $id: Drug = Drug { name: $name, dosage: $dosage, unit: $unit, qty: $qty }; )+
        #[cfg(test)]
        pub(crate) const ALL: &[&Drug] = &[ $( &$id ),+ ];
    };
}

use Qty::{Fixed, PerDay};

drugs! {
    // Blood pressure, lipids, diabetes.
    AMLODIPINE = "アムロジピン錠5mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    NIFEDIPINE = "ニフェジピン徐放錠20mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    OLMESARTAN = "オルメサルタン錠20mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    CANDESARTAN = "カンデサルタン錠8mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    TELMISARTAN = "テルミサルタン錠40mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    ROSUVASTATIN = "ロスバスタチン錠2.5mg", "1回1錠 1日1回 夕食後", "錠", PerDay(1.0);
    ATORVASTATIN = "アトルバスタチン錠10mg", "1回1錠 1日1回 夕食後", "錠", PerDay(1.0);
    PITAVASTATIN = "ピタバスタチンカルシウム錠1mg", "1回1錠 1日1回 夕食後", "錠", PerDay(1.0);
    EZETIMIBE = "エゼチミブ錠10mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    METFORMIN = "メトホルミン塩酸塩錠250mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    SITAGLIPTIN = "シタグリプチン錠50mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    LINAGLIPTIN = "リナグリプチン錠5mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    GLIMEPIRIDE = "グリメピリド錠1mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    EMPAGLIFLOZIN = "エンパグリフロジン錠10mg", "1回1錠 1日1回 朝食前", "錠", PerDay(1.0);
    // Stomach and bowels.
    LANSOPRAZOLE = "ランソプラゾールOD錠15mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    VONOPRAZAN = "ボノプラザン錠10mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    FAMOTIDINE = "ファモチジン錠20mg", "1回1錠 1日2回 朝食後・就寝前", "錠", PerDay(2.0);
    REBAMIPIDE = "レバミピド錠100mg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    MAGNESIUM_OXIDE = "酸化マグネシウム錠330mg", "1回2錠 1日3回 毎食後", "錠", PerDay(6.0);
    SENNOSIDE = "センノシド錠12mg", "1回2錠 1日1回 就寝前", "錠", PerDay(2.0);
    // Sleep, heart, circulation.
    BROTIZOLAM = "ブロチゾラム錠0.25mg", "1回1錠 1日1回 就寝前", "錠", PerDay(1.0);
    ZOLPIDEM = "ゾルピデム酒石酸塩錠5mg", "1回1錠 1日1回 就寝前", "錠", PerDay(1.0);
    APIXABAN = "アピキサバン錠5mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    EDOXABAN = "エドキサバン錠30mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    FUROSEMIDE = "フロセミド錠20mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    BISOPROLOL = "ビソプロロールフマル酸塩錠2.5mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    ASPIRIN = "アスピリン腸溶錠100mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    ISOSORBIDE = "一硝酸イソソルビド錠20mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    LIMAPROST = "リマプロストアルファデクス錠5μg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    // Urology, dementia, bones, thyroid, gout.
    TAMSULOSIN = "タムスロシン塩酸塩OD錠0.2mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    MIRABEGRON = "ミラベグロン錠50mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    DONEPEZIL = "ドネペジル塩酸塩OD錠5mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    YOKUKANSAN = "抑肝散エキス顆粒", "1回1包 1日2回 朝夕食前", "包", PerDay(2.0);
    ALENDRONATE = "アレンドロン酸錠35mg", "1回1錠 週1回 起床時", "錠", PerDay(1.0 / 7.0);
    ELDECALCITOL = "エルデカルシトールカプセル0.75μg", "1回1カプセル 1日1回 朝食後", "カプセル", PerDay(1.0);
    FEBUXOSTAT = "フェブキソスタット錠20mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    ALLOPURINOL = "アロプリノール錠100mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    LEVOTHYROXINE = "レボチロキシンナトリウム錠50μg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    SPHERICAL_CARBON = "球形吸着炭細粒分包2g", "1回1包 1日3回 食間", "包", PerDay(3.0);
    // Eyes, lungs, allergy, skin.
    LATANOPROST = "ラタノプロスト点眼液0.005%", "1回1滴 1日1回 両眼", "mL", Fixed(2.5);
    LEVOFLOXACIN_EYE = "レボフロキサシン点眼液1.5%", "1回1滴 1日3回 両眼", "mL", Fixed(5.0);
    MONTELUKAST = "モンテルカスト錠10mg", "1回1錠 1日1回 就寝前", "錠", PerDay(1.0);
    THEOPHYLLINE = "テオフィリン徐放錠100mg", "1回1錠 1日2回 朝食後・就寝前", "錠", PerDay(2.0);
    FEXOFENADINE = "フェキソフェナジン塩酸塩錠60mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    BILASTINE = "ビラスチン錠20mg", "1回1錠 1日1回 空腹時", "錠", PerDay(1.0);
    EPINASTINE = "エピナスチン塩酸塩錠20mg", "1回1錠 1日1回 就寝前", "錠", PerDay(1.0);
    HEPARINOID = "ヘパリン類似物質油性クリーム0.3%", "1日2回 患部に塗布", "g", Fixed(50.0);
    BETAMETHASONE = "ベタメタゾン吉草酸エステル軟膏0.12%", "1日2回 患部に塗布", "g", Fixed(10.0);
    // Pain and nerves.
    LOXOPROFEN = "ロキソプロフェンナトリウム錠60mg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    CELECOXIB = "セレコキシブ錠100mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    PREGABALIN = "プレガバリンOD錠25mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    MECOBALAMIN = "メコバラミン錠500μg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    // Mental health (自立支援医療).
    SERTRALINE = "セルトラリン錠25mg", "1回1錠 1日1回 夕食後", "錠", PerDay(1.0);
    ESCITALOPRAM = "エスシタロプラム錠10mg", "1回1錠 1日1回 夕食後", "錠", PerDay(1.0);
    ARIPIPRAZOLE = "アリピプラゾール錠3mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    OLANZAPINE = "オランザピン錠5mg", "1回1錠 1日1回 就寝前", "錠", PerDay(1.0);
    LITHIUM = "炭酸リチウム錠200mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    ATOMOXETINE = "アトモキセチンカプセル25mg", "1回1カプセル 1日2回 朝夕食後", "カプセル", PerDay(2.0);
    // Dialysis and intractable diseases.
    LANTHANUM = "炭酸ランタンOD錠250mg", "1回1錠 1日3回 毎食直後", "錠", PerDay(3.0);
    CALCIUM_CARBONATE = "沈降炭酸カルシウム錠500mg", "1回2錠 1日3回 毎食後", "錠", PerDay(6.0);
    LEVODOPA = "レボドパ・カルビドパ配合錠100mg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    MESALAZINE = "メサラジン腸溶錠400mg", "1回2錠 1日3回 毎食後", "錠", PerDay(6.0);
    PREDNISOLONE = "プレドニゾロン錠5mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    RILUZOLE = "リルゾール錠50mg", "1回1錠 1日2回 朝夕食前", "錠", PerDay(2.0);
    // Acute illness.
    ACETAMINOPHEN = "アセトアミノフェン錠200mg", "1回2錠 発熱時 1日3回まで", "錠", Fixed(10.0);
    CARBOCISTEINE = "カルボシステイン錠500mg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    DEXTROMETHORPHAN = "デキストロメトルファン臭化水素酸塩錠15mg", "1回2錠 1日3回 毎食後", "錠", PerDay(6.0);
    TRANEXAMIC = "トラネキサム酸錠250mg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    KAKKONTO = "葛根湯エキス顆粒", "1回1包 1日3回 毎食前", "包", PerDay(3.0);
    AMOXICILLIN = "アモキシシリンカプセル250mg", "1回2カプセル 1日3回 毎食後", "カプセル", PerDay(6.0);
    CEFCAPENE = "セフカペンピボキシル塩酸塩錠100mg", "1回1錠 1日3回 毎食後", "錠", PerDay(3.0);
    LEVOFLOXACIN = "レボフロキサシン錠500mg", "1回1錠 1日1回 朝食後", "錠", PerDay(1.0);
    CLARITHROMYCIN = "クラリスロマイシン錠200mg", "1回1錠 1日2回 朝夕食後", "錠", PerDay(2.0);
    OSELTAMIVIR = "オセルタミビルカプセル75mg", "1回1カプセル 1日2回 朝夕食後", "カプセル", PerDay(2.0);
    PROBIOTIC = "耐性乳酸菌散10%", "1回1g 1日3回 毎食後", "g", PerDay(3.0);
    DOMPERIDONE = "ドンペリドン錠10mg", "1回1錠 1日3回 毎食前", "錠", PerDay(3.0);
    // Children's forms.
    CARBOCISTEINE_SYRUP = "カルボシステインシロップ5%", "1回3mL 1日3回 毎食後", "mL", PerDay(9.0);
    ACETAMINOPHEN_GRANULES = "アセトアミノフェン細粒20%", "1回1包 発熱時 1日3回まで", "包", Fixed(6.0);
    AMOXICILLIN_GRANULES = "アモキシシリン細粒10%", "1回1包 1日3回 毎食後", "包", PerDay(3.0);
    OSELTAMIVIR_SYRUP = "オセルタミビルドライシロップ3%", "1回1包 1日2回 朝夕食後", "包", PerDay(2.0);
    TULOBUTEROL_SYRUP = "ツロブテロール塩酸塩シロップ0.1%", "1回2mL 1日2回 朝夕食後", "mL", PerDay(4.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_varied_and_well_formed() {
        assert!(ALL.len() >= 60, "{}", ALL.len());
        let units = ["錠", "カプセル", "包", "mL", "g"];
        for d in ALL {
            assert!(units.contains(&d.unit), "{}", d.name);
            assert!(!d.dosage.is_empty());
            for days in [7u16, 14, 28, 90] {
                assert!(d.quantity(days) > 0.0, "{}", d.name);
            }
        }
        assert_eq!(ALENDRONATE.quantity(28), 4.0);
    }

    #[test]
    fn routes_times_and_generic_names() {
        assert_eq!(AMLODIPINE.route(), DrugRoute::Oral);
        assert_eq!(AMLODIPINE.times(28), 28);
        assert_eq!(AMLODIPINE.generic_name(), "アムロジピンベシル酸塩");
        assert_eq!(ACETAMINOPHEN.route(), DrugRoute::AsNeeded);
        assert_eq!(ACETAMINOPHEN.times(5), 5, "10 tablets, 2 a dose");
        assert_eq!(HEPARINOID.route(), DrugRoute::External);
        assert_eq!(LATANOPROST.route(), DrugRoute::External);
        assert_eq!(LATANOPROST.times(30), 1);
        assert_eq!(OSELTAMIVIR_SYRUP.generic_name(), "オセルタミビルリン酸塩");
        assert_eq!(SPHERICAL_CARBON.generic_name(), "球形吸着炭");
        assert_eq!(PROBIOTIC.generic_name(), "耐性乳酸菌");
        for d in ALL {
            let g = d.generic_name();
            assert!(
                !g.is_empty() && !g.contains("mg") && !g.contains('錠'),
                "{}: {g}",
                d.name
            );
        }
    }
}
