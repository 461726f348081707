//! Load benchmark of complete PIN checks through the staff app
//! (マイナンバーカード（暗証番号）) against the running server, over real TCP
//! sockets.
//!
//! cargo build --release -p zaitaku -p zaitaku-load
//! target/release/app_check_load [N] [CONCURRENCY] [DATABASE_URL]
//!
//! 1. Untimed set-up, in this process: N synthetic persons with a
//!    qualification in force, registered for insurance use, one physical
//!    card each (PIN 1234); one clinic, its nurse and one app device.
//! 2. The server: a separate `zaitaku serve` process on the same database
//!    (`ZAITAKU_BIN`), with the stand-in authenticator.
//! 3. Untimed, over HTTP: the browser keeping the device's token signs in
//!    (システムログイン), chooses its passcode and turns 目視確認で本人認証
//!    off. Its session is copied N times (one app session per check, as if
//!    N nurses' devices were each in the middle of a check). For each
//!    check: 暗証番号 → OK (the server issues the nonce) → 読み取り開始
//!    → the card component, where the card is unlocked with its PIN and
//!    signs the token → the return link with the one-time code. All within
//!    the 5-minute nonce and hand-off lifetime.
//! 4. Timed, CONCURRENCY checks at a time, each on a keep-alive connection
//!    of its own: the return to `/app/check/callback?code=…&state=…` — the
//!    server claims the code and gets the token, verifies it over the
//!    nonce, reads the eligibility, builds the result and keeps it with the
//!    check's audit record, and answers (303 to 読み取り完了) only once that
//!    is durable.
//! 5. Verification after the server stopped: exactly N kept results, one
//!    `app.check ok` per check, the audit chain intact.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use zaitaku_load::app::Jar;
use zaitaku_load::{
    Server, cpu_seconds, free_port, location, print_threads, thread_times, wait_healthy, wire,
};
use zaitaku_storage::Store;

const DEVICE_TOKEN: &str = "load-app-device";
const TABLET: &str = "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) Mobile/15E148";

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let url = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("bench.sqlite3").display()));
    // One client thread: the less of the two cores the client takes, the
    // less it disturbs what is measured.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run(n, concurrency, &url))
}

struct Prepared {
    cookie: String,
    callback: String,
}

