//! TLS configuration: rustls with the aws-lc-rs provider, TLS 1.2 and 1.3 only (rustls
//! implements nothing older), ALPN `imap` (RFC 9051 11.1 / RFC 7301 registry).
//!
//! Certificates come from PEM files in the config; with none configured, a self-signed
//! certificate is generated once into the data directory and reused, and its SHA-256
//! fingerprint is logged so users can verify what their client shows.
//!
//! [`Certificates`] is the server's certificate resolver: a default certificate and any
//! number of named ones chosen by SNI (a client without SNI, or asking for a name none
//! carries, gets the default). It reloads every file on [`Certificates::reload`] (SIGHUP)
//! and from [`Certificates::watch`] when a file's identity, size or time changes: new
//! handshakes get the new certificates, established connections keep theirs. A
//! certificate that fails to load keeps its predecessor and logs an error. Expiry is
//! warned about at start, on reload and daily; the generated certificate is renewed when
//! it nears its end.
//!
//! ```text
//! ClientHello ──► Certificates::resolve(SNI) ──► named entry (exact or *.wildcard)
//!                                             └► default
//! SIGHUP / file change ──► reload(): each entry anew, or the old one on error ──► swap
//! ```

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files (certificate chain, private key).
    Files {
        /// Certificate chain, leaf first.
        certificate: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A self-signed certificate kept in this directory, generated on first use.
    SelfSigned {
        /// Directory holding `cert.pem` and `key.pem`.
        dir: PathBuf,
    },
}

/// TLS set-up failures, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error("{0} contains no certificate")]
    NoCertificate(PathBuf),
    /// rustls refused the certificate/key pair.
    #[error("certificate and key do not form a usable pair: {0}")]
    Rustls(#[from] rustls::Error),
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
    /// Writing the generated certificate failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A certificate chosen by the name a client asks for (SNI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCertificate {
    /// Host names, lower case; `*.example.org` matches one label in its place.
    pub names: Vec<String>,
    /// Certificate chain, leaf first (PEM).
    pub certificate: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// Every certificate the server offers, and how it keeps them fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// For clients without SNI or asking for a name no named certificate carries.
    pub default: TlsSource,
    /// Chosen by SNI.
    pub named: Vec<NamedCertificate>,
    /// How often the files are looked at for a change (`None`: only on SIGHUP).
    pub reload_interval: Option<Duration>,
}

impl TlsConfig {
    /// One certificate, files watched at the default interval.
    pub fn single(source: TlsSource) -> TlsConfig {
        TlsConfig {
            default: source,
            named: Vec::new(),
            reload_interval: Some(DEFAULT_RELOAD_INTERVAL),
        }
    }
}

/// How often certificate files are looked at by default (two `stat` calls per file).
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// How often expiry is checked (and warned about) while the server runs.
const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Validity of a generated certificate. Short enough that a forgotten development
/// certificate does not live for ever; it is renewed when it nears its end.
const SELF_SIGNED_DAYS: i64 = 365;

/// A certificate that ends within this many days is renewed (generated) or warned about.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A ready TLS configuration with what to tell the operator about it at start.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    /// The rustls server configuration (its certificate resolver is `certificates`).
    pub config: Arc<rustls::ServerConfig>,
    /// The certificates, reloadable.
    pub certificates: Arc<Certificates>,
    /// SHA-256 of the default leaf certificate at start, as `AB:CD:...`.
    pub fingerprint: String,
    /// Whether the default certificate was generated just now.
    pub generated: bool,
    /// End of the default leaf certificate's validity, Unix seconds (`None` if unreadable).
    pub not_after: Option<i64>,
}

