//! The UIDs a request names, prepared for range scans. A FETCH or STORE may name 100,000
//! UIDs; an `IN (...)` list of that size is slow to build and to plan, so the set is sorted
//! and cut into spans that are each read with one `uid BETWEEN first AND last` index scan,
//! rows outside the set being dropped by a binary search. Neighbouring UIDs whose gap is
//! small share a span (one scan past a few unwanted rows beats a new seek); far-apart UIDs
//! get spans of their own, so `1,100000` reads two rows, not the whole mailbox.

use portcullis_store::Uid;

/// Gaps up to this many UIDs are scanned through rather than split (a seek costs about as
/// much as stepping over a dozen rows).
const MAX_GAP: u32 = 16;

/// A set of UIDs to read.
#[derive(Debug, Clone)]
pub(crate) enum UidSet {
    /// Every message of the mailbox.
    All,
    /// These UIDs, sorted and without duplicates.
    Listed(Vec<u32>),
}

impl UidSet {
    /// The given UIDs, in any order, duplicates allowed.
    pub(crate) fn listed(uids: &[Uid]) -> UidSet {
        let mut values: Vec<u32> = uids.iter().map(|uid| uid.get()).collect();
        values.sort_unstable();
        values.dedup();
        UidSet::Listed(values)
    }

    /// All messages when `uids` is `None`.
    pub(crate) fn from_option(uids: Option<&[Uid]>) -> UidSet {
        uids.map_or(UidSet::All, UidSet::listed)
    }

    /// Whether `uid` is in the set.
    pub(crate) fn contains(&self, uid: Uid) -> bool {
        match self {
            UidSet::All => true,
            UidSet::Listed(values) => values.binary_search(&uid.get()).is_ok(),
        }
    }

    /// Inclusive UID ranges covering the set, ascending and disjoint.
    pub(crate) fn spans(&self) -> Vec<(u32, u32)> {
        let UidSet::Listed(values) = self else {
            return vec![(1, u32::MAX)];
        };
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for &value in values {
            match spans.last_mut() {
                Some((_, last)) if value - *last <= MAX_GAP => *last = value,
                _ => spans.push((value, value)),
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[u32]) -> UidSet {
        let uids: Vec<Uid> = values.iter().filter_map(|value| Uid::new(*value)).collect();
        UidSet::listed(&uids)
    }

    #[test]
    fn near_uids_share_a_span_and_far_ones_do_not() {
        assert_eq!(set(&[5, 3, 4, 3, 20]).spans(), vec![(3, 20)]);
        assert_eq!(set(&[3, 60]).spans(), vec![(3, 3), (60, 60)]);
        assert_eq!(set(&[1, 100_000]).spans(), vec![(1, 1), (100_000, 100_000)]);
        assert_eq!(set(&[]).spans(), vec![]);
        assert_eq!(UidSet::All.spans(), vec![(1, u32::MAX)]);
    }

    #[test]
    fn membership_is_exact_inside_a_span() {
        let uids = set(&[10, 20]);
        assert_eq!(uids.spans(), vec![(10, 20)]);
        assert!(uids.contains(Uid::new(10).unwrap_or(Uid::MIN)));
        assert!(!uids.contains(Uid::new(15).unwrap_or(Uid::MIN)));
    }
}
