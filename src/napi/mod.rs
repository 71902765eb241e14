//! The N-API layer: JavaScript values in, JavaScript values out, core
//! errors thrown as typed JavaScript errors, and the N-API side of the
//! core's seams: env.rs implements [`crate::closure::dispatch::JsThread`]
//! over a thread-safe function and keeps each thread's state (its
//! [`crate::sync::SyncState`], the handle scope its closures share);
//! closure.rs implements [`crate::closure::frames::Function`] over
//! index.js's dispatcher and makes the Buffers over the frames; call.rs
//! finds a thread's state from its `napi_env`. The rules those follow
//! (frames, depths, epochs, deadlock and stack checks) are the core's,
//! covered by `cargo test`.
//!
//! Values cross as raw `napi_value`s ([`Js`]) so that every conversion, and
//! so every error a user can cause, is this module's own: napi-rs's generic
//! conversion errors have neither our classes nor our codes.
//!
//! Only the JavaScript of `lib/` calls these functions, and some of them
//! trust it for facts Rust cannot check (that an address given as a number
//! is a prepared CIF, that a repeated call's Buffers are the ones checked).
//! What each entry trusts JavaScript to have checked, and what it checks
//! itself, is written once, in `lib/CONTRACT.md`: the SAFETY comments that
//! rest on JavaScript's word cite its sections (§1 to §8), as `lib/` does.

// In the unit-test build napi-derive registers no exports, so the exported
// functions look unused there.
#![cfg_attr(test, allow(dead_code))]
// `napi_value`s are opaque engine handles: passed to N-API, never
// dereferenced in Rust.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod call;
mod call_async;
mod cif;
mod closure;
mod env;
mod errors;
mod info;
mod library;
mod pointer;
mod raw;

use std::os::raw::c_char;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{sys, Env, Status, ValueType};

use crate::call::Region;
use crate::error::{Error, JsClass};
use crate::pointer::MAX_SAFE_INTEGER;

/// A raw JavaScript value, passed through napi-rs untouched.
#[derive(Clone, Copy)]
pub struct Js(pub sys::napi_value);

impl FromNapiValue for Js {
    unsafe fn from_napi_value(_env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        Ok(Js(value))
    }
}

impl ToNapiValue for Js {
    unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> napi::Result<sys::napi_value> {
        Ok(value.0)
    }
}

impl TypeName for Js {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for Js {}

/// Checks an N-API status; anything but `napi_ok` becomes a napi-rs error
/// (an engine failure, not something a user's input can cause).
macro_rules! napi_ok {
    ($e:expr) => {{
        let status = $e;
        if status != napi::sys::Status::napi_ok {
            return Err(napi::Error::new(
                napi::Status::from(status),
                format!("N-API call failed: {}", stringify!($e)),
            ));
        }
    }};
}
pub(crate) use napi_ok;

/// The environment of one call from JavaScript, with the conversions.
#[derive(Clone, Copy)]
pub struct Cx {
    pub env: sys::napi_env,
}

impl Cx {
    pub fn new(env: &Env) -> Cx {
        Cx { env: env.raw() }
    }

    /// The one mapping of a core error to a JavaScript error object.
    pub fn make_error(&self, e: &Error) -> napi::Result<sys::napi_value> {
        let code = self.string(e.code())?;
        let message = self.string(e.message())?;
        let mut err = ptr::null_mut();
        // SAFETY: valid env and freshly created strings; `err` is an out slot.
        unsafe {
            napi_ok!(match e.js_class() {
                JsClass::Error => sys::napi_create_error(self.env, code, message, &mut err),
                JsClass::TypeError =>
                    sys::napi_create_type_error(self.env, code, message, &mut err),
                JsClass::RangeError => {
                    sys::napi_create_range_error(self.env, code, message, &mut err)
                }
            });
        }
        if let Some(errno) = e.errno() {
            let v = self.i32(errno)?;
            self.set(err, "errno", v)?;
        }
        Ok(err)
    }

    /// Throws `e` and returns the error that tells napi-rs an exception is
    /// already pending.
    pub fn throw(&self, e: Error) -> napi::Error {
        match self.make_error(&e) {
            Ok(err) => {
                // SAFETY: `err` is a live error object of this env.
                unsafe { sys::napi_throw(self.env, err) };
                napi::Error::new(Status::PendingException, e.message().to_string())
            }
            Err(napi_err) => napi_err,
        }
    }

