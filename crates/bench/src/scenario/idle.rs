//! `idle-scale N`: N connections each LOGIN, SELECT INBOX and IDLE, then are held for a
//! fixed time while the server's memory is measured.
//!
//! Measured: the server's memory (RSS and PSS summed over all its processes) before any
//! connection, after a quiet settle time (the baseline), and at the end of the hold; per connection = (end − baseline)
//! / connections held. Setup runs with a bounded number of connections in progress. A
//! connection the server closes or answers with BYE during the hold is a failure; so is
//! one that cannot be set up. At the end each connection sends DONE and LOGOUT.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;
use tokio::sync::{Semaphore, watch};

use super::{Checks, Ctx, Outcome, SharedChecks, rate};
use crate::client::Conn;
use crate::system;

/// Options of `idle-scale`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) connections: u64,
    pub(crate) duration: Duration,
    /// Connections being set up at once.
    pub(crate) ramp: usize,
    /// Quiet time before the baseline is measured.
    pub(crate) settle: Duration,
    /// Stop opening connections once the server's private resident memory passes this
    /// (the machine is shared: a server that needs more would take it down).
    pub(crate) max_server_rss_kib: Option<u64>,
}

/// How long one read waits during the hold before it is simply restarted.
const HOLD_READ: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct Counters {
    established: AtomicU64,
    setup_failed: AtomicU64,
    /// Not attempted: the memory guard stopped the ramp.
    skipped: AtomicU64,
    dropped: AtomicU64,
}

async fn setup(ctx: &Ctx, i: u64) -> Result<(Conn, String)> {
    let mut conn = Conn::connect(&ctx.target).await?;
    conn.login(&ctx.users.name(i), &ctx.users.password).await?;
    let select = conn.run("SELECT INBOX").await?.ok()?;
    if select.exists().is_none() {
        bail!("SELECT INBOX without EXISTS");
    }
    let tag = conn.idle_start().await?;
    Ok((conn, tag))
}

