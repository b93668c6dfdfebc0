//! The PROXY protocol (HAProxy, versions 1 and 2): the header a load balancer sends before
//! anything else on a connection, carrying the address of the client it forwards.
//!
//! ```text
//! v1: "PROXY TCP4 192.0.2.7 198.51.100.1 56324 993\r\n"      (text, at most 107 bytes)
//!     "PROXY TCP6 2001:db8::7 2001:db8::1 56324 993\r\n"
//!     "PROXY UNKNOWN ...\r\n"                                  (use the real endpoints)
//! v2: \r\n\r\n\0\r\nQUIT\n | 0x2C (version 2, command) | family+transport | length (BE)
//!     | addresses (TCP4: 4+4+2+2 bytes, TCP6: 16+16+2+2) | TLVs (skipped)
//!     command LOCAL (0x20): a health check of the proxy itself: use the real endpoints
//! ```
//!
//! Only listeners with `proxy_protocol` read a header, and only from their trusted
//! proxies (everyone else is refused before this runs). The read is bounded in size
//! ([`MAX_V1_LEN`], [`MAX_V2_LEN`]) and time ([`HEADER_TIMEOUT`]), and takes exactly the
//! header's bytes from the socket, so what follows (a TLS ClientHello) is left for TLS.
//! What arrives is judged as it arrives: bytes that cannot begin a header end the read.
//! A trusted proxy's connection without a valid header is closed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The v2 signature, the first 12 bytes of every v2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest v1 header, CRLF included (the specification's bound).
pub const MAX_V1_LEN: usize = 107;

/// The longest v2 header accepted: 16 fixed bytes and the address block with its TLVs.
/// Addresses take at most 36 bytes; proxies add TLVs (ALPN, SNI, a unique id, cloud
/// endpoint ids) well within this.
pub const MAX_V2_LEN: usize = 16 + 1024;

/// Time a trusted proxy has to send its header.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// What a header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxiedAddress {
    /// The client's address and port as the proxy saw them.
    Client(SocketAddr),
    /// `LOCAL` (v2) or `UNKNOWN` (v1): the proxy speaks for itself (a health check); the
    /// real connection endpoints stand.
    Local,
}

/// A header that could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The connection does not start with either signature.
    #[error("no PROXY protocol header")]
    Missing,
    /// The header is malformed.
    #[error("invalid PROXY protocol header: {0}")]
    Invalid(&'static str),
    /// The header is longer than allowed.
    #[error("PROXY protocol header too long")]
    TooLong,
    /// The proxy did not send its header in time.
    #[error("no PROXY protocol header within {} s", HEADER_TIMEOUT.as_secs())]
    Timeout,
    /// The connection closed or failed while the header was read.
    #[error("connection lost while reading the PROXY protocol header")]
    Closed,
}

impl ProxyError {
    /// A short word for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            ProxyError::Missing => "missing",
            ProxyError::Invalid(_) => "invalid",
            ProxyError::TooLong => "too_long",
            ProxyError::Timeout => "timeout",
            ProxyError::Closed => "closed",
        }
    }
}

/// The result of looking at the start of a connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// A complete header of this many bytes.
    Complete(ProxiedAddress, usize),
    /// A header has begun; at least this many bytes in total are needed to go on.
    Incomplete(usize),
}

/// Decodes a header at the start of `bytes` (sans-I/O; the socket reader below and the
/// unit tests share it). Anything after the header is not looked at.
pub fn decode(bytes: &[u8]) -> Result<Decoded, ProxyError> {
    if bytes.len() < V2_SIGNATURE.len() {
        // Both signatures must stay possible for what has arrived.
        let v1 = b"PROXY ";
        let prefix = bytes.len().min(v1.len());
        if bytes[..prefix] != v1[..prefix] && !V2_SIGNATURE.starts_with(bytes) {
            return Err(ProxyError::Missing);
        }
        return Ok(Decoded::Incomplete(V2_SIGNATURE.len()));
    }
    if bytes.starts_with(&V2_SIGNATURE) {
        decode_v2(bytes)
    } else if bytes.starts_with(b"PROXY ") {
        decode_v1(bytes)
    } else {
        Err(ProxyError::Missing)
    }
}

