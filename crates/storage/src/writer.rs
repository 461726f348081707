//! The group-commit writer: one thread per store, with its own connection,
//! performs the writes of the registration path (nonces, the authenticator
//! hand-off, consents, audit records, browser sessions).
//!
//! Callers send a *job* — one or more writes that belong together — and wait.
//! The writer takes every job that is waiting, runs them in ONE transaction
//! with a savepoint per job, commits once and only then answers each caller.
//! So a registration still returns only after its data is on disk
//! (`synchronous=FULL` on SQLite, `synchronous_commit=on` on PostgreSQL), but
//! one fsync covers everything that arrived while the previous one ran.
//!
//! - A job that fails (a replayed nonce, a spent code, an SQL error) is rolled
//!   back to its savepoint and gets its own answer; the rest of the batch
//!   commits.
//! - Audit records and session writes cannot fail on their own, so they are
//!   kept in memory while the batch runs and written with one multi-row
//!   statement each before the commit. If that ever fails, the batch is rolled
//!   back and run again with every write inside its own job's savepoint.
//! - The audit chain's head is read once per batch under the write lock
//!   (`BEGIN IMMEDIATE` on SQLite, the head row's lock on PostgreSQL) and kept
//!   in memory for the batch, so several processes or nodes can still append.

use std::collections::{HashMap, VecDeque};

use sqlx::any::{AnyConnectOptions, AnyRow};
use sqlx::{AnyConnection, Connection, Executor, Row};
use tokio::sync::{mpsc, oneshot};
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{ConsentAction, ConsentItem, ConsentRecord};

use crate::audit::{AuditRecord, Hashed, record_hash};
use crate::auth::{AuthRequest, NonceRejection, REQUEST_COLUMNS, request_from_row};
use crate::consents::{RETURNED_COLUMNS, choice_text, consent_by_idempotency_key};
use crate::sql::{MAX_BINDS, flag, from_micros, micros, values_placeholders};
use crate::{AuditEvent, Backend, NewConsent, Result, StorageError, configure};

/// Jobs taken into one transaction at most; more wait for the next one.
const MAX_JOBS_PER_BATCH: usize = 512;
/// Jobs that may wait for the writer before callers are held back.
const QUEUE: usize = 8192;

/// One write. Build with the constructors; several sent together through
/// [`crate::Store::write`] are one atomic job.
pub struct Write(Step);

/// The continuation of a job: sees what the job's earlier writes produced
/// (for example the new consent's id) and returns further writes.
type Then = Box<dyn Fn(&[Written]) -> Vec<Write> + Send + Sync>;

enum Step {
    InsertNonce {
        nonce: String,
        session_id: String,
        now: i64,
        expires_at: i64,
    },
    SpendNonce {
        nonce: String,
        session_id: String,
        now: i64,
    },
    InsertAuthRequest(Box<AuthRequest>),
    CompleteAuthRequest {
        id: String,
        card_id: i64,
        code: String,
        token: String,
        now: i64,
    },
    RedeemCode {
        code: String,
        now: i64,
    },
    RecordConsent(Box<ConsentRow>),
    Audit(Box<AuditRow>),
    PutSession(SessionRow),
    Then(Then),
}

impl Step {
    /// Runs a statement of its own inside the job (rather than being kept for
    /// the batch's multi-row statements).
    fn is_immediate(&self) -> bool {
        !matches!(self, Step::Audit(_) | Step::PutSession(_))
    }

    fn may_audit(&self) -> bool {
        matches!(self, Step::Audit(_) | Step::Then(_))
    }
}

struct AuditRow {
    at: i64,
    actor: String,
    action: String,
    outcome: String,
    institution_id: Option<i64>,
    person_id: Option<i64>,
    detail: String,
}

#[derive(Clone)]
struct SessionRow {
    id: String,
    data: String,
    created_at: i64,
    expires_at: i64,
}

