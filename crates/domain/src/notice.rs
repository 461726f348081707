//! お知らせ for マイナ資格確認アプリ, as the platform operator posts them: a
//! title, a body, an optional link to a page with the details, and the days
//! it is shown (JST, the last day included; none = until further notice).

use chrono::NaiveDate;

use crate::error::{Result, ValidationError};

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 2000;
pub const LINK_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDraft {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

fn text(field: &'static str, s: &str, max: usize, multiline: bool) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::Required { field });
    }
    if s.chars().count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r')))
    {
        return Err(ValidationError::Characters {
            field,
            allowed: "制御文字は使えません。",
        });
    }
    Ok(s.to_owned())
}

fn day(field: &'static str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ValidationError::Date {
        field,
        value: s.trim().to_owned(),
    })
}

impl NoticeDraft {
    /// The form as typed: `from` required, `until` and `link` optional.
    pub fn parse(title: &str, body: &str, link: &str, from: &str, until: &str) -> Result<Self> {
        let title = text("タイトル", title, TITLE_MAX, false)?;
        let body = text("本文", body, BODY_MAX, true)?;
        let link = match link.trim() {
            "" => None,
            l => {
                let l = text("リンク", l, LINK_MAX, false)?;
                if !l.starts_with("https://") || l.contains(char::is_whitespace) {
                    return Err(ValidationError::Characters {
                        field: "リンク",
                        allowed: "https:// で始まるアドレスを入力してください。",
                    });
                }
                Some(l)
            }
        };
        if from.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "掲載開始日",
            });
        }
        let from = day("掲載開始日", from)?;
        let until = match until.trim() {
            "" => None,
            u => Some(day("掲載終了日", u)?),
        };
        if until.is_some_and(|u| u < from) {
            return Err(ValidationError::Period {
                field: "掲載期間"
            });
        }
        Ok(Self {
            title,
            body,
            link,
            from,
            until,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_needs_a_title_a_body_and_a_start() {
        let n = NoticeDraft::parse(
            " 保守のお知らせ ",
            "12月20日 2:00〜4:00 は利用できません。\n再開後は…",
            "https://example.jp/notice/1",
            "2026-12-06",
            "2026-12-20",
        )
        .unwrap();
        assert_eq!(n.title, "保守のお知らせ");
        assert!(n.body.contains('\n'));
        assert_eq!(n.until, NaiveDate::from_ymd_opt(2026, 12, 20));
        let code = |t: &str, b: &str, l: &str, f: &str, u: &str| {
            NoticeDraft::parse(t, b, l, f, u).unwrap_err().code()
        };
        assert_eq!(code("", "b", "", "2026-12-06", ""), "Z-V-0001");
        assert_eq!(code("t", "", "", "2026-12-06", ""), "Z-V-0001");
        assert_eq!(code("t", "b", "", "", ""), "Z-V-0001");
        assert_eq!(
            code(&"あ".repeat(101), "b", "", "2026-12-06", ""),
            "Z-V-0007"
        );
        assert_eq!(
            code("t", "b", "http://example.jp", "2026-12-06", ""),
            "Z-V-0008"
        );
        assert_eq!(
            code("t", "b", "javascript:alert(1)", "2026-12-06", ""),
            "Z-V-0008"
        );
        assert_eq!(code("t\u{7}", "b", "", "2026-12-06", ""), "Z-V-0008");
        assert_eq!(code("t", "b", "", "12/06", ""), "Z-V-0010");
        assert_eq!(code("t", "b", "", "2026-12-06", "2026-12-05"), "Z-V-0011");
        assert!(
            NoticeDraft::parse("t", "b", "", "2026-12-06", "")
                .unwrap()
                .until
                .is_none()
        );
    }
}
