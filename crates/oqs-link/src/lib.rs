//! The folder agent (`zaitaku oqs-link`): the stand-in for the 連携アプリ on
//! a clinic's 資格確認端末. The receipt computer writes request files into
//! `<folder>/req/`; the agent sends each to the zaitaku server over HTTP and
//! writes the answer into `<folder>/res/`, and fetches new card check-in
//! results into `<folder>/face/`. It is only an HTTP client of the server's
//! endpoints (docs/reference/oqs.md, "Transport"; the agent itself is
//! described there under "The folder agent").
//!
//! * [`names`] — which files are requests; the `.err` and temporary names;
//!   which names from the server may be written;
//! * [`files`] — temporary file, flush, rename: never half a file;
//! * [`journal`] — `<folder>/.oqs-link/`: where each request stands and the
//!   face cursor, so a stop never loses or repeats a file;
//! * [`server`] — the two endpoints and what their answers mean;
//! * [`agent`] — recovery, the stability check, the exchange, the loop.

pub mod agent;
pub mod files;
pub mod journal;
pub mod names;
pub mod server;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use agent::{Blocked, run, run_once};
pub use reqwest::Url;

/// What the agent needs to know.
#[derive(Clone)]
pub struct Config {
    /// The server's base URL, e.g. `https://zaitaku.example.jp`.
    pub server: Url,
    /// The exchange folder holding `req/`, `res/` and `face/`.
    pub folder: PathBuf,
    /// The link credential (`zoqs_…`), sent as `Authorization: Bearer`.
    pub credential: String,
    /// How often `req/` is looked at and new face files asked for.
    pub interval: Duration,
    /// How long a request file's size and time must stay unchanged before
    /// it is sent (it may still be being written).
    pub settle: Duration,
    /// The longest wait between tries while the server is unreachable or
    /// refuses the credential.
    pub max_backoff: Duration,
    /// How long one HTTP exchange may take.
    pub timeout: Duration,
}

impl Config {
    /// A configuration with the usual timings: a look every 500 ms, files
    /// unchanged for 300 ms, back-off up to 30 s, 120 s per exchange (a bulk
    /// upload of 100,000 persons is about 43 MB).
    pub fn new(server: &str, folder: PathBuf, credential: String) -> Result<Config, Error> {
        let url = Url::parse(server).map_err(|e| Error::Url(server.to_owned(), e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::Url(
                server.to_owned(),
                "http:// または https:// のURLにしてください / use an http:// or https:// URL"
                    .into(),
            ));
        }
        Ok(Config {
            server: url,
            folder,
            credential,
            interval: Duration::from_millis(500),
            settle: Duration::from_millis(300),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(120),
        })
    }
}

/// Never prints the credential.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server.as_str())
            .field("folder", &self.folder)
            .field("credential", &"<redacted>")
            .field("interval", &self.interval)
            .field("settle", &self.settle)
            .field("max_backoff", &self.max_backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What one `--once` round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Requests answered (result written into `res/`).
    pub answered: usize,
    /// Requests rejected (moved into `res/` beside their `.err` file).
    pub rejected: usize,
    /// Face files written into `face/`.
    pub faces: usize,
    /// Request files still in `req/` at the end.
    pub waiting: usize,
    /// Why the round stopped early, if it did.
    pub blocked: Option<Blocked>,
}

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("サーバのURL {0} が正しくありません / invalid server URL: {1}")]
    Url(String, String),
    #[error("フォルダ {} を使えません / cannot use the folder: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ジャーナル {} を読み書きできません / cannot use the journal: {source}", path.display())]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("HTTPクライアントを作れません / cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}
