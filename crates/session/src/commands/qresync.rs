//! QRESYNC (RFC 7162 3.2): the resynchronisation `SELECT/EXAMINE ... (QRESYNC (...))` runs
//! after the usual SELECT responses, and the `VANISHED (EARLIER)` answer it shares with
//! `UID FETCH ... (CHANGEDSINCE n VANISHED)` (3.2.6).
//!
//! The expunges come from the store's expunge log while it reaches back to the client's
//! MODSEQ. The log is pruned after a retention period; below its floor the answer is computed
//! from the UIDs that still exist instead — longer than strictly needed, never shorter, which
//! RFC 7162 5.1 allows: "Strictly speaking, a server implementation that doesn't remember
//! mod-sequences associated with expunged messages can be considered compliant with this
//! specification. Such implementations return all expunged messages specified in the UID
//! set of the UID FETCH (VANISHED) command every time, without paying attention to the
//! specified CHANGEDSINCE mod-sequence." The client's sequence-match data (3.2.5.2) narrows
//! that fallback.
//!
//! ```text
//! known-uids (or 1:UIDNEXT-1) ──► log complete after MODSEQ? ──yes──► logged UIDs ∩ known
//!                                         │no                            − UIDs in the view
//!                                         └──► known ∩ [low water, UIDNEXT-1] − UIDs in the view
//! ```

use portcullis_proto::SequenceSet;
use portcullis_proto::command::QresyncParams;
use portcullis_proto::encode::{Data, FetchAttr};
use portcullis_store::ModSeq;

use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Session, flag_names};
use crate::view::MailboxView;

/// UIDs as ascending, disjoint, non-adjacent inclusive ranges: what a VANISHED response
/// lists, without ever enumerating a range one UID at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UidRanges(Vec<(u32, u32)>);

impl UidRanges {
    /// The UIDs of a client's set, `*` being `largest`, limited to `1..=largest`.
    pub(crate) fn of_set(set: &SequenceSet, largest: u32) -> UidRanges {
        UidRanges(set.to_ranges(largest)).clamp(1, largest)
    }

    /// `first..=last` (empty when `first > last`).
    pub(crate) fn span(first: u32, last: u32) -> UidRanges {
        if first > last || last == 0 {
            return UidRanges::default();
        }
        UidRanges(vec![(first.max(1), last)])
    }

    /// Ascending UIDs as ranges.
    pub(crate) fn from_ascending(values: impl IntoIterator<Item = u32>) -> UidRanges {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for value in values {
            match ranges.last_mut() {
                Some(last) if value <= last.1 => {}
                Some(last) if value == last.1.saturating_add(1) => last.1 = value,
                _ => ranges.push((value, value)),
            }
        }
        UidRanges(ranges)
    }

    /// The part within `low..=high`.
    pub(crate) fn clamp(self, low: u32, high: u32) -> UidRanges {
        UidRanges(
            self.0
                .into_iter()
                .filter_map(|(first, last)| {
                    let (first, last) = (first.max(low), last.min(high));
                    (first <= last).then_some((first, last))
                })
                .collect(),
        )
    }

    /// Whether `value` is in one of the ranges.
    pub(crate) fn contains(&self, value: u32) -> bool {
        let index = self.0.partition_point(|(_, last)| *last < value);
        self.0.get(index).is_some_and(|(first, _)| *first <= value)
    }

    /// The ranges without the given ascending UIDs.
    pub(crate) fn without(&self, ascending: impl IntoIterator<Item = u32>) -> UidRanges {
        let mut holes = ascending.into_iter().peekable();
        let mut kept = Vec::with_capacity(self.0.len());
        for &(first, last) in &self.0 {
            // The first UID of the range not yet kept or cut; `None` past `u32::MAX`.
            let mut start = Some(first);
            while let Some(&hole) = holes.peek() {
                if hole > last {
                    break;
                }
                holes.next();
                let Some(from) = start else { continue };
                if hole < from {
                    continue;
                }
                if hole > from {
                    kept.push((from, hole - 1));
                }
                start = hole.checked_add(1);
            }
            if let Some(from) = start
                && from <= last
            {
                kept.push((from, last));
            }
        }
        UidRanges(kept)
    }

