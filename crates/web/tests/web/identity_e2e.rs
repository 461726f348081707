//! The authenticator hand-off in a real headless Chromium: the demo identity
//! check, choosing a card, the PIN pad, a wrong PIN, the return, a locked
//! card, cancelling; at phone and desktop sizes, on SQLite and PostgreSQL.
//!
//! Set ZAITAKU_SCREENSHOTS=DIR to save the result screens
//! (`identity-result-phone.png`, `identity-result-desktop.png`).

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use fantoccini::{Client, Locator};
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{PersonRecords, Store};
use zaitaku_testkit::on_both;
use zaitaku_web::AppState;

struct Site {
    base: String,
    physical: i64,
    iphone: i64,
    locked: i64,
}

async fn site(url: &str) -> Site {
    let store = Store::open(url).await.unwrap();
    let e = zaitaku_testkit::person(1, NaiveDate::from_ymd_opt(1948, 5, 3).unwrap(), true);
    store
        .insert_persons(&[PersonRecords::eligibility_only(&e)])
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), base.clone()).await.unwrap();
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    let today = zaitaku_web::today();
    let mut ids = Vec::new();
    for kind in [CardKind::Physical, CardKind::IPhone, CardKind::Physical] {
        let card = state
            .identity
            .issue_card(
                &IssueCard {
                    person_id: 1,
                    kind,
                    pin: (kind != CardKind::IPhone).then(|| "1234".to_owned()),
                    issued_on: today - chrono::Duration::days(30),
                    authority_id: None,
                    in_demo_wallet: true,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        ids.push(card.id);
    }
    store
        .update_pin_counter(ids[2], (3, false), (0, true))
        .await
        .unwrap();
    tokio::spawn(zaitaku_web::serve(listener, state, std::future::pending()));
    Site {
        base,
        physical: ids[0],
        iphone: ids[1],
        locked: ids[2],
    }
}

/// The authenticator's own screens are saved by flows_e2e (`auth-*`); this
/// file saves only the identity check's result.
async fn shot(c: &Client, name: &str) {
    zaitaku_testkit::shot(c, name).await;
}

/// The page's text; empty while a navigation (or a meta refresh) is under way.
async fn text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the page's text contains `needle` (meta refreshes take a moment).
async fn wait_for(c: &Client, needle: &str) -> String {
    for _ in 0..50 {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("page never showed {needle:?}: {}", text(c).await);
}

async fn start(c: &Client, base: &str) {
    c.goto(&format!("{base}/demo/identity")).await.unwrap();
    c.find(Locator::Css("form[action='/demo/identity/start'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "カードを選んでください").await;
}

async fn press(c: &Client, digits: &str) {
    for d in digits.chars() {
        c.find(Locator::Css(&format!(".keypad button[data-digit='{d}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

async fn phone_pin_flow_with_a_wrong_pin_then_success(url: &str) {
    let site = site(url).await;
    let b = zaitaku_testkit::browser(390, 844, true).await;
    let c = &b.client;
    start(c, &site.base).await;
    let t = text(c).await;
    assert!(
        !t.contains("二次元コード"),
        "a phone is not offered the QR path"
    );
    c.find(Locator::Css(&format!("a[href$='/card/{}']", site.physical)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = wait_for(c, "暗証番号（数字4桁）を入力してください").await;
    assert!(t.contains("残り3回"));

    press(c, "9999").await;
    c.find(Locator::Css(".pin-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = wait_for(c, "暗証番号が違います").await;
    assert!(t.contains("残り2回"));

    press(c, "1234").await;
    c.find(Locator::Css(".pin-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = wait_for(c, "認証に成功しました").await;
    assert!(t.contains("自動で戻らない場合はこちら"));
    // The page returns by itself.
    let t = wait_for(c, "本人確認ができました").await;
    assert!(t.contains("試験 花子"));
    shot(c, "identity-result-phone").await;
}
on_both!(phone_pin_flow_with_a_wrong_pin_then_success);

async fn desktop_offers_qr_and_iphone_uses_biometrics(url: &str) {
    let site = site(url).await;
    let b = zaitaku_testkit::browser(1366, 768, false).await;
    let c = &b.client;
    start(c, &site.base).await;
    assert!(
        text(c)
            .await
            .contains("スマートフォンで読み取る（二次元コード）")
    );
    // The IC card reader's list: physical cards, not the iPhone's certificate.
    let listed = |id: i64| format!("a[href$='/card/{id}']");
    assert!(c.find(Locator::Css(&listed(site.physical))).await.is_ok());
    assert!(c.find(Locator::Css(&listed(site.iphone))).await.is_err());
    c.find(Locator::LinkText(
        "スマートフォンで読み取る（二次元コード）",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for(c, "スマートフォンで二次元コードを読み取ってください").await;
    assert!(c.find(Locator::Css("figure.qr svg")).await.is_ok());
    // The phone that reads the code lists the iPhone card and uses biometrics;
    // the PC moves on by itself.
    let qr_page = c.current_url().await.unwrap().to_string();
    let p = zaitaku_testkit::browser(390, 844, true).await;
    let phone = &p.client;
    phone
        .goto(&qr_page.replace("/qr", "?via=qr"))
        .await
        .unwrap();
    wait_for(phone, "カードを選んでください").await;
    phone
        .find(Locator::Css(&listed(site.iphone)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(phone, "生体認証で本人確認をします").await;
    phone
        .find(Locator::Css("form input[name=biometric] + button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(phone, "パソコン・タブレットの画面に戻ってください").await;
    let t = wait_for(c, "本人確認ができました").await;
    assert!(t.contains("スマートフォン（iPhone）"));
    shot(c, "identity-result-desktop").await;
}
on_both!(desktop_offers_qr_and_iphone_uses_biometrics);

async fn locked_card_and_cancel_are_explained(url: &str) {
    let site = site(url).await;
    let b = zaitaku_testkit::browser(390, 844, true).await;
    let c = &b.client;
    start(c, &site.base).await;
    c.find(Locator::Css(&format!("a[href$='/card/{}']", site.locked)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = wait_for(c, "暗証番号がロックされています").await;
    assert!(t.contains("市区町村の窓口"));
    assert!(t.contains("Z-A-0003"));
    c.find(Locator::LinkText("マイナ在宅受付Webに戻る"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "暗証番号がロックされています").await;

    start(c, &site.base).await;
    c.find(Locator::Css("form[action$='/cancel'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = wait_for(c, "本人認証を中止しました").await;
    assert!(t.contains("Z-W-0442"));
}
on_both!(locked_card_and_cancel_are_explained);
