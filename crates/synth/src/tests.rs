//! Properties of the generated population as a whole.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use zaitaku_domain::codes::{LossReason, PersonalFamily, PublicSubsidyLaw, QualificationValidity};
use zaitaku_domain::eligibility::{Coverage, PayerNumber, RecipientNumber};
use zaitaku_domain::insurer::{InsurerKind, InsurerNumber, validate_symbol_or_number};
use zaitaku_domain::person::{
    age_on, is_elderly_recipient_age, is_late_elderly_age, is_preschool, validate_birth_date,
    validate_kana, validate_name,
};

use crate::{Population, SyntheticRecord};

const N: usize = 20_000;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
}

fn sample() -> &'static [SyntheticRecord] {
    static SAMPLE: OnceLock<Vec<SyntheticRecord>> = OnceLock::new();
    SAMPLE.get_or_init(|| Population::new(42, today()).persons().take(N).collect())
}

fn insurer_of(q: &zaitaku_domain::eligibility::Qualification) -> Option<&InsurerNumber> {
    match &q.coverage {
        Coverage::Insurance { insurer_number, .. } => Some(insurer_number),
        Coverage::MedicalAssistance { .. } => None,
    }
}

#[test]
fn same_seed_same_people_other_seed_other_people() {
    let a: Vec<_> = Population::new(7, today()).persons().take(1000).collect();
    let b: Vec<_> = Population::new(7, today()).persons().take(1000).collect();
    assert_eq!(a, b);
    let c: Vec<_> = Population::new(8, today()).persons().take(1000).collect();
    assert_ne!(a, c);
    // Same seed, same first persons whatever is taken after them.
    let d: Vec<_> = Population::new(7, today()).persons().take(10).collect();
    assert_eq!(&a[..10], &d[..]);
}

#[test]
fn ids_are_sequential_and_qualification_ids_local() {
    for (i, r) in sample().iter().enumerate() {
        let e = &r.eligibility;
        assert_eq!(e.person.id, i as i64 + 1);
        for (n, q) in e.qualifications.iter().enumerate() {
            assert_eq!(q.id, n as i64 + 1);
        }
        assert!(
            e.qualifications
                .windows(2)
                .all(|w| w[0].valid.from <= w[1].valid.from),
            "oldest first"
        );
    }
}

#[test]
fn every_number_and_name_passes_the_domain_checks() {
    let today = today();
    for r in sample() {
        let e = &r.eligibility;
        let p = &e.person;
        assert!(e.validate().is_ok());
        assert_eq!(validate_name(&p.name).as_deref(), Ok(p.name.as_str()));
        assert_eq!(
            validate_kana(&p.name_kana).as_deref(),
            Ok(p.name_kana.as_str())
        );
        assert!(p.name.contains(' ') && p.name_kana.contains('\u{3000}'));
        if let Some(c) = &p.considerate {
            assert!(validate_name(&c.name).is_ok());
            assert!(validate_kana(&c.name_kana).is_ok());
        }
        assert!(validate_birth_date(p.birth_date, today).is_ok());
        assert!(p.postal_code.len() == 7 && p.postal_code.bytes().all(|b| b.is_ascii_digit()));
        assert!(p.address.chars().count() <= 100);
        for q in &e.qualifications {
            assert!(q.valid.to.is_none_or(|t| t >= q.valid.from));
            assert!(q.acquired_on >= p.birth_date);
            assert!(q.acquired_on <= today);
            if let Some(l) = q.loss {
                assert_eq!(q.valid.to.map(|t| t.succ_opt().unwrap()), Some(l.on));
            }
            match &q.coverage {
                Coverage::Insurance {
                    insurer_number,
                    insurer_name,
                    symbol,
                    number,
                    insured_name,
                    ..
                } => {
                    assert_eq!(
                        &InsurerNumber::parse(insurer_number.as_str()).unwrap(),
                        insurer_number
                    );
                    assert!(!insurer_name.is_empty());
                    let late = insurer_number.kind() == InsurerKind::LateElderly;
                    assert_eq!(
                        validate_symbol_or_number("記号", symbol, !late).as_deref(),
                        Ok(symbol.as_str())
                    );
                    assert_eq!(
                        validate_symbol_or_number("番号", number, true).as_deref(),
                        Ok(number.as_str())
                    );
                    assert!(
                        symbol
                            .bytes()
                            .chain(number.bytes())
                            .all(|b| b.is_ascii_digit())
                    );
                    assert!(validate_name(insured_name).is_ok());
                }
                Coverage::MedicalAssistance {
                    welfare_office_name,
                    payer_number,
                    recipient_number,
                } => {
                    assert!(welfare_office_name.ends_with("福祉事務所"));
                    assert_eq!(
                        &PayerNumber::parse(payer_number.as_str()).unwrap(),
                        payer_number
                    );
                    assert_eq!(payer_number.law(), PublicSubsidyLaw::PublicAssistance);
                    assert!(RecipientNumber::parse(recipient_number.as_str()).is_ok());
                }
            }
        }
        for s in &e.subsidies {
            assert!(PayerNumber::parse(s.payer_number.as_str()).is_ok());
            if let Some(n) = &s.recipient_number {
                assert!(RecipientNumber::parse(n.as_str()).is_ok());
            }
            assert!(s.valid.to.is_none_or(|t| t >= s.valid.from));
            assert!(!s.payer_number.law().is_medical_assistance());
        }
        for c in &e.limits {
            assert!(c.valid.to.is_some_and(|t| t >= c.valid.from));
            let age = age_on(p.birth_date, c.valid.from);
            assert_eq!(c.class.for_seventy_or_over(), age >= 70, "{:?}", c.class);
            assert!(
                c.long_term_from
                    .is_none_or(|d| d >= c.valid.from && d <= today)
            );
        }
        for c in &e.specific_diseases {
            assert!([10_000, 20_000].contains(&c.self_pay_limit_yen));
        }
    }
}

