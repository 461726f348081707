//! What the load generators set up before the timed phase: registered
//! synthetic persons with cards issued ten days ago, an institution with
//! the function switched on, and the server process they drive.

pub mod app;
pub mod wire;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{NaiveDate, Utc};
use zaitaku_card::{CardKeys, CertificateAuthority};
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::Identity;
use zaitaku_storage::{NewCard, PersonRecords, Store, StoredInstitution};
use zaitaku_synth::{Population, SyntheticRecord};

/// Cards of the load are issued this many days before today.
pub const CARD_AGE_DAYS: i64 = 10;

/// `n` persons of population `seed` born before their card's issue and
/// insured on `today`, bulk-loaded and every one registered for insurance
/// use, so each login succeeds.
pub async fn load_persons(
    store: &Store,
    seed: u64,
    today: NaiveDate,
    n: usize,
) -> Result<Vec<SyntheticRecord>> {
    let issued_on = today - chrono::Duration::days(CARD_AGE_DAYS);
    let people: Vec<_> = Population::new(seed, today)
        .persons()
        .filter(|p| {
            p.eligibility.person.birth_date < issued_on
                && matches!(
                    p.eligibility.resolve(today).validity,
                    QualificationValidity::Valid | QualificationValidity::Multiple
                )
        })
        .take(n)
        .collect();
    if people.len() < n {
        bail!(
            "the synthetic population gave only {} persons",
            people.len()
        );
    }
    let records: Vec<_> = people
        .iter()
        .map(|r| PersonRecords {
            eligibility: &r.eligibility,
            drugs: &r.drugs,
            clinical: &r.clinical,
            checkups: &r.checkups,
        })
        .collect();
    let mut loader = store.bulk_loader().await?;
    loader.insert(&records).await?;
    loader.finish().await?;
    sqlx::query("UPDATE persons SET insurance_use_registered = 1")
        .execute(store.pool())
        .await?;
    Ok(people)
}

/// A medical institution in Tokyo with the function on, named `name`.
pub async fn institution(store: &Store, number: u16, name: &str) -> Result<StoredInstitution> {
    let code = InstitutionCode::build(
        Prefecture::new(13).ok_or_else(|| anyhow!("prefecture 13"))?,
        InstitutionKind::Medical,
        1,
        number,
    )?;
    let mut inst = Institution::new(code, name, true)?;
    inst.remote_function_enabled = true;
    Ok(store
        .insert_institution(&inst, &zaitaku_storage::new_url_token()?, Utc::now())
        .await?)
}

/// Distinct RSA keys shared by the cards (key generation is not what is
/// measured; each card still has its own certificate and serial).
const KEYS: usize = 16;

/// One card of `kind` (`iphone`, `physical`, …) for each person, issued
/// [`CARD_AGE_DAYS`] ago by the newest authority, in the demo wallet (the
/// stand-in authenticator lists only those); `pin_hash` is shared by all.
pub async fn cards(
    store: &Store,
    people: &[SyntheticRecord],
    kind: &str,
    pin_hash: Option<&str>,
) -> Result<Vec<i64>> {
    let issued_on = Utc::now().date_naive() - chrono::Duration::days(CARD_AGE_DAYS);
    let identity = Identity::new(store.clone()).await?;
    identity.ensure_authorities(Utc::now()).await?;
    let authority = store
        .authorities()
        .await?
        .into_iter()
        .rev()
        .find(|a| a.key_pkcs8.is_some())
        .ok_or_else(|| anyhow!("no authority with a key"))?;
    let ca = CertificateAuthority::load(
        authority.key_pkcs8.clone().unwrap_or_default(),
        authority.cert_der.clone(),
    )?;
    let keys: Vec<Vec<u8>> = (0..KEYS)
        .map(|_| zaitaku_card::generate_rsa2048_pkcs8())
        .collect::<Result<_, _>>()?;
    let mut cards = Vec::with_capacity(people.len());
    for (i, p) in people.iter().enumerate() {
        let birth = p.eligibility.person.birth_date;
        let serial = 0x5a00_0000_0000 + i as u64;
        let k = CardKeys::certify(&ca, keys[i % KEYS].clone(), serial, issued_on, birth)?;
        let last_day = zaitaku_card::fifth_birthday_after(issued_on, birth)
            .ok_or_else(|| anyhow!("no fifth birthday"))?;
        let card = store
            .insert_card(&NewCard {
                person_id: p.eligibility.person.id,
                kind,
                authority_id: authority.id,
                serial_hex: &zaitaku_card::serial_hex(serial),
                cert_der: &k.cert_der,
                key_pkcs8: &k.pkcs8,
                pin_hash,
                in_demo_wallet: true,
                issued_at: Utc::now(),
                not_after: zaitaku_card::validity::end_of_day_jst(last_day),
            })
            .await?;
        cards.push(card.id);
    }
    Ok(cards)
}

/// A free TCP port on 127.0.0.1 for the server (racy by nature, fine here).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}

/// A `zaitaku serve` process on the benchmark's database (`ZAITAKU_BIN`, or
/// `zaitaku` beside this binary), with the stand-in authenticator.
pub struct Server(Child);

