//! `portcullis serve`: opens the store, sets up TLS, binds the listeners (printing one line
//! per listener), and serves until SIGTERM or SIGINT. SIGHUP reloads the TLS certificates
//! (so does a change of their files, watched by `portcullis_net::Certificates::watch`);
//! `[metrics] listen` adds the Prometheus endpoint (`metrics.rs`).

use anyhow::Context;
use portcullis_auth::{Guard, PasswordVerifier, SystemClock, generate_password, hash_password};
use portcullis_lmtp::{LmtpConfig, StoreDelivery};
use portcullis_net::{Certificates, LmtpService, Server, TlsSource};
use portcullis_session::ServerContext;
use portcullis_store::{AccountName, Store};
use portcullis_store_sqlite::{DATABASE_FILE, SqliteStore};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::{LogFormat, Mode, Settings};
use crate::metrics::{self, AuditCounts};

/// The account created on the first development start.
const DEMO_ACCOUNT: &str = "demo";

/// How often expunges older than `store.expunge_retention_days` are pruned from the log.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

pub(crate) fn serve(settings: Settings) -> anyhow::Result<()> {
    let audit_counts = settings.metrics.map(|_| Arc::new(AuditCounts::default()));
    init_logging(&settings, audit_counts.clone())?;
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        // Before anything is printed: from then on, SIGHUP must not end the process.
        let hangup = hangup_signal()?;
        let fresh = !settings.data_dir.join(DATABASE_FILE).exists();
        let store = Arc::new(
            SqliteStore::open(&settings.data_dir).with_context(|| format!("cannot open the store in {}", settings.data_dir.display()))?,
        );
        // Commits by `portcullis deliver` and other commands wake this server's sessions.
        store.listen_for_peers()?;
        // Before the first write: a WAL left by the last run is slow to write over.
        if let Err(error) = store.truncate_logs().await {
            tracing::warn!(%error, "cannot cut the write-ahead logs at start");
        }
        if fresh && settings.mode == Mode::Development {
            create_demo_account(store.as_ref()).await?;
        }
        let tls = portcullis_net::load_tls(&settings.net.tls)?;
        if let TlsSource::SelfSigned { dir } = &settings.net.tls.default {
            let verb = if tls.generated { "generated" } else { "using" };
            tracing::warn!(dir = %dir.display(), "{verb} a self-signed certificate: clients will warn until a real one is configured");
        }
        for certificate in tls.certificates.status() {
            tracing::info!(certificate = %certificate.label, sha256 = %certificate.fingerprint, "TLS certificate");
            if certificate.names.is_empty() {
                println!("certificate SHA-256 {}", certificate.fingerprint);
            } else {
                println!(
                    "certificate SHA-256 {} for {}",
                    certificate.fingerprint,
                    certificate.names.join(", ")
                );
            }
        }
        tls.certificates.warn_if_expiring();
        let ctx = Arc::new(ServerContext {
            guard: Arc::new(Guard::new(settings.guard.clone(), Arc::new(SystemClock))),
            mailboxes: Arc::default(),
            ..ServerContext::new(
                store.clone() as Arc<dyn Store>,
                tokio::task::spawn_blocking(PasswordVerifier::new).await??,
                settings.session.clone(),
            )
        });
        let lmtp = LmtpService {
            config: Arc::new(LmtpConfig {
                hostname: settings.hostname.clone(),
                max_message_size: settings.session.append_limit,
                ..LmtpConfig::default()
            }),
            delivery: Arc::new(StoreDelivery::new(store.clone() as Arc<dyn Store>)),
            max_connections: settings.lmtp.max_connections,
            unix_mode: settings.lmtp.unix_mode,
        };
        let server = Server::bind(&settings.net, &tls, ctx, Some(lmtp)).await?;
        let metrics = match (settings.metrics, audit_counts) {
            (Some(address), Some(audit)) => {
                let listener = metrics::bind(address).await?;
                let address = listener.local_addr()?;
                println!("metrics listening on {address}");
                tracing::info!(listener = "metrics", %address, "listening");
                let sources = metrics::Sources {
                    audit,
                    net: server.stats(),
                    certificates: tls.certificates.clone(),
                };
                Some(tokio::spawn(metrics::serve(listener, sources)))
            }
            _ => None,
        };
        for (kind, address) in server.local_addrs() {
            println!("{} listening on {address}", kind.as_str());
            tracing::info!(listener = kind.as_str(), %address, "listening");
        }
        for address in server.lmtp_addrs() {
            println!("lmtp listening on {address}");
            tracing::info!(listener = "lmtp", %address, "listening");
        }
        // The SEARCH text index is filled in the background (see SqliteStore::run_indexer).
        let indexer = tokio::spawn(Arc::clone(&store).run_indexer());
        let pruner = tokio::spawn(prune_expunge_log(
            store.clone() as Arc<dyn Store>,
            settings.store.expunge_retention,
        ));
        let watcher = tokio::spawn(tls.certificates.clone().watch());
        let reloader = tokio::spawn(reload_on_hangup(hangup, tls.certificates.clone()));
        server.run(shutdown_signal()).await;
        // A prune already handed to the store's writer still commits; only the wait ends.
        pruner.abort();
        indexer.abort();
        watcher.abort();
        reloader.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// Prunes the expunge log now and every [`PRUNE_INTERVAL`]: QRESYNC answers exactly for
/// clients back within `retention`, and from the UIDs that still exist for later ones.
async fn prune_expunge_log(store: Arc<dyn Store>, retention: Duration) {
    let mut ticks = tokio::time::interval(PRUNE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(cutoff) = SystemTime::now().checked_sub(retention) else {
            continue;
        };
        match store.prune_expunged(cutoff).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "pruned the expunge log"),
            Err(error) => tracing::warn!(%error, "cannot prune the expunge log"),
        }
    }
}

