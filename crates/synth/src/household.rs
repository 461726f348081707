//! Who lives together, how old they are, who works, and how each is
//! insured: the household decides dependents, shared card numbers and the
//! qualification history.

use chrono::NaiveDate;
use zaitaku_domain::codes::{LossReason, Sex};
use zaitaku_domain::eligibility::Loss;
use zaitaku_domain::person::add_years;

use crate::addresses::Place;
use crate::insurers::{self, Insurer};
use crate::names::{self, Name};
use crate::rng::{
    SynthRng, below, between, chance, day_between, days_before, per_mille, scramble, weighted, ymd,
};

/// Japan's population by five-year band (0–4 … 95–99, 100), in 100,000s.
const PYRAMID: [u32; 21] = [
    42, 48, 52, 54, 63, 64, 66, 73, 81, 96, 93, 80, 74, 76, 92, 70, 56, 37, 17, 5, 1,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    SingleYoung,
    SingleOld,
    CoupleYoung,
    CoupleOld,
    Nuclear,
    SingleParent,
    ElderParentChild,
    ThreeGenerations,
}

/// Shares of households (2020 census: about 38 % single, 20 % couples,
/// 25 % couples with children, 9 % single parents, the rest extended).
const KINDS: [(Kind, u32); 8] = [
    (Kind::SingleYoung, 22),
    (Kind::SingleOld, 17),
    (Kind::CoupleYoung, 9),
    (Kind::CoupleOld, 16),
    (Kind::Nuclear, 21),
    (Kind::SingleParent, 5),
    (Kind::ElderParentChild, 6),
    (Kind::ThreeGenerations, 6),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Head,
    Spouse,
    Child,
    Parent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    Employee,
    SelfEmployed,
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub role: Role,
    pub age: u32,
    pub birth: NaiveDate,
    pub sex: Sex,
    pub family: Name,
    pub given: Name,
    pub work: Work,
}

/// One card's worth of people: an insured person and those sharing the
/// 記号・番号 (dependents, or a 国保 household).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub insurer: Insurer,
    pub symbol: String,
    pub number: String,
    pub holder: usize,
    pub next_branch: u8,
    pub start: NaiveDate,
    pub previous: Option<Previous>,
    pub lost: Option<Loss>,
}

/// The insurer before the current one, for everyone of the group already
/// born then.
#[derive(Debug, Clone)]
pub(crate) struct Previous {
    pub insurer: Insurer,
    pub symbol: String,
    pub number: String,
    pub from: NaiveDate,
    pub reason: LossReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cover {
    Group { group: usize, branch: u8 },
    LateElderly,
    Assistance,
    Nothing,
}

/// Having been a dependent on a parent's card until starting work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FormerDependent {
    pub group: usize,
    pub branch: u8,
    pub until: NaiveDate,
}

#[derive(Debug)]
pub(crate) struct Household {
    pub index: u64,
    pub kind: Kind,
    pub place: Place,
    pub members: Vec<Member>,
    pub cover: Vec<Cover>,
    pub former: Vec<Option<FormerDependent>>,
    pub groups: Vec<Group>,
    /// 医療扶助 since this day (the whole household).
    pub assistance_from: Option<NaiveDate>,
}

fn age_weight(age: u32) -> u32 {
    PYRAMID[(age / 5).min(20) as usize]
}

/// An age in `[lo, hi]` following the population pyramid.
fn age_in(rng: &mut SynthRng, lo: u32, hi: u32) -> u32 {
    let total: u32 = (lo..=hi).map(age_weight).sum();
    let mut r = below(rng, total);
    for a in lo..=hi {
        let w = age_weight(a);
        if r < w {
            return a;
        }
        r -= w;
    }
    hi
}

fn birth_for_age(rng: &mut SynthRng, today: NaiveDate, age: u32) -> NaiveDate {
    let years = i32::try_from(age).unwrap_or(0);
    let anniversary = add_years(today, -years).unwrap_or(today);
    // Any day of the year that ends at `anniversary` keeps the age exact.
    days_before(anniversary, below(rng, 365))
}

fn other(sex: Sex) -> Sex {
    if sex == Sex::Male {
        Sex::Female
    } else {
        Sex::Male
    }
}

fn sex_with_male_share(rng: &mut SynthRng, male_per_mille: u32) -> Sex {
    if per_mille(rng, male_per_mille) {
        Sex::Male
    } else {
        Sex::Female
    }
}

