//! One client connection: reads bytes, frames them, feeds the session, writes its output,
//! and runs the timers (pre-authentication and inactivity timeouts, IDLE heartbeat).
//!
//! The session decides what to read next ([`Next`]); this loop only moves bytes. Everything
//! already buffered is handled before reading more, so pipelined commands (iOS Mail sends
//! IDLE right behind other commands) are answered in order, and output is flushed once per
//! batch. Reads take at most [`READ_CHUNK`] bytes, and a batch of more than
//! `max_pipelined_commands` commands ends the connection with `* BYE [LIMIT]`.
//!
//! The connection's [`ConnectionTicket`] counts it against the guard's caps by address; it
//! stops counting as pre-authentication once the session has logged in.

use bytes::{BufMut, Bytes, BytesMut};
use portcullis_auth::ConnectionTicket;
use portcullis_proto::encode::{Code, Status, StatusResponse};
use portcullis_proto::framing::{Frame, Framer};
use portcullis_session::{Next, Output, Session, StateKind};
use portcullis_store::ChangeWatch;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_rustls::TlsAcceptor;

use crate::config::{ConnectionLimits, READ_CHUNK};
use crate::stream::Stream;

/// Free room made in the read buffer before each read outside IDLE.
const READ_RESERVE: usize = 4096;

/// What ended a wait for input.
enum Event {
    Input(io::Result<usize>),
    MailboxChanged,
    Heartbeat,
    Shutdown,
    Timeout,
}

