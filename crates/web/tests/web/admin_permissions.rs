//! The permission table of the administration, walked route by route on
//! SQLite and PostgreSQL: every route of `admin::routes()` for every role of
//! one institution and for the platform operator, signed out, with another
//! institution's IDs, and with a forged CSRF token.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use zaitaku_domain::account::{Permission, Role};
use zaitaku_domain::consent::CareKind;
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_storage::{StoredAccount, StoredInstitution};
use zaitaku_testkit::client::{Browser, Reply};
use zaitaku_testkit::fixtures::{self, Consent, PASSWORD, Records, WRONG};
use zaitaku_testkit::on_both;
use zaitaku_testkit::server::{self, Server};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Get,
    Post,
}

#[derive(Debug, Clone, Copy)]
enum Access {
    /// Login pages and logout: no session needed.
    Public,
    Needs(Permission),
}

struct Route {
    method: Method,
    path: &'static str,
    access: Access,
    /// The status once the gate lets the request through (with the forms
    /// built by [`fields`]).
    ok: u16,
}

const fn r(method: Method, path: &'static str, access: Access, ok: u16) -> Route {
    Route {
        method,
        path,
        access,
        ok,
    }
}

use Access::{Needs, Public};
use Method::{Get, Post};
use Permission as P;

/// Every route of the administration and the operator's pages with the
/// permission its handler's `Staff<gate::…>` names (docs/permissions.md).
const ROUTES: &[Route] = &[
    r(Get, "/admin", Needs(P::ViewUrl), 200),
    r(Get, "/admin/login", Public, 200),
    r(Post, "/admin/login", Public, 401),
    r(Post, "/admin/logout", Public, 303),
    r(Get, "/admin/password", Needs(P::ChangeOwnPassword), 200),
    // With a wrong current password: refused by the page, not by the gate.
    r(Post, "/admin/password", Needs(P::ChangeOwnPassword), 422),
    r(Get, "/admin/url", Needs(P::ViewUrl), 200),
    r(Get, "/admin/url/qr.png", Needs(P::ViewUrl), 200),
    r(Get, "/admin/url/qr.svg", Needs(P::ViewUrl), 200),
    r(Get, "/admin/url/poster", Needs(P::ViewUrl), 200),
    r(Get, "/admin/url/rotate", Needs(P::RotateUrl), 200),
    r(Post, "/admin/url/rotate", Needs(P::RotateUrl), 303),
    r(Get, "/admin/settings", Needs(P::ManageSettings), 200),
    r(Post, "/admin/settings", Needs(P::ManageSettings), 303),
    r(Get, "/admin/accounts", Needs(P::ManageAccounts), 200),
    r(Get, "/admin/accounts/new", Needs(P::ManageAccounts), 200),
    r(Post, "/admin/accounts/new", Needs(P::ManageAccounts), 200),
    r(
        Post,
        "/admin/accounts/{id}/disable",
        Needs(P::ManageAccounts),
        303,
    ),
    r(
        Post,
        "/admin/accounts/{id}/enable",
        Needs(P::ManageAccounts),
        303,
    ),
    r(
        Post,
        "/admin/accounts/{id}/unlock",
        Needs(P::ManageAccounts),
        303,
    ),
    r(
        Post,
        "/admin/accounts/{id}/reset-password",
        Needs(P::ManageAccounts),
        200,
    ),
    r(Get, "/admin/patients", Needs(P::ViewPatients), 200),
    r(Get, "/admin/patients/{id}", Needs(P::ViewPatients), 200),
    r(
        Post,
        "/admin/patients/{id}/requery",
        Needs(P::ViewPatients),
        200,
    ),
    r(
        Post,
        "/admin/patients/{id}/reference",
        Needs(P::RecordPatientNotes),
        303,
    ),
    r(
        Post,
        "/admin/patients/{id}/photo-id",
        Needs(P::RecordPatientNotes),
        303,
    ),
    r(
        Get,
        "/admin/patients/{id}/medical",
        Needs(P::ViewMedical),
        200,
    ),
    r(Get, "/admin/app", Needs(P::ManageDevices), 200),
    r(Post, "/admin/app", Needs(P::ManageDevices), 200),
    r(Get, "/admin/devices", Needs(P::ManageDevices), 200),
    r(Post, "/admin/devices", Needs(P::ManageDevices), 303),
    r(
        Post,
        "/admin/devices/{id}/revoke",
        Needs(P::ManageDevices),
        303,
    ),
    r(Get, "/admin/oqs-links", Needs(P::ManageDevices), 200),
    // Issued: the page that shows the credential once.
    r(Post, "/admin/oqs-links", Needs(P::ManageDevices), 200),
    r(
        Get,
        "/admin/oqs-links/{id}/rotate",
        Needs(P::ManageDevices),
        200,
    ),
    r(
        Post,
        "/admin/oqs-links/{id}/rotate",
        Needs(P::ManageDevices),
        200,
    ),
    r(
        Get,
        "/admin/oqs-links/{id}/revoke",
        Needs(P::ManageDevices),
        200,
    ),
    r(
        Post,
        "/admin/oqs-links/{id}/revoke",
        Needs(P::ManageDevices),
        303,
    ),
    r(Get, "/admin/audit", Needs(P::ViewInstitutionAudit), 200),
    r(Get, "/admin/audit.csv", Needs(P::ViewInstitutionAudit), 200),
    r(Get, "/operator", Needs(P::ManageInstitutions), 200),
    r(Get, "/operator/login", Public, 200),
    r(Post, "/operator/login", Public, 401),
    r(Post, "/operator/logout", Public, 303),
    r(Get, "/operator/notices", Needs(P::PostNotices), 200),
    r(Post, "/operator/notices", Needs(P::PostNotices), 303),
    r(Get, "/operator/password", Needs(P::ChangeOwnPassword), 200),
    r(Post, "/operator/password", Needs(P::ChangeOwnPassword), 422),
    r(
        Get,
        "/operator/institutions/new",
        Needs(P::ManageInstitutions),
        200,
    ),
    r(
        Post,
        "/operator/institutions/new",
        Needs(P::ManageInstitutions),
        200,
    ),
    r(
        Post,
        "/operator/accounts/{id}/unlock",
        Needs(P::ManageInstitutions),
        303,
    ),
    r(Get, "/operator/audit", Needs(P::ViewPlatformAudit), 200),
    r(Get, "/operator/audit.csv", Needs(P::ViewPlatformAudit), 200),
    r(
        Post,
        "/operator/audit/verify",
        Needs(P::ViewPlatformAudit),
        200,
    ),
];

