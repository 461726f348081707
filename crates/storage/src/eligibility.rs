//! The eligibility registry: persons, qualification history, certificates and
//! subsidies. Bulk insertion for the synthetic population; whole-person reads.

use sqlx::any::AnyArguments;
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Connection, Executor, Row};
use zaitaku_domain::codes::{
    BurdenRatio, LimitCertificateKind, LimitClass, LossReason, PersonalFamily, Sex, SpecificDisease,
};
use zaitaku_domain::consent::ConsentRecord;
use zaitaku_domain::eligibility::{
    Coverage, ElderlyCertificate, Eligibility, LimitCertificate, Loss, PayerNumber, Period,
    PublicSubsidy, Qualification, RecipientNumber, SpecificDiseaseCertificate,
};
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};
use zaitaku_domain::medical::{CheckupResult, ClinicalEvent, DrugRecord};
use zaitaku_domain::person::{ConsiderateInfo, Person, PersonId};

use crate::sql::{
    Arg, Columns, MAX_BINDS, date_text, flag, opt_date_text, parse_date, parse_opt_date,
    values_placeholders,
};
use crate::{Backend, Result, Snapshot, StorageError, Store};

/// One person with everything stored about them.
#[derive(Debug, Clone, Copy)]
pub struct PersonRecords<'a> {
    pub eligibility: &'a Eligibility,
    pub drugs: &'a [DrugRecord],
    pub clinical: &'a [ClinicalEvent],
    pub checkups: &'a [CheckupResult],
}

impl<'a> PersonRecords<'a> {
    /// The person's eligibility without any medical information.
    pub fn eligibility_only(eligibility: &'a Eligibility) -> Self {
        Self {
            eligibility,
            drugs: &[],
            clinical: &[],
            checkups: &[],
        }
    }
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// A value that fills one row of a multi-row insert.
trait InsertRow {
    const COLUMNS: usize;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q>;
}

/// Inserts `rows` in as few statements as the bind-variable limit allows.
async fn insert_many<T: InsertRow>(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    rows: &[T],
) -> Result<()> {
    let per_statement = MAX_BINDS / T::COLUMNS;
    let mut full_sql: Option<String> = None;
    for chunk in rows.chunks(per_statement) {
        let tail_sql;
        let sql: &str = if chunk.len() == per_statement {
            full_sql.get_or_insert_with(|| {
                format!(
                    "{head} VALUES {}",
                    values_placeholders(per_statement, T::COLUMNS, backend)
                )
            })
        } else {
            tail_sql = format!(
                "{head} VALUES {}",
                values_placeholders(chunk.len(), T::COLUMNS, backend)
            );
            &tail_sql
        };
        let mut q = sqlx::query(sql);
        for row in chunk {
            q = row.bind(q);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

struct PersonRow<'a>(&'a Person);
impl InsertRow for PersonRow<'_> {
    const COLUMNS: usize = 11;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let p = self.0;
        let c = p.considerate.as_ref();
        q.bind(p.id)
            .bind(p.name.as_str())
            .bind(p.name_kana.as_str())
            .bind(date_text(p.birth_date))
            .bind(p.sex.code())
            .bind(p.postal_code.as_str())
            .bind(p.address.as_str())
            .bind(c.map(|c| c.name.as_str()))
            .bind(c.map(|c| c.name_kana.as_str()))
            .bind(c.map(|c| c.sex.code()))
            .bind(flag(p.insurance_use_registered))
    }
}
const PERSON_HEAD: &str = "INSERT INTO persons (id, name, name_kana, birth_date, sex, postal_code, address, \
     considerate_name, considerate_kana, considerate_sex, insurance_use_registered)";

struct QualificationRow<'a>(PersonId, &'a Qualification);
impl InsertRow for QualificationRow<'_> {
    const COLUMNS: usize = 19;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let QualificationRow(person_id, qual) = self;
        let q = q.bind(*person_id);
        let q = match &qual.coverage {
            Coverage::Insurance {
                insurer_number,
                insurer_name,
                symbol,
                number,
                branch,
                personal_family,
                insured_name,
                burden_ratio,
            } => q
                .bind("insurance")
                .bind(Some(insurer_number.as_str()))
                .bind(Some(insurer_name.as_str()))
                .bind(Some(symbol.as_str()))
                .bind(Some(number.as_str()))
                .bind(Some(branch.to_string()))
                .bind(Some(personal_family.code()))
                .bind(Some(insured_name.as_str()))
                .bind(burden_ratio.map(BurdenRatio::code))
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(None::<&str>),
            Coverage::MedicalAssistance {
                welfare_office_name,
                payer_number,
                recipient_number,
            } => q
                .bind("medical_assistance")
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(None::<String>)
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(Some(welfare_office_name.as_str()))
                .bind(Some(payer_number.as_str()))
                .bind(Some(recipient_number.as_str())),
        };
        q.bind(date_text(qual.acquired_on))
            .bind(opt_date_text(qual.issued_on))
            .bind(date_text(qual.valid.from))
            .bind(opt_date_text(qual.valid.to))
            .bind(opt_date_text(qual.loss.map(|l| l.on)))
            .bind(qual.loss.map(|l| l.reason.code()))
    }
}
const QUALIFICATION_HEAD: &str = "INSERT INTO qualifications (person_id, coverage, insurer_number, insurer_name, symbol, number, \
     branch, personal_family, insured_name, burden_ratio, welfare_office_name, payer_number, recipient_number, \
     acquired_on, issued_on, valid_from, valid_to, lost_on, loss_reason)";

