//! 監査ログ: reading the audit log. An institution's administrator reads the
//! institution's own records; the platform's operator reads the whole
//! platform and verifies the hash chain. Both filter by period, event type and
//! account (the institution also by patient) and export what they filter.
//! Reading the log, exporting it and verifying it are themselves recorded,
//! with the filter used (whether a patient was searched, never the name
//! typed).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use zaitaku_domain::consent::next_midnight_jst;
use zaitaku_storage::{AuditQuery, AuditRecord, PatientFilter, Store, StoredAccount};

use crate::ServiceError;
use crate::patients::{jst_start, katakana, parse_day};
use crate::staff::{Realm, Session};

/// Records on one page of the viewer.
pub const PAGE: i64 = 100;
/// A CSV export holds at most this many records; a longer period is
/// exported in parts.
pub const EXPORT_MAX: usize = 10_000;
/// Patients a name in the filter may stand for.
const PATIENT_MATCHES: i64 = 200;

/// The event type to show: every record, an action prefix (a category such
/// as `account.`) or one action. The surface offers the choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Category<'a> {
    #[default]
    Every,
    Prefix(&'a str),
    Action(&'a str),
}

impl Category<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Every => "",
            Self::Prefix(p) => p,
            Self::Action(a) => a,
        }
    }
}

/// The viewer's filter as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub category: Category<'a>,
    /// `YYYY-MM-DD`, days in Japan.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// 氏名 or カナ of a patient (an institution's viewer only).
    pub patient: Option<&'a str>,
    /// The user ID of the account that acted.
    pub account: Option<&'a str>,
    /// Records older than this sequence number (paging).
    pub before: Option<i64>,
}

/// Why a filter was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterRefusal {
    /// The period ends before it starts.
    Period,
    /// A date does not read.
    Format,
    /// No consented patient has that name.
    NoSuchPatient,
}

impl FilterRefusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Period => "期間が正しくありません（開始日が終了日より後です）。",
            Self::Format => "日付は 2026-04-01 の形で入力してください。",
            Self::NoSuchPatient => "その氏名・カナの患者はいません。",
        }
    }
}

/// A filter understood: what to show it again as, and the query it runs.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub patient: String,
    pub account: String,
    pub query: AuditQuery,
    pub refusal: Option<FilterRefusal>,
}

impl Resolved {
    /// What the audit record of reading or exporting says about the filter.
    fn detail(&self, category: &Category<'_>, count: usize, platform: bool) -> serde_json::Value {
        json!({
            "category": category.as_str(),
            "from": self.from,
            "to": self.to,
            "by_patient": !self.patient.is_empty(),
            "filter_account": (!self.account.is_empty()).then_some(&self.account),
            "count": count,
            "platform": platform,
        })
    }
}

/// The operator reads the whole platform; staff their institution.
fn is_platform(reader: &Session) -> bool {
    reader.realm == Realm::Operator
}

async fn resolve(
    store: &Store,
    reader: &Session,
    f: &Filter<'_>,
) -> Result<Resolved, ServiceError> {
    let platform = is_platform(reader);
    let (from, to, mut refusal) = match (parse_day(f.from), parse_day(f.to)) {
        (Ok(a), Ok(b)) if a.zip(b).is_none_or(|(a, b)| a <= b) => (a, b, None),
        (Ok(_), Ok(_)) => (None, None, Some(FilterRefusal::Period)),
        _ => (None, None, Some(FilterRefusal::Format)),
    };
    let account: String = f
        .account
        .unwrap_or("")
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let patient = if platform {
        String::new()
    } else {
        f.patient.unwrap_or("").trim().to_owned()
    };
    let institution_id = if platform {
        None
    } else {
        Some(reader.staff_institution()?.id)
    };
    let person_ids = match institution_id {
        Some(inst) if !patient.is_empty() => {
            let found = store
                .consented_patients(
                    inst,
                    &PatientFilter {
                        name: Some(katakana(&patient)),
                        limit: PATIENT_MATCHES,
                        ..PatientFilter::default()
                    },
                )
                .await?;
            if found.is_empty() && refusal.is_none() {
                refusal = Some(FilterRefusal::NoSuchPatient);
            }
            Some(found.iter().map(|p| p.person_id).collect())
        }
        _ => None,
    };
    let (action_prefix, action) = match f.category {
        Category::Every => (Some(String::new()), None),
        Category::Prefix(p) => (Some(p.to_owned()), None),
        Category::Action(a) => (None, Some(a.to_owned())),
    };
    Ok(Resolved {
        from,
        to,
        query: AuditQuery {
            institution_id,
            action_prefix,
            action,
            person_ids,
            user_id: (!account.is_empty()).then(|| account.clone()),
            from: from.map(jst_start),
            until: to.map(next_midnight_jst),
            before_seq: f.before,
            limit: PAGE,
        },
        patient,
        account,
        refusal,
    })
}

