//! `portcullis check HOST[:PORT]`: a client-side audit of any IMAP or IMAPS endpoint,
//! answering the questions the IMAPS hardening guides ask about port 993 (and 143):
//!
//! - Is it reachable?
//! - Which TLS versions (1.0, 1.1, 1.2, 1.3) and cipher suites does it accept? (raw
//!   ClientHello probes, [`hello`])
//! - Which certificate chain does it send, for which names, until when, and does it verify
//!   against the system roots or a given CA? ([`certificate`])
//! - What are the greeting and capabilities before and after TLS?
//! - On a STARTTLS port: is STARTTLS offered, is LOGINDISABLED advertised, does the server
//!   accept LOGIN before TLS (tested with a nonexistent account only), are AUTH mechanisms
//!   offered in plaintext?
//!
//! Blocking and sequential on purpose: it is a probe run by an administrator, one
//! connection at a time, every step bounded by the timeout.

pub mod certificate;
pub mod hello;
mod report;
mod target;

pub use report::{Finding, Plaintext, Report, SuiteResult, Verdict, VersionResult};
pub use target::{Mode, Options};

use std::io::{Read, Write};
use std::net::SocketAddr;

use hello::{Answer, Strength, TlsVersion, client_hello, parse_answer, suites_for};
use target::{PlainImap, Target, printable};

/// Why the audit could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The host name does not resolve.
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, String),
    /// No TCP connection.
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, String),
    /// I/O failed mid-way.
    #[error("I/O error: {0}")]
    Io(String),
    /// The server did not speak IMAP as expected.
    #[error("{0}")]
    Protocol(String),
    /// TLS set-up failed.
    #[error("TLS: {0}")]
    Tls(String),
}

impl CheckError {
    fn io(error: std::io::Error) -> CheckError {
        CheckError::Io(error.to_string())
    }
}

/// Seconds in 30 days: certificates expiring sooner are a warning.
const EXPIRY_WARNING: i64 = 30 * 24 * 3600;

/// Runs every check.
pub fn check(options: Options) -> Result<Report, CheckError> {
    let target = Target::resolve(options)?;
    let mut report = Report {
        target: format!("{}:{}", target.options.host, target.options.port),
        address: target.address.to_string(),
        mode: target.mode,
        plaintext: None,
        versions: Vec::new(),
        suites: Vec::new(),
        session: None,
        findings: Vec::new(),
    };
    target.connect()?;
    report.add(
        "reachable",
        Verdict::Ok,
        format!("{} accepts TCP connections", target.address),
    );
    if target.mode == Mode::StartTls && !plaintext_checks(&target, &mut report)? {
        return Ok(report);
    }
    version_checks(&target, &mut report)?;
    if target.options.ciphers {
        suite_checks(&target, &mut report)?;
    }
    if report
        .versions
        .iter()
        .any(|v| v.accepted && v.version >= TlsVersion::Tls12)
    {
        match certificate::session(&target) {
            Ok(session) => {
                session_checks(&session, &target, &mut report);
                report.session = Some(session);
            }
            Err(error) => report.add(
                "tls.handshake",
                Verdict::Fail,
                format!("a TLS 1.2/1.3 client cannot complete the handshake: {error}"),
            ),
        }
    }
    Ok(report)
}

