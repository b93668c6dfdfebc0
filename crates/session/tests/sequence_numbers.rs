//! Message sequence numbers under concurrent change (RFC 9051 7.5.1, 5.2, 7.4.1): "An
//! EXPUNGE response MUST NOT be sent when no command is in progress, nor while responding to
//! a FETCH, STORE, or SEARCH command" — "UID FETCH, UID STORE, and UID SEARCH are different
//! commands ... An EXPUNGE response MAY be sent during a UID command" — and "it is NOT
//! permitted to send an EXISTS response that would reduce the number of messages in the
//! mailbox; only the EXPUNGE response can do this".

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

use std::collections::BTreeSet;

use support::{Client, Server, append, check, second_client};

/// Both clients log in; four messages (UIDs 1..4); both select INBOX.
fn two_sessions_four_messages() -> String {
    format!(
        "C: a0 LOGIN alice secret
         S: a0 OK {{*}}
         C2: b0 LOGIN alice secret
         S2: b0 OK {{*}}
         {}
         S: p1 OK [APPENDUID {{*}} 1:4] APPEND completed
         C: a1 SELECT INBOX
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S: * 4 EXISTS
         S: * 4 RECENT
         S: * OK [UNSEEN 1] Message 1 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 5] Predicted next UID
         S: a1 OK [READ-WRITE] SELECT completed
         C2: b1 SELECT INBOX
         S2: * FLAGS ({{*}})
         S2: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S2: * 4 EXISTS
         S2: * 0 RECENT
         S2: * OK [UNSEEN 1] Message 1 is first unseen
         S2: * OK [UIDVALIDITY {{*}}] UIDs valid
         S2: * OK [UIDNEXT 5] Predicted next UID
         S2: b1 OK [READ-WRITE] SELECT completed",
        append(
            "p1",
            "INBOX",
            &[
                ("", "Subject: 1\n\none"),
                ("", "Subject: 2\n\ntwo"),
                ("", "Subject: 3\n\nthree"),
                ("", "Subject: 4\n\nfour")
            ]
        )
    )
}

/// Session 2 expunges messages 2 and 3 and appends a fifth. Session 1's FETCH, STORE and
/// SEARCH by sequence number keep the old numbering (EXISTS grows to 5, nothing shrinks);
/// its UID FETCH then reports the EXPUNGEs.
#[tokio::test]
async fn rfc9051_7_5_1_no_expunge_during_fetch_store_search() {
    check(&format!(
        "{}
         C2: b2 STORE 2:3 +FLAGS.SILENT (\\Deleted)
         S2: b2 OK STORE completed
         C2: b3 EXPUNGE
         S2: * 2 EXPUNGE
         S2: * 2 EXPUNGE
         S2: b3 OK EXPUNGE completed
         {}
         S2: * 3 EXISTS
         S2: * 1 RECENT
         S2: b4 OK [APPENDUID {{*}} 5] APPEND completed
         C: a2 FETCH 1:4 (UID)
         S: * 1 FETCH (UID 1)
         S: * 2 FETCH (UID 2)
         S: * 3 FETCH (UID 3)
         S: * 4 FETCH (UID 4)
         S: * 5 EXISTS
         S: * 4 RECENT
         S: a2 OK FETCH completed
         C: a3 FETCH 1:* (UID FLAGS)
         S: * 1 FETCH (UID 1 FLAGS (\\Recent))
         S: * 4 FETCH (UID 4 FLAGS (\\Recent))
         S: * 5 FETCH (UID 5 FLAGS ())
         S: a3 OK [EXPUNGEISSUED] Some messages were expunged meanwhile
         C: a4 STORE 1:5 +FLAGS (\\Seen)
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: * 4 FETCH (FLAGS (\\Seen \\Recent))
         S: * 5 FETCH (FLAGS (\\Seen))
         S: a4 OK STORE completed
         C: a5 SEARCH ALL
         S: * SEARCH 1 4 5
         S: a5 OK SEARCH completed
         C: a6 FETCH 5 UID
         S: * 5 FETCH (UID 5)
         S: a6 OK FETCH completed
         C2: b5 NOOP
         S2: * 1 FETCH (UID 1 FLAGS (\\Seen))
         S2: * 2 FETCH (UID 4 FLAGS (\\Seen))
         S2: * 3 FETCH (UID 5 FLAGS (\\Seen \\Recent))
         S2: b5 OK completed
         C: a7 UID FETCH 4:5 (FLAGS)
         S: * 4 FETCH (UID 4 FLAGS (\\Seen \\Recent))
         S: * 5 FETCH (UID 5 FLAGS (\\Seen))
         S: * 2 EXPUNGE
         S: * 2 EXPUNGE
         S: a7 OK UID FETCH completed
         C: a8 FETCH 1:* UID
         S: * 1 FETCH (UID 1)
         S: * 2 FETCH (UID 4)
         S: * 3 FETCH (UID 5)
         S: a8 OK FETCH completed
         C: a9 FETCH 4 UID
         S: a9 BAD Invalid message sequence number",
        two_sessions_four_messages(),
        second_client(&append("b4", "INBOX", &[("", "Subject: 5\n\nfive")])),
    ))
    .await;
}

