//! `append C M`: C connections each APPEND M generated messages (2–100 KB) to a mailbox of
//! their own, one at a time, each waiting for its tagged OK — the server's default
//! durability decides what that OK means.
//!
//! Timed: from the moment every connection is logged in, with its mailbox freshly created
//! and its messages generated, to the last OK. Checked once every connection is done (a
//! connection that finished early must not verify and delete its mailbox while the others
//! still append: for a server with one writer, that DELETE of M messages lands inside
//! their timed APPENDs): every APPEND was OK,
//! APPENDUID (when sent) gives increasing UIDs, SELECT shows M messages, `UID FETCH 1:*
//! (UID RFC822.SIZE)` gives the same UIDs and sizes, and three random messages come back
//! byte for byte. The mailboxes are deleted at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;
use tokio::sync::Barrier;

use super::{Checks, Ctx, Outcome, ms, quantile, rate};
use crate::client::{Conn, quote};
use crate::message::{self, Rng};

/// Options of `append`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) connections: u64,
    pub(crate) messages: u64,
}

/// The UID in `[APPENDUID validity uid]` of a single-message APPEND.
pub(crate) fn appenduid(reply: &crate::client::Reply) -> Option<u32> {
    let code = reply.tagged.code("APPENDUID")?;
    code.split_whitespace().nth(1)?.parse().ok()
}

struct Worker {
    conn: Conn,
    mailbox: String,
    messages: Vec<Vec<u8>>,
}

async fn prepare(ctx: &Ctx, c: u64, opts: &Options) -> Result<Worker> {
    let mut conn = Conn::connect(&ctx.target).await?;
    conn.login(&ctx.users.name(c), &ctx.users.password).await?;
    let mailbox = format!("bench-append-{c}");
    let _ = conn.run(&format!("DELETE {}", quote(&mailbox))).await?;
    conn.run(&format!("CREATE {}", quote(&mailbox)))
        .await?
        .ok()?;
    let messages = (0..opts.messages)
        .map(|j| message::generate(ctx.seed, 1_000_000_000 + c * opts.messages + j).bytes)
        .collect();
    Ok(Worker {
        conn,
        mailbox,
        messages,
    })
}

async fn verify(
    ctx: &Ctx,
    w: &mut Worker,
    uids: &[Option<u32>],
    c: u64,
    checks: &mut Checks,
) -> Result<()> {
    let conn = &mut w.conn;
    let select = conn
        .run(&format!("SELECT {}", quote(&w.mailbox)))
        .await?
        .ok()?;
    let want = w.messages.len();
    checks.check(select.exists() == u32::try_from(want).ok(), || {
        format!(
            "connection {c}: SELECT EXISTS {:?}, appended {want}",
            select.exists()
        )
    });
    let fetch = conn.run("UID FETCH 1:* (UID RFC822.SIZE)").await?.ok()?;
    let mut got = Vec::new();
    for r in &fetch.untagged {
        if let Some((seq, pairs)) = r.fetch() {
            let find = |k: &[u8]| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.number())
            };
            got.push((seq, find(b"UID"), find(b"RFC822.SIZE")));
        }
    }
    checks.check(got.len() == want, || {
        format!("connection {c}: FETCH gave {} of {want}", got.len())
    });
    for (k, (seq, uid, size)) in got.iter().enumerate() {
        let expect_size = w.messages.get(k).map(|m| m.len() as u64);
        checks.check(*size == expect_size && *seq as usize == k + 1, || {
            format!("connection {c}: message {seq} size {size:?}, appended {expect_size:?}")
        });
        if let Some(Some(expect_uid)) = uids.get(k) {
            checks.check(*uid == Some(u64::from(*expect_uid)), || {
                format!("connection {c}: message {seq} UID {uid:?}, APPENDUID said {expect_uid}")
            });
        }
    }
    let mut rng = Rng::new(ctx.seed ^ c);
    for _ in 0..3.min(want) {
        let k = rng.index(want);
        let Some((_, Some(uid), _)) = got.get(k) else {
            continue;
        };
        let reply = conn
            .run(&format!("UID FETCH {uid} BODY.PEEK[]"))
            .await?
            .ok()?;
        let body = reply.body();
        checks.check(
            body.as_deref() == w.messages.get(k).map(Vec::as_slice),
            || format!("connection {c}: UID {uid} body differs from what was appended"),
        );
    }
    conn.run("CLOSE").await?.ok()?;
    conn.run(&format!("DELETE {}", quote(&w.mailbox)))
        .await?
        .ok()?;
    conn.logout().await
}

