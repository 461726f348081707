//! `zaitaku oqs-link` against the real server on SQLite and PostgreSQL: a
//! receipt computer's folder, files written into `req/` and read back from
//! `res/` and `face/` with `proto::oqs`, through a server that is down at
//! first, a file dropped twice, a rejected file and a batch.

use std::fs;
use std::path::Path;

use chrono::Utc;
use zaitaku_domain::codes::{QualificationValidity, SegmentOfResult};
use zaitaku_oqs_link::{Config, run_once};
use zaitaku_proto::oqs::batch::{BatchResult, BatchUpload, DownloadRequest, UploadReceipt};
use zaitaku_proto::oqs::individual::{IndividualResult, RequestHeader};
use zaitaku_proto::oqs::{CharacterCode, read};
use zaitaku_testkit::on_both;

use crate::oqs::{code_of, individual, insured, world};

fn config(server: &str, folder: &Path, credential: &str) -> Config {
    let mut c = Config::new(server, folder.to_path_buf(), credential.to_owned()).unwrap();
    c.settle = std::time::Duration::from_millis(50);
    c.max_backoff = std::time::Duration::from_millis(200);
    c
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Drops a file the way a receipt computer does, then lets it settle.
async fn drop_file(folder: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(folder.join("req")).unwrap();
    fs::write(folder.join("req").join(name), bytes).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
}

/// Rounds of the agent until `req/` is empty.
async fn until_answered(c: &Config) {
    for _ in 0..20 {
        let report = run_once(c.clone()).await.unwrap();
        if report.waiting == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("req/ still holds {:?}", names(&c.folder.join("req")));
}

async fn a_receipt_computer_s_folder_works_through_the_agent(url: &str) {
    let w = world(url).await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    let (e, search) = insured(&w.people, 6);
    let request = individual(&w, search.clone()).write(CharacterCode::ShiftJis);

    // The server is not there yet: the file waits in req/.
    let port = zaitaku_testkit::database::free_port();
    let down = config(&format!("http://127.0.0.1:{port}"), folder, &w.sjis);
    drop_file(folder, "OQSsiquc01req_202612070001.xml", &request).await;
    let report = run_once(down).await;
    assert!(
        report.as_ref().is_err() || report.as_ref().is_ok_and(|r| r.waiting == 1),
        "{report:?}"
    );
    assert_eq!(
        names(&folder.join("req")),
        ["OQSsiquc01req_202612070001.xml"]
    );
    assert!(names(&folder.join("res")).is_empty());

    // Up: the result arrives once, in the link's Shift_JIS.
    let up = config(&w.srv.base, folder, &w.sjis);
    until_answered(&up).await;
    assert_eq!(
        names(&folder.join("res")),
        ["OQSsiquc01res_202612070001.xml"]
    );
    let bytes = fs::read(folder.join("res/OQSsiquc01res_202612070001.xml")).unwrap();
    let r = IndividualResult::read(&read(&bytes).unwrap()).unwrap();
    assert_eq!(r.header.character_code, CharacterCode::ShiftJis);
    assert_eq!(r.answer.validity, Some(QualificationValidity::Valid));
    assert_eq!(r.answer.results[0].name, e.person.name);

    // Dropped twice: answered again under the same name, no second file.
    drop_file(folder, "OQSsiquc01req_202612070001.xml", &request).await;
    until_answered(&up).await;
    assert_eq!(
        names(&folder.join("res")),
        ["OQSsiquc01res_202612070001.xml"]
    );

    // A rejected file comes back beside its .err.
    drop_file(folder, "OQSsiquc01req_202612070002.xml", b"<XmlMsg>").await;
    until_answered(&up).await;
    let res = names(&folder.join("res"));
    assert!(
        res.contains(&"OQSsiquc01req_202612070002.err".to_owned()),
        "{res:?}"
    );
    assert!(
        res.contains(&"OQSsiquc01req_202612070002.xml".to_owned()),
        "{res:?}"
    );
    let err = fs::read(folder.join("res/OQSsiquc01req_202612070002.err")).unwrap();
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&err);
    assert!(text.starts_with("Z-Q-0002\n"), "{text}");

    // A batch: upload, 受付番号, download until done.
    let upload = BatchUpload {
        header: RequestHeader {
            medical_institution_code: code_of(&w.a),
            qualification_confirmation_date: None,
            arbitrary_file_identifier: Some("batch-agent".into()),
        },
        persons: vec![search.clone(), insured(&w.people, 7).1],
    };
    drop_file(
        folder,
        "OQSmuquc01req_202612070003.xml",
        &upload.write(CharacterCode::ShiftJis),
    )
    .await;
    until_answered(&up).await;
    let receipt = UploadReceipt::read(
        &read(&fs::read(folder.join("res/OQSmuquc01res_202612070003.xml")).unwrap()).unwrap(),
    )
    .unwrap();
    let download = DownloadRequest {
        medical_institution_code: code_of(&w.a),
        reception_number: receipt.reception_number.clone(),
    };
    let mut done = None;
    for i in 0..50 {
        let name = format!("OQSmuquc02req_2026120700{i:02}.xml");
        drop_file(folder, &name, &download.write(CharacterCode::Utf8)).await;
        until_answered(&up).await;
        let bytes = fs::read(folder.join("res").join(name.replace("02req_", "02res_"))).unwrap();
        let r = BatchResult::read(&read(&bytes).unwrap()).unwrap();
        if r.header.segment_of_result == SegmentOfResult::Done {
            done = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = done.expect("the batch was not done");
    assert_eq!(r.units.len(), 2);
    assert_eq!(r.header.counts.unwrap().total, 2);

    // A check in the staff app at this institution becomes a face file,
    // fetched once.
    let store = &w.srv.store;
    zaitaku_testkit::fixtures::tamper(
        store,
        &format!(
            "INSERT INTO devices (institution_id, kind, token_hash, memo, registered_at) \
             VALUES ({}, 'app', 'face-test', '受付iPad', 0)",
            w.a.id
        ),
    )
    .await;
    let device: i64 = sqlx_scalar(
        store,
        "SELECT id FROM devices WHERE token_hash = 'face-test'",
    )
    .await;
    let now = Utc::now();
    let kept = zaitaku_storage::NewAppCheck {
        institution_id: w.a.id,
        device_id: device,
        account_id: 1,
        person_id: e.person.id,
        method: "visual",
        checked_at: now,
        day: zaitaku_service::jst_day(now),
        name: &e.person.name,
        valid: true,
        result: "{}",
    };
    store
        .write(vec![zaitaku_storage::Write::keep_app_check(&kept)])
        .await
        .unwrap()
        .unwrap();
    let report = run_once(up.clone()).await.unwrap();
    assert_eq!(report.faces, 1, "{report:?}");
    let faces = names(&folder.join("face"));
    assert_eq!(faces.len(), 1, "{faces:?}");
    assert!(faces[0].starts_with(&format!("OQSsiquc01res_face_{}", code_of(&w.a).as_str())));
    let face = IndividualResult::read(
        &read(&fs::read(folder.join("face").join(&faces[0])).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(face.answer.results[0].name, e.person.name);
    assert_eq!(run_once(up).await.unwrap().faces, 0);
    assert_eq!(names(&folder.join("face")).len(), 1);
}
on_both!(a_receipt_computer_s_folder_works_through_the_agent);

async fn sqlx_scalar(store: &zaitaku_storage::Store, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}
