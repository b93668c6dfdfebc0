//! RFC 5322 address-list parsing into IMAP address structures.
//!
//! mail-parser decodes display names (RFC 2047) and drops the raw form, but the ENVELOPE must
//! carry names with encoded words intact, so addresses are tokenised here. RFC 3501 and RFC 9051
//! do not say how to map broken or obsolete syntax onto address structures; where they are
//! silent we answer like Dovecot, which clients are tuned to. Choices (all lenient, never
//! failing):
//!
//! * Display name: the phrase before `<`, quoted strings unquoted and unescaped, words joined by
//!   one space where the source had whitespace or a comment between them, then normalised for
//!   humans (runs of whitespace become one space, no leading/trailing whitespace). Empty names
//!   are `None`.
//! * Comments are not part of the name — except for a bare addr-spec without display name and
//!   angle brackets: then the last comment after the start of the local part becomes the name
//!   (`user@host (Real Name)`, as Dovecot and c-client do; `(Lead) user@host` has no name).
//! * Local part: quoted strings unquoted and unescaped (`"john smith"@x` has mailbox
//!   `john smith`), CFWS around dots removed.
//! * Missing domain (`To: user`, `<user>`): host is [`MISSING_HOST`] (`MISSING_DOMAIN`, Dovecot's
//!   spelling), never `None`, because a `None` host means group syntax on the wire. Missing
//!   local part (`Name <>`): mailbox is [`MISSING_MAILBOX`]. A source route without its colon
//!   (`<@host>`) gives route `INVALID_ROUTE` and neither mailbox nor host. An entry with neither
//!   name, local part nor domain (`<>`, stray commas: RFC 5322 4.4 "null" members) is dropped.
//! * Groups: start marker (mailbox = group name), members, end marker; a missing `;` is implied
//!   at the end of the header. Nested groups are not a thing: a `:` inside a group is ignored.
//! * Outside a group `;` separates entries like `,` (Outlook writes `a@x; b@y`), and an entry
//!   after a group's `;` without a comma still counts: RFC 5322 section 4, "The fact that a
//!   particular form does not appear in any section of this document is not justification for
//!   computer programs to crash or for malformed data to be irretrievably lost".
//! * Source routes `<@a,@b:user@host>`: `adl` = `@a,@b`.

use crate::header::for_humans;
use crate::types::Address;

/// Host used for an address without a domain part (Dovecot's spelling; c-client wrote
/// `.MISSING-HOST-NAME.`).
pub const MISSING_HOST: &[u8] = b"MISSING_DOMAIN";
/// Source route of an angle address that starts with `@` but has no route-ending `:`.
const INVALID_ROUTE: &[u8] = b"INVALID_ROUTE";
/// Mailbox used for an address without a local part.
pub const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A run of atom characters (anything but specials, whitespace and line breaks).
    Atom(Vec<u8>),
    /// A quoted string: `raw` keeps the quotes (minus line breaks), `text` is unescaped content.
    Quoted { raw: Vec<u8>, text: Vec<u8> },
    /// `[...]` with brackets, line breaks removed.
    Literal(Vec<u8>),
    /// Comment content without the outer parentheses, quoted-pairs unescaped.
    Comment(Vec<u8>),
    /// One of `<>@,;:.` (and any other special that is not otherwise handled).
    Special(u8),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Whitespace (or a comment) preceded this token.
    space_before: bool,
}

/// Parses a raw address-list header value (folds allowed).
pub(crate) fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let tokens = tokenize(value);
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        out: Vec::new(),
    };
    while parser.pos < tokens.len() {
        parser.entry(false);
    }
    parser.out
}

fn tokenize(value: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut space_before = false;
    while let Some(&c) = value.get(pos) {
        let (tok, next) = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space_before = true;
                pos += 1;
                continue;
            }
            b'"' => quoted_token(value, pos),
            b'(' => comment_token(value, pos),
            b'[' => literal_token(value, pos),
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' | b')' | b']' => {
                (Tok::Special(c), pos + 1)
            }
            _ => atom_token(value, pos),
        };
        let is_comment = matches!(tok, Tok::Comment(_));
        tokens.push(Token { tok, space_before });
        space_before = is_comment;
        pos = next;
    }
    tokens
}

fn is_atom_char(c: u8) -> bool {
    !b" \t\r\n\"()[]<>@,;:.".contains(&c)
}

