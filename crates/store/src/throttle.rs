//! What the brute-force defence (`portcullis_auth::Throttle`) keeps across restarts: one
//! record per client address, address prefix or account name that failed to authenticate
//! recently or was banned. The store only keeps them; the policy that reads and writes them
//! lives in `auth`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::SystemTime;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThrottleKey {
    /// One client address.
    Ip(IpAddr),
    /// A network: its first address and prefix length (IPv4 /24, IPv6 /64 by default).
    Prefix(IpAddr, u8),
    /// A login name as the client gave it, normalised (lower case, control characters
    /// replaced, bounded in length). Not necessarily an existing account.
    Account(String),
}

impl ThrottleKey {
    /// `ip`, `prefix` or `account`.
    pub fn scope(&self) -> &'static str {
        match self {
            ThrottleKey::Ip(_) => "ip",
            ThrottleKey::Prefix(..) => "prefix",
            ThrottleKey::Account(_) => "account",
        }
    }

    /// The address, network (`address/length`) or name, without the scope.
    pub fn subject(&self) -> String {
        match self {
            ThrottleKey::Ip(ip) => ip.to_string(),
            ThrottleKey::Prefix(network, len) => format!("{network}/{len}"),
            ThrottleKey::Account(name) => name.clone(),
        }
    }
}

impl fmt::Display for ThrottleKey {
    /// The stored text form: `ip:192.0.2.7`, `prefix:2001:db8::/64`, `account:alice`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scope(), self.subject())
    }
}

/// A stored key that is not in the text form of [`ThrottleKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid throttle key {0:?}")]
pub struct ThrottleKeyError(pub String);

impl FromStr for ThrottleKey {
    type Err = ThrottleKeyError;

    fn from_str(text: &str) -> Result<ThrottleKey, ThrottleKeyError> {
        let invalid = || ThrottleKeyError(text.to_owned());
        let (kind, value) = text.split_once(':').ok_or_else(invalid)?;
        match kind {
            "ip" => value.parse().map(ThrottleKey::Ip).map_err(|_| invalid()),
            "prefix" => {
                let (network, len) = value.rsplit_once('/').ok_or_else(invalid)?;
                let network: IpAddr = network.parse().map_err(|_| invalid())?;
                let len: u8 = len.parse().map_err(|_| invalid())?;
                let max = if network.is_ipv4() { 32 } else { 128 };
                if len > max {
                    return Err(invalid());
                }
                Ok(ThrottleKey::Prefix(network, len))
            }
            "account" => Ok(ThrottleKey::Account(value.to_owned())),
            _ => Err(invalid()),
        }
    }
}

/// The state of one key. Times are kept to the millisecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRecord {
    /// Whose record.
    pub key: ThrottleKey,
    /// Failed authentications counted in the current window.
    pub failures: u32,
    /// When the current counting window began (its first failure).
    pub window_start: SystemTime,
    /// End of the current or last ban, if the key was ever banned.
    pub banned_until: Option<SystemTime>,
    /// Bans in a row (each doubles the next one's length).
    pub bans: u32,
    /// When the record may be forgotten: nothing about the key matters after this.
    pub expires: SystemTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_text_form() {
        let keys = [
            ThrottleKey::Ip("192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"))),
            ThrottleKey::Ip("2001:db8::1".parse().unwrap_or_else(|e| panic!("{e}"))),
            ThrottleKey::Prefix("192.0.2.0".parse().unwrap_or_else(|e| panic!("{e}")), 24),
            ThrottleKey::Prefix("2001:db8::".parse().unwrap_or_else(|e| panic!("{e}")), 64),
            ThrottleKey::Account("jürgen:x@example.org".to_owned()),
        ];
        for key in keys {
            assert_eq!(key.to_string().parse::<ThrottleKey>(), Ok(key.clone()));
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        for text in [
            "",
            "ip",
            "ip:nope",
            "prefix:10.0.0.0",
            "prefix:10.0.0.0/33",
            "x:y",
        ] {
            assert!(text.parse::<ThrottleKey>().is_err(), "{text}");
        }
    }
}
