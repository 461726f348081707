//! マイナ資格確認アプリ (`/app`): an administrator issues an activation code,
//! a nurse's browser activates with it, chooses a passcode, opens with it,
//! is asked for the ID and password after five wrong ones, changes its
//! settings, logs out and deregisters — with every refusal on the way, on
//! SQLite and PostgreSQL.

use zaitaku_domain::account::Role;
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_storage::{Store, StoredInstitution};
use zaitaku_testkit::client::{Browser, Visitor, between};
use zaitaku_testkit::fixtures::{self, PASSWORD, WRONG};
use zaitaku_testkit::on_both;
use zaitaku_testkit::server;

fn code_of(inst: &StoredInstitution) -> &str {
    inst.institution.code.as_str()
}

/// 《発行》 on アクティベーションコード管理: the twelve digits shown once.
async fn issue(admin: &Browser, memo: &str) -> String {
    let page = admin.post("/admin/app", &[("memo", memo)]).await;
    assert_eq!(page.status, 200, "{}", page.summary());
    assert!(page.body.contains("アクティベーションコードを発行しました"));
    assert!(
        page.body
            .contains("発行されたアクティベーションコードは10分程度経過してから利用してください")
    );
    let code = between(
        &page.body,
        "<p class=\"activation-code\" aria-label=\"アクティベーションコード ",
        "\"",
    )
    .unwrap()
    .to_owned();
    assert_eq!(code.len(), 12);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    code
}