/// Builds the server TLS configuration.
pub fn load(config: &TlsConfig) -> Result<TlsSetup, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (default, generated) = load_entry(DEFAULT_LABEL, &config.default, &[], &provider)?;
    let named = config
        .named
        .iter()
        .map(|named| {
            let source = TlsSource::Files {
                certificate: named.certificate.clone(),
                key: named.key.clone(),
            };
            let label = named.names.first().cloned().unwrap_or_default();
            load_entry(&label, &source, &named.names, &provider).map(|(entry, _)| Arc::new(entry))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (fingerprint, not_after) = (default.fingerprint.clone(), default.not_after);
    let certificates = Arc::new(Certificates {
        stamps: Mutex::new(stamps(config)),
        config: config.clone(),
        provider: provider.clone(),
        loaded: RwLock::new(Arc::new(Loaded {
            default: Arc::new(default),
            named,
        })),
    });
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(certificates.clone());
    server.alpn_protocols = vec![b"imap".to_vec()];
    // Choose suites in rustls' order (strongest first) rather than the client's: every
    // offered suite is safe either way, but scanners (testssl.sh) flag a server without its
    // own cipher order.
    server.ignore_client_order = true;
    Ok(TlsSetup {
        config: Arc::new(server),
        certificates,
        fingerprint,
        generated,
        not_after,
    })
}

/// The label of the default certificate in logs and metrics.
const DEFAULT_LABEL: &str = "default";

/// One loaded certificate.
#[derive(Debug)]
struct Entry {
    /// `default`, or the first of its names.
    label: String,
    /// The names it is chosen for (none for the default).
    names: Vec<String>,
    key: Arc<CertifiedKey>,
    fingerprint: String,
    not_after: Option<i64>,
}

/// What the resolver serves from; replaced whole on reload.
#[derive(Debug)]
struct Loaded {
    default: Arc<Entry>,
    /// In the order of [`TlsConfig::named`].
    named: Vec<Arc<Entry>>,
}

impl Loaded {
    fn entries(&self) -> impl Iterator<Item = &Arc<Entry>> {
        std::iter::once(&self.default).chain(self.named.iter())
    }
}

/// A certificate as the metrics and logs show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateStatus {
    /// `default`, or the first of its names.
    pub label: String,
    /// The names it is served for (none for the default).
    pub names: Vec<String>,
    /// SHA-256 of the leaf.
    pub fingerprint: String,
    /// End of the leaf's validity, Unix seconds.
    pub not_after: Option<i64>,
}

/// What a reload did to one certificate.
#[derive(Debug)]
pub struct ReloadOutcome {
    /// `default`, or the first of its names.
    pub label: String,
    /// The new fingerprint (`Ok(Some)`), the same certificate again (`Ok(None)`), or why
    /// the old one stays.
    pub result: Result<Option<String>, TlsError>,
}

/// The server's certificates: the rustls resolver, reloadable while connections run.
pub struct Certificates {
    config: TlsConfig,
    provider: Arc<CryptoProvider>,
    loaded: RwLock<Arc<Loaded>>,
    /// The files' stamps when they were last read.
    stamps: Mutex<Vec<Stamp>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Loaded {
    /// The certificate for a client asking for `server_name`: the first named one that
    /// carries it (exactly, or by a `*.` pattern), else the default.
    fn choose(&self, server_name: Option<&str>) -> &Arc<Entry> {
        server_name
            .map(str::to_ascii_lowercase)
            .and_then(|name| {
                self.named.iter().find(|entry| {
                    entry
                        .names
                        .iter()
                        .any(|pattern| name_matches(pattern, &name))
                })
            })
            .unwrap_or(&self.default)
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.loaded().choose(hello.server_name()).key.clone())
    }
}

impl Certificates {
    fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every certificate: the default first, then the named ones in configuration order.
    pub fn status(&self) -> Vec<CertificateStatus> {
        self.loaded()
            .entries()
            .map(|entry| CertificateStatus {
                label: entry.label.clone(),
                names: entry.names.clone(),
                fingerprint: entry.fingerprint.clone(),
                not_after: entry.not_after,
            })
            .collect()
    }

