//! Every kind of card and every result of マイナ資格確認アプリ in a real
//! headless Chromium, at a phone's, an iPad's and a desktop's size: by 目視,
//! cards whose certificate is about to end and in its grace period, 医療扶助,
//! 未就学 and an ended qualification; an iPhone card (the biometric stand-in)
//! with 特定疾病療養受療証 shown; an Android card after one wrong PIN; an
//! unregistered smartphone (E-C-04-02-A-6002); and an unregistered physical
//! card registered for insurance use in the app (R-01-W → R-02-W → R-03-W),
//! checked while the registration is processed and after.
//!
//! The app is activated over HTTP and its cookies handed to the browser (the
//! activation screens are `staff_app_e2e`'s). The card component is the
//! device's reader at every size: it lists every kind of card and offers no
//! QR code.
//!
//! Set ZAITAKU_SCREENSHOTS=DIR to save a PNG of every screen
//! (`app-<screen>-<size>.png`).

use chrono::{NaiveDate, Utc};
use fantoccini::{Client, Locator};
use zaitaku_domain::account::Role;
use zaitaku_domain::check_result::{
    EXPIRING_MESSAGE, GRACE_MESSAGE, INVALID_MESSAGE, MEDICAL_ASSISTANCE_MESSAGE,
};
use zaitaku_domain::codes::QualificationValidity as V;
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_testkit::client::{Browser, Visitor, between};
use zaitaku_testkit::fixtures::{self, PASSWORD};

use super::admin_e2e::{click, fill, shot, wait_for, wait_url};

/// A card in the demo wallet and the name its result shows.
struct Card {
    id: i64,
    holder: String,
}

struct Cards {
    expiring: Card,
    grace: Card,
    assistance: Card,
    preschool: Card,
    invalid: Card,
    iphone_disease: Card,
    android: Card,
    unregistered_android: Card,
    unregistered: Card,
}

struct Setup {
    base: String,
    store: zaitaku_storage::Store,
    /// The activated app's cookies (device and session).
    cookies: Vec<(String, String)>,
    cards: Cards,
}

