//! `ffi_call` behind the checks that can be made cheaply, with the C error
//! slots read right after the callee returns.

use std::mem::{align_of, size_of};
use std::os::raw::c_void;

use libffi_sys::{ffi_call, ffi_cif, FFI_TYPE_STRUCT};

use crate::cif;
use crate::error::{Error, Result};
use crate::os;

/// A Buffer's bytes as C sees them.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    pub ptr: *mut u8,
    pub len: usize,
}

/// What the C error slots held right after the callee returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub errno: i32,
    pub last_error: i32,
}

/// A call whose Buffers passed the checks against its CIF, ready to run on
/// any thread. The fast path keeps one per CIF, as it is, in a Buffer only
/// the N-API layer writes (hence `repr(C)` and `Copy`), and repeats it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    cif: *mut ffi_cif,
    fun: usize,
    rvalue: *mut c_void,
    /// Bytes of `rvalue` the call writes (0 for void).
    rsize: usize,
    args: *mut *mut c_void,
    nargs: usize,
    private: bool,
    /// A direct call instead of ffi_call, for simple signatures.
    direct: Option<crate::arch::direct::Plan>,
}

// SAFETY: the pointers are to a CIF and Buffers that the caller of `check`
// keeps alive and untouched until the call has run (callAsync holds
// references to every one of them).
unsafe impl Send for Checked {}

/// Checks the Buffers of a call against its CIF: a non-NULL `fun`, room
/// for the return value and the argument array, no NULL argument pointer.
///
/// `variadic` says whether the CIF came from `ffi_prep_cif_var` (those are
/// always called through libffi).
///
/// # Safety
/// `cif` must have been prepared by [`cif::prepare`], with its types alive;
/// `rvalue` and `avalues` must be readable and writable for their lengths.
pub unsafe fn check(
    cif: *mut ffi_cif,
    fun: usize,
    rvalue: Region,
    avalues: Region,
    variadic: bool,
) -> Result<Checked> {
    check_fun(fun)?;
    // SAFETY: the caller vouches for a prepared CIF.
    let needs = unsafe { cif::needs(cif) };
    check_rvalue(rvalue, needs.rvalue)?;
    if avalues.len < needs.avalues {
        return Err(Error::BufferTooSmall(format!(
            "ffi.call: aValues is {} bytes, {} arguments need {}",
            avalues.len, needs.nargs, needs.avalues
        )));
    }
    let args = avalues.ptr.cast::<*mut c_void>();
    // SAFETY: `avalues` holds `nargs` pointers (checked above).
    unsafe { check_args(args, needs.nargs) }?;
    // A by-value struct argument gets a private array and a private copy on
    // every ABI: libffi 3.5 rewrites `avalue[i]` to its own stack copy for
    // large structs (x86-64, both ABIs; Win64 for odd sizes), which would
    // leave the caller's aValues pointing into a dead frame, and on Win64
    // and AArch64 the callee may write to a struct passed by reference.
    let private = needs.struct_args || !(args as usize).is_multiple_of(align_of::<*mut c_void>());
    Ok(Checked {
        cif,
        fun,
        rvalue: if needs.rvalue == 0 {
            std::ptr::null_mut()
        } else {
            rvalue.ptr.cast()
        },
        rsize: needs.rvalue,
        args,
        nargs: needs.nargs,
        private,
        direct: if private {
            None
        } else {
            // SAFETY: a prepared CIF (caller's word).
            unsafe { crate::arch::direct::plan(cif, variadic) }
        },
    })
}

/// Refuses a NULL `fun`.
fn check_fun(fun: usize) -> Result<()> {
    if fun == 0 {
        return Err(Error::NullPointer("ffi.call: fn is NULL".into()));
    }
    Ok(())
}

/// Refuses an `rvalue` shorter than the `needs` bytes the return type takes.
fn check_rvalue(rvalue: Region, needs: usize) -> Result<()> {
    if rvalue.len < needs {
        return Err(Error::BufferTooSmall(format!(
            "ffi.call: rValue is {} bytes, the return type needs {needs}",
            rvalue.len
        )));
    }
    Ok(())
}

