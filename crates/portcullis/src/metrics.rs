//! The metrics endpoint (`[metrics] listen`, off by default): Prometheus text format over
//! plain HTTP, `GET /metrics` only, one request per connection.
//!
//! ```text
//! audit events ──► AuditCounts (a tracing layer: logins by result, bans running,
//!                  refusals by reason, limits hit)
//! net::NetStats (connections being served) ──┐
//! net::Certificates (expiry of each)  ───────┼──► render() ──► GET /metrics
//! AuditCounts ───────────────────────────────┘
//! ```
//!
//! Counting from the audit events keeps one source of truth: a login is counted exactly
//! when its audit line is written. Bans are tracked by key (`scope`, `target`) from `ban`
//! to `unban` events (bans still running after a restart are announced as `ban` events
//! at start), so the gauge is the number of bans in force.
//!
//! The HTTP handling is deliberately tiny: the request head is read up to 8 KiB within
//! 5 seconds, at most 8 requests are served at once, and the connection is closed after
//! the answer. The endpoint has no authentication: keep it on loopback (a warning is
//! logged otherwise).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use portcullis_net::{Certificates, NetStats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context as LayerContext;

/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// Time a request gets to arrive and be answered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served at once; more connections are closed at once.
const MAX_CONCURRENT: usize = 8;

/// What the audit log has said since start, counted.
#[derive(Debug, Default)]
pub(crate) struct AuditCounts {
    logins: Mutex<BTreeMap<String, u64>>,
    bans: Mutex<BTreeSet<(String, String)>>,
    refused: Mutex<BTreeMap<String, u64>>,
    limits: Mutex<BTreeMap<String, u64>>,
}

