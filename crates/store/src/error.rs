//! The store's error type, sorted by what the client can be told.

use crate::{AccountName, MailboxName};

/// A store operation that failed. Every variant but `Backend` is the client's or the
/// administrator's to fix and is safe to show them; `Backend` carries internal detail
/// (SQL, paths) that is logged once and never sent to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No account with that name.
    #[error("no such account: {0}")]
    AccountNotFound(AccountName),
    /// An account with that name exists.
    #[error("account already exists: {0}")]
    AccountExists(AccountName),
    /// No mailbox with that name, or it is a `\Noselect` placeholder.
    #[error("no such mailbox: {0}")]
    MailboxNotFound(MailboxName),
    /// The mailbox an operation was addressed to (by id) has been deleted meanwhile.
    #[error("the mailbox has been deleted")]
    MailboxGone,
    /// A mailbox with that name exists.
    #[error("mailbox already exists: {0}")]
    MailboxExists(MailboxName),
    /// DELETE of a `\Noselect` name that still has children (RFC 9051 6.3.5).
    #[error("mailbox has children: {0}")]
    HasChildren(MailboxName),
    /// A request the model forbids (delete INBOX, rename a mailbox into itself ...).
    #[error("{0}")]
    Cannot(&'static str),
    /// A configured limit would be exceeded (UID space, mailbox count ...).
    #[error("limit reached: {0}")]
    Limit(&'static str),
    /// The storage engine failed. The text is for the log only.
    #[error("storage backend failure: {0}")]
    Backend(String),
}

/// Shorthand.
pub type StoreResult<T> = Result<T, StoreError>;
