//! Validity rules of the user-authentication certificate (利用者証明用電子証明書).
//!
//! * A certificate is valid from the day of issue until the holder's 5th
//!   birthday after issue (inclusive). Dates are Japanese calendar days, so
//!   the validity runs from 00:00:00 JST on the day of issue to 23:59:59 JST on
//!   that birthday.
//! * From 3 calendar months before the end, the certificate is *expiring*: it
//!   is accepted, and the patient is told to renew.
//! * For 3 calendar months after the end, it is in *grace*: eligibility may
//!   still be confirmed, but medical information must not be provided.
//! * After that it is *expired* and refused.

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, NaiveTime, Offset, Utc};
use serde::{Deserialize, Serialize};

/// Months before the end of validity during which the certificate is "expiring".
pub const EXPIRING_MONTHS: u32 = 3;
/// Months after the end of validity during which eligibility may still be confirmed.
pub const GRACE_MONTHS: u32 = 3;

/// Warning shown with the eligibility result when 3 months or less are left
/// (seed 001, 「マイナンバーカードの電子証明書の有効期限が残り3カ月の場合」). Keep verbatim.
pub const EXPIRING_WARNING_JA: &str = "マイナンバーカードに記録されている電子証明書の有効期限が残り3カ月を切りました。住民票がある市区町村から送付される有効期限通知書をご確認いただくか、住民票がある市区町村の窓口にお問い合わせください。";

/// Warning shown with the eligibility result during the grace period
/// (seed 001, 「マイナンバーカードの電子証明書の有効期限経過後の猶予期間内の場合」). Keep verbatim.
pub const GRACE_WARNING_JA: &str = "マイナンバーカードの電子証明書の有効期限が切れています。当期間は猶予期間であり、資格情報の確認が可能ですが、お早めに住民票がある市区町村の窓口にお問い合わせください。";

/// Japan Standard Time, UTC+9 (Japan has no daylight saving time).
pub fn jst() -> FixedOffset {
    // 9 h is well inside the ±24 h range FixedOffset accepts, so this never
    // falls back; the fallback only keeps the function total.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// 00:00:00 JST of `day`, as a UTC instant.
pub fn start_of_day_jst(day: NaiveDate) -> DateTime<Utc> {
    jst_instant(day, NaiveTime::MIN)
}

/// 23:59:59 JST of `day`, as a UTC instant (X.509 times have whole seconds and
/// the end of validity is inclusive).
pub fn end_of_day_jst(day: NaiveDate) -> DateTime<Utc> {
    let last_second = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    jst_instant(day, last_second)
}

fn jst_instant(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    // JST is a fixed UTC+9, so every local time maps to exactly one instant.
    // The subtraction can only overflow at the ends of chrono's range (about
    // ±262,000 years), which callers never reach; saturate rather than panic.
    let local = day.and_time(time);
    local
        .checked_sub_signed(chrono::Duration::hours(9))
        .unwrap_or(local)
        .and_utc()
}

/// The birthday of someone born on `birth` in `year`. Someone born on
/// 29 February has their birthday on 1 March in common years (the rule this
/// project adopts for certificate expiry).
fn birthday_in(birth: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
}

/// Last day of validity of a user certificate issued on `issued_on` to a holder
/// born on `birth_date`: the 5th birthday strictly after the day of issue
/// (a birthday falling on the day of issue does not count).
///
/// Returns `None` when the holder would be born after the day of issue or the
/// date is out of range.
///
/// ```
/// use chrono::NaiveDate;
/// use zaitaku_card::fifth_birthday_after;
/// let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
/// assert_eq!(fifth_birthday_after(d(2026, 11, 21), d(1950, 3, 10)), Some(d(2031, 3, 10)));
/// ```
pub fn fifth_birthday_after(issued_on: NaiveDate, birth_date: NaiveDate) -> Option<NaiveDate> {
    if birth_date > issued_on {
        return None;
    }
    let this_year = birthday_in(birth_date, issued_on.year())?;
    let first_year = if this_year > issued_on {
        issued_on.year()
    } else {
        issued_on.year().checked_add(1)?
    };
    birthday_in(birth_date, first_year.checked_add(4)?)
}

/// Where a certificate stands at a given moment, once it is known to be within
/// its validity or grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CertificateStatus {
    /// More than 3 months of validity left.
    Valid,
    /// 3 months or less left; `days_left` counts JST calendar days until the
    /// last day of validity (0 on the last day itself).
    Expiring {
        /// Calendar days left until the last valid day.
        days_left: i64,
    },
    /// Expired at most 3 months ago: eligibility may be confirmed, but medical
    /// information must not be provided. `days_since_expiry` is 1 on the first
    /// day after the last valid day.
    Grace {
        /// Calendar days since the last valid day.
        days_since_expiry: i64,
    },
}

