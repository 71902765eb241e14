//! Preparing an `ffi_cif` in memory the caller owns, and reading back what a
//! call needs from a prepared one.

use std::mem::size_of;
use std::os::raw::c_uint;

use libffi_sys::{ffi_abi, ffi_arg, ffi_cif, ffi_prep_cif, ffi_prep_cif_var, ffi_type};
use libffi_sys::{FFI_TYPE_STRUCT, FFI_TYPE_VOID};

use crate::error::{Error, FfiStatus, Result};

/// The most bytes a CIF may take by value: its arguments (each rounded up
/// to 8 bytes) plus its return value. libffi puts copies of them on the
/// native stack of the calling thread, for `ffi_call` and again in a
/// closure's trampoline, and that stack is V8's too: about 1 MiB on the main
/// thread (V8's default), 4 MiB in a Worker, often less on other threads. A
/// 4 MiB struct by value overflows the stack inside `ffi_call`, and a mere
/// 512 KiB (65,536 `int64`s) leaves a closure no stack to run JavaScript in.
/// 64 KiB keeps one call's copies a small part of every such stack, nested
/// calls included; C passes anything larger by pointer anyway.
pub const MAX_BY_VALUE: usize = 64 * 1024;

/// How a CIF is to be prepared.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    pub abi: ffi_abi,
    /// `Some(n)`: a variadic call with `n` fixed arguments.
    pub nfixed: Option<usize>,
}

impl Signature {
    fn context(&self) -> &'static str {
        if self.nfixed.is_some() {
            "ffi.CIFVar"
        } else {
            "ffi.CIF"
        }
    }
}

/// Prepares `cif` for `rtype (atypes...)`. `atypes` is the argument-type
/// array that the prepared CIF keeps pointing to.
///
/// # Safety
/// `cif` must be writable and `atypes` must stay valid, unmoved, as long as
/// the CIF is used; every type must have passed
/// [`check_type`](crate::types::check_type) and live as long.
pub unsafe fn prepare(
    cif: *mut ffi_cif,
    sig: Signature,
    rtype: *mut ffi_type,
    atypes: &mut [*mut ffi_type],
) -> Result<()> {
    let ctx = sig.context();
    for (i, &t) in atypes.iter().enumerate() {
        // SAFETY: the caller vouches that every type is readable.
        if unsafe { (*t).type_ } == FFI_TYPE_VOID {
            // libffi would take void's size of 1 at face value.
            return Err(Error::ffi(
                FfiStatus::BadArgType,
                format!("{ctx}: argument {i} is void; void is only a return type"),
            ));
        }
    }
    let nargs = atypes.len() as c_uint;
    if let Some(n) = sig.nfixed {
        if n > atypes.len() {
            return Err(Error::OutOfRange(format!(
                "{ctx}: nFixedArgs is {n}, but there are only {} argument types",
                atypes.len()
            )));
        }
    }
    // SAFETY: the caller vouches for the memory; libffi only reads the
    // types and writes `cif`.
    let status = unsafe {
        std::ptr::write_bytes(cif, 0, 1);
        match sig.nfixed {
            None => ffi_prep_cif(cif, sig.abi, nargs, rtype, atypes.as_mut_ptr()),
            Some(n) => {
                ffi_prep_cif_var(cif, sig.abi, n as c_uint, nargs, rtype, atypes.as_mut_ptr())
            }
        }
    };
    if let Some(s) = FfiStatus::from_raw(status) {
        if let (FfiStatus::BadArgType, Some(n)) = (s, sig.nfixed) {
            if let Some(e) = unpromoted(ctx, n, atypes) {
                return Err(e);
            }
        }
        return Err(Error::ffi(s, ctx));
    }
    // SAFETY: prepared just above: its return type is laid out and alive.
    if X87_RECORDS && sig.abi == crate::abi::DEFAULT && unsafe { x87_record(rtype) } {
        return Err(Error::ffi(
            FfiStatus::BadTypedef,
            format!(
                "{ctx}: the return type is a struct of at most 16 bytes holding a long double, \
                 which C returns in x87 registers and libffi would read from memory (garbage): \
                 return it through a pointer instead"
            ),
        ));
    }
    // Sizes are known now: libffi lays out hand-built aggregates in prep.
    // SAFETY: prepared just above, with the caller's live types.
    let bytes = unsafe { by_value_bytes(&*cif) };
    if bytes > MAX_BY_VALUE {
        return Err(Error::OutOfRange(format!(
            "{ctx}: the arguments and the return value take {bytes} bytes by value \
             (each argument rounded up to 8); the limit is {MAX_BY_VALUE} (64 KiB), since \
             libffi copies them onto the native stack: pass large data by pointer"
        )));
    }
    Ok(())
}

