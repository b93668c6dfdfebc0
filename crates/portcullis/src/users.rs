//! `portcullis user ...`: account administration against the data directory. Passwords come
//! from a prompt or from standard input, never from the command line (argv is visible to
//! every user of the machine).

use anyhow::{Context, bail};
use clap::Subcommand;
use portcullis_auth::{Secret, hash_password};
use portcullis_store::{AccountName, Store};
use portcullis_store_sqlite::SqliteStore;
use std::io::{BufRead, IsTerminal};

use crate::config::Settings;

/// Account actions.
#[derive(Debug, Subcommand)]
pub(crate) enum UserAction {
    /// Create an account (password from a prompt, or stdin when it is not a terminal).
    Add {
        /// Login name.
        name: String,
    },
    /// Change an account's password.
    Passwd {
        /// Login name.
        name: String,
    },
    /// Delete an account with all its mail.
    Del {
        /// Login name.
        name: String,
    },
    /// List accounts.
    List,
}

pub(crate) fn run(settings: &Settings, action: UserAction) -> anyhow::Result<()> {
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let store = SqliteStore::open(&settings.data_dir)
            .with_context(|| format!("cannot open the store in {}", settings.data_dir.display()))?;
        match action {
            UserAction::Add { name } => {
                let name = account_name(&name)?;
                let hash = hash_password(&read_password()?)?;
                let created = store.create_account(&name, &hash).await;
                audit("user add", &name, &created);
                created?;
                println!("created account {name}");
            }
            UserAction::Passwd { name } => {
                let name = account_name(&name)?;
                if store.account(&name).await?.is_none() {
                    audit::<(), _>("user passwd", &name, &Err("no such account"));
                    bail!("no such account: {name}");
                }
                let hash = hash_password(&read_password()?)?;
                let changed = store.set_password(&name, &hash).await;
                audit("user passwd", &name, &changed);
                changed?;
                println!("changed the password of {name}");
            }
            UserAction::Del { name } => {
                let name = account_name(&name)?;
                let deleted = store.delete_account(&name).await;
                audit("user del", &name, &deleted);
                deleted?;
                println!("deleted account {name}");
            }
            UserAction::List => {
                for account in store.accounts().await? {
                    println!("{}", account.name);
                }
            }
        }
        Ok(())
    })
}

/// One audit line for an account change: what, whose, the outcome, and who ran it (the
/// login that invoked sudo, else the user's).
fn audit<T, E: std::fmt::Display>(
    action: &'static str,
    name: &AccountName,
    outcome: &Result<T, E>,
) {
    let operator = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    match outcome {
        Ok(_) => {
            tracing::info!(target: "audit", event = "admin", result = "success", action, user = %name, operator = %operator, "account changed")
        }
        Err(error) => {
            tracing::info!(target: "audit", event = "admin", result = "failure", action, user = %name, operator = %operator, reason = %error, "account change failed")
        }
    }
}

fn account_name(name: &str) -> anyhow::Result<AccountName> {
    AccountName::new(name).with_context(|| format!("invalid account name {name:?}"))
}

/// Reads a new password: twice at a terminal prompt, or one line of standard input.
fn read_password() -> anyhow::Result<Secret<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let second =
            rpassword::prompt_password("Repeat password: ").context("cannot read the password")?;
        if first != second {
            bail!("the passwords differ");
        }
        return Ok(Secret::new(first));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on stdin");
    }
    Ok(Secret::new(password))
}
