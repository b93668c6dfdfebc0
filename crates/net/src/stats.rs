//! Live counts of the network edge, read by the metrics endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Connections being served right now.
#[derive(Debug, Default)]
pub struct NetStats {
    imap: AtomicU64,
    lmtp: AtomicU64,
}

impl NetStats {
    /// IMAP connections holding a connection slot (refused ones are not counted).
    pub fn imap_connections(&self) -> u64 {
        self.imap.load(Ordering::Relaxed)
    }

    /// LMTP connections being served.
    pub fn lmtp_connections(&self) -> u64 {
        self.lmtp.load(Ordering::Relaxed)
    }

    /// Counts an IMAP connection until the returned guard is dropped.
    pub(crate) fn imap_open(self: &Arc<Self>) -> Open {
        Open::new(self.clone(), |stats| &stats.imap)
    }

    /// Counts an LMTP connection until the returned guard is dropped.
    pub(crate) fn lmtp_open(self: &Arc<Self>) -> Open {
        Open::new(self.clone(), |stats| &stats.lmtp)
    }
}

/// One open connection in a count.
#[derive(Debug)]
pub(crate) struct Open {
    stats: Arc<NetStats>,
    counter: fn(&NetStats) -> &AtomicU64,
}

impl Open {
    fn new(stats: Arc<NetStats>, counter: fn(&NetStats) -> &AtomicU64) -> Open {
        counter(&stats).fetch_add(1, Ordering::Relaxed);
        Open { stats, counter }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        (self.counter)(&self.stats).fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_guards() {
        let stats = Arc::new(NetStats::default());
        let a = stats.imap_open();
        let b = stats.imap_open();
        let c = stats.lmtp_open();
        assert_eq!((stats.imap_connections(), stats.lmtp_connections()), (2, 1));
        drop(a);
        drop(c);
        assert_eq!((stats.imap_connections(), stats.lmtp_connections()), (1, 0));
        drop(b);
        assert_eq!(stats.imap_connections(), 0);
    }
}
