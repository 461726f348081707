//! The audit viewers: an institution's administrator sees the institution's
//! own records; the operator sees the whole platform and can verify the hash
//! chain. Looking at the log is itself recorded.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::account::Permission;
use zaitaku_domain::consent::next_midnight_jst;
use zaitaku_storage::{AuditQuery, AuditRecord};

use super::auth::{CsrfForm, Realm, Staff, gate};
use super::patients::jst_start;
use super::{Nav, jst_minute};
use crate::AppState;
use crate::error::WebError;

const PAGE: i64 = 100;

/// The categories offered in the filter: action prefix and label.
const CATEGORIES: [(&str, &str); 10] = [
    ("", "すべて"),
    ("account.", "ログイン・アカウント"),
    ("access.", "権限のない操作"),
    ("patient", "患者一覧・患者情報"),
    ("eligibility.", "資格情報の再照会"),
    ("medical.", "薬剤情報等の閲覧"),
    ("consent.", "同意の登録・照会"),
    ("institution.", "環境設定・URL"),
    ("login.", "マイナンバーカードでの本人確認"),
    ("partner.", "オンライン診療サービスとの連携"),
];

/// Japanese names for the actions the system records.
pub fn action_label(action: &str) -> &str {
    match action {
        "account.login" => "ログイン",
        "account.logout" => "ログアウト",
        "account.create" => "アカウント登録",
        "account.disable" => "アカウント無効化",
        "account.enable" => "アカウント有効化",
        "account.unlock" => "ロック解除",
        "account.password_change" => "パスワード変更",
        "account.password_reset" => "パスワード再設定",
        "access.denied" => "権限のない操作",
        "patients.list" => "同意取得済み患者一覧の表示",
        "patient.view" => "患者情報の表示",
        "patient.reference_number" => "照会番号の登録",
        "patient.photo_id_checked" => "顔写真付き身分証の確認",
        "eligibility.requery" => "資格情報の再照会",
        "medical.read" => "薬剤情報等の閲覧",
        "consent.write" => "同意の登録・更新・取消",
        "consent.read" => "同意内容の照会",
        "flow.start" => "マイナ在宅受付Webの利用開始",
        "partner.return" => "オンライン診療サービスへの戻り",
        "partner.return_url" => "オンライン診療サービスの戻り先の確認",
        "institution.settings" => "環境設定情報更新",
        "institution.url_rotate" => "医療機関等別URLの変更",
        "institution.create" => "医療機関等の登録",
        "login.verify" => "マイナンバーカードでの本人確認",
        "token.check" => "署名の検証",
        "card.issue" => "カード発行",
        "card.unlock" => "暗証番号の入力",
        "card.pin_reset" => "暗証番号の初期化",
        "card.revoke" => "電子証明書の失効",
        "read.person" | "read.eligibility" => "資格情報の参照",
        "audit.view" => "監査ログの表示",
        "audit.verify" => "監査ログの改ざん検証",
        other => other,
    }
}

pub struct Line {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub institution: String,
    pub person: String,
    pub detail: String,
    pub hash: String,
}

fn line(r: &AuditRecord) -> Line {
    let detail: serde_json::Value = serde_json::from_str(&r.detail).unwrap_or(json!({}));
    let who = detail
        .get("user_id")
        .and_then(serde_json::Value::as_str)
        .map_or(r.actor.clone(), |u| format!("{}（{u}）", r.actor));
    Line {
        seq: r.seq,
        at: jst_minute(r.at),
        actor: who,
        action: action_label(&r.action).to_owned(),
        outcome: r.outcome.clone(),
        institution: r.institution_id.map_or("—".into(), |i| i.to_string()),
        person: r.person_id.map_or("—".into(), |p| p.to_string()),
        detail: r.detail.clone(),
        hash: r.hash.chars().take(12).collect(),
    }
}

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    nav: Nav<'a>,
    platform: bool,
    action_url: &'static str,
    categories: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    lines: Vec<Line>,
    next: Option<String>,
    verify: Option<(bool, String)>,
    error: Option<&'static str>,
}

fn day(s: Option<&str>) -> Result<Option<NaiveDate>, ()> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

async fn show(
    state: &AppState,
    staff: &Staff,
    realm: Realm,
    f: AuditFilter,
    verify: Option<(bool, String)>,
) -> Result<Response, WebError> {
    let platform = realm == Realm::Operator;
    let category = CATEGORIES
        .iter()
        .find(|(p, _)| Some(*p) == f.category.as_deref())
        .map_or("", |(p, _)| *p);
    let (from, to, error) = match (day(f.from.as_deref()), day(f.to.as_deref())) {
        (Ok(a), Ok(b)) => (a, b, None),
        _ => (
            None,
            None,
            Some("日付は 2026-04-01 の形で入力してください。"),
        ),
    };
    let institution_id = if platform {
        None
    } else {
        Some(staff.institution()?.id)
    };
    let records = state
        .store
        .query_audit(&AuditQuery {
            institution_id,
            action_prefix: Some(category.to_owned()),
            from: from.map(jst_start),
            until: to.map(next_midnight_jst),
            before_seq: f.before,
            limit: PAGE,
        })
        .await?;
    state
        .store
        .audit(
            &staff.event(
                "audit.view",
                "ok",
                None,
                json!({"category": category, "count": records.len(), "platform": platform}),
            ),
            Utc::now(),
        )
        .await?;
    let base = if platform {
        "/operator/audit"
    } else {
        "/admin/audit"
    };
    let next = (records.len() as i64 == PAGE)
        .then(|| records.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            format!(
                "{base}?category={category}&from={}&to={}&before={seq}",
                f.from.as_deref().unwrap_or(""),
                f.to.as_deref().unwrap_or("")
            )
        });
    let page = AuditPage {
        platform,
        action_url: base,
        categories: CATEGORIES
            .iter()
            .map(|(p, l)| (*p, *l, *p == category))
            .collect(),
        from: from
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        to: to
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        lines: records.iter().map(line).collect(),
        next,
        verify,
        error,
        nav: Nav::new(staff, realm, base),
    };
    let mut res = Html(page.render()?).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn institution(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<AuditFilter>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ViewInstitutionAudit
    );
    show(&state, &staff, Realm::Institution, f, None).await
}

pub async fn platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<AuditFilter>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Operator,
        Permission::ViewPlatformAudit
    );
    show(&state, &staff, Realm::Operator, f, None).await
}

/// Walks the whole chain and says whether any record was edited or deleted.
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Operator,
        Permission::ViewPlatformAudit
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let broken = state.store.verify_audit_chain().await?;
    let result = match broken {
        None => (
            true,
            "監査ログの連鎖は正常です。編集・削除された記録はありません。".to_owned(),
        ),
        Some(seq) => (
            false,
            format!(
                "監査ログの連鎖が番号 {seq} で途切れています。この記録以降が編集・削除された可能性があります。"
            ),
        ),
    };
    state
        .store
        .audit(
            &staff.event(
                "audit.verify",
                if broken.is_none() { "intact" } else { "broken" },
                None,
                json!({"first_broken": broken}),
            ),
            Utc::now(),
        )
        .await?;
    show(
        &state,
        &staff,
        Realm::Operator,
        AuditFilter::default(),
        Some(result),
    )
    .await
}