struct ElderlyRow<'a>(PersonId, &'a ElderlyCertificate);
impl InsertRow for ElderlyRow<'_> {
    const COLUMNS: usize = 4;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.0)
            .bind(date_text(self.1.valid.from))
            .bind(opt_date_text(self.1.valid.to))
            .bind(self.1.burden_ratio.code())
    }
}
const ELDERLY_HEAD: &str =
    "INSERT INTO elderly_certificates (person_id, valid_from, valid_to, burden_ratio)";

struct LimitRow<'a>(PersonId, &'a LimitCertificate);
impl InsertRow for LimitRow<'_> {
    const COLUMNS: usize = 6;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let c = self.1;
        q.bind(self.0)
            .bind(c.kind.code())
            .bind(c.class.code())
            .bind(date_text(c.valid.from))
            .bind(opt_date_text(c.valid.to))
            .bind(opt_date_text(c.long_term_from))
    }
}
const LIMIT_HEAD: &str =
    "INSERT INTO limit_certificates (person_id, kind, class, valid_from, valid_to, long_term_from)";

struct DiseaseRow<'a>(PersonId, &'a SpecificDiseaseCertificate);
impl InsertRow for DiseaseRow<'_> {
    const COLUMNS: usize = 5;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let c = self.1;
        q.bind(self.0)
            .bind(c.disease.code())
            .bind(date_text(c.valid.from))
            .bind(opt_date_text(c.valid.to))
            .bind(i64::from(c.self_pay_limit_yen))
    }
}
const DISEASE_HEAD: &str = "INSERT INTO specific_disease_certificates (person_id, disease, valid_from, valid_to, self_pay_limit_yen)";

struct SubsidyRow<'a>(PersonId, &'a PublicSubsidy);
impl InsertRow for SubsidyRow<'_> {
    const COLUMNS: usize = 6;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let s = self.1;
        q.bind(self.0)
            .bind(s.payer_number.as_str())
            .bind(s.recipient_number.as_ref().map(RecipientNumber::as_str))
            .bind(date_text(s.valid.from))
            .bind(opt_date_text(s.valid.to))
            .bind(s.monthly_limit_yen.map(i64::from))
    }
}
const SUBSIDY_HEAD: &str = "INSERT INTO public_subsidies (person_id, payer_number, recipient_number, valid_from, valid_to, monthly_limit_yen)";

struct DrugRow<'a>(PersonId, &'a DrugRecord);
impl InsertRow for DrugRow<'_> {
    const COLUMNS: usize = 13;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let d = self.1;
        q.bind(self.0)
            .bind(date_text(d.dispensed_on))
            .bind(d.institution_name.as_str())
            .bind(d.drug_name.as_str())
            .bind(d.dosage.as_str())
            .bind(d.quantity)
            .bind(d.unit.as_str())
            .bind(i64::from(d.days))
            .bind(d.setting.as_str())
            .bind(date_text(d.prescribed_on))
            .bind(d.route.as_str())
            .bind(d.generic_name.as_str())
            .bind(i64::from(d.times))
    }
}
const DRUG_HEAD: &str = "INSERT INTO drug_records (person_id, dispensed_on, institution_name, drug_name, dosage, quantity, unit, days, \
     setting, prescribed_on, route, generic_name, times)";

