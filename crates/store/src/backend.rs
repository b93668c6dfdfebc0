//! The storage trait every engine implements (embedded SQLite today, PostgreSQL later).
//!
//! API boundary: each method is one transaction — it happens completely or not at all — and
//! a method that changes data returns only once the change is durable (fsynced, or committed
//! to a synchronous replica). Nothing here assumes one process or one writer: MODSEQ and UID
//! allocation, the recent floor and uniqueness are the backend's to make atomic.

use async_trait::async_trait;
use bytes::Bytes;
use portcullis_mime::MessageSummary;

use crate::{
    Account, AccountId, AccountName, AppendOutcome, ChangeWatch, CopyOutcome, ExpungeLog,
    FlagOperation, FlagSet, FlagUpdate, MailboxChanges, MailboxId, MailboxInfo, MailboxName,
    MailboxSnapshot, MailboxStatus, MessageMeta, ModSeq, NewMessage, SpecialUse, StoreResult,
    TextScope, ThrottleKey, ThrottleRecord, Uid, WireSummary,
};

/// How long expunges stay in the log by default before [`Store::prune_expunged`] may forget
/// them: a QRESYNC client that reconnects within this time gets an exact VANISHED answer, one
/// that comes back later a longer one (never a wrong one).
pub const DEFAULT_EXPUNGE_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 60 * 60);

