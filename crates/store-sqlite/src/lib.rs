//! The embedded storage engine: one SQLite database (`index.sqlite`) in the data directory,
//! implementing [`portcullis_store::Store`], and beside it a cache of derived data
//! (`cache.sqlite`, see `cache`) that answers can always do without.
//!
//! Why SQLite: one file, transactions with real durability (`journal_mode=WAL`,
//! `synchronous=FULL`: a COMMIT returns after the WAL is fsynced), readers that never wait
//! for the writer, and nothing to administer. Its one limit, a single writer, is turned into
//! an advantage by group commit (see `writer`): every write request goes to one thread that
//! runs whatever is queued in one transaction, so concurrent APPENDs share one fsync.
//!
//! ```text
//! Store method ──write──► writer thread (1 connection): batch ─► COMMIT ─► notify ─► reply
//!              ──read───► spawn_blocking on a pooled read-only connection (one snapshot)
//! ```
//!
//! # Schema
//!
//! | table | key | holds |
//! | --- | --- | --- |
//! | `meta` | key | store-wide values: `last_uid_validity`, `store_id` (random, names this database) |
//! | `accounts` | id; UNIQUE name | login name, password hash |
//! | `mailboxes` | id (AUTOINCREMENT); UNIQUE (account, name) | UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, recent floor, special use, selectable, how far the expunge log was pruned |
//! | `subscriptions` | (account, name) | subscribed names, existing or not |
//! | `contents` | id | size, postcard-encoded `MessageSummary`, reference count |
//! | `content_data` | content id | the raw bytes |
//! | `messages` | (mailbox, uid), WITHOUT ROWID; index (mailbox, modseq) | modseq, system flags (bits), keywords, internal date and zone, size, content id |
//! | `expunged` | (mailbox, uid), WITHOUT ROWID; indexes (mailbox, modseq), (expunged_at) | the MODSEQ and time of each expunge, for QRESYNC |
//! | `mailbox_keywords` | (mailbox, keyword NOCASE) | keywords ever used, for FLAGS |
//! | `content_text` | rowid = content id; FTS5, contentless, trigram, `detail=column` | the folded searchable text (headers, body) of each indexed content; `contents.search_complete` says 0 waiting, 1 indexed, 2 cut at the size limit |
//! | `mailbox_lists` | mailbox id (FK, cascade) | checkpoint of a big mailbox's message list at a MODSEQ (see `lists`) |
//! | `cache.wire_summaries` | content id; in `cache.sqlite` (see `cache`) | ENVELOPE and BODYSTRUCTURE in wire form, derived, may lag |
//! | `auth_throttle` | key (`ip:…`, `prefix:…/n`, `account:…`), WITHOUT ROWID | failed logins in the current window, ban end and count, expiry (brute-force defence) |
//!
//! - A message's content is stored once and shared by COPY, MOVE, RENAME INBOX (and later by
//!   every LMTP recipient). Two triggers on `messages` keep `contents.refcount` exact — for
//!   deletes through foreign-key cascades too — and delete a content (and by cascade its
//!   bytes) in the same transaction as its last message. `messages.content_id` has no
//!   foreign key on purpose: the triggers are the integrity mechanism, and an FK would need
//!   one more index on `messages` just to be checked on every content deletion.
//! - The raw bytes live in `content_data`, apart from `contents`, so reading the summaries of
//!   100,000 messages never walks the overflow pages of the big blobs. `messages.size`
//!   repeats the (immutable) content size so that STATUS SIZE and FETCH RFC822.SIZE need no
//!   join.
//! - `messages` is keyed (mailbox, uid) WITHOUT ROWID: a mailbox is one contiguous B-tree
//!   range, and a request's UIDs are read with a few range scans (see `uid_set`), never with a
//!   giant `IN (...)`.
//! - Mailbox ids are AUTOINCREMENT so they are never reused: a watch or a session holding the
//!   id of a deleted mailbox can never see another mailbox under it.
//!
//! # Choices
//!
//! - **UIDVALIDITY** comes from one store-wide counter, `max(last + 1, now in Unix seconds)`:
//!   every mailbox incarnation gets a value never given before in this store, and a store
//!   rebuilt from scratch starts from the clock, so it is unlikely to repeat a value a client
//!   cached from the old one.
//! - **MODSEQ**: each request takes at most one new MODSEQ per mailbox it changes
//!   (`highest_modseq + 1`), expunges included; reads and no-op STOREs take none.
//! - **DELETE with children** leaves the row as a `\Noselect` placeholder: its messages are
//!   expunged (logged with a new MODSEQ, so selected sessions see them go), its special use
//!   and keyword list cleared. **CREATE over a placeholder** deletes the placeholder row and
//!   inserts a new mailbox: new id, new UIDVALIDITY, UIDNEXT 1, MODSEQ 1. Because the id is
//!   new, no id's MODSEQ ever goes backwards; a session still holding the old id gets
//!   `MailboxGone`.
//! - **Deleting a mailbox** (or an account) wakes the mailbox's watchers with a MODSEQ one
//!   past the last, so that sessions that have it selected notice at once and find it gone.
//! - **RENAME INBOX** creates the target as a new mailbox and MOVEs every message into it
//!   (new UIDs from 1, new UIDVALIDITY; INBOX logs the expunges and keeps its UIDNEXT). RENAME
//!   does not change subscriptions (RFC 9051 6.3.9: the server must not remove them).
//! - **The expunge log** (`expunged`) answers QRESYNC's "what vanished since MODSEQ m". It is
//!   kept for a retention period (default `portcullis_store::DEFAULT_EXPUNGE_RETENTION`, 30
//!   days; the server prunes hourly) rather than forever: RFC 7162 section 5 warns that an
//!   unbounded log can grow to gigabytes per mailbox. `prune_expunged(logged_before)` takes,
//!   per mailbox, the highest MODSEQ among the entries logged before the cutoff, deletes every
//!   entry up to it (by MODSEQ, not time, so the log stays a suffix even if the clock stepped
//!   back) and raises `mailboxes.expunges_pruned_through` to it (0: never pruned). The log is
//!   complete for any MODSEQ at or above that value; below it the session answers VANISHED
//!   from the UIDs that still exist, which lists more than strictly needed but never less.
//!   Pruning takes no MODSEQ and wakes nobody. Chosen over "keep the last N per mailbox"
//!   because a time bound tells the administrator how long a client may stay away and still
//!   get an exact answer, whatever the mailbox's traffic.
//! - **`\Recent`**: `recent_floor` is the lowest UID no session has claimed; `claim_recent`
//!   hands `[recent_floor, uid_next)` to one caller and raises the floor.
//! - The data directory is created private (mode 0700 on Unix): it holds mail and password
//!   hashes.