async fn run(n: usize, concurrency: usize, url: &str) -> Result<()> {
    let (inst_id, cards) = set_up(url, n).await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server::start(url, port)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(TABLET)
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    wait_healthy(&http, &base).await?;

    let (jar, csrf) = zaitaku_load::app::sign_in(&http, &base, DEVICE_TOKEN).await?;
    let res = http
        .post(format!("{base}/app/security/visual-check"))
        .header("cookie", jar.header())
        .form(&[("csrf", csrf.as_str()), ("on", "0")])
        .send()
        .await?;
    if !res
        .text()
        .await?
        .contains("目視確認で本人認証をオフにしました。")
    {
        bail!("目視確認で本人認証 did not turn off");
    }
    let sessions = copy_session(url, &jar, n).await?;

    eprintln!("preparing {n} PIN checks over HTTP up to the signed token (untimed)…");
    let started = Instant::now();
    let queue = Arc::new(std::sync::Mutex::new(cards.into_iter().zip(sessions)));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (queue, http, base, csrf) = (queue.clone(), http.clone(), base.clone(), csrf.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let next = queue.lock().map_err(|_| anyhow!("queue"))?.next();
                let Some((card, cookie)) = next else { break };
                out.push(prepare(&http, &base, &csrf, cookie, card).await?);
            }
            anyhow::Ok(out)
        }));
    }
    let mut prepared = Vec::with_capacity(n);
    for t in tasks {
        prepared.extend(t.await??);
    }
    eprintln!(
        "prepared {} in {:.1} s; the oldest nonce must be used within 5 minutes",
        prepared.len(),
        started.elapsed().as_secs_f64()
    );

    eprintln!("timed: {n} checks over HTTP, {concurrency} at a time");
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        conns.push(wire::Connection::open(port).await?);
    }
    let cpu_before = cpu_seconds(server.id());
    let threads_before = thread_times(server.id());
    let started = Instant::now();
    let queue = Arc::new(std::sync::Mutex::new(prepared.into_iter()));
    let mut tasks = Vec::new();
    for mut conn in conns {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let next = queue.lock().map_err(|_| anyhow!("queue"))?.next();
                let Some(p) = next else { break };
                let t0 = Instant::now();
                let res = conn.get(&p.callback, &p.cookie, TABLET).await?;
                if res.location.as_deref() != Some("/app/check/done") {
                    bail!(
                        "the callback answered {}: {}",
                        res.status,
                        String::from_utf8_lossy(&res.body)
                    );
                }
                lat.push(t0.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds(server.id());
    let threads_after = thread_times(server.id());
    server.stop()?;

    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{} checks in {secs:.2} s: {:.0} checks/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        println!(
            "server CPU during the timed phase: {:.2} cores, {:.0} µs per check; load average at the end: {}",
            (after - before) / secs,
            (after - before) / lat.len().max(1) as f64 * 1e6,
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
    }
    print_threads(&threads_before, &threads_after, secs);
    zaitaku_load::verify_written(url, "app_checks", inst_id, "app.check", n).await
}

/// Persons, a clinic, its nurse and app device, cards, straight into the
/// database.
async fn set_up(url: &str, n: usize) -> Result<(i64, Vec<i64>)> {
    let store = Store::open(url).await?;
    let today = Utc::now().date_naive();
    eprintln!("loading {n} synthetic persons and issuing {n} cards (untimed)…");
    let people = zaitaku_load::load_persons(&store, 7, today, n).await?;
    let inst = zaitaku_load::institution(&store, 97, "負荷試験訪問看護クリニック").await?;
    let nurse = zaitaku_load::app::nurse(&store, &inst).await?;
    store
        .register_device(
            inst.id,
            zaitaku_storage::DeviceKind::App,
            DEVICE_TOKEN,
            "負荷試験の訪問用iPad",
            nurse.id,
            Utc::now(),
        )
        .await?;
    // One PIN hash for every card: the card's unlock is untimed and the
    // hash is salted per string, not per card.
    let pin_hash = zaitaku_card::hash_pin("1234")?;
    let cards = zaitaku_load::cards(&store, &people, "physical", Some(&pin_hash)).await?;
    store.close().await;
    Ok((inst.id, cards))
}

/// N copies of the signed-in browser's session, each under its own id:
/// the cookie headers, device token and session each.
async fn copy_session(url: &str, jar: &Jar, n: usize) -> Result<Vec<String>> {
    let sid = jar
        .get("zt_app_session")
        .ok_or_else(|| anyhow!("no app session cookie"))?;
    let store = Store::connect(url, &zaitaku_storage::ConnectOptions::default()).await?;
    let now = Utc::now();
    let data = store
        .session(sid, now)
        .await?
        .ok_or_else(|| anyhow!("the session is not stored"))?;
    let data = Arc::new(data);
    let mut tasks = Vec::new();
    // Many writes in flight, so the group-commit writer batches them.
    for _ in 0..64 {
        let (store, data) = (store.clone(), data.clone());
        let share = n.div_ceil(64);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(share);
            for _ in 0..share {
                let sid = zaitaku_storage::new_url_token()?;
                store
                    .put_session(&sid, &data, now, now + chrono::Duration::minutes(30))
                    .await?;
                let mut copy = Jar::with("zt_app_device", DEVICE_TOKEN);
                copy.set("zt_app_session", &sid);
                out.push(copy.header());
            }
            anyhow::Ok(out)
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.extend(t.await??);
    }
    out.truncate(n);
    store.close().await;
    Ok(out)
}

/// 暗証番号 → OK → 読み取り開始 → the card unlocked with its PIN: the
/// return link with the one-time code.
async fn prepare(
    http: &reqwest::Client,
    base: &str,
    csrf: &str,
    cookie: String,
    card: i64,
) -> Result<Prepared> {
    let res = http
        .post(format!("{base}/app/check"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf), ("method", "pin")])
        .send()
        .await?;
    if location(&res)? != "/app/check/read" {
        bail!("暗証番号 did not go on to the reader");
    }
    let read = http
        .get(format!("{base}/app/check/read"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let authorize = zaitaku_load::link(&read, "/auth/authorize?")?;
    let callback = zaitaku_load::through_the_card(
        http,
        base,
        &authorize,
        card,
        &[("pin", "1234")],
        "/app/check/callback?",
    )
    .await?;
    Ok(Prepared { cookie, callback })
}
