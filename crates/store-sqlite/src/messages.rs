//! Messages: APPEND, COPY/MOVE, STORE, EXPUNGE, and the reads SELECT and FETCH need.
//!
//! A message row holds what changes (flags, MODSEQ) and what FETCH lists most (UID, date,
//! size); the bytes and the parse live in `contents`/`content_data`, shared by every copy
//! and reference-counted by triggers on `messages`.

use bytes::Bytes;
use portcullis_mime::MessageSummary;
use portcullis_store::{
    AppendOutcome, CopyOutcome, ExpungeLog, FlagOperation, FlagSet, FlagUpdate, InternalDate,
    Keyword, MailboxChanges, MailboxId, MailboxSnapshot, MessageFlags, MessageList, MessageMeta,
    ModSeq, NewMessage, SEARCH_TEXT_LIMIT, StoreResult, SystemFlag, TextScope, Uid, WireSummary,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::cache;
use crate::error::{DbResult, Failure};
use crate::lists;
use crate::mailboxes::{self, Mailbox};
use crate::rows;
use crate::uid_set::UidSet;
use crate::writer::Changes;

/// Whether COPY keeps or expunges the originals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// COPY: the originals stay.
    Copy,
    /// MOVE (RFC 6851): the originals are expunged in the same transaction.
    Move,
}

const COLUMNS: &str = "uid, modseq, flags, keywords, internal_date, tz_offset, size, content_id";

/// One message row.
#[derive(Debug, Clone)]
struct Stored {
    uid: Uid,
    modseq: ModSeq,
    flags: FlagSet,
    internal_date: InternalDate,
    size: u64,
    content_id: i64,
}

impl Stored {
    fn read(row: &Row<'_>) -> DbResult<Stored> {
        Ok(Stored {
            uid: rows::uid(row.get(0)?)?,
            modseq: rows::modseq(row.get(1)?)?,
            flags: rows::flags(row.get(2)?, row.get_ref(3)?.as_str_or_null()?),
            internal_date: InternalDate {
                unix_seconds: row.get(4)?,
                offset_minutes: rows::offset_minutes(row.get(5)?)?,
            },
            size: rows::size(row.get(6)?)?,
            content_id: row.get(7)?,
        })
    }

    fn flags(self) -> MessageFlags {
        MessageFlags {
            uid: self.uid,
            flags: self.flags,
            modseq: self.modseq,
        }
    }

    fn meta(self) -> MessageMeta {
        MessageMeta {
            uid: self.uid,
            flags: self.flags,
            modseq: self.modseq,
            internal_date: self.internal_date,
            size: self.size,
        }
    }
}

/// Runs `select` (whose parameters are mailbox, first UID, last UID, and whose first column
/// is the UID) once per span of `uids`, handing each row in `uids` to `each`, ascending.
fn scan(
    conn: &Connection,
    select: &str,
    mailbox: MailboxId,
    uids: &UidSet,
    mut each: impl FnMut(&Row<'_>) -> DbResult<()>,
) -> DbResult<()> {
    let mut stmt = conn.prepare_cached(select)?;
    for (first, last) in uids.spans() {
        let mut found = stmt.query(params![mailbox.0, first, last])?;
        while let Some(row) = found.next()? {
            if uids.contains(rows::uid(row.get(0)?)?) {
                each(row)?;
            }
        }
    }
    Ok(())
}

/// The message rows of `uids`, ascending.
fn load(conn: &Connection, mailbox: MailboxId, uids: &UidSet) -> DbResult<Vec<Stored>> {
    let select = format!(
        "SELECT {COLUMNS} FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid"
    );
    let mut stored = Vec::new();
    scan(conn, &select, mailbox, uids, |row| {
        stored.push(Stored::read(row)?);
        Ok(())
    })?;
    Ok(stored)
}

fn insert_row(
    conn: &Connection,
    mailbox: MailboxId,
    uid: Uid,
    modseq: ModSeq,
    message: &Stored,
) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, tz_offset, size, content_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        mailbox.0,
        uid.get(),
        rows::sql_modseq(modseq),
        message.flags.system_bits(),
        rows::keywords_text(&message.flags),
        message.internal_date.unix_seconds,
        message.internal_date.offset_minutes,
        i64::try_from(message.size).unwrap_or(i64::MAX),
        message.content_id,
    ])?;
    Ok(())
}

