//! The backend conformance suite: one set of checks that every storage engine must pass, so
//! that `session` can rely on the [`Store`] contract and not on one engine's habits.
//!
//! Each check is a `pub async fn` taking a fresh, empty store. An engine runs them all with
//! [`store_conformance_tests!`](crate::store_conformance_tests), which expands to one
//! `#[tokio::test]` per check so that each failure is reported under the check's name:
//!
//! ```text
//! portcullis_store::store_conformance_tests!(|| async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open(dir.path()).unwrap();
//!     (store, dir) // the second value is kept alive until the check ends
//! });
//! ```
//!
//! The calling crate needs `tokio` with the `macros`, `rt-multi-thread` and `time` features.
//! Checks assert what the trait documents and RFCs require, not how an engine does it:
//! MODSEQs are compared, never predicted; a watcher must be woken within [`WAKE_TIMEOUT`].

// A failed step is a failed check: this module is a test suite compiled into the library so
// that every engine crate can run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::{
    AccountId, AccountName, AppendOutcome, ChangeWatch, ExpungeLog, FlagOperation, FlagSet,
    InternalDate, Keyword, MailboxId, MailboxInfo, MailboxName, MessageFlags, ModSeq, NewMessage,
    SpecialUse, Store, StoreError, SystemFlag, TextScope, ThrottleKey, ThrottleRecord, Uid,
};

/// How long a check waits for a watcher to be woken after a change.
pub const WAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Expands to one `#[tokio::test]` per conformance check. The argument is a closure
/// returning a future of `(store, guard)`: a fresh, empty store, and a value (a temporary
/// directory, a database handle ...) dropped when the check ends.
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@each $factory;
            new_account_has_default_mailboxes_subscribed,
            accounts_are_added_listed_changed_and_deleted,
            create_makes_missing_ancestors,
            create_of_an_existing_name_is_mailbox_exists,
            delete_of_a_leaf_removes_it,
            delete_with_children_leaves_a_placeholder,
            rename_moves_descendants,
            rename_inbox_moves_messages_and_keeps_children,
            rename_onto_an_existing_name_is_mailbox_exists,
            subscriptions_need_not_exist,
            append_assigns_ascending_contiguous_uids,
            multiappend_is_one_transaction,
            modseq_strictly_increases_across_changes,
            changes_since_reports_exactly_the_changes,
            store_flags_adds_removes_and_replaces,
            store_unchanged_since_reports_modified,
            noop_store_takes_no_modseq,
            expunge_all_or_only_given_uids,
            expunged_since_lists_later_expunges,
            prune_expunged_forgets_old_expunges_and_says_so,
            copy_keeps_flags_and_dates_and_shares_content,
            move_copies_and_expunges,
            deliver_stores_once_and_fails_per_target,
            text_candidates_never_miss_a_match,
            messages_lists_existing_uids_ascending,
            raw_message_is_byte_identical,
            summaries_round_trip,
            wire_summaries_follow_the_messages,
            status_reports_the_figures,
            claim_recent_gives_a_range_once,
            watch_wakes_after_changes_only,
            deleted_mailbox_is_gone,
            recreated_mailbox_gets_new_uid_validity,
            throttle_records_are_saved_replaced_and_forgotten,
        );
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_appends_get_distinct_uids() {
            let (store, guard) = ($factory)().await;
            let store: ::std::sync::Arc<dyn $crate::Store> = ::std::sync::Arc::new(store);
            $crate::conformance::concurrent_appends_get_distinct_uids(store).await;
            ::std::mem::drop(guard);
        }
    };
    (@each $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $check() {
                let (store, guard) = ($factory)().await;
                $crate::conformance::$check(&store).await;
                // The store goes first: its guard may hold the files it uses.
                ::std::mem::drop(store);
                ::std::mem::drop(guard);
            }
        )*
    };
}

/// Asserts that a store call was refused with the given error.
macro_rules! assert_refused {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    };
}

// ---- fixtures ------------------------------------------------------------------------

fn mailbox_name(text: &str) -> MailboxName {
    MailboxName::new(text).unwrap()
}

fn account_name(text: &str) -> AccountName {
    AccountName::new(text).unwrap()
}

fn uid(value: u32) -> Uid {
    Uid::new(value).unwrap()
}

fn uids(values: impl IntoIterator<Item = u32>) -> Vec<Uid> {
    values.into_iter().map(uid).collect()
}

fn flags(system: &[SystemFlag], keywords: &[&str]) -> FlagSet {
    let mut set = FlagSet::new();
    for flag in system {
        set.insert(*flag);
    }
    for keyword in keywords {
        set.insert_keyword(Keyword::new(keyword).unwrap());
    }
    set
}

fn date(n: u32) -> InternalDate {
    InternalDate {
        unix_seconds: 1_700_000_000 + i64::from(n) * 60,
        offset_minutes: 120,
    }
}

/// A small text message whose bytes differ for each `n`.
fn message(n: u32) -> NewMessage {
    message_with(n, FlagSet::new())
}

fn message_with(n: u32, flags: FlagSet) -> NewMessage {
    let raw = format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: message {n}\r\n\
         Date: Tue, 14 Nov 2023 22:13:20 +0100\r\nMessage-ID: <{n}@example.org>\r\n\r\n\
         Body of message {n}.\r\n"
    );
    NewMessage::parse(Bytes::from(raw), flags, date(n))
}

/// A multipart message with 8-bit text and a base64 attachment.
fn multipart_message() -> NewMessage {
    let raw = "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\nTo: a@example.org, b@example.org\r\n\
               Subject: parts\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n\
               Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
               Grüße\r\n--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n\
               Content-Disposition: attachment; filename=\"a.bin\"\r\n\
               Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--XX--\r\n";
    NewMessage::parse(Bytes::from(raw), FlagSet::new(), date(0))
}

async fn new_account(store: &dyn Store, name: &str) -> AccountId {
    store
        .create_account(
            &account_name(name),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        )
        .await
        .unwrap()
}

async fn open(store: &dyn Store, account: AccountId, name: &str) -> MailboxId {
    store
        .mailbox(account, &mailbox_name(name))
        .await
        .unwrap()
        .id
}

async fn create(store: &dyn Store, account: AccountId, name: &str) -> MailboxInfo {
    store
        .create_mailbox(account, &mailbox_name(name), None)
        .await
        .unwrap()
}

/// A new account and its INBOX.
async fn inbox(store: &dyn Store) -> (AccountId, MailboxId) {
    let account = new_account(store, "alice").await;
    (account, open(store, account, "INBOX").await)
}

async fn append(store: &dyn Store, mailbox: MailboxId, messages: Vec<NewMessage>) -> AppendOutcome {
    store.append(mailbox, messages).await.unwrap()
}

async fn append_many(store: &dyn Store, mailbox: MailboxId, count: u32) -> AppendOutcome {
    append(store, mailbox, (1..=count).map(message).collect()).await
}

async fn highest(store: &dyn Store, mailbox: MailboxId) -> ModSeq {
    store.status(mailbox).await.unwrap().highest_modseq
}

