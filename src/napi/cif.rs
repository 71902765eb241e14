//! `CIF`, `CIFVar`, `StructType`, `offsetsof`. The JavaScript side resolves
//! each type Buffer to an address it has vouched for (a builtin type, or a
//! Buffer of at least `sizeof(ffi_type)` bytes) and keeps them all alive:
//! see lib/CONTRACT.md §3.

use std::mem::size_of;
use std::ptr::NonNull;

use libffi_sys::{ffi_cif, ffi_type};
use napi::Env;
use napi_derive::napi;

use super::{Cx, Js};
use crate::cif::{self, Signature};
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

/// Prepares a CIF: `types` is `[rtype, ...atypes]` as addresses. Returns
/// `[cif, argTypeArray, slot, argSizes]`: Node-owned Buffers holding the
/// `ffi_cif`, the argument-type array it points to, and the fast path's
/// slot; then each argument's size in bytes (structs laid out by now).
#[napi]
pub fn prep_cif(env: Env, abi: Js, nfixed: Js, types_: Js) -> napi::Result<Js> {
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

    let (cif_buf, cif_mem) = cx.node_buffer(size_of::<ffi_cif>())?;
    let n = atypes.len();
    let (at_buf, at_mem) = cx.node_buffer(n.max(1) * size_of::<*mut ffi_type>())?;
    // SAFETY: `at_mem` is a fresh Node Buffer of n pointers (malloc-aligned),
    // kept alive by JavaScript as long as the CIF Buffer.
    let at = unsafe { std::slice::from_raw_parts_mut(at_mem.cast::<*mut ffi_type>(), n) };
    at.copy_from_slice(atypes);
    // SAFETY: `cif_mem` is a fresh, malloc-aligned Buffer of sizeof(ffi_cif);
    // the types passed check_type and JavaScript keeps them alive.
    cx.check(unsafe { cif::prepare(cif_mem.cast(), Signature { abi, nfixed }, rtype, at) })?;
    let (slot, _) = cx.node_buffer(super::call::SLOT_SIZE)?;
    let sizes = atypes
        .iter()
        // SAFETY: checked types, laid out by ffi_prep_cif.
        .map(|&t| cx.f64(unsafe { (*t).size } as f64))
        .collect::<napi::Result<Vec<_>>>()?;
    let sizes = cx.array(&sizes)?;
    cx.array(&[cif_buf, at_buf, slot, sizes]).map(Js)
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
