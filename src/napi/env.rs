//! What one Node environment (the main thread, or a Worker) shares with the
//! threads that call its closures: the thread-safe function that carries
//! their calls to the JavaScript thread, whether the environment is still
//! alive, and whether its JavaScript thread is blocked in a synchronous call.
//! `stackInit` and `closuresEnding`: see lib/CONTRACT.md §2.

use std::cell::{Cell, RefCell};
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use napi::{sys, Env};
use napi_derive::napi;

use super::{napi_ok, Cx, Js};
use crate::call::Outcome;

/// Set once the process runs its exit handlers: from then on no thread
/// touches N-API.
static EXITING: AtomicBool = AtomicBool::new(false);
static AT_EXIT: Once = Once::new();

extern "C" fn on_exit() {
    EXITING.store(true, Ordering::SeqCst);
}

pub fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

struct State {
    alive: bool,
    tsfn: sys::napi_threadsafe_function,
}

pub struct EnvShared {
    state: Mutex<State>,
    /// `state.alive`, readable without the lock (written under it).
    alive: AtomicBool,
    /// Set when this environment starts to exit (its `process` emitted
    /// `'exit'`): from then on calls from other threads are answered with
    /// zero at once, and those waiting give up, so that the exit (which
    /// joins the libuv thread pool before any cleanup hook runs) completes.
    ending: AtomicBool,
    /// The epoch of the outermost synchronous call this environment's
    /// JavaScript thread is in, 0 when it is in none. Only that thread
    /// writes it (a plain store: no locked instruction on the call path).
    blocked: AtomicU64,
    /// The epoch of a call during which another thread gave up waiting for
    /// this thread; tagged with the epoch so that a give-up racing with the
    /// end of one call can never be blamed on the next.
    abandoned: AtomicU64,
}

// SAFETY: the thread-safe function is meant to be used from any thread and
// is only used under the mutex, which also orders it with teardown.
unsafe impl Send for EnvShared {}
// SAFETY: as above.
unsafe impl Sync for EnvShared {}

thread_local! {
    static CURRENT: RefCell<Option<Arc<EnvShared>>> = const { RefCell::new(None) };
    /// What the call path reads on every call, in one place: in a cdylib
    /// each thread-local is a call to `__tls_get_addr`, so one, not three.
    pub static THREAD: Thread = const {
        Thread {
            shared: Cell::new(ptr::null()),
            control: Cell::new(ptr::null()),
            last: Cell::new(Outcome { errno: 0, last_error: 0 }),
            errno: Cell::new(ptr::null_mut()),
            depth: Cell::new(0),
            epoch: Cell::new(0),
            call_scope: Cell::new(ptr::null()),
            call_floor: Cell::new(0),
            closure_floor: Cell::new(0),
            stack_refused: Cell::new(false),
        }
    };
}

/// This thread's call-path state. Every thread has it from its start to
/// its end (it has no destructor), so it can be read at any time, teardown
/// included, and its address tells live threads apart.
pub fn this_thread() -> *const Thread {
    THREAD.with(|t| t as *const Thread)
}

/// This thread's state for the call path.
pub struct Thread {
    /// CURRENT as a plain pointer (no reference counting per call); CURRENT
    /// keeps it alive while it is set.
    pub shared: Cell<*const EnvShared>,
    /// The fast path's control cell (see fast.rs).
    pub control: Cell<*const f64>,
    /// The outcome of the last synchronous call (`ffi.errno()`).
    pub last: Cell<Outcome>,
    /// This thread's errno slot (set with `control`): the fast path reads
    /// it without a call to the C library.
    pub errno: Cell<*mut std::os::raw::c_int>,
    /// How deep this thread is in synchronous calls.
    depth: Cell<u32>,
    /// Counts this thread's outermost synchronous calls (from 1), so that a
    /// waiting thread can tell one long call from several short ones.
    epoch: Cell<u64>,
    /// The handle scope of the synchronous call whose C code is running
    /// right now (NULL while JavaScript runs, and outside calls).
    pub call_scope: Cell<*const CallScope>,
    /// The lowest stack address from which a synchronous call may start
    /// (see [`init_stack`]); 0 while unknown.
    call_floor: Cell<usize>,
    /// The lowest stack address from which a closure may call into
    /// JavaScript; 0 while unknown.
    closure_floor: Cell<usize>,
    /// A closure call under the innermost synchronous call was refused for
    /// want of stack: that call throws when C returns. Each call keeps its
    /// own (see [`SyncGuard`]), whatever calls nested in it later do.
    stack_refused: Cell<bool>,
}

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