/// Refuses a NULL argument pointer, the one thing about them C can't be
/// trusted with and that can be checked.
///
/// # Safety
/// `args` must hold `nargs` readable pointers (any alignment: a Buffer may
/// sit at any byte offset).
unsafe fn check_args(args: *mut *mut c_void, nargs: usize) -> Result<()> {
    for i in 0..nargs {
        // SAFETY: the caller vouches for nargs pointers.
        if unsafe { args.add(i).read_unaligned() }.is_null() {
            return Err(Error::NullPointer(format!(
                "ffi.call: aValues holds NULL for argument {i}"
            )));
        }
    }
    Ok(())
}

impl Checked {
    /// Makes this the same call with another function and `rvalue`, checked
    /// as [`check`] checks them: everything else depends only on the CIF
    /// and the argument array, which stay. On an error nothing changes.
    pub fn refill(&mut self, fun: usize, rvalue: Region) -> Result<()> {
        check_fun(fun)?;
        check_rvalue(rvalue, self.rsize)?;
        self.fun = fun;
        self.rvalue = if self.rsize == 0 {
            std::ptr::null_mut()
        } else {
            rvalue.ptr.cast()
        };
        Ok(())
    }

    /// Makes the call. `errno` (and `GetLastError()`) are cleared before it,
    /// so what is read afterwards is what the callee left.
    ///
    /// # Safety
    /// `fun` must be a function with the CIF's signature, and every argument
    /// pointer must point to storage of its argument's type. That is the
    /// caller's word, as in C: only NULL can be checked.
    pub unsafe fn perform(&self) -> Outcome {
        // SAFETY: this thread's errno slot; the rest is the caller's word.
        unsafe { self.perform_at(os::errno_location()) }
    }

    /// [`perform`](Checked::perform) with this thread's errno slot given
    /// (the fast path keeps it, saving two calls into the C library).
    ///
    /// # Safety
    /// As [`perform`](Checked::perform); `errno` is this thread's
    /// `errno_location()`.
    #[inline]
    pub unsafe fn perform_at(&self, errno: *mut std::os::raw::c_int) -> Outcome {
        // SAFETY: the caller's word; `rvalue` was checked with the call.
        unsafe { self.perform_to(errno, self.rvalue) }
    }

    /// [`perform_at`](Checked::perform_at) with the result written to
    /// `out` instead of the checked `rValue`.
    ///
    /// # Safety
    /// As [`perform_at`](Checked::perform_at); `out` has room for
    /// [`ResultBuf::room`] of [`result_size`](Checked::result_size) bytes
    /// (or is NULL for void).
    #[inline(always)]
    pub unsafe fn perform_to(&self, errno: *mut std::os::raw::c_int, out: *mut c_void) -> Outcome {
        if self.private {
            // SAFETY: as for the call; the copies live until it returns.
            unsafe {
                with_private_args(self.cif, self.args, self.nargs, |args| {
                    self.invoke(args, errno, out)
                })
            }
        } else {
            // SAFETY: the caller's word.
            unsafe { self.invoke(self.args, errno, out) }
        }
    }

    /// Bytes of the result the call writes (0 for void).
    pub fn result_size(&self) -> usize {
        self.rsize
    }

    /// A copy of this call that owns its argument values, argument array
    /// and result, for a call that runs while JavaScript goes on (whatever
    /// it then does to its Buffers, C sees only these copies).
    ///
    /// # Safety
    /// The Buffers of the call are live now (as checked); the CIF stays
    /// alive until the copy has run.
    pub unsafe fn to_owned_call(self) -> OwnedCall {
        let mut sizes = Vec::with_capacity(self.nargs);
        let mut total = 0usize;
        for i in 0..self.nargs {
            // SAFETY: a prepared CIF has `nargs` live argument types.
            let size = unsafe { (**(*self.cif).arg_types.add(i)).size };
            sizes.push(size);
            total += size.next_multiple_of(16);
        }
        let mut values = vec![0u128; total.div_ceil(16)];
        let mut ptrs = Vec::with_capacity(self.nargs);
        let mut at = values.as_mut_ptr().cast::<u8>();
        for (i, &size) in sizes.iter().enumerate() {
            // SAFETY: `nargs` non-NULL pointers (checked), each to storage of
            // its type's size (the caller's word, as for any call); `at`
            // stays within `values`, sized for every value rounded to 16.
            unsafe {
                let from = self.args.add(i).read_unaligned().cast::<u8>();
                std::ptr::copy_nonoverlapping(from, at, size);
                ptrs.push(at.cast::<c_void>());
                at = at.add(size.next_multiple_of(16));
            }
        }
        let mut result = ResultBuf::new(self.rsize);
        let mut call = self;
        call.args = ptrs.as_mut_ptr();
        // The Vecs' heap memory stays where it is when they move.
        call.rvalue = if self.rsize == 0 {
            std::ptr::null_mut()
        } else {
            result.heap_ptr()
        };
        OwnedCall {
            call,
            _values: values,
            _ptrs: ptrs,
            result,
        }
    }

