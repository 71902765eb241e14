//! libffi's `ffi_type`s: the builtin table, C sizes and alignments, checks on
//! type descriptions handed in from JavaScript, and struct types.

use std::mem::{align_of, size_of};
use std::os::raw::{c_char, c_int, c_long, c_longlong, c_short, c_uint, c_ulong, c_void};
use std::ptr::{addr_of_mut, NonNull};

use libffi_sys::{
    ffi_arg, ffi_cif, ffi_closure, ffi_get_struct_offsets, ffi_sarg, ffi_type, FFI_TYPE_COMPLEX,
    FFI_TYPE_DOUBLE, FFI_TYPE_FLOAT, FFI_TYPE_INT, FFI_TYPE_LAST, FFI_TYPE_LONGDOUBLE,
    FFI_TYPE_POINTER, FFI_TYPE_SINT16, FFI_TYPE_SINT32, FFI_TYPE_SINT64, FFI_TYPE_SINT8,
    FFI_TYPE_STRUCT, FFI_TYPE_UINT16, FFI_TYPE_UINT32, FFI_TYPE_UINT64, FFI_TYPE_UINT8,
    FFI_TYPE_VOID,
};

use crate::error::{Error, FfiStatus, Result};

/// libffi's builtin types, the one table of them: fixed-width name, type
/// code, and the address of libffi's own `ffi_type` global.
fn builtins() -> [(&'static str, u16, *mut ffi_type); 13] {
    // Only the addresses of libffi's statics are taken (no read, no
    // reference); they live as long as the process.
    [
        (
            "void",
            FFI_TYPE_VOID,
            addr_of_mut!(libffi_sys::ffi_type_void),
        ),
        (
            "uint8",
            FFI_TYPE_UINT8,
            addr_of_mut!(libffi_sys::ffi_type_uint8),
        ),
        (
            "int8",
            FFI_TYPE_SINT8,
            addr_of_mut!(libffi_sys::ffi_type_sint8),
        ),
        (
            "uint16",
            FFI_TYPE_UINT16,
            addr_of_mut!(libffi_sys::ffi_type_uint16),
        ),
        (
            "int16",
            FFI_TYPE_SINT16,
            addr_of_mut!(libffi_sys::ffi_type_sint16),
        ),
        (
            "uint32",
            FFI_TYPE_UINT32,
            addr_of_mut!(libffi_sys::ffi_type_uint32),
        ),
        (
            "int32",
            FFI_TYPE_SINT32,
            addr_of_mut!(libffi_sys::ffi_type_sint32),
        ),
        (
            "uint64",
            FFI_TYPE_UINT64,
            addr_of_mut!(libffi_sys::ffi_type_uint64),
        ),
        (
            "int64",
            FFI_TYPE_SINT64,
            addr_of_mut!(libffi_sys::ffi_type_sint64),
        ),
        (
            "float",
            FFI_TYPE_FLOAT,
            addr_of_mut!(libffi_sys::ffi_type_float),
        ),
        (
            "double",
            FFI_TYPE_DOUBLE,
            addr_of_mut!(libffi_sys::ffi_type_double),
        ),
        (
            "longdouble",
            FFI_TYPE_LONGDOUBLE,
            addr_of_mut!(libffi_sys::ffi_type_longdouble),
        ),
        (
            "pointer",
            FFI_TYPE_POINTER,
            addr_of_mut!(libffi_sys::ffi_type_pointer),
        ),
    ]
}

/// The builtin types by their fixed-width name.
pub fn builtin_types() -> Vec<(&'static str, *mut ffi_type)> {
    builtins().iter().map(|&(name, _, t)| (name, t)).collect()
}

/// The builtin type of this fixed-width name (`"int32"`, `"pointer"`, …):
/// what the tests build their CIFs from.
#[cfg(test)]
pub fn builtin(name: &str) -> Option<*mut ffi_type> {
    builtins().iter().find(|b| b.0 == name).map(|&(_, _, t)| t)
}

/// The type code of `t` if it is one of libffi's builtin types (by
/// address: a hand-built `ffi_type` is not one, whatever its bytes say).
pub fn builtin_code(t: *const ffi_type) -> Option<u16> {
    builtins()
        .iter()
        .find(|b| b.2.cast_const() == t)
        .map(|&(_, code, _)| code)
}

/// The fixed-width name of an integer type of `size` bytes.
fn int_name(size: usize, signed: bool) -> &'static str {
    match (size, signed) {
        (1, false) => "uint8",
        (1, true) => "int8",
        (2, false) => "uint16",
        (2, true) => "int16",
        (4, false) => "uint32",
        (4, true) => "int32",
        (8, false) => "uint64",
        (8, true) => "int64",
        _ => unreachable!("no C integer type of {size} bytes on a supported target"),
    }
}

