//! Counts of live native objects, for leak checks (`ffi.stats()`).

use std::sync::atomic::{AtomicIsize, Ordering};

/// A process-wide count of live objects of one kind.
pub struct Counter(AtomicIsize);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicIsize::new(0))
    }
    pub fn up(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn down(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> isize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

/// Closures made and not yet freed, in environments still alive.
pub static CLOSURES: Counter = Counter::new();
/// Closures that ended environments left behind for good, since C may
/// still call them (see [`crate::closure::Closure::leave`]).
pub static CLOSURE_LEFTOVERS: Counter = Counter::new();
/// Library handles whose native state is alive (open or closed).
pub static LIBRARIES: Counter = Counter::new();
/// Libraries open (not yet `dlclose`d).
pub static LIBRARIES_OPEN: Counter = Counter::new();
/// `callAsync` calls queued or running.
pub static ASYNC_CALLS: Counter = Counter::new();
/// Environments with closure dispatch set up (a thread-safe function each).
pub static ENVIRONMENTS: Counter = Counter::new();
