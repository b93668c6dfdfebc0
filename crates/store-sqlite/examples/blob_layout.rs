//! Blobs in the database or in files? A measurement, not a benchmark suite.
//!
//! Both layouts go through the same `SqliteStore` (same group commit, same index rows, full
//! durability); only where the message bytes live differs:
//!
//! - **db**: the engine as built — bytes in `content_data`, committed with the index row.
//! - **files**: each message is written to its own file (write, fsync the file, fsync the
//!   directory), then the index row is appended with the file name in place of the bytes.
//!
//! `WRITERS` tasks append `MESSAGES` messages of 2–100 KB (fixed-seed LCG), one APPEND per
//! message; then `READS` random full-message reads. Reads run right after the writes, with a
//! warm page cache, in both layouts alike.
//!
//! ```text
//! cargo run --release -p portcullis-store-sqlite --example blob_layout [DIR]
//! ```
//!
//! DIR (default: the system temporary directory) must be on the disk you want to measure:
//! on tmpfs an fsync costs nothing.

// An example's output is its report.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use portcullis_store::{
    AccountName, FlagSet, InternalDate, MailboxId, MailboxName, NewMessage, Store, Uid,
};
use portcullis_store_sqlite::SqliteStore;

const WRITERS: usize = 4;
const MESSAGES: usize = 2_000;
const READS: usize = 500;
const MIN_SIZE: usize = 2 * 1024;
const MAX_SIZE: usize = 100 * 1024;
const SEED: u64 = 0x5eed_b10b;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Knuth's MMIX linear congruential generator: deterministic and dependency-free.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A value in `0..bound`.
    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % bound.max(1)
    }
}

/// A message of `size` bytes (give or take the last line): headers, then text lines.
fn make_message(n: usize, size: usize, rng: &mut Lcg) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,";
    let mut raw = format!(
        "From: sender{n}@example.org\r\nTo: rcpt@example.org\r\nSubject: message {n}\r\n\
         Message-ID: <{n}@example.org>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    .into_bytes();
    while raw.len() < size {
        raw.extend((0..76).map(|_| ALPHABET[rng.below(ALPHABET.len())]));
        raw.extend_from_slice(b"\r\n");
    }
    raw
}

fn corpus() -> Vec<NewMessage> {
    let mut rng = Lcg(SEED);
    let date = InternalDate {
        unix_seconds: 1_750_000_000,
        offset_minutes: 0,
    };
    (0..MESSAGES)
        .map(|n| {
            let size = MIN_SIZE + rng.below(MAX_SIZE - MIN_SIZE + 1);
            NewMessage::parse(
                Bytes::from(make_message(n, size, &mut rng)),
                FlagSet::new(),
                date,
            )
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Db,
    Files,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Db => "db",
            Layout::Files => "files",
        }
    }
}

struct Figures {
    write: Duration,
    commits: u64,
    read: Duration,
    read_bytes: usize,
    disk_bytes: u64,
}

async fn open_inbox(dir: &Path) -> Result<(Arc<SqliteStore>, MailboxId)> {
    let store = Arc::new(SqliteStore::open(&dir.join("store"))?);
    let account = store
        .create_account(&AccountName::new("bench")?, "x")
        .await?;
    let inbox = store.mailbox(account, &MailboxName::inbox()).await?.id;
    Ok((store, inbox))
}

/// Writes a message to its own file durably: write, fsync the file, fsync the directory.
fn write_blob(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join(name))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

/// Stores one message in the given layout.
async fn store_one(
    store: &SqliteStore,
    inbox: MailboxId,
    blobs: &Path,
    layout: Layout,
    n: usize,
    message: NewMessage,
) -> Result<()> {
    let message = match layout {
        Layout::Db => message,
        Layout::Files => {
            let name = format!("{n:08}.eml");
            let (dir, file, raw) = (blobs.to_owned(), name.clone(), message.raw.clone());
            tokio::task::spawn_blocking(move || write_blob(&dir, &file, &raw)).await??;
            NewMessage {
                raw: Bytes::from(name),
                ..message
            }
        }
    };
    store.append(inbox, vec![message]).await?;
    Ok(())
}

/// Reads one whole message in the given layout; returns its size.
async fn read_one(
    store: &SqliteStore,
    inbox: MailboxId,
    blobs: &Path,
    layout: Layout,
    uid: Uid,
) -> Result<usize> {
    let stored = store
        .raw_message(inbox, uid)
        .await?
        .ok_or("message missing")?;
    let bytes = match layout {
        Layout::Db => stored,
        Layout::Files => {
            let path = blobs.join(std::str::from_utf8(&stored)?);
            Bytes::from(tokio::task::spawn_blocking(move || std::fs::read(path)).await??)
        }
    };
    Ok(bytes.len())
}

async fn measure(layout: Layout, dir: &Path, messages: &[NewMessage]) -> Result<Figures> {
    let (store, inbox) = open_inbox(dir).await?;
    let blobs: PathBuf = dir.join("blobs");
    std::fs::create_dir_all(&blobs)?;
    let commits_before = store.commit_count();

    let started = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let (store, blobs) = (Arc::clone(&store), blobs.clone());
        let mine: Vec<(usize, NewMessage)> = messages
            .iter()
            .cloned()
            .enumerate()
            .skip(writer)
            .step_by(WRITERS)
            .collect();
        writers.spawn(async move {
            for (n, message) in mine {
                store_one(&store, inbox, &blobs, layout, n, message).await?;
            }
            Ok::<(), Box<dyn Error + Send + Sync>>(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    let write = started.elapsed();
    let commits = store.commit_count() - commits_before;

    let mut rng = Lcg(SEED ^ 0xfeed);
    let count = u32::try_from(MESSAGES)?;
    let started = Instant::now();
    let mut read_bytes = 0;
    for _ in 0..READS {
        let uid = Uid::new(1 + u32::try_from(rng.below(MESSAGES))? % count).ok_or("zero UID")?;
        read_bytes += read_one(&store, inbox, &blobs, layout, uid).await?;
    }
    let read = started.elapsed();
    drop(store);
    Ok(Figures {
        write,
        commits,
        read,
        read_bytes,
        disk_bytes: disk_usage(dir)?,
    })
}

fn disk_usage(path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        total += disk_usage(&entry?.path())?;
    }
    Ok(total)
}

fn megabytes(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let base = std::env::args_os()
        .nth(1)
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let messages = corpus();
    let total: usize = messages.iter().map(|m| m.raw.len()).sum();
    println!(
        "{MESSAGES} messages, {:.1} MB, {WRITERS} writers, {READS} random reads, in {}",
        megabytes(total),
        base.display()
    );
    println!(
        "{:<6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>10}",
        "layout", "write msg/s", "write MB/s", "commits", "read msg/s", "read MB/s", "disk MB"
    );
    for layout in [Layout::Db, Layout::Files] {
        let dir = tempfile::Builder::new()
            .prefix("blob_layout")
            .tempdir_in(&base)?;
        let figures = measure(layout, dir.path(), &messages).await?;
        let write = figures.write.as_secs_f64();
        let read = figures.read.as_secs_f64();
        println!(
            "{:<6} {:>10.0} {:>10.1} {:>8} {:>10.0} {:>10.1} {:>10.1}",
            layout.name(),
            MESSAGES as f64 / write,
            megabytes(total) / write,
            figures.commits,
            READS as f64 / read,
            megabytes(figures.read_bytes) / read,
            figures.disk_bytes as f64 / (1024.0 * 1024.0),
        );
    }
    Ok(())
}
