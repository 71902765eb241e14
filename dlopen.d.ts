/// <reference types="node" />

/** A library handle from `dlopen`: a Buffer holding the loader's `void *` (NULL once closed). */
export type LibraryHandle = Buffer

/** The file name suffix of shared libraries here: `'.so'`, `'.dylib'` or `'.dll'`. */
export const extension: '.so' | '.dylib' | '.dll'

/**
 * Opens a library. `name` is a path or a file name the system loader
 * searches for; `null` opens the running process itself (its symbols and the
 * libraries already loaded). `flags` default to `RTLD_LAZY`. A handle that
 * is garbage-collected without `dlclose` leaves its library loaded.
 * @throws Error `ERR_FFI_DLOPEN`, message `dlopen(name): <the loader's text>`.
 */
export function dlopen(name: string | null, flags?: number): LibraryHandle

/**
 * Looks up a symbol: a Buffer of `sizeof.pointer` bytes holding its address
 * (read it with `ffi.readPointer(buf, 0)`).
 * @throws Error `ERR_FFI_DLSYM`, `dlsym(<handle>, name): symbol not found (…)`;
 *   Error `ERR_FFI_CLOSED_HANDLE` after `dlclose`; TypeError `ERR_FFI_INVALID_HANDLE` for a Buffer `dlopen` did not return.
 */
export function dlsym(lib: LibraryHandle, name: string): Buffer

/** Closes a library; closing it again does nothing. */
export function dlclose(lib: LibraryHandle): void

/**
 * The most recent error on `lib` (after a failed `dlsym`, that failure), or
 * `'no error'`. Without `lib`: the last failed `dlopen` on this thread.
 */
export function dlerror(lib?: LibraryHandle): string

/** `RTLD_LAZY`: resolve functions on first call (the default). Absent on Windows. */
export const RTLD_LAZY: number
/** `RTLD_NOW`: resolve every symbol at load time. Absent on Windows. */
export const RTLD_NOW: number
/** `RTLD_GLOBAL`: make the symbols available to libraries loaded later. Absent on Windows. */
export const RTLD_GLOBAL: number
/** `RTLD_LOCAL`: keep the symbols to this handle. Absent on Windows. */
export const RTLD_LOCAL: number
/** `RTLD_NOLOAD`: only return a handle if the library is already loaded. Absent on Windows. */
export const RTLD_NOLOAD: number
/** `RTLD_NODELETE`: never unload the library, even on `dlclose`. Absent on Windows. */
export const RTLD_NODELETE: number
