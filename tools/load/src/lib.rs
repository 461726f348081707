//! What both load generators set up before the timed phase: registered
//! synthetic persons whose cards can be issued ten days ago, and an
//! institution with the function switched on.

use anyhow::{Result, anyhow, bail};
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
