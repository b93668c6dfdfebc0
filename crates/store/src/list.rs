//! A mailbox's messages — UID, flags and MODSEQ, ascending by UID — as runs of consecutive
//! UIDs that share flags and MODSEQ.
//!
//! This is what SELECT hands a session (the sequence-number → UID map every IMAP command
//! works through), what sessions of one mailbox share, and what a list checkpoint stores.
//! One entry per message made a cold SELECT of 100,000 messages build and fault in two
//! 4.8 MB arrays (profiled: most of its time). Messages arrive and change in groups — a
//! bulk import or a folder copy is one MODSEQ, `STORE 1:* +FLAGS (\Seen)` another — so a
//! mailbox is usually few runs, and a list of runs is built from a checkpoint in
//! proportion to its runs, not its messages. A mailbox whose every message differs costs
//! about what one entry per message did.
//!
//! The form is canonical (adjacent runs that could be one are one), so equal lists compare
//! equal. Sequence numbers come from each run's position (`starts`, binary search).

use crate::{FlagSet, MessageFlags, ModSeq, Uid};

/// Messages with consecutive UIDs and the same flags and MODSEQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRun {
    /// The first message's UID.
    pub first: Uid,
    /// How many messages (at least one).
    pub count: u32,
    /// Their flags.
    pub flags: FlagSet,
    /// Their MODSEQ.
    pub modseq: ModSeq,
}

impl MessageRun {
    /// The last UID, `None` for a run that does not fit the UID space (or is empty).
    pub fn last_uid(&self) -> Option<Uid> {
        Uid::new(self.last()?)
    }

    fn last(&self) -> Option<u32> {
        self.first.get().checked_add(self.count.checked_sub(1)?)
    }

    /// Whether `next` continues this run.
    fn continued_by(&self, next: &MessageRun) -> bool {
        self.last().and_then(|last| last.checked_add(1)) == Some(next.first.get())
            && self.modseq == next.modseq
            && self.flags == next.flags
    }
}

impl From<MessageFlags> for MessageRun {
    fn from(message: MessageFlags) -> MessageRun {
        MessageRun {
            first: message.uid,
            count: 1,
            flags: message.flags,
            modseq: message.modseq,
        }
    }
}

/// One message of a [`MessageList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedMessage<'a> {
    /// UID.
    pub uid: Uid,
    /// Flags.
    pub flags: &'a FlagSet,
    /// MODSEQ of its last change.
    pub modseq: ModSeq,
}

impl ListedMessage<'_> {
    /// An owned copy.
    pub fn to_flags(self) -> MessageFlags {
        MessageFlags {
            uid: self.uid,
            flags: self.flags.clone(),
            modseq: self.modseq,
        }
    }
}

/// See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageList {
    runs: Vec<MessageRun>,
    /// The index of each run's first message.
    starts: Vec<u32>,
    len: u32,
}

impl MessageList {
    /// No messages.
    pub fn new() -> MessageList {
        MessageList::default()
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The runs, ascending.
    pub fn runs(&self) -> &[MessageRun] {
        &self.runs
    }

    /// Appends a run above every UID held, joining it to the last run when it continues it.
    /// Returns `false` (and adds nothing) for an empty run, one not above the last UID, one
    /// past the largest UID, or one that would make the list longer than `u32::MAX`.
    pub fn push(&mut self, run: MessageRun) -> bool {
        let Some(len) = self.len.checked_add(run.count) else {
            return false;
        };
        if run.last().is_none() || self.last_uid().is_some_and(|last| run.first <= last) {
            return false;
        }
        match self.runs.last_mut() {
            Some(last) if last.continued_by(&run) => last.count += run.count,
            _ => {
                self.starts.push(self.len);
                self.runs.push(run);
            }
        }
        self.len = len;
        true
    }

    /// The highest UID.
    pub fn last_uid(&self) -> Option<Uid> {
        self.runs.last().and_then(MessageRun::last_uid)
    }

    /// The message at `index` (0-based: its sequence number minus one).
    pub fn get(&self, index: usize) -> Option<ListedMessage<'_>> {
        self.get_near(index, &mut 0)
    }

