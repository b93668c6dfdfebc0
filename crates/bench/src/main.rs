//! `portcullis-bench`: an IMAP load generator that checks every answer, for Portcullis and
//! any other IMAP server (the comparison with Dovecot is `bench/compare`).
//!
//! ```text
//! main (CLI) ──► scenario::{idle, login, append, big_mailbox, mixed}::run(Ctx, Options)
//!                   └► client::Conn (TLS or plain; tagged commands; timeouts)
//!                        └► response::read_response / Parser (literal-aware)
//!                   └► message::generate(seed, index) (the expected bytes)
//!                   └► system (server memory and CPU from /proc; own CPU via getrusage)
//! ```
//!
//! Output: one JSON object per scenario run on standard output (a line each), and a short
//! table on standard error. Exit codes: 0 every answer was right, 1 the run failed, 2 usage
//! error, 3 the run completed but the server gave wrong answers or errors.

// The bench is a command-line tool: its results go to standard output and its table to
// standard error by design.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod message;
mod response;
mod scenario;
mod system;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use crate::client::{Target, Trust};
use crate::scenario::{Ctx, Outcome, Users};
use crate::system::ServerSelector;

#[derive(Debug, Parser)]
#[command(version, about = "IMAP load generator that checks every answer")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Common {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1", global = true)]
    host: String,
    /// Server port (default 993 with TLS, 143 plain).
    #[arg(long, global = true)]
    port: Option<u16>,
    /// Implicit TLS (the default).
    #[arg(long, conflicts_with = "plain", global = true)]
    tls: bool,
    /// Plain TCP, no TLS.
    #[arg(long, global = true)]
    plain: bool,
    /// CA certificate(s) in PEM to verify the server with.
    #[arg(long, global = true)]
    ca: Option<PathBuf>,
    /// Accept any server certificate (signatures are still checked).
    #[arg(long, conflicts_with = "ca", global = true)]
    insecure: bool,
    /// Name to verify in the certificate (default: --host).
    #[arg(long, global = true)]
    tls_name: Option<String>,
    /// Allow TLS session resumption (off: every handshake is a full one).
    #[arg(long, global = true)]
    tls_resume: bool,
    /// Account names; `{n}` is replaced by 1..=users.
    #[arg(long, default_value = "bench{n}", global = true)]
    user_pattern: String,
    /// Number of accounts.
    #[arg(long, default_value_t = 100, global = true)]
    users: u64,
    /// Password of every account.
    #[arg(
        long,
        env = "BENCH_PASSWORD",
        default_value = "bench-password",
        global = true
    )]
    password: String,
    /// Seed of the message generator.
    #[arg(long, default_value_t = 20_240_607, global = true)]
    seed: u64,
    /// Seconds to wait for any one response.
    #[arg(long, default_value_t = 60, global = true)]
    timeout: u64,
    /// Server processes to measure (they and all their descendants), comma-separated.
    #[arg(long, value_delimiter = ',', global = true)]
    server_pids: Vec<u32>,
    /// Measure processes whose command line matches this regex (and their descendants).
    #[arg(long, global = true)]
    server_cmdline_match: Option<String>,
    /// A name for the server in the output ("portcullis", "dovecot-default", ...).
    #[arg(long, default_value = "server", global = true)]
    label: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// N connections LOGIN, SELECT INBOX and IDLE for --duration; server memory per connection.
    IdleScale {
        connections: u64,
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Connections being set up at once.
        #[arg(long, default_value_t = 64)]
        ramp: usize,
        /// Seconds of quiet before the memory baseline is measured.
        #[arg(long, default_value_t = 15)]
        settle: u64,
        /// Stop opening connections when the server's private resident memory passes this
        /// many MiB (default: half the memory available when the run starts; 0: no limit).
        #[arg(long)]
        max_server_rss_mib: Option<u64>,
    },
    /// TLS handshake + LOGIN + LOGOUT with C workers for --duration.
    LoginRate {
        workers: usize,
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Skip logging every user in once before timing.
        #[arg(long)]
        no_warmup: bool,
    },
    /// C connections APPEND M messages each, waiting for every OK.
    Append { connections: u64, messages: u64 },
    /// Prepare an N-message mailbox once, then time SELECT, FETCH, SEARCH and body fetches.
    BigMailbox {
        messages: u64,
        /// Mailbox name (default bench-big-N-gV, V the generator version).
        #[arg(long)]
        mailbox: Option<String>,
        /// Only prepare the mailbox.
        #[arg(long, conflicts_with = "skip_prepare")]
        prepare_only: bool,
        /// Assume the mailbox is prepared.
        #[arg(long)]
        skip_prepare: bool,
        /// Shell command that restarts the server (and may drop caches) for the cold figures.
        #[arg(long)]
        restart_cmd: Option<String>,
        /// Random whole-message fetches.
        #[arg(long, default_value_t = 100)]
        random_fetches: u64,
    },
    /// imaptest-like mix with C clients for --duration.
    Mixed {
        clients: u64,
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Rounds of STATUS..EXPUNGE per login.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
    /// Every scenario, tiny (seconds), to check that the tool and the server work.
    Smoke,
}

