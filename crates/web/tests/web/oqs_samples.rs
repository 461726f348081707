//! The receipt-computer interface's sample files in docs/reference/oqs-samples/,
//! made by the real server on SQLite from the demo's data (synthetic
//! population 2026, the demo's first clinic, one link per encoding).
//!
//! With `ZAITAKU_WRITE_OQS_SAMPLES=1` the samples are made again and
//! written, byte for byte as sent and received, with their README:
//! `ZAITAKU_WRITE_OQS_SAMPLES=1 cargo test -p zaitaku-web --test web -- oqs_samples`.
//! Without it the committed samples are checked: each still reads with
//! `proto::oqs` as the message its name says, in its folder's encoding,
//! and the README lists exactly the files there are.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::codes::{MedicalTreatmentFlag, SegmentOfResult};
use zaitaku_domain::consent::CareKind;
use zaitaku_domain::eligibility::{Coverage, Eligibility};
use zaitaku_domain::institution::InstitutionKind;
use zaitaku_proto::oqs::batch::{
    BatchResult, BatchUpload, ConsentedUpload, DownloadRequest, UploadReceipt, Window,
};
use zaitaku_proto::oqs::individual::{IndividualRequest, IndividualResult, RequestHeader};
use zaitaku_proto::oqs::qualification::SearchInfo;
use zaitaku_proto::oqs::{CharacterCode, Rejection, read};
use zaitaku_storage::StoredInstitution;
use zaitaku_synth::SyntheticRecord;
use zaitaku_testkit::client::{Browser, between, unescape};
use zaitaku_testkit::{fixtures, server};

/// The demo's population seed and size, and its first clinic
/// (crates/zaitaku/src/demo.rs).
const DEMO_SEED: u64 = 2026;
const DEMO_PERSONS: usize = 300;
const CLINIC_NUMBER: u16 = 1001;
const CLINIC_NAME: &str = "さくら在宅クリニック";

const WRITE: &str = "ZAITAKU_WRITE_OQS_SAMPLES";

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/oqs-samples")
}

fn folder(encoding: CharacterCode) -> &'static str {
    match encoding {
        CharacterCode::Utf8 => "utf-8",
        CharacterCode::ShiftJis => "shift_jis",
    }
}

const ENCODINGS: [CharacterCode; 2] = [CharacterCode::Utf8, CharacterCode::ShiftJis];

#[tokio::test]
async fn samples() {
    if std::env::var(WRITE).as_deref() == Ok("1") {
        generate().await;
    }
    check();
}

/// One file of the samples and what it shows.
struct Sample {
    name: String,
    bytes: Vec<u8>,
    shows: String,
}

/// A request sent and its answer kept, with what each shows.
struct Exchange {
    base: String,
    credential: String,
    name: String,
    bytes: Vec<u8>,
    asks: &'static str,
    answers: &'static str,
}

impl Exchange {
    async fn run(self, out: &mut Vec<Sample>) -> Answer {
        let a = send(&self.base, &self.credential, &self.name, self.bytes.clone()).await;
        out.push(Sample {
            name: self.name,
            bytes: self.bytes,
            shows: self.asks.to_owned(),
        });
        out.push(Sample {
            name: a.name.clone(),
            bytes: a.body.clone(),
            shows: self.answers.to_owned(),
        });
        a
    }
}

struct Answer {
    status: u16,
    name: String,
    body: Vec<u8>,
}

async fn send(base: &str, credential: &str, name: &str, body: Vec<u8>) -> Answer {
    let r = reqwest::Client::new()
        .post(format!("{base}/oqs/v1/files/{name}"))
        .bearer_auth(credential)
        .body(body)
        .send()
        .await
        .unwrap();
    let name = r
        .headers()
        .get("x-oqs-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Answer {
        status: r.status().as_u16(),
        name,
        body: r.bytes().await.unwrap().to_vec(),
    }
}

