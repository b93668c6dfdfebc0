//! Mailboxes: the hierarchy (CREATE, DELETE, RENAME, RFC 9051 6.3.4–6.3.6), subscriptions,
//! STATUS, and the per-mailbox counters (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, recent floor).
//!
//! Hierarchy invariant: every ancestor of a mailbox row has a row too (CREATE and RENAME
//! create missing ancestors; DELETE of a mailbox with children leaves a `\Noselect`
//! placeholder). The descendants of `a` are the names in `["a/", "a0")`, since `0` follows
//! the separator `/` in byte order: one index range scan.

use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_store::{
    AccountId, MailboxId, MailboxInfo, MailboxName, MailboxStatus, ModSeq, SEPARATOR, SpecialUse,
    StoreError, Uid, UidValidity,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{DbResult, Failure, is_unique_violation};
use crate::messages::{self, Transfer};
use crate::rows;
use crate::uid_set::UidSet;
use crate::writer::Changes;

const COLUMNS: &str = "id, account_id, name, uid_validity, uid_next, highest_modseq, recent_floor, special_use, selectable, expunges_pruned_through";

/// A mailbox row.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    pub(crate) id: MailboxId,
    pub(crate) account: AccountId,
    pub(crate) name: MailboxName,
    pub(crate) uid_validity: UidValidity,
    pub(crate) uid_next: Uid,
    pub(crate) highest_modseq: ModSeq,
    pub(crate) recent_floor: Uid,
    pub(crate) special_use: Option<SpecialUse>,
    pub(crate) selectable: bool,
    /// Expunges up to this MODSEQ may be gone from the log (`None`: nothing pruned yet).
    pub(crate) pruned_through: Option<ModSeq>,
}

impl Mailbox {
    fn read(row: &Row<'_>) -> DbResult<Mailbox> {
        Ok(Mailbox {
            id: MailboxId(row.get(0)?),
            account: AccountId(row.get(1)?),
            name: rows::mailbox_name(row.get_ref(2)?.as_str()?)?,
            uid_validity: rows::uid_validity(row.get(3)?)?,
            uid_next: rows::uid(row.get(4)?)?,
            highest_modseq: rows::modseq(row.get(5)?)?,
            recent_floor: rows::uid(row.get(6)?)?,
            special_use: rows::special_use(row.get_ref(7)?.as_str_or_null()?),
            selectable: row.get(8)?,
            pruned_through: match row.get::<_, i64>(9)? {
                0 => None,
                value => Some(rows::modseq(value)?),
            },
        })
    }

    fn info(self) -> MailboxInfo {
        MailboxInfo {
            id: self.id,
            name: self.name,
            uid_validity: self.uid_validity,
            special_use: self.special_use,
            selectable: self.selectable,
            highest_modseq: self.highest_modseq,
            recent_unclaimed: self.recent_floor < self.uid_next,
        }
    }
}

fn query_one(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> DbResult<Option<Mailbox>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM mailboxes WHERE {filter}"))?;
    let mut found = stmt.query(params)?;
    found.next()?.map(Mailbox::read).transpose()
}

/// The mailbox with this id, placeholder or not.
fn by_id(conn: &Connection, id: MailboxId) -> DbResult<Option<Mailbox>> {
    query_one(conn, "id = ?1", [id.0])
}

/// The mailbox with this name, placeholder or not.
fn by_name(conn: &Connection, account: AccountId, name: &MailboxName) -> DbResult<Option<Mailbox>> {
    query_one(
        conn,
        "account_id = ?1 AND name = ?2",
        params![account.0, name.as_str()],
    )
}

/// A selectable mailbox by id; `MailboxGone` if it was deleted (or is now a placeholder).
pub(crate) fn selectable(conn: &Connection, id: MailboxId) -> DbResult<Mailbox> {
    by_id(conn, id)?
        .filter(|mailbox| mailbox.selectable)
        .ok_or(Failure::Refused(StoreError::MailboxGone))
}

/// A selectable mailbox by name; `MailboxNotFound` for unknown names and placeholders.
pub(crate) fn find(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
) -> DbResult<MailboxInfo> {
    by_name(conn, account, name)?
        .filter(|mailbox| mailbox.selectable)
        .map(Mailbox::info)
        .ok_or_else(|| StoreError::MailboxNotFound(name.clone()).into())
}

/// Every mailbox of an account, placeholders included, by name.
pub(crate) fn list(conn: &Connection, account: AccountId) -> DbResult<Vec<MailboxInfo>> {
    Ok(of_account(conn, account)?
        .into_iter()
        .map(Mailbox::info)
        .collect())
}