#[test]
fn medical_records_are_plausible() {
    let today = today();
    let three_years_ago = today.checked_sub_months(chrono::Months::new(37)).unwrap();
    for r in sample() {
        let birth = r.eligibility.person.birth_date;
        for d in &r.drugs {
            assert!(d.dispensed_on <= today && d.dispensed_on >= three_years_ago);
            assert!(d.dispensed_on >= birth);
            assert!((5..=90).contains(&d.days), "{}", d.days);
            assert!(d.quantity > 0.0);
            assert!(["錠", "カプセル", "包", "mL", "g"].contains(&d.unit.as_str()));
            assert!(!d.institution_name.is_empty() && !d.dosage.is_empty());
        }
        for c in &r.clinical {
            assert!(c.occurred_on <= today);
            assert!(!c.name.is_empty() && !c.institution_name.is_empty());
        }
        for c in &r.checkups {
            assert!((40..=74).contains(&age_on(birth, c.examined_on)));
            assert!(c.examined_on <= today);
        }
    }
}

#[test]
fn households_share_cards_and_addresses() {
    let records = sample();
    let mut by_card: BTreeMap<(String, String, String), Vec<&SyntheticRecord>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for r in records {
        for q in &r.eligibility.qualifications {
            if let Coverage::Insurance {
                insurer_number,
                symbol,
                number,
                branch,
                ..
            } = &q.coverage
            {
                let key = (
                    insurer_number.as_str().to_owned(),
                    symbol.clone(),
                    number.clone(),
                );
                assert!(
                    seen.insert((key.clone(), branch.value())),
                    "card {key:?} {branch} used twice"
                );
                if q.covers(today()) {
                    by_card.entry(key).or_default().push(r);
                }
            }
        }
    }
    let mut families = 0;
    for members in by_card.values().filter(|m| m.len() > 1) {
        let first = &members[0].eligibility.person;
        for m in members {
            assert_eq!(m.eligibility.person.address, first.address);
        }
        let holder = members.iter().find_map(|m| {
            m.eligibility
                .qualifications
                .iter()
                .find_map(|q| match &q.coverage {
                    Coverage::Insurance {
                        personal_family: PersonalFamily::Insured,
                        branch,
                        insured_name,
                        ..
                    } if branch.value() == 0 && q.covers(today()) => Some(insured_name.clone()),
                    _ => None,
                })
        });
        for m in members {
            for q in &m.eligibility.qualifications {
                if let Coverage::Insurance {
                    personal_family: PersonalFamily::Dependent,
                    insured_name,
                    branch,
                    ..
                } = &q.coverage
                {
                    families += 1;
                    assert!(branch.value() > 0);
                    if q.covers(today()) {
                        assert_eq!(Some(insured_name), holder.as_ref());
                        assert_ne!(&m.eligibility.person.name, insured_name);
                    }
                }
            }
        }
    }
    assert!(families > 1000);
}

