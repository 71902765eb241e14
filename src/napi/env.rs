//! What one Node environment (the main thread, or a Worker) shares with the
//! threads that call its closures: the thread-safe function that carries
//! their calls to the JavaScript thread, whether the environment is still
//! alive, and whether its JavaScript thread is blocked in a synchronous call.
//!
//! `stackInit` and `closuresEnding`: see lib/CONTRACT.md §2.

use std::cell::{Cell, RefCell};
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use napi::{sys, Env};
use napi_derive::napi;

use super::{napi_ok, Cx, Js};
use crate::call::Outcome;
use crate::sync::{Published, ScopeUses, SyncGuard, SyncState};

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
    /// The synchronous call its JavaScript thread is blocked in, and the
    /// one during which another thread gave up waiting for it.
    pub published: Published,
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
            call_scope: Cell::new(ptr::null()),
            sync: SyncState::new(),
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
    /// The fast path's control cell (see call.rs).
    pub control: Cell<*const f64>,
    /// The outcome of the last synchronous call (`ffi.errno()`).
    pub last: Cell<Outcome>,
    /// This thread's errno slot (set with `control`): the fast path reads
    /// it without a call to the C library.
    pub errno: Cell<*mut std::os::raw::c_int>,
    /// The handle scope of the synchronous call whose C code is running
    /// right now (NULL while JavaScript runs, and outside calls).
    pub call_scope: Cell<*const CallScope>,
    /// Its synchronous calls: depth, epochs, stack checks.
    pub sync: SyncState,
}

/// Sets up this thread's stack checks (see [`SyncState::init_stack`]): index.js passes
/// V8's `--stack-size` if the process was started with one, else undefined.
#[napi]
pub fn stack_init(env: Env, v8_stack_kb: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let kb = cx.opt_number(v8_stack_kb, &|| "stackInit: v8StackKb".into())?;
    let kb = kb
        .filter(|k| k.is_finite() && *k >= 1.0)
        .map(|k| k as usize);
    THREAD.with(|t| t.sync.init_stack(kb));
    Ok(())
}

/// A handle scope that the closures called by one synchronous call share,
/// instead of opening and closing one each: opened by the first callback,
/// renewed and numbered as [`ScopeUses`] says, closed when the call
/// returns. Only used by callbacks that C makes directly under that call,
/// where it is the innermost scope; JavaScript code (and so any other
/// addon) runs with `call_scope` cleared.
pub struct CallScope {
    env: sys::napi_env,
    scope: Cell<sys::napi_handle_scope>,
    uses: ScopeUses,
}

impl CallScope {
    pub fn new(env: sys::napi_env) -> CallScope {
        CallScope {
            env,
            scope: Cell::new(ptr::null_mut()),
            uses: ScopeUses::new(),
        }
    }

    /// Makes sure the scope is open for one more callback.
    ///
    /// # Safety
    /// On its thread, with C code running directly under the call that
    /// owns this scope (so it is, or would be, the innermost scope).
    pub unsafe fn enter(&self) -> bool {
        let mut scope = self.scope.get();
        if !scope.is_null() && self.uses.spent() {
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
            self.uses.opened();
        }
        self.uses.used();
        true
    }

    /// The open scope's generation (after [`CallScope::enter`]): a value
    /// obtained under the same generation is still in an open scope.
    pub fn generation(&self) -> u64 {
        self.uses.generation()
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
        self.published.blocked_epoch()
    }
    fn mark_abandoned(&self, epoch: u64) {
        self.published.mark_abandoned(epoch)
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
        published: Published::default(),
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

/// Records that this thread's environment starts to exit (index.js calls
/// it from `process`' `'exit'` event): calls from other threads get zero
/// from now on. Nothing to do where no closure was ever made.
pub fn mark_ending() {
    if let Some(s) = CURRENT.with(|c| c.borrow().clone()) {
        s.ending.store(true, Ordering::SeqCst);
    }
}

/// Enters a synchronous call on the thread whose state is `t` (see
/// [`SyncState::enter`]), published to its environment if it has one.
#[inline(always)]
pub fn enter_sync(t: &Thread) -> Result<SyncGuard<'_>, crate::error::Error> {
    // SAFETY: CURRENT holds the Arc while the pointer is set, and only the
    // cleanup hook (which cannot run during a call on this thread) clears it.
    // (The environment may gain its shared state during the call: then it
    // never published this call's epoch, and has nothing to clear.)
    let shared = unsafe { t.shared.get().as_ref() };
    t.sync.enter(shared.map(|s| &s.published))
}