mod accounts;
mod cache;
mod checkpointer;
mod error;
mod lists;
mod mailboxes;
mod messages;
mod peers;
mod readers;
mod rows;
mod schema;
mod throttle;
mod uid_set;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use portcullis_mime::MessageSummary;
use portcullis_store::{
    Account, AccountId, AccountName, AppendOutcome, ChangeNotifier, ChangeWatch, CopyOutcome,
    ExpungeLog, FlagOperation, FlagSet, FlagUpdate, MailboxChanges, MailboxId, MailboxInfo,
    MailboxName, MailboxSnapshot, MailboxStatus, MessageMeta, ModSeq, NewMessage, SpecialUse,
    Store, StoreError, StoreResult, TextScope, ThrottleKey, ThrottleRecord, Uid, WireSummary,
};
use rusqlite::Connection;

use crate::checkpointer::Checkpointer;
use crate::error::{DbResult, Failure};
use crate::messages::Transfer;
use crate::peers::{PeerListener, PeerSender};
use crate::readers::{BUSY_TIMEOUT, ReadPool, STATEMENT_CACHE};
use crate::uid_set::UidSet;
use crate::writer::Writer;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "index.sqlite";

/// Read-only connections kept open.
const READERS: usize = 4;

/// The SQLite store. Cheap to share behind an `Arc`; dropping it finishes the queued writes.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    /// Copies the WAL back into the database off the writer thread.
    _checkpointer: Checkpointer,
    readers: ReadPool,
    notifier: Arc<ChangeNotifier>,
    /// Set once this process listens for other processes' commits.
    listening: Arc<AtomicBool>,
    peer_listener: std::sync::Mutex<Option<PeerListener>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`: the directory, `dir/index.sqlite`, and
    /// the schema. Blocks while it migrates; call it before serving.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        create_private_dir(dir).map_err(|error| {
            StoreError::Backend(format!("cannot create {}: {error}", dir.display()))
        })?;
        let path = dir.join(DATABASE_FILE);
        let cache_path = dir.join(cache::FILE);
        let mut conn = open_writer(&path)?;
        schema::migrate(&mut conn)?;
        cache::open_for_writer(&conn, &cache_path)?;
        let readers = ReadPool::open(&path, &cache_path, READERS)?;
        let notifier = Arc::new(ChangeNotifier::new());
        let listening = Arc::new(AtomicBool::new(false));
        let peers = PeerSender::new(dir, Arc::clone(&listening));
        let writer = Writer::start(conn, Arc::clone(&notifier), peers).map_err(|error| {
            StoreError::Backend(format!("cannot start the sqlite writer: {error}"))
        })?;
        let checkpointer = Checkpointer::start(&path, &cache_path, writer.commits())?;
        Ok(SqliteStore {
            path,
            writer,
            _checkpointer: checkpointer,
            readers,
            notifier,
            listening,
            peer_listener: std::sync::Mutex::new(None),
        })
    }

    /// Makes this process the one that hears commits of other processes using the same
    /// directory (`portcullis deliver` while the server runs), so its sessions are woken
    /// at once. Call it in the serving process.
    pub fn listen_for_peers(&self) -> Result<(), StoreError> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let listener = PeerListener::bind(dir, Arc::clone(&self.notifier)).map_err(|error| {
            StoreError::Backend(format!(
                "cannot bind {}: {error}",
                dir.join(peers::SOCKET).display()
            ))
        })?;
        self.listening
            .store(true, std::sync::atomic::Ordering::Relaxed);
        *self
            .peer_listener
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(listener);
        Ok(())
    }

    /// Checkpoints the write-ahead logs in full and cuts them to nothing (see
    /// `checkpointer::truncate` for why). For the serving process as it starts: another
    /// process's open transaction (`portcullis deliver`) is not waited for; the WAL it
    /// holds is then left as it is.
    pub async fn truncate_logs(&self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let cache = path.with_file_name(cache::FILE);
        let cut = tokio::task::spawn_blocking(move || checkpointer::truncate(&path, &cache))
            .await
            .map_err(|error| StoreError::Backend(format!("WAL truncation failed: {error}")))??;
        if !cut {
            tracing::info!("another process is using the WAL; it was left as it is");
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Transactions committed since the store was opened (for tests and metrics: with group
    /// commit it grows slower than the number of write requests).
    pub fn commit_count(&self) -> u64 {
        self.writer.commit_count()
    }

    /// Indexes, batch by batch, the text of every content stored without it (see the
    /// schema's version 5); returns how many. Searches are exact before and after: what is
    /// not indexed is always a candidate.
    pub async fn index_pending(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            match self.index_batch().await? {
                (0, 0) => return Ok(total),
                (indexed, _) => total += indexed,
            }
        }
    }

    /// One batch of the indexer's work: contents whose text it indexed, and contents the
    /// fetch cache's fill walked (see `cache`).
    async fn index_batch(&self) -> StoreResult<(u64, u64)> {
        let (indexed, walked) = self
            .writer
            .write(|tx, _| {
                Ok((
                    messages::index_pending(tx)?,
                    cache::fill(tx, CACHE_FILL_BATCH)?,
                ))
            })
            .await?;
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok((count(indexed), count(walked)))
    }

    /// The background indexer of the serving process; runs until its task is aborted.
    ///
    /// Indexing holds the single writer, so it waits for a quiet moment: batches run once no
    /// transaction has committed for [`INDEX_QUIET`], back to back until another writer
    /// commits; and while [`INDEX_BACKLOG`] or more contents wait, without waiting (a
    /// sustained stream of mail is indexed as it comes, a burst right after it). Contents
    /// stored by other processes (`portcullis deliver`) are found by a look every
    /// [`INDEX_POLL`].
    pub async fn run_indexer(self: Arc<Self>) {
        let mut seen = None;
        let mut dirty = true;
        let mut since_look = Duration::ZERO;
        loop {
            tokio::time::sleep(INDEX_QUIET).await;
            since_look += INDEX_QUIET;
            let commits = self.commit_count();
            let quiet = seen == Some(commits);
            seen = Some(commits);
            dirty |= !quiet;
            if !dirty && since_look < INDEX_POLL {
                continue;
            }
            since_look = Duration::ZERO;
            let mut backlog = match self.readers.read(|tx| messages::pending_count(tx)).await {
                Ok(backlog) => backlog,
                Err(error) => {
                    tracing::warn!(%error, "cannot count the contents waiting for the text index");
                    tokio::time::sleep(INDEX_POLL).await;
                    continue;
                }
            };
            if !quiet && backlog < INDEX_BACKLOG {
                continue;
            }
            loop {
                let before = self.commit_count();
                let batch = self.index_batch().await;
                let after = self.commit_count();
                // The batch's own commit is no other writer's: an idle server must not take
                // it for one and index (an empty transaction) again at every tick.
                seen = Some(after);
                match batch {
                    Ok((0, 0)) => {
                        dirty = false;
                        break;
                    }
                    Ok((indexed, _)) => backlog = backlog.saturating_sub(indexed),
                    Err(error) => {
                        // Tried again after a pause, not at every tick.
                        tracing::warn!(%error, "cannot index message text");
                        tokio::time::sleep(INDEX_POLL).await;
                        break;
                    }
                }
                // One commit is the batch's own; more were other writers'.
                if after > before + 1 && backlog < INDEX_BACKLOG {
                    break;
                }
            }
        }
    }
}

/// Fetch cache rows the indexer computes per batch (about 10 µs each).
const CACHE_FILL_BATCH: usize = 1024;

/// How long the writer must have been idle before the indexer takes it.
pub const INDEX_QUIET: Duration = Duration::from_millis(100);
/// Contents waiting for the index beyond which the indexer no longer waits for quiet.
pub const INDEX_BACKLOG: u64 = 2_000;
/// How often the indexer looks for contents stored by other processes.
pub const INDEX_POLL: Duration = Duration::from_secs(30);

fn open_writer(path: &Path) -> DbResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Failure::Internal(format!(
            "the database refused WAL mode (got {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Checkpoints are the checkpointer's; this is its backstop (see `checkpointer`). A WAL
    // grown past the limit by a burst is cut back when it starts over.
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        checkpointer::WRITER_BACKSTOP_PAGES,
    )?;
    conn.pragma_update(None, "journal_size_limit", checkpointer::WAL_SIZE_LIMIT)?;
    Ok(conn)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(
        &self,
        name: &AccountName,
        password_hash: &str,
    ) -> StoreResult<AccountId> {
        let (name, password_hash) = (name.clone(), password_hash.to_owned());
        self.writer
            .write(move |tx, _| accounts::create(tx, &name, &password_hash))
            .await
    }

    async fn set_password(&self, name: &AccountName, password_hash: &str) -> StoreResult<()> {
        let (name, password_hash) = (name.clone(), password_hash.to_owned());
        self.writer
            .write(move |tx, _| accounts::set_password(tx, &name, &password_hash))
            .await
    }

    async fn delete_account(&self, name: &AccountName) -> StoreResult<()> {
        let name = name.clone();
        self.writer
            .write(move |tx, changes| accounts::delete(tx, changes, &name))
            .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.readers.read(|tx| accounts::list(tx)).await
    }

    async fn account(&self, name: &AccountName) -> StoreResult<Option<Account>> {
        let name = name.clone();
        self.readers.read(move |tx| accounts::find(tx, &name)).await
    }

    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>> {
        self.readers
            .read(move |tx| mailboxes::list(tx, account))
            .await
    }

    async fn mailbox(&self, account: AccountId, name: &MailboxName) -> StoreResult<MailboxInfo> {
        let name = name.clone();
        self.readers
            .read(move |tx| mailboxes::find(tx, account, &name))
            .await
    }

    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxInfo> {
        let name = name.clone();
        self.writer
            .write(move |tx, changes| mailboxes::create(tx, changes, account, &name, special_use))
            .await
    }

    async fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> StoreResult<()> {
        let name = name.clone();
        self.writer
            .write(move |tx, changes| mailboxes::delete(tx, changes, account, &name))
            .await
    }

    async fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        let (from, to) = (from.clone(), to.clone());
        self.writer
            .write(move |tx, changes| mailboxes::rename(tx, changes, account, &from, &to))
            .await
    }

    async fn set_subscribed(
        &self,
        account: AccountId,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()> {
        let name = name.clone();
        self.writer
            .write(move |tx, _| mailboxes::set_subscribed(tx, account, &name, subscribed))
            .await
    }

    async fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<MailboxName>> {
        self.readers
            .read(move |tx| mailboxes::subscriptions(tx, account))
            .await
    }

    async fn status(&self, mailbox: MailboxId) -> StoreResult<MailboxStatus> {
        self.readers
            .read(move |tx| mailboxes::status(tx, mailbox))
            .await
    }

    async fn snapshot(&self, mailbox: MailboxId) -> StoreResult<MailboxSnapshot> {
        let (snapshot, checkpoint) = self
            .readers
            .read(move |tx| messages::snapshot(tx, mailbox))
            .await?;
        if let Some(data) = checkpoint {
            // Nobody waits for it; with the writer's queue full it is simply skipped (the
            // next snapshot offers it again).
            let modseq = snapshot.highest_modseq;
            self.writer.submit(move |tx, _| {
                let saved = lists::save(tx, mailbox, modseq, &data);
                if let Err(error) = &saved {
                    tracing::warn!(?error, "cannot save a message list checkpoint");
                }
                saved
            });
        }
        Ok(snapshot)
    }

    async fn changes_since(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> StoreResult<MailboxChanges> {
        self.readers
            .read(move |tx| messages::changes_since(tx, mailbox, since))
            .await
    }

    async fn expunged_since(&self, mailbox: MailboxId, since: ModSeq) -> StoreResult<ExpungeLog> {
        self.readers
            .read(move |tx| messages::expunged_since(tx, mailbox, since))
            .await
    }

    async fn prune_expunged(&self, logged_before: SystemTime) -> StoreResult<u64> {
        // Before 1970 nothing was logged; past i64 seconds everything was.
        let cutoff = match logged_before.duration_since(UNIX_EPOCH) {
            Ok(since_epoch) => i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            Err(_) => return Ok(0),
        };
        self.writer
            .write(move |tx, _| messages::prune_expunged(tx, cutoff))
            .await
    }

    async fn append(
        &self,
        mailbox: MailboxId,
        messages: Vec<NewMessage>,
    ) -> StoreResult<AppendOutcome> {
        let messages = messages::Prepared::all(messages)?;
        self.writer
            .write(move |tx, changes| messages::append(tx, changes, mailbox, &messages))
            .await
    }

    async fn deliver(
        &self,
        message: NewMessage,
        targets: &[MailboxId],
    ) -> StoreResult<Vec<StoreResult<AppendOutcome>>> {
        let targets = targets.to_vec();
        let message = messages::Prepared::new(message)?;
        self.writer
            .write(move |tx, changes| messages::deliver(tx, changes, &message, &targets))
            .await
    }

    async fn text_candidates(
        &self,
        mailbox: MailboxId,
        scope: TextScope,
        needle: &str,
    ) -> StoreResult<Option<Vec<Uid>>> {
        let needle = needle.to_owned();
        self.readers
            .read(move |tx| messages::text_candidates(tx, mailbox, scope, &needle))
            .await
    }

    async fn messages(&self, mailbox: MailboxId, uids: &[Uid]) -> StoreResult<Vec<MessageMeta>> {
        let uids = UidSet::listed(uids);
        self.readers
            .read(move |tx| messages::metas(tx, mailbox, &uids))
            .await
    }

    async fn summaries(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, MessageSummary)>> {
        let uids = UidSet::listed(uids);
        self.readers
            .read(move |tx| messages::summaries(tx, mailbox, &uids))
            .await
    }

    async fn wire_summaries(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, WireSummary)>> {
        let uids = UidSet::listed(uids);
        self.readers
            .read(move |tx| messages::wire_summaries(tx, mailbox, &uids))
            .await
    }

    async fn raw_message(&self, mailbox: MailboxId, uid: Uid) -> StoreResult<Option<Bytes>> {
        self.readers
            .read_in_place(move |tx| messages::raw(tx, mailbox, uid))
            .await
    }

    async fn raw_prefixes(
        &self,
        mailbox: MailboxId,
        wanted: &[(Uid, u64)],
    ) -> StoreResult<Vec<(Uid, Bytes)>> {
        let wanted = wanted.to_vec();
        self.readers
            .read(move |tx| messages::raw_prefixes(tx, mailbox, &wanted))
            .await
    }

    async fn raw_messages(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, Bytes)>> {
        let uids = uids.to_vec();
        self.readers
            .read(move |tx| messages::raws(tx, mailbox, &uids))
            .await
    }

    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        operation: FlagOperation,
        flags: &FlagSet,
        unchanged_since: Option<ModSeq>,
    ) -> StoreResult<FlagUpdate> {
        let (uids, flags) = (UidSet::listed(uids), flags.clone());
        self.writer
            .write(move |tx, changes| {
                messages::store_flags(
                    tx,
                    changes,
                    mailbox,
                    &uids,
                    operation,
                    &flags,
                    unchanged_since,
                )
            })
            .await
    }

    async fn expunge(&self, mailbox: MailboxId, uids: Option<&[Uid]>) -> StoreResult<Vec<Uid>> {
        let uids = UidSet::from_option(uids);
        self.writer
            .write(move |tx, changes| messages::expunge(tx, changes, mailbox, &uids))
            .await
    }

    async fn copy(
        &self,
        source: MailboxId,
        uids: &[Uid],
        target: MailboxId,
    ) -> StoreResult<CopyOutcome> {
        self.transfer(source, uids, target, Transfer::Copy).await
    }

    async fn move_messages(
        &self,
        source: MailboxId,
        uids: &[Uid],
        target: MailboxId,
    ) -> StoreResult<CopyOutcome> {
        self.transfer(source, uids, target, Transfer::Move).await
    }

    async fn claim_recent(&self, mailbox: MailboxId) -> StoreResult<Option<(Uid, Uid)>> {
        // Usually nothing arrived since the last claim: a read says so without waiting for
        // the writer's queue and fsyncs (every IMAP4rev1 SELECT asks).
        let unclaimed = self
            .readers
            .read(move |tx| mailboxes::recent_unclaimed(tx, mailbox))
            .await?;
        if !unclaimed {
            return Ok(None);
        }
        self.writer
            .write(move |tx, _| mailboxes::claim_recent(tx, mailbox))
            .await
    }

    fn watch(&self, mailbox: MailboxId, current: ModSeq) -> ChangeWatch {
        self.notifier.watch(mailbox, current)
    }

    async fn throttle_records(&self) -> StoreResult<Vec<ThrottleRecord>> {
        self.readers.read(|tx| throttle::list(tx)).await
    }

    async fn save_throttle(
        &self,
        save: Vec<ThrottleRecord>,
        forget: Vec<ThrottleKey>,
    ) -> StoreResult<()> {
        self.writer
            .write(move |tx, _| throttle::save(tx, &save, &forget))
            .await
    }
}

impl SqliteStore {
    async fn transfer(
        &self,
        source: MailboxId,
        uids: &[Uid],
        target: MailboxId,
        how: Transfer,
    ) -> StoreResult<CopyOutcome> {
        let uids = UidSet::listed(uids);
        self.writer
            .write(move |tx, changes| messages::transfer(tx, changes, source, &uids, target, how))
            .await
    }
}
