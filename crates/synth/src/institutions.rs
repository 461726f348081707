//! Names of clinics, hospitals and pharmacies, built from the fictional places
//! so that none is a real institution.

use rand::RngCore;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};

use crate::addresses::{Place, all_prefectures};
use crate::rng::{SynthRng, below, household_rng, per_mille};

/// The department a condition is treated in, which names the clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dept {
    Internal,
    Orthopedic,
    Eye,
    Pediatric,
    Skin,
    Mental,
    Urology,
    Ent,
    Kidney,
    Neuro,
    Hospital,
}

impl Dept {
    fn clinic_suffix(self) -> &'static str {
        match self {
            Self::Internal => "内科クリニック",
            Self::Orthopedic => "整形外科",
            Self::Eye => "眼科",
            Self::Pediatric => "こどもクリニック",
            Self::Skin => "皮膚科クリニック",
            Self::Mental => "こころのクリニック",
            Self::Urology => "泌尿器科クリニック",
            Self::Ent => "耳鼻咽喉科",
            Self::Kidney => "腎クリニック",
            Self::Neuro => "脳神経内科クリニック",
            Self::Hospital => "病院",
        }
    }
}

const PHARMACY_BRANDS: [&str; 12] = [
    "あおぞら",
    "ひだまり",
    "たんぽぽ",
    "すずかけ",
    "つばめ",
    "はなみずき",
    "やまびこ",
    "こまどり",
    "ふくろう",
    "かすみ草",
    "ひいらぎ",
    "みつば",
];

const NURSING_BRANDS: [&str; 8] = [
    "ほほえみ",
    "ぬくもり",
    "よりそい",
    "あんしん",
    "ひなたぼっこ",
    "まごころ",
    "すこやか",
    "えがお",
];

/// The municipality's hospital: 「みどり市民病院」, 「かえで町立病院」.
fn hospital(place: &Place) -> String {
    let m = place.municipality();
    if m.ends_with('市') {
        format!("{m}民病院")
    } else if m.ends_with('町') {
        format!("{m}立病院")
    } else {
        format!("{}中央病院", m.trim_end_matches('村'))
    }
}

pub(crate) fn clinic(place: &Place, dept: Dept) -> String {
    match dept {
        Dept::Hospital => hospital(place),
        _ => format!("{}{}", place.town(), dept.clinic_suffix()),
    }
}

/// A neighbourhood pharmacy; the brand follows from the town so the same
/// town always has the same pharmacy.
pub(crate) fn pharmacy(place: &Place) -> String {
    let brand = PHARMACY_BRANDS
        [usize::from(place.town_index + place.municipality_index) % PHARMACY_BRANDS.len()];
    format!("{brand}薬局 {}店", place.town())
}

fn name_at(kind: InstitutionKind, place: &Place, n: u64) -> String {
    let variant = (n / 7) % 4;
    match kind {
        InstitutionKind::Medical => match variant {
            0 => hospital(place),
            1 => clinic(place, Dept::Internal),
            2 => format!("{}在宅クリニック", place.town()),
            _ => clinic(
                place,
                [Dept::Orthopedic, Dept::Pediatric, Dept::Eye, Dept::Neuro][(n % 4) as usize],
            ),
        },
        InstitutionKind::Dental => {
            if variant.is_multiple_of(2) {
                format!("{}歯科医院", place.town())
            } else {
                format!("{}デンタルクリニック", place.town())
            }
        }
        InstitutionKind::Pharmacy => pharmacy(place),
        InstitutionKind::HomeNursing => format!(
            "訪問看護ステーション{}",
            NURSING_BRANDS[(n % NURSING_BRANDS.len() as u64) as usize]
        ),
    }
}

/// A fictional institution name of the given kind, for demos and tests:
/// 「さくら台内科クリニック」, 「あおぞら薬局 緑町店」, 「訪問看護ステーションほほえみ」.
pub fn institution_name(kind: InstitutionKind, rng: &mut impl RngCore) -> String {
    let n = rng.next_u64();
    let mut local = household_rng(n, u64::MAX);
    let place = Place::random(&mut local, &all_prefectures());
    match place {
        Some(p) => name_at(kind, &p, n),
        None => "みどり診療所".to_owned(),
    }
}

/// `count` demo institutions with valid, distinct codes, deterministic for
/// `seed`: mostly clinics, then pharmacies, home-nursing stations and
/// dentists, in prefectures weighted by population.
pub fn institutions(seed: u64, count: usize) -> Vec<Institution> {
    let prefectures = all_prefectures();
    let mut out = Vec::with_capacity(count);
    for i in 0..count as u64 {
        let mut rng: SynthRng = household_rng(seed ^ 0x1257_1710, i);
        let Some(place) = Place::random(&mut rng, &prefectures) else {
            continue;
        };
        let kind = match below(&mut rng, 10) {
            0..5 => InstitutionKind::Medical,
            5..8 => InstitutionKind::Pharmacy,
            8 => InstitutionKind::HomeNursing,
            _ => InstitutionKind::Dental,
        };
        // Distinct codes: the index spreads over 郡市区 and 機関番号.
        let district = ((i / 10_000) % 99 + 1) as u8;
        let number = (i % 10_000) as u16;
        let Ok(code) = InstitutionCode::build(place.prefecture, kind, district, number) else {
            continue;
        };
        let eprescription = kind.issues_prescriptions() && per_mille(&mut rng, 700);
        if let Ok(inst) = Institution::new(code, &name_at(kind, &place, i), eprescription) {
            out.push(inst);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_kind() {
        let mut rng = household_rng(5, 5);
        for kind in InstitutionKind::ALL {
            for _ in 0..50 {
                let n = institution_name(kind, &mut rng);
                assert!(!n.is_empty());
                match kind {
                    InstitutionKind::Pharmacy => assert!(n.contains("薬局"), "{n}"),
                    InstitutionKind::Dental => {
                        assert!(n.contains("歯科") || n.contains("デンタル"), "{n}")
                    }
                    InstitutionKind::HomeNursing => assert!(n.contains("訪問看護"), "{n}"),
                    InstitutionKind::Medical => {}
                }
            }
        }
    }

    #[test]
    fn demo_institutions_are_valid_and_distinct() {
        let list = institutions(42, 500);
        assert_eq!(list.len(), 500);
        let codes: std::collections::BTreeSet<_> =
            list.iter().map(|i| i.code.as_str().to_owned()).collect();
        assert_eq!(codes.len(), 500);
        for i in &list {
            assert!(InstitutionCode::parse_for(i.code.as_str(), i.kind).is_ok());
        }
        assert_eq!(institutions(42, 20), institutions(42, 20));
        for k in InstitutionKind::ALL {
            assert!(list.iter().any(|i| i.kind == k));
        }
    }
}
