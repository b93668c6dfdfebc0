//! Command decoding: a recursive-descent parser over one complete framed command (the
//! [`crate::framing`] layer has already collected its lines and literals, so the parser
//! never waits for input and never allocates for a literal — literals are `Bytes` slices of
//! the frame).
//!
//! Organised by grammar area, not by command: [`primitives`] (atoms, strings, numbers),
//! `sequence` sets and dates here, then `fetch`, `search`, `mailbox` (LIST, STATUS,
//! SELECT parameters) and `command` dispatch.

mod command;
mod fetch;
mod mailbox;
mod primitives;
mod search;

pub use command::parse_command;
pub(crate) use primitives::is_tag_char;

use crate::Tag;
use std::fmt;

/// A command that could not be decoded. `tag` is known when the line started with a valid
/// tag, so the BAD can be tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The tag, when one was read.
    pub tag: Option<Tag>,
    /// What was wrong, for the client (no echo of arguments).
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}
