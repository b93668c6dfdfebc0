//! `mime`: a message through `mime::normalize_line_endings` and `mime::parse`, then
//! everything FETCH and SEARCH do with the summary.
//!
//! Properties:
//! - no panic;
//! - every part's offsets are ordered and lie within the message, children within their
//!   parent's body, in order, without overlap; an encapsulated message spans its part's body;
//! - every part number the tree has resolves (`MessageSummary::part`) to that part, and
//!   arbitrary paths resolve without panic;
//! - `decoded_text`, `decode_header_value`, `header_fields` run on every part / field;
//! - ENVELOPE and BODYSTRUCTURE / BODY, as `proto` encodes them in a FETCH response (with and
//!   without UTF8=ACCEPT), parse with a strict IMAP reader and give back the summary's values
//!   (envelope strings and addresses, media types, sizes, line counts, part counts): parse →
//!   encode → parse round trips;
//! - the summary survives the store's postcard serialisation unchanged.

use portcullis_mime::{MessageSummary, Part, PartKind};
use portcullis_proto::encode::{Charset, Data, FetchAttr};

use crate::imap::{Reader, Value};
use crate::show;

/// Parts whose text is decoded, header values decoded, parts looked up by number (per input).
const MAX_DECODED: usize = 32;
const MAX_HEADERS: usize = 256;
const MAX_LOOKUPS: usize = 512;

/// Checks one input.
pub fn check(data: &[u8]) {
    let raw = portcullis_mime::normalize_line_endings(data);
    let raw: &[u8] = &raw;
    assert!(
        is_crlf_clean(raw),
        "not CRLF-clean after normalising: {}",
        show(raw)
    );
    let summary = portcullis_mime::parse(raw);
    let len = u64::try_from(raw.len()).unwrap_or(u64::MAX);
    assert_eq!(summary.root.header_start, 0);
    assert_eq!(
        summary.root.end, len,
        "root does not end at the message end"
    );
    check_offsets(&summary.root, 0..len, 0);

    // Section numbers, as FETCH BODY[1.2.3] resolves them.
    let mut numbered = Vec::new();
    numbered_parts(&summary, &mut Vec::new(), &mut numbered);
    for (path, part) in &numbered {
        let found = summary.part(path);
        assert!(
            found.is_some_and(|found| std::ptr::eq(found, *part)),
            "part {path:?} does not resolve to itself"
        );
        let _ = summary.message(path);
    }
    for path in data
        .rchunks(3)
        .take(4)
        .map(|chunk| chunk.iter().map(|&b| u32::from(b % 6)).collect::<Vec<_>>())
    {
        let _ = summary.part(&path);
        let _ = summary.message(&path);
    }

    // SEARCH's decoding.
    for (_, part) in numbered.iter().take(MAX_DECODED) {
        let _ = portcullis_mime::decoded_text(raw, part);
    }
    let header = slice(raw, summary.root.header_range());
    for (_, value) in portcullis_mime::headers(header).take(MAX_HEADERS) {
        let _ = portcullis_mime::decode_header_value(value);
    }
    for negate in [false, true] {
        let fields =
            portcullis_mime::header_fields(header, &[b"subject", b"from", b"content-type"], negate);
        assert!(
            fields.len() <= header.len() + 4,
            "header_fields grew the header"
        );
    }

    // ENVELOPE / BODYSTRUCTURE as FETCH sends them, read back.
    for utf8 in [false, true] {
        for extensible in [false, true] {
            check_fetch_encoding(&summary, utf8, extensible);
        }
    }

    // The store keeps the summary as postcard.
    let stored = postcard::to_allocvec(&summary).expect("postcard encodes every summary");
    let loaded: MessageSummary = postcard::from_bytes(&stored).expect("postcard decodes its own");
    assert_eq!(loaded, summary, "postcard round trip changed the summary");
}

fn is_crlf_clean(raw: &[u8]) -> bool {
    raw.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => raw.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && raw[i - 1] == b'\r',
        _ => true,
    })
}

fn slice(raw: &[u8], range: std::ops::Range<u64>) -> &[u8] {
    let start = usize::try_from(range.start).unwrap_or(usize::MAX);
    let end = usize::try_from(range.end).unwrap_or(usize::MAX);
    raw.get(start..end)
        .unwrap_or_else(|| panic!("range {range:?} outside the message"))
}

/// Offsets of `part` and everything below it lie within `within`, ordered.
fn check_offsets(part: &Part, within: std::ops::Range<u64>, depth: usize) {
    assert!(
        within.start <= part.header_start
            && part.header_start <= part.body_start
            && part.body_start <= part.end
            && part.end <= within.end,
        "part offsets {}..{}..{} outside {within:?}",
        part.header_start,
        part.body_start,
        part.end
    );
    assert!(part.lines <= part.body_size(), "more lines than bytes");
    match &part.kind {
        PartKind::Single => {}
        PartKind::Multipart(children) => {
            assert!(!children.is_empty(), "multipart without children");
            let mut previous_end = part.body_start;
            for child in children {
                assert!(
                    child.header_start >= previous_end,
                    "children overlap or out of order"
                );
                check_offsets(child, part.body_start..part.end, depth + 1);
                previous_end = child.end;
            }
        }
        PartKind::Message(inner) => {
            assert_eq!(
                inner.root.header_start, part.body_start,
                "message does not start at the body"
            );
            assert_eq!(
                inner.root.end, part.end,
                "message does not end with the body"
            );
            check_offsets(&inner.root, part.body_start..part.end, depth + 1);
        }
    }
}

