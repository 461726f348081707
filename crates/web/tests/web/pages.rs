//! The real server on a free port, against SQLite and PostgreSQL.

use chrono::Utc;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{Store, StoredInstitution};
use zaitaku_web::AppState;

use zaitaku_testkit::on_both;

struct Running {
    base: String,
    store: Store,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(url: &str) -> Running {
    let store = Store::open(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(store.clone(), base.clone()).await.unwrap();
    tokio::spawn(zaitaku_web::serve(listener, state, async {
        let _ = rx.await;
    }));
    Running {
        base,
        store,
        _stop: tx,
    }
}

async fn institution(store: &Store, number: u16, enabled: bool) -> StoredInstitution {
    let code = InstitutionCode::build(
        Prefecture::new(13).unwrap(),
        InstitutionKind::Medical,
        1,
        number,
    )
    .unwrap();
    let mut i = Institution::new(code, "試験在宅クリニック", true).unwrap();
    i.remote_function_enabled = enabled;
    store
        .insert_institution(&i, &zaitaku_storage::new_url_token().unwrap(), Utc::now())
        .await
        .unwrap()
}

async fn get(url: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.text().await.unwrap(), headers)
}

async fn health_reports_the_database(url: &str) {
    let s = start(url).await;
    let (status, body, _) = get(&format!("{}/healthz", s.base)).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["database"], "ok");
    // With the database gone, the probe says so instead of claiming health.
    s.store.close().await;
    let (status, body, _) = get(&format!("{}/healthz", s.base)).await;
    assert_eq!(status, 503, "{body}");
}
on_both!(health_reports_the_database);

async fn institution_url_opens_the_start_page(url: &str) {
    let s = start(url).await;
    let inst = institution(&s.store, 1, true).await;
    let (status, body, headers) = get(&format!("{}/w/{}", s.base, inst.url_token)).await;
    assert_eq!(status, 200);
    assert!(body.contains("試験在宅クリニック"));
    assert!(body.contains("同意登録の準備と開始"));
    assert!(body.contains("マイナンバーカードの健康保険証利用の登録"));
    assert!(body.contains("画面番号：A-01"));
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    // Nothing of a visit stays in the browser's cache or history.
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    let (status, body, _) = get(&format!("{}/w/{}/faq", s.base, inst.url_token)).await;
    assert_eq!(status, 200);
    assert!(body.contains("よくあるご質問"));
    assert!(body.contains("E-C-04-02-A-6002"));

    let (status, css, headers) = get(&format!("{}/static/app.css", s.base)).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.contains("--primary"));
}
on_both!(institution_url_opens_the_start_page);

async fn unusable_urls_reveal_nothing(url: &str) {
    let s = start(url).await;
    let off = institution(&s.store, 2, false).await;
    let on = institution(&s.store, 3, true).await;
    let old_token = on.url_token.clone();
    s.store.rotate_url_token(on.id, Utc::now()).await.unwrap();

    let unknown = "0".repeat(64);
    let candidates = [
        format!("{}/w/{}", s.base, off.url_token),
        format!("{}/w/{}", s.base, old_token),
        format!("{}/w/{unknown}", s.base),
        format!("{}/w/short", s.base),
        format!("{}/w/{}/faq", s.base, off.url_token),
    ];
    let mut bodies = Vec::new();
    for c in &candidates {
        let (status, body, _) = get(c).await;
        assert_eq!(status, 404, "{c}");
        assert!(body.contains("このURLではご利用いただけません"), "{c}");
        assert!(body.contains("Z-W-0410"));
        assert!(
            !body.contains("試験在宅クリニック"),
            "institution name leaked for {c}"
        );
        bodies.push(body);
    }
    // Every case renders the very same page.
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));

    let (status, body, _) = get(&format!("{}/no/such/page", s.base)).await;
    assert_eq!(status, 404);
    assert!(body.contains("ページが見つかりません"));
}
on_both!(unusable_urls_reveal_nothing);
