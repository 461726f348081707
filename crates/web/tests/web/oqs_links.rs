//! 《レセコン連携》 on SQLite and PostgreSQL: an administrator issues,
//! rotates and revokes a receipt computer's link credential through the
//! pages; `service::oqs_link::authenticate` accepts exactly the current
//! credential of an unrevoked link, as its own institution, and audits
//! every refusal.

use chrono::{DateTime, Duration, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_proto::oqs::CharacterCode;
use zaitaku_service::ServiceError;
use zaitaku_service::oqs_link::{LinkCache, LinkPrincipal, LinkRefusal, authenticate};
use zaitaku_storage::{AuditRecord, Store, StoredAccount, StoredInstitution};
use zaitaku_testkit::client::{Browser, Reply, between, unescape};
use zaitaku_testkit::fixtures;
use zaitaku_testkit::on_both;
use zaitaku_testkit::server::{self, Server};

struct World {
    srv: Server,
    a: StoredInstitution,
    b: StoredInstitution,
    a_admin: StoredAccount,
}

async fn world(url: &str) -> World {
    let srv = server::start(url).await;
    let store = &srv.store;
    let a = fixtures::institution(
        store,
        InstitutionKind::Medical,
        41,
        "試験在宅クリニック",
        true,
    )
    .await;
    let b =
        fixtures::institution(store, InstitutionKind::Medical, 42, "別院クリニック", true).await;
    let a_admin = fixtures::account(store, Some(&a), "aadmin", Role::Admin, "試験 管理者").await;
    fixtures::account(store, Some(&a), "agen", Role::General, "試験 一般").await;
    fixtures::account(store, Some(&a), "aview", Role::MedicalViewer, "試験 閲覧").await;
    fixtures::account(store, Some(&b), "badmin", Role::Admin, "別院 管理者").await;
    World { srv, a, b, a_admin }
}

/// The credential a page shows once (the value of its read-only field).
fn credential_on(page: &Reply) -> String {
    let value = between(&page.body, "id=\"credential\" value=\"", "\"")
        .unwrap_or_else(|| panic!("no credential on the page: {}", page.summary()));
    unescape(value)
}

async fn issue(admin: &Browser, label: &str, character_code: &str) -> String {
    let page = admin
        .post(
            "/admin/oqs-links",
            &[("label", label), ("character_code", character_code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.summary());
    assert!(page.body.contains("認証情報を発行しました"));
    credential_on(&page)
}

/// Refused as the database says (no credential taken a moment ago).
async fn refused(store: &Store, presented: Option<&str>, now: DateTime<Utc>) -> LinkRefusal {
    refused_by(store, &LinkCache::default(), presented, now).await
}

async fn refused_by(
    store: &Store,
    cache: &LinkCache,
    presented: Option<&str>,
    now: DateTime<Utc>,
) -> LinkRefusal {
    match authenticate(store, cache, presented, now).await {
        Err(ServiceError::LinkRefused(why)) => why,
        other => panic!("{presented:?} was not refused: {other:?}"),
    }
}

/// Accepted as the database says (no credential taken a moment ago).
async fn accepted(store: &Store, presented: &str, now: DateTime<Utc>) -> LinkPrincipal {
    authenticate(store, &LinkCache::default(), Some(presented), now)
        .await
        .unwrap_or_else(|e| panic!("{presented} refused: {e:?}"))
}

async fn records(store: &Store, action: &str) -> Vec<AuditRecord> {
    store.audit_records(Some(action), 100).await.unwrap()
}

async fn last_used(store: &Store, inst: &StoredInstitution, id: i64) -> Option<DateTime<Utc>> {
    store
        .oqs_link_of(inst.id, id)
        .await
        .unwrap()
        .unwrap()
        .last_used_at
}

/// The link id of a credential `zoqs_<id>_…`.
fn id_of(credential: &str) -> i64 {
    credential
        .strip_prefix("zoqs_")
        .and_then(|r| r.split_once('_'))
        .and_then(|(id, _)| id.parse().ok())
        .unwrap_or_else(|| panic!("not a credential: {credential}"))
}

async fn a_link_is_issued_used_rotated_and_revoked(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let store = &w.srv.store;
    let admin = Browser::login(base, &w.a, "aadmin").await;

    // The menu offers the page under 環境設定情報管理; nothing issued yet.
    let menu = admin.get("/admin").await;
    let group = between(&menu.body, ">環境設定情報管理</h2>", "</ul>").unwrap();
    assert!(group.contains("href=\"/admin/oqs-links\""), "{group}");
    let page = admin.get("/admin/oqs-links").await;
    assert_eq!(page.status, 200, "{}", page.summary());
    assert!(page.body.contains("<h1>レセコン連携</h1>"));
    assert!(
        page.body
            .contains("発行したレセコン連携の認証情報はありません。")
    );

    // Issue: the credential is shown once, with the agent's command.
    let credential = issue(&admin, "受付レセコン", "1").await;
    let (id, secret) = credential
        .strip_prefix("zoqs_")
        .and_then(|r| r.split_once('_'))
        .unwrap();
    assert_eq!(secret.len(), 43, "{credential}");
    let shown = admin
        .post(
            "/admin/oqs-links",
            &[("label", "2階レセコン"), ("character_code", "0")],
        )
        .await;
    let second = credential_on(&shown);
    assert_ne!(second, credential);
    assert!(
        unescape(&shown.body).contains(&format!(
            "zaitaku oqs-link --server {base} --folder 連携フォルダ --credential {second}"
        )),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("ZAITAKU_OQS_CREDENTIAL"));
    assert!(shown.header("cache-control").contains("no-store"));
    // Only the secret's SHA-256 is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT secret_sha256 FROM oqs_links")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !credential.contains(h.as_str()) && h != secret)
    );
    // The list: 名称, 文字コード, 発行日時, 最終利用, 状態; never the credential.
    let page = admin.get("/admin/oqs-links").await;
    for text in [
        "受付レセコン",
        "Shift_JIS",
        "2階レセコン",
        "UTF-8",
        "試験 管理者",
        "有効",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    assert!(!page.body.contains(secret));
    let issued = records(store, "oqs_link.issue").await;
    assert_eq!(issued.len(), 2);
    assert!(issued.iter().all(|r| r.actor == "staff"
        && r.outcome == "ok"
        && r.institution_id == Some(w.a.id)
        && r.detail.contains(&format!("\"account\":{}", w.a_admin.id))
        && !r.detail.contains(secret)));
    assert!(
        issued
            .iter()
            .any(|r| r.detail.contains(&format!("\"link\":{id}"))
                && r.detail.contains("受付レセコン")
                && r.detail.contains("\"character_code\":\"1\"")),
        "{issued:?}"
    );

    // Authenticated as A, in the link's encoding; 最終利用 at most once a minute.
    // Whole microseconds, as the database keeps instants.
    let t0 = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    let p = accepted(store, &credential, t0).await;
    assert_eq!(p.link_id.to_string(), id);
    assert_eq!(p.institution_id, w.a.id);
    assert_eq!(p.institution_code, w.a.institution.code.as_str());
    assert_eq!(p.character_code, CharacterCode::ShiftJis);
    let p2 = accepted(store, &format!("  {second}\n"), t0).await;
    assert_eq!(p2.character_code, CharacterCode::Utf8);
    let id: i64 = id.parse().unwrap();
    let first_use = last_used(store, &w.a, id).await;
    assert_eq!(first_use, Some(t0));
    accepted(store, &credential, t0 + Duration::seconds(30)).await;
    assert_eq!(
        last_used(store, &w.a, id).await,
        first_use,
        "not within a minute"
    );
    accepted(store, &credential, t0 + Duration::seconds(61)).await;
    assert_eq!(
        last_used(store, &w.a, id).await,
        Some(t0 + Duration::seconds(61)),
        "after a minute"
    );

    // The server takes a credential it authenticated for a second without
    // reading the link; a rotation through it forgets it at once.
    let server_cache = &w.srv.state.oqs_links;
    let before = Utc::now();
    authenticate(store, server_cache, Some(&credential), before)
        .await
        .unwrap();

    // 再発行 asks first, then shows the new credential once; the old one stops.
    let confirm = admin.get(&format!("/admin/oqs-links/{id}/rotate")).await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm
            .body
            .contains("「受付レセコン」の認証情報を再発行しますか")
    );
    assert!(
        confirm
            .body
            .contains(&format!("action=\"/admin/oqs-links/{id}/rotate\""))
    );
    let page = admin
        .post(&format!("/admin/oqs-links/{id}/rotate"), &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.summary());
    assert!(page.body.contains("認証情報を再発行しました"));
    let rotated = credential_on(&page);
    assert_ne!(rotated, credential);
    assert_eq!(id_of(&rotated), id);
    let now = Utc::now();
    assert_eq!(
        refused(store, Some(&credential), now).await,
        LinkRefusal::WrongSecret
    );
    assert_eq!(
        refused_by(store, server_cache, Some(&credential), before).await,
        LinkRefusal::WrongSecret,
        "the rotation did not forget the old credential"
    );
    assert_eq!(accepted(store, &rotated, now).await.institution_id, w.a.id);
    // Another node that took the credential a moment before the revocation
    // below keeps taking it for at most a second.
    let other_node = LinkCache::default();
    authenticate(store, &other_node, Some(&rotated), now)
        .await
        .unwrap();
    let r = &records(store, "oqs_link.rotate").await[0];
    assert_eq!((r.actor.as_str(), r.outcome.as_str()), ("staff", "ok"));
    assert!(r.detail.contains(&format!("\"link\":{id}")));
    assert!(r.detail.contains(&format!("\"account\":{}", w.a_admin.id)));

    // 無効化 asks first; afterwards the credential never authenticates.
    let confirm = admin.get(&format!("/admin/oqs-links/{id}/revoke")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("「受付レセコン」を無効化しますか"));
    let res = admin
        .post(&format!("/admin/oqs-links/{id}/revoke"), &[])
        .await;
    assert_eq!(
        (res.status, res.location.as_str()),
        (303, "/admin/oqs-links?done=revoked")
    );
    assert_eq!(
        refused(store, Some(&rotated), Utc::now()).await,
        LinkRefusal::Revoked
    );
    assert_eq!(
        authenticate(
            store,
            &other_node,
            Some(&rotated),
            now + Duration::milliseconds(900)
        )
        .await
        .unwrap()
        .link_id,
        id
    );
    assert_eq!(
        refused_by(
            store,
            &other_node,
            Some(&rotated),
            now + Duration::seconds(1)
        )
        .await,
        LinkRefusal::Revoked
    );
    let page = admin.get("/admin/oqs-links?done=revoked").await;
    assert!(page.body.contains("レセコン連携を無効化しました。"));
    assert!(page.body.contains("無効（"));
    let r = &records(store, "oqs_link.revoke").await[0];
    assert_eq!(r.outcome, "ok");
    // A revoked link is not issued a credential again, nor revoked twice.
    let res = admin
        .post(&format!("/admin/oqs-links/{id}/rotate"), &[])
        .await;
    assert_eq!(res.status, 422, "{}", res.summary());
    assert!(res.shows_code("Z-W-0670"));
    assert!(!res.body.contains("id=\"credential\""));
    assert_eq!(
        refused(store, Some(&rotated), Utc::now()).await,
        LinkRefusal::Revoked
    );
    let res = admin
        .post(&format!("/admin/oqs-links/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(
        records(store, "oqs_link.revoke").await[0].outcome,
        "already_revoked"
    );
    let res = admin.get(&format!("/admin/oqs-links/{id}/rotate")).await;
    assert_eq!(res.location, "/admin/oqs-links", "nothing to confirm");
    // The other link is untouched.
    assert_eq!(
        accepted(store, &second, Utc::now()).await.institution_id,
        w.a.id
    );

    // What the administrator's form refuses.
    for (label, code, shown) in [
        ("", "1", "Z-V-0001"),
        ("　", "0", "Z-V-0001"),
        (&*"長".repeat(51), "0", "Z-V-0007"),
        ("受付", "", "Z-V-0001"),
        ("受付", "2", "Z-V-0009"),
    ] {
        let res = admin
            .post(
                "/admin/oqs-links",
                &[("label", label), ("character_code", code)],
            )
            .await;
        assert_eq!(res.status, 422, "{label:?} {code:?}: {}", res.summary());
        assert!(
            res.shows_code(shown),
            "{label:?} {code:?}: {}",
            res.summary()
        );
        assert!(!res.body.contains("id=\"credential\""));
    }
    assert_eq!(store.oqs_links_of(w.a.id).await.unwrap().len(), 2);
}
on_both!(a_link_is_issued_used_rotated_and_revoked);

async fn credentials_are_refused_and_kept_to_their_institution(url: &str) {
    let w = world(url).await;
    let base = &w.srv.base;
    let store = &w.srv.store;
    let a_admin = Browser::login(base, &w.a, "aadmin").await;
    let b_admin = Browser::login(base, &w.b, "badmin").await;
    let a_cred = issue(&a_admin, "試験 受付レセコン", "0").await;
    let b_cred = issue(&b_admin, "別院 レセコン", "1").await;
    let now = Utc::now();

    // Each authenticates as its own institution only.
    let a = accepted(store, &a_cred, now).await;
    let b = accepted(store, &b_cred, now).await;
    assert_eq!(
        (a.institution_id, a.institution_code.as_str()),
        (w.a.id, w.a.institution.code.as_str())
    );
    assert_eq!(
        (b.institution_id, b.institution_code.as_str()),
        (w.b.id, w.b.institution.code.as_str())
    );
    // A's secret under B's link id is not B's credential (nor A's).
    let a_secret = a_cred.splitn(3, '_').nth(2).unwrap();
    let b_id = id_of(&b_cred);
    let crossed = format!("zoqs_{b_id}_{a_secret}");
    assert_eq!(
        refused(store, Some(&crossed), now).await,
        LinkRefusal::WrongSecret
    );
    // A tampered secret: one character changed.
    let mut chars: Vec<char> = a_cred.chars().collect();
    let at = chars.len() - 10;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert_eq!(
        refused(store, Some(&tampered), now).await,
        LinkRefusal::WrongSecret
    );
    // Missing, malformed, unknown.
    assert_eq!(refused(store, None, now).await, LinkRefusal::Missing);
    assert_eq!(refused(store, Some("  "), now).await, LinkRefusal::Missing);
    for bad in [
        format!("Bearer {a_cred}"),
        a_cred.replace("zoqs_", "zoqs_0"),
        format!("{a_cred}x"),
        a_cred[..a_cred.len() - 1].to_owned(),
        "zoqs_1_short".to_owned(),
    ] {
        assert_eq!(
            refused(store, Some(&bad), now).await,
            LinkRefusal::Malformed,
            "{bad}"
        );
    }
    let unknown = format!("zoqs_999999_{a_secret}");
    assert_eq!(
        refused(store, Some(&unknown), now).await,
        LinkRefusal::Unknown
    );
    // Every refusal is one code and one sentence, audited as a security
    // event; against the institution when the link exists.
    let why = ServiceError::LinkRefused(LinkRefusal::Unknown);
    assert_eq!(why.code(), "Z-Q-0101");
    assert_eq!(
        why.to_string(),
        "レセコン連携の認証情報が正しくありません。管理者に確認してください。"
    );
    let audited = records(store, "oqs_link.authenticate").await;
    let outcomes: Vec<&str> = audited.iter().rev().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "wrong_secret",
            "wrong_secret",
            "no_credential",
            "no_credential",
            "malformed",
            "malformed",
            "malformed",
            "malformed",
            "malformed",
            "unknown_link"
        ]
    );
    assert!(audited.iter().all(|r| r.actor == "receipt_computer"
        && r.detail.contains("Z-Q-0101")
        && !r.detail.contains(a_secret)));
    assert_eq!(
        audited[9].institution_id,
        Some(w.b.id),
        "B's link was named"
    );
    assert_eq!(audited[8].institution_id, Some(w.a.id));
    assert_eq!(audited[0].institution_id, None, "no such link");
    // B's administrator sees the attempt on B's link in B's audit log.
    let log = b_admin.get("/admin/audit").await;
    assert!(log.body.contains("レセコン連携の認証"), "{}", log.summary());
    assert!(log.body.contains("拒否（認証情報の誤り・再発行前のもの）"));

    // A's administrator cannot see, rotate or revoke B's link.
    for (get, path) in [
        (true, format!("/admin/oqs-links/{b_id}/rotate")),
        (false, format!("/admin/oqs-links/{b_id}/rotate")),
        (true, format!("/admin/oqs-links/{b_id}/revoke")),
        (false, format!("/admin/oqs-links/{b_id}/revoke")),
    ] {
        let res = if get {
            a_admin.get(&path).await
        } else {
            a_admin.post(&path, &[]).await
        };
        assert_eq!(res.status, 404, "{path}: {}", res.summary());
        assert!(res.shows_code("Z-W-0605"));
        assert!(!res.body.contains("別院 レセコン"));
    }
    assert!(!a_admin.get("/admin/oqs-links").await.body.contains("別院"));
    assert_eq!(
        accepted(store, &b_cred, Utc::now()).await.institution_id,
        w.b.id
    );
    let denied = records(store, "access.denied").await;
    assert!(denied.iter().any(|d| d.outcome == "not_found"
        && d.institution_id == Some(w.a.id)
        && d.detail.contains(&format!("\"requested_link\":{b_id}"))));

    // Only the administrator: a general user and a medical viewer are refused.
    for user in ["agen", "aview"] {
        let b = Browser::login(base, &w.a, user).await;
        let res = b.get("/admin/oqs-links").await;
        assert_eq!(res.status, 403, "{user}: {}", res.summary());
        assert!(res.shows_code("Z-W-0603"));
        let res = b
            .post(
                "/admin/oqs-links",
                &[("label", "勝手なレセコン"), ("character_code", "0")],
            )
            .await;
        assert_eq!(res.status, 403);
        assert!(!res.body.contains("id=\"credential\""));
        let a_id = id_of(&a_cred);
        let res = b
            .post(&format!("/admin/oqs-links/{a_id}/revoke"), &[])
            .await;
        assert_eq!(res.status, 403);
        assert!(!b.get("/admin").await.body.contains("/admin/oqs-links"));
    }
    assert_eq!(store.oqs_links_of(w.a.id).await.unwrap().len(), 1);
    assert_eq!(
        accepted(store, &a_cred, Utc::now()).await.institution_id,
        w.a.id
    );
}
on_both!(credentials_are_refused_and_kept_to_their_institution);
