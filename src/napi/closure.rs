//! `Closure` and `Closure.free`: a JavaScript function behind a C function
//! pointer. On the JavaScript thread that made it, `fn(rValue, aValues)` runs
//! at once; from any other thread the call is queued on the environment's
//! thread-safe function and the calling thread waits for the answer.
//! What `closureNew`, the frame functions and `closureExposed` trust
//! JavaScript (`lib/closure.js`) to do: see lib/CONTRACT.md §6.

use std::cell::UnsafeCell;
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libffi_sys::{ffi_arg, ffi_cif};
use napi::{sys, Env};
use napi_derive::napi;

use super::env::{self, EnvShared};
use super::{napi_ok, Cx, Js, CLOSURE_TAG};
use crate::arch::entry::{Regs, Shape};
use crate::closure::dispatch::{self, Request};
use crate::closure::{Closure, Handler};
use crate::error::Error;

/// A number unique to each live thread: the address of its call-path state.
fn thread_token() -> usize {
    env::this_thread() as usize
}

/// The memory of one reentrancy depth: rValue, aValues and args back to
/// back, reused by every call at that depth. Every Buffer made over it holds
/// its own reference, so the memory outlives each of them wherever they go
/// (a transferred ArrayBuffer included): nothing here can be freed under a
/// view of it.
struct FrameMem {
    ptr: std::ptr::NonNull<u8>,
    layout: std::alloc::Layout,
}

// SAFETY: plain memory; who writes it when is ordered by the closure
// protocol (native code before and after the JavaScript call, JavaScript
// during it, all on the owner thread).
unsafe impl Send for FrameMem {}
// SAFETY: as above.
unsafe impl Sync for FrameMem {}

impl FrameMem {
    fn new(len: usize) -> Arc<FrameMem> {
        let layout = std::alloc::Layout::from_size_align(len.max(16), 16)
            .expect("a frame is a few hundred bytes at most");
        // SAFETY: a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Arc::new(FrameMem { ptr, layout })
    }

    fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: offsets come from the handler's layout, within `len`.
        unsafe { self.ptr.as_ptr().add(offset) }
    }
}

impl Drop for FrameMem {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// What only the JavaScript thread touches.
struct JsState {
    /// Weak: JavaScript keeps the function alive as long as the closure.
    /// It is lib/closure.js's dispatcher, which finds the Buffers of the current
    /// depth and calls the user's function with them.
    func: sys::napi_ref,
    /// The dispatcher as a value, and the call scope generation it was
    /// obtained in: reused while that scope is open, instead of a reference
    /// lookup per callback.
    func_value: (u64, sys::napi_value),
    frames: Vec<Arc<FrameMem>>,
    /// Where each argument's value goes in `args`, and its size.
    layout: Vec<(usize, usize)>,
    /// Keeps the memory of [`JsHandler::cell`] until the closure is
    /// released.
    cell: Option<Arc<FrameMem>>,
    depth: usize,
    release_when_idle: bool,
    released: bool,
}

pub struct JsHandler {
    /// The owner thread's call-path state (see [`env::this_thread`]).
    owner: usize,
    /// The owner thread's [`crate::os::thread_id`]: cheaper to compare on
    /// every call than a thread-local's address.
    owner_id: usize,
    /// The owner thread's errno slot.
    owner_errno: *mut std::os::raw::c_int,
    env: sys::napi_env,
    shared: Arc<EnvShared>,
    /// Bytes of rValue: the return type, at least an ffi_arg.
    rsize: usize,
    /// Bytes copied back to C: 0 for void.
    ret_bytes: usize,
    nargs: usize,
    /// Bytes of `args`.
    values_size: usize,
    /// Where aValues and args start in a frame, and its length.
    a_offset: usize,
    v_offset: usize,
    frame_len: usize,
    /// Where each call writes its reentrancy depth for the dispatcher:
    /// memory that `js.cell` keeps while the closure is not released.
    cell: *mut i32,
    freed: AtomicBool,
    js: UnsafeCell<JsState>,
}

// SAFETY: `js` and `env` are only used on the owner thread (checked by
// thread id before every use); the rest is atomic or immutable.
unsafe impl Send for JsHandler {}
// SAFETY: as above.
unsafe impl Sync for JsHandler {}

impl Handler for JsHandler {
    /// On the owner thread a call cannot outlive the handler: `Closure.free`
    /// leaves the ClosureBox's own reference, and the box's finalizer keeps
    /// it (leaks it) if it ever runs while a call is in progress.
    fn pinned_on_this_thread(&self) -> bool {
        crate::os::thread_id() == self.owner_id
    }