/// The institution menu: every link and the permission behind it.
const MENU: &[(&str, Permission)] = &[
    ("/admin/patients", P::ViewPatients),
    ("/admin/url", P::ViewUrl),
    ("/admin/settings", P::ManageSettings),
    ("/admin/devices", P::ManageDevices),
    ("/admin/app", P::ManageDevices),
    ("/admin/oqs-links", P::ManageDevices),
    ("/admin/accounts", P::ManageAccounts),
    ("/admin/audit", P::ViewInstitutionAudit),
    ("/admin/password", P::ChangeOwnPassword),
];

fn is_logout(route: &Route) -> bool {
    route.path.ends_with("/logout")
}

/// `/admin` or `/operator`: whose login page a refused request is sent to.
fn realm_of(path: &str) -> &'static str {
    if path.starts_with("/operator") {
        "/operator"
    } else {
        "/admin"
    }
}

fn realm_of_role(role: Role) -> &'static str {
    if role == Role::Operator {
        "/operator"
    } else {
        "/admin"
    }
}

/// The `(method, path)` pairs declared in `admin::routes()` and
/// `operator::routes()`, read from their source so that a new route cannot be
/// left out of [`ROUTES`].
fn declared_routes() -> (usize, BTreeSet<(Method, String)>) {
    let mut calls = 0;
    let mut out = BTreeSet::new();
    let sources = [
        include_str!("../../src/admin/mod.rs"),
        include_str!("../../src/operator/mod.rs"),
    ];
    let bodies = sources.iter().map(|src| {
        let from = src.find("pub fn routes()").expect("routes() is in mod.rs");
        let to = from + src[from..].find("\n}\n").expect("routes() ends");
        &src[from..to]
    });
    for call in bodies.flat_map(|body| body.split(".route(").skip(1)) {
        calls += 1;
        let path = call.split('"').nth(1).expect("a path literal");
        let is_method = |name: &str| {
            call.match_indices(&format!("{name}(")).any(|(i, _)| {
                i == 0
                    || !call[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            })
        };
        let methods: Vec<Method> = [(Get, "get"), (Post, "post")]
            .into_iter()
            .filter(|(_, n)| is_method(n))
            .map(|(m, _)| m)
            .collect();
        assert!(!methods.is_empty(), "no method found for {path}");
        for m in methods {
            out.insert((m, path.to_owned()));
        }
    }
    (calls, out)
}

#[test]
fn the_table_lists_every_declared_route() {
    let (calls, declared) = declared_routes();
    let table: BTreeSet<(Method, String)> = ROUTES
        .iter()
        .map(|r| (r.method, r.path.to_owned()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "a route is listed twice");
    let missing: Vec<_> = declared.difference(&table).collect();
    let extra: Vec<_> = table.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in the test table: {missing:?}; not in the route tables: {extra:?}"
    );
    let paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), calls, "one .route( call per path");
    assert!(
        ROUTES.len() >= 38,
        "the walk covers {} routes",
        ROUTES.len()
    );
}

