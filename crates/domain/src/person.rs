//! The person in the eligibility registry: names, birth date, sex, address,
//! 要配慮情報, and the age rules (未就学, 高齢受給者, 後期高齢者).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::codes::Sex;
use crate::error::{Result, ValidationError};

pub type PersonId = i64;

/// 要配慮情報（備考）: the name and sex to use when they differ from the
/// registered ones (seed 001 shows 氏名カナ, 氏名, 性別 in this block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsiderateInfo {
    pub name: String,
    pub name_kana: String,
    pub sex: Sex,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub name_kana: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub postal_code: String,
    pub address: String,
    pub considerate: Option<ConsiderateInfo>,
    /// マイナンバーカードの健康保険証利用登録 done.
    pub insurance_use_registered: bool,
}

pub const NAME_MAX: usize = 100;

/// 氏名 (漢字): required, at most 100 characters, no control characters.
pub fn validate_name(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::Required { field: "氏名" });
    }
    if s.chars().count() > NAME_MAX {
        return Err(ValidationError::TooLong {
            field: "氏名",
            max: NAME_MAX,
        });
    }
    if s.chars().any(char::is_control) {
        return Err(ValidationError::Characters {
            field: "氏名",
            allowed: "改行やタブは使用できません。",
        });
    }
    Ok(s.to_owned())
}

/// 氏名（カナ）: full-width katakana, the long-vowel mark and spaces only.
/// A half-width space is normalised to the full-width one used on cards.
pub fn validate_kana(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::Required {
            field: "氏名（カナ）",
        });
    }
    if s.chars().count() > NAME_MAX {
        return Err(ValidationError::TooLong {
            field: "氏名（カナ）",
            max: NAME_MAX,
        });
    }
    let ok = s
        .chars()
        .all(|c| matches!(c, '\u{30A1}'..='\u{30F6}' | 'ー' | '・' | ' ' | '\u{3000}'));
    if !ok {
        return Err(ValidationError::Characters {
            field: "氏名（カナ）",
            allowed: "全角カタカナで入力してください。",
        });
    }
    Ok(s.replace(' ', "\u{3000}"))
}

/// 生年月日: not in the future, not before 1900.
pub fn validate_birth_date(birth: NaiveDate, today: NaiveDate) -> Result<NaiveDate> {
    if birth > today {
        return Err(ValidationError::BirthDateInFuture);
    }
    if birth.year() < 1900 {
        return Err(ValidationError::Date {
            field: "生年月日",
            value: birth.to_string(),
        });
    }
    Ok(birth)
}

/// Parses `YYYY-MM-DD` with a field name for the message.
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ValidationError::Date {
        field,
        value: s.trim().to_owned(),
    })
}

/// Age in completed years on `on` (the day before the birthday does not count;
/// 年齢計算ニ関スル法律's "end of the previous day" only matters for the school
/// rule below, which handles it explicitly).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    u32::try_from(age).unwrap_or(0)
}

/// The first school day: 1 April after the sixth birthday, where a child born
/// on 1 April turns six "at the end of 31 March" and so enters a year earlier.
pub fn school_entry_date(birth: NaiveDate) -> NaiveDate {
    let born_jan_to_apr1 = (birth.month(), birth.day()) <= (4, 1);
    let year = birth.year() + if born_jan_to_apr1 { 6 } else { 7 };
    NaiveDate::from_ymd_opt(year, 4, 1).unwrap_or(birth)
}

/// 義務教育就学前 (未就学) on the given date.
pub fn is_preschool(birth: NaiveDate, on: NaiveDate) -> bool {
    on < school_entry_date(birth)
}

/// 高齢受給者 age band: from the first of the month after the 70th birthday
/// (the birthday month itself when born on the 1st) until the day before the
/// 75th birthday, when 後期高齢者医療 takes over.
pub fn is_elderly_recipient_age(birth: NaiveDate, on: NaiveDate) -> bool {
    let Some(seventieth) = add_years(birth, 70) else {
        return false;
    };
    let start = if seventieth.day() == 1 {
        seventieth
    } else {
        first_of_next_month(seventieth)
    };
    on >= start && !is_late_elderly_age(birth, on)
}

/// 後期高齢者 from the 75th birthday.
pub fn is_late_elderly_age(birth: NaiveDate, on: NaiveDate) -> bool {
    add_years(birth, 75).is_some_and(|d| on >= d)
}

/// Same month and day `years` later; 29 February becomes 1 March.
pub fn add_years(d: NaiveDate, years: i32) -> Option<NaiveDate> {
    let y = d.year() + years;
    NaiveDate::from_ymd_opt(y, d.month(), d.day()).or_else(|| NaiveDate::from_ymd_opt(y, 3, 1))
}

fn first_of_next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

/// Japanese era (和暦) display as on the result screens: 「昭和27年01月01日」.
pub fn wareki(d: NaiveDate) -> String {
    let (era, start_year) = era_of(d);
    let y = d.year() - start_year + 1;
    let year = if y == 1 {
        "元".to_owned()
    } else {
        format!("{y:02}")
    };
    format!("{era}{year}年{:02}月{:02}日", d.month(), d.day())
}

