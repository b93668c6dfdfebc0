//! The configuration file: a raw serde struct that refuses unknown keys, turned into
//! validated [`Settings`] with command-line overrides applied. Every limit has a secure
//! default; `portcullis config check` prints the effective values.

use anyhow::{Context, bail};
use portcullis_auth::{ConnectionCaps, GuardConfig, IpNetwork, ThrottleConfig};
use portcullis_net::{
    ConnectionLimits, DEFAULT_RELOAD_INTERVAL, ExposureRules, ListenerConfig, ListenerKind,
    LmtpAddress, NamedCertificate, NetConfig, TlsConfig, TlsSource, parse_sni_name,
};
use portcullis_proto::framing::FrameLimits;
use portcullis_session::SessionConfig;
use portcullis_session::quirks::{ClientRule, Pattern, QuirkConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::audit::{AuditFormat, AuditSink};

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    hostname: Option<String>,
    #[serde(default)]
    listen: RawListen,
    #[serde(default)]
    listener: Vec<RawListener>,
    tls: Option<RawTls>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    lmtp: RawLmtp,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    throttle: RawThrottle,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    quirks: RawQuirks,
}

/// `[quirks]`: client quirks, all off unless listed here (docs/clients.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuirks {
    #[serde(default)]
    client: Vec<RawClientRule>,
    #[serde(default)]
    account: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientRule {
    name: String,
    version: Option<String>,
    enable: Vec<String>,
}

/// `[listen]`: the usual listeners and their exposure rules.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    imaps: Option<Vec<SocketAddr>>,
    imap: Option<Vec<SocketAddr>>,
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    proxy_protocol: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    plaintext_auth_networks: Option<Vec<String>>,
}

/// `[[listener]]`: one more listener with rules of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    kind: String,
    address: SocketAddr,
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    proxy_protocol: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    plaintext_auth_networks: Option<Vec<String>>,
}

/// `[metrics]`: the Prometheus endpoint, off unless `listen` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLmtp {
    listen: Option<Vec<String>>,
    unix_mode: Option<u32>,
    max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    certificate: Option<PathBuf>,
    key: Option<PathBuf>,
    reload_interval_secs: Option<u64>,
    #[serde(default)]
    certificates: Vec<RawNamedCertificate>,
}

/// `[[tls.certificates]]`: a certificate chosen by SNI.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamedCertificate {
    names: Vec<String>,
    certificate: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_connections: Option<usize>,
    max_command_bytes: Option<usize>,
    append_limit_bytes: Option<u64>,
    pre_auth_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    idle_heartbeat_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    max_connections_per_ip: Option<u32>,
    max_preauth_connections_per_ip: Option<u32>,
    max_connections_per_user_ip: Option<u32>,
    max_bad_commands: Option<u32>,
    max_pipelined_commands: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    expunge_retention_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<LogFormat>,
    level: Option<String>,
    audit: Option<String>,
    audit_format: Option<AuditFormat>,
}

/// `[throttle]`: the brute-force defence.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThrottle {
    window_secs: Option<u64>,
    free_failures: Option<u32>,
    delay_initial_ms: Option<u64>,
    delay_max_ms: Option<u64>,
    ip_ban_failures: Option<u32>,
    prefix_ban_failures: Option<u32>,
    ipv4_prefix_len: Option<u8>,
    ipv6_prefix_len: Option<u8>,
    ban_secs: Option<u64>,
    ban_max_secs: Option<u64>,
    ban_repeat_window_secs: Option<u64>,
    trusted_networks: Option<Vec<String>>,
    max_tracked: Option<usize>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the settings came from, which decides the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No config file: loopback, unprivileged ports, `./portcullis-data`, a demo account.
    Development,
    /// A config file: production defaults (993/143 on all interfaces), never a demo account.
    Production,
}

/// Command-line overrides.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) imaps: Vec<SocketAddr>,
    pub(crate) imap: Vec<SocketAddr>,
    pub(crate) lmtp: Vec<LmtpAddress>,
}

/// LMTP options.
#[derive(Debug, Clone)]
pub(crate) struct LmtpSettings {
    pub(crate) unix_mode: u32,
    pub(crate) max_connections: usize,
}

/// Store options.
#[derive(Debug, Clone)]
pub(crate) struct StoreSettings {
    /// How long expunges stay in the log QRESYNC answers from (RFC 7162); older ones are
    /// pruned hourly. A client away for longer still resynchronises correctly, with a longer
    /// VANISHED answer.
    pub(crate) expunge_retention: Duration,
}

/// The effective, validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) mode: Mode,
    pub(crate) data_dir: PathBuf,
    pub(crate) hostname: String,
    pub(crate) lmtp: LmtpSettings,
    pub(crate) net: NetConfig,
    pub(crate) session: SessionConfig,
    pub(crate) store: StoreSettings,
    pub(crate) log_format: LogFormat,
    pub(crate) log_level: String,
    /// Brute-force defence and connection caps by client address.
    pub(crate) guard: GuardConfig,
    /// Where audit lines go.
    pub(crate) audit: AuditSink,
    /// Their format.
    pub(crate) audit_format: AuditFormat,
    /// The Prometheus endpoint's address (`None`: off).
    pub(crate) metrics: Option<SocketAddr>,
    /// The rules of the `[listen]` listeners (for `config check`).
    listen_rules: Arc<ExposureRules>,
    /// How many of `net.listeners` come from `[listen]` (they come first).
    listen_count: usize,
}

/// RFC 9051 5.4: an authenticated client must not be logged out sooner than this.
const MIN_IDLE_TIMEOUT: u64 = 30 * 60;

/// Seconds in a day, for `store.expunge_retention_days`.
const DAY: u64 = 24 * 60 * 60;

