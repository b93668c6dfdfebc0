//! Listeners, the accept loops, admission, connection accounting and graceful shutdown.
//!
//! Admission, in order, as soon as a connection is accepted (before any TLS), in the
//! connection's own task so that one slow proxy never holds up the accept loop:
//!
//! ```text
//! accept (TCP peer)
//!   │ listener with proxy_protocol:
//!   │   peer not a trusted proxy ──────────► plaintext "* BYE", close  (reason=untrusted_proxy)
//!   │   PROXY v1/v2 header (≤ 5 s, ≤ 1 KiB)
//!   │     missing or invalid ──────────────► plaintext "* BYE", close  (reason=proxy_header)
//!   │     PROXY: client = its source address;  LOCAL/UNKNOWN: client = the peer
//!   ▼ client address (what every step below, the session and the audit log see)
//!   listener deny list, then allow list ──► plaintext "* BYE", close  (reason=denied|not_allowed)
//!   guard.admit(client) ── banned ────────► plaintext "* BYE [UNAVAILABLE]", close (no TLS)
//!   │                   └─ over a cap ────► BYE [LIMIT] (after TLS), close
//!   ▼ ConnectionTicket
//!   connection slot (max_connections) ── none free ──► BYE [LIMIT], close
//!   ▼
//!   TLS (imaps) ──► connection::run (ConnectionInfo: client, tls, plaintext auth allowed
//!                   by the listener's plaintext_auth_networks)
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
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::config::{ConnectionLimits, ExposureRules, NetConfig, NetworkRefusal};
use crate::connection;
use crate::lmtp::{LmtpListener, LmtpService};
use crate::proxy::{self, ProxiedAddress, ProxyError};
use crate::stats::NetStats;
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

/// A bound IMAP listener.
#[derive(Debug)]
struct Bound {
    kind: ListenerKind,
    listener: TcpListener,
    rules: Arc<ExposureRules>,
}

/// A bound server, ready to run.
pub struct Server {
    listeners: Vec<Bound>,
    lmtp: Vec<LmtpListener>,
    lmtp_service: Option<LmtpService>,
    acceptor: TlsAcceptor,
    ctx: Arc<ServerContext>,
    limits: Arc<ConnectionLimits>,
    stats: Arc<NetStats>,
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
        for listen in &config.listeners {
            let listener = TcpListener::bind(listen.address)
                .await
                .map_err(|source| BindError {
                    address: listen.address.to_string(),
                    kind: listen.kind.as_str(),
                    source,
                })?;
            listeners.push(Bound {
                kind: listen.kind,
                listener,
                rules: listen.rules.clone(),
            });
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
            stats: Arc::new(NetStats::default()),
        })
    }

    /// The bound addresses (with the ports the system chose for port 0), in the order of
    /// [`NetConfig::listeners`].
    pub fn local_addrs(&self) -> Vec<(ListenerKind, SocketAddr)> {
        self.listeners
            .iter()
            .filter_map(|bound| bound.listener.local_addr().ok().map(|a| (bound.kind, a)))
            .collect()
    }

    /// The live connection counts (for metrics).
    pub fn stats(&self) -> Arc<NetStats> {
        self.stats.clone()
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
        for bound in self.listeners {
            let accept = AcceptLoop {
                listener: bound.listener,
                ids: ids.clone(),
                stopped: stopped.clone(),
                shared: Arc::new(Listening {
                    kind: bound.kind,
                    rules: bound.rules,
                    acceptor: self.acceptor.clone(),
                    ctx: self.ctx.clone(),
                    limits: self.limits.clone(),
                    slots: slots.clone(),
                    stats: self.stats.clone(),
                    stopped: stopped.clone(),
                }),
            };
            loops.push(tokio::spawn(accept.run()));
        }
        if let Some(service) = self.lmtp_service {
            for listener in self.lmtp {
                loops.push(tokio::spawn(listener.run(
                    service.clone(),
                    stopped.clone(),
                    self.stats.clone(),
                )));
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
    listener: TcpListener,
    ids: Arc<AtomicU64>,
    stopped: watch::Receiver<bool>,
    shared: Arc<Listening>,
}

/// What every connection of one listener shares.
struct Listening {
    kind: ListenerKind,
    rules: Arc<ExposureRules>,
    acceptor: TlsAcceptor,
    ctx: Arc<ServerContext>,
    limits: Arc<ConnectionLimits>,
    slots: Arc<Semaphore>,
    stats: Arc<NetStats>,
    stopped: watch::Receiver<bool>,
}

/// A connection that passed admission.
struct Admitted {
    /// The client's address: the TCP peer, or what a trusted proxy's header said.
    client: SocketAddr,
    ticket: ConnectionTicket,
}

/// Why admission refused a connection.
enum Refused {
    /// A PROXY protocol listener, and the peer is not one of its trusted proxies.
    UntrustedProxy,
    /// A trusted proxy sent no valid header.
    ProxyHeader(ProxyError),
    /// The listener's allow or deny list.
    Network {
        client: SocketAddr,
        proxy: Option<IpAddr>,
        why: NetworkRefusal,
    },
    /// The guard (ban or cap by address).
    Guard { client: SocketAddr, why: Refusal },
}

/// What a client refused by a listener's rules is told.
const NOT_ACCEPTED_TEXT: &str = "Connections from your address are not accepted here";

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
            let span = tracing::info_span!("conn", id, %peer, listener = self.shared.kind.as_str(), client = tracing::field::Empty);
            tokio::spawn(self.shared.clone().handle(tcp, peer).instrument(span));
        }
    }
}

