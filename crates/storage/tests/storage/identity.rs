//! Cards, nonces, the hand-off and the audit chain on both databases.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use zaitaku_storage::{AuditEvent, AuthRequest, NewCard, NonceRejection, PersonRecords, Store};
use zaitaku_testkit::on_both;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
}

async fn with_person(url: &str) -> Store {
    let store = Store::open(url).await.unwrap();
    let e = zaitaku_testkit::person(1, NaiveDate::from_ymd_opt(1960, 1, 1).unwrap(), false);
    store
        .insert_persons(&[PersonRecords::eligibility_only(&e)])
        .await
        .unwrap();
    store
}

async fn cards_and_pin_counter(url: &str) {
    let store = with_person(url).await;
    let ca = store
        .insert_authority("試験CA 2023", b"cert", Some(b"key"), now())
        .await
        .unwrap();
    assert_eq!(store.authorities().await.unwrap(), vec![ca.clone()]);
    let card = store
        .insert_card(&NewCard {
            person_id: 1,
            kind: "physical",
            authority_id: ca.id,
            serial_hex: "0a1b",
            cert_der: b"certbytes",
            key_pkcs8: b"keybytes",
            pin_hash: Some("$argon2id$..."),
            in_demo_wallet: true,
            issued_at: now(),
            not_after: now() + Duration::days(365 * 5),
        })
        .await
        .unwrap();
    assert_eq!(card.tries_left, 3);
    assert!(!card.locked);
    assert_eq!(
        store.card_by_serial("0a1b").await.unwrap().unwrap().id,
        card.id
    );
    assert_eq!(store.cards(None).await.unwrap().len(), 1);
    assert_eq!(store.cards(Some(1)).await.unwrap().len(), 1);
    assert_eq!(card.wallet_label, None);
    store
        .set_wallet_label(card.id, "期限間近（有効期限まで3か月以内）")
        .await
        .unwrap();
    assert_eq!(
        store.cards(None).await.unwrap()[0].wallet_label.as_deref(),
        Some("期限間近（有効期限まで3か月以内）")
    );

    // Compare-and-set: a stale expectation writes nothing.
    assert!(
        store
            .update_pin_counter(card.id, (3, false), (2, false))
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_pin_counter(card.id, (3, false), (2, false))
            .await
            .unwrap()
    );
    assert!(
        store
            .update_pin_counter(card.id, (2, false), (0, true))
            .await
            .unwrap()
    );
    let locked = store.card(card.id).await.unwrap().unwrap();
    assert_eq!((locked.tries_left, locked.locked), (0, true));
    assert!(
        store
            .reset_card_pin(card.id, "$argon2id$new")
            .await
            .unwrap()
    );
    let reset = store.card(card.id).await.unwrap().unwrap();
    assert_eq!((reset.tries_left, reset.locked), (3, false));

    assert!(store.revoke_card(card.id, now()).await.unwrap());
    assert!(!store.revoke_card(card.id, now()).await.unwrap());
    assert_eq!(
        store.revoked_serials().await.unwrap(),
        vec![("試験CA 2023".to_owned(), "0a1b".to_owned())]
    );

    store.set_insurance_use_registered(1, true).await.unwrap();
    assert!(
        store
            .eligibility(1)
            .await
            .unwrap()
            .unwrap()
            .person
            .insurance_use_registered
    );
}
on_both!(cards_and_pin_counter);

