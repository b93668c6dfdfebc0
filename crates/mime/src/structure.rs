//! Builds the MIME tree with absolute byte offsets.
//!
//! mail-parser is not used for the structure: its part offsets do not follow the RFC 2046 rule
//! that the CRLF before a delimiter belongs to the delimiter, and we need hard limits under our
//! own control. The algorithm: a multipart's body is scanned line by line for its own boundary
//! (a line `--boundary` followed only by whitespace, or `--boundary--`); the regions between
//! delimiters become the children, each parsed recursively inside its region only. An outer
//! boundary therefore always terminates inner parts (RFC 2046 5.1.2), a missing close delimiter
//! lets the last part run to the end of the enclosing body, and preamble/epilogue belong to no
//! part.
//!
//! Cost is bounded: each nesting level scans at most the whole message once and nesting stops at
//! [`MAX_DEPTH`] (deeper parts are leaves), so work is `O(MAX_DEPTH * len)`, never quadratic in
//! the input; the total number of parts is capped at [`MAX_PARTS`] so a message made of
//! millions of tiny parts cannot blow up memory.

use crate::address::parse_address_list;
use crate::content::{parse_content_type, parse_disposition, parse_encoding, parse_language};
use crate::header::{Known, KnownFields, for_humans, header_block_len, line_end, raw_value};
use crate::types::{Address, ContentType, Envelope, MessageSummary, Part, PartKind};

/// Maximum nesting depth. The root is at depth 0; a multipart or message part at depth
/// `MAX_DEPTH` is not descended into and becomes a [`PartKind::Single`] leaf of type
/// `application/octet-stream` (its parameters kept), which is where and how Dovecot stops too.
pub const MAX_DEPTH: usize = 99;

/// Maximum number of parts in one message (all levels together, synthetic parts included).
/// Once reached, a multipart that is still being split ends with a last child running to the
/// end of its body, and further multiparts/messages become `application/octet-stream` leaves.
pub const MAX_PARTS: usize = 10_000;

/// Which Content-Type applies when a part has none (RFC 2045 5.2 / RFC 2046 5.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultType {
    Text,
    Digest,
}

impl DefaultType {
    fn content_type(self) -> ContentType {
        match self {
            Self::Text => ContentType::default_text(),
            Self::Digest => ContentType::default_digest(),
        }
    }
}

/// Parses a whole message; see [`crate::parse`].
pub(crate) fn parse_message(data: &[u8]) -> MessageSummary {
    let mut builder = Builder { data, parts: 0 };
    builder.message(0, data.len(), 0)
}

#[derive(Debug)]
struct Builder<'a> {
    data: &'a [u8],
    parts: usize,
}

/// One entity's header facts, borrowed from the message.
#[derive(Debug)]
struct Entity<'a> {
    header_start: usize,
    body_start: usize,
    end: usize,
    fields: KnownFields<'a>,
}