/// One scenario to run, with its options.
#[derive(Debug, Clone)]
enum Run {
    Idle(scenario::idle::Options),
    Login(scenario::login::Options),
    Append(scenario::append::Options),
    Big(scenario::big_mailbox::Options),
    Mixed(scenario::mixed::Options),
}

impl Run {
    fn name(&self) -> &'static str {
        match self {
            Run::Idle(_) => "idle-scale",
            Run::Login(_) => "login-rate",
            Run::Append(_) => "append",
            Run::Big(_) => "big-mailbox",
            Run::Mixed(_) => "mixed",
        }
    }

    fn params(&self) -> Value {
        match self {
            Run::Idle(o) => {
                json!({"connections": o.connections, "duration_s": o.duration.as_secs(), "ramp": o.ramp,
                    "max_server_rss_mib": o.max_server_rss_kib.map(|k| k / 1024)})
            }
            Run::Login(o) => {
                json!({"workers": o.workers, "duration_s": o.duration.as_secs(), "warmup": o.warmup})
            }
            Run::Append(o) => json!({"connections": o.connections, "messages": o.messages}),
            Run::Big(o) => json!({"messages": o.messages, "restart": o.restart_cmd.is_some(),
                "prepare_only": o.prepare_only, "skip_prepare": o.skip_prepare, "random_fetches": o.random_fetches}),
            Run::Mixed(o) => {
                json!({"clients": o.clients, "duration_s": o.duration.as_secs(), "rounds": o.rounds})
            }
        }
    }

    async fn run(self, ctx: Arc<Ctx>) -> Result<Outcome> {
        match self {
            Run::Idle(o) => scenario::idle::run(ctx, o).await,
            Run::Login(o) => scenario::login::run(ctx, o).await,
            Run::Append(o) => scenario::append::run(ctx, o).await,
            Run::Big(o) => scenario::big_mailbox::run(ctx, o).await,
            Run::Mixed(o) => scenario::mixed::run(ctx, o).await,
        }
    }
}

fn runs(command: Command) -> Vec<Run> {
    use scenario::{append, big_mailbox, idle, login, mixed};
    let secs = Duration::from_secs;
    match command {
        Command::IdleScale {
            connections,
            duration,
            ramp,
            settle,
            max_server_rss_mib,
        } => {
            let max_server_rss_kib = match max_server_rss_mib {
                Some(0) => None,
                Some(mib) => Some(mib * 1024),
                None => system::mem_available_kib().map(|k| k / 2),
            };
            vec![Run::Idle(idle::Options {
                connections,
                duration: secs(duration),
                ramp,
                settle: secs(settle),
                max_server_rss_kib,
            })]
        }
        Command::LoginRate {
            workers,
            duration,
            no_warmup,
        } => {
            vec![Run::Login(login::Options {
                workers,
                duration: secs(duration),
                warmup: !no_warmup,
            })]
        }
        Command::Append {
            connections,
            messages,
        } => {
            vec![Run::Append(append::Options {
                connections,
                messages,
            })]
        }
        Command::BigMailbox {
            messages,
            mailbox,
            prepare_only,
            skip_prepare,
            restart_cmd,
            random_fetches,
        } => {
            vec![Run::Big(big_mailbox::Options {
                messages,
                mailbox,
                prepare_only,
                skip_prepare,
                restart_cmd,
                random_fetches,
            })]
        }
        Command::Mixed {
            clients,
            duration,
            rounds,
        } => {
            vec![Run::Mixed(mixed::Options {
                clients,
                duration: secs(duration),
                rounds,
            })]
        }
        Command::Smoke => vec![
            Run::Login(login::Options {
                workers: 2,
                duration: secs(2),
                warmup: false,
            }),
            Run::Idle(idle::Options {
                connections: 10,
                duration: secs(1),
                ramp: 5,
                settle: Duration::ZERO,
                max_server_rss_kib: system::mem_available_kib().map(|k| k / 2),
            }),
            Run::Append(append::Options {
                connections: 2,
                messages: 5,
            }),
            Run::Big(big_mailbox::Options {
                messages: 300,
                mailbox: Some(format!("bench-smoke-big-g{}", message::GENERATOR_VERSION)),
                prepare_only: false,
                skip_prepare: false,
                restart_cmd: None,
                random_fetches: 5,
            }),
            Run::Mixed(mixed::Options {
                clients: 2,
                duration: secs(3),
                rounds: 2,
            }),
        ],
    }
}