struct ClinicalRow<'a>(PersonId, &'a ClinicalEvent);
impl InsertRow for ClinicalRow<'_> {
    const COLUMNS: usize = 6;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let c = self.1;
        q.bind(self.0)
            .bind(date_text(c.occurred_on))
            .bind(c.kind.as_str())
            .bind(c.name.as_str())
            .bind(c.detail.as_str())
            .bind(c.institution_name.as_str())
    }
}
const CLINICAL_HEAD: &str =
    "INSERT INTO clinical_events (person_id, occurred_on, kind, name, detail, institution_name)";

struct CheckupRow<'a>(PersonId, &'a CheckupResult);
impl InsertRow for CheckupRow<'_> {
    const COLUMNS: usize = 11;
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        let c = self.1;
        q.bind(self.0)
            .bind(date_text(c.examined_on))
            .bind(c.height_cm)
            .bind(c.weight_kg)
            .bind(c.waist_cm)
            .bind(i64::from(c.systolic_mmhg))
            .bind(i64::from(c.diastolic_mmhg))
            .bind(c.hba1c_percent)
            .bind(i64::from(c.ldl_mg_dl))
            .bind(i64::from(c.hdl_mg_dl))
            .bind(i64::from(c.triglycerides_mg_dl))
    }
}
const CHECKUP_HEAD: &str = "INSERT INTO checkups (person_id, examined_on, height_cm, weight_kg, waist_cm, systolic_mmhg, \
     diastolic_mmhg, hba1c_percent, ldl_mg_dl, hdl_mg_dl, triglycerides_mg_dl)";

/// Writes all tables for a batch of persons inside the caller's transaction.
async fn insert_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    batch: &[PersonRecords<'_>],
) -> Result<()> {
    for r in batch {
        r.eligibility.validate()?;
    }
    let persons: Vec<_> = batch
        .iter()
        .map(|r| PersonRow(&r.eligibility.person))
        .collect();
    insert_many(conn, backend, PERSON_HEAD, &persons).await?;

    let mut quals = Vec::new();
    let mut elderly = Vec::new();
    let mut limits = Vec::new();
    let mut diseases = Vec::new();
    let mut subsidies = Vec::new();
    let mut drugs = Vec::new();
    let mut clinical = Vec::new();
    let mut checkups = Vec::new();
    for r in batch {
        let e = r.eligibility;
        let id = e.person.id;
        quals.extend(e.qualifications.iter().map(|q| QualificationRow(id, q)));
        elderly.extend(e.elderly.iter().map(|c| ElderlyRow(id, c)));
        limits.extend(e.limits.iter().map(|c| LimitRow(id, c)));
        diseases.extend(e.specific_diseases.iter().map(|c| DiseaseRow(id, c)));
        subsidies.extend(e.subsidies.iter().map(|s| SubsidyRow(id, s)));
        drugs.extend(r.drugs.iter().map(|d| DrugRow(id, d)));
        clinical.extend(r.clinical.iter().map(|c| ClinicalRow(id, c)));
        checkups.extend(r.checkups.iter().map(|c| CheckupRow(id, c)));
    }
    insert_many(conn, backend, QUALIFICATION_HEAD, &quals).await?;
    insert_many(conn, backend, ELDERLY_HEAD, &elderly).await?;
    insert_many(conn, backend, LIMIT_HEAD, &limits).await?;
    insert_many(conn, backend, DISEASE_HEAD, &diseases).await?;
    insert_many(conn, backend, SUBSIDY_HEAD, &subsidies).await?;
    insert_many(conn, backend, DRUG_HEAD, &drugs).await?;
    insert_many(conn, backend, CLINICAL_HEAD, &clinical).await?;
    insert_many(conn, backend, CHECKUP_HEAD, &checkups).await?;
    Ok(())
}

/// A connection reserved for loading many persons quickly.
///
/// On SQLite it lowers `synchronous` to `NORMAL` for this connection while it
/// loads (WAL stays consistent; only the last batches could be lost on a power
/// cut, and a seed can be regenerated), and restores `FULL` in [`finish`].
///
/// [`finish`]: BulkLoader::finish
pub struct BulkLoader {
    conn: PoolConnection<Any>,
    backend: Backend,
}