const A_PATIENT: i64 = 1001;
const B_PATIENT: i64 = 2001;
/// Every name of institution B contains this; nothing of A's does.
const B_MARK: &str = "別院";

struct World {
    srv: Server,
    a: StoredInstitution,
    b: StoredInstitution,
    a_admin: StoredAccount,
    a_general: StoredAccount,
    a_viewer: StoredAccount,
    /// Disabled, enabled, unlocked and reset by the walk.
    a_target: StoredAccount,
    /// A second administrator, target of the operator's unlock.
    a_admin2: StoredAccount,
    b_admin: StoredAccount,
    b_general: StoredAccount,
    operator: StoredAccount,
    /// A browser registered as one of A's devices; revoked by the walk.
    a_device: i64,
    b_device: i64,
    /// A receipt-computer link of A's; rotated, then revoked by the walk.
    a_link: i64,
    b_link: i64,
}

async fn world(url: &str) -> World {
    use zaitaku_testkit::fixtures::{
        account, card, consent, days_ago, drug, institution, person, today,
    };
    let srv = server::start(url).await;
    let store = &srv.store;
    let a = institution(
        store,
        InstitutionKind::Medical,
        101,
        "試験在宅クリニック",
        true,
    )
    .await;
    let b = institution(store, InstitutionKind::Medical, 202, "別院クリニック", true).await;
    let a_admin = account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    let a_general = account(store, Some(&a), "agen", Role::General, "試験 一般").await;
    let a_viewer = account(store, Some(&a), "aview", Role::MedicalViewer, "試験 閲覧").await;
    let a_target = account(store, Some(&a), "atarget", Role::General, "試験 対象").await;
    let a_admin2 = account(store, Some(&a), "aadmin2", Role::Admin, "試験 副管理者").await;
    let b_admin = account(store, Some(&b), "badmin", Role::Admin, "別院 管理者").await;
    let b_general = account(store, Some(&b), "bgen", Role::General, "別院 一般").await;
    let operator = account(store, None, "op01", Role::Operator, "運用 担当").await;
    let recent = today() - Duration::days(3);
    person(
        store,
        A_PATIENT,
        "試験 花子",
        fixtures::birth(),
        &Records {
            drugs: vec![drug(recent, "試験薬錠")],
            ..Records::default()
        },
    )
    .await;
    person(
        store,
        B_PATIENT,
        "別院 秘子",
        fixtures::birth(),
        &Records {
            drugs: vec![drug(recent, "別院薬錠")],
            ..Records::default()
        },
    )
    .await;
    consent(
        store,
        &a,
        A_PATIENT,
        Consent::register(CareKind::HomeVisit, days_ago(1)).own_device(),
    )
    .await;
    consent(
        store,
        &b,
        B_PATIENT,
        Consent::register(CareKind::HomeVisit, days_ago(1)).own_device(),
    )
    .await;
    card(&srv.state, A_PATIENT, today() - Duration::days(20)).await;
    card(&srv.state, B_PATIENT, today() - Duration::days(20)).await;
    let a_device = device(store, &a, &a_admin, "試験 訪問用タブレット").await;
    let b_device = device(store, &b, &b_admin, "別院 タブレット").await;
    let a_link = link(store, &a, &a_admin, "試験 受付レセコン").await;
    let b_link = link(store, &b, &b_admin, "別院 レセコン").await;
    World {
        srv,
        a,
        b,
        a_admin,
        a_general,
        a_viewer,
        a_target,
        a_admin2,
        b_admin,
        b_general,
        operator,
        a_device,
        b_device,
        a_link,
        b_link,
    }
}

/// A receipt-computer link (its credential is not needed here).
async fn link(
    store: &zaitaku_storage::Store,
    inst: &StoredInstitution,
    by: &StoredAccount,
    label: &str,
) -> i64 {
    let written = store
        .write(vec![zaitaku_storage::Write::issue_oqs_link(
            &zaitaku_storage::NewOqsLink {
                institution_id: inst.id,
                label,
                secret_sha256: &"0".repeat(64),
                character_code: "1",
                created_by: by.id,
                created_at: Utc::now(),
            },
        )])
        .await
        .unwrap()
        .unwrap();
    match written.first() {
        Some(zaitaku_storage::Written::Id(id)) => *id,
        other => panic!("no link id: {other:?}"),
    }
}

