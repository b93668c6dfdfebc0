//! Raw header-block scanning.
//!
//! IMAP needs header values exactly as written (ENVELOPE keeps encoded words, HEADER.FIELDS
//! returns the original lines with their folding), which general-purpose parsers decode away,
//! so the header block is scanned here byte by byte. A field is its first line plus every
//! following line that starts with SP/HTAB; the block ends at the first empty line or at the
//! end of the data. Everything is a single linear pass: no field or line length limit is
//! needed for safety.

/// One header field as it appears in the block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    /// Field name with trailing whitespace before the colon removed; the whole first line
    /// (without its line break) when the field has no colon.
    pub(crate) name: &'a [u8],
    /// Everything after the colon up to, not including, the field's final line break; folds kept.
    pub(crate) value: &'a [u8],
    /// The whole field including continuation lines and the final line break (if any).
    pub(crate) raw: &'a [u8],
    /// Whether the first line contains a colon (only such fields can match a name).
    pub(crate) has_colon: bool,
}

/// Iterator over the fields of a header block; stops at the blank line.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
    /// Iteration ended at the blank line (rather than at the end of the data).
    at_blank_line: bool,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(block: &'a [u8]) -> Self {
        Self {
            rest: block,
            at_blank_line: false,
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let rest = self.rest;
        if rest.is_empty() || starts_with_line_break(rest) {
            self.at_blank_line |= !rest.is_empty();
            self.rest = &[];
            return None;
        }
        let (raw, tail) = rest.split_at(field_len(rest));
        self.rest = tail;
        Some(split_field(raw))
    }
}

/// Iterator returned by [`headers`](crate::headers): `(name, raw value)` pairs.
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    fields: Fields<'a>,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        self.fields.next().map(|field| (field.name, field.value))
    }
}

/// Iterates `(name, raw value)` over a header block. The value is everything after the colon up
/// to (not including) the line break ending the field: leading whitespace and inner folds
/// (CRLF + WSP) are kept, nothing is decoded. A line without a colon yields the whole line as
/// name and an empty value. Iteration stops at the blank line ending the block.
pub fn headers(header_block: &[u8]) -> HeaderIter<'_> {
    HeaderIter {
        fields: Fields::new(header_block),
    }
}

