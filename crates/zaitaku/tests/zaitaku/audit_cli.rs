//! `zaitaku audit verify` as an operator runs it: an intact log passes, and
//! an edited, a deleted-in-the-middle or a deleted-at-the-end record is found
//! and named, on SQLite and PostgreSQL.

use std::process::Command;

use chrono::Utc;
use serde_json::json;
use zaitaku_storage::{AuditEvent, Store};
use zaitaku_testkit::on_both;

const BIN: &str = env!("CARGO_BIN_EXE_zaitaku");

fn verify(url: &str) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["audit", "verify", "--database-url", url])
        .env("ZAITAKU_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn log_with_records(url: &str, n: usize) -> Store {
    let store = Store::open(url).await.unwrap();
    for i in 0..n {
        store
            .audit(
                &AuditEvent {
                    actor: "staff",
                    action: "patient.view",
                    outcome: "ok",
                    institution_id: None,
                    person_id: Some(i as i64 + 1),
                    detail: json!({"n": i}),
                },
                Utc::now(),
            )
            .await
            .unwrap();
    }
    store
}

async fn verify_finds_every_kind_of_tampering(url: &str) {
    let store = log_with_records(url, 6).await;

    let (ok, text) = verify(url);
    assert!(ok, "{text}");
    assert!(text.contains("監査ログは正常です（6 件"), "{text}");

    // An edited record: its own hash no longer matches.
    sqlx::query("UPDATE audit_log SET outcome = 'refused' WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap();
    let (ok, text) = verify(url);
    assert!(!ok);
    assert!(text.contains("番号 3 で途切れています"), "{text}");
    sqlx::query("UPDATE audit_log SET outcome = 'ok' WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(verify(url).0, "restored record verifies again");

    // A record removed from the middle: the next one's link is broken.
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(store.pool())
        .await
        .unwrap();
    let (ok, text) = verify(url);
    assert!(!ok);
    assert!(text.contains("番号 4 で途切れています"), "{text}");
}
on_both!(verify_finds_every_kind_of_tampering);

async fn verify_finds_records_removed_from_the_end(url: &str) {
    let store = log_with_records(url, 4).await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(store.pool())
        .await
        .unwrap();
    let (ok, text) = verify(url);
    assert!(!ok);
    assert!(text.contains("番号 4 で途切れています"), "{text}");
}
on_both!(verify_finds_records_removed_from_the_end);
