//! Framing: cutting the client's byte stream into whole commands (lines and literals)
//! before any parsing, under hard size limits.
//!
//! Architecture invariant: no buffer grows beyond the limits below before the literal that
//! would grow it has been accepted; a rejected literal's bytes are skipped as they arrive —
//! never stored, never read as commands.
//!
//! The framer is sans-I/O: the connection reads bytes into a `BytesMut` and calls
//! [`Framer::next_frame`] until it answers `None` (more input needed). A synchronising
//! literal `{n}` yields [`Frame::ContinueLiteral`]: the connection must send a continuation
//! request before the client sends the literal. LITERAL+ `{n+}` and literal8 `~{n}` are
//! accepted the same way without the continuation.
//!
//! ```text
//!  Line ──{n}/{n+} accepted──► Literal ──bytes in──► Line ──CRLF──► Frame::Command
//!    │ too big (sync)                                   │ line too long
//!    ▼                                                  ▼
//!  Frame::Rejected → Line     too big (non-sync) → Skip(n) → DiscardLine → Line
//! ```

use bytes::{Buf, Bytes, BytesMut};

use crate::decode::is_tag_char;

/// Size limits of one command. Named options with safe defaults, set from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest command, counting every byte except APPEND message literals.
    pub max_command: usize,
    /// Largest single APPEND message literal (the APPENDLIMIT).
    pub max_append_literal: u64,
    /// Largest sum of the message literals of one (MULTI)APPEND.
    pub max_append_total: u64,
}

impl Default for FrameLimits {
    fn default() -> FrameLimits {
        FrameLimits {
            max_command: 64 * 1024,
            max_append_literal: 64 * 1024 * 1024,
            max_append_total: 256 * 1024 * 1024,
        }
    }
}

/// What the framer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete command: every line and literal, ending with the final line end.
    Command(Bytes),
    /// A synchronising literal was accepted: send a continuation request now.
    ContinueLiteral,
    /// The command was refused before it was complete.
    Rejected(Rejection),
}

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The command's tag, when its first line began with one.
    pub tag: Option<String>,
    /// Why.
    pub reason: RejectReason,
    /// The connection cannot continue (the client would keep sending bytes we cannot skip).
    pub fatal: bool,
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The command text exceeded `max_command`.
    CommandTooLong,
    /// A literal exceeded its limit. `synchronizing` tells whether the client waits for
    /// our continuation (NO) or has sent it anyway (BAD, RFC 7888 section 4).
    LiteralTooBig {
        /// The announced size.
        size: u64,
        /// Whether it was a synchronising literal.
        synchronizing: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading command text: the current line starts at `line_start`; the bytes before
    /// `scanned` hold no line end.
    Line { line_start: usize, scanned: usize },
    /// Reading a literal that ends at buffer offset `end`.
    Literal { end: usize },
    /// Throwing away `remaining` bytes of a refused non-synchronising literal.
    Skip { remaining: u64 },
    /// Throwing away the rest of a refused command's line.
    DiscardLine,
}

/// What one scan of a line produced.
#[derive(Debug)]
enum Step {
    Emit(Frame),
    NeedInput,
    Continue,
}

/// A literal announcement at the end of a line: `{n}`, `{n+}`, `~{n}`, `~{n+}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LiteralMarker {
    size: u64,
    synchronizing: bool,
}

/// The framing state machine of one connection.
#[derive(Debug)]
pub struct Framer {
    limits: FrameLimits,
    state: State,
    /// Whether the command being framed is an APPEND (known after its first line).
    append: Option<bool>,
    /// Bytes of APPEND message literals in the current command (not counted as text).
    append_bytes: u64,
}

/// Bytes kept while discarding a line, so that a literal marker split across reads is
/// still recognised at the line's end.
const MARKER_TAIL: usize = 32;

