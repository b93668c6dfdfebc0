//! The selected mailbox as this session's client knows it: the sequence-number → UID map,
//! flags, the `\Recent` UIDs this session owns, and expunges not yet reported.
//!
//! Architecture invariant: sequence numbers change only where RFC 9051 7.5.1 allows. Store
//! changes are folded in by [`MailboxView::apply`]; when the running command forbids EXPUNGE
//! responses (FETCH, STORE, SEARCH by sequence number) expunged messages stay in the view,
//! marked, keeping their numbers until a later command may report them. EXISTS therefore
//! never decreases without an EXPUNGE.

use std::sync::Arc;

use portcullis_proto::SequenceSet;
use portcullis_store::{
    ChangeWatch, FlagSet, Keyword, MailboxChanges, MailboxId, MailboxSnapshot, ModSeq, Uid,
    UidValidity,
};

use crate::error::{CommandResult, Refusal};

/// One message of the view.
#[derive(Debug, Clone)]
pub(crate) struct ViewMessage {
    pub(crate) uid: Uid,
    pub(crate) flags: FlagSet,
    pub(crate) modseq: ModSeq,
    /// Expunged in the store, not yet reported to the client.
    pub(crate) expunged: bool,
}

/// A mailbox's state as of one MODSEQ, without anything of one session's: where a view starts.
#[derive(Debug, Clone)]
pub(crate) struct ViewBase {
    pub(crate) uid_validity: UidValidity,
    pub(crate) uid_next: Uid,
    pub(crate) keywords: Vec<Keyword>,
    pub(crate) modseq: ModSeq,
    pub(crate) messages: Arc<Vec<ViewMessage>>,
}

/// What a resync changed, for the session to report.
#[derive(Debug, Default)]
pub(crate) struct SyncEvents {
    /// Sequence numbers to report as EXPUNGE, in sending order (each relative to the
    /// numbering after the previous ones).
    pub(crate) expunged: Vec<u32>,
    /// The UIDs of the same messages, ascending (for VANISHED, RFC 7162 3.2.10.2).
    pub(crate) expunged_uids: Vec<Uid>,
    /// Whether EXISTS grew.
    pub(crate) exists_grew: bool,
    /// Whether new messages arrived (so `\Recent` may be claimed).
    pub(crate) new_messages: bool,
    /// UIDs whose flags changed (to report with FETCH FLAGS).
    pub(crate) flag_changes: Vec<Uid>,
    /// Whether the mailbox's keyword list grew (FLAGS/PERMANENTFLAGS to resend).
    pub(crate) keywords_changed: bool,
}

/// A selected mailbox.
#[derive(Debug)]
pub(crate) struct MailboxView {
    pub(crate) id: MailboxId,
    pub(crate) read_only: bool,
    pub(crate) uid_validity: UidValidity,
    pub(crate) uid_next: Uid,
    pub(crate) keywords: Vec<Keyword>,
    /// Shared with the [`crate::MailboxCache`] and other sessions until this view changes
    /// (copy on write).
    messages: Arc<Vec<ViewMessage>>,
    /// Everything up to this MODSEQ is folded into the view.
    known_modseq: ModSeq,
    /// How many messages are marked expunged (a count, so that SELECT of a big mailbox
    /// does not look through every message for them: profiled, half of a warm SELECT).
    pending_expunges: usize,
    /// UID ranges `[first, end)` this session claimed as `\Recent`.
    recent: Vec<(Uid, Uid)>,
    /// Wakes when the mailbox changes.
    pub(crate) watch: ChangeWatch,
    /// The result of the last `SEARCH RETURN (SAVE)` (RFC 5182), as UIDs, for `$`.
    pub(crate) saved: Vec<Uid>,
}

impl MailboxView {
    pub(crate) fn new(
        id: MailboxId,
        read_only: bool,
        snapshot: MailboxSnapshot,
        watch: ChangeWatch,
    ) -> MailboxView {
        let messages = snapshot
            .messages
            .into_iter()
            .map(|m| ViewMessage {
                uid: m.uid,
                flags: m.flags,
                modseq: m.modseq,
                expunged: false,
            })
            .collect();
        let base = ViewBase {
            uid_validity: snapshot.uid_validity,
            uid_next: snapshot.uid_next,
            keywords: snapshot.keywords,
            modseq: snapshot.highest_modseq,
            messages: Arc::new(messages),
        };
        MailboxView::from_base(id, read_only, base, watch)
    }

