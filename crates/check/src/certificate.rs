//! The TLS session a real client gets: one rustls handshake that records the certificate
//! chain whatever it is (so an untrusted chain can still be described), then a separate
//! verification of that chain against the trust anchors — the system's, or a given CA file.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::CheckError;
use crate::target::{Mode, Target, capability_words, printable, read_line};

/// What one certificate of the chain says.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertificateInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub names: Vec<String>,
    /// Key type and size, e.g. `RSA 2048` or `EC 256`.
    pub key: String,
    /// Key size in bits (0 when unknown).
    pub key_bits: usize,
    /// Signature algorithm name or OID.
    pub signature: String,
    /// SHA-1 or MD5 signature.
    pub weak_signature: bool,
}

/// The negotiated TLS session and what the server says inside it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TlsSession {
    /// Protocol version a default modern client negotiates.
    pub version: String,
    /// Cipher suite a default modern client negotiates.
    pub suite: String,
    /// ALPN protocol, if the server chose one.
    pub alpn: Option<String>,
    /// The chain as sent, leaf first.
    pub chain: Vec<CertificateInfo>,
    /// `Ok` when the chain verifies for the server name, else why not.
    pub verification: Result<(), String>,
    /// The greeting inside TLS (implicit TLS only).
    pub greeting: Option<String>,
    /// CAPABILITY inside TLS.
    pub capabilities: Vec<String>,
}

/// Accepts any chain, keeping it for later inspection.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(|p| p.into_inner()) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Handshakes like a modern client, then asks for the greeting and capabilities.
pub(crate) fn session(target: &Target) -> Result<TlsSession, CheckError> {
    let provider = provider();
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        provider: Arc::clone(&provider),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| CheckError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"imap".to_vec()];
    let name = server_name(target)?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name.clone())
        .map_err(|e| CheckError::Tls(e.to_string()))?;
    let stream = target.connect_for_tls()?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    tls.flush()
        .map_err(|e| CheckError::Tls(format!("handshake failed: {e}")))?;
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| CheckError::Tls(format!("handshake failed: {e}")))?;
    }
    let version = tls
        .conn
        .protocol_version()
        .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1."))
        .unwrap_or_default();
    let suite = tls
        .conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let alpn = tls
        .conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let chain = recorder
        .chain
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let verification = verify(&chain, &name, target);
    let mut reader = BufReader::new(tls);
    let greeting = match target.mode {
        Mode::Implicit => Some(read_line(&mut reader)?),
        Mode::StartTls => None,
    };
    reader
        .get_mut()
        .write_all(b"t1 CAPABILITY\r\n")
        .map_err(CheckError::io)?;
    let mut lines = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.starts_with("t1 ") {
            break;
        }
        lines.push(line);
    }
    let mut capabilities = capability_words(&lines);
    if capabilities.is_empty() {
        capabilities = greeting
            .iter()
            .flat_map(|g| capability_words(std::slice::from_ref(g)))
            .collect();
    }
    Ok(TlsSession {
        version,
        suite,
        alpn,
        chain: chain.iter().filter_map(|c| describe(c)).collect(),
        verification,
        greeting: greeting.map(|g| printable(&g)),
        capabilities,
    })
}

fn server_name(target: &Target) -> Result<ServerName<'static>, CheckError> {
    ServerName::try_from(target.server_name().to_owned())
        .map_err(|e| CheckError::Tls(format!("invalid server name: {e}")))
}

/// Verifies the chain for the name against the trust anchors.
fn verify(
    chain: &[CertificateDer<'static>],
    name: &ServerName<'static>,
    target: &Target,
) -> Result<(), String> {
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or("the server sent no certificate")?;
    let roots = trust_anchors(target)?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(leaf, intermediates, name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn trust_anchors(target: &Target) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match &target.options.ca {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
            {
                roots
                    .add(cert.map_err(|e| format!("{}: {e}", path.display()))?)
                    .map_err(|e| e.to_string())?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    if roots.is_empty() {
        return Err("no trust anchors (system store empty; pass --ca FILE)".into());
    }
    Ok(roots)
}

/// Names, validity, key and signature of one certificate.
fn describe(der: &CertificateDer<'_>) -> Option<CertificateInfo> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => names.push(ip_text(bytes)),
                _ => {}
            }
        }
    }
    let (key, key_bits) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_owned(), rsa.key_size()),
        Ok(PublicKey::EC(point)) => ("EC".to_owned(), point.key_size()),
        Ok(_) => ("other".to_owned(), 0),
        Err(_) => (cert.public_key().algorithm.algorithm.to_id_string(), 0),
    };
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let signature = signature_name(&oid).unwrap_or(&oid).to_owned();
    Some(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        names,
        key: format!("{key} {key_bits}"),
        key_bits,
        weak_signature: matches!(
            oid.as_str(),
            "1.2.840.113549.1.1.5"
                | "1.2.840.113549.1.1.4"
                | "1.2.840.10045.4.1"
                | "1.2.840.10040.4.3"
        ),
        signature,
    })
}

fn signature_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.3.101.112" => "Ed25519",
        _ => return None,
    })
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => format!("{bytes:?}"),
    }
}
