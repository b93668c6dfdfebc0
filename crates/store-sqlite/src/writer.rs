//! The single writer and its group commit.
//!
//! ```text
//!  async callers ── Request{work, reply} ──► channel ──► writer thread (owns the write connection)
//!                                                         │ take the first request, drain up to
//!                                                         │ MAX_BATCH more that are already queued
//!                                                         │ BEGIN IMMEDIATE
//!                                                         │   SAVEPOINT; work; RELEASE (or ROLLBACK TO)
//!                                                         │   ... once per request
//!                                                         │ COMMIT  (one fsync for the whole batch)
//!                                                         │ notify watchers of raised MODSEQs
//!  async callers ◄──────────── reply ────────────────────┘ reply to every request
//! ```
//!
//! While one batch is being fsynced, new requests queue up and form the next batch, so the
//! number of fsyncs grows with the time spent syncing, not with the number of requests. Each
//! request runs inside its own savepoint: one that fails is rolled back alone and the others
//! of its batch still commit. If COMMIT fails, every request of the batch gets the error.
//!
//! The queue is bounded ([`QUEUE`]): when the disk cannot keep up, callers wait to enqueue
//! instead of piling up message bytes in memory.
//!
//! Cancelling a caller's future does not cancel its request: once sent, it runs and commits;
//! only the reply is lost.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use portcullis_store::{ChangeNotifier, MailboxId, ModSeq, StoreError, StoreResult};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::error::DbResult;
use crate::peers::PeerSender;

/// The most requests one transaction carries.
const MAX_BATCH: usize = 256;

/// The most requests waiting for the writer.
pub(crate) const QUEUE: usize = 1024;

/// The mailboxes whose HIGHESTMODSEQ one request raised, with the new value. A request takes
/// at most one MODSEQ per mailbox: the first change allocates it, later changes reuse it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    raised: HashMap<MailboxId, ModSeq>,
}

impl Changes {
    /// The MODSEQ this request already took for `mailbox`.
    pub(crate) fn taken(&self, mailbox: MailboxId) -> Option<ModSeq> {
        self.raised.get(&mailbox).copied()
    }

    /// Records that `mailbox` is now at `modseq`.
    pub(crate) fn raise(&mut self, mailbox: MailboxId, modseq: ModSeq) {
        let entry = self.raised.entry(mailbox).or_insert(modseq);
        *entry = (*entry).max(modseq);
    }

    fn absorb(&mut self, other: Changes) {
        for (mailbox, modseq) in other.raised {
            self.raise(mailbox, modseq);
        }
    }
}

/// A request as the writer thread sees it: work to run in a transaction, and a reply to send
/// once the transaction's fate is known.
trait Job: Send {
    /// Runs the work; `Some` with its changes when it succeeded.
    fn run(&mut self, tx: &Transaction<'_>) -> Option<Changes>;
    /// Replies, given the outcome of COMMIT.
    fn finish(self: Box<Self>, commit: &Result<(), String>);
}

struct Request<T, F> {
    work: Option<F>,
    outcome: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Request<T, F> {
    /// A request for `work`, and where its result will come.
    fn new(work: F) -> (Box<Request<T, F>>, oneshot::Receiver<StoreResult<T>>) {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            work: Some(work),
            outcome: None,
            reply,
        };
        (Box::new(request), answer)
    }
}

impl<T, F> Job for Request<T, F>
where
    T: Send,
    F: FnOnce(&Transaction<'_>, &mut Changes) -> DbResult<T> + Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> Option<Changes> {
        let work = self.work.take()?;
        let mut changes = Changes::default();
        let result =
            catch_unwind(AssertUnwindSafe(|| work(tx, &mut changes))).unwrap_or_else(|_| {
                Err(StoreError::Backend("a store request panicked".to_owned()).into())
            });
        match result {
            Ok(value) => {
                self.outcome = Some(Ok(value));
                Some(changes)
            }
            Err(failure) => {
                self.outcome = Some(Err(failure.into()));
                None
            }
        }
    }

    fn finish(self: Box<Self>, commit: &Result<(), String>) {
        let outcome = match (self.outcome, commit) {
            (Some(Err(refused)), _) => Err(refused),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(text)) => Err(StoreError::Backend(text.clone())),
            (None, Ok(())) => Err(StoreError::Backend("store request was not run".to_owned())),
        };
        // A closed receiver means the caller stopped waiting; the change stands regardless.
        let _ = self.reply.send(outcome);
    }
}