struct ConsentRow {
    institution_id: i64,
    person_id: i64,
    action: &'static str,
    care_kind: &'static str,
    channel: &'static str,
    choices: [Option<&'static str>; 6],
    prescription_form: Option<&'static str>,
    recorded_at: i64,
    valid_until: Option<i64>,
    recorded_by: String,
    needs_photo_id_check: i64,
    idempotency_key: Option<String>,
}

impl Write {
    pub fn audit(e: &AuditEvent<'_>, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self(Step::Audit(Box::new(AuditRow {
            at: micros(now),
            actor: e.actor.to_owned(),
            action: e.action.to_owned(),
            outcome: e.outcome.to_owned(),
            institution_id: e.institution_id,
            person_id: e.person_id,
            detail: e.detail.to_string(),
        })))
    }

    /// Appends a consent event; with an idempotency key already stored, the
    /// first record is returned and nothing is written.
    pub fn record_consent(c: &NewConsent<'_>) -> Self {
        let d = c.decision;
        let revoke = c.action == ConsentAction::Revoke;
        let choice = |item| {
            if revoke {
                None
            } else {
                choice_text(d.choices.get(&item))
            }
        };
        Self(Step::RecordConsent(Box::new(ConsentRow {
            institution_id: c.institution_id,
            person_id: c.person_id,
            action: c.action.as_str(),
            care_kind: d.care_kind.as_str(),
            channel: c.channel.as_str(),
            choices: [
                choice(ConsentItem::Surgery),
                choice(ConsentItem::ClinicalAndDrug),
                choice(ConsentItem::Checkups),
                choice(ConsentItem::SpecificDisease),
                choice(ConsentItem::Subsidy),
                choice(ConsentItem::LimitAmount),
            ],
            prescription_form: if revoke {
                None
            } else {
                d.prescription_form.map(PrescriptionForm::code)
            },
            recorded_at: micros(c.recorded_at),
            valid_until: d.valid_until.map(micros),
            recorded_by: c.recorded_by.to_owned(),
            needs_photo_id_check: flag(c.needs_photo_id_check),
            idempotency_key: c.idempotency_key.map(str::to_owned),
        })))
    }

    /// Creates or replaces a browser session.
    pub fn put_session(
        id: &str,
        data: &serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self(Step::PutSession(SessionRow {
            id: id.to_owned(),
            data: data.to_string(),
            created_at: micros(now),
            expires_at: micros(expires_at),
        }))
    }

    /// Uses a nonce up (see [`crate::Store::consume_nonce`]); a rejection
    /// refuses the whole job.
    pub fn spend_nonce(nonce: &str, session_id: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self(Step::SpendNonce {
            nonce: nonce.to_owned(),
            session_id: session_id.to_owned(),
            now: micros(now),
        })
    }

    /// Further writes of the same job, built from what the earlier ones
    /// produced. Called again if the writer has to repeat the batch, so it
    /// must not have side effects.
    pub fn then(f: impl Fn(&[Written]) -> Vec<Write> + Send + Sync + 'static) -> Self {
        Self(Step::Then(Box::new(f)))
    }

    pub(crate) fn insert_nonce(
        nonce: &str,
        session_id: &str,
        now: chrono::DateTime<chrono::Utc>,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self(Step::InsertNonce {
            nonce: nonce.to_owned(),
            session_id: session_id.to_owned(),
            now: micros(now),
            expires_at: micros(expires_at),
        })
    }

    pub(crate) fn insert_auth_request(r: &AuthRequest) -> Self {
        Self(Step::InsertAuthRequest(Box::new(r.clone())))
    }

    pub(crate) fn complete_auth_request(
        id: &str,
        card_id: i64,
        code: &str,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self(Step::CompleteAuthRequest {
            id: id.to_owned(),
            card_id,
            code: code.to_owned(),
            token: token.to_owned(),
            now: micros(now),
        })
    }

    pub(crate) fn redeem_code(code: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self(Step::RedeemCode {
            code: code.to_owned(),
            now: micros(now),
        })
    }
}

/// What one write produced, in the order of the job's writes (a
/// continuation's writes follow in place of it).
#[derive(Debug, Clone)]
pub enum Written {
    Done,
    Consent(ConsentRecord),
    Audit(AuditRecord),
    AuthRequest(Box<AuthRequest>),
}

/// Why a job was refused; nothing of it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Nonce(NonceRejection),
    /// The one-time code is unknown, spent or expired.
    CodeNotRedeemable,
    /// The hand-off is completed, cancelled or expired.
    RequestNotOpen,
}

/// A refused job: which write refused, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub write: usize,
    pub refusal: Refusal,
}

pub(crate) type JobAnswer = Result<Result<Vec<Written>, Refused>>;

struct Job {
    steps: Vec<Write>,
    reply: oneshot::Sender<JobAnswer>,
}

enum Message {
    Job(Job),
    /// Jobs that go into the same batch (each still in its own savepoint).
    Together(Vec<Job>),
    Close(oneshot::Sender<()>),
}

/// The handle the store keeps; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("writer message")
    }
}

