//! The network edge of Portcullis: listeners, TLS, and the per-connection loop that moves
//! bytes between a socket and a [`portcullis_session::Session`].
//!
//! ```text
//! TcpListener ──accept──► [PROXY header from a trusted proxy] ──► allow/deny lists
//!   ──► guard.admit(client) ──► [slot?] ──► TLS (imaps, SNI) ──► connection::run
//!     │ refused or banned: plaintext BYE                             │  framing
//!     │ over a cap: BYE [LIMIT]                                      ▼
//!                                                         Session (sans-I/O)
//! ```
//!
//! Certificates are resolved per handshake by [`Certificates`] (SNI, reload on SIGHUP and
//! file change); [`NetStats`] counts live connections for the metrics endpoint.
//!
//! API boundary: this crate owns sockets and TLS and knows nothing of SQL; the store reaches
//! it only inside the `ServerContext` it hands to sessions.

mod config;
mod connection;
mod lmtp;
pub mod proxy;
mod server;
mod stats;
mod stream;
mod tls;

pub use config::{
    ConnectionLimits, ExposureRules, ListenerConfig, NetConfig, NetworkRefusal, READ_CHUNK,
};
pub use lmtp::{LmtpAddress, LmtpService};
pub use server::{BindError, ListenerKind, Server};
pub use stats::NetStats;
pub use tls::{
    CertificateStatus, Certificates, DEFAULT_RELOAD_INTERVAL, EXPIRY_WARNING_DAYS,
    NamedCertificate, ReloadOutcome, TlsConfig, TlsError, TlsSetup, TlsSource, fingerprint,
    load as load_tls, parse_sni_name,
};
