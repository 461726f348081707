//! base64url without padding (RFC 4648 §5, the alphabet `A–Z a–z 0–9 - _`,
//! no `=`), as PKCE, JWK members, signatures in URLs and zaitaku's random
//! tokens carry bytes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The bytes as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of base64url text without padding; `None` if it is not that
/// (wrong alphabet, padding, a length no encoding has, non-zero trailing
/// bits).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_vectors_without_padding() {
        // RFC 4648 §10, less the padding.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn the_url_safe_alphabet_and_nothing_else() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
        // The standard alphabet, padding and impossible lengths are refused.
        assert_eq!(decode("+/8"), None);
        assert_eq!(decode("Zg=="), None);
        assert_eq!(decode("Z"), None);
    }
}