impl AuditCounts {
    fn record(&self, fields: &AuditFields) {
        let count = |map: &Mutex<BTreeMap<String, u64>>, key: &str| {
            *lock(map).entry(key.to_owned()).or_default() += 1;
        };
        match fields.event.as_deref() {
            Some("auth") => count(&self.logins, fields.result.as_deref().unwrap_or("unknown")),
            Some("refused") => count(&self.refused, fields.reason.as_deref().unwrap_or("unknown")),
            Some("limit") => count(&self.limits, fields.limit.as_deref().unwrap_or("unknown")),
            Some("ban") => {
                if let (Some(scope), Some(target)) = (&fields.scope, &fields.target) {
                    lock(&self.bans).insert((scope.clone(), target.clone()));
                }
            }
            Some("unban") => {
                if let (Some(scope), Some(target)) = (&fields.scope, &fields.target) {
                    lock(&self.bans).remove(&(scope.clone(), target.clone()));
                }
            }
            _ => {}
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The fields of an audit event the counts need.
#[derive(Debug, Default)]
struct AuditFields {
    event: Option<String>,
    result: Option<String>,
    reason: Option<String>,
    limit: Option<String>,
    scope: Option<String>,
    target: Option<String>,
}

impl Visit for AuditFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "event" => &mut self.event,
            "result" => &mut self.result,
            "reason" => &mut self.reason,
            "limit" => &mut self.limit,
            "scope" => &mut self.scope,
            "target" => &mut self.target,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%value` fields (the ban's target) arrive here, formatted with Display.
        self.record_str(field, &format!("{value:?}"));
    }
}

/// The tracing layer that feeds [`AuditCounts`] (filtered to the audit target).
pub(crate) fn layer<S>(counts: Arc<AuditCounts>) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    CountingLayer { counts }.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        meta.target() == crate::audit::TARGET
    }))
}

struct CountingLayer {
    counts: Arc<AuditCounts>,
}

impl<S: Subscriber> Layer<S> for CountingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let mut fields = AuditFields::default();
        event.record(&mut fields);
        self.counts.record(&fields);
    }
}

/// Where the numbers come from.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub(crate) audit: Arc<AuditCounts>,
    pub(crate) net: Arc<NetStats>,
    pub(crate) certificates: Arc<Certificates>,
}

/// The Prometheus text exposition (format 0.0.4).
pub(crate) fn render(sources: &Sources) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let mut expiry = Vec::new();
    for certificate in sources.certificates.status() {
        let Some(not_after) = certificate.not_after else {
            continue;
        };
        let names = if certificate.names.is_empty() {
            vec![certificate.label.clone()]
        } else {
            certificate.names.clone()
        };
        for name in names {
            expiry.push((label("name", &name), not_after.to_string()));
        }
    }
    family(
        "portcullis_tls_certificate_not_after_seconds",
        "gauge",
        "End of the validity of the TLS certificate served for a name (\"default\": clients without SNI or asking for another name), Unix time.",
        &expiry,
    );
    family(
        "portcullis_imap_connections",
        "gauge",
        "IMAP connections being served.",
        &[(String::new(), sources.net.imap_connections().to_string())],
    );
    family(
        "portcullis_lmtp_connections",
        "gauge",
        "LMTP connections being served.",
        &[(String::new(), sources.net.lmtp_connections().to_string())],
    );
    let counted = |map: &Mutex<BTreeMap<String, u64>>, key: &str, always: &[&str]| {
        let mut map = lock(map).clone();
        for name in always {
            map.entry((*name).to_owned()).or_default();
        }
        map.iter()
            .map(|(value, count)| (label(key, value), count.to_string()))
            .collect::<Vec<_>>()
    };
    family(
        "portcullis_logins_total",
        "counter",
        "Authentication attempts (LOGIN, AUTHENTICATE) by result: success, failure (wrong password or unknown user), banned, refused.",
        &counted(&sources.audit.logins, "result", &["success", "failure"]),
    );
    family(
        "portcullis_bans_active",
        "gauge",
        "Addresses and networks banned by the brute-force defence now.",
        &[(String::new(), lock(&sources.audit.bans).len().to_string())],
    );
    family(
        "portcullis_connections_refused_total",
        "counter",
        "Connections refused at connect, before TLS, by reason (banned, denied, not_allowed, untrusted_proxy, proxy_header).",
        &counted(&sources.audit.refused, "reason", &[]),
    );
    family(
        "portcullis_limits_total",
        "counter",
        "Connections and commands refused by a limit, by setting.",
        &counted(&sources.audit.limits, "limit", &[]),
    );
    out
}

/// `{key="value"}` with the value escaped as the exposition format asks.
fn label(key: &str, value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    format!("{{{key}=\"{escaped}\"}}")
}

/// Binds the endpoint.
pub(crate) async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    use anyhow::Context;
    if !address.ip().is_loopback() {
        tracing::warn!(%address, "the metrics endpoint has no authentication: listening beyond loopback");
    }
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (metrics)"))
}

/// Serves requests for ever.
pub(crate) async fn serve(listener: TcpListener, sources: Sources) {
    let sources = Arc::new(sources);
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let sources = sources.clone();
        tokio::spawn(async move {
            if let Ok(Err(error)) = timeout(REQUEST_TIMEOUT, answer(tcp, &sources)).await {
                tracing::debug!(%error, "metrics request failed");
            }
            drop(slot);
        });
    }
}

async fn answer(mut tcp: TcpStream, sources: &Sources) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() >= MAX_REQUEST {
            return respond(&mut tcp, "431 Request Header Fields Too Large", "", false).await;
        }
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let (status, body, head_only) = match route(&head) {
        Route::Metrics { head_only } => ("200 OK", render(sources), head_only),
        Route::NotFound => (
            "404 Not Found",
            "Not found: try /metrics\n".to_owned(),
            false,
        ),
        Route::BadMethod => ("405 Method Not Allowed", String::new(), false),
        Route::BadRequest => ("400 Bad Request", String::new(), false),
    };
    respond(&mut tcp, status, &body, head_only).await
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics { head_only: bool },
    NotFound,
    BadMethod,
    BadRequest,
}

/// Judges the request line: `GET /metrics HTTP/1.x` (or HEAD; a query is ignored).
fn route(head: &[u8]) -> Route {
    let line = head
        .split(|&b| b == b'\n')
        .next()
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .and_then(|line| std::str::from_utf8(line).ok());
    let Some(line) = line else {
        return Route::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => Route::Metrics {
            head_only: method == "HEAD",
        },
        ("GET" | "HEAD", _) => Route::NotFound,
        _ => Route::BadMethod,
    }
}

async fn respond(
    tcp: &mut TcpStream,
    status: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status.starts_with("405") {
        response.push_str("Allow: GET, HEAD\r\n");
    }
    response.push_str("\r\n");
    if !head_only {
        response.push_str(body);
    }
    tcp.write_all(response.as_bytes()).await?;
    tcp.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> AuditFields {
        let mut fields = AuditFields::default();
        for (name, value) in pairs {
            let value = Some((*value).to_owned());
            match *name {
                "event" => fields.event = value,
                "result" => fields.result = value,
                "reason" => fields.reason = value,
                "limit" => fields.limit = value,
                "scope" => fields.scope = value,
                "target" => fields.target = value,
                _ => {}
            }
        }
        fields
    }

    #[test]
    fn requests_are_routed_by_method_and_path() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"HEAD /metrics HTTP/1.1\r\n\r\n"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n"), Route::BadMethod);
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n\r\n"), Route::BadRequest);
    }

    #[test]
    fn audit_events_are_counted_and_bans_tracked_until_their_end() {
        let counts = AuditCounts::default();
        counts.record(&fields(&[("event", "auth"), ("result", "success")]));
        counts.record(&fields(&[("event", "auth"), ("result", "failure")]));
        counts.record(&fields(&[("event", "auth"), ("result", "failure")]));
        let ban = [("event", "ban"), ("scope", "ip"), ("target", "192.0.2.7")];
        counts.record(&fields(&ban));
        counts.record(&fields(&ban));
        counts.record(&fields(&[
            ("event", "ban"),
            ("scope", "prefix"),
            ("target", "192.0.2.0/24"),
        ]));
        counts.record(&fields(&[("event", "refused"), ("reason", "banned")]));
        counts.record(&fields(&[
            ("event", "limit"),
            ("limit", "max_connections_per_ip"),
        ]));
        assert_eq!(lock(&counts.logins).get("failure"), Some(&2));
        assert_eq!(lock(&counts.bans).len(), 2, "the same ban twice is one ban");
        counts.record(&fields(&[
            ("event", "unban"),
            ("scope", "ip"),
            ("target", "192.0.2.7"),
        ]));
        assert_eq!(lock(&counts.bans).len(), 1);
        assert_eq!(lock(&counts.refused).get("banned"), Some(&1));
        assert_eq!(lock(&counts.limits).get("max_connections_per_ip"), Some(&1));
    }

    #[test]
    fn the_exposition_has_every_family_with_help_and_type() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let tls = portcullis_net::load_tls(&portcullis_net::TlsConfig::single(
            portcullis_net::TlsSource::SelfSigned {
                dir: dir.path().to_owned(),
            },
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let sources = Sources {
            audit: Arc::new(AuditCounts::default()),
            net: Arc::new(NetStats::default()),
            certificates: tls.certificates.clone(),
        };
        sources
            .audit
            .record(&fields(&[("event", "refused"), ("reason", "say \"hi\"\n")]));
        let text = render(&sources);
        let not_after = tls.not_after.unwrap_or_default();
        for line in [
            "# TYPE portcullis_tls_certificate_not_after_seconds gauge".to_owned(),
            format!("portcullis_tls_certificate_not_after_seconds{{name=\"default\"}} {not_after}"),
            "portcullis_imap_connections 0".to_owned(),
            "portcullis_lmtp_connections 0".to_owned(),
            "# TYPE portcullis_logins_total counter".to_owned(),
            "portcullis_logins_total{result=\"failure\"} 0".to_owned(),
            "portcullis_logins_total{result=\"success\"} 0".to_owned(),
            "portcullis_bans_active 0".to_owned(),
            "portcullis_connections_refused_total{reason=\"say \\\"hi\\\"\\n\"} 1".to_owned(),
            "# TYPE portcullis_limits_total counter".to_owned(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from\n{text}"
            );
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
