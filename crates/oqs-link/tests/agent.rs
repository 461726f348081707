//! The folder agent against a fake server that keeps the transport contract
//! (docs/reference/oqs.md, "Transport"): answers, rejections, a refused
//! credential, a server down or failing, stops in the middle, files dropped
//! twice or still being written, and the face files.
#![cfg(test)]

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use zaitaku_oqs_link::{Blocked, Config, run, run_once};

const CREDENTIAL: &str = "zoqs_1_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
const REQUEST: &str = "OQSsiquc01req_202610010001.xml";
const RESULT: &str = "OQSsiquc01res_202610010001.xml";

/// The fake server's state, shared with the test.
#[derive(Default)]
struct Fake {
    /// Answer 500 to this many posts first.
    fail_first: usize,
    /// Never answer a post (to stop the agent in the middle).
    hang: bool,
    /// Every accepted post: file name and bytes.
    posts: Vec<(String, Vec<u8>)>,
    /// The face files, cursor `i + 1` for the `i`th.
    faces: Vec<(String, Vec<u8>)>,
    /// The `after` of every face request.
    face_asks: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == format!("Bearer {CREDENTIAL}").as_bytes())
}

fn contains(body: &[u8], what: &str) -> bool {
    body.windows(what.len()).any(|w| w == what.as_bytes())
}

async fn post_file(
    State(fake): State<Shared>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "Z-Q-0101").into_response();
    }
    let hang = {
        let mut f = fake.lock().unwrap();
        f.posts.push((name.clone(), body.to_vec()));
        if f.fail_first > 0 {
            f.fail_first -= 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response();
        }
        f.hang
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if contains(&body, "BAD") {
        let err = format!("{}.err", name.trim_end_matches(".xml"));
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            [
                ("x-oqs-file-name", err),
                ("x-oqs-error-code", "Z-Q-0002".into()),
            ],
            "Z-Q-0002\n要求ファイルの形式が正しくありません\nMessageHeader\n",
        )
            .into_response();
    }
    let result = name.replacen("req_", "res_", 1);
    let mut answer = format!("<Result of=\"{name}\">").into_bytes();
    if contains(&body, "BIG") {
        answer.resize(8 << 20, b'x');
    } else {
        answer.extend_from_slice(&body);
    }
    (StatusCode::OK, [("x-oqs-file-name", result)], answer).into_response()
}

#[derive(serde::Deserialize)]
struct After {
    after: String,
}

async fn face(State(fake): State<Shared>, Query(q): Query<After>, headers: HeaderMap) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut f = fake.lock().unwrap();
    f.face_asks.push(q.after.clone());
    let n: usize = q.after.parse().unwrap();
    match f.faces.get(n) {
        Some((name, body)) => (
            StatusCode::OK,
            [
                ("x-oqs-file-name", name.clone()),
                ("x-oqs-cursor", (n + 1).to_string()),
            ],
            body.clone(),
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Serves the fake on `listener`; returns the serving task.
fn serve(fake: &Shared, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/oqs/v1/files/{name}", post(post_file))
        .route("/oqs/v1/face", get(face))
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(fake.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

/// A fake server on a free port and its URL.
async fn start_fake() -> (Shared, String) {
    let fake = Shared::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    serve(&fake, listener);
    (fake, url)
}

fn config(url: &str, folder: &Path, credential: &str) -> Config {
    let mut c = Config::new(url, folder.to_path_buf(), credential.to_owned()).unwrap();
    c.interval = Duration::from_millis(50);
    c.settle = Duration::from_millis(100);
    c.max_backoff = Duration::from_millis(400);
    c.timeout = Duration::from_secs(10);
    c
}

/// The agent running in the background until stopped.
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), zaitaku_oqs_link::Error>>,
}

fn start_agent(config: Config) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(config, async move {
        let _ = stopped.await;
    }));
    Running {
        stop: Some(stop),
        task,
    }
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    n.sort();
    n
}

fn posts(fake: &Shared) -> Vec<(String, Vec<u8>)> {
    fake.lock().unwrap().posts.clone()
}

fn folders() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("req")).unwrap();
    dir
}

