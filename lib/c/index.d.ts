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
export type CTypeLike = string | CType

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
}
export default c
