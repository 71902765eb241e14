//! Calls and closure entries past libffi, for signatures whose every
//! argument travels in a register: the platform facts in one place.
//!
//! Where the C calling convention is one this code speaks (`build.rs` sets
//! `cfg(register_calls)`: x86-64 System V and AArch64, not Windows), the
//! architecture's module ([`x86_64`] or [`aarch64`]) owns its register
//! counts, its register sets and the function types that fill every
//! argument register; [`direct`] (calls) and [`entry`] (closure entries)
//! are written once over them. Everywhere else there is no plan for any
//! CIF, no slot is ever claimed, and everything goes through libffi.

#[cfg(all(register_calls, target_arch = "aarch64"))]
mod aarch64;
#[cfg(all(register_calls, target_arch = "x86_64"))]
mod x86_64;

#[cfg(all(register_calls, target_arch = "aarch64"))]
use aarch64 as target;
#[cfg(all(register_calls, target_arch = "x86_64"))]
use x86_64 as target;

pub mod direct;
pub mod entry;

/// Integer (and pointer) argument registers; none where there are no
/// register calls.
#[cfg(register_calls)]
pub const INT_REGS: usize = target::INT_REGS;
#[cfg(not(register_calls))]
pub const INT_REGS: usize = 0;

/// Float and double argument registers (the low 64 bits of the vector
/// registers): eight on both architectures.
pub const FLOAT_REGS: usize = 8;

/// Whether the register-call paths run without `FFI_UNTESTED_FAST_PATHS=1`.
#[cfg(register_calls)]
const TESTED: bool = target::TESTED;
#[cfg(not(register_calls))]
const TESTED: bool = false;

/// The argument registers as a call fills them or an entry finds them:
/// the integer registers, then the low 64 bits of the vector registers.
pub type Regs = [u64; INT_REGS + FLOAT_REGS];

/// A 16-byte integer result: two integer registers (`rax:rdx`, `x0:x1`),
/// in memory order.
#[cfg(register_calls)]
#[repr(C)]
pub struct Pair(pub u64, pub u64);
