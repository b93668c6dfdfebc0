//! The network edge with a real rustls client: TLS and ALPN, STARTTLS, limits, timers and
//! shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_auth::{
    ConnectionCaps, Guard, GuardConfig, PasswordVerifier, Secret, SystemClock, hash_password,
};
use portcullis_net::{
    ConnectionLimits, ExposureRules, ListenerConfig, ListenerKind, NetConfig, Server, TlsConfig,
    TlsSetup, TlsSource, load_tls,
};
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
    start_full(limits, guard, dir, ExposureRules::default()).await
}

/// A server whose two listeners have `rules`.
async fn start_full(
    limits: ConnectionLimits,
    guard: GuardConfig,
    dir: tempfile::TempDir,
    rules: ExposureRules,
) -> Running {
    let store = Arc::new(SqliteStore::open(&dir.path().join("data")).unwrap());
    let hash = hash_password(&Secret::new("secret".to_owned())).unwrap();
    let alice = AccountName::new("alice").unwrap();
    if store.account(&alice).await.unwrap().is_none() {
        store.create_account(&alice, &hash).await.unwrap();
    }
    let ctx = Arc::new(ServerContext {
        guard: Arc::new(Guard::new(guard, Arc::new(SystemClock))),
        mailboxes: Arc::default(),
        ..ServerContext::new(
            store.clone() as Arc<dyn Store>,
            PasswordVerifier::new().unwrap(),
            SessionConfig::default(),
        )
    });
    let rules = Arc::new(rules);
    let listener = |kind| ListenerConfig {
        kind,
        address: "127.0.0.1:0".parse().unwrap(),
        rules: rules.clone(),
    };
    let config = NetConfig {
        listeners: vec![listener(ListenerKind::Imaps), listener(ListenerKind::Imap)],
        lmtp: Vec::new(),
        tls: TlsConfig::single(TlsSource::SelfSigned {
            dir: dir.path().join("tls"),
        }),
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

// ---------------------------------------------------------------------------------------
// Exposure: allow and deny lists, PROXY protocol, plaintext authentication by network
// ---------------------------------------------------------------------------------------

fn networks(list: &[&str]) -> Vec<portcullis_auth::IpNetwork> {
    list.iter().map(|text| text.parse().unwrap()).collect()
}

async fn start_rules(rules: ExposureRules) -> Running {
    start_full(
        ConnectionLimits::default(),
        GuardConfig::default(),
        tempfile::tempdir().unwrap(),
        rules,
    )
    .await
}

const NOT_ACCEPTED_BYE: &str =
    "* BYE [UNAVAILABLE] Connections from your address are not accepted here\r\n";

#[tokio::test]
async fn deny_and_allow_lists_refuse_before_tls_on_both_ports() {
    let running = start_rules(ExposureRules {
        allow: networks(&["127.0.0.0/24"]),
        deny: networks(&["127.0.0.3"]),
        ..ExposureRules::default()
    })
    .await;
    for port in [running.imaps, running.imap] {
        // Denied (though allowed by the /24), and not in the allow list: a plaintext BYE.
        let mut tcp = connect_from("127.0.0.3", port).await;
        assert_eq!(read_to_close(&mut tcp).await, NOT_ACCEPTED_BYE, "{port}");
        let mut tcp = connect_from("127.0.1.1", port).await;
        assert_eq!(read_to_close(&mut tcp).await, NOT_ACCEPTED_BYE, "{port}");
    }
    // Allowed: served as usual.
    let tcp = connect_from("127.0.0.2", running.imaps).await;
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    assert!(line(&mut reader).await.starts_with("* OK"));
}

fn proxy_rules() -> ExposureRules {
    ExposureRules {
        proxy_protocol: true,
        trusted_proxies: networks(&["127.0.0.1"]),
        deny: networks(&["198.51.100.0/24"]),
        ..ExposureRules::default()
    }
}

/// A PROXY v2 header for a TCP4 client.
fn v2_header(client: std::net::SocketAddrV4) -> Vec<u8> {
    let mut header = portcullis_net::proxy::V2_SIGNATURE.to_vec();
    header.extend([0x21, 0x11, 0x00, 0x0C]);
    header.extend(client.ip().octets());
    header.extend([127, 0, 0, 1]);
    header.extend(client.port().to_be_bytes());
    header.extend(993_u16.to_be_bytes());
    header
}

#[tokio::test]
async fn proxy_headers_are_taken_from_trusted_proxies_only() {
    let running = start_rules(proxy_rules()).await;
    // Not a trusted proxy, with or without a header: refused before anything is read.
    for port in [running.imap, running.imaps] {
        let mut tcp = connect_from("127.0.0.2", port).await;
        send(&mut tcp, "PROXY TCP4 192.0.2.7 127.0.0.1 40000 143\r\n").await;
        assert_eq!(read_to_close(&mut tcp).await, NOT_ACCEPTED_BYE, "{port}");
    }
    // A trusted proxy without a header, or with a broken one: closed.
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    send(&mut tcp, "a LOGIN alice secret\r\n").await;
    assert_eq!(
        read_to_close(&mut tcp).await,
        "* BYE Invalid PROXY protocol header\r\n"
    );
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    send(&mut tcp, "PROXY TCP4 192.0.2.7 127.0.0.1 40000\r\n").await;
    assert_eq!(
        read_to_close(&mut tcp).await,
        "* BYE Invalid PROXY protocol header\r\n"
    );
    // A v1 header, then IMAP on the same bytes: the session runs for the client.
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    send(
        &mut tcp,
        "PROXY TCP4 192.0.2.7 127.0.0.1 40000 143\r\na NOOP\r\n",
    )
    .await;
    let mut reader = BufReader::new(tcp);
    assert!(line(&mut reader).await.starts_with("* OK"));
    assert_eq!(line(&mut reader).await, "a OK completed\r\n");
    // A v2 header, then TLS right behind it.
    let mut tcp = TcpStream::connect(running.imaps).await.unwrap();
    tcp.write_all(&v2_header("192.0.2.8:40001".parse().unwrap()))
        .await
        .unwrap();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    assert!(line(&mut reader).await.starts_with("* OK"));
    send(reader.get_mut(), "a LOGIN alice secret\r\n").await;
    assert!(line(&mut reader).await.starts_with("a OK"));
    // The deny list sees the client's address, not the proxy's.
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    send(&mut tcp, "PROXY TCP4 198.51.100.9 127.0.0.1 40000 143\r\n").await;
    assert_eq!(read_to_close(&mut tcp).await, NOT_ACCEPTED_BYE);
    // LOCAL (a health check of the proxy): the proxy's own address stands.
    let mut local = portcullis_net::proxy::V2_SIGNATURE.to_vec();
    local.extend([0x20, 0x00, 0x00, 0x00]);
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    tcp.write_all(&local).await.unwrap();
    let mut reader = BufReader::new(tcp);
    assert!(line(&mut reader).await.starts_with("* OK"));
}

#[tokio::test]
async fn bans_and_caps_apply_to_the_proxied_address() {
    let running = start_rules(proxy_rules()).await;
    for _ in 0..10 {
        running
            .ctx
            .guard
            .login_failed("203.0.113.9".parse().unwrap(), "root");
    }
    // The banned client behind the proxy gets the ban's BYE; the proxy is not banned.
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    send(&mut tcp, "PROXY TCP4 203.0.113.9 127.0.0.1 40000 143\r\n").await;
    assert_eq!(read_to_close(&mut tcp).await, BANNED_BYE);
    let mut tcp = TcpStream::connect(running.imap).await.unwrap();
    send(&mut tcp, "PROXY TCP4 203.0.113.10 127.0.0.1 40000 143\r\n").await;
    let mut reader = BufReader::new(tcp);
    assert!(line(&mut reader).await.starts_with("* OK"));
    // A failed login behind the proxy counts against the client's address.
    let mut tcp = TcpStream::connect(running.imaps).await.unwrap();
    tcp.write_all(&v2_header("203.0.113.11:40002".parse().unwrap()))
        .await
        .unwrap();
    let tls = connector(&running)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut reader = BufReader::new(tls);
    assert!(line(&mut reader).await.starts_with("* OK"));
    send(reader.get_mut(), "a LOGIN alice wrong\r\n").await;
    assert!(
        line(&mut reader)
            .await
            .starts_with("a NO [AUTHENTICATIONFAILED]")
    );
    // Nine more make ten: the ban shows that the first was counted for the client.
    let client = "203.0.113.11".parse().unwrap();
    for _ in 0..9 {
        running.ctx.guard.login_failed(client, "root");
    }
    assert!(running.ctx.guard.banned(client).is_some());
    assert!(
        running
            .ctx
            .guard
            .banned("127.0.0.1".parse().unwrap())
            .is_none()
    );
}

#[tokio::test]
async fn plaintext_login_only_for_the_listeners_plaintext_networks() {
    let running = start_rules(ExposureRules {
        plaintext_auth_networks: networks(&["127.0.0.2"]),
        ..ExposureRules::default()
    })
    .await;
    // From the named network: AUTH=PLAIN before TLS, and LOGIN works.
    let tcp = connect_from("127.0.0.2", running.imap).await;
    let mut reader = BufReader::new(tcp);
    let greeting = line(&mut reader).await;
    assert!(greeting.contains("STARTTLS AUTH=PLAIN]"), "{greeting}");
    send(reader.get_mut(), "a LOGIN alice secret\r\n").await;
    assert!(line(&mut reader).await.starts_with("a OK [CAPABILITY"));
    // From anywhere else: LOGINDISABLED and PRIVACYREQUIRED, as without the setting.
    let tcp = connect_from("127.0.0.3", running.imap).await;
    let mut reader = BufReader::new(tcp);
    let greeting = line(&mut reader).await;
    assert!(greeting.contains("STARTTLS LOGINDISABLED]"), "{greeting}");
    send(reader.get_mut(), "a LOGIN alice secret\r\n").await;
    assert!(
        line(&mut reader)
            .await
            .starts_with("a NO [PRIVACYREQUIRED]")
    );
}
