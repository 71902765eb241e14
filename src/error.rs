//! The one error type of the crate, and the one place that says how each
//! variant looks in JavaScript (class, `code`, `errno`).

use std::fmt;

/// The class of the JavaScript error that a variant becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsClass {
    Error,
    TypeError,
    RangeError,
}

/// A libffi `ffi_status` other than `FFI_OK`, named as libffi names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum FfiStatus {
    /// `FFI_BAD_TYPEDEF`: a type libffi cannot lay out.
    BadTypedef,
    /// `FFI_BAD_ABI`: an ABI this libffi does not have.
    BadAbi,
    /// `FFI_BAD_ARGTYPE`: an argument type not allowed there (`void`, an
    /// unpromoted variadic argument).
    BadArgType,
}

impl FfiStatus {
    /// Maps a raw `ffi_status`; `None` for `FFI_OK`.
    pub fn from_raw(status: libffi_sys::ffi_status) -> Option<Self> {
        match status {
            libffi_sys::ffi_status_FFI_OK => None,
            libffi_sys::ffi_status_FFI_BAD_TYPEDEF => Some(Self::BadTypedef),
            libffi_sys::ffi_status_FFI_BAD_ABI => Some(Self::BadAbi),
            // FFI_BAD_ARGTYPE, and anything a future libffi may add.
            _ => Some(Self::BadArgType),
        }
    }

    pub fn raw(self) -> libffi_sys::ffi_status {
        match self {
            Self::BadTypedef => libffi_sys::ffi_status_FFI_BAD_TYPEDEF,
            Self::BadAbi => libffi_sys::ffi_status_FFI_BAD_ABI,
            Self::BadArgType => libffi_sys::ffi_status_FFI_BAD_ARGTYPE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::BadTypedef => "FFI_BAD_TYPEDEF",
            Self::BadAbi => "FFI_BAD_ABI",
            Self::BadArgType => "FFI_BAD_ARGTYPE",
        }
    }
}

/// Everything that can go wrong. Each variant carries the whole message:
/// what was wrong, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A value of the wrong JavaScript type (a number where a Buffer is due).
    InvalidArgType(String),
    /// A value of the right type that is not acceptable (not a type Buffer,
    /// a string with a NUL byte where C wants a name).
    InvalidArgValue(String),
    /// A Buffer passed as `cif` that this module did not prepare.
    InvalidCif(String),
    /// A NULL pointer where C would dereference it.
    NullPointer(String),
    /// A Buffer whose memory C would use was detached (transferred).
    Detached(String),
    /// A number out of its range: offsets, lengths, addresses.
    OutOfRange(String),
    /// A Buffer too small for what C will read or write through it.
    BufferTooSmall(String),
    /// libffi refused a CIF, a struct type or a closure.
    Ffi { status: FfiStatus, message: String },
    /// The system loader could not open a library.
    Dlopen(String),
    /// The system loader has no such symbol.
    Dlsym(String),
    /// The system loader could not close a library (`dlclose` failed).
    Dlclose(String),
    /// A library handle used after `dlclose`.
    ClosedHandle(String),
    /// A Buffer passed as library handle that `dlopen` did not make.
    InvalidHandle(String),
    /// The runtime refuses Buffers over foreign memory (Electron).
    NoExternalBuffers(String),
    /// Another thread waited for this JavaScript thread to run a closure
    /// while it was blocked in a synchronous call; it was given a zeroed
    /// result so that neither waits forever.
    WouldDeadlock(String),
    /// A synchronous call or a closure call refused because this thread's
    /// JavaScript stack is (nearly) used up: too many nested synchronous
    /// calls, or too little stack left to run JavaScript and report errors.
    StackExhausted(String),
    /// A call queued on the thread pool (`callAsync`) was cancelled before
    /// it ran.
    Cancelled(String),
    /// A bug in this module, caught before it could reach C or Node (a
    /// panic): nothing the caller did, and nothing it can fix.
    Internal(String),
}

impl Error {
    pub fn js_class(&self) -> JsClass {
        match self {
            Error::InvalidArgType(_)
            | Error::InvalidArgValue(_)
            | Error::InvalidCif(_)
            | Error::NullPointer(_)
            | Error::Detached(_)
            | Error::InvalidHandle(_) => JsClass::TypeError,
            Error::OutOfRange(_) | Error::BufferTooSmall(_) | Error::StackExhausted(_) => {
                JsClass::RangeError
            }
            Error::Ffi { .. }
            | Error::Dlopen(_)
            | Error::Dlsym(_)
            | Error::Dlclose(_)
            | Error::ClosedHandle(_)
            | Error::NoExternalBuffers(_)
            | Error::WouldDeadlock(_)
            | Error::Cancelled(_)
            | Error::Internal(_) => JsClass::Error,
        }
    }

