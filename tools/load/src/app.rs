//! The staff app's side of the set-up: the nurse whose devices the load
//! uses, and a browser signed in on one of them.

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use zaitaku_domain::account::Role;
use zaitaku_storage::{NewAccount, Store, StoredAccount, StoredInstitution};

/// The nurse's password (システムログイン).
pub const PASSWORD: &str = "Zaitaku#2026";
/// The passcode the signed-in browser chooses.
pub const PASSCODE: &str = "2580";

/// 一般利用者 `nurse1` of `inst`, who has logged in to the administration.
pub async fn nurse(store: &Store, inst: &StoredInstitution) -> Result<StoredAccount> {
    let hash = zaitaku_service::staff::hash_password(PASSWORD)?;
    Ok(store
        .insert_account(
            &NewAccount {
                institution_id: Some(inst.id),
                user_id: "nurse1",
                role: Role::General,
                name: "負荷 看子",
                name_kana: "フカ　カンコ",
                start_date: chrono::NaiveDate::from_ymd_opt(2026, 4, 1)
                    .ok_or_else(|| anyhow!("date"))?,
                password_hash: &hash,
                must_change_password: false,
            },
            Utc::now(),
        )
        .await?)
}

/// The `name=value` pairs a browser keeps, sent back as one header.
#[derive(Debug, Clone, Default)]
pub struct Jar(Vec<(String, String)>);

impl Jar {
    pub fn with(name: &str, value: &str) -> Self {
        Self(vec![(name.to_owned(), value.to_owned())])
    }

    /// Keeps the cookies `res` sets.
    pub fn keep(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            if let Some((k, v)) = v
                .to_str()
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|kv| kv.split_once('='))
            {
                self.set(k, v);
            }
        }
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.to_owned()));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The form's CSRF token on a page.
pub fn csrf_of(body: &str) -> Result<String> {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no csrf field"))
}

/// システムログイン on the device whose token is `device_token`,
/// パスコードの登録, セキュリティ設定 opened: the browser's cookies and the
/// session's CSRF token.
pub async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    device_token: &str,
) -> Result<(Jar, String)> {
    let mut jar = Jar::with("zt_app_device", device_token);
    let res = http
        .post(format!("{base}/app/signin"))
        .header("cookie", jar.header())
        .form(&[("user_id", "nurse1"), ("password", PASSWORD)])
        .send()
        .await?;
    if res.status().as_u16() != 303 {
        bail!("システムログイン refused: {}", res.text().await?);
    }
    jar.keep(&res);
    let page = http
        .get(format!("{base}/app/passcode"))
        .header("cookie", jar.header())
        .send()
        .await?
        .text()
        .await?;
    let csrf = csrf_of(&page)?;
    let res = http
        .post(format!("{base}/app/passcode"))
        .header("cookie", jar.header())
        .form(&[
            ("csrf", csrf.as_str()),
            ("first", PASSCODE),
            ("again", PASSCODE),
        ])
        .send()
        .await?;
    jar.keep(&res);
    let res = http
        .post(format!("{base}/app/security"))
        .header("cookie", jar.header())
        .form(&[("csrf", csrf.as_str()), ("passcode", PASSCODE)])
        .send()
        .await?;
    if !res.text().await?.contains("S-02-W") {
        bail!("セキュリティ設定 did not open");
    }
    Ok((jar, csrf))
}
