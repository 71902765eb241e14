//! `Closure` and `Closure.free`: a JavaScript function behind a C function
//! pointer. The frames, and the way calls reach the JavaScript thread, are
//! the core's ([`crate::closure::frames`], [`crate::closure::dispatch`]);
//! this module makes the Buffers over the frames and calls index.js's
//! dispatcher, which calls `fn(rValue, aValues)` with them.
//!
//! What `closureNew`, the frame functions and `closureExposed` trust
//! JavaScript (`lib/closure.js`) to do: see lib/CONTRACT.md §6.

use std::os::raw::c_void;
use std::ptr;
use std::sync::Arc;

use libffi_sys::ffi_cif;
use napi::{sys, Env};
use napi_derive::napi;

use super::env::{self, EnvShared};
use super::{napi_ok, Cx, Js, CLOSURE_TAG};
use crate::closure::dispatch::Request;
use crate::closure::frames::{FrameHandler, FrameMem, Function, Layout};
use crate::closure::Closure;
use crate::error::Error;
use crate::sync::Remembered;

/// A closure's handler: frames in the core, index.js's dispatcher behind.
type JsHandler = FrameHandler<JsFunction>;

/// index.js's dispatcher for one closure, on the JavaScript thread that
/// made it.
pub struct JsFunction {
    /// The owner thread's call-path state (see [`env::this_thread`]).
    owner: *const env::Thread,
    env: sys::napi_env,
    shared: Arc<EnvShared>,
    /// Weak: JavaScript keeps the function alive as long as the closure.
    /// Deleted when the closure is released.
    func: sys::napi_ref,
    /// The dispatcher as a value, in the call scope generation it was
    /// obtained in: reused while that scope is open, instead of a reference
    /// lookup per callback.
    func_value: Remembered<sys::napi_value>,
}

// SAFETY: everything but `shared` is only used on the owner thread (the
// FrameHandler checks the thread before every use but of `thread()`, which
// gives `shared`, Send + Sync).
unsafe impl Send for JsFunction {}
// SAFETY: as above.
unsafe impl Sync for JsFunction {}

impl Function for JsFunction {
    type Thread = EnvShared;

    fn thread(&self) -> &EnvShared {
        &self.shared
    }

    fn alive(&self) -> bool {
        self.shared.alive()
    }

    unsafe fn call(&self, _closure: &JsHandler) -> bool {
        // SAFETY: the owner thread (caller's word), with a live env (the
        // handler checked `alive`).
        unsafe { self.call_js() }
    }

    unsafe fn release(&self) {
        // SAFETY: a reference of this env, deleted once (the caller's word),
        // on its thread.
        unsafe { sys::napi_delete_reference(self.env, self.func) };
    }
}

