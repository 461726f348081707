//! 資格確認 in the staff app (seed 001 §7–§10): a check started on a device
//! for one method, the card read (a token signed over a server nonce,
//! verified exactly as the web service verifies it; or, for 目視, the
//! certificate alone), the eligibility resolved into the result screen
//! C-04-01-W, and that screen kept (`app_checks`) with the check's audit in
//! one job. Every outcome names the account, the device and the method.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zaitaku_domain::check_result::{self, CertificateNotice, CheckResult};
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem, ConsentRequest,
};
use zaitaku_domain::staff_app::{SEARCH_PAGE_SIZE, SearchPeriod, search_pages};
use zaitaku_identity::{CardKind, CertificateStatus, Identified, Identity, LoginError};
use zaitaku_storage::{
    AppCheckLine, AppCheckPage, AppCheckScope, NewAppCheck, NewConsent, NewInsuranceRegistration,
    Store, Write, Written,
};

use crate::consent::ConsentRefusal;
use crate::device::app::AppSession;
use crate::patients::jst_start;
use crate::{ServiceError, jst_day, random_token};

/// 本人認証の方法 of 認証方法選択.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// マイナンバーカード（目視）: the face photo compared by staff.
    Visual,
    /// マイナンバーカード（暗証番号）.
    Pin,
    #[serde(rename = "iphone")]
    IPhone,
    Android,
}

impl Method {
    pub const ALL: [Self; 4] = [Self::Visual, Self::Pin, Self::IPhone, Self::Android];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visual => "visual",
            Self::Pin => "pin",
            Self::IPhone => "iphone",
            Self::Android => "android",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Visual => "マイナンバーカード（目視）",
            Self::Pin => "マイナンバーカード（暗証番号）",
            Self::IPhone => "iPhone",
            Self::Android => "Android",
        }
    }

    /// The kind of card the method reads.
    pub fn card_kind(self) -> CardKind {
        match self {
            Self::Visual | Self::Pin => CardKind::Physical,
            Self::IPhone => CardKind::IPhone,
            Self::Android => CardKind::Android,
        }
    }

    /// Whether 認証方法選択 offers it on a device with 目視確認 `visual_check`
    /// (seed 001: the smartphones always).
    pub fn offered(self, visual_check: bool) -> bool {
        match self {
            Self::Visual => visual_check,
            Self::Pin => !visual_check,
            Self::IPhone | Self::Android => true,
        }
    }
}

/// A started check, kept in the app session until the card comes back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingCheck {
    pub method: Method,
    /// The patient agreed to show 特定疾病療養受療証.
    pub specific_disease: bool,
    /// The hand-off to the card (not for 目視).
    pub state: Option<String>,
    pub verifier: Option<String>,
    pub nonce: Option<String>,
    /// 居宅同意取得型: the consent the patient chose, registered with the
    /// check once the card is read.
    #[serde(default)]
    pub consent: Option<ConsentDecision>,
    /// 健康保険証利用登録 (seed 001 §12): the card is read to register it,
    /// not to check eligibility.
    #[serde(default)]
    pub registration: bool,
}

impl PendingCheck {
    pub fn of(session: &AppSession) -> Option<Self> {
        session
            .check
            .as_ref()
            .and_then(|c| serde_json::from_value(c.clone()).ok())
    }
}

/// Why a check gave no result. Each is audited (`app.check`).
#[derive(Debug)]
pub enum CheckRefusal {
    /// The method is not offered on this device (目視確認 setting).
    NotOffered,
    /// No check is waiting (closed, or another one started meanwhile).
    NoCheck,
    /// The way back carries another `state`.
    OtherState,
    /// The card's one-time code was spent already.
    CodeSpent,
    /// The card read is not of the method's kind.
    WrongCardKind,
    /// The card or its token was refused (revoked, expired, locked,
    /// 保険証未登録 …).
    Card(LoginError),
    /// The card's holder is not in the eligibility registry.
    UnknownPerson,
    /// 居宅同意取得型: the choices or the registry do not allow the consent.
    Consent(ConsentRefusal),
}

