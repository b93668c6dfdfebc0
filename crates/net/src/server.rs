//! Listeners, the accept loops, admission, connection accounting and graceful shutdown.
//!
//! Admission, in order, as soon as a connection is accepted (before any TLS):
//!
//! ```text
//! accept ──► client address (the TCP peer; later: per-listener allow/deny lists and a
//!            │                PROXY header from a trusted proxy slot in here)
//!            ▼
//!            guard.admit(ip) ── banned ──► plaintext "* BYE [UNAVAILABLE]", close (no TLS)
//!            │               └─ over a cap by address ──► BYE [LIMIT] (after TLS), close
//!            ▼ ConnectionTicket
//!            connection slot (max_connections) ── none free ──► BYE [LIMIT], close
//!            ▼
//!            TLS (imaps) ──► connection::run
//! ```
//!
//! The guard's upkeep runs beside the accept loops: once a second it reports the bans that
//! ended and writes the changed throttle state to the store in one batch; at start it
//! restores the stored state, at shutdown it writes it a last time.
//!
//! Shutdown: the signal flips a watch; accept loops stop, every connection finishes the
//! command it is running, says `* BYE`, and closes. The server waits for them up to the
//! grace period.

use portcullis_auth::{BANNED_TEXT, ConnectionTicket, LimitHit, Refusal};
use portcullis_proto::encode::{Code, Status, StatusResponse};
use portcullis_session::{ConnectionInfo, ServerContext, Session};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::config::{ConnectionLimits, NetConfig};
use crate::connection;
use crate::lmtp::{LmtpListener, LmtpService};
use crate::stream::Stream;
use crate::tls::TlsSetup;

/// The kind of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Implicit TLS.
    Imaps,
    /// Plaintext with STARTTLS.
    Imap,
}

impl ListenerKind {
    /// `imaps` or `imap`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerKind::Imaps => "imaps",
            ListenerKind::Imap => "imap",
        }
    }
}

/// A bound server, ready to run.
pub struct Server {
    listeners: Vec<(ListenerKind, TcpListener)>,
    lmtp: Vec<LmtpListener>,
    lmtp_service: Option<LmtpService>,
    acceptor: TlsAcceptor,
    ctx: Arc<ServerContext>,
    limits: Arc<ConnectionLimits>,
}

/// A listener address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address} ({kind}): {source}")]
pub struct BindError {
    /// The address.
    pub address: String,
    /// imap or imaps.
    pub kind: &'static str,
    /// Why.
    pub source: io::Error,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listeners", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds every configured listener; LMTP listeners only when a service is given.
    pub async fn bind(
        config: &NetConfig,
        tls: &TlsSetup,
        ctx: Arc<ServerContext>,
        lmtp_service: Option<LmtpService>,
    ) -> Result<Server, BindError> {
        let mut listeners = Vec::new();
        let addresses = config
            .imaps
            .iter()
            .map(|a| (ListenerKind::Imaps, *a))
            .chain(config.imap.iter().map(|a| (ListenerKind::Imap, *a)));
        for (kind, address) in addresses {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|source| BindError {
                    address: address.to_string(),
                    kind: kind.as_str(),
                    source,
                })?;
            listeners.push((kind, listener));
        }
        let mut lmtp = Vec::new();
        if let Some(service) = &lmtp_service {
            for address in &config.lmtp {
                let listener = LmtpListener::bind(address, service.unix_mode)
                    .await
                    .map_err(|source| BindError {
                        address: format!("{address:?}"),
                        kind: "lmtp",
                        source,
                    })?;
                lmtp.push(listener);
            }
        }
        Ok(Server {
            listeners,
            lmtp,
            lmtp_service,
            acceptor: TlsAcceptor::from(tls.config.clone()),
            ctx,
            limits: Arc::new(config.limits.clone()),
        })
    }

    /// The bound addresses (with the ports the system chose for port 0).
    pub fn local_addrs(&self) -> Vec<(ListenerKind, SocketAddr)> {
        self.listeners
            .iter()
            .filter_map(|(kind, listener)| listener.local_addr().ok().map(|a| (*kind, a)))
            .collect()
    }

    /// The LMTP listeners' addresses (`host:port` or `unix:/path`).
    pub fn lmtp_addrs(&self) -> Vec<String> {
        self.lmtp.iter().map(LmtpListener::describe).collect()
    }

    /// Serves until `shutdown` completes, then closes every connection gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        restore_guard(&self.ctx).await;
        let upkeep = tokio::spawn(guard_upkeep(self.ctx.clone()));
        let (stop, stopped) = watch::channel(false);
        let slots = Arc::new(Semaphore::new(self.limits.max_connections));
        let ids = Arc::new(AtomicU64::new(1));
        let mut loops = Vec::new();
        for (kind, listener) in self.listeners {
            let accept = AcceptLoop {
                kind,
                listener,
                acceptor: self.acceptor.clone(),
                ctx: self.ctx.clone(),
                limits: self.limits.clone(),
                slots: slots.clone(),
                ids: ids.clone(),
                stopped: stopped.clone(),
            };
            loops.push(tokio::spawn(accept.run()));
        }
        if let Some(service) = self.lmtp_service {
            for listener in self.lmtp {
                loops.push(tokio::spawn(listener.run(service.clone(), stopped.clone())));
            }
        }
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
        for accept in loops {
            let _ = accept.await;
        }
        // Every connection holds a slot: all slots back means all connections closed.
        let capacity = u32::try_from(self.limits.max_connections).unwrap_or(u32::MAX);
        if timeout(self.limits.shutdown_grace, slots.acquire_many(capacity))
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the grace period");
        }
        upkeep.abort();
        if let Err(error) = self.ctx.guard.persist(self.ctx.store.as_ref()).await {
            tracing::error!(%error, "cannot store the login throttle's state");
        }
    }
}

