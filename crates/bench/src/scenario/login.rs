//! `login-rate C`: C workers, each repeating connect + TLS handshake + greeting + LOGIN +
//! LOGOUT (BYE and tagged OK) + close, for a fixed time.
//!
//! Timed: each cycle from the TCP connect to the LOGOUT completion (latency), and the
//! whole run (rate = completed cycles / duration). Before timing, a warm-up logs every
//! bench user in once (an auth cache may then serve the measured logins — the reconnect
//! storm the issue describes). Users rotate over all bench accounts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use super::{Checks, Ctx, Outcome, SharedChecks, ms, quantile, rate};
use crate::client::Conn;

/// Options of `login-rate`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) workers: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: bool,
}

async fn cycle(ctx: &Ctx, user: u64) -> Result<(Duration, Duration)> {
    let start = Instant::now();
    let mut conn = Conn::connect(&ctx.target).await?;
    let handshake = start.elapsed();
    conn.login(&ctx.users.name(user), &ctx.users.password)
        .await?;
    conn.logout().await?;
    Ok((start.elapsed(), handshake))
}

pub(crate) async fn run(ctx: Arc<Ctx>, opts: Options) -> Result<Outcome> {
    let mut out = Outcome::default();
    let checks = Arc::new(SharedChecks::default());
    if opts.warmup {
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..opts.workers.max(1) {
            let (ctx, next, checks) = (ctx.clone(), next.clone(), checks.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = Checks::default();
                loop {
                    let user = next.fetch_add(1, Ordering::Relaxed);
                    if user >= ctx.users.count {
                        break;
                    }
                    let r = cycle(&ctx, user).await;
                    match r {
                        Ok(_) => {
                            c.check(true, String::new);
                        }
                        Err(e) => c.fail(format!("warm-up login of user {user}: {e:#}")),
                    }
                }
                checks.merge(c);
            }));
        }
        for t in tasks {
            t.await?;
        }
    }

    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + opts.duration;
    let cpu_before = ctx.server.cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.workers.max(1) {
        let (ctx, next, checks) = (ctx.clone(), next.clone(), checks.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Checks::default();
            let mut latencies = Vec::new();
            let mut handshakes = Vec::new();
            while Instant::now() < deadline {
                let user = next.fetch_add(1, Ordering::Relaxed);
                match cycle(&ctx, user).await {
                    Ok((total, handshake)) => {
                        c.check(true, String::new);
                        latencies.push(total);
                        handshakes.push(handshake);
                    }
                    Err(e) => c.fail(format!("login cycle of {}: {e:#}", ctx.users.name(user))),
                }
            }
            checks.merge(c);
            (latencies, handshakes)
        }));
    }
    let mut latencies = Vec::new();
    let mut handshakes = Vec::new();
    for t in tasks {
        let (mut l, mut h) = t.await?;
        latencies.append(&mut l);
        handshakes.append(&mut h);
    }
    let elapsed = started.elapsed();
    let server_cpu = ctx
        .server
        .cpu()
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    let checks = Arc::try_unwrap(checks).unwrap_or_default().into_inner();
    let done = latencies.len() as u64;
    out.put("workers", json!(opts.workers));
    out.put("duration_s", json!(elapsed.as_secs_f64()));
    out.show("logins", "logins completed", json!(done));
    out.show("errors", "errors", json!(checks.failed()));
    out.show("logins_per_s", "logins/s", rate(done, elapsed));
    let mean = latencies
        .iter()
        .sum::<Duration>()
        .checked_div(u32::try_from(done.max(1)).unwrap_or(u32::MAX));
    out.show(
        "p50_ms",
        "p50 ms",
        quantile(&mut latencies, 500).map_or(json!(null), ms),
    );
    out.show(
        "p99_ms",
        "p99 ms",
        quantile(&mut latencies, 990).map_or(json!(null), ms),
    );
    out.put("mean_ms", mean.map_or(json!(null), ms));
    out.show(
        "handshake_p50_ms",
        "TCP+TLS+greeting p50 ms",
        quantile(&mut handshakes, 500).map_or(json!(null), ms),
    );
    if let Some(cpu) = server_cpu {
        let per = if done > 0 {
            cpu.as_secs_f64() * 1e3 / done as f64
        } else {
            0.0
        };
        out.show(
            "server_cpu_ms_per_login",
            "server CPU ms/login",
            json!((per * 1e3).round() / 1e3),
        );
    }
    out.checks = checks;
    Ok(out)
}
