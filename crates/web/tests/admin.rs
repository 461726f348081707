//! The administrator's login on SQLite and PostgreSQL: success, answers that
//! reveal nothing, the lockout after five wrong passwords, logout.

use chrono::{NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{NewAccount, Store};
use zaitaku_testkit::on_both;
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
    assert!(locked.text().await.unwrap().contains("30分間ロック"));
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
