//! The `zaitaku` binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_zaitaku");

fn zaitaku(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("ZAITAKU_LOG", "warn")
        .env_remove("ZAITAKU_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Demo {
    child: Child,
    banner: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `zaitaku demo` and reads its banner up to the stop hint.
fn start_demo(dir: &std::path::Path, port: u16, persons: &str) -> Demo {
    let child = Command::new(BIN)
        .args(["demo", "--data-dir"])
        .arg(dir)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--persons",
            persons,
        ])
        .env("ZAITAKU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned by the guard at once, so a failed assertion still stops the server.
    let mut demo = Demo {
        child,
        banner: Vec::new(),
    };
    let stdout = demo.child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let done = line.contains("Ctrl-C");
            demo.banner.push(line);
            if done {
                return demo;
            }
        }
    }
    panic!("demo printed no banner: {:?}", demo.banner);
}

#[tokio::test]
async fn demo_prints_working_urls_and_reuses_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let port = zaitaku_testkit::free_port();
    let demo = start_demo(dir.path(), port, "3000");
    let urls: Vec<String> = demo
        .banner
        .iter()
        .filter(|l| l.contains("/w/"))
        .cloned()
        .collect();
    assert_eq!(urls.len(), 5, "{:#?}", demo.banner);
    for u in &urls {
        let res = reqwest::get(u.trim()).await.unwrap();
        assert_eq!(res.status(), 200, "{u}");
        assert!(res.text().await.unwrap().contains("画面番号：A-01"));
    }
    let all = demo.banner.join("\n");
    for case in [
        "未就学",
        "高齢受給者",
        "後期高齢者",
        "医療扶助",
        "保険証利用登録なし",
        "資格無効",
        "限度額適用認定証",
    ] {
        assert!(all.contains(case), "no demo patient for {case}:\n{all}");
    }
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        all.contains("PDF のフォント: Noto Sans CJK JP"),
        "the installed Japanese font is not named:\n{all}"
    );
    demo_patients_show_their_cases(dir.path(), &demo.banner).await;
    let labels = card_labels(&demo.banner);
    cards_are_named_apart(&labels);
    drop(demo);

    // A second run reuses the database: the same URLs, the same named cards.
    let again = start_demo(dir.path(), port, "3000");
    let urls_again: Vec<String> = again
        .banner
        .iter()
        .filter(|l| l.contains("/w/"))
        .cloned()
        .collect();
    assert_eq!(urls, urls_again);
    assert_eq!(card_labels(&again.banner), labels);
}

