//! Listener and connection options. Every limit is a named option with a safe default.

use portcullis_auth::IpNetwork;
use portcullis_proto::framing::FrameLimits;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::{ListenerKind, LmtpAddress, TlsConfig};

/// The most bytes one read takes from a connection: it bounds how many pipelined commands
/// can arrive at once (`max_pipelined_commands`).
pub const READ_CHUNK: usize = 64 * 1024;

/// What to listen on and how.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// IMAP listeners: implicit TLS (production: port 993) and plaintext with STARTTLS
    /// (port 143; none to disable it), each with its exposure rules.
    pub listeners: Vec<ListenerConfig>,
    /// LMTP listeners (loopback TCP or Unix sockets); empty for none.
    pub lmtp: Vec<LmtpAddress>,
    /// The certificates.
    pub tls: TlsConfig,
    /// Per-connection limits.
    pub limits: ConnectionLimits,
}

impl NetConfig {
    /// The addresses of the listeners of one kind.
    pub fn addresses(&self, kind: ListenerKind) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|listener| listener.kind == kind)
            .map(|listener| listener.address)
            .collect()
    }
}

/// One IMAP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Implicit TLS or plaintext with STARTTLS.
    pub kind: ListenerKind,
    /// Where.
    pub address: SocketAddr,
    /// Who may connect and how the client's address is learnt.
    pub rules: Arc<ExposureRules>,
}

impl ListenerConfig {
    /// A listener open to every address, without PROXY protocol.
    pub fn open(kind: ListenerKind, address: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            kind,
            address,
            rules: Arc::new(ExposureRules::default()),
        }
    }
}

/// A listener's exposure rules, judged at accept before any TLS. The default admits every
/// address, reads no PROXY header, and allows no authentication without TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExposureRules {
    /// When not empty, only client addresses in these networks are served.
    pub allow: Vec<IpNetwork>,
    /// Client addresses in these networks are refused (before `allow`).
    pub deny: Vec<IpNetwork>,
    /// Connections come through a load balancer speaking the PROXY protocol (v1 or v2):
    /// only `trusted_proxies` may connect, each connection must start with a header, and
    /// the client address it carries is the one every later check and log sees.
    pub proxy_protocol: bool,
    /// The proxies' networks (required with `proxy_protocol`).
    pub trusted_proxies: Vec<IpNetwork>,
    /// Client networks allowed to LOGIN and AUTHENTICATE without TLS on a plaintext
    /// listener (they see `AUTH=PLAIN` instead of `LOGINDISABLED`); empty: nobody.
    pub plaintext_auth_networks: Vec<IpNetwork>,
}

/// Why [`ExposureRules::admit`] refuses a client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkRefusal {
    /// The address is in `deny`.
    Denied,
    /// `allow` is not empty and the address is in none of its networks.
    NotAllowed,
}

impl NetworkRefusal {
    /// The audit log's reason.
    pub fn reason(self) -> &'static str {
        match self {
            NetworkRefusal::Denied => "denied",
            NetworkRefusal::NotAllowed => "not_allowed",
        }
    }
}

impl ExposureRules {
    /// Whether a client address may connect: `deny` first, then `allow`.
    pub fn admit(&self, client: IpAddr) -> Result<(), NetworkRefusal> {
        if self.deny.iter().any(|network| network.contains(client)) {
            return Err(NetworkRefusal::Denied);
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|network| network.contains(client)) {
            return Err(NetworkRefusal::NotAllowed);
        }
        Ok(())
    }

    /// Whether `peer` (the TCP peer) may send a PROXY header.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|network| network.contains(peer))
    }

    /// Whether the client may authenticate without TLS.
    pub fn plaintext_auth_allowed(&self, client: IpAddr) -> bool {
        self.plaintext_auth_networks
            .iter()
            .any(|network| network.contains(client))
    }
}

/// Connection limits and timeouts. The caps by client address (per address, before
/// authentication, per account and address) and the brute-force defence belong to the
/// guard (`portcullis_auth::GuardConfig`), which the session shares.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once; more are greeted with `* BYE [LIMIT]`.
    pub max_connections: usize,
    /// Commands one connection may have waiting for their answers: the complete commands
    /// that arrived in one read (reads are at most [`READ_CHUNK`] bytes). A client that
    /// sends more is not a mail client; it gets `* BYE [LIMIT]` and is disconnected.
    /// Real pipelining clients (mbsync, iOS Mail) stay far below.
    pub max_pipelined_commands: usize,
    /// Time to complete TLS and authentication.
    pub pre_auth_timeout: Duration,
    /// Inactivity before an authenticated session is logged out (RFC 9051 5.4: at least
    /// 30 minutes).
    pub idle_timeout: Duration,
    /// Interval of `* OK Still here` during IDLE, so NAT gateways keep the flow.
    pub idle_heartbeat: Duration,
    /// Command size limits.
    pub frame: FrameLimits,
    /// Time connections get to finish after SIGTERM before the server exits anyway.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 10_000,
            max_pipelined_commands: 1000,
            pre_auth_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            idle_heartbeat: Duration::from_secs(120),
            frame: FrameLimits::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn networks(list: &[&str]) -> Vec<IpNetwork> {
        list.iter()
            .map(|text| text.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn deny_wins_over_allow_and_an_empty_allow_list_admits_everyone() {
        let open = ExposureRules::default();
        assert_eq!(open.admit(ip("203.0.113.9")), Ok(()));
        let internal = ExposureRules {
            allow: networks(&["10.0.0.0/8", "2001:db8::/32"]),
            deny: networks(&["10.9.0.0/16"]),
            ..ExposureRules::default()
        };
        assert_eq!(internal.admit(ip("10.1.2.3")), Ok(()));
        assert_eq!(internal.admit(ip("::ffff:10.1.2.3")), Ok(()), "IPv4-mapped");
        assert_eq!(internal.admit(ip("2001:db8::5")), Ok(()));
        assert_eq!(internal.admit(ip("10.9.0.1")), Err(NetworkRefusal::Denied));
        assert_eq!(
            internal.admit(ip("203.0.113.9")),
            Err(NetworkRefusal::NotAllowed)
        );
        let deny_only = ExposureRules {
            deny: networks(&["192.0.2.0/24"]),
            ..ExposureRules::default()
        };
        assert_eq!(
            deny_only.admit(ip("192.0.2.1")),
            Err(NetworkRefusal::Denied)
        );
        assert_eq!(deny_only.admit(ip("192.0.3.1")), Ok(()));
    }

    #[test]
    fn trusted_proxies_and_plaintext_networks_are_exact() {
        let rules = ExposureRules {
            proxy_protocol: true,
            trusted_proxies: networks(&["10.0.0.5"]),
            plaintext_auth_networks: networks(&["10.1.0.0/16"]),
            ..ExposureRules::default()
        };
        assert!(rules.is_trusted_proxy(ip("10.0.0.5")));
        assert!(!rules.is_trusted_proxy(ip("10.0.0.6")));
        assert!(rules.plaintext_auth_allowed(ip("10.1.200.1")));
        assert!(!rules.plaintext_auth_allowed(ip("10.2.0.1")));
        assert!(!ExposureRules::default().plaintext_auth_allowed(ip("127.0.0.1")));
    }
}
