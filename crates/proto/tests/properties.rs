//! Property tests without a property-testing dependency: a xorshift PRNG with fixed seeds, so
//! every run checks the same cases and a failure names the seed and the input.
//!
//! - `parse_command` and the `Framer` never panic on random bytes or on mutated valid commands.
//! - The framer cuts the same frames whatever the read sizes are, and never buffers beyond its
//!   limits.
//! - Mailbox names round-trip through modified UTF-7, and decoding accepts exactly the
//!   canonical encodings.
//! - Sequence sets round-trip through `SequenceSet::compress` and the command parser.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use portcullis_proto::command::CommandBody;
use portcullis_proto::framing::{Frame, FrameLimits, Framer};
use portcullis_proto::{SequenceSet, mutf7, parse_command};

/// xorshift64* (Vigna): small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn byte(&mut self) -> u8 {
        u8::try_from(self.next() >> 56).unwrap()
    }
}

/// Pieces of IMAP syntax, so that random inputs reach the parser's deeper states.
const TOKENS: &[&str] = &[
    "a",
    "A001",
    "t.1",
    " ",
    " ",
    " ",
    "\r\n",
    "\r\n",
    "\n",
    "\r",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ".",
    ":",
    ",",
    "*",
    "$",
    "%",
    "\"",
    "\\",
    "{",
    "}",
    "~",
    "+",
    "-",
    "=",
    "0",
    "1",
    "7",
    "42",
    "4294967295",
    "4294967296",
    "9223372036854775808",
    "NIL",
    "NOOP",
    "LOGIN",
    "SELECT",
    "INBOX",
    "LIST",
    "\"\"",
    "RETURN",
    "(CHILDREN)",
    "(STATUS (MESSAGES))",
    "(SUBSCRIBED RECURSIVEMATCH)",
    "APPEND",
    "(\\Seen)",
    "\"17-Jul-1996 02:44:25 -0700\"",
    "FETCH",
    "UID",
    "BODY",
    "BODY.PEEK",
    "[HEADER.FIELDS (From)]",
    "[1.2.MIME]",
    "<0.10>",
    "BINARY",
    "BINARY.SIZE",
    "(FLAGS)",
    "(CHANGEDSINCE 1 VANISHED)",
    "STORE",
    "+FLAGS.SILENT",
    "(UNCHANGEDSINCE 5)",
    "SEARCH",
    "CHARSET",
    "UTF-8",
    "OR",
    "NOT",
    "SINCE",
    "1-Feb-1994",
    "HEADER",
    "MODSEQ",
    "YOUNGER",
    "ID",
    "ENABLE",
    "CREATE",
    "(USE (",
    "AUTHENTICATE",
    "PLAIN",
    "STATUS",
    "(QRESYNC (1 2 1:9 (1:3 4:6)))",
    "{0}\r\n",
    "{3}\r\n",
    "{5+}\r\n",
    "~{2}\r\n",
    "{99999999}\r\n",
    "{70+}\r\n",
    "\0",
    "ü",
    "\u{7f}",
];

fn random_input(rng: &mut Rng, max_pieces: usize) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..rng.below(max_pieces) + 1 {
        match rng.below(10) {
            0 => input.push(rng.byte()),
            1 => input.extend(std::iter::repeat_n(b'x', rng.below(80))),
            _ => input.extend_from_slice(rng.pick(TOKENS).as_bytes()),
        }
    }
    input
}

/// Valid commands to mutate.
const VALID: &[&str] = &[
    "a1 LOGIN {5}\r\nalice \"pass word\"\r\n",
    "a2 FETCH 1:*,3 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[1] UID) (CHANGEDSINCE 5)\r\n",
    "a3 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM \"x\" SINCE 1-Feb-1994) NOT TEXT {3}\r\nabc\r\n",
    "a4 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nhello ~{3}\r\na\0b\r\n",
    "a5 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent/%\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
    "a6 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211 (1:3 4:6)))\r\n",
    "a7 UID STORE 1:5 (UNCHANGEDSINCE 12) -FLAGS.SILENT (\\Deleted $Junk)\r\n",
    "a8 ID (\"name\" \"x\" \"version\" NIL)\r\n",
    "a9 CREATE Drafts (USE (\\Drafts))\r\n",
    "b1 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
];