pub(crate) async fn run(ctx: Arc<Ctx>, opts: Options) -> Result<Outcome> {
    let mut out = Outcome::default();
    let limit = system::raise_nofile(opts.connections + 1024)?;
    out.put("nofile_limit", json!(limit));
    // Let the server settle first (a multi-process server retires the processes that an
    // earlier scenario left waiting for reuse): a baseline taken too early would include
    // memory that is freed during the hold, and understate the cost per connection.
    tokio::time::sleep(opts.settle).await;
    let baseline = if ctx.server.is_set() {
        Some(ctx.server.memory()?)
    } else {
        None
    };

    let counters = Arc::new(Counters::default());
    let checks = Arc::new(SharedChecks::default());
    let gate = Arc::new(Semaphore::new(opts.ramp.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let guard_tripped = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..opts.connections {
        let (ctx, counters, checks, gate) =
            (ctx.clone(), counters.clone(), checks.clone(), gate.clone());
        let guard_tripped = guard_tripped.clone();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Checks::default();
            let permit = gate.acquire_owned().await;
            if guard_tripped.load(Ordering::Relaxed) {
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let set = setup(&ctx, i).await;
            drop(permit);
            let (mut conn, tag) = match set {
                Ok(v) => v,
                Err(e) => {
                    counters.setup_failed.fetch_add(1, Ordering::Relaxed);
                    c.fail(format!("connection {i}: {e:#}"));
                    checks.merge(c);
                    return;
                }
            };
            counters.established.fetch_add(1, Ordering::Relaxed);
            c.check(true, String::new);
            // Hold: anything but an untagged OK/EXISTS-style notice is a failure.
            let alive = loop {
                tokio::select! {
                    r = conn.read_until(tokio::time::Instant::now() + HOLD_READ) => match r {
                        Ok(Some(r)) if r.raw.starts_with(b"* BYE") => {
                            c.fail(format!("connection {i}: {}", r.first_line()));
                            break false;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            c.fail(format!("connection {i} dropped: {e:#}"));
                            break false;
                        }
                    },
                    _ = stop.changed() => break true,
                }
            };
            if !alive {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                let done = async {
                    conn.idle_done(&tag).await?;
                    conn.logout().await
                };
                let r = done.await;
                if let Err(e) = r {
                    c.fail(format!("connection {i}: DONE/LOGOUT: {e:#}"));
                } else {
                    c.check(true, String::new);
                }
            }
            checks.merge(c);
        }));
    }

    // Wait for every connection to be set up, to fail or to be skipped; watch the server's
    // memory meanwhile.
    let mut peak_rss = 0;
    let mut last_check = Instant::now();
    loop {
        let settled = counters.established.load(Ordering::Relaxed)
            + counters.setup_failed.load(Ordering::Relaxed)
            + counters.skipped.load(Ordering::Relaxed);
        if settled >= opts.connections {
            break;
        }
        if let Some(limit) = opts.max_server_rss_kib
            && ctx.server.is_set()
            && last_check.elapsed() >= Duration::from_secs(1)
        {
            last_check = Instant::now();
            let rss = ctx.server.private_kib_fast();
            peak_rss = peak_rss.max(rss);
            if rss > limit && !guard_tripped.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "idle-scale: the server's private memory ({} MiB) passed the limit ({} MiB); no more connections",
                    rss / 1024,
                    limit / 1024
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let setup_time = started.elapsed();
    let established = counters.established.load(Ordering::Relaxed);
    tokio::time::sleep(opts.duration).await;
    let loaded = if ctx.server.is_set() {
        Some(ctx.server.memory()?)
    } else {
        None
    };
    let held = established - counters.dropped.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    for t in tasks {
        t.await?;
    }
    let mut checks = Arc::try_unwrap(checks).unwrap_or_default().into_inner();

    out.show("connections", "connections asked", json!(opts.connections));
    out.show("established", "established", json!(established));
    out.show("held", "held to the end", json!(held));
    out.show(
        "setup_failures",
        "setup failures",
        json!(counters.setup_failed.load(Ordering::Relaxed)),
    );
    out.show(
        "dropped",
        "dropped during hold",
        json!(counters.dropped.load(Ordering::Relaxed)),
    );
    out.show(
        "not_attempted",
        "not attempted (memory guard)",
        json!(counters.skipped.load(Ordering::Relaxed)),
    );
    if guard_tripped.load(Ordering::Relaxed) {
        out.put("memory_guard_kib", json!(opts.max_server_rss_kib));
        checks.fail(format!(
            "the server's private memory passed {} MiB after {established} connections: stopped there",
            opts.max_server_rss_kib.unwrap_or(0) / 1024
        ));
    }
    out.put("peak_private_kib_during_setup", json!(peak_rss));
    out.show("setup_s", "setup s", json!(setup_time.as_secs_f64()));
    out.put("setup_per_s", rate(established, setup_time));
    out.put("hold_s", json!(opts.duration.as_secs_f64()));
    out.put("settle_s", json!(opts.settle.as_secs_f64()));
    if let (Some(base), Some(load)) = (baseline, loaded) {
        out.put("memory_baseline", base.to_json());
        out.put("memory_loaded", load.to_json());
        let per = |a: u64, b: u64| {
            if held == 0 {
                json!(null)
            } else {
                json!(((a.saturating_sub(b)) as f64 / held as f64 * 10.0).round() / 10.0)
            }
        };
        out.show(
            "pss_kib_per_conn",
            "server PSS KiB/conn",
            per(load.pss_kib, base.pss_kib),
        );
        out.show(
            "rss_kib_per_conn",
            "server RSS KiB/conn",
            per(load.rss_kib, base.rss_kib),
        );
        out.show(
            "server_processes",
            "server processes",
            json!(load.processes),
        );
    }
    out.checks = checks;
    Ok(out)
}
