//! The pointer helpers' native half: bounded reads and writes of pointers
//! and C strings, and Buffers over foreign memory. Which addresses
//! JavaScript (`lib/pointer.js`) may pass to the `*At` functions and
//! `reinterpret`, and what it does with their results: see
//! lib/CONTRACT.md §7.

use napi::{sys, Env};
use napi_derive::napi;

use super::{Cx, Js};
use crate::error::Error;
use crate::pointer::{self, POINTER_SIZE};

/// The address stored in `buf` at `offset`.
#[napi]
pub fn read_pointer(env: Env, buf: Js, offset: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let what = || "ffi.readPointer".to_string();
    let r = cx.view(buf, &what)?;
    let offset = cx.index(offset, 0, &|| "ffi.readPointer: offset".into())?;
    cx.check(pointer::check_span(r.len, offset, POINTER_SIZE, &what))?;
    // SAFETY: the span was checked against the Buffer.
    let a = unsafe { pointer::read_address(r.ptr.add(offset)) };
    cx.address_value(a).map(Js)
}

/// Stores `address` in `buf` at `offset`.
#[napi]
pub fn write_pointer(env: Env, buf: Js, offset: Js, address: Js) -> napi::Result<()> {
    let cx = Cx::new(&env);
    let what = || "ffi.writePointer".to_string();
    let r = cx.view(buf, &what)?;
    let offset = cx.index(offset, 0, &|| "ffi.writePointer: offset".into())?;
    let a = cx.address(address, &what)?;
    cx.check(pointer::check_span(r.len, offset, POINTER_SIZE, &what))?;
    // SAFETY: the span was checked against the Buffer.
    unsafe { pointer::write_address(r.ptr.add(offset), a) };
    Ok(())
}

/// `address + offset`, checked: refuses NULL and overflow.
fn offset_address(cx: &Cx, what: &str, address: Js, offset: usize) -> napi::Result<usize> {
    let a = cx.address(address, &|| what.to_string())?;
    if a == 0 {
        return Err(cx.throw(Error::NullPointer(format!("{what}: the pointer is NULL"))));
    }
    a.checked_add(offset).ok_or_else(|| {
        cx.throw(Error::OutOfRange(format!(
            "{what}: address {a:#x} plus offset {offset} overflows"
        )))
    })
}

/// Memory at `address + offset`, `length` bytes: an ArrayBuffer over it
/// (JavaScript makes the Buffer), or for length 0 the address alone
/// (JavaScript makes the pointer Buffer).
#[napi]
pub fn reinterpret(
    env: Env,
    address: Js,
    length: Js,
    offset: Js,
    what: Option<String>,
) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let what = what.as_deref().unwrap_or("ffi.reinterpret");
    let length = cx.index(length, 0, &|| format!("{what}: length"))?;
    let offset = cx.index(offset, 0, &|| format!("{what}: offset"))?;
    let at = offset_address(&cx, what, address, offset)?;
    if length == 0 {
        return cx.address_value(at).map(Js);
    }
    cx.check(pointer::check_span(usize::MAX - at, 0, length, &|| {
        what.into()
    }))?;
    cx.external_arraybuffer(at, length).map(Js)
}

/// A JavaScript string of the UTF-8 `bytes`; `ERR_OUT_OF_RANGE` when V8
/// cannot make one that long (its limit is 2^29 - 24 UTF-16 units on 64-bit
/// targets, which only the result's length tells exactly).
fn c_string(cx: &Cx, bytes: &[u8]) -> napi::Result<Js> {
    let mut v = std::ptr::null_mut();
    // SAFETY: `bytes` is a live slice; invalid UTF-8 becomes U+FFFD. A
    // length past isize::MAX cannot be a slice's.
    let status = unsafe {
        sys::napi_create_string_utf8(cx.env, bytes.as_ptr().cast(), bytes.len() as isize, &mut v)
    };
    if status != sys::Status::napi_ok {
        cx.drop_pending_exception();
        return Err(cx.throw(Error::OutOfRange(format!(
            "ffi.readCString: the string is {} bytes long, more than a JavaScript string can hold",
            bytes.len()
        ))));
    }
    Ok(Js(v))
}

/// The C string in `buf` from `offset`, never read past the Buffer's end.
#[napi]
pub fn read_c_string(env: Env, buf: Js, offset: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let what = || "ffi.readCString".to_string();
    let r = cx.view(buf, &what)?;
    let offset = cx.index(offset, 0, &|| "ffi.readCString: offset".into())?;
    if offset >= r.len {
        return Err(cx.throw(Error::OutOfRange(format!(
            "ffi.readCString: offset {offset} is not inside a Buffer of {} bytes",
            r.len
        ))));
    }
    // SAFETY: `offset < len`, so `len - offset` bytes are readable.
    let bytes = unsafe { pointer::c_string_bytes(r.ptr.add(offset), Some(r.len - offset)) };
    c_string(&cx, bytes)
}

