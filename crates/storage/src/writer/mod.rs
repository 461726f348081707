//! The group-commit writer's API. A job is a `Vec<Write>` sent through
//! [`crate::Store::write`]: it commits whole or not at all, durable when the
//! caller is answered. A repository defines its own writes ([`Step`], in its
//! own file); audit records and browser sessions are the engine's, because it
//! keeps them for one multi-row insert per batch. See docs/design/storage.md.
//!
//! - `engine`: the thread, batches, savepoints, Deferred → Immediate.
//! - `chain`: the audit chain (head, hashes, the batch's insert).
//! - `sessions`: browser-session rows (last write per id wins).
//! - `statement`: the plain step, one statement with its arguments.

mod chain;
mod engine;
mod sessions;
mod statement;

use chrono::{DateTime, Utc};
use zaitaku_domain::consent::ConsentRecord;

use crate::audit::AuditRecord;
use crate::auth::NonceRejection;
use crate::cards::{StoredAuthority, StoredCard};
use crate::institutions::StoredInstitution;
use crate::sql::micros;
use crate::{AuditEvent, Result, StorageError};

pub(crate) use engine::{Db, Target, Writer};
pub(crate) use statement::{Statement, Value};

/// An insert for [`Db::insert_id`]: its text, and the same text with
/// `RETURNING id` for PostgreSQL (see [`insert_returning_id`]).
pub(crate) struct Insert {
    pub(crate) sql: &'static str,
    pub(crate) returning_id: &'static str,
}

/// `insert_returning_id!("INSERT …")`: both texts of an [`Insert`], static.
macro_rules! insert_returning_id {
    ($sql:literal) => {
        $crate::writer::Insert {
            sql: $sql,
            returning_id: concat!($sql, " RETURNING id"),
        }
    };
}
pub(crate) use insert_returning_id;

/// One write. Several sent together through [`crate::Store::write`] are one
/// atomic job.
pub struct Write(Kind);

enum Kind {
    /// A repository's statements, run at once inside the job's savepoint.
    Step(Box<dyn Step>),
    /// Kept for the batch's insert of the chain (see `chain`).
    Audit(Box<chain::AuditRow>),
    /// Kept for the batch's insert of sessions (see `sessions`).
    Session(sessions::SessionWrite),
}

/// A write a repository defines: its statements (one SQL text for both
/// databases, or one per database through [`Db::backend`]), their arguments,
/// and what the rows they changed or returned mean: a [`Written`], or a
/// [`Refusal`] that refuses the whole job.
///
/// It runs on the writer's thread inside its job's savepoint, and again if
/// the batch is repeated (Deferred → Immediate), so it only reads `self`.
/// An `Err` fails its job alone (rolled back to the savepoint).
pub(crate) trait Step: Send + Sync {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>>;
}

/// What one write produced, in the order of the job's writes.
#[derive(Debug, Clone)]
pub enum Written {
    Done,
    /// The new row's id.
    Id(i64),
    /// Rows removed (a purge).
    Count(u64),
    Consent(ConsentRecord),
    Audit(AuditRecord),
    Institution(Box<StoredInstitution>),
    Authority(StoredAuthority),
    Card(Box<StoredCard>),
    /// A login attempt counted: the count including it, and the lock it set.
    LoginAttempt {
        count: u32,
        locked_until: Option<DateTime<Utc>>,
    },
}

/// Why a job was refused; nothing of it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Nonce(NonceRejection),
    /// The one-time code is unknown, spent or expired.
    CodeNotRedeemable,
    /// The hand-off is completed, cancelled or expired.
    RequestNotOpen,
    /// A conditional write found no row in the state it requires (no such
    /// row, already revoked, a counter that moved on, a locked account).
    NoChange,
}

/// A refused job: which write refused, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub write: usize,
    pub refusal: Refusal,
}

/// Text a write stores: as given, or JSON in which the engine places the id
/// of a row an earlier write of the same job inserted (that id exists only
/// once the row is inserted, inside the batch).
enum Text {
    Given(String),
    Naming {
        json: serde_json::Value,
        /// JSON pointer to the placeholder the id replaces.
        at: &'static str,
        named: Named,
    },
}

/// Which earlier write's row a [`Text::Naming`] names: the latest of the
/// job's writes that produced it.
#[derive(Clone, Copy, Debug)]
enum Named {
    Consent,
    /// A new row whose write answers [`Written::Id`].
    Row,
}