    /// Core result to napi-rs result, throwing the typed error.
    pub fn check<T>(&self, r: crate::error::Result<T>) -> napi::Result<T> {
        r.map_err(|e| self.throw(e))
    }

    /// Clears an exception N-API left pending, to throw ours instead.
    fn drop_pending_exception(&self) {
        let mut pending = false;
        // SAFETY: valid env; the cleared exception is dropped.
        unsafe {
            sys::napi_is_exception_pending(self.env, &mut pending);
            if pending {
                let mut ex = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(self.env, &mut ex);
            }
        }
    }

    pub fn type_of(&self, v: Js) -> napi::Result<sys::napi_valuetype> {
        let mut t = 0;
        // SAFETY: valid env and value.
        unsafe { napi_ok!(sys::napi_typeof(self.env, v.0, &mut t)) };
        Ok(t)
    }

    pub fn is_undefined(&self, v: Js) -> napi::Result<bool> {
        Ok(self.type_of(v)? == sys::ValueType::napi_undefined)
    }

    /// How a value is described in messages: "type number (5)".
    pub fn describe(&self, v: Js) -> napi::Result<String> {
        let mut text = ptr::null_mut();
        // SAFETY: valid env and value; coercion of a symbol fails and is handled.
        let coerced = unsafe { sys::napi_coerce_to_string(self.env, v.0, &mut text) };
        let shown = if coerced == sys::Status::napi_ok {
            let s = self.get_string(Js(text))?;
            let mut s: String = s.chars().take(40).collect();
            if s.is_empty() {
                s = "''".into();
            }
            s
        } else {
            // A pending exception from the failed coercion must not leak.
            self.drop_pending_exception();
            "?".into()
        };
        let kind = match self.type_of(v)? {
            sys::ValueType::napi_undefined => return Ok("undefined".into()),
            sys::ValueType::napi_null => return Ok("null".into()),
            sys::ValueType::napi_boolean => "boolean",
            sys::ValueType::napi_number => "number",
            sys::ValueType::napi_string => return Ok(format!("type string ('{shown}')")),
            sys::ValueType::napi_symbol => return Ok("a symbol".into()),
            sys::ValueType::napi_object => return self.describe_object(v),
            sys::ValueType::napi_function => return Ok("a function".into()),
            sys::ValueType::napi_bigint => "bigint",
            _ => "unknown",
        };
        Ok(format!("type {kind} ({shown})"))
    }

    fn describe_object(&self, v: Js) -> napi::Result<String> {
        let mut is = false;
        // SAFETY: valid env and value.
        unsafe { napi_ok!(sys::napi_is_array(self.env, v.0, &mut is)) };
        if is {
            return Ok("an Array".into());
        }
        // SAFETY: as above.
        unsafe { napi_ok!(sys::napi_is_arraybuffer(self.env, v.0, &mut is)) };
        if is {
            return Ok("an ArrayBuffer".into());
        }
        Ok("an object".into())
    }

    /// Whether `v` is a Buffer, another TypedArray or a DataView.
    pub fn is_view(&self, v: Js) -> napi::Result<bool> {
        let (mut ta, mut dv) = (false, false);
        // SAFETY: valid env and value.
        unsafe {
            napi_ok!(sys::napi_is_typedarray(self.env, v.0, &mut ta));
            napi_ok!(sys::napi_is_dataview(self.env, v.0, &mut dv));
        }
        Ok(ta || dv)
    }

