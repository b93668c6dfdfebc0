//! The LMTP conversation (RFC 2033, on RFC 5321): LHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT,
//! with PIPELINING (RFC 2920), 8BITMIME (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034, codes
//! from RFC 3463) and SIZE (RFC 1870).
//!
//! Sans-I/O: [`LmtpSession::process`] consumes whatever complete input is buffered and
//! appends the replies; the connection flushes them. After DATA there is one reply per
//! accepted recipient, in RCPT order (RFC 2033 4.2), each sent only once the message is
//! durable for that recipient.
//!
//! ```text
//! Greeted ──LHLO──► Ready ──MAIL──► Mail ──RCPT(ok)──► Recipients ──DATA──► Data
//!                     ▲                                                      │
//!                     └─────────────── replies per recipient ◄───── "." ─────┘
//! ```

use bytes::{Buf, Bytes, BytesMut};
use std::sync::Arc;

use crate::address::parse_path;
use crate::delivery::{Delivery, DeliveryError, Target};

/// Options of the LMTP service.
#[derive(Debug, Clone)]
pub struct LmtpConfig {
    /// The name in the greeting and the LHLO reply.
    pub hostname: String,
    /// Largest message accepted (advertised with SIZE).
    pub max_message_size: u64,
    /// Recipients per transaction.
    pub max_recipients: usize,
}

impl Default for LmtpConfig {
    fn default() -> LmtpConfig {
        LmtpConfig {
            hostname: "localhost".to_owned(),
            max_message_size: 64 * 1024 * 1024,
            max_recipients: 1000,
        }
    }
}

/// Longest command line (RFC 5321 4.5.3.1.4 says 512; some MTAs send long parameters).
const MAX_COMMAND_LINE: usize = 4096;

/// What the connection should do after `process`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Flush the replies and read more input.
    Continue,
    /// Flush the replies and close (QUIT, or unrecoverable input).
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Before LHLO.
    Greeted,
    /// LHLO done, no transaction.
    Ready,
    /// MAIL accepted: collecting recipients.
    Transaction,
    /// Receiving the message.
    Data,
    /// Discarding an over-long command line.
    DiscardLine,
}

/// One LMTP connection.
pub struct LmtpSession {
    config: Arc<LmtpConfig>,
    delivery: Arc<dyn Delivery>,
    phase: Phase,
    sender: Option<String>,
    recipients: Vec<(String, Target)>,
    data: Vec<u8>,
    data_overflow: bool,
    at_line_start: bool,
}

impl std::fmt::Debug for LmtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmtpSession")
            .field("phase", &self.phase)
            .field("recipients", &self.recipients.len())
            .finish_non_exhaustive()
    }
}

