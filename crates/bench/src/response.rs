//! Reading and picking apart server responses.
//!
//! [`read_response`] reads one complete response — a line, and when it ends with a literal
//! announcement `{n}` (or `~{n}`), the n bytes of the literal and the rest of the line,
//! repeatedly — under a size limit. [`Parser`] then walks the bytes as IMAP values (atoms,
//! numbers, quoted strings, literals, parenthesised lists), which is all the bench needs to
//! read `EXISTS`, `SEARCH`, `FETCH` and response codes.

use std::borrow::Cow;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// One complete response: its bytes, every literal included, ending with CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) raw: Vec<u8>,
}

/// What kind of response a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    /// `+ ...`: a continuation request.
    Continuation,
    /// `* ...`
    Untagged,
    /// `tag OK|NO|BAD ...`
    Tagged { tag: &'a [u8], status: Status },
}

/// The status of a tagged completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    No,
    Bad,
}

/// The announced literal length at the end of a line (without its CRLF), if any:
/// `{n}`, `{n+}` or `~{n}`.
pub(crate) fn literal_length(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = inner.get(open + 1..)?;
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Reads one complete response. Fails on end of stream, on a response larger than `max`
/// bytes, or on a line without LF before `max`.
pub(crate) async fn read_response<R>(reader: &mut R, max: usize) -> Result<Response>
where
    R: AsyncBufRead + Unpin,
{
    let mut raw = Vec::new();
    loop {
        let line_start = raw.len();
        let n = (&mut *reader)
            .take(u64::try_from(max.saturating_sub(line_start)).unwrap_or(u64::MAX))
            .read_until(b'\n', &mut raw)
            .await
            .context("reading from the server")?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        if raw.last() != Some(&b'\n') {
            if raw.len() >= max {
                bail!("response longer than {max} bytes");
            }
            bail!("the server closed the connection mid-line");
        }
        let line = raw.get(line_start..raw.len() - 1).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(len) = literal_length(line) else {
            return Ok(Response { raw });
        };
        if raw.len().saturating_add(len) > max {
            bail!("literal of {len} bytes exceeds the response limit of {max}");
        }
        let start = raw.len();
        raw.resize(start + len, 0);
        let slot = raw.get_mut(start..).unwrap_or_default();
        reader.read_exact(slot).await.context("reading a literal")?;
    }
}

impl Response {
    /// The first line, without CRLF (for messages).
    pub(crate) fn first_line(&self) -> Cow<'_, str> {
        let end = self
            .raw
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(self.raw.len());
        String::from_utf8_lossy(self.raw.get(..end).unwrap_or_default())
    }

    pub(crate) fn kind(&self) -> Kind<'_> {
        if self.raw.starts_with(b"+") {
            return Kind::Continuation;
        }
        if self.raw.starts_with(b"* ") {
            return Kind::Untagged;
        }
        let mut p = Parser::new(&self.raw);
        let tag = p.atom().unwrap_or_default();
        p.space();
        let status = match p.atom().map(<[u8]>::to_ascii_uppercase).as_deref() {
            Some(b"OK") => Status::Ok,
            Some(b"NO") => Status::No,
            _ => Status::Bad,
        };
        Kind::Tagged { tag, status }
    }

    /// `* n KEYWORD` (EXISTS, EXPUNGE, RECENT, FETCH): the number when the keyword matches.
    pub(crate) fn numbered(&self, keyword: &str) -> Option<u32> {
        let mut p = Parser::new(self.raw.strip_prefix(b"* ")?);
        let n = p.number()?;
        p.space();
        let word = p.atom()?;
        word.eq_ignore_ascii_case(keyword.as_bytes()).then_some(n)
    }

    /// `* SEARCH n n n` (an empty result is `* SEARCH`).
    pub(crate) fn search(&self) -> Option<Vec<u32>> {
        let mut p = Parser::new(self.raw.strip_prefix(b"* ")?);
        if !p.atom()?.eq_ignore_ascii_case(b"SEARCH") {
            return None;
        }
        let mut out = Vec::new();
        while p.space() {
            match p.number() {
                Some(n) => out.push(n),
                // "(MODSEQ n)" after the numbers (CONDSTORE) ends the list.
                None => break,
            }
        }
        Some(out)
    }

    /// `* n FETCH (key value ...)`: the sequence number and the key/value pairs.
    pub(crate) fn fetch(&self) -> Option<(u32, Vec<Attribute<'_>>)> {
        let mut p = Parser::new(self.raw.strip_prefix(b"* ")?);
        let seq = p.number()?;
        p.space();
        if !p.atom()?.eq_ignore_ascii_case(b"FETCH") {
            return None;
        }
        p.space();
        let Value::List(items) = p.value()? else {
            return None;
        };
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(key), Some(value)) = (it.next(), it.next()) {
            let Value::Atom(key) = key else { return None };
            pairs.push((key.to_ascii_uppercase(), value));
        }
        Some((seq, pairs))
    }

    /// A response code `[NAME args]` in the first line: its arguments.
    pub(crate) fn code(&self, name: &str) -> Option<String> {
        let line = self.first_line();
        let open = format!("[{name} ");
        let upper = line.to_ascii_uppercase();
        let start = upper.find(&open)? + open.len();
        let end = start + upper.get(start..)?.find(']')?;
        line.get(start..end).map(str::to_owned)
    }
}

