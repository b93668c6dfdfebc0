//! Accounts: creation with the default mailboxes, password changes, deletion of everything
//! an account owns.

use portcullis_store::{Account, AccountId, AccountName, MailboxName, SpecialUse, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{DbResult, Failure, is_unique_violation};
use crate::mailboxes;
use crate::writer::Changes;

/// Creates an account with the default mailboxes, all subscribed.
pub(crate) fn create(
    conn: &Connection,
    name: &AccountName,
    password_hash: &str,
) -> DbResult<AccountId> {
    let id = conn
        .prepare_cached("INSERT INTO accounts (name, password_hash) VALUES (?1, ?2) RETURNING id")?
        .query_row(params![name.as_str(), password_hash], |row| row.get(0))
        .map(AccountId)
        .map_err(|error| {
            if is_unique_violation(&error) {
                Failure::Refused(StoreError::AccountExists(name.clone()))
            } else {
                error.into()
            }
        })?;
    for (mailbox, special_use) in SpecialUse::DEFAULT_MAILBOXES {
        let mailbox = MailboxName::new(mailbox)
            .map_err(|error| Failure::Internal(format!("default mailbox {mailbox}: {error}")))?;
        mailboxes::insert(conn, id, &mailbox, special_use)?;
        mailboxes::set_subscribed(conn, id, &mailbox, true)?;
    }
    Ok(id)
}

/// Replaces the password hash.
pub(crate) fn set_password(
    conn: &Connection,
    name: &AccountName,
    password_hash: &str,
) -> DbResult<()> {
    let updated = conn
        .prepare_cached("UPDATE accounts SET password_hash = ?2 WHERE name = ?1")?
        .execute(params![name.as_str(), password_hash])?;
    if updated == 0 {
        return Err(StoreError::AccountNotFound(name.clone()).into());
    }
    Ok(())
}

/// Deletes the account and, through the cascades, everything it owns. Sessions watching its
/// mailboxes are woken and find them gone.
pub(crate) fn delete(conn: &Connection, changes: &mut Changes, name: &AccountName) -> DbResult<()> {
    let account = find(conn, name)?.ok_or_else(|| StoreError::AccountNotFound(name.clone()))?;
    for mailbox in mailboxes::of_account(conn, account.id)? {
        mailboxes::remove_row(conn, changes, &mailbox)?;
    }
    conn.prepare_cached("DELETE FROM accounts WHERE id = ?1")?
        .execute([account.id.0])?;
    Ok(())
}

/// All accounts, by name.
pub(crate) fn list(conn: &Connection) -> DbResult<Vec<Account>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, password_hash FROM accounts ORDER BY name")?;
    let mut found = stmt.query([])?;
    let mut accounts = Vec::new();
    while let Some(row) = found.next()? {
        accounts.push(read(row)?);
    }
    Ok(accounts)
}

/// One account by name.
pub(crate) fn find(conn: &Connection, name: &AccountName) -> DbResult<Option<Account>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, password_hash FROM accounts WHERE name = ?1")?;
    let found = stmt
        .query_row([name.as_str()], |row| Ok(read(row)))
        .optional()?;
    found.transpose()
}

fn read(row: &rusqlite::Row<'_>) -> DbResult<Account> {
    let name: String = row.get(1)?;
    Ok(Account {
        id: AccountId(row.get(0)?),
        name: AccountName::new(&name)
            .map_err(|error| Failure::Internal(format!("stored account name: {error}")))?,
        password_hash: row.get(2)?,
    })
}
