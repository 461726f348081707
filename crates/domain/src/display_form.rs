//! Which form of the screens a device gets, from seed 000's table
//! 「参考.各OSにおける画面表示形式について」:
//!
//! | device | OS | IC card reader |
//! | --- | --- | --- |
//! | PC / tablet | Microsoft Windows, macOS | yes |
//! | PC / tablet | Android (tablets), iPadOS | no |
//! | smartphone | Android, iOS | no |
//!
//! The PC / tablet form offers the smartphone (二次元コード) authentication
//! and, on Windows and macOS only, the IC card reader; the smartphone form
//! authenticates on the phone itself. The device is told from its
//! User-Agent. An iPad asking for the desktop site calls itself
//! "Macintosh"; the page's script hides the reader where a "Mac" has a touch
//! screen, which only an iPad has. A desktop whose OS the table does not
//! name (Linux, ChromeOS) is treated as a PC, so that the demo and its tests
//! can use the stand-in card reader on the machines they run on.

/// The form of the screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayForm {
    /// スマートフォン: authentication on this phone.
    Phone,
    /// パソコン／タブレット: a QR code for the patient's phone, and the IC
    /// card reader where `card_reader` is true.
    PcOrTablet { card_reader: bool },
}

impl DisplayForm {
    pub fn of_user_agent(ua: &str) -> Self {
        let tablet = ua.contains("iPad")
            || ua.contains("Tablet")
            || (ua.contains("Android") && !ua.contains("Mobile"));
        let phone = !tablet
            && (ua.contains("iPhone")
                || ua.contains("iPod")
                || ua.contains("Android")
                || ua.contains("Mobile"));
        if phone {
            return Self::Phone;
        }
        Self::PcOrTablet {
            card_reader: !tablet,
        }
    }

    pub fn is_phone(self) -> bool {
        self == Self::Phone
    }

    pub fn card_reader(self) -> bool {
        self == Self::PcOrTablet { card_reader: true }
    }
}

#[cfg(test)]
mod tests {
    use super::DisplayForm::{self, PcOrTablet, Phone};

    #[test]
    fn each_row_of_the_seed_table() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                PcOrTablet { card_reader: true },
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
                PcOrTablet { card_reader: true },
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                PcOrTablet { card_reader: false },
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                PcOrTablet { card_reader: false },
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
                Phone,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
                Phone,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                PcOrTablet { card_reader: true },
            ),
        ];
        for (ua, form) in cases {
            assert_eq!(DisplayForm::of_user_agent(ua), form, "{ua}");
        }
        assert!(DisplayForm::of_user_agent(cases[5].0).is_phone());
        assert!(!DisplayForm::of_user_agent(cases[3].0).card_reader());
    }
}