/// C-named types and the builtin type each one is on this platform: the
/// very same `ffi_type`, so that `types.long === types.int64` on LP64.
pub fn type_aliases() -> Vec<(&'static str, &'static str)> {
    // `char` is signed on x86 and unsigned on AArch64 Linux: c_char says which.
    let char_signed = c_char::MIN != 0;
    vec![
        ("uchar", "uint8"),
        ("char", int_name(1, char_signed)),
        ("ushort", int_name(size_of::<c_short>(), false)),
        ("short", int_name(size_of::<c_short>(), true)),
        ("uint", int_name(size_of::<c_uint>(), false)),
        ("int", int_name(size_of::<c_int>(), true)),
        ("ulong", int_name(size_of::<c_ulong>(), false)),
        ("long", int_name(size_of::<c_long>(), true)),
        // C's bool is one byte and unsigned on every target libffi supports.
        ("bool", int_name(size_of::<bool>(), false)),
        ("size_t", int_name(size_of::<usize>(), false)),
        ("ssize_t", int_name(size_of::<isize>(), true)),
        ("longlong", int_name(size_of::<c_longlong>(), true)),
        ("ulonglong", int_name(size_of::<c_longlong>(), false)),
    ]
}

fn longdouble() -> (usize, usize) {
    // SAFETY: libffi's static is initialised at load time and never written.
    let t = unsafe { *addr_of_mut!(libffi_sys::ffi_type_longdouble) };
    (t.size, t.alignment as usize)
}

/// `sizeof()` and `alignof()` of the C types SPEC names, in SPEC's order.
pub fn c_layouts() -> Vec<(&'static str, usize, usize)> {
    macro_rules! l {
        ($name:literal, $t:ty) => {
            ($name, size_of::<$t>(), align_of::<$t>())
        };
    }
    let (ld_size, ld_align) = longdouble();
    vec![
        l!("int8", i8),
        l!("uint8", u8),
        l!("int16", i16),
        l!("uint16", u16),
        l!("int32", i32),
        l!("uint32", u32),
        l!("int64", i64),
        l!("uint64", u64),
        l!("float", f32),
        l!("double", f64),
        l!("bool", bool),
        l!("byte", u8),
        l!("char", c_char),
        l!("uchar", u8),
        l!("short", c_short),
        l!("ushort", c_short),
        l!("int", c_int),
        l!("uint", c_uint),
        l!("long", c_long),
        l!("ulong", c_ulong),
        l!("longlong", c_longlong),
        l!("ulonglong", c_longlong),
        ("longdouble", ld_size, ld_align),
        l!("pointer", *mut c_void),
        l!("size_t", usize),
        l!("ffi_arg", ffi_arg),
        l!("ffi_sarg", ffi_sarg),
        l!("ffi_type", ffi_type),
        l!("ffi_cif", ffi_cif),
        l!("ffi_closure", ffi_closure),
    ]
}

/// libffi's `FFI_TYPE_*` codes, as `ffi.TYPE_*`.
pub fn type_codes() -> Vec<(&'static str, u16)> {
    vec![
        ("VOID", FFI_TYPE_VOID),
        ("INT", FFI_TYPE_INT),
        ("FLOAT", FFI_TYPE_FLOAT),
        ("DOUBLE", FFI_TYPE_DOUBLE),
        ("LONGDOUBLE", FFI_TYPE_LONGDOUBLE),
        ("UINT8", FFI_TYPE_UINT8),
        ("SINT8", FFI_TYPE_SINT8),
        ("UINT16", FFI_TYPE_UINT16),
        ("SINT16", FFI_TYPE_SINT16),
        ("UINT32", FFI_TYPE_UINT32),
        ("SINT32", FFI_TYPE_SINT32),
        ("UINT64", FFI_TYPE_UINT64),
        ("SINT64", FFI_TYPE_SINT64),
        ("STRUCT", FFI_TYPE_STRUCT),
        ("POINTER", FFI_TYPE_POINTER),
        ("COMPLEX", FFI_TYPE_COMPLEX),
        ("LAST", FFI_TYPE_LAST),
    ]
}