async fn setup(url: &str) -> Setup {
    let srv = zaitaku_testkit::server::start(url).await;
    let store = &srv.store;
    let today = fixtures::today();

    // The patients of each case, from a synthetic population; only they are
    // stored. Under 70, so that no 高齢受給者証 crowds the results.
    let people: Vec<_> = zaitaku_synth::Population::new(11, today)
        .persons()
        .take(3000)
        .collect();
    let pick = |f: &dyn Fn(&Eligibility) -> bool| {
        people
            .iter()
            .find(|r| {
                let e = &r.eligibility;
                f(e) && zaitaku_domain::person::age_on(e.person.birth_date, today) < 70
            })
            .expect("the population has this case")
    };
    let valid = |e: &Eligibility| {
        e.person.insurance_use_registered && e.resolve(today).validity == V::Valid
    };
    let assistance_on = |e: &Eligibility| {
        e.resolve(today)
            .qualification
            .unwrap()
            .is_medical_assistance()
    };
    let insured = pick(&|e| valid(e) && !assistance_on(e) && !e.is_preschool(today));
    let assistance = pick(&|e| valid(e) && assistance_on(e));
    let preschool = pick(&|e| valid(e) && e.is_preschool(today) && !assistance_on(e));
    let invalid =
        pick(&|e| e.person.insurance_use_registered && e.resolve(today).validity == V::Invalid);
    let unregistered =
        pick(&|e| !e.person.insurance_use_registered && e.resolve(today).validity == V::Valid);
    let diseased =
        pick(&|e| valid(e) && !assistance_on(e) && e.specific_diseases_on(today).next().is_some());
    // The patient with a specific disease may be `insured` too.
    let mut chosen: Vec<_> = [
        insured,
        assistance,
        preschool,
        invalid,
        unregistered,
        diseased,
    ]
    .into_iter()
    .cloned()
    .collect();
    chosen.sort_by_key(|r| r.eligibility.person.id);
    chosen.dedup_by_key(|r| r.eligibility.person.id);
    store
        .insert_persons(&fixtures::person_records(&chosen))
        .await
        .unwrap();
    // Two patients whose cards' certificates end soon and ended a month ago.
    let (expiring_birth, expiring_issued) = fixtures::expiring_card_dates();
    let (grace_birth, grace_issued) = fixtures::grace_card_dates();
    fixtures::insured_person(
        store,
        900_001,
        "期限 近子",
        "キゲン　チカコ",
        expiring_birth,
    )
    .await;
    fixtures::insured_person(store, 900_002, "猶予 期子", "ユウヨ　キコ", grace_birth).await;

    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        47,
        "試験訪問クリニック",
        true,
    )
    .await;
    fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&a), "nurse1", Role::General, "訪問 看子").await;
    let identity = &srv.state.identity;
    identity.ensure_authorities(Utc::now()).await.unwrap();
    let issue = |person: i64, kind: CardKind, issued_on: NaiveDate| async move {
        identity
            .issue_card(
                &IssueCard {
                    person_id: person,
                    kind,
                    pin: (kind != CardKind::IPhone).then(|| "1234".into()),
                    issued_on,
                    authority_id: None,
                    in_demo_wallet: true,
                },
                Utc::now(),
            )
            .await
            .unwrap()
            .id
    };
    let recent = today - chrono::Duration::days(20);
    let card = |r: &zaitaku_synth::SyntheticRecord, kind: CardKind| {
        let (id, holder) = (r.eligibility.person.id, r.eligibility.person.name.clone());
        async move {
            Card {
                id: issue(id, kind, recent).await,
                holder,
            }
        }
    };
    let cards = Cards {
        expiring: Card {
            id: issue(900_001, CardKind::Physical, expiring_issued).await,
            holder: "期限 近子".into(),
        },
        grace: Card {
            id: issue(900_002, CardKind::Physical, grace_issued).await,
            holder: "猶予 期子".into(),
        },
        assistance: card(assistance, CardKind::Physical).await,
        preschool: card(preschool, CardKind::Physical).await,
        invalid: card(invalid, CardKind::Physical).await,
        iphone_disease: card(diseased, CardKind::IPhone).await,
        android: card(insured, CardKind::Android).await,
        unregistered_android: card(unregistered, CardKind::Android).await,
        unregistered: card(unregistered, CardKind::Physical).await,
    };

    // The app activated over HTTP (seed 002: the nurse has logged in to the
    // administration once), passcode 2580.
    let admin = Browser::login(&srv.base, &a, "aadmin").await;
    Browser::login(&srv.base, &a, "nurse1").await;
    let page = admin.post("/admin/app", &[("memo", "訪問用端末")]).await;
    let code = between(
        &page.body,
        "<p class=\"activation-code\" aria-label=\"アクティベーションコード ",
        "\"",
    )
    .unwrap()
    .to_owned();
    fixtures::tamper(store, "UPDATE activation_codes SET usable_from = 0").await;
    let mut app = Visitor::new(&srv.base);
    let done = app
        .post(
            "/app/register",
            &[
                ("institution_code", a.institution.code.as_str()),
                ("user_id", "nurse1"),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert!(
        done.body.contains("初期登録が完了しました"),
        "{}",
        done.body
    );
    app.get("/app/passcode").await;
    let set = app
        .post("/app/passcode", &[("first", "2580"), ("again", "2580")])
        .await;
    assert!(
        set.body.contains("パスコードを登録しました。"),
        "{}",
        set.body
    );
    Setup {
        base: srv.base.clone(),
        store: srv.store.clone(),
        cookies: app.jar.into_iter().collect(),
        cards,
    }
}

/// The browser takes over the activated app's cookies. WebDriver's Add
/// Cookie is refused for `127.0.0.1` ("unable to set cookie"), so they are
/// written by script, without HttpOnly; the server's next `Set-Cookie` of
/// the same name and path replaces them.
async fn hand_over(c: &Client, s: &Setup) {
    c.goto(&format!("{}/app/offline", s.base)).await.unwrap();
    for (name, value) in &s.cookies {
        c.execute(
            "document.cookie = arguments[0] + '=' + arguments[1] + '; path=/app; SameSite=Lax';",
            vec![name.as_str().into(), value.as_str().into()],
        )
        .await
        .unwrap();
    }
    c.goto(&format!("{}/app/home", s.base)).await.unwrap();
    wait_for(c, "本人認証の方法を選択").await;
}

/// 認証方法選択 → マイナンバーカード（目視） → OK → the card on the virtual
/// reader → 読み取り開始.
async fn read_visually(c: &Client, card: i64) {
    click(c, "button[name=method][value=visual]").await;
    wait_for(c, "券面写真により、本人であることを目視で確認してください").await;
    click(c, "form[action='/app/check'] button[type=submit]").await;
    wait_for(c, "仮想カードリーダー").await;
    click(c, &format!("input[name=card][value='{card}']")).await;
    click(c, "form[action='/app/check/read'] button").await;
}

/// The rendered text of what `css` matches. The body's text also holds the
/// result's copy text (a visually hidden textarea), which no user sees.
async fn seen(c: &Client, css: &str) -> String {
    let found = c
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText).join('\\n');",
            vec![css.into()],
        )
        .await
        .unwrap();
    found.as_str().unwrap_or_default().to_owned()
}

