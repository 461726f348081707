//! The receipt-computer interface's uploads, worked as jobs queued in the
//! database so that any node works them: 一括照会 (`OQSmuquc01`) and the
//! 同意済資格情報 requests for 訪問診療等 (`OQSmuhvq01`) and オンライン診療等
//! (`OQSmuonq01`). An upload is answered at once with its 受付番号; a worker
//! claims the job for a lease, writes the result in parts (renewing the
//! lease with each), and finishes it; a worker that dies leaves a lease
//! that runs out, and another worker does the job again from the start.
//! The download (`…02req_`) answers SegmentOfResult 2 until the job is
//! done.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeDelta, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use zaitaku_domain::codes::{MedicalTreatmentFlag, ProcessingResultStatus, SegmentOfResult};
use zaitaku_domain::consent::{CareKind, ConsentAction, ConsentRecord, jst};
use zaitaku_proto::oqs::batch::{
    self, BatchResult, BatchUpload, ConsentedUpload, DownloadRequest, UploadReceipt, Window,
};
use zaitaku_proto::oqs::qualification::{Counts, PersonAnswer, ResultHeader};
use zaitaku_proto::oqs::reference::{
    self, RegistrationHeader, RegistrationRequest, RegistrationResult,
};
use zaitaku_proto::oqs::{
    CharacterCode, Rejection, RejectionKind, RequestKind, RequestName, read_as,
};
use zaitaku_storage::{NewOqsJob, OqsJob, OqsJobState, Store, Write};

use crate::inquiry::oqs::{
    Exchange, Link, answer_by_card, answer_for_person, link_event, own_institution,
    register_reference,
};
use crate::{ServiceError, jst_day};

/// Persons per part of a result (about 2 KB each).
pub const PART_PERSONS: usize = 2_000;
/// How long a claimed job is the worker's before another may take it over.
pub const LEASE: TimeDelta = Duration::seconds(60);

/// `muquc`, `muhvq` or `muonq`: the jobs' kinds as stored.
fn job_kind(kind: RequestKind) -> Option<&'static str> {
    match kind {
        RequestKind::BatchUpload | RequestKind::BatchDownload => Some("muquc"),
        RequestKind::HomeVisitUpload | RequestKind::HomeVisitDownload => Some("muhvq"),
        RequestKind::OnlineUpload | RequestKind::OnlineDownload => Some("muonq"),
        RequestKind::ReferenceNumberUpload | RequestKind::ReferenceNumberDownload => Some("muimm"),
        _ => None,
    }
}

fn upload_key(name: &RequestName, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(name.request().as_bytes());
    h.update([0]);
    h.update(bytes);
    zaitaku_proto::base64url::encode(&h.finalize())
}

/// A 受付番号: 16 digits, the day and 8 random digits.
fn reception_number(now: DateTime<Utc>) -> Result<String, ServiceError> {
    let mut b = [0u8; 8];
    zaitaku_identity::random_bytes(&mut b)?;
    let n = u64::from_be_bytes(b) % 100_000_000;
    Ok(format!(
        "{}{n:08}",
        now.with_timezone(&jst()).format("%Y%m%d")
    ))
}

