//! The audit viewers: an institution's administrator sees the institution's
//! own records; the operator sees the whole platform and can verify the hash
//! chain. Both filter by period, event type and account (the institution also
//! by patient) and export what they filter as CSV. Records read in Japanese
//! (`audit_labels`): who acted, what, with what result, about which patient.
//! Looking at the log and exporting it are themselves recorded.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::account::Permission;
use zaitaku_domain::consent::{jst, next_midnight_jst};
use zaitaku_storage::{AuditQuery, AuditRecord, PatientFilter, StoredAccount};

use super::Nav;
use super::audit_labels::{
    ACTIONS, CATEGORIES, action_label, actor_label, detail_summary, outcome_label,
};
use super::auth::{CsrfForm, Realm, Staff, gate};
use super::patients::{jst_start, katakana};
use crate::AppState;
use crate::error::WebError;
use crate::handoff::urlencode;

const PAGE: i64 = 100;
/// A CSV export holds at most this many records; a longer period is
/// exported in parts.
const CSV_MAX: usize = 10_000;
/// Patients a name in the filter may stand for.
const PATIENT_MATCHES: i64 = 200;

pub struct Line {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    /// Not a success: shown so that it stands out.
    pub failed: bool,
    pub institution: String,
    /// The patient's id and name, for a patient of this institution.
    pub patient: Option<(i64, String)>,
    pub detail: String,
    pub hash: String,
}

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    /// A category (action prefix) or one action.
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// 氏名 or カナ of a patient (institution only).
    patient: Option<String>,
    /// The user ID of the account that acted.
    account: Option<String>,
    before: Option<i64>,
}

/// An option of the event-type filter.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    nav: Nav<'a>,
    platform: bool,
    action_url: &'static str,
    categories: Vec<Choice>,
    actions: Vec<Choice>,
    /// The institution's accounts: user ID, name, selected.
    accounts: Vec<(String, String, bool)>,
    account: String,
    patient: String,
    from: String,
    to: String,
    lines: Vec<Line>,
    next: Option<String>,
    csv: String,
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

/// A filter checked and resolved into a query.
struct Resolved {
    category: &'static str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    patient: String,
    account: String,
    query: AuditQuery,
    error: Option<&'static str>,
}

impl Resolved {
    /// The filter as a query string (without paging), for links.
    fn query_string(&self) -> String {
        let d = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        format!(
            "category={}&from={}&to={}&patient={}&account={}",
            urlencode(self.category),
            d(self.from).unwrap_or_default(),
            d(self.to).unwrap_or_default(),
            urlencode(&self.patient),
            urlencode(&self.account),
        )
    }

    /// What the audit record of viewing or exporting says about the filter
    /// (whether a patient was searched, not the name typed).
    fn detail(&self, count: usize, platform: bool) -> serde_json::Value {
        json!({
            "category": self.category,
            "from": self.from,
            "to": self.to,
            "by_patient": !self.patient.is_empty(),
            "filter_account": (!self.account.is_empty()).then_some(&self.account),
            "count": count,
            "platform": platform,
        })
    }
}

async fn resolve(
    state: &AppState,
    staff: &Staff,
    platform: bool,
    f: &AuditFilter,
) -> Result<Resolved, WebError> {
    let wanted = f.category.as_deref().unwrap_or("");
    let category = CATEGORIES
        .iter()
        .map(|(p, _)| *p)
        .chain(ACTIONS.iter().map(|(a, _)| *a))
        .find(|c| *c == wanted)
        .unwrap_or("");
    let is_action = ACTIONS.iter().any(|(a, _)| *a == category);
    let (from, to, mut error) = match (day(f.from.as_deref()), day(f.to.as_deref())) {
        (Ok(a), Ok(b)) if a.zip(b).is_none_or(|(a, b)| a <= b) => (a, b, None),
        (Ok(_), Ok(_)) => (
            None,
            None,
            Some("期間が正しくありません（開始日が終了日より後です）。"),
        ),
        _ => (
            None,
            None,
            Some("日付は 2026-04-01 の形で入力してください。"),
        ),
    };
    let account: String = f
        .account
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let patient = if platform {
        String::new()
    } else {
        f.patient.as_deref().unwrap_or("").trim().to_owned()
    };
    let institution_id = if platform {
        None
    } else {
        Some(staff.institution()?.id)
    };
    let person_ids = match institution_id {
        Some(inst) if !patient.is_empty() => {
            let found = state
                .store
                .consented_patients(
                    inst,
                    &PatientFilter {
                        name: Some(katakana(&patient)),
                        limit: PATIENT_MATCHES,
                        ..PatientFilter::default()
                    },
                )
                .await?;
            if found.is_empty() && error.is_none() {
                error = Some("その氏名・カナの患者はいません。");
            }
            Some(found.iter().map(|p| p.person_id).collect())
        }
        _ => None,
    };
    Ok(Resolved {
        category,
        from,
        to,
        query: AuditQuery {
            institution_id,
            action_prefix: (!is_action).then(|| category.to_owned()),
            action: is_action.then(|| category.to_owned()),
            person_ids,
            user_id: (!account.is_empty()).then(|| account.clone()),
            from: from.map(jst_start),
            until: to.map(next_midnight_jst),
            before_seq: f.before,
            limit: PAGE,
        },
        patient,
        account,
        error,
    })
}

