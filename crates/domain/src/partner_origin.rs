//! オンライン診療サービスの戻り先: the origins of the online-care partners an
//! institution lets send patients to its web service with a way back
//! (`?mode=online&return=URL`, seed 003).
//!
//! Without this list `return=` would send the browser anywhere, with a
//! signature of ours appended: an open redirect. An origin is written exactly
//! as a browser serialises it:
//!
//! - the scheme `https://`; `http://` only for a loopback host (`localhost`,
//!   `127.0.0.0/8`, `[::1]`), so that a partner on the same machine can be
//!   tried out;
//! - the host: an IPv4 address in dotted-decimal form, an IPv6 address in
//!   brackets, or a name of labels of `a–z 0–9 -` (1–63 characters, no `-`
//!   at either end; internationalised names in their `xn--` form) separated
//!   by single dots;
//! - optionally `:port` (1–65535);
//! - nothing else: no path (a single trailing `/` is dropped), query,
//!   fragment or `user@`.
//!
//! Scheme and host are lower-cased and the scheme's default port (443, 80)
//! dropped, so `HTTPS://Partner.Example:443/` and `https://partner.example`
//! are one origin. A host whose last label is a number must be a canonical
//! dotted-decimal IPv4 address: browsers read `https://1.2.3` or
//! `https://0x7f.1` as some other address, and the list must mean what the
//! browser will do.
//!
//! [`return_origin`] reads the origin of a `return=` URL by the same rules,
//! from the scheme up to the first `/`, `?` or `#`, so a look-alike such as
//! `https://partner.example.evil/`, `https://partner.example@evil/` or
//! `https://evil/partner.example` yields another origin or none.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// At most this many origins per institution: a handful of partners is
/// expected, and a short list is one an administrator can still review.
pub const MAX_ORIGINS: usize = 10;

/// Longest origin line accepted: `https://` + a 253-character host + `:65535`
/// fits with room to spare.
pub const MAX_ORIGIN_CHARS: usize = 300;

/// Longest `return=` URL kept (docs/auth-handoff.md).
pub const MAX_RETURN_CHARS: usize = 512;

const FIELD: &str = "オンライン診療サービスの戻り先";

/// A registered partner origin, normalised (`https://host[:port]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartnerOrigin(String);

/// What is wrong with an origin, before it is worded for the administrator
/// or recorded for a return URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Not `https`, or `http` with a host that is not loopback.
    Scheme,
    /// Userinfo (`@`) in the authority.
    Userinfo,
    /// A path, query or fragment, or a host or port that is not well formed.
    Form,
}

impl PartnerOrigin {
    /// Parses an origin as an administrator enters it (surrounding spaces
    /// are ignored).
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValidationError::Required { field: FIELD });
        }
        if s.chars().count() > MAX_ORIGIN_CHARS {
            return Err(ValidationError::TooLong {
                field: FIELD,
                max: MAX_ORIGIN_CHARS,
            });
        }
        if !s.chars().all(|c| c.is_ascii_graphic()) || s.contains('\\') {
            return Err(ValidationError::Characters {
                field: FIELD,
                allowed: "半角英数字と「:/.-[]」で入力してください（日本語のドメイン名は xn-- で始まる形に変換して入力してください）。",
            });
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| ValidationError::PartnerOriginForm(s.to_owned()))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(ValidationError::PartnerOriginForm(s.to_owned()));
        }
        origin(scheme, authority).map_err(|flaw| match flaw {
            Flaw::Scheme => ValidationError::PartnerOriginScheme(s.to_owned()),
            Flaw::Userinfo | Flaw::Form => ValidationError::PartnerOriginForm(s.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks and normalises `scheme` and `authority` (`host[:port]`).
fn origin(scheme: &str, authority: &str) -> std::result::Result<PartnerOrigin, Flaw> {
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(Flaw::Scheme),
    };
    if authority.contains('@') {
        return Err(Flaw::Userinfo);
    }
    let (host, port) = split_port(authority)?;
    let host = host_of(host)?;
    if scheme == "http" && !host.loopback {
        return Err(Flaw::Scheme);
    }
    Ok(PartnerOrigin(match port {
        Some(p) if p != default_port => format!("{scheme}://{}:{p}", host.text),
        _ => format!("{scheme}://{}", host.text),
    }))
}

/// `host` and the port number after it, if any.
fn split_port(authority: &str) -> std::result::Result<(&str, Option<u16>), Flaw> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or(Flaw::Form)?;
        let (host, after) = authority.split_at(end + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or(Flaw::Form)?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => {
            // A browser accepts leading zeros; at most five digits keeps the
            // number within u32 before the range check.
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Flaw::Form);
            }
            let n: u32 = p.parse().map_err(|_| Flaw::Form)?;
            Some(
                u16::try_from(n)
                    .ok()
                    .filter(|n| *n != 0)
                    .ok_or(Flaw::Form)?,
            )
        }
    };
    Ok((host, port))
}

