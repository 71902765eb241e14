//! `Closure` and `Closure.free`: a JavaScript function behind a C function
//! pointer. On the JavaScript thread that made it, `fn(rValue, aValues)` runs
//! at once; from any other thread the call is queued on the environment's
//! thread-safe function and the calling thread waits for the answer.

use std::cell::UnsafeCell;
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use libffi_sys::{ffi_arg, ffi_cif};
use napi::{sys, Env};
use napi_derive::napi;

use super::env::{self, EnvShared};
use super::{napi_ok, Cx, Js, CLOSURE_TAG};
use crate::closure::{zero_return, Closure, Handler};
use crate::error::Error;

/// How long another thread waits for a JavaScript thread that stays blocked
/// in one synchronous call before it takes a zeroed result (and that call
/// throws `ERR_FFI_DEADLOCK` when it returns).
pub const DEADLOCK_WAIT: Duration = Duration::from_millis(1000);

thread_local! {
    static TOKEN: u8 = const { 0 };
}

/// A number unique to each live thread (0 while a thread is being torn down).
fn thread_token() -> usize {
    TOKEN.try_with(|t| t as *const u8 as usize).unwrap_or(0)
}

/// The `rValue` and `aValues` Buffers of one reentrancy depth, reused by
/// every call at that depth.
#[derive(Clone, Copy)]
struct Frame {
    rvalue: sys::napi_ref,
    rptr: *mut u8,
    avalues: sys::napi_ref,
    aptr: *mut u8,
    values: sys::napi_ref,
    vptr: *mut u8,
}

/// What only the JavaScript thread touches.
struct JsState {
    /// Weak: JavaScript keeps the function alive as long as the closure.
    func: sys::napi_ref,
    frames: Vec<Frame>,
    depth: usize,
    release_when_idle: bool,
    released: bool,
}

pub struct JsHandler {
    owner: usize,
    env: sys::napi_env,
    shared: Arc<EnvShared>,
    /// Bytes of rValue: the return type, at least an ffi_arg.
    rsize: usize,
    /// Bytes copied back to C: 0 for void.
    ret_bytes: usize,
    nargs: usize,
    /// Where each argument's value goes in `args`, and its size.
    layout: Vec<(usize, usize)>,
    /// Bytes of `args`.
    values_size: usize,
    freed: AtomicBool,
    js: UnsafeCell<JsState>,
}

// SAFETY: `js` and `env` are only used on the owner thread (checked by
// thread token before every use); the rest is atomic or immutable.
unsafe impl Send for JsHandler {}
// SAFETY: as above.
unsafe impl Sync for JsHandler {}

impl Handler for JsHandler {
    unsafe fn call(&self, cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
        if self.freed.load(Ordering::Acquire) {
            // SAFETY: libffi's ret for this CIF.
            return unsafe { zero_return(cif, ret) };
        }
        // SAFETY: libffi's ret and args for this call.
        unsafe {
            if thread_token() == self.owner {
                self.run_here(cif, ret, args)
            } else {
                self.run_remote(cif, ret, args)
            }
        }
    }
}

impl JsHandler {
    /// Runs `fn` on its own JavaScript thread.
    ///
    /// # Safety
    /// On the owner thread, with libffi's `ret` and `args` for this call.
    unsafe fn run_here(&self, cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
        // SAFETY: owner thread: the only thread that touches `js`. No
        // reference is held across the call into JavaScript, which may
        // re-enter this closure.
        let state = self.js.get();
        // SAFETY: as above.
        let usable = self.shared.alive() && unsafe { !(*state).released };
        let frame = if usable {
            // SAFETY: as above.
            unsafe { self.frame_at_depth(state) }
        } else {
            None
        };
        let Some(frame) = frame else {
            // SAFETY: libffi's ret.
            return unsafe { zero_return(cif, ret) };
        };
        // SAFETY: as above.
        unsafe { (*state).depth += 1 };
        // SAFETY: the frame's Buffers have rsize, nargs pointers and
        // values_size bytes of room; `args` holds nargs pointers, each to a
        // value of the size in `layout`.
        unsafe {
            ptr::write_bytes(frame.rptr, 0, self.rsize);
            ptr::copy_nonoverlapping(
                args.cast::<u8>(),
                frame.aptr,
                self.nargs * size_of::<usize>(),
            );
            for (i, &(offset, size)) in self.layout.iter().enumerate() {
                ptr::copy_nonoverlapping((*args.add(i)).cast::<u8>(), frame.vptr.add(offset), size);
            }
        }
        // SAFETY: owner thread with a live env.
        let ok = unsafe { self.call_js(frame) };
        // SAFETY: `ret` has ret_bytes of room; the frame's rValue has rsize.
        unsafe {
            if ok {
                ptr::copy_nonoverlapping(frame.rptr, ret.cast::<u8>(), self.ret_bytes);
            } else {
                zero_return(cif, ret);
            }
            (*state).depth -= 1;
            if (*state).depth == 0 && (*state).release_when_idle {
                self.release_js();
            }
        }
    }