/// The C string at `address + offset` in foreign memory, read up to its
/// NUL as C would.
#[napi]
pub fn read_c_string_at(env: Env, address: Js, offset: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let offset = cx.index(offset, 0, &|| "ffi.readCString: offset".into())?;
    let at = offset_address(&cx, "ffi.readCString", address, offset)?;
    // SAFETY: non-NULL; that a string is there is the caller's word, as in C.
    let bytes = unsafe { pointer::c_string_bytes(at as *const u8, None) };
    c_string(&cx, bytes)
}

/// A Node-owned copy of `length` bytes at `from` (JavaScript turns it into
/// a Buffer of its own: no external memory is involved).
///
/// # Safety
/// `length` bytes at `from` are readable.
unsafe fn copy_out(cx: &Cx, from: *const u8, length: usize) -> napi::Result<Js> {
    let (buf, mem) = cx.node_buffer(length)?;
    if length > 0 {
        // SAFETY: readable (caller's word); `mem` is a fresh Buffer of length.
        unsafe { std::ptr::copy_nonoverlapping(from, mem, length) };
    }
    Ok(Js(buf))
}

/// `ffi.read` of foreign memory: a copy of `length` bytes at
/// `address + offset` (NULL refused; that the bytes are there is the
/// caller's word, as in C).
#[napi]
pub fn read_at(env: Env, address: Js, offset: Js, length: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let offset = cx.index(offset, 0, &|| "ffi.read: offset".into())?;
    let length = cx.index(length, 0, &|| "ffi.read: length".into())?;
    let at = offset_address(&cx, "ffi.read", address, offset)?;
    cx.check(pointer::check_span(usize::MAX - at, 0, length, &|| {
        "ffi.read".into()
    }))?;
    // SAFETY: non-NULL, no overflow; the rest is the caller's word.
    unsafe { copy_out(&cx, at as *const u8, length) }
}

/// `ffi.read` of a Buffer with a length: a copy, never past its end.
#[napi]
pub fn read_view(env: Env, buf: Js, offset: Js, length: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let what = || "ffi.read".to_string();
    let r = cx.view(buf, &what)?;
    let offset = cx.index(offset, 0, &|| "ffi.read: offset".into())?;
    let length = cx.index(length, 0, &|| "ffi.read: length".into())?;
    cx.check(pointer::check_span(r.len, offset, length, &what))?;
    // SAFETY: the span was checked against the Buffer.
    unsafe { copy_out(&cx, r.ptr.add(offset), length) }
}

/// The bytes `ffi.write` copies: a view's (through N-API: 0 once detached)
/// or a string's UTF-8 encoding (no NUL added).
fn source_bytes(cx: &Cx, source: Js) -> napi::Result<Vec<u8>> {
    if cx.type_of(source)? == sys::ValueType::napi_string {
        return Ok(cx.get_string(source)?.into_bytes());
    }
    let r = cx.view(source, &|| "ffi.write: source".into())?;
    if r.len == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: a live view of r.len readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(r.ptr, r.len) }.to_vec())
}

/// `ffi.write` into foreign memory at `address + offset`: returns the
/// bytes written (NULL refused; that there is room is the caller's word).
#[napi]
pub fn write_at(env: Env, address: Js, offset: Js, source: Js) -> napi::Result<f64> {
    let cx = Cx::new(&env);
    let offset = cx.index(offset, 0, &|| "ffi.write: offset".into())?;
    let at = offset_address(&cx, "ffi.write", address, offset)?;
    let bytes = source_bytes(&cx, source)?;
    cx.check(pointer::check_span(
        usize::MAX - at,
        0,
        bytes.len(),
        &|| "ffi.write".into(),
    ))?;
    // SAFETY: non-NULL, no overflow; room is the caller's word, as in C.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), at as *mut u8, bytes.len()) };
    Ok(bytes.len() as f64)
}

/// `ffi.write` into a Buffer with a length, never past its end.
#[napi]
pub fn write_view(env: Env, buf: Js, offset: Js, source: Js) -> napi::Result<f64> {
    let cx = Cx::new(&env);
    let what = || "ffi.write".to_string();
    let offset = cx.index(offset, 0, &|| "ffi.write: offset".into())?;
    let bytes = source_bytes(&cx, source)?;
    // Read the target after the source: a string's conversion runs no
    // JavaScript, so nothing can detach it in between.
    let r = cx.view(buf, &what)?;
    cx.check(pointer::check_span(r.len, offset, bytes.len(), &what))?;
    // SAFETY: the span was checked against the Buffer; `bytes` is a copy,
    // so an overlap with the target does not matter.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), r.ptr.add(offset), bytes.len()) };
    Ok(bytes.len() as f64)
}

/// The address of a Buffer's first byte (a number, or a bigint past 2^53).
#[napi]
pub fn buffer_address(env: Env, buf: Js, what: Option<String>) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let what = what.unwrap_or_else(|| "ffi.address".into());
    let r = cx.view(buf, &|| what.clone())?;
    cx.address_value(r.ptr as usize).map(Js)
}
