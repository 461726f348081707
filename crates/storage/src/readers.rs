//! Read connections for the hot path on SQLite.
//!
//! sqlx's pool pings a connection when it is handed out and again, from a
//! spawned task, when it comes back; on SQLite each ping is a round trip to
//! the connection's worker thread, so a one-statement read costs three. These
//! connections are only ever read from, are local files, and go straight back
//! to the idle list when a read is done. PostgreSQL keeps the sqlx pool, whose
//! checks find connections the server has closed.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use sqlx::any::AnyConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{Backend, Result, StorageError, configure};

pub(crate) struct Readers {
    idle: Mutex<Vec<AnyConnection>>,
    permits: Semaphore,
    options: AnyConnectOptions,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("permits", &self.permits.available_permits())
            .finish()
    }
}

impl Readers {
    pub(crate) fn new(options: AnyConnectOptions, size: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size.max(1)),
            options,
        }
    }

    async fn acquire(&self) -> Result<Reader<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StorageError::Query(sqlx::Error::PoolClosed))?;
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => {
                let mut c = AnyConnection::connect_with(&self.options).await?;
                configure(&mut c, Backend::Sqlite).await?;
                c
            }
        };
        Ok(Reader {
            conn: Some(conn),
            readers: self,
            _permit: permit,
        })
    }

    pub(crate) async fn close(&self) {
        self.permits.close();
        let conns: Vec<AnyConnection> = match self.idle.lock() {
            Ok(mut v) => v.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for c in conns {
            let _ = c.close().await;
        }
    }
}

pub(crate) struct Reader<'a> {
    conn: Option<AnyConnection>,
    readers: &'a Readers,
    _permit: SemaphorePermit<'a>,
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut idle)) = (self.conn.take(), self.readers.idle.lock()) {
            idle.push(c);
        }
    }
}

/// A connection to read with: one of [`Readers`] on SQLite, the pool's on
/// PostgreSQL.
pub(crate) enum ReadConn<'a> {
    Own(Reader<'a>),
    Pool(PoolConnection<Any>),
}

impl ReadConn<'_> {
    pub(crate) async fn acquire<'a>(
        readers: Option<&'a Readers>,
        pool: &AnyPool,
    ) -> Result<ReadConn<'a>> {
        Ok(match readers {
            Some(r) => ReadConn::Own(r.acquire().await?),
            None => ReadConn::Pool(pool.acquire().await?),
        })
    }
}

// `conn` is `Some` from `acquire` until `drop`, which alone takes it.
impl Deref for ReadConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConn::Own(r) => r.conn.as_ref().unwrap_or_else(|| unreachable!()),
            ReadConn::Pool(p) => p,
        }
    }
}

impl DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConn::Own(r) => r.conn.as_mut().unwrap_or_else(|| unreachable!()),
            ReadConn::Pool(p) => p,
        }
    }
}
