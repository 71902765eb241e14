//! `ffi`: libffi's raw interface for Node.js, over Buffers.
//!
//! The crate is two layers. Everything outside [`napi`] is plain Rust over
//! raw memory, tested by `cargo test` against libc without Node:
//!
//! - [`error`]: the one error enum, and how each variant looks in JavaScript;
//! - [`types`]: libffi's `ffi_type`s, C sizes, type checks, struct types;
//! - [`abi`]: the `ffi_abi` values of the linked libffi;
//! - [`cif`]: preparing an `ffi_cif` in caller-owned memory;
//! - [`call`]: `ffi_call` behind cheap checks, with `errno` capture;
//! - [`arch`]: calls and closure entries past libffi for register-only
//!   signatures ([`arch::direct`], [`arch::entry`]), with each
//!   architecture's registers in one module;
//! - [`closure`]: `ffi_closure`s calling a [`closure::Handler`], panic-safe;
//!   [`closure::dispatch`]: calls from other threads, queued for the
//!   JavaScript thread ([`closure::dispatch::JsThread`]), with the rules for
//!   giving up (environment ending, the one-second deadlock wait);
//! - [`library`]: `dlopen`/`dlsym`/`dlclose` with per-handle errors;
//! - [`pointer`]: bounds and address checks for the pointer helpers;
//! - [`os`]: `errno` and `GetLastError()`;
//! - [`stats`]: counts of live native objects, for leak checks.
//!
//! [`napi`] is the N-API layer: conversions from and to JavaScript values,
//! and what needs N-API: the thread-safe function behind
//! [`closure::dispatch::JsThread`], the handle scopes and the dispatcher
//! call of closures. It still holds some logic that needs none and that
//! `cargo test` does not reach yet: a closure's per-depth frames
//! (`napi/closure.rs`), the synchronous-call depth, epochs and stack
//! checks (`SyncGuard` in `napi/env.rs`), and the fast path's thread-state
//! lookup (`napi/fast.rs`). The JavaScript surface (`index.js`, assembled
//! from `lib/`) holds the address table of pointer Buffers and the
//! keep-alive links, which must live in JavaScript; what the N-API layer
//! trusts it to have checked is `lib/CONTRACT.md`.

mod abi;
mod arch;
mod call;
mod cif;
mod closure;
mod error;
mod library;
mod os;
mod pointer;
mod stats;
mod types;

mod napi;