    /// Reads every certificate and key again; new handshakes use what loaded, and a
    /// certificate that fails keeps its predecessor (logged as an error). Logs each new
    /// fingerprint and warns about expiry.
    pub fn reload(&self) -> Vec<ReloadOutcome> {
        let stamps = stamps(&self.config);
        let old = self.loaded();
        let mut outcomes = Vec::new();
        let mut reload = |old: &Arc<Entry>, source: &TlsSource| -> Arc<Entry> {
            match load_entry(&old.label, source, &old.names, &self.provider) {
                Ok((entry, _)) => {
                    let changed = entry.fingerprint != old.fingerprint;
                    if changed {
                        tracing::info!(certificate = %entry.label, sha256 = %entry.fingerprint, "TLS certificate reloaded");
                        warn_if_expiring(&entry.label, entry.not_after);
                    }
                    outcomes.push(ReloadOutcome {
                        label: entry.label.clone(),
                        result: Ok(changed.then(|| entry.fingerprint.clone())),
                    });
                    Arc::new(entry)
                }
                Err(error) => {
                    tracing::error!(certificate = %old.label, %error, "cannot reload the TLS certificate; keeping the one loaded before");
                    outcomes.push(ReloadOutcome {
                        label: old.label.clone(),
                        result: Err(error),
                    });
                    old.clone()
                }
            }
        };
        let default = reload(&old.default, &self.config.default);
        let named = old
            .named
            .iter()
            .zip(&self.config.named)
            .map(|(entry, named)| {
                let source = TlsSource::Files {
                    certificate: named.certificate.clone(),
                    key: named.key.clone(),
                };
                reload(entry, &source)
            })
            .collect();
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(Loaded { default, named });
        *self.stamps.lock().unwrap_or_else(PoisonError::into_inner) = stamps;
        outcomes
    }

    /// Logs an error for every expired certificate and a warning for every one ending
    /// within [`EXPIRY_WARNING_DAYS`].
    pub fn warn_if_expiring(&self) {
        for entry in self.loaded().entries() {
            warn_if_expiring(&entry.label, entry.not_after);
        }
    }

    /// Runs for ever: reloads when a file changed and then stayed the same for one more
    /// interval (so that a certificate and key being replaced one after the other are
    /// read together), and once a day warns about expiry and renews a generated
    /// certificate that nears its end.
    pub async fn watch(self: Arc<Self>) {
        let poll = self.config.reload_interval;
        let mut ticks = tokio::time::interval(poll.unwrap_or(EXPIRY_CHECK_INTERVAL));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut seen = stamps(&self.config);
        let mut next_expiry_check = tokio::time::Instant::now() + EXPIRY_CHECK_INTERVAL;
        loop {
            ticks.tick().await;
            if poll.is_some() {
                let now = stamps(&self.config);
                let read = self
                    .stamps
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if now == seen && now != read {
                    tracing::info!("TLS certificate files changed; reloading");
                    self.reload();
                }
                seen = now;
            }
            if tokio::time::Instant::now() >= next_expiry_check {
                next_expiry_check += EXPIRY_CHECK_INTERVAL;
                self.daily_check();
            }
        }
    }

    /// Renews a generated certificate that nears its end; warns about every other.
    fn daily_check(&self) {
        if let TlsSource::SelfSigned { dir } = &self.config.default
            && expires_soon(&dir.join("cert.pem"))
        {
            self.reload();
        }
        self.warn_if_expiring();
    }
}

/// Logs an expired certificate as an error, one ending soon as a warning.
fn warn_if_expiring(label: &str, not_after: Option<i64>) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match not_after {
        Some(end) if end <= now => {
            tracing::error!(
                certificate = label,
                not_after = end,
                "the TLS certificate has expired"
            )
        }
        Some(end) if end - now < EXPIRY_WARNING_DAYS * 86_400 => {
            tracing::warn!(
                certificate = label,
                days_left = (end - now) / 86_400,
                "the TLS certificate expires soon"
            )
        }
        Some(_) => {}
        None => tracing::warn!(
            certificate = label,
            "cannot read the TLS certificate's validity"
        ),
    }
}