/// Works out where this thread's JavaScript stack ends, which N-API does not
/// tell: V8 allows `--stack-size` KiB (`v8_stack_kb`, default 984) below
/// where the thread started on the main thread, and a Worker's stack less
/// Node's reserve below it. Both are estimated from the thread's stack as
/// the system reports it, and the higher of the two taken: no lower than
/// V8's real limit, so the checks refuse early rather than late (in a
/// Worker with a large stack, from 984 KiB deep rather than near 4 MiB).
pub fn init_stack(t: &Thread, v8_stack_kb: Option<usize>) {
    let Some((low, high)) = crate::os::stack_bounds() else {
        return;
    };
    let kb = v8_stack_kb.unwrap_or(V8_STACK_KB);
    let limit = low
        .saturating_add(WORKER_STACK_BUFFER)
        .max(high.saturating_sub(kb.saturating_mul(1024)));
    t.call_floor.set(limit.saturating_add(CALL_RESERVE));
    t.closure_floor.set(limit.saturating_add(CLOSURE_RESERVE));
}

/// Sets up this thread's stack checks (see [`init_stack`]): lib/state.js passes
/// V8's `--stack-size` if the process was started with one, else undefined.
#[napi]
pub fn stack_init(env: Env, v8_stack_kb: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let kb = cx.opt_number(v8_stack_kb, &|| "stackInit: v8StackKb".into())?;
    let kb = kb
        .filter(|k| k.is_finite() && *k >= 1.0)
        .map(|k| k as usize);
    THREAD.with(|t| init_stack(t, kb));
    Ok(())
}

impl Thread {
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
}

/// The error of a closure call refused for want of stack.
fn closure_refused_error() -> crate::error::Error {
    crate::error::Error::StackExhausted(format!(
        "ffi.call: a JavaScript closure called during this call could not run: less than {} KiB \
         of this thread's stack was left for JavaScript (C received a zeroed result); \
         call it with less stack in use, or from fewer nested calls",
        CLOSURE_RESERVE / 1024
    ))
}

/// A handle scope that the closures called by one synchronous call share,
/// instead of opening and closing one each (Node allocates every scope it
/// opens): opened by the first callback, renewed every [`CallScope::USES`]
/// callbacks so that handles stay few, closed when the call returns. Only
/// used by callbacks that C makes directly under that call, where it is the
/// innermost scope; JavaScript code (and so any other addon) runs with
/// `call_scope` cleared.
pub struct CallScope {
    env: sys::napi_env,
    scope: Cell<sys::napi_handle_scope>,
    uses: Cell<u32>,
    /// Which opening of a scope is current: a number never used before in
    /// this process, so a `napi_value` remembered with it is valid exactly
    /// while it is the current one (see [`CallScope::generation`]).
    generation: Cell<u64>,
}

/// The last [`CallScope::generation`] handed out.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl CallScope {
    const USES: u32 = 64;

    pub fn new(env: sys::napi_env) -> CallScope {
        CallScope {
            env,
            scope: Cell::new(ptr::null_mut()),
            uses: Cell::new(0),
            generation: Cell::new(0),
        }
    }

    /// Makes sure the scope is open for one more callback.
    ///
    /// # Safety
    /// On its thread, with C code running directly under the call that
    /// owns this scope (so it is, or would be, the innermost scope).
    pub unsafe fn enter(&self) -> bool {
        let mut scope = self.scope.get();
        if !scope.is_null() && self.uses.get() >= Self::USES {
            // SAFETY: the innermost scope (caller's word).
            unsafe { sys::napi_close_handle_scope(self.env, scope) };
            scope = ptr::null_mut();
        }
        if scope.is_null() {
            // SAFETY: as above: opened where it nests properly.
            if unsafe { sys::napi_open_handle_scope(self.env, &mut scope) } != sys::Status::napi_ok
            {
                return false;
            }
            self.scope.set(scope);
            self.uses.set(0);
            self.generation
                .set(GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
        }
        self.uses.set(self.uses.get() + 1);
        true
    }

    /// The open scope's generation (after [`CallScope::enter`]): a value
    /// obtained under the same generation is still in an open scope.
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Makes this scope its thread's current one until the guard drops,
    /// which puts the previous one back (on every way out of the call).
    pub fn install<'a>(&'a self, thread: &'a Thread) -> Installed<'a> {
        let outer = thread.call_scope.replace(self);
        Installed { thread, outer }
    }
}

/// A [`CallScope`] installed as its thread's current one (see
/// [`CallScope::install`]).
pub struct Installed<'a> {
    thread: &'a Thread,
    outer: *const CallScope,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        self.thread.call_scope.set(self.outer);
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        let scope = self.scope.get();
        if !scope.is_null() {
            // SAFETY: dropped by the call that owns it, after its C code
            // returned: the innermost scope again.
            unsafe { sys::napi_close_handle_scope(self.env, scope) };
        }
    }
}

