//! The audit viewers: an institution's administrator sees the institution's
//! own records; the operator sees the whole platform and can verify the hash
//! chain. Both filter by period, event type and account (the institution also
//! by patient) and export what they filter as CSV. Records read in Japanese
//! (`audit_labels`): who acted, what, with what result, about which patient.
//! Looking at the log and exporting it are themselves recorded.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::consent::jst;
use zaitaku_service::audit_log::{self, Category, Filter, PAGE, Resolved, account_of};
use zaitaku_storage::{AuditRecord, StoredAccount};

use super::audit_labels::{
    ACTIONS, CATEGORIES, action_label, actor_label, detail_summary, outcome_label,
};
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::handoff::urlencode;
use crate::common::nav::Nav;
use crate::common::staff::{CsrfForm, Gate, Staff, gate};
use zaitaku_service::staff::Realm;

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

/// The event type chosen, as one of the filter's choices (anything else is
/// every record).
fn category(wanted: &str) -> Category<'static> {
    if let Some((a, _)) = ACTIONS.iter().find(|(a, _)| *a == wanted) {
        return Category::Action(a);
    }
    match CATEGORIES.iter().find(|(p, _)| *p == wanted) {
        Some((p, _)) => Category::Prefix(p),
        None => Category::Every,
    }
}

impl AuditFilter {
    fn typed(&self) -> Filter<'_> {
        Filter {
            category: category(self.category.as_deref().unwrap_or("")),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            patient: self.patient.as_deref(),
            account: self.account.as_deref(),
            before: self.before,
        }
    }
}

/// The filter as a query string (without paging), for links.
fn query_string(category: &Category<'_>, r: &Resolved) -> String {
    let d = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    format!(
        "category={}&from={}&to={}&patient={}&account={}",
        urlencode(category.as_str()),
        d(r.from).unwrap_or_default(),
        d(r.to).unwrap_or_default(),
        urlencode(&r.patient),
        urlencode(&r.account),
    )
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
    staff: &Staff<impl Gate>,
    platform: bool,
    records: &[AuditRecord],
) -> Result<Names, WebError> {
    let found = audit_log::names(&state.store, staff, records).await?;
    let by_user_id = found
        .accounts
        .values()
        .filter(|a| platform || a.institution_id.is_some())
        .map(|a| (a.user_id.clone(), a.name.clone()))
        .collect();
    Ok(Names {
        accounts: found.accounts,
        by_user_id,
        patients: found.patients,
        institutions: found.institutions,
    })
}

fn detail_of(r: &AuditRecord) -> serde_json::Value {
    serde_json::from_str(&r.detail).unwrap_or(json!({}))
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
    staff: &Staff<impl Gate>,
    realm: Realm,
    f: AuditFilter,
    verify: Option<(bool, String)>,
) -> Result<Response, WebError> {
    let platform = realm == Realm::Operator;
    let typed = f.typed();
    let audit_log::Read { filter: r, records } =
        audit_log::view(&state.store, staff, &typed, Utc::now()).await?;
    let chosen = typed.category.as_str();
    let names = names(state, staff, platform, &records).await?;
    let base = base(platform);
    let next = (records.len() as i64 == PAGE)
        .then(|| records.last().map(|rec| rec.seq))
        .flatten()
        .map(|seq| format!("{base}?{}&before={seq}", query_string(&typed.category, &r)));
    let accounts = if platform {
        Vec::new()
    } else {
        zaitaku_service::accounts::list(&state.store, staff)
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
                selected: *v == chosen,
            })
            .collect(),
        actions: ACTIONS
            .iter()
            .map(|(v, l)| Choice {
                value: v,
                label: l,
                selected: *v == chosen,
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
        csv: format!("{base}.csv?{}", query_string(&typed.category, &r)),
        verify,
        error: r.refusal.map(audit_log::FilterRefusal::message),
        nav: Nav::new(staff, realm, base),
    };
    Ok(form_page(page.render()?, page.error.is_some()))
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
    staff: &Staff<impl Gate>,
    realm: Realm,
    f: AuditFilter,
) -> Result<Response, WebError> {
    let platform = realm == Realm::Operator;
    let now = Utc::now();
    let records = match audit_log::export(&state.store, staff, &f.typed(), now).await? {
        Ok(read) => read.records,
        Err(why) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, why.message()).into_response()),
    };
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
    Ok(res)
}

/// 監査ログ of the institution or, for an operator, of the whole platform
/// (`G` says which).
pub async fn page<G: Gate>(
    State(state): State<AppState>,
    staff: Staff<G>,
    Query(f): Query<AuditFilter>,
) -> Result<Response, WebError> {
    show(&state, &staff, G::REALM, f, None).await
}

pub async fn csv<G: Gate>(
    State(state): State<AppState>,
    staff: Staff<G>,
    Query(f): Query<AuditFilter>,
) -> Result<Response, WebError> {
    export(&state, &staff, G::REALM, f).await
}

/// Walks the whole chain and says whether any record was edited or deleted.
pub async fn verify(
    State(state): State<AppState>,
    staff: Staff<gate::ViewPlatformAudit>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let broken = audit_log::verify_chain(&state.store, &staff, Utc::now()).await?;
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
