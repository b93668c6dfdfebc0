//! The audit log: every event on the `audit` tracing target (logins, delays, bans, unbans,
//! limits, administration) as one line of its own, to its own destination (`[log] audit`:
//! stdout, stderr or a file) in its own format (`[log] audit_format`: text or JSON). The
//! main log never carries these lines, whatever its level.
//!
//! The text format is what `contrib/fail2ban/filter.d/portcullis.conf` matches:
//!
//! ```text
//! 2026-01-31T12:00:00.123Z audit: event=auth result=failure ip=192.0.2.7 port=51234 user=alice mechanism=LOGIN msg=login
//! ```
//!
//! The time (UTC, milliseconds) comes first, then the event's fields in the order the code
//! gives them (`event` and `result` first, then `ip` and `port`), then its message. A value
//! made only of letters, digits and `._:/@+-` is written bare; any other is quoted with
//! escapes (`user="x ip=1.2.3.4"`), so a client-chosen name can neither break a line nor
//! pose as another field. JSON lines carry the same fields, `time` and `message`.
//!
//! Events carry only what their code puts in them: user names as given (control characters
//! replaced by the session), never passwords or SASL responses.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Deserialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context as LayerContext;

/// The tracing target of audit events.
pub(crate) const TARGET: &str = "audit";

/// Where audit lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuditSink {
    /// Standard output.
    Stdout,
    /// Standard error (the default: journald collects it with the main log).
    Stderr,
    /// A file, appended to (created with mode 0640).
    File(PathBuf),
}

impl AuditSink {
    /// `stdout`, `stderr`, or an absolute path.
    pub(crate) fn parse(text: &str) -> anyhow::Result<AuditSink> {
        match text {
            "stdout" => Ok(AuditSink::Stdout),
            "stderr" => Ok(AuditSink::Stderr),
            path if path.starts_with('/') => Ok(AuditSink::File(PathBuf::from(path))),
            other => anyhow::bail!(
                "log.audit must be \"stdout\", \"stderr\" or an absolute file path, not {other:?}"
            ),
        }
    }
}

impl fmt::Display for AuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditSink::Stdout => f.write_str("stdout"),
            AuditSink::Stderr => f.write_str("stderr"),
            AuditSink::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The audit line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuditFormat {
    /// `time audit: key=value ...` (what the fail2ban filter matches).
    Text,
    /// One JSON object per line.
    Json,
}

/// The audit layer of `settings` (filtered to the audit target).
pub(crate) fn layer<S>(
    settings: &crate::config::Settings,
) -> anyhow::Result<impl Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let audit = AuditLayer::open(&settings.audit, settings.audit_format)?;
    Ok(
        audit.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target() == TARGET
        })),
    )
}

/// Installs the audit log alone (commands other than `serve`: account administration).
pub(crate) fn init_alone(settings: &crate::config::Settings) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(layer(settings)?)
        .try_init()
        .context("cannot install the audit log")
}

/// A tracing layer that writes the `audit` target's events.
pub(crate) struct AuditLayer {
    out: Mutex<Box<dyn Write + Send>>,
    format: AuditFormat,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// Opens the destination (a file is created if needed and appended to).
    pub(crate) fn open(sink: &AuditSink, format: AuditFormat) -> anyhow::Result<AuditLayer> {
        let out: Box<dyn Write + Send> = match sink {
            AuditSink::Stdout => Box::new(io::stdout()),
            AuditSink::Stderr => Box::new(io::stderr()),
            AuditSink::File(path) => {
                let mut options = OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o640);
                }
                Box::new(
                    options
                        .open(path)
                        .with_context(|| format!("cannot open the audit log {}", path.display()))?,
                )
            }
        };
        Ok(AuditLayer {
            out: Mutex::new(out),
            format,
        })
    }

    #[cfg(test)]
    fn to(out: Box<dyn Write + Send>, format: AuditFormat) -> AuditLayer {
        AuditLayer {
            out: Mutex::new(out),
            format,
        }
    }
}

impl<S: Subscriber> Layer<S> for AuditLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let time = rfc3339(SystemTime::now());
        let line = match self.format {
            AuditFormat::Text => fields.text(&time),
            AuditFormat::Json => fields.json(&time),
        };
        // A failed write cannot be reported anywhere better; the next line tries again.
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

/// A field's value as recorded.
#[derive(Debug)]
enum Value {
    Text(String),
    Number(String),
}