    /// A view starting from a mailbox state known before (see [`crate::MailboxCache`]).
    pub(crate) fn from_base(
        id: MailboxId,
        read_only: bool,
        base: ViewBase,
        watch: ChangeWatch,
    ) -> MailboxView {
        MailboxView {
            id,
            read_only,
            uid_validity: base.uid_validity,
            uid_next: base.uid_next,
            keywords: base.keywords,
            messages: base.messages,
            known_modseq: base.modseq,
            // A base never holds unreported expunges (see `base`).
            pending_expunges: 0,
            recent: Vec::new(),
            watch,
            saved: Vec::new(),
        }
    }

    /// The mailbox state this view holds, to start other views from; `None` while it holds
    /// expunges not yet reported (its numbering is then its own).
    pub(crate) fn base(&self) -> Option<ViewBase> {
        (!self.has_pending_expunges()).then(|| ViewBase {
            uid_validity: self.uid_validity,
            uid_next: self.uid_next,
            keywords: self.keywords.clone(),
            modseq: self.known_modseq,
            messages: Arc::clone(&self.messages),
        })
    }

    /// The number of messages the client knows (EXISTS).
    pub(crate) fn exists(&self) -> u32 {
        u32::try_from(self.messages.len()).unwrap_or(u32::MAX)
    }

    /// The highest MODSEQ folded in.
    pub(crate) fn known_modseq(&self) -> ModSeq {
        self.known_modseq
    }

    /// The message with sequence number `seq` (1-based).
    pub(crate) fn message(&self, seq: u32) -> Option<&ViewMessage> {
        self.messages
            .get(usize::try_from(seq).ok()?.checked_sub(1)?)
    }

    /// All messages, in sequence order.
    pub(crate) fn messages(&self) -> &[ViewMessage] {
        &self.messages
    }

    /// The sequence number of `uid`.
    pub(crate) fn seq_of(&self, uid: Uid) -> Option<u32> {
        let index = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        u32::try_from(index + 1).ok()
    }

    /// The view entry of `uid`.
    pub(crate) fn message_by_uid(&self, uid: Uid) -> Option<&ViewMessage> {
        let index = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        self.messages.get(index)
    }

    /// The view entry of `uid`, to change.
    pub(crate) fn by_uid_mut(&mut self, uid: Uid) -> Option<&mut ViewMessage> {
        let index = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        Arc::make_mut(&mut self.messages).get_mut(index)
    }

    /// Whether this session owns `\Recent` for `uid`.
    pub(crate) fn is_recent(&self, uid: Uid) -> bool {
        self.recent
            .iter()
            .any(|(first, end)| uid >= *first && uid < *end)
    }

