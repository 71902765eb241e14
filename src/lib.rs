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
//!   [`closure::frames`]: the handler of a closure whose function runs on
//!   one thread, in a frame per reentrancy depth, behind a
//!   [`closure::frames::Function`] (zeroed results when it is freed, its
//!   environment ended or it threw); [`closure::dispatch`]: calls from
//!   other threads, queued for the JavaScript thread
//!   ([`closure::dispatch::JsThread`]), with the rules for giving up
//!   (environment ending, the one-second deadlock wait);
//! - [`sync`]: a thread's synchronous calls: their depth limit, epochs and
//!   stack checks, and the generations of the handle scope their closures
//!   share;
//! - [`library`]: `dlopen`/`dlsym`/`dlclose` with per-handle errors;
//! - [`pointer`]: bounds and address checks for the pointer helpers;
//! - [`os`]: `errno` and `GetLastError()`;
//! - [`stats`]: counts of live native objects, for leak checks.
//!
//! [`napi`] is the N-API layer: conversions from and to JavaScript values,
//! and what needs N-API, over the core's seams: the thread-safe function
//! and environment state behind [`closure::dispatch::JsThread`], index.js's
//! dispatcher and the handle scopes behind [`closure::frames::Function`],
//! the per-thread state (a [`sync::SyncState`] among it) and the fast
//! path's lookup of it by `napi_env`. The JavaScript surface (`index.js`)
//! holds the address table of pointer Buffers and the keep-alive links,
//! which must live in JavaScript.
//!
//! The JavaScript surface (`index.js`, assembled from `lib/`) holds the
//! address table of pointer Buffers and the keep-alive links, which must live
//! in JavaScript; what the N-API layer trusts it to have checked is
//! `lib/CONTRACT.md`.

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
mod sync;
mod types;

mod napi;
