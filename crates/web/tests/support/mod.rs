//! Shared set-up for the administration tests: the real server on a free
//! port, institutions, accounts, synthetic patients with consents and cards,
//! and a signed-in browser that follows no redirect on its own.
//!
//! Every test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem,
};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::medical::{CheckupResult, ClinicalEvent, DrugRecord};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{
    NewAccount, NewConsent, PersonRecords, Store, StoredAccount, StoredInstitution,
};
use zaitaku_web::AppState;

/// The password of every account the tests create.
pub const PASSWORD: &str = "Zaitaku#2026";
/// Meets the rules but is nobody's password.
pub const WRONG: &str = "Wrong#2026x";

/// The same message for an unknown ID, a wrong password and a disabled account.
pub const LOGIN_FAILED: &str = "医療機関等コード、ユーザID、またはパスワードが正しくありません。";

/// Argon2 is slow in a debug build: hash [`PASSWORD`] once per test binary.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| zaitaku_web::admin::hash_password(PASSWORD).unwrap())
}

/// Today in Japan, the calendar the administration pages use.
pub fn today() -> NaiveDate {
    zaitaku_web::admin::today()
}

pub fn days_ago(n: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(n)
}

/// The JST calendar day of an instant, as the date inputs expect it.
pub fn jst_day(t: DateTime<Utc>) -> String {
    t.with_timezone(&zaitaku_domain::consent::jst())
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

pub struct Server {
    pub base: String,
    pub state: AppState,
    pub store: Store,
    pub db_url: String,
}

pub async fn server(url: &str) -> Server {
    let store = Store::open(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), base.clone()).await.unwrap();
    tokio::spawn(zaitaku_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    Server {
        base,
        state,
        store,
        db_url: url.to_owned(),
    }
}

/// An institution in Tokyo; e-prescription where the kind allows it.
pub async fn institution(
    store: &Store,
    kind: InstitutionKind,
    number: u16,
    name: &str,
    enabled: bool,
) -> StoredInstitution {
    let code = InstitutionCode::build(Prefecture::new(13).unwrap(), kind, 1, number).unwrap();
    let mut i = Institution::new(code, name, kind.issues_prescriptions()).unwrap();
    i.remote_function_enabled = enabled;
    store
        .insert_institution(&i, &zaitaku_storage::new_url_token().unwrap(), Utc::now())
        .await
        .unwrap()
}

/// An account whose password is [`PASSWORD`], usable since a month ago.
/// `institution` is `None` for an operator.
pub async fn account(
    store: &Store,
    institution: Option<&StoredInstitution>,
    user_id: &str,
    role: Role,
    name: &str,
) -> StoredAccount {
    store
        .insert_account(
            &NewAccount {
                institution_id: institution.map(|i| i.id),
                user_id,
                role,
                name,
                name_kana: "シケン　ユーザ",
                start_date: today() - Duration::days(30),
                password_hash: password_hash(),
                must_change_password: false,
            },
            Utc::now(),
        )
        .await
        .unwrap()
}

/// Everything stored about one synthetic person.
#[derive(Default)]
pub struct Records {
    pub drugs: Vec<DrugRecord>,
    pub clinical: Vec<ClinicalEvent>,
    pub checkups: Vec<CheckupResult>,
}

pub fn drug(on: NaiveDate, name: &str) -> DrugRecord {
    DrugRecord {
        dispensed_on: on,
        prescribed_on: on,
        setting: zaitaku_domain::medical::DispensingSetting::Pharmacy,
        institution_name: "試験調剤薬局".into(),
        drug_name: name.into(),
        generic_name: format!("{name}（一般名）"),
        dosage: "1回1錠 1日1回 朝食後".into(),
        route: zaitaku_domain::medical::DrugRoute::Oral,
        quantity: 14.0,
        unit: "錠".into(),
        days: 14,
        times: 14,
    }
}

/// A synthetic person (registered for insurance use) with a chosen name.
pub async fn person(store: &Store, id: i64, name: &str, birth: NaiveDate, records: &Records) {
    let mut e: Eligibility = zaitaku_testkit::person(id, birth, true);
    e.person.name = name.into();
    store
        .insert_persons(&[PersonRecords {
            eligibility: &e,
            drugs: &records.drugs,
            clinical: &records.clinical,
            checkups: &records.checkups,
        }])
        .await
        .unwrap();
}

pub fn birth() -> NaiveDate {
    NaiveDate::from_ymd_opt(1950, 7, 1).unwrap()
}

/// One consent event to record.
pub struct Consent {
    pub action: ConsentAction,
    pub care_kind: CareKind,
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub recorded_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Registered on the patient's own device: a photo-ID check is due.
    pub own_device: bool,
}

impl Consent {
    /// A registration agreeing to every item a medical institution offers
    /// by default.
    pub fn register(care_kind: CareKind, recorded_at: DateTime<Utc>) -> Self {
        Self {
            action: ConsentAction::Register,
            care_kind,
            choices: ConsentItem::default_for(InstitutionKind::Medical)
                .into_iter()
                .map(|i| (i, Choice::Agree))
                .collect(),
            recorded_at,
            valid_until: None,
            own_device: false,
        }
    }

    pub fn revoke(care_kind: CareKind, recorded_at: DateTime<Utc>) -> Self {
        Self {
            action: ConsentAction::Revoke,
            care_kind,
            choices: BTreeMap::new(),
            recorded_at,
            valid_until: None,
            own_device: false,
        }
    }

    pub fn with(mut self, item: ConsentItem, choice: Choice) -> Self {
        self.choices.insert(item, choice);
        self
    }

    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.valid_until = Some(t);
        self
    }

    pub fn own_device(mut self) -> Self {
        self.own_device = true;
        self
    }
}