/// Lets every code of the institution open now (the test does not wait
/// ten minutes).
async fn open_codes(store: &Store, inst: &StoredInstitution) {
    sqlx::query("UPDATE activation_codes SET usable_from = 0 WHERE institution_id = $1")
        .bind(inst.id)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn activate(
    app: &mut Visitor,
    inst: &str,
    user: &str,
    password: &str,
    code: &str,
) -> zaitaku_testkit::client::Landed {
    app.post(
        "/app/register",
        &[
            ("institution_code", inst),
            ("user_id", user),
            ("password", password),
            ("code", code),
        ],
    )
    .await
}

async fn audit_outcomes(store: &Store, action: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT outcome FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

async fn a_nurse_activates_opens_and_deregisters(url: &str) {
    let srv = server::start(url).await;
    let store = &srv.store;
    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        41,
        "試験訪問クリニック",
        true,
    )
    .await;
    let b = fixtures::institution(store, InstitutionKind::Medical, 42, "別の試験医院", true).await;
    fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&a), "nurse1", Role::General, "訪問 看子").await;
    fixtures::account(store, Some(&b), "nurse1", Role::General, "別院 看子").await;
    let admin = Browser::login(&srv.base, &a, "aadmin").await;

    // The menu offers the page; a code is issued for a memo, shown once.
    let menu = admin.get("/admin").await;
    assert!(menu.body.contains("アクティベーションコード管理"));
    let empty = admin.post("/admin/app", &[("memo", "  ")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.shows_code("Z-V-0001"));
    let code = issue(&admin, "訪問用iPad 1号機").await;
    let listed = admin.get("/admin/app").await;
    assert!(listed.body.contains("訪問用iPad 1号機") && listed.body.contains("未使用"));
    assert!(!listed.body.contains(&code), "the code is shown only once");
    assert_eq!(audit_outcomes(store, "app.code_issue").await, ["ok"]);

    // Installable, with an offline screen the service worker keeps.
    let mut app = Visitor::new(&srv.base);
    let manifest = app.get("/app/manifest.webmanifest").await;
    assert!(
        manifest.body.contains("\"start_url\": \"/app\"") && manifest.body.contains("standalone")
    );
    let worker = app.get("/app/sw.js").await;
    assert!(worker.body.contains("/app/offline"));
    let offline = app.get("/app/offline").await;
    assert!(offline.body.contains("通信できません") && offline.body.contains("Z-P-0090"));

    // 利用規約 → 初期登録.
    let terms = app.get("/app").await;
    assert!(terms.body.contains("A-01-W") && terms.body.contains("同意して利用開始"));
    let form = app.get("/app/register").await;
    assert!(form.body.contains("A-02-W") && form.body.contains("半角数字12桁"));

    // Each refusal says why, and nothing is activated.
    let inst = code_of(&a);
    let cases = [
        (inst, "nurse1", PASSWORD, "1234-5678-9012", "Z-V-0002"),
        (inst, "nurse1", WRONG, code.as_str(), "Z-P-0001"),
        (inst, "aadmin", PASSWORD, code.as_str(), "Z-P-0003"),
        (inst, "nurse1", PASSWORD, code.as_str(), "Z-P-0004"),
    ];
    for (inst, user, password, code, expected) in cases {
        let page = activate(&mut app, inst, user, password, code).await;
        assert_eq!(page.status, 422, "{expected}");
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    assert!(
        activate(&mut app, inst, "nurse1", PASSWORD, &code)
            .await
            .body
            .contains("一度もオンライン資格確認等システムにログインしていないため")
    );
    // Seed 002: the account logs in to the administration once first.
    Browser::login(&srv.base, &a, "nurse1").await;
    let waiting = activate(&mut app, inst, "nurse1", PASSWORD, &code).await;
    assert!(waiting.body.contains("Z-P-0006"), "{}", waiting.body);
    open_codes(store, &a).await;
    // The same account ID at another institution does not know this code.
    Browser::login(&srv.base, &b, "nurse1").await;
    let other = activate(&mut app, code_of(&b), "nurse1", PASSWORD, &code).await;
    assert!(other.body.contains("Z-P-0005"));
    assert!(store.devices_of(a.id).await.unwrap().is_empty());

    // Activated: the device cookie is long-lived, HttpOnly and /app only.
    let done = activate(&mut app, inst, "nurse1", PASSWORD, &format!(" {code} ")).await;
    assert!(done.url.ends_with("/app/registered"), "{}", done.url);
    assert!(done.body.contains("初期登録が完了しました") && done.body.contains("訪問用iPad 1号機"));
    let devices = store.devices_of(a.id).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].registered_by.as_deref(), Some("訪問 看子"));
    let used = admin.get("/admin/app").await;
    assert!(used.body.contains("使用済み") && used.body.contains("利用中"));
    assert!(
        store.devices_of(a.id).await.unwrap()[0]
            .last_seen_at
            .is_some(),
        "最終利用"
    );

    // The code opens no second device.
    let mut second = Visitor::new(&srv.base);
    let again = activate(&mut second, inst, "nurse1", PASSWORD, &code).await;
    assert!(again.body.contains("Z-P-0008"));

    // Before the passcode is chosen, nothing else opens.
    let home = app.get("/app/home").await;
    assert!(home.url.ends_with("/app/passcode"), "{}", home.url);
    for (first, again, expected) in [("1234", "4321", "Z-P-0013"), ("12a4", "12a4", "Z-V-0002")] {
        let page = app
            .post("/app/passcode", &[("first", first), ("again", again)])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains(expected), "{expected}");
    }
    let notices = app
        .post("/app/passcode", &[("first", "2580"), ("again", "2580")])
        .await;
    assert!(
        notices.url.ends_with("/app/notices?done=passcode"),
        "{}",
        notices.url
    );
    assert!(notices.body.contains("B-01-W") && notices.body.contains("パスコードを登録しました。"));
    assert!(notices.body.contains("お知らせはありません。"));
    let home = app.post("/app/notices", &[]).await;
    assert!(home.body.contains("C-01-W"));
    assert!(
        home.body.contains("マイナンバーカード（目視）"),
        "目視 after activation"
    );

    // The next start (a new browser session) asks for the passcode.
    app.jar.remove("zt_app_session");
    let login = app.get("/app").await;
    assert!(login.body.contains("A-05-W"));
    let wrong = app.post("/app/login", &[("passcode", "0000")]).await;
    assert!(wrong.body.contains("Z-P-0010") && wrong.body.contains("あと4回"));
    let right = app.post("/app/login", &[("passcode", "2580")]).await;
    assert!(
        right.url.ends_with("/app/home"),
        "a right one resets the count"
    );
    app.jar.remove("zt_app_session");
    for left in (1..=4).rev() {
        let page = app.post("/app/login", &[("passcode", "1111")]).await;
        assert!(page.body.contains(&format!("あと{left}回")), "{left}");
    }
    let spent = app.post("/app/login", &[("passcode", "1111")]).await;
    assert!(spent.body.contains("Z-P-0011") && spent.body.contains("A-06-W"));
    let still = app.get("/app").await;
    assert!(
        still.body.contains("A-06-W"),
        "the right passcode no longer opens it"
    );
    // Only the device's own account signs in again.
    let admin_id = app
        .post(
            "/app/signin",
            &[("user_id", "aadmin"), ("password", PASSWORD)],
        )
        .await;
    assert!(admin_id.body.contains("Z-P-0012"));
    let back = app
        .post(
            "/app/signin",
            &[("user_id", "nurse1"), ("password", PASSWORD)],
        )
        .await;
    assert!(back.url.ends_with("/app/passcode"));
    app.post("/app/passcode", &[("first", "1357"), ("again", "1357")])
        .await;

    // セキュリティ設定 opens with the passcode; 目視確認 switches off.
    let lock = app.get("/app/security").await;
    assert!(lock.body.contains("S-01-W"));
    let wrong = app.post("/app/security", &[("passcode", "2580")]).await;
    assert!(wrong.body.contains("Z-P-0010"));
    let settings = app.post("/app/security", &[("passcode", "1357")]).await;
    assert!(settings.body.contains("S-02-W") && settings.body.contains("aria-checked=\"true\""));
    let off = app.post("/app/security/visual-check", &[("on", "0")]).await;
    assert!(off.body.contains("目視確認で本人認証をオフにしました。"));
    assert!(
        app.get("/app/home")
            .await
            .body
            .contains("マイナンバーカード（暗証番号）")
    );
    // アカウントパスワード設定: the rules of seed 001, and the new password
    // is the account's everywhere.
    let page = app.get("/app/security/password").await;
    assert!(page.body.contains("S-06-W"));
    let new_password = "Houmon#2027";
    for (current, new, confirm, code) in [
        (WRONG, new_password, new_password, "Z-P-0014"),
        (PASSWORD, "short", "short", "Z-V-0020"),
        (PASSWORD, new_password, "Houmon#2028", "Z-P-0014"),
    ] {
        let refused = app
            .post(
                "/app/security/password",
                &[("current", current), ("new", new), ("confirm", confirm)],
            )
            .await;
        assert!(refused.body.contains(code), "{code}: {}", refused.body);
    }
    let changed = app
        .post(
            "/app/security/password",
            &[
                ("current", PASSWORD),
                ("new", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert!(changed.body.contains("パスワードを変更しました。"));
    assert!(
        Browser::try_login(&srv.base, inst, "nurse1", new_password)
            .await
            .is_ok()
    );
    assert!(
        app.get("/app/home").await.body.contains("C-01-W"),
        "this session goes on"
    );
    // ログインパスコード設定.
    let wrong = app
        .post(
            "/app/security/passcode",
            &[("current", "0000"), ("first", "1470"), ("again", "1470")],
        )
        .await;
    assert!(wrong.body.contains("Z-P-0010"));
    let changed = app
        .post(
            "/app/security/passcode",
            &[("current", "1357"), ("first", "1470"), ("again", "1470")],
        )
        .await;
    assert!(changed.body.contains("パスコードを変更しました。"));

    // A form without this session's token changes nothing.
    let forged = app
        .post_raw("/app/security/visual-check", &[("on", "1")])
        .await;
    assert!(forged.url.ends_with("/app/home"));
    assert!(
        app.get("/app/home")
            .await
            .body
            .contains("マイナンバーカード（暗証番号）")
    );

    // ログアウト asks first; afterwards the ID and password are asked.
    let confirm = app.post("/app/security/logout", &[]).await;
    assert!(confirm.body.contains("S-03-W") && confirm.body.contains("ログアウトする"));
    let out = app.post("/app/security/logout", &[("confirm", "1")]).await;
    assert!(out.body.contains("A-06-W"), "{}", out.url);
    app.post(
        "/app/signin",
        &[("user_id", "nurse1"), ("password", new_password)],
    )
    .await;
    app.post("/app/passcode", &[("first", "2468"), ("again", "2468")])
        .await;

    // Settings stay shut until the passcode is given again.
    let shut = app.post("/app/security/deregister", &[]).await;
    assert!(shut.body.contains("S-01-W"), "{}", shut.url);
    app.post("/app/security", &[("passcode", "2468")]).await;

    // デバイス登録解除 from the app: revoked at once.
    let confirm = app.post("/app/security/deregister", &[]).await;
    assert!(confirm.body.contains("S-04-W"));
    let gone = app
        .post("/app/security/deregister", &[("confirm", "1")])
        .await;
    assert!(gone.body.contains("デバイスの登録を解除しました。") && gone.body.contains("S-05-W"));
    assert!(
        store.devices_of(a.id).await.unwrap()[0]
            .revoked_at
            .is_some()
    );
    assert!(app.get("/app/home").await.body.contains("A-01-W"));

    for (action, outcome) in [
        ("app.activate", "ok"),
        ("app.activate", "never_logged_in"),
        ("app.activate", "used"),
        ("app.login", "wrong_passcode"),
        ("app.login", "passcode_spent"),
        ("app.logout", "ok"),
        ("device.revoke", "ok"),
    ] {
        assert!(
            audit_outcomes(store, action)
                .await
                .iter()
                .any(|o| o == outcome),
            "{action} {outcome}"
        );
    }
}
on_both!(a_nurse_activates_opens_and_deregisters);

async fn the_administrator_revokes_a_device_and_the_lock_is_shared(url: &str) {
    let srv = server::start(url).await;
    let store = &srv.store;
    let a = fixtures::institution(store, InstitutionKind::Medical, 43, "試験在宅医院", true).await;
    fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&a), "viewer", Role::MedicalViewer, "閲覧 一郎").await;
    let admin = Browser::login(&srv.base, &a, "aadmin").await;
    Browser::login(&srv.base, &a, "viewer").await;
    let code = issue(&admin, "訪問車載PC").await;
    open_codes(store, &a).await;
    let mut app = Visitor::new(&srv.base);
    activate(&mut app, code_of(&a), "viewer", PASSWORD, &code).await;
    app.get("/app/passcode").await;
    app.post("/app/passcode", &[("first", "9753"), ("again", "9753")])
        .await;
    assert!(app.get("/app/home").await.body.contains("C-01-W"));

    // 登録解除 on the administration's page: the app is shut out at once.
    let id = store.devices_of(a.id).await.unwrap()[0].id;
    let res = admin
        .post(&format!("/admin/devices/{id}/revoke"), &[("back", "app")])
        .await;
    assert_eq!(res.location, "/admin/app?done=revoked");
    let shut = app.get("/app/home").await;
    assert!(
        shut.body
            .contains("この端末のデバイス登録は解除されています。"),
        "{}",
        shut.body
    );

    // Five wrong passwords in the app lock the account for the
    // administration too.
    let code = issue(&admin, "訪問車載PC 2").await;
    open_codes(store, &a).await;
    let mut other = Visitor::new(&srv.base);
    for _ in 0..5 {
        activate(&mut other, code_of(&a), "viewer", WRONG, &code).await;
    }
    let locked = activate(&mut other, code_of(&a), "viewer", PASSWORD, &code).await;
    assert!(locked.body.contains("Z-P-0002"), "{}", locked.body);
    assert!(
        Browser::try_login(&srv.base, code_of(&a), "viewer", PASSWORD)
            .await
            .is_err()
    );
}
on_both!(the_administrator_revokes_a_device_and_the_lock_is_shared);