/// 和暦 year and month only: 「昭和27年01月」 (seed 001 result screen).
pub fn wareki_month(d: NaiveDate) -> String {
    let full = wareki(d);
    full.rsplit_once('月')
        .map(|(ym, _)| format!("{ym}月"))
        .unwrap_or(full)
}

fn era_of(d: NaiveDate) -> (&'static str, i32) {
    let ymd = (d.year(), d.month(), d.day());
    if ymd >= (2019, 5, 1) {
        ("令和", 2019)
    } else if ymd >= (1989, 1, 8) {
        ("平成", 1989)
    } else if ymd >= (1926, 12, 25) {
        ("昭和", 1926)
    } else if ymd >= (1912, 7, 30) {
        ("大正", 1912)
    } else {
        ("明治", 1868)
    }
}

/// Western date as on the screens: 「2025年03月24日」.
pub fn japanese_date(d: NaiveDate) -> String {
    format!("{}年{:02}月{:02}日", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ages() {
        assert_eq!(age_on(d(1952, 1, 1), d(2025, 3, 24)), 73);
        assert_eq!(age_on(d(2000, 3, 25), d(2025, 3, 24)), 24);
        assert_eq!(age_on(d(2000, 3, 24), d(2025, 3, 24)), 25);
        assert_eq!(age_on(d(2026, 1, 1), d(2025, 1, 1)), 0);
    }

    #[test]
    fn school_entry() {
        // Born 2 April 2019: enters April 2026 (7 years on).
        assert_eq!(school_entry_date(d(2019, 4, 2)), d(2026, 4, 1));
        // Born 1 April 2019: a year earlier, April 2025.
        assert_eq!(school_entry_date(d(2019, 4, 1)), d(2025, 4, 1));
        // Born 31 March 2019 likewise.
        assert_eq!(school_entry_date(d(2019, 3, 31)), d(2025, 4, 1));
        assert!(is_preschool(d(2019, 4, 2), d(2026, 3, 31)));
        assert!(!is_preschool(d(2019, 4, 2), d(2026, 4, 1)));
        assert!(!is_preschool(d(2019, 4, 1), d(2025, 4, 1)));
    }

    #[test]
    fn elderly_bands() {
        // 70th birthday 15 May 2025 → recipient from 1 June 2025.
        let b = d(1955, 5, 15);
        assert!(!is_elderly_recipient_age(b, d(2025, 5, 31)));
        assert!(is_elderly_recipient_age(b, d(2025, 6, 1)));
        assert!(is_elderly_recipient_age(b, d(2030, 5, 14)));
        assert!(!is_elderly_recipient_age(b, d(2030, 5, 15)));
        assert!(is_late_elderly_age(b, d(2030, 5, 15)));
        // Born on the 1st: from the birthday month.
        assert!(is_elderly_recipient_age(d(1955, 5, 1), d(2025, 5, 1)));
        // 29 Feb birthdays.
        assert_eq!(add_years(d(1956, 2, 29), 70), Some(d(2026, 3, 1)));
    }

    #[test]
    fn wareki_display() {
        assert_eq!(wareki(d(1952, 1, 1)), "昭和27年01月01日");
        assert_eq!(wareki_month(d(1952, 1, 1)), "昭和27年01月");
        assert_eq!(wareki(d(1989, 1, 7)), "昭和64年01月07日");
        assert_eq!(wareki(d(1989, 1, 8)), "平成元年01月08日");
        assert_eq!(wareki(d(2019, 4, 30)), "平成31年04月30日");
        assert_eq!(wareki(d(2019, 5, 1)), "令和元年05月01日");
        assert_eq!(wareki(d(2026, 11, 21)), "令和08年11月21日");
        assert_eq!(wareki(d(1926, 12, 24)), "大正15年12月24日");
        assert_eq!(japanese_date(d(2025, 3, 24)), "2025年03月24日");
    }

    #[test]
    fn names() {
        assert_eq!(
            validate_kana("ヤマザキ アン").unwrap(),
            "ヤマザキ\u{3000}アン"
        );
        assert_eq!(validate_kana("ヴァン・デル").unwrap(), "ヴァン・デル");
        assert_eq!(validate_kana("やまざき").unwrap_err().code(), "Z-V-0008");
        assert_eq!(validate_kana("ﾔﾏｻﾞｷ").unwrap_err().code(), "Z-V-0008");
        assert_eq!(validate_kana("").unwrap_err().code(), "Z-V-0001");
        assert_eq!(
            validate_name(&"山".repeat(101)).unwrap_err().code(),
            "Z-V-0007"
        );
        assert_eq!(validate_name(" 山崎 杏 ").unwrap(), "山崎 杏");
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("生年月日", "2025-02-29").unwrap_err().code(),
            "Z-V-0010"
        );
        assert_eq!(
            parse_date("生年月日", "2024-02-29").unwrap(),
            d(2024, 2, 29)
        );
        assert_eq!(
            validate_birth_date(d(2030, 1, 1), d(2026, 1, 1))
                .unwrap_err()
                .code(),
            "Z-V-0012"
        );
        assert_eq!(
            validate_birth_date(d(1899, 12, 31), d(2026, 1, 1)),
            Err(ValidationError::Date {
                field: "生年月日",
                value: "1899-12-31".into()
            })
        );
    }
}
