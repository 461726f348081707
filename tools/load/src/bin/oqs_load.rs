//! Load benchmark of the receipt-computer interface against the running
//! server on SQLite: individual inquiries (`OQSsiquc01req_`) over HTTP, and
//! one 一括照会 of BATCH persons from upload to downloadable result.
//!
//! cargo build --release -p zaitaku -p zaitaku-load
//! target/release/oqs_load [PERSONS] [CONCURRENCY] [SECONDS] [BATCH]
//!
//! 1. Untimed set-up, in this process: PERSONS insured synthetic persons
//!    (default 10,000), one clinic and its link credential (UTF-8), and one
//!    request file per person.
//! 2. The server: `zaitaku serve` on the same database (`ZAITAKU_BIN`).
//! 3. Timed, three rounds of SECONDS, CONCURRENCY connections at a time,
//!    each sending the next person's file: every answer is checked to be a
//!    result (200) naming the person as 有効; each is an inquiry read and an
//!    audit record (a durable write). The median round by p99 is reported.
//! 4. Timed, once: an upload of BATCH persons (default 100,000; the
//!    PERSONS repeated), then download requests every 250 ms until the
//!    result is there, read to the end and counted; the server's peak
//!    resident memory (VmHWM) is read after.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use zaitaku_domain::eligibility::Coverage;
use zaitaku_load::wire::Connection;
use zaitaku_load::{Server, free_port, wait_healthy};
use zaitaku_proto::oqs::batch::{BatchUpload, DownloadRequest, UploadReceipt};
use zaitaku_proto::oqs::individual::{IndividualRequest, RequestHeader};
use zaitaku_proto::oqs::qualification::SearchInfo;
use zaitaku_proto::oqs::{CharacterCode, read};
use zaitaku_service::staff::{Realm, Session};
use zaitaku_storage::Store;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let persons: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let batch: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("bench.sqlite3").display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run(persons, concurrency, seconds, batch, &url))
}

