//! SQLite-specific behaviour the conformance suite cannot see: durability across reopen,
//! group commit, content sharing and cleanup, schema versioning, UID exhaustion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use portcullis_store::{
    AccountId, AccountName, FlagOperation, FlagSet, InternalDate, MailboxId, MailboxName, ModSeq,
    NewMessage, Store, StoreError, SystemFlag, Uid,
};
use portcullis_store_sqlite::SqliteStore;
use tempfile::TempDir;

fn open() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (SqliteStore::open(dir.path()).unwrap(), dir)
}

fn message(n: u32) -> NewMessage {
    let raw = format!("Subject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nbody {n}\r\n");
    let date = InternalDate {
        unix_seconds: 1_700_000_000,
        offset_minutes: 0,
    };
    NewMessage::parse(Bytes::from(raw), FlagSet::new(), date)
}

fn uids(values: impl IntoIterator<Item = u32>) -> Vec<Uid> {
    values
        .into_iter()
        .map(|value| Uid::new(value).unwrap())
        .collect()
}

fn name(text: &str) -> MailboxName {
    MailboxName::new(text).unwrap()
}

async fn account_with_inbox(store: &SqliteStore) -> (AccountId, MailboxId) {
    let account = store
        .create_account(&AccountName::new("alice").unwrap(), "hash")
        .await
        .unwrap();
    let inbox = store
        .mailbox(account, &MailboxName::inbox())
        .await
        .unwrap()
        .id;
    (account, inbox)
}

