//! `require('ffi/dlopen')`: a handle is a Node-owned Buffer holding the
//! loader's `void *`, with the [`Library`] wrapped onto it (`napi_wrap`).
//! Nothing here trusts JavaScript: see lib/CONTRACT.md §8.

use std::os::raw::c_void;

use napi::{sys, Env};
use napi_derive::napi;

use super::{Cx, Js, LIBRARY_TAG};
use crate::error::Error;
use crate::library::{self, Library};
use crate::pointer::{self, POINTER_SIZE};

unsafe extern "C" fn finalize_library(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Box that dlopen wrapped, finalised exactly once.
    // Dropping a Library leaves the library loaded (see its docs).
    drop(unsafe { Box::from_raw(data.cast::<Library>()) });
}

/// The Library wrapped onto a handle Buffer.
fn library<'a>(cx: &Cx, handle: Js, what: &str) -> napi::Result<&'a mut Library> {
    match cx.unwrap_tagged(handle, &LIBRARY_TAG)? {
        // SAFETY: only dlopen tags with LIBRARY_TAG, and wraps a Box<Library>
        // that lives until the handle is collected, so beyond this call.
        Some(data) => Ok(unsafe { &mut *data.cast::<Library>() }),
        None if cx.is_view(handle)? => Err(cx.throw(Error::InvalidHandle(format!(
            "{what}: this Buffer is not a library handle from dlopen"
        )))),
        None => {
            let got = cx.describe(handle)?;
            Err(cx.throw(Error::InvalidArgType(format!(
                "{what}: expected a library handle from dlopen, got {got}"
            ))))
        }
    }
}

/// Opens a library (`null`: the process itself); throws `dlopen(name): …`.
#[napi]
pub fn dlopen(env: Env, name: Js, flags: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let name = match cx.type_of(name)? {
        sys::ValueType::napi_null | sys::ValueType::napi_undefined => None,
        _ => Some(cx.string_arg(name, &|| "dlopen: name".into())?),
    };
    let flags = match cx.opt_number(flags, &|| "dlopen: flags".into())? {
        None => library::default_flags(),
        Some(f) if f.fract() == 0.0 && (0.0..=f64::from(i32::MAX)).contains(&f) => f as i32,
        Some(f) => {
            return Err(cx.throw(Error::OutOfRange(format!(
                "dlopen: flags must be a whole number >= 0 (RTLD_*), got {f}"
            ))))
        }
    };
    let lib = match Library::open(name.as_deref(), flags) {
        Ok(lib) => lib,
        Err(e) => {
            library::set_last_open_error(e.message());
            return Err(cx.throw(e));
        }
    };
    let (buf, mem) = cx.node_buffer(POINTER_SIZE)?;
    // SAFETY: a fresh Buffer of POINTER_SIZE bytes.
    unsafe { pointer::write_address(mem, lib.raw_handle()) };
    let boxed = Box::into_raw(Box::new(lib));
    if let Err(e) = cx.wrap(buf, &LIBRARY_TAG, boxed.cast(), Some(finalize_library)) {
        // SAFETY: not wrapped, so still ours.
        drop(unsafe { Box::from_raw(boxed) });
        return Err(e);
    }
    Ok(Js(buf))
}

/// A Buffer of pointer size holding the symbol's address.
#[napi]
pub fn dlsym(env: Env, handle: Js, name: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let lib = library(&cx, handle, "dlsym")?;
    let name = cx.string_arg(name, &|| "dlsym: name".into())?;
    let at = cx.check(lib.symbol(&name))?;
    let (buf, mem) = cx.node_buffer(POINTER_SIZE)?;
    // SAFETY: a fresh Buffer of POINTER_SIZE bytes.
    unsafe { pointer::write_address(mem, at as usize) };
    Ok(Js(buf))
}

/// Unloads the library; a second close does nothing.
#[napi]
pub fn dlclose(env: Env, handle: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let lib = library(&cx, handle, "dlclose")?;
    cx.check(lib.close())?;
    let r = cx.view(handle, &|| "dlclose".into())?;
    if r.len >= POINTER_SIZE {
        // SAFETY: the handle Buffer has POINTER_SIZE bytes; a closed handle
        // reads as NULL to C.
        unsafe { pointer::write_address(r.ptr, 0) };
    }
    Ok(())
}

/// The last error on `handle`; without one, the last failed dlopen on this
/// thread.
#[napi]
pub fn dlerror(env: Env, handle: Js) -> napi::Result<String> {
    let cx = Cx::new(&env);
    match cx.type_of(handle)? {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => {
            Ok(library::last_open_error())
        }
        _ => Ok(library(&cx, handle, "dlerror")?.last_error().to_string()),
    }
}
