//! Account names and records.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::AccountId;

/// Why a text is not an account name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountNameError {
    /// Empty, or longer than [`AccountName::MAX_LEN`] bytes.
    #[error("account name must be 1 to {} bytes long", AccountName::MAX_LEN)]
    Length,
    /// Whitespace, a control character, or a character that IMAP or the shell would mangle.
    #[error("account name contains the forbidden character {0:?}")]
    ForbiddenCharacter(char),
}

/// A login name. ASCII letters are folded to lower case so that `Alice@Example.org` and
/// `alice@example.org` are one account, as users expect of mail addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountName(String);

impl AccountName {
    /// Longest name, in UTF-8 bytes.
    pub const MAX_LEN: usize = 255;

    /// Validates and normalises a login name.
    pub fn new(name: &str) -> Result<AccountName, AccountNameError> {
        if name.is_empty() || name.len() > AccountName::MAX_LEN {
            return Err(AccountNameError::Length);
        }
        if let Some(bad) = name.chars().find(|c| {
            c.is_control() || c.is_whitespace() || matches!(c, '"' | '\\' | '/' | '*' | '%')
        }) {
            return Err(AccountNameError::ForbiddenCharacter(bad));
        }
        Ok(AccountName(name.to_ascii_lowercase()))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account as the authenticator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Primary key.
    pub id: AccountId,
    /// Normalised login name.
    pub name: AccountName,
    /// The password hash in PHC string format (`$argon2id$...`). Not a secret in the
    /// cryptographic sense, but never logged either.
    pub password_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_ascii_case() {
        assert_eq!(
            AccountName::new("Alice@Example.ORG").map(|n| n.0),
            Ok("alice@example.org".to_owned())
        );
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(AccountName::new(""), Err(AccountNameError::Length));
        assert_eq!(
            AccountName::new("a b"),
            Err(AccountNameError::ForbiddenCharacter(' '))
        );
        assert_eq!(
            AccountName::new("a\"b"),
            Err(AccountNameError::ForbiddenCharacter('"'))
        );
        assert_eq!(
            AccountName::new(&"a".repeat(256)),
            Err(AccountNameError::Length)
        );
    }
}