fn atom_token(value: &[u8], start: usize) -> (Tok, usize) {
    let len = value[start..]
        .iter()
        .take_while(|&&c| is_atom_char(c))
        .count();
    (Tok::Atom(value[start..start + len].to_vec()), start + len)
}

/// Scans a delimited construct starting at `start` (the opening byte): returns the unescaped
/// content, the raw bytes (delimiters included, line breaks removed) and the end index.
fn delimited(value: &[u8], start: usize, open: u8, close: u8) -> (Vec<u8>, Vec<u8>, usize) {
    let mut text = Vec::new();
    let mut raw = vec![open];
    let mut depth = 1usize;
    let mut pos = start + 1;
    while let Some(&c) = value.get(pos) {
        pos += 1;
        match c {
            b'\r' | b'\n' => continue,
            b'\\' => {
                raw.push(c);
                if let Some(&escaped) = value.get(pos) {
                    pos += 1;
                    raw.push(escaped);
                    text.push(escaped);
                }
                continue;
            }
            _ if c == close => {
                depth -= 1;
                raw.push(c);
                if depth == 0 {
                    break;
                }
            }
            _ if c == open && open != close => {
                depth += 1;
                raw.push(c);
            }
            _ => raw.push(c),
        }
        text.push(c);
    }
    (text, raw, pos)
}

fn quoted_token(value: &[u8], start: usize) -> (Tok, usize) {
    let (text, raw, end) = delimited(value, start, b'"', b'"');
    (Tok::Quoted { raw, text }, end)
}

fn comment_token(value: &[u8], start: usize) -> (Tok, usize) {
    let (text, _, end) = delimited(value, start, b'(', b')');
    (Tok::Comment(text), end)
}

fn literal_token(value: &[u8], start: usize) -> (Tok, usize) {
    let (_, raw, end) = delimited(value, start, b'[', b']');
    (Tok::Literal(raw), end)
}

/// The pieces of one mailbox before they become an [`Address`].
#[derive(Debug, Default)]
struct Mailbox {
    adl: Option<Vec<u8>>,
    local: Vec<u8>,
    domain: Vec<u8>,
}

