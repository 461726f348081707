//! Flows A, B and C in a real headless Chromium, driven as a visiting nurse
//! and an elderly patient would: the real buttons and links, the PIN typed
//! on the on-screen PIN pad, the PC's choice between the QR code and the IC
//! card reader. Each kind of institution (clinic with e-prescriptions,
//! pharmacy, home-visit nursing station, online care from a partner) on the
//! phone form (390×844, an iPhone's user agent) and the PC form (1366×768);
//! then every outcome screen on both.
//!
//! The phone runs go against SQLite and the PC runs against PostgreSQL, so
//! both databases see every flow.
//!
//! `ZAITAKU_SCREENSHOTS=DIR` saves a full-page PNG of every screen as
//! `<screen>-phone.png` / `<screen>-desktop.png` (see docs/screens/README.md).

use std::time::Duration;

use axum::extract::Path;
use axum::http::Uri;
use axum::response::Html;
use chrono::{NaiveDate, Utc};
use fantoccini::{Client, Locator};
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::consent::{ConsentAction, ConsentItem};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::partner_origin::PartnerOrigin;
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{PersonRecords, Store, StoredInstitution};
use zaitaku_web::{AppState, today};

// ---------------------------------------------------------------- the world

struct Cards {
    /// Physical card, PIN 1234, qualification in force, aged 70 or more.
    good: i64,
    /// The same person's Android card (PIN 5678) and iPhone card (biometrics).
    android: i64,
    iphone: i64,
    unregistered: i64,
    invalid: i64,
    no_qualification: i64,
    assistance: i64,
    preschool: i64,
    expiring: i64,
    grace: i64,
    expired: i64,
    /// Locked during the test by three wrong PINs.
    to_lock: i64,
    revoked: i64,
}

struct Site {
    base: String,
    state: AppState,
    clinic: StoredInstitution,
    pharmacy: StoredInstitution,
    nursing: StoredInstitution,
    online: StoredInstitution,
    cards: Cards,
    good_person: i64,
    partner: String,
    _db: Option<zaitaku_testkit::TempSqlite>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// An issue date that makes the certificate's last day fall `from..=to` days
/// from today for someone born on `birth`.
fn issued_for(birth: NaiveDate, from: i64, to: i64) -> Option<NaiveDate> {
    let today = today();
    (0..900)
        .map(|i| today - chrono::Duration::days(5 * 365 + 450 - i))
        .find(|d| {
            zaitaku_card::fifth_birthday_after(*d, birth).is_some_and(|last| {
                (today + chrono::Duration::days(from)..=today + chrono::Duration::days(to))
                    .contains(&last)
            })
        })
}

async fn institution(
    store: &Store,
    kind: InstitutionKind,
    number: u16,
    name: &str,
    eprescription: bool,
    limit: bool,
) -> StoredInstitution {
    let code = InstitutionCode::build(Prefecture::new(13).unwrap(), kind, 1, number).unwrap();
    let mut inst = Institution::new(code, name, eprescription).unwrap();
    inst.remote_function_enabled = true;
    if limit {
        let mut items = inst.consent_items.clone();
        items.push(ConsentItem::LimitAmount);
        inst.set_consent_items(&items);
    }
    store
        .insert_institution(
            &inst,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap()
}

async fn site(backend: Backend) -> Site {
    let (url, db) = match backend {
        Backend::Sqlite => {
            let db = zaitaku_testkit::sqlite();
            (db.url.clone(), Some(db))
        }
        Backend::Postgres => (zaitaku_testkit::postgres().await, None),
    };
    let store = Store::open(&url).await.unwrap();
    let today = today();
    let people = zaitaku_testkit::fixtures::population(&store, 11, today, 3000).await;
    // Someone with a card but no insurance at all (該当資格なし).
    let nobody_id = store.max_person_id().await.unwrap() + 1;
    let nobody = zaitaku_testkit::person(
        nobody_id,
        NaiveDate::from_ymd_opt(1961, 9, 14).unwrap(),
        true,
    );
    store
        .insert_persons(&[PersonRecords::eligibility_only(&nobody)])
        .await
        .unwrap();

    let all: Vec<&Eligibility> = people.iter().map(|r| &r.eligibility).collect();
    let age = |e: &Eligibility| zaitaku_domain::person::age_on(e.person.birth_date, today);
    let valid = |e: &Eligibility| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Valid
    };
    let mut taken = vec![nobody_id];
    let mut pick = |f: &dyn Fn(&Eligibility) -> bool| -> &Eligibility {
        let e = all
            .iter()
            .copied()
            .find(|e| !taken.contains(&e.person.id) && f(e))
            .expect("the synthetic population has this case");
        taken.push(e.person.id);
        e
    };
    let good = pick(&|e| valid(e) && (70..75).contains(&age(e))).person.id;
    let unregistered = pick(&|e| {
        !e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Valid
            && age(e) >= 20
    })
    .person
    .id;
    let invalid = pick(&|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Invalid
            && age(e) >= 20
    })
    .person
    .id;
    let assistance = pick(&|e| valid(e) && e.category(today).label() == "医療扶助")
        .person
        .id;
    let preschool = pick(&|e| valid(e) && e.category(today).label() == "義務教育就学前")
        .person
        .id;
    let adult = |e: &Eligibility| valid(e) && (20..70).contains(&age(e));
    let expiring = pick(&|e| adult(e) && issued_for(e.person.birth_date, 10, 80).is_some());
    let expiring = (
        expiring.person.id,
        issued_for(expiring.person.birth_date, 10, 80).unwrap(),
    );
    let grace = pick(&|e| adult(e) && issued_for(e.person.birth_date, -80, -10).is_some());
    let grace = (
        grace.person.id,
        issued_for(grace.person.birth_date, -80, -10).unwrap(),
    );
    let expired = pick(&|e| adult(e) && issued_for(e.person.birth_date, -300, -120).is_some());
    let expired = (
        expired.person.id,
        issued_for(expired.person.birth_date, -300, -120).unwrap(),
    );
    let to_lock = pick(&adult).person.id;
    let revoked = pick(&adult).person.id;

