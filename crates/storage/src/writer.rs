//! The group-commit writer: one thread per store, with its own connection
//! (rusqlite on SQLite, see `lite`), performs the writes of the registration path (nonces, the authenticator
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
//!   kept in memory while the batch runs and written together before the
//!   commit (multi-row statements on PostgreSQL, where each is a round trip). If that ever fails, the batch is rolled
//!   back and run again with every write inside its own job's savepoint.
//! - The audit chain's head is read once per batch under the write lock
//!   (`BEGIN IMMEDIATE` on SQLite, the head row's lock on PostgreSQL) and kept
//!   in memory for the batch, so several processes or nodes can still append.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{ConsentAction, ConsentItem, ConsentRecord};
use zaitaku_domain::photo_id::PhotoIdReason;

use crate::audit::{AuditRecord, Hashed, record_hash};
use crate::auth::{AuthRequest, NonceRejection};
use crate::consents::{by_idempotency_key_sql, choice_text};
use crate::sql::{Arg, Columns, MAX_BINDS, flag, from_micros, micros, values_placeholders};
use crate::{AuditEvent, Backend, NewConsent, Result, StorageError, lite};

/// Jobs taken into one transaction at most; more wait for the next one.
const MAX_JOBS_PER_BATCH: usize = 512;
/// A batch starts at most this long after the previous one started. Under
/// load the jobs that arrive meanwhile share its transaction and fsync:
/// measured over HTTP at 32 concurrent, batches grew from about 3 to 11
/// jobs (docs/benchmarks/log/2026-12.md). A caller waits at most this long more; when
/// jobs come slower than this, nobody waits.
const MIN_BATCH_INTERVAL: Duration = Duration::from_millis(1);
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
    photo_id_reason: Option<&'static str>,
    /// The record as it will read back, but for its id and the
    /// institution's code: returned without reading the row again.
    record: ConsentRecord,
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
            needs_photo_id_check: flag(c.photo_id_reason.is_some()),
            idempotency_key: c.idempotency_key.map(str::to_owned),
            photo_id_reason: c.photo_id_reason.map(PhotoIdReason::as_str),
            record: ConsentRecord {
                id: 0,
                institution_code: String::new(),
                person_id: c.person_id,
                action: c.action,
                care_kind: d.care_kind,
                channel: c.channel,
                choices: if revoke {
                    BTreeMap::new()
                } else {
                    d.choices.clone()
                },
                prescription_form: if revoke { None } else { d.prescription_form },
                // As stored: microseconds.
                recorded_at: stored_instant(c.recorded_at),
                valid_until: d.valid_until.map(stored_instant),
                recorded_by: c.recorded_by.to_owned(),
                photo_id_reason: c.photo_id_reason,
            },
        })))
    }

    /// Creates or replaces a browser session.
    pub fn put_session(
        id: &str,
        data: &serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self::put_session_text(id, data.to_string(), now, expires_at)
    }

    /// [`Write::put_session`] with the data already serialised (JSON text).
    pub fn put_session_text(
        id: &str,
        data: String,
        now: chrono::DateTime<chrono::Utc>,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self(Step::PutSession(SessionRow {
            id: id.to_owned(),
            data,
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

    /// Spends a one-time code of the authenticator hand-off, deleting the
    /// token it carried; an unknown, spent or expired code refuses the whole
    /// job.
    pub fn redeem_code(code: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
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

/// The database the writer writes to.
pub(crate) enum Target {
    /// Through rusqlite (see `lite`).
    Sqlite(PathBuf),
    Postgres(AnyConnectOptions),
}

impl Writer {
    /// Starts the writer on a thread of its own; it connects on its first job.
    ///
    /// Not a task on the server's runtime: a batch runs its statements one
    /// after another, and on a busy runtime every await would queue behind
    /// the request handlers, stretching each batch (and so every caller's
    /// wait) many times over. The thread ends when the last store handle is
    /// dropped or the store is closed.
    pub(crate) fn start(target: Target) -> Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("zaitaku-writer".into())
            .spawn(move || run(&target, rx))
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

/// The writer's connection. Its statements run one after another on the
/// writer's thread.
enum Db {
    /// With the thread that checkpoints the WAL beside it.
    Sqlite {
        conn: rusqlite::Connection,
        checkpointer: lite::Checkpointer,
    },
    /// sqlx is async: the thread drives it with a runtime of its own.
    Postgres {
        rt: tokio::runtime::Runtime,
        conn: AnyConnection,
    },
}

impl Db {
    fn connect(target: &Target) -> Result<Self> {
        match target {
            Target::Sqlite(path) => {
                let conn = lite::open(path)?;
                // Checkpoints copy WAL frames into the database file and
                // fsync it; in the commit that crosses the threshold they
                // would stall the writer, and every caller waiting on it.
                // The writer is the only connection whose page cache
                // survives other commits (they are its own), so it is the one
                // that gains from a larger cache than the default 2 MB. Not
                // much larger: a B-tree split can park a page at the
                // lock-byte page's number, and then every commit's cache
                // truncation walks the whole page hash instead of the few
                // pages past the end; at 64 MB that walk was a fifth of the
                // writer's time. 16 MB keeps the hot index pages and a short
                // walk (measured, docs/benchmarks/log/2026-12.md 2026-12-03). A reader's
                // cache is emptied whenever the WAL moved on, and emptying a
                // large one costs more than it saves (measured).
                conn.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -16000")?;
                Ok(Db::Sqlite {
                    conn,
                    checkpointer: lite::Checkpointer::start(path)?,
                })
            }
            Target::Postgres(options) => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        StorageError::Writer(format!("ランタイムを作成できません: {e}"))
                    })?;
                let conn = rt.block_on(AnyConnection::connect_with(options))?;
                Ok(Db::Postgres { rt, conn })
            }
        }
    }

    fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Transaction control: no arguments, no rows.
    fn execute(&mut self, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite { conn: c, .. } => {
                c.prepare_cached(sql)?.raw_execute()?;
            }
            Db::Postgres { rt, conn } => {
                rt.block_on(conn.execute(sql))?;
            }
        }
        Ok(())
    }

    /// A statement kept prepared on the connection that returns no rows; the
    /// number of rows it changed.
    fn changed(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        match self {
            Db::Sqlite { conn: c, .. } => lite::execute(c, sql, args),
            Db::Postgres { rt, conn } => {
                let q = args.iter().fold(sqlx::query(sql), |q, a| a.bind(q));
                Ok(rt.block_on(q.execute(&mut *conn))?.rows_affected())
            }
        }
    }

    /// An `INSERT … ON CONFLICT DO NOTHING` into a table with an integer
    /// `id`: the new row's id, or `None` when it wrote nothing. On SQLite
    /// without `RETURNING`, which costs a temporary table per execution.
    fn insert_id(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<i64>> {
        match self {
            Db::Sqlite { conn: c, .. } => {
                Ok((lite::execute(c, sql, args)? > 0).then(|| c.last_insert_rowid()))
            }
            Db::Postgres { rt, conn } => {
                let sql = format!("{sql} RETURNING id");
                let q = args.iter().fold(sqlx::query(&sql), |q, a| a.bind(q));
                let row = rt.block_on(q.fetch_optional(&mut *conn))?;
                row.map(|r| (&r as &dyn Columns).col::<i64>("id"))
                    .transpose()
            }
        }
    }

    /// A statement kept prepared on the connection; the rows it returns.
    fn query<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: &dyn Fn(&dyn Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Db::Sqlite { conn: c, .. } => lite::query(c, sql, args, map),
            Db::Postgres { rt, conn } => {
                let q = args.iter().fold(sqlx::query(sql), |q, a| a.bind(q));
                let rows = rt.block_on(q.fetch_all(&mut *conn))?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    }

    /// A multi-row insert whose text depends on the number of rows, so it is
    /// not kept prepared on PostgreSQL.
    fn insert_rows(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<()> {
        match self {
            Db::Sqlite { conn: c, .. } => {
                lite::query(c, sql, args, &|_| Ok(()))?;
            }
            Db::Postgres { rt, conn } => {
                let q = args.iter().fold(sqlx::query(sql), |q, a| a.bind(q));
                rt.block_on(q.persistent(false).execute(&mut *conn))?;
            }
        }
        Ok(())
    }

    /// Rows per multi-row insert of `columns` columns: one on SQLite, where a
    /// statement is a function call and one text stays prepared; as many as
    /// the bind limit allows on PostgreSQL, where each is a round trip.
    fn rows_per_insert(&self, columns: usize) -> usize {
        match self {
            Db::Sqlite { .. } => 1,
            Db::Postgres { .. } => MAX_BINDS / columns / 2,
        }
    }

    fn close(self) {
        if let Db::Postgres { rt, conn } = self {
            let _ = rt.block_on(conn.close());
        }
    }
}

fn run(target: &Target, mut rx: mpsc::Receiver<Message>) {
    let mut db: Option<Db> = None;
    let mut closing = None;
    let mut last_started = Instant::now();
    while closing.is_none() {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut jobs = Vec::new();
        match first {
            Message::Job(j) => jobs.push(j),
            Message::Together(js) => jobs.extend(js),
            Message::Close(ack) => closing = Some(ack),
        }
        let now = Instant::now();
        if let Some(wait) = (last_started + MIN_BATCH_INTERVAL).checked_duration_since(now) {
            std::thread::sleep(wait);
        }
        last_started = Instant::now();
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
        if db.is_none() {
            match Db::connect(target) {
                Ok(c) => db = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "the writer cannot connect");
                    let why = e.to_string();
                    for job in jobs {
                        let _ = job.reply.send(Err(StorageError::Writer(why.clone())));
                    }
                    continue;
                }
            }
        }
        let Some(conn) = db.as_mut() else { continue };
        match run_batch(conn, &jobs) {
            Ok(answers) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(answer);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "write batch failed");
                // The connection may be broken, or still inside the failed
                // transaction; closing it rolls back, the next batch reconnects.
                if let Some(c) = db.take() {
                    c.close();
                }
                let why = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(StorageError::Writer(why.clone())));
                }
            }
        }
    }
    if let Some(c) = db.take() {
        c.close();
    }
    if let Some(ack) = closing {
        let _ = ack.send(());
    }
}