fn context(common: &Common) -> Result<Ctx> {
    let tls = !common.plain;
    let port = common.port.unwrap_or(if tls { 993 } else { 143 });
    let tls = if tls {
        let trust = match (&common.ca, common.insecure) {
            (Some(ca), _) => {
                client::check_readable(ca)?;
                Trust::Ca(ca.clone())
            }
            (None, true) => Trust::Insecure,
            (None, false) => bail!("TLS needs --ca FILE or --insecure (or use --plain)"),
        };
        let name = client::server_name(common.tls_name.as_deref().unwrap_or(&common.host))?;
        Some((client::tls_connector(&trust, common.tls_resume)?, name))
    } else {
        None
    };
    let cmdline = match &common.server_cmdline_match {
        Some(re) => Some(regex_lite::Regex::new(re).context("--server-cmdline-match")?),
        None => None,
    };
    if common.users == 0 {
        bail!("--users must be at least 1");
    }
    Ok(Ctx {
        target: Target {
            host: common.host.clone(),
            port,
            tls,
            timeout: Duration::from_secs(common.timeout.max(1)),
        },
        users: Users {
            pattern: common.user_pattern.clone(),
            count: common.users,
            password: common.password.clone(),
        },
        seed: common.seed,
        server: ServerSelector {
            pids: common.server_pids.clone(),
            cmdline,
        },
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn table(title: &str, rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = format!("== {title} ==\n");
    for (k, v) in rows {
        s.push_str(&format!("  {k:<width$}  {v}\n"));
    }
    s
}

async fn run_one(ctx: Arc<Ctx>, common: &Common, run: Run) -> Result<bool> {
    let name = run.name();
    let params = run.params();
    let started_unix = unix_now();
    let (u0, s0) = system::own_cpu();
    let cpu0 = ctx.server.cpu();
    let t0 = Instant::now();
    let outcome = run
        .run(ctx.clone())
        .await
        .with_context(|| format!("scenario {name}"));
    let wall = t0.elapsed();
    let (u1, s1) = system::own_cpu();
    let server_cpu = ctx
        .server
        .cpu()
        .zip(cpu0)
        .map(|(a, b)| a.saturating_sub(b).as_secs_f64());
    let (user, sys) = ((u1 - u0).as_secs_f64(), (s1 - s0).as_secs_f64());
    let (figures, rows, checks, error) = match outcome {
        Ok(o) => (o.figures, o.rows, o.checks, None),
        Err(e) => (
            Default::default(),
            Vec::new(),
            Default::default(),
            Some(format!("{e:#}")),
        ),
    };
    let ok = error.is_none() && checks.failed() == 0;
    let record = json!({
        "scenario": name,
        "label": common.label,
        "params": params,
        "ok": ok,
        "error": error,
        "started_unix": started_unix,
        "wall_s": wall.as_secs_f64(),
        "bench_cpu": {
            "user_s": user,
            "sys_s": sys,
            "percent_of_one_core": ((user + sys) / wall.as_secs_f64().max(1e-9) * 1000.0).round() / 10.0,
        },
        "server_cpu_s": server_cpu,
        "target": {"host": ctx.target.host, "port": ctx.target.port, "tls": ctx.target.tls.is_some()},
        "machine": system::machine(),
        "figures": figures,
        "checks": checks.to_json(),
    });
    println!("{record}");
    let mut rows = rows;
    rows.push((
        "checks".into(),
        format!("{} passed, {} failed", checks.passed(), checks.failed()),
    ));
    rows.push((
        "bench CPU".into(),
        format!(
            "{:.2} s ({:.0} % of one core over {:.1} s)",
            user + sys,
            (user + sys) / wall.as_secs_f64().max(1e-9) * 100.0,
            wall.as_secs_f64()
        ),
    ));
    if let Some(e) = &error {
        rows.push(("ERROR".into(), e.clone()));
    }
    let title = format!("{name} {} · {}", params, common.label);
    eprint!("{}", table(&title, &rows));
    if let Some(Value::Array(failures)) = checks.to_json().get("failures") {
        for f in failures.iter().take(5) {
            eprintln!("  wrong answer: {}", f.as_str().unwrap_or_default());
        }
    }
    Ok(ok)
}

async fn main_async(cli: Cli) -> Result<bool> {
    let ctx = Arc::new(context(&cli.common)?);
    let mut all_ok = true;
    for run in runs(cli.command) {
        all_ok &= run_one(ctx.clone(), &cli.common, run).await?;
    }
    Ok(all_ok)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(main_async(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