/// Whether x86-64 System V's x87 return classes apply here (Windows'
/// `long double` is a `double`).
const X87_RECORDS: bool = cfg!(all(target_arch = "x86_64", not(windows)));

/// Whether `t` is a struct of at most 16 bytes with a `long double`
/// anywhere among its elements: System V returns it in `st0`, libffi (3.4)
/// in memory.
///
/// # Safety
/// `t` must be a laid-out type whose element arrays are alive.
unsafe fn x87_record(t: *const ffi_type) -> bool {
    // SAFETY: the caller vouches for `t`.
    let t = unsafe { &*t };
    // SAFETY: the caller vouches for `t` and its elements.
    t.type_ == FFI_TYPE_STRUCT && t.size <= 16 && unsafe { holds_long_double(t) }
}

/// # Safety
/// As [`x87_record`].
unsafe fn holds_long_double(t: &ffi_type) -> bool {
    if t.type_ == libffi_sys::FFI_TYPE_LONGDOUBLE {
        return true;
    }
    if t.type_ != FFI_TYPE_STRUCT || t.elements.is_null() {
        return false;
    }
    let mut i = 0;
    loop {
        // SAFETY: a struct type's elements are a NULL-terminated array of
        // live types (checked by check_type before).
        let e = unsafe { *t.elements.add(i) };
        if e.is_null() {
            return false;
        }
        // SAFETY: as above.
        if unsafe { holds_long_double(&*e) } {
            return true;
        }
        i += 1;
    }
}

/// The error for a variadic argument that C would have promoted (a
/// `float` to `double`, an integer narrower than `int` to `int`), which
/// libffi refuses without saying which one: named, with the fix.
fn unpromoted(ctx: &str, nfixed: usize, atypes: &[*mut ffi_type]) -> Option<Error> {
    use libffi_sys::{
        FFI_TYPE_FLOAT, FFI_TYPE_SINT16, FFI_TYPE_SINT8, FFI_TYPE_UINT16, FFI_TYPE_UINT8,
    };
    atypes.iter().enumerate().skip(nfixed).find_map(|(i, &t)| {
        // SAFETY: the caller of prepare vouches that every type is readable.
        let code = unsafe { (*t).type_ };
        let (name, to) = match code {
            FFI_TYPE_FLOAT => ("float", "double (ffi.types.double)"),
            FFI_TYPE_SINT8 | FFI_TYPE_UINT8 => ("an 8-bit integer", "int (ffi.types.int)"),
            FFI_TYPE_SINT16 | FFI_TYPE_UINT16 => ("a 16-bit integer", "int (ffi.types.int)"),
            _ => return None,
        };
        Some(Error::ffi(
            FfiStatus::BadArgType,
            format!(
                "{ctx}: argument {i} (variadic argument {}) is {name}; C promotes it to {to} \
                 in a variadic call: describe it as that type and store it as one",
                i - nfixed
            ),
        ))
    })
}

/// What a prepared CIF takes by value: each argument's size rounded up to 8,
/// plus the return type's size (0 for void).
///
/// # Safety
/// `cif` must be prepared, with its types alive.
unsafe fn by_value_bytes(cif: &ffi_cif) -> usize {
    // SAFETY: the caller vouches for a prepared CIF and live types.
    unsafe {
        let rtype = &*cif.rtype;
        let ret = if rtype.type_ == FFI_TYPE_VOID {
            0
        } else {
            rtype.size
        };
        (0..cif.nargs as usize)
            .map(|i| (**cif.arg_types.add(i)).size.next_multiple_of(8))
            .fold(ret, usize::saturating_add)
    }
}

/// A deep copy of a prepared CIF in memory this crate owns: the prepared
/// `ffi_cif` bytes, with `rtype` and `arg_types` pointing to copies of
/// every type that is not one of libffi's own. A closure keeps one, so
/// that it stays callable when the Buffers of its CIF are gone (a Worker's
/// environment torn down under a C thread that still calls it).
pub struct OwnedCif {
    cif: Box<ffi_cif>,
    _arg_types: Box<[*mut ffi_type]>,
    // Boxed: each type keeps its address while more are pushed.
    #[allow(clippy::vec_box)]
    _types: Vec<Box<ffi_type>>,
    _elements: Vec<Box<[*mut ffi_type]>>,
}

// SAFETY: plain owned memory; libffi only reads it.
unsafe impl Send for OwnedCif {}
// SAFETY: as above.
unsafe impl Sync for OwnedCif {}

