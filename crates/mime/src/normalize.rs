//! Line-ending normalisation.
//!
//! IMAP requires CRLF on the wire and every offset in the summary refers to the stored bytes,
//! so the server stores messages with CRLF line endings only. Clients and MTAs do hand over
//! bare LF (and occasionally lone CR); this converts them once, before parsing and storing.

use std::borrow::Cow;

/// Normalises bare LF and lone CR line endings to CRLF; returns `Cow::Borrowed` when the input
/// is already CRLF-clean. The server stores messages in this normalised form, so all offsets of
/// [`parse`](crate::parse) refer to it.
pub fn normalize_line_endings(raw: &[u8]) -> Cow<'_, [u8]> {
    if is_crlf_clean(raw) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 16 + 2);
    let mut bytes = raw.iter().copied().peekable();
    while let Some(c) = bytes.next() {
        match c {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                bytes.next_if_eq(&b'\n');
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Every CR is followed by LF and every LF is preceded by CR.
fn is_crlf_clean(raw: &[u8]) -> bool {
    let mut previous = 0u8;
    for (i, &c) in raw.iter().enumerate() {
        let bad_lf = c == b'\n' && previous != b'\r';
        let bad_cr = c == b'\r' && raw.get(i + 1) != Some(&b'\n');
        if bad_lf || bad_cr {
            return false;
        }
        previous = c;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_input_is_borrowed() {
        let raw = b"A: b\r\n\r\nbody\r\n";
        assert!(matches!(normalize_line_endings(raw), Cow::Borrowed(b) if b == raw));
        assert!(matches!(normalize_line_endings(b""), Cow::Borrowed(b"")));
    }

    #[test]
    fn bare_lf_and_lone_cr_are_converted() {
        let out = normalize_line_endings(b"A: b\n\nx\ry\r\n\rz\n\n");
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(&*out, b"A: b\r\n\r\nx\r\ny\r\n\r\nz\r\n\r\n");
        assert_eq!(&*normalize_line_endings(b"\r"), b"\r\n");
        assert_eq!(&*normalize_line_endings(b"\n"), b"\r\n");
    }
}