    let clinic = institution(
        &store,
        InstitutionKind::Medical,
        11,
        "試験在宅クリニック",
        true,
        false,
    )
    .await;
    let pharmacy = institution(
        &store,
        InstitutionKind::Pharmacy,
        12,
        "試験みどり薬局",
        false,
        false,
    )
    .await;
    let nursing = institution(
        &store,
        InstitutionKind::HomeNursing,
        13,
        "試験訪問看護ステーション",
        false,
        false,
    )
    .await;
    let online = institution(
        &store,
        InstitutionKind::Medical,
        14,
        "試験オンライン内科",
        true,
        true,
    )
    .await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, base.clone()).await.unwrap();
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    let issue = |person: i64, kind: CardKind, pin: Option<&str>, issued_on: NaiveDate| {
        let identity = state.identity.clone();
        let pin = pin.map(str::to_owned);
        async move {
            identity
                .issue_card(
                    &IssueCard {
                        person_id: person,
                        kind,
                        pin,
                        issued_on,
                        authority_id: None,
                        in_demo_wallet: true,
                    },
                    Utc::now(),
                )
                .await
                .unwrap()
                .id
        }
    };
    let recent = today - chrono::Duration::days(30);
    let physical = |person| issue(person, CardKind::Physical, Some("1234"), recent);
    let cards = Cards {
        good: physical(good).await,
        android: issue(good, CardKind::Android, Some("5678"), recent).await,
        iphone: issue(good, CardKind::IPhone, None, recent).await,
        unregistered: physical(unregistered).await,
        invalid: physical(invalid).await,
        no_qualification: physical(nobody_id).await,
        assistance: physical(assistance).await,
        preschool: physical(preschool).await,
        expiring: issue(expiring.0, CardKind::Physical, Some("1234"), expiring.1).await,
        grace: issue(grace.0, CardKind::Physical, Some("1234"), grace.1).await,
        expired: issue(expired.0, CardKind::Physical, Some("1234"), expired.1).await,
        to_lock: physical(to_lock).await,
        revoked: physical(revoked).await,
    };
    state
        .identity
        .revoke(cards.revoked, Utc::now())
        .await
        .unwrap();
    tokio::spawn(zaitaku_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let partner = partner(base.clone()).await;
    // The stand-in partner's origin, registered as its administrator would in
    // 環境設定情報更新: only then does zaitaku offer the way back to it.
    let mut online = online;
    online.institution.partner_origins = vec![PartnerOrigin::parse(&partner).unwrap()];
    state
        .store
        .update_institution_settings(online.id, &online.institution, Utc::now())
        .await
        .unwrap();
    Site {
        base,
        state,
        clinic,
        pharmacy,
        nursing,
        online,
        cards,
        good_person: good,
        partner,
        _db: db,
    }
}

