//! The LMTP listeners (loopback TCP or a Unix socket) and their connection loop. LMTP has
//! no TLS and no authentication: it is for the local MTA only, so TCP listeners should be on
//! loopback and Unix sockets get a restrictive mode.

use bytes::BytesMut;
use portcullis_lmtp::{Control, Delivery, LmtpConfig, LmtpSession};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;
use tracing::Instrument;

use crate::stats::NetStats;

/// Where an LMTP listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LmtpAddress {
    /// A TCP address (keep it on loopback).
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl FromStr for LmtpAddress {
    type Err = String;

    /// `unix:/path`, `/path` or `host:port`.
    fn from_str(text: &str) -> Result<LmtpAddress, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(LmtpAddress::Unix(PathBuf::from(path)));
        }
        if text.starts_with('/') {
            return Ok(LmtpAddress::Unix(PathBuf::from(text)));
        }
        text.parse()
            .map(LmtpAddress::Tcp)
            .map_err(|_| format!("{text:?} is neither host:port nor a socket path"))
    }
}

/// The LMTP service: options and where mail goes.
#[derive(Clone)]
pub struct LmtpService {
    /// Protocol options.
    pub config: Arc<LmtpConfig>,
    /// Recipient lookup and storage.
    pub delivery: Arc<dyn Delivery>,
    /// Connections served at once (separate from IMAP's, so IMAP load never blocks mail).
    pub max_connections: usize,
    /// Mode of Unix sockets.
    pub unix_mode: u32,
}

impl std::fmt::Debug for LmtpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmtpService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A bound LMTP listener.
#[derive(Debug)]
pub(crate) enum LmtpListener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl LmtpListener {
    pub(crate) async fn bind(address: &LmtpAddress, mode: u32) -> io::Result<LmtpListener> {
        match address {
            LmtpAddress::Tcp(address) => {
                if !address.ip().is_loopback() {
                    tracing::warn!(%address, "LMTP has no authentication: listening beyond loopback");
                }
                Ok(LmtpListener::Tcp(TcpListener::bind(address).await?))
            }
            LmtpAddress::Unix(path) => {
                remove_stale_socket(path)?;
                let listener = UnixListener::bind(path)?;
                set_mode(path, mode)?;
                Ok(LmtpListener::Unix(listener, path.clone()))
            }
        }
    }

    /// The address as printed at start.
    pub(crate) fn describe(&self) -> String {
        match self {
            LmtpListener::Tcp(listener) => listener
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string()),
            LmtpListener::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }

    /// Accepts until `stopped` flips, serving each connection in its own task.
    pub(crate) async fn run(
        self,
        service: LmtpService,
        mut stopped: watch::Receiver<bool>,
        stats: Arc<NetStats>,
    ) {
        let slots = Arc::new(Semaphore::new(service.max_connections));
        loop {
            let accepted: io::Result<(Box<dyn Connection>, String)> = tokio::select! {
                accepted = self.accept() => accepted,
                _ = stopped.changed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "LMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let span = tracing::info_span!("lmtp", %peer);
            let session = LmtpSession::new(service.config.clone(), service.delivery.clone());
            match slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    let stopped = stopped.clone();
                    let open = stats.lmtp_open();
                    tokio::spawn(
                        async move {
                            if let Err(error) = serve(stream, session, stopped).await {
                                tracing::debug!(%error, "LMTP connection ended");
                            }
                            drop(open);
                            drop(slot);
                        }
                        .instrument(span),
                    );
                }
                Err(_) => {
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let _ = stream
                            .write_all(b"421 4.3.2 Too many connections, try again later\r\n")
                            .await;
                    });
                }
            }
        }
        if let LmtpListener::Unix(_, path) = &self {
            let _ = std::fs::remove_file(path);
        }
        // Each session answers `421` and ends once `stopped` flips; every slot back means all
        // have. Waiting here keeps the server from exiting under them (it awaits this loop).
        let capacity = u32::try_from(service.max_connections).unwrap_or(u32::MAX);
        if timeout(SHUTDOWN_GRACE, slots.acquire_many(capacity))
            .await
            .is_err()
        {
            tracing::warn!("LMTP sessions still open after the grace period");
        }
    }

    async fn accept(&self) -> io::Result<(Box<dyn Connection>, String)> {
        match self {
            LmtpListener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                Ok((Box::new(stream), peer.to_string()))
            }
            LmtpListener::Unix(listener, path) => {
                let (stream, _) = listener.accept().await?;
                Ok((Box::new(stream), format!("unix:{}", path.display())))
            }
        }
    }
}

/// A byte stream an LMTP session runs on.
pub(crate) trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// How long a stopping server waits for LMTP sessions to say 421 (one finishing a delivery
/// first).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// RFC 5321 4.5.3.2.7: the server should wait at least 5 minutes for the next command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5 * 60);

async fn serve(
    mut stream: Box<dyn Connection>,
    mut session: LmtpSession,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut out = Vec::new();
    session.greeting(&mut out);
    stream.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        let read = tokio::select! {
            read = timeout(COMMAND_TIMEOUT, stream.read_buf(&mut buf)) => read,
            _ = stopped.changed() => {
                stream.write_all(b"421 4.3.2 Service shutting down\r\n").await?;
                return Ok(());
            }
        };
        match read {
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => {
                stream
                    .write_all(b"421 4.4.2 Timeout, closing connection\r\n")
                    .await?;
                return Ok(());
            }
        }
        out.clear();
        let control = session.process(&mut buf, &mut out).await;
        stream.write_all(&out).await?;
        stream.flush().await?;
        if control == Control::Close {
            return Ok(());
        }
    }
}

/// A socket file left by a previous run is removed; anything else at that path is an error.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(metadata) = std::fs::symlink_metadata(path) {
            if !metadata.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "path exists and is not a socket",
                ));
            }
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(
            "unix:/run/x".parse(),
            Ok(LmtpAddress::Unix("/run/x".into()))
        );
        assert_eq!("/run/x".parse(), Ok(LmtpAddress::Unix("/run/x".into())));
        assert_eq!(
            "127.0.0.1:24"
                .parse::<LmtpAddress>()
                .map(|a| matches!(a, LmtpAddress::Tcp(_))),
            Ok(true)
        );
        assert!("nonsense".parse::<LmtpAddress>().is_err());
    }
}
