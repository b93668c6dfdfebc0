//! The brute-force defence's policy, sans-I/O: every method takes the time (`now`) it
//! decides at, and returns what happened (bans, unbans) for the caller to log.
//!
//! ```text
//!   failed login ──► record_failure(ip, account) ──► counts: ip, prefix (/24, /64), account
//!                                                     ip ≥ ip_ban_failures      → ban ip
//!                                                     prefix ≥ prefix_ban_failures → ban prefix
//!   any login    ──► delay(ip, account) = f(max(ip count, account count))   (before checking)
//!   success      ──► record_success(ip): the ip's count starts again
//!   connect      ──► ban(ip): the ip's or its prefix's ban, if one is running
//!   every second ──► expire(): ended bans (for the audit log), forgotten keys
//! ```
//!
//! Failures are counted per key in a fixed window that starts at the key's first failure
//! (`window`). The delay grows with the larger of the address's and the account's count:
//! none for the first `free_failures`, then `initial_delay` doubling up to `max_delay`. It
//! depends on the counts only, never on whether the account exists or the password was
//! right, so its timing tells nothing. An account's count only ever delays: a ban is decided
//! by the address (and its prefix) alone, so an attacker elsewhere cannot lock a user out.
//! A ban lasts `ban`, doubled for each ban of the same key that follows the previous one's
//! end within `repeat_window`, up to `max_ban`. Trusted networks are never counted, delayed
//! or banned.
//!
//! The state is a map of [`ThrottleKey`] to counts; [`Throttle::take_changes`] hands the
//! keys changed since the last call to whoever persists them ([`ThrottleRecord`]s), and
//! [`Throttle::restore`] takes them back after a restart. At most `max_tracked` keys are
//! kept: when full, the key with the oldest window that is not banned makes room.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use portcullis_store::{ThrottleKey, ThrottleRecord};

use crate::network::{IpNetwork, canonical, prefix};

/// The policy's settings. [`ThrottleConfig::default`] is the secure default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures of a key are counted over this window, from its first failure.
    pub window: Duration,
    /// Failures (per address, per account) answered without delay.
    pub free_failures: u32,
    /// The first delay; it doubles with every further failure.
    pub initial_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Failures from one address that ban it.
    pub ip_ban_failures: u32,
    /// Failures from one prefix (all its addresses together) that ban the prefix.
    pub prefix_ban_failures: u32,
    /// Length of the IPv4 prefix counted together.
    pub ipv4_prefix: u8,
    /// Length of the IPv6 prefix counted together (a /64 is usually one customer).
    pub ipv6_prefix: u8,
    /// Length of a first ban.
    pub ban: Duration,
    /// The longest ban (doubling stops here).
    pub max_ban: Duration,
    /// A ban that starts within this time after the previous one ended is a repeat and
    /// lasts twice as long.
    pub repeat_window: Duration,
    /// Networks never counted, delayed or banned (webmail, monitoring, the office).
    pub trusted: Vec<IpNetwork>,
    /// Most keys tracked at once (memory bound against address and user name floods).
    pub max_tracked: usize,
}

impl Default for ThrottleConfig {
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            window: Duration::from_secs(15 * 60),
            free_failures: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            ip_ban_failures: 10,
            prefix_ban_failures: 50,
            ipv4_prefix: 24,
            ipv6_prefix: 64,
            ban: Duration::from_secs(15 * 60),
            max_ban: Duration::from_secs(24 * 60 * 60),
            repeat_window: Duration::from_secs(24 * 60 * 60),
            trusted: Vec::new(),
            max_tracked: 100_000,
        }
    }
}

/// A ban: of one address or of a whole prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// What is banned ([`ThrottleKey::Ip`] or [`ThrottleKey::Prefix`]).
    pub key: ThrottleKey,
    /// When it ends.
    pub until: SystemTime,
    /// How long it lasts.
    pub duration: Duration,
    /// Which ban of the key in a row this is (1 for the first).
    pub repeat: u32,
}

/// What a failure led to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureOutcome {
    /// Bans that this failure started (the address, its prefix, or both).
    pub bans: Vec<Ban>,
}

/// The counts of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    failures: u32,
    window_start: SystemTime,
    banned_until: Option<SystemTime>,
    bans: u32,
}

