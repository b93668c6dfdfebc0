//! MIME header value parsing (RFC 2045/2183/3282): Content-Type, Content-Disposition,
//! Content-Transfer-Encoding and Content-Language.
//!
//! BODYSTRUCTURE wants parameters raw, so nothing here decodes RFC 2231 or RFC 2047: parameter
//! names and values are kept as written, only the syntax (comments, whitespace, quoted-string
//! quoting) is removed. Parsing is lenient because real mail is broken: an unquoted value runs
//! until `;`, whitespace, `(` or `"` (so `boundary=----=_Part_1` works, and an RFC 2045 style
//! trailing comment is dropped), junk between parameters is skipped up to the next `;`, and a
//! parameter without `=` is dropped (one with an empty name before `=` is kept, as in Dovecot).

use crate::header::is_wsp;
use crate::types::{ContentType, Disposition};

/// A byte cursor with RFC 822 lexical helpers.
#[derive(Debug)]
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Skips whitespace, line breaks and (nested) comments.
    fn skip_cfws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => self.skip_comment(),
                _ => break,
            }
        }
    }

    fn skip_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => self.pos += 1,
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// A run of RFC 2045 token characters (8-bit bytes accepted).
    fn token(&mut self) -> &'a [u8] {
        self.take_while(is_token_char)
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos.min(self.bytes.len());
        let len = self.bytes[start..].iter().take_while(|&&c| keep(c)).count();
        self.pos = start + len;
        &self.bytes[start..start + len]
    }

    /// A quoted-string starting at `"`: returns the content with quoted-pairs unescaped and
    /// line breaks removed. An unterminated string runs to the end.
    fn quoted(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(c),
            }
        }
        out
    }

    fn skip_past(&mut self, stop: u8) {
        while let Some(c) = self.peek() {
            if c == stop {
                break;
            }
            if c == b'"' {
                let _ = self.quoted();
            } else {
                self.pos += 1;
            }
        }
    }
}

fn is_token_char(c: u8) -> bool {
    c > b' ' && c != 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

fn is_unquoted_value_char(c: u8) -> bool {
    !matches!(c, b';' | b'(' | b'"' | b'\r' | b'\n') && !is_wsp(c)
}

/// Parses a raw Content-Type value; `None` when type or subtype is missing (the caller then
/// applies the RFC 2045 default).
pub(crate) fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let mut cursor = Cursor::new(value);
    cursor.skip_cfws();
    let media_type = cursor.token();
    cursor.skip_cfws();
    if !cursor.eat(b'/') {
        return None;
    }
    cursor.skip_cfws();
    let subtype = cursor.token();
    if media_type.is_empty() || subtype.is_empty() {
        return None;
    }
    Some(ContentType {
        media_type: media_type.to_vec(),
        subtype: subtype.to_vec(),
        params: parse_params(&mut cursor),
    })
}

/// Parses a raw Content-Disposition value; `None` without a disposition type.
pub(crate) fn parse_disposition(value: &[u8]) -> Option<Disposition> {
    let mut cursor = Cursor::new(value);
    cursor.skip_cfws();
    let kind = cursor.token();
    if kind.is_empty() {
        return None;
    }
    Some(Disposition {
        kind: kind.to_vec(),
        params: parse_params(&mut cursor),
    })
}

/// The Content-Transfer-Encoding token as written; `7bit` (Dovecot's spelling) when absent or
/// empty.
pub(crate) fn parse_encoding(value: Option<&[u8]>) -> Vec<u8> {
    let token = value
        .map(|v| {
            let mut cursor = Cursor::new(v);
            cursor.skip_cfws();
            cursor.token()
        })
        .unwrap_or_default();
    if token.is_empty() {
        b"7bit".to_vec()
    } else {
        token.to_vec()
    }
}

/// Content-Language: comma-separated language tags, comments and whitespace ignored.
pub(crate) fn parse_language(value: &[u8]) -> Vec<Vec<u8>> {
    let mut cursor = Cursor::new(value);
    let mut tags = Vec::new();
    loop {
        cursor.skip_cfws();
        if cursor.peek().is_none() {
            break;
        }
        let tag = cursor.token();
        if tag.is_empty() {
            cursor.pos += 1;
        } else {
            tags.push(tag.to_vec());
        }
    }
    tags
}

