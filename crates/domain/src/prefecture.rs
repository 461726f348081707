//! 都道府県番号 (JIS X 0401): the two digits that open institution and insurer numbers.

use crate::error::{Result, ValidationError};

pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// A prefecture number 1–47.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Prefecture(u8);

impl Prefecture {
    pub fn new(n: u8) -> Option<Self> {
        (1..=47).contains(&n).then_some(Self(n))
    }

    /// Parses the two ASCII digits `"01"`–`"47"`.
    pub fn from_digits(two: &str) -> Result<Self> {
        Some(two)
            .filter(|t| crate::check_digit::is_ascii_digits(t, 2))
            .and_then(|t| t.parse::<u8>().ok())
            .and_then(Self::new)
            .ok_or_else(|| ValidationError::Prefecture(two.to_owned()))
    }

    pub fn number(self) -> u8 {
        self.0
    }

    pub fn name(self) -> &'static str {
        PREFECTURES[usize::from(self.0 - 1)]
    }

    pub fn digits(self) -> String {
        format!("{:02}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(
            Prefecture::from_digits("13").map(Prefecture::name),
            Ok("東京都")
        );
        assert_eq!(
            Prefecture::from_digits("01").map(Prefecture::name),
            Ok("北海道")
        );
        assert_eq!(
            Prefecture::from_digits("47").map(Prefecture::name),
            Ok("沖縄県")
        );
        for bad in ["00", "48", "1", "+1"] {
            assert_eq!(
                Prefecture::from_digits(bad),
                Err(ValidationError::Prefecture(bad.to_owned()))
            );
        }
    }
}
