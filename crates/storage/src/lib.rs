//! zaitaku's storage: one [`Store`] over SQLite (the embedded default) or
//! PostgreSQL, with the same SQL text for both.
//!
//! Choices that hold everywhere in this crate:
//! - Placeholders are `$1, $2, …`, which SQLite and PostgreSQL both accept.
//! - Dates are `TEXT` `YYYY-MM-DD`; instants are `BIGINT` microseconds UTC;
//!   flags are integers 0/1; keys and certificates are blobs. The `Any`
//!   driver carries integers, text and blobs but no date types, and ISO
//!   dates sort and compare correctly as text.
//! - SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk before
//!   it returns, so a consent the patient is shown as registered survives a power
//!   cut, not only a crash of the process. (`NORMAL` would be faster but may drop
//!   the last commits on power loss.) The bulk seeder relaxes this for its own
//!   connection only, because a seed can always be regenerated.
//! - Every write but loading persons and migrations goes through one
//!   group-commit writer with its own connection (see `writer`): many callers
//!   share one commit, each answered only after it, and SQLite's write lock
//!   has one owner. Each repository file defines its own write steps. Reads
//!   use the pool (docs/design/storage.md, "Which path a read or a write
//!   takes").
//! - On SQLite the writer and the reads of the registration path go through
//!   rusqlite on the calling thread instead of sqlx's thread per connection
//!   (see `lite`); the SQL text and the row mapping are the same for both
//!   drivers (`sql::Columns`, `sql::Arg`).

mod accounts;
mod app_checks;
mod app_devices;
mod app_passkeys;
mod audit;
mod audit_view;
mod auth;
mod cards;
mod consents;
mod devices;
mod eligibility;
mod error;
mod institutions;
mod insurance_registrations;
mod lite;
mod medical;
mod notices;
mod oqs_jobs;
mod oqs_links;
mod patients;
mod sessions;
mod sql;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

pub use accounts::{NewAccount, StoredAccount};
pub use app_checks::{AppCheckLine, AppCheckPage, AppCheckScope, NewAppCheck, StoredAppCheck};
pub use app_devices::{AppDevice, AppSessionParts, NewActivationCode, StoredActivationCode};
pub use audit::{AuditEvent, AuditRecord};
pub use audit_view::AuditQuery;
pub use auth::{AuthRequest, NonceRejection};
pub use cards::{CardHolder, NewCard, StoredAuthority, StoredCard};
pub use consents::NewConsent;
pub use devices::{DeviceKind, DeviceSighting, StoredDevice};
pub use eligibility::{FoundByCard, PersonRecords};
pub use error::StorageError;
pub use institutions::{StoredInstitution, new_url_token};
pub use insurance_registrations::NewInsuranceRegistration;
pub use notices::{NewNotice, StoredNotice};
pub use oqs_jobs::{NewOqsJob, OqsJob, OqsJobState};
pub use oqs_links::{NewOqsLink, OqsLinkKey, StoredOqsLink};
pub use patients::{ConsentedPatient, PatientFilter, PatientNotes};
pub use writer::{Refusal, Refused, Write, Written};

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StorageError::UnsupportedUrl(redact(url)))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The handle every other part of the system uses. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    writer: writer::Writer,
    /// SQLite only (see `lite`); PostgreSQL reads from `pool`.
    lite: Option<std::sync::Arc<lite::Readers>>,
    institutions: institutions::TokenCache,
}