/// A mail store.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ---- accounts -------------------------------------------------------------------

    /// Creates an account with the default mailboxes (INBOX, Drafts, Sent, Trash, Junk,
    /// Archive with their special-use attributes), all subscribed.
    async fn create_account(
        &self,
        name: &AccountName,
        password_hash: &str,
    ) -> StoreResult<AccountId>;

    /// Replaces an account's password hash.
    async fn set_password(&self, name: &AccountName, password_hash: &str) -> StoreResult<()>;

    /// Deletes an account with all its mailboxes and messages.
    async fn delete_account(&self, name: &AccountName) -> StoreResult<()>;

    /// All accounts, by name.
    async fn accounts(&self) -> StoreResult<Vec<Account>>;

    /// One account, or `None`.
    async fn account(&self, name: &AccountName) -> StoreResult<Option<Account>>;

    // ---- mailboxes ------------------------------------------------------------------

    /// All mailboxes of an account (placeholders included), by name.
    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<MailboxInfo>>;

    /// One selectable mailbox; `MailboxNotFound` for unknown names and placeholders.
    async fn mailbox(&self, account: AccountId, name: &MailboxName) -> StoreResult<MailboxInfo>;

    /// Creates a mailbox and any missing ancestors (RFC 9051 6.3.4). A `\Noselect`
    /// placeholder of that name becomes a real mailbox with a new UIDVALIDITY.
    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxInfo>;

    /// Deletes a mailbox and its messages (RFC 9051 6.3.5). A mailbox with children stays as
    /// a `\Noselect` placeholder; a placeholder with children is `HasChildren`; INBOX is
    /// `Cannot`.
    async fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> StoreResult<()>;

    /// Renames a mailbox and all its descendants (RFC 9051 6.3.6), creating missing
    /// ancestors of the new name. Renaming INBOX moves its messages to a new mailbox and
    /// leaves INBOX empty; INBOX's children are not renamed.
    async fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()>;

    /// Adds or removes a subscription. Names need not exist (RFC 9051 6.3.7).
    async fn set_subscribed(
        &self,
        account: AccountId,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()>;

    /// All subscribed names, existing or not, by name.
    async fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<MailboxName>>;

    /// STATUS figures.
    async fn status(&self, mailbox: MailboxId) -> StoreResult<MailboxStatus>;

    // ---- messages -------------------------------------------------------------------

    /// The state SELECT starts from.
    async fn snapshot(&self, mailbox: MailboxId) -> StoreResult<MailboxSnapshot>;

    /// What happened after `since`: added and changed messages, expunged UIDs (as far as
    /// the expunge log reaches: see [`MailboxChanges::pruned_through`]).
    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq)
    -> StoreResult<MailboxChanges>;

    /// The UIDs expunged after `since` that the expunge log holds, and how far back it
    /// reaches (RFC 7162 QRESYNC and `UID FETCH ... (CHANGEDSINCE n VANISHED)`).
    async fn expunged_since(&self, mailbox: MailboxId, since: ModSeq) -> StoreResult<ExpungeLog>;

    /// Forgets the expunges logged before `logged_before`, in every mailbox. A mailbox's log
    /// stays a suffix: pruning an expunge also prunes every expunge with a lower or equal
    /// MODSEQ, and the mailbox's `pruned_through` rises to the highest MODSEQ pruned. Takes
    /// no MODSEQ and wakes no watcher (nothing a client sees changes). Returns the number of
    /// log entries removed.
    async fn prune_expunged(&self, logged_before: std::time::SystemTime) -> StoreResult<u64>;

    /// Stores messages, all or none (RFC 3502 MULTIAPPEND), with ascending new UIDs.
    async fn append(
        &self,
        mailbox: MailboxId,
        messages: Vec<NewMessage>,
    ) -> StoreResult<AppendOutcome>;

    /// Delivers one message to several mailboxes (LMTP), storing its bytes once for all of
    /// them. Each target succeeds or fails alone; the outcomes come in target order. The
    /// call fails as a whole only when the engine itself fails.
    async fn deliver(
        &self,
        message: NewMessage,
        targets: &[MailboxId],
    ) -> StoreResult<Vec<StoreResult<AppendOutcome>>>;

    /// Narrows a text search: the UIDs of `mailbox` whose searchable text
    /// ([`portcullis_mime::search_text`]) may contain `needle` (already folded) in `scope` —
    /// a superset of the true matches, which the caller still verifies — or `None` when the
    /// engine cannot narrow this search (no index, or a needle too short for it).
    async fn text_candidates(
        &self,
        mailbox: MailboxId,
        scope: TextScope,
        needle: &str,
    ) -> StoreResult<Option<Vec<Uid>>>;

    /// Flags, dates and sizes of the given messages, ascending by UID; UIDs that do not exist
    /// (any more) are left out.
    async fn messages(&self, mailbox: MailboxId, uids: &[Uid]) -> StoreResult<Vec<MessageMeta>>;

    /// The parsed structure of the given messages, ascending by UID; missing UIDs left out.
    async fn summaries(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, MessageSummary)>>;

    /// ENVELOPE and BODYSTRUCTURE of the given messages as the backend keeps them encoded
    /// (see [`WireSummary`]), ascending by UID; missing UIDs left out.
    async fn wire_summaries(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, WireSummary)>>;

    /// The stored bytes of one message; `None` if it does not exist (any more).
    async fn raw_message(&self, mailbox: MailboxId, uid: Uid) -> StoreResult<Option<Bytes>>;

    /// The stored bytes of several messages in one read, ascending by UID; missing UIDs left
    /// out. The caller bounds the total size (it knows the messages' sizes). The default asks
    /// for one message after the other.
    async fn raw_messages(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, Bytes)>> {
        let mut found = Vec::with_capacity(uids.len());
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        uids.dedup();
        for uid in uids {
            if let Some(raw) = self.raw_message(mailbox, uid).await? {
                found.push((uid, raw));
            }
        }
        Ok(found)
    }

    /// The first bytes of several messages — up to the given length each (a header block,
    /// say), the whole message when shorter — in one read, ascending by UID; missing UIDs
    /// left out. The default reads whole messages and cuts them.
    async fn raw_prefixes(
        &self,
        mailbox: MailboxId,
        wanted: &[(Uid, u64)],
    ) -> StoreResult<Vec<(Uid, Bytes)>> {
        let uids: Vec<Uid> = wanted.iter().map(|(uid, _)| *uid).collect();
        let mut found = self.raw_messages(mailbox, &uids).await?;
        for (uid, raw) in &mut found {
            let length = wanted
                .iter()
                .filter(|(wanted, _)| wanted == uid)
                .map(|(_, length)| *length)
                .max()
                .unwrap_or(0);
            raw.truncate(usize::try_from(length).unwrap_or(usize::MAX));
        }
        Ok(found)
    }

    /// Changes flags (RFC 9051 6.4.6) with RFC 7162 UNCHANGEDSINCE. Only messages whose flags
    /// really change get a new MODSEQ; the whole call takes one MODSEQ.
    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        operation: FlagOperation,
        flags: &FlagSet,
        unchanged_since: Option<ModSeq>,
    ) -> StoreResult<FlagUpdate>;

    /// Removes the messages that have `\Deleted`, limited to `uids` when given (UID EXPUNGE,
    /// RFC 4315), logging each UID with the MODSEQ of the expunge. Returns the removed UIDs.
    async fn expunge(&self, mailbox: MailboxId, uids: Option<&[Uid]>) -> StoreResult<Vec<Uid>>;

    /// Copies messages (sharing their bytes) to `target`, with flags and internal dates.
    async fn copy(
        &self,
        source: MailboxId,
        uids: &[Uid],
        target: MailboxId,
    ) -> StoreResult<CopyOutcome>;

    /// Moves messages (RFC 6851): copy and expunge from the source in one transaction.
    async fn move_messages(
        &self,
        source: MailboxId,
        uids: &[Uid],
        target: MailboxId,
    ) -> StoreResult<CopyOutcome>;

    /// Claims the messages no session has seen as `\Recent` yet: returns the UID range
    /// `[first, end)` now recent for the caller alone (RFC 3501 2.3.2: "this session is the
    /// first session to have been notified about this message"), or `None`.
    async fn claim_recent(&self, mailbox: MailboxId) -> StoreResult<Option<(Uid, Uid)>>;

    /// Subscribes to the mailbox's changes (see [`crate::ChangeNotifier`]).
    fn watch(&self, mailbox: MailboxId, current: ModSeq) -> ChangeWatch;

    // ---- brute-force defence ------------------------------------------------------

    /// Every stored throttle record (failure counts and bans, see [`ThrottleRecord`]),
    /// expired or not: the caller decides what is still alive and forgets the rest.
    async fn throttle_records(&self) -> StoreResult<Vec<ThrottleRecord>>;

    /// Replaces the records of `save` (inserting new keys) and removes those of `forget`,
    /// in one transaction; durable when it returns. A key in both lists is removed.
    async fn save_throttle(
        &self,
        save: Vec<ThrottleRecord>,
        forget: Vec<ThrottleKey>,
    ) -> StoreResult<()>;
}