async fn names(store: &dyn Store, account: AccountId) -> Vec<(String, bool)> {
    let mailboxes = store.mailboxes(account).await.unwrap();
    mailboxes
        .into_iter()
        .map(|m| (m.name.as_str().to_owned(), m.selectable))
        .collect()
}

async fn flags_of(store: &dyn Store, mailbox: MailboxId) -> Vec<(Uid, FlagSet)> {
    let snapshot = store.snapshot(mailbox).await.unwrap();
    snapshot
        .messages
        .iter()
        .map(|m| (m.uid, m.flags.clone()))
        .collect()
}

async fn message_flags(store: &dyn Store, mailbox: MailboxId, of: Uid) -> MessageFlags {
    let snapshot = store.snapshot(mailbox).await.unwrap();
    snapshot.messages.find(of).unwrap().to_flags()
}

// ---- accounts ------------------------------------------------------------------------

/// A new account has INBOX, Drafts, Sent, Trash, Junk and Archive with their special-use
/// attributes, distinct UIDVALIDITYs, all subscribed.
pub async fn new_account_has_default_mailboxes_subscribed(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let mailboxes = store.mailboxes(account).await.unwrap();
    let found: Vec<(&str, Option<SpecialUse>, bool)> = mailboxes
        .iter()
        .map(|m| (m.name.as_str(), m.special_use, m.selectable))
        .collect();
    assert_eq!(
        found,
        vec![
            ("Archive", Some(SpecialUse::Archive), true),
            ("Drafts", Some(SpecialUse::Drafts), true),
            ("INBOX", None, true),
            ("Junk", Some(SpecialUse::Junk), true),
            ("Sent", Some(SpecialUse::Sent), true),
            ("Trash", Some(SpecialUse::Trash), true),
        ]
    );
    let mut validities: Vec<u32> = mailboxes.iter().map(|m| m.uid_validity.get()).collect();
    validities.sort_unstable();
    validities.dedup();
    assert_eq!(validities.len(), 6, "each mailbox has its own UIDVALIDITY");
    let subscribed = store.subscriptions(account).await.unwrap();
    let expected: Vec<MailboxName> = mailboxes.iter().map(|m| m.name.clone()).collect();
    assert_eq!(subscribed, expected);
    let inbox = store
        .mailbox(account, &mailbox_name("inbox"))
        .await
        .unwrap();
    assert_eq!(inbox.name, MailboxName::inbox());
    let status = store.status(inbox.id).await.unwrap();
    assert_eq!((status.messages, status.uid_next), (0, Uid::MIN));
}

/// Accounts: add, duplicate, password change, list, delete, re-add.
pub async fn accounts_are_added_listed_changed_and_deleted(store: &dyn Store) {
    assert_eq!(store.accounts().await.unwrap(), vec![]);
    let alice = account_name("alice@example.org");
    let alice_id = store.create_account(&alice, "hash-1").await.unwrap();
    assert_refused!(store.create_account(&alice, "hash-2").await, StoreError::AccountExists(name) if name == alice);
    assert_refused!(
        store
            .create_account(&account_name("Alice@Example.ORG"), "hash-2")
            .await,
        StoreError::AccountExists(_)
    );
    let bob = account_name("bob");
    let bob_id = store.create_account(&bob, "hash-b").await.unwrap();
    assert_ne!(alice_id, bob_id);

    let found = store
        .account(&account_name("ALICE@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.name.clone(), found.password_hash.as_str()),
        (alice_id, alice.clone(), "hash-1")
    );
    store.set_password(&alice, "hash-new").await.unwrap();
    assert_eq!(
        store.account(&alice).await.unwrap().unwrap().password_hash,
        "hash-new"
    );
    let nobody = account_name("nobody");
    assert_refused!(store.set_password(&nobody, "x").await, StoreError::AccountNotFound(name) if name == nobody);
    assert_eq!(store.account(&nobody).await.unwrap(), None);

    let listed: Vec<(AccountName, String)> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.password_hash))
        .collect();
    assert_eq!(
        listed,
        vec![
            (alice.clone(), "hash-new".to_owned()),
            (bob.clone(), "hash-b".to_owned())
        ]
    );

    let alice_inbox = open(store, alice_id, "INBOX").await;
    append_many(store, alice_inbox, 2).await;
    store.delete_account(&alice).await.unwrap();
    assert_eq!(store.account(&alice).await.unwrap(), None);
    assert_refused!(
        store.delete_account(&alice).await,
        StoreError::AccountNotFound(_)
    );
    assert_refused!(store.status(alice_inbox).await, StoreError::MailboxGone);
    let listed: Vec<AccountName> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(listed, vec![bob]);
    assert_eq!(
        names(store, bob_id).await.len(),
        6,
        "other accounts are untouched"
    );

    let again = store.create_account(&alice, "hash-3").await.unwrap();
    assert_ne!(again, alice_id);
    assert_eq!(
        store
            .status(open(store, again, "INBOX").await)
            .await
            .unwrap()
            .messages,
        0
    );
}

// ---- mailbox hierarchy ---------------------------------------------------------------

/// CREATE makes missing ancestors as real mailboxes, and keeps a special-use attribute.
pub async fn create_makes_missing_ancestors(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let created = create(store, account, "a/b/c").await;
    assert_eq!(
        (
            created.name.as_str(),
            created.selectable,
            created.special_use
        ),
        ("a/b/c", true, None)
    );
    let all = names(store, account).await;
    for name in ["a", "a/b", "a/b/c"] {
        assert!(all.contains(&(name.to_owned(), true)), "{name} in {all:?}");
    }
    assert_eq!(
        store
            .mailbox(account, &mailbox_name("a/b"))
            .await
            .unwrap()
            .name
            .as_str(),
        "a/b"
    );
    let flagged = store
        .create_mailbox(account, &mailbox_name("Starred"), Some(SpecialUse::Flagged))
        .await
        .unwrap();
    assert_eq!(flagged.special_use, Some(SpecialUse::Flagged));
    assert_eq!(
        store
            .mailbox(account, &mailbox_name("Starred"))
            .await
            .unwrap(),
        flagged
    );
    let other = new_account(store, "bob").await;
    assert_refused!(
        store.mailbox(other, &mailbox_name("a")).await,
        StoreError::MailboxNotFound(_)
    );
}

/// CREATE of an existing name (INBOX in any case included) is `MailboxExists`.
pub async fn create_of_an_existing_name_is_mailbox_exists(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    create(store, account, "x").await;
    let x = mailbox_name("x");
    assert_refused!(store.create_mailbox(account, &x, None).await, StoreError::MailboxExists(name) if name == x);
    assert_refused!(
        store.create_mailbox(account, &mailbox_name("inbox"), None).await,
        StoreError::MailboxExists(name) if name.is_inbox()
    );
    assert_refused!(
        store
            .create_mailbox(account, &mailbox_name("Sent"), None)
            .await,
        StoreError::MailboxExists(_)
    );
}