    /// On the owner thread, straight from the registers into the frame;
    /// from any other thread, the general path.
    unsafe fn call_regs(&self, shape: &Shape, regs: &Regs) -> Option<u64> {
        if crate::os::thread_id() != self.owner_id {
            return None;
        }
        // The owner thread's errno slot, known since the closure was made:
        // no call to the C library for it.
        // SAFETY: the owner thread's slot, valid while it runs.
        let errno = unsafe { self.owner_errno.read() };
        let bits = if self.freed.load(Ordering::Acquire) {
            0
        } else {
            // SAFETY: the owner thread, just checked; this closure's shape.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                self.run_regs(shape, regs)
            }))
            .unwrap_or(0)
        };
        // SAFETY: as above.
        unsafe { self.owner_errno.write(errno) };
        Some(bits)
    }

    unsafe fn call(&self, _cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
        if self.freed.load(Ordering::Acquire) {
            // SAFETY: libffi's ret for this CIF.
            return unsafe { self.zero_return(ret) };
        }
        // SAFETY: libffi's ret and args for this call.
        unsafe {
            if crate::os::thread_id() == self.owner_id {
                self.run_here(ret, args)
            } else {
                self.run_remote(ret, args)
            }
        }
    }
}

impl JsHandler {
    /// Zeroes C's return value: what C receives when `fn` could not run.
    /// Reads the handler's own sizes, not the closure's CIF, which a free
    /// may have dropped while a call from another thread waited.
    ///
    /// # Safety
    /// `ret` has room for this closure's return value.
    unsafe fn zero_return(&self, ret: *mut c_void) {
        if self.ret_bytes > 0 && !ret.is_null() {
            // SAFETY: ret_bytes of room (caller's word).
            unsafe { ptr::write_bytes(ret.cast::<u8>(), 0, self.ret_bytes) }
        }
    }

    /// Runs `fn` on its own JavaScript thread.
    ///
    /// # Safety
    /// On the owner thread, with libffi's `ret` and `args` for this call.
    unsafe fn run_here(&self, ret: *mut c_void, args: *mut *mut c_void) {
        let fill = |vptr: *mut u8, aptr: *mut *mut u8| {
            // SAFETY: owner thread (caller's word), and no call into
            // JavaScript while this reference lives.
            let layout = unsafe { &(*self.js.get()).layout };
            for (i, &(offset, size)) in layout.iter().enumerate() {
                // SAFETY: `args` holds nargs pointers, each to a value of the
                // size in `layout` (libffi's word); the frame has room for
                // each at its offset, 8-aligned. Fixed-size copies, not calls
                // to memcpy.
                unsafe {
                    let (from, to) = ((*args.add(i)).cast::<u8>(), vptr.add(offset));
                    match size {
                        8 => to.cast::<u64>().write(from.cast::<u64>().read_unaligned()),
                        4 => to.cast::<u32>().write(from.cast::<u32>().read_unaligned()),
                        1 => to.write(from.read()),
                        2 => to.cast::<u16>().write(from.cast::<u16>().read_unaligned()),
                        _ => ptr::copy_nonoverlapping(from, to, size),
                    }
                    aptr.add(i).write(to);
                }
            }
        };
        let done = |rptr: Option<*const u8>| {
            // SAFETY: `ret` has ret_bytes of room (libffi's word); rptr has
            // rsize >= ret_bytes.
            unsafe {
                match rptr {
                    Some(r) if self.ret_bytes == 8 => {
                        ret.cast::<u64>().write_unaligned(r.cast::<u64>().read())
                    }
                    Some(r) => ptr::copy_nonoverlapping(r, ret.cast::<u8>(), self.ret_bytes),
                    None => self.zero_return(ret),
                }
            }
        };
        // SAFETY: the owner thread (caller's word).
        unsafe { self.run_frame(fill, done) }
    }

