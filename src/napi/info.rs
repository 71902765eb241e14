//! Constants: sizes, ABIs, type codes, the builtin type addresses, and the
//! counts of live native objects (`ffi.stats()`).
//!
//! They trust nothing: see lib/CONTRACT.md §2.

use napi::Env;
use napi_derive::napi;

use super::{Cx, Js};
use crate::{abi, library, types};

/// Everything constant about this platform and this libffi, in one object.
#[napi]
pub fn info(env: Env) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let out = cx.object()?;

    let (sizeof, alignof) = (cx.object()?, cx.object()?);
    for (name, size, align) in types::c_layouts() {
        cx.set(sizeof, name, cx.f64(size as f64)?)?;
        cx.set(alignof, name, cx.f64(align as f64)?)?;
    }
    cx.set(out, "sizeof", sizeof)?;
    cx.set(out, "alignof", alignof)?;

    let abis = cx.object()?;
    cx.set(abis, "default", cx.f64(abi::DEFAULT as f64)?)?;
    cx.set(abis, "first", cx.f64(abi::FIRST as f64)?)?;
    cx.set(abis, "last", cx.f64(abi::LAST as f64)?)?;
    for (name, value) in abi::named() {
        cx.set(abis, name, cx.f64(value as f64)?)?;
    }
    cx.set(out, "abi", abis)?;

    let codes = cx.object()?;
    for (name, code) in types::type_codes() {
        cx.set(codes, name, cx.f64(f64::from(code))?)?;
    }
    cx.set(out, "typeCodes", codes)?;

    let builtins = types::builtin_types()
        .into_iter()
        .map(|(name, t)| cx.array(&[cx.string(name)?, cx.address_value(t as usize)?]))
        .collect::<napi::Result<Vec<_>>>()?;
    cx.set(out, "builtinTypes", cx.array(&builtins)?)?;
    let aliases = types::type_aliases()
        .into_iter()
        .map(|(alias, canonical)| cx.array(&[cx.string(alias)?, cx.string(canonical)?]))
        .collect::<napi::Result<Vec<_>>>()?;
    cx.set(out, "typeAliases", cx.array(&aliases)?)?;

    let rtld = cx.object()?;
    for (name, value) in library::rtld_flags() {
        cx.set(rtld, name, cx.i32(value)?)?;
    }
    cx.set(out, "rtld", rtld)?;
    cx.set(out, "defaultFlags", cx.i32(library::default_flags())?)?;
    cx.set(out, "extension", cx.string(library::EXTENSION)?)?;
    let endianness = if cfg!(target_endian = "little") {
        "LE"
    } else {
        "BE"
    };
    cx.set(out, "endianness", cx.string(endianness)?)?;

    // The layout of a fast-path slot, which lib/cif.js carves out of its
    // own memory (see lib/CONTRACT.md §4).
    let slot = cx.object()?;
    use super::call::{SLOT_ALIGN, SLOT_RESULT_AT, SLOT_RESULT_ROOM, SLOT_SIZE};
    cx.set(slot, "size", cx.f64(SLOT_SIZE as f64)?)?;
    cx.set(slot, "align", cx.f64(SLOT_ALIGN as f64)?)?;
    cx.set(slot, "resultAt", cx.f64(SLOT_RESULT_AT as f64)?)?;
    cx.set(slot, "resultRoom", cx.f64(SLOT_RESULT_ROOM as f64)?)?;
    cx.set(out, "slot", slot)?;
    Ok(Js(out))
}

/// Counts of live native objects (process-wide).
#[napi]
pub fn stats(env: Env) -> napi::Result<Js> {
    use crate::stats;
    let cx = Cx::new(&env);
    let out = cx.object()?;
    for (name, c) in [
        ("closures", &stats::CLOSURES),
        ("closureLeftovers", &stats::CLOSURE_LEFTOVERS),
        ("libraries", &stats::LIBRARIES),
        ("librariesOpen", &stats::LIBRARIES_OPEN),
        ("asyncCalls", &stats::ASYNC_CALLS),
        ("environments", &stats::ENVIRONMENTS),
    ] {
        cx.set(out, name, cx.f64(c.get() as f64)?)?;
    }
    let entries = crate::arch::entry::taken();
    cx.set(out, "closureEntries", cx.f64(entries as f64)?)?;
    Ok(Js(out))
}