/// DELETE of a leaf removes it and its messages; a second DELETE is `MailboxNotFound`.
pub async fn delete_of_a_leaf_removes_it(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let x = create(store, account, "x").await;
    append_many(store, x.id, 2).await;
    store.delete_mailbox(account, &x.name).await.unwrap();
    assert_refused!(
        store.mailbox(account, &x.name).await,
        StoreError::MailboxNotFound(_)
    );
    assert!(
        !names(store, account)
            .await
            .iter()
            .any(|(name, _)| name == "x")
    );
    assert_refused!(store.status(x.id).await, StoreError::MailboxGone);
    assert_refused!(store.delete_mailbox(account, &x.name).await, StoreError::MailboxNotFound(name) if name == x.name);
}

/// DELETE with children leaves a `\Noselect` placeholder; DELETE of that placeholder is
/// `HasChildren`; DELETE INBOX is `Cannot`; CREATE revives the placeholder as a new mailbox.
pub async fn delete_with_children_leaves_a_placeholder(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let parent = create(store, account, "a").await;
    create(store, account, "a/b").await;
    append_many(store, parent.id, 3).await;
    let before = highest(store, parent.id).await;

    store.delete_mailbox(account, &parent.name).await.unwrap();
    let all = names(store, account).await;
    assert!(
        all.contains(&("a".to_owned(), false)),
        "placeholder in {all:?}"
    );
    assert!(all.contains(&("a/b".to_owned(), true)), "child in {all:?}");
    assert_refused!(
        store.mailbox(account, &parent.name).await,
        StoreError::MailboxNotFound(_)
    );
    assert_refused!(store.status(parent.id).await, StoreError::MailboxGone);
    assert_refused!(store.delete_mailbox(account, &parent.name).await, StoreError::HasChildren(name) if name == parent.name);
    assert_refused!(
        store.delete_mailbox(account, &MailboxName::inbox()).await,
        StoreError::Cannot(_)
    );

    let revived = create(store, account, "a").await;
    assert!(revived.selectable);
    assert_ne!(revived.uid_validity, parent.uid_validity);
    let status = store.status(revived.id).await.unwrap();
    assert_eq!((status.messages, status.uid_next), (0, Uid::MIN));
    if revived.id == parent.id {
        assert!(
            status.highest_modseq > before,
            "MODSEQ went backwards for mailbox {:?}",
            parent.id
        );
    }
    assert_eq!(store.mailbox(account, &parent.name).await.unwrap(), revived);
}

/// RENAME moves the mailbox and its descendants, keeping ids, UIDVALIDITY and messages;
/// a mailbox cannot move below itself.
pub async fn rename_moves_descendants(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    create(store, account, "a/b/c").await;
    let b = store.mailbox(account, &mailbox_name("a/b")).await.unwrap();
    append_many(store, b.id, 2).await;

    store
        .rename_mailbox(account, &mailbox_name("a"), &mailbox_name("x/y"))
        .await
        .unwrap();
    let all = names(store, account).await;
    for name in ["x", "x/y", "x/y/b", "x/y/b/c"] {
        assert!(all.contains(&(name.to_owned(), true)), "{name} in {all:?}");
    }
    assert!(
        !all.iter()
            .any(|(name, _)| name == "a" || name.starts_with("a/")),
        "{all:?}"
    );
    let moved = store
        .mailbox(account, &mailbox_name("x/y/b"))
        .await
        .unwrap();
    assert_eq!((moved.id, moved.uid_validity), (b.id, b.uid_validity));
    assert_eq!(store.status(moved.id).await.unwrap().messages, 2);

    assert_refused!(
        store
            .rename_mailbox(account, &mailbox_name("x/y"), &mailbox_name("x/y/z"))
            .await,
        StoreError::Cannot(_)
    );
    assert_refused!(
        store
            .rename_mailbox(account, &mailbox_name("nope"), &mailbox_name("other"))
            .await,
        StoreError::MailboxNotFound(_)
    );
}

/// RENAME INBOX moves its messages to a new mailbox (new UIDVALIDITY, UIDs from 1, flags
/// kept); INBOX stays, empty, logs the expunges, and keeps its children.
pub async fn rename_inbox_moves_messages_and_keeps_children(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    create(store, account, "INBOX/child").await;
    let seen = flags(&[SystemFlag::Seen], &["$Label1"]);
    let originals = vec![message(1), message_with(2, seen.clone()), message(3)];
    append(store, inbox, originals.clone()).await;
    let before = store.status(inbox).await.unwrap();

    store
        .rename_mailbox(account, &MailboxName::inbox(), &mailbox_name("Old"))
        .await
        .unwrap();

    let after = store.status(inbox).await.unwrap();
    assert_eq!(after.messages, 0);
    assert_eq!(
        (after.uid_validity, after.uid_next),
        (before.uid_validity, before.uid_next)
    );
    assert!(after.highest_modseq > before.highest_modseq);
    let changes = store
        .changes_since(inbox, before.highest_modseq)
        .await
        .unwrap();
    assert_eq!(changes.expunged, uids(1..=3));
    assert_eq!(changes.changed, vec![]);

    let old = store.mailbox(account, &mailbox_name("Old")).await.unwrap();
    assert_ne!(old.id, inbox);
    assert_ne!(old.uid_validity, before.uid_validity);
    let moved = flags_of(store, old.id).await;
    assert_eq!(
        moved,
        vec![
            (uid(1), FlagSet::new()),
            (uid(2), seen),
            (uid(3), FlagSet::new())
        ]
    );
    for (n, original) in (1..).zip(&originals) {
        assert_eq!(
            store.raw_message(old.id, uid(n)).await.unwrap(),
            Some(original.raw.clone())
        );
    }
    let all = names(store, account).await;
    assert!(all.contains(&("INBOX/child".to_owned(), true)), "{all:?}");
    assert!(!all.iter().any(|(name, _)| name == "Old/child"), "{all:?}");
}

/// RENAME onto an existing name is `MailboxExists`, INBOX included.
pub async fn rename_onto_an_existing_name_is_mailbox_exists(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let sent = mailbox_name("Sent");
    assert_refused!(
        store.rename_mailbox(account, &mailbox_name("Drafts"), &sent).await,
        StoreError::MailboxExists(name) if name == sent
    );
    assert_refused!(
        store
            .rename_mailbox(account, &mailbox_name("Drafts"), &mailbox_name("inbox"))
            .await,
        StoreError::MailboxExists(_)
    );
    assert!(
        store
            .mailbox(account, &mailbox_name("Drafts"))
            .await
            .is_ok()
    );
}

/// Subscriptions are names: they need not exist and outlive DELETE.
pub async fn subscriptions_need_not_exist(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let ghost = mailbox_name("nowhere/else");
    store.set_subscribed(account, &ghost, true).await.unwrap();
    store.set_subscribed(account, &ghost, true).await.unwrap();
    store
        .set_subscribed(account, &mailbox_name("Junk"), false)
        .await
        .unwrap();
    store
        .set_subscribed(account, &mailbox_name("never-subscribed"), false)
        .await
        .unwrap();
    let x = create(store, account, "x").await;
    store.set_subscribed(account, &x.name, true).await.unwrap();
    store.delete_mailbox(account, &x.name).await.unwrap();
    let listed: Vec<String> = store
        .subscriptions(account)
        .await
        .unwrap()
        .iter()
        .map(|n| n.as_str().to_owned())
        .collect();
    assert_eq!(
        listed,
        [
            "Archive",
            "Drafts",
            "INBOX",
            "Sent",
            "Trash",
            "nowhere/else",
            "x"
        ]
    );
}