#[tokio::test]
async fn a_request_is_answered_into_res_and_others_are_left_alone() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    let req = dir.path().join("req");
    fs::write(req.join(REQUEST), b"<Request/>").unwrap();
    for other in [
        "notes.txt",
        ".OQSsiquc01req_Z.xml.part",
        "OQSsiquc01req_Z.xml.tmp",
    ] {
        fs::write(req.join(other), b"BAD").unwrap();
    }
    fs::create_dir(req.join("OQSsiquc01req_D.xml")).unwrap();

    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();

    assert_eq!(
        (report.answered, report.rejected, report.waiting),
        (1, 0, 0)
    );
    assert_eq!(report.blocked, None);
    assert_eq!(posts(&fake), [(REQUEST.to_owned(), b"<Request/>".to_vec())]);
    assert_eq!(names(&dir.path().join("res")), [RESULT]);
    assert_eq!(
        fs::read(dir.path().join("res").join(RESULT)).unwrap(),
        format!("<Result of=\"{REQUEST}\"><Request/>").as_bytes()
    );
    assert_eq!(
        names(&req),
        [
            ".OQSsiquc01req_Z.xml.part",
            "OQSsiquc01req_D.xml",
            "OQSsiquc01req_Z.xml.tmp",
            "notes.txt"
        ]
    );
    assert!(dir.path().join("face").is_dir());
    let journal = fs::read_to_string(dir.path().join(".oqs-link/requests.jsonl")).unwrap();
    assert!(journal.contains("\"stage\":\"done\""), "{journal}");
}

#[tokio::test]
async fn a_rejected_request_moves_into_res_beside_its_err_file() {
    let (_fake, url) = start_fake().await;
    let dir = folders();
    let name = "OQSmuquc01req_202610010002.xml";
    fs::write(dir.path().join("req").join(name), b"<BAD/>").unwrap();

    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();

    assert_eq!(
        (report.answered, report.rejected, report.waiting),
        (0, 1, 0)
    );
    let res = dir.path().join("res");
    assert_eq!(
        names(&res),
        [
            "OQSmuquc01req_202610010002.err",
            "OQSmuquc01req_202610010002.xml"
        ]
    );
    assert_eq!(fs::read(res.join(name)).unwrap(), b"<BAD/>");
    let err = fs::read_to_string(res.join("OQSmuquc01req_202610010002.err")).unwrap();
    assert!(err.starts_with("Z-Q-0002\n"), "{err}");
    assert!(names(&dir.path().join("req")).is_empty());
}

#[tokio::test]
async fn a_refused_credential_keeps_the_file_and_backs_off() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    fs::write(dir.path().join("req").join(REQUEST), b"<Request/>").unwrap();

    let report = run_once(config(&url, dir.path(), "zoqs_1_wrong"))
        .await
        .unwrap();
    assert_eq!(report.blocked, Some(Blocked::Unauthorized));
    assert_eq!((report.answered, report.waiting), (0, 1));
    assert!(names(&dir.path().join("res")).is_empty());

    // Running, it does not knock every 20 ms: the waits double.
    let mut c = config(&url, dir.path(), "zoqs_1_wrong");
    c.interval = Duration::from_millis(20);
    c.max_backoff = Duration::from_secs(30);
    let agent = start_agent(c);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    agent.stop().await;
    assert!(names(&dir.path().join("res")).is_empty());
    assert_eq!(names(&dir.path().join("req")), [REQUEST]);
    // The fake counts only authorised posts; count the attempts by the
    // journal's in-flight lines instead.
    assert!(posts(&fake).is_empty());
    let journal = fs::read_to_string(dir.path().join(".oqs-link/requests.jsonl")).unwrap();
    let tries = journal.matches("in_flight").count();
    assert!(
        (2..=8).contains(&tries),
        "{tries} tries in 1.5 s: {journal}"
    );
}

