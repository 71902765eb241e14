/// <reference types="node" />

/**
 * A Buffer whose address matters to C. Most are zero-length (`types.*`,
 * `NULL`, what `readPointer` returns): their address is kept by this module,
 * since Node reports 0 for zero-length Buffers over foreign memory. Every
 * function here accepts any Buffer (or TypedArray) where it takes a pointer.
 */
export type PointerBuffer = Buffer

/** An address: a number (exact below 2^53) or a bigint. */
export type Address = number | bigint

/** A type description: one of `types.*`, a `StructType()`, or a Buffer of at least `sizeof.ffi_type` bytes holding an `ffi_type`. */
export type TypeBuffer = Buffer

/** A prepared `ffi_cif` from `CIF()` or `CIFVar()`. */
export type CifBuffer = Buffer

/** Names of the C types in `sizeof` and `alignof`. */
export type CTypeName =
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'float' | 'double' | 'bool' | 'byte' | 'char' | 'uchar' | 'short' | 'ushort'
  | 'int' | 'uint' | 'long' | 'ulong' | 'longlong' | 'ulonglong' | 'longdouble'
  | 'pointer' | 'size_t' | 'ffi_arg' | 'ffi_sarg' | 'ffi_type' | 'ffi_cif' | 'ffi_closure'

/** Names of the builtin types in `types`. */
export type FfiTypeName =
  | 'void' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'uint64' | 'int64'
  | 'uchar' | 'char' | 'ushort' | 'short' | 'uint' | 'int' | 'float' | 'double' | 'pointer'
  | 'ulong' | 'long' | 'longdouble' | 'bool' | 'size_t' | 'ssize_t' | 'longlong' | 'ulonglong'

/** Codes of the errors this module throws; libffi's refusals use its status names. */
export type FfiErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_FFI_INVALID_CIF'
  | 'ERR_FFI_NULL_POINTER'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_FFI_BUFFER_TOO_SMALL'
  | 'FFI_BAD_TYPEDEF'
  | 'FFI_BAD_ABI'
  | 'FFI_BAD_ARGTYPE'
  | 'ERR_FFI_DLOPEN'
  | 'ERR_FFI_DLSYM'
  | 'ERR_FFI_DLCLOSE'
  | 'ERR_FFI_CLOSED_HANDLE'
  | 'ERR_FFI_INVALID_HANDLE'
  | 'ERR_FFI_NO_EXTERNAL_BUFFERS'
  | 'ERR_FFI_DEADLOCK'
  | 'ERR_FFI_DETACHED'
  | 'ERR_FFI_CANCELLED'
  | 'ERR_FFI_INTERNAL'
  | 'ERR_FFI_STACK_EXHAUSTED'
  | 'ERR_FFI_NO_BINARY'

/** The shape of every error this module throws (an Error, TypeError or RangeError). */
export interface FfiError extends Error {
  code: FfiErrorCode
  /** libffi's `ffi_status`, on `FFI_BAD_*` errors only. */
  errno?: number
}

/** `sizeof()` of C types on this platform, in bytes. Frozen. */
export const sizeof: Readonly<Record<CTypeName, number>>
/** `alignof()` of C types on this platform, in bytes. Frozen. */
export const alignof: Readonly<Record<CTypeName, number>>

/**
 * The `ffi_abi` values of the linked libffi, lower case without `FFI_`
 * (x86-64 Linux: `unix64`, `win64`, `efi64`, `gnuw64`). `default` is always
 * valid; `first` and `last` are bounds that libffi refuses. Frozen.
 */
export const abi: Readonly<{ default: number; first: number; last: number } & Record<string, number>>

/**
 * Zero-length pointer Buffers at libffi's own `ffi_type`s. C-named types are
 * the same Buffer as the fixed-width type of their size and signedness
 * (`types.int === types.int32`). Frozen; every read returns the same Buffer.
 */
export const types: Readonly<Record<FfiTypeName, TypeBuffer>>