/// Every mailbox row of an account, by name.
pub(crate) fn of_account(conn: &Connection, account: AccountId) -> DbResult<Vec<Mailbox>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM mailboxes WHERE account_id = ?1 ORDER BY name"
    ))?;
    let mut found = stmt.query([account.0])?;
    let mut mailboxes = Vec::new();
    while let Some(row) = found.next()? {
        mailboxes.push(Mailbox::read(row)?);
    }
    Ok(mailboxes)
}

/// The descendants of `name`: `(id, name)` of every mailbox below it.
fn descendants(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
) -> DbResult<Vec<(MailboxId, MailboxName)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name FROM mailboxes WHERE account_id = ?1 AND name >= ?2 AND name < ?3",
    )?;
    let (low, high) = descendant_range(name);
    let mut found = stmt.query(params![account.0, low, high])?;
    let mut below = Vec::new();
    while let Some(row) = found.next()? {
        below.push((
            MailboxId(row.get(0)?),
            rows::mailbox_name(row.get_ref(1)?.as_str()?)?,
        ));
    }
    Ok(below)
}

fn has_children(conn: &Connection, account: AccountId, name: &MailboxName) -> DbResult<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account_id = ?1 AND name >= ?2 AND name < ?3)",
    )?;
    let (low, high) = descendant_range(name);
    Ok(stmt.query_row(params![account.0, low, high], |row| row.get(0))?)
}

/// `[name/, name0)`: the names strictly below `name`.
fn descendant_range(name: &MailboxName) -> (String, String) {
    const AFTER_SEPARATOR: char = '0';
    const _: () = assert!(SEPARATOR as u32 + 1 == AFTER_SEPARATOR as u32);
    (
        format!("{name}{SEPARATOR}"),
        format!("{name}{AFTER_SEPARATOR}"),
    )
}

/// Inserts a new selectable mailbox with a fresh UIDVALIDITY.
pub(crate) fn insert(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
) -> DbResult<Mailbox> {
    let uid_validity = next_uid_validity(conn)?;
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO mailboxes (account_id, name, uid_validity, uid_next, highest_modseq, recent_floor,
                                special_use, selectable)
         VALUES (?1, ?2, ?3, 1, 1, 1, ?4, 1)
         RETURNING {COLUMNS}"
    ))?;
    let special_use = special_use.map(SpecialUse::as_str);
    let mut inserted = stmt
        .query(params![
            account.0,
            name.as_str(),
            uid_validity.get(),
            special_use
        ])
        .map_err(|error| name_taken(error, name))?;
    match inserted.next().map_err(|error| name_taken(error, name))? {
        Some(row) => Mailbox::read(row),
        None => Err(Failure::Internal(
            "INSERT ... RETURNING returned no row".to_owned(),
        )),
    }
}

fn name_taken(error: rusqlite::Error, name: &MailboxName) -> Failure {
    if is_unique_violation(&error) {
        StoreError::MailboxExists(name.clone()).into()
    } else {
        error.into()
    }
}

/// The next UIDVALIDITY: store-wide, strictly increasing, and at least the current Unix time,
/// so that a store rebuilt from scratch does not hand out values clients have cached.
fn next_uid_validity(conn: &Connection) -> DbResult<UidValidity> {
    let last: i64 = conn.query_row(
        "SELECT value FROM meta WHERE key = 'last_uid_validity'",
        [],
        |row| row.get(0),
    )?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| u32::try_from(since.as_secs()).ok())
        .unwrap_or(0);
    let next = (last + 1).max(i64::from(now));
    let value = u32::try_from(next)
        .ok()
        .and_then(UidValidity::new)
        .ok_or(StoreError::Limit("UIDVALIDITY values are exhausted"))?;
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'last_uid_validity'",
        [next],
    )?;
    Ok(value)
}

/// Takes the next MODSEQ of a mailbox (once per request; later calls return the same value).
pub(crate) fn next_modseq(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: MailboxId,
) -> DbResult<ModSeq> {
    if let Some(taken) = changes.taken(mailbox) {
        return Ok(taken);
    }
    let mut stmt = conn.prepare_cached(
        "UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ?1 RETURNING highest_modseq",
    )?;
    let raised: Option<i64> = stmt.query_row([mailbox.0], |row| row.get(0)).optional()?;
    let modseq = rows::modseq(raised.ok_or(StoreError::MailboxGone)?)?;
    changes.raise(mailbox, modseq);
    Ok(modseq)
}

