//! The network edge with a real rustls client: TLS and ALPN, STARTTLS, limits, timers and
//! shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_auth::{
    ConnectionCaps, Guard, GuardConfig, PasswordVerifier, Secret, SystemClock, hash_password,
};
use portcullis_net::{ConnectionLimits, NetConfig, Server, TlsSetup, TlsSource, load_tls};
use portcullis_session::{ServerContext, SessionConfig};
use portcullis_store::{AccountName, Store};
use portcullis_store_sqlite::SqliteStore;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

const STEP: Duration = Duration::from_secs(10);

struct Running {
    imaps: SocketAddr,
    imap: SocketAddr,
    tls: TlsSetup,
    ctx: Arc<ServerContext>,
    store: Arc<SqliteStore>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start(limits: ConnectionLimits) -> Running {
    start_with(limits, GuardConfig::default(), tempfile::tempdir().unwrap()).await
}

/// A server with its own guard settings, on the store in `dir` (a second server on the
/// same directory is a restart).
async fn start_with(
    limits: ConnectionLimits,
    guard: GuardConfig,
    dir: tempfile::TempDir,
) -> Running {
    let store = Arc::new(SqliteStore::open(&dir.path().join("data")).unwrap());
    let hash = hash_password(&Secret::new("secret".to_owned())).unwrap();
    let alice = AccountName::new("alice").unwrap();
    if store.account(&alice).await.unwrap().is_none() {
        store.create_account(&alice, &hash).await.unwrap();
    }
    let ctx = Arc::new(ServerContext {
        guard: Arc::new(Guard::new(guard, Arc::new(SystemClock))),
        ..ServerContext::new(
            store.clone() as Arc<dyn Store>,
            PasswordVerifier::new().unwrap(),
            SessionConfig::default(),
        )
    });
    let config = NetConfig {
        imaps: vec!["127.0.0.1:0".parse().unwrap()],
        imap: vec!["127.0.0.1:0".parse().unwrap()],
        lmtp: Vec::new(),
        tls: TlsSource::SelfSigned {
            dir: dir.path().join("tls"),
        },
        limits,
    };
    let tls = load_tls(&config.tls).unwrap();
    let server = Server::bind(&config, &tls, ctx.clone(), None)
        .await
        .unwrap();
    let addrs = server.local_addrs();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running {
        imaps: addrs[0].1,
        imap: addrs[1].1,
        tls,
        ctx,
        store,
        stop: Some(stop),
        done,
        _dir: dir,
    }
}

fn connector(running: &Running) -> TlsConnector {
    let cert = std::fs::read(running._dir.path().join("tls/cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&cert) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"imap".to_vec()];
    TlsConnector::from(Arc::new(config))
}

async fn line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> String {
    let mut line = String::new();
    timeout(STEP, reader.read_line(&mut line))
        .await
        .expect("server answered in time")
        .unwrap();
    line
}

async fn send<W: AsyncWrite + Unpin>(writer: &mut W, text: &str) {
    writer.write_all(text.as_bytes()).await.unwrap();
    writer.flush().await.unwrap();
}

#[tokio::test]
async fn implicit_tls_negotiates_alpn_imap_and_offers_auth() {
    let running = start(ConnectionLimits::default()).await;
    let tcp = TcpStream::connect(running.imaps).await.unwrap();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"imap"[..]));
    let mut reader = BufReader::new(tls);
    let greeting = line(&mut reader).await;
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2"),
        "{greeting}"
    );
    assert!(
        greeting.contains("AUTH=PLAIN") && !greeting.contains("STARTTLS"),
        "{greeting}"
    );
    send(reader.get_mut(), "a LOGIN alice secret\r\n").await;
    assert!(line(&mut reader).await.starts_with("a OK [CAPABILITY"));
    assert_eq!(running.tls.fingerprint.len(), 95);
}

#[tokio::test]
async fn starttls_discards_pipelined_plaintext_and_then_allows_login() {
    let running = start(ConnectionLimits::default()).await;
    let tcp = TcpStream::connect(running.imap).await.unwrap();
    let mut reader = BufReader::new(tcp);
    let greeting = line(&mut reader).await;
    assert!(greeting.contains("STARTTLS LOGINDISABLED]"), "{greeting}");
    assert!(!greeting.contains("AUTH="), "{greeting}");
    send(reader.get_mut(), "a LOGIN alice secret\r\n").await;
    assert!(
        line(&mut reader)
            .await
            .starts_with("a NO [PRIVACYREQUIRED]")
    );
    // An attacker in the middle appends a command to the client's STARTTLS.
    send(
        reader.get_mut(),
        "b STARTTLS\r\nevil LOGIN alice secret\r\n",
    )
    .await;
    assert_eq!(
        line(&mut reader).await,
        "b OK Begin TLS negotiation now\r\n"
    );
    let tcp = reader.into_inner();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    send(reader.get_mut(), "c NOOP\r\n").await;
    assert_eq!(
        line(&mut reader).await,
        "c OK completed\r\n",
        "the injected LOGIN was not run"
    );
    send(reader.get_mut(), "d LOGIN alice secret\r\n").await;
    assert!(line(&mut reader).await.starts_with("d OK [CAPABILITY"));
}

