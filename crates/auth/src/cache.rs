//! The auth cache: recent successful verifications, so that a reconnect storm (a phone
//! waking up, a webmail opening ten connections) does not pay an argon2id verification per
//! connection.
//!
//! An entry is a keyed BLAKE2b MAC of (user, password, stored hash) under a key that lives
//! only in this process's memory, with an expiry. Nothing in it can be turned back into a
//! password, and because the stored hash is part of the MAC, a password change (a new hash)
//! misses by construction — no invalidation to forget. Only successes are cached: unknown
//! users and wrong passwords always pay the full verification, so timing still says nothing
//! about which accounts exist. (A hit is faster than a miss, but only for someone who
//! already sent the right password.)

use blake2::Blake2bMac512;
use blake2::digest::{KeyInit, Mac};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

/// A 32-byte MAC identifying one (user, password, stored hash) triple.
type Fingerprint = [u8; 32];

/// Recent successful verifications.
#[derive(Debug)]
pub(crate) struct AuthCache {
    key: [u8; 64],
    ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<Fingerprint, SystemTime>>,
}

impl AuthCache {
    /// A cache keeping entries for `ttl`, at most `capacity` of them (`ttl` zero disables it).
    pub(crate) fn new(ttl: Duration, capacity: usize, clock: Arc<dyn Clock>) -> AuthCache {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut key = [0u8; 64];
        OsRng.fill_bytes(&mut key);
        AuthCache {
            key,
            ttl,
            capacity,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn fingerprint(&self, user: &str, password: &[u8], stored: &str) -> Option<Fingerprint> {
        let mut mac = <Blake2bMac512 as KeyInit>::new_from_slice(&self.key).ok()?;
        // Lengths first: no two different triples feed the same bytes.
        for part in [user.as_bytes(), password, stored.as_bytes()] {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_le_bytes());
            mac.update(part);
        }
        let full = mac.finalize().into_bytes();
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(&full[..32]);
        Some(fingerprint)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Fingerprint, SystemTime>> {
        // A poisoned map only holds expiry times; keep using it.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether this triple was verified successfully within the TTL.
    pub(crate) fn hit(&self, user: &str, password: &[u8], stored: &str) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let Some(fingerprint) = self.fingerprint(user, password, stored) else {
            return false;
        };
        let now = self.clock.now();
        let mut entries = self.lock();
        match entries.get(&fingerprint) {
            Some(expiry) if *expiry > now => true,
            Some(_) => {
                entries.remove(&fingerprint);
                false
            }
            None => false,
        }
    }

    /// Records a successful verification.
    pub(crate) fn remember(&self, user: &str, password: &[u8], stored: &str) {
        if self.ttl.is_zero() {
            return;
        }
        let Some(fingerprint) = self.fingerprint(user, password, stored) else {
            return;
        };
        let now = self.clock.now();
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.retain(|_, expiry| *expiry > now);
        }
        if entries.len() < self.capacity {
            entries.insert(fingerprint, now + self.ttl);
        }
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn cache(ttl: u64, capacity: usize) -> (AuthCache, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        ));
        (
            AuthCache::new(Duration::from_secs(ttl), capacity, clock.clone()),
            clock,
        )
    }

    #[test]
    fn hits_only_the_same_triple_within_the_ttl() {
        let (cache, clock) = cache(60, 10);
        cache.remember("alice", b"secret", "$argon2id$one");
        assert!(cache.hit("alice", b"secret", "$argon2id$one"));
        assert!(!cache.hit("alice", b"wrong", "$argon2id$one"));
        assert!(!cache.hit("bob", b"secret", "$argon2id$one"));
        assert!(
            !cache.hit("alice", b"secret", "$argon2id$two"),
            "a new password hash misses"
        );
        clock.advance(Duration::from_secs(61));
        assert!(!cache.hit("alice", b"secret", "$argon2id$one"), "expired");
        assert_eq!(cache.len(), 0, "expired entries are dropped when seen");
    }

    #[test]
    fn field_boundaries_matter() {
        let (cache, _) = cache(60, 10);
        cache.remember("ab", b"c", "h");
        assert!(!cache.hit("a", b"bc", "h"));
    }

    #[test]
    fn capacity_is_bounded_and_expired_entries_make_room() {
        let (cache, clock) = cache(60, 2);
        cache.remember("a", b"1", "h");
        cache.remember("b", b"1", "h");
        cache.remember("c", b"1", "h");
        assert_eq!(cache.len(), 2);
        assert!(!cache.hit("c", b"1", "h"), "no room: not remembered");
        clock.advance(Duration::from_secs(61));
        cache.remember("c", b"1", "h");
        assert!(cache.hit("c", b"1", "h"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let (cache, _) = cache(0, 10);
        cache.remember("a", b"1", "h");
        assert!(!cache.hit("a", b"1", "h"));
    }
}
