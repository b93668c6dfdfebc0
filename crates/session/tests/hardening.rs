//! The session's side of the hardening: the brute-force defence's delays and bans on LOGIN
//! and AUTHENTICATE, the `[LIMIT]` on too many sessions of one account from one address, and
//! the BYE after a run of BAD commands. Delays are observed on tokio's paused clock (the
//! guard's own clock is a `ManualClock` where expiry matters).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use portcullis_auth::{
    Clock, ConnectionCaps, GuardConfig, ManualClock, Refusal, SystemClock, ThrottleConfig,
};
use portcullis_session::{Next, SessionConfig};
use portcullis_store::{Store, ThrottleKey};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::{Client, Server};
use tokio::time::Instant;

const BANNED: &str = "Too many failed logins from your address, try again later";

async fn server(config: GuardConfig) -> (Server, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    ));
    let server = Server::with_guard_config(config, clock.clone() as Arc<dyn Clock>).await;
    (server, clock)
}

async fn connect(server: &Server, peer: &str) -> Client {
    let mut client = server.client_at(peer, true);
    client.greeting().await;
    client
}

/// Sends one command; returns the output and how long (on tokio's clock) the answer took.
async fn timed(client: &mut Client, input: &str) -> (String, Duration) {
    let started = Instant::now();
    let out = client.send(format!("{input}\r\n").as_bytes()).await;
    (out, started.elapsed())
}

fn millis(delays: &[Duration]) -> Vec<u128> {
    delays.iter().map(Duration::as_millis).collect()
}