impl Writer {
    /// Starts the writer on a thread of its own; it connects on its first job.
    ///
    /// Not a task on the server's runtime: a batch awaits its statements one
    /// after another, and on a busy runtime every await would queue behind
    /// the request handlers, stretching each batch (and so every caller's
    /// wait) many times over. The thread ends when the last store handle is
    /// dropped or the store is closed.
    pub(crate) fn start(options: AnyConnectOptions, backend: Backend) -> Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut builder = tokio::runtime::Builder::new_current_thread();
        // SQLite needs no I/O driver: without one the thread parks on a futex,
        // a cheaper wake-up per statement than an eventfd through epoll.
        if backend == Backend::Postgres {
            builder.enable_all();
        }
        let runtime = builder
            .build()
            .map_err(|e| StorageError::Writer(format!("ランタイムを作成できません: {e}")))?;
        std::thread::Builder::new()
            .name("zaitaku-writer".into())
            .spawn(move || runtime.block_on(run(options, backend, rx)))
            .map_err(|e| StorageError::Writer(format!("スレッドを作成できません: {e}")))?;
        Ok(Self { tx })
    }

    pub(crate) async fn submit(&self, steps: Vec<Write>) -> JobAnswer {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Job(Job { steps, reply }))
            .await
            .map_err(|_| StorageError::Writer("書き込み処理は停止しています".into()))?;
        answer
            .await
            .map_err(|_| StorageError::Writer("書き込み処理が応答しませんでした".into()))?
    }

    pub(crate) async fn submit_together(&self, jobs: Vec<Vec<Write>>) -> Result<Vec<JobAnswer>> {
        let mut answers = Vec::with_capacity(jobs.len());
        let jobs = jobs
            .into_iter()
            .map(|steps| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                Job { steps, reply }
            })
            .collect();
        self.tx
            .send(Message::Together(jobs))
            .await
            .map_err(|_| StorageError::Writer("書き込み処理は停止しています".into()))?;
        let mut out = Vec::with_capacity(answers.len());
        for a in answers {
            out.push(
                a.await
                    .map_err(|_| StorageError::Writer("書き込み処理が応答しませんでした".into()))?,
            );
        }
        Ok(out)
    }

    /// Lets the jobs already sent finish, then closes the writer's connection.
    pub(crate) async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn run(options: AnyConnectOptions, backend: Backend, mut rx: mpsc::Receiver<Message>) {
    let mut conn: Option<AnyConnection> = None;
    let mut closing = None;
    while closing.is_none() {
        let Some(first) = rx.recv().await else { break };
        let mut jobs = Vec::new();
        match first {
            Message::Job(j) => jobs.push(j),
            Message::Together(js) => jobs.extend(js),
            Message::Close(ack) => closing = Some(ack),
        }
        // Everything that queued up while the previous batch was committing.
        while closing.is_none() && jobs.len() < MAX_JOBS_PER_BATCH {
            match rx.try_recv() {
                Ok(Message::Job(j)) => jobs.push(j),
                Ok(Message::Together(js)) => jobs.extend(js),
                Ok(Message::Close(ack)) => closing = Some(ack),
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let answers = match connection(&mut conn, &options, backend).await {
            Ok(c) => run_batch(c, backend, &jobs).await,
            Err(e) => Err(e),
        };
        match answers {
            Ok(answers) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(answer);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "write batch failed");
                // The connection may be broken, or still inside the failed
                // transaction; closing it rolls back, the next batch reconnects.
                if let Some(c) = conn.take() {
                    let _ = c.close().await;
                }
                let why = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(StorageError::Writer(why.clone())));
                }
            }
        }
    }
    if let Some(c) = conn.take() {
        let _ = c.close().await;
    }
    if let Some(ack) = closing {
        let _ = ack.send(());
    }
}

async fn connection<'c>(
    conn: &'c mut Option<AnyConnection>,
    options: &AnyConnectOptions,
    backend: Backend,
) -> Result<&'c mut AnyConnection> {
    if conn.is_none() {
        let mut c = AnyConnection::connect_with(options).await?;
        configure(&mut c, backend).await?;
        *conn = Some(c);
    }
    conn.as_mut()
        .ok_or_else(|| StorageError::Writer("接続がありません".into()))
}