/// Adds keywords to the mailbox's list of keywords ever used (first spelling kept).
fn register_keywords(conn: &Connection, mailbox: MailboxId, keywords: &[Keyword]) -> DbResult<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO mailbox_keywords (mailbox_id, keyword) VALUES (?1, ?2)",
    )?;
    for keyword in keywords {
        stmt.execute(params![mailbox.0, keyword.as_str()])?;
    }
    Ok(())
}

/// The keywords ever used in a mailbox, sorted.
fn keywords(conn: &Connection, mailbox: MailboxId) -> DbResult<Vec<Keyword>> {
    let mut stmt =
        conn.prepare_cached("SELECT keyword FROM mailbox_keywords WHERE mailbox_id = ?1")?;
    let mut found = stmt.query([mailbox.0])?;
    let mut keywords = Vec::new();
    while let Some(row) = found.next()? {
        keywords.extend(Keyword::new(row.get_ref(0)?.as_str()?));
    }
    keywords.sort();
    Ok(keywords)
}

/// A new message with the forms the store keeps of its parse already encoded — by the
/// caller, before the request reaches the writer, the one thread every APPEND waits for.
pub(crate) struct Prepared {
    message: NewMessage,
    summary: Vec<u8>,
    wire: WireSummary,
}

impl Prepared {
    pub(crate) fn new(message: NewMessage) -> DbResult<Prepared> {
        let summary = postcard::to_stdvec(&message.summary).map_err(|error| {
            Failure::Internal(format!("cannot encode a message summary: {error}"))
        })?;
        let wire = cache::wire_of(&message.summary);
        Ok(Prepared {
            message,
            summary,
            wire,
        })
    }

    pub(crate) fn all(messages: Vec<NewMessage>) -> DbResult<Vec<Prepared>> {
        messages.into_iter().map(Prepared::new).collect()
    }
}

/// Stores the bytes and parse of a new message once; returns the content id.
fn insert_content(conn: &Connection, prepared: &Prepared) -> DbResult<i64> {
    let (message, summary) = (&prepared.message, &prepared.summary);
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO contents (size, summary, refcount) VALUES (?1, ?2, 0) RETURNING id",
        )?
        .query_row(
            params![rows::sql_size(message.raw.len())?, summary],
            |row| row.get(0),
        )?;
    cache::put(conn, id, &prepared.wire)?;
    conn.prepare_cached("INSERT INTO content_data (content_id, raw) VALUES (?1, ?2)")?
        .execute(params![id, message.raw.as_ref()])?;
    Ok(id)
}

/// `contents.search_complete` (0: waiting for the indexer): indexed completely.
const TEXT_INDEXED: i64 = 1;
/// `contents.search_complete`: indexed up to the size limit only.
const TEXT_CUT: i64 = 2;

/// How much one indexing transaction takes at most: it holds the writer, so APPENDs wait
/// behind it (about 3 ms of trigram indexing per 20 KB of text).
const INDEX_BATCH_CONTENTS: usize = 16;
const INDEX_BATCH_BYTES: usize = 1 << 20;

