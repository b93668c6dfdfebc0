//! LMTP (RFC 2033) for Portcullis: how mail from an MTA (Postfix's `lmtp` transport) enters
//! the store.
//!
//! [`LmtpSession`] is the protocol, sans-I/O; [`StoreDelivery`] resolves recipients to
//! mailboxes and stores each message once for all of its recipients. The listener that
//! feeds sessions lives in `net`; `portcullis deliver` uses [`StoreDelivery`] directly.
//!
//! Architecture invariant: a recipient gets `250` only after the store call that made its
//! copy durable has returned.

mod address;
mod delivery;
mod protocol;

pub use delivery::{Delivery, DeliveryError, StoreDelivery, Target};
pub use protocol::{Control, LmtpConfig, LmtpSession};
