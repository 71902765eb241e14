//! The synchronous call (`ffi.call`, `ffi.bind`) and its fast path.
//! JavaScript keeps, per CIF, a slot (bytes that only this layer writes,
//! carved by `lib/cif.js` from memory no caller can reach) describing the
//! last call it checked in full.
//! When the next call has the same Buffers, JavaScript writes the slot's
//! address into this thread's control cell and calls `callFast`, a raw
//! N-API function of no arguments: no conversion, no Buffer lookup.
//!
//! What `fillSlot` and `callFast` trust JavaScript (`lib/cif.js`: `fill`,
//! `repeat`, `run`) to have checked: see lib/CONTRACT.md §4.

use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use napi::{sys, Env};
use napi_derive::napi;

use super::{env, napi_ok, Cx, Js};
use crate::call::{Checked, Region, ResultBuf};
use crate::error::Error;

/// Where a slot's result room starts: after its [`Checked`], at a multiple
/// of 16.
pub const SLOT_RESULT_AT: usize = std::mem::size_of::<Checked>().next_multiple_of(16);
/// Bytes of a slot's result room: where a call made by [`own_slot`] writes
/// its result, for JavaScript to copy into `rValue` (the largest result
/// that takes this way).
pub const SLOT_RESULT_ROOM: usize = 32;
/// Bytes of a slot: its [`Checked`], then its result room.
pub const SLOT_SIZE: usize = SLOT_RESULT_AT + SLOT_RESULT_ROOM;
/// A slot's alignment (its result room may hold any scalar).
pub const SLOT_ALIGN: usize = 16;

/// The environment that set up its fast path first (usually the main
/// thread's), with its thread's state: its calls find that state by
/// comparing the `napi_env` they are given, without a thread-local lookup
/// (a call into the C library in a shared object). Every other environment
/// uses the thread-local. Claimed and released under CLAIM_LOCK; released
/// by the environment's cleanup hook, before its `napi_env` can be reused.
/// A call can only see its own `napi_env` here while its environment holds
/// the claim, since live environments have distinct `napi_env`s.
static CLAIMED_ENV: AtomicPtr<sys::napi_env__> = AtomicPtr::new(ptr::null_mut());
static CLAIMED_THREAD: AtomicPtr<env::Thread> = AtomicPtr::new(ptr::null_mut());
static CLAIM_LOCK: Mutex<()> = Mutex::new(());

/// This thread's call-path state, for a call given `env`.
#[inline(always)]
fn thread_for(env: sys::napi_env) -> *const env::Thread {
    if CLAIMED_ENV.load(Ordering::Acquire) == env {
        CLAIMED_THREAD.load(Ordering::Relaxed)
    } else {
        env::this_thread()
    }
}

/// Claims the shortcut for `env` if no environment holds it.
fn claim(env: sys::napi_env) {
    let _lock = CLAIM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !CLAIMED_ENV.load(Ordering::Acquire).is_null() {
        return;
    }
    // SAFETY: releases the claim when this environment ends; `env` is the
    // hook's argument only as a value to compare.
    let status = unsafe { sys::napi_add_env_cleanup_hook(env, Some(release_claim), env.cast()) };
    if status != sys::Status::napi_ok {
        return;
    }
    CLAIMED_THREAD.store(env::this_thread().cast_mut(), Ordering::Relaxed);
    CLAIMED_ENV.store(env, Ordering::Release);
}

unsafe extern "C" fn release_claim(arg: *mut c_void) {
    let _lock = CLAIM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if CLAIMED_ENV.load(Ordering::Acquire) == arg.cast() {
        CLAIMED_ENV.store(ptr::null_mut(), Ordering::Release);
        CLAIMED_THREAD.store(ptr::null_mut(), Ordering::Relaxed);
    }
}