/// Options for [`Store::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url, &ConnectOptions::default()).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let shown = redact(url);
        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url),
            Backend::Postgres => url.to_owned(),
        };
        let connect_options =
            AnyConnectOptions::from_str(&url).map_err(|e| StorageError::Connect {
                url: shown.clone(),
                source: e,
            })?;
        // One direct connection first: a wrong path, a file that is not a
        // database or a refused login fails here at once with its own cause,
        // instead of the pool retrying until its acquire timeout.
        let mut probe = AnyConnection::connect_with(&connect_options)
            .await
            .map_err(|e| StorageError::Connect {
                url: shown.clone(),
                source: e,
            })?;
        configure(&mut probe, backend)
            .await
            .map_err(|e| StorageError::Connect {
                url: shown.clone(),
                source: e,
            })?;
        let _ = probe.close().await;
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            // A local SQLite file does not drop connections; the check would
            // cost a round trip to the connection's thread on every acquire.
            .test_before_acquire(backend == Backend::Postgres)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _meta| Box::pin(configure(conn, backend)))
            .connect_with(connect_options.clone())
            .await
            .map_err(|e| StorageError::Connect {
                url: shown.clone(),
                source: e,
            })?;
        let (lite, target) = match backend {
            Backend::Sqlite => {
                let path = lite::path_of(&url)?;
                (
                    Some(std::sync::Arc::new(lite::Readers::new(path.clone()))),
                    writer::Target::Sqlite(path),
                )
            }
            Backend::Postgres => (None, writer::Target::Postgres(connect_options)),
        };
        Ok(Self {
            pool,
            backend,
            lite,
            writer: writer::Writer::start(target)?,
            institutions: institutions::TokenCache::default(),
        })
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.migrate_sqlite().await,
            Backend::Postgres => POSTGRES_MIGRATIONS
                .run(&self.pool)
                .await
                .map_err(StorageError::Migrate),
        }
    }

    /// SQLite changes a table's key only by rebuilding the table, and a table
    /// other tables reference (persons, 0007) can be dropped and replaced
    /// only with foreign-key enforcement off, which cannot be switched inside
    /// the transaction sqlx runs each migration in. So the migrations run on
    /// a connection of its own with enforcement off, and when any ran, every
    /// foreign key is checked before the store opens.
    async fn migrate_sqlite(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?.detach();
        let outcome = async {
            conn.execute("PRAGMA foreign_keys = OFF").await?;
            let before = applied_migrations(&mut conn).await?;
            SQLITE_MIGRATIONS
                .run(&mut conn)
                .await
                .map_err(StorageError::Migrate)?;
            if applied_migrations(&mut conn).await? == before {
                return Ok(());
            }
            let dangling = sqlx::query("PRAGMA foreign_key_check")
                .fetch_optional(&mut conn)
                .await?;
            match dangling {
                None => Ok(()),
                Some(row) => Err(StorageError::DanglingForeignKey {
                    table: sqlx::Row::try_get(&row, 0)?,
                    parent: sqlx::Row::try_get(&row, 2)?,
                }),
            }
        }
        .await;
        // Never back into the pool: its connections enforce foreign keys.
        let _ = conn.close().await;
        outcome
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For the health endpoint: the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Finishes the writes already sent, then closes every connection.
    pub async fn close(&self) {
        self.writer.close().await;
        if let Some(r) = &self.lite {
            r.close();
        }
        self.pool.close().await;
    }

    /// A read of the registration path: on SQLite inline through rusqlite
    /// (see `lite`), on PostgreSQL through the pool. Every row is mapped.
    pub(crate) async fn fetch<T>(
        &self,
        sql: &str,
        args: &[sql::Arg<'_>],
        map: impl Fn(&dyn sql::Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        if let Some(lite) = &self.lite {
            return lite.with(|c| lite::query(c, sql, args, &map));
        }
        let q = args.iter().fold(sqlx::query(sql), |q, a| a.bind(q));
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(|r| map(r)).collect()
    }

    /// Several reads that see one state of the database: on SQLite one read
    /// transaction (a new transaction after a commit starts with an empty page
    /// cache, so fewer of them is also faster); on PostgreSQL reads from the
    /// pool.
    pub(crate) fn snapshot(&self) -> Result<Snapshot<'_>> {
        let conn = match &self.lite {
            Some(lite) => {
                let c = lite.take()?;
                // Prepared once per connection rather than parsed at every
                // snapshot, which the request workers take several times
                // per registration.
                c.prepare_cached("BEGIN")?.execute([])?;
                Some(c)
            }
            None => None,
        };
        Ok(Snapshot { store: self, conn })
    }

    /// [`Store::fetch`] for at most one row.
    pub(crate) async fn fetch_optional<T>(
        &self,
        sql: &str,
        args: &[sql::Arg<'_>],
        map: impl Fn(&dyn sql::Columns) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.fetch(sql, args, map).await?.into_iter().next())
    }

    /// Performs `writes` as one job of the group-commit writer: all of them or
    /// none (a savepoint of their own), durable when this returns. A refusal
    /// (a spent nonce, a used code) means nothing of the job was written; other
    /// jobs of the same batch are not affected.
    pub async fn write(&self, writes: Vec<Write>) -> Result<Result<Vec<Written>, Refused>> {
        self.writer.submit(writes).await
    }

    /// Several jobs committed in the same batch, each in its own savepoint:
    /// one refused or failing job does not affect the others. Answers in the
    /// order of `jobs`.
    pub async fn write_together(
        &self,
        jobs: Vec<Vec<Write>>,
    ) -> Result<Vec<Result<Result<Vec<Written>, Refused>>>> {
        self.writer.submit_together(jobs).await
    }

    /// One write as a job of its own: what it produced, or why it refused.
    pub(crate) async fn write_one(&self, w: Write) -> Result<Result<Written, Refusal>> {
        Ok(match self.writer.submit(vec![w]).await? {
            Ok(mut out) => out
                .pop()
                .ok_or_else(|| StorageError::Writer("no result".into()))
                .map(Ok)?,
            Err(r) => Err(r.refusal),
        })
    }

    /// A repository's write as a job of its own, for a write that never
    /// refuses.
    pub(crate) async fn write_step(&self, step: impl writer::Step + 'static) -> Result<Written> {
        self.write_one(Write::step(step))
            .await?
            .map_err(|r| StorageError::Writer(format!("{r:?}")))
    }

    /// A conditional write as a job of its own: whether it wrote (`false`
    /// when it refused with [`Refusal::NoChange`]).
    pub(crate) async fn write_conditional(
        &self,
        step: impl writer::Step + 'static,
    ) -> Result<bool> {
        match self.write_one(Write::step(step)).await? {
            Ok(_) => Ok(true),
            Err(Refusal::NoChange) => Ok(false),
            Err(other) => Err(StorageError::Writer(format!("{other:?}"))),
        }
    }
}

/// See [`Store::snapshot`].
pub(crate) struct Snapshot<'a> {
    store: &'a Store,
    /// SQLite: a read connection inside `BEGIN`.
    conn: Option<rusqlite::Connection>,
}