#[tokio::test(start_paused = true)]
async fn unknown_users_and_wrong_passwords_wait_the_same_growing_delay() {
    let mut waits = Vec::new();
    for user in ["alice", "nobody"] {
        let (server, _) = server(GuardConfig::default()).await;
        let mut client = connect(&server, "192.0.2.10:5000").await;
        let mut delays = Vec::new();
        for n in 1..=7 {
            let (out, took) = timed(&mut client, &format!("a{n} LOGIN {user} wrong")).await;
            assert_eq!(
                out,
                format!("a{n} NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
            );
            delays.push(took);
        }
        waits.push(millis(&delays));
    }
    assert_eq!(waits[0], [0, 0, 500, 1000, 2000, 4000, 5000]);
    assert_eq!(waits[0], waits[1], "an unknown user waits like a known one");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_address_waits_before_a_correct_password_too() {
    let (server, _) = server(GuardConfig::default()).await;
    let mut client = connect(&server, "192.0.2.10:5000").await;
    for n in 1..=3 {
        client
            .send(format!("a{n} LOGIN alice wrong\r\n").as_bytes())
            .await;
    }
    let (out, took) = timed(&mut client, "b LOGIN alice secret").await;
    assert!(out.starts_with("b OK [CAPABILITY"), "{out}");
    assert_eq!(took, Duration::from_millis(1000));
    // The success reset the address's count: another name from it is not delayed.
    let mut other = connect(&server, "192.0.2.10:5001").await;
    let (_, took) = timed(&mut other, "c LOGIN bob secret").await;
    assert_eq!(took, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn authenticate_plain_is_throttled_like_login() {
    let (server, _) = server(GuardConfig::default()).await;
    let mut client = connect(&server, "192.0.2.10:5000").await;
    // "\0alice\0wrong"
    let mut delays = Vec::new();
    for n in 1..=4 {
        let (out, took) = timed(
            &mut client,
            &format!("a{n} AUTHENTICATE PLAIN AGFsaWNlAHdyb25n"),
        )
        .await;
        assert!(
            out.starts_with(&format!("a{n} NO [AUTHENTICATIONFAILED]")),
            "{out}"
        );
        delays.push(took);
    }
    assert_eq!(millis(&delays), [0, 0, 500, 1000]);
}

#[tokio::test(start_paused = true)]
async fn the_ban_threshold_ends_the_connection_and_refuses_the_address() {
    let (server, _) = server(GuardConfig::default()).await;
    let mut attacker = connect(&server, "192.0.2.10:5000").await;
    for n in 1..=9 {
        let out = attacker
            .send(format!("a{n} LOGIN root x{n}\r\n").as_bytes())
            .await;
        assert!(out.starts_with(&format!("a{n} NO [AUTHENTICATIONFAILED]")));
    }
    let out = attacker.send(b"a10 LOGIN root x10\r\n").await;
    assert_eq!(
        out,
        format!(
            "a10 NO [AUTHENTICATIONFAILED] Authentication failed\r\n* BYE [UNAVAILABLE] {BANNED}\r\n"
        )
    );
    assert_eq!(attacker.next, Next::Close);

    // The ban is in the store before the answer went out.
    let records = server.store.throttle_records().await.unwrap();
    let ban = records
        .iter()
        .find(|r| r.key == ThrottleKey::Ip("192.0.2.10".parse().unwrap()))
        .expect("the address's record");
    assert!(ban.banned_until.is_some() && ban.bans == 1, "{ban:?}");

    // Another connection that was already open: refused without a password check.
    let mut open = connect(&server, "192.0.2.10:5001").await;
    let (out, took) = timed(&mut open, "b LOGIN alice secret").await;
    assert_eq!(
        out,
        format!("b NO [UNAVAILABLE] {BANNED}\r\n* BYE [UNAVAILABLE] {BANNED}\r\n")
    );
    assert_eq!(took, Duration::ZERO);
    assert!(matches!(
        server.ctx.guard.admit("192.0.2.10".parse().unwrap()),
        Err(Refusal::Banned(_))
    ));

    // Its neighbour in the /24 and an address elsewhere log in normally.
    for peer in ["192.0.2.11:6000", "198.51.100.1:6000"] {
        let mut neighbour = connect(&server, peer).await;
        let (out, took) = timed(&mut neighbour, "c LOGIN alice secret").await;
        assert!(out.starts_with("c OK [CAPABILITY"), "{peer}: {out}");
        assert_eq!(took, Duration::ZERO, "{peer}");
    }
}

/// Three failures from 203.0.113.5 (the threshold of the test's configuration); returns the
/// length of the ban they started.
async fn ban_once(server: &Server) -> Duration {
    let mut client = connect(server, "203.0.113.5:7000").await;
    for n in 1..=3 {
        client
            .send(format!("a{n} LOGIN root x\r\n").as_bytes())
            .await;
    }
    assert_eq!(client.next, Next::Close);
    match server.ctx.guard.admit("203.0.113.5".parse().unwrap()) {
        Err(Refusal::Banned(ban)) => ban.duration,
        other => panic!("not banned: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_ban_ends_with_its_duration_and_the_next_one_is_twice_as_long() {
    let config = GuardConfig {
        throttle: ThrottleConfig {
            ip_ban_failures: 3,
            ban: Duration::from_secs(60),
            ..ThrottleConfig::default()
        },
        ..GuardConfig::default()
    };
    let (server, clock) = server(config).await;
    assert_eq!(ban_once(&server).await, Duration::from_secs(60));
    clock.advance(Duration::from_secs(59));
    assert!(
        server
            .ctx
            .guard
            .admit("203.0.113.5".parse().unwrap())
            .is_err()
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        server.ctx.guard.expire(),
        vec![ThrottleKey::Ip("203.0.113.5".parse().unwrap())]
    );
    let mut back = connect(&server, "203.0.113.5:7001").await;
    let out = back.send(b"b LOGIN alice secret\r\n").await;
    assert!(out.starts_with("b OK [CAPABILITY"), "{out}");
    drop(back);
    assert_eq!(
        ban_once(&server).await,
        Duration::from_secs(120),
        "a repeat"
    );
}

#[tokio::test(start_paused = true)]
async fn failures_against_one_account_from_everywhere_delay_it_but_never_lock_it_out() {
    let (server, _) = server(GuardConfig::default()).await;
    for n in 1..=40 {
        let mut attacker = connect(&server, &format!("10.{n}.0.1:4000")).await;
        let out = attacker.send(b"a LOGIN alice guess\r\n").await;
        assert!(out.starts_with("a NO [AUTHENTICATIONFAILED]"), "{out}");
    }
    let mut alice = connect(&server, "192.0.2.50:5000").await;
    let (out, took) = timed(&mut alice, "b LOGIN alice secret").await;
    assert!(out.starts_with("b OK [CAPABILITY"), "{out}");
    assert_eq!(took, Duration::from_secs(5), "delayed, at most the cap");
}

#[tokio::test(start_paused = true)]
async fn trusted_networks_are_never_delayed_or_banned() {
    let config = GuardConfig {
        throttle: ThrottleConfig {
            trusted: vec!["127.0.0.0/8".parse().unwrap()],
            ..ThrottleConfig::default()
        },
        ..GuardConfig::default()
    };
    let (server, _) = server(config).await;
    let mut webmail = connect(&server, "127.0.0.1:9000").await;
    for n in 1..=30 {
        let (out, took) = timed(&mut webmail, &format!("a{n} LOGIN alice wrong")).await;
        assert_eq!(
            out,
            format!("a{n} NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
        );
        assert_eq!(took, Duration::ZERO);
    }
    let (out, _) = timed(&mut webmail, "b LOGIN alice secret").await;
    assert!(out.starts_with("b OK"), "{out}");
}

#[tokio::test]
async fn too_many_sessions_of_one_account_from_one_address_get_limit_not_authenticationfailed() {
    let config = GuardConfig {
        connections: ConnectionCaps {
            per_user_ip: 2,
            ..ConnectionCaps::default()
        },
        ..GuardConfig::default()
    };
    let server = Server::with_guard_config(config, Arc::new(SystemClock)).await;
    let mut first = connect(&server, "192.0.2.1:1").await;
    let mut second = connect(&server, "192.0.2.1:2").await;
    let mut third = connect(&server, "192.0.2.1:3").await;
    for client in [&mut first, &mut second] {
        let out = client.send(b"a LOGIN alice secret\r\n").await;
        assert!(out.starts_with("a OK"), "{out}");
    }
    let out = third.send(b"a LOGIN alice secret\r\n").await;
    assert_eq!(
        out,
        "a NO [LIMIT] Too many sessions of this account from your address\r\n"
    );
    assert_eq!(third.next, Next::Command, "the connection stays usable");
    // Another account and another address are not affected.
    let out = third.send(b"b LOGIN bob secret\r\n").await;
    assert!(out.starts_with("b OK"), "{out}");
    let mut elsewhere = connect(&server, "192.0.2.2:1").await;
    assert!(
        elsewhere
            .send(b"a LOGIN alice secret\r\n")
            .await
            .starts_with("a OK")
    );
    // A session that ends frees its place.
    drop(first);
    let mut fourth = connect(&server, "192.0.2.1:4").await;
    assert!(
        fourth
            .send(b"a LOGIN alice secret\r\n")
            .await
            .starts_with("a OK")
    );
}

async fn bad_commands_server(max: u32) -> Server {
    Server::with_config(SessionConfig {
        max_bad_commands: max,
        ..SessionConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_run_of_bad_commands_ends_with_bye() {
    let server = bad_commands_server(3).await;
    let mut client = connect(&server, "192.0.2.1:1").await;
    assert_eq!(
        client.send(b"a FROBNICATE\r\nb SELECT INBOX\r\n").await,
        "a BAD Unknown command FROBNICATE\r\nb BAD Not authenticated: LOGIN or AUTHENTICATE first\r\n"
            .replace("Unknown command FROBNICATE", &unknown_text(&server).await)
    );
    let out = client.send(b"\r\n").await;
    assert!(
        out.ends_with("* BYE Too many invalid commands\r\n"),
        "{out}"
    );
    assert_eq!(client.next, Next::Close);
}

/// What the parser says to `a FROBNICATE` (the exact text is the parser's business).
async fn unknown_text(server: &Server) -> String {
    let mut probe = server.client_at("192.0.2.99:1", true);
    let out = probe.send(b"a FROBNICATE\r\n").await;
    out.trim_end()
        .strip_prefix("a BAD ")
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_answer_other_than_bad_starts_the_count_again() {
    let server = bad_commands_server(3).await;
    let mut client = connect(&server, "192.0.2.1:1").await;
    for round in 0..5 {
        let out = client.send(b"a FROBNICATE\r\nb FROBNICATE\r\n").await;
        assert!(!out.contains("BYE"), "round {round}: {out}");
        let out = client.send(b"c LOGIN alice wrong\r\n").await;
        assert!(out.starts_with("c NO"), "{out}");
    }
    let out = client
        .send(b"d NOOP\r\ne FROBNICATE\r\nf FROBNICATE\r\ng FROBNICATE\r\n")
        .await;
    assert!(out.starts_with("d OK"), "{out}");
    assert!(
        out.ends_with("* BYE Too many invalid commands\r\n"),
        "{out}"
    );
}