/** libffi's `ffi_status` values. Frozen. */
export const status: Readonly<{ FFI_OK: 0; FFI_BAD_TYPEDEF: 1; FFI_BAD_ABI: 2; FFI_BAD_ARGTYPE: 3 }>
/** `FFI_OK`: libffi accepted. */
export const FFI_OK: 0
/** `FFI_BAD_TYPEDEF`: a type description is invalid. */
export const FFI_BAD_TYPEDEF: 1
/** `FFI_BAD_ABI`: the ABI is not one this libffi knows. */
export const FFI_BAD_ABI: 2
/** `FFI_BAD_ARGTYPE`: an argument type is not allowed (void, an unpromoted variadic). */
export const FFI_BAD_ARGTYPE: 3

/** libffi's `FFI_TYPE_VOID`, the `type` field of an `ffi_type`. */
export const TYPE_VOID: number
/** libffi's `FFI_TYPE_INT`. */
export const TYPE_INT: number
/** libffi's `FFI_TYPE_FLOAT`. */
export const TYPE_FLOAT: number
/** libffi's `FFI_TYPE_DOUBLE`. */
export const TYPE_DOUBLE: number
/** libffi's `FFI_TYPE_LONGDOUBLE`. */
export const TYPE_LONGDOUBLE: number
/** libffi's `FFI_TYPE_UINT8`. */
export const TYPE_UINT8: number
/** libffi's `FFI_TYPE_SINT8`. */
export const TYPE_SINT8: number
/** libffi's `FFI_TYPE_UINT16`. */
export const TYPE_UINT16: number
/** libffi's `FFI_TYPE_SINT16`. */
export const TYPE_SINT16: number
/** libffi's `FFI_TYPE_UINT32`. */
export const TYPE_UINT32: number
/** libffi's `FFI_TYPE_SINT32`. */
export const TYPE_SINT32: number
/** libffi's `FFI_TYPE_UINT64`. */
export const TYPE_UINT64: number
/** libffi's `FFI_TYPE_SINT64`. */
export const TYPE_SINT64: number
/** libffi's `FFI_TYPE_STRUCT`. */
export const TYPE_STRUCT: number
/** libffi's `FFI_TYPE_POINTER`. */
export const TYPE_POINTER: number
/** libffi's `FFI_TYPE_COMPLEX`. */
export const TYPE_COMPLEX: number
/** libffi's `FFI_TYPE_LAST`, the highest type code. */
export const TYPE_LAST: number

/**
 * `ffi_prep_cif`: prepares a call interface for `rType (...aTypes)` on the
 * default ABI. Returns a Buffer of `sizeof.ffi_cif` bytes holding the
 * `ffi_cif`; the types stay alive as long as it does.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` when a type is not a Buffer;
 *   TypeError `ERR_INVALID_ARG_VALUE` for a Buffer that cannot be a type;
 *   Error `FFI_BAD_TYPEDEF` / `FFI_BAD_ABI` / `FFI_BAD_ARGTYPE` (with `errno`) when libffi refuses;
 *   RangeError `ERR_OUT_OF_RANGE` when the arguments (each rounded up to 8 bytes) and the
 *   return value take more than 64 KiB by value.
 */
export function CIF(rType: TypeBuffer, ...aTypes: TypeBuffer[]): CifBuffer
/** `ffi_prep_cif` on the ABI `abi` (a value of `ffi.abi`). */
export function CIF(abi: number, rType: TypeBuffer, ...aTypes: TypeBuffer[]): CifBuffer

/**
 * `ffi_prep_cif_var`: a call interface for one call of a variadic function.
 * `nFixedArgs` counts the fixed arguments; the rest are this call's variadic
 * ones, already promoted (`double`, `int`, not `float` or `short`).
 * @throws as `CIF`; RangeError `ERR_OUT_OF_RANGE` when `nFixedArgs` exceeds the arguments.
 */
export function CIFVar(nFixedArgs: number, rType: TypeBuffer, ...aTypes: TypeBuffer[]): CifBuffer
/** `ffi_prep_cif_var` on the ABI `abi`. */
export function CIFVar(abi: number, nFixedArgs: number, rType: TypeBuffer, ...aTypes: TypeBuffer[]): CifBuffer

