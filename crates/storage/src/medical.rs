//! Reads of medical information. Callers decide consent and audit; this module
//! only fetches.

use chrono::NaiveDate;
use sqlx::Row;
use zaitaku_domain::medical::{
    CheckupResult, ClinicalEvent, ClinicalKind, DispensingSetting, DrugRecord, DrugRoute,
};
use zaitaku_domain::person::PersonId;

use crate::sql::{date_text, parse_date};
use crate::{Result, StorageError, Store};

fn small(table: &'static str, column: &'static str, v: i64) -> Result<u16> {
    u16::try_from(v).map_err(|e| StorageError::corrupt(table, column, e))
}

impl Store {
    /// Drugs dispensed between `from` and `to` inclusive, newest first.
    pub async fn drug_history(
        &self,
        person_id: PersonId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DrugRecord>> {
        let t = "drug_records";
        sqlx::query(
            "SELECT dispensed_on, institution_name, drug_name, dosage, quantity, unit, days, setting, prescribed_on, \
             route, generic_name, times FROM drug_records \
             WHERE person_id = $1 AND dispensed_on >= $2 AND dispensed_on <= $3 ORDER BY dispensed_on DESC, id",
        )
        .bind(person_id)
        .bind(date_text(from))
        .bind(date_text(to))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let on: String = r.try_get("dispensed_on")?;
            let prescribed: String = r.try_get("prescribed_on")?;
            let setting: String = r.try_get("setting")?;
            let route: String = r.try_get("route")?;
            Ok(DrugRecord {
                dispensed_on: parse_date(t, "dispensed_on", &on)?,
                prescribed_on: parse_date(t, "prescribed_on", &prescribed)?,
                setting: DispensingSetting::parse(&setting)
                    .ok_or_else(|| StorageError::corrupt(t, "setting", &setting))?,
                institution_name: r.try_get("institution_name")?,
                drug_name: r.try_get("drug_name")?,
                generic_name: r.try_get("generic_name")?,
                dosage: r.try_get("dosage")?,
                route: DrugRoute::parse(&route)
                    .ok_or_else(|| StorageError::corrupt(t, "route", &route))?,
                quantity: r.try_get("quantity")?,
                unit: r.try_get("unit")?,
                days: small(t, "days", r.try_get("days")?)?,
                times: small(t, "times", r.try_get("times")?)?,
            })
        })
        .collect()
    }

    /// Clinical events, newest first.
    pub async fn clinical_events(&self, person_id: PersonId) -> Result<Vec<ClinicalEvent>> {
        let t = "clinical_events";
        sqlx::query(
            "SELECT occurred_on, kind, name, detail, institution_name FROM clinical_events \
             WHERE person_id = $1 ORDER BY occurred_on DESC, id",
        )
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let on: String = r.try_get("occurred_on")?;
            let kind: String = r.try_get("kind")?;
            Ok(ClinicalEvent {
                occurred_on: parse_date(t, "occurred_on", &on)?,
                kind: ClinicalKind::parse(&kind)
                    .ok_or_else(|| StorageError::corrupt(t, "kind", &kind))?,
                name: r.try_get("name")?,
                detail: r.try_get("detail")?,
                institution_name: r.try_get("institution_name")?,
            })
        })
        .collect()
    }

    /// Check-up results, newest first.
    pub async fn checkups(&self, person_id: PersonId) -> Result<Vec<CheckupResult>> {
        let t = "checkups";
        sqlx::query(
            "SELECT examined_on, height_cm, weight_kg, waist_cm, systolic_mmhg, diastolic_mmhg, hba1c_percent, \
             ldl_mg_dl, hdl_mg_dl, triglycerides_mg_dl FROM checkups WHERE person_id = $1 ORDER BY examined_on DESC, id",
        )
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let on: String = r.try_get("examined_on")?;
            Ok(CheckupResult {
                examined_on: parse_date(t, "examined_on", &on)?,
                height_cm: r.try_get("height_cm")?,
                weight_kg: r.try_get("weight_kg")?,
                waist_cm: r.try_get("waist_cm")?,
                systolic_mmhg: small(t, "systolic_mmhg", r.try_get("systolic_mmhg")?)?,
                diastolic_mmhg: small(t, "diastolic_mmhg", r.try_get("diastolic_mmhg")?)?,
                hba1c_percent: r.try_get("hba1c_percent")?,
                ldl_mg_dl: small(t, "ldl_mg_dl", r.try_get("ldl_mg_dl")?)?,
                hdl_mg_dl: small(t, "hdl_mg_dl", r.try_get("hdl_mg_dl")?)?,
                triglycerides_mg_dl: small(t, "triglycerides_mg_dl", r.try_get("triglycerides_mg_dl")?)?,
            })
        })
        .collect()
    }
}