fn mutate(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    let mut input = valid.to_vec();
    for _ in 0..rng.below(4) + 1 {
        let at = rng.below(input.len() + 1);
        match rng.below(5) {
            0 if at < input.len() => {
                input.remove(at);
            }
            1 => input.insert(at, rng.byte()),
            2 => {
                let token = rng.pick(TOKENS).as_bytes();
                input.splice(at..at, token.iter().copied());
            }
            3 if at < input.len() => input[at] = rng.byte(),
            _ => input.truncate(at),
        }
    }
    input
}

/// Checks what `parse_command` promises about any input: no panic, and a tag only when the
/// input starts with that tag.
fn check_parse(input: &[u8], seed: u64) {
    match parse_command(Bytes::copy_from_slice(input)) {
        Ok(command) => {
            let tag = command.tag.as_str().as_bytes();
            assert!(
                input.starts_with(tag) && input.get(tag.len()) == Some(&b' '),
                "seed {seed}: {input:?}"
            );
        }
        Err(error) => {
            if let Some(tag) = error.tag {
                assert!(
                    input.starts_with(tag.as_str().as_bytes()),
                    "seed {seed}: {input:?} tagged {tag:?}"
                );
            }
            assert!(!error.message.is_empty());
        }
    }
}

#[test]
fn parse_command_never_panics_on_random_bytes() {
    for seed in 1..=20_000 {
        let mut rng = Rng::new(seed);
        let mut input = random_input(&mut rng, 40);
        if rng.chance(70) {
            input.extend_from_slice(b"\r\n");
        }
        check_parse(&input, seed);
        // Raw bytes, without the token bias.
        let raw: Vec<u8> = (0..rng.below(64)).map(|_| rng.byte()).collect();
        check_parse(&raw, seed);
    }
}

#[test]
fn parse_command_never_panics_on_mutated_commands() {
    for valid in VALID {
        assert!(
            parse_command(Bytes::from_static(valid.as_bytes())).is_ok(),
            "{valid:?}"
        );
    }
    for seed in 1..=20_000 {
        let mut rng = Rng::new(seed);
        let valid = *rng.pick(VALID);
        let mutated = mutate(&mut rng, valid.as_bytes());
        check_parse(&mutated, seed);
    }
}

#[test]
fn deeply_nested_input_does_not_overflow_the_stack() {
    for opener in ["(", "NOT ", "OR ALL ", "OR "] {
        let input = format!("a SEARCH {}\r\n", opener.repeat(200_000));
        assert!(parse_command(Bytes::from(input)).is_err());
    }
    let input = format!("a FETCH 1 ({})\r\n", "(".repeat(200_000));
    assert!(parse_command(Bytes::from(input)).is_err());
}

const LIMITS: FrameLimits = FrameLimits {
    max_command: 64,
    max_append_literal: 100,
    max_append_total: 150,
};

/// Feeds `input` in chunks of the given sizes (cycled); returns the frames and checks the
/// buffer bound after every read.
fn frame_in_chunks(input: &[u8], chunk_sizes: &[usize], seed: u64) -> Vec<Frame> {
    let mut framer = Framer::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = input;
    let mut sizes = chunk_sizes.iter().cycle();
    // A command buffers at most its text and its APPEND literals, plus one read.
    let bound = LIMITS.max_command + usize::try_from(LIMITS.max_append_total).unwrap() + 64;
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        while let Some(frame) = framer.next_frame(&mut buf) {
            frames.push(frame);
        }
        assert!(
            buf.len() <= bound,
            "seed {seed}: {} bytes buffered",
            buf.len()
        );
    }
    frames
}