impl CertificateStatus {
    /// Whether medical information (drug history, clinical information…) may
    /// be provided on this certificate. False during grace.
    pub fn allows_medical_information(&self) -> bool {
        !matches!(self, CertificateStatus::Grace { .. })
    }

    /// The warning from seed 001 to show with the eligibility result, if any.
    pub fn warning_ja(&self) -> Option<&'static str> {
        match self {
            CertificateStatus::Valid => None,
            CertificateStatus::Expiring { .. } => Some(EXPIRING_WARNING_JA),
            CertificateStatus::Grace { .. } => Some(GRACE_WARNING_JA),
        }
    }
}

/// Why a certificate cannot be used at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityError {
    /// `now` is before notBefore.
    NotYetValid,
    /// More than 3 months past notAfter.
    Expired {
        /// Calendar days since the last valid day.
        days_since_expiry: i64,
    },
}

/// Classify `now` against a certificate's validity period (both ends inclusive).
pub fn classify(
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<CertificateStatus, ValidityError> {
    if now < not_before {
        return Err(ValidityError::NotYetValid);
    }
    let tz = jst();
    let end = not_after.with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    // Calendar-day distance in JST, which is what the patient sees on the card.
    let day_distance = (end.date_naive() - today).num_days();
    if now <= not_after {
        // checked_sub_months clamps to the end of a shorter month (31 May − 3
        // months = 28/29 Feb); None only at the far edge of chrono's range,
        // where we simply report "valid".
        let expiring_from = end.checked_sub_months(Months::new(EXPIRING_MONTHS));
        return Ok(match expiring_from {
            Some(from) if now >= from => CertificateStatus::Expiring {
                days_left: day_distance,
            },
            _ => CertificateStatus::Valid,
        });
    }
    let days_since_expiry = -day_distance;
    match end.checked_add_months(Months::new(GRACE_MONTHS)) {
        Some(grace_end) if now <= grace_end => Ok(CertificateStatus::Grace { days_since_expiry }),
        _ => Err(ValidityError::Expired { days_since_expiry }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn fifth_birthday_examples() {
        // The example from the brief.
        assert_eq!(
            fifth_birthday_after(d(2026, 11, 21), d(1950, 3, 10)),
            Some(d(2031, 3, 10))
        );
        // Issued before this year's birthday: this year's counts as the first.
        assert_eq!(
            fifth_birthday_after(d(2026, 1, 5), d(1980, 6, 1)),
            Some(d(2030, 6, 1))
        );
        // Issued on the birthday: that birthday is not "after" the issue.
        assert_eq!(
            fifth_birthday_after(d(2026, 6, 1), d(1980, 6, 1)),
            Some(d(2031, 6, 1))
        );
        // Issued the day after the birthday.
        assert_eq!(
            fifth_birthday_after(d(2026, 6, 2), d(1980, 6, 1)),
            Some(d(2031, 6, 1))
        );
        // Issued to a newborn on the day of birth.
        assert_eq!(
            fifth_birthday_after(d(2026, 4, 1), d(2026, 4, 1)),
            Some(d(2031, 4, 1))
        );
        // Birth after issue is impossible.
        assert_eq!(fifth_birthday_after(d(2026, 4, 1), d(2026, 4, 2)), None);
    }

    #[test]
    fn fifth_birthday_for_29_february() {
        // 2031 is a common year: the birthday is 1 March.
        assert_eq!(
            fifth_birthday_after(d(2026, 11, 21), d(1960, 2, 29)),
            Some(d(2031, 3, 1))
        );
        // Issued on 28 Feb of a common year: 1 March of that year is the first.
        assert_eq!(
            fifth_birthday_after(d(2027, 2, 28), d(1960, 2, 29)),
            Some(d(2031, 3, 1))
        );
        // Issued on 1 March of a common year (the birthday itself): next year is the first.
        assert_eq!(
            fifth_birthday_after(d(2027, 3, 1), d(1960, 2, 29)),
            Some(d(2032, 2, 29))
        );
        // The 5th birthday falls in a leap year: 29 February itself.
        assert_eq!(
            fifth_birthday_after(d(2023, 5, 1), d(1960, 2, 29)),
            Some(d(2028, 2, 29))
        );
    }

    #[test]
    fn jst_day_bounds() {
        assert_eq!(
            start_of_day_jst(d(2026, 11, 21)).to_rfc3339(),
            "2026-11-20T15:00:00+00:00"
        );
        assert_eq!(
            end_of_day_jst(d(2031, 3, 10)).to_rfc3339(),
            "2031-03-10T14:59:59+00:00"
        );
    }

    #[test]
    fn classification_boundaries() {
        let nb = start_of_day_jst(d(2026, 11, 21));
        let na = end_of_day_jst(d(2031, 3, 10));
        let at = |y, m, day, h| start_of_day_jst(d(y, m, day)) + chrono::Duration::hours(h);
        assert_eq!(
            classify(nb, na, nb - chrono::Duration::seconds(1)),
            Err(ValidityError::NotYetValid)
        );
        assert_eq!(classify(nb, na, nb), Ok(CertificateStatus::Valid));
        assert_eq!(
            classify(nb, na, at(2030, 12, 10, 12)),
            Ok(CertificateStatus::Valid)
        );
        // 3 calendar months before 10 March 23:59:59 is 10 December 23:59:59.
        assert_eq!(
            classify(nb, na, end_of_day_jst(d(2030, 12, 10))),
            Ok(CertificateStatus::Expiring { days_left: 90 })
        );
        assert_eq!(
            classify(nb, na, at(2031, 3, 10, 12)),
            Ok(CertificateStatus::Expiring { days_left: 0 })
        );
        assert_eq!(
            classify(nb, na, na),
            Ok(CertificateStatus::Expiring { days_left: 0 })
        );
        assert_eq!(
            classify(nb, na, na + chrono::Duration::seconds(1)),
            Ok(CertificateStatus::Grace {
                days_since_expiry: 1
            })
        );
        assert_eq!(
            classify(nb, na, end_of_day_jst(d(2031, 6, 10))),
            Ok(CertificateStatus::Grace {
                days_since_expiry: 92
            })
        );
        assert_eq!(
            classify(nb, na, at(2031, 6, 11, 0)),
            Err(ValidityError::Expired {
                days_since_expiry: 93
            })
        );
    }

    #[test]
    fn status_texts_and_medical_gate() {
        assert!(CertificateStatus::Valid.allows_medical_information());
        assert!(CertificateStatus::Expiring { days_left: 3 }.allows_medical_information());
        assert!(
            !CertificateStatus::Grace {
                days_since_expiry: 3
            }
            .allows_medical_information()
        );
        assert_eq!(CertificateStatus::Valid.warning_ja(), None);
        assert!(
            CertificateStatus::Expiring { days_left: 3 }
                .warning_ja()
                .is_some_and(|w| w.contains("残り3カ月を切りました"))
        );
        assert!(
            CertificateStatus::Grace {
                days_since_expiry: 3
            }
            .warning_ja()
            .is_some_and(|w| w.contains("猶予期間"))
        );
        assert_eq!(
            serde_json::to_string(&CertificateStatus::Expiring { days_left: 5 }).unwrap(),
            r#"{"status":"expiring","days_left":5}"#
        );
    }
}