/// A command runs on the mailbox as the client last heard of it: the first SEARCH after the
/// other session's EXPUNGE still counts messages 1 and 3; its resync learns of the expunges
/// without reporting them, so the second SEARCH leaves them out, keeping their numbers.
/// NOOP, UID STORE and UID SEARCH report the EXPUNGEs, each numbered relative to the previous
/// one. (UID SEARCH, too, answers from the view before its resync: UID 4 is in the result
/// and its EXPUNGE follows.) (RFC 9051 7.5.1: "the message sequence number of each successive
/// message in the mailbox is immediately decremented by 1").
#[tokio::test]
async fn rfc9051_7_5_1_expunges_reported_by_noop_and_uid_commands() {
    check(&format!(
        "{}
         C2: b2 STORE 1,3 +FLAGS.SILENT (\\Deleted)
         S2: b2 OK STORE completed
         C2: b3 EXPUNGE
         S2: * 1 EXPUNGE
         S2: * 2 EXPUNGE
         S2: b3 OK EXPUNGE completed
         C: a2 SEARCH ALL
         S: * SEARCH 1 2 3 4
         S: a2 OK SEARCH completed
         C: a3 SEARCH ALL
         S: * SEARCH 2 4
         S: a3 OK SEARCH completed
         C: a4 STORE 2 +FLAGS (\\Flagged)
         S: * 2 FETCH (FLAGS (\\Flagged \\Recent))
         S: a4 OK STORE completed
         C: a5 NOOP
         S: * 1 EXPUNGE
         S: * 2 EXPUNGE
         S: a5 OK completed
         C2: b4 UID STORE 4 +FLAGS.SILENT (\\Deleted)
         S2: * 1 FETCH (UID 2 FLAGS (\\Flagged))
         S2: b4 OK STORE completed
         C2: b5 UID EXPUNGE 4
         S2: * 2 EXPUNGE
         S2: b5 OK EXPUNGE completed
         C: a6 UID SEARCH ALL
         S: * SEARCH 2 4
         S: * 2 EXPUNGE
         S: a6 OK UID SEARCH completed
         C2: b6 UID STORE 2 +FLAGS.SILENT (\\Deleted)
         S2: b6 OK STORE completed
         C2: b7 EXPUNGE
         S2: * 1 EXPUNGE
         S2: b7 OK EXPUNGE completed
         C: a7 UID STORE 2 +FLAGS (\\Seen)
         S: * 1 EXPUNGE
         S: a7 OK STORE completed
         C: a8 NOOP
         S: a8 OK completed",
        two_sessions_four_messages(),
    ))
    .await;
}

/// Deterministic xorshift64 (no dependency; the seed is fixed so a failure replays).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    /// A number in `1..=n`.
    fn one_to(&mut self, n: usize) -> usize {
        self.below(n) + 1
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
}

/// The flags the random operations use.
const RANDOM_FLAGS: [&str; 7] = [
    "\\Seen",
    "\\Flagged",
    "\\Answered",
    "\\Deleted",
    "\\Draft",
    "$A",
    "$B",
];

type Flags = BTreeSet<String>;

/// What a client knows about one message: its UID and flags, once told.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    uid: Option<u32>,
    flags: Option<Flags>,
}

/// The messages a random set names.
enum Target {
    /// By position (sequence number - 1).
    Indexes(Vec<usize>),
    /// By UID.
    Uids(Vec<u32>),
}

