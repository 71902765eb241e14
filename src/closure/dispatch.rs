//! Closure calls from threads other than the JavaScript thread that owns
//! the closure: the request a calling thread queues, the states it goes
//! through, and the rules under which the calling thread stops waiting and
//! gives C a zeroed result instead.
//!
//! The JavaScript thread is reached through [`JsThread`], which the N-API
//! layer implements over a thread-safe function (and the tests over a plain
//! thread). A request is `Pending` until the JavaScript thread takes it
//! (`Running`), then `Done`; a calling thread that gives up marks it
//! `Abandoned`, after which nothing writes to its return value. It gives up:
//! - at once, when the JavaScript thread takes no more calls (its
//!   environment ended or is exiting);
//! - while `Pending`, after [`DEADLOCK_WAIT`] during which the JavaScript
//!   thread stayed blocked in one synchronous call (it cannot run the call
//!   until that returns, and that may wait for this thread): that call is
//!   told ([`JsThread::mark_abandoned`]) and throws `ERR_FFI_DEADLOCK`;
//! - while `Running`, once the environment is exiting (`process.exit()` or
//!   an uncaught error inside `fn` never returns to answer). The result is
//!   therefore written to the request's own copy first, and to C's return
//!   value only while the calling thread still waits.

use std::os::raw::c_void;
use std::ptr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long another thread waits for a JavaScript thread that stays blocked
/// in one synchronous call before it takes a zeroed result (and that call
/// throws `ERR_FFI_DEADLOCK` when it returns).
pub const DEADLOCK_WAIT: Duration = Duration::from_millis(1000);

/// How often a waiting thread looks again at the JavaScript thread's state.
const POLL: Duration = Duration::from_millis(20);

/// The JavaScript thread of one environment, as the threads that call its
/// closures see it. Every method may be called from any thread.
pub trait JsThread: Send + Sync {
    /// Queues `request` (a raw [`Request`], see [`Request::from_raw`]) for
    /// the JavaScript thread; false when it takes no more calls (the caller
    /// still owns `request` then).
    fn enqueue(&self, request: *mut c_void) -> bool;

    /// Whether a calling thread may still wait for it: its environment is
    /// alive and not exiting.
    fn answers_remote(&self) -> bool;

    /// Whether its environment started to exit.
    fn ending(&self) -> bool;

    /// The epoch of the synchronous call it is blocked in, if it is (a new
    /// number for each outermost synchronous call).
    fn blocked_epoch(&self) -> Option<u64>;

    /// Records that a calling thread gave up waiting during the
    /// synchronous call of `epoch`.
    fn mark_abandoned(&self, epoch: u64);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
    Abandoned,
}

/// One call from another thread, shared by the calling thread (which waits)
/// and the JavaScript thread (which runs it).
pub struct Request<H> {
    state: Mutex<State>,
    done: Condvar,
    /// Only dereferenced under the protocol (Pending or Running), while the
    /// calling thread holds the handler alive.
    handler: *const H,
    /// C's return value and arguments, valid while the calling thread waits.
    ret: *mut c_void,
    args: *mut *mut c_void,
    /// Bytes of C's return value: 0 for void.
    ret_bytes: usize,
}

// SAFETY: the raw pointers are only used by the thread that holds the
// request in the Pending -> Running -> Done protocol under the mutex; the
// handler is shared between threads by design (the caller of `call` vouches
// that it may be).
unsafe impl<H> Send for Request<H> {}
// SAFETY: as above.
unsafe impl<H> Sync for Request<H> {}