impl Framer {
    /// A framer with the given limits.
    pub fn new(limits: FrameLimits) -> Framer {
        Framer {
            limits,
            state: State::Line {
                line_start: 0,
                scanned: 0,
            },
            append: None,
            append_bytes: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> FrameLimits {
        self.limits
    }

    /// Consumes what it can of `buf` and reports the next event, or `None` when more
    /// input is needed. Bytes of a frame stay in `buf` until the frame is complete.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            match self.state {
                State::Skip { remaining } => {
                    let available = u64::try_from(buf.len()).unwrap_or(u64::MAX);
                    let n = remaining.min(available);
                    // Invariant: n <= buf.len(), so it fits usize.
                    buf.advance(usize::try_from(n).unwrap_or(buf.len()));
                    if n < remaining {
                        self.state = State::Skip {
                            remaining: remaining - n,
                        };
                        return None;
                    }
                    self.state = State::DiscardLine;
                }
                State::DiscardLine => {
                    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
                        let keep = buf.len().min(MARKER_TAIL);
                        buf.advance(buf.len() - keep);
                        return None;
                    };
                    let marker = literal_marker(&buf[..newline]);
                    buf.advance(newline + 1);
                    self.state = match marker {
                        Some(m) if !m.synchronizing && m.size <= self.limits.max_append_literal => {
                            State::Skip { remaining: m.size }
                        }
                        Some(m) if !m.synchronizing => return Some(self.fatal_literal(None, m)),
                        _ => State::Line {
                            line_start: 0,
                            scanned: 0,
                        },
                    };
                }
                State::Literal { end } => {
                    if buf.len() < end {
                        return None;
                    }
                    self.state = State::Line {
                        line_start: end,
                        scanned: end,
                    };
                }
                State::Line {
                    line_start,
                    scanned,
                } => match self.scan_line(buf, line_start, scanned) {
                    Step::Emit(frame) => return Some(frame),
                    Step::NeedInput => return None,
                    Step::Continue => {}
                },
            }
        }
    }

    fn scan_line(&mut self, buf: &mut BytesMut, line_start: usize, scanned: usize) -> Step {
        let Some(offset) = buf[scanned..].iter().position(|&b| b == b'\n') else {
            if self.text_len(buf.len()) > self.limits.max_command {
                return Step::Emit(self.reject_line(buf, line_start, buf.len()));
            }
            self.state = State::Line {
                line_start,
                scanned: buf.len(),
            };
            return Step::NeedInput;
        };
        let line_end = scanned + offset;
        if self.text_len(line_end) > self.limits.max_command {
            return Step::Emit(self.reject_line(buf, line_start, line_end));
        }
        if self.append.is_none() {
            self.append = Some(is_append(&buf[..line_end]));
        }
        let Some(marker) = literal_marker(&buf[line_start..line_end]) else {
            let frame = buf.split_to(line_end + 1).freeze();
            self.reset();
            return Step::Emit(Frame::Command(frame));
        };
        if let Err(rejection) = self.admit_literal(marker, line_end, buf) {
            return Step::Emit(rejection);
        }
        let end = line_end + 1 + usize::try_from(marker.size).unwrap_or(usize::MAX);
        self.state = State::Literal { end };
        if marker.synchronizing {
            Step::Emit(Frame::ContinueLiteral)
        } else {
            Step::Continue
        }
    }

    /// Checks a literal against the limits; on refusal, drops the command so far and sets
    /// up the skipping of what the client will still send.
    fn admit_literal(
        &mut self,
        marker: LiteralMarker,
        line_end: usize,
        buf: &mut BytesMut,
    ) -> Result<(), Frame> {
        let fits = if self.append == Some(true) {
            marker.size <= self.limits.max_append_literal
                && self.append_bytes.saturating_add(marker.size) <= self.limits.max_append_total
        } else {
            let size = usize::try_from(marker.size).unwrap_or(usize::MAX);
            self.text_len(line_end).saturating_add(size) <= self.limits.max_command
        };
        if fits {
            if self.append == Some(true) {
                self.append_bytes += marker.size;
            }
            return Ok(());
        }
        let tag = command_tag(buf);
        buf.advance(line_end + 1);
        self.reset();
        if marker.synchronizing {
            // The client waits for our continuation and will not send the literal.
            return Err(Frame::Rejected(Rejection {
                tag,
                reason: RejectReason::LiteralTooBig {
                    size: marker.size,
                    synchronizing: true,
                },
                fatal: false,
            }));
        }
        if marker.size > self.limits.max_append_literal {
            return Err(self.fatal_literal(tag, marker));
        }
        self.state = State::Skip {
            remaining: marker.size,
        };
        Err(Frame::Rejected(Rejection {
            tag,
            reason: RejectReason::LiteralTooBig {
                size: marker.size,
                synchronizing: false,
            },
            fatal: false,
        }))
    }

    fn fatal_literal(&mut self, tag: Option<String>, marker: LiteralMarker) -> Frame {
        Frame::Rejected(Rejection {
            tag,
            reason: RejectReason::LiteralTooBig {
                size: marker.size,
                synchronizing: marker.synchronizing,
            },
            fatal: true,
        })
    }

    /// Refuses the command whose current line (from `line_start`) has reached `end` (its line
    /// end, or the end of the input so far) and starts discarding that line. Only the tail of
    /// the current line is kept, for its literal marker: neither the bytes after its line end
    /// (pipelined commands) nor those before `line_start` (earlier literals, which may hold
    /// line ends that DiscardLine would mistake for this line's end) may be dropped or re-read.
    fn reject_line(&mut self, buf: &mut BytesMut, line_start: usize, end: usize) -> Frame {
        // The tag counts only when it and its SP lie within the limit: otherwise whether it
        // was seen would depend on how much input had arrived.
        let tag = command_tag(&buf[..buf.len().min(self.limits.max_command)]);
        buf.advance(line_start.max(end.saturating_sub(MARKER_TAIL)));
        self.reset();
        self.state = State::DiscardLine;
        Frame::Rejected(Rejection {
            tag,
            reason: RejectReason::CommandTooLong,
            fatal: false,
        })
    }

    /// Command bytes up to `len` that count against `max_command`.
    fn text_len(&self, len: usize) -> usize {
        len.saturating_sub(usize::try_from(self.append_bytes).unwrap_or(usize::MAX))
    }

    fn reset(&mut self) {
        self.state = State::Line {
            line_start: 0,
            scanned: 0,
        };
        self.append = None;
        self.append_bytes = 0;
    }

    /// Reads one line that is not a command (an AUTHENTICATE response, IDLE's DONE),
    /// without its line end. `Err` when it exceeds `max_command`: the line is then being
    /// discarded and the caller should fail the exchange.
    ///
    /// Called again while a refused line is being discarded, it skips the rest of that line
    /// and then reads the next one (never past it: what follows is the caller's).
    pub fn next_line(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, RejectReason>> {
        if self.state == State::DiscardLine {
            // Not `next_frame`: it would go on framing the next command, swallow it, or leave
            // a half-scanned line whose offsets the line read below then invalidates.
            let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
                let keep = buf.len().min(MARKER_TAIL);
                buf.advance(buf.len() - keep);
                return None;
            };
            buf.advance(newline + 1);
            self.reset();
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(end) if end <= self.limits.max_command => {
                let mut line = buf.split_to(end + 1).freeze();
                line.truncate(end - usize::from(end > 0 && line[end - 1] == b'\r'));
                Some(Ok(line))
            }
            Some(end) => {
                buf.advance(end + 1);
                Some(Err(RejectReason::CommandTooLong))
            }
            None if buf.len() > self.limits.max_command => {
                self.reject_line(buf, 0, buf.len());
                Some(Err(RejectReason::CommandTooLong))
            }
            None => None,
        }
    }
}

