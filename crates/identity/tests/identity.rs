//! Card identity end to end at the service level, on SQLite and PostgreSQL:
//! issue, unlock under the PIN rules, sign, verify down to a person.

// The whole file is test code, so clippy.toml's allow-*-in-tests covers its
// helper functions too (rust-clippy#11119).
#![cfg(test)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_identity::{
    AttemptError, CardKind, CardSecret, CertificateStatus, Identity, IssueCard, LoginError,
};
use zaitaku_storage::{PersonRecords, Store};
use zaitaku_testkit::on_both;

const ORIGIN: &str = "http://127.0.0.1:8080";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn person(id: i64, birth: NaiveDate, registered: bool) -> Eligibility {
    zaitaku_testkit::person(id, birth, registered)
}

/// Person 1 born 1960-01-10 (registered), person 2 not registered.
async fn setup(url: &str) -> Identity {
    let store = Store::open(url).await.unwrap();
    let people = [
        person(1, NaiveDate::from_ymd_opt(1960, 1, 10).unwrap(), true),
        person(2, NaiveDate::from_ymd_opt(1970, 6, 1).unwrap(), false),
    ];
    let records: Vec<_> = people.iter().map(PersonRecords::eligibility_only).collect();
    store.insert_persons(&records).await.unwrap();
    let identity = Identity::new(store).await.unwrap();
    identity.ensure_authorities(now()).await.unwrap();
    identity
}

async fn issue(
    identity: &Identity,
    person_id: i64,
    kind: CardKind,
    issued_on: NaiveDate,
    authority: Option<i64>,
) -> i64 {
    let pin = match kind {
        CardKind::IPhone => None,
        _ => Some("1234".to_owned()),
    };
    identity
        .issue_card(
            &IssueCard {
                person_id,
                kind,
                pin,
                issued_on,
                authority_id: authority,
                in_demo_wallet: true,
            },
            now(),
        )
        .await
        .unwrap()
        .id
}

async fn sign(
    identity: &Identity,
    card: i64,
    secret: CardSecret,
    session: &str,
) -> (String, String) {
    let nonce = identity.new_nonce(session, now()).await.unwrap();
    let token = identity
        .sign_in_card(card, &secret, ORIGIN, &nonce, now())
        .await
        .unwrap();
    (token, nonce)
}

fn pin(p: &str) -> CardSecret {
    CardSecret::Pin(p.to_owned())
}

async fn good_login_and_replays(url: &str) {
    let id = setup(url).await;
    let card = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let (token, nonce) = sign(&id, card, pin("1234"), "s1").await;
    let who = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap();
    assert_eq!(who.person_id, 1);
    assert_eq!(who.status, CertificateStatus::Valid);
    assert!(who.medical_information_allowed());
    // The same token again: the nonce is spent.
    let e = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "Z-C-0104");
    // From another session.
    let (token, nonce) = sign(&id, card, pin("1234"), "s1").await;
    let e = id
        .verify_login(&token, ORIGIN, &nonce, "s2", now())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "Z-C-0102");
    // After five minutes.
    let e = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now() + Duration::minutes(5))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "Z-C-0103");
    // Every attempt is audited.
    let audit = id.store().audit_records(Some("login."), 100).await.unwrap();
    assert_eq!(audit.len(), 4);
    assert_eq!(id.store().verify_audit_chain().await.unwrap(), None);
}
on_both!(good_login_and_replays);

async fn wrong_origin_and_tampering(url: &str) {
    let id = setup(url).await;
    let card = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let (token, nonce) = sign(&id, card, pin("1234"), "s1").await;
    let e = id
        .verify_login(&token, "https://evil.example", &nonce, "s1", now())
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::Token(_)), "{e:?}");
    let bad_signature_code = e.code();

    let (token, nonce) = sign(&id, card, pin("1234"), "s1").await;
    let mut v: serde_json::Value = serde_json::from_str(&token).unwrap();
    let sig = v["signature"].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    v["signature"] = serde_json::Value::String(flipped);
    let e = id
        .verify_login(&v.to_string(), ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        bad_signature_code,
        "tampered signature and wrong origin are both a bad signature"
    );
}
on_both!(wrong_origin_and_tampering);