fn reply(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

impl LmtpSession {
    /// A new connection.
    pub fn new(config: Arc<LmtpConfig>, delivery: Arc<dyn Delivery>) -> LmtpSession {
        LmtpSession {
            config,
            delivery,
            phase: Phase::Greeted,
            sender: None,
            recipients: Vec::new(),
            data: Vec::new(),
            data_overflow: false,
            at_line_start: true,
        }
    }

    /// The greeting.
    pub fn greeting(&self, out: &mut Vec<u8>) {
        reply(
            out,
            &format!("220 {} LMTP Portcullis ready", self.config.hostname),
        );
    }

    /// Handles every complete line in `buf`.
    pub async fn process(&mut self, buf: &mut BytesMut, out: &mut Vec<u8>) -> Control {
        loop {
            if self.phase == Phase::Data {
                match self.take_data(buf) {
                    Some(()) => self.finish_data(out).await,
                    None => return Control::Continue,
                }
                continue;
            }
            let Some(end) = buf.iter().position(|&b| b == b'\n') else {
                if buf.len() > MAX_COMMAND_LINE {
                    buf.clear();
                    if self.phase != Phase::DiscardLine {
                        reply(out, "500 5.5.2 Line too long");
                    }
                    self.phase = Phase::DiscardLine;
                }
                return Control::Continue;
            };
            let line = buf.split_to(end + 1).freeze();
            if self.phase == Phase::DiscardLine {
                self.phase = if self.sender.is_some() {
                    Phase::Transaction
                } else {
                    Phase::Ready
                };
                continue;
            }
            if line.len() > MAX_COMMAND_LINE {
                reply(out, "500 5.5.2 Line too long");
                continue;
            }
            let text = String::from_utf8_lossy(trim_line_end(&line)).into_owned();
            if self.command(&text, out).await == Control::Close {
                return Control::Close;
            }
        }
    }

    async fn command(&mut self, line: &str, out: &mut Vec<u8>) -> Control {
        let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "LHLO" => self.lhlo(argument, out),
            "HELO" | "EHLO" => reply(out, "500 5.5.1 This is LMTP: use LHLO"),
            "MAIL" => self.mail(argument, out),
            "RCPT" => self.rcpt(argument, out).await,
            "DATA" => self.data_command(out),
            "RSET" => {
                self.reset();
                reply(out, "250 2.0.0 OK");
            }
            "NOOP" => reply(out, "250 2.0.0 OK"),
            "VRFY" => reply(out, "252 2.5.0 Cannot VRFY; try RCPT"),
            "QUIT" => {
                reply(
                    out,
                    &format!("221 2.0.0 {} closing connection", self.config.hostname),
                );
                return Control::Close;
            }
            _ => reply(out, "500 5.5.2 Unknown command"),
        }
        Control::Continue
    }

    fn lhlo(&mut self, argument: &str, out: &mut Vec<u8>) {
        if argument.trim().is_empty() {
            return reply(out, "501 5.5.4 LHLO needs a host name");
        }
        self.reset();
        self.phase = Phase::Ready;
        let host = &self.config.hostname;
        reply(out, &format!("250-{host}"));
        reply(out, "250-PIPELINING");
        reply(out, "250-ENHANCEDSTATUSCODES");
        reply(out, "250-8BITMIME");
        reply(out, &format!("250 SIZE {}", self.config.max_message_size));
    }

    fn mail(&mut self, argument: &str, out: &mut Vec<u8>) {
        match self.phase {
            Phase::Greeted => return reply(out, "503 5.5.1 Send LHLO first"),
            Phase::Transaction => return reply(out, "503 5.5.1 Nested MAIL command"),
            _ => {}
        }
        let Some(path) = parse_path(argument, "FROM") else {
            return reply(out, "501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        for (key, value) in &path.params {
            match (key.as_str(), value.as_deref()) {
                ("SIZE", Some(size)) => match size.parse::<u64>() {
                    Ok(size) if size > self.config.max_message_size => {
                        return reply(
                            out,
                            "552 5.3.4 Message size exceeds fixed maximum message size",
                        );
                    }
                    Ok(_) => {}
                    Err(_) => return reply(out, "501 5.5.4 Invalid SIZE parameter"),
                },
                ("BODY", Some(body))
                    if body.eq_ignore_ascii_case("7BIT")
                        || body.eq_ignore_ascii_case("8BITMIME") => {}
                _ => return reply(out, "555 5.5.4 Unsupported MAIL parameter"),
            }
        }
        self.sender = Some(path.address);
        self.phase = Phase::Transaction;
        reply(out, "250 2.1.0 Sender OK");
    }

    async fn rcpt(&mut self, argument: &str, out: &mut Vec<u8>) {
        if self.phase != Phase::Transaction {
            return reply(out, "503 5.5.1 Send MAIL first");
        }
        let Some(path) = parse_path(argument, "TO").filter(|p| !p.address.is_empty()) else {
            return reply(out, "501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if !path.params.is_empty() {
            return reply(out, "555 5.5.4 Unsupported RCPT parameter");
        }
        if self.recipients.len() >= self.config.max_recipients {
            return reply(out, "452 4.5.3 Too many recipients");
        }
        match self.delivery.resolve(&path.address).await {
            Ok(Some(target)) => {
                self.recipients.push((path.address, target));
                reply(out, "250 2.1.5 Recipient OK");
            }
            Ok(None) => reply(out, &format!("550 5.1.1 <{}> User unknown", path.address)),
            Err(error) => reply(out, &error.reply(&path.address)),
        }
    }

    fn data_command(&mut self, out: &mut Vec<u8>) {
        if self.phase != Phase::Transaction {
            return reply(out, "503 5.5.1 Send MAIL first");
        }
        if self.recipients.is_empty() {
            return reply(out, "554 5.5.1 No valid recipients");
        }
        self.phase = Phase::Data;
        self.data.clear();
        self.data_overflow = false;
        self.at_line_start = true;
        reply(out, "354 2.0.0 Start mail input; end with <CRLF>.<CRLF>");
    }

    /// Moves message lines from `buf` into the message, undoing dot-stuffing
    /// (RFC 5321 4.5.2). `Some` once the terminating `.` line has been read. Memory stays
    /// bounded by the size limit: past it, bytes are counted out, not kept.
    fn take_data(&mut self, buf: &mut BytesMut) -> Option<()> {
        loop {
            if self.at_line_start && buf.first() == Some(&b'.') {
                match &buf[..buf.len().min(3)] {
                    b".\r\n" | [b'.', b'\n', ..] => {
                        let terminator = if buf.get(1) == Some(&b'\n') { 2 } else { 3 };
                        buf.advance(terminator);
                        return Some(());
                    }
                    b"." | b".\r" => return None,
                    _ => buf.advance(1),
                }
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let line = buf.split_to(end + 1);
                    self.keep(&line);
                    self.at_line_start = true;
                }
                None => {
                    if !buf.is_empty() {
                        let partial = buf.split();
                        self.keep(&partial);
                        self.at_line_start = false;
                    }
                    return None;
                }
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = usize::try_from(self.config.max_message_size)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.data.len());
        if bytes.len() > room {
            self.data_overflow = true;
            self.data.clear();
            self.data.shrink_to_fit();
        }
        if !self.data_overflow {
            self.data.extend_from_slice(bytes);
        }
    }

    async fn finish_data(&mut self, out: &mut Vec<u8>) {
        let recipients = std::mem::take(&mut self.recipients);
        if self.data_overflow {
            for _ in &recipients {
                reply(
                    out,
                    "552 5.3.4 Message size exceeds fixed maximum message size",
                );
            }
        } else {
            let message = Bytes::from(std::mem::take(&mut self.data));
            let targets: Vec<Target> = recipients
                .iter()
                .map(|(_, target)| target.clone())
                .collect();
            let outcomes = self.delivery.deliver(message, &targets).await;
            for ((address, _), outcome) in recipients.iter().zip(outcomes) {
                match outcome {
                    Ok(()) => reply(out, &format!("250 2.0.0 <{address}> Delivered")),
                    Err(error) => reply(out, &error.reply(address)),
                }
            }
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
        self.data = Vec::new();
        self.data_overflow = false;
        if self.phase != Phase::Greeted {
            self.phase = Phase::Ready;
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl DeliveryError {
    /// The reply line for a recipient that failed.
    fn reply(&self, address: &str) -> String {
        match self {
            DeliveryError::Temporary(_) => {
                format!("451 4.3.0 <{address}> Temporary failure, try again later")
            }
            DeliveryError::MailboxFull => format!("552 5.2.2 <{address}> Mailbox full"),
            DeliveryError::Permanent(why) => format!("554 5.3.0 <{address}> {why}"),
        }
    }
}
