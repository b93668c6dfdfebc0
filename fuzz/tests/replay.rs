//! Replays every seed input and every saved regression input through the fuzz checks, then
//! a few hundred deterministic mutations of each seed — without libFuzzer, on any toolchain:
//! `cargo test --release` in `fuzz/`. A fallback smoke run, and the regression suite of the
//! findings listed in docs/fuzzing.md.

use std::path::{Path, PathBuf};

use portcullis_fuzz::rng::Rng;

type Check = fn(&[u8]);

/// The heap checks measure the whole process: tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const TARGETS: [(&str, Check); 6] = [
    ("framing", portcullis_fuzz::framing::check),
    ("command", portcullis_fuzz::command::check),
    ("session", portcullis_fuzz::session::check),
    ("mime", portcullis_fuzz::mime::check),
    ("lmtp", portcullis_fuzz::lmtp::check),
    ("mutf7", portcullis_fuzz::mutf7::check),
];

/// Mutations per seed file; `FUZZ_REPLAY_MUTATIONS` overrides.
fn mutations() -> usize {
    std::env::var("FUZZ_REPLAY_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![
        root.join("seeds").join(target),
        root.join("regressions").join(target),
    ];
    if target == "mime" {
        dirs.push(root.join("../tests/golden"));
    }
    dirs.iter()
        .flat_map(|dir| files(dir))
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .map(|p| {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

/// Byte flips, insertions of IMAP-ish tokens, deletions, duplications and truncations.
fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b" ",
        b"\r\n",
        b"\n",
        b"{5}\r\n",
        b"{0+}\r\n",
        b"~{3}\r\n",
        b"(",
        b")",
        b"\"",
        b"\\",
        b"NIL",
        b"*",
        b"1:*",
        b"$",
        b"0",
        b"4294967296",
        b"--",
        b"=?",
        b"?=",
        b".\r\n",
        b"\0",
        b"\xff",
        b"&",
        b"-",
        b"BODY[",
        b"]",
        b"<0.1>",
        b"boundary=",
    ];
    let mut out = data.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            4 => out.truncate(at),
            _ => {
                let byte = u8::try_from(rng.below(256)).unwrap_or(0);
                out.insert(at, byte);
            }
        }
    }
    out
}

fn replay(target: &str, check: Check) {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no seeds for {target}");
    let mut rng = Rng::new(0x5eed);
    for (path, data) in &inputs {
        check(data);
        for _ in 0..mutations() {
            let mutated = mutate(&mut rng, data);
            let result = std::panic::catch_unwind(|| check(&mutated));
            if result.is_err() {
                panic!(
                    "{target}: a mutation of {} fails; input: {}",
                    path.display(),
                    portcullis_fuzz::show(&mutated)
                );
            }
        }
    }
}

#[test]
fn the_heap_limit_holds() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let reserve = |bytes| Vec::<u8>::new().try_reserve_exact(bytes).is_ok();
    assert!(portcullis_fuzz::alloc::within(1 << 20, || reserve(1 << 19)));
    assert!(!portcullis_fuzz::alloc::within(1 << 20, || reserve(2 << 20)));
    assert!(reserve(2 << 20), "the limit ends with the closure");
}

#[test]
fn framing() {
    replay(TARGETS[0].0, TARGETS[0].1);
}

#[test]
fn command() {
    replay(TARGETS[1].0, TARGETS[1].1);
}

#[test]
fn session() {
    replay(TARGETS[2].0, TARGETS[2].1);
}

#[test]
fn mime() {
    replay(TARGETS[3].0, TARGETS[3].1);
}

#[test]
fn lmtp() {
    replay(TARGETS[4].0, TARGETS[4].1);
}

#[test]
fn mutf7() {
    replay(TARGETS[5].0, TARGETS[5].1);
}
