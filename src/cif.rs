//! Preparing an `ffi_cif` in memory the caller owns, and reading back what a
//! call needs from a prepared one.

use std::mem::size_of;
use std::os::raw::c_uint;

use libffi_sys::{ffi_abi, ffi_arg, ffi_cif, ffi_prep_cif, ffi_prep_cif_var, ffi_type};
use libffi_sys::{FFI_TYPE_STRUCT, FFI_TYPE_VOID};

use crate::error::{Error, FfiStatus, Result};

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
    match FfiStatus::from_raw(status) {
        None => Ok(()),
        Some(s) => Err(Error::ffi(s, ctx)),
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
    use crate::types::builtin_types;

    pub(crate) fn ty(name: &str) -> *mut ffi_type {
        builtin_types()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
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