fn decode_v1(bytes: &[u8]) -> Result<Decoded, ProxyError> {
    let window = &bytes[..bytes.len().min(MAX_V1_LEN)];
    let Some(end) = window.windows(2).position(|pair| pair == b"\r\n") else {
        if bytes.len() >= MAX_V1_LEN {
            return Err(ProxyError::TooLong);
        }
        if window.contains(&b'\n') {
            return Err(ProxyError::Invalid("a line feed without carriage return"));
        }
        return Ok(Decoded::Incomplete(bytes.len() + 1));
    };
    let line = std::str::from_utf8(&bytes[..end]).map_err(|_| ProxyError::Invalid("not ASCII"))?;
    let address = parse_v1_line(line)?;
    Ok(Decoded::Complete(address, end + 2))
}

/// `PROXY <proto> <src> <dst> <sport> <dport>` without its CRLF.
fn parse_v1_line(line: &str) -> Result<ProxiedAddress, ProxyError> {
    let rest = line
        .strip_prefix("PROXY ")
        .ok_or(ProxyError::Invalid("v1 header does not start with PROXY"))?;
    if rest == "UNKNOWN" || rest.starts_with("UNKNOWN ") {
        // "The receiver must ignore anything presented before the CRLF."
        return Ok(ProxiedAddress::Local);
    }
    let fields: Vec<&str> = rest.split(' ').collect();
    let [protocol, source, destination, source_port, destination_port] = fields[..] else {
        return Err(ProxyError::Invalid("v1 header needs five fields"));
    };
    // The destination is validated, not used: the listener's own address is known.
    let (source, _destination): (IpAddr, IpAddr) = match protocol {
        "TCP4" => (
            IpAddr::V4(parse_v1_ip::<Ipv4Addr>(source)?),
            IpAddr::V4(parse_v1_ip::<Ipv4Addr>(destination)?),
        ),
        "TCP6" => (
            IpAddr::V6(parse_v1_ip::<Ipv6Addr>(source)?),
            IpAddr::V6(parse_v1_ip::<Ipv6Addr>(destination)?),
        ),
        _ => {
            return Err(ProxyError::Invalid(
                "v1 protocol is not TCP4, TCP6 or UNKNOWN",
            ));
        }
    };
    let port = parse_v1_port(source_port)?;
    parse_v1_port(destination_port)?;
    Ok(ProxiedAddress::Client(SocketAddr::new(source, port)))
}

fn parse_v1_ip<T: std::str::FromStr>(text: &str) -> Result<T, ProxyError> {
    text.parse()
        .map_err(|_| ProxyError::Invalid("v1 address does not match its protocol"))
}

fn parse_v1_port(text: &str) -> Result<u16, ProxyError> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProxyError::Invalid("v1 port is not a number"));
    }
    text.parse()
        .map_err(|_| ProxyError::Invalid("v1 port out of range"))
}

