//! HTTP clients for tests against the real server: [`Browser`] for the
//! administration (a session cookie, its CSRF token, the login helpers),
//! [`Visitor`] for the patient's web service (a cookie jar, redirects
//! followed by hand, the flow up to the authenticator and back), and
//! [`Reply`] with helpers to read pages.

use std::collections::BTreeMap;

use zaitaku_domain::consent::ConsentItem;
use zaitaku_storage::StoredInstitution;

use crate::fixtures::PASSWORD;

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

    /// Posts exactly these fields (no CSRF token added), as a forged form.
    pub async fn post_raw(&mut self, path: &str, form: &[(&str, &str)]) -> Landed {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
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
        self.card_back_to(request, card, &[("pin", "1234")], "/w/")
            .await
    }

    /// The card unlocked with `secret` (`pin` or `biometric`) in the
    /// authenticator, then back by the success page's link to the service
    /// whose paths start with `back`.
    pub async fn card_back_to(
        &mut self,
        request: &str,
        card: i64,
        secret: &[(&str, &str)],
        back: &str,
    ) -> Landed {
        let res = self
            .http
            .post(format!("{}/auth/r/{request}/card/{card}", self.base))
            .form(secret)
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
            .find(&format!("href=\"{back}"))
            .unwrap_or_else(|| panic!("no way back to {back}: {body}"));
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