impl Settings {
    /// Reads `path` (if any) and applies the overrides.
    pub(crate) fn load(path: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
        let (raw, mode) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let raw: RawConfig = toml::from_str(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?;
                (raw, Mode::Production)
            }
            None => (RawConfig::default(), Mode::Development),
        };
        Settings::from_raw(raw, mode, overrides)
    }

    fn from_raw(raw: RawConfig, mode: Mode, overrides: &Overrides) -> anyhow::Result<Settings> {
        let production = mode == Mode::Production;
        let data_dir = overrides
            .data_dir
            .clone()
            .or(raw.data_dir)
            .unwrap_or_else(|| {
                PathBuf::from(if production {
                    "/var/lib/portcullis"
                } else {
                    "portcullis-data"
                })
            });
        let pick = |cli: &[SocketAddr],
                    file: Option<Vec<SocketAddr>>,
                    production_default: &[&str],
                    development: &str|
         -> Vec<SocketAddr> {
            if !cli.is_empty() {
                return cli.to_vec();
            }
            file.unwrap_or_else(|| {
                let defaults: Vec<&str> = if production {
                    production_default.to_vec()
                } else {
                    vec![development]
                };
                defaults.iter().filter_map(|a| a.parse().ok()).collect()
            })
        };
        let imaps = pick(
            &overrides.imaps,
            raw.listen.imaps.clone(),
            &["0.0.0.0:993", "[::]:993"],
            "127.0.0.1:1993",
        );
        let imap = pick(
            &overrides.imap,
            raw.listen.imap.clone(),
            &["0.0.0.0:143", "[::]:143"],
            "127.0.0.1:1143",
        );
        let lmtp = if overrides.lmtp.is_empty() {
            raw.lmtp
                .listen
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    a.parse::<LmtpAddress>()
                        .map_err(|e| anyhow::anyhow!("lmtp.listen: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?
        } else {
            overrides.lmtp.clone()
        };
        let unix_mode = raw.lmtp.unix_mode.unwrap_or(0o660);
        if unix_mode & !0o777 != 0 {
            bail!("lmtp.unix_mode must be a permission mode such as 0o660");
        }
        let (listeners, listen_rules) = listeners(&raw.listen, &raw.listener, &imaps, &imap)?;
        let listen_count = imaps.len() + imap.len();
        if listeners.is_empty() {
            bail!("no listener configured: set listen.imaps, listen.imap or a [[listener]]");
        }
        let tls = tls(raw.tls, &data_dir)?;
        let limits = limits(&raw.limits)?;
        let guard = GuardConfig {
            throttle: throttle(&raw.throttle)?,
            connections: caps(&raw.limits)?,
        };
        let max_bad_commands = at_least_one(
            raw.limits.max_bad_commands,
            SessionConfig::default().max_bad_commands,
            "limits.max_bad_commands",
        )?;
        let audit = match &raw.log.audit {
            Some(text) => AuditSink::parse(text)?,
            None => AuditSink::Stderr,
        };
        let session = SessionConfig {
            append_limit: limits.frame.max_append_literal,
            max_bad_commands,
            quirks: quirks(&raw.quirks)?,
            ..SessionConfig::default()
        };
        let expunge_retention = match raw.store.expunge_retention_days {
            None => portcullis_store::DEFAULT_EXPUNGE_RETENTION,
            Some(0) => bail!("store.expunge_retention_days must be at least 1"),
            Some(days) => Duration::from_secs(days.saturating_mul(DAY)),
        };
        Ok(Settings {
            mode,
            data_dir,
            hostname: raw.hostname.unwrap_or_else(system_hostname),
            lmtp: LmtpSettings {
                unix_mode,
                max_connections: raw.lmtp.max_connections.unwrap_or(100).max(1),
            },
            net: NetConfig {
                listeners,
                lmtp,
                tls,
                limits,
            },
            session,
            store: StoreSettings { expunge_retention },
            log_format: raw.log.format.unwrap_or(LogFormat::Text),
            log_level: raw.log.level.unwrap_or_else(|| "info".to_owned()),
            guard,
            audit,
            audit_format: raw.log.audit_format.unwrap_or(AuditFormat::Text),
            metrics: raw.metrics.listen,
            listen_rules,
            listen_count,
        })
    }

    /// The effective values, as `config check` prints them.
    pub(crate) fn describe(&self) -> String {
        let limits = &self.net.limits;
        let caps = &self.guard.connections;
        let throttle = &self.guard.throttle;
        let tls = &self.net.tls;
        let default = match &tls.default {
            TlsSource::Files { certificate, key } => format!(
                "certificate {} key {}",
                certificate.display(),
                key.display()
            ),
            TlsSource::SelfSigned { dir } => format!("self-signed, kept in {}", dir.display()),
        };
        let list = |addresses: Vec<SocketAddr>| {
            addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (listen, extra) = self.net.listeners.split_at(self.listen_count);
        let mut lines = vec![
            format!("mode                  {:?}", self.mode),
            format!("data_dir              {}", self.data_dir.display()),
            format!(
                "listen.imaps          {}",
                list(addresses(listen, ListenerKind::Imaps))
            ),
            format!(
                "listen.imap           {}",
                list(addresses(listen, ListenerKind::Imap))
            ),
        ];
        lines.extend(describe_rules("listen.", &self.listen_rules));
        for (i, config) in extra.iter().enumerate() {
            lines.push(format!(
                "listener[{i}]           {} {}",
                config.kind.as_str(),
                config.address
            ));
            lines.extend(describe_rules(&format!("listener[{i}]."), &config.rules));
        }
        lines.push(format!("hostname              {}", self.hostname));
        lines.push(format!("tls                   {default}"));
        for named in &tls.named {
            lines.push(format!(
                "tls.certificates      {} → certificate {} key {}",
                named.names.join(", "),
                named.certificate.display(),
                named.key.display()
            ));
        }
        lines.push(format!(
            "tls.reload_interval_secs {}",
            tls.reload_interval
                .map_or_else(|| "0 (SIGHUP only)".to_owned(), |d| d.as_secs().to_string())
        ));
        lines.extend([
            format!(
                "lmtp.listen           {}",
                self.net
                    .lmtp
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("lmtp.unix_mode        {:o}", self.lmtp.unix_mode),
            format!("max_connections       {}", limits.max_connections),
            format!("max_command_bytes     {}", limits.frame.max_command),
            format!("append_limit_bytes    {}", limits.frame.max_append_literal),
            format!(
                "pre_auth_timeout_secs {}",
                limits.pre_auth_timeout.as_secs()
            ),
            format!("idle_timeout_secs     {}", limits.idle_timeout.as_secs()),
            format!("idle_heartbeat_secs   {}", limits.idle_heartbeat.as_secs()),
            format!("shutdown_grace_secs   {}", limits.shutdown_grace.as_secs()),
            format!("max_connections_per_ip {}", caps.per_ip),
            format!("max_preauth_connections_per_ip {}", caps.preauth_per_ip),
            format!("max_connections_per_user_ip {}", caps.per_user_ip),
            format!("max_bad_commands      {}", self.session.max_bad_commands),
            format!("max_pipelined_commands {}", limits.max_pipelined_commands),
            format!(
                "throttle              window {}s; delay after {} failures: {} ms doubling to {} ms",
                throttle.window.as_secs(),
                throttle.free_failures,
                throttle.initial_delay.as_millis(),
                throttle.max_delay.as_millis()
            ),
            format!(
                "throttle.bans         address after {}, /{} (IPv4) or /{} (IPv6) after {} failures; {}s doubling to {}s, repeats within {}s",
                throttle.ip_ban_failures,
                throttle.ipv4_prefix,
                throttle.ipv6_prefix,
                throttle.prefix_ban_failures,
                throttle.ban.as_secs(),
                throttle.max_ban.as_secs(),
                throttle.repeat_window.as_secs()
            ),
            format!(
                "throttle.trusted_networks {}",
                if throttle.trusted.is_empty() {
                    "none".to_owned()
                } else {
                    throttle
                        .trusted
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            format!("throttle.max_tracked  {}", throttle.max_tracked),
            format!(
                "expunge_retention_days {}",
                self.store.expunge_retention.as_secs() / DAY
            ),
            format!(
                "log                   {:?} {}",
                self.log_format, self.log_level
            ),
            format!(
                "log.audit             {} ({:?})",
                self.audit, self.audit_format
            ),
            format!(
                "quirks                {}",
                describe_quirks(&self.session.quirks)
            ),
            format!(
                "metrics.listen        {}",
                self.metrics
                    .map_or_else(|| "off".to_owned(), |address| address.to_string())
            ),
        ]);
        lines.join("\n")
    }
}

/// The addresses of one kind among `listeners`.
fn addresses(listeners: &[ListenerConfig], kind: ListenerKind) -> Vec<SocketAddr> {
    listeners
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.address)
        .collect()
}

/// `config check`'s lines for a listener's exposure rules.
fn describe_rules(prefix: &str, rules: &ExposureRules) -> Vec<String> {
    let list = |networks: &[IpNetwork], empty: &str| {
        if networks.is_empty() {
            empty.to_owned()
        } else {
            networks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let key = |name: &str| format!("{prefix}{name}");
    vec![
        format!("{:<21} {}", key("allow"), list(&rules.allow, "any address")),
        format!("{:<21} {}", key("deny"), list(&rules.deny, "none")),
        format!(
            "{:<21} {}",
            key("proxy_protocol"),
            if rules.proxy_protocol {
                format!(
                    "on, trusted proxies {}",
                    list(&rules.trusted_proxies, "none")
                )
            } else {
                "off".to_owned()
            }
        ),
        format!(
            "{} {}",
            key("plaintext_auth_networks"),
            list(
                &rules.plaintext_auth_networks,
                "none (LOGINDISABLED before TLS)"
            )
        ),
    ]
}

/// Networks in CIDR notation from `key`.
fn networks(list: Option<&Vec<String>>, key: &str) -> anyhow::Result<Vec<IpNetwork>> {
    list.into_iter()
        .flatten()
        .map(|text| text.parse::<IpNetwork>().with_context(|| key.to_owned()))
        .collect()
}

/// A listener's rules from its keys (`prefix` names them in errors), validated: PROXY
/// protocol needs its trusted proxies and the other way round; no network of plaintext
/// authentication is everyone.
fn rules(
    prefix: &str,
    allow: Option<&Vec<String>>,
    deny: Option<&Vec<String>>,
    proxy_protocol: Option<bool>,
    trusted_proxies: Option<&Vec<String>>,
    plaintext_auth_networks: Option<&Vec<String>>,
) -> anyhow::Result<ExposureRules> {
    let rules = ExposureRules {
        allow: networks(allow, &format!("{prefix}allow"))?,
        deny: networks(deny, &format!("{prefix}deny"))?,
        proxy_protocol: proxy_protocol.unwrap_or(false),
        trusted_proxies: networks(trusted_proxies, &format!("{prefix}trusted_proxies"))?,
        plaintext_auth_networks: networks(
            plaintext_auth_networks,
            &format!("{prefix}plaintext_auth_networks"),
        )?,
    };
    if rules.proxy_protocol && rules.trusted_proxies.is_empty() {
        bail!(
            "{prefix}proxy_protocol needs {prefix}trusted_proxies (the load balancers' addresses)"
        );
    }
    if !rules.proxy_protocol && !rules.trusted_proxies.is_empty() {
        bail!("{prefix}trusted_proxies is set but {prefix}proxy_protocol is not true");
    }
    if let Some(everyone) = rules.plaintext_auth_networks.iter().find(|n| n.is_empty()) {
        bail!(
            "{prefix}plaintext_auth_networks must name networks, not every address ({everyone}): \
             clients elsewhere should use TLS"
        );
    }
    Ok(rules)
}

/// The `[listen]` listeners (command-line addresses replace the file's), then every
/// `[[listener]]`.
fn listeners(
    listen: &RawListen,
    extra: &[RawListener],
    imaps: &[SocketAddr],
    imap: &[SocketAddr],
) -> anyhow::Result<(Vec<ListenerConfig>, Arc<ExposureRules>)> {
    let shared = Arc::new(rules(
        "listen.",
        listen.allow.as_ref(),
        listen.deny.as_ref(),
        listen.proxy_protocol,
        listen.trusted_proxies.as_ref(),
        listen.plaintext_auth_networks.as_ref(),
    )?);
    let mut listeners: Vec<ListenerConfig> = imaps
        .iter()
        .map(|a| (ListenerKind::Imaps, *a))
        .chain(imap.iter().map(|a| (ListenerKind::Imap, *a)))
        .map(|(kind, address)| ListenerConfig {
            kind,
            address,
            rules: shared.clone(),
        })
        .collect();
    for (i, raw) in extra.iter().enumerate() {
        let prefix = format!("listener[{i}].");
        let kind = match raw.kind.as_str() {
            "imaps" => ListenerKind::Imaps,
            "imap" => ListenerKind::Imap,
            other => bail!("{prefix}kind must be \"imaps\" or \"imap\", not {other:?}"),
        };
        let rules = rules(
            &prefix,
            raw.allow.as_ref(),
            raw.deny.as_ref(),
            raw.proxy_protocol,
            raw.trusted_proxies.as_ref(),
            raw.plaintext_auth_networks.as_ref(),
        )?;
        if kind == ListenerKind::Imaps && !rules.plaintext_auth_networks.is_empty() {
            bail!(
                "{prefix}plaintext_auth_networks applies to imap listeners only (imaps is TLS from the start)"
            );
        }
        listeners.push(ListenerConfig {
            kind,
            address: raw.address,
            rules: Arc::new(rules),
        });
    }
    for (i, listener) in listeners.iter().enumerate() {
        // Port 0 (the system chooses) may repeat.
        if listener.address.port() != 0
            && listeners[..i].iter().any(|l| l.address == listener.address)
        {
            bail!("{} is configured twice as a listener", listener.address);
        }
    }
    Ok((listeners, shared))
}

/// `[tls]`: the default certificate (files, or the generated one in `data_dir/tls`), the
/// named ones, and the reload interval.
fn tls(raw: Option<RawTls>, data_dir: &Path) -> anyhow::Result<TlsConfig> {
    let self_signed = TlsSource::SelfSigned {
        dir: data_dir.join("tls"),
    };
    let Some(raw) = raw else {
        return Ok(TlsConfig::single(self_signed));
    };
    let mut named: Vec<NamedCertificate> = Vec::new();
    for (i, entry) in raw.certificates.into_iter().enumerate() {
        if entry.names.is_empty() {
            bail!("tls.certificates[{i}].names must name at least one host");
        }
        let names = entry
            .names
            .iter()
            .map(|name| {
                parse_sni_name(name)
                    .map_err(|e| anyhow::anyhow!("tls.certificates[{i}].names: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(name) = names
            .iter()
            .find(|name| named.iter().any(|other| other.names.contains(name)))
        {
            bail!("tls.certificates[{i}].names: {name} is already another certificate's");
        }
        named.push(NamedCertificate {
            names,
            certificate: entry.certificate,
            key: entry.key,
        });
    }
    let default = match (raw.certificate, raw.key) {
        (Some(certificate), Some(key)) => TlsSource::Files { certificate, key },
        (None, None) => match named.first() {
            // Without a default of its own, the first named certificate is it.
            Some(first) => TlsSource::Files {
                certificate: first.certificate.clone(),
                key: first.key.clone(),
            },
            None => self_signed,
        },
        _ => bail!("tls.certificate and tls.key go together"),
    };
    let reload_interval = match raw.reload_interval_secs {
        None => Some(DEFAULT_RELOAD_INTERVAL),
        Some(0) => None,
        Some(secs) => Some(Duration::from_secs(secs)),
    };
    Ok(TlsConfig {
        default,
        named,
        reload_interval,
    })
}

/// `config check`'s line for `[quirks]`.
fn describe_quirks(quirks: &QuirkConfig) -> String {
    if quirks.is_empty() {
        "none".to_owned()
    } else {
        quirks.describe().join("; ")
    }
}

/// The machine's name for the LMTP greeting, from /etc/hostname.
fn system_hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// `[quirks]` with every quirk name checked against the ones that exist.
fn quirks(raw: &RawQuirks) -> anyhow::Result<QuirkConfig> {
    let clients = raw
        .client
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            Ok(ClientRule {
                name: Pattern::new(&rule.name),
                version: rule.version.as_deref().map(Pattern::new),
                quirks: QuirkConfig::parse_set(&rule.enable)
                    .with_context(|| format!("quirks.client[{i}].enable"))?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let accounts = raw
        .account
        .iter()
        .map(|(account, names)| {
            let set = QuirkConfig::parse_set(names)
                .with_context(|| format!("quirks.account.{account}"))?;
            Ok((account.clone(), set))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(QuirkConfig { clients, accounts })
}

fn limits(raw: &RawLimits) -> anyhow::Result<ConnectionLimits> {
    let defaults = ConnectionLimits::default();
    let seconds =
        |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
    let idle_timeout = seconds(raw.idle_timeout_secs, defaults.idle_timeout);
    if idle_timeout.as_secs() < MIN_IDLE_TIMEOUT {
        bail!("limits.idle_timeout_secs must be at least {MIN_IDLE_TIMEOUT} (RFC 9051 5.4)");
    }
    let max_append = raw
        .append_limit_bytes
        .unwrap_or(defaults.frame.max_append_literal);
    let max_command = raw.max_command_bytes.unwrap_or(defaults.frame.max_command);
    if max_command < 1024 {
        bail!("limits.max_command_bytes must be at least 1024");
    }
    let max_connections = raw.max_connections.unwrap_or(defaults.max_connections);
    if max_connections == 0 {
        bail!("limits.max_connections must be at least 1");
    }
    let heartbeat = seconds(raw.idle_heartbeat_secs, defaults.idle_heartbeat);
    if heartbeat.is_zero() {
        bail!("limits.idle_heartbeat_secs must be at least 1");
    }
    Ok(ConnectionLimits {
        max_connections,
        max_pipelined_commands: at_least_one(
            raw.max_pipelined_commands,
            defaults.max_pipelined_commands,
            "limits.max_pipelined_commands",
        )?,
        pre_auth_timeout: seconds(raw.pre_auth_timeout_secs, defaults.pre_auth_timeout),
        idle_timeout,
        idle_heartbeat: heartbeat,
        frame: FrameLimits {
            max_command,
            max_append_literal: max_append,
            max_append_total: max_append.saturating_mul(4),
        },
        shutdown_grace: seconds(raw.shutdown_grace_secs, defaults.shutdown_grace),
    })
}

/// `value`, or `default` when absent; zero is refused.
fn at_least_one<T: PartialOrd + From<u8> + Copy>(
    value: Option<T>,
    default: T,
    key: &str,
) -> anyhow::Result<T> {
    let value = value.unwrap_or(default);
    if value < T::from(1) {
        bail!("{key} must be at least 1");
    }
    Ok(value)
}

/// The connection caps by client address of `[limits]`.
fn caps(raw: &RawLimits) -> anyhow::Result<ConnectionCaps> {
    let defaults = ConnectionCaps::default();
    Ok(ConnectionCaps {
        per_ip: at_least_one(
            raw.max_connections_per_ip,
            defaults.per_ip,
            "limits.max_connections_per_ip",
        )?,
        preauth_per_ip: at_least_one(
            raw.max_preauth_connections_per_ip,
            defaults.preauth_per_ip,
            "limits.max_preauth_connections_per_ip",
        )?,
        per_user_ip: at_least_one(
            raw.max_connections_per_user_ip,
            defaults.per_user_ip,
            "limits.max_connections_per_user_ip",
        )?,
    })
}

/// `[throttle]`, validated: thresholds and durations of at least one, a prefix threshold
/// at least the address's, prefixes no wider than /8 (IPv4) or /32 (IPv6), networks in CIDR
/// notation.
fn throttle(raw: &RawThrottle) -> anyhow::Result<ThrottleConfig> {
    let d = ThrottleConfig::default();
    let secs = |value: Option<u64>, default: Duration, key: &str| -> anyhow::Result<Duration> {
        let value = value.map_or(default, Duration::from_secs);
        if value.is_zero() {
            bail!("throttle.{key} must be at least 1");
        }
        Ok(value)
    };
    let millis =
        |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_millis);
    let config = ThrottleConfig {
        window: secs(raw.window_secs, d.window, "window_secs")?,
        free_failures: raw.free_failures.unwrap_or(d.free_failures),
        initial_delay: millis(raw.delay_initial_ms, d.initial_delay),
        max_delay: millis(raw.delay_max_ms, d.max_delay),
        ip_ban_failures: at_least_one(
            raw.ip_ban_failures,
            d.ip_ban_failures,
            "throttle.ip_ban_failures",
        )?,
        prefix_ban_failures: raw.prefix_ban_failures.unwrap_or(d.prefix_ban_failures),
        ipv4_prefix: raw.ipv4_prefix_len.unwrap_or(d.ipv4_prefix),
        ipv6_prefix: raw.ipv6_prefix_len.unwrap_or(d.ipv6_prefix),
        ban: secs(raw.ban_secs, d.ban, "ban_secs")?,
        max_ban: secs(raw.ban_max_secs, d.max_ban, "ban_max_secs")?,
        repeat_window: raw
            .ban_repeat_window_secs
            .map_or(d.repeat_window, Duration::from_secs),
        trusted: raw
            .trusted_networks
            .iter()
            .flatten()
            .map(|text| {
                text.parse::<IpNetwork>()
                    .with_context(|| "throttle.trusted_networks".to_owned())
            })
            .collect::<anyhow::Result<_>>()?,
        max_tracked: raw.max_tracked.unwrap_or(d.max_tracked),
    };
    if config.max_delay < config.initial_delay {
        bail!("throttle.delay_max_ms must be at least throttle.delay_initial_ms");
    }
    if config.max_delay > Duration::from_secs(60) {
        bail!("throttle.delay_max_ms must be at most 60000 (a login must not wait longer)");
    }
    if config.prefix_ban_failures < config.ip_ban_failures {
        bail!("throttle.prefix_ban_failures must be at least throttle.ip_ban_failures");
    }
    if !(8..=32).contains(&config.ipv4_prefix) {
        bail!("throttle.ipv4_prefix_len must be between 8 and 32");
    }
    if !(32..=128).contains(&config.ipv6_prefix) {
        bail!("throttle.ipv6_prefix_len must be between 32 and 128");
    }
    if config.max_ban < config.ban {
        bail!("throttle.ban_max_secs must be at least throttle.ban_secs");
    }
    if config.max_tracked < 1000 {
        bail!("throttle.max_tracked must be at least 1000");
    }
    Ok(config)
}

/// The commented production configuration `portcullis init` writes.
pub(crate) const TEMPLATE: &str = r#"# Portcullis configuration. Every key is optional; the values shown are the defaults
# for a configuration file (without one, Portcullis runs a loopback development server).

# Where mail, accounts and the generated certificate live.
data_dir = "/var/lib/portcullis"

[listen]
# Implicit TLS (IMAPS).
imaps = ["0.0.0.0:993", "[::]:993"]
# Plaintext with STARTTLS; LOGIN is refused until TLS is up. Set to [] to disable port 143.
imap = ["0.0.0.0:143", "[::]:143"]
# Who may connect to the listeners above, in CIDR, judged at connect before any TLS (a
# refused address gets one plaintext "* BYE" and is audited). An empty allow list admits
# every address; deny wins over allow. Internal network only: allow = ["10.0.0.0/8"]
allow = []
deny = []
# Behind a load balancer speaking the PROXY protocol (v1 or v2: HAProxy send-proxy, nginx
# proxy_protocol, AWS NLB...): only trusted_proxies may connect, each connection must start
# with a header, and the client address it carries is what bans, limits, allow/deny and the
# audit log see. Connections from anywhere else are refused.
proxy_protocol = false
trusted_proxies = []
# Client networks that may log in without TLS on the plaintext listeners (they are offered
# AUTH=PLAIN instead of LOGINDISABLED; every such login is audited). Empty: nobody.
plaintext_auth_networks = []

# More listeners, each with rules of its own (the keys above, with a kind and an address):
#[[listener]]
#kind = "imap"
#address = "10.0.0.1:143"
#allow = ["10.0.0.0/8"]
#plaintext_auth_networks = ["10.0.0.0/8"]

# Name in the LMTP greeting (default: /etc/hostname).
#hostname = "mail.example.org"

[lmtp]
# Where the MTA delivers mail (RFC 2033): loopback TCP and/or Unix sockets ("unix:/path").
# LMTP has no authentication: never expose it beyond the local machine.
# Postfix: mailbox_transport = lmtp:inet:127.0.0.1:24 (see docs/postfix.md)
listen = []
# Mode of Unix sockets (give the MTA's group access).
unix_mode = 0o660
# LMTP connections served at once (separate from IMAP's limit).
max_connections = 100

# Certificate chain and key in PEM. Without this section a self-signed certificate is
# generated into data_dir/tls — fine for testing, not for production clients.
#[tls]
#certificate = "/etc/portcullis/tls/fullchain.pem"
#key = "/etc/portcullis/tls/privkey.pem"
# Certificates and keys are read again on SIGHUP and when their files change (looked at
# every reload_interval_secs; 0: on SIGHUP only). Open connections keep the certificate they
# began with; a file that fails to load keeps the previous certificate (logged as an error).
# Expiry within 30 days is warned about at start, on reload and daily.
#reload_interval_secs = 5
# More certificates, chosen by the name a client asks for (SNI); a client without SNI, or
# asking for another name, gets the one above.
#[[tls.certificates]]
#names = ["mail.example.org", "*.example.net"]
#certificate = "/etc/portcullis/tls/mail.example.org.pem"
#key = "/etc/portcullis/tls/mail.example.org.key"

[limits]
# Connections served at once; more are refused with BYE [LIMIT].
max_connections = 10000
# Largest command, APPEND message data excluded.
max_command_bytes = 65536
# Largest message APPEND accepts (advertised as APPENDLIMIT).
append_limit_bytes = 67108864
# Time to complete TLS and log in.
pre_auth_timeout_secs = 60
# Inactivity before an authenticated session is logged out (at least 1800, RFC 9051).
idle_timeout_secs = 1800
# "* OK Still here" interval during IDLE, so NAT gateways keep connections open.
idle_heartbeat_secs = 120
# Time connections get to close after SIGTERM.
shutdown_grace_secs = 10
# Connections from one client address at once (trusted networks are exempt); more get
# BYE [LIMIT].
max_connections_per_ip = 50
# Connections from one address that have not logged in yet (slowloris; trusted networks
# are exempt).
max_preauth_connections_per_ip = 10
# Logged-in sessions of one account from one address; one more gets NO [LIMIT] to its LOGIN.
max_connections_per_user_ip = 10
# BAD answers in a row before the server says BYE (an OK or NO answer starts the count again).
max_bad_commands = 20
# Commands arriving in one read before their answers (at most 64 KiB per read); more get
# BYE [LIMIT]. Pipelining clients stay far below.
max_pipelined_commands = 1000

[throttle]
# The brute-force defence. Failed logins are counted per client address, per network
# prefix and per account name, over a window that starts at the first failure.
window_secs = 900
# Every login (right or wrong password, known or unknown user) waits before its check once
# its address or its account name has this many failures: delay_initial_ms, doubling with
# each further failure, up to delay_max_ms.
free_failures = 2
delay_initial_ms = 500
delay_max_ms = 5000
# Failures that ban an address, and (all its addresses together) a network prefix. An
# account's failures only delay: nobody can lock a user out from elsewhere.
ip_ban_failures = 10
prefix_ban_failures = 50
ipv4_prefix_len = 24
ipv6_prefix_len = 64
# Length of a ban; a ban within ban_repeat_window_secs of the previous one's end lasts twice
# as long as it, up to ban_max_secs. A banned address gets "* BYE" at connect, before TLS.
ban_secs = 900
ban_max_secs = 86400
ban_repeat_window_secs = 86400
# Networks never delayed, banned or capped per address (webmail, monitoring), in CIDR.
trusted_networks = []
#trusted_networks = ["127.0.0.1/32", "2001:db8:10::/48"]
# Most addresses, networks and names tracked at once (memory bound under a flood).
max_tracked = 100000

[store]
# Days the UIDs of expunged messages are remembered for QRESYNC clients (RFC 7162); older
# ones are pruned hourly. A client away for longer still resynchronises correctly, only
# with a longer list of vanished messages.
expunge_retention_days = 30

[metrics]
# A Prometheus endpoint (plain HTTP, GET /metrics): certificate expiry, connections, logins,
# active bans. Off unless set; keep it on loopback (it has no authentication).
#listen = "127.0.0.1:9993"

[log]
# "text" or "json".
format = "text"
# A tracing filter: "info", "debug", "portcullis_net=debug,info", ...
level = "info"
# The audit log (logins, delays, bans, limits, account changes; never passwords): "stdout",
# "stderr" or an absolute file path (contrib/fail2ban reads such a file).
audit = "stderr"
# "text" (what contrib/fail2ban matches) or "json".
audit_format = "text"

# Client quirks: switches for the bugs of particular clients, all off unless listed here,
# per client (matched on what it sends in ID; `*` and `?` wildcards, ASCII case ignored) or
# per account. Known quirks: none yet — docs/clients.md says why and how one is added.
#[[quirks.client]]
#name = "Thunderbird"
#version = "115.*"
#enable = ["quirk-name"]
#[quirks.account]
#alice = ["quirk-name"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Settings> {
        let raw: RawConfig = toml::from_str(text)?;
        Settings::from_raw(raw, Mode::Production, &Overrides::default())
    }

    #[test]
    fn the_template_is_valid_and_gives_production_defaults() {
        let settings = parse(TEMPLATE).unwrap_or_else(|e| panic!("{e:#}"));
        let imaps = settings.net.addresses(ListenerKind::Imaps);
        assert_eq!(imaps.len(), 2);
        assert_eq!(imaps[0].port(), 993);
        assert_eq!(settings.net.addresses(ListenerKind::Imap)[0].port(), 143);
        // Exposure: open to every address, no PROXY protocol, no plaintext login; the
        // certificates are watched; no metrics endpoint.
        assert!(
            settings
                .net
                .listeners
                .iter()
                .all(|l| *l.rules == ExposureRules::default())
        );
        assert_eq!(
            settings.net.tls.reload_interval,
            Some(DEFAULT_RELOAD_INTERVAL)
        );
        assert!(settings.net.tls.named.is_empty());
        assert_eq!(settings.metrics, None);
        let shown = settings.describe();
        for line in [
            "listen.allow          any address",
            "listen.deny           none",
            "listen.proxy_protocol off",
            "listen.plaintext_auth_networks none (LOGINDISABLED before TLS)",
            "tls.reload_interval_secs 5",
            "metrics.listen        off",
        ] {
            assert!(shown.contains(line), "{line:?} missing from\n{shown}");
        }
        assert_eq!(settings.data_dir, PathBuf::from("/var/lib/portcullis"));
        assert_eq!(settings.net.limits.idle_timeout.as_secs(), 1800);
        assert_eq!(
            settings.store.expunge_retention,
            portcullis_store::DEFAULT_EXPUNGE_RETENTION
        );
    }

    #[test]
    fn expunge_retention_is_in_days_and_never_zero() {
        let week =
            parse("[store]\nexpunge_retention_days = 7\n").unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(week.store.expunge_retention, Duration::from_secs(7 * DAY));
        assert!(week.describe().contains("expunge_retention_days 7"));
        let zero = parse("[store]\nexpunge_retention_days = 0\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(zero.contains("at least 1"), "{zero}");
    }

    #[test]
    fn unknown_keys_and_short_idle_timeouts_are_refused() {
        let unknown = parse("[limits]\nmax_conections = 5\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(unknown.contains("max_conections"), "{unknown}");
        let short = parse("[limits]\nidle_timeout_secs = 60\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(short.contains("at least 1800"), "{short}");
    }

    #[test]
    fn quirks_are_off_by_default_and_unknown_quirk_names_are_refused() {
        let settings = parse(TEMPLATE).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(settings.session.quirks.is_empty());
        assert!(settings.describe().contains("quirks                none"));
        // Rules without quirks are accepted (and do nothing).
        let empty = parse(
            "[[quirks.client]]\nname = \"Thunderbird*\"\nversion = \"115.*\"\nenable = []\n\
             [quirks.account]\nalice = []\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(empty.session.quirks.clients.len(), 1);
        assert!(empty.session.quirks.clients[0].matches("thunderbird daily", Some("115.2")));
        assert!(empty.session.quirks.is_empty());
        let unknown =
            parse("[[quirks.client]]\nname = \"Thunderbird\"\nenable = [\"no-such-quirk\"]\n")
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
        assert!(
            unknown.contains("quirks.client[0].enable")
                && unknown.contains("unknown quirk \"no-such-quirk\""),
            "{unknown}"
        );
        let account = parse("[quirks.account]\nalice = [\"x\"]\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(account.contains("quirks.account.alice"), "{account}");
        let typo = parse("[[quirks.client]]\nname = \"x\"\nenabled = []\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(typo.contains("enabled"), "{typo}");
    }

    #[test]
    fn hardening_defaults_are_secure_and_shown() {
        let settings = parse(TEMPLATE).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(settings.guard, GuardConfig::default());
        assert_eq!(settings.session.max_bad_commands, 20);
        assert_eq!(settings.net.limits.max_pipelined_commands, 1000);
        assert_eq!(settings.audit, AuditSink::Stderr);
        assert_eq!(settings.audit_format, AuditFormat::Text);
        let shown = settings.describe();
        for line in [
            "max_connections_per_ip 50",
            "max_preauth_connections_per_ip 10",
            "max_connections_per_user_ip 10",
            "max_bad_commands      20",
            "max_pipelined_commands 1000",
            "delay after 2 failures: 500 ms doubling to 5000 ms",
            "address after 10, /24 (IPv4) or /64 (IPv6) after 50 failures; 900s doubling to 86400s",
            "throttle.trusted_networks none",
            "log.audit             stderr (Text)",
        ] {
            assert!(shown.contains(line), "{line:?} missing from\n{shown}");
        }
        // Without a file, the same defaults.
        let development = Settings::from_raw(
            RawConfig::default(),
            Mode::Development,
            &Overrides::default(),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(development.guard, GuardConfig::default());
    }

    #[test]
    fn hardening_settings_are_read_and_validated() {
        let settings = parse(
            "[limits]\nmax_connections_per_ip = 3\nmax_bad_commands = 5\n\
             [throttle]\nban_secs = 2\nip_ban_failures = 4\nprefix_ban_failures = 8\n\
             trusted_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n\
             [log]\naudit = \"/var/log/portcullis/audit.log\"\naudit_format = \"json\"\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(settings.guard.connections.per_ip, 3);
        assert_eq!(settings.session.max_bad_commands, 5);
        assert_eq!(settings.guard.throttle.ban, Duration::from_secs(2));
        assert_eq!(settings.guard.throttle.trusted.len(), 2);
        assert_eq!(
            settings.audit,
            AuditSink::File("/var/log/portcullis/audit.log".into())
        );
        assert_eq!(settings.audit_format, AuditFormat::Json);
        let error = |text: &str| {
            parse(text)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default()
        };
        for (text, expected) in [
            (
                "[limits]\nmax_connections_per_ip = 0\n",
                "max_connections_per_ip must be at least 1",
            ),
            (
                "[limits]\nmax_pipelined_commands = 0\n",
                "max_pipelined_commands must be at least 1",
            ),
            (
                "[throttle]\nban_secs = 0\n",
                "throttle.ban_secs must be at least 1",
            ),
            (
                "[throttle]\nprefix_ban_failures = 5\n",
                "at least throttle.ip_ban_failures",
            ),
            ("[throttle]\nipv4_prefix_len = 0\n", "between 8 and 32"),
            (
                "[throttle]\ndelay_max_ms = 100\n",
                "at least throttle.delay_initial_ms",
            ),
            (
                "[throttle]\ntrusted_networks = [\"10.0.0.1/8\"]\n",
                "10.0.0.1/8",
            ),
            ("[throttle]\nban_count = 3\n", "ban_count"),
            ("[log]\naudit = \"audit.log\"\n", "absolute file path"),
        ] {
            let message = error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn development_defaults_are_loopback_and_overrides_win() {
        let overrides = Overrides {
            data_dir: Some("/tmp/x".into()),
            imaps: vec![],
            imap: vec!["127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"))],
            lmtp: vec![],
        };
        let settings = Settings::from_raw(RawConfig::default(), Mode::Development, &overrides)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            settings.net.addresses(ListenerKind::Imaps),
            vec!["127.0.0.1:1993".parse().unwrap_or_else(|e| panic!("{e}"))]
        );
        assert_eq!(settings.net.addresses(ListenerKind::Imap)[0].port(), 0);
        assert_eq!(settings.data_dir, PathBuf::from("/tmp/x"));
    }

    fn error(text: &str) -> String {
        parse(text)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default()
    }

    #[test]
    fn exposure_rules_per_listener_are_read_and_validated() {
        let settings = parse(
            "[listen]\nimaps = [\"0.0.0.0:993\"]\nimap = []\ndeny = [\"192.0.2.0/24\"]\n\
             [[listener]]\nkind = \"imap\"\naddress = \"10.0.0.1:143\"\n\
             allow = [\"10.0.0.0/8\"]\nplaintext_auth_networks = [\"10.1.0.0/16\"]\n\
             [[listener]]\nkind = \"imaps\"\naddress = \"0.0.0.0:10993\"\n\
             proxy_protocol = true\ntrusted_proxies = [\"10.0.0.5\", \"10.0.0.6\"]\n\
             [metrics]\nlisten = \"127.0.0.1:9993\"\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let listeners = &settings.net.listeners;
        assert_eq!(listeners.len(), 3);
        assert_eq!(listeners[0].rules.deny.len(), 1);
        assert_eq!(listeners[1].kind, ListenerKind::Imap);
        assert!(
            listeners[1]
                .rules
                .plaintext_auth_allowed("10.1.2.3".parse().unwrap_or_else(|e| panic!("{e}")))
        );
        assert!(
            listeners[1].rules.deny.is_empty(),
            "[listen]'s rules are its own"
        );
        assert!(listeners[2].rules.proxy_protocol);
        assert_eq!(
            settings.metrics,
            Some("127.0.0.1:9993".parse().unwrap_or_else(|e| panic!("{e}")))
        );
        let shown = settings.describe();
        for line in [
            "listen.imap           \n",
            "listen.deny           192.0.2.0/24",
            "listener[0]           imap 10.0.0.1:143",
            "listener[0].allow     10.0.0.0/8",
            "listener[0].plaintext_auth_networks 10.1.0.0/16",
            "listener[1]           imaps 0.0.0.0:10993",
            "listener[1].proxy_protocol on, trusted proxies 10.0.0.5/32, 10.0.0.6/32",
            "metrics.listen        127.0.0.1:9993",
        ] {
            assert!(shown.contains(line), "{line:?} missing from\n{shown}");
        }
        for (text, expected) in [
            (
                "[listen]\nproxy_protocol = true\n",
                "listen.proxy_protocol needs listen.trusted_proxies",
            ),
            (
                "[listen]\ntrusted_proxies = [\"10.0.0.5\"]\n",
                "listen.trusted_proxies is set but listen.proxy_protocol is not true",
            ),
            ("[listen]\nallow = [\"10.0.0.1/8\"]\n", "listen.allow"),
            ("[listen]\ndeny = [\"nonsense\"]\n", "listen.deny"),
            (
                "[listen]\nplaintext_auth_networks = [\"0.0.0.0/0\"]\n",
                "must name networks, not every address",
            ),
            (
                "[[listener]]\nkind = \"imaps\"\naddress = \"127.0.0.1:1\"\nplaintext_auth_networks = [\"10.0.0.0/8\"]\n",
                "listener[0].plaintext_auth_networks applies to imap listeners only",
            ),
            (
                "[[listener]]\nkind = \"pop3\"\naddress = \"127.0.0.1:1\"\n",
                "listener[0].kind must be",
            ),
            (
                "[[listener]]\nkind = \"imaps\"\naddress = \"0.0.0.0:993\"\n",
                "0.0.0.0:993 is configured twice",
            ),
            (
                "[[listener]]\nkind = \"imaps\"\nadress = \"127.0.0.1:1\"\n",
                "adress",
            ),
            (
                "[listen]\nimaps = []\nimap = []\n",
                "no listener configured",
            ),
            (
                "[metrics]\nlisten = \"localhost\"\n",
                "invalid socket address",
            ),
        ] {
            let message = error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
        // The plaintext port disabled, an internal-only IMAPS listener instead.
        let internal = parse(
            "[listen]\nimap = []\nimaps = []\n[[listener]]\nkind = \"imaps\"\n\
             address = \"10.0.0.1:993\"\nallow = [\"10.0.0.0/8\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(internal.net.addresses(ListenerKind::Imap).is_empty());
        assert_eq!(internal.net.listeners.len(), 1);
    }

    #[test]
    fn named_certificates_and_the_reload_interval_are_read_and_validated() {
        let settings = parse(
            "[tls]\ncertificate = \"/etc/tls/default.pem\"\nkey = \"/etc/tls/default.key\"\n\
             reload_interval_secs = 0\n\
             [[tls.certificates]]\nnames = [\"Mail.Example.org\", \"*.example.net\"]\n\
             certificate = \"/etc/tls/mail.pem\"\nkey = \"/etc/tls/mail.key\"\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let tls = &settings.net.tls;
        assert_eq!(
            tls.default,
            TlsSource::Files {
                certificate: "/etc/tls/default.pem".into(),
                key: "/etc/tls/default.key".into()
            }
        );
        assert_eq!(tls.named[0].names, ["mail.example.org", "*.example.net"]);
        assert_eq!(tls.reload_interval, None);
        let shown = settings.describe();
        for line in [
            "tls.certificates      mail.example.org, *.example.net → certificate /etc/tls/mail.pem key /etc/tls/mail.key",
            "tls.reload_interval_secs 0 (SIGHUP only)",
        ] {
            assert!(shown.contains(line), "{line:?} missing from\n{shown}");
        }
        // Named certificates only: the first is the default too.
        let named_only = parse(
            "[[tls.certificates]]\nnames = [\"mail.example.org\"]\n\
             certificate = \"/c.pem\"\nkey = \"/k.pem\"\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            named_only.net.tls.default,
            TlsSource::Files {
                certificate: "/c.pem".into(),
                key: "/k.pem".into()
            }
        );
        for (text, expected) in [
            (
                "[tls]\ncertificate = \"/c.pem\"\n",
                "tls.certificate and tls.key go together",
            ),
            (
                "[[tls.certificates]]\nnames = []\ncertificate = \"/c\"\nkey = \"/k\"\n",
                "tls.certificates[0].names must name at least one host",
            ),
            (
                "[[tls.certificates]]\nnames = [\"192.0.2.1\"]\ncertificate = \"/c\"\nkey = \"/k\"\n",
                "is an address",
            ),
            (
                "[[tls.certificates]]\nnames = [\"a b\"]\ncertificate = \"/c\"\nkey = \"/k\"\n",
                "is not a host name",
            ),
            (
                "[[tls.certificates]]\nnames = [\"a.example\"]\ncertificate = \"/c\"\nkey = \"/k\"\n\
                 [[tls.certificates]]\nnames = [\"A.example\"]\ncertificate = \"/c\"\nkey = \"/k\"\n",
                "a.example is already another certificate's",
            ),
            (
                "[[tls.certificates]]\nnames = [\"a.example\"]\ncertificate = \"/c\"\n",
                "key",
            ),
        ] {
            let message = error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