    /// Whether there is no UID at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges as an IMAP sequence set (`1:3,7`).
    pub(crate) fn to_set_string(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|&(first, last)| {
                if first == last {
                    first.to_string()
                } else {
                    format!("{first}:{last}")
                }
            })
            .collect();
        parts.join(",")
    }
}

/// The lowest UID the client may not know the fate of, from its sequence-match data (RFC 7162
/// 3.2.5.2): "Conceptually, the client provides a small sample of sequence numbers for which
/// it knows the corresponding UIDs. The server then compares each sequence number and UID
/// pair the client provides with the current state of the mailbox. If a pair matches, then
/// the client knows of any expunges up to, and including, the message; thus, it will not
/// include that range in the VANISHED response, even if the "mod-sequence-value" provided by
/// the client is too old for the server to have data of when those messages were expunged."
/// The pairs are compared in order up to the first that does not match.
pub(crate) fn low_water(view: &MailboxView, seq_match: &(SequenceSet, SequenceSet)) -> u32 {
    let (seqs, uids) = seq_match;
    let largest_uid = view.uid_next.get().saturating_sub(1);
    let seqs = seqs
        .to_ranges(view.exists())
        .into_iter()
        .flat_map(|(first, last)| first..=last);
    let uids = uids
        .to_ranges(largest_uid)
        .into_iter()
        .flat_map(|(first, last)| first..=last);
    let mut low = 1;
    // Each step either matches a message of the view or ends the loop: at most EXISTS + 1
    // iterations, whatever ranges the client sent.
    for (seq, uid) in seqs.zip(uids) {
        match view.message(seq) {
            Some(message) if message.uid.get() == uid => low = uid.saturating_add(1),
            _ => break,
        }
    }
    low
}

impl Session {
    /// The UIDs of `scope` that vanished after `since` and are no longer in the view, for
    /// `VANISHED (EARLIER)`. UIDs the view still holds are left out even when the store has
    /// expunged them: the resync after the command reports those with a plain VANISHED,
    /// which also renumbers.
    pub(crate) async fn vanished_earlier(
        &self,
        scope: &UidRanges,
        since: u64,
        low_water: u32,
    ) -> CommandResult<UidRanges> {
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        let since = ModSeq::new(since).unwrap_or(ModSeq::MIN);
        let log = self.ctx.store.expunged_since(view.id, since).await?;
        let in_view = || view.messages().map(|(_, m)| m.uid.get());
        if log.is_complete_after(since) {
            // RFC 7162 3.2.6: "The VANISHED UID FETCH modifier instructs the server to report
            // those messages from the UID set parameter that have been expunged and whose
            // associated mod-sequence is larger than the specified mod-sequence."
            let logged = log.uids.iter().map(|uid| uid.get());
            let logged = UidRanges::from_ascending(logged.filter(|uid| scope.contains(*uid)));
            return Ok(logged.without(in_view()));
        }
        // The log was pruned past `since`: every UID of the scope that no longer exists.
        // UIDs at or above the view's UIDNEXT were never given out as far as the view knows.
        let below_next = view.uid_next.get().saturating_sub(1);
        Ok(scope
            .clone()
            .clamp(low_water.max(1), below_next)
            .without(in_view()))
    }