    /// The `code` property of the JavaScript error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgType(_) => "ERR_INVALID_ARG_TYPE",
            Error::InvalidArgValue(_) => "ERR_INVALID_ARG_VALUE",
            Error::InvalidCif(_) => "ERR_FFI_INVALID_CIF",
            Error::NullPointer(_) => "ERR_FFI_NULL_POINTER",
            Error::Detached(_) => "ERR_FFI_DETACHED",
            Error::OutOfRange(_) => "ERR_OUT_OF_RANGE",
            Error::BufferTooSmall(_) => "ERR_FFI_BUFFER_TOO_SMALL",
            Error::Ffi { status, .. } => status.name(),
            Error::Dlopen(_) => "ERR_FFI_DLOPEN",
            Error::Dlsym(_) => "ERR_FFI_DLSYM",
            Error::Dlclose(_) => "ERR_FFI_DLCLOSE",
            Error::ClosedHandle(_) => "ERR_FFI_CLOSED_HANDLE",
            Error::InvalidHandle(_) => "ERR_FFI_INVALID_HANDLE",
            Error::NoExternalBuffers(_) => "ERR_FFI_NO_EXTERNAL_BUFFERS",
            Error::WouldDeadlock(_) => "ERR_FFI_DEADLOCK",
            Error::StackExhausted(_) => "ERR_FFI_STACK_EXHAUSTED",
            Error::Cancelled(_) => "ERR_FFI_CANCELLED",
            Error::Internal(_) => "ERR_FFI_INTERNAL",
        }
    }

    /// The `errno` property: libffi's status for libffi's refusals.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Ffi { status, .. } => Some(status.raw() as i32),
            _ => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::InvalidArgType(m)
            | Error::InvalidArgValue(m)
            | Error::InvalidCif(m)
            | Error::NullPointer(m)
            | Error::Detached(m)
            | Error::OutOfRange(m)
            | Error::BufferTooSmall(m)
            | Error::Dlopen(m)
            | Error::Dlsym(m)
            | Error::Dlclose(m)
            | Error::ClosedHandle(m)
            | Error::InvalidHandle(m)
            | Error::NoExternalBuffers(m)
            | Error::WouldDeadlock(m)
            | Error::StackExhausted(m)
            | Error::Cancelled(m)
            | Error::Internal(m) => m,
            Error::Ffi { message, .. } => message,
        }
    }

    /// Rebuilds an error from its code, for the few checks that only the
    /// JavaScript side can make (object identity); `None` for an unknown code.
    pub fn from_code(code: &str, message: String) -> Option<Error> {
        Some(match code {
            "ERR_INVALID_ARG_TYPE" => Error::InvalidArgType(message),
            "ERR_INVALID_ARG_VALUE" => Error::InvalidArgValue(message),
            "ERR_FFI_INVALID_CIF" => Error::InvalidCif(message),
            "ERR_FFI_NULL_POINTER" => Error::NullPointer(message),
            "ERR_FFI_DETACHED" => Error::Detached(message),
            "ERR_OUT_OF_RANGE" => Error::OutOfRange(message),
            "ERR_FFI_BUFFER_TOO_SMALL" => Error::BufferTooSmall(message),
            "ERR_FFI_CLOSED_HANDLE" => Error::ClosedHandle(message),
            "ERR_FFI_INVALID_HANDLE" => Error::InvalidHandle(message),
            "ERR_FFI_NO_EXTERNAL_BUFFERS" => Error::NoExternalBuffers(message),
            _ => return None,
        })
    }

    /// A libffi refusal, with the status named in the message.
    pub fn ffi(status: FfiStatus, context: impl fmt::Display) -> Error {
        Error::Ffi {
            status,
            message: format!("{context}: libffi returned {}", status.name()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffi_status_round_trips() {
        for s in [
            FfiStatus::BadTypedef,
            FfiStatus::BadAbi,
            FfiStatus::BadArgType,
        ] {
            assert_eq!(FfiStatus::from_raw(s.raw()), Some(s));
            let e = Error::ffi(s, "ffi.CIF");
            assert_eq!(e.code(), s.name());
            assert_eq!(e.errno(), Some(s.raw() as i32));
            assert!(e.message().starts_with("ffi.CIF: "));
        }
        assert_eq!(FfiStatus::from_raw(libffi_sys::ffi_status_FFI_OK), None);
    }

    #[test]
    fn each_failure_has_its_own_code() {
        let cases = [
            (Error::Dlopen("x".into()), "ERR_FFI_DLOPEN"),
            (Error::Dlclose("x".into()), "ERR_FFI_DLCLOSE"),
            (Error::Cancelled("x".into()), "ERR_FFI_CANCELLED"),
            (Error::Internal("x".into()), "ERR_FFI_INTERNAL"),
            (Error::InvalidCif("x".into()), "ERR_FFI_INVALID_CIF"),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code);
            assert_eq!(e.message(), "x");
        }
        assert_eq!(Error::Internal(String::new()).js_class(), JsClass::Error);
    }

    #[test]
    fn codes_rebuild_the_same_class() {
        let e = Error::from_code("ERR_FFI_INVALID_CIF", "x".into()).unwrap();
        assert_eq!(e.js_class(), JsClass::TypeError);
        assert_eq!(e.code(), "ERR_FFI_INVALID_CIF");
        assert!(Error::from_code("nope", String::new()).is_none());
    }
}