/// The literal announced at the end of `line` (which excludes the `\n`), if any.
fn literal_marker(line: &[u8]) -> Option<LiteralMarker> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let mut digits = &inner[open + 1..];
    let synchronizing = match digits.strip_suffix(b"+") {
        Some(stripped) => {
            digits = stripped;
            false
        }
        None => true,
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(LiteralMarker {
        size,
        synchronizing,
    })
}

/// The tag at the start of a command, if it is followed by a space.
fn command_tag(buf: &[u8]) -> Option<String> {
    let end = buf.iter().position(|&b| !is_tag_char(b))?;
    (end > 0 && buf[end] == b' ').then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// Whether the first line is `tag APPEND ...`.
fn is_append(first_line: &[u8]) -> bool {
    let mut words = first_line.splitn(3, |&b| b == b' ');
    let _tag = words.next();
    words
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case(b"APPEND"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> FrameLimits {
        FrameLimits {
            max_command: 64,
            max_append_literal: 100,
            max_append_total: 150,
        }
    }

    fn feed(framer: &mut Framer, buf: &mut BytesMut, input: &[u8]) -> Vec<Frame> {
        buf.extend_from_slice(input);
        std::iter::from_fn(|| framer.next_frame(buf)).collect()
    }

    fn command(text: &[u8]) -> Frame {
        Frame::Command(Bytes::copy_from_slice(text))
    }

    #[test]
    fn commands_split_across_reads_and_pipelined() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        assert_eq!(
            feed(&mut framer, &mut buf, b"a NOOP\r\nb NO"),
            vec![command(b"a NOOP\r\n")]
        );
        assert_eq!(
            feed(&mut framer, &mut buf, b"OP\r\n"),
            vec![command(b"b NOOP\r\n")]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn synchronising_literal_asks_for_continuation() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        assert_eq!(
            feed(&mut framer, &mut buf, b"a LOGIN {5}\r\n"),
            vec![Frame::ContinueLiteral]
        );
        assert_eq!(feed(&mut framer, &mut buf, b"alice"), vec![]);
        assert_eq!(
            feed(&mut framer, &mut buf, b" pw\r\n"),
            vec![command(b"a LOGIN {5}\r\nalice pw\r\n")]
        );
    }

    #[test]
    fn literal_plus_and_literal8_need_no_continuation() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        assert_eq!(
            feed(&mut framer, &mut buf, b"a APPEND x ~{3+}\r\na\0b\r\n"),
            vec![command(b"a APPEND x ~{3+}\r\na\0b\r\n")]
        );
    }

    #[test]
    fn a_literal_that_looks_like_a_command_is_data() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let frames = feed(
            &mut framer,
            &mut buf,
            b"a APPEND x {10+}\r\nb LOGOUT\r\n {9}\r\n",
        );
        assert_eq!(frames, vec![Frame::ContinueLiteral]);
        let frames = feed(&mut framer, &mut buf, b"123456789\r\n");
        assert_eq!(
            frames,
            vec![command(
                b"a APPEND x {10+}\r\nb LOGOUT\r\n {9}\r\n123456789\r\n"
            )]
        );
    }

    #[test]
    fn a_literal_marker_split_across_reads_is_recognised() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        assert_eq!(feed(&mut framer, &mut buf, b"a LOGIN {"), vec![]);
        assert_eq!(feed(&mut framer, &mut buf, b"5}\r"), vec![]);
        assert_eq!(
            feed(&mut framer, &mut buf, b"\n"),
            vec![Frame::ContinueLiteral]
        );
    }

    #[test]
    fn oversized_synchronising_literal_is_refused_without_reading_it() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let frames = feed(&mut framer, &mut buf, b"a1 APPEND x {101}\r\nb NOOP\r\n");
        assert_eq!(
            frames,
            vec![
                Frame::Rejected(Rejection {
                    tag: Some("a1".into()),
                    reason: RejectReason::LiteralTooBig {
                        size: 101,
                        synchronizing: true
                    },
                    fatal: false
                }),
                command(b"b NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn oversized_non_synchronising_literal_is_skipped_not_parsed() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let mut input = b"a1 LOGIN {70+}\r\n".to_vec();
        input.extend_from_slice(&b"x LOGOUT\r\n".repeat(7));
        input.extend_from_slice(b" rest {3+}\r\nabc\r\nb NOOP\r\n");
        let frames = feed(&mut framer, &mut buf, &input);
        assert_eq!(
            frames,
            vec![
                Frame::Rejected(Rejection {
                    tag: Some("a1".into()),
                    reason: RejectReason::LiteralTooBig {
                        size: 70,
                        synchronizing: false
                    },
                    fatal: false
                }),
                command(b"b NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn skipping_works_across_reads_without_buffering() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let frames = feed(&mut framer, &mut buf, b"t SEARCH TEXT {90+}\r\n");
        assert_eq!(frames.len(), 1);
        for _ in 0..9 {
            assert_eq!(feed(&mut framer, &mut buf, b"0123456789"), vec![]);
            assert!(buf.is_empty(), "skipped bytes are not kept");
        }
        assert_eq!(
            feed(&mut framer, &mut buf, b"\r\nz NOOP\r\n"),
            vec![command(b"z NOOP\r\n")]
        );
    }

    #[test]
    fn huge_non_synchronising_literal_is_fatal() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let frames = feed(&mut framer, &mut buf, b"a APPEND x {99999999999+}\r\n");
        assert!(matches!(
            &frames[..],
            [Frame::Rejected(Rejection { fatal: true, .. })]
        ));
    }

    #[test]
    fn long_lines_are_refused_and_discarded_as_they_arrive() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let frames = feed(
            &mut framer,
            &mut buf,
            &[b"t1 NOOP ".as_slice(), &[b'x'; 100]].concat(),
        );
        assert_eq!(
            frames,
            vec![Frame::Rejected(Rejection {
                tag: Some("t1".into()),
                reason: RejectReason::CommandTooLong,
                fatal: false
            })]
        );
        for _ in 0..100 {
            feed(&mut framer, &mut buf, &[b'y'; 1000]);
            assert!(buf.len() <= MARKER_TAIL);
        }
        assert_eq!(
            feed(&mut framer, &mut buf, b"\r\nt2 NOOP\r\n"),
            vec![command(b"t2 NOOP\r\n")]
        );
    }

    #[test]
    fn literals_count_against_the_command_limit_except_append_messages() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let frames = feed(&mut framer, &mut buf, b"a LOGIN {60+}\r\n");
        assert!(matches!(&frames[..], [Frame::Rejected(_)]));
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let message = [b'm'; 90];
        let input = [b"a APPEND x {90+}\r\n".as_slice(), &message, b"\r\n"].concat();
        assert_eq!(feed(&mut framer, &mut buf, &input), vec![command(&input)]);
    }

    #[test]
    fn multiappend_total_is_bounded() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::new();
        let input = [
            b"a APPEND x {90+}\r\n".as_slice(),
            &[b'm'; 90],
            b" {90+}\r\n",
        ]
        .concat();
        let frames = feed(&mut framer, &mut buf, &input);
        assert!(matches!(
            &frames[..],
            [Frame::Rejected(Rejection {
                reason: RejectReason::LiteralTooBig { .. },
                ..
            })]
        ));
    }

    #[test]
    fn plain_lines_for_idle_and_authenticate() {
        let mut framer = Framer::new(limits());
        let mut buf = BytesMut::from(&b"DONE\r\nrest"[..]);
        assert_eq!(
            framer.next_line(&mut buf),
            Some(Ok(Bytes::from_static(b"DONE")))
        );
        assert_eq!(framer.next_line(&mut buf), None);
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn next_line_after_a_refused_line_reads_only_the_following_line() {
        // Found by the `framing` fuzz target: a second `next_line` while the refused line was
        // being discarded framed on into the next line as a command (swallowing `DONE`), or
        // left a half-scanned state that made the following `next_frame` slice out of range.
        let refused = || {
            let mut framer = Framer::new(limits());
            let mut buf = BytesMut::from(&[b'x'; 100][..]);
            assert_eq!(
                framer.next_line(&mut buf),
                Some(Err(RejectReason::CommandTooLong))
            );
            (framer, buf)
        };
        let (mut framer, mut buf) = refused();
        buf.extend_from_slice(b"xx\r\nDONE\r\n");
        assert_eq!(
            framer.next_line(&mut buf),
            Some(Ok(Bytes::from_static(b"DONE")))
        );
        let (mut framer, mut buf) = refused();
        buf.extend_from_slice(b"xx\r\nDONE\r");
        assert_eq!(framer.next_line(&mut buf), None);
        buf.extend_from_slice(b"\nb\r\n");
        assert_eq!(
            framer.next_line(&mut buf),
            Some(Ok(Bytes::from_static(b"DONE")))
        );
        assert_eq!(framer.next_frame(&mut buf), Some(command(b"b\r\n")));
        assert!(buf.is_empty());
    }

    #[test]
    fn literal_markers() {
        assert_eq!(
            literal_marker(b"a {5}\r"),
            Some(LiteralMarker {
                size: 5,
                synchronizing: true
            })
        );
        assert_eq!(
            literal_marker(b"a {5+}"),
            Some(LiteralMarker {
                size: 5,
                synchronizing: false
            })
        );
        assert_eq!(
            literal_marker(b"a ~{0}\r"),
            Some(LiteralMarker {
                size: 0,
                synchronizing: true
            })
        );
        assert_eq!(literal_marker(b"a {x}\r"), None);
        assert_eq!(literal_marker(b"a {}\r"), None);
        assert_eq!(literal_marker(b"a {5} \r"), None);
    }
}