/// One FETCH attribute: the item name in upper case, and its value.
pub(crate) type Attribute<'a> = (Vec<u8>, Value<'a>);

/// An IMAP value, as far as the bench needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// An atom or number (or `NIL`), bracketed sections kept inside (`BODY[]`).
    Atom(&'a [u8]),
    /// A quoted string (unescaped) or a literal.
    Str(Cow<'a, [u8]>),
    List(Vec<Value<'a>>),
}

impl Value<'_> {
    pub(crate) fn number(&self) -> Option<u64> {
        match self {
            Value::Atom(a) => std::str::from_utf8(a).ok()?.parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A cursor over response bytes.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Parser<'a> {
        Parser { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips one space; whether there was one.
    pub(crate) fn space(&mut self) -> bool {
        if self.peek() == Some(b' ') {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = self.s.get(start..self.pos)?;
        let n = std::str::from_utf8(digits).ok()?.parse().ok();
        if n.is_none() {
            self.pos = start;
        }
        n
    }

    /// An atom; `[...]` sections (with spaces and parentheses inside) belong to it.
    pub(crate) fn atom(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'[' => depth += 1,
                b']' if depth > 0 => depth -= 1,
                b'\r' | b'\n' => break,
                b' ' | b'(' | b')' | b'"' | b'{' if depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| self.s.get(start..self.pos).unwrap_or_default())
    }

    pub(crate) fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'(' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    while self.space() {}
                    match self.peek()? {
                        b')' => {
                            self.pos += 1;
                            return Some(Value::List(items));
                        }
                        _ => items.push(self.value()?),
                    }
                }
            }
            b'"' => {
                self.pos += 1;
                let mut out: Option<Vec<u8>> = None;
                let start = self.pos;
                loop {
                    let b = self.peek()?;
                    self.pos += 1;
                    match b {
                        b'"' => {
                            let s = match out {
                                Some(v) => Cow::Owned(v),
                                None => Cow::Borrowed(self.s.get(start..self.pos - 1)?),
                            };
                            return Some(Value::Str(s));
                        }
                        b'\\' => {
                            let v = out.get_or_insert_with(|| {
                                self.s.get(start..self.pos - 1).unwrap_or_default().to_vec()
                            });
                            v.push(self.peek()?);
                            self.pos += 1;
                        }
                        b'\r' | b'\n' => return None,
                        _ => {
                            if let Some(v) = out.as_mut() {
                                v.push(b);
                            }
                        }
                    }
                }
            }
            b'{' | b'~' => {
                let rest = self.s.get(self.pos..)?;
                let eol = rest.windows(2).position(|w| w == b"\r\n")?;
                let len = literal_length(rest.get(..eol)?)?;
                let start = self.pos + eol + 2;
                let end = start.checked_add(len)?;
                let bytes = self.s.get(start..end)?;
                self.pos = end;
                Some(Value::Str(Cow::Borrowed(bytes)))
            }
            _ => self.atom().map(Value::Atom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8], max: usize) -> Vec<Result<Response>> {
        let mut reader = tokio::io::BufReader::with_capacity(7, input);
        let mut out = Vec::new();
        loop {
            let r = read_response(&mut reader, max).await;
            let stop = r.is_err();
            out.push(r);
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_length(b"* 1 FETCH (BODY[] {12}"), Some(12));
        assert_eq!(literal_length(b"A1 APPEND x {3+}"), Some(3));
        assert_eq!(literal_length(b"* 1 FETCH (BINARY[] ~{0}"), Some(0));
        assert_eq!(literal_length(b"* OK {x}"), None);
        assert_eq!(literal_length(b"* OK {}"), None);
        assert_eq!(literal_length(b"* OK done"), None);
        assert_eq!(literal_length(b"* OK {99999999999999999999}"), None);
    }

    #[tokio::test]
    async fn reads_lines_and_literals_across_buffer_boundaries() {
        let input = b"* 3 EXISTS\r\n* 1 FETCH (UID 5 BODY[] {13}\r\nab\r\ncd\r\n{3}\r\n FLAGS (\\Seen))\r\nA1 OK done\r\n";
        let got = read_all(input, 1 << 20).await;
        assert_eq!(got.len(), 4);
        let ok: Vec<&Response> = got.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok[0].raw, b"* 3 EXISTS\r\n");
        assert_eq!(ok[0].numbered("EXISTS"), Some(3));
        let (seq, pairs) = ok[1].fetch().unwrap_or_default();
        assert_eq!(seq, 1);
        assert_eq!(pairs[0], (b"UID".to_vec(), Value::Atom(b"5")));
        assert_eq!(pairs[1].0, b"BODY[]");
        assert_eq!(pairs[1].1.bytes(), Some(&b"ab\r\ncd\r\n{3}\r\n"[..]));
        assert_eq!(pairs[2].1, Value::List(vec![Value::Atom(b"\\Seen")]));
        assert_eq!(
            ok[2].kind(),
            Kind::Tagged {
                tag: b"A1",
                status: Status::Ok
            }
        );
        assert!(got[3].is_err(), "end of stream is an error");
    }

    #[tokio::test]
    async fn limits_are_enforced() {
        let got = read_all(b"* OK 0123456789 0123456789\r\n", 10).await;
        assert!(got[0].is_err());
        let got = read_all(b"* 1 FETCH (BODY[] {1000}\r\nshort", 100).await;
        assert!(got[0].is_err());
        let got = read_all(b"* 1 FETCH (BODY[] {10}\r\nshort", 100).await;
        assert!(got[0].is_err(), "truncated literal");
        let got = read_all(b"* OK no newline", 100).await;
        assert!(got[0].is_err());
    }

    #[tokio::test]
    async fn continuation_and_status() {
        let got = read_all(b"+ idling\r\nx NO [TRYCREATE] no\r\ny BAD what\r\n", 100).await;
        let kinds: Vec<Kind<'_>> = got
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(Response::kind)
            .collect();
        assert_eq!(kinds[0], Kind::Continuation);
        assert_eq!(
            kinds[1],
            Kind::Tagged {
                tag: b"x",
                status: Status::No
            }
        );
        assert_eq!(
            kinds[2],
            Kind::Tagged {
                tag: b"y",
                status: Status::Bad
            }
        );
    }

    fn response(s: &[u8]) -> Response {
        Response { raw: s.to_vec() }
    }

    #[test]
    fn search_results() {
        assert_eq!(
            response(b"* SEARCH 2 3 17\r\n").search(),
            Some(vec![2, 3, 17])
        );
        assert_eq!(response(b"* SEARCH\r\n").search(), Some(vec![]));
        assert_eq!(
            response(b"* SEARCH 4 (MODSEQ 9)\r\n").search(),
            Some(vec![4])
        );
        assert_eq!(response(b"* 4 EXISTS\r\n").search(), None);
    }

    #[test]
    fn fetch_with_envelope_and_escapes() {
        let r = response(
            b"* 12 FETCH (UID 40 RFC822.SIZE 2048 ENVELOPE (\"Mon, 1 Jan 2024\" \"a \\\"q\\\" b\" NIL) \
              BODY[HEADER.FIELDS (FROM TO)]<0> {5}\r\nFrom:)\r\n",
        );
        let (seq, pairs) = r.fetch().unwrap_or_default();
        assert_eq!(seq, 12);
        assert_eq!(pairs[1].1.number(), Some(2048));
        let Value::List(env) = &pairs[2].1 else {
            panic!("envelope")
        };
        assert_eq!(env[1].bytes(), Some(&b"a \"q\" b"[..]));
        assert_eq!(env[2], Value::Atom(b"NIL"));
        assert_eq!(pairs[3].0, b"BODY[HEADER.FIELDS (FROM TO)]<0>");
        assert_eq!(pairs[3].1.bytes(), Some(&b"From:"[..]));
    }

    #[test]
    fn response_codes() {
        let r = response(b"A3 OK [APPENDUID 1700000000 5:7] APPEND completed\r\n");
        assert_eq!(r.code("APPENDUID").as_deref(), Some("1700000000 5:7"));
        assert_eq!(r.code("COPYUID"), None);
        assert_eq!(response(b"* 5 EXPUNGE\r\n").numbered("expunge"), Some(5));
    }
}