pub async fn consent(store: &Store, institution: &StoredInstitution, person_id: i64, c: Consent) {
    let decision = ConsentDecision {
        care_kind: c.care_kind,
        choices: c.choices,
        prescription_form: None,
        valid_until: c.valid_until,
    };
    store
        .record_consent(&NewConsent {
            institution_id: institution.id,
            person_id,
            action: c.action,
            channel: if c.own_device {
                Channel::Web
            } else {
                Channel::Counter
            },
            decision: &decision,
            recorded_at: c.recorded_at,
            recorded_by: "patient",
            photo_id_reason: c
                .own_device
                .then_some(zaitaku_domain::photo_id::PhotoIdReason::OwnDevice),
            idempotency_key: None,
        })
        .await
        .unwrap();
}

/// A physical card issued on `issued_on` (its certificate runs to the
/// holder's fifth birthday after that day).
pub async fn card(state: &AppState, person_id: i64, issued_on: NaiveDate) {
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    state
        .identity
        .issue_card(
            &IssueCard {
                person_id,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on,
                authority_id: None,
                in_demo_wallet: false,
            },
            Utc::now(),
        )
        .await
        .unwrap();
}

/// A birth date and an issue day such that the certificate ended about a
/// month ago: it is in its 3-month grace period now.
pub fn grace_card_dates() -> (NaiveDate, NaiveDate) {
    let mut end = today() - Duration::days(30);
    if (end.month(), end.day()) == (2, 29) {
        end -= Duration::days(1);
    }
    let birth = end.with_year(1960).unwrap();
    let issued_on = end.with_year(end.year() - 5).unwrap() + Duration::days(10);
    assert_eq!(
        zaitaku_card::fifth_birthday_after(issued_on, birth),
        Some(end),
        "the certificate must have ended on {end}"
    );
    (birth, issued_on)
}

