//! The checks behind Portcullis' fuzz targets (`fuzz_targets/*.rs`, one line each).
//!
//! Each module's `check` takes arbitrary bytes and panics when a property fails; libFuzzer
//! reports any panic as a crash. The same functions are called by `cargo test` in this
//! directory (`tests/replay.rs`), which replays the seed corpora and the saved regression
//! inputs without libFuzzer. How to run: docs/fuzzing.md.
//!
//! | target    | input                                   | properties                                   |
//! |-----------|-----------------------------------------|----------------------------------------------|
//! | `framing` | limits + client bytes cut into reads    | no panic; buffer within the limits; frames are the input's bytes; same frames whatever the reads |
//! | `command` | one frame                               | no panic; decode → encode → decode stable (two encodings); the encoding frames as one command; error texts bounded and printable |
//! | `session` | bytes after LOGIN, through the framer   | no panic; every response a CRLF-terminated IMAP line; heap bounded |
//! | `mime`    | a message                               | no panic; offsets inside the message; sections resolve; ENVELOPE/BODYSTRUCTURE parse back to the summary; postcard round trip |
//! | `lmtp`    | limits + an LMTP conversation, streamed | no panic; heap and buffer bounded by the limits, however long the stream; replies well-formed |
//! | `mutf7`   | bytes / a string                        | `encode(decode(x)) == x`, `decode(encode(s)) == s` |

pub mod alloc;
pub mod command;
pub mod framing;
pub mod imap;
pub mod lmtp;
pub mod mime;
pub mod mutf7;
pub mod rng;
pub mod session;
pub mod wire;

/// Bytes for an assertion message: printable, escaped, cut at 400 characters.
pub fn show(bytes: &[u8]) -> String {
    let text = bytes.escape_ascii().to_string();
    if text.len() > 400 {
        format!("{}... ({} bytes)", &text[..400], bytes.len())
    } else {
        text
    }
}