#[test]
fn framer_never_panics_and_frames_do_not_depend_on_read_sizes() {
    for seed in 1..=5_000 {
        let mut rng = Rng::new(seed);
        let input = random_input(&mut rng, 60);
        let whole = frame_in_chunks(&input, &[input.len().max(1)], seed);
        let bytes = frame_in_chunks(&input, &[1], seed);
        let sizes: Vec<usize> = (0..8).map(|_| rng.below(24) + 1).collect();
        let random = frame_in_chunks(&input, &sizes, seed);
        assert_eq!(
            whole,
            bytes,
            "seed {seed}: {:?}",
            String::from_utf8_lossy(&input)
        );
        assert_eq!(
            whole,
            random,
            "seed {seed}: {:?}",
            String::from_utf8_lossy(&input)
        );
        let mut framed = 0;
        for frame in &whole {
            if let Frame::Command(command) = frame {
                assert!(command.ends_with(b"\n"), "seed {seed}: {command:?}");
                framed += command.len();
                check_parse(command, seed);
            }
        }
        assert!(framed <= input.len());
    }
}

#[test]
fn framer_handles_pipelined_commands_after_a_refused_line() {
    // Everything arrives in one read: the overlong line is refused, and every command after
    // it is still framed (regression: the refusal used to drop all but the last 32 bytes of
    // the buffer, losing `b` and `c`).
    let mut input = [b"t1 NOOP ".as_slice(), &[b'x'; 100], b"\r\n"].concat();
    for tag in ["b", "c", "d", "e", "f"] {
        input.extend_from_slice(format!("{tag} NOOP\r\n").as_bytes());
    }
    let frames = frame_in_chunks(&input, &[input.len()], 0);
    assert_eq!(frames.len(), 6, "{frames:?}");
    assert!(matches!(&frames[0], Frame::Rejected(r) if r.tag.as_deref() == Some("t1")));
    for (frame, tag) in frames[1..].iter().zip(["b", "c", "d", "e", "f"]) {
        assert_eq!(
            frame,
            &Frame::Command(Bytes::from(format!("{tag} NOOP\r\n")))
        );
    }
    // A line end inside an earlier literal of the refused command is not taken for the end
    // of the refused line: the literal's content never becomes a command.
    let input = b"a SEARCH TEXT {20+}\r\nxxxxxxxxxxxxx\r\nz DELETE x yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\nb NOOP\r\n";
    for sizes in [&[input.len()][..], &[1], &[58, 1]] {
        let frames = frame_in_chunks(input, sizes, 0);
        assert_eq!(frames.len(), 2, "{sizes:?}: {frames:?}");
        assert!(matches!(&frames[0], Frame::Rejected(r) if r.tag.as_deref() == Some("a")));
        assert_eq!(frames[1], Frame::Command(Bytes::from_static(b"b NOOP\r\n")));
    }
}

/// A random mailbox name: printable ASCII (with `&`), Latin-1, CJK, astral characters and
/// controls, in random runs.
fn random_name(rng: &mut Rng) -> String {
    let mut name = String::new();
    for _ in 0..rng.below(12) {
        let c = match rng.below(8) {
            0..=2 => char::from(u8::try_from(0x20 + rng.below(0x5f)).unwrap()),
            3 => '&',
            4 => char::from_u32(u32::try_from(0xa0 + rng.below(0x60)).unwrap()).unwrap(),
            5 => char::from_u32(u32::try_from(0x4e00 + rng.below(0x5000)).unwrap()).unwrap(),
            6 => char::from_u32(u32::try_from(0x1_f300 + rng.below(0x300)).unwrap()).unwrap(),
            _ => char::from(u8::try_from(rng.below(0x20)).unwrap()),
        };
        name.push(c);
    }
    name
}

#[test]
fn mailbox_names_round_trip_through_modified_utf7() {
    for seed in 1..=20_000 {
        let mut rng = Rng::new(seed);
        let name = random_name(&mut rng);
        let wire = mutf7::encode(&name);
        assert!(
            wire.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "seed {seed}: {wire:?}"
        );
        assert_eq!(
            mutf7::decode(wire.as_bytes()).as_deref(),
            Ok(name.as_str()),
            "seed {seed}: {wire:?}"
        );
    }
}