/// The builtin type that a scalar type code stands for (`FFI_TYPE_INT`:
/// C's `int`, 32 bits wherever libffi runs).
fn builtin_for_code(code: u16) -> Option<*mut ffi_type> {
    let code = if code == FFI_TYPE_INT {
        FFI_TYPE_SINT32
    } else {
        code
    };
    builtins().iter().find(|b| b.1 == code).map(|&(_, _, t)| t)
}

/// What a checked type description says.
#[derive(Debug, Clone, Copy)]
pub struct TypeInfo {
    pub size: usize,
    pub alignment: u16,
    pub code: u16,
}

/// Checks what can be checked of an `ffi_type` that JavaScript handed in:
/// alignment, a known type code, the size and alignment a scalar code
/// implies, and a non-NULL element array for aggregates. Element pointers of
/// a hand-built aggregate are not followed: they are the caller's word.
///
/// # Safety
/// `t` must point to `size_of::<ffi_type>()` readable bytes.
pub unsafe fn check_type(t: *const ffi_type, what: &dyn Fn() -> String) -> Result<TypeInfo> {
    if t.is_null() {
        return Err(Error::NullPointer(format!("{}: a type is NULL", what())));
    }
    if !(t as usize).is_multiple_of(align_of::<ffi_type>()) {
        return Err(Error::InvalidArgValue(format!(
            "{}: a type at {:#x} is not aligned to {} bytes",
            what(),
            t as usize,
            align_of::<ffi_type>()
        )));
    }
    // SAFETY: the caller vouches for the bytes; alignment was checked above.
    let ty = unsafe { *t };
    let bad = |why: String| {
        Err(Error::ffi(
            FfiStatus::BadTypedef,
            format!("{}: {why}", what()),
        ))
    };
    match ty.type_ {
        FFI_TYPE_STRUCT | FFI_TYPE_COMPLEX => {
            if ty.elements.is_null() {
                return bad("an aggregate type has no element array".into());
            }
        }
        code if code <= FFI_TYPE_LAST => {
            let builtin = builtin_for_code(code).expect("every scalar code has a builtin");
            // SAFETY: a libffi static, initialised at load time, never written.
            let b = unsafe { *builtin };
            if ty.size != b.size || ty.alignment != b.alignment {
                return bad(format!(
                    "type code {code} needs size {} and alignment {}, got {} and {}",
                    b.size, b.alignment, ty.size, ty.alignment
                ));
            }
        }
        code => return bad(format!("unknown type code {code}")),
    }
    Ok(TypeInfo {
        size: ty.size,
        alignment: ty.alignment,
        code: ty.type_,
    })
}

/// Bytes a struct type needs: the `ffi_type` and its NULL-terminated
/// element array right after it.
pub fn struct_type_len(nfields: usize) -> usize {
    size_of::<ffi_type>() + (nfields + 1) * size_of::<*mut ffi_type>()
}

/// Writes a struct `ffi_type` with its element array into `mem` and lets
/// libffi lay it out (size and alignment filled in); returns the offsets.
///
/// # Safety
/// `mem` must be `struct_type_len(fields.len())` writable bytes aligned for
/// `ffi_type`, and every field must be a type that passed [`check_type`] and
/// lives as long as the struct type is used.
pub unsafe fn init_struct_type(mem: NonNull<u8>, fields: &[*mut ffi_type]) -> Result<Vec<usize>> {
    if fields.is_empty() {
        return Err(Error::ffi(
            FfiStatus::BadTypedef,
            "ffi.StructType: a struct needs at least one field",
        ));
    }
    for (i, &f) in fields.iter().enumerate() {
        // SAFETY: the caller vouches that each field passed check_type.
        if unsafe { (*f).type_ } == FFI_TYPE_VOID {
            return Err(Error::ffi(
                FfiStatus::BadTypedef,
                format!("ffi.StructType: field {i} is void"),
            ));
        }
    }
    let t = mem.as_ptr().cast::<ffi_type>();
    // SAFETY: the caller vouches for the size and alignment of `mem`; the
    // element array starts right after the ffi_type, pointer-aligned because
    // ffi_type's size is a multiple of a pointer's alignment.
    unsafe {
        let elements = t.add(1).cast::<*mut ffi_type>();
        std::ptr::copy_nonoverlapping(fields.as_ptr(), elements, fields.len());
        *elements.add(fields.len()) = std::ptr::null_mut();
        t.write(ffi_type {
            size: 0,
            alignment: 0,
            type_: FFI_TYPE_STRUCT,
            elements,
        });
        struct_offsets(t)
    }
}

