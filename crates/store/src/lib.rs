//! The storage model of Portcullis and the trait its engines implement.
//!
//! Domain types ([`Uid`], [`UidValidity`], [`ModSeq`], [`MailboxName`], [`FlagSet`], ...) live
//! here so that `session` speaks in them and never in SQL rows; engines (`store-sqlite`,
//! later `store-postgres`) implement [`Store`] and are checked by the one conformance suite
//! in [`conformance`] (feature `conformance`).
//!
//! ```text
//! session ──► Store (trait) ──► store-sqlite ──► SQLite file (WAL, group commit)
//!                 ▲                   │
//!                 └─ ChangeNotifier ◄─┘ (after each durable commit)
//! ```

mod account;
mod backend;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod flags;
mod ids;
mod list;
mod model;
mod name;
mod notify;
mod throttle;

pub use account::{Account, AccountName, AccountNameError};
pub use backend::{DEFAULT_EXPUNGE_RETENTION, Store};
pub use error::{StoreError, StoreResult};
pub use flags::{FlagOperation, FlagSet, Keyword, SystemFlag};
pub use ids::{AccountId, MailboxId, ModSeq, Uid, UidValidity};
pub use list::{ListedMessage, MessageList, MessageRun};
pub use model::{
    AppendOutcome, CopyOutcome, ExpungeLog, FlagUpdate, InternalDate, MailboxChanges, MailboxInfo,
    MailboxSnapshot, MailboxStatus, MessageFlags, MessageMeta, NewMessage, SEARCH_TEXT_LIMIT,
    SpecialUse, TextScope, WireSummary,
};
pub use name::{MailboxName, MailboxNameError, SEPARATOR};
pub use notify::{ChangeNotifier, ChangeWatch};
pub use throttle::{ThrottleKey, ThrottleKeyError, ThrottleRecord};