// ------------------------------------------------------------------ checks

/// A clinic with an activated app (passcode 2580) and a population to check.
struct Checking {
    srv: server::Server,
    a: StoredInstitution,
    app: Visitor,
    people: Vec<zaitaku_synth::SyntheticRecord>,
}

async fn checking(url: &str) -> Checking {
    let srv = server::start(url).await;
    let store = &srv.store;
    let people = fixtures::population(store, 11, fixtures::today(), 3000).await;
    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        44,
        "試験確認クリニック",
        true,
    )
    .await;
    fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&a), "nurse1", Role::General, "訪問 看子").await;
    let admin = Browser::login(&srv.base, &a, "aadmin").await;
    Browser::login(&srv.base, &a, "nurse1").await;
    let code = issue(&admin, "訪問用iPad").await;
    open_codes(store, &a).await;
    let mut app = Visitor::new(&srv.base);
    activate(&mut app, code_of(&a), "nurse1", PASSWORD, &code).await;
    app.get("/app/passcode").await;
    app.post("/app/passcode", &[("first", "2580"), ("again", "2580")])
        .await;
    srv.state
        .identity
        .ensure_authorities(chrono::Utc::now())
        .await
        .unwrap();
    Checking {
        srv,
        a,
        app,
        people,
    }
}

impl Checking {
    fn person(&self, f: impl Fn(&zaitaku_domain::eligibility::Eligibility) -> bool) -> i64 {
        let today = fixtures::today();
        self.people
            .iter()
            .map(|r| &r.eligibility)
            .find(|e| f(e) && zaitaku_domain::person::age_on(e.person.birth_date, today) < 70)
            .map(|e| e.person.id)
            .expect("the population has this case")
    }

