//! Message parsing for Portcullis: parse each stored message once, keep what FETCH needs.
//!
//! Parsing a MIME message on every FETCH is slow and multiplies the attack surface, so the
//! server parses a message exactly once, at APPEND/delivery, into a [`MessageSummary`] that the
//! storage layer serialises next to the message. It holds the ENVELOPE, the MIME tree with
//! everything BODYSTRUCTURE (including extension data) needs, and the absolute byte offsets of
//! every header block and body, so `BODY[section]` is a slice of the stored bytes.
//!
//! Values are kept raw — as written in the message, only unfolded — because IMAP wants them
//! raw (ENVELOPE subjects keep RFC 2047 encoded words, BODYSTRUCTURE parameters keep RFC 2231
//! syntax; [`merge_continuations`] joins RFC 2231 continuations when they are encoded).
//! Turning them into IMAP syntax is the `proto` crate's job; decoding for SEARCH is provided
//! here by [`decode_header_value`] and [`decoded_text`].
//!
//! Where RFC 3501/9051 leave the mapping from a message to ENVELOPE/BODYSTRUCTURE open
//! (repeated fields, whitespace, line counts, broken addresses, nesting limits), the answer is
//! Dovecot's, which clients are tuned to; the golden corpus in `tests/golden` pins every answer
//! and `tests/e2e/test_dovecot_golden.py` compares it with a real Dovecot. The remaining
//! differences, each permitted by an RFC sentence, are listed in `docs/mime-fidelity.md`.
//!
//! Parsing never fails and never panics: broken input still yields a summary with RFC defaults
//! (no Content-Type means `text/plain; charset=us-ascii`), and hostile input is bounded by
//! [`MAX_DEPTH`] and [`MAX_PARTS`] with work linear in the message size per nesting level.
//!
//! Messages must be CRLF-normalised first ([`normalize_line_endings`]); all offsets refer to
//! the normalised bytes.

mod address;
mod content;
mod decode;
mod header;
mod normalize;
mod rfc2231;
mod search;
mod section;
mod structure;
mod types;

#[cfg(test)]
mod tests;

pub use address::{MISSING_HOST, MISSING_MAILBOX};
pub use decode::{decode_header_value, decode_transfer_encoding, decoded_text};
pub use header::{HeaderIter, header_fields, headers};
pub use normalize::normalize_line_endings;
pub use rfc2231::merge_continuations;
pub use search::{SearchText, fold, search_text, text_parts};
pub use structure::{MAX_DEPTH, MAX_PARTS};
pub use types::{Address, ContentType, Disposition, Envelope, MessageSummary, Part, PartKind};

/// Parses a (CRLF-normalised) message. Never panics, never fails: a broken message still
/// yields a summary. The root part has `header_start == 0` and `end == raw.len()`.
pub fn parse(raw: &[u8]) -> MessageSummary {
    structure::parse_message(raw)
}