impl<H> Request<H> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes back a request that [`call`] queued.
    ///
    /// # Safety
    /// `raw` is what [`JsThread::enqueue`] was given for a `Request<H>`,
    /// taken back once.
    pub unsafe fn from_raw(raw: *mut c_void) -> Arc<Request<H>> {
        // SAFETY: the reference that `call` leaked for the queue.
        unsafe { Arc::from_raw(raw as *const Request<H>) }
    }

    /// On the JavaScript thread: runs the call if the calling thread still
    /// waits for it to start. `run(handler, ret, args)` writes the result
    /// into `ret`, a buffer of the request's own with room for it; it is
    /// copied to C only if the calling thread still waits when `run`
    /// returns.
    ///
    /// # Safety
    /// On the JavaScript thread the handler belongs to; `run` may read
    /// `args` only before it calls into JavaScript (a calling thread gives
    /// up during `Running` only while its environment exits, which only
    /// JavaScript on this thread can start).
    pub unsafe fn run(&self, run: impl FnOnce(&H, *mut c_void, *mut *mut c_void)) {
        let mut st = self.lock();
        if *st != State::Pending {
            return;
        }
        *st = State::Running;
        drop(st);
        // SAFETY: Running: the calling thread keeps the handler alive until
        // it gives up, and it gives up only as described above.
        let handler = unsafe { &*self.handler };
        let mut result = [0u64; 4];
        let mut heap = Vec::new();
        let local = if self.ret_bytes <= size_of_val(&result) {
            result.as_mut_ptr().cast::<u8>()
        } else {
            heap.resize(self.ret_bytes.div_ceil(8), 0u64);
            heap.as_mut_ptr().cast::<u8>()
        };
        run(handler, local.cast(), self.args);
        let mut st = self.lock();
        if *st == State::Running {
            if self.ret_bytes > 0 {
                // SAFETY: still waited for, so `ret` is live with ret_bytes
                // of room (libffi's word); distinct from `local`.
                unsafe { ptr::copy_nonoverlapping(local, self.ret.cast::<u8>(), self.ret_bytes) };
            }
            *st = State::Done;
            self.done.notify_all();
        }
    }

    /// Answers the call with zeroes without running it: its environment is
    /// being torn down.
    pub fn answer_zero(&self) {
        let mut st = self.lock();
        if *st != State::Pending {
            return;
        }
        // SAFETY: Pending, under the lock: the calling thread still waits,
        // so `ret` is live with ret_bytes of room.
        unsafe { zero(self.ret, self.ret_bytes) };
        *st = State::Done;
        self.done.notify_all();
    }
}

/// Zeroes `bytes` of a return value (nothing for void or NULL).
///
/// # Safety
/// `ret` is NULL or has `bytes` of room.
unsafe fn zero(ret: *mut c_void, bytes: usize) {
    if bytes > 0 && !ret.is_null() {
        // SAFETY: the caller's word.
        unsafe { ptr::write_bytes(ret.cast::<u8>(), 0, bytes) }
    }
}

