//! The display hints of an authorization request: which institution asks
//! and what the authentication is for, so that every step can say so and
//! the success page can say what is still to be done (seed 000 ③本人認証
//! ※2). Nothing is decided on them; the card signs the same thing either way.

/// What the service will do once the patient is back (`purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Flow A: 同意登録.
    Register,
    /// Flow B, before the stored consent is shown: 同意照会.
    View,
    /// Flow B, saving the change: 同意更新.
    Update,
    /// Flow C: 同意取消.
    Cancel,
    /// `/demo/identity`: 本人確認のテスト, nothing is registered.
    Identity,
    /// マイナ資格確認アプリ: 資格確認 by staff, the card read on their device.
    Check,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::View => "view",
            Self::Update => "update",
            Self::Cancel => "cancel",
            Self::Identity => "identity",
            Self::Check => "check",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Register,
            Self::View,
            Self::Update,
            Self::Cancel,
            Self::Identity,
            Self::Check,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// The line under the institution's name on every step.
    pub fn lead(self) -> &'static str {
        match self {
            Self::Register => "同意登録のための本人確認です",
            Self::View => "同意照会のための本人確認です",
            Self::Update => "同意更新のための本人確認です",
            Self::Cancel => "同意取消のための本人確認です",
            Self::Identity => "本人確認のテストです",
            Self::Check => "資格確認のための本人確認です",
        }
    }

    /// What the authentication alone does not complete, in seed 000's words
    /// (同意登録／同意照会／同意更新／同意取消); none for the identity test.
    pub fn unfinished(self) -> Option<&'static str> {
        match self {
            Self::Register => Some("同意登録"),
            Self::View => Some("同意照会"),
            Self::Update => Some("同意更新"),
            Self::Cancel => Some("同意取消"),
            Self::Identity => None,
            Self::Check => Some("資格確認"),
        }
    }
}

/// The longest `client_name`, as long as an institution's name may be.
pub const CLIENT_NAME_MAX_CHARS: usize = 100;

/// Whether `name` may be shown as the institution's name: 1–100 characters
/// with no control characters and none of the invisible ones that reorder
/// or hide text (a name that reads as another institution's).
pub fn client_name_ok(name: &str) -> bool {
    let count = name.chars().count();
    (1..=CLIENT_NAME_MAX_CHARS).contains(&count)
        && !name.trim().is_empty()
        && !name.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip() {
        for p in [
            Purpose::Register,
            Purpose::View,
            Purpose::Update,
            Purpose::Cancel,
            Purpose::Identity,
            Purpose::Check,
        ] {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::parse("Register"), None);
        assert_eq!(Purpose::parse(""), None);
    }

    #[test]
    fn client_names() {
        assert!(client_name_ok("試験在宅クリニック"));
        assert!(client_name_ok(&"あ".repeat(100)));
        assert!(!client_name_ok(&"あ".repeat(101)));
        assert!(!client_name_ok(""));
        assert!(!client_name_ok("   "));
        assert!(!client_name_ok("試験\nクリニック"));
        assert!(!client_name_ok("試験\u{202E}クリニック"));
        assert!(!client_name_ok("試験\u{200B}クリニック"));
    }
}
