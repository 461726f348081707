//! PKCE with the S256 method (RFC 7636), as the hand-off between zaitaku and
//! the authenticator uses it: the service keeps a random `code_verifier`,
//! sends `code_challenge = BASE64URL(SHA-256(ASCII(code_verifier)))` with
//! `code_challenge_method=S256` when it asks for an authentication, and
//! proves with the verifier that it is the one that asked when it exchanges
//! the code (docs/auth-handoff.md).

use aws_lc_rs::digest::{SHA256, digest};

use crate::base64url;

/// The only `code_challenge_method` zaitaku accepts.
pub const METHOD: &str = "S256";

/// `BASE64URL(SHA-256(verifier))`, the S256 code challenge (43 characters).
pub fn challenge(verifier: &str) -> String {
    base64url::encode(digest(&SHA256, verifier.as_bytes()).as_ref())
}

/// Whether `verifier` has a length RFC 7636 §4.1 allows: 43 to 128
/// characters.
pub fn verifier_length_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
}

/// Whether `verifier` answers `challenge` under S256.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    self::challenge(verifier) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B: the example verifier, its octets and challenge.
    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            base64url::decode(verifier),
            Some(vec![
                116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22,
                212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121
            ])
        );
        let challenge = challenge(verifier);
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verifies(verifier, &challenge));
        assert!(!verifies(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            &challenge
        ));
    }

    #[test]
    fn verifier_lengths() {
        assert!(!verifier_length_ok(&"a".repeat(42)));
        assert!(verifier_length_ok(&"a".repeat(43)));
        assert!(verifier_length_ok(&"a".repeat(128)));
        assert!(!verifier_length_ok(&"a".repeat(129)));
    }
}
