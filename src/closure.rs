//! libffi closures: C function pointers that call back into Rust. A
//! [`Closure`] owns the `ffi_closure` (freed on drop) and a shared
//! [`Handler`]; the trampoline holds its own reference to the handler for the
//! length of each call, and never lets a panic unwind into C. Calls from
//! threads other than the one a handler answers on go through [`dispatch`].

pub mod dispatch;
pub mod frames;

use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;

use libffi_sys::{ffi_cif, ffi_closure, ffi_closure_alloc, ffi_closure_free, ffi_prep_closure_loc};

use crate::arch::direct::MAX_ARGS;
use crate::arch::entry::{Regs, Shape, Slot, Target};
use crate::cif::OwnedCif;
use crate::error::{Error, FfiStatus, Result};

/// What a closure does when C calls it.
pub trait Handler: Send + Sync + 'static {
    /// Handles one call: reads the arguments, writes the return value.
    ///
    /// # Safety
    /// `ret` has room for the CIF's return value (`ffi_arg` at least, or
    /// nothing for void) and `args` holds one pointer per argument, as
    /// libffi guarantees for the duration of the call.
    unsafe fn call(&self, cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void);

    /// A call through a compiled-in entry ([`crate::arch::entry`]), straight
    /// from the registers: Some(the return register's bits, a float in the
    /// low 32), or None to have the call laid out as libffi would and passed
    /// to [`Handler::call`] (the default). Only where
    /// [`Handler::pinned_on_this_thread`] holds may it return Some: no
    /// reference is held for it. Where it does, it keeps C's errno itself
    /// (the caller only keeps it on the general path); a panic is caught
    /// by the caller and C gets zero.
    ///
    /// # Safety
    /// `shape` is the closure's and `regs` the registers of this call.
    unsafe fn call_regs(&self, shape: &Shape, regs: &Regs) -> Option<u64> {
        let _ = (shape, regs);
        None
    }

    /// Whether the handler cannot be dropped while a call on the current
    /// thread runs, so that the trampoline need not hold a reference of its
    /// own for the call (two locked instructions per call otherwise).
    fn pinned_on_this_thread(&self) -> bool {
        false
    }
}

/// Zeroes a closure's return value: what C receives when the handler could
/// not produce one.
///
/// # Safety
/// `cif` is a prepared CIF and `ret` has room for its return value.
pub unsafe fn zero_return(cif: *const ffi_cif, ret: *mut c_void) {
    // SAFETY: the caller vouches for both.
    unsafe {
        let n = crate::cif::needs(cif).rvalue;
        if n > 0 && !ret.is_null() {
            std::ptr::write_bytes(ret.cast::<u8>(), 0, n);
        }
    }
}

unsafe extern "C" fn trampoline<H: Handler>(
    cif: *mut ffi_cif,
    ret: *mut c_void,
    args: *mut *mut c_void,
    user_data: *mut c_void,
) {
    // SAFETY: `user_data` is the handler that Closure::new leaked; libffi
    // passes a valid `ret` and `args` for this call.
    unsafe { guarded(user_data as *const H, cif, ret, args) }
}

/// Calls the handler at `raw` for one call from C: holds it for the call
/// unless it is pinned, keeps C's errno, and turns a panic into a zeroed
/// result.
///
/// # Safety
/// `raw` is the Arc that Closure::new leaked and that lives until the
/// Closure drops (calling a freed closure is the caller's error); `ret` and
/// `args` are valid for this call as libffi would pass them.
#[inline(always)]
unsafe fn guarded<H: Handler>(
    raw: *const H,
    cif: *mut ffi_cif,
    ret: *mut c_void,
    args: *mut *mut c_void,
) {
    // SAFETY: live as the call begins (caller's word).
    let pinned = unsafe { (*raw).pinned_on_this_thread() };
    // Unless the handler says it stays for calls on this thread, a clone
    // keeps it alive for this call even if the Closure is freed meanwhile.
    let held = (!pinned).then(|| {
        // SAFETY: as above: the Arc is live as the call begins.
        unsafe {
            Arc::increment_strong_count(raw);
            Arc::from_raw(raw)
        }
    });
    // SAFETY: alive for the call: pinned, or held just above.
    let handler = unsafe { &*raw };
    // The C code that called us sees its errno as it left it: waiting,
    // locking and JavaScript in between must not change it.
    let errno = crate::os::errno();
    // SAFETY: valid `ret` and `args` for this call (caller's word).
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { handler.call(cif, ret, args) }));
    drop(held);
    crate::os::set_errno(errno);
    if outcome.is_err() {
        // A panic must not unwind into C: C gets a zeroed result instead.
        // SAFETY: as for the call.
        unsafe { zero_return(cif, ret) };
    }
}

