//! Identifier newtypes. IMAP numbers are never bare integers in our code: a UID cannot be
//! passed where a sequence number or a MODSEQ is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};

/// An account's primary key in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId(pub i64);

/// A mailbox's primary key in the store. Stable across RENAME; a deleted and re-created
/// mailbox gets a new one (and a new UIDVALIDITY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailboxId(pub i64);

/// A message UID (RFC 9051 2.3.1.1): a non-zero 32-bit number, strictly ascending per mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Uid(NonZeroU32);

impl Uid {
    /// The smallest UID.
    pub const MIN: Uid = Uid(NonZeroU32::MIN);
    /// The largest UID.
    pub const MAX: Uid = Uid(NonZeroU32::MAX);

    /// `None` for zero, which is never a valid UID.
    pub fn new(value: u32) -> Option<Uid> {
        NonZeroU32::new(value).map(Uid)
    }

    /// The numeric value.
    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The next UID, or `None` when the UID space is exhausted.
    pub fn next(self) -> Option<Uid> {
        self.0.checked_add(1).map(Uid)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// UIDVALIDITY (RFC 9051 2.3.1.1): non-zero, fixed for the life of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UidValidity(NonZeroU32);

impl UidValidity {
    /// `None` for zero.
    pub fn new(value: u32) -> Option<UidValidity> {
        NonZeroU32::new(value).map(UidValidity)
    }

    /// The numeric value.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A modification sequence (RFC 7162): per mailbox, strictly increasing across every change,
/// expunges included. Non-zero; 63 bits so it fits SQL's signed 64-bit integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModSeq(NonZeroU64);

impl ModSeq {
    /// The first MODSEQ of a new mailbox.
    pub const MIN: ModSeq = ModSeq(NonZeroU64::MIN);

    /// `None` for zero and for values above 2^63-1 (RFC 7162 `mod-sequence-value`).
    pub fn new(value: u64) -> Option<ModSeq> {
        if value > i64::MAX as u64 {
            return None;
        }
        NonZeroU64::new(value).map(ModSeq)
    }

    /// The numeric value.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_never_an_identifier() {
        assert_eq!(Uid::new(0), None);
        assert_eq!(UidValidity::new(0), None);
        assert_eq!(ModSeq::new(0), None);
    }

    #[test]
    fn modseq_stays_within_signed_64_bits() {
        assert!(ModSeq::new(i64::MAX as u64).is_some());
        assert_eq!(ModSeq::new(i64::MAX as u64 + 1), None);
    }

    #[test]
    fn uid_next_stops_at_the_end_of_the_space() {
        assert_eq!(Uid::MAX.next(), None);
        assert_eq!(Uid::MIN.next().map(Uid::get), Some(2));
    }
}