/// An upload (`…01req_`): checked as a file, queued, answered with its
/// 受付番号. The same upload sent again (same name and bytes) is the same
/// job and gets the same 受付番号.
pub async fn upload(
    store: &Store,
    link: &Link,
    name: &RequestName,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<Result<Exchange, Rejection>, ServiceError> {
    let Some(kind) = job_kind(name.kind) else {
        return Ok(Err(Rejection::new(
            RejectionKind::NotOffered,
            name.request(),
        )));
    };
    let checked = if kind == "muimm" {
        RegistrationRequest::read_each(&bytes, &mut |_, _| Ok(()))
    } else if kind == "muquc" {
        // Read person by person and let go: an upload of 100,000 persons
        // is checked without holding them.
        BatchUpload::read_each(&bytes, &mut |_, _| Ok(())).map(|(header, persons)| {
            (
                header.medical_institution_code,
                header.arbitrary_file_identifier,
                persons,
            )
        })
    } else {
        read_as(&bytes, |doc| {
            let r = ConsentedUpload::read(doc)?;
            let expected = if kind == "muhvq" {
                MedicalTreatmentFlag::HomeVisit
            } else {
                MedicalTreatmentFlag::Online
            };
            if r.treatment != expected {
                return Err(Rejection::new(
                    RejectionKind::UnknownCode,
                    format!(
                        "XmlMsg/MessageBody/QualificationConfirmSearchInfo/MedicalTreatmentFlag: {}（{}は{}）",
                        r.treatment.code(),
                        name.kind.prefix(),
                        expected.code()
                    ),
                ));
            }
            if matches!(r.window, Window::Examination { .. }) && kind == "muhvq" {
                return Err(Rejection::new(
                    RejectionKind::Missing,
                    "XmlMsg/MessageBody/QualificationConfirmSearchInfo/ConsentDateFrom",
                ));
            }
            Ok((r.medical_institution_code, r.arbitrary_file_identifier, 0))
        })
    };
    let (code, file_identifier, persons) = match checked {
        Ok(c) => c,
        Err(r) => return Ok(Err(r)),
    };
    if let Err(r) = own_institution(link, &code) {
        return Ok(Err(r));
    }
    let key = upload_key(name, &bytes);
    let job = match store.oqs_job_by_upload(link.institution_id, &key).await? {
        Some(j) => j,
        None => {
            let number = reception_number(now)?;
            store
                .write(vec![
                    Write::queue_oqs_job(NewOqsJob {
                        institution_id: link.institution_id,
                        link_id: link.id,
                        kind,
                        reception_number: number,
                        upload_key: key.clone(),
                        request: bytes,
                        character_code: link.character_code.identifier(),
                        created_at: now,
                    }),
                    Write::audit(
                        &link_event(
                            link,
                            "oqs.upload",
                            "ok",
                            None,
                            json!({"message": name.kind.as_str(), "file": name.request(), "persons": persons}),
                        ),
                        now,
                    ),
                ])
                .await?
                .map_err(|r| ServiceError::Internal(format!("{r:?}")))?;
            store
                .oqs_job_by_upload(link.institution_id, &key)
                .await?
                .ok_or_else(|| ServiceError::Internal("the queued job is not there".into()))?
        }
    };
    let receipt = UploadReceipt {
        process_execution_time: now.with_timezone(&jst()).naive_local(),
        medical_institution_code: link.institution_code.clone(),
        arbitrary_file_identifier: file_identifier,
        reception_number: job.reception_number.clone(),
        reception_date_time: job.created_at.with_timezone(&jst()).naive_local(),
        character_code: link.character_code,
    };
    Ok(Ok(Exchange::Result {
        name: name.result("xml"),
        bytes: receipt.write(),
    }))
}

/// A download (`…02req_`): the results when the job is done, SegmentOfResult
/// 2 while it is not, 9 when it failed. A 受付番号 of another institution,
/// or of another kind of upload, is not found.
pub async fn download(
    store: &Store,
    link: &Link,
    name: &RequestName,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Exchange, Rejection>, ServiceError> {
    let request = match read_as(bytes, DownloadRequest::read) {
        Ok(r) => r,
        Err(r) => return Ok(Err(r)),
    };
    if let Err(r) = own_institution(link, &request.medical_institution_code) {
        return Ok(Err(r));
    }
    let job = store
        .oqs_job_by_reception(link.institution_id, &request.reception_number)
        .await?
        .filter(|j| Some(j.kind.as_str()) == job_kind(name.kind));
    let Some(job) = job else {
        return Ok(Err(Rejection::new(
            RejectionKind::UnknownReception,
            format!("ReceptionNumber {}", request.reception_number),
        )));
    };
    store
        .audit(
            &link_event(
                link,
                "oqs.download",
                match job.state {
                    OqsJobState::Done => "ok",
                    OqsJobState::Failed => "failed",
                    _ => "processing",
                },
                None,
                json!({"message": name.kind.as_str(), "reception": job.reception_number}),
            ),
            now,
        )
        .await?;
    let result_name = name.result("xml");
    if job.state == OqsJobState::Done
        && let Some(opening) = job.opening
    {
        return Ok(Ok(Exchange::Parts {
            name: result_name,
            opening,
            job_id: job.id,
            parts: job.parts,
        }));
    }
    let failed = job.state == OqsJobState::Failed;
    let header = ResultHeader {
        process_execution_time: now.with_timezone(&jst()).naive_local(),
        qualification_confirmation_date: None,
        medical_institution_code: link.institution_code.clone(),
        arbitrary_file_identifier: None,
        reference_classification: None,
        reception_number: Some(job.reception_number.clone()),
        segment_of_result: if failed {
            SegmentOfResult::Failed
        } else {
            SegmentOfResult::Processing
        },
        error: failed.then(|| {
            (
                job.error_code.clone().unwrap_or_default(),
                "要求ファイルを処理できませんでした。要求ファイルを確認し、もう一度送信してください。"
                    .to_owned(),
            )
        }),
        counts: None,
        character_code: character_code(&job),
    };
    Ok(Ok(Exchange::Result {
        name: result_name,
        bytes: BatchResult {
            header,
            units: Vec::new(),
        }
        .write(),
    }))
}

fn character_code(job: &OqsJob) -> CharacterCode {
    CharacterCode::from_identifier(&job.character_code).unwrap_or(CharacterCode::Utf8)
}

/// Part `part` of a done job's result, and the closing after the last.
pub async fn result_part(store: &Store, job_id: i64, part: i64) -> Result<Vec<u8>, ServiceError> {
    store
        .oqs_job_part(job_id, part)
        .await?
        .ok_or_else(|| ServiceError::Internal(format!("part {part} of job {job_id} is missing")))
}

/// Works the oldest waiting job, if any: `true` when one was worked.
/// `clock` gives the time as the work goes on (leases are renewed with each
/// part).
pub async fn work_one(
    store: &Store,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<bool, ServiceError> {
    let now = clock();
    let Some((job, request)) = store.claim_oqs_job(now, now + LEASE).await? else {
        return Ok(false);
    };
    let link = Link {
        id: job.link_id,
        institution_id: job.institution_id,
        institution_code: match store.institution(job.institution_id).await? {
            Some(i) => i.institution.code.clone(),
            None => return Ok(true),
        },
        character_code: character_code(&job),
    };
    let worked = match job.kind.as_str() {
        "muquc" => inquiries(store, &link, &job, request, clock).await?,
        "muimm" => registrations(store, &link, &job, request, clock).await?,
        _ => consented(store, &link, &job, &request, clock).await?,
    };
    let at = clock();
    let write = match worked {
        Worked::Done { counts, parts, on } => {
            let header = ResultHeader {
                process_execution_time: at.with_timezone(&jst()).naive_local(),
                qualification_confirmation_date: on,
                medical_institution_code: link.institution_code.clone(),
                arbitrary_file_identifier: None,
                reference_classification: None,
                reception_number: Some(job.reception_number.clone()),
                segment_of_result: SegmentOfResult::Done,
                error: None,
                counts: Some(counts),
                character_code: link.character_code,
            };
            let opening = if job.kind == "muimm" {
                RegistrationResult::opening(&RegistrationHeader {
                    process_execution_time: header.process_execution_time,
                    medical_institution_code: header.medical_institution_code,
                    arbitrary_file_identifier: None,
                    reception_number: header.reception_number,
                    segment_of_result: header.segment_of_result,
                    error: None,
                    counts: header.counts,
                    character_code: header.character_code,
                })
            } else {
                BatchResult::opening(&header)
            };
            Write::finish_oqs_job(job.id, opening, parts, at)
        }
        Worked::Refused(code) => Write::fail_oqs_job(job.id, code, at),
        Worked::Lost => return Ok(true),
    };
    // Refused only when the lease was lost to another worker, which then
    // finishes the job itself.
    let _ = store.write(vec![write]).await?;
    Ok(true)
}

enum Worked {
    Done {
        counts: Counts,
        /// Parts written, the closing included.
        parts: i64,
        on: Option<NaiveDate>,
    },
    /// The upload could no longer be read (it was checked when queued).
    Refused(&'static str),
    /// Another worker took the job over.
    Lost,
}

/// Writes the units in parts of [`PART_PERSONS`], each part together with
/// the audit records of the persons read in it; the closing is the last
/// part.
struct Parts<'a> {
    store: &'a Store,
    job: &'a OqsJob,
    clock: &'a (dyn Fn() -> DateTime<Utc> + Sync),
    buffer: Vec<u8>,
    audits: Vec<Write>,
    in_buffer: usize,
    written: i64,
    counts: Counts,
}

impl Parts<'_> {
    async fn push(
        &mut self,
        answer: &PersonAnswer,
        audit: Option<Write>,
        encoding: CharacterCode,
    ) -> Result<bool, ServiceError> {
        let failed = answer.status == ProcessingResultStatus::Error;
        self.push_unit(&batch::unit(answer, encoding), failed, audit)
            .await
    }

    /// A unit already encoded (`failed`: its ProcessingResultStatus is 2).
    async fn push_unit(
        &mut self,
        unit: &[u8],
        failed: bool,
        audit: Option<Write>,
    ) -> Result<bool, ServiceError> {
        self.buffer.extend_from_slice(unit);
        self.audits.extend(audit);
        self.in_buffer += 1;
        self.counts.total += 1;
        if failed {
            self.counts.error += 1;
        } else {
            self.counts.normal += 1;
        }
        if self.in_buffer == PART_PERSONS {
            return self.flush().await;
        }
        Ok(true)
    }

    /// `false` when the lease was lost.
    async fn flush(&mut self) -> Result<bool, ServiceError> {
        let now = (self.clock)();
        let mut writes = vec![Write::oqs_job_part(
            self.job.id,
            self.written,
            std::mem::take(&mut self.buffer),
            now + LEASE,
        )];
        writes.append(&mut self.audits);
        self.in_buffer = 0;
        self.written += 1;
        Ok(self.store.write(writes).await?.is_ok())
    }

    async fn close(mut self, on: Option<NaiveDate>) -> Result<Worked, ServiceError> {
        self.buffer.extend_from_slice(batch::CLOSING);
        if !self.flush().await? {
            return Ok(Worked::Lost);
        }
        Ok(Worked::Done {
            counts: self.counts,
            parts: self.written,
            on,
        })
    }
}

fn parts<'a>(
    store: &'a Store,
    job: &'a OqsJob,
    clock: &'a (dyn Fn() -> DateTime<Utc> + Sync),
) -> Parts<'a> {
    Parts {
        store,
        job,
        clock,
        buffer: Vec::with_capacity(PART_PERSONS * 2048),
        audits: Vec::with_capacity(PART_PERSONS),
        in_buffer: 0,
        written: 0,
        counts: Counts {
            total: 0,
            normal: 0,
            error: 0,
        },
    }
}

