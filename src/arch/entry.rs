//! Closure entry points compiled into the module, for simple signatures.
//!
//! A libffi closure enters through `ffi_closure_unix64` (or its AArch64
//! twin), which saves every argument register and then classifies each
//! argument of the CIF again on every call before it reaches the handler:
//! about a tenth of a JavaScript callback's cost. For the signatures that
//! [`super::direct`] calls directly (default ABI, not variadic, every
//! argument a scalar in a register), the mirror image works: a function of
//! one fixed type that takes every argument register (the architecture's
//! integer ones, 8 vector ones) receives any such call, since a caller only fills the
//! registers its signature names and the rest are simply not read. A
//! scalar return goes back in the first integer register or the first
//! vector register, so there are two such functions per slot.
//!
//! [`SLOTS`] slots are compiled in, each a pair of functions that finds its
//! [`Target`] in a table. A closure claims a free slot ([`Slot::claim`]);
//! when none is free, or the signature does not qualify, it is a libffi
//! closure as before. The code is ordinary text of this module: no
//! writable and executable memory. A claim may leave a number of slots to
//! others ([`RESERVED`]: Workers leave them to the main thread, since what
//! an ended Worker leaves behind keeps its slots for good).

use std::os::raw::c_void;

use libffi_sys::ffi_cif;

use super::direct::{self, Kind, MAX_ARGS};
pub use super::Regs;
use super::INT_REGS;

/// How many closures at once can use a compiled-in entry.
pub const SLOTS: usize = 256;

/// How many slots a claim that leaves a reserve ([`Slot::claim`]) leaves
/// free: Worker environments claim only while more than this many are free,
/// so that closures an ended Worker had to keep can never take the main
/// thread's last slots.
pub const RESERVED: usize = 64;

/// Where the next claim starts looking: slots are taken round-robin, so a
/// freed slot is the last to be taken again and a stale pointer to it keeps
/// reaching an empty slot (zero, and a warning) for as long as possible,
/// not another closure.
static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What runs, once per process, the first time C calls a slot that holds
/// no closure (a closure called after it was freed or collected): the
/// N-API layer makes it a process warning.
static ON_EMPTY_CALL: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();
static EMPTY_CALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets what runs the first time an empty slot is called (first call wins).
pub fn on_empty_call(hook: fn()) {
    let _ = ON_EMPTY_CALL.set(hook);
}

/// An empty slot was called: the hook, once per process.
#[cold]
#[inline(never)]
fn empty_called() {
    if !EMPTY_CALLED.swap(true, std::sync::atomic::Ordering::AcqRel) {
        if let Some(hook) = ON_EMPTY_CALL.get() {
            hook();
        }
    }
}

/// Slots free: taken down by one before a claim looks for a slot (so a
/// claim that got past it always finds one), put back after a release.
static FREE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(SLOTS);

/// Where each argument of a qualifying signature arrives, and how its
/// result leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub nargs: usize,
    /// For each argument, its index in [`Regs`].
    pub arg_reg: [u8; MAX_ARGS],
    /// Whether the result goes back in a vector register (float, double).
    pub float_ret: bool,
}

/// The shape of a CIF's calls, if a compiled-in entry can receive them.
///
/// # Safety
/// `cif` must be prepared, with its types alive.
pub unsafe fn shape(cif: *const ffi_cif) -> Option<Shape> {
    if cfg!(target_endian = "big") {
        // Narrow values are read from a register's low bytes as memory.
        return None;
    }
    // SAFETY: the caller's word.
    let plan = unsafe { direct::plan(cif, false) }?;
    let float_ret = match plan.ret {
        Kind::F32 | Kind::F64 => true,
        // Two-register struct returns stay with libffi.
        Kind::IntStruct => return None,
        _ => false,
    };
    let mut arg_reg = [0u8; MAX_ARGS];
    for (r, src) in plan.int_src[..usize::from(plan.ints)].iter().enumerate() {
        arg_reg[usize::from(src.arg)] = r as u8;
    }
    for (r, src) in plan.float_src[..usize::from(plan.floats)]
        .iter()
        .enumerate()
    {
        arg_reg[usize::from(src.arg)] = (INT_REGS + r) as u8;
    }
    Some(Shape {
        nargs: usize::from(plan.nargs),
        arg_reg,
        float_ret,
    })
}

/// What a slot calls: `run(self, registers)` returns the bits of the
/// return register (a float in the low 32 bits).
pub struct Target {
    /// Read by the entries, which exist only where there are register calls.
    #[cfg_attr(not(register_calls), allow(dead_code))]
    pub run: unsafe fn(&Target, &Regs) -> u64,
    /// The handler, for `run`.
    pub data: *const c_void,
    /// The closure's CIF.
    pub cif: *mut ffi_cif,
    pub shape: Shape,
}

