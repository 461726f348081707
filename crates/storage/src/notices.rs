//! お知らせ (`notices`) and which app device has read which
//! (`notice_reads`).

use chrono::{DateTime, Utc};

use crate::sql::{Arg, Columns, from_micros, micros};
use crate::writer::{Statement, Value};
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotice {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub published_from: DateTime<Utc>,
    pub published_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A notice to post.
pub struct NewNotice<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub link: Option<&'a str>,
    pub published_from: DateTime<Utc>,
    pub published_until: Option<DateTime<Utc>>,
    pub created_by: i64,
}

fn instant(column: &'static str, v: i64) -> Result<DateTime<Utc>> {
    from_micros("notices", column, v)
}

fn notice(r: &dyn Columns) -> Result<StoredNotice> {
    Ok(StoredNotice {
        id: r.col("id")?,
        title: r.col("title")?,
        body: r.col("body")?,
        link: r.col("link")?,
        published_from: instant("published_from", r.col("published_from")?)?,
        published_until: r
            .col::<Option<i64>>("published_until")?
            .map(|v| instant("published_until", v))
            .transpose()?,
        created_at: instant("created_at", r.col("created_at")?)?,
    })
}

const COLUMNS: &str =
    "n.id, n.title, n.body, n.link, n.published_from, n.published_until, n.created_at";

/// In force at `$1`.
const SHOWN: &str =
    "n.published_from <= $1 AND (n.published_until IS NULL OR n.published_until > $1)";

impl Store {
    pub async fn post_notice(&self, n: &NewNotice<'_>, now: DateTime<Utc>) -> Result<()> {
        self.write_step(Statement::new(
            "INSERT INTO notices (title, body, link, published_from, published_until, created_at, \
             created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Value::Text(n.title.to_owned()),
                Value::Text(n.body.to_owned()),
                Value::OptText(n.link.map(str::to_owned)),
                Value::Int(micros(n.published_from)),
                Value::OptInt(n.published_until.map(micros)),
                Value::Int(micros(now)),
                Value::Int(n.created_by),
            ],
        ))
        .await?;
        Ok(())
    }

    /// Every notice, newest first (the operator's list).
    pub async fn notices(&self, limit: i64) -> Result<Vec<StoredNotice>> {
        let sql = format!("SELECT {COLUMNS} FROM notices n ORDER BY n.id DESC LIMIT $1");
        self.fetch(&sql, &[Arg::Int(limit)], notice).await
    }

    /// The notices shown at `now`, newest first; `unread_by` keeps only
    /// those that device has not read.
    pub async fn shown_notices(
        &self,
        now: DateTime<Utc>,
        unread_by: Option<i64>,
    ) -> Result<Vec<StoredNotice>> {
        match unread_by {
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM notices n WHERE {SHOWN} ORDER BY n.published_from DESC, n.id DESC"
                );
                self.fetch(&sql, &[Arg::Int(micros(now))], notice).await
            }
            Some(device) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM notices n WHERE {SHOWN} AND NOT EXISTS \
                     (SELECT 1 FROM notice_reads r WHERE r.device_id = $2 AND r.notice_id = n.id) \
                     ORDER BY n.published_from DESC, n.id DESC"
                );
                self.fetch(&sql, &[Arg::Int(micros(now)), Arg::Int(device)], notice)
                    .await
            }
        }
    }

    /// The device has seen `notice`.
    pub async fn mark_notice_read(
        &self,
        device_id: i64,
        notice_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "INSERT INTO notice_reads (device_id, notice_id, read_at) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id, notice_id) DO NOTHING",
            vec![
                Value::Int(device_id),
                Value::Int(notice_id),
                Value::Int(micros(now)),
            ],
        ))
        .await?;
        Ok(())
    }
}
