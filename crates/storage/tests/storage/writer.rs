//! The group-commit writer on both databases: jobs of one batch are isolated
//! from each other, concurrent registrations are all durable, the audit chain
//! stays intact, and an idempotency key never registers twice.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentRequest,
};
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{
    AuditEvent, Backend, NewConsent, NonceRejection, PersonRecords, Refusal, Store,
    StoredInstitution, Write, Written,
};
use zaitaku_testkit::on_both;

/// The kind of rule the database refused a write for, whichever driver ran
/// it (rusqlite on SQLite, sqlx on PostgreSQL).
fn broken_rule(e: &zaitaku_storage::StorageError) -> Option<sqlx::error::ErrorKind> {
    use rusqlite::ffi;
    use sqlx::error::ErrorKind;
    use zaitaku_storage::StorageError;
    match e {
        StorageError::Query(sqlx::Error::Database(db)) => Some(db.kind()),
        StorageError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                Some(ErrorKind::UniqueViolation)
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ErrorKind::ForeignKeyViolation),
            _ => None,
        },
        _ => None,
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
}

/// A store with `persons` people (ids 1..) and one institution.
async fn world(url: &str, persons: i64) -> (Store, StoredInstitution, ConsentDecision) {
    let store = Store::open(url).await.unwrap();
    let people: Vec<_> = (1..=persons)
        .map(|id| zaitaku_testkit::person(id, NaiveDate::from_ymd_opt(1960, 1, 1).unwrap(), true))
        .collect();
    let records: Vec<_> = people.iter().map(PersonRecords::eligibility_only).collect();
    store.insert_persons(&records).await.unwrap();
    let code = InstitutionCode::build(
        Prefecture::new(13).unwrap(),
        InstitutionKind::Medical,
        1,
        21,
    )
    .unwrap();
    let inst = store
        .insert_institution(
            &Institution::new(code, "書込試験クリニック", true).unwrap(),
            &zaitaku_storage::new_url_token().unwrap(),
            now(),
        )
        .await
        .unwrap();
    let decision = ConsentRequest {
        choices: inst
            .institution
            .consent_items
            .iter()
            .map(|i| (*i, Choice::Agree))
            .collect::<BTreeMap<_, _>>(),
        prescription_form: Some(PrescriptionForm::Electronic),
        consultation_date: None,
    }
    .validate(&inst.institution, CareKind::HomeVisit, now())
    .unwrap();
    (store, inst, decision)
}

fn consent<'a>(
    inst: &StoredInstitution,
    person: i64,
    decision: &'a ConsentDecision,
    key: &'a str,
) -> NewConsent<'a> {
    NewConsent {
        institution_id: inst.id,
        person_id: person,
        action: ConsentAction::Register,
        channel: Channel::Web,
        decision,
        recorded_at: now(),
        recorded_by: "patient",
        photo_id_reason: None,
        idempotency_key: Some(key),
    }
}

fn audit(action: &str, person: i64) -> Write {
    Write::audit(
        &AuditEvent {
            actor: "patient",
            action,
            outcome: "ok",
            institution_id: None,
            person_id: Some(person),
            detail: json!({"test": true}),
        },
        now(),
    )
}

async fn consents_of(store: &Store, inst: &StoredInstitution, person: i64) -> usize {
    store.consent_history(inst.id, person).await.unwrap().len()
}