#[tokio::test]
async fn connections_over_the_limit_get_bye_limit() {
    let limits = ConnectionLimits {
        max_connections: 1,
        ..ConnectionLimits::default()
    };
    let running = start(limits).await;
    let first = TcpStream::connect(running.imap).await.unwrap();
    let mut first = BufReader::new(first);
    assert!(line(&mut first).await.starts_with("* OK"));
    let second = TcpStream::connect(running.imap).await.unwrap();
    let mut second = BufReader::new(second);
    assert_eq!(
        line(&mut second).await,
        "* BYE [LIMIT] Too many connections, try again later\r\n"
    );
}

#[tokio::test]
async fn shutdown_says_bye_to_every_connection() {
    let mut running = start(ConnectionLimits::default()).await;
    let tcp = TcpStream::connect(running.imaps).await.unwrap();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    line(&mut reader).await;
    send(
        reader.get_mut(),
        "a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n",
    )
    .await;
    loop {
        if line(&mut reader).await.starts_with("+ idling") {
            break;
        }
    }
    running.stop.take().unwrap().send(()).unwrap();
    assert_eq!(
        line(&mut reader).await,
        "* BYE [UNAVAILABLE] Server shutting down\r\n"
    );
    timeout(STEP, &mut running.done)
        .await
        .expect("server stopped in time")
        .unwrap();
}

#[tokio::test]
async fn unauthenticated_connections_time_out_even_when_trickling() {
    let limits = ConnectionLimits {
        pre_auth_timeout: Duration::from_millis(600),
        ..ConnectionLimits::default()
    };
    let running = start(limits).await;
    let tcp = TcpStream::connect(running.imap).await.unwrap();
    let mut reader = BufReader::new(tcp);
    line(&mut reader).await;
    for _ in 0..3 {
        send(reader.get_mut(), "a NOOP\r\n").await;
        line(&mut reader).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut rest = String::new();
    loop {
        let next = line(&mut reader).await;
        if next.is_empty() {
            break;
        }
        rest.push_str(&next);
    }
    assert!(
        rest.contains("* BYE [UNAVAILABLE] Timed out waiting for authentication"),
        "{rest}"
    );
}

#[tokio::test]
async fn idle_sends_heartbeats() {
    let limits = ConnectionLimits {
        idle_heartbeat: Duration::from_millis(300),
        ..ConnectionLimits::default()
    };
    let running = start(limits).await;
    let tcp = TcpStream::connect(running.imaps).await.unwrap();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    line(&mut reader).await;
    send(reader.get_mut(), "a LOGIN alice secret\r\nb IDLE\r\n").await;
    line(&mut reader).await;
    assert_eq!(line(&mut reader).await, "+ idling\r\n");
    assert_eq!(line(&mut reader).await, "* OK Still here\r\n");
    assert_eq!(line(&mut reader).await, "* OK Still here\r\n");
    send(reader.get_mut(), "DONE\r\n").await;
    assert_eq!(line(&mut reader).await, "b OK IDLE terminated\r\n");
}

/// iOS Mail sends IDLE in the same packet as the commands before it, and the next command
/// in the same packet as DONE.
#[tokio::test]
async fn idle_pipelined_with_other_commands() {
    let running = start(ConnectionLimits::default()).await;
    let tcp = TcpStream::connect(running.imaps).await.unwrap();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    line(&mut reader).await;
    send(
        reader.get_mut(),
        "a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n",
    )
    .await;
    let mut seen = Vec::new();
    loop {
        let next = line(&mut reader).await;
        let done = next == "+ idling\r\n";
        seen.push(next);
        if done {
            break;
        }
    }
    assert!(seen.iter().any(|l| l.starts_with("a OK")), "{seen:?}");
    assert!(
        seen.iter().any(|l| l.starts_with("b OK [READ-WRITE]")),
        "{seen:?}"
    );
    send(reader.get_mut(), "DONE\r\nd NOOP\r\ne IDLE\r\n").await;
    assert_eq!(line(&mut reader).await, "c OK IDLE terminated\r\n");
    assert_eq!(line(&mut reader).await, "d OK completed\r\n");
    assert_eq!(line(&mut reader).await, "+ idling\r\n");
    send(reader.get_mut(), "DONE\r\n").await;
    assert_eq!(line(&mut reader).await, "e OK IDLE terminated\r\n");
}

/// Reads until the server closes the connection (bounded).
async fn read_to_close(tcp: &mut TcpStream) -> String {
    let mut data = Vec::new();
    timeout(STEP, tcp.read_to_end(&mut data))
        .await
        .expect("server closed in time")
        .unwrap();
    String::from_utf8_lossy(&data).into_owned()
}

/// A connection from another loopback address (127.0.0.2: same /24, its own address).
async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

const BANNED_BYE: &str =
    "* BYE [UNAVAILABLE] Too many failed logins from your address, try again later\r\n";

#[tokio::test]
async fn a_banned_address_gets_a_plaintext_bye_before_tls_on_both_ports() {
    let running = start(ConnectionLimits::default()).await;
    for _ in 0..10 {
        running
            .ctx
            .guard
            .login_failed("127.0.0.1".parse().unwrap(), "root");
    }
    for port in [running.imaps, running.imap] {
        // Nothing is sent: the BYE comes first, in plaintext, and the server closes.
        let mut tcp = TcpStream::connect(port).await.unwrap();
        assert_eq!(read_to_close(&mut tcp).await, BANNED_BYE, "{port}");
    }
    // A TLS client gets no handshake at all.
    let tcp = TcpStream::connect(running.imaps).await.unwrap();
    let handshake = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(handshake.is_err());
    // Another address is served as usual.
    let tcp = connect_from("127.0.0.2", running.imaps).await;
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    assert!(line(&mut reader).await.starts_with("* OK"));
    send(reader.get_mut(), "a LOGIN alice secret\r\n").await;
    assert!(line(&mut reader).await.starts_with("a OK"));
}

#[tokio::test]
async fn bans_are_written_within_a_second_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_with(ConnectionLimits::default(), GuardConfig::default(), dir).await;
    for _ in 0..10 {
        first
            .ctx
            .guard
            .login_failed("127.0.0.1".parse().unwrap(), "root");
    }
    // The upkeep writes the ban (here it was made without a login, so nobody else did).
    let deadline = tokio::time::Instant::now() + STEP;
    while first.store.throttle_records().await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Running {
        stop, done, _dir, ..
    } = first;
    let _ = stop.map(|stop| stop.send(()));
    done.await.unwrap();
    let second = start_with(ConnectionLimits::default(), GuardConfig::default(), _dir).await;
    let mut tcp = TcpStream::connect(second.imap).await.unwrap();
    assert_eq!(read_to_close(&mut tcp).await, BANNED_BYE);
}

