//! `mixed C`: an imaptest-like mix. C clients, each on a mailbox of its own (created with
//! 10 messages before timing), repeat for a fixed time:
//!
//! ```text
//! connect (TLS) · LOGIN · LIST "" "*"
//!   then R rounds of: STATUS (MESSAGES UIDNEXT) · SELECT · FETCH 1:* (UID FLAGS)
//!                     · UID FETCH <random> BODY.PEEK[] · STORE <random> ±FLAGS (\Seen)
//!                     · APPEND · (over 15 messages: STORE 1:5 +FLAGS.SILENT (\Deleted)
//!                     · EXPUNGE)
//! LOGOUT
//! ```
//!
//! Every answer is checked against what the client knows of its mailbox (counts, UIDs,
//! bodies, flags, APPENDUID, the number of EXPUNGE responses). Figures: commands/s (every
//! command counts, LOGIN and LOGOUT included; connect and TLS are not commands but are
//! inside the timed loop) and errors (failed commands and wrong answers; after one the
//! client reconnects). Mailboxes are deleted at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;
use tokio::sync::Barrier;

use super::append::appenduid;
use super::{Checks, Ctx, Outcome, ms, quantile, rate};
use crate::client::{Conn, Reply, quote};
use crate::message::{self, Rng};
use crate::response::Value;

/// Options of `mixed`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) clients: u64,
    pub(crate) duration: Duration,
    pub(crate) rounds: u32,
}

const SEED_MESSAGES: u64 = 10;
const MAX_MESSAGES: usize = 15;
const EXPUNGE_COUNT: usize = 5;

/// One client's knowledge of its mailbox: UID → generator index, in UID order.
struct Client {
    c: u64,
    mailbox: String,
    messages: BTreeMap<u32, u64>,
    next_index: u64,
    rng: Rng,
    commands: u64,
    latencies: Vec<Duration>,
}

impl Client {
    fn index(&mut self) -> u64 {
        self.next_index += 1;
        2_000_000_000 + self.c * 10_000_000 + self.next_index
    }

    async fn cmd(&mut self, conn: &mut Conn, command: &str) -> Result<Reply> {
        let t = Instant::now();
        let r = conn.run(command).await;
        self.latencies.push(t.elapsed());
        self.commands += 1;
        r?.ok()
    }

    async fn append(&mut self, conn: &mut Conn, ctx: &Ctx, timed: bool) -> Result<()> {
        let index = self.index();
        let m = message::generate(ctx.seed, index).bytes;
        let t = Instant::now();
        let r = conn.append(&self.mailbox, &[&m]).await;
        if timed {
            self.latencies.push(t.elapsed());
            self.commands += 1;
        }
        let reply = r?.ok()?;
        let uid = match appenduid(&reply) {
            Some(u) => u,
            None => bail!("APPEND without APPENDUID"),
        };
        if let Some((&last, _)) = self.messages.last_key_value()
            && uid <= last
        {
            bail!("APPENDUID {uid} not above {last}");
        }
        self.messages.insert(uid, index);
        Ok(())
    }

    /// One session; returns on the first error (the caller counts it and reconnects).
    async fn session(
        &mut self,
        ctx: &Ctx,
        rounds: u32,
        deadline: Instant,
        checks: &mut Checks,
    ) -> Result<()> {
        let mut conn = Conn::connect(&ctx.target).await?;
        let t = Instant::now();
        let login = conn
            .login(&ctx.users.name(self.c), &ctx.users.password)
            .await;
        self.latencies.push(t.elapsed());
        self.commands += 1;
        login?;
        let list = self.cmd(&mut conn, "LIST \"\" \"*\"").await?;
        let mine = list
            .untagged
            .iter()
            .any(|r| r.first_line().contains(&self.mailbox));
        if !checks.check(mine, || {
            format!("client {}: LIST without {}", self.c, self.mailbox)
        }) {
            bail!("wrong LIST");
        }
        for _ in 0..rounds {
            if Instant::now() >= deadline {
                break;
            }
            self.round(ctx, &mut conn, checks).await?;
        }
        let t = Instant::now();
        let r = conn.logout().await;
        self.latencies.push(t.elapsed());
        self.commands += 1;
        r
    }