/// Indexes the text of up to one batch of contents waiting for it, oldest first; returns how
/// many. Runs in the writer's transaction, so a content cannot go (or its id be reused)
/// between reading its text and indexing it.
pub(crate) fn index_pending(conn: &Connection) -> DbResult<usize> {
    let mut select = conn.prepare_cached(
        "SELECT c.id, c.summary, d.raw FROM contents c JOIN content_data d ON d.content_id = c.id
         WHERE c.search_complete <> 1 AND c.search_complete = 0 ORDER BY c.id LIMIT ?1",
    )?;
    let mut rows = select.query([i64::try_from(INDEX_BATCH_CONTENTS).unwrap_or(i64::MAX)])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO content_text (rowid, headers, body) VALUES (?1, ?2, ?3)")?;
    let mut mark = conn.prepare_cached("UPDATE contents SET search_complete = ?2 WHERE id = ?1")?;
    let (mut indexed, mut bytes) = (0, 0);
    while bytes < INDEX_BATCH_BYTES
        && let Some(row) = rows.next()?
    {
        let id: i64 = row.get(0)?;
        let raw = row.get_ref(2)?.as_blob()?;
        // The stored parse; a summary this build cannot read is parsed again.
        let summary = postcard::from_bytes(row.get_ref(1)?.as_blob()?)
            .unwrap_or_else(|_| portcullis_mime::parse(raw));
        let text = portcullis_mime::search_text(raw, &summary, SEARCH_TEXT_LIMIT);
        insert.execute(params![id, text.headers, text.body])?;
        mark.execute(params![
            id,
            if text.complete {
                TEXT_INDEXED
            } else {
                TEXT_CUT
            }
        ])?;
        indexed += 1;
        bytes += raw.len();
    }
    Ok(indexed)
}

/// How many contents wait for the indexer.
pub(crate) fn pending_count(conn: &Connection) -> DbResult<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM contents WHERE search_complete <> 1 AND search_complete = 0",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Most trigrams one query requires: more narrow little further and each costs a doclist.
const MAX_QUERY_TRIGRAMS: usize = 12;

/// The FTS5 query for contents whose `scope` holds every trigram of `needle` (up to
/// [`MAX_QUERY_TRIGRAMS`] of them, spread over the needle); `None` under three characters.
fn trigram_query(scope: TextScope, needle: &str) -> Option<String> {
    let chars: Vec<char> = needle.chars().collect();
    let windows = chars.len().checked_sub(2).filter(|&n| n > 0)?;
    let stride = windows.div_ceil(MAX_QUERY_TRIGRAMS);
    let mut grams: Vec<String> = (0..windows)
        .step_by(stride)
        .chain([windows - 1])
        .map(|start| chars[start..start + 3].iter().collect())
        .collect();
    grams.sort();
    grams.dedup();
    // Each trigram an FTS5 string: double quotes doubled.
    let terms = grams
        .iter()
        .map(|gram| format!("\"{}\"", gram.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" AND ");
    Some(match scope {
        TextScope::Headers => format!("headers : ({terms})"),
        TextScope::Body => format!("body : ({terms})"),
        TextScope::Anywhere => terms,
    })
}

/// The UIDs whose indexed text may contain `needle`, plus those not (completely) indexed.
/// `None` for needles the trigram index cannot look up (under three characters).
pub(crate) fn text_candidates(
    conn: &Connection,
    mailbox: MailboxId,
    scope: TextScope,
    needle: &str,
) -> DbResult<Option<Vec<Uid>>> {
    let Some(query) = trigram_query(scope, needle) else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM messages WHERE mailbox_id = ?1 AND (
             content_id IN (SELECT rowid FROM content_text WHERE content_text MATCH ?2)
             OR content_id IN (SELECT id FROM contents WHERE search_complete <> 1)
         ) ORDER BY uid",
    )?;
    let mut rows = stmt.query(params![mailbox.0, query])?;
    let mut uids = Vec::new();
    while let Some(row) = rows.next()? {
        uids.push(rows::uid(row.get(0)?)?);
    }
    Ok(Some(uids))
}

