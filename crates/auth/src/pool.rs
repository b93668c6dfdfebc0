//! Password verification on a fixed set of threads that each reuse one argon2 memory
//! buffer.
//!
//! Why not tokio's blocking pool: argon2id works in 19 MiB of memory per verification, and
//! whichever thread runs one keeps that memory in its malloc arena after it is freed. On
//! tokio's blocking pool, which grows to hundreds of threads under load, that left
//! ~58 MiB resident per thread that had ever verified a password — gigabytes under a login
//! burst (measured with `portcullis-bench idle-scale`). Here `threads` threads each own one
//! buffer, allocated when the thread starts: verification memory is `threads × 19 MiB`,
//! whatever the load, and no more than `threads` verifications run at once.

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

use crate::Secret;

/// Largest argon2 memory accepted from a stored hash (256 MiB of 1 KiB blocks): an imported
/// hash with absurd parameters must not be able to exhaust memory.
const MAX_BLOCKS: usize = 256 * 1024;

/// The memory one thread verifies in, kept between verifications.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    blocks: Vec<Block>,
}

impl Workspace {
    /// Whether `password` matches the PHC string `phc`; `None` when `phc` is not a usable
    /// argon2 hash.
    pub(crate) fn verify(&mut self, password: &[u8], phc: &str) -> Option<bool> {
        let hash = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
        let version = match hash.version {
            Some(version) => Version::try_from(version).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&hash).ok()?;
        let mut salt = [0u8; 64];
        let salt = hash.salt?.decode_b64(&mut salt).ok()?;
        let expected = hash.hash?;
        let blocks = params.block_count();
        if blocks > MAX_BLOCKS {
            return None;
        }
        if self.blocks.len() < blocks {
            self.blocks.resize(blocks, Block::default());
        }
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, &mut out, &mut self.blocks[..blocks])
            .ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    }
}

/// Checks `password` against `stored`, or — for an unknown user or an unusable stored hash —
/// against `dummy`, so every case costs one verification. True only for a known user
/// whose password matches.
pub(crate) fn verify_or_dummy(
    workspace: &mut Workspace,
    dummy: &str,
    password: &[u8],
    stored: Option<&str>,
) -> bool {
    match stored.map(|stored| workspace.verify(password, stored)) {
        Some(Some(matches)) => matches,
        Some(None) | None => {
            let _ = workspace.verify(password, dummy);
            false
        }
    }
}

struct Job {
    password: Secret<Vec<u8>>,
    stored: Option<String>,
    reply: oneshot::Sender<bool>,
}

/// The verification threads.
#[derive(Debug)]
pub(crate) struct VerifyPool {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job(..)")
    }
}

impl VerifyPool {
    /// Starts `threads` threads (at least one); they end when the pool is dropped.
    pub(crate) fn start(threads: usize, dummy: Arc<str>) -> std::io::Result<VerifyPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let dummy = Arc::clone(&dummy);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&queue, &dummy))?;
        }
        Ok(VerifyPool { jobs })
    }

    /// Verifies on a pool thread; waits while all are busy.
    pub(crate) async fn verify(&self, password: Secret<Vec<u8>>, stored: Option<String>) -> bool {
        let (reply, answer) = oneshot::channel();
        if self
            .jobs
            .send(Job {
                password,
                stored,
                reply,
            })
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

fn work(queue: &Mutex<mpsc::Receiver<Job>>, dummy: &str) {
    // Taken (and touched) at start, for the parameters of our own hashes: the server's
    // memory is then the same before and after the first login.
    let mut workspace = Workspace::default();
    workspace
        .blocks
        .resize(Params::default().block_count(), Block::default());
    loop {
        // A poisoned lock only means another worker panicked while waiting; the queue is fine.
        let job = queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        let Ok(job) = job else {
            return;
        };
        let verified = verify_or_dummy(
            &mut workspace,
            dummy,
            job.password.expose(),
            job.stored.as_deref(),
        );
        let _ = job.reply.send(verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_password;

    fn hash(password: &str) -> String {
        hash_password(&Secret::new(password.to_owned())).unwrap_or_default()
    }

    #[test]
    fn verifies_our_hashes_and_reuses_its_memory() {
        let mut workspace = Workspace::default();
        let stored = hash("right");
        assert_eq!(workspace.verify(b"right", &stored), Some(true));
        let allocated = workspace.blocks.capacity();
        assert_eq!(workspace.verify(b"wrong", &stored), Some(false));
        assert_eq!(
            workspace.blocks.capacity(),
            allocated,
            "the buffer is reused"
        );
        assert_eq!(allocated, Params::default().block_count());
    }

    #[test]
    fn unusable_hashes_are_refused() {
        let mut workspace = Workspace::default();
        assert_eq!(workspace.verify(b"x", "not a hash"), None);
        assert_eq!(
            workspace.verify(
                b"x",
                "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
            ),
            None,
            "absurd memory"
        );
        let dummy = hash("dummy");
        assert!(
            !verify_or_dummy(&mut workspace, &dummy, b"dummy", None),
            "unknown users never pass"
        );
        assert!(!verify_or_dummy(
            &mut workspace,
            &dummy,
            b"dummy",
            Some("garbage")
        ));
    }

    #[tokio::test]
    async fn the_pool_answers_and_stops_with_its_owner() {
        let dummy: Arc<str> = hash("dummy").into();
        let pool = VerifyPool::start(2, dummy).unwrap_or_else(|e| panic!("{e}"));
        let stored = hash("pw");
        assert!(
            pool.verify(Secret::new(b"pw".to_vec()), Some(stored.clone()))
                .await
        );
        assert!(!pool.verify(Secret::new(b"no".to_vec()), Some(stored)).await);
        assert!(!pool.verify(Secret::new(b"pw".to_vec()), None).await);
    }
}