/// One client connection and the mailbox as that client must believe it to be, kept from
/// nothing but the responses it received.
struct Side {
    client: Client,
    name: &'static str,
    tags: u32,
    model: Vec<Known>,
}

/// The FLAGS of a FETCH response, without the session-local `\Recent`.
fn parse_flags(list: &str) -> Flags {
    list.split_whitespace()
        .filter(|f| *f != "\\Recent")
        .map(str::to_owned)
        .collect()
}

/// `* n FETCH (UID u FLAGS (...))` in any item order: (n, uid, flags).
fn parse_fetch(line: &str) -> Option<(usize, Option<u32>, Option<Flags>)> {
    let rest = line.strip_prefix("* ")?;
    let (seq, rest) = rest.split_once(' ')?;
    let items = rest.strip_prefix("FETCH (")?.strip_suffix(')')?;
    let uid = items
        .split_once("UID ")
        .map(|(_, after)| after.split([' ', ')']).next().unwrap().parse().unwrap());
    let flags = items
        .split_once("FLAGS (")
        .map(|(_, after)| parse_flags(after.split_once(')').unwrap().0));
    Some((seq.parse().ok()?, uid, flags))
}

impl Side {
    /// Sends one command, folds every untagged response into the model and returns the
    /// untagged lines. Anything but a tagged OK fails the test.
    async fn run(&mut self, command: &str, log: &mut Vec<String>) -> Vec<String> {
        self.tags += 1;
        let tag = format!("{}{}", self.name, self.tags);
        let output = self
            .client
            .send(format!("{tag} {command}\r\n").as_bytes())
            .await;
        log.push(format!(
            "{} C: {tag} {}",
            self.name,
            command.lines().next().unwrap_or_default()
        ));
        let mut untagged = Vec::new();
        let forbids_expunge = ["FETCH", "STORE", "SEARCH"]
            .iter()
            .any(|name| command.starts_with(name));
        for line in output.split_terminator("\r\n") {
            log.push(format!("{} S: {line}", self.name));
            assert!(
                !(forbids_expunge && line.ends_with(" EXPUNGE")),
                "EXPUNGE during {command}:\n{}",
                log.join("\n")
            );
            if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                assert!(
                    status.starts_with("OK"),
                    "{} failed:\n{}",
                    tag,
                    log.join("\n")
                );
                continue;
            }
            self.absorb(line, log);
            untagged.push(line.to_owned());
        }
        untagged
    }

    fn absorb(&mut self, line: &str, log: &[String]) {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["*", n, "EXISTS"] => {
                let n: usize = n.parse().unwrap();
                assert!(
                    n >= self.model.len(),
                    "EXISTS decreased without EXPUNGE:\n{}",
                    log.join("\n")
                );
                self.model.resize(
                    n,
                    Known {
                        uid: None,
                        flags: None,
                    },
                );
            }
            ["*", n, "EXPUNGE"] => {
                let n: usize = n.parse().unwrap();
                assert!(
                    (1..=self.model.len()).contains(&n),
                    "EXPUNGE of unknown message:\n{}",
                    log.join("\n")
                );
                self.model.remove(n - 1);
            }
            ["*", _, "FETCH", ..] => {
                let (seq, uid, flags) = parse_fetch(line).unwrap();
                assert!(
                    (1..=self.model.len()).contains(&seq),
                    "FETCH of unknown message:\n{}",
                    log.join("\n")
                );
                let known = &mut self.model[seq - 1];
                if let Some(uid) = uid {
                    assert!(
                        known.uid.is_none_or(|old| old == uid),
                        "FETCH changed a message's UID:\n{}",
                        log.join("\n")
                    );
                    known.uid = Some(uid);
                }
                if flags.is_some() {
                    known.flags = flags;
                }
            }
            _ => {}
        }
    }

    /// Learns the UID and flags of messages announced only by EXISTS, as a client would.
    async fn fill_in(&mut self, log: &mut Vec<String>) {
        let unknown: Vec<String> = (1..=self.model.len())
            .filter(|&seq| self.model[seq - 1].uid.is_none() || self.model[seq - 1].flags.is_none())
            .map(|seq| seq.to_string())
            .collect();
        if !unknown.is_empty() {
            self.run(&format!("FETCH {} (UID FLAGS)", unknown.join(",")), log)
                .await;
        }
    }

    /// A random sequence set within what the client knows (`None` when it knows nothing).
    fn random_seq_set(&self, rng: &mut Rng) -> Option<String> {
        let count = self.model.len();
        if count == 0 {
            return None;
        }
        let (a, b) = (rng.one_to(count), rng.one_to(count));
        Some(match rng.below(4) {
            0 => a.to_string(),
            1 => format!("{a}:{b}"),
            2 => format!("{a}:*"),
            _ => format!("{a},{b}"),
        })
    }

    /// A random UID set of UIDs the client knows, with those UIDs.
    fn random_uid_set(&self, rng: &mut Rng) -> Option<(String, Vec<u32>)> {
        let known: Vec<u32> = self.model.iter().filter_map(|k| k.uid).collect();
        if known.is_empty() {
            return None;
        }
        let (i, j) = (rng.below(known.len()), rng.below(known.len()));
        let set = format!("{}:{}", known[j], known[i]);
        Some((set, known[i.min(j)..=i.max(j)].to_vec()))
    }

    /// The indexes a sequence set names (numbers are within the model by construction).
    fn seq_indexes(&self, set: &str) -> Vec<usize> {
        let count = self.model.len();
        let number = |text: &str| {
            if text == "*" {
                count
            } else {
                text.parse().unwrap()
            }
        };
        let mut indexes = BTreeSet::new();
        for part in set.split(',') {
            let (a, b) = match part.split_once(':') {
                Some((a, b)) => (number(a), number(b)),
                None => (number(part), number(part)),
            };
            indexes.extend((a.min(b)..=a.max(b)).map(|seq| seq - 1));
        }
        indexes.into_iter().collect()
    }
}