/// The callback of the thread-safe function: runs a queued closure call.
pub type CallJs = unsafe extern "C" fn(sys::napi_env, sys::napi_value, *mut c_void, *mut c_void);

unsafe extern "C" fn cleanup(arg: *mut c_void) {
    // SAFETY: the Arc leaked for this hook in get_or_init, reclaimed once.
    let shared = unsafe { Arc::from_raw(arg as *const EnvShared) };
    {
        let mut st = shared.lock();
        st.alive = false;
        shared.alive.store(false, Ordering::SeqCst);
        // Node tears the thread-safe function down after this hook (hooks
        // run in reverse order of registration, and ours came after it),
        // handing every queued call to the callback with a NULL env.
        st.tsfn = ptr::null_mut();
    }
    crate::stats::ENVIRONMENTS.down();
    let _ = THREAD.try_with(|t| t.shared.set(ptr::null()));
    let _ = CURRENT.try_with(|c| c.borrow_mut().take());
}

impl EnvShared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn alive(&self) -> bool {
        !exiting() && self.alive.load(Ordering::SeqCst)
    }

    /// Whether another thread may still wait for this environment's
    /// JavaScript thread: alive, and not exiting.
    pub fn answers_remote(&self) -> bool {
        self.alive() && !self.ending.load(Ordering::SeqCst)
    }

    /// Whether this environment started to exit (see `ending`).
    pub fn ending(&self) -> bool {
        self.ending.load(Ordering::SeqCst)
    }

    /// Queues `data` for the JavaScript thread; false when the environment
    /// has ended (the caller still owns `data` then).
    pub fn enqueue(&self, data: *mut c_void) -> bool {
        if !self.answers_remote() {
            return false;
        }
        let st = self.lock();
        if !st.alive || st.tsfn.is_null() {
            return false;
        }
        // SAFETY: the tsfn is live while `alive` holds, and teardown takes
        // the same lock before it may go; nonblocking never waits (the queue
        // is unbounded).
        let status = unsafe {
            sys::napi_call_threadsafe_function(
                st.tsfn,
                data,
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        };
        status == sys::Status::napi_ok
    }

    /// The epoch of the synchronous call this environment's JavaScript
    /// thread is blocked in, if it is.
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

/// The JavaScript thread as closure calls from other threads see it.
impl crate::closure::dispatch::JsThread for EnvShared {
    fn enqueue(&self, request: *mut c_void) -> bool {
        EnvShared::enqueue(self, request)
    }
    fn answers_remote(&self) -> bool {
        EnvShared::answers_remote(self)
    }
    fn ending(&self) -> bool {
        EnvShared::ending(self)
    }
    fn blocked_epoch(&self) -> Option<u64> {
        EnvShared::blocked_epoch(self)
    }
    fn mark_abandoned(&self, epoch: u64) {
        EnvShared::mark_abandoned(self, epoch)
    }
}

/// Every environment with closure dispatch, for messages that belong to no
/// closure in particular (see [`warn_empty_call`]).
static ALL: Mutex<Vec<std::sync::Weak<EnvShared>>> = Mutex::new(Vec::new());

/// What the thread-safe function receives instead of a closure call: emit
/// the warning that a closure was called after it was freed.
pub const WARN_EMPTY_CALL: *mut c_void = ptr::dangling_mut();

/// C called a compiled-in entry that holds no closure (once per process):
/// queue a process warning on the first live environment. Called from any
/// thread, off N-API.
fn warn_empty_call() {
    let all = ALL.lock().unwrap_or_else(|e| e.into_inner());
    for env in all.iter().filter_map(std::sync::Weak::upgrade) {
        if env.enqueue(WARN_EMPTY_CALL) {
            return;
        }
    }
}

/// This thread's environment state, made on first use with its
/// thread-safe function (unref'd: closures do not keep the loop alive).
pub fn get_or_init(cx: &Cx, call_js: CallJs) -> napi::Result<Arc<EnvShared>> {
    if let Some(s) = CURRENT.with(|c| c.borrow().clone()) {
        return Ok(s);
    }
    let name = cx.string("ffi.Closure")?;
    let mut tsfn = ptr::null_mut();
    // SAFETY: valid env; no JavaScript function (call_js runs the closure);
    // one thread reference, held until the environment ends.
    unsafe {
        napi_ok!(sys::napi_create_threadsafe_function(
            cx.env,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            ptr::null_mut(),
            None,
            ptr::null_mut(),
            Some(call_js),
            &mut tsfn
        ));
        napi_ok!(sys::napi_unref_threadsafe_function(cx.env, tsfn));
    }
    let shared = Arc::new(EnvShared {
        state: Mutex::new(State { alive: true, tsfn }),
        alive: AtomicBool::new(true),
        ending: AtomicBool::new(false),
        blocked: AtomicU64::new(0),
        abandoned: AtomicU64::new(0),
    });
    let hook_arg = Arc::into_raw(shared.clone()) as *mut c_void;
    // SAFETY: registered after the tsfn, so it runs before Node's own
    // teardown of it; the hook reclaims the Arc.
    unsafe {
        napi_ok!(sys::napi_add_env_cleanup_hook(
            cx.env,
            Some(cleanup),
            hook_arg
        ))
    };
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain function that only stores a flag.
        unsafe { libc::atexit(on_exit) };
    });
    crate::stats::ENVIRONMENTS.up();
    {
        let mut all = ALL.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&shared));
    }
    crate::arch::entry::on_empty_call(warn_empty_call);
    THREAD.with(|t| t.shared.set(Arc::as_ptr(&shared)));
    CURRENT.with(|c| *c.borrow_mut() = Some(shared.clone()));
    Ok(shared)
}

