//! Listener and connection options. Every limit is a named option with a safe default.

use portcullis_proto::framing::FrameLimits;
use std::net::SocketAddr;
use std::time::Duration;

use crate::{LmtpAddress, TlsSource};

/// The most bytes one read takes from a connection: it bounds how many pipelined commands
/// can arrive at once (`max_pipelined_commands`).
pub const READ_CHUNK: usize = 64 * 1024;

/// What to listen on and how.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Implicit-TLS listeners (production: port 993).
    pub imaps: Vec<SocketAddr>,
    /// Plaintext listeners offering STARTTLS (production: port 143); empty to disable.
    pub imap: Vec<SocketAddr>,
    /// LMTP listeners (loopback TCP or Unix sockets); empty for none.
    pub lmtp: Vec<LmtpAddress>,
    /// The certificate.
    pub tls: TlsSource,
    /// Per-connection limits.
    pub limits: ConnectionLimits,
}

/// Connection limits and timeouts. The caps by client address (per address, before
/// authentication, per account and address) and the brute-force defence belong to the
/// guard (`portcullis_auth::GuardConfig`), which the session shares.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once; more are greeted with `* BYE [LIMIT]`.
    pub max_connections: usize,
    /// Commands one connection may have waiting for their answers: the complete commands
    /// that arrived in one read (reads are at most [`READ_CHUNK`] bytes). A client that
    /// sends more is not a mail client; it gets `* BYE [LIMIT]` and is disconnected.
    /// Real pipelining clients (mbsync, iOS Mail) stay far below.
    pub max_pipelined_commands: usize,
    /// Time to complete TLS and authentication.
    pub pre_auth_timeout: Duration,
    /// Inactivity before an authenticated session is logged out (RFC 9051 5.4: at least
    /// 30 minutes).
    pub idle_timeout: Duration,
    /// Interval of `* OK Still here` during IDLE, so NAT gateways keep the flow.
    pub idle_heartbeat: Duration,
    /// Command size limits.
    pub frame: FrameLimits,
    /// Time connections get to finish after SIGTERM before the server exits anyway.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 10_000,
            max_pipelined_commands: 1000,
            pre_auth_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            idle_heartbeat: Duration::from_secs(120),
            frame: FrameLimits::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