/// A compiled-in entry's call ([`crate::arch::entry`]): the handler's own
/// register path where it takes it ([`Handler::call_regs`]), else the
/// registers laid out as libffi would (each argument's value, and a pointer
/// to each) for [`Handler::call`].
///
/// # Safety
/// `t` is the Target of a live Closure<H>.
unsafe fn from_entry<H: Handler>(t: &Target, regs: &Regs) -> u64 {
    let shape = &t.shape;
    // SAFETY: the live closure's handler (see `guarded`) and this call's
    // registers; the handler answers only where it is pinned.
    let direct = catch_unwind(AssertUnwindSafe(|| unsafe {
        (*(t.data as *const H)).call_regs(shape, regs)
    }));
    match direct {
        Ok(None) => {}
        Ok(Some(bits)) => return bits,
        Err(_) => return 0,
    }
    let mut values = [0u64; MAX_ARGS];
    let mut pointers = [std::ptr::null_mut::<c_void>(); MAX_ARGS];
    for i in 0..shape.nargs {
        values[i] = regs[usize::from(shape.arg_reg[i])];
    }
    for i in 0..shape.nargs {
        pointers[i] = std::ptr::addr_of_mut!(values[i]).cast();
    }
    // An ffi_arg or a double, at least, as libffi gives a handler.
    let mut ret = [0u64; 2];
    // SAFETY: the Target's handler and CIF are the live closure's; `ret`
    // and `pointers` are laid out as libffi lays them out for this CIF
    // (scalar arguments only, each in 8 bytes; little-endian, so the low
    // bytes of a register are a narrow value's bytes).
    unsafe {
        guarded(
            t.data as *const H,
            t.cif,
            ret.as_mut_ptr().cast(),
            pointers.as_mut_ptr(),
        )
    };
    ret[0]
}

/// Where C enters a closure.
enum Code {
    /// A libffi closure: its trampoline memory, freed on drop.
    Libffi(NonNull<ffi_closure>),
    /// A compiled-in entry ([`crate::arch::entry`]), released on drop, and the
    /// Target it calls (boxed: the slot points at it). Held for their drops,
    /// in this order.
    Entry { _slot: Slot, _target: Box<Target> },
}

/// A closure C can call: a compiled-in entry where the signature and a
/// free slot allow, else an allocated and prepared `ffi_closure`; dropping
/// it frees either.
pub struct Closure<H: Handler> {
    entry: Code,
    code: usize,
    handler: *const H,
    /// The closure's own copy of its CIF: libffi's closure and an entry's
    /// Target point at it, and read it on every call. Held, never read here.
    _cif: OwnedCif,
}

// SAFETY: the closure memory is libffi's, freed once in Drop (libffi's
// allocator is thread-safe); a slot is released once; the handler is
// Send + Sync.
unsafe impl<H: Handler> Send for Closure<H> {}

impl<H: Handler> Closure<H> {
    /// A closure with the signature of `cif` (prepared by `ffi_prep_cif_var`
    /// if `variadic`) that calls `handler`; it may take any free
    /// compiled-in entry.
    #[cfg(test)]
    pub fn new(cif: OwnedCif, variadic: bool, handler: Arc<H>) -> Result<Self> {
        Self::new_leaving(cif, variadic, handler, 0)
    }