async fn pin_rules(url: &str) {
    let id = setup(url).await;
    let card = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let nonce = id.new_nonce("s1", now()).await.unwrap();
    let try_pin = |p: &'static str| {
        let id = id.clone();
        let nonce = nonce.clone();
        async move { id.sign_in_card(card, &pin(p), ORIGIN, &nonce, now()).await }
    };
    // Format errors spend no try.
    for bad in ["123", "12345", "12a4", "１２３４"] {
        assert!(matches!(try_pin(bad).await, Err(AttemptError::PinFormat)));
    }
    assert!(matches!(
        try_pin("0000").await,
        Err(AttemptError::WrongPin { tries_left: 2 })
    ));
    assert!(matches!(
        try_pin("0000").await,
        Err(AttemptError::WrongPin { tries_left: 1 })
    ));
    // Success resets the counter.
    assert!(try_pin("1234").await.is_ok());
    assert_eq!(id.card_status(card).await.unwrap().tries_left, 3);
    // Three consecutive wrong PINs lock; then even the right PIN is refused.
    assert!(matches!(
        try_pin("0000").await,
        Err(AttemptError::WrongPin { tries_left: 2 })
    ));
    assert!(matches!(
        try_pin("0000").await,
        Err(AttemptError::WrongPin { tries_left: 1 })
    ));
    assert!(matches!(
        try_pin("0000").await,
        Err(AttemptError::LockedNow)
    ));
    assert!(matches!(try_pin("1234").await, Err(AttemptError::Locked)));
    assert!(id.card_status(card).await.unwrap().locked);
    // Only the municipality's reset unlocks, with a new PIN; it is audited.
    id.reset_pin(card, "4321", "試験市役所", now())
        .await
        .unwrap();
    assert!(matches!(
        try_pin("1234").await,
        Err(AttemptError::WrongPin { tries_left: 2 })
    ));
    assert!(try_pin("4321").await.is_ok());
    let audit = id.store().audit_records(Some("card."), 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.action == "card.pin_reset" && r.actor == "municipality:試験市役所")
    );
    assert!(audit.iter().any(|r| r.outcome == "locked_now"));
    assert!(
        audit
            .iter()
            .all(|r| !r.detail.contains("1234") && !r.detail.contains("4321")),
        "a PIN reached the audit log"
    );
}
on_both!(pin_rules);

/// The demo wallet lists, and lets the authenticator pick, only cards issued
/// into it; a card outside it is still known to the command line.
async fn cards_outside_the_demo_wallet_are_neither_listed_nor_picked(url: &str) {
    let id = setup(url).await;
    let outside = id
        .issue_card(
            &IssueCard {
                person_id: 1,
                kind: CardKind::Physical,
                pin: Some("1234".to_owned()),
                issued_on: today() - Duration::days(30),
                authority_id: None,
                in_demo_wallet: false,
            },
            now(),
        )
        .await
        .unwrap()
        .id;
    let inside = issue(
        &id,
        2,
        CardKind::Android,
        today() - Duration::days(30),
        None,
    )
    .await;
    let wallet = id.wallet().await.unwrap();
    assert_eq!(
        wallet.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![inside]
    );
    assert_eq!(id.wallet_card(outside).await.unwrap(), None);
    assert_eq!(
        id.wallet_card(inside).await.unwrap().as_ref(),
        wallet.first()
    );
    let status = id.card_status(outside).await.unwrap();
    assert_eq!((status.id, status.person_id), (outside, 1));
}
on_both!(cards_outside_the_demo_wallet_are_neither_listed_nor_picked);

async fn smartphone_cards(url: &str) {
    let id = setup(url).await;
    let iphone = issue(&id, 1, CardKind::IPhone, today() - Duration::days(30), None).await;
    let (token, nonce) = sign(&id, iphone, CardSecret::Biometric, "s1").await;
    let who = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap();
    assert_eq!(who.card_kind, CardKind::IPhone);
    // An iPhone card has no PIN to try.
    let nonce = id.new_nonce("s1", now()).await.unwrap();
    assert!(matches!(
        id.sign_in_card(iphone, &pin("1234"), ORIGIN, &nonce, now())
            .await,
        Err(AttemptError::PinFormat)
    ));
    // Android: its own PIN and the same lock rules.
    let android = issue(
        &id,
        1,
        CardKind::Android,
        today() - Duration::days(30),
        None,
    )
    .await;
    for expected in [2u8, 1] {
        assert!(matches!(
            id.sign_in_card(android, &pin("9999"), ORIGIN, &nonce, now()).await,
            Err(AttemptError::WrongPin { tries_left }) if tries_left == expected
        ));
    }
    assert!(matches!(
        id.sign_in_card(android, &pin("9999"), ORIGIN, &nonce, now())
            .await,
        Err(AttemptError::LockedNow)
    ));
    // The physical card of the same person is unaffected.
    let physical = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    assert!(
        id.sign_in_card(physical, &pin("1234"), ORIGIN, &nonce, now())
            .await
            .is_ok()
    );
}
on_both!(smartphone_cards);