    /// The number of `\Recent` messages in the view.
    pub(crate) fn recent_count(&self) -> u32 {
        // Claims are disjoint UID ranges: count each by binary search, not message by message.
        let position = |uid: Uid| self.messages.partition_point(|m| m.uid < uid);
        let count: usize = self
            .recent
            .iter()
            .map(|&(first, end)| position(end) - position(first))
            .sum();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// Records a `\Recent` claim.
    pub(crate) fn add_recent(&mut self, range: (Uid, Uid)) {
        self.recent.push(range);
    }

    /// The (sequence number, message) pairs a set names. By sequence number, numbers above
    /// EXISTS are BAD (RFC 9051 6.4); by UID, missing UIDs are simply left out.
    pub(crate) fn resolve(
        &self,
        set: &SequenceSet,
        by_uid: bool,
    ) -> CommandResult<Vec<(u32, &ViewMessage)>> {
        let mut found = Vec::new();
        if matches!(set, SequenceSet::Saved) {
            // RFC 5182 2.1: "$" stands for the saved UIDs, by UID or by sequence number
            // alike; UIDs expunged since are simply gone.
            for uid in &self.saved {
                if let Ok(index) = self.messages.binary_search_by_key(uid, |m| m.uid) {
                    found.push((
                        u32::try_from(index + 1).unwrap_or(u32::MAX),
                        &self.messages[index],
                    ));
                }
            }
            return Ok(found);
        }
        if by_uid {
            let largest = self.messages.last().map_or(0, |m| m.uid.get());
            for (low, high) in set.to_ranges(largest) {
                let start = self.messages.partition_point(|m| m.uid.get() < low);
                for (index, message) in self.messages[start..].iter().enumerate() {
                    if message.uid.get() > high {
                        break;
                    }
                    found.push((
                        u32::try_from(start + index + 1).unwrap_or(u32::MAX),
                        message,
                    ));
                }
            }
        } else {
            if set.exceeds(self.exists()) {
                return Err(Refusal::bad("Invalid message sequence number"));
            }
            for (low, high) in set.to_ranges(self.exists()) {
                for seq in low..=high {
                    if let Some(message) = self.message(seq) {
                        found.push((seq, message));
                    }
                }
            }
        }
        Ok(found)
    }

    /// Folds store changes into the view. `allow_expunge` is false while a command that
    /// forbids EXPUNGE responses runs; `quiet` lists UIDs whose flag changes the running
    /// command reports itself.
    pub(crate) fn apply(
        &mut self,
        changes: MailboxChanges,
        allow_expunge: bool,
        quiet: &[Uid],
    ) -> SyncEvents {
        let mut events = SyncEvents::default();
        for uid in &changes.expunged {
            if let Some(message) = self.by_uid_mut(*uid)
                && !message.expunged
            {
                message.expunged = true;
                self.pending_expunges += 1;
            }
        }
        if allow_expunge {
            (events.expunged, events.expunged_uids) = self.remove_expunged();
        }
        let before = self.messages.len();
        let last_uid = self.messages.last().map(|m| m.uid);
        for changed in changes.changed {
            match self.by_uid_mut(changed.uid) {
                Some(message) => {
                    let differs = message.flags != changed.flags;
                    message.flags = changed.flags;
                    message.modseq = changed.modseq;
                    if differs && !message.expunged && !quiet.contains(&changed.uid) {
                        events.flag_changes.push(changed.uid);
                    }
                }
                None if last_uid.is_none_or(|last| changed.uid > last) => {
                    Arc::make_mut(&mut self.messages).push(ViewMessage {
                        uid: changed.uid,
                        flags: changed.flags,
                        modseq: changed.modseq,
                        expunged: false,
                    });
                }
                // An older UID we do not have was expunged and reported already.
                None => {}
            }
        }
        // Appends arrive in UID order within one change set, but flag changes of older
        // messages interleave by MODSEQ: keep the view sorted.
        if self.messages.len() > before {
            Arc::make_mut(&mut self.messages)[before..].sort_by_key(|m| m.uid);
            events.exists_grew = true;
            events.new_messages = true;
        }
        events.keywords_changed = changes.keywords.len() != self.keywords.len();
        self.keywords = changes.keywords;
        self.uid_next = self.uid_next.max(changes.uid_next);
        self.known_modseq = self.known_modseq.max(changes.highest_modseq);
        events
    }

    /// Removes expunged messages, returning the EXPUNGE sequence numbers to send and the
    /// removed UIDs.
    fn remove_expunged(&mut self) -> (Vec<u32>, Vec<Uid>) {
        let mut reported = Vec::new();
        let mut uids = Vec::new();
        if !self.has_pending_expunges() {
            return (reported, uids);
        }
        let messages = Arc::make_mut(&mut self.messages);
        let mut kept = 0usize;
        for index in 0..messages.len() {
            if messages[index].expunged {
                // Each EXPUNGE renumbers the messages after it: the n-th removal is reported
                // at its original position minus the removals before it.
                reported.push(u32::try_from(kept + 1).unwrap_or(u32::MAX));
                uids.push(messages[index].uid);
            } else {
                messages.swap(kept, index);
                kept += 1;
            }
        }
        messages.truncate(kept);
        self.pending_expunges = 0;
        (reported, uids)
    }

    /// Whether expunges wait to be reported.
    pub(crate) fn has_pending_expunges(&self) -> bool {
        self.pending_expunges > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::{ChangeNotifier, MessageFlags, SystemFlag};

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap_or(Uid::MIN)
    }

    fn modseq(n: u64) -> ModSeq {
        ModSeq::new(n).unwrap_or(ModSeq::MIN)
    }

    fn flags(n: u32, seen: bool, m: u64) -> MessageFlags {
        let mut set = FlagSet::new();
        if seen {
            set.insert(SystemFlag::Seen);
        }
        MessageFlags {
            uid: uid(n),
            flags: set,
            modseq: modseq(m),
        }
    }

    fn view(uids: &[u32]) -> MailboxView {
        let notifier = ChangeNotifier::new();
        let snapshot = MailboxSnapshot {
            uid_validity: UidValidity::new(1).unwrap_or_else(|| unreachable!()),
            uid_next: uid(uids.last().copied().unwrap_or(0) + 1),
            highest_modseq: modseq(10),
            keywords: Vec::new(),
            messages: uids.iter().map(|&n| flags(n, false, 1)).collect(),
        };
        MailboxView::new(
            MailboxId(1),
            false,
            snapshot,
            notifier.watch(MailboxId(1), modseq(10)),
        )
    }

    fn changes(changed: Vec<MessageFlags>, expunged: &[u32], highest: u64) -> MailboxChanges {
        MailboxChanges {
            uid_next: uid(100),
            highest_modseq: modseq(highest),
            keywords: Vec::new(),
            changed,
            expunged: expunged.iter().map(|&n| uid(n)).collect(),
            pruned_through: None,
        }
    }

    #[test]
    fn expunges_are_reported_with_shifting_sequence_numbers() {
        // RFC 9051 6.4.3 example: deleting messages 3, 4, 7 and 11 of 11 is reported as
        // 3, 3, 5, 8.
        let mut view = view(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let events = view.apply(changes(vec![], &[3, 4, 7, 11], 11), true, &[]);
        assert_eq!(events.expunged, vec![3, 3, 5, 8]);
        assert_eq!(events.expunged_uids, vec![uid(3), uid(4), uid(7), uid(11)]);
        assert_eq!(view.exists(), 7);
    }

    #[test]
    fn expunges_wait_while_forbidden_and_keep_numbers() {
        let mut view = view(&[1, 2, 3]);
        let events = view.apply(changes(vec![flags(4, false, 11)], &[2], 11), false, &[]);
        assert!(events.expunged.is_empty());
        assert!(events.exists_grew);
        assert_eq!(view.exists(), 4, "EXISTS never decreases without EXPUNGE");
        assert_eq!(view.seq_of(uid(3)), Some(3));
        assert!(view.has_pending_expunges());
        let events = view.apply(changes(vec![], &[], 11), true, &[]);
        assert_eq!(events.expunged, vec![2]);
        assert_eq!(view.seq_of(uid(3)), Some(2));
    }

    #[test]
    fn flag_changes_are_reported_unless_quiet_or_unchanged() {
        let mut view = view(&[1, 2, 3]);
        let events = view.apply(
            changes(
                vec![flags(1, true, 11), flags(2, false, 11), flags(3, true, 11)],
                &[],
                11,
            ),
            true,
            &[uid(3)],
        );
        assert_eq!(events.flag_changes, vec![uid(1)]);
    }

    #[test]
    fn resolve_by_sequence_refuses_numbers_beyond_exists() {
        let view = view(&[10, 20, 30]);
        let set = SequenceSet::Ranges(vec![(
            portcullis_proto::SeqBound::Value(std::num::NonZeroU32::MIN),
            portcullis_proto::SeqBound::Largest,
        )]);
        let found = view
            .resolve(&set, false)
            .map(|v| v.iter().map(|(s, m)| (*s, m.uid.get())).collect::<Vec<_>>());
        assert_eq!(found, Ok(vec![(1, 10), (2, 20), (3, 30)]));
        let beyond = SequenceSet::range(
            std::num::NonZeroU32::MIN,
            std::num::NonZeroU32::new(4).unwrap_or(std::num::NonZeroU32::MIN),
        );
        assert!(view.resolve(&beyond, false).is_err());
    }

    #[test]
    fn resolve_by_uid_skips_missing_uids() {
        let view = view(&[10, 20, 30]);
        let set = SequenceSet::range(
            std::num::NonZeroU32::new(15).unwrap_or(std::num::NonZeroU32::MIN),
            std::num::NonZeroU32::new(1000).unwrap_or(std::num::NonZeroU32::MIN),
        );
        let found = view
            .resolve(&set, true)
            .map(|v| v.iter().map(|(s, m)| (*s, m.uid.get())).collect::<Vec<_>>());
        assert_eq!(found, Ok(vec![(2, 20), (3, 30)]));
    }
}
