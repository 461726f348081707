//! 資格確認結果 of the staff app, as shown at the check (`app_checks`): written
//! with the check's audit in one job, listed for the result search (D-10-W)
//! by institution or device and period a page at a time from a position
//! (keyset: no page costs more than its ten rows), counted from the daily
//! counts of `app_check_days`, read back as they were, purged after the
//! retention period.

use chrono::{DateTime, NaiveDate, Utc};

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
    /// The day in Japan it was checked on (the daily count's key).
    pub day: NaiveDate,
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

/// Which results a search covers: the institution's, or one device's, on
/// the days `first_day..=last_day` (JST), which are `[from, until)`.
#[derive(Debug, Clone, Copy)]
pub struct AppCheckScope {
    pub institution_id: i64,
    pub device_id: Option<i64>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Where a page of the search starts, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppCheckPage {
    /// The newest results.
    First,
    /// The results older than this one (checked at, id).
    After(i64, i64),
    /// The results newer than this one.
    Before(i64, i64),
    /// The oldest `n` results.
    Last(i64),
}

const INSERT: Insert = insert_returning_id!(
    "INSERT INTO app_checks (institution_id, device_id, account_id, person_id, method, \
     checked_at, name, valid, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);

struct Keep {
    institution_id: i64,
    device_id: i64,
    day: String,
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
        db.changed(
            "INSERT INTO app_check_days (institution_id, device_id, day, n) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (institution_id, device_id, day) DO UPDATE SET n = app_check_days.n + 1",
            &[
                Arg::Int(self.institution_id),
                Arg::Int(self.device_id),
                Arg::Text(&self.day),
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
            day: c.day.to_string(),
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

impl Store {
    /// One page of the results in `scope`, newest first: at most `limit`
    /// from `page`. Each page reads only its own rows (by the index on
    /// institution or device, checked at, id).
    pub async fn app_checks(
        &self,
        scope: &AppCheckScope,
        page: AppCheckPage,
        limit: i64,
    ) -> Result<Vec<AppCheckLine>> {
        let (owner, owner_id) = match scope.device_id {
            Some(d) => ("device_id", d),
            None => ("institution_id", scope.institution_id),
        };
        let mut args = vec![
            Arg::Int(owner_id),
            Arg::Int(micros(scope.from)),
            Arg::Int(micros(scope.until)),
        ];
        let (position, order, limit) = match page {
            AppCheckPage::First => ("", "DESC", limit),
            AppCheckPage::After(at, id) => {
                args.push(Arg::Int(at));
                args.push(Arg::Int(id));
                (
                    " AND checked_at <= $4 AND (checked_at < $4 OR id < $5)",
                    "DESC",
                    limit,
                )
            }
            AppCheckPage::Before(at, id) => {
                args.push(Arg::Int(at));
                args.push(Arg::Int(id));
                (
                    " AND checked_at >= $4 AND (checked_at > $4 OR id > $5)",
                    "ASC",
                    limit,
                )
            }
            AppCheckPage::Last(n) => ("", "ASC", n.clamp(1, limit)),
        };
        args.push(Arg::Int(limit));
        let sql = format!(
            "SELECT id, checked_at, name, valid FROM app_checks WHERE {owner} = $1 \
             AND checked_at >= $2 AND checked_at < $3{position} \
             ORDER BY checked_at {order}, id {order} LIMIT ${}",
            args.len()
        );
        let mut lines = self.fetch(&sql, &args, line).await?;
        if order == "ASC" {
            lines.reverse();
        }
        Ok(lines)
    }

    /// How many results `scope` holds, from the daily counts.
    pub async fn count_app_checks(&self, scope: &AppCheckScope) -> Result<i64> {
        let (first, last) = (scope.first_day.to_string(), scope.last_day.to_string());
        let mut args = vec![
            Arg::Int(scope.institution_id),
            Arg::Text(&first),
            Arg::Text(&last),
        ];
        let device = match scope.device_id {
            Some(d) => {
                args.push(Arg::Int(d));
                " AND device_id = $4"
            }
            None => "",
        };
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM app_check_days \
             WHERE institution_id = $1 AND day >= $2 AND day <= $3{device}"
        );
        Ok(self
            .fetch_optional(&sql, &args, |r| r.col::<i64>("n"))
            .await?
            .unwrap_or(0))
    }

    /// The institution's first kept result after `after` (by id): the
    /// next check-in result its receipt computer has not taken.
    pub async fn app_check_after(
        &self,
        institution_id: i64,
        after: i64,
    ) -> Result<Option<StoredAppCheck>> {
        self.fetch_optional(
            "SELECT id, device_id, person_id, method, checked_at, result FROM app_checks \
             WHERE institution_id = $1 AND id > $2 ORDER BY id LIMIT 1",
            &[Arg::Int(institution_id), Arg::Int(after)],
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

    /// Removes the results checked before `before`, and the daily counts
    /// of the days before `first_kept_day`.
    pub async fn purge_app_checks(
        &self,
        before: DateTime<Utc>,
        first_kept_day: NaiveDate,
    ) -> Result<()> {
        self.write(vec![
            Write::step(Statement::new(
                "DELETE FROM app_checks WHERE checked_at < $1",
                vec![Value::Int(micros(before))],
            )),
            Write::step(Statement::new(
                "DELETE FROM app_check_days WHERE day < $1",
                vec![Value::Text(first_kept_day.to_string())],
            )),
        ])
        .await?
        .map_err(|r| crate::StorageError::Writer(format!("{r:?}")))?;
        Ok(())
    }
}