/// The names a page of records needs: accounts, patients (institution
/// only) and institutions (operator only).
struct Names {
    accounts: BTreeMap<i64, StoredAccount>,
    by_user_id: BTreeMap<String, String>,
    patients: BTreeMap<i64, String>,
    institutions: BTreeMap<i64, String>,
}

async fn names(
    state: &AppState,
    staff: &Staff,
    platform: bool,
    records: &[AuditRecord],
) -> Result<Names, WebError> {
    let mut accounts = BTreeMap::new();
    let mut patients = BTreeMap::new();
    let mut institutions = BTreeMap::new();
    if platform {
        let ids: BTreeSet<i64> = records.iter().filter_map(account_of).collect();
        for id in ids {
            if let Some(a) = state.store.account(id).await? {
                accounts.insert(id, a);
            }
        }
        for i in state.store.list_institutions().await? {
            institutions.insert(
                i.id,
                format!("{}（{}）", i.institution.name, i.institution.code.as_str()),
            );
        }
    } else {
        let inst = staff.institution()?;
        for a in state.store.accounts_of(inst.id).await? {
            accounts.insert(a.id, a);
        }
        let persons: BTreeSet<i64> = records.iter().filter_map(|r| r.person_id).collect();
        let persons: Vec<i64> = persons.into_iter().collect();
        patients = state.store.consented_names(inst.id, &persons).await?;
    }
    let by_user_id = accounts
        .values()
        .filter(|a| platform || a.institution_id.is_some())
        .map(|a| (a.user_id.clone(), a.name.clone()))
        .collect();
    Ok(Names {
        accounts,
        by_user_id,
        patients,
        institutions,
    })
}

fn detail_of(r: &AuditRecord) -> serde_json::Value {
    serde_json::from_str(&r.detail).unwrap_or(json!({}))
}

fn account_of(r: &AuditRecord) -> Option<i64> {
    detail_of(r)
        .get("account")
        .and_then(serde_json::Value::as_i64)
}

/// `名前（ユーザID）` for an account, `運用者（ID）` for an operator seen
/// from an institution, otherwise who the record says acted.
fn actor(r: &AuditRecord, names: &Names) -> String {
    let detail = detail_of(r);
    let user_id = detail.get("user_id").and_then(serde_json::Value::as_str);
    if let Some(a) = account_of(r).and_then(|id| names.accounts.get(&id)) {
        return format!("{}（{}）", a.name, a.user_id);
    }
    match user_id {
        Some(u) if r.actor != "operator" => match names.by_user_id.get(u) {
            Some(name) => format!("{name}（{u}）"),
            None => format!("{}（{u}）", actor_label(&r.actor)),
        },
        Some(u) => format!("{}（{u}）", actor_label(&r.actor)),
        None => actor_label(&r.actor).to_owned(),
    }
}

fn line(r: &AuditRecord, names: &Names) -> Line {
    Line {
        seq: r.seq,
        at: r
            .at
            .with_timezone(&jst())
            .format("%Y年%m月%d日 %H:%M:%S")
            .to_string(),
        actor: actor(r, names),
        action: action_label(&r.action).to_owned(),
        outcome: outcome_label(&r.outcome),
        failed: !matches!(r.outcome.as_str(), "ok" | "intact" | "completed" | "signed"),
        institution: r.institution_id.map_or("—".into(), |i| {
            names
                .institutions
                .get(&i)
                .cloned()
                .unwrap_or_else(|| i.to_string())
        }),
        patient: r
            .person_id
            .and_then(|p| names.patients.get(&p).map(|n| (p, n.clone()))),
        detail: detail_summary(&r.action, &r.detail),
        hash: r.hash.chars().take(12).collect(),
    }
}

