//! The receipt-computer interface's queued uploads (`oqs_jobs`) and their
//! results kept in parts (`oqs_job_parts`).

use chrono::{DateTime, Utc};

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{
    Db, Insert, Refusal, Statement, Step, Value, Write, Written, insert_returning_id,
};
use crate::{Result, Store};

/// An upload to queue.
pub struct NewOqsJob {
    pub institution_id: i64,
    pub link_id: i64,
    /// `muquc`, `muhvq` or `muonq`.
    pub kind: &'static str,
    pub reception_number: String,
    pub upload_key: String,
    pub request: Vec<u8>,
    /// `0` UTF-8, `1` Shift_JIS: the encoding of its result.
    pub character_code: &'static str,
    pub created_at: DateTime<Utc>,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OqsJobState {
    Queued,
    Working,
    Done,
    Failed,
}

impl OqsJobState {
    fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "working" => Self::Working,
            "done" => Self::Done,
            _ => Self::Failed,
        }
    }
}

/// A job as kept, without its request and parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OqsJob {
    pub id: i64,
    pub institution_id: i64,
    pub link_id: i64,
    pub kind: String,
    pub reception_number: String,
    pub character_code: String,
    pub state: OqsJobState,
    pub parts: i64,
    /// The result file's opening (declaration, header), once done.
    pub opening: Option<Vec<u8>>,
    pub error_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, institution_id, link_id, kind, reception_number, character_code, state, \
     parts, opening, error_code, created_at";

fn job(r: &dyn Columns) -> Result<OqsJob> {
    Ok(OqsJob {
        id: r.col("id")?,
        institution_id: r.col("institution_id")?,
        link_id: r.col("link_id")?,
        kind: r.col("kind")?,
        reception_number: r.col("reception_number")?,
        character_code: r.col("character_code")?,
        state: OqsJobState::parse(&r.col::<String>("state")?),
        parts: r.col("parts")?,
        opening: r.col("opening")?,
        error_code: r.col("error_code")?,
        created_at: from_micros("oqs_jobs", "created_at", r.col("created_at")?)?,
    })
}

const INSERT: Insert = insert_returning_id!(
    "INSERT INTO oqs_jobs (institution_id, link_id, kind, reception_number, upload_key, \
     character_code, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7) \
     ON CONFLICT (institution_id, upload_key) DO NOTHING"
);

/// The upload is kept in parts of this size: binding a blob copies it, and
/// a part's copy is small where the whole file's would not be.
const UPLOAD_PART: usize = 1024 * 1024;

impl Step for NewOqsJob {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let id = db.insert_id(
            &INSERT,
            &[
                Arg::Int(self.institution_id),
                Arg::Int(self.link_id),
                Arg::Text(self.kind),
                Arg::Text(&self.reception_number),
                Arg::Text(&self.upload_key),
                Arg::Text(self.character_code),
                Arg::Int(micros(self.created_at)),
            ],
        )?;
        let Some(id) = id else {
            return Ok(Ok(Written::Done));
        };
        for (part, bytes) in self.request.chunks(UPLOAD_PART).enumerate() {
            db.changed(
                "INSERT INTO oqs_job_uploads (job_id, part, bytes) VALUES ($1, $2, $3)",
                &[Arg::Int(id), Arg::Int(part as i64), Arg::Blob(bytes)],
            )?;
        }
        Ok(Ok(Written::Id(id)))
    }
}

struct Claim {
    id: i64,
    lease_until: i64,
    now: i64,
}

impl Step for Claim {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let changed = db.changed(
            "UPDATE oqs_jobs SET state = 'working', lease_until = $1 WHERE id = $2 \
             AND (state = 'queued' OR (state = 'working' AND lease_until < $3))",
            &[
                Arg::Int(self.lease_until),
                Arg::Int(self.id),
                Arg::Int(self.now),
            ],
        )?;
        Ok(if changed == 0 {
            Err(Refusal::NoChange)
        } else {
            Ok(Written::Done)
        })
    }
}

struct Part {
    job_id: i64,
    part: i64,
    bytes: Vec<u8>,
    lease_until: i64,
}

impl Step for Part {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        // Only while this worker holds the lease; a part written again (a
        // job taken over) replaces the first.
        let held = db.changed(
            "UPDATE oqs_jobs SET lease_until = $1 WHERE id = $2 AND state = 'working'",
            &[Arg::Int(self.lease_until), Arg::Int(self.job_id)],
        )?;
        if held == 0 {
            return Ok(Err(Refusal::NoChange));
        }
        db.changed(
            "INSERT INTO oqs_job_parts (job_id, part, bytes) VALUES ($1, $2, $3) \
             ON CONFLICT (job_id, part) DO UPDATE SET bytes = excluded.bytes",
            &[
                Arg::Int(self.job_id),
                Arg::Int(self.part),
                Arg::Blob(&self.bytes),
            ],
        )?;
        Ok(Ok(Written::Done))
    }
}

struct Finish {
    job_id: i64,
    state: &'static str,
    parts: i64,
    opening: Option<Vec<u8>>,
    error_code: Option<String>,
    at: i64,
}

impl Step for Finish {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let changed = db.changed(
            "UPDATE oqs_jobs SET state = $1, parts = $2, opening = $3, error_code = $4, \
             finished_at = $5, lease_until = NULL WHERE id = $6 AND state = 'working'",
            &[
                Arg::Text(self.state),
                Arg::Int(self.parts),
                Arg::OptBlob(self.opening.as_deref()),
                Arg::OptText(self.error_code.as_deref()),
                Arg::Int(self.at),
                Arg::Int(self.job_id),
            ],
        )?;
        if changed == 0 {
            return Ok(Err(Refusal::NoChange));
        }
        db.changed(
            "DELETE FROM oqs_job_parts WHERE job_id = $1 AND part >= $2",
            &[Arg::Int(self.job_id), Arg::Int(self.parts)],
        )?;
        Ok(Ok(Written::Done))
    }
}

