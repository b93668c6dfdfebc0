//! A global allocator that counts live heap bytes and their high-water mark, so targets can
//! assert that memory stays within the configured limits. (libFuzzer's own `-malloc_limit_mb`
//! needs a sanitizer's allocator hooks; without a sanitizer this is the check.)
//!
//! Each fuzz target (and the replay test) installs it with
//! `#[global_allocator] static ALLOC: Counting = Counting;`. Without it, [`measure`] reports 0.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// Counts every allocation, then delegates to the system allocator.
#[derive(Debug, Clone, Copy)]
pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn grow(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

fn shrink(bytes: usize) {
    CURRENT.fetch_sub(bytes, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Relaxed);
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        new
    }
}

/// Whether [`Counting`] is the global allocator of this process.
pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// Runs `f` and returns its result with the largest growth of the live heap (over all
/// threads) while it ran, in bytes.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = CURRENT.load(Relaxed);
    PEAK.store(start, Relaxed);
    let result = f();
    (result, PEAK.load(Relaxed).saturating_sub(start))
}
