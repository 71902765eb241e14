//! Bounds and address checks for the pointer helpers, and the reads and
//! writes they make once the checks pass.

use std::mem::size_of;

use crate::error::{Error, Result};

pub const POINTER_SIZE: usize = size_of::<usize>();

/// The largest integer a JavaScript number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A JavaScript number as a byte count or offset: a whole number >= 0.
pub fn to_index(value: f64, what: &dyn Fn() -> String) -> Result<usize> {
    if value.fract() != 0.0 || value < 0.0 || value > MAX_SAFE_INTEGER as f64 {
        return Err(Error::OutOfRange(format!(
            "{}: must be a whole number >= 0, got {value}",
            what()
        )));
    }
    Ok(value as usize)
}

/// Checks that `size` bytes at `offset` fit in a Buffer of `len` bytes.
pub fn check_span(len: usize, offset: usize, size: usize, what: &dyn Fn() -> String) -> Result<()> {
    match offset.checked_add(size) {
        Some(end) if end <= len => Ok(()),
        _ => Err(Error::OutOfRange(format!(
            "{}: {size} bytes at offset {offset} do not fit in a Buffer of {len} bytes",
            what()
        ))),
    }
}

/// A JavaScript number as an address: a whole number in `0..2^64`.
pub fn address_from_number(value: f64, what: &dyn Fn() -> String) -> Result<usize> {
    if value.fract() != 0.0 || value < 0.0 || value >= usize::MAX as f64 {
        return Err(Error::OutOfRange(format!(
            "{}: an address must be a whole number in 0..2^{}, got {value}",
            what(),
            usize::BITS
        )));
    }
    Ok(value as usize)
}

/// A JavaScript bigint (as sign, and 64-bit words lowest first) as an address.
pub fn address_from_bigint(
    negative: bool,
    words: &[u64],
    what: &dyn Fn() -> String,
) -> Result<usize> {
    let high_zero = words.iter().skip(1).all(|&w| w == 0);
    let low = words.first().copied().unwrap_or(0);
    if (negative && low != 0) || !high_zero || usize::try_from(low).is_err() {
        return Err(Error::OutOfRange(format!(
            "{}: an address must be in 0..2^{}",
            what(),
            usize::BITS
        )));
    }
    Ok(low as usize)
}

/// Reads a pointer stored at `at` (any alignment).
///
/// # Safety
/// `at` must have [`POINTER_SIZE`] readable bytes.
pub unsafe fn read_address(at: *const u8) -> usize {
    // SAFETY: the caller vouches for the bytes.
    unsafe { at.cast::<usize>().read_unaligned() }
}

/// Stores a pointer at `at` (any alignment).
///
/// # Safety
/// `at` must have [`POINTER_SIZE`] writable bytes.
pub unsafe fn write_address(at: *mut u8, address: usize) {
    // SAFETY: the caller vouches for the bytes.
    unsafe { at.cast::<usize>().write_unaligned(address) }
}

/// The bytes of a C string at `start`: up to the first NUL, and never past
/// `limit` bytes when a limit is given.
///
/// # Safety
/// With a limit, `start` must have `limit` readable bytes; without one, the
/// memory must hold a NUL-terminated string (the caller's word, as in C).
pub unsafe fn c_string_bytes<'a>(start: *const u8, limit: Option<usize>) -> &'a [u8] {
    match limit {
        // SAFETY: the caller vouches for `n` bytes.
        Some(n) => unsafe {
            let all = std::slice::from_raw_parts(start, n);
            let end = all.iter().position(|&b| b == 0).unwrap_or(n);
            &all[..end]
        },
        // SAFETY: the caller vouches for a NUL-terminated string.
        None => unsafe { std::ffi::CStr::from_ptr(start.cast()).to_bytes() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> String {
        "t".into()
    }

    #[test]
    fn indexes_are_whole_and_non_negative() {
        assert_eq!(to_index(3.0, &w).unwrap(), 3);
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 2f64.powi(60)] {
            assert_eq!(to_index(bad, &w).unwrap_err().code(), "ERR_OUT_OF_RANGE");
        }
    }

    #[test]
    fn spans_must_fit() {
        assert!(check_span(8, 0, 8, &w).is_ok());
        assert!(check_span(8, 1, 8, &w).is_err());
        assert!(check_span(8, usize::MAX, 8, &w).is_err());
    }

    #[test]
    fn addresses_cover_the_whole_range_and_no_more() {
        assert_eq!(address_from_number(4096.0, &w).unwrap(), 4096);
        assert!(address_from_number(-1.0, &w).is_err());
        assert!(address_from_number(1.5, &w).is_err());
        assert!(address_from_number(2f64.powi(64), &w).is_err());
        assert_eq!(
            address_from_bigint(false, &[u64::MAX], &w).unwrap(),
            usize::MAX
        );
        assert!(address_from_bigint(true, &[1], &w).is_err());
        assert!(address_from_bigint(false, &[0, 1], &w).is_err());
        assert_eq!(address_from_bigint(true, &[0], &w).unwrap(), 0);
    }

    #[test]
    fn c_strings_stop_at_nul_or_limit() {
        let s = b"abc\0def";
        // SAFETY: `s` has 7 readable bytes and a NUL.
        unsafe {
            assert_eq!(c_string_bytes(s.as_ptr(), Some(7)), b"abc");
            assert_eq!(c_string_bytes(s.as_ptr().add(4), Some(3)), b"def");
            assert_eq!(c_string_bytes(s.as_ptr(), None), b"abc");
        }
    }
}
