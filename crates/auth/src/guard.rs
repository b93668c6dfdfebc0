//! The guard: one object, shared by every connection of a server, that admits connections
//! and judges logins by client address. It combines the brute-force [`Throttle`] with the
//! connection counts per address and per account and address, reads the time from an
//! injected [`Clock`], and persists the throttle's state through the [`Store`].
//!
//! ```text
//!  net (accept, client address known) ── admit(ip) ──► Banned  → plaintext BYE, close
//!                                                   ├► Limit   → BYE [LIMIT], close
//!                                                   └► ConnectionTicket (counts the
//!                                                        connection; pre-auth until
//!                                                        ticket.authenticated())
//!  session LOGIN/AUTHENTICATE ── banned(ip)? → NO + BYE, no password check
//!                              ├ login_delay(ip, name) → sleep, then check the password
//!                              ├ failure → login_failed(ip, name) → bans → persist now
//!                              └ success → login_succeeded(ip, account) → LoginTicket or
//!                                          LimitHit (NO [LIMIT])
//!  server, every second ── expire() → ended bans; persist(store) → one batched write
//! ```
//!
//! The guard receives the client's address, not a socket: whatever finds that address
//! (the TCP peer today; a PROXY protocol header from a trusted proxy, a per-listener
//! network check later) runs before [`Guard::admit`].
//!
//! Persistence: failure counts are written behind, in one batch per [`Guard::persist`]
//! call (the server calls it every second), so a failed login costs no fsync of its own; a
//! crash loses at most the last second of counts. A new ban is persisted before the login
//! that caused it is answered, so a ban is never lost. Calls to [`Guard::persist`] take
//! turns, so an older state can never overwrite a newer one in the store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use portcullis_store::{Store, StoreResult, ThrottleKey};

use crate::clock::Clock;
use crate::network::canonical;
use crate::throttle::{Ban, FailureOutcome, Throttle, ThrottleConfig};

/// What a banned address is told (at connect, and when a ban ends its session).
pub const BANNED_TEXT: &str = "Too many failed logins from your address, try again later";

/// Connection caps by client address. [`ConnectionCaps::default`] is the secure default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// Connections from one address at once (trusted networks are exempt).
    pub per_ip: u32,
    /// Connections from one address that have not logged in yet (slowloris; trusted
    /// networks are exempt).
    pub preauth_per_ip: u32,
    /// Logged-in connections of one account from one address.
    pub per_user_ip: u32,
}

impl Default for ConnectionCaps {
    fn default() -> ConnectionCaps {
        ConnectionCaps {
            per_ip: 50,
            preauth_per_ip: 10,
            per_user_ip: 10,
        }
    }
}

/// Everything the guard enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardConfig {
    /// Brute-force defence.
    pub throttle: ThrottleConfig,
    /// Connection caps.
    pub connections: ConnectionCaps,
}

/// Which cap a connection or login ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// [`ConnectionCaps::per_ip`].
    ConnectionsPerIp(u32),
    /// [`ConnectionCaps::preauth_per_ip`].
    PreAuthPerIp(u32),
    /// [`ConnectionCaps::per_user_ip`].
    ConnectionsPerUserIp(u32),
}

impl LimitHit {
    /// The configuration key of the cap, for logs.
    pub fn setting(self) -> &'static str {
        match self {
            LimitHit::ConnectionsPerIp(_) => "max_connections_per_ip",
            LimitHit::PreAuthPerIp(_) => "max_preauth_connections_per_ip",
            LimitHit::ConnectionsPerUserIp(_) => "max_connections_per_user_ip",
        }
    }

    /// The cap's value.
    pub fn value(self) -> u32 {
        match self {
            LimitHit::ConnectionsPerIp(n)
            | LimitHit::PreAuthPerIp(n)
            | LimitHit::ConnectionsPerUserIp(n) => n,
        }
    }
}

/// Why a connection is not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The address or its prefix is banned.
    Banned(Ban),
    /// A connection cap.
    Limit(LimitHit),
}

#[derive(Debug, Default)]
struct Counts {
    open: u32,
    preauth: u32,
}