/// Records that this thread's environment starts to exit (lib/state.js calls
/// it from `process`' `'exit'` event): calls from other threads get zero
/// from now on. Nothing to do where no closure was ever made.
pub fn mark_ending() {
    if let Some(s) = CURRENT.with(|c| c.borrow().clone()) {
        s.ending.store(true, Ordering::SeqCst);
    }
}

/// Marks this thread as blocked in a synchronous call while it lives; holds
/// the enclosing call's `stack_refused`, put back when this one ends.
pub struct SyncGuard<'a>(&'a Thread, bool);

/// Marks the thread whose state is `t` as blocked in a synchronous call.
/// Only this thread writes what it publishes, so plain stores do: a waiter
/// reads `blocked` and, once it gives up, tags `abandoned` with the epoch.
/// Refused, before anything reaches C, at [`MAX_SYNC_DEPTH`] nested calls
/// or with less than [`CALL_RESERVE`] of stack left.
pub fn enter_sync(t: &Thread) -> Result<SyncGuard<'_>, crate::error::Error> {
    let depth = t.depth.get();
    if depth >= MAX_SYNC_DEPTH {
        return Err(crate::error::Error::StackExhausted(format!(
            "ffi.call: this thread is already in {depth} nested synchronous calls \
             (JavaScript -> ffi.call -> C -> closure -> JavaScript ...), the limit"
        )));
    }
    if crate::os::stack_position() < t.call_floor.get() {
        return Err(crate::error::Error::StackExhausted(format!(
            "ffi.call: less than {} KiB of this thread's stack is left ({depth} synchronous \
             calls deep); a call needs that much for libffi's copies and its closures",
            CALL_RESERVE / 1024
        )));
    }
    t.depth.set(depth + 1);
    if depth == 0 {
        let epoch = t.epoch.get() + 1;
        t.epoch.set(epoch);
        // SAFETY: CURRENT holds the Arc while the pointer is set, and only the
        // cleanup hook (which cannot run during a call on this thread) clears it.
        if let Some(s) = unsafe { t.shared.get().as_ref() } {
            s.blocked.store(epoch, Ordering::Release);
        }
    }
    Ok(SyncGuard(t, t.stack_refused.replace(false)))
}

/// Counts one synchronous call out; the environment's shared state if that
/// was the outermost one (which no longer publishes an epoch then).
fn exit_sync(t: &Thread) -> Option<&EnvShared> {
    let depth = t.depth.get() - 1;
    t.depth.set(depth);
    if depth != 0 {
        return None;
    }
    // SAFETY: as in enter_sync. (The environment may have gained its shared
    // state during the call: then it never published this epoch, and
    // clearing `blocked` is harmless.)
    let s = unsafe { t.shared.get().as_ref() }?;
    s.blocked.store(0, Ordering::Release);
    Some(s)
}

impl SyncGuard<'_> {
    /// Leaves the call; an error when a closure called during it was
    /// refused for want of stack, or when it was the outermost one and
    /// another thread gave up waiting for this thread meanwhile.
    pub fn leave(self) -> Result<(), crate::error::Error> {
        let (t, outer) = (self.0, self.1);
        std::mem::forget(self);
        let refused = t.stack_refused.replace(outer);
        let abandoned =
            exit_sync(t).is_some_and(|s| s.abandoned.load(Ordering::Acquire) == t.epoch.get());
        if refused {
            Err(closure_refused_error())
        } else if abandoned {
            Err(super::call::deadlock_error())
        } else {
            Ok(())
        }
    }
}

impl Drop for SyncGuard<'_> {
    fn drop(&mut self) {
        self.0.stack_refused.set(self.1);
        exit_sync(self.0);
    }
}
