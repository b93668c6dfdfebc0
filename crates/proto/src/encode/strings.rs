//! String forms on the wire: atom, quoted or literal — the shortest form that is exact.

use std::borrow::Cow;

/// How strings may be written in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Charset {
    /// UTF8=ACCEPT is enabled (RFC 6855): quoted strings may carry UTF-8 and mailbox names
    /// are sent as UTF-8 instead of modified UTF-7.
    pub utf8: bool,
}

/// Longest string sent quoted; longer ones go as literals (cheaper to scan, and never a
/// surprise for clients with small line buffers).
const MAX_QUOTED: usize = 1024;

fn quotable(bytes: &[u8], charset: Charset) -> bool {
    bytes.len() <= MAX_QUOTED
        && bytes
            .iter()
            .all(|&b| b != 0 && b != b'\r' && b != b'\n' && (b < 0x80 || charset.utf8))
        && (!charset.utf8 || std::str::from_utf8(bytes).is_ok())
}

/// Writes `bytes` quoted when possible, as a literal otherwise.
pub fn string(out: &mut Vec<u8>, bytes: &[u8], charset: Charset) {
    if quotable(bytes, charset) {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, bytes);
    }
}

/// Writes a literal.
pub fn literal(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'{');
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(bytes);
}

/// Writes `NIL` or a string.
pub fn nstring(out: &mut Vec<u8>, bytes: Option<&[u8]>, charset: Charset) {
    match bytes {
        Some(bytes) => string(out, bytes, charset),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// An `nstring`'s value: `None` for NIL.
pub type NString<'a> = Option<Cow<'a, [u8]>>;

/// Reads back one `nstring` as [`nstring`] writes it — `NIL`, a quoted string or a literal —
/// from the start of `input`: the string (`None` for NIL) and what follows it; `None` when
/// `input` does not start with one. For values stored in wire form (the fetch cache's
/// ENVELOPE) that a server-side check needs as bytes again.
pub fn read_nstring(input: &[u8]) -> Option<(NString<'_>, &[u8])> {
    if let Some(rest) = input.strip_prefix(b"NIL") {
        return Some((None, rest));
    }
    if let Some(quoted) = input.strip_prefix(b"\"") {
        let mut escaped = false;
        let close = quoted.iter().position(|&b| {
            let closes = !escaped && b == b'"';
            escaped = !escaped && b == b'\\';
            closes
        })?;
        let raw = quoted.get(..close)?;
        // Strings without escapes (nearly all) are borrowed as they are.
        let value = if raw.contains(&b'\\') {
            let mut escaped = false;
            Cow::Owned(
                raw.iter()
                    .copied()
                    .filter(|&b| {
                        let keep = escaped || b != b'\\';
                        escaped = !escaped && b == b'\\';
                        keep
                    })
                    .collect(),
            )
        } else {
            Cow::Borrowed(raw)
        };
        return Some((Some(value), quoted.get(close + 1..)?));
    }
    let announced = input.strip_prefix(b"{")?;
    let close = announced.iter().position(|&b| b == b'}')?;
    let len: usize = std::str::from_utf8(announced.get(..close)?)
        .ok()?
        .parse()
        .ok()?;
    let data = announced.get(close + 1..)?.strip_prefix(b"\r\n")?;
    Some((Some(Cow::Borrowed(data.get(..len)?)), data.get(len..)?))
}

fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// Writes an atom when the text is one (and not `NIL`), a string otherwise.
pub fn astring(out: &mut Vec<u8>, bytes: &[u8], charset: Charset) {
    if !bytes.is_empty()
        && bytes.iter().all(|&b| is_atom_char(b))
        && !bytes.eq_ignore_ascii_case(b"NIL")
    {
        out.extend_from_slice(bytes);
    } else {
        string(out, bytes, charset);
    }
}

/// Writes a mailbox name: modified UTF-7, or UTF-8 under UTF8=ACCEPT.
pub fn mailbox(out: &mut Vec<u8>, name: &str, charset: Charset) {
    if charset.utf8 {
        astring(out, name.as_bytes(), charset);
    } else {
        astring(out, crate::mutf7::encode(name).as_bytes(), charset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    const ASCII: Charset = Charset { utf8: false };
    const UTF8: Charset = Charset { utf8: true };

    #[test]
    fn strings_choose_quoted_or_literal() {
        assert_eq!(
            written(|o| string(o, b"a \"b\" \\c", ASCII)),
            r#""a \"b\" \\c""#
        );
        assert_eq!(
            written(|o| string(o, b"two\r\nlines", ASCII)),
            "{10}\r\ntwo\r\nlines"
        );
        assert_eq!(written(|o| string(o, "é".as_bytes(), ASCII)), "{2}\r\né");
        assert_eq!(written(|o| string(o, "é".as_bytes(), UTF8)), "\"é\"");
        assert_eq!(written(|o| string(o, b"\xff", UTF8)), "{1}\r\n\u{fffd}");
        assert_eq!(written(|o| nstring(o, None, ASCII)), "NIL");
    }

    #[test]
    fn nstrings_read_back_as_written() {
        let long = vec![b'x'; MAX_QUOTED + 1];
        let values: [Option<&[u8]>; 8] = [
            None,
            Some(b""),
            Some(b"plain"),
            Some(b"a \"b\" \\c"),
            Some(b"two\r\nlines"),
            Some("é 8-bit".as_bytes()),
            Some(b"NIL"),
            Some(&long),
        ];
        for value in values {
            let mut out = Vec::new();
            nstring(&mut out, value, ASCII);
            out.extend_from_slice(b" rest");
            let Some((read, rest)) = read_nstring(&out) else {
                panic!("unreadable: {}", String::from_utf8_lossy(&out));
            };
            assert_eq!(read.as_deref(), value, "{}", String::from_utf8_lossy(&out));
            assert_eq!(rest, b" rest");
        }
        for bad in [
            &b""[..],
            b"\"open",
            b"{5}\r\nabc",
            b"{x}\r\n",
            b"{3}abc",
            b"atom",
        ] {
            assert_eq!(read_nstring(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn astrings_avoid_nil_and_specials() {
        assert_eq!(written(|o| astring(o, b"INBOX", ASCII)), "INBOX");
        assert_eq!(written(|o| astring(o, b"nil", ASCII)), "\"nil\"");
        assert_eq!(written(|o| astring(o, b"a b", ASCII)), "\"a b\"");
        assert_eq!(written(|o| astring(o, b"", ASCII)), "\"\"");
        assert_eq!(written(|o| astring(o, b"x]", ASCII)), "\"x]\"");
    }

    #[test]
    fn mailbox_names_follow_the_session_charset() {
        assert_eq!(written(|o| mailbox(o, "Entwürfe", ASCII)), "Entw&APw-rfe");
        assert_eq!(written(|o| mailbox(o, "Entwürfe", UTF8)), "\"Entwürfe\"");
        assert_eq!(written(|o| mailbox(o, "A & B", ASCII)), "\"A &- B\"");
    }
}
