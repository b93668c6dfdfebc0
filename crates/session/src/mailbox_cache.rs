//! The message lists of recently selected big mailboxes, shared by the sessions of a server,
//! so that SELECT does no per-message work when the mailbox is known.
//!
//! A SELECT needs the mailbox's whole sequence-number → UID map (and flags). Loading it is
//! one row per message: about 100 ms for 100,000 messages. Here the list a view started
//! from is kept (an `Arc`, shared copy-on-write with the views) with the MODSEQ it is
//! exact at; the next SELECT of that mailbox, by any session, asks the store only for what
//! changed since (`Store::changes_since`, by MODSEQ index), folds that in, and shares the
//! list again — or asks nothing when the mailbox's HIGHESTMODSEQ, read with its name, is
//! the cached one (the usual case). Mailbox ids are never reused, so an id always names the
//! same mailbox incarnation (and UIDVALIDITY); a change set the store cannot give
//! completely (its expunge log was pruned past the cached MODSEQ) means a fresh load.
//!
//! Memory: by default only mailboxes of [`MIN_CACHED`] messages or more are kept, at most
//! [`CAPACITY`] runs of messages (see [`portcullis_store::MessageList`]) in all (the least
//! recently selected go first). A cached list that sessions still share costs nothing more
//! than those sessions' views did before.

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_store::{MailboxId, MailboxInfo, Store, StoreResult};

use crate::view::{MailboxView, ViewBase};

/// Smaller mailboxes load in well under a millisecond: not worth keeping.
pub(crate) const MIN_CACHED: usize = 1024;

/// Most runs of messages kept over all cached mailboxes (about 56 bytes each; a run is one
/// message or more).
pub const CAPACITY: usize = 2_000_000;

/// See the module documentation.
#[derive(Debug)]
pub struct MailboxCache {
    inner: Mutex<Inner>,
    min_messages: usize,
    capacity: usize,
}

impl Default for MailboxCache {
    fn default() -> MailboxCache {
        MailboxCache::new(MIN_CACHED, CAPACITY)
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<MailboxId, Entry>,
    /// Runs over all entries.
    runs: usize,
    /// Increases with every use, for least-recently-used eviction.
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    base: ViewBase,
    used: u64,
}

impl MailboxCache {
    /// A cache of mailboxes with `min_messages` or more, `capacity` runs in all.
    /// (The session tests cache every mailbox, so that all of them run through here.)
    pub fn new(min_messages: usize, capacity: usize) -> MailboxCache {
        MailboxCache {
            inner: Mutex::default(),
            min_messages,
            capacity,
        }
    }

    /// The view SELECT/EXAMINE starts from: the cached state of `id` brought up to date, or
    /// a snapshot from the store.
    pub(crate) async fn open(
        &self,
        store: &dyn Store,
        info: &MailboxInfo,
        read_only: bool,
    ) -> StoreResult<MailboxView> {
        let id = info.id;
        if let Some(base) = self.get(id) {
            let since = base.modseq;
            if since == info.highest_modseq {
                let watch = store.watch(id, since);
                return Ok(MailboxView::from_base(id, read_only, base, watch));
            }
            match store.changes_since(id, since).await {
                Ok(changes) if changes.is_complete_after(since) => {
                    let watch = store.watch(id, changes.highest_modseq);
                    let mut view = MailboxView::from_base(id, read_only, base, watch);
                    view.apply(changes, true, &[]);
                    self.put(id, view.base());
                    return Ok(view);
                }
                Ok(_) => {}
                Err(error) => {
                    self.remove(id);
                    return Err(error);
                }
            }
        }
        let snapshot = store.snapshot(id).await?;
        let watch = store.watch(id, snapshot.highest_modseq);
        let view = MailboxView::new(id, read_only, snapshot, watch);
        self.put(id, view.base());
        Ok(view)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map is consistent after every operation; a panic elsewhere cannot break it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, id: MailboxId) -> Option<ViewBase> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&id)?;
        entry.used = now;
        Some(entry.base.clone())
    }

    fn remove(&self, id: MailboxId) {
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&id) {
            inner.runs -= runs(&old.base);
        }
    }

    fn put(&self, id: MailboxId, base: Option<ViewBase>) {
        let Some(base) =
            base.filter(|b| b.messages.len() >= self.min_messages && runs(b) <= self.capacity)
        else {
            self.remove(id);
            return;
        };
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        inner.runs += runs(&base);
        if let Some(old) = inner.entries.insert(id, Entry { base, used }) {
            inner.runs -= runs(&old.base);
        }
        while inner.runs > self.capacity {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.runs -= runs(&old.base);
            }
        }
    }

    /// Runs held over all cached mailboxes.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().runs
    }
}

fn runs(base: &ViewBase) -> usize {
    base.messages.runs().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::{FlagSet, MessageFlags, ModSeq, Uid, UidValidity};
    use std::sync::Arc;

    /// A mailbox of `messages` that differ in MODSEQ: as many runs.
    fn base(messages: usize) -> ViewBase {
        let list = (1..=messages)
            .map(|n| {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                MessageFlags {
                    uid: Uid::new(n).unwrap_or(Uid::MIN),
                    flags: FlagSet::new(),
                    modseq: ModSeq::new(u64::from(n)).unwrap_or(ModSeq::MIN),
                }
            })
            .collect();
        ViewBase {
            uid_validity: UidValidity::new(1).unwrap_or_else(|| unreachable!()),
            uid_next: Uid::MIN,
            keywords: Vec::new(),
            modseq: ModSeq::MIN,
            messages: Arc::new(list),
        }
    }

    #[test]
    fn small_mailboxes_are_not_kept_and_big_ones_are_shared() {
        let cache = MailboxCache::default();
        cache.put(MailboxId(1), Some(base(MIN_CACHED - 1)));
        assert!(cache.get(MailboxId(1)).is_none());
        let big = base(MIN_CACHED);
        cache.put(MailboxId(2), Some(big.clone()));
        let got = cache.get(MailboxId(2)).map(|b| b.messages);
        assert!(got.is_some_and(|m| Arc::ptr_eq(&m, &big.messages)));
        cache.put(MailboxId(2), None);
        assert!(
            cache.get(MailboxId(2)).is_none(),
            "a view with pending expunges"
        );
        assert_eq!(cache.held(), 0);
    }

    #[test]
    fn the_least_recently_used_go_first_beyond_the_capacity() {
        let cache = MailboxCache::default();
        let third = CAPACITY / 3;
        for id in 1..=3 {
            cache.put(MailboxId(id), Some(base(third)));
        }
        assert!(cache.get(MailboxId(1)).is_some());
        cache.put(MailboxId(4), Some(base(third)));
        assert!(cache.get(MailboxId(2)).is_none(), "least recently used");
        assert!(cache.get(MailboxId(1)).is_some());
        assert!(cache.held() <= CAPACITY);
    }
}
