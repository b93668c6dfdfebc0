//! ENVELOPE and BODY/BODYSTRUCTURE (RFC 9051 7.5.2, RFC 3501 7.4.2) from the parse that was
//! stored with the message.

use portcullis_mime::{Address, ContentType, Envelope, MessageSummary, Part, PartKind};

use super::strings::{Charset, nstring, string};

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
        PartKind::Message(inner) => {
            single_fields(out, part, charset);
            out.push(b' ');
            envelope(out, &inner.envelope, charset);
            out.push(b' ');
            body(out, &inner.root, extensible, charset);
            out.push(b' ');
            out.extend_from_slice(part.lines.to_string().as_bytes());
            single_extension(out, part, extensible, charset);
        }
        PartKind::Single => {
            single_fields(out, part, charset);
            if part.content_type.media_type.eq_ignore_ascii_case(b"text") {
                out.push(b' ');
                out.extend_from_slice(part.lines.to_string().as_bytes());
            }
            single_extension(out, part, extensible, charset);
        }
    }
    out.push(b')');
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
        params(out, &part.content_type.params, charset);
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
    params(out, parameters, charset);
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
            params(out, &disposition.params, charset);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    match part.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(out, one, charset),
        many => {
            out.push(b'(');
            for (i, language) in many.iter().enumerate() {
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
