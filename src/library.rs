//! `dlopen`/`dlsym`/`dlclose` with a last error per handle (C's `dlerror`
//! is per thread, so two handles would overwrite each other's) and a closed
//! state that turns use-after-close into an error instead of a crash.

use std::os::raw::c_void;

use crate::error::{Error, Result};

#[cfg(unix)]
use libloading::os::unix::Library as RawLibrary;
#[cfg(windows)]
use libloading::os::windows::Library as RawLibrary;

/// The file name suffix of shared libraries here.
pub const EXTENSION: &str = if cfg!(target_os = "macos") {
    ".dylib"
} else if cfg!(windows) {
    ".dll"
} else {
    ".so"
};

/// The `RTLD_*` flags the platform has.
pub fn rtld_flags() -> Vec<(&'static str, i32)> {
    #[cfg(unix)]
    {
        vec![
            ("RTLD_LAZY", libc::RTLD_LAZY),
            ("RTLD_NOW", libc::RTLD_NOW),
            ("RTLD_GLOBAL", libc::RTLD_GLOBAL),
            ("RTLD_LOCAL", libc::RTLD_LOCAL),
            ("RTLD_NOLOAD", libc::RTLD_NOLOAD),
            ("RTLD_NODELETE", libc::RTLD_NODELETE),
        ]
    }
    #[cfg(windows)]
    {
        Vec::new()
    }
}

/// The default `dlopen` flags.
pub fn default_flags() -> i32 {
    #[cfg(unix)]
    {
        libc::RTLD_LAZY
    }
    #[cfg(windows)]
    {
        0
    }
}

pub const NO_ERROR: &str = "no error";

thread_local! {
    static LAST_OPEN_ERROR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Records a failed `dlopen`, which has no handle to keep it on.
pub fn set_last_open_error(message: &str) {
    LAST_OPEN_ERROR.with(|e| *e.borrow_mut() = Some(message.to_string()));
}

/// The last failed `dlopen` on this thread, or `"no error"`.
pub fn last_open_error() -> String {
    LAST_OPEN_ERROR.with(|e| e.borrow().clone().unwrap_or_else(|| NO_ERROR.to_string()))
}

/// The loader's own words: libloading keeps them in the error's source.
fn loader_text(e: &libloading::Error) -> String {
    let mut text = String::new();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s.to_string());
        cur = s.source();
    }
    if text.is_empty() {
        e.to_string()
    } else {
        text
    }
}

/// An open (or closed) library.
///
/// Dropping a `Library` does *not* unload it: function pointers and
/// closures taken from it may still be in use, and unloading would turn
/// them into crashes. Only [`Library::close`] unloads, as `dlclose` in C.
pub struct Library {
    raw: Option<RawLibrary>,
    /// The loader's `void *` handle, kept for display and for C.
    handle: usize,
    name: String,
    last_error: Option<String>,
}

impl Library {
    /// Opens `name`, or the running process itself for `None`.
    pub fn open(name: Option<&str>, flags: i32) -> Result<Library> {
        let shown = name.unwrap_or("null");
        let fail =
            |e: libloading::Error| Error::Dlopen(format!("dlopen({shown}): {}", loader_text(&e)));
        if name.is_some_and(|n| n.contains('\0')) {
            return Err(Error::InvalidArgValue(format!(
                "dlopen({shown:?}): a library name cannot contain a NUL byte"
            )));
        }
        #[cfg(unix)]
        // SAFETY: loading a library runs its initialisers: that is what the
        // caller asked for, as with dlopen in C.
        let raw = unsafe { RawLibrary::open(name, flags) }.map_err(fail)?;
        #[cfg(windows)]
        let raw = {
            let _ = flags;
            match name {
                None => RawLibrary::this().map_err(fail)?,
                // SAFETY: as above, LoadLibraryExW runs DllMain.
                Some(n) => unsafe { RawLibrary::new(n) }.map_err(fail)?,
            }
        };
        let handle = raw.into_raw();
        // SAFETY: the handle came from into_raw just above and is owned once.
        let raw = unsafe { RawLibrary::from_raw(handle) };
        crate::stats::LIBRARIES.up();
        crate::stats::LIBRARIES_OPEN.up();
        Ok(Library {
            raw: Some(raw),
            handle: handle as usize,
            name: shown.to_string(),
            last_error: None,
        })
    }

