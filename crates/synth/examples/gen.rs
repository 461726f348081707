//! Generates a population and reports speed and composition.
//!
//! `cargo run --release --example gen -p zaitaku-synth -- [count] [seed]`

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::eligibility::Coverage;
use zaitaku_domain::person::age_on;
use zaitaku_synth::Population;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(42);
    let today = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
    let population = Population::new(seed, today);

    // Timing pass: generate and drop, as a loader would stream them.
    let started = Instant::now();
    let mut rows = 0usize;
    for r in population.persons().take(count) {
        rows += r.rows();
    }
    let elapsed = started.elapsed();
    println!(
        "{count} persons in {:.2} s ({:.0} persons/s), {rows} rows, {:.2} rows/person",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        rows as f64 / count as f64
    );

    // Composition pass.
    let mut ages = BTreeMap::<&str, usize>::new();
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut validity = BTreeMap::<&str, usize>::new();
    let mut rows_by_age = BTreeMap::<&str, (usize, usize)>::new();
    let mut counters = BTreeMap::<&str, usize>::new();
    for r in population.persons().take(count) {
        let e = &r.eligibility;
        let age = age_on(e.person.birth_date, today);
        let band = match age {
            0..6 => "0-5",
            6..15 => "6-14",
            15..40 => "15-39",
            40..65 => "40-64",
            65..70 => "65-69",
            70..75 => "70-74",
            _ => "75+",
        };
        *ages.entry(band).or_default() += 1;
        let br = rows_by_age.entry(band).or_default();
        br.0 += 1;
        br.1 += r.rows();
        let res = e.resolve(today);
        *validity.entry(res.validity.label()).or_default() += 1;
        if res.validity == QualificationValidity::Valid {
            let kind = match res.qualification.map(|q| &q.coverage) {
                Some(Coverage::Insurance { insurer_number, .. }) => {
                    insurer_number.kind().label().to_owned()
                }
                Some(Coverage::MedicalAssistance { .. }) => "医療扶助".to_owned(),
                None => "-".to_owned(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        let mut count_if = |name, cond: bool| {
            if cond {
                *counters.entry(name).or_default() += 1;
            }
        };
        count_if("history (>1 qualification)", e.qualifications.len() > 1);
        count_if("elderly certificate", !e.elderly.is_empty());
        count_if("limit certificate", !e.limits.is_empty());
        count_if("specific disease", !e.specific_diseases.is_empty());
        count_if("subsidy", !e.subsidies.is_empty());
        count_if("not registered", !e.person.insurance_use_registered);
        count_if("considerate", e.person.considerate.is_some());
        count_if("checkups", !r.checkups.is_empty());
    }
    let pct = |n: usize| 100.0 * n as f64 / count as f64;
    println!("\nages:");
    for (k, v) in &ages {
        let (n, rows) = rows_by_age[k];
        println!(
            "  {k:>6}: {:5.1} %  ({:.1} rows/person)",
            pct(*v),
            rows as f64 / n as f64
        );
    }
    println!("\nvalidity today:");
    for (k, v) in &validity {
        println!("  {k}: {:.2} %", pct(*v));
    }
    println!("\ncurrent cover (of all persons):");
    for (k, v) in &kinds {
        println!("  {k}: {:.2} %", pct(*v));
    }
    println!("\nfeatures:");
    for (k, v) in &counters {
        println!("  {k}: {:.2} %", pct(*v));
    }
}