/// Every part with its IMAP part number (RFC 9051 6.4.5), at most `MAX_LOOKUPS`.
fn numbered_parts<'a>(
    message: &'a MessageSummary,
    prefix: &mut Vec<u32>,
    out: &mut Vec<(Vec<u32>, &'a Part)>,
) {
    match &message.root.kind {
        PartKind::Multipart(children) => numbered_children(children, prefix, out),
        PartKind::Single | PartKind::Message(_) => numbered_part(&message.root, 1, prefix, out),
    }
}

fn numbered_children<'a>(
    children: &'a [Part],
    prefix: &mut Vec<u32>,
    out: &mut Vec<(Vec<u32>, &'a Part)>,
) {
    for (i, child) in children.iter().enumerate() {
        numbered_part(child, u32::try_from(i + 1).unwrap_or(u32::MAX), prefix, out);
    }
}

fn numbered_part<'a>(
    part: &'a Part,
    n: u32,
    prefix: &mut Vec<u32>,
    out: &mut Vec<(Vec<u32>, &'a Part)>,
) {
    if out.len() >= MAX_LOOKUPS {
        return;
    }
    prefix.push(n);
    out.push((prefix.clone(), part));
    match &part.kind {
        PartKind::Single => {}
        PartKind::Multipart(children) => numbered_children(children, prefix, out),
        PartKind::Message(inner) => numbered_parts(inner, prefix, out),
    }
    prefix.pop();
}

fn check_fetch_encoding(summary: &MessageSummary, utf8: bool, extensible: bool) {
    let charset = Charset { utf8 };
    let items = [
        FetchAttr::Envelope(&summary.envelope),
        FetchAttr::BodyStructure {
            message: summary,
            extensible,
        },
    ];
    let mut out = Vec::new();
    Data::Fetch {
        seq: 1,
        items: &items,
    }
    .write(&mut out, charset);
    let result = (|| -> Result<(), String> {
        let mut reader = Reader::new(&out, utf8);
        reader.expect(b"* 1 FETCH ")?;
        let response = reader.value()?;
        reader.expect(b"\r\n")?;
        if !reader.rest().is_empty() {
            return Err("bytes after the response".into());
        }
        let name = if extensible { "BODYSTRUCTURE" } else { "BODY" };
        match response.list()? {
            [Value::Atom(a), envelope, Value::Atom(b), body]
                if a == b"ENVELOPE" && b == name.as_bytes() =>
            {
                check_envelope(envelope, &summary.envelope, utf8)?;
                check_body(body, &summary.root, extensible, utf8)
            }
            other => Err(format!("unexpected FETCH items {other:?}")),
        }
    })();
    if let Err(error) = result {
        panic!(
            "FETCH encoding (utf8 {utf8}, extensible {extensible}) does not read back: {error}\n{}",
            show(&out)
        );
    }
}

/// What the encoder may change in a string: under UTF8=ACCEPT nothing; without it nothing
/// either (8-bit goes into literals) — so strings must come back byte for byte.
fn same(what: &str, theirs: Option<&[u8]>, ours: Option<&[u8]>) -> Result<(), String> {
    if theirs == ours {
        Ok(())
    } else {
        Err(format!(
            "{what}: encoded {:?}, summary {:?}",
            theirs.map(|t| t.escape_ascii().to_string()),
            ours.map(|o| o.escape_ascii().to_string())
        ))
    }
}

fn check_envelope(
    value: &Value,
    envelope: &portcullis_mime::Envelope,
    _utf8: bool,
) -> Result<(), String> {
    let items = value.list()?;
    let [
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    ] = items
    else {
        return Err(format!("envelope with {} fields", items.len()));
    };
    same("date", date.nstr()?, envelope.date.as_deref())?;
    same("subject", subject.nstr()?, envelope.subject.as_deref())?;
    for (name, value, addresses) in [
        ("from", from, &envelope.from),
        ("sender", sender, &envelope.sender),
        ("reply-to", reply_to, &envelope.reply_to),
        ("to", to, &envelope.to),
        ("cc", cc, &envelope.cc),
        ("bcc", bcc, &envelope.bcc),
    ] {
        let list: &[Value] = match value {
            Value::Nil => &[],
            other => other.list()?,
        };
        if matches!(value, Value::List(l) if l.is_empty()) {
            return Err(format!("{name}: empty address list instead of NIL"));
        }
        if list.len() != addresses.len() {
            return Err(format!(
                "{name}: {} addresses, summary {}",
                list.len(),
                addresses.len()
            ));
        }
        for (encoded, address) in list.iter().zip(addresses) {
            let [n, adl, mailbox, host] = encoded.list()? else {
                return Err(format!("{name}: address without 4 fields"));
            };
            same("address name", n.nstr()?, address.name.as_deref())?;
            same("address adl", adl.nstr()?, address.adl.as_deref())?;
            same(
                "address mailbox",
                mailbox.nstr()?,
                address.mailbox.as_deref(),
            )?;
            same("address host", host.nstr()?, address.host.as_deref())?;
        }
    }
    same(
        "in-reply-to",
        in_reply_to.nstr()?,
        envelope.in_reply_to.as_deref(),
    )?;
    same(
        "message-id",
        message_id.nstr()?,
        envelope.message_id.as_deref(),
    )
}

