//! The heap limit of a fuzz check: targets assert that handling one input grows the live
//! heap by no more than the configured limits allow, whatever the input.
//!
//! libFuzzer's own `-malloc_limit_mb` needs a sanitizer's allocator hooks, which a
//! `--sanitizer none` build does not have. So the global allocator of every target (and of
//! the replay test) is [`cap::Cap`], declared here once: it counts live bytes and refuses an
//! allocation that would pass its limit. A refused allocation makes Rust abort ("memory
//! allocation of N bytes failed"), which libFuzzer reports as a crash with the input.
//! (A counting allocator of our own would need `unsafe`, which our crates forbid.)

use cap::Cap;
use std::alloc::System;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Runs `f` with the live heap allowed to grow by at most `budget` bytes over what is live
/// now (over all threads): an allocation beyond that fails.
pub fn within<T>(budget: usize, f: impl FnOnce() -> T) -> T {
    /// Lifts the limit again, also when `f` panics.
    struct Unlimit;
    impl Drop for Unlimit {
        fn drop(&mut self) {
            let _ = ALLOCATOR.set_limit(usize::MAX);
        }
    }
    // Fails only when the new limit is below what is live, which it never is.
    let _ = ALLOCATOR.set_limit(ALLOCATOR.allocated().saturating_add(budget));
    let _unlimit = Unlimit;
    f()
}