impl Listening {
    /// Admission, then the session.
    async fn handle(self: Arc<Self>, mut tcp: TcpStream, peer: SocketAddr) {
        let admitted = match self.admit(&mut tcp, peer).await {
            Ok(admitted) => admitted,
            Err(refused) => return self.refuse(tcp, peer, refused).await,
        };
        let Admitted { client, ticket } = admitted;
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            let max = u64::try_from(self.limits.max_connections).unwrap_or(u64::MAX);
            limit_hit("max_connections", max, client);
            drop(ticket);
            return refuse(
                self.kind,
                tcp,
                &self.acceptor,
                &self.limits,
                "Too many connections, try again later",
            )
            .await;
        };
        let _open = self.stats.imap_open();
        let info = ConnectionInfo {
            peer: client,
            tls: self.kind == ListenerKind::Imaps,
            plaintext_auth_allowed: self.kind == ListenerKind::Imap
                && self.rules.plaintext_auth_allowed(client.ip()),
        };
        serve(tcp, info, ticket, &self).await;
        drop(slot);
    }

    /// The one place a new connection's client address is learnt and judged: the PROXY
    /// header of a trusted proxy, the listener's deny and allow lists, then the guard.
    async fn admit(&self, tcp: &mut TcpStream, peer: SocketAddr) -> Result<Admitted, Refused> {
        let mut client = peer;
        let mut proxy = None;
        if self.rules.proxy_protocol {
            if !self.rules.is_trusted_proxy(peer.ip()) {
                return Err(Refused::UntrustedProxy);
            }
            match proxy::read_header(tcp).await {
                Ok(ProxiedAddress::Client(address)) => {
                    client = address;
                    proxy = Some(peer.ip());
                    tracing::Span::current().record("client", tracing::field::display(client));
                }
                Ok(ProxiedAddress::Local) => {}
                Err(error) => return Err(Refused::ProxyHeader(error)),
            }
        }
        self.rules
            .admit(client.ip())
            .map_err(|why| Refused::Network { client, proxy, why })?;
        let ticket = self
            .ctx
            .guard
            .admit(client.ip())
            .map_err(|why| Refused::Guard { client, why })?;
        Ok(Admitted { client, ticket })
    }

    /// Audits a refusal and tells the client: in plaintext before any TLS, except for a
    /// cap, which is said after TLS so that the client can show it.
    async fn refuse(&self, tcp: TcpStream, peer: SocketAddr, refused: Refused) {
        let (ip, port) = (peer.ip(), peer.port());
        match refused {
            Refused::UntrustedProxy => {
                tracing::info!(target: "audit", event = "refused", reason = "untrusted_proxy", %ip, port, "connection to a PROXY protocol listener from an address that is not a trusted proxy");
                refuse_plain(tcp, Some(Code::Unavailable), NOT_ACCEPTED_TEXT).await;
            }
            Refused::ProxyHeader(error) => {
                tracing::info!(target: "audit", event = "refused", reason = "proxy_header", %ip, port, header = error.reason(), "{error}");
                refuse_plain(tcp, None, "Invalid PROXY protocol header").await;
            }
            Refused::Network { client, proxy, why } => {
                let (ip, port, reason) = (client.ip(), client.port(), why.reason());
                match proxy {
                    Some(proxy) => {
                        tracing::info!(target: "audit", event = "refused", reason, %ip, port, %proxy, "connection refused by the listener's network rules")
                    }
                    None => {
                        tracing::info!(target: "audit", event = "refused", reason, %ip, port, "connection refused by the listener's network rules")
                    }
                }
                refuse_plain(tcp, Some(Code::Unavailable), NOT_ACCEPTED_TEXT).await;
            }
            Refused::Guard {
                client,
                why: Refusal::Banned(ban),
            } => {
                let (ip, port) = (client.ip(), client.port());
                tracing::info!(target: "audit", event = "refused", reason = "banned", %ip, port, scope = ban.key.scope(), target = %ban.key.subject(), "connection from a banned address");
                refuse_plain(tcp, Some(Code::Unavailable), BANNED_TEXT).await;
            }
            Refused::Guard {
                client,
                why: Refusal::Limit(hit),
            } => {
                limit_hit(hit.setting(), u64::from(hit.value()), client);
                let text = match hit {
                    LimitHit::PreAuthPerIp(_) => {
                        "Too many connections from your address still logging in"
                    }
                    _ => "Too many connections from your address",
                };
                refuse(self.kind, tcp, &self.acceptor, &self.limits, text).await;
            }
        }
    }
}