    /// Runs `fn` on its own JavaScript thread for a call through a
    /// compiled-in entry: the values straight from the registers, the
    /// result as the return register's bits.
    ///
    /// # Safety
    /// On the owner thread; `shape` is this closure's.
    unsafe fn run_regs(&self, shape: &Shape, regs: &Regs) -> u64 {
        let fill = |vptr: *mut u8, aptr: *mut *mut u8| {
            // SAFETY: owner thread (caller's word), and no call into
            // JavaScript while this reference lives.
            let layout = unsafe { &(*self.js.get()).layout };
            for (i, &(offset, size)) in layout.iter().enumerate() {
                // Scalars only: 1 to 8 bytes, from the low bytes of their
                // register (little-endian), the rest of the slot zeroed.
                let bits = regs[usize::from(shape.arg_reg[i])] & (u64::MAX >> (64 - 8 * size));
                // SAFETY: the frame has an 8-aligned slot of 8 bytes at least
                // for each argument; nargs pointers at aptr.
                unsafe {
                    let to = vptr.add(offset);
                    to.cast::<u64>().write(bits);
                    aptr.add(i).write(to);
                }
            }
        };
        // SAFETY: rsize >= 8 bytes at rptr.
        let done = |rptr: Option<*const u8>| rptr.map_or(0, |r| unsafe { r.cast::<u64>().read() });
        // SAFETY: the owner thread (caller's word).
        unsafe { self.run_frame(fill, done) }
    }

    /// One call on the owner thread: takes the frame of the next depth,
    /// zeroes its rValue, lets `fill` write the values into args and their
    /// addresses into aValues, calls the dispatcher, and hands `done` the
    /// frame's rValue (None if `fn` threw or could not run: C gets zeroes).
    ///
    /// # Safety
    /// On the owner thread.
    #[inline(always)]
    unsafe fn run_frame<R>(
        &self,
        fill: impl FnOnce(*mut u8, *mut *mut u8),
        done: impl FnOnce(Option<*const u8>) -> R,
    ) -> R {
        // SAFETY: owner thread: the only thread that touches `js`. No
        // reference is held across the call into JavaScript, which may
        // re-enter this closure.
        let state = self.js.get();
        // SAFETY: as above.
        let usable = self.shared.alive() && unsafe { !(*state).released };
        if !usable {
            return done(None);
        }
        // SAFETY: as above.
        let frame = unsafe {
            let depth = (*state).depth;
            if depth == (*state).frames.len() {
                (*state).frames.push(FrameMem::new(self.frame_len));
            }
            // The cell has 4 bytes, 16-aligned; read by the dispatcher
            // before anything can call this closure again.
            self.cell.write(depth as i32);
            (*state).depth += 1;
            // No reference counted per call: the frames stay while the
            // depth is above 0 (release_js waits for it).
            &*Arc::as_ptr(&(&(*state).frames)[depth])
        };
        let (rptr, aptr, vptr) = (
            frame.at(0),
            frame.at(self.a_offset).cast::<*mut u8>(),
            frame.at(self.v_offset),
        );
        // SAFETY: the frame has rsize bytes at 0 and at least 16 before
        // a_offset.
        unsafe {
            if self.rsize <= 16 {
                rptr.cast::<[u64; 2]>().write([0; 2]);
            } else {
                ptr::write_bytes(rptr, 0, self.rsize);
            }
        }
        fill(vptr, aptr);
        // SAFETY: owner thread with a live env; the owner token is this
        // thread's state.
        let ok = unsafe { self.call_js(self.owner as *const env::Thread) };
        // The frame stays in `frames` until the depth drops, whatever
        // JavaScript did with its Buffers.
        let r = done(ok.then_some(rptr.cast_const()));
        // SAFETY: owner thread, as above.
        unsafe {
            (*state).depth -= 1;
            if (*state).depth == 0 && (*state).release_when_idle {
                self.release_js();
            }
        }
        r
    }