fn base(platform: bool) -> &'static str {
    if platform {
        "/operator/audit"
    } else {
        "/admin/audit"
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
    let r = resolve(state, staff, platform, &f).await?;
    let records = if r.error.is_none() {
        state.store.query_audit(&r.query).await?
    } else {
        Vec::new()
    };
    state
        .store
        .audit(
            &staff.event("audit.view", "ok", None, r.detail(records.len(), platform)),
            Utc::now(),
        )
        .await?;
    let names = names(state, staff, platform, &records).await?;
    let base = base(platform);
    let next = (records.len() as i64 == PAGE)
        .then(|| records.last().map(|rec| rec.seq))
        .flatten()
        .map(|seq| format!("{base}?{}&before={seq}", r.query_string()));
    let accounts = if platform {
        Vec::new()
    } else {
        let inst = staff.institution()?;
        state
            .store
            .accounts_of(inst.id)
            .await?
            .into_iter()
            .map(|a| {
                let selected = a.user_id == r.account;
                (a.user_id, a.name, selected)
            })
            .collect()
    };
    let page = AuditPage {
        platform,
        action_url: base,
        categories: CATEGORIES
            .iter()
            .map(|(v, l)| Choice {
                value: v,
                label: l,
                selected: *v == r.category,
            })
            .collect(),
        actions: ACTIONS
            .iter()
            .map(|(v, l)| Choice {
                value: v,
                label: l,
                selected: *v == r.category,
            })
            .collect(),
        accounts,
        account: r.account.clone(),
        patient: r.patient.clone(),
        from: r
            .from
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        to: r
            .to
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        lines: records.iter().map(|rec| line(rec, &names)).collect(),
        next,
        csv: format!("{base}.csv?{}", r.query_string()),
        verify,
        error: r.error,
        nav: Nav::new(staff, realm, base),
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = (status, Html(page.render()?)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// One CSV field: quoted, quotes doubled, and a leading `= + - @` (or tab,
/// CR) defused so that a spreadsheet never runs a cell as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The filtered records as CSV: UTF-8 with a byte-order mark, which Excel
/// needs to read UTF-8, and CRLF line ends.
async fn export(
    state: &AppState,
    staff: &Staff,
    realm: Realm,
    f: AuditFilter,
) -> Result<Response, WebError> {
    let platform = realm == Realm::Operator;
    let mut r = resolve(state, staff, platform, &f).await?;
    if let Some(e) = r.error {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, e).into_response());
    }
    let mut records: Vec<AuditRecord> = Vec::new();
    r.query.limit = 500;
    loop {
        let batch = state.store.query_audit(&r.query).await?;
        let done = (batch.len() as i64) < r.query.limit;
        r.query.before_seq = batch.last().map(|rec| rec.seq);
        records.extend(batch);
        if done || records.len() >= CSV_MAX {
            break;
        }
    }
    records.truncate(CSV_MAX);
    let now = Utc::now();
    state
        .store
        .audit(
            &staff.event(
                "audit.export",
                "ok",
                None,
                r.detail(records.len(), platform),
            ),
            now,
        )
        .await?;
    let names = names(state, staff, platform, &records).await?;
    let mut header_row = vec!["番号", "日時", "操作者", "操作", "結果"];
    header_row.push(if platform {
        "医療機関等"
    } else {
        "患者"
    });
    header_row.push("詳細");
    let mut out = String::from("\u{feff}");
    out.push_str(
        &header_row
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str("\r\n");
    for rec in &records {
        let l = line(rec, &names);
        let who = if platform {
            l.institution.clone()
        } else {
            l.patient.map(|(_, n)| n).unwrap_or_default()
        };
        let row = [
            l.seq.to_string(),
            l.at,
            l.actor,
            l.action,
            l.outcome,
            who,
            l.detail,
        ];
        out.push_str(
            &row.iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    let file = format!(
        "audit-{}.csv",
        now.with_timezone(&jst()).format("%Y%m%d-%H%M")
    );
    let mut res = out.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
            .map_err(|e| WebError::Internal(e.to_string()))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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

pub async fn institution_csv(
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
    export(&state, &staff, Realm::Institution, f).await
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

pub async fn platform_csv(
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
    export(&state, &staff, Realm::Operator, f).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
        assert_eq!(
            csv_field("管理 太郎（admin01）"),
            "\"管理 太郎（admin01）\""
        );
    }
}