unsafe extern "C" fn call_fast(
    env: sys::napi_env,
    _info: sys::napi_callback_info,
) -> sys::napi_value {
    let cx = Cx { env };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: this thread's state (see thread_for), alive while the
        // thread runs.
        let t = unsafe { &*thread_for(env) };
        let control = t.control.get();
        if control.is_null() {
            return Err(Error::InvalidCif(
                "ffi.call: the fast path is not set up on this thread".into(),
            ));
        }
        // SAFETY: the control cell is a live Node Buffer of this thread (kept
        // by index.js); JavaScript writes only addresses of slots it holds,
        // whole numbers below 2^53 (so the conversion is exact; as a signed
        // integer it is one instruction, as an unsigned one seven).
        let slot = unsafe { &*((*control).to_int_unchecked::<i64>() as usize as *const Checked) };
        let guard = env::enter_sync(t)?;
        // Callbacks that C makes during the call share this scope; it
        // closes (if a callback opened it) before the call returns.
        let scope = env::CallScope::new(cx.env);
        let installed = scope.install(t);
        // A callback may detach rValue (and let it be collected) while C
        // runs: whether JavaScript ran is asked once C has returned (only a
        // callback directly under this call can start any, and the scope
        // opened for it then has a generation).
        let mut pending = false;
        // SAFETY: the slot was filled by fill_slot after the full checks, and
        // JavaScript verified the same Buffers are passed, still attached;
        // the errno slot is this thread's (set with the control cell).
        let outcome = unsafe {
            slot.repeat_guarded(
                t.errno.get(),
                || scope.generation() != 0,
                |result| {
                    // JavaScript checks rValue through N-API (take_result).
                    PENDING.with(|p| *p.borrow_mut() = Some(result));
                    pending = true;
                },
            )
        };
        drop(installed);
        drop(scope);
        let outcome = outcome?;
        t.last.set(outcome);
        if let Err(e) = guard.leave() {
            // The call throws: nobody takes its result.
            PENDING.with(|p| p.borrow_mut().take());
            return Err(e);
        }
        Ok(pending)
    }));
    match outcome {
        Ok(Ok(false)) => {}
        Ok(Ok(true)) => return cx.boolean(true).unwrap_or(ptr::null_mut()),
        Ok(Err(e)) => {
            cx.throw(e);
        }
        Err(_) => {
            cx.throw(Error::Internal(
                "ffi.call: internal error (a panic was caught)".into(),
            ));
        }
    }
    ptr::null_mut()
}

thread_local! {
    /// The result of the last synchronous call during which JavaScript ran,
    /// until [`take_result`] moves it into rValue.
    static PENDING: std::cell::RefCell<Option<ResultBuf>> = const { std::cell::RefCell::new(None) };
}

/// After a call during which JavaScript ran (`callFast` returned true):
/// copies its result into `rvalue` if that is still attached and large
/// enough (a callback may have detached or shrunk it; the result is then
/// dropped, as there is nowhere left to put it).
#[napi]
pub fn take_result(env: Env, rvalue: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let Some(result) = PENDING.with(|p| p.borrow_mut().take()) else {
        return Ok(());
    };
    let r = cx.view(rvalue, &|| "ffi.call: rValue".into())?;
    let bytes = result.bytes();
    if r.len >= bytes.len() && !r.ptr.is_null() {
        // SAFETY: `r` has r.len writable bytes, read through N-API now.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), r.ptr, bytes.len()) };
    }
    Ok(())
}

/// Sets up this thread's fast path: returns `[control, callFast]`.
#[napi]
pub fn fast_init(env: Env) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let (control, mem) = cx.node_buffer(std::mem::size_of::<f64>())?;
    env::THREAD.with(|t| {
        t.control.set(mem.cast::<f64>());
        t.errno.set(crate::os::errno_location());
    });
    claim(cx.env);
    let mut f = ptr::null_mut();
    let name = "callFast";
    // SAFETY: a plain function with no data.
    unsafe {
        napi_ok!(sys::napi_create_function(
            cx.env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(call_fast),
            ptr::null_mut(),
            &mut f
        ))
    };
    cx.array(&[control, f]).map(Js)
}

thread_local! {
    /// The JavaScript state that every copy of index.js on this thread
    /// shares (see [`shared_state`]): a strong reference, and its env.
    static SHARED_JS: std::cell::Cell<(sys::napi_env, sys::napi_ref)> =
        const { std::cell::Cell::new((ptr::null_mut(), ptr::null_mut())) };
}

unsafe extern "C" fn forget_shared(env: *mut c_void) {
    // The environment is ending: its references go with it.
    let _ = SHARED_JS.try_with(|s| {
        if s.get().0 == env.cast() {
            s.set((ptr::null_mut(), ptr::null_mut()));
        }
    });
}

