//! `lmtp`: an LMTP conversation through [`LmtpSession::process`] with a stub [`Delivery`],
//! streamed in arbitrary reads, optionally followed by a long repetition of its tail (a
//! message far larger than the size limit, a line far longer than the line limit).
//!
//! Input: 4 bytes of set-up (`max_message_size` 0..=2040, `max_recipients` 1..=5, a seed
//! for the read sizes, the repeat count), then the conversation.
//!
//! Properties:
//! - no panic;
//! - a delivered message is never larger than `max_message_size`;
//! - after `process` asks for more input, the session leaves at most the line limit (4096)
//!   buffered;
//! - the heap grows by at most `4 × max_message_size + 64 KiB` (plus the replies to one
//!   16 KiB read, which a connection flushes) however much is streamed — the repetition
//!   streams up to ~1 MiB: memory is bounded by the limits, not by the input;
//! - every reply is `ddd` + SP or `-` + text + CRLF, without lone CR/LF.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use portcullis_lmtp::{Control, Delivery, DeliveryError, LmtpConfig, LmtpSession, Target};
use portcullis_store::{AccountName, MailboxId, MailboxName};
use std::sync::{Arc, OnceLock};

use crate::rng::Rng;
use crate::show;

/// The session's line limit (`MAX_COMMAND_LINE` in `lmtp::protocol`).
const MAX_LINE: usize = 4096;

/// Size of one read of the repeated tail.
const BLOCK: usize = 16 * 1024;

struct Stub {
    max: u64,
    target: Target,
}

#[async_trait]
impl Delivery for Stub {
    async fn resolve(&self, address: &str) -> Result<Option<Target>, DeliveryError> {
        match address.as_bytes().first() {
            Some(b'x') => Ok(None),
            Some(b't') => Err(DeliveryError::Temporary("try later".into())),
            _ => Ok(Some(self.target.clone())),
        }
    }

    async fn deliver(&self, message: Bytes, targets: &[Target]) -> Vec<Result<(), DeliveryError>> {
        assert!(
            u64::try_from(message.len()).unwrap_or(u64::MAX) <= self.max,
            "delivered {} bytes, limit {}",
            message.len(),
            self.max
        );
        targets
            .iter()
            .enumerate()
            .map(|(i, _)| match (message.len() + i) % 7 {
                5 => Err(DeliveryError::MailboxFull),
                6 => Err(DeliveryError::Permanent("rejected".into())),
                _ => Ok(()),
            })
            .collect()
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime")
    })
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let [size, recipients, seed, repeat, ref stream @ ..] = *data else {
        return;
    };
    let max_message_size = u64::from(size) * 8;
    let config = Arc::new(LmtpConfig {
        hostname: "mx.test".into(),
        max_message_size,
        max_recipients: 1 + usize::from(recipients % 5),
    });
    let stub = Arc::new(Stub {
        max: max_message_size,
        target: Target {
            account: AccountName::new("alice").expect("name"),
            mailbox: MailboxId(1),
            mailbox_name: MailboxName::new("INBOX").expect("name"),
        },
    });
    // The repetition: the last 64 bytes of the conversation, repeated into 16 KiB blocks,
    // each block one read; up to 63 blocks (about 1 MiB) — far more than the limit below.
    let tail = &stream[stream.len().saturating_sub(64)..];
    let block: Vec<u8> = tail
        .iter()
        .copied()
        .cycle()
        .take(if tail.is_empty() { 0 } else { BLOCK })
        .collect();
    let repeats = usize::from(repeat % 64);
    let mut rng = Rng::new(u64::from(seed));
    // Replies to one block (a block of empty lines gets one 27-byte reply per byte) are
    // cleared after each read, as a connection flushes them.
    let limit =
        4 * usize::try_from(max_message_size).unwrap_or(usize::MAX) + 64 * 1024 + 40 * BLOCK;
    let runtime = runtime();
    crate::alloc::within(limit, || {
        runtime.block_on(async {
            let mut session = LmtpSession::new(config, stub);
            let mut out = Vec::new();
            session.greeting(&mut out);
            let mut buf = BytesMut::new();
            let reads: Vec<(&[u8], Vec<usize>)> = std::iter::once((stream, rng.cuts(stream.len())))
                .chain(std::iter::repeat_n(
                    (&block[..], vec![block.len()]),
                    repeats,
                ))
                .collect();
            for (piece, cuts) in reads {
                let mut offset = 0;
                for cut in cuts {
                    buf.extend_from_slice(&piece[offset..offset + cut]);
                    offset += cut;
                    let control = session.process(&mut buf, &mut out).await;
                    check_replies(&out, stream);
                    out.clear();
                    if control == Control::Close {
                        return;
                    }
                    assert!(
                        buf.len() <= MAX_LINE,
                        "{} bytes left buffered after process",
                        buf.len()
                    );
                }
            }
        });
    });
}

fn check_replies(out: &[u8], input: &[u8]) {
    let mut rest = out;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or_else(|| panic!("reply without CRLF: {}", show(rest)));
        let line = &rest[..end];
        assert!(
            line.len() >= 4
                && line[..3].iter().all(u8::is_ascii_digit)
                && (b'2'..=b'5').contains(&line[0])
                && (line[3] == b' ' || line[3] == b'-')
                && !line.iter().any(|&b| b == b'\r' || b == b'\n'),
            "malformed reply {} for input {}",
            show(line),
            show(input)
        );
        rest = &rest[end + 2..];
    }
}