/// Runs the jobs in one transaction; `Err` only when the batch as a whole
/// failed (nothing committed).
fn run_batch(db: &mut Db, jobs: &[Job]) -> Result<Vec<JobAnswer>> {
    match run_once(db, jobs, Mode::Deferred)? {
        Ok(answers) => Ok(answers),
        Err(flush_error) => {
            tracing::warn!(error = %flush_error, "batched audit/session rows failed; repeating the batch write by write");
            run_once(db, jobs, Mode::Immediate)?
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

/// (SQLite reports a stale change count for `SAVEPOINT`, so conditional
/// writes tell their outcome by `RETURNING`, never by the rows affected.)
struct BatchState {
    mode: Mode,
    /// (seq, hash) of the chain's newest record, when the batch appends.
    head: Option<(i64, String)>,
    head_read: Option<(i64, String)>,
    audits: Vec<AuditRecord>,
    sessions: Vec<SessionRow>,
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
}

const HEAD: &str = "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, last_hash";

/// The outer `Err` is a failure of the whole batch (the caller closes the
/// connection, which rolls back); the inner `Err` is a failure of the deferred
/// rows only, already rolled back (the caller repeats in immediate mode).
fn run_once(db: &mut Db, jobs: &[Job], mode: Mode) -> Result<Result<Vec<JobAnswer>, StorageError>> {
    let mut st = BatchState {
        mode,
        head: None,
        head_read: None,
        audits: Vec::new(),
        sessions: Vec::new(),
        savepoint_open: false,
    };
    // SQLite: the write lock now; a deferred transaction that reads first
    // could fail to upgrade while another connection writes.
    db.execute(match db.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    })?;
    // The head is read (and on PostgreSQL its row locked) before any
    // savepoint, so a job rolled back cannot release that lock.
    if jobs.iter().any(|j| j.steps.iter().any(|w| w.0.may_audit())) {
        let head = db
            .query(HEAD, &[], &|r| {
                Ok((r.col::<i64>("seq")?, r.col::<String>("last_hash")?))
            })?
            .into_iter()
            .next()
            .ok_or_else(|| StorageError::corrupt("audit_head", "id", "missing"))?;
        st.head_read = Some(head.clone());
        st.head = Some(head);
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let needs_savepoint =
            mode == Mode::Immediate || job.steps.iter().any(|w| w.0.is_immediate());
        if needs_savepoint {
            if st.savepoint_open {
                db.execute("RELEASE SAVEPOINT job")?;
            }
            db.execute("SAVEPOINT job")?;
            st.savepoint_open = true;
        }
        let mark = st.mark();
        let result = run_job(db, &mut st, &job.steps);
        if !matches!(result, Ok(Ok(_))) {
            if needs_savepoint {
                // The savepoint stays open after ROLLBACK TO, for the next job.
                db.execute("ROLLBACK TO SAVEPOINT job")?;
            }
            st.reset(mark);
        }
        answers.push(result);
    }
    if let Err(e) = flush(db, &mut st) {
        // PostgreSQL has aborted the transaction; SQLite may have written part.
        db.execute("ROLLBACK")?;
        return Ok(Err(e));
    }
    db.execute("COMMIT")?;
    if let Db::Sqlite {
        conn, checkpointer, ..
    } = db
    {
        checkpointer.committed();
        if checkpointer.rewind_due() {
            // Only the frames since the checkpoint thread's last pass; the
            // next transaction then finds the WAL fully copied.
            if let Err(e) = lite::checkpoint(conn) {
                tracing::warn!(error = %e, "WAL checkpoint before the rewind failed");
            }
        }
    }
    Ok(Ok(answers))
}

enum Pending<'a> {
    Borrowed(&'a Write),
    Owned(Write),
}

fn run_job(db: &mut Db, st: &mut BatchState, steps: &[Write]) -> JobAnswer {
    let mut out: Vec<Written> = Vec::with_capacity(steps.len());
    let mut index = 0usize;
    // Continuations are expanded in place: their writes run next.
    let mut queue: VecDeque<Pending<'_>> = steps.iter().map(Pending::Borrowed).collect();
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
        match run_step(db, st, step_ref)? {
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

/// The statement of a step that runs one of its own. A conditional write
/// tells by the number of rows it changed whether it wrote: on SQLite a
/// `RETURNING` clause costs a temporary table per execution.
fn statement(step: &Step) -> Option<String> {
    Some(match step {
        Step::InsertNonce { .. } => {
            "INSERT INTO auth_nonces (nonce, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
                .to_owned()
        }
        Step::SpendNonce { .. } => "UPDATE auth_nonces SET used_at = $1 WHERE nonce = $2 AND session_id = $3 \
             AND used_at IS NULL AND expires_at > $1"
            .to_owned(),
        Step::InsertAuthRequest(_) => {
            "INSERT INTO auth_requests (id, state, code_challenge, nonce, origin, redirect_uri, created_at, \
             expires_at, client_name, purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                .to_owned()
        }
        Step::CompleteAuthRequest { .. } => {
            "UPDATE auth_requests SET card_id = $1, code = $2, token = $3, completed_at = $4 \
             WHERE id = $5 AND completed_at IS NULL AND cancelled_at IS NULL AND expires_at > $4"
                .to_owned()
        }
        Step::RedeemCode { .. } => {
            // The token is single use: once spent it is not kept (and the
            // row, which it makes 2–3 KB long, is rewritten short).
            "UPDATE auth_requests SET redeemed_at = $1, token = NULL \
             WHERE code = $2 AND redeemed_at IS NULL AND expires_at > $1"
                .to_owned()
        }
        // ON CONFLICT DO NOTHING: the same idempotency key again writes nothing
        // and the first record is returned, also when two retries race.
        Step::RecordConsent(_) => {
            "INSERT INTO consents (institution_id, person_id, action, care_kind, channel, surgery, clinical_and_drug, \
             checkups, specific_disease, subsidy, limit_amount, prescription_form, recorded_at, valid_until, recorded_by, \
             needs_photo_id_check, idempotency_key, photo_id_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT DO NOTHING"
                .to_owned()
        }
        Step::Audit(_) | Step::PutSession(_) | Step::Then(_) => return None,
    })
}

/// A step's arguments in the order of its `$1…`.
fn args_of(step: &Step) -> Vec<Arg<'_>> {
    match step {
        Step::InsertNonce {
            nonce,
            session_id,
            now,
            expires_at,
        } => vec![
            Arg::Text(nonce),
            Arg::Text(session_id),
            Arg::Int(*now),
            Arg::Int(*expires_at),
        ],
        Step::SpendNonce {
            nonce,
            session_id,
            now,
        } => vec![Arg::Int(*now), Arg::Text(nonce), Arg::Text(session_id)],
        Step::InsertAuthRequest(r) => vec![
            Arg::Text(&r.id),
            Arg::Text(&r.state),
            Arg::Text(&r.code_challenge),
            Arg::Text(&r.nonce),
            Arg::Text(&r.origin),
            Arg::Text(&r.redirect_uri),
            Arg::Int(micros(r.created_at)),
            Arg::Int(micros(r.expires_at)),
            Arg::OptText(r.client_name.as_deref()),
            Arg::OptText(r.purpose.as_deref()),
        ],
        Step::CompleteAuthRequest {
            id,
            card_id,
            code,
            token,
            now,
        } => vec![
            Arg::Int(*card_id),
            Arg::Text(code),
            Arg::Text(token),
            Arg::Int(*now),
            Arg::Text(id),
        ],
        Step::RedeemCode { code, now } => vec![Arg::Int(*now), Arg::Text(code)],
        Step::RecordConsent(c) => {
            let mut args = vec![
                Arg::Int(c.institution_id),
                Arg::Int(c.person_id),
                Arg::Text(c.action),
                Arg::Text(c.care_kind),
                Arg::Text(c.channel),
            ];
            args.extend(c.choices.iter().map(|v| Arg::OptText(*v)));
            args.extend([
                Arg::OptText(c.prescription_form),
                Arg::Int(c.recorded_at),
                Arg::OptInt(c.valid_until),
                Arg::Text(&c.recorded_by),
                Arg::Int(c.needs_photo_id_check),
                Arg::OptText(c.idempotency_key.as_deref()),
                Arg::OptText(c.photo_id_reason),
            ]);
            args
        }
        Step::Audit(_) | Step::PutSession(_) | Step::Then(_) => Vec::new(),
    }
}

/// A unique value refused by the database, named for people where a step
/// expects it; any other failure as it is.
fn step_error(e: StorageError, step: &Step) -> StorageError {
    match step {
        Step::InsertNonce { .. } => e.unique_as("ノンス"),
        Step::InsertAuthRequest(_) => e.unique_as("認証要求"),
        _ => e,
    }
}

fn run_step(db: &mut Db, st: &mut BatchState, step: &Step) -> Result<Result<Written, Refusal>> {
    match step {
        Step::Audit(a) => {
            let record = append_audit(db, st, a)?;
            Ok(Ok(Written::Audit(record)))
        }
        Step::PutSession(s) => {
            match st.mode {
                Mode::Deferred => st.sessions.push(s.clone()),
                Mode::Immediate => insert_sessions(db, std::slice::from_ref(s))?,
            }
            Ok(Ok(Written::Done))
        }
        Step::Then(_) => Ok(Ok(Written::Done)),
        _ => {
            let Some(sql) = statement(step) else {
                return Ok(Ok(Written::Done));
            };
            let args = args_of(step);
            if let Step::RecordConsent(c) = step {
                return Ok(Ok(Written::Consent(match db.insert_id(&sql, &args)? {
                    Some(id) => recorded(db, c, id)?,
                    None => recorded_under(db, c)?,
                })));
            }
            let changed = db.changed(&sql, &args).map_err(|e| step_error(e, step))?;
            outcome(db, step, changed > 0)
        }
    }
}

/// The consent just inserted under `id`.
fn recorded(db: &mut Db, c: &ConsentRow, id: i64) -> Result<ConsentRecord> {
    let code = db
        .query(
            "SELECT code FROM institutions WHERE id = $1",
            &[Arg::Int(c.institution_id)],
            &|r| r.col::<String>("code"),
        )?
        .pop()
        .ok_or_else(|| StorageError::corrupt("consents", "institution_id", c.institution_id))?;
    Ok(ConsentRecord {
        id,
        institution_code: code,
        ..c.record.clone()
    })
}

/// An instant as the database keeps it (microseconds).
fn stored_instant(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros(t)).unwrap_or(t)
}

/// The consent an earlier job wrote under the same idempotency key.
fn recorded_under(db: &mut Db, c: &ConsentRow) -> Result<ConsentRecord> {
    let key = c.idempotency_key.as_deref().unwrap_or_default();
    db.query(&by_idempotency_key_sql(), &[Arg::Text(key)], &|r| {
        crate::consents::from_row(r)
    })?
    .into_iter()
    .next()
    .ok_or(StorageError::Duplicate("同意登録"))
}

/// What a step's statement did, from whether it changed a row.
fn outcome(db: &mut Db, step: &Step, wrote: bool) -> Result<Result<Written, Refusal>> {
    Ok(match step {
        Step::SpendNonce {
            nonce,
            session_id,
            now,
        } if !wrote => Err(Refusal::Nonce(nonce_rejection(
            db, nonce, session_id, *now,
        )?)),
        Step::CompleteAuthRequest { .. } if !wrote => Err(Refusal::RequestNotOpen),
        Step::RedeemCode { .. } if !wrote => Err(Refusal::CodeNotRedeemable),
        Step::SpendNonce { .. }
        | Step::CompleteAuthRequest { .. }
        | Step::RedeemCode { .. }
        | Step::RecordConsent(_)
        | Step::InsertNonce { .. }
        | Step::InsertAuthRequest(_)
        | Step::Audit(_)
        | Step::PutSession(_)
        | Step::Then(_) => Ok(Written::Done),
    })
}

fn nonce_rejection(db: &mut Db, nonce: &str, session_id: &str, now: i64) -> Result<NonceRejection> {
    let found = db
        .query(
            "SELECT session_id, expires_at, used_at FROM auth_nonces WHERE nonce = $1",
            &[Arg::Text(nonce)],
            &|r| {
                Ok((
                    r.col::<String>("session_id")?,
                    r.col::<i64>("expires_at")?,
                    r.col::<Option<i64>>("used_at")?,
                ))
            },
        )?
        .into_iter()
        .next();
    let Some((owner, expires, used)) = found else {
        return Ok(NonceRejection::Unknown);
    };
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

fn append_audit(db: &mut Db, st: &mut BatchState, a: &AuditRow) -> Result<AuditRecord> {
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
        Mode::Immediate => insert_audits(db, std::slice::from_ref(&record))?,
    }
    Ok(record)
}

const AUDIT_COLUMNS: usize = 10;
const SESSION_COLUMNS: usize = 4;

fn insert_audits(db: &mut Db, records: &[AuditRecord]) -> Result<()> {
    for chunk in records.chunks(db.rows_per_insert(AUDIT_COLUMNS)) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, \
             hash) VALUES {}",
            values_placeholders(chunk.len(), AUDIT_COLUMNS, db.backend())
        );
        let mut args = Vec::with_capacity(chunk.len() * AUDIT_COLUMNS);
        for r in chunk {
            args.extend([
                Arg::Int(r.seq),
                Arg::Int(micros(r.at)),
                Arg::Text(&r.actor),
                Arg::Text(&r.action),
                Arg::Text(&r.outcome),
                Arg::OptInt(r.institution_id),
                Arg::OptInt(r.person_id),
                Arg::Text(&r.detail),
                Arg::Text(&r.prev_hash),
                Arg::Text(&r.hash),
            ]);
        }
        db.insert_rows(&sql, &args)?;
    }
    Ok(())
}

