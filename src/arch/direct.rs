//! Direct calls for simple signatures, without `ffi_call`.
//!
//! Where there are register calls ([`super`]), a function whose arguments
//! all travel in registers (at most [`INT_REGS`] integer or pointer
//! arguments and [`FLOAT_REGS`] float or double ones) and whose return
//! value is a scalar can be called through one fixed function type with
//! every argument register filled: a callee reads only the registers its
//! own signature names. That skips libffi's per-call classification of each
//! argument, which is most of the cost of a small call. Anything else
//! (structs, long double, variadic functions, other ABIs) goes to libffi.

use std::os::raw::c_void;

use libffi_sys::{ffi_cif, ffi_type};

#[cfg(register_calls)]
use super::target;
use super::{FLOAT_REGS, INT_REGS};

/// How one argument or the return value travels. One byte: a plan is
/// copied into every fast-path slot and read on every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Void,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    /// 64-bit integers and pointers.
    I64,
    F32,
    F64,
    /// A struct of at most 16 bytes ([`Plan::ret_size`]) whose fields are
    /// all integers or pointers (nested or not): returned in two integer
    /// registers (RAX:RDX, x0:x1), its bytes in memory order. Only as a
    /// return value.
    IntStruct,
}

/// The most arguments a plan holds.
pub const MAX_ARGS: usize = 16;

/// Where a register's bits come from: an argument, and how many bytes of it
/// to load. Loads test the size by bits, not by a `match` on [`Kind`]: the
/// `match` compiled to a jump table per register, which measured ~0.8 ns per
/// argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Src {
    /// The argument's index.
    pub arg: u8,
    /// 1, 2, 4 or 8 bytes.
    size: u8,
    /// Whether an 8- or 16-bit integer is sign-extended (the ABIs let a
    /// callee assume narrow arguments widened; clang relies on it).
    signed: bool,
}

impl Src {
    const NONE: Src = Src {
        arg: 0,
        size: 8,
        signed: false,
    };

    fn new(arg: usize, k: Kind) -> Src {
        let (size, signed) = match k {
            Kind::I8 => (1, true),
            Kind::U8 => (1, false),
            Kind::I16 => (2, true),
            Kind::U16 => (2, false),
            // A 32-bit argument's upper half is undefined in both ABIs; a
            // float is read from the low 32 bits of its vector register.
            Kind::I32 | Kind::U32 | Kind::F32 => (4, false),
            _ => (8, false),
        };
        Src {
            arg: arg as u8,
            size,
            signed,
        }
    }
}

/// [`Plan::ret_class`]: an integer or pointer in the first register.
const RET_INT: u8 = 1;
const RET_F64: u8 = 2;
const RET_VOID: u8 = 4;
const RET_F32: u8 = 8;
/// [`Kind::IntStruct`].
const RET_PAIR: u8 = 16;

/// A signature that can be called directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub ret: Kind,
    /// The size of an [`Kind::IntStruct`] return.
    pub ret_size: u8,
    /// The return's class as one bit of the `RET_*` constants, tested by
    /// bits rather than matched (see [`Src`]).
    ret_class: u8,
    /// An integer return's widening to a whole `ffi_arg`: shifted up by
    /// this many bits, then back down, arithmetically if `ret_signed` (the
    /// callee leaves the bits above a narrow return undefined).
    ret_shift: u8,
    ret_signed: bool,
    pub nargs: u8,
    /// How many integer and vector registers the arguments fill.
    pub ints: u8,
    pub floats: u8,
    /// Register by register, the argument it carries and that argument's
    /// kind: worked out once here, so that a call fills each register
    /// straight from its argument, with no counting and no array.
    pub int_src: [Src; INT_REGS],
    pub float_src: [Src; FLOAT_REGS],
}

/// The kind of a builtin scalar type, or None for anything else: only
/// libffi's own types, known by address (see
/// [`crate::types::builtin_code`]); a hand-built `ffi_type` is never
/// trusted to be what its bytes say.
fn kind_of(t: *mut ffi_type) -> Option<Kind> {
    use libffi_sys::*;
    Some(match crate::types::builtin_code(t)? {
        FFI_TYPE_VOID => Kind::Void,
        FFI_TYPE_SINT8 => Kind::I8,
        FFI_TYPE_UINT8 => Kind::U8,
        FFI_TYPE_SINT16 => Kind::I16,
        FFI_TYPE_UINT16 => Kind::U16,
        FFI_TYPE_SINT32 => Kind::I32,
        FFI_TYPE_UINT32 => Kind::U32,
        FFI_TYPE_SINT64 | FFI_TYPE_UINT64 | FFI_TYPE_POINTER => Kind::I64,
        FFI_TYPE_FLOAT => Kind::F32,
        FFI_TYPE_DOUBLE => Kind::F64,
        // long double: in memory or x87 registers, never in these.
        _ => return None,
    })
}