    async fn card(&self, person: i64, kind: zaitaku_identity::CardKind) -> i64 {
        self.srv
            .state
            .identity
            .issue_card(
                &zaitaku_identity::IssueCard {
                    person_id: person,
                    kind,
                    pin: (kind != zaitaku_identity::CardKind::IPhone).then(|| "1234".into()),
                    issued_on: fixtures::today() - chrono::Duration::days(20),
                    authority_id: None,
                    in_demo_wallet: true,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .id
    }

    /// 認証方法選択 → the method → OK: the reader page.
    async fn start(&mut self, method: &str, disease: bool) -> zaitaku_testkit::client::Landed {
        let query = format!(
            "/app/check?method={method}{}",
            if disease { "&disease=1" } else { "" }
        );
        let confirm = self.app.get(&query).await;
        assert!(confirm.body.contains("C-02-W"), "{}", confirm.body);
        let mut form = vec![("method", method)];
        if disease {
            form.push(("disease", "1"));
        }
        let read = self.app.post("/app/check", &form).await;
        assert!(read.body.contains("C-04-02-W"), "{}", read.body);
        read
    }

    /// A signed read: the card component's request id from the reader page.
    fn request_of(read: &zaitaku_testkit::client::Landed) -> String {
        let url = between(&read.body, "href=\"/auth/authorize?", "\"").unwrap();
        url.to_owned()
    }

    async fn signed(
        &mut self,
        method: &str,
        card: i64,
        secret: &[(&str, &str)],
        disease: bool,
    ) -> zaitaku_testkit::client::Landed {
        let read = self.start(method, disease).await;
        self.read_on_the_card(&read, card, secret).await
    }

    /// 読み取り開始 on the reader page `read`: the card and its secret in the
    /// card component, then back to the app.
    async fn read_on_the_card(
        &mut self,
        read: &zaitaku_testkit::client::Landed,
        card: i64,
        secret: &[(&str, &str)],
    ) -> zaitaku_testkit::client::Landed {
        let query = zaitaku_testkit::client::unescape(&Self::request_of(read));
        let at = self.app.get(&format!("/auth/authorize?{query}")).await;
        let request = at
            .url
            .split("/auth/r/")
            .nth(1)
            .unwrap()
            .split(['/', '?'])
            .next()
            .unwrap()
            .to_owned();
        self.app.card_back_to(&request, card, secret, "/app/").await
    }

    async fn visual(&mut self, card: i64) -> zaitaku_testkit::client::Landed {
        let read = self.start("visual", false).await;
        assert!(read.body.contains("仮想カードリーダー"));
        self.app
            .post("/app/check/read", &[("card", &card.to_string())])
            .await
    }
}

async fn checks_by_each_method_keep_what_was_shown(url: &str) {
    use zaitaku_domain::codes::QualificationValidity as V;
    use zaitaku_identity::CardKind;
    let mut c = checking(url).await;
    let today = fixtures::today();
    let valid = |e: &zaitaku_domain::eligibility::Eligibility| {
        e.person.insurance_use_registered && e.resolve(today).validity == V::Valid
    };
    let insured = c.person(|e| {
        valid(e)
            && !e
                .resolve(today)
                .qualification
                .unwrap()
                .is_medical_assistance()
            && !e.is_preschool(today)
    });
    let assistance = c.person(|e| {
        valid(e)
            && e.resolve(today)
                .qualification
                .unwrap()
                .is_medical_assistance()
    });
    let preschool = c.person(|e| {
        valid(e)
            && e.is_preschool(today)
            && !e
                .resolve(today)
                .qualification
                .unwrap()
                .is_medical_assistance()
    });
    let invalid =
        c.person(|e| e.person.insurance_use_registered && e.resolve(today).validity == V::Invalid);
    let unregistered = c.person(|e| !e.person.insurance_use_registered);
    let diseased = c.person(|e| valid(e) && e.specific_diseases_on(today).next().is_some());

    // 目視 (the default after activation): the certificate alone.
    let visual_card = c.card(insured, CardKind::Physical).await;
    let done = c.visual(visual_card).await;
    assert!(
        done.body.contains("C-04-03-W") && done.body.contains("読み取り完了"),
        "{}",
        done.body
    );
    let result = c.app.get("/app/result").await;
    assert!(result.body.contains("C-04-01-W") && result.body.contains("医療保険"));
    assert!(
        result.body.contains("<dt>照会番号</dt><dd></dd>"),
        "blank 照会番号"
    );
    assert!(result.body.contains("保険者番号"));
    assert!(
        result.body.contains("照会番号\t\n確認日\t"),
        "the copy text"
    );
    // 閉じる: the result is not shown again without the card.
    c.app.post("/app/result/close", &[]).await;
    assert!(c.app.get("/app/result").await.url.ends_with("/app/home"));
    // PIN is not offered while 目視 is on.
    let refused = c.app.post("/app/check", &[("method", "pin")]).await;
    assert!(refused.body.contains("Z-P-0020"));

    // 医療扶助, 未就学 and an ended qualification, read by 目視.
    for (person, expected) in [
        (
            assistance,
            "医療扶助の対象者です。必要な提出書類等により、資格確認を行ってください",
        ),
        (preschool, "義務教育就学前"),
        (invalid, "この資格は無効です"),
    ] {
        let card = c.card(person, CardKind::Physical).await;
        c.visual(card).await;
        let r = c.app.get("/app/result").await;
        assert!(r.body.contains(expected), "{expected}: {}", r.body);
    }

    // Smartphones are offered whatever the setting: iPhone by biometrics,
    // Android by its PIN; 特定疾病 only when the patient agreed.
    let iphone = c.card(diseased, CardKind::IPhone).await;
    let back = c
        .signed("iphone", iphone, &[("biometric", "1")], true)
        .await;
    assert!(back.body.contains("C-04-03-W"), "{}", back.body);
    assert!(
        c.app
            .get("/app/result")
            .await
            .body
            .contains("特定疾病療養受療証")
    );
    let android = c.card(diseased, CardKind::Android).await;
    c.signed("android", android, &[("pin", "1234")], false)
        .await;
    assert!(
        !c.app
            .get("/app/result")
            .await
            .body
            .contains("特定疾病療養受療証")
    );
    // A physical card read on the iPhone path is not what was chosen.
    let wrong = c
        .signed("iphone", visual_card, &[("pin", "1234")], false)
        .await;
    assert!(wrong.body.contains("Z-P-0024"), "{}", wrong.body);
    // 保険証未登録 on a smartphone: the seed's dialog.
    let phone = c.card(unregistered, CardKind::Android).await;
    let dialog = c.signed("android", phone, &[("pin", "1234")], false).await;
    assert!(dialog.body.contains("保険証未登録") && dialog.body.contains("E-C-04-02-A-6002"));
    assert!(
        dialog
            .body
            .contains("患者ご自身のスマートフォンでマイナポータルへアクセスし")
    );

    // With 目視 off, the physical card by its PIN (on the card component).
    c.app.post("/app/security", &[("passcode", "2580")]).await;
    c.app
        .post("/app/security/visual-check", &[("on", "0")])
        .await;
    let pin_card = c.card(insured, CardKind::Physical).await;
    let back = c.signed("pin", pin_card, &[("pin", "1234")], false).await;
    assert!(back.body.contains("C-04-03-W"));
    // The way back cannot be replayed.
    let replay = c.app.get("/app/check/callback?state=x&code=y").await;
    assert!(replay.body.contains("Z-P-0021") || replay.body.contains("Z-P-0022"));

    // Every check is kept and audited with the device and method.
    let kept: Vec<(String, i64)> = sqlx::query_as(
        "SELECT method, valid FROM app_checks WHERE institution_id = $1 ORDER BY id",
    )
    .bind(c.a.id)
    .fetch_all(c.srv.store.pool())
    .await
    .unwrap();
    let methods: Vec<&str> = kept.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        [
            "visual", "visual", "visual", "visual", "iphone", "android", "pin"
        ]
    );
    assert_eq!(kept[3].1, 0, "the ended qualification is 資格無効");
    let outcomes = audit_outcomes(&c.srv.store, "app.check").await;
    for o in ["ok", "not_offered", "wrong_card_kind", "not_registered"] {
        assert!(outcomes.iter().any(|x| x == o), "{o}: {outcomes:?}");
    }
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'app.check' AND outcome = 'ok' ORDER BY seq LIMIT 1",
    )
    .fetch_one(c.srv.store.pool())
    .await
    .unwrap();
    assert!(
        detail.contains("\"device\"")
            && detail.contains("\"visual\"")
            && detail.contains("visual_check")
    );
}
on_both!(checks_by_each_method_keep_what_was_shown);