/// The brute-force defence's state.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    entries: HashMap<ThrottleKey, Entry>,
    /// Keys changed since the last [`Throttle::take_changes`].
    dirty: HashSet<ThrottleKey>,
    /// Keys dropped since the last [`Throttle::take_changes`].
    forgotten: HashSet<ThrottleKey>,
    /// Bans not yet reported as ended by [`Throttle::expire`].
    running: HashSet<ThrottleKey>,
}

impl Throttle {
    /// An empty state.
    pub fn new(config: ThrottleConfig) -> Throttle {
        Throttle {
            config,
            entries: HashMap::new(),
            dirty: HashSet::new(),
            forgotten: HashSet::new(),
            running: HashSet::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// Takes back persisted records. Expired ones are dropped (and reported by the next
    /// [`Throttle::take_changes`] so the store forgets them too). Returns the bans still
    /// running.
    pub fn restore(&mut self, records: Vec<ThrottleRecord>, now: SystemTime) -> Vec<Ban> {
        let mut running = Vec::new();
        for record in records {
            let entry = Entry {
                failures: record.failures,
                window_start: record.window_start,
                banned_until: record.banned_until,
                bans: record.bans,
            };
            if self.expiry(&entry) <= now {
                self.forgotten.insert(record.key);
                continue;
            }
            if let Some(until) = entry.banned_until.filter(|until| *until > now) {
                running.push(Ban {
                    key: record.key.clone(),
                    until,
                    duration: until.duration_since(now).unwrap_or_default(),
                    repeat: entry.bans,
                });
                self.running.insert(record.key.clone());
            }
            self.entries.insert(record.key, entry);
        }
        running
    }

    /// Whether `ip` is in a trusted network.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.config.trusted.iter().any(|net| net.contains(ip))
    }

    /// The running ban of `ip` or of its prefix, if any.
    pub fn ban(&self, ip: IpAddr, now: SystemTime) -> Option<Ban> {
        if self.is_trusted(ip) {
            return None;
        }
        [self.ip_key(ip), self.prefix_key(ip)]
            .into_iter()
            .find_map(|key| {
                let entry = self.entries.get(&key)?;
                let until = entry.banned_until.filter(|until| *until > now)?;
                Some(Ban {
                    duration: until.duration_since(now).unwrap_or_default(),
                    repeat: entry.bans,
                    until,
                    key,
                })
            })
    }

    /// How long to wait before checking a login of `account` from `ip`: it grows with the
    /// failures already counted for the address and for the account, never with the
    /// outcome of this attempt.
    pub fn delay(&self, ip: IpAddr, account: &str, now: SystemTime) -> Duration {
        if self.is_trusted(ip) {
            return Duration::ZERO;
        }
        let count = |key: ThrottleKey| {
            self.entries
                .get(&key)
                .map_or(0, |entry| self.live_failures(entry, now))
        };
        let failures = count(self.ip_key(ip)).max(count(account_key(account)));
        self.delay_for(failures)
    }

    /// The delay after `failures` counted failures.
    pub fn delay_for(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(self.config.free_failures) else {
            return Duration::ZERO;
        };
        let factor = 1_u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.config
            .initial_delay
            .checked_mul(factor)
            .unwrap_or(self.config.max_delay)
            .min(self.config.max_delay)
    }

    /// Counts a failed authentication of `account` from `ip`; bans the address and its
    /// prefix when they reach their thresholds.
    pub fn record_failure(&mut self, ip: IpAddr, account: &str, now: SystemTime) -> FailureOutcome {
        let mut outcome = FailureOutcome::default();
        if self.is_trusted(ip) {
            return outcome;
        }
        let account = account_key(account);
        self.count(account, now);
        let ip_key = self.ip_key(ip);
        let prefix_key = self.prefix_key(ip);
        for (key, threshold) in [
            (ip_key, self.config.ip_ban_failures),
            (prefix_key, self.config.prefix_ban_failures),
        ] {
            if let Some(failures) = self.count(key.clone(), now)
                && failures >= threshold
                && let Some(ban) = self.start_ban(&key, now)
            {
                outcome.bans.push(ban);
            }
        }
        outcome
    }

    /// A successful login from `ip`: the address's count starts again. (Its prefix's and
    /// the account's counts stay: other addresses' failures are not forgiven by one
    /// success.)
    pub fn record_success(&mut self, ip: IpAddr, now: SystemTime) {
        if self.is_trusted(ip) {
            return;
        }
        let key = self.ip_key(ip);
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        if entry.failures == 0 {
            return;
        }
        entry.failures = 0;
        entry.window_start = now;
        let entry = entry.clone();
        if self.expiry(&entry) <= now {
            self.forget(key);
        } else {
            self.dirty.insert(key);
        }
    }

    /// Bans that have ended since the last call (for the audit log), and drops the keys
    /// nothing depends on any more.
    pub fn expire(&mut self, now: SystemTime) -> Vec<ThrottleKey> {
        let mut ended: Vec<ThrottleKey> = self
            .running
            .iter()
            .filter(|key| {
                self.entries
                    .get(*key)
                    .and_then(|entry| entry.banned_until)
                    .is_none_or(|until| until <= now)
            })
            .cloned()
            .collect();
        ended.sort();
        for key in &ended {
            self.running.remove(key);
        }
        let dead: Vec<ThrottleKey> = self
            .entries
            .iter()
            .filter(|(_, entry)| self.expiry(entry) <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in dead {
            self.forget(key);
        }
        ended
    }

    /// The records changed and the keys dropped since the last call, for the store.
    pub fn take_changes(&mut self) -> (Vec<ThrottleRecord>, Vec<ThrottleKey>) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut save: Vec<ThrottleRecord> = dirty
            .into_iter()
            .filter_map(|key| {
                let entry = self.entries.get(&key)?;
                Some(ThrottleRecord {
                    failures: entry.failures,
                    window_start: entry.window_start,
                    banned_until: entry.banned_until,
                    bans: entry.bans,
                    expires: self.expiry(entry),
                    key,
                })
            })
            .collect();
        save.sort_by(|a, b| a.key.cmp(&b.key));
        let mut forget: Vec<ThrottleKey> =
            std::mem::take(&mut self.forgotten).into_iter().collect();
        forget.sort();
        (save, forget)
    }

    /// Marks keys as changed again (their save failed; the next one retries).
    pub fn requeue(&mut self, save: Vec<ThrottleKey>, forget: Vec<ThrottleKey>) {
        for key in save {
            if self.entries.contains_key(&key) {
                self.dirty.insert(key);
            }
        }
        for key in forget {
            if !self.entries.contains_key(&key) {
                self.forgotten.insert(key);
            }
        }
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    // ---- internals ----------------------------------------------------------------

    fn ip_key(&self, ip: IpAddr) -> ThrottleKey {
        ThrottleKey::Ip(canonical(ip))
    }

    fn prefix_key(&self, ip: IpAddr) -> ThrottleKey {
        let ip = canonical(ip);
        let len = if ip.is_ipv4() {
            self.config.ipv4_prefix.min(32)
        } else {
            self.config.ipv6_prefix.min(128)
        };
        ThrottleKey::Prefix(prefix(ip, len), len)
    }

    /// The failures of `entry` that are still in their window.
    fn live_failures(&self, entry: &Entry, now: SystemTime) -> u32 {
        if now < entry.window_start + self.config.window {
            entry.failures
        } else {
            0
        }
    }

    /// When nothing about the entry matters any more: its window is over and its last ban
    /// can no longer be repeated.
    fn expiry(&self, entry: &Entry) -> SystemTime {
        let window_end = entry.window_start + self.config.window;
        match entry.banned_until {
            Some(until) if entry.bans > 0 => window_end.max(until + self.config.repeat_window),
            _ => window_end,
        }
    }

    /// Adds a failure to `key`; returns its count in the window (`None` when the table is
    /// full of bans and the key could not be tracked).
    fn count(&mut self, key: ThrottleKey, now: SystemTime) -> Option<u32> {
        if !self.entries.contains_key(&key) && !self.make_room(now) {
            return None;
        }
        let window = self.config.window;
        let entry = self.entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            window_start: now,
            banned_until: None,
            bans: 0,
        });
        if now >= entry.window_start + window || entry.failures == 0 {
            entry.failures = 0;
            entry.window_start = now;
        }
        entry.failures = entry.failures.saturating_add(1);
        let failures = entry.failures;
        self.forgotten.remove(&key);
        self.dirty.insert(key);
        Some(failures)
    }