/// The mailbox as the store has it: a fresh EXAMINE and `UID FETCH 1:* (FLAGS)`.
async fn truth(observer: &mut Side, log: &mut Vec<String>) -> Vec<(u32, Flags)> {
    observer.model.clear();
    observer.run("EXAMINE INBOX", log).await;
    let lines = observer.run("UID FETCH 1:* (FLAGS)", log).await;
    observer.run("UNSELECT", log).await;
    lines
        .iter()
        .filter_map(|line| parse_fetch(line))
        .map(|(_, uid, flags)| (uid.unwrap(), flags.unwrap()))
        .collect()
}

/// 200 random APPEND, STORE, EXPUNGE, COPY and FETCH operations, by sequence number and by
/// UID, spread over two sessions on one mailbox, one to three per step. After each step both
/// sessions NOOP, and each client's view, built only from the EXISTS, EXPUNGE and FETCH
/// responses it received, must equal the store's.
#[tokio::test]
async fn rfc9051_7_5_1_two_sessions_random_operations_keep_clients_in_sync() {
    random_sessions(2, 200, 0x9e37_79b9_7f4a_7c15).await;
}

/// The same with ten sessions on one mailbox.
#[tokio::test]
async fn rfc9051_7_5_1_ten_sessions_random_operations_keep_clients_in_sync() {
    random_sessions(10, 300, 0x2545_f491_4f6c_dd1d).await;
}

/// Any seed and length, by hand: `PORTCULLIS_RANDOM_SEED=<n> PORTCULLIS_RANDOM_STEPS=<n>
/// PORTCULLIS_RANDOM_SESSIONS=<n> cargo test -p portcullis-session --test sequence_numbers
/// random_sessions_from_the_environment`. Without the variables it runs a short fixed case, so
/// CI exercises the entry point too.
#[tokio::test]
async fn random_sessions_from_the_environment() {
    let number = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sessions = usize::try_from(number("PORTCULLIS_RANDOM_SESSIONS", 3))
        .unwrap_or(3)
        .clamp(1, SIDE_NAMES.len());
    let steps = usize::try_from(number("PORTCULLIS_RANDOM_STEPS", 60)).unwrap_or(60);
    let seed = number("PORTCULLIS_RANDOM_SEED", 0x5851_f42d_4c95_7f2d).max(1);
    eprintln!("random sessions: {sessions} sessions, {steps} operations, seed {seed}");
    random_sessions(sessions, steps, seed).await;
}

const SIDE_NAMES: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

