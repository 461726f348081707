//! The frame of every page of the administration and of the operator's
//! pages: who is signed in, where, and the menu of the pages this role may
//! open (nothing else is offered).

use zaitaku_domain::account::{Permission, Role};
use zaitaku_service::staff::{Realm, Session};

use super::staff::RealmPaths;

pub use zaitaku_domain::consent::jst_minute;

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// One group of the menu, as seed 002 names them (《環境設定情報管理》 …).
pub struct NavGroup {
    pub label: &'static str,
    pub items: Vec<NavItem>,
}

/// The header of every administration page: who is signed in, where, and the
/// menu of the pages this role may open (nothing else is offered).
pub struct Nav<'a> {
    pub staff_name: &'a str,
    pub role: &'static str,
    pub institution: Option<(&'a str, &'a str)>,
    pub csrf: &'a str,
    pub logout: &'static str,
    /// The menu page of the realm, the way back from every other page.
    pub home: &'static str,
    /// `false` on the menu page itself, which is the menu.
    pub show_menu: bool,
    pub groups: Vec<NavGroup>,
}

struct MenuGroup {
    label: &'static str,
    items: &'static [(&'static str, &'static str, Permission)],
}

/// Seed 002's menu groups, in its order, with the pages that exist under
/// them; 《緊急時医療情報・資格確認機能》 has none yet. 《監査ログ管理》 is ours: the seed has no audit viewer.
const INSTITUTION_MENU: &[MenuGroup] = &[
    MenuGroup {
        label: "環境設定情報管理",
        items: &[
            (
                "/admin/settings",
                "環境設定情報更新",
                Permission::ManageSettings,
            ),
            (
                "/admin/oqs-links",
                "レセコン連携",
                Permission::ManageDevices,
            ),
        ],
    },
    MenuGroup {
        label: "マイナ在宅受付web管理",
        items: &[
            (
                "/admin/patients",
                "同意取得済み患者一覧",
                Permission::ViewPatients,
            ),
            (
                "/admin/url",
                "医療機関等別URL取得・変更",
                Permission::ViewUrl,
            ),
            (
                "/admin/devices",
                "医療機関等の端末登録",
                Permission::ManageDevices,
            ),
        ],
    },
    MenuGroup {
        label: "マイナ資格確認アプリ管理",
        items: &[(
            "/admin/app",
            "アクティベーションコード管理",
            Permission::ManageDevices,
        )],
    },
    MenuGroup {
        label: "アカウント情報管理",
        items: &[
            (
                "/admin/accounts",
                "アカウント管理",
                Permission::ManageAccounts,
            ),
            (
                "/admin/password",
                "パスワード変更",
                Permission::ChangeOwnPassword,
            ),
        ],
    },
    MenuGroup {
        label: "監査ログ管理",
        items: &[("/admin/audit", "監査ログ", Permission::ViewInstitutionAudit)],
    },
];

const OPERATOR_MENU: &[MenuGroup] = &[
    MenuGroup {
        label: "医療機関等管理",
        items: &[(
            "/operator",
            "医療機関等一覧",
            Permission::ManageInstitutions,
        )],
    },
    MenuGroup {
        label: "お知らせ管理",
        items: &[(
            "/operator/notices",
            "お知らせ（マイナ資格確認アプリ）",
            Permission::PostNotices,
        )],
    },
    MenuGroup {
        label: "監査ログ管理",
        items: &[(
            "/operator/audit",
            "監査ログ（全体）",
            Permission::ViewPlatformAudit,
        )],
    },
    MenuGroup {
        label: "アカウント情報管理",
        items: &[(
            "/operator/password",
            "パスワード変更",
            Permission::ChangeOwnPassword,
        )],
    },
];

impl<'a> Nav<'a> {
    pub fn new(staff: &'a Session, realm: Realm, current: &str) -> Self {
        let menu = match realm {
            Realm::Institution => INSTITUTION_MENU,
            Realm::Operator => OPERATOR_MENU,
        };
        // A temporary password must be changed before anything else is offered.
        let open = !staff.account.must_change_password;
        let groups = menu
            .iter()
            .map(|g| NavGroup {
                label: g.label,
                items: g
                    .items
                    .iter()
                    .filter(|(_, _, p)| open && staff.account.role.may(*p))
                    .map(|(href, label, _)| NavItem {
                        href,
                        label,
                        current: *href == current,
                    })
                    .collect(),
            })
            .filter(|g| !g.items.is_empty())
            .collect();
        Self {
            staff_name: &staff.account.name,
            role: staff.account.role.label(),
            institution: staff
                .institution
                .as_ref()
                .map(|i| (i.institution.name.as_str(), i.institution.code.as_str())),
            csrf: &staff.csrf,
            logout: match realm {
                Realm::Institution => "/admin/logout",
                Realm::Operator => "/operator/logout",
            },
            home: realm.base(),
            // The operator's menu page is the institution list, one of the pages.
            show_menu: realm == Realm::Operator || current != realm.base(),
            groups,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.role == Role::Operator.label()
    }
}
