//! Institution accounts: user IDs, password rules and roles (seed 001/002).

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// The symbols a password may use (seed 001).
pub const PASSWORD_SYMBOLS: &str = "`~!@#$%^&*_{}[]|:;'<>,.?-()/";

/// ユーザID: 2–8 half-width alphanumerics.
pub fn validate_user_id(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::Required {
            field: "ユーザID"
        });
    }
    if !(2..=8).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ValidationError::Characters {
            field: "ユーザID",
            allowed: "半角英数字2〜8文字で入力してください。",
        });
    }
    Ok(s.to_owned())
}

/// パスワード: 8–20 characters with an upper-case letter, a lower-case letter,
/// a digit and one of [`PASSWORD_SYMBOLS`], nothing else.
pub fn validate_password(s: &str) -> Result<()> {
    let n = s.chars().count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || PASSWORD_SYMBOLS.contains(c);
    let ok = (8..=20).contains(&n)
        && s.chars().all(allowed)
        && s.chars().any(|c| c.is_ascii_uppercase())
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| PASSWORD_SYMBOLS.contains(c));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Characters {
            field: "パスワード",
            allowed: "8〜20文字で、英大文字・英小文字・数字・記号をそれぞれ1文字以上含めてください。",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 管理者
    Admin,
    /// 一般利用者
    General,
    /// 医療情報閲覧
    MedicalViewer,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Admin, Self::General, Self::MedicalViewer];

    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "管理者",
            Self::General => "一般利用者",
            Self::MedicalViewer => "医療情報閲覧",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::General => "general",
            Self::MedicalViewer => "medical_viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "権限",
                value: s.to_owned(),
            })
    }
}

/// Consecutive wrong passwords that lock an account (seed 001).
pub const LOCK_AFTER_FAILURES: u32 = 5;
/// How long the lock lasts.
pub const LOCK_MINUTES: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert!(validate_user_id("ad").is_ok());
        assert!(validate_user_id("admin001").is_ok());
        assert!(validate_user_id("a").is_err());
        assert!(validate_user_id("admin0001").is_err());
        assert!(validate_user_id("ad-1").is_err());
        assert!(validate_user_id("ａｄ").is_err());
        assert_eq!(validate_user_id("").unwrap_err().code(), "Z-V-0001");
    }

    #[test]
    fn passwords() {
        assert!(validate_password("Zaitaku#2026").is_ok());
        assert!(validate_password("Ab1(xxxx").is_ok());
        assert!(validate_password("Ab1(xxx").is_err(), "7 characters");
        assert!(
            validate_password("Ab1(xxxxxxxxxxxxxxxxx").is_err(),
            "21 characters"
        );
        assert!(validate_password("zaitaku#2026").is_err(), "no upper case");
        assert!(validate_password("ZAITAKU#2026").is_err(), "no lower case");
        assert!(validate_password("Zaitaku#abcd").is_err(), "no digit");
        assert!(validate_password("Zaitaku2026").is_err(), "no symbol");
        assert!(
            validate_password("Zaitaku 2026#").is_err(),
            "space is not a symbol of the set"
        );
        assert!(
            validate_password("Zaitaku\"2026").is_err(),
            "double quote is not in the set"
        );
        for c in PASSWORD_SYMBOLS.chars() {
            assert!(validate_password(&format!("Abcdef1{c}")).is_ok(), "{c}");
        }
    }

    #[test]
    fn roles() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
    }
}
