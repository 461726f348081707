//! The folder agent: recovery at start, the look at `req/`, one exchange
//! per stable request file, the face files, and the loop with its back-off.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use sha2::{Digest, Sha256};
use tracing::{debug, error, info, warn};

use crate::journal::{FaceState, Journal, PendingFace, Record, Stage};
use crate::names::{err_name, is_request_name, is_temp_name, temp_name};
use crate::server::{Face, Sent, Server};
use crate::{Config, Error, Report, files};

/// At most this many face files in one look (the rest on the next).
const FACES_PER_LOOK: usize = 1000;
/// How many looks `--once` makes for files still being written.
const ONCE_LOOKS: usize = 10;

/// Why the agent stopped sending for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// 401: the credential was refused.
    Unauthorized,
    /// The server cannot be reached or answers 5xx (or something unexpected).
    Unavailable,
}

/// What a file's size and time were at a look, and since when.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Look {
    len: u64,
    modified: Option<SystemTime>,
    since: Instant,
}

impl Look {
    fn same_file_state(&self, other: &Look) -> bool {
        self.len == other.len && self.modified == other.modified
    }
}

struct Agent {
    config: Config,
    server: Server,
    req: PathBuf,
    res: PathBuf,
    face: PathBuf,
    journal: Journal,
    face_state: FaceState,
    looks: HashMap<String, Look>,
    mentioned: HashSet<String>,
    report: Report,
}

fn folder_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Folder {
        path: path.to_path_buf(),
        source,
    }
}