/// `cards(None)` is the authenticator's demo wallet: a card issued outside
/// it (a real card's stand-in, or one the CLI made without `--demo-wallet`)
/// is in the person's cards but not in the wallet.
async fn the_demo_wallet_holds_only_its_own_cards(url: &str) {
    let store = with_person(url).await;
    let ca = store
        .insert_authority("試験CA 2023", b"cert", Some(b"key"), now())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (serial_hex, in_demo_wallet) in [("0a01", false), ("0a02", true), ("0a03", false)] {
        let card = store
            .insert_card(&NewCard {
                person_id: 1,
                kind: "physical",
                authority_id: ca.id,
                serial_hex,
                cert_der: b"certbytes",
                key_pkcs8: b"keybytes",
                pin_hash: Some("$argon2id$..."),
                in_demo_wallet,
                issued_at: now(),
                not_after: now() + Duration::days(365 * 5),
            })
            .await
            .unwrap();
        assert_eq!(card.in_demo_wallet, in_demo_wallet);
        ids.push(card.id);
    }
    let ids_of = |cards: Vec<zaitaku_storage::StoredCard>| -> Vec<i64> {
        cards.iter().map(|c| c.id).collect()
    };
    assert_eq!(ids_of(store.cards(None).await.unwrap()), vec![ids[1]]);
    assert_eq!(ids_of(store.cards(Some(1)).await.unwrap()), ids);
    assert!(!store.card(ids[0]).await.unwrap().unwrap().in_demo_wallet);
}
on_both!(the_demo_wallet_holds_only_its_own_cards);

async fn nonces_are_single_use_per_session(url: &str) {
    let store = Store::open(url).await.unwrap();
    let exp = now() + Duration::minutes(5);
    store.insert_nonce("n1", "s1", now(), exp).await.unwrap();
    store.insert_nonce("n2", "s1", now(), exp).await.unwrap();
    let taken = store
        .insert_nonce("n1", "s2", now(), exp)
        .await
        .unwrap_err();
    assert!(
        matches!(taken, zaitaku_storage::StorageError::Duplicate("ノンス")),
        "{taken:?}"
    );
    assert_eq!(
        store.consume_nonce("n1", "s2", now()).await.unwrap(),
        Err(NonceRejection::OtherSession)
    );
    assert_eq!(
        store.consume_nonce("n1", "s1", now()).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        store.consume_nonce("n1", "s1", now()).await.unwrap(),
        Err(NonceRejection::AlreadyUsed)
    );
    assert_eq!(
        store.consume_nonce("zz", "s1", now()).await.unwrap(),
        Err(NonceRejection::Unknown)
    );
    assert_eq!(
        store.consume_nonce("n2", "s1", exp).await.unwrap(),
        Err(NonceRejection::Expired)
    );
    assert_eq!(
        store
            .purge_expired_auth(exp + Duration::days(2))
            .await
            .unwrap(),
        2
    );
}
on_both!(nonces_are_single_use_per_session);

/// A purge removes expired rows in jobs of a bounded size, until none is
/// left, and keeps the rows that have not expired.
async fn a_purge_takes_as_many_jobs_as_it_needs(url: &str) {
    let store = Store::open(url).await.unwrap();
    let expired = now().timestamp_micros();
    let rows: Vec<String> = (0..2_500)
        .map(|i| format!("('n{i}', 's', {expired}, {expired})"))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO auth_nonces (nonce, session_id, created_at, expires_at) VALUES {}",
        rows.join(", ")
    ))
    .execute(store.pool())
    .await
    .unwrap();
    let exp = now() + Duration::days(5);
    store.insert_nonce("alive", "s", now(), exp).await.unwrap();
    assert_eq!(
        store
            .purge_expired_auth(now() + Duration::days(2))
            .await
            .unwrap(),
        2_500
    );
    assert_eq!(
        store.consume_nonce("alive", "s", now()).await.unwrap(),
        Ok(())
    );
}
on_both!(a_purge_takes_as_many_jobs_as_it_needs);

