//! Connections to the endpoint under test: plain TCP with timeouts, the IMAP preamble of
//! STARTTLS, and the one-line IMAP exchanges the checks need. Everything is blocking and
//! bounded: `check` is a command-line probe, one connection at a time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::CheckError;

/// How TLS starts on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plaintext IMAP, then STARTTLS (port 143).
    StartTls,
}

/// What to check and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Implicit TLS or STARTTLS; `None` guesses from the port and the first bytes.
    pub mode: Option<Mode>,
    /// Trust anchors instead of the system's (PEM file).
    pub ca: Option<PathBuf>,
    /// The name the certificate must carry (default: the host).
    pub server_name: Option<String>,
    /// Bound of every network step.
    pub timeout: Duration,
    /// Probe every cipher suite (one connection each).
    pub ciphers: bool,
}

/// A resolved endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) options: Options,
    pub(crate) address: SocketAddr,
    pub(crate) mode: Mode,
}

impl Target {
    pub(crate) fn resolve(options: Options) -> Result<Target, CheckError> {
        let address = (options.host.as_str(), options.port)
            .to_socket_addrs()
            .map_err(|e| CheckError::Resolve(options.host.clone(), e.to_string()))?
            .next()
            .ok_or_else(|| CheckError::Resolve(options.host.clone(), "no address".into()))?;
        let mut target = Target {
            address,
            mode: Mode::Implicit,
            options,
        };
        target.mode = match target.options.mode {
            Some(mode) => mode,
            None => target.guess_mode()?,
        };
        Ok(target)
    }

    /// 993 is implicit TLS and 143 STARTTLS; elsewhere, a server that greets in plaintext
    /// within a second is a STARTTLS port.
    fn guess_mode(&self) -> Result<Mode, CheckError> {
        match self.options.port {
            993 => return Ok(Mode::Implicit),
            143 => return Ok(Mode::StartTls),
            _ => {}
        }
        let mut stream = self.connect()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .map_err(CheckError::io)?;
        let mut first = [0u8; 2];
        Ok(match stream.read(&mut first) {
            Ok(2) if &first == b"* " => Mode::StartTls,
            _ => Mode::Implicit,
        })
    }

    pub(crate) fn server_name(&self) -> &str {
        self.options
            .server_name
            .as_deref()
            .unwrap_or(&self.options.host)
    }

    /// A TCP connection with every step bounded.
    pub(crate) fn connect(&self) -> Result<TcpStream, CheckError> {
        let stream = TcpStream::connect_timeout(&self.address, self.options.timeout)
            .map_err(|e| CheckError::Connect(self.address, e.to_string()))?;
        stream
            .set_read_timeout(Some(self.options.timeout))
            .map_err(CheckError::io)?;
        stream
            .set_write_timeout(Some(self.options.timeout))
            .map_err(CheckError::io)?;
        stream.set_nodelay(true).map_err(CheckError::io)?;
        Ok(stream)
    }

    /// A connection at the point where TLS bytes may flow: at once for implicit TLS, after
    /// the greeting and a successful STARTTLS otherwise.
    pub(crate) fn connect_for_tls(&self) -> Result<TcpStream, CheckError> {
        let stream = self.connect()?;
        if self.mode == Mode::Implicit {
            return Ok(stream);
        }
        let mut imap = PlainImap::new(stream)?;
        let (ok, line) = imap.command("STARTTLS")?;
        if !ok {
            return Err(CheckError::Protocol(format!("STARTTLS refused: {line}")));
        }
        Ok(imap.into_inner())
    }
}

/// A plaintext IMAP conversation (before TLS).
pub(crate) struct PlainImap {
    reader: BufReader<TcpStream>,
    pub(crate) greeting: String,
    tag: u32,
}

/// Longest line read (a CAPABILITY line is a few hundred bytes).
const MAX_LINE: u64 = 16 * 1024;

impl PlainImap {
    pub(crate) fn new(stream: TcpStream) -> Result<PlainImap, CheckError> {
        let mut imap = PlainImap {
            reader: BufReader::new(stream),
            greeting: String::new(),
            tag: 0,
        };
        imap.greeting = imap.line()?;
        if !imap.greeting.starts_with("* ") {
            return Err(CheckError::Protocol(format!(
                "not an IMAP greeting: {}",
                printable(&imap.greeting)
            )));
        }
        Ok(imap)
    }

    pub(crate) fn line(&mut self) -> Result<String, CheckError> {
        read_line(&mut self.reader)
    }

    /// Sends a command; returns whether it ended OK, and the tagged line. Untagged lines
    /// are collected into `untagged`.
    pub(crate) fn command_collect(
        &mut self,
        command: &str,
        untagged: &mut Vec<String>,
    ) -> Result<(bool, String), CheckError> {
        self.tag += 1;
        let tag = format!("c{}", self.tag);
        self.reader
            .get_mut()
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .map_err(CheckError::io)?;
        loop {
            let line = self.line()?;
            if let Some(rest) = line.strip_prefix(&tag) {
                let rest = rest.trim_start();
                return Ok((rest.starts_with("OK"), rest.to_owned()));
            }
            untagged.push(line);
        }
    }

    pub(crate) fn command(&mut self, command: &str) -> Result<(bool, String), CheckError> {
        self.command_collect(command, &mut Vec::new())
    }

    pub(crate) fn capabilities(&mut self) -> Result<Vec<String>, CheckError> {
        let mut untagged = Vec::new();
        self.command_collect("CAPABILITY", &mut untagged)?;
        Ok(capability_words(&untagged))
    }

    pub(crate) fn into_inner(self) -> TcpStream {
        self.reader.into_inner()
    }
}

/// Reads one CRLF line from any stream, bounded in length.
pub(crate) fn read_line<R: BufRead>(reader: &mut R) -> Result<String, CheckError> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(CheckError::io)?;
    if read == 0 {
        return Err(CheckError::Protocol("connection closed".into()));
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

/// The capability words of `* CAPABILITY ...` lines or a `[CAPABILITY ...]` code.
pub(crate) fn capability_words(lines: &[String]) -> Vec<String> {
    let mut words = Vec::new();
    for line in lines {
        let list = if let Some(rest) = line.strip_prefix("* CAPABILITY ") {
            rest
        } else if let Some(start) = line.find("[CAPABILITY ") {
            let rest = &line[start + "[CAPABILITY ".len()..];
            rest.split(']').next().unwrap_or_default()
        } else {
            continue;
        };
        words.extend(list.split_whitespace().map(str::to_owned));
    }
    words
}

/// Text from the wire made safe for a terminal.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_from_lines_and_codes() {
        let lines = vec![
            "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED".to_owned(),
            "* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] ready".to_owned(),
            "* 1 EXISTS".to_owned(),
        ];
        assert_eq!(
            capability_words(&lines),
            [
                "IMAP4rev1",
                "STARTTLS",
                "LOGINDISABLED",
                "IMAP4rev2",
                "AUTH=PLAIN"
            ]
        );
    }
}