impl JsFunction {
    /// Calls index.js's dispatcher (which calls `fn(rValue, aValues,
    /// args)` with the Buffers of this depth); false if it threw (the error
    /// then goes to 'uncaughtException') or could not be called.
    ///
    /// # Safety
    /// Owner thread, live env.
    unsafe fn call_js(&self) -> bool {
        let (env, t) = (self.env, self.owner);
        // Too deep in the stack, V8 would refuse to enter JavaScript, and
        // Node could not report that to 'uncaughtException' either: the
        // innermost synchronous call throws instead, once C has returned.
        // SAFETY: this thread's state, alive while the thread runs.
        if unsafe { !(*t).sync.closure_may_enter() } {
            return false;
        }
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
            let generation = call_scope.as_ref().map_or(0, |s| s.generation());
            let found = if let Some(f) = self.func_value.get(generation) {
                func = f;
                true
            } else {
                let got = sys::napi_get_reference_value(env, self.func, &mut func)
                    == sys::Status::napi_ok;
                if got {
                    self.func_value.set(generation, func);
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
                        (*t).sync.refuse_closure();
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
}

/// One Buffer over the whole frame of reentrancy depth `depth` (rValue,
/// aValues and args back to back, at the offsets closure_new reported):
/// index.js makes the three views, so that one ArrayBuffer holds them and
/// one length tells whether it was detached. Made once per depth (and again
/// if JavaScript detaches it).
///
/// # Safety
/// Owner thread, live env.
unsafe fn frame_buffer(h: &JsHandler, cx: &Cx, depth: usize) -> napi::Result<sys::napi_value> {
    // SAFETY: owner thread (caller's word).
    let frame = unsafe { frame_at(h, cx, Some(depth)) }?;
    match external(cx, &frame, h.layout().frame_len)? {
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
unsafe fn frame_at(h: &JsHandler, cx: &Cx, depth: Option<usize>) -> napi::Result<Arc<FrameMem>> {
    // SAFETY: owner thread (caller's word).
    match unsafe { h.frame(depth) } {
        Some(f) => Ok(f),
        None => Err(cx.throw(Error::InvalidArgValue(
            "ffi.Closure: no call in progress at this depth".into(),
        ))),
    }
}

/// Copies of the innermost call's rValue, aValues and args, for runtimes
/// without external Buffers (Electron); index.js hands rValue back through
/// [`closure_result`].
///
/// # Safety
/// Owner thread, live env.
unsafe fn copied_frame(h: &JsHandler, cx: &Cx) -> napi::Result<sys::napi_value> {
    // SAFETY: owner thread (caller's word).
    let frame = unsafe { frame_at(h, cx, None) }?;
    let l = h.layout();
    let parts = [
        (0, l.rsize),
        (l.a_offset, l.nargs * size_of::<usize>()),
        (l.v_offset, l.values_size),
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
    // SAFETY: the reference that a call from another thread queued
    // (dispatch::call, through EnvShared::enqueue), reclaimed once here.
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
    /// Whether the closure's address left the module (index.js reports the
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
            // SAFETY: owner thread (caller's word).
            unsafe { self.handler.free() };
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

/// One Buffer over the frame of the call in progress at `depth` (index.js's
/// dispatcher asks once per depth).
#[napi]
pub fn closure_frame(env: Env, holder: Js, depth: u32) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let b = closure_box(&cx, holder, "ffi.Closure")?;
    // SAFETY: a live ClosureBox (the holder is reachable: it is the argument);
    // JavaScript calls this on the thread that made it (a wrapped object
    // cannot leave its environment), during a call.
    unsafe { frame_buffer(&(*b).handler, &cx, depth as usize) }.map(Js)
}

/// `[rValue, aValues, args]`, copies for the innermost call in progress
/// (runtimes without external Buffers: asked once per call).
#[napi]
pub fn closure_frame_copy(env: Env, holder: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let b = closure_box(&cx, holder, "ffi.Closure")?;
    // SAFETY: as in closure_frame.
    unsafe { copied_frame(&(*b).handler, &cx) }.map(Js)
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
    let frame = unsafe { frame_at(h, &cx, None) }?;
    // SAFETY: the frame has rsize bytes at 0; `r` has r.len readable bytes
    // (0 once detached).
    unsafe { ptr::copy_nonoverlapping(r.ptr, frame.at(0), r.len.min(h.layout().rsize)) };
    Ok(())
}

unsafe extern "C" fn finalize_closure(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the Box that closure_new wrapped; finalizers run on the owner
    // thread, once.
    let mut b = unsafe { Box::from_raw(data.cast::<ClosureBox>()) };
    // SAFETY: owner thread.
    if unsafe { b.handler.depth() } > 0 {
        // A call on this thread is in progress and holds no reference of
        // its own (the handler is pinned there): keep everything. Node runs
        // finalizers outside calls, so this is a guard, not a path.
        std::mem::forget(b);
        return;
    }
    if b.handler.function().alive() || !b.exposed {
        // Collected while its environment lives: C no longer holds it (SPEC).
        // Or its environment ends, but its address never left the module:
        // nothing outside can call it.
        // SAFETY: owner thread.
        unsafe { b.free() };
    } else {
        // The environment is ending while C may still hold the pointer (a
        // thread the library made): keep the code, answer with zeroes.
        // SAFETY: owner thread, during teardown.
        unsafe { b.handler.free() };
        if let Some(c) = b.closure.take() {
            c.leave();
        }
    }
}

/// Makes a closure for the CIF at `cif` (from `CIFVar` if `variadic`),
/// wraps it onto `holder` (the pointer Buffer JavaScript made) and returns
/// `[address, depth, rValue length, aValues offset, args offset]`. `depth` is a Buffer over a cell
/// where each call writes its reentrancy depth before it calls `dispatch`
/// (index.js's dispatcher, which checked the user's function): the
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
    // alive with the closure.
    let (layout, args) = unsafe { Layout::of_cif(cif) };
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
    let function = JsFunction {
        owner: env::this_thread(),
        env: cx.env,
        shared,
        func: func_ref,
        func_value: Remembered::default(),
    };
    let handler = Arc::new(FrameHandler::new(layout, args, cell, function));
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
            unsafe { handler.release() };
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
        cx.f64(layout.rsize as f64)?,
        cx.f64(layout.a_offset as f64)?,
        cx.f64(layout.v_offset as f64)?,
    ])
    .map(Js)
}

/// Records that a closure's address left the module (index.js calls it the
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

/// This environment starts to exit (index.js calls it from `process`'
/// `'exit'` event): closure calls from other threads are answered with
/// zero from now on, so that the exit, which joins the thread pool, ends.
#[napi]
pub fn closures_ending() {
    env::mark_ending();
}
