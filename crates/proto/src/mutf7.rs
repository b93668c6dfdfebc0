//! Modified UTF-7 mailbox names (RFC 3501 5.1.3, kept by RFC 9051 for clients that have not
//! enabled UTF8=ACCEPT).
//!
//! Encoding is exact: printable US-ASCII but `&` stands for itself, `&` is `&-`, every other
//! run of characters is `&` + modified BASE64 of its UTF-16BE + `-`. Decoding is strict and
//! refuses every non-canonical form, so that a name has exactly one spelling on the wire —
//! migrations (imapsync) break when two spellings reach one mailbox.

use std::fmt;

/// Why a byte string is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utf7Error {
    /// A byte outside printable US-ASCII.
    NonAscii(u8),
    /// `&` without the closing `-`.
    Unterminated,
    /// A character outside the modified BASE64 alphabet inside `&...-`.
    BadBase64(u8),
    /// Leftover bits that are not zero, or a length that is not whole UTF-16 units.
    BadPadding,
    /// UTF-16 that is not valid (lone surrogate).
    BadUtf16,
    /// A form with a shorter spelling: printable ASCII inside `&...-`, `&-`-less empty
    /// shift (`&` immediately followed by `-` is the ampersand), or two shifted runs in a row.
    NotCanonical,
}

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Utf7Error::NonAscii(b) => write!(f, "8-bit byte 0x{b:02x} in a modified UTF-7 name"),
            Utf7Error::Unterminated => {
                f.write_str("modified UTF-7 shift sequence is not closed with '-'")
            }
            Utf7Error::BadBase64(b) => {
                write!(f, "invalid modified BASE64 character {:?}", char::from(*b))
            }
            Utf7Error::BadPadding => f.write_str("modified UTF-7 sequence has stray bits"),
            Utf7Error::BadUtf16 => f.write_str("modified UTF-7 sequence is not valid UTF-16"),
            Utf7Error::NotCanonical => f.write_str("modified UTF-7 name is not in canonical form"),
        }
    }
}

impl std::error::Error for Utf7Error {}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn is_direct(c: char) -> bool {
    matches!(c, '\x20'..='\x7e') && c != '&'
}

/// Encodes a Unicode name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush_shifted(&mut out, &mut pending);
            out.push(c);
        } else if c == '&' {
            flush_shifted(&mut out, &mut pending);
            out.push_str("&-");
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_shifted(&mut out, &mut pending);
    out
}

fn flush_shifted(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out.push('-');
    units.clear();
}

fn base64_value(b: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == b)
        .and_then(|p| u32::try_from(p).ok())
}

/// Decodes a modified UTF-7 name, refusing everything that is not the canonical encoding
/// of some Unicode name.
pub fn decode(raw: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    let mut previous_was_shift = false;
    while i < raw.len() {
        let b = raw[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(Utf7Error::NonAscii(b));
        }
        if b != b'&' {
            out.push(char::from(b));
            i += 1;
            previous_was_shift = false;
            continue;
        }
        let close = raw[i + 1..]
            .iter()
            .position(|&c| c == b'-')
            .ok_or(Utf7Error::Unterminated)?;
        let encoded = &raw[i + 1..i + 1 + close];
        if encoded.is_empty() {
            out.push('&');
            previous_was_shift = false;
        } else {
            if previous_was_shift {
                return Err(Utf7Error::NotCanonical);
            }
            decode_shifted(encoded, &mut out)?;
            previous_was_shift = true;
        }
        i += close + 2;
    }
    Ok(out)
}

fn decode_shifted(encoded: &[u8], out: &mut String) -> Result<(), Utf7Error> {
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut units: Vec<u16> = Vec::with_capacity(encoded.len() * 6 / 16);
    for &c in encoded {
        let value = base64_value(c).ok_or(Utf7Error::BadBase64(c))?;
        bits = (bits << 6) | value;
        bit_count += 6;
        if bit_count >= 16 {
            bit_count -= 16;
            units.push(((bits >> bit_count) & 0xffff) as u16);
        }
    }
    // Leftover bits must be fewer than a base64 symbol's worth and all zero.
    if bit_count >= 6 || bits & ((1 << bit_count) - 1) != 0 {
        return Err(Utf7Error::BadPadding);
    }
    let decoded = String::from_utf16(&units).map_err(|_| Utf7Error::BadUtf16)?;
    if decoded.is_empty() || decoded.chars().any(|c| is_direct(c) || c == '&') {
        return Err(Utf7Error::NotCanonical);
    }
    out.push_str(&decoded);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round-trip vectors: (Unicode, modified UTF-7).
    const VECTORS: &[(&str, &str)] = &[
        ("INBOX", "INBOX"),
        ("&", "&-"),
        ("&&", "&-&-"),
        ("a&b", "a&-b"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("Gesendete Objekte", "Gesendete Objekte"),
        ("\"quoted\"", "\"quoted\""),
        ("back\\slash", "back\\slash"),
        ("Überweisung & Co", "&ANw-berweisung &- Co"),
        ("😀", "&2D3eAA-"),
        ("日本語", "&ZeVnLIqe-"),
        ("Ελληνικά", "&A5UDuwO7A7cDvQO5A7oDrA-"),
        ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
        ("é", "&AOk-"),
        ("éé", "&AOkA6Q-"),
        ("ééé", "&AOkA6QDp-"),
        ("a é b", "a &AOk- b"),
        ("€", "&IKw-"),
        ("𝄞 music", "&2DTdHg- music"),
        ("", ""),
    ];

    #[test]
    fn rfc3501_and_round_trip_vectors() {
        for (unicode, wire) in VECTORS {
            assert_eq!(encode(unicode), *wire, "encode {unicode:?}");
            assert_eq!(
                decode(wire.as_bytes()).as_deref(),
                Ok(*unicode),
                "decode {wire:?}"
            );
        }
    }

    #[test]
    fn non_canonical_and_broken_forms_are_refused() {
        let cases: &[(&str, Utf7Error)] = &[
            ("&AGE-", Utf7Error::NotCanonical),      // "a" shifted
            ("&ACY-", Utf7Error::NotCanonical),      // "&" shifted
            ("&AOk-&AOk-", Utf7Error::NotCanonical), // two runs in a row
            ("&AOk", Utf7Error::Unterminated),
            ("&AOl-", Utf7Error::BadPadding), // stray bits
            ("&AO-", Utf7Error::BadPadding),
            ("&A*k-", Utf7Error::BadBase64(b'*')),
            ("&2D0-", Utf7Error::BadUtf16), // lone high surrogate
            ("&2D3-", Utf7Error::BadPadding),
            ("&2D0AYQ-", Utf7Error::BadUtf16), // lone high surrogate then 'a'
        ];
        for (wire, error) in cases {
            assert_eq!(decode(wire.as_bytes()), Err(error.clone()), "{wire}");
        }
        assert_eq!(
            decode("caf\u{e9}".as_bytes()),
            Err(Utf7Error::NonAscii(0xc3))
        );
    }
}
