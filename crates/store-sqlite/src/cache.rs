//! The fetch cache: each content's ENVELOPE and BODYSTRUCTURE in IMAP's wire form
//! ([`portcullis_store::WireSummary`]), in a database file of its own (`cache.sqlite`,
//! attached to every connection as `cache`).
//!
//! Why a file of its own: a FETCH of ENVELOPE and BODYSTRUCTURE over a whole mailbox reads
//! one of these per message. In `index.sqlite` their pages would lie between the message
//! bytes written at the same time, so after a restart 100,000 of them were 28,000 random
//! disk reads (profiled: 0.8–1.3 s). Here nothing else is written, rows come in content
//! order, and the same read is sequential.
//!
//! Why it may lag: it is derived data. A row is written in the transaction that stores the
//! content (and deleted with it, by a trigger of the writer's connection), but the file is
//! synced lazily (`synchronous=NORMAL`) and its commit is not atomic with `index.sqlite`'s:
//! after a crash some rows may be missing, or left for contents that are gone. Readers
//! compute a missing row from the stored summary, so answers never depend on the cache. A
//! left row is harmful only if its id is given to a new content, and SQLite gives a new
//! row the highest id plus one: opening the store deletes the rows above the highest
//! content id (a lookup, not a scan: `portcullis deliver` opens it for every message), and
//! storing a content replaces whatever row had its id. The indexer walks the contents once,
//! in order, filling the rows missing (contents stored before the cache existed, rows a
//! crash lost). A cache file that cannot be read is deleted and started again; one built
//! for another database (its `store_id`, set at schema version 7, differs) is emptied.

use std::path::Path;

use portcullis_mime::MessageSummary;
use portcullis_proto::encode;
use portcullis_store::WireSummary;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::DbResult;

/// The cache's file in the data directory.
pub(crate) const FILE: &str = "cache.sqlite";

/// Attaches the cache to the writer's connection and prepares it (see [`prepare_writer`]);
/// a file that fails that is deleted and made again — it holds nothing that cannot be
/// computed.
pub(crate) fn open_for_writer(conn: &Connection, path: &Path) -> DbResult<()> {
    let attached = attach(conn, path).and_then(|()| prepare_writer(conn));
    let Err(error) = attached else {
        return Ok(());
    };
    tracing::warn!(?error, path = %path.display(), "fetch cache unusable; starting it again");
    // Not attached if attaching failed; nothing to undo then.
    let _ = conn.execute_batch("DETACH DATABASE cache");
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(crate::error::Failure::Internal(format!(
                    "cannot remove {}: {error}",
                    Path::new(&file).display()
                )));
            }
        }
    }
    attach(conn, path)?;
    prepare_writer(conn)
}

/// Attaches the cache as `cache` (read-only on a read-only connection; created if missing
/// otherwise).
pub(crate) fn attach(conn: &Connection, path: &Path) -> DbResult<()> {
    conn.execute(
        "ATTACH DATABASE ?1 AS cache",
        [path.to_string_lossy().as_ref()],
    )?;
    Ok(())
}

