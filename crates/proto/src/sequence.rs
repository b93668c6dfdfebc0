//! Sequence sets (RFC 9051 `sequence-set`): ranges of message sequence numbers or UIDs with
//! `*` for the largest value in use, in any order, plus `$` (RFC 5182 SEARCHRES).

use std::num::NonZeroU32;

/// One end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqBound {
    /// A number.
    Value(NonZeroU32),
    /// `*`: the largest number in use.
    Largest,
}

impl SeqBound {
    fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqBound::Value(value) => value.get(),
            SeqBound::Largest => largest,
        }
    }
}

/// A sequence set as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceSet {
    /// Ranges; a single number is a range with equal ends. `a:b` with `a > b` means `b:a`.
    Ranges(Vec<(SeqBound, SeqBound)>),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)`.
    Saved,
}

impl SequenceSet {
    /// A set holding one range.
    pub fn range(first: NonZeroU32, last: NonZeroU32) -> SequenceSet {
        SequenceSet::Ranges(vec![(SeqBound::Value(first), SeqBound::Value(last))])
    }

    /// Resolves `*` to `largest` and returns the ranges ascending, merged, inclusive.
    /// `Saved` resolves to nothing: the caller substitutes the saved result first.
    pub fn to_ranges(&self, largest: u32) -> Vec<(u32, u32)> {
        let SequenceSet::Ranges(ranges) = self else {
            return Vec::new();
        };
        let mut resolved: Vec<(u32, u32)> = ranges
            .iter()
            .map(|(a, b)| {
                let (a, b) = (a.resolve(largest), b.resolve(largest));
                (a.min(b), a.max(b))
            })
            .filter(|(_, high)| *high > 0)
            .map(|(low, high)| (low.max(1), high))
            .collect();
        resolved.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(resolved.len());
        for (low, high) in resolved {
            match merged.last_mut() {
                Some(last) if low <= last.1.saturating_add(1) => last.1 = last.1.max(high),
                _ => merged.push((low, high)),
            }
        }
        merged
    }

    /// Whether any explicit number (not `*`) exceeds `largest` — RFC 9051 6.4: a sequence
    /// number greater than the number of messages deserves BAD.
    pub fn exceeds(&self, largest: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(ranges) => ranges.iter().any(|(a, b)| {
                [a, b].iter().any(|bound| match bound {
                    SeqBound::Value(value) => value.get() > largest,
                    SeqBound::Largest => largest == 0,
                })
            }),
        }
    }

    /// Builds the shortest set for ascending numbers (`1:3,7,9:10`), for responses such as
    /// COPYUID and ESEARCH ALL.
    pub fn compress(values: &[u32]) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < values.len() {
            let start = values[i];
            let mut end = start;
            while i + 1 < values.len() && values[i + 1] == end.wrapping_add(1) {
                i += 1;
                end = values[i];
            }
            if !out.is_empty() {
                out.push(',');
            }
            if start == end {
                out.push_str(&start.to_string());
            } else {
                out.push_str(&format!("{start}:{end}"));
            }
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(n: u32) -> SeqBound {
        SeqBound::Value(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    #[test]
    fn ranges_in_any_order_are_normalised_and_merged() {
        let set = SequenceSet::Ranges(vec![
            (value(9), value(7)),
            (value(1), value(1)),
            (value(2), value(3)),
            (value(8), SeqBound::Largest),
        ]);
        assert_eq!(set.to_ranges(12), vec![(1, 3), (7, 12)]);
    }

    #[test]
    fn star_resolves_to_the_largest_even_below_the_start() {
        // RFC 9051 6.4.8: "UID FETCH 559:*" with largest UID 558 includes UID 558.
        let set = SequenceSet::Ranges(vec![(value(559), SeqBound::Largest)]);
        assert_eq!(set.to_ranges(558), vec![(558, 559)]);
        assert_eq!(set.to_ranges(0), vec![(1, 559)]);
    }

    #[test]
    fn exceeds_flags_numbers_beyond_the_mailbox() {
        let set = SequenceSet::Ranges(vec![(value(1), value(5))]);
        assert!(!set.exceeds(5));
        assert!(set.exceeds(4));
        let star = SequenceSet::Ranges(vec![(SeqBound::Largest, SeqBound::Largest)]);
        assert!(star.exceeds(0));
        assert!(!star.exceeds(1));
    }

    #[test]
    fn compress_builds_the_shortest_form() {
        assert_eq!(SequenceSet::compress(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(SequenceSet::compress(&[4]), "4");
        assert_eq!(SequenceSet::compress(&[]), "");
    }
}