#[test]
fn modified_utf7_decoding_accepts_only_canonical_forms() {
    // Any byte string that decodes is the one encoding of what it decodes to.
    const PIECES: &[&str] = &[
        "&", "-", "&-", "A", "AOk", "AOkA6Q", "2D3eAA", "2D0", ",", "+", "/", "a", " ", "é",
        "&AGE-",
    ];
    for seed in 1..=20_000 {
        let mut rng = Rng::new(seed);
        let mut raw = Vec::new();
        for _ in 0..rng.below(8) {
            if rng.chance(10) {
                raw.push(rng.byte());
            } else {
                raw.extend_from_slice(rng.pick(PIECES).as_bytes());
            }
        }
        if let Ok(name) = mutf7::decode(&raw) {
            assert_eq!(
                mutf7::encode(&name).as_bytes(),
                &raw[..],
                "seed {seed}: {name:?}"
            );
        }
    }
}

/// Parses a sequence set through the command parser (`UID EXPUNGE` takes exactly one).
fn parse_set(text: &str) -> SequenceSet {
    match parse_command(Bytes::from(format!("t UID EXPUNGE {text}\r\n"))) {
        Ok(command) => match command.body {
            CommandBody::UidExpunge(set) => set,
            other => panic!("{other:?}"),
        },
        Err(error) => panic!("{text:?}: {error:?}"),
    }
}

/// Ascending distinct numbers in clusters, so that both single numbers and runs occur.
fn random_numbers(rng: &mut Rng) -> Vec<u32> {
    let mut numbers = Vec::new();
    let mut next: u64 = 1;
    for _ in 0..rng.below(30) + 1 {
        next += if rng.chance(20) {
            u64::try_from(rng.below(1 << 20)).unwrap()
        } else {
            u64::try_from(rng.below(3)).unwrap()
        };
        let run = rng.below(6) + 1;
        for _ in 0..run {
            if let Ok(n) = u32::try_from(next) {
                numbers.push(n);
            }
            next += 1;
        }
    }
    if rng.chance(10) {
        numbers.push(u32::MAX);
        numbers.dedup();
    }
    numbers
}

/// The numbers of ascending ranges.
fn expand(ranges: &[(u32, u32)]) -> Vec<u32> {
    ranges.iter().flat_map(|&(a, b)| a..=b).collect()
}

#[test]
fn sequence_sets_round_trip_through_compress_and_the_parser() {
    for seed in 1..=5_000 {
        let mut rng = Rng::new(seed);
        let numbers = random_numbers(&mut rng);
        let text = SequenceSet::compress(&numbers);
        let set = parse_set(&text);
        assert_eq!(
            expand(&set.to_ranges(u32::MAX)),
            numbers,
            "seed {seed}: {text}"
        );
        // The compressed form is the shortest: no two of its ranges touch.
        let ranges = set.to_ranges(u32::MAX);
        assert_eq!(ranges.len(), text.split(',').count(), "seed {seed}: {text}");
    }
}

#[test]
fn random_sequence_sets_normalise_idempotently() {
    for seed in 1..=5_000 {
        let mut rng = Rng::new(seed);
        let bound = |rng: &mut Rng| {
            if rng.chance(15) {
                "*".to_owned()
            } else {
                (rng.below(200) + 1).to_string()
            }
        };
        let parts: Vec<String> = (0..rng.below(6) + 1)
            .map(|_| {
                if rng.chance(50) {
                    bound(&mut rng)
                } else {
                    format!("{}:{}", bound(&mut rng), bound(&mut rng))
                }
            })
            .collect();
        let text = parts.join(",");
        let largest = u32::try_from(rng.below(250)).unwrap();
        let ranges = parse_set(&text).to_ranges(largest);
        // Ascending, disjoint, non-touching, within 1..=max(largest, numbers).
        for pair in ranges.windows(2) {
            assert!(
                pair[0].1.saturating_add(1) < pair[1].0,
                "seed {seed}: {text} -> {ranges:?}"
            );
        }
        assert!(
            ranges.iter().all(|&(a, b)| 1 <= a && a <= b),
            "seed {seed}: {text} -> {ranges:?}"
        );
        let numbers = expand(&ranges);
        if numbers.is_empty() {
            continue;
        }
        let again = parse_set(&SequenceSet::compress(&numbers)).to_ranges(largest);
        assert_eq!(again, ranges, "seed {seed}: {text}");
    }
}
