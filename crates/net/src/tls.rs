//! TLS configuration: rustls with the aws-lc-rs provider, TLS 1.2 and 1.3 only (rustls
//! implements nothing older), ALPN `imap` (RFC 9051 11.1 / RFC 7301 registry).
//!
//! Certificates come from PEM files in the config; with none configured, a self-signed
//! certificate is generated once into the data directory and reused, and its SHA-256
//! fingerprint is logged so users can verify what their client shows.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Validity of a generated certificate. Short enough that a forgotten development
/// certificate does not live for ever; it is renewed at start when it nears its end.
const SELF_SIGNED_DAYS: i64 = 365;

/// A certificate that ends within this many days is renewed (generated) or warned about.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A ready TLS configuration with what to tell the operator about it.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    /// The rustls server configuration.
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the leaf certificate, as `AB:CD:...`.
    pub fingerprint: String,
    /// Whether the certificate was generated just now.
    pub generated: bool,
    /// End of the leaf certificate's validity, Unix seconds (`None` if unreadable).
    pub not_after: Option<i64>,
}

/// Builds the server TLS configuration.
pub fn load(source: &TlsSource) -> Result<TlsSetup, TlsError> {
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
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"imap".to_vec()];
    // Choose suites in rustls' order (strongest first) rather than the client's: every
    // offered suite is safe either way, but scanners (testssl.sh) flag a server without its
    // own cipher order.
    config.ignore_client_order = true;
    Ok(TlsSetup {
        config: Arc::new(config),
        fingerprint,
        generated,
        not_after,
    })
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
        let first = load(&source).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.generated);
        assert_eq!(first.config.alpn_protocols, vec![b"imap".to_vec()]);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        let second = load(&source).unwrap_or_else(|e| panic!("{e}"));
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
        let error = load(&source)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
    }
}
