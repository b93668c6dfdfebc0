//! `portcullis`: the one binary — server, account administration, configuration.
//!
//! Exit codes: 0 success; 1 failure (the message names the problem); 2 usage error.

// The command line's output is this program's interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod config;
mod serve;
mod users;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("portcullis: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = Overrides {
        data_dir: cli.data_dir,
        imaps: cli.imaps,
        imap: cli.imap,
    };
    if let Command::Init { path, force } = &cli.command {
        return init(path, *force);
    }
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    match cli.command {
        Command::Serve => serve::serve(settings),
        Command::User { action } => users::run(&settings, action),
        Command::Config {
            action: ConfigAction::Check,
        } => {
            println!("{}", settings.describe());
            Ok(())
        }
        Command::Init { .. } => Ok(()),
    }
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