/// One audit line for a connection refused by a cap.
fn limit_hit(setting: &'static str, value: u64, client: SocketAddr) {
    tracing::info!(target: "audit", event = "limit", limit = setting, value, ip = %client.ip(), port = client.port(), "connection refused");
}

/// A banned or refused address gets one plaintext line, before any TLS, and the
/// connection closes: on the implicit-TLS port too (the client's TLS stack fails on it,
/// which is the point: no handshake is paid for an address that is not served).
async fn refuse_plain(mut tcp: TcpStream, code: Option<Code>, text: &'static str) {
    let mut line = Vec::new();
    StatusResponse::untagged(Status::Bye, code, text).write(&mut line);
    let _ = timeout(Duration::from_secs(5), async {
        tcp.write_all(&line).await?;
        tcp.shutdown().await
    })
    .await;
}

/// Runs the session of an admitted connection.
async fn serve(
    tcp: TcpStream,
    info: ConnectionInfo,
    mut ticket: ConnectionTicket,
    listening: &Listening,
) {
    tracing::debug!("connected");
    // Boxed, as the handshake's state (a whole TLS connection) is needed only until it ends.
    let Some(stream) = Box::pin(establish(
        listening.kind,
        tcp,
        &listening.acceptor,
        &listening.limits,
    ))
    .await
    else {
        return;
    };
    let session = Session::new(listening.ctx.clone(), info);
    match connection::run(
        stream,
        session,
        listening.acceptor.clone(),
        &listening.limits,
        &mut ticket,
        info.peer,
        listening.stopped.clone(),
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
    acceptor: &TlsAcceptor,
    limits: &ConnectionLimits,
    text: &'static str,
) {
    let Some(mut stream) = establish(kind, tcp, acceptor, limits).await else {
        return;
    };
    let mut line = Vec::new();
    StatusResponse::untagged(Status::Bye, Some(Code::Limit), text).write(&mut line);
    let _ = stream.write_all(&line).await;
    let _ = stream.shutdown().await;
}