async fn issue(admin: &Browser, label: &str, character_code: &str) -> String {
    let page = admin
        .post(
            "/admin/oqs-links",
            &[("label", label), ("character_code", character_code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.summary());
    unescape(between(&page.body, "id=\"credential\" value=\"", "\"").unwrap())
}

/// The persons of the population with an insurance qualification in force
/// today and their search information, those with a 限度額適用認定証 or
/// a 高齢受給者証 first (they show more of the layout).
fn insured(people: &[SyntheticRecord], today: NaiveDate) -> Vec<(&Eligibility, SearchInfo)> {
    let mut found: Vec<(&Eligibility, SearchInfo)> = people
        .iter()
        .map(|p| &p.eligibility)
        .filter_map(|e| {
            let q = e.resolve(today).qualification.filter(|q| q.covers(today))?;
            match &q.coverage {
                Coverage::Insurance {
                    insurer_number,
                    symbol,
                    number,
                    branch,
                    ..
                } => Some((
                    e,
                    SearchInfo {
                        insurer_number: insurer_number.clone(),
                        symbol: symbol.clone(),
                        number: number.clone(),
                        branch: Some(*branch),
                        birthdate: e.person.birth_date,
                        limit_consent: true,
                        arbitrary_identifier: Some(format!("KARTE{:06}", e.person.id)),
                    },
                )),
                Coverage::MedicalAssistance { .. } => None,
            }
        })
        .collect();
    found.sort_by_key(|(e, _)| {
        (
            e.limit_on(today).is_none(),
            e.elderly_on(today).is_none(),
            e.person.id,
        )
    });
    found
}

async fn generate() {
    let db = zaitaku_testkit::sqlite();
    let srv = server::start(&db.url).await;
    let store = &srv.store;
    let today = fixtures::today();
    let people = fixtures::population(store, DEMO_SEED, today, DEMO_PERSONS).await;
    let clinic: StoredInstitution = fixtures::institution(
        store,
        InstitutionKind::Medical,
        CLINIC_NUMBER,
        CLINIC_NAME,
        true,
    )
    .await;
    let admin_account =
        fixtures::account(store, Some(&clinic), "admin01", Role::Admin, "管理 太郎").await;
    let admin = Browser::login(&srv.base, &clinic, "admin01").await;
    let utf8 = issue(&admin, "デモ用レセコン（UTF-8）", "0").await;
    let sjis = issue(&admin, "デモ用レセコン（Shift_JIS）", "1").await;

    let persons = insured(&people, today);
    assert!(persons.len() >= 4, "too few insured persons");
    let (first, s_first) = persons[0].clone();
    let (second, s_second) = persons[1].clone();
    let (_, s_third) = persons[2].clone();
    // 訪問診療 consents to the clinic for two persons, a 照会番号 for one.
    let now = Utc::now();
    for (e, ago) in [(first, 3), (second, 1)] {
        fixtures::consent(
            store,
            &clinic,
            e.person.id,
            fixtures::Consent::register(CareKind::HomeVisit, now - Duration::hours(ago)),
        )
        .await;
    }
    store
        .set_reference_number(clinic.id, first.person.id, Some("P-000123"), now)
        .await
        .unwrap();
    let code = clinic.institution.code.clone();
    let day = today.format("%Y%m%d").to_string();
    let header = |id: &str| RequestHeader {
        medical_institution_code: code.clone(),
        qualification_confirmation_date: Some(today),
        arbitrary_file_identifier: Some(id.to_owned()),
    };

    let mut all: Vec<(CharacterCode, Vec<Sample>)> = Vec::new();
    for encoding in ENCODINGS {
        let credential = match encoding {
            CharacterCode::Utf8 => &utf8,
            CharacterCode::ShiftJis => &sjis,
        };
        let mut out: Vec<Sample> = Vec::new();
        let exchange =
            |name: String, bytes: Vec<u8>, asks: &'static str, answers: &'static str| Exchange {
                base: srv.base.clone(),
                credential: credential.clone(),
                name,
                bytes,
                asks,
                answers,
            };

        // The individual inquiry, found: 限度額 asked for, the consent to
        // the clinic and the 照会番号 in the result.
        let request = IndividualRequest {
            header: header(&format!("{day}-0001")),
            search: s_first.clone(),
        };
        let a = exchange(
            format!("OQSsiquc01req_{day}0001.xml"),
            request.write(encoding),
            "Individual inquiry (資格確認 by insurance-card data) for a person with a 高齢受給者証 and a 限度額適用認定証; the patient agreed at the counter to the 限度額 information (LimitApplicationCertificateRelatedConsFlg 1).",
            "Its result: 有効 (QualificationValidity 1), the 高齢受給者証, the 限度額 certificate (given because the request's flag is 1, with that flag's ConsTime = now), the other consent flags from the patient's 訪問診療 consent to the clinic (ConsTime = when it was recorded, no AvailableTime), the 照会番号, and the search information echoed.",
        )
        .run(&mut out)
        .await;
        assert_eq!(a.status, 200);

        // Nobody with this number was born on that day.
        let mut stranger = s_third.clone();
        stranger.birthdate = stranger.birthdate.pred_opt().unwrap();
        stranger.limit_consent = false;
        let request = IndividualRequest {
            header: header(&format!("{day}-0002")),
            search: stranger,
        };
        let a = exchange(
            format!("OQSsiquc01req_{day}0002.xml"),
            request.write(encoding),
            "Individual inquiry with an existing 保険者番号・番号 but a birth date one day off.",
            "Its result: 該当資格なし (QualificationValidity 4, an empty ResultList); SegmentOfResult and ProcessingResultStatus 1 (the inquiry itself succeeded).",
        )
        .run(&mut out)
        .await;
        assert_eq!(a.status, 200);

        // A person's value refused: Birthdate not yyyyMMdd.
        let request = IndividualRequest {
            header: header(&format!("{day}-0003")),
            search: s_second.clone(),
        };
        let text = decode(&request.write(encoding), encoding).replace(
            &format!(
                "<Birthdate>{}</Birthdate>",
                s_second.birthdate.format("%Y%m%d")
            ),
            &format!(
                "<Birthdate>{}</Birthdate>",
                s_second.birthdate.format("%Y-%m-%d")
            ),
        );
        let a = exchange(
            format!("OQSsiquc01req_{day}0003.xml"),
            encode(&text, encoding),
            "Individual inquiry whose Birthdate is written `yyyy-MM-dd` instead of `yyyyMMdd`.",
            "Its result: the person refused — ProcessingResultStatus 2 with ProcessingResultCode Z-Q-0011 and the message naming the element; as the only person was refused, SegmentOfResult 9 with the same code and message as ErrorCode/ErrorMessage. The search information is echoed as sent, wrong value included.",
        )
        .run(&mut out)
        .await;
        assert_eq!(a.status, 200);

        // A file that is not XML at all: the .err beside it.
        let malformed = encode(
            &format!(
                "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\n<XmlMsg><MessageHeader><MedicalInstitutionCode>{}</MedicalInstitutionCode></MessageHeader><MessageBody>",
                encoding.declared_name(),
                code.as_str()
            ),
            encoding,
        );
        let a = exchange(
            format!("OQSsiquc01req_{day}0004.xml"),
            malformed,
            "A request file cut short (MessageBody and XmlMsg not closed). The folder agent moves it into `res/` beside its `.err`.",
            "Its `.err` (HTTP 422): three lines — the code Z-Q-0002, the Japanese message for the clinic's staff, the detail — in the link's encoding.",
        )
        .run(&mut out)
        .await;
        assert_eq!(a.status, 422);

        // 一括照会: four persons, one not found, one refused.
        let mut not_found = s_third.clone();
        not_found.number = format!("{}9", not_found.number);
        let upload = BatchUpload {
            header: RequestHeader {
                medical_institution_code: code.clone(),
                qualification_confirmation_date: None,
                arbitrary_file_identifier: Some(format!("{day}-0005")),
            },
            persons: vec![
                s_first.clone(),
                s_second.clone(),
                not_found,
                s_third.clone(),
            ],
        };
        let mut text = decode(&upload.write(encoding), encoding);
        let wrong = s_third.insurer_number.as_str().to_owned();
        let last = wrong.as_bytes()[wrong.len() - 1] - b'0';
        let bad = format!("{}{}", &wrong[..wrong.len() - 1], (last + 1) % 10);
        let at = text.rfind(&format!(">{wrong:>8}<")).unwrap();
        text.replace_range(at..at + 10, &format!(">{bad:>8}<"));
        let a = exchange(
            format!("OQSmuquc01req_{day}0005.xml"),
            encode(&text, encoding),
            "一括照会 upload of four persons: two insured, a 番号 nobody has (該当資格なし), an insurer number with a wrong check digit (refused). No QualificationConfirmationDate: the day of processing is used.",
            "Its receipt: ReceptionNumber (受付番号, `yyyyMMdd` + 8 random digits) and ReceptionDateTime; the same name and bytes sent again get the same 受付番号.",
        )
        .run(&mut out)
        .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
        let download = DownloadRequest {
            medical_institution_code: code.clone(),
            reception_number: receipt.reception_number.clone(),
        }
        .write(encoding);
        let done = downloaded(
            &srv.base,
            credential,
            &format!("OQSmuquc02req_{day}0006.xml"),
            &download,
        )
        .await;
        out.push(Sample {
            name: format!("OQSmuquc02req_{day}0006.xml"),
            bytes: download,
            shows: "The download request: MedicalInstitutionCode and ReceptionNumber only.".into(),
        });
        out.push(Sample {
            name: done.name,
            bytes: done.body,
            shows: "Its result (asked again until SegmentOfResult is no longer 2): the counters (4 / 3 normal / 1 error) and one BulkConfirmUnit per person in the upload's order, ResultOfQualificationConfirmation directly under it (no ResultList), no PrescriptionIssueSelect, ArbitraryFileIdentifier not echoed; the refused person with ProcessingResultStatus 2 and Z-Q-0013.".into(),
        });

        // 同意済資格情報（訪問診療等）: everyone who consented this week.
        let request = ConsentedUpload {
            medical_institution_code: code.clone(),
            arbitrary_file_identifier: Some(format!("{day}-0007")),
            window: Window::Consent {
                from: today - Duration::days(7),
                to: today,
            },
            treatment: MedicalTreatmentFlag::HomeVisit,
        };
        let a = exchange(
            format!("OQSmuhvq01req_{day}0007.xml"),
            request.write(encoding),
            "同意済資格情報 request for 訪問診療等: consents given in the last seven days (ConsentDateFrom–ConsentDateTo), MedicalTreatmentFlag 2.",
            "Its receipt: ReceptionNumber and ReceptionDateTime.",
        )
        .run(&mut out)
        .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let receipt = UploadReceipt::read(&read(&a.body).unwrap()).unwrap();
        let download = DownloadRequest {
            medical_institution_code: code.clone(),
            reception_number: receipt.reception_number.clone(),
        }
        .write(encoding);
        let done = downloaded(
            &srv.base,
            credential,
            &format!("OQSmuhvq02req_{day}0008.xml"),
            &download,
        )
        .await;
        out.push(Sample {
            name: format!("OQSmuhvq02req_{day}0008.xml"),
            bytes: download,
            shows: "The download request.".into(),
        });
        out.push(Sample {
            name: done.name,
            bytes: done.body,
            shows: "Its result: the two persons who consented to the clinic in the window (in the order of their first consent), each with the flags of their latest consent (2 once expired), the qualification as of today, the 照会番号; no search echo.".into(),
        });

        all.push((encoding, out));
    }

    // A check in the staff app becomes a face file, the same check in each
    // link's encoding.
    fixtures::tamper(
        store,
        &format!(
            "INSERT INTO devices (institution_id, kind, token_hash, memo, registered_at) \
             VALUES ({}, 'app', 'oqs-samples', '受付iPad', 0)",
            clinic.id
        ),
    )
    .await;
    let device = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM devices WHERE token_hash = 'oqs-samples'")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    let checked_at = Utc::now();
    store
        .write(vec![zaitaku_storage::Write::keep_app_check(
            &zaitaku_storage::NewAppCheck {
                institution_id: clinic.id,
                device_id: device,
                account_id: admin_account.id,
                person_id: first.person.id,
                method: "visual",
                checked_at,
                day: zaitaku_service::jst_day(checked_at),
                name: &first.person.name,
                valid: true,
                result: "{}",
            },
        )])
        .await
        .unwrap()
        .unwrap();
    for (encoding, out) in &mut all {
        let credential = match encoding {
            CharacterCode::Utf8 => &utf8,
            CharacterCode::ShiftJis => &sjis,
        };
        let r = reqwest::Client::new()
            .get(format!("{}/oqs/v1/face?after=0", srv.base))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let name = r.headers()["x-oqs-file-name"].to_str().unwrap().to_owned();
        out.push(Sample {
            name,
            bytes: r.bytes().await.unwrap().to_vec(),
            shows: "Face file (the answer to `GET /oqs/v1/face?after=0`): one check at the clinic in the staff app (目視確認) as a card-reader result — ReferenceClassification 1, a 16-character ArbitraryFileIdentifier, no search echo, the consent flags and the 照会番号. The 限度額 flag is 0: the consent to the clinic does not include it.".into(),
        });
    }

    let dir = samples_dir();
    let mut readme = README_HEAD.replace("{code}", code.as_str());
    for (encoding, out) in &all {
        let sub = dir.join(folder(*encoding));
        if sub.exists() {
            fs::remove_dir_all(&sub).unwrap();
        }
        fs::create_dir_all(&sub).unwrap();
        writeln!(readme, "\n## `{}/`\n", folder(*encoding)).unwrap();
        writeln!(readme, "| file | what it shows |\n| --- | --- |").unwrap();
        for s in out.iter() {
            fs::write(sub.join(&s.name), &s.bytes).unwrap();
            writeln!(readme, "| `{}` | {} |", s.name, s.shows).unwrap();
        }
    }
    fs::write(dir.join("README.md"), readme).unwrap();
}

const README_HEAD: &str = "# Sample files of the receipt-computer interface

Request and result files of the OQS XML interface as zaitaku's server sends
and receives them (docs/reference/oqs.md), made by
`crates/web/tests/web/oqs_samples.rs` against the real server on SQLite
with the demo's data: synthetic population 2026 (first 300 persons), the
demo's first clinic (さくら在宅クリニック, {code}), a link per
encoding issued by its administrator, a 訪問診療 consent to the clinic for
two persons and a 照会番号 (`P-000123`) for one.

Every file is byte for byte what was sent (requests, written with
`proto::oqs` as a receipt computer would, some spoiled on purpose) or
received (results, `.err`, face files): nothing is pretty-printed. The
`shift_jis/` files are code page 932 bytes; open them as Shift_JIS
(`iconv -f CP932 -t UTF-8 <file>`). Names, dates, times and 受付番号
change each time the samples are made; the people are synthetic.

Made again with

```
ZAITAKU_WRITE_OQS_SAMPLES=1 cargo test -p zaitaku-web --test web -- oqs_samples
```

and checked without the variable (each file still reads with
`zaitaku_proto::oqs::read` and its message's `read`, in its folder's
encoding; the malformed request still gives the code of its `.err`; this
list names exactly the files there are).
";

struct Downloaded {
    name: String,
    body: Vec<u8>,
}

/// Asks for a batch's result until it is done (the worker runs every
/// 250 ms).
async fn downloaded(base: &str, credential: &str, name: &str, request: &[u8]) -> Downloaded {
    for _ in 0..200 {
        let a = send(base, credential, name, request.to_vec()).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let r = BatchResult::read(&read(&a.body).unwrap()).unwrap();
        if r.header.segment_of_result != SegmentOfResult::Processing {
            assert_eq!(r.header.segment_of_result, SegmentOfResult::Done);
            return Downloaded {
                name: a.name,
                body: a.body,
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name}: the job was not done in 20 s")
}

fn decode(bytes: &[u8], encoding: CharacterCode) -> String {
    match encoding {
        CharacterCode::Utf8 => String::from_utf8(bytes.to_vec()).unwrap(),
        CharacterCode::ShiftJis => {
            let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(bytes);
            assert!(!bad);
            text.into_owned()
        }
    }
}

fn encode(text: &str, encoding: CharacterCode) -> Vec<u8> {
    match encoding {
        CharacterCode::Utf8 => text.as_bytes().to_vec(),
        CharacterCode::ShiftJis => {
            let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(text);
            assert!(!bad);
            bytes.into_owned()
        }
    }
}

/// Every committed sample reads as the message its name says.
fn check() {
    let dir = samples_dir();
    let readme =
        fs::read_to_string(dir.join("README.md")).expect("docs/reference/oqs-samples/README.md");
    let mut listed = 0;
    for encoding in ENCODINGS {
        let sub = dir.join(folder(encoding));
        let mut names: Vec<String> = fs::read_dir(&sub)
            .unwrap_or_else(|e| panic!("{}: {e}", sub.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert!(names.len() >= 16, "{}: {names:?}", sub.display());
        for name in &names {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README.md does not list {}/{name}",
                folder(encoding)
            );
            listed += 1;
            let bytes = fs::read(sub.join(name)).unwrap();
            check_one(&names, name, &bytes, encoding)
                .unwrap_or_else(|e| panic!("{}/{name}: {e}", folder(encoding)));
        }
    }
    assert_eq!(
        readme.matches("\n| `").count(),
        listed,
        "README.md lists files that are not there"
    );
}

fn check_one(
    names: &[String],
    name: &str,
    bytes: &[u8],
    encoding: CharacterCode,
) -> Result<(), String> {
    if let Some(base) = name.strip_suffix(".err") {
        let text = decode(bytes, encoding);
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() != 3 || !lines[0].starts_with("Z-Q-") || !lines[1].ends_with('。') {
            return Err(format!("not an .err: {text:?}"));
        }
        // The request beside it still gives the same code.
        let request = format!("{base}.xml");
        if !names.contains(&request) {
            return Err(format!("{request} is not beside it"));
        }
        return Ok(());
    }
    let err = |r: Rejection| r.to_string();
    let doc = match read(bytes) {
        Ok(d) => d,
        Err(e) => {
            let beside = name.replace(".xml", ".err");
            return if names.contains(&beside) {
                let expected = decode(
                    &fs::read(samples_dir().join(folder(encoding)).join(&beside)).unwrap(),
                    encoding,
                );
                if expected.starts_with(&format!("{}\n", e.code())) {
                    Ok(())
                } else {
                    Err(format!(
                        "refused as {} but its .err says {expected:?}",
                        e.code()
                    ))
                }
            } else {
                Err(e.to_string())
            };
        }
    };
    if doc.encoding != encoding {
        return Err(format!("written in {:?}", doc.encoding));
    }
    let prefix = &name[..name.find('_').ok_or("no prefix")? + 1];
    match prefix {
        "OQSsiquc01req_" => IndividualRequest::read(&doc).map(drop).map_err(err),
        "OQSsiquc01res_" => {
            let r = IndividualResult::read(&doc).map_err(err)?;
            (r.header.character_code == encoding)
                .then_some(())
                .ok_or_else(|| "CharacterCodeIdentifier".to_owned())
        }
        "OQSmuquc01req_" => BatchUpload::read_all(bytes).map(drop).map_err(err),
        "OQSmuhvq01req_" | "OQSmuonq01req_" => ConsentedUpload::read(&doc).map(drop).map_err(err),
        "OQSmuquc01res_" | "OQSmuhvq01res_" | "OQSmuonq01res_" => {
            UploadReceipt::read(&doc).map(drop).map_err(err)
        }
        "OQSmuquc02req_" | "OQSmuhvq02req_" | "OQSmuonq02req_" => {
            DownloadRequest::read(&doc).map(drop).map_err(err)
        }
        "OQSmuquc02res_" | "OQSmuhvq02res_" | "OQSmuonq02res_" => {
            let r = BatchResult::read(&doc).map_err(err)?;
            let counts = r.header.counts.ok_or("no counters")?;
            (r.header.segment_of_result == SegmentOfResult::Done
                && counts.total as usize == r.units.len())
            .then_some(())
            .ok_or_else(|| "not a finished result".to_owned())
        }
        other => Err(format!("no message starts {other}")),
    }
}