/// 一括照会: each person as the individual inquiry answers them.
async fn inquiries(
    store: &Store,
    link: &Link,
    job: &OqsJob,
    request: Vec<u8>,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<Worked, ServiceError> {
    // The header first (it may stand anywhere in the file), then the
    // persons as they are read, a part's worth at a time: the file's
    // persons are never all in memory.
    let header = match BatchUpload::read_each(&request, &mut |_, _| Ok(())) {
        Ok((header, _)) => header,
        Err(r) => return Ok(Worked::Refused(r.code())),
    };
    let now = clock();
    let on = header
        .qualification_confirmation_date
        .unwrap_or_else(|| jst_day(now));
    let (tx, mut persons) = tokio::sync::mpsc::channel(PART_PERSONS);
    let reading = tokio::task::spawn_blocking(move || {
        BatchUpload::read_each(&request, &mut |echo, search| {
            tx.blocking_send((echo, search))
                .map_err(|_| Rejection::new(RejectionKind::Layout, "the worker stopped"))
        })
    });
    let mut out = parts(store, job, clock);
    while let Some((echo, search)) = persons.recv().await {
        let (mut answer, person_id) = match &search {
            Err(r) => (PersonAnswer::refused(r, None), None),
            Ok(s) => answer_by_card(store, link, s, on, now).await?,
        };
        answer.prescription = None;
        answer.search = Some(echo);
        let audit = person_id.map(|id| {
            Write::audit(
                &link_event(
                    link,
                    "oqs.inquiry",
                    "ok",
                    Some(id),
                    json!({"message": "muquc01", "reception": job.reception_number, "on": on}),
                ),
                now,
            )
        });
        if !out.push(&answer, audit, link.character_code).await? {
            return Ok(Worked::Lost);
        }
    }
    match reading.await {
        Ok(Ok(_)) => {}
        Ok(Err(r)) => return Ok(Worked::Refused(r.code())),
        Err(e) => return Err(ServiceError::Internal(format!("reading the upload: {e}"))),
    }
    out.close(Some(on)).await
}

/// 同意済資格情報: everyone who consented to this institution for the
/// care in the window, each with their latest consent of it, its flags
/// (2 once expired) and the qualification as of today.
async fn consented(
    store: &Store,
    link: &Link,
    job: &OqsJob,
    request: &[u8],
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<Worked, ServiceError> {
    let upload = match read_as(request, ConsentedUpload::read) {
        Ok(u) => u,
        Err(r) => return Ok(Worked::Refused(r.code())),
    };
    let now = clock();
    let today = jst_day(now);
    let care = if job.kind == "muhvq" {
        CareKind::HomeVisit
    } else {
        CareKind::Online
    };
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(jst()).single())
            .map(|t| t.with_timezone(&Utc))
    };
    let (by_valid_until, from, to) = match upload.window {
        Window::Consent { from, to } => (false, from, to),
        // An online consent holds until the end of the consultation day:
        // consultations from From to To end from From+1 00:00 to To+1
        // 00:00, that last instant included.
        Window::Examination { from, to } => (true, from.succ_opt().unwrap_or(from), to),
    };
    let (Some(from), Some(until)) = (start(from), to.succ_opt().and_then(start)) else {
        return Ok(Worked::Refused("Z-Q-0011"));
    };
    let until = if by_valid_until {
        until + Duration::microseconds(1)
    } else {
        until
    };
    let consents = store
        .consents_in_window(
            link.institution_id,
            care.as_str(),
            by_valid_until,
            from,
            until,
        )
        .await?;
    // The latest consent of each person in the window, in the order of
    // their first.
    let mut latest: BTreeMap<i64, (usize, ConsentRecord)> = BTreeMap::new();
    for (i, c) in consents.into_iter().enumerate() {
        let first = latest.get(&c.person_id).map_or(i, |(f, _)| *f);
        latest.insert(c.person_id, (first, c));
    }
    let mut ordered: Vec<_> = latest.into_values().collect();
    ordered.sort_by_key(|(first, _)| *first);
    // A person who revoked since is not listed: the consent given in the
    // window no longer holds. One who updated it since is listed with the
    // consent as it stands now.
    let mut standing = Vec::with_capacity(ordered.len());
    for (_, in_window) in ordered {
        match store
            .latest_consent(link.institution_id, in_window.person_id)
            .await?
        {
            Some(now) if now.action == ConsentAction::Revoke => {}
            Some(now) if now.care_kind == in_window.care_kind => standing.push(now),
            _ => standing.push(in_window),
        }
    }
    let mut out = parts(store, job, clock);
    for consent in standing {
        let person_id = consent.person_id;
        let answer =
            answer_for_person(store, link, person_id, today, Some(&consent), now, true).await?;
        let audit = Write::audit(
            &link_event(
                link,
                "oqs.consented",
                "ok",
                Some(person_id),
                json!({"message": job.kind, "reception": job.reception_number, "consent": consent.id}),
            ),
            now,
        );
        if !out.push(&answer, Some(audit), link.character_code).await? {
            return Ok(Worked::Lost);
        }
    }
    out.close(Some(today)).await
}