/**
 * A struct type: a Buffer holding an `ffi_type` of kind struct and its
 * NULL-terminated element array, laid out by libffi at once. The field
 * types stay alive with it.
 * @throws Error `FFI_BAD_TYPEDEF` for no fields or a void field; TypeError for a field that is not a type Buffer.
 */
export function StructType(...fieldTypes: TypeBuffer[]): TypeBuffer

/**
 * Field offsets of a struct type, in bytes (`ffi_get_struct_offsets`).
 * @throws TypeError `ERR_INVALID_ARG_VALUE` for anything but a struct type.
 */
export function offsetsof(structType: TypeBuffer): number[]

/** What a type Buffer describes: its size and alignment in bytes, and its `ffi.TYPE_*` code. */
export interface TypeInfo {
  size: number
  alignment: number
  type: number
}
/** `{ size, alignment, type }` of any type Buffer (`ffi.types.*`, `StructType()`, a hand-built `ffi_type`). */
export function typeInfo(type: TypeBuffer): TypeInfo

/**
 * `ffi_call`, synchronously on this thread.
 * @param cif a Buffer from `CIF` / `CIFVar`.
 * @param fn a pointer Buffer at the C function.
 * @param rValue receives the return value: at least `max(sizeof rType, sizeof.ffi_arg)` bytes (any Buffer for void).
 * @param aValues `sizeof.pointer * nargs` bytes holding the address of each argument's storage.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` (not a Buffer), `ERR_FFI_INVALID_CIF`,
 *   `ERR_FFI_NULL_POINTER` (NULL `fn` or argument pointer); RangeError `ERR_FFI_BUFFER_TOO_SMALL`;
 *   RangeError `ERR_FFI_STACK_EXHAUSTED` at 128 nested synchronous calls on this thread, with too
 *   little stack left, or (after C returned) when a closure C called could not run for want of stack.
 */
export function call(cif: CifBuffer, fn: PointerBuffer, rValue: Buffer, aValues: Buffer): void

/**
 * `call` with its four Buffers bound: returns a function of no arguments
 * that makes the call (the fastest way to repeat one). Checks in full now,
 * and again when a Buffer was detached or `writePointer` stored into
 * `aValues`.
 * @throws as `call` (at bind time, and at call time if the Buffers changed).
 */
export function bind(cif: CifBuffer, fn: PointerBuffer, rValue: Buffer, aValues: Buffer): () => void
// ERR_FFI_DEADLOCK: another thread waited over a second for this thread,
// blocked in this call, to run one of its closures (see the README).

/**
 * `ffi_call` on the libuv thread pool. Without `callback`, a Promise of the
 * `errno` the function left (read on the pool thread right after it
 * returned); bad input rejects it. Every Buffer passed in stays alive until
 * the call has finished, and the event loop stays alive while it runs. A C
 * function called this way may call closures: they run on this thread.
 */
export function callAsync(cif: CifBuffer, fn: PointerBuffer, rValue: Buffer, aValues: Buffer): Promise<number>
/**
 * `ffi_call` on the libuv thread pool, then `callback(err, errno)` on this
 * thread. Bad input throws synchronously.
 */
export function callAsync(
  cif: CifBuffer,
  fn: PointerBuffer,
  rValue: Buffer,
  aValues: Buffer,
  callback: (err: Error | null, errno: number) => void,
): undefined

/**
 * What a closure's JavaScript function receives. The three Buffers are the
 * same objects on every call at the same reentrancy depth (views of one
 * ArrayBuffer the closure keeps per depth, each 8-byte aligned): typed-array
 * views made over them once can be reused. Their contents are only
 * meaningful during a call.
 */
export type ClosureFunction = (
  /** Write the return value here: `max(sizeof rType, sizeof.ffi_arg)` bytes; a narrow integer as a whole `ffi_arg`. */
  rValue: Buffer,
  /** `sizeof.pointer * nargs` bytes: the address of each argument's storage (its copy in `args`). */
  aValues: Buffer,
  /**
   * The argument values themselves, in order, each at a multiple of 8 bytes:
   * argument i at `8 * i` when every argument is 8 bytes or less. Read
   * arguments from here to avoid making a Buffer per argument.
   */
  args: Buffer,
) => void

