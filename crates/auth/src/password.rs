//! argon2id password hashes in PHC string format.
//!
//! Parameters are argon2's defaults (m = 19 MiB, t = 2, p = 1; the OWASP minimum for
//! argon2id). Stored hashes carry their parameters, so raising them later only affects new
//! hashes.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};

use std::sync::Arc;
use std::time::Duration;

use crate::Secret;
use crate::cache::AuthCache;
use crate::clock::{Clock, SystemClock};
use crate::pool::{self, VerifyPool, Workspace};

/// A password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Empty passwords are refused.
    #[error("the password is empty")]
    Empty,
    /// Longer than [`MAX_PASSWORD_LEN`].
    #[error("the password is longer than {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    /// The hashing library failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Hashes a new password with argon2id and a random salt.
pub fn hash_password(password: &Secret<String>) -> Result<String, PasswordError> {
    let password = password.expose();
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A random password of 20 letters and digits (about 119 bits), for generated accounts.
pub fn generate_password() -> Secret<String> {
    use argon2::password_hash::rand_core::RngCore;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut password = String::with_capacity(20);
    while password.len() < 20 {
        // Rejection sampling keeps every symbol equally likely.
        let byte = u8::try_from(OsRng.next_u32() & 0xff).unwrap_or(0);
        if usize::from(byte) < 256 - 256 % ALPHABET.len() {
            password.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
        }
    }
    Secret::new(password)
}

/// Verifies passwords, with a dummy hash for unknown users.
#[derive(Debug, Clone)]
pub struct PasswordVerifier {
    dummy_hash: Arc<str>,
    /// argon2id costs 19 MiB and tens of milliseconds per verification: a fixed set of
    /// threads, one per core, each reusing its memory (see `pool`).
    pool: Arc<VerifyPool>,
    cache: Arc<AuthCache>,
}

/// How verifications are run.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    /// Verifications at once (default: the number of cores, at least 2).
    pub parallelism: usize,
    /// How long a successful verification is remembered (zero: no cache).
    pub cache_ttl: Duration,
    /// Most remembered verifications.
    pub cache_capacity: usize,
}

impl Default for VerifierOptions {
    fn default() -> VerifierOptions {
        VerifierOptions {
            parallelism: std::thread::available_parallelism()
                .map_or(2, usize::from)
                .max(2),
            cache_ttl: Duration::from_secs(300),
            cache_capacity: 100_000,
        }
    }
}

impl PasswordVerifier {
    /// Prepares the dummy hash (one argon2id computation, at start-up), default options.
    pub fn new() -> Result<PasswordVerifier, PasswordError> {
        PasswordVerifier::with_options(&VerifierOptions::default(), Arc::new(SystemClock))
    }

