//! Seeding and the few sampling helpers the generators share.
//!
//! Sampling is done here from raw `u32`/`u64` words rather than through
//! `rand`'s distributions so that the output depends only on the ChaCha8
//! stream and IEEE arithmetic, never on a library's sampling algorithm.

use chrono::{Days, NaiveDate};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) type SynthRng = ChaCha8Rng;

/// One independent stream per household, so a household's content does not
/// depend on how much randomness the households before it consumed.
pub(crate) fn household_rng(seed: u64, household: u64) -> SynthRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&household.to_le_bytes());
    key[16..24].copy_from_slice(b"zaitaku ");
    key[24..32].copy_from_slice(b"synth v1");
    ChaCha8Rng::from_seed(key)
}

/// Uniform in `[0, 1)`.
pub(crate) fn unit(rng: &mut SynthRng) -> f64 {
    // 53 random bits: every value is exactly representable.
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

pub(crate) fn chance(rng: &mut SynthRng, p: f64) -> bool {
    unit(rng) < p
}

/// Per-mille probability, the unit most tables here are written in.
pub(crate) fn per_mille(rng: &mut SynthRng, p: u32) -> bool {
    below(rng, 1000) < p
}

/// Uniform in `[0, n)`; 0 when `n` is 0.
pub(crate) fn below(rng: &mut SynthRng, n: u32) -> u32 {
    // Multiply-shift: the bias is below 2^-32 × n, irrelevant here.
    ((u64::from(rng.next_u32()) * u64::from(n)) >> 32) as u32
}

/// Uniform in `[lo, hi]` (inclusive); `lo` when the range is empty.
pub(crate) fn between(rng: &mut SynthRng, lo: u32, hi: u32) -> u32 {
    if hi <= lo {
        return lo;
    }
    lo + below(rng, hi - lo + 1)
}

pub(crate) fn pick<'a, T>(rng: &mut SynthRng, items: &'a [T]) -> Option<&'a T> {
    let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
    items.get(below(rng, n) as usize)
}

/// Like [`pick`] for the static tables, which are never empty.
pub(crate) fn pick_copy<T: Copy>(rng: &mut SynthRng, items: &[T], fallback: T) -> T {
    pick(rng, items).copied().unwrap_or(fallback)
}

/// Chooses from `(value, weight)` pairs.
pub(crate) fn weighted<T: Copy>(rng: &mut SynthRng, table: &[(T, u32)], fallback: T) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut r = below(rng, total);
    for &(v, w) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    fallback
}

/// Approximately normal (Irwin–Hall of four uniforms): bounded, cheap and
/// free of transcendental functions whose last bits vary by platform.
pub(crate) fn normal(rng: &mut SynthRng, mean: f64, sd: f64) -> f64 {
    let s = unit(rng) + unit(rng) + unit(rng) + unit(rng);
    // Variance of the sum is 4/12; √3 rescales it to 1.
    mean + (s - 2.0) * 1.732_050_807_568_877_2 * sd
}

/// Number of successes in `trials` draws of probability `p` (a cheap Poisson stand-in).
pub(crate) fn successes(rng: &mut SynthRng, trials: u32, p: f64) -> u32 {
    (0..trials).map(|_| u32::from(chance(rng, p))).sum()
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn clamp_u16(x: f64, lo: u16, hi: u16) -> u16 {
    x.round().clamp(f64::from(lo), f64::from(hi)) as u16
}

pub(crate) fn days_before(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_days(Days::new(u64::from(n))).unwrap_or(d)
}

pub(crate) fn days_after(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_days(Days::new(u64::from(n))).unwrap_or(d)
}

/// A day uniformly in `[from, to]`; `from` when the range is empty.
pub(crate) fn day_between(rng: &mut SynthRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    if span <= 0 {
        return from;
    }
    days_after(
        from,
        between(rng, 0, u32::try_from(span).unwrap_or(u32::MAX)),
    )
}

pub(crate) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A bijection on `[0, modulus)` for moduli that are powers of ten: used to
/// turn sequential indexes into unique but unsequential-looking numbers.
pub(crate) fn scramble(x: u64, modulus: u64) -> u64 {
    // 48_271 is prime and neither 2 nor 5, so it is invertible modulo 10^k.
    (x % modulus * 48_271 + 7_919) % modulus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_stay_in_range() {
        let mut rng = household_rng(1, 2);
        for _ in 0..10_000 {
            let u = unit(&mut rng);
            assert!((0.0..1.0).contains(&u));
            let b = between(&mut rng, 3, 7);
            assert!((3..=7).contains(&b));
            assert!(below(&mut rng, 5) < 5);
        }
        assert_eq!(between(&mut rng, 5, 5), 5);
        assert_eq!(between(&mut rng, 6, 5), 6);
        assert_eq!(below(&mut rng, 0), 0);
        assert_eq!(pick::<u8>(&mut rng, &[]), None);
    }

    #[test]
    fn scramble_is_a_bijection() {
        let mut seen = vec![false; 100_000];
        for x in 0..100_000 {
            let y = scramble(x, 100_000) as usize;
            assert!(!seen[y]);
            seen[y] = true;
        }
    }
}
