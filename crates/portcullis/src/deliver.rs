//! `portcullis deliver USER [--mailbox NAME]`: one message from standard input into the
//! store, for MTAs configured with a delivery command (Postfix `mailbox_command`). Exit codes
//! follow sendmail's `sysexits.h`, which MTAs map to bounce or retry.

use portcullis_lmtp::{Delivery, DeliveryError, StoreDelivery};
use portcullis_store::{AccountName, Store};
use portcullis_store_sqlite::SqliteStore;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Settings;

/// `EX_DATAERR`: the message is unusable (empty, too big). Bounced.
const EX_DATAERR: u8 = 65;
/// `EX_NOUSER`: no such account. Bounced.
const EX_NOUSER: u8 = 67;
/// `EX_UNAVAILABLE`: will never work. Bounced.
const EX_UNAVAILABLE: u8 = 69;
/// `EX_TEMPFAIL`: try again later. Queued by the MTA.
const EX_TEMPFAIL: u8 = 75;

pub(crate) fn deliver(settings: &Settings, user: &str, mailbox: Option<&str>) -> ExitCode {
    let (code, message) = run(settings, user, mailbox);
    if let Some(message) = message {
        eprintln!("portcullis deliver: {message}");
    }
    ExitCode::from(code)
}

fn run(settings: &Settings, user: &str, mailbox: Option<&str>) -> (u8, Option<String>) {
    let Ok(account) = AccountName::new(user) else {
        return (EX_NOUSER, Some(format!("invalid account name {user:?}")));
    };
    let limit = settings.session.append_limit;
    let mut message = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(limit.saturating_add(1))
        .read_to_end(&mut message);
    if let Err(error) = read {
        return (
            EX_TEMPFAIL,
            Some(format!("cannot read the message: {error}")),
        );
    }
    if message.is_empty() {
        return (
            EX_DATAERR,
            Some("empty message on standard input".to_owned()),
        );
    }
    if u64::try_from(message.len()).unwrap_or(u64::MAX) > limit {
        return (
            EX_DATAERR,
            Some(format!("message larger than {limit} bytes")),
        );
    }
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(error) => return (EX_TEMPFAIL, Some(format!("{error:#}"))),
    };
    runtime.block_on(async {
        let store = match SqliteStore::open(&settings.data_dir) {
            Ok(store) => Arc::new(store),
            Err(error) => return (EX_TEMPFAIL, Some(format!("cannot open the store: {error}"))),
        };
        let delivery = StoreDelivery::new(store as Arc<dyn Store>);
        let target = match delivery.target(&account, mailbox).await {
            Ok(Some(target)) => target,
            Ok(None) => return (EX_NOUSER, Some(format!("no such account: {account}"))),
            Err(error) => return (EX_TEMPFAIL, Some(format!("{error:?}"))),
        };
        let outcome = delivery
            .deliver(message.into(), std::slice::from_ref(&target))
            .await;
        match outcome.into_iter().next() {
            Some(Ok(())) => (0, None),
            Some(Err(DeliveryError::Permanent(why))) => (EX_UNAVAILABLE, Some(why)),
            Some(Err(error)) => (EX_TEMPFAIL, Some(format!("{error:?}"))),
            None => (EX_TEMPFAIL, Some("no delivery outcome".to_owned())),
        }
    })
}
