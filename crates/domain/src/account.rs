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
    let allowed = |c: char| c.is_ascii_alphanumeric() || PASSWORD_SYMBOLS.contains(c);
    if !s.chars().all(allowed) {
        return Err(ValidationError::Characters {
            field: "パスワード",
            allowed: "英大文字・英小文字・数字と、記号 ` ~ ! @ # $ % ^ & * _ { } [ ] | : ; ' < > , . ? - ( ) / が使えます。",
        });
    }
    if !(8..=20).contains(&s.chars().count()) {
        return Err(ValidationError::PasswordLength);
    }
    let has = |f: fn(&char) -> bool| s.chars().any(|c| f(&c));
    if !(has(char::is_ascii_uppercase)
        && has(char::is_ascii_lowercase)
        && has(char::is_ascii_digit)
        && s.chars().any(|c| PASSWORD_SYMBOLS.contains(c)))
    {
        return Err(ValidationError::PasswordClasses);
    }
    Ok(())
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
    /// The platform's operator (call centre): belongs to no institution.
    Operator,
}

impl Role {
    pub const ALL: [Self; 4] = [
        Self::Admin,
        Self::General,
        Self::MedicalViewer,
        Self::Operator,
    ];
    /// The roles an institution's administrator may give (権限区分).
    pub const INSTITUTION: [Self; 3] = [Self::Admin, Self::General, Self::MedicalViewer];

    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "管理者",
            Self::General => "一般利用者",
            Self::MedicalViewer => "医療情報閲覧",
            Self::Operator => "運用者",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::General => "general",
            Self::MedicalViewer => "medical_viewer",
            Self::Operator => "operator",
        }
    }

    /// The permission table (docs/permissions.md, kept in step by a test).
    /// An operator never reads patients' data; institution roles never reach
    /// the platform's pages.
    pub fn may(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Self::Admin => !matches!(
                p,
                P::ManageInstitutions | P::ViewPlatformAudit | P::PostNotices
            ),
            Self::General => matches!(
                p,
                P::ViewUrl | P::ViewPatients | P::RecordPatientNotes | P::ChangeOwnPassword
            ),
            Self::MedicalViewer => matches!(
                p,
                P::ViewUrl
                    | P::ViewPatients
                    | P::RecordPatientNotes
                    | P::ViewMedical
                    | P::ChangeOwnPassword
            ),
            Self::Operator => matches!(
                p,
                P::ManageInstitutions
                    | P::ViewPlatformAudit
                    | P::PostNotices
                    | P::ChangeOwnPassword
            ),
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

/// What a page or an action needs. Each administration route names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// 医療機関等別URL・二次元コードの表示、ダウンロード、印刷
    ViewUrl,
    /// 医療機関等別URLの変更
    RotateUrl,
    /// 環境設定情報更新
    ManageSettings,
    /// アカウント管理（登録・無効化・パスワード再設定・ロック解除）
    ManageAccounts,
    /// 同意取得済み患者一覧、資格情報、再照会
    ViewPatients,
    /// 照会番号の登録、顔写真付き身分証の確認記録
    RecordPatientNotes,
    /// 薬剤情報・診療情報・特定健診等情報の閲覧
    ViewMedical,
    /// 医療機関等の端末の登録・登録解除、レセコン連携の認証情報の発行・再発行・無効化
    ManageDevices,
    /// 自機関の監査ログ（表示・CSV出力）
    ViewInstitutionAudit,
    /// パスワード変更（自分）
    ChangeOwnPassword,
    /// 医療機関等の登録、管理者アカウントのロック解除（運用者）
    ManageInstitutions,
    /// プラットフォーム全体の監査ログ（表示・CSV出力）と改ざん検証（運用者）
    ViewPlatformAudit,
    /// マイナ資格確認アプリに表示するお知らせの掲載（運用者）
    PostNotices,
}

impl Permission {
    pub const ALL: [Self; 13] = [
        Self::ViewUrl,
        Self::RotateUrl,
        Self::ManageSettings,
        Self::ManageAccounts,
        Self::ViewPatients,
        Self::RecordPatientNotes,
        Self::ViewMedical,
        Self::ManageDevices,
        Self::ViewInstitutionAudit,
        Self::ChangeOwnPassword,
        Self::ManageInstitutions,
        Self::ViewPlatformAudit,
        Self::PostNotices,
    ];

    /// The stable name used in docs/permissions.md and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViewUrl => "view_url",
            Self::RotateUrl => "rotate_url",
            Self::ManageSettings => "manage_settings",
            Self::ManageAccounts => "manage_accounts",
            Self::ViewPatients => "view_patients",
            Self::RecordPatientNotes => "record_patient_notes",
            Self::ViewMedical => "view_medical",
            Self::ManageDevices => "manage_devices",
            Self::ViewInstitutionAudit => "view_institution_audit",
            Self::ChangeOwnPassword => "change_own_password",
            Self::ManageInstitutions => "manage_institutions",
            Self::ViewPlatformAudit => "view_platform_audit",
            Self::PostNotices => "post_notices",
        }
    }
}

/// 照会番号: up to 50 characters, printable, unique per institution (checked
/// by the store).
pub fn validate_reference_number(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::Required {
            field: "照会番号"
        });
    }
    if s.chars().count() > 50 {
        return Err(ValidationError::TooLong {
            field: "照会番号",
            max: 50,
        });
    }
    if s.chars().any(char::is_control) {
        return Err(ValidationError::Characters {
            field: "照会番号",
            allowed: "改行などの制御文字は使えません。",
        });
    }
    Ok(s.to_owned())
}

