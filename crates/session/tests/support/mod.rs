//! The one helper every session transcript goes through: real sessions over a temporary
//! SQLite store, fed through the real framer.
//!
//! Transcript lines: `C: ...` is client input (consecutive `C:` lines are sent together,
//! joined with CRLF, so literals can be written on their own lines); `S: ...` is expected
//! output, line by line, where `{*}` matches any text. `C2:`/`S2:` drive a second client.
//! After each block of input, every expected line of that client's output must be given.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use bytes::BytesMut;
use portcullis_auth::{Clock, Guard, GuardConfig, PasswordVerifier, Secret, hash_password};
use portcullis_proto::framing::{Frame, FrameLimits, Framer};
use portcullis_session::{
    ConnectionInfo, MAILBOX_CACHE_CAPACITY, MailboxCache, Next, Output, ServerContext, Session,
    SessionConfig,
};
use portcullis_store::{AccountName, Store};
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

/// A server: a temporary store with the accounts `alice` and `bob` (password `secret`).
pub(crate) struct Server {
    pub(crate) ctx: Arc<ServerContext>,
    pub(crate) store: Arc<SqliteStore>,
    /// The framer limits every client of this server gets.
    pub(crate) limits: FrameLimits,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn new() -> Server {
        Server::with_config(SessionConfig::default()).await
    }

    pub(crate) async fn with_config(config: SessionConfig) -> Server {
        Server::with_limits(config, FrameLimits::default()).await
    }

    /// A server whose clients frame their input with `limits`.
    pub(crate) async fn with_limits(config: SessionConfig, limits: FrameLimits) -> Server {
        // Every client of these tests comes from one address: the default cap of sessions
        // per account and address (10) would stop the many-session tests. `hardening.rs`
        // tests the caps with guards of its own.
        let guard = GuardConfig {
            connections: portcullis_auth::ConnectionCaps {
                per_user_ip: 1000,
                ..portcullis_auth::ConnectionCaps::default()
            },
            ..GuardConfig::default()
        };
        let guard = Guard::new(guard, Arc::new(portcullis_auth::SystemClock));
        Server::with_guard(config, limits, guard).await
    }

    /// A server with its own guard (brute-force defence and connection caps).
    pub(crate) async fn with_guard_config(guard: GuardConfig, clock: Arc<dyn Clock>) -> Server {
        let guard = Guard::new(guard, clock);
        Server::with_guard(SessionConfig::default(), FrameLimits::default(), guard).await
    }

    async fn with_guard(config: SessionConfig, limits: FrameLimits, guard: Guard) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let hash = hash_password(&Secret::new("secret".to_owned())).unwrap();
        for name in ["alice", "bob"] {
            store
                .create_account(&AccountName::new(name).unwrap(), &hash)
                .await
                .unwrap();
        }
        let ctx = Arc::new(ServerContext {
            store: store.clone() as Arc<dyn Store>,
            verifier: PasswordVerifier::new().unwrap(),
            config,
            guard: Arc::new(guard),
            // Every mailbox, however small, goes through the shared cache of SELECT.
            mailboxes: Arc::new(MailboxCache::new(0, MAILBOX_CACHE_CAPACITY)),
        });
        Server {
            ctx,
            store,
            limits,
            _dir: dir,
        }
    }

    /// A client on an implicit-TLS connection.
    pub(crate) fn client(&self) -> Client {
        self.client_with(true)
    }

    /// A client on a connection with or without TLS.
    pub(crate) fn client_with(&self, tls: bool) -> Client {
        self.client_at("127.0.0.1:40000", tls)
    }

    /// A client at `peer` (`address:port`).
    pub(crate) fn client_at(&self, peer: &str, tls: bool) -> Client {
        let info = ConnectionInfo {
            peer: peer.parse().unwrap(),
            tls,
            plaintext_auth_allowed: false,
        };
        Client {
            session: Session::new(self.ctx.clone(), info),
            framer: Framer::new(self.limits),
            buf: BytesMut::new(),
            next: Next::Command,
        }
    }
}

/// One client connection.
pub(crate) struct Client {
    pub(crate) session: Session,
    framer: Framer,
    buf: BytesMut,
    pub(crate) next: Next,
}

impl Client {
    /// The greeting.
    pub(crate) async fn greeting(&mut self) -> String {
        let mut sink: Vec<u8> = Vec::new();
        let mut out = Output::new(&mut sink);
        self.session.greeting(&mut out);
        out.flush().await.unwrap();
        String::from_utf8_lossy(&sink).into_owned()
    }

    /// Sends bytes and returns everything the server wrote until it waits for input.
    pub(crate) async fn send(&mut self, input: &[u8]) -> String {
        self.buf.extend_from_slice(input);
        let mut sink: Vec<u8> = Vec::new();
        let mut out = Output::new(&mut sink);
        loop {
            match self.next {
                Next::Command => match self.framer.next_frame(&mut self.buf) {
                    Some(Frame::Command(frame)) => {
                        self.next = self.session.handle_frame(frame, &mut out).await.unwrap()
                    }
                    Some(Frame::ContinueLiteral) => out.continuation("Ready for literal data"),
                    Some(Frame::Rejected(rejection)) => {
                        self.next = self.session.handle_rejection(&rejection, &mut out)
                    }
                    None => break,
                },
                Next::Line | Next::Idle => match self.framer.next_line(&mut self.buf) {
                    Some(Ok(line)) => {
                        self.next = self.session.handle_line(line, &mut out).await.unwrap()
                    }
                    Some(Err(_)) => panic!("line too long"),
                    None => break,
                },
                Next::StartTls => {
                    self.buf.clear();
                    self.session.tls_established();
                    self.next = Next::Command;
                }
                Next::Close => break,
            }
        }
        out.flush().await.unwrap();
        String::from_utf8_lossy(&sink).into_owned()
    }

