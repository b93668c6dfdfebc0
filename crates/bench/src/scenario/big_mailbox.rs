//! `big-mailbox N`: one mailbox of N generated messages (message k, 1-based, is
//! `generate(seed, k)`), prepared once, then timed operations on it.
//!
//! Prepare (skipped when the mailbox already holds N messages, or with `--skip-prepare`):
//! DELETE, CREATE, then APPEND in batches — MULTIAPPEND when the server offers it, LITERAL+
//! when offered — with several commands in flight. Each operation below is timed from
//! sending the command to its tagged OK, responses read in full; checking happens after the
//! clock stops:
//!
//! * cold (only with `--restart-cmd`, which restarts the server and may drop caches):
//!   the first SELECT, then the first `UID SEARCH BODY`, on a new connection;
//! * `SELECT` warm: the median of 5 after one untimed SELECT — EXISTS must be N;
//! * `FETCH 1:* (UID FLAGS)` — N answers, ascending UIDs (which name the messages from here
//!   on);
//! * `FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)` — N answers with all four
//!   items, every size equal to the generated message's, every envelope subject holding the
//!   subject marker exactly when the generator put it there;
//! * `UID SEARCH SUBJECT` and `UID SEARCH BODY` (warm) — exactly the known UIDs;
//! * 100 random `UID FETCH uid BODY.PEEK[]`, one after the other (the sum of their times),
//!   each body byte-identical to the generated message: cold (with `--restart-cmd`, after
//!   a second restart and an untimed SELECT on a new connection, so no server answers from
//!   a page cache its `SEARCH BODY` filled), then the same UIDs again (warm).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};

use super::{Checks, Ctx, Outcome, ms, quantile, rate};
use crate::client::{Conn, Reply, quote};
use crate::message::{self, BODY_MARKER, Rng, SUBJECT_MARKER};
use crate::response::Value;

/// Options of `big-mailbox`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) messages: u64,
    pub(crate) mailbox: Option<String>,
    pub(crate) prepare_only: bool,
    pub(crate) skip_prepare: bool,
    pub(crate) restart_cmd: Option<String>,
    pub(crate) random_fetches: u64,
}

/// Messages per MULTIAPPEND and bytes per MULTIAPPEND (whichever comes first).
const BATCH_MESSAGES: usize = 200;
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// APPEND commands in flight while preparing.
const WINDOW: usize = 4;
/// Operations on N messages may take long: per-response timeout while they run.
const LONG: Duration = Duration::from_secs(1800);

fn mailbox_name(opts: &Options) -> String {
    opts.mailbox.clone().unwrap_or_else(|| {
        format!(
            "bench-big-{}-g{}",
            opts.messages,
            message::GENERATOR_VERSION
        )
    })
}

async fn login(ctx: &Ctx) -> Result<Conn> {
    let mut conn = Conn::connect(&ctx.target).await?;
    conn.login(&ctx.users.name(0), &ctx.users.password).await?;
    conn.set_timeout(LONG.max(ctx.target.timeout));
    Ok(conn)
}

