//! Test support shared by the crates' integration tests.
//!
//! PostgreSQL: when `ZAITAKU_TEST_POSTGRES_URL` is set (scripts/test starts one
//! server for the whole run), each test gets a fresh database on it; otherwise
//! the first test in a process starts its own throw-away server with `initdb`
//! into a temporary folder, listening on loopback only, and stops it when the
//! process exits. As root, PostgreSQL runs as the `postgres` user, because it
//! refuses to run as root.

// Test support, used only as a dev-dependency: a fixture that cannot be set
// up fails the test that asked for it, and a panic with the reason is how a
// test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
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

struct Server {
    base_url: String,
    /// Kept, never waited on: it outlives the tests by design.
    _watchdog: Option<std::process::Child>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

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

fn start_server() -> Server {
    if let Ok(url) = std::env::var("ZAITAKU_TEST_POSTGRES_URL") {
        return Server {
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
    Server {
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

/// Declares one async test per backend around a shared body
/// `async fn name(database_url: &str)`: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::sqlite();
                super::$name(&db.url).await;
            }
            #[tokio::test]
            async fn postgres() {
                let url = $crate::postgres().await;
                super::$name(&url).await;
            }
        }
    };
}

/// A headless Chromium driven through chromedriver (Debian's `chromium` and
/// `chromium-driver`), stopped when dropped.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: std::process::Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium runs in chromedriver's process group (see `browser`):
        // killing only the driver left every browser of a test run running.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The phone form of the screens: an iPhone's user agent at 390×844.
pub const PHONE_UA: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";

/// Starts chromedriver on a free port and opens a browser whose viewport is
/// exactly `width`×`height` CSS pixels (390×844 for a phone, 1366×768 for a
/// desktop). `mobile` also gives it a phone's user agent, touch and the
/// mobile viewport rules.
///
/// The size is set by device emulation, not `--window-size`: a headless
/// window is never narrower than 500 px and loses height to the toolbar, so
/// a "phone" window would not be phone-sized.
pub async fn browser(width: u32, height: u32, mobile: bool) -> Browser {
    let port = free_port();
    let mut driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("chromedriver could not start ({e}); run scripts/ensure-packages")
        });
    let profile = tempfile::Builder::new()
        .prefix("zaitaku-chrome-")
        .tempdir()
        .map(tempfile::TempDir::keep)
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-sync".to_owned(),
        "--hide-scrollbars".to_owned(),
        "--lang=ja-JP".to_owned(),
        format!("--window-size={},{}", width.max(500), height + 200),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut emulation = serde_json::json!({
        "deviceMetrics": {
            "width": width,
            "height": height,
            "pixelRatio": 1.0,
            "mobile": mobile,
            "touch": mobile,
        }
    });
    if mobile {
        emulation["userAgent"] = PHONE_UA.into();
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "args": args,
            "binary": "/usr/bin/chromium",
            "mobileEmulation": emulation,
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        match fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps.clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => {
                let _ = driver.kill();
                panic!("chromedriver did not answer: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    Browser { client, driver }
}

/// A Chrome DevTools command sent through chromedriver's
/// `goog/cdp/execute`, for what WebDriver cannot do (a full-page capture).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The whole page as a PNG at the emulated width, not only the part in the
/// viewport (WebDriver's screenshots stop at the viewport's edge).
pub async fn full_page_png(client: &fantoccini::Client) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let metrics = client
        .issue_cmd(Cdp {
            cmd: "Page.getLayoutMetrics",
            params: serde_json::json!({}),
        })
        .await
        .map_err(|e| e.to_string())?;
    let size = &metrics["cssContentSize"];
    let (Some(width), Some(height)) = (size["width"].as_f64(), size["height"].as_f64()) else {
        return Err(format!("no content size in {metrics}"));
    };
    let shot = client
        .issue_cmd(Cdp {
            cmd: "Page.captureScreenshot",
            params: serde_json::json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
            }),
        })
        .await
        .map_err(|e| e.to_string())?;
    let data = shot["data"]
        .as_str()
        .ok_or_else(|| format!("no image in {shot}"))?;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| e.to_string())
}

/// axe-core, as `scripts/ensure-packages` installs it (the same version and
/// folder; `ZAITAKU_AXE_DIR` overrides both).
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = std::env::var("ZAITAKU_AXE_DIR").unwrap_or_else(|_| {
            format!(
                "{}/.cache/zaitaku/axe-4.10.3",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let path = Path::new(&dir).join("node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing at {} ({e}); run scripts/ensure-packages",
                path.display()
            )
        })
    })
}

/// Runs axe-core's WCAG 2.2 A/AA rules on the page as it is now and fails
/// with every violation, so that each screen a browser test photographs is
/// also checked.
pub async fn assert_accessible(client: &fantoccini::Client, name: &str) {
    let script = format!(
        "{}\n;const done = arguments[arguments.length - 1];\n\
         axe.run(document, {{ runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }} }})\n\
           .then(r => done(r.violations.map(v => `${{v.id}} (${{v.impact}}): ${{v.help}} — ${{v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}}`)))\n\
           .catch(e => done(['axe failed: ' + e]));",
        axe_source()
    );
    let found = client
        .execute_async(&script, vec![])
        .await
        .unwrap_or_else(|e| panic!("axe on {name}: {e}"));
    let violations: Vec<String> = serde_json::from_value(found)
        .unwrap_or_else(|e| panic!("axe on {name}: unexpected answer ({e})"));
    assert!(
        violations.is_empty(),
        "{name}: accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// Checks the page with [`assert_accessible`]; with
/// `ZAITAKU_SCREENSHOTS=DIR`, also saves the whole page as `DIR/<name>.png`.
pub async fn shot(client: &fantoccini::Client, name: &str) {
    assert_accessible(client, name).await;
    let Ok(dir) = std::env::var("ZAITAKU_SCREENSHOTS") else {
        return;
    };
    let png = full_page_png(client)
        .await
        .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    std::fs::write(Path::new(&dir).join(format!("{name}.png")), png)
        .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
}

/// A synthetic person with no qualifications or certificates, for tests that
/// only need someone to hold a card.
pub fn person(
    id: i64,
    birth: chrono::NaiveDate,
    insurance_use_registered: bool,
) -> zaitaku_domain::eligibility::Eligibility {
    use zaitaku_domain::person::Person;
    zaitaku_domain::eligibility::Eligibility {
        person: Person {
            id,
            name: "試験 花子".into(),
            name_kana: "シケン\u{3000}ハナコ".into(),
            birth_date: birth,
            sex: zaitaku_domain::codes::Sex::Female,
            postal_code: "1000001".into(),
            address: "東京都みどり市1-1".into(),
            considerate: None,
            insurance_use_registered,
        },
        qualifications: vec![],
        elderly: vec![],
        limits: vec![],
        specific_diseases: vec![],
        subsidies: vec![],
    }
}
