//! The bookkeeping of synchronous calls on one thread: how deep it is in
//! them, the epoch of its outermost one (which threads waiting for it read,
//! see [`crate::closure::dispatch`]), the stack each call and each closure
//! call into JavaScript must find left, and the generations of the handle
//! scope that the closures called under one call share.
//!
//! The N-API layer keeps one [`SyncState`] per thread and one
//! [`Published`] per environment; none of it needs N-API.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// The most synchronous calls one thread may be in at once (JavaScript ->
/// `ffi.call` -> C -> closure -> JavaScript -> `ffi.call` ...): the next one
/// throws `ERR_FFI_STACK_EXHAUSTED`. A level with small frames takes about
/// 3.4 KiB of stack (Node 20, x86-64; the main thread died at level 288),
/// so 128 levels take about 440 KiB of the main thread's 984 KiB, leaving
/// room for the callbacks' own frames; deeper or bigger frames meet the
/// stack check first.
pub const MAX_SYNC_DEPTH: u32 = 128;

/// The stack a closure must find left above V8's limit to call into
/// JavaScript: room for the dispatcher, a callback of modest depth, and for
/// reporting what it throws to 'uncaughtException' (Node exits with code 7
/// when it cannot run that handler). That report alone took 42 KiB with an
/// empty handler and up to 56 KiB with one that logs the error (Node 20).
pub const CLOSURE_RESERVE: usize = 96 * 1024;

/// The stack a synchronous call must find left: what libffi may copy onto
/// it by value, and then a closure's reserve.
pub const CALL_RESERVE: usize = crate::cif::MAX_BY_VALUE + CLOSURE_RESERVE;

/// V8's default `--stack-size` on the main thread, in KiB.
const V8_STACK_KB: usize = 984;

/// What Node keeps below a Worker's JavaScript stack for native code
/// (`kStackBufferSize` in node_worker.cc): the Worker's V8 limit is that far
/// above the low end of its thread's stack.
const WORKER_STACK_BUFFER: usize = 192 * 1024;

/// What a JavaScript thread publishes to the threads that wait for it to
/// run their closure calls: the synchronous call it is blocked in, and the
/// call during which one of them gave up.
#[derive(Default)]
pub struct Published {
    /// The epoch of the outermost synchronous call the thread is in, 0 when
    /// it is in none. Only that thread writes it (a plain store: no locked
    /// instruction on the call path).
    blocked: AtomicU64,
    /// The epoch of a call during which another thread gave up waiting for
    /// this one; tagged with the epoch so that a give-up racing with the end
    /// of one call can never be blamed on the next.
    abandoned: AtomicU64,
}

impl Published {
    /// The epoch of the synchronous call the thread is blocked in, if it is.
    pub fn blocked_epoch(&self) -> Option<u64> {
        match self.blocked.load(Ordering::Acquire) {
            0 => None,
            epoch => Some(epoch),
        }
    }

    /// Records that a thread gave up waiting during the call of `epoch`.
    pub fn mark_abandoned(&self, epoch: u64) {
        self.abandoned.store(epoch, Ordering::Release);
    }
}

/// One thread's synchronous calls. Every method is for that thread only
/// (the type is not `Sync`).
pub struct SyncState {
    /// How deep this thread is in synchronous calls.
    depth: Cell<u32>,
    /// Counts this thread's outermost synchronous calls (from 1), so that a
    /// waiting thread can tell one long call from several short ones.
    epoch: Cell<u64>,
    /// The lowest stack address from which a synchronous call may start
    /// (see [`SyncState::init_stack`]); 0 while unknown.
    call_floor: Cell<usize>,
    /// The lowest stack address from which a closure may call into
    /// JavaScript; 0 while unknown.
    closure_floor: Cell<usize>,
    /// A closure call under the innermost synchronous call was refused for
    /// want of stack: that call throws when C returns. Each call keeps its
    /// own (see [`SyncGuard`]), whatever calls nested in it later do.
    stack_refused: Cell<bool>,
}

