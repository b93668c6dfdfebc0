//! The network edge of Portcullis: listeners, TLS, and the per-connection loop that moves
//! bytes between a socket and a [`portcullis_session::Session`].
//!
//! ```text
//! TcpListener ──accept──► guard.admit(ip) ──► [slot?] ──► TLS (imaps) ──► connection::run
//!                            │ banned: plaintext BYE                          │  framing
//!                            │ over a cap: BYE [LIMIT]                        ▼
//!                                                                 Session (sans-I/O)
//! ```
//!
//! API boundary: this crate owns sockets and TLS and knows nothing of SQL; the store reaches
//! it only inside the `ServerContext` it hands to sessions.

mod config;
mod connection;
mod lmtp;
mod server;
mod stream;
mod tls;

pub use config::{ConnectionLimits, NetConfig, READ_CHUNK};
pub use lmtp::{LmtpAddress, LmtpService};
pub use server::{BindError, ListenerKind, Server};
pub use tls::{EXPIRY_WARNING_DAYS, TlsError, TlsSetup, TlsSource, fingerprint, load as load_tls};
