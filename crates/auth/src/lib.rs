//! Authentication building blocks: password hashes, SASL mechanisms, redacted secrets.
//!
//! Architecture invariant: an unknown user and a wrong password take the same path — a full
//! argon2id verification — so that timing does not reveal which accounts exist
//! ([`PasswordVerifier::verify_or_dummy`]). Everything here is synchronous CPU work; callers
//! on async runtimes run it on blocking threads.

mod password;
mod sasl;
mod secret;

pub use password::{
    MAX_PASSWORD_LEN, PasswordError, PasswordVerifier, generate_password, hash_password,
};
pub use sasl::{PlainCredentials, SaslError, decode_plain};
pub use secret::Secret;
