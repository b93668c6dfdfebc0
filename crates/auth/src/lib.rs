//! Authentication building blocks: password hashes, SASL mechanisms, redacted secrets, and
//! the defences around them — the brute-force [`Throttle`] (delays and bans by address,
//! prefix and account) and the [`Guard`] that admits connections and judges logins by
//! client address.
//!
//! Architecture invariant: an unknown user and a wrong password take the same path — a full
//! argon2id verification — so that timing does not reveal which accounts exist
//! ([`PasswordVerifier::verify_or_dummy`]); the throttle's delay is decided from failure
//! counts before the check, never from its outcome.
//!
//! Everything here is synchronous CPU work (callers on async runtimes run password checks
//! on blocking threads) except [`Guard::persist`] and [`Guard::restore`], which write and
//! read the throttle's state through the [`portcullis_store::Store`]. Nothing here touches
//! a socket: the guard is handed client addresses.

mod cache;
mod clock;
mod guard;
mod network;
mod password;
mod pool;
mod sasl;
mod secret;
mod throttle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use guard::{
    BANNED_TEXT, ConnectionCaps, ConnectionTicket, Guard, GuardConfig, LimitHit, LoginTicket,
    Refusal,
};
pub use network::{IpNetwork, IpNetworkError, canonical, prefix};
pub use password::{
    MAX_PASSWORD_LEN, PasswordError, PasswordVerifier, VerifierOptions, generate_password,
    hash_password,
};
pub use sasl::{PlainCredentials, SaslError, decode_plain};
pub use secret::Secret;
pub use throttle::{Ban, FailureOutcome, Throttle, ThrottleConfig, account_key};
