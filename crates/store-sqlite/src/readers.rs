//! The read side: a small pool of read-only connections used from blocking threads. In WAL
//! mode readers never wait for the writer; each read runs in one transaction and so sees
//! one consistent snapshot, however many statements it takes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, Transaction};
use tokio::sync::Semaphore;

use crate::error::DbResult;

/// Prepared statements kept per connection: more than the engine has distinct queries.
pub(crate) const STATEMENT_CACHE: usize = 64;

/// How long a connection waits on a lock (another process checkpointing, say) before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only connections, at most `size` in use at once.
#[derive(Debug, Clone)]
pub(crate) struct ReadPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    /// The fetch cache, attached to each connection.
    cache: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    /// Opens `size` read-only connections to the database at `path`.
    pub(crate) fn open(path: &Path, cache: &Path, size: usize) -> DbResult<ReadPool> {
        let idle = (0..size)
            .map(|_| connect(path, cache))
            .collect::<DbResult<Vec<_>>>()?;
        Ok(ReadPool {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                cache: cache.to_owned(),
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(size)),
            }),
        })
    }

    /// Runs `work` in one read transaction on a blocking thread.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("the sqlite read pool is closed".to_owned()))?;
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let result = inner.with_connection(|conn| {
                let tx = conn.transaction()?;
                work(&tx)
            });
            drop(permit);
            result
        });
        match task.await {
            Ok(result) => result.map_err(StoreError::from),
            Err(error) => Err(StoreError::Backend(format!(
                "sqlite read task failed: {error}"
            ))),
        }
    }
}

impl Inner {
    /// Lends an idle connection to `work` (opening one if a panic lost it) and takes it back.
    fn with_connection<T>(&self, work: impl FnOnce(&mut Connection) -> DbResult<T>) -> DbResult<T> {
        let idle = self.lock().pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => connect(&self.path, &self.cache)?,
        };
        let result = work(&mut conn);
        self.lock().push(conn);
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Poisoning cannot leave a list of idle connections inconsistent.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn connect(path: &Path, cache: &Path) -> DbResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    crate::cache::attach(&conn, cache)?;
    Ok(conn)
}