/// Records read with the filter that found them.
#[derive(Debug)]
pub struct Read {
    pub filter: Resolved,
    pub records: Vec<AuditRecord>,
}

/// One page of records, newest first (none when the filter was refused).
pub async fn view(
    store: &Store,
    reader: &Session,
    f: &Filter<'_>,
    now: DateTime<Utc>,
) -> Result<Read, ServiceError> {
    let r = resolve(store, reader, f).await?;
    let records = if r.refusal.is_none() {
        store.query_audit(&r.query).await?
    } else {
        Vec::new()
    };
    store
        .audit(
            &reader.actor().event(
                "audit.view",
                "ok",
                None,
                r.detail(&f.category, records.len(), is_platform(reader)),
            ),
            now,
        )
        .await?;
    Ok(Read { filter: r, records })
}

/// Every record the filter finds, up to [`EXPORT_MAX`], for a download.
pub async fn export(
    store: &Store,
    reader: &Session,
    f: &Filter<'_>,
    now: DateTime<Utc>,
) -> Result<Result<Read, FilterRefusal>, ServiceError> {
    let mut r = resolve(store, reader, f).await?;
    if let Some(why) = r.refusal {
        return Ok(Err(why));
    }
    let mut records: Vec<AuditRecord> = Vec::new();
    r.query.limit = 500;
    loop {
        let batch = store.query_audit(&r.query).await?;
        let done = i64::try_from(batch.len()).unwrap_or(i64::MAX) < r.query.limit;
        r.query.before_seq = batch.last().map(|rec| rec.seq);
        records.extend(batch);
        if done || records.len() >= EXPORT_MAX {
            break;
        }
    }
    records.truncate(EXPORT_MAX);
    store
        .audit(
            &reader.actor().event(
                "audit.export",
                "ok",
                None,
                r.detail(&f.category, records.len(), is_platform(reader)),
            ),
            now,
        )
        .await?;
    Ok(Ok(Read { filter: r, records }))
}

/// Walks the whole chain: the first record that was edited or deleted, if
/// any.
pub async fn verify_chain(
    store: &Store,
    operator: &Session,
    now: DateTime<Utc>,
) -> Result<Option<i64>, ServiceError> {
    let broken = store.verify_audit_chain().await?;
    store
        .audit(
            &operator.actor().event(
                "audit.verify",
                if broken.is_none() { "intact" } else { "broken" },
                None,
                json!({"first_broken": broken}),
            ),
            now,
        )
        .await?;
    Ok(broken)
}

/// The names records are shown with: the accounts that acted, the patients
/// (an institution's viewer) and the institutions (the operator's).
#[derive(Debug, Default)]
pub struct Names {
    pub accounts: BTreeMap<i64, StoredAccount>,
    pub patients: BTreeMap<i64, String>,
    pub institutions: BTreeMap<i64, String>,
}

/// The account a record names as having acted, if any.
pub fn account_of(r: &AuditRecord) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(&r.detail)
        .ok()?
        .get("account")
        .and_then(serde_json::Value::as_i64)
}

/// The names `records` need.
pub async fn names(
    store: &Store,
    reader: &Session,
    records: &[AuditRecord],
) -> Result<Names, ServiceError> {
    let mut names = Names::default();
    if is_platform(reader) {
        let ids: BTreeSet<i64> = records.iter().filter_map(account_of).collect();
        for id in ids {
            if let Some(a) = store.account(id).await? {
                names.accounts.insert(id, a);
            }
        }
        for i in store.list_institutions().await? {
            names.institutions.insert(
                i.id,
                format!("{}（{}）", i.institution.name, i.institution.code.as_str()),
            );
        }
    } else {
        let inst = reader.staff_institution()?;
        for a in store.accounts_of(inst.id).await? {
            names.accounts.insert(a.id, a);
        }
        let persons: BTreeSet<i64> = records.iter().filter_map(|r| r.person_id).collect();
        let persons: Vec<i64> = persons.into_iter().collect();
        names.patients = store.consented_names(inst.id, &persons).await?;
    }
    Ok(names)
}