    /// The QRESYNC part of SELECT/EXAMINE, once the usual responses are out and the view is
    /// selected (RFC 7162 3.2.5.1): "The server sends the client any pending flag changes
    /// (using FETCH responses that MUST contain UIDs) and expunges those that have occurred
    /// in this mailbox since the provided modification sequence." Expunges come first, as
    /// VANISHED (EARLIER); then a FETCH (UID FLAGS MODSEQ) for every message changed after
    /// the client's MODSEQ — all of them, not only those of known-uids, so that messages
    /// that arrived meanwhile reach the client in the same pass (an unsolicited FETCH is
    /// always allowed).
    pub(crate) async fn qresync_select(
        &self,
        params: &QresyncParams,
        out: &mut Output<'_>,
    ) -> CommandResult<()> {
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        if params.uid_validity != view.uid_validity.get() {
            // A different UIDVALIDITY: the client's cache is void; the remaining parameters
            // are ignored and the SELECT is a plain one (RFC 7162 3.2.5).
            return Ok(());
        }
        let below_next = view.uid_next.get().saturating_sub(1);
        // 3.2.5.1: "If the client did not provide the list of UIDs, the server acts as if
        // the client has specified "1:<maxuid>", where <maxuid> is the mailbox's UIDNEXT
        // value minus 1."
        let known = match &params.known_uids {
            Some(set) => UidRanges::of_set(set, below_next),
            None => UidRanges::span(1, below_next),
        };
        let low = params
            .seq_match
            .as_ref()
            .map_or(1, |pairs| low_water(view, pairs));
        let vanished = self.vanished_earlier(&known, params.modseq, low).await?;
        let charset = self.charset();
        if !vanished.is_empty() {
            out.data(
                &Data::Vanished {
                    earlier: true,
                    uids: &vanished.to_set_string(),
                },
                charset,
            );
        }
        for (seq, message) in view.messages() {
            if message.modseq.get() <= params.modseq {
                continue;
            }
            let mut response = out.fetch(seq, charset);
            response.attr(&FetchAttr::Uid(message.uid.get()));
            response.flags(flag_names(view, message, !self.rev2));
            response.attr(&FetchAttr::ModSeq(message.modseq.get()));
            response.finish();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(pairs: &[(u32, u32)]) -> UidRanges {
        UidRanges(pairs.to_vec())
    }

    #[test]
    fn ascending_uids_become_ranges() {
        let built = UidRanges::from_ascending([1, 2, 3, 5, 7, 8, 8, 9]);
        assert_eq!(built, ranges(&[(1, 3), (5, 5), (7, 9)]));
        assert_eq!(built.to_set_string(), "1:3,5,7:9");
        assert_eq!(UidRanges::from_ascending([]).to_set_string(), "");
    }

    #[test]
    fn points_are_cut_out_of_ranges() {
        let all = ranges(&[(1, 10), (20, 22)]);
        assert_eq!(
            all.without([1, 4, 5, 10, 15, 21]),
            ranges(&[(2, 3), (6, 9), (20, 20), (22, 22)])
        );
        assert_eq!(all.without([]), all);
        assert_eq!(ranges(&[(3, 3)]).without([3]), UidRanges::default());
        assert_eq!(
            ranges(&[(u32::MAX - 1, u32::MAX)]).without([u32::MAX]),
            ranges(&[(u32::MAX - 1, u32::MAX - 1)])
        );
    }

    #[test]
    fn membership_clamping_and_spans() {
        let set = ranges(&[(2, 4), (9, 9)]);
        assert!(set.contains(2) && set.contains(4) && set.contains(9));
        assert!(!set.contains(1) && !set.contains(5) && !set.contains(10));
        assert_eq!(set.clone().clamp(3, 100), ranges(&[(3, 4), (9, 9)]));
        assert_eq!(set.clamp(5, 8), UidRanges::default());
        assert_eq!(UidRanges::span(1, 0), UidRanges::default());
        assert_eq!(UidRanges::span(1, 5), ranges(&[(1, 5)]));
    }

    #[test]
    fn client_sets_are_limited_to_the_uids_given_out() {
        let one = std::num::NonZeroU32::MIN;
        let big = std::num::NonZeroU32::new(u32::MAX).unwrap_or(one);
        assert_eq!(
            UidRanges::of_set(&SequenceSet::range(one, big), 600),
            ranges(&[(1, 600)])
        );
        assert_eq!(
            UidRanges::of_set(&SequenceSet::range(one, big), 0),
            UidRanges::default()
        );
    }
}
