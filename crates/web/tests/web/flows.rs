//! Flows A, B and C over HTTP against the real server, on SQLite and
//! PostgreSQL, for each kind of institution and the failure outcomes.

use chrono::{NaiveDate, Utc};
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::consent::{CareKind, Channel, Choice, ConsentAction, ConsentItem};
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::partner_origin::PartnerOrigin;
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{Store, StoredInstitution};
use zaitaku_testkit::on_both;
use zaitaku_web::AppState;

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148";

/// The origin registered for the clinic's online-care partner.
const PARTNER: &str = "https://partner.example";

struct World {
    base: String,
    state: AppState,
    clinic: StoredInstitution,
    pharmacy: StoredInstitution,
    /// Registered, qualification in force.
    good_card: i64,
    good_person: i64,
    /// Card of a person not registered for insurance use.
    unregistered_card: i64,
    unregistered_person: i64,
    invalid_person: i64,
    /// Card of a person whose qualification has ended.
    invalid_card: i64,
}

async fn world(url: &str) -> World {
    let store = Store::open(url).await.unwrap();
    let today = zaitaku_web::today();
    let people = zaitaku_testkit::fixtures::population(&store, 11, today, 3000).await;
    let pick = |f: &dyn Fn(&zaitaku_domain::eligibility::Eligibility) -> bool| {
        people
            .iter()
            .map(|r| &r.eligibility)
            .find(|e| f(e) && zaitaku_domain::person::age_on(e.person.birth_date, today) >= 20)
            .map(|e| e.person.id)
            .expect("the synthetic population has this case")
    };
    let good = pick(&|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Valid
    });
    let unregistered = pick(&|e| {
        !e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Valid
    });
    let invalid = pick(&|e| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Invalid
    });

    let tokyo = Prefecture::new(13).unwrap();
    let mut clinic = Institution::new(
        InstitutionCode::build(tokyo, InstitutionKind::Medical, 1, 11).unwrap(),
        "試験在宅クリニック",
        true,
    )
    .unwrap();
    clinic.remote_function_enabled = true;
    let mut items = clinic.consent_items.clone();
    items.push(ConsentItem::LimitAmount);
    clinic.set_consent_items(&items);
    // The online-care partner the tests send patients from.
    clinic.partner_origins = vec![PartnerOrigin::parse(PARTNER).unwrap()];
    let mut pharmacy = Institution::new(
        InstitutionCode::build(tokyo, InstitutionKind::Pharmacy, 1, 12).unwrap(),
        "試験薬局",
        false,
    )
    .unwrap();
    pharmacy.remote_function_enabled = true;
    let clinic = store
        .insert_institution(
            &clinic,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let pharmacy = store
        .insert_institution(
            &pharmacy,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, base.clone()).await.unwrap();
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    let mut cards = Vec::new();
    for person in [good, unregistered, invalid] {
        let card = state
            .identity
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
            .unwrap();
        cards.push(card.id);
    }
    tokio::spawn(zaitaku_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    World {
        base,
        state,
        clinic,
        pharmacy,
        good_card: cards[0],
        good_person: good,
        unregistered_card: cards[1],
        unregistered_person: unregistered,
        invalid_person: invalid,
        invalid_card: cards[2],
    }
}

/// A browser with one cookie jar, following redirects by hand so that every
/// step is visible.
struct Patient {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: String,
}

struct Page {
    status: u16,
    url: String,
    body: String,
}

impl Patient {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(PHONE)
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: None,
            csrf: String::new(),
        }
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Page {
        let mut url;
        loop {
            if let Some(c) = &self.cookie {
                req = req.header("cookie", c);
            }
            let res = req.send().await.unwrap();
            url = res.url().to_string();
            if let Some(set) = res.headers().get("set-cookie") {
                let v = set.to_str().unwrap();
                self.cookie = Some(v.split(';').next().unwrap().to_owned());
            }
            if res.status().is_redirection() {
                let loc = res.headers()["location"].to_str().unwrap().to_owned();
                let next = if loc.starts_with("http") {
                    loc
                } else {
                    format!("{}{loc}", self.base)
                };
                req = self.http.get(next);
                continue;
            }
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            if let Some(i) = body.find("name=\"csrf\" value=\"") {
                let rest = &body[i + 19..];
                self.csrf = rest[..rest.find('"').unwrap()].to_owned();
            }
            return Page { status, url, body };
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// One request, its redirect not followed: the status, where it sends
    /// the browser, and the body.
    async fn get_once(&mut self, path: &str) -> (u16, String, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, res.text().await.unwrap())
    }

    /// Flow B's C-03 and C-07, opened by URL while the visit has no
    /// authenticated patient: each must send the browser back towards A-01
    /// without a page, so nothing of `stored` (texts of the stored consent
    /// and of the patient) can show.
    async fn assert_nothing_shown_before_authenticating(&mut self, t: &str, stored: &[&str]) {
        let choose = self.get_once(&format!("/w/{t}/choose")).await;
        let confirm = self.get_once(&format!("/w/{t}/confirm")).await;
        // C-07 first asks for choices, and C-03 holds none to offer.
        assert_eq!(
            (choose.0, choose.1.as_str()),
            (303, format!("/w/{t}").as_str()),
            "C-03 before authenticating: {}",
            choose.2
        );
        assert_eq!(
            (confirm.0, confirm.1.as_str()),
            (303, format!("/w/{t}/choose").as_str()),
            "C-07 before authenticating: {}",
            confirm.2
        );
        for (_, _, body) in [&choose, &confirm] {
            assert_eq!(body, "", "a redirect carries no page");
            for s in stored {
                assert!(!body.contains(s), "{s} shown before authenticating");
            }
        }
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let body = serde_urlencoded(&fields);
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// 「手続きを終了する」: where the browser is sent (the partner's page).
    async fn leave(&mut self, t: &str) -> String {
        let mut req = self.http.get(format!("{}/w/{t}/leave", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303);
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// On the authenticator: picks the card and enters the PIN, then follows
    /// the return link the success page offers.
    async fn authenticate(&mut self, at: &Page, card: i64, pin: &str) -> Page {
        assert!(
            at.url.contains("/auth/r/"),
            "expected the authenticator, got {} {}",
            at.url,
            at.body
        );
        let request = at
            .url
            .split("/auth/r/")
            .nth(1)
            .unwrap()
            .split(['/', '?'])
            .next()
            .unwrap()
            .to_owned();
        let req = self
            .http
            .post(format!("{}/auth/r/{request}/card/{card}", self.base))
            .form(&[("pin", pin)]);
        let answer = self.send(req).await;
        let Some(i) = answer.body.find("href=\"/w/") else {
            return answer;
        };
        let body = answer.body;
        let rest = &body[i + 6..];
        let link = rest[..rest.find('"').unwrap()]
            .replace("&#38;", "&")
            .replace("&amp;", "&");
        self.get(&link).await
    }
}

/// Enters PIN 1234 on hand-off `request`: the POST answers 303 to the
/// success page, whose text is returned.
async fn success_page(http: &reqwest::Client, base: &str, request: &str, card: i64) -> String {
    let res = http
        .post(format!("{base}/auth/r/{request}/card/{card}"))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let done = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(done, format!("/auth/r/{request}/done"));
    http.get(format!("{base}{done}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn serde_urlencoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

const ALL_BUT_CHECKUPS: &[(&str, &str)] = &[
    ("item_surgery", "agree"),
    ("item_clinical_and_drug", "agree"),
    ("item_checkups", "disagree"),
    ("item_specific_disease", "agree"),
    ("item_subsidy", "agree"),
    ("item_limit_amount", "agree"),
];

async fn flow_a_b_c_at_a_clinic(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let mut p = Patient::new(&w.base);

    // A-01 → B-01.
    let a01 = p.get(&format!("/w/{t}")).await;
    assert!(a01.body.contains("画面番号：A-01") && a01.body.contains("同意登録をする"));
    let b01 = p.post(&format!("/w/{t}/flow/register"), &[]).await;
    assert!(b01.body.contains("画面番号：B-01"));
    assert!(b01.body.contains("処方箋の発行方法を選択"));
    // Without the required prescription form: the page says so, choices kept.
    let again = p.post(&format!("/w/{t}/choose"), ALL_BUT_CHECKUPS).await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("処方箋の発行方法を選択してください"));
    assert!(
        again
            .body
            .contains("「処方箋の発行方法」が選ばれていません")
    );
    assert!(
        again
            .body
            .contains("「電子処方箋を希望」か「紙の処方箋を希望」を選んでください。")
    );
    assert!(
        !again
            .body
            .contains("この項目が選ばれていません。「同意する」か「同意しない」を選んでください。")
    );
    assert!(
        again
            .body
            .contains("name=\"item_checkups\" value=\"disagree\" checked")
    );
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    // One item left out: named at the top and said beside it.
    let partial: Vec<_> = form
        .iter()
        .copied()
        .filter(|(k, _)| *k != "item_subsidy")
        .collect();
    let again = p.post(&format!("/w/{t}/choose"), &partial).await;
    assert_eq!(again.status, 422);
    assert!(
        again
            .body
            .contains("「医療費助成受給者証情報の提供」が選ばれていません")
    );
    assert_eq!(
        again
            .body
            .matches("この項目が選ばれていません。「同意する」か「同意しない」を選んでください。")
            .count(),
        1
    );
    assert!(again.body.contains("aria-describedby=\"err-item_subsidy\""));
    // 「すべての項目に同意する」 without the script: the page comes back by
    // GET, at the button, with every item agreed and the choice kept.
    let all = p
        .http
        .post(format!("{}/w/{t}/choose", w.base))
        .header("cookie", p.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded(&[
            ("csrf", p.csrf.as_str()),
            ("prescription_form", "1"),
            ("all", "1"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(all.status().as_u16(), 303);
    assert_eq!(
        all.headers()["location"],
        format!("/w/{t}/choose?all=1#all-status").as_str()
    );
    let shown = p.get(&format!("/w/{t}/choose?all=1")).await;
    assert!(shown.body.contains("すべての項目を「同意する」にしました"));
    assert!(
        shown
            .body
            .contains("name=\"item_checkups\" value=\"agree\" checked")
    );
    let b02 = p.post(&format!("/w/{t}/choose"), &form).await;
    assert!(b02.body.contains("画面番号：B-02"), "{}", b02.body);
    assert!(b02.body.contains("電子処方箋を希望"));
    // 選択内容を修正する keeps the choices.
    let back = p.get(&format!("/w/{t}/choose")).await;
    assert!(
        back.body
            .contains("name=\"prescription_form\" value=\"1\" checked")
    );
    // Authenticate, come back, completion with 資格情報.
    let at_auth = p.post(&format!("/w/{t}/auth"), &[]).await;
    let done = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(
        done.body.contains("同意登録が正常に完了いたしました。"),
        "{}",
        done.body
    );
    for label in [
        "資格情報",
        "氏名",
        "フリガナ",
        "区分",
        "一部負担割合",
        "限度額適用認定証区分",
        "限度額適用認定証適用区分",
        "特定疾病療養受療証認定疾病区分",
        "高齢受給者証一部負担金割合",
        "その他情報",
        "医療費助成受給者証情報",
    ] {
        assert!(done.body.contains(label), "completion lacks {label}");
    }
    let store = &w.state.store;
    let latest = store
        .latest_consent(w.clinic.id, w.good_person)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.action, ConsentAction::Register);
    assert_eq!(
        latest.choices.get(&ConsentItem::Checkups),
        Some(&Choice::Disagree)
    );
    assert_eq!(latest.channel, Channel::Web);
    // Reloading the completion or the callback never registers twice.
    p.get(&format!("/w/{t}/done")).await;
    let reload = p.get(&done.url.replace(&w.base, "")).await;
    assert!(reload.body.contains("同意登録完了"));
    assert_eq!(
        store
            .consent_history(w.clinic.id, w.good_person)
            .await
            .unwrap()
            .len(),
        1
    );

    // B: nothing is shown before authenticating. 「同意照会・更新」 goes
    // straight to the authenticator; C-03 and C-07 opened by URL meanwhile
    // send the browser back to A-01, and landing there drops the visit's
    // pending authentication.
    let name = store
        .eligibility(w.good_person)
        .await
        .unwrap()
        .unwrap()
        .person
        .name;
    let stored = [
        "checked",
        "電子処方箋を希望",
        "画面番号：C-03",
        "画面番号：C-07",
        name.as_str(),
    ];
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    let at_auth = p.post(&format!("/w/{t}/flow/update"), &[]).await;
    assert!(at_auth.url.contains("/auth/r/"), "{}", at_auth.url);
    p.assert_nothing_shown_before_authenticating(&t, &stored)
        .await;
    let a01 = p.get(&format!("/w/{t}/choose")).await;
    assert!(a01.body.contains("画面番号：A-01"), "{}", a01.body);
    let at_auth = p.post(&format!("/w/{t}/flow/update"), &[]).await;
    let c03 = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(c03.body.contains("画面番号：C-03"), "{}", c03.body);
    assert!(
        c03.body
            .contains("name=\"item_checkups\" value=\"disagree\" checked"),
        "stored choices preselected"
    );
    // The same device, back to A-01 (the browser's back button keeps the
    // visit) and 「同意照会・更新」 again, as the next patient would: what
    // the first authentication showed is gone until the card is read again.
    let at_auth = p.post(&format!("/w/{t}/flow/update"), &[]).await;
    assert!(at_auth.url.contains("/auth/r/"), "{}", at_auth.url);
    p.assert_nothing_shown_before_authenticating(&t, &stored)
        .await;
    let at_auth = p.post(&format!("/w/{t}/flow/update"), &[]).await;
    let c03 = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(c03.body.contains("画面番号：C-03"), "{}", c03.body);
    // The stored choices unchanged: C-07 says so before the patient saves.
    let mut same = ALL_BUT_CHECKUPS.to_vec();
    same.push(("prescription_form", "1"));
    let c07 = p.post(&format!("/w/{t}/choose"), &same).await;
    assert!(c07.body.contains("画面番号：C-07"));
    assert!(
        c07.body
            .contains("登録内容から変更された項目はありません。")
    );
    let mut form: Vec<(&str, &str)> = ALL_BUT_CHECKUPS
        .iter()
        .copied()
        .filter(|(k, _)| *k != "item_checkups")
        .collect();
    form.push(("item_checkups", "agree"));
    form.push(("prescription_form", "2"));
    let c07 = p.post(&format!("/w/{t}/choose"), &form).await;
    assert!(c07.body.contains("画面番号：C-07"));
    assert!(
        !c07.body
            .contains("登録内容から変更された項目はありません。")
    );
    let at_auth = p.post(&format!("/w/{t}/auth"), &[]).await;
    let c09 = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(
        c09.body
            .contains("同意内容の更新が正常に完了いたしました。")
    );
    assert!(c09.body.contains("画面番号：C-09"));
    assert!(c09.body.contains("紙の処方箋を希望"));
    let latest = store
        .latest_consent(w.clinic.id, w.good_person)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.action, ConsentAction::Update);
    assert_eq!(
        latest.choices.get(&ConsentItem::Checkups),
        Some(&Choice::Agree)
    );

    // C: cancel all, history kept.
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    let confirm = p.post(&format!("/w/{t}/flow/cancel"), &[]).await;
    assert!(confirm.body.contains("すべての同意の取消"));
    let at_auth = p.post(&format!("/w/{t}/auth"), &[]).await;
    let done = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(done.body.contains("同意内容の取消完了"), "{}", done.body);
    let history = store
        .consent_history(w.clinic.id, w.good_person)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|r| r.action).collect::<Vec<_>>(),
        vec![
            ConsentAction::Register,
            ConsentAction::Update,
            ConsentAction::Revoke
        ]
    );
    assert!(history[2].choices.is_empty());
    assert_eq!(history[2].prescription_form, None);
    // Every step is in the audit log, and the chain holds.
    let audit = store.audit_records(Some("consent."), 50).await.unwrap();
    assert!(
        audit
            .iter()
            .filter(|r| r.action == "consent.write" && r.outcome == "ok")
            .count()
            >= 3
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);

    // A over a consent in force: recorded as the registration the patient
    // reads on the completion screen, not as an update.
    for _ in 0..2 {
        let mut p = Patient::new(&w.base);
        p.get(&format!("/w/{t}")).await;
        p.post(&format!("/w/{t}/flow/register"), &[]).await;
        let mut form = ALL_BUT_CHECKUPS.to_vec();
        form.push(("prescription_form", "1"));
        p.post(&format!("/w/{t}/choose"), &form).await;
        let at_auth = p.post(&format!("/w/{t}/auth"), &[]).await;
        let done = p.authenticate(&at_auth, w.good_card, "1234").await;
        assert!(done.body.contains("同意登録完了"), "{}", done.body);
    }
    let history = store
        .consent_history(w.clinic.id, w.good_person)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|r| r.action).collect::<Vec<_>>()[3..],
        [ConsentAction::Register, ConsentAction::Register]
    );
}
on_both!(flow_a_b_c_at_a_clinic);

async fn pharmacy_and_online_variants(url: &str) {
    let w = world(url).await;
    // Pharmacy: no prescription form anywhere.
    let t = w.pharmacy.url_token.clone();
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    let b01 = p.post(&format!("/w/{t}/flow/register"), &[]).await;
    assert!(!b01.body.contains("処方箋"));
    assert!(!b01.body.contains("限度額情報の提供"));
    let form: Vec<_> = ALL_BUT_CHECKUPS
        .iter()
        .copied()
        .filter(|(k, _)| *k != "item_limit_amount")
        .collect();
    let b02 = p.post(&format!("/w/{t}/choose"), &form).await;
    assert!(b02.body.contains("画面番号：B-02"), "{}", b02.body);
    let at_auth = p.post(&format!("/w/{t}/auth"), &[]).await;
    let done = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(done.body.contains("同意登録完了"));
    assert!(!done.body.contains("処方箋の発行方法"));

    // Online care from a partner: the date, validity to that day, the way back.
    let t = w.clinic.url_token.clone();
    let day = (zaitaku_web::today() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let mut p = Patient::new(&w.base);
    let a01 = p
        .get(&format!(
            "/w/{t}?mode=online&return=https://partner.example/visit/9&date={day}"
        ))
        .await;
    assert!(a01.body.contains("オンライン診療等"));
    let b01 = p.post(&format!("/w/{t}/flow/register"), &[]).await;
    assert!(b01.body.contains("限度額情報の提供"));
    assert!(b01.body.contains("受診予定日"));
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    form.push(("consultation_date", &day));
    p.post(&format!("/w/{t}/choose"), &form).await;
    let at_auth = p.post(&format!("/w/{t}/auth"), &[]).await;
    let done = p.authenticate(&at_auth, w.good_card, "1234").await;
    assert!(done.body.contains("手続きを終了する"));
    assert!(done.body.contains(&format!("href=\"/w/{t}/leave\"")));
    // Seed 003: the way back first, and nothing that invites closing the tab.
    assert!(!done.body.contains("タブを閉じて"), "{}", done.body);
    assert!(!done.body.contains("次の方の手続きを始める"));
    let leave = done.body.find(&format!("href=\"/w/{t}/leave\"")).unwrap();
    assert!(leave < done.body.find("登録内容").unwrap());
    assert!(leave < done.body.find("資格情報").unwrap());
    let back = p.leave(&t).await;
    assert!(
        back.starts_with(
            "https://partner.example/visit/9?zaitaku_status=completed&zaitaku_action=register"
        ),
        "{back}"
    );
    let latest = w
        .state
        .store
        .latest_consent(w.clinic.id, w.good_person)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.care_kind, CareKind::Online);
    assert_eq!(latest.channel, Channel::Partner);
    let until = latest.valid_until.unwrap();
    let last_day = (until - chrono::Duration::seconds(1))
        .with_timezone(&zaitaku_domain::consent::jst())
        .date_naive();
    assert_eq!(
        last_day,
        NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap()
    );
}
on_both!(pharmacy_and_online_variants);

async fn failure_outcomes(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    async fn to_auth(p: &mut Patient, t: &str, form: &[(&str, &str)]) -> Page {
        p.get(&format!("/w/{t}")).await;
        p.post(&format!("/w/{t}/flow/register"), &[]).await;
        p.post(&format!("/w/{t}/choose"), form).await;
        p.post(&format!("/w/{t}/auth"), &[]).await
    }
    // 保険証未登録.
    let mut p = Patient::new(&w.base);
    let at = to_auth(&mut p, &t, &form).await;
    let page = p.authenticate(&at, w.unregistered_card, "1234").await;
    assert!(
        page.body.contains("保険証未登録") && page.body.contains("E-C-04-02-A-6002"),
        "{}",
        page.body
    );
    // Qualification ended.
    let mut p = Patient::new(&w.base);
    let at = to_auth(&mut p, &t, &form).await;
    let page = p.authenticate(&at, w.invalid_card, "1234").await;
    assert!(page.body.contains("この資格は無効です"), "{}", page.body);
    // Neither wrote a consent.
    for person in [w.unregistered_person, w.invalid_person] {
        assert!(
            w.state
                .store
                .consent_history(w.clinic.id, person)
                .await
                .unwrap()
                .is_empty()
        );
    }
    // Wrong PIN stays on the authenticator with the tries left.
    let mut p = Patient::new(&w.base);
    let at = to_auth(&mut p, &t, &form).await;
    let page = p.authenticate(&at, w.good_card, "0000").await;
    assert!(
        page.body.contains("残り<strong>2</strong>回"),
        "{}",
        page.body
    );
    // Cancelled at the authenticator.
    let request = at.url.split("/auth/r/").nth(1).unwrap().to_owned();
    let back = p.post(&format!("/auth/r/{request}/cancel"), &[]).await;
    assert!(
        back.body.contains("本人認証を中止しました"),
        "{}",
        back.body
    );
    // No session (cookie lost / expired) and a forged form.
    let mut stranger = Patient::new(&w.base);
    let page = stranger.get(&format!("/w/{t}/choose")).await;
    assert_eq!(page.status, 410);
    assert!(page.body.contains("セッションの有効期限が切れました"));
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    p.csrf = "forged".into();
    let page = p.post(&format!("/w/{t}/flow/register"), &[]).await;
    assert!(page.body.contains("Z-W-0440"));
    // Flow C with nothing to cancel.
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    p.post(&format!("/w/{t}/flow/cancel"), &[]).await;
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    let page = p.authenticate(&at, w.good_card, "1234").await;
    assert!(
        page.body.contains("取り消す同意がありません"),
        "{}",
        page.body
    );
}
on_both!(failure_outcomes);

/// An issue date that makes the certificate's last day fall `from..=to` days
/// from today for someone born on `birth`.
fn issued_for(birth: NaiveDate, from: i64, to: i64) -> Option<NaiveDate> {
    let today = zaitaku_web::today();
    (0..900)
        .map(|i| today - chrono::Duration::days(5 * 365 + 450 - i))
        .find(|d| {
            zaitaku_card::fifth_birthday_after(*d, birth).is_some_and(|last| {
                (today + chrono::Duration::days(from)..=today + chrono::Duration::days(to))
                    .contains(&last)
            })
        })
}

async fn certificate_and_eligibility_outcomes(url: &str) {
    let w = world(url).await;
    let store = &w.state.store;
    let today = zaitaku_web::today();
    let t = w.clinic.url_token.clone();
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    async fn register(w: &World, t: &str, form: &[(&str, &str)], card: i64) -> Page {
        let mut p = Patient::new(&w.base);
        p.get(&format!("/w/{t}")).await;
        p.post(&format!("/w/{t}/flow/register"), &[]).await;
        p.post(&format!("/w/{t}/choose"), form).await;
        let at = p.post(&format!("/w/{t}/auth"), &[]).await;
        p.authenticate(&at, card, "1234").await
    }
    let mut candidates = Vec::new();
    for id in 1..=3000 {
        if let Some(e) = store.eligibility(id).await.unwrap() {
            candidates.push(e);
        }
    }
    let valid = |e: &&zaitaku_domain::eligibility::Eligibility| {
        e.person.insurance_use_registered
            && e.resolve(today).validity == QualificationValidity::Valid
    };
    let issue = |person: i64, issued_on: NaiveDate| {
        let id = w.state.identity.clone();
        async move {
            id.issue_card(
                &IssueCard {
                    person_id: person,
                    kind: CardKind::Physical,
                    pin: Some("1234".into()),
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
    let adults: Vec<_> = candidates
        .iter()
        .filter(valid)
        .filter(|e| {
            zaitaku_domain::person::age_on(e.person.birth_date, today) >= 20
                && e.person.id != w.good_person
        })
        .collect();

    // Expiring within 3 months: registered, with the seed's warning.
    let (e, issued) = adults
        .iter()
        .find_map(|e| issued_for(e.person.birth_date, 10, 80).map(|d| (e, d)))
        .unwrap();
    let card = issue(e.person.id, issued).await;
    let page = register(&w, &t, &form, card).await;
    assert!(page.body.contains("同意登録完了"), "{}", page.body);
    assert!(
        page.body.contains("有効期限が残り3カ月を切りました"),
        "{}",
        page.body
    );

    // Grace period: registered, eligibility shown, medical information not provided.
    let (e, issued) = adults
        .iter()
        .filter(|x| x.person.id != e.person.id)
        .find_map(|e| issued_for(e.person.birth_date, -80, -10).map(|d| (e, d)))
        .unwrap();
    let card = issue(e.person.id, issued).await;
    let page = register(&w, &t, &form, card).await;
    assert!(page.body.contains("同意登録完了"));
    assert!(page.body.contains("猶予期間"));
    assert!(
        page.body
            .contains("医療情報はこの医療機関等に提供されません")
    );

    // Expired beyond grace: refused.
    let (e2, issued) = adults
        .iter()
        .rev()
        .find_map(|e| issued_for(e.person.birth_date, -300, -120).map(|d| (e, d)))
        .unwrap();
    let card = issue(e2.person.id, issued).await;
    let page = register(&w, &t, &form, card).await;
    assert!(page.body.contains("Z-C-0016"), "{}", page.body);
    assert!(
        store
            .consent_history(w.clinic.id, e2.person.id)
            .await
            .unwrap()
            .is_empty()
    );

    // 医療扶助 and 未就学.
    let assistance = candidates
        .iter()
        .filter(valid)
        .find(|e| e.category(today).label() == "医療扶助" && e.person.birth_date < today)
        .unwrap();
    let card = issue(assistance.person.id, today).await;
    let page = register(&w, &t, &form, card).await;
    assert!(page.body.contains("医療扶助の対象者です"), "{}", page.body);
    let child = candidates
        .iter()
        .filter(valid)
        .find(|e| e.category(today).label() == "義務教育就学前" && e.person.birth_date < today)
        .unwrap();
    let card = issue(child.person.id, today).await;
    let page = register(&w, &t, &form, card).await;
    assert!(page.body.contains("義務教育就学前"), "{}", page.body);
}
on_both!(certificate_and_eligibility_outcomes);

/// The field of a query string (values here are URL-safe as they stand).
fn query_field(url: &str, name: &str) -> String {
    url.split(['?', '&'])
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

/// The partner's check, exactly as docs/auth-handoff.md tells a partner to do
/// it with openssl. `Ok` when openssl says the signature is good.
fn openssl_verifies(dir: &std::path::Path, return_url: &str, back: &str) -> bool {
    let script = r#"set -e
printf 'zaitaku-return-v1\nreturn=%s\nstatus=%s\naction=%s\ninstitution=%s\ndate=%s\nissued_at=%s\nstate=%s\n' \
  "$RETURN" "$STATUS" "$ACTION" "$INSTITUTION" "$DATE" "$ISSUED_AT" "$STATE" > message.txt
printf '%s==' "$SIG" | tr '_-' '/+' | base64 -d > sig.bin
openssl pkeyutl -verify -pubin -inkey zaitaku-return.pem -rawin -in message.txt -sigfile sig.bin
"#;
    let out = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("RETURN", return_url)
        .env("STATUS", query_field(back, "zaitaku_status"))
        .env("ACTION", query_field(back, "zaitaku_action"))
        .env("INSTITUTION", query_field(back, "zaitaku_institution"))
        .env("DATE", query_field(back, "zaitaku_date"))
        .env("ISSUED_AT", query_field(back, "zaitaku_issued_at"))
        .env("STATE", query_field(back, "zaitaku_state"))
        .env("SIG", query_field(back, "zaitaku_sig"))
        .output()
        .expect("sh and openssl are installed");
    out.status.success()
        && String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully")
}

async fn partner_return_is_signed_and_a_tampered_one_fails(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let return_url = "https://partner.example/visit/9?lang=ja";
    let day = (zaitaku_web::today() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let a01 = format!(
        "/w/{t}?mode=online&return=https%3A%2F%2Fpartner.example%2Fvisit%2F9%3Flang%3Dja&date={day}&state=r-9f2"
    );

    // The published key, as JWK set and as PEM.
    let jwks: serde_json::Value =
        reqwest::get(format!("{}/.well-known/zaitaku-return-keys.json", w.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    let pem = reqwest::get(format!("{}/.well-known/zaitaku-return-key.pem", w.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zaitaku-return.pem"), &pem).unwrap();

    // Registered: 「手続きを終了する」 comes back signed.
    let mut p = Patient::new(&w.base);
    p.get(&a01).await;
    p.post(&format!("/w/{t}/flow/register"), &[]).await;
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    form.push(("consultation_date", &day));
    p.post(&format!("/w/{t}/choose"), &form).await;
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    let done = p.authenticate(&at, w.good_card, "1234").await;
    assert!(done.body.contains("同意登録完了"), "{}", done.body);
    let back = p.leave(&t).await;
    let now = Utc::now().timestamp();
    let ok = zaitaku_proto::partner::verify_return(&back, return_url, &jwks, now, 600).unwrap();
    assert_eq!(ok.status, "completed");
    assert_eq!(ok.action, "register");
    assert_eq!(ok.institution, w.clinic.institution.code.as_str());
    assert_eq!(ok.date, day);
    assert_eq!(ok.state, "r-9f2");
    assert!(openssl_verifies(dir.path(), return_url, &back), "{back}");
    // Nothing about the patient travels in the URL.
    let names: Vec<&str> = back
        .split(['?', '&'])
        .skip(1)
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .collect();
    assert_eq!(
        names,
        [
            "lang",
            "zaitaku_status",
            "zaitaku_action",
            "zaitaku_institution",
            "zaitaku_date",
            "zaitaku_issued_at",
            "zaitaku_state",
            "zaitaku_kid",
            "zaitaku_sig"
        ]
    );

    // Tampered: another day, another status, another partner page, another state.
    let other_day = (zaitaku_web::today() + chrono::Duration::days(9))
        .format("%Y-%m-%d")
        .to_string();
    for forged in [
        back.replace(
            &format!("zaitaku_date={day}"),
            &format!("zaitaku_date={other_day}"),
        ),
        back.replace("zaitaku_action=register", "zaitaku_action=update"),
        back.replace("zaitaku_state=r-9f2", "zaitaku_state=r-9f3"),
    ] {
        assert_ne!(forged, back);
        assert_eq!(
            zaitaku_proto::partner::verify_return(&forged, return_url, &jwks, now, 600),
            Err(zaitaku_proto::partner::ReturnVerifyError::BadSignature)
        );
        assert!(!openssl_verifies(dir.path(), return_url, &forged));
    }
    assert!(!openssl_verifies(
        dir.path(),
        "https://partner.example/visit/10?lang=ja",
        &back
    ));

    // Left without registering: signed as not completed, with no action.
    let mut p = Patient::new(&w.base);
    p.get(&a01).await;
    let back = p.leave(&t).await;
    let ok = zaitaku_proto::partner::verify_return(&back, return_url, &jwks, now, 600).unwrap();
    assert_eq!(ok.status, "not_completed");
    assert_eq!(ok.action, "");
    assert!(openssl_verifies(dir.path(), return_url, &back));
    let forged = back.replace("zaitaku_status=not_completed", "zaitaku_status=completed");
    assert!(!openssl_verifies(dir.path(), return_url, &forged));

    // A 「最初の画面に戻る」 link keeps the way back to the partner.
    let mut p = Patient::new(&w.base);
    p.get(&a01).await;
    let again = p.get(&format!("/w/{t}")).await;
    assert!(again.body.contains("オンライン診療等") && again.body.contains("同意登録をせずに戻る"));
}
on_both!(partner_return_is_signed_and_a_tampered_one_fails);

/// The `partner.return_url` refusals recorded for the clinic, oldest first.
async fn refused_returns(w: &World) -> Vec<serde_json::Value> {
    let mut records = w
        .state
        .store
        .audit_records(Some("partner.return_url"), 100)
        .await
        .unwrap();
    records.sort_by_key(|r| r.seq);
    records
        .iter()
        .map(|r| {
            assert_eq!(
                (r.outcome.as_str(), r.institution_id),
                ("refused", Some(w.clinic.id))
            );
            assert_eq!(r.person_id, None);
            serde_json::from_str(&r.detail).unwrap()
        })
        .collect()
}

/// Seed 003's way back goes only to an origin the institution registered in
/// 環境設定情報更新; any other `return=` — look-alikes included — leaves the
/// visit without a way back, says nothing to the patient, and is audited
/// without the URL.
async fn partner_returns_only_to_registered_origins(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let day = (Utc::now().date_naive() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let enc = |s: &str| serde_urlencoded(&[("return", s)]);
    let from = |ret: &str| format!("/w/{t}?mode=online&{}&date={day}&state=r-1", enc(ret));

    // Registered: the way back is offered, whatever the case of the host.
    for ret in [
        "https://partner.example/visit/9?lang=ja",
        "https://PARTNER.example:443/visit/9",
        "https://partner.example",
    ] {
        let mut p = Patient::new(&w.base);
        let a01 = p.get(&from(ret)).await;
        assert!(a01.body.contains("同意登録をせずに戻る"), "{ret}");
        let back = p.leave(&t).await;
        assert!(
            back.starts_with(&format!("{ret}?zaitaku_status=not_completed"))
                || back.starts_with(&format!("{ret}&zaitaku_status=not_completed")),
            "{back}"
        );
    }
    assert!(refused_returns(&w).await.is_empty());

    // Not registered: no way back, no word to the patient.
    let refused = [
        (
            "https://partner.example.evil/visit/9",
            "not_registered",
            Some("https://partner.example.evil"),
        ),
        ("https://partner.example@evil/visit/9", "userinfo", None),
        (
            "https://evil/partner.example",
            "not_registered",
            Some("https://evil"),
        ),
        (
            "https://evil/visit/9?return=https://partner.example",
            "not_registered",
            Some("https://evil"),
        ),
        (
            "https://partner.example:8443/visit/9",
            "not_registered",
            Some("https://partner.example:8443"),
        ),
        (
            "https://sub.partner.example/visit/9",
            "not_registered",
            Some("https://sub.partner.example"),
        ),
        ("http://partner.example/visit/9", "malformed", None),
        ("https://partner.example\\@evil/visit/9", "characters", None),
        ("https://partner.example/visit/9#frag", "characters", None),
        ("//partner.example/visit/9", "malformed", None),
        (
            "javascript://partner.example/%0aalert(1)",
            "malformed",
            None,
        ),
    ];
    for (ret, _, _) in refused {
        let mut p = Patient::new(&w.base);
        let a01 = p.get(&from(ret)).await;
        assert_eq!(a01.status, 200, "{ret}");
        assert!(
            a01.body.contains("オンライン診療等"),
            "{ret}: still online care"
        );
        assert!(!a01.body.contains("同意登録をせずに戻る"), "{ret}");
        assert!(
            !a01.body.contains("evil"),
            "{ret}: nothing of it on the page"
        );
        assert_eq!(p.leave(&t).await, format!("/w/{t}"), "{ret}");
    }
    let records = refused_returns(&w).await;
    assert_eq!(records.len(), refused.len(), "{records:?}");
    for ((ret, reason, origin), detail) in refused.iter().zip(&records) {
        assert_eq!(detail["reason"], *reason, "{ret}");
        assert_eq!(detail["origin"].as_str(), *origin, "{ret}");
        assert_eq!(detail["step"], "start");
        assert!(
            !detail.to_string().contains("visit"),
            "no path is recorded: {detail}"
        );
    }

    // A look-alike's visit registers as an ordinary web visit and ends
    // without 「手続きを終了する」.
    let mut p = Patient::new(&w.base);
    p.get(&from("https://partner.example.evil/visit/9")).await;
    p.post(&format!("/w/{t}/flow/register"), &[]).await;
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    form.push(("consultation_date", &day));
    p.post(&format!("/w/{t}/choose"), &form).await;
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    let done = p.authenticate(&at, w.good_card, "1234").await;
    assert!(done.body.contains("同意登録完了"), "{}", done.body);
    assert!(done.body.contains("ブラウザのタブを閉じてください。"));
    assert!(!done.body.contains("手続きを終了する"));
    assert!(!done.body.contains("/leave"));
    let latest = w
        .state
        .store
        .latest_consent(w.clinic.id, w.good_person)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.care_kind, CareKind::Online);
    assert_eq!(latest.channel, Channel::Web);
    assert_eq!(p.leave(&t).await, format!("/w/{t}"));

    // An origin removed while a visit is open: the way back closes with it.
    let mut p = Patient::new(&w.base);
    let a01 = p.get(&from("https://partner.example/visit/9")).await;
    assert!(a01.body.contains("同意登録をせずに戻る"));
    let mut without = w.clinic.institution.clone();
    without.partner_origins.clear();
    w.state
        .store
        .update_institution_settings(w.clinic.id, &without, Utc::now())
        .await
        .unwrap();
    assert_eq!(p.leave(&t).await, format!("/w/{t}"));
    let last = refused_returns(&w).await.pop().unwrap();
    assert_eq!(last["reason"], "not_registered");
    assert_eq!(last["origin"], PARTNER);
    assert_eq!(last["step"], "leave");
}
on_both!(partner_returns_only_to_registered_origins);

/// A double submit of the return from the authenticator, a reload, and the
/// back button followed by a second authentication: one consent, and the
/// patient always ends on the completion page or a refusal, never a second
/// registration.
async fn double_submit_and_back_button_register_once(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    p.post(&format!("/w/{t}/flow/register"), &[]).await;
    p.post(&format!("/w/{t}/choose"), &form).await;
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    let request = at
        .url
        .split("/auth/r/")
        .nth(1)
        .unwrap()
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_owned();
    let body = success_page(&p.http, &w.base, &request, w.good_card).await;
    let i = body.find("href=\"/w/").unwrap();
    let rest = &body[i + 6..];
    let callback = rest[..rest.find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    // Both submits leave before either is answered.
    let cookie = p.cookie.clone().unwrap();
    let send = |c: &reqwest::Client| {
        c.get(format!("{}{callback}", w.base))
            .header("cookie", &cookie)
            .send()
    };
    let (a, b) = tokio::join!(send(&p.http), send(&p.http));
    let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    assert!(statuses.contains(&303), "{statuses:?}");
    let store = &w.state.store;
    let history = || store.consent_history(w.clinic.id, w.good_person);
    assert_eq!(history().await.unwrap().len(), 1);
    // Reloads of the return and of the completion.
    let reload = p.get(&callback).await;
    assert!(reload.body.contains("同意登録完了"), "{}", reload.body);
    let done = p.get(&format!("/w/{t}/done")).await;
    assert!(done.body.contains("同意登録完了"));
    // Back to B-02 and 「同意内容を登録する」 again: a second authentication of
    // the same visit, which finds its first write.
    let confirm = p.get(&format!("/w/{t}/confirm")).await;
    assert!(confirm.body.contains("画面番号：B-02"), "{}", confirm.body);
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    let again = p.authenticate(&at, w.good_card, "1234").await;
    assert!(again.body.contains("同意登録完了"), "{}", again.body);
    assert_eq!(history().await.unwrap().len(), 1);
    let written = store
        .audit_records(Some("consent.write"), 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == "ok")
        .count();
    assert_eq!(
        written, 2,
        "each write attempt is audited, both name the one consent"
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
}
on_both!(double_submit_and_back_button_register_once);

/// The field test's theft: whoever starts a visit edits `redirect_uri` in
/// its authorization link and sends it to a patient. Targets that leave the
/// service are refused before the PIN; a code sent to any other path of the
/// service is worthless in the visit that asked for it.
async fn a_code_sent_elsewhere_cannot_be_redeemed(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let mut attacker = Patient::new(&w.base);
    attacker.get(&format!("/w/{t}")).await;
    let res = attacker
        .http
        .post(format!("{}/w/{t}/flow/update", w.base))
        .header("cookie", attacker.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded(&[("csrf", attacker.csrf.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let own = format!("redirect_uri=/w/{t}/callback");
    assert!(authorize.contains(&own), "{authorize}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for evil in [
        "/%5Cevil.example/x/callback",
        "/%5C%5Cevil.example/x/callback",
        "/%09/evil.example/x/callback",
        "/%0D/evil.example/x/callback",
        "/%0A/evil.example/x/callback",
    ] {
        let res = http
            .get(format!(
                "{}{}",
                w.base,
                authorize.replace(&own, &format!("redirect_uri={evil}"))
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 400, "{evil}");
        assert!(res.headers().get("location").is_none(), "{evil}");
        let body = res.text().await.unwrap();
        assert!(body.contains("認証の要求が正しくありません"), "{evil}");
        assert!(body.contains("Z-A-0001"), "{evil}");
    }

    // A path of the service that is not this visit's callback.
    let tampered = authorize.replace(&own, &format!("redirect_uri=/w/{t}/x/callback"));
    let mut patient = Patient::new(&w.base);
    let at = patient.get(&tampered).await;
    assert!(at.url.contains("/auth/r/"), "{}", at.url);
    let request = at
        .url
        .split("/auth/r/")
        .nth(1)
        .unwrap()
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_owned();
    let done = success_page(&http, &w.base, &request, w.good_card).await;
    let marker = format!("/w/{t}/x/callback?");
    let i = done
        .find(&marker)
        .expect("the code went to the tampered path");
    let rest = &done[i + marker.len()..];
    let query = rest[..rest.find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let stolen = attacker.get(&format!("/w/{t}/callback?{query}")).await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);
    assert!(stolen.body.contains("認証できませんでした"));
    assert!(stolen.body.contains("Z-W-0441"));
    assert!(!stolen.body.contains("画面番号：C-03"));
    let person = w
        .state
        .store
        .eligibility(w.good_person)
        .await
        .unwrap()
        .unwrap();
    assert!(!stolen.body.contains(&person.person.name));
    assert!(
        w.state
            .store
            .consent_history(w.clinic.id, w.good_person)
            .await
            .unwrap()
            .is_empty()
    );
}
on_both!(a_code_sent_elsewhere_cannot_be_redeemed);

/// Seed 000 参考: tablets get the PC / tablet form, and only Windows and
/// macOS are offered the IC card reader; the note says so on every PC /
/// tablet form.
async fn display_forms_follow_the_seed_table(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
    let ipad = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    let android_tablet = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
    let android_phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
    let note = "※OSがMicrosoft WindowsまたはmacOSの場合、かつマイナポータルアプリに対応しているICカードリーダーのセットアップが完了している場合のみ";
    for (ua, qr, reader) in [
        (windows, true, true),
        (ipad, true, false),
        (android_tablet, true, false),
        (android_phone, false, false),
        (PHONE, false, false),
    ] {
        let mut p = Patient::new(&w.base);
        p.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(ua)
            .build()
            .unwrap();
        p.get(&format!("/w/{t}")).await;
        let c02 = p.post(&format!("/w/{t}/flow/cancel"), &[]).await;
        assert!(c02.body.contains("画面番号：C-02"), "{ua}: {}", c02.body);
        assert_eq!(
            c02.body
                .contains("スマートフォンで認証する（二次元コード）"),
            qr,
            "{ua}"
        );
        assert_eq!(
            c02.body.contains("ICカードリーダーで認証する"),
            reader,
            "{ua}"
        );
        assert_eq!(c02.body.contains(note), qr, "{ua}");
    }
}
on_both!(display_forms_follow_the_seed_table);

/// The hand-off's id in an authenticator page's URL.
fn hand_off_id(at: &Page) -> String {
    at.url
        .split("/auth/r/")
        .nth(1)
        .unwrap()
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_owned()
}

/// The `href` of the page's way back to the visit.
fn link_back(page: &Page) -> String {
    let i = page
        .body
        .find("href=\"/w/")
        .unwrap_or_else(|| panic!("no way back: {}", page.body));
    let rest = &page.body[i + 6..];
    rest[..rest.find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The authenticator is told the institution and what each authentication
/// is for, and shows it. Back to a finished hand-off says it is used, not
/// expired: its way back leads a visit with an outcome to its completion
/// page, and one without (flow B once the stored consent is shown) to a
/// refusal that says the same.
async fn the_authenticator_names_the_visit_and_a_used_hand_off_says_so(url: &str) {
    let w = world(url).await;
    let t = w.clinic.url_token.clone();
    let name = "試験在宅クリニック";
    let mut form = ALL_BUT_CHECKUPS.to_vec();
    form.push(("prescription_form", "1"));
    let mut p = Patient::new(&w.base);
    p.get(&format!("/w/{t}")).await;
    p.post(&format!("/w/{t}/flow/register"), &[]).await;
    p.post(&format!("/w/{t}/choose"), &form).await;
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    assert!(at.body.contains(name), "{}", at.body);
    assert!(at.body.contains("同意登録のための本人確認です"));
    let request = hand_off_id(&at);
    let done = p.authenticate(&at, w.good_card, "1234").await;
    assert!(done.body.contains("同意登録が正常に完了いたしました。"));
    // Back from the completion page to the PIN page.
    let used = p
        .get(&format!("/auth/r/{request}/card/{}", w.good_card))
        .await;
    assert_eq!(used.status, 410);
    assert!(
        used.body.contains("この認証は使用済みです"),
        "{}",
        used.body
    );
    assert!(!used.body.contains("有効期限が切れました"));
    let back = link_back(&used);
    assert!(back.contains("error=used&state="), "{back}");
    let again = p.get(&back).await;
    assert!(
        again.body.contains("同意登録が正常に完了いたしました。"),
        "{}",
        again.body
    );

    // B: after the stored consent is shown the visit has no outcome yet.
    p.get(&format!("/w/{t}")).await;
    let at = p.post(&format!("/w/{t}/flow/update"), &[]).await;
    assert!(at.body.contains(name) && at.body.contains("同意照会のための本人確認です"));
    let request = hand_off_id(&at);
    let c03 = p.authenticate(&at, w.good_card, "1234").await;
    assert!(c03.body.contains("画面番号：C-03"), "{}", c03.body);
    let used = p.get(&format!("/auth/r/{request}")).await;
    assert!(used.body.contains("この認証は使用済みです"));
    let refused = p.get(&link_back(&used)).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("この認証は使用済みです") && refused.body.contains("Z-A-0005"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(name), "shown within the visit");
    // Saving the change and cancelling say so too.
    p.get(&format!("/w/{t}")).await;
    let at = p.post(&format!("/w/{t}/flow/update"), &[]).await;
    p.authenticate(&at, w.good_card, "1234").await;
    let mut change: Vec<(&str, &str)> = ALL_BUT_CHECKUPS
        .iter()
        .copied()
        .filter(|(k, _)| *k != "item_checkups")
        .collect();
    change.push(("item_checkups", "agree"));
    change.push(("prescription_form", "2"));
    let c07 = p.post(&format!("/w/{t}/choose"), &change).await;
    assert!(c07.body.contains("画面番号：C-07"), "{}", c07.body);
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    assert!(
        at.body.contains("同意更新のための本人確認です"),
        "{}",
        at.body
    );
    p.get(&format!("/w/{t}")).await;
    p.post(&format!("/w/{t}/flow/cancel"), &[]).await;
    let at = p.post(&format!("/w/{t}/auth"), &[]).await;
    assert!(
        at.body.contains("同意取消のための本人確認です"),
        "{}",
        at.body
    );
    let request = hand_off_id(&at);
    let body = success_page(&p.http, &w.base, &request, w.good_card).await;
    assert!(
        body.contains("同意取消は完了していません。")
            && body.contains("必ず、マイナ在宅受付Webサービスへ戻り同意取消を完了してください。"),
        "{body}"
    );
}
on_both!(the_authenticator_names_the_visit_and_a_used_hand_off_says_so);
