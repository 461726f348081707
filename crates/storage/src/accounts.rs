//! Institution accounts and the login counters behind the lockout rule.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use zaitaku_domain::account::{LOCK_AFTER_FAILURES, LOCK_MINUTES, Role};

use crate::sql::{Arg, Columns, date_text, flag, from_micros, micros, parse_date};
use crate::writer::{
    Db, Insert, Refusal, Statement, Step, Value, Write, Written, insert_returning_id,
};
use crate::{Result, StorageError, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub id: i64,
    /// `None` for a platform operator.
    pub institution_id: Option<i64>,
    pub user_id: String,
    pub role: Role,
    pub name: String,
    pub name_kana: String,
    pub start_date: NaiveDate,
    pub password_hash: String,
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled: bool,
    /// Set by a password reset: the next login must choose a new password.
    pub must_change_password: bool,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl StoredAccount {
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// `None` only with [`Role::Operator`].
    pub institution_id: Option<i64>,
    pub user_id: &'a str,
    pub role: Role,
    pub name: &'a str,
    pub name_kana: &'a str,
    pub start_date: NaiveDate,
    pub password_hash: &'a str,
    pub must_change_password: bool,
}

pub(crate) const COLUMNS: &str = "a.id, a.institution_id, a.user_id, a.role, a.name, a.name_kana, a.start_date, a.password_hash, \
     a.failed_attempts, a.locked_until, a.disabled, a.must_change_password, a.last_login_at";

pub(crate) fn from_row(row: &dyn Columns) -> Result<StoredAccount> {
    let t = "accounts";
    let role: String = row.col("role")?;
    let start: String = row.col("start_date")?;
    Ok(StoredAccount {
        id: row.col("id")?,
        institution_id: row.col("institution_id")?,
        user_id: row.col("user_id")?,
        role: Role::parse(&role).map_err(|e| StorageError::corrupt(t, "role", e))?,
        name: row.col("name")?,
        name_kana: row.col("name_kana")?,
        start_date: parse_date(t, "start_date", &start)?,
        password_hash: row.col("password_hash")?,
        failed_attempts: u32::try_from(row.col::<i64>("failed_attempts")?).unwrap_or(u32::MAX),
        locked_until: row
            .col::<Option<i64>>("locked_until")?
            .map(|v| from_micros(t, "locked_until", v))
            .transpose()?,
        disabled: row.col::<i64>("disabled")? != 0,
        must_change_password: row.col::<i64>("must_change_password")? != 0,
        last_login_at: row
            .col::<Option<i64>>("last_login_at")?
            .map(|v| from_micros(t, "last_login_at", v))
            .transpose()?,
    })
}

const INSERT: Insert = insert_returning_id!(
    "INSERT INTO accounts (institution_id, user_id, role, name, name_kana, start_date, password_hash, created_at, \
     must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);

struct InsertAccount {
    institution_id: Option<i64>,
    user_id: String,
    role: &'static str,
    name: String,
    name_kana: String,
    start_date: String,
    password_hash: String,
    now: i64,
    must_change_password: i64,
}

impl Step for InsertAccount {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let id = db
            .insert_id(
                &INSERT,
                &[
                    Arg::OptInt(self.institution_id),
                    Arg::Text(&self.user_id),
                    Arg::Text(self.role),
                    Arg::Text(&self.name),
                    Arg::Text(&self.name_kana),
                    Arg::Text(&self.start_date),
                    Arg::Text(&self.password_hash),
                    Arg::Int(self.now),
                    Arg::Int(self.must_change_password),
                ],
            )
            .map_err(|e| e.unique_as("ユーザID"))?
            .ok_or_else(|| StorageError::Writer("accounts: no row inserted".into()))?;
        Ok(Ok(Written::Id(id)))
    }
}

/// `(locked_until IS NOT NULL AND locked_until <= $4)`: a lock that has run out.
macro_rules! lapsed {
    () => {
        "(locked_until IS NOT NULL AND locked_until <= $4)"
    };
}
/// The count including this attempt.
macro_rules! count {
    () => {
        concat!(
            "CASE WHEN ",
            lapsed!(),
            " THEN 1 ELSE failed_attempts + 1 END"
        )
    };
}

/// See [`Store::reserve_login_attempt`]: only an account not locked (or whose
/// lock has run out) is counted; any other is refused.
struct ReserveLoginAttempt {
    id: i64,
    now: i64,
    until: i64,
}

impl Step for ReserveLoginAttempt {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        const SQL: &str = concat!(
            "UPDATE accounts SET failed_attempts = ",
            count!(),
            ", locked_until = CASE WHEN ",
            count!(),
            " >= $1 THEN $2 WHEN ",
            lapsed!(),
            " THEN NULL ELSE locked_until END WHERE id = $3 AND (locked_until IS NULL OR ",
            lapsed!(),
            ") RETURNING failed_attempts, locked_until"
        );
        let counted = db
            .query(
                SQL,
                &[
                    Arg::Int(i64::from(LOCK_AFTER_FAILURES)),
                    Arg::Int(self.until),
                    Arg::Int(self.id),
                    Arg::Int(self.now),
                ],
                &|r| {
                    Ok(Written::LoginAttempt {
                        count: u32::try_from(r.col::<i64>("failed_attempts")?).unwrap_or(u32::MAX),
                        locked_until: r
                            .col::<Option<i64>>("locked_until")?
                            .map(|v| from_micros("accounts", "locked_until", v))
                            .transpose()?,
                    })
                },
            )?
            .pop();
        Ok(counted.ok_or(Refusal::NoChange))
    }
}