#[test]
fn age_rules_hold() {
    let today = today();
    for r in sample() {
        let e = &r.eligibility;
        let birth = e.person.birth_date;
        let resolved = e.resolve(today);
        assert_ne!(resolved.validity, QualificationValidity::Multiple);
        let current = resolved.qualification.filter(|q| q.covers(today));
        if is_late_elderly_age(birth, today) {
            if let Some(q) = current {
                match &q.coverage {
                    Coverage::Insurance {
                        insurer_number,
                        personal_family,
                        burden_ratio,
                        ..
                    } => {
                        assert_eq!(insurer_number.kind(), InsurerKind::LateElderly);
                        assert_eq!(*personal_family, PersonalFamily::Insured);
                        assert!(burden_ratio.is_some());
                    }
                    Coverage::MedicalAssistance { .. } => {}
                }
            }
            assert!(e.elderly.is_empty());
        } else if let Some(q) = current {
            assert_ne!(
                insurer_of(q).map(InsurerNumber::kind),
                Some(InsurerKind::LateElderly)
            );
        }
        let insured = current.is_some_and(|q| !q.is_medical_assistance());
        if is_elderly_recipient_age(birth, today) && insured {
            let cert = e
                .elderly_on(today)
                .expect("70–74 insured have 高齢受給者証");
            assert!(
                cert.valid
                    .to
                    .is_some_and(|t| is_late_elderly_age(birth, t.succ_opt().unwrap()))
            );
        }
        for c in &e.elderly {
            assert!(is_elderly_recipient_age(birth, c.valid.from));
        }
    }
}