/// ユーザ名 and ユーザ名（カナ）: required, at most 50 characters.
pub fn validate_display_name(field: &'static str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::Required { field });
    }
    if s.chars().count() > 50 {
        return Err(ValidationError::TooLong { field, max: 50 });
    }
    if s.chars().any(char::is_control) {
        return Err(ValidationError::Characters {
            field,
            allowed: "改行などの制御文字は使えません。",
        });
    }
    Ok(s.to_owned())
}

/// ユーザ名（カナ）: full-width katakana, the long-vowel mark and spaces.
pub fn validate_kana_name(s: &str) -> Result<String> {
    let s = validate_display_name("ユーザ名（カナ）", s)?;
    let ok = s
        .chars()
        .all(|c| matches!(c, 'ァ'..='ヶ' | 'ー' | '・' | '　' | ' '));
    if ok {
        Ok(s)
    } else {
        Err(ValidationError::Characters {
            field: "ユーザ名（カナ）",
            allowed: "全角カタカナで入力してください。",
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

    /// docs/permissions.md's table and `Role::may` say the same thing.
    #[test]
    fn permission_table_matches_the_docs() {
        let doc = include_str!("../../../docs/permissions.md");
        let roles = [
            Role::Admin,
            Role::General,
            Role::MedicalViewer,
            Role::Operator,
        ];
        for p in Permission::ALL {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| {} |", p.as_str())))
                .unwrap_or_else(|| panic!("{} missing from docs/permissions.md", p.as_str()));
            let cells: Vec<&str> = row
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            for (i, role) in roles.iter().enumerate() {
                assert_eq!(
                    cells[i + 1] == "✓",
                    role.may(p),
                    "{} for {} differs between the docs and Role::may",
                    p.as_str(),
                    role.as_str()
                );
            }
        }
    }

    #[test]
    fn operators_never_see_patients_and_staff_never_the_platform() {
        for p in [
            Permission::ViewPatients,
            Permission::ViewMedical,
            Permission::RecordPatientNotes,
        ] {
            assert!(!Role::Operator.may(p));
        }
        for r in Role::INSTITUTION {
            assert!(!r.may(Permission::ManageInstitutions));
            assert!(!r.may(Permission::ViewPlatformAudit));
        }
        assert!(
            !Role::General.may(Permission::ViewMedical),
            "一般利用者 sees eligibility only"
        );
        assert!(Role::MedicalViewer.may(Permission::ViewMedical));
    }

    #[test]
    fn reference_numbers_and_names() {
        assert!(validate_reference_number(&"1".repeat(50)).is_ok());
        assert_eq!(
            validate_reference_number(&"1".repeat(51)),
            Err(ValidationError::TooLong {
                field: "照会番号",
                max: 50
            })
        );
        assert_eq!(
            validate_reference_number(" ").unwrap_err().code(),
            "Z-V-0001"
        );
        assert_eq!(validate_reference_number("A-0012").unwrap(), "A-0012");
        assert!(validate_kana_name("カンリ　タロウ").is_ok());
        assert_eq!(
            validate_kana_name("かんり"),
            Err(ValidationError::Characters {
                field: "ユーザ名（カナ）",
                allowed: "全角カタカナで入力してください。"
            })
        );
        assert_eq!(
            validate_display_name("ユーザ名", ""),
            Err(ValidationError::Required {
                field: "ユーザ名"
            })
        );
    }

    #[test]
    fn user_ids() {
        assert!(validate_user_id("ad").is_ok());
        assert!(validate_user_id("admin001").is_ok());
        for bad in ["a", "admin0001", "ad-1", "ａｄ"] {
            assert_eq!(
                validate_user_id(bad),
                Err(ValidationError::Characters {
                    field: "ユーザID",
                    allowed: "半角英数字2〜8文字で入力してください。"
                }),
                "{bad}"
            );
        }
        assert_eq!(validate_user_id("").unwrap_err().code(), "Z-V-0001");
    }

    #[test]
    fn passwords() {
        assert!(validate_password("Zaitaku#2026").is_ok());
        assert!(validate_password("Ab1(xxxx").is_ok());
        let length = Err(ValidationError::PasswordLength);
        assert_eq!(validate_password("Ab1(xxx"), length, "7 characters");
        assert_eq!(
            validate_password("Ab1(xxxxxxxxxxxxxxxxx"),
            length,
            "21 characters"
        );
        let classes = Err(ValidationError::PasswordClasses);
        assert_eq!(validate_password("zaitaku#2026"), classes, "no upper case");
        assert_eq!(validate_password("ZAITAKU#2026"), classes, "no lower case");
        assert_eq!(validate_password("Zaitaku#abcd"), classes, "no digit");
        assert_eq!(validate_password("Zaitaku2026"), classes, "no symbol");
        let characters = |p: &str| {
            validate_password(p)
                .map_err(|e| (e.code(), e.to_string()))
                .unwrap_err()
        };
        let outside_the_set = (
            "Z-V-0008",
            "パスワードに使用できない文字が含まれています。英大文字・英小文字・数字と、記号 ` ~ ! @ # $ % ^ & * _ { } [ ] | : ; ' < > , . ? - ( ) / が使えます。".to_owned(),
        );
        assert_eq!(
            characters("Zaitaku 2026#"),
            outside_the_set,
            "space is not a symbol of the set"
        );
        assert_eq!(
            characters("Zaitaku\"2026"),
            outside_the_set,
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
        assert_eq!(
            Role::parse("root"),
            Err(ValidationError::UnknownCode {
                field: "権限",
                value: "root".into()
            })
        );
    }
}
