/// <reference types="node" />
/**
 * ffi/c: C declarations and the C type system, LuaJIT's FFI in JavaScript.
 */

/** What a ctype describes (`kind`). */
export type CKind = 'void' | 'bool' | 'int' | 'float' | 'complex' | 'enum' | 'pointer' | 'array' | 'struct' | 'union' | 'function'

/** A struct or union member. */
export interface CField {
  readonly name: string
  readonly type: CType
  /** Byte offset (of the bitfield's storage unit for a bitfield). */
  readonly offset: number
  /** For a bitfield: its first bit in the unit, and its width. */
  readonly bitOffset?: number
  readonly bitSize?: number
}

/** A C type: a function (a constructor of C data of this type) with its information. */
export interface CType {
  (...init: unknown[]): unknown
  /** The type as C spells it, e.g. `struct point *`. */
  readonly name: string
  readonly kind: CKind
  /** Undefined where C has none (void, functions, variable-length types). */
  readonly size: number | undefined
  readonly alignment: number | undefined
  readonly fields: readonly CField[] | undefined
  /** Arrays: the element type and the length (undefined for `[?]` and `[]`). */
  readonly element: CType | undefined
  readonly length: number | undefined
  /** Pointers: the type pointed to. */
  readonly target: CType | undefined
  /** Functions. */
  readonly returns: CType | undefined
  readonly parameters: readonly { readonly name: string | undefined; readonly type: CType }[] | undefined
  readonly variadic: boolean | undefined
  /** The raw module's ffi_type (a type Buffer for `require('ffi').CIF`); undefined for functions and variable-length types. */
  readonly ffiType: Buffer | undefined
  /** `ctype<int>`, as LuaJIT spells it. */
  toString(): string
}

/** A C type as a string (`'struct point *'`), a ctype, or C data (its type). */
export type CTypeLike = string | CType | CData

/**
 * C data: a struct or union cdata (a getter and a setter per field), an
 * array cdata, a pointer cdata or a box; aligned arrays of 8- to 64-bit
 * integers, float and double are TypedArrays over the C memory instead.
 */
export type CData = CStruct | CArray | CPointer | CBox | TypedArrayOfC

export type TypedArrayOfC =
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array

/** A struct or union cdata: its fields as properties (64-bit integers as bigints). */
export interface CStruct {
  [field: string]: any
  /** `cdata<struct point>: 0x...`, or the metatype's `__tostring`. */
  toString(): string
  toJSON(): Record<string, unknown>
}

/** An array that is not a TypedArray (structs, pointers, bool, nested arrays...). */
export interface CArray<E = any> extends Iterable<E> {
  /** Element `i` (a view for structs and arrays): the fast form. */
  at(i: number | bigint): E
  get(i: number | bigint): E
  set(i: number | bigint, value: unknown): void
  readonly length: number
  /** Through a Proxy: about 100 times slower than `at(i)`. */
  [index: number]: E
}

/** A pointer; NULL is `null`. A pointer to a struct also has the struct's fields. */
export interface CPointer {
  [field: string]: any
  get(i?: number | bigint): any
  set(i: number | bigint, value: unknown): void
  at(i?: number | bigint): any
  add(n: number | bigint): CPointer | null
  /** A pointer n elements back, or the elements between two pointers. */
  sub(n: number | bigint | CPointer | null): CPointer | null | bigint | number
  equals(other: unknown): boolean
  isNull(): boolean
  readonly address: bigint
  cast(ct: CTypeLike): CPointer | CBox | null
}

/** A scalar: `new('int', 5)`, `cast('int64_t', x)`. */
export interface CBox {
  /** The value: a bigint for 64-bit integers, a boolean for bool. */
  value: number | bigint | boolean
  valueOf(): number | bigint | boolean
}

/** Parses C declarations and records them for this environment (main thread or Worker). */
export function cdef(source: string): void
/** The ctype of a C type string, with `$` parameters (ctypes, or numbers for array dimensions). */
declare function typeOf(ct: CTypeLike, ...params: (CType | number | bigint)[]): CType
export { typeOf as typeof }
/** `sizeof` as C: undefined for void, functions, and a variable-length type without `nelem`. */
export function sizeof(ct: CTypeLike, nelem?: number | bigint): number | undefined
export function alignof(ct: CTypeLike): number | undefined
/** A member's byte offset; undefined for an unknown member. */
export function offsetof(ct: CTypeLike, field: string): number | undefined
/** Whether `obj` is a ctype or C data of type `ct`. */
export function istype(ct: CTypeLike, obj: unknown): boolean
/** LuaJIT's target properties: '32bit' '64bit' 'le' 'be' 'fpu' 'softfp' 'hardfp' 'eabi' 'win' 'uwp'. */
export function abi(param: string): boolean
export const os: 'Windows' | 'Linux' | 'OSX' | 'BSD' | 'POSIX' | 'Other'
export const arch: string