// ------------------------------------------------------------------ search

/// The query of the pager link with this accessible name.
fn link_labelled<'a>(body: &'a str, label: &str) -> &'a str {
    let end = body
        .find(&format!("\" aria-label=\"{label}\""))
        .unwrap_or_else(|| panic!("no {label}"));
    let start = body[..end].rfind("href=\"/app/search?").unwrap() + "href=\"/app/search?".len();
    &body[start..end]
}

async fn the_search_lists_pages_and_shows_a_past_result_as_it_was(url: &str) {
    use zaitaku_identity::CardKind;
    let mut c = checking(url).await;
    let today = fixtures::today();
    let person = c.person(|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == zaitaku_domain::codes::QualificationValidity::Valid
    });
    let card = c.card(person, CardKind::Physical).await;
    c.visual(card).await;
    let shown = c.app.get("/app/result").await.body;
    let store = &c.srv.store;
    let device: i64 = sqlx::query_scalar("SELECT id FROM devices WHERE kind = 'app'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    // 24 more results of this device over the last days, and 5 of another
    // device of the institution, and one older than the 1st of last month.
    let result: String = sqlx::query_scalar("SELECT result FROM app_checks")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let other = store
        .register_device(
            c.a.id,
            zaitaku_storage::DeviceKind::App,
            "other-token",
            "別のiPad",
            1,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let mut rows = Vec::new();
    for i in 1..=24 {
        rows.push((
            device,
            now - chrono::Duration::hours(i * 20),
            format!("検索 {i:02}"),
        ));
    }
    for i in 1..=5 {
        rows.push((
            other.id,
            now - chrono::Duration::hours(i),
            format!("別端末 {i}"),
        ));
    }
    rows.push((
        device,
        now - chrono::Duration::days(70),
        "古い 結果".to_owned(),
    ));
    for (dev, at, name) in rows {
        let kept = zaitaku_storage::NewAppCheck {
            institution_id: c.a.id,
            device_id: dev,
            account_id: 1,
            person_id: person,
            method: "visual",
            checked_at: at,
            day: zaitaku_service::jst_day(at),
            name: &name,
            valid: true,
            result: &result,
        };
        store
            .write(vec![zaitaku_storage::Write::keep_app_check(&kept)])
            .await
            .unwrap()
            .unwrap();
    }

    // Behind セキュリティ設定.
    let locked = c.app.get("/app/search").await;
    assert!(locked.body.contains("S-01-W"));
    let settings = c.app.post("/app/security", &[("passcode", "2580")]).await;
    assert!(settings.body.contains("資格確認結果検索"));
    let first = c.app.get("/app/search").await;
    assert!(first.body.contains("D-10-W"), "{}", first.body);
    // The last 30 days of this device: the check and those of the last 20
    // hours × 24 within the window; newest first, ten a page.
    let in_window = 1 + (1..=24).filter(|i| i * 20 < 30 * 24).count();
    assert!(
        first.body.contains(&format!("{in_window}件")),
        "{}",
        first.body
    );
    assert!(first.body.contains("1 / 3 ページ"));
    assert!(!first.body.contains("別端末") && !first.body.contains("古い"));
    for label in ["次のページ", "最後のページ"] {
        assert!(
            first.body.contains(&format!("aria-label=\"{label}\"")),
            "{label}"
        );
    }
    let last = c.app.get("/app/search?this=1&last=1").await;
    assert!(
        last.body.contains("3 / 3 ページ") && last.body.contains("aria-label=\"最初のページ\""),
        "{}",
        last.body
    );
    // The last page holds what is left after whole pages: the oldest.
    let rows_on = |b: &str| b.matches("<td><a href=\"/app/search/").count();
    assert_eq!(rows_on(&last.body), in_window - 20);
    // 次のページ from the first page, then 前のページ back to it.
    let next = link_labelled(&first.body, "次のページ");
    let second = c
        .app
        .get(&format!(
            "/app/search?{}",
            zaitaku_testkit::client::unescape(next)
        ))
        .await;
    assert!(second.body.contains("2 / 3 ページ"), "{}", second.body);
    assert_eq!(rows_on(&second.body), 10);
    let prev = link_labelled(&second.body, "前のページ");
    let back = c
        .app
        .get(&format!(
            "/app/search?{}",
            zaitaku_testkit::client::unescape(prev)
        ))
        .await;
    assert!(back.body.contains("1 / 3 ページ"));
    let names = |b: &str| -> Vec<String> {
        b.split("<td>")
            .skip(1)
            .map(|x| x.chars().take(40).collect())
            .collect()
    };
    assert_eq!(names(&back.body), names(&first.body), "the same page again");
    // Every device of the institution: the box unchecked.
    let all = c.app.get("/app/search?set=1&page=1").await;
    assert!(all.body.contains("別端末 1") && all.body.contains("機関内のすべての端末"));
    // A period outside 前月1日〜本日 is refused with the rule.
    let early = c.app.get("/app/search?set=1&this=1&from=2000-01-01").await;
    assert!(early.body.contains("Z-V-0025"));
    // A row opens the result as it was shown, not a new inquiry.
    let id: i64 = sqlx::query_scalar("SELECT MIN(id) FROM app_checks")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let again = c.app.get(&format!("/app/search/{id}?this=1&page=1")).await;
    let table = |b: &str| {
        between(b, "<h2 class=\"result-heading\">", "</dl>")
            .unwrap()
            .to_owned()
    };
    assert_eq!(table(&again.body), table(&shown));
    assert!(
        again.body.contains("href=\"/app/search?"),
        "閉じる goes back to the list"
    );
    let outcomes = audit_outcomes(store, "app.result_read").await;
    assert_eq!(outcomes, ["ok"]);
    assert_eq!(audit_outcomes(store, "app.search").await.len(), 6);
    // Another institution's result is not found.
    let b = fixtures::institution(store, InstitutionKind::Medical, 45, "別の確認医院", true).await;
    sqlx::query("UPDATE app_checks SET institution_id = $1 WHERE id = $2")
        .bind(b.id)
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
    let gone = c.app.get(&format!("/app/search/{id}")).await;
    assert!(gone.url.contains("/app/search") && gone.body.contains("D-10-W"));
    assert!(
        audit_outcomes(store, "app.result_read")
            .await
            .contains(&"not_found".to_owned())
    );

    // Kept for 100 days, then purged by the hourly upkeep.
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM app_checks WHERE name = '古い 結果'")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    zaitaku_service::upkeep::purge(store, now).await.unwrap();
    assert_eq!(count().await, 1);
    zaitaku_service::upkeep::purge(store, now + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(count().await, 0);
}
on_both!(the_search_lists_pages_and_shows_a_past_result_as_it_was);

// ------------------------------------------------------------------ consent at home

async fn consent_taken_at_home_is_registered_with_the_check(url: &str) {
    use zaitaku_domain::codes::QualificationValidity as V;
    use zaitaku_identity::CardKind;
    let mut c = checking(url).await;
    let today = fixtures::today();
    let person = c.person(|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == V::Valid
            && !e
                .resolve(today)
                .qualification
                .unwrap()
                .is_medical_assistance()
    });
    let invalid =
        c.person(|e| e.person.insurance_use_registered && e.resolve(today).validity == V::Invalid);
    let card = c.card(person, CardKind::Physical).await;

    let home = c.app.get("/app/home").await;
    assert!(home.body.contains("同意登録を始める"));
    let h01 = c.app.get("/app/consent").await;
    assert!(
        h01.body.contains("H-01-W") && h01.body.contains("目視"),
        "{}",
        h01.body
    );
    let items: Vec<String> =
        c.a.institution
            .consent_items
            .iter()
            .map(|i| format!("item_{}", i.as_str()))
            .collect();
    assert!(
        items
            .iter()
            .all(|f| h01.body.contains(&format!("name=\"{f}\"")))
    );
    // Nothing chosen: the page again with the rule.
    let missing = c.app.post("/app/consent", &[("method", "visual")]).await;
    assert_eq!(missing.status, 422);
    assert!(missing.body.contains("Z-V-0017"));
    let mut form: Vec<(&str, &str)> = items.iter().map(|f| (f.as_str(), "agree")).collect();
    form.push(("method", "visual"));
    if c.a.institution.asks_prescription_form() {
        form.push(("prescription_form", "2"));
    }
    let h02 = c.app.post("/app/consent", &form).await;
    assert!(
        h02.body.contains("H-02-W") && h02.body.contains("同意する"),
        "{}",
        h02.body
    );
    let read = c.app.post("/app/consent/confirm", &form).await;
    assert!(read.body.contains("C-04-02-W") && read.body.contains("仮想カードリーダー"));
    let done = c
        .app
        .post("/app/check/read", &[("card", &card.to_string())])
        .await;
    assert!(done.body.contains("C-04-03-W"));
    let result = c.app.get("/app/result").await;
    assert!(result.body.contains("同意登録が完了しました。") && result.body.contains("C-04-01-W"));

    let store = &c.srv.store;
    let (channel, by): (String, String) = sqlx::query_as(
        "SELECT channel, recorded_by FROM consents WHERE institution_id = $1 AND person_id = $2",
    )
    .bind(c.a.id)
    .bind(person)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((channel.as_str(), by.as_str()), ("app", "patient"));
    // In the administration's list like a web-service consent.
    let admin = Browser::login(&c.srv.base, &c.a, "aadmin").await;
    let list = admin.get("/admin/patients").await;
    let name = store
        .eligibility(person)
        .await
        .unwrap()
        .unwrap()
        .person
        .name;
    assert!(list.body.contains(&name), "{}", list.body);

    // An ended qualification: no consent, the reason shown and audited.
    let gone = c.card(invalid, CardKind::Physical).await;
    c.app.post("/app/consent/confirm", &form).await;
    let refused = c
        .app
        .post("/app/check/read", &[("card", &gone.to_string())])
        .await;
    assert!(refused.body.contains("Z-W-0451"), "{}", refused.body);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consents WHERE person_id = $1")
        .bind(invalid)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert!(
        audit_outcomes(store, "app.check")
            .await
            .contains(&"consent_refused".to_owned())
    );
    assert!(
        audit_outcomes(store, "consent.write")
            .await
            .contains(&"ok".to_owned())
    );
}
on_both!(consent_taken_at_home_is_registered_with_the_check);

// ------------------------------------------------------------------ notices

async fn the_operators_notices_show_once_unread_and_always_from_the_menu(url: &str) {
    let mut c = checking(url).await;
    let store = &c.srv.store;
    fixtures::account(store, None, "op01", Role::Operator, "運用 担当").await;
    let operator = Browser::operator_login(&c.srv.base, "op01").await;
    let page = operator.get("/operator/notices").await;
    assert_eq!(page.status, 200, "{}", page.summary());
    let today = fixtures::today();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let refused = operator
        .post(
            "/operator/notices",
            &[
                ("title", "保守"),
                ("body", "本文"),
                ("link", "http://example.jp"),
                ("from", &day(today)),
            ],
        )
        .await;
    assert!(refused.body.contains("Z-V-0008"));
    for (title, from, until) in [
        ("保守のお知らせ", day(today), String::new()),
        (
            "来週のお知らせ",
            day(today + chrono::Duration::days(7)),
            String::new(),
        ),
        (
            "終わったお知らせ",
            day(today - chrono::Duration::days(9)),
            day(today - chrono::Duration::days(2)),
        ),
    ] {
        let res = operator
            .post(
                "/operator/notices",
                &[
                    ("title", title),
                    ("body", "12月20日は利用できません。\n再開後に通知します。"),
                    ("link", "https://example.jp/n"),
                    ("from", &from),
                    ("until", &until),
                ],
            )
            .await;
        assert_eq!(
            res.location,
            "/operator/notices?done=posted",
            "{}",
            res.summary()
        );
    }
    let list = operator.get("/operator/notices").await;
    for state in ["掲載中", "掲載前", "掲載終了"] {
        assert!(list.body.contains(state), "{state}");
    }
    // An administrator may not post.
    let admin = Browser::login(&c.srv.base, &c.a, "aadmin").await;
    assert_eq!(admin.get("/operator/notices").await.status, 303);

    // The next start lists the unread one; closing marks it read.
    c.app.jar.remove("zt_app_session");
    let login = c.app.post("/app/login", &[("passcode", "2580")]).await;
    assert!(login.url.ends_with("/app/notices"), "{}", login.url);
    assert!(login.body.contains("保守のお知らせ") && !login.body.contains("来週のお知らせ"));
    assert!(!login.body.contains("終わったお知らせ"));
    assert!(login.body.contains("href=\"https://example.jp/n\""));
    c.app.post("/app/notices", &[]).await;
    c.app.jar.remove("zt_app_session");
    let again = c.app.post("/app/login", &[("passcode", "2580")]).await;
    assert!(again.url.ends_with("/app/home"), "read: {}", again.url);
    // From the menu, every notice in force.
    let menu = c.app.get("/app/notices?all=1").await;
    assert!(menu.body.contains("保守のお知らせ"));
}
on_both!(the_operators_notices_show_once_unread_and_always_from_the_menu);

// ------------------------------------------------------------------ 健康保険証利用登録

async fn an_unregistered_card_is_registered_in_the_app(url: &str) {
    use zaitaku_identity::CardKind;
    let mut c = checking(url).await;
    let today = fixtures::today();
    let person = c.person(|e| {
        !e.person.insurance_use_registered
            && e.resolve(today).validity == zaitaku_domain::codes::QualificationValidity::Valid
    });
    let card = c.card(person, CardKind::Physical).await;
    let store = &c.srv.store.clone();

    // 目視: the card is found unregistered; the app offers registration.
    let found = c.visual(card).await;
    assert!(
        found.body.contains("R-01-W") && found.body.contains("健康保険証利用登録する"),
        "{}",
        found.body
    );
    let terms = c.app.get("/app/insurance/terms").await;
    assert!(terms.body.contains("R-02-W") && terms.body.contains("同意する"));
    let read = c.app.post("/app/insurance", &[]).await;
    assert!(read.body.contains("C-04-02-W") && read.body.contains("暗証番号"));
    let done = c.read_on_the_card(&read, card, &[("pin", "1234")]).await;
    assert!(
        done.body.contains("R-03-W") && done.body.contains("保険証利用登録が完了しました"),
        "{}",
        done.body
    );
    assert!(done.body.contains("資格確認する"));

    // Before it comes into force (a minute): being processed.
    let early = c.visual(card).await;
    assert!(
        early.body.contains("Z-C-0107") && early.body.contains("処理中"),
        "{}",
        early.body
    );
    // The card was read well: not 「カードを確認できませんでした」.
    assert!(
        early
            .body
            .contains("<h1 id=\"refused-title\">健康保険証利用登録の処理中</h1>"),
        "{}",
        early.body
    );
    // Then the check goes through and the registry says so.
    fixtures::tamper(store, "UPDATE insurance_registrations SET effective_at = 0").await;
    let later = c.visual(card).await;
    assert!(later.body.contains("C-04-03-W"), "{}", later.body);
    assert!(
        store
            .eligibility(person)
            .await
            .unwrap()
            .unwrap()
            .person
            .insurance_use_registered
    );
    let outcomes = audit_outcomes(store, "insurance.register").await;
    assert_eq!(outcomes, ["ok"]);

    // A registration read that fails (a smartphone on the physical card's
    // path) says so with the seed's advice.
    let phone = c.card(person, CardKind::IPhone).await;
    let read = c.app.post("/app/insurance", &[]).await;
    let failed = c
        .read_on_the_card(&read, phone, &[("biometric", "1")])
        .await;
    assert!(
        failed.body.contains("健康保険証利用登録に失敗しました"),
        "{}",
        failed.body
    );
    assert!(
        failed
            .body
            .contains("同じマイナンバーカードを使用して、再度健康保険証利用登録を行ってください。")
    );
    assert!(
        audit_outcomes(store, "insurance.register")
            .await
            .contains(&"failed".to_owned())
    );
}
on_both!(an_unregistered_card_is_registered_in_the_app);

// ------------------------------------------------------------------ passkeys (refusals; the ceremony is in staff_app_e2e)

async fn passkey_requests_are_refused_without_the_app_or_a_passkey(url: &str) {
    let mut c = checking(url).await;
    let base = c.srv.base.clone();
    let http = reqwest::Client::new();
    let cookie: String = c
        .app
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    // Without the app's header: refused before anything.
    let res = http
        .post(format!("{base}/app/passkey/login/start"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert!(res.text().await.unwrap().contains("Z-P-0034"));
    // Enrolment needs the CSRF token and セキュリティ設定 open.
    let res = http
        .post(format!("{base}/app/passkey/enrol/start"))
        .header("cookie", &cookie)
        .header("x-requested-with", "zaitaku")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // A device without a passkey cannot log in with one.
    c.app.jar.remove("zt_app_session");
    let cookie: String = c
        .app
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let res = http
        .post(format!("{base}/app/passkey/login/start"))
        .header("cookie", &cookie)
        .header("x-requested-with", "zaitaku")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("Z-P-0033"));
    let login = c.app.get("/app").await;
    assert!(login.body.contains("A-05-W") && !login.body.contains("生体認証でログイン"));
}
on_both!(passkey_requests_are_refused_without_the_app_or_a_passkey);

/// A session opens only on the device that opened it: presented with
/// another device's token (even of the same nurse), the app asks for that
/// device's own passcode, starts no check and shows no result; the first
/// device is not disturbed.
async fn a_session_does_not_open_on_another_device(url: &str) {
    let mut c = checking(url).await;
    let admin = Browser::login(&c.srv.base, &c.a, "aadmin").await;
    let code = issue(&admin, "訪問用iPad 2号機").await;
    open_codes(&c.srv.store, &c.a).await;
    let mut other = Visitor::new(&c.srv.base);
    activate(&mut other, code_of(&c.a), "nurse1", PASSWORD, &code).await;
    other.get("/app/passcode").await;
    other
        .post("/app/passcode", &[("first", "1357"), ("again", "1357")])
        .await;

    // A result on the first device's screen.
    let today = fixtures::today();
    let person = c.person(|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == zaitaku_domain::codes::QualificationValidity::Valid
    });
    let card = c.card(person, zaitaku_identity::CardKind::Physical).await;
    c.visual(card).await;
    let shown = c.app.get("/app/result").await;
    assert!(shown.body.contains("C-04-01-W"));
    let confirm = c.app.get("/app/check?method=visual").await;
    let csrf = between(&confirm.body, "name=\"csrf\" value=\"", "\"")
        .unwrap()
        .to_owned();

    // The first device's session with the second device's token.
    let mut mixed = Visitor::new(&c.srv.base);
    mixed
        .jar
        .insert("zt_app_device".into(), other.jar["zt_app_device"].clone());
    mixed
        .jar
        .insert("zt_app_session".into(), c.app.jar["zt_app_session"].clone());
    for path in ["/app/home", "/app/result", "/app/search"] {
        let page = mixed.get(path).await;
        assert!(
            page.body.contains("パスコード") && !page.body.contains("本人認証の方法を選択"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("C-04-01-W") && !page.body.contains("D-10-W"));
    }
    let begun = mixed
        .post_raw("/app/check", &[("csrf", &csrf), ("method", "visual")])
        .await;
    assert!(!begun.body.contains("C-04-02-W"), "{}", begun.body);
    let closed = mixed
        .post_raw("/app/result/close", &[("csrf", &csrf)])
        .await;
    assert!(!closed.body.contains("本人認証の方法を選択"));

    // The first device still shows its result; the second device's own
    // passcode opens the second device only.
    assert!(c.app.get("/app/result").await.body.contains("C-04-01-W"));
    let opened = mixed.post("/app/login", &[("passcode", "1357")]).await;
    assert!(
        opened.body.contains("本人認証の方法を選択"),
        "{}",
        opened.body
    );
    assert!(mixed.get("/app/result").await.url.ends_with("/app/home"));
}
on_both!(a_session_does_not_open_on_another_device);
