//! Databases for tests: a fresh SQLite file or a fresh PostgreSQL database
//! per test, and free ports.
//!
//! PostgreSQL: when `ZAITAKU_TEST_POSTGRES_URL` is set, each test gets a fresh
//! database on that server; otherwise the first test in a process starts its
//! own throw-away server with `initdb` into a temporary folder, listening on
//! loopback only, and stops it when the process exits (one server per test
//! binary). As root, PostgreSQL runs as the `postgres` user, because it
//! refuses to run as root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;

/// A free TCP port on 127.0.0.1 (racy by nature, fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("getrandom: {e}"));
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A URL for a new, empty SQLite database in its own temporary folder.
pub struct TempSqlite {
    pub url: String,
    _dir: tempfile::TempDir,
}

pub fn sqlite() -> TempSqlite {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite:{}", dir.path().join("zaitaku.sqlite3").display());
    TempSqlite { url, _dir: dir }
}

struct Postgres {
    base_url: String,
    /// Kept, never waited on: it outlives the tests by design.
    _watchdog: Option<std::process::Child>,
}

static SERVER: OnceLock<Postgres> = OnceLock::new();

/// A URL to a brand-new PostgreSQL database for one test.
pub async fn postgres() -> String {
    let server = SERVER.get_or_init(start_server);
    let db = format!("zt_{}", random_suffix());
    let admin_url = format!("{}/postgres", server.base_url);
    let mut conn = connect_retrying(&admin_url).await;
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {db}: {e}"));
    let _ = conn.close().await;
    format!("{}/{db}", server.base_url)
}

async fn connect_retrying(url: &str) -> sqlx::PgConnection {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match sqlx::PgConnection::connect(url).await {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => {
                panic!("PostgreSQL at {url} did not answer: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn start_server() -> Postgres {
    if let Ok(url) = std::env::var("ZAITAKU_TEST_POSTGRES_URL") {
        return Postgres {
            base_url: url.trim_end_matches('/').to_owned(),
            _watchdog: None,
        };
    }
    let bin = postgres_bin_dir().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed: the tests need initdb and postgres \
             (Debian: apt-get install postgresql), or set ZAITAKU_TEST_POSTGRES_URL"
        )
    });
    // Statics are never dropped, so the server cannot be stopped from Rust at
    // exit; a small shell watchdog stops it and removes its folder once this
    // test process is gone.
    let dir = tempfile::Builder::new()
        .prefix("zaitaku-pg-")
        .tempdir()
        .map(tempfile::TempDir::keep)
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let data = dir.join("data");
    let as_root = is_root();
    if as_root {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir));
    }
    let mut initdb = as_user(as_root, &bin.join("initdb"));
    initdb
        .args([
            "-A",
            "trust",
            "-U",
            "zaitaku",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data);
    run(&mut initdb);
    let port = free_port();
    let runner = if as_root {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "{runner}'{postgres}' -D '{data}' -h 127.0.0.1 -p {port} -k '{dir}' -c fsync=off -c max_connections=200 \
         >/dev/null 2>&1 & pg=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; \
         kill -INT $(head -n 1 '{data}/postmaster.pid') 2>/dev/null; wait $pg; rm -rf '{dir}'",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start postgres: {e}"));
    Postgres {
        base_url: format!("postgres://zaitaku@127.0.0.1:{port}"),
        _watchdog: Some(watchdog),
    }
}

fn as_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}