/// The state that every evaluation of index.js in this environment shares
/// (a cleared `require.cache`, Jest's `isolateModules`: each evaluates it
/// again over this one binary, whose per-thread state, the fast path's
/// control cell first, exists once). Returns the object stored first; with
/// `value` and none stored yet, stores `value` and returns it; without,
/// returns undefined when none is stored.
#[napi]
pub fn shared_state(env: Env, value: Option<Js>) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    // Each load of the binary has its own `napi_env` over the one
    // JavaScript environment of this thread: the reference is of the first.
    let (_, r) = SHARED_JS.with(|s| s.get());
    if !r.is_null() {
        let mut v = ptr::null_mut();
        // SAFETY: a strong reference made on this thread, whose environment
        // (isolate and all) every load on this thread shares; cleared by the
        // cleanup hook when that environment ends.
        unsafe { napi_ok!(sys::napi_get_reference_value(cx.env, r, &mut v)) };
        return Ok(Js(v));
    }
    let Some(value) = value else {
        let mut u = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_get_undefined(cx.env, &mut u)) };
        return Ok(Js(u));
    };
    let mut r = ptr::null_mut();
    // SAFETY: a live value of this env; strong for the env's lifetime. The
    // hook only clears the thread-local (references die with their env).
    unsafe {
        napi_ok!(sys::napi_create_reference(cx.env, value.0, 1, &mut r));
        napi_ok!(sys::napi_add_env_cleanup_hook(
            cx.env,
            Some(forget_shared),
            cx.env.cast()
        ));
    }
    SHARED_JS.with(|s| s.set((cx.env, r)));
    Ok(value)
}

/// Checks a call in full and, if it passes, records it in `slot` for the
/// fast path (JavaScript then calls `callFast`).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn fill_slot(
    env: Env,
    slot: Js,
    cif: Js,
    fun: Js,
    rvalue: Js,
    avalues: Js,
    variadic: bool,
) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let call = super::call_async::checked(&cx, cif, fun, rvalue, avalues, variadic)?;
    let s = slot_bytes(&cx, slot)?;
    // SAFETY: the slot has SLOT_SIZE bytes and is aligned (checked), so
    // call_fast can read it in place.
    unsafe { s.cast::<Checked>().write(call) };
    Ok(())
}

/// A slot's bytes: at least SLOT_SIZE of them, aligned to SLOT_ALIGN.
fn slot_bytes(cx: &Cx, slot: Js) -> napi::Result<*mut u8> {
    let s: Region = cx.view(slot, &|| "ffi.call: slot".into())?;
    if s.len < SLOT_SIZE || !(s.ptr as usize).is_multiple_of(SLOT_ALIGN) {
        return Err(cx.throw(Error::InvalidCif("ffi.call: not a slot".into())));
    }
    Ok(s.ptr)
}

/// Makes the call `slot` holds (filled by [`fill_slot`]) one with another
/// `fun` and `rvalue`, checked as `fill_slot` checks them; the CIF and
/// `aValues` stay. What it trusts JavaScript with: see lib/CONTRACT.md §4.
pub(super) fn refill_slot(env: Env, slot: Js, fun: Js, rvalue: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let fun = cx.address(fun, &|| "ffi.call: fn".into())?;
    let rvalue: Region = cx.view(rvalue, &|| "ffi.call: rValue".into())?;
    let s = slot_bytes(&cx, slot)?;
    // SAFETY: a slot of SLOT_SIZE aligned bytes (checked) that fill_slot
    // filled, for this CIF and aValues, unchanged since (JavaScript's word,
    // lib/CONTRACT.md §4); this thread's only reference to it.
    let call = unsafe { &mut *s.cast::<Checked>() };
    cx.check(call.refill(fun, rvalue))
}

/// Makes the call `slot` holds (filled by [`fill_slot`]) one with another
/// `fun` whose result goes to the slot's own result room, where JavaScript
/// copies it from into `rValue` (which this side then never sees, so that
/// a Buffer still on the V8 heap is not moved off it for its address). The
/// CIF and `aValues` stay, as in [`refill_slot`]; what it trusts JavaScript
/// with: see lib/CONTRACT.md §4. A result larger than the room is refused.
pub(super) fn own_slot(env: Env, slot: Js, fun: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let fun = cx.address(fun, &|| "ffi.call: fn".into())?;
    let s = slot_bytes(&cx, slot)?;
    let room = Region {
        // SAFETY: SLOT_RESULT_AT + SLOT_RESULT_ROOM = SLOT_SIZE bytes are
        // in the slot (checked).
        ptr: unsafe { s.add(SLOT_RESULT_AT) },
        len: SLOT_RESULT_ROOM,
    };
    // SAFETY: as in refill_slot.
    let call = unsafe { &mut *s.cast::<Checked>() };
    cx.check(call.refill(fun, room))
}
