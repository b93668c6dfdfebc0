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
    let base = match decode(&data) {
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
    let mut runs: Vec<Run<'_>> = Vec::new();
    let mut last_uid = 0;
    for (m, words) in messages.iter().zip(&keywords) {
        let uid = m.uid.get();
        let (flags, modseq, words) = (m.flags.system_bits(), m.modseq.get(), words.as_deref());
        match runs.last_mut() {
            Some(run)
                if uid == last_uid + 1
                    && (run.flags, run.modseq, run.keywords) == (flags, modseq, words) =>
            {
                run.count += 1;
            }
            _ => runs.push(Run {
                uid_gap: uid - last_uid,
                count: 1,
                flags,
                modseq,
                keywords: words,
            }),
        }
        last_uid = uid;
    }
    postcard::to_stdvec(&runs)
        .map_err(|error| Failure::Internal(format!("cannot encode a message list: {error}")))
}

fn decode(data: &[u8]) -> DbResult<Vec<MessageFlags>> {
    let corrupt = |why: &str| Failure::Internal(format!("corrupt message list checkpoint: {why}"));
    let runs: Vec<Run<'_>> =
        postcard::from_bytes(data).map_err(|error| corrupt(&error.to_string()))?;
    // Every UID is distinct and at most u32::MAX: a larger total is corrupt (and is not
    // allocated).
    let total = runs
        .iter()
        .try_fold(0_u32, |sum, run| sum.checked_add(run.count))
        .ok_or_else(|| corrupt("too many messages"))?;
    let mut messages = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut last_uid = 0_u32;
    for run in runs {
        let first = last_uid
            .checked_add(run.uid_gap)
            .filter(|_| run.uid_gap > 0 && run.count > 0)
            .ok_or_else(|| corrupt("UIDs out of order"))?;
        last_uid = first
            .checked_add(run.count - 1)
            .ok_or_else(|| corrupt("UID overflow"))?;
        let flags = rows::flags(i64::from(run.flags), run.keywords);
        let modseq = rows::modseq(i64::try_from(run.modseq).unwrap_or(i64::MAX))?;
        for uid in first..=last_uid {
            messages.push(MessageFlags {
                uid: rows::uid(i64::from(uid))?,
                flags: flags.clone(),
                modseq,
            });
        }
    }
    Ok(messages)
}

/// `base` without `expunged`, with `changed` (both ascending by UID) replacing or adding
/// messages.
fn merge(
    base: Vec<MessageFlags>,
    changed: Vec<MessageFlags>,
    expunged: &[Uid],
) -> Vec<MessageFlags> {
    if changed.is_empty() && expunged.is_empty() {
        return base;
    }
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
