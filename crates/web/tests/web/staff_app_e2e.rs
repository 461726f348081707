//! A nurse's visit day with マイナ資格確認アプリ in a real headless Chromium,
//! at a phone's, an iPad's and a desktop's size: the administrator issues
//! an activation code; the nurse agrees to the terms, activates (first with
//! a wrong code), chooses a passcode, takes a patient's consent at home with
//! a visual check, checks another card by its PIN, copies the result, finds
//! it again in the result search, and deregisters the device.
//!
//! Set ZAITAKU_SCREENSHOTS=DIR to save a PNG of every screen
//! (`app-<screen>-<size>.png`).

use chrono::Utc;
use fantoccini::{Client, Locator};
use zaitaku_domain::account::Role;
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_testkit::client::Browser;
use zaitaku_testkit::fixtures::{self, PASSWORD};

use super::admin_e2e::{click, fill, login, shot, text, wait_for, wait_url};

struct Day {
    base: String,
    store: zaitaku_storage::Store,
    inst: zaitaku_storage::StoredInstitution,
    code: String,
    visual_card: i64,
    pin_card: i64,
    patient: String,
}

async fn day(url: &str) -> Day {
    let srv = zaitaku_testkit::server::start(url).await;
    let store = &srv.store;
    let today = fixtures::today();
    let people = fixtures::population(store, 11, today, 400).await;
    let mut valid = people.iter().map(|r| &r.eligibility).filter(|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Valid
            && !e
                .resolve(today)
                .qualification
                .unwrap()
                .is_medical_assistance()
    });
    let first = valid.next().unwrap();
    let second = valid.next().unwrap();
    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        46,
        "試験訪問クリニック",
        true,
    )
    .await;
    fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&a), "nurse1", Role::General, "訪問 看子").await;
    // Seed 002: the nurse's account has logged in to the administration.
    Browser::login(&srv.base, &a, "nurse1").await;
    let identity = &srv.state.identity;
    identity.ensure_authorities(Utc::now()).await.unwrap();
    let card = |person: i64| async move {
        identity
            .issue_card(
                &IssueCard {
                    person_id: person,
                    kind: CardKind::Physical,
                    pin: Some("1234".into()),
                    issued_on: today - chrono::Duration::days(20),
                    authority_id: None,
                    in_demo_wallet: true,
                },
                Utc::now(),
            )
            .await
            .unwrap()
            .id
    };
    let visual_card = card(first.person.id).await;
    let pin_card = card(second.person.id).await;
    Day {
        base: srv.base.clone(),
        store: srv.store.clone(),
        inst: a.clone(),
        code: a.institution.code.as_str().to_owned(),
        visual_card,
        pin_card,
        patient: first.person.name.clone(),
    }
}

