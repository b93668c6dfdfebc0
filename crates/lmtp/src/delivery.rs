//! Delivery into the store: recipient addresses to mailboxes, and the one durable store
//! call per message.
//!
//! Address resolution, in order: the account named by the whole address without its
//! detail (`alice@example.org` for `alice+lists@example.org`), then the account named by the
//! local part (`alice`). With a detail, the mail goes to the mailbox of that name when it
//! exists, else to INBOX.

use async_trait::async_trait;
use bytes::Bytes;
use portcullis_store::{
    AccountName, FlagSet, InternalDate, MailboxId, MailboxName, NewMessage, Store, StoreError,
};
use std::sync::Arc;

use crate::address::recipient;

/// Where one recipient's copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The account's name.
    pub account: AccountName,
    /// The mailbox.
    pub mailbox: MailboxId,
    /// The mailbox's name, for logs.
    pub mailbox_name: MailboxName,
}

/// Why a recipient's delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Try again later (store unavailable, mailbox deleted meanwhile).
    Temporary(String),
    /// Over quota or out of UIDs.
    MailboxFull,
    /// Will never work.
    Permanent(String),
}

impl From<StoreError> for DeliveryError {
    fn from(error: StoreError) -> DeliveryError {
        match error {
            StoreError::Limit(_) => DeliveryError::MailboxFull,
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "store failure during delivery");
                DeliveryError::Temporary("store failure".to_owned())
            }
            other => DeliveryError::Temporary(other.to_string()),
        }
    }
}

/// The recipient lookup and the store behind an LMTP session.
#[async_trait]
pub trait Delivery: Send + Sync {
    /// The target of an address, or `None` for an unknown recipient.
    async fn resolve(&self, address: &str) -> Result<Option<Target>, DeliveryError>;
    /// Stores `message` for every target, durably; one outcome per target, in order.
    async fn deliver(&self, message: Bytes, targets: &[Target]) -> Vec<Result<(), DeliveryError>>;
}

/// Delivery through a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreDelivery {
    store: Arc<dyn Store>,
}

impl StoreDelivery {
    /// Delivers into `store`.
    pub fn new(store: Arc<dyn Store>) -> StoreDelivery {
        StoreDelivery { store }
    }

    /// The target for an account and an optional mailbox name; INBOX when the mailbox does
    /// not exist. `None` when the account does not exist.
    pub async fn target(
        &self,
        account: &AccountName,
        mailbox: Option<&str>,
    ) -> Result<Option<Target>, DeliveryError> {
        let Some(account_record) = self.store.account(account).await? else {
            return Ok(None);
        };
        if let Some(name) = mailbox.and_then(|m| MailboxName::new(m).ok()) {
            match self.store.mailbox(account_record.id, &name).await {
                Ok(info) => {
                    return Ok(Some(Target {
                        account: account.clone(),
                        mailbox: info.id,
                        mailbox_name: info.name,
                    }));
                }
                Err(StoreError::MailboxNotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let inbox = self
            .store
            .mailbox(account_record.id, &MailboxName::inbox())
            .await?;
        Ok(Some(Target {
            account: account.clone(),
            mailbox: inbox.id,
            mailbox_name: inbox.name,
        }))
    }
}

#[async_trait]
impl Delivery for StoreDelivery {
    async fn resolve(&self, address: &str) -> Result<Option<Target>, DeliveryError> {
        let Some(recipient) = recipient(address) else {
            return Ok(None);
        };
        let mut candidates = Vec::new();
        if let Some(domain) = &recipient.domain {
            candidates.push(format!("{}@{domain}", recipient.local));
        }
        candidates.push(recipient.local.clone());
        for candidate in candidates {
            let Ok(name) = AccountName::new(&candidate) else {
                continue;
            };
            if let Some(target) = self.target(&name, recipient.detail.as_deref()).await? {
                return Ok(Some(target));
            }
        }
        Ok(None)
    }

    async fn deliver(&self, message: Bytes, targets: &[Target]) -> Vec<Result<(), DeliveryError>> {
        let parsed = tokio::task::spawn_blocking(move || {
            NewMessage::parse(message, FlagSet::new(), InternalDate::now())
        })
        .await;
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(_) => {
                return targets
                    .iter()
                    .map(|_| Err(DeliveryError::Temporary("parse failed".into())))
                    .collect();
            }
        };
        let mailboxes: Vec<MailboxId> = targets.iter().map(|t| t.mailbox).collect();
        match self.store.deliver(parsed, &mailboxes).await {
            Ok(outcomes) => targets
                .iter()
                .zip(outcomes)
                .map(|(target, outcome)| match outcome {
                    Ok(appended) => {
                        let uid = appended.uids.first().map(|u| u.get()).unwrap_or_default();
                        tracing::info!(user = %target.account, mailbox = %target.mailbox_name, uid, "delivered");
                        Ok(())
                    }
                    Err(error) => Err(DeliveryError::from(error)),
                })
                .collect(),
            Err(error) => {
                let error = DeliveryError::from(error);
                targets.iter().map(|_| Err(error.clone())).collect()
            }
        }
    }
}
