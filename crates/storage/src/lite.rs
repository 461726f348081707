//! SQLite through rusqlite, for the registration path: the group-commit
//! writer and the reads a registration makes.
//!
//! sqlx runs every SQLite connection on a thread of its own and each
//! statement is a round trip to that thread: two context switches and two
//! futex wake-ups, tens of microseconds, several times the cost of the
//! statement itself. Measured under load, the server spent most of its time
//! switching threads (see docs/benchmarks/log/2026-12.md). Here a statement runs on the
//! calling thread, prepared once per connection and cached. A read takes a
//! few microseconds from the page cache, so it runs inline on the request's
//! task rather than being sent elsewhere; the writer has its own thread.
//!
//! The same SQL text serves both drivers: `$n` placeholders are bound by
//! name, anonymous `?` by position.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::sql::{Arg, Columns, LiteRow};
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

/// `sql` prepared (or taken from the connection's cache) with `args` bound.
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, arg) in args.iter().enumerate() {
        let n = i + 1;
        // SQLite numbers parameters in order of first appearance, so `$n` is
        // usually parameter n; a name lookup scans them all, which for the
        // writer's multi-row inserts (anonymous `?`) was quadratic.
        let index = match stmt.parameter_name(n) {
            None => n,
            Some(name) if name.strip_prefix('$').and_then(|d| d.parse().ok()) == Some(n) => n,
            Some(_) => stmt.parameter_index(&format!("${n}"))?.unwrap_or(n),
        };
        stmt.raw_bind_parameter(index, arg)?;
    }
    Ok(stmt)
}

/// Runs `sql`, which returns no rows, with `args`; the number of rows it
/// changed.
pub(crate) fn execute(conn: &Connection, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
    let changed = bound(conn, sql, args)?.raw_execute()?;
    Ok(u64::try_from(changed).unwrap_or(u64::MAX))
}

/// Runs `sql` with `args` and maps every row it returns.
pub(crate) fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    map: &dyn Fn(&dyn Columns) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = bound(conn, sql, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(&LiteRow::new(row))?);
    }
    Ok(out)
}

/// How often the WAL is checkpointed while commits arrive. Under load about
/// as many pages as SQLite's own threshold (1,000) gather in this time; a page
/// written many times in between is copied once.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL frames (pages of 4 KiB) after which the writer is asked to let SQLite
/// start the WAL again from its beginning: 64 MB.
const REWIND_AFTER_FRAMES: i64 = 16_384;

/// A checkpoint pass this short leaves the writer a catch-up of about as
/// long: the commits made meanwhile are all that is left to copy.
const SHORT_PASS: Duration = Duration::from_millis(2);

/// Checkpoints the WAL on a thread of its own, off the writer's path: a
/// checkpoint copies frames into the database file and fsyncs it, and inside
/// a commit it would stall the writer and every caller waiting on it. The
/// writer tells this thread about its commits; it runs a PASSIVE checkpoint
/// (which never blocks the writer or readers) at most every
/// [`CHECKPOINT_EVERY`], and a last one when the writer closes.
///
/// SQLite writes the WAL from its beginning again only when a write
/// transaction starts with every frame already copied and no reader inside
/// the WAL. Under a steady stream of commits that moment never comes by
/// itself: the writer commits again before a checkpoint ends, and the WAL
/// grew without bound (1.9 GB in the load benchmark, beside a 240 MB
/// database), every commit extending the file, which makes each fsync a
/// metadata update too.
/// So once the WAL holds [`REWIND_AFTER_FRAMES`], this thread runs further
/// passes until one is short, then raises [`Checkpointer::rewind_due`]; the
/// writer copies what its last commits added, right after a commit (measured:
/// mostly 1–3 ms), and its next transaction starts the WAL over. Nothing
/// waits for readers: if one is still inside the WAL, the rewind simply
/// happens a pass later.
pub(crate) struct Checkpointer {
    tx: std::sync::mpsc::SyncSender<()>,
    rewind: Arc<AtomicBool>,
}

impl Checkpointer {
    pub(crate) fn start(path: &std::path::Path) -> Result<Self> {
        Self::rewinding_after(path, REWIND_AFTER_FRAMES)
    }