/// Prepares the writer's connection: the cache's schema and sync mode, the trigger that
/// deletes a content's row with the content, and the rows a crash left above the highest
/// content id (which the next contents would get).
pub(crate) fn prepare_writer(conn: &Connection) -> DbResult<()> {
    let mode: String = conn.query_row("PRAGMA cache.journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "the fetch cache refused WAL mode");
    }
    conn.pragma_update(
        Some("cache"),
        "journal_size_limit",
        crate::checkpointer::WAL_SIZE_LIMIT,
    )?;
    conn.execute_batch(
        "PRAGMA cache.synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS cache.wire_summaries (
             content_id INTEGER PRIMARY KEY,
             envelope BLOB NOT NULL,
             body BLOB NOT NULL
         );
         CREATE TABLE IF NOT EXISTS cache.fill_progress (
             only INTEGER PRIMARY KEY CHECK (only = 0),
             through INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS cache.owner (
             only INTEGER PRIMARY KEY CHECK (only = 0),
             store_id INTEGER NOT NULL
         );
         CREATE TEMP TRIGGER IF NOT EXISTS contents_release_wire AFTER DELETE ON main.contents
         BEGIN
             -- Unqualified (a trigger may not name the schema): no other database has it.
             DELETE FROM wire_summaries WHERE content_id = old.id;
         END;
         DELETE FROM cache.wire_summaries
             WHERE content_id > (SELECT coalesce(max(id), 0) FROM main.contents);",
    )?;
    // Built for another database (an index.sqlite restored from elsewhere): all of it goes.
    let store_id: Option<i64> = conn
        .query_row(
            "SELECT value FROM main.meta WHERE key = 'store_id'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let owner: Option<i64> = conn
        .query_row("SELECT store_id FROM cache.owner", [], |row| row.get(0))
        .optional()?;
    if owner != store_id {
        conn.execute_batch(
            "DELETE FROM cache.wire_summaries; DELETE FROM cache.fill_progress;
             DELETE FROM cache.owner;",
        )?;
        conn.execute(
            "INSERT INTO cache.owner (only, store_id) VALUES (0, ?1)",
            [store_id],
        )?;
    }
    Ok(())
}

/// A message's [`WireSummary`]: what a session without UTF8=ACCEPT is sent.
pub(crate) fn wire_of(summary: &MessageSummary) -> WireSummary {
    let charset = encode::Charset::default();
    let mut envelope = Vec::with_capacity(256);
    encode::envelope(&mut envelope, &summary.envelope, charset);
    let mut body = Vec::with_capacity(256);
    encode::body_structure(&mut body, summary, true, charset);
    WireSummary {
        envelope: envelope.into(),
        body_structure: body.into(),
    }
}

/// The row of content `id` computed from its stored summary (what the cache lacks).
pub(crate) fn compute(conn: &Connection, id: i64) -> DbResult<WireSummary> {
    let stored: Vec<u8> = conn
        .prepare_cached("SELECT summary FROM main.contents WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?;
    Ok(wire_of(&crate::messages::summary_or_parse(
        conn, id, &stored,
    )?))
}

/// Stores the row of content `id`.
pub(crate) fn put(conn: &Connection, id: i64, wire: &WireSummary) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO cache.wire_summaries (content_id, envelope, body)
         VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        id,
        wire.envelope.as_ref(),
        wire.body_structure.as_ref()
    ])?;
    Ok(())
}

/// The row of content `id`, if the cache has it.
pub(crate) fn get(conn: &Connection, id: i64) -> DbResult<Option<WireSummary>> {
    let mut stmt = conn
        .prepare_cached("SELECT envelope, body FROM cache.wire_summaries WHERE content_id = ?1")?;
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    // One allocation for both, handed out as two views of it.
    let envelope = row.get_ref(0)?.as_blob()?;
    let body = row.get_ref(1)?.as_blob()?;
    let both = bytes::Bytes::from([envelope, body].concat());
    Ok(Some(WireSummary {
        envelope: both.slice(..envelope.len()),
        body_structure: both.slice(envelope.len()..),
    }))
}