    /// As [`Closure::new`], but takes a compiled-in entry only while more
    /// than `keep_free` are free (a libffi closure otherwise).
    pub fn new_leaving(
        cif: OwnedCif,
        variadic: bool,
        handler: Arc<H>,
        keep_free: usize,
    ) -> Result<Self> {
        // SAFETY: an owned, prepared CIF whose types outlive it.
        let shape = (!variadic)
            .then(|| unsafe { crate::arch::entry::shape(cif.as_ptr()) })
            .flatten();
        if let Some(shape) = shape {
            let handler = Arc::into_raw(handler);
            let target = Box::new(Target {
                run: from_entry::<H>,
                data: handler.cast(),
                cif: cif.as_ptr(),
                shape,
            });
            // SAFETY: the box lives in the Closure, unmoved (a Box's
            // contents stay put), until after the slot is released.
            match unsafe { Slot::claim(&*target, keep_free) } {
                Some(slot) => {
                    crate::stats::CLOSURES.up();
                    return Ok(Closure {
                        code: slot.code(),
                        entry: Code::Entry {
                            _slot: slot,
                            _target: target,
                        },
                        handler,
                        _cif: cif,
                    });
                }
                // SAFETY: leaked just above and not handed out.
                None => return Self::with_libffi(cif, unsafe { Arc::from_raw(handler) }),
            }
        }
        Self::with_libffi(cif, handler)
    }

    /// A libffi closure (`ffi_closure_alloc`, `ffi_prep_closure_loc`).
    fn with_libffi(cif: OwnedCif, handler: Arc<H>) -> Result<Self> {
        let mut code: *mut c_void = std::ptr::null_mut();
        // SAFETY: asks libffi for closure memory and its executable address.
        let raw = unsafe { ffi_closure_alloc(std::mem::size_of::<ffi_closure>(), &mut code) };
        let (Some(closure), Some(code)) =
            (NonNull::new(raw.cast::<ffi_closure>()), NonNull::new(code))
        else {
            return Err(Error::ffi(
                FfiStatus::BadTypedef,
                "ffi.Closure: ffi_closure_alloc returned no memory",
            ));
        };
        let handler = Arc::into_raw(handler);
        // SAFETY: fresh closure memory, a prepared CIF owned by the closure,
        // and a trampoline of the signature libffi expects.
        let status = unsafe {
            ffi_prep_closure_loc(
                closure.as_ptr(),
                cif.as_ptr(),
                Some(trampoline::<H>),
                handler as *mut c_void,
                code.as_ptr(),
            )
        };
        crate::stats::CLOSURES.up();
        let this = Closure {
            entry: Code::Libffi(closure),
            code: code.as_ptr() as usize,
            handler,
            _cif: cif,
        };
        match FfiStatus::from_raw(status) {
            None => Ok(this),
            Some(s) => Err(Error::ffi(s, "ffi.Closure")),
        }
    }

    /// The address C calls.
    pub fn code(&self) -> usize {
        self.code
    }

    /// Whether C enters through a compiled-in entry rather than libffi.
    #[cfg(test)]
    pub fn compiled_in(&self) -> bool {
        matches!(self.entry, Code::Entry { .. })
    }

    /// Keeps the closure for good: for a closure C may still call when
    /// nothing can free it any more (its environment ended). Its code, its
    /// copy of the CIF and its handler stay (a call may have entered the
    /// code and not yet taken its reference to the handler, so none of it
    /// can ever be freed safely); the handler should answer such calls
    /// without needing more than itself. Counted as a leftover from then
    /// on, no longer as a live closure.
    pub fn leave(self) {
        crate::stats::CLOSURES.down();
        crate::stats::CLOSURE_LEFTOVERS.up();
        std::mem::forget(self);
    }
}