    /// The call itself, with `args` as the argument array.
    ///
    /// # Safety
    /// As [`perform_at`](Checked::perform_at), `args` holding the call's
    /// argument pointers.
    #[inline(always)]
    unsafe fn invoke(
        &self,
        args: *mut *mut c_void,
        errno: *mut std::os::raw::c_int,
        rvalue: *mut c_void,
    ) -> Outcome {
        // SAFETY: `fun` is a function of the CIF's signature (caller's word);
        // every argument pointer is non-NULL; `rvalue` has room for the
        // return value, or is NULL for void, which libffi accepts; `errno`
        // is this thread's slot.
        unsafe {
            os::clear_last_error();
            *errno = os::errno_before_call();
            match &self.direct {
                Some(plan) => crate::arch::direct::call(plan, self.fun, args, rvalue),
                None => ffi_call(
                    self.cif,
                    Some(std::mem::transmute::<usize, unsafe extern "C" fn()>(
                        self.fun,
                    )),
                    rvalue,
                    args,
                ),
            }
            Outcome {
                errno: *errno,
                last_error: os::last_error(),
            }
        }
    }

    /// Repeats the call for the fast path, where a callback may detach
    /// rValue while C runs: the result is written to rValue only if
    /// `js_ran()`, asked once C has returned, says no JavaScript ran during
    /// the call; otherwise it goes to `hold`, for the caller to check rValue
    /// first. A direct call's result comes back in registers, so the usual
    /// case costs a branch; libffi's goes through a [`ResultBuf`].
    ///
    /// # Safety
    /// As [`repeat`](Checked::repeat).
    #[inline(always)]
    pub unsafe fn repeat_guarded(
        &self,
        errno: *mut std::os::raw::c_int,
        js_ran: impl FnOnce() -> bool,
        hold: impl FnOnce(ResultBuf),
    ) -> Result<Outcome> {
        // SAFETY: as in repeat.
        unsafe { check_args(self.args, self.nargs) }?;
        match &self.direct {
            Some(plan) => {
                // SAFETY: `fun` has the planned signature and every argument
                // pointer is non-NULL (the caller's word, as for perform);
                // `errno` is this thread's slot.
                let (bits, outcome) = unsafe {
                    os::clear_last_error();
                    *errno = os::errno_before_call();
                    let bits = crate::arch::direct::call_bits(plan, self.fun, self.args);
                    (
                        bits,
                        Outcome {
                            errno: *errno,
                            last_error: os::last_error(),
                        },
                    )
                };
                if js_ran() {
                    held_bits(plan, bits, self.rsize, hold);
                } else {
                    // SAFETY: no JavaScript ran: rValue is as checked, with
                    // room for the result (NULL only for void: stores nothing).
                    unsafe { crate::arch::direct::store(plan, bits, self.rvalue) };
                }
                Ok(outcome)
            }
            // SAFETY: the caller's word.
            None => Ok(unsafe { self.libffi_guarded(errno, js_ran, hold) }),
        }
    }

