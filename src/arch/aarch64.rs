//! AArch64 AAPCS64 (Linux, macOS): the first eight integer or pointer
//! arguments travel in `x0`–`x7`, the first eight float or double
//! arguments in `v0`–`v7`; an integer result comes back in `x0` (a 16-byte
//! one in `x0:x1`), a float or double in `v0`.
//!
//! Not Apple's variant for variadic functions (their variadic arguments go
//! on the stack): a variadic CIF never gets here (see
//! [`super::direct::plan`]).

/// Integer (and pointer) argument registers.
pub const INT_REGS: usize = 8;

/// Whether a variadic function's arguments travel as fixed ones do: true of
/// AAPCS64 on Linux, not of Apple's variant; left to libffi until tested.
pub const VARIADIC_IN_REGISTERS: bool = false;

/// Whether the register-call paths run without being asked for: not until
/// the test-suite has run them here (`FFI_UNTESTED_FAST_PATHS=1` turns them
/// on, see [`super::direct::enabled`]).
pub const TESTED: bool = false;

type I = u64;
type F = f64;

/// Every argument register filled: eight integer, eight vector.
pub type WithFloats<R> = unsafe extern "C" fn(I, I, I, I, I, I, I, I, F, F, F, F, F, F, F, F) -> R;
/// The integer registers only.
pub type IntsOnly<R> = unsafe extern "C" fn(I, I, I, I, I, I, I, I) -> R;

/// `$g(...)` with integer register `j` set to `$r(j)` and vector register
/// `j` to `$f(j)`: every argument register filled, for a [`WithFloats`].
/// A macro, not a function taking `$r` and `$f`: so each argument is loaded
/// straight into its register at the call (measured: 2–4 ns a call less
/// than through arrays or closures passed on).
macro_rules! call_with_floats {
    ($g:expr, $r:expr, $f:expr) => {
        $g(
            $r(0),
            $r(1),
            $r(2),
            $r(3),
            $r(4),
            $r(5),
            $r(6),
            $r(7),
            $f(0),
            $f(1),
            $f(2),
            $f(3),
            $f(4),
            $f(5),
            $f(6),
            $f(7),
        )
    };
}
pub(crate) use call_with_floats;

/// `$g(...)` with integer register `j` set to `$r(j)`, for an
/// [`IntsOnly`].
macro_rules! call_ints_only {
    ($g:expr, $r:expr) => {
        $g($r(0), $r(1), $r(2), $r(3), $r(4), $r(5), $r(6), $r(7))
    };
}
pub(crate) use call_ints_only;

/// Invokes `$m!(integer registers; vector registers)` with one name per
/// argument register, in order: how the compiled-in entries are declared.
macro_rules! with_registers {
    ($m:ident) => {
        $m!(a0 a1 a2 a3 a4 a5 a6 a7; f0 f1 f2 f3 f4 f5 f6 f7);
    };
}
pub(crate) use with_registers;
