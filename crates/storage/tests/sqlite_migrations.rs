//! Migrations that rebuild a SQLite table keep its rows and its rules.

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use zaitaku_domain::consent::ConsentAction;
use zaitaku_storage::Store;

const CONSENT: &str = "INSERT INTO consents (institution_id, person_id, action, care_kind, channel, \
     recorded_at, recorded_by, idempotency_key) VALUES (1, 7, $1, 'home_visit', 'web', $2, 'patient', $3)";

/// A database at the schema before `0005_consent_checks`, with consents in it.
async fn database_before_0005(path: &std::path::Path) {
    let mut all = Migrator::new(std::path::Path::new("migrations/sqlite"))
        .await
        .unwrap();
    all.migrations = all.migrations[..4].to_vec().into();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    all.run(&mut conn).await.unwrap();
    sqlx::query(
        "INSERT INTO institutions (id, code, name, kind, consent_items, url_token, created_at, updated_at) \
         VALUES (1, '1312345678', '合成クリニック', 'medical', '[]', 'tok', 0, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO persons (id, name, name_kana, birth_date, sex, postal_code, address, \
         insurance_use_registered) VALUES (7, '合成 太郎', 'ゴウセイ タロウ', '1940-01-01', '1', \
         '1000001', '東京都千代田区', 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for (action, at, key) in [("register", 10, "k1"), ("revoke", 20, "k2")] {
        sqlx::query(CONSENT)
            .bind(action)
            .bind(at)
            .bind(key)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn consent_checks_rebuilt_without_losing_a_row_or_a_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.sqlite3");
    database_before_0005(&path).await;

    let store = Store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let latest = store.latest_consent(1, 7).await.unwrap().unwrap();
    assert_eq!(latest.id, 2);
    assert_eq!(latest.action, ConsentAction::Revoke);
    assert_eq!(latest.institution_code, "1312345678");
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM consents ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(ids, vec![1, 2]);

    let insert = |action: &'static str, key: &'static str| {
        sqlx::query(CONSENT)
            .bind(action)
            .bind(30_i64)
            .bind(key)
            .execute(store.pool())
    };
    assert!(insert("bogus", "k3").await.is_err(), "CHECK on action");
    assert!(
        insert("update", "k1").await.is_err(),
        "UNIQUE idempotency key"
    );
    insert("update", "k4").await.unwrap();
    let latest = store.latest_consent(1, 7).await.unwrap().unwrap();
    assert_eq!(latest.action, ConsentAction::Update);
}