fn decode_v2(bytes: &[u8]) -> Result<Decoded, ProxyError> {
    if bytes.len() < 16 {
        return Ok(Decoded::Incomplete(16));
    }
    let length = usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
    let total = 16 + length;
    if total > MAX_V2_LEN {
        return Err(ProxyError::TooLong);
    }
    if bytes[12] >> 4 != 2 {
        return Err(ProxyError::Invalid("v2 version is not 2"));
    }
    let command = bytes[12] & 0x0F;
    if command > 1 {
        return Err(ProxyError::Invalid("v2 command is neither LOCAL nor PROXY"));
    }
    if bytes.len() < total {
        return Ok(Decoded::Incomplete(total));
    }
    if command == 0 {
        // LOCAL: the address block (whatever it holds) is skipped.
        return Ok(Decoded::Complete(ProxiedAddress::Local, total));
    }
    let block = &bytes[16..total];
    let address = match bytes[13] {
        // UNSPEC: "the receiver ... may use the real endpoint addresses".
        0x00 => ProxiedAddress::Local,
        0x11 => {
            let block: &[u8; 12] = block
                .get(..12)
                .and_then(|b| b.try_into().ok())
                .ok_or(ProxyError::Invalid("v2 TCP4 address block too short"))?;
            let ip = Ipv4Addr::new(block[0], block[1], block[2], block[3]);
            let port = u16::from_be_bytes([block[8], block[9]]);
            ProxiedAddress::Client(SocketAddr::new(IpAddr::V4(ip), port))
        }
        0x21 => {
            let block: &[u8; 36] = block
                .get(..36)
                .and_then(|b| b.try_into().ok())
                .ok_or(ProxyError::Invalid("v2 TCP6 address block too short"))?;
            let mut octets = [0_u8; 16];
            octets.copy_from_slice(&block[..16]);
            let port = u16::from_be_bytes([block[32], block[33]]);
            ProxiedAddress::Client(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        _ => {
            return Err(ProxyError::Invalid(
                "v2 family/transport is not TCP over IPv4 or IPv6",
            ));
        }
    };
    Ok(Decoded::Complete(address, total))
}

/// Reads a header from `tcp`, taking exactly its bytes, within [`HEADER_TIMEOUT`].
pub(crate) async fn read_header(tcp: &mut TcpStream) -> Result<ProxiedAddress, ProxyError> {
    match timeout(HEADER_TIMEOUT, read_exactly_the_header(tcp)).await {
        Ok(result) => result,
        Err(_) => Err(ProxyError::Timeout),
    }
}

async fn read_exactly_the_header(tcp: &mut TcpStream) -> Result<ProxiedAddress, ProxyError> {
    let mut bytes = Vec::with_capacity(64);
    loop {
        match decode(&bytes)? {
            Decoded::Complete(address, _) => return Ok(address),
            Decoded::Incomplete(needed) => {
                // Never past the header: the bytes after it belong to TLS or IMAP. Each read
                // asks for at most what the header still needs (a v1 line: one byte at a
                // time once its first 12 are in, at most 107 reads, and only ever from a
                // trusted proxy); what arrived is judged at once, so a client that is not
                // a proxy is told apart after its first bytes.
                let start = bytes.len();
                bytes.resize(needed, 0);
                match tcp.read(&mut bytes[start..]).await {
                    Ok(0) | Err(_) => return Err(ProxyError::Closed),
                    Ok(n) => bytes.truncate(start + n),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> ProxiedAddress {
        ProxiedAddress::Client(text.parse().unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    fn complete(bytes: &[u8]) -> (ProxiedAddress, usize) {
        match decode(bytes) {
            Ok(Decoded::Complete(address, length)) => (address, length),
            other => panic!("{bytes:?}: {other:?}"),
        }
    }

    // The specification's examples (proxy-protocol.txt, 2.1).
    #[test]
    fn v1_examples_of_the_specification() {
        let line = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
        assert_eq!(
            complete(line),
            (client("255.255.255.255:65535"), line.len())
        );
        let line = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(line.len(), MAX_V1_LEN - 3);
        assert_eq!(
            complete(line),
            (
                client("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                line.len()
            )
        );
        assert_eq!(complete(b"PROXY UNKNOWN\r\n"), (ProxiedAddress::Local, 15));
        let line = b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(complete(line), (ProxiedAddress::Local, line.len()));
        let line = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
        assert_eq!(complete(line), (client("192.168.0.1:56324"), line.len()));
    }

    #[test]
    fn v1_leaves_the_bytes_after_the_header_alone() {
        let bytes = b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 993\r\n\x16\x03\x01";
        assert_eq!(
            complete(bytes),
            (client("192.0.2.7:40000"), bytes.len() - 3)
        );
    }

    #[test]
    fn v1_malformed_headers_are_refused() {
        for line in [
            &b"PROXY TCP4 192.0.2.7 198.51.100.1 40000\r\n"[..],
            b"PROXY TCP4 2001:db8::1 198.51.100.1 40000 993\r\n",
            b"PROXY TCP6 192.0.2.7 2001:db8::1 40000 993\r\n",
            b"PROXY TCP4 192.0.2.7  198.51.100.1 40000 993\r\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 65536 993\r\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 -1 993\r\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 +1 993\r\n",
            b"PROXY UDP4 192.0.2.7 198.51.100.1 40000 993\r\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 993\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 993 \r\n",
        ] {
            assert!(
                matches!(decode(line), Err(ProxyError::Invalid(_))),
                "{:?}: {:?}",
                String::from_utf8_lossy(line),
                decode(line)
            );
        }
        let mut long = b"PROXY TCP4 ".to_vec();
        long.resize(MAX_V1_LEN + 10, b'1');
        assert_eq!(decode(&long), Err(ProxyError::TooLong));
    }

    #[test]
    fn anything_else_is_no_header() {
        for bytes in [
            &b"a001 LOGIN alice secret\r\n"[..],
            b"a NOOP\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00",
            b"PROXX",
            b"\r\n\r\n\0\r\nQUIX",
        ] {
            assert_eq!(decode(bytes), Err(ProxyError::Missing), "{bytes:?}");
        }
    }

    #[test]
    fn partial_headers_ask_for_more_without_reading_past_them() {
        assert_eq!(decode(b""), Ok(Decoded::Incomplete(12)));
        assert_eq!(decode(b"PRO"), Ok(Decoded::Incomplete(12)));
        assert_eq!(decode(b"\r\n\r\n"), Ok(Decoded::Incomplete(12)));
        assert_eq!(decode(b"PROXY TCP4 1"), Ok(Decoded::Incomplete(13)));
        assert_eq!(decode(&V2_SIGNATURE), Ok(Decoded::Incomplete(16)));
        let mut v2 = V2_SIGNATURE.to_vec();
        v2.extend([0x21, 0x11, 0x00, 0x0C, 192, 0]);
        assert_eq!(decode(&v2), Ok(Decoded::Incomplete(28)));
    }

    fn v2(command: u8, family: u8, block: &[u8]) -> Vec<u8> {
        let mut bytes = V2_SIGNATURE.to_vec();
        bytes.push(0x20 | command);
        bytes.push(family);
        let length = u16::try_from(block.len()).unwrap_or(u16::MAX);
        bytes.extend(length.to_be_bytes());
        bytes.extend(block);
        bytes
    }

    // The specification's layout (proxy-protocol.txt, 2.2): TCP over IPv4 and IPv6, the
    // LOCAL command, TLVs after the addresses.
    #[test]
    fn v2_tcp4_tcp6_and_local() {
        // 192.0.2.7:56324 -> 198.51.100.1:993
        let tcp4 = [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54,
            0x0A, // signature
            0x21, // version 2, PROXY
            0x11, // AF_INET, STREAM
            0x00, 0x0C, // 12 bytes of addresses
            192, 0, 2, 7, // source
            198, 51, 100, 1, // destination
            0xDC, 0x04, // 56324
            0x03, 0xE1, // 993
        ];
        assert_eq!(complete(&tcp4), (client("192.0.2.7:56324"), 28));
        let mut block = Vec::new();
        block.extend(
            "2001:db8::7"
                .parse::<Ipv6Addr>()
                .map(|a| a.octets())
                .unwrap_or_default(),
        );
        block.extend(
            "2001:db8::1"
                .parse::<Ipv6Addr>()
                .map(|a| a.octets())
                .unwrap_or_default(),
        );
        block.extend([0xDC, 0x04, 0x03, 0xE1]);
        let tcp6 = v2(1, 0x21, &block);
        assert_eq!(complete(&tcp6), (client("[2001:db8::7]:56324"), 52));
        // LOCAL with no address block, and with one (ignored).
        assert_eq!(complete(&v2(0, 0x00, &[])), (ProxiedAddress::Local, 16));
        assert_eq!(
            complete(&v2(0, 0x11, &tcp4[16..])),
            (ProxiedAddress::Local, 28)
        );
        // PROXY over UNSPEC: the real endpoints.
        assert_eq!(complete(&v2(1, 0x00, &[])), (ProxiedAddress::Local, 16));
        // TLVs after the addresses are skipped: PP2_TYPE_ALPN "imap", then the data.
        let mut with_tlv = tcp4[16..].to_vec();
        with_tlv.extend([0x01, 0x00, 0x04]);
        with_tlv.extend(b"imap");
        let mut bytes = v2(1, 0x11, &with_tlv);
        let length = bytes.len();
        bytes.extend(b"\x16\x03\x01");
        assert_eq!(complete(&bytes), (client("192.0.2.7:56324"), length));
    }

    #[test]
    fn v2_malformed_headers_are_refused() {
        let tcp4 = [192, 0, 2, 7, 198, 51, 100, 1, 0xDC, 0x04, 0x03, 0xE1];
        // Version 1 in a v2 header, an unknown command, UDP, UNIX, a short block.
        let mut version = v2(1, 0x11, &tcp4);
        version[12] = 0x11;
        assert!(matches!(decode(&version), Err(ProxyError::Invalid(_))));
        assert!(matches!(
            decode(&v2(2, 0x11, &tcp4)),
            Err(ProxyError::Invalid(_))
        ));
        assert!(matches!(
            decode(&v2(1, 0x12, &tcp4)),
            Err(ProxyError::Invalid(_))
        ));
        assert!(matches!(
            decode(&v2(1, 0x31, &[0; 216])),
            Err(ProxyError::Invalid(_))
        ));
        assert!(matches!(
            decode(&v2(1, 0x11, &tcp4[..8])),
            Err(ProxyError::Invalid(_))
        ));
        assert!(matches!(
            decode(&v2(1, 0x21, &tcp4)),
            Err(ProxyError::Invalid(_))
        ));
        // Longer than allowed: refused from its length alone, before the block arrives.
        let mut long = V2_SIGNATURE.to_vec();
        long.extend([0x21, 0x11, 0xFF, 0xFF]);
        assert_eq!(decode(&long), Err(ProxyError::TooLong));
    }

    #[tokio::test]
    async fn the_reader_takes_exactly_the_header_from_the_socket() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let sender = tokio::spawn(async move {
            let mut tcp = TcpStream::connect(address)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            // Split writes: the header arrives in pieces, the data right behind it.
            tcp.write_all(b"PROXY TCP4 203.0.113.9 ")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tcp.flush().await.unwrap_or_else(|e| panic!("{e}"));
            tokio::time::sleep(Duration::from_millis(20)).await;
            tcp.write_all(b"127.0.0.1 41000 993\r\na1 NOOP\r\n")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tcp
        });
        let (mut tcp, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_header(&mut tcp).await, Ok(client("203.0.113.9:41000")));
        let mut rest = [0_u8; 9];
        tcp.read_exact(&mut rest)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&rest, b"a1 NOOP\r\n");
        drop(sender.await);
        // Short bytes that begin no header are refused as they arrive, without a wait.
        let sender = tokio::spawn(async move {
            let mut tcp = TcpStream::connect(address)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tcp.write_all(b"a NOOP\r\n")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tcp
        });
        let (mut tcp, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        let started = std::time::Instant::now();
        assert_eq!(read_header(&mut tcp).await, Err(ProxyError::Missing));
        assert!(started.elapsed() < HEADER_TIMEOUT);
        drop(sender.await);
    }
}
