//! Fictional addresses: a real prefecture (weighted by population) with an
//! invented municipality and town, so that no address is anyone's.

use zaitaku_domain::prefecture::Prefecture;

use crate::rng::{SynthRng, between, chance, pick_copy};

/// Population in units of 10,000 (2020 census, rounded), JIS order.
const PREFECTURE_WEIGHTS: [u32; 47] = [
    522, 124, 121, 230, 96, 107, 183, 287, 193, 194, 734, 628, 1405, 924, 220, 103, 113, 77, 81,
    205, 198, 363, 754, 177, 141, 258, 884, 547, 132, 92, 55, 67, 189, 280, 134, 72, 95, 133, 69,
    514, 81, 131, 174, 112, 107, 159, 147,
];

/// The first two digits of the prefecture's postal codes (one of its ranges).
const POSTAL_PREFIX: [u32; 47] = [
    6, 3, 2, 98, 1, 99, 96, 30, 32, 37, 33, 27, 15, 22, 94, 93, 92, 91, 40, 38, 50, 42, 46, 51, 52,
    60, 55, 66, 63, 64, 68, 69, 70, 72, 74, 77, 76, 79, 78, 81, 84, 85, 86, 87, 88, 89, 90,
];

/// Invented municipality names; each prefecture draws its own set from here.
const MUNICIPALITIES: &[&str] = &[
    "みどり市",
    "ひかり市",
    "あおば市",
    "さくら野市",
    "ひばりが丘市",
    "かえで町",
    "わかば市",
    "星見市",
    "白鷺市",
    "桜ヶ丘市",
    "緑川市",
    "青葉台市",
    "つばさ市",
    "こもれび町",
    "朝霧市",
    "虹ヶ浜市",
    "風見町",
    "月見野市",
    "すずらん市",
    "あかね市",
    "みずほ野市",
    "はなみずき市",
    "千草市",
    "松風町",
    "若草市",
    "陽だまり町",
    "夕凪市",
    "清流市",
    "たんぽぽ村",
    "なのはな町",
    "やまびこ村",
    "しらかば町",
    "ふたば市",
    "ことぶき市",
    "やまぶき市",
    "ゆりの木市",
    "こだま市",
    "すみれ町",
    "せせらぎ市",
    "あさひ野市",
];

/// Municipalities per prefecture.
pub(crate) const MUNICIPALITIES_PER_PREFECTURE: u16 = 10;

const TOWNS: &[&str] = &[
    "さくら台",
    "緑町",
    "中央",
    "本町",
    "旭町",
    "栄町",
    "若葉台",
    "希望ヶ丘",
    "東町",
    "西町",
    "南町",
    "北町",
    "桜木町",
    "花見台",
    "星が丘",
    "泉町",
    "松風台",
    "梅ノ木",
    "竹の台",
    "ひばり野",
    "青空台",
    "光町",
    "富士見",
    "みなみ野",
    "緑が丘",
    "宮前",
    "川端町",
    "港町",
    "朝日台",
    "白山",
    "柳町",
    "錦町",
    "寿町",
    "高砂",
    "新町",
    "平和台",
    "いずみ野",
    "つつじヶ丘",
    "さつき台",
    "もみじ台",
];

const BUILDINGS: &[&str] = &[
    "グリーンハイツ",
    "サンライズ",
    "コーポ",
    "メゾン",
    "パークサイド",
    "リバーコート",
    "ハイム",
    "レジデンス",
];

/// Where a household lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub prefecture: Prefecture,
    /// 0..MUNICIPALITIES_PER_PREFECTURE: also the insurer body of 国保 and 後期高齢.
    pub municipality_index: u16,
    pub town_index: u16,
    chome: u32,
    ban: u32,
    go: u32,
    room: Option<(&'static str, u32)>,
}

impl Place {
    pub(crate) fn random(rng: &mut SynthRng, prefectures: &[Prefecture]) -> Option<Self> {
        let i = crate::rng::weighted(rng, &PREFECTURE_INDEXES, 12);
        let prefecture = *prefectures.get(i)?;
        let municipality_index = crate::rng::below(rng, u32::from(MUNICIPALITIES_PER_PREFECTURE));
        let town_index = crate::rng::below(rng, TOWNS.len() as u32);
        let room = chance(rng, 0.3).then(|| {
            (
                pick_copy(rng, BUILDINGS, "コーポ"),
                between(rng, 1, 8) * 100 + between(rng, 1, 9),
            )
        });
        Some(Self {
            prefecture,
            municipality_index: municipality_index as u16,
            town_index: town_index as u16,
            chome: between(rng, 1, 5),
            ban: between(rng, 1, 30),
            go: between(rng, 1, 20),
            room,
        })
    }