/// APPEND / MULTIAPPEND: all messages in one request, contiguous UIDs, one MODSEQ.
pub(crate) fn append(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: MailboxId,
    messages: &[Prepared],
) -> DbResult<AppendOutcome> {
    let target = mailboxes::selectable(conn, mailbox)?;
    let uids = mailboxes::allocate_uids(conn, &target, messages.len())?;
    if !messages.is_empty() {
        let modseq = mailboxes::next_modseq(conn, changes, mailbox)?;
        for (prepared, uid) in messages.iter().zip(&uids) {
            let message = &prepared.message;
            let stored = Stored {
                uid: *uid,
                modseq,
                flags: message.flags.clone(),
                internal_date: message.internal_date,
                size: u64::try_from(message.raw.len()).unwrap_or(u64::MAX),
                content_id: insert_content(conn, prepared)?,
            };
            insert_row(conn, mailbox, *uid, modseq, &stored)?;
            register_keywords(conn, mailbox, message.flags.keywords())?;
        }
    }
    Ok(AppendOutcome {
        uid_validity: target.uid_validity,
        uids,
    })
}

/// LMTP delivery: one content for every target; each target in its own savepoint, so one
/// refusing target (deleted meanwhile, out of UIDs) does not fail the others.
pub(crate) fn deliver(
    conn: &Connection,
    changes: &mut Changes,
    prepared: &Prepared,
    targets: &[MailboxId],
) -> DbResult<Vec<StoreResult<AppendOutcome>>> {
    let content_id = insert_content(conn, prepared)?;
    let message = &prepared.message;
    let mut outcomes = Vec::with_capacity(targets.len());
    for &mailbox in targets {
        conn.execute_batch("SAVEPOINT deliver_target")?;
        let before = changes.clone();
        match append_content(conn, changes, mailbox, message, content_id) {
            Ok(outcome) => {
                conn.execute_batch("RELEASE deliver_target")?;
                outcomes.push(Ok(outcome));
            }
            Err(Failure::Refused(refusal)) => {
                conn.execute_batch("ROLLBACK TO deliver_target; RELEASE deliver_target")?;
                *changes = before;
                outcomes.push(Err(refusal));
            }
            Err(failure) => return Err(failure),
        }
    }
    // The refcount triggers drop contents when their last message goes; a content that no
    // target took never had one.
    conn.prepare_cached("DELETE FROM contents WHERE id = ?1 AND refcount = 0")?
        .execute([content_id])?;
    Ok(outcomes)
}

/// Adds one message row for an already stored content.
fn append_content(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: MailboxId,
    message: &NewMessage,
    content_id: i64,
) -> DbResult<AppendOutcome> {
    let target = mailboxes::selectable(conn, mailbox)?;
    let uids = mailboxes::allocate_uids(conn, &target, 1)?;
    let modseq = mailboxes::next_modseq(conn, changes, mailbox)?;
    for uid in &uids {
        let stored = Stored {
            uid: *uid,
            modseq,
            flags: message.flags.clone(),
            internal_date: message.internal_date,
            size: u64::try_from(message.raw.len()).unwrap_or(u64::MAX),
            content_id,
        };
        insert_row(conn, mailbox, *uid, modseq, &stored)?;
        register_keywords(conn, mailbox, message.flags.keywords())?;
    }
    Ok(AppendOutcome {
        uid_validity: target.uid_validity,
        uids,
    })
}

/// COPY or MOVE: the target rows share the originals' contents, keep flags and dates, and
/// take new UIDs and the target's next MODSEQ.
pub(crate) fn transfer(
    conn: &Connection,
    changes: &mut Changes,
    source: MailboxId,
    uids: &UidSet,
    target: MailboxId,
    how: Transfer,
) -> DbResult<CopyOutcome> {
    mailboxes::selectable(conn, source)?;
    let target_row: Mailbox = mailboxes::selectable(conn, target)?;
    let originals = load(conn, source, uids)?;
    let new_uids = mailboxes::allocate_uids(conn, &target_row, originals.len())?;
    let mut outcome = CopyOutcome {
        uid_validity: target_row.uid_validity,
        source: originals.iter().map(|message| message.uid).collect(),
        target: new_uids.clone(),
        expunge_modseq: None,
    };
    if originals.is_empty() {
        return Ok(outcome);
    }
    let modseq = mailboxes::next_modseq(conn, changes, target)?;
    for (message, uid) in originals.iter().zip(&new_uids) {
        insert_row(conn, target, *uid, modseq, message)?;
        register_keywords(conn, target, message.flags.keywords())?;
    }
    if how == Transfer::Move {
        let expunge_modseq = mailboxes::next_modseq(conn, changes, source)?;
        remove(conn, source, &outcome.source, expunge_modseq)?;
        outcome.expunge_modseq = Some(expunge_modseq);
    }
    Ok(outcome)
}

