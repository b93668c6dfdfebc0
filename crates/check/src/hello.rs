//! Raw TLS ClientHello probes: which protocol versions and cipher suites a server accepts.
//!
//! Why raw: a real client library only speaks what it considers safe (rustls has no TLS 1.0
//! or 1.1 and no weak suites), but the question here is what the *server* still accepts. A
//! probe sends one ClientHello offering exactly one version (and some or one suite) and reads
//! the first record back: a ServerHello that picked what we offered means "accepted", an
//! alert or a closed connection means "refused". No handshake is completed, so nothing here
//! needs cryptography.

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum TlsVersion {
    /// TLS 1.0 (RFC 2246), deprecated by RFC 8996.
    #[serde(rename = "TLS 1.0")]
    Tls10,
    /// TLS 1.1 (RFC 4346), deprecated by RFC 8996.
    #[serde(rename = "TLS 1.1")]
    Tls11,
    /// TLS 1.2 (RFC 5246).
    #[serde(rename = "TLS 1.2")]
    Tls12,
    /// TLS 1.3 (RFC 8446).
    #[serde(rename = "TLS 1.3")]
    Tls13,
}

impl TlsVersion {
    /// Every version probed, oldest first.
    pub const ALL: [TlsVersion; 4] = [
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    fn wire(self) -> u16 {
        match self {
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    fn from_wire(value: u16) -> Option<TlsVersion> {
        TlsVersion::ALL.into_iter().find(|v| v.wire() == value)
    }

    /// `TLS 1.2` style name.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }
}

/// How a cipher suite is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// AEAD with forward secrecy.
    Strong,
    /// Works but is discouraged: CBC mode, or no forward secrecy.
    Weak,
    /// Broken: RC4, 3DES, NULL, export-grade or anonymous.
    Broken,
}

/// A cipher suite the probe knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// IANA code point.
    pub code: u16,
    /// IANA name.
    pub name: &'static str,
    /// Judgement.
    pub strength: Strength,
}

const fn suite(code: u16, name: &'static str, strength: Strength) -> Suite {
    Suite {
        code,
        name,
        strength,
    }
}

/// The TLS 1.3 suites (RFC 8446 B.4).
pub const TLS13_SUITES: &[Suite] = &[
    suite(0x1301, "TLS_AES_128_GCM_SHA256", Strength::Strong),
    suite(0x1302, "TLS_AES_256_GCM_SHA384", Strength::Strong),
    suite(0x1303, "TLS_CHACHA20_POLY1305_SHA256", Strength::Strong),
];

/// Suites probed for TLS 1.0–1.2: the strong ones clients use and the weak and broken ones
/// the hardening guides warn about.
pub const LEGACY_SUITES: &[Suite] = &[
    suite(
        0xc02b,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Strength::Strong,
    ),
    suite(
        0xc02c,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Strength::Strong,
    ),
    suite(
        0xc02f,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Strength::Strong,
    ),
    suite(
        0xc030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Strength::Strong,
    ),
    suite(
        0xcca8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Strength::Strong,
    ),
    suite(
        0xcca9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Strength::Strong,
    ),
    suite(
        0x009e,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Strength::Strong,
    ),
    suite(
        0x009f,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Strength::Strong,
    ),
    suite(
        0xc009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        Strength::Weak,
    ),
    suite(
        0xc00a,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        Strength::Weak,
    ),
    suite(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Strength::Weak),
    suite(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", Strength::Weak),
    suite(
        0xc023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        Strength::Weak,
    ),
    suite(
        0xc027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        Strength::Weak,
    ),
    suite(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", Strength::Weak),
    suite(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", Strength::Weak),
    suite(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", Strength::Weak),
    suite(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", Strength::Weak),
    suite(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", Strength::Weak),
    suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", Strength::Weak),
    suite(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", Strength::Weak),
    suite(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", Strength::Broken),
    suite(
        0xc012,
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        Strength::Broken,
    ),
    suite(0x0005, "TLS_RSA_WITH_RC4_128_SHA", Strength::Broken),
    suite(0x0004, "TLS_RSA_WITH_RC4_128_MD5", Strength::Broken),
    suite(0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", Strength::Broken),
    suite(0x0001, "TLS_RSA_WITH_NULL_MD5", Strength::Broken),
    suite(0x0002, "TLS_RSA_WITH_NULL_SHA", Strength::Broken),
    suite(0x003b, "TLS_RSA_WITH_NULL_SHA256", Strength::Broken),
    suite(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", Strength::Broken),
    suite(
        0x0008,
        "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
        Strength::Broken,
    ),
    suite(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", Strength::Broken),
    suite(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", Strength::Broken),
    suite(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", Strength::Broken),
    suite(
        0xc018,
        "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
        Strength::Broken,
    ),
];

/// The suites to offer for a version.
pub fn suites_for(version: TlsVersion) -> &'static [Suite] {
    match version {
        TlsVersion::Tls13 => TLS13_SUITES,
        _ => LEGACY_SUITES,
    }
}

/// What the server answered to a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello choosing this version and suite.
    Accepted {
        /// The negotiated version.
        version: TlsVersion,
        /// The chosen suite.
        suite: u16,
    },
    /// A TLS alert (its description code), or a ServerHello for something we did not offer.
    Refused(String),
}

/// Builds a ClientHello record offering exactly `version` and `suites`, with the extensions
/// real clients send (SNI, groups, point formats, signature algorithms, renegotiation info,
/// and for TLS 1.3 supported_versions and an X25519 key share).
pub fn client_hello(
    version: TlsVersion,
    suites: &[u16],
    server_name: Option<&str>,
    random: [u8; 32],
) -> Vec<u8> {
    let tls13 = version == TlsVersion::Tls13;
    let mut body = Vec::with_capacity(512);
    // TLS 1.3 hides in a 1.2 hello (RFC 8446 4.1.2: legacy_version 0x0303).
    body.extend_from_slice(&(if tls13 { 0x0303 } else { version.wire() }).to_be_bytes());
    body.extend_from_slice(&random);
    // A 32-byte session id: middlebox compatibility mode for 1.3, harmless before.
    body.push(32);
    body.extend_from_slice(&random);
    push_u16_list(&mut body, suites);
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut extensions = Vec::new();
    if let Some(name) = server_name.filter(|n| n.parse::<std::net::IpAddr>().is_err()) {
        let name = name.as_bytes();
        let mut list = vec![0u8];
        push_u16_prefixed(&mut list, name);
        let mut sni = Vec::new();
        push_u16_prefixed(&mut sni, &list);
        extension(&mut extensions, 0x0000, &sni);
    }
    let mut groups = Vec::new();
    push_u16_list(&mut groups, &[0x001d, 0x0017, 0x0018, 0x0019]);
    extension(&mut extensions, 0x000a, &groups);
    extension(&mut extensions, 0x000b, &[1, 0]);
    let mut signatures = Vec::new();
    push_u16_list(
        &mut signatures,
        &[
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
        ],
    );
    extension(&mut extensions, 0x000d, &signatures);
    extension(&mut extensions, 0xff01, &[0]);
    if tls13 {
        extension(&mut extensions, 0x002b, &[2, 0x03, 0x04]);
        let mut share = Vec::new();
        share.extend_from_slice(&0x001du16.to_be_bytes());
        push_u16_prefixed(&mut share, &random);
        let mut shares = Vec::new();
        push_u16_prefixed(&mut shares, &share);
        extension(&mut extensions, 0x0033, &shares);
        extension(&mut extensions, 0x002d, &[1, 1]); // psk_dhe_ke
    }
    push_u16_prefixed(&mut body, &extensions);
    let mut handshake = vec![1u8];
    push_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

fn push_u16(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&u16::try_from(value).unwrap_or(u16::MAX).to_be_bytes());
}

fn push_u24(out: &mut Vec<u8>, value: usize) {
    let value = u32::try_from(value).unwrap_or(0xff_ffff).min(0xff_ffff);
    out.extend_from_slice(&value.to_be_bytes()[1..]);
}

fn push_u16_prefixed(out: &mut Vec<u8>, data: &[u8]) {
    push_u16(out, data.len());
    out.extend_from_slice(data);
}

fn push_u16_list(out: &mut Vec<u8>, values: &[u16]) {
    push_u16(out, values.len() * 2);
    for value in values {
        out.extend_from_slice(&value.to_be_bytes());
    }
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16_prefixed(out, data);
}

/// Reads the answer from the first record(s) the server sent: `None` when more bytes are
/// needed.
pub fn parse_answer(bytes: &[u8], offered: &[u16]) -> Option<Answer> {
    let header = bytes.get(..5)?;
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let record = bytes.get(5..5 + length)?;
    match header[0] {
        0x15 => Some(Answer::Refused(format!(
            "alert {}",
            record.get(1).copied().unwrap_or(0)
        ))),
        0x16 => Some(server_hello(record, offered)),
        other => Some(Answer::Refused(format!("unexpected record type {other}"))),
    }
}

fn server_hello(handshake: &[u8], offered: &[u16]) -> Answer {
    let mut reader = Reader(handshake);
    let parsed = (|| {
        if reader.u8()? != 2 {
            return None;
        }
        let _length = reader.take(3)?;
        let legacy_version = reader.u16()?;
        let _random = reader.take(32)?;
        let session_id = usize::from(reader.u8()?);
        reader.take(session_id)?;
        let suite = reader.u16()?;
        let _compression = reader.u8()?;
        let mut version = legacy_version;
        if let Some(length) = reader.u16() {
            let mut extensions = Reader(reader.take(usize::from(length))?);
            while let (Some(kind), Some(size)) = (extensions.u16(), extensions.u16()) {
                let data = extensions.take(usize::from(size))?;
                if kind == 0x002b && data.len() == 2 {
                    version = u16::from_be_bytes([data[0], data[1]]);
                }
            }
        }
        Some((version, suite))
    })();
    match parsed {
        Some((version, suite)) if offered.contains(&suite) => {
            match TlsVersion::from_wire(version) {
                Some(version) => Answer::Accepted { version, suite },
                None => Answer::Refused(format!("unknown version {version:#06x}")),
            }
        }
        Some((_, suite)) => {
            Answer::Refused(format!("server chose suite {suite:#06x}, not offered"))
        }
        None => Answer::Refused("malformed ServerHello".to_owned()),
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_is_well_formed() {
        let hello = client_hello(
            TlsVersion::Tls12,
            &[0xc02f, 0x002f],
            Some("mail.example.org"),
            [7; 32],
        );
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        let length = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(hello.len(), 5 + length);
        assert_eq!(hello[5], 1, "ClientHello");
        assert_eq!(&hello[9..11], &[0x03, 0x03]);
        let sni = b"mail.example.org";
        assert!(hello.windows(sni.len()).any(|w| w == sni));
        let ip = client_hello(TlsVersion::Tls10, &[0x002f], Some("127.0.0.1"), [7; 32]);
        assert!(
            !ip.windows(9).any(|w| w == b"127.0.0.1"),
            "no SNI for IP addresses"
        );
        assert_eq!(&ip[9..11], &[0x03, 0x01]);
    }

    fn server_hello_record(version: u16, suite: u16, supported_version: Option<u16>) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0; 32]);
        body.push(0);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        if let Some(v) = supported_version {
            let mut ext = vec![0x00, 0x2b, 0x00, 0x02];
            ext.extend_from_slice(&v.to_be_bytes());
            push_u16_prefixed(&mut body, &ext);
        }
        let mut handshake = vec![2u8];
        push_u24(&mut handshake, body.len());
        handshake.extend_from_slice(&body);
        let mut record = vec![0x16, 0x03, 0x03];
        push_u16(&mut record, handshake.len());
        record.extend_from_slice(&handshake);
        record
    }

    #[test]
    fn server_hellos_and_alerts_are_read() {
        let tls12 = server_hello_record(0x0303, 0xc02f, None);
        assert_eq!(
            parse_answer(&tls12, &[0xc02f]),
            Some(Answer::Accepted {
                version: TlsVersion::Tls12,
                suite: 0xc02f
            })
        );
        assert_eq!(parse_answer(&tls12[..20], &[0xc02f]), None, "incomplete");
        let tls13 = server_hello_record(0x0303, 0x1301, Some(0x0304));
        assert_eq!(
            parse_answer(&tls13, &[0x1301]),
            Some(Answer::Accepted {
                version: TlsVersion::Tls13,
                suite: 0x1301
            })
        );
        let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70];
        assert_eq!(
            parse_answer(&alert, &[0x1301]),
            Some(Answer::Refused("alert 70".into()))
        );
        assert!(matches!(
            parse_answer(&tls12, &[0x002f]),
            Some(Answer::Refused(_))
        ));
    }
}
