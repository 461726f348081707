//! The agent's journal in `<folder>/.oqs-link/`: where each request stands
//! (`requests.jsonl`) and how far the check-in results have been fetched
//! (`face.json`), so that a crash, a server restart or a network drop never
//! loses or duplicates a file.
//!
//! `requests.jsonl` holds one JSON object a line, appended and flushed to
//! disk before the step it records is taken; the last line for a name wins:
//!
//! ```json
//! {"at":"2026-10-01T09:00:00Z","name":"OQSsiquc01req_X.xml","sha256":"…","len":812,"modified_ns":1790000000000000000,"stage":"in_flight"}
//! {"at":"…","name":"OQSsiquc01req_X.xml","sha256":"…","len":812,"modified_ns":…,"stage":"answered","result":"OQSsiquc01res_X.xml","rejected":false}
//! {"at":"…","name":"OQSsiquc01req_X.xml","sha256":"…","len":812,"modified_ns":…,"stage":"done","result":"OQSsiquc01res_X.xml","rejected":false}
//! ```
//!
//! A line cut short by a crash is skipped (the step after it was never
//! taken). On open, and whenever the file has grown to several lines per
//! entry, it is rewritten (temporary file, flush, rename) with one line per
//! name, leaving out finished entries older than a day.
//!
//! `face.json` is `{"cursor":"…","pending":null}` or, while a fetched face
//! file is being put in place, `{"cursor":"<old>","pending":{"name":"…",
//! "cursor":"<new>"}}`; it is replaced atomically.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::files;

/// The journal's folder inside the exchange folder.
pub const DIR: &str = ".oqs-link";
const REQUESTS: &str = "requests.jsonl";
const FACE: &str = "face.json";

/// How long a finished entry is kept (for the log reader; nothing depends on it).
const KEEP_DONE: Duration = Duration::days(1);

/// Where a request stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// About to be sent, or sent without an answer yet: the file is in
    /// `req/` and is sent (again) when seen there.
    InFlight,
    /// The answer is flushed to `res/.<result>.part`; what is left is to
    /// rename it into place and to remove the request from `req/` (or, when
    /// rejected, move it into `res/`). Finished without sending again.
    Answered,
    /// The answer is in `res/` and the request gone from `req/`.
    Done,
    /// The request left `req/` before it was answered (taken back).
    Dropped,
}

/// One line of `requests.jsonl`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub at: DateTime<Utc>,
    /// The request file's name in `req/`.
    pub name: String,
    /// SHA-256 of the bytes sent, in hex: the same name with other bytes is
    /// another request.
    pub sha256: String,
    pub len: u64,
    /// The file's modification time when it was read, in nanoseconds since
    /// 1970, if the file system gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ns: Option<u64>,
    pub stage: Stage,
    /// The name written into `res/`: the result, or the `.err` file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Whether the server rejected the request (422 or 413).
    #[serde(default)]
    pub rejected: bool,
}

/// The requests part of the journal.
pub struct Journal {
    dir: PathBuf,
    file: File,
    entries: BTreeMap<String, Record>,
    lines: usize,
}

