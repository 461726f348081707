//! An administrator's day in a real headless Chromium, as a new user would go
//! through it: log in (after one wrong password), switch the function on
//! (first forgetting the terms), fetch the URL, QR code and poster, see a
//! patient who just consented on their phone, register a 照会番号, read the
//! drug history, find that read in the audit log, rotate the URL, register a
//! colleague; then the operator verifies the audit chain. On SQLite and
//! PostgreSQL.
//!
//! Set ZAITAKU_SCREENSHOTS=DIR to save a PNG of every screen.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use fantoccini::{Client, Locator};
use zaitaku_domain::account::Role;
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{NewAccount, Store};
use zaitaku_testkit::on_both;
use zaitaku_web::AppState;

const PASSWORD: &str = "Zaitaku#2026";

struct Site {
    base: String,
    code: String,
    token: String,
    card: i64,
    patient_name: String,
    /// A month in which the patient has drug records.
    drug_month: NaiveDate,
    store: Store,
}

async fn site(database_url: &str) -> Site {
    let store = Store::open(database_url).await.unwrap();
    let today = zaitaku_web::today();
    let people = zaitaku_testkit::fixtures::population(&store, 7, today, 300).await;
    let chosen = people
        .iter()
        .find(|r| {
            let e = &r.eligibility;
            e.person.insurance_use_registered
                && e.resolve(today).validity == QualificationValidity::Valid
                && !r.drugs.is_empty()
        })
        .unwrap();
    let drug_month = chosen
        .drugs
        .iter()
        .map(|d| d.dispensed_on)
        .max()
        .unwrap()
        .with_day(1)
        .unwrap();
    let code = InstitutionCode::build(
        Prefecture::new(13).unwrap(),
        InstitutionKind::Medical,
        1,
        41,
    )
    .unwrap();
    // Function off: the administrator switches it on in the test.
    let inst = Institution::new(code.clone(), "試験訪問クリニック", false).unwrap();
    let inst = store
        .insert_institution(
            &inst,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let hash = zaitaku_web::admin::hash_password(PASSWORD).unwrap();
    for (user_id, role, name, kana) in [
        ("admin01", Role::Admin, "管理 太郎", "カンリ　タロウ"),
        (
            "viewer01",
            Role::MedicalViewer,
            "薬局 次郎",
            "ヤッキョク　ジロウ",
        ),
        ("staff01", Role::General, "訪問 花子", "ホウモン　ハナコ"),
    ] {
        store
            .insert_account(
                &NewAccount {
                    institution_id: Some(inst.id),
                    user_id,
                    role,
                    name,
                    name_kana: kana,
                    start_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                    password_hash: &hash,
                    must_change_password: false,
                },
                Utc::now(),
            )
            .await
            .unwrap();
    }
    store
        .insert_account(
            &NewAccount {
                institution_id: None,
                user_id: "ops01",
                role: Role::Operator,
                name: "運用 三郎",
                name_kana: "ウンヨウ　サブロウ",
                start_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                password_hash: &hash,
                must_change_password: false,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), base.clone()).await.unwrap();
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    let card = state
        .identity
        .issue_card(
            &IssueCard {
                person_id: chosen.eligibility.person.id,
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
        code: code.as_str().to_owned(),
        token: inst.url_token,
        card,
        patient_name: chosen.eligibility.person.name.clone(),
        drug_month,
        store,
    }
}

/// Every screen shot is also checked: each link and button a target of at
/// least 44×44 px, and no two landmarks of the same kind and name.
pub(super) async fn shot(c: &Client, name: &str) {
    let small = c
        .execute(
            r#"const out = [];
for (const el of document.querySelectorAll('a[href], button, summary, select')) {
  if (el.classList.contains('skip')) continue;
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
  if (r.height < 44 || r.width < 44) {
    out.push(el.tagName + ' ' + el.textContent.trim().slice(0, 30) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
  }
}
return out;"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(small, serde_json::json!([]), "{name}: targets under 44 px");
    let duplicates = c
        .execute(
            r#"const named = (el) => {
  const label = el.getAttribute('aria-label');
  if (label) return label;
  const by = el.getAttribute('aria-labelledby');
  if (!by) return '';
  return by.split(' ').map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
};
const implicit = { HEADER: 'banner', FOOTER: 'contentinfo', MAIN: 'main', NAV: 'navigation', ASIDE: 'complementary', SECTION: 'region', FORM: 'form' };
const seen = [];
const found = document.querySelectorAll('header, footer, main, nav, aside, section[aria-label], section[aria-labelledby], form[aria-label], form[aria-labelledby], [role]');
for (const el of found) {
  const role = el.getAttribute('role') || implicit[el.tagName];
  if (!role || !['banner', 'contentinfo', 'main', 'navigation', 'complementary', 'region', 'form', 'search'].includes(role)) continue;
  if ((el.tagName === 'HEADER' || el.tagName === 'FOOTER') && el.closest('main, section, article, aside, nav')) continue;
  seen.push(role + ':' + named(el));
}
return seen.filter((r, i) => seen.indexOf(r) !== i);"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        duplicates,
        serde_json::json!([]),
        "{name}: two landmarks alike"
    );
    zaitaku_testkit::shot(c, name).await;
}

pub(super) async fn text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

pub(super) async fn wait_for(c: &Client, needle: &str) -> String {
    for _ in 0..60 {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("page never showed {needle:?}: {}", text(c).await);
}

/// Clicks the element, retrying while the previous page is still being
/// replaced (a stale or not-yet-present element).
pub(super) async fn click(c: &Client, css: &str) {
    let mut last = String::new();
    for _ in 0..30 {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.click().await {
                Ok(()) => return,
                Err(err) => last = err.to_string(),
            },
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css}: {last}");
}

/// Waits until the address holds `part` (a submitted form's new page).
pub(super) async fn wait_url(c: &Client, part: &str) {
    for _ in 0..60 {
        if c.current_url()
            .await
            .is_ok_and(|u| u.as_str().contains(part))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never reached an address with {part:?}");
}

pub(super) async fn fill(c: &Client, css: &str, value: &str) {
    let field = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn value_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

pub(super) async fn login(c: &Client, base: &str, code: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/admin/login")).await.unwrap();
    wait_for(c, "ログイン").await;
    fill(c, "#institution_code", code).await;
    fill(c, "#user_id", user).await;
    fill(c, "#password", password).await;
    click(c, "form button[type=submit]").await;
}

/// The patient registers on their own phone through the institution URL.
async fn patient_registers(url: &str, card: i64) {
    let b = zaitaku_testkit::browser(390, 844, true).await;
    let c = &b.client;
    c.goto(url).await.unwrap();
    wait_for(c, "同意登録の準備と開始").await;
    click(c, "main form button[type=submit]").await;
    wait_for(c, "すべての項目に同意する").await;
    click(c, "button[name=all]").await;
    click(c, "form.choices > button.button--primary").await;
    wait_for(c, "登録内容の確認").await;
    click(c, "form[action$='/auth'] button").await;
    wait_for(c, "カードを選んでください").await;
    click(c, &format!("a[href$='/card/{card}']")).await;
    wait_for(c, "暗証番号（数字4桁）を入力してください").await;
    for d in "1234".chars() {
        click(c, &format!(".keypad button[data-digit='{d}']")).await;
    }
    click(c, ".pin-form button[type=submit]").await;
    wait_for(c, "同意登録が正常に完了いたしました。").await;
}

async fn an_administrators_day_on_a_desktop(database_url: &str) {
    let s = site(database_url).await;
    let b = zaitaku_testkit::browser(1366, 768, false).await;
    let c = &b.client;
    let old_url = format!("{}/w/{}", s.base, s.token);

    // A wrong password first: the answer reveals nothing.
    login(c, &s.base, &s.code, "admin01", "Wrong#2026").await;
    wait_for(
        c,
        "医療機関等コード、ユーザID、またはパスワードが正しくありません。",
    )
    .await;
    shot(c, "admin-login-error-desktop").await;
    login(c, &s.base, &s.code, "admin01", PASSWORD).await;
    let t = wait_for(c, "メニュー").await;
    assert!(t.contains("「利用しない」になっています"), "{t}");
    shot(c, "admin-menu-desktop").await;

    // 環境設定情報更新: 利用する without the terms is refused, then with them;
    // a partner origin with a path is named by its line.
    click(c, "a[href='/admin/settings']").await;
    wait_for(c, "環境設定情報更新").await;
    click(c, "input[name=function][value=on]").await;
    fill(
        c,
        "#partner_origins",
        "https://online-care.example.jp\nhttps://online-care.example.jp/visit",
    )
    .await;
    click(c, "form.settings > button[type=submit]").await;
    let t = wait_for(c, "Z-W-0610").await;
    assert!(t.contains("利用規約を確認しました"));
    assert!(t.contains("2行目：") && t.contains("Z-V-0023"), "{t}");
    shot(c, "admin-settings-error-desktop").await;
    click(c, "input[name=terms]").await;
    click(c, "input[name=function][value=on]").await;
    fill(c, "#partner_origins", "https://online-care.example.jp").await;
    click(c, "form.settings > button[type=submit]").await;
    let t = wait_for(c, "環境設定情報を更新しました。").await;
    assert!(t.contains("利用規約の確認："));
    assert_eq!(
        value_of(c, "#partner_origins").await,
        "https://online-care.example.jp"
    );
    shot(c, "admin-settings-desktop").await;

    // 医療機関等別URL: the URL, the QR code, downloads and the poster.
    click(c, "nav.admin-menu a[href='/admin/url']").await;
    wait_for(c, "医療機関等別URL取得・変更").await;
    assert_eq!(value_of(c, "#institution-url").await, old_url);
    assert!(c.find(Locator::Css("figure.qr svg")).await.is_ok());
    assert!(
        c.find(Locator::Css("a[href='/admin/url/qr.png']"))
            .await
            .is_ok()
    );
    shot(c, "admin-url-desktop").await;
    c.goto(&format!("{}/admin/url/poster", s.base))
        .await
        .unwrap();
    let t = wait_for(c, "二次元コードを読み取ってください").await;
    assert!(t.contains("試験訪問クリニック") && t.contains(&old_url));
    shot(c, "admin-poster-desktop").await;

    // This PC becomes one of the clinic's devices.
    c.goto(&format!("{}/admin/devices", s.base)).await.unwrap();
    wait_for(c, "医療機関等の端末登録").await;
    fill(c, "#memo", "受付のパソコン").await;
    click(c, "form[action='/admin/devices'] button[type=submit]").await;
    let t = wait_for(c, "この端末を医療機関等の端末として登録しました。").await;
    assert!(t.contains("受付のパソコン") && t.contains("利用中"), "{t}");
    shot(c, "admin-devices-desktop").await;

    // The receipt computer gets its link credential, shown once with the
    // command that starts the folder agent; 再発行 asks first.
    c.goto(&format!("{}/admin/oqs-links", s.base))
        .await
        .unwrap();
    wait_for(c, "認証情報の発行").await;
    shot(c, "admin-oqs-links-empty-desktop").await;
    fill(c, "#label", "受付レセコン").await;
    click(c, "input[name=character_code][value='1']").await;
    click(c, "form[action='/admin/oqs-links'] button[type=submit]").await;
    wait_for(c, "この認証情報はこの画面でのみ表示されます。").await;
    let credential = value_of(c, "#credential").await;
    assert!(credential.starts_with("zoqs_"), "{credential}");
    assert!(value_of(c, "#command").await.ends_with(&credential));
    shot(c, "admin-oqs-link-issued-desktop").await;
    c.goto(&format!("{}/admin/oqs-links", s.base))
        .await
        .unwrap();
    let t = wait_for(c, "発行した認証情報").await;
    assert!(t.contains("受付レセコン") && t.contains("Shift_JIS") && t.contains("有効"));
    assert!(!t.contains(&credential));
    shot(c, "admin-oqs-links-desktop").await;
    click(c, "a[aria-label='受付レセコンの認証情報を再発行']").await;
    wait_for(c, "認証情報を再発行しますか").await;
    shot(c, "admin-oqs-link-rotate-desktop").await;

    // A patient consents on their own phone; the administrator finds them
    // by name, flagged for a photo-ID check.
    patient_registers(&old_url, s.card).await;
    c.goto(&format!("{}/admin", s.base)).await.unwrap();
    click(c, "nav.menu-groups a[href='/admin/patients']").await;
    wait_for(c, "同意取得済み患者一覧").await;
    let family = s
        .patient_name
        .split([' ', '\u{3000}'])
        .next()
        .unwrap()
        .to_owned();
    fill(c, "#name", &family).await;
    click(c, "form.filters button[type=submit]").await;
    wait_url(c, "name=").await;
    let t = wait_for(c, "人").await;
    assert!(t.contains(&s.patient_name), "{t}");
    assert!(t.contains("訪問診療等"));
    assert!(
        t.contains("要確認") && t.contains("患者ご自身の端末"),
        "{t}"
    );
    shot(c, "admin-patients-desktop").await;
    click(c, "table a[href^='/admin/patients/']").await;
    let t = wait_for(c, "同意の履歴").await;
    assert!(t.contains("資格情報") && t.contains("一部負担割合"));
    assert!(
        t.contains("郵便番号")
            && t.contains("住所")
            && t.contains("交付年月日")
            && t.contains("有効期限"),
        "{t}"
    );
    fill(c, "#reference", "SHINSATSU-0001").await;
    click(c, "form[action$='/reference'] button").await;
    wait_for(c, "照会番号を登録しました。").await;
    click(c, "form[action$='/requery'] button").await;
    wait_for(c, "再照会しました").await;
    shot(c, "admin-patient-desktop").await;

    // The drug history, by 診療年月.
    click(c, "a[href*='/medical?kind=drugs']").await;
    wait_for(c, "薬剤情報").await;
    let month = s.drug_month.format("%Y-%m").to_string();
    let current = c.current_url().await.unwrap();
    c.goto(&format!(
        "{}&from={month}&to={month}",
        current.as_str().split('&').next().unwrap()
    ))
    .await
    .unwrap();
    let t = wait_for(c, "薬剤名").await;
    assert!(t.contains("件") && t.contains("日分"), "{t}");
    assert!(
        t.contains("一般名") && t.contains("処方日") && t.contains("入外/調剤"),
        "{t}"
    );
    shot(c, "admin-medical-desktop").await;

    // The read is in the institution's audit log, in words, by patient.
    c.goto(&format!("{}/admin/audit", s.base)).await.unwrap();
    wait_for(c, "監査ログ").await;
    let category = c.find(Locator::Css("#category")).await.unwrap();
    category.select_by_value("medical.read").await.unwrap();
    fill(c, "#patient", &family).await;
    click(c, "form.filters button[type=submit]").await;
    wait_url(c, "category=medical.read").await;
    let t = wait_for(c, "新しい順に").await;
    assert!(
        t.contains("薬剤情報等の閲覧") && t.contains("管理 太郎（admin01）") && t.contains("成功"),
        "{t}"
    );
    assert!(
        t.contains(&s.patient_name) && !t.contains("\"kind\""),
        "{t}"
    );
    shot(c, "admin-audit-desktop").await;

    // 変更: a new URL, the old one stops at once.
    c.goto(&format!("{}/admin/url", s.base)).await.unwrap();
    click(c, "a[href='/admin/url/rotate']").await;
    wait_for(c, "URLを変更しますか").await;
    shot(c, "admin-url-rotate-desktop").await;
    click(c, "form[action='/admin/url/rotate'] button").await;
    wait_for(c, "新しいURLを発行しました。").await;
    let new_url = value_of(c, "#institution-url").await;
    assert_ne!(new_url, old_url);
    c.goto(&old_url).await.unwrap();
    wait_for(c, "このURLではご利用いただけません").await;
    c.goto(&new_url).await.unwrap();
    wait_for(c, "同意登録の準備と開始").await;

    // A colleague's account, with a temporary password shown once.
    c.goto(&format!("{}/admin/accounts/new", s.base))
        .await
        .unwrap();
    wait_for(c, "アカウント管理（登録）").await;
    click(c, "input[name=role][value=medical_viewer]").await;
    fill(c, "#user_id", "nurse02").await;
    fill(c, "#name", "看護 四郎").await;
    fill(c, "#name_kana", "カンゴ　シロウ").await;
    shot(c, "admin-account-new-desktop").await;
    click(c, "form[action='/admin/accounts/new'] button[type=submit]").await;
    wait_for(c, "仮パスワード").await;
    let temporary = c
        .find(Locator::Css("#temp-password"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(temporary.chars().count(), 12);
    shot(c, "admin-account-created-desktop").await;
    c.goto(&format!("{}/admin/accounts", s.base)).await.unwrap();
    let t = wait_for(c, "アカウント一覧").await;
    assert!(t.contains("nurse02") && t.contains("仮パスワード"));
    shot(c, "admin-accounts-desktop").await;
    let audit = s.store.audit_records(Some("medical."), 10).await.unwrap();
    assert!(audit.iter().any(|r| r.outcome == "ok"));
}
on_both!(an_administrators_day_on_a_desktop);

async fn roles_on_a_phone_and_the_operator(database_url: &str) {
    let s = site(database_url).await;
    let url = format!("{}/w/{}", s.base, s.token);
    // Switch the function on directly: this test is about the other roles.
    let inst = s
        .store
        .institution_by_code(&InstitutionCode::parse(&s.code).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut i = inst.institution.clone();
    i.remote_function_enabled = true;
    s.store
        .update_institution_settings(inst.id, &i, Utc::now())
        .await
        .unwrap();
    patient_registers(&url, s.card).await;

    let b = zaitaku_testkit::browser(390, 844, true).await;
    let c = &b.client;
    // 医療情報閲覧: the list, the patient, the drug history.
    login(c, &s.base, &s.code, "viewer01", PASSWORD).await;
    let t = wait_for(c, "メニュー").await;
    assert!(!t.contains("アカウント管理") && !t.contains("環境設定情報更新"));
    shot(c, "admin-menu-phone").await;
    c.goto(&format!("{}/admin/patients", s.base)).await.unwrap();
    wait_for(c, &s.patient_name).await;
    shot(c, "admin-patients-phone").await;
    click(c, "table a[href^='/admin/patients/']").await;
    wait_for(c, "同意の履歴").await;
    shot(c, "admin-patient-phone").await;
    click(c, "a[href*='/medical?kind=drugs']").await;
    wait_for(c, "診療年月（開始）").await;
    shot(c, "admin-medical-phone").await;
    // Not for this role: the settings page.
    c.goto(&format!("{}/admin/settings", s.base)).await.unwrap();
    let t = wait_for(c, "この画面を利用する権限がありません").await;
    assert!(
        t.contains("画面番号：K-E-01") && t.contains("メニューに戻る"),
        "{t}"
    );
    shot(c, "admin-forbidden-phone").await;
    c.goto(&format!("{}/admin", s.base)).await.unwrap();
    click(c, "button.who__logout").await;
    wait_for(c, "ログイン").await;

    // 一般利用者: eligibility yes, medical information no.
    login(c, &s.base, &s.code, "staff01", PASSWORD).await;
    wait_for(c, "メニュー").await;
    c.goto(&format!("{}/admin/patients", s.base)).await.unwrap();
    wait_for(c, &s.patient_name).await;
    click(c, "table a[href^='/admin/patients/']").await;
    let t = wait_for(c, "同意の履歴").await;
    assert!(!t.contains("薬剤情報を見る"));
    let detail = c.current_url().await.unwrap();
    c.goto(&format!("{}/medical?kind=drugs", detail.as_str()))
        .await
        .unwrap();
    wait_for(c, "Z-W-0603").await;

    // The administrator on a phone: devices, the audit log, the poster.
    let b = zaitaku_testkit::browser(390, 844, true).await;
    let c = &b.client;
    login(c, &s.base, &s.code, "admin01", PASSWORD).await;
    wait_for(c, "メニュー").await;
    c.goto(&format!("{}/admin/devices", s.base)).await.unwrap();
    wait_for(
        c,
        "この端末（いま使っているブラウザ）は登録されていません。",
    )
    .await;
    shot(c, "admin-devices-phone").await;
    c.goto(&format!("{}/admin/audit?category=patient.view", s.base))
        .await
        .unwrap();
    let t = wait_for(c, "新しい順に").await;
    assert!(t.contains("患者情報の表示"), "{t}");
    shot(c, "admin-audit-phone").await;
    c.goto(&format!("{}/admin/url/poster", s.base))
        .await
        .unwrap();
    wait_for(c, "二次元コードを読み取ってください").await;
    shot(c, "admin-poster-phone").await;

    // No permission, on a desktop: the menu of the role and the way back.
    let b = zaitaku_testkit::browser(1366, 768, false).await;
    let c = &b.client;
    login(c, &s.base, &s.code, "viewer01", PASSWORD).await;
    wait_for(c, "メニュー").await;
    c.goto(&format!("{}/admin/settings", s.base)).await.unwrap();
    let t = wait_for(c, "この画面を利用する権限がありません").await;
    assert!(
        t.contains("画面番号：K-E-01") && t.contains("メニューに戻る"),
        "{t}"
    );
    shot(c, "admin-forbidden-desktop").await;

    // The operator: institutions, the whole audit log, the chain verified.
    let b = zaitaku_testkit::browser(1366, 768, false).await;
    let c = &b.client;
    c.goto(&format!("{}/operator/login", s.base)).await.unwrap();
    wait_for(c, "ログイン").await;
    // The operator's form asks for no institution code.
    let code_field = c.find(Locator::Css("#institution_code")).await;
    assert!(
        code_field
            .as_ref()
            .is_err_and(fantoccini::error::CmdError::is_no_such_element),
        "{code_field:?}"
    );
    fill(c, "#user_id", "ops01").await;
    fill(c, "#password", PASSWORD).await;
    click(c, "form button[type=submit]").await;
    let t = wait_for(c, "医療機関等一覧").await;
    assert!(t.contains(&s.code) && t.contains("試験訪問クリニック"));
    shot(c, "operator-home-desktop").await;
    c.goto(&format!("{}/operator/audit", s.base)).await.unwrap();
    wait_for(c, "監査ログ（全体）").await;
    click(c, "form[action='/operator/audit/verify'] button").await;
    wait_for(c, "監査ログの連鎖は正常です。").await;
    shot(c, "operator-audit-desktop").await;
}
on_both!(roles_on_a_phone_and_the_operator);