    /// One Buffer over the whole frame of reentrancy depth `depth`
    /// (rValue, aValues and args back to back, at the offsets closure_new
    /// reported): lib/closure.js makes the three views, so that one ArrayBuffer
    /// holds them and one length tells whether it was detached. Made once
    /// per depth (and again if JavaScript detaches it).
    ///
    /// # Safety
    /// Owner thread, live env.
    unsafe fn frame_buffer(&self, cx: &Cx, depth: usize) -> napi::Result<sys::napi_value> {
        // SAFETY: owner thread (caller's word).
        let frame = unsafe { self.frame_at(cx, Some(depth)) }?;
        match external(cx, &frame, self.frame_len)? {
            Some(v) => Ok(v),
            None => Err(cx.throw(Error::NoExternalBuffers(
                "ffi.Closure: this runtime stopped taking Buffers over native memory".into(),
            ))),
        }
    }

    /// The frame of the call at `depth`, or (None) of the innermost call in
    /// progress; an error if there is none.
    ///
    /// # Safety
    /// Owner thread.
    unsafe fn frame_at(&self, cx: &Cx, depth: Option<usize>) -> napi::Result<Arc<FrameMem>> {
        // SAFETY: owner thread (caller's word); no call into JavaScript
        // while this reference lives.
        let state = unsafe { &*self.js.get() };
        let depth = depth.unwrap_or(state.depth.wrapping_sub(1));
        match state.frames.get(depth) {
            Some(f) if depth < state.depth => Ok(f.clone()),
            _ => Err(cx.throw(Error::InvalidArgValue(
                "ffi.Closure: no call in progress at this depth".into(),
            ))),
        }
    }

    /// Copies of the innermost call's rValue, aValues and args, for
    /// runtimes without external Buffers (Electron); lib/closure.js hands rValue
    /// back through [`closure_result`].
    ///
    /// # Safety
    /// Owner thread, live env.
    unsafe fn copied_frame(&self, cx: &Cx) -> napi::Result<sys::napi_value> {
        // SAFETY: owner thread (caller's word).
        let frame = unsafe { self.frame_at(cx, None) }?;
        let parts = [
            (0, self.rsize),
            (self.a_offset, self.nargs * size_of::<usize>()),
            (self.v_offset, self.values_size),
        ];
        let mut out = [ptr::null_mut(); 3];
        for (slot, &(offset, len)) in out.iter_mut().zip(parts.iter()) {
            let (v, mem) = cx.node_buffer(len)?;
            // SAFETY: both have `len` bytes; distinct allocations.
            unsafe { ptr::copy_nonoverlapping(frame.at(offset), mem, len) };
            *slot = v;
        }
        cx.array(&out)
    }