async fn walk(c: &Client, d: &Day, size: &str) {
    let base = &d.base;
    let name = |screen: &str| format!("app-{screen}-{size}");

    // アクティベーションコード管理.
    login(c, base, &d.code, "aadmin", PASSWORD).await;
    // The menu, not the login page's own address, which contains "/admin"
    // too: going on before the login lands races with it.
    wait_for(c, "ログアウト").await;
    c.goto(&format!("{base}/admin/app")).await.unwrap();
    wait_for(c, "アクティベーションコードの発行").await;
    fill(c, "#memo", "訪問用iPad 1号機").await;
    click(c, "form[action='/admin/app'] button[type=submit]").await;
    let issued = wait_for(c, "アクティベーションコードを発行しました").await;
    shot(c, &name("admin-code")).await;
    let code: String = c
        .find(Locator::Css(".activation-code span"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(code.len(), 12, "{issued}");
    // The test does not wait the ten minutes (the demo's codes open at once).
    fixtures::tamper(&d.store, "UPDATE activation_codes SET usable_from = 0").await;
    click(c, "form[action='/admin/logout'] button").await;
    wait_url(c, "/admin/login").await;

    // 利用規約 → 初期登録, first with a mistyped code.
    c.goto(&format!("{base}/app")).await.unwrap();
    wait_for(c, "同意して利用開始").await;
    shot(c, &name("a01-terms")).await;
    click(c, "a[href='/app/register']").await;
    wait_for(c, "アクティベーションコード").await;
    fill(c, "#institution_code", &d.code).await;
    fill(c, "#user_id", "nurse1").await;
    fill(c, "#password", PASSWORD).await;
    // 👁 shows the password.
    click(c, "[data-reveal=password]").await;
    let kind = c
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .attr("type")
        .await
        .unwrap();
    assert_eq!(kind.as_deref(), Some("text"));
    shot(c, &name("a02-register")).await;
    fill(c, "#code", "0000-0000-0000").await;
    click(c, "form[action='/app/register'] button[type=submit]").await;
    wait_for(c, "Z-V-0002").await;
    shot(c, &name("a02-register-refused")).await;
    fill(c, "#password", PASSWORD).await;
    fill(c, "#code", &code).await;
    click(c, "form[action='/app/register'] button[type=submit]").await;
    wait_for(c, "初期登録が完了しました").await;
    shot(c, &name("a03-registered")).await;
    click(c, "a[href='/app/passcode']").await;
    wait_for(c, "パスコードの登録").await;
    shot(c, &name("a04-passcode")).await;
    fill(c, "#first", "2580").await;
    fill(c, "#again", "2580").await;
    click(c, "form[action='/app/passcode'] button").await;
    wait_for(c, "パスコードを登録しました。").await;
    shot(c, &name("b01-notices")).await;
    click(c, "form[action='/app/notices'] button").await;
    wait_for(c, "本人認証の方法を選択").await;
    shot(c, &name("c01-home")).await;

    // Consent at home: the choices, the confirmation, the visual check.
    click(c, "a[href='/app/consent']").await;
    wait_for(c, "薬剤情報等の提供に関する同意").await;
    for radio in c
        .find_all(Locator::Css("input[type=radio][value=agree]"))
        .await
        .unwrap()
    {
        radio.click().await.unwrap();
    }
    if let Ok(paper) = c
        .find(Locator::Css("input[name=prescription_form][value='2']"))
        .await
    {
        paper.click().await.unwrap();
    }
    shot(c, &name("h01-consent")).await;
    click(c, "form[action='/app/consent'] button[type=submit]").await;
    wait_for(c, "登録内容の確認").await;
    shot(c, &name("h02-confirm")).await;
    click(c, "form[action='/app/consent/confirm'] button").await;
    wait_for(c, "仮想カードリーダー").await;
    shot(c, &name("c0402-read-visual")).await;
    click(c, &format!("input[name=card][value='{}']", d.visual_card)).await;
    click(c, "form[action='/app/check/read'] button").await;
    wait_for(c, "読み取り完了").await;
    shot(c, &name("c0403-done")).await;
    click(c, "a[href='/app/result']").await;
    wait_for(c, "同意登録が完了しました。").await;
    let shown = text(c).await;
    assert!(shown.contains(&d.patient) && shown.contains("C-04-01-W"));
    // 「コピー」.
    click(c, "[data-copy]").await;
    wait_for(c, "コピーしました").await;
    shot(c, &name("c0401-result")).await;
    click(c, "form[action='/app/result/close'] button").await;
    wait_for(c, "本人認証の方法を選択").await;

    // 目視確認 off in セキュリティ設定; then a check by the card's PIN.
    click(c, "a[href='/app/menu']").await;
    wait_for(c, "セキュリティ設定").await;
    shot(c, &name("m01-menu")).await;
    for (href, needle, screen) in [
        ("/app/reader", "仮想カードリーダー（デモ）", "m03-reader"),
        ("/app/privacy", "監査ログに記録します", "m02-privacy"),
        ("/app/licenses", "axum", "m04-licenses"),
        (
            "/app/notices?all=1",
            "お知らせはありません。",
            "b01-notices-menu",
        ),
    ] {
        click(c, &format!("a[href='{href}']")).await;
        wait_for(c, needle).await;
        if screen != "m04-licenses" || size == "phone" {
            shot(c, &name(screen)).await;
        }
        click(c, "a[href='/app/menu']").await;
        wait_for(c, "カードリーダー選択").await;
    }
    click(c, "a[href='/app/security']").await;
    wait_for(c, "パスコードの入力が必要です").await;
    shot(c, &name("s01-security-lock")).await;
    fill(c, "#passcode", "2580").await;
    click(c, "form[action='/app/security'] button").await;
    wait_for(c, "目視確認で本人認証").await;
    shot(c, &name("s02-security")).await;
    click(c, "form[action='/app/security/visual-check'] button").await;
    wait_for(c, "目視確認で本人認証をオフにしました。").await;
    c.goto(&format!("{base}/app/home")).await.unwrap();
    wait_for(c, "マイナンバーカード（暗証番号）").await;
    click(c, "button[name=method][value=pin]").await;
    wait_for(c, "暗証番号（数字4桁）を入力していただきます").await;
    shot(c, &name("c02-confirm-pin")).await;
    click(c, "form[action='/app/check'] button[type=submit]").await;
    wait_for(c, "読み取り開始").await;
    shot(c, &name("c0402-read-pin")).await;
    click(c, "a[href^='/auth/authorize']").await;
    // The card component: the card, then the PIN on its keypad.
    click(c, &format!("a[href$='/card/{}']", d.pin_card)).await;
    wait_for(c, "暗証番号").await;
    fill(c, "input[name=pin]", "1234").await;
    click(c, "form.pin-form button[type=submit]").await;
    wait_for(c, "読み取り完了").await;
    click(c, "a[href='/app/result']").await;
    wait_for(c, "資格確認結果").await;
    click(c, "form[action='/app/result/close'] button").await;
    wait_for(c, "本人認証の方法を選択").await;

    // 資格確認結果検索: both results of this device, the first as shown.
    c.goto(&format!("{base}/app/search")).await.unwrap();
    let list = wait_for(c, "資格確認検索結果").await;
    assert!(list.contains("2件") && list.contains(&d.patient), "{list}");
    shot(c, &name("d10-search")).await;
    click(c, "details.search-settings summary").await;
    shot(c, &name("d10-search-settings")).await;
    let rows = c.find_all(Locator::Css(".search-table a")).await.unwrap();
    rows.last().unwrap().click().await.unwrap();
    wait_for(c, "同意登録が完了しました。").await;
    click(c, "a[href^='/app/search?']").await;
    wait_for(c, "資格確認検索結果").await;
    wait_url(c, "/app/search?").await;

    // デバイス登録解除.
    c.goto(&format!("{base}/app/security")).await.unwrap();
    click(c, "form[action='/app/security/deregister'] button").await;
    wait_for(c, "この端末のデバイス登録を解除しますか").await;
    shot(c, &name("s04-deregister-confirm")).await;
    click(
        c,
        "form[action='/app/security/deregister'] button[type=submit]",
    )
    .await;
    wait_for(c, "デバイスの登録を解除しました。").await;
    c.goto(&format!("{base}/app")).await.unwrap();
    wait_for(c, "同意して利用開始").await;
}

async fn a_nurses_day_at(width: u32, height: u32, mobile: bool, size: &str) {
    let db = zaitaku_testkit::sqlite();
    let d = day(&db.url).await;
    let b = zaitaku_testkit::chromium::browser(width, height, mobile).await;
    walk(&b.client, &d, size).await;
}

#[tokio::test]
async fn a_nurses_day_on_a_phone() {
    a_nurses_day_at(390, 844, true, "phone").await;
}

#[tokio::test]
async fn a_nurses_day_on_an_ipad() {
    a_nurses_day_at(820, 1180, true, "ipad").await;
}

#[tokio::test]
async fn a_nurses_day_on_a_desktop() {
    a_nurses_day_at(1366, 768, false, "desktop").await;
}

/// 生体認証: a passkey enrolled in セキュリティ設定 on a browser with a
/// platform authenticator (WebDriver's virtual one), then the next start
/// logs in with it instead of the passcode. Passkeys need a domain, so the
/// app is opened at `localhost`.
#[tokio::test]
async fn a_passkey_is_enrolled_and_opens_the_app() {
    let db = zaitaku_testkit::sqlite();
    let d = day(&db.url).await;
    let base = d.base.replace("127.0.0.1", "localhost");
    let b = zaitaku_testkit::chromium::browser(820, 1180, true).await;
    let c = &b.client;
    zaitaku_testkit::add_virtual_authenticator(c).await;
    let admin = Browser::login(&d.base, &d.inst, "aadmin").await;
    let page = admin
        .post("/admin/app", &[("memo", "訪問用iPad 2号機")])
        .await;
    let code = zaitaku_testkit::client::between(
        &page.body,
        "<p class=\"activation-code\" aria-label=\"アクティベーションコード ",
        "\"",
    )
    .unwrap()
    .to_owned();
    fixtures::tamper(&d.store, "UPDATE activation_codes SET usable_from = 0").await;

    c.goto(&format!("{base}/app/register")).await.unwrap();
    wait_for(c, "アクティベーションコード").await;
    fill(c, "#institution_code", &d.code).await;
    fill(c, "#user_id", "nurse1").await;
    fill(c, "#password", PASSWORD).await;
    fill(c, "#code", &code).await;
    click(c, "form[action='/app/register'] button[type=submit]").await;
    wait_for(c, "初期登録が完了しました").await;
    click(c, "a[href='/app/passcode']").await;
    wait_for(c, "パスコードの登録").await;
    fill(c, "#first", "2580").await;
    fill(c, "#again", "2580").await;
    click(c, "form[action='/app/passcode'] button").await;
    wait_for(c, "パスコードを登録しました。").await;

    c.goto(&format!("{base}/app/security")).await.unwrap();
    fill(c, "#passcode", "2580").await;
    click(c, "form[action='/app/security'] button").await;
    wait_for(c, "生体認証を登録する").await;
    shot(c, "app-s02-security-passkey-ipad").await;
    click(c, "[data-passkey=enrol]").await;
    wait_for(c, "生体認証を登録しました。").await;
    assert!(text(c).await.contains("生体認証を登録し直す"));

    // The next start: 生体認証でログイン instead of the passcode.
    c.delete_cookie("zt_app_session").await.unwrap();
    c.goto(&format!("{base}/app")).await.unwrap();
    wait_for(c, "生体認証でログイン").await;
    shot(c, "app-a05-login-passkey-ipad").await;
    click(c, "[data-passkey=login]").await;
    wait_for(c, "本人認証の方法を選択").await;
    // セキュリティ設定 opens with it too.
    c.goto(&format!("{base}/app/security")).await.unwrap();
    wait_for(c, "生体認証で表示する").await;
    shot(c, "app-s01-security-lock-passkey-ipad").await;
    click(c, "[data-passkey=unlock]").await;
    wait_for(c, "目視確認で本人認証").await;
    let logins: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM audit_log WHERE action = 'app.login' AND detail LIKE '%passkey%'",
    )
    .fetch_all(d.store.pool())
    .await
    .unwrap();
    assert_eq!(logins, ["ok"]);
}