impl BulkLoader {
    /// Inserts one batch in one transaction: all of it or none of it.
    pub async fn insert(&mut self, batch: &[PersonRecords<'_>]) -> Result<()> {
        let mut tx = self.conn.begin().await?;
        insert_batch(&mut tx, self.backend, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn finish(mut self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            self.conn.execute("PRAGMA synchronous = FULL").await?;
        }
        Ok(())
    }
}

impl Store {
    pub async fn bulk_loader(&self) -> Result<BulkLoader> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Sqlite {
            conn.execute("PRAGMA synchronous = NORMAL").await?;
        }
        Ok(BulkLoader {
            conn,
            backend: self.backend,
        })
    }

    /// Inserts persons with full durability (for demo data and tests).
    pub async fn insert_persons(&self, batch: &[PersonRecords<'_>]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_batch(&mut tx, self.backend, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_persons(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM persons")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    pub async fn max_person_id(&self) -> Result<i64> {
        let row = sqlx::query("SELECT MAX(id) AS m FROM persons")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("m")?.unwrap_or(0))
    }

    /// The persons with a qualification under this 保険者番号 and 番号 who
    /// were born on `birth_date` (a family shares the number; the birth
    /// date tells them apart), each with what `institution_id` holds of
    /// them: one read transaction for the receipt computer's inquiry, the
    /// interface's busiest request.
    pub async fn found_by_card(
        &self,
        insurer_number: &str,
        number: &str,
        birth_date: chrono::NaiveDate,
        institution_id: i64,
    ) -> Result<Vec<FoundByCard>> {
        let birth = date_text(birth_date);
        let mut snap = self.snapshot()?;
        let ids = snap
            .fetch(
                "SELECT DISTINCT q.person_id FROM qualifications q JOIN persons p ON p.id = q.person_id \
                 WHERE q.insurer_number = $1 AND q.number = $2 AND p.birth_date = $3 ORDER BY q.person_id",
                &[
                    Arg::Text(insurer_number),
                    Arg::Text(number),
                    Arg::Text(&birth),
                ],
                |r| r.col::<i64>("person_id"),
            )
            .await?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(eligibility) = eligibility_in(&mut snap, id).await? else {
                continue;
            };
            let at = [Arg::Int(institution_id), Arg::Int(id)];
            let latest_consent = snap
                .fetch(&crate::consents::LATEST, &at, crate::consents::from_row)
                .await?
                .pop();
            let reference_number = snap
                .fetch(
                    "SELECT reference_number FROM institution_patients \
                     WHERE institution_id = $1 AND person_id = $2",
                    &at,
                    |r| r.col::<Option<String>>("reference_number"),
                )
                .await?
                .pop()
                .flatten();
            found.push(FoundByCard {
                eligibility,
                latest_consent,
                reference_number,
            });
        }
        Ok(found)
    }

    /// The persons with a qualification under this 保険者番号 and 番号,
    /// whoever they are (a 照会番号 is registered by card data alone).
    pub async fn persons_by_card_number(
        &self,
        insurer_number: &str,
        number: &str,
    ) -> Result<Vec<PersonId>> {
        self.fetch(
            "SELECT DISTINCT person_id FROM qualifications \
             WHERE insurer_number = $1 AND number = $2 ORDER BY person_id",
            &[Arg::Text(insurer_number), Arg::Text(number)],
            |r| r.col::<i64>("person_id"),
        )
        .await
    }

    /// Everything the registry holds on one person, or `None`.
    pub async fn eligibility(&self, person_id: PersonId) -> Result<Option<Eligibility>> {
        let mut snap = self.snapshot()?;
        eligibility_in(&mut snap, person_id).await
    }
}

/// A person found by insurance-card data ([`Store::found_by_card`]).
#[derive(Debug, Clone)]
pub struct FoundByCard {
    pub eligibility: Eligibility,
    /// The person's latest consent record to the institution.
    pub latest_consent: Option<ConsentRecord>,
    /// The institution's 照会番号 for the person.
    pub reference_number: Option<String>,
}