#[tokio::test]
async fn the_result_appears_once_when_the_server_comes_up() {
    let fake = Shared::default();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let dir = folders();
    let agent = start_agent(config(&url, dir.path(), CREDENTIAL));
    fs::write(dir.path().join("req").join(REQUEST), b"<Request/>").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(names(&dir.path().join("res")).is_empty());
    assert_eq!(names(&dir.path().join("req")), [REQUEST]);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    serve(&fake, listener);
    let res = dir.path().join("res");
    wait_until("the result is written", || res.join(RESULT).exists()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    agent.stop().await;
    assert_eq!(names(&res), [RESULT]);
    assert_eq!(posts(&fake).len(), 1);
    assert!(names(&dir.path().join("req")).is_empty());
}

#[tokio::test]
async fn a_failing_server_is_tried_again_until_it_answers() {
    let (fake, url) = start_fake().await;
    fake.lock().unwrap().fail_first = 3;
    let dir = folders();
    let agent = start_agent(config(&url, dir.path(), CREDENTIAL));
    fs::write(dir.path().join("req").join(REQUEST), b"<Request/>").unwrap();
    let res = dir.path().join("res");
    wait_until("the result is written", || res.join(RESULT).exists()).await;
    agent.stop().await;
    assert_eq!(posts(&fake).len(), 4);
    assert_eq!(names(&res), [RESULT]);
}

#[tokio::test]
async fn a_stop_in_the_middle_is_finished_once_on_restart() {
    let (fake, url) = start_fake().await;
    fake.lock().unwrap().hang = true;
    let dir = folders();
    let agent = start_agent(config(&url, dir.path(), CREDENTIAL));
    fs::write(dir.path().join("req").join(REQUEST), b"<Request/>").unwrap();
    wait_until("the request is sent", || !posts(&fake).is_empty()).await;
    // Killed while waiting for the answer.
    agent.task.abort();
    let _ = agent.task.await;
    let journal = fs::read_to_string(dir.path().join(".oqs-link/requests.jsonl")).unwrap();
    assert!(
        journal
            .lines()
            .last()
            .unwrap()
            .contains("\"stage\":\"in_flight\""),
        "{journal}"
    );
    assert_eq!(names(&dir.path().join("req")), [REQUEST]);
    assert!(names(&dir.path().join("res")).is_empty());

    fake.lock().unwrap().hang = false;
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.answered, 1);
    assert_eq!(names(&dir.path().join("res")), [RESULT]);
    assert!(names(&dir.path().join("req")).is_empty());
    assert_eq!(posts(&fake).len(), 2);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn an_in_flight_entry_from_the_journal_is_sent_once_on_start() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    fs::write(dir.path().join("req").join(REQUEST), b"<Request/>").unwrap();
    fs::create_dir(dir.path().join(".oqs-link")).unwrap();
    fs::write(
        dir.path().join(".oqs-link/requests.jsonl"),
        format!(
            "{{\"at\":\"2026-10-01T00:00:00Z\",\"name\":\"{REQUEST}\",\"sha256\":\"{}\",\"len\":10,\"stage\":\"in_flight\"}}\n",
            sha256_hex(b"<Request/>")
        ),
    )
    .unwrap();
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.answered, 1);
    assert_eq!(posts(&fake).len(), 1);
    assert_eq!(names(&dir.path().join("res")), [RESULT]);
    assert!(names(&dir.path().join("req")).is_empty());
}

#[tokio::test]
async fn an_answer_saved_before_a_stop_is_put_in_place_without_asking_again() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    let res = dir.path().join("res");
    fs::create_dir(&res).unwrap();
    fs::write(dir.path().join("req").join(REQUEST), b"<Request/>").unwrap();
    fs::write(res.join(format!(".{RESULT}.part")), b"<Result/>").unwrap();
    fs::write(res.join(".stale.xml.part"), b"half").unwrap();
    fs::create_dir(dir.path().join(".oqs-link")).unwrap();
    fs::write(
        dir.path().join(".oqs-link/requests.jsonl"),
        format!(
            "{{\"at\":\"2026-10-01T00:00:00Z\",\"name\":\"{REQUEST}\",\"sha256\":\"{}\",\"len\":10,\"stage\":\"answered\",\"result\":\"{RESULT}\",\"rejected\":false}}\n",
            sha256_hex(b"<Request/>")
        ),
    )
    .unwrap();
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.waiting, 0);
    assert!(posts(&fake).is_empty());
    assert_eq!(names(&res), [RESULT]);
    assert_eq!(fs::read(res.join(RESULT)).unwrap(), b"<Result/>");
    assert!(names(&dir.path().join("req")).is_empty());
}

#[tokio::test]
async fn a_file_dropped_twice_is_answered_twice_and_new_bytes_are_a_new_request() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    let (req, res) = (dir.path().join("req"), dir.path().join("res"));
    fs::write(req.join(REQUEST), b"<Request/>").unwrap();
    run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    // The receipt computer takes the result and drops the same file again.
    fs::remove_file(res.join(RESULT)).unwrap();
    fs::write(req.join(REQUEST), b"<Request/>").unwrap();
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.answered, 1);
    assert_eq!(names(&res), [RESULT]);
    // The same name with other bytes.
    fs::write(req.join(REQUEST), b"<Request n=\"2\"/>").unwrap();
    run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(names(&res), [RESULT]);
    assert!(
        fs::read_to_string(res.join(RESULT))
            .unwrap()
            .ends_with("<Request n=\"2\"/>")
    );
    let sent: Vec<Vec<u8>> = posts(&fake).into_iter().map(|(_, b)| b).collect();
    assert_eq!(
        sent,
        [
            b"<Request/>".to_vec(),
            b"<Request/>".to_vec(),
            b"<Request n=\"2\"/>".to_vec()
        ]
    );
}