/// SIGHUP, registered (so that it no longer ends the process).
#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

fn hangup_signal() -> anyhow::Result<Hangup> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::hangup()).context("cannot handle SIGHUP")
    }
    #[cfg(not(unix))]
    {
        Ok(())
    }
}

/// Reloads the certificates on every SIGHUP.
#[allow(clippy::unused_async)] // not unix: nothing to wait for
async fn reload_on_hangup(hangup: Hangup, certificates: Arc<Certificates>) {
    #[cfg(unix)]
    {
        let mut hangup = hangup;
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the TLS certificates");
            certificates.reload();
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (hangup, certificates);
    }
}

async fn create_demo_account(store: &SqliteStore) -> anyhow::Result<()> {
    let password = generate_password();
    let hash = hash_password(&password)?;
    let name = AccountName::new(DEMO_ACCOUNT)?;
    store.create_account(&name, &hash).await?;
    // Shown once, on the terminal of the person who started a development server.
    println!(
        "created demo account: user {DEMO_ACCOUNT} password {}",
        password.expose()
    );
    println!("add accounts with: portcullis user add NAME");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The main log on stderr (`[log] format`, `level`) and the audit log to its own
/// destination (`[log] audit`, `audit_format`); audit events never reach the main log.
fn init_logging(settings: &Settings, counts: Option<Arc<AuditCounts>>) -> anyhow::Result<()> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{FilterExt, filter_fn};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .with_context(|| format!("invalid log level {:?}", settings.log_level))?;
    let not_audit = filter_fn(|meta| meta.target() != crate::audit::TARGET);
    // Colours only for a terminal: journald and log files get plain text.
    let text = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let main = match settings.log_format {
        LogFormat::Text => text.boxed(),
        LogFormat::Json => text.json().boxed(),
    };
    tracing_subscriber::registry()
        .with(main.with_filter(filter.and(not_audit)))
        .with(crate::audit::layer(settings)?)
        .with(counts.map(metrics::layer))
        .try_init()
        .context("cannot install the logger")?;
    Ok(())
}