/// Deletes messages and logs their UIDs as expunged at `modseq`, now.
fn remove(conn: &Connection, mailbox: MailboxId, uids: &[Uid], modseq: ModSeq) -> DbResult<()> {
    let mut delete =
        conn.prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
    let mut log = conn.prepare_cached(
        "INSERT INTO expunged (mailbox_id, uid, modseq, expunged_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let now = InternalDate::now().unix_seconds;
    for uid in uids {
        delete.execute(params![mailbox.0, uid.get()])?;
        log.execute(params![mailbox.0, uid.get(), rows::sql_modseq(modseq), now])?;
    }
    Ok(())
}

/// The UIDs the expunge log holds for expunges after `since`, ascending.
pub(crate) fn logged_expunges(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> DbResult<Vec<Uid>> {
    let mut expunged = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
    )?;
    let mut found = stmt.query(params![mailbox.0, rows::sql_modseq(since)])?;
    while let Some(found_row) = found.next()? {
        expunged.push(rows::uid(found_row.get(0)?)?);
    }
    Ok(expunged)
}

/// The expunge log after `since` (QRESYNC, `VANISHED`).
pub(crate) fn expunged_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> DbResult<ExpungeLog> {
    let row = mailboxes::selectable(conn, mailbox)?;
    Ok(ExpungeLog {
        uids: logged_expunges(conn, mailbox, since)?,
        pruned_through: row.pruned_through,
    })
}

/// Forgets expunges logged before `logged_before` (Unix seconds). Per mailbox, everything up
/// to the highest MODSEQ among them goes, so the log stays complete above
/// `expunges_pruned_through` even if the clock went backwards between two expunges.
pub(crate) fn prune_expunged(conn: &Connection, logged_before: i64) -> DbResult<u64> {
    let mut stmt = conn.prepare_cached(
        "SELECT mailbox_id, max(modseq) FROM expunged WHERE expunged_at < ?1 GROUP BY mailbox_id",
    )?;
    let mut found = stmt.query([logged_before])?;
    let mut doomed: Vec<(i64, i64)> = Vec::new();
    while let Some(row) = found.next()? {
        doomed.push((row.get(0)?, row.get(1)?));
    }
    let mut delete =
        conn.prepare_cached("DELETE FROM expunged WHERE mailbox_id = ?1 AND modseq <= ?2")?;
    let mut mark = conn.prepare_cached(
        "UPDATE mailboxes SET expunges_pruned_through = max(expunges_pruned_through, ?2)
         WHERE id = ?1",
    )?;
    let mut removed = 0_u64;
    for (mailbox, through) in doomed {
        let deleted = delete.execute(params![mailbox, through])?;
        removed = removed.saturating_add(u64::try_from(deleted).unwrap_or(u64::MAX));
        mark.execute(params![mailbox, through])?;
    }
    Ok(removed)
}

/// Expunges the messages of `uids` whose flags pass `which`; returns their UIDs, ascending.
pub(crate) fn expunge_matching(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: MailboxId,
    uids: &UidSet,
    which: impl Fn(&FlagSet) -> bool,
) -> DbResult<Vec<Uid>> {
    let doomed: Vec<Uid> = load(conn, mailbox, uids)?
        .into_iter()
        .filter(|message| which(&message.flags))
        .map(|message| message.uid)
        .collect();
    if !doomed.is_empty() {
        let modseq = mailboxes::next_modseq(conn, changes, mailbox)?;
        remove(conn, mailbox, &doomed, modseq)?;
    }
    Ok(doomed)
}

/// EXPUNGE / UID EXPUNGE: the `\Deleted` messages, limited to `uids`.
pub(crate) fn expunge(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: MailboxId,
    uids: &UidSet,
) -> DbResult<Vec<Uid>> {
    mailboxes::selectable(conn, mailbox)?;
    expunge_matching(conn, changes, mailbox, uids, |flags| {
        flags.contains(SystemFlag::Deleted)
    })
}

/// STORE with UNCHANGEDSINCE (RFC 7162 3.1.3): messages changed after `unchanged_since` are
/// left alone and reported; only messages whose flags really change take the (one) MODSEQ.
pub(crate) fn store_flags(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: MailboxId,
    uids: &UidSet,
    operation: FlagOperation,
    flags: &FlagSet,
    unchanged_since: Option<ModSeq>,
) -> DbResult<FlagUpdate> {
    mailboxes::selectable(conn, mailbox)?;
    let mut update = FlagUpdate {
        changed: Vec::new(),
        modified: Vec::new(),
    };
    for message in load(conn, mailbox, uids)? {
        if unchanged_since.is_some_and(|limit| message.modseq > limit) {
            update.modified.push(message.uid);
            continue;
        }
        let mut new_flags = message.flags;
        if new_flags.apply(operation, flags) {
            update.changed.push(MessageFlags {
                uid: message.uid,
                flags: new_flags,
                modseq: message.modseq,
            });
        }
    }
    if update.changed.is_empty() {
        return Ok(update);
    }
    let modseq = mailboxes::next_modseq(conn, changes, mailbox)?;
    let mut stmt = conn.prepare_cached(
        "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5 WHERE mailbox_id = ?1 AND uid = ?2",
    )?;
    for message in &mut update.changed {
        message.modseq = modseq;
        stmt.execute(params![
            mailbox.0,
            message.uid.get(),
            message.flags.system_bits(),
            rows::keywords_text(&message.flags),
            rows::sql_modseq(modseq),
        ])?;
    }
    if operation != FlagOperation::Remove {
        register_keywords(conn, mailbox, flags.keywords())?;
    }
    Ok(update)
}

/// Everything SELECT needs — from the mailbox's list checkpoint when it has one (see
/// `lists`) — and, when a new checkpoint is due, its blob.
pub(crate) fn snapshot(
    conn: &Connection,
    mailbox: MailboxId,
) -> DbResult<(MailboxSnapshot, Option<Vec<u8>>)> {
    let row = mailboxes::selectable(conn, mailbox)?;
    let (messages, due) = match lists::current(conn, &row)? {
        Some(current) => current,
        None => {
            let messages: MessageList = load(conn, mailbox, &UidSet::All)?
                .into_iter()
                .map(Stored::flags)
                .collect();
            let due = lists::wanted(&messages);
            (messages, due)
        }
    };
    let checkpoint = if due {
        Some(lists::encode(&messages)?)
    } else {
        None
    };
    let snapshot = MailboxSnapshot {
        uid_validity: row.uid_validity,
        uid_next: row.uid_next,
        highest_modseq: row.highest_modseq,
        keywords: keywords(conn, mailbox)?,
        messages,
    };
    Ok((snapshot, checkpoint))
}

/// Messages changed and UIDs expunged after `since`.
pub(crate) fn changes_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> DbResult<MailboxChanges> {
    let row = mailboxes::selectable(conn, mailbox)?;
    Ok(MailboxChanges {
        uid_next: row.uid_next,
        highest_modseq: row.highest_modseq,
        keywords: keywords(conn, mailbox)?,
        changed: changed_since(conn, mailbox, since)?,
        expunged: logged_expunges(conn, mailbox, since)?,
        pruned_through: row.pruned_through,
    })
}

/// Messages added or changed after `since`, ascending by UID.
pub(crate) fn changed_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> DbResult<Vec<MessageFlags>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, modseq, flags, keywords FROM messages
         WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
    )?;
    let mut found = stmt.query(params![mailbox.0, rows::sql_modseq(since)])?;
    let mut changed = Vec::new();
    while let Some(row) = found.next()? {
        changed.push(MessageFlags {
            uid: rows::uid(row.get(0)?)?,
            modseq: rows::modseq(row.get(1)?)?,
            flags: rows::flags(row.get(2)?, row.get_ref(3)?.as_str_or_null()?),
        });
    }
    Ok(changed)
}