#[cfg(register_calls)]
mod table {
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, Ordering};

    use super::{Regs, Target, SLOTS};

    pub static TARGETS: [AtomicPtr<Target>; SLOTS] =
        [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS];

    /// One call through slot `slot`: 0 if the slot is empty (a closure
    /// called after it was freed gets a zero, not a crash, until the slot
    /// is taken again).
    #[inline(never)]
    fn enter(slot: usize, regs: &Regs) -> u64 {
        let t = TARGETS[slot].load(Ordering::Acquire);
        if t.is_null() {
            super::empty_called();
            return 0;
        }
        // SAFETY: a claimed slot points at its closure's Target, which lives
        // until the closure releases the slot (a call racing the free is
        // the caller's error, as with libffi's closures).
        unsafe { ((*t).run)(&*t, regs) }
    }

    macro_rules! entries {
        ($($i:ident)*; $($f:ident)*) => {
            /// Every argument register in, an integer register out.
            pub type IntEntry = unsafe extern "C" fn($($i: u64,)* $($f: f64,)*) -> u64;
            /// Every argument register in, a vector register out.
            pub type FloatEntry = unsafe extern "C" fn($($i: u64,)* $($f: f64,)*) -> f64;

            unsafe extern "C" fn int_entry<const S: usize>($($i: u64,)* $($f: f64,)*) -> u64 {
                enter(S, &[$($i,)* $($f.to_bits(),)*])
            }

            unsafe extern "C" fn float_entry<const S: usize>($($i: u64,)* $($f: f64,)*) -> f64 {
                f64::from_bits(enter(S, &[$($i,)* $($f.to_bits(),)*]))
            }
        };
    }
    super::super::target::with_registers!(entries);

    /// Sixteen slots' entries of one kind, from slot `16 * $r`.
    macro_rules! row {
        ($e:ident, $r:literal) => {
            [
                $e::<{ $r * 16 }>,
                $e::<{ $r * 16 + 1 }>,
                $e::<{ $r * 16 + 2 }>,
                $e::<{ $r * 16 + 3 }>,
                $e::<{ $r * 16 + 4 }>,
                $e::<{ $r * 16 + 5 }>,
                $e::<{ $r * 16 + 6 }>,
                $e::<{ $r * 16 + 7 }>,
                $e::<{ $r * 16 + 8 }>,
                $e::<{ $r * 16 + 9 }>,
                $e::<{ $r * 16 + 10 }>,
                $e::<{ $r * 16 + 11 }>,
                $e::<{ $r * 16 + 12 }>,
                $e::<{ $r * 16 + 13 }>,
                $e::<{ $r * 16 + 14 }>,
                $e::<{ $r * 16 + 15 }>,
            ]
        };
    }
    macro_rules! grid {
        ($e:ident) => {
            [
                row!($e, 0),
                row!($e, 1),
                row!($e, 2),
                row!($e, 3),
                row!($e, 4),
                row!($e, 5),
                row!($e, 6),
                row!($e, 7),
                row!($e, 8),
                row!($e, 9),
                row!($e, 10),
                row!($e, 11),
                row!($e, 12),
                row!($e, 13),
                row!($e, 14),
                row!($e, 15),
            ]
        };
    }
    pub static INT_ENTRIES: [[IntEntry; 16]; 16] = grid!(int_entry);
    pub static FLOAT_ENTRIES: [[FloatEntry; 16]; 16] = grid!(float_entry);
    const _: () = assert!(SLOTS == 16 * 16);
}

/// A claimed slot: its entry calls one [`Target`] until this drops.
pub struct Slot {
    index: usize,
    code: usize,
}

impl Slot {
    /// Claims a free slot for `target` while more than `keep_free` slots are
    /// free, or None (or if this target has no compiled-in entries).
    ///
    /// # Safety
    /// `target` stays alive, unmoved, until the Slot drops.
    pub unsafe fn claim(target: *const Target, keep_free: usize) -> Option<Slot> {
        #[cfg(register_calls)]
        {
            use std::sync::atomic::Ordering;
            // One of the free slots is this claim's from here on: the scan
            // below finds it (a release nulls its cell before it counts the
            // slot free again), if need be after cells changed under it.
            FREE.fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                (f > keep_free).then(|| f - 1)
            })
            .ok()?;
            // SAFETY: alive (caller's word).
            let float_ret = unsafe { (*target).shape.float_ret };
            loop {
                let start = NEXT.load(Ordering::Relaxed);
                for k in 0..SLOTS {
                    let index = (start + k) % SLOTS;
                    let cell = &table::TARGETS[index];
                    let taken = cell.compare_exchange(
                        std::ptr::null_mut(),
                        target.cast_mut(),
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                    if taken.is_ok() {
                        NEXT.store((index + 1) % SLOTS, Ordering::Relaxed);
                        let (r, c) = (index / 16, index % 16);
                        let code = if float_ret {
                            table::FLOAT_ENTRIES[r][c] as usize
                        } else {
                            table::INT_ENTRIES[r][c] as usize
                        };
                        return Some(Slot { index, code });
                    }
                }
                std::hint::spin_loop();
            }
        }
        #[cfg(not(register_calls))]
        {
            let _ = (target, keep_free, &FREE, &NEXT, empty_called as fn());
            None
        }
    }

    /// The address C calls.
    pub fn code(&self) -> usize {
        self.code
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        #[cfg(register_calls)]
        {
            use std::sync::atomic::Ordering;
            table::TARGETS[self.index].store(std::ptr::null_mut(), Ordering::Release);
            FREE.fetch_add(1, Ordering::AcqRel);
        }
        let _ = self.index;
    }
}

/// How many slots are taken: by live closures, and for good by what ended
/// environments left behind (`ffi.stats().closureEntries`).
pub fn taken() -> usize {
    SLOTS - FREE.load(std::sync::atomic::Ordering::Acquire)
}
