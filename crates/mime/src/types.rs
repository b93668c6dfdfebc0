//! The data model stored per message.
//!
//! These types are what the storage layer serialises (postcard) at APPEND/delivery time and what
//! the `proto` crate later encodes as ENVELOPE / BODYSTRUCTURE / `BODY[section]` without ever
//! re-parsing the message. Every byte string holds exactly what goes into the matching IMAP field
//! (raw, undecoded), so the encoder only has to quote it.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Everything FETCH needs about one message (or one encapsulated `message/rfc822` message).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MessageSummary {
    /// The ENVELOPE, with the RFC 3501 defaults (sender/reply-to from `From`) already applied.
    pub envelope: Envelope,
    /// The top-level entity. `BODY[HEADER]` is `root.header_range()`, `BODY[TEXT]` is
    /// `root.body_range()`, for an encapsulated message as well as for the outer one.
    pub root: Part,
}

/// The IMAP ENVELOPE (RFC 9051 7.5.2 / RFC 3501 7.4.2).
///
/// String fields are `Some` whenever the header is present (even with an empty value) and hold
/// the value raw, the way Dovecot reports it: CR and LF removed, whitespace at the start of the
/// first line dropped, everything else (trailing whitespace, comments, encoded words) kept. The
/// subject is normalised for humans (every run of whitespace one space, trimmed). When a header
/// occurs several times the last occurrence wins; repeated address fields are concatenated. An
/// empty address list is NIL on the wire.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// `Date:`.
    pub date: Option<Vec<u8>>,
    /// `Subject:`, encoded words kept as written.
    pub subject: Option<Vec<u8>>,
    /// `From:`.
    pub from: Vec<Address>,
    /// `Sender:`, or the `From` list when absent or empty.
    pub sender: Vec<Address>,
    /// `Reply-To:`, or the `From` list when absent or empty.
    pub reply_to: Vec<Address>,
    /// `To:`.
    pub to: Vec<Address>,
    /// `Cc:`.
    pub cc: Vec<Address>,
    /// `Bcc:`.
    pub bcc: Vec<Address>,
    /// `In-Reply-To:`.
    pub in_reply_to: Option<Vec<u8>>,
    /// `Message-ID:`.
    pub message_id: Option<Vec<u8>>,
}

/// One IMAP address structure `(name adl mailbox host)`.
///
/// Group syntax (RFC 3501 7.4.2): a start marker has only `mailbox` (the group name), an end
/// marker has everything `None`. A real address therefore never has `host == None`; see
/// [`MISSING_HOST`](crate::MISSING_HOST) and [`MISSING_MAILBOX`](crate::MISSING_MAILBOX).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Display name: quoted-string quoting removed (quoted-pairs unescaped), encoded words kept,
    /// words separated by one space, whitespace runs collapsed to one space. A bare addr-spec
    /// without display name takes the last comment after its local part as name
    /// (`user@host (Real Name)`). Empty names are `None`.
    pub name: Option<Vec<u8>>,
    /// Obsolete source route (`@a,@b`) without the final colon; almost always `None`;
    /// `INVALID_ROUTE` for `<@host>` (a route without its colon), as Dovecot reports it.
    pub adl: Option<Vec<u8>>,
    /// Local part with quoted-string quoting removed (`"john smith"@x` gives `john smith`, as in
    /// Dovecot), CFWS removed. For a group start marker: the group name.
    pub mailbox: Option<Vec<u8>>,
    /// Domain as written (domain literals keep their brackets), CFWS removed.
    pub host: Option<Vec<u8>>,
}

/// One MIME entity with the byte offsets FETCH `BODY[section]` needs.
///
/// All offsets are absolute offsets into the stored (CRLF-normalised) message, also inside
/// encapsulated messages.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Start of the header block. For the root part 0; for a multipart child the byte after the
    /// boundary line; for an encapsulated message's root the outer part's `body_start`.
    pub header_start: u64,
    /// Start of the body = end of the header block, which includes the blank line ending it.
    /// Equals `end` when the entity has no blank line (then it is all header, body empty).
    pub body_start: u64,
    /// End of the body. For a multipart child this excludes the CRLF that precedes the next
    /// boundary delimiter (RFC 2046 5.1.1: that CRLF belongs to the delimiter).
    pub end: u64,
    /// Content-Type, or the context default (see [`ContentType::default_text`]);
    /// `application/octet-stream` with the original parameters for a multipart or message part
    /// beyond [`MAX_DEPTH`](crate::MAX_DEPTH) or [`MAX_PARTS`](crate::MAX_PARTS).
    pub content_type: ContentType,
    /// `Content-ID:` raw (CR/LF removed, leading whitespace dropped, like the ENVELOPE strings).
    pub id: Option<Vec<u8>>,
    /// `Content-Description:` raw (as `id`; encoded words kept).
    pub description: Option<Vec<u8>>,
    /// `Content-Transfer-Encoding:` token as written; `7bit` when absent or empty.
    pub encoding: Vec<u8>,
    /// `Content-MD5:` raw (as `id`).
    pub md5: Option<Vec<u8>>,
    /// `Content-Disposition:`; `None` when absent or without a disposition type.
    pub disposition: Option<Disposition>,
    /// `Content-Language:` tags in order; empty = NIL.
    pub language: Vec<Vec<u8>>,
    /// `Content-Location:` raw (as `id`).
    pub location: Option<Vec<u8>>,
    /// Body line count: the LF bytes in the body (Dovecot's rule: a last line without line
    /// break does not count). Computed for `text/*`, `message/rfc822` and `message/global`
    /// only; 0 for every other type (BODYSTRUCTURE carries no line count for them).
    pub lines: u64,
    /// What the body contains.
    pub kind: PartKind,
}