/// 照会番号一括登録: each patient registered as the single request does.
async fn registrations(
    store: &Store,
    link: &Link,
    job: &OqsJob,
    request: Vec<u8>,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<Worked, ServiceError> {
    let now = clock();
    let (tx, mut patients) = tokio::sync::mpsc::channel(PART_PERSONS);
    let reading = tokio::task::spawn_blocking(move || {
        RegistrationRequest::read_each(&request, &mut |echo, registration| {
            tx.blocking_send((echo, registration))
                .map_err(|_| Rejection::new(RejectionKind::Layout, "the worker stopped"))
        })
    });
    let mut out = parts(store, job, clock);
    while let Some((echo, registration)) = patients.recv().await {
        let (outcome, audit) =
            register_reference(store, link, echo, registration, "muimm01", now).await?;
        let failed = outcome.status == ProcessingResultStatus::Error;
        let unit = reference::bulk_unit(&outcome, link.character_code);
        if !out.push_unit(&unit, failed, audit).await? {
            return Ok(Worked::Lost);
        }
    }
    match reading.await {
        Ok(Ok(_)) => {}
        Ok(Err(r)) => return Ok(Worked::Refused(r.code())),
        Err(e) => return Err(ServiceError::Internal(format!("reading the upload: {e}"))),
    }
    out.close(None).await
}
