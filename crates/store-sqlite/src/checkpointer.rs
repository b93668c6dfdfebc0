//! WAL checkpoints off the writer thread.
//!
//! In WAL mode a commit appends pages to `index.sqlite-wal`; a checkpoint copies them back
//! into the database file and fsyncs it. Left to SQLite, the connection whose commit
//! crosses the threshold (1,000 pages) checkpoints at once, in the commit: that is the
//! writer, so every few hundred APPENDs one group commit also waited for a checkpoint
//! (profiled: APPEND p99 11–20 ms, 5–6.5 ms once checkpoints moved here). This thread, on a
//! connection of its own, runs a PASSIVE checkpoint (it never blocks the writer or readers;
//! what it cannot copy yet waits for the next one) shortly after commits. The writer keeps a
//! far higher threshold of its own ([`WRITER_BACKSTOP_PAGES`]) only as a backstop: the WAL
//! cannot grow without bound if this thread falls behind.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::DbResult;

/// WAL pages after which the writer checkpoints itself (64 MiB of 4 KiB pages).
pub(crate) const WRITER_BACKSTOP_PAGES: i64 = 16_384;

/// Bytes a WAL file is cut back to when it starts over (`journal_size_limit`).
pub(crate) const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// How often the thread looks for new commits.
const INTERVAL: Duration = Duration::from_millis(200);

/// The checkpoint thread; stops when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (and the fetch cache at `cache`) after
    /// `commits` grows.
    pub(crate) fn start(
        path: &Path,
        cache: &Path,
        commits: Arc<AtomicU64>,
    ) -> DbResult<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(crate::readers::BUSY_TIMEOUT)?;
        crate::cache::attach(&conn, cache)?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(&conn, &stopped, &commits))
            .map_err(|error| {
                crate::error::Failure::Internal(format!("cannot start the checkpointer: {error}"))
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checkpoints the database at `path` and the fetch cache at `cache` in full and cuts both
/// WAL files to nothing, on a connection of its own; `false` when another connection held
/// part of a WAL (nothing is waited for: that WAL then stays as it was, only slower to
/// write over).
///
/// Why: after a checkpoint SQLite writes the WAL again from its start, over the bytes of
/// the pass before. A WAL left by the last run that is no longer in memory is read back
/// when the store opens (recovery) and then overwritten frame by frame (4 KiB and a 24-byte
/// header: not aligned to pages), which cost the writer about 1.7 times the CPU per APPEND
/// until the file had been rewritten (profiled: ext4's `block_write_begin` and
/// `block_commit_write`; `append 8 200` after a restart with the page cache dropped:
/// 56–66 ticks of writer CPU per run with the WAL kept, 34–50 with it cut). A WAL that
/// starts empty is written as it grows.
pub(crate) fn truncate(path: &Path, cache: &Path) -> DbResult<bool> {
    let conn = Connection::open(path)?;
    crate::cache::attach(&conn, cache)?;
    let mut cut = true;
    for schema in ["main", "cache"] {
        let busy: i64 = conn.query_row(
            &format!("PRAGMA {schema}.wal_checkpoint(TRUNCATE)"),
            [],
            |row| row.get(0),
        )?;
        cut &= busy == 0;
    }
    Ok(cut)
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>, commits: &AtomicU64) {
    let mut done = commits.load(Ordering::Relaxed);
    loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = commits.load(Ordering::Relaxed);
        if now == done {
            continue;
        }
        done = now;
        // Every attached database: the index and the fetch cache.
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "WAL checkpoint failed; the writer's backstop remains");
        }
    }
}
