//! `callAsync`, `errno`, `lastError`, and the checks every call shares
//! (the synchronous call itself is in `call.rs`).
//!
//! What `callAsync` trusts JavaScript (`lib/cif.js`) to have checked: see
//! lib/CONTRACT.md §5.

use std::os::raw::c_void;
use std::ptr;

use libffi_sys::ffi_cif;
use napi::{sys, Env};
use napi_derive::napi;

use super::{napi_ok, Cx, Js};
use crate::call::{Checked, Outcome, OwnedCall, Region};
use crate::error::Error;

/// Converts and checks the arguments of a call.
pub(super) fn checked(
    cx: &Cx,
    cif: Js,
    fun: Js,
    rvalue: Js,
    avalues: Js,
    variadic: bool,
) -> napi::Result<Checked> {
    let cif = cx.address(cif, &|| "ffi.call: cif".into())? as *mut ffi_cif;
    let fun = cx.address(fun, &|| "ffi.call: fn".into())?;
    let rvalue: Region = cx.view(rvalue, &|| "ffi.call: rValue".into())?;
    let avalues: Region = cx.view(avalues, &|| "ffi.call: aValues".into())?;
    // SAFETY: JavaScript passes only the address of a CIF this module
    // prepared and keeps alive; the Buffers are live for this call.
    cx.check(unsafe { crate::call::check(cif, fun, rvalue, avalues, variadic) })
}

/// The `errno` the last synchronous call on this thread left.
#[napi]
pub fn errno() -> i32 {
    super::env::THREAD.with(|t| t.last.get().errno)
}

/// Sets what `errno()` reports, and the `errno` the next call on this
/// thread starts with (LuaJIT's `ffi.errno(newErrno)`).
#[napi]
pub fn set_errno(value: i32) {
    crate::os::preset_errno(value);
    super::env::THREAD.with(|t| {
        let last = t.last.get();
        t.last.set(crate::call::Outcome {
            errno: value,
            ..last
        });
    });
}

/// `GetLastError()` after the last synchronous call on this thread (0
/// off Windows).
#[napi]
pub fn last_error() -> i32 {
    super::env::THREAD.with(|t| t.last.get().last_error)
}

/// A call on the thread pool, with references that keep every Buffer (and
/// the callback) alive until it has completed. The pool thread works on the
/// call's own copies of the argument values, the argument array and the
/// result: JavaScript may transfer, shrink or rewrite its Buffers meanwhile.
struct AsyncCall {
    call: Option<OwnedCall>,
    /// Bytes of the result to copy back into rValue.
    rsize: usize,
    outcome: Outcome,
    refs: Vec<sys::napi_ref>,
    callback: sys::napi_ref,
    work: sys::napi_async_work,
}

unsafe extern "C" fn execute(_env: sys::napi_env, data: *mut c_void) {
    // SAFETY: the AsyncCall that call_async queued; only this pool thread
    // touches it until `complete`. No N-API here.
    let job = unsafe { &mut *data.cast::<AsyncCall>() };
    if let Some(call) = &job.call {
        // SAFETY: checked on the JavaScript thread; the call's copies are
        // its own, and the CIF Buffer is held.
        job.outcome = unsafe { call.perform() };
    }
}