async fn hand_off_codes_redeem_once(url: &str) {
    let store = with_person(url).await;
    let ca = store
        .insert_authority("試験CA", b"c", None, now())
        .await
        .unwrap();
    let card = store
        .insert_card(&NewCard {
            person_id: 1,
            kind: "iphone",
            authority_id: ca.id,
            serial_hex: "ff",
            cert_der: b"c",
            key_pkcs8: b"k",
            pin_hash: None,
            in_demo_wallet: false,
            issued_at: now(),
            not_after: now() + Duration::days(10),
        })
        .await
        .unwrap();
    let req = AuthRequest {
        id: "req1".into(),
        state: "st".into(),
        code_challenge: "ch".into(),
        nonce: "n".into(),
        origin: "http://127.0.0.1:8080".into(),
        redirect_uri: "/w/x/callback".into(),
        created_at: now(),
        expires_at: now() + Duration::minutes(5),
        card_id: None,
        code: None,
        token: None,
        completed_at: None,
        redeemed_at: None,
        cancelled_at: None,
        cross_device: false,
        client_name: Some("試験在宅クリニック".into()),
        purpose: Some("register".into()),
    };
    store.insert_auth_request(&req).await.unwrap();
    assert_eq!(store.auth_request("req1").await.unwrap().unwrap(), req);
    assert!(
        store
            .complete_auth_request("req1", card.id, "code1", "{token}", now())
            .await
            .unwrap()
    );
    // Completing twice is refused.
    assert!(
        !store
            .complete_auth_request("req1", card.id, "code2", "{other}", now())
            .await
            .unwrap()
    );
    let got = store
        .redeem_auth_code("code1", now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.token.as_deref(), Some("{token}"));
    assert!(
        store
            .redeem_auth_code("code1", now())
            .await
            .unwrap()
            .is_none()
    );
    // A spent code's token is not kept.
    let spent = store.auth_request("req1").await.unwrap().unwrap();
    assert!(spent.redeemed_at.is_some());
    assert_eq!(spent.token, None);

    let mut late = req.clone();
    late.id = "req2".into();
    store.insert_auth_request(&late).await.unwrap();
    assert!(store.cancel_auth_request("req2", now()).await.unwrap());
    assert!(
        !store
            .complete_auth_request("req2", card.id, "code3", "t", now())
            .await
            .unwrap()
    );
    let mut expired = req.clone();
    expired.id = "req3".into();
    store.insert_auth_request(&expired).await.unwrap();
    assert!(
        !store
            .complete_auth_request("req3", card.id, "code4", "t", now() + Duration::minutes(6))
            .await
            .unwrap()
    );
}
on_both!(hand_off_codes_redeem_once);

async fn audit_chain_detects_edits_and_deletions(url: &str) {
    let store = Store::open(url).await.unwrap();
    for i in 0..5 {
        store
            .audit(
                &AuditEvent {
                    actor: "patient",
                    action: "card.pin",
                    outcome: if i % 2 == 0 { "wrong_pin" } else { "ok" },
                    institution_id: None,
                    person_id: Some(1),
                    detail: serde_json::json!({"card": i}),
                },
                now(),
            )
            .await
            .unwrap();
    }
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
    assert_eq!(
        store.audit_records(Some("card."), 10).await.unwrap().len(),
        5
    );
    assert_eq!(
        store.audit_records(Some("card."), 10).await.unwrap()[0].seq,
        5
    );

    sqlx::query("UPDATE audit_log SET outcome = 'ok' WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), Some(3));
    sqlx::query("UPDATE audit_log SET outcome = 'wrong_pin' WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), Some(2));
}
on_both!(audit_chain_detects_edits_and_deletions);

async fn audit_truncation_is_detected(url: &str) {
    let store = Store::open(url).await.unwrap();
    for _ in 0..3 {
        store
            .audit(
                &AuditEvent {
                    actor: "staff:a1",
                    action: "read.drugs",
                    outcome: "ok",
                    institution_id: Some(1),
                    person_id: Some(1),
                    detail: serde_json::json!({}),
                },
                now(),
            )
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), Some(3));
}
on_both!(audit_truncation_is_detected);

async fn sessions_expire(url: &str) {
    let store = Store::open(url).await.unwrap();
    let data = serde_json::json!({"state": "abc"});
    store
        .put_session("s1", &data, now(), now() + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(
        store.session("s1", now()).await.unwrap(),
        Some(data.clone())
    );
    let replaced = serde_json::json!({"state": "def"});
    store
        .put_session("s1", &replaced, now(), now() + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(store.session("s1", now()).await.unwrap(), Some(replaced));
    assert_eq!(
        store
            .session("s1", now() + Duration::minutes(31))
            .await
            .unwrap(),
        None
    );
    store.delete_session("s1").await.unwrap();
    assert_eq!(store.session("s1", now()).await.unwrap(), None);
}
on_both!(sessions_expire);
