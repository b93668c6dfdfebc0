//! What a session needs from the server: the store, the password verifier and the
//! protocol-level options. Every limit is a named option with a safe default.

use portcullis_auth::PasswordVerifier;
use portcullis_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// Protocol options of all sessions.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Name in the greeting and the ID response.
    pub server_name: String,
    /// Largest message APPEND accepts (advertised as APPENDLIMIT, RFC 7889).
    pub append_limit: u64,
    /// Allow LOGIN and AUTHENTICATE without TLS. Off by default; only for tests and for
    /// networks the administrator explicitly trusts.
    pub allow_plaintext_auth: bool,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            server_name: "Portcullis".to_owned(),
            append_limit: 64 * 1024 * 1024,
            allow_plaintext_auth: false,
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
}

/// Facts about one connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    /// The client's address (for the audit log).
    pub peer: SocketAddr,
    /// Whether the connection is already protected by TLS (implicit TLS port).
    pub tls: bool,
}
