//! `portcullis`: the one binary — server, account administration, configuration.
//!
//! Exit codes: 0 success; 1 failure (the message names the problem); 2 usage error;
//! `check` uses 0 clean, 1 findings, 2 could not check;
//! `deliver` uses sendmail's: 67 unknown user, 75 temporary failure, 65 bad message,
//! 69 permanent failure.

// The command line's output is this program's interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod check;
mod config;
mod deliver;
mod metrics;
mod serve;
mod users;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portcullis_net::LmtpAddress;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use config::{Overrides, Settings};

/// A secure-by-default IMAP server.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
struct Cli {
    /// Configuration file (without one: a loopback development server).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Implicit-TLS listener address (repeatable; overrides the config file).
    #[arg(long, global = true)]
    imaps: Vec<SocketAddr>,
    /// STARTTLS listener address (repeatable; overrides the config file).
    #[arg(long, global = true)]
    imap: Vec<SocketAddr>,
    /// LMTP listener: host:port on loopback, or unix:/path (repeatable; overrides the config).
    #[arg(long, global = true)]
    lmtp: Vec<LmtpAddress>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Write a commented production configuration file.
    Init {
        /// Where to write it (`-` for standard output).
        #[arg(default_value = "portcullis.toml")]
        path: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Deliver a message from standard input (for an MTA's mailbox_command).
    Deliver {
        /// The account.
        user: String,
        /// Folder to deliver into (INBOX when it does not exist).
        #[arg(long)]
        mailbox: Option<String>,
    },
    /// Audit any IMAP/IMAPS endpoint: TLS versions and suites, certificate, plaintext
    /// exposure (exit 0 clean, 1 findings, 2 could not check).
    Check(check::CheckArgs),
    /// Build the SEARCH text index of every message stored without it now (the server's
    /// background indexer does it when idle; useful after a bulk import).
    Index,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: users::UserAction,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the configuration and print the effective values.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("portcullis: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        data_dir: cli.data_dir,
        imaps: cli.imaps,
        imap: cli.imap,
        lmtp: cli.lmtp,
    };
    match &cli.command {
        Command::Init { path, force } => {
            init(path, *force)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Check(args) => return Ok(check::run(args)),
        _ => {}
    }
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    match cli.command {
        Command::Serve => serve::serve(settings)?,
        Command::Deliver { user, mailbox } => {
            return Ok(deliver::deliver(&settings, &user, mailbox.as_deref()));
        }
        Command::Index => index(&settings)?,
        Command::User { action } => {
            audit::init_alone(&settings)?;
            users::run(&settings, action)?
        }
        Command::Config {
            action: ConfigAction::Check,
        } => println!("{}", settings.describe()),
        Command::Init { .. } | Command::Check(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `portcullis index`: indexes what waits for the text index, batch by batch (the server
/// may run meanwhile: both write through SQLite's locking, each batch a short transaction).
fn index(settings: &Settings) -> anyhow::Result<()> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let store = portcullis_store_sqlite::SqliteStore::open(&settings.data_dir)
            .with_context(|| format!("cannot open the store in {}", settings.data_dir.display()))?;
        let started = std::time::Instant::now();
        let indexed = store.index_pending().await?;
        println!(
            "indexed the text of {indexed} messages in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })
}

fn init(path: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        print!("{}", config::TEMPLATE);
        return Ok(());
    }
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists (use --force to replace it)",
            path.display()
        );
    }
    std::fs::write(path, config::TEMPLATE)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// A multi-threaded runtime for commands that talk to the store or the network.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
