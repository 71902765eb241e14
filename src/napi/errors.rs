//! The error factory for the checks only JavaScript can make: every
//! error's class and shape is still decided in `crate::error`.
//!
//! `makeError` trusts nothing: see lib/CONTRACT.md §2.

use napi::Env;
use napi_derive::napi;

use super::{Cx, Js};
use crate::error::Error;

/// Builds the typed error for `code`: the checks that need object identity
/// (a `cif` this module did not prepare) are made in JavaScript, but every
/// error's class and shape is decided here, in `error.rs`.
#[napi]
pub fn make_error(env: Env, code: String, message: String) -> napi::Result<Js> {
    let cx = Cx::new(&env);
    let e = Error::from_code(&code, message)
        .ok_or_else(|| napi::Error::from_reason(format!("unknown error code {code}")))?;
    cx.make_error(&e).map(Js)
}
