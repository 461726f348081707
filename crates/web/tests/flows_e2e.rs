//! Flows A, B and C in a real headless Chromium, as a visiting nurse and an
//! elderly patient would go through them on a phone and on a PC.
//!
//! Set ZAITAKU_SCREENSHOTS=DIR to save a PNG of every screen.

use std::time::Duration;

use chrono::Utc;
use fantoccini::{Client, Locator};
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{PersonRecords, Store};
use zaitaku_web::AppState;

struct Site {
    base: String,
    token: String,
    card: i64,
    _db: zaitaku_testkit::TempSqlite,
}

async fn site(eprescription: bool, kind: InstitutionKind) -> Site {
    let db = zaitaku_testkit::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    let today = Utc::now().date_naive();
    let people: Vec<_> = zaitaku_synth::Population::new(5, today)
        .persons()
        .take(300)
        .collect();
    let records: Vec<_> = people
        .iter()
        .map(|r| PersonRecords {
            eligibility: &r.eligibility,
            drugs: &r.drugs,
            clinical: &r.clinical,
            checkups: &r.checkups,
        })
        .collect();
    store.insert_persons(&records).await.unwrap();
    let person = people
        .iter()
        .map(|r| &r.eligibility)
        .find(|e| {
            e.person.insurance_use_registered
                && e.resolve(today).validity == QualificationValidity::Valid
                && zaitaku_domain::person::age_on(e.person.birth_date, today) >= 70
        })
        .unwrap()
        .person
        .id;
    let code = InstitutionCode::build(Prefecture::new(13).unwrap(), kind, 1, 21).unwrap();
    let mut inst = Institution::new(code, "試験在宅クリニック", eprescription).unwrap();
    inst.remote_function_enabled = true;
    let inst = store
        .insert_institution(
            &inst,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, base.clone()).await.unwrap();
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    let card = state
        .identity
        .issue_card(
            &IssueCard {
                person_id: person,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on: today - chrono::Duration::days(30),
                authority_id: None,
                in_demo_wallet: true,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id;
    tokio::spawn(zaitaku_web::serve(listener, state, std::future::pending()));
    Site {
        base,
        token: inst.url_token,
        card,
        _db: db,
    }
}

async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("ZAITAKU_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

async fn text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn wait_for(c: &Client, needle: &str) -> String {
    for _ in 0..60 {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("page never showed {needle:?}: {}", text(c).await);
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn choose(c: &Client, item: &str, value: &str) {
    click(c, &format!("input[name='{item}'][value='{value}']")).await;
}

/// Waits until an element matching `css` is on the page.
async fn wait_css(c: &Client, css: &str) {
    for _ in 0..60 {
        if c.find(Locator::Css(css)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no {css} on the page: {}", text(c).await);
}

async fn unlock(c: &Client, card: i64, pin: &str) {
    wait_for(c, "カードを選んでください").await;
    click(c, &format!("a[href$='/card/{card}']")).await;
    wait_for(c, "暗証番号（数字4桁）を入力してください").await;
    for d in pin.chars() {
        click(c, &format!(".keypad button[data-digit='{d}']")).await;
    }
    click(c, ".pin-form button[type=submit]").await;
}

#[tokio::test]
async fn phone_register_update_cancel() {
    let s = site(true, InstitutionKind::Medical).await;
    let b = zaitaku_testkit::browser(390, 844, true).await;
    let c = &b.client;
    let url = format!("{}/w/{}", s.base, s.token);

    // A: register.
    c.goto(&url).await.unwrap();
    wait_for(c, "同意登録の準備と開始").await;
    shot(c, "flow-a01-phone").await;
    click(c, "main form button[type=submit]").await;
    wait_for(c, "処方箋の発行方法を選択").await;
    shot(c, "flow-b01-phone").await;
    // Submitting without answering: the browser keeps the patient on the page.
    click(c, "button[name=all]").await;
    wait_css(c, "input[name=item_checkups][value=agree]:checked").await;
    choose(c, "item_checkups", "disagree").await;
    choose(c, "prescription_form", "1").await;
    click(c, "form.choices > button.button--primary").await;
    let t = wait_for(c, "登録内容の確認").await;
    assert!(t.contains("電子処方箋を希望"));
    shot(c, "flow-b02-phone").await;
    // 選択内容を修正する and back.
    click(c, "a[href$='/choose']").await;
    wait_for(c, "処方箋の発行方法を選択").await;
    click(c, "form.choices > button.button--primary").await;
    wait_for(c, "登録内容の確認").await;
    click(c, "form[action$='/auth'] button").await;
    unlock(c, s.card, "1234").await;
    let t = wait_for(c, "同意登録が正常に完了いたしました。").await;
    assert!(
        t.contains("資格情報") && t.contains("区分") && t.contains("高齢受給者証一部負担金割合")
    );
    shot(c, "flow-done-phone").await;
    click(c, ".other-info summary").await;
    let t = text(c).await;
    assert!(t.contains("保険者番号"));
    shot(c, "flow-done-other-phone").await;

    // B: update.
    c.goto(&url).await.unwrap();
    wait_for(c, "同意登録の準備と開始").await;
    click(c, ".menu summary").await;
    shot(c, "flow-menu-phone").await;
    click(c, "form[action$='/flow/update'] button").await;
    unlock(c, s.card, "1234").await;
    wait_for(c, "登録内容の照会、更新内容の選択").await;
    shot(c, "flow-c03-phone").await;
    choose(c, "item_checkups", "agree").await;
    click(c, "form.choices > button.button--primary").await;
    wait_for(c, "同意内容の更新確認").await;
    shot(c, "flow-c07-phone").await;
    click(c, "form[action$='/auth'] button").await;
    unlock(c, s.card, "1234").await;
    wait_for(c, "同意内容の更新が正常に完了いたしました。").await;
    shot(c, "flow-c09-phone").await;

    // C: cancel all.
    c.goto(&url).await.unwrap();
    wait_for(c, "同意登録の準備と開始").await;
    click(c, ".menu summary").await;
    click(c, "form[action$='/flow/cancel'] button").await;
    wait_for(c, "すべての同意の取消").await;
    shot(c, "flow-cancel-confirm-phone").await;
    click(c, "form[action$='/auth'] button").await;
    unlock(c, s.card, "1234").await;
    wait_for(c, "すべての同意の取消が正常に完了いたしました。").await;
    shot(c, "flow-cancel-done-phone").await;
}

#[tokio::test]
async fn desktop_offers_qr_or_card_reader() {
    let s = site(false, InstitutionKind::HomeNursing).await;
    let b = zaitaku_testkit::browser(1366, 768, false).await;
    let c = &b.client;
    c.goto(&format!("{}/w/{}", s.base, s.token)).await.unwrap();
    wait_for(c, "同意登録の準備と開始").await;
    shot(c, "flow-a01-desktop").await;
    click(c, "main form button[type=submit]").await;
    let t = wait_for(c, "同意内容の選択").await;
    assert!(
        !t.contains("処方箋"),
        "a nursing station does not ask for a prescription form"
    );
    click(c, "button[name=all]").await;
    wait_css(c, "input[name=item_checkups][value=agree]:checked").await;
    shot(c, "flow-b01-desktop").await;
    click(c, "form.choices > button.button--primary").await;
    let t = wait_for(c, "登録内容の確認").await;
    assert!(
        t.contains("スマートフォンで認証する（二次元コード）")
            && t.contains("ICカードリーダーで認証する")
    );
    shot(c, "flow-b02-desktop").await;
    // The QR path shows the code at once.
    click(c, "input[value=qr] + button").await;
    wait_for(c, "スマートフォンで二次元コードを読み取ってください").await;
    c.back().await.unwrap();
    wait_for(c, "登録内容の確認").await;
    // The card-reader path.
    click(c, "input[value=reader] + button").await;
    unlock(c, s.card, "1234").await;
    wait_for(c, "同意登録が正常に完了いたしました。").await;
    shot(c, "flow-done-desktop").await;
}