/// Flags, dates and sizes of `uids`.
pub(crate) fn metas(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &UidSet,
) -> DbResult<Vec<MessageMeta>> {
    mailboxes::selectable(conn, mailbox)?;
    Ok(load(conn, mailbox, uids)?
        .into_iter()
        .map(Stored::meta)
        .collect())
}

/// The parsed structure of `uids`. Reads `contents` only, never the raw bytes.
pub(crate) fn summaries(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &UidSet,
) -> DbResult<Vec<(Uid, MessageSummary)>> {
    let mut summary_of = conn.prepare_cached("SELECT summary FROM contents WHERE id = ?1")?;
    per_content(conn, mailbox, uids, |content| {
        summary_of.query_row([content], |row| {
            Ok(decode_summary(row.get_ref(0)?.as_blob()?))
        })?
    })
}

/// The ENVELOPE and BODYSTRUCTURE of `uids` in wire form: from the fetch cache, or
/// computed from the stored summary where the cache lacks them (see `cache`).
pub(crate) fn wire_summaries(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &UidSet,
) -> DbResult<Vec<(Uid, WireSummary)>> {
    per_content(conn, mailbox, uids, |content| {
        match cache::get(conn, content)? {
            Some(wire) => Ok(wire),
            None => cache::compute(conn, content),
        }
    })
}