    /// The bytes of a Buffer, any TypedArray or a DataView. A detached one
    /// has length 0.
    pub fn view(&self, v: Js, what: &dyn Fn() -> String) -> napi::Result<Region> {
        let mut is = false;
        let mut data: *mut std::os::raw::c_void = ptr::null_mut();
        let mut ab = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: valid env and value; out slots are locals.
        unsafe {
            napi_ok!(sys::napi_is_typedarray(self.env, v.0, &mut is));
            if is {
                let mut kind = 0;
                let mut length = 0usize;
                napi_ok!(sys::napi_get_typedarray_info(
                    self.env,
                    v.0,
                    &mut kind,
                    &mut length,
                    &mut data,
                    &mut ab,
                    &mut offset
                ));
                return Ok(Region {
                    ptr: data.cast(),
                    len: length * element_size(kind),
                });
            }
            napi_ok!(sys::napi_is_dataview(self.env, v.0, &mut is));
            if is {
                let mut length = 0usize;
                napi_ok!(sys::napi_get_dataview_info(
                    self.env,
                    v.0,
                    &mut length,
                    &mut data,
                    &mut ab,
                    &mut offset
                ));
                return Ok(Region {
                    ptr: data.cast(),
                    len: length,
                });
            }
        }
        let got = self.describe(v)?;
        Err(self.throw(Error::InvalidArgType(format!(
            "{}: expected a Buffer, got {got}",
            what()
        ))))
    }

    pub fn number(&self, v: Js, what: &dyn Fn() -> String) -> napi::Result<f64> {
        if self.type_of(v)? != sys::ValueType::napi_number {
            let got = self.describe(v)?;
            return Err(self.throw(Error::InvalidArgType(format!(
                "{}: expected a number, got {got}",
                what()
            ))));
        }
        let mut n = 0.0;
        // SAFETY: a number value of a valid env.
        unsafe { napi_ok!(sys::napi_get_value_double(self.env, v.0, &mut n)) };
        Ok(n)
    }

    /// A number, or `None` for undefined.
    pub fn opt_number(&self, v: Js, what: &dyn Fn() -> String) -> napi::Result<Option<f64>> {
        if self.is_undefined(v)? {
            Ok(None)
        } else {
            self.number(v, what).map(Some)
        }
    }

    /// A whole number >= 0 (an offset or a length), `default` for undefined.
    pub fn index(&self, v: Js, default: usize, what: &dyn Fn() -> String) -> napi::Result<usize> {
        match self.opt_number(v, what)? {
            None => Ok(default),
            Some(n) => self.check(crate::pointer::to_index(n, what)),
        }
    }

    /// An address given as a number or a bigint.
    pub fn address(&self, v: Js, what: &dyn Fn() -> String) -> napi::Result<usize> {
        match self.type_of(v)? {
            sys::ValueType::napi_number => {
                let n = self.number(v, what)?;
                self.check(crate::pointer::address_from_number(n, what))
            }
            sys::ValueType::napi_bigint => {
                let mut count = 0usize;
                let mut sign = 0;
                // SAFETY: the first call asks for the word count only, which
                // N-API answers when both sign and words are NULL.
                unsafe {
                    napi_ok!(sys::napi_get_value_bigint_words(
                        self.env,
                        v.0,
                        ptr::null_mut(),
                        &mut count,
                        ptr::null_mut()
                    ))
                };
                let mut words = vec![0u64; count.max(1)];
                // SAFETY: `words` has `count` slots.
                unsafe {
                    napi_ok!(sys::napi_get_value_bigint_words(
                        self.env,
                        v.0,
                        &mut sign,
                        &mut count,
                        words.as_mut_ptr()
                    ))
                };
                self.check(crate::pointer::address_from_bigint(sign != 0, &words, what))
            }
            _ => {
                let got = self.describe(v)?;
                Err(self.throw(Error::InvalidArgType(format!(
                    "{}: expected an address (a number or a bigint), got {got}",
                    what()
                ))))
            }
        }
    }

    /// An array of addresses, as the JavaScript side resolves type Buffers.
    pub fn addresses(&self, v: Js, what: &dyn Fn() -> String) -> napi::Result<Vec<usize>> {
        let mut n = 0u32;
        // SAFETY: `lib/` always passes an Array here (lib/CONTRACT.md §3);
        // anything else fails as an engine error, not unsafely.
        unsafe { napi_ok!(sys::napi_get_array_length(self.env, v.0, &mut n)) };
        (0..n)
            .map(|i| {
                let mut e = ptr::null_mut();
                // SAFETY: `i` is within the array's length.
                unsafe { napi_ok!(sys::napi_get_element(self.env, v.0, i, &mut e)) };
                self.address(Js(e), what)
            })
            .collect()
    }