impl<H: Handler> Drop for Closure<H> {
    fn drop(&mut self) {
        match &self.entry {
            // SAFETY: allocated by ffi_closure_alloc and freed only here.
            Code::Libffi(c) => unsafe { ffi_closure_free(c.as_ptr().cast()) },
            // Released by dropping the Slot below, before its Target.
            Code::Entry { .. } => {}
        }
        // The slot (if any) goes first: no new call reaches the Target.
        self.entry = Code::Libffi(NonNull::dangling());
        // SAFETY: the handler Arc leaked in new() is reclaimed once. Calls
        // in flight hold their own reference to the handler.
        unsafe { drop(Arc::from_raw(self.handler)) };
        crate::stats::CLOSURES.down();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cif::{prepare, Signature};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ty(name: &str) -> *mut libffi_sys::ffi_type {
        crate::types::builtin(name).expect("a builtin type name")
    }

    struct Compare {
        calls: AtomicUsize,
    }

    impl Handler for Compare {
        unsafe fn call(&self, _cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
            self.calls.fetch_add(1, Ordering::Relaxed);
            // SAFETY: int (*)(const void *, const void *): two pointer args.
            unsafe {
                let a = **(*args).cast::<*const i32>();
                let b = **(*args.add(1)).cast::<*const i32>();
                *ret.cast::<libffi_sys::ffi_sarg>() = (a > b) as i64 - (a < b) as i64;
            }
        }
    }

    struct Panics;

    impl Handler for Panics {
        unsafe fn call(&self, _: *const ffi_cif, _: *mut c_void, _: *mut *mut c_void) {
            panic!("a handler that panics");
        }
    }

    fn int_cif(cif: &mut ffi_cif, at: &mut [*mut libffi_sys::ffi_type]) {
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: `cif` and `at` outlive the closures in these tests.
        unsafe { prepare(cif, sig, ty("int32"), at) }.unwrap();
    }

    #[test]
    fn qsort_calls_a_rust_comparator() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [ty("pointer"), ty("pointer")];
        int_cif(&mut cif, &mut at);
        let handler = Arc::new(Compare {
            calls: AtomicUsize::new(0),
        });
        // SAFETY: prepared just above.
        let c = Closure::new(unsafe { OwnedCif::copy_of(&cif) }, false, handler.clone()).unwrap();
        let mut v: Vec<i32> = (0..1000).map(|i| (i * 7919) % 1000 - 500).collect();
        type Cmp = unsafe extern "C" fn(*const c_void, *const c_void) -> i32;
        // SAFETY: the closure has the comparator's signature.
        let cmp: Cmp = unsafe { std::mem::transmute(c.code()) };
        // SAFETY: qsort over a live Vec with a matching comparator.
        unsafe { libc::qsort(v.as_mut_ptr().cast(), v.len(), 4, Some(cmp)) };
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert!(handler.calls.load(Ordering::Relaxed) > 1000);
    }

    /// Weighs each argument of (i8, f64, u16, f32, i32, i64) by its position.
    struct Weigh;

    impl Handler for Weigh {
        unsafe fn call(&self, _cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
            // SAFETY: the signature above: one pointer per argument, to a
            // value of its type.
            unsafe {
                let arg = |i: usize| *args.add(i);
                let v = [
                    f64::from(*arg(0).cast::<i8>()),
                    *arg(1).cast::<f64>(),
                    f64::from(*arg(2).cast::<u16>()),
                    f64::from(*arg(3).cast::<f32>()),
                    f64::from(*arg(4).cast::<i32>()),
                    *arg(5).cast::<i64>() as f64,
                ];
                *ret.cast::<f64>() = v.iter().enumerate().map(|(i, x)| x * (i + 1) as f64).sum();
            }
        }
    }

    fn owned(ret: &str, args: &[&str]) -> OwnedCif {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at: Vec<_> = args.iter().map(|a| ty(a)).collect();
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: builtin types; copied before `at` goes.
        unsafe {
            prepare(&mut cif, sig, ty(ret), &mut at).unwrap();
            OwnedCif::copy_of(&cif)
        }
    }

    #[test]
    fn mixed_register_arguments_reach_the_handler() {
        let c = Closure::new(
            owned(
                "double",
                &["int8", "double", "uint16", "float", "int32", "int64"],
            ),
            false,
            Arc::new(Weigh),
        )
        .unwrap();
        assert!(
            c.compiled_in()
                || !crate::arch::direct::enabled()
                || crate::arch::entry::taken() == crate::arch::entry::SLOTS
        );
        type F = unsafe extern "C" fn(i8, f64, u16, f32, i32, i64) -> f64;
        // SAFETY: the closure has this signature.
        let f: F = unsafe { std::mem::transmute(c.code()) };
        // SAFETY: as above.
        let r = unsafe { f(-3, 0.5, 65535, -2.5, -7, 1 << 40) };
        let want =
            -3.0 + 2.0 * 0.5 + 3.0 * 65535.0 + 4.0 * -2.5 + 5.0 * -7.0 + 6.0 * (1u64 << 40) as f64;
        assert_eq!(r, want);
    }