    /// [`MessageList::get`] for walks in order: the run `*cursor` names (the one that held
    /// the index asked before) and the next are looked at before any search, and `*cursor`
    /// is left naming the run that holds `index`. A FETCH of every message's flags asks
    /// for each in turn; a binary search over the runs for each was a fifth of its time.
    pub fn get_near(&self, index: usize, cursor: &mut usize) -> Option<ListedMessage<'_>> {
        let index = u32::try_from(index).ok().filter(|i| *i < self.len)?;
        let holds = |at: usize| {
            let end = self.starts.get(at + 1).copied().unwrap_or(self.len);
            self.starts
                .get(at)
                .is_some_and(|start| *start <= index && index < end)
        };
        let at = if holds(*cursor) {
            *cursor
        } else if holds(*cursor + 1) {
            *cursor + 1
        } else {
            self.starts.partition_point(|start| *start <= index) - 1
        };
        *cursor = at;
        Some(listed(&self.runs[at], index - self.starts[at]))
    }

    /// The index of `uid`.
    pub fn index_of(&self, uid: Uid) -> Option<usize> {
        let at = self
            .runs
            .partition_point(|run| run.first <= uid)
            .checked_sub(1)?;
        let offset = uid.get() - self.runs[at].first.get();
        (offset < self.runs[at].count).then(|| (self.starts[at] + offset) as usize)
    }

    /// The message with `uid`.
    pub fn find(&self, uid: Uid) -> Option<ListedMessage<'_>> {
        self.get(self.index_of(uid)?)
    }

    /// How many messages have a UID below `uid` (the index of the first at or above it).
    pub fn rank(&self, uid: Uid) -> usize {
        let Some(at) = self
            .runs
            .partition_point(|run| run.first < uid)
            .checked_sub(1)
        else {
            return 0;
        };
        let run = &self.runs[at];
        (self.starts[at] + (uid.get() - run.first.get()).min(run.count)) as usize
    }

    /// The messages from `index` on, ascending.
    pub fn iter_from(&self, index: usize) -> impl Iterator<Item = ListedMessage<'_>> + '_ {
        let index = u32::try_from(index).unwrap_or(u32::MAX).min(self.len);
        let at = self.starts.partition_point(|start| *start <= index);
        let at = at.saturating_sub(1).min(self.runs.len());
        let skip = self.starts.get(at).map_or(0, |start| index - start);
        self.runs[at..]
            .iter()
            .enumerate()
            .flat_map(move |(n, run)| {
                let from = if n == 0 { skip } else { 0 };
                (from..run.count).map(move |offset| listed(run, offset))
            })
    }

    /// All messages, ascending.
    pub fn iter(&self) -> impl Iterator<Item = ListedMessage<'_>> + '_ {
        self.iter_from(0)
    }

    /// The index of the first message whose flags satisfy `test` (run by run).
    pub fn position_of_flags(&self, test: impl Fn(&FlagSet) -> bool) -> Option<usize> {
        let at = self.runs.iter().position(|run| test(&run.flags))?;
        Some(self.starts[at] as usize)
    }

    /// Folds changes in, in one pass over the runs: each of `changed` (ascending by UID)
    /// replaces the message with its UID, or is added when above every UID held (an
    /// absent UID below that is ignored: it was taken out before); the messages of
    /// `removed` (ascending) are taken out. Returns the indices the removed messages had,
    /// ascending.
    pub fn merge(&mut self, changed: &[MessageFlags], removed: &[Uid]) -> Vec<usize> {
        let mut merged = MessageList::new();
        let mut taken_out = Vec::new();
        let mut changed = changed.iter().peekable();
        let mut removed = removed.iter().copied().peekable();
        for (run, start) in self.runs.iter().zip(&self.starts) {
            let first = run.first.get();
            let end = u64::from(first) + u64::from(run.count);
            let mut from = u64::from(first);
            loop {
                // Below `from`: between runs (naming no message) or repeated.
                while changed.next_if(|c| u64::from(c.uid.get()) < from).is_some() {}
                while removed.next_if(|uid| u64::from(uid.get()) < from).is_some() {}
                let next = [changed.peek().map(|c| c.uid), removed.peek().copied()]
                    .into_iter()
                    .flatten()
                    .min()
                    .filter(|uid| u64::from(uid.get()) < end);
                let Some(at) = next else { break };
                merged.push_part(run, from, u64::from(at.get()));
                if removed.next_if_eq(&at).is_some() {
                    taken_out.push((start + (at.get() - first)) as usize);
                    changed.next_if(|c| c.uid == at);
                } else if let Some(newer) = changed.next() {
                    merged.push(MessageRun::from(newer.clone()));
                }
                from = u64::from(at.get()) + 1;
            }
            merged.push_part(run, from, end);
        }
        for newer in changed {
            merged.push(MessageRun::from(newer.clone()));
        }
        *self = merged;
        taken_out
    }

    /// Appends the messages of `run` with UIDs in `[from, to)` (within the run).
    fn push_part(&mut self, run: &MessageRun, from: u64, to: u64) {
        let first = u32::try_from(from).ok().and_then(Uid::new);
        if let (Some(first), Ok(count)) = (first, u32::try_from(to.saturating_sub(from)))
            && count > 0
        {
            self.push(MessageRun {
                first,
                count,
                flags: run.flags.clone(),
                modseq: run.modseq,
            });
        }
    }
}