    fn rewinding_after(path: &std::path::Path, frames: i64) -> Result<Self> {
        let conn = open(path)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let rewind = Arc::new(AtomicBool::new(false));
        let due = rewind.clone();
        std::thread::Builder::new()
            .name("zaitaku-checkpoint".into())
            .spawn(move || {
                let mut last = Instant::now();
                // Ends when the writer drops its side.
                while rx.recv().is_ok() {
                    std::thread::sleep(CHECKPOINT_EVERY.saturating_sub(last.elapsed()));
                    wake(&conn, frames, &due);
                    last = Instant::now();
                }
                let _ = checkpoint(&conn);
            })
            .map_err(|e| StorageError::Writer(format!("スレッドを作成できません: {e}")))?;
        Ok(Self { tx, rewind })
    }

    /// After each commit; never waits (a wake-up already pending is enough).
    pub(crate) fn committed(&self) {
        let _ = self.tx.try_send(());
    }

    /// Whether the writer should catch the checkpoint up now, right after
    /// its commit (see the type's documentation); true once per request.
    pub(crate) fn rewind_due(&self) -> bool {
        self.rewind.swap(false, Ordering::Relaxed)
    }
}

/// One wake-up of the checkpoint thread: a pass and, once the WAL holds
/// `frames`, more passes until one is short, then the writer asked to rewind
/// (see [`Checkpointer`]). A function of its own so that a test can run it
/// between commits of its choosing.
fn wake(conn: &Connection, frames: i64, due: &AtomicBool) {
    match pass(conn) {
        Ok(in_wal) if in_wal >= frames => {
            for _ in 0..4 {
                let started = Instant::now();
                if pass(conn).is_err() || started.elapsed() < SHORT_PASS {
                    break;
                }
            }
            due.store(true, Ordering::Relaxed);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}

/// A PASSIVE checkpoint, then the database file made durable: SQLite syncs it
/// only after a checkpoint that copied the whole WAL, which would leave the
/// writer's catch-up to flush everything copied since (measured: 20–50 ms).
/// The number of frames in the WAL.
fn pass(conn: &Connection) -> Result<i64> {
    let wal = checkpoint(conn)?;
    if wal.copied < wal.frames {
        sync_database_file(conn)?;
    }
    Ok(wal.frames)
}

/// The WAL after a checkpoint.
pub(crate) struct WalState {
    /// Frames in the WAL.
    pub(crate) frames: i64,
    /// Of those, frames copied into the database file.
    pub(crate) copied: i64,
}

/// A PASSIVE checkpoint on `conn`.
pub(crate) fn checkpoint(conn: &Connection) -> Result<WalState> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(WalState {
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })?)
}