impl Store {
    pub async fn insert_account(
        &self,
        a: &NewAccount<'_>,
        now: DateTime<Utc>,
    ) -> Result<StoredAccount> {
        let insert = InsertAccount {
            institution_id: a.institution_id,
            user_id: a.user_id.to_owned(),
            role: a.role.as_str(),
            name: a.name.to_owned(),
            name_kana: a.name_kana.to_owned(),
            start_date: date_text(a.start_date),
            password_hash: a.password_hash.to_owned(),
            now: micros(now),
            must_change_password: flag(a.must_change_password),
        };
        let Written::Id(id) = self.write_step(insert).await? else {
            return Err(StorageError::Writer("accounts: no id".into()));
        };
        self.account(id)
            .await?
            .ok_or_else(|| StorageError::corrupt("accounts", "id", id))
    }

    pub async fn account(&self, id: i64) -> Result<Option<StoredAccount>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts a WHERE a.id = $1");
        // Inline on SQLite: the staff app reads it on every request.
        self.fetch_optional(&sql, &[Arg::Int(id)], from_row).await
    }

    /// The account for a login form: institution code plus user ID.
    pub async fn account_for_login(
        &self,
        institution_code: &str,
        user_id: &str,
    ) -> Result<Option<StoredAccount>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts a JOIN institutions i ON i.id = a.institution_id WHERE i.code = $1 AND a.user_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(institution_code)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| from_row(r)).transpose()
    }

    /// A platform operator's account for the operator login form.
    pub async fn operator_for_login(&self, user_id: &str) -> Result<Option<StoredAccount>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts a WHERE a.institution_id IS NULL AND a.role = 'operator' AND a.user_id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| from_row(r)).transpose()
    }

    /// One account, only if it belongs to this institution: every change an
    /// administrator makes goes through here, so no ID reaches another
    /// institution's account.
    pub async fn account_of(&self, institution_id: i64, id: i64) -> Result<Option<StoredAccount>> {
        let sql =
            format!("SELECT {COLUMNS} FROM accounts a WHERE a.id = $1 AND a.institution_id = $2");
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(institution_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| from_row(r)).transpose()
    }

    /// A successful login: the counter restarts and the time is kept.
    pub async fn record_login(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
            vec![Value::Int(micros(now)), Value::Int(id)],
        ))
        .await?;
        Ok(())
    }

    /// A login that is not one to the administration (the staff app's):
    /// the failures counted so far are forgotten, `last_login_at` stays.
    pub async fn clear_login_failures(&self, id: i64) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = $1",
            vec![Value::Int(id)],
        ))
        .await?;
        Ok(())
    }

    /// A new password hash. `must_change` is true for a reset by an
    /// administrator (a temporary password) and false when the owner chose it.
    pub async fn set_password(
        &self,
        id: i64,
        password_hash: &str,
        must_change: bool,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE accounts SET password_hash = $1, must_change_password = $2, failed_attempts = 0, \
             locked_until = NULL WHERE id = $3",
            vec![
                Value::Text(password_hash.to_owned()),
                Value::Int(flag(must_change)),
                Value::Int(id),
            ],
        ))
        .await?;
        Ok(())
    }

    /// Every institution administrator, for the operator's unlock page.
    pub async fn institution_admins(&self) -> Result<Vec<StoredAccount>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts a WHERE a.role = 'admin' ORDER BY a.institution_id, a.user_id"
        );
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| from_row(r))
            .collect()
    }

    pub async fn accounts_of(&self, institution_id: i64) -> Result<Vec<StoredAccount>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts a WHERE a.institution_id = $1 ORDER BY a.user_id"
        );
        sqlx::query(&sql)
            .bind(institution_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| from_row(r))
            .collect()
    }

    /// Counts a login attempt before its password is checked, in one
    /// conditional statement, so that of any number of concurrent attempts
    /// at most [`LOCK_AFTER_FAILURES`] are let through to the check; the
    /// count reaching that number locks the account. A lock that has run out
    /// starts the count again, so one typo after it does not lock at once.
    /// Only a correct password ([`Store::record_login`]) or an unlock brings
    /// the count back to zero.
    ///
    /// `None`: the account is locked and the attempt must not be checked.
    /// Otherwise the count including this attempt and the lock it set, if any.
    pub async fn reserve_login_attempt(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<(u32, Option<DateTime<Utc>>)>> {
        let reserve = ReserveLoginAttempt {
            id,
            now: micros(now),
            until: micros(now + Duration::minutes(LOCK_MINUTES)),
        };
        match self.write_one(Write::step(reserve)).await? {
            Ok(Written::LoginAttempt {
                count,
                locked_until,
            }) => Ok(Some((count, locked_until))),
            Err(Refusal::NoChange) => Ok(None),
            other => Err(StorageError::Writer(format!("unexpected {other:?}"))),
        }
    }

    /// A correct password, or an administrator's unlock: the counter restarts.
    pub async fn reset_login_failures(&self, id: i64) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = $1",
            vec![Value::Int(id)],
        ))
        .await?;
        Ok(())
    }

    pub async fn set_account_disabled(&self, id: i64, disabled: bool) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE accounts SET disabled = $1 WHERE id = $2",
            vec![Value::Int(flag(disabled)), Value::Int(id)],
        ))
        .await?;
        Ok(())
    }
}