/// How often bans are checked for their end and the throttle's state is written.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Takes back the throttle's state (running bans, failure counts) from the store.
async fn restore_guard(ctx: &ServerContext) {
    match ctx.guard.restore(ctx.store.as_ref()).await {
        Ok(bans) => {
            for ban in bans {
                tracing::info!(target: "audit", event = "ban", scope = ban.key.scope(), target = %ban.key.subject(), duration_secs = ban.duration.as_secs(), repeat = ban.repeat, "ban still running after restart");
            }
        }
        Err(error) => tracing::error!(%error, "cannot load the login throttle's state"),
    }
}

/// Once a second: log the bans that ended, write what changed.
async fn guard_upkeep(ctx: Arc<ServerContext>) {
    let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for key in ctx.guard.expire() {
            tracing::info!(target: "audit", event = "unban", scope = key.scope(), target = %key.subject(), "ban ended");
        }
        if let Err(error) = ctx.guard.persist(ctx.store.as_ref()).await {
            tracing::warn!(%error, "cannot store the login throttle's state; retrying");
        }
    }
}

/// One listener's accept loop.
struct AcceptLoop {
    kind: ListenerKind,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ctx: Arc<ServerContext>,
    limits: Arc<ConnectionLimits>,
    slots: Arc<Semaphore>,
    ids: Arc<AtomicU64>,
    stopped: watch::Receiver<bool>,
}

