//! マイナ資格確認アプリ (seed 001, seed 002 「マイナ資格確認アプリ管理」):
//! the rules of a staff member's device — the activation code an
//! administrator issues, who may activate a device, and the login passcode
//! with its count of wrong tries. docs/design/staff-app.md gives the reasons.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use crate::account::Role;
use crate::error::{Result, ValidationError};

/// アクティベーションコード: twelve half-width digits, shown once to the
/// administrator who issued it and stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode(String);

impl ActivationCode {
    pub const DIGITS: usize = 12;

    /// A code from eight random bytes. Reducing a `u64` modulo 10¹² favours
    /// no code by more than one part in 10⁷, far below what a guesser could
    /// use against single-use codes that expire.
    pub fn from_random(bytes: [u8; 8]) -> Self {
        let n = u64::from_le_bytes(bytes) % 1_000_000_000_000;
        Self(format!("{n:012}"))
    }

    /// What the staff member typed: surrounding spaces are forgiven, nothing
    /// else (the seed asks for the digits without hyphens).
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ValidationError::Required {
                field: "アクティベーションコード",
            });
        }
        digits(s, "アクティベーションコード", Self::DIGITS, "12").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `input` if it is exactly `len` half-width digits (`expected` is `len` as
/// the message writes it).
fn digits(input: &str, field: &'static str, len: usize, expected: &'static str) -> Result<String> {
    if input.len() != len || !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::DigitsLength { field, expected });
    }
    Ok(input.to_owned())
}

/// When an issued code may be used: from `usable_after` after its issue
/// (seed 002: 「10分程度経過してから利用」) until `lifetime` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeTerms {
    pub usable_after: Duration,
    pub lifetime: Duration,
}

impl CodeTerms {
    /// Ten minutes' wait, as the seed says; seven days to use it, long enough
    /// to hand a tablet to a nurse who visits this week, short enough that a
    /// forgotten code stops being a way in.
    pub fn standard() -> Self {
        Self {
            usable_after: Duration::minutes(10),
            lifetime: Duration::days(7),
        }
    }

    /// The window of a code issued at `issued_at`, fixed at issue so that a
    /// later change of the terms does not move codes already handed out.
    pub fn window(self, issued_at: DateTime<Utc>) -> CodeWindow {
        CodeWindow {
            usable_from: issued_at + self.usable_after,
            expires_at: issued_at + self.lifetime,
        }
    }
}

/// When one issued code opens: from `usable_from` until before `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeWindow {
    pub usable_from: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Where an issued code stands, as the administration's list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    /// Issued, but its waiting time has not passed.
    NotYetUsable,
    Unused,
    Used,
    Expired,
}

impl CodeState {
    pub fn of(window: CodeWindow, used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        if used_at.is_some() {
            Self::Used
        } else if now >= window.expires_at {
            Self::Expired
        } else if now < window.usable_from {
            Self::NotYetUsable
        } else {
            Self::Unused
        }
    }

    /// 未使用 / 使用済み / 期限切れ; a code still waiting is unused too.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotYetUsable | Self::Unused => "未使用",
            Self::Used => "使用済み",
            Self::Expired => "期限切れ",
        }
    }
}

/// Seed 002: the app is for 一般利用者 and 医療情報閲覧 accounts. An
/// administrator's account stays on the 資格確認端末: a lost tablet must
/// not carry the power to create accounts or rotate the institution's URL.
pub fn may_activate(role: Role) -> bool {
    matches!(role, Role::General | Role::MedicalViewer)
}

/// ログインパスコード: four digits chosen on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passcode(String);

