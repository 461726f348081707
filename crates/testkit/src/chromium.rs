//! A headless Chromium for end-to-end tests: started through chromedriver at
//! a phone's or a desktop's size, full-page screenshots, and axe-core's
//! accessibility check on every screen a test photographs.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::free_port;

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

/// WebDriver's virtual authenticator extension (`POST
/// /session/{id}/webauthn/authenticator`), which chromedriver implements.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Gives the browser a platform authenticator that verifies its user (a
/// stand-in for Face ID, Touch ID or Windows Hello) for passkey tests.
pub async fn add_virtual_authenticator(client: &fantoccini::Client) {
    client
        .issue_cmd(AddVirtualAuthenticator)
        .await
        .unwrap_or_else(|e| panic!("virtual authenticator: {e}"));
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
