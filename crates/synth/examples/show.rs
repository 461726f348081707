//! Prints the first persons of a population, for a look at the data.
//!
//! `cargo run --example show -p zaitaku-synth -- [count] [seed]`

use chrono::NaiveDate;
use zaitaku_synth::Population;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(42);
    let today = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
    for r in Population::new(seed, today).persons().take(count) {
        println!("{r:#?}");
    }
}