/// 読み取り完了 → 次へ: the result (C-04-01-W) once `needle` shows; returns
/// the text it shows, without the copy text.
async fn result(c: &Client, needle: &str) -> String {
    wait_for(c, "読み取り完了").await;
    click(c, "a[href='/app/result']").await;
    let page = wait_for(c, needle).await;
    assert!(page.contains("C-04-01-W"), "{page}");
    let shown = seen(c, "main > :not(#result-text)").await;
    assert!(shown.contains(needle), "{needle} not shown: {shown}");
    shown
}

/// 「閉じる」: back to 認証方法選択.
async fn close(c: &Client) {
    click(c, "form[action='/app/result/close'] button").await;
    wait_for(c, "本人認証の方法を選択").await;
}

/// How the patient unlocks the card in the card component.
enum Unlock<'a> {
    Biometric,
    /// PINs typed in turn; all but the last are wrong.
    Pins(&'a [&'a str]),
}

/// In the card component after 読み取り開始: the device's reader lists
/// every kind of card (no QR code, whatever the device), then the card's
/// biometric stand-in or PIN.
async fn on_the_card(c: &Client, card: i64, unlock: Unlock<'_>, name: &dyn Fn(&str) -> String) {
    let reader = wait_for(c, "デモ用の仮想カードリーダーです").await;
    assert!(
        !reader.contains("二次元コード") && reader.contains("マイナ資格確認アプリに戻る"),
        "{reader}"
    );
    shot(c, &name("auth-reader")).await;
    click(c, &format!("a[href$='/card/{card}']")).await;
    match unlock {
        Unlock::Biometric => {
            wait_for(c, "生体認証で本人確認をします").await;
            shot(c, &name("auth-biometric")).await;
            click(c, "form input[name=biometric] + button").await;
        }
        Unlock::Pins(pins) => {
            let (right, wrong) = pins.split_last().unwrap();
            let first = wait_for(c, "暗証番号（数字4桁）を入力してください").await;
            assert!(first.contains("残り3回"), "{first}");
            for pin in wrong {
                fill(c, "input[name=pin]", pin).await;
                click(c, "form.pin-form button[type=submit]").await;
                let again = wait_for(c, "暗証番号が違います。もう一度入力してください。").await;
                assert!(again.contains("残り2回"), "{again}");
                shot(c, &name("auth-pin-wrong")).await;
            }
            fill(c, "input[name=pin]", right).await;
            click(c, "form.pin-form button[type=submit]").await;
        }
    }
}

/// 認証方法選択 → a smartphone method → OK → 読み取り開始: at the card
/// component. `disease` ticks 特定疾病療養受療証情報を表示 first; `shoot`
/// photographs the reader page.
async fn start_smartphone(
    c: &Client,
    method: &str,
    disease: bool,
    shoot: bool,
    name: &dyn Fn(&str) -> String,
) {
    if disease {
        click(c, "input[name=disease]").await;
    }
    click(c, &format!("button[name=method][value={method}]")).await;
    let confirm = if method == "iphone" {
        wait_for(
            c,
            "iPhoneのマイナンバーカードの表示と、生体認証の実施をお願いしてください",
        )
        .await
    } else {
        wait_for(
            c,
            "Androidのスマホ用電子証明書の暗証番号（数字4桁）を入力していただきます",
        )
        .await
    };
    assert_eq!(
        confirm.contains("特定疾病療養受療証情報を表示します。"),
        disease,
        "{confirm}"
    );
    if disease {
        shot(c, &name("c02-confirm-iphone-disease")).await;
    }
    click(c, "form[action='/app/check'] button[type=submit]").await;
    wait_for(
        c,
        if method == "iphone" {
            "患者のiPhone上部をカードリーダーの中央に近づけてもらい"
        } else {
            "患者のスマートフォンのNFC読み取り位置"
        },
    )
    .await;
    if shoot {
        shot(c, &name(&format!("c0402-read-{method}"))).await;
    }
    click(c, "a[href^='/auth/authorize']").await;
}