struct Host {
    text: String,
    loopback: bool,
}

fn host_of(host: &str) -> std::result::Result<Host, Flaw> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(Flaw::Form)?;
        let ip: Ipv6Addr = inner.parse().map_err(|_| Flaw::Form)?;
        return Ok(Host {
            text: format!("[{ip}]"),
            loopback: ip.is_loopback(),
        });
    }
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 {
        return Err(Flaw::Form);
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !labels.iter().all(label_ok) {
        return Err(Flaw::Form);
    }
    let last = labels.last().copied().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        // Rust's parser takes only the canonical form (four parts, no
        // leading zeros), the one form a browser leaves as written.
        let ip: Ipv4Addr = host.parse().map_err(|_| Flaw::Form)?;
        return Ok(Host {
            text: ip.to_string(),
            loopback: ip.is_loopback(),
        });
    }
    Ok(Host {
        loopback: host == "localhost",
        text: host,
    })
}

impl fmt::Display for PartnerOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PartnerOrigin {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<PartnerOrigin> for String {
    fn from(o: PartnerOrigin) -> Self {
        o.0
    }
}

/// One refused line of the administrator's list (1-based), or the list as a
/// whole (`line: None`, too many origins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError {
    pub line: Option<usize>,
    pub error: ValidationError,
}

/// Parses the list an administrator enters, one origin per line. Blank lines
/// are skipped and an origin entered twice is kept once, in the order first
/// given. Every refused line is reported, then the count.
pub fn parse_list(text: &str) -> std::result::Result<Vec<PartnerOrigin>, Vec<ListError>> {
    let mut origins: Vec<PartnerOrigin> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match PartnerOrigin::parse(line) {
            Ok(o) if origins.contains(&o) => {}
            Ok(o) => origins.push(o),
            Err(error) => errors.push(ListError {
                line: Some(i + 1),
                error,
            }),
        }
    }
    if origins.len() + errors.len() > MAX_ORIGINS {
        errors.push(ListError {
            line: None,
            error: ValidationError::TooManyPartnerOrigins { max: MAX_ORIGINS },
        });
    }
    if errors.is_empty() {
        Ok(origins)
    } else {
        Err(errors)
    }
}

/// Why a `return=` URL is not kept. Recorded in the audit log; the patient
/// is not told (docs/auth-handoff.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnRefusal {
    /// Longer than [`MAX_RETURN_CHARS`].
    TooLong,
    /// A space, control character, backslash, `"`, `<`, `>` or `#` — each of
    /// which a browser would read differently from what is signed, or which
    /// would hide the parameters appended on the way back.
    Characters,
    /// `user@` before the host.
    Userinfo,
    /// Not `scheme://host[:port]` followed by a path, query or nothing.
    Malformed,
    /// A well-formed origin the institution has not registered.
    NotRegistered(PartnerOrigin),
}

impl ReturnRefusal {
    /// Stable name for the audit record.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::Characters => "characters",
            Self::Userinfo => "userinfo",
            Self::Malformed => "malformed",
            Self::NotRegistered(_) => "not_registered",
        }
    }
}

