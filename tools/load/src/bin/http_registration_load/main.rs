//! Load benchmark of complete consent registrations against the running
//! server, over real TCP sockets.
//!
//! cargo build --release -p zaitaku -p zaitaku-load
//! target/release/http_registration_load [N] [CONCURRENCY] [DATABASE_URL]
//!
//! 1. Untimed set-up, in this process: N synthetic persons with a qualification
//!    in force, registered for insurance use, one iPhone card each, one
//!    institution. Cards share a few RSA keys (key generation is not what is
//!    measured); each has its own certificate and serial.
//! 2. The server: a separate `zaitaku serve` process on the same database
//!    (`ZAITAKU_BIN` overrides the path; default: `zaitaku` beside this
//!    binary), with the stand-in authenticator switched on.
//! 3. Untimed, over HTTP: for each registration a patient opens A-01, chooses
//!    flow A, answers B-01, confirms B-02 (the server issues the nonce and
//!    sends the patient to the authenticator), opens the hand-off and unlocks
//!    the card, which signs the token; the authenticator redirects to its
//!    success page, which holds the return link with the one-time code. All within the 5-minute nonce
//!    and hand-off lifetime.
//! 4. Timed, over HTTP, CONCURRENCY patients at a time, each on a keep-alive
//!    connection of its own opened before the clock starts: the return to
//!    `/w/{token}/callback?code=…&state=…` — the server claims the code and
//!    gets the token, verifies it, checks the card and eligibility, and in
//!    one commit spends the code and the nonce, records the consent, audits
//!    and saves the visit; it answers (303 to B-03) only once that commit is
//!    durable. This is the registration the issue measures: nonce → signed
//!    token → consent durable. With `LOAD_WITH_PAGE=1` each registration
//!    also fetches the completion page B-03 it is sent to (a second request:
//!    eligibility read and its reading audited); latency then runs to the
//!    last byte of that page.
//! 5. Verification after the server stopped: exactly N consents, the audit
//!    chain intact, one `consent.write ok` per registration.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use zaitaku_load::app::csrf_of;
use zaitaku_load::{
    Server, cpu_seconds, free_port, location, print_threads, thread_times, wait_healthy, wire,
};
use zaitaku_storage::Store;

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148";

// The load generator shares the two cores with the server: the less CPU it
// takes per request, the less it disturbs what is measured.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let client_threads: usize = std::env::var("LOAD_CLIENT_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let url = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("bench.sqlite3").display()));
    // The client runs on its own small runtime so that it takes as little of
    // the two cores from the server as it can.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_threads)
        .enable_all()
        .build()?;
    rt.block_on(run(n, concurrency, &url))
}

struct Prepared {
    cookie: String,
    callback: String,
}

async fn run(n: usize, concurrency: usize, url: &str) -> Result<()> {
    let (token, inst_id, cards) = set_up(url, n).await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server::start(url, port)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(PHONE)
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    wait_healthy(&http, &base).await?;

    eprintln!("preparing {n} registrations over HTTP up to the signed token (untimed)…");
    let started = Instant::now();
    let queue = Arc::new(std::sync::Mutex::new(cards.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (queue, http, base, token) = (queue.clone(), http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let next = queue.lock().map_err(|_| anyhow!("queue"))?.next();
                let Some(card) = next else { break };
                out.push(prepare(&http, &base, &token, card).await?);
            }
            anyhow::Ok(out)
        }));
    }
    let mut prepared = Vec::with_capacity(n);
    for t in tasks {
        prepared.extend(t.await??);
    }
    let prep_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "prepared {} in {prep_secs:.1} s; the oldest nonce must be used within 5 minutes",
        prepared.len()
    );

    eprintln!("timed: {n} registrations over HTTP, {concurrency} at a time");
    let wal_before = wal_megabytes(url);
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        conns.push(wire::Connection::open(port).await?);
    }
    let cpu_before = (cpu_seconds(server.id()), cpu_seconds(std::process::id()));
    let machine_before = machine_ticks();
    let threads_before = thread_times(server.id());
    let started = Instant::now();
    let queue = Arc::new(std::sync::Mutex::new(prepared.into_iter()));
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (queue, token) = (queue.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let next = queue.lock().map_err(|_| anyhow!("queue"))?.next();
                let Some(p) = next else { break };
                let t0 = Instant::now();
                complete(&mut conn, &token, &p).await?;
                lat.push(t0.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let wal_after = wal_megabytes(url);
    let cpu_after = (cpu_seconds(server.id()), cpu_seconds(std::process::id()));
    let machine_after = machine_ticks();
    let threads_after = thread_times(server.id());
    server.stop()?;

    lat.sort();
    let per = if with_page() { 2 } else { 1 };
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let secs = elapsed.as_secs_f64();
    println!(
        "{} registrations in {secs:.2} s: {:.0} registrations/s ({:.0} requests/s, {per} per registration), \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        lat.len() as f64 / secs,
        per as f64 * lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );

    if let ((Some(s0), Some(c0)), (Some(s1), Some(c1))) = (cpu_before, cpu_after) {
        let per = |a: f64, b: f64| (b - a) / lat.len().max(1) as f64 * 1e6;
        println!(
            "CPU during the timed phase: server {:.2} cores ({:.0} µs per registration), load generator {:.2} cores \
             ({:.0} µs per registration); load average at the end: {}",
            (s1 - s0) / secs,
            per(s0, s1),
            (c1 - c0) / secs,
            per(c0, c1),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
    }

    if let (Some(before), Some(after)) = (machine_before, machine_after) {
        let total: u64 = after.iter().zip(&before).map(|(a, b)| a - b).sum();
        let share = |i: usize| 100.0 * (after[i] - before[i]) as f64 / total.max(1) as f64;
        println!(
            "the whole machine during the timed phase: {:.0}% idle, {:.0}% waiting for I/O, {:.0}% stolen by the host",
            share(3),
            share(4),
            share(7)
        );
    }

    print_threads(&threads_before, &threads_after, secs);

    if let (Some(before), Some(after)) = (wal_before, wal_after) {
        println!("SQLite WAL file: {before} MB before the timed phase, {after} MB after");
    }
    zaitaku_load::verify_written(url, "consents", inst_id, "consent.write", n).await
}

/// The machine's CPU time so far, from the first line of `/proc/stat` (user,
/// nice, system, idle, iowait, irq, softirq, steal), in clock ticks.
fn machine_ticks() -> Option<[u64; 8]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut fields = stat.lines().next()?.split_whitespace().skip(1);
    let mut out = [0u64; 8];
    for v in &mut out {
        *v = fields.next()?.parse().ok()?;
    }
    Some(out)
}

/// Size of the SQLite WAL file beside the database, when there is one.
fn wal_megabytes(url: &str) -> Option<u64> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    Some(std::fs::metadata(format!("{path}-wal")).ok()?.len() / 1_000_000)
}