/// Connections by address and logins by (account, address).
#[derive(Debug, Default)]
struct Table {
    per_ip: HashMap<IpAddr, Counts>,
    per_user_ip: HashMap<(String, IpAddr), u32>,
}

/// The guard of one server.
#[derive(Debug)]
pub struct Guard {
    throttle: Mutex<Throttle>,
    table: Arc<Mutex<Table>>,
    caps: ConnectionCaps,
    clock: Arc<dyn Clock>,
    /// Held while persisting: writes reach the store in the order their states were taken.
    persisting: tokio::sync::Mutex<()>,
}

impl Guard {
    /// A guard with nothing counted yet.
    pub fn new(config: GuardConfig, clock: Arc<dyn Clock>) -> Guard {
        Guard {
            throttle: Mutex::new(Throttle::new(config.throttle)),
            table: Arc::default(),
            caps: config.connections,
            clock,
            persisting: tokio::sync::Mutex::new(()),
        }
    }

    /// The guard's time.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Whether `ip` is in a trusted network.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.throttle().is_trusted(ip)
    }

    /// Admits a connection from `ip`: refused while the address or its prefix is banned,
    /// or when it would pass [`ConnectionCaps::per_ip`] or
    /// [`ConnectionCaps::preauth_per_ip`]. The ticket counts the connection until dropped.
    pub fn admit(&self, ip: IpAddr) -> Result<ConnectionTicket, Refusal> {
        let ip = canonical(ip);
        let (ban, trusted) = {
            let throttle = self.throttle();
            (throttle.ban(ip, self.now()), throttle.is_trusted(ip))
        };
        if let Some(ban) = ban {
            return Err(Refusal::Banned(ban));
        }
        let mut table = lock(&self.table);
        let counts = table.per_ip.entry(ip).or_default();
        if !trusted {
            if counts.open >= self.caps.per_ip {
                return Err(Refusal::Limit(LimitHit::ConnectionsPerIp(self.caps.per_ip)));
            }
            if counts.preauth >= self.caps.preauth_per_ip {
                return Err(Refusal::Limit(LimitHit::PreAuthPerIp(
                    self.caps.preauth_per_ip,
                )));
            }
        }
        counts.open += 1;
        counts.preauth += 1;
        Ok(ConnectionTicket {
            table: Arc::clone(&self.table),
            ip,
            preauth: true,
        })
    }

    /// The running ban of `ip` or its prefix.
    pub fn banned(&self, ip: IpAddr) -> Option<Ban> {
        self.throttle().ban(ip, self.now())
    }

    /// How long to wait before checking a login of `account` (as given) from `ip`.
    pub fn login_delay(&self, ip: IpAddr, account: &str) -> Duration {
        self.throttle().delay(ip, account, self.now())
    }

    /// Counts a failed login; returns the bans it started. The caller persists them
    /// ([`Guard::persist`]) before answering.
    pub fn login_failed(&self, ip: IpAddr, account: &str) -> FailureOutcome {
        let now = self.now();
        self.throttle().record_failure(ip, account, now)
    }

    /// A login with the right credentials: the address's failure count starts again, and
    /// the session counts against [`ConnectionCaps::per_user_ip`] until the ticket drops.
    pub fn login_succeeded(&self, ip: IpAddr, account: &str) -> Result<LoginTicket, LimitHit> {
        let ip = canonical(ip);
        let now = self.now();
        self.throttle().record_success(ip, now);
        let key = (account.to_owned(), ip);
        let mut table = lock(&self.table);
        let count = table.per_user_ip.entry(key.clone()).or_insert(0);
        if *count >= self.caps.per_user_ip {
            if *count == 0 {
                table.per_user_ip.remove(&key);
            }
            return Err(LimitHit::ConnectionsPerUserIp(self.caps.per_user_ip));
        }
        *count += 1;
        Ok(LoginTicket {
            table: Arc::clone(&self.table),
            key,
        })
    }

    /// Bans that ended since the last call; drops what nothing depends on any more.
    pub fn expire(&self) -> Vec<ThrottleKey> {
        let now = self.now();
        self.throttle().expire(now)
    }

    /// Loads the persisted state (at start-up); returns the bans still running.
    pub async fn restore(&self, store: &dyn Store) -> StoreResult<Vec<Ban>> {
        let records = store.throttle_records().await?;
        let now = self.now();
        let running = self.throttle().restore(records, now);
        // Expired records are forgotten in the store too.
        self.persist(store).await?;
        Ok(running)
    }

    /// Writes what changed since the last call in one store transaction. On failure the
    /// changes stay pending for the next call.
    pub async fn persist(&self, store: &dyn Store) -> StoreResult<()> {
        let _turn = self.persisting.lock().await;
        let (save, forget) = self.throttle().take_changes();
        if save.is_empty() && forget.is_empty() {
            return Ok(());
        }
        let keys: Vec<ThrottleKey> = save.iter().map(|record| record.key.clone()).collect();
        if let Err(error) = store.save_throttle(save, forget.clone()).await {
            self.throttle().requeue(keys, forget);
            return Err(error);
        }
        Ok(())
    }

    /// Keys the throttle tracks (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.throttle().tracked()
    }

    fn throttle(&self) -> MutexGuard<'_, Throttle> {
        lock(&self.throttle)
    }
}

