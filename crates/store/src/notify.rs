//! Change notification: every session with a mailbox selected holds a watch on it and wakes
//! when a commit raises the mailbox's HIGHESTMODSEQ. A `watch` channel coalesces bursts
//! (a session only needs to know "something changed, resync from MODSEQ x"), costs one
//! allocation per watched mailbox, and never lags the way a broadcast queue can.
//! Backends call [`ChangeNotifier::notify`] after their commit is durable.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

use crate::{MailboxId, ModSeq};

/// A session's subscription to one mailbox's changes. The value is the latest
/// HIGHESTMODSEQ the notifier was told of.
pub type ChangeWatch = watch::Receiver<ModSeq>;

/// The per-mailbox watch channels of one store.
#[derive(Debug, Default)]
pub struct ChangeNotifier {
    channels: Mutex<HashMap<MailboxId, watch::Sender<ModSeq>>>,
}

impl ChangeNotifier {
    /// A new notifier with no watched mailbox.
    pub fn new() -> ChangeNotifier {
        ChangeNotifier::default()
    }

    /// Watches `mailbox`, whose HIGHESTMODSEQ is `current` as far as the caller knows.
    pub fn watch(&self, mailbox: MailboxId, current: ModSeq) -> ChangeWatch {
        let mut channels = self.lock();
        if let Some(sender) = channels.get(&mailbox) {
            sender.send_if_modified(|latest| {
                let raise = current > *latest;
                if raise {
                    *latest = current;
                }
                raise
            });
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(current);
        channels.insert(mailbox, sender);
        receiver
    }

    /// Tells every watcher of `mailbox` that its HIGHESTMODSEQ is now `modseq`.
    pub fn notify(&self, mailbox: MailboxId, modseq: ModSeq) {
        let mut channels = self.lock();
        let Some(sender) = channels.get(&mailbox) else {
            return;
        };
        if sender.receiver_count() == 0 {
            channels.remove(&mailbox);
            return;
        }
        sender.send_if_modified(|latest| {
            let raise = modseq > *latest;
            if raise {
                *latest = modseq;
            }
            raise
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MailboxId, watch::Sender<ModSeq>>> {
        // A poisoned lock only means another thread panicked while holding it; the map
        // itself is always consistent (single inserts and removes).
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modseq(value: u64) -> ModSeq {
        ModSeq::new(value).unwrap_or(ModSeq::MIN)
    }

    #[tokio::test]
    async fn watchers_wake_on_a_higher_modseq_only() {
        let notifier = ChangeNotifier::new();
        let mut first = notifier.watch(MailboxId(1), modseq(5));
        let mut other_mailbox = notifier.watch(MailboxId(2), modseq(1));
        notifier.notify(MailboxId(1), modseq(4));
        assert!(!first.has_changed().unwrap_or(true));
        notifier.notify(MailboxId(1), modseq(6));
        assert!(first.has_changed().unwrap_or(false));
        assert_eq!(*first.borrow_and_update(), modseq(6));
        assert!(!other_mailbox.has_changed().unwrap_or(true));
        let _ = other_mailbox.borrow_and_update();
    }

    #[test]
    fn unwatched_channels_are_dropped() {
        let notifier = ChangeNotifier::new();
        drop(notifier.watch(MailboxId(1), modseq(1)));
        notifier.notify(MailboxId(1), modseq(2));
        assert!(notifier.lock().is_empty());
    }
}