#[derive(Debug)]
struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    out: Vec<Address>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_special(&self) -> Option<u8> {
        match self.peek() {
            Some(Tok::Special(c)) => Some(*c),
            _ => None,
        }
    }

    /// Parses one list entry (mailbox or group) and the separator after it. Always consumes at
    /// least one token unless at the end or (inside a group) at the closing `;`.
    fn entry(&mut self, in_group: bool) {
        let phrase_start = self.pos;
        // The last comment after the first word: the name of a bare addr-spec.
        let mut comment = None;
        let mut seen_word = false;
        loop {
            match self.peek() {
                None | Some(Tok::Special(b',' | b';')) => {
                    let phrase = &self.tokens[phrase_start..self.pos];
                    self.bare(phrase, comment);
                    self.eat_entry_end(in_group, &mut None);
                    return;
                }
                Some(Tok::Special(b'<')) => {
                    let phrase = &self.tokens[phrase_start..self.pos];
                    self.pos += 1;
                    let mailbox = self.angle_addr();
                    self.eat_entry_end(in_group, &mut None);
                    self.push_mailbox(phrase_text(phrase), None, mailbox);
                    return;
                }
                Some(Tok::Special(b':')) if !in_group => {
                    let phrase = &self.tokens[phrase_start..self.pos];
                    self.pos += 1;
                    self.group(phrase_text(phrase).unwrap_or_default());
                    return;
                }
                Some(Tok::Special(b'@')) => {
                    let local = local_text(&self.tokens[phrase_start..self.pos]);
                    self.pos += 1;
                    let domain = self.domain(&mut comment);
                    self.eat_entry_end(in_group, &mut comment);
                    let mailbox = Mailbox {
                        adl: None,
                        local,
                        domain,
                    };
                    self.push_mailbox(None, comment, mailbox);
                    return;
                }
                Some(Tok::Comment(text)) => {
                    if seen_word {
                        comment = Some(text.clone());
                    }
                    self.pos += 1;
                }
                Some(_) => {
                    seen_word = true;
                    self.pos += 1;
                }
            }
        }
    }

    /// A phrase that ended without `<` or `@` (`To: undisclosed-recipients`): the words are the
    /// local part, the domain is missing.
    fn bare(&mut self, phrase: &[Token], comment: Option<Vec<u8>>) {
        let words: Vec<Token> = phrase
            .iter()
            .filter(|t| !matches!(t.tok, Tok::Comment(_)))
            .cloned()
            .collect();
        let Some(local) = phrase_text_with(&words, display_bytes) else {
            return;
        };
        let mailbox = Mailbox {
            adl: None,
            local,
            domain: Vec::new(),
        };
        self.push_mailbox(None, comment, mailbox);
    }

    fn group(&mut self, name: Vec<u8>) {
        self.out.push(Address {
            mailbox: Some(name),
            ..Address::default()
        });
        while let Some(tok) = self.peek() {
            if *tok == Tok::Special(b';') {
                self.pos += 1;
                break;
            }
            self.entry(true);
        }
        self.out.push(Address::default());
        // A comma may follow the group; anything else starts the next entry.
        if self.peek_special() == Some(b',') {
            self.pos += 1;
        }
    }

    /// After `<`: optional source route, addr-spec, `>`. Comments inside are ignored.
    fn angle_addr(&mut self) -> Mailbox {
        let mut mailbox = Mailbox::default();
        if self.peek_special() == Some(b'@') {
            match self.route() {
                Some(route) => mailbox.adl = Some(route),
                None => {
                    mailbox.adl = Some(INVALID_ROUTE.to_vec());
                    // The route's commas are inside the brackets: skip to the `>` if there is one.
                    let close = self.tokens[self.pos..]
                        .iter()
                        .position(|t| matches!(t.tok, Tok::Special(b'>' | b'<')));
                    match close.map(|i| (i, &self.tokens[self.pos + i].tok)) {
                        Some((i, Tok::Special(b'>'))) => self.pos += i + 1,
                        _ => self.skip_angle_rest(),
                    }
                    return mailbox;
                }
            }
        }
        let local_start = self.pos;
        while let Some(tok) = self.peek() {
            if matches!(tok, Tok::Special(b'@' | b'>' | b',' | b';' | b'<')) {
                break;
            }
            self.pos += 1;
        }
        mailbox.local = local_text(&self.tokens[local_start..self.pos]);
        if self.peek_special() == Some(b'@') {
            self.pos += 1;
            mailbox.domain = self.domain(&mut None);
        }
        self.skip_angle_rest();
        mailbox
    }

    /// Skips to and past the `>` closing an angle address (not past the entry's end).
    fn skip_angle_rest(&mut self) {
        while let Some(tok) = self.peek() {
            match tok {
                Tok::Special(b'>') => {
                    self.pos += 1;
                    break;
                }
                Tok::Special(b',' | b';' | b'<') => break,
                _ => self.pos += 1,
            }
        }
    }

    /// `@a,@b:` right after `<`; returns the route without the colon.
    fn route(&mut self) -> Option<Vec<u8>> {
        if self.peek_special() != Some(b'@') {
            return None;
        }
        let colon = self.tokens[self.pos..].iter().position(|t| match &t.tok {
            Tok::Special(c) => matches!(c, b':' | b'>' | b';' | b'<'),
            _ => false,
        })?;
        let end = self.pos + colon;
        if self.tokens.get(end).map(|t| &t.tok) != Some(&Tok::Special(b':')) {
            return None;
        }
        let route = self.tokens[self.pos..end]
            .iter()
            .flat_map(|t| raw_bytes(&t.tok))
            .copied()
            .collect();
        self.pos = end + 1;
        Some(route)
    }

    /// Domain after `@`: atoms, dots and literals, CFWS removed.
    fn domain(&mut self, comment: &mut Option<Vec<u8>>) -> Vec<u8> {
        let mut domain = Vec::new();
        while let Some(tok) = self.peek() {
            match tok {
                Tok::Atom(bytes) | Tok::Literal(bytes) => domain.extend_from_slice(bytes),
                Tok::Special(b'.') => domain.push(b'.'),
                Tok::Comment(text) => *comment = Some(text.clone()),
                Tok::Quoted { .. } | Tok::Special(_) => break,
            }
            self.pos += 1;
        }
        domain
    }

    /// Skips junk up to and including the `,` that ends an entry. A `;` ends it too: inside a
    /// group it is left for the group to close; outside a group it is taken as a separator
    /// (Outlook-style `a@x; b@y`). Comments seen are recorded.
    fn eat_entry_end(&mut self, in_group: bool, comment: &mut Option<Vec<u8>>) {
        while let Some(tok) = self.peek() {
            match tok {
                Tok::Special(b';') if in_group => return,
                Tok::Special(b',' | b';') => {
                    self.pos += 1;
                    return;
                }
                Tok::Comment(text) => *comment = Some(text.clone()),
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn push_mailbox(&mut self, name: Option<Vec<u8>>, comment: Option<Vec<u8>>, mb: Mailbox) {
        let name = name
            .or(comment)
            .map(|n| for_humans(&n))
            .filter(|n| !n.is_empty());
        if name.is_none() && mb.adl.is_none() && mb.local.is_empty() && mb.domain.is_empty() {
            return;
        }
        self.out.push(Address {
            name,
            adl: mb.adl,
            mailbox: Some(non_empty_or(mb.local, MISSING_MAILBOX)),
            host: Some(non_empty_or(mb.domain, MISSING_HOST)),
        });
    }
}

fn non_empty_or(bytes: Vec<u8>, fallback: &[u8]) -> Vec<u8> {
    if bytes.is_empty() {
        fallback.to_vec()
    } else {
        bytes
    }
}

/// Raw form of a token for local parts and routes (quoted strings keep their quotes).
fn raw_bytes(tok: &Tok) -> &[u8] {
    match tok {
        Tok::Atom(bytes) | Tok::Literal(bytes) => bytes,
        Tok::Quoted { raw, .. } => raw,
        Tok::Comment(_) => &[],
        Tok::Special(c) => std::slice::from_ref(c),
    }
}

/// Display form of a token for names (quoted strings unquoted).
fn display_bytes(tok: &Tok) -> &[u8] {
    match tok {
        Tok::Quoted { text, .. } => text,
        other => raw_bytes(other),
    }
}

/// Whether a token can be part of a phrase or local part (stray specials are junk).
fn is_word(tok: &Tok) -> bool {
    !matches!(tok, Tok::Special(c) if *c != b'.')
}

/// Local part: the word tokens concatenated (quoted strings unquoted), CFWS and stray
/// specials dropped.
fn local_text(tokens: &[Token]) -> Vec<u8> {
    tokens
        .iter()
        .filter(|t| is_word(&t.tok))
        .flat_map(|t| display_bytes(&t.tok))
        .copied()
        .collect()
}

/// Display name of a phrase; `None` when it has no words.
fn phrase_text(tokens: &[Token]) -> Option<Vec<u8>> {
    phrase_text_with(tokens, display_bytes)
}

fn phrase_text_with(tokens: &[Token], bytes_of: fn(&Tok) -> &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut pending_space = false;
    for token in tokens {
        if matches!(token.tok, Tok::Comment(_)) {
            pending_space = true;
            continue;
        }
        if !is_word(&token.tok) {
            continue;
        }
        let text = out.get_or_insert_with(Vec::new);
        if !text.is_empty() && (token.space_before || pending_space) {
            text.push(b' ');
        }
        text.extend_from_slice(bytes_of(&token.tok));
        pending_space = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: Some(host.as_bytes().to_vec()),
        }
    }

    fn group_start(name: &str) -> Address {
        Address {
            mailbox: Some(name.as_bytes().to_vec()),
            ..Address::default()
        }
    }

    #[test]
    fn plain_addr_spec() {
        assert_eq!(
            parse_address_list(b" john@example.com"),
            vec![addr(None, "john", "example.com")]
        );
    }

    #[test]
    fn rfc5322_appendix_a1_2_mailboxes() {
        // RFC 5322 A.1.2.
        let list = parse_address_list(
            b" \"Joe Q. Public\" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
        );
        assert_eq!(
            list,
            vec![
                addr(Some("Joe Q. Public"), "john.q.public", "example.com"),
                addr(Some("Mary Smith"), "mary", "x.test"),
                addr(None, "jdoe", "example.org"),
                addr(Some("Who?"), "one", "y.test"),
            ]
        );
    }

    #[test]
    fn quoted_display_name_with_escapes_and_fold() {
        let list = parse_address_list(b" \"Joe \\\"Q\\\"\r\n Public\" <joe@x.test>");
        assert_eq!(list, vec![addr(Some("Joe \"Q\" Public"), "joe", "x.test")]);
    }

    #[test]
    fn encoded_word_names_kept_raw() {
        let list = parse_address_list(b" =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>");
        assert_eq!(
            list,
            vec![addr(
                Some("=?ISO-8859-1?Q?Andr=E9?= Pirard"),
                "PIRARD",
                "vm1.ulg.ac.be"
            )]
        );
    }

    #[test]
    fn comment_as_name_only_after_a_bare_addr_spec() {
        // Dovecot's rule: a comment before the local part, or anywhere in an angle address,
        // is not a name.
        let list = parse_address_list(
            b" user@host.test (Real Name), \"Shown\" <a@b.test> (Hidden), (Lead) c@d.test, <e@f.test> (Angle)",
        );
        assert_eq!(
            list,
            vec![
                addr(Some("Real Name"), "user", "host.test"),
                addr(Some("Shown"), "a", "b.test"),
                addr(None, "c", "d.test"),
                addr(None, "e", "f.test"),
            ]
        );
    }

    #[test]
    fn names_are_normalised_for_humans() {
        let list = parse_address_list(b" \"Folded,  \t Name \" <a@b.test>, x@y.test ( c  d )");
        assert_eq!(
            list,
            vec![
                addr(Some("Folded, Name"), "a", "b.test"),
                addr(Some("c d"), "x", "y.test"),
            ]
        );
    }

    #[test]
    fn address_after_a_group_without_comma_is_kept() {
        let list = parse_address_list(b" team: ; other@example.org, x@y.test");
        assert_eq!(
            list,
            vec![
                group_start("team"),
                Address::default(),
                addr(None, "other", "example.org"),
                addr(None, "x", "y.test"),
            ]
        );
    }

    #[test]
    fn route_without_colon_is_invalid() {
        let list = parse_address_list(b" <@host.test>, Name <@a.test,@b.test>");
        let invalid = |name: Option<&str>| Address {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: Some(b"INVALID_ROUTE".to_vec()),
            mailbox: Some(MISSING_MAILBOX.to_vec()),
            host: Some(MISSING_HOST.to_vec()),
        };
        assert_eq!(list, vec![invalid(None), invalid(Some("Name"))]);
    }

    #[test]
    fn rfc5322_appendix_a1_3_group() {
        // RFC 5322 A.1.3 plus an empty group.
        let list = parse_address_list(
            b" A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;",
        );
        assert_eq!(
            list,
            vec![
                group_start("A Group"),
                addr(Some("Ed Jones"), "c", "a.test"),
                addr(None, "joe", "where.test"),
                addr(Some("John"), "jdoe", "one.test"),
                Address::default(),
                group_start("Undisclosed recipients"),
                Address::default(),
            ]
        );
    }

    #[test]
    fn unterminated_group_is_closed() {
        let list = parse_address_list(b" friends: a@b.test");
        assert_eq!(
            list,
            vec![
                group_start("friends"),
                addr(None, "a", "b.test"),
                Address::default()
            ]
        );
    }

    #[test]
    fn missing_parts() {
        let list = parse_address_list(b" undisclosed-recipients, <user>, Name <>, <>, ,");
        assert_eq!(
            list,
            vec![
                addr(None, "undisclosed-recipients", "MISSING_DOMAIN"),
                addr(None, "user", "MISSING_DOMAIN"),
                addr(Some("Name"), "MISSING_MAILBOX", "MISSING_DOMAIN"),
            ]
        );
    }

    #[test]
    fn source_route_quoted_local_and_literal() {
        let list = parse_address_list(
            b" Route <@a.test,@b.test:\"john doe\"@[192.0.2.1]>, x . y @ ex (c) . test",
        );
        assert_eq!(
            list,
            vec![
                Address {
                    name: Some(b"Route".to_vec()),
                    adl: Some(b"@a.test,@b.test".to_vec()),
                    // Quoting removed, as Dovecot reports a quoted local part.
                    mailbox: Some(b"john doe".to_vec()),
                    host: Some(b"[192.0.2.1]".to_vec()),
                },
                addr(Some("c"), "x.y", "ex.test"),
            ]
        );
    }

    #[test]
    fn empty_and_garbage_never_panic() {
        assert_eq!(parse_address_list(b""), vec![]);
        assert_eq!(parse_address_list(b" \r\n "), vec![]);
        assert_eq!(
            parse_address_list(b"\"unterminated"),
            vec![addr(None, "unterminated", "MISSING_DOMAIN")]
        );
        assert_eq!(parse_address_list(b"(unterminated"), vec![]);
        assert_eq!(parse_address_list(b";;>><<@@::"), vec![]);
        assert_eq!(
            parse_address_list(b"a; b@c.test"),
            vec![addr(None, "a", "MISSING_DOMAIN"), addr(None, "b", "c.test")]
        );
    }
}