/// The plaintext side of a STARTTLS port. Returns whether TLS can be tested.
fn plaintext_checks(target: &Target, report: &mut Report) -> Result<bool, CheckError> {
    let mut imap = PlainImap::new(target.connect()?)?;
    let greeting = imap.greeting.clone();
    if greeting.starts_with("* PREAUTH") {
        report.add(
            "plain.preauth",
            Verdict::Fail,
            "the server pre-authenticates plaintext connections",
        );
    }
    let capabilities = imap.capabilities()?;
    let has = |word: &str| capabilities.iter().any(|c| c.eq_ignore_ascii_case(word));
    let starttls = has("STARTTLS");
    report.add(
        "plain.starttls",
        if starttls { Verdict::Ok } else { Verdict::Fail },
        if starttls {
            "STARTTLS is offered"
        } else {
            "STARTTLS is not offered: this port can only be used in plaintext"
        },
    );
    report.add(
        "plain.logindisabled",
        if has("LOGINDISABLED") {
            Verdict::Ok
        } else {
            Verdict::Warn
        },
        if has("LOGINDISABLED") {
            "LOGINDISABLED is advertised before TLS"
        } else {
            "LOGINDISABLED is not advertised before TLS: clients may send passwords in plaintext"
        },
    );
    let mechanisms: Vec<&String> = capabilities
        .iter()
        .filter(|c| c.to_ascii_uppercase().starts_with("AUTH="))
        .collect();
    if mechanisms.is_empty() {
        report.add(
            "plain.auth",
            Verdict::Ok,
            "no SASL mechanism is offered before TLS",
        );
    } else {
        let list: Vec<&str> = mechanisms.iter().map(|m| m.as_str()).collect();
        report.add(
            "plain.auth",
            Verdict::Fail,
            format!("{} offered before TLS", list.join(", ")),
        );
    }
    // Only ever with an account that cannot exist, so no real password is sent.
    let (_, answer) = imap.command("LOGIN \"portcullis-check-no-such-user\" \"not-a-password\"")?;
    let refused_for_privacy =
        answer.starts_with("BAD") || answer.to_ascii_uppercase().contains("PRIVACYREQUIRED");
    report.add(
        "plain.login",
        if refused_for_privacy {
            Verdict::Ok
        } else {
            Verdict::Fail
        },
        if refused_for_privacy {
            "LOGIN before TLS is refused".to_owned()
        } else {
            format!(
                "LOGIN before TLS is processed (answer to a nonexistent account: {})",
                printable(&answer)
            )
        },
    );
    report.plaintext = Some(Plaintext {
        greeting: printable(&greeting),
        capabilities,
        login_answer: printable(&answer),
    });
    Ok(starttls)
}

/// One raw ClientHello; the server's first answer.
fn probe(target: &Target, version: TlsVersion, suites: &[u16]) -> Result<Answer, CheckError> {
    let mut stream = target.connect_for_tls()?;
    let random: [u8; 32] = std::array::from_fn(|i| u8::try_from((i * 37 + 11) % 251).unwrap_or(0));
    stream
        .write_all(&client_hello(
            version,
            suites,
            Some(target.server_name()),
            random,
        ))
        .map_err(CheckError::io)?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(answer) = parse_answer(&received, suites) {
            return Ok(answer);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(Answer::Refused("connection closed".into())),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) => return Ok(Answer::Refused(format!("no answer: {error}"))),
        }
        if received.len() > 64 * 1024 {
            return Ok(Answer::Refused("no ServerHello in the first 64 KiB".into()));
        }
    }
}

fn version_checks(target: &Target, report: &mut Report) -> Result<(), CheckError> {
    for version in TlsVersion::ALL {
        let codes: Vec<u16> = suites_for(version).iter().map(|s| s.code).collect();
        let answer = probe(target, version, &codes)?;
        let (accepted, detail) = match &answer {
            Answer::Accepted {
                version: chosen, ..
            } => (
                *chosen == version,
                format!("server chose {}", chosen.name()),
            ),
            Answer::Refused(why) => (false, why.clone()),
        };
        let (verdict, message) = match (version, accepted) {
            (TlsVersion::Tls10 | TlsVersion::Tls11, true) => (
                Verdict::Fail,
                format!("{} is accepted (deprecated by RFC 8996)", version.name()),
            ),
            (TlsVersion::Tls10 | TlsVersion::Tls11, false) => {
                (Verdict::Ok, format!("{} is refused", version.name()))
            }
            (TlsVersion::Tls12, true) => (Verdict::Ok, "TLS 1.2 is accepted".to_owned()),
            (TlsVersion::Tls12, false) => (
                Verdict::Info,
                "TLS 1.2 is refused (TLS 1.3 only)".to_owned(),
            ),
            (TlsVersion::Tls13, true) => (Verdict::Ok, "TLS 1.3 is accepted".to_owned()),
            (TlsVersion::Tls13, false) => (Verdict::Warn, "TLS 1.3 is not offered".to_owned()),
        };
        report.add(
            format!("tls.version.{}", &version.name()[4..]),
            verdict,
            message,
        );
        report.versions.push(VersionResult {
            version,
            accepted,
            detail,
        });
    }
    if !report.versions.iter().any(|v| v.accepted) {
        report.add(
            "tls.none",
            Verdict::Fail,
            "no TLS version could be negotiated",
        );
    }
    Ok(())
}