/// Loads one certificate (generating the self-signed one when needed); the flag says
/// whether it was generated.
fn load_entry(
    label: &str,
    source: &TlsSource,
    names: &[String],
    provider: &CryptoProvider,
) -> Result<(Entry, bool), TlsError> {
    let (certificate, key, generated) = match source {
        TlsSource::Files { certificate, key } => (certificate.clone(), key.clone(), false),
        TlsSource::SelfSigned { dir } => {
            let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            let generated = !certificate.exists() || !key.exists() || expires_soon(&certificate);
            if generated {
                generate_self_signed(dir, &certificate, &key)?;
            }
            (certificate, key, generated)
        }
    };
    let chain = read_chain(&certificate)?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| TlsError::Pem {
        path: key.clone(),
        reason: e.to_string(),
    })?;
    let fingerprint = fingerprint(&chain[0]);
    let not_after = not_after(&chain[0]);
    for name in names {
        if !certificate_covers(&chain[0], name) {
            tracing::warn!(certificate = label, name = %name, path = %certificate.display(), "the certificate does not carry this name: clients asking for it will not trust it");
        }
    }
    let key = CertifiedKey::from_der(chain, key, provider)?;
    Ok((
        Entry {
            label: label.to_owned(),
            names: names.to_vec(),
            key: Arc::new(key),
            fingerprint,
            not_after,
        },
        generated,
    ))
}

/// Whether `name` (lower case) is what `pattern` stands for: the same name, or for
/// `*.example.org` one label followed by `.example.org`.
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == name,
    }
}

/// A host name for `[[tls.certificates]] names`, lower-cased: letters, digits and hyphens
/// in dot-separated labels of at most 63 characters, optionally `*.` in front; not an
/// address (clients send only names in SNI).
pub fn parse_sni_name(text: &str) -> Result<String, String> {
    let name = text.trim().to_ascii_lowercase();
    let bare = name.strip_prefix("*.").unwrap_or(&name);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if bare.is_empty() || name.len() > 253 || !bare.split('.').all(label_ok) {
        return Err(format!("{text:?} is not a host name"));
    }
    if bare.parse::<std::net::IpAddr>().is_ok()
        || bare.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err(format!(
            "{text:?} is an address: clients send only host names in SNI"
        ));
    }
    Ok(name)
}

/// Whether the certificate's subject alternative names cover `name`.
fn certificate_covers(certificate: &CertificateDer<'_>, name: &str) -> bool {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::FromDer;
    let Ok((_, parsed)) = x509_parser::certificate::X509Certificate::from_der(certificate.as_ref())
    else {
        return false;
    };
    let Ok(Some(names)) = parsed.subject_alternative_name() else {
        return false;
    };
    names
        .value
        .general_names
        .iter()
        .any(|general| match general {
            GeneralName::DNSName(dns) => {
                let dns = dns.to_ascii_lowercase();
                dns == name || (!name.starts_with("*.") && name_matches(&dns, name))
            }
            _ => false,
        })
}

/// What identifies a file's content without reading it: device, inode, size, change
/// time (a replaced file, certbot's renewed symlink target, an edit in place).
type Stamp = Option<(u64, u64, u64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((
            metadata.dev(),
            metadata.ino(),
            metadata.size(),
            metadata.mtime(),
            metadata.mtime_nsec(),
        ))
    }
    #[cfg(not(unix))]
    {
        let modified = metadata
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some((
            0,
            0,
            metadata.len(),
            i64::try_from(modified.as_secs()).unwrap_or(i64::MAX),
            i64::from(modified.subsec_nanos()),
        ))
    }
}

/// The stamps of every certificate and key file of `config`, in a fixed order.
fn stamps(config: &TlsConfig) -> Vec<Stamp> {
    let mut files = Vec::new();
    match &config.default {
        TlsSource::Files { certificate, key } => files.extend([certificate.clone(), key.clone()]),
        TlsSource::SelfSigned { dir } => files.extend([dir.join("cert.pem"), dir.join("key.pem")]),
    }
    for named in &config.named {
        files.extend([named.certificate.clone(), named.key.clone()]);
    }
    files.iter().map(|path| stamp(path)).collect()
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(chain)
}