impl Passcode {
    pub fn parse(input: &str) -> Result<Self> {
        digits(input, "パスコード", 4, "4").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Wrong passcodes in a row after which the device forgets its login and
/// asks for the ID and password again (the device stays activated).
pub const PASSCODE_TRIES: u8 = 5;

/// What a passcode attempt leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasscodeOutcome {
    Accepted,
    /// Wrong; this many tries are left before the ID and password are asked.
    Wrong {
        tries_left: u8,
    },
    /// Wrong for the last time: the passcode no longer opens the app.
    NeedsPassword,
}

/// One attempt against a device that has had `wrong_so_far` wrong tries in a
/// row; returns the outcome and the new count.
pub fn passcode_attempt(wrong_so_far: u8, correct: bool) -> (PasscodeOutcome, u8) {
    if wrong_so_far >= PASSCODE_TRIES {
        return (PasscodeOutcome::NeedsPassword, wrong_so_far);
    }
    if correct {
        return (PasscodeOutcome::Accepted, 0);
    }
    let wrong = wrong_so_far + 1;
    if wrong >= PASSCODE_TRIES {
        (PasscodeOutcome::NeedsPassword, wrong)
    } else {
        (
            PasscodeOutcome::Wrong {
                tries_left: PASSCODE_TRIES - wrong,
            },
            wrong,
        )
    }
}

/// 資格確認結果検索 (D-10-W): the days searched, in JST, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl SearchPeriod {
    /// Seed 001: the first search covers the last 30 days.
    pub const DEFAULT_DAYS: i64 = 30;

    /// The earliest day that may be searched: the 1st of the previous month
    /// (seed 001 「前月1日から検索日当日まで」).
    pub fn earliest(today: NaiveDate) -> NaiveDate {
        let first = today.with_day(1).unwrap_or(today);
        first.checked_sub_months(Months::new(1)).unwrap_or(first)
    }

    /// The last 30 days (today and the 29 before it), never before
    /// [`Self::earliest`] (at the start of March the previous month is short).
    pub fn default_on(today: NaiveDate) -> Self {
        let from = (today - Duration::days(Self::DEFAULT_DAYS - 1)).max(Self::earliest(today));
        Self { from, to: today }
    }

    /// The period typed in 詳細設定 (`YYYY-MM-DD`; an empty end is today,
    /// an empty start the default's).
    pub fn chosen(from: &str, to: &str, today: NaiveDate) -> Result<Self> {
        let day = |field: &'static str, s: &str, empty: NaiveDate| -> Result<NaiveDate> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(empty);
            }
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ValidationError::Date {
                field,
                value: s.to_owned(),
            })
        };
        let default = Self::default_on(today);
        let from = day("資格確認日（開始）", from, default.from)?;
        let to = day("資格確認日（終了）", to, today)?;
        let earliest = Self::earliest(today);
        if from < earliest || to > today {
            return Err(ValidationError::SearchPeriod {
                earliest: crate::person::japanese_date(earliest),
            });
        }
        if from > to {
            return Err(ValidationError::Period {
                field: "資格確認日",
            });
        }
        Ok(Self { from, to })
    }
}

/// Days a kept result stays (then it is purged): longer than the search
/// ever reaches back (the 1st of the previous month, at most 62 days), so a
/// result is never gone while the app may still look for it.
pub const RESULT_RETENTION_DAYS: i64 = 100;

/// Results per page of the search.
pub const SEARCH_PAGE_SIZE: i64 = 10;