fn suite_checks(target: &Target, report: &mut Report) -> Result<(), CheckError> {
    let accepted: Vec<TlsVersion> = report
        .versions
        .iter()
        .filter(|v| v.accepted)
        .map(|v| v.version)
        .collect();
    for version in accepted {
        for suite in suites_for(version) {
            if let Answer::Accepted { .. } = probe(target, version, &[suite.code])? {
                report.suites.push(SuiteResult {
                    version,
                    name: suite.name,
                    strength: suite.strength,
                });
            }
        }
    }
    for (strength, verdict, what) in [
        (
            Strength::Broken,
            Verdict::Fail,
            "broken cipher suites accepted (RC4, 3DES, NULL, export, anonymous)",
        ),
        (
            Strength::Weak,
            Verdict::Warn,
            "weak cipher suites accepted (CBC mode or no forward secrecy)",
        ),
    ] {
        let mut names: Vec<String> = report
            .suites
            .iter()
            .filter(|s| s.strength == strength)
            .map(|s| format!("{} ({})", s.name, s.version.name()))
            .collect();
        names.dedup();
        let id = if strength == Strength::Broken {
            "tls.suites.broken"
        } else {
            "tls.suites.weak"
        };
        if names.is_empty() {
            report.add(
                id,
                Verdict::Ok,
                format!("no {}", what.split(" accepted").next().unwrap_or(what)),
            );
        } else {
            report.add(id, verdict, format!("{what}: {}", names.join(", ")));
        }
    }
    Ok(())
}

fn session_checks(session: &certificate::TlsSession, target: &Target, report: &mut Report) {
    report.add(
        "tls.session",
        Verdict::Info,
        format!(
            "a modern client negotiates {} with {}",
            session.version, session.suite
        ),
    );
    match &session.verification {
        Ok(()) => report.add(
            "cert.verify",
            Verdict::Ok,
            format!(
                "the certificate chain verifies for {}",
                target.server_name()
            ),
        ),
        Err(why) => report.add(
            "cert.verify",
            Verdict::Fail,
            format!(
                "the certificate does not verify for {}: {why}",
                target.server_name()
            ),
        ),
    }
    if let Some(leaf) = session.chain.first() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let days = (leaf.not_after - now) / 86_400;
        let (verdict, message) = if leaf.not_after < now {
            (
                Verdict::Fail,
                format!("the certificate expired {} days ago", -days),
            )
        } else if leaf.not_after - now < EXPIRY_WARNING {
            (
                Verdict::Warn,
                format!("the certificate expires in {days} days"),
            )
        } else {
            (
                Verdict::Ok,
                format!("the certificate is valid for {days} more days"),
            )
        };
        report.add("cert.expiry", verdict, message);
        report.add(
            "cert.names",
            Verdict::Info,
            format!("certificate names: {}", leaf.names.join(", ")),
        );
        let weak_key = (leaf.key.starts_with("RSA") && leaf.key_bits < 2048)
            || (leaf.key.starts_with("EC") && leaf.key_bits < 256);
        report.add(
            "cert.key",
            if weak_key { Verdict::Fail } else { Verdict::Ok },
            format!("{} key", leaf.key),
        );
        if session.chain.iter().any(|c| c.weak_signature) {
            report.add(
                "cert.signature",
                Verdict::Fail,
                "a certificate of the chain is signed with SHA-1 or MD5",
            );
        }
    } else {
        report.add(
            "cert.verify",
            Verdict::Fail,
            "the server sent no certificate",
        );
    }
    if session.alpn.as_deref() != Some("imap") {
        report.add("tls.alpn", Verdict::Info, "ALPN \"imap\" is not negotiated");
    }
    if session
        .greeting
        .as_deref()
        .is_some_and(|g| g.starts_with("* PREAUTH"))
    {
        report.add(
            "tls.preauth",
            Verdict::Warn,
            "the server pre-authenticates TLS connections",
        );
    }
    let plain = session
        .capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case("AUTH=PLAIN"));
    let disabled = session
        .capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case("LOGINDISABLED"));
    report.add(
        "tls.login",
        if disabled { Verdict::Warn } else { Verdict::Ok },
        if disabled {
            "LOGINDISABLED is still advertised inside TLS: clients cannot log in".to_owned()
        } else {
            format!(
                "login is possible inside TLS{}",
                if plain { " (AUTH=PLAIN offered)" } else { "" }
            )
        },
    );
}
