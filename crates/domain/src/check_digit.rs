//! The modulus-10 "weights 2,1" check digit used by 保険者番号, 公費負担者番号,
//! 受給者番号 and the 医療機関等コード. The body is every digit before the
//! check digit — for the 医療機関等コード all nine (都道府県 + 点数表 + 郡市区 +
//! 機関番号).
//!
//! From the rightmost digit of the body leftwards, weights alternate 2, 1, 2, 1…;
//! a two-digit product counts as the sum of its digits; the check digit is
//! `(10 − sum mod 10) mod 10`.

/// Computes the check digit for an all-ASCII-digit body.
/// Returns `None` when the body is empty or has a non-digit.
pub fn compute(body: &str) -> Option<u8> {
    if body.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        let weight = if i % 2 == 0 { 2 } else { 1 };
        let p = d * weight;
        sum += p / 10 + p % 10;
    }
    // The sum of ≤ 20 digit sums fits easily; the result is a single digit.
    Some(((10 - sum % 10) % 10) as u8)
}

/// True when the last digit of `full` is the check digit of the rest.
pub fn verify(full: &str) -> bool {
    let Some((body, last)) = full.len().checked_sub(1).map(|n| full.split_at(n)) else {
        return false;
    };
    match (compute(body), last.bytes().next()) {
        (Some(c), Some(l)) if l.is_ascii_digit() => c == l - b'0',
        _ => false,
    }
}

pub(crate) fn is_ascii_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_brief_example() {
        // DESIGN.md: body 0613048 → 8.
        assert_eq!(compute("0613048"), Some(8));
        assert!(verify("06130488"));
    }

    #[test]
    fn institution_code_example() {
        // DESIGN.md: the 医療機関等コード 0110113719, body 011011371 → 9.
        assert_eq!(compute("011011371"), Some(9));
        assert!(verify("0110113719"));
    }

    #[test]
    fn hand_worked_vectors() {
        // 1,3,8,0,0,1 from the right: 1·2=2, 0·1=0, 0·2=0, 8·1=8, 3·2=6, 1·1=1 → 17 → 3.
        assert_eq!(compute("138001"), Some(3));
        // 1,0,1,3,1,0,0 from the right: 2,0,2,3,2,0,0 → 9 → 1.
        assert_eq!(compute("0013101"), Some(1));
        // 9·2=18 → 1+8=9 (digit sum of a two-digit product): "9" → 9 → 1.
        assert_eq!(compute("9"), Some(1));
        // "5" → 10 → 1+0=1 → 9.
        assert_eq!(compute("5"), Some(9));
        // "99": 9·2=18→9, 9·1=9 → 18 → 2.
        assert_eq!(compute("99"), Some(2));
        // All zeros → sum 0 → 0, not 10.
        assert_eq!(compute("0000000"), Some(0));
        // 3913001: 1·2=2,0,0·2=0,3,1·2=2,9,3·2=6 → 22 → 8.
        assert_eq!(compute("3913001"), Some(8));
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(compute(""), None);
        assert_eq!(compute("12a4"), None);
        assert_eq!(compute("１２３"), None); // full-width digits are not accepted
        assert!(!verify(""));
        assert!(!verify("7"));
        assert!(!verify("0613048x"));
    }

    #[test]
    fn every_single_digit_error_is_detected() {
        let good = "06130488";
        assert!(verify(good));
        for pos in 0..good.len() {
            for d in b'0'..=b'9' {
                let mut bytes = good.as_bytes().to_vec();
                if bytes[pos] == d {
                    continue;
                }
                bytes[pos] = d;
                let s = String::from_utf8(bytes).unwrap_or_default();
                assert!(!verify(&s), "{s} should fail");
            }
        }
    }
}