impl Default for SyncState {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a thread's stack checks start refusing, as `(call floor, closure
/// floor)`, for a stack from `low` to `high` and V8's `--stack-size` of
/// `v8_stack_kb` KiB. V8 allows that much below where the thread started on
/// the main thread, and a Worker's stack less Node's reserve below it; both
/// are estimated and the higher of the two taken: no lower than V8's real
/// limit, so the checks refuse early rather than late (in a Worker with a
/// large stack, from 984 KiB deep rather than near 4 MiB).
fn floors(low: usize, high: usize, v8_stack_kb: usize) -> (usize, usize) {
    let limit = low
        .saturating_add(WORKER_STACK_BUFFER)
        .max(high.saturating_sub(v8_stack_kb.saturating_mul(1024)));
    (
        limit.saturating_add(CALL_RESERVE),
        limit.saturating_add(CLOSURE_RESERVE),
    )
}

impl SyncState {
    pub const fn new() -> SyncState {
        SyncState {
            depth: Cell::new(0),
            epoch: Cell::new(0),
            call_floor: Cell::new(0),
            closure_floor: Cell::new(0),
            stack_refused: Cell::new(false),
        }
    }

    /// Works out where this thread's JavaScript stack ends, which N-API does
    /// not tell (see [`floors`]): `v8_stack_kb` is V8's `--stack-size` if
    /// the process was started with one. Call it on the thread itself.
    pub fn init_stack(&self, v8_stack_kb: Option<usize>) {
        let Some((low, high)) = crate::os::stack_bounds() else {
            return;
        };
        let (call, closure) = floors(low, high, v8_stack_kb.unwrap_or(V8_STACK_KB));
        self.call_floor.set(call);
        self.closure_floor.set(closure);
    }

    /// Whether a closure called here may call into JavaScript: false (and
    /// the innermost synchronous call, if any, will throw) when too little
    /// stack is left.
    pub fn closure_may_enter(&self) -> bool {
        if crate::os::stack_position() >= self.closure_floor.get() {
            return true;
        }
        self.refuse_closure();
        false
    }

    /// Records that a closure call was refused for want of stack, for the
    /// innermost synchronous call to report (nothing to report outside one).
    pub fn refuse_closure(&self) {
        if self.depth.get() > 0 {
            self.stack_refused.set(true);
        }
    }

    /// Marks this thread as blocked in one more synchronous call until the
    /// guard leaves or drops; the outermost call publishes its epoch to
    /// `published` (this thread's environment's, if it has one). Only this
    /// thread writes what it publishes, so plain stores do: a waiter reads
    /// `blocked` and, once it gives up, tags `abandoned` with the epoch.
    /// Refused, before anything reaches C, at [`MAX_SYNC_DEPTH`] nested calls
    /// or with less than [`CALL_RESERVE`] of stack left.
    #[inline(always)]
    pub fn enter<'a>(&'a self, published: Option<&'a Published>) -> Result<SyncGuard<'a>, Error> {
        let depth = self.depth.get();
        if depth >= MAX_SYNC_DEPTH {
            return Err(Error::StackExhausted(format!(
                "ffi.call: this thread is already in {depth} nested synchronous calls \
                 (JavaScript -> ffi.call -> C -> closure -> JavaScript ...), the limit"
            )));
        }
        if crate::os::stack_position() < self.call_floor.get() {
            return Err(Error::StackExhausted(format!(
                "ffi.call: less than {} KiB of this thread's stack is left ({depth} synchronous \
                 calls deep); a call needs that much for libffi's copies and its closures",
                CALL_RESERVE / 1024
            )));
        }
        self.depth.set(depth + 1);
        if depth == 0 {
            let epoch = self.epoch.get() + 1;
            self.epoch.set(epoch);
            if let Some(p) = published {
                p.blocked.store(epoch, Ordering::Release);
            }
        }
        Ok(SyncGuard {
            state: self,
            published,
            outer_refused: self.stack_refused.replace(false),
        })
    }

