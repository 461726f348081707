//! The start page in a real headless Chromium (Debian's `chromium`), as a
//! phone and as a desktop would load it.

use std::process::Command;

use chrono::Utc;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::Store;
use zaitaku_web::AppState;

fn chromium(args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium could not start ({e}); install it with scripts/ensure-packages")
        })
}

#[tokio::test]
async fn start_page_renders_in_chromium_at_phone_and_desktop_sizes() {
    let db = zaitaku_testkit::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    let code = InstitutionCode::build(
        Prefecture::new(13).unwrap(),
        InstitutionKind::HomeNursing,
        1,
        7,
    )
    .unwrap();
    let mut inst = Institution::new(code, "試験訪問看護ステーション", false).unwrap();
    inst.remote_function_enabled = true;
    let saved = store
        .insert_institution(
            &inst,
            &zaitaku_storage::new_url_token().unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, base.clone()).await.unwrap();
    tokio::spawn(zaitaku_web::serve(listener, state, std::future::pending()));
    let url = format!("{base}/w/{}", saved.url_token);

    let dom = tokio::task::spawn_blocking({
        let url = url.clone();
        move || chromium(&["--window-size=390,844", "--dump-dom", &url])
    })
    .await
    .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(html.contains("試験訪問看護ステーション"));
    assert!(html.contains("同意登録の準備と開始"));
    assert!(html.contains("画面番号：A-01"));
    assert!(
        html.contains(r#"href="/w/"#),
        "menu link to the FAQ is missing"
    );

    for size in ["390,844", "1366,768"] {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("shot.png");
        let shot = tokio::task::spawn_blocking({
            let url = url.clone();
            let arg = format!("--screenshot={}", png.display());
            move || chromium(&[&format!("--window-size={size}"), &arg, &url])
        })
        .await
        .unwrap();
        assert!(
            shot.status.success(),
            "{}",
            String::from_utf8_lossy(&shot.stderr)
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "no screenshot at {size}");
        assert!(
            bytes.len() > 10_000,
            "suspiciously empty screenshot at {size}"
        );
    }
}
