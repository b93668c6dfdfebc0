//! A strict reader of IMAP response syntax, written from RFC 9051 section 9, for checking
//! what the server encodes: parenthesised lists, NIL, numbers, quoted strings (only `\\` and
//! `\"` escaped, no CR/LF/NUL, 8-bit only under UTF8=ACCEPT and then valid UTF-8), literals
//! (`{n}` CRLF and exactly n bytes), atoms. Also cuts a response stream into responses.

/// One value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// NIL
    Nil,
    /// A number.
    Number(u64),
    /// An atom other than NIL.
    Atom(Vec<u8>),
    /// A quoted string or a literal, unquoted.
    Str(Vec<u8>),
    /// `( ... )`
    List(Vec<Value>),
}

impl Value {
    /// The string of a `string`.
    pub fn str(&self) -> Result<&[u8], String> {
        match self {
            Value::Str(s) => Ok(s),
            other => Err(format!("expected a string, got {other:?}")),
        }
    }

    /// The string of an `nstring` (`None` for NIL).
    pub fn nstr(&self) -> Result<Option<&[u8]>, String> {
        match self {
            Value::Nil => Ok(None),
            Value::Str(s) => Ok(Some(s)),
            other => Err(format!("expected an nstring, got {other:?}")),
        }
    }

    /// The number of a `number`.
    pub fn number(&self) -> Result<u64, String> {
        match self {
            Value::Number(n) => Ok(*n),
            other => Err(format!("expected a number, got {other:?}")),
        }
    }

    /// The elements of a list.
    pub fn list(&self) -> Result<&[Value], String> {
        match self {
            Value::List(items) => Ok(items),
            other => Err(format!("expected a list, got {other:?}")),
        }
    }
}

/// A cursor over encoded response bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    utf8: bool,
}

const MAX_NESTING: usize = 1000;

impl<'a> Reader<'a> {
    /// Reads `input`; `utf8` tells whether UTF8=ACCEPT is on (8-bit quoted strings allowed).
    pub fn new(input: &'a [u8], utf8: bool) -> Reader<'a> {
        Reader {
            input,
            pos: 0,
            utf8,
        }
    }

    /// What has not been read.
    pub fn rest(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }

    /// Consumes `expected` or fails.
    pub fn expect(&mut self, expected: &[u8]) -> Result<(), String> {
        if self.rest().starts_with(expected) {
            self.pos += expected.len();
            Ok(())
        } else {
            Err(format!(
                "expected {:?} at {}",
                expected.escape_ascii().to_string(),
                self.pos
            ))
        }
    }

    /// One value.
    pub fn value(&mut self) -> Result<Value, String> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_NESTING {
            return Err("nested too deeply".into());
        }
        match self.rest().first() {
            Some(b'(') => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.rest().first() == Some(&b')') {
                    self.pos += 1;
                    return Ok(Value::List(items));
                }
                loop {
                    let item = self.value_at(depth + 1)?;
                    let was_list = matches!(item, Value::List(_));
                    items.push(item);
                    match self.rest().first() {
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(Value::List(items));
                        }
                        Some(b' ') => self.pos += 1,
                        // `1*address`, `1*body`: lists that follow a list without SP.
                        Some(b'(') if was_list => {}
                        _ => return Err(format!("expected SP or ')' at {}", self.pos)),
                    }
                }
            }
            Some(b'"') => self.quoted().map(Value::Str),
            Some(b'{') => self.literal().map(Value::Str),
            Some(b) if b.is_ascii_digit() => {
                let digits: Vec<u8> = self
                    .rest()
                    .iter()
                    .copied()
                    .take_while(u8::is_ascii_digit)
                    .collect();
                self.pos += digits.len();
                std::str::from_utf8(&digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .map(Value::Number)
                    .ok_or_else(|| "number out of range".to_owned())
            }
            Some(_) => {
                let atom: Vec<u8> = self
                    .rest()
                    .iter()
                    .copied()
                    .take_while(|&b| b > 0x20 && b < 0x7f && !b"(){ %*\"\\".contains(&b))
                    .collect();
                if atom.is_empty() {
                    return Err(format!("unexpected byte at {}", self.pos));
                }
                self.pos += atom.len();
                Ok(if atom == b"NIL" {
                    Value::Nil
                } else {
                    Value::Atom(atom)
                })
            }
            None => Err("unexpected end".into()),
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, String> {
        self.expect(b"\"")?;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.rest().first() else {
                return Err("unterminated quoted string".into());
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => match self.rest().first() {
                    Some(&e @ (b'\\' | b'"')) => {
                        self.pos += 1;
                        out.push(e);
                    }
                    _ => return Err("bad escape in quoted string".into()),
                },
                b'\r' | b'\n' | 0 => return Err("CR, LF or NUL in a quoted string".into()),
                0x80.. if !self.utf8 => return Err("8-bit byte in a quoted string".into()),
                _ => out.push(b),
            }
        }
        if self.utf8 && std::str::from_utf8(&out).is_err() {
            return Err("quoted string is not UTF-8".into());
        }
        Ok(out)
    }

    fn literal(&mut self) -> Result<Vec<u8>, String> {
        self.expect(b"{")?;
        let digits: Vec<u8> = self
            .rest()
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        self.pos += digits.len();
        let length: usize = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| "bad literal length".to_owned())?;
        self.expect(b"}\r\n")?;
        let data = self
            .rest()
            .get(..length)
            .ok_or_else(|| "literal shorter than announced".to_owned())?
            .to_vec();
        self.pos += length;
        Ok(data)
    }
}

/// Cuts a server's output into responses: each ends with CRLF, and a line that ends with a
/// literal announcement `{n}` continues after the literal's n bytes. Fails on a lone CR or
/// LF outside literals (a client would see a different line), or on a last response without
/// its CRLF.
pub fn responses(output: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut responses = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while pos < output.len() {
        match output[pos] {
            b'\n' => return Err(format!("LF without CR at {pos}")),
            b'\r' if output.get(pos + 1) != Some(&b'\n') => {
                return Err(format!("CR without LF at {pos}"));
            }
            b'\r' => {
                let line = &output[start..pos];
                pos += 2;
                match literal_length(line) {
                    Some(length) => {
                        if output.len() - pos < length {
                            return Err("output ends inside a literal".into());
                        }
                        pos += length;
                    }
                    None => {
                        responses.push(&output[start..pos]);
                        start = pos;
                    }
                }
            }
            _ => pos += 1,
        }
    }
    if start != output.len() {
        return Err("last response without CRLF".into());
    }
    Ok(responses)
}

/// The length of the literal announced at the end of `line` (`{n}` or `~{n}`).
fn literal_length(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}