/// [`Store::eligibility`] within a read that sees one state.
async fn eligibility_in(
    snap: &mut Snapshot<'_>,
    person_id: PersonId,
) -> Result<Option<Eligibility>> {
    let [
        person,
        qualifications,
        elderly,
        limits,
        specific_diseases,
        subsidies,
    ] = ELIGIBILITY_PARTS;
    let id = [Arg::Int(person_id)];
    let Some(person) = snap.fetch(person, &id, person_from_row).await?.pop() else {
        return Ok(None);
    };
    let qualifications = snap
        .fetch(qualifications, &id, qualification_from_row)
        .await?;

    let elderly = snap
        .fetch(elderly, &id, |r| {
            let t = "elderly_certificates";
            Ok(ElderlyCertificate {
                valid: period(t, r)?,
                burden_ratio: code(t, "burden_ratio", r, BurdenRatio::parse)?,
            })
        })
        .await?;

    let limits = snap
        .fetch(limits, &id, |r| {
            let t = "limit_certificates";
            Ok(LimitCertificate {
                kind: code(t, "kind", r, LimitCertificateKind::parse)?,
                class: code(t, "class", r, LimitClass::parse)?,
                valid: period(t, r)?,
                long_term_from: parse_opt_date(t, "long_term_from", r.col("long_term_from")?)?,
            })
        })
        .await?;

    let specific_diseases = snap
        .fetch(specific_diseases, &id, |r| {
            let t = "specific_disease_certificates";
            Ok(SpecificDiseaseCertificate {
                disease: code(t, "disease", r, SpecificDisease::parse)?,
                valid: period(t, r)?,
                self_pay_limit_yen: u32::try_from(r.col::<i64>("self_pay_limit_yen")?)
                    .map_err(|e| StorageError::corrupt(t, "self_pay_limit_yen", e))?,
            })
        })
        .await?;

    let subsidies = snap
        .fetch(subsidies, &id, |r| {
            let t = "public_subsidies";
            Ok(PublicSubsidy {
                payer_number: code(t, "payer_number", r, PayerNumber::parse)?,
                recipient_number: r
                    .col::<Option<String>>("recipient_number")?
                    .map(|s| {
                        RecipientNumber::parse(&s)
                            .map_err(|e| StorageError::corrupt(t, "recipient_number", e))
                    })
                    .transpose()?,
                valid: period(t, r)?,
                monthly_limit_yen: r
                    .col::<Option<i64>>("monthly_limit_yen")?
                    .map(|v| {
                        u32::try_from(v)
                            .map_err(|e| StorageError::corrupt(t, "monthly_limit_yen", e))
                    })
                    .transpose()?,
            })
        })
        .await?;

    Ok(Some(Eligibility {
        person,
        qualifications,
        elderly,
        limits,
        specific_diseases,
        subsidies,
    }))
}

/// The person and each of their record kinds, in this order.
const ELIGIBILITY_PARTS: [&str; 6] = [
    "SELECT id, name, name_kana, birth_date, sex, postal_code, address, considerate_name, \
     considerate_kana, considerate_sex, insurance_use_registered FROM persons WHERE id = $1",
    "SELECT id, coverage, insurer_number, insurer_name, symbol, number, branch, personal_family, \
     insured_name, burden_ratio, welfare_office_name, payer_number, recipient_number, acquired_on, issued_on, \
     valid_from, valid_to, lost_on, loss_reason FROM qualifications WHERE person_id = $1 ORDER BY valid_from, id",
    "SELECT valid_from, valid_to, burden_ratio FROM elderly_certificates WHERE person_id = $1 ORDER BY valid_from, id",
    "SELECT kind, class, valid_from, valid_to, long_term_from FROM limit_certificates WHERE person_id = $1 \
     ORDER BY valid_from, id",
    "SELECT disease, valid_from, valid_to, self_pay_limit_yen FROM specific_disease_certificates \
     WHERE person_id = $1 ORDER BY valid_from, id",
    "SELECT payer_number, recipient_number, valid_from, valid_to, monthly_limit_yen FROM public_subsidies \
     WHERE person_id = $1 ORDER BY valid_from, id",
];

fn code<T>(
    table: &'static str,
    column: &'static str,
    row: &dyn Columns,
    parse: impl Fn(&str) -> zaitaku_domain::Result<T>,
) -> Result<T> {
    let s: String = row.col(column)?;
    parse(&s).map_err(|e| StorageError::corrupt(table, column, e))
}

