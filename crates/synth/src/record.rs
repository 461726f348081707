//! Turns a planned household into the records the registry stores: the
//! person, the qualification history, certificates, subsidies and the
//! medical history.

use chrono::{Datelike, Days, NaiveDate};
use zaitaku_domain::codes::{
    BurdenRatio, LossReason, PersonalFamily, PublicSubsidyLaw, Sex, SpecificDisease,
};
use zaitaku_domain::eligibility::{Coverage, Eligibility, Loss, Period, Qualification};
use zaitaku_domain::insurer::BranchNumber;
use zaitaku_domain::person::{ConsiderateInfo, Person, add_years};

use crate::SyntheticRecord;
use crate::certificates::{self, SubsidyRequest};
use crate::checkups;
use crate::household::{
    Cover, Household, Kind, Member, late_elderly_number, late_elderly_system_start,
    personal_card_number,
};
use crate::insurers::{self, Insurer};
use crate::medical::{self, CHILD_CHRONIC, INTRACTABLE, PSYCHIATRIC, Patient, Treatment};
use crate::names::{self, full_name};
use crate::rng::{SynthRng, chance, day_between, days_before, per_mille, pick};

struct Card<'a> {
    insurer: &'a Insurer,
    symbol: &'a str,
    number: &'a str,
    branch: u8,
    personal_family: PersonalFamily,
    insured_name: &'a str,
    burden_ratio: Option<BurdenRatio>,
}

fn insurance(card: &Card<'_>) -> Option<Coverage> {
    Some(Coverage::Insurance {
        insurer_number: card.insurer.number.clone(),
        insurer_name: card.insurer.name.clone(),
        symbol: card.symbol.to_owned(),
        number: card.number.to_owned(),
        branch: BranchNumber::new(card.branch)?,
        personal_family: card.personal_family,
        insured_name: card.insured_name.to_owned(),
        burden_ratio: card.burden_ratio,
    })
}

/// A qualification from `acquired`, ended by `loss` if any; `None` when the
/// loss would come before it began.
fn qualification(
    coverage: Option<Coverage>,
    acquired: NaiveDate,
    loss: Option<Loss>,
) -> Option<Qualification> {
    let coverage = coverage?;
    if loss.is_some_and(|l| l.on <= acquired) {
        return None;
    }
    Some(Qualification {
        id: 0,
        coverage,
        acquired_on: acquired,
        // Issued within two weeks of joining; derived, not drawn, so the rest
        // of the population stays the same for a seed.
        issued_on: acquired.checked_add_days(Days::new(u64::from(acquired.ordinal() % 15))),
        valid: Period {
            from: acquired,
            to: loss.map(|l| days_before(l.on, 1)),
        },
        loss,
    })
}

pub(crate) struct Context<'a> {
    pub today: NaiveDate,
    pub household: &'a Household,
    pub names: &'a [(String, String)],
}

/// 後期高齢者医療 from the 75th birthday (or the scheme's start), with the
/// insurer it replaced when that was recent.
fn late_elderly(
    rng: &mut SynthRng,
    ctx: &Context<'_>,
    i: usize,
    m: &Member,
    out: &mut Vec<Qualification>,
) {
    let hh = ctx.household;
    let Some(insurer) = insurers::late_elderly(&hh.place) else {
        return;
    };
    let Some(turned_75) = add_years(m.birth, 75) else {
        return;
    };
    let from = turned_75.max(late_elderly_system_start());
    let own_name = &ctx.names[i].0;
    let number = late_elderly_number(hh.index, i);
    let ratio = certificates::late_elderly_ratio(rng);
    let recent = add_years(ctx.today, -6).is_some_and(|d| turned_75 >= d);
    if recent && from == turned_75 && chance(rng, 0.8) {
        let before = if chance(rng, 0.75) {
            insurers::national(&hh.place)
        } else {
            insurers::employer(rng, hh.place.prefecture, 74)
        };
        if let Some(before) = before {
            let symbol = insurers::symbol(rng, before.scheme);
            let number = personal_card_number(hh.index, i);
            let earliest = add_years(m.birth, 60).unwrap_or(m.birth);
            let since = day_between(rng, earliest, days_before(turned_75, 365));
            let card = Card {
                insurer: &before,
                symbol: &symbol,
                number: &number,
                branch: 0,
                personal_family: PersonalFamily::Insured,
                insured_name: own_name,
                burden_ratio: None,
            };
            let loss = Loss {
                on: turned_75,
                reason: LossReason::Age75,
            };
            out.extend(qualification(insurance(&card), since, Some(loss)));
        }
    }
    let card = Card {
        insurer: &insurer,
        symbol: "",
        number: &number,
        branch: 0,
        personal_family: PersonalFamily::Insured,
        insured_name: own_name,
        burden_ratio: Some(ratio),
    };
    out.extend(qualification(insurance(&card), from, None));
}