    /// Counts one synchronous call out; true if that was the outermost one
    /// (which then no longer publishes an epoch).
    fn exit(&self, published: Option<&Published>) -> bool {
        let depth = self.depth.get() - 1;
        self.depth.set(depth);
        if depth != 0 {
            return false;
        }
        if let Some(p) = published {
            p.blocked.store(0, Ordering::Release);
        }
        true
    }
}

/// A synchronous call in progress on its thread (see [`SyncState::enter`]);
/// holds the enclosing call's `stack_refused`, put back when this one ends.
pub struct SyncGuard<'a> {
    state: &'a SyncState,
    published: Option<&'a Published>,
    outer_refused: bool,
}

impl SyncGuard<'_> {
    /// Leaves the call; an error when a closure called during it was
    /// refused for want of stack, or when it was the outermost one and
    /// another thread gave up waiting for this thread meanwhile.
    #[inline(always)]
    pub fn leave(self) -> Result<(), Error> {
        let (t, published, outer) = (self.state, self.published, self.outer_refused);
        std::mem::forget(self);
        let refused = t.stack_refused.replace(outer);
        let abandoned = t.exit(published)
            && published.is_some_and(|p| p.abandoned.load(Ordering::Acquire) == t.epoch.get());
        if refused {
            Err(closure_refused_error())
        } else if abandoned {
            Err(deadlock_error())
        } else {
            Ok(())
        }
    }
}

impl Drop for SyncGuard<'_> {
    fn drop(&mut self) {
        self.state.stack_refused.set(self.outer_refused);
        self.state.exit(self.published);
    }
}

/// The error of a closure call refused for want of stack.
fn closure_refused_error() -> Error {
    Error::StackExhausted(format!(
        "ffi.call: a JavaScript closure called during this call could not run: less than {} KiB \
         of this thread's stack was left for JavaScript (C received a zeroed result); \
         call it with less stack in use, or from fewer nested calls",
        CLOSURE_RESERVE / 1024
    ))
}

/// The error of a synchronous call during which another thread gave up
/// waiting for this one.
pub fn deadlock_error() -> Error {
    Error::WouldDeadlock(format!(
        "ffi.call: while this thread was blocked in ffi.call, another thread waited {} ms \
         for it to run a JavaScript closure and was given a zeroed result; call C functions \
         that call back from other threads with ffi.callAsync",
        crate::closure::dispatch::DEADLOCK_WAIT.as_millis()
    ))
}

/// The last [`ScopeUses::generation`] handed out.
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// The uses of a handle scope that the closures called by one synchronous
/// call share, instead of opening and closing one each (Node allocates
/// every scope it opens): the scope is renewed every [`ScopeUses::USES`]
/// callbacks so that handles stay few, and each opening has a generation, a
/// number never used before in this process, so that a value remembered
/// with it ([`Remembered`]) is valid exactly while that opening is current.
pub struct ScopeUses {
    uses: Cell<u32>,
    generation: Cell<u64>,
}

impl Default for ScopeUses {
    fn default() -> Self {
        Self::new()
    }
}

impl ScopeUses {
    /// Callbacks per opening of the scope.
    pub const USES: u32 = 64;

    pub const fn new() -> ScopeUses {
        ScopeUses {
            uses: Cell::new(0),
            generation: Cell::new(0),
        }
    }

    /// Whether the open scope served its uses: close it, open a new one.
    #[inline(always)]
    pub fn spent(&self) -> bool {
        self.uses.get() >= Self::USES
    }

    /// A new scope was opened: a new generation, no uses yet.
    #[inline(always)]
    pub fn opened(&self) {
        self.uses.set(0);
        self.generation
            .set(GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1);
    }

