//! `zaitaku card …` as a script would use it, and tokens built with openssl
//! alone from the documented format, on SQLite and PostgreSQL.

use std::process::Command;

use zaitaku_testkit::on_both;

const BIN: &str = env!("CARGO_BIN_EXE_zaitaku");
const ORIGIN: &str = "http://127.0.0.1:8080";
const NONCE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn run(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["card", "--database-url", db])
        .args(args)
        .env("ZAITAKU_LOG", "warn")
        .env_remove("ZAITAKU_CARD_PIN")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sh(script: &str, dir: &std::path::Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Seeds the empty database at `url` with three people.
fn seed(url: &str) {
    let out = Command::new(BIN)
        .args([
            "seed",
            "--database-url",
            url,
            "--persons",
            "3",
            "--today",
            "2026-11-21",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn card_id(line: &str) -> String {
    line.split_whitespace().next().unwrap().to_owned()
}

async fn issue_sign_verify_and_the_pin_rules(url: &str) {
    seed(url);
    let (ok, out, err) = run(
        url,
        &[
            "issue", "--person", "1", "--kind", "physical", "--pin", "1234",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("マイナンバーカード") && out.contains("残り3回"),
        "{out}"
    );
    let card = card_id(&out);

    let (ok, token, err) = run(
        url,
        &[
            "sign", "--card", &card, "--origin", ORIGIN, "--nonce", NONCE, "--pin", "1234",
        ],
    );
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("token.json");
    std::fs::write(&token_path, token.trim()).unwrap();
    let (ok, out, err) = run(
        url,
        &[
            "verify",
            "--token",
            token_path.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--nonce",
            NONCE,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("OK serial="), "{out}");
    let (ok, _, err) = run(
        url,
        &[
            "verify",
            "--token",
            token_path.to_str().unwrap(),
            "--origin",
            "http://other",
            "--nonce",
            NONCE,
        ],
    );
    assert!(!ok);
    assert!(err.contains("Z-C-0019"), "{err}");

    // Wrong PINs: counted, then locked; only the reset helps.
    for left in ["残り2回", "残り1回"] {
        let (ok, _, err) = run(
            url,
            &[
                "sign", "--card", &card, "--origin", ORIGIN, "--nonce", NONCE, "--pin", "0000",
            ],
        );
        assert!(!ok);
        assert!(err.contains(left), "{err}");
    }
    let (ok, _, err) = run(
        url,
        &[
            "sign", "--card", &card, "--origin", ORIGIN, "--nonce", NONCE, "--pin", "0000",
        ],
    );
    assert!(!ok);
    assert!(err.contains("ロックされました"), "{err}");
    let (ok, _, err) = run(
        url,
        &[
            "sign", "--card", &card, "--origin", ORIGIN, "--nonce", NONCE, "--pin", "1234",
        ],
    );
    assert!(!ok);
    assert!(err.contains("ロックされています"), "{err}");
    let (ok, out, _) = run(url, &["status", "--card", &card]);
    assert!(ok && out.contains("ロック中"), "{out}");
    let (ok, out, err) = run(
        url,
        &[
            "reset-pin",
            "--card",
            &card,
            "--new-pin",
            "2468",
            "--by",
            "試験市",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("残り3回"), "{out}");
    let (ok, _, _) = run(
        url,
        &[
            "sign", "--card", &card, "--origin", ORIGIN, "--nonce", NONCE, "--pin", "2468",
        ],
    );
    assert!(ok);

    // Nonsense is refused clearly.
    let (ok, _, err) = run(
        url,
        &[
            "issue", "--person", "1", "--kind", "iphone", "--pin", "1234",
        ],
    );
    assert!(!ok);
    assert!(err.contains("iPhone"), "{err}");
    let (ok, _, err) = run(
        url,
        &[
            "issue", "--person", "1", "--kind", "physical", "--pin", "12",
        ],
    );
    assert!(!ok);
    assert!(err.contains("数字4桁"), "{err}");
    let (ok, _, err) = run(
        url,
        &[
            "issue", "--person", "99", "--kind", "physical", "--pin", "1234",
        ],
    );
    assert!(!ok);
    assert!(err.contains("99"), "{err}");
    let (ok, _, err) = run(
        url,
        &["issue", "--person", "1", "--kind", "watch", "--pin", "1234"],
    );
    assert!(!ok);
    assert!(err.contains("physical"), "{err}");
}
on_both!(issue_sign_verify_and_the_pin_rules);

async fn a_token_built_with_openssl_alone_is_accepted_and_tampering_is_caught(url: &str) {
    seed(url);
    let (ok, out, err) = run(
        url,
        &[
            "issue", "--person", "2", "--kind", "android", "--pin", "5678",
        ],
    );
    assert!(ok, "{err}");
    let card = card_id(&out);
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(
        url,
        &[
            "export",
            "--card",
            &card,
            "--out-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    // docs/token-format.md, step by step.
    let script = format!(
        r#"set -e
printf '%s' '{ORIGIN}' | openssl dgst -sha256 -binary > tbs.bin
printf '%s' '{NONCE}' | openssl base64 -d -A | openssl dgst -sha256 -binary >> tbs.bin
openssl dgst -sha256 -sign card-{card}.key.pem -out sig.bin tbs.bin
CERT_B64=$(openssl x509 -in card-{card}.cert.pem -outform DER | openssl base64 -A)
SIG_B64=$(openssl base64 -A -in sig.bin)
printf '{{"format":"zaitaku-auth-token:1","unverifiedCertificate":"%s","algorithm":"RS256","signature":"%s"}}' "$CERT_B64" "$SIG_B64" > token.json
cat token.json"#
    );
    let token = sh(&script, dir.path());
    let path = dir.path().join("token.json");
    let (ok, out, err) = run(
        url,
        &[
            "verify",
            "--token",
            path.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--nonce",
            NONCE,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("OK"), "{out}");
    // The chain also satisfies openssl itself.
    sh(
        &format!(
            "cat anchor-*.pem > anchors.pem && openssl verify -CAfile anchors.pem -purpose sslclient card-{card}.cert.pem"
        ),
        dir.path(),
    );

    // Each kind of wrong token gets its own code.
    let v: serde_json::Value = serde_json::from_str(&token).unwrap();
    let with = |k: &str, val: &str| {
        let mut t = v.clone();
        t[k] = serde_json::Value::String(val.to_owned());
        t.to_string()
    };
    let sig = v["signature"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { 'B' } else { 'A' },
        &sig[1..]
    );
    let cases = [
        (with("signature", &flipped), "Z-C-0019"),
        (with("algorithm", "RS512"), "Z-C-0005"),
        (with("format", "web-eid:1.0"), "Z-C-0004"),
        (
            with("unverifiedCertificate", "bm90IGEgY2VydA=="),
            "Z-C-0009",
        ),
        (with("signature", "***"), "Z-C-0006"),
        ("not json".to_owned(), "Z-C-0002"),
    ];
    for (bad, code) in cases {
        std::fs::write(&path, bad).unwrap();
        let (ok, _, err) = run(
            url,
            &[
                "verify",
                "--token",
                path.to_str().unwrap(),
                "--origin",
                ORIGIN,
                "--nonce",
                NONCE,
            ],
        );
        assert!(!ok);
        assert!(err.contains(code), "expected {code}: {err}");
    }
    // Bytes that are not UTF-8 are the format refusal, with its code.
    std::fs::write(&path, b"{\"format\":\"\xff\xfe\"}").unwrap();
    let (ok, _, err) = run(
        url,
        &[
            "verify",
            "--token",
            path.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--nonce",
            NONCE,
        ],
    );
    assert!(!ok);
    assert!(err.contains("Z-C-0002"), "{err}");
    // A nonce that is not 32 bytes is the caller's mistake.
    std::fs::write(&path, &token).unwrap();
    let (ok, _, err) = run(
        url,
        &[
            "verify",
            "--token",
            path.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--nonce",
            "AAECAwQF",
        ],
    );
    assert!(!ok);
    assert!(err.contains("Z-C-0020"), "{err}");
    // Revoked.
    std::fs::write(&path, &token).unwrap();
    let (ok, _, _) = run(url, &["revoke", "--card", &card]);
    assert!(ok);
    let (ok, _, err) = run(
        url,
        &[
            "verify",
            "--token",
            path.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--nonce",
            NONCE,
        ],
    );
    assert!(!ok);
    assert!(err.contains("Z-C-0017"), "{err}");
}
on_both!(a_token_built_with_openssl_alone_is_accepted_and_tampering_is_caught);
