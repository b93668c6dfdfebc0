//! Decoding for SEARCH (and later BINARY): transfer encodings, RFC 2047 encoded words,
//! charsets.
//!
//! The stored summary keeps everything raw; decoding happens only when a command needs text.
//! Decoders here are deliberately lenient (SEARCH must find text in slightly broken mail rather
//! than fail): base64 skips characters outside its alphabet and restarts after padding,
//! quoted-printable keeps malformed `=` sequences literally. Charset tables come from
//! mail-parser (`charset_decoder`); UTF-8 and unknown charsets are converted lossily.

use mail_parser::decoders::charsets::map::charset_decoder;

use crate::header::{is_wsp, trim_wsp};
use crate::types::Part;

/// Decoded bytes of a leaf body per its Content-Transfer-Encoding: identity for `7bit`, `8bit`,
/// `binary` (and an empty value), lenient decoding for `base64` and `quoted-printable`,
/// `None` for any other encoding (RFC 3516 UNKNOWN-CTE).
pub fn decode_transfer_encoding(encoding: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let encoding = trim_wsp(encoding);
    let is = |name: &str| encoding.eq_ignore_ascii_case(name.as_bytes());
    if encoding.is_empty() || is("7bit") || is("8bit") || is("binary") {
        Some(body.to_vec())
    } else if is("base64") {
        Some(decode_base64(body))
    } else if is("quoted-printable") {
        Some(decode_quoted_printable(body))
    } else {
        None
    }
}

/// The text of a part's body for SEARCH BODY/TEXT: transfer-decoded (an unknown encoding is
/// searched as-is), then converted from the `charset` parameter to UTF-8 (lossy; UTF-8 when
/// absent or unknown). `message` is the full stored message the part's offsets refer to.
pub fn decoded_text(message: &[u8], part: &Part) -> String {
    let body = usize::try_from(part.body_start)
        .ok()
        .zip(usize::try_from(part.end).ok())
        .and_then(|(start, end)| message.get(start..end))
        .unwrap_or_default();
    let bytes = decode_transfer_encoding(&part.encoding, body).unwrap_or_else(|| body.to_vec());
    charset_to_string(part.content_type.param("charset"), &bytes)
}

/// Decodes a raw header value for SEARCH: unfolded (line breaks removed), RFC 2047 encoded
/// words decoded (whitespace between adjacent encoded words dropped, consecutive words of one
/// charset joined before conversion so split multi-byte sequences survive), other bytes taken
/// as UTF-8 (lossy), the result trimmed.
pub fn decode_header_value(raw: &[u8]) -> String {
    let unfolded: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    let mut out = HeaderText::default();
    let mut literal_start = 0;
    let mut pos = 0;
    while let Some(rest) = unfolded.get(pos..).filter(|r| !r.is_empty()) {
        let word = rest
            .starts_with(b"=?")
            .then(|| encoded_word(rest))
            .flatten();
        let Some((word, len)) = word else {
            pos += 1;
            continue;
        };
        out.literal(&unfolded[literal_start..pos]);
        out.encoded(word);
        pos += len;
        literal_start = pos;
    }
    out.literal(&unfolded[literal_start..]);
    out.finish()
}

/// Accumulates decoded header text.
#[derive(Debug, Default)]
struct HeaderText {
    text: String,
    /// Bytes of the preceding encoded word(s) not yet converted, with their charset.
    pending: Option<(Vec<u8>, Vec<u8>)>,
    last_was_encoded: bool,
}

impl HeaderText {
    fn literal(&mut self, bytes: &[u8]) {
        if self.last_was_encoded && bytes.iter().all(|&c| is_wsp(c)) {
            return;
        }
        self.flush();
        self.text.push_str(&String::from_utf8_lossy(bytes));
        self.last_was_encoded = false;
    }

    fn encoded(&mut self, word: EncodedWord) {
        match &mut self.pending {
            Some((charset, bytes)) if charset.eq_ignore_ascii_case(&word.charset) => {
                bytes.extend_from_slice(&word.bytes);
            }
            _ => {
                self.flush();
                self.pending = Some((word.charset, word.bytes));
            }
        }
        self.last_was_encoded = true;
    }

