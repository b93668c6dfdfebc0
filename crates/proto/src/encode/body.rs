//! ENVELOPE and BODY/BODYSTRUCTURE (RFC 9051 7.5.2, RFC 3501 7.4.2) from the parse that was
//! stored with the message.
//!
//! Where the RFCs leave the form free, the answer is Dovecot's, which clients are tuned to
//! (see docs/mime-fidelity.md and the golden corpus in tests/golden): text parts without a
//! charset get `("charset" "us-ascii")`, RFC 2231 continuations are merged, a body language
//! is always a list, and a `message/rfc822` part that could not be parsed as a message (it is
//! transfer-encoded) still has the envelope, body and line count its media type requires.

use portcullis_mime::{
    Address, ContentType, Envelope, MessageSummary, Part, PartKind, merge_continuations,
};

use super::strings::{Charset, NString, nstring, read_nstring, string};

/// `envelope` of a message whose header could not be parsed (every field NIL).
const EMPTY_ENVELOPE: &[u8] = b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

/// `body` of such a message: an empty `text/plain` part.
const EMPTY_BODY: &[u8] = b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";

/// Writes an `envelope`.
pub fn envelope(out: &mut Vec<u8>, envelope: &Envelope, charset: Charset) {
    out.push(b'(');
    nstring(out, envelope.date.as_deref(), charset);
    out.push(b' ');
    nstring(out, envelope.subject.as_deref(), charset);
    for list in [
        &envelope.from,
        &envelope.sender,
        &envelope.reply_to,
        &envelope.to,
        &envelope.cc,
        &envelope.bcc,
    ] {
        out.push(b' ');
        address_list(out, list, charset);
    }
    out.push(b' ');
    nstring(out, envelope.in_reply_to.as_deref(), charset);
    out.push(b' ');
    nstring(out, envelope.message_id.as_deref(), charset);
    out.push(b')');
}

/// Bytes that are not an ENVELOPE as [`envelope`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnEnvelope;

/// The SUBJECT of an ENVELOPE that [`envelope`] wrote for a session without UTF8=ACCEPT
/// (the fetch cache's form), read back as the header's bytes; `None` when it has none.
pub fn envelope_subject(wire: &[u8]) -> Result<NString<'_>, NotAnEnvelope> {
    let fields = wire.strip_prefix(b"(").ok_or(NotAnEnvelope)?;
    let (_date, rest) = read_nstring(fields).ok_or(NotAnEnvelope)?;
    let rest = rest.strip_prefix(b" ").ok_or(NotAnEnvelope)?;
    let (subject, _) = read_nstring(rest).ok_or(NotAnEnvelope)?;
    Ok(subject)
}

fn address_list(out: &mut Vec<u8>, addresses: &[Address], charset: Charset) {
    if addresses.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for address in addresses {
        out.push(b'(');
        nstring(out, address.name.as_deref(), charset);
        out.push(b' ');
        nstring(out, address.adl.as_deref(), charset);
        out.push(b' ');
        nstring(out, address.mailbox.as_deref(), charset);
        out.push(b' ');
        nstring(out, address.host.as_deref(), charset);
        out.push(b')');
    }
    out.push(b')');
}

/// Writes `body` for the whole message: BODYSTRUCTURE when `extensible`, BODY otherwise.
pub fn body_structure(
    out: &mut Vec<u8>,
    message: &MessageSummary,
    extensible: bool,
    charset: Charset,
) {
    body(out, &message.root, extensible, charset);
}

fn body(out: &mut Vec<u8>, part: &Part, extensible: bool, charset: Charset) {
    out.push(b'(');
    match &part.kind {
        PartKind::Multipart(children) => multipart(out, part, children, extensible, charset),
        PartKind::Message(inner) if message_form(&part.content_type, charset) => {
            single_fields(out, part, charset);
            out.push(b' ');
            envelope(out, &inner.envelope, charset);
            out.push(b' ');
            body(out, &inner.root, extensible, charset);
            out.push(b' ');
            out.extend_from_slice(part.lines.to_string().as_bytes());
            single_extension(out, part, extensible, charset);
        }
        PartKind::Single if message_form(&part.content_type, charset) => {
            // RFC 2046 5.2.1 forbids transfer encodings other than 7bit, 8bit and binary for
            // message/rfc822, so such a part is not parsed as a message; `body-type-msg` still
            // needs an envelope and a body, which are empty (as in Dovecot).
            single_fields(out, part, charset);
            out.push(b' ');
            out.extend_from_slice(EMPTY_ENVELOPE);
            out.push(b' ');
            out.extend_from_slice(EMPTY_BODY);
            if extensible {
                out.extend_from_slice(b" NIL NIL NIL NIL");
            }
            out.extend_from_slice(b") ");
            out.extend_from_slice(part.lines.to_string().as_bytes());
            single_extension(out, part, extensible, charset);
        }
        PartKind::Single | PartKind::Message(_) => {
            single_fields(out, part, charset);
            if part.content_type.is_type("text") {
                out.push(b' ');
                out.extend_from_slice(part.lines.to_string().as_bytes());
            }
            single_extension(out, part, extensible, charset);
        }
    }
    out.push(b')');
}