/// Runs the jobs in one transaction; `Err` only when the batch as a whole
/// failed (nothing committed).
async fn run_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[Job],
) -> Result<Vec<JobAnswer>> {
    match run_once(conn, backend, jobs, Mode::Deferred).await? {
        Ok(answers) => Ok(answers),
        Err(flush_error) => {
            tracing::warn!(error = %flush_error, "batched audit/session rows failed; repeating the batch write by write");
            run_once(conn, backend, jobs, Mode::Immediate).await?
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Audit and session rows are written once per batch.
    Deferred,
    /// Every write inside its own job's savepoint.
    Immediate,
}

/// Every statement is a round trip to the connection's thread (SQLite) or to
/// the server (PostgreSQL), and the writer is the one serial part of the
/// registration path, so a batch uses as few as it can. On SQLite, several
/// statements of one text run in turn within a single round trip:
/// `BEGIN IMMEDIATE` with the read of the audit head, a job's savepoint with
/// its first statement, and all deferred rows together. (SQLite reports a
/// stale change count for `SAVEPOINT`, so conditional writes tell their
/// outcome by `RETURNING`, never by the number of rows affected.)
struct BatchState {
    backend: Backend,
    mode: Mode,
    /// (seq, hash) of the chain's newest record, when the batch appends.
    head: Option<(i64, String)>,
    head_read: Option<(i64, String)>,
    audits: Vec<AuditRecord>,
    sessions: Vec<SessionRow>,
    /// SQLite: the savepoint statements to send with the job's next statement.
    boundary: Option<&'static str>,
    savepoint_open: bool,
}

struct Mark {
    head: Option<(i64, String)>,
    audits: usize,
    sessions: usize,
}

impl BatchState {
    fn mark(&self) -> Mark {
        Mark {
            head: self.head.clone(),
            audits: self.audits.len(),
            sessions: self.sessions.len(),
        }
    }

    fn reset(&mut self, m: Mark) {
        self.head = m.head;
        self.audits.truncate(m.audits);
        self.sessions.truncate(m.sessions);
    }

    /// The statement text, with the pending savepoint statements in front.
    fn sql(&mut self, sql: &str) -> String {
        match self.boundary.take() {
            Some(b) => {
                self.savepoint_open = true;
                format!("{b}{sql}")
            }
            None => sql.to_owned(),
        }
    }
}

const OPEN_SAVEPOINT: &str = "SAVEPOINT job; ";
const NEXT_SAVEPOINT: &str = "RELEASE SAVEPOINT job; SAVEPOINT job; ";
const HEAD: &str = "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, last_hash";

/// The outer `Err` is a failure of the whole batch (the caller closes the
/// connection, which rolls back); the inner `Err` is a failure of the deferred
/// rows only, already rolled back (the caller repeats in immediate mode).
async fn run_once(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[Job],
    mode: Mode,
) -> Result<Result<Vec<JobAnswer>, StorageError>> {
    let mut st = BatchState {
        backend,
        mode,
        head: None,
        head_read: None,
        audits: Vec::new(),
        sessions: Vec::new(),
        boundary: None,
        savepoint_open: false,
    };
    let appends = jobs.iter().any(|j| j.steps.iter().any(|w| w.0.may_audit()));
    // The head is read (and on PostgreSQL its row locked) before any
    // savepoint, so a job rolled back cannot release that lock.
    let head = match (backend, appends) {
        // Takes the write lock now: a deferred transaction that reads first
        // could fail to upgrade while another connection writes.
        (Backend::Sqlite, true) => Some(
            first_row(conn.fetch_all(&*format!("BEGIN IMMEDIATE; {HEAD}")).await?)
                .ok_or_else(|| StorageError::corrupt("audit_head", "id", "missing"))?,
        ),
        (Backend::Sqlite, false) => {
            conn.execute("BEGIN IMMEDIATE").await?;
            None
        }
        (Backend::Postgres, appends) => {
            conn.execute("BEGIN").await?;
            if appends {
                Some(conn.fetch_one(HEAD).await?)
            } else {
                None
            }
        }
    };
    if let Some(row) = head {
        let head: (i64, String) = (row.try_get("seq")?, row.try_get("last_hash")?);
        st.head_read = Some(head.clone());
        st.head = Some(head);
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let needs_savepoint =
            mode == Mode::Immediate || job.steps.iter().any(|w| w.0.is_immediate());
        if needs_savepoint {
            let boundary = if st.savepoint_open {
                NEXT_SAVEPOINT
            } else {
                OPEN_SAVEPOINT
            };
            match backend {
                Backend::Sqlite => st.boundary = Some(boundary),
                Backend::Postgres => {
                    // No arguments: sent as one simple query.
                    conn.execute(boundary).await?;
                    st.savepoint_open = true;
                }
            }
        }
        let mark = st.mark();
        let result = run_job(conn, &mut st, &job.steps).await;
        let unused_boundary = st.boundary.take().is_some();
        if !matches!(result, Ok(Ok(_))) {
            if needs_savepoint && !unused_boundary {
                // The savepoint stays open after ROLLBACK TO, for the next job.
                conn.execute("ROLLBACK TO SAVEPOINT job").await?;
            }
            st.reset(mark);
        }
        answers.push(result);
    }
    if let Err(e) = flush(conn, &mut st).await {
        // PostgreSQL has aborted the transaction; SQLite may have written part.
        conn.execute("ROLLBACK").await?;
        return Ok(Err(e));
    }
    conn.execute("COMMIT").await?;
    Ok(Ok(answers))
}

async fn run_job(conn: &mut AnyConnection, st: &mut BatchState, steps: &[Write]) -> JobAnswer {
    let mut out: Vec<Written> = Vec::with_capacity(steps.len());
    let mut index = 0usize;
    // SQLite: the job's statements up to its first continuation go in one
    // round trip; each is judged afterwards, and a refusal rolls the whole job
    // back to its savepoint (statements after the refusing one ran for nothing).
    let lead = steps
        .iter()
        .position(|w| matches!(w.0, Step::Then(_)))
        .unwrap_or(steps.len());
    let mut done = 0;
    if st.backend == Backend::Sqlite
        && st.mode == Mode::Deferred
        && steps[..lead].iter().filter(|w| w.0.is_immediate()).count() >= 2
    {
        let rows = run_together(conn, st, &steps[..lead]).await?;
        for (w, rows) in steps[..lead].iter().zip(rows) {
            let result = if w.0.is_immediate() {
                outcome(conn, &w.0, rows).await?
            } else {
                run_step(conn, st, &w.0).await?
            };
            match result {
                Ok(written) => out.push(written),
                Err(refusal) => {
                    return Ok(Err(Refused {
                        write: index,
                        refusal,
                    }));
                }
            }
            index += 1;
        }
        done = lead;
    }
    // Continuations are expanded in place: their writes run next.
    let mut queue: VecDeque<Pending<'_>> = steps[done..].iter().map(Pending::Borrowed).collect();
    while let Some(step) = queue.pop_front() {
        let step_ref: &Step = match &step {
            Pending::Borrowed(w) => &w.0,
            Pending::Owned(w) => &w.0,
        };
        if let Step::Then(f) = step_ref {
            let more = f(&out);
            for w in more.into_iter().rev() {
                queue.push_front(Pending::Owned(w));
            }
            continue;
        }
        match run_step(conn, st, step_ref).await? {
            Ok(w) => out.push(w),
            Err(refusal) => {
                return Ok(Err(Refused {
                    write: index,
                    refusal,
                }));
            }
        }
        index += 1;
    }
    Ok(Ok(out))
}

/// The statements of `steps` (SQLite) in one text and one round trip, their
/// placeholders renumbered one after the other; the rows each returned,
/// by position (empty for the steps kept for the end of the batch).
async fn run_together(
    conn: &mut AnyConnection,
    st: &mut BatchState,
    steps: &[Write],
) -> Result<Vec<Vec<AnyRow>>> {
    let mut texts = Vec::new();
    let mut offset = 0;
    for (k, w) in steps.iter().enumerate() {
        if let Some(sql) = statement(&w.0, k) {
            texts.push(renumber(&sql, offset));
            offset += max_placeholder(&sql);
        }
    }
    let sql = st.sql(&texts.join("; "));
    let mut q = sqlx::query(&sql);
    for w in steps {
        q = bind_step(q, &w.0);
    }
    let rows = q
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| step_error(e, steps.iter().map(|w| &w.0)))?;
    let mut per_step: Vec<Vec<AnyRow>> = steps.iter().map(|_| Vec::new()).collect();
    for row in rows {
        let k: i64 = row.try_get("step")?;
        usize::try_from(k)
            .ok()
            .and_then(|k| per_step.get_mut(k))
            .ok_or_else(|| StorageError::corrupt("writer", "step", k))?
            .push(row);
    }
    Ok(per_step)
}

/// `fetch_all`, not `fetch_optional`, for texts with savepoint statements in
/// front: sqlx's SQLite `fetch_optional` stops at the first statement's result.
fn first_row(rows: Vec<AnyRow>) -> Option<AnyRow> {
    rows.into_iter().next()
}

enum Pending<'a> {
    Borrowed(&'a Write),
    Owned(Write),
}

/// The statement of a step that runs one of its own, numbered `$1…`; every
/// one returns `k AS step` (and what the step needs) for each row it wrote,
/// so that the rows of statements sent together can be told apart.
fn statement(step: &Step, k: usize) -> Option<String> {
    Some(match step {
        Step::InsertNonce { .. } => format!(
            "INSERT INTO auth_nonces (nonce, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4) \
             RETURNING {k} AS step"
        ),
        Step::SpendNonce { .. } => format!(
            "UPDATE auth_nonces SET used_at = $1 WHERE nonce = $2 AND session_id = $3 AND used_at IS NULL \
             AND expires_at > $1 RETURNING {k} AS step"
        ),
        Step::InsertAuthRequest(_) => format!(
            "INSERT INTO auth_requests (id, state, code_challenge, nonce, origin, redirect_uri, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {k} AS step"
        ),
        Step::CompleteAuthRequest { .. } => format!(
            "UPDATE auth_requests SET card_id = $1, code = $2, token = $3, completed_at = $4 \
             WHERE id = $5 AND completed_at IS NULL AND cancelled_at IS NULL AND expires_at > $4 RETURNING {k} AS step"
        ),
        Step::RedeemCode { .. } => format!(
            "UPDATE auth_requests SET redeemed_at = $1 WHERE code = $2 AND redeemed_at IS NULL AND expires_at > $1 \
             RETURNING {k} AS step, {REQUEST_COLUMNS}"
        ),
        // ON CONFLICT DO NOTHING: the same idempotency key again writes nothing
        // and the first record is returned, also when two retries race.
        Step::RecordConsent(_) => format!(
            "INSERT INTO consents (institution_id, person_id, action, care_kind, channel, surgery, clinical_and_drug, \
             checkups, specific_disease, subsidy, limit_amount, prescription_form, recorded_at, valid_until, recorded_by, \
             needs_photo_id_check, idempotency_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT DO NOTHING RETURNING {k} AS step, {RETURNED_COLUMNS}"
        ),
        Step::Audit(_) | Step::PutSession(_) | Step::Then(_) => return None,
    })
}

/// Binds a step's arguments in the order of its `$1…`.
fn bind_step<'q>(q: AnyQuery<'q>, step: &'q Step) -> AnyQuery<'q> {
    match step {
        Step::InsertNonce {
            nonce,
            session_id,
            now,
            expires_at,
        } => q.bind(nonce).bind(session_id).bind(now).bind(expires_at),
        Step::SpendNonce {
            nonce,
            session_id,
            now,
        } => q.bind(now).bind(nonce).bind(session_id),
        Step::InsertAuthRequest(r) => q
            .bind(&r.id)
            .bind(&r.state)
            .bind(&r.code_challenge)
            .bind(&r.nonce)
            .bind(&r.origin)
            .bind(&r.redirect_uri)
            .bind(micros(r.created_at))
            .bind(micros(r.expires_at)),
        Step::CompleteAuthRequest {
            id,
            card_id,
            code,
            token,
            now,
        } => q.bind(card_id).bind(code).bind(token).bind(now).bind(id),
        Step::RedeemCode { code, now } => q.bind(now).bind(code),
        Step::RecordConsent(c) => q
            .bind(c.institution_id)
            .bind(c.person_id)
            .bind(c.action)
            .bind(c.care_kind)
            .bind(c.channel)
            .bind(c.choices[0])
            .bind(c.choices[1])
            .bind(c.choices[2])
            .bind(c.choices[3])
            .bind(c.choices[4])
            .bind(c.choices[5])
            .bind(c.prescription_form)
            .bind(c.recorded_at)
            .bind(c.valid_until)
            .bind(&c.recorded_by)
            .bind(c.needs_photo_id_check)
            .bind(c.idempotency_key.as_deref()),
        Step::Audit(_) | Step::PutSession(_) | Step::Then(_) => q,
    }
}

/// A unique value refused by the database, named for people where a step
/// expects it; any other failure as it is.
fn step_error<'a>(e: sqlx::Error, steps: impl IntoIterator<Item = &'a Step>) -> StorageError {
    let what = steps.into_iter().find_map(|s| match s {
        Step::InsertNonce { .. } => Some("ノンス"),
        Step::InsertAuthRequest(_) => Some("認証要求"),
        _ => None,
    });
    match what {
        Some(what) => StorageError::from_unique(e, what),
        None => e.into(),
    }
}