    fn flush(&mut self) {
        if let Some((charset, bytes)) = self.pending.take() {
            self.text
                .push_str(&charset_to_string(Some(&charset), &bytes));
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        self.text.trim().to_owned()
    }
}

#[derive(Debug)]
struct EncodedWord {
    charset: Vec<u8>,
    bytes: Vec<u8>,
}

/// Parses `=?charset[*lang]?B|Q?text?=` at the start of `s`; returns the word and its length.
/// No part may contain whitespace, which keeps the scan linear.
fn encoded_word(s: &[u8]) -> Option<(EncodedWord, usize)> {
    let is_plain = |c: &u8| *c != b'?' && !c.is_ascii_whitespace();
    let charset_len = s.get(2..)?.iter().take_while(|c| is_plain(c)).count();
    let charset = &s[2..2 + charset_len];
    let rest = s.get(2 + charset_len..)?;
    let [b'?', encoding, b'?', text @ ..] = rest else {
        return None;
    };
    let text_len = text.iter().take_while(|c| is_plain(c)).count();
    if charset.is_empty() || !text.get(text_len..)?.starts_with(b"?=") {
        return None;
    }
    let text = &text[..text_len];
    let bytes = match encoding.to_ascii_uppercase() {
        b'B' => decode_base64(text),
        b'Q' => decode_q(text),
        _ => return None,
    };
    let charset = charset.split(|&c| c == b'*').next().unwrap_or_default();
    let word = EncodedWord {
        charset: charset.to_vec(),
        bytes,
    };
    Some((word, 2 + charset_len + 3 + text_len + 2))
}

/// Converts bytes in `charset` to a `String`, lossily; UTF-8 when absent or unknown.
fn charset_to_string(charset: Option<&[u8]>, bytes: &[u8]) -> String {
    match charset.map(trim_wsp).and_then(charset_decoder) {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn base64_value(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Lenient base64: non-alphabet bytes are skipped, `=` flushes a partial group (so
/// concatenated padded chunks decode too), a dangling single character is dropped.
fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut count = 0;
    for &c in input {
        if c == b'=' {
            flush_base64(&mut out, acc, count);
            (acc, count) = (0, 0);
            continue;
        }
        let Some(value) = base64_value(c) else {
            continue;
        };
        acc = (acc << 6) | value;
        count += 1;
        if count == 4 {
            flush_base64(&mut out, acc, count);
            (acc, count) = (0, 0);
        }
    }
    flush_base64(&mut out, acc, count);
    out
}

fn flush_base64(out: &mut Vec<u8>, acc: u32, count: usize) {
    match count {
        4 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
        3 => out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]),
        2 => out.extend_from_slice(&(acc >> 4).to_be_bytes()[3..]),
        _ => {}
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `=XX` at the start of `s`.
fn hex_escape(s: &[u8]) -> Option<u8> {
    match s {
        [b'=', high, low, ..] => Some((hex_value(*high)? << 4) | hex_value(*low)?),
        _ => None,
    }
}

/// Decodes `=XX` escapes of one line; a malformed `=` is kept literally.
fn decode_escapes(line: &[u8], out: &mut Vec<u8>, underscore_is_space: bool) {
    let mut pos = 0;
    while let Some(&c) = line.get(pos) {
        if let Some(byte) = hex_escape(&line[pos..]) {
            out.push(byte);
            pos += 3;
            continue;
        }
        out.push(if underscore_is_space && c == b'_' {
            b' '
        } else {
            c
        });
        pos += 1;
    }
}

/// RFC 2047 "Q" encoding.
fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    decode_escapes(text, &mut out, true);
    out
}

/// Lenient quoted-printable (RFC 2045 6.7): trailing whitespace on a line is dropped, a final
/// `=` is a soft line break, line breaks are kept as written.
fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for line in input.split_inclusive(|&c| c == b'\n') {
        let (content, line_break) = split_line_break(line);
        if line_break.is_empty() {
            decode_escapes(line, &mut out, false);
            continue;
        }
        let content = trim_wsp_end(content);
        match content.strip_suffix(b"=") {
            Some(soft) => decode_escapes(soft, &mut out, false),
            None => {
                decode_escapes(content, &mut out, false);
                out.extend_from_slice(line_break);
            }
        }
    }
    out
}

fn split_line_break(line: &[u8]) -> (&[u8], &[u8]) {
    let break_len = if line.ends_with(b"\r\n") {
        2
    } else {
        usize::from(line.ends_with(b"\n"))
    };
    line.split_at(line.len() - break_len)
}

fn trim_wsp_end(bytes: &[u8]) -> &[u8] {
    let len = bytes.iter().rposition(|&c| !is_wsp(c)).map_or(0, |i| i + 1);
    &bytes[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_variants() {
        assert_eq!(decode_base64(b"SGVsbG8sIHdvcmxkIQ=="), b"Hello, world!");
        assert_eq!(decode_base64(b"SGVs\r\nbG8=\r\n"), b"Hello");
        assert_eq!(decode_base64(b"SGk=SGk="), b"HiHi");
        assert_eq!(decode_base64(b"SGVsbA"), b"Hell");
        assert_eq!(decode_base64(b"S"), b"");
        assert_eq!(decode_base64(b"*S*G*k*"), b"Hi");
    }

    #[test]
    fn quoted_printable_variants() {
        assert_eq!(
            decode_quoted_printable(b"caf=C3=A9 =\r\nbar  \r\nx=3d=ZZ=\r\n"),
            "café bar\r\nx==ZZ".as_bytes()
        );
        assert_eq!(decode_quoted_printable(b"a=\nb\n"), b"ab\n");
        assert_eq!(decode_quoted_printable(b"end="), b"end=");
    }

    #[test]
    fn transfer_encoding_dispatch() {
        assert_eq!(
            decode_transfer_encoding(b"BASE64", b"YQ=="),
            Some(b"a".to_vec())
        );
        assert_eq!(
            decode_transfer_encoding(b" 8Bit ", b"\xff"),
            Some(b"\xff".to_vec())
        );
        assert_eq!(decode_transfer_encoding(b"", b"x"), Some(b"x".to_vec()));
        assert_eq!(
            decode_transfer_encoding(b"Quoted-Printable", b"=41"),
            Some(b"A".to_vec())
        );
        assert_eq!(decode_transfer_encoding(b"x-uuencode", b"x"), None);
    }

    #[test]
    fn header_values_rfc2047_examples() {
        // RFC 2047 section 8.
        assert_eq!(decode_header_value(b"(=?ISO-8859-1?Q?a?=)"), "(a)");
        assert_eq!(decode_header_value(b"(=?ISO-8859-1?Q?a?= b)"), "(a b)");
        assert_eq!(
            decode_header_value(b"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"),
            "(ab)"
        );
        assert_eq!(
            decode_header_value(b"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"),
            "(ab)"
        );
        assert_eq!(decode_header_value(b"(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
        assert_eq!(
            decode_header_value(b"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"),
            "(a b)"
        );
    }

    #[test]
    fn header_values_charsets_and_splits() {
        assert_eq!(
            decode_header_value(b" =?iso-8859-1?q?Andr=E9?= Pirard"),
            "André Pirard"
        );
        assert_eq!(decode_header_value(b"=?windows-1252?Q?=80?="), "€");
        assert_eq!(decode_header_value(b"=?UTF-8*en?B?w6k=?="), "é");
        // One UTF-8 character split across two words.
        assert_eq!(decode_header_value(b"=?utf-8?q?=C3?= =?utf-8?q?=A9?="), "é");
        assert_eq!(decode_header_value(b"=?us-ascii?q?plain?="), "plain");
        assert_eq!(decode_header_value(b"no =?bad word"), "no =?bad word");
        assert_eq!(decode_header_value(b"=?x?z?abc?="), "=?x?z?abc?=");
        assert_eq!(
            decode_header_value(b" caf\xc3\xa9\r\n folded "),
            "café folded"
        );
    }
}