/// 医療扶助 from the household's start, sometimes with the insurance it ended.
fn assistance(
    rng: &mut SynthRng,
    ctx: &Context<'_>,
    i: usize,
    m: &Member,
    person_id: i64,
    out: &mut Vec<Qualification>,
) {
    let hh = ctx.household;
    let Some(start) = hh.assistance_from else {
        return;
    };
    let acquired = start.max(m.birth);
    if acquired == start && chance(rng, 0.5) {
        let turned_75 = add_years(m.birth, 75).unwrap_or(m.birth);
        let before = if turned_75 < start && turned_75 >= late_elderly_system_start() {
            insurers::late_elderly(&hh.place).map(|ins| (ins, turned_75, true))
        } else if turned_75 >= start {
            insurers::national(&hh.place).map(|ins| (ins, m.birth, false))
        } else {
            None
        };
        if let Some((insurer, earliest, late)) = before {
            let symbol = insurers::symbol(rng, insurer.scheme);
            let number = personal_card_number(hh.index, i);
            let lo = earliest.max(add_years(start, -10).unwrap_or(start));
            let since = day_between(rng, lo, days_before(start, 30));
            let card = Card {
                insurer: &insurer,
                symbol: &symbol,
                number: &number,
                branch: 0,
                personal_family: PersonalFamily::Insured,
                insured_name: &ctx.names[i].0,
                burden_ratio: late.then_some(BurdenRatio::One),
            };
            let loss = Loss {
                on: start,
                reason: LossReason::PublicAssistanceStarted,
            };
            out.extend(qualification(insurance(&card), since, Some(loss)));
        }
    }
    let (Some(payer_number), Some(recipient_number)) = (
        certificates::assistance_payer(&hh.place),
        certificates::recipient(person_id, 7),
    ) else {
        return;
    };
    let coverage = Coverage::MedicalAssistance {
        welfare_office_name: format!("{}福祉事務所", hh.place.municipality()),
        payer_number,
        recipient_number,
    };
    out.extend(qualification(Some(coverage), acquired, None));
}

/// Qualifications on the household's cards: the current one, the one
/// before a change, and a parent's card left for a first job.
fn on_cards(
    ctx: &Context<'_>,
    i: usize,
    m: &Member,
    group: usize,
    branch: u8,
) -> Vec<Qualification> {
    let hh = ctx.household;
    let mut out = Vec::with_capacity(2);
    let Some(g) = hh.groups.get(group) else {
        return out;
    };
    let dependents = g.insurer.scheme.has_dependents();
    let personal_family = if dependents && branch > 0 {
        PersonalFamily::Dependent
    } else {
        PersonalFamily::Insured
    };
    // 被保険者氏名: the holder on employee cards; in 国保 everyone is insured.
    let insured_name = if dependents {
        ctx.names.get(g.holder).map_or("", |n| n.0.as_str())
    } else {
        ctx.names[i].0.as_str()
    };
    if let Some(fd) = hh.former[i]
        && let Some(pg) = hh.groups.get(fd.group)
    {
        let card = Card {
            insurer: &pg.insurer,
            symbol: &pg.symbol,
            number: &pg.number,
            branch: fd.branch,
            personal_family: PersonalFamily::Dependent,
            insured_name: ctx.names.get(pg.holder).map_or("", |n| n.0.as_str()),
            burden_ratio: None,
        };
        let loss = Loss {
            on: fd.until,
            reason: LossReason::DependentRemoved,
        };
        out.extend(qualification(
            insurance(&card),
            pg.start.max(m.birth),
            Some(loss),
        ));
    }
    if let Some(prev) = &g.previous
        && m.birth < g.start
    {
        let prev_dependents = prev.insurer.scheme.has_dependents();
        let card = Card {
            insurer: &prev.insurer,
            symbol: &prev.symbol,
            number: &prev.number,
            branch,
            personal_family: if prev_dependents && branch > 0 {
                PersonalFamily::Dependent
            } else {
                PersonalFamily::Insured
            },
            insured_name: if prev_dependents {
                ctx.names.get(g.holder).map_or("", |n| n.0.as_str())
            } else {
                ctx.names[i].0.as_str()
            },
            burden_ratio: None,
        };
        let loss = Loss {
            on: g.start,
            reason: prev.reason,
        };
        out.extend(qualification(
            insurance(&card),
            prev.from.max(m.birth),
            Some(loss),
        ));
    }
    let card = Card {
        insurer: &g.insurer,
        symbol: &g.symbol,
        number: &g.number,
        branch,
        personal_family,
        insured_name,
        burden_ratio: None,
    };
    out.extend(qualification(
        insurance(&card),
        g.start.max(m.birth),
        g.lost,
    ));
    out
}