fn listed(run: &MessageRun, offset: u32) -> ListedMessage<'_> {
    ListedMessage {
        // Within a run pushed into a list: its UIDs fit (see `push`).
        uid: Uid::new(run.first.get() + offset).unwrap_or(Uid::MAX),
        flags: &run.flags,
        modseq: run.modseq,
    }
}

impl FromIterator<MessageFlags> for MessageList {
    /// Messages ascending by UID; any not above the one before is left out.
    fn from_iter<I: IntoIterator<Item = MessageFlags>>(messages: I) -> MessageList {
        let mut list = MessageList::new();
        for message in messages {
            list.push(MessageRun::from(message));
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemFlag;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap_or(Uid::MIN)
    }

    fn message(n: u32, seen: bool, modseq: u64) -> MessageFlags {
        let mut flags = FlagSet::new();
        if seen {
            flags.insert(SystemFlag::Seen);
        }
        MessageFlags {
            uid: uid(n),
            flags,
            modseq: ModSeq::new(modseq).unwrap_or(ModSeq::MIN),
        }
    }

    fn owned(list: &MessageList) -> Vec<MessageFlags> {
        list.iter().map(ListedMessage::to_flags).collect()
    }

    /// 1..=5 and 8..=9 at MODSEQ 3, 10 seen at 4, 11 at 3.
    fn sample() -> Vec<MessageFlags> {
        let mut messages: Vec<MessageFlags> =
            (1..=5).chain(8..=9).map(|n| message(n, false, 3)).collect();
        messages.push(message(10, true, 4));
        messages.push(message(11, false, 3));
        messages
    }

    #[test]
    fn consecutive_equal_messages_are_one_run_and_lookups_see_every_message() {
        let messages = sample();
        let list: MessageList = messages.iter().cloned().collect();
        assert_eq!(list.runs().len(), 4);
        assert_eq!(list.len(), 9);
        assert_eq!(owned(&list), messages);
        for (index, m) in messages.iter().enumerate() {
            assert_eq!(
                list.get(index).map(ListedMessage::to_flags).as_ref(),
                Some(m)
            );
            assert_eq!(list.index_of(m.uid), Some(index));
            assert_eq!(list.rank(m.uid), index);
            assert_eq!(
                list.iter_from(index).map(|m| m.uid).collect::<Vec<_>>(),
                messages[index..].iter().map(|m| m.uid).collect::<Vec<_>>()
            );
        }
        assert_eq!(list.get(9), None);
        assert_eq!(list.index_of(uid(6)), None);
        assert_eq!(list.index_of(uid(12)), None);
        assert_eq!(
            (list.rank(uid(6)), list.rank(uid(7)), list.rank(uid(99))),
            (5, 5, 9)
        );
        assert_eq!(list.iter_from(9).count(), 0);
        assert_eq!(list.last_uid(), Some(uid(11)));
        assert_eq!(
            list.position_of_flags(|f| f.contains(SystemFlag::Seen)),
            Some(7)
        );
    }

    #[test]
    fn get_near_finds_every_message_from_any_cursor_and_leaves_it_on_the_run() {
        let messages = sample();
        let list: MessageList = messages.iter().cloned().collect();
        let runs = list.runs().len();
        // In order, backwards, and from every cursor (stale ones past the end included).
        let mut cursor = 0;
        for (index, m) in messages
            .iter()
            .enumerate()
            .chain(messages.iter().enumerate().rev())
        {
            let found = list.get_near(index, &mut cursor);
            assert_eq!(found.map(ListedMessage::to_flags).as_ref(), Some(m));
            assert!(cursor < runs);
        }
        for start in 0..runs + 3 {
            for (index, m) in messages.iter().enumerate() {
                let mut cursor = start;
                let found = list.get_near(index, &mut cursor);
                assert_eq!(found.map(ListedMessage::to_flags).as_ref(), Some(m));
                let run = &list.runs()[cursor];
                assert!(run.first <= m.uid && m.uid.get() < run.first.get() + run.count);
            }
            assert_eq!(list.get_near(9, &mut start.clone()), None);
        }
    }

    #[test]
    fn push_refuses_what_breaks_the_order() {
        let mut list: MessageList = sample().into_iter().collect();
        assert!(
            !list.push(MessageRun::from(message(11, false, 5))),
            "not above"
        );
        let empty = MessageRun {
            count: 0,
            ..MessageRun::from(message(20, false, 5))
        };
        assert!(!list.push(empty));
        let past_the_end = MessageRun {
            count: 2,
            ..MessageRun::from(message(u32::MAX, false, 5))
        };
        assert!(!list.push(past_the_end));
        assert!(list.push(MessageRun::from(message(u32::MAX, false, 5))));
        assert_eq!(list.len(), 10);
        assert_eq!(list.last_uid(), Some(Uid::MAX));
    }

    #[test]
    fn merge_splits_and_joins_runs_and_reports_removed_positions() {
        let mut list: MessageList = sample().into_iter().collect();
        let changed = [
            message(7, false, 1), // absent, between runs: ignored
            message(2, true, 6),
            message(10, false, 3), // now like its neighbours: one run 8..=11
            message(12, false, 3), // new, continues it
        ];
        let changed = {
            let mut c = changed.to_vec();
            c.sort_by_key(|m| m.uid);
            c
        };
        let removed = list.merge(&changed, &[uid(4), uid(6), uid(11)]);
        assert_eq!(removed, vec![3, 8]);
        let expect = vec![
            message(1, false, 3),
            message(2, true, 6),
            message(3, false, 3),
            message(5, false, 3),
            message(8, false, 3),
            message(9, false, 3),
            message(10, false, 3),
            message(12, false, 3),
        ];
        assert_eq!(owned(&list), expect);
        assert_eq!(
            list,
            expect.iter().cloned().collect::<MessageList>(),
            "canonical"
        );
        assert_eq!(list.runs().len(), 6);
        // Removing the last UID of the UID space.
        let mut top: MessageList = [message(u32::MAX - 1, false, 2), message(u32::MAX, false, 2)]
            .into_iter()
            .collect();
        assert_eq!(top.runs().len(), 1);
        assert_eq!(top.merge(&[], &[Uid::MAX]), vec![1]);
        assert_eq!(owned(&top), vec![message(u32::MAX - 1, false, 2)]);
        assert_eq!(
            MessageList::new().merge(&[], &[uid(1)]),
            Vec::<usize>::new()
        );
        // A UID named twice is taken out once, and changed once.
        let mut list: MessageList = sample().into_iter().collect();
        let twice = [message(2, true, 7), message(2, true, 7)];
        assert_eq!(list.merge(&twice, &[uid(3), uid(3), uid(9)]), vec![2, 6]);
        assert_eq!(list.len(), 7);
        assert_eq!(list.find(uid(2)).map(|m| m.modseq.get()), Some(7));
    }
}