pub(crate) async fn run(ctx: Arc<Ctx>, opts: Options) -> Result<Outcome> {
    let mut out = Outcome::default();
    let n = usize::try_from(opts.connections.max(1)).unwrap_or(1);
    let barrier = Arc::new(Barrier::new(n + 1));
    let appended = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for c in 0..opts.connections.max(1) {
        let (ctx, barrier, opts) = (ctx.clone(), barrier.clone(), opts.clone());
        let appended = appended.clone();
        tasks.push(tokio::spawn(async move {
            let mut checks = Checks::default();
            let prepared = prepare(&ctx, c, &opts).await;
            barrier.wait().await;
            let mut w = match prepared {
                Ok(w) => w,
                Err(e) => {
                    checks.fail(format!("connection {c}: preparing: {e:#}"));
                    appended.wait().await;
                    return (checks, Vec::new(), 0u64, None);
                }
            };
            let mut latencies = Vec::with_capacity(w.messages.len());
            let mut uids = Vec::with_capacity(w.messages.len());
            let mut bytes = 0u64;
            let mut last = None;
            let mut failed = false;
            for k in 0..w.messages.len() {
                let Some(m) = w.messages.get(k) else { break };
                let t = Instant::now();
                let r = w.conn.append(&w.mailbox, &[m]).await;
                latencies.push(t.elapsed());
                match r.and_then(crate::client::Reply::ok) {
                    Ok(reply) => {
                        let uid = appenduid(&reply);
                        if let (Some(u), Some(Some(prev))) = (uid, uids.last()) {
                            checks.check(u > *prev, || {
                                format!("connection {c}: APPENDUID {u} after {prev}")
                            });
                        }
                        uids.push(uid);
                        bytes += m.len() as u64;
                        checks.check(true, String::new);
                    }
                    Err(e) => {
                        checks.fail(format!("connection {c}: APPEND {k}: {e:#}"));
                        failed = true;
                        break;
                    }
                }
                last = Some(Instant::now());
            }
            appended.wait().await;
            if failed {
                return (checks, latencies, bytes, None);
            }
            if let Err(e) = verify(&ctx, &mut w, &uids, c, &mut checks).await {
                checks.fail(format!("connection {c}: verifying: {e:#}"));
            }
            (checks, latencies, bytes, last)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut checks = Checks::default();
    let mut latencies = Vec::new();
    let mut bytes = 0;
    let mut end = started;
    for t in tasks {
        let (c, mut l, b, last) = t.await?;
        checks.merge(c);
        latencies.append(&mut l);
        bytes += b;
        if let Some(last) = last {
            end = end.max(last);
        }
    }
    let elapsed = end
        .saturating_duration_since(started)
        .max(Duration::from_micros(1));
    let count = latencies.len() as u64;
    out.put("connections", json!(opts.connections));
    out.put("messages_per_connection", json!(opts.messages));
    out.show("appended", "messages appended", json!(count));
    out.show(
        "megabytes",
        "MB appended",
        json!((bytes as f64 / 1e4).round() / 100.0),
    );
    out.show("elapsed_s", "elapsed s", json!(elapsed.as_secs_f64()));
    out.show("messages_per_s", "messages/s", rate(count, elapsed));
    out.show(
        "mb_per_s",
        "MB/s",
        json!((bytes as f64 / 1e6 / elapsed.as_secs_f64() * 100.0).round() / 100.0),
    );
    out.show(
        "p50_ms",
        "APPEND p50 ms",
        quantile(&mut latencies, 500).map_or(json!(null), ms),
    );
    out.show(
        "p99_ms",
        "APPEND p99 ms",
        quantile(&mut latencies, 990).map_or(json!(null), ms),
    );
    out.checks = checks;
    Ok(out)
}
