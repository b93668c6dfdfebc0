//! A small IMAP client: one connection, tagged commands, literal-aware reading, and a
//! timeout on every read and write, so a stuck server fails a run instead of hanging it.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::response::{Kind, Response, Status, Value, read_response};

/// Largest response accepted (a `FETCH 1:*` of 100,000 envelopes is one response each,
/// so this bounds single responses, not commands).
const MAX_RESPONSE: usize = 256 * 1024 * 1024;

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `None`: plain TCP.
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// How the server certificate is checked.
#[derive(Debug, Clone)]
pub(crate) enum Trust {
    /// Verify against these PEM roots.
    Ca(std::path::PathBuf),
    /// Accept any certificate (self-signed test servers).
    Insecure,
}

/// A rustls client configuration for the bench: TLS 1.2/1.3 with aws-lc-rs, and no session
/// resumption unless asked — every handshake in `login-rate` is a full one, as for a client
/// connecting for the first time.
pub(crate) fn tls_connector(trust: &Trust, resume: bool) -> Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let mut config = match trust {
        Trust::Ca(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("reading {}", path.display()))?
            {
                let cert = cert.with_context(|| format!("parsing {}", path.display()))?;
                roots.add(cert).context("adding a CA certificate")?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    };
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    config.alpn_protocols = vec![b"imap".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name to verify: an IP address or a DNS name.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_owned()).map_err(|e| anyhow!("bad TLS name {name:?}: {e}"))
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    // Signatures are still checked, so the handshake costs what a verifying client pays.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The tagged end of a command and the untagged responses before it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: Status,
    pub(crate) tagged: Response,
    pub(crate) untagged: Vec<Response>,
}

impl Reply {
    /// Fails unless the command completed with OK.
    pub(crate) fn ok(self) -> Result<Reply> {
        match self.status {
            Status::Ok => Ok(self),
            _ => bail!("server answered {}", self.tagged.first_line()),
        }
    }

    /// The last `* n EXISTS` among the untagged responses.
    pub(crate) fn exists(&self) -> Option<u32> {
        self.untagged
            .iter()
            .rev()
            .find_map(|r| r.numbered("EXISTS"))
    }

    /// The `BODY[]` of the first FETCH response that has one.
    pub(crate) fn body(&self) -> Option<Vec<u8>> {
        self.untagged.iter().find_map(|r| {
            let (_, pairs) = r.fetch()?;
            pairs
                .into_iter()
                .find(|(key, _)| key == b"BODY[]")
                .and_then(|(_, v)| match v {
                    Value::Str(s) => Some(s.into_owned()),
                    _ => None,
                })
        })
    }

    /// Every number of every `* SEARCH` response.
    pub(crate) fn search(&self) -> Option<Vec<u32>> {
        let mut found = None;
        for r in &self.untagged {
            if let Some(mut n) = r.search() {
                found.get_or_insert_with(Vec::new).append(&mut n);
            }
        }
        found
    }

    pub(crate) fn count(&self, keyword: &str) -> usize {
        self.untagged
            .iter()
            .filter(|r| r.numbered(keyword).is_some())
            .count()
    }
}

/// One IMAP connection.
pub(crate) struct Conn {
    io: BufReader<Box<dyn Io>>,
    next_tag: u64,
    timeout: Duration,
    literal_plus: bool,
    capabilities: Vec<String>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("next_tag", &self.next_tag)
            .finish()
    }
}

