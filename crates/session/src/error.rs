//! Converting failures to the wire, in one place: syntax and state errors are BAD,
//! refusals are NO with an RFC 5530 code, internal failures are `NO [SERVERBUG]` with the
//! detail logged once here and never sent.

use portcullis_proto::encode::Code;
use portcullis_store::StoreError;

/// How a command ended when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// BAD: the client sent something it should not have.
    Bad(String),
    /// NO with an optional code.
    No(Option<Code>, String),
}

impl Refusal {
    pub(crate) fn bad(text: impl Into<String>) -> Refusal {
        Refusal::Bad(text.into())
    }

    pub(crate) fn no(code: Code, text: impl Into<String>) -> Refusal {
        Refusal::No(Some(code), text.into())
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Refusal {
        match error {
            StoreError::AccountNotFound(_) => Refusal::no(Code::NonExistent, "No such account"),
            StoreError::AccountExists(_) => {
                Refusal::no(Code::AlreadyExists, "Account already exists")
            }
            StoreError::MailboxNotFound(_) => {
                Refusal::no(Code::NonExistent, "Mailbox does not exist")
            }
            StoreError::MailboxGone => Refusal::no(Code::NonExistent, "Mailbox has been deleted"),
            StoreError::MailboxExists(_) => {
                Refusal::no(Code::AlreadyExists, "Mailbox already exists")
            }
            StoreError::HasChildren(_) => Refusal::no(Code::HasChildren, "Mailbox has children"),
            StoreError::Cannot(why) => Refusal::no(Code::Cannot, why),
            StoreError::Limit(what) => Refusal::no(Code::Limit, format!("Limit reached: {what}")),
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "store failure");
                Refusal::no(Code::ServerBug, "Internal error, please try again later")
            }
        }
    }
}

/// For APPEND, COPY and MOVE: a missing target is `[TRYCREATE]` (RFC 9051 6.3.12).
pub(crate) fn target_refusal(error: StoreError) -> Refusal {
    match error {
        StoreError::MailboxNotFound(_) => Refusal::no(Code::TryCreate, "Mailbox does not exist"),
        other => Refusal::from(other),
    }
}

/// The result of a command handler.
pub(crate) type CommandResult<T = ()> = Result<T, Refusal>;
