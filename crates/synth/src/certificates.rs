//! 高齢受給者証, 限度額適用認定証, 特定疾病療養受療証 and public subsidies.

use chrono::{Datelike, NaiveDate};
use zaitaku_domain::codes::{
    BurdenRatio, LimitCertificateKind, LimitClass, PublicSubsidyLaw, SpecificDisease,
};
use zaitaku_domain::eligibility::{
    ElderlyCertificate, LimitCertificate, PayerNumber, Period, PublicSubsidy, RecipientNumber,
    SpecificDiseaseCertificate,
};
use zaitaku_domain::person::{add_years, age_on, is_elderly_recipient_age, school_entry_date};

use crate::addresses::Place;
use crate::rng::{
    SynthRng, between, chance, day_between, days_after, days_before, scramble, weighted, ymd,
};

/// The first day of the 高齢受給者 band, found with the domain's own rule
/// (it starts within a month of the 70th birthday).
fn elderly_band_start(birth: NaiveDate) -> Option<NaiveDate> {
    let seventieth = add_years(birth, 70)?;
    (0..=31)
        .map(|d| days_after(seventieth, d))
        .find(|&d| is_elderly_recipient_age(birth, d))
}

/// 高齢受給者証 for someone 70–74 insured since `insured_from`: valid until
/// the day before 75, so it never lapses while the person is in the band.
pub(crate) fn elderly(
    rng: &mut SynthRng,
    birth: NaiveDate,
    today: NaiveDate,
    insured_from: NaiveDate,
) -> Option<ElderlyCertificate> {
    if !is_elderly_recipient_age(birth, today) {
        return None;
    }
    let from = elderly_band_start(birth)?.max(insured_from);
    let to = days_before(add_years(birth, 75)?, 1);
    // About one in ten is 現役並み所得者.
    let burden_ratio = if chance(rng, 0.1) {
        BurdenRatio::Three
    } else {
        BurdenRatio::Two
    };
    Some(ElderlyCertificate {
        valid: Period { from, to: Some(to) },
        burden_ratio,
    })
}

/// 後期高齢者医療's 一部負担割合 (2022 onwards: about 72 % / 20 % / 8 %).
pub(crate) fn late_elderly_ratio(rng: &mut SynthRng) -> BurdenRatio {
    weighted(
        rng,
        &[
            (BurdenRatio::One, 72),
            (BurdenRatio::Two, 20),
            (BurdenRatio::Three, 8),
        ],
        BurdenRatio::One,
    )
}

fn limit_class(rng: &mut SynthRng, age: u32, ratio: Option<BurdenRatio>) -> LimitClass {
    use LimitClass::*;
    let table: &[(LimitClass, u32)] = match (age, ratio) {
        (0..70, _) => &[(A01, 4), (A02, 9), (A03, 52), (A04, 25), (A05, 7), (A06, 3)],
        (_, Some(BurdenRatio::Three)) => &[(B01, 1), (B02, 3), (B03, 4)],
        (75.., Some(BurdenRatio::Two)) => &[(B09, 1)],
        (75.., _) => &[(B10, 25), (B05, 45), (B06, 20), (B07, 5), (B08, 5)],
        _ => &[(B04, 25), (B05, 45), (B06, 20), (B07, 5), (B08, 5)],
    };
    weighted(rng, table, A03)
}

/// Certificates run August to July.
fn cycle_start(today: NaiveDate) -> NaiveDate {
    let year = if today.month() >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    ymd(year, 8, 1)
}

/// 限度額適用認定証 for this cycle, and sometimes last cycle's (expired).
pub(crate) fn limits(
    rng: &mut SynthRng,
    birth: NaiveDate,
    today: NaiveDate,
    insured_from: NaiveDate,
    ratio: Option<BurdenRatio>,
) -> Vec<LimitCertificate> {
    let age = age_on(birth, today);
    let class = limit_class(rng, age, ratio);
    // A B-class certificate cannot start before 70, nor an A-class one
    // reach back across it (the certificate is reissued at 70).
    let seventieth = add_years(birth, 70).unwrap_or(birth);
    let not_before = if class.for_seventy_or_over() {
        insured_from.max(seventieth)
    } else {
        insured_from
    };
    let insured_from = not_before;
    let kind = match class {
        LimitClass::A05
        | LimitClass::A06
        | LimitClass::B05
        | LimitClass::B06
        | LimitClass::B07
        | LimitClass::B08 => LimitCertificateKind::LimitAndMealReduction,
        _ => LimitCertificateKind::Limit,
    };
    let cycle = cycle_start(today);
    let to = days_before(add_years(cycle, 1).unwrap_or(cycle), 1);
    // Applied for some time this cycle, when the need arose.
    let applied = day_between(rng, cycle, today);
    let from = applied.max(insured_from);
    let mut out = Vec::with_capacity(2);
    let last_cycle = add_years(cycle, -1).unwrap_or(cycle);
    if chance(rng, 0.2) && last_cycle >= insured_from {
        out.push(LimitCertificate {
            kind,
            class,
            valid: Period {
                from: last_cycle,
                to: Some(days_before(cycle, 1)),
            },
            long_term_from: None,
        });
    }
    let long_term_from = (kind == LimitCertificateKind::LimitAndMealReduction && chance(rng, 0.25))
        .then(|| day_between(rng, from, today));
    out.push(LimitCertificate {
        kind,
        class,
        valid: Period { from, to: Some(to) },
        long_term_from,
    });
    out
}

