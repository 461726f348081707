//! The demo wallet: cards for the demo patients, each showing one outcome of
//! card identity (PIN, iPhone, Android, older CA, expiring, grace, expired,
//! locked, revoked, 保険証未登録) and named by it, so that one person's
//! several cards can be told apart in the authenticator's list.

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::person;
use zaitaku_identity::{CardKind, Identity, IssueCard, WalletCard};
use zaitaku_storage::Store;

use crate::demo::DemoPatient;

/// The PINs of the demo: one for physical cards, one for Android.
pub const PHYSICAL_PIN: &str = "1234";
pub const ANDROID_PIN: &str = "5678";

pub fn pin_of(kind: CardKind) -> &'static str {
    match kind {
        CardKind::Physical => PHYSICAL_PIN,
        CardKind::Android => ANDROID_PIN,
        CardKind::IPhone => "（生体認証）",
    }
}

struct Plan {
    person_id: i64,
    kind: CardKind,
    issued_on: NaiveDate,
    older_ca: bool,
    label: String,
}

/// The issue date whose fifth following birthday is `last_day`.
fn issued_for_last_day(birth: NaiveDate, last_day: NaiveDate) -> Option<NaiveDate> {
    let start = last_day - Duration::days(5 * 366 + 400);
    (0..1200)
        .map(|i| start + Duration::days(i))
        .find(|d| zaitaku_card::fifth_birthday_after(*d, birth) == Some(last_day))
}

/// This year's or next year's birthday on/after `from`.
fn birthday_on_or_after(birth: NaiveDate, from: NaiveDate) -> Option<NaiveDate> {
    [from.year(), from.year() + 1]
        .into_iter()
        .filter_map(|y| person::add_years(birth, y - birth.year()))
        .find(|d| *d >= from)
}

/// Cards for the demo, each named by its case; reuses the wallet when it
/// already has cards.
pub async fn ensure(
    identity: &Identity,
    store: &Store,
    patients: &[DemoPatient],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<WalletCard>> {
    identity.ensure_authorities(now).await?;
    let existing = identity.wallet().await?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    let mut plans: Vec<Plan> = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for p in patients {
        let id = p.eligibility.person.id;
        used.insert(id);
        plans.push(Plan {
            person_id: id,
            kind: CardKind::Physical,
            issued_on: today - Duration::days(400),
            older_ca: false,
            label: p.case.to_owned(),
        });
    }
    // Variants on the first (一般) patient: smartphones and the older anchor.
    if let Some(first) = patients.first() {
        let id = first.eligibility.person.id;
        for (kind, label) in [
            (CardKind::IPhone, "スマホ用電子証明書（iPhone・生体認証）"),
            (CardKind::Android, "スマホ用電子証明書（Android・暗証番号）"),
        ] {
            plans.push(Plan {
                person_id: id,
                kind,
                issued_on: today - Duration::days(100),
                older_ca: false,
                label: label.to_owned(),
            });
        }
        plans.push(Plan {
            person_id: id,
            kind: CardKind::Physical,
            issued_on: today - Duration::days(1200),
            older_ca: true,
            label: "旧認証局（2019）が発行したカード".to_owned(),
        });
    }
    // Certificates near their end need people whose birthday falls right.
    let windows: [(i64, i64, &str); 3] = [
        (20, 80, "期限間近（電子証明書の有効期限まで3か月以内）"),
        (-80, -15, "猶予期間（電子証明書の有効期限切れ・3か月以内）"),
        (
            -300,
            -120,
            "猶予期間経過（電子証明書の有効期限切れ・3か月超）",
        ),
    ];
    for (lo, hi, label) in windows {
        if let Some((id, issued)) = find_person_with_birthday(store, today, lo, hi, &used).await? {
            used.insert(id);
            plans.push(Plan {
                person_id: id,
                kind: CardKind::Physical,
                issued_on: issued,
                older_ca: false,
                label: label.to_owned(),
            });
        }
    }
    let authorities = store.authorities().await?;
    let older = authorities.first().map(|a| a.id);
    let mut out = Vec::new();
    for plan in &plans {
        let card = identity
            .issue_card(
                &IssueCard {
                    person_id: plan.person_id,
                    kind: plan.kind,
                    pin: (plan.kind != CardKind::IPhone).then(|| pin_of(plan.kind).to_owned()),
                    issued_on: plan.issued_on,
                    authority_id: if plan.older_ca { older } else { None },
                    in_demo_wallet: true,
                },
                now,
            )
            .await
            .with_context(|| format!("デモカード（患者 {}）を発行できません", plan.person_id))?;
        identity.name_wallet_card(card.id, &plan.label).await?;
        out.push(identity.card_status(card.id).await?);
    }
    // A locked card and a revoked card, on a patient who has no other card.
    if let Some((id, _)) = find_person_with_birthday(store, today, -400, 400, &used).await? {
        used.insert(id);
        for (label, revoke) in [
            ("ロック（暗証番号を3回間違えた）", false),
            ("失効（電子証明書を失効済み）", true),
        ] {
            let card = identity
                .issue_card(
                    &IssueCard {
                        person_id: id,
                        kind: CardKind::Physical,
                        pin: Some(PHYSICAL_PIN.to_owned()),
                        issued_on: today - Duration::days(300),
                        authority_id: None,
                        in_demo_wallet: true,
                    },
                    now,
                )
                .await?;
            if revoke {
                identity.revoke(card.id, now).await?;
            } else {
                store
                    .update_pin_counter(card.id, (3, false), (0, true))
                    .await?;
            }
            identity.name_wallet_card(card.id, label).await?;
            out.push(identity.card_status(card.id).await?);
        }
    }
    Ok(out)
}

/// A registered person with a valid qualification whose birthday falls
/// between `lo` and `hi` days from today, and the issue date that makes their
/// certificate end on that birthday.
async fn find_person_with_birthday(
    store: &Store,
    today: NaiveDate,
    lo: i64,
    hi: i64,
    used: &std::collections::BTreeSet<i64>,
) -> Result<Option<(i64, NaiveDate)>> {
    for id in 1..=5000 {
        if used.contains(&id) {
            continue;
        }
        let Some(e) = store.eligibility(id).await? else {
            break;
        };
        if !e.person.insurance_use_registered
            || e.resolve(today).validity != QualificationValidity::Valid
            || person::age_on(e.person.birth_date, today) < 20
        {
            continue;
        }
        let Some(day) = birthday_on_or_after(e.person.birth_date, today + Duration::days(lo))
        else {
            continue;
        };
        if day > today + Duration::days(hi) {
            continue;
        }
        if let Some(issued) = issued_for_last_day(e.person.birth_date, day) {
            return Ok(Some((id, issued)));
        }
    }
    Ok(None)
}