impl Text {
    /// The text to store, given what the job's earlier writes produced.
    fn resolve(&mut self, written: &[Written]) -> Result<String> {
        match self {
            Text::Given(text) => Ok(text.clone()),
            Text::Naming { json, at, named } => {
                let id = written
                    .iter()
                    .rev()
                    .find_map(|w| match (w, *named) {
                        (Written::Consent(r), Named::Consent) => Some(r.id),
                        (Written::Id(id), Named::Row) => Some(*id),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        StorageError::Writer(format!(
                            "no {named:?} written before the write naming it"
                        ))
                    })?;
                let slot = json.pointer_mut(at).ok_or_else(|| {
                    StorageError::Writer(format!("no place for the {named:?}'s id at {at}"))
                })?;
                *slot = id.into();
                Ok(json.to_string())
            }
        }
    }

    fn naming_consent(json: serde_json::Value, at: &'static str) -> Self {
        Text::Naming {
            json,
            at,
            named: Named::Consent,
        }
    }
}

impl Write {
    /// A repository's write (see [`Step`]).
    pub(crate) fn step(step: impl Step + 'static) -> Self {
        Self(Kind::Step(Box::new(step)))
    }

    pub fn audit(e: &AuditEvent<'_>, now: DateTime<Utc>) -> Self {
        Self::audit_with(e, Text::Given(e.detail.to_string()), now)
    }

    /// An audit record whose detail names the consent an earlier write of
    /// the same job recorded: its id replaces the value at `at` (a JSON
    /// pointer into `e.detail`, e.g. `/consent`).
    /// Takes the event: its detail becomes the template without a copy.
    pub fn audit_naming_consent(e: AuditEvent<'_>, at: &'static str, now: DateTime<Utc>) -> Self {
        let mut e = e;
        let json = std::mem::take(&mut e.detail);
        Self::audit_with(&e, Text::naming_consent(json, at), now)
    }

    /// An audit record whose detail names the row an earlier write of the
    /// same job inserted (the latest that answers [`Written::Id`], such as
    /// a new link): its id replaces the value at `at` (a JSON pointer into
    /// `e.detail`).
    pub fn audit_naming_row(e: AuditEvent<'_>, at: &'static str, now: DateTime<Utc>) -> Self {
        let mut e = e;
        let json = std::mem::take(&mut e.detail);
        let detail = Text::Naming {
            json,
            at,
            named: Named::Row,
        };
        Self::audit_with(&e, detail, now)
    }

    fn audit_with(e: &AuditEvent<'_>, detail: Text, now: DateTime<Utc>) -> Self {
        Self(Kind::Audit(Box::new(chain::AuditRow {
            at: micros(now),
            actor: e.actor.to_owned(),
            action: e.action.to_owned(),
            outcome: e.outcome.to_owned(),
            institution_id: e.institution_id,
            person_id: e.person_id,
            detail,
        })))
    }

    /// Creates or replaces a browser session.
    pub fn put_session(
        id: &str,
        data: &serde_json::Value,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self::put_session_text(id, data.to_string(), now, expires_at)
    }

    /// [`Write::put_session`] with the data already serialised (JSON text).
    pub fn put_session_text(
        id: &str,
        data: String,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self::session(id, Text::Given(data), now, expires_at)
    }

    /// [`Write::put_session`] whose data names the consent an earlier write
    /// of the same job recorded: its id replaces the value at `at` (a JSON
    /// pointer into `data`).
    pub fn put_session_naming_consent(
        id: &str,
        data: serde_json::Value,
        at: &'static str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self::session(id, Text::naming_consent(data, at), now, expires_at)
    }

    /// [`Write::put_session`] whose data names the row an earlier write of
    /// the same job inserted (the latest that answers [`Written::Id`], such
    /// as a kept result): its id replaces the value at `at`.
    pub fn put_session_naming_row(
        id: &str,
        data: serde_json::Value,
        at: &'static str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let data = Text::Naming {
            json: data,
            at,
            named: Named::Row,
        };
        Self::session(id, data, now, expires_at)
    }

    fn session(id: &str, data: Text, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Self {
        Self(Kind::Session(sessions::SessionWrite::Put {
            id: id.to_owned(),
            data,
            created_at: micros(now),
            expires_at: micros(expires_at),
        }))
    }

    /// Ends a browser session (no error when there is none).
    pub fn delete_session(id: &str) -> Self {
        Self(Kind::Session(sessions::SessionWrite::Delete {
            id: id.to_owned(),
        }))
    }
}
