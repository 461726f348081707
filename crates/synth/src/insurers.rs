//! Insurers: numbers built (with their check digits) by the domain crate,
//! names that follow from the number so one number always has one name.

use zaitaku_domain::insurer::InsurerNumber;
use zaitaku_domain::prefecture::Prefecture;

use crate::addresses::{Place, short_prefecture};
use crate::rng::{SynthRng, below, between, weighted};

/// How a person is insured; decides dependents, symbols and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Kyokai,
    Society,
    MutualAid,
    Seamen,
    SelfDefense,
    SpecialRetiree,
    National,
    NationalUnion,
    LateElderly,
}

impl Scheme {
    /// Employee schemes have 被扶養者; in 国保 and 後期高齢 everyone is insured.
    pub(crate) fn has_dependents(self) -> bool {
        !matches!(
            self,
            Self::National | Self::NationalUnion | Self::LateElderly
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Insurer {
    pub number: InsurerNumber,
    pub name: String,
    pub scheme: Scheme,
}

const COMPANY_PREFIXES: [&str; 25] = [
    "ひかり",
    "あおば",
    "さくら",
    "みなと",
    "つばさ",
    "そよかぜ",
    "しらかば",
    "ほしぞら",
    "こはく",
    "はるかぜ",
    "あさなぎ",
    "わかたけ",
    "こもれび",
    "せせらぎ",
    "ふたば",
    "いろは",
    "まほろば",
    "うみかぜ",
    "ともしび",
    "ひなげし",
    "あかつき",
    "しおさい",
    "やまなみ",
    "みずき",
    "たちばな",
];

const INDUSTRIES: [&str; 40] = [
    "電機",
    "精機",
    "商事",
    "化学",
    "製薬",
    "運輸",
    "食品",
    "建設",
    "情報システム",
    "百貨店",
    "自動車部品",
    "鉄鋼",
    "印刷",
    "物流",
    "重工",
    "繊維",
    "製紙",
    "電子",
    "工業",
    "通信",
    "証券",
    "信用金庫",
    "不動産",
    "観光",
    "製菓",
    "ガス",
    "住宅",
    "光学",
    "医療機器",
    "ソフトウェア",
    "商会",
    "石油",
    "海運",
    "飲料",
    "酒造",
    "乳業",
    "家具",
    "楽器",
    "化粧品",
    "出版",
];

const MINISTRIES: [&str; 12] = [
    "財務省",
    "文部科学省",
    "厚生労働省",
    "国土交通省",
    "農林水産省",
    "法務省",
    "外務省",
    "経済産業省",
    "総務省",
    "防衛省",
    "裁判所",
    "会計検査院",
];

const UNIONS: [&str; 5] = ["建設業", "医師", "食品販売", "理容美容", "薬剤師"];

/// The society catalogue: 1000 companies, the first 650 with head offices in
/// Tokyo, Osaka and Aichi (where most large employers are), the rest spread
/// over the prefectures.
fn society_prefecture_number(company: u16) -> u8 {
    match company {
        0..450 => 13,
        450..570 => 27,
        570..650 => 23,
        c => ((c - 650) % 47) as u8 + 1,
    }
}

fn company_name(company: u16) -> String {
    let c = usize::from(company % 1000);
    format!(
        "{}{}",
        COMPANY_PREFIXES[c % COMPANY_PREFIXES.len()],
        INDUSTRIES[c / COMPANY_PREFIXES.len() % INDUSTRIES.len()]
    )
}

/// A company for someone living in `home`: a big-city head office, or a
/// local company of the home prefecture.
fn company_for(rng: &mut SynthRng, home: Prefecture) -> u16 {
    if below(rng, 100) < 50 {
        below(rng, 650) as u16
    } else {
        650 + u16::from(home.number() - 1) + 47 * below(rng, 7) as u16
    }
}

fn tokyo() -> Option<Prefecture> {
    Prefecture::new(13)
}

fn build(
    law: Option<u8>,
    p: Prefecture,
    body: u16,
    name: String,
    scheme: Scheme,
) -> Option<Insurer> {
    Some(Insurer {
        number: InsurerNumber::build(law, p, body).ok()?,
        name,
        scheme,
    })
}

pub(crate) fn kyokai(home: Prefecture) -> Option<Insurer> {
    build(
        Some(1),
        home,
        1,
        format!("全国健康保険協会{}支部", short_prefecture(home)),
        Scheme::Kyokai,
    )
}

pub(crate) fn society(rng: &mut SynthRng, home: Prefecture) -> Option<Insurer> {
    let c = company_for(rng, home);
    let p = Prefecture::new(society_prefecture_number(c))?;
    build(
        Some(6),
        p,
        c,
        format!("{}健康保険組合", company_name(c)),
        Scheme::Society,
    )
}

pub(crate) fn special_retiree(rng: &mut SynthRng, home: Prefecture) -> Option<Insurer> {
    // Only large societies run 特例退職 schemes: take one from the city catalogue.
    let c = below(rng, 650) as u16;
    let p = Prefecture::new(society_prefecture_number(c))?;
    build(
        Some(63),
        p,
        c,
        format!("{}健康保険組合（特例退職）", company_name(c)),
        Scheme::SpecialRetiree,
    )
    .or_else(|| kyokai(home))
}

pub(crate) fn mutual_aid(rng: &mut SynthRng, home: Prefecture) -> Option<Insurer> {
    match weighted(rng, &[(31u8, 30), (32, 55), (33, 5), (34, 10)], 32) {
        31 => {
            let i = below(rng, MINISTRIES.len() as u32) as u16;
            build(
                Some(31),
                tokyo()?,
                i + 1,
                format!("{}共済組合", MINISTRIES[usize::from(i)]),
                Scheme::MutualAid,
            )
        }
        33 => build(
            Some(33),
            home,
            1,
            format!("警察共済組合{}支部", short_prefecture(home)),
            Scheme::MutualAid,
        ),
        34 => build(
            Some(34),
            tokyo()?,
            1,
            "日本私立学校振興・共済事業団".to_owned(),
            Scheme::MutualAid,
        ),
        _ => {
            let body = between(rng, 1, 3) as u16;
            let name = match body {
                1 => format!("地方職員共済組合{}支部", short_prefecture(home)),
                2 => format!("公立学校共済組合{}支部", short_prefecture(home)),
                _ => format!("{}市町村職員共済組合", home.name()),
            };
            build(Some(32), home, body, name, Scheme::MutualAid)
        }
    }
}

pub(crate) fn seamen() -> Option<Insurer> {
    build(
        Some(2),
        tokyo()?,
        1,
        "全国健康保険協会船員保険部".to_owned(),
        Scheme::Seamen,
    )
}

pub(crate) fn self_defense(home: Prefecture) -> Option<Insurer> {
    build(
        Some(7),
        home,
        1,
        "防衛省（自衛官等）".to_owned(),
        Scheme::SelfDefense,
    )
}

/// 市町村国保: the insurer of the municipality the household lives in.
pub(crate) fn national(place: &Place) -> Option<Insurer> {
    build(
        None,
        place.prefecture,
        101 + place.municipality_index,
        format!("{}国民健康保険", place.municipality()),
        Scheme::National,
    )
}

/// 国民健康保険組合 (trades), also 6 digits.
pub(crate) fn national_union(rng: &mut SynthRng, home: Prefecture) -> Option<Insurer> {
    let k = below(rng, UNIONS.len() as u32) as u16;
    build(
        None,
        home,
        301 + k,
        format!(
            "{}{}国民健康保険組合",
            short_prefecture(home),
            UNIONS[usize::from(k)]
        ),
        Scheme::NationalUnion,
    )
}

/// 後期高齢者医療: the prefecture's 広域連合, one number per municipality.
pub(crate) fn late_elderly(place: &Place) -> Option<Insurer> {
    build(
        Some(39),
        place.prefecture,
        101 + place.municipality_index,
        format!("{}後期高齢者医療広域連合", place.prefecture.name()),
        Scheme::LateElderly,
    )
}

/// The insurer of someone employed, by age (older workers are more often in
/// small firms, hence 協会けんぽ).
pub(crate) fn employer(rng: &mut SynthRng, home: Prefecture, age: u32) -> Option<Insurer> {
    let table: &[(Scheme, u32)] = if age < 65 {
        &[
            (Scheme::Kyokai, 500),
            (Scheme::Society, 340),
            (Scheme::MutualAid, 140),
            (Scheme::Seamen, 2),
            (Scheme::SelfDefense, 4),
        ]
    } else {
        &[
            (Scheme::Kyokai, 620),
            (Scheme::Society, 280),
            (Scheme::MutualAid, 100),
        ]
    };
    match weighted(rng, table, Scheme::Kyokai) {
        Scheme::Society => society(rng, home),
        Scheme::MutualAid => mutual_aid(rng, home),
        Scheme::Seamen => seamen(),
        Scheme::SelfDefense => self_defense(home),
        _ => kyokai(home),
    }
}

/// 記号 as digits, in the shape each kind of insurer uses; 後期高齢 has none.
pub(crate) fn symbol(rng: &mut SynthRng, scheme: Scheme) -> String {
    match scheme {
        Scheme::Kyokai => format!("{:08}", between(rng, 1_000_000, 99_999_999)),
        Scheme::Society => between(rng, 1, 9999).to_string(),
        Scheme::MutualAid => between(rng, 10, 999).to_string(),
        Scheme::Seamen => between(rng, 1000, 9999).to_string(),
        Scheme::SelfDefense => between(rng, 100, 999).to_string(),
        Scheme::SpecialRetiree => between(rng, 1, 99).to_string(),
        Scheme::National => format!("{:02}", between(rng, 1, 99)),
        Scheme::NationalUnion => between(rng, 1, 999).to_string(),
        Scheme::LateElderly => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addresses::all_prefectures;
    use crate::rng::household_rng;
    use zaitaku_domain::insurer::InsurerKind;

    #[test]
    fn every_builder_gives_a_valid_number_of_its_kind() {
        let mut rng = household_rng(9, 9);
        let prefs = all_prefectures();
        for _ in 0..2000 {
            let place = Place::random(&mut rng, &prefs).unwrap();
            let home = place.prefecture;
            let cases = [
                (kyokai(home), InsurerKind::KyokaiKenpo),
                (society(&mut rng, home), InsurerKind::HealthInsuranceSociety),
                (mutual_aid(&mut rng, home), InsurerKind::MutualAid),
                (seamen(), InsurerKind::Seamen),
                (self_defense(home), InsurerKind::SelfDefenseForces),
                (special_retiree(&mut rng, home), InsurerKind::SpecialRetiree),
                (national(&place), InsurerKind::NationalHealth),
                (national_union(&mut rng, home), InsurerKind::NationalHealth),
                (late_elderly(&place), InsurerKind::LateElderly),
            ];
            for (insurer, kind) in cases {
                let i = insurer.unwrap();
                let parsed = InsurerNumber::parse(i.number.as_str()).unwrap();
                assert_eq!(parsed.kind(), kind, "{}", i.name);
                assert!(!i.name.is_empty());
            }
        }
    }

    #[test]
    fn one_number_one_name() {
        let mut rng = household_rng(1, 1);
        let prefs = all_prefectures();
        let mut names = std::collections::HashMap::new();
        for _ in 0..20_000 {
            let home = prefs[below(&mut rng, 47) as usize];
            let i = society(&mut rng, home).unwrap();
            let previous = names.insert(i.number.as_str().to_owned(), i.name.clone());
            assert!(previous.is_none_or(|n| n == i.name));
        }
    }
}
