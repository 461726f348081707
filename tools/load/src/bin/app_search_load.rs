//! Load benchmark of the staff app's 資格確認結果検索 (D-10-W) against the
//! running server, with ROWS kept results in the database.
//!
//! cargo build --release -p zaitaku -p zaitaku-load
//! target/release/app_search_load [ROWS] [CONCURRENCY] [SECONDS]
//!
//! 1. Untimed set-up, in this process: one institution with ten app
//!    devices of the nurse's account and ROWS kept results (default
//!    1,000,000) spread evenly over the devices and over the 100 days of
//!    retention.
//! 2. The server: `zaitaku serve` on the same database (`ZAITAKU_BIN`).
//! 3. Untimed, over HTTP: the browser keeps the tenth device's token, signs
//!    in with the ID and password (システムログイン), chooses its passcode and
//!    opens セキュリティ設定 with it; a tenth of the results are its device's.
//! 4. Timed, three rounds of SECONDS, CONCURRENCY requests at a time:
//!    alternately this device's and every device's results of the default
//!    period (the last 30 days) — the first page, the last, or the page
//!    after a random moment of the period; half the time 次のページ is
//!    followed too. Each answer is the rendered D-10-W page after the count, the
//!    page's rows and the search's audit record (a durable write). The
//!    median round by p99 is reported.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use zaitaku_load::{Server, free_port, wait_healthy};
use zaitaku_storage::{DeviceKind, Store};

const DEVICES: i64 = 10;
const RETENTION_DAYS: i64 = 100;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rows: i64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("bench.sqlite3").display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run(rows, concurrency, seconds, &url))
}