/// `*(";" attribute "=" value)` after the type; see the module docs for the leniency rules.
fn parse_params(cursor: &mut Cursor<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut params = Vec::new();
    loop {
        cursor.skip_cfws();
        match cursor.peek() {
            None => break,
            Some(b';') => cursor.pos += 1,
            Some(_) => {
                cursor.skip_past(b';');
                continue;
            }
        }
        if let Some(param) = parse_param(cursor) {
            params.push(param);
        }
    }
    params
}

/// One `attribute "=" value`. An empty attribute (`; =value`) is kept with an empty name, as
/// Dovecot reports it; without `=` the parameter is dropped.
fn parse_param(cursor: &mut Cursor<'_>) -> Option<(Vec<u8>, Vec<u8>)> {
    cursor.skip_cfws();
    let name = cursor.token();
    cursor.skip_cfws();
    if !cursor.eat(b'=') {
        return None;
    }
    cursor.skip_cfws();
    let value = if cursor.peek() == Some(b'"') {
        cursor.quoted()
    } else {
        cursor.take_while(is_unquoted_value_char).to_vec()
    };
    Some((name.to_vec(), value))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn rfc2045_example_with_comment() {
        let ct = parse_content_type(b" text/plain; charset=us-ascii (Plain text)").unwrap();
        assert_eq!(ct.media_type, b"text");
        assert_eq!(ct.subtype, b"plain");
        assert_eq!(ct.params, pairs(&[("charset", "us-ascii")]));
    }

    #[test]
    fn case_kept_and_quoted_values_unescaped() {
        let ct = parse_content_type(b" Multipart/Mixed;\r\n\tBoundary=\"a \\\"b\\\" c\"").unwrap();
        assert_eq!(ct.media_type, b"Multipart");
        assert_eq!(ct.subtype, b"Mixed");
        assert_eq!(ct.params, pairs(&[("Boundary", "a \"b\" c")]));
    }

    #[test]
    fn rfc2231_params_kept_raw() {
        // RFC 2231 section 4.1 example.
        let value = b" application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"";
        let ct = parse_content_type(value).unwrap();
        assert_eq!(
            ct.params,
            pairs(&[
                ("title*0*", "us-ascii'en'This%20is%20even%20more%20"),
                ("title*1*", "%2A%2A%2Afun%2A%2A%2A%20"),
                ("title*2", "isn't it!"),
            ])
        );
    }

    #[test]
    fn lenient_unquoted_boundary_and_junk() {
        let ct = parse_content_type(b"multipart/alternative; boundary=----=_Part_1/x; junk; ;a=b")
            .unwrap();
        assert_eq!(
            ct.params,
            pairs(&[("boundary", "----=_Part_1/x"), ("a", "b")])
        );
    }

    #[test]
    fn invalid_content_types() {
        assert_eq!(parse_content_type(b"text"), None);
        assert_eq!(parse_content_type(b"/plain"), None);
        assert_eq!(parse_content_type(b""), None);
        assert_eq!(parse_content_type(b"text/"), None);
    }

    #[test]
    fn disposition_encoding_language() {
        let d = parse_disposition(b" attachment; filename=\"a b.txt\"; size=12").unwrap();
        assert_eq!(d.kind, b"attachment");
        assert_eq!(d.params, pairs(&[("filename", "a b.txt"), ("size", "12")]));
        assert_eq!(parse_disposition(b" ; x=y"), None);
        assert_eq!(parse_encoding(Some(b" base64 (comment)")), b"base64");
        assert_eq!(parse_encoding(Some(b"  ")), b"7bit");
        assert_eq!(parse_encoding(None), b"7bit");
        assert_eq!(
            parse_language(b" en-US, (comment) de ,,fr"),
            vec![b"en-US".to_vec(), b"de".to_vec(), b"fr".to_vec()]
        );
    }
}
