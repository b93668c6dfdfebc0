//! Message flags (RFC 9051 2.3.2): the system flags as a bit set, keywords as a small sorted
//! list. `\Recent` is not stored with the message: it belongs to one session (see
//! `Store::claim_recent`).

use serde::{Deserialize, Serialize};

/// A system flag that is stored with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemFlag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
}

impl SystemFlag {
    /// All stored system flags, in the order FLAGS responses list them.
    pub const ALL: [SystemFlag; 5] = [
        SystemFlag::Answered,
        SystemFlag::Flagged,
        SystemFlag::Deleted,
        SystemFlag::Seen,
        SystemFlag::Draft,
    ];

    fn bit(self) -> u8 {
        match self {
            SystemFlag::Seen => 1,
            SystemFlag::Answered => 2,
            SystemFlag::Flagged => 4,
            SystemFlag::Deleted => 8,
            SystemFlag::Draft => 16,
        }
    }

    /// The flag as written on the wire, e.g. `\Seen`.
    pub fn as_str(self) -> &'static str {
        match self {
            SystemFlag::Seen => "\\Seen",
            SystemFlag::Answered => "\\Answered",
            SystemFlag::Flagged => "\\Flagged",
            SystemFlag::Deleted => "\\Deleted",
            SystemFlag::Draft => "\\Draft",
        }
    }

    /// Case-insensitive lookup of `\Name`; `None` for `\Recent`, `\*` and unknown names.
    pub fn from_name(name: &str) -> Option<SystemFlag> {
        SystemFlag::ALL
            .into_iter()
            .find(|flag| flag.as_str().eq_ignore_ascii_case(name))
    }
}

/// A keyword (RFC 9051 `flag-keyword`, an atom not starting with `\`). Keywords compare
/// case-insensitively, as clients expect (`$Junk` and `$junk` are one keyword); the first
/// spelling seen is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keyword(Box<str>);

impl Keyword {
    /// The longest keyword accepted.
    pub const MAX_LEN: usize = 128;

    /// Validates the IMAP atom syntax (no specials, no `\`, no controls, not empty).
    pub fn new(text: &str) -> Option<Keyword> {
        let valid = !text.is_empty()
            && text.len() <= Keyword::MAX_LEN
            && text.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
            });
        valid.then(|| Keyword(text.into()))
    }

    /// The keyword as first spelled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Keyword) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Keyword {}

impl PartialOrd for Keyword {
    fn partial_cmp(&self, other: &Keyword) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Keyword {
    fn cmp(&self, other: &Keyword) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The flags of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagSet {
    system: u8,
    keywords: Vec<Keyword>,
}

impl FlagSet {
    /// No flags.
    pub fn new() -> FlagSet {
        FlagSet::default()
    }

    /// Whether `flag` is set.
    pub fn contains(&self, flag: SystemFlag) -> bool {
        self.system & flag.bit() != 0
    }

    /// Whether `keyword` is set.
    pub fn has_keyword(&self, keyword: &Keyword) -> bool {
        self.keywords.binary_search(keyword).is_ok()
    }

    /// Sets a system flag.
    pub fn insert(&mut self, flag: SystemFlag) {
        self.system |= flag.bit();
    }

    /// Clears a system flag.
    pub fn remove(&mut self, flag: SystemFlag) {
        self.system &= !flag.bit();
    }

    /// Sets a keyword.
    pub fn insert_keyword(&mut self, keyword: Keyword) {
        if let Err(at) = self.keywords.binary_search(&keyword) {
            self.keywords.insert(at, keyword);
        }
    }

    /// Clears a keyword.
    pub fn remove_keyword(&mut self, keyword: &Keyword) {
        if let Ok(at) = self.keywords.binary_search(keyword) {
            self.keywords.remove(at);
        }
    }

    /// The system flags that are set, in `SystemFlag::ALL` order.
    pub fn system_flags(&self) -> impl Iterator<Item = SystemFlag> + '_ {
        SystemFlag::ALL
            .into_iter()
            .filter(|flag| self.contains(*flag))
    }

    /// The keywords that are set, sorted case-insensitively.
    pub fn keywords(&self) -> &[Keyword] {
        &self.keywords
    }

    /// The system flags as a bit set (for storage backends).
    pub fn system_bits(&self) -> u8 {
        self.system
    }

    /// Rebuilds a set from storage: unknown bits are dropped.
    pub fn from_parts(system_bits: u8, keywords: impl IntoIterator<Item = Keyword>) -> FlagSet {
        let mut set = FlagSet {
            system: system_bits & 0x1f,
            keywords: Vec::new(),
        };
        for keyword in keywords {
            set.insert_keyword(keyword);
        }
        set
    }

    /// Applies a STORE operation and reports whether anything changed.
    pub fn apply(&mut self, operation: FlagOperation, flags: &FlagSet) -> bool {
        let before = self.clone();
        match operation {
            FlagOperation::Replace => *self = flags.clone(),
            FlagOperation::Add => {
                self.system |= flags.system;
                for keyword in &flags.keywords {
                    self.insert_keyword(keyword.clone());
                }
            }
            FlagOperation::Remove => {
                self.system &= !flags.system;
                for keyword in &flags.keywords {
                    self.remove_keyword(keyword);
                }
            }
        }
        *self != before
    }
}

/// How STORE changes flags (RFC 9051 6.4.6: `FLAGS`, `+FLAGS`, `-FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOperation {
    /// Replace the flags with the given set.
    Replace,
    /// Add the given flags.
    Add,
    /// Remove the given flags.
    Remove,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyword(text: &str) -> Keyword {
        Keyword::new(text).unwrap_or_else(|| panic!("{text} is a valid keyword"))
    }

    #[test]
    fn keywords_compare_case_insensitively_and_keep_first_spelling() {
        let mut set = FlagSet::new();
        set.insert_keyword(keyword("$Junk"));
        set.insert_keyword(keyword("$junk"));
        assert_eq!(set.keywords().len(), 1);
        assert_eq!(set.keywords()[0].as_str(), "$Junk");
        assert!(set.has_keyword(&keyword("$JUNK")));
    }

    #[test]
    fn keyword_syntax_is_an_atom_without_backslash() {
        assert!(Keyword::new("$Forwarded").is_some());
        for bad in ["", "\\Seen", "a b", "a(b", "a]", "a\"", "a*", "a%", "é"] {
            assert!(Keyword::new(bad).is_none(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn apply_reports_changes() {
        let mut flags = FlagSet::new();
        let mut seen = FlagSet::new();
        seen.insert(SystemFlag::Seen);
        assert!(flags.apply(FlagOperation::Add, &seen));
        assert!(!flags.apply(FlagOperation::Add, &seen));
        assert!(flags.contains(SystemFlag::Seen));
        assert!(flags.apply(FlagOperation::Remove, &seen));
        assert!(!flags.contains(SystemFlag::Seen));
        flags.insert_keyword(keyword("x"));
        assert!(flags.apply(FlagOperation::Replace, &seen));
        assert_eq!(flags, seen);
    }

    #[test]
    fn system_flag_names_are_case_insensitive() {
        assert_eq!(SystemFlag::from_name("\\SEEN"), Some(SystemFlag::Seen));
        assert_eq!(SystemFlag::from_name("\\Recent"), None);
    }
}