async fn wallet_names_a_holders_cards_apart(url: &str) {
    let id = setup(url).await;
    let first = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let second = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(60),
        None,
    )
    .await;
    id.name_wallet_card(second, "ロック（暗証番号を3回間違えた）")
        .await
        .unwrap();
    let wallet = id.wallet().await.unwrap();
    let entry = |card| wallet.iter().find(|c| c.id == card).unwrap();
    assert_eq!(entry(first).holder, entry(second).holder);
    assert_eq!(entry(first).label, None);
    assert_eq!(
        entry(second).label.as_deref(),
        Some("ロック（暗証番号を3回間違えた）")
    );
    assert_eq!(
        id.card_status(second).await.unwrap().label,
        entry(second).label
    );
}
on_both!(wallet_names_a_holders_cards_apart);

async fn anchors_validity_and_revocation(url: &str) {
    let id = setup(url).await;
    let authorities = id.store().authorities().await.unwrap();
    assert_eq!(authorities.len(), 2);
    // A card from the older anchor is still accepted.
    let old = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(900),
        Some(authorities[0].id),
    )
    .await;
    let (token, nonce) = sign(&id, old, pin("1234"), "s1").await;
    assert!(
        id.verify_login(&token, ORIGIN, &nonce, "s1", now())
            .await
            .is_ok()
    );

    // Born 10 January: issued 2022-01-11 → last valid day 2027-01-10, within 3 months.
    let expiring = issue(
        &id,
        1,
        CardKind::Physical,
        NaiveDate::from_ymd_opt(2022, 1, 11).unwrap(),
        None,
    )
    .await;
    let (token, nonce) = sign(&id, expiring, pin("1234"), "s1").await;
    let who = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap();
    assert!(
        matches!(who.status, CertificateStatus::Expiring { .. }),
        "{:?}",
        who.status
    );
    assert!(who.status.warning_ja().is_some());

    // Issued 2021-01-11 → last valid day 2026-01-10: over ten months ago, beyond grace.
    let expired = issue(
        &id,
        1,
        CardKind::Physical,
        NaiveDate::from_ymd_opt(2021, 1, 11).unwrap(),
        None,
    )
    .await;
    let (token, nonce) = sign(&id, expired, pin("1234"), "s1").await;
    let e = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert_eq!(e.title(), "電子証明書の有効期限切れ");

    // Grace: the same certificate two months after its last day.
    let in_grace = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
    let nonce = id.new_nonce("s1", in_grace).await.unwrap();
    let token = id
        .sign_in_card(expired, &pin("1234"), ORIGIN, &nonce, in_grace)
        .await
        .unwrap();
    let who = id
        .verify_login(&token, ORIGIN, &nonce, "s1", in_grace)
        .await
        .unwrap();
    assert!(
        matches!(who.status, CertificateStatus::Grace { .. }),
        "{:?}",
        who.status
    );
    assert!(!who.medical_information_allowed());

    // Revoked: refused by the verifier on this node …
    let card = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let (token, nonce) = sign(&id, card, pin("1234"), "s1").await;
    id.revoke(card, now()).await.unwrap();
    let e = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert_eq!(e.title(), "電子証明書の失効");
    // … and by a node that loaded before the revocation (the card table decides).
    let card2 = issue(
        &id,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let other_node = Identity::new(id.store().clone()).await.unwrap();
    let (token, nonce) = sign(&id, card2, pin("1234"), "s1").await;
    id.revoke(card2, now()).await.unwrap();
    let e = other_node
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "Z-C-0106");
    // A revoked card cannot even sign.
    let nonce = id.new_nonce("s1", now()).await.unwrap();
    assert!(matches!(
        id.sign_in_card(card2, &pin("1234"), ORIGIN, &nonce, now())
            .await,
        Err(AttemptError::Revoked)
    ));
}
on_both!(anchors_validity_and_revocation);

async fn unknown_anchor_is_refused(url: &str) {
    // A second installation with its own CA signs a token; ours does not know that CA.
    let theirs = setup(url).await;
    let card = issue(
        &theirs,
        1,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let ours_db = zaitaku_testkit::sqlite();
    let ours = setup(&ours_db.url).await;
    let nonce = ours.new_nonce("s1", now()).await.unwrap();
    let token = theirs
        .sign_in_card(card, &pin("1234"), ORIGIN, &nonce, now())
        .await
        .unwrap();
    let e = ours
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::Token(_)), "{e:?}");
    assert_ne!(e.code(), "Z-C-0105");
}
on_both!(unknown_anchor_is_refused);

async fn not_registered_for_insurance_use(url: &str) {
    let id = setup(url).await;
    let card = issue(
        &id,
        2,
        CardKind::Physical,
        today() - Duration::days(30),
        None,
    )
    .await;
    let (token, nonce) = sign(&id, card, pin("1234"), "s1").await;
    let e = id
        .verify_login(&token, ORIGIN, &nonce, "s1", now())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "E-C-04-02-A-6002");
    assert_eq!(e.title(), "保険証未登録");
    assert!(e.to_string().contains("マイナポータル"));
}
on_both!(not_registered_for_insurance_use);
