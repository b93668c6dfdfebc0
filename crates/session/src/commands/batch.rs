//! Per-message data for FETCH and SEARCH, read from the store a batch at a time and a few
//! batches ahead.
//!
//! Each batch is read on a task of its own while the command works through an earlier one:
//! the store's reads (on its reader threads) overlap encoding and sending, and a mailbox
//! whose pages are not in memory has several disk reads in flight instead of one (profiled:
//! a FETCH of 100,000 ENVELOPEs, or the verification of 2,000 SUBJECT candidates, after a
//! restart waited on one random read after the other).

use std::collections::VecDeque;
use std::sync::Arc;

use portcullis_mime::MessageSummary;
use portcullis_store::{MailboxId, MessageMeta, Store, StoreError, Uid, WireSummary};
use tokio::task::JoinHandle;

use crate::error::{CommandResult, Refusal};

/// Messages read per store round trip.
pub(crate) const BATCH: usize = 256;

/// Batches being read at once.
const READ_AHEAD: usize = 3;

/// What to read for each message.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wanted {
    /// Flags, dates and sizes (`Store::messages`).
    pub(crate) meta: bool,
    /// The stored parse.
    pub(crate) summary: bool,
    /// ENVELOPE and BODYSTRUCTURE as the store keeps them encoded.
    pub(crate) wire: bool,
    /// The session has UTF8=ACCEPT: wire forms with 8-bit strings are not sent as they are,
    /// so those messages' summaries are read too.
    pub(crate) utf8: bool,
}

impl Wanted {
    fn anything(self) -> bool {
        self.meta || self.summary || self.wire
    }
}

/// What was read for one batch, each list ascending by UID; a message missing from a list
/// it was asked for is gone from the store.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) metas: Vec<MessageMeta>,
    pub(crate) summaries: Vec<(Uid, MessageSummary)>,
    pub(crate) wires: Vec<(Uid, WireSummary)>,
}

impl Batch {
    pub(crate) fn meta(&self, uid: Uid) -> Option<&MessageMeta> {
        find(&self.metas, uid, |m| m.uid)
    }

    pub(crate) fn summary(&self, uid: Uid) -> Option<&MessageSummary> {
        find(&self.summaries, uid, |(u, _)| *u).map(|(_, summary)| summary)
    }

    pub(crate) fn wire(&self, uid: Uid) -> Option<&WireSummary> {
        find(&self.wires, uid, |(u, _)| *u).map(|(_, wire)| wire)
    }
}

/// The entry of `uid` in a list ascending by UID.
fn find<T>(list: &[T], uid: Uid, key: impl Fn(&T) -> Uid) -> Option<&T> {
    list.binary_search_by_key(&uid, key)
        .ok()
        .and_then(|index| list.get(index))
}

/// The batches of one command, handed out in order.
pub(crate) struct ReadAhead {
    store: Arc<dyn Store>,
    mailbox: MailboxId,
    wanted: Wanted,
    queued: std::vec::IntoIter<Vec<Uid>>,
    reading: VecDeque<JoinHandle<CommandResult<Batch>>>,
}

impl ReadAhead {
    /// Reads `batches` (the UIDs of each) of `mailbox`; nothing when nothing is wanted.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        mailbox: MailboxId,
        wanted: Wanted,
        batches: Vec<Vec<Uid>>,
    ) -> ReadAhead {
        ReadAhead {
            store,
            mailbox,
            wanted,
            queued: batches.into_iter(),
            reading: VecDeque::with_capacity(READ_AHEAD),
        }
    }

    /// The next batch's data (empty once every batch was handed out, or when nothing is
    /// wanted).
    pub(crate) async fn next(&mut self) -> CommandResult<Batch> {
        while self.wanted.anything()
            && self.reading.len() < READ_AHEAD
            && let Some(uids) = self.queued.next()
        {
            let store = Arc::clone(&self.store);
            let read = read(store, self.mailbox, self.wanted, uids);
            self.reading.push_back(tokio::spawn(read));
        }
        match self.reading.pop_front() {
            Some(reading) => reading.await.map_err(|error| {
                Refusal::from(StoreError::Backend(format!("a batch read failed: {error}")))
            })?,
            None => Ok(Batch::default()),
        }
    }
}

async fn read(
    store: Arc<dyn Store>,
    mailbox: MailboxId,
    wanted: Wanted,
    uids: Vec<Uid>,
) -> CommandResult<Batch> {
    let mut batch = Batch::default();
    if uids.is_empty() {
        return Ok(batch);
    }
    if wanted.meta {
        batch.metas = store.messages(mailbox, &uids).await?;
    }
    if wanted.summary {
        batch.summaries = store.summaries(mailbox, &uids).await?;
    }
    if wanted.wire {
        batch.wires = store.wire_summaries(mailbox, &uids).await?;
        let differ: Vec<Uid> = batch
            .wires
            .iter()
            .filter(|(_, wire)| wanted.utf8 && !wire.same_for_utf8())
            .map(|(uid, _)| *uid)
            .collect();
        if !differ.is_empty() {
            batch.summaries = store.summaries(mailbox, &differ).await?;
        }
    }
    Ok(batch)
}
