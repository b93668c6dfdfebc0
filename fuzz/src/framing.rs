//! `framing`: the client's byte stream, cut into reads at arbitrary points, through
//! [`Framer::next_frame`] (and [`Framer::next_line`] where the session would read a line).
//!
//! Input: 4 bytes of set-up (small limits, a seed for the read sizes), then the stream.
//! Properties:
//! - no panic;
//! - the framer consumes only from the front: after each call its buffer is a suffix of
//!   what it was, and a command frame is exactly the bytes just before that suffix (so a
//!   frame is always input, in order, never bytes of a skipped literal);
//! - every command frame ends with LF and is no longer than the limits allow; a line from
//!   `next_line` holds no LF and is within `max_command`;
//! - after the framer asks for input, it holds at most `max_command + max_append_total + 1`
//!   bytes (the architecture invariant of `proto::framing`);
//! - the frames are the same whether the stream arrives at once or in small reads.

use bytes::{Bytes, BytesMut};
use portcullis_proto::framing::{Frame, FrameLimits, Framer};
use portcullis_proto::parse_command;

use crate::rng::Rng;
use crate::show;

/// Checks one input.
pub fn check(data: &[u8]) {
    let [a, b, c, seed, ref stream @ ..] = *data else {
        return;
    };
    let limits = FrameLimits {
        max_command: 8 + usize::from(a % 120),
        max_append_literal: u64::from(b % 200),
        max_append_total: u64::from(b % 200) + u64::from(c % 200),
    };
    let whole = frames(limits, stream, &[stream.len()], None);
    let mut rng = Rng::new(u64::from(seed));
    let cuts = rng.cuts(stream.len());
    let split = frames(limits, stream, &cuts, None);
    assert_eq!(
        whole,
        split,
        "frames depend on the read sizes {cuts:?} for {}",
        show(stream)
    );
    frames(limits, stream, &cuts, Some(&mut rng));
}

/// Frames `stream` read in pieces of the sizes `cuts`; with `lines`, reads some lines with
/// `next_line` after a command, as the session does after IDLE or AUTHENTICATE.
fn frames(
    limits: FrameLimits,
    stream: &[u8],
    cuts: &[usize],
    mut lines: Option<&mut Rng>,
) -> Vec<Frame> {
    // While a refused line is discarded the framer keeps its last 32 bytes (`MARKER_TAIL`),
    // for a literal announcement split across reads, whatever the limits.
    let most_buffered =
        (limits.max_command + usize::try_from(limits.max_append_total).unwrap_or(usize::MAX) + 1)
            .max(32);
    let mut framer = Framer::new(limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut pending_lines = 0usize;
    let mut offset = 0;
    for &cut in cuts {
        buf.extend_from_slice(&stream[offset..offset + cut]);
        offset += cut;
        loop {
            let before = Bytes::copy_from_slice(&buf);
            if pending_lines > 0 {
                let Some(line) = framer.next_line(&mut buf) else {
                    break;
                };
                pending_lines -= 1;
                assert!(before.ends_with(&buf), "next_line consumed from the middle");
                if let Ok(line) = line {
                    assert!(!line.contains(&b'\n'), "line with LF: {}", show(&line));
                    assert!(line.len() <= limits.max_command, "line over the limit");
                    // What was consumed: the rest of a refused line, perhaps, then the line
                    // and its line end (LF, or CRLF whose CR the line lost).
                    let consumed = &before[..before.len() - buf.len()];
                    let text = consumed.strip_suffix(b"\n").expect("a line ends with LF");
                    assert!(
                        text.ends_with(&line)
                            || text.strip_suffix(b"\r").is_some_and(|t| t.ends_with(&line)),
                        "line {} is not the input before {}",
                        show(&line),
                        show(&buf)
                    );
                }
                continue;
            }
            let Some(frame) = framer.next_frame(&mut buf) else {
                break;
            };
            assert!(
                before.ends_with(&buf),
                "framer consumed from the middle: {} -> {}",
                show(&before),
                show(&buf)
            );
            match &frame {
                Frame::Command(command) => {
                    let end = before.len() - buf.len();
                    assert!(end >= command.len());
                    assert_eq!(
                        &before[end - command.len()..end],
                        &command[..],
                        "frame is not the bytes before the rest"
                    );
                    assert!(
                        command.ends_with(b"\n"),
                        "frame without LF: {}",
                        show(command)
                    );
                    assert!(command.len() <= most_buffered, "frame over the limits");
                    let _ = parse_command(command.clone());
                    if let Some(rng) = lines.as_deref_mut() {
                        if rng.below(4) == 0 {
                            pending_lines = 1 + rng.below(2);
                        }
                    }
                }
                Frame::ContinueLiteral => {}
                Frame::Rejected(rejection) => {
                    if let Some(tag) = &rejection.tag {
                        assert!(!tag.is_empty() && !tag.contains(' '), "bad tag {tag:?}");
                    }
                    if rejection.fatal {
                        frames.push(frame);
                        return frames;
                    }
                }
            }
            frames.push(frame);
        }
        assert!(
            buf.len() <= most_buffered,
            "framer holds {} bytes, limits {limits:?}",
            buf.len()
        );
    }
    frames
}
