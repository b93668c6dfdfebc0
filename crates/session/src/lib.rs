//! The IMAP session of Portcullis: one client's conversation, without any I/O of its own.
//!
//! A connection (crate `net`) feeds [`Session`] framed commands and lines and gets responses
//! through an [`Output`]; the session answers what to read next ([`Next`]). It talks to the
//! store only through the [`portcullis_store::Store`] trait.
//!
//! ```text
//! net ──frame──► Session::handle_frame ──► state gate (state.rs) ──► commands/<family>.rs
//!                     │                                                  │
//!                     └──◄── sync(): store changes → untagged responses ◄┘ (view.rs)
//! ```
//!
//! Architecture invariant: this crate never touches a socket, TLS or SQL (a test in the
//! workspace checks its dependency tree).

mod capability;
mod commands;
mod config;
mod error;
mod mailbox_cache;
mod output;
pub mod quirks;
mod session;
mod state;
mod view;

pub use config::{ConnectionInfo, ServerContext, SessionConfig};
pub use mailbox_cache::{CAPACITY as MAILBOX_CACHE_CAPACITY, MailboxCache};
pub use output::{Output, Sink};
pub use session::{Next, Session};
pub use state::StateKind;