    fn open_raw(&self, what: &str) -> Result<&RawLibrary> {
        self.raw.as_ref().ok_or_else(|| {
            Error::ClosedHandle(format!("{what}: the library {} was closed", self.name))
        })
    }

    /// The address of `symbol`, recording a failure as this handle's last
    /// error. A symbol whose value is NULL is found, at address 0.
    pub fn symbol(&mut self, symbol: &str) -> Result<*mut c_void> {
        let handle = self.raw_handle();
        let what = format!("dlsym({handle:#x}, {symbol})");
        let raw = self.open_raw(&what)?;
        if symbol.contains('\0') {
            let e =
                Error::InvalidArgValue(format!("{what}: a symbol name cannot contain a NUL byte"));
            self.last_error = Some(e.message().to_string());
            return Err(e);
        }
        // SAFETY: the symbol is only read as an address, never called here.
        match unsafe { raw.get::<*mut c_void>(symbol.as_bytes()) } {
            Ok(s) => Ok(*s),
            Err(e) => {
                let e = Error::Dlsym(format!("{what}: symbol not found ({})", loader_text(&e)));
                self.last_error = Some(e.message().to_string());
                Err(e)
            }
        }
    }

    /// Unloads the library; closing a closed library does nothing.
    pub fn close(&mut self) -> Result<()> {
        match self.raw.take() {
            None => Ok(()),
            Some(raw) => {
                crate::stats::LIBRARIES_OPEN.down();
                raw.close().map_err(|e| {
                    let e = Error::Dlclose(format!("dlclose({}): {}", self.name, loader_text(&e)));
                    self.last_error = Some(e.message().to_string());
                    e
                })
            }
        }
    }

    /// The most recent error on this handle, or `"no error"`.
    pub fn last_error(&self) -> &str {
        self.last_error.as_deref().unwrap_or(NO_ERROR)
    }

    /// The loader's own handle (`void *` from dlopen), 0 once closed.
    pub fn raw_handle(&self) -> usize {
        if self.raw.is_some() {
            self.handle
        } else {
            0
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // Deliberately leak the loader's reference: see the type's docs.
        if let Some(raw) = self.raw.take() {
            let _ = raw.into_raw();
            crate::stats::LIBRARIES_OPEN.down();
        }
        crate::stats::LIBRARIES.down();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn finds_libc_symbols_in_the_process() {
        let mut me = Library::open(None, default_flags()).unwrap();
        assert_eq!(
            me.symbol("abs").unwrap() as usize,
            libc::abs as *const () as usize
        );
        assert_eq!(me.last_error(), NO_ERROR);
        let e = me.symbol("no_such_symbol_anywhere").unwrap_err();
        assert_eq!(e.code(), "ERR_FFI_DLSYM");
        assert!(me.last_error().contains("no_such_symbol_anywhere"));
        assert_ne!(me.raw_handle(), 0);
        me.close().unwrap();
        me.close().unwrap();
        assert_eq!(
            me.symbol("abs").unwrap_err().code(),
            "ERR_FFI_CLOSED_HANDLE"
        );
        assert_eq!(me.raw_handle(), 0);
    }

    #[test]
    fn a_missing_library_says_so() {
        let Err(e) = Library::open(Some("libnope-does-not-exist.so"), default_flags()) else {
            panic!("opened a library that does not exist");
        };
        assert_eq!(e.code(), "ERR_FFI_DLOPEN");
        assert!(e
            .message()
            .starts_with("dlopen(libnope-does-not-exist.so): "));
    }
}
