//! `CIF`, `CIFVar`, `StructType`, `offsetsof`. The JavaScript side resolves
//! each type Buffer to an address it has vouched for (a builtin type, or a
//! Buffer of at least `sizeof(ffi_type)` bytes) and keeps them all alive:
//! see lib/CONTRACT.md §3.

use std::mem::{align_of, size_of, size_of_val};
use std::ptr::NonNull;

use libffi_sys::{ffi_cif, ffi_type};
use napi::{sys, Env};
use napi_derive::napi;

use super::{Cx, Js};
use crate::cif::{self, Signature};
use crate::error::Error;
use crate::types;

/// Resolves and checks the types; the return type first.
fn checked_types(cx: &Cx, ctx: &str, types_: Js) -> napi::Result<Vec<*mut ffi_type>> {
    let addrs = cx.addresses(types_, &|| format!("{ctx}: types"))?;
    addrs
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let t = a as *mut ffi_type;
            let what = || match i {
                0 => format!("{ctx}: the return type"),
                n => format!("{ctx}: argument type {}", n - 1),
            };
            // SAFETY: JavaScript passes only addresses of builtin types or of
            // Buffers at least sizeof(ffi_type) long, all kept alive
            // (lib/CONTRACT.md §3).
            cx.check(unsafe { types::check_type(t, &what) })?;
            Ok(t)
        })
        .collect()
}

/// Prepares a CIF: `types` is `[rtype, ...atypes]` as addresses; `cif` is
/// the Buffer that will hold the `ffi_cif` and `area` the bytes that hold
/// the argument-type array, after a slot's (both made by JavaScript: see
/// lib/CONTRACT.md §3). Returns the `ffi_cif`'s address. `prepCif` in
/// `rawHelpers()`.
pub(super) fn prep_cif(
    env: Env,
    abi: Js,
    nfixed: Js,
    types_: Js,
    cif: Js,
    area: Js,
) -> napi::Result<sys::napi_value> {
    let cx = Cx::new(&env);
    let variadic = !cx.is_undefined(nfixed)?;
    let ctx = if variadic { "ffi.CIFVar" } else { "ffi.CIF" };
    let abi = match cx.opt_number(abi, &|| format!("{ctx}: abi"))? {
        None => crate::abi::DEFAULT,
        Some(n) => cx.check(crate::abi::from_number(n, ctx))?,
    };
    let nfixed = if variadic {
        Some(cx.index(nfixed, 0, &|| format!("{ctx}: nFixedArgs"))?)
    } else {
        None
    };
    let all = checked_types(&cx, ctx, types_)?;
    let (rtype, atypes) = (all[0], &all[1..]);
    let n = atypes.len();

    let c = cx.view(cif, &|| format!("{ctx}: cif"))?;
    let a = cx.view(area, &|| format!("{ctx}: area"))?;
    let at_offset = super::call::SLOT_SIZE;
    if c.len < size_of::<ffi_cif>()
        || !(c.ptr as usize).is_multiple_of(align_of::<ffi_cif>())
        || a.len < at_offset + size_of_val(atypes)
        || !(a.ptr as usize).is_multiple_of(super::call::SLOT_ALIGN)
    {
        return Err(cx.throw(Error::Internal(format!(
            "{ctx}: internal error (the CIF's memory is too small or misaligned)"
        ))));
    }
    // SAFETY: `area` has room for n pointers at `at_offset`, a multiple of
    // SLOT_ALIGN (checked), in memory only this module reaches, kept alive
    // by JavaScript as long as the CIF Buffer (lib/CONTRACT.md §3).
    let at =
        unsafe { std::slice::from_raw_parts_mut(a.ptr.add(at_offset).cast::<*mut ffi_type>(), n) };
    at.copy_from_slice(atypes);
    // SAFETY: `cif` has sizeof(ffi_cif) aligned bytes (checked); the types
    // passed check_type and JavaScript keeps them alive.
    cx.check(unsafe { cif::prepare(c.ptr.cast(), Signature { abi, nfixed }, rtype, at) })?;
    cx.address_value(c.ptr as usize)
}

/// `[result bytes, ...each argument's bytes]` of the prepared CIF at
/// `cif`: what `rValue` needs (as a call checks it) and each argument's
/// size (structs laid out by now).
#[napi]
pub fn cif_sizes(env: Env, cif: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let cif = cx.address(cif, &|| "ffi.call: cif".into())? as *mut ffi_cif;
    // SAFETY: the address of an attached CIF that prepCif prepared, its
    // types kept alive (lib/CONTRACT.md §3).
    let needs = unsafe { cif::needs(cif) };
    let mut sizes = vec![cx.f64(needs.rvalue as f64)?];
    for i in 0..needs.nargs {
        // SAFETY: as above: a prepared CIF has nargs live argument types.
        let size = unsafe { (**(*cif).arg_types.add(i)).size };
        sizes.push(cx.f64(size as f64)?);
    }
    cx.array(&sizes).map(Js)
}

/// `[size, alignment, type code]` of the type description at `t` (checked
/// as a CIF's types are).
#[napi]
pub fn type_info(env: Env, t: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let t = cx.address(t, &|| "ffi.typeInfo".into())? as *mut ffi_type;
    // SAFETY: as in checked_types.
    let info = cx.check(unsafe { types::check_type(t, &|| "ffi.typeInfo".into()) })?;
    cx.array(&[
        cx.f64(info.size as f64)?,
        cx.f64(f64::from(info.alignment))?,
        cx.f64(f64::from(info.code))?,
    ])
    .map(Js)
}

/// A struct type over `fields` (addresses): one Node-owned Buffer holding
/// the `ffi_type` and its NULL-terminated element array.
#[napi]
pub fn struct_type(env: Env, fields: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let addrs = cx.addresses(fields, &|| "ffi.StructType: fields".into())?;
    let mut ts = Vec::with_capacity(addrs.len());
    for (i, &a) in addrs.iter().enumerate() {
        let t = a as *mut ffi_type;
        // SAFETY: as in checked_types.
        cx.check(unsafe { types::check_type(t, &|| format!("ffi.StructType: field {i}")) })?;
        ts.push(t);
    }
    let (buf, mem) = cx.node_buffer(types::struct_type_len(ts.len()))?;
    let mem = NonNull::new(mem).expect("Node returned a NULL Buffer");
    // SAFETY: a fresh malloc-aligned Buffer of struct_type_len bytes; the
    // fields passed check_type and JavaScript keeps them alive.
    cx.check(unsafe { types::init_struct_type(mem, &ts) })?;
    Ok(Js(buf))
}

/// `ffi_get_struct_offsets` of the struct type at `t`.
#[napi]
pub fn offsets_of(env: Env, t: Js) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let t = cx.address(t, &|| "ffi.offsetsof".into())? as *mut ffi_type;
    // SAFETY: as in checked_types.
    cx.check(unsafe { types::check_type(t, &|| "ffi.offsetsof".into()) })?;
    // SAFETY: checked just above.
    let offsets = cx.check(unsafe { types::struct_offsets(t) })?;
    let values = offsets
        .into_iter()
        .map(|o| cx.f64(o as f64))
        .collect::<napi::Result<Vec<_>>>()?;
    cx.array(&values).map(Js)
}
