//! What both load generators set up before the timed phase: registered
//! synthetic persons whose cards can be issued ten days ago, and an
//! institution with the function switched on.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{NaiveDate, Utc};
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{PersonRecords, Store, StoredInstitution};
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