impl OwnedCif {
    /// Copies `cif` and the types it reaches.
    ///
    /// # Safety
    /// `cif` must be prepared, with every type it reaches alive.
    pub unsafe fn copy_of(cif: *const ffi_cif) -> OwnedCif {
        let builtins: Vec<*mut ffi_type> = crate::types::builtin_types()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        let mut types = Vec::new();
        let mut elements = Vec::new();
        // SAFETY: the caller vouches for a prepared CIF and live types.
        unsafe {
            let mut copy = Box::new(*cif);
            copy.rtype = copy_type(
                cif.as_ref().unwrap().rtype,
                &builtins,
                &mut types,
                &mut elements,
            );
            let n = (*cif).nargs as usize;
            let mut arg_types: Box<[*mut ffi_type]> = (0..n)
                .map(|i| {
                    copy_type(
                        *(*cif).arg_types.add(i),
                        &builtins,
                        &mut types,
                        &mut elements,
                    )
                })
                .collect();
            copy.arg_types = arg_types.as_mut_ptr();
            OwnedCif {
                cif: copy,
                _arg_types: arg_types,
                _types: types,
                _elements: elements,
            }
        }
    }

    pub fn as_ptr(&self) -> *mut ffi_cif {
        &*self.cif as *const ffi_cif as *mut ffi_cif
    }
}

/// Copies `t` (and, for an aggregate, its elements) unless it is a builtin.
/// Each copy is boxed so that its address holds while `types` grows.
///
/// # Safety
/// `t` must be a live type with a NULL-terminated element array if it has one.
#[allow(clippy::vec_box)]
unsafe fn copy_type(
    t: *mut ffi_type,
    builtins: &[*mut ffi_type],
    types: &mut Vec<Box<ffi_type>>,
    elements: &mut Vec<Box<[*mut ffi_type]>>,
) -> *mut ffi_type {
    if builtins.contains(&t) {
        return t;
    }
    // SAFETY: the caller vouches for `t` and its elements.
    unsafe {
        let mut copy = Box::new(*t);
        if !copy.elements.is_null() {
            let mut v = Vec::new();
            let mut i = 0;
            while !(*(*t).elements.add(i)).is_null() {
                v.push(copy_type(*(*t).elements.add(i), builtins, types, elements));
                i += 1;
            }
            v.push(std::ptr::null_mut());
            let mut v = v.into_boxed_slice();
            copy.elements = v.as_mut_ptr();
            elements.push(v);
        }
        let p = &mut *copy as *mut ffi_type;
        types.push(copy);
        p
    }
}

/// What a call through a prepared CIF needs from its Buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub nargs: usize,
    /// Bytes `rValue` must have: libffi writes a whole `ffi_arg` for an
    /// integer narrower than it, so at least that much unless void.
    pub rvalue: usize,
    /// Bytes `aValues` must have: a pointer per argument.
    pub avalues: usize,
    /// The CIF takes a struct by value.
    pub struct_args: bool,
}

