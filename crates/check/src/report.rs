//! Findings and how they are shown: one verdict per finding, a human rendering and JSON.

use serde::Serialize;

use crate::certificate::TlsSession;
use crate::hello::{Strength, TlsVersion};
use crate::target::Mode;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// Worth knowing; no action needed.
    Info,
    /// Should be fixed.
    Warn,
    /// Exposes users: fix it.
    Fail,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "OK  ",
            Verdict::Info => "INFO",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One answer to one of the questions the IMAPS guides ask.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `tls.version.1.0`.
    pub id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found, in one sentence.
    pub message: String,
}

/// Facts of the plaintext side of a STARTTLS port.
#[derive(Debug, Clone, Serialize)]
pub struct Plaintext {
    /// The greeting.
    pub greeting: String,
    /// CAPABILITY before TLS.
    pub capabilities: Vec<String>,
    /// The server's answer to LOGIN with a nonexistent account before TLS.
    pub login_answer: String,
}

/// A version probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct VersionResult {
    /// The version.
    pub version: TlsVersion,
    /// Whether a ServerHello chose it.
    pub accepted: bool,
    /// The server's answer.
    pub detail: String,
}

/// An accepted cipher suite.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteResult {
    /// Version it was accepted with.
    pub version: TlsVersion,
    /// IANA name.
    pub name: &'static str,
    /// Judgement.
    pub strength: Strength,
}

/// Everything `check` learned.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `host:port` as asked.
    pub target: String,
    /// The address connected to.
    pub address: String,
    /// Implicit TLS or STARTTLS.
    pub mode: Mode,
    /// The plaintext side (STARTTLS ports).
    pub plaintext: Option<Plaintext>,
    /// Protocol versions.
    pub versions: Vec<VersionResult>,
    /// Accepted suites (when probed).
    pub suites: Vec<SuiteResult>,
    /// The session a modern client gets.
    pub session: Option<TlsSession>,
    /// The verdicts.
    pub findings: Vec<Finding>,
}

impl Report {
    pub(crate) fn add(
        &mut self,
        id: impl Into<String>,
        verdict: Verdict,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            id: id.into(),
            verdict,
            message: message.into(),
        });
    }

    /// The worst verdict.
    pub fn worst(&self) -> Verdict {
        self.findings
            .iter()
            .map(|f| f.verdict)
            .max()
            .unwrap_or(Verdict::Ok)
    }

    /// Exit code: 0 clean, 1 findings to act on (WARN or FAIL).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.worst() >= Verdict::Warn)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report for a terminal.
    pub fn to_text(&self) -> String {
        let mode = match self.mode {
            Mode::Implicit => "implicit TLS",
            Mode::StartTls => "STARTTLS",
        };
        let mut out = format!("{} ({}, {mode})\n", self.target, self.address);
        for finding in &self.findings {
            out.push_str(&format!(
                "  [{}] {}\n",
                finding.verdict.label(),
                finding.message
            ));
        }
        let count = |v: Verdict| self.findings.iter().filter(|f| f.verdict == v).count();
        out.push_str(&format!(
            "{} failure(s), {} warning(s): {}\n",
            count(Verdict::Fail),
            count(Verdict::Warn),
            match self.worst() {
                Verdict::Fail => "exposed — fix the failures",
                Verdict::Warn => "acceptable — consider the warnings",
                _ => "clean",
            }
        ));
        out
    }
}
