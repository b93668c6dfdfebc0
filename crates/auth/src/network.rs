//! IP networks in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`) and address prefixes.
//!
//! Addresses are compared in their canonical form: an IPv4-mapped IPv6 address
//! (`::ffff:192.0.2.7`, what a dual-stack `[::]` listener reports for IPv4 clients) is the
//! IPv4 address it maps, so that one client is one key whichever listener it came through.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network: an address with its host bits cleared and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    network: IpAddr,
    len: u8,
}

/// Text that is not `address/length` with a length that fits the address family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a network in CIDR notation (such as 192.0.2.0/24 or 2001:db8::/32)")]
pub struct IpNetworkError(pub String);

impl IpNetwork {
    /// The network of `len` bits containing `address` (host bits cleared); `None` when
    /// `len` is longer than the address.
    pub fn new(address: IpAddr, len: u8) -> Option<IpNetwork> {
        let address = canonical(address);
        (len <= max_len(address)).then(|| IpNetwork {
            network: prefix(address, len),
            len,
        })
    }

    /// The first address of the network.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether the prefix is empty (`0.0.0.0/0`, `::/0`: every address of the family).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `address` (canonicalised) is in the network. IPv4 networks never contain
    /// IPv6 addresses and the other way round.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && prefix(address, self.len) == self.network
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

impl FromStr for IpNetwork {
    type Err = IpNetworkError;

    /// `address/length`, or a bare address for the network of that one address. Host bits
    /// must be zero (`192.0.2.1/24` is refused: it is usually a typo for a different intent).
    fn from_str(text: &str) -> Result<IpNetwork, IpNetworkError> {
        let invalid = || IpNetworkError(text.to_owned());
        let (address, len) = match text.split_once('/') {
            Some((address, len)) => {
                let address: IpAddr = address.trim().parse().map_err(|_| invalid())?;
                let len: u8 = len.trim().parse().map_err(|_| invalid())?;
                (address, len)
            }
            None => {
                let address: IpAddr = text.trim().parse().map_err(|_| invalid())?;
                (address, max_len(canonical(address)))
            }
        };
        let network = IpNetwork::new(address, len).ok_or_else(invalid)?;
        if network.network != canonical(address) {
            return Err(invalid());
        }
        Ok(network)
    }
}

/// The address itself, or the IPv4 address an IPv4-mapped IPv6 address stands for.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// `address` with every bit after the first `len` cleared (`len` beyond the address's
/// length keeps it whole).
pub fn prefix(address: IpAddr, len: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

fn max_len(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn net(text: &str) -> IpNetwork {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let lan = net("192.0.2.0/24");
        assert!(lan.contains(ip("192.0.2.0")) && lan.contains(ip("192.0.2.255")));
        assert!(!lan.contains(ip("192.0.3.1")));
        assert!(lan.contains(ip("::ffff:192.0.2.9")), "IPv4-mapped IPv6");
        assert!(!lan.contains(ip("2001:db8::1")));
        let v6 = net("2001:db8:aa::/48");
        assert!(v6.contains(ip("2001:db8:aa:ffff::1")));
        assert!(!v6.contains(ip("2001:db8:ab::1")));
        assert!(!v6.contains(ip("192.0.2.1")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.5")));
        assert!(net("::/0").contains(ip("::1")));
        assert!(!net("::/0").contains(ip("127.0.0.1")));
        assert_eq!(net("127.0.0.1"), net("127.0.0.1/32"));
    }

    #[test]
    fn invalid_networks_are_refused() {
        for text in [
            "",
            "192.0.2.0/33",
            "2001:db8::/129",
            "192.0.2.1/24",
            "192.0.2.0/",
            "example.org/24",
            "10.0.0.0/-1",
        ] {
            assert!(text.parse::<IpNetwork>().is_err(), "{text}");
        }
    }

    #[test]
    fn prefixes_clear_host_bits() {
        assert_eq!(prefix(ip("198.51.100.77"), 24), ip("198.51.100.0"));
        assert_eq!(prefix(ip("198.51.100.77"), 0), ip("0.0.0.0"));
        assert_eq!(prefix(ip("198.51.100.77"), 32), ip("198.51.100.77"));
        assert_eq!(prefix(ip("2001:db8:1:2:3:4:5:6"), 64), ip("2001:db8:1:2::"));
        assert_eq!(prefix(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(canonical(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(canonical(ip("::1")), ip("::1"));
        assert_eq!(net("2001:db8::/64").to_string(), "2001:db8::/64".to_owned());
    }
}
