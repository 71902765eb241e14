//! A closure whose function runs on one thread, its owner, over memory of
//! its own: a frame per reentrancy depth (rValue, aValues and args back to
//! back), reused by every call at that depth, so that the function sees
//! the same Buffers call after call and a call costs no allocation.
//!
//! [`FrameHandler`] is the closure's [`Handler`]: on the owner thread it
//! takes the next depth's frame, zeroes its rValue, copies the arguments
//! in (straight from the registers where C came through a compiled-in
//! entry), has the [`Function`] run, and copies rValue back to C; from any
//! other thread it queues the call for the owner ([`super::dispatch`]).
//! C gets zeroes from a closure that was freed, whose environment ended,
//! or whose function threw. The N-API layer implements [`Function`] over
//! index.js's dispatcher; the tests over plain Rust.

use std::cell::UnsafeCell;
use std::os::raw::{c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libffi_sys::{ffi_arg, ffi_cif};

use super::dispatch::{self, JsThread};
use super::Handler;
use crate::arch::entry::{Regs, Shape};

/// The memory of one frame (or of a closure's depth cell), zeroed and
/// 16-aligned. Shared: every Buffer made over it holds its own reference,
/// so the memory outlives each of them wherever they go (a transferred
/// ArrayBuffer included): nothing here can be freed under a view of it.
pub struct FrameMem {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

// SAFETY: plain memory; who writes it when is ordered by the closure
// protocol (native code before and after the function's call, the function
// during it, all on the owner thread).
unsafe impl Send for FrameMem {}
// SAFETY: as above.
unsafe impl Sync for FrameMem {}

impl FrameMem {
    /// `len` zeroed bytes, 16 at least (room for a depth cell).
    pub fn new(len: usize) -> Arc<FrameMem> {
        let layout = std::alloc::Layout::from_size_align(len.max(16), 16)
            .expect("a frame is a few hundred bytes at most");
        // SAFETY: a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Arc::new(FrameMem { ptr, layout })
    }

    /// The address `offset` bytes in.
    pub fn at(&self, offset: usize) -> *mut u8 {
        debug_assert!(offset <= self.layout.size());
        // SAFETY: offsets come from the closure's layout, within the
        // allocation.
        unsafe { self.ptr.as_ptr().add(offset) }
    }
}

impl Drop for FrameMem {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Where a closure's frame keeps what: rValue at 0, aValues (a pointer per
/// argument) at `a_offset`, args (each argument's value, at a multiple of
/// 8 bytes) at `v_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes of rValue: the return type, at least an ffi_arg (libffi widens
    /// small integer returns to a whole register).
    pub rsize: usize,
    /// Bytes copied back to C: 0 for void.
    pub ret_bytes: usize,
    pub nargs: usize,
    /// Bytes of args.
    pub values_size: usize,
    pub a_offset: usize,
    pub v_offset: usize,
    /// Bytes of a frame.
    pub frame_len: usize,
}

impl Layout {
    /// The layout for a return value of `ret_bytes` (0 for void) and
    /// arguments of `arg_sizes`, with where each argument's value goes in
    /// args and its size.
    pub fn new(ret_bytes: usize, arg_sizes: &[usize]) -> (Layout, Vec<(usize, usize)>) {
        let mut args = Vec::with_capacity(arg_sizes.len());
        let mut values_size = 0;
        for &size in arg_sizes {
            args.push((values_size, size));
            values_size += size.next_multiple_of(8);
        }
        let rsize = ret_bytes.max(size_of::<ffi_arg>());
        let a_offset = rsize.next_multiple_of(16);
        // aValues: a pointer per argument.
        let v_offset = a_offset + arg_sizes.len() * size_of::<*mut c_void>();
        let layout = Layout {
            rsize,
            ret_bytes,
            nargs: arg_sizes.len(),
            values_size,
            a_offset,
            v_offset,
            frame_len: v_offset + values_size,
        };
        (layout, args)
    }

    /// The layout for a closure of `cif`'s signature (see [`Layout::new`]).
    ///
    /// # Safety
    /// `cif` is a prepared CIF with live types.
    pub unsafe fn of_cif(cif: *const ffi_cif) -> (Layout, Vec<(usize, usize)>) {
        // SAFETY: the caller's word.
        let needs = unsafe { crate::cif::needs(cif) };
        let sizes: Vec<usize> = (0..needs.nargs)
            // SAFETY: a prepared CIF has nargs live argument types.
            .map(|i| unsafe { (**(*cif).arg_types.add(i)).size })
            .collect();
        Layout::new(needs.rvalue, &sizes)
    }
}

/// The function behind a [`FrameHandler`]: what runs a call whose values
/// are in a frame, and the thread it runs on as other threads see it.
/// Every method but [`Function::thread`] is called on the owner thread only.
pub trait Function: Send + Sync + Sized + 'static {
    type Thread: JsThread + ?Sized;

    /// The owner thread, to queue calls from other threads on.
    fn thread(&self) -> &Self::Thread;

    /// Whether its environment is alive: no call runs once it is not.
    fn alive(&self) -> bool;

    /// Runs the function for `closure`'s innermost call (its depth is in
    /// the closure's cell, its values in that depth's frame, its rValue
    /// zeroed): true if it returned, false if it threw or could not run (C
    /// then gets zeroes). It may call the closure again.
    ///
    /// # Safety
    /// On the owner thread.
    unsafe fn call(&self, closure: &FrameHandler<Self>) -> bool;

    /// Lets go of the function: once, on the owner thread, with no call in
    /// progress there.
    ///
    /// # Safety
    /// On the owner thread.
    unsafe fn release(&self);
}

/// What only the owner thread touches.
struct FrameState {
    frames: Vec<Arc<FrameMem>>,
    /// Where each argument's value goes in args, and its size.
    args: Vec<(usize, usize)>,
    /// Keeps the memory of [`FrameHandler::cell`] until the closure is
    /// released.
    cell: Option<Arc<FrameMem>>,
    depth: usize,
    release_when_idle: bool,
    released: bool,
}

/// A closure's [`Handler`] over per-depth frames (see the module docs).
pub struct FrameHandler<F: Function> {
    /// The owner thread's [`crate::os::thread_id`]: cheaper to compare on
    /// every call than a thread-local's address.
    owner_id: usize,
    /// The owner thread's errno slot.
    owner_errno: *mut c_int,
    layout: Layout,
    /// Where each call writes its depth for the function, before it runs:
    /// memory that `state.cell` keeps while the closure is not released.
    cell: *mut i32,
    freed: AtomicBool,
    state: UnsafeCell<FrameState>,
    function: F,
}

// SAFETY: `state` is only used on the owner thread (checked by thread id
// before every use, or the caller's word); the rest is atomic, immutable,
// or Send + Sync (`function`).
unsafe impl<F: Function> Send for FrameHandler<F> {}
// SAFETY: as above.
unsafe impl<F: Function> Sync for FrameHandler<F> {}

impl<F: Function> FrameHandler<F> {
    /// A handler owned by this thread, laid out as `layout` and `args`
    /// say (from [`Layout::new`]), writing each call's depth into `cell`.
    pub fn new(
        layout: Layout,
        args: Vec<(usize, usize)>,
        cell: Arc<FrameMem>,
        function: F,
    ) -> FrameHandler<F> {
        FrameHandler {
            owner_id: crate::os::thread_id(),
            owner_errno: crate::os::errno_location(),
            layout,
            // FrameMem has 16 bytes at least, 16-aligned.
            cell: cell.at(0).cast(),
            freed: AtomicBool::new(false),
            state: UnsafeCell::new(FrameState {
                frames: Vec::new(),
                args,
                cell: Some(cell),
                depth: 0,
                release_when_idle: false,
                released: false,
            }),
            function,
        }
    }

    pub fn function(&self) -> &F {
        &self.function
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// How many calls are in progress on the owner thread.
    ///
    /// # Safety
    /// On the owner thread.
    pub unsafe fn depth(&self) -> usize {
        // SAFETY: owner thread (caller's word).
        unsafe { (*self.state.get()).depth }
    }

    /// The frame of the call in progress at `depth`, or (None) of the
    /// innermost one; None if there is no such call.
    ///
    /// # Safety
    /// On the owner thread.
    pub unsafe fn frame(&self, depth: Option<usize>) -> Option<Arc<FrameMem>> {
        // SAFETY: owner thread (caller's word); no call into the function
        // while this reference lives.
        let state = unsafe { &*self.state.get() };
        let depth = depth.unwrap_or(state.depth.wrapping_sub(1));
        state
            .frames
            .get(depth)
            .filter(|_| depth < state.depth)
            .cloned()
    }

    /// Frees the closure's function: every call from now on gets zeroes
    /// (see [`FrameHandler::release`]). A second time does nothing.
    ///
    /// # Safety
    /// On the owner thread.
    pub unsafe fn free(&self) {
        self.freed.store(true, Ordering::Release);
        // SAFETY: owner thread (caller's word).
        unsafe { self.release() }
    }

    /// Lets go of the function and the frames, at once or, while a call is
    /// in progress on the owner thread, when the last one returns. Calls
    /// that find it released get zeroes; a second time does nothing.
    ///
    /// # Safety
    /// On the owner thread.
    pub unsafe fn release(&self) {
        // SAFETY: owner thread (caller's word); no call into the function
        // while this reference lives.
        let state = unsafe { &mut *self.state.get() };
        if state.released {
            return;
        }
        if state.depth > 0 {
            state.release_when_idle = true;
            return;
        }
        state.released = true;
        // Buffers made over the frames (and the cell) keep their own
        // references. No call reads these from here on (they stop at
        // `released`): a closure kept for an ended environment keeps none
        // of them.
        state.frames = Vec::new();
        state.args = Vec::new();
        state.cell = None;
        // SAFETY: owner thread, no call in progress, once.
        unsafe { self.function.release() };
    }

    /// Zeroes C's return value: what C receives when the function could not
    /// run. Reads the handler's own sizes, not the closure's CIF, which a
    /// free may have dropped while a call from another thread waited.
    ///
    /// # Safety
    /// `ret` has room for this closure's return value.
    unsafe fn zero_return(&self, ret: *mut c_void) {
        if self.layout.ret_bytes > 0 && !ret.is_null() {
            // SAFETY: ret_bytes of room (caller's word).
            unsafe { ptr::write_bytes(ret.cast::<u8>(), 0, self.layout.ret_bytes) }
        }
    }

    /// Runs the function on the owner thread for a call laid out by libffi.
    ///
    /// # Safety
    /// On the owner thread, with libffi's `ret` and `args` for this call.
    pub unsafe fn run_here(&self, ret: *mut c_void, args: *mut *mut c_void) {
        let fill = |vptr: *mut u8, aptr: *mut *mut u8| {
            // SAFETY: owner thread (caller's word), and no call into the
            // function while this reference lives.
            let layout = unsafe { &(*self.state.get()).args };
            for (i, &(offset, size)) in layout.iter().enumerate() {
                // SAFETY: `args` holds nargs pointers, each to a value of the
                // size in `layout` (libffi's word); the frame has room for
                // each at its offset, 8-aligned. Fixed-size copies, not calls
                // to memcpy.
                unsafe {
                    let (from, to) = ((*args.add(i)).cast::<u8>(), vptr.add(offset));
                    match size {
                        8 => to.cast::<u64>().write(from.cast::<u64>().read_unaligned()),
                        4 => to.cast::<u32>().write(from.cast::<u32>().read_unaligned()),
                        1 => to.write(from.read()),
                        2 => to.cast::<u16>().write(from.cast::<u16>().read_unaligned()),
                        _ => ptr::copy_nonoverlapping(from, to, size),
                    }
                    aptr.add(i).write(to);
                }
            }
        };
        let ret_bytes = self.layout.ret_bytes;
        let done = |rptr: Option<*const u8>| {
            // SAFETY: `ret` has ret_bytes of room (libffi's word); rptr has
            // rsize >= ret_bytes.
            unsafe {
                match rptr {
                    Some(r) if ret_bytes == 8 => {
                        ret.cast::<u64>().write_unaligned(r.cast::<u64>().read())
                    }
                    Some(r) => ptr::copy_nonoverlapping(r, ret.cast::<u8>(), ret_bytes),
                    None => self.zero_return(ret),
                }
            }
        };
        // SAFETY: the owner thread (caller's word).
        unsafe { self.run_frame(fill, done) }
    }

    /// Runs the function on the owner thread for a call through a
    /// compiled-in entry: the values straight from the registers, the
    /// result as the return register's bits.
    ///
    /// # Safety
    /// On the owner thread; `shape` is this closure's.
    unsafe fn run_regs(&self, shape: &Shape, regs: &Regs) -> u64 {
        let fill = |vptr: *mut u8, aptr: *mut *mut u8| {
            // SAFETY: owner thread (caller's word), and no call into the
            // function while this reference lives.
            let layout = unsafe { &(*self.state.get()).args };
            for (i, &(offset, size)) in layout.iter().enumerate() {
                // Scalars only: 1 to 8 bytes, from the low bytes of their
                // register (little-endian), the rest of the slot zeroed.
                let bits = regs[usize::from(shape.arg_reg[i])] & (u64::MAX >> (64 - 8 * size));
                // SAFETY: the frame has an 8-aligned slot of 8 bytes at least
                // for each argument; nargs pointers at aptr.
                unsafe {
                    let to = vptr.add(offset);
                    to.cast::<u64>().write(bits);
                    aptr.add(i).write(to);
                }
            }
        };
        // SAFETY: rsize >= 8 bytes at rptr.
        let done = |rptr: Option<*const u8>| rptr.map_or(0, |r| unsafe { r.cast::<u64>().read() });
        // SAFETY: the owner thread (caller's word).
        unsafe { self.run_frame(fill, done) }
    }

    /// One call on the owner thread: takes the frame of the next depth,
    /// zeroes its rValue, lets `fill` write the values into args and their
    /// addresses into aValues, runs the function, and hands `done` the
    /// frame's rValue (None if the function threw or could not run: C gets
    /// zeroes).
    ///
    /// # Safety
    /// On the owner thread.
    #[inline(always)]
    unsafe fn run_frame<R>(
        &self,
        fill: impl FnOnce(*mut u8, *mut *mut u8),
        done: impl FnOnce(Option<*const u8>) -> R,
    ) -> R {
        // SAFETY: owner thread: the only thread that touches `state`. No
        // reference is held across the function's call, which may re-enter
        // this closure.
        let state = self.state.get();
        // SAFETY: as above.
        let usable = self.function.alive() && unsafe { !(*state).released };
        if !usable {
            return done(None);
        }
        // SAFETY: as above.
        let frame = unsafe {
            let depth = (*state).depth;
            if depth == (*state).frames.len() {
                (*state).frames.push(FrameMem::new(self.layout.frame_len));
            }
            // The cell has 4 bytes, 16-aligned; read by the function before
            // anything can call this closure again.
            self.cell.write(depth as i32);
            (*state).depth += 1;
            // No reference counted per call: the frames stay while the
            // depth is above 0 (release waits for it).
            &*Arc::as_ptr(&(&(*state).frames)[depth])
        };
        let (rptr, aptr, vptr) = (
            frame.at(0),
            frame.at(self.layout.a_offset).cast::<*mut u8>(),
            frame.at(self.layout.v_offset),
        );
        // SAFETY: the frame has rsize bytes at 0 and at least 16 before
        // a_offset.
        unsafe {
            if self.layout.rsize <= 16 {
                rptr.cast::<[u64; 2]>().write([0; 2]);
            } else {
                ptr::write_bytes(rptr, 0, self.layout.rsize);
            }
        }
        fill(vptr, aptr);
        // SAFETY: owner thread (caller's word).
        let ok = unsafe { self.function.call(self) };
        // The frame stays in `frames` until the depth drops, whatever the
        // function did with its Buffers.
        let r = done(ok.then_some(rptr.cast_const()));
        // SAFETY: owner thread, as above.
        unsafe {
            (*state).depth -= 1;
            if (*state).depth == 0 && (*state).release_when_idle {
                self.release();
            }
        }
        r
    }
}

impl<F: Function> Handler for FrameHandler<F> {
    /// On the owner thread a call cannot outlive the handler: whoever holds
    /// the closure keeps the handler while a call is in progress there
    /// ([`FrameHandler::depth`] tells).
    fn pinned_on_this_thread(&self) -> bool {
        crate::os::thread_id() == self.owner_id
    }

    /// On the owner thread, straight from the registers into the frame;
    /// from any other thread, the general path.
    unsafe fn call_regs(&self, shape: &Shape, regs: &Regs) -> Option<u64> {
        if crate::os::thread_id() != self.owner_id {
            return None;
        }
        // The owner thread's errno slot, known since the closure was made:
        // no call to the C library for it.
        // SAFETY: the owner thread's slot, valid while it runs.
        let errno = unsafe { self.owner_errno.read() };
        let bits = if self.freed.load(Ordering::Acquire) {
            0
        } else {
            // SAFETY: the owner thread, just checked; this closure's shape.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                self.run_regs(shape, regs)
            }))
            .unwrap_or(0)
        };
        // SAFETY: as above.
        unsafe { self.owner_errno.write(errno) };
        Some(bits)
    }

    unsafe fn call(&self, _cif: *const ffi_cif, ret: *mut c_void, args: *mut *mut c_void) {
        if self.freed.load(Ordering::Acquire) {
            // SAFETY: libffi's ret for this CIF.
            return unsafe { self.zero_return(ret) };
        }
        // SAFETY: libffi's ret and args for this call; from another thread,
        // the trampoline holds this handler for the call (it is not pinned
        // there).
        unsafe {
            if crate::os::thread_id() == self.owner_id {
                self.run_here(ret, args)
            } else {
                dispatch::call(
                    self.function.thread(),
                    self,
                    ret,
                    args,
                    self.layout.ret_bytes,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! A fake function behind real closures, called from C as a library
    //! would: through a compiled-in entry where one is free (the register
    //! path), and through libffi.

    use super::*;
    use crate::cif::{prepare, OwnedCif, Signature};
    use crate::closure::dispatch::Request;
    use crate::closure::Closure;
    use std::sync::atomic::{AtomicU64, AtomicUsize};
    use std::sync::{mpsc, Mutex};

    /// What the fake function does with a call: reads the frame through
    /// the closure, as index.js's dispatcher does through its Buffers.
    type Body = dyn Fn(&FrameHandler<Fake>, &Fake) -> bool + Send + Sync;

    /// The fake JavaScript side: a thread with a queue, and a body.
    struct Fake {
        body: Box<Body>,
        alive: AtomicBool,
        queue: Mutex<mpsc::Sender<usize>>,
        calls: AtomicUsize,
        releases: AtomicUsize,
        /// The closure's code, for bodies that call it again.
        code: AtomicUsize,
        /// What the bodies saw: (depth, frame address) per call.
        seen: Mutex<Vec<(usize, usize)>>,
    }

    impl JsThread for Fake {
        fn enqueue(&self, request: *mut c_void) -> bool {
            self.alive.load(Ordering::SeqCst)
                && self.queue.lock().unwrap().send(request as usize).is_ok()
        }
        fn answers_remote(&self) -> bool {
            self.alive.load(Ordering::SeqCst)
        }
        fn ending(&self) -> bool {
            false
        }
        fn blocked_epoch(&self) -> Option<u64> {
            None
        }
        fn mark_abandoned(&self, _epoch: u64) {}
    }

    impl Function for Fake {
        type Thread = Fake;
        fn thread(&self) -> &Fake {
            self
        }
        fn alive(&self) -> bool {
            self.alive.load(Ordering::SeqCst)
        }
        unsafe fn call(&self, closure: &FrameHandler<Fake>) -> bool {
            self.calls.fetch_add(1, Ordering::SeqCst);
            // SAFETY: the owner thread (caller's word); the cell holds this
            // call's depth, as the function reads it.
            let depth = unsafe { closure.cell.read() } as usize;
            // SAFETY: as above.
            let frame = unsafe { closure.frame(Some(depth)) }.expect("this call's frame");
            // SAFETY: as above.
            let in_progress = unsafe { closure.depth() };
            assert_eq!(depth + 1, in_progress, "the innermost call");
            self.seen
                .lock()
                .unwrap()
                .push((depth, frame.at(0) as usize));
            (self.body)(closure, self)
        }
        unsafe fn release(&self) {
            self.releases.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A closure of `ret (args...)` over a fake with `body`, through a
    /// compiled-in entry or (`libffi`) through libffi, and the fake's queue.
    fn closure(
        ret: &str,
        args: &[&str],
        libffi: bool,
        body: impl Fn(&FrameHandler<Fake>, &Fake) -> bool + Send + Sync + 'static,
    ) -> (
        Closure<FrameHandler<Fake>>,
        Arc<FrameHandler<Fake>>,
        mpsc::Receiver<usize>,
    ) {
        let ty = |n: &str| crate::types::builtin(n).expect("a builtin type");
        // SAFETY: zeroed is a valid ffi_cif to overwrite.
        let mut cif: ffi_cif = unsafe { std::mem::zeroed() };
        let mut at: Vec<_> = args.iter().map(|a| ty(a)).collect();
        let sig = Signature {
            abi: crate::abi::DEFAULT,
            nfixed: None,
        };
        // SAFETY: builtin types; copied before `at` goes.
        let owned = unsafe {
            prepare(&mut cif, sig, ty(ret), &mut at).unwrap();
            OwnedCif::copy_of(&cif)
        };
        // SAFETY: the closure's own prepared copy.
        let (layout, offsets) = unsafe { Layout::of_cif(owned.as_ptr()) };
        let (tx, rx) = mpsc::channel();
        let fake = Fake {
            body: Box::new(body),
            alive: AtomicBool::new(true),
            queue: Mutex::new(tx),
            calls: AtomicUsize::new(0),
            releases: AtomicUsize::new(0),
            code: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        };
        let handler = Arc::new(FrameHandler::new(layout, offsets, FrameMem::new(4), fake));
        let keep_free = if libffi { crate::arch::entry::SLOTS } else { 0 };
        let c = Closure::new_leaving(owned, false, handler.clone(), keep_free).unwrap();
        handler.function().code.store(c.code(), Ordering::SeqCst);
        (c, handler, rx)
    }

    /// The innermost call's arguments as the function sees them: aValues'
    /// pointers, which point into args.
    ///
    /// # Safety
    /// During a call, on the owner thread.
    unsafe fn arg<T: Copy>(h: &FrameHandler<Fake>, i: usize) -> T {
        // SAFETY: the caller's word; aValues has nargs pointers, each to a
        // value of its argument's type.
        unsafe {
            let frame = h.frame(None).unwrap();
            let avalues = frame.at(h.layout().a_offset).cast::<*const T>();
            avalues.add(i).read().read()
        }
    }

    /// Writes the innermost call's rValue.
    ///
    /// # Safety
    /// During a call, on the owner thread; `T` fits rValue.
    unsafe fn set_ret<T>(h: &FrameHandler<Fake>, value: T) {
        // SAFETY: the caller's word; rValue is 16-aligned.
        unsafe { h.frame(None).unwrap().at(0).cast::<T>().write(value) }
    }

    type IntInt = unsafe extern "C" fn(i32) -> i32;

    fn both(test: impl Fn(bool)) {
        test(false);
        test(true);
    }

    #[test]
    fn the_layout_puts_avalues_and_args_after_rvalue() {
        let (l, args) = Layout::new(1, &[1, 8, 2, 4, 24]);
        assert_eq!(l.rsize, size_of::<ffi_arg>(), "small returns are widened");
        assert_eq!(l.a_offset, 16);
        assert_eq!(l.v_offset, 16 + 5 * size_of::<usize>());
        assert_eq!(args, [(0, 1), (8, 8), (16, 2), (24, 4), (32, 24)]);
        assert_eq!(l.values_size, 56);
        assert_eq!(l.frame_len, l.v_offset + 56);
        let (l, args) = Layout::new(0, &[]);
        assert_eq!(
            (l.ret_bytes, l.rsize, l.a_offset, l.frame_len),
            (0, 8, 16, 16)
        );
        assert!(args.is_empty());
        // A large return moves aValues past it, still 16-aligned.
        assert_eq!(Layout::new(40, &[8]).0.a_offset, 48);
    }

    #[test]
    fn arguments_reach_args_and_avalues_points_at_them() {
        both(|libffi| {
            let (c, h, _rx) = closure(
                "double",
                &["int8", "double", "uint16", "float", "int64"],
                libffi,
                |h, _| {
                    // SAFETY: during the call, on its thread, for these types.
                    unsafe {
                        let frame = h.frame(None).unwrap();
                        let l = h.layout();
                        let avalues = frame.at(l.a_offset).cast::<*mut u8>();
                        for (i, off) in [0, 8, 16, 24, 32].into_iter().enumerate() {
                            assert_eq!(*avalues.add(i), frame.at(l.v_offset + off));
                        }
                        let v = arg::<i8>(h, 0) as f64
                            + 2.0 * arg::<f64>(h, 1)
                            + 3.0 * f64::from(arg::<u16>(h, 2))
                            + 4.0 * f64::from(arg::<f32>(h, 3))
                            + 5.0 * arg::<i64>(h, 4) as f64;
                        set_ret(h, v);
                    }
                    true
                },
            );
            type F = unsafe extern "C" fn(i8, f64, u16, f32, i64) -> f64;
            // SAFETY: the closure has this signature.
            let f: F = unsafe { std::mem::transmute(c.code()) };
            // SAFETY: as above.
            let r = unsafe { f(-3, 0.5, 65535, -2.5, 1 << 40) };
            let want = -3.0 + 1.0 + 3.0 * 65535.0 - 10.0 + 5.0 * (1u64 << 40) as f64;
            assert_eq!(r, want);
            assert_eq!(h.function().calls.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn rvalue_starts_zeroed_for_every_call() {
        both(|libffi| {
            let (c, _h, _rx) = closure("int64", &["int32"], libffi, |h, _| {
                // SAFETY: during the call, on its thread; rValue has 8 bytes.
                unsafe {
                    let r = h.frame(None).unwrap().at(0).cast::<i64>();
                    assert_eq!(r.read(), 0, "the last call's result is gone");
                    if arg::<i32>(h, 0) != 0 {
                        r.write(-1);
                    }
                }
                true
            });
            type F = unsafe extern "C" fn(i32) -> i64;
            // SAFETY: int64 (int32).
            let f: F = unsafe { std::mem::transmute(c.code()) };
            // SAFETY: as above.
            unsafe {
                assert_eq!(f(1), -1);
                assert_eq!(f(1), -1);
                assert_eq!(f(0), 0, "a function that writes nothing returns zero");
            }
        });
    }

    #[test]
    fn a_call_made_during_a_call_gets_the_next_depths_frame() {
        both(|libffi| {
            let (c, h, _rx) = closure("int32", &["int32"], libffi, |h, fake| {
                // SAFETY: during the call, on its thread; the closure's code
                // is int (int).
                unsafe {
                    let n = arg::<i32>(h, 0);
                    let r = if n == 0 {
                        0
                    } else {
                        let f: IntInt = std::mem::transmute(fake.code.load(Ordering::SeqCst));
                        // Calls itself again: the next depth.
                        f(n - 1) + 10
                    };
                    // This call's frame is intact after the inner ones.
                    assert_eq!(arg::<i32>(h, 0), n);
                    set_ret(h, r + n);
                }
                true
            });
            // SAFETY: int (int).
            let f: IntInt = unsafe { std::mem::transmute(c.code()) };
            // SAFETY: as above.
            assert_eq!(unsafe { f(3) }, 3 + 10 + 2 + 10 + 1 + 10);
            let seen = std::mem::take(&mut *h.function().seen.lock().unwrap());
            let depths: Vec<_> = seen.iter().map(|s| s.0).collect();
            assert_eq!(depths, [0, 1, 2, 3]);
            let mut frames: Vec<_> = seen.iter().map(|s| s.1).collect();
            frames.dedup();
            assert_eq!(frames.len(), 4, "one frame per depth");
            // SAFETY: the owner thread.
            unsafe {
                assert_eq!(h.depth(), 0);
                assert!(h.frame(None).is_none(), "no call in progress");
            }
            // The frames are kept and reused.
            // SAFETY: int (int).
            assert_eq!(unsafe { f(1) }, 1 + 10);
            let again = h.function().seen.lock().unwrap().clone();
            assert_eq!(again, [(0, seen[0].1), (1, seen[1].1)]);
        });
    }

    #[test]
    fn a_closure_freed_during_its_call_is_released_when_the_call_returns() {
        both(|libffi| {
            let (c, h, _rx) = closure("int32", &["int32"], libffi, |h, fake| {
                // SAFETY: during the call, on its thread.
                unsafe {
                    h.free();
                    assert_eq!(
                        fake.releases.load(Ordering::SeqCst),
                        0,
                        "not during the call"
                    );
                    set_ret(h, arg::<i32>(h, 0) + 1);
                }
                true
            });
            // SAFETY: int (int).
            let f: IntInt = unsafe { std::mem::transmute(c.code()) };
            // SAFETY: as above.
            assert_eq!(unsafe { f(41) }, 42, "the call in progress completes");
            assert_eq!(h.function().releases.load(Ordering::SeqCst), 1);
            // From now on C gets zero, and the function is not called; C's
            // errno is kept all the same.
            crate::os::set_errno(33);
            // SAFETY: as above.
            assert_eq!(unsafe { f(41) }, 0);
            assert_eq!(crate::os::errno(), 33);
            assert_eq!(h.function().calls.load(Ordering::SeqCst), 1);
            // Freeing again does nothing.
            // SAFETY: the owner thread.
            unsafe { h.free() };
            assert_eq!(h.function().releases.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn a_freed_closure_answers_zero() {
        both(|libffi| {
            let (c, h, _rx) = closure("double", &["double"], libffi, |h, _| {
                // SAFETY: during the call, on its thread.
                unsafe { set_ret(h, arg::<f64>(h, 0) * 2.0) };
                true
            });
            // SAFETY: double (double).
            let f: unsafe extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(c.code()) };
            // SAFETY: as above.
            assert_eq!(unsafe { f(1.5) }, 3.0);
            // SAFETY: the owner thread, no call in progress.
            unsafe { h.free() };
            assert_eq!(h.function().releases.load(Ordering::SeqCst), 1, "at once");
            // SAFETY: as above.
            assert_eq!(unsafe { f(1.5) }, 0.0);
            assert_eq!(h.function().calls.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn an_ended_environment_or_a_throwing_function_answers_zero() {
        both(|libffi| {
            let (c, h, _rx) = closure("int32", &["int32"], libffi, |h, _| {
                // SAFETY: during the call, on its thread.
                unsafe { set_ret(h, 7i32) };
                // Even with rValue written, a throw gives C zero.
                // SAFETY: as above.
                unsafe { arg::<i32>(h, 0) != 0 }
            });
            // SAFETY: int (int).
            let f: IntInt = unsafe { std::mem::transmute(c.code()) };
            // SAFETY: as above.
            unsafe {
                assert_eq!(f(1), 7);
                assert_eq!(f(0), 0, "threw");
                h.function().alive.store(false, Ordering::SeqCst);
                assert_eq!(f(1), 0, "no environment");
            }
            assert_eq!(h.function().calls.load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn a_call_from_another_thread_runs_in_a_frame_on_the_owner() {
        both(|libffi| {
            let (c, h, rx) = closure("int32", &["int32"], libffi, |h, _| {
                // SAFETY: during the call, on its thread.
                unsafe { set_ret(h, arg::<i32>(h, 0) * 3) };
                true
            });
            let code = c.code();
            let owner = crate::os::thread_id();
            let seen = Arc::new(AtomicU64::new(0));
            let caller = std::thread::spawn(move || {
                // SAFETY: int (int); the closure outlives the join below.
                let f: IntInt = unsafe { std::mem::transmute(code) };
                // SAFETY: as above.
                unsafe { f(14) }
            });
            let raw = rx.recv().unwrap();
            // SAFETY: queued for a FrameHandler<Fake>, taken once, on the
            // owner thread (this one) that plays the JavaScript thread.
            unsafe {
                let req = Request::<FrameHandler<Fake>>::from_raw(raw as *mut c_void);
                req.run(|h, ret, args| {
                    assert_eq!(crate::os::thread_id(), owner);
                    seen.store(1, Ordering::SeqCst);
                    h.run_here(ret, args)
                });
            }
            assert_eq!(caller.join().unwrap(), 42);
            assert_eq!(seen.load(Ordering::SeqCst), 1);
            assert_eq!(h.function().calls.load(Ordering::SeqCst), 1);
        });
    }
}
