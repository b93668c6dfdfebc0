//! The lexical layer of RFC 9051 section 9: SP, atoms, astrings, quoted strings, literals,
//! numbers, flag lists, sequence sets and dates.

use bytes::Bytes;
use std::num::NonZeroU32;

use crate::command::FlagArg;
use crate::{Date, DateTime, SeqBound, SequenceSet};

/// Parser result: the error is a message for the client.
pub(crate) type PResult<T> = Result<T, String>;

/// A cursor over one framed command.
#[derive(Debug)]
pub(crate) struct Parser {
    input: Bytes,
    pos: usize,
}

/// `atom-specials` minus the ones that are their own token classes: any of these ends an atom.
fn is_atom_char(b: u8) -> bool {
    b > 0x20
        && b < 0x7f
        && !matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

fn is_list_char(b: u8) -> bool {
    is_atom_char(b) || matches!(b, b'%' | b'*' | b']')
}

/// Tag characters: ASTRING-CHAR except `+`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

impl Parser {
    pub(crate) fn new(input: Bytes) -> Parser {
        Parser { input, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn rest(&self) -> &[u8] {
        &self.input[self.pos..]
    }

    pub(crate) fn at_end(&self) -> bool {
        self.rest() == b"\r\n" || self.rest() == b"\n" || self.rest().is_empty()
    }

    /// The command must end here.
    pub(crate) fn end(&mut self) -> PResult<()> {
        if self.at_end() {
            self.pos = self.input.len();
            Ok(())
        } else if self.peek() == Some(b' ') {
            Err("Unexpected extra arguments".into())
        } else {
            Err("Unexpected characters at end of command".into())
        }
    }

    pub(crate) fn sp(&mut self) -> PResult<()> {
        self.expect(b' ').map_err(|_| "Expected a space".to_owned())
    }

    pub(crate) fn expect(&mut self, byte: u8) -> PResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("Expected '{}'", char::from(byte)))
        }
    }

    /// Consumes `byte` if it is next.
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes `word` (case-insensitive) if it is next and is not the prefix of a longer atom.
    pub(crate) fn eat_keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let matches = rest.len() >= word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
            && !rest.get(word.len()).is_some_and(|&b| is_atom_char(b));
        if matches {
            self.pos += word.len();
        }
        matches
    }

    fn take_while(&mut self, predicate: impl Fn(u8) -> bool) -> Bytes {
        let start = self.pos;
        while self.peek().is_some_and(&predicate) {
            self.pos += 1;
        }
        self.input.slice(start..self.pos)
    }

    /// `atom`
    pub(crate) fn atom(&mut self) -> PResult<String> {
        let atom = self.take_while(is_atom_char);
        if atom.is_empty() {
            return Err("Expected an atom".into());
        }
        // Invariant: atom chars are ASCII.
        Ok(String::from_utf8_lossy(&atom).into_owned())
    }

    /// An atom whose characters stop at `[`, `.` or `<` too (FETCH item names).
    pub(crate) fn item_name(&mut self) -> PResult<String> {
        let name = self.take_while(|b| is_atom_char(b) && b != b'[' && b != b'<');
        if name.is_empty() {
            return Err("Expected a data item name".into());
        }
        Ok(String::from_utf8_lossy(&name).to_ascii_uppercase())
    }

    /// `tag`
    pub(crate) fn tag(&mut self) -> PResult<String> {
        let tag = self.take_while(is_tag_char);
        if tag.is_empty() {
            return Err("Missing or invalid command tag".into());
        }
        Ok(String::from_utf8_lossy(&tag).into_owned())
    }

    /// `astring`. `~` is an ASTRING-CHAR (`~peter/mail`), not the start of a string:
    /// `literal8` is not a `string` (RFC 3516 allows it in APPEND data only).
    pub(crate) fn astring(&mut self) -> PResult<Bytes> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let atom = self.take_while(is_astring_char);
                if atom.is_empty() {
                    Err("Expected an atom or a string".into())
                } else {
                    Ok(atom)
                }
            }
        }
    }

    /// `string` (quoted or literal). A literal8 `~{n}` is refused here: it may carry NUL,
    /// and RFC 3516 section 4.3 allows it only as APPEND data (see [`Parser::literal`]).
    pub(crate) fn string(&mut self) -> PResult<Bytes> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal().map(|(data, _)| data),
            _ => Err("Expected a quoted string or a literal".into()),
        }
    }

    /// `nstring`
    pub(crate) fn nstring(&mut self) -> PResult<Option<Bytes>> {
        if self.eat_keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `quoted`: escapes `\\` and `\"` only; 8-bit accepted (UTF8=ACCEPT, and clients that
    /// send UTF-8 search strings quoted).
    fn quoted(&mut self) -> PResult<Bytes> {
        self.expect(b'"')?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n' | 0) => return Err("Unterminated quoted string".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\\' | b'"') => self.pos += 1,
                        _ => return Err("Invalid escape in quoted string".into()),
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = self.input.slice(start..self.pos);
        self.pos += 1;
        if !escaped {
            return Ok(raw);
        }
        let mut unescaped = Vec::with_capacity(raw.len());
        let mut bytes = raw.iter();
        while let Some(&b) = bytes.next() {
            match b {
                b'\\' => unescaped.extend(bytes.next()),
                _ => unescaped.push(b),
            }
        }
        Ok(Bytes::from(unescaped))
    }

    /// `literal` / `literal8`: returns the data and whether it was a literal8.
    pub(crate) fn literal(&mut self) -> PResult<(Bytes, bool)> {
        let binary = self.eat(b'~');
        self.expect(b'{')?;
        let length = self.number64()?;
        self.eat(b'+');
        self.expect(b'}')?;
        if !self.rest().starts_with(b"\r\n") {
            return Err("Expected CRLF after literal length".into());
        }
        self.pos += 2;
        let length = usize::try_from(length).map_err(|_| "Literal too long".to_owned())?;
        if self.rest().len() < length {
            return Err("Literal shorter than announced".into());
        }
        let data = self.input.slice(self.pos..self.pos + length);
        self.pos += length;
        if !binary && data.contains(&0) {
            return Err("NUL in a literal; use literal8 (~{n}) for binary data".into());
        }
        Ok((data, binary))
    }

    /// `number` (32-bit).
    pub(crate) fn number(&mut self) -> PResult<u32> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err("Expected a number".into());
        }
        std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| "Number out of range".to_owned())
    }

    /// `nz-number`
    pub(crate) fn nz_number(&mut self) -> PResult<NonZeroU32> {
        NonZeroU32::new(self.number()?).ok_or_else(|| "Expected a non-zero number".to_owned())
    }

    /// `number64` (RFC 9051: up to 2^63-1).
    pub(crate) fn number64(&mut self) -> PResult<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err("Expected a number".into());
        }
        std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| "Number out of range".to_owned())
    }

    /// `list-mailbox`: LIST pattern characters or a string.
    pub(crate) fn list_mailbox(&mut self) -> PResult<Bytes> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let pattern = self.take_while(is_list_char);
                if pattern.is_empty() {
                    Err("Expected a mailbox pattern".into())
                } else {
                    Ok(pattern)
                }
            }
        }
    }

    /// `flag`: `\Name` or a keyword atom.
    pub(crate) fn flag(&mut self) -> PResult<FlagArg> {
        if self.eat(b'\\') {
            let name = self
                .atom()
                .map_err(|_| "Expected a flag name after '\\'".to_owned())?;
            Ok(FlagArg::System(format!("\\{name}")))
        } else {
            self.atom()
                .map(FlagArg::Keyword)
                .map_err(|_| "Expected a flag".to_owned())
        }
    }

    /// `flag-list`: `(` [flag *(SP flag)] `)`.
    pub(crate) fn flag_list(&mut self) -> PResult<Vec<FlagArg>> {
        self.expect(b'(')?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// Flags after STORE: a list, or flags separated by spaces without parentheses.
    pub(crate) fn store_flags(&mut self) -> PResult<Vec<FlagArg>> {
        if self.peek() == Some(b'(') {
            return self.flag_list();
        }
        let mut flags = vec![self.flag()?];
        while self.peek() == Some(b' ') {
            self.sp()?;
            flags.push(self.flag()?);
        }
        Ok(flags)
    }

    /// `sequence-set`, with `$` (RFC 5182).
    pub(crate) fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            let first = self.seq_bound()?;
            let last = if self.eat(b':') {
                self.seq_bound()?
            } else {
                first
            };
            ranges.push((first, last));
            if !self.eat(b',') {
                return Ok(SequenceSet::Ranges(ranges));
            }
        }
    }

    fn seq_bound(&mut self) -> PResult<SeqBound> {
        if self.eat(b'*') {
            return Ok(SeqBound::Largest);
        }
        self.nz_number()
            .map(SeqBound::Value)
            .map_err(|_| "Invalid sequence set".to_owned())
    }

    /// `date`: `date-text` or the same in quotes.
    pub(crate) fn date(&mut self) -> PResult<Date> {
        let quoted = self.eat(b'"');
        let text = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'-');
        if quoted {
            self.expect(b'"')?;
        }
        Date::parse(&text).ok_or_else(|| "Invalid date".to_owned())
    }

    /// `date-time` (quoted).
    pub(crate) fn date_time(&mut self) -> PResult<DateTime> {
        let text = self.quoted()?;
        DateTime::parse(&text).ok_or_else(|| "Invalid date-time".to_owned())
    }

    /// A parenthesised list of `item`s separated by SP; empty allowed when `allow_empty`.
    pub(crate) fn paren_list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Parser) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        if self.eat(b')') {
            return if allow_empty {
                Ok(items)
            } else {
                Err("Empty list".into())
            };
        }
        loop {
            items.push(item(self)?);
            if self.eat(b')') {
                return Ok(items);
            }
            self.sp()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(text: &[u8]) -> Parser {
        Parser::new(Bytes::copy_from_slice(text))
    }

    #[test]
    fn quoted_strings_unescape() {
        assert_eq!(
            parser(br#""a\"b\\c""#).quoted().as_deref(),
            Ok(&br#"a"b\c"#[..])
        );
        assert!(parser(br#""a\nb""#).quoted().is_err());
        assert!(parser(b"\"abc").quoted().is_err());
        assert_eq!(
            parser("\"Entwürfe\"".as_bytes()).quoted().as_deref(),
            Ok("Entwürfe".as_bytes())
        );
    }

    #[test]
    fn literals_slice_the_frame() {
        let mut p = parser(b"{5}\r\nhello rest");
        assert_eq!(p.literal(), Ok((Bytes::from_static(b"hello"), false)));
        assert_eq!(p.rest(), b" rest");
        assert_eq!(
            parser(b"{5+}\r\nhello").literal().map(|l| l.0),
            Ok(Bytes::from_static(b"hello"))
        );
        assert_eq!(
            parser(b"~{3}\r\na\0b").literal(),
            Ok((Bytes::from_static(b"a\0b"), true))
        );
        assert!(parser(b"{3}\r\na\0b").literal().is_err());
        assert!(parser(b"{9}\r\nshort").literal().is_err());
    }

    #[test]
    fn astring_accepts_resp_specials() {
        assert_eq!(parser(b"a]b rest").astring().as_deref(), Ok(&b"a]b"[..]));
        assert!(parser(b"(x)").astring().is_err());
    }

    #[test]
    fn sequence_sets() {
        let set = parser(b"1:3,5,*:7").sequence_set();
        assert_eq!(
            set.map(|s| s.to_ranges(9)),
            Ok(vec![(1, 3), (5, 5), (7, 9)])
        );
        assert_eq!(parser(b"$").sequence_set(), Ok(SequenceSet::Saved));
        assert!(parser(b"0").sequence_set().is_err());
        assert!(parser(b"1:").sequence_set().is_err());
    }

    #[test]
    fn keywords_do_not_match_prefixes() {
        assert!(!parser(b"NILS").eat_keyword("NIL"));
        assert!(parser(b"nil ").eat_keyword("NIL"));
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(parser(b"4294967295").number(), Ok(u32::MAX));
        assert!(parser(b"4294967296").number().is_err());
        assert!(parser(b"9223372036854775808").number64().is_err());
    }
}
