//! File names: which files in `req/` are requests, the `.err` name of a
//! rejected request, and which names from the server may be written.

/// The prefixes of request files (OQS: 資格確認 and its bulk flows; YZK:
/// 薬剤情報; TKK: 特定健診情報). Case-sensitive, as the 連携アプリ's are.
const PREFIXES: [&str; 3] = ["OQS", "YZK", "TKK"];

/// Whether `name` is a request file name the agent sends:
/// `^(OQS|YZK|TKK)[A-Za-z0-9]+req_[^/\\]+\.xml$`.
///
/// Temporary names such as `.OQSsiquc01req_X.xml.part` or
/// `OQSsiquc01req_X.xml.tmp` do not match.
pub fn is_request_name(name: &str) -> bool {
    let Some(rest) = PREFIXES.iter().find_map(|p| name.strip_prefix(p)) else {
        return false;
    };
    let Some(stem) = rest.strip_suffix(".xml") else {
        return false;
    };
    // `[A-Za-z0-9]+req_`: `_` is not alphanumeric, so the alphanumeric run
    // must end exactly at the `_` of `req_`, with at least one character
    // before `req`.
    let run = stem.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if run < 4 || !stem[..run].ends_with("req") || stem.as_bytes().get(run) != Some(&b'_') {
        return false;
    }
    let suffix = &stem[run + 1..];
    !suffix.is_empty() && !suffix.contains(['/', '\\'])
}

/// The `.err` file of a rejected request: the request's base name (without
/// `.xml`) with `.err`, beside which the request itself is moved into `res/`.
pub fn err_name(request: &str) -> String {
    let base = request.strip_suffix(".xml").unwrap_or(request);
    format!("{base}.err")
}

/// Whether a name the server gave (`X-Oqs-File-Name`) may be used as a file
/// name in `res/` or `face/`: one plain component of at most 255 bytes, not
/// hidden (hidden names are the agent's own temporary files), with no path
/// separator, no control character and nothing Windows forbids in a name.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.ends_with(['.', ' '])
        && !name.chars().any(|c| {
            c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        })
}

/// The temporary name an output is written under before its rename:
/// `.<name>.part`, hidden and never a request name.
pub fn temp_name(name: &str) -> String {
    format!(".{name}.part")
}

/// Whether `name` is one of the agent's temporary names.
pub fn is_temp_name(name: &str) -> bool {
    name.len() > ".part".len() + 1 && name.starts_with('.') && name.ends_with(".part")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_names_follow_the_pattern() {
        for ok in [
            "OQSsiquc01req_X.xml",
            "OQSmuquc01req_202609290001.xml",
            "OQSmuquc02req_202609290001.xml",
            "YZKsiquc01req_20260929.xml",
            "TKKsiquc01req_a.b.xml",
            "OQSsiimm01req_2021081611906.xml",
            "OQSsiquc01req_受付 1.xml",
            "OQSxreq_.xml.xml",
        ] {
            assert!(is_request_name(ok), "{ok}");
        }
        for no in [
            "OQSsiquc01res_X.xml",
            "oqssiquc01req_X.xml",
            "OQSsiquc01req_X.XML",
            "OQSsiquc01req_.xml",
            "OQSreq_X.xml",
            "OQS-siquc01req_X.xml",
            "ABCsiquc01req_X.xml",
            ".OQSsiquc01req_X.xml.part",
            "OQSsiquc01req_X.xml.tmp",
            "OQSsiquc01req_X.xml~",
            "OQSsiquc01req_a\\b.xml",
            "OQSsiquc01req_X.err",
            "OQSsiquc01_req_X.xml",
            "",
        ] {
            assert!(!is_request_name(no), "{no}");
        }
    }

    #[test]
    fn temp_names_are_never_request_or_safe_names() {
        let t = temp_name("OQSsiquc01req_X.xml");
        assert_eq!(t, ".OQSsiquc01req_X.xml.part");
        assert!(is_temp_name(&t));
        assert!(!is_request_name(&t));
        assert!(!is_safe_name(&t));
        assert!(!is_temp_name(".part"));
        assert!(!is_temp_name("OQSsiquc01res_X.xml"));
    }

    #[test]
    fn err_name_keeps_the_base_name() {
        assert_eq!(err_name("OQSsiquc01req_B.xml"), "OQSsiquc01req_B.err");
    }

    #[test]
    fn only_plain_names_from_the_server_are_written() {
        assert!(is_safe_name("OQSsiquc01res_X.xml"));
        assert!(is_safe_name("OQSsiquc01res_face_20260101.xml"));
        assert!(is_safe_name("YZKsiquc01res_X.pdf"));
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "x.", "a:b", "a\nb", "a\0b",
        ] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
        assert!(!is_safe_name(&"a".repeat(256)));
    }
}
