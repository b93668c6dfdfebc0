//! Change notification across processes that share a data directory.
//!
//! The server's sessions learn of commits through the in-process `ChangeNotifier`; a commit
//! made by another process (`portcullis deliver`, `portcullis user del`) must wake them too,
//! at once and without polling. The serving process binds a Unix datagram socket in the data
//! directory ([`PeerListener`]); every other process's writer sends one datagram per commit
//! naming the mailboxes whose MODSEQ rose. A datagram carries only "look again" — sessions
//! then read the truth from the database — so a lost or forged one can at worst cause or
//! miss a wake-up, never a wrong answer; the directory is private to the server's user.

use portcullis_store::{ChangeNotifier, MailboxId, ModSeq};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The socket's name inside the data directory.
pub(crate) const SOCKET: &str = "notify.sock";

/// One record: mailbox id and MODSEQ, big-endian.
const RECORD: usize = 16;

/// Records per datagram (well under the default datagram size limit).
const RECORDS_PER_DATAGRAM: usize = 64;

/// Sends a commit's raised MODSEQs to the serving process, if there is one.
#[derive(Debug)]
pub(crate) struct PeerSender {
    socket: Option<UnixDatagram>,
    path: PathBuf,
    /// Set when this process is itself the listener: its sessions hear locally.
    listening: Arc<AtomicBool>,
}

impl PeerSender {
    pub(crate) fn new(dir: &Path, listening: Arc<AtomicBool>) -> PeerSender {
        PeerSender {
            socket: UnixDatagram::unbound().ok(),
            path: dir.join(SOCKET),
            listening,
        }
    }

    /// Best effort: no server running is the normal case for a command-line process.
    pub(crate) fn send(&self, raised: &[(MailboxId, ModSeq)]) {
        if raised.is_empty() || self.listening.load(Ordering::Relaxed) {
            return;
        }
        let Some(socket) = &self.socket else {
            return;
        };
        for chunk in raised.chunks(RECORDS_PER_DATAGRAM) {
            let mut datagram = Vec::with_capacity(chunk.len() * RECORD);
            for (mailbox, modseq) in chunk {
                datagram.extend_from_slice(&mailbox.0.to_be_bytes());
                datagram.extend_from_slice(&modseq.get().to_be_bytes());
            }
            if socket.send_to(&datagram, &self.path).is_err() {
                return;
            }
        }
    }
}

/// The serving process's end: a thread turning datagrams into local notifications.
#[derive(Debug)]
pub(crate) struct PeerListener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
}

impl PeerListener {
    pub(crate) fn bind(dir: &Path, notifier: Arc<ChangeNotifier>) -> std::io::Result<PeerListener> {
        let path = dir.join(SOCKET);
        // A socket left by a crashed server is replaced.
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let socket = UnixDatagram::bind(&path)?;
        socket.set_read_timeout(Some(Duration::from_millis(500)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sqlite-peers".to_owned())
            .spawn(move || receive(&socket, &notifier, &stopping))?;
        Ok(PeerListener {
            stop,
            thread: Some(thread),
            path,
        })
    }
}

fn receive(socket: &UnixDatagram, notifier: &ChangeNotifier, stop: &AtomicBool) {
    let mut buf = [0u8; RECORD * RECORDS_PER_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        let Ok(length) = socket.recv(&mut buf) else {
            continue;
        };
        for record in buf[..length].chunks_exact(RECORD) {
            let (mailbox, modseq) = record.split_at(8);
            let mailbox = i64::from_be_bytes(mailbox.try_into().unwrap_or([0; 8]));
            let modseq = u64::from_be_bytes(modseq.try_into().unwrap_or([0; 8]));
            if let Some(modseq) = ModSeq::new(modseq) {
                notifier.notify(MailboxId(mailbox), modseq);
            }
        }
    }
}

impl Drop for PeerListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}
