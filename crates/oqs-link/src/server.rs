//! The HTTP side: `POST /oqs/v1/files/{name}` and `GET /oqs/v1/face`, their
//! answers sorted into what the agent does next (docs/reference/oqs.md,
//! "Transport").

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Client, StatusCode, Url};

use crate::names::is_safe_name;

const FILE_NAME: &str = "x-oqs-file-name";
const CURSOR: &str = "x-oqs-cursor";
const ERROR_CODE: &str = "x-oqs-error-code";

/// What became of a request file sent to the server.
pub enum Sent {
    /// 200: the result file, to be written into `res/` under `name`.
    Answer { name: String, body: Vec<u8> },
    /// 422 or 413: the `.err` file's bytes; the server's error code and the
    /// name it gave, for the log.
    Rejected {
        status: u16,
        code: Option<String>,
        name: Option<String>,
        body: Vec<u8>,
    },
    /// 401: the credential was refused.
    Unauthorized,
    /// Anything else (5xx, timeout, refused connection, an answer the
    /// contract does not know): keep the file, try again later.
    Retry(String),
}

/// The next check-in result file.
pub enum Face {
    /// 200: a face file and its cursor.
    File {
        name: String,
        cursor: String,
        body: Vec<u8>,
    },
    /// 204: nothing after the cursor.
    None,
    Unauthorized,
    Retry(String),
}

/// The zaitaku server as the agent sees it.
pub struct Server {
    client: Client,
    base: Url,
    bearer: String,
}

impl Server {
    pub fn new(base: Url, credential: &str, timeout: Duration) -> Result<Server, reqwest::Error> {
        // reqwest's rustls without a provider of its own uses the process's
        // default: aws-lc-rs. Err means one is installed already, which is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = Client::builder()
            .user_agent(concat!("zaitaku-oqs-link/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            // A redirect would turn the POST into a GET or send the
            // credential elsewhere: it is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Server {
            client,
            base,
            bearer: format!("Bearer {credential}"),
        })
    }

    /// `{base}/oqs/v1/{segments…}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["oqs", "v1"]).extend(segments);
        }
        url
    }

    /// `POST /oqs/v1/files/{name}` with the request file's bytes.
    pub async fn send(&self, name: &str, bytes: Vec<u8>) -> Sent {
        let response = self
            .client
            .post(self.url(&["files", name]))
            .header(AUTHORIZATION, &self.bearer)
            .header(CONTENT_TYPE, "application/xml")
            .body(bytes)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Sent::Retry(describe(&e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match status {
            StatusCode::OK => {
                let Some(name) = header_name(&headers) else {
                    return Sent::Retry(
                        "200 without a usable X-Oqs-File-Name / 結果のファイル名がありません"
                            .into(),
                    );
                };
                match response.bytes().await {
                    Ok(body) => Sent::Answer {
                        name,
                        body: body.to_vec(),
                    },
                    Err(e) => Sent::Retry(describe(&e)),
                }
            }
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE => {
                match response.bytes().await {
                    Ok(body) => Sent::Rejected {
                        status: status.as_u16(),
                        code: header_text(&headers, ERROR_CODE),
                        name: header_text(&headers, FILE_NAME),
                        body: body.to_vec(),
                    },
                    Err(e) => Sent::Retry(describe(&e)),
                }
            }
            StatusCode::UNAUTHORIZED => Sent::Unauthorized,
            other => Sent::Retry(format!("HTTP {other}")),
        }
    }

    /// `GET /oqs/v1/face?after={cursor}`.
    pub async fn face(&self, after: &str) -> Face {
        let mut url = self.url(&["face"]);
        url.query_pairs_mut().append_pair("after", after);
        let response = match self
            .client
            .get(url)
            .header(AUTHORIZATION, &self.bearer)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Face::Retry(describe(&e)),
        };
        let headers = response.headers().clone();
        match response.status() {
            StatusCode::OK => {
                let Some(name) = header_name(&headers) else {
                    return Face::Retry(
                        "200 without a usable X-Oqs-File-Name / ファイル名がありません".into(),
                    );
                };
                let cursor = match header_text(&headers, CURSOR) {
                    Some(c) if !c.is_empty() && c.len() <= 256 => c,
                    _ => {
                        return Face::Retry(
                            "200 without a usable X-Oqs-Cursor / カーソルがありません".into(),
                        );
                    }
                };
                match response.bytes().await {
                    Ok(body) => Face::File {
                        name,
                        cursor,
                        body: body.to_vec(),
                    },
                    Err(e) => Face::Retry(describe(&e)),
                }
            }
            StatusCode::NO_CONTENT => Face::None,
            StatusCode::UNAUTHORIZED => Face::Unauthorized,
            other => Face::Retry(format!("HTTP {other}")),
        }
    }
}

/// A header's value as UTF-8 text.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?;
    String::from_utf8(value.as_bytes().to_vec()).ok()
}

/// `X-Oqs-File-Name` when it is a plain file name (never a path).
fn header_name(headers: &HeaderMap) -> Option<String> {
    header_text(headers, FILE_NAME).filter(|n| is_safe_name(n))
}

fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out / 時間切れ"
    } else if e.is_connect() {
        "cannot connect / 接続できません"
    } else {
        "transfer failed / 通信に失敗"
    };
    // The error's own text names the URL, never the credential.
    format!("{what}: {e}")
}
