//! `session`: a real IMAP [`Session`] over a real SQLite store, logged in, fed arbitrary
//! bytes through the real framer — what a client can send after LOGIN.
//!
//! Set-up, once per process: a store in a private directory (on `/dev/shm` when there is
//! one, so commits cost no disk flushes) and a cheap argon2id hash of the password (the
//! verifier reads the cost from the hash). Per input: the account `fuzz` is created, a
//! session logs in and appends two messages (a plain one and a multipart one), the input is
//! framed and handled as a connection would, and the account is deleted again — so inputs
//! do not see each other's mailboxes and the store stays small.
//!
//! Properties:
//! - no panic, and no I/O error from the session;
//! - the output is a sequence of complete responses: CRLF-terminated lines (literals
//!   followed), no lone CR or LF, each `* `, `+ ` or a tagged OK/NO/BAD;
//! - the heap grows by at most [`MAX_HEAP_GROWTH`] while one input is handled (the framer's
//!   limits are small: [`LIMITS`]).

use bytes::BytesMut;
use portcullis_auth::PasswordVerifier;
use portcullis_proto::framing::{Frame, FrameLimits, Framer};
use portcullis_session::{ConnectionInfo, Next, Output, ServerContext, Session, SessionConfig};
use portcullis_store::{AccountName, Store};
use portcullis_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::imap::responses;
use crate::show;

/// The framer limits of the fuzzed connection.
pub const LIMITS: FrameLimits = FrameLimits {
    max_command: 16 * 1024,
    max_append_literal: 64 * 1024,
    max_append_total: 128 * 1024,
};

/// Largest heap growth allowed while one input is handled (more aborts the check).
pub const MAX_HEAP_GROWTH: usize = 64 * 1024 * 1024;

const PLAIN: &str = "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\n\r\nHello Bob,\r\nsee you.\r\n";

const MULTIPART: &str = "From: bob@example.org\r\nTo: Alice <alice@example.org>\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xyz\r\n\r\npreamble\r\n--xyz\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n--xyz\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--xyz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\nAAECAwQ=\r\n--xyz--\r\n";

struct Harness {
    runtime: tokio::runtime::Runtime,
    ctx: Arc<ServerContext>,
    store: Arc<SqliteStore>,
    hash: String,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// A private directory for the store; directories of processes that are gone are removed
/// (libFuzzer exits without running destructors).
fn store_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("portcullis-fuzz-") {
                if !PathBuf::from(format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = base.join(format!("portcullis-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let store = Arc::new(SqliteStore::open(&store_dir()).expect("store opens"));
        // The smallest argon2id cost: logins are not what is being fuzzed.
        let params = argon2::Params::new(8, 1, 1, None).expect("argon2 params");
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"portcullis-fuzz").expect("salt");
        let hash = argon
            .hash_password(b"secret", &salt)
            .expect("argon2 hash")
            .to_string();
        let ctx = Arc::new(ServerContext::new(
            store.clone() as Arc<dyn Store>,
            PasswordVerifier::new().expect("verifier"),
            SessionConfig {
                append_limit: LIMITS.max_append_literal,
                ..SessionConfig::default()
            },
        ));
        Harness {
            runtime,
            ctx,
            store,
            hash,
        }
    })
}

/// One connection: session, framer, buffer, and what to read next.
struct Connection {
    session: Session,
    framer: Framer,
    buf: BytesMut,
    next: Next,
}

impl Connection {
    /// Handles everything `input` completes, as `net` would; returns the output.
    async fn send(&mut self, input: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(input);
        let mut sink: Vec<u8> = Vec::new();
        let mut out = Output::new(&mut sink);
        loop {
            match self.next {
                Next::Command => match self.framer.next_frame(&mut self.buf) {
                    Some(Frame::Command(frame)) => {
                        self.next = self
                            .session
                            .handle_frame(frame, &mut out)
                            .await
                            .expect("session I/O error on a Vec sink");
                    }
                    Some(Frame::ContinueLiteral) => out.continuation("Ready for literal data"),
                    Some(Frame::Rejected(rejection)) => {
                        self.next = self.session.handle_rejection(&rejection, &mut out);
                    }
                    None => break,
                },
                Next::Line | Next::Idle => match self.framer.next_line(&mut self.buf) {
                    Some(Ok(line)) => {
                        self.next = self
                            .session
                            .handle_line(line, &mut out)
                            .await
                            .expect("session I/O error on a Vec sink");
                    }
                    // net closes the connection on an over-long line here.
                    Some(Err(_)) => {
                        self.next = Next::Close;
                        break;
                    }
                    None => break,
                },
                Next::StartTls => {
                    self.buf.clear();
                    self.session.tls_established();
                    self.next = Next::Command;
                }
                Next::Close => break,
            }
            out.flush_if_full().await.expect("flush to a Vec");
        }
        out.flush().await.expect("flush to a Vec");
        drop(out);
        sink
    }
}

fn append(tag: &str, flags: &str, message: &str) -> String {
    format!(
        "{tag} APPEND INBOX {flags}{{{}+}}\r\n{message}\r\n",
        message.len()
    )
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let harness = harness();
    let name = AccountName::new("fuzz").expect("account name");
    crate::alloc::within(MAX_HEAP_GROWTH, || {
        harness.runtime.block_on(async {
            harness
                .store
                .create_account(&name, &harness.hash)
                .await
                .expect("create the account");
            let info = ConnectionInfo {
                peer: "192.0.2.1:40000".parse().expect("address"),
                tls: true,
                plaintext_auth_allowed: false,
            };
            let mut connection = Connection {
                session: Session::new(harness.ctx.clone(), info),
                framer: Framer::new(LIMITS),
                buf: BytesMut::new(),
                next: Next::Command,
            };
            let setup = format!(
                "L LOGIN fuzz secret\r\n{}{}",
                append("A1", "(\\Seen $Label1) ", PLAIN),
                append("A2", "", MULTIPART)
            );
            let greeting = connection.send(setup.as_bytes()).await;
            let greeting = String::from_utf8_lossy(&greeting);
            assert!(
                greeting.contains("L OK")
                    && greeting.contains("A1 OK")
                    && greeting.contains("A2 OK"),
                "set-up failed: {greeting}"
            );
            let output = connection.send(data).await;
            check_output(&output, data);
            drop(connection);
            harness
                .store
                .delete_account(&name)
                .await
                .expect("delete the account");
        });
    });
}

fn check_output(output: &[u8], input: &[u8]) {
    let responses = responses(output).unwrap_or_else(|error| {
        panic!(
            "malformed output ({error}) for input {}:\n{}",
            show(input),
            show(output)
        )
    });
    for response in responses {
        let ok =
            response.starts_with(b"* ") || response.starts_with(b"+ ") || response == b"+\r\n" || {
                let tag_len = response.iter().position(|&b| b == b' ').unwrap_or(0);
                let rest = &response[tag_len..];
                tag_len > 0
                    && response[..tag_len]
                        .iter()
                        .all(|&b| b > 0x20 && b < 0x7f && b != b'+')
                    && [&b" OK"[..], b" NO", b" BAD"]
                        .iter()
                        .any(|status| rest.starts_with(status))
            };
        assert!(
            ok,
            "not an IMAP response: {}\ninput {}",
            show(response),
            show(input)
        );
    }
}