#[tokio::test]
async fn a_file_still_being_written_is_sent_only_when_complete() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    let mut c = config(&url, dir.path(), CREDENTIAL);
    c.settle = Duration::from_millis(300);
    let agent = start_agent(c);
    let path = dir.path().join("req").join(REQUEST);
    let mut whole = Vec::new();
    for i in 0..15 {
        let chunk = format!("<Part n=\"{i}\"/>");
        whole.extend_from_slice(chunk.as_bytes());
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(chunk.as_bytes()).unwrap();
        drop(f);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(posts(&fake).is_empty(), "sent while being written");
    }
    let res = dir.path().join("res");
    wait_until("the result is written", || res.join(RESULT).exists()).await;
    agent.stop().await;
    assert_eq!(posts(&fake), [(REQUEST.to_owned(), whole)]);
}

fn add_faces(fake: &Shared, n: usize) {
    let mut f = fake.lock().unwrap();
    for _ in 0..n {
        let i = f.faces.len() + 1;
        f.faces.push((
            format!("OQSsiquc01res_face_2026100100{i:02}.xml"),
            format!("<Face n=\"{i}\"/>").into_bytes(),
        ));
    }
}

#[tokio::test]
async fn face_files_are_fetched_once_across_runs() {
    let (fake, url) = start_fake().await;
    add_faces(&fake, 2);
    let dir = folders();
    let face = dir.path().join("face");

    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.faces, 2);
    assert_eq!(
        names(&face),
        [
            "OQSsiquc01res_face_202610010001.xml",
            "OQSsiquc01res_face_202610010002.xml"
        ]
    );
    // The receipt computer takes them; a third check-in arrives.
    for n in names(&face) {
        fs::remove_file(face.join(n)).unwrap();
    }
    add_faces(&fake, 1);
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.faces, 1);
    assert_eq!(names(&face), ["OQSsiquc01res_face_202610010003.xml"]);
    assert_eq!(
        fs::read(face.join("OQSsiquc01res_face_202610010003.xml")).unwrap(),
        b"<Face n=\"3\"/>"
    );
    fs::remove_file(face.join("OQSsiquc01res_face_202610010003.xml")).unwrap();
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.faces, 0);
    assert!(names(&face).is_empty());
    assert_eq!(
        fake.lock().unwrap().face_asks,
        ["0", "1", "2", "2", "3", "3"]
    );
}

#[tokio::test]
async fn a_face_file_saved_before_a_stop_is_put_in_place_and_not_fetched_again() {
    let (fake, url) = start_fake().await;
    add_faces(&fake, 3);
    let dir = folders();
    let face = dir.path().join("face");
    fs::create_dir(&face).unwrap();
    fs::create_dir(dir.path().join(".oqs-link")).unwrap();
    // Stopped after face 3's temporary file was flushed and named pending.
    fs::write(
        face.join(".OQSsiquc01res_face_202610010003.xml.part"),
        b"<Face n=\"3\"/>",
    )
    .unwrap();
    fs::write(
        dir.path().join(".oqs-link/face.json"),
        br#"{"cursor":"2","pending":{"name":"OQSsiquc01res_face_202610010003.xml","cursor":"3"}}"#,
    )
    .unwrap();
    let report = run_once(config(&url, dir.path(), CREDENTIAL))
        .await
        .unwrap();
    assert_eq!(report.faces, 0);
    assert_eq!(names(&face), ["OQSsiquc01res_face_202610010003.xml"]);
    assert_eq!(fake.lock().unwrap().face_asks, ["3"]);
}

#[tokio::test]
async fn no_file_is_ever_seen_half_written() {
    let (fake, url) = start_fake().await;
    let dir = folders();
    let res = dir.path().join("res");
    fs::create_dir(&res).unwrap();
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (res, watching) = (res.clone(), watching.clone());
        std::thread::spawn(move || {
            let mut seen = 0usize;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                for entry in fs::read_dir(&res).unwrap().flatten() {
                    let name = entry.file_name().into_string().unwrap();
                    if name.starts_with('.') {
                        continue;
                    }
                    // A temporary file renamed away between listing and opening is fine.
                    if let Ok(bytes) = fs::read(entry.path()) {
                        assert_eq!(bytes.len(), 8 << 20, "{name} seen half written");
                        seen += 1;
                    }
                }
            }
            seen
        })
    };
    let agent = start_agent(config(&url, dir.path(), CREDENTIAL));
    for i in 0..3 {
        let name = format!("OQSsiquc01req_20261001000{i}.xml");
        fs::write(dir.path().join("req").join(name), b"<BIG/>").unwrap();
    }
    wait_until("three results are written", || names(&res).len() == 3).await;
    agent.stop().await;
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 0);
    assert_eq!(posts(&fake).len(), 3);
    assert!(names(&res).iter().all(|n| n.starts_with("OQSsiquc01res_")));
}
