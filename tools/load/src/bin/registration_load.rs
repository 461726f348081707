//! Load benchmark of complete consent registrations at the service level:
//! nonce → card-signed token → verification down to a person → consent
//! durably recorded. Tokens are signed before the timed phase (within the
//! nonce lifetime); the timed phase verifies and records as the web
//! service's callback does: the token checks, then one job of the
//! group-commit writer that spends the nonce, audits the login, records the
//! consent and audits it. No HTTP (see `http_registration_load` for that).
//!
//! cargo run --release -p zaitaku-load --bin registration_load -- [N] [CONCURRENCY] [DATABASE_URL]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{CareKind, Channel, Choice, ConsentAction, ConsentRequest};
use zaitaku_identity::{CardKind, CardSecret, Identity, IssueCard};
use zaitaku_storage::{AuditEvent, NewConsent, Store, Write};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let url = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("bench.sqlite3").display()));
    let store = Store::open(&url).await?;
    let today = Utc::now().date_naive();
    let issued_on = today - chrono::Duration::days(zaitaku_load::CARD_AGE_DAYS);
    let people = zaitaku_load::load_persons(&store, 3, today, n).await?;
    let inst = zaitaku_load::institution(&store, 99, "負荷試験クリニック").await?;
    let identity = Identity::new(store.clone()).await?;
    identity.ensure_authorities(Utc::now()).await?;
    // One iPhone card (no PIN hashing) reused by every registration would hide
    // nothing the timed phase does; cards are per person so consents differ.
    eprintln!("issuing {n} cards and signing {n} tokens (untimed)…");
    let origin = "http://127.0.0.1:8080";
    let mut prepared = Vec::with_capacity(n);
    for (i, p) in people.iter().enumerate() {
        let card = identity
            .issue_card(
                &IssueCard {
                    person_id: p.eligibility.person.id,
                    kind: CardKind::IPhone,
                    pin: None,
                    issued_on,
                    authority_id: None,
                    in_demo_wallet: false,
                },
                Utc::now(),
            )
            .await?;
        let session = format!("bench-{i}");
        let nonce = identity.new_nonce(&session, Utc::now()).await?;
        let token = identity
            .sign_in_card(card.id, &CardSecret::Biometric, origin, &nonce, Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        prepared.push((session, nonce, token, format!("idem-{i}")));
    }
    let choices: BTreeMap<_, _> = inst
        .institution
        .consent_items
        .iter()
        .map(|i| (*i, Choice::Agree))
        .collect();
    let decision = ConsentRequest {
        choices,
        prescription_form: Some(PrescriptionForm::Electronic),
        consultation_date: None,
    }
    .validate(&inst.institution, CareKind::HomeVisit, Utc::now())?;

    eprintln!(
        "timed: {n} registrations, {concurrency} at a time on {}",
        store.backend().name()
    );
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Duration>(n);
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(prepared.into_iter()));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, identity, tx, decision) = (
            queue.clone(),
            identity.clone(),
            tx.clone(),
            decision.clone(),
        );
        let inst_id = inst.id;
        workers.push(tokio::spawn(async move {
            loop {
                let Some((session, nonce, token, key)) = queue.lock().await.next() else {
                    break;
                };
                let t0 = Instant::now();
                let now = Utc::now();
                let login = identity
                    .check_login(&token, origin, &nonce, &session, now)
                    .await;
                let person_id = login
                    .identified()
                    .map(|who| who.person_id)
                    .ok_or_else(|| anyhow::anyhow!("login refused"))?;
                let consent = Write::record_consent(&NewConsent {
                    institution_id: inst_id,
                    person_id,
                    action: ConsentAction::Register,
                    channel: Channel::Web,
                    decision: &decision,
                    recorded_at: now,
                    recorded_by: "patient",
                    photo_id_reason: None,
                    idempotency_key: Some(&key),
                });
                let audit = Write::audit_naming_consent(
                    AuditEvent {
                        actor: "patient",
                        action: "consent.write",
                        outcome: "ok",
                        institution_id: Some(inst_id),
                        person_id: Some(person_id),
                        detail: serde_json::json!({"consent": 0}),
                    },
                    "/consent",
                    now,
                );
                identity
                    .finish_login(login, vec![consent, audit])
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let _ = tx.send(t0.elapsed()).await;
            }
            anyhow::Ok(())
        }));
    }
    drop(tx);
    for w in workers {
        w.await??;
    }
    let elapsed = started.elapsed();
    let mut lat = Vec::with_capacity(n);
    while let Some(d) = rx.recv().await {
        lat.push(d);
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "{} registrations in {:.2} s: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    let consents: i64 = sqlx::query("SELECT COUNT(*) AS n FROM consents")
        .fetch_one(store.pool())
        .await
        .and_then(|r| sqlx::Row::try_get(&r, "n"))?;
    let chain = store.verify_audit_chain().await?;
    println!(
        "verified: {consents} consents (expected {n}), audit chain {}",
        if chain.is_none() { "intact" } else { "BROKEN" }
    );
    if consents != n as i64 || chain.is_some() {
        anyhow::bail!("verification failed");
    }
    Ok(())
}
