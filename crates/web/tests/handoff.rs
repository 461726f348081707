//! The authenticator's contract over HTTP, on SQLite and PostgreSQL:
//! authorize → PIN → code → back channel with PKCE → verified token.

use chrono::{NaiveDate, Utc};
use zaitaku_authenticator::{b64url, code_challenge};
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{PersonRecords, Store};
use zaitaku_testkit::on_both;
use zaitaku_web::AppState;

struct Running {
    base: String,
    state: AppState,
    card: i64,
}

async fn start(url: &str) -> Running {
    let store = Store::open(url).await.unwrap();
    let e = zaitaku_testkit::person(1, NaiveDate::from_ymd_opt(1950, 7, 1).unwrap(), true);
    store
        .insert_persons(&[PersonRecords {
            eligibility: &e,
            drugs: &[],
            clinical: &[],
            checkups: &[],
        }])
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, base.clone()).await.unwrap();
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    let card = state
        .identity
        .issue_card(
            &IssueCard {
                person_id: 1,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on: Utc::now().date_naive() - chrono::Duration::days(10),
                authority_id: None,
                in_demo_wallet: true,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id;
    tokio::spawn(zaitaku_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    Running { base, state, card }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// Runs the browser part; returns (code, verifier, nonce).
async fn authorize_and_unlock(r: &Running, session: &str) -> (String, String, String) {
    let c = client();
    let verifier = b64url(&[7u8; 32]);
    let nonce = r
        .state
        .identity
        .new_nonce(session, Utc::now())
        .await
        .unwrap();
    let url = format!(
        "{}/auth/authorize?state=state-state-state-1&code_challenge={}&code_challenge_method=S256&nonce={}&redirect_uri=/back/callback",
        r.base,
        code_challenge(&verifier),
        enc(&nonce)
    );
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let res = c
        .post(format!("{}{location}/card/{}", r.base, r.card))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    let start = body
        .find("/back/callback?code=")
        .expect("a return link with a code");
    let rest = &body[start + "/back/callback?code=".len()..];
    let code = rest[..rest.find('&').unwrap()].to_owned();
    assert!(rest.contains("state=state-state-state-1"));
    (code, verifier, nonce)
}

async fn exchange(r: &Running, code: &str, verifier: &str) -> (u16, serde_json::Value) {
    exchange_for(r, code, verifier, "/back/callback").await
}

async fn exchange_for(
    r: &Running,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> (u16, serde_json::Value) {
    let res = client()
        .post(format!("{}/auth/token", r.base))
        .form(&[
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn code_and_pkce(url: &str) {
    let r = start(url).await;
    let (code, verifier, nonce) = authorize_and_unlock(&r, "sess-1").await;
    let (status, body) = exchange(&r, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cross_device"], false);
    let token = body["token"].as_str().unwrap();
    let who = r
        .state
        .identity
        .verify_login(token, &r.state.origin(), &nonce, "sess-1", Utc::now())
        .await
        .unwrap();
    assert_eq!(who.person_id, 1);
    // A code works once.
    let (status, body) = exchange(&r, &code, &verifier).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    // A wrong verifier spends the code and gets nothing.
    let (code, _verifier, _) = authorize_and_unlock(&r, "sess-2").await;
    let (status, _) = exchange(&r, &code, &b64url(&[8u8; 32])).await;
    assert_eq!(status, 400);
    let (status, _) = exchange(&r, &code, &b64url(&[7u8; 32])).await;
    assert_eq!(status, 400, "the code must be spent by the failed attempt");

    // A code is bound to the redirect_uri it was issued for: presented with
    // another one it gives nothing, and is spent.
    let (code, verifier, _) = authorize_and_unlock(&r, "sess-3").await;
    let (status, body) = exchange_for(&r, &code, &verifier, "/other/callback").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = exchange(&r, &code, &verifier).await;
    assert_eq!(status, 400, "the code must be spent by the failed attempt");
}
on_both!(code_and_pkce);

async fn malformed_requests_are_refused(url: &str) {
    let r = start(url).await;
    let c = client();
    let good_challenge = code_challenge(&b64url(&[1u8; 32]));
    let nonce = enc(&r.state.identity.new_nonce("s", Utc::now()).await.unwrap());
    let cases = [
        format!(
            "state=short&code_challenge={good_challenge}&code_challenge_method=S256&nonce={nonce}&redirect_uri=/back/callback"
        ),
        format!(
            "state=state-state-state-1&code_challenge={good_challenge}&code_challenge_method=plain&nonce={nonce}&redirect_uri=/back/callback"
        ),
        format!(
            "state=state-state-state-1&code_challenge={good_challenge}&code_challenge_method=S256&nonce={nonce}&redirect_uri=https://evil.example/steal"
        ),
        format!(
            "state=state-state-state-1&code_challenge={good_challenge}&code_challenge_method=S256&nonce={nonce}&redirect_uri=//evil.example/x"
        ),
        format!(
            "state=state-state-state-1&code_challenge=abc&code_challenge_method=S256&nonce={nonce}&redirect_uri=/back/callback"
        ),
        "state=state-state-state-1".to_owned(),
    ];
    // Targets a browser resolves to another site, and paths that are not a
    // callback: none may receive a code.
    let stolen = [
        "/%5Cevil.example/callback",
        "/%5C%5Cevil.example/callback",
        "/%09/evil.example/callback",
        "/%0D/evil.example/callback",
        "/%0A/evil.example/callback",
        "/%20/evil.example/callback",
        "//evil.example/callback",
        "///evil.example/callback",
        "https://evil.example/callback",
        "http%3A%2F%2F127.0.0.1.evil.example/callback",
        "/w/x/../../callback",
        "/w/x/%2E%2E/callback",
        "/w/x/callback?next=//evil.example",
        "/back",
    ];
    let cases: Vec<String> = cases
        .into_iter()
        .chain(stolen.iter().map(|uri| {
            format!(
                "state=state-state-state-1&code_challenge={good_challenge}&code_challenge_method=S256&nonce={nonce}&redirect_uri={uri}"
            )
        }))
        .collect();
    for q in cases {
        let res = c
            .get(format!("{}/auth/authorize?{q}", r.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{q}");
        assert!(res.headers().get("location").is_none(), "{q}");
        assert!(res.text().await.unwrap().contains("Z-A-0001"), "{q}");
    }
    // Unknown hand-off ids and a missing verifier.
    let res = c
        .get(format!("{}/auth/r/nope", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = c
        .post(format!("{}/auth/token", r.base))
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
on_both!(malformed_requests_are_refused);

async fn qr_marks_the_hand_off_cross_device(url: &str) {
    let r = start(url).await;
    let c = client();
    let verifier = b64url(&[9u8; 32]);
    let nonce = r.state.identity.new_nonce("pc", Utc::now()).await.unwrap();
    let res = c
        .get(format!(
            "{}/auth/authorize?state=state-state-state-2&code_challenge={}&code_challenge_method=S256&nonce={}&redirect_uri=/back/callback",
            r.base,
            code_challenge(&verifier),
            enc(&nonce)
        ))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    // The PC shows the QR code; the phone opens the link in it.
    let qr = c
        .get(format!("{}{location}/qr", r.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(qr.contains("<svg"));
    assert!(qr.contains("http-equiv=\"refresh\""));
    let phone = c
        .get(format!("{}{location}?via=qr", r.base))
        .header("user-agent", "Mozilla/5.0 (iPhone) Mobile")
        .send()
        .await
        .unwrap();
    assert_eq!(phone.status(), 200);
    let done = c
        .post(format!("{}{location}/card/{}", r.base, r.card))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("パソコン・タブレットの画面に戻ってください"));
    assert!(
        !done.contains("code="),
        "the phone must not carry the code back"
    );
    // The PC's next refresh follows the redirect back with the code.
    let pc = c
        .get(format!("{}{location}/qr", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(pc.status(), 303);
    let back = pc.headers()["location"].to_str().unwrap().to_owned();
    let code = back
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let (status, body) = exchange(&r, &code, &verifier).await;
    assert_eq!(status, 200);
    assert_eq!(body["cross_device"], true);
}
on_both!(qr_marks_the_hand_off_cross_device);

/// A production server (no `--stand-in-authenticator`) serves neither the
/// stand-in's wallet nor the card check of `/demo/identity`.
async fn the_stand_in_is_off_unless_asked_for(url: &str) {
    let store = Store::open(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, base.clone())
        .await
        .unwrap()
        .with_stand_in_authenticator(false);
    tokio::spawn(zaitaku_web::serve(listener, state, std::future::pending()));
    let c = client();
    for path in [
        "/auth/authorize?state=state-state-state-1",
        "/auth/r/anything",
        "/demo/identity",
    ] {
        let res = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = c
        .post(format!("{base}/auth/token"))
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let health = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
on_both!(the_stand_in_is_off_unless_asked_for);

/// The wallet as a device at `path` (under the hand-off) lists it: the card
/// ids it offers and the page.
async fn wallet_as(r: &Running, location: &str, path: &str, ua: &str) -> (Vec<i64>, String) {
    let page = client()
        .get(format!("{}{location}{path}", r.base))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ids = page
        .split("/card/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect();
    (ids, page)
}

async fn a_pc_reader_lists_physical_cards_only(url: &str) {
    let r = start(url).await;
    let mut phone_cards = Vec::new();
    for kind in [CardKind::IPhone, CardKind::Android] {
        let card = r
            .state
            .identity
            .issue_card(
                &IssueCard {
                    person_id: 1,
                    kind,
                    pin: (kind == CardKind::Android).then(|| "5678".into()),
                    issued_on: Utc::now().date_naive() - chrono::Duration::days(10),
                    authority_id: None,
                    in_demo_wallet: true,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        phone_cards.push(card.id);
    }
    r.state
        .identity
        .name_wallet_card(r.card, "一般（3割）")
        .await
        .unwrap();
    let nonce = r.state.identity.new_nonce("pc", Utc::now()).await.unwrap();
    let res = client()
        .get(format!(
            "{}/auth/authorize?state=state-state-state-3&code_challenge={}&code_challenge_method=S256&nonce={}&redirect_uri=/back/callback",
            r.base,
            code_challenge(&b64url(&[3u8; 32])),
            enc(&nonce)
        ))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    const PC: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/140.0";
    const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148";
    let all = [r.card, phone_cards[0], phone_cards[1]];

    // The PC's IC card reader reads a physical card only.
    let (ids, page) = wallet_as(&r, &location, "", PC).await;
    assert_eq!(ids, [r.card], "{page}");
    assert!(page.contains("二次元コード"));
    // The card's name says which case it shows, above its kind and holder.
    assert!(page.contains("一般（3割）"), "{page}");
    assert!(page.contains("マイナンバーカード・"), "{page}");
    // A phone, reached directly or through the QR code, offers every card.
    let (ids, _) = wallet_as(&r, &location, "", PHONE).await;
    assert_eq!(ids, all);
    let (ids, _) = wallet_as(&r, &location, "?via=qr", PC).await;
    assert_eq!(ids, all);
}
on_both!(a_pc_reader_lists_physical_cards_only);

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// A card issued outside the demo wallet is neither offered by the
/// authenticator nor accepted when its id is put in the URL, even with the
/// right PIN; the hand-off stays open for a card of the wallet.
async fn a_card_outside_the_demo_wallet_cannot_be_chosen(url: &str) {
    let r = start(url).await;
    let outside = r
        .state
        .identity
        .issue_card(
            &IssueCard {
                person_id: 1,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on: Utc::now().date_naive() - chrono::Duration::days(10),
                authority_id: None,
                in_demo_wallet: false,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id;
    let c = client();
    // In through the server's own hand-off (the demo identity check).
    let res = c
        .post(format!("{}/demo/identity/start", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = c
        .get(format!("{}{}", r.base, location(&res)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let request = location(&res);
    assert!(request.starts_with("/auth/r/"), "{request}");

    let wallet = c
        .get(format!("{}{request}", r.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        wallet.contains(&format!("href=\"{request}/card/{}\"", r.card)),
        "{wallet}"
    );
    assert!(!wallet.contains(&format!("/card/{outside}\"")), "{wallet}");

    let pin_pad = c
        .get(format!("{}{request}/card/{outside}", r.base))
        .send()
        .await
        .unwrap();
    let unlock = c
        .post(format!("{}{request}/card/{outside}", r.base))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    for res in [pin_pad, unlock] {
        assert_eq!(res.status(), 400);
        let body = res.text().await.unwrap();
        assert!(body.contains("Z-A-0001"), "{body}");
        assert!(!body.contains("code="), "{body}");
    }
    // The card was never asked for its PIN.
    let card = r.state.store.card(outside).await.unwrap().unwrap();
    assert_eq!((card.tries_left, card.locked), (3, false));
    assert!(
        r.state
            .store
            .audit_records(Some("card.unlock"), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let done = c
        .post(format!("{}{request}/card/{}", r.base, r.card))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("/demo/identity/callback?code="), "{done}");
}
on_both!(a_card_outside_the_demo_wallet_cannot_be_chosen);