struct Builder<'a> {
    rng: &'a mut SynthRng,
    today: NaiveDate,
    family: Name,
    members: Vec<Member>,
}

impl Builder<'_> {
    fn add(&mut self, role: Role, age: u32, sex: Sex) {
        let birth = birth_for_age(self.rng, self.today, age);
        let family = if role == Role::Parent && chance(self.rng, 0.3) {
            // A parent of the spouse: another family name.
            names::family(self.rng)
        } else {
            self.family
        };
        // Two members with the same given name would confuse everyone.
        let mut given = names::given(self.rng, sex, birth);
        for _ in 0..5 {
            if !self.members.iter().any(|m| m.given.0 == given.0) {
                break;
            }
            given = names::given(self.rng, sex, birth);
        }
        let work = work_for(self.rng, role, age);
        self.members.push(Member {
            role,
            age,
            birth,
            sex,
            family,
            given,
            work,
        });
    }

    fn couple(&mut self, head_age: u32, spouse_age: u32) {
        let head_sex = sex_with_male_share(self.rng, 850);
        self.add(Role::Head, head_age, head_sex);
        self.add(Role::Spouse, spouse_age, other(head_sex));
    }

    fn children(&mut self, mother_age: u32, count: u32) {
        let mut ages: Vec<u32> = (0..count)
            .map(|_| {
                // Mothers are mostly 24–40 at a birth; children in their
                // late twenties have mostly left home.
                let at_birth = between(self.rng, 24, 40);
                match mother_age.checked_sub(at_birth) {
                    Some(age) if age <= 26 => age,
                    Some(_) => between(self.rng, 15, 26),
                    None => between(self.rng, 0, mother_age.saturating_sub(21)),
                }
            })
            .collect();
        ages.sort_unstable_by(|a, b| b.cmp(a));
        for age in ages {
            let sex = sex_with_male_share(self.rng, 512);
            self.add(Role::Child, age, sex);
        }
    }
}

fn work_for(rng: &mut SynthRng, role: Role, age: u32) -> Work {
    // (employee, self-employed) in ‰; the rest do not work.
    let (employee, own) = match (role, age) {
        (_, 0..15) | (_, 75..) | (Role::Parent, _) => (0, 0),
        (_, 15..20) => (100, 0),
        (_, 20..23) => (430, 20),
        (Role::Head, 23..65) => (800, 120),
        (Role::Spouse, 23..65) => (500, 50),
        (_, 23..65) => (750, 50),
        (Role::Head, _) => (250, 150),
        (_, _) => (100, 20),
    };
    let r = below(rng, 1000);
    if r < employee {
        Work::Employee
    } else if r < employee + own {
        Work::SelfEmployed
    } else {
        Work::None
    }
}

fn compose(rng: &mut SynthRng, today: NaiveDate, kind: Kind) -> Vec<Member> {
    let family = names::family(rng);
    let mut b = Builder {
        rng,
        today,
        family,
        members: Vec::with_capacity(5),
    };
    match kind {
        Kind::SingleYoung => {
            let age = if chance(b.rng, 0.55) {
                age_in(b.rng, 20, 39)
            } else {
                age_in(b.rng, 40, 64)
            };
            let sex = sex_with_male_share(b.rng, 560);
            b.add(Role::Head, age, sex);
        }
        Kind::SingleOld => {
            let age = age_in(b.rng, 65, 100);
            let sex = sex_with_male_share(b.rng, 350);
            b.add(Role::Head, age, sex);
        }
        Kind::CoupleYoung => {
            let head = age_in(b.rng, 25, 64);
            let spouse = (head + between(b.rng, 0, 7)).saturating_sub(3).max(20);
            b.couple(head, spouse);
        }
        Kind::CoupleOld => {
            let head = age_in(b.rng, 65, 97);
            let spouse = (head + between(b.rng, 0, 8))
                .saturating_sub(5)
                .clamp(60, 100);
            b.couple(head, spouse);
        }
        Kind::Nuclear | Kind::ThreeGenerations => {
            let (lo, hi) = if kind == Kind::Nuclear {
                (26, 54)
            } else {
                (32, 52)
            };
            let mother = age_in(b.rng, lo, hi);
            let father = (mother + between(b.rng, 0, 6)).saturating_sub(1);
            let head_male = chance(b.rng, 0.92);
            if head_male {
                b.add(Role::Head, father, Sex::Male);
                b.add(Role::Spouse, mother, Sex::Female);
            } else {
                b.add(Role::Head, mother, Sex::Female);
                b.add(Role::Spouse, father, Sex::Male);
            }
            let count = if kind == Kind::Nuclear {
                weighted(b.rng, &[(1, 50), (2, 40), (3, 10)], 1)
            } else {
                weighted(b.rng, &[(1, 55), (2, 45)], 1)
            };
            b.children(mother, count);
            if kind == Kind::ThreeGenerations {
                let age = (father + between(b.rng, 25, 35)).min(100);
                let sex = sex_with_male_share(b.rng, 300);
                b.add(Role::Parent, age, sex);
            }
        }
        Kind::SingleParent => {
            let sex = sex_with_male_share(b.rng, 150);
            let age = age_in(b.rng, 25, 55);
            b.add(Role::Head, age, sex);
            let count = weighted(b.rng, &[(1, 55), (2, 45)], 1);
            let mother_like = age.saturating_sub(1).max(21);
            b.children(mother_like, count);
        }
        Kind::ElderParentChild => {
            let parent = age_in(b.rng, 72, 100);
            let child = parent.saturating_sub(between(b.rng, 24, 38)).max(30);
            let sex = sex_with_male_share(b.rng, 550);
            b.add(Role::Head, child, sex);
            let sex = sex_with_male_share(b.rng, 250);
            b.add(Role::Parent, parent, sex);
        }
    }
    b.members
}