/// One admitted connection. Dropping it frees its place in the counts.
#[derive(Debug)]
pub struct ConnectionTicket {
    table: Arc<Mutex<Table>>,
    ip: IpAddr,
    preauth: bool,
}

impl ConnectionTicket {
    /// The connection has logged in: it no longer counts as pre-authentication.
    pub fn authenticated(&mut self) {
        if std::mem::take(&mut self.preauth) {
            let mut table = lock(&self.table);
            if let Some(counts) = table.per_ip.get_mut(&self.ip) {
                counts.preauth = counts.preauth.saturating_sub(1);
            }
        }
    }

    /// Whether the connection is still before authentication.
    pub fn is_preauth(&self) -> bool {
        self.preauth
    }
}

impl Drop for ConnectionTicket {
    fn drop(&mut self) {
        let mut table = lock(&self.table);
        if let Some(counts) = table.per_ip.get_mut(&self.ip) {
            counts.open = counts.open.saturating_sub(1);
            if self.preauth {
                counts.preauth = counts.preauth.saturating_sub(1);
            }
            if counts.open == 0 {
                table.per_ip.remove(&self.ip);
            }
        }
    }
}

/// One logged-in session of an account from an address. Dropping it frees its place.
#[derive(Debug)]
pub struct LoginTicket {
    table: Arc<Mutex<Table>>,
    key: (String, IpAddr),
}