    pub fn get_string(&self, v: Js) -> napi::Result<String> {
        let mut len = 0usize;
        // SAFETY: first call asks for the length only.
        unsafe {
            napi_ok!(sys::napi_get_value_string_utf8(
                self.env,
                v.0,
                ptr::null_mut(),
                0,
                &mut len
            ))
        };
        let mut buf = vec![0u8; len + 1];
        // SAFETY: `buf` has room for the string and its NUL.
        unsafe {
            napi_ok!(sys::napi_get_value_string_utf8(
                self.env,
                v.0,
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len(),
                &mut len
            ))
        };
        buf.truncate(len);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// A string argument, with a TypeError for anything else.
    pub fn string_arg(&self, v: Js, what: &dyn Fn() -> String) -> napi::Result<String> {
        if self.type_of(v)? != sys::ValueType::napi_string {
            let got = self.describe(v)?;
            return Err(self.throw(Error::InvalidArgType(format!(
                "{}: expected a string, got {got}",
                what()
            ))));
        }
        self.get_string(v)
    }

    pub fn string(&self, s: &str) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: `s` is valid UTF-8 of the given length.
        unsafe {
            napi_ok!(sys::napi_create_string_utf8(
                self.env,
                s.as_ptr().cast(),
                s.len() as isize,
                &mut v
            ))
        };
        Ok(v)
    }

    pub fn f64(&self, n: f64) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_create_double(self.env, n, &mut v)) };
        Ok(v)
    }

    pub fn null(&self) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_get_null(self.env, &mut v)) };
        Ok(v)
    }

    pub fn i32(&self, n: i32) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_create_int32(self.env, n, &mut v)) };
        Ok(v)
    }

    /// An address as a number when exact, else as a bigint.
    pub fn address_value(&self, a: usize) -> napi::Result<sys::napi_value> {
        if a as u64 <= MAX_SAFE_INTEGER {
            return self.f64(a as f64);
        }
        let mut v = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_create_bigint_uint64(self.env, a as u64, &mut v)) };
        Ok(v)
    }

    pub fn boolean(&self, b: bool) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_get_boolean(self.env, b, &mut v)) };
        Ok(v)
    }

    pub fn object(&self) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env.
        unsafe { napi_ok!(sys::napi_create_object(self.env, &mut v)) };
        Ok(v)
    }

    pub fn array(&self, items: &[sys::napi_value]) -> napi::Result<sys::napi_value> {
        let mut a = ptr::null_mut();
        // SAFETY: valid env; each item is a live value of it.
        unsafe {
            napi_ok!(sys::napi_create_array_with_length(
                self.env,
                items.len(),
                &mut a
            ));
            for (i, &item) in items.iter().enumerate() {
                napi_ok!(sys::napi_set_element(self.env, a, i as u32, item));
            }
        }
        Ok(a)
    }

    pub fn set(&self, obj: sys::napi_value, key: &str, v: sys::napi_value) -> napi::Result<()> {
        let k = self.string(key)?;
        // SAFETY: live values of this env.
        unsafe { napi_ok!(sys::napi_set_property(self.env, obj, k, v)) };
        Ok(())
    }

    /// A Node-owned Buffer of `len` bytes, zeroed, with its data pointer.
    /// Its memory is off the V8 heap and never moves.
    pub fn node_buffer(&self, len: usize) -> napi::Result<(sys::napi_value, *mut u8)> {
        let mut data = ptr::null_mut();
        let mut v = ptr::null_mut();
        // SAFETY: valid env; Node allocates `len` bytes and returns them.
        unsafe {
            napi_ok!(sys::napi_create_buffer(self.env, len, &mut data, &mut v));
            if len > 0 {
                ptr::write_bytes(data.cast::<u8>(), 0, len);
            }
        }
        Ok((v, data.cast()))
    }

    /// An ArrayBuffer over foreign memory, with no finalizer: V8 alone
    /// owns its bookkeeping and frees it with the ArrayBuffer, at the next
    /// collection, whether or not the event loop turns (a Buffer made by
    /// `napi_create_external_buffer` keeps native memory until a task of
    /// the event loop frees it, which a synchronous loop never lets run).
    /// JavaScript makes the Buffer over it. Refused where the runtime
    /// forbids external memory (Electron's V8 sandbox).
    pub fn external_arraybuffer(&self, at: usize, len: usize) -> napi::Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        let status = if external_buffers_refused() {
            sys::Status::napi_no_external_buffers_allowed
        } else {
            // SAFETY: the memory is the caller's word, as in C; no finalizer,
            // since the module does not own it. `len` is at most 2^53 - 1
            // (checked as an index), within V8's ArrayBuffer limit.
            unsafe {
                sys::napi_create_external_arraybuffer(
                    self.env,
                    at as *mut std::os::raw::c_void,
                    len,
                    None,
                    ptr::null_mut(),
                    &mut v,
                )
            }
        };
        if status == sys::Status::napi_no_external_buffers_allowed {
            return Err(self.throw(Error::NoExternalBuffers(
                "this runtime refuses Buffers over foreign memory; \
                 read through a zero-length pointer Buffer instead"
                    .into(),
            )));
        }
        if status != sys::Status::napi_ok {
            // Node refuses lengths past its Buffer limit, with an error of
            // its own: ours says what was asked.
            self.drop_pending_exception();
            return Err(self.throw(Error::OutOfRange(format!(
                "a Buffer of {len} bytes at {at:#x} cannot be made (past the runtime's Buffer size limit)"
            ))));
        }
        Ok(v)
    }
}