/// SHA-256 fingerprint in the colon-separated upper-case hex that clients display.
pub fn fingerprint(certificate: &CertificateDer<'_>) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate.as_ref());
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// End of a certificate's validity, Unix seconds.
pub(crate) fn not_after(certificate: &CertificateDer<'_>) -> Option<i64> {
    use x509_parser::prelude::FromDer;
    let (_, parsed) =
        x509_parser::certificate::X509Certificate::from_der(certificate.as_ref()).ok()?;
    Some(parsed.validity().not_after.timestamp())
}

/// Whether the certificate in `path` ends within [`EXPIRY_WARNING_DAYS`] (or is unreadable).
fn expires_soon(path: &Path) -> bool {
    let Some(end) = read_chain(path)
        .ok()
        .and_then(|chain| chain.first().and_then(not_after))
    else {
        return true;
    };
    end - time::OffsetDateTime::now_utc().unix_timestamp() < EXPIRY_WARNING_DAYS * 86_400
}

fn generate_self_signed(dir: &Path, certificate: &Path, key: &Path) -> Result<(), TlsError> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let failed = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    let signing_key = rcgen::KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&signing_key).map_err(failed)?;
    let generated = rcgen::CertifiedKey { cert, signing_key };
    let write = |path: &Path, contents: String, private: bool| -> Result<(), TlsError> {
        write_file(dir, path, contents.as_bytes(), private).map_err(|source| TlsError::Write {
            path: path.to_owned(),
            source,
        })
    };
    write(key, generated.signing_key.serialize_pem(), true)?;
    write(certificate, generated.cert.pem(), false)
}