impl<'a> Builder<'a> {
    fn entity(&self, start: usize, end: usize) -> Entity<'a> {
        let data: &'a [u8] = self.data;
        let region = data.get(start..end).unwrap_or_default();
        let header_len = header_block_len(region);
        Entity {
            header_start: start,
            body_start: start + header_len,
            end,
            fields: KnownFields::collect(&region[..header_len]),
        }
    }

    fn message(&mut self, start: usize, end: usize, depth: usize) -> MessageSummary {
        let entity = self.entity(start, end);
        let envelope = build_envelope(&entity.fields);
        let root = self.part(&entity, DefaultType::Text, depth);
        MessageSummary { envelope, root }
    }

    fn part(&mut self, entity: &Entity<'a>, default: DefaultType, depth: usize) -> Part {
        self.parts += 1;
        let fields = &entity.fields;
        let mut content_type = fields
            .get(Known::ContentType)
            .and_then(parse_content_type)
            .unwrap_or_else(|| default.content_type());
        let encoding = parse_encoding(fields.get(Known::ContentTransferEncoding));
        let raw = |known| fields.get(known).map(raw_value);
        let container =
            content_type.is_type("multipart") || is_encapsulated(&content_type, &encoding);
        let kind = if !container {
            PartKind::Single
        } else if depth >= MAX_DEPTH || self.parts >= MAX_PARTS {
            content_type = ContentType {
                media_type: b"application".to_vec(),
                subtype: b"octet-stream".to_vec(),
                params: content_type.params,
            };
            PartKind::Single
        } else {
            self.container(entity, &content_type, depth)
        };
        let body = self
            .data
            .get(entity.body_start..entity.end)
            .unwrap_or_default();
        let lines = if needs_lines(&content_type) {
            count_lines(body)
        } else {
            0
        };
        Part {
            header_start: to_u64(entity.header_start),
            body_start: to_u64(entity.body_start),
            end: to_u64(entity.end),
            id: raw(Known::ContentId),
            description: raw(Known::ContentDescription),
            md5: raw(Known::ContentMd5),
            location: raw(Known::ContentLocation),
            disposition: fields
                .get(Known::ContentDisposition)
                .and_then(parse_disposition),
            language: fields
                .get(Known::ContentLanguage)
                .map(parse_language)
                .unwrap_or_default(),
            content_type,
            encoding,
            lines,
            kind,
        }
    }

    /// The children of a multipart, or the message inside a `message/rfc822`/`global` part.
    fn container(
        &mut self,
        entity: &Entity<'a>,
        content_type: &ContentType,
        depth: usize,
    ) -> PartKind {
        if !content_type.is_type("multipart") {
            let message = self.message(entity.body_start, entity.end, depth + 1);
            return PartKind::Message(Box::new(message));
        }
        // Without a boundary nothing can be split: like a multipart whose boundary never
        // occurs, it gets one synthetic empty part.
        let boundary = content_type.param("boundary").unwrap_or_default();
        self.multipart(entity, content_type, boundary, depth)
    }

    fn multipart(
        &mut self,
        entity: &Entity<'a>,
        content_type: &ContentType,
        boundary: &[u8],
        depth: usize,
    ) -> PartKind {
        let default = if content_type.subtype.eq_ignore_ascii_case(b"digest") {
            DefaultType::Digest
        } else {
            DefaultType::Text
        };
        let budget = MAX_PARTS.saturating_sub(self.parts).max(1);
        let regions = if boundary.is_empty() {
            Vec::new()
        } else {
            split_multipart(self.data, entity.body_start, entity.end, boundary, budget)
        };
        let children = if regions.is_empty() {
            let empty = self.entity(entity.end, entity.end);
            vec![self.part(&empty, DefaultType::Text, depth + 1)]
        } else {
            regions
                .into_iter()
                .map(|(start, end)| {
                    let child = self.entity(start, end);
                    self.part(&child, default, depth + 1)
                })
                .collect()
        };
        PartKind::Multipart(children)
    }
}

/// `message/rfc822` and `message/global` with an identity encoding are parsed as messages; an
/// (illegal but seen) base64/quoted-printable encoded one stays a leaf since offsets into the
/// encoded form would be meaningless (RFC 2046 5.2.1: "No encoding other than "7bit", "8bit",
/// or "binary" is permitted for the body of a "message/rfc822" entity"), and BINARY can still
/// decode it.
fn is_encapsulated(content_type: &ContentType, encoding: &[u8]) -> bool {
    let message = content_type.is("message", "rfc822") || content_type.is("message", "global");
    let identity = [&b"7bit"[..], b"8bit", b"binary"]
        .iter()
        .any(|e| e.eq_ignore_ascii_case(encoding));
    message && identity
}

fn needs_lines(content_type: &ContentType) -> bool {
    content_type.is_type("text")
        || content_type.is("message", "rfc822")
        || content_type.is("message", "global")
}

/// Dovecot's rule: the number of LF bytes. A last line without a line break (in a multipart the
/// CRLF before the delimiter belongs to the delimiter) is not counted.
pub(crate) fn count_lines(body: &[u8]) -> u64 {
    to_u64(body.iter().filter(|&&c| c == b'\n').count())
}