    /// [`repeat_guarded`](Checked::repeat_guarded) through libffi, out of
    /// line: the direct path stays small enough to inline.
    ///
    /// # Safety
    /// As [`perform_to`](Checked::perform_to).
    #[inline(never)]
    unsafe fn libffi_guarded(
        &self,
        errno: *mut std::os::raw::c_int,
        js_ran: impl FnOnce() -> bool,
        hold: impl FnOnce(ResultBuf),
    ) -> Outcome {
        let mut held = ResultBuf::new(self.rsize);
        // SAFETY: the caller's word; `held` has the room.
        let outcome = unsafe { self.perform_to(errno, held.as_mut_ptr()) };
        if js_ran() {
            hold(held);
        } else {
            // SAFETY: no JavaScript ran: rValue is as checked, with room for
            // the result.
            unsafe { held.copy_to(self.rvalue.cast::<u8>()) };
        }
        outcome
    }
}

/// A direct call's result bits, held in a [`ResultBuf`] (off the call path).
#[cold]
#[inline(never)]
fn held_bits(
    plan: &crate::arch::direct::Plan,
    bits: [u64; 2],
    size: usize,
    hold: impl FnOnce(ResultBuf),
) {
    let mut held = ResultBuf::new(size);
    // SAFETY: `held` has room for the result.
    unsafe { crate::arch::direct::store(plan, bits, held.as_mut_ptr()) };
    hold(held);
}

/// Room for a call's result outside the caller's Buffer: the call writes
/// here, and the result is copied to `rValue` only once it is known to be
/// still there (a callback may have detached it during the call). On the
/// stack for the sizes of registers, on the heap past them.
pub struct ResultBuf {
    inline: [u64; 4],
    heap: Option<Box<[u128]>>,
    size: usize,
}

impl ResultBuf {
    /// Bytes a result of `size` bytes may be written over: libffi may store
    /// whole registers past a small struct's size.
    pub fn room(size: usize) -> usize {
        size.next_multiple_of(16) + 16
    }

    /// Room for a result of `size` bytes.
    #[inline(always)]
    pub fn new(size: usize) -> ResultBuf {
        let room = Self::room(size);
        ResultBuf {
            inline: [0; 4],
            heap: (room > 32).then(|| vec![0u128; room / 16].into_boxed_slice()),
            size,
        }
    }

    /// Where the call writes (valid while `self` stays where it is, or, on
    /// the heap, while it lives).
    #[inline(always)]
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        match &mut self.heap {
            None => self.inline.as_mut_ptr().cast(),
            Some(h) => h.as_mut_ptr().cast(),
        }
    }

    /// Moves the result to the heap (if it is not there) and returns where
    /// the call writes: valid wherever `self` moves.
    fn heap_ptr(&mut self) -> *mut c_void {
        let room = Self::room(self.size);
        self.heap
            .get_or_insert_with(|| vec![0u128; room / 16].into_boxed_slice())
            .as_mut_ptr()
            .cast()
    }

    /// The result's bytes.
    pub fn bytes(&self) -> &[u8] {
        let p = match &self.heap {
            None => self.inline.as_ptr().cast::<u8>(),
            Some(h) => h.as_ptr().cast::<u8>(),
        };
        // SAFETY: `size` bytes of the room, all initialized (zeroed at first).
        unsafe { std::slice::from_raw_parts(p, self.size) }
    }

    /// Copies the result to `to`, with fixed-size moves for the sizes of
    /// registers (no call to memcpy on the call path).
    ///
    /// # Safety
    /// `to` has room for the result's size (any alignment).
    #[inline(always)]
    pub unsafe fn copy_to(&self, to: *mut u8) {
        // SAFETY: `to` has `size` bytes (caller's word); the room has at
        // least 16 bytes, initialized.
        unsafe {
            match (self.size, &self.heap) {
                (0, _) => {}
                (8, None) => to.cast::<u64>().write_unaligned(self.inline[0]),
                (16, None) => to
                    .cast::<[u64; 2]>()
                    .write_unaligned([self.inline[0], self.inline[1]]),
                _ => std::ptr::copy_nonoverlapping(self.bytes().as_ptr(), to, self.size),
            }
        }
    }
}

/// A call that owns copies of everything C reads or writes through it
/// (see [`Checked::to_owned_call`]).
pub struct OwnedCall {
    call: Checked,
    _values: Vec<u128>,
    _ptrs: Vec<*mut c_void>,
    result: ResultBuf,
}

