//! What a session needs from the server: the store, the password verifier, the guard
//! (brute-force defence and connection caps) and the protocol-level options. Every limit is
//! a named option with a safe default.

use portcullis_auth::{Guard, GuardConfig, PasswordVerifier, SystemClock};
use portcullis_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::mailbox_cache::MailboxCache;
use crate::quirks::QuirkConfig;

/// Protocol options of all sessions.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Name in the greeting and the ID response.
    pub server_name: String,
    /// Client quirks switched on by ID or per account; none by default (`quirks.rs`).
    pub quirks: QuirkConfig,
    /// Largest message APPEND accepts (advertised as APPENDLIMIT, RFC 7889).
    pub append_limit: u64,
    /// Allow LOGIN and AUTHENTICATE without TLS. Off by default; only for tests and for
    /// networks the administrator explicitly trusts.
    pub allow_plaintext_auth: bool,
    /// BAD answers in a row after which the session says `* BYE` and ends (a client that
    /// is not speaking IMAP: a cross-protocol attack, a port scanner). An OK or NO answer
    /// starts the count again, so a long-lived client with an occasional bad command is
    /// never cut off.
    pub max_bad_commands: u32,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            server_name: "Portcullis".to_owned(),
            quirks: QuirkConfig::default(),
            append_limit: 64 * 1024 * 1024,
            allow_plaintext_auth: false,
            max_bad_commands: 20,
        }
    }
}

/// Shared by every session of a server.
#[derive(Debug, Clone)]
pub struct ServerContext {
    /// The mail store.
    pub store: Arc<dyn Store>,
    /// Password checks (with the dummy hash for unknown users).
    pub verifier: PasswordVerifier,
    /// Options.
    pub config: SessionConfig,
    /// Login throttling, bans and connection caps, shared with the network layer.
    pub guard: Arc<Guard>,
    /// The message lists of recently selected big mailboxes.
    pub mailboxes: Arc<MailboxCache>,
}

impl ServerContext {
    /// A context whose guard has the default (secure) settings and the system clock.
    pub fn new(
        store: Arc<dyn Store>,
        verifier: PasswordVerifier,
        config: SessionConfig,
    ) -> ServerContext {
        ServerContext {
            store,
            verifier,
            config,
            guard: Arc::new(Guard::new(GuardConfig::default(), Arc::new(SystemClock))),
            mailboxes: Arc::default(),
        }
    }
}

/// Facts about one connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    /// The client's address: what the guard judges and the audit log records.
    pub peer: SocketAddr,
    /// Whether the connection is already protected by TLS (implicit TLS port).
    pub tls: bool,
    /// Whether LOGIN and AUTHENTICATE are allowed before TLS on this connection (the
    /// listener's `plaintext_auth_networks` hold the client): `AUTH=PLAIN` is advertised
    /// instead of `LOGINDISABLED`.
    pub plaintext_auth_allowed: bool,
}