/// Quotes a string for a command (the bench's names and passwords are plain ASCII).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Conn {
    /// TCP connect, TLS handshake when configured, and the greeting.
    pub(crate) async fn connect(target: &Target) -> Result<Conn> {
        let tcp = tokio::time::timeout(
            target.timeout,
            TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| anyhow!("connect timed out"))?
        .with_context(|| format!("connecting to {}:{}", target.host, target.port))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        let io: Box<dyn Io> = match &target.tls {
            None => Box::new(tcp),
            Some((connector, name)) => {
                let tls =
                    tokio::time::timeout(target.timeout, connector.connect(name.clone(), tcp))
                        .await
                        .map_err(|_| anyhow!("TLS handshake timed out"))?
                        .context("TLS handshake")?;
                Box::new(tls)
            }
        };
        let mut conn = Conn {
            io: BufReader::with_capacity(16 * 1024, io),
            next_tag: 1,
            timeout: target.timeout,
            literal_plus: false,
            capabilities: Vec::new(),
        };
        let greeting = conn.read().await.context("reading the greeting")?;
        if !greeting.raw.starts_with(b"* OK") {
            bail!("unexpected greeting: {}", greeting.first_line());
        }
        if let Some(caps) = greeting.code("CAPABILITY") {
            conn.set_capabilities(&caps);
        }
        Ok(conn)
    }

    fn set_capabilities(&mut self, caps: &str) {
        self.capabilities = caps
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        self.literal_plus = self.has("LITERAL+");
    }

    pub(crate) fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// The response timeout of this connection (every later read uses it).
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Reads one response within the timeout.
    pub(crate) async fn read(&mut self) -> Result<Response> {
        tokio::time::timeout(self.timeout, read_response(&mut self.io, MAX_RESPONSE))
            .await
            .map_err(|_| anyhow!("no response within {:?}", self.timeout))?
    }

    /// Reads one response, waiting at most until `deadline` (`None` when it passed).
    pub(crate) async fn read_until(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Response>> {
        match tokio::time::timeout_at(deadline, read_response(&mut self.io, MAX_RESPONSE)).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let io = self.io.get_mut();
        tokio::time::timeout(self.timeout, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
        .map_err(|_| anyhow!("write timed out after {:?}", self.timeout))?
        .context("writing to the server")
    }

    fn tag(&mut self) -> String {
        let tag = format!("b{}", self.next_tag);
        self.next_tag += 1;
        tag
    }

    /// Sends `tag command` (without literals) and returns the tag.
    pub(crate) async fn send(&mut self, command: &str) -> Result<String> {
        let tag = self.tag();
        let line = format!("{tag} {command}\r\n");
        self.write_all(line.as_bytes()).await?;
        Ok(tag)
    }

    /// Reads until the tagged completion of `tag`, keeping the untagged responses.
    /// A `* BYE` followed by a close is reported as an error.
    pub(crate) async fn complete(&mut self, tag: &str) -> Result<Reply> {
        let mut untagged = Vec::new();
        loop {
            let r = self.read().await?;
            match r.kind() {
                Kind::Tagged { tag: t, status } if t == tag.as_bytes() => {
                    return Ok(Reply {
                        status,
                        tagged: r,
                        untagged,
                    });
                }
                Kind::Tagged { .. } => bail!("unexpected tagged response {}", r.first_line()),
                Kind::Continuation => bail!("unexpected continuation request"),
                Kind::Untagged => untagged.push(r),
            }
        }
    }

    /// Runs one command and returns its reply (whatever the status).
    pub(crate) async fn run(&mut self, command: &str) -> Result<Reply> {
        let tag = self.send(command).await?;
        self.complete(&tag).await
    }

    /// LOGIN; fails unless OK. Picks up capabilities sent with the OK.
    pub(crate) async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let reply = self
            .run(&format!("LOGIN {} {}", quote(user), quote(password)))
            .await?;
        let reply = reply.ok().with_context(|| format!("LOGIN {user}"))?;
        if let Some(caps) = reply.tagged.code("CAPABILITY") {
            self.set_capabilities(&caps);
        } else if self.capabilities.is_empty() {
            let caps = self.run("CAPABILITY").await?.ok()?;
            if let Some(line) = caps
                .untagged
                .iter()
                .find(|r| r.raw.starts_with(b"* CAPABILITY "))
            {
                let text = line.first_line();
                self.set_capabilities(text.trim_start_matches("* CAPABILITY "));
            }
        }
        Ok(())
    }

    /// LOGOUT: expects `* BYE` and the tagged OK.
    pub(crate) async fn logout(&mut self) -> Result<()> {
        let reply = self.run("LOGOUT").await?.ok()?;
        if !reply.untagged.iter().any(|r| r.raw.starts_with(b"* BYE")) {
            bail!("LOGOUT without BYE");
        }
        Ok(())
    }

    /// Writes one APPEND (MULTIAPPEND for several messages) without waiting for its
    /// completion; returns the tag. With LITERAL+ the literals are sent at once; without,
    /// each waits for the server's continuation request.
    pub(crate) async fn send_append(
        &mut self,
        mailbox: &str,
        messages: &[&[u8]],
    ) -> Result<String> {
        let tag = self.tag();
        let mut head = format!("{tag} APPEND {}", quote(mailbox));
        let plus = if self.literal_plus { "+" } else { "" };
        let mut buf = Vec::new();
        for message in messages {
            head.push_str(&format!(" {{{}{plus}}}\r\n", message.len()));
            buf.extend_from_slice(head.as_bytes());
            head.clear();
            if !self.literal_plus {
                self.write_all(&buf).await?;
                buf.clear();
                let r = self.read().await?;
                if r.kind() != Kind::Continuation {
                    bail!("APPEND refused: {}", r.first_line());
                }
            }
            buf.extend_from_slice(message);
        }
        buf.extend_from_slice(b"\r\n");
        self.write_all(&buf).await?;
        Ok(tag)
    }

    /// APPEND and wait; returns the reply (whatever the status).
    pub(crate) async fn append(&mut self, mailbox: &str, messages: &[&[u8]]) -> Result<Reply> {
        let tag = self.send_append(mailbox, messages).await?;
        self.complete(&tag).await
    }

    /// Starts IDLE: sends it and waits for the continuation request.
    pub(crate) async fn idle_start(&mut self) -> Result<String> {
        let tag = self.send("IDLE").await?;
        loop {
            let r = self.read().await?;
            match r.kind() {
                Kind::Continuation => return Ok(tag),
                Kind::Untagged => {}
                Kind::Tagged { .. } => bail!("IDLE refused: {}", r.first_line()),
            }
        }
    }

    /// Ends IDLE with DONE and waits for the completion.
    pub(crate) async fn idle_done(&mut self, tag: &str) -> Result<Reply> {
        self.write_all(b"DONE\r\n").await?;
        self.complete(tag).await?.ok()
    }
}

/// Reads a CA file path check early, for a clear error.
pub(crate) fn check_readable(path: &Path) -> Result<()> {
    std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(())
}