/// Whether to behave as in a runtime that refuses external Buffers
/// (Electron): set `FFI_TEST_NO_EXTERNAL_BUFFERS=1` before loading the
/// module, so that tests can run those paths under Node.
pub fn external_buffers_refused() -> bool {
    static REFUSED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REFUSED
        .get_or_init(|| std::env::var_os("FFI_TEST_NO_EXTERNAL_BUFFERS").is_some_and(|v| v == "1"))
}

/// N-API type tags: which native object a wrapped Buffer carries.
pub const LIBRARY_TAG: sys::napi_type_tag = sys::napi_type_tag {
    lower: 0x6666_692d_6c69_6272,
    upper: 0x6172_792d_6861_6e64,
};
pub const CLOSURE_TAG: sys::napi_type_tag = sys::napi_type_tag {
    lower: 0x6666_692d_636c_6f73,
    upper: 0x7572_652d_6275_6666,
};

impl Cx {
    /// Wraps `native` onto `obj` under `tag`; `finalize` frees it once.
    pub fn wrap(
        &self,
        obj: sys::napi_value,
        tag: &sys::napi_type_tag,
        native: *mut std::os::raw::c_void,
        finalize: sys::napi_finalize,
    ) -> napi::Result<()> {
        // SAFETY: a fresh object of this env; the finalizer owns `native`.
        unsafe {
            napi_ok!(sys::napi_type_tag_object(self.env, obj, tag));
            napi_ok!(sys::napi_wrap(
                self.env,
                obj,
                native,
                finalize,
                ptr::null_mut(),
                ptr::null_mut()
            ));
        }
        Ok(())
    }

    /// The native object wrapped onto `v` under `tag`, or None for any
    /// other value (not an object, not wrapped, wrapped under another tag).
    pub fn unwrap_tagged(
        &self,
        v: Js,
        tag: &sys::napi_type_tag,
    ) -> napi::Result<Option<*mut std::os::raw::c_void>> {
        if self.type_of(v)? != sys::ValueType::napi_object {
            return Ok(None);
        }
        let mut matches = false;
        // SAFETY: valid env and object.
        unsafe {
            napi_ok!(sys::napi_check_object_type_tag(
                self.env,
                v.0,
                tag,
                &mut matches
            ))
        };
        if !matches {
            return Ok(None);
        }
        let mut data = ptr::null_mut();
        // SAFETY: tagged by this module, so wrapped by it.
        let status = unsafe { sys::napi_unwrap(self.env, v.0, &mut data) };
        Ok((status == sys::Status::napi_ok && !data.is_null()).then_some(data))
    }
}

fn element_size(kind: sys::napi_typedarray_type) -> usize {
    use sys::TypedarrayType as T;
    match kind {
        T::int8_array | T::uint8_array | T::uint8_clamped_array => 1,
        T::int16_array | T::uint16_array => 2,
        T::int32_array | T::uint32_array | T::float32_array => 4,
        T::float64_array | T::bigint64_array | T::biguint64_array => 8,
        // Float16Array and anything newer: the smallest element, so that a
        // length is never overstated.
        _ => 1,
    }
}