/// Every interesting case turns up among the first 20,000.
#[test]
fn covers_the_interesting_cases() {
    let today = today();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mark = |name: &'static str, cond: bool| {
        if cond {
            *seen.entry(name).or_default() += 1;
        }
    };
    for r in sample() {
        let e = &r.eligibility;
        let birth = e.person.birth_date;
        let resolved = e.resolve(today);
        let current = resolved.qualification.filter(|q| q.covers(today));
        let kind = current.and_then(insurer_of).map(InsurerNumber::kind);
        mark("preschool", is_preschool(birth, today) && current.is_some());
        mark(
            "70-74 with elderly certificate",
            is_elderly_recipient_age(birth, today) && e.elderly_on(today).is_some(),
        );
        mark(
            "75+ in law 39",
            is_late_elderly_age(birth, today) && kind == Some(InsurerKind::LateElderly),
        );
        mark("kyokai", kind == Some(InsurerKind::KyokaiKenpo));
        mark("society", kind == Some(InsurerKind::HealthInsuranceSociety));
        mark("mutual aid", kind == Some(InsurerKind::MutualAid));
        mark("national health", kind == Some(InsurerKind::NationalHealth));
        mark("late elderly", kind == Some(InsurerKind::LateElderly));
        mark("seamen", kind == Some(InsurerKind::Seamen));
        mark("self-defense", kind == Some(InsurerKind::SelfDefenseForces));
        mark("limit certificate", e.limit_on(today).is_some());
        mark(
            "limit certificate with long-term",
            e.limits.iter().any(|l| l.long_term_from.is_some()),
        );
        mark(
            "specific disease",
            e.specific_diseases_on(today).next().is_some(),
        );
        mark("public subsidy", e.subsidies_on(today).next().is_some());
        for law in [
            PublicSubsidyLaw::IntractableDisease,
            PublicSubsidyLaw::ChildChronic,
            PublicSubsidyLaw::PsychiatricOutpatient,
            PublicSubsidyLaw::LocalChild,
        ] {
            mark(
                law.code(),
                e.subsidies_on(today).any(|s| s.payer_number.law() == law),
            );
        }
        mark(
            "medical assistance",
            current.is_some_and(|q| q.is_medical_assistance()),
        );
        mark(
            "insurer change",
            resolved.validity == QualificationValidity::Valid
                && e.qualifications.iter().any(|q| q.loss.is_some()),
        );
        mark(
            "age 75 transition",
            e.qualifications
                .iter()
                .any(|q| q.loss.is_some_and(|l| l.reason == LossReason::Age75)),
        );
        mark(
            "invalid today",
            resolved.validity == QualificationValidity::Invalid,
        );
        mark(
            "not found",
            resolved.validity == QualificationValidity::NotFound,
        );
        mark("not registered", !e.person.insurance_use_registered);
        mark("considerate info", e.person.considerate.is_some());
        mark(
            "dependent with branch > 00",
            current.is_some_and(|q| {
                matches!(&q.coverage, Coverage::Insurance { personal_family: PersonalFamily::Dependent, branch, .. } if branch.value() > 0)
            }),
        );
        for kind in zaitaku_domain::medical::ClinicalKind::ALL {
            mark(kind.as_str(), r.clinical.iter().any(|c| c.kind == kind));
        }
        mark(
            "positive infection test",
            r.clinical.iter().any(|c| c.detail.starts_with("陽性")),
        );
        mark(
            "negative infection test",
            r.clinical.iter().any(|c| c.detail == "陰性"),
        );
        mark("checkups", !r.checkups.is_empty());
    }
    let expected = [
        "preschool",
        "70-74 with elderly certificate",
        "75+ in law 39",
        "kyokai",
        "society",
        "mutual aid",
        "national health",
        "late elderly",
        "seamen",
        "self-defense",
        "limit certificate",
        "limit certificate with long-term",
        "specific disease",
        "public subsidy",
        "54",
        "52",
        "21",
        "88",
        "medical assistance",
        "insurer change",
        "age 75 transition",
        "invalid today",
        "not found",
        "not registered",
        "considerate info",
        "dependent with branch > 00",
        "surgery",
        "diagnosis",
        "infection_test",
        "lab_result",
        "allergy",
        "positive infection test",
        "negative infection test",
        "checkups",
    ];
    for name in expected {
        assert!(seen.contains_key(name), "no case of {name}: {seen:?}");
    }
    let share = |name| seen.get(name).copied().unwrap_or(0) as f64 / N as f64;
    assert!((0.07..0.13).contains(&share("not registered")));
    assert!((0.008..0.025).contains(&share("medical assistance")));
    assert!((0.001..0.012).contains(&share("considerate info")));
}

#[test]
fn rows_per_person_stay_near_eight() {
    let rows: usize = sample().iter().map(SyntheticRecord::rows).sum();
    let mean = rows as f64 / N as f64;
    assert!((5.0..11.0).contains(&mean), "mean rows {mean}");
    // The old take more medicines than the young.
    let drugs = |lo: u32, hi: u32| {
        let (n, d) = sample()
            .iter()
            .filter(|r| (lo..hi).contains(&age_on(r.eligibility.person.birth_date, today())))
            .fold((0usize, 0usize), |(n, d), r| (n + 1, d + r.drugs.len()));
        d as f64 / n as f64
    };
    assert!(drugs(75, 120) > 2.0 * drugs(15, 40));
}

#[test]
fn age_pyramid_is_japanese() {
    let ages: Vec<u32> = sample()
        .iter()
        .map(|r| age_on(r.eligibility.person.birth_date, today()))
        .collect();
    let share = |lo: u32, hi: u32| {
        ages.iter().filter(|a| (lo..hi).contains(*a)).count() as f64 / ages.len() as f64
    };
    assert!((0.09..0.20).contains(&share(0, 15)), "{}", share(0, 15));
    assert!((0.22..0.34).contains(&share(65, 200)), "{}", share(65, 200));
    assert!((0.11..0.20).contains(&share(75, 200)), "{}", share(75, 200));
    assert!(ages.iter().all(|&a| a <= 100));
}