/**
 * `ffi_closure_alloc` + `ffi_prep_closure_loc` (for simple signatures, an
 * entry compiled into the module; see the README): a pointer Buffer whose
 * address is C code with the signature of `cif` that runs `fn(rValue,
 * aValues)` on this JavaScript thread. Called from another thread, that
 * thread waits until this one has run `fn`. A throwing `fn` reports to
 * `'uncaughtException'` and C receives zeroes. The closure, its `cif` and
 * `fn` live as long as the returned Buffer; it does not keep the event loop
 * alive.
 * @throws TypeError `ERR_FFI_INVALID_CIF`, or `ERR_INVALID_ARG_TYPE` when `fn` is not a function.
 */
export const Closure: {
  (cif: CifBuffer, fn: ClosureFunction): PointerBuffer
  new (cif: CifBuffer, fn: ClosureFunction): PointerBuffer
  /**
   * Frees a closure at once (C must not call it again); a second call does nothing.
   * @throws TypeError `ERR_INVALID_ARG_VALUE` for a Buffer that `Closure` did not return.
   */
  free(ptr: PointerBuffer): void
}

/** The `errno` the last `call` on this thread left, read right after it returned (0 if it set none). */
export function errno(): number
/** `GetLastError()` after the last `call` on this thread, on Windows; 0 elsewhere. */
export function lastError(): number

/** A pointer Buffer at address 0. */
export const NULL: PointerBuffer
/** Whether `buf`'s address is 0. */
export function isNull(buf: Buffer): boolean
/**
 * The address of `buf`'s first byte.
 * @throws RangeError `ERR_OUT_OF_RANGE` when it is 2^53 or more (use `addressBigInt`).
 */
export function address(buf: Buffer): number
/** The address of `buf`'s first byte, as a bigint. */
export function addressBigInt(buf: Buffer): bigint
/**
 * A pointer Buffer at `address`, `length` bytes long (0: a zero-length
 * pointer Buffer). `fromAddress(0)` is `NULL`.
 * @throws RangeError for a negative, fractional or >= 2^64 address;
 *   Error `ERR_FFI_NO_EXTERNAL_BUFFERS` for a length where the runtime refuses foreign memory.
 */
export function fromAddress(address: Address, length?: number): PointerBuffer
/**
 * The pointer stored in `buf` at `offset`, as a pointer Buffer `length`
 * bytes long; NULL stays `NULL`.
 * @throws RangeError `ERR_OUT_OF_RANGE` unless `offset + sizeof.pointer` fits in `buf`.
 */
export function readPointer(buf: Buffer, offset?: number, length?: number): PointerBuffer
/**
 * Stores `ptr`'s address (0 for `null`) in `buf` at `offset`. `ptr` is kept
 * alive as long as `buf`, so the stored address never dangles.
 * @throws RangeError `ERR_OUT_OF_RANGE` unless `offset + sizeof.pointer` fits in `buf`.
 */
export function writePointer(buf: Buffer, offset: number, ptr: Buffer | null): void
/**
 * A Buffer of `length` bytes over the memory at `ptr`'s address plus
 * `offset` (0: a zero-length pointer Buffer). It keeps `ptr` alive.
 * @throws TypeError `ERR_FFI_NULL_POINTER` for NULL; Error `ERR_FFI_NO_EXTERNAL_BUFFERS` where foreign memory is refused.
 */
export function reinterpret(ptr: Buffer, length: number, offset?: number): Buffer
/**
 * The string up to the first NUL, from `offset`, decoded as UTF-8. Never
 * reads past the end of a Buffer with a length; on a zero-length pointer
 * Buffer it reads foreign memory up to the NUL, as C would.
 * @throws TypeError `ERR_FFI_NULL_POINTER` for NULL; RangeError `ERR_OUT_OF_RANGE` for an offset
 *   outside `buf`, or a string longer than V8's longest.
 */
export function readCString(buf: Buffer, offset?: number): string