impl Drop for LoginTicket {
    fn drop(&mut self) {
        let mut table = lock(&self.table);
        if let Some(count) = table.per_user_ip.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                table.per_user_ip.remove(&self.key);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update of these tables is a few integer changes that cannot be left half done.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn guard(caps: ConnectionCaps) -> (Guard, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ));
        let config = GuardConfig {
            throttle: ThrottleConfig {
                trusted: vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))],
                ..ThrottleConfig::default()
            },
            connections: caps,
        };
        (Guard::new(config, clock.clone()), clock)
    }

    fn caps(per_ip: u32, preauth_per_ip: u32, per_user_ip: u32) -> ConnectionCaps {
        ConnectionCaps {
            per_ip,
            preauth_per_ip,
            per_user_ip,
        }
    }

    #[test]
    fn preauth_connections_per_address_are_capped_until_they_log_in() {
        let (guard, _) = guard(caps(5, 2, 10));
        let mut first = guard
            .admit(ip("192.0.2.1"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let _second = guard
            .admit(ip("::ffff:192.0.2.1"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            guard.admit(ip("192.0.2.1")).err(),
            Some(Refusal::Limit(LimitHit::PreAuthPerIp(2)))
        );
        assert!(guard.admit(ip("192.0.2.2")).is_ok(), "another address");
        first.authenticated();
        let third = guard.admit(ip("192.0.2.1"));
        assert!(third.is_ok());
        drop(third);
        // Trusted networks are exempt.
        let trusted: Vec<_> = (0..20).map(|_| guard.admit(ip("10.9.9.9"))).collect();
        assert!(trusted.iter().all(Result::is_ok));
    }

    #[test]
    fn connections_per_address_are_capped_and_freed_on_drop() {
        let (guard, _) = guard(caps(3, 3, 10));
        let mut tickets: Vec<ConnectionTicket> = (0..3)
            .map(|_| {
                guard
                    .admit(ip("2001:db8::1"))
                    .unwrap_or_else(|e| panic!("{e:?}"))
            })
            .collect();
        for ticket in &mut tickets {
            ticket.authenticated();
        }
        assert_eq!(
            guard.admit(ip("2001:db8::1")).err(),
            Some(Refusal::Limit(LimitHit::ConnectionsPerIp(3)))
        );
        tickets.pop();
        assert!(guard.admit(ip("2001:db8::1")).is_ok());
        drop(tickets);
        assert!(lock(&guard.table).per_ip.is_empty(), "nothing left behind");
    }

    #[test]
    fn logins_per_account_and_address_are_capped() {
        let (guard, _) = guard(caps(50, 10, 2));
        let a = guard.login_succeeded(ip("192.0.2.1"), "alice");
        let b = guard.login_succeeded(ip("192.0.2.1"), "alice");
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(
            guard.login_succeeded(ip("192.0.2.1"), "alice").err(),
            Some(LimitHit::ConnectionsPerUserIp(2))
        );
        assert!(guard.login_succeeded(ip("192.0.2.2"), "alice").is_ok());
        assert!(guard.login_succeeded(ip("192.0.2.1"), "bob").is_ok());
        drop(a);
        assert!(guard.login_succeeded(ip("192.0.2.1"), "alice").is_ok());
    }

    #[test]
    fn a_banned_address_is_refused_until_the_ban_ends() {
        let (guard, clock) = guard(ConnectionCaps::default());
        for _ in 0..10 {
            guard.login_failed(ip("198.51.100.7"), "root");
        }
        let Err(Refusal::Banned(ban)) = guard.admit(ip("198.51.100.7")) else {
            panic!("not banned")
        };
        assert_eq!(ban.key, ThrottleKey::Ip(ip("198.51.100.7")));
        assert!(guard.admit(ip("198.51.100.8")).is_ok(), "its neighbour");
        clock.advance(Duration::from_secs(899));
        assert!(guard.admit(ip("198.51.100.7")).is_err());
        assert!(guard.expire().is_empty());
        clock.advance(Duration::from_secs(1));
        assert!(guard.admit(ip("198.51.100.7")).is_ok());
        assert_eq!(guard.expire(), vec![ThrottleKey::Ip(ip("198.51.100.7"))]);
    }

    #[test]
    fn the_clock_drives_the_delay() {
        let (guard, clock) = guard(ConnectionCaps::default());
        for _ in 0..4 {
            guard.login_failed(ip("192.0.2.1"), "alice");
        }
        assert_eq!(
            guard.login_delay(ip("192.0.2.1"), "x"),
            Duration::from_secs(2)
        );
        clock.advance(Duration::from_secs(15 * 60));
        assert_eq!(guard.login_delay(ip("192.0.2.1"), "x"), Duration::ZERO);
    }

    #[tokio::test]
    async fn bans_and_counts_survive_a_restart_through_the_store() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = portcullis_store_sqlite::SqliteStore::open(dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let (before, clock) = guard(ConnectionCaps::default());
        for _ in 0..10 {
            before.login_failed(ip("198.51.100.7"), "root");
        }
        for _ in 0..3 {
            before.login_failed(ip("192.0.2.1"), "alice");
        }
        before
            .persist(&store)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let after = Guard::new(GuardConfig::default(), clock.clone());
        let running = after
            .restore(&store)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(running.len(), 1);
        assert!(matches!(
            after.admit(ip("198.51.100.7")),
            Err(Refusal::Banned(_))
        ));
        assert_eq!(
            after.login_delay(ip("192.0.2.1"), "x"),
            Duration::from_millis(1000)
        );
        // A day and a bit later everything has expired: a restore forgets it in the store.
        clock.advance(Duration::from_secs(26 * 60 * 60));
        let late = Guard::new(GuardConfig::default(), clock);
        assert!(
            late.restore(&store)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );
        assert_eq!(late.tracked(), 0);
        assert!(
            store
                .throttle_records()
                .await
                .unwrap_or_default()
                .is_empty()
        );
    }
}
