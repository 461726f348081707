//! Migrations that rebuild a SQLite table keep its rows and its rules.

use sqlx::Connection;
use sqlx::error::ErrorKind;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use zaitaku_domain::consent::ConsentAction;
use zaitaku_storage::{AuditEvent, NonceRejection, Store};

const CONSENT: &str = "INSERT INTO consents (institution_id, person_id, action, care_kind, channel, \
     recorded_at, recorded_by, idempotency_key) VALUES (1, 7, $1, 'home_visit', 'web', $2, 'patient', $3)";

/// The rule a statement broke: its kind and SQLite's words for it.
fn broken<T: std::fmt::Debug>(r: Result<T, sqlx::Error>) -> (ErrorKind, String) {
    match r {
        Err(sqlx::Error::Database(e)) => (e.kind(), e.message().to_owned()),
        other => panic!("expected a broken rule: {other:?}"),
    }
}

/// A database with only the first `applied` migrations.
async fn database_after(path: &std::path::Path, applied: usize) -> SqliteConnection {
    let mut all = Migrator::new(std::path::Path::new("migrations/sqlite"))
        .await
        .unwrap();
    all.migrations = all.migrations[..applied].to_vec().into();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    all.run(&mut conn).await.unwrap();
    conn
}

/// The store on `path` after its set-up connection closed: every later
/// migration has run.
async fn migrated(
    conn: SqliteConnection,
    path: &std::path::Path,
) -> Result<Store, zaitaku_storage::StorageError> {
    conn.close().await.unwrap();
    Store::open(&format!("sqlite:{}", path.display())).await
}

/// A database at the schema before `0005_consent_checks`, with consents in it.
async fn database_before_0005(path: &std::path::Path) {
    let mut conn = database_after(path, 4).await;
    sqlx::query(
        "INSERT INTO institutions (id, code, name, kind, consent_items, url_token, created_at, updated_at) \
         VALUES (1, '1312345679', '合成クリニック', 'medical', '[]', 'tok', 0, 0)",
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
    assert_eq!(latest.institution_code, "1312345679");
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
    let (kind, message) = broken(insert("bogus", "k3").await);
    assert_eq!(
        kind,
        ErrorKind::CheckViolation,
        "CHECK on action: {message}"
    );
    assert!(message.contains("action"), "{message}");
    assert_eq!(
        broken(insert("update", "k1").await),
        (
            ErrorKind::UniqueViolation,
            "UNIQUE constraint failed: consents.idempotency_key".to_owned()
        ),
        "UNIQUE idempotency key"
    );
    insert("update", "k4").await.unwrap();
    let latest = store.latest_consent(1, 7).await.unwrap().unwrap();
    assert_eq!(latest.action, ConsentAction::Update);
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash";

/// The time the tests write at: storage takes it as a parameter and never
/// reads the clock (crates/storage/clippy.toml), so a fixed one does.
fn now() -> chrono::DateTime<chrono::Utc> {
    // 2026-11-21 10:00 JST.
    chrono::DateTime::from_timestamp(1_795_222_800, 0).unwrap()
}

fn event(action: &str) -> AuditEvent<'_> {
    AuditEvent {
        actor: "patient",
        action,
        outcome: "ok",
        institution_id: Some(1),
        person_id: Some(7),
        detail: serde_json::json!({ "n": action }),
    }
}

#[tokio::test]
async fn audit_log_rebuilt_on_its_rowid_keeping_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    // A chain written by the real appender, to be carried over row by row.
    let source = Store::open(&format!(
        "sqlite:{}",
        dir.path().join("a.sqlite3").display()
    ))
    .await
    .unwrap();
    for action in ["consent.write", "login.ok", "consent.read"] {
        source.audit(&event(action), now()).await.unwrap();
    }
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        Option<i64>,
        Option<i64>,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq"
    ))
    .fetch_all(source.pool())
    .await
    .unwrap();
    let head: (i64, String) = sqlx::query_as("SELECT seq, last_hash FROM audit_head")
        .fetch_one(source.pool())
        .await
        .unwrap();
    source.close().await;

    let path = dir.path().join("b.sqlite3");
    let mut conn = database_after(&path, 5).await;
    let insert = format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    for r in &rows {
        sqlx::query(&insert)
            .bind(r.0)
            .bind(r.1)
            .bind(&r.2)
            .bind(&r.3)
            .bind(&r.4)
            .bind(r.5)
            .bind(r.6)
            .bind(&r.7)
            .bind(&r.8)
            .bind(&r.9)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE audit_head SET seq = $1, last_hash = $2")
        .bind(head.0)
        .bind(&head.1)
        .execute(&mut conn)
        .await
        .unwrap();
    let store = migrated(conn, &path).await.unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        None,
        "chain carried over intact"
    );
    let second_btrees: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'sqlite_autoindex_audit%'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        second_btrees, 0,
        "the log and its head are keyed by their rowid"
    );

    let next = store.audit(&event("consent.write"), now()).await.unwrap();
    assert_eq!(next.seq, 4);
    assert_eq!(next.prev_hash, head.1);
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
    let dup = sqlx::query(&format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq = 4"
    ))
    .execute(store.pool())
    .await;
    assert_eq!(
        broken(dup),
        (
            ErrorKind::UniqueViolation,
            "UNIQUE constraint failed: audit_log.seq".to_owned()
        ),
        "seq stays unique"
    );
    let two_heads = sqlx::query("INSERT INTO audit_head (id, seq, last_hash) VALUES (2, 0, 'x')")
        .execute(store.pool())
        .await;
    let (kind, message) = broken(two_heads);
    assert_eq!(
        kind,
        ErrorKind::CheckViolation,
        "CHECK (id = 1) kept: {message}"
    );
    assert!(message.contains("id = 1"), "{message}");
}