impl Journal {
    /// Opens (creating) `<folder>/.oqs-link/requests.jsonl`, reads it and
    /// rewrites it compacted.
    pub fn open(folder: &Path, now: DateTime<Utc>) -> io::Result<Journal> {
        let dir = folder.join(DIR);
        fs::create_dir_all(&dir)?;
        let mut entries = BTreeMap::new();
        match fs::read(dir.join(REQUESTS)) {
            Ok(bytes) => {
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    match serde_json::from_slice::<Record>(line) {
                        Ok(record) => {
                            entries.insert(record.name.clone(), record);
                        }
                        Err(e) => tracing::warn!(
                            "ジャーナルの読めない行を飛ばします（書き込み中の停止） / skipping an unreadable journal line (cut short by a stop): {e}"
                        ),
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let file = Self::rewrite(&dir, &mut entries, now)?;
        let lines = entries.len();
        Ok(Journal {
            dir,
            file,
            entries,
            lines,
        })
    }

    /// Writes the entries still kept to a new file and renames it over the
    /// old one; returns the new file opened for appending.
    fn rewrite(
        dir: &Path,
        entries: &mut BTreeMap<String, Record>,
        now: DateTime<Utc>,
    ) -> io::Result<File> {
        entries.retain(|_, r| {
            !matches!(r.stage, Stage::Done | Stage::Dropped) || now - r.at < KEEP_DONE
        });
        let mut text = Vec::new();
        for record in entries.values() {
            serde_json::to_writer(&mut text, record).map_err(io::Error::other)?;
            text.push(b'\n');
        }
        files::write_atomic(dir, REQUESTS, &text)?;
        OpenOptions::new().append(true).open(dir.join(REQUESTS))
    }

    /// Appends a record and flushes it to disk before returning.
    pub fn append(&mut self, record: Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(&record).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        let now = record.at;
        self.entries.insert(record.name.clone(), record);
        self.lines += 1;
        if self.lines > 4 * self.entries.len() + 64 {
            self.file = Self::rewrite(&self.dir, &mut self.entries, now)?;
            self.lines = self.entries.len();
        }
        Ok(())
    }

    /// The latest record for a request name.
    pub fn get(&self, name: &str) -> Option<&Record> {
        self.entries.get(name)
    }

    /// The requests in flight or answered but not finished.
    pub fn unfinished(&self) -> Vec<Record> {
        self.entries
            .values()
            .filter(|r| matches!(r.stage, Stage::InFlight | Stage::Answered))
            .cloned()
            .collect()
    }
}

/// How far the check-in (face) files have been fetched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FaceState {
    /// The cursor of the last face file put into `face/` (`"0"` at first).
    pub cursor: String,
    /// A face file flushed to `face/.<name>.part` and not yet known to be
    /// renamed into place, with its cursor.
    #[serde(default)]
    pub pending: Option<PendingFace>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingFace {
    pub name: String,
    pub cursor: String,
}

impl Default for FaceState {
    fn default() -> Self {
        FaceState {
            cursor: "0".to_owned(),
            pending: None,
        }
    }
}

impl FaceState {
    /// Reads `face.json`; none yet means the start. A file that cannot be
    /// read is an error, not a restart from the beginning (which would fetch
    /// every face file again).
    pub fn load(folder: &Path) -> io::Result<FaceState> {
        match fs::read(folder.join(DIR).join(FACE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FaceState::default()),
            Err(e) => Err(e),
        }
    }

    /// Replaces `face.json` atomically.
    pub fn save(&self, folder: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        files::write_atomic(&folder.join(DIR), FACE, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, stage: Stage, at: DateTime<Utc>) -> Record {
        Record {
            at,
            name: name.to_owned(),
            sha256: "00".repeat(32),
            len: 3,
            modified_ns: Some(1),
            stage,
            result: None,
            rejected: false,
        }
    }

    #[test]
    fn the_last_line_for_a_name_wins_and_a_cut_line_is_skipped() {
        let folder = tempfile::tempdir().unwrap();
        let now = Utc::now();
        {
            let mut j = Journal::open(folder.path(), now).unwrap();
            j.append(record("A", Stage::InFlight, now)).unwrap();
            j.append(record("B", Stage::InFlight, now)).unwrap();
            j.append(record("A", Stage::Done, now)).unwrap();
        }
        let path = folder.path().join(DIR).join(REQUESTS);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"at\":\"2026-");
        fs::write(&path, text).unwrap();
        let j = Journal::open(folder.path(), now).unwrap();
        assert_eq!(j.get("A").unwrap().stage, Stage::Done);
        let unfinished: Vec<_> = j.unfinished().into_iter().map(|r| r.name).collect();
        assert_eq!(unfinished, ["B"]);
        // Rewritten: one line a name, the cut line gone.
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn finished_entries_older_than_a_day_are_dropped_unfinished_ones_kept() {
        let folder = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let old = now - Duration::days(2);
        {
            let mut j = Journal::open(folder.path(), old).unwrap();
            j.append(record("old-done", Stage::Done, old)).unwrap();
            j.append(record("old-gone", Stage::Dropped, old)).unwrap();
            j.append(record("old-flight", Stage::InFlight, old))
                .unwrap();
            j.append(record("new-done", Stage::Done, now)).unwrap();
        }
        let j = Journal::open(folder.path(), now).unwrap();
        assert!(j.get("old-done").is_none());
        assert!(j.get("old-gone").is_none());
        assert!(j.get("old-flight").is_some());
        assert!(j.get("new-done").is_some());
    }

    #[test]
    fn the_journal_stays_small_while_running() {
        let folder = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut j = Journal::open(folder.path(), now).unwrap();
        for _ in 0..500 {
            j.append(record("A", Stage::InFlight, now)).unwrap();
            j.append(record("A", Stage::Done, now)).unwrap();
        }
        let lines = fs::read_to_string(folder.path().join(DIR).join(REQUESTS))
            .unwrap()
            .lines()
            .count();
        assert!(lines <= 70, "{lines}");
        assert_eq!(j.get("A").unwrap().stage, Stage::Done);
    }

    #[test]
    fn the_face_cursor_starts_at_zero_and_is_kept() {
        let folder = tempfile::tempdir().unwrap();
        fs::create_dir_all(folder.path().join(DIR)).unwrap();
        assert_eq!(FaceState::load(folder.path()).unwrap().cursor, "0");
        let state = FaceState {
            cursor: "17".into(),
            pending: Some(PendingFace {
                name: "f.xml".into(),
                cursor: "18".into(),
            }),
        };
        state.save(folder.path()).unwrap();
        assert_eq!(FaceState::load(folder.path()).unwrap(), state);
        fs::write(folder.path().join(DIR).join(FACE), b"{").unwrap();
        assert!(FaceState::load(folder.path()).is_err());
    }
}