fn insert_sessions(db: &mut Db, rows: &[SessionRow]) -> Result<()> {
    for chunk in rows.chunks(db.rows_per_insert(SESSION_COLUMNS)) {
        let sql = format!(
            "INSERT INTO web_sessions (id, data, created_at, expires_at) VALUES {} \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
            values_placeholders(chunk.len(), SESSION_COLUMNS, db.backend())
        );
        let mut args = Vec::with_capacity(chunk.len() * SESSION_COLUMNS);
        for s in chunk {
            args.extend([
                Arg::Text(&s.id),
                Arg::Text(&s.data),
                Arg::Int(s.created_at),
                Arg::Int(s.expires_at),
            ]);
        }
        db.insert_rows(&sql, &args)?;
    }
    Ok(())
}

/// The rows kept for the end of the batch, and the chain's new head.
fn flush(db: &mut Db, st: &mut BatchState) -> Result<()> {
    // Last write wins, as it would have one by one (and PostgreSQL refuses
    // to upsert one row twice in a statement).
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for (i, s) in st.sessions.iter().enumerate() {
        latest.insert(&s.id, i);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let sessions: Vec<SessionRow> = keep.into_iter().map(|i| st.sessions[i].clone()).collect();
    insert_audits(db, &st.audits)?;
    if let (Some((seq, hash)), Some(read)) = (&st.head, &st.head_read)
        && (*seq, hash) != (read.0, &read.1)
    {
        db.insert_rows(
            "UPDATE audit_head SET seq = $1, last_hash = $2 WHERE id = 1",
            &[Arg::Int(*seq), Arg::Text(hash)],
        )?;
    }
    insert_sessions(db, &sessions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_has_its_arguments() {
        let placeholders = |sql: &str| {
            sql.split('$')
                .skip(1)
                .filter_map(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<usize>().ok()
                })
                .max()
                .unwrap_or(0)
        };
        let spend = Step::SpendNonce {
            nonce: "n".into(),
            session_id: "s".into(),
            now: 1,
        };
        let redeem = Step::RedeemCode {
            code: "c".into(),
            now: 1,
        };
        for step in [spend, redeem] {
            let sql = statement(&step).unwrap_or_default();
            assert_eq!(placeholders(&sql), args_of(&step).len(), "{sql}");
        }
        assert!(statement(&Step::Then(Box::new(|_| Vec::new()))).is_none());
    }
}