    /// One more callback runs in the open scope.
    #[inline(always)]
    pub fn used(&self) {
        self.uses.set(self.uses.get() + 1);
    }

    /// The open scope's generation; 0 before a scope was opened.
    #[inline(always)]
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }
}

/// A value obtained in one opening of a shared scope, given back while that
/// opening is still current (the same [`ScopeUses::generation`]) instead of
/// being looked up again. Generation 0 (no shared scope) remembers nothing.
pub struct Remembered<T: Copy>(Cell<(u64, Option<T>)>);

impl<T: Copy> Default for Remembered<T> {
    fn default() -> Self {
        Remembered(Cell::new((0, None)))
    }
}

impl<T: Copy> Remembered<T> {
    /// The value remembered in `generation`, if any.
    #[inline(always)]
    pub fn get(&self, generation: u64) -> Option<T> {
        match self.0.get() {
            (g, v) if g == generation && generation != 0 => v,
            _ => None,
        }
    }

    /// Remembers `value` for `generation` (nothing for 0).
    #[inline(always)]
    pub fn set(&self, generation: u64, value: T) {
        if generation != 0 {
            self.0.set((generation, Some(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: Error) -> &'static str {
        e.code()
    }

    #[test]
    fn nested_calls_stop_at_the_depth_limit() {
        let t = SyncState::new();
        let mut guards = Vec::new();
        for _ in 0..MAX_SYNC_DEPTH {
            guards.push(t.enter(None).expect("within the limit"));
        }
        let Err(e) = t.enter(None) else {
            panic!("one call past the limit was let in")
        };
        assert_eq!(code(e), "ERR_FFI_STACK_EXHAUSTED");
        // Leaving one makes room for one.
        guards.pop().unwrap().leave().unwrap();
        guards.push(t.enter(None).expect("room again"));
        while let Some(g) = guards.pop() {
            g.leave().unwrap();
        }
        assert_eq!(t.depth.get(), 0);
    }

    #[test]
    fn a_call_below_the_stack_floor_is_refused_before_it_starts() {
        let t = SyncState::new();
        t.call_floor.set(usize::MAX);
        let Err(e) = t.enter(None) else {
            panic!("a call with no stack left was let in")
        };
        assert_eq!(code(e), "ERR_FFI_STACK_EXHAUSTED");
        assert_eq!(t.depth.get(), 0, "nothing counted in");
    }

    #[test]
    fn floors_follow_the_larger_of_v8s_size_and_a_workers_reserve() {
        // A main thread's 8 MiB stack: V8's 984 KiB below its top.
        let (high, low) = (0x7fff_0000_0000usize, 0x7fff_0000_0000 - 8 * 1024 * 1024);
        let limit = high - 984 * 1024;
        assert_eq!(
            floors(low, high, 984),
            (limit + CALL_RESERVE, limit + CLOSURE_RESERVE)
        );
        // A Worker's small stack: Node's reserve above its low end.
        let low = high - 1024 * 1024;
        let limit = low + WORKER_STACK_BUFFER;
        assert_eq!(
            floors(low, high, 984),
            (limit + CALL_RESERVE, limit + CLOSURE_RESERVE)
        );
        // The stack the test runs on is not below its own floors.
        let t = SyncState::new();
        t.init_stack(None);
        t.enter(None)
            .expect("room on a test thread")
            .leave()
            .unwrap();
        assert!(t.closure_may_enter());
    }

    #[test]
    fn a_refused_closure_fails_the_call_it_ran_under_and_no_other() {
        let t = SyncState::new();
        // Outside any call there is nothing to report.
        t.closure_floor.set(usize::MAX);
        assert!(!t.closure_may_enter());
        let outer = t.enter(None).unwrap();
        let inner = t.enter(None).unwrap();
        assert!(!t.closure_may_enter());
        assert_eq!(code(inner.leave().unwrap_err()), "ERR_FFI_STACK_EXHAUSTED");
        // The refusal was the inner call's: the outer one returns.
        outer.leave().unwrap();
        // And one under the outer call after the inner returned is the
        // outer's.
        let outer = t.enter(None).unwrap();
        t.enter(None).unwrap().leave().unwrap();
        t.refuse_closure();
        assert_eq!(code(outer.leave().unwrap_err()), "ERR_FFI_STACK_EXHAUSTED");
        // A guard dropped on an error path leaves things as it found them.
        drop(t.enter(None).unwrap());
        t.enter(None).unwrap().leave().unwrap();
    }

    #[test]
    fn the_outermost_call_publishes_a_new_epoch_and_clears_it() {
        let t = SyncState::new();
        let p = Published::default();
        assert_eq!(p.blocked_epoch(), None);
        let outer = t.enter(Some(&p)).unwrap();
        let first = p.blocked_epoch().expect("published");
        let inner = t.enter(Some(&p)).unwrap();
        assert_eq!(p.blocked_epoch(), Some(first), "nested calls keep it");
        inner.leave().unwrap();
        assert_eq!(p.blocked_epoch(), Some(first));
        outer.leave().unwrap();
        assert_eq!(p.blocked_epoch(), None);
        let g = t.enter(Some(&p)).unwrap();
        assert!(
            p.blocked_epoch().unwrap() > first,
            "a new call, a new epoch"
        );
        drop(g);
        assert_eq!(p.blocked_epoch(), None, "dropped guards clear it too");
    }

    #[test]
    fn a_give_up_is_blamed_on_the_call_of_its_epoch_only() {
        let t = SyncState::new();
        let p = Published::default();
        let g = t.enter(Some(&p)).unwrap();
        let epoch = p.blocked_epoch().unwrap();
        let inner = t.enter(Some(&p)).unwrap();
        p.mark_abandoned(epoch);
        // Only the outermost call reports it.
        inner.leave().unwrap();
        assert_eq!(code(g.leave().unwrap_err()), "ERR_FFI_DEADLOCK");
        // A give-up tagged with the last call's epoch is not the next one's.
        t.enter(Some(&p)).unwrap().leave().unwrap();
        // A refusal for want of stack is reported first.
        let g = t.enter(Some(&p)).unwrap();
        p.mark_abandoned(p.blocked_epoch().unwrap());
        t.refuse_closure();
        assert_eq!(code(g.leave().unwrap_err()), "ERR_FFI_STACK_EXHAUSTED");
    }

    #[test]
    fn scope_generations_are_unique_and_renewed_after_their_uses() {
        let (a, b) = (ScopeUses::new(), ScopeUses::new());
        assert_eq!(a.generation(), 0, "no scope opened yet");
        a.opened();
        b.opened();
        let other = std::thread::spawn(|| {
            let c = ScopeUses::new();
            c.opened();
            c.generation()
        })
        .join()
        .unwrap();
        let (ga, gb) = (a.generation(), b.generation());
        assert!(ga != 0 && gb != 0 && ga != gb && other != ga && other != gb);
        for _ in 0..ScopeUses::USES {
            assert!(!a.spent());
            a.used();
        }
        assert!(a.spent());
        a.opened();
        assert!(!a.spent());
        assert!(a.generation() != ga && a.generation() != gb);
    }

    #[test]
    fn a_remembered_value_lives_as_long_as_its_generation() {
        let r = Remembered::<usize>::default();
        let s = ScopeUses::new();
        assert_eq!(r.get(s.generation()), None);
        r.set(0, 1);
        assert_eq!(r.get(0), None, "no shared scope, nothing remembered");
        s.opened();
        r.set(s.generation(), 7);
        assert_eq!(r.get(s.generation()), Some(7));
        s.opened();
        assert_eq!(r.get(s.generation()), None, "renewed: looked up again");
    }
}