impl CheckRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOffered => "Z-P-0020",
            Self::NoCheck => "Z-P-0021",
            Self::OtherState => "Z-P-0022",
            Self::CodeSpent => "Z-P-0023",
            Self::WrongCardKind => "Z-P-0024",
            Self::Card(e) => e.code(),
            Self::UnknownPerson => "Z-P-0025",
            Self::Consent(why) => why.code(),
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Self::Card(LoginError::NotRegistered) => "保険証未登録",
            // The card was read; its registration is not in force yet.
            Self::Card(e @ LoginError::RegistrationPending) => e.title(),
            Self::Card(_) | Self::WrongCardKind => "カードを確認できませんでした",
            Self::UnknownPerson => "資格情報がありません",
            Self::Consent(why) => why.title(),
            _ => "もう一度お試しください",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NotOffered => "この認証方法は現在の設定では利用できません。認証方法選択からやり直してください。".into(),
            Self::NoCheck => "資格確認の手続きが見つかりません。認証方法選択からやり直してください。".into(),
            Self::OtherState => "別の資格確認の結果が返りました。認証方法選択からやり直してください。".into(),
            Self::CodeSpent => "この読み取り結果は既に使われています。認証方法選択からやり直してください。".into(),
            Self::WrongCardKind => "選択した認証方法と異なる種類のカードが読み取られました。認証方法選択からやり直してください。".into(),
            Self::Card(e) => e.to_string(),
            Self::UnknownPerson => "このカードの方の資格情報が見つかりません。必要な提出書類等により、資格確認を行ってください。".into(),
            Self::Consent(why) => why.message().to_owned(),
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Self::NotOffered => "not_offered",
            Self::NoCheck => "no_check",
            Self::OtherState => "other_state",
            Self::CodeSpent => "code_spent",
            Self::WrongCardKind => "wrong_card_kind",
            Self::Card(LoginError::NotRegistered) => "not_registered",
            Self::Card(_) => "card_refused",
            Self::UnknownPerson => "unknown_person",
            Self::Consent(_) => "consent_refused",
        }
    }
}

async fn refused<T>(
    store: &Store,
    session: &AppSession,
    method: Option<Method>,
    why: CheckRefusal,
    now: DateTime<Utc>,
) -> Result<Result<T, CheckRefusal>, ServiceError> {
    store
        .audit(
            &session.event(
                "app.check",
                why.outcome(),
                None,
                json!({"method": method.map(Method::as_str), "code": why.code()}),
            ),
            now,
        )
        .await?;
    Ok(Err(why))
}