/// A result read by 目視: the message above the table (none for 未就学),
/// rows the table shows, what is not shown, the screenshot's name.
struct Visual<'a> {
    card: &'a Card,
    message: Option<&'a str>,
    rows: &'a [&'a str],
    absent: &'a [&'a str],
    screen: &'a str,
}

async fn every_card(c: &Client, s: &Setup, size: &str) {
    let name = |screen: &str| format!("app-{screen}-{size}");
    let k = &s.cards;
    hand_over(c, s).await;

    // 1. By 目視 (the setting after activation): each message of the seed,
    // in its box above the table, and what the table says.
    let cases = [
        Visual {
            card: &k.expiring,
            message: Some(EXPIRING_MESSAGE),
            rows: &["保険者番号"],
            absent: &[GRACE_MESSAGE, INVALID_MESSAGE],
            screen: "expiring",
        },
        Visual {
            card: &k.grace,
            message: Some(GRACE_MESSAGE),
            rows: &["保険者番号"],
            absent: &[EXPIRING_MESSAGE, INVALID_MESSAGE],
            screen: "grace",
        },
        Visual {
            card: &k.assistance,
            message: Some(MEDICAL_ASSISTANCE_MESSAGE),
            rows: &["福祉事務所名", "医療扶助"],
            absent: &[INVALID_MESSAGE, "保険者番号"],
            screen: "assistance",
        },
        Visual {
            card: &k.preschool,
            message: None,
            rows: &["義務教育就学前"],
            absent: &[INVALID_MESSAGE],
            screen: "preschool",
        },
        Visual {
            card: &k.invalid,
            message: Some(INVALID_MESSAGE),
            rows: &[],
            absent: &[],
            screen: "invalid",
        },
    ];
    for v in cases {
        let screen = v.screen;
        read_visually(c, v.card.id).await;
        let t = result(c, &v.card.holder).await;
        let boxed = seen(c, "main .message").await;
        match v.message {
            Some(m) => assert!(boxed.contains(m), "{screen}: {boxed}"),
            None => assert!(boxed.trim().is_empty(), "{screen}: {boxed}"),
        }
        let table = seen(c, "main .result-table").await;
        for row in v.rows {
            assert!(table.contains(row), "{screen}: {row} not in {table}");
        }
        for needle in v.absent {
            assert!(!t.contains(needle), "{screen}: {needle} in {t}");
        }
        shot(c, &name(&format!("c0401-result-{screen}"))).await;
        close(c).await;
    }

    // 2. iPhone, 特定疾病療養受療証 with the patient's consent: a closed
    // section until opened.
    start_smartphone(c, "iphone", true, true, &name).await;
    on_the_card(c, k.iphone_disease.id, Unlock::Biometric, &name).await;
    let t = result(c, "特定疾病療養受療証").await;
    assert!(t.contains(&k.iphone_disease.holder), "{t}");
    // The body's text also holds the hidden copy text, so the section is
    // looked at by itself: closed, only its summary is rendered.
    let section = c
        .find(Locator::XPath(
            "//details[summary[normalize-space()='特定疾病療養受療証']]",
        ))
        .await
        .unwrap();
    assert_eq!(section.text().await.unwrap().trim(), "特定疾病療養受療証");
    section
        .find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let opened = section.text().await.unwrap();
    assert!(
        opened.contains("自己負担額") && opened.contains("疾病区分") && opened.contains("円"),
        "{opened}"
    );
    shot(c, &name("c0401-result-disease")).await;
    close(c).await;

    // 3. Android by its PIN, mistyped once.
    start_smartphone(c, "android", false, true, &name).await;
    on_the_card(c, k.android.id, Unlock::Pins(&["9999", "1234"]), &name).await;
    let t = result(c, &k.android.holder).await;
    assert!(t.contains("医療保険") && t.contains("保険者番号"), "{t}");
    assert!(!t.contains("特定疾病療養受療証"), "not asked for: {t}");
    shot(c, &name("c0401-result-android")).await;
    close(c).await;

    // 4. A smartphone whose holder is not registered for insurance use: the
    // seed's dialog, which sends the patient to マイナポータル.
    start_smartphone(c, "android", false, false, &name).await;
    on_the_card(c, k.unregistered_android.id, Unlock::Pins(&["1234"]), &name).await;
    let t = wait_for(c, "E-C-04-02-A-6002").await;
    assert!(t.contains("保険証未登録"), "{t}");
    assert!(
        t.contains("患者ご自身のスマートフォンでマイナポータルへアクセスし"),
        "{t}"
    );
    assert!(
        !t.contains("健康保険証利用登録する"),
        "only for a physical card: {t}"
    );
    shot(c, &name("e6002")).await;
    click(c, "main a[href='/app/home']").await;
    wait_for(c, "本人認証の方法を選択").await;

    // 5. The same patient's physical card by 目視: 健康保険証利用登録 in the app.
    read_visually(c, k.unregistered.id).await;
    let t = wait_for(c, "健康保険証利用登録する").await;
    assert!(
        t.contains("E-C-04-02-A-6002") && t.contains("R-01-W"),
        "{t}"
    );
    shot(c, &name("r01-unregistered")).await;
    click(c, "a[href='/app/insurance/terms']").await;
    wait_for(c, "処理中に資格確認を行うと、処理中である旨が表示されます").await;
    shot(c, &name("r02-terms")).await;
    click(c, "form[action='/app/insurance'] button[type=submit]").await;
    wait_for(c, "暗証番号（数字4桁）は患者ご本人に入力していただきます").await;
    shot(c, &name("c0402-read-registration")).await;
    click(c, "a[href^='/auth/authorize']").await;
    // A physical card: the PC's IC card reader lists it, no QR code.
    on_the_card(c, k.unregistered.id, Unlock::Pins(&["1234"]), &name).await;
    let t = wait_for(c, "保険証利用登録が完了しました").await;
    assert!(t.contains("R-03-W") && t.contains("資格確認する"), "{t}");
    shot(c, &name("r03-registered")).await;
    click(c, "main a[href='/app/home']").await;
    wait_for(c, "本人認証の方法を選択").await;
    // At once: still being processed.
    read_visually(c, k.unregistered.id).await;
    let t = wait_for(c, "Z-C-0107").await;
    assert!(t.contains("健康保険証利用登録の処理中です。"), "{t}");
    // The card was read well: the headline says what is going on.
    let headline = seen(c, "main h1").await;
    assert_eq!(headline.trim(), "健康保険証利用登録の処理中");
    shot(c, &name("c0402-registration-pending")).await;
    click(c, "main a[href='/app/home']").await;
    wait_for(c, "本人認証の方法を選択").await;
    // Once in force (the test does not wait the delay), the check goes through.
    fixtures::tamper(
        &s.store,
        "UPDATE insurance_registrations SET effective_at = 0",
    )
    .await;
    read_visually(c, k.unregistered.id).await;
    let t = result(c, &k.unregistered.holder).await;
    assert!(
        t.contains("医療保険") && !t.contains(INVALID_MESSAGE),
        "{t}"
    );
    close(c).await;
    wait_url(c, "/app/home").await;
}

async fn every_card_at(width: u32, height: u32, mobile: bool, size: &str) {
    let db = zaitaku_testkit::sqlite();
    let s = setup(&db.url).await;
    let b = zaitaku_testkit::chromium::browser(width, height, mobile).await;
    every_card(&b.client, &s, size).await;
}

#[tokio::test]
async fn every_card_and_result_on_a_phone() {
    every_card_at(390, 844, true, "phone").await;
}

#[tokio::test]
async fn every_card_and_result_on_an_ipad() {
    every_card_at(820, 1180, true, "ipad").await;
}

#[tokio::test]
async fn every_card_and_result_on_a_desktop() {
    every_card_at(1366, 768, false, "desktop").await;
}