// ---- messages ------------------------------------------------------------------------

/// APPEND gives ascending contiguous UIDs from 1 and reports the UIDVALIDITY.
pub async fn append_assigns_ascending_contiguous_uids(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    let info = store.mailbox(account, &MailboxName::inbox()).await.unwrap();
    let first = append(store, inbox, vec![message(1)]).await;
    assert_eq!(first.uid_validity, info.uid_validity);
    assert_eq!(first.uids, uids([1]));
    let next = append(store, inbox, vec![message(2), message(3), message(4)]).await;
    assert_eq!(next.uids, uids(2..=4));
    let status = store.status(inbox).await.unwrap();
    assert_eq!((status.messages, status.uid_next), (4, uid(5)));
    let listed: Vec<Uid> = store
        .snapshot(inbox)
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(listed, uids(1..=4));
}

/// MULTIAPPEND is one transaction: contiguous UIDs and one MODSEQ for all its messages.
pub async fn multiappend_is_one_transaction(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    append_many(store, inbox, 1).await;
    let before = highest(store, inbox).await;
    let outcome = append(store, inbox, (2..=6).map(message).collect()).await;
    assert_eq!(outcome.uids, uids(2..=6));
    let after = highest(store, inbox).await;
    assert!(after > before);
    let changes = store.changes_since(inbox, before).await.unwrap();
    let modseqs: Vec<ModSeq> = changes.changed.iter().map(|m| m.modseq).collect();
    assert_eq!(
        modseqs,
        vec![after; 5],
        "all messages of one APPEND share its MODSEQ"
    );
    let appended: Vec<Uid> = changes.changed.iter().map(|m| m.uid).collect();
    assert_eq!(appended, outcome.uids);
}