impl Snapshot<'_> {
    /// `&mut self`: the connection is `Send` but not `Sync`.
    pub(crate) async fn fetch<T>(
        &mut self,
        sql: &str,
        args: &[sql::Arg<'_>],
        map: impl Fn(&dyn sql::Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        match &self.conn {
            Some(c) => lite::query(c, sql, args, &map),
            None => self.store.fetch(sql, args, map).await,
        }
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // A connection whose transaction cannot end is not reused.
        if let (Some(c), Some(lite)) = (self.conn.take(), &self.store.lite)
            && c.prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]))
                .is_ok()
        {
            lite.give_back(c);
        }
    }
}

/// Per-connection settings (see the crate docs for why `synchronous = FULL`).
pub(crate) async fn configure(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        conn.execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
        )
        .await?;
    }
    Ok(())
}

/// Migrations recorded in the database; 0 before the first.
async fn applied_migrations(conn: &mut AnyConnection) -> Result<i64> {
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if tables == 0 {
        return Ok(0);
    }
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?)
}

/// `sqlite:path` → `sqlite:path?mode=rwc` so a fresh machine gets a new file.
fn sqlite_url_with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Hides a password in a database URL before it reaches a message or a log.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(Backend::from_url("sqlite:x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("mysql://h/db").unwrap_err().code(),
            "Z-S-0001"
        );
        assert_eq!(
            redact("postgres://me:secret@host:5432/db"),
            "postgres://me:***@host:5432/db"
        );
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
        assert_eq!(
            sqlite_url_with_create("sqlite:x.db"),
            "sqlite:x.db?mode=rwc"
        );
        assert_eq!(sqlite_url_with_create("sqlite::memory:"), "sqlite::memory:");
    }
}

#[cfg(test)]
mod migration_names {
    use std::collections::BTreeMap;
    use std::path::Path;

    fn migrations(dir: &str) -> BTreeMap<String, String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .map(|name| (name[..4].to_owned(), name))
            .collect()
    }

    /// Before 0009 SQLite had storage-only changes of its own (0005–0008);
    /// from 0009 on, the same change has the same number and name on both.
    #[test]
    fn the_same_change_has_the_same_number_and_name_on_both_databases() {
        let sqlite = migrations("sqlite");
        let postgres = migrations("postgres");
        for (number, name) in &postgres {
            assert_eq!(sqlite.get(number), Some(name), "postgres {name}");
        }
        let sqlite_only: Vec<_> = sqlite
            .iter()
            .filter(|(n, _)| !postgres.contains_key(*n))
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(sqlite_only, ["0005", "0006", "0007", "0008"]);
    }
}
