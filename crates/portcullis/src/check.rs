//! `portcullis check HOST[:PORT]`: the command-line face of `portcullis-check`.

use clap::Args;
use portcullis_check::{Mode, Options, check};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// `host`, `host:port` or `[v6]:port` (default port 993).
    target: String,
    /// The port speaks plaintext IMAP with STARTTLS (default: 143, or guessed).
    #[arg(long, conflicts_with = "implicit")]
    starttls: bool,
    /// The port speaks TLS from the first byte (default: 993, or guessed).
    #[arg(long)]
    implicit: bool,
    /// Trust this CA (PEM) instead of the system's roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The name the certificate must carry (default: the host).
    #[arg(long)]
    name: Option<String>,
    /// Skip the per-suite probes (one connection each).
    #[arg(long)]
    no_ciphers: bool,
    /// Seconds each network step may take.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Splits `host:port`, `[v6]:port` and `host`.
fn host_port(target: &str) -> Result<(String, u16), String> {
    if let Some(rest) = target.strip_prefix('[') {
        let (host, port) = rest
            .split_once(']')
            .ok_or("missing ']' in an IPv6 address")?;
        let port = match port.strip_prefix(':') {
            Some(port) => port.parse().map_err(|_| format!("invalid port {port:?}"))?,
            None => 993,
        };
        return Ok((host.to_owned(), port));
    }
    match target.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((
            host.to_owned(),
            port.parse().map_err(|_| format!("invalid port {port:?}"))?,
        )),
        _ => Ok((target.to_owned(), 993)),
    }
}

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let (host, port) = match host_port(&args.target) {
        Ok(parts) => parts,
        Err(error) => {
            eprintln!("portcullis check: {error}");
            return ExitCode::from(2);
        }
    };
    let mode = match (args.starttls, args.implicit) {
        (true, _) => Some(Mode::StartTls),
        (_, true) => Some(Mode::Implicit),
        _ => None,
    };
    let options = Options {
        host,
        port,
        mode,
        ca: args.ca.clone(),
        server_name: args.name.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ciphers: !args.no_ciphers,
    };
    match check(options) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::from(report.exit_code())
        }
        Err(error) => {
            eprintln!("portcullis check: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            host_port("mail.example.org"),
            Ok(("mail.example.org".into(), 993))
        );
        assert_eq!(
            host_port("mail.example.org:143"),
            Ok(("mail.example.org".into(), 143))
        );
        assert_eq!(host_port("[::1]:1993"), Ok(("::1".into(), 1993)));
        assert_eq!(host_port("[::1]"), Ok(("::1".into(), 993)));
        assert!(host_port("host:x").is_err());
    }
}