/// `of(content id)` for each message of `uids`, ascending by UID.
fn per_content<T>(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &UidSet,
    mut of: impl FnMut(i64) -> DbResult<T>,
) -> DbResult<Vec<(Uid, T)>> {
    mailboxes::selectable(conn, mailbox)?;
    // The span scan reads message rows only; a content is looked up for the UIDs asked for
    // alone (a join would load the content of every row the spans cross: profiled, most of
    // a sparse SEARCH's time).
    let select = "SELECT uid, content_id FROM messages
                  WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid";
    let mut found = Vec::new();
    scan(conn, select, mailbox, uids, |row| {
        let value = of(row.get(1)?)?;
        found.push((rows::uid(row.get(0)?)?, value));
        Ok(())
    })?;
    Ok(found)
}

fn decode_summary(bytes: &[u8]) -> DbResult<MessageSummary> {
    postcard::from_bytes(bytes)
        .map_err(|error| Failure::Internal(format!("cannot decode a message summary: {error}")))
}

/// The stored summary of content `id` (`bytes`); one this build cannot read is parsed again
/// from the message.
pub(crate) fn summary_or_parse(
    conn: &Connection,
    id: i64,
    bytes: &[u8],
) -> DbResult<MessageSummary> {
    match decode_summary(bytes) {
        Ok(summary) => Ok(summary),
        Err(_) => Ok(conn.query_row(
            "SELECT raw FROM content_data WHERE content_id = ?1",
            [id],
            |raw| Ok(portcullis_mime::parse(raw.get_ref(0)?.as_blob()?)),
        )?),
    }
}

/// The stored bytes of one message.
pub(crate) fn raw(conn: &Connection, mailbox: MailboxId, uid: Uid) -> DbResult<Option<Bytes>> {
    mailboxes::selectable(conn, mailbox)?;
    raw_of(conn, mailbox, uid)
}