    /// The Buffers for the current depth, made on first use.
    ///
    /// # Safety
    /// Owner thread only.
    unsafe fn frame_at_depth(&self, state: *mut JsState) -> Option<Frame> {
        // SAFETY: owner thread (caller's word).
        let (depth, have) = unsafe { ((*state).depth, (*state).frames.len()) };
        if depth < have {
            // SAFETY: as above.
            return Some(unsafe { (&(*state).frames)[depth] });
        }
        let cx = Cx { env: self.env };
        let make = |len: usize| -> napi::Result<(sys::napi_ref, *mut u8)> {
            let (buf, mem) = cx.node_buffer(len)?;
            let mut r = ptr::null_mut();
            // SAFETY: a live value of this env; a strong reference keeps the
            // Buffer (and so `mem`) alive until release_js.
            unsafe { napi_ok!(sys::napi_create_reference(cx.env, buf, 1, &mut r)) };
            Ok((r, mem))
        };
        let mut scope = ptr::null_mut();
        // SAFETY: owner thread, live env.
        unsafe { sys::napi_open_handle_scope(self.env, &mut scope) };
        let made = make(self.rsize).and_then(|r| {
            let a = make(self.nargs * size_of::<usize>())?;
            Ok((r, a, make(self.values_size)?))
        });
        // SAFETY: the scope opened above.
        unsafe { sys::napi_close_handle_scope(self.env, scope) };
        let ((rvalue, rptr), (avalues, aptr), (values, vptr)) = made.ok()?;
        let frame = Frame {
            rvalue,
            rptr,
            avalues,
            aptr,
            values,
            vptr,
        };
        // SAFETY: owner thread.
        unsafe { (*state).frames.push(frame) };
        Some(frame)
    }

