//! 健康保険証利用登録 requested in the staff app (`insurance_registrations`):
//! kept until it takes effect, then applied to the person's record.

use chrono::{DateTime, Utc};

use crate::sql::{Arg, from_micros, micros};
use crate::writer::{Db, Refusal, Step, Write, Written};
use crate::{Result, Store};

/// A registration to keep.
pub struct NewInsuranceRegistration {
    pub person_id: i64,
    pub card_id: i64,
    pub institution_id: i64,
    pub device_id: i64,
    pub requested_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
}

struct Keep(NewInsuranceRegistration);

impl Step for Keep {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let r = &self.0;
        db.changed(
            "INSERT INTO insurance_registrations (person_id, card_id, institution_id, device_id, \
             requested_at, effective_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Arg::Int(r.person_id),
                Arg::Int(r.card_id),
                Arg::Int(r.institution_id),
                Arg::Int(r.device_id),
                Arg::Int(micros(r.requested_at)),
                Arg::Int(micros(r.effective_at)),
            ],
        )?;
        Ok(Ok(Written::Done))
    }
}

/// The person's registration is now in force: the record says so and the
/// request is marked applied.
struct Apply {
    person_id: i64,
    now: i64,
}

impl Step for Apply {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        db.changed(
            "UPDATE persons SET insurance_use_registered = 1 WHERE id = $1",
            &[Arg::Int(self.person_id)],
        )?;
        db.changed(
            "UPDATE insurance_registrations SET applied_at = $1 \
             WHERE person_id = $2 AND applied_at IS NULL AND effective_at <= $1",
            &[Arg::Int(self.now), Arg::Int(self.person_id)],
        )?;
        Ok(Ok(Written::Done))
    }
}

impl Write {
    pub fn keep_insurance_registration(r: NewInsuranceRegistration) -> Self {
        Self::step(Keep(r))
    }

    pub fn apply_insurance_registration(person_id: i64, now: DateTime<Utc>) -> Self {
        Self::step(Apply {
            person_id,
            now: micros(now),
        })
    }
}

impl Store {
    /// When the person's earliest registration not yet applied takes
    /// effect, if one was requested.
    pub async fn pending_insurance_registration(
        &self,
        person_id: i64,
    ) -> Result<Option<DateTime<Utc>>> {
        let at = self
            .fetch_optional(
                "SELECT MIN(effective_at) AS at FROM insurance_registrations \
                 WHERE person_id = $1 AND applied_at IS NULL",
                &[Arg::Int(person_id)],
                |r| r.col::<Option<i64>>("at"),
            )
            .await?
            .flatten();
        at.map(|v| from_micros("insurance_registrations", "effective_at", v))
            .transpose()
    }
}