fn status_messages(reply: &Reply) -> Option<u64> {
    reply.untagged.iter().find_map(|r| {
        let line = r.first_line();
        let upper = line.to_ascii_uppercase();
        let at = upper.find("MESSAGES ")? + "MESSAGES ".len();
        upper
            .get(at..)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

/// Prepares the mailbox; returns (messages appended, seconds) or None when it was ready.
async fn prepare(
    ctx: &Ctx,
    opts: &Options,
    checks: &mut Checks,
) -> Result<Option<(u64, Duration)>> {
    let mailbox = mailbox_name(opts);
    let mut conn = login(ctx).await?;
    let status = conn
        .run(&format!("STATUS {} (MESSAGES)", quote(&mailbox)))
        .await?;
    if status_messages(&status) == Some(opts.messages) {
        conn.logout().await?;
        return Ok(None);
    }
    let _ = conn.run(&format!("DELETE {}", quote(&mailbox))).await?;
    conn.run(&format!("CREATE {}", quote(&mailbox)))
        .await?
        .ok()?;
    let multi = conn.has("MULTIAPPEND");
    let started = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    let mut next = 1u64;
    let mut appended = 0u64;
    while next <= opts.messages || !pending.is_empty() {
        if next <= opts.messages && pending.len() < WINDOW {
            let mut batch = Vec::new();
            let mut bytes = 0;
            while next <= opts.messages
                && batch.len() < if multi { BATCH_MESSAGES } else { 1 }
                && bytes < BATCH_BYTES
            {
                let m = message::generate(ctx.seed, next).bytes;
                bytes += m.len();
                batch.push(m);
                next += 1;
            }
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            let tag = conn.send_append(&mailbox, &refs).await?;
            pending.push_back((tag, batch.len() as u64));
            continue;
        }
        let Some((tag, count)) = pending.pop_front() else {
            break;
        };
        conn.complete(&tag)
            .await?
            .ok()
            .context("APPEND while preparing")?;
        appended += count;
    }
    let elapsed = started.elapsed();
    let status = conn
        .run(&format!("STATUS {} (MESSAGES)", quote(&mailbox)))
        .await?
        .ok()?;
    checks.check(status_messages(&status) == Some(opts.messages), || {
        format!(
            "after preparing, STATUS MESSAGES {:?}, appended {}",
            status_messages(&status),
            opts.messages
        )
    });
    conn.logout().await?;
    Ok(Some((appended, elapsed)))
}

async fn timed(conn: &mut Conn, command: &str) -> Result<(Duration, Reply)> {
    let t = Instant::now();
    let reply = conn.run(command).await?;
    let elapsed = t.elapsed();
    Ok((elapsed, reply.ok().with_context(|| command.to_owned())?))
}

/// `UID FETCH uid BODY.PEEK[]` of message `k + 1` for each `k` in `picks`, one after the
/// other, each body checked against the generated message; the time of each.
async fn fetch_bodies(
    conn: &mut Conn,
    ctx: &Ctx,
    uids: &[u32],
    picks: &[usize],
    checks: &mut Checks,
) -> Result<Vec<Duration>> {
    let mut each = Vec::with_capacity(picks.len());
    for &k in picks {
        let Some(&uid) = uids.get(k) else { break };
        let (t, reply) = timed(conn, &format!("UID FETCH {uid} BODY.PEEK[]")).await?;
        each.push(t);
        let body = reply.body();
        let expect = message::generate(ctx.seed, k as u64 + 1).bytes;
        checks.check(body.as_deref() == Some(expect.as_slice()), || {
            format!(
                "UID FETCH {uid} BODY.PEEK[]: body differs from message {}",
                k + 1
            )
        });
    }
    Ok(each)
}

fn expected(uids: &[u32], pick: impl Fn(u64) -> bool) -> BTreeSet<u32> {
    uids.iter()
        .enumerate()
        .filter(|(k, _)| pick(*k as u64 + 1))
        .map(|(_, &u)| u)
        .collect()
}

fn check_search(checks: &mut Checks, what: &str, reply: &Reply, want: &BTreeSet<u32>) {
    let got: Option<BTreeSet<u32>> = reply.search().map(|v| v.into_iter().collect());
    checks.check(got.as_ref() == Some(want), || {
        let got_len = got.as_ref().map(BTreeSet::len);
        format!("{what}: {got_len:?} results, expected {}", want.len())
    });
}

fn restart(cmd: &str) -> Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("restart command {cmd:?} failed: {status}");
    }
    Ok(())
}

pub(crate) async fn run(ctx: Arc<Ctx>, opts: Options) -> Result<Outcome> {
    let mut out = Outcome::default();
    let mut checks = Checks::default();
    let mailbox = mailbox_name(&opts);
    let n = opts.messages;
    out.put("messages", json!(n));
    out.put("mailbox", json!(mailbox));
    if !opts.skip_prepare {
        match prepare(&ctx, &opts, &mut checks).await? {
            Some((count, took)) => {
                out.show("prepare_s", "prepare s", json!(took.as_secs_f64()));
                out.put("prepare_messages_per_s", rate(count, took));
            }
            None => out.put("prepare", json!("already prepared")),
        }
    }
    if opts.prepare_only {
        out.checks = checks;
        return Ok(out);
    }
    let select = format!("SELECT {}", quote(&mailbox));
    let body_search = format!("UID SEARCH BODY {BODY_MARKER}");
    let mut body_cold = None;

    if let Some(cmd) = &opts.restart_cmd {
        let cmd = cmd.clone();
        tokio::task::spawn_blocking(move || restart(&cmd)).await??;
        let mut conn = login(&ctx).await?;
        let (t, reply) = timed(&mut conn, &select).await?;
        checks.check(reply.exists() == u32::try_from(n).ok(), || {
            format!("cold SELECT: EXISTS {:?}, expected {n}", reply.exists())
        });
        out.show("select_cold_ms", "SELECT cold ms", ms(t));
        let (t, reply) = timed(&mut conn, &body_search).await?;
        out.show("search_body_cold_ms", "UID SEARCH BODY cold ms", ms(t));
        body_cold = Some(reply);
        conn.logout().await?;
    }

    let mut conn = login(&ctx).await?;
    let (_, first) = timed(&mut conn, &select).await?;
    checks.check(first.exists() == u32::try_from(n).ok(), || {
        format!("SELECT: EXISTS {:?}, expected {n}", first.exists())
    });
    let mut selects = Vec::new();
    for _ in 0..5 {
        let (t, reply) = timed(&mut conn, &select).await?;
        checks.check(reply.exists() == u32::try_from(n).ok(), || {
            format!("SELECT: EXISTS {:?}, expected {n}", reply.exists())
        });
        selects.push(t);
    }
    out.show(
        "select_warm_ms",
        "SELECT warm ms (median of 5)",
        quantile(&mut selects, 500).map_or(Json::Null, ms),
    );

    // FETCH 1:* (UID FLAGS): the UIDs name the messages from here on.
    let (t, reply) = timed(&mut conn, "FETCH 1:* (UID FLAGS)").await?;
    out.show("fetch_uid_flags_ms", "FETCH 1:* (UID FLAGS) ms", ms(t));
    let mut uids = Vec::with_capacity(reply.untagged.len());
    let mut flags_ok = true;
    for r in &reply.untagged {
        if let Some((seq, pairs)) = r.fetch() {
            let uid = pairs
                .iter()
                .find(|(k, _)| k == b"UID")
                .and_then(|(_, v)| v.number());
            flags_ok &= pairs
                .iter()
                .any(|(k, v)| k == b"FLAGS" && matches!(v, Value::List(_)));
            flags_ok &= seq as usize == uids.len() + 1;
            uids.push(uid.and_then(|u| u32::try_from(u).ok()).unwrap_or(0));
        }
    }
    checks.check(uids.len() as u64 == n, || {
        format!("FETCH (UID FLAGS): {} answers, expected {n}", uids.len())
    });
    checks.check(flags_ok, || {
        "FETCH (UID FLAGS): missing FLAGS or out-of-order sequence numbers".into()
    });
    checks.check(
        uids.windows(2).all(|w| w[0] < w[1]) && uids.first() != Some(&0),
        || "FETCH (UID FLAGS): UIDs not strictly ascending".into(),
    );
    drop(reply);

    let (t, reply) = timed(
        &mut conn,
        "FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE)",
    )
    .await?;
    out.show(
        "fetch_envelope_ms",
        "FETCH 1:* (ENVELOPE BODYSTRUCTURE ...) ms",
        ms(t),
    );
    let mut answers = 0u64;
    let mut bad = 0u64;
    let mut first_bad = None;
    for r in &reply.untagged {
        let Some((seq, pairs)) = r.fetch() else {
            continue;
        };
        answers += 1;
        let get = |k: &[u8]| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let size = get(b"RFC822.SIZE").and_then(Value::number);
        let expect = message::generate(ctx.seed, u64::from(seq)).bytes.len() as u64;
        let subject = match get(b"ENVELOPE") {
            Some(Value::List(env)) => env.get(1).and_then(Value::bytes).map(<[u8]>::to_vec),
            _ => None,
        };
        let marker = subject
            .as_deref()
            .is_some_and(|s| String::from_utf8_lossy(s).contains(SUBJECT_MARKER));
        let ok = size == Some(expect)
            && matches!(get(b"BODYSTRUCTURE"), Some(Value::List(_)))
            && matches!(get(b"INTERNALDATE"), Some(Value::Str(_)))
            && subject.is_some()
            && marker == message::has_subject_marker(u64::from(seq));
        if !ok {
            bad += 1;
            first_bad.get_or_insert(format!("message {seq}: size {size:?} (expected {expect}), envelope/bodystructure/internaldate as sent: {}", r.first_line().chars().take(200).collect::<String>()));
        }
    }
    checks.check(answers == n, || {
        format!("FETCH (ENVELOPE ...): {answers} answers, expected {n}")
    });
    checks.check(bad == 0, || {
        format!("FETCH (ENVELOPE ...): {bad} wrong answers, first {first_bad:?}")
    });
    drop(reply);

    let want_subject = expected(&uids, message::has_subject_marker);
    let want_body = expected(&uids, message::has_body_marker);
    if let Some(reply) = &body_cold {
        check_search(&mut checks, "cold UID SEARCH BODY", reply, &want_body);
    }
    let (t, reply) = timed(&mut conn, &format!("UID SEARCH SUBJECT {SUBJECT_MARKER}")).await?;
    out.show("search_subject_ms", "UID SEARCH SUBJECT ms", ms(t));
    check_search(&mut checks, "UID SEARCH SUBJECT", &reply, &want_subject);
    out.put("search_subject_results", json!(want_subject.len()));
    let (t, reply) = timed(&mut conn, &body_search).await?;
    out.show("search_body_warm_ms", "UID SEARCH BODY warm ms", ms(t));
    check_search(&mut checks, "UID SEARCH BODY", &reply, &want_body);
    out.put("search_body_results", json!(want_body.len()));

    // Random bodies on a fresh server with the page cache dropped (with --restart-cmd), so
    // that every server reads them from disk: without it, a server whose SEARCH BODY above
    // read every message (no index) would answer from the page cache that search filled,
    // and one with an index from disk. Then the same UIDs again, from the page cache.
    let mut rng = Rng::new(ctx.seed ^ 0xB0D1);
    let picks: Vec<usize> = (0..opts.random_fetches.min(n))
        .map(|_| rng.index(uids.len().max(1)))
        .collect();
    if let Some(cmd) = &opts.restart_cmd {
        conn.logout().await?;
        let cmd = cmd.clone();
        tokio::task::spawn_blocking(move || restart(&cmd)).await??;
        conn = login(&ctx).await?;
        let (_, reply) = timed(&mut conn, &select).await?;
        checks.check(reply.exists() == u32::try_from(n).ok(), || {
            format!(
                "SELECT after the second restart: EXISTS {:?}, expected {n}",
                reply.exists()
            )
        });
    }
    let first = if opts.restart_cmd.is_some() {
        "random bodies cold total ms"
    } else {
        "random bodies total ms"
    };
    for (key, label) in [
        ("random_bodies", first),
        ("random_bodies_again", "same bodies again total ms"),
    ] {
        let mut each = fetch_bodies(&mut conn, &ctx, &uids, &picks, &mut checks).await?;
        let total: Duration = each.iter().sum();
        out.show(&format!("{key}_total_ms"), label, ms(total));
        out.put(
            &format!("{key}_p50_ms"),
            quantile(&mut each, 500).map_or(Json::Null, ms),
        );
    }
    out.put("random_bodies", json!(picks.len()));
    conn.logout().await?;
    out.checks = checks;
    Ok(out)
}