/// `body-fld-param`: NIL or a non-empty list of string pairs.
fn check_params(value: &Value) -> Result<(), String> {
    match value {
        Value::Nil => Ok(()),
        Value::List(items) if !items.is_empty() && items.len() % 2 == 0 => {
            items.iter().try_for_each(|item| item.str().map(|_| ()))
        }
        other => Err(format!("bad body-fld-param {other:?}")),
    }
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc`
fn check_common_extension(items: &[Value]) -> Result<(), String> {
    let [dsp, lang, loc] = items else {
        return Err("extension data is not dsp, lang, loc".into());
    };
    match dsp {
        Value::Nil => {}
        Value::List(d) => match d.as_slice() {
            [kind, params] => {
                kind.str()?;
                check_params(params)?;
            }
            _ => return Err("bad body-fld-dsp".into()),
        },
        other => return Err(format!("bad body-fld-dsp {other:?}")),
    }
    match lang {
        Value::Nil => {}
        Value::Str(_) => {}
        Value::List(l) if !l.is_empty() => {
            l.iter().try_for_each(|s| s.str().map(|_| ()))?;
        }
        other => return Err(format!("bad body-fld-lang {other:?}")),
    }
    loc.nstr().map(|_| ())
}

fn check_body(value: &Value, part: &Part, extensible: bool, utf8: bool) -> Result<(), String> {
    let items = value.list()?;
    let content_type = &part.content_type;
    if let PartKind::Multipart(children) = &part.kind {
        let bodies = items
            .iter()
            .take_while(|v| matches!(v, Value::List(_)))
            .count();
        if bodies != children.len() {
            return Err(format!(
                "multipart with {bodies} bodies, summary {}",
                children.len()
            ));
        }
        for (body, child) in items.iter().zip(children) {
            check_body(body, child, extensible, utf8)?;
        }
        let rest = &items[bodies..];
        let expected = if extensible { 5 } else { 1 };
        if rest.len() != expected {
            return Err(format!(
                "multipart with {} fields after its bodies",
                rest.len()
            ));
        }
        same(
            "multipart subtype",
            Some(rest[0].str()?),
            Some(&content_type.subtype),
        )?;
        if extensible {
            check_params(&rest[1])?;
            check_common_extension(&rest[2..])?;
        }
        return Ok(());
    }
    let message_form =
        content_type.is("message", "rfc822") || (utf8 && content_type.is("message", "global"));
    let text = content_type.is_type("text");
    let base = 7 + if message_form {
        3
    } else if text {
        1
    } else {
        0
    };
    let expected = base + if extensible { 4 } else { 0 };
    if items.len() != expected {
        return Err(format!(
            "single part with {} fields, expected {expected}",
            items.len()
        ));
    }
    same(
        "media type",
        Some(items[0].str()?),
        Some(&content_type.media_type),
    )?;
    same(
        "subtype",
        Some(items[1].str()?),
        Some(&content_type.subtype),
    )?;
    check_params(&items[2])?;
    same("content-id", items[3].nstr()?, part.id.as_deref())?;
    same("description", items[4].nstr()?, part.description.as_deref())?;
    same("encoding", Some(items[5].str()?), Some(&part.encoding))?;
    if items[6].number()? != part.body_size() {
        return Err(format!(
            "size {} for a body of {}",
            items[6].number()?,
            part.body_size()
        ));
    }
    if message_form {
        match &part.kind {
            PartKind::Message(inner) => {
                check_envelope(&items[7], &inner.envelope, utf8)?;
                check_body(&items[8], &inner.root, extensible, utf8)?;
            }
            _ => {
                let envelope = items[7].list()?;
                if envelope.len() != 10 || envelope.iter().any(|v| *v != Value::Nil) {
                    return Err("unparsed message part without the empty envelope".into());
                }
                items[8].list()?;
            }
        }
        if items[9].number()? != part.lines {
            return Err("message line count differs".into());
        }
    } else if text && items[7].number()? != part.lines {
        return Err("text line count differs".into());
    }
    if extensible {
        items[base].nstr()?;
        check_common_extension(&items[base + 1..])?;
    }
    Ok(())
}
