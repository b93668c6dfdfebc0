//! The read side: a small pool of read-only connections used from blocking threads. In WAL
//! mode readers never wait for the writer; each read runs in one transaction and so sees
//! one consistent snapshot, however many statements it takes.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, Transaction};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

use crate::error::DbResult;

/// Prepared statements kept per connection: more than the engine has distinct queries.
pub(crate) const STATEMENT_CACHE: usize = 64;

/// How long a connection waits on a lock (another process checkpointing, say) before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a read runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    BlockingThread,
    InPlace,
}

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

    /// Runs `work` in one read transaction on a blocking thread; the worker thread that asks
    /// goes on with other connections meanwhile.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        self.run(work, Place::BlockingThread).await
    }

    /// Like [`ReadPool::read`], but on the asking worker thread itself (`block_in_place`:
    /// the worker's other tasks move to another thread meanwhile, so a read from disk holds
    /// up no other connection). For a point read a client waits on — one message's bytes —
    /// where the hop to a blocking thread and back, two thread wake-ups, is most of the
    /// time of a read from the page cache (docs/benchmarks.md, "Random bodies"). Not for
    /// every read: on a busy runtime, handing the worker's scheduler to another thread
    /// costs more than the hop (`login-rate 8`: about 1,210 → 1,010 logins/s with every
    /// read in place).
    pub(crate) async fn read_in_place<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        self.run(work, Place::InPlace).await
    }

    /// Runs `work` where `place` says (on a current-thread runtime, always on a blocking
    /// thread: `block_in_place` needs a multi-threaded one). A panic in `work` becomes a
    /// backend error, not a lost connection task.
    async fn run<T, F>(&self, work: F, place: Place) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("the sqlite read pool is closed".to_owned()))?;
        let inner = Arc::clone(&self.inner);
        let run = move || {
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                inner.with_connection(|conn| {
                    let tx = conn.transaction()?;
                    work(&tx)
                })
            }));
            drop(permit);
            result
        };
        let panicked = |_| "it panicked".to_owned();
        let in_place = place == Place::InPlace
            && Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread;
        let outcome = if in_place {
            tokio::task::block_in_place(run).map_err(panicked)
        } else {
            match tokio::task::spawn_blocking(run).await {
                Ok(result) => result.map_err(panicked),
                Err(error) => Err(error.to_string()),
            }
        };
        match outcome {
            Ok(result) => result.map_err(StoreError::from),
            Err(why) => Err(StoreError::Backend(format!(
                "sqlite read task failed: {why}"
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A database and fetch cache with one row, and a pool of one reader on them.
    fn pool(dir: &Path) -> ReadPool {
        let (path, cache) = (dir.join("index.sqlite"), dir.join("cache.sqlite"));
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7);")
            .unwrap();
        Connection::open(&cache).unwrap();
        ReadPool::open(&path, &cache, 1).unwrap()
    }

    /// Reads in `place`, checking on which thread `work` ran; then a read that panics.
    async fn reads_and_survives_a_panic(
        pool: &ReadPool,
        place: Place,
        on_the_calling_thread: bool,
    ) {
        let caller = std::thread::current().id();
        let ran_on = pool
            .run(|_| Ok(std::thread::current().id()), place)
            .await
            .unwrap();
        assert_eq!(ran_on == caller, on_the_calling_thread);
        let read = || {
            pool.run(
                |tx| Ok(tx.query_row("SELECT v FROM t", [], |row| row.get(0))?),
                place,
            )
        };
        assert_eq!(read().await.ok(), Some(7_i64));
        let panicked = pool
            .run(|_| -> DbResult<()> { panic!("a bug in a read") }, place)
            .await;
        assert!(
            matches!(&panicked, Err(StoreError::Backend(text)) if text.contains("panicked")),
            "{panicked:?}"
        );
        // The connection the panic took is replaced; the permit came back.
        assert_eq!(read().await.ok(), Some(7_i64));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_worker_thread_a_read_runs_where_asked() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path());
        reads_and_survives_a_panic(&pool, Place::InPlace, true).await;
        reads_and_survives_a_panic(&pool, Place::BlockingThread, false).await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn on_a_current_thread_runtime_every_read_runs_on_a_blocking_thread() {
        let dir = tempfile::tempdir().unwrap();
        reads_and_survives_a_panic(&pool(dir.path()), Place::InPlace, false).await;
    }
}