fn opt_code<T>(
    table: &'static str,
    column: &'static str,
    row: &dyn Columns,
    parse: impl Fn(&str) -> zaitaku_domain::Result<T>,
) -> Result<Option<T>> {
    let s: Option<String> = row.col(column)?;
    s.map(|s| parse(&s).map_err(|e| StorageError::corrupt(table, column, e)))
        .transpose()
}

fn required<T>(table: &'static str, column: &'static str, v: Option<T>) -> Result<T> {
    v.ok_or_else(|| StorageError::corrupt(table, column, "missing"))
}

fn period(table: &'static str, row: &dyn Columns) -> Result<Period> {
    let from: String = row.col("valid_from")?;
    Ok(Period {
        from: parse_date(table, "valid_from", &from)?,
        to: parse_opt_date(table, "valid_to", row.col("valid_to")?)?,
    })
}

fn person_from_row(row: &dyn Columns) -> Result<Person> {
    let t = "persons";
    let birth: String = row.col("birth_date")?;
    let considerate = match (
        row.col::<Option<String>>("considerate_name")?,
        row.col::<Option<String>>("considerate_kana")?,
        opt_code(t, "considerate_sex", row, Sex::parse)?,
    ) {
        (Some(name), Some(name_kana), Some(sex)) => Some(ConsiderateInfo {
            name,
            name_kana,
            sex,
        }),
        _ => None,
    };
    Ok(Person {
        id: row.col("id")?,
        name: row.col("name")?,
        name_kana: row.col("name_kana")?,
        birth_date: parse_date(t, "birth_date", &birth)?,
        sex: code(t, "sex", row, Sex::parse)?,
        postal_code: row.col("postal_code")?,
        address: row.col("address")?,
        considerate,
        insurance_use_registered: row.col::<i64>("insurance_use_registered")? != 0,
    })
}

fn qualification_from_row(row: &dyn Columns) -> Result<Qualification> {
    let t = "qualifications";
    let kind: String = row.col("coverage")?;
    let coverage = if kind == "medical_assistance" {
        Coverage::MedicalAssistance {
            welfare_office_name: required(
                t,
                "welfare_office_name",
                row.col("welfare_office_name")?,
            )?,
            payer_number: required(
                t,
                "payer_number",
                opt_code(t, "payer_number", row, PayerNumber::parse)?,
            )?,
            recipient_number: required(
                t,
                "recipient_number",
                opt_code(t, "recipient_number", row, RecipientNumber::parse)?,
            )?,
        }
    } else {
        Coverage::Insurance {
            insurer_number: required(
                t,
                "insurer_number",
                opt_code(t, "insurer_number", row, InsurerNumber::parse)?,
            )?,
            insurer_name: required(t, "insurer_name", row.col("insurer_name")?)?,
            symbol: required(t, "symbol", row.col("symbol")?)?,
            number: required(t, "number", row.col("number")?)?,
            branch: required(
                t,
                "branch",
                opt_code(t, "branch", row, BranchNumber::parse)?,
            )?,
            personal_family: required(
                t,
                "personal_family",
                opt_code(t, "personal_family", row, PersonalFamily::parse)?,
            )?,
            insured_name: required(t, "insured_name", row.col("insured_name")?)?,
            burden_ratio: opt_code(t, "burden_ratio", row, BurdenRatio::parse)?,
        }
    };
    let acquired: String = row.col("acquired_on")?;
    let lost_on = parse_opt_date(t, "lost_on", row.col("lost_on")?)?;
    let reason = opt_code(t, "loss_reason", row, LossReason::parse)?;
    Ok(Qualification {
        id: row.col("id")?,
        coverage,
        acquired_on: parse_date(t, "acquired_on", &acquired)?,
        issued_on: parse_opt_date(t, "issued_on", row.col("issued_on")?)?,
        valid: period(t, row)?,
        loss: match (lost_on, reason) {
            (Some(on), Some(reason)) => Some(Loss { on, reason }),
            (None, None) => None,
            _ => {
                return Err(StorageError::corrupt(
                    t,
                    "lost_on",
                    "lost_on and loss_reason must be set together",
                ));
            }
        },
    })
}