async fn device(
    store: &zaitaku_storage::Store,
    inst: &StoredInstitution,
    by: &StoredAccount,
    memo: &str,
) -> i64 {
    store
        .register_device(
            inst.id,
            zaitaku_storage::DeviceKind::Browser,
            &format!("token-of-{memo}"),
            memo,
            by.id,
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}

/// Five wrong passwords in a row.
async fn lock(base: &str, inst: &StoredInstitution, user_id: &str) {
    for _ in 0..5 {
        let refused =
            Browser::try_login(base, inst.institution.code.as_str(), user_id, WRONG).await;
        assert_eq!(refused.err().map(|r| r.status), Some(401));
    }
}

/// Which account or patient an `{id}` route is aimed at.
struct Ids {
    account: i64,
    /// For `/enable`, which needs a disabled account to make a difference.
    disabled_account: i64,
    patient: i64,
    admin_for_operator: i64,
    device: i64,
    link: i64,
}

fn concrete(route: &Route, ids: &Ids) -> String {
    let id = if route.path.starts_with("/admin/accounts/") {
        if route.path.ends_with("/enable") {
            ids.disabled_account
        } else {
            ids.account
        }
    } else if route.path.starts_with("/admin/patients/") {
        ids.patient
    } else if route.path.starts_with("/admin/devices/") {
        ids.device
    } else if route.path.starts_with("/admin/oqs-links/") {
        ids.link
    } else {
        ids.admin_for_operator
    };
    let path = route.path.replace("{id}", &id.to_string());
    if path.ends_with("/medical") {
        format!("{path}?kind=drugs")
    } else {
        path
    }
}

const NEW_USER: &str = "mnew01";
const NEW_PASSWORD: &str = "Kawatta#2027";
const REFERENCE: &str = "A-REF-0001";
/// The online-care partner origin the administrator registers in the walk.
const PARTNER_ORIGIN: &str = "https://partner.example";

fn new_institution_code() -> zaitaku_domain::institution::InstitutionCode {
    zaitaku_domain::institution::InstitutionCode::build(
        zaitaku_domain::prefecture::Prefecture::new(13).unwrap(),
        InstitutionKind::Medical,
        1,
        909,
    )
    .unwrap()
}

/// The form a page would send to `path` (without the CSRF token). With
/// `effective`, the password forms carry the right current password, so
/// that only the CSRF check stands between them and a change.
fn fields(path: &str, a: &StoredInstitution, effective: bool) -> Vec<(&'static str, String)> {
    let s = |v: &str| v.to_owned();
    match path {
        "/admin/login" => vec![
            ("institution_code", s(a.institution.code.as_str())),
            ("user_id", s("nobody")),
            ("password", s(WRONG)),
        ],
        "/operator/login" => vec![("user_id", s("nobody")), ("password", s(WRONG))],
        "/admin/password" | "/operator/password" => vec![
            ("current", s(if effective { PASSWORD } else { WRONG })),
            ("new", s(NEW_PASSWORD)),
            ("confirm", s(NEW_PASSWORD)),
        ],
        "/admin/settings" => vec![
            ("function", s("on")),
            ("terms", s("1")),
            ("eprescription", s("1")),
            ("items", s("clinical_and_drug")),
            ("items", s("checkups")),
            ("partner_origins", s(PARTNER_ORIGIN)),
        ],
        "/admin/accounts/new" => vec![
            ("role", s("general")),
            ("user_id", s(NEW_USER)),
            ("name", s("新規 一般")),
            ("name_kana", s("シンキ　イッパン")),
            (
                "start_date",
                fixtures::today().format("%Y-%m-%d").to_string(),
            ),
        ],
        p if p.ends_with("/reference") => vec![("reference", s(REFERENCE))],
        "/admin/devices" => vec![("memo", s("試験 新しい端末"))],
        "/admin/app" => vec![("memo", s("試験 訪問用タブレット"))],
        "/admin/oqs-links" => vec![("label", s("試験 2階レセコン")), ("character_code", s("0"))],
        "/operator/notices" => vec![
            ("title", s("試験のお知らせ")),
            ("body", s("本文")),
            ("from", fixtures::today().format("%Y-%m-%d").to_string()),
        ],
        "/operator/institutions/new" => vec![
            ("code", new_institution_code().as_str().to_owned()),
            ("name", s("新規登録クリニック")),
            ("admin_user_id", s("nadmin")),
            ("admin_name", s("新規 管理者")),
            ("admin_kana", s("シンキ　カンリシャ")),
        ],
        _ => vec![],
    }
}

async fn send(
    b: &Browser,
    route: &Route,
    path: &str,
    csrf: Option<&str>,
    form: &[(&str, String)],
) -> Reply {
    match route.method {
        Method::Get => b.get(path).await,
        Method::Post => {
            let mut f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if let Some(token) = csrf {
                f.insert(0, ("csrf", token));
            }
            b.post_raw(path, &f).await
        }
    }
}

#[derive(Debug)]
enum Expect {
    Status(u16),
    /// Redirected to this realm's login page.
    Login(&'static str),
    /// 403 with Z-W-0603.
    Forbidden,
}

fn expected(route: &Route, role: Option<Role>) -> Expect {
    if is_logout(route) {
        // Always back to the realm's login page, with or without a session.
        return Expect::Login(realm_of(route.path));
    }
    let Access::Needs(p) = route.access else {
        return Expect::Status(route.ok);
    };
    match role {
        None => Expect::Login(realm_of(route.path)),
        Some(role) if realm_of_role(role) != realm_of(route.path) => {
            Expect::Login(realm_of(route.path))
        }
        Some(role) if role.may(p) => Expect::Status(route.ok),
        Some(_) => Expect::Forbidden,
    }
}

fn meets(expect: &Expect, res: &Reply) -> bool {
    match expect {
        Expect::Status(303) => {
            res.status == 303
                && !res.location.ends_with("/login")
                && !res.location.ends_with("/password")
        }
        Expect::Status(s) => res.status == *s,
        Expect::Login(realm) => res.status == 303 && res.location == format!("{realm}/login"),
        Expect::Forbidden => res.status == 403 && res.shows_code("Z-W-0603"),
    }
}

/// The state the walk may change, to show that refusals changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    url_token: String,
    function: bool,
    items: Vec<String>,
    partner_origins: Vec<String>,
    accounts: usize,
    target_disabled: bool,
    target_must_change: bool,
    institutions: usize,
    /// Devices of A, and whether each is still in use.
    devices: Vec<(i64, bool)>,
    /// Receipt-computer links of A: whether each is in use and was rotated.
    links: Vec<(i64, bool, bool)>,
}

async fn snapshot(w: &World) -> Snapshot {
    let store = &w.srv.store;
    let a = store.institution(w.a.id).await.unwrap().unwrap();
    let target = store.account(w.a_target.id).await.unwrap().unwrap();
    Snapshot {
        url_token: a.url_token,
        function: a.institution.remote_function_enabled,
        items: a
            .institution
            .consent_items
            .iter()
            .map(|i| i.as_str().to_owned())
            .collect(),
        partner_origins: a
            .institution
            .partner_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
        accounts: store.accounts_of(w.a.id).await.unwrap().len(),
        target_disabled: target.disabled,
        target_must_change: target.must_change_password,
        institutions: store.list_institutions().await.unwrap().len(),
        devices: store
            .devices_of(w.a.id)
            .await
            .unwrap()
            .iter()
            .map(|d| (d.id, d.is_active()))
            .collect(),
        links: store
            .oqs_links_of(w.a.id)
            .await
            .unwrap()
            .iter()
            .map(|l| (l.id, l.is_active(), l.rotated_at.is_some()))
            .collect(),
    }
}

async fn every_route_answers_each_role_as_the_table_says(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let actors = [
        (
            "一般利用者",
            Role::General,
            Browser::login(base, &w.a, "agen").await,
        ),
        (
            "医療情報閲覧",
            Role::MedicalViewer,
            Browser::login(base, &w.a, "aview").await,
        ),
        (
            "管理者",
            Role::Admin,
            Browser::login(base, &w.a, "aadmin").await,
        ),
        (
            "運用者",
            Role::Operator,
            Browser::operator_login(base, "op01").await,
        ),
    ];
    let ids = Ids {
        account: w.a_target.id,
        disabled_account: w.a_target.id,
        patient: A_PATIENT,
        admin_for_operator: w.a_admin2.id,
        device: w.a_device,
        link: w.a_link,
    };
    let mut failures = Vec::new();
    let before = snapshot(&w).await;
    for (label, role, browser) in &actors {
        if *role == Role::Admin {
            // Nothing the general user or the medical viewer tried changed anything.
            assert_eq!(
                snapshot(&w).await,
                before,
                "refused requests changed something"
            );
        }
        for route in ROUTES.iter().filter(|r| !is_logout(r)) {
            let path = concrete(route, &ids);
            let form = fields(route.path, &w.a, false);
            let res = send(browser, route, &path, Some(&browser.csrf), &form).await;
            let expect = expected(route, Some(*role));
            if !meets(&expect, &res) {
                failures.push(format!(
                    "{label}: {:?} {path}: expected {expect:?}, got {}",
                    route.method,
                    res.summary()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // What the administrator and the operator were allowed to do, happened.
    let after = snapshot(&w).await;
    assert_ne!(after.url_token, before.url_token, "the URL was rotated");
    assert_eq!(after.items, ["clinical_and_drug", "checkups"]);
    assert_eq!(after.partner_origins, [PARTNER_ORIGIN]);
    assert_eq!(
        after.accounts,
        before.accounts + 1,
        "{NEW_USER} was registered"
    );
    assert!(!after.target_disabled, "disabled, then enabled again");
    assert!(after.target_must_change, "its password was reset");
    assert_eq!(after.institutions, before.institutions + 1);
    assert_eq!(after.devices.len(), before.devices.len() + 1, "registered");
    assert!(
        after.devices.contains(&(w.a_device, false)),
        "A's device was revoked"
    );
    assert_eq!(after.links.len(), before.links.len() + 1, "issued");
    assert!(
        after.links.contains(&(w.a_link, false, true)),
        "A's link was rotated, then revoked"
    );
    let store = &w.srv.store;
    assert_eq!(
        store
            .patient_notes(w.a.id, A_PATIENT)
            .await
            .unwrap()
            .reference_number
            .as_deref(),
        Some(REFERENCE)
    );

    // Every refusal by role is audited with the account and the permission.
    // (A refused medical read is recorded as such, against the patient.)
    let mut denied = store
        .audit_records(Some("access.denied"), 500)
        .await
        .unwrap();
    denied.extend(
        store
            .audit_records(Some("medical.read"), 500)
            .await
            .unwrap(),
    );
    for (_, role, _) in &actors[..2] {
        let account = if *role == Role::General {
            &w.a_general
        } else {
            &w.a_viewer
        };
        for route in ROUTES {
            if let Access::Needs(p) = route.access
                && realm_of(route.path) == "/admin"
                && !role.may(p)
            {
                assert!(
                    denied.iter().any(|d| d.institution_id == Some(w.a.id)
                        && d.detail.contains(&format!("\"account\":{}", account.id))
                        && ((d.outcome == "role" && d.detail.contains(p.as_str()))
                            || (p == Permission::ViewMedical
                                && d.action == "medical.read"
                                && d.outcome == "refused"
                                && d.detail.contains("Z-W-0603")))),
                    "no audit record of {} refused {}",
                    account.user_id,
                    p.as_str()
                );
            }
        }
    }

    // The menu offers exactly the pages the role may open.
    for (label, role, browser) in &actors[..3] {
        let menu = browser.get("/admin").await;
        assert_eq!(menu.status, 200);
        for (href, p) in MENU {
            assert_eq!(
                menu.body.contains(&format!("href=\"{href}\"")),
                role.may(*p),
                "{label}'s menu and {href}"
            );
        }
    }

    // Logout of the other realm is harmless; one's own ends the session.
    for (label, role, browser) in &actors {
        let own = realm_of_role(*role);
        let other = if own == "/admin" {
            "/operator"
        } else {
            "/admin"
        };
        let res = browser.post(&format!("{other}/logout"), &[]).await;
        assert_eq!(
            (res.status, res.location.as_str()),
            (303, &*format!("{other}/login"))
        );
        assert_eq!(
            browser.get(own).await.status,
            200,
            "{label} still signed in"
        );
        let res = browser
            .post_raw(&format!("{own}/logout"), &[("csrf", "forged")])
            .await;
        assert_eq!(res.status, 403, "a forged logout is refused");
        assert!(res.shows_code("Z-W-0604"));
        assert!(!res.header("set-cookie").contains("Max-Age=0"));
        assert_eq!(
            browser.get(own).await.status,
            200,
            "a forged logout is ignored"
        );
        let res = browser.post(&format!("{own}/logout"), &[]).await;
        assert_eq!(
            (res.status, res.location.as_str()),
            (303, &*format!("{own}/login"))
        );
        assert!(res.header("set-cookie").contains("Max-Age=0"));
        let res = browser.get(own).await;
        assert_eq!(res.location, format!("{own}/login"), "{label} signed out");
    }
}
on_both!(every_route_answers_each_role_as_the_table_says);

async fn signed_out_every_route_leads_to_the_login_page(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let ids = Ids {
        account: w.a_target.id,
        disabled_account: w.a_target.id,
        patient: A_PATIENT,
        admin_for_operator: w.a_admin2.id,
        device: w.a_device,
        link: w.a_link,
    };
    let anonymous = Browser::anonymous(base);
    let stale = anonymous.with_cookie("zt_admin=not-a-session");
    let stale_operator = anonymous.with_cookie("zt_operator=not-a-session");
    let mut failures = Vec::new();
    let before = snapshot(&w).await;
    for b in [&anonymous, &stale, &stale_operator] {
        for route in ROUTES {
            let path = concrete(route, &ids);
            let form = fields(route.path, &w.a, true);
            let res = send(b, route, &path, Some("anything"), &form).await;
            let expect = expected(route, None);
            if !meets(&expect, &res) {
                failures.push(format!(
                    "{:?} {:?} {path}: expected {expect:?}, got {}",
                    b.cookie,
                    route.method,
                    res.summary()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(snapshot(&w).await, before);

    // A session of one realm does not open the other, even under its cookie name.
    let operator = Browser::operator_login(base, "op01").await;
    let admin = Browser::login(base, &w.a, "aadmin").await;
    let res = anonymous
        .with_cookie(&format!("zt_admin={}", operator.sid()))
        .get("/admin")
        .await;
    assert_eq!(res.location, "/admin/login", "{}", res.summary());
    let res = anonymous
        .with_cookie(&format!("zt_operator={}", admin.sid()))
        .get("/operator")
        .await;
    assert_eq!(res.location, "/operator/login", "{}", res.summary());
    // Both sessions still work where they belong.
    assert_eq!(operator.get("/operator").await.status, 200);
    assert_eq!(admin.get("/admin").await.status, 200);
}
on_both!(signed_out_every_route_leads_to_the_login_page);

async fn another_institutions_ids_are_not_found(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let store = &w.srv.store;
    // B's general user is locked out; A's administrator must not be able to unlock them.
    lock(base, &w.b, "bgen").await;
    let b_general_before = store.account(w.b_general.id).await.unwrap().unwrap();
    assert!(b_general_before.is_locked(Utc::now()));

    let admin = Browser::login(base, &w.a, "aadmin").await;
    let viewer = Browser::login(base, &w.a, "aview").await;
    let b_ids = Ids {
        account: w.b_general.id,
        disabled_account: w.b_general.id,
        patient: B_PATIENT,
        admin_for_operator: w.b_admin.id,
        device: w.b_device,
        link: w.b_link,
    };
    let none = Ids {
        account: 999_999,
        disabled_account: 999_999,
        patient: 999_999,
        admin_for_operator: 999_999,
        device: 999_999,
        link: 999_999,
    };
    let mut failures = Vec::new();
    let id_routes = ROUTES
        .iter()
        .filter(|r| r.path.contains("{id}") && r.path.starts_with("/admin"));
    let mut walked = 0;
    for route in id_routes {
        walked += 1;
        let form = fields(route.path, &w.a, true);
        for (role, b) in [(Role::Admin, &admin), (Role::MedicalViewer, &viewer)] {
            let Access::Needs(p) = route.access else {
                unreachable!()
            };
            if !role.may(p) {
                continue;
            }
            let path = concrete(route, &b_ids);
            let res = send(b, route, &path, Some(&b.csrf), &form).await;
            let leaked = res.body.contains(B_MARK) || res.body.contains("bgen");
            if res.status != 404 || !res.shows_code("Z-W-0605") || leaked {
                failures.push(format!(
                    "{role:?} {:?} {path}: {}",
                    route.method,
                    res.summary()
                ));
            }
            // Exactly the answer for an ID that does not exist at all.
            let absent = send(b, route, &concrete(route, &none), Some(&b.csrf), &form).await;
            if (absent.status, &absent.body) != (res.status, &res.body) {
                failures.push(format!("{path} answers unlike a missing ID"));
            }
        }
    }
    assert_eq!(
        walked, 14,
        "four account routes, five patient routes, one device route, four link routes"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Nothing of B changed.
    let b_general = store.account(w.b_general.id).await.unwrap().unwrap();
    assert_eq!(
        b_general, b_general_before,
        "not disabled, unlocked or reset"
    );
    assert!(
        store
            .device_of(w.b.id, w.b_device)
            .await
            .unwrap()
            .unwrap()
            .is_active(),
        "B's device is still in use"
    );
    let b_link = store.oqs_link_of(w.b.id, w.b_link).await.unwrap().unwrap();
    assert!(
        b_link.is_active() && b_link.rotated_at.is_none(),
        "B's link is untouched"
    );
    for inst in [&w.a, &w.b] {
        let notes = store.patient_notes(inst.id, B_PATIENT).await.unwrap();
        assert_eq!(notes.reference_number, None);
        assert_eq!(notes.photo_id_checked_at, None);
    }
    let b_patient = store
        .consented_patient(w.b.id, B_PATIENT)
        .await
        .unwrap()
        .unwrap();
    assert!(b_patient.needs_photo_id_check());
    assert_eq!(
        store.consented_patient(w.a.id, B_PATIENT).await.unwrap(),
        None
    );
    // No page of A's lists anything of B's.
    for path in ["/admin/accounts", "/admin/patients", "/admin/audit"] {
        let res = admin.get(path).await;
        assert_eq!(res.status, 200);
        assert!(!res.body.contains(B_MARK), "{path} shows B");
    }
    // The attempts are audited against A, naming what was asked for.
    let denied = store
        .audit_records(Some("access.denied"), 200)
        .await
        .unwrap();
    assert!(denied.iter().any(|d| {
        d.outcome == "not_found"
            && d.institution_id == Some(w.a.id)
            && d.detail.contains(&format!("\"account\":{}", w.a_admin.id))
            && d.detail
                .contains(&format!("\"requested_account\":{}", w.b_general.id))
    }));
    assert!(denied.iter().any(|d| {
        d.outcome == "not_found"
            && d.institution_id == Some(w.a.id)
            && d.detail
                .contains(&format!("\"requested_person\":{B_PATIENT}"))
    }));

    // The operator unlocks administrators only.
    let operator = Browser::operator_login(base, "op01").await;
    let res = operator
        .post(
            &format!("/operator/accounts/{}/unlock", w.b_general.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.summary());
    assert!(res.shows_code("Z-W-0605"));
    assert!(
        store
            .account(w.b_general.id)
            .await
            .unwrap()
            .unwrap()
            .is_locked(Utc::now())
    );
}
on_both!(another_institutions_ids_are_not_found);

async fn a_forged_csrf_token_changes_nothing(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let store = &w.srv.store;
    // Targets whose state each action would visibly change.
    lock(base, &w.a, "atarget").await;
    lock(base, &w.a, "aadmin2").await;
    let off = fixtures::account(store, Some(&w.a), "aoff", Role::General, "試験 無効").await;
    store.set_account_disabled(off.id, true).await.unwrap();

    let admin = Browser::login(base, &w.a, "aadmin").await;
    let operator = Browser::operator_login(base, "op01").await;
    let ids = Ids {
        account: w.a_target.id,
        disabled_account: off.id,
        patient: A_PATIENT,
        admin_for_operator: w.a_admin2.id,
        device: w.a_device,
        link: w.a_link,
    };
    let before = snapshot(&w).await;
    let accounts_before: Vec<StoredAccount> = store.accounts_of(w.a.id).await.unwrap();
    let operator_before = store.account(w.operator.id).await.unwrap().unwrap();
    let audit_before = store.audit_records(None, 1).await.unwrap()[0].seq;
    let mut failures = Vec::new();
    let mut walked = 0;
    for route in ROUTES.iter().filter(|r| r.method == Post && !is_logout(r)) {
        let Access::Needs(_) = route.access else {
            continue;
        };
        walked += 1;
        let b = if realm_of(route.path) == "/operator" {
            &operator
        } else {
            &admin
        };
        let path = concrete(route, &ids);
        let form = fields(route.path, &w.a, true);
        for token in [Some("forged"), Some(""), None] {
            let res = send(b, route, &path, token, &form).await;
            if res.status != 403 || !res.shows_code("Z-W-0604") {
                failures.push(format!("{token:?} {path}: {}", res.summary()));
            }
        }
    }
    assert_eq!(
        walked, 22,
        "seventeen institution actions, five operator actions"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    assert_eq!(snapshot(&w).await, before);
    assert_eq!(store.accounts_of(w.a.id).await.unwrap(), accounts_before);
    assert_eq!(
        store.account(w.operator.id).await.unwrap().unwrap(),
        operator_before
    );
    let patient = store
        .consented_patient(w.a.id, A_PATIENT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(patient.reference_number, None);
    assert!(patient.needs_photo_id_check());
    assert!(
        store
            .institution_by_code(&new_institution_code())
            .await
            .unwrap()
            .is_none()
    );
    // Only the login and page views of this test were recorded: no action.
    let records = store.audit_records(None, 500).await.unwrap();
    let new: Vec<_> = records.iter().filter(|r| r.seq > audit_before).collect();
    for r in new {
        assert!(
            !matches!(
                r.action.as_str(),
                "eligibility.requery"
                    | "audit.verify"
                    | "account.unlock"
                    | "account.disable"
                    | "account.enable"
                    | "account.password_reset"
                    | "account.password_change"
                    | "account.create"
                    | "institution.create"
                    | "institution.settings"
                    | "institution.url_rotate"
                    | "patient.reference_number"
                    | "patient.photo_id_checked"
                    | "device.register"
                    | "device.revoke"
                    | "oqs_link.issue"
                    | "oqs_link.rotate"
                    | "oqs_link.revoke"
            ),
            "{} was recorded",
            r.action
        );
    }
    // The old passwords still work.
    assert!(
        Browser::try_login(base, w.a.institution.code.as_str(), "aadmin", PASSWORD)
            .await
            .is_ok()
    );
    assert!(
        Browser::try_operator_login(base, "op01", PASSWORD)
            .await
            .is_ok()
    );
}
on_both!(a_forged_csrf_token_changes_nothing);
