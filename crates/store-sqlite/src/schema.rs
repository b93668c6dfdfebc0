//! The schema and its migrations. `PRAGMA user_version` holds the number of migrations
//! applied; each migration runs in its own transaction together with the version bump, so a
//! crash leaves the database at one version or the next, never in between. A database from
//! a newer program is refused rather than misread.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{DbResult, Failure};

/// Migration `n` (1-based) takes the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

/// The first schema. See the crate documentation for the reasons behind its shape.
const V1: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('last_uid_validity', 0);

CREATE TABLE accounts (
    -- AUTOINCREMENT: an id is never given twice, so a session still holding a deleted
    -- account's id can never reach a later account's mail.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);

CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    recent_floor INTEGER NOT NULL,
    special_use TEXT,
    selectable INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

CREATE TABLE contents (
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    summary BLOB NOT NULL,
    refcount INTEGER NOT NULL
);

CREATE TABLE content_data (
    content_id INTEGER PRIMARY KEY REFERENCES contents (id) ON DELETE CASCADE,
    raw BLOB NOT NULL
);

CREATE TABLE messages (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    keywords TEXT,
    internal_date INTEGER NOT NULL,
    tz_offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    content_id INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_by_modseq ON messages (mailbox_id, modseq);

CREATE TRIGGER messages_take_content AFTER INSERT ON messages BEGIN
    UPDATE contents SET refcount = refcount + 1 WHERE id = NEW.content_id;
END;
CREATE TRIGGER messages_release_content AFTER DELETE ON messages BEGIN
    UPDATE contents SET refcount = refcount - 1 WHERE id = OLD.content_id;
    DELETE FROM contents WHERE id = OLD.content_id AND refcount <= 0;
END;

CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_by_modseq ON expunged (mailbox_id, modseq);

CREATE TABLE mailbox_keywords (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    keyword TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (mailbox_id, keyword)
) WITHOUT ROWID;
";

/// The expunge log becomes prunable (RFC 7162 QRESYNC, see the crate documentation): each
/// entry records when it was logged, and each mailbox how far back its log still reaches.
/// Entries logged before this version count as logged now, so they are kept for a whole
/// retention period rather than pruned at the first run.
const V2: &str = "
ALTER TABLE expunged ADD COLUMN expunged_at INTEGER NOT NULL DEFAULT 0;
UPDATE expunged SET expunged_at = CAST(strftime('%s', 'now') AS INTEGER);
CREATE INDEX expunged_by_time ON expunged (expunged_at);
ALTER TABLE mailboxes ADD COLUMN expunges_pruned_through INTEGER NOT NULL DEFAULT 0;
";

/// The brute-force defence's state (failure counts and bans per address, network and login
/// name), so that a restart neither forgets a ban nor resets an attacker's count. Times are
/// Unix milliseconds; `expires` is when the policy no longer needs the row.
const V3: &str = "
CREATE TABLE auth_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    banned_until INTEGER,
    bans INTEGER NOT NULL,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The full-text index of SEARCH, first version (superseded by [`V5`], which drops it):
/// a trigram FTS5 table with full detail, filled in the APPEND transaction.
const V4: &str = "
ALTER TABLE contents ADD COLUMN search_complete INTEGER NOT NULL DEFAULT 0;
CREATE VIRTUAL TABLE content_text USING fts5(
    headers, body, content='', contentless_delete=1, tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER contents_text_delete AFTER DELETE ON contents BEGIN
    DELETE FROM content_text WHERE rowid = old.id;
END;
CREATE INDEX contents_unindexed ON contents (id) WHERE search_complete = 0;
";

/// The full-text index of SEARCH (`UID SEARCH BODY` on 100,000 messages without reading
/// them all). `content_text` is a contentless FTS5 table with the trigram tokenizer, one row
/// per content (rowid = contents.id), holding the folded searchable text
/// (`portcullis_mime::search_text`); case sensitivity is off in the tokenizer because the
/// text is folded already. A needle's trigrams, all required in the searched column, name
/// a superset of the contents holding it (IMAP's substring semantics); the session verifies
/// every candidate exactly. `detail=column` keeps which columns hold a trigram but not its
/// positions: a third of the index's size and half its insert cost of the full detail of
/// version 4, whose phrase queries the exact verification makes unnecessary.
///
/// The index is filled after the fact by the indexer (`SqliteStore::run_indexer`), not in the
/// APPEND transaction: trigram indexing costs about ten times the rest of storing a message.
/// `search_complete`: 0 waiting for the indexer, 1 indexed, 2 indexed but cut at the size
/// limit. Contents not at 1 are always candidates, so a search is exact at every moment.
/// This version re-indexes every content with the new table.
const V5: &str = "
DROP TRIGGER contents_text_delete;
DROP INDEX contents_unindexed;
DROP TABLE content_text;
CREATE VIRTUAL TABLE content_text USING fts5(
    headers, body, content='', contentless_delete=1, detail=column,
    tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER contents_text_delete AFTER DELETE ON contents BEGIN
    DELETE FROM content_text WHERE rowid = old.id;
END;
UPDATE contents SET search_complete = 0;
CREATE INDEX contents_not_indexed ON contents (id) WHERE search_complete <> 1;
";

/// Checkpoints of big mailboxes' message lists (see `lists`): SELECT after a restart reads
/// one blob and the changes since, not one row per message.
const V6: &str = "
CREATE TABLE mailbox_lists (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    modseq INTEGER NOT NULL,
    data BLOB NOT NULL
);
";

/// The message list checkpoints are runs of messages (see `lists`): the older ones go, and
/// the next SELECT of each mailbox writes it again. `store_id` names this database, so that
/// the fetch cache beside it (see `cache`) can tell it was built for another one.
const V7: &str = "
DELETE FROM mailbox_lists;
INSERT INTO meta (key, value) VALUES ('store_id', random());
";

/// Brings the database to the newest schema.
pub(crate) fn migrate(conn: &mut Connection) -> DbResult<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(Failure::Internal(format!(
            "database schema version {current} is newer than this program's {known}"
        )));
    }
    for (version, script) in (1_i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema version of a database.
#[cfg(test)]
pub(crate) fn version(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// The number of migrations this program knows.
#[cfg(test)]
pub(crate) fn latest() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A version 1 database keeps its expunge log through the migration to version 2: the
    /// old entries are stamped with the migration time and no mailbox counts as pruned.
    #[test]
    fn version_1_expunge_logs_survive_the_migration_to_version_2() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, password_hash) VALUES (1, 'a', 'h');
             INSERT INTO mailboxes (id, account_id, name, uid_validity, uid_next,
                                    highest_modseq, recent_floor, special_use, selectable)
                 VALUES (7, 1, 'INBOX', 100, 4, 9, 1, NULL, 1);
             INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (7, 1, 5), (7, 2, 8);",
        )
        .unwrap();
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), latest());
        let mut stmt = conn
            .prepare("SELECT uid, modseq, expunged_at FROM expunged ORDER BY uid")
            .unwrap();
        let rows: Vec<(i64, i64, i64)> = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        for (expected, (uid, modseq, at)) in [(1, 5), (2, 8)].iter().zip(&rows) {
            assert_eq!((*uid, *modseq), *expected);
            let at = u64::try_from(*at).unwrap();
            assert!(
                at >= before && at <= before + 60,
                "stamped {at}, migrated at {before}"
            );
        }
        let pruned: i64 = conn
            .query_row(
                "SELECT expunges_pruned_through FROM mailboxes WHERE id = 7",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(pruned, 0);
    }

    /// A version 2 database gains the empty throttle table and keeps its mail.
    #[test]
    fn version_2_gains_the_throttle_table_in_version_3() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(V2).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO accounts (name, password_hash) VALUES ('a', 'h')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), latest());
        let accounts: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |row| row.get(0))
            .unwrap();
        assert_eq!(accounts, 1);
        let key = portcullis_store::ThrottleKey::Ip("192.0.2.1".parse().unwrap());
        let record = portcullis_store::ThrottleRecord {
            key: key.clone(),
            failures: 4,
            window_start: std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_500),
            banned_until: None,
            bans: 0,
            expires: std::time::UNIX_EPOCH + std::time::Duration::from_secs(900),
        };
        crate::throttle::save(&conn, std::slice::from_ref(&record), &[]).unwrap();
        assert_eq!(crate::throttle::list(&conn).unwrap(), vec![record]);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), latest());
        conn.execute(
            "INSERT INTO accounts (name, password_hash) VALUES ('a', 'h')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), latest());
        let accounts: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |row| row.get(0))
            .unwrap();
        assert_eq!(accounts, 1);
    }

    /// A version 3 database's messages wait for the indexer after the migration (always
    /// candidates meanwhile), are found through the index once indexed, and have wire
    /// summaries.
    #[test]
    fn older_contents_wait_for_the_indexer_then_are_found_and_get_wire_summaries() {
        let mut conn = Connection::open_in_memory().unwrap();
        for script in [V1, V2, V3] {
            conn.execute_batch(script).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, password_hash) VALUES (1, 'a', 'h');
             INSERT INTO mailboxes (id, account_id, name, uid_validity, uid_next, highest_modseq,
                 recent_floor, selectable) VALUES (7, 1, 'INBOX', 1, 2, 1, 1, 1);
             INSERT INTO contents (id, size, summary, refcount) VALUES (3, 1, x'', 0);
             INSERT INTO content_data (content_id, raw)
                 VALUES (3, CAST('Subject: Quarterly Report\r\n\r\nThe Zanzibar figures.\r\n' AS BLOB));
             INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, tz_offset, size, content_id)
                 VALUES (7, 1, 1, 0, '', 0, 0, 1, 3);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let mailbox = portcullis_store::MailboxId(7);
        let candidates = |scope| {
            crate::messages::text_candidates(&conn, mailbox, scope, "zanzibar")
                .unwrap()
                .map(|uids| uids.len())
        };
        use portcullis_store::TextScope::{Body, Headers};
        assert_eq!(candidates(Headers), Some(1), "not indexed: a candidate");
        assert_eq!(crate::messages::pending_count(&conn).unwrap(), 1);
        assert_eq!(crate::messages::index_pending(&conn).unwrap(), 1);
        assert_eq!(crate::messages::index_pending(&conn).unwrap(), 0);
        assert_eq!(crate::messages::pending_count(&conn).unwrap(), 0);
        assert_eq!(candidates(Body), Some(1));
        assert_eq!(candidates(Headers), Some(0));
        // Not in the fetch cache: computed from the bytes (the stored summary, empty here,
        // cannot be read)...
        crate::cache::attach(&conn, std::path::Path::new(":memory:")).unwrap();
        crate::cache::prepare_writer(&conn).unwrap();
        let uids = crate::uid_set::UidSet::listed(&[portcullis_store::Uid::new(1).unwrap()]);
        let wire = crate::messages::wire_summaries(&conn, mailbox, &uids).unwrap();
        let envelope = String::from_utf8_lossy(&wire[0].1.envelope).into_owned();
        assert_eq!(
            envelope,
            "(NIL \"Quarterly Report\" NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
        // ... until the indexer fills its row; then read from there, the same.
        assert_eq!(crate::cache::fill(&conn, 10).unwrap(), 1);
        assert_eq!(crate::cache::fill(&conn, 10).unwrap(), 0);
        assert_eq!(
            crate::cache::get(&conn, 3).unwrap(),
            Some(wire[0].1.clone())
        );
    }
}