/// Someone who wishes to be addressed by another name and sex (要配慮情報).
fn considerate(rng: &mut SynthRng, m: &Member) -> ConsiderateInfo {
    let sex = if chance(rng, 0.25) {
        Sex::Unset
    } else if m.sex == Sex::Male {
        Sex::Female
    } else {
        Sex::Male
    };
    let as_sex = if sex == Sex::Unset {
        if m.sex == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        }
    } else {
        sex
    };
    let given = names::given(rng, as_sex, m.birth);
    let (name, name_kana) = full_name(m.family, given);
    ConsiderateInfo {
        name,
        name_kana,
        sex,
    }
}

fn band_per_mille(age: u32, table: [u32; 5]) -> u32 {
    table[match age {
        0..20 => 0,
        20..40 => 1,
        40..60 => 2,
        60..75 => 3,
        _ => 4,
    }]
}

/// Builds every member's record, ids from `first_id`.
pub(crate) fn household_records(
    rng: &mut SynthRng,
    ctx: &Context<'_>,
    first_id: i64,
    out: &mut impl Extend<SyntheticRecord>,
) {
    let hh = ctx.household;
    let today = ctx.today;
    let address = hh.place.address();
    let postal_code = hh.place.postal_code();
    let single_parent_aid = hh.kind == Kind::SingleParent && chance(rng, 0.6);
    for (i, m) in hh.members.iter().enumerate() {
        let id = first_id + i as i64;
        let (name, name_kana) = ctx.names[i].clone();
        let considerate_info = (m.age >= 10 && per_mille(rng, 5)).then(|| considerate(rng, m));
        let person = Person {
            id,
            name,
            name_kana,
            birth_date: m.birth,
            sex: m.sex,
            postal_code: postal_code.clone(),
            address: address.clone(),
            considerate: considerate_info,
            insurance_use_registered: per_mille(rng, 900),
        };

        let mut qualifications = Vec::new();
        match hh.cover[i] {
            Cover::Group { group, branch } => {
                qualifications = on_cards(ctx, i, m, group, branch);
            }
            Cover::LateElderly => late_elderly(rng, ctx, i, m, &mut qualifications),
            Cover::Assistance => assistance(rng, ctx, i, m, id, &mut qualifications),
            Cover::Nothing => {}
        }
        qualifications.sort_by_key(|q| q.valid.from);
        for (n, q) in qualifications.iter_mut().enumerate() {
            q.id = n as i64 + 1;
        }
        let current = qualifications.iter().find(|q| q.covers(today));
        let insured_now = current.is_some_and(|q| !q.is_medical_assistance());
        let covered_now = current.is_some();
        let insured_from = current.map_or(today, |q| q.acquired_on);
        let own_ratio = current.and_then(|q| match &q.coverage {
            Coverage::Insurance { burden_ratio, .. } => *burden_ratio,
            Coverage::MedicalAssistance { .. } => None,
        });

        let mut elderly = Vec::new();
        if insured_now {
            elderly.extend(certificates::elderly(rng, m.birth, today, insured_from));
        }
        let ratio = own_ratio.or(elderly.first().map(|e| e.burden_ratio));

        // Conditions behind certificates and subsidies.
        let dialysis_since = chance(
            rng,
            f64::from(band_per_mille(m.age, [2, 80, 250, 600, 650])) / 100_000.0,
        )
        .then(|| {
            let earliest = add_years(m.birth, 15).unwrap_or(m.birth);
            let lo = earliest.max(add_years(today, -15).unwrap_or(today));
            day_between(rng, lo, days_before(today, 60))
        });
        let hemophilia = m.sex == Sex::Male && per_mille(rng, 1) && chance(rng, 0.1);
        let hiv = hemophilia && m.birth < crate::rng::ymd(1986, 1, 1) && chance(rng, 0.35);

        let mut specific_diseases = Vec::new();
        let mut limits = Vec::new();
        if insured_now {
            if let Some(since) = dialysis_since {
                let limit = if m.age < 70 && chance(rng, 0.15) {
                    20_000
                } else {
                    10_000
                };
                specific_diseases.push(certificates::specific_disease(
                    SpecificDisease::Dialysis,
                    since.max(insured_from),
                    limit,
                ));
            }
            if hemophilia {
                specific_diseases.push(certificates::specific_disease(
                    SpecificDisease::Hemophilia,
                    insured_from,
                    10_000,
                ));
            }
            if hiv {
                specific_diseases.push(certificates::specific_disease(
                    SpecificDisease::BloodProductHiv,
                    insured_from,
                    10_000,
                ));
            }
            let limit_per_mille = match m.age {
                0..70 => 12,
                70..75 => 40,
                _ => 60,
            } + if dialysis_since.is_some() { 400 } else { 0 };
            if per_mille(rng, limit_per_mille) {
                limits = certificates::limits(rng, m.birth, today, insured_from, ratio);
            }
        }

        let mut subsidies = Vec::new();
        let mut special: Vec<&'static Treatment> = Vec::new();
        if covered_now {
            let request = |law| SubsidyRequest {
                law,
                place: &hh.place,
                person_id: id,
                birth: m.birth,
                today,
                not_before: insured_from,
            };
            if insured_now && m.age <= 14 && per_mille(rng, 900) {
                subsidies.extend(certificates::subsidy(
                    rng,
                    &request(PublicSubsidyLaw::LocalChild),
                ));
            }
            if insured_now && m.age < 18 && per_mille(rng, 7) {
                subsidies.extend(certificates::subsidy(
                    rng,
                    &request(PublicSubsidyLaw::ChildChronic),
                ));
                special.extend(pick(rng, CHILD_CHRONIC));
            }
            if m.age >= 15 && per_mille(rng, band_per_mille(m.age, [5, 5, 10, 10, 12])) {
                subsidies.extend(certificates::subsidy(
                    rng,
                    &request(PublicSubsidyLaw::IntractableDisease),
                ));
                special.extend(pick(rng, INTRACTABLE));
            }
            let psychiatric = match m.age {
                0..10 => 0,
                10..15 => 5,
                15..75 => 20,
                _ => 5,
            };
            if per_mille(rng, psychiatric) {
                subsidies.extend(certificates::subsidy(
                    rng,
                    &request(PublicSubsidyLaw::PsychiatricOutpatient),
                ));
                let choices = if m.age < 30 {
                    PSYCHIATRIC
                } else {
                    &PSYCHIATRIC[..PSYCHIATRIC.len() - 1]
                };
                special.extend(pick(rng, choices));
            }
            if per_mille(rng, 5) {
                subsidies.extend(certificates::subsidy(
                    rng,
                    &request(PublicSubsidyLaw::LocalDisability),
                ));
            }
            if single_parent_aid && m.role == crate::household::Role::Head && insured_now {
                subsidies.extend(certificates::subsidy(
                    rng,
                    &request(PublicSubsidyLaw::LocalSingleParent),
                ));
            }
        }

        let (drugs, clinical, checkups) = if qualifications.is_empty() {
            // Nobody has seen a doctor under a card they never had.
            (Vec::new(), Vec::new(), Vec::new())
        } else {
            let patient = Patient {
                birth: m.birth,
                age: m.age,
                sex: m.sex,
                today,
                place: &hh.place,
                dialysis_since,
                hemophilia,
                hiv,
                special: &special,
            };
            let (drugs, clinical, risks) = medical::history(rng, &patient);
            let checkups = checkups::results(rng, m.birth, m.sex, today, risks);
            (drugs, clinical, checkups)
        };

        out.extend(std::iter::once(SyntheticRecord {
            eligibility: Eligibility {
                person,
                qualifications,
                elderly,
                limits,
                specific_diseases,
                subsidies,
            },
            drugs,
            clinical,
            checkups,
        }));
    }
}