/// Whether every field of a struct type is an integer or a pointer, through
/// nested structs; libffi laid it out already (prep_cif walked it).
///
/// # Safety
/// `t` must be a type that libffi accepted in a prepared CIF.
unsafe fn all_integer(t: *mut ffi_type) -> bool {
    match kind_of(t) {
        Some(Kind::F32 | Kind::F64 | Kind::Void) => false,
        Some(_) => true,
        None => {
            // SAFETY: the caller vouches for `t` and its elements.
            let ty = unsafe { &*t };
            // (An element over 16 bytes puts the record in memory: libffi
            // returns it through a hidden pointer, not in two registers.)
            if ty.type_ != libffi_sys::FFI_TYPE_STRUCT || ty.elements.is_null() || ty.size > 16 {
                return false;
            }
            let mut i = 0;
            loop {
                // SAFETY: a NULL-terminated element array libffi walked.
                let e = unsafe { *ty.elements.add(i) };
                if e.is_null() {
                    return i > 0;
                }
                // SAFETY: as above.
                if !unsafe { all_integer(e) } {
                    return false;
                }
                i += 1;
            }
        }
    }
}

/// Whether direct calls (and the compiled-in closure entries, which take
/// their plans from here) are used: on x86-64 System V (Linux, macOS), where
/// the test-suite runs them; on AArch64 only with `FFI_UNTESTED_FAST_PATHS=1`
/// in the environment when the module loads, until they have run there
/// (each architecture's `TESTED`). Everywhere else every call and closure
/// goes through libffi.
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        cfg!(register_calls)
            && (super::TESTED
                || std::env::var_os("FFI_UNTESTED_FAST_PATHS").is_some_and(|v| v == "1"))
    })
}

/// Whether a variadic CIF may be called directly: where its variadic
/// arguments travel in the registers a fixed argument of the same type
/// would (the CIF holds them promoted, as C passes them).
#[cfg(register_calls)]
const VARIADIC_IN_REGISTERS: bool = target::VARIADIC_IN_REGISTERS;
#[cfg(not(register_calls))]
const VARIADIC_IN_REGISTERS: bool = false;

/// The plan for a CIF on the default ABI (a variadic one where
/// [`VARIADIC_IN_REGISTERS`]), if it has one here.
///
/// # Safety
/// `cif` must be prepared, with its types alive.
pub unsafe fn plan(cif: *const ffi_cif, variadic: bool) -> Option<Plan> {
    if !enabled() {
        return None;
    }
    // SAFETY: the caller vouches for a prepared CIF.
    let cif = unsafe { &*cif };
    if (variadic && !VARIADIC_IN_REGISTERS) || cif.abi != crate::abi::DEFAULT {
        return None;
    }
    let nargs = cif.nargs as usize;
    if nargs > MAX_ARGS {
        return None;
    }
    let (ret, ret_size) = match kind_of(cif.rtype) {
        Some(k) => (k, 0),
        // SAFETY: the rtype of a prepared CIF.
        None if unsafe { (*cif.rtype).size <= 16 && all_integer(cif.rtype) } => {
            // SAFETY: as above.
            (Kind::IntStruct, unsafe { (*cif.rtype).size } as u8)
        }
        None => return None,
    };
    let mut int_src = [Src::NONE; INT_REGS];
    let mut float_src = [Src::NONE; FLOAT_REGS];
    let (mut ints, mut floats) = (0usize, 0usize);
    for i in 0..nargs {
        // SAFETY: a prepared CIF has nargs argument types.
        let k = kind_of(unsafe { *cif.arg_types.add(i) })?;
        let (n, src, max) = match k {
            Kind::Void | Kind::IntStruct => return None,
            Kind::F32 | Kind::F64 => (&mut floats, &mut float_src[..], FLOAT_REGS),
            _ => (&mut ints, &mut int_src[..], INT_REGS),
        };
        if *n == max {
            return None;
        }
        src[*n] = Src::new(i, k);
        *n += 1;
    }
    let (ret_class, ret_bits, ret_signed) = match ret {
        Kind::I8 => (RET_INT, 8, true),
        Kind::U8 => (RET_INT, 8, false),
        Kind::I16 => (RET_INT, 16, true),
        Kind::U16 => (RET_INT, 16, false),
        Kind::I32 => (RET_INT, 32, true),
        Kind::U32 => (RET_INT, 32, false),
        Kind::I64 => (RET_INT, 64, false),
        Kind::F64 => (RET_F64, 64, false),
        Kind::Void => (RET_VOID, 64, false),
        Kind::F32 => (RET_F32, 64, false),
        Kind::IntStruct => (RET_PAIR, 64, false),
    };
    Some(Plan {
        ret,
        ret_size,
        ret_class,
        ret_shift: 64 - ret_bits,
        ret_signed,
        nargs: nargs as u8,
        ints: ints as u8,
        floats: floats as u8,
        int_src,
        float_src,
    })
}