/// Pages of `total` results (at least one, empty).
pub fn search_pages(total: i64) -> i64 {
    ((total + SEARCH_PAGE_SIZE - 1) / SEARCH_PAGE_SIZE).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_code_is_twelve_digits_with_its_leading_zeros() {
        assert_eq!(ActivationCode::from_random([0; 8]).as_str(), "000000000000");
        let c = ActivationCode::from_random([7, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(c.as_str().len(), 12);
        assert_eq!(ActivationCode::parse(c.as_str()), Ok(c));
        assert_eq!(
            ActivationCode::parse(" 012345678901 ").unwrap().as_str(),
            "012345678901"
        );
    }

    #[test]
    fn a_typed_code_is_refused_with_the_rule() {
        for bad in [
            "0123-4567-8901",
            "01234567890",
            "0123456789012",
            "０１２３４５６７８９０１",
        ] {
            let e = ActivationCode::parse(bad).unwrap_err();
            assert_eq!(e.code(), "Z-V-0002", "{bad}");
            assert_eq!(
                e.to_string(),
                "アクティベーションコードは半角数字12桁で入力してください。"
            );
        }
        assert_eq!(ActivationCode::parse("  ").unwrap_err().code(), "Z-V-0001");
    }

    #[test]
    fn a_code_waits_then_serves_until_it_expires_or_is_used() {
        let terms = CodeTerms::standard();
        let issued = at(0);
        let state = |now, used| CodeState::of(terms.window(issued), used, now);
        assert_eq!(state(at(9), None), CodeState::NotYetUsable);
        assert_eq!(state(at(10), None), CodeState::Unused);
        assert_eq!(state(at(7 * 24 * 60 - 1), None), CodeState::Unused);
        assert_eq!(state(at(7 * 24 * 60), None), CodeState::Expired);
        assert_eq!(state(at(7 * 24 * 60), Some(at(30))), CodeState::Used);
        assert_eq!(CodeState::NotYetUsable.label(), "未使用");
        let demo = CodeTerms {
            usable_after: Duration::zero(),
            ..terms
        };
        assert_eq!(
            CodeState::of(demo.window(issued), None, issued),
            CodeState::Unused
        );
    }

    #[test]
    fn only_general_and_medical_viewer_accounts_activate() {
        assert!(may_activate(Role::General));
        assert!(may_activate(Role::MedicalViewer));
        assert!(!may_activate(Role::Admin));
        assert!(!may_activate(Role::Operator));
    }

    #[test]
    fn five_wrong_passcodes_in_a_row_ask_for_the_password() {
        assert_eq!(Passcode::parse("0123").unwrap().as_str(), "0123");
        for bad in ["123", "12345", "12a4", "１２３４"] {
            assert_eq!(Passcode::parse(bad).unwrap_err().code(), "Z-V-0002");
        }
        let mut wrong = 0;
        for left in (1..PASSCODE_TRIES).rev() {
            let (outcome, n) = passcode_attempt(wrong, false);
            assert_eq!(outcome, PasscodeOutcome::Wrong { tries_left: left });
            wrong = n;
        }
        assert_eq!(passcode_attempt(3, true), (PasscodeOutcome::Accepted, 0));
        let (outcome, n) = passcode_attempt(wrong, false);
        assert_eq!(outcome, PasscodeOutcome::NeedsPassword);
        // Once spent, even the right passcode no longer opens the app.
        assert_eq!(passcode_attempt(n, true).0, PasscodeOutcome::NeedsPassword);
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_search_covers_thirty_days_within_the_previous_month() {
        let today = day(2026, 12, 6);
        assert_eq!(SearchPeriod::earliest(today), day(2026, 11, 1));
        assert_eq!(
            SearchPeriod::default_on(today),
            SearchPeriod {
                from: day(2026, 11, 7),
                to: today
            }
        );
        // On 1 March the previous month is February: 30 days would reach
        // back into January.
        let march = day(2027, 3, 1);
        assert_eq!(SearchPeriod::default_on(march).from, day(2027, 2, 1));
        assert_eq!(SearchPeriod::earliest(day(2027, 1, 15)), day(2026, 12, 1));
        let chosen = SearchPeriod::chosen("2026-11-01", "2026-11-30", today).unwrap();
        assert_eq!(
            (chosen.from, chosen.to),
            (day(2026, 11, 1), day(2026, 11, 30))
        );
        assert_eq!(
            SearchPeriod::chosen("", "", today).unwrap(),
            SearchPeriod::default_on(today)
        );
        let early = SearchPeriod::chosen("2026-10-31", "", today).unwrap_err();
        assert_eq!(early.code(), "Z-V-0025");
        assert_eq!(
            early.to_string(),
            "資格確認日は2026年11月01日から本日までの範囲で指定してください。"
        );
        assert_eq!(
            SearchPeriod::chosen("", "2026-12-07", today)
                .unwrap_err()
                .code(),
            "Z-V-0025"
        );
        assert_eq!(
            SearchPeriod::chosen("2026-12-05", "2026-12-01", today)
                .unwrap_err()
                .code(),
            "Z-V-0011"
        );
        assert_eq!(
            SearchPeriod::chosen("12/01", "", today).unwrap_err().code(),
            "Z-V-0010"
        );
    }

    #[test]
    fn pages_round_up_and_never_fall_to_zero() {
        assert_eq!(search_pages(0), 1);
        assert_eq!(search_pages(10), 1);
        assert_eq!(search_pages(11), 2);
        assert_eq!(search_pages(1_000_000), 100_000);
    }
}
