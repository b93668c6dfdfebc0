//! The text IMAP SEARCH matches, defined once: SEARCH verifies a message against it, and
//! the store's full-text index is built from exactly the same text, so that an index lookup
//! can only narrow the candidates, never lose a match.
//!
//! - Header keys (FROM, SUBJECT, HEADER ...) match a field's decoded value
//!   ([`decode_header_value`]); TEXT also matches field names.
//! - BODY and TEXT match the decoded text ([`decoded_text`]) of the [`text_parts`].
//! - Matching is case-insensitive through [`fold`] on both sides.

use crate::decode::{decode_header_value, decoded_text};
use crate::header::headers;
use crate::types::{MessageSummary, Part};

/// The one case folding of SEARCH (Unicode lower case).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The parts whose text BODY searches: every leaf of type text/* (or without a type),
/// inside multiparts and encapsulated messages.
pub fn text_parts(summary: &MessageSummary) -> Vec<&Part> {
    let mut found = Vec::new();
    let mut pending = vec![&summary.root];
    while let Some(part) = pending.pop() {
        if let Some(inner) = part.message() {
            pending.push(&inner.root);
        } else if !part.children().is_empty() {
            pending.extend(part.children().iter().rev());
        } else if part.content_type.media_type.is_empty() || part.content_type.is_type("text") {
            found.push(part);
        }
    }
    found
}

/// A message's searchable text, folded: one line per header field (`name: value`) and the
/// text of every text part. Each column is cut at `limit` bytes (on a character boundary);
/// `complete` says whether anything was cut.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchText {
    /// `name: decoded value` lines of the top-level header.
    pub headers: String,
    /// Decoded text of the text parts.
    pub body: String,
    /// Nothing was cut off.
    pub complete: bool,
}

/// Builds the searchable text of a stored message.
pub fn search_text(message: &[u8], summary: &MessageSummary, limit: usize) -> SearchText {
    let range = summary.root.header_range();
    let header_block = usize::try_from(range.start)
        .ok()
        .zip(usize::try_from(range.end).ok())
        .and_then(|(start, end)| message.get(start..end))
        .unwrap_or_default();
    let mut text = SearchText {
        complete: true,
        ..SearchText::default()
    };
    for (name, raw) in headers(header_block) {
        let line = format!(
            "{}: {}\n",
            fold(&String::from_utf8_lossy(name)),
            fold(&decode_header_value(raw))
        );
        text.complete &= push_within(&mut text.headers, &line, limit);
    }
    for part in text_parts(summary) {
        let decoded = fold(&decoded_text(message, part)) + "\n";
        text.complete &= push_within(&mut text.body, &decoded, limit);
    }
    text
}

/// Appends what fits within `limit` bytes; false when something was left out.
fn push_within(out: &mut String, text: &str, limit: usize) -> bool {
    let room = limit.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
        return true;
    }
    let mut cut = room;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push_str(&text[..cut]);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\nSubject: Hello World\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZSBBVVMgQmVybGlu\r\n\
--b\r\nContent-Type: application/octet-stream\r\n\r\nBINARYSTUFF\r\n--b\r\n\
Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nInner Body Text\r\n--b--\r\n";

    #[test]
    fn the_text_search_sees_is_decoded_and_folded() {
        let summary = crate::parse(MESSAGE);
        let text = search_text(MESSAGE, &summary, 1 << 20);
        assert!(text.complete);
        assert!(
            text.headers.contains("from: jörg <joerg@example.org>\n"),
            "{}",
            text.headers
        );
        assert!(text.headers.contains("subject: hello world\n"));
        assert!(text.body.contains("grüße aus berlin"), "{}", text.body);
        assert!(text.body.contains("inner body text"));
        assert!(
            !text.body.contains("binarystuff"),
            "non-text parts are not searched"
        );
        assert_eq!(text_parts(&summary).len(), 2);
    }

    #[test]
    fn columns_are_cut_at_the_limit_on_character_boundaries() {
        let mut out = String::new();
        assert!(push_within(&mut out, "ab", 4));
        assert!(!push_within(&mut out, "cé", 4));
        assert_eq!(out, "abc");
    }
}