    /// Another municipality of the same prefecture (a move).
    pub(crate) fn elsewhere(&self, rng: &mut SynthRng) -> Self {
        let step = between(rng, 1, u32::from(MUNICIPALITIES_PER_PREFECTURE) - 1) as u16;
        Self {
            municipality_index: (self.municipality_index + step) % MUNICIPALITIES_PER_PREFECTURE,
            ..*self
        }
    }

    pub(crate) fn municipality(&self) -> &'static str {
        let n = MUNICIPALITIES.len();
        // Spread each prefecture's ten over the list so neighbours differ.
        let i = (usize::from(self.municipality_index) * 4
            + usize::from(self.prefecture.number()) * 7)
            % n;
        MUNICIPALITIES.get(i).copied().unwrap_or("みどり市")
    }

    pub(crate) fn town(&self) -> &'static str {
        TOWNS
            .get(usize::from(self.town_index))
            .copied()
            .unwrap_or("中央")
    }

    pub(crate) fn address(&self) -> String {
        let mut s = format!(
            "{}{}{}{}-{}-{}",
            self.prefecture.name(),
            self.municipality(),
            self.town(),
            self.chome,
            self.ban,
            self.go
        );
        if let Some((building, room)) = self.room {
            use std::fmt::Write;
            let _ = write!(s, " {building}{room}");
        }
        s
    }

    /// Seven digits, no hyphen: the prefecture's leading digits, then digits
    /// derived from municipality, town and 丁目 so neighbours share a code.
    pub(crate) fn postal_code(&self) -> String {
        let prefix = POSTAL_PREFIX
            .get(usize::from(self.prefecture.number()).saturating_sub(1))
            .copied()
            .unwrap_or(10);
        format!(
            "{:02}{}{:02}{:02}",
            prefix % 100,
            self.municipality_index % 10,
            self.town_index % 100,
            (self.chome * 11) % 100
        )
    }
}

/// `(index into the prefecture list, weight)` for [`crate::rng::weighted`].
const PREFECTURE_INDEXES: [(usize, u32); 47] = {
    let mut t = [(0usize, 0u32); 47];
    let mut i = 0;
    while i < 47 {
        t[i] = (i, PREFECTURE_WEIGHTS[i]);
        i += 1;
    }
    t
};

/// 「東京」 from 「東京都」, as in 「協会けんぽ東京支部」; 北海道 keeps its 道.
pub(crate) fn short_prefecture(p: Prefecture) -> &'static str {
    let name = p.name();
    if name == "北海道" {
        return name;
    }
    name.strip_suffix(['都', '府', '県']).unwrap_or(name)
}

/// All 47 prefectures, built once.
pub(crate) fn all_prefectures() -> Vec<Prefecture> {
    (1..=47).filter_map(Prefecture::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::household_rng;

    #[test]
    fn addresses_look_japanese_and_fictional() {
        let prefs = all_prefectures();
        assert_eq!(prefs.len(), 47);
        let mut rng = household_rng(3, 4);
        for _ in 0..1000 {
            let p = Place::random(&mut rng, &prefs).unwrap();
            let a = p.address();
            assert!(a.starts_with(p.prefecture.name()));
            assert!(a.contains(p.municipality()));
            let z = p.postal_code();
            assert_eq!(z.len(), 7, "{z}");
            assert!(z.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(short_prefecture(Prefecture::new(13).unwrap()), "東京");
        assert_eq!(short_prefecture(Prefecture::new(26).unwrap()), "京都");
        assert_eq!(short_prefecture(Prefecture::new(1).unwrap()), "北海道");
    }

    #[test]
    fn municipalities_are_distinct_within_a_prefecture() {
        for p in all_prefectures() {
            let names: std::collections::BTreeSet<_> = (0..MUNICIPALITIES_PER_PREFECTURE)
                .map(|m| {
                    Place {
                        prefecture: p,
                        municipality_index: m,
                        town_index: 0,
                        chome: 1,
                        ban: 1,
                        go: 1,
                        room: None,
                    }
                    .municipality()
                })
                .collect();
            assert_eq!(names.len(), usize::from(MUNICIPALITIES_PER_PREFECTURE));
        }
    }
}