/// A stand-in online-care partner (seed 003): its reservation page, where
/// 「手続きを終了する」 lands. It checks the signed return against the JWK set
/// zaitaku publishes, as docs/auth-handoff.md tells partners to, and says
/// what it concluded.
async fn partner(zaitaku: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let me = base.clone();
    let app = axum::Router::new().route(
        "/visit/{id}",
        axum::routing::get(move |Path(id): Path<String>, uri: Uri| {
            let zaitaku = zaitaku.clone();
            let me = me.clone();
            async move {
                let jwks: serde_json::Value =
                    reqwest::get(format!("{zaitaku}{}", zaitaku_proto::partner::KEYS_PATH))
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                let verdict = match zaitaku_proto::partner::verify_return(
                    &format!("{me}{uri}"),
                    &format!("{me}/visit/{id}"),
                    &jwks,
                    Utc::now().timestamp(),
                    600,
                ) {
                    Ok(r) if r.status == "completed" => format!(
                        "マイナ保険証の同意登録の完了を確認しました（{}・受診日 {}・{}）",
                        r.action, r.date, r.state
                    ),
                    Ok(r) => format!("マイナ保険証の同意登録は完了していません（{}）", r.state),
                    Err(e) => format!("結果を確認できませんでした: {e}"),
                };
                Html(format!(
                    "<!DOCTYPE html><html lang=ja><meta charset=utf-8><title>試験オンライン診療</title><h1>試験オンライン診療</h1><p id=verdict>{verdict}</p>"
                ))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

// ---------------------------------------------------------------- driving the browser

/// One browser at one form factor.
struct Ui {
    b: zaitaku_testkit::Browser,
    phone: bool,
}

impl Ui {
    async fn phone() -> Self {
        Self {
            b: zaitaku_testkit::browser(390, 844, true).await,
            phone: true,
        }
    }

    async fn desktop() -> Self {
        Self {
            b: zaitaku_testkit::browser(1366, 768, false).await,
            phone: false,
        }
    }

    fn c(&self) -> &Client {
        &self.b.client
    }

    /// Saves the screen as `<name>-phone.png` or `<name>-desktop.png`.
    async fn shot(&self, name: &str) {
        let form = if self.phone { "phone" } else { "desktop" };
        zaitaku_testkit::shot(self.c(), &format!("{name}-{form}")).await;
    }

    async fn goto(&self, url: &str) {
        self.c().goto(url).await.unwrap();
    }

    /// The page's text; empty while a navigation is under way.
    async fn text(&self) -> String {
        match self.c().find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page shows `needle` (pages load, and some move on by
    /// themselves); fails with what the page showed instead.
    async fn wait_for(&self, needle: &str) -> String {
        for _ in 0..150 {
            let t = self.text().await;
            if t.contains(needle) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("page never showed {needle:?}: {}", self.text().await);
    }

    async fn wait_css(&self, css: &str) {
        for _ in 0..150 {
            if self.c().find(Locator::Css(css)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no {css} on the page: {}", self.text().await);
    }

    async fn click(&self, css: &str) {
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The link whose text (which may carry a note under it) starts with `text`.
    async fn link(&self, text: &str) {
        self.c()
            .find(Locator::XPath(&format!(
                "//a[starts-with(normalize-space(.), '{text}')]"
            )))
            .await
            .unwrap_or_else(|e| panic!("link {text}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn is_checked(&self, name: &str, value: &str) -> bool {
        self.c()
            .find(Locator::Css(&format!(
                "input[name='{name}'][value='{value}']:checked"
            )))
            .await
            .is_ok()
    }

    async fn choose(&self, name: &str, value: &str) {
        self.click(&format!("input[name='{name}'][value='{value}']"))
            .await;
    }

    async fn open_menu(&self) {
        self.click(".menu summary").await;
        self.wait_css(".menu[open] nav").await;
    }

    /// On the PIN pad: the digits, then 次へ.
    async fn type_pin(&self, pin: &str) {
        for d in pin.chars() {
            self.click(&format!(".keypad button[data-digit='{d}']"))
                .await;
        }
        self.click(".pin-form button[type=submit]").await;
    }

    /// In the authenticator: choose the card in the wallet.
    async fn pick_card(&self, card: i64) {
        self.wait_for("カードを選んでください").await;
        self.click(&format!("a[href$='/card/{card}']")).await;
    }

    /// Choose the card and unlock it with the PIN (or biometrics).
    async fn unlock(&self, card: i64, pin: Option<&str>) {
        self.pick_card(card).await;
        match pin {
            Some(pin) => {
                self.wait_for("暗証番号（数字4桁）を入力してください").await;
                self.type_pin(pin).await;
            }
            None => {
                self.wait_for("生体認証で本人確認をします").await;
                self.click("form input[name=biometric] + button").await;
            }
        }
    }

    /// The authentication button of a confirmation screen: the phone's one
    /// button, or on a PC the IC card reader.
    async fn press_authenticate(&self) {
        if self.phone {
            self.click("form[action$='/auth'] button").await;
        } else {
            self.click("input[value=reader] + button").await;
        }
    }

    /// On a PC, the hand-off's QR code read by `phone`, as the patient's
    /// camera would: the phone then shows the wallet.
    async fn scan_qr_with(&self, phone: &Ui) {
        self.wait_css("figure.qr svg").await;
        let qr_page = self.c().current_url().await.unwrap().to_string();
        phone.goto(&qr_page.replace("/qr", "?via=qr")).await;
    }

    /// A-01's menu entry, which for 同意照会・更新 goes straight to the
    /// authenticator.
    async fn menu(&self, kind: &str) {
        self.open_menu().await;
        self.click(&format!("form[action$='/flow/{kind}'] button"))
            .await;
    }
}

fn url(site: &Site, inst: &StoredInstitution) -> String {
    format!("{}/w/{}", site.base, inst.url_token)
}

/// A-01 → B-01 (すべての項目に同意する, e-prescription where asked) → B-02
/// → the authentication button; the patient is then in the authenticator.
async fn register_until_auth(ui: &Ui, site: &Site, inst: &StoredInstitution) {
    ui.goto(&url(site, inst)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.click("main form[action$='/flow/register'] button").await;
    ui.wait_for("画面番号：B-01").await;
    ui.click("button[name=all]").await;
    ui.wait_css("input[name=item_checkups][value=agree]:checked")
        .await;
    if inst.institution.asks_prescription_form() {
        ui.choose("prescription_form", "1").await;
    }
    ui.click("form.choices > button.button--primary").await;
    ui.wait_for("画面番号：B-02").await;
    ui.press_authenticate().await;
}

async fn history(site: &Site, inst: &StoredInstitution) -> Vec<ConsentAction> {
    site.state
        .store
        .consent_history(inst.id, site.good_person)
        .await
        .unwrap()
        .iter()
        .map(|r| r.action)
        .collect()
}

// ---------------------------------------------------------------- clinic with e-prescriptions

/// The whole of A, B and C at a clinic that issues e-prescriptions, with a
/// screenshot of every normal screen.
async fn clinic_a_b_c(ui: &Ui, site: &Site) {
    let s = site;
    let cards = &s.cards;
    let inst = &s.clinic;

    // A-01 and its menu.
    ui.goto(&url(s, inst)).await;
    let t = ui.wait_for("同意登録の準備と開始").await;
    assert!(t.contains("試験在宅クリニック") && t.contains("画面番号：A-01"));
    ui.shot("a01").await;
    ui.open_menu().await;
    let t = ui.text().await;
    for entry in [
        "同意登録",
        "すべての同意を取消す",
        "同意照会・更新",
        "よくあるご質問",
    ] {
        assert!(t.contains(entry), "menu lacks {entry}");
    }
    ui.shot("a01-menu").await;
    ui.click(".menu summary").await;

    // B-01: the items, the ? help, the required prescription form.
    ui.click("main form[action$='/flow/register'] button").await;
    let t = ui.wait_for("画面番号：B-01").await;
    assert!(t.contains("処方箋の発行方法を選択") && t.contains("必須"));
    ui.click(".choice-item .help summary").await;
    ui.wait_css(".choice-item .help[open]").await;
    ui.shot("b01").await;
    // Nothing answered: the server says what is missing, beside each item
    // and in a list at the top.
    ui.click("form.choices > button.button--primary").await;
    let t = ui
        .wait_for("この項目が選ばれていません。「同意する」か「同意しない」を選んでください。")
        .await;
    assert!(t.contains("画面番号：B-01"));
    assert!(
        t.contains("「特定健診等情報の提供」が選ばれていません"),
        "{t}"
    );
    assert!(t.contains("「電子処方箋を希望」か「紙の処方箋を希望」を選んでください。"));
    ui.shot("b01-missing").await;
    // すべての項目に同意する keeps the button where the patient tapped it,
    // and the page is not loaded again. (A DOM click: WebDriver's own click
    // scrolls the element to the bottom of the viewport first.)
    let at = |js: &'static str| async move {
        ui.c().execute(js, vec![]).await.unwrap().as_f64().unwrap()
    };
    let before = at(
        "const b = document.querySelector('button[name=all]'); b.scrollIntoView({block: 'center'}); \
         window.zaitakuSamePage = true; return b.getBoundingClientRect().top;",
    )
    .await;
    at("document.querySelector('button[name=all]').click(); return 0;").await;
    ui.wait_css("input[name=item_checkups][value=agree]:checked")
        .await;
    ui.wait_for("すべての項目を「同意する」にしました").await;
    let after =
        at("return document.querySelector('button[name=all]').getBoundingClientRect().top;").await;
    assert!(
        (after - before).abs() < 2.0,
        "moved from {before} to {after}"
    );
    assert_eq!(
        at("return window.zaitakuSamePage ? 1 : 0;").await,
        1.0,
        "the page was loaded again"
    );
    ui.choose("item_checkups", "disagree").await;
    ui.choose("prescription_form", "1").await;
    ui.click("form.choices > button.button--primary").await;

    // B-02, 選択内容を修正する keeps the choices.
    let t = ui.wait_for("画面番号：B-02").await;
    assert!(t.contains("登録内容の確認") && t.contains("電子処方箋を希望"));
    if ui.phone {
        assert!(!t.contains("二次元コード"), "a phone gets one button");
    } else {
        assert!(
            t.contains("スマートフォンで認証する（二次元コード）")
                && t.contains("ICカードリーダーで認証する")
        );
    }
    ui.shot("b02").await;
    ui.click("a[href$='/choose']").await;
    ui.wait_for("画面番号：B-01").await;
    assert!(ui.is_checked("item_checkups", "disagree").await);
    assert!(ui.is_checked("prescription_form", "1").await);
    ui.click("form.choices > button.button--primary").await;
    ui.wait_for("画面番号：B-02").await;

    if ui.phone {
        // The PIN pad, a wrong PIN, then the right one.
        ui.press_authenticate().await;
        let t = ui.wait_for("カードを選んでください").await;
        assert!(
            !t.contains("二次元コード"),
            "a phone is not offered the QR code"
        );
        ui.shot("auth-choose").await;
        // The QR page is for a PC or tablet; its layout at phone width too.
        let choose = ui.c().current_url().await.unwrap().to_string();
        ui.goto(&format!("{choose}/qr")).await;
        ui.wait_for("スマートフォンで二次元コードを読み取ってください")
            .await;
        ui.shot("auth-qr").await;
        ui.goto(&choose).await;
        ui.pick_card(cards.good).await;
        let t = ui.wait_for("暗証番号（数字4桁）を入力してください").await;
        assert!(t.contains("残り3回"));
        assert!(
            t.contains("試験在宅クリニック") && t.contains("同意登録のための本人確認です"),
            "{t}"
        );
        // The pad says how many digits are in, and 「1字消す」 takes one back.
        ui.wait_for("4桁中0桁入力").await;
        ui.click(".keypad button[data-digit='9']").await;
        ui.click(".keypad button[data-digit='8']").await;
        ui.wait_for("4桁中2桁入力").await;
        ui.shot("auth-pin").await;
        ui.click(".keypad button[data-back]").await;
        ui.wait_for("4桁中1桁入力").await;
        ui.click(".keypad button[data-clear]").await;
        ui.wait_for("4桁中0桁入力").await;
        ui.type_pin("9999").await;
        let t = ui.wait_for("暗証番号が違います").await;
        assert!(t.contains("残り2回"));
        assert!(
            ui.c()
                .current_url()
                .await
                .unwrap()
                .as_str()
                .ends_with("?error=wrong_pin"),
            "the PIN is answered with a redirect to a page of its own"
        );
        ui.shot("auth-pin-wrong").await;
        ui.type_pin("1234").await;
        let t = ui.wait_for("認証に成功しました").await;
        assert!(t.contains("同意登録は完了していません"), "{t}");
        ui.shot("auth-done").await;
    } else {
        // The QR code: the patient's own phone reads it and authenticates;
        // the PC moves on by itself.
        ui.click("input[value=qr] + button").await;
        let t = ui
            .wait_for("スマートフォンで二次元コードを読み取ってください")
            .await;
        assert!(t.contains("有効期限まで残り"));
        assert!(ui.c().find(Locator::Css("figure.qr svg")).await.is_ok());
        ui.shot("auth-qr").await;
        let qr_page = ui.c().current_url().await.unwrap().to_string();
        let scanned = qr_page.replace("/qr", "?via=qr");
        let phone = Ui::phone().await;
        phone.goto(&scanned).await;
        let t = phone.wait_for("カードを選んでください").await;
        assert!(
            t.contains("試験在宅クリニック") && t.contains("同意登録のための本人確認です"),
            "the phone says what it authenticates for: {t}"
        );
        phone.pick_card(cards.good).await;
        phone
            .wait_for("暗証番号（数字4桁）を入力してください")
            .await;
        phone.type_pin("1234").await;
        let t = phone
            .wait_for("パソコン・タブレットの画面に戻ってください")
            .await;
        assert!(!t.contains("自動で戻らない場合"));
        assert!(t.contains("同意登録は完了していません"), "{t}");
        phone.shot("auth-done-cross-device").await;
    }

    // B-03: completion with 資格情報.
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    for label in [
        "画面番号：B-03",
        "登録内容",
        "電子処方箋を希望",
        "資格情報",
        "氏名",
        "フリガナ",
        "区分",
        "一部負担割合",
        "限度額適用認定証区分",
        "特定疾病療養受療証認定疾病区分",
        "高齢受給者証一部負担金割合",
        "医療費助成受給者証情報",
    ] {
        assert!(t.contains(label), "completion lacks {label}");
    }
    assert_eq!(
        t.contains("顔写真付きの本人確認書類"),
        !ui.phone,
        "staff check a photo ID after the patient's own phone was used"
    );
    ui.shot("b03").await;
    ui.click(".other-info summary").await;
    let t = ui.wait_for("保険者番号").await;
    assert!(t.contains("生年月日") && t.contains("性別"));
    ui.shot("b03-other").await;
    assert_eq!(history(s, inst).await, [ConsentAction::Register]);

    // B: 同意照会・更新 shows nothing before authenticating.
    ui.goto(&url(s, inst)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("update").await;
    if ui.phone {
        ui.unlock(cards.good, Some("1234")).await;
    } else {
        let t = ui.wait_for("カードを選んでください").await;
        assert!(t.contains("スマートフォンで読み取る（二次元コード）"));
        // The IC card reader reads physical cards, not a phone's certificate.
        for phone_card in [cards.android, cards.iphone] {
            let link = format!("a[href$='/card/{phone_card}']");
            assert!(ui.c().find(Locator::Css(&link)).await.is_err());
        }
        ui.shot("auth-choose").await;
        ui.pick_card(cards.good).await;
        ui.wait_for("暗証番号（数字4桁）を入力してください").await;
        ui.shot("auth-pin").await;
        ui.type_pin("0000").await;
        ui.wait_for("残り2回").await;
        ui.shot("auth-pin-wrong").await;
        ui.type_pin("1234").await;
        let t = ui.wait_for("認証に成功しました").await;
        assert!(t.contains("同意照会は完了していません"), "{t}");
        ui.shot("auth-done").await;
    }
    let t = ui.wait_for("画面番号：C-03").await;
    assert!(t.contains("登録内容の照会、更新内容の選択"));
    assert!(
        ui.is_checked("item_checkups", "disagree").await,
        "stored choice shown"
    );
    assert!(ui.is_checked("prescription_form", "1").await);
    ui.shot("c03").await;
    ui.choose("item_checkups", "agree").await;
    ui.choose("prescription_form", "2").await;
    ui.click("form.choices > button.button--primary").await;
    let t = ui.wait_for("画面番号：C-07").await;
    assert!(t.contains("同意内容の更新確認") && t.contains("紙の処方箋を希望"));
    ui.shot("c07").await;
    ui.press_authenticate().await;
    ui.unlock(cards.good, Some("1234")).await;
    let t = ui
        .wait_for("同意内容の更新が正常に完了いたしました。")
        .await;
    assert!(t.contains("画面番号：C-09") && t.contains("紙の処方箋を希望"));
    ui.shot("c09").await;
    assert_eq!(
        history(s, inst).await,
        [ConsentAction::Register, ConsentAction::Update]
    );

    // C: すべての同意を取消す.
    ui.goto(&url(s, inst)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("cancel").await;
    let t = ui.wait_for("画面番号：C-02").await;
    assert!(t.contains("すべての同意の取消"));
    assert!(t.contains("（処方箋の発行方法を含む）"));
    ui.shot("c02").await;
    ui.press_authenticate().await;
    ui.unlock(cards.good, Some("1234")).await;
    let t = ui
        .wait_for("すべての同意内容・処方箋の発行方法の取消が正常に完了いたしました。")
        .await;
    assert!(t.contains("画面番号：C-10"));
    ui.shot("c10").await;
    assert_eq!(
        history(s, inst).await,
        [
            ConsentAction::Register,
            ConsentAction::Update,
            ConsentAction::Revoke
        ]
    );

    // Back from the completion page: the PIN page of a finished hand-off
    // says so (not that it expired), and leads back to the completion.
    ui.c().back().await.unwrap();
    let t = ui.wait_for("この認証は使用済みです").await;
    assert!(
        t.contains("Z-A-0005") && !t.contains("有効期限が切れました"),
        "{t}"
    );
    ui.shot("auth-used").await;
    ui.link("マイナ在宅受付Webに戻る").await;
    let t = ui.wait_for("画面番号：C-10").await;
    assert!(t.contains("すべての同意内容・処方箋の発行方法の取消が正常に完了いたしました。"));
}

#[tokio::test]
async fn clinic_on_a_phone() {
    let s = site(Backend::Sqlite).await;
    clinic_a_b_c(&Ui::phone().await, &s).await;
}

#[tokio::test]
async fn clinic_on_a_pc() {
    let s = site(Backend::Postgres).await;
    clinic_a_b_c(&Ui::desktop().await, &s).await;
}

/// The PC's QR page waits without reloading itself (a reload makes a screen
/// reader start over): it counts the five minutes down, keeps 「やめる」 on
/// the first screen, and moves on by itself once the phone — here a plain
/// HTTP client — has entered the PIN.
#[tokio::test]
async fn qr_code_on_a_pc_waits_without_reloading() {
    let s = site(Backend::Sqlite).await;
    let ui = &Ui::desktop().await;
    let inst = &s.clinic;
    ui.goto(&url(&s, inst)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.click("main form[action$='/flow/register'] button").await;
    ui.wait_for("画面番号：B-01").await;
    ui.click("button[name=all]").await;
    ui.wait_css("input[name=item_checkups][value=agree]:checked")
        .await;
    ui.choose("prescription_form", "1").await;
    ui.click("form.choices > button.button--primary").await;
    ui.wait_for("画面番号：B-02").await;
    ui.click("input[value=qr] + button").await;
    let t = ui
        .wait_for("スマートフォンで二次元コードを読み取ってください")
        .await;
    assert!(t.contains("試験在宅クリニック") && t.contains("同意登録のための本人確認です"));
    assert!(t.contains("認証の完了を待っています。"));
    assert!(t.contains("認証が終わったらこちら"));
    assert!(ui.c().find(Locator::Css("meta[http-equiv]")).await.is_err());
    let js = |code: &'static str| async move { ui.c().execute(code, vec![]).await.unwrap() };
    // 「やめる」 is on the first screen at 1366×768, without scrolling.
    let bottom = js(
        "return document.querySelector('form[action$=\"/cancel\"] button').getBoundingClientRect().bottom;",
    )
    .await;
    assert!(
        bottom.as_f64().unwrap() <= 768.0,
        "「やめる」 below the fold: {bottom}"
    );
    assert_eq!(js("return window.scrollY;").await.as_f64(), Some(0.0));
    // The page is never reloaded while it waits (a mark on it survives
    // longer than the 2-s polling interval), while the countdown moves.
    let clock = "return document.getElementById('countdown').textContent;";
    js("window.zaitakuNotReloaded = true; return true;").await;
    let before = js(clock).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        js("return window.zaitakuNotReloaded === true;").await,
        serde_json::Value::Bool(true),
        "the page reloaded itself"
    );
    let after = js(clock).await;
    assert_ne!(before, after, "the countdown stands still");
    let left = |v: &serde_json::Value| {
        let (m, s) = v.as_str().unwrap().split_once(':').unwrap();
        m.parse::<i64>().unwrap() * 60 + s.parse::<i64>().unwrap()
    };
    assert!(left(&before) <= 300 && left(&before) - left(&after) >= 4);

    // The patient's phone reads the QR code and enters the PIN.
    let qr_page = ui.c().current_url().await.unwrap().to_string();
    let hand_off = qr_page.trim_end_matches("/qr").to_owned();
    let phone = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148")
        .build()
        .unwrap();
    let wallet = phone
        .get(format!("{hand_off}?via=qr"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(wallet.contains("試験在宅クリニック") && !wallet.contains("二次元コード"));
    let res = phone
        .post(format!("{hand_off}/card/{}", s.cards.good))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // The PC moves on by itself.
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(t.contains("顔写真付きの本人確認書類"), "{t}");
    assert_eq!(history(&s, inst).await, [ConsentAction::Register]);
}

// ---------------------------------------------------------------- pharmacy and nursing station

/// Where a smartphone card is used: on a phone, the phone itself; on a PC,
/// the patient's phone reading the QR code (a PC's IC card reader reads
/// physical cards only). `confirm`: from a confirmation screen's button,
/// else from the authenticator's list.
async fn smartphone_for<'a>(ui: &'a Ui, phone: Option<&'a Ui>, confirm: bool) -> &'a Ui {
    let Some(phone) = phone else {
        if confirm {
            ui.press_authenticate().await;
        }
        return ui;
    };
    if confirm {
        ui.click("input[value=qr] + button").await;
    } else {
        let t = ui.wait_for("カードを選んでください").await;
        assert!(t.contains("スマートフォンで読み取る（二次元コード）"));
        ui.click("a[href$='/qr']").await;
    }
    ui.scan_qr_with(phone).await;
    phone
}

/// A, B, C where no prescription form is asked, with a smartphone card.
async fn a_b_c_without_prescription(
    ui: &Ui,
    s: &Site,
    inst: &StoredInstitution,
    name: &str,
    card: i64,
    pin: Option<&str>,
) {
    ui.goto(&url(s, inst)).await;
    let t = ui.wait_for("画面番号：A-01").await;
    assert!(t.contains(&inst.institution.name));
    ui.click("main form[action$='/flow/register'] button").await;
    let t = ui.wait_for("画面番号：B-01").await;
    assert!(
        !t.contains("処方箋"),
        "{name} does not ask for a prescription form"
    );
    ui.choose("item_surgery", "agree").await;
    ui.choose("item_clinical_and_drug", "agree").await;
    ui.choose("item_checkups", "agree").await;
    ui.choose("item_specific_disease", "disagree").await;
    ui.choose("item_subsidy", "agree").await;
    ui.shot(&format!("b01-{name}")).await;
    ui.click("form.choices > button.button--primary").await;
    let t = ui.wait_for("画面番号：B-02").await;
    assert!(!t.contains("処方箋の発行方法"));
    let phone = if ui.phone {
        None
    } else {
        Some(Ui::phone().await)
    };
    let device = smartphone_for(ui, phone.as_ref(), true).await;
    device.pick_card(card).await;
    match pin {
        Some(pin) => {
            let t = device
                .wait_for("暗証番号（数字4桁）を入力してください")
                .await;
            assert!(t.contains("スマートフォン（Android）"));
            device.type_pin(pin).await;
        }
        None => {
            let t = device.wait_for("生体認証で本人確認をします").await;
            assert!(!t.contains("暗証番号（数字4桁）を入力"));
            if ui.phone {
                ui.shot("auth-biometric").await;
            }
            device.click("form input[name=biometric] + button").await;
        }
    }
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(!t.contains("処方箋の発行方法"));
    assert!(
        t.contains("同意がないため表示されません"),
        "特定疾病 is not shown without consent"
    );
    ui.shot(&format!("b03-{name}")).await;

    ui.goto(&url(s, inst)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("update").await;
    smartphone_for(ui, phone.as_ref(), false)
        .await
        .unlock(card, pin)
        .await;
    let t = ui.wait_for("画面番号：C-03").await;
    assert!(t.contains("同意内容の照会、更新内容の選択"), "{t}");
    assert!(ui.is_checked("item_specific_disease", "disagree").await);
    ui.choose("item_specific_disease", "agree").await;
    ui.click("form.choices > button.button--primary").await;
    ui.wait_for("画面番号：C-07").await;
    smartphone_for(ui, phone.as_ref(), true)
        .await
        .unlock(card, pin)
        .await;
    ui.wait_for("同意内容の更新が正常に完了いたしました。")
        .await;

    ui.goto(&url(s, inst)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("cancel").await;
    let t = ui.wait_for("画面番号：C-02").await;
    assert!(!t.contains("処方箋"), "{t}");
    smartphone_for(ui, phone.as_ref(), true)
        .await
        .unlock(card, pin)
        .await;
    let t = ui
        .wait_for("すべての同意内容の取消が正常に完了いたしました。")
        .await;
    assert!(!t.contains("処方箋"), "{t}");
    assert_eq!(
        history(s, inst).await,
        [
            ConsentAction::Register,
            ConsentAction::Update,
            ConsentAction::Revoke
        ]
    );
}

#[tokio::test]
async fn pharmacy_and_nursing_station_on_a_phone() {
    let s = site(Backend::Sqlite).await;
    let ui = Ui::phone().await;
    a_b_c_without_prescription(
        &ui,
        &s,
        &s.pharmacy,
        "pharmacy",
        s.cards.android,
        Some("5678"),
    )
    .await;
    a_b_c_without_prescription(&ui, &s, &s.nursing, "nursing", s.cards.iphone, None).await;
}

#[tokio::test]
async fn pharmacy_and_nursing_station_on_a_pc() {
    let s = site(Backend::Postgres).await;
    let ui = Ui::desktop().await;
    a_b_c_without_prescription(
        &ui,
        &s,
        &s.pharmacy,
        "pharmacy",
        s.cards.android,
        Some("5678"),
    )
    .await;
    a_b_c_without_prescription(&ui, &s, &s.nursing, "nursing", s.cards.iphone, None).await;
}

// ---------------------------------------------------------------- online care (seed 003)

/// A partner sends the patient over; the patient registers and 「手続きを終了する」
/// brings a signed result back, which the partner verifies. Then a patient
/// who gives up is sent back as not completed.
async fn online_care(ui: &Ui, s: &Site) {
    let inst = &s.online;
    let day = (today() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let return_url = format!("{}/visit/7001", s.partner);
    let from_partner = format!(
        "{}?mode=online&return={}&date={day}&state=rsv-7001",
        url(s, inst),
        return_url.replace(':', "%3A").replace('/', "%2F")
    );
    ui.goto(&from_partner).await;
    let t = ui.wait_for("画面番号：A-01").await;
    assert!(t.contains("オンライン診療等") && t.contains("同意登録をせずに戻る"));
    ui.shot("a01-online").await;
    ui.click("main form[action$='/flow/register'] button").await;
    let t = ui.wait_for("画面番号：B-01").await;
    assert!(t.contains("限度額情報の提供") && t.contains("受診予定日"));
    let at = |label: &str| t.find(label).unwrap_or_else(|| panic!("{label} missing"));
    assert!(
        at("特定健診等情報の提供") < at("限度額情報の提供")
            && at("限度額情報の提供") < at("特定疾病療養受療証情報の提供"),
        "限度額 between 特定健診 and 特定疾病, as seed 003 shows it"
    );
    let date = ui
        .c()
        .find(Locator::Css("input[name=consultation_date]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        date.as_deref(),
        Some(day.as_str()),
        "the partner's date is kept"
    );
    ui.click("button[name=all]").await;
    ui.wait_css("input[name=item_limit_amount][value=agree]:checked")
        .await;
    ui.choose("prescription_form", "1").await;
    ui.shot("b01-online").await;
    ui.click("form.choices > button.button--primary").await;
    let t = ui.wait_for("画面番号：B-02").await;
    assert!(t.contains("限度額情報の提供") && t.contains("当日まで有効"));
    ui.shot("b02-online").await;
    ui.press_authenticate().await;
    ui.unlock(s.cards.good, Some("1234")).await;
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(t.contains("同意の有効期限") && t.contains("受診予定日の当日まで"));
    assert!(t.contains("必ず「手続きを終了する」を押して"));
    ui.shot("b03-online").await;
    ui.link("手続きを終了する").await;
    let t = ui.wait_for("試験オンライン診療").await;
    assert!(
        t.contains(&format!(
            "同意登録の完了を確認しました（register・受診日 {day}・rsv-7001）"
        )),
        "{t}"
    );
    // What the partner got, checked here too, and a tampered copy refused.
    let back = ui.c().current_url().await.unwrap().to_string();
    let jwks: serde_json::Value =
        reqwest::get(format!("{}{}", s.base, zaitaku_proto::partner::KEYS_PATH))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let now = Utc::now().timestamp();
    assert!(zaitaku_proto::partner::verify_return(&back, &return_url, &jwks, now, 600).is_ok());
    let forged = back.replace("zaitaku_state=rsv-7001", "zaitaku_state=rsv-7002");
    assert_ne!(forged, back);
    assert_eq!(
        zaitaku_proto::partner::verify_return(&forged, &return_url, &jwks, now, 600),
        Err(zaitaku_proto::partner::ReturnVerifyError::BadSignature)
    );
    ui.goto(&forged.replace("/visit/7001", "/visit/7002")).await;
    let t = ui.wait_for("試験オンライン診療").await;
    assert!(t.contains("結果を確認できませんでした"), "{t}");

    // The same page under another spelling of its host is not the
    // registered origin: the visit goes on without the way back.
    let look_alike = return_url.replace("127.0.0.1", "localhost");
    assert_ne!(look_alike, return_url);
    ui.goto(&format!(
        "{}?mode=online&return={}&date={day}&state=rsv-7001",
        url(s, inst),
        look_alike.replace(':', "%3A").replace('/', "%2F")
    ))
    .await;
    let t = ui.wait_for("画面番号：A-01").await;
    assert!(t.contains("オンライン診療等") && !t.contains("同意登録をせずに戻る"));

    // Gives up at the authenticator: the refusal page leads back, unsigned
    // as completed.
    ui.goto(&from_partner).await;
    ui.wait_for("画面番号：A-01").await;
    register_until_auth(ui, s, inst).await;
    ui.wait_for("カードを選んでください").await;
    ui.click("form[action$='/cancel'] button").await;
    let t = ui.wait_for("本人認証を中止しました").await;
    assert!(t.contains("同意登録をせずに戻る"));
    ui.shot("error-cancelled-online").await;
    ui.link("同意登録をせずに戻る").await;
    let t = ui.wait_for("試験オンライン診療").await;
    assert!(t.contains("同意登録は完了していません（rsv-7001）"), "{t}");
}

#[tokio::test]
async fn online_care_on_a_phone() {
    let s = site(Backend::Sqlite).await;
    online_care(&Ui::phone().await, &s).await;
}

#[tokio::test]
async fn online_care_on_a_pc() {
    let s = site(Backend::Postgres).await;
    online_care(&Ui::desktop().await, &s).await;
}

// ---------------------------------------------------------------- outcomes

/// What the registry and the card say, as the patient sees it at the end of
/// flow A.
async fn certificate_and_eligibility_outcomes(ui: &Ui, s: &Site) {
    let c = &s.cards;
    let clinic = &s.clinic;

    // Certificate expiring within 3 months: registered, with the warning.
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.expiring, Some("1234")).await;
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(t.contains("有効期限が残り3カ月を切りました"), "{t}");
    ui.shot("b03-expiring").await;

    // Grace period: eligibility shown, medical information not provided.
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.grace, Some("1234")).await;
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(t.contains("猶予期間") && t.contains("資格情報"));
    assert!(
        t.contains("医療情報はこの医療機関等に提供されません"),
        "{t}"
    );
    ui.shot("b03-grace").await;

    // Expired beyond the grace period: refused.
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.expired, Some("1234")).await;
    let t = ui.wait_for("Z-C-0016").await;
    assert!(t.contains("電子証明書の有効期限切れ") && t.contains("画面番号：E-01"));
    ui.shot("error-certificate-expired").await;

    // 保険証未登録 with the way to register.
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.unregistered, Some("1234")).await;
    let t = ui.wait_for("E-C-04-02-A-6002").await;
    assert!(t.contains("保険証未登録") && t.contains("健康保険証利用の登録のしかた"));
    assert!(t.contains("マイナポータル") && t.contains("同意して進む"));
    ui.shot("error-not-registered").await;

    // No qualification, and an ended one.
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.no_qualification, Some("1234")).await;
    let t = ui.wait_for("Z-W-0450").await;
    assert!(t.contains("資格情報が確認できませんでした"));
    ui.shot("error-no-qualification").await;
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.invalid, Some("1234")).await;
    let t = ui.wait_for("Z-W-0451").await;
    assert!(t.contains("この資格は無効です"));
    ui.shot("error-qualification-invalid").await;

    // 医療扶助 and 未就学.
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.assistance, Some("1234")).await;
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(t.contains("医療扶助の対象者です"), "{t}");
    ui.shot("b03-medical-assistance").await;
    register_until_auth(ui, s, clinic).await;
    ui.unlock(c.preschool, Some("1234")).await;
    let t = ui.wait_for("同意登録が正常に完了いたしました。").await;
    assert!(t.contains("義務教育就学前"), "{t}");
    ui.shot("b03-preschool").await;

    // None of the refused ones wrote anything.
    for card in [c.expired, c.unregistered, c.no_qualification, c.invalid] {
        let person = s.state.store.card(card).await.unwrap().unwrap().person_id;
        assert!(
            s.state
                .store
                .consent_history(clinic.id, person)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// The card itself: three wrong PINs lock it, a revoked one is refused, and
/// the patient may stop at any time.
async fn card_outcomes(ui: &Ui, s: &Site) {
    let c = &s.cards;
    let clinic = &s.clinic;

    // Three wrong PINs on the pad: the warning before the last try, the lock.
    register_until_auth(ui, s, clinic).await;
    ui.pick_card(c.to_lock).await;
    ui.wait_for("残り3回").await;
    ui.type_pin("1111").await;
    ui.wait_for("残り2回").await;
    ui.type_pin("2222").await;
    let t = ui.wait_for("残り1回").await;
    assert!(t.contains("あと1回間違えると、暗証番号がロックされます"));
    ui.shot("auth-pin-last-try").await;
    ui.type_pin("3333").await;
    let t = ui.wait_for("暗証番号がロックされています").await;
    assert!(t.contains("市区町村の窓口") && t.contains("Z-A-0003"));
    ui.shot("auth-locked").await;
    ui.link("マイナ在宅受付Webに戻る").await;
    let t = ui.wait_for("画面番号：E-01").await;
    assert!(t.contains("暗証番号がロックされています") && t.contains("Z-A-0003"));
    ui.shot("error-locked").await;
    // The right PIN no longer helps.
    register_until_auth(ui, s, clinic).await;
    ui.pick_card(c.to_lock).await;
    ui.wait_for("暗証番号がロックされています").await;

    // Revoked certificate.
    register_until_auth(ui, s, clinic).await;
    ui.pick_card(c.revoked).await;
    let t = ui.wait_for("このカードは利用できません").await;
    assert!(t.contains("失効") && t.contains("Z-A-0004"));
    ui.shot("auth-revoked").await;
    ui.link("マイナ在宅受付Webに戻る").await;
    let t = ui.wait_for("画面番号：E-01").await;
    assert!(t.contains("Z-A-0004"));
    ui.shot("error-revoked").await;

    // やめる in the authenticator: cancelled before finishing.
    register_until_auth(ui, s, clinic).await;
    ui.wait_for("カードを選んでください").await;
    ui.click("form[action$='/cancel'] button").await;
    let t = ui.wait_for("本人認証を中止しました").await;
    assert!(t.contains("同意の登録・更新・取消も行われていません") && t.contains("Z-W-0442"));
    assert!(
        !t.contains("同意登録をせずに戻る"),
        "no partner to go back to"
    );
    ui.shot("error-cancelled").await;
    ui.link("最初の画面に戻る").await;
    ui.wait_for("画面番号：A-01").await;

    // C with nothing to cancel (nobody has registered at the pharmacy).
    ui.goto(&url(s, &s.pharmacy)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("cancel").await;
    ui.wait_for("画面番号：C-02").await;
    ui.press_authenticate().await;
    ui.unlock(c.good, Some("1234")).await;
    let t = ui.wait_for("Z-W-0453").await;
    assert!(t.contains("取り消す同意がありません"), "{t}");
    ui.shot("error-nothing-to-cancel").await;
}

/// Leaving the flow in the middle: the session runs out, the authenticator
/// never comes back, the URL no longer works; and the FAQ.
async fn interruption_outcomes(ui: &Ui, s: &Site) {
    let c = &s.cards;
    let clinic = &s.clinic;

    // The session runs out on B-01 (30 minutes without a step).
    ui.goto(&url(s, clinic)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.click("main form[action$='/flow/register'] button").await;
    ui.wait_for("画面番号：B-01").await;
    ui.click("button[name=all]").await;
    ui.wait_css("input[name=item_checkups][value=agree]:checked")
        .await;
    ui.choose("prescription_form", "2").await;
    let sid = ui.c().get_named_cookie("zt_flow").await.unwrap();
    let store = &s.state.store;
    let now = Utc::now();
    let data = store.session(sid.value(), now).await.unwrap().unwrap();
    store
        .put_session(
            sid.value(),
            &data,
            now - chrono::Duration::minutes(31),
            now - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    ui.click("form.choices > button.button--primary").await;
    let t = ui.wait_for("セッションの有効期限が切れました").await;
    assert!(t.contains("同意は登録されていません") && t.contains("画面番号：E-02"));
    ui.shot("error-session-expired").await;
    ui.link("最初の画面に戻る").await;
    ui.wait_for("画面番号：A-01").await;

    // The authenticator never comes back: back on B-02 the patient is told,
    // the completion address says so, and trying again works.
    register_until_auth(ui, s, clinic).await;
    ui.wait_for("カードを選んでください").await;
    ui.c().back().await.unwrap();
    let t = ui.wait_for("本人認証が完了していません。").await;
    assert!(t.contains("同意はまだ登録されていません") && t.contains("画面番号：B-02"));
    ui.shot("b02-pending").await;
    ui.goto(&format!("{}/done", url(s, clinic))).await;
    let t = ui.wait_for("画面番号：E-04").await;
    assert!(t.contains("本人認証が完了していません") && t.contains("まだ行われていません"));
    ui.shot("error-auth-pending").await;
    ui.link("もう一度認証する").await;
    ui.wait_for("画面番号：B-02").await;
    ui.press_authenticate().await;
    ui.unlock(c.good, Some("1234")).await;
    ui.wait_for("同意登録が正常に完了いたしました。").await;
    // Flow B: Back from C-03 to the used hand-off and its way back; the
    // visit has no outcome yet, so the service says the authentication is
    // used.
    ui.goto(&url(s, clinic)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("update").await;
    ui.unlock(c.good, Some("1234")).await;
    ui.wait_for("画面番号：C-03").await;
    ui.c().back().await.unwrap();
    ui.wait_for("この認証は使用済みです").await;
    ui.link("マイナ在宅受付Webに戻る").await;
    let t = ui.wait_for("画面番号：E-01").await;
    assert!(
        t.contains("この認証は使用済みです") && t.contains("Z-A-0005"),
        "{t}"
    );
    ui.shot("error-used").await;
    // Flow B abandoned in the authenticator, then the institution URL again.
    ui.goto(&url(s, clinic)).await;
    ui.wait_for("画面番号：A-01").await;
    ui.menu("update").await;
    ui.wait_for("カードを選んでください").await;
    ui.goto(&url(s, clinic)).await;
    let t = ui.wait_for("画面番号：A-01").await;
    assert!(
        t.contains("前回の手続きは、本人認証の途中で終わっています"),
        "{t}"
    );
    ui.shot("a01-unfinished").await;

    // The FAQ, from the menu.
    ui.open_menu().await;
    ui.link("よくあるご質問").await;
    let t = ui.wait_for("画面番号：F-01").await;
    for q in [
        "何を準備すればよいですか。",
        "暗証番号を忘れました。ロックがかかりました。",
        "同意はいつまで有効ですか。",
        "パソコン・タブレットではどう認証しますか。",
    ] {
        assert!(t.contains(q), "FAQ lacks {q}");
    }
    ui.click(".faq__item summary").await;
    ui.wait_css(".faq__item[open]").await;
    ui.shot("faq").await;

    // Unknown, rotated and switched-off URLs: one page for all three.
    ui.goto(&format!("{}/w/{}", s.base, "0123456789abcdef".repeat(4)))
        .await;
    let t = ui.wait_for("このURLではご利用いただけません").await;
    assert!(t.contains("Z-W-0410") && t.contains("画面番号：E-03"));
    ui.shot("error-unavailable-url").await;
    let old = url(s, &s.pharmacy);
    store
        .rotate_url_token(s.pharmacy.id, Utc::now())
        .await
        .unwrap();
    ui.goto(&old).await;
    ui.wait_for("Z-W-0410").await;
    let mut off = s.nursing.institution.clone();
    off.remote_function_enabled = false;
    store
        .update_institution_settings(s.nursing.id, &off, Utc::now())
        .await
        .unwrap();
    ui.goto(&url(s, &s.nursing)).await;
    let t = ui.wait_for("Z-W-0410").await;
    assert!(
        !t.contains(&s.nursing.institution.name),
        "nothing is revealed"
    );
}

#[tokio::test]
async fn outcomes_on_a_phone() {
    let s = site(Backend::Sqlite).await;
    let ui = Ui::phone().await;
    certificate_and_eligibility_outcomes(&ui, &s).await;
    card_outcomes(&ui, &s).await;
    interruption_outcomes(&ui, &s).await;
}

#[tokio::test]
async fn outcomes_on_a_pc() {
    let s = site(Backend::Postgres).await;
    let ui = Ui::desktop().await;
    certificate_and_eligibility_outcomes(&ui, &s).await;
    card_outcomes(&ui, &s).await;
    interruption_outcomes(&ui, &s).await;
}