/// The stored bytes of `uids` (any order, repeats ignored), ascending by UID.
pub(crate) fn raws(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
) -> DbResult<Vec<(Uid, Bytes)>> {
    mailboxes::selectable(conn, mailbox)?;
    let mut uids = uids.to_vec();
    uids.sort_unstable();
    uids.dedup();
    let mut found = Vec::with_capacity(uids.len());
    for uid in uids {
        if let Some(raw) = raw_of(conn, mailbox, uid)? {
            found.push((uid, raw));
        }
    }
    Ok(found)
}

/// The first bytes of messages (see `Store::raw_prefixes`), ascending by UID. Read with
/// incremental blob I/O: only the pages of the prefix, not a whole 100 KB message for its
/// 2 KB header (profiled: a header search after a restart read 100 MB from disk).
pub(crate) fn raw_prefixes(
    conn: &Connection,
    mailbox: MailboxId,
    wanted: &[(Uid, u64)],
) -> DbResult<Vec<(Uid, Bytes)>> {
    mailboxes::selectable(conn, mailbox)?;
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    let mut content_of =
        conn.prepare_cached("SELECT content_id FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
    let mut found: Vec<(Uid, Bytes)> = Vec::with_capacity(wanted.len());
    for (uid, length) in wanted.into_iter().rev() {
        if found.last().is_some_and(|(last, _)| *last == uid) {
            continue; // the longest of repeated requests came first
        }
        let Some(content) = content_of
            .query_row(params![mailbox.0, uid.get()], |row| row.get::<_, i64>(0))
            .optional()?
        else {
            continue;
        };
        let blob = conn.blob_open(rusqlite::MAIN_DB, "content_data", "raw", content, true)?;
        let length = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .min(blob.len());
        let mut prefix = vec![0; length];
        blob.read_at_exact(&mut prefix, 0)?;
        found.push((uid, Bytes::from(prefix)));
    }
    found.reverse();
    Ok(found)
}

fn raw_of(conn: &Connection, mailbox: MailboxId, uid: Uid) -> DbResult<Option<Bytes>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.raw FROM messages AS m JOIN content_data AS d ON d.content_id = m.content_id
         WHERE m.mailbox_id = ?1 AND m.uid = ?2",
    )?;
    let raw: Option<Vec<u8>> = stmt
        .query_row(params![mailbox.0, uid.get()], |row| row.get(0))
        .optional()?;
    Ok(raw.map(Bytes::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_needle_asks_for_its_trigrams_in_its_column() {
        assert_eq!(trigram_query(TextScope::Body, "ab"), None);
        assert_eq!(
            trigram_query(TextScope::Body, "abc").as_deref(),
            Some("body : (\"abc\")")
        );
        assert_eq!(
            trigram_query(TextScope::Headers, "a\"bcb\"").as_deref(),
            Some("headers : (\"\"\"bc\" AND \"a\"\"b\" AND \"bcb\" AND \"cb\"\"\")"),
            "quotes doubled, duplicates and order dropped"
        );
        assert_eq!(
            trigram_query(TextScope::Anywhere, "élan vital").as_deref(),
            Some(
                "\" vi\" AND \"an \" AND \"ita\" AND \"lan\" AND \"n v\" AND \"tal\" \
                 AND \"vit\" AND \"éla\""
            ),
            "characters, not bytes"
        );
    }

    #[test]
    fn a_long_needle_asks_for_a_bounded_spread_of_trigrams() {
        let needle: String = ('a'..='z').chain('A'..='Z').collect();
        let query = trigram_query(TextScope::Body, &needle).unwrap_or_default();
        let terms = query.matches(" AND ").count() + 1;
        assert!(terms <= MAX_QUERY_TRIGRAMS + 1, "{terms}: {query}");
        assert!(
            query.contains("\"abc\"") && query.contains("\"XYZ\""),
            "{query}"
        );
    }
}