/// Turns a household index into card numbers that are unique within the
/// population: `slot` keeps the numbers of one household apart.
fn card_number(household: u64, slot: u64) -> String {
    scramble(household * 16 + slot, 1_000_000_000).to_string()
}

/// Eight digits, as on 後期高齢者 cards (per person).
pub(crate) fn late_elderly_number(household: u64, member: usize) -> String {
    format!(
        "{:08}",
        scramble(household * 8 + member as u64, 100_000_000)
    )
}

/// A number for a closed-down card of a single person (slots 10–15).
pub(crate) fn personal_card_number(household: u64, member: usize) -> String {
    card_number(household, 10 + (member as u64 % 6))
}

struct Planner<'a> {
    rng: &'a mut SynthRng,
    today: NaiveDate,
    index: u64,
    place: Place,
    groups: Vec<Group>,
    slots: u64,
}

impl Planner<'_> {
    fn start_for(&mut self, m: &Member, changed: bool) -> NaiveDate {
        let adult = add_years(m.birth, 18).unwrap_or(m.birth);
        let back = if changed { 8 } else { 30 };
        // Teenagers in their first job started recently, whatever their age.
        let latest = days_before(self.today, 30).max(m.birth);
        let earliest = add_years(self.today, -back)
            .unwrap_or(self.today)
            .max(adult)
            .min(latest);
        day_between(self.rng, earliest, latest)
    }

    fn new_group(&mut self, insurer: Insurer, holder: usize, m: &Member) -> usize {
        let symbol = insurers::symbol(self.rng, insurer.scheme);
        let number = card_number(self.index, self.slots);
        self.slots += 1;
        let changed = (25..75).contains(&m.age) && chance(self.rng, 0.12);
        let start = self.start_for(m, changed);
        let previous = if changed {
            self.previous_for(&insurer, m, start)
        } else {
            None
        };
        self.groups.push(Group {
            insurer,
            symbol,
            number,
            holder,
            next_branch: 1,
            start,
            previous,
            lost: None,
        });
        self.groups.len() - 1
    }

    /// The insurer before a change on `start`, and why it ended.
    fn previous_for(
        &mut self,
        current: &Insurer,
        m: &Member,
        start: NaiveDate,
    ) -> Option<Previous> {
        let home = self.place.prefecture;
        let (insurer, reason) = if current.scheme.has_dependents() {
            if chance(self.rng, 0.75) {
                (
                    insurers::employer(self.rng, home, m.age)?,
                    LossReason::Transfer,
                )
            } else {
                (insurers::national(&self.place)?, LossReason::Other)
            }
        } else if chance(self.rng, 0.6) {
            (
                insurers::employer(self.rng, home, m.age)?,
                LossReason::Retirement,
            )
        } else {
            let before = self.place.elsewhere(self.rng);
            (insurers::national(&before)?, LossReason::Moved)
        };
        let adult = add_years(m.birth, 18).unwrap_or(m.birth);
        let earliest = add_years(start, -15).unwrap_or(start).max(adult);
        let latest = days_before(start, 365);
        if earliest >= latest {
            return None;
        }
        let from = day_between(self.rng, earliest, latest);
        let symbol = insurers::symbol(self.rng, insurer.scheme);
        let number = card_number(self.index, self.slots);
        self.slots += 1;
        Some(Previous {
            insurer,
            symbol,
            number,
            from,
            reason,
        })
    }

    fn employee_group(&mut self, i: usize, m: &Member) -> Option<usize> {
        let insurer = insurers::employer(self.rng, self.place.prefecture, m.age)?;
        Some(self.new_group(insurer, i, m))
    }

    fn national_group(&mut self, i: usize, m: &Member) -> Option<usize> {
        let home = self.place.prefecture;
        let insurer = if m.work == Work::SelfEmployed && chance(self.rng, 0.2) {
            insurers::national_union(self.rng, home)?
        } else if (60..75).contains(&m.age) && m.work == Work::None && per_mille(self.rng, 40) {
            insurers::special_retiree(self.rng, home)?
        } else {
            insurers::national(&self.place)?
        };
        Some(self.new_group(insurer, i, m))
    }

    fn join(&mut self, g: usize) -> Cover {
        let Some(group) = self.groups.get_mut(g) else {
            return Cover::Nothing;
        };
        let branch = group.next_branch;
        group.next_branch = group.next_branch.saturating_add(1);
        Cover::Group { group: g, branch }
    }
}