    /// Calls `fn(rValue, aValues)`; false if it threw (the error then goes
    /// to 'uncaughtException') or could not be called.
    ///
    /// # Safety
    /// Owner thread, live env.
    unsafe fn call_js(&self, frame: Frame) -> bool {
        let env = self.env;
        let mut scope = ptr::null_mut();
        // SAFETY: owner thread and live env (caller's word); every value
        // used lives in the scope opened here.
        unsafe {
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return false;
            }
            let mut func = ptr::null_mut();
            let mut argv = [ptr::null_mut(); 3];
            let mut recv = ptr::null_mut();
            let mut result = ptr::null_mut();
            let got = |r: sys::napi_ref, v: &mut sys::napi_value| {
                sys::napi_get_reference_value(env, r, v) == sys::Status::napi_ok
            };
            let ready = got((*self.js.get()).func, &mut func)
                && !func.is_null()
                && got(frame.rvalue, &mut argv[0])
                && got(frame.avalues, &mut argv[1])
                && got(frame.values, &mut argv[2])
                && sys::napi_get_undefined(env, &mut recv) == sys::Status::napi_ok;
            let ok = ready
                && sys::napi_call_function(env, recv, func, 3, argv.as_ptr(), &mut result)
                    == sys::Status::napi_ok;
            if !ok {
                let mut pending = false;
                sys::napi_is_exception_pending(env, &mut pending);
                if pending {
                    let mut error = ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env, &mut error);
                    // As any uncaught error: once per throw, to 'uncaughtException'.
                    sys::napi_fatal_exception(env, error);
                }
            }
            sys::napi_close_handle_scope(env, scope);
            ok
        }
    }

    /// Queues the call for the owner thread and waits for its answer.
    ///
    /// # Safety
    /// Libffi's `ret` and `args` for this call.
    unsafe fn run_remote(&self, cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
        let req = Arc::new(Request {
            state: Mutex::new(ReqState::Pending),
            done: Condvar::new(),
            handler: self,
            cif,
            ret,
            args,
        });
        let raw = Arc::into_raw(req.clone()) as *mut c_void;
        if !self.shared.enqueue(raw) {
            // SAFETY: not queued, so the reference is still ours.
            drop(unsafe { Arc::from_raw(raw as *const Request) });
            // SAFETY: libffi's ret.
            return unsafe { zero_return(cif, ret) };
        }
        let mut st = req.lock();
        let mut blocked_since: Option<(u64, Instant)> = None;
        loop {
            match *st {
                ReqState::Done => return,
                ReqState::Running => blocked_since = None,
                _ => {
                    let give_up = if !self.shared.alive() {
                        true
                    } else if let Some(epoch) = self.shared.blocked_epoch() {
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
                    };
                    if give_up {
                        if let (true, Some((epoch, _))) = (self.shared.alive(), blocked_since) {
                            self.shared.mark_abandoned(epoch);
                        }
                        *st = ReqState::Abandoned;
                        // SAFETY: libffi's ret; the JavaScript side will not
                        // touch an abandoned request.
                        return unsafe { zero_return(cif, ret) };
                    }
                }
            }
            st = req
                .done
                .wait_timeout(st, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Drops the JavaScript references (owner thread only); deferred while
    /// the closure is running on this thread.
    ///
    /// # Safety
    /// Owner thread, env alive or being torn down.
    unsafe fn release_js(&self) {
        // SAFETY: owner thread (caller's word).
        let state = unsafe { &mut *self.js.get() };
        if state.released {
            return;
        }
        if state.depth > 0 {
            state.release_when_idle = true;
            return;
        }
        state.released = true;
        // SAFETY: references of this env, deleted once.
        unsafe {
            sys::napi_delete_reference(self.env, state.func);
            for f in state.frames.drain(..) {
                sys::napi_delete_reference(self.env, f.rvalue);
                sys::napi_delete_reference(self.env, f.avalues);
                sys::napi_delete_reference(self.env, f.values);
            }
        }
    }
}

#[derive(PartialEq, Eq)]
enum ReqState {
    Pending,
    Running,
    Done,
    Abandoned,
}

/// A call from another thread, shared by it and the JavaScript thread.
struct Request {
    state: Mutex<ReqState>,
    done: Condvar,
    /// Only dereferenced while Running, when the waiting thread holds the
    /// handler alive.
    handler: *const JsHandler,
    cif: *const ffi_cif,
    ret: *mut c_void,
    args: *mut *mut c_void,
}

// SAFETY: the raw pointers are only used by the thread that holds the
// request in the Pending -> Running -> Done protocol under the mutex.
unsafe impl Send for Request {}
// SAFETY: as above.
unsafe impl Sync for Request {}

impl Request {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReqState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The thread-safe function's callback, on the JavaScript thread (env NULL
/// while Node tears the environment down).
unsafe extern "C" fn run_queued(
    env: sys::napi_env,
    _js: sys::napi_value,
    _ctx: *mut c_void,
    data: *mut c_void,
) {
    // SAFETY: the reference that run_remote queued, reclaimed once here.
    let req = unsafe { Arc::from_raw(data as *const Request) };
    let mut st = req.lock();
    if *st != ReqState::Pending {
        return;
    }
    if env.is_null() {
        // SAFETY: Pending: the caller still waits, so ret is live.
        unsafe { zero_return(req.cif, req.ret) };
        *st = ReqState::Done;
        req.done.notify_all();
        return;
    }
    *st = ReqState::Running;
    drop(st);
    // SAFETY: Running: the waiting thread keeps the handler, ret and args
    // alive; this is the owner thread (the tsfn runs on it).
    unsafe { (*req.handler).run_here(req.cif, req.ret, req.args) };
    *req.lock() = ReqState::Done;
    req.done.notify_all();
}

/// The native half of a closure, wrapped onto its pointer Buffer.
struct ClosureBox {
    closure: Option<Closure<JsHandler>>,
    handler: Arc<JsHandler>,
}

impl ClosureBox {
    /// Frees the closure at once; a second time does nothing.
    ///
    /// # Safety
    /// Owner thread.
    unsafe fn free(&mut self) {
        if self.closure.is_some() {
            self.handler.freed.store(true, Ordering::Release);
            // SAFETY: owner thread (caller's word).
            unsafe { self.handler.release_js() };
            self.closure = None;
        }
    }
}

unsafe extern "C" fn finalize_closure(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the Box that closure_new wrapped; finalizers run on the owner
    // thread, once.
    let mut b = unsafe { Box::from_raw(data.cast::<ClosureBox>()) };
    if b.handler.shared.alive() {
        // Collected while its environment lives: C no longer holds it (SPEC).
        // SAFETY: owner thread.
        unsafe { b.free() };
    } else {
        // The environment is ending while C may still hold the pointer (a
        // thread the library made): keep the code, answer with zeroes.
        b.handler.freed.store(true, Ordering::Release);
        // SAFETY: owner thread, during teardown.
        unsafe { b.handler.release_js() };
        std::mem::forget(b.closure.take());
    }
}

/// Makes a closure for the CIF at `cif` that calls `func`, wraps it onto
/// `holder` (the pointer Buffer JavaScript made) and returns its address.
#[napi]
pub fn closure_new(env: Env, cif: Js, func: Js, holder: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let cif = cx.address(cif, &|| "ffi.Closure: cif".into())? as *mut ffi_cif;
    if cx.type_of(func)? != sys::ValueType::napi_function {
        let got = cx.describe(func)?;
        return Err(cx.throw(Error::InvalidArgType(format!(
            "ffi.Closure: fn: expected a function, got {got}"
        ))));
    }
    let shared = env::get_or_init(&cx, run_queued)?;
    // SAFETY: JavaScript passes only CIFs this module prepared and keeps
    // alive with the closure.
    let needs = unsafe { crate::cif::needs(cif) };
    // `args`: each argument's value in order, at a multiple of 8 bytes.
    let mut layout = Vec::with_capacity(needs.nargs);
    let mut values_size = 0;
    for i in 0..needs.nargs {
        // SAFETY: a prepared CIF has nargs live argument types.
        let size = unsafe { (**(*cif).arg_types.add(i)).size };
        layout.push((values_size, size));
        values_size += size.next_multiple_of(8);
    }
    let mut func_ref = ptr::null_mut();
    // SAFETY: a live function of this env; weak (count 0).
    unsafe { napi_ok!(sys::napi_create_reference(cx.env, func.0, 0, &mut func_ref)) };
    let handler = Arc::new(JsHandler {
        owner: thread_token(),
        env: cx.env,
        shared,
        rsize: needs.rvalue.max(size_of::<ffi_arg>()),
        ret_bytes: needs.rvalue,
        nargs: needs.nargs,
        layout,
        values_size,
        freed: AtomicBool::new(false),
        js: UnsafeCell::new(JsState {
            func: func_ref,
            frames: Vec::new(),
            depth: 0,
            release_when_idle: false,
            released: false,
        }),
    });
    // SAFETY: a prepared CIF with live types (JavaScript's word, as above).
    let owned = unsafe { crate::cif::OwnedCif::copy_of(cif) };
    let closure = match Closure::new(owned, handler.clone()) {
        Ok(c) => c,
        Err(e) => {
            // SAFETY: owner thread.
            unsafe { handler.release_js() };
            return Err(cx.throw(e));
        }
    };
    let code = closure.code();
    let boxed = Box::into_raw(Box::new(ClosureBox {
        closure: Some(closure),
        handler,
    }));
    if let Err(e) = cx.wrap(holder.0, &CLOSURE_TAG, boxed.cast(), Some(finalize_closure)) {
        // SAFETY: not wrapped, so still ours; owner thread.
        unsafe { Box::from_raw(boxed).free() };
        return Err(e);
    }
    cx.address_value(code).map(Js)
}

/// Frees a closure at once; freeing it again does nothing.
#[napi]
pub fn closure_free(env: Env, ptr: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    match cx.unwrap_tagged(ptr, &CLOSURE_TAG)? {
        // SAFETY: tagged by closure_new, so a live ClosureBox (the finalizer
        // has not run while the Buffer is reachable); owner thread.
        Some(data) => unsafe { (*data.cast::<ClosureBox>()).free() },
        None if cx.is_view(ptr)? => {
            return Err(cx.throw(Error::InvalidArgValue(
                "ffi.Closure.free: this Buffer is not a closure from ffi.Closure".into(),
            )))
        }
        None => {
            let got = cx.describe(ptr)?;
            return Err(cx.throw(Error::InvalidArgType(format!(
                "ffi.Closure.free: expected a closure pointer Buffer, got {got}"
            ))));
        }
    }
    Ok(())
}