/// One batch: a registration, a replayed nonce, a consent for an institution
/// that does not exist (an SQL error), an audit-only job. Only the two bad
/// jobs are rolled back, each with its own answer.
async fn a_failing_job_leaves_the_batch_committed(url: &str) {
    let (store, inst, decision) = world(url, 3).await;
    let later = now() + Duration::minutes(5);
    store
        .insert_nonce("n-1", "s-1", now(), later)
        .await
        .unwrap();
    store
        .insert_nonce("n-2", "s-2", now(), later)
        .await
        .unwrap();
    store
        .consume_nonce("n-2", "s-2", now())
        .await
        .unwrap()
        .unwrap();
    let bad_institution = NewConsent {
        institution_id: 9_999,
        ..consent(&inst, 3, &decision, "k-3")
    };
    let answers = store
        .write_together(vec![
            vec![
                Write::spend_nonce("n-1", "s-1", now()),
                audit("login.verify", 1),
                Write::record_consent(&consent(&inst, 1, &decision, "k-1")),
            ],
            vec![
                Write::spend_nonce("n-2", "s-2", now()),
                audit("login.verify", 2),
                Write::record_consent(&consent(&inst, 2, &decision, "k-2")),
                Write::put_session("sess-2", &json!({"x": 2}), now(), later),
            ],
            vec![
                audit("login.verify", 3),
                Write::record_consent(&bad_institution),
            ],
            vec![audit("read.eligibility", 1)],
        ])
        .await
        .unwrap();
    assert_eq!(answers.len(), 4);

    let first = answers[0].as_ref().unwrap().as_ref().unwrap();
    assert!(matches!(first[0], Written::Done));
    assert!(matches!(&first[1], Written::Audit(a) if a.action == "login.verify"));
    let Written::Consent(record) = &first[2] else {
        panic!("{first:?}")
    };
    assert_eq!(record.person_id, 1);
    assert_eq!(record.institution_code, inst.institution.code.as_str());
    // Returned without reading the row back, yet exactly what reads back.
    assert_eq!(
        store.latest_consent(inst.id, 1).await.unwrap().as_ref(),
        Some(record)
    );

    let replay = answers[1].as_ref().unwrap().as_ref().unwrap_err();
    assert_eq!(replay.write, 0);
    assert_eq!(replay.refusal, Refusal::Nonce(NonceRejection::AlreadyUsed));
    let refused = answers[2].as_ref().unwrap_err();
    assert_eq!(
        broken_rule(refused),
        Some(sqlx::error::ErrorKind::ForeignKeyViolation),
        "the foreign key refuses the consent: {refused:?}"
    );
    assert!(matches!(
        &answers[3].as_ref().unwrap().as_ref().unwrap()[0],
        Written::Audit(a) if a.action == "read.eligibility"
    ));

    assert_eq!(consents_of(&store, &inst, 1).await, 1);
    assert_eq!(consents_of(&store, &inst, 2).await, 0);
    assert_eq!(consents_of(&store, &inst, 3).await, 0);
    // The refused job's session and audit record went with it.
    assert_eq!(store.session("sess-2", now()).await.unwrap(), None);
    let audit = store.audit_records(None, 100).await.unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(
        audit.iter().map(|r| r.person_id).collect::<Vec<_>>(),
        vec![Some(1), Some(1)]
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
}
on_both!(a_failing_job_leaves_the_batch_committed);

/// Many registrations at once, each nonce spent, consent recorded and audited
/// with the visit saved in one job; every one durable and the chain intact.
async fn concurrent_registrations_are_all_durable(url: &str) {
    const N: i64 = 200;
    let (store, inst, decision) = world(url, N).await;
    let later = now() + Duration::minutes(5);
    for i in 1..=N {
        store
            .insert_nonce(&format!("n-{i}"), &format!("s-{i}"), now(), later)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 1..=N {
        let (store, inst, decision) = (store.clone(), inst.clone(), decision.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("k-{i}");
            let sid = format!("s-{i}");
            // The consent's id is known only inside the batch: the audit
            // record and the session name it through a placeholder.
            let visit = json!({"person": i, "consent": 0});
            let named = Write::audit_naming_consent(
                AuditEvent {
                    actor: "patient",
                    action: "consent.write",
                    outcome: "ok",
                    institution_id: Some(1),
                    person_id: Some(i),
                    detail: json!({"consent": 0}),
                },
                "/consent",
                now(),
            );
            store
                .write(vec![
                    Write::spend_nonce(&format!("n-{i}"), &sid, now()),
                    audit("login.verify", i),
                    Write::record_consent(&consent(&inst, i, &decision, &key)),
                    named,
                    Write::put_session_naming_consent(&sid, visit, "/consent", now(), later),
                ])
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for (i, t) in (1..=N).zip(tasks) {
        let written = t.await.unwrap();
        assert_eq!(written.len(), 5);
        let Written::Consent(record) = &written[2] else {
            panic!("{written:?}")
        };
        assert_eq!(record.person_id, i);
        ids.push(record.id);
        let Written::Audit(a) = &written[3] else {
            panic!("{written:?}")
        };
        assert_eq!(a.detail, json!({"consent": record.id}).to_string());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N as usize);
    for i in 1..=N {
        assert_eq!(consents_of(&store, &inst, i).await, 1);
        let visit = store
            .session(&format!("s-{i}"), now())
            .await
            .unwrap()
            .unwrap();
        assert!(visit["consent"].is_i64());
    }
    let audit = store.audit_records(None, 10_000).await.unwrap();
    assert_eq!(audit.len(), 2 * N as usize);
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
    // Durable: a fresh connection (after the writer closed) sees everything.
    store.close().await;
    let again = Store::open(url).await.unwrap();
    assert_eq!(
        again
            .consent_history(inst.id, N)
            .await
            .unwrap()
            .first()
            .map(|r| r.action),
        Some(ConsentAction::Register)
    );
    assert_eq!(again.verify_audit_chain().await.unwrap(), None);
}
on_both!(concurrent_registrations_are_all_durable);

/// The same idempotency key in one batch, in the next batch and one by one:
/// one consent row, and every answer is that row.
async fn an_idempotency_key_registers_once(url: &str) {
    let (store, inst, decision) = world(url, 1).await;
    let c = consent(&inst, 1, &decision, "same-key");
    let answers = store
        .write_together(vec![
            vec![Write::record_consent(&c)],
            vec![Write::record_consent(&c)],
        ])
        .await
        .unwrap();
    let ids: Vec<i64> = answers
        .iter()
        .map(|a| match &a.as_ref().unwrap().as_ref().unwrap()[0] {
            Written::Consent(r) => r.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    let again = store.record_consent(&c).await.unwrap();
    assert_eq!(again.id, ids[0]);
    let racing: Vec<_> = (0..20)
        .map(|_| {
            let (store, inst, decision) = (store.clone(), inst.clone(), decision.clone());
            tokio::spawn(async move {
                store
                    .record_consent(&consent(&inst, 1, &decision, "same-key"))
                    .await
                    .unwrap()
                    .id
            })
        })
        .collect();
    for t in racing {
        assert_eq!(t.await.unwrap(), ids[0]);
    }
    assert_eq!(consents_of(&store, &inst, 1).await, 1);
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
}
on_both!(an_idempotency_key_registers_once);

/// Two stores on one database (two processes, or two nodes): each has its own
/// writer, and the chain they append to together stays intact.
async fn two_writers_share_one_chain(url: &str) {
    let (a, _, _) = world(url, 2).await;
    let b = Store::open(url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .audit(
                    &AuditEvent {
                        actor: "patient",
                        action: "read.eligibility",
                        outcome: "ok",
                        institution_id: None,
                        person_id: Some(1 + i % 2),
                        detail: json!({"i": i}),
                    },
                    now(),
                )
                .await
                .unwrap()
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    assert_eq!(a.verify_audit_chain().await.unwrap(), None);
}
on_both!(two_writers_share_one_chain);

/// A refused job goes no further than the write that refused, and a closed
/// store answers with an error rather than hanging.
async fn refusals_and_closing(url: &str) {
    let (store, _, _) = world(url, 1).await;
    let refused = store
        .write(vec![
            Write::spend_nonce("never-issued", "s", now()),
            audit("login.verify", 1),
        ])
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.write, 0);
    assert_eq!(refused.refusal, Refusal::Nonce(NonceRejection::Unknown));
    assert!(store.audit_records(None, 10).await.unwrap().is_empty());
    store.close().await;
    let e = store.write(vec![audit("x", 1)]).await.unwrap_err();
    assert_eq!(e.code(), "Z-S-0007");
}
on_both!(refusals_and_closing);

/// Makes the database refuse, by trigger, the audit records of the actor
/// `refused` and the session `refused`: rows that fail only when the batch
/// inserts them.
async fn refuse_marked_rows(store: &Store) {
    let statements: &[&str] = match store.backend() {
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log WHEN NEW.actor = 'refused' \
             BEGIN SELECT RAISE(ABORT, 'refused audit record'); END",
            "CREATE TRIGGER refuse_session BEFORE INSERT ON web_sessions WHEN NEW.id = 'refused' \
             BEGIN SELECT RAISE(ABORT, 'refused session'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.actor = 'refused' THEN RAISE EXCEPTION 'refused audit record'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW \
             EXECUTE FUNCTION refuse_audit()",
            "CREATE FUNCTION refuse_session() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.id = 'refused' THEN RAISE EXCEPTION 'refused session'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER refuse_session BEFORE INSERT ON web_sessions FOR EACH ROW \
             EXECUTE FUNCTION refuse_session()",
        ],
    };
    for sql in statements {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
}

/// Audit records and sessions wait for one multi-row insert at the end of
/// the batch. When the database refuses one of those rows, that insert fails
/// as a whole; the batch is run again with every row inside its own job's
/// savepoint, and only the jobs holding a refused row fail.
async fn a_row_refused_at_the_end_of_the_batch_fails_only_its_job(url: &str) {
    let (store, inst, decision) = world(url, 2).await;
    refuse_marked_rows(&store).await;
    let later = now() + Duration::minutes(5);
    let refused_audit = Write::audit(
        &AuditEvent {
            actor: "refused",
            action: "login.verify",
            outcome: "ok",
            institution_id: None,
            person_id: Some(2),
            detail: json!({}),
        },
        now(),
    );
    let answers = store
        .write_together(vec![
            vec![
                audit("login.verify", 1),
                Write::record_consent(&consent(&inst, 1, &decision, "k-1")),
                Write::put_session("s-1", &json!({"x": 1}), now(), later),
            ],
            vec![
                audit("login.verify", 2),
                refused_audit,
                Write::record_consent(&consent(&inst, 2, &decision, "k-2")),
            ],
            vec![
                audit("read.eligibility", 2),
                Write::put_session("refused", &json!({"x": 3}), now(), later),
            ],
            vec![
                audit("read.eligibility", 1),
                Write::put_session("s-4", &json!({"x": 4}), now(), later),
            ],
        ])
        .await
        .unwrap();
    assert!(answers[0].as_ref().unwrap().is_ok(), "{:?}", answers[0]);
    assert!(answers[1].is_err(), "{:?}", answers[1]);
    assert!(answers[2].is_err(), "{:?}", answers[2]);
    assert!(answers[3].as_ref().unwrap().is_ok(), "{:?}", answers[3]);

    assert_eq!(consents_of(&store, &inst, 1).await, 1);
    assert_eq!(consents_of(&store, &inst, 2).await, 0);
    assert!(store.session("s-1", now()).await.unwrap().is_some());
    assert!(store.session("s-4", now()).await.unwrap().is_some());
    assert_eq!(store.session("refused", now()).await.unwrap(), None);
    let audit = store.audit_records(None, 100).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .map(|r| (r.seq, r.action.as_str(), r.person_id))
            .collect::<Vec<_>>(),
        vec![
            (2, "read.eligibility", Some(1)),
            (1, "login.verify", Some(1))
        ]
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
}
on_both!(a_row_refused_at_the_end_of_the_batch_fails_only_its_job);

/// Session writes of one batch land as they would one by one: the last write
/// of an id wins, a deletion included.
async fn the_last_session_write_of_a_batch_wins(url: &str) {
    let (store, _, _) = world(url, 1).await;
    let later = now() + Duration::minutes(5);
    for id in ["ended", "kept"] {
        store
            .put_session(id, &json!({"v": 1}), now(), later)
            .await
            .unwrap();
    }
    let answers = store
        .write_together(vec![
            vec![Write::put_session("ended", &json!({"v": 2}), now(), later)],
            vec![Write::delete_session("ended")],
            vec![Write::delete_session("kept")],
            vec![Write::put_session("kept", &json!({"v": 3}), now(), later)],
        ])
        .await
        .unwrap();
    assert!(
        answers.iter().all(|a| matches!(a, Ok(Ok(_)))),
        "{answers:?}"
    );
    assert_eq!(store.session("ended", now()).await.unwrap(), None);
    assert_eq!(
        store.session("kept", now()).await.unwrap(),
        Some(json!({"v": 3}))
    );
}
on_both!(the_last_session_write_of_a_batch_wins);

/// A write that names the consent of its job fails that job when the job
/// wrote none; the rest of the batch commits.
async fn a_write_naming_a_missing_consent_fails_its_job(url: &str) {
    let (store, _, _) = world(url, 1).await;
    let named = Write::audit_naming_consent(
        AuditEvent {
            actor: "patient",
            action: "consent.write",
            outcome: "ok",
            institution_id: None,
            person_id: Some(1),
            detail: json!({"consent": 0}),
        },
        "/consent",
        now(),
    );
    let answers = store
        .write_together(vec![vec![named], vec![audit("read.eligibility", 1)]])
        .await
        .unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code(), "Z-S-0007");
    assert!(matches!(answers[1], Ok(Ok(_))), "{answers:?}");
    let audit = store.audit_records(None, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "read.eligibility");
}
on_both!(a_write_naming_a_missing_consent_fails_its_job);
