//! Checkpoints of big mailboxes' message lists, so that a SELECT after a restart does not read
//! one row per message.
//!
//! SELECT needs every message's UID, flags and MODSEQ. Read row by row, that is about 100 ms
//! for 100,000 messages. A checkpoint (`mailbox_lists`) is the whole list as one compact blob
//! exact at one MODSEQ `m`: runs of messages with consecutive UIDs and the same flags and
//! MODSEQ (postcard: UID gap, length, system-flag bits, MODSEQ and keywords as varints and
//! strings). A mailbox filled by a bulk import or a folder copy is a few runs; one whose
//! every message differs is about 6 bytes a message. (Per message, the blob of 100,000 was
//! 116 pages, and decoding it most of a cold SELECT: profiled.) A snapshot is then the
//! checkpoint with the rows changed after `m` (index on (mailbox, modseq)) merged in and the
//! UIDs expunged after `m` (the expunge log) taken out — exact, in the snapshot's one read
//! transaction.
//!
//! A checkpoint is written (by the writer, after the snapshot that found it missing or stale
//! was answered) when the mailbox has [`MIN_MESSAGES`] or more and more than an eighth of them
//! (at least [`MIN_CHANGES`]) changed since the last one. One that the expunge log no longer
//! reaches back to (pruned past `m`) is not used; the next snapshot rewrites it. It goes with
//! its mailbox (foreign key, on delete cascade).

use portcullis_store::{MailboxId, MessageList, MessageRun, ModSeq, Uid};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{DbResult, Failure};
use crate::mailboxes::Mailbox;
use crate::rows;

/// Mailboxes smaller than this are read row by row (well under a millisecond).
pub(crate) const MIN_MESSAGES: usize = 1024;

/// Changes since the checkpoint below which it is not rewritten.
const MIN_CHANGES: usize = 1024;

/// Messages of a checkpoint with consecutive UIDs and the same flags and MODSEQ.
#[derive(Debug, Serialize, Deserialize)]
struct Run<'a> {
    /// The first UID minus the previous run's last UID (the first run's: its first UID).
    uid_gap: u32,
    /// How many messages, at least one.
    count: u32,
    flags: u8,
    modseq: u64,
    #[serde(borrow)]
    keywords: Option<&'a str>,
}

/// The checkpoint of `mailbox` brought to now: `None` without a usable one. Also says
/// whether a new checkpoint is due.
pub(crate) fn current(
    conn: &Connection,
    mailbox: &Mailbox,
) -> DbResult<Option<(MessageList, bool)>> {
    let Some((modseq, data)) = conn
        .prepare_cached("SELECT modseq, data FROM mailbox_lists WHERE mailbox_id = ?1")?
        .query_row([mailbox.id.0], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let since = rows::modseq(modseq)?;
    if mailbox.pruned_through.is_some_and(|pruned| since < pruned) {
        return Ok(None);
    }
    let mut messages = match decode(&data) {
        Ok(base) => base,
        Err(error) => {
            // Only a cache: the rows are read instead, and a new checkpoint written.
            tracing::warn!(
                mailbox = mailbox.id.0,
                ?error,
                "message list checkpoint unusable"
            );
            return Ok(None);
        }
    };
    // A checkpoint at the mailbox's HIGHESTMODSEQ (a mailbox at rest) has nothing after it:
    // no index lookups, which after a restart are page reads a cold SELECT waits for.
    let (changed, expunged) = if since >= mailbox.highest_modseq {
        (Vec::new(), Vec::new())
    } else {
        (
            crate::messages::changed_since(conn, mailbox.id, since)?,
            crate::messages::logged_expunges(conn, mailbox.id, since)?,
        )
    };
    let changes = changed.len() + expunged.len();
    if changes > 0 {
        messages.merge(&changed, &expunged);
    }
    let due = changes >= MIN_CHANGES.max(messages.len() / 8);
    Ok(Some((messages, due)))
}

/// Whether a mailbox read row by row should get a checkpoint.
pub(crate) fn wanted(messages: &MessageList) -> bool {
    messages.len() >= MIN_MESSAGES
}

/// Stores `data` (from [`encode`]) as the checkpoint of `mailbox` at `modseq`, unless the
/// mailbox is gone or has a newer one.
pub(crate) fn save(
    conn: &Connection,
    mailbox: MailboxId,
    modseq: ModSeq,
    data: &[u8],
) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT INTO mailbox_lists (mailbox_id, modseq, data)
             SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = ?1)
         ON CONFLICT (mailbox_id) DO UPDATE SET modseq = excluded.modseq, data = excluded.data
             WHERE excluded.modseq > mailbox_lists.modseq",
    )?
    .execute(params![mailbox.0, rows::sql_modseq(modseq), data])?;
    Ok(())
}