/// A response, read completely.
pub struct Reply {
    pub status: u16,
    pub location: String,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl Reply {
    async fn read(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = res.bytes().await.unwrap().to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Self {
            status,
            location,
            headers,
            bytes,
            body,
        }
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Status, redirect, page title and error code, for assertion messages.
    pub fn summary(&self) -> String {
        let title = between(&self.body, "<title>", "</title>").unwrap_or("");
        let code = self
            .body
            .match_indices("Z-")
            .filter_map(|(i, _)| self.body.get(i..i + 8))
            .find(|c| c.as_bytes()[3] == b'-' && c.as_bytes()[4..].iter().all(u8::is_ascii_digit))
            .unwrap_or("");
        format!(
            "{} {} 「{}」 {}",
            self.status,
            self.location,
            title.trim(),
            code
        )
    }

    /// The error code shown on an error page or message.
    pub fn shows_code(&self, code: &str) -> bool {
        self.body.contains(code)
    }
}

/// The hidden `csrf` field of a page.
pub fn csrf_of(body: &str) -> Option<String> {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

/// Undoes askama's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The text between `start` and the next `end` in `body`.
pub fn between<'a>(body: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &body[body.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One browser: its session cookie (sent on every path, as a careless client
/// would) and the session's CSRF token.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: String,
}

impl Browser {
    pub fn anonymous(base: &str) -> Self {
        Self {
            http: http(),
            base: base.to_owned(),
            cookie: None,
            csrf: String::new(),
        }
    }

    /// The same browser with another cookie (e.g. a session id under the
    /// other realm's cookie name).
    pub fn with_cookie(&self, cookie: &str) -> Self {
        Self {
            cookie: Some(cookie.to_owned()),
            ..self.clone()
        }
    }

    /// The session id of the cookie.
    pub fn sid(&self) -> String {
        self.cookie
            .as_deref()
            .and_then(|c| c.split_once('='))
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Reply {
        let mut req = self.http.get(self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        Reply::read(req.send().await.unwrap()).await
    }

    /// Posts exactly these fields (no CSRF token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut req = self.http.post(self.url(path)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        Reply::read(req.send().await.unwrap()).await
    }

    /// Posts the fields with this session's CSRF token, as the page's form would.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    /// Takes the session cookie from a successful login and the CSRF token
    /// from the page it leads to.
    async fn from_login(base: &str, res: Reply) -> Result<(Self, Reply), Reply> {
        if res.status != 303 {
            return Err(res);
        }
        let cookie = res
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut b = Self::anonymous(base);
        b.cookie = Some(cookie);
        let landing = b.get(&res.location).await;
        b.csrf = csrf_of(&landing.body).unwrap_or_default();
        Ok((b, res))
    }

    /// An institution login; `Err` holds the refusal page.
    pub async fn try_login(
        base: &str,
        code: &str,
        user_id: &str,
        password: &str,
    ) -> Result<(Self, Reply), Reply> {
        let res = Self::anonymous(base)
            .post_raw(
                "/admin/login",
                &[
                    ("institution_code", code),
                    ("user_id", user_id),
                    ("password", password),
                ],
            )
            .await;
        Self::from_login(base, res).await
    }

    pub async fn login(base: &str, inst: &StoredInstitution, user_id: &str) -> Self {
        match Self::try_login(base, inst.institution.code.as_str(), user_id, PASSWORD).await {
            Ok((b, res)) => {
                assert_eq!(res.location, "/admin", "{user_id} must land on the menu");
                b
            }
            Err(res) => panic!("{user_id} could not log in: {}", res.summary()),
        }
    }

    pub async fn try_operator_login(
        base: &str,
        user_id: &str,
        password: &str,
    ) -> Result<(Self, Reply), Reply> {
        let res = Self::anonymous(base)
            .post_raw(
                "/operator/login",
                &[("user_id", user_id), ("password", password)],
            )
            .await;
        Self::from_login(base, res).await
    }

    pub async fn operator_login(base: &str, user_id: &str) -> Self {
        match Self::try_operator_login(base, user_id, PASSWORD).await {
            Ok((b, res)) => {
                assert_eq!(res.location, "/operator");
                b
            }
            Err(res) => panic!("operator {user_id} could not log in: {}", res.summary()),
        }
    }
}

/// Runs one SQL statement behind the application's back.
pub async fn tamper(store: &zaitaku_storage::Store, sql: &str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A synthetic person with a health-insurance qualification in force, so
/// that the web service lets them register.
pub async fn insured_person(store: &Store, id: i64, name: &str, kana: &str, birth: NaiveDate) {
    use zaitaku_domain::codes::PersonalFamily;
    use zaitaku_domain::eligibility::{Coverage, Period, Qualification};
    use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};
    let mut e: Eligibility = zaitaku_testkit::person(id, birth, true);
    e.person.name = name.into();
    e.person.name_kana = kana.into();
    e.qualifications.push(Qualification {
        id: 0,
        coverage: Coverage::Insurance {
            insurer_number: InsurerNumber::build(Some(6), Prefecture::new(13).unwrap(), 48)
                .unwrap(),
            insurer_name: "ひかり試験健康保険組合".into(),
            symbol: "1234".into(),
            number: format!("{id}"),
            branch: BranchNumber::parse("00").unwrap(),
            personal_family: PersonalFamily::Insured,
            insured_name: name.into(),
            burden_ratio: None,
        },
        acquired_on: NaiveDate::from_ymd_opt(2020, 4, 1).unwrap(),
        issued_on: NaiveDate::from_ymd_opt(2020, 4, 15),
        valid: Period {
            from: NaiveDate::from_ymd_opt(2020, 4, 1).unwrap(),
            to: None,
        },
        loss: None,
    });
    store
        .insert_persons(&[PersonRecords {
            eligibility: &e,
            drugs: &[],
            clinical: &[],
            checkups: &[],
        }])
        .await
        .unwrap();
}

/// A browser on the web service with a cookie jar (the visit and, when it
/// is one of an institution's devices, the device cookie), following
/// redirects by hand.
pub struct Visitor {
    http: reqwest::Client,
    pub base: String,
    pub jar: BTreeMap<String, String>,
    csrf: String,
}

/// Where a visitor ended up.
pub struct Landed {
    pub status: u16,
    pub url: String,
    pub body: String,
}

impl Visitor {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148")
                .build()
                .unwrap(),
            base: base.to_owned(),
            jar: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    /// Keeps a cookie from a `Set-Cookie` header value (forgets it at
    /// `Max-Age=0`).
    pub fn keep(&mut self, set_cookie: &str) {
        let Some((name, value)) = set_cookie
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
        else {
            return;
        };
        if set_cookie.contains("Max-Age=0") {
            self.jar.remove(name.trim());
        } else {
            self.jar.insert(name.trim().to_owned(), value.to_owned());
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Landed {
        loop {
            if !self.jar.is_empty() {
                req = req.header("cookie", self.cookie_header());
            }
            let res = req.send().await.unwrap();
            let url = res.url().to_string();
            for set in res.headers().get_all("set-cookie") {
                self.keep(set.to_str().unwrap());
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
            if let Some(token) = csrf_of(&body) {
                self.csrf = token;
            }
            return Landed { status, url, body };
        }
    }

    pub async fn get(&mut self, path: &str) -> Landed {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Landed {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let req = self.http.post(format!("{}{path}", self.base)).form(&fields);
        self.send(req).await
    }

    /// Flow A up to the authenticator: every item agreed (and the paper
    /// prescription where asked, the date for online care). Returns the
    /// authenticator's request id.
    pub async fn register_until_card(&mut self, start: &str, token: &str, date: &str) -> String {
        let a01 = self.get(start).await;
        assert_eq!(a01.status, 200, "{}", a01.body);
        self.post(&format!("/w/{token}/flow/register"), &[]).await;
        let mut form: Vec<(&str, &str)> = ConsentItem::ALL
            .iter()
            .map(|i| (item_field(*i), "agree"))
            .collect();
        form.push(("prescription_form", "2"));
        if !date.is_empty() {
            form.push(("consultation_date", date));
        }
        let b02 = self.post(&format!("/w/{token}/choose"), &form).await;
        assert!(b02.body.contains("画面番号：B-02"), "{}", b02.body);
        let at = self.post(&format!("/w/{token}/auth"), &[]).await;
        assert!(at.url.contains("/auth/r/"), "{} {}", at.url, at.body);
        at.url
            .split("/auth/r/")
            .nth(1)
            .unwrap()
            .split(['/', '?'])
            .next()
            .unwrap()
            .to_owned()
    }

    /// The card and its PIN in the authenticator on this device; then back
    /// to the web service by the success page's link.
    pub async fn card_here(&mut self, request: &str, card: i64) -> Landed {
        let res = self
            .http
            .post(format!("{}/auth/r/{request}/card/{card}", self.base))
            .form(&[("pin", "1234")])
            .send()
            .await
            .unwrap();
        // The PIN is posted, then the success page is shown by GET.
        assert_eq!(res.status(), 303);
        let done = res.headers()["location"].to_str().unwrap().to_owned();
        let body = self
            .http
            .get(format!("{}{done}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let i = body
            .find("href=\"/w/")
            .expect("a way back to the web service");
        let rest = &body[i + 6..];
        let link = unescape(&rest[..rest.find('"').unwrap()]);
        self.get(&link).await
    }
}

fn item_field(item: ConsentItem) -> &'static str {
    match item {
        ConsentItem::Surgery => "item_surgery",
        ConsentItem::ClinicalAndDrug => "item_clinical_and_drug",
        ConsentItem::Checkups => "item_checkups",
        ConsentItem::LimitAmount => "item_limit_amount",
        ConsentItem::SpecificDisease => "item_specific_disease",
        ConsentItem::Subsidy => "item_subsidy",
    }
}

/// The patient reads the QR code of `request` with their own phone and
/// authenticates there; the visit's device then goes on by itself.
pub async fn card_on_the_patients_phone(visit: &mut Visitor, request: &str, card: i64) -> Landed {
    let phone = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = visit.base.clone();
    let opened = phone
        .get(format!("{base}/auth/r/{request}?via=qr"))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status().as_u16(), 200);
    let done = phone
        .post(format!("{base}/auth/r/{request}/card/{card}"))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    // Posted, then the phone's success page is shown by GET.
    assert_eq!(done.status().as_u16(), 303);
    visit.get(&format!("/auth/r/{request}/qr")).await
}

/// A card for the demo wallet of the stand-in authenticator.
pub async fn wallet_card(state: &AppState, person_id: i64) -> i64 {
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    state
        .identity
        .issue_card(
            &IssueCard {
                person_id,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on: today() - Duration::days(30),
                authority_id: None,
                in_demo_wallet: true,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}