/// A side connection to the store's database, for inspecting and arranging rows.
fn side_connection(store: &SqliteStore) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[tokio::test]
async fn reopening_the_directory_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (account, inbox) = account_with_inbox(&store).await;
    let appended: Vec<NewMessage> = (1..=3).map(message).collect();
    store.append(inbox, appended.clone()).await.unwrap();
    let mut seen = FlagSet::new();
    seen.insert(SystemFlag::Seen);
    store
        .store_flags(inbox, &uids([2]), FlagOperation::Add, &seen, None)
        .await
        .unwrap();
    let first = store
        .create_mailbox(account, &name("Projects/2025"), None)
        .await
        .unwrap();
    let before = store.status(inbox).await.unwrap();
    drop(store);

    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.status(inbox).await.unwrap(), before);
    let snapshot = store.snapshot(inbox).await.unwrap();
    let flags: Vec<bool> = snapshot
        .messages
        .iter()
        .map(|m| m.flags.contains(SystemFlag::Seen))
        .collect();
    assert_eq!(flags, [false, true, false]);
    for (uid, message) in uids(1..=3).into_iter().zip(&appended) {
        assert_eq!(
            store.raw_message(inbox, uid).await.unwrap(),
            Some(message.raw.clone())
        );
    }
    assert_eq!(
        store
            .mailbox(account, &name("Projects/2025"))
            .await
            .unwrap(),
        first
    );
    let later = store
        .create_mailbox(account, &name("Later"), None)
        .await
        .unwrap();
    assert!(
        later.uid_validity > first.uid_validity,
        "the UIDVALIDITY counter survives a reopen"
    );
    assert!(later.id > first.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_commits() {
    const REQUESTS: u32 = 100;
    let (store, _dir) = open();
    let store = Arc::new(store);
    let (_, inbox) = account_with_inbox(&store).await;
    let before = store.commit_count();

    // Hold the write lock from outside so that the requests queue up behind the writer,
    // as they do behind a slow fsync.
    let blocker = side_connection(&store);
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=REQUESTS {
        let store = Arc::clone(&store);
        tasks.spawn(async move { store.append(inbox, vec![message(n)]).await });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocker.execute_batch("COMMIT").unwrap();

    let mut given = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        given.extend(joined.unwrap().unwrap().uids);
    }
    given.sort();
    assert_eq!(given, uids(1..=REQUESTS));
    let commits = store.commit_count() - before;
    assert!(commits >= 1);
    assert!(
        commits <= u64::from(REQUESTS) / 10,
        "{commits} commits for {REQUESTS} appends"
    );
}

#[tokio::test]
async fn watchers_are_woken_before_the_write_returns() {
    let (store, _dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    let mut watch = store.watch(inbox, store.status(inbox).await.unwrap().highest_modseq);
    store.append(inbox, vec![message(1)]).await.unwrap();
    assert!(watch.has_changed().unwrap());
    assert_eq!(
        *watch.borrow_and_update(),
        store.status(inbox).await.unwrap().highest_modseq
    );
}

#[tokio::test]
async fn deleting_a_mailbox_wakes_its_watchers() {
    let (store, _dir) = open();
    let (account, _) = account_with_inbox(&store).await;
    let doomed = store
        .create_mailbox(account, &name("doomed"), None)
        .await
        .unwrap();
    let mut watch = store.watch(
        doomed.id,
        store.status(doomed.id).await.unwrap().highest_modseq,
    );
    store.delete_mailbox(account, &doomed.name).await.unwrap();
    assert!(watch.has_changed().unwrap());
    assert!(matches!(
        store
            .changes_since(doomed.id, *watch.borrow_and_update())
            .await,
        Err(StoreError::MailboxGone)
    ));
}

#[tokio::test]
async fn contents_are_shared_and_freed_with_their_last_message() {
    let (store, _dir) = open();
    let (account, inbox) = account_with_inbox(&store).await;
    let archive = store.mailbox(account, &name("Archive")).await.unwrap().id;
    let trash = store.mailbox(account, &name("Trash")).await.unwrap().id;
    store
        .append(inbox, vec![message(1), message(2)])
        .await
        .unwrap();
    store.copy(inbox, &uids([1]), archive).await.unwrap();
    store.copy(inbox, &uids([1]), trash).await.unwrap();
    let side = side_connection(&store);
    assert_eq!(count(&side, "SELECT count(*) FROM contents"), 2);
    assert_eq!(count(&side, "SELECT max(refcount) FROM contents"), 3);

    store.delete_mailbox(account, &name("Trash")).await.unwrap();
    assert_eq!(
        count(&side, "SELECT max(refcount) FROM contents"),
        2,
        "cascaded deletes release contents"
    );
    let mut deleted = FlagSet::new();
    deleted.insert(SystemFlag::Deleted);
    store
        .store_flags(inbox, &uids([1, 2]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    assert_eq!(
        count(&side, "SELECT count(*) FROM contents"),
        1,
        "the unshared content is gone"
    );
    assert_eq!(count(&side, "SELECT count(*) FROM content_data"), 1);
    assert_eq!(count(&side, "SELECT refcount FROM contents"), 1);

    store
        .delete_account(&AccountName::new("alice").unwrap())
        .await
        .unwrap();
    for table in [
        "contents",
        "content_data",
        "messages",
        "mailboxes",
        "expunged",
        "mailbox_keywords",
        "subscriptions",
    ] {
        assert_eq!(
            count(&side, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table} after account deletion"
        );
    }
}

#[tokio::test]
async fn a_database_from_a_newer_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(portcullis_store_sqlite::DATABASE_FILE))
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert!(version >= 1);
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    drop(conn);
    let refused = SqliteStore::open(dir.path());
    assert!(
        matches!(refused, Err(StoreError::Backend(ref text)) if text.contains("newer")),
        "{refused:?}"
    );
}

/// Pruning by time keeps each mailbox's log a suffix: the cutoff selects the old entries, and
/// everything up to the highest MODSEQ among them goes — here including an entry whose clock
/// stamp is newer (the clock stepped back), which must not survive below the floor.
#[tokio::test]
async fn pruning_by_age_keeps_the_log_a_suffix() {
    let (store, _dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    store
        .append(inbox, (1..=4).map(message).collect())
        .await
        .unwrap();
    let mut deleted = FlagSet::new();
    deleted.insert(SystemFlag::Deleted);
    store
        .store_flags(inbox, &uids(1..=4), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    for uid in 1..=4 {
        store.expunge(inbox, Some(&uids([uid]))).await.unwrap();
    }
    let log = store.expunged_since(inbox, ModSeq::MIN).await.unwrap();
    assert_eq!(log.uids, uids(1..=4));
    // Expunges of UIDs 1 and 3 are a day old; UID 2's stamp is recent although its MODSEQ is
    // lower than UID 3's.
    let side = side_connection(&store);
    let day_ago = i64::try_from(
        (SystemTime::now() - Duration::from_secs(86_400))
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    side.execute(
        "UPDATE expunged SET expunged_at = ?1 WHERE mailbox_id = ?2 AND uid IN (1, 3)",
        (day_ago, inbox.0),
    )
    .unwrap();
    let modseq_of = |uid: u32| -> i64 {
        side.query_row(
            "SELECT modseq FROM expunged WHERE mailbox_id = ?1 AND uid = ?2",
            (inbox.0, uid),
            |row| row.get(0),
        )
        .unwrap()
    };
    let through = ModSeq::new(u64::try_from(modseq_of(3)).unwrap()).unwrap();

    let cutoff = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(store.prune_expunged(cutoff).await.unwrap(), 3);
    let log = store.expunged_since(inbox, ModSeq::MIN).await.unwrap();
    assert_eq!(log.uids, uids([4]));
    assert_eq!(log.pruned_through, Some(through));
    assert_eq!(
        count(
            &side,
            "SELECT expunges_pruned_through FROM mailboxes WHERE name = 'INBOX'"
        ),
        i64::try_from(through.get()).unwrap()
    );
    assert_eq!(store.prune_expunged(cutoff).await.unwrap(), 0);
}

#[tokio::test]
async fn running_out_of_uids_is_a_limit() {
    let (store, _dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    let side = side_connection(&store);
    side.execute(
        "UPDATE mailboxes SET uid_next = ?1 WHERE id = ?2",
        (u32::MAX - 1, inbox.0),
    )
    .unwrap();
    let last = store.append(inbox, vec![message(1)]).await.unwrap();
    assert_eq!(last.uids, uids([u32::MAX - 1]));
    let refused = store.append(inbox, vec![message(2)]).await;
    assert!(matches!(refused, Err(StoreError::Limit(_))), "{refused:?}");
    let status = store.status(inbox).await.unwrap();
    assert_eq!((status.messages, status.uid_next.get()), (1, u32::MAX));
}

#[tokio::test]
async fn long_uid_lists_are_answered_from_range_scans() {
    let (store, _dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    store
        .append(inbox, (1..=300).map(message).collect())
        .await
        .unwrap();
    let everything = uids(1..=100_000);
    assert_eq!(store.messages(inbox, &everything).await.unwrap().len(), 300);
    let sparse = uids([300, 1, 150, 99_999]);
    let found: Vec<u32> = store
        .summaries(inbox, &sparse)
        .await
        .unwrap()
        .iter()
        .map(|(uid, _)| uid.get())
        .collect();
    assert_eq!(found, [1, 150, 300]);
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    drop(SqliteStore::open(&dir).unwrap());
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn a_delivery_shares_one_content_and_leaves_none_when_every_target_fails() {
    let (store, _dir) = open();
    let (account, inbox) = account_with_inbox(&store).await;
    let archive = store.mailbox(account, &name("Archive")).await.unwrap().id;
    let side = side_connection(&store);
    let outcomes = store.deliver(message(1), &[inbox, archive]).await.unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(count(&side, "SELECT count(*) FROM contents"), 1);
    assert_eq!(count(&side, "SELECT refcount FROM contents"), 2);

    store
        .delete_mailbox(account, &name("Archive"))
        .await
        .unwrap();
    let outcomes = store.deliver(message(2), &[archive]).await.unwrap();
    assert!(outcomes[0].is_err());
    assert_eq!(
        count(&side, "SELECT count(*) FROM contents"),
        1,
        "no orphaned content"
    );
    assert_eq!(count(&side, "SELECT count(*) FROM content_data"), 1);
}

#[tokio::test]
async fn commits_of_another_process_wake_the_listening_one() {
    let (server, dir) = open();
    server.listen_for_peers().unwrap();
    let (_, inbox) = account_with_inbox(&server).await;
    let current = server.status(inbox).await.unwrap().highest_modseq;
    let mut watch = server.watch(inbox, current);
    // A second store on the same directory stands for `portcullis deliver`.
    let other = SqliteStore::open(dir.path()).unwrap();
    other.append(inbox, vec![message(1)]).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), watch.changed())
        .await
        .expect("the listening store was notified")
        .unwrap();
    assert!(*watch.borrow() > current);
    drop(server);
    assert!(
        !dir.path().join("notify.sock").exists(),
        "the socket goes with the listener"
    );
}

/// Regression (e2e test_open_session_of_a_deleted_account_cannot_read_the_next_account_created):
/// a deleted account's id is never given to a later account, so a session still holding it
/// reaches nothing.
#[tokio::test]
async fn account_ids_are_never_reused() {
    let (store, _dir) = open();
    let zed = store
        .create_account(&AccountName::new("zed").unwrap(), "$argon2id$x")
        .await
        .unwrap();
    store
        .delete_account(&AccountName::new("zed").unwrap())
        .await
        .unwrap();
    let carol = store
        .create_account(&AccountName::new("carol").unwrap(), "$argon2id$x")
        .await
        .unwrap();
    assert_ne!(zed, carol);
    assert!(store.mailboxes(zed).await.unwrap().is_empty());
}

/// The trigram index narrows exactly on this engine once the indexer ran (every message is a
/// candidate before); messages whose text was cut at the limit are always candidates; copies are found in their own mailbox; deleted contents leave the
/// index.
#[tokio::test]
async fn the_full_text_index_narrows_searches() {
    use portcullis_store::{SEARCH_TEXT_LIMIT, TextScope};
    let (store, _dir) = open();
    let (account, inbox) = account_with_inbox(&store).await;
    let archive = store.mailbox(account, &name("Archive")).await.unwrap().id;
    let message = |text: String| {
        NewMessage::parse(
            Bytes::from(text),
            FlagSet::new(),
            InternalDate {
                unix_seconds: 0,
                offset_minutes: 0,
            },
        )
    };
    let huge = format!(
        "Subject: big\r\n\r\n{}\r\n",
        "x".repeat(SEARCH_TEXT_LIMIT + 10)
    );
    store
        .append(
            inbox,
            vec![
                message("Subject: one\r\n\r\nAlpha Zebra\r\n".into()),
                message("Subject: Zebra Crossing\r\n\r\nnothing\r\n".into()),
                message(huge),
            ],
        )
        .await
        .unwrap();
    let found = |scope, needle: &'static str| {
        let store = &store;
        async move {
            store
                .text_candidates(inbox, scope, needle)
                .await
                .unwrap()
                .map(|u| u.iter().map(|u| u.get()).collect::<Vec<_>>())
        }
    };
    assert_eq!(
        found(TextScope::Body, "zebra").await,
        Some(vec![1, 2, 3]),
        "before the indexer ran, every message is a candidate"
    );
    assert_eq!(store.index_pending().await.unwrap(), 3);
    assert_eq!(store.index_pending().await.unwrap(), 0);
    assert_eq!(
        found(TextScope::Body, "zebra").await,
        Some(vec![1, 3]),
        "3 was not indexed completely"
    );
    assert_eq!(found(TextScope::Headers, "zebra").await, Some(vec![2, 3]));
    assert_eq!(
        found(TextScope::Anywhere, "alpha zeb").await,
        Some(vec![1, 3])
    );
    assert_eq!(
        found(TextScope::Body, "ze").await,
        None,
        "too short for trigrams"
    );
    assert_eq!(
        found(TextScope::Body, "quote\"d").await,
        Some(vec![3]),
        "quotes are escaped"
    );
    store.copy(inbox, &uids([2]), archive).await.unwrap();
    let copied = store
        .text_candidates(archive, TextScope::Headers, "crossing")
        .await
        .unwrap();
    assert_eq!(copied.map(|u| u.len()), Some(1));
    store
        .delete_mailbox(account, &name("Archive"))
        .await
        .unwrap();
    let mut deleted = FlagSet::new();
    deleted.insert(SystemFlag::Deleted);
    store
        .store_flags(inbox, &uids([1, 2, 3]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    let side = side_connection(&store);
    assert_eq!(count(&side, "SELECT count(*) FROM contents"), 0);
    assert_eq!(
        count(&side, "SELECT count(*) FROM content_text"),
        0,
        "the index follows deletions"
    );
}

/// The background indexer indexes what was appended once the writer is quiet.
#[tokio::test]
async fn the_indexer_catches_up_in_the_background() {
    use portcullis_store::TextScope;
    let (store, _dir) = open();
    let store = Arc::new(store);
    let (_, inbox) = account_with_inbox(&store).await;
    let indexer = tokio::spawn(Arc::clone(&store).run_indexer());
    let date = InternalDate {
        unix_seconds: 0,
        offset_minutes: 0,
    };
    let messages = [
        "Subject: one\r\n\r\nAlpha Zebra\r\n",
        "Subject: two\r\n\r\nnone\r\n",
    ]
    .map(|text| NewMessage::parse(Bytes::from(text), FlagSet::new(), date));
    store.append(inbox, messages.to_vec()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = store
            .text_candidates(inbox, TextScope::Body, "zebra")
            .await
            .unwrap();
        if found == Some(uids([1])) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still not indexed: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    indexer.abort();
}

/// A big mailbox's snapshot is its list checkpoint plus the changes since (flags, expunges,
/// appends), and equals what reading every row gives.
#[tokio::test]
async fn snapshots_from_a_list_checkpoint_equal_the_rows() {
    let (store, _dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    for chunk in 0..11 {
        let messages = (0..100).map(|n| message(chunk * 100 + n)).collect();
        store.append(inbox, messages).await.unwrap();
    }
    let side = side_connection(&store);
    let checkpoints = || count(&side, "SELECT count(*) FROM mailbox_lists");
    let from_rows_first = store.snapshot(inbox).await.unwrap();
    assert_eq!(from_rows_first.messages.len(), 1100);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while checkpoints() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // At rest (the checkpoint at the mailbox's HIGHESTMODSEQ): the checkpoint alone.
    assert_eq!(store.snapshot(inbox).await.unwrap(), from_rows_first);
    let mut seen = FlagSet::new();
    seen.insert(SystemFlag::Seen);
    seen.insert_keyword(portcullis_store::Keyword::new("$Label1").unwrap());
    store
        .store_flags(inbox, &uids(1..=50), FlagOperation::Add, &seen, None)
        .await
        .unwrap();
    let mut deleted = FlagSet::new();
    deleted.insert(SystemFlag::Deleted);
    store
        .store_flags(inbox, &uids(100..=120), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    store
        .append(inbox, (2000..2010).map(message).collect())
        .await
        .unwrap();
    let from_checkpoint = store.snapshot(inbox).await.unwrap();
    side.execute("DELETE FROM mailbox_lists", []).unwrap();
    let from_rows = store.snapshot(inbox).await.unwrap();
    assert_eq!(from_checkpoint, from_rows);
    assert_eq!(from_rows.messages.len(), 1100 - 21 + 10);
    assert!(from_rows.messages.iter().take(50).all(|m| *m.flags == seen));
}

/// Commits reach the database file without the writer checkpointing (its own threshold is
/// far away): the checkpointer thread copies the WAL back soon after.
#[tokio::test]
async fn the_checkpointer_copies_commits_into_the_database_file() {
    let (store, _dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    let size = || std::fs::metadata(store.path()).unwrap().len();
    let before = size();
    let big = "x".repeat(200_000);
    let raw = format!("Subject: big\r\n\r\n{big}\r\n");
    let messages = (0..5)
        .map(|_| {
            let date = InternalDate {
                unix_seconds: 1_700_000_000,
                offset_minutes: 0,
            };
            NewMessage::parse(Bytes::from(raw.clone()), FlagSet::new(), date)
        })
        .collect();
    store.append(inbox, messages).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while size() < before + 1_000_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_write_ahead_logs_are_cut_to_nothing_and_the_data_stays() {
    let (store, dir) = open();
    let (_, inbox) = account_with_inbox(&store).await;
    store.append(inbox, vec![message(1)]).await.unwrap();
    let wal_size = |file: &str| {
        std::fs::metadata(dir.path().join(format!("{file}-wal")))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    assert!(wal_size("index.sqlite") > 0);
    assert!(wal_size("cache.sqlite") > 0);
    store.truncate_logs().await.unwrap();
    assert_eq!(wal_size("index.sqlite"), 0);
    assert_eq!(wal_size("cache.sqlite"), 0);
    // Written again from the start, and nothing lost.
    store.append(inbox, vec![message(2)]).await.unwrap();
    assert!(wal_size("index.sqlite") > 0);
    let conn = side_connection(&store);
    assert_eq!(count(&conn, "SELECT count(*) FROM messages"), 2);
    drop(store);
    let reopened = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(
        count(&side_connection(&reopened), "SELECT count(*) FROM messages"),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_indexer_leaves_the_writer_alone() {
    let (store, _dir) = open();
    let store = Arc::new(store);
    let (_, inbox) = account_with_inbox(&store).await;
    store.append(inbox, vec![message(1)]).await.unwrap();
    let indexer = tokio::spawn(Arc::clone(&store).run_indexer());
    // Quiet for a while: the message is indexed, then nothing is left to do.
    tokio::time::sleep(portcullis_store_sqlite::INDEX_QUIET * 6).await;
    let settled = store.commit_count();
    tokio::time::sleep(portcullis_store_sqlite::INDEX_QUIET * 10).await;
    assert_eq!(store.commit_count(), settled, "the indexer kept committing");
    indexer.abort();
}
