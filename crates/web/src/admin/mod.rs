//! The administration (seed 002, the 資格確認端末 side of the web service):
//! institution staff under `/admin`, the platform's operators under
//! `/operator`. Every route names the one permission it needs
//! ([`zaitaku_domain::account::Permission`], docs/permissions.md) and every
//! query is scoped to the signed-in account's institution.

mod accounts;
mod audit;
mod audit_labels;
pub mod auth;
mod devices;
mod home;
mod medical;
mod operator;
mod patients;
mod settings;
mod url;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use zaitaku_domain::account::{Permission, Role};
use zaitaku_domain::consent::jst;

use crate::AppState;
use auth::{Realm, RealmPaths, Staff};

pub use auth::hash_password;

/// `2026年11月21日 14:05` in JST, for tables.
pub fn jst_minute(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst())
        .format("%Y年%m月%d日 %H:%M")
        .to_string()
}

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
/// them; 《マイナ資格確認アプリ管理》 and 《緊急時医療情報・資格確認機能》
/// have none yet. 《監査ログ管理》 is ours: the seed has no audit viewer.
const INSTITUTION_MENU: &[MenuGroup] = &[
    MenuGroup {
        label: "環境設定情報管理",
        items: &[(
            "/admin/settings",
            "環境設定情報更新",
            Permission::ManageSettings,
        )],
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
    pub fn new(staff: &'a Staff, realm: Realm, current: &str) -> Self {
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
                    .filter(|(_, _, p)| open && staff.may(*p))
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

    /// Every page of the menu, for the menu page's cards.
    pub fn items(&self) -> impl Iterator<Item = &NavItem> {
        self.groups.iter().flat_map(|g| g.items.iter())
    }
}

/// Every administration route. The permission each needs is stated in its
/// handler's `gate!`; docs/permissions.md lists them and the route tests
/// walk this table.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home::menu))
        .route("/admin/login", get(auth::login_page).post(auth::login))
        .route("/admin/logout", post(auth::logout))
        .route(
            "/admin/password",
            get(auth::password_page).post(auth::change_password),
        )
        .route("/admin/url", get(url::page))
        .route("/admin/url/qr.png", get(url::qr_png))
        .route("/admin/url/qr.svg", get(url::qr_svg))
        .route("/admin/url/poster", get(url::poster))
        .route("/admin/url/rotate", get(url::rotate_page).post(url::rotate))
        .route("/admin/settings", get(settings::page).post(settings::save))
        .route("/admin/accounts", get(accounts::list))
        .route(
            "/admin/accounts/new",
            get(accounts::new_page).post(accounts::create),
        )
        .route("/admin/accounts/{id}/disable", post(accounts::disable))
        .route("/admin/accounts/{id}/enable", post(accounts::enable))
        .route("/admin/accounts/{id}/unlock", post(accounts::unlock))
        .route(
            "/admin/accounts/{id}/reset-password",
            post(accounts::reset_password),
        )
        .route("/admin/patients", get(patients::list))
        .route("/admin/patients/{id}", get(patients::detail))
        .route("/admin/patients/{id}/requery", post(patients::requery))
        .route(
            "/admin/patients/{id}/reference",
            post(patients::set_reference),
        )
        .route(
            "/admin/patients/{id}/photo-id",
            post(patients::photo_id_checked),
        )
        .route("/admin/patients/{id}/medical", get(medical::page))
        .route("/admin/devices", get(devices::list).post(devices::register))
        .route("/admin/devices/{id}/revoke", post(devices::revoke))
        .route("/admin/audit", get(audit::institution))
        .route("/admin/audit.csv", get(audit::institution_csv))
        .route("/operator", get(operator::home))
        .route(
            "/operator/login",
            get(auth::operator_login_page).post(auth::operator_login),
        )
        .route("/operator/logout", post(auth::operator_logout))
        .route(
            "/operator/password",
            get(auth::operator_password_page).post(auth::operator_change_password),
        )
        .route(
            "/operator/institutions/new",
            get(operator::new_page).post(operator::create),
        )
        .route("/operator/accounts/{id}/unlock", post(operator::unlock))
        .route("/operator/audit", get(audit::platform))
        .route("/operator/audit.csv", get(audit::platform_csv))
        .route("/operator/audit/verify", post(audit::verify))
}