/// fsync of the database file `conn` has open, through SQLite's VFS.
///
/// Not through a descriptor of our own: closing any descriptor of a file
/// drops every POSIX lock the process holds on it, SQLite's locks included
/// (sqlite.org, "How To Corrupt An SQLite Database File", 2.2).
// The one `unsafe` in the workspace (`unsafe_code` is denied elsewhere):
// rusqlite has no safe call for SQLITE_FCNTL_FILE_POINTER and the VFS's
// xSync, so this goes through the C API; the SAFETY note below says why it
// holds.
#[allow(unsafe_code)]
fn sync_database_file(conn: &Connection) -> Result<()> {
    use rusqlite::ffi;
    let failed =
        |why: String| StorageError::Writer(format!("データベースファイルを同期できません: {why}"));
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the handle is open while `conn` is borrowed, and only this
    // thread uses `conn`; the file object SQLite hands back belongs to the
    // connection and stays valid while it is open. xSync is the VFS's own
    // entry point for this call.
    let rc = unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&raw mut file).cast(),
        );
        if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
            return Err(failed(format!("ファイルがありません（SQLite {rc}）")));
        }
        match (*(*file).pMethods).xSync {
            Some(x_sync) => x_sync(file, ffi::SQLITE_SYNC_NORMAL),
            None => return Err(failed("同期の手段がありません".into())),
        }
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(failed(format!("SQLite {rc}")))
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
        match path_of("sqlite::memory:") {
            Err(StorageError::UnsupportedUrl(why)) => {
                assert!(why.contains("メモリ上のSQLiteは使えません"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The options of `.cargo/config.toml` reached the SQLite this links:
    /// without them every connection queues on two global mutexes
    /// (docs/decisions.md, "SQLite built without two of libsqlite3-sys's
    /// defaults").
    #[test]
    fn sqlite_is_built_without_the_global_mutexes() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("x.sqlite3")).unwrap();
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
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

    /// How many times SQLite has written the WAL from its beginning again:
    /// the checkpoint sequence number, bytes 12–15 of the WAL header (SQLite's
    /// file format, "WAL File Format"), which each restart increments.
    fn wal_restarts(path: &std::path::Path) -> u32 {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(format!("{}-wal", path.display()))
            .and_then(|mut f| f.read_exact(&mut header))
            .unwrap();
        u32::from_be_bytes([header[12], header[13], header[14], header[15]])
    }

    /// Commits of one 4 KiB row each, as the writer makes them.
    fn commit_rows(conn: &Connection, rows: usize) {
        let blob = vec![7u8; 4000];
        for _ in 0..rows {
            conn.execute("INSERT INTO t (b) VALUES (?1)", [&blob])
                .unwrap();
        }
    }

    /// Under a steady stream, commits land while each checkpoint pass runs,
    /// so no pass ever finds the WAL fully copied and SQLite never starts it
    /// over by itself. A reader's snapshot holds the passes back the same way
    /// and lets the test take the steps one at a time, in the order the
    /// threads would, instead of hoping the checkpoint thread gets a CPU.
    #[test]
    fn the_wal_starts_over_under_a_steady_stream_of_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite3");
        let writer = open(&path).unwrap();
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (b BLOB);")
            .unwrap();
        let checkpoint_thread = open(&path).unwrap();
        let reader = open(&path).unwrap();
        let due = AtomicBool::new(false);

        commit_rows(&writer, 100);
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        commit_rows(&writer, 5);
        // The checkpoint thread wakes: more than 64 frames are in the WAL.
        wake(&checkpoint_thread, 64, &due);
        reader.execute_batch("COMMIT").unwrap();
        assert!(due.load(Ordering::Relaxed), "the writer is asked to rewind");
        let restarts = wal_restarts(&path);
        // Without the writer's catch-up the frames the passes could not copy
        // are still there, and the next commit appends after them.
        commit_rows(&writer, 1);
        assert_eq!(wal_restarts(&path), restarts, "the WAL grows on");
        // The writer's catch-up (writer/engine.rs, after its commit): the next
        // commit writes the WAL from its beginning.
        assert!(due.swap(false, Ordering::Relaxed));
        checkpoint(&writer).unwrap();
        commit_rows(&writer, 1);
        assert_eq!(wal_restarts(&path), restarts + 1, "the WAL starts over");
        let wal = checkpoint(&checkpoint_thread).unwrap();
        assert!(wal.frames <= 4, "{} frames after the rewind", wal.frames);

        // Nothing lost across the rewind.
        let seen: i64 = open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, 107);
    }

    #[test]
    fn the_database_file_syncs_through_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("x.sqlite3")).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        sync_database_file(&conn).unwrap();
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

    #[test]
    fn columns_read_in_any_order_and_unknown_ones_refused() {
        let conn = Connection::open_in_memory().unwrap();
        let read = |names: &'static [&'static str]| {
            query(&conn, "SELECT 1 AS a, 2 AS b, 3 AS c", &[], &|r| {
                names
                    .iter()
                    .map(|n| r.col::<i64>(n))
                    .collect::<Result<Vec<i64>>>()
            })
        };
        assert_eq!(read(&["a", "b", "c"]).unwrap(), vec![vec![1, 2, 3]]);
        assert_eq!(read(&["c", "a", "c", "b"]).unwrap(), vec![vec![3, 1, 3, 2]]);
        assert_eq!(read(&["B"]).unwrap(), vec![vec![2]]);
        match read(&["a", "d"]) {
            Err(StorageError::Sqlite(rusqlite::Error::InvalidColumnName(name))) => {
                assert_eq!(name, "d");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn execute_counts_the_rows_it_changed() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (x INTEGER, y INTEGER); INSERT INTO t VALUES (1, 0), (2, 0);",
        )
        .unwrap();
        // `$1` twice is one parameter.
        let sql = "UPDATE t SET y = $1 WHERE x = $2 AND y < $1";
        assert_eq!(execute(&conn, sql, &[Arg::Int(5), Arg::Int(1)]).unwrap(), 1);
        assert_eq!(execute(&conn, sql, &[Arg::Int(5), Arg::Int(1)]).unwrap(), 0);
        assert_eq!(execute(&conn, sql, &[Arg::Int(5), Arg::Int(3)]).unwrap(), 0);
    }
}