/// Walks up to `limit` more contents in id order from where the last call stopped,
/// computing the rows missing (contents stored before the cache existed, or whose row a
/// crash lost); returns how many it walked, 0 once it is through. Rows go in ascending id
/// order, so the file stays in the order a whole-mailbox FETCH reads it.
pub(crate) fn fill(conn: &Connection, limit: usize) -> DbResult<usize> {
    let through: i64 = conn
        .query_row("SELECT through FROM cache.fill_progress", [], |row| {
            row.get(0)
        })
        .optional()?
        .unwrap_or(0);
    let mut walk = conn.prepare_cached(
        "SELECT c.id, w.content_id IS NULL FROM main.contents AS c
         LEFT JOIN cache.wire_summaries AS w ON w.content_id = c.id
         WHERE c.id > ?1 ORDER BY c.id LIMIT ?2",
    )?;
    let walked: Vec<(i64, bool)> = walk
        .query_map(
            params![through, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<Result<_, _>>()?;
    for &(id, _) in walked.iter().filter(|(_, missing)| *missing) {
        put(conn, id, &compute(conn, id)?)?;
    }
    if let Some(&(last, _)) = walked.last() {
        conn.execute(
            "INSERT OR REPLACE INTO cache.fill_progress (only, through) VALUES (0, ?1)",
            [last],
        )?;
    }
    Ok(walked.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        attach(&conn, Path::new(":memory:")).unwrap();
        prepare_writer(&conn).unwrap();
        conn
    }

    fn add_content(conn: &Connection, id: i64, raw: &[u8]) -> WireSummary {
        let summary = portcullis_mime::parse(raw);
        conn.execute(
            "INSERT INTO contents (id, size, summary, refcount) VALUES (?1, 1, ?2, 1)",
            params![id, postcard::to_stdvec(&summary).unwrap()],
        )
        .unwrap();
        wire_of(&summary)
    }

    #[test]
    fn a_row_goes_with_its_content_and_strays_go_at_open() {
        let conn = store();
        let wire = add_content(&conn, 5, b"Subject: five\r\n\r\nbody\r\n");
        put(&conn, 5, &wire).unwrap();
        assert_eq!(get(&conn, 5).unwrap(), Some(wire.clone()));
        conn.execute("DELETE FROM contents WHERE id = 5", [])
            .unwrap();
        assert_eq!(get(&conn, 5).unwrap(), None, "deleted with the content");
        // A crash can leave a row without its content: opening drops it when its id is the
        // next content's (above the highest); one below is never looked up again.
        add_content(&conn, 7, b"Subject: seven\r\n\r\nbody\r\n");
        put(&conn, 6, &wire).unwrap();
        put(&conn, 9, &wire).unwrap();
        prepare_writer(&conn).unwrap();
        assert_eq!(get(&conn, 9).unwrap(), None);
        assert_eq!(get(&conn, 6).unwrap(), Some(wire));
    }

    #[test]
    fn a_cache_of_another_database_is_emptied() {
        let conn = store();
        let wire = add_content(&conn, 1, b"Subject: one\r\n\r\nbody\r\n");
        put(&conn, 1, &wire).unwrap();
        prepare_writer(&conn).unwrap();
        assert_eq!(get(&conn, 1).unwrap(), Some(wire), "same database: kept");
        conn.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'store_id'",
            [],
        )
        .unwrap();
        prepare_writer(&conn).unwrap();
        assert_eq!(get(&conn, 1).unwrap(), None);
    }

    #[test]
    fn an_unreadable_cache_file_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, b"not a database, not at all, not even close").unwrap();
        let mut conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        open_for_writer(&conn, &path).unwrap();
        let wire = add_content(&conn, 1, b"Subject: one\r\n\r\nbody\r\n");
        put(&conn, 1, &wire).unwrap();
        assert_eq!(get(&conn, 1).unwrap(), Some(wire));
    }

    #[test]
    fn fill_walks_the_contents_in_order_computing_missing_rows() {
        let conn = store();
        let wires: Vec<WireSummary> = (1..=5)
            .map(|id| add_content(&conn, id, format!("Subject: {id}\r\n\r\nx\r\n").as_bytes()))
            .collect();
        // Stored since the cache exists: has its row already.
        put(&conn, 3, &wires[2]).unwrap();
        assert_eq!(fill(&conn, 2).unwrap(), 2);
        assert_eq!(get(&conn, 2).unwrap().as_ref(), Some(&wires[1]));
        assert_eq!(get(&conn, 4).unwrap(), None);
        assert_eq!(fill(&conn, 10).unwrap(), 3);
        assert_eq!(fill(&conn, 10).unwrap(), 0, "through");
        for (id, wire) in (1..).zip(&wires) {
            assert_eq!(get(&conn, id).unwrap().as_ref(), Some(wire));
        }
        // A content stored later is walked over (it has its row).
        put(&conn, 6, &add_content(&conn, 6, b"Subject: 6\r\n\r\nx\r\n")).unwrap();
        assert_eq!(fill(&conn, 10).unwrap(), 1);
        assert_eq!(fill(&conn, 10).unwrap(), 0);
    }
}