/**
 * Zero-filled C data that the garbage collector frees (`nelem` for `[?]`
 * types, then initializers as LuaJIT's); `ct(...)` is the same.
 */
declare function newData(ct: CTypeLike, ...nelemAndInit: unknown[]): any
export { newData as new }
/** A C cast: numbers, bigints and pointers to pointers and back; an arithmetic type gives a box. */
export function cast(ct: CTypeLike, value: unknown): any
/** A pointer to a cdata's memory (which it keeps alive). */
export function addressof(cdata: CData): CPointer
/** A string from C memory: up to the first NUL, or `len` bytes. */
export function string(ptr: CData | Buffer | null, len?: number | bigint, encoding?: BufferEncoding): string
/** A Buffer copy of `len` bytes at `ptr`. */
export function bytes(ptr: CData | Buffer, len: number | bigint): Buffer
/** Copies `len` bytes, or a string and its NUL; past a known length is ERR_OUT_OF_RANGE. */
export function copy(dst: CData | Buffer, src: CData | Buffer | string, len?: number | bigint): void
export function fill(dst: CData | Buffer, len: number | bigint, byte?: number | bigint): void
/** A box's, bigint's or pointer's value as a number. */
export function tonumber(value: unknown): number | undefined
/** LuaJIT's spellings: `123LL`, `123ULL`, `cdata<int *>: 0x...`, `ctype<int>`. */
export function tostring(value: unknown): string
/** Calls `finalizer(pointer)` once `cdata` is unreachable; `null` removes it. Returns `cdata`. */
export function gc<D extends CData>(cdata: D, finalizer: ((ptr: CPointer) => void) | null): D
/** LuaJIT's metamethods for a struct or union type, once per type. */
export interface Metatable {
  __index?: Record<string, unknown>
  __tostring?: (self: any) => string
  __len?: (self: any) => number
  __eq?: (self: any, other: any) => boolean
  __gc?: (ptr: CPointer) => void
  __new?: (ct: CType, ...args: any[]) => any
  __pairs?: (self: any) => Iterable<unknown>
  __ipairs?: (self: any) => Iterable<unknown>
  __add?: (a: any, b: any) => any
  __sub?: (a: any, b: any) => any
  __mul?: (a: any, b: any) => any
  __div?: (a: any, b: any) => any
  __mod?: (a: any, b: any) => any
  __pow?: (a: any, b: any) => any
  __unm?: (a: any) => any
  __concat?: (a: any, b: any) => any
  __lt?: (a: any, b: any) => boolean
  __le?: (a: any, b: any) => boolean
}
export function metatype(ct: CTypeLike, mt: Metatable): CType

/** A declared C function: converts its arguments, calls C, converts the result. */
export interface CFunction {
  (...args: any[]): any
  /** The same call on the libuv thread pool: a Promise of the converted result. */
  async(...args: any[]): Promise<any>
}
/**
 * A namespace: each declared function (a CFunction), variable (its value;
 * assigning writes C memory) and constant (a number, or a bigint for 64-bit
 * ones) by name. A name never declared throws ERR_FFI_UNDECLARED.
 */
export interface CNamespace {
  [name: string]: any
}
/** A callback (from `cast` of a function to a function pointer type). */
export interface CCallback extends CPointer {
  /** Replaces the JavaScript function. */
  set(fn: (...args: any[]) => unknown): void
  set(i: number | bigint, value: unknown): void
  /** Releases the callback at once; a second call does nothing. */
  free(): void
}
/** The process's own symbols (libc, libm, libraries loaded globally). */
export const C: CNamespace
/** Opens a library by LuaJIT's name rules (and versioned names, linker scripts); `global` shares its symbols with `C`. */
export function load(name: string, global?: boolean): CNamespace
/** The errno the last call left on this thread; with `newErrno`, sets it for the next call and returns the previous one. */
export function errno(newErrno?: number): number

declare const c: {
  cdef: typeof cdef
  typeof: typeof typeOf
  sizeof: typeof sizeof
  alignof: typeof alignof
  offsetof: typeof offsetof
  istype: typeof istype
  abi: typeof abi
  os: typeof os
  arch: typeof arch
  new: typeof newData
  cast: typeof cast
  addressof: typeof addressof
  string: typeof string
  bytes: typeof bytes
  copy: typeof copy
  fill: typeof fill
  tonumber: typeof tonumber
  tostring: typeof tostring
  gc: typeof gc
  metatype: typeof metatype
  C: typeof C
  load: typeof load
  errno: typeof errno
}
export default c