/// Reserves `count` UIDs of `mailbox` and returns them; `Limit` if UIDNEXT would pass the
/// largest UID.
pub(crate) fn allocate_uids(
    conn: &Connection,
    mailbox: &Mailbox,
    count: usize,
) -> DbResult<Vec<Uid>> {
    let first = mailbox.uid_next.get();
    let next = u32::try_from(count)
        .ok()
        .and_then(|count| first.checked_add(count))
        .ok_or(StoreError::Limit("no UIDs left in this mailbox"))?;
    conn.prepare_cached("UPDATE mailboxes SET uid_next = ?2 WHERE id = ?1")?
        .execute(params![mailbox.id.0, next])?;
    Ok((first..next).filter_map(Uid::new).collect())
}

/// CREATE: the mailbox and its missing ancestors. A placeholder of that name is replaced by
/// a new mailbox (new id, new UIDVALIDITY, UIDNEXT 1): a session that had the old one
/// selected finds it gone, and its MODSEQs never go backwards.
pub(crate) fn create(
    conn: &Connection,
    changes: &mut Changes,
    account: AccountId,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
) -> DbResult<MailboxInfo> {
    require_account(conn, account)?;
    match by_name(conn, account, name)? {
        Some(existing) if existing.selectable => {
            return Err(StoreError::MailboxExists(name.clone()).into());
        }
        Some(placeholder) => remove_row(conn, changes, &placeholder)?,
        None => create_ancestors(conn, account, name)?,
    }
    Ok(insert(conn, account, name, special_use)?.info())
}

fn require_account(conn: &Connection, account: AccountId) -> DbResult<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)")?
        .query_row([account.0], |row| row.get(0))?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::Cannot("the account has been deleted").into())
    }
}

fn create_ancestors(conn: &Connection, account: AccountId, name: &MailboxName) -> DbResult<()> {
    for ancestor in name.ancestors() {
        if by_name(conn, account, &ancestor)?.is_none() {
            insert(conn, account, &ancestor, None)?;
        }
    }
    Ok(())
}

/// Deletes a mailbox row (and by cascade its messages, expunge log and keywords), waking its
/// watchers so that they find it gone.
pub(crate) fn remove_row(
    conn: &Connection,
    changes: &mut Changes,
    mailbox: &Mailbox,
) -> DbResult<()> {
    if let Some(wake) = mailbox
        .highest_modseq
        .get()
        .checked_add(1)
        .and_then(ModSeq::new)
    {
        changes.raise(mailbox.id, wake);
    }
    conn.prepare_cached("DELETE FROM mailboxes WHERE id = ?1")?
        .execute([mailbox.id.0])?;
    Ok(())
}

/// DELETE (RFC 9051 6.3.5).
pub(crate) fn delete(
    conn: &Connection,
    changes: &mut Changes,
    account: AccountId,
    name: &MailboxName,
) -> DbResult<()> {
    if name.is_inbox() {
        return Err(StoreError::Cannot("INBOX cannot be deleted").into());
    }
    let mailbox =
        by_name(conn, account, name)?.ok_or_else(|| StoreError::MailboxNotFound(name.clone()))?;
    if !has_children(conn, account, name)? {
        return remove_row(conn, changes, &mailbox);
    }
    // "It is an error to attempt to delete a name that has inferior hierarchical names and
    // also has the \Noselect mailbox name attribute."
    if !mailbox.selectable {
        return Err(StoreError::HasChildren(name.clone()).into());
    }
    // The messages go (logged as expunged, so sessions that have it selected see them go);
    // the name stays as a `\Noselect` placeholder for its children.
    messages::expunge_matching(conn, changes, mailbox.id, &UidSet::All, |_| true)?;
    conn.prepare_cached("UPDATE mailboxes SET selectable = 0, special_use = NULL WHERE id = ?1")?
        .execute([mailbox.id.0])?;
    conn.prepare_cached("DELETE FROM mailbox_keywords WHERE mailbox_id = ?1")?
        .execute([mailbox.id.0])?;
    Ok(())
}