/// `ffi_get_struct_offsets` of a struct type (laying it out if it was not).
///
/// # Safety
/// `t` must be a type that passed [`check_type`], with a valid element array.
pub unsafe fn struct_offsets(t: *mut ffi_type) -> Result<Vec<usize>> {
    // SAFETY: the caller vouches for `t`.
    let ty = unsafe { *t };
    if ty.type_ != FFI_TYPE_STRUCT {
        return Err(Error::InvalidArgValue(format!(
            "ffi.offsetsof: expected a struct type (type code {FFI_TYPE_STRUCT}), got type code {}",
            ty.type_
        )));
    }
    let mut n = 0;
    // SAFETY: the element array is NULL-terminated (checked by check_type's
    // caller for our own struct types; the user's word for hand-built ones).
    while unsafe { !(*ty.elements.add(n)).is_null() } {
        n += 1;
    }
    let mut offsets = vec![0usize; n];
    // SAFETY: `offsets` has one slot per element, as libffi writes.
    let status = unsafe {
        ffi_get_struct_offsets(libffi_sys::ffi_abi_FFI_DEFAULT_ABI, t, offsets.as_mut_ptr())
    };
    match FfiStatus::from_raw(status) {
        None => Ok(offsets),
        Some(s) => Err(Error::ffi(s, "ffi.StructType")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> *mut libffi_sys::ffi_type {
        crate::types::builtin(name).expect("a builtin type name")
    }

    #[test]
    fn aliases_name_builtins_of_the_right_size() {
        let layouts = c_layouts();
        for (alias, canonical) in type_aliases() {
            let t = ty(canonical);
            // SAFETY: libffi static.
            let size = unsafe { (*t).size };
            let c = layouts.iter().find(|l| l.0 == alias);
            if let Some(&(_, c_size, _)) = c {
                assert_eq!(size, c_size, "{alias}");
            }
        }
        assert_eq!(layouts.iter().find(|l| l.0 == "int").unwrap().1, 4);
    }

    #[test]
    fn builtins_pass_the_check_and_forgeries_do_not() {
        for (name, t) in builtin_types() {
            // SAFETY: libffi statics.
            let info = unsafe { check_type(t, &|| name.to_string()) }.unwrap();
            assert!(info.size > 0);
        }
        let forged = ffi_type {
            size: 1000,
            alignment: 4,
            type_: FFI_TYPE_SINT32,
            elements: std::ptr::null_mut(),
        };
        // SAFETY: a local ffi_type.
        let err = unsafe { check_type(&forged, &|| "t".into()) }.unwrap_err();
        assert_eq!(err.code(), "FFI_BAD_TYPEDEF");
        let unknown = ffi_type {
            type_: 99,
            ..forged
        };
        // SAFETY: a local ffi_type.
        assert!(unsafe { check_type(&unknown, &|| "t".into()) }.is_err());
    }

    #[test]
    fn struct_layout_matches_c() {
        // struct { char c; double d; int i; } => offsets 0, 8, 16; size 24.
        let fields = [ty("int8"), ty("double"), ty("int32")];
        let mut mem = vec![0u64; struct_type_len(fields.len()) / 8];
        let p = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: `mem` is large enough and 8-aligned; fields are builtins.
        let offsets = unsafe { init_struct_type(p, &fields) }.unwrap();
        assert_eq!(offsets, vec![0, 8, 16]);
        // SAFETY: just initialised.
        let t = unsafe { *p.as_ptr().cast::<ffi_type>() };
        assert_eq!((t.size, t.alignment), (24, 8));
    }

    #[test]
    fn empty_and_void_structs_are_refused() {
        let mut mem = vec![0u64; 8];
        let p = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: `mem` is large enough for both.
        unsafe {
            assert!(init_struct_type(p, &[]).is_err());
            assert!(init_struct_type(p, &[ty("void")]).is_err());
        }
    }
}