fn household_kind(rng: &mut SynthRng) -> Kind {
    weighted(rng, &KINDS, Kind::Nuclear)
}

/// Builds household `index`: members, where they live and how they are covered.
pub(crate) fn build(
    rng: &mut SynthRng,
    today: NaiveDate,
    index: u64,
    prefectures: &[zaitaku_domain::prefecture::Prefecture],
) -> Option<Household> {
    let place = Place::random(rng, prefectures)?;
    let kind = household_kind(rng);
    let members = compose(rng, today, kind);
    let n = members.len();

    // 医療扶助: mostly people living alone, and single parents.
    let assistance_per_mille = match kind {
        Kind::SingleOld => 85,
        Kind::SingleYoung => 25,
        Kind::SingleParent => 100,
        _ => 0,
    };
    if per_mille(rng, assistance_per_mille) {
        let from = day_between(
            rng,
            add_years(today, -10).unwrap_or(today),
            days_before(today, 30),
        );
        return Some(Household {
            index,
            kind,
            place,
            cover: vec![Cover::Assistance; n],
            former: vec![None; n],
            members,
            groups: Vec::new(),
            assistance_from: Some(from),
        });
    }
    // Just back from abroad and not yet enrolled anywhere.
    if kind == Kind::SingleYoung && per_mille(rng, 15) {
        return Some(Household {
            index,
            kind,
            place,
            cover: vec![Cover::Nothing; n],
            former: vec![None; n],
            members,
            groups: Vec::new(),
            assistance_from: None,
        });
    }

    let mut p = Planner {
        rng,
        today,
        index,
        place,
        groups: Vec::new(),
        slots: 0,
    };
    let mut cover = vec![Cover::Nothing; n];
    let mut former = vec![None; n];

    // Everyone employed has a card of their own.
    for (i, m) in members.iter().enumerate() {
        if m.age >= 75 {
            cover[i] = Cover::LateElderly;
        } else if m.work == Work::Employee
            && let Some(g) = p.employee_group(i, m)
        {
            cover[i] = Cover::Group {
                group: g,
                branch: 0,
            };
        }
    }
    // The card others can be dependents on: the head's, else the spouse's.
    let family_group = [Role::Head, Role::Spouse].iter().find_map(|&r| {
        members.iter().enumerate().find_map(|(i, m)| {
            (m.role == r && m.work == Work::Employee)
                .then_some(cover[i])
                .and_then(|c| match c {
                    Cover::Group { group, .. } => Some(group),
                    _ => None,
                })
        })
    });
    let mut national: Option<usize> = None;
    for (i, m) in members.iter().enumerate() {
        if cover[i] != Cover::Nothing || m.age >= 75 {
            continue;
        }
        let dependent = family_group.is_some()
            && m.work != Work::SelfEmployed
            && (m.role != Role::Parent || chance(p.rng, 0.5));
        cover[i] = match (dependent, family_group, national) {
            (true, Some(g), _) => p.join(g),
            (_, _, Some(g)) => p.join(g),
            _ => match p.national_group(i, m) {
                Some(g) => {
                    national = Some(g);
                    Cover::Group {
                        group: g,
                        branch: 0,
                    }
                }
                None => Cover::Nothing,
            },
        };
    }

    // A young worker who was on a parent's card until the first job.
    if let Some(fg) = family_group {
        for (i, m) in members.iter().enumerate() {
            let on_own_card = matches!(cover[i], Cover::Group { group, .. } if group != fg);
            if m.role != Role::Child || m.work != Work::Employee || !on_own_card {
                continue;
            }
            let parent_group_clean = p.groups.get(fg).is_some_and(|g| g.previous.is_none());
            if !(22..=30).contains(&m.age) || !parent_group_clean || !chance(p.rng, 0.5) {
                continue;
            }
            let Cover::Group { group: own, .. } = cover[i] else {
                continue;
            };
            let first_job = add_years(m.birth, 22).unwrap_or(m.birth);
            let start = day_between(p.rng, first_job, days_before(today, 30));
            if let Some(g) = p.groups.get_mut(own) {
                g.start = start;
                g.previous = None;
            }
            if let Cover::Group { branch, .. } = p.join(fg) {
                former[i] = Some(FormerDependent {
                    group: fg,
                    branch,
                    until: start,
                });
            }
        }
    }

    // A card without a predecessor must have been there when the children
    // on it were born, not only later.
    for (gi, g) in p.groups.iter_mut().enumerate() {
        let Some(holder_adult) = members.get(g.holder).and_then(|h| add_years(h.birth, 18)) else {
            continue;
        };
        let first_born = members
            .iter()
            .zip(&cover)
            .filter(|(m, c)| {
                m.birth >= holder_adult
                    && matches!(c, Cover::Group { group, branch } if *group == gi && *branch > 0)
            })
            .map(|(m, _)| m.birth)
            .min();
        let earliest = holder_adult.max(add_years(today, -30).unwrap_or(today));
        match first_born {
            Some(first) if g.previous.is_none() && first < g.start && earliest <= first => {
                g.start = day_between(p.rng, earliest, first);
            }
            _ => {}
        }
    }

    // Cards given up recently with nothing new yet: 無効 today.
    if per_mille(p.rng, 15) {
        for g in &mut p.groups {
            let on = days_before(today, between(p.rng, 1, 120));
            let reason = if g.insurer.scheme.has_dependents() {
                LossReason::Retirement
            } else {
                LossReason::Moved
            };
            if g.start >= on {
                g.start = days_before(on, 400);
                if g.previous.as_ref().is_some_and(|pr| pr.from >= g.start) {
                    g.previous = None;
                }
            }
            g.lost = Some(Loss { on, reason });
        }
    }

    let groups = p.groups;
    Some(Household {
        index,
        kind,
        place,
        members,
        cover,
        former,
        groups,
        assistance_from: None,
    })
}

