//! `call`, `errno`, `lastError`.

use libffi_sys::ffi_cif;
use napi::Env;
use napi_derive::napi;

use super::{Cx, Js};

/// `ffi_call` through the CIF at `cif` (an address JavaScript took from its
/// table of prepared CIFs), with `rValue` and `aValues` as Buffers.
#[napi]
pub fn call(env: Env, cif: Js, fun: Js, rvalue: Js, avalues: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let cif = cx.address(cif, &|| "ffi.call: cif".into())? as *mut ffi_cif;
    let fun = cx.address(fun, &|| "ffi.call: fn".into())?;
    let rvalue = cx.view(rvalue, &|| "ffi.call: rValue".into())?;
    let avalues = cx.view(avalues, &|| "ffi.call: aValues".into())?;
    // SAFETY: JavaScript passes only the address of a CIF this module
    // prepared and keeps alive; the Buffers are live for this call; what
    // `fun` is and where the argument pointers point is the caller's word.
    cx.check(unsafe { crate::call::call(cif, fun, rvalue, avalues) })?;
    Ok(())
}

/// The `errno` the last synchronous call on this thread left.
#[napi]
pub fn errno() -> i32 {
    crate::call::last_outcome().errno
}

/// `GetLastError()` after the last synchronous call on this thread (0
/// off Windows).
#[napi]
pub fn last_error() -> i32 {
    crate::call::last_outcome().last_error
}
