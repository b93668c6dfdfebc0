//! `command`: arbitrary bytes as one framed command into `proto::parse_command`.
//!
//! Properties:
//! - no panic;
//! - a decoded command encodes (both styles of [`crate::wire`]) and decodes to the same
//!   value: decode → encode → decode is stable;
//! - the encoding passes the real framer (default limits) as exactly one command frame;
//! - an error's text is short printable ASCII (it goes into a `BAD` line: no CR/LF, no echo
//!   of the input) and its tag, when known, is the start of the input.

use bytes::{Bytes, BytesMut};
use portcullis_proto::framing::{Frame, FrameLimits, Framer};
use portcullis_proto::parse_command;

use crate::show;
use crate::wire::{self, Style};

/// Checks one input.
pub fn check(data: &[u8]) {
    match parse_command(Bytes::copy_from_slice(data)) {
        Ok(command) => {
            assert!(!command.tag.as_str().is_empty());
            for style in [Style::Compact, Style::Literals] {
                let encoded = wire::encode(&command, style)
                    .unwrap_or_else(|| panic!("no wire form for {command:?}"));
                let again = parse_command(Bytes::from(encoded.clone())).unwrap_or_else(|error| {
                    panic!(
                        "{style:?} encoding {} of {} does not decode: {error}",
                        show(&encoded),
                        show(data)
                    )
                });
                assert_eq!(
                    again,
                    command,
                    "{style:?} round trip changed the command; input {}, encoding {}",
                    show(data),
                    show(&encoded)
                );
                assert_one_frame(&encoded);
            }
        }
        Err(error) => {
            assert!(
                error.message.len() <= 200
                    && error.message.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "error text {:?} for {}",
                error.message,
                show(data)
            );
            if let Some(tag) = &error.tag {
                assert!(data.starts_with(tag.as_str().as_bytes()));
            }
        }
    }
}

fn assert_one_frame(encoded: &[u8]) {
    let mut framer = Framer::new(FrameLimits::default());
    let mut buf = BytesMut::from(encoded);
    let mut frames = Vec::new();
    while let Some(frame) = framer.next_frame(&mut buf) {
        frames.push(frame);
    }
    let commands: Vec<&Frame> = frames
        .iter()
        .filter(|f| !matches!(f, Frame::ContinueLiteral))
        .collect();
    assert!(
        matches!(commands.as_slice(), [Frame::Command(c)] if c[..] == *encoded) && buf.is_empty(),
        "encoding {} frames as {frames:?}",
        show(encoded)
    );
}