/// Reads what a call needs from a prepared CIF.
///
/// # Safety
/// `cif` must be a CIF that [`prepare`] prepared, with its types alive.
pub unsafe fn needs(cif: *const ffi_cif) -> Needs {
    // SAFETY: the caller vouches for a prepared CIF and live types.
    unsafe {
        let cif = &*cif;
        let nargs = cif.nargs as usize;
        let rtype = &*cif.rtype;
        let rvalue = if rtype.type_ == FFI_TYPE_VOID {
            0
        } else {
            rtype.size.max(size_of::<ffi_arg>())
        };
        let struct_args = (0..nargs).any(|i| (**cif.arg_types.add(i)).type_ == FFI_TYPE_STRUCT);
        Needs {
            nargs,
            rvalue,
            avalues: nargs * size_of::<*mut ()>(),
            struct_args,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> *mut libffi_sys::ffi_type {
        crate::types::builtin(name).expect("a builtin type name")
    }

    #[test]
    fn prepares_and_reports_needs() {
        // SAFETY: a zeroed ffi_cif is a valid bit pattern to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [ty("int32"), ty("double")];
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: `cif` and `at` outlive every use below; builtin types.
        unsafe { prepare(&mut cif, sig, ty("uint8"), &mut at) }.unwrap();
        // SAFETY: prepared just above.
        let n = unsafe { needs(&cif) };
        assert_eq!(n.nargs, 2);
        assert_eq!(n.rvalue, size_of::<ffi_arg>());
        assert_eq!(n.avalues, 2 * size_of::<usize>());
        assert!(!n.struct_args);
    }

    #[test]
    fn a_small_struct_holding_a_long_double_is_refused_as_a_return_type_where_c_uses_x87() {
        let mut mem = vec![0u64; crate::types::struct_type_len(1) / 8];
        let st = mem.as_mut_ptr().cast::<ffi_type>();
        // SAFETY: `mem` is large enough and aligned; a builtin field.
        unsafe {
            crate::types::init_struct_type(
                std::ptr::NonNull::new(st.cast()).unwrap(),
                &[ty("longdouble")],
            )
            .unwrap()
        };
        let sig = || Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: zeroed is a valid ffi_cif to overwrite; locals outlive the calls.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [st];
        // As an argument it goes in memory for both C and libffi: accepted.
        // SAFETY: as above.
        unsafe { prepare(&mut cif, sig(), ty("int32"), &mut at) }.unwrap();
        let mut none: [*mut ffi_type; 0] = [];
        // SAFETY: as above.
        let r = unsafe { prepare(&mut cif, sig(), st, &mut none) };
        if X87_RECORDS {
            let e = r.unwrap_err();
            assert_eq!(e.code(), "FFI_BAD_TYPEDEF");
            assert!(e.to_string().contains("x87"), "{e}");
        } else {
            r.unwrap();
        }
    }

    #[test]
    fn an_owned_copy_outlives_the_original() {
        let owned = {
            // SAFETY: zeroed is a valid ffi_cif to overwrite.
            let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
            let mut mem = vec![0u64; crate::types::struct_type_len(2) / 8];
            let st = mem.as_mut_ptr().cast::<ffi_type>();
            // SAFETY: `mem` is large enough and aligned; builtin fields.
            unsafe {
                crate::types::init_struct_type(
                    std::ptr::NonNull::new(st.cast()).unwrap(),
                    &[ty("int32"), ty("double")],
                )
                .unwrap()
            };
            let mut at = [st, ty("int8")];
            let sig = Signature {
                abi: crate::abi::DEFAULT,
                nfixed: None,
            };
            // SAFETY: locals outlive the copy below.
            unsafe { prepare(&mut cif, sig, st, &mut at) }.unwrap();
            // SAFETY: prepared, types alive.
            let owned = unsafe { OwnedCif::copy_of(&cif) };
            mem.fill(0xff); // the original struct type is gone
            owned
        };
        // SAFETY: the copy owns everything it points to.
        unsafe {
            let c = &*owned.as_ptr();
            assert_eq!(c.nargs, 2);
            assert_eq!((*c.rtype).size, 16);
            assert_eq!(*c.arg_types.add(1), ty("int8"));
            assert_eq!(*(*c.rtype).elements.add(1), ty("double"));
            assert_eq!(needs(c).rvalue, 16);
        }
    }

    #[test]
    fn by_value_bytes_over_the_limit_are_refused() {
        // SAFETY: as above.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // 8,191 int64s and an int64 return: exactly the limit.
        let mut at = vec![ty("int64"); MAX_BY_VALUE / 8 - 1];
        // SAFETY: locals outlive the call; builtin types.
        unsafe { prepare(&mut cif, sig, ty("int64"), &mut at) }.unwrap();
        // One byte-sized argument more takes 8 bytes more.
        at.push(ty("int8"));
        // SAFETY: as above.
        let e = unsafe { prepare(&mut cif, sig, ty("int64"), &mut at) }.unwrap_err();
        assert_eq!(e.code(), "ERR_OUT_OF_RANGE");
        assert!(e.message().starts_with("ffi.CIF: "), "{}", e.message());
        assert!(e.message().contains("65544 bytes"), "{}", e.message());
        // A void return counts nothing.
        // SAFETY: as above.
        unsafe { prepare(&mut cif, sig, ty("void"), &mut at[1..]) }.unwrap();
    }

    #[test]
    fn refusals_carry_libffis_status() {
        // SAFETY: as above.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let plain = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        let mut void_arg = [ty("void")];
        // SAFETY: locals outlive the call.
        let e = unsafe { prepare(&mut cif, plain, ty("int32"), &mut void_arg) }.unwrap_err();
        assert_eq!(e.code(), "FFI_BAD_ARGTYPE");
        let bad_abi = Signature {
            abi: crate::abi::LAST,
            nfixed: None,
        };
        // SAFETY: locals outlive the call.
        let e = unsafe { prepare(&mut cif, bad_abi, ty("int32"), &mut []) }.unwrap_err();
        assert_eq!(e.code(), "FFI_BAD_ABI");
        let var = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: Some(1),
        };
        let mut float_vararg = [ty("pointer"), ty("float")];
        // SAFETY: locals outlive the call.
        let e = unsafe { prepare(&mut cif, var, ty("int32"), &mut float_vararg) }.unwrap_err();
        assert_eq!(e.code(), "FFI_BAD_ARGTYPE");
    }
}
