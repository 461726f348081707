//! A minimal HTTP/1.1 client for the timed phase: one keep-alive connection,
//! one request at a time, `Content-Length` bodies only (what `zaitaku serve`
//! sends). reqwest took about a tenth of the machine's CPU at the target rate,
//! CPU the server then did not have.

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Headers a response may carry before it is refused as malformed.
const MAX_HEADERS: usize = 32;

pub struct Connection {
    stream: TcpStream,
    port: u16,
    buf: Vec<u8>,
    request: Vec<u8>,
}

pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Connection {
    pub async fn open(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            port,
            buf: Vec::with_capacity(16 * 1024),
            request: Vec::with_capacity(1024),
        })
    }

    pub async fn get(&mut self, path: &str, cookie: &str, user_agent: &str) -> Result<Response> {
        self.request.clear();
        self.request.extend_from_slice(b"GET ");
        self.request.extend_from_slice(path.as_bytes());
        self.request
            .extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1:");
        self.request
            .extend_from_slice(self.port.to_string().as_bytes());
        self.request.extend_from_slice(b"\r\nUser-Agent: ");
        self.request.extend_from_slice(user_agent.as_bytes());
        self.request.extend_from_slice(b"\r\nCookie: ");
        self.request.extend_from_slice(cookie.as_bytes());
        self.request.extend_from_slice(b"\r\n\r\n");
        self.stream.write_all(&self.request).await?;
        self.read_response().await
    }

    /// A POST of `body` with a bearer credential (the receipt-computer
    /// interface).
    pub async fn post(&mut self, path: &str, bearer: &str, body: &[u8]) -> Result<Response> {
        self.request.clear();
        self.request.extend_from_slice(b"POST ");
        self.request.extend_from_slice(path.as_bytes());
        self.request
            .extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1:");
        self.request
            .extend_from_slice(self.port.to_string().as_bytes());
        self.request
            .extend_from_slice(b"\r\nAuthorization: Bearer ");
        self.request.extend_from_slice(bearer.as_bytes());
        self.request
            .extend_from_slice(b"\r\nContent-Type: application/xml\r\nContent-Length: ");
        self.request
            .extend_from_slice(body.len().to_string().as_bytes());
        self.request.extend_from_slice(b"\r\n\r\n");
        self.request.extend_from_slice(body);
        self.stream.write_all(&self.request).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> Result<Response> {
        self.buf.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = parsed.parse(&self.buf)? {
                let status = parsed.code.ok_or_else(|| anyhow!("no status"))?;
                let mut length = 0usize;
                let mut location = None;
                for h in parsed.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(h.value)?.trim().parse()?;
                    } else if h.name.eq_ignore_ascii_case("location") {
                        location = Some(String::from_utf8(h.value.to_vec())?);
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        bail!("chunked responses are not supported by this client");
                    }
                }
                while self.buf.len() < head + length {
                    self.fill().await?;
                }
                let body = self.buf[head..head + length].to_vec();
                if self.buf.len() > head + length {
                    bail!("the server sent more than one response");
                }
                return Ok(Response {
                    status,
                    location,
                    body,
                });
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}
