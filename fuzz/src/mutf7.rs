//! `mutf7`: modified UTF-7 mailbox names (`proto::mutf7`).
//!
//! Properties: `encode(decode(x)) == x` for every `x` that decodes (decoding accepts only
//! canonical spellings); `decode(encode(s)) == s` for arbitrary strings (read from the input
//! as UTF-8 and as UTF-16, to reach characters outside the BMP and every ASCII); encodings
//! are printable ASCII.

use portcullis_proto::mutf7;

use crate::show;

/// Checks one input.
pub fn check(data: &[u8]) {
    if let Ok(name) = mutf7::decode(data) {
        assert_eq!(
            mutf7::encode(&name).as_bytes(),
            data,
            "{} decodes to {name:?}, which encodes differently",
            show(data)
        );
    }
    let utf16: Vec<u16> = data
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let from_utf16: String = char::decode_utf16(utf16)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    for name in [String::from_utf8_lossy(data).into_owned(), from_utf16] {
        let encoded = mutf7::encode(&name);
        assert!(
            encoded.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "encoding of {name:?} is not printable ASCII: {encoded:?}"
        );
        assert_eq!(
            mutf7::decode(encoded.as_bytes()).as_deref(),
            Ok(name.as_str()),
            "{name:?} encodes to {encoded:?}"
        );
    }
}
