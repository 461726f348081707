//! 特定健診: yearly results for ages 40–74, from one body that drifts a
//! little from year to year, so a person's results are consistent.

use chrono::{Datelike, NaiveDate};
use zaitaku_domain::codes::Sex;
use zaitaku_domain::medical::CheckupResult;
use zaitaku_domain::person::age_on;

use crate::medical::Risks;
use crate::rng::{SynthRng, between, chance, clamp_u16, days_after, normal, round1, ymd};

/// Fiscal years looked back on (the current one included).
const YEARS: i32 = 3;

pub(crate) fn results(
    rng: &mut SynthRng,
    birth: NaiveDate,
    sex: Sex,
    today: NaiveDate,
    risks: Risks,
) -> Vec<CheckupResult> {
    let age_now = age_on(birth, today);
    if !(40..=76).contains(&age_now) {
        return Vec::new();
    }
    // About half of those eligible take part, and then most years.
    if !chance(rng, 0.55) {
        return Vec::new();
    }
    let male = sex == Sex::Male;
    let shrink = f64::from(age_now.saturating_sub(30)) * 0.12;
    let height = if male {
        normal(rng, 171.5 - shrink, 5.8)
    } else {
        normal(rng, 158.5 - shrink, 5.4)
    }
    .clamp(135.0, 200.0);
    let bmi = if male {
        normal(rng, 24.0, 3.4)
    } else {
        normal(rng, 22.3, 3.6)
    }
    .clamp(15.5, 42.0);
    let fiscal_now = if today.month() >= 4 {
        today.year()
    } else {
        today.year() - 1
    };
    let mut out = Vec::new();
    for fy in (fiscal_now - YEARS + 1)..=fiscal_now {
        // Check-ups run from May to December.
        let on = days_after(ymd(fy, 5, 1), between(rng, 0, 240));
        if on > today || !(40..=74).contains(&age_on(birth, on)) || !chance(rng, 0.85) {
            continue;
        }
        let age = f64::from(age_on(birth, on));
        let b = (bmi + normal(rng, 0.0, 0.5)).clamp(15.0, 45.0);
        let h_m = height / 100.0;
        let weight = b * h_m * h_m;
        let waist = if male {
            40.0 + 1.9 * b + normal(rng, 0.0, 3.5)
        } else {
            35.0 + 2.0 * b + normal(rng, 0.0, 3.5)
        };
        let systolic = 112.0
            + 0.45 * (age - 40.0)
            + 1.3 * (b - 22.0)
            + if risks.hypertension { 10.0 } else { 0.0 }
            + normal(rng, 0.0, 12.0);
        let diastolic = 0.55 * systolic + 5.0 + normal(rng, 0.0, 7.0);
        let hba1c = 5.4
            + 0.008 * (age - 40.0)
            + 0.05 * (b - 22.0)
            + if risks.diabetes { 1.4 } else { 0.0 }
            + normal(rng, 0.0, 0.3);
        let ldl = 118.0 + if risks.lipids { 18.0 } else { 0.0 } + normal(rng, 0.0, 28.0);
        let hdl = if male { 55.0 } else { 67.0 } - 1.2 * (b - 22.0) + normal(rng, 0.0, 13.0);
        let tg = 95.0 + 6.0 * (b - 22.0) + normal(rng, 0.0, 45.0).abs() * 1.4 - 20.0;
        out.push(CheckupResult {
            examined_on: on,
            height_cm: round1(height + normal(rng, 0.0, 0.3)),
            weight_kg: round1(weight),
            waist_cm: round1(waist.clamp(55.0, 140.0)),
            systolic_mmhg: clamp_u16(systolic, 88, 210),
            diastolic_mmhg: clamp_u16(diastolic, 48, 125),
            hba1c_percent: round1(hba1c.clamp(4.3, 12.0)),
            ldl_mg_dl: clamp_u16(ldl, 45, 260),
            hdl_mg_dl: clamp_u16(hdl, 25, 120),
            triglycerides_mg_dl: clamp_u16(tg, 35, 600),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::household_rng;

    #[test]
    fn plausible_values_only_for_forty_to_seventy_four() {
        let today = ymd(2026, 3, 15);
        let mut rng = household_rng(7, 7);
        let mut n = 0;
        for i in 0..2000u32 {
            let birth = ymd(1940 + (i % 60) as i32, 1 + i % 12, 1 + i % 28);
            let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
            for c in results(&mut rng, birth, sex, today, Risks::default()) {
                n += 1;
                let age = age_on(birth, c.examined_on);
                assert!((40..=74).contains(&age));
                assert!(c.examined_on <= today);
                assert!((15.0..=45.0).contains(&c.bmi()), "{}", c.bmi());
                assert!(c.systolic_mmhg > c.diastolic_mmhg);
                assert!((4.0..=12.0).contains(&c.hba1c_percent));
            }
        }
        assert!(n > 500);
    }
}