/// The origin of a `return=` URL when it is one of `registered`.
pub fn return_origin(
    url: &str,
    registered: &[PartnerOrigin],
) -> std::result::Result<PartnerOrigin, ReturnRefusal> {
    if url.chars().count() > MAX_RETURN_CHARS {
        return Err(ReturnRefusal::TooLong);
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\\' | '"' | '<' | '>' | '#'))
    {
        return Err(ReturnRefusal::Characters);
    }
    let (scheme, rest) = url.split_once("://").ok_or(ReturnRefusal::Malformed)?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let origin = origin(scheme, authority).map_err(|flaw| match flaw {
        Flaw::Userinfo => ReturnRefusal::Userinfo,
        Flaw::Scheme | Flaw::Form => ReturnRefusal::Malformed,
    })?;
    if registered.contains(&origin) {
        Ok(origin)
    } else {
        Err(ReturnRefusal::NotRegistered(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        PartnerOrigin::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .0
    }

    fn code(s: &str) -> &'static str {
        PartnerOrigin::parse(s).unwrap_err().code()
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(ok("https://partner.example"), "https://partner.example");
        assert_eq!(
            ok("  HTTPS://Partner.Example/  "),
            "https://partner.example"
        );
        assert_eq!(ok("https://partner.example:443"), "https://partner.example");
        assert_eq!(
            ok("https://partner.example:8443"),
            "https://partner.example:8443"
        );
        assert_eq!(
            ok("https://partner.example:08443"),
            "https://partner.example:8443"
        );
        assert_eq!(
            ok("https://xn--eckwd4c7c.xn--zckzah"),
            "https://xn--eckwd4c7c.xn--zckzah"
        );
        assert_eq!(ok("https://203.0.113.7"), "https://203.0.113.7");
        assert_eq!(
            ok("https://[2001:DB8:0::1]:8443"),
            "https://[2001:db8::1]:8443"
        );
        assert_eq!(
            ok("https://app-1.partner.example"),
            "https://app-1.partner.example"
        );
    }

    #[test]
    fn http_only_on_loopback() {
        assert_eq!(ok("http://127.0.0.1:9999"), "http://127.0.0.1:9999");
        assert_eq!(ok("http://127.8.9.10"), "http://127.8.9.10");
        assert_eq!(ok("http://LOCALHOST:3000/"), "http://localhost:3000");
        assert_eq!(ok("http://localhost:80"), "http://localhost");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(code("http://partner.example"), "Z-V-0022");
        assert_eq!(code("http://192.0.2.1"), "Z-V-0022");
        assert_eq!(code("http://localhost.partner.example"), "Z-V-0022");
        assert_eq!(code("http://[::ffff:127.0.0.1]"), "Z-V-0022");
        assert_eq!(code("ftp://partner.example"), "Z-V-0022");
        assert_eq!(code("javascript://partner.example"), "Z-V-0022");
    }

    #[test]
    fn only_an_origin() {
        for s in [
            "partner.example",
            "https:partner.example",
            "https:/partner.example",
            "https:///partner.example",
            "https://partner.example/visit",
            "https://partner.example//",
            "https://partner.example?x=1",
            "https://partner.example/?x=1",
            "https://partner.example#top",
            "https://user@partner.example",
            "https://partner.example@evil.example",
            "https://partner.example:",
            "https://partner.example:0",
            "https://partner.example:65536",
            "https://partner.example:443443",
            "https://partner.example:+443",
            "https://partner.example:80:80",
            "https://partner..example",
            "https://partner.example.",
            "https://.partner.example",
            "https://-partner.example",
            "https://partner-.example",
            "https://part_ner.example",
            "https://part%6eer.example",
            "https://",
            "https://[::1",
            "https://[::1]x",
            "https://[fe80::1%25eth0]",
            "https://1.2.3",
            "https://0x7f.0.0.1",
            "https://127.0.0.01",
            "https://example.0x10",
            "https://256.0.0.1",
            &format!("https://{}.example", "a".repeat(64)),
        ] {
            assert_eq!(code(s), "Z-V-0023", "{s}");
        }
        assert_eq!(
            ok("https://example.1x"),
            "https://example.1x",
            "not a number"
        );
    }

    #[test]
    fn characters_and_length() {
        assert_eq!(code(""), "Z-V-0001");
        assert_eq!(code("   "), "Z-V-0001");
        assert_eq!(code("https://パートナー.example"), "Z-V-0008");
        assert_eq!(code("https://partner .example"), "Z-V-0008");
        assert_eq!(code("https://partner.example\\@evil"), "Z-V-0008");
        assert_eq!(code("https://partner\u{7f}.example"), "Z-V-0008");
        let long = format!("https://{}.example", "a.".repeat(150));
        assert_eq!(code(&long), "Z-V-0007");
        let e = PartnerOrigin::parse("http://partner.example").unwrap_err();
        assert_eq!(
            e.to_string(),
            "オンライン診療サービスの戻り先「http://partner.example」は https:// で始めてください（http:// は 127.0.0.1・localhost など、同じ端末の中で試すときだけ使えます）。"
        );
    }

    #[test]
    fn lists() {
        let list = parse_list(
            "https://partner.example\n\n  https://Partner.Example/ \r\nhttp://127.0.0.1:9000\n",
        )
        .unwrap();
        assert_eq!(
            list.iter().map(PartnerOrigin::as_str).collect::<Vec<_>>(),
            ["https://partner.example", "http://127.0.0.1:9000"]
        );
        assert_eq!(parse_list("").unwrap(), []);
        assert_eq!(parse_list(" \n \n").unwrap(), []);

        let errors =
            parse_list("https://ok.example\nhttp://a.example\nhttps://b.example/x").unwrap_err();
        assert_eq!(
            errors
                .iter()
                .map(|e| (e.line, e.error.code()))
                .collect::<Vec<_>>(),
            [(Some(2), "Z-V-0022"), (Some(3), "Z-V-0023")]
        );

        let ten: String = (0..10).map(|i| format!("https://p{i}.example\n")).collect();
        assert_eq!(parse_list(&ten).unwrap().len(), MAX_ORIGINS);
        let eleven = format!("{ten}https://p10.example");
        let errors = parse_list(&eleven).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, None);
        assert_eq!(errors[0].error.code(), "Z-V-0024");
        // Repeats do not count towards the limit.
        assert!(parse_list(&format!("{ten}https://p0.example")).is_ok());
    }

    #[test]
    fn serde_keeps_the_normal_form() {
        let o: PartnerOrigin = serde_json::from_str("\"HTTPS://P.Example\"").unwrap();
        assert_eq!(serde_json::to_string(&o).unwrap(), "\"https://p.example\"");
        assert!(serde_json::from_str::<PartnerOrigin>("\"https://p.example/x\"").is_err());
    }

    fn registered() -> Vec<PartnerOrigin> {
        ["https://partner.example", "http://127.0.0.1:9000"]
            .into_iter()
            .map(|s| PartnerOrigin::parse(s).unwrap())
            .collect()
    }

    fn refusal(url: &str) -> ReturnRefusal {
        return_origin(url, &registered()).unwrap_err()
    }

    #[test]
    fn return_urls_of_registered_origins() {
        for url in [
            "https://partner.example",
            "https://partner.example/",
            "https://partner.example/visit/9?lang=ja",
            "https://partner.example?lang=ja",
            "https://PARTNER.example:443/visit/9",
            "HTTPS://partner.example/visit/@9",
            "https://partner.example/visit?mail=a@b.example",
            "http://127.0.0.1:9000/visit/7001",
            "https://partner.example/%E8%A8%BA%E5%AF%9F",
            "https://partner.example/診察",
        ] {
            assert_eq!(
                return_origin(url, &registered()).map(|o| o.0),
                Ok(registered()[usize::from(url.starts_with("http:"))]
                    .0
                    .clone()),
                "{url}"
            );
        }
    }

    #[test]
    fn look_alikes_and_others_are_refused() {
        let not_registered = |url: &str, origin: &str| {
            assert_eq!(
                refusal(url),
                ReturnRefusal::NotRegistered(PartnerOrigin(origin.into())),
                "{url}"
            );
        };
        not_registered(
            "https://partner.example.evil/visit",
            "https://partner.example.evil",
        );
        not_registered("https://evil/partner.example", "https://evil");
        not_registered("https://evil?partner.example", "https://evil");
        not_registered(
            "https://partner.example:8443/",
            "https://partner.example:8443",
        );
        not_registered("http://127.0.0.1:9001/", "http://127.0.0.1:9001");
        not_registered("http://localhost:9000/", "http://localhost:9000");
        not_registered(
            "https://sub.partner.example/",
            "https://sub.partner.example",
        );
        assert_eq!(
            refusal("https://partner.example@evil/"),
            ReturnRefusal::Userinfo
        );
        assert_eq!(
            refusal("https://partner.example@evil"),
            ReturnRefusal::Userinfo
        );
        assert_eq!(
            refusal("https://a:b@partner.example/"),
            ReturnRefusal::Userinfo
        );
        for url in [
            "https://partner.example\\@evil/",
            "https://evil\\partner.example",
            "https://partner.example/#x",
            "https://partner.example /",
            "https://partner.example\t/",
            "https://partner.example\n/",
            "https://partner.example/\u{3000}",
            "https://partner.example/\"><script>",
        ] {
            assert_eq!(refusal(url), ReturnRefusal::Characters, "{url:?}");
        }
        for url in [
            "//partner.example/",
            "/w/partner",
            "partner.example/",
            "https:partner.example/",
            "https:/partner.example/",
            "https:///partner.example",
            "javascript://partner.example/%0aalert(1)",
            "data://partner.example",
            "http://partner.example/",
            "https://partner.example./",
            "https://part%6eer.example/",
            "https://partner.example:/",
            "https://0x7f.0.0.1/",
            "https://[::1/",
            "",
        ] {
            assert_eq!(refusal(url), ReturnRefusal::Malformed, "{url:?}");
        }
        let long = format!("https://partner.example/{}", "a".repeat(490));
        assert_eq!(refusal(&long), ReturnRefusal::TooLong);
        assert!(return_origin(&long[..512], &registered()).is_ok());
        assert_eq!(
            return_origin("https://partner.example/", &[]),
            Err(ReturnRefusal::NotRegistered(PartnerOrigin(
                "https://partner.example".into()
            )))
        );
    }
}