/// HIGHESTMODSEQ strictly increases with every APPEND, STORE, EXPUNGE, COPY and MOVE.
pub async fn modseq_strictly_increases_across_changes(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    let other = open(store, account, "Archive").await;
    let mut last = highest(store, inbox).await;
    let mut other_last = highest(store, other).await;
    append_many(store, inbox, 3).await;
    rose(store, inbox, &mut last, "append").await;
    let deleted = flags(&[SystemFlag::Deleted], &[]);
    store
        .store_flags(inbox, &uids([1]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    let stored = rose(store, inbox, &mut last, "store").await;
    assert_eq!(message_flags(store, inbox, uid(1)).await.modseq, stored);
    store.expunge(inbox, None).await.unwrap();
    rose(store, inbox, &mut last, "expunge").await;
    store.copy(inbox, &uids([2]), other).await.unwrap();
    rose(store, other, &mut other_last, "copy target").await;
    let moved = store.move_messages(inbox, &uids([3]), other).await.unwrap();
    let expunged_at = rose(store, inbox, &mut last, "move source").await;
    assert_eq!(moved.expunge_modseq, Some(expunged_at));
    rose(store, other, &mut other_last, "move target").await;
}

/// Asserts that HIGHESTMODSEQ rose above `last`, and records the new value.
async fn rose(store: &dyn Store, mailbox: MailboxId, last: &mut ModSeq, what: &str) -> ModSeq {
    let now = highest(store, mailbox).await;
    assert!(
        now > *last,
        "{what}: HIGHESTMODSEQ {now} did not rise above {last}"
    );
    *last = now;
    now
}

/// `changes_since` returns exactly the messages changed and the UIDs expunged after a MODSEQ.
pub async fn changes_since_reports_exactly_the_changes(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    append_many(store, inbox, 5).await;
    let mark = highest(store, inbox).await;
    let seen = flags(&[SystemFlag::Seen], &[]);
    store
        .store_flags(inbox, &uids([2]), FlagOperation::Add, &seen, None)
        .await
        .unwrap();
    let deleted = flags(&[SystemFlag::Deleted], &[]);
    store
        .store_flags(inbox, &uids([4]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    assert_eq!(store.expunge(inbox, None).await.unwrap(), uids([4]));
    let now = highest(store, inbox).await;

    let changes = store.changes_since(inbox, mark).await.unwrap();
    assert_eq!(changes.highest_modseq, now);
    assert_eq!(changes.uid_next, uid(6));
    let changed: Vec<(Uid, FlagSet)> = changes
        .changed
        .into_iter()
        .map(|m| (m.uid, m.flags))
        .collect();
    assert_eq!(changed, vec![(uid(2), seen)]);
    assert_eq!(changes.expunged, uids([4]));

    let nothing = store.changes_since(inbox, now).await.unwrap();
    assert_eq!((nothing.changed, nothing.expunged), (vec![], vec![]));
    let everything = store.changes_since(inbox, ModSeq::MIN).await.unwrap();
    let listed: Vec<Uid> = everything.changed.iter().map(|m| m.uid).collect();
    assert_eq!(listed, uids([1, 2, 3, 5]));
    assert_eq!(everything.expunged, uids([4]));
}

/// STORE `+FLAGS`, `-FLAGS` and `FLAGS` on system flags and keywords; keywords are
/// case-insensitive and listed by the snapshot.
pub async fn store_flags_adds_removes_and_replaces(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    append_many(store, inbox, 3).await;
    let seen = flags(&[SystemFlag::Seen], &[]);
    let update = store
        .store_flags(inbox, &uids([1, 2]), FlagOperation::Add, &seen, None)
        .await
        .unwrap();
    let changed: Vec<(Uid, FlagSet)> = update
        .changed
        .into_iter()
        .map(|m| (m.uid, m.flags))
        .collect();
    assert_eq!(
        changed,
        vec![(uid(1), seen.clone()), (uid(2), seen.clone())]
    );
    assert_eq!(update.modified, vec![]);

    let work = flags(&[SystemFlag::Flagged], &["$Work"]);
    store
        .store_flags(inbox, &uids([2]), FlagOperation::Add, &work, None)
        .await
        .unwrap();
    let lower = flags(&[], &["$work"]);
    let update = store
        .store_flags(inbox, &uids([2]), FlagOperation::Add, &lower, None)
        .await
        .unwrap();
    assert_eq!(
        update.changed,
        vec![],
        "keywords compare case-insensitively"
    );

    let update = store
        .store_flags(inbox, &uids([1, 2, 3]), FlagOperation::Remove, &seen, None)
        .await
        .unwrap();
    let changed: Vec<Uid> = update.changed.iter().map(|m| m.uid).collect();
    assert_eq!(changed, uids([1, 2]));

    let draft = flags(&[SystemFlag::Draft], &["todo"]);
    store
        .store_flags(inbox, &uids([3]), FlagOperation::Replace, &draft, None)
        .await
        .unwrap();
    assert_eq!(
        flags_of(store, inbox).await,
        vec![(uid(1), FlagSet::new()), (uid(2), work), (uid(3), draft)]
    );
    let keywords: Vec<String> = store
        .snapshot(inbox)
        .await
        .unwrap()
        .keywords
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(keywords, ["$Work", "todo"]);
}

/// STORE UNCHANGEDSINCE leaves messages changed after the given MODSEQ alone and reports
/// them as modified (RFC 7162 3.1.3).
pub async fn store_unchanged_since_reports_modified(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    append_many(store, inbox, 2).await;
    let mark = highest(store, inbox).await;
    let seen = flags(&[SystemFlag::Seen], &[]);
    let first = store
        .store_flags(inbox, &uids([1]), FlagOperation::Add, &seen, Some(mark))
        .await
        .unwrap();
    assert_eq!(first.changed.len(), 1);
    let flagged = flags(&[SystemFlag::Flagged], &[]);
    let second = store
        .store_flags(
            inbox,
            &uids([1, 2]),
            FlagOperation::Add,
            &flagged,
            Some(mark),
        )
        .await
        .unwrap();
    assert_eq!(second.modified, uids([1]));
    let changed: Vec<Uid> = second.changed.iter().map(|m| m.uid).collect();
    assert_eq!(changed, uids([2]));
    assert_eq!(
        flags_of(store, inbox).await,
        vec![(uid(1), seen), (uid(2), flagged)]
    );
}

/// A STORE that changes nothing takes no MODSEQ; a partly effective one gives the new
/// MODSEQ only to the messages it changed.
pub async fn noop_store_takes_no_modseq(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    let seen = flags(&[SystemFlag::Seen], &[]);
    append(
        store,
        inbox,
        vec![message_with(1, seen.clone()), message(2)],
    )
    .await;
    let mark = highest(store, inbox).await;
    let first_before = message_flags(store, inbox, uid(1)).await;

    let update = store
        .store_flags(inbox, &uids([1]), FlagOperation::Add, &seen, None)
        .await
        .unwrap();
    assert_eq!(update.changed, vec![]);
    assert_eq!(highest(store, inbox).await, mark);

    let update = store
        .store_flags(inbox, &uids([1, 2]), FlagOperation::Add, &seen, None)
        .await
        .unwrap();
    let now = highest(store, inbox).await;
    assert!(now > mark);
    assert_eq!(
        update.changed,
        vec![MessageFlags {
            uid: uid(2),
            flags: seen,
            modseq: now
        }]
    );
    assert_eq!(message_flags(store, inbox, uid(1)).await, first_before);
}

/// EXPUNGE removes every `\Deleted` message; UID EXPUNGE only those of the given UIDs.
pub async fn expunge_all_or_only_given_uids(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    append_many(store, inbox, 4).await;
    let deleted = flags(&[SystemFlag::Deleted], &[]);
    store
        .store_flags(inbox, &uids(1..=3), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    assert_eq!(
        store.expunge(inbox, Some(&uids([2]))).await.unwrap(),
        uids([2])
    );
    let mark = highest(store, inbox).await;
    assert_eq!(
        store.expunge(inbox, Some(&uids([4]))).await.unwrap(),
        vec![]
    );
    assert_eq!(
        highest(store, inbox).await,
        mark,
        "an empty expunge takes no MODSEQ"
    );
    assert_eq!(store.expunge(inbox, None).await.unwrap(), uids([1, 3]));
    let left: Vec<Uid> = store
        .snapshot(inbox)
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, uids([4]));
    assert_eq!(store.raw_message(inbox, uid(1)).await.unwrap(), None);
}

/// `expunged_since` lists, ascending, the UIDs expunged after a MODSEQ — by EXPUNGE, UID
/// EXPUNGE and MOVE — and reports a log that was never pruned as complete.
pub async fn expunged_since_lists_later_expunges(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    let other = open(store, account, "Archive").await;
    append_many(store, inbox, 5).await;
    let deleted = flags(&[SystemFlag::Deleted], &[]);
    store
        .store_flags(inbox, &uids(1..=3), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    let before = highest(store, inbox).await;
    store.expunge(inbox, Some(&uids([2]))).await.unwrap();
    let first = highest(store, inbox).await;
    store.expunge(inbox, None).await.unwrap();
    let second = highest(store, inbox).await;
    store.move_messages(inbox, &uids([5]), other).await.unwrap();
    let third = highest(store, inbox).await;

    let log = |uids: Vec<Uid>| ExpungeLog {
        uids,
        pruned_through: None,
    };
    assert_eq!(
        store.expunged_since(inbox, ModSeq::MIN).await.unwrap(),
        log(uids([1, 2, 3, 5]))
    );
    assert_eq!(
        store.expunged_since(inbox, before).await.unwrap(),
        log(uids([1, 2, 3, 5]))
    );
    assert_eq!(
        store.expunged_since(inbox, first).await.unwrap(),
        log(uids([1, 3, 5]))
    );
    assert_eq!(
        store.expunged_since(inbox, second).await.unwrap(),
        log(uids([5]))
    );
    assert_eq!(
        store.expunged_since(inbox, third).await.unwrap(),
        log(vec![])
    );
    assert_eq!(
        store.expunged_since(other, ModSeq::MIN).await.unwrap(),
        log(vec![]),
        "the MOVE target logs no expunge"
    );
    assert!(log(vec![]).is_complete_after(ModSeq::MIN));
}

/// `prune_expunged` forgets what was logged before the cutoff, keeps each mailbox's log a
/// suffix, says how far back it now reaches (`pruned_through`, also in `changes_since`),
/// takes no MODSEQ and leaves later expunges exact.
pub async fn prune_expunged_forgets_old_expunges_and_says_so(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    let quiet = open(store, account, "Archive").await;
    append_many(store, inbox, 5).await;
    append_many(store, quiet, 1).await;
    let deleted = flags(&[SystemFlag::Deleted], &[]);
    store
        .store_flags(inbox, &uids(1..=5), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.expunge(inbox, Some(&uids([1, 2]))).await.unwrap();
    store.expunge(inbox, Some(&uids([3]))).await.unwrap();
    let pruned_at = highest(store, inbox).await;

    assert_eq!(
        store.prune_expunged(SystemTime::UNIX_EPOCH).await.unwrap(),
        0,
        "nothing was logged before 1970"
    );
    assert_eq!(
        store.expunged_since(inbox, ModSeq::MIN).await.unwrap(),
        ExpungeLog {
            uids: uids([1, 2, 3]),
            pruned_through: None
        }
    );

    let later = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(store.prune_expunged(later).await.unwrap(), 3);
    assert_eq!(
        highest(store, inbox).await,
        pruned_at,
        "pruning takes no MODSEQ"
    );
    let log = store.expunged_since(inbox, ModSeq::MIN).await.unwrap();
    assert_eq!(
        log,
        ExpungeLog {
            uids: vec![],
            pruned_through: Some(pruned_at)
        }
    );
    assert!(!log.is_complete_after(ModSeq::MIN));
    assert!(log.is_complete_after(pruned_at));
    let changes = store.changes_since(inbox, ModSeq::MIN).await.unwrap();
    assert_eq!(
        (changes.expunged, changes.pruned_through),
        (vec![], Some(pruned_at))
    );
    assert_eq!(
        store.expunged_since(quiet, ModSeq::MIN).await.unwrap(),
        ExpungeLog {
            uids: vec![],
            pruned_through: None
        },
        "a mailbox without expunges is untouched"
    );

    store.expunge(inbox, Some(&uids([4]))).await.unwrap();
    assert_eq!(
        store.expunged_since(inbox, pruned_at).await.unwrap(),
        ExpungeLog {
            uids: uids([4]),
            pruned_through: Some(pruned_at)
        }
    );
    assert_eq!(
        store
            .changes_since(inbox, pruned_at)
            .await
            .unwrap()
            .expunged,
        uids([4])
    );
    assert_eq!(
        store.prune_expunged(SystemTime::UNIX_EPOCH).await.unwrap(),
        0
    );
    let status = store.status(inbox).await.unwrap();
    assert_eq!((status.messages, status.uid_next), (1, uid(6)));
}

/// COPY keeps flags, dates and sizes, gives new UIDs in the target, skips missing UIDs,
/// and shares the bytes: the copy stays readable after the source is deleted.
pub async fn copy_keeps_flags_and_dates_and_shares_content(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let source = create(store, account, "Src").await.id;
    let target = create(store, account, "Dst").await;
    append_many(store, target.id, 1).await;
    let answered = flags(&[SystemFlag::Answered], &["$Forwarded"]);
    let originals = vec![message_with(1, answered), message(2)];
    append(store, source, originals.clone()).await;

    let outcome = store
        .copy(source, &uids([2, 1, 99]), target.id)
        .await
        .unwrap();
    assert_eq!(outcome.uid_validity, target.uid_validity);
    assert_eq!(
        (outcome.source, outcome.target),
        (uids([1, 2]), uids([2, 3]))
    );
    assert_eq!(outcome.expunge_modseq, None);
    let copied = store.messages(target.id, &uids([2, 3])).await.unwrap();
    let originals_meta = store.messages(source, &uids([1, 2])).await.unwrap();
    assert_eq!(copied.len(), 2);
    for (copy, original) in copied.iter().zip(&originals_meta) {
        assert_eq!(
            (&copy.flags, copy.internal_date, copy.size),
            (&original.flags, original.internal_date, original.size)
        );
    }
    assert_eq!(
        store.status(source).await.unwrap().messages,
        2,
        "COPY keeps the originals"
    );

    store
        .delete_mailbox(account, &mailbox_name("Src"))
        .await
        .unwrap();
    for (target_uid, original) in [3, 2].into_iter().zip(originals.iter().rev()) {
        assert_eq!(
            store.raw_message(target.id, uid(target_uid)).await.unwrap(),
            Some(original.raw.clone())
        );
    }
    let summaries = store.summaries(target.id, &uids([2])).await.unwrap();
    assert_eq!(summaries, vec![(uid(2), originals[0].summary.clone())]);
}

/// LMTP delivery: one message to several mailboxes of several accounts; a target deleted
/// meanwhile fails alone; each copy stays readable when the others go.
pub async fn deliver_stores_once_and_fails_per_target(store: &dyn Store) {
    let (_, alice) = inbox(store).await;
    let bob = new_account(store, "bob").await;
    let bob_inbox = open(store, bob, "INBOX").await;
    let gone = create(store, bob, "Gone").await.id;
    store
        .delete_mailbox(bob, &mailbox_name("Gone"))
        .await
        .unwrap();
    append_many(store, bob_inbox, 2).await;
    let before = highest(store, bob_inbox).await;
    let delivered = message(7);

    let outcomes = store
        .deliver(delivered.clone(), &[alice, gone, bob_inbox])
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    assert_eq!(
        outcomes[0].as_ref().map(|o| o.uids.clone()).ok(),
        Some(uids([1]))
    );
    assert_refused!(&outcomes[1], StoreError::MailboxGone);
    assert_eq!(
        outcomes[2].as_ref().map(|o| o.uids.clone()).ok(),
        Some(uids([3]))
    );
    assert!(
        highest(store, bob_inbox).await > before,
        "delivery takes a MODSEQ"
    );
    assert_eq!(
        store.raw_message(alice, uid(1)).await.unwrap(),
        Some(delivered.raw.clone())
    );
    assert_eq!(
        store.raw_message(bob_inbox, uid(3)).await.unwrap(),
        Some(delivered.raw.clone())
    );

    let mut deleted = FlagSet::new();
    deleted.insert(SystemFlag::Deleted);
    store
        .store_flags(alice, &uids([1]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.expunge(alice, None).await.unwrap();
    assert_eq!(
        store.raw_message(bob_inbox, uid(3)).await.unwrap(),
        Some(delivered.raw.clone())
    );
    assert_eq!(
        store.summaries(bob_inbox, &uids([3])).await.unwrap(),
        vec![(uid(3), delivered.summary)]
    );
}

/// A text-search narrowing may return more than the matches or nothing at all (`None`),
/// but never leaves a match out; expunged messages are no candidates.
pub async fn text_candidates_never_miss_a_match(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    let raw = |text: &str| NewMessage::parse(Bytes::from(text.to_owned()), FlagSet::new(), date(1));
    append(
        store,
        inbox,
        vec![
            raw("Subject: one\r\n\r\nAlpha Zebra stripes\r\n"),
            raw("Subject: =?utf-8?q?Zebra_Crossing?=\r\n\r\nnothing\r\n"),
            raw("Subject: three\r\n\r\nnothing here either\r\n"),
        ],
    )
    .await;
    let includes = |found: Option<Vec<Uid>>, wanted: &[u32]| {
        if let Some(found) = found {
            for want in wanted {
                assert!(
                    found.contains(&uid(*want)),
                    "candidate {want} missing from {found:?}"
                );
            }
        }
    };
    includes(
        store
            .text_candidates(inbox, TextScope::Body, "zebra")
            .await
            .unwrap(),
        &[1],
    );
    includes(
        store
            .text_candidates(inbox, TextScope::Headers, "zebra crossing")
            .await
            .unwrap(),
        &[2],
    );
    includes(
        store
            .text_candidates(inbox, TextScope::Anywhere, "zebra")
            .await
            .unwrap(),
        &[1, 2],
    );
    includes(
        store
            .text_candidates(inbox, TextScope::Headers, "subject: thr")
            .await
            .unwrap(),
        &[3],
    );
    let mut deleted = FlagSet::new();
    deleted.insert(SystemFlag::Deleted);
    store
        .store_flags(inbox, &uids([1]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.expunge(inbox, None).await.unwrap();
    if let Some(found) = store
        .text_candidates(inbox, TextScope::Body, "zebra")
        .await
        .unwrap()
    {
        assert!(
            !found.contains(&uid(1)),
            "expunged messages are no candidates"
        );
    }
}

/// MOVE copies and expunges the originals in one step, reporting the expunge's MODSEQ.
pub async fn move_copies_and_expunges(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let source = create(store, account, "Src").await.id;
    let target = create(store, account, "Dst").await;
    let seen = flags(&[SystemFlag::Seen], &[]);
    append(
        store,
        source,
        vec![message_with(1, seen.clone()), message(2), message(3)],
    )
    .await;
    let mark = highest(store, source).await;

    let outcome = store
        .move_messages(source, &uids([1, 3]), target.id)
        .await
        .unwrap();
    assert_eq!(
        (outcome.source, outcome.target),
        (uids([1, 3]), uids([1, 2]))
    );
    assert_eq!(outcome.uid_validity, target.uid_validity);
    assert_eq!(outcome.expunge_modseq, Some(highest(store, source).await));
    let changes = store.changes_since(source, mark).await.unwrap();
    assert_eq!(changes.expunged, uids([1, 3]));
    let left: Vec<Uid> = store
        .snapshot(source)
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, uids([2]));
    assert_eq!(
        flags_of(store, target.id).await,
        vec![(uid(1), seen), (uid(2), FlagSet::new())]
    );
}

/// `messages` answers ascending, without duplicates, leaving out UIDs that do not exist,
/// whatever the order of the request.
pub async fn messages_lists_existing_uids_ascending(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    let appended: Vec<NewMessage> = (1..=5).map(message).collect();
    append(store, inbox, appended.clone()).await;
    let found = store
        .messages(inbox, &uids([5, 1, 5, 99, 3, 100_000]))
        .await
        .unwrap();
    let listed: Vec<(Uid, InternalDate, u64)> = found
        .iter()
        .map(|m| (m.uid, m.internal_date, m.size))
        .collect();
    let expected: Vec<(Uid, InternalDate, u64)> = [1, 3, 5]
        .into_iter()
        .map(|n| (uid(n), date(n), appended[n as usize - 1].raw.len() as u64))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(store.messages(inbox, &[]).await.unwrap(), vec![]);
}

/// The stored bytes are exactly the appended (CRLF-normalised) bytes.
pub async fn raw_message_is_byte_identical(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    let bare_lf = NewMessage::parse(
        Bytes::from_static(b"Subject: lf\n\nline one\nline two\n"),
        FlagSet::new(),
        date(1),
    );
    assert_eq!(
        &bare_lf.raw[..],
        b"Subject: lf\r\n\r\nline one\r\nline two\r\n"
    );
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    big.extend((0..200_000u32).map(|n| b"abcdefghij\r\n"[(n % 12) as usize]));
    let big = NewMessage::parse(Bytes::from(big), FlagSet::new(), date(2));
    let appended = vec![bare_lf, multipart_message(), big];
    append(store, inbox, appended.clone()).await;
    for (n, message) in (1..).zip(&appended) {
        assert_eq!(
            store.raw_message(inbox, uid(n)).await.unwrap(),
            Some(message.raw.clone())
        );
    }
    assert_eq!(store.raw_message(inbox, uid(4)).await.unwrap(), None);
    let sizes: Vec<u64> = store
        .messages(inbox, &uids(1..=3))
        .await
        .unwrap()
        .iter()
        .map(|m| m.size)
        .collect();
    let expected: Vec<u64> = appended.iter().map(|m| m.raw.len() as u64).collect();
    assert_eq!(sizes, expected);
    let many = store
        .raw_messages(inbox, &uids([3, 1, 9, 3]))
        .await
        .unwrap();
    assert_eq!(
        many,
        vec![
            (uid(1), appended[0].raw.clone()),
            (uid(3), appended[2].raw.clone())
        ],
        "several at once: ascending, repeats and missing UIDs left out"
    );
    let prefixes = store
        .raw_prefixes(
            inbox,
            &[(uid(3), 10), (uid(1), 1_000_000), (uid(9), 5), (uid(3), 20)],
        )
        .await
        .unwrap();
    assert_eq!(
        prefixes,
        vec![
            (uid(1), appended[0].raw.clone()),
            (uid(3), appended[2].raw.slice(..20))
        ],
        "prefixes: the longest asked for, whole messages when shorter"
    );
}

/// The stored summary equals `portcullis_mime::parse` of the stored bytes.
pub async fn summaries_round_trip(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    let appended = vec![message(1), multipart_message()];
    append(store, inbox, appended.clone()).await;
    let summaries = store.summaries(inbox, &uids([2, 1, 99])).await.unwrap();
    let expected: Vec<(Uid, portcullis_mime::MessageSummary)> = (1..)
        .zip(&appended)
        .map(|(n, m)| (uid(n), portcullis_mime::parse(&m.raw)))
        .collect();
    assert_eq!(summaries, expected);
}

/// The wire summaries are there for exactly the messages that exist, ascending, and hold
/// each message's own envelope and structure. (Byte equality with the IMAP encoder is the
/// backend's test: this crate does not know IMAP's wire form.)
pub async fn wire_summaries_follow_the_messages(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    append(store, inbox, vec![message(1), multipart_message()]).await;
    let wire = store
        .wire_summaries(inbox, &uids([2, 99, 1]))
        .await
        .unwrap();
    let found: Vec<Uid> = wire.iter().map(|(u, _)| *u).collect();
    assert_eq!(found, vec![uid(1), uid(2)]);
    let text = |bytes: &Bytes| String::from_utf8_lossy(bytes).into_owned();
    let (first, second) = (&wire[0].1, &wire[1].1);
    assert!(
        text(&first.envelope).starts_with("(\"Tue, 14 Nov 2023 22:13:20 +0100\" \"message 1\"")
    );
    assert!(text(&first.envelope).ends_with("\"<1@example.org>\")"));
    assert!(text(&first.body_structure).starts_with("(\"text\" \"plain\""));
    assert!(text(&second.body_structure).contains("\"mixed\""));
    assert!(text(&second.body_structure).contains("\"a.bin\""));
    assert!(first.same_for_utf8() && second.same_for_utf8());
}

/// STATUS counts messages, unseen, deleted, recent, size, and reports UIDNEXT and
/// UIDVALIDITY.
pub async fn status_reports_the_figures(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    let info = store.mailbox(account, &MailboxName::inbox()).await.unwrap();
    let appended = vec![
        message_with(1, flags(&[SystemFlag::Seen], &[])),
        message_with(2, flags(&[SystemFlag::Seen, SystemFlag::Deleted], &[])),
        message(3),
        message_with(4, flags(&[SystemFlag::Flagged], &["x"])),
    ];
    append(store, inbox, appended.clone()).await;
    let status = store.status(inbox).await.unwrap();
    let size: u64 = appended.iter().map(|m| m.raw.len() as u64).sum();
    assert_eq!(
        (
            status.messages,
            status.unseen,
            status.deleted,
            status.recent,
            status.size
        ),
        (4, 2, 1, 4, size)
    );
    assert_eq!(
        (status.uid_next, status.uid_validity),
        (uid(5), info.uid_validity)
    );
    assert_eq!(status.highest_modseq, highest(store, inbox).await);

    store.claim_recent(inbox).await.unwrap();
    assert_eq!(store.expunge(inbox, None).await.unwrap(), uids([2]));
    let status = store.status(inbox).await.unwrap();
    assert_eq!(
        (
            status.messages,
            status.unseen,
            status.deleted,
            status.recent,
            status.size
        ),
        (3, 2, 0, 0, size - appended[1].raw.len() as u64)
    );
}

/// `claim_recent` hands each new UID range to exactly one caller.
pub async fn claim_recent_gives_a_range_once(store: &dyn Store) {
    let (_, inbox) = inbox(store).await;
    assert_eq!(store.claim_recent(inbox).await.unwrap(), None);
    append_many(store, inbox, 2).await;
    assert_eq!(
        store.claim_recent(inbox).await.unwrap(),
        Some((uid(1), uid(3)))
    );
    assert_eq!(store.claim_recent(inbox).await.unwrap(), None);
    append_many(store, inbox, 1).await;
    assert_eq!(store.status(inbox).await.unwrap().recent, 1);
    assert_eq!(
        store.claim_recent(inbox).await.unwrap(),
        Some((uid(3), uid(4)))
    );
    assert_eq!(store.status(inbox).await.unwrap().recent, 0);
}

/// A watch wakes with the new HIGHESTMODSEQ after APPEND, STORE and EXPUNGE, and not for
/// reads, no-op STOREs or changes to other mailboxes.
pub async fn watch_wakes_after_changes_only(store: &dyn Store) {
    let (account, inbox) = inbox(store).await;
    let other = open(store, account, "Archive").await;
    let mut watch = store.watch(inbox, highest(store, inbox).await);
    store.snapshot(inbox).await.unwrap();
    append_many(store, other, 1).await;
    assert!(!watch.has_changed().unwrap(), "woken before any change");

    append_many(store, inbox, 2).await;
    expect_wake(&mut watch, highest(store, inbox).await).await;
    let deleted = flags(&[SystemFlag::Deleted], &[]);
    store
        .store_flags(inbox, &uids([1]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    expect_wake(&mut watch, highest(store, inbox).await).await;
    store
        .store_flags(inbox, &uids([1]), FlagOperation::Add, &deleted, None)
        .await
        .unwrap();
    store.status(inbox).await.unwrap();
    assert!(!watch.has_changed().unwrap(), "woken by a no-op STORE");
    store.expunge(inbox, None).await.unwrap();
    expect_wake(&mut watch, highest(store, inbox).await).await;
}

async fn expect_wake(watch: &mut ChangeWatch, expected: ModSeq) {
    tokio::time::timeout(WAKE_TIMEOUT, watch.changed())
        .await
        .expect("the watcher was not woken")
        .expect("the watch channel closed");
    assert_eq!(*watch.borrow_and_update(), expected);
}

/// Every operation on a deleted mailbox's id is `MailboxGone`.
pub async fn deleted_mailbox_is_gone(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let gone = create(store, account, "gone").await;
    let inbox = open(store, account, "INBOX").await;
    append_many(store, gone.id, 1).await;
    append_many(store, inbox, 1).await;
    store.delete_mailbox(account, &gone.name).await.unwrap();
    let one = uids([1]);
    let any = FlagSet::new();
    assert_refused!(store.status(gone.id).await, StoreError::MailboxGone);
    assert_refused!(store.snapshot(gone.id).await, StoreError::MailboxGone);
    assert_refused!(
        store.changes_since(gone.id, ModSeq::MIN).await,
        StoreError::MailboxGone
    );
    assert_refused!(
        store.expunged_since(gone.id, ModSeq::MIN).await,
        StoreError::MailboxGone
    );
    assert_refused!(
        store.append(gone.id, vec![message(2)]).await,
        StoreError::MailboxGone
    );
    assert_refused!(
        store
            .store_flags(gone.id, &one, FlagOperation::Add, &any, None)
            .await,
        StoreError::MailboxGone
    );
    assert_refused!(store.expunge(gone.id, None).await, StoreError::MailboxGone);
    assert_refused!(
        store.copy(inbox, &one, gone.id).await,
        StoreError::MailboxGone
    );
    assert_refused!(
        store.move_messages(gone.id, &one, inbox).await,
        StoreError::MailboxGone
    );
    assert_refused!(store.claim_recent(gone.id).await, StoreError::MailboxGone);
    assert_eq!(
        store.status(inbox).await.unwrap().messages,
        1,
        "a refused MOVE changes nothing"
    );
}

/// A deleted and re-created mailbox gets a new id and a new UIDVALIDITY.
pub async fn recreated_mailbox_gets_new_uid_validity(store: &dyn Store) {
    let account = new_account(store, "alice").await;
    let first = create(store, account, "x").await;
    append_many(store, first.id, 1).await;
    store.delete_mailbox(account, &first.name).await.unwrap();
    let second = create(store, account, "x").await;
    assert_ne!(second.uid_validity, first.uid_validity);
    assert_ne!(second.id, first.id);
    let status = store.status(second.id).await.unwrap();
    assert_eq!((status.messages, status.uid_next), (0, Uid::MIN));
}

/// 20 APPENDs from concurrent tasks all succeed with 20 distinct UIDs.
pub async fn concurrent_appends_get_distinct_uids(store: Arc<dyn Store>) {
    let (_, inbox) = inbox(&*store).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=20 {
        let store = Arc::clone(&store);
        tasks.spawn(async move { store.append(inbox, vec![message(n)]).await });
    }
    let mut given = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.expect("append task").expect("append");
        assert_eq!(outcome.uids.len(), 1);
        given.extend(outcome.uids);
    }
    given.sort();
    assert_eq!(given, uids(1..=20));
    let status = store.status(inbox).await.unwrap();
    assert_eq!((status.messages, status.uid_next), (20, uid(21)));
}

/// Throttle records (brute-force defence) come back as saved, to the millisecond; saving a
/// key again replaces its record; forgotten keys are gone; every kind of key survives,
/// IPv6 networks and non-ASCII account names included.
pub async fn throttle_records_are_saved_replaced_and_forgotten(store: &dyn Store) {
    fn sorted(mut records: Vec<ThrottleRecord>) -> Vec<ThrottleRecord> {
        records.sort_by(|a, b| a.key.cmp(&b.key));
        records
    }
    let at = |ms: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms);
    let ip = ThrottleKey::Ip("192.0.2.7".parse().unwrap());
    let prefix = ThrottleKey::Prefix("2001:db8:1:2::".parse().unwrap(), 64);
    let account = ThrottleKey::Account("jürgen@example.org".to_owned());
    let record = |key: &ThrottleKey, failures: u32, banned: Option<u64>| ThrottleRecord {
        key: key.clone(),
        failures,
        window_start: at(1),
        banned_until: banned.map(at),
        bans: u32::from(banned.is_some()),
        expires: at(900_123),
    };
    assert_eq!(store.throttle_records().await.unwrap(), vec![]);
    let first = vec![
        record(&ip, 3, None),
        record(&prefix, 12, Some(60_007)),
        record(&account, 1, None),
    ];
    store.save_throttle(first.clone(), vec![]).await.unwrap();
    assert_eq!(
        sorted(store.throttle_records().await.unwrap()),
        sorted(first)
    );

    let banned = ThrottleRecord {
        bans: 2,
        ..record(&ip, 10, Some(120_000))
    };
    store
        .save_throttle(vec![banned.clone()], vec![account.clone()])
        .await
        .unwrap();
    assert_eq!(
        sorted(store.throttle_records().await.unwrap()),
        sorted(vec![banned.clone(), record(&prefix, 12, Some(60_007))]),
        "the IP's record is replaced, the account's forgotten"
    );

    store
        .save_throttle(
            vec![record(&account, 1, None)],
            vec![account.clone(), prefix],
        )
        .await
        .unwrap();
    assert_eq!(
        store.throttle_records().await.unwrap(),
        vec![banned],
        "a key both saved and forgotten is forgotten"
    );
}