unsafe extern "C" fn complete(env: sys::napi_env, status: sys::napi_status, data: *mut c_void) {
    // SAFETY: the AsyncCall that call_async queued, reclaimed once here on
    // the JavaScript thread.
    let job = unsafe { Box::from_raw(data.cast::<AsyncCall>()) };
    crate::stats::ASYNC_CALLS.down();
    let cx = Cx { env };
    if let (Some(call), true) = (&job.call, status == sys::Status::napi_ok && job.rsize > 0) {
        // The result goes back only into an rValue still attached and large
        // enough: whatever JavaScript did to it meanwhile, nothing is
        // written where rValue's memory no longer is.
        let mut rvalue = ptr::null_mut();
        // SAFETY: the strong reference to rValue, deleted just below.
        unsafe { sys::napi_get_reference_value(env, job.refs[0], &mut rvalue) };
        if let Ok(r) = cx.view(Js(rvalue), &|| "ffi.callAsync: rValue".into()) {
            if r.len >= job.rsize && !r.ptr.is_null() {
                // SAFETY: `r` has r.len >= rsize writable bytes now (read
                // through N-API at this moment); the copy is ours.
                unsafe { ptr::copy_nonoverlapping(call.result().as_ptr(), r.ptr, job.rsize) };
            }
        }
    }
    // SAFETY: references and work of this env, released once.
    unsafe {
        for r in &job.refs {
            sys::napi_delete_reference(env, *r);
        }
        sys::napi_delete_async_work(env, job.work);
    }
    let mut callback = ptr::null_mut();
    // SAFETY: the callback reference, read then deleted.
    unsafe {
        sys::napi_get_reference_value(env, job.callback, &mut callback);
        sys::napi_delete_reference(env, job.callback);
    }
    let args = if status == sys::Status::napi_ok {
        cx.null().and_then(|n| Ok([n, cx.i32(job.outcome.errno)?]))
    } else {
        let e = Error::Cancelled("ffi.callAsync: the call was cancelled before it ran".into());
        cx.make_error(&e).and_then(|err| Ok([err, cx.i32(0)?]))
    };
    if let (Ok(args), false) = (args, callback.is_null()) {
        let mut recv = ptr::null_mut();
        let mut result = ptr::null_mut();
        // SAFETY: a live function; an exception it throws stays pending and
        // Node reports it as uncaught when this callback returns.
        unsafe {
            sys::napi_get_undefined(env, &mut recv);
            sys::napi_call_function(env, recv, callback, 2, args.as_ptr(), &mut result);
        }
    }
}

/// Runs the call on the libuv thread pool and then calls
/// `callback(err, errno)` on this thread. `keep` lists the values to hold
/// until then (the CIF Buffer, the function pointer Buffer).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn call_async(
    env: Env,
    cif: Js,
    fun: Js,
    rvalue: Js,
    avalues: Js,
    callback: Js,
    keep_cif: Js,
    keep_fn: Js,
    variadic: bool,
) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let call = checked(&cx, cif, fun, rvalue, avalues, variadic)?;
    let rsize = call.result_size();
    // SAFETY: the Buffers were live and checked just now; the CIF Buffer is
    // held (below) until completion.
    let call = unsafe { call.to_owned_call() };
    let mut refs = Vec::with_capacity(4);
    for v in [rvalue, avalues, keep_cif, keep_fn] {
        let mut r = ptr::null_mut();
        // SAFETY: live values of this env; strong until completion.
        unsafe { napi_ok!(sys::napi_create_reference(cx.env, v.0, 1, &mut r)) };
        refs.push(r);
    }
    let mut cb = ptr::null_mut();
    // SAFETY: as above.
    unsafe { napi_ok!(sys::napi_create_reference(cx.env, callback.0, 1, &mut cb)) };
    let job = Box::into_raw(Box::new(AsyncCall {
        call: Some(call),
        rsize,
        outcome: Outcome::default(),
        refs,
        callback: cb,
        work: ptr::null_mut(),
    }));
    let name = cx.string("ffi.callAsync")?;
    // SAFETY: `job` lives until `complete` reclaims it; the work is queued
    // once and deleted in `complete`.
    unsafe {
        napi_ok!(sys::napi_create_async_work(
            cx.env,
            ptr::null_mut(),
            name,
            Some(execute),
            Some(complete),
            job.cast(),
            &mut (*job).work
        ));
        napi_ok!(sys::napi_queue_async_work(cx.env, (*job).work));
    }
    crate::stats::ASYNC_CALLS.up();
    Ok(())
}