impl Server {
    /// The server's process id (for its CPU time).
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    pub fn start(url: &str, port: u16) -> Result<Self> {
        let bin = match std::env::var_os("ZAITAKU_BIN") {
            Some(p) => p.into(),
            None => std::env::current_exe()?
                .parent()
                .map(|release| release.join("zaitaku"))
                .ok_or_else(|| anyhow!("cannot find the zaitaku binary; set ZAITAKU_BIN"))?,
        };
        let child = Command::new(&bin)
            .args(["serve", "--database-url", url, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            // The registrations sign in with the stand-in's virtual cards. An
            // environment variable rather than the flag, so that older builds
            // given as ZAITAKU_BIN still start.
            .env("ZAITAKU_STAND_IN_AUTHENTICATOR", "true")
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self(child))
    }

    /// SIGTERM, so the server finishes requests in flight and closes the
    /// database, then waits for it.
    pub fn stop(&mut self) -> Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let exit = self.0.wait()?;
        if !exit.success() {
            bail!("the server exited with {exit}");
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// User + system CPU seconds of a process, from `/proc` (Linux; `None`
/// elsewhere). Clock ticks are 100 per second on Linux.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Per thread name of a process: how many threads, nanoseconds on a CPU and
/// nanoseconds runnable but waiting for one, from `/proc/PID/task/*/schedstat`
/// (Linux with schedstats; empty elsewhere).
pub type ThreadTimes = std::collections::BTreeMap<String, (usize, u64, u64)>;

pub fn thread_times(pid: u32) -> ThreadTimes {
    let mut out = ThreadTimes::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("schedstat")),
        ) else {
            continue;
        };
        let mut fields = stat
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0));
        let (on_cpu, waiting) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
        let e = out.entry(comm.trim().to_owned()).or_default();
        *e = (e.0 + 1, e.1 + on_cpu, e.2 + waiting);
    }
    out
}

/// The server's threads that ran during the timed phase: the share of the
/// phase each group spent on a CPU and waiting for one. The writer is the one
/// thread every registration passes through; time it spends waiting for a
/// CPU delays every caller in its batch.
pub fn print_threads(before: &ThreadTimes, after: &ThreadTimes, secs: f64) {
    let mut parts = Vec::new();
    for (name, (n, on_cpu, waiting)) in after {
        let (_, on0, wait0) = before.get(name).copied().unwrap_or_default();
        let share = |a: u64, b: u64| 100.0 * b.saturating_sub(a) as f64 / 1e9 / secs / *n as f64;
        let (run, wait) = (share(on0, *on_cpu), share(wait0, *waiting));
        if run >= 1.0 {
            parts.push(format!(
                "{name} ×{n} on a CPU {run:.0}%, waiting for one {wait:.0}%"
            ));
        }
    }
    if !parts.is_empty() {
        println!(
            "server threads during the timed phase (each): {}",
            parts.join("; ")
        );
    }
}

/// After the run, with the server stopped: `n` rows of `table` for the
/// institution, `n` audit records `action ok`, and the audit chain intact.
pub async fn verify_written(
    url: &str,
    table: &str,
    institution_id: i64,
    action: &str,
    n: usize,
) -> Result<()> {
    use sqlx::Row;
    let store = Store::connect(url, &zaitaku_storage::ConnectOptions::default()).await?;
    let rows: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE institution_id = $1"
    ))
    .bind(institution_id)
    .fetch_one(store.pool())
    .await?
    .try_get("n")?;
    let audited: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = $1 AND outcome = 'ok'")
            .bind(action)
            .fetch_one(store.pool())
            .await?
            .try_get("n")?;
    let chain = store.verify_audit_chain().await?;
    store.close().await;
    println!(
        "verified: {rows} rows in {table} (expected {n}), {audited} {action} audit records, audit chain {}",
        if chain.is_none() { "intact" } else { "BROKEN" }
    );
    if rows != n as i64 || audited != n as i64 {
        bail!("expected {n} rows in {table} and {n} {action} audit records");
    }
    if let Some(seq) = chain {
        bail!("the audit chain breaks at {seq}");
    }
    Ok(())
}

/// The `Location` of a redirect.
pub fn location(res: &reqwest::Response) -> Result<String> {
    Ok(res
        .headers()
        .get("location")
        .ok_or_else(|| anyhow!("expected a redirect, got {}", res.status()))?
        .to_str()?
        .to_owned())
}

/// The link in `body` that starts with `prefix`, unescaped.
pub fn link(body: &str, prefix: &str) -> Result<String> {
    let start = body
        .find(prefix)
        .ok_or_else(|| anyhow!("no link {prefix} in: {body}"))?;
    let rest = &body[start..];
    Ok(rest[..rest.find('"').ok_or_else(|| anyhow!("link"))?]
        .replace("&#38;", "&")
        .replace("&amp;", "&"))
}

/// The card component's round trip from the service's `authorize` address:
/// the hand-off, the card unlocked with `secret` (its PIN, or the
/// biometric stand-in), and the success page's return link, which starts
/// with `back`.
pub async fn through_the_card(
    http: &reqwest::Client,
    base: &str,
    authorize: &str,
    card: i64,
    secret: &[(&str, &str)],
    back: &str,
) -> Result<String> {
    let res = http.get(format!("{base}{authorize}")).send().await?;
    let hand_off = location(&res)?;
    let res = http
        .post(format!("{base}{hand_off}/card/{card}"))
        .form(secret)
        .send()
        .await?;
    let done = location(&res)?;
    let body = http
        .get(format!("{base}{done}"))
        .send()
        .await?
        .text()
        .await?;
    link(&body, back)
}

/// Waits until the server answers `/healthz`.
pub async fn wait_healthy(http: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server did not become healthy");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