const PERSON: &str = "INSERT INTO persons (id, name, name_kana, birth_date, sex, postal_code, address, \
     insurance_use_registered) VALUES ($1, '合成 花子', 'ゴウセイ ハナコ', '1938-05-06', $2, '1000001', \
     '東京都千代田区', 1)";
const QUALIFICATION: &str = "INSERT INTO qualifications (person_id, coverage, acquired_on, valid_from) \
     VALUES ($1, 'insurance', '2020-04-01', '2020-04-01')";

#[tokio::test]
async fn persons_rebuilt_on_their_rowid_with_every_reference_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite3");
    let mut conn = database_after(&path, 6).await;
    for (id, sex) in [(7_i64, "2"), (9, "1")] {
        sqlx::query(PERSON)
            .bind(id)
            .bind(sex)
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(QUALIFICATION)
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let store = migrated(conn, &path).await.unwrap();
    let people: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT p.id, p.sex, q.person_id FROM persons p JOIN qualifications q ON q.person_id = p.id ORDER BY p.id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(people, vec![(7, "2".to_owned(), 7), (9, "1".to_owned(), 9)]);
    let second_btrees: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'sqlite_autoindex_persons%'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(second_btrees, 0, "persons are keyed by their rowid");
    let rowid_is_id: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM persons WHERE rowid = id")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(rowid_is_id, 2);

    // The rules came along, and the store enforces foreign keys again.
    let bad_sex = sqlx::query(PERSON)
        .bind(11_i64)
        .bind("4")
        .execute(store.pool())
        .await;
    let (kind, message) = broken(bad_sex);
    assert_eq!(kind, ErrorKind::CheckViolation, "CHECK on sex: {message}");
    assert!(message.contains("sex"), "{message}");
    let duplicate = sqlx::query(PERSON)
        .bind(7_i64)
        .bind("1")
        .execute(store.pool())
        .await;
    assert_eq!(
        broken(duplicate),
        (
            ErrorKind::UniqueViolation,
            "UNIQUE constraint failed: persons.id".to_owned()
        ),
        "id stays unique"
    );
    let orphan = sqlx::query(QUALIFICATION)
        .bind(404_i64)
        .execute(store.pool())
        .await;
    assert_eq!(
        broken(orphan),
        (
            ErrorKind::ForeignKeyViolation,
            "FOREIGN KEY constraint failed".to_owned()
        ),
        "a qualification needs its person"
    );
    let removed = sqlx::query("DELETE FROM persons WHERE id = 7")
        .execute(store.pool())
        .await;
    assert_eq!(
        broken(removed),
        (
            ErrorKind::ForeignKeyViolation,
            "FOREIGN KEY constraint failed".to_owned()
        ),
        "a referenced person cannot be deleted"
    );
}

#[tokio::test]
async fn a_migration_that_leaves_a_reference_without_its_row_stops_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sqlite3");
    let mut conn = database_after(&path, 6).await;
    // A row whose person is missing, as a faulty rebuild would leave one.
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(QUALIFICATION)
        .bind(404_i64)
        .execute(&mut conn)
        .await
        .unwrap();
    let err = migrated(conn, &path).await.unwrap_err();
    assert_eq!(err.code(), "Z-S-0003");
    let message = err.to_string();
    assert!(
        message.contains("qualifications") && message.contains("persons"),
        "{message}"
    );
}

#[tokio::test]
async fn nonces_moved_into_the_btree_of_their_key_and_still_single_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.sqlite3");
    let mut conn = database_after(&path, 7).await;
    let far = now().timestamp_micros() + 300_000_000;
    sqlx::query(
        "INSERT INTO auth_nonces (nonce, session_id, created_at, expires_at, used_at) \
         VALUES ('fresh', 's1', 0, $1, NULL), ('spent', 's1', 0, $1, 5)",
    )
    .bind(far)
    .execute(&mut conn)
    .await
    .unwrap();
    let store = migrated(conn, &path).await.unwrap();
    let layout: String =
        sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = 'auth_nonces'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(layout.contains("WITHOUT ROWID"), "{layout}");
    let now = now();
    assert_eq!(
        store.consume_nonce("fresh", "s1", now).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        store.consume_nonce("fresh", "s1", now).await.unwrap(),
        Err(NonceRejection::AlreadyUsed)
    );
    assert_eq!(
        store.consume_nonce("spent", "s1", now).await.unwrap(),
        Err(NonceRejection::AlreadyUsed),
        "a nonce spent before the migration stays spent"
    );
    let again = store
        .insert_nonce("fresh", "s2", now, now + chrono::Duration::minutes(5))
        .await;
    assert!(
        matches!(
            again,
            Err(zaitaku_storage::StorageError::Duplicate("ノンス"))
        ),
        "a nonce is issued once: {again:?}"
    );
}