    /// With explicit options and clock (for the cache's expiry).
    pub fn with_options(
        options: &VerifierOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<PasswordVerifier, PasswordError> {
        let dummy_hash: Arc<str> =
            hash_password(&Secret::new("portcullis-dummy-password".to_owned()))?.into();
        let pool =
            VerifyPool::start(options.parallelism, Arc::clone(&dummy_hash)).map_err(|e| {
                PasswordError::Hash(format!("cannot start the verification threads: {e}"))
            })?;
        Ok(PasswordVerifier {
            dummy_hash,
            pool: Arc::new(pool),
            cache: Arc::new(AuthCache::new(
                options.cache_ttl,
                options.cache_capacity,
                clock,
            )),
        })
    }

    /// Checks a login: a cache hit for a recently verified (user, password, stored hash),
    /// else one argon2id verification on the verification threads — against the dummy hash
    /// when `stored` is `None`.
    pub async fn check(
        &self,
        user: &str,
        password: Secret<Vec<u8>>,
        stored: Option<String>,
    ) -> bool {
        if let Some(stored) = &stored
            && self.cache.hit(user, password.expose(), stored)
        {
            return true;
        }
        let remembered = stored
            .clone()
            .map(|stored| (Secret::new(password.expose().clone()), stored));
        let verified = self.pool.verify(password, stored).await;
        if let (true, Some((password, stored))) = (verified, remembered) {
            self.cache.remember(user, password.expose(), &stored);
        }
        verified
    }

    /// Checks `password` against `stored` (a PHC string), or — when there is no such user —
    /// against the dummy hash, so both cases cost one argon2id verification. Always false
    /// for an unknown user; false for an unparseable stored hash.
    pub fn verify_or_dummy(&self, password: &[u8], stored: Option<&str>) -> bool {
        pool::verify_or_dummy(
            &mut Workspace::default(),
            &self.dummy_hash,
            password,
            stored,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Secret<String> {
        Secret::new(text.to_owned())
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let verifier = PasswordVerifier::new().unwrap_or_else(|e| panic!("{e}"));
        let hash = hash_password(&secret("correct horse")).unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.starts_with("$argon2id$"));
        assert!(verifier.verify_or_dummy(b"correct horse", Some(&hash)));
        assert!(!verifier.verify_or_dummy(b"wrong", Some(&hash)));
        assert!(!verifier.verify_or_dummy(b"portcullis-dummy-password", None));
        assert!(!verifier.verify_or_dummy(b"x", Some("not a hash")));
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.expose().len(), 20);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        // Equal cost for unknown users holds because the dummy is an argon2id hash with the
        // same algorithm, version and parameters as every hash we store.
        let verifier = PasswordVerifier::new().unwrap_or_else(|e| panic!("{e}"));
        let real = hash_password(&secret("x")).unwrap_or_default();
        let params =
            |phc: &str| -> Vec<String> { phc.split('$').take(4).map(str::to_owned).collect() };
        assert_eq!(params(&verifier.dummy_hash), params(&real));
        assert!(argon2::password_hash::PasswordHash::new(&verifier.dummy_hash).is_ok());
    }

    #[test]
    fn salts_differ() {
        let a = hash_password(&secret("same")).unwrap_or_default();
        let b = hash_password(&secret("same")).unwrap_or_default();
        assert_ne!(a, b);
    }

    #[test]
    fn empty_and_huge_passwords_are_refused() {
        assert!(matches!(
            hash_password(&secret("")),
            Err(PasswordError::Empty)
        ));
        assert!(matches!(
            hash_password(&secret(&"x".repeat(1025))),
            Err(PasswordError::TooLong)
        ));
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::SystemTime;

    fn verifier(ttl: u64) -> (PasswordVerifier, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(5_000_000),
        ));
        let options = VerifierOptions {
            parallelism: 2,
            cache_ttl: Duration::from_secs(ttl),
            cache_capacity: 100,
        };
        let verifier = PasswordVerifier::with_options(&options, clock.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        (verifier, clock)
    }

    fn password(text: &str) -> Secret<Vec<u8>> {
        Secret::new(text.as_bytes().to_vec())
    }

    #[tokio::test]
    async fn check_verifies_and_remembers_successes_only() {
        let (verifier, clock) = verifier(60);
        let stored = hash_password(&Secret::new("right".to_owned())).unwrap_or_default();
        assert!(
            !verifier
                .check("alice", password("wrong"), Some(stored.clone()))
                .await
        );
        assert!(
            !verifier.cache.hit("alice", b"wrong", &stored),
            "failures are never cached"
        );
        assert!(
            verifier
                .check("alice", password("right"), Some(stored.clone()))
                .await
        );
        assert!(verifier.cache.hit("alice", b"right", &stored));
        assert!(
            !verifier.check("nobody", password("right"), None).await,
            "unknown users fail"
        );
        clock.advance(Duration::from_secs(61));
        assert!(!verifier.cache.hit("alice", b"right", &stored));
        assert!(
            verifier
                .check("alice", password("right"), Some(stored))
                .await,
            "verified again after expiry"
        );
    }

    #[tokio::test]
    async fn a_changed_password_hash_is_not_served_from_the_cache() {
        let (verifier, _) = verifier(60);
        let old = hash_password(&Secret::new("pw".to_owned())).unwrap_or_default();
        assert!(verifier.check("alice", password("pw"), Some(old)).await);
        let new = hash_password(&Secret::new("other".to_owned())).unwrap_or_default();
        assert!(!verifier.check("alice", password("pw"), Some(new)).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_queue_for_the_verification_threads() {
        let (verifier, _) = verifier(0);
        let stored = hash_password(&Secret::new("pw".to_owned())).unwrap_or_default();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let verifier = verifier.clone();
            let stored = stored.clone();
            let attempt = if i % 2 == 0 { "pw" } else { "no" };
            tasks.push(tokio::spawn(async move {
                verifier.check("a", password(attempt), Some(stored)).await
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap_or(false));
        }
        assert_eq!(results, [true, false, true, false, true, false]);
    }
}
