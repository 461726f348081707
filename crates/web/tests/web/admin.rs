//! The administrator's pages on SQLite and PostgreSQL: login with answers
//! that reveal nothing, the lockout after five wrong passwords and the
//! unlock, disabled accounts, password reset, URL rotation with its QR
//! codes and poster, the settings with the terms and the online-care
//! partners' origins, the audit viewers.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::consent::CareKind;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{AuditRecord, NewAccount, Store, StoredAccount, StoredInstitution};
use zaitaku_testkit::client::{self, Browser, Reply};
use zaitaku_testkit::fixtures::{self, WRONG};
use zaitaku_testkit::on_both;
use zaitaku_testkit::server::{self, Server};
use zaitaku_web::AppState;

async fn start(url: &str) -> (String, Store, String) {
    let store = Store::open(url).await.unwrap();
    let code = InstitutionCode::build(
        Prefecture::new(13).unwrap(),
        InstitutionKind::Medical,
        1,
        31,
    )
    .unwrap();
    let mut inst = Institution::new(code.clone(), "試験在宅クリニック", true).unwrap();
    inst.remote_function_enabled = true;
    let inst = store
        .insert_institution(
            &inst,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    store
        .insert_account(
            &NewAccount {
                institution_id: Some(inst.id),
                user_id: "admin01",
                role: Role::Admin,
                name: "管理 太郎",
                name_kana: "カンリ　タロウ",
                start_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                password_hash: &zaitaku_web::admin::hash_password("Zaitaku#2026").unwrap(),
                must_change_password: false,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), base.clone()).await.unwrap();
    tokio::spawn(zaitaku_web::serve(listener, state, std::future::pending()));
    (base, store, code.as_str().to_owned())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(base: &str, code: &str, user: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/admin/login"))
        .form(&[
            ("institution_code", code),
            ("user_id", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn login_logout_and_lockout(url: &str) {
    let (base, store, code) = start(url).await;
    // Not signed in: to the login page.
    let res = client().get(format!("{base}/admin")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/admin/login");

    // Success: a cookie, the URL and its QR code.
    let res = login(&base, &code, "admin01", "Zaitaku#2026").await;
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let home = client()
        .get(format!("{base}/admin/url"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.headers()["cache-control"], "no-store");
    let body = home.text().await.unwrap();
    assert!(
        body.contains("医療機関等別URL")
            && body.contains(&format!("{base}/w/"))
            && body.contains("<svg")
    );
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // Logout ends the session.
    let res = client()
        .post(format!("{base}/admin/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/admin/login");
    let res = client()
        .get(format!("{base}/admin"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/admin/login");

    // An unknown ID and a wrong password read the same.
    let unknown = login(&base, &code, "nobody", "Zaitaku#2026")
        .await
        .text()
        .await
        .unwrap();
    let wrong = login(&base, &code, "admin01", "Wrong#2026")
        .await
        .text()
        .await
        .unwrap();
    assert!(unknown.contains("医療機関等コード、ユーザID、またはパスワードが正しくありません。"));
    assert_eq!(
        unknown,
        wrong.replace("value=\"admin01\"", "value=\"nobody\"")
    );

    // Five consecutive wrong passwords (one above, four here) lock for 30 minutes:
    // even the right password is refused.
    for _ in 0..4 {
        assert_eq!(
            login(&base, &code, "admin01", "Wrong#2026").await.status(),
            401
        );
    }
    let locked = login(&base, &code, "admin01", "Zaitaku#2026").await;
    assert_eq!(locked.status(), 401);
    // A locked account reads exactly as an unknown ID does.
    assert_eq!(
        locked.text().await.unwrap(),
        unknown.replace("value=\"nobody\"", "value=\"admin01\"")
    );
    assert!(unknown.contains("30分間ロックされています"));
    let audit = store.audit_records(Some("account."), 50).await.unwrap();
    for outcome in [
        "ok",
        "unknown_user",
        "wrong_password",
        "locked_now",
        "locked",
    ] {
        assert!(
            audit.iter().any(|r| r.outcome == outcome),
            "no audit record for {outcome}"
        );
    }
    assert!(
        audit
            .iter()
            .all(|r| !r.detail.contains("Zaitaku#2026") && !r.detail.contains("Wrong#2026"))
    );
    // The administrator's unlock (storage level for now) lets the right password in.
    let account = store
        .account_for_login(&code, "admin01")
        .await
        .unwrap()
        .unwrap();
    store.reset_login_failures(account.id).await.unwrap();
    assert_eq!(
        login(&base, &code, "admin01", "Zaitaku#2026")
            .await
            .status(),
        303
    );
}
on_both!(login_logout_and_lockout);

/// The field test's burst: sixty attempts at once check five passwords, not
/// more, and the right password sent in the same burst after them is refused.
async fn the_lockout_holds_under_a_burst(url: &str) {
    let (base, store, code) = start(url).await;
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..60 {
        let (base, code) = (base.clone(), code.clone());
        burst.spawn(async move {
            let password = format!("Wrong#{i:04}x");
            login(&base, &code, "admin01", &password).await.status()
        });
    }
    while let Some(status) = burst.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
    let outcomes: Vec<String> = store
        .audit_records(Some("account.login"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    let checked = outcomes
        .iter()
        .filter(|o| *o == "wrong_password" || *o == "locked_now")
        .count();
    assert_eq!(checked, 5, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| *o == "locked").count(), 55);
    assert_eq!(outcomes.iter().filter(|o| *o == "locked_now").count(), 1);
    let res = login(&base, &code, "admin01", "Zaitaku#2026").await;
    assert_eq!(res.status(), 401, "locked: even the right password");
    let account = store
        .account_for_login(&code, "admin01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.failed_attempts, 5);
    assert!(account.is_locked(Utc::now()));
}
on_both!(the_lockout_holds_under_a_burst);

// ---------------------------------------------------------------------------
// Lockout and unlock, disabled accounts, password reset, URL rotation,
// settings and the audit viewers, through the pages an administrator uses.

/// One institution with an administrator and a general user, a second
/// administrator, and the platform operator.
struct Clinic {
    srv: Server,
    a: StoredInstitution,
    admin: StoredAccount,
    general: StoredAccount,
    operator: StoredAccount,
}

async fn clinic(url: &str, enabled: bool) -> Clinic {
    let srv = server::start(url).await;
    let store = &srv.store;
    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        31,
        "試験在宅クリニック",
        enabled,
    )
    .await;
    let admin = fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    let general = fixtures::account(store, Some(&a), "agen", Role::General, "試験 一般").await;
    let operator = fixtures::account(store, None, "op01", Role::Operator, "運用 担当").await;
    Clinic {
        srv,
        a,
        admin,
        general,
        operator,
    }
}

fn code(inst: &StoredInstitution) -> &str {
    inst.institution.code.as_str()
}

async fn attempt(c: &Clinic, user_id: &str, password: &str) -> Reply {
    match Browser::try_login(&c.srv.base, code(&c.a), user_id, password).await {
        Ok((_, res)) | Err(res) => res,
    }
}

async fn lock_out(c: &Clinic, user_id: &str) {
    for _ in 0..5 {
        let res = attempt(c, user_id, WRONG).await;
        assert_eq!(res.status, 401);
    }
    let res = attempt(c, user_id, fixtures::PASSWORD).await;
    assert_eq!(res.status, 401, "even the right password");
    assert!(res.body.contains("30分間ロック"), "{}", res.summary());
}

/// The newest record of `action`.
async fn last(store: &Store, action: &str) -> AuditRecord {
    store
        .audit_records(Some(action), 1)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.action == action)
        .unwrap_or_else(|| panic!("no {action} record"))
}

fn by(r: &AuditRecord, a: &StoredAccount) -> bool {
    r.detail.contains(&format!("\"account\":{}", a.id))
        && r.detail.contains(&format!("\"user_id\":\"{}\"", a.user_id))
}

fn about(r: &AuditRecord, target: &StoredAccount) -> bool {
    r.detail.contains(&format!("\"target\":{}", target.id))
}

async fn administrators_unlock_locked_accounts(url: &str) {
    let c = clinic(url, true).await;
    let store = &c.srv.store;
    let base = &c.srv.base;

    // The institution's administrator unlocks a general user.
    lock_out(&c, "agen").await;
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let list = admin.get("/admin/accounts").await;
    let unlock = format!("/admin/accounts/{}/unlock", c.general.id);
    assert!(list.body.contains("ロック中") && list.body.contains(&unlock));
    let res = admin.post(&unlock, &[]).await;
    assert_eq!(res.location, "/admin/accounts?done=unlocked");
    let list = admin.get(&res.location).await;
    assert!(list.body.contains("ロックを解除しました。"));
    assert!(!list.body.contains("ロック中"));
    assert!(attempt(&c, "agen", fixtures::PASSWORD).await.status == 303);
    let r = last(store, "account.unlock").await;
    assert!(by(&r, &c.admin) && about(&r, &c.general), "{}", r.detail);
    assert_eq!(
        (r.actor.as_str(), r.institution_id),
        ("staff", Some(c.a.id))
    );

    // Locking the administrator ends their session too; the operator unlocks them.
    lock_out(&c, "aadmin").await;
    assert_eq!(admin.get("/admin").await.location, "/admin/login");
    let operator = Browser::operator_login(base, "op01").await;
    let home = operator.get("/operator").await;
    let unlock = format!("/operator/accounts/{}/unlock", c.admin.id);
    assert!(home.body.contains("ロック中") && home.body.contains(&unlock));
    let res = operator.post(&unlock, &[]).await;
    assert_eq!(res.location, "/operator?done=unlocked");
    let home = operator.get(&res.location).await;
    assert!(
        home.body
            .contains("管理者アカウントのロックを解除しました。")
    );
    assert!(!home.body.contains("ロック中"));
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let r = last(store, "account.unlock").await;
    assert!(by(&r, &c.operator) && about(&r, &c.admin), "{}", r.detail);
    // Recorded against the institution, so its own log shows it.
    assert_eq!(
        (r.actor.as_str(), r.institution_id),
        ("operator", Some(c.a.id))
    );
    let log = admin.get("/admin/audit?category=account.").await;
    assert!(log.body.contains("ロック解除") && log.body.contains("運用者（op01）"));
}
on_both!(administrators_unlock_locked_accounts);

/// Five wrong passwords lock for 30 minutes; once the lock has run out, the
/// count should start again rather than one more typo locking at once.
async fn after_a_lock_runs_out_the_count_starts_again(url: &str) {
    let c = clinic(url, true).await;
    let store = &c.srv.store;
    let long_ago = Utc::now() - Duration::minutes(31);
    for _ in 0..5 {
        store
            .reserve_login_attempt(c.general.id, long_ago)
            .await
            .unwrap();
    }
    let general = store.account(c.general.id).await.unwrap().unwrap();
    assert!(
        !general.is_locked(Utc::now()),
        "the lock ran out a minute ago"
    );
    assert_eq!(attempt(&c, "agen", WRONG).await.status, 401);
    let res = attempt(&c, "agen", fixtures::PASSWORD).await;
    assert_eq!(
        res.status,
        303,
        "one typo after the lock: {}",
        res.summary()
    );
}
mod lock_runs_out {
    #[tokio::test]
    async fn sqlite() {
        let db = zaitaku_testkit::sqlite();
        super::after_a_lock_runs_out_the_count_starts_again(&db.url).await;
    }
    #[tokio::test]
    async fn postgres() {
        let url = zaitaku_testkit::postgres().await;
        super::after_a_lock_runs_out_the_count_starts_again(&url).await;
    }
}

async fn a_disabled_account_is_shut_out_at_once(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let general = Browser::login(base, &c.a, "agen").await;
    assert_eq!(general.get("/admin/url").await.status, 200);

    let res = admin
        .post(&format!("/admin/accounts/{}/disable", c.general.id), &[])
        .await;
    assert_eq!(res.location, "/admin/accounts?done=disabled");
    let list = admin.get(&res.location).await;
    assert!(list.body.contains("アカウントを無効にしました。") && list.body.contains("無効"));
    // The open session stops at its next request.
    assert_eq!(general.get("/admin/url").await.location, "/admin/login");
    assert_eq!(general.get("/admin").await.location, "/admin/login");
    // The right password reads exactly like a wrong one for an unknown user.
    let disabled = attempt(&c, "agen", fixtures::PASSWORD).await;
    assert_eq!(disabled.status, 401);
    assert!(disabled.body.contains(fixtures::LOGIN_FAILED));
    let unknown = attempt(&c, "nobody", fixtures::PASSWORD).await;
    assert_eq!(
        disabled.body.replace("value=\"agen\"", "value=\"nobody\""),
        unknown.body
    );
    let r = last(store, "account.disable").await;
    assert!(by(&r, &c.admin) && about(&r, &c.general));
    // One cannot disable oneself.
    let res = admin
        .post(&format!("/admin/accounts/{}/disable", c.admin.id), &[])
        .await;
    assert_eq!(res.status, 409);
    assert!(res.shows_code("Z-W-0623"));
    assert!(!store.account(c.admin.id).await.unwrap().unwrap().disabled);

    let res = admin
        .post(&format!("/admin/accounts/{}/enable", c.general.id), &[])
        .await;
    assert_eq!(res.location, "/admin/accounts?done=enabled");
    assert_eq!(attempt(&c, "agen", fixtures::PASSWORD).await.status, 303);
    let r = last(store, "account.enable").await;
    assert!(by(&r, &c.admin) && about(&r, &c.general));
}
on_both!(a_disabled_account_is_shut_out_at_once);

const NEW_PASSWORD: &str = "Hajimete#2027";

async fn a_reset_password_must_be_changed_first(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let res = admin
        .post(
            &format!("/admin/accounts/{}/reset-password", c.general.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert_eq!(res.header("cache-control"), "no-store");
    assert!(res.body.contains("この画面でしか表示されません"));
    let temporary = client::unescape(
        client::between(&res.body, "id=\"temp-password\">", "</dd>").expect("shown"),
    );
    assert!(zaitaku_domain::account::validate_password(&temporary).is_ok());
    // Shown once: not on the list, not in the log.
    let list = admin.get("/admin/accounts").await;
    assert!(list.body.contains("仮パスワード"));
    assert!(!client::unescape(&list.body).contains(&temporary));
    let r = last(store, "account.password_reset").await;
    assert!(by(&r, &c.admin) && about(&r, &c.general));
    assert!(
        !store
            .audit_records(None, 100)
            .await
            .unwrap()
            .iter()
            .any(|r| r.detail.contains(&temporary))
    );
    // Nobody resets their own password this way.
    let res = admin
        .post(
            &format!("/admin/accounts/{}/reset-password", c.admin.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 409);

    // The old password is gone; the temporary one leads to the change page only.
    assert_eq!(attempt(&c, "agen", fixtures::PASSWORD).await.status, 401);
    let (general, res) = Browser::try_login(base, code(&c.a), "agen", &temporary)
        .await
        .unwrap_or_else(|r| panic!("{}", r.summary()));
    assert_eq!(res.location, "/admin/password");
    for path in [
        "/admin",
        "/admin/url",
        "/admin/url/qr.png",
        "/admin/patients",
        "/admin/settings",
    ] {
        let res = general.get(path).await;
        assert_eq!(res.location, "/admin/password", "{path}: {}", res.summary());
    }
    let res = general
        .post(&format!("/admin/patients/{}/photo-id", 1), &[])
        .await;
    assert_eq!(res.location, "/admin/password");
    let page = general.get("/admin/password").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("変更するまで他の画面は利用できません"));
    assert!(!page.body.contains("class=\"admin-menu\""), "no menu yet");

    // Refusals, each with its reason.
    let change = |current: &str, new: &str, confirm: &str| {
        let (general, current, new, confirm) = (
            general.clone(),
            current.to_owned(),
            new.to_owned(),
            confirm.to_owned(),
        );
        async move {
            general
                .post(
                    "/admin/password",
                    &[("current", &current), ("new", &new), ("confirm", &confirm)],
                )
                .await
        }
    };
    let length = "パスワードは8〜20文字で入力してください。";
    let classes = "英大文字・英小文字・数字・記号をそれぞれ1文字以上含めてください。";
    let characters = "パスワードに使用できない文字が含まれています。";
    for (weak, says) in [
        ("Ab1#xyz", length),
        ("abcdefg1#", classes),
        ("Abcdefgh1", classes),
        ("Abcdefg#x", classes),
        ("Abcdefg1# 2", characters),
    ] {
        let res = change(&temporary, weak, weak).await;
        assert_eq!(res.status, 422, "{weak}");
        assert!(res.body.contains(says), "{weak}: {}", res.summary());
    }
    let res = change(&temporary, NEW_PASSWORD, "Hajimete#2028").await;
    assert!(
        res.body
            .contains("新しいパスワードと確認用のパスワードが一致しません。")
    );
    let res = change(&temporary, &temporary, &temporary).await;
    assert!(
        res.body
            .contains("現在と異なるパスワードを設定してください。")
    );
    let res = change(WRONG, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(res.body.contains("現在のパスワードが正しくありません。"));
    assert_eq!(general.get("/admin").await.location, "/admin/password");

    let res = change(&temporary, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert!(res.body.contains("パスワードを変更しました。"));
    let menu = general.get("/admin").await;
    assert_eq!(menu.status, 200);
    assert!(menu.body.contains("href=\"/admin/patients\""));
    assert_eq!(general.get("/admin/patients").await.status, 200);
    assert_eq!(attempt(&c, "agen", &temporary).await.status, 401);
    let res = attempt(&c, "agen", NEW_PASSWORD).await;
    assert_eq!(res.location, "/admin");
    let r = last(store, "account.password_change").await;
    assert_eq!(r.outcome, "ok");
    assert!(by(&r, &c.general));
}
on_both!(a_reset_password_must_be_changed_first);

/// A password change or reset ends the account's other sessions; the
/// session that made the change goes on.
async fn a_new_password_ends_the_other_sessions(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let here = Browser::login(base, &c.a, "agen").await;
    let elsewhere = Browser::login(base, &c.a, "agen").await;
    let res = here
        .post(
            "/admin/password",
            &[
                ("current", fixtures::PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(
        res.body.contains("パスワードを変更しました。"),
        "{}",
        res.summary()
    );
    assert_eq!(here.get("/admin").await.status, 200);
    assert_eq!(elsewhere.get("/admin").await.location, "/admin/login");

    // An administrator's reset ends every session of the account.
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let (general, _) = Browser::try_login(base, code(&c.a), "agen", NEW_PASSWORD)
        .await
        .unwrap_or_else(|r| panic!("{}", r.summary()));
    assert_eq!(general.get("/admin").await.status, 200);
    let res = admin
        .post(
            &format!("/admin/accounts/{}/reset-password", c.general.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert_eq!(general.get("/admin").await.location, "/admin/login");
    assert_eq!(here.get("/admin").await.location, "/admin/login");
    assert_eq!(admin.get("/admin").await.status, 200);
}
on_both!(a_new_password_ends_the_other_sessions);

/// A login form posted from another site's page signs nobody in.
async fn a_login_from_another_site_is_refused(url: &str) {
    let (base, store, code) = start(url).await;
    let form = [
        ("institution_code", code.as_str()),
        ("user_id", "admin01"),
        ("password", "Zaitaku#2026"),
    ];
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let res = client()
            .post(format!("{base}/admin/login"))
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        assert!(res.headers().get("set-cookie").is_none());
        let body = res.text().await.unwrap();
        assert!(body.contains("別のサイトの画面からのログインは受け付けていません"));
        assert!(body.contains("Z-W-0606"));
    }
    let res = client()
        .post(format!("{base}/operator/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("user_id", "ops01"), ("password", "Operator#2026")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let audit = store
        .audit_records(Some("account.login"), 20)
        .await
        .unwrap();
    assert_eq!(
        audit.iter().filter(|r| r.outcome == "cross_site").count(),
        5
    );
    // The service's own page: Sec-Fetch-Site same-origin, or an Origin that
    // names this host.
    let host = base.trim_start_matches("http://").to_owned();
    for (name, value) in [
        ("sec-fetch-site", "same-origin".to_owned()),
        ("origin", format!("http://{host}")),
    ] {
        let res = client()
            .post(format!("{base}/admin/login"))
            .header(name, value.as_str())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{name}: {value}");
    }
}
on_both!(a_login_from_another_site_is_refused);

/// Right after the forced change, the confirmation page should offer the
/// menu again: it is the only way on without typing an address.
async fn the_forced_change_ends_on_a_page_with_the_menu(url: &str) {
    let c = clinic(url, true).await;
    let store = &c.srv.store;
    let temporary = "Karini#2026";
    let hash = zaitaku_web::admin::hash_password(temporary).unwrap();
    store.set_password(c.general.id, &hash, true).await.unwrap();
    let (general, res) = Browser::try_login(&c.srv.base, code(&c.a), "agen", temporary)
        .await
        .unwrap_or_else(|r| panic!("{}", r.summary()));
    assert_eq!(res.location, "/admin/password");
    let res = general
        .post(
            "/admin/password",
            &[
                ("current", temporary),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(res.body.contains("パスワードを変更しました。"));
    assert!(
        res.body.contains("class=\"admin-menu\""),
        "the confirmation page has no menu and no link onwards"
    );
}
mod forced_change_menu {
    #[tokio::test]
    async fn sqlite() {
        let db = zaitaku_testkit::sqlite();
        super::the_forced_change_ends_on_a_page_with_the_menu(&db.url).await;
    }
    #[tokio::test]
    async fn postgres() {
        let url = zaitaku_testkit::postgres().await;
        super::the_forced_change_ends_on_a_page_with_the_menu(&url).await;
    }
}

/// A password that only breaks the length or class rule should not be told
/// it holds characters that cannot be used.
async fn a_weak_password_is_told_what_is_wrong(url: &str) {
    let c = clinic(url, true).await;
    let general = Browser::login(&c.srv.base, &c.a, "agen").await;
    let res = general
        .post(
            "/admin/password",
            &[
                ("current", fixtures::PASSWORD),
                ("new", "Abcdefgh1"),
                ("confirm", "Abcdefgh1"),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(
        !res.body.contains("使用できない文字が含まれています"),
        "Abcdefgh1 holds only allowed characters: {}",
        client::between(&res.body, "role=\"alert\"><p>", "</p>").unwrap_or("")
    );
}
mod weak_password_message {
    #[tokio::test]
    async fn sqlite() {
        let db = zaitaku_testkit::sqlite();
        super::a_weak_password_is_told_what_is_wrong(&db.url).await;
    }
    #[tokio::test]
    async fn postgres() {
        let url = zaitaku_testkit::postgres().await;
        super::a_weak_password_is_told_what_is_wrong(&url).await;
    }
}

/// Whether a QR code PNG (grey-scale, 4-module quiet zone) encodes `text`.
fn png_encodes(png_bytes: &[u8], text: &str) -> bool {
    use qrcode::{Color, EcLevel, QrCode};
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.width, info.height, "square");
    let side = info.width as usize;
    [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H]
        .into_iter()
        .any(|level| {
            let code = QrCode::with_error_correction_level(text.as_bytes(), level).unwrap();
            let n = code.width();
            if !side.is_multiple_of(n + 8) {
                return false;
            }
            let px = side / (n + 8);
            code.to_colors().iter().enumerate().all(|(i, c)| {
                let (x, y) = ((i % n + 4) * px + px / 2, (i / n + 4) * px + px / 2);
                (buf[y * info.line_size + x] < 128) == (*c == Color::Dark)
            })
        })
}

async fn rotating_the_url_stops_the_old_one_at_once(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let old = c.a.url_token.clone();
    let old_url = format!("{base}/w/{old}");
    let anyone = Browser::anonymous(base);
    let res = anyone.get(&format!("/w/{old}")).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("試験在宅クリニック"));

    // A general user sees the URL but cannot change it.
    let general = Browser::login(base, &c.a, "agen").await;
    let page = general.get("/admin/url").await;
    assert!(page.body.contains(&format!("value=\"{old_url}\"")));
    assert!(!page.body.contains("href=\"/admin/url/rotate\""));
    let res = general.post("/admin/url/rotate", &[]).await;
    assert_eq!(res.status, 403);
    assert!(res.shows_code("Z-W-0603"));
    assert_eq!(
        store.institution(c.a.id).await.unwrap().unwrap().url_token,
        old
    );
    assert_eq!(general.get("/admin/url/rotate").await.status, 403);

    let admin = Browser::login(base, &c.a, "aadmin").await;
    let png_before = admin.get("/admin/url/qr.png").await;
    assert!(png_encodes(&png_before.bytes, &old_url));
    let svg_before = admin.get("/admin/url/qr.svg").await;
    let confirm = admin.get("/admin/url/rotate").await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("URLを変更しますか"));
    let res = admin.post("/admin/url/rotate", &[]).await;
    assert_eq!(res.location, "/admin/url?rotated=1");

    // The old URL stops at once.
    let res = anyone.get(&format!("/w/{old}")).await;
    assert_eq!(res.status, 404);
    assert!(res.body.contains("このURLではご利用いただけません"));
    assert!(res.shows_code("Z-W-0410"));
    assert!(!res.body.contains("試験在宅クリニック"));
    // The new one is on the page and works.
    let page = admin.get("/admin/url?rotated=1").await;
    assert!(page.body.contains("新しいURLを発行しました。"));
    let new_url = client::between(&page.body, "id=\"institution-url\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let new = store.institution(c.a.id).await.unwrap().unwrap().url_token;
    assert_ne!(new, old);
    assert_eq!(new_url, format!("{base}/w/{new}"));
    let res = anyone.get(&format!("/w/{new}")).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("試験在宅クリニック"));

    // Downloads: the QR code of the new URL.
    let png = admin.get("/admin/url/qr.png").await;
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type"), "image/png");
    assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n");
    let disposition = png.header("content-disposition");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(disposition.contains(&format!("{}.png", code(&c.a))));
    assert!(
        png_encodes(&png.bytes, &new_url),
        "the PNG holds the new URL"
    );
    assert!(!png_encodes(&png.bytes, &old_url));
    let svg = admin.get("/admin/url/qr.svg").await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert!(svg.header("content-disposition").starts_with("attachment"));
    assert!(svg.header("content-disposition").contains(".svg"));
    assert!(svg.body.contains("<svg"));
    assert_ne!(svg.body, svg_before.body);
    // The poster: the institution's name and the new URL.
    let poster = admin.get("/admin/url/poster").await;
    assert_eq!(poster.status, 200);
    assert!(poster.body.contains("試験在宅クリニック"));
    assert!(poster.body.contains(&new_url) && !poster.body.contains(&old_url));
    // General users see the new URL too.
    assert!(general.get("/admin/url").await.body.contains(&new_url));
    let r = last(store, "institution.url_rotate").await;
    assert!(by(&r, &c.admin));
    assert_eq!(r.institution_id, Some(c.a.id));
}
on_both!(rotating_the_url_stops_the_old_one_at_once);

async fn settings_need_the_terms_and_an_item(url: &str) {
    let c = clinic(url, false).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let anyone = Browser::anonymous(base);
    let token = c.a.url_token.clone();
    assert_eq!(anyone.get(&format!("/w/{token}")).await.status, 404);
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let menu = admin.get("/admin").await;
    assert!(menu.body.contains("「利用しない」になっています"));
    let stored = || async { store.institution(c.a.id).await.unwrap().unwrap() };
    let before = stored().await;

    // Switching on without ticking the terms.
    let res = admin
        .post(
            "/admin/settings",
            &[("function", "on"), ("items", "clinical_and_drug")],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.shows_code("Z-W-0610"));
    assert!(
        res.body
            .contains("「利用規約を確認しました」にチェックを入れてください。")
    );
    // No consent item at all.
    let res = admin
        .post("/admin/settings", &[("function", "on"), ("terms", "1")])
        .await;
    assert_eq!(res.status, 422);
    assert!(res.shows_code("Z-W-0611"));
    assert_eq!(
        stored().await.institution,
        before.institution,
        "nothing saved"
    );
    assert_eq!(store.terms_acceptance(c.a.id).await.unwrap(), None);
    assert_eq!(anyone.get(&format!("/w/{token}")).await.status, 404);

    // With the terms: saved, and the web service opens.
    let res = admin
        .post(
            "/admin/settings",
            &[
                ("function", "on"),
                ("terms", "1"),
                ("eprescription", "1"),
                ("items", "clinical_and_drug"),
                ("items", "checkups"),
            ],
        )
        .await;
    assert_eq!(res.location, "/admin/settings?saved=1");
    let page = admin.get(&res.location).await;
    assert!(page.body.contains("環境設定情報を更新しました。"));
    assert!(page.body.contains("利用規約の確認："));
    assert!(page.body.contains("（試験 管理者）"));
    assert!(page.body.contains("value=\"checkups\" checked"));
    assert!(!page.body.contains("value=\"surgery\" checked"));
    let after = stored().await.institution;
    assert!(after.remote_function_enabled && after.eprescription);
    assert_eq!(
        after.consent_items,
        [
            zaitaku_domain::consent::ConsentItem::ClinicalAndDrug,
            zaitaku_domain::consent::ConsentItem::Checkups
        ]
    );
    assert!(store.terms_acceptance(c.a.id).await.unwrap().is_some());
    assert_eq!(anyone.get(&format!("/w/{token}")).await.status, 200);
    let r = last(store, "institution.settings").await;
    assert!(by(&r, &c.admin));
    assert!(r.detail.contains("\"terms_acknowledged\":true"));

    // A pharmacy (table digit 4) cannot offer e-prescription.
    let pharmacy =
        fixtures::institution(store, InstitutionKind::Pharmacy, 32, "試験薬局", false).await;
    assert_eq!(code(&pharmacy).as_bytes()[2], b'4');
    fixtures::account(store, Some(&pharmacy), "padmin", Role::Admin, "薬局 管理者").await;
    let ph = Browser::login(base, &pharmacy, "padmin").await;
    let page = ph.get("/admin/settings").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("name=\"eprescription\""), "not offered");
    let res = ph
        .post(
            "/admin/settings",
            &[
                ("function", "on"),
                ("terms", "1"),
                ("eprescription", "1"),
                ("items", "clinical_and_drug"),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.body
            .contains("電子処方箋は病院・診療所（医科・歯科）でのみ設定できます。")
    );
    assert!(res.shows_code("Z-V-0019"));
    let p = store.institution(pharmacy.id).await.unwrap().unwrap();
    assert!(!p.institution.eprescription && !p.institution.remote_function_enabled);
}
on_both!(settings_need_the_terms_and_an_item);

/// The registered origins as stored.
async fn origins_of(store: &Store, inst: &StoredInstitution) -> Vec<String> {
    store
        .institution(inst.id)
        .await
        .unwrap()
        .unwrap()
        .institution
        .partner_origins
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect()
}

async fn settings_register_partner_origins(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let token = c.a.url_token.clone();
    let anyone = Browser::anonymous(base);
    let from = |ret: &str| {
        format!(
            "/w/{token}?mode=online&return={}",
            ret.replace(':', "%3A").replace('/', "%2F")
        )
    };
    let offers_way_back = |ret: &'static str| {
        let path = from(ret);
        let anyone = &anyone;
        async move {
            let page = anyone.get(&path).await;
            assert_eq!(page.status, 200);
            page.body.contains("同意登録をせずに戻る")
        }
    };
    assert!(!offers_way_back("https://partner.example/visit/1").await);

    let admin = Browser::login(base, &c.a, "aadmin").await;
    let page = admin.get("/admin/settings").await;
    assert!(
        page.body
            .contains("オンライン診療サービスの戻り先（オリジン）")
    );
    assert!(page.body.contains("name=\"partner_origins\""));
    fn settings(origins: &str) -> [(&str, &str); 3] {
        [
            ("function", "on"),
            ("items", "clinical_and_drug"),
            ("partner_origins", origins),
        ]
    }

    // Saved normalised, repeats and blank lines dropped, in the order given.
    let res = admin
        .post(
            "/admin/settings",
            &settings(
                "https://partner.example\r\n HTTPS://Online.Example:443/ \r\n\r\nhttp://127.0.0.1:9000\r\nhttps://partner.example",
            ),
        )
        .await;
    assert_eq!(res.location, "/admin/settings?saved=1", "{}", res.summary());
    let saved = [
        "https://partner.example",
        "https://online.example",
        "http://127.0.0.1:9000",
    ];
    assert_eq!(origins_of(store, &c.a).await, saved);
    let page = admin.get(&res.location).await;
    assert!(
        page.body
            .contains(&format!(">{}</textarea>", saved.join("\n")))
    );
    let r = last(store, "institution.settings").await;
    assert!(by(&r, &c.admin));
    assert!(
        r.detail.contains(&format!(
            "\"partner_origins\":[\"{}\"]",
            saved.join("\",\"")
        )),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("\"partner_origins_before\":[]"));
    // The web service follows at once.
    assert!(offers_way_back("https://partner.example/visit/1").await);
    assert!(offers_way_back("https://online.example/r?id=2").await);
    assert!(!offers_way_back("https://partner.example.evil/visit/1").await);

    // Each refused line is named beside the field; nothing is saved.
    let entered = "https://partner.example\nhttp://evil.example\nhttps://partner.example/visit\nhttps://user@partner.example";
    let res = admin.post("/admin/settings", &settings(entered)).await;
    assert_eq!(res.status, 422);
    for (line, code) in [(2, "Z-V-0022"), (3, "Z-V-0023"), (4, "Z-V-0023")] {
        assert!(res.body.contains(&format!("{line}行目：")), "{}", res.body);
        assert!(res.shows_code(code));
    }
    assert!(res.body.contains(
        "オンライン診療サービスの戻り先「http://evil.example」は https:// で始めてください"
    ));
    assert!(res.body.contains("aria-invalid=\"true\""));
    assert!(
        res.body.contains(&format!(">{entered}</textarea>")),
        "kept as entered"
    );
    assert!(!res.body.contains("環境設定情報を更新しました。"));
    assert_eq!(origins_of(store, &c.a).await, saved);

    // At most ten.
    let eleven: String = (0..11).map(|i| format!("https://p{i}.example\n")).collect();
    let res = admin.post("/admin/settings", &settings(&eleven)).await;
    assert_eq!(res.status, 422);
    assert!(res.shows_code("Z-V-0024"));
    assert!(
        res.body
            .contains("オンライン診療サービスの戻り先は10件まで登録できます。")
    );
    assert_eq!(origins_of(store, &c.a).await, saved);

    // Another setting's error and a bad origin are shown together.
    let res = admin
        .post(
            "/admin/settings",
            &[
                ("function", "on"),
                ("partner_origins", "https://a.example/x"),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.shows_code("Z-W-0611") && res.shows_code("Z-V-0023"));

    // A form without the field leaves the origins as they are.
    let res = admin
        .post(
            "/admin/settings",
            &[("function", "on"), ("items", "clinical_and_drug")],
        )
        .await;
    assert_eq!(res.location, "/admin/settings?saved=1");
    assert_eq!(origins_of(store, &c.a).await, saved);

    // A general user may not change them (docs/permissions.md: manage_settings).
    let general = Browser::login(base, &c.a, "agen").await;
    let res = general
        .post("/admin/settings", &settings("https://evil.example"))
        .await;
    assert_eq!(res.status, 403);
    assert!(res.shows_code("Z-W-0603"));
    assert_eq!(origins_of(store, &c.a).await, saved);

    // Emptied: no partner gets a way back any more.
    let res = admin.post("/admin/settings", &settings("")).await;
    assert_eq!(res.location, "/admin/settings?saved=1");
    assert!(origins_of(store, &c.a).await.is_empty());
    assert!(!offers_way_back("https://partner.example/visit/1").await);
}
on_both!(settings_register_partner_origins);

/// The sequence numbers listed on an audit page.
fn listed_seqs(res: &Reply) -> Vec<i64> {
    assert_eq!(res.status, 200, "{}", res.summary());
    res.body
        .split("<tr><td data-label=\"番号\">")
        .skip(1)
        .filter_map(|s| s.split('<').next()?.parse().ok())
        .collect()
}

async fn audit_viewers_are_scoped_and_verify_the_chain(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let b =
        fixtures::institution(store, InstitutionKind::Medical, 33, "別院クリニック", true).await;
    fixtures::account(store, Some(&b), "badmin", Role::Admin, "別院 管理者").await;
    fixtures::person(
        store,
        77,
        "別院 患者",
        fixtures::birth(),
        &fixtures::Records::default(),
    )
    .await;
    fixtures::consent(
        store,
        &b,
        77,
        fixtures::Consent::register(CareKind::HomeVisit, fixtures::days_ago(1)),
    )
    .await;
    // Some activity at each institution.
    let b_admin = Browser::login(base, &b, "badmin").await;
    assert_eq!(b_admin.get("/admin/patients/77").await.status, 200);
    assert_eq!(attempt(&c, "badmin", WRONG).await.status, 401);
    let admin = Browser::login(base, &c.a, "aadmin").await;
    assert_eq!(admin.get("/admin/patients").await.status, 200);
    let operator = Browser::operator_login(base, "op01").await;

    let all = store.audit_records(None, 500).await.unwrap();
    let of = |inst: Option<i64>| -> Vec<i64> {
        all.iter()
            .filter(|r| r.institution_id == inst)
            .map(|r| r.seq)
            .collect()
    };
    let (a_seqs, b_seqs, none_seqs) = (of(Some(c.a.id)), of(Some(b.id)), of(None));
    assert!(!b_seqs.is_empty() && !none_seqs.is_empty());

    // The institution sees its own records only.
    let res = admin.get("/admin/audit").await;
    let shown = listed_seqs(&res);
    assert!(
        a_seqs.iter().all(|s| shown.contains(s)),
        "{shown:?} {a_seqs:?}"
    );
    for seq in &shown {
        let r = all.iter().find(|r| r.seq == *seq);
        assert!(
            r.is_none_or(|r| r.institution_id == Some(c.a.id)),
            "record {seq} is not A's"
        );
    }
    assert!(!res.body.contains("badmin") && !res.body.contains("別院"));
    for category in ["account.", "patient", "access."] {
        let res = admin
            .get(&format!("/admin/audit?category={category}"))
            .await;
        assert!(listed_seqs(&res).iter().all(|s| !b_seqs.contains(s)));
    }
    // The operator sees the whole platform.
    let res = operator.get("/operator/audit").await;
    let shown = listed_seqs(&res);
    for seqs in [&a_seqs, &b_seqs, &none_seqs] {
        assert!(seqs.iter().all(|s| shown.contains(s)), "{shown:?} {seqs:?}");
    }
    assert!(res.body.contains("badmin") && res.body.contains("aadmin"));
    // Only the operator verifies.
    let res = admin.post("/operator/audit/verify", &[]).await;
    assert_eq!(res.location, "/operator/login");

    let res = operator.post("/operator/audit/verify", &[]).await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert!(res.body.contains("監査ログの連鎖は正常です。"));
    assert_eq!(last(store, "audit.verify").await.outcome, "intact");

    // Someone edits a record directly in the database.
    fixtures::tamper(store, "UPDATE audit_log SET outcome = 'x' WHERE seq = 3").await;
    let res = operator.post("/operator/audit/verify", &[]).await;
    assert_eq!(res.status, 200);
    assert!(
        res.body
            .contains("監査ログの連鎖が番号 3 で途切れています。"),
        "{}",
        client::between(&res.body, "role=\"status\"><p>", "</p>").unwrap_or("")
    );
    let r = last(store, "audit.verify").await;
    assert_eq!(r.outcome, "broken");
    assert!(r.detail.contains("\"first_broken\":3"));
}
on_both!(audit_viewers_are_scoped_and_verify_the_chain);

/// The form of アカウント管理（登録）.
fn new_account<'a>(role: &'a str, user_id: &'a str, start: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("role", role),
        ("user_id", user_id),
        ("name", "新規 利用者"),
        ("name_kana", "シンキ　リヨウシャ"),
        ("start_date", start),
    ]
}

async fn registering_an_account_shows_its_password_once(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let today = fixtures::today().format("%Y-%m-%d").to_string();
    let tomorrow = (fixtures::today() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();

    let res = admin
        .post(
            "/admin/accounts/new",
            &new_account("medical_viewer", "view02", &today),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert_eq!(res.header("cache-control"), "no-store");
    let temporary = client::unescape(
        client::between(&res.body, "id=\"temp-password\">", "</dd>").expect("shown"),
    );
    let created = store
        .account_for_login(code(&c.a), "view02")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(created.role, Role::MedicalViewer);
    assert!(created.must_change_password);
    let r = last(store, "account.create").await;
    assert!(by(&r, &c.admin) && about(&r, &created));
    assert!(!r.detail.contains(&temporary));
    let (_, res) = Browser::try_login(base, code(&c.a), "view02", &temporary)
        .await
        .unwrap_or_else(|r| panic!("{}", r.summary()));
    assert_eq!(res.location, "/admin/password");

    // Refusals keep what was typed and store nothing.
    let cases = [
        (new_account("medical_viewer", "view02", &today), "Z-W-0622"),
        (new_account("operator", "op02", &today), "Z-W-0620"),
        (new_account("root", "root01", &today), "Z-W-0620"),
        (new_account("general", "a", &today), "Z-V-0008"),
        (new_account("general", "gen03", "2026/04/01"), "Z-W-0621"),
    ];
    let before = store.accounts_of(c.a.id).await.unwrap().len();
    for (form, code) in &cases {
        let res = admin.post("/admin/accounts/new", form).await;
        assert_eq!(res.status, 422, "{form:?}: {}", res.summary());
        assert!(res.shows_code(code), "{form:?}: {}", res.summary());
        assert!(!res.body.contains("id=\"temp-password\""));
    }
    assert_eq!(store.accounts_of(c.a.id).await.unwrap().len(), before);
    assert!(store.operator_for_login("op02").await.unwrap().is_none());

    // An account whose first day is tomorrow cannot log in yet.
    let res = admin
        .post(
            "/admin/accounts/new",
            &new_account("general", "gen04", &tomorrow),
        )
        .await;
    let temporary = client::unescape(
        client::between(&res.body, "id=\"temp-password\">", "</dd>").expect("shown"),
    );
    let res = attempt(&c, "gen04", &temporary).await;
    assert_eq!(res.status, 401);
    assert!(res.body.contains(fixtures::LOGIN_FAILED));
}
on_both!(registering_an_account_shows_its_password_once);

async fn the_operator_registers_an_institution(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let operator = Browser::operator_login(base, "op01").await;
    let new_code =
        InstitutionCode::build(Prefecture::new(27).unwrap(), InstitutionKind::Dental, 2, 45)
            .unwrap();
    let form = |code: &str, eprescription: &'static str| {
        vec![
            ("code", code.to_owned()),
            ("name", "新規歯科医院".to_owned()),
            ("eprescription", eprescription.to_owned()),
            ("admin_user_id", "dadmin".to_owned()),
            ("admin_name", "歯科 管理者".to_owned()),
            ("admin_kana", "シカ　カンリシャ".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let operator = operator.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            operator.post("/operator/institutions/new", &f).await
        }
    };
    let res = post(form(new_code.as_str(), "1")).await;
    assert_eq!(res.status, 200, "{}", res.summary());
    assert_eq!(res.header("cache-control"), "no-store");
    let temporary = client::unescape(
        client::between(&res.body, "class=\"mono temp-password\">", "</dd>").expect("shown"),
    );
    let stored = store
        .institution_by_code(&new_code)
        .await
        .unwrap()
        .expect("registered");
    assert!(stored.institution.eprescription);
    assert!(
        !stored.institution.remote_function_enabled,
        "off until its administrator agrees"
    );
    let r = last(store, "institution.create").await;
    assert!(by(&r, &c.operator));
    assert_eq!(r.institution_id, Some(stored.id));
    // Its administrator logs in with the code and must choose a password.
    let (_, res) = Browser::try_login(base, new_code.as_str(), "dadmin", &temporary)
        .await
        .unwrap_or_else(|r| panic!("{}", r.summary()));
    assert_eq!(res.location, "/admin/password");
    let list = operator.get("/operator").await;
    assert!(list.body.contains("新規歯科医院") && list.body.contains("dadmin"));

    // The same code again; a pharmacy offering e-prescription; a bad check digit.
    let res = post(form(new_code.as_str(), "0")).await;
    assert_eq!(res.status, 422);
    assert!(res.shows_code("Z-W-0650"));
    let pharmacy = InstitutionCode::build(
        Prefecture::new(27).unwrap(),
        InstitutionKind::Pharmacy,
        2,
        46,
    )
    .unwrap();
    let res = post(form(pharmacy.as_str(), "1")).await;
    assert_eq!(res.status, 422);
    assert!(res.shows_code("Z-V-0019"));
    assert!(
        store
            .institution_by_code(&pharmacy)
            .await
            .unwrap()
            .is_none()
    );
    let mut bad = pharmacy.as_str().to_owned();
    let last_digit = bad.pop().unwrap();
    bad.push(if last_digit == '0' { '1' } else { '0' });
    let res = post(form(&bad, "0")).await;
    assert_eq!(res.status, 422, "{}", res.summary());
    assert_eq!(store.list_institutions().await.unwrap().len(), 2);
}
on_both!(the_operator_registers_an_institution);

/// Pages, styles and scripts are compressed for a browser that asks.
async fn responses_are_compressed_when_asked(url: &str) {
    let (base, _, _) = start(url).await;
    for (path, encoding) in [
        ("/admin/login", "br"),
        ("/admin/login", "gzip"),
        ("/static/app.css", "gzip"),
        ("/static/admin.js", "br"),
    ] {
        let res = client()
            .get(format!("{base}{path}"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-encoding"], encoding, "{path}");
    }
    let plain = client()
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.text().await.unwrap().contains("ログイン"));
}
on_both!(responses_are_compressed_when_asked);

// ------------------------------------------------------------------ devices

/// The device cookie a registration answers with (`zt_device=…`).
fn device_cookie(res: &Reply) -> String {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("zt_device="))
        .unwrap_or_else(|| panic!("no device cookie: {}", res.summary()))
}

/// Registers the browser of `admin` as a device; returns its `Set-Cookie`.
async fn register_device(admin: &Browser, memo: &str) -> String {
    let res = admin.post("/admin/devices", &[("memo", memo)]).await;
    assert_eq!(
        (res.status, res.location.as_str()),
        (303, "/admin/devices?done=registered"),
        "{}",
        res.summary()
    );
    device_cookie(&res)
}

async fn devices_are_registered_listed_and_revoked(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let admin = Browser::login(base, &c.a, "aadmin").await;

    // A long-lived, HttpOnly cookie sent to the web service as well.
    let set = register_device(&admin, "訪問用タブレット1号機").await;
    for part in ["HttpOnly", "SameSite=Lax", "Path=/;", "Max-Age=34560000"] {
        assert!(set.contains(part), "{set}");
    }
    let token = set.split(';').next().unwrap().to_owned();
    let devices = store.devices_of(c.a.id).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].memo, "訪問用タブレット1号機");
    assert_eq!(devices[0].registered_by.as_deref(), Some("試験 管理者"));
    // Only a hash of the token is stored.
    let value = token.split_once('=').unwrap().1;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM devices")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|h| h != value && h.len() == 64));
    let r = last(store, "device.register").await;
    assert!(by(&r, &c.admin) && r.detail.contains("訪問用タブレット1号機"));

    // From that browser the page says so, and registering again is refused.
    let here = admin.with_cookie(&format!("{}; {token}", admin.cookie.clone().unwrap()));
    let page = here.get("/admin/devices").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("この端末は医療機関等の端末として登録されています。")
    );
    assert!(page.body.contains(">この端末</span>"));
    assert!(
        page.header("set-cookie").contains("Max-Age=34560000"),
        "opening the page renews the cookie"
    );
    let again = here.post("/admin/devices", &[("memo", "二重登録")]).await;
    assert_eq!(again.status, 422, "{}", again.summary());
    assert!(again.shows_code("Z-W-0660"));
    assert_eq!(store.devices_of(c.a.id).await.unwrap().len(), 1);
    // Another browser is not this device.
    let page = admin.get("/admin/devices").await;
    assert!(
        page.body
            .contains("この端末（いま使っているブラウザ）は登録されていません。")
    );
    assert!(!page.body.contains(">この端末</span>"));
    // The memo is required and at most 50 characters.
    for memo in ["", "　", &"長".repeat(51)] {
        let res = admin.post("/admin/devices", &[("memo", memo)]).await;
        assert_eq!(res.status, 422, "{memo:?}: {}", res.summary());
        assert!(res.header("set-cookie").is_empty());
    }

    // 登録解除 from the device itself forgets its cookie; again changes nothing.
    let id = devices[0].id;
    let res = here.post(&format!("/admin/devices/{id}/revoke"), &[]).await;
    assert_eq!(res.location, "/admin/devices?done=revoked");
    assert!(res.header("set-cookie").starts_with("zt_device=;"));
    assert!(
        !store
            .device_of(c.a.id, id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    let page = admin.get("/admin/devices?done=revoked").await;
    assert!(page.body.contains("登録解除（"), "{}", page.body);
    let res = admin
        .post(&format!("/admin/devices/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(
        last(store, "device.revoke").await.outcome,
        "already_revoked"
    );

    // A general user sees neither the page nor the menu entry.
    let general = Browser::login(base, &c.a, "agen").await;
    assert_eq!(general.get("/admin/devices").await.status, 403);
    assert_eq!(
        general
            .post("/admin/devices", &[("memo", "x")])
            .await
            .status,
        403
    );
    assert!(!general.get("/admin").await.body.contains("/admin/devices"));
}
on_both!(devices_are_registered_listed_and_revoked);

/// Which photo-ID flag each way of registering leaves, through the web
/// service as patients and staff use it (seed 002: a registration not made
/// in front of staff needs a photo-ID check afterwards).
async fn the_photo_id_flag_follows_where_the_visit_ran(url: &str) {
    use zaitaku_domain::photo_id::PhotoIdReason;
    use zaitaku_testkit::client::{Visitor, card_on_the_patients_phone};
    use zaitaku_testkit::fixtures::{insured_person, wallet_card};
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    let b =
        fixtures::institution(store, InstitutionKind::Medical, 33, "別院クリニック", true).await;
    fixtures::account(store, Some(&b), "badmin", Role::Admin, "別院 管理者").await;
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let ours = register_device(&admin, "訪問用タブレット").await;
    let revoked = register_device(&admin, "紛失した端末").await;
    let revoked_id = store.devices_of(c.a.id).await.unwrap()[0].id;
    assert_eq!(
        admin
            .post(&format!("/admin/devices/{revoked_id}/revoke"), &[])
            .await
            .status,
        303
    );
    let b_admin = Browser::login(base, &b, "badmin").await;
    let theirs = register_device(&b_admin, "別院の端末").await;

    let t = c.a.url_token.clone();
    let day = (fixtures::today() + Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    /// One way of registering and the flag it must leave.
    struct Case<'a> {
        person: i64,
        /// The device cookie the visit's browser holds.
        device: Option<&'a str>,
        online: bool,
        /// The card is read on the patient's phone through the QR code.
        qr: bool,
        expected: Option<PhotoIdReason>,
    }
    let case = |person, device, online, qr, expected| Case {
        person,
        device,
        online,
        qr,
        expected,
    };
    let cases = [
        case(501, Some(ours.as_str()), false, false, None),
        case(502, None, false, false, Some(PhotoIdReason::OwnDevice)),
        case(
            503,
            Some(&theirs),
            false,
            false,
            Some(PhotoIdReason::OwnDevice),
        ),
        case(
            504,
            Some(&revoked),
            false,
            false,
            Some(PhotoIdReason::OwnDevice),
        ),
        case(505, Some(&ours), true, false, Some(PhotoIdReason::Online)),
        case(
            506,
            Some(&ours),
            false,
            true,
            Some(PhotoIdReason::CrossDevice),
        ),
    ];
    for Case {
        person,
        device,
        online,
        qr,
        expected,
    } in cases
    {
        insured_person(
            store,
            person,
            &format!("試験 患者{person}"),
            "シケン　カンジャ",
            fixtures::birth(),
        )
        .await;
        let card = wallet_card(&c.srv.state, person).await;
        let mut visit = Visitor::new(base);
        if let Some(set) = device {
            visit.keep(set);
        }
        let start = if online {
            format!("/w/{t}?mode=online&return=https://partner.example/v/{person}&date={day}")
        } else {
            format!("/w/{t}")
        };
        let request = visit
            .register_until_card(&start, &t, if online { &day } else { "" })
            .await;
        let done = if qr {
            card_on_the_patients_phone(&mut visit, &request, card).await
        } else {
            visit.card_here(&request, card).await
        };
        assert!(
            done.body.contains("画面番号：B-03"),
            "{person}: {} {}",
            done.url,
            done.body
        );
        let consent = store.latest_consent(c.a.id, person).await.unwrap().unwrap();
        assert_eq!(consent.photo_id_reason, expected, "person {person}");
    }
    // The device in use was seen; the revoked one was not.
    let devices = store.devices_of(c.a.id).await.unwrap();
    let used = devices
        .iter()
        .find(|d| d.memo == "訪問用タブレット")
        .unwrap();
    assert!(used.last_seen_at.is_some());
    assert!(
        devices
            .iter()
            .find(|d| d.id == revoked_id)
            .unwrap()
            .last_seen_at
            .is_none()
    );

    // The list and the patient page show the flag and why.
    let list = admin.get("/admin/patients").await;
    let row = |person: i64| {
        let at = list
            .body
            .find(&format!("href=\"/admin/patients/{person}\""))
            .unwrap_or_else(|| panic!("{person} not listed"));
        let rest = &list.body[at..];
        rest[..rest.find("</tr>").unwrap()].to_owned()
    };
    assert!(!row(501).contains("要確認"), "{}", row(501));
    assert!(row(502).contains("要確認") && row(502).contains("患者ご自身の端末"));
    assert!(row(503).contains("患者ご自身の端末"));
    assert!(row(504).contains("患者ご自身の端末"));
    assert!(row(505).contains("オンライン診療等"));
    assert!(row(506).contains("二次元コードで患者のスマートフォン"));
    let page = admin.get("/admin/patients/506").await;
    assert!(page.body.contains(
        "医療機関等の端末以外で同意登録されています（二次元コードで患者のスマートフォン）"
    ));
    assert!(
        page.body
            .contains("二次元コードで患者のスマートフォン（要本人確認）")
    );
    let page = admin.get("/admin/patients/501").await;
    assert!(page.body.contains("確認が必要な登録はありません。"));
    // Only the flagged ones are offered for a check.
    let only = admin.get("/admin/patients?photo=1").await;
    assert!(!only.body.contains("href=\"/admin/patients/501\""));
    assert!(only.body.contains("href=\"/admin/patients/502\""));
    // The menu reminds of as many patients as that list shows.
    let flagged: std::collections::BTreeSet<&str> = only
        .body
        .split("href=\"/admin/patients/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| id.parse::<i64>().is_ok())
        .collect();
    assert!(flagged.len() >= 4, "{flagged:?}");
    let menu = admin.get("/admin").await;
    assert!(
        menu.body.contains(&format!(
            "本人確認が済んでいない方が {} 人います。",
            flagged.len()
        )),
        "{}",
        menu.summary()
    );
}
on_both!(the_photo_id_flag_follows_where_the_visit_ran);

// ------------------------------------------------- menu, refusals, audit log

/// The group headings of a page's menu, in order.
fn menu_groups(body: &str) -> Vec<String> {
    body.split("class=\"admin-menu__title\"")
        .skip(1)
        .chain(body.split("<div class=\"menu-group\">\n    <h2").skip(1))
        .filter_map(|s| Some(s.split('>').nth(1)?.split('<').next()?.to_owned()))
        .collect()
}

async fn the_menu_is_grouped_as_in_seed_002(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let admin = Browser::login(base, &c.a, "aadmin").await;
    let menu = admin.get("/admin").await;
    assert_eq!(
        menu_groups(&menu.body),
        [
            "環境設定情報管理",
            "マイナ在宅受付web管理",
            "マイナ資格確認アプリ管理",
            "アカウント情報管理",
            "監査ログ管理"
        ]
    );
    // The group of pages that do not exist yet is not offered.
    assert!(!menu.body.contains("緊急時医療情報・資格確認機能"));
    // Each page under its group, in the menu page's one navigation.
    let group = |name: &str| {
        let at = menu.body.find(&format!(">{name}</h2>")).unwrap();
        let rest = &menu.body[at..];
        rest[..rest.find("</ul>").unwrap()].to_owned()
    };
    assert!(group("環境設定情報管理").contains("href=\"/admin/settings\""));
    assert!(group("環境設定情報管理").contains("href=\"/admin/oqs-links\""));
    assert!(group("マイナ資格確認アプリ管理").contains("href=\"/admin/app\""));
    for href in ["/admin/patients", "/admin/url", "/admin/devices"] {
        assert!(group("マイナ在宅受付web管理").contains(&format!("href=\"{href}\"")));
    }
    assert!(group("アカウント情報管理").contains("href=\"/admin/accounts\""));
    assert!(group("アカウント情報管理").contains("href=\"/admin/password\""));
    assert!(group("監査ログ管理").contains("href=\"/admin/audit\""));
    assert_eq!(menu.body.matches("<nav").count(), 1, "one navigation");

    // Every other page has the grouped menu and the way back to the menu.
    let page = admin.get("/admin/url").await;
    assert_eq!(
        menu_groups(&page.body),
        [
            "環境設定情報管理",
            "マイナ在宅受付web管理",
            "マイナ資格確認アプリ管理",
            "アカウント情報管理",
            "監査ログ管理"
        ]
    );
    assert!(page.body.contains("<a href=\"/admin\">メニューに戻る</a>"));
    assert!(
        page.body
            .contains("<a href=\"/admin/url\" aria-current=\"page\">")
    );

    // A general user: only the groups with a page of theirs.
    let general = Browser::login(base, &c.a, "agen").await;
    let menu = general.get("/admin").await;
    assert_eq!(
        menu_groups(&menu.body),
        ["マイナ在宅受付web管理", "アカウント情報管理"]
    );
    assert!(!menu.body.contains("/admin/settings") && !menu.body.contains("/admin/devices"));
}
on_both!(the_menu_is_grouped_as_in_seed_002);

async fn refusals_keep_the_menu_logout_and_a_way_back(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let general = Browser::login(base, &c.a, "agen").await;
    let res = general.get("/admin/settings").await;
    assert_eq!(res.status, 403);
    assert!(res.shows_code("Z-W-0603"));
    assert!(res.body.contains("画面番号：K-E-01"), "its own number");
    assert!(!res.body.contains("E-03"), "not the web service's number");
    assert!(res.body.contains("action=\"/admin/logout\""), "logout");
    assert!(
        res.body.contains("href=\"/admin\">メニューに戻る"),
        "a way back"
    );
    assert!(
        res.body.contains("href=\"/admin/patients\""),
        "the role's menu"
    );
    assert!(!res.body.contains("href=\"/admin/settings\""));
    // An ID that is not the institution's, and a stale form.
    let res = general.get("/admin/patients/424242").await;
    assert_eq!(res.status, 404);
    assert!(res.body.contains("画面番号：K-E-02"));
    assert!(
        res.body
            .contains("href=\"/admin/patients\">同意取得済み患者一覧に戻る")
    );
    let res = general
        .post_raw(
            "/admin/patients/424242/reference",
            &[("csrf", "stale"), ("reference", "1")],
        )
        .await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("画面番号：K-E-03") && res.shows_code("Z-W-0604"));
    // The operator's refusal leads back to the operator's menu.
    let operator = Browser::operator_login(base, "op01").await;
    let res = operator
        .post_raw("/operator/audit/verify", &[("csrf", "x")])
        .await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("action=\"/operator/logout\""));
    assert!(res.body.contains("href=\"/operator\">メニューに戻る"));
}
on_both!(refusals_keep_the_menu_logout_and_a_way_back);

/// The rows of an audit page: the text of each cell, by its label.
fn audit_rows(body: &str) -> Vec<BTreeMap<String, String>> {
    body.split("<tr><td data-label=")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap_or(row.len())];
            format!("<td data-label={row}")
                .split("<td data-label=\"")
                .skip(1)
                .map(|cell| {
                    let (label, rest) = cell.split_once("\">").unwrap();
                    let text: String = rest
                        .split('<')
                        .map(|s| s.split_once('>').map_or(s, |(_, t)| t))
                        .collect();
                    (label.to_owned(), client::unescape(text.trim()))
                })
                .collect()
        })
        .collect()
}

async fn the_audit_log_reads_in_japanese_filters_and_exports(url: &str) {
    let c = clinic(url, true).await;
    let base = &c.srv.base;
    let store = &c.srv.store;
    fixtures::person(
        store,
        71,
        "監査 花子",
        fixtures::birth(),
        &fixtures::Records::default(),
    )
    .await;
    fixtures::person(
        store,
        72,
        "監査 次郎",
        fixtures::birth(),
        &fixtures::Records::default(),
    )
    .await;
    for id in [71, 72] {
        fixtures::consent(
            store,
            &c.a,
            id,
            fixtures::Consent::register(CareKind::HomeVisit, fixtures::days_ago(1)),
        )
        .await;
    }
    assert_eq!(attempt(&c, "aadmin", WRONG).await.status, 401);
    let general = Browser::login(base, &c.a, "agen").await;
    assert_eq!(general.get("/admin/patients/72").await.status, 200);
    let admin = Browser::login(base, &c.a, "aadmin").await;
    assert_eq!(admin.get("/admin/patients/71").await.status, 200);
    assert_eq!(general.get("/admin/settings").await.status, 403);

    let page = admin.get("/admin/audit").await;
    assert_eq!(page.status, 200, "{}", page.summary());
    let rows = audit_rows(&page.body);
    let cell = |r: &BTreeMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
    // Japanese events and outcomes; the account that acted by name.
    assert!(rows.iter().any(|r| cell(r, "操作") == "ログイン"
        && cell(r, "結果") == "失敗（パスワード誤り）"
        && cell(r, "操作者") == "試験 管理者（aadmin）"));
    assert!(rows.iter().any(|r| cell(r, "操作") == "患者情報の表示"
        && cell(r, "操作者") == "試験 一般（agen）"
        && cell(r, "患者") == "監査 次郎"));
    assert!(
        rows.iter()
            .any(|r| cell(r, "操作") == "権限のない操作・該当なし"
                && cell(r, "結果") == "拒否（権限なし）"
                && cell(r, "詳細") == "必要な権限：環境設定情報更新")
    );
    for r in &rows {
        for raw in ["ok", "refused", "role", "staff", "operator"] {
            assert_ne!(cell(r, "結果"), raw);
            assert_ne!(cell(r, "操作者"), raw);
        }
        assert!(!cell(r, "詳細").contains('{'), "no JSON: {r:?}");
    }
    // The patient is named and linked to the patient page, not numbered.
    assert!(
        page.body
            .contains("<a href=\"/admin/patients/71\">監査 花子</a>")
    );
    assert!(
        rows.iter()
            .all(|r| cell(r, "患者") != "71" && cell(r, "患者") != "72")
    );

    // Filters: account, patient, event type, period.
    let rows = audit_rows(&admin.get("/admin/audit?account=agen").await.body);
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| cell(r, "操作者") == "試験 一般（agen）"),
        "{rows:?}"
    );
    let rows = audit_rows(&admin.get("/admin/audit?patient=花子").await.body);
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| cell(r, "患者") == "監査 花子"),
        "{rows:?}"
    );
    let rows = audit_rows(&admin.get("/admin/audit?category=patient.view").await.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let rows = audit_rows(&admin.get("/admin/audit?category=account.").await.body);
    assert!(
        rows.iter()
            .all(|r| ["ログイン", "ログアウト"].contains(&cell(r, "操作").as_str()))
    );
    let tomorrow = (fixtures::today() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let res = admin.get(&format!("/admin/audit?from={tomorrow}")).await;
    assert!(audit_rows(&res.body).is_empty());
    let res = admin.get("/admin/audit?from=2026-13-01").await;
    assert_eq!(res.status, 422);
    let res = admin.get("/admin/audit?patient=存在しない人").await;
    assert_eq!(res.status, 422);
    assert!(audit_rows(&res.body).is_empty());

    // CSV: UTF-8 with a BOM for Excel, the same filter, the export recorded.
    let csv = admin.get("/admin/audit.csv?account=agen").await;
    assert_eq!(csv.status, 200, "{}", csv.summary());
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        csv.header("content-disposition")
            .starts_with("attachment; filename=\"audit-")
    );
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let text = csv.body.trim_start_matches('\u{feff}');
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next().unwrap(),
        "\"番号\",\"日時\",\"操作者\",\"操作\",\"結果\",\"患者\",\"詳細\""
    );
    let data: Vec<&str> = lines.collect();
    assert!(!data.is_empty());
    assert!(
        data.iter().all(|l| l.contains("\"試験 一般（agen）\"")),
        "{data:?}"
    );
    assert!(text.contains("\"監査 次郎\""));
    let export = last(store, "audit.export").await;
    assert!(by(&export, &c.admin), "{}", export.detail);
    assert!(export.detail.contains(&format!("\"count\":{}", data.len())));
    assert!(export.detail.contains("\"filter_account\":\"agen\""));
    // Only those who may read the log may export it.
    let res = general.get("/admin/audit.csv").await;
    assert_eq!(res.status, 403);
    assert!(!res.body.contains("\"番号\""));
    fixtures::account(store, Some(&c.a), "aview", Role::MedicalViewer, "試験 閲覧").await;
    let viewer = Browser::login(base, &c.a, "aview").await;
    assert_eq!(viewer.get("/admin/audit.csv").await.status, 403);
    assert_eq!(
        Browser::anonymous(base)
            .get("/admin/audit.csv")
            .await
            .location,
        "/admin/login"
    );
    // The operator exports the platform's log, with the institution named
    // and no patient.
    let operator = Browser::operator_login(base, "op01").await;
    let csv = operator
        .get("/operator/audit.csv?category=audit.export")
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.contains("\"医療機関等\""));
    assert!(csv.body.contains("試験在宅クリニック（"));
    assert!(!csv.body.contains("\"患者\""));
    assert_eq!(
        admin.get("/operator/audit.csv").await.location,
        "/operator/login"
    );
}
on_both!(the_audit_log_reads_in_japanese_filters_and_exports);