#[tokio::test]
async fn unauthenticated_connections_per_address_are_capped() {
    let guard = GuardConfig {
        connections: ConnectionCaps {
            preauth_per_ip: 2,
            ..ConnectionCaps::default()
        },
        ..GuardConfig::default()
    };
    let running = start_with(
        ConnectionLimits::default(),
        guard,
        tempfile::tempdir().unwrap(),
    )
    .await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut reader = BufReader::new(TcpStream::connect(running.imap).await.unwrap());
        assert!(line(&mut reader).await.starts_with("* OK"));
        open.push(reader);
    }
    let mut third = BufReader::new(TcpStream::connect(running.imap).await.unwrap());
    assert_eq!(
        line(&mut third).await,
        "* BYE [LIMIT] Too many connections from your address still logging in\r\n"
    );
    // Another address is not affected.
    let mut other = BufReader::new(connect_from("127.0.0.2", running.imap).await);
    assert!(line(&mut other).await.starts_with("* OK"));
    // One that logs in no longer counts as unauthenticated.
    let first = &mut open[0];
    send(first.get_mut(), "a STARTTLS\r\n").await;
    assert!(line(first).await.starts_with("a OK"));
    let plain = open.remove(0).into_inner();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), plain)
        .await
        .unwrap();
    let mut tls = BufReader::new(tls);
    send(tls.get_mut(), "b LOGIN alice secret\r\n").await;
    assert!(line(&mut tls).await.starts_with("b OK"));
    let mut fourth = BufReader::new(TcpStream::connect(running.imap).await.unwrap());
    assert!(line(&mut fourth).await.starts_with("* OK"));
}

#[tokio::test]
async fn more_pipelined_commands_than_the_limit_get_bye_limit() {
    let limits = ConnectionLimits {
        max_pipelined_commands: 5,
        ..ConnectionLimits::default()
    };
    let running = start(limits).await;
    let mut reader = BufReader::new(TcpStream::connect(running.imap).await.unwrap());
    assert!(line(&mut reader).await.starts_with("* OK"));
    send(reader.get_mut(), &"n NOOP\r\n".repeat(5)).await;
    for _ in 0..5 {
        assert_eq!(line(&mut reader).await, "n OK completed\r\n");
    }
    send(reader.get_mut(), &"n NOOP\r\n".repeat(50)).await;
    let mut tcp = reader.into_inner();
    let rest = read_to_close(&mut tcp).await;
    assert!(
        rest.ends_with("* BYE [LIMIT] Too many pipelined commands\r\n"),
        "{rest}"
    );
    assert!(rest.matches("n OK").count() <= 5, "{rest}");
}