/// `LOAD_WITH_PAGE=1`: the completion page is part of each timed registration.
fn with_page() -> bool {
    std::env::var_os("LOAD_WITH_PAGE").is_some_and(|v| v == "1")
}

/// Persons, an institution, authorities and cards, straight into the database.
async fn set_up(url: &str, n: usize) -> Result<(String, i64, Vec<i64>)> {
    let store = Store::open(url).await?;
    let today = Utc::now().date_naive();
    eprintln!("loading {n} synthetic persons and issuing {n} cards (untimed)…");
    let people = zaitaku_load::load_persons(&store, 5, today, n).await?;
    let inst = zaitaku_load::institution(&store, 98, "負荷試験在宅クリニック").await?;
    let cards = zaitaku_load::cards(&store, &people, "iphone", None).await?;
    store.close().await;
    Ok((inst.url_token, inst.id, cards))
}

fn set_cookie(res: &reqwest::Response, cookie: &mut String) -> Result<()> {
    if let Some(v) = res.headers().get("set-cookie") {
        let v = v.to_str()?;
        *cookie = v.split(';').next().unwrap_or_default().to_owned();
    }
    Ok(())
}

/// A-01 → B-01 → B-02 → authenticator → unlock: returns the cookie and the
/// return link with the one-time code.
async fn prepare(http: &reqwest::Client, base: &str, token: &str, card: i64) -> Result<Prepared> {
    let mut cookie = String::new();
    let res = http.get(format!("{base}/w/{token}")).send().await?;
    set_cookie(&res, &mut cookie)?;
    let csrf = csrf_of(&res.text().await?)?;
    let res = http
        .post(format!("{base}/w/{token}/flow/register"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await?;
    if !res.status().is_redirection() {
        bail!("flow/register answered {}", res.status());
    }
    let form = [
        ("csrf", csrf.as_str()),
        ("item_surgery", "agree"),
        ("item_clinical_and_drug", "agree"),
        ("item_checkups", "agree"),
        ("item_specific_disease", "agree"),
        ("item_subsidy", "agree"),
        ("prescription_form", "1"),
    ];
    let res = http
        .post(format!("{base}/w/{token}/choose"))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await?;
    if location(&res)? != format!("/w/{token}/confirm") {
        bail!("B-01 did not go on to B-02");
    }
    let res = http
        .post(format!("{base}/w/{token}/auth"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await?;
    let authorize = location(&res)?;
    let back = format!("/w/{token}/callback?");
    let callback =
        zaitaku_load::through_the_card(http, base, &authorize, card, &[("biometric", "1")], &back)
            .await?;
    Ok(Prepared { cookie, callback })
}

/// The timed part of one registration: the return to the service and, with
/// `LOAD_WITH_PAGE=1`, the completion page.
async fn complete(conn: &mut wire::Connection, token: &str, p: &Prepared) -> Result<()> {
    let res = conn.get(&p.callback, &p.cookie, PHONE).await?;
    let next = res
        .location
        .ok_or_else(|| anyhow!("expected a redirect, got {}", res.status))?;
    if next != format!("/w/{token}/done") {
        bail!("the callback went to {next}");
    }
    if !with_page() {
        return Ok(());
    }
    let res = conn.get(&next, &p.cookie, PHONE).await?;
    let body = String::from_utf8_lossy(&res.body);
    if res.status != 200 || !body.contains("同意登録が正常に完了いたしました。") {
        bail!("no completion page ({})", res.status);
    }
    Ok(())
}