    /// Calls lib/closure.js's dispatcher (which calls `fn(rValue, aValues,
    /// args)` with the Buffers of this depth); false if it threw (the error
    /// then goes to 'uncaughtException') or could not be called.
    ///
    /// # Safety
    /// Owner thread, live env; `t` is this thread's state.
    unsafe fn call_js(&self, t: *const env::Thread) -> bool {
        // Too deep in the stack, V8 would refuse to enter JavaScript, and
        // Node could not report that to 'uncaughtException' either: the
        // innermost synchronous call throws instead, once C has returned.
        // SAFETY: this thread's state, alive while the thread runs.
        if unsafe { !(*t).closure_may_enter() } {
            return false;
        }
        let env = self.env;
        let mut scope = ptr::null_mut();
        // Directly under a synchronous call, share its scope; JavaScript then
        // runs with none set, so that a callback reached through anything
        // else opens its own.
        // SAFETY: this thread's state, alive while the thread runs.
        let call_scope = unsafe { (*t).call_scope.replace(ptr::null()) };
        // SAFETY: owner thread and live env (caller's word); every value
        // used lives in the scope entered or opened here; a call scope is
        // the innermost one while C runs directly under its call.
        unsafe {
            let entered = match call_scope.as_ref() {
                Some(s) => s.enter(),
                None => sys::napi_open_handle_scope(env, &mut scope) == sys::Status::napi_ok,
            };
            if !entered {
                (*t).call_scope.set(call_scope);
                return false;
            }
            let mut func = ptr::null_mut();
            let mut result = ptr::null_mut();
            let state = self.js.get();
            let generation = call_scope.as_ref().map_or(0, |s| s.generation());
            let found = if generation != 0 && (*state).func_value.0 == generation {
                func = (*state).func_value.1;
                true
            } else {
                let got = sys::napi_get_reference_value(env, (*state).func, &mut func)
                    == sys::Status::napi_ok;
                if got && generation != 0 {
                    (*state).func_value = (generation, func);
                }
                got
            };
            // The dispatcher ignores `this`: the function itself will do.
            let ok = found
                && !func.is_null()
                && sys::napi_call_function(env, func, func, 0, ptr::null(), &mut result)
                    == sys::Status::napi_ok;
            if !ok {
                let mut pending = false;
                sys::napi_is_exception_pending(env, &mut pending);
                if pending {
                    let mut error = ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env, &mut error);
                    // As any uncaught error: once per throw, to 'uncaughtException'.
                    sys::napi_fatal_exception(env, error);
                    // Node could not run its handler (V8 refused to enter
                    // JavaScript this deep, under a smaller --stack-size than
                    // the estimate): report it as a refusal instead of leaving
                    // an exception pending for whatever N-API call comes next.
                    sys::napi_is_exception_pending(env, &mut pending);
                    if pending {
                        sys::napi_get_and_clear_last_exception(env, &mut error);
                        (*t).refuse_closure();
                    }
                }
            }
            if !scope.is_null() {
                sys::napi_close_handle_scope(env, scope);
            }
            (*t).call_scope.set(call_scope);
            ok
        }
    }

    /// Queues the call for the owner thread and waits for its answer (see
    /// [`crate::closure::dispatch`]).
    ///
    /// # Safety
    /// Libffi's `ret` and `args` for this call, on another thread than the
    /// owner.
    unsafe fn run_remote(&self, ret: *mut c_void, args: *mut *mut c_void) {
        // SAFETY: the trampoline holds this handler for the call (it is not
        // pinned on this thread); libffi's `ret` and `args`.
        unsafe { dispatch::call(&*self.shared, self, ret, args, self.ret_bytes) }
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
        }
        // Buffers made over the frames (and the cell) keep their own
        // references. No call reads these from here on (they stop at
        // `released`): a closure kept for an ended environment keeps none
        // of them.
        state.frames = Vec::new();
        state.layout = Vec::new();
        state.cell = None;
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
    if data == env::WARN_EMPTY_CALL {
        if !env.is_null() {
            // SAFETY: the JavaScript thread of a live env.
            unsafe { emit_warning(env) };
        }
        return;
    }
    // SAFETY: the reference that run_remote queued, reclaimed once here.
    let req = unsafe { Request::<JsHandler>::from_raw(data) };
    if env.is_null() {
        req.answer_zero();
        return;
    }
    // SAFETY: this is the owner thread (the tsfn runs on it), with a live
    // env; run_here reads `args` before it calls into JavaScript.
    unsafe { req.run(|handler, ret, args| handler.run_here(ret, args)) };
}