/// RENAME (RFC 9051 6.3.6).
pub(crate) fn rename(
    conn: &Connection,
    changes: &mut Changes,
    account: AccountId,
    from: &MailboxName,
    to: &MailboxName,
) -> DbResult<()> {
    let source =
        by_name(conn, account, from)?.ok_or_else(|| StoreError::MailboxNotFound(from.clone()))?;
    if by_name(conn, account, to)?.is_some() {
        return Err(StoreError::MailboxExists(to.clone()).into());
    }
    if from.is_inbox() {
        create_ancestors(conn, account, to)?;
        return rename_inbox(conn, changes, &source, to);
    }
    if to.is_descendant_of(from) {
        return Err(StoreError::Cannot("a mailbox cannot be moved below itself").into());
    }
    create_ancestors(conn, account, to)?;
    let mut moved = descendants(conn, account, from)?;
    moved.push((source.id, from.clone()));
    let mut stmt = conn.prepare_cached("UPDATE mailboxes SET name = ?2 WHERE id = ?1")?;
    for (id, old) in moved {
        let new = old
            .with_prefix_replaced(from, to)
            .ok_or_else(|| Failure::Internal(format!("{old} is not below {from}")))?;
        stmt.execute(params![id.0, new.as_str()])
            .map_err(|error| name_taken(error, &new))?;
    }
    Ok(())
}

/// "Renaming INBOX is permitted ... and has special behavior: It moves all messages in
/// INBOX to a new mailbox with the given name, leaving INBOX empty. If the server
/// implementation supports inferior hierarchical names of INBOX, these are unaffected by a
/// rename of INBOX." The messages are moved, not re-labelled: the new mailbox gets its own
/// UIDVALIDITY and UIDs from 1, and INBOX logs the expunges.
fn rename_inbox(
    conn: &Connection,
    changes: &mut Changes,
    inbox: &Mailbox,
    to: &MailboxName,
) -> DbResult<()> {
    let target = insert(conn, inbox.account, to, None)?;
    messages::transfer(
        conn,
        changes,
        inbox.id,
        &UidSet::All,
        target.id,
        Transfer::Move,
    )?;
    Ok(())
}

/// SUBSCRIBE / UNSUBSCRIBE.
pub(crate) fn set_subscribed(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
    subscribed: bool,
) -> DbResult<()> {
    let sql = if subscribed {
        "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?1, ?2)"
    } else {
        "DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2"
    };
    conn.prepare_cached(sql)?
        .execute(params![account.0, name.as_str()])?;
    Ok(())
}

/// Subscribed names, by name.
pub(crate) fn subscriptions(conn: &Connection, account: AccountId) -> DbResult<Vec<MailboxName>> {
    let mut stmt =
        conn.prepare_cached("SELECT name FROM subscriptions WHERE account_id = ?1 ORDER BY name")?;
    let mut found = stmt.query([account.0])?;
    let mut names = Vec::new();
    while let Some(row) = found.next()? {
        names.push(rows::mailbox_name(row.get_ref(0)?.as_str()?)?);
    }
    Ok(names)
}

/// STATUS figures.
pub(crate) fn status(conn: &Connection, id: MailboxId) -> DbResult<MailboxStatus> {
    let mailbox = selectable(conn, id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT count(*), coalesce(sum(flags & 1 = 0), 0), coalesce(sum(flags & 8 != 0), 0),
                coalesce(sum(uid >= ?2), 0), coalesce(sum(size), 0)
         FROM messages WHERE mailbox_id = ?1",
    )?;
    let figures: [i64; 5] = stmt.query_row(params![id.0, mailbox.recent_floor.get()], |row| {
        Ok([
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ])
    })?;
    let [messages, unseen, deleted, recent, size] = figures;
    Ok(MailboxStatus {
        messages: rows::count(messages)?,
        recent: rows::count(recent)?,
        unseen: rows::count(unseen)?,
        deleted: rows::count(deleted)?,
        uid_next: mailbox.uid_next,
        uid_validity: mailbox.uid_validity,
        highest_modseq: mailbox.highest_modseq,
        size: rows::size(size)?,
    })
}

/// Claims the recent range (see `Store::claim_recent`).
/// Whether `claim_recent` would claim anything now.
pub(crate) fn recent_unclaimed(conn: &Connection, id: MailboxId) -> DbResult<bool> {
    let mailbox = selectable(conn, id)?;
    Ok(mailbox.recent_floor < mailbox.uid_next)
}

pub(crate) fn claim_recent(conn: &Connection, id: MailboxId) -> DbResult<Option<(Uid, Uid)>> {
    let mailbox = selectable(conn, id)?;
    if mailbox.recent_floor >= mailbox.uid_next {
        return Ok(None);
    }
    conn.prepare_cached("UPDATE mailboxes SET recent_floor = uid_next WHERE id = ?1")?
        .execute([id.0])?;
    Ok(Some((mailbox.recent_floor, mailbox.uid_next)))
}
