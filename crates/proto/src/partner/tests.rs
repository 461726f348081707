use chrono::NaiveDate;
use zaitaku_domain::consent::ConsentAction;

use super::*;

/// A key from a fixed seed: the tests need no randomness.
fn signer(seed: u8) -> ReturnSigner {
    ReturnSigner::from_seed(&[seed; 32]).unwrap()
}

fn sample<'a>(state: Option<&'a str>) -> PartnerReturn<'a> {
    PartnerReturn {
        return_url: "https://partner.example/visit/9?lang=ja",
        status: ReturnStatus::Completed,
        action: Some(ConsentAction::Register),
        institution_code: "1310100217",
        consultation_date: NaiveDate::from_ymd_opt(2026, 5, 1),
        issued_at: 1_780_000_000,
        state,
    }
}

#[test]
fn the_signed_text_is_the_documented_one() {
    assert_eq!(
        sample(Some("abc-123")).signed_text(),
        "zaitaku-return-v1\nreturn=https://partner.example/visit/9?lang=ja\nstatus=completed\naction=register\ninstitution=1310100217\ndate=2026-05-01\nissued_at=1780000000\nstate=abc-123\n"
    );
}

#[test]
fn a_signed_return_verifies_and_any_change_is_caught() {
    let signer = signer(1);
    let jwks = signer.jwks();
    let r = sample(Some("abc-123"));
    let url = signer.url(&r);
    assert!(url.starts_with("https://partner.example/visit/9?lang=ja&zaitaku_status=completed"));
    let ok = verify_return(&url, r.return_url, &jwks, r.issued_at + 5, 600).unwrap();
    assert_eq!(ok.status, "completed");
    assert_eq!(ok.action, "register");
    assert_eq!(ok.date, "2026-05-01");
    assert_eq!(ok.state, "abc-123");

    for (from, to) in [
        ("zaitaku_date=2026-05-01", "zaitaku_date=2026-05-02"),
        ("zaitaku_status=completed", "zaitaku_status=not_completed"),
        ("zaitaku_state=abc-123", "zaitaku_state=abc-124"),
        (
            "zaitaku_institution=1310100217",
            "zaitaku_institution=1310100225",
        ),
    ] {
        let forged = url.replace(from, to);
        assert_ne!(forged, url);
        assert_eq!(
            verify_return(&forged, r.return_url, &jwks, r.issued_at, 600),
            Err(ReturnVerifyError::BadSignature),
            "{to}"
        );
    }
    // Replayed at another partner page.
    let elsewhere = url.replace("/visit/9", "/visit/10");
    assert!(
        verify_return(
            &elsewhere,
            "https://partner.example/visit/10?lang=ja",
            &jwks,
            r.issued_at,
            600
        )
        .is_err()
    );
    // Too old, or signed by another server.
    assert_eq!(
        verify_return(&url, r.return_url, &jwks, r.issued_at + 601, 600),
        Err(ReturnVerifyError::Stale)
    );
    let other = self::signer(2).jwks();
    assert_eq!(
        verify_return(&url, r.return_url, &other, r.issued_at, 600),
        Err(ReturnVerifyError::UnknownKey)
    );
}

#[test]
fn empty_fields_are_left_out_of_the_url_but_still_signed() {
    let signer = signer(1);
    let mut r = sample(None);
    r.status = ReturnStatus::NotCompleted;
    r.action = None;
    r.consultation_date = None;
    let url = signer.url(&r);
    assert!(!url.contains("zaitaku_state") && !url.contains("zaitaku_action"));
    assert!(verify_return(&url, r.return_url, &signer.jwks(), r.issued_at, 600).is_ok());
    let forged = format!("{url}&zaitaku_action=register");
    assert_eq!(
        verify_return(&forged, r.return_url, &signer.jwks(), r.issued_at, 600),
        Err(ReturnVerifyError::BadSignature)
    );
}

#[test]
fn keys_round_trip_through_pem() {
    let first = signer(3);
    let pem = first.private_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let again = ReturnSigner::from_pem(&pem).unwrap();
    assert_eq!(first.kid(), again.kid());
    // A key read from PEM is not offered for writing out again.
    assert!(again.private_pem().is_none());
    assert!(matches!(
        ReturnSigner::from_pem("not a key").err(),
        Some(KeyError::NotPem)
    ));
    assert!(
        first
            .public_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
}

#[test]
fn keys_published_beside_the_signing_key_verify_old_links() {
    let old = signer(4);
    let new = signer(5);
    let r = sample(Some("s1"));
    let old_link = old.url(&r);

    // After the rotation: the new private key signs, the old public key
    // is still published, so a link signed before still verifies.
    let file = format!("{}{}", new.private_pem().unwrap(), old.public_pem());
    let rotated = ReturnSigner::from_pem(&file).unwrap();
    assert_eq!(rotated.kid(), new.kid());
    let jwks = rotated.jwks();
    let kids: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, [new.kid(), old.kid()]);
    assert!(verify_return(&old_link, r.return_url, &jwks, r.issued_at, 600).is_ok());
    assert!(verify_return(&rotated.url(&r), r.return_url, &jwks, r.issued_at, 600).is_ok());
    // The PEM endpoint offers only the key that signs now.
    assert_eq!(rotated.public_pem(), new.public_pem());

    // A PUBLIC KEY that is not Ed25519 is refused, not ignored.
    let rsa_spki = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
    assert!(matches!(
        ReturnSigner::from_pem(&format!("{}{rsa_spki}", new.private_pem().unwrap())),
        Err(KeyError::NotEd25519Public)
    ));
}

#[test]
fn partner_state_must_be_url_safe() {
    assert!(valid_state("r-9f_2.x~"));
    assert!(!valid_state(""));
    assert!(!valid_state("a&zaitaku_status=completed"));
    assert!(!valid_state(&"a".repeat(129)));
}