/// Each demo patient can be seen in their case: only the 保険証未登録 one's
/// card is unregistered (any other would end at 保険証未登録), and the
/// 特定疾病 patient holds a certificate today.
async fn demo_patients_show_their_cases(dir: &std::path::Path, banner: &[String]) {
    let patients: Vec<(i64, &str)> = banner
        .iter()
        .skip_while(|l| !l.starts_with("デモ患者"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let l = l.trim();
            let (id, _) = l.split_once(' ')?;
            Some((id.parse().ok()?, l.rsplit("  ").next()?))
        })
        .collect();
    assert!(
        patients
            .iter()
            .any(|(_, case)| *case == "特定疾病療養受療証あり"),
        "{banner:#?}"
    );
    let store =
        zaitaku_storage::Store::open(&format!("sqlite:{}", dir.join("demo.sqlite3").display()))
            .await
            .unwrap();
    let today = (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive();
    for (id, case) in patients {
        let e = store.eligibility(id).await.unwrap().unwrap();
        assert_eq!(
            e.person.insurance_use_registered,
            !case.starts_with("保険証利用登録なし"),
            "{case}"
        );
        if case == "特定疾病療養受療証あり" {
            assert!(e.specific_diseases_on(today).next().is_some());
        }
    }
}

/// The name the banner prints after each demo card's PIN.
fn card_labels(banner: &[String]) -> Vec<String> {
    banner
        .iter()
        .filter(|l| l.contains("暗証番号 ") && l.contains("有効期限"))
        .map(|l| {
            let after_pin = l.split("暗証番号 ").nth(1).unwrap_or_default();
            after_pin
                .split_once("  ")
                .map(|(_, label)| label.trim().to_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Every card is named by its case, no two alike: one person holds several.
fn cards_are_named_apart(labels: &[String]) {
    assert!(labels.len() >= 15, "{labels:?}");
    assert!(labels.iter().all(|l| !l.is_empty()), "{labels:?}");
    let distinct: std::collections::BTreeSet<_> = labels.iter().collect();
    assert_eq!(distinct.len(), labels.len(), "{labels:?}");
    for case in [
        "期限間近",
        "猶予期間",
        "ロック",
        "失効",
        "旧認証局",
        "iPhone",
    ] {
        assert!(
            labels.iter().any(|l| l.contains(case)),
            "no card named for {case}: {labels:?}"
        );
    }
}

#[test]
fn demo_refuses_a_busy_port_with_one_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let out = zaitaku(&[
        "demo",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--persons",
        "0",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("待ち受けできません"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn seed_fills_sqlite_and_postgres_deterministically() {
    let sqlite = zaitaku_testkit::sqlite();
    let pg = zaitaku_testkit::postgres().await;
    for url in [sqlite.url.as_str(), pg.as_str()] {
        let out = zaitaku(&[
            "seed",
            "--database-url",
            url,
            "--persons",
            "1500",
            "--seed",
            "7",
            "--today",
            "2026-11-21",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("1500 人を登録しました"),
            "{}",
            text(&out.stdout)
        );
    }
    // Same seed and date on both backends: the same people.
    let a = zaitaku_storage::Store::open(&sqlite.url).await.unwrap();
    let b = zaitaku_storage::Store::open(&pg).await.unwrap();
    for id in [1, 750, 1500] {
        let mut x = a.eligibility(id).await.unwrap().unwrap();
        let mut y = b.eligibility(id).await.unwrap().unwrap();
        for q in x
            .qualifications
            .iter_mut()
            .chain(y.qualifications.iter_mut())
        {
            q.id = 0;
        }
        assert_eq!(x, y);
    }
    // A second seed into the same database is refused, and nothing changes.
    let out = zaitaku(&["seed", "--database-url", &sqlite.url, "--persons", "10"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("すでに 1500 人が登録されています"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(a.count_persons().await.unwrap(), 1500);
}

#[test]
fn nonsense_arguments_are_refused_clearly() {
    let db = zaitaku_testkit::sqlite();
    for args in [
        vec!["seed", "--database-url", db.url.as_str(), "--persons", "0"],
        vec!["seed", "--database-url", db.url.as_str(), "--persons", "-5"],
        vec![
            "seed",
            "--database-url",
            db.url.as_str(),
            "--persons",
            "ten",
        ],
        vec![
            "seed",
            "--database-url",
            db.url.as_str(),
            "--persons",
            "5",
            "--today",
            "2026-02-30",
        ],
        vec![
            "seed",
            "--database-url",
            db.url.as_str(),
            "--persons",
            "5",
            "--batch",
            "0",
        ],
    ] {
        let out = zaitaku(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"));
    }
}

#[test]
fn unusable_databases_give_one_clear_line() {
    let out = zaitaku(&["migrate", "--database-url", "mysql://localhost/x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("エラー: 対応していないデータベースURLです"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let out = zaitaku(&[
        "migrate",
        "--database-url",
        "sqlite:/no/such/folder/x.sqlite3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("エラー: データベースに接続できません"),
        "{}",
        text(&out.stderr)
    );

    // A file that is not a database.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(
        &junk,
        b"this is not a database at all, just text padding padding padding",
    )
    .unwrap();
    let out = zaitaku(&[
        "migrate",
        "--database-url",
        &format!("sqlite:{}", junk.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("エラー: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_pdf_font_that_is_no_font_stops_the_server_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let font = dir.path().join("font.ttf");
    std::fs::write(&font, b"not a font").unwrap();
    let out = zaitaku(&[
        "serve",
        "--database-url",
        &format!("sqlite:{}", dir.path().join("db.sqlite3").display()),
        "--listen",
        "127.0.0.1:0",
        "--pdf-font",
        &font.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("エラー: --pdf-font のフォントを使えません"),
        "{err}"
    );
    assert!(err.contains("font.ttf"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Every option of each subcommand is listed with its explanation (compared
/// with whitespace collapsed: clap wraps the text to the terminal's width).
#[test]
fn help_explains_every_option() {
    let database = (
        "--database-url <DATABASE_URL>",
        "Database URL: `sqlite:PATH` (the file is created if missing) or `postgres://USER:PASSWORD@HOST:PORT/DB`",
    );
    let listen = ("--listen <LISTEN>", "Address to listen on");
    let logging = [
        (
            "--log-format <LOG_FORMAT>",
            "Log format: `pretty` for people, `json` for log collectors",
        ),
        ("--log <LOG>", "Log filter in tracing's syntax"),
    ];
    let subcommands = [
        (
            "demo",
            vec![
                (
                    "--data-dir <DATA_DIR>",
                    "Folder for the demo database (reused on the next run)",
                ),
                listen,
                (
                    "--reset",
                    "Start from a new demo database instead of reusing the existing one",
                ),
                (
                    "--persons <PERSONS>",
                    "How many synthetic patients to add besides the named demo cases",
                ),
            ],
        ),
        (
            "serve",
            vec![
                database,
                listen,
                (
                    "--public-url <PUBLIC_URL>",
                    "The public base URL patients and staff use",
                ),
                (
                    "--signing-key <SIGNING_KEY>",
                    "The Ed25519 key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it) that signs the return to online-care partners",
                ),
                (
                    "--db-max-connections <DB_MAX_CONNECTIONS>",
                    "Largest number of database connections in the pool",
                ),
                (
                    "--stand-in-authenticator",
                    "Also serve the stand-in authenticator",
                ),
                (
                    "--activation-wait-minutes <ACTIVATION_WAIT_MINUTES>",
                    "Minutes after issue before a staff app's activation code opens",
                ),
                (
                    "--insurance-registration-delay-seconds <INSURANCE_REGISTRATION_DELAY_SECONDS>",
                    "Seconds before a 健康保険証利用登録 made in the staff app comes into force",
                ),
                (
                    "--pdf-font <PDF_FONT>",
                    "The Japanese font (`.ttf`, `.otf`, `.ttc`) that 薬剤情報・特定健診情報",
                ),
            ],
        ),
        (
            "seed",
            vec![
                database,
                (
                    "--persons <PERSONS>",
                    "Number of persons to create (1 to 100,000,000)",
                ),
                (
                    "--seed <SEED>",
                    "Random seed: the same seed and date give the same population",
                ),
                (
                    "--today <TODAY>",
                    "The date the population is generated for (ages, validity)",
                ),
                ("--batch <BATCH>", "Persons per transaction"),
            ],
        ),
        ("migrate", vec![database]),
        (
            "oqs-link",
            vec![
                (
                    "--server <SERVER>",
                    "The zaitaku server's base URL, e.g. `https://zaitaku.example.jp`",
                ),
                (
                    "--folder <FOLDER>",
                    "The exchange folder holding req/, res/ and face/ (created if missing)",
                ),
                (
                    "--credential <CREDENTIAL>",
                    "The link credential (zoqs_…) issued under 《レセコン連携》 in the administration",
                ),
                (
                    "--interval <INTERVAL>",
                    "Milliseconds between looks at req/ and asks for new check-in results",
                ),
                (
                    "--once",
                    "Send what is in req/, fetch new check-in results, then exit (for tests and cron)",
                ),
            ],
        ),
    ];
    for (sub, options) in subcommands {
        let out = zaitaku(&[sub, "--help"]);
        assert!(out.status.success(), "{sub}");
        let help = text(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for (option, explanation) in options.iter().chain(&logging) {
            assert!(
                help.contains(&format!("{option} {explanation}")),
                "{sub} --help lacks {option} {explanation}: {help}"
            );
        }
        // Nothing listed that this test does not know of, besides --help.
        let (_, listing) = help.split_once("Options: ").unwrap();
        let listed = listing.matches("--").count();
        assert_eq!(listed, options.len() + logging.len() + 1, "{sub}: {help}");
    }
    let serve = text(&zaitaku(&["serve", "--help"]).stdout);
    for env in [
        "ZAITAKU_DATABASE_URL",
        "ZAITAKU_LISTEN",
        "ZAITAKU_PUBLIC_URL",
        "ZAITAKU_LOG_FORMAT",
    ] {
        assert!(serve.contains(env), "serve --help lacks {env}");
    }
    let link = text(&zaitaku(&["oqs-link", "--help"]).stdout);
    for env in [
        "ZAITAKU_OQS_SERVER",
        "ZAITAKU_OQS_FOLDER",
        "ZAITAKU_OQS_CREDENTIAL",
        "ZAITAKU_OQS_INTERVAL",
    ] {
        assert!(link.contains(env), "oqs-link --help lacks {env}");
    }
}

/// `zaitaku oqs-link --once` with the server down: the request stays in
/// req/, nothing half-written appears in res/, and the exit code says so.
/// The demo's receipt-computer folders work at once: each example copied
/// into `req/` and sent by the printed `oqs-link` command comes back in
/// `res/`, in the folder's encoding, as the message its name says.
#[test]
fn the_demo_s_oqs_folders_answer_their_examples() {
    use zaitaku_proto::oqs::batch::UploadReceipt;
    use zaitaku_proto::oqs::individual::IndividualResult;
    use zaitaku_proto::oqs::medical::{CheckupResultFile, DrugResult};
    use zaitaku_proto::oqs::{CharacterCode, read};

    let dir = tempfile::tempdir().unwrap();
    let port = zaitaku_testkit::free_port();
    let demo = start_demo(dir.path(), port, "300");
    let commands: Vec<Vec<String>> = demo
        .banner
        .iter()
        .filter(|l| l.contains(" oqs-link --server "))
        .map(|l| l.split_whitespace().skip(1).map(str::to_owned).collect())
        .collect();
    assert_eq!(commands.len(), 2, "{:#?}", demo.banner);
    for (args, encoding) in commands
        .iter()
        .zip([CharacterCode::Utf8, CharacterCode::ShiftJis])
    {
        let folder =
            std::path::PathBuf::from(&args[args.iter().position(|a| a == "--folder").unwrap() + 1]);
        let mut examples: Vec<_> = std::fs::read_dir(folder.join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        examples.sort();
        assert_eq!(examples.len(), 5, "{examples:?}");
        for e in &examples {
            std::fs::copy(e, folder.join("req").join(e.file_name().unwrap())).unwrap();
        }
        let out = Command::new(BIN)
            .args(args)
            .arg("--once")
            .env("ZAITAKU_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut answered: Vec<String> = std::fs::read_dir(folder.join("res"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        answered.sort();
        assert_eq!(answered.len(), 5, "{answered:?}");
        for name in &answered {
            let bytes = std::fs::read(folder.join("res").join(name)).unwrap();
            let doc = read(&bytes).unwrap_or_else(|r| panic!("{name}: {r:?}"));
            assert_eq!(doc.encoding, encoding, "{name}");
            let prefix = &name[..14];
            match prefix {
                "OQSsiquc01res_" => {
                    IndividualResult::read(&doc).unwrap();
                }
                "OQSmuquc01res_" | "OQSmuhvq01res_" => {
                    UploadReceipt::read(&doc).unwrap();
                }
                // Nobody has consented to the clinic yet: the reason, as XML.
                "YZKsiquc01res_" => {
                    let r = DrugResult::read(&doc).unwrap();
                    assert!(r.header.refusal.is_some(), "{r:?}");
                }
                "TKKsiquc01res_" => {
                    let r = CheckupResultFile::read(&doc).unwrap();
                    assert!(r.header.refusal.is_some(), "{r:?}");
                }
                other => panic!("unexpected answer {other}: {answered:?}"),
            }
        }
        assert_eq!(std::fs::read_dir(folder.join("req")).unwrap().count(), 0);
    }
}

#[test]
fn oqs_link_once_keeps_the_file_when_the_server_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("req");
    std::fs::create_dir(&req).unwrap();
    std::fs::write(req.join("OQSsiquc01req_202610010001.xml"), b"<Request/>").unwrap();
    let port = zaitaku_testkit::free_port();
    let out = Command::new(BIN)
        .args(["oqs-link", "--once", "--server"])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--folder")
        .arg(dir.path())
        .env("ZAITAKU_OQS_CREDENTIAL", "zoqs_1_x")
        .env("ZAITAKU_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("エラー: サーバに送れませんでした。1 件を req/ に残しました"),
        "{err}"
    );
    assert!(!err.contains("zoqs_1_x"), "{err}");
    assert!(req.join("OQSsiquc01req_202610010001.xml").exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("res")).unwrap().count(),
        0
    );
}
