//! 資格確認結果 of the staff app, as shown at the check (`app_checks`): written
//! with the check's audit in one job, listed for the result search (D-10-W)
//! by institution or device and period, read back as they were, purged after
//! the retention period.

use chrono::{DateTime, Utc};

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{
    Db, Insert, Refusal, Statement, Step, Value, Write, Written, insert_returning_id,
};
use crate::{Result, Store};

/// A result to keep.
pub struct NewAppCheck<'a> {
    pub institution_id: i64,
    pub device_id: i64,
    pub account_id: i64,
    pub person_id: i64,
    /// `visual`, `pin`, `iphone` or `android`.
    pub method: &'a str,
    pub checked_at: DateTime<Utc>,
    pub name: &'a str,
    pub valid: bool,
    /// The screen as JSON.
    pub result: &'a str,
}

/// One line of the result search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCheckLine {
    pub id: i64,
    pub checked_at: DateTime<Utc>,
    pub name: String,
    pub valid: bool,
}

/// A kept result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppCheck {
    pub id: i64,
    pub device_id: i64,
    pub person_id: i64,
    pub method: String,
    pub checked_at: DateTime<Utc>,
    pub result: String,
}

/// Which results a search covers: the institution's, or one device's, in
/// `[from, until)`.
#[derive(Debug, Clone, Copy)]
pub struct AppCheckScope {
    pub institution_id: i64,
    pub device_id: Option<i64>,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

const INSERT: Insert = insert_returning_id!(
    "INSERT INTO app_checks (institution_id, device_id, account_id, person_id, method, \
     checked_at, name, valid, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);

struct Keep {
    institution_id: i64,
    device_id: i64,
    account_id: i64,
    person_id: i64,
    method: String,
    checked_at: i64,
    name: String,
    valid: i64,
    result: String,
}

impl Step for Keep {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let id = db.insert_id(
            &INSERT,
            &[
                Arg::Int(self.institution_id),
                Arg::Int(self.device_id),
                Arg::Int(self.account_id),
                Arg::Int(self.person_id),
                Arg::Text(&self.method),
                Arg::Int(self.checked_at),
                Arg::Text(&self.name),
                Arg::Int(self.valid),
                Arg::Text(&self.result),
            ],
        )?;
        Ok(Ok(id.map_or(Written::Done, Written::Id)))
    }
}

impl Write {
    /// Keeps a result; its id is what the job produces.
    pub fn keep_app_check(c: &NewAppCheck<'_>) -> Self {
        Self::step(Keep {
            institution_id: c.institution_id,
            device_id: c.device_id,
            account_id: c.account_id,
            person_id: c.person_id,
            method: c.method.to_owned(),
            checked_at: micros(c.checked_at),
            name: c.name.to_owned(),
            valid: i64::from(c.valid),
            result: c.result.to_owned(),
        })
    }
}

fn instant(v: i64) -> Result<DateTime<Utc>> {
    from_micros("app_checks", "checked_at", v)
}

fn line(r: &dyn Columns) -> Result<AppCheckLine> {
    Ok(AppCheckLine {
        id: r.col("id")?,
        checked_at: instant(r.col("checked_at")?)?,
        name: r.col("name")?,
        valid: r.col::<i64>("valid")? != 0,
    })
}

/// The `WHERE` of a scope and its arguments (the device's only when set).
fn scope_filter(scope: &AppCheckScope) -> (&'static str, Vec<Arg<'static>>) {
    let mut args = vec![
        Arg::Int(scope.institution_id),
        Arg::Int(micros(scope.from)),
        Arg::Int(micros(scope.until)),
    ];
    match scope.device_id {
        Some(d) => {
            args.push(Arg::Int(d));
            (
                "institution_id = $1 AND checked_at >= $2 AND checked_at < $3 AND device_id = $4",
                args,
            )
        }
        None => (
            "institution_id = $1 AND checked_at >= $2 AND checked_at < $3",
            args,
        ),
    }
}

impl Store {
    /// The results in `scope`, newest first: `limit` from `offset`.
    pub async fn app_checks(
        &self,
        scope: &AppCheckScope,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AppCheckLine>> {
        let (filter, mut args) = scope_filter(scope);
        let n = args.len();
        let sql = format!(
            "SELECT id, checked_at, name, valid FROM app_checks WHERE {filter} \
             ORDER BY checked_at DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        args.push(Arg::Int(limit));
        args.push(Arg::Int(offset));
        self.fetch(&sql, &args, line).await
    }

    /// How many results `scope` holds.
    pub async fn count_app_checks(&self, scope: &AppCheckScope) -> Result<i64> {
        let (filter, args) = scope_filter(scope);
        let sql = format!("SELECT COUNT(*) AS n FROM app_checks WHERE {filter}");
        Ok(self
            .fetch_optional(&sql, &args, |r| r.col::<i64>("n"))
            .await?
            .unwrap_or(0))
    }

    /// One kept result, only if it is the institution's.
    pub async fn app_check(&self, institution_id: i64, id: i64) -> Result<Option<StoredAppCheck>> {
        self.fetch_optional(
            "SELECT id, device_id, person_id, method, checked_at, result FROM app_checks \
             WHERE institution_id = $1 AND id = $2",
            &[Arg::Int(institution_id), Arg::Int(id)],
            |r| {
                Ok(StoredAppCheck {
                    id: r.col("id")?,
                    device_id: r.col("device_id")?,
                    person_id: r.col("person_id")?,
                    method: r.col("method")?,
                    checked_at: instant(r.col("checked_at")?)?,
                    result: r.col("result")?,
                })
            },
        )
        .await
    }

    /// Removes the results checked before `before`.
    pub async fn purge_app_checks(&self, before: DateTime<Utc>) -> Result<()> {
        self.write_step(Statement::new(
            "DELETE FROM app_checks WHERE checked_at < $1",
            vec![Value::Int(micros(before))],
        ))
        .await?;
        Ok(())
    }
}
