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
    ChangeWatch, FlagSet, Keyword, ListedMessage, MailboxChanges, MailboxId, MailboxSnapshot,
    MessageFlags, MessageList, ModSeq, Uid, UidValidity,
};

use crate::error::{CommandResult, Refusal};

/// One message of the view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViewMessage<'a> {
    pub(crate) uid: Uid,
    pub(crate) flags: &'a FlagSet,
    pub(crate) modseq: ModSeq,
    /// Expunged in the store, not yet reported to the client.
    pub(crate) expunged: bool,
}

impl ViewMessage<'_> {
    /// Its UID, flags and MODSEQ, owned.
    pub(crate) fn to_flags(self) -> MessageFlags {
        MessageFlags {
            uid: self.uid,
            flags: self.flags.clone(),
            modseq: self.modseq,
        }
    }
}

/// A mailbox's state as of one MODSEQ, without anything of one session's: where a view starts.
#[derive(Debug, Clone)]
pub(crate) struct ViewBase {
    pub(crate) uid_validity: UidValidity,
    pub(crate) uid_next: Uid,
    pub(crate) keywords: Vec<Keyword>,
    pub(crate) modseq: ModSeq,
    pub(crate) messages: Arc<MessageList>,
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
    /// Runs of messages (see [`MessageList`]), shared with the [`crate::MailboxCache`] and
    /// other sessions until this view changes (copy on write).
    messages: Arc<MessageList>,
    /// Everything up to this MODSEQ is folded into the view.
    known_modseq: ModSeq,
    /// UIDs of the view expunged in the store and not yet reported, ascending (usually
    /// none: kept apart so that the shared list stays the store's).
    pending_expunges: Vec<Uid>,
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
        let base = ViewBase {
            uid_validity: snapshot.uid_validity,
            uid_next: snapshot.uid_next,
            keywords: snapshot.keywords,
            modseq: snapshot.highest_modseq,
            messages: Arc::new(snapshot.messages),
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
            pending_expunges: Vec::new(),
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

    fn entry<'a>(&self, message: ListedMessage<'a>) -> ViewMessage<'a> {
        ViewMessage {
            uid: message.uid,
            flags: message.flags,
            modseq: message.modseq,
            expunged: !self.pending_expunges.is_empty()
                && self.pending_expunges.binary_search(&message.uid).is_ok(),
        }
    }

    /// The message with sequence number `seq` (1-based).
    pub(crate) fn message(&self, seq: u32) -> Option<ViewMessage<'_>> {
        self.message_near(seq, &mut 0)
    }

    /// [`MailboxView::message`] for walks in sequence order: `cursor` (start it at 0)
    /// carries the run of the message before (`MessageList::get_near`).
    pub(crate) fn message_near(&self, seq: u32, cursor: &mut usize) -> Option<ViewMessage<'_>> {
        let index = usize::try_from(seq).ok()?.checked_sub(1)?;
        Some(self.entry(self.messages.get_near(index, cursor)?))
    }

    /// All messages with their sequence numbers, in sequence order.
    pub(crate) fn messages(&self) -> impl Iterator<Item = (u32, ViewMessage<'_>)> + '_ {
        self.messages_from(0)
    }

    /// The messages from index `index` (sequence number `index + 1`) on.
    fn messages_from(&self, index: usize) -> impl Iterator<Item = (u32, ViewMessage<'_>)> + '_ {
        let first = u32::try_from(index + 1).unwrap_or(u32::MAX);
        (first..).zip(self.messages.iter_from(index).map(|m| self.entry(m)))
    }

    /// The highest UID in the view.
    pub(crate) fn last_uid(&self) -> Option<Uid> {
        self.messages.last_uid()
    }

    /// The sequence number of the first message without `\Seen`.
    pub(crate) fn first_unseen(&self) -> Option<u32> {
        let index = self
            .messages
            .position_of_flags(|flags| !flags.contains(portcullis_store::SystemFlag::Seen))?;
        u32::try_from(index + 1).ok()
    }

    /// The sequence number of `uid`.
    pub(crate) fn seq_of(&self, uid: Uid) -> Option<u32> {
        u32::try_from(self.messages.index_of(uid)? + 1).ok()
    }

    /// The view entry of `uid`.
    pub(crate) fn message_by_uid(&self, uid: Uid) -> Option<ViewMessage<'_>> {
        Some(self.entry(self.messages.find(uid)?))
    }

    /// The sequence number and view entry of `uid` (one lookup).
    pub(crate) fn numbered(&self, uid: Uid) -> Option<(u32, ViewMessage<'_>)> {
        let index = self.messages.index_of(uid)?;
        let seq = u32::try_from(index + 1).ok()?;
        Some((seq, self.entry(self.messages.get(index)?)))
    }

    /// Takes the flags and MODSEQs of `updates` for the messages of the view among them —
    /// the outcome of this session's own STORE.
    pub(crate) fn set_flags(&mut self, updates: &[MessageFlags]) {
        let mut held: Vec<MessageFlags> = updates
            .iter()
            .filter(|m| self.messages.index_of(m.uid).is_some())
            .cloned()
            .collect();
        // A set may name a message twice; `merge` takes it once.
        held.sort_by_key(|m| m.uid);
        if !held.is_empty() {
            Arc::make_mut(&mut self.messages).merge(&held, &[]);
        }
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
        let count: usize = self
            .recent
            .iter()
            .map(|&(first, end)| self.messages.rank(end) - self.messages.rank(first))
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
    ) -> CommandResult<Vec<(u32, ViewMessage<'_>)>> {
        let mut found = Vec::new();
        if matches!(set, SequenceSet::Saved) {
            // RFC 5182 2.1: "$" stands for the saved UIDs, by UID or by sequence number
            // alike; UIDs expunged since are simply gone.
            for uid in &self.saved {
                found.extend(self.numbered(*uid));
            }
            return Ok(found);
        }
        if by_uid {
            let largest = self.last_uid().map_or(0, Uid::get);
            for (low, high) in set.to_ranges(largest) {
                let low = Uid::new(low).unwrap_or(Uid::MIN);
                found.extend(
                    self.messages_from(self.messages.rank(low))
                        .take_while(|(_, m)| m.uid.get() <= high),
                );
            }
        } else {
            if set.exceeds(self.exists()) {
                return Err(Refusal::bad("Invalid message sequence number"));
            }
            for (low, high) in set.to_ranges(self.exists()) {
                let Some(index) = usize::try_from(low).ok().and_then(|l| l.checked_sub(1)) else {
                    continue;
                };
                // Sized up front: `1:*` of a large mailbox otherwise grows it a dozen times.
                found.reserve(usize::try_from(high.saturating_sub(low) + 1).unwrap_or(0));
                found.extend(
                    self.messages_from(index)
                        .take_while(|(seq, _)| *seq <= high),
                );
            }
        }
        Ok(found)
    }

    /// Folds store changes into the view. `allow_expunge` is false while a command that
    /// forbids EXPUNGE responses runs; `quiet` lists UIDs whose flag changes the running
    /// command reports itself.
    pub(crate) fn apply(
        &mut self,
        mut changes: MailboxChanges,
        allow_expunge: bool,
        quiet: &[Uid],
    ) -> SyncEvents {
        let mut events = SyncEvents::default();
        for uid in &changes.expunged {
            if self.messages.index_of(*uid).is_some()
                && let Err(at) = self.pending_expunges.binary_search(uid)
            {
                self.pending_expunges.insert(at, *uid);
            }
        }
        if allow_expunge {
            (events.expunged, events.expunged_uids) = self.remove_expunged();
        }
        for changed in &changes.changed {
            if let Some(message) = self.message_by_uid(changed.uid)
                && *message.flags != changed.flags
                && !message.expunged
                && !quiet.contains(&changed.uid)
            {
                events.flag_changes.push(changed.uid);
            }
        }
        if !changes.changed.is_empty() {
            // Ascending by UID, as the store gives them (sorting a sorted list is a check).
            changes.changed.sort_by_key(|m| m.uid);
            let before = self.messages.len();
            Arc::make_mut(&mut self.messages).merge(&changes.changed, &[]);
            if self.messages.len() > before {
                events.exists_grew = true;
                events.new_messages = true;
            }
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
        if !self.has_pending_expunges() {
            return (Vec::new(), Vec::new());
        }
        let uids = std::mem::take(&mut self.pending_expunges);
        let removed = Arc::make_mut(&mut self.messages).merge(&[], &uids);
        // Each EXPUNGE renumbers the messages after it: the n-th removal is reported at its
        // original position minus the removals before it.
        let reported = removed
            .iter()
            .enumerate()
            .map(|(n, index)| u32::try_from(index - n + 1).unwrap_or(u32::MAX))
            .collect();
        (reported, uids)
    }

    /// Whether expunges wait to be reported.
    pub(crate) fn has_pending_expunges(&self) -> bool {
        !self.pending_expunges.is_empty()
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
    fn own_flag_updates_split_runs_in_any_order_and_keep_numbers() {
        // One run of 1..=6; this session's STORE of 5,2,5 (a set may repeat and be unordered).
        let mut view = view(&[1, 2, 3, 4, 5, 6]);
        view.set_flags(&[flags(5, true, 12), flags(2, true, 11), flags(5, true, 12)]);
        view.set_flags(&[flags(99, true, 13)]);
        assert_eq!(
            view.exists(),
            6,
            "an update of a UID not in the view adds nothing"
        );
        let seen: Vec<(u32, u32, u64)> = view
            .messages()
            .filter(|(_, m)| m.flags.contains(SystemFlag::Seen))
            .map(|(seq, m)| (seq, m.uid.get(), m.modseq.get()))
            .collect();
        assert_eq!(seen, vec![(2, 2, 11), (5, 5, 12)]);
        assert_eq!(view.message(6).map(|m| m.uid.get()), Some(6));
        // An expunge inside a run, while forbidden and then allowed.
        let events = view.apply(changes(vec![], &[3], 13), false, &[]);
        assert!(events.expunged.is_empty());
        assert!(view.message(3).is_some_and(|m| m.expunged));
        assert!(
            view.base().is_none(),
            "pending expunges make the numbering its own"
        );
        let events = view.apply(changes(vec![flags(7, false, 14)], &[], 14), true, &[]);
        assert_eq!((events.expunged, events.exists_grew), (vec![3], true));
        assert_eq!(
            view.messages()
                .map(|(_, m)| m.uid.get())
                .collect::<Vec<_>>(),
            vec![1, 2, 4, 5, 6, 7]
        );
        assert_eq!(view.seq_of(uid(7)), Some(6));
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
