//! x86-64 System V (Linux, macOS, the BSDs): the first six integer or
//! pointer arguments travel in `rdi rsi rdx rcx r8 r9`, the first eight
//! float or double arguments in `xmm0`–`xmm7`; an integer result comes back
//! in `rax` (a 16-byte one in `rax:rdx`), a float or double in `xmm0`.
//!
//! The function types are C-variadic (every argument a fixed one): the
//! compiler then sets `%al` to the number of vector registers the call
//! passes, as libffi does for every call, so a variadic callee reached
//! through a plain CIF still finds its `double`s.

/// Integer (and pointer) argument registers.
pub const INT_REGS: usize = 6;

/// Whether a variadic function's arguments travel as a fixed parameter's
/// of the same (promoted) type do: here yes, with `%al` counting the
/// vector registers, which the function types below make the compiler set.
pub const VARIADIC_IN_REGISTERS: bool = true;

/// Whether the register-call paths run without being asked for: the
/// test-suite runs them here.
pub const TESTED: bool = true;

type I = u64;
type F = f64;

/// Every argument register filled: six integer, eight vector.
pub type WithFloats<R> = unsafe extern "C" fn(I, I, I, I, I, I, F, F, F, F, F, F, F, F, ...) -> R;
/// The integer registers only: with no float argument, the vector
/// registers are none of the callee's business.
pub type IntsOnly<R> = unsafe extern "C" fn(I, I, I, I, I, I, ...) -> R;

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
        $g($r(0), $r(1), $r(2), $r(3), $r(4), $r(5))
    };
}
pub(crate) use call_ints_only;

/// Invokes `$m!(integer registers; vector registers)` with one name per
/// argument register, in order: how the compiled-in entries are declared.
macro_rules! with_registers {
    ($m:ident) => {
        $m!(a0 a1 a2 a3 a4 a5; f0 f1 f2 f3 f4 f5 f6 f7);
    };
}
pub(crate) use with_registers;