/// Runs a session on an established stream until it ends.
pub(crate) async fn run(
    mut stream: Stream,
    mut session: Session,
    acceptor: TlsAcceptor,
    limits: &ConnectionLimits,
    ticket: &mut ConnectionTicket,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut framer = Framer::new(limits.frame);
    let mut buf = BytesMut::new();
    let mut next = Next::Command;
    {
        let mut out = Output::new(&mut stream);
        session.greeting(&mut out);
        out.flush().await?;
    }
    let started = Instant::now();
    let mut last_input = started;
    let mut last_heartbeat = Instant::now();
    loop {
        // Boxed: the future of a command is large and lives only while commands are
        // handled; inline, every connection's task would reserve room for it all its life.
        next = Box::pin(handle_buffered(
            &mut stream,
            &mut session,
            &mut framer,
            &mut buf,
            next,
            (limits, peer, ticket),
        ))
        .await?;
        match next {
            Next::Close => {
                let _ = stream.shutdown().await;
                return Ok(());
            }
            Next::StartTls => {
                // RFC 9051 6.2.1 / RFC 2595 3.1: nothing sent before the handshake may be
                // acted on after it (plaintext command injection).
                buf.clear();
                stream = Box::pin(upgrade(stream, &acceptor, limits.pre_auth_timeout)).await?;
                session.tls_established();
                next = Next::Command;
                continue;
            }
            Next::Command | Next::Line | Next::Idle => {}
        }
        if next == Next::Idle && last_heartbeat < last_input {
            last_heartbeat = last_input;
        }
        // Before authentication the deadline counts from the connection's start, so trickling
        // bytes cannot hold an anonymous connection open; afterwards, from the last input.
        let deadline = match session.state() {
            StateKind::NotAuthenticated => started + limits.pre_auth_timeout,
            _ => last_input + limits.idle_timeout,
        };
        let mut watch = if next == Next::Idle {
            session.change_watch().cloned()
        } else {
            None
        };
        if next == Next::Idle && buf.is_empty() {
            // An IDLE connection may wait for hours: it holds no read buffer meanwhile
            // (`DONE` fits in the few bytes `read_buf` reserves by itself).
            buf = BytesMut::new();
        } else {
            buf.reserve(READ_RESERVE);
        }
        let mut chunk = (&mut buf).limit(READ_CHUNK);
        let event = tokio::select! {
            read = stream.read_buf(&mut chunk) => Event::Input(read),
            () = changed(&mut watch), if next == Next::Idle => Event::MailboxChanged,
            () = sleep_until(last_heartbeat + limits.idle_heartbeat), if next == Next::Idle => Event::Heartbeat,
            _ = shutdown.changed() => Event::Shutdown,
            () = sleep_until(deadline) => Event::Timeout,
        };
        match event {
            Event::Input(Ok(0)) => return Ok(()),
            Event::Input(Ok(_)) => last_input = Instant::now(),
            Event::Input(Err(error)) => return Err(error),
            Event::MailboxChanged => {
                let mut out = Output::new(&mut stream);
                Box::pin(session.idle_wakeup(&mut out)).await?;
                out.flush().await?;
                if session.state() == StateKind::Logout {
                    // The session said BYE (its mailbox was deleted): RFC 9051 7.1.5, "the
                    // server is about to close the connection".
                    let _ = stream.shutdown().await;
                    return Ok(());
                }
            }
            Event::Heartbeat => {
                last_heartbeat = Instant::now();
                let mut out = Output::new(&mut stream);
                out.status(&StatusResponse::untagged(Status::Ok, None, "Still here"));
                out.flush().await?;
            }
            Event::Shutdown => {
                let mut out = Output::new(&mut stream);
                session.shutdown(&mut out);
                out.flush().await?;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            Event::Timeout => {
                let mut out = Output::new(&mut stream);
                let text = match session.state() {
                    StateKind::NotAuthenticated => "Timed out waiting for authentication",
                    _ => "Autologout: idle for too long",
                };
                out.status(&StatusResponse::untagged(
                    Status::Bye,
                    Some(Code::Unavailable),
                    text,
                ));
                out.flush().await?;
                let _ = stream.shutdown().await;
                return Ok(());
            }
        }
    }
}

/// Handles every complete frame or line in `buf`; returns what to read next.
async fn handle_buffered(
    stream: &mut Stream,
    session: &mut Session,
    framer: &mut Framer,
    buf: &mut BytesMut,
    mut next: Next,
    (limits, peer, ticket): (&ConnectionLimits, SocketAddr, &mut ConnectionTicket),
) -> io::Result<Next> {
    let tls = stream.is_tls();
    let mut out = Output::new(stream);
    let mut commands = 0_usize;
    loop {
        next = match next {
            Next::Command => match framer.next_frame(buf) {
                Some(Frame::Command(_)) if commands >= limits.max_pipelined_commands => {
                    tracing::info!(target: "audit", event = "limit", limit = "max_pipelined_commands", value = limits.max_pipelined_commands, ip = %peer.ip(), port = peer.port(), user = session.account_name().unwrap_or(""), "too many pipelined commands");
                    out.status(&StatusResponse::untagged(
                        Status::Bye,
                        Some(Code::Limit),
                        "Too many pipelined commands",
                    ));
                    Next::Close
                }
                Some(Frame::Command(frame)) => {
                    commands += 1;
                    session.handle_frame(frame, &mut out).await?
                }
                Some(Frame::ContinueLiteral) => {
                    // The client waits for this before sending the literal.
                    out.continuation("Ready for literal data");
                    out.flush().await?;
                    Next::Command
                }
                Some(Frame::Rejected(rejection)) => session.handle_rejection(&rejection, &mut out),
                None => break,
            },
            Next::Line | Next::Idle => match framer.next_line(buf) {
                Some(Ok(line)) => session.handle_line(line, &mut out).await?,
                // An over-long line is no valid answer; the session says BAD to it.
                Some(Err(_)) => {
                    session
                        .handle_line(Bytes::from_static(b"\0"), &mut out)
                        .await?
                }
                None => break,
            },
            Next::StartTls | Next::Close => break,
        };
        // Before the login's OK can reach the client: from now on the connection no longer
        // counts as one still logging in.
        if ticket.is_preauth() && session.account_name().is_some() {
            ticket.authenticated();
            if !tls {
                // Only a client in the listener's plaintext_auth_networks gets here (or any
                // client of a server with SessionConfig::allow_plaintext_auth, in tests).
                tracing::info!(target: "audit", event = "plaintext_auth", ip = %peer.ip(), port = peer.port(), user = session.account_name().unwrap_or(""), "logged in without TLS (plaintext_auth_networks)");
            }
        }
        out.flush_if_full().await?;
    }
    out.flush().await?;
    Ok(next)
}

async fn changed(watch: &mut Option<ChangeWatch>) {
    match watch {
        Some(watch) => {
            if watch.changed().await.is_err() {
                // The store dropped the channel (mailbox deleted): report once, then wait.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Performs the TLS handshake on a plain stream after STARTTLS.
async fn upgrade(stream: Stream, acceptor: &TlsAcceptor, limit: Duration) -> io::Result<Stream> {
    let Stream::Plain(tcp) = stream else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "STARTTLS on a TLS stream",
        ));
    };
    match timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}