async fn run(
    persons: usize,
    concurrency: usize,
    seconds: u64,
    batch: usize,
    url: &str,
) -> Result<()> {
    let started = Instant::now();
    let today = zaitaku_service::jst_day(Utc::now());
    let store = Store::open(url).await?;
    let people = zaitaku_load::load_persons(&store, 31, today, persons).await?;
    let inst = zaitaku_load::institution(&store, 97, "レセコン負荷試験クリニック").await?;
    let account = zaitaku_load::app::nurse(&store, &inst).await?;
    let session = Session {
        sid: String::new(),
        csrf: String::new(),
        realm: Realm::Institution,
        account,
        institution: Some(inst.clone()),
    };
    let credential =
        zaitaku_service::oqs_link::issue(&store, &session, "負荷試験", "0", Utc::now())
            .await?
            .map_err(|e| anyhow!("{e}"))?
            .credential;
    let header = |id: &str| RequestHeader {
        medical_institution_code: inst.institution.code.clone(),
        qualification_confirmation_date: Some(today),
        arbitrary_file_identifier: Some(id.to_owned()),
    };
    let searches: Vec<SearchInfo> = people
        .iter()
        .filter_map(|p| {
            let e = &p.eligibility;
            let q = e.resolve(today).qualification?;
            match &q.coverage {
                Coverage::Insurance {
                    insurer_number,
                    symbol,
                    number,
                    branch,
                    ..
                } => Some(SearchInfo {
                    insurer_number: insurer_number.clone(),
                    symbol: symbol.clone(),
                    number: number.clone(),
                    branch: Some(*branch),
                    birthdate: e.person.birth_date,
                    limit_consent: true,
                    arbitrary_identifier: Some(format!("chart-{}", e.person.id)),
                }),
                Coverage::MedicalAssistance { .. } => None,
            }
        })
        .collect();
    let files: Vec<Vec<u8>> = searches
        .iter()
        .enumerate()
        .map(|(i, s)| {
            IndividualRequest {
                header: header(&format!("load-{i}")),
                search: s.clone(),
            }
            .write(CharacterCode::Utf8)
        })
        .collect();
    store.close().await;
    eprintln!(
        "set-up: {} persons, {} request files in {:.1} s",
        people.len(),
        files.len(),
        started.elapsed().as_secs_f64()
    );

    let port = free_port()?;
    let mut server = Server::start(url, port)?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await?;

    let files = Arc::new(files);
    let credential = Arc::new(credential);
    let mut rounds = Vec::new();
    for round in 1..=3 {
        let cpu0 = zaitaku_load::cpu_seconds(server.id());
        let (rate, p50, p99, max) = timed(port, &credential, &files, concurrency, seconds).await?;
        let cpu = zaitaku_load::cpu_seconds(server.id())
            .zip(cpu0)
            .map_or(0.0, |(a, b)| (a - b) / seconds as f64);
        println!(
            "round {round}: {rate:.0} inquiries/s, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.1} ms \
             ({concurrency} at a time; server CPU {cpu:.2} cores)"
        );
        rounds.push((rate, p99));
    }
    rounds.sort_by(|a, b| a.1.total_cmp(&b.1));
    println!(
        "median of three: p99 {:.2} ms at {:.0} inquiries/s",
        rounds[1].1, rounds[1].0
    );

    if batch > 0 {
        eprintln!(
            "server peak memory before the batch: {}",
            peak_memory(server.id()).unwrap_or_else(|| "unknown".into())
        );
        let upload = BatchUpload {
            header: header("load-batch"),
            persons: searches.iter().cycle().take(batch).cloned().collect(),
        }
        .write(CharacterCode::Utf8);
        let t0 = Instant::now();
        let mut conn = Connection::open(port).await?;
        let res = conn
            .post(
                "/oqs/v1/files/OQSmuquc01req_load0001.xml",
                &credential,
                &upload,
            )
            .await?;
        if res.status != 200 {
            bail!(
                "upload: {} {}",
                res.status,
                String::from_utf8_lossy(&res.body)
            );
        }
        let receipt = UploadReceipt::read(&read(&res.body)?)?;
        let uploaded = t0.elapsed();
        eprintln!(
            "server peak memory after the upload: {}",
            peak_memory(server.id()).unwrap_or_else(|| "unknown".into())
        );
        let download = DownloadRequest {
            medical_institution_code: inst.institution.code.clone(),
            reception_number: receipt.reception_number.clone(),
        }
        .write(CharacterCode::Utf8);
        let (bytes, units) = loop {
            let res = http
                .post(format!("{base}/oqs/v1/files/OQSmuquc02req_load0001.xml"))
                .bearer_auth(credential.as_str())
                .body(download.clone())
                .send()
                .await?;
            if !res.status().is_success() {
                bail!("download: {}", res.status());
            }
            let body = res.bytes().await?;
            let head = &body[..body.len().min(2048)];
            let processing = head
                .windows(b"<SegmentOfResult>2<".len())
                .any(|w| w == b"<SegmentOfResult>2<");
            if !processing {
                let units = body
                    .windows(b"<BulkConfirmUnit>".len())
                    .filter(|w| *w == b"<BulkConfirmUnit>")
                    .count();
                break (body.len(), units);
            }
            if t0.elapsed() > Duration::from_secs(600) {
                bail!("the batch was not done in 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let total = t0.elapsed();
        if units != batch {
            bail!("{units} units for {batch} persons");
        }
        println!(
            "batch of {batch}: upload {:.1} MB answered in {:.2} s, result ({:.1} MB, {units} units) downloadable after {:.1} s; server peak memory {}",
            upload.len() as f64 / 1e6,
            uploaded.as_secs_f64(),
            bytes as f64 / 1e6,
            total.as_secs_f64(),
            peak_memory(server.id()).unwrap_or_else(|| "unknown".into())
        );
    }
    server.stop()?;
    Ok(())
}

/// VmHWM of the server process.
fn peak_memory(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l["VmHWM:".len()..].trim().to_owned())
}

/// One timed round: the rate and the latencies in milliseconds (p50, p99,
/// max).
async fn timed(
    port: u16,
    credential: &Arc<String>,
    files: &Arc<Vec<Vec<u8>>>,
    concurrency: usize,
    seconds: u64,
) -> Result<(f64, f64, f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (credential, files, next) =
            (Arc::clone(credential), Arc::clone(files), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(port).await?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed) % files.len();
                let path = format!("/oqs/v1/files/OQSsiquc01req_{i:012}.xml");
                let t0 = Instant::now();
                let res = conn.post(&path, &credential, &files[i]).await?;
                latencies.push(t0.elapsed());
                if res.status != 200
                    || !res
                        .body
                        .windows(b"<QualificationValidity>1<".len())
                        .any(|w| w == b"<QualificationValidity>1<")
                {
                    bail!(
                        "{path}: {} {}",
                        res.status,
                        String::from_utf8_lossy(&res.body[..res.body.len().min(400)])
                    );
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    latencies.sort();
    if latencies.is_empty() {
        bail!("no request finished");
    }
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    Ok((
        latencies.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99),
        pct(1.0),
    ))
}