    /// Bans `key` unless it is banned already; its count starts again.
    fn start_ban(&mut self, key: &ThrottleKey, now: SystemTime) -> Option<Ban> {
        let (base, max, repeat_window) = (
            self.config.ban,
            self.config.max_ban,
            self.config.repeat_window,
        );
        let entry = self.entries.get_mut(key)?;
        if entry.banned_until.is_some_and(|until| until > now) {
            return None;
        }
        let repeats = entry
            .banned_until
            .is_some_and(|until| now < until + repeat_window);
        entry.bans = if repeats {
            entry.bans.saturating_add(1)
        } else {
            1
        };
        let factor = 1_u32
            .checked_shl(entry.bans.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let duration = base.checked_mul(factor).unwrap_or(max).min(max);
        let until = now + duration;
        entry.banned_until = Some(until);
        entry.failures = 0;
        entry.window_start = now;
        let repeat = entry.bans;
        self.dirty.insert(key.clone());
        self.running.insert(key.clone());
        Some(Ban {
            key: key.clone(),
            until,
            duration,
            repeat,
        })
    }

    /// Makes room for one more key: drops expired keys, then the unbanned key with the
    /// oldest window. False when every tracked key is a running ban.
    fn make_room(&mut self, now: SystemTime) -> bool {
        if self.entries.len() < self.config.max_tracked {
            return true;
        }
        let dead: Vec<ThrottleKey> = self
            .entries
            .iter()
            .filter(|(_, entry)| self.expiry(entry) <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in dead {
            self.forget(key);
        }
        if self.entries.len() < self.config.max_tracked {
            return true;
        }
        let oldest = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.banned_until.is_none_or(|until| until <= now))
            .min_by_key(|(_, entry)| entry.window_start)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => {
                self.forget(key);
                true
            }
            None => false,
        }
    }