/// Writes a file durably (temp file, fsync, rename), private ones with mode 0600.
fn write_file(dir: &Path, path: &Path, contents: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let source = TlsSource::SelfSigned {
            dir: dir.path().join("tls"),
        };
        let first = load(&TlsConfig::single(source.clone())).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.generated);
        assert_eq!(first.config.alpn_protocols, vec![b"imap".to_vec()]);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        let second = load(&TlsConfig::single(source)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!second.generated);
        assert_eq!(first.fingerprint, second.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_files_name_the_file() {
        let source = TlsSource::Files {
            certificate: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let error = load(&TlsConfig::single(source))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
    }

    /// A certificate for `names` and its key, written as PEM into `dir` as `stem.pem` and
    /// `stem.key`.
    fn write_pair(dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap_or_else(|e| panic!("{e}"));
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
        let (cert_path, key_path) = (
            dir.join(format!("{stem}.pem")),
            dir.join(format!("{stem}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&key_path, key.serialize_pem()).unwrap_or_else(|e| panic!("{e}"));
        (cert_path, key_path)
    }

    fn files(pair: &(PathBuf, PathBuf)) -> TlsSource {
        TlsSource::Files {
            certificate: pair.0.clone(),
            key: pair.1.clone(),
        }
    }

    #[test]
    fn sni_chooses_the_named_certificate_and_falls_back_to_the_default() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let default = write_pair(dir.path(), "default", &["localhost"]);
        let mail = write_pair(dir.path(), "mail", &["mail.example.org"]);
        let wild = write_pair(dir.path(), "wild", &["*.example.net"]);
        let config = TlsConfig {
            default: files(&default),
            named: vec![
                NamedCertificate {
                    names: vec!["mail.example.org".into(), "imap.example.org".into()],
                    certificate: mail.0.clone(),
                    key: mail.1.clone(),
                },
                NamedCertificate {
                    names: vec!["*.example.net".into()],
                    certificate: wild.0.clone(),
                    key: wild.1.clone(),
                },
            ],
            reload_interval: None,
        };
        let setup = load(&config).unwrap_or_else(|e| panic!("{e}"));
        let status = setup.certificates.status();
        let labels: Vec<&str> = status.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["default", "mail.example.org", "*.example.net"]);
        let fingerprint =
            |name: Option<&str>| setup.certificates.loaded().choose(name).fingerprint.clone();
        assert_eq!(fingerprint(Some("mail.example.org")), status[1].fingerprint);
        assert_eq!(fingerprint(Some("IMAP.Example.ORG")), status[1].fingerprint);
        assert_eq!(fingerprint(Some("a.example.net")), status[2].fingerprint);
        assert_eq!(fingerprint(Some("a.b.example.net")), status[0].fingerprint);
        assert_eq!(fingerprint(Some("example.net")), status[0].fingerprint);
        assert_eq!(
            fingerprint(Some("other.example.com")),
            status[0].fingerprint
        );
        assert_eq!(fingerprint(None), status[0].fingerprint);
        assert_eq!(setup.fingerprint, status[0].fingerprint);
    }

    #[test]
    fn reload_takes_new_files_and_keeps_the_old_certificate_when_they_are_bad() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pair = write_pair(dir.path(), "cert", &["localhost"]);
        let setup = load(&TlsConfig::single(files(&pair))).unwrap_or_else(|e| panic!("{e}"));
        let first = setup.fingerprint.clone();
        // The same files: nothing changes.
        let outcome = setup.certificates.reload();
        assert!(matches!(outcome[0].result, Ok(None)), "{outcome:?}");
        // New files: the new certificate.
        write_pair(dir.path(), "cert", &["localhost"]);
        let outcome = setup.certificates.reload();
        let second = setup.certificates.status()[0].fingerprint.clone();
        assert_ne!(first, second);
        assert_eq!(outcome[0].result.as_ref().ok(), Some(&Some(second.clone())));
        // A broken certificate, then a key that belongs to another certificate: refused,
        // the second certificate stays.
        std::fs::write(&pair.0, "-----BEGIN CERTIFICATE-----\nnot base64\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let outcome = setup.certificates.reload();
        assert!(outcome[0].result.is_err(), "{outcome:?}");
        assert_eq!(setup.certificates.status()[0].fingerprint, second);
        let other = write_pair(dir.path(), "other", &["localhost"]);
        std::fs::copy(&other.0, &pair.0).unwrap_or_else(|e| panic!("{e}"));
        let outcome = setup.certificates.reload();
        assert!(outcome[0].result.is_err(), "{outcome:?}");
        assert_eq!(setup.certificates.status()[0].fingerprint, second);
        // The matching key arrives: the new certificate loads.
        std::fs::copy(&other.1, &pair.1).unwrap_or_else(|e| panic!("{e}"));
        setup.certificates.reload();
        assert_ne!(setup.certificates.status()[0].fingerprint, second);
    }

    #[tokio::test]
    async fn the_watch_reloads_once_the_files_stay_the_same_for_an_interval() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pair = write_pair(dir.path(), "cert", &["localhost"]);
        let config = TlsConfig {
            reload_interval: Some(Duration::from_millis(100)),
            ..TlsConfig::single(files(&pair))
        };
        let setup = load(&config).unwrap_or_else(|e| panic!("{e}"));
        let first = setup.fingerprint.clone();
        let watch = tokio::spawn(setup.certificates.clone().watch());
        // File times are as coarse as the kernel's tick: let time pass before the change.
        tokio::time::sleep(Duration::from_millis(150)).await;
        write_pair(dir.path(), "cert", &["localhost"]);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while setup.certificates.status()[0].fingerprint == first {
            assert!(tokio::time::Instant::now() < deadline, "never reloaded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watch.abort();
    }

    #[test]
    fn names_are_host_names_and_wildcards_cover_one_label() {
        assert_eq!(
            parse_sni_name("Mail.Example.ORG"),
            Ok("mail.example.org".to_owned())
        );
        assert_eq!(
            parse_sni_name("*.example.org"),
            Ok("*.example.org".to_owned())
        );
        for bad in [
            "",
            "*.",
            "a..b",
            "-a.example",
            "a b",
            "192.0.2.1",
            "2001:db8::1",
            "*.*.x",
            "a_b.example",
        ] {
            assert!(parse_sni_name(bad).is_err(), "{bad}");
        }
        assert!(name_matches("*.example.org", "mail.example.org"));
        assert!(!name_matches("*.example.org", "example.org"));
        assert!(!name_matches("*.example.org", "a.mail.example.org"));
        assert!(name_matches("mail.example.org", "mail.example.org"));
    }
}