/// An event's fields in the order they were given, its message apart.
#[derive(Debug, Default)]
struct Fields {
    fields: Vec<(&'static str, Value)>,
    message: Option<String>,
}

impl Fields {
    fn text(&self, time: &str) -> String {
        let mut line = format!("{time} {TARGET}:");
        for (name, value) in &self.fields {
            line.push(' ');
            line.push_str(name);
            line.push('=');
            match value {
                Value::Number(number) => line.push_str(number),
                Value::Text(text) => line.push_str(&quote_if_needed(text)),
            }
        }
        if let Some(message) = &self.message {
            line.push_str(" msg=");
            line.push_str(&quote_if_needed(message));
        }
        line.push('\n');
        line
    }

    fn json(&self, time: &str) -> String {
        let string = |text: &str| serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
        let mut line = format!("{{\"time\":{}", string(time));
        for (name, value) in &self.fields {
            line.push(',');
            line.push_str(&string(name));
            line.push(':');
            match value {
                Value::Number(number) => line.push_str(number),
                Value::Text(text) => line.push_str(&string(text)),
            }
        }
        if let Some(message) = &self.message {
            line.push_str(",\"message\":");
            line.push_str(&string(message));
        }
        line.push_str("}\n");
        line
    }

    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            if let Value::Text(text) = value {
                self.message = Some(text);
            }
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Text(value.to_owned()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Number(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Number(value.to_string()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Number(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields (addresses) and the message arrive here, already formatted.
        self.push(field, Value::Text(format!("{value:?}")));
    }
}

/// `text` as is when it is made of safe characters only, else quoted with escapes.
fn quote_if_needed(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/@+-".contains(c));
    if safe {
        text.to_owned()
    } else {
        format!("{text:?}")
    }
}

/// `2026-01-31T12:00:00.123Z`.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day number
/// (0 = 1970-01-01).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;
    use tracing_subscriber::layer::SubscriberExt;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn capture(format: AuditFormat, emit: impl FnOnce()) -> String {
        let shared = Shared::default();
        let layer = AuditLayer::to(Box::new(shared.clone()), format);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = shared.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8(bytes).unwrap_or_default()
    }

    fn failure(user: &str) {
        let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
        tracing::info!(target: "audit", event = "auth", result = "failure", %ip, port = 51234_u16, user = %user, mechanism = "LOGIN", "login");
    }

    #[test]
    fn text_lines_have_time_then_fields_in_order() {
        let out = capture(AuditFormat::Text, || {
            failure("alice");
            tracing::info!(target: "other", "not audit");
        });
        let (time, rest) = out.split_once(' ').unwrap_or_default();
        assert_eq!(time.len(), "2026-01-31T12:00:00.123Z".len(), "{out}");
        assert!(time.ends_with('Z'));
        assert_eq!(
            rest,
            "audit: event=auth result=failure ip=192.0.2.7 port=51234 user=alice mechanism=LOGIN msg=login\n"
        );
    }

    #[test]
    fn client_chosen_names_cannot_forge_fields_or_lines() {
        let out = capture(AuditFormat::Text, || failure("x ip=6.6.6.6\"\nevil"));
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.contains(r#" user="x ip=6.6.6.6\"\nevil" mechanism=LOGIN"#),
            "{out}"
        );
        assert!(out.contains(" ip=192.0.2.7 port=51234 "), "{out}");
    }

    #[test]
    fn json_lines_carry_the_same_fields() {
        let out = capture(AuditFormat::Json, || failure("bob\""));
        let value: serde_json::Value =
            serde_json::from_str(out.trim_end()).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(value["event"], "auth");
        assert_eq!(value["result"], "failure");
        assert_eq!(value["ip"], "192.0.2.7");
        assert_eq!(value["port"], 51234);
        assert_eq!(value["user"], "bob\"");
        assert_eq!(value["message"], "login");
        assert!(value["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn times_are_utc_rfc3339() {
        let at = |s: u64, ms: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_700_000_000, 999), "2023-11-14T22:13:20.999Z");
        assert_eq!(at(4_102_444_799, 0), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn sinks_parse() {
        assert_eq!(AuditSink::parse("stdout").ok(), Some(AuditSink::Stdout));
        assert_eq!(
            AuditSink::parse("/var/log/portcullis/audit.log").ok(),
            Some(AuditSink::File("/var/log/portcullis/audit.log".into()))
        );
        assert!(AuditSink::parse("audit.log").is_err());
    }
}