    async fn round(&mut self, ctx: &Ctx, conn: &mut Conn, checks: &mut Checks) -> Result<()> {
        let c = self.c;
        let count = self.messages.len();
        let quoted = quote(&self.mailbox);
        let status = self
            .cmd(conn, &format!("STATUS {quoted} (MESSAGES UIDNEXT)"))
            .await?;
        let line = status
            .untagged
            .iter()
            .map(|r| r.first_line().to_ascii_uppercase())
            .find(|l| l.starts_with("* STATUS"));
        let messages = line.as_deref().and_then(|l| {
            let at = l.find("MESSAGES ")? + 9;
            l.get(at..)?
                .split(|ch: char| !ch.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        });
        if !checks.check(messages == Some(count), || {
            format!("client {c}: STATUS MESSAGES {messages:?}, expected {count}")
        }) {
            bail!("wrong STATUS");
        }
        let select = self.cmd(conn, &format!("SELECT {quoted}")).await?;
        if !checks.check(select.exists() == u32::try_from(count).ok(), || {
            format!(
                "client {c}: SELECT EXISTS {:?}, expected {count}",
                select.exists()
            )
        }) {
            bail!("wrong SELECT");
        }
        let fetch = self.cmd(conn, "FETCH 1:* (UID FLAGS)").await?;
        let mut uids = Vec::new();
        let mut seen = Vec::new();
        for r in &fetch.untagged {
            let Some((_, pairs)) = r.fetch() else {
                continue;
            };
            let uid = pairs
                .iter()
                .find(|(k, _)| k == b"UID")
                .and_then(|(_, v)| v.number());
            uids.push(uid.and_then(|u| u32::try_from(u).ok()).unwrap_or(0));
            seen.push(pairs.iter().any(|(k, v)| k == b"FLAGS" && has_seen(v)));
        }
        let known: Vec<u32> = self.messages.keys().copied().collect();
        if !checks.check(uids == known, || {
            format!("client {c}: FETCH UIDs {uids:?}, expected {known:?}")
        }) {
            bail!("wrong FETCH");
        }
        if let Some(&uid) = known.get(self.rng.index(known.len().max(1))) {
            let reply = self
                .cmd(conn, &format!("UID FETCH {uid} BODY.PEEK[]"))
                .await?;
            let body = reply.body();
            let expect = self
                .messages
                .get(&uid)
                .map(|&i| message::generate(ctx.seed, i).bytes);
            if !checks.check(body.is_some() && body == expect, || {
                format!("client {c}: UID {uid} body differs")
            }) {
                bail!("wrong body");
            }
        }
        if count > 0 {
            // Toggle \Seen on a random message, so the flags always change and the server
            // reports them.
            let k = self.rng.index(count);
            let was_seen = seen.get(k).copied().unwrap_or(false);
            let seq = k + 1;
            let sign = if was_seen { '-' } else { '+' };
            let reply = self
                .cmd(conn, &format!("STORE {seq} {sign}FLAGS (\\Seen)"))
                .await?;
            let now_seen = reply.untagged.iter().find_map(|r| {
                let (s, pairs) = r.fetch()?;
                if s as usize != seq {
                    return None;
                }
                pairs
                    .iter()
                    .find(|(k, _)| k == b"FLAGS")
                    .map(|(_, v)| has_seen(v))
            });
            if !checks.check(now_seen == Some(!was_seen), || {
                format!(
                    "client {c}: STORE {seq} {sign}FLAGS (\\Seen) answered \\Seen = {now_seen:?}"
                )
            }) {
                bail!("wrong STORE");
            }
        }
        self.append(conn, ctx, true).await?;
        checks.check(true, String::new);
        if self.messages.len() > MAX_MESSAGES {
            self.cmd(
                conn,
                &format!("STORE 1:{EXPUNGE_COUNT} +FLAGS.SILENT (\\Deleted)"),
            )
            .await?;
            let expunge = self.cmd(conn, "EXPUNGE").await?;
            let n = expunge.count("EXPUNGE");
            if !checks.check(n == EXPUNGE_COUNT, || {
                format!("client {c}: EXPUNGE gave {n} responses, expected {EXPUNGE_COUNT}")
            }) {
                bail!("wrong EXPUNGE");
            }
            let gone: Vec<u32> = self.messages.keys().take(EXPUNGE_COUNT).copied().collect();
            for uid in gone {
                self.messages.remove(&uid);
            }
        }
        Ok(())
    }
}

fn has_seen(flags: &Value<'_>) -> bool {
    matches!(flags, Value::List(l) if l.iter().any(|f| matches!(f, Value::Atom(a) if a.eq_ignore_ascii_case(b"\\Seen"))))
}

async fn setup(ctx: &Ctx, client: &mut Client) -> Result<()> {
    let mut conn = Conn::connect(&ctx.target).await?;
    conn.login(&ctx.users.name(client.c), &ctx.users.password)
        .await?;
    let _ = conn
        .run(&format!("DELETE {}", quote(&client.mailbox)))
        .await?;
    conn.run(&format!("CREATE {}", quote(&client.mailbox)))
        .await?
        .ok()?;
    for _ in 0..SEED_MESSAGES {
        client.append(&mut conn, ctx, false).await?;
    }
    conn.logout().await
}

async fn cleanup(ctx: &Ctx, client: &Client) -> Result<()> {
    let mut conn = Conn::connect(&ctx.target).await?;
    conn.login(&ctx.users.name(client.c), &ctx.users.password)
        .await?;
    conn.run(&format!("DELETE {}", quote(&client.mailbox)))
        .await?
        .ok()?;
    conn.logout().await
}

/// Rebuilds the client's view from the server after an error (UIDs only; the generator
/// index of a message whose APPEND answer was lost is unknown, so it is expunged).
async fn resync(ctx: &Ctx, client: &mut Client) -> Result<()> {
    let mut conn = Conn::connect(&ctx.target).await?;
    conn.login(&ctx.users.name(client.c), &ctx.users.password)
        .await?;
    conn.run(&format!("SELECT {}", quote(&client.mailbox)))
        .await?
        .ok()?;
    let search = conn.run("UID SEARCH ALL").await?.ok()?;
    let on_server = search.search().unwrap_or_default();
    let unknown: Vec<String> = on_server
        .iter()
        .filter(|u| !client.messages.contains_key(u))
        .map(u32::to_string)
        .collect();
    if !unknown.is_empty() {
        conn.run(&format!(
            "UID STORE {} +FLAGS.SILENT (\\Deleted)",
            unknown.join(",")
        ))
        .await?
        .ok()?;
        conn.run("EXPUNGE").await?.ok()?;
    }
    client.messages.retain(|u, _| on_server.contains(u));
    conn.logout().await
}

pub(crate) async fn run(ctx: Arc<Ctx>, opts: Options) -> Result<Outcome> {
    let mut out = Outcome::default();
    let clients = opts.clients.max(1);
    let barrier = Arc::new(Barrier::new(usize::try_from(clients).unwrap_or(1) + 1));
    let deadline_cell = Arc::new(tokio::sync::OnceCell::new());
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (ctx, barrier, opts, deadline_cell) = (
            ctx.clone(),
            barrier.clone(),
            opts.clone(),
            deadline_cell.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut checks = Checks::default();
            let mut client = Client {
                c,
                mailbox: format!("bench-mixed-{c}"),
                messages: BTreeMap::new(),
                next_index: 0,
                rng: Rng::new(ctx.seed ^ (c + 1).wrapping_mul(0x9E37)),
                commands: 0,
                latencies: Vec::new(),
            };
            let ready = setup(&ctx, &mut client).await;
            barrier.wait().await;
            if let Err(e) = ready {
                checks.fail(format!("client {c}: setup: {e:#}"));
                return (checks, 0, 0, Vec::new());
            }
            let deadline: Instant = deadline_cell.get().copied().unwrap_or_else(Instant::now);
            let mut sessions = 0u64;
            let mut errors = 0u64;
            while Instant::now() < deadline {
                match client
                    .session(&ctx, opts.rounds, deadline, &mut checks)
                    .await
                {
                    Ok(()) => sessions += 1,
                    Err(e) => {
                        errors += 1;
                        if checks.failed() < errors {
                            checks.fail(format!("client {c}: {e:#}"));
                        }
                        if let Err(e) = resync(&ctx, &mut client).await {
                            checks.fail(format!("client {c}: resync: {e:#}"));
                            break;
                        }
                    }
                }
            }
            if let Err(e) = cleanup(&ctx, &client).await {
                checks.fail(format!("client {c}: cleanup: {e:#}"));
            }
            let commands = client.commands;
            (checks, commands, sessions, client.latencies)
        }));
    }
    let _ = deadline_cell.set(Instant::now() + opts.duration);
    barrier.wait().await;
    let started = Instant::now();
    let cpu_before = ctx.server.cpu();
    let mut checks = Checks::default();
    let mut commands = 0;
    let mut sessions = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (c, n, s, mut l) = t.await?;
        checks.merge(c);
        commands += n;
        sessions += s;
        latencies.append(&mut l);
    }
    // Clients stop at the deadline (finishing their command): the run lasts until then.
    let elapsed = opts.duration.min(started.elapsed());
    let server_cpu = ctx
        .server
        .cpu()
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    out.put("clients", json!(clients));
    out.put("rounds_per_login", json!(opts.rounds));
    out.show("commands", "commands", json!(commands));
    out.show("commands_per_s", "commands/s", rate(commands, elapsed));
    out.show("sessions", "sessions (login..logout)", json!(sessions));
    out.show("errors", "errors", json!(checks.failed()));
    out.show(
        "p50_ms",
        "command p50 ms",
        quantile(&mut latencies, 500).map_or(json!(null), ms),
    );
    out.show(
        "p99_ms",
        "command p99 ms",
        quantile(&mut latencies, 990).map_or(json!(null), ms),
    );
    if let Some(cpu) = server_cpu {
        out.put("server_cpu_s", json!(cpu.as_secs_f64()));
    }
    out.checks = checks;
    Ok(out)
}
