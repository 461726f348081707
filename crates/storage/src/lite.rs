//! SQLite through rusqlite, for the registration path: the group-commit
//! writer and the reads a registration makes.
//!
//! sqlx runs every SQLite connection on a thread of its own and each
//! statement is a round trip to that thread: two context switches and two
//! futex wake-ups, tens of microseconds, several times the cost of the
//! statement itself. Measured under load, the server spent most of its time
//! switching threads (see docs/benchmarks.md). Here a statement runs on the
//! calling thread, prepared once per connection and cached. A read takes a
//! few microseconds from the page cache, so it runs inline on the request's
//! task rather than being sent elsewhere; the writer has its own thread.
//!
//! The same SQL text serves both drivers: `$n` placeholders are bound by
//! name, anonymous `?` by position.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::sql::{Arg, Columns};
use crate::{Result, StorageError};

/// Prepared statements kept per connection: the registration path uses about
/// twenty distinct texts.
const STATEMENT_CACHE: usize = 64;

/// The file behind a `sqlite:` URL as sqlx reads it (`sqlite:PATH`,
/// `sqlite://PATH`, options after `?`).
pub(crate) fn path_of(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StorageError::UnsupportedUrl(url.to_owned()))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || options.contains("mode=memory") {
        // Every connection would have a database of its own.
        return Err(StorageError::UnsupportedUrl(format!(
            "{url}（メモリ上のSQLiteは使えません。ファイルを指定してください）"
        )));
    }
    Ok(PathBuf::from(path))
}

/// A connection with the settings of every SQLite connection of the store
/// (see `configure`): WAL, `synchronous=FULL`, foreign keys, a busy timeout.
pub(crate) fn open(path: &std::path::Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // temp_store: the writer's savepoints journal into memory, not a file.
    // (mmap_size was tried and measured slower: under a stream of commits and
    // checkpoints the mapping keeps being refreshed.)
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;",
    )?;

    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Runs `sql` with `args` and maps every row it returns.
pub(crate) fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    map: &dyn Fn(&dyn Columns) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, arg) in args.iter().enumerate() {
        let n = i + 1;
        let index = stmt.parameter_index(&format!("${n}"))?.unwrap_or(n);
        stmt.raw_bind_parameter(index, arg)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// How often the WAL is checkpointed while commits arrive. Under load about
/// as many pages as SQLite's own threshold (1,000) gather in this time; a page
/// written many times in between is copied once.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Checkpoints the WAL on a thread of its own, off the writer's path: a
/// checkpoint copies frames into the database file and fsyncs it, and inside
/// a commit it would stall the writer and every caller waiting on it. The
/// writer tells this thread about its commits; it runs a PASSIVE checkpoint
/// (which never blocks the writer or readers) at most every
/// [`CHECKPOINT_EVERY`], and a last one when the writer closes.
pub(crate) struct Checkpointer {
    tx: std::sync::mpsc::SyncSender<()>,
}

impl Checkpointer {
    pub(crate) fn start(path: &std::path::Path) -> Result<Self> {
        let conn = open(path)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("zaitaku-checkpoint".into())
            .spawn(move || {
                let mut last = std::time::Instant::now();
                // Ends when the writer drops its side.
                while rx.recv().is_ok() {
                    std::thread::sleep(CHECKPOINT_EVERY.saturating_sub(last.elapsed()));
                    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    last = std::time::Instant::now();
                }
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            })
            .map_err(|e| StorageError::Writer(format!("スレッドを作成できません: {e}")))?;
        Ok(Self { tx })
    }

    /// After each commit; never waits (a wake-up already pending is enough).
    pub(crate) fn committed(&self) {
        let _ = self.tx.try_send(());
    }
}

/// Connections that only read, handed out one at a time.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish()
    }
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on an idle connection, opening one when none is idle. There
    /// are never more than the threads reading at the same moment.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.take()?;
        let out = f(&conn);
        self.give_back(conn);
        out
    }

    pub(crate) fn take(&self) -> Result<Connection> {
        match self.idle.lock().ok().and_then(|mut v| v.pop()) {
            Some(c) => Ok(c),
            None => open(&self.path),
        }
    }

    pub(crate) fn give_back(&self, conn: Connection) {
        if let Ok(mut v) = self.idle.lock() {
            v.push(conn);
        }
    }

    pub(crate) fn close(&self) {
        if let Ok(mut v) = self.idle.lock() {
            v.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            path_of("sqlite:/tmp/x.db?mode=rwc").unwrap(),
            PathBuf::from("/tmp/x.db")
        );
        assert_eq!(
            path_of("sqlite://data/x.db").unwrap(),
            PathBuf::from("data/x.db")
        );
        assert!(path_of("sqlite::memory:").is_err());
    }

    /// Rows in the database file itself, ignoring the WAL: only what a
    /// checkpoint has copied there.
    fn rows_in_main_file(path: &std::path::Path) -> i64 {
        Connection::open_with_flags(
            format!("file:{}?immutable=1", path.display()),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
        .unwrap_or(0)
    }

    #[test]
    fn commits_reach_the_database_file_through_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite3");
        let writer = open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x INTEGER); \
                 INSERT INTO t VALUES (1), (2), (3);",
            )
            .unwrap();
        assert_eq!(rows_in_main_file(&path), 0, "still only in the WAL");
        let checkpointer = Checkpointer::start(&path).unwrap();
        checkpointer.committed();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rows_in_main_file(&path) < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(rows_in_main_file(&path), 3);
    }

    #[test]
    fn numbered_and_anonymous_placeholders() {
        let conn = Connection::open_in_memory().unwrap();
        let pair = |sql: &str| {
            query(&conn, sql, &[Arg::Int(1), Arg::Text("b")], &|r| {
                Ok((r.col::<i64>("a")?, r.col::<String>("b")?))
            })
            .unwrap()
        };
        // `$2` before `$1`: bound by name, not by position.
        assert_eq!(pair("SELECT $2 AS b, $1 AS a"), vec![(1, "b".to_owned())]);
        assert_eq!(pair("SELECT ? AS a, ? AS b"), vec![(1, "b".to_owned())]);
        let nulls = query(
            &conn,
            "SELECT $1 AS a, $2 AS b",
            &[Arg::OptInt(None), Arg::OptText(None)],
            &|r| Ok((r.col::<Option<i64>>("a")?, r.col::<Option<String>>("b")?)),
        )
        .unwrap();
        assert_eq!(nulls, vec![(None, None)]);
    }
}