/// Calls `fun` by `plan`, writing the return value to `rvalue` as libffi
/// would (an integer widened to a whole `ffi_arg`).
///
/// # Safety
/// As [`call_bits`] and [`store`].
#[inline(always)]
pub unsafe fn call(plan: &Plan, fun: usize, args: *mut *mut c_void, rvalue: *mut c_void) {
    // SAFETY: the caller's word.
    unsafe { store(plan, call_bits(plan, fun, args), rvalue) }
}

/// Writes what [`call_bits`] returned to `rvalue` as libffi would (an
/// integer widened to a whole `ffi_arg`; a struct, its size).
///
/// # Safety
/// `rvalue` has room for an `ffi_arg`, or the struct, unless the return is
/// void.
#[inline(always)]
pub unsafe fn store(plan: &Plan, bits: [u64; 2], rvalue: *mut c_void) {
    let class = plan.ret_class;
    // SAFETY: room for what is written (caller's word).
    unsafe {
        if class & (RET_INT | RET_F64) != 0 {
            rvalue.cast::<u64>().write_unaligned(bits[0])
        } else if class & RET_VOID != 0 {
        } else if class & RET_F32 != 0 {
            rvalue.cast::<u32>().write_unaligned(bits[0] as u32)
        } else {
            let size = usize::from(plan.ret_size);
            let bytes = [bits[0].to_ne_bytes(), bits[1].to_ne_bytes()];
            std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<u8>(), rvalue.cast::<u8>(), size)
        }
    }
}

/// Calls `fun` by `plan` and returns the result's bits: an integer widened
/// to 64 bits, a double's or a float's bits (in the low half), a struct's
/// two registers.
///
/// # Safety
/// `fun` must have the planned signature; `args` holds one non-NULL pointer
/// per argument, to a value of its type (any alignment).
#[cfg(register_calls)]
#[inline(always)]
pub unsafe fn call_bits(plan: &Plan, fun: usize, args: *mut *mut c_void) -> [u64; 2] {
    /// One argument's bits as its register takes them.
    ///
    /// # Safety
    /// `p` points to a value of `src`'s size (any alignment).
    #[inline(always)]
    unsafe fn load(src: Src, p: *const c_void) -> u64 {
        // SAFETY: the caller's word.
        unsafe {
            if src.size & 8 != 0 {
                p.cast::<u64>().read_unaligned()
            } else if src.size & 4 != 0 {
                u64::from(p.cast::<u32>().read_unaligned())
            } else if src.size & 2 != 0 {
                let v = p.cast::<u16>().read_unaligned();
                if src.signed {
                    v as i16 as i64 as u64
                } else {
                    u64::from(v)
                }
            } else {
                let v = p.cast::<u8>().read_unaligned();
                if src.signed {
                    v as i8 as i64 as u64
                } else {
                    u64::from(v)
                }
            }
        }
    }
    let (ints, floats) = (usize::from(plan.ints), usize::from(plan.floats));
    /// Register `j`'s bits from its source argument, 0 past the used ones.
    ///
    /// # Safety
    /// `j` below `src.len()`; the plan's sources are argument indexes below nargs.
    #[inline(always)]
    unsafe fn reg(src: &[Src], used: usize, args: *mut *mut c_void, j: usize) -> u64 {
        if j < used {
            let s = src[j];
            // SAFETY: the caller's word, and the caller of `call` vouches for
            // each argument's pointer and type.
            unsafe { load(s, *args.add(usize::from(s.arg))) }
        } else {
            0
        }
    }
    let r = |j: usize| -> u64 {
        // SAFETY: j < INT_REGS, the length of int_src, at every use; the
        // sources are the plan's.
        unsafe { reg(&plan.int_src, ints, args, j) }
    };
    let f = |j: usize| -> f64 {
        // SAFETY: as above, with FLOAT_REGS and float_src.
        f64::from_bits(unsafe { reg(&plan.float_src, floats, args, j) })
    };
    /// Calls `fun` as a function returning `$r`, with every argument
    /// register filled (the vector ones only if a float argument needs
    /// them).
    macro_rules! invoke {
        ($r:ty) => {{
            if floats > 0 {
                // SAFETY: `fun` has the planned signature (the caller's
                // word); the extra register arguments are ones the callee
                // never reads.
                unsafe {
                    let g = std::mem::transmute::<usize, target::WithFloats<$r>>(fun);
                    target::call_with_floats!(g, r, f)
                }
            } else {
                // SAFETY: as above; with no float argument the vector
                // registers are none of the callee's business.
                unsafe {
                    let g = std::mem::transmute::<usize, target::IntsOnly<$r>>(fun);
                    target::call_ints_only!(g, r)
                }
            }
        }};
    }
    let class = plan.ret_class;
    if class & RET_INT != 0 {
        let v = invoke!(u64);
        let (shift, up) = (u32::from(plan.ret_shift), v << plan.ret_shift);
        let widened = if plan.ret_signed {
            ((up as i64) >> shift) as u64
        } else {
            up >> shift
        };
        [widened, 0]
    } else if class & RET_F64 != 0 {
        let v = invoke!(f64);
        [v.to_bits(), 0]
    } else if class & RET_VOID != 0 {
        invoke!(u64);
        [0, 0]
    } else if class & RET_F32 != 0 {
        let v = invoke!(f32);
        [u64::from(v.to_bits()), 0]
    } else {
        let v = invoke!(super::Pair);
        [v.0, v.1]
    }
}