    /// Returns its argument plus the number it was made with.
    struct Plus(i32);

    impl Handler for Plus {
        unsafe fn call(&self, _cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
            // SAFETY: int (int): libffi-style, a whole ffi_arg out.
            unsafe {
                *ret.cast::<libffi_sys::ffi_sarg>() = (**args.cast::<*const i32>() + self.0).into()
            }
        }
    }

    #[test]
    fn more_closures_than_slots_each_answer_as_themselves() {
        let n = crate::arch::entry::SLOTS + 50;
        let mut all: Vec<_> = (0..n)
            .map(|i| {
                Closure::new(owned("int32", &["int32"]), false, Arc::new(Plus(i as i32))).unwrap()
            })
            .collect();
        assert!(
            all.iter().any(|c| !c.compiled_in()),
            "some fell back to libffi"
        );
        type F = unsafe extern "C" fn(i32) -> i32;
        let check = |all: &[Closure<Plus>], base: &dyn Fn(usize) -> i32| {
            for (i, c) in all.iter().enumerate() {
                // SAFETY: int (int).
                let f: F = unsafe { std::mem::transmute(c.code()) };
                // SAFETY: as above.
                assert_eq!(unsafe { f(1000) }, 1000 + base(i));
            }
        };
        check(&all, &|i| i as i32);
        // Freed slots are taken again, by closures that answer as themselves.
        for i in (0..n).step_by(2) {
            all[i] = Closure::new(
                owned("int32", &["int32"]),
                false,
                Arc::new(Plus(-(i as i32))),
            )
            .unwrap();
        }
        check(&all, &|i| if i % 2 == 0 { -(i as i32) } else { i as i32 });
    }

    #[test]
    fn a_claim_that_leaves_every_slot_free_falls_back_to_libffi() {
        let c = Closure::new_leaving(
            owned("int32", &["int32"]),
            false,
            Arc::new(Plus(5)),
            crate::arch::entry::SLOTS,
        )
        .unwrap();
        assert!(!c.compiled_in());
        // SAFETY: int (int).
        let f: unsafe extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(c.code()) };
        // SAFETY: as above.
        assert_eq!(unsafe { f(2) }, 7);
    }

    #[test]
    fn float_returns_leave_in_the_vector_register() {
        struct Half;
        impl Handler for Half {
            unsafe fn call(&self, _: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
                // SAFETY: float (float, int8).
                unsafe {
                    let x = **args.cast::<*const f32>();
                    let k = *(*args.add(1)).cast::<i8>();
                    *ret.cast::<f32>() = x / 2.0 + f32::from(k);
                }
            }
        }
        let c = Closure::new(owned("float", &["float", "int8"]), false, Arc::new(Half)).unwrap();
        // SAFETY: float (float, int8).
        let f: unsafe extern "C" fn(f32, i8) -> f32 = unsafe { std::mem::transmute(c.code()) };
        // SAFETY: as above.
        assert_eq!(unsafe { f(-3.0, -4) }, -5.5);
    }

    #[test]
    fn a_panicking_handler_returns_zero_to_c() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [];
        int_cif(&mut cif, &mut at);
        // SAFETY: prepared just above.
        let c = Closure::new(unsafe { OwnedCif::copy_of(&cif) }, false, Arc::new(Panics)).unwrap();
        // SAFETY: int (void).
        let f: unsafe extern "C" fn() -> i32 = unsafe { std::mem::transmute(c.code()) };
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        // SAFETY: calls the closure; the panic is caught inside.
        let r = unsafe { f() };
        std::panic::set_hook(prev);
        assert_eq!(r, 0);
    }
}
