//! The `ffi_abi` values of the linked libffi on this target.

use libffi_sys::ffi_abi;

use crate::error::{Error, FfiStatus, Result};

pub const DEFAULT: ffi_abi = libffi_sys::ffi_abi_FFI_DEFAULT_ABI;
pub const FIRST: ffi_abi = libffi_sys::ffi_abi_FFI_FIRST_ABI;
pub const LAST: ffi_abi = libffi_sys::ffi_abi_FFI_LAST_ABI;

/// Every ABI this libffi defines here, lower case without `FFI_`.
pub fn named() -> Vec<(&'static str, ffi_abi)> {
    #[allow(unused_mut)]
    let mut v: Vec<(&'static str, ffi_abi)> = Vec::new();
    #[cfg(all(target_arch = "x86_64", unix))]
    v.extend([
        ("unix64", libffi_sys::ffi_abi_FFI_UNIX64),
        ("win64", libffi_sys::ffi_abi_FFI_WIN64),
        ("efi64", libffi_sys::ffi_abi_FFI_EFI64),
        ("gnuw64", libffi_sys::ffi_abi_FFI_GNUW64),
    ]);
    #[cfg(all(target_arch = "x86_64", windows))]
    v.extend([
        ("win64", libffi_sys::ffi_abi_FFI_WIN64),
        ("gnuw64", libffi_sys::ffi_abi_FFI_GNUW64),
    ]);
    #[cfg(target_arch = "aarch64")]
    v.extend([
        ("sysv", libffi_sys::ffi_abi_FFI_SYSV),
        ("win64", libffi_sys::ffi_abi_FFI_WIN64),
    ]);
    #[cfg(target_arch = "x86")]
    v.extend([
        ("sysv", libffi_sys::ffi_abi_FFI_SYSV),
        ("stdcall", libffi_sys::ffi_abi_FFI_STDCALL),
        ("thiscall", libffi_sys::ffi_abi_FFI_THISCALL),
        ("fastcall", libffi_sys::ffi_abi_FFI_FASTCALL),
        ("ms_cdecl", libffi_sys::ffi_abi_FFI_MS_CDECL),
        ("pascal", libffi_sys::ffi_abi_FFI_PASCAL),
        ("register", libffi_sys::ffi_abi_FFI_REGISTER),
    ]);
    #[cfg(target_arch = "arm")]
    v.extend([
        ("sysv", libffi_sys::ffi_abi_FFI_SYSV),
        ("vfp", libffi_sys::ffi_abi_FFI_VFP),
    ]);
    v
}

/// A JavaScript number as an `ffi_abi`. Anything that is not a whole
/// number in range is an unknown ABI, which libffi itself would refuse.
pub fn from_number(abi: f64, context: &str) -> Result<ffi_abi> {
    if abi.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&abi) {
        return Err(Error::ffi(
            FfiStatus::BadAbi,
            format!("{context}: abi {abi} is not an ffi_abi value"),
        ));
    }
    Ok(abi as ffi_abi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_named_and_within_bounds() {
        const { assert!(FIRST < DEFAULT && DEFAULT < LAST) };
        let names = named();
        if !names.is_empty() {
            assert!(names.iter().any(|&(_, v)| v == DEFAULT));
        }
    }

    #[test]
    fn odd_numbers_are_bad_abis() {
        for x in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e20] {
            assert_eq!(from_number(x, "t").unwrap_err().code(), "FFI_BAD_ABI");
        }
        assert_eq!(from_number(2.0, "t").unwrap(), 2);
    }
}