/// HEADER.FIELDS / HEADER.FIELDS.NOT (RFC 9051 6.4.5).
///
/// Given a raw header block (including its final blank line), returns the fields (with their
/// folded continuation lines, byte for byte) whose name matches any of `names`
/// case-insensitively — or, with `negate`, every field that does not match, including lines
/// without a colon — in original order, followed by the blank line `\r\n` when the block has
/// one. A last field that lacks a line break (header block at end of data) gets `\r\n`
/// appended.
///
/// RFC 3501 6.4.5: "Subsetting does not exclude the [RFC-2822] delimiting blank line between
/// the header and the body; the blank line is included in all header fetches, except in the
/// case of a message which has no body and no blank line."
pub fn header_fields(header_block: &[u8], names: &[&[u8]], negate: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut fields = Fields::new(header_block);
    for field in fields.by_ref() {
        let matched = field.has_colon && names.iter().any(|n| n.eq_ignore_ascii_case(field.name));
        if matched != negate {
            out.extend_from_slice(field.raw);
            if !field.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if fields.at_blank_line {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the header block at the start of `data`, including the blank line that ends it;
/// `data.len()` when there is no blank line.
pub(crate) fn header_block_len(data: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(rest) = data.get(pos..) {
        if rest.is_empty() {
            break;
        }
        if rest.starts_with(b"\r\n") {
            return pos + 2;
        }
        if rest.starts_with(b"\n") {
            return pos + 1;
        }
        pos = line_end(data, pos);
    }
    data.len()
}

/// Index just past the next LF at or after `from`, or `data.len()`.
pub(crate) fn line_end(data: &[u8], from: usize) -> usize {
    data.get(from..)
        .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
        .map_or(data.len(), |i| from + i + 1)
}

pub(crate) fn is_wsp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn starts_with_line_break(data: &[u8]) -> bool {
    data.starts_with(b"\r\n") || data.starts_with(b"\n")
}

/// Length of the field at the start of `data`: its first line plus continuation lines.
fn field_len(data: &[u8]) -> usize {
    let mut end = line_end(data, 0);
    while data.get(end).is_some_and(|&c| is_wsp(c)) {
        end = line_end(data, end);
    }
    end
}

fn split_field(raw: &[u8]) -> Field<'_> {
    let content = strip_line_break(raw);
    let first_line_len = content
        .iter()
        .position(|&c| c == b'\n')
        .unwrap_or(content.len());
    match content[..first_line_len].iter().position(|&c| c == b':') {
        Some(colon) => Field {
            name: trim_wsp_end(&content[..colon]),
            value: &content[colon + 1..],
            raw,
            has_colon: true,
        },
        None => Field {
            name: content,
            value: &[],
            raw,
            has_colon: false,
        },
    }
}

fn strip_line_break(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(raw)
}

fn trim_wsp_end(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., last] = bytes {
        if !is_wsp(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// Trims SP/HTAB on both sides.
pub(crate) fn trim_wsp(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_wsp(*first) {
            break;
        }
        bytes = rest;
    }
    trim_wsp_end(bytes)
}

/// A raw header value the way IMAP servers report it (Dovecot's rule): whitespace at the start
/// of the first line dropped, every CR and LF removed, everything else kept as written
/// (whitespace after a fold, trailing whitespace, comments, encoded words).
pub(crate) fn raw_value(value: &[u8]) -> Vec<u8> {
    let start = value
        .iter()
        .position(|&c| !is_wsp(c))
        .unwrap_or(value.len());
    value[start..]
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect()
}

/// Text meant for humans (ENVELOPE subjects and display names), normalised like Dovecot
/// does: CR and LF removed, every run of SP/HTAB turned into one space, no leading or trailing
/// whitespace, NUL replaced by 0x80. Encoded words and 8-bit bytes are kept.
pub(crate) fn for_humans(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut pending_space = false;
    for &c in value {
        match c {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = !out.is_empty(),
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(if c == 0 { 0x80 } else { c });
            }
        }
    }
    out
}

/// The header fields this crate interprets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    Date,
    Subject,
    From,
    Sender,
    ReplyTo,
    To,
    Cc,
    Bcc,
    InReplyTo,
    MessageId,
    ContentType,
    ContentTransferEncoding,
    ContentId,
    ContentDescription,
    ContentMd5,
    ContentDisposition,
    ContentLanguage,
    ContentLocation,
}

const KNOWN: [(Known, &[u8]); 18] = [
    (Known::Date, b"date"),
    (Known::Subject, b"subject"),
    (Known::From, b"from"),
    (Known::Sender, b"sender"),
    (Known::ReplyTo, b"reply-to"),
    (Known::To, b"to"),
    (Known::Cc, b"cc"),
    (Known::Bcc, b"bcc"),
    (Known::InReplyTo, b"in-reply-to"),
    (Known::MessageId, b"message-id"),
    (Known::ContentType, b"content-type"),
    (Known::ContentTransferEncoding, b"content-transfer-encoding"),
    (Known::ContentId, b"content-id"),
    (Known::ContentDescription, b"content-description"),
    (Known::ContentMd5, b"content-md5"),
    (Known::ContentDisposition, b"content-disposition"),
    (Known::ContentLanguage, b"content-language"),
    (Known::ContentLocation, b"content-location"),
];

/// The raw values of the [`Known`] fields of one header block, every occurrence in order.
///
/// Which occurrence counts is the caller's choice; this crate follows Dovecot, since RFC 3501
/// and RFC 9051 do not say: the first `Content-*` field, the last `Date`/`Subject`/
/// `Message-ID`/`In-Reply-To`, and every address field (their lists are concatenated).
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownFields<'a> {
    values: [Vec<&'a [u8]>; KNOWN.len()],
}

impl<'a> KnownFields<'a> {
    pub(crate) fn collect(block: &'a [u8]) -> Self {
        let mut known = Self::default();
        for field in Fields::new(block).filter(|f| f.has_colon) {
            let index = KNOWN
                .iter()
                .position(|(_, name)| name.eq_ignore_ascii_case(field.name));
            if let Some(slot) = index.and_then(|i| known.values.get_mut(i)) {
                slot.push(field.value);
            }
        }
        known
    }

    fn all_of(&self, which: Known) -> &[&'a [u8]] {
        KNOWN
            .iter()
            .position(|(k, _)| *k == which)
            .and_then(|index| self.values.get(index))
            .map_or(&[], Vec::as_slice)
    }

    /// The first occurrence.
    pub(crate) fn get(&self, which: Known) -> Option<&'a [u8]> {
        self.all_of(which).first().copied()
    }

    /// The last occurrence.
    pub(crate) fn last(&self, which: Known) -> Option<&'a [u8]> {
        self.all_of(which).last().copied()
    }

    /// Every occurrence, in order.
    pub(crate) fn all(&self, which: Known) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.all_of(which).iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_name_value_and_raw() {
        let block = b"Subject: a\r\n b\r\nX-No-Colon\r\nTo : x\r\n\r\nbody";
        let fields: Vec<_> = Fields::new(block).collect();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0].name, b"Subject");
        assert_eq!(fields[0].value, b" a\r\n b");
        assert_eq!(fields[0].raw, b"Subject: a\r\n b\r\n");
        assert_eq!(fields[1].name, b"X-No-Colon");
        assert!(!fields[1].has_colon);
        assert_eq!(fields[2].name, b"To");
        assert_eq!(fields[2].value, b" x");
    }

    #[test]
    fn block_len_variants() {
        assert_eq!(header_block_len(b""), 0);
        assert_eq!(header_block_len(b"\r\n"), 2);
        assert_eq!(header_block_len(b"\r\nbody"), 2);
        assert_eq!(header_block_len(b"A: b\r\n\r\nbody"), 8);
        assert_eq!(header_block_len(b"A: b\r\n"), 6);
        assert_eq!(header_block_len(b"A: b"), 4);
        assert_eq!(header_block_len(b"A: b\n\nx"), 6);
    }

    #[test]
    fn known_fields_keep_every_occurrence() {
        let block = b"SUBJECT: one\r\nsubject: two\r\nX: y\r\n\r\n";
        let known = KnownFields::collect(block);
        assert_eq!(known.get(Known::Subject), Some(&b" one"[..]));
        assert_eq!(known.last(Known::Subject), Some(&b" two"[..]));
        assert_eq!(known.all(Known::Subject).count(), 2);
        assert_eq!(known.get(Known::From), None);
        assert_eq!(known.last(Known::From), None);
    }

    #[test]
    fn raw_values_drop_line_breaks_and_leading_whitespace_only() {
        assert_eq!(raw_value(b" \ta\r\n\tb  c \r\n "), b"a\tb  c  ");
        assert_eq!(raw_value(b"\r\n <id@x>"), b" <id@x>");
        assert_eq!(raw_value(b"   "), b"");
    }

    #[test]
    fn text_for_humans_collapses_whitespace() {
        assert_eq!(
            for_humans(b"  lead spaces \r\n\tand tab fold\r\n   and more  "),
            b"lead spaces and tab fold and more"
        );
        assert_eq!(for_humans(b" \t "), b"");
        assert_eq!(for_humans(b"a\0b"), b"a\x80b");
    }
}