    fn forget(&mut self, key: ThrottleKey) {
        self.entries.remove(&key);
        self.dirty.remove(&key);
        self.running.remove(&key);
        self.forgotten.insert(key);
    }
}

/// The key counting an account's failures: the name as given, ASCII lower-cased (as
/// account names are), control characters replaced, at most 255 characters. Unknown names
/// are counted like known ones.
pub fn account_key(given: &str) -> ThrottleKey {
    ThrottleKey::Account(
        given
            .chars()
            .take(255)
            .map(|c| {
                if c.is_control() {
                    '?'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Duration = Duration::from_secs(1_700_000_000);

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// A clock for the tests: seconds after a fixed start.
    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + START + Duration::from_secs(seconds)
    }

    fn throttle() -> Throttle {
        Throttle::new(ThrottleConfig::default())
    }

    fn fail(throttle: &mut Throttle, from: &str, account: &str, n: u32, now: SystemTime) {
        for _ in 0..n {
            throttle.record_failure(ip(from), account, now);
        }
    }

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        let mut t = throttle();
        let ms = |d: Duration| d.as_millis();
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(ms(t.delay(ip("192.0.2.1"), "alice", at(0))));
            t.record_failure(ip("192.0.2.1"), "alice", at(0));
        }
        assert_eq!(seen, [0, 0, 500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(t.delay_for(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn the_delay_does_not_depend_on_the_outcome_or_the_account_existing() {
        // The delay is computed before the check, from counts alone: a known and an unknown
        // name with the same history get the same delay.
        let mut t = throttle();
        fail(&mut t, "192.0.2.1", "alice", 3, at(0));
        fail(&mut t, "192.0.2.2", "nobody-such", 3, at(0));
        assert_eq!(
            t.delay(ip("192.0.2.1"), "alice", at(1)),
            t.delay(ip("192.0.2.2"), "nobody-such", at(1))
        );
    }

    #[test]
    fn an_address_is_banned_at_its_threshold_and_its_neighbours_are_not() {
        let mut t = throttle();
        for n in 1..10_u32 {
            let outcome = t.record_failure(ip("192.0.2.1"), &format!("user{n}"), at(n.into()));
            assert!(outcome.bans.is_empty(), "failure {n}");
        }
        assert_eq!(t.ban(ip("192.0.2.1"), at(9)), None);
        let outcome = t.record_failure(ip("192.0.2.1"), "user10", at(10));
        assert_eq!(
            outcome.bans,
            vec![Ban {
                key: ThrottleKey::Ip(ip("192.0.2.1")),
                until: at(10 + 900),
                duration: Duration::from_secs(900),
                repeat: 1,
            }]
        );
        assert!(t.ban(ip("192.0.2.1"), at(11)).is_some());
        assert!(t.ban(ip("::ffff:192.0.2.1"), at(11)).is_some(), "mapped");
        assert_eq!(
            t.ban(ip("192.0.2.2"), at(11)),
            None,
            "same /24, own address"
        );
        assert_eq!(t.ban(ip("192.0.2.1"), at(910)), None, "the ban ended");
    }

    #[test]
    fn a_prefix_is_banned_at_its_higher_threshold() {
        let mut t = throttle();
        // 50 failures spread over 10 addresses of one /24: no address reaches 10.
        let mut bans = Vec::new();
        for n in 0..50_u32 {
            let from = format!("198.51.100.{}", n % 10 + 1);
            bans.extend(t.record_failure(ip(&from), "root", at(n.into())).bans);
        }
        assert_eq!(bans.len(), 1, "{bans:?}");
        assert_eq!(bans[0].key, ThrottleKey::Prefix(ip("198.51.100.0"), 24));
        assert!(
            t.ban(ip("198.51.100.200"), at(60)).is_some(),
            "the whole /24"
        );
        assert_eq!(t.ban(ip("198.51.101.1"), at(60)), None);
        // IPv6: a /64 is one network.
        let mut t = throttle();
        for n in 0..50_u32 {
            t.record_failure(ip(&format!("2001:db8:7:7::{:x}", n + 1)), "root", at(0));
        }
        assert!(t.ban(ip("2001:db8:7:7:ffff::1"), at(1)).is_some());
        assert_eq!(t.ban(ip("2001:db8:7:8::1"), at(1)), None);
    }

    #[test]
    fn repeat_bans_double_up_to_the_maximum_and_reset_after_the_repeat_window() {
        let mut t = throttle();
        let mut now = 0;
        let mut durations = Vec::new();
        for _ in 0..9 {
            fail(&mut t, "203.0.113.9", "x", 9, at(now));
            let ban = t.record_failure(ip("203.0.113.9"), "x", at(now)).bans;
            let ban = ban.into_iter().next().unwrap_or_else(|| panic!("no ban"));
            durations.push(ban.duration.as_secs() / 60);
            now = ban.until.duration_since(at(0)).map_or(0, |d| d.as_secs());
        }
        assert_eq!(durations, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
        // A ban more than a day after the last one ended is a first ban again.
        now += 24 * 60 * 60 + 1;
        fail(&mut t, "203.0.113.9", "x", 9, at(now));
        let ban = t.record_failure(ip("203.0.113.9"), "x", at(now)).bans;
        assert_eq!(ban[0].repeat, 1);
        assert_eq!(ban[0].duration, Duration::from_secs(900));
    }

    #[test]
    fn accounts_are_delayed_never_banned() {
        let mut t = throttle();
        // 100 attackers, one failure each, all against alice.
        for n in 1..=100_u32 {
            let from = format!("10.{}.{}.1", n / 200, n % 200);
            let outcome = t.record_failure(ip(&from), "Alice", at(0));
            assert!(outcome.bans.is_empty());
        }
        // alice from her own address: delayed (capped), never refused.
        assert_eq!(t.ban(ip("192.0.2.50"), at(1)), None);
        assert_eq!(
            t.delay(ip("192.0.2.50"), "alice", at(1)),
            Duration::from_secs(5)
        );
        assert_eq!(t.delay(ip("192.0.2.50"), "bob", at(1)), Duration::ZERO);
        // The window ends, and so does the delay.
        assert_eq!(t.delay(ip("192.0.2.50"), "alice", at(900)), Duration::ZERO);
    }

    #[test]
    fn failures_expire_with_their_window() {
        let mut t = throttle();
        fail(&mut t, "192.0.2.1", "a", 9, at(0));
        assert_eq!(
            t.delay(ip("192.0.2.1"), "b", at(899)),
            Duration::from_secs(5)
        );
        // After the window, the count starts again: 9 old + 1 new failures do not ban.
        let outcome = t.record_failure(ip("192.0.2.1"), "a", at(900));
        assert!(outcome.bans.is_empty());
        assert_eq!(t.delay(ip("192.0.2.1"), "b", at(901)), Duration::ZERO);
    }

    #[test]
    fn success_resets_the_address_only() {
        let mut t = throttle();
        fail(&mut t, "192.0.2.1", "alice", 4, at(0));
        t.record_success(ip("192.0.2.1"), at(1));
        assert_eq!(t.delay(ip("192.0.2.1"), "bob", at(2)), Duration::ZERO);
        assert_eq!(
            t.delay(ip("192.0.2.1"), "alice", at(2)),
            Duration::from_secs(2),
            "the account's own count stays"
        );
        // Nine more failures do not ban: the count started again at the success.
        fail(&mut t, "192.0.2.1", "x", 9, at(3));
        assert_eq!(t.ban(ip("192.0.2.1"), at(3)), None);
    }

    #[test]
    fn trusted_networks_are_exempt() {
        let mut t = Throttle::new(ThrottleConfig {
            trusted: vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))],
            ..ThrottleConfig::default()
        });
        for _ in 0..100 {
            assert!(
                t.record_failure(ip("10.1.2.3"), "alice", at(0))
                    .bans
                    .is_empty()
            );
        }
        assert_eq!(t.ban(ip("10.1.2.3"), at(0)), None);
        assert_eq!(t.delay(ip("10.1.2.3"), "alice", at(0)), Duration::ZERO);
        assert_eq!(t.tracked(), 0, "nothing counted");
        // The account was not counted either, so alice is not delayed elsewhere.
        assert_eq!(t.delay(ip("192.0.2.1"), "alice", at(0)), Duration::ZERO);
    }

    #[test]
    fn expiry_reports_ended_bans_once_and_forgets_dead_keys() {
        let mut t = throttle();
        fail(&mut t, "192.0.2.1", "a", 10, at(0));
        let _ = t.take_changes();
        assert_eq!(t.expire(at(899)), vec![]);
        assert_eq!(t.expire(at(900)), vec![ThrottleKey::Ip(ip("192.0.2.1"))]);
        assert_eq!(t.expire(at(901)), vec![]);
        // The address's record stays for the repeat window; the prefix's and the account's
        // go with their failure window.
        let (_, forgotten) = t.take_changes();
        assert_eq!(
            forgotten,
            vec![ThrottleKey::Prefix(ip("192.0.2.0"), 24), account_key("a")]
        );
        assert_eq!(t.tracked(), 1);
        t.expire(at(900 + 86_399));
        assert_eq!(t.tracked(), 1);
        t.expire(at(900 + 86_400));
        let (saved, forgotten) = t.take_changes();
        assert!(saved.is_empty());
        assert_eq!(forgotten, vec![ThrottleKey::Ip(ip("192.0.2.1"))]);
        assert_eq!(t.tracked(), 0);
    }

    #[test]
    fn state_survives_a_round_trip_through_records() {
        let mut t = throttle();
        fail(&mut t, "192.0.2.1", "alice", 10, at(0));
        fail(&mut t, "192.0.2.9", "bob", 3, at(5));
        let (records, forgotten) = t.take_changes();
        assert!(forgotten.is_empty());
        assert_eq!(records.len(), 5, "{records:?}");
        let mut restored = throttle();
        let running = restored.restore(records.clone(), at(10));
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].key, ThrottleKey::Ip(ip("192.0.2.1")));
        assert!(restored.ban(ip("192.0.2.1"), at(10)).is_some());
        assert_eq!(
            restored.delay(ip("192.0.2.9"), "x", at(10)),
            Duration::from_millis(1000)
        );
        // Restored after everything expired: nothing kept, and the store is told to forget.
        let mut late = throttle();
        assert!(late.restore(records, at(10 * 86_400)).is_empty());
        assert_eq!(late.tracked(), 0);
        assert_eq!(late.take_changes().1.len(), 5);
    }

    #[test]
    fn the_table_is_bounded_and_bans_are_never_evicted() {
        let mut t = Throttle::new(ThrottleConfig {
            max_tracked: 4,
            ip_ban_failures: 1,
            prefix_ban_failures: 1000,
            ..ThrottleConfig::default()
        });
        t.record_failure(ip("192.0.2.1"), "a", at(0)); // ip, prefix, account: 3 keys
        assert!(t.ban(ip("192.0.2.1"), at(1)).is_some());
        for n in 0..20 {
            t.record_failure(ip("192.0.2.1"), &format!("name{n}"), at(n + 1));
            assert!(t.tracked() <= 4);
        }
        assert!(t.ban(ip("192.0.2.1"), at(30)).is_some(), "the ban stays");
    }

    #[test]
    fn account_keys_are_normalised() {
        assert_eq!(account_key("Alice"), account_key("alice"));
        assert_eq!(
            account_key("a\r\nb"),
            ThrottleKey::Account("a??b".to_owned())
        );
        let ThrottleKey::Account(long) = account_key(&"x".repeat(1000)) else {
            panic!("an account key")
        };
        assert_eq!(long.len(), 255);
    }
}