pub(crate) fn specific_disease(
    disease: SpecificDisease,
    from: NaiveDate,
    self_pay_limit_yen: u32,
) -> SpecificDiseaseCertificate {
    SpecificDiseaseCertificate {
        disease,
        valid: Period { from, to: None },
        self_pay_limit_yen,
    }
}

/// Which programme, for the payer and recipient numbers.
fn payer(law: PublicSubsidyLaw, place: &Place) -> Option<PayerNumber> {
    // Municipal programmes are paid by the municipality; the others by the
    // prefecture.
    let body = match law {
        PublicSubsidyLaw::LocalChild
        | PublicSubsidyLaw::LocalSingleParent
        | PublicSubsidyLaw::LocalDisability
        | PublicSubsidyLaw::PublicAssistance => 101 + place.municipality_index,
        _ => 1,
    };
    PayerNumber::build(law, place.prefecture, body).ok()
}

pub(crate) fn recipient(person_id: i64, slot: u64) -> Option<RecipientNumber> {
    let x = u64::try_from(person_id).unwrap_or(0) * 8 + slot;
    RecipientNumber::build(scramble(x, 1_000_000) as u32).ok()
}

pub(crate) fn assistance_payer(place: &Place) -> Option<PayerNumber> {
    payer(PublicSubsidyLaw::PublicAssistance, place)
}

/// A one-year certificate applied for within the last year.
fn yearly(rng: &mut SynthRng, today: NaiveDate, not_before: NaiveDate) -> Period {
    let from = days_before(today, between(rng, 1, 330)).max(not_before);
    let to = days_before(add_years(from, 1).unwrap_or(from), 1);
    Period { from, to: Some(to) }
}

pub(crate) struct SubsidyRequest<'a> {
    pub law: PublicSubsidyLaw,
    pub place: &'a Place,
    pub person_id: i64,
    pub birth: NaiveDate,
    pub today: NaiveDate,
    pub not_before: NaiveDate,
}

pub(crate) fn subsidy(rng: &mut SynthRng, r: &SubsidyRequest<'_>) -> Option<PublicSubsidy> {
    use PublicSubsidyLaw as L;
    let slot = match r.law {
        L::LocalChild => 0,
        L::ChildChronic => 1,
        L::IntractableDisease => 2,
        L::PsychiatricOutpatient => 3,
        L::LocalDisability => 4,
        _ => 5,
    };
    let (valid, monthly_limit_yen) = match r.law {
        L::LocalChild => {
            // Until the end of 中学校: nine school years after entry.
            let end = add_years(school_entry_date(r.birth), 9)?;
            let from = r.birth.max(r.not_before);
            let limit = chance(rng, 0.2).then_some(1000);
            (
                Period {
                    from,
                    to: Some(days_before(end, 1)),
                },
                limit,
            )
        }
        L::ChildChronic => (
            yearly(rng, r.today, r.not_before),
            Some(weighted(
                rng,
                &[
                    (0, 5),
                    (1250, 10),
                    (2500, 30),
                    (5000, 30),
                    (10_000, 20),
                    (15_000, 5),
                ],
                2500,
            )),
        ),
        L::IntractableDisease => (
            yearly(rng, r.today, r.not_before),
            Some(weighted(
                rng,
                &[
                    (2500, 15),
                    (5000, 25),
                    (10_000, 30),
                    (20_000, 20),
                    (30_000, 10),
                ],
                10_000,
            )),
        ),
        L::PsychiatricOutpatient => (
            yearly(rng, r.today, r.not_before),
            Some(weighted(
                rng,
                &[(2500, 20), (5000, 35), (10_000, 25), (20_000, 20)],
                5000,
            )),
        ),
        _ => {
            let earliest = add_years(r.today, -5).unwrap_or(r.today).max(r.not_before);
            let from = day_between(rng, earliest, days_before(r.today, 30));
            (Period { from, to: None }, None)
        }
    };
    if valid.to.is_some_and(|t| t < valid.from) {
        return None;
    }
    Some(PublicSubsidy {
        payer_number: payer(r.law, r.place)?,
        recipient_number: recipient(r.person_id, slot),
        valid,
        monthly_limit_yen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::household_rng;

    #[test]
    fn elderly_band_start_matches_the_domain_rule() {
        let b = ymd(1955, 5, 15);
        assert_eq!(elderly_band_start(b), Some(ymd(2025, 6, 1)));
        let b = ymd(1955, 5, 1);
        assert_eq!(elderly_band_start(b), Some(ymd(2025, 5, 1)));
    }

    #[test]
    fn limit_classes_follow_age() {
        let mut rng = household_rng(2, 2);
        let today = ymd(2026, 2, 10);
        for _ in 0..500 {
            for c in limits(&mut rng, ymd(1976, 1, 1), today, ymd(2000, 1, 1), None) {
                assert!(!c.class.for_seventy_or_over());
                assert!(c.valid.to.is_some_and(|t| t >= c.valid.from));
            }
            let c = limits(
                &mut rng,
                ymd(1946, 1, 1),
                today,
                ymd(2000, 1, 1),
                Some(BurdenRatio::One),
            );
            assert!(c.iter().all(|c| c.class.for_seventy_or_over()));
            assert!(c.last().is_some_and(|c| c.valid.contains(today)));
        }
    }
}
