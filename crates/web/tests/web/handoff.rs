//! The authenticator's contract over HTTP, on SQLite and PostgreSQL:
//! authorize → PIN → code → back channel with PKCE → verified token.

use chrono::{NaiveDate, Utc};
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_proto::base64url::encode as b64url;
use zaitaku_proto::pkce::challenge as code_challenge;
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
        .insert_persons(&[PersonRecords::eligibility_only(&e)])
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
    let body = unlock(r, &location, "1234").await;
    let start = body
        .find("/back/callback?code=")
        .expect("a return link with a code");
    let rest = &body[start + "/back/callback?code=".len()..];
    let code = rest[..rest.find('&').unwrap()].to_owned();
    assert!(rest.contains("state=state-state-state-1"));
    (code, verifier, nonce)
}

/// Enters the PIN on hand-off `at` (`/auth/r/<id>`): the POST answers 303
/// to the success page, whose text is returned.
async fn unlock(r: &Running, at: &str, pin: &str) -> String {
    let c = client();
    let res = c
        .post(format!("{}{at}/card/{}", r.base, r.card))
        .form(&[("pin", pin)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the PIN is answered with a redirect");
    let done = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(done, format!("{at}/done"));
    let res = c.get(format!("{}{done}", r.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("認証に成功しました"), "{body}");
    assert!(
        !body.contains("http-equiv"),
        "the success page must not refresh itself"
    );
    body
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
    // The page polls instead of reloading itself, counts the five minutes
    // down from a value the server wrote, and keeps a link for browsers
    // without the script.
    assert!(!qr.contains("http-equiv"), "{qr}");
    assert!(qr.contains("/auth/static/handoff.js"));
    assert!(qr.contains(&format!("data-status-url=\"{location}/status\"")));
    assert!(qr.contains("aria-live=\"polite\""));
    assert!(qr.contains("認証が終わったらこちら"));
    assert!(qr.contains(&format!("href=\"{location}/qr\"")));
    let left = qr
        .split("data-seconds=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap();
    assert!((280..=300).contains(&left), "{left}");
    assert!(qr.contains(&format!(">{}:{:02}<", left / 60, left % 60)));
    let status = |c: reqwest::Client| {
        let url = format!("{}{location}/status", r.base);
        async move {
            let res = c.get(url).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    assert_eq!(
        status(c.clone()).await,
        serde_json::json!({"state": "waiting"})
    );
    let phone = c
        .get(format!("{}{location}?via=qr", r.base))
        .header("user-agent", "Mozilla/5.0 (iPhone) Mobile")
        .send()
        .await
        .unwrap();
    assert_eq!(phone.status(), 200);
    let done = unlock(&r, &location, "1234").await;
    assert!(done.contains("パソコン・タブレットの画面に戻ってください"));
    assert!(
        !done.contains("code="),
        "the phone must not carry the code back"
    );
    // The PC's script learns it is done, and where to go: the QR page,
    // which redirects with the code (the code is not in the JSON).
    assert_eq!(
        status(c.clone()).await,
        serde_json::json!({"state": "done", "next": format!("{location}/qr")})
    );
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
    let (code_status, body) = exchange(&r, &code, &verifier).await;
    assert_eq!(code_status, 200);
    assert_eq!(body["cross_device"], true);
    // Opened again once the service has the code: used, not expired, on
    // the PC and on the phone alike.
    for page in ["/qr", "", "/done"] {
        let res = c
            .get(format!("{}{location}{page}", r.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 410, "{page}");
        let body = res.text().await.unwrap();
        assert!(body.contains("この認証は使用済みです"), "{page}: {body}");
        assert!(!body.contains("有効期限が切れました"), "{page}");
    }
    assert_eq!(status(c.clone()).await["state"], "done");
}
on_both!(qr_marks_the_hand_off_cross_device);

/// Opens a hand-off with extra query text; returns `/auth/r/<id>`.
async fn open_hand_off(r: &Running, extra: &str) -> String {
    let verifier = b64url(&[5u8; 32]);
    let nonce = r
        .state
        .identity
        .new_nonce("sess-x", Utc::now())
        .await
        .unwrap();
    let res = client()
        .get(format!(
            "{}/auth/authorize?state=state-state-state-9&code_challenge={}&code_challenge_method=S256&nonce={}&redirect_uri=/back/callback{extra}",
            r.base,
            code_challenge(&verifier),
            enc(&nonce)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{extra}");
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn page(path: &str, r: &Running) -> (u16, String) {
    let res = client()
        .get(format!("{}{path}", r.base))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Every POST ends in a redirect: a wrong PIN and a malformed one go back
/// to the PIN page, which says why and how many tries are left; the right
/// one goes to the success page. Back and reload then never resubmit.
async fn the_pin_is_answered_with_redirects(url: &str) {
    let r = start(url).await;
    let at = open_hand_off(&r, "").await;
    let c = client();
    let card = format!("{at}/card/{}", r.card);
    let (status, body) = page(&card, &r).await;
    assert_eq!(status, 200);
    assert!(body.contains("残り<strong>3</strong>回"), "{body}");
    // The PIN pad: 「1字消す」 rather than an arrow read as "back", and the
    // count of digits entered, written by the pad's script.
    assert!(body.contains(">1字消す</button>"), "{body}");
    assert!(!body.contains(">←<"));
    assert!(body.contains("id=\"pin-progress\""));
    assert!(body.contains("aria-live=\"polite\""));
    let (_, pad) = page("/auth/static/keypad.js", &r).await;
    assert!(pad.contains("'4桁中' + input.value.length + '桁入力'"));

    for (pin, error, message, left) in [
        (
            "9999",
            "wrong_pin",
            "暗証番号が違います。もう一度入力してください。",
            2,
        ),
        (
            "12a4",
            "pin_format",
            "暗証番号は数字4桁で入力してください。",
            2,
        ),
    ] {
        let res = c
            .post(format!("{}{card}", r.base))
            .form(&[("pin", pin)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{pin}");
        let again = res.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(again, format!("{card}?error={error}"));
        let (status, body) = page(&again, &r).await;
        assert_eq!(status, 200);
        assert!(body.contains(message), "{body}");
        assert!(
            body.contains(&format!("残り<strong>{left}</strong>回")),
            "{body}"
        );
    }
    let res = c
        .post(format!("{}{card}", r.base))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("{at}/done").as_str());
    let (status, done) = page(&format!("{at}/done"), &r).await;
    assert_eq!(status, 200);
    assert!(!done.contains("http-equiv"), "{done}");
    assert!(done.contains("/auth/static/handoff.js"));
    assert!(done.contains("href=\"/back/callback?code="), "{done}");
    assert!(done.contains("data-auto-return"));
    // Reloading the success page while the code waits shows it again.
    let (status, _) = page(&format!("{at}/done"), &r).await;
    assert_eq!(status, 200);
    let (_, script) = page("/auth/static/handoff.js", &r).await;
    assert!(script.contains("location.replace"));

    // Back to the PIN page, or the form sent again: used, with the way back.
    for res in [
        c.get(format!("{}{card}", r.base)).send().await.unwrap(),
        c.get(format!("{}{at}", r.base)).send().await.unwrap(),
        c.post(format!("{}{card}", r.base))
            .form(&[("pin", "1234")])
            .send()
            .await
            .unwrap(),
    ] {
        let res = if res.status() == 303 {
            let to = res.headers()["location"].to_str().unwrap().to_owned();
            assert_eq!(to, card, "a resubmitted PIN goes to the PIN page");
            c.get(format!("{}{to}", r.base)).send().await.unwrap()
        } else {
            res
        };
        assert_eq!(res.status(), 410);
        let body = res.text().await.unwrap();
        assert!(body.contains("この認証は使用済みです"), "{body}");
        assert!(body.contains("Z-A-0005"));
        assert!(!body.contains("有効期限が切れました"), "{body}");
        assert!(
            body.contains("href=\"/back/callback?error=used&#38;state=state-state-state-9\"")
                || body
                    .contains("href=\"/back/callback?error=used&amp;state=state-state-state-9\""),
            "{body}"
        );
    }
}
on_both!(the_pin_is_answered_with_redirects);

/// The status the QR page polls, for each state a hand-off can be in.
async fn status_endpoint(url: &str) {
    let r = start(url).await;
    let json = |path: String| {
        let base = r.base.clone();
        async move {
            let res = client()
                .get(format!("{base}{path}/status"))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let cache = res
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = if status == 200 {
                res.json().await.unwrap()
            } else {
                serde_json::Value::Null
            };
            (status, cache, body)
        }
    };
    let waiting = open_hand_off(&r, "").await;
    let (status, cache, body) = json(waiting.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert_eq!(body, serde_json::json!({"state": "waiting"}));

    let cancelled = open_hand_off(&r, "").await;
    let res = client()
        .post(format!("{}{cancelled}/cancel", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/back/callback?error=cancelled&state=state-state-state-9"
    );
    let (_, _, body) = json(cancelled.clone()).await;
    assert_eq!(
        body,
        serde_json::json!({"state": "cancelled", "next": format!("{cancelled}/qr")})
    );
    let (status, body) = page(&format!("{cancelled}/qr"), &r).await;
    assert_eq!(status, 410);
    assert!(body.contains("この認証は中止されました"), "{body}");
    assert!(body.contains("error=cancelled"));

    let expired = open_hand_off(&r, "").await;
    let id = expired.trim_start_matches("/auth/r/");
    sqlx::query("UPDATE auth_requests SET expires_at = 0 WHERE id = $1")
        .bind(id)
        .execute(r.state.store.pool())
        .await
        .unwrap();
    let (_, _, body) = json(expired.clone()).await;
    assert_eq!(
        body,
        serde_json::json!({"state": "expired", "next": format!("{expired}/qr")})
    );
    let (status, body) = page(&format!("{expired}/qr"), &r).await;
    assert_eq!(status, 410);
    assert!(body.contains("認証の有効期限が切れました"), "{body}");

    let (status, _, _) = json("/auth/r/nope".to_owned()).await;
    assert_eq!(status, 404);
}
on_both!(status_endpoint);

/// The institution and the action are named on every step, escaped, and
/// the success page says what is still to be done, per purpose (seed 000
/// ③本人認証 ※2).
async fn pages_say_what_the_authentication_is_for(url: &str) {
    let r = start(url).await;
    let name = "試験在宅クリニック";
    let cases = [
        ("register", "同意登録のための本人確認です", Some("同意登録")),
        ("view", "同意照会のための本人確認です", Some("同意照会")),
        ("update", "同意更新のための本人確認です", Some("同意更新")),
        ("cancel", "同意取消のための本人確認です", Some("同意取消")),
        ("identity", "本人確認のテストです", None),
    ];
    for (purpose, lead, unfinished) in cases {
        let at = open_hand_off(&r, &format!("&client_name={}&purpose={purpose}", pct(name))).await;
        for step in [
            at.clone(),
            format!("{at}/qr"),
            format!("{at}/card/{}", r.card),
        ] {
            let (status, body) = page(&step, &r).await;
            assert_eq!(status, 200, "{step}");
            assert!(body.contains(name), "{step}: {body}");
            assert!(body.contains(lead), "{step}: {body}");
        }
        let done = unlock(&r, &at, "1234").await;
        assert!(done.contains(name) && done.contains(lead));
        match unfinished {
            Some(what) => {
                assert!(
                    done.contains(&format!("{what}は完了していません")),
                    "{purpose}: {done}"
                );
                assert!(done.contains(&format!(
                    "必ず、マイナ在宅受付Webサービスへ戻り{what}を完了してください。"
                )));
            }
            None => assert!(!done.contains("完了していません"), "{done}"),
        }
        for other in ["同意登録は", "同意照会は", "同意更新は", "同意取消は"] {
            if unfinished.is_none_or(|w| !other.starts_with(w)) {
                assert!(!done.contains(other), "{purpose}: {other}");
            }
        }
    }
    // The biometric prompt names them too.
    let iphone = r
        .state
        .identity
        .issue_card(
            &IssueCard {
                person_id: 1,
                kind: CardKind::IPhone,
                pin: None,
                issued_on: Utc::now().date_naive() - chrono::Duration::days(10),
                authority_id: None,
                in_demo_wallet: true,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id;
    let at = open_hand_off(&r, "&client_name=%E8%A9%A6%E9%A8%93&purpose=cancel").await;
    let (_, body) = page(&format!("{at}/card/{iphone}"), &r).await;
    assert!(body.contains("生体認証で本人確認をします"));
    assert!(body.contains("試験") && body.contains("同意取消のための本人確認です"));

    // Markup in a name is shown as text.
    let at = open_hand_off(&r, "&client_name=%3Cb%3E%E8%A9%A6%E9%A8%93%3C%2Fb%3E").await;
    let (_, body) = page(&at, &r).await;
    assert!(
        body.contains("&#60;b&#62;試験") || body.contains("&lt;b&gt;試験"),
        "{body}"
    );
    assert!(!body.contains("<b>試験"));

    // Without hints: no line, and the success page names no action.
    let at = open_hand_off(&r, "").await;
    let (_, body) = page(&at, &r).await;
    assert!(!body.contains("class=\"subject"));
    let done = unlock(&r, &at, "1234").await;
    assert!(done.contains("手続きは完了していません"), "{done}");

    // A hint that breaks its rule refuses the request, like any other field.
    let long = "%E3%81%82".repeat(101);
    for bad in [
        "&purpose=delete".to_owned(),
        "&purpose=".to_owned(),
        format!("&client_name={long}"),
        "&client_name=".to_owned(),
        "&client_name=%E8%A9%A6%0A%E9%A8%93".to_owned(),
        "&client_name=%E2%80%AE%E8%A9%A6".to_owned(),
    ] {
        let nonce = enc(&r.state.identity.new_nonce("s", Utc::now()).await.unwrap());
        let res = client()
            .get(format!(
                "{}/auth/authorize?state=state-state-state-1&code_challenge={}&code_challenge_method=S256&nonce={nonce}&redirect_uri=/back/callback{bad}",
                r.base,
                code_challenge(&b64url(&[1u8; 32])),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        assert!(res.text().await.unwrap().contains("Z-A-0001"));
    }
    // 100 characters are fine.
    open_hand_off(&r, &format!("&client_name={}", "%E3%81%82".repeat(100))).await;
}
on_both!(pages_say_what_the_authentication_is_for);

fn pct(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// PCs and tablets are offered the QR code, phones are not: the same
/// reading of the User-Agent as the web service's
/// (`zaitaku_domain::display_form`).
async fn tablets_and_phones_are_told_apart(url: &str) {
    let r = start(url).await;
    let at = open_hand_off(&r, "").await;
    for (ua, qr) in [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
            true,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1",
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-X710) Chrome/131.0 Safari/537.36",
            true,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131.0 Mobile Safari/537.36",
            false,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148",
            false,
        ),
    ] {
        let body = client()
            .get(format!("{}{at}", r.base))
            .header("user-agent", ua)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            body.contains("スマートフォンで読み取る（二次元コード）"),
            qr,
            "{ua}"
        );
    }
}
on_both!(tablets_and_phones_are_told_apart);

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
    // A tablet has no IC card reader (seed 000 参考): the QR code only.
    const TABLET: &str =
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1";
    let (ids, page) = wallet_as(&r, &location, "", TABLET).await;
    assert!(ids.is_empty(), "{page}");
    assert!(page.contains("二次元コード"), "{page}");
    assert!(
        !page.contains("ICカードリーダーでマイナンバーカード"),
        "{page}"
    );
    assert!(page.contains("ICカードリーダライタ認証がご利用いただけます"));
    assert!(!page.contains("利用できるカードがありません"), "{page}");
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

    let posted = c
        .post(format!("{}{request}/card/{}", r.base, r.card))
        .form(&[("pin", "1234")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    let done = c
        .get(format!("{}{}", r.base, location(&posted)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("/demo/identity/callback?code="), "{done}");
}
on_both!(a_card_outside_the_demo_wallet_cannot_be_chosen);