/// The day 後期高齢者医療 began (no one was in it before).
pub(crate) fn late_elderly_system_start() -> NaiveDate {
    ymd(2008, 4, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addresses::all_prefectures;
    use crate::rng::household_rng;

    #[test]
    fn households_are_coherent() {
        let today = ymd(2026, 6, 1);
        let prefs = all_prefectures();
        let mut sizes = [0usize; 6];
        for h in 0..5000u64 {
            let mut rng = household_rng(11, h);
            let hh = build(&mut rng, today, h, &prefs).unwrap();
            let n = hh.members.len();
            assert!((1..=5).contains(&n));
            sizes[n] += 1;
            for (m, c) in hh.members.iter().zip(&hh.cover) {
                assert_eq!(zaitaku_domain::person::age_on(m.birth, today), m.age);
                if m.age >= 75 {
                    assert!(matches!(c, Cover::LateElderly | Cover::Assistance));
                }
                if let Cover::Group { group, branch } = *c {
                    let g = &hh.groups[group];
                    assert!(g.start <= today);
                    if branch > 0 && g.insurer.scheme.has_dependents() {
                        assert!(m.age < 75);
                    }
                }
            }
        }
        let persons: usize = sizes.iter().enumerate().map(|(s, c)| s * c).sum();
        let mean = persons as f64 / 5000.0;
        assert!((1.9..2.6).contains(&mean), "mean household {mean}");
    }
}