/// A media type with its parameters, all bytes as written.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// Top-level type as written (case preserved), e.g. `text`.
    pub media_type: Vec<u8>,
    /// Subtype as written (case preserved), e.g. `plain`.
    pub subtype: Vec<u8>,
    /// Parameters in order, names as written, values with quoted-string quoting removed.
    /// RFC 2231 parameters stay raw pairs (`title*` / `title*0*` with `charset'lang'%XX` values),
    /// and RFC 2047 words stay encoded.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

/// `Content-Disposition` type and parameters (RFC 2183), raw like [`ContentType::params`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// Disposition type as written, e.g. `attachment`.
    pub kind: Vec<u8>,
    /// Parameters in order.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The shape of a part's body.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum PartKind {
    /// A leaf. Also used for a transfer-encoded `message/rfc822` and, with the type changed
    /// to `application/octet-stream`, for any multipart or message part beyond the limits.
    Single,
    /// The children in order; never empty (a multipart without boundary parameter or whose
    /// body has no delimiter line gets one synthetic empty `text/plain` child located at the
    /// multipart's `end`, which Dovecot reports the same way).
    Multipart(Vec<Part>),
    /// `message/rfc822` or `message/global` (identity transfer encoding only): the
    /// encapsulated message, its offsets absolute in the outer message.
    Message(Box<MessageSummary>),
}

impl Part {
    /// The header block (for the MIME header of part n: `BODY[n.MIME]`), including the blank line.
    pub fn header_range(&self) -> Range<u64> {
        self.header_start..self.body_start
    }

    /// The body (`BODY[n]`; `BODY[TEXT]` for a message root). Its length is the BODYSTRUCTURE size.
    pub fn body_range(&self) -> Range<u64> {
        self.body_start..self.end
    }

    /// Body size in bytes, as reported in BODYSTRUCTURE.
    pub fn body_size(&self) -> u64 {
        self.end.saturating_sub(self.body_start)
    }

    /// The children of a multipart, empty for anything else.
    pub fn children(&self) -> &[Part] {
        match &self.kind {
            PartKind::Multipart(children) => children,
            PartKind::Single | PartKind::Message(_) => &[],
        }
    }

    /// The encapsulated message of a `message/rfc822` / `message/global` part.
    pub fn message(&self) -> Option<&MessageSummary> {
        match &self.kind {
            PartKind::Message(message) => Some(message),
            PartKind::Single | PartKind::Multipart(_) => None,
        }
    }
}

impl ContentType {
    /// RFC 2045 5.2 default: `text/plain; charset=us-ascii`.
    pub fn default_text() -> Self {
        Self {
            media_type: b"text".to_vec(),
            subtype: b"plain".to_vec(),
            params: vec![(b"charset".to_vec(), b"us-ascii".to_vec())],
        }
    }

    /// RFC 2046 5.1.5 default inside `multipart/digest`: `message/rfc822`.
    pub fn default_digest() -> Self {
        Self {
            media_type: b"message".to_vec(),
            subtype: b"rfc822".to_vec(),
            params: Vec::new(),
        }
    }

    /// Case-insensitive type/subtype comparison.
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
            && self.subtype.eq_ignore_ascii_case(subtype.as_bytes())
    }

    /// Case-insensitive top-level type comparison.
    pub fn is_type(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
    }

    /// The first parameter whose name matches case-insensitively.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        find_param(&self.params, name)
    }
}

impl Disposition {
    /// The first parameter whose name matches case-insensitively.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        find_param(&self.params, name)
    }
}

fn find_param<'p>(params: &'p [(Vec<u8>, Vec<u8>)], name: &str) -> Option<&'p [u8]> {
    params
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, value)| value.as_slice())
}