impl Write {
    /// Queues an upload; [`Written::Done`] (no id) when the same upload is
    /// already queued.
    pub fn queue_oqs_job(job: NewOqsJob) -> Self {
        Self::step(job)
    }

    /// Part `part` of a job's result, with the lease renewed; refused when
    /// the worker lost the job.
    pub fn oqs_job_part(
        job_id: i64,
        part: i64,
        bytes: Vec<u8>,
        lease_until: DateTime<Utc>,
    ) -> Self {
        Self::step(Part {
            job_id,
            part,
            bytes,
            lease_until: micros(lease_until),
        })
    }

    /// The job done: its result is the opening and parts `0..parts`.
    pub fn finish_oqs_job(job_id: i64, opening: Vec<u8>, parts: i64, at: DateTime<Utc>) -> Self {
        Self::step(Finish {
            job_id,
            state: "done",
            parts,
            opening: Some(opening),
            error_code: None,
            at: micros(at),
        })
    }

    /// The job could not be done: its download says SegmentOfResult 9.
    pub fn fail_oqs_job(job_id: i64, error_code: &str, at: DateTime<Utc>) -> Self {
        Self::step(Finish {
            job_id,
            state: "failed",
            parts: 0,
            opening: None,
            error_code: Some(error_code.to_owned()),
            at: micros(at),
        })
    }
}

impl Store {
    /// The institution's job of this upload (same name and bytes), if any.
    pub async fn oqs_job_by_upload(
        &self,
        institution_id: i64,
        key: &str,
    ) -> Result<Option<OqsJob>> {
        let sql =
            format!("SELECT {COLUMNS} FROM oqs_jobs WHERE institution_id = $1 AND upload_key = $2");
        self.fetch_optional(&sql, &[Arg::Int(institution_id), Arg::Text(key)], job)
            .await
    }

    /// The institution's job of a 受付番号; another institution's is not
    /// found.
    pub async fn oqs_job_by_reception(
        &self,
        institution_id: i64,
        reception_number: &str,
    ) -> Result<Option<OqsJob>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM oqs_jobs WHERE institution_id = $1 AND reception_number = $2"
        );
        self.fetch_optional(
            &sql,
            &[Arg::Int(institution_id), Arg::Text(reception_number)],
            job,
        )
        .await
    }

    /// Claims the oldest job waiting (or whose worker's lease ran out) until
    /// `lease_until`: the job and its request, or `None` when there is none
    /// or another worker took it first.
    pub async fn claim_oqs_job(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<(OqsJob, Vec<u8>)>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM oqs_jobs WHERE state = 'queued' \
             OR (state = 'working' AND lease_until < $1) ORDER BY id LIMIT 1"
        );
        let Some(found) = self
            .fetch_optional(&sql, &[Arg::Int(micros(now))], job)
            .await?
        else {
            return Ok(None);
        };
        let claimed = self
            .write_conditional(Claim {
                id: found.id,
                lease_until: micros(lease_until),
                now: micros(now),
            })
            .await?;
        if !claimed {
            return Ok(None);
        }
        let size: i64 = self
            .fetch_optional(
                "SELECT COALESCE(SUM(LENGTH(bytes)), 0) AS n FROM oqs_job_uploads WHERE job_id = $1",
                &[Arg::Int(found.id)],
                |r| r.col::<i64>("n"),
            )
            .await?
            .unwrap_or(0);
        let mut request = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        for part in 0.. {
            let Some(bytes) = self
                .fetch_optional(
                    "SELECT bytes FROM oqs_job_uploads WHERE job_id = $1 AND part = $2",
                    &[Arg::Int(found.id), Arg::Int(part)],
                    |r| r.col::<Vec<u8>>("bytes"),
                )
                .await?
            else {
                break;
            };
            request.extend_from_slice(&bytes);
        }
        Ok(Some((found, request)))
    }

    /// Removes the jobs queued before `before`, with their upload and
    /// result parts: the number of jobs removed.
    pub async fn purge_oqs_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let at = micros(before);
        self.write_step(Statement::new(
            "DELETE FROM oqs_job_uploads WHERE job_id IN (SELECT id FROM oqs_jobs WHERE created_at < $1)",
            vec![Value::Int(at)],
        ))
        .await?;
        self.write_step(Statement::new(
            "DELETE FROM oqs_job_parts WHERE job_id IN (SELECT id FROM oqs_jobs WHERE created_at < $1)",
            vec![Value::Int(at)],
        ))
        .await?;
        let removed = self
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM oqs_jobs WHERE created_at < $1",
                &[Arg::Int(at)],
                |r| r.col::<i64>("n"),
            )
            .await?
            .unwrap_or(0);
        self.write_step(Statement::new(
            "DELETE FROM oqs_jobs WHERE created_at < $1",
            vec![Value::Int(at)],
        ))
        .await?;
        Ok(u64::try_from(removed).unwrap_or(0))
    }

    /// Part `part` of a done job's result.
    pub async fn oqs_job_part(&self, job_id: i64, part: i64) -> Result<Option<Vec<u8>>> {
        self.fetch_optional(
            "SELECT bytes FROM oqs_job_parts WHERE job_id = $1 AND part = $2",
            &[Arg::Int(job_id), Arg::Int(part)],
            |r| r.col::<Vec<u8>>("bytes"),
        )
        .await
    }
}