    /// While idling: lets the session push what changed.
    pub(crate) async fn poll_idle(&mut self) -> String {
        let mut sink: Vec<u8> = Vec::new();
        let changed = self
            .session
            .change_watch()
            .is_some_and(|w| w.has_changed().unwrap_or(false));
        if self.next == Next::Idle && changed {
            let mut out = Output::new(&mut sink);
            self.session.idle_wakeup(&mut out).await.unwrap();
            out.flush().await.unwrap();
        }
        String::from_utf8_lossy(&sink).into_owned()
    }
}

/// The `C:` lines of an APPEND (MULTIAPPEND when `messages` has several) whose literal sizes
/// are computed, not hand-counted. Each message is given as lines separated by `\n`; every
/// line ends with CRLF in the literal. Each message comes with the text before its literal
/// (flags and date, with a trailing space, or nothing).
pub(crate) fn append(tag: &str, mailbox: &str, messages: &[(&str, &str)]) -> String {
    let mut lines = format!("C: {tag} APPEND {mailbox}");
    for (i, (prefix, message)) in messages.iter().enumerate() {
        let size: usize = message.split('\n').map(|line| line.len() + 2).sum();
        if i == 0 {
            lines.push_str(&format!(" {prefix}{{{size}+}}"));
        } else {
            lines.push_str(&format!("\nC:  {prefix}{{{size}+}}"));
        }
        for line in message.split('\n') {
            lines.push_str(&format!("\nC: {line}"));
        }
    }
    lines.push_str("\nC:");
    lines
}

/// Rewrites `C:`/`S:` lines (such as [`append`] makes) as the second client's `C2:`/`S2:`.
pub(crate) fn second_client(lines: &str) -> String {
    lines
        .lines()
        .map(|line| {
            let line = line.trim_start();
            match (line.strip_prefix("C:"), line.strip_prefix("S:")) {
                (Some(rest), _) => format!("C2:{rest}"),
                (_, Some(rest)) => format!("S2:{rest}"),
                _ => line.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `{*}` glob match of one line.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split("{*}");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn compare(client: usize, input: &str, expected: &[String], actual: &str) {
    let actual_lines: Vec<&str> = actual.split_terminator("\r\n").collect();
    let ok = expected.len() == actual_lines.len()
        && expected.iter().zip(&actual_lines).all(|(e, a)| glob(e, a));
    assert!(
        ok,
        "client {client} after input:\n{input}\n--- expected ---\n{}\n--- actual ---\n{}",
        expected.join("\n"),
        actual_lines.join("\n")
    );
}

/// Runs a transcript against a fresh server (clients start after their greeting).
pub(crate) async fn check(transcript: &str) {
    let server = Server::new().await;
    check_on(&server, transcript).await;
}

/// Runs a transcript against `server`.
pub(crate) async fn check_on(server: &Server, transcript: &str) {
    let mut clients = [server.client(), server.client()];
    for client in &mut clients {
        client.greeting().await;
    }
    let mut pending_input: Option<(usize, String)> = None;
    let mut expected: Vec<String> = Vec::new();
    let mut last_output: Option<(usize, String, String)> = None;
    let lines: Vec<&str> = transcript
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let (kind, client, text) = split(lines[i]);
        if kind == 'C' {
            if let Some((c, input, out)) = last_output.take() {
                compare(c, &input, &expected, &out);
                expected.clear();
            }
            let mut input = format!("{text}\r\n");
            while i + 1 < lines.len()
                && split(lines[i + 1]).0 == 'C'
                && split(lines[i + 1]).1 == client
            {
                i += 1;
                input.push_str(split(lines[i]).2);
                input.push_str("\r\n");
            }
            let output = clients[client].send(input.as_bytes()).await;
            pending_input = Some((client, input.clone()));
            last_output = Some((client, input, output));
        } else {
            match &last_output {
                Some((c, _, _)) if *c == client => {}
                _ => {
                    if let Some((c, input, out)) = last_output.take() {
                        compare(c, &input, &expected, &out);
                        expected.clear();
                    }
                    let pushed = clients[client].poll_idle().await;
                    last_output = Some((client, "(idle push)".into(), pushed));
                }
            }
            expected.push(text.to_owned());
        }
        i += 1;
    }
    if let Some((c, input, out)) = last_output.take() {
        compare(c, &input, &expected, &out);
    }
    let _ = pending_input;
}

fn split(line: &str) -> (char, usize, &str) {
    let (head, text) = line.split_once(':').unwrap_or((line, ""));
    let text = text.strip_prefix(' ').unwrap_or(text);
    let kind = head.chars().next().unwrap_or('?');
    let client = if head.len() > 1 {
        head[1..].parse::<usize>().unwrap_or(1) - 1
    } else {
        0
    };
    assert!(kind == 'C' || kind == 'S', "bad transcript line {line:?}");
    (kind, client, text)
}