/// Never called where [`plan`] returns None for every CIF.
///
/// # Safety
/// Unreachable: no plan exists on this target.
#[cfg(not(register_calls))]
pub unsafe fn call_bits(_: &Plan, _: usize, _: *mut *mut c_void) -> [u64; 2] {
    unreachable!("no direct calls on this target")
}

#[cfg(all(test, register_calls))]
mod tests {
    use super::*;
    use crate::cif::{prepare, Signature};

    fn ty(name: &str) -> *mut libffi_sys::ffi_type {
        crate::types::builtin(name).expect("a builtin type name")
    }

    fn plan_for(ret: &str, args: &[&str], variadic: bool) -> Option<Plan> {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at: Vec<_> = args.iter().map(|a| ty(a)).collect();
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: variadic.then_some(1),
        };
        // SAFETY: locals outlive the plan computation.
        unsafe {
            prepare(&mut cif, sig, ty(ret), &mut at).unwrap();
            plan(&cif, variadic)
        }
    }

    extern "C" fn mix(a: i8, b: f32, c: u16, d: f64, e: i64) -> f64 {
        f64::from(a) + f64::from(b) + f64::from(c) + d + e as f64
    }
    extern "C" fn narrow(a: i32) -> i8 {
        a as i8
    }

    #[repr(C)]
    #[derive(Debug, PartialEq, Clone, Copy)]
    struct Three {
        a: i8,
        b: i16,
        c: i64,
    }
    extern "C" fn three(a: i32, b: i32) -> Three {
        Three {
            a: a as i8,
            b: b as i16,
            c: i64::from(a) * i64::from(b),
        }
    }

    #[test]
    fn small_integer_structs_come_back_in_two_registers() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut mem = vec![0u64; crate::types::struct_type_len(3) / 8];
        let st = mem.as_mut_ptr().cast::<ffi_type>();
        // SAFETY: `mem` is large enough and aligned; builtin fields.
        unsafe {
            crate::types::init_struct_type(
                std::ptr::NonNull::new(st.cast()).unwrap(),
                &[ty("int8"), ty("int16"), ty("int64")],
            )
            .unwrap()
        };
        let mut at = [ty("int32"), ty("int32")];
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: locals outlive the call.
        let p = unsafe {
            prepare(&mut cif, sig, st, &mut at).unwrap();
            plan(&cif, false).unwrap()
        };
        assert_eq!((p.ret, p.ret_size), (Kind::IntStruct, 16));
        let (mut a, mut b) = (-7i32, 300i32);
        let mut args: [*mut c_void; 2] = [(&mut a as *mut i32).cast(), (&mut b as *mut i32).cast()];
        let mut r = [0u8; 16];
        // SAFETY: `three` has the planned signature; locals outlive the call.
        unsafe {
            call(
                &p,
                three as *const () as usize,
                args.as_mut_ptr(),
                r.as_mut_ptr().cast(),
            )
        };
        // SAFETY: 16 bytes laid out as Three.
        let got = unsafe { r.as_ptr().cast::<Three>().read_unaligned() };
        assert_eq!(got, three(a, b));
    }

    #[test]
    fn plans_only_simple_signatures() {
        assert!(plan_for("int32", &["int32"], false).is_some());
        assert_eq!(
            plan_for("int32", &["pointer", "int32"], true).is_some(),
            VARIADIC_IN_REGISTERS
        );
        assert!(plan_for("longdouble", &[], false).is_none());
        assert!(plan_for("int32", &["int64"; 9], false).is_none());
        assert!(plan_for("double", &["double"; 8], false).is_some());
        assert!(plan_for("double", &["double"; 9], false).is_none());
    }

    extern "C" {
        fn snprintf(buf: *mut u8, n: usize, fmt: *const u8, ...) -> i32;
    }

    #[test]
    fn variadic_calls_in_registers_match_what_c_computes() {
        if !VARIADIC_IN_REGISTERS {
            return;
        }
        // snprintf(buf, 64, fmt, int, double, const char *, int64, double):
        // integers and doubles after the fixed three, all in registers.
        let p = plan_for_fixed(
            "int32",
            &[
                "pointer", "uint64", "pointer", "int32", "double", "pointer", "int64", "double",
            ],
            3,
        )
        .unwrap();
        let mut buf = [0u8; 64];
        let (mut b, mut n, mut f) = (buf.as_mut_ptr(), 64u64, c"%d %.2f %s %lld %.1f".as_ptr());
        let (mut i, mut d, mut s, mut l, mut e) =
            (-42i32, 2.5f64, c"ok".as_ptr(), -(1i64 << 40), 0.5f64);
        let mut args: [*mut c_void; 8] = [
            (&mut b as *mut *mut u8).cast(),
            (&mut n as *mut u64).cast(),
            (&mut f as *mut *const std::ffi::c_char).cast(),
            (&mut i as *mut i32).cast(),
            (&mut d as *mut f64).cast(),
            (&mut s as *mut *const std::ffi::c_char).cast(),
            (&mut l as *mut i64).cast(),
            (&mut e as *mut f64).cast(),
        ];
        let mut r = 0u64;
        // SAFETY: snprintf takes these promoted types; locals outlive the call.
        unsafe {
            call(
                &p,
                snprintf as *const () as usize,
                args.as_mut_ptr(),
                (&mut r as *mut u64).cast(),
            )
        };
        let want = "-42 2.50 ok -1099511627776 0.5";
        assert_eq!(&buf[..want.len()], want.as_bytes());
        assert_eq!(r as i32, want.len() as i32);
    }

    fn plan_for_fixed(ret: &str, args: &[&str], nfixed: usize) -> Option<Plan> {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at: Vec<_> = args.iter().map(|a| ty(a)).collect();
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: Some(nfixed),
        };
        // SAFETY: locals outlive the plan computation.
        unsafe {
            prepare(&mut cif, sig, ty(ret), &mut at).unwrap();
            plan(&cif, true)
        }
    }

    #[test]
    fn calls_match_what_c_computes() {
        let p = plan_for(
            "double",
            &["int8", "float", "uint16", "double", "int64"],
            false,
        )
        .unwrap();
        let (mut a, mut b, mut c, mut d, mut e) = (-3i8, 1.5f32, 65535u16, 0.25f64, -(1i64 << 40));
        let mut args: [*mut c_void; 5] = [
            (&mut a as *mut i8).cast(),
            (&mut b as *mut f32).cast(),
            (&mut c as *mut u16).cast(),
            (&mut d as *mut f64).cast(),
            (&mut e as *mut i64).cast(),
        ];
        let mut r = 0f64;
        // SAFETY: `mix` has the planned signature; locals outlive the call.
        unsafe {
            call(
                &p,
                mix as *const () as usize,
                args.as_mut_ptr(),
                (&mut r as *mut f64).cast(),
            )
        };
        assert_eq!(r, mix(a, b, c, d, e));

        let p = plan_for("int8", &["int32"], false).unwrap();
        let mut x = 0x1ff_i32;
        let mut args: [*mut c_void; 1] = [(&mut x as *mut i32).cast()];
        let mut r = 0u64;
        // SAFETY: as above.
        unsafe {
            call(
                &p,
                narrow as *const () as usize,
                args.as_mut_ptr(),
                (&mut r as *mut u64).cast(),
            )
        };
        assert_eq!(
            r as i64, -1,
            "an int8 return is sign-extended to the whole ffi_arg"
        );
    }
}