/// The handle to the writer thread. Dropping it lets the thread finish the queued requests
/// and waits for it.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn start(
        conn: Connection,
        notifier: Arc<ChangeNotifier>,
        peers: PeerSender,
    ) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&commits);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || run(conn, receiver, &notifier, &peers, &counter))?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Some(thread),
            commits,
        })
    }

    /// Runs `work` in the next batch and returns its result once the batch is durable.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Changes) -> DbResult<T> + Send + 'static,
    {
        let (request, answer) = Request::new(work);
        let sender = self.lock_sender().clone();
        let sent = match sender {
            Some(sender) => sender.send(request).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(StoreError::Backend(
                "the sqlite writer has stopped".to_owned(),
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Backend(
                "the sqlite writer dropped a request".to_owned(),
            ))
        })
    }

    /// Queues `work` for a coming batch without waiting for it (for work nobody waits on);
    /// false, and nothing done, when the queue is full or the writer has stopped.
    pub(crate) fn submit<F>(&self, work: F) -> bool
    where
        F: FnOnce(&Transaction<'_>, &mut Changes) -> DbResult<()> + Send + 'static,
    {
        let (request, _) = Request::new(work);
        self.lock_sender()
            .as_ref()
            .is_some_and(|sender| sender.try_send(request).is_ok())
    }

    /// Transactions committed so far.
    pub(crate) fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The counter behind [`Writer::commit_count`], for threads that follow the commits.
    pub(crate) fn commits(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.commits)
    }

    fn lock_sender(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<Box<dyn Job>>>> {
        // Poisoning cannot leave an `Option<Sender>` inconsistent.
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.lock_sender().take();
        if let Some(thread) = self.thread.take() {
            // The thread ends once the queue is empty; a panic there has been reported already.
            let _ = thread.join();
        }
    }
}

/// The writer thread's loop: one batch per iteration until every sender is gone.
fn run(
    mut conn: Connection,
    mut receiver: mpsc::Receiver<Box<dyn Job>>,
    notifier: &ChangeNotifier,
    peers: &PeerSender,
    commits: &AtomicU64,
) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = match run_batch(&mut conn, &mut batch) {
            Ok(changes) => {
                commits.fetch_add(1, Ordering::Relaxed);
                let raised: Vec<(MailboxId, ModSeq)> = changes.raised.into_iter().collect();
                for (mailbox, modseq) in &raised {
                    notifier.notify(*mailbox, *modseq);
                }
                peers.send(&raised);
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, requests = batch.len(), "sqlite batch failed to commit");
                Err(format!("sqlite commit failed: {error}"))
            }
        };
        for job in batch {
            job.finish(&commit);
        }
    }
}

/// Runs every job of the batch in one transaction, each in its own savepoint, and commits.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<Changes> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut changes = Changes::default();
    for job in batch.iter_mut() {
        tx.execute_batch("SAVEPOINT request")?;
        match job.run(&tx) {
            Some(job_changes) => {
                tx.execute_batch("RELEASE request")?;
                changes.absorb(job_changes);
            }
            None => tx.execute_batch("ROLLBACK TO request; RELEASE request")?,
        }
    }
    tx.commit()?;
    Ok(changes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        Writer::start(
            conn,
            Arc::new(ChangeNotifier::new()),
            PeerSender::new(std::path::Path::new("/nonexistent"), Arc::default()),
        )
        .unwrap()
    }

    fn insert(
        v: i64,
    ) -> impl FnOnce(&Transaction<'_>, &mut Changes) -> DbResult<i64> + Send + 'static {
        move |tx, _| {
            Ok(tx
                .execute("INSERT INTO t (v) VALUES (?1)", [v])
                .map(|_| v)?)
        }
    }

    #[tokio::test]
    async fn a_failing_request_rolls_back_alone() {
        let writer = writer();
        writer.write(insert(1)).await.unwrap();
        // Inserts 2, then fails on the duplicate 1: the 2 must go too.
        let failing = writer.write(|tx, _| {
            tx.execute("INSERT INTO t (v) VALUES (2)", [])?;
            tx.execute("INSERT INTO t (v) VALUES (1)", [])?;
            Ok(())
        });
        let (failed, three) = tokio::join!(failing, writer.write(insert(3)));
        assert!(matches!(failed, Err(StoreError::Backend(_))));
        assert_eq!(three.unwrap(), 3);
        let rows = writer
            .write(|tx, _| {
                let mut stmt = tx.prepare("SELECT v FROM t ORDER BY v")?;
                let values = stmt
                    .query_map([], |row| row.get::<_, i64>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(values)
            })
            .await
            .unwrap();
        assert_eq!(rows, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_panicking_request_fails_alone() {
        let writer = writer();
        let panicking = writer.write(|tx, _| -> DbResult<()> {
            tx.execute("INSERT INTO t (v) VALUES (9)", [])?;
            panic!("bug in a request");
        });
        assert!(matches!(panicking.await, Err(StoreError::Backend(_))));
        assert_eq!(writer.write(insert(9)).await.unwrap(), 9);
    }
}
