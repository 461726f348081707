//! A deterministic synthetic population for demos, tests and benchmarks:
//! people in households, their insurers and qualification history,
//! certificates, public subsidies and medical information.
//!
//! Everything is invented: names are random combinations, municipalities and
//! towns are fictional, numbers only have to pass their check digits. The
//! output depends only on `(seed, today)`: each household draws from its own
//! ChaCha8 stream, so it is the same on every run and platform.
//!
//! What a million persons look like (seed 42; `examples/gen.rs` prints this):
//!
//! - Households of 1–5 (mean ≈ 2.2): singles young and old, couples,
//!   couples with children, single parents, an old parent with an adult
//!   child, three generations. Ages follow the Japanese pyramid: about 16 %
//!   under 15, 12 % 65–74, 15 % 75 and over.
//! - Current cover: 協会けんぽ ≈ 32 %, 健康保険組合 ≈ 22 %, 共済 ≈ 9 %,
//!   国保 (市町村 and 国保組合) ≈ 19 %, 後期高齢 ≈ 15 %, 医療扶助 ≈ 1.5 %,
//!   船員・自衛官・特例退職 under 1 % together.
//! - Employee cards carry dependents (本人 枝番 00, 家族 01…). In 国保 and
//!   後期高齢 everyone is a 被保険者 of their own (本人), as on real cards;
//!   a 国保 household shares 記号・番号 with one 枝番 each. 後期高齢 cards
//!   have no 記号 (an empty string).
//! - Today: ≈ 98.6 % 有効, 1.3 % 無効 (card given up, nothing new yet),
//!   0.15 % 該当資格なし. About 16 % have a history: a job change, a move,
//!   retirement into 国保, leaving a parent's card, the 75th birthday,
//!   public assistance starting.
//! - 高齢受給者証 for every insured 70–74 (10 % 3割), valid until the day
//!   before 75 so it does not lapse in a long-lived demo database;
//!   限度額適用認定証 ≈ 2 % (August–July cycle, so they do expire);
//!   特定疾病 ≈ 0.3 %; subsidies ≈ 17 % (mostly 子ども医療).
//! - 10 % not registered for insurance use, 0.5 % with 要配慮情報.
//! - About 8 stored rows per person besides the person itself (see
//!   [`SyntheticRecord::rows`]); the old have the most.
//!
//! ```
//! use zaitaku_synth::Population;
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
//! let first: Vec<_> = Population::new(42, today).persons().take(3).collect();
//! assert_eq!(first[0].eligibility.person.id, 1);
//! ```

mod addresses;
mod certificates;
mod checkups;
mod drugs;
mod household;
mod institutions;
mod insurers;
mod medical;
mod names;
mod record;
mod rng;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use chrono::NaiveDate;
use zaitaku_domain::eligibility::Eligibility;
pub use zaitaku_domain::medical::{CheckupResult, ClinicalEvent, DrugRecord};
use zaitaku_domain::prefecture::Prefecture;

pub use institutions::{institution_name, institutions};

/// One synthetic person with everything the registry keeps about them.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticRecord {
    /// `person.id` is set; qualification ids are 1..n within the person.
    pub eligibility: Eligibility,
    pub drugs: Vec<DrugRecord>,
    pub clinical: Vec<ClinicalEvent>,
    pub checkups: Vec<CheckupResult>,
}

impl SyntheticRecord {
    /// Rows this person adds to storage besides the person itself:
    /// qualifications, certificates, subsidies and medical records.
    pub fn rows(&self) -> usize {
        let e = &self.eligibility;
        e.qualifications.len()
            + e.elderly.len()
            + e.limits.len()
            + e.specific_diseases.len()
            + e.subsidies.len()
            + self.drugs.len()
            + self.clinical.len()
            + self.checkups.len()
    }
}

/// A population fixed by its seed and the day it is generated for (ages,
/// validity periods and medical history are relative to `today`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    seed: u64,
    today: NaiveDate,
}

impl Population {
    pub fn new(seed: u64, today: NaiveDate) -> Self {
        Self { seed, today }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// Persons with ids 1, 2, 3, …, household by household (members of a
    /// household have consecutive ids). Endless: take as many as needed.
    pub fn persons(&self) -> Persons {
        Persons {
            seed: self.seed,
            today: self.today,
            prefectures: addresses::all_prefectures(),
            household: 0,
            next_id: 1,
            pending: VecDeque::with_capacity(8),
        }
    }
}

/// The iterator behind [`Population::persons`].
#[derive(Debug)]
pub struct Persons {
    seed: u64,
    today: NaiveDate,
    prefectures: Vec<Prefecture>,
    household: u64,
    next_id: i64,
    pending: VecDeque<SyntheticRecord>,
}

impl Persons {
    /// Index of the next household to be generated.
    pub fn households_generated(&self) -> u64 {
        self.household
    }

    fn generate_household(&mut self) {
        let index = self.household;
        self.household += 1;
        let mut rng = rng::household_rng(self.seed, index);
        let Some(hh) = household::build(&mut rng, self.today, index, &self.prefectures) else {
            return;
        };
        let names: Vec<(String, String)> = hh
            .members
            .iter()
            .map(|m| names::full_name(m.family, m.given))
            .collect();
        let ctx = record::Context {
            today: self.today,
            household: &hh,
            names: &names,
        };
        record::household_records(&mut rng, &ctx, self.next_id, &mut self.pending);
        self.next_id += hh.members.len() as i64;
    }
}

impl Iterator for Persons {
    type Item = SyntheticRecord;

    fn next(&mut self) -> Option<SyntheticRecord> {
        if self.prefectures.is_empty() {
            return None;
        }
        // A household only comes out empty if a table is broken; give up
        // rather than spin.
        for _ in 0..1000 {
            if let Some(r) = self.pending.pop_front() {
                return Some(r);
            }
            self.generate_household();
        }
        self.pending.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}
