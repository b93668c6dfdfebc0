//! Section-number resolution (RFC 9051 / RFC 3501 6.4.5).
//!
//! Part numbers follow the MIME tree, with the IMAP twist that a non-multipart entity has a
//! part 1 that is its own body, and that the parts of a `message/rfc822` part n are numbered
//! n.1, n.2, ... after the encapsulated message's own numbering.
//!
//! How callers map section specifiers onto the summary (offsets are into the stored message):
//! * `BODY[]`: the whole message; `BODY[HEADER]` / `BODY[TEXT]`: `root.header_range()` /
//!   `root.body_range()`.
//! * `BODY[n]`: `part(n).body_range()`; `BODY[n.MIME]`: `part(n).header_range()`.
//! * `BODY[n.HEADER]`, `BODY[n.TEXT]`, `BODY[n.HEADER.FIELDS (..)]`: only for a
//!   `message/rfc822` part; use [`MessageSummary::message`] and its root's ranges
//!   (with [`header_fields`](crate::header_fields) on the header block).

use crate::types::{MessageSummary, Part, PartKind};

impl MessageSummary {
    /// Resolves a part path like `[1, 2]` (`BODY[1.2]`). An empty path is the whole message
    /// (the root part). For a non-multipart message, part 1 is the body itself (the root part);
    /// for a `message/rfc822` part n, `n.1` addresses the encapsulated message's part 1 (its
    /// first child when it is a multipart, otherwise its root). `None` for non-existent parts,
    /// including any 0 in the path.
    pub fn part(&self, path: &[u32]) -> Option<&Part> {
        let Some((&first, rest)) = path.split_first() else {
            return Some(&self.root);
        };
        let mut part = numbered(self, first)?;
        for &n in rest {
            part = match &part.kind {
                PartKind::Multipart(children) => nth(children, n)?,
                PartKind::Message(message) => numbered(message, n)?,
                PartKind::Single => return None,
            };
        }
        Some(part)
    }

    /// The message a `HEADER` / `TEXT` section specifier applies to: `self` for an empty path,
    /// otherwise the encapsulated message of the `message/rfc822` part at `path`.
    pub fn message(&self, path: &[u32]) -> Option<&MessageSummary> {
        if path.is_empty() {
            return Some(self);
        }
        self.part(path)?.message()
    }
}

/// Part `n` of a message: the n-th child of a multipart root, else the root itself for n = 1.
fn numbered(message: &MessageSummary, n: u32) -> Option<&Part> {
    match &message.root.kind {
        PartKind::Multipart(children) => nth(children, n),
        PartKind::Single | PartKind::Message(_) => (n == 1).then_some(&message.root),
    }
}

fn nth(children: &[Part], n: u32) -> Option<&Part> {
    let index = usize::try_from(n.checked_sub(1)?).ok()?;
    children.get(index)
}
