//! Checkpoints of big mailboxes' message lists, so that a SELECT after a restart does not read
//! one row per message.
//!
//! SELECT needs every message's UID, flags and MODSEQ. Read row by row, that is about 100 ms
//! for 100,000 messages. A checkpoint (`mailbox_lists`) is the whole list as one compact blob
//! (postcard: UID deltas, system-flag bits, MODSEQ and keywords as varints and strings, about
//! 6 bytes a message) exact at one MODSEQ `m`. A snapshot is then the checkpoint with the
//! rows changed after `m` (index on (mailbox, modseq)) merged in and the UIDs expunged after
//! `m` (the expunge log) taken out — exact, in the snapshot's one read transaction.
//!
//! A checkpoint is written (by the writer, after the snapshot that found it missing or stale
//! was answered) when the mailbox has [`MIN_MESSAGES`] or more and more than an eighth of them
//! (at least [`MIN_CHANGES`]) changed since the last one. One that the expunge log no longer
//! reaches back to (pruned past `m`) is not used; the next snapshot rewrites it. It goes with
//! its mailbox (foreign key, on delete cascade).

use portcullis_store::{MailboxId, MessageFlags, ModSeq, Uid};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{DbResult, Failure};
use crate::mailboxes::Mailbox;
use crate::rows;

/// Mailboxes smaller than this are read row by row (well under a millisecond).
pub(crate) const MIN_MESSAGES: usize = 1024;

/// Changes since the checkpoint below which it is not rewritten.
const MIN_CHANGES: usize = 1024;

/// One message of a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
struct Entry<'a> {
    /// UID minus the previous entry's UID.
    uid_delta: u32,
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
) -> DbResult<Option<(Vec<MessageFlags>, bool)>> {
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
    let base = decode(&data)?;
    let changed = crate::messages::changed_since(conn, mailbox.id, since)?;
    let expunged = crate::messages::logged_expunges(conn, mailbox.id, since)?;
    let changes = changed.len() + expunged.len();
    let messages = merge(base, changed, &expunged);
    let due = changes >= MIN_CHANGES.max(messages.len() / 8);
    Ok(Some((messages, due)))
}

/// Whether a mailbox read row by row should get a checkpoint.
pub(crate) fn wanted(messages: &[MessageFlags]) -> bool {
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

/// The checkpoint blob of a message list (ascending by UID).
pub(crate) fn encode(messages: &[MessageFlags]) -> DbResult<Vec<u8>> {
    let keywords: Vec<Option<String>> = messages
        .iter()
        .map(|m| rows::keywords_text(&m.flags))
        .collect();
    let mut previous = 0;
    let entries: Vec<Entry<'_>> = messages
        .iter()
        .zip(&keywords)
        .map(|(m, words)| {
            let uid = m.uid.get();
            let entry = Entry {
                uid_delta: uid - previous,
                flags: m.flags.system_bits(),
                modseq: m.modseq.get(),
                keywords: words.as_deref(),
            };
            previous = uid;
            entry
        })
        .collect();
    postcard::to_stdvec(&entries)
        .map_err(|error| Failure::Internal(format!("cannot encode a message list: {error}")))
}

fn decode(data: &[u8]) -> DbResult<Vec<MessageFlags>> {
    let entries: Vec<Entry<'_>> = postcard::from_bytes(data)
        .map_err(|error| Failure::Internal(format!("corrupt message list checkpoint: {error}")))?;
    let mut uid = 0_u32;
    entries
        .into_iter()
        .map(|entry| {
            uid = uid.checked_add(entry.uid_delta).ok_or_else(|| {
                Failure::Internal("corrupt message list checkpoint: UID overflow".to_owned())
            })?;
            Ok(MessageFlags {
                uid: rows::uid(i64::from(uid))?,
                flags: rows::flags(i64::from(entry.flags), entry.keywords),
                modseq: rows::modseq(i64::try_from(entry.modseq).unwrap_or(i64::MAX))?,
            })
        })
        .collect()
}

/// `base` without `expunged`, with `changed` (both ascending by UID) replacing or adding
/// messages.
fn merge(
    base: Vec<MessageFlags>,
    changed: Vec<MessageFlags>,
    expunged: &[Uid],
) -> Vec<MessageFlags> {
    let mut merged = Vec::with_capacity(base.len() + changed.len());
    let mut changed = changed.into_iter().peekable();
    for message in base {
        while let Some(next) = changed.next_if(|c| c.uid < message.uid) {
            merged.push(next);
        }
        match changed.next_if(|c| c.uid == message.uid) {
            Some(newer) => merged.push(newer),
            None if expunged.binary_search(&message.uid).is_ok() => {}
            None => merged.push(message),
        }
    }
    merged.extend(changed);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::{FlagSet, Keyword, SystemFlag};

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
        let list = vec![
            message(1, 1, false, None),
            message(7, 9, true, Some("$Forwarded")),
            message(4_000_000_000, u64::from(u32::MAX) + 5, true, None),
        ];
        let data = encode(&list).unwrap_or_default();
        assert_eq!(decode(&data).ok(), Some(list));
        assert!(decode(b"\x05\x01").is_err(), "truncated");
    }

    #[test]
    fn changes_and_expunges_merge_into_the_base() {
        let base = vec![
            message(1, 1, false, None),
            message(2, 1, false, None),
            message(3, 1, false, None),
        ];
        let changed = vec![message(2, 5, true, None), message(9, 6, false, None)];
        let merged = merge(base, changed, &[Uid::MIN, Uid::new(3).unwrap_or(Uid::MIN)]);
        assert_eq!(
            merged,
            vec![message(2, 5, true, None), message(9, 6, false, None)]
        );
    }
}
