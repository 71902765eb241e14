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