/// The ENVELOPE. Repeated fields: RFC 5322 4.5 leaves their meaning unspecified except for
/// destination fields ("When multiple occurrences of destination address fields occur in a
/// message, they SHOULD be treated as if the address list in the first occurrence of the field
/// is combined with the address lists of the subsequent occurrences by adding a comma and
/// concatenating"); like Dovecot, every address field is concatenated so, and for the other
/// fields the last occurrence wins.
fn build_envelope(fields: &KnownFields<'_>) -> Envelope {
    let raw = |known| fields.last(known).map(raw_value);
    let list = |known| {
        fields
            .all(known)
            .flat_map(parse_address_list)
            .collect::<Vec<Address>>()
    };
    let from = list(Known::From);
    let or_from = |list: Vec<Address>| if list.is_empty() { from.clone() } else { list };
    Envelope {
        date: raw(Known::Date),
        subject: fields.last(Known::Subject).map(for_humans),
        sender: or_from(list(Known::Sender)),
        reply_to: or_from(list(Known::ReplyTo)),
        to: list(Known::To),
        cc: list(Known::Cc),
        bcc: list(Known::Bcc),
        in_reply_to: raw(Known::InReplyTo),
        message_id: raw(Known::MessageId),
        from,
    }
}

/// Splits the body `[start, end)` of a multipart at its delimiter lines; returns the child
/// regions (each excluding the CRLF before the following delimiter). At most `max_children`
/// regions: the last allowed one runs to `end`.
fn split_multipart(
    data: &[u8],
    start: usize,
    end: usize,
    boundary: &[u8],
    max_children: usize,
) -> Vec<(usize, usize)> {
    let Some(body) = data.get(..end) else {
        return Vec::new();
    };
    let mut regions = Vec::new();
    let mut current: Option<usize> = None;
    let mut pos = start;
    while pos < end {
        let next = line_end(body, pos);
        if let Some(is_close) = delimiter(&body[pos..next], boundary) {
            if let Some(child_start) = current.take() {
                regions.push((child_start, content_end(body, child_start, pos)));
            }
            if is_close {
                return regions;
            }
            if regions.len() + 1 >= max_children {
                regions.push((next, end));
                return regions;
            }
            current = Some(next);
        }
        pos = next;
    }
    if let Some(child_start) = current {
        regions.push((child_start, end));
    }
    regions
}

/// `Some(is_close)` when `line` is a delimiter line for `boundary`.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if rest.starts_with(b"--") {
        return Some(true);
    }
    let padding_only = rest
        .iter()
        .all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
    padding_only.then_some(false)
}

/// End of a child's content given the start of the next delimiter line: the line break before
/// the delimiter is excluded (when it lies inside the child).
fn content_end(data: &[u8], child_start: usize, delimiter_start: usize) -> usize {
    let before = data.get(child_start..delimiter_start).unwrap_or_default();
    let line_break = if before.ends_with(b"\r\n") {
        2
    } else {
        usize::from(before.ends_with(b"\n"))
    };
    delimiter_start - line_break
}

pub(crate) fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_basic_and_crlf_ownership() {
        let body = b"preamble\r\n--b\r\nA\r\n--b \t\r\n\r\n--b\r\n--b--\r\nepilogue";
        let regions = split_multipart(body, 0, body.len(), b"b", usize::MAX);
        let texts: Vec<&[u8]> = regions.iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(texts, vec![&b"A"[..], b"", b""]);
        assert_eq!(regions, vec![(15, 16), (25, 25), (32, 32)]);
    }

    #[test]
    fn split_requires_exact_boundary() {
        let body = b"--bb\r\n--b\r\nx\r\n--bx\r\n--b--";
        let regions = split_multipart(body, 0, body.len(), b"b", usize::MAX);
        let texts: Vec<&[u8]> = regions.iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(texts, vec![&b"x\r\n--bx"[..]]);
    }

    #[test]
    fn split_without_close_runs_to_end() {
        let body = b"--b\r\none\r\n--b\r\ntwo\r\n";
        let regions = split_multipart(body, 0, body.len(), b"b", usize::MAX);
        let texts: Vec<&[u8]> = regions.iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(texts, vec![&b"one"[..], b"two\r\n"]);
    }

    #[test]
    fn split_respects_budget() {
        let body = b"--b\r\n1\r\n--b\r\n2\r\n--b\r\n3\r\n--b--\r\n";
        let regions = split_multipart(body, 0, body.len(), b"b", 2);
        let texts: Vec<&[u8]> = regions.iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(texts, vec![&b"1"[..], b"2\r\n--b\r\n3\r\n--b--\r\n"]);
    }

    #[test]
    fn line_counting() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 0);
        assert_eq!(count_lines(b"a\r\n"), 1);
        assert_eq!(count_lines(b"a\r\nb"), 1);
        assert_eq!(count_lines(b"\r\n\r\n"), 2);
    }
}
