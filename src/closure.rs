//! libffi closures: C function pointers that call back into Rust. A
//! [`Closure`] owns the `ffi_closure` (freed on drop) and a shared
//! [`Handler`]; the trampoline holds its own reference to the handler for the
//! length of each call, and never lets a panic unwind into C.

use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;

use libffi_sys::{ffi_cif, ffi_closure, ffi_closure_alloc, ffi_closure_free, ffi_prep_closure_loc};

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
    let raw = user_data as *const H;
    // SAFETY: `user_data` is the Arc that Closure::new leaked and that lives
    // until the Closure drops (calling a freed closure is the caller's error).
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
    // SAFETY: libffi passes a valid `ret` and `args` for this call.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { handler.call(cif, ret, args) }));
    drop(held);
    crate::os::set_errno(errno);
    if outcome.is_err() {
        // A panic must not unwind into C: C gets a zeroed result instead.
        // SAFETY: as for the call.
        unsafe { zero_return(cif, ret) };
    }
}

/// An allocated and prepared `ffi_closure`; dropping it frees it.
pub struct Closure<H: Handler> {
    closure: NonNull<ffi_closure>,
    code: NonNull<c_void>,
    handler: *const H,
    /// libffi reads the CIF on every call: the closure owns its copy.
    cif: OwnedCif,
}

// SAFETY: the closure memory is libffi's, freed once in Drop (libffi's
// allocator is thread-safe); the handler is Send + Sync.
unsafe impl<H: Handler> Send for Closure<H> {}

impl<H: Handler> Closure<H> {
    /// Allocates a closure with the signature of `cif` that calls `handler`.
    pub fn new(cif: OwnedCif, handler: Arc<H>) -> Result<Self> {
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
            closure,
            code,
            handler,
            cif,
        };
        match FfiStatus::from_raw(status) {
            None => Ok(this),
            Some(s) => Err(Error::ffi(s, "ffi.Closure")),
        }
    }

    /// The address C calls.
    pub fn code(&self) -> usize {
        self.code.as_ptr() as usize
    }

    /// The closure's own copy of its CIF.
    pub fn cif(&self) -> *mut ffi_cif {
        self.cif.as_ptr()
    }
}

impl<H: Handler> Drop for Closure<H> {
    fn drop(&mut self) {
        // SAFETY: allocated by ffi_closure_alloc and freed only here; the
        // handler Arc leaked in new() is reclaimed once. Calls in flight hold
        // their own reference to the handler.
        unsafe {
            ffi_closure_free(self.closure.as_ptr().cast());
            drop(Arc::from_raw(self.handler));
        }
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
        let c = Closure::new(unsafe { OwnedCif::copy_of(&cif) }, handler.clone()).unwrap();
        let mut v: Vec<i32> = (0..1000).map(|i| (i * 7919) % 1000 - 500).collect();
        type Cmp = unsafe extern "C" fn(*const c_void, *const c_void) -> i32;
        // SAFETY: the closure has the comparator's signature.
        let cmp: Cmp = unsafe { std::mem::transmute(c.code()) };
        // SAFETY: qsort over a live Vec with a matching comparator.
        unsafe { libc::qsort(v.as_mut_ptr().cast(), v.len(), 4, Some(cmp)) };
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert!(handler.calls.load(Ordering::Relaxed) > 1000);
    }

    #[test]
    fn a_panicking_handler_returns_zero_to_c() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [];
        int_cif(&mut cif, &mut at);
        // SAFETY: prepared just above.
        let c = Closure::new(unsafe { OwnedCif::copy_of(&cif) }, Arc::new(Panics)).unwrap();
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