impl AcceptLoop {
    async fn run(mut self) {
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = self.stopped.changed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let id = self.ids.fetch_add(1, Ordering::Relaxed);
            let span = tracing::info_span!("conn", id, %peer, listener = self.kind.as_str());
            let ticket = match self.admit(peer) {
                Ok(ticket) => ticket,
                Err(Refusal::Banned(ban)) => {
                    tracing::info!(target: "audit", event = "refused", reason = "banned", ip = %peer.ip(), port = peer.port(), scope = ban.key.scope(), target = %ban.key.subject(), "connection from a banned address");
                    tokio::spawn(refuse_banned(tcp).instrument(span));
                    continue;
                }
                Err(Refusal::Limit(hit)) => {
                    limit_hit(hit.setting(), u64::from(hit.value()), peer);
                    let text = match hit {
                        LimitHit::PreAuthPerIp(_) => {
                            "Too many connections from your address still logging in"
                        }
                        _ => "Too many connections from your address",
                    };
                    tokio::spawn(
                        refuse(
                            self.kind,
                            tcp,
                            self.acceptor.clone(),
                            self.limits.clone(),
                            text,
                        )
                        .instrument(span),
                    );
                    continue;
                }
            };
            match self.slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    let task = serve(
                        self.kind,
                        tcp,
                        peer,
                        ticket,
                        self.acceptor.clone(),
                        self.ctx.clone(),
                        self.limits.clone(),
                        self.stopped.clone(),
                    );
                    tokio::spawn(
                        async move {
                            task.await;
                            drop(slot);
                        }
                        .instrument(span),
                    );
                }
                Err(_) => {
                    let max = u64::try_from(self.limits.max_connections).unwrap_or(u64::MAX);
                    limit_hit("max_connections", max, peer);
                    drop(ticket);
                    tokio::spawn(
                        refuse(
                            self.kind,
                            tcp,
                            self.acceptor.clone(),
                            self.limits.clone(),
                            "Too many connections, try again later",
                        )
                        .instrument(span),
                    );
                }
            }
        }
    }

    /// The one place a new connection's client address is judged. Today the address is
    /// the TCP peer; a per-listener network check and a PROXY header from a trusted proxy
    /// (which replaces the address) belong here, before the guard.
    fn admit(&self, client: SocketAddr) -> Result<ConnectionTicket, Refusal> {
        self.ctx.guard.admit(client.ip())
    }
}

/// One audit line for a connection refused by a cap.
fn limit_hit(setting: &'static str, value: u64, peer: SocketAddr) {
    tracing::info!(target: "audit", event = "limit", limit = setting, value, ip = %peer.ip(), port = peer.port(), "connection refused");
}

/// A banned address gets one plaintext line, before any TLS, and the connection closes:
/// on the implicit-TLS port too (the client's TLS stack fails on it, which is the point:
/// no handshake is paid for a banned address).
async fn refuse_banned(mut tcp: TcpStream) {
    let mut line = Vec::new();
    StatusResponse::untagged(Status::Bye, Some(Code::Unavailable), BANNED_TEXT).write(&mut line);
    let _ = timeout(Duration::from_secs(5), async {
        tcp.write_all(&line).await?;
        tcp.shutdown().await
    })
    .await;
}

#[allow(clippy::too_many_arguments)] // one call site, each argument a different thing
async fn serve(
    kind: ListenerKind,
    tcp: TcpStream,
    peer: SocketAddr,
    mut ticket: ConnectionTicket,
    acceptor: TlsAcceptor,
    ctx: Arc<ServerContext>,
    limits: Arc<ConnectionLimits>,
    stopped: watch::Receiver<bool>,
) {
    tracing::debug!("connected");
    let Some(stream) = establish(kind, tcp, &acceptor, &limits).await else {
        return;
    };
    let info = ConnectionInfo {
        peer,
        tls: stream.is_tls(),
    };
    let session = Session::new(ctx, info);
    match connection::run(
        stream,
        session,
        acceptor,
        &limits,
        &mut ticket,
        peer,
        stopped,
    )
    .await
    {
        Ok(()) => tracing::debug!("closed"),
        Err(error) => tracing::debug!(%error, "connection ended"),
    }
}

/// TLS handshake for implicit-TLS listeners, bounded by the pre-authentication timeout.
async fn establish(
    kind: ListenerKind,
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    limits: &ConnectionLimits,
) -> Option<Stream> {
    match kind {
        ListenerKind::Imap => Some(Stream::Plain(tcp)),
        ListenerKind::Imaps => match timeout(limits.pre_auth_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => Some(Stream::Tls(Box::new(tls))),
            Ok(Err(error)) => {
                tracing::debug!(%error, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                None
            }
        },
    }
}

/// Over a connection cap: say so (after TLS, so that the client can show it) and close
/// (`[LIMIT]`, never an authentication code).
async fn refuse(
    kind: ListenerKind,
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    limits: Arc<ConnectionLimits>,
    text: &'static str,
) {
    let Some(mut stream) = establish(kind, tcp, &acceptor, &limits).await else {
        return;
    };
    let mut line = Vec::new();
    StatusResponse::untagged(Status::Bye, Some(Code::Limit), text).write(&mut line);
    let _ = stream.write_all(&line).await;
    let _ = stream.shutdown().await;
}