// SAFETY: the pointers are into the Vecs it owns and to the CIF, which the
// caller keeps alive (callAsync holds the CIF Buffer until completion).
unsafe impl Send for OwnedCall {}

impl OwnedCall {
    /// Makes the call on this thread.
    ///
    /// # Safety
    /// As [`Checked::perform`]: the function has the CIF's signature.
    pub unsafe fn perform(&self) -> Outcome {
        // SAFETY: the caller's word; every pointer is into this call's copies.
        unsafe { self.call.perform() }
    }

    /// The result C left (zeroes before the call).
    pub fn result(&self) -> &[u8] {
        self.result.bytes()
    }
}

/// Runs `f` with an aligned copy of the argument array in which every
/// struct argument points to a private copy of its bytes: the callee may
/// then write to its struct, and libffi to the array, without touching the
/// caller's Buffers.
///
/// # Safety
/// `args` must hold `nargs` readable pointers, each to storage of the
/// CIF's argument type.
unsafe fn with_private_args<R>(
    cif: *mut ffi_cif,
    args: *mut *mut c_void,
    nargs: usize,
    f: impl FnOnce(*mut *mut c_void) -> R,
) -> R {
    let mut ptrs: Vec<*mut c_void> = (0..nargs)
        // SAFETY: `nargs` pointers are readable (caller's word).
        .map(|i| unsafe { args.add(i).read_unaligned() })
        .collect();
    // Room for every struct at 16-byte alignment, the most any C type needs here.
    let mut sizes = Vec::with_capacity(nargs);
    let mut total = 0usize;
    for i in 0..nargs {
        // SAFETY: a prepared CIF has `nargs` live argument types.
        let t = unsafe { &**(*cif).arg_types.add(i) };
        let size = if t.type_ == FFI_TYPE_STRUCT {
            t.size
        } else {
            0
        };
        sizes.push(size);
        total += size.next_multiple_of(16);
    }
    let mut storage = vec![0u128; total.div_ceil(size_of::<u128>())];
    let mut at = storage.as_mut_ptr().cast::<u8>();
    for (i, &size) in sizes.iter().enumerate() {
        if size == 0 {
            continue;
        }
        // SAFETY: `at` stays within `storage` (sized for every struct, each
        // rounded up to 16); the source has `size` bytes (caller's word).
        unsafe {
            std::ptr::copy_nonoverlapping(ptrs[i].cast::<u8>(), at, size);
            ptrs[i] = at.cast();
            at = at.add(size.next_multiple_of(16));
        }
    }
    f(ptrs.as_mut_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cif::{prepare, Signature};

    fn ty(name: &str) -> *mut libffi_sys::ffi_type {
        crate::types::builtin(name).expect("a builtin type name")
    }

    /// Checks, then makes the call on this thread.
    ///
    /// # Safety
    /// As [`check`] and [`Checked::perform`].
    unsafe fn call(
        cif: *mut ffi_cif,
        fun: usize,
        rvalue: Region,
        avalues: Region,
    ) -> Result<Outcome> {
        // SAFETY: the caller's word.
        Ok(unsafe { check(cif, fun, rvalue, avalues, false)?.perform() })
    }

    fn region<T>(v: &mut [T]) -> Region {
        Region {
            ptr: v.as_mut_ptr().cast(),
            len: std::mem::size_of_val(v),
        }
    }

    #[test]
    fn calls_libc_abs_and_checks_its_buffers() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut c: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [ty("int32")];
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: locals outlive every call below.
        unsafe { prepare(&mut c, sig, ty("int32"), &mut at) }.unwrap();
        let mut arg: i32 = -42;
        let mut av = [(&mut arg as *mut i32).cast::<c_void>()];
        let mut rv = [0u64; 1];
        let abs = libc::abs as *const () as usize;
        // SAFETY: abs has the signature int(int); the buffers are locals.
        unsafe { call(&mut c, abs, region(&mut rv), region(&mut av)) }.unwrap();
        assert_eq!(rv[0] as i32, 42);

        let mut small = [0u8; 4];
        // SAFETY: the checks refuse before any call is made.
        let e = unsafe { call(&mut c, abs, region(&mut small), region(&mut av)) }.unwrap_err();
        assert_eq!(e.code(), "ERR_FFI_BUFFER_TOO_SMALL");
        let mut null_av = [std::ptr::null_mut::<c_void>()];
        // SAFETY: as above.
        let e = unsafe { call(&mut c, abs, region(&mut rv), region(&mut null_av)) }.unwrap_err();
        assert_eq!(e.code(), "ERR_FFI_NULL_POINTER");
        // SAFETY: as above.
        let e = unsafe { call(&mut c, 0, region(&mut rv), region(&mut av)) }.unwrap_err();
        assert_eq!(e.code(), "ERR_FFI_NULL_POINTER");
    }

    #[test]
    fn errno_is_what_the_callee_left() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut c: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [ty("pointer"), ty("int32")];
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: locals outlive the call.
        unsafe { prepare(&mut c, sig, ty("int32"), &mut at) }.unwrap();
        let path = c"/nonexistent/ffi-test".as_ptr();
        let mut flags: i32 = libc::O_RDONLY;
        let mut path_ptr = path;
        let mut av = [
            (&mut path_ptr as *mut *const std::os::raw::c_char).cast::<c_void>(),
            (&mut flags as *mut i32).cast(),
        ];
        let mut rv = [0u64; 1];
        let open = libc::open as *const () as usize;
        // SAFETY: open(const char *, int) with a fixed argument list.
        let out = unsafe { call(&mut c, open, region(&mut rv), region(&mut av)) }.unwrap();
        assert_eq!(rv[0] as i32, -1);
        assert_eq!(out.errno, libc::ENOENT);
    }

    fn abs_cif(c: &mut ffi_cif, at: &mut [*mut libffi_sys::ffi_type; 1]) {
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: the caller's locals outlive every use; builtin types.
        unsafe { prepare(c, sig, ty("int32"), at) }.unwrap();
    }

    #[test]
    fn an_owned_call_reads_its_copies_and_writes_its_own_result() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut c: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [ty("int32")];
        abs_cif(&mut c, &mut at);
        let mut arg: i32 = -42;
        let mut av = [(&mut arg as *mut i32).cast::<c_void>()];
        let mut rv = [0u64; 1];
        let abs = libc::abs as *const () as usize;
        // SAFETY: abs is int(int); the locals outlive the call.
        let checked =
            unsafe { check(&mut c, abs, region(&mut rv), region(&mut av), false) }.unwrap();
        // SAFETY: the Buffers are live now.
        let owned = unsafe { checked.to_owned_call() };
        // What the caller does afterwards reaches neither C nor the result.
        // SAFETY: a live local, written through the pointer C would read.
        unsafe { av[0].cast::<i32>().write(-7) };
        av[0] = std::ptr::null_mut();
        // SAFETY: abs is int(int).
        unsafe { owned.perform() };
        assert_eq!(
            i32::from_ne_bytes(owned.result()[..4].try_into().unwrap()),
            42
        );
        assert_eq!(rv[0], 0);
        assert_eq!(arg, -7);
        assert!(av[0].is_null());
    }

    #[test]
    fn a_guarded_repeat_holds_the_result_when_javascript_ran() {
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut c: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at = [ty("int32")];
        abs_cif(&mut c, &mut at);
        let mut arg: i32 = -5;
        let mut av = [(&mut arg as *mut i32).cast::<c_void>()];
        let mut rv = [0u64; 1];
        let abs = libc::abs as *const () as usize;
        // SAFETY: abs is int(int); the locals outlive the calls.
        let checked =
            unsafe { check(&mut c, abs, region(&mut rv), region(&mut av), false) }.unwrap();
        let mut held = None;
        // SAFETY: as above; this thread's errno slot.
        unsafe { checked.repeat_guarded(os::errno_location(), || true, |r| held = Some(r)) }
            .unwrap();
        assert_eq!(rv[0], 0, "rValue untouched when JavaScript ran");
        let held = held.expect("the result was held");
        assert_eq!(i32::from_ne_bytes(held.bytes()[..4].try_into().unwrap()), 5);
        // SAFETY: as above.
        unsafe { checked.repeat_guarded(os::errno_location(), || false, |_| panic!("held")) }
            .unwrap();
        assert_eq!(rv[0] as i32, 5);
    }
}
