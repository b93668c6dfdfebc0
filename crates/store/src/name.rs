//! Mailbox names as the store keeps them: Unicode, hierarchy separator `/`, `INBOX` spelled in
//! upper case whatever the client wrote (RFC 9051 5.1: "INBOX" is case-insensitive). Wire
//! encodings (modified UTF-7, UTF8=ACCEPT quoting) are `proto`'s business; the store never sees
//! them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The hierarchy separator.
pub const SEPARATOR: char = '/';

/// Why a name is not a valid mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxNameError {
    /// The empty string.
    #[error("mailbox name is empty")]
    Empty,
    /// Longer than [`MailboxName::MAX_LEN`] bytes.
    #[error("mailbox name is longer than {} bytes", MailboxName::MAX_LEN)]
    TooLong,
    /// Starts or ends with the separator, or has two in a row.
    #[error("mailbox name has an empty hierarchy level")]
    EmptyLevel,
    /// Holds a control character or a LIST wildcard (`*`, `%`).
    #[error("mailbox name contains a forbidden character {0:?}")]
    ForbiddenCharacter(char),
    /// Deeper than [`MailboxName::MAX_DEPTH`] levels.
    #[error("mailbox name has more than {} levels", MailboxName::MAX_DEPTH)]
    TooDeep,
}

/// A valid mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailboxName(String);

impl MailboxName {
    /// Longest name, in UTF-8 bytes.
    pub const MAX_LEN: usize = 1000;
    /// Deepest hierarchy.
    pub const MAX_DEPTH: usize = 32;

    /// The INBOX.
    pub fn inbox() -> MailboxName {
        MailboxName("INBOX".to_owned())
    }

    /// Validates and normalises a name (`inbox` and `Inbox/x` become `INBOX`, `INBOX/x`).
    pub fn new(name: &str) -> Result<MailboxName, MailboxNameError> {
        if name.is_empty() {
            return Err(MailboxNameError::Empty);
        }
        if name.len() > MailboxName::MAX_LEN {
            return Err(MailboxNameError::TooLong);
        }
        if let Some(bad) = name
            .chars()
            .find(|c| c.is_control() || matches!(c, '*' | '%'))
        {
            return Err(MailboxNameError::ForbiddenCharacter(bad));
        }
        if name.split(SEPARATOR).any(str::is_empty) {
            return Err(MailboxNameError::EmptyLevel);
        }
        if name.split(SEPARATOR).count() > MailboxName::MAX_DEPTH {
            return Err(MailboxNameError::TooDeep);
        }
        let first_level = name.split(SEPARATOR).next().unwrap_or(name);
        if first_level.eq_ignore_ascii_case("INBOX") {
            return Ok(MailboxName(format!("INBOX{}", &name[first_level.len()..])));
        }
        Ok(MailboxName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is INBOX itself.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The parent name, if any (`a/b/c` → `a/b`).
    pub fn parent(&self) -> Option<MailboxName> {
        self.0
            .rsplit_once(SEPARATOR)
            .map(|(parent, _)| MailboxName(parent.to_owned()))
    }

    /// Every ancestor, nearest last (`a/b/c` → `a`, `a/b`).
    pub fn ancestors(&self) -> Vec<MailboxName> {
        let mut ancestors = Vec::new();
        for (at, _) in self.0.match_indices(SEPARATOR) {
            ancestors.push(MailboxName(self.0[..at].to_owned()));
        }
        ancestors
    }

    /// Whether `self` is strictly below `ancestor` in the hierarchy.
    pub fn is_descendant_of(&self, ancestor: &MailboxName) -> bool {
        self.0.len() > ancestor.0.len()
            && self.0.starts_with(ancestor.as_str())
            && self.0[ancestor.0.len()..].starts_with(SEPARATOR)
    }

    /// Replaces the `from` prefix of a descendant (or of `self`) by `to`, for RENAME.
    pub fn with_prefix_replaced(
        &self,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Option<MailboxName> {
        if self == from {
            return Some(to.clone());
        }
        self.is_descendant_of(from)
            .then(|| MailboxName(format!("{}{}", to.0, &self.0[from.0.len()..])))
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> MailboxName {
        MailboxName::new(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn inbox_is_normalised_in_any_case() {
        assert_eq!(name("inbox").as_str(), "INBOX");
        assert_eq!(name("InBoX/Sub").as_str(), "INBOX/Sub");
        assert_eq!(name("INBOXES").as_str(), "INBOXES");
        assert!(name("iNbOx").is_inbox());
    }

    #[test]
    fn invalid_names_are_refused_with_the_reason() {
        assert_eq!(MailboxName::new(""), Err(MailboxNameError::Empty));
        assert_eq!(MailboxName::new("/a"), Err(MailboxNameError::EmptyLevel));
        assert_eq!(MailboxName::new("a/"), Err(MailboxNameError::EmptyLevel));
        assert_eq!(MailboxName::new("a//b"), Err(MailboxNameError::EmptyLevel));
        assert_eq!(
            MailboxName::new("a*"),
            Err(MailboxNameError::ForbiddenCharacter('*'))
        );
        assert_eq!(
            MailboxName::new("a\tb"),
            Err(MailboxNameError::ForbiddenCharacter('\t'))
        );
        assert_eq!(
            MailboxName::new(&"x".repeat(1001)),
            Err(MailboxNameError::TooLong)
        );
        assert_eq!(
            MailboxName::new(&vec!["a"; 33].join("/")),
            Err(MailboxNameError::TooDeep)
        );
    }

    #[test]
    fn unicode_spaces_ampersands_and_quotes_are_ordinary_characters() {
        assert_eq!(
            name("Entwürfe & \"Alte\" Post").as_str(),
            "Entwürfe & \"Alte\" Post"
        );
    }

    #[test]
    fn hierarchy_helpers() {
        let deep = name("a/b/c");
        assert_eq!(deep.parent(), Some(name("a/b")));
        assert_eq!(deep.ancestors(), vec![name("a"), name("a/b")]);
        assert!(deep.is_descendant_of(&name("a")));
        assert!(!name("ab").is_descendant_of(&name("a")));
        assert_eq!(
            deep.with_prefix_replaced(&name("a"), &name("x/y")),
            Some(name("x/y/b/c"))
        );
        assert_eq!(
            name("ab").with_prefix_replaced(&name("a"), &name("x")),
            None
        );
    }
}