impl Agent {
    /// Creates the folders, opens the journal and finishes what a previous
    /// run left half done.
    fn start(config: Config) -> Result<Agent, Error> {
        let folder = config.folder.clone();
        let (req, res, face) = (folder.join("req"), folder.join("res"), folder.join("face"));
        for dir in [&req, &res, &face] {
            fs::create_dir_all(dir).map_err(folder_error(dir))?;
        }
        let journal_dir = folder.join(crate::journal::DIR);
        let journal = Journal::open(&folder, Utc::now()).map_err(|source| Error::Journal {
            path: journal_dir.clone(),
            source,
        })?;
        let face_state = FaceState::load(&folder).map_err(|source| Error::Journal {
            path: journal_dir.clone(),
            source,
        })?;
        let server = Server::new(config.server.clone(), &config.credential, config.timeout)
            .map_err(Error::Client)?;
        if config.server.scheme() == "http"
            && !matches!(
                config.server.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]")
            )
        {
            warn!(
                server = %config.server,
                "認証情報を暗号化せずに送ります。https のURLを使ってください / the credential travels unencrypted: use an https URL"
            );
        }
        let mut agent = Agent {
            config,
            server,
            req,
            res,
            face,
            journal,
            face_state,
            looks: HashMap::new(),
            mentioned: HashSet::new(),
            report: Report::default(),
        };
        agent.recover().map_err(|source| Error::Journal {
            path: journal_dir,
            source,
        })?;
        info!(
            folder = %agent.config.folder.display(),
            server = %agent.config.server,
            "連携フォルダの監視を始めます / watching the exchange folder"
        );
        Ok(agent)
    }

    /// Finishes the entries a stop left unfinished, then removes stale
    /// temporary files.
    fn recover(&mut self) -> io::Result<()> {
        for record in self.journal.unfinished() {
            match record.stage {
                Stage::Answered => {
                    if let Err(e) = self.finish(&record) {
                        error!(file = %record.name, "前回の続きを完了できません / cannot finish what the last run began: {e}");
                    }
                }
                Stage::InFlight => {
                    if !self.req.join(&record.name).exists() {
                        self.journal.append(Record {
                            at: Utc::now(),
                            stage: Stage::Dropped,
                            ..record
                        })?;
                    } else {
                        info!(file = %record.name, "送信中だった要求を送り直します / resending a request that was in flight");
                    }
                }
                Stage::Done | Stage::Dropped => {}
            }
        }
        if let Some(pending) = self.face_state.pending.take() {
            if self.face.join(temp_name(&pending.name)).exists() {
                files::commit(&self.face, &pending.name)?;
            }
            self.face_state.cursor = pending.cursor;
            self.face_state.save(&self.config.folder)?;
        }
        for dir in [&self.res, &self.face] {
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                if entry.file_name().to_str().is_some_and(is_temp_name) {
                    debug!(file = %entry.path().display(), "removing a stale temporary file");
                    fs::remove_file(entry.path())?;
                }
            }
        }
        Ok(())
    }

    /// The steps after an answer is flushed to its temporary name: rename
    /// it into `res/`, remove (or, rejected, move) the request, mark done.
    fn finish(&mut self, record: &Record) -> io::Result<()> {
        let result = record
            .result
            .clone()
            .unwrap_or_else(|| err_name(&record.name));
        if self.res.join(temp_name(&result)).exists() {
            files::commit(&self.res, &result)?;
        }
        let request = self.req.join(&record.name);
        if still_the_same(&request, record)? {
            if record.rejected {
                files::move_into(&request, &self.res, &record.name)?;
            } else {
                fs::remove_file(&request)?;
                files::sync_dir(&self.req)?;
            }
        }
        self.journal.append(Record {
            at: Utc::now(),
            stage: Stage::Done,
            ..record.clone()
        })
    }

    /// Looks at `req/` and returns the request files whose size and time
    /// have not changed for `settle`, in name order.
    fn look(&mut self) -> Vec<String> {
        let entries = match fs::read_dir(&self.req) {
            Ok(e) => e,
            Err(e) => {
                error!(folder = %self.req.display(), "req フォルダを読めません / cannot read req/: {e}");
                return Vec::new();
            }
        };
        let now = Instant::now();
        let mut present = HashSet::new();
        let mut listed = HashSet::new();
        let mut ready = Vec::new();
        for entry in entries.flatten() {
            let name = match entry.file_name().into_string() {
                Ok(n) => n,
                Err(raw) => {
                    let lossy = raw.to_string_lossy().into_owned();
                    self.mention(
                        &lossy,
                        "名前が文字コードとして読めません / the name is not valid text",
                    );
                    listed.insert(lossy);
                    continue;
                }
            };
            listed.insert(name.clone());
            if name.starts_with('.') {
                continue;
            }
            if !is_request_name(&name) {
                self.mention(
                    &name,
                    "要求ファイルの名前ではありません / not a request file name",
                );
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if !meta.is_file() {
                self.mention(&name, "通常のファイルではありません / not a regular file");
                continue;
            }
            present.insert(name.clone());
            let seen = Look {
                len: meta.len(),
                modified: meta.modified().ok(),
                since: now,
            };
            match self.looks.get(&name) {
                Some(before)
                    if before.same_file_state(&seen)
                        && seen.len > 0
                        && now.duration_since(before.since) >= self.config.settle =>
                {
                    ready.push(name);
                }
                Some(before) if before.same_file_state(&seen) => {}
                _ => {
                    self.looks.insert(name, seen);
                }
            }
        }
        self.looks.retain(|n, _| present.contains(n));
        self.mentioned.retain(|n| listed.contains(n));
        ready.sort();
        ready
    }

    /// Logs once per name why a file in `req/` is left alone.
    fn mention(&mut self, name: &str, why: &str) {
        if self.mentioned.insert(name.to_owned()) {
            info!(file = %name, "req/ のこのファイルは送りません / leaving this file in req/ alone: {why}");
        }
    }

    /// Sends one stable request file and puts its answer in place.
    async fn exchange(&mut self, name: &str) -> Result<(), Blocked> {
        let look = self.looks.remove(name);
        let path = self.req.join(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                error!(file = %name, "要求ファイルを読めません / cannot read the request file: {e}");
                return Ok(());
            }
        };
        let Ok(meta) = fs::metadata(&path) else {
            return Ok(());
        };
        // Changed while being read: still being written. Looked at again later.
        let unchanged = look.is_some_and(|l| {
            l.len == meta.len() && l.len == bytes.len() as u64 && l.modified == meta.modified().ok()
        });
        if !unchanged {
            return Ok(());
        }
        let record = Record {
            at: Utc::now(),
            name: name.to_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            len: meta.len(),
            modified_ns: meta.modified().ok().and_then(nanos),
            stage: Stage::InFlight,
            result: None,
            rejected: false,
        };
        // A request answered before a stop and not yet removed: finish it
        // without asking again (the receipt computer may have taken the
        // result already).
        let answered_before = self
            .journal
            .get(name)
            .filter(|b| b.stage == Stage::Answered && b.sha256 == record.sha256)
            .cloned();
        if let Some(before) = answered_before {
            if let Err(e) = self.finish(&before) {
                error!(file = %name, "前回の続きを完了できません / cannot finish what the last run began: {e}");
            }
            return Ok(());
        }
        if let Err(e) = self.journal.append(record.clone()) {
            error!(file = %name, "ジャーナルに書けないため送りません / not sending: cannot write the journal: {e}");
            return Err(Blocked::Unavailable);
        }
        debug!(file = %name, bytes = bytes.len(), "sending");
        match self.server.send(name, bytes).await {
            Sent::Answer { name: result, body } => {
                let answered = Record {
                    at: Utc::now(),
                    stage: Stage::Answered,
                    result: Some(result.clone()),
                    ..record
                };
                match self.put_answer(&answered, &body) {
                    Ok(()) => {
                        info!(file = %name, result = %result, "結果を res/ に書きました / wrote the result into res/");
                        self.report.answered += 1;
                    }
                    Err(e) => {
                        error!(file = %name, "結果を res/ に書けません / cannot write the result into res/: {e}")
                    }
                }
                Ok(())
            }
            Sent::Rejected {
                status,
                code,
                name: given,
                body,
            } => {
                let err = err_name(name);
                if given.as_deref().is_some_and(|g| g != err) {
                    warn!(file = %name, given = ?given, "the server named the .err file differently; writing {err}");
                }
                let answered = Record {
                    at: Utc::now(),
                    stage: Stage::Answered,
                    result: Some(err.clone()),
                    rejected: true,
                    ..record
                };
                match self.put_answer(&answered, &body) {
                    Ok(()) => {
                        warn!(file = %name, status, code = ?code, "要求は受け付けられませんでした。res/ に .err を書きました / the request was rejected: moved it into res/ beside {err}");
                        self.report.rejected += 1;
                    }
                    Err(e) => {
                        error!(file = %name, "エラーファイルを res/ に書けません / cannot write the .err file into res/: {e}")
                    }
                }
                Ok(())
            }
            Sent::Unauthorized => {
                error!(file = %name, "サーバが連携の認証情報を拒否しました（401）。管理画面《レセコン連携》で発行した認証情報を確認してください。ファイルは req/ に残し、後で送り直します / the server refused the link credential (401): check the credential issued under レセコン連携; the file stays in req/ and is sent again later");
                Err(Blocked::Unauthorized)
            }
            Sent::Retry(why) => {
                warn!(file = %name, "サーバに送れません。ファイルは req/ に残し、後で送り直します / cannot reach the server, the file stays in req/ and is sent again later: {why}");
                Err(Blocked::Unavailable)
            }
        }
    }

    /// Flushes the answer to its temporary name, records it, then finishes.
    fn put_answer(&mut self, answered: &Record, body: &[u8]) -> io::Result<()> {
        let result = answered
            .result
            .clone()
            .unwrap_or_else(|| err_name(&answered.name));
        files::write_temp(&self.res, &result, body)?;
        self.journal.append(answered.clone())?;
        self.finish(answered)
    }

    /// Fetches the check-in results after the cursor into `face/`.
    async fn fetch_faces(&mut self) -> Result<(), Blocked> {
        for _ in 0..FACES_PER_LOOK {
            match self.server.face(&self.face_state.cursor).await {
                Face::File { name, cursor, body } => {
                    if cursor == self.face_state.cursor {
                        error!(cursor = %cursor, "サーバがカーソルを進めません / the server's face cursor did not advance");
                        return Err(Blocked::Unavailable);
                    }
                    if let Err(e) = self.put_face(&name, &cursor, &body) {
                        error!(file = %name, "顔認証の結果を face/ に書けません / cannot write the check-in result into face/: {e}");
                        return Err(Blocked::Unavailable);
                    }
                    info!(file = %name, "顔認証の結果を face/ に書きました / wrote a check-in result into face/");
                    self.report.faces += 1;
                }
                Face::None => return Ok(()),
                Face::Unauthorized => {
                    error!(
                        "サーバが連携の認証情報を拒否しました（401）。管理画面《レセコン連携》で発行した認証情報を確認してください / the server refused the link credential (401): check the credential issued under レセコン連携"
                    );
                    return Err(Blocked::Unauthorized);
                }
                Face::Retry(why) => {
                    warn!(
                        "顔認証の結果を取得できません。後で再試行します / cannot fetch check-in results, trying again later: {why}"
                    );
                    return Err(Blocked::Unavailable);
                }
            }
        }
        Ok(())
    }

    /// Temporary file, then the journal names it pending, then the rename,
    /// then the cursor: a stop at any point neither loses nor repeats it.
    fn put_face(&mut self, name: &str, cursor: &str, body: &[u8]) -> io::Result<()> {
        files::write_temp(&self.face, name, body)?;
        self.face_state.pending = Some(PendingFace {
            name: name.to_owned(),
            cursor: cursor.to_owned(),
        });
        self.face_state.save(&self.config.folder)?;
        files::commit(&self.face, name)?;
        self.face_state.cursor = cursor.to_owned();
        self.face_state.pending = None;
        self.face_state.save(&self.config.folder)
    }

    /// One pass: every stable request, then the face files. Stops at the
    /// first sign the server is unreachable or refuses the credential.
    async fn pass(&mut self) -> Result<(), Blocked> {
        for name in self.look() {
            self.exchange(&name).await?;
        }
        self.fetch_faces().await
    }

    /// The number of request files waiting in `req/`.
    fn waiting(&self) -> usize {
        fs::read_dir(&self.req)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| {
                        e.file_type().is_ok_and(|t| t.is_file())
                            && e.file_name().to_str().is_some_and(is_request_name)
                    })
                    .count()
            })
            .unwrap_or(0)
    }
}