/// `process.emitWarning(...)`: C called a closure's entry after the closure
/// was freed or collected (it got zero). Failures are ignored: a warning is
/// not worth an exception.
///
/// # Safety
/// The JavaScript thread of a live env, inside a callback that may call
/// into JavaScript.
unsafe fn emit_warning(env: sys::napi_env) {
    let cx = Cx { env };
    let message = "C called a closure after it was freed (ffi.Closure.free) or garbage-collected; \
                   it got a zeroed result. Keep the closure's pointer Buffer reachable for as long \
                   as C may call it.";
    let (Ok(msg), Ok(kind), Ok(code)) = (
        cx.string(message),
        cx.string("FFIWarning"),
        cx.string("FFI_CLOSURE_CALLED_AFTER_FREE"),
    ) else {
        return;
    };
    // SAFETY: valid env; every value is used in the callback's scope.
    unsafe {
        let (mut global, mut process, mut emit, mut result) = (
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        if sys::napi_get_global(env, &mut global) != sys::Status::napi_ok
            || sys::napi_get_named_property(env, global, c"process".as_ptr(), &mut process)
                != sys::Status::napi_ok
            || sys::napi_get_named_property(env, process, c"emitWarning".as_ptr(), &mut emit)
                != sys::Status::napi_ok
        {
            return;
        }
        let args = [msg, kind, code];
        if sys::napi_call_function(env, process, emit, 3, args.as_ptr(), &mut result)
            != sys::Status::napi_ok
        {
            let mut error = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut error);
        }
    }
}