/// `operations` random operations over `sessions` sessions on one mailbox (see above).
async fn random_sessions(sessions: usize, total: usize, seed: u64) {
    let server = Server::new().await;
    let mut log = Vec::new();
    let mut sides = Vec::new();
    for name in SIDE_NAMES[..sessions].iter().copied().chain(["o"]) {
        let mut client = server.client();
        client.greeting().await;
        let mut side = Side {
            client,
            name,
            tags: 0,
            model: Vec::new(),
        };
        side.run("LOGIN alice secret", &mut log).await;
        sides.push(side);
    }
    let mut observer = sides.pop().unwrap();
    for side in &mut sides {
        side.run("SELECT INBOX", &mut log).await;
    }
    let mut rng = Rng(seed);
    let mut operations = 0;
    while operations < total {
        for _ in 0..rng.one_to(3).min(total - operations) {
            operations += 1;
            let side = &mut sides[rng.below(sessions)];
            let flags: Vec<&str> = RANDOM_FLAGS
                .iter()
                .copied()
                .filter(|_| rng.percent(30))
                .collect();
            let flag_list = flags.join(" ");
            let by_uid = rng.percent(50);
            // The messages a set names: sequence numbers stay valid through a command by
            // sequence number (no EXPUNGE), UIDs through any.
            let target = if by_uid {
                side.random_uid_set(&mut rng)
                    .map(|(set, uids)| (set, Target::Uids(uids)))
            } else {
                side.random_seq_set(&mut rng).map(|set| {
                    let indexes = side.seq_indexes(&set);
                    (set, Target::Indexes(indexes))
                })
            };
            let uid = if by_uid { "UID " } else { "" };
            let roll = rng.below(100);
            match (roll, target) {
                (0..20, _) | (_, None) if side.model.len() < 40 => {
                    let body = format!("Subject: message {operations}\r\n\r\nbody\r\n");
                    let command =
                        format!("APPEND INBOX ({flag_list}) {{{}+}}\r\n{body}", body.len());
                    side.run(&command, &mut log).await;
                }
                (_, None) => {
                    side.run("NOOP", &mut log).await;
                }
                (0..50, Some((set, target))) => {
                    let operation = ["+FLAGS", "-FLAGS", "FLAGS"][rng.below(3)];
                    let silent = rng.percent(40);
                    let suffix = if silent { ".SILENT" } else { "" };
                    side.run(
                        &format!("{uid}STORE {set} {operation}{suffix} ({flag_list})"),
                        &mut log,
                    )
                    .await;
                    if silent {
                        // The client knows what it asked for; the server reports only what
                        // it did not ask for (RFC 9051 6.4.6).
                        let given: Flags = flags.iter().map(|f| (*f).to_owned()).collect();
                        let indexes = match target {
                            Target::Indexes(indexes) => indexes,
                            Target::Uids(uids) => (0..side.model.len())
                                .filter(|&i| side.model[i].uid.is_some_and(|u| uids.contains(&u)))
                                .collect(),
                        };
                        for index in indexes {
                            if let Some(known) =
                                side.model.get_mut(index).and_then(|k| k.flags.as_mut())
                            {
                                match operation {
                                    "+FLAGS" => known.extend(given.iter().cloned()),
                                    "-FLAGS" => known.retain(|f| !given.contains(f)),
                                    _ => *known = given.clone(),
                                }
                            }
                        }
                    }
                }
                (50..65, Some((set, _))) => {
                    let command = if rng.percent(50) {
                        "EXPUNGE".to_owned()
                    } else {
                        format!(
                            "UID EXPUNGE {}",
                            side.random_uid_set(&mut rng).map_or(set, |(s, _)| s)
                        )
                    };
                    side.run(&command, &mut log).await;
                }
                (65..75, Some((set, _))) => {
                    side.run(&format!("{uid}COPY {set} INBOX"), &mut log).await;
                }
                (_, Some((set, _))) => {
                    side.run(&format!("{uid}FETCH {set} (FLAGS)"), &mut log)
                        .await;
                }
            }
        }
        let expected = truth(&mut observer, &mut log).await;
        for side in &mut sides {
            side.run("NOOP", &mut log).await;
        }
        for side in &mut sides {
            side.fill_in(&mut log).await;
            let believed: Vec<(u32, Flags)> = side
                .model
                .iter()
                .map(|k| (k.uid.unwrap(), k.flags.clone().unwrap()))
                .collect();
            assert_eq!(
                believed,
                expected,
                "client {} after {operations} operations:\n{}",
                side.name,
                log.join("\n")
            );
        }
    }
}