/// The hand-off to the card for a PIN, iPhone or Android check.
#[derive(Debug, Clone)]
pub struct Handoff {
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

/// Starts a check for `method` on the session's device. A new check
/// replaces one still waiting, and closes the result on screen.
pub async fn begin(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    method: Method,
    specific_disease: bool,
    now: DateTime<Utc>,
) -> Result<Result<Option<Handoff>, CheckRefusal>, ServiceError> {
    if !method.offered(session.device.visual_check) {
        return refused(store, session, Some(method), CheckRefusal::NotOffered, now).await;
    }
    start(
        store,
        identity,
        session,
        method,
        specific_disease,
        None,
        now,
    )
    .await
}

/// 居宅同意取得型 (seed 002): the patient's choices for a 訪問診療等 consent,
/// then identity by 目視 or 暗証番号 on the physical card (the consent
/// screen's own switch, whatever the device's setting); the consent is
/// registered (channel アプリ) together with the check.
pub async fn begin_with_consent(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    method: Method,
    request: &ConsentRequest,
    now: DateTime<Utc>,
) -> Result<Result<Option<Handoff>, CheckRefusal>, ServiceError> {
    if !matches!(method, Method::Visual | Method::Pin) {
        return refused(store, session, Some(method), CheckRefusal::NotOffered, now).await;
    }
    let decision =
        match request.validate(&session.institution.institution, CareKind::HomeVisit, now) {
            Ok(d) => d,
            Err(e) => {
                let why = CheckRefusal::Consent(ConsentRefusal::Choices {
                    code: e.code(),
                    message: e.to_string(),
                });
                return refused(store, session, Some(method), why, now).await;
            }
        };
    let specific_disease =
        decision.choices.get(&ConsentItem::SpecificDisease) == Some(&Choice::Agree);
    start(
        store,
        identity,
        session,
        method,
        specific_disease,
        Some(decision),
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn start(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    method: Method,
    specific_disease: bool,
    consent: Option<ConsentDecision>,
    now: DateTime<Utc>,
) -> Result<Result<Option<Handoff>, CheckRefusal>, ServiceError> {
    let handoff = if method == Method::Visual {
        None
    } else {
        Some(Handoff {
            state: random_token()?,
            verifier: random_token()?,
            nonce: identity.new_nonce(&session.sid, now).await?,
        })
    };
    let pending = PendingCheck {
        method,
        specific_disease,
        state: handoff.as_ref().map(|h| h.state.clone()),
        verifier: handoff.as_ref().map(|h| h.verifier.clone()),
        nonce: handoff.as_ref().map(|h| h.nonce.clone()),
        consent,
        registration: false,
    };
    session.check =
        Some(serde_json::to_value(&pending).map_err(|e| ServiceError::Internal(e.to_string()))?);
    session.result = None;
    session.save(store, now).await?;
    Ok(Ok(handoff))
}

/// The way back from the card for the waiting check: `state` as returned
/// and the PKCE verifier to claim the token with.
pub fn waiting(session: &AppSession, state: Option<&str>) -> Result<PendingCheck, CheckRefusal> {
    let pending = PendingCheck::of(session).ok_or(CheckRefusal::NoCheck)?;
    if pending.method == Method::Visual {
        return Err(CheckRefusal::NoCheck);
    }
    if state.is_none() || pending.state.as_deref() != state {
        return Err(CheckRefusal::OtherState);
    }
    Ok(pending)
}

/// The card's token is back: the token is verified against the check's
/// nonce and origin, and the code (`redeem`) and the nonce are spent, the
/// login audited and the result kept with its audit and the session in one
/// job. Returns the kept result's id.
#[allow(clippy::too_many_arguments)]
pub async fn finish_signed(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    pending: &PendingCheck,
    token: &str,
    redeem: Write,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Result<i64, CheckRefusal>, ServiceError> {
    let method = Some(pending.method);
    let nonce = pending.nonce.as_deref().unwrap_or_default();
    let login = identity
        .check_login(token, origin, nonce, &session.sid, now)
        .await;
    let decided = match login.identified() {
        Some(who) => Some(decide(store, session, pending, who, now).await?),
        None => None,
    };
    let mut writes = vec![redeem];
    if let Some(Ok(keep)) = decided.as_ref() {
        writes.extend(keep.writes(session, now)?);
    }
    let written = match identity.finish_login(login, writes).await {
        Ok((_, written)) => written,
        Err(e) => return refused(store, session, method, CheckRefusal::Card(e), now).await,
    };
    match decided {
        Some(Ok(_)) => showing(session, written.get(1)),
        Some(Err(why)) => refused(store, session, method, why, now).await,
        None => Err(ServiceError::Internal(
            "a login that was not identified succeeded".into(),
        )),
    }
}

/// 目視: the certificate the reader read from the card (`certificate`,
/// DER; `None` when no card was on it) is checked without a PIN; the staff
/// member confirmed the face photo.
pub async fn finish_visual(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    certificate: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<Result<i64, CheckRefusal>, ServiceError> {
    let method = Some(Method::Visual);
    let Some(pending) = PendingCheck::of(session).filter(|p| p.method == Method::Visual) else {
        return refused(store, session, method, CheckRefusal::NoCheck, now).await;
    };
    let Some(certificate) = certificate else {
        let why = CheckRefusal::Card(LoginError::UnknownCard);
        return refused(store, session, method, why, now).await;
    };
    let who = match identity
        .read_certificate(certificate, session.institution.id, now)
        .await
    {
        Ok(who) => who,
        Err(e) => return refused(store, session, method, CheckRefusal::Card(e), now).await,
    };
    let keep = match decide(store, session, &pending, &who, now).await? {
        Ok(keep) => keep,
        Err(why) => return refused(store, session, method, why, now).await,
    };
    let written = store
        .write(keep.writes(session, now)?)
        .await?
        .map_err(|r| ServiceError::Internal(format!("keeping the result refused: {r:?}")))?;
    showing(session, written.first())
}

/// The result of an identified card, to be kept: what the job writes.
struct Keep {
    /// The patient's name and whether the qualification is valid, as the
    /// search lists them, and the screen as JSON.
    name: String,
    valid: bool,
    result: String,
    audit: serde_json::Value,
    person_id: i64,
    consent: Option<ConsentDecision>,
    method: Method,
}

impl Keep {
    /// The result, its audit record, the consent taken with it, and the
    /// session showing the result (named by the id the job gives it).
    fn writes(&self, session: &AppSession, now: DateTime<Utc>) -> Result<Vec<Write>, ServiceError> {
        let audit = session.event("app.check", "ok", Some(self.person_id), self.audit.clone());
        let check = NewAppCheck {
            institution_id: session.institution.id,
            device_id: session.device.id,
            account_id: session.account.id,
            person_id: self.person_id,
            method: self.method.as_str(),
            checked_at: now,
            day: jst_day(now),
            name: &self.name,
            valid: self.valid,
            result: &self.result,
        };
        let mut job = vec![Write::keep_app_check(&check), Write::audit(&audit, now)];
        if let Some(decision) = &self.consent {
            job.push(Write::record_consent(&NewConsent {
                institution_id: session.institution.id,
                person_id: self.person_id,
                action: ConsentAction::Register,
                channel: Channel::App,
                decision,
                recorded_at: now,
                recorded_by: "patient",
                // Registered on the institution's own device in front of staff.
                photo_id_reason: None,
                idempotency_key: None,
            }));
            job.push(Write::audit_naming_consent(
                session.event(
                    "consent.write",
                    "ok",
                    Some(self.person_id),
                    json!({"consent": 0, "action": ConsentAction::Register, "channel": Channel::App,
                        "method": self.method.as_str()}),
                ),
                "/consent",
                now,
            ));
        }
        job.push(session.showing_kept_result(now));
        Ok(job)
    }
}

/// The reads and decisions for an identified card: the result to keep, or
/// why not.
async fn decide(
    store: &Store,
    session: &AppSession,
    pending: &PendingCheck,
    who: &Identified,
    now: DateTime<Utc>,
) -> Result<Result<Keep, CheckRefusal>, ServiceError> {
    if who.card_kind != pending.method.card_kind() {
        return Ok(Err(CheckRefusal::WrongCardKind));
    }
    let (eligibility, notes) = tokio::try_join!(
        store.eligibility(who.person_id),
        store.patient_notes(session.institution.id, who.person_id)
    )?;
    let Some(eligibility) = eligibility else {
        return Ok(Err(CheckRefusal::UnknownPerson));
    };
    if pending.consent.is_some()
        && let Some(why) = ConsentRefusal::of_eligibility(&eligibility, jst_day(now))
    {
        return Ok(Err(CheckRefusal::Consent(why)));
    }
    let notice = match who.status {
        CertificateStatus::Valid => CertificateNotice::None,
        CertificateStatus::Expiring { .. } => CertificateNotice::Expiring,
        CertificateStatus::Grace { .. } => CertificateNotice::Grace,
    };
    let mut result = check_result::build(
        &eligibility,
        notice,
        notes.reference_number.as_deref(),
        pending.specific_disease,
        jst_day(now),
    );
    result.consent_registered = pending.consent.is_some();
    let text = serde_json::to_string(&result).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Ok(Keep {
        name: result.name,
        valid: result.valid,
        result: text,
        audit: json!({
            "method": pending.method.as_str(),
            "card": who.card_id,
            // 目視: identity rests on this account's visual check.
            "identity": if pending.method == Method::Visual { "visual_check" } else { "card_signature" },
            "specific_disease": pending.specific_disease,
        }),
        person_id: who.person_id,
        consent: pending.consent.clone(),
        method: pending.method,
    }))
}

/// The kept result's id from what its write produced; the session shows it
/// (as the job already stored).
fn showing(
    session: &mut AppSession,
    written: Option<&Written>,
) -> Result<Result<i64, CheckRefusal>, ServiceError> {
    let Some(Written::Id(id)) = written else {
        return Err(ServiceError::Internal("the kept result has no id".into()));
    };
    session.check = None;
    session.result = Some(*id);
    Ok(Ok(*id))
}

/// The result on screen (C-04-01-W), until 「閉じる」.
pub async fn on_screen(
    store: &Store,
    session: &AppSession,
) -> Result<Option<CheckResult>, ServiceError> {
    let Some(id) = session.result else {
        return Ok(None);
    };
    let Some(kept) = store.app_check(session.institution.id, id).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&kept.result).ok())
}

/// 「閉じる」: seeing the result again needs the card again (or the search).
pub async fn close(
    store: &Store,
    session: &mut AppSession,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    session.result = None;
    session.check = None;
    session.save(store, now).await
}

/// Which page of the search: the first, the last, or the one next to a
/// result of the page shown (its time and id), with that page's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchAt {
    First,
    /// The page after the one whose oldest result is this.
    Next {
        at: i64,
        id: i64,
        page: i64,
    },
    /// The page before the one whose newest result is this.
    Previous {
        at: i64,
        id: i64,
        page: i64,
    },
    Last,
}

/// What 資格確認結果検索 (D-10-W) asks for.
#[derive(Debug, Clone, Copy)]
pub struct SearchQuery {
    pub period: SearchPeriod,
    /// 「この端末で資格確認した結果のみ対象とする」 (checked by default).
    pub this_device_only: bool,
    pub at: SearchAt,
}

/// One page of the search.
#[derive(Debug)]
pub struct SearchPage {
    pub lines: Vec<AppCheckLine>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

fn scope(session: &AppSession, q: &SearchQuery) -> AppCheckScope {
    AppCheckScope {
        institution_id: session.institution.id,
        device_id: q.this_device_only.then_some(session.device.id),
        first_day: q.period.from,
        last_day: q.period.to,
        from: jst_start(q.period.from),
        until: jst_start(q.period.to + chrono::Duration::days(1)),
    }
}

/// The results of the institution (or of this device) in the period,
/// newest first, one page. The names listed are a read of personal data:
/// audited (`app.search`).
pub async fn search(
    store: &Store,
    session: &AppSession,
    q: &SearchQuery,
    now: DateTime<Utc>,
) -> Result<SearchPage, ServiceError> {
    let scope = scope(session, q);
    let total = store.count_app_checks(&scope).await?;
    let pages = search_pages(total);
    let (position, page) = match q.at {
        SearchAt::First => (AppCheckPage::First, 1),
        SearchAt::Next { at, id, page } => (AppCheckPage::After(at, id), page.clamp(1, pages)),
        SearchAt::Previous { at, id, page } => (AppCheckPage::Before(at, id), page.clamp(1, pages)),
        SearchAt::Last => {
            let rest = total - (pages - 1) * SEARCH_PAGE_SIZE;
            (AppCheckPage::Last(rest), pages)
        }
    };
    let mut lines = store.app_checks(&scope, position, SEARCH_PAGE_SIZE).await?;
    if lines.is_empty() && q.at != SearchAt::First {
        // Off the end (results purged or the period changed): the first page.
        lines = store
            .app_checks(&scope, AppCheckPage::First, SEARCH_PAGE_SIZE)
            .await?;
    }
    store
        .audit(
            &session.event(
                "app.search",
                "ok",
                None,
                json!({
                    "from": q.period.from.to_string(),
                    "to": q.period.to.to_string(),
                    "this_device_only": q.this_device_only,
                    "page": page,
                    "shown": lines.iter().map(|l| l.id).collect::<Vec<_>>(),
                }),
            ),
            now,
        )
        .await?;
    Ok(SearchPage {
        lines,
        total,
        page,
        pages,
    })
}

/// A kept result of the institution, exactly as it was shown (no new
/// inquiry); `None` for one of another institution or none at all. Audited.
pub async fn kept(
    store: &Store,
    session: &AppSession,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<CheckResult>, ServiceError> {
    let found = store.app_check(session.institution.id, id).await?;
    let (outcome, person) = match &found {
        Some(k) => ("ok", Some(k.person_id)),
        None => ("not_found", None),
    };
    store
        .audit(
            &session.event("app.result_read", outcome, person, json!({"check": id})),
            now,
        )
        .await?;
    Ok(found.and_then(|k| serde_json::from_str(&k.result).ok()))
}

/// 健康保険証利用登録する → 利用規約 → 同意する: the physical card is to be
/// read with its PIN to register it for insurance use.
pub async fn begin_registration(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    now: DateTime<Utc>,
) -> Result<Handoff, ServiceError> {
    let handoff = Handoff {
        state: random_token()?,
        verifier: random_token()?,
        nonce: identity.new_nonce(&session.sid, now).await?,
    };
    let pending = PendingCheck {
        method: Method::Pin,
        specific_disease: false,
        state: Some(handoff.state.clone()),
        verifier: Some(handoff.verifier.clone()),
        nonce: Some(handoff.nonce.clone()),
        consent: None,
        registration: true,
    };
    session.check =
        Some(serde_json::to_value(&pending).map_err(|e| ServiceError::Internal(e.to_string()))?);
    session.result = None;
    session.save(store, now).await?;
    Ok(handoff)
}

/// What the registration's card read did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// Requested; in force from `effective_at` (until then a check says it
    /// is being processed).
    Requested { effective_at: DateTime<Utc> },
    /// The card's holder was registered already.
    Already,
}

/// The registration's card is back: verified like a login's (the holder
/// need not be registered), then the registration is kept with its audit
/// in one job. `delay` is how long it takes to come into force.
#[allow(clippy::too_many_arguments)]
pub async fn finish_registration(
    store: &Store,
    identity: &Identity,
    session: &mut AppSession,
    pending: &PendingCheck,
    token: &str,
    redeem: Write,
    origin: &str,
    delay: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<Result<Registered, CheckRefusal>, ServiceError> {
    let failed = |why: CheckRefusal| {
        let event = session.event(
            "insurance.register",
            "failed",
            None,
            json!({"code": why.code()}),
        );
        async move {
            store.audit(&event, now).await?;
            Ok::<_, ServiceError>(Err(why))
        }
    };
    if store.write(vec![redeem]).await?.is_err() {
        return failed(CheckRefusal::CodeSpent).await;
    }
    let nonce = pending.nonce.as_deref().unwrap_or_default();
    let who = match identity
        .verify_for_registration(token, origin, nonce, &session.sid, now)
        .await
    {
        Ok(who) => who,
        Err(e) => return failed(CheckRefusal::Card(e)).await,
    };
    if who.card_kind != CardKind::Physical {
        return failed(CheckRefusal::WrongCardKind).await;
    }
    let registered = store
        .eligibility(who.person_id)
        .await?
        .is_some_and(|e| e.person.insurance_use_registered);
    let outcome = if registered {
        Registered::Already
    } else {
        let effective_at = now + delay;
        let audit = session.event(
            "insurance.register",
            "ok",
            Some(who.person_id),
            json!({"card": who.card_id, "effective_at": effective_at.to_rfc3339()}),
        );
        store
            .write(vec![
                Write::keep_insurance_registration(NewInsuranceRegistration {
                    person_id: who.person_id,
                    card_id: who.card_id,
                    institution_id: session.institution.id,
                    device_id: session.device.id,
                    requested_at: now,
                    effective_at,
                }),
                Write::audit(&audit, now),
            ])
            .await?
            .map_err(|r| ServiceError::Internal(format!("registration refused: {r:?}")))?;
        Registered::Requested { effective_at }
    };
    session.check = None;
    session.save(store, now).await?;
    Ok(Ok(outcome))
}