/// The native half of a closure, wrapped onto its pointer Buffer.
struct ClosureBox {
    closure: Option<Closure<JsHandler>>,
    handler: Arc<JsHandler>,
    /// Whether the closure's address left the module (lib/pointer.js reports the
    /// first time JavaScript asks for it: [`closure_exposed`]). Until then
    /// nothing outside can call it, so it is freed whenever its environment
    /// ends.
    exposed: bool,
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

/// A Buffer over the first `len` bytes of `mem` that holds its own
/// reference to it, so that the memory lives as long as the Buffer's
/// backing store, wherever it is moved; None where the runtime refuses
/// Buffers over native memory.
fn external(cx: &Cx, mem: &Arc<FrameMem>, len: usize) -> napi::Result<Option<sys::napi_value>> {
    if super::external_buffers_refused() {
        return Ok(None);
    }
    let hint = Box::into_raw(Box::new(mem.clone()));
    let mut v = ptr::null_mut();
    // SAFETY: `mem` has `len` bytes (the caller's layout); the finalizer
    // reclaims the Arc in `hint`.
    let status = unsafe {
        sys::napi_create_external_buffer(
            cx.env,
            len,
            mem.at(0).cast(),
            Some(release_frame),
            hint.cast(),
            &mut v,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: not handed to Node, still ours.
        drop(unsafe { Box::from_raw(hint) });
        if status == sys::Status::napi_no_external_buffers_allowed {
            return Ok(None);
        }
        napi_ok!(status);
    }
    Ok(Some(v))
}

/// The finalizer of a Buffer over a frame: drops its reference.
unsafe extern "C" fn release_frame(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: the Box made for this Buffer in frame_buffers, reclaimed once.
    drop(unsafe { Box::from_raw(hint.cast::<Arc<FrameMem>>()) });
}

/// The ClosureBox wrapped onto `holder`, or a typed error.
fn closure_box(cx: &Cx, holder: Js, what: &str) -> napi::Result<*mut ClosureBox> {
    match cx.unwrap_tagged(holder, &CLOSURE_TAG)? {
        Some(data) => Ok(data.cast()),
        None => Err(cx.throw(Error::InvalidArgValue(format!(
            "{what}: this Buffer is not a closure from ffi.Closure"
        )))),
    }
}

/// One Buffer over the frame of the call in progress at `depth` (lib/closure.js's
/// dispatcher asks once per depth).
#[napi]
pub fn closure_frame(env: Env, holder: Js, depth: u32) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let b = closure_box(&cx, holder, "ffi.Closure")?;
    // SAFETY: a live ClosureBox (the holder is reachable: it is the argument);
    // JavaScript calls this on the thread that made it (a wrapped object
    // cannot leave its environment), during a call.
    unsafe { (*b).handler.frame_buffer(&cx, depth as usize) }.map(Js)
}

/// `[rValue, aValues, args]`, copies for the innermost call in progress
/// (runtimes without external Buffers: asked once per call).
#[napi]
pub fn closure_frame_copy(env: Env, holder: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let b = closure_box(&cx, holder, "ffi.Closure")?;
    // SAFETY: as in closure_frame.
    unsafe { (*b).handler.copied_frame(&cx) }.map(Js)
}

/// Copies a per-call rValue copy back into the innermost call's frame
/// (runtimes without external Buffers only). A detached rValue copies
/// nothing.
#[napi]
pub fn closure_result(env: Env, holder: Js, rvalue: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let b = closure_box(&cx, holder, "ffi.Closure")?;
    let r: crate::call::Region = cx.view(rvalue, &|| "rValue".into())?;
    // SAFETY: as in closure_frame.
    let h = unsafe { &(*b).handler };
    // SAFETY: owner thread.
    let frame = unsafe { h.frame_at(&cx, None) }?;
    // SAFETY: the frame has rsize bytes at 0; `r` has r.len readable bytes
    // (0 once detached).
    unsafe { ptr::copy_nonoverlapping(r.ptr, frame.at(0), r.len.min(h.rsize)) };
    Ok(())
}

unsafe extern "C" fn finalize_closure(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the Box that closure_new wrapped; finalizers run on the owner
    // thread, once.
    let mut b = unsafe { Box::from_raw(data.cast::<ClosureBox>()) };
    // SAFETY: owner thread: the only thread that touches `js`.
    if unsafe { (*b.handler.js.get()).depth } > 0 {
        // A call on this thread is in progress and holds no reference of
        // its own (see pinned_on_this_thread): keep everything. Node runs
        // finalizers outside calls, so this is a guard, not a path.
        std::mem::forget(b);
        return;
    }
    if b.handler.shared.alive() || !b.exposed {
        // Collected while its environment lives: C no longer holds it (SPEC).
        // Or its environment ends, but its address never left the module:
        // nothing outside can call it.
        // SAFETY: owner thread.
        unsafe { b.free() };
    } else {
        // The environment is ending while C may still hold the pointer (a
        // thread the library made): keep the code, answer with zeroes.
        b.handler.freed.store(true, Ordering::Release);
        // SAFETY: owner thread, during teardown.
        unsafe { b.handler.release_js() };
        if let Some(c) = b.closure.take() {
            c.leave();
        }
    }
}

/// Makes a closure for the CIF at `cif` (from `CIFVar` if `variadic`),
/// wraps it onto `holder` (the pointer Buffer JavaScript made) and returns
/// `[address, depth, rValue length, aValues offset, args offset]`. `depth` is a Buffer over a cell
/// where each call writes its reentrancy depth before it calls `dispatch`
/// (lib/closure.js's dispatcher, which checked the user's function): the
/// dispatcher finds that depth's frame by it. Where the runtime refuses
/// Buffers over native memory, `depth` is null and calls go to
/// `dispatch_copies`, which works on copies of the frame. `main_thread`:
/// whether this is the main thread's environment (a Worker's leaves the
/// last compiled-in entries free, see [`crate::arch::entry::RESERVED`]).
#[napi]
pub fn closure_new(
    env: Env,
    cif: Js,
    holder: Js,
    dispatch: Js,
    dispatch_copies: Js,
    variadic: bool,
    main_thread: bool,
) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let cif = cx.address(cif, &|| "ffi.Closure: cif".into())? as *mut ffi_cif;
    let shared = env::get_or_init(&cx, run_queued)?;
    // SAFETY: JavaScript passes only CIFs this module prepared and keeps
    // alive with the closure (lib/CONTRACT.md §6).
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
    let rsize = needs.rvalue.max(size_of::<ffi_arg>());
    let a_offset = rsize.next_multiple_of(16);
    let v_offset = a_offset + needs.nargs * size_of::<usize>();
    let cell = FrameMem::new(size_of::<i32>());
    let depth_cell = external(&cx, &cell, size_of::<i32>())?;
    let func = if depth_cell.is_some() {
        dispatch
    } else {
        dispatch_copies
    };
    let mut func_ref = ptr::null_mut();
    // SAFETY: a live function of this env; weak (count 0).
    unsafe { napi_ok!(sys::napi_create_reference(cx.env, func.0, 0, &mut func_ref)) };
    let handler = Arc::new(JsHandler {
        owner: thread_token(),
        owner_id: crate::os::thread_id(),
        owner_errno: crate::os::errno_location(),
        env: cx.env,
        shared,
        rsize,
        ret_bytes: needs.rvalue,
        nargs: needs.nargs,
        values_size,
        a_offset,
        v_offset,
        frame_len: v_offset + values_size,
        cell: cell.at(0).cast(),
        freed: AtomicBool::new(false),
        js: UnsafeCell::new(JsState {
            func: func_ref,
            func_value: (0, ptr::null_mut()),
            frames: Vec::new(),
            layout,
            cell: Some(cell),
            depth: 0,
            release_when_idle: false,
            released: false,
        }),
    });
    // SAFETY: a prepared CIF with live types (JavaScript's word, as above).
    let owned = unsafe { crate::cif::OwnedCif::copy_of(cif) };
    // A Worker leaves the last compiled-in entries to the main thread:
    // what an ended Worker has to keep keeps its entries for good.
    let keep_free = if main_thread {
        0
    } else {
        crate::arch::entry::RESERVED
    };
    let closure = match Closure::new_leaving(owned, variadic, handler.clone(), keep_free) {
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
        exposed: false,
    }));
    if let Err(e) = cx.wrap(holder.0, &CLOSURE_TAG, boxed.cast(), Some(finalize_closure)) {
        // SAFETY: not wrapped, so still ours; owner thread.
        unsafe { Box::from_raw(boxed).free() };
        return Err(e);
    }
    let depth_cell = match depth_cell {
        Some(v) => v,
        None => cx.null()?,
    };
    cx.array(&[
        cx.address_value(code)?,
        depth_cell,
        cx.f64(rsize as f64)?,
        cx.f64(a_offset as f64)?,
        cx.f64(v_offset as f64)?,
    ])
    .map(Js)
}

/// Records that a closure's address left the module (lib/pointer.js calls it the
/// first time JavaScript asks for the address): from then on C may hold it,
/// and the closure's code is kept if its environment ends.
#[napi]
pub fn closure_exposed(env: Env, holder: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let b = closure_box(&cx, holder, "ffi.Closure")?;
    // SAFETY: a live ClosureBox (the holder is the argument); JavaScript
    // calls this on the owner thread, the only one that touches the box.
    unsafe { (*b).exposed = true };
    Ok(())
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

/// This environment starts to exit (lib/state.js calls it from `process`'
/// `'exit'` event): closure calls from other threads are answered with
/// zero from now on, so that the exit, which joins the thread pool, ends.
#[napi]
pub fn closures_ending() {
    env::mark_ending();
}