/// Calls `handler` on `js`'s thread from this one: queues the call and
/// waits for its answer, or gives up (C's return value zeroed) under the
/// rules in the module documentation.
///
/// # Safety
/// Not on `js`'s thread; `handler` stays alive until this returns; `ret`
/// has `ret_bytes` of room and `args` holds the call's arguments, as libffi
/// passes them, until this returns.
pub unsafe fn call<H, T: JsThread + ?Sized>(
    js: &T,
    handler: &H,
    ret: *mut c_void,
    args: *mut *mut c_void,
    ret_bytes: usize,
) {
    let req = Arc::new(Request {
        state: Mutex::new(State::Pending),
        done: Condvar::new(),
        handler,
        ret,
        args,
        ret_bytes,
    });
    let raw = Arc::into_raw(req.clone()) as *mut c_void;
    if !js.enqueue(raw) {
        // SAFETY: not queued, so the reference is still ours.
        drop(unsafe { Request::<H>::from_raw(raw) });
        // SAFETY: the caller's word for `ret`.
        return unsafe { zero(ret, ret_bytes) };
    }
    let mut st = req.lock();
    let mut blocked_since: Option<(u64, Instant)> = None;
    loop {
        let give_up = match *st {
            State::Done | State::Abandoned => return,
            State::Running => {
                blocked_since = None;
                js.ending()
            }
            State::Pending => {
                if !js.answers_remote() {
                    true
                } else if let Some(epoch) = js.blocked_epoch() {
                    match blocked_since {
                        Some((e, t)) if e == epoch => t.elapsed() >= DEADLOCK_WAIT,
                        _ => {
                            blocked_since = Some((epoch, Instant::now()));
                            false
                        }
                    }
                } else {
                    blocked_since = None;
                    false
                }
            }
        };
        if give_up {
            if let (true, Some((epoch, _))) = (js.answers_remote(), blocked_since) {
                js.mark_abandoned(epoch);
            }
            *st = State::Abandoned;
            // SAFETY: the caller's word for `ret`; the JavaScript thread
            // will not touch an abandoned request's `ret` (nor, past
            // Pending, its `args`).
            return unsafe { zero(ret, ret_bytes) };
        }
        st = req
            .done
            .wait_timeout(st, POLL)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

#[cfg(test)]
mod tests {
    //! A fake JavaScript thread: a plain thread with a queue, whose
    //! alive/ending/blocked state the tests set.

    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::thread;

    /// Doubles its `i64` argument, counting its runs.
    struct Double {
        runs: AtomicUsize,
    }

    impl Double {
        fn new() -> Double {
            Double {
                runs: AtomicUsize::new(0),
            }
        }

        /// What the JavaScript side would do: read the argument, write the
        /// result.
        ///
        /// # Safety
        /// One `i64` argument; `ret` has room for one.
        unsafe fn answer(&self, ret: *mut c_void, args: *mut *mut c_void) {
            self.runs.fetch_add(1, Ordering::SeqCst);
            // SAFETY: the caller's word.
            unsafe { *ret.cast::<i64>() = 2 * **args.cast::<*const i64>() };
        }
    }

    #[derive(Default)]
    struct FakeJs {
        /// The queue; None once the thread takes no more calls.
        queue: Mutex<Option<mpsc::Sender<usize>>>,
        dead: AtomicBool,
        ending: AtomicBool,
        blocked: AtomicU64,
        abandoned: AtomicU64,
    }

    impl JsThread for FakeJs {
        fn enqueue(&self, request: *mut c_void) -> bool {
            if !self.answers_remote() {
                return false;
            }
            let q = self.queue.lock().unwrap();
            q.as_ref().is_some_and(|q| q.send(request as usize).is_ok())
        }
        fn answers_remote(&self) -> bool {
            !self.dead.load(Ordering::SeqCst) && !self.ending()
        }
        fn ending(&self) -> bool {
            self.ending.load(Ordering::SeqCst)
        }
        fn blocked_epoch(&self) -> Option<u64> {
            Some(self.blocked.load(Ordering::SeqCst)).filter(|&e| e != 0)
        }
        fn mark_abandoned(&self, epoch: u64) {
            self.abandoned.store(epoch, Ordering::SeqCst);
        }
    }

    /// A fake JavaScript thread and the receiving end of its queue.
    fn fake() -> (Arc<FakeJs>, mpsc::Receiver<usize>) {
        let (tx, rx) = mpsc::channel();
        let js = Arc::new(FakeJs::default());
        *js.queue.lock().unwrap() = Some(tx);
        (js, rx)
    }

    /// Makes one call from a new thread: the result C would see.
    fn call_from_thread(
        js: &Arc<FakeJs>,
        handler: &Arc<Double>,
        x: i64,
    ) -> thread::JoinHandle<i64> {
        let (js, handler) = (js.clone(), handler.clone());
        thread::spawn(move || {
            let mut arg = x;
            let mut args = [(&mut arg as *mut i64).cast::<c_void>()];
            let mut ret: i64 = -1;
            // SAFETY: not the fake JavaScript thread; locals outlive the call.
            unsafe {
                call(
                    &*js,
                    &*handler,
                    (&mut ret as *mut i64).cast(),
                    args.as_mut_ptr(),
                    8,
                )
            };
            ret
        })
    }

    /// Runs what the fake JavaScript thread finds queued.
    fn serve(rx: &mpsc::Receiver<usize>) {
        let raw = rx.recv().unwrap();
        // SAFETY: queued by `call` for a Request<Double>, taken once; this
        // thread plays the JavaScript thread.
        let req = unsafe { Request::<Double>::from_raw(raw as *mut c_void) };
        // SAFETY: one i64 argument, a result buffer with room for it.
        unsafe { req.run(|h, ret, args| h.answer(ret, args)) };
    }

    #[test]
    fn a_call_from_another_thread_runs_on_the_js_thread() {
        let (js, rx) = fake();
        let handler = Arc::new(Double::new());
        let caller = call_from_thread(&js, &handler, 21);
        serve(&rx);
        assert_eq!(caller.join().unwrap(), 42);
        assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_ended_environment_answers_zero_at_once() {
        let (js, _rx) = fake();
        js.dead.store(true, Ordering::SeqCst);
        let handler = Arc::new(Double::new());
        assert_eq!(call_from_thread(&js, &handler, 21).join().unwrap(), 0);
        assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn teardown_answers_queued_calls_with_zero() {
        let (js, rx) = fake();
        let handler = Arc::new(Double::new());
        let caller = call_from_thread(&js, &handler, 21);
        let raw = rx.recv().unwrap();
        // SAFETY: queued by `call`, taken once.
        let req = unsafe { Request::<Double>::from_raw(raw as *mut c_void) };
        req.answer_zero();
        assert_eq!(caller.join().unwrap(), 0);
        // A request answered already is not run.
        // SAFETY: as in serve.
        unsafe { req.run(|h, ret, args| h.answer(ret, args)) };
        assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_js_thread_blocked_in_one_sync_call_is_given_up_on_and_told() {
        let (js, rx) = fake();
        js.blocked.store(7, Ordering::SeqCst);
        let handler = Arc::new(Double::new());
        let started = Instant::now();
        let caller = call_from_thread(&js, &handler, 21);
        assert_eq!(caller.join().unwrap(), 0);
        assert!(started.elapsed() >= DEADLOCK_WAIT);
        assert_eq!(js.abandoned.load(Ordering::SeqCst), 7);
        // When the JavaScript thread comes to it, the call is not run.
        serve(&rx);
        assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn short_sync_calls_one_after_another_are_not_a_deadlock() {
        let (js, rx) = fake();
        let handler = Arc::new(Double::new());
        let caller = call_from_thread(&js, &handler, 21);
        // Blocked the whole time, but each time in a new call (epoch).
        let started = Instant::now();
        let mut epoch = 1;
        while started.elapsed() < DEADLOCK_WAIT + 3 * POLL {
            js.blocked.store(epoch, Ordering::SeqCst);
            epoch += 1;
            thread::sleep(POLL / 2);
        }
        js.blocked.store(0, Ordering::SeqCst);
        serve(&rx);
        assert_eq!(caller.join().unwrap(), 42);
        assert_eq!(js.abandoned.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_exit_while_running_gives_up_and_the_late_result_goes_nowhere() {
        let (js, rx) = fake();
        let handler = Arc::new(Double::new());
        let caller = call_from_thread(&js, &handler, 21);
        let raw = rx.recv().unwrap();
        // SAFETY: queued by `call`, taken once.
        let req = unsafe { Request::<Double>::from_raw(raw as *mut c_void) };
        let (gave_up_tx, gave_up_rx) = mpsc::channel();
        let js2 = js.clone();
        // SAFETY: this thread plays the JavaScript thread; the argument is
        // read before "JavaScript" runs, as the protocol requires.
        unsafe {
            req.run(|h, ret, args| {
                let x = **args.cast::<*const i64>();
                // JavaScript starts the exit while the call runs: the caller
                // stops waiting.
                js2.ending.store(true, Ordering::SeqCst);
                gave_up_tx.send(caller.join().unwrap()).unwrap();
                h.runs.fetch_add(1, Ordering::SeqCst);
                *ret.cast::<i64>() = 2 * x;
            })
        };
        assert_eq!(gave_up_rx.recv().unwrap(), 0, "C got zero, not the late 42");
        assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn results_larger_than_the_inline_copy_are_whole() {
        let (js, rx) = fake();
        struct Fill;
        let caller = thread::spawn({
            let js = js.clone();
            move || {
                let mut ret = [0u8; 100];
                // SAFETY: locals outlive the call; no arguments.
                unsafe { call(&*js, &Fill, ret.as_mut_ptr().cast(), ptr::null_mut(), 100) };
                ret
            }
        });
        let raw = rx.recv().unwrap();
        // SAFETY: queued by `call` for a Request<Fill>, taken once.
        let req = unsafe { Request::<Fill>::from_raw(raw as *mut c_void) };
        // SAFETY: `ret` has the 100 bytes the request says.
        unsafe { req.run(|_, ret, _| ptr::write_bytes(ret.cast::<u8>(), 0xab, 100)) };
        assert_eq!(caller.join().unwrap(), [0xab; 100]);
    }
}
