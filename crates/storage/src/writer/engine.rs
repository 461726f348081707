//! The writer's engine: one thread per store with its own connection
//! (rusqlite on SQLite, see `lite`). It takes every job that is waiting, runs
//! them in ONE transaction with a savepoint per job, commits once and only
//! then answers each caller. Invariant: a job is answered only after the
//! commit that holds it, and a job that fails or is refused leaves nothing
//! behind while the rest of its batch commits. See docs/design/storage.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use super::chain::Chain;
use super::sessions::{self, Sessions};
use super::{Insert, Kind, Refused, Write, Written};
use crate::sql::{Arg, Columns, MAX_BINDS};
use crate::{Backend, Result, StorageError, lite};

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

pub(crate) type JobAnswer = Result<Result<Vec<Written>, Refused>>;

struct Job {
    writes: Vec<Write>,
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

    pub(crate) async fn submit(&self, writes: Vec<Write>) -> JobAnswer {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Job(Job { writes, reply }))
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
            .map(|writes| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                Job { writes, reply }
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

/// The writer's connection, as a [`super::Step`] sees it. Its statements
/// run one after another on the writer's thread, inside the batch's
/// transaction and the job's savepoint.
pub(crate) enum Db {
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

    pub(crate) fn backend(&self) -> Backend {
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
    pub(crate) fn changed(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        match self {
            Db::Sqlite { conn: c, .. } => lite::execute(c, sql, args),
            Db::Postgres { rt, conn } => {
                let q = args.iter().fold(sqlx::query(sql), |q, a| a.bind(q));
                Ok(rt.block_on(q.execute(&mut *conn))?.rows_affected())
            }
        }
    }

    /// An insert into a table with an integer `id`: the new row's id, or
    /// `None` when it wrote nothing (`ON CONFLICT DO NOTHING`). On SQLite
    /// without `RETURNING`, which costs a temporary table per execution.
    pub(crate) fn insert_id(&mut self, insert: &Insert, args: &[Arg<'_>]) -> Result<Option<i64>> {
        match self {
            Db::Sqlite { conn: c, .. } => {
                Ok((lite::execute(c, insert.sql, args)? > 0).then(|| c.last_insert_rowid()))
            }
            Db::Postgres { rt, conn } => {
                let q = args
                    .iter()
                    .fold(sqlx::query(insert.returning_id), |q, a| a.bind(q));
                let row = rt.block_on(q.fetch_optional(&mut *conn))?;
                row.map(|r| (&r as &dyn Columns).col::<i64>("id"))
                    .transpose()
            }
        }
    }

    /// A statement kept prepared on the connection; the rows it returns.
    pub(crate) fn query<T>(
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
    pub(super) fn insert_rows(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<()> {
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
    pub(super) fn rows_per_insert(&self, columns: usize) -> usize {
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
        match run_batch(conn, &mut jobs) {
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
fn run_batch(db: &mut Db, jobs: &mut [Job]) -> Result<Vec<JobAnswer>> {
    match run_once(db, jobs, Mode::Deferred)? {
        Ok(answers) => Ok(answers),
        Err(flush_error) => {
            tracing::warn!(error = %flush_error, "batched audit/session rows failed; repeating the batch write by write");
            run_once(db, jobs, Mode::Immediate)?
        }
    }
}

/// Whether audit and session rows wait for the end of the batch.
///
/// Deferred is the normal mode: one multi-row insert per batch instead of a
/// statement per row (on PostgreSQL each is a round trip). Such a row fails
/// only for a reason of its own (a trigger, PostgreSQL refusing a NUL
/// character in text), and then the whole insert fails; the batch is rolled
/// back and run again Immediate, every row inside its own job's savepoint, so
/// only the job that holds the bad row fails.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Deferred,
    Immediate,
}

struct BatchState {
    mode: Mode,
    chain: Chain,
    sessions: Sessions,
    savepoint_open: bool,
}

/// The outer `Err` is a failure of the whole batch (the caller closes the
/// connection, which rolls back); the inner `Err` is a failure of the deferred
/// rows only, already rolled back (the caller repeats in immediate mode).
fn run_once(
    db: &mut Db,
    jobs: &mut [Job],
    mode: Mode,
) -> Result<Result<Vec<JobAnswer>, StorageError>> {
    // SQLite: the write lock now; a deferred transaction that reads first
    // could fail to upgrade while another connection writes.
    db.execute(match db.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    })?;
    let audits = jobs
        .iter()
        .any(|j| j.writes.iter().any(|w| matches!(w.0, Kind::Audit(_))));
    let mut st = BatchState {
        mode,
        chain: if audits {
            Chain::read_head(db)?
        } else {
            Chain::untouched()
        },
        sessions: Sessions::default(),
        savepoint_open: false,
    };
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs.iter_mut() {
        let needs_savepoint =
            mode == Mode::Immediate || job.writes.iter().any(|w| matches!(w.0, Kind::Step(_)));
        if needs_savepoint {
            if st.savepoint_open {
                db.execute("RELEASE SAVEPOINT job")?;
            }
            db.execute("SAVEPOINT job")?;
            st.savepoint_open = true;
        }
        let (chain_mark, sessions_mark) = (st.chain.mark(), st.sessions.mark());
        let result = run_job(db, &mut st, &mut job.writes);
        if !matches!(result, Ok(Ok(_))) {
            if needs_savepoint {
                // The savepoint stays open after ROLLBACK TO, for the next job.
                db.execute("ROLLBACK TO SAVEPOINT job")?;
            }
            st.chain.reset(chain_mark);
            st.sessions.reset(sessions_mark);
        }
        answers.push(result);
    }
    if let Err(e) = st.chain.flush(db).and_then(|()| st.sessions.flush(db)) {
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

fn run_job(db: &mut Db, st: &mut BatchState, writes: &mut [Write]) -> JobAnswer {
    let deferred = st.mode == Mode::Deferred;
    let mut out: Vec<Written> = Vec::with_capacity(writes.len());
    for (index, write) in writes.iter_mut().enumerate() {
        let written = match &mut write.0 {
            Kind::Step(step) => step.run(db)?,
            Kind::Audit(a) => Ok(Written::Audit(st.chain.append(db, a, &out, deferred)?)),
            Kind::Session(s) => {
                let row = s.row(&out)?;
                if deferred {
                    st.sessions.keep(row);
                } else {
                    sessions::write(db, &[&row])?;
                }
                Ok(Written::Done)
            }
        };
        match written {
            Ok(w) => out.push(w),
            Err(refusal) => {
                return Ok(Err(Refused {
                    write: index,
                    refusal,
                }));
            }
        }
    }
    Ok(Ok(out))
}