/// The file's modification time in nanoseconds since 1970.
fn nanos(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
}

/// Whether `path` still holds the request `record` was made for (same
/// bytes): a file dropped anew under the same name is left alone.
fn still_the_same(path: &Path, record: &Record) -> io::Result<bool> {
    match fs::read(path) {
        Ok(bytes) => Ok(hex::encode(Sha256::digest(&bytes)) == record.sha256),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The wait after `failures` passes in a row ended blocked: the interval
/// doubled each time, at most `max` (or the interval, if longer).
pub fn backoff(interval: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(16);
    interval.saturating_mul(factor).min(max.max(interval))
}

/// Runs until `shutdown` completes: looks at the folder every interval,
/// waits longer (doubling, up to the cap) while the server is unreachable or
/// refuses the credential. A stop in the middle of an exchange is safe: the
/// journal finishes it on the next start.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let (interval, max) = (config.interval, config.max_backoff);
    let mut agent = Agent::start(config)?;
    tokio::pin!(shutdown);
    let mut failures = 0u32;
    loop {
        let outcome = tokio::select! {
            () = &mut shutdown => break,
            outcome = agent.pass() => outcome,
        };
        let wait = match outcome {
            Ok(()) => {
                failures = 0;
                interval
            }
            Err(_) => {
                failures = failures.saturating_add(1);
                let wait = backoff(interval, max, failures);
                debug!(?wait, "backing off");
                wait
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    info!("連携フォルダの監視を終了しました / stopped watching the exchange folder");
    Ok(())
}

/// One round: sends the request files that are there (waiting until each is
/// stable; a file still growing after a few looks is left for the next
/// run), fetches new face files, and reports.
pub async fn run_once(config: Config) -> Result<Report, Error> {
    let settle = config.settle;
    let mut agent = Agent::start(config)?;
    let mut blocked = None;
    agent.look();
    for _ in 0..ONCE_LOOKS {
        tokio::time::sleep(settle).await;
        for name in agent.look() {
            if let Err(b) = agent.exchange(&name).await {
                blocked = Some(b);
                break;
            }
        }
        if blocked.is_some() || agent.looks.is_empty() {
            break;
        }
    }
    if blocked.is_none() {
        blocked = agent.fetch_faces().await.err();
    }
    let mut report = agent.report.clone();
    report.waiting = agent.waiting();
    report.blocked = blocked;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = Duration::from_millis;
        let waits: Vec<_> = (1..=8).map(|f| backoff(ms(500), ms(30_000), f)).collect();
        assert_eq!(
            waits,
            [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000].map(ms)
        );
        assert_eq!(backoff(ms(500), ms(30_000), u32::MAX), ms(30_000));
        assert_eq!(backoff(ms(60_000), ms(30_000), 3), ms(60_000));
    }
}