/// Whether a part is written as `body-type-msg` (envelope, body and line count follow).
///
/// `message/rfc822` always is. `message/global` is one in RFC 9051's grammar
/// (`media-message = DQUOTE "MESSAGE" DQUOTE SP DQUOTE ("RFC822" / "GLOBAL") DQUOTE`) but not in
/// RFC 3501's, and RFC 9755 section 6 says: "When IMAP4rev1 and UTF8=ACCEPT has been enabled,
/// the server MAY treat message/global like message/rfc822 when computing the body structure,
/// but MAY also treat it as described in [RFC3501]." The encoder knows only whether
/// UTF8=ACCEPT is enabled, so that decides: without it `message/global` is a basic body, as in
/// IMAP4rev1 (and Dovecot).
fn message_form(content_type: &ContentType, charset: Charset) -> bool {
    content_type.is("message", "rfc822") || (charset.utf8 && content_type.is("message", "global"))
}

fn multipart(
    out: &mut Vec<u8>,
    part: &Part,
    children: &[Part],
    extensible: bool,
    charset: Charset,
) {
    if children.is_empty() {
        // `body-type-mpart` needs at least one body; a multipart without parts (no
        // boundary found) is shown with one empty text part, as other servers do.
        out.extend_from_slice(
            b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
        );
    }
    for child in children {
        body(out, child, extensible, charset);
    }
    out.push(b' ');
    string(out, &part.content_type.subtype, charset);
    if extensible {
        out.push(b' ');
        params(
            out,
            &merge_continuations(&part.content_type.params),
            charset,
        );
        common_extension(out, part, charset);
    }
}

/// `media-type SP media-subtype SP body-fields`
fn single_fields(out: &mut Vec<u8>, part: &Part, charset: Charset) {
    let ContentType {
        media_type,
        subtype,
        params: parameters,
    } = &part.content_type;
    string(out, media_type, charset);
    out.push(b' ');
    string(out, subtype, charset);
    out.push(b' ');
    let mut parameters = merge_continuations(parameters);
    // RFC 2045 5.2: the charset of a text part without one is US-ASCII. Dovecot says so
    // explicitly; clients show what it says.
    if part.content_type.is_type("text") && !parameters.iter().any(|(name, _)| is_charset(name)) {
        parameters.push((b"charset".to_vec(), b"us-ascii".to_vec()));
    }
    params(out, &parameters, charset);
    out.push(b' ');
    nstring(out, part.id.as_deref(), charset);
    out.push(b' ');
    nstring(out, part.description.as_deref(), charset);
    out.push(b' ');
    string(out, &part.encoding, charset);
    out.push(b' ');
    out.extend_from_slice(
        part.end
            .saturating_sub(part.body_start)
            .to_string()
            .as_bytes(),
    );
}

/// `body-ext-1part`: MD5, then the fields shared with multiparts.
fn single_extension(out: &mut Vec<u8>, part: &Part, extensible: bool, charset: Charset) {
    if extensible {
        out.push(b' ');
        nstring(out, part.md5.as_deref(), charset);
        common_extension(out, part, charset);
    }
}

/// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`
fn common_extension(out: &mut Vec<u8>, part: &Part, charset: Charset) {
    out.push(b' ');
    match &part.disposition {
        Some(disposition) => {
            out.push(b'(');
            string(out, &disposition.kind, charset);
            out.push(b' ');
            params(out, &merge_continuations(&disposition.params), charset);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    // `body-fld-lang = nstring / "(" string *(SP string) ")"`: always the list form, as Dovecot.
    match part.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        languages => {
            out.push(b'(');
            for (i, language) in languages.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, language, charset);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(out, part.location.as_deref(), charset);
}

/// `body-fld-param`
fn params(out: &mut Vec<u8>, parameters: &[(Vec<u8>, Vec<u8>)], charset: Charset) {
    if parameters.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in parameters.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, name, charset);
        out.push(b' ');
        string(out, value, charset);
    }
    out.push(b')');
}

fn is_charset(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"charset")
}