/// `$n` → `$(n + offset)`, for statements sent in one text (SQLite binds
/// `$n` to the n-th argument of the whole text).
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some((_, d)) = chars.peek().copied() {
            match d.to_digit(10) {
                Some(v) => {
                    n = n * 10 + v as usize;
                    digits = true;
                    chars.next();
                }
                None => break,
            }
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
    out
}

fn max_placeholder(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

async fn run_step(
    conn: &mut AnyConnection,
    st: &mut BatchState,
    step: &Step,
) -> Result<Result<Written, Refusal>> {
    match step {
        Step::Audit(a) => {
            let record = append_audit(conn, st, a).await?;
            Ok(Ok(Written::Audit(record)))
        }
        Step::PutSession(s) => {
            match st.mode {
                Mode::Deferred => st.sessions.push(s.clone()),
                Mode::Immediate => {
                    let rows = std::slice::from_ref(s);
                    let sql = st.sql(&sessions_sql(rows.len(), st.backend));
                    bind_sessions(sqlx::query(&sql), rows)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Ok(Ok(Written::Done))
        }
        Step::Then(_) => Ok(Ok(Written::Done)),
        _ => {
            let Some(sql) = statement(step, 0) else {
                return Ok(Ok(Written::Done));
            };
            let sql = st.sql(&sql);
            let rows = bind_step(sqlx::query(&sql), step)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| step_error(e, [step]))?;
            outcome(conn, step, rows).await
        }
    }
}

/// What a step's statement did, from the rows it returned.
async fn outcome(
    conn: &mut AnyConnection,
    step: &Step,
    rows: Vec<AnyRow>,
) -> Result<Result<Written, Refusal>> {
    Ok(match step {
        Step::SpendNonce {
            nonce,
            session_id,
            now,
        } => {
            if rows.is_empty() {
                Err(Refusal::Nonce(
                    nonce_rejection(conn, nonce, session_id, *now).await?,
                ))
            } else {
                Ok(Written::Done)
            }
        }
        Step::CompleteAuthRequest { .. } => {
            if rows.is_empty() {
                Err(Refusal::RequestNotOpen)
            } else {
                Ok(Written::Done)
            }
        }
        Step::RedeemCode { .. } => match first_row(rows) {
            Some(row) => Ok(Written::AuthRequest(Box::new(request_from_row(&row)?))),
            None => Err(Refusal::CodeNotRedeemable),
        },
        Step::RecordConsent(c) => Ok(Written::Consent(match first_row(rows) {
            Some(row) => crate::consents::from_row(&row)?,
            None => {
                let key = c.idempotency_key.as_deref().unwrap_or_default();
                consent_by_idempotency_key(conn, key)
                    .await?
                    .ok_or(StorageError::Duplicate("同意登録"))?
            }
        })),
        Step::InsertNonce { .. }
        | Step::InsertAuthRequest(_)
        | Step::Audit(_)
        | Step::PutSession(_)
        | Step::Then(_) => Ok(Written::Done),
    })
}

async fn nonce_rejection(
    conn: &mut AnyConnection,
    nonce: &str,
    session_id: &str,
    now: i64,
) -> Result<NonceRejection> {
    let Some(row) =
        sqlx::query("SELECT session_id, expires_at, used_at FROM auth_nonces WHERE nonce = $1")
            .bind(nonce)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(NonceRejection::Unknown);
    };
    let owner: String = row.try_get("session_id")?;
    let expires: i64 = row.try_get("expires_at")?;
    let used: Option<i64> = row.try_get("used_at")?;
    Ok(if owner != session_id {
        NonceRejection::OtherSession
    } else if used.is_some() {
        NonceRejection::AlreadyUsed
    } else if expires <= now {
        NonceRejection::Expired
    } else {
        NonceRejection::Unknown
    })
}

async fn append_audit(
    conn: &mut AnyConnection,
    st: &mut BatchState,
    a: &AuditRow,
) -> Result<AuditRecord> {
    let (prev_seq, prev) = st
        .head
        .take()
        .ok_or_else(|| StorageError::Writer("audit head not read".into()))?;
    let seq = prev_seq + 1;
    let hash = record_hash(
        &prev,
        &Hashed {
            seq,
            at: a.at,
            actor: &a.actor,
            action: &a.action,
            outcome: &a.outcome,
            institution_id: a.institution_id,
            person_id: a.person_id,
            detail: &a.detail,
        },
    );
    let record = AuditRecord {
        seq,
        at: from_micros("audit_log", "at", a.at)?,
        actor: a.actor.clone(),
        action: a.action.clone(),
        outcome: a.outcome.clone(),
        institution_id: a.institution_id,
        person_id: a.person_id,
        detail: a.detail.clone(),
        prev_hash: prev,
        hash: hash.clone(),
    };
    st.head = Some((seq, hash));
    match st.mode {
        Mode::Deferred => st.audits.push(record.clone()),
        Mode::Immediate => {
            let rows = std::slice::from_ref(&record);
            let sql = st.sql(&audits_sql(rows.len(), st.backend));
            bind_audits(sqlx::query(&sql), rows)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(record)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

const AUDIT_COLUMNS: usize = 10;
const SESSION_COLUMNS: usize = 4;

fn audits_sql(rows: usize, backend: Backend) -> String {
    format!(
        "INSERT INTO audit_log (seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash) VALUES {}",
        values_placeholders(rows, AUDIT_COLUMNS, backend)
    )
}

fn bind_audits<'q>(mut q: AnyQuery<'q>, records: &'q [AuditRecord]) -> AnyQuery<'q> {
    for r in records {
        q = q
            .bind(r.seq)
            .bind(micros(r.at))
            .bind(r.actor.as_str())
            .bind(r.action.as_str())
            .bind(r.outcome.as_str())
            .bind(r.institution_id)
            .bind(r.person_id)
            .bind(r.detail.as_str())
            .bind(r.prev_hash.as_str())
            .bind(r.hash.as_str());
    }
    q
}

fn sessions_sql(rows: usize, backend: Backend) -> String {
    format!(
        "INSERT INTO web_sessions (id, data, created_at, expires_at) VALUES {} \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, created_at = excluded.created_at, \
         expires_at = excluded.expires_at",
        values_placeholders(rows, SESSION_COLUMNS, backend)
    )
}

fn bind_sessions<'q>(mut q: AnyQuery<'q>, rows: &'q [SessionRow]) -> AnyQuery<'q> {
    for s in rows {
        q = q
            .bind(s.id.as_str())
            .bind(s.data.as_str())
            .bind(s.created_at)
            .bind(s.expires_at);
    }
    q
}

/// The rows kept for the end of the batch, and the chain's new head: one
/// statement each, and on SQLite one round trip for all of them.
async fn flush(conn: &mut AnyConnection, st: &mut BatchState) -> Result<()> {
    // Last write wins, as it would have one by one (and PostgreSQL refuses
    // to upsert one row twice in a statement).
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for (i, s) in st.sessions.iter().enumerate() {
        latest.insert(&s.id, i);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let sessions: Vec<SessionRow> = keep.into_iter().map(|i| st.sessions[i].clone()).collect();
    let new_head = match (&st.head, &st.head_read) {
        (Some((seq, hash)), Some(read)) if (*seq, hash) != (read.0, &read.1) => {
            Some((*seq, hash.as_str()))
        }
        _ => None,
    };
    // Both limits are far above a batch (512 jobs); chunks keep any batch legal.
    let audit_chunks: Vec<&[AuditRecord]> =
        st.audits.chunks(MAX_BINDS / AUDIT_COLUMNS / 2).collect();
    let session_chunks: Vec<&[SessionRow]> =
        sessions.chunks(MAX_BINDS / SESSION_COLUMNS / 2).collect();
    let single_round_trip =
        st.backend == Backend::Sqlite && audit_chunks.len() <= 1 && session_chunks.len() <= 1;
    if single_round_trip {
        // Anonymous `?` placeholders bind in order across the statements.
        let mut parts = Vec::new();
        if let Some(a) = audit_chunks.first() {
            parts.push(audits_sql(a.len(), Backend::Sqlite));
        }
        if new_head.is_some() {
            parts.push("UPDATE audit_head SET seq = ?, last_hash = ? WHERE id = 1".to_owned());
        }
        if let Some(s) = session_chunks.first() {
            parts.push(sessions_sql(s.len(), Backend::Sqlite));
        }
        if parts.is_empty() {
            return Ok(());
        }
        let sql = parts.join("; ");
        let mut q = sqlx::query(&sql);
        if let Some(a) = audit_chunks.first() {
            q = bind_audits(q, a);
        }
        if let Some((seq, hash)) = new_head {
            q = q.bind(seq).bind(hash);
        }
        if let Some(s) = session_chunks.first() {
            q = bind_sessions(q, s);
        }
        q.persistent(false).execute(&mut *conn).await?;
        return Ok(());
    }
    for chunk in audit_chunks {
        let sql = audits_sql(chunk.len(), st.backend);
        bind_audits(sqlx::query(&sql), chunk)
            .persistent(false)
            .execute(&mut *conn)
            .await?;
    }
    if let Some((seq, hash)) = new_head {
        sqlx::query("UPDATE audit_head SET seq = $1, last_hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    for chunk in session_chunks {
        let sql = sessions_sql(chunk.len(), st.backend);
        bind_sessions(sqlx::query(&sql), chunk)
            .persistent(false)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered() {
        let sql = "UPDATE t SET a = $1 WHERE b = $2 AND c > $1 AND d = $12";
        assert_eq!(max_placeholder(sql), 12);
        assert_eq!(
            renumber(sql, 4),
            "UPDATE t SET a = $5 WHERE b = $6 AND c > $5 AND d = $16"
        );
        assert_eq!(renumber("SELECT 1", 3), "SELECT 1");
        assert_eq!(max_placeholder("SELECT 1"), 0);
    }

    #[test]
    fn every_statement_marks_its_rows() {
        let spend = Step::SpendNonce {
            nonce: "n".into(),
            session_id: "s".into(),
            now: 1,
        };
        let sql = statement(&spend, 3).unwrap_or_default();
        assert!(sql.ends_with("RETURNING 3 AS step"), "{sql}");
        assert_eq!(max_placeholder(&sql), 3);
        assert!(statement(&Step::Then(Box::new(|_| Vec::new())), 0).is_none());
    }
}