/// The checkpoint blob of a message list.
pub(crate) fn encode(messages: &MessageList) -> DbResult<Vec<u8>> {
    let keywords: Vec<Option<String>> = messages
        .runs()
        .iter()
        .map(|run| rows::keywords_text(&run.flags))
        .collect();
    let mut last_uid = 0;
    let runs: Vec<Run<'_>> = messages
        .runs()
        .iter()
        .zip(&keywords)
        .map(|(run, words)| {
            let uid_gap = run.first.get() - last_uid;
            last_uid = run.last_uid().map_or(last_uid, Uid::get);
            Run {
                uid_gap,
                count: run.count,
                flags: run.flags.system_bits(),
                modseq: run.modseq.get(),
                keywords: words.as_deref(),
            }
        })
        .collect();
    postcard::to_stdvec(&runs)
        .map_err(|error| Failure::Internal(format!("cannot encode a message list: {error}")))
}

fn decode(data: &[u8]) -> DbResult<MessageList> {
    let corrupt = |why: &str| Failure::Internal(format!("corrupt message list checkpoint: {why}"));
    let runs: Vec<Run<'_>> =
        postcard::from_bytes(data).map_err(|error| corrupt(&error.to_string()))?;
    let mut messages = MessageList::new();
    let mut last_uid = 0_u32;
    for run in runs {
        let first = last_uid
            .checked_add(run.uid_gap)
            .filter(|_| run.uid_gap > 0)
            .ok_or_else(|| corrupt("UIDs out of order"))?;
        let pushed = messages.push(MessageRun {
            first: rows::uid(i64::from(first))?,
            count: run.count,
            flags: rows::flags(i64::from(run.flags), run.keywords),
            modseq: rows::modseq(i64::try_from(run.modseq).unwrap_or(i64::MAX))?,
        });
        if !pushed {
            return Err(corrupt("a run out of order, empty or past the largest UID"));
        }
        last_uid = messages.last_uid().map_or(last_uid, Uid::get);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::{FlagSet, Keyword, MessageFlags, SystemFlag};

    fn message(uid: u32, modseq: u64, seen: bool, keyword: Option<&str>) -> MessageFlags {
        let mut flags = FlagSet::new();
        if seen {
            flags.insert(SystemFlag::Seen);
        }
        if let Some(word) = keyword.and_then(Keyword::new) {
            flags.insert_keyword(word);
        }
        MessageFlags {
            uid: Uid::new(uid).unwrap_or(Uid::MIN),
            flags,
            modseq: ModSeq::new(modseq).unwrap_or(ModSeq::MIN),
        }
    }

    #[test]
    fn a_list_round_trips_through_its_blob() {
        let mut list = vec![
            message(1, 1, false, None),
            message(7, 9, true, Some("$Forwarded")),
            message(4_000_000_000, u64::from(u32::MAX) + 5, true, None),
        ];
        // A run of 1,000 (and one that ends where a flag differs).
        list.extend((10..1_010).map(|uid| message(uid, 12, true, None)));
        list.push(message(1_010, 12, false, None));
        list.push(message(1_011, 12, false, Some("$Junk")));
        list.sort_by_key(|m| m.uid);
        let list: MessageList = list.into_iter().collect();
        let data = encode(&list).unwrap_or_default();
        assert!(data.len() < 80, "runs, not messages: {} bytes", data.len());
        assert_eq!(decode(&data).ok(), Some(list));
        assert!(decode(b"\x05\x01").is_err(), "truncated");
        // Runs out of order, of nothing, or past the largest UID.
        let run = |uid_gap, count| Run {
            uid_gap,
            count,
            flags: 0,
            modseq: 1,
            keywords: None,
        };
        for bad in [
            vec![run(5, 1), run(0, 1)],
            vec![run(5, 0)],
            vec![run(u32::MAX, 2)],
            vec![run(1, u32::MAX), run(1, 2)],
        ] {
            let data = postcard::to_stdvec(&bad).unwrap_or_default();
            assert!(decode(&data).is_err(), "{bad:?}");
        }
    }
}
