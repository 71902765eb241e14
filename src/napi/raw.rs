//! The pointer helpers and the checked call's fill as plain N-API
//! functions. A `#[napi]` function pays napi-rs's per-call bookkeeping
//! (a borrow scope opened and closed, an allocation and a free: about
//! 100 ns, several times the helper's own work); these go straight from
//! `napi_get_cb_info` to the same code. `rawHelpers()` returns them. They
//! trust JavaScript exactly as their `#[napi]` twins do: see
//! lib/CONTRACT.md §3 (`prepCif`), §4 (`fillSlot`, `refillSlot`,
//! `ownSlot`) and §7.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::{sys, Env, Status};
use napi_derive::napi;

use super::{call, cif, napi_ok, pointer, Cx, Js};

/// At most this many arguments are read.
const MAX_ARGS: usize = 7;

/// The call's first `MAX_ARGS` arguments (undefined where not given).
///
/// # Safety
/// `env` and `info` are the callback's own.
unsafe fn args(env: sys::napi_env, info: sys::napi_callback_info) -> [Js; MAX_ARGS] {
    let mut argc = MAX_ARGS;
    let mut argv = [ptr::null_mut(); MAX_ARGS];
    // SAFETY: `argv` has room for `argc` values; N-API fills the ones not
    // given with undefined.
    unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    argv.map(Js)
}

/// Runs `f` over the call's arguments and hands its value to JavaScript:
/// an error already thrown stays pending; an engine failure or a panic is
/// thrown as a plain Error.
///
/// # Safety
/// `env` and `info` are the callback's own.
unsafe fn run(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    f: impl FnOnce(Env, [Js; MAX_ARGS]) -> napi::Result<sys::napi_value>,
) -> sys::napi_value {
    // SAFETY: the callback's own env and info (the caller's word).
    let argv = unsafe { args(env, info) };
    let outcome = catch_unwind(AssertUnwindSafe(|| f(Env::from_raw(env), argv)));
    let message = match outcome {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) if e.status == Status::PendingException => return ptr::null_mut(),
        Ok(Err(e)) => e.reason.clone(),
        Err(_) => "ffi: internal error (a panic was caught)".to_string(),
    };
    let text = std::ffi::CString::new(message).unwrap_or_default();
    // SAFETY: valid env; a NUL-terminated message.
    unsafe { sys::napi_throw_error(env, ptr::null(), text.as_ptr()) };
    ptr::null_mut()
}

/// `undefined`, for functions that return nothing.
fn undefined(env: Env) -> napi::Result<sys::napi_value> {
    let mut u = ptr::null_mut();
    // SAFETY: valid env.
    unsafe { napi_ok!(sys::napi_get_undefined(env.raw(), &mut u)) };
    Ok(u)
}

unsafe extern "C" fn read_pointer(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: the callback's own env and info.
    unsafe {
        run(env, info, |env, a| {
            pointer::read_pointer(env, a[0], a[1]).map(|v| v.0)
        })
    }
}

unsafe extern "C" fn write_pointer(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let f = |env, a: [Js; MAX_ARGS]| {
        pointer::write_pointer(env, a[0], a[1], a[2])?;
        undefined(env)
    };
    // SAFETY: the callback's own env and info.
    unsafe { run(env, info, f) }
}

unsafe extern "C" fn read_c_string(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: the callback's own env and info.
    unsafe {
        run(env, info, |env, a| {
            pointer::read_c_string(env, a[0], a[1]).map(|v| v.0)
        })
    }
}

unsafe extern "C" fn read_c_string_at(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: the callback's own env and info.
    unsafe {
        run(env, info, |env, a| {
            pointer::read_c_string_at(env, a[0], a[1]).map(|v| v.0)
        })
    }
}

/// `bufferAddress(buf[, what])`: `what` (a string) is read only for an error.
unsafe extern "C" fn buffer_address(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let f = |env: Env, a: [Js; MAX_ARGS]| {
        let cx = Cx::new(&env);
        let what = || {
            if cx.type_of(a[1]).ok() == Some(sys::ValueType::napi_string) {
                cx.get_string(a[1]).unwrap_or_default()
            } else {
                "ffi.address".into()
            }
        };
        let r = cx.view(a[0], &what)?;
        cx.address_value(r.ptr as usize)
    };
    // SAFETY: the callback's own env and info.
    unsafe { run(env, info, f) }
}

unsafe extern "C" fn fill_slot(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let f = |env: Env, a: [Js; MAX_ARGS]| {
        let mut variadic = false;
        // SAFETY: valid env; a non-boolean reads as false.
        unsafe { sys::napi_get_value_bool(env.raw(), a[5].0, &mut variadic) };
        call::fill_slot(env, a[0], a[1], a[2], a[3], a[4], variadic)?;
        undefined(env)
    };
    // SAFETY: the callback's own env and info.
    unsafe { run(env, info, f) }
}

/// `refillSlot(slot, fnAddress, rValue)`: raw only (see lib/CONTRACT.md §4).
unsafe extern "C" fn refill_slot(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let f = |env: Env, a: [Js; MAX_ARGS]| {
        call::refill_slot(env, a[0], a[1], a[2])?;
        undefined(env)
    };
    // SAFETY: the callback's own env and info.
    unsafe { run(env, info, f) }
}

/// `ownSlot(slot, fnAddress)`: raw only (see lib/CONTRACT.md §4).
unsafe extern "C" fn own_slot(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let f = |env: Env, a: [Js; MAX_ARGS]| {
        call::own_slot(env, a[0], a[1])?;
        undefined(env)
    };
    // SAFETY: the callback's own env and info.
    unsafe { run(env, info, f) }
}

/// `prepCif(abi, nfixed, types, cif, area)`: raw only (see lib/CONTRACT.md §3).
unsafe extern "C" fn prep_cif(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let f = |env: Env, a: [Js; MAX_ARGS]| cif::prep_cif(env, a[0], a[1], a[2], a[3], a[4]);
    // SAFETY: the callback's own env and info.
    unsafe { run(env, info, f) }
}

/// `{ readPointer, writePointer, readCString, readCStringAt, bufferAddress,
/// fillSlot, refillSlot, ownSlot, prepCif }`: the same functions as the
/// `#[napi]` ones of those names (`refillSlot`, `ownSlot` and `prepCif`
/// have none), without napi-rs's per-call bookkeeping.
#[napi]
pub fn raw_helpers(env: Env) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let out = cx.object()?;
    type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;
    let all: [(&str, Callback); 9] = [
        ("readPointer", read_pointer),
        ("writePointer", write_pointer),
        ("readCString", read_c_string),
        ("readCStringAt", read_c_string_at),
        ("bufferAddress", buffer_address),
        ("fillSlot", fill_slot),
        ("refillSlot", refill_slot),
        ("ownSlot", own_slot),
        ("prepCif", prep_cif),
    ];
    for (name, cb) in all {
        let mut f = ptr::null_mut();
        // SAFETY: a plain function with no data.
        unsafe {
            napi_ok!(sys::napi_create_function(
                cx.env,
                name.as_ptr().cast(),
                name.len() as isize,
                Some(cb),
                ptr::null_mut(),
                &mut f
            ))
        };
        cx.set(out, name, f)?;
    }
    Ok(Js(out))
}
