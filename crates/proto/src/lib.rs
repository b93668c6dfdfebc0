//! IMAP syntax for Portcullis: framing, command decoding, response encoding.
//!
//! Why our own: imap-codec 2.0 (alpha) cannot parse several IMAP4rev2 command forms we need
//! (ESEARCH `SEARCH RETURN`, LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, MULTIAPPEND) and
//! buffers literals in memory before limits apply. imap-codec stays as a test oracle: every
//! response form we encode must parse with its response parser, and every command it parses
//! we parse the same way (`tests/oracle.rs`).
//!
//! ```text
//! bytes ──► framing::Framer ──Frame::Command(Bytes)──► decode::parse_command ──► Command
//! Data / StatusResponse ──► encode (write into Vec<u8>) ──► bytes
//! ```
//!
//! API boundary: nothing here knows about sockets, async, the store or session state; the
//! only session input the encoder takes is the [`encode::Charset`] (UTF8=ACCEPT or not).

pub mod command;
mod datetime;
pub mod decode;
pub mod encode;
pub mod framing;
pub mod mutf7;
mod sequence;

pub use command::{Command, CommandBody, Tag};
pub use datetime::{Date, DateTime};
pub use decode::{DecodeError, parse_command};
pub use sequence::{SeqBound, SequenceSet};