/**
 * A Node-owned copy of `length` bytes at `ptr` + `offset`. From a zero-length
 * pointer Buffer it reads foreign memory (the caller's word that the bytes are
 * there; NULL throws `ERR_FFI_NULL_POINTER`); from a Buffer with a length it
 * never reads past the end (`ERR_OUT_OF_RANGE`). Needs no Buffer over foreign
 * memory, so it works where those are refused (Electron).
 */
export function read(ptr: Buffer | ArrayBufferView, offset: number, length: number): Buffer

/**
 * Copies `source` (the bytes of a Buffer, TypedArray or DataView, or a
 * string's UTF-8 without a NUL) to `ptr` + `offset`: into foreign memory for
 * a zero-length pointer Buffer (NULL throws), never past the end of a Buffer
 * with a length. Returns the number of bytes written.
 */
export function write(ptr: Buffer | ArrayBufferView, offset: number, source: ArrayBufferView | string): number
/** A NUL-terminated UTF-8 copy of `string`: `Buffer.byteLength(string) + 1` bytes. */
export function allocCString(string: string): Buffer
/** This platform's byte order. */
export const endianness: 'LE' | 'BE'

/** Counts of live native objects, for leak checks. */
export interface FfiStats {
  /** Closures made and not yet freed, in environments still alive (process-wide). */
  closures: number
  /**
   * Closures that ended environments (Workers) keep for good because their
   * address left the module and C may still call them; they answer zero
   * (process-wide).
   */
  closureLeftovers: number
  /** Compiled-in closure entries in use, leftovers' included (process-wide, of 256). */
  closureEntries: number
  /** Library handles whose native state is alive, open or closed (process-wide). */
  libraries: number
  /** Libraries not yet `dlclose`d (process-wide). */
  librariesOpen: number
  /** `callAsync` calls queued or running (process-wide). */
  asyncCalls: number
  /** Environments (main thread, Workers) with closure dispatch set up. */
  environments: number
  /** CIFs of this environment not yet garbage-collected. */
  cifs: number
  /** Struct types of this environment not yet garbage-collected. */
  structTypes: number
}

/** Counts of live native objects, for leak checks. */
export function stats(): FfiStats

/** The dlopen module; the same object as `require('ffi/dlopen')`. */
export const dlopen: typeof import('./dlopen')

declare const ffi: {
  sizeof: typeof sizeof
  alignof: typeof alignof
  abi: typeof abi
  types: typeof types
  status: typeof status
  FFI_OK: typeof FFI_OK
  FFI_BAD_TYPEDEF: typeof FFI_BAD_TYPEDEF
  FFI_BAD_ABI: typeof FFI_BAD_ABI
  FFI_BAD_ARGTYPE: typeof FFI_BAD_ARGTYPE
  TYPE_VOID: number
  TYPE_INT: number
  TYPE_FLOAT: number
  TYPE_DOUBLE: number
  TYPE_LONGDOUBLE: number
  TYPE_UINT8: number
  TYPE_SINT8: number
  TYPE_UINT16: number
  TYPE_SINT16: number
  TYPE_UINT32: number
  TYPE_SINT32: number
  TYPE_UINT64: number
  TYPE_SINT64: number
  TYPE_STRUCT: number
  TYPE_POINTER: number
  TYPE_COMPLEX: number
  TYPE_LAST: number
  CIF: typeof CIF
  CIFVar: typeof CIFVar
  StructType: typeof StructType
  offsetsof: typeof offsetsof
  typeInfo: typeof typeInfo
  call: typeof call
  bind: typeof bind
  callAsync: typeof callAsync
  Closure: typeof Closure
  errno: typeof errno
  lastError: typeof lastError
  NULL: typeof NULL
  isNull: typeof isNull
  address: typeof address
  addressBigInt: typeof addressBigInt
  fromAddress: typeof fromAddress
  readPointer: typeof readPointer
  writePointer: typeof writePointer
  reinterpret: typeof reinterpret
  readCString: typeof readCString
  read: typeof read
  write: typeof write
  allocCString: typeof allocCString
  endianness: typeof endianness
  stats: typeof stats
  dlopen: typeof dlopen
}
export default ffi
