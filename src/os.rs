//! The per-thread error slots of the C runtime and the OS: `errno`, and on
//! Windows `GetLastError()`.

use std::os::raw::c_int;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn errno_location() -> *mut c_int {
    // SAFETY: always valid; returns this thread's errno slot.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
pub fn errno_location() -> *mut c_int {
    // SAFETY: always valid; returns this thread's errno slot.
    unsafe { libc::__error() }
}

#[cfg(windows)]
pub fn errno_location() -> *mut c_int {
    extern "C" {
        fn _errno() -> *mut c_int;
    }
    // SAFETY: the CRT's _errno always returns this thread's errno slot.
    unsafe { _errno() }
}

/// A number unique to each live thread, without a thread-local lookup
/// (`pthread_self`, `GetCurrentThreadId`).
#[cfg(unix)]
pub fn thread_id() -> usize {
    // SAFETY: no preconditions; returns the calling thread's handle.
    unsafe { libc::pthread_self() as usize }
}

#[cfg(windows)]
pub fn thread_id() -> usize {
    extern "system" {
        fn GetCurrentThreadId() -> u32;
    }
    // SAFETY: no preconditions; returns the calling thread's id.
    unsafe { GetCurrentThreadId() as usize }
}

pub fn errno() -> i32 {
    // SAFETY: the slot is valid for the life of the thread.
    unsafe { *errno_location() }
}

pub fn set_errno(value: i32) {
    // SAFETY: the slot is valid for the life of the thread.
    unsafe { *errno_location() = value }
}

/// `GetLastError()` on Windows, 0 elsewhere.
pub fn last_error() -> i32 {
    #[cfg(windows)]
    {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }
    #[cfg(not(windows))]
    {
        0
    }
}

pub fn clear_last_error() {
    #[cfg(windows)]
    {
        extern "system" {
            fn SetLastError(code: u32);
        }
        // SAFETY: SetLastError only writes this thread's slot.
        unsafe { SetLastError(0) }
    }
}

/// An address in the caller's current stack frame: where the stack pointer
/// is, give or take that frame.
#[inline(always)]
pub fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The calling thread's stack as `(lowest, highest)` address (stacks grow
/// down on every supported target), or `None` where the system will not say.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read
    // and destroyed once; the out slots are locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size = 0usize;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        (ok && !addr.is_null()).then(|| (addr as usize, addr as usize + size))
    }
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
pub fn stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: no preconditions; both describe the calling thread's stack
    // (the address is its highest end).
    let (top, size) = unsafe {
        let me = libc::pthread_self();
        (
            libc::pthread_get_stackaddr_np(me) as usize,
            libc::pthread_get_stacksize_np(me),
        )
    };
    (top > size).then(|| (top - size, top))
}

#[cfg(windows)]
pub fn stack_bounds() -> Option<(usize, usize)> {
    extern "system" {
        fn GetCurrentThreadStackLimits(low: *mut usize, high: *mut usize);
    }
    let (mut low, mut high) = (0usize, 0usize);
    // SAFETY: writes the calling thread's reserved stack range into locals.
    unsafe { GetCurrentThreadStackLimits(&mut low, &mut high) };
    (high > low).then_some((low, high))
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    windows
)))]
pub fn stack_bounds() -> Option<(usize, usize)> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_frame_is_inside_the_stack() {
        let (low, high) = super::stack_bounds().expect("stack bounds");
        let here = super::stack_position();
        assert!(
            low < here && here < high,
            "{low:#x} < {here:#x} < {high:#x}"
        );
    }
}

/// Set once any thread has asked for an `errno` other than 0 before its
/// next call: until then, a call costs one relaxed load here.
static PRESET_ANY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    static PRESET: std::cell::Cell<Option<c_int>> = const { std::cell::Cell::new(None) };
}

/// Makes the next call on this thread start with `errno` set to `value`
/// (LuaJIT's `ffi.errno(newErrno)`); calls otherwise start with 0.
pub fn preset_errno(value: c_int) {
    PRESET.with(|p| p.set(Some(value)));
    PRESET_ANY.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The `errno` a call starts with: 0, or once what [`preset_errno`] asked.
#[inline(always)]
pub fn errno_before_call() -> c_int {
    if !PRESET_ANY.load(std::sync::atomic::Ordering::Relaxed) {
        return 0;
    }
    PRESET.with(|p| p.take()).unwrap_or(0)
}

#[cfg(test)]
mod preset_tests {
    #[test]
    fn preset_applies_once() {
        assert_eq!(super::errno_before_call(), 0);
        super::preset_errno(42);
        assert_eq!(super::errno_before_call(), 42);
        assert_eq!(super::errno_before_call(), 0);
    }
}