async fn run(rows: i64, concurrency: usize, seconds: u64, url: &str) -> Result<()> {
    let started = Instant::now();
    let store = Store::open(url).await?;
    let inst = zaitaku_load::institution(&store, 98, "検索負荷試験クリニック").await?;
    let nurse = zaitaku_load::app::nurse(&store, &inst).await?;
    let now = Utc::now();
    // Ten app devices of the nurse's account; the browser keeps the last
    // one's token (as if it had been activated with a code).
    let mut devices = Vec::new();
    for i in 1..=DEVICES {
        let d = store
            .register_device(
                inst.id,
                DeviceKind::App,
                &format!("load-device-{i}"),
                &format!("負荷試験の端末{i}"),
                nurse.id,
                now,
            )
            .await?;
        devices.push(d.id);
    }
    // ROWS results over the retention period, round-robin over the devices.
    let result = r#"{"messages":[],"invalid":false,"reference":"","checked_on":"2026年12月01日","heading":"医療保険","rows":[],"sections":[],"name":"負荷 太郎","valid":true}"#;
    let span = chrono::Duration::days(RETENTION_DAYS)
        .num_microseconds()
        .unwrap_or(0);
    let start = now.timestamp_micros() - span;
    let mut days: std::collections::BTreeMap<(i64, String), i64> = Default::default();
    let mut tx = store.pool().begin().await?;
    for i in 0..rows {
        let at = start + span / rows.max(1) * i;
        let device = devices[(i % DEVICES) as usize];
        let day = zaitaku_service::jst_day(
            chrono::DateTime::from_timestamp_micros(at).ok_or_else(|| anyhow!("time"))?,
        );
        *days.entry((device, day.to_string())).or_default() += 1;
        sqlx::query(
            "INSERT INTO app_checks (institution_id, device_id, account_id, person_id, method, \
             checked_at, name, valid, result) VALUES ($1, $2, $3, 1, 'visual', $4, $5, 1, $6)",
        )
        .bind(inst.id)
        .bind(device)
        .bind(nurse.id)
        .bind(at)
        .bind(format!("負荷 {:07}", i))
        .bind(result)
        .execute(&mut *tx)
        .await?;
        if i % 50_000 == 49_999 {
            tx.commit().await?;
            tx = store.pool().begin().await?;
        }
    }
    for ((device, day), n) in &days {
        sqlx::query(
            "INSERT INTO app_check_days (institution_id, device_id, day, n) VALUES ($1, $2, $3, $4)",
        )
        .bind(inst.id)
        .bind(device)
        .bind(day)
        .bind(n)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    store.close().await;
    eprintln!(
        "set-up: {rows} results in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let port = free_port()?;
    let mut server = Server::start(url, port)?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    wait_healthy(&http, &base).await?;
    let (jar, _) =
        zaitaku_load::app::sign_in(&http, &base, &format!("load-device-{DEVICES}")).await?;
    let cookies = jar.header();

    let pages_of = |body: &str| -> Result<i64> {
        let at = body
            .find(" ページ</span>")
            .ok_or_else(|| anyhow!("no pager: {body}"))?;
        let head = &body[..at];
        let slash = head.rfind("/ ").ok_or_else(|| anyhow!("no page count"))?;
        Ok(head[slash + 2..].trim().parse()?)
    };
    let mine = http
        .get(format!("{base}/app/search?this=1&page=1"))
        .header("cookie", &cookies)
        .send()
        .await?
        .text()
        .await?;
    let all = http
        .get(format!("{base}/app/search?set=1&page=1"))
        .header("cookie", &cookies)
        .send()
        .await?
        .text()
        .await?;
    let (mine_pages, all_pages) = (pages_of(&mine)?, pages_of(&all)?);
    eprintln!("this device: {mine_pages} pages; every device: {all_pages} pages");

    let cookies = Arc::new(cookies);
    let mut rounds = Vec::new();
    for round in 1..=3 {
        let (rate, p50, p99, max) = timed(
            &http,
            &base,
            &cookies,
            concurrency,
            seconds,
            (mine_pages, all_pages),
        )
        .await?;
        println!(
            "round {round}: {rate:.0} pages/s, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms \
             ({rows} results kept, {concurrency} at a time)"
        );
        rounds.push((rate, p99));
    }
    server.stop()?;
    rounds.sort_by(|a, b| a.1.total_cmp(&b.1));
    println!(
        "median of three: p99 {:.1} ms at {:.0} pages/s",
        rounds[1].1, rounds[1].0
    );
    Ok(())
}

/// One timed round: random pages of both scopes for `seconds`; the rate and
/// the latencies in milliseconds (p50, p99, max).
async fn timed(
    http: &reqwest::Client,
    base: &str,
    cookies: &Arc<String>,
    concurrency: usize,
    seconds: u64,
    (mine_pages, all_pages): (i64, i64),
) -> Result<(f64, f64, f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let now = Utc::now().timestamp_micros();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (http, base, cookies) = (http.clone(), base.to_owned(), Arc::clone(cookies));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
            let mut n = 0u64;
            while Instant::now() < deadline {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let this = n.is_multiple_of(2);
                let scope = if this { "this=1" } else { "set=1" };
                let pages = if this { mine_pages } else { all_pages };
                // First, last, or a page reached by 次のページ from a random
                // result of the period.
                let path = match seed % 4 {
                    0 => format!("{base}/app/search?{scope}&page=1"),
                    1 => format!("{base}/app/search?{scope}&last=1"),
                    _ => {
                        // A page anywhere in the period: the results older
                        // than a random moment of the last 30 days.
                        let page = (seed >> 8) % pages.max(1) as u64 + 1;
                        let back = (seed >> 16) % (30 * 86_400_000_000);
                        let at = now - back as i64;
                        format!("{base}/app/search?{scope}&after={at}.0&page={page}")
                    }
                };
                let t0 = Instant::now();
                let res = http
                    .get(&path)
                    .header("cookie", cookies.as_str())
                    .send()
                    .await?;
                let ok = res.status().is_success();
                let body = res.text().await?;
                if !ok || !body.contains("D-10-W") {
                    bail!("{path}: not a search page");
                }
                let next = if let Some(end) = body.find("\" aria-label=\"次のページ\"") {
                    let start = body[..end].rfind("href=\"").map_or(end, |s| s + 6);
                    Some(body[start..end].replace("&amp;", "&"))
                } else {
                    None
                };
                latencies.push(t0.elapsed());
                // Half the time, follow 次のページ (a keyset page).
                if let Some(next) =
                    next.filter(|_| seed.is_multiple_of(2) && Instant::now() < deadline)
                {
                    let t1 = Instant::now();
                    let res = http
                        .get(format!("{base}{next}"))
                        .header("cookie", cookies.as_str())
                        .send()
                        .await?;
                    if !res.status().is_success() {
                        bail!("{next}: {}", res.status());
                    }
                    res.bytes().await?;
                    latencies.push(t1.elapsed());
                }
                n += 1;
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
