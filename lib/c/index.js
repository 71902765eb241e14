'use strict'

// require('ffi/c'): C declarations and the C type system (cdef, typeof,
// sizeof, alignof, offsetof, istype, abi, os, arch), LuaJIT's FFI in
// JavaScript, on top of the raw module.

const util = require('node:util')
const ffi = require('../../index.js')
const T = require('./types.js')
const { Scope, parseDeclarations, parseTypeName, sameType } = require('./parser.js')
const { error } = require('./errors.js')
const D = require('./cdata.js')
const native = require('../load.js')

// ---- the declarations of this environment ----

const root = new Scope(undefined)
const predefined = {
  int8_t: T.INT8,
  uint8_t: T.UINT8,
  int16_t: T.INT16,
  uint16_t: T.UINT16,
  int32_t: T.INT32,
  uint32_t: T.UINT32,
  int64_t: T.INT64,
  uint64_t: T.UINT64,
  intptr_t: T.intOfSize(T.POINTER_SIZE, false),
  uintptr_t: T.intOfSize(T.POINTER_SIZE, true),
  ptrdiff_t: T.intOfSize(T.POINTER_SIZE, false),
  size_t: T.intOfSize(T.POINTER_SIZE, true),
  ssize_t: T.intOfSize(T.POINTER_SIZE, false),
  wchar_t: T.WINDOWS ? T.UINT16 : T.INT32,
}
for (const [name, t] of Object.entries(predefined)) {
  root.typedefs.set(name, t)
  root.weak.add(name)
}
root.typedefs.set('va_list', require('./parser.js').vaList())
root.typedefs.set('__builtin_va_list', require('./parser.js').vaList())
root.weak.add('va_list')
root.weak.add('__builtin_va_list')

/**
 * Parses C declarations and records them for this environment. A failed
 * cdef records nothing.
 */
function cdef(source) {
  if (typeof source !== 'string') {
    throw error('ERR_INVALID_ARG_TYPE', `cdef: expected a string of C declarations, got ${typeof source}`)
  }
  const tx = root.begin()
  try {
    parseDeclarations(source, tx)
  } catch (e) {
    root.rollback(tx)
    throw e
  }
  root.commit(tx)
  // A typedef may change what a type string means: the cache of type
  // strings starts anew, cheaply.
  version++
  // Pointers to a struct this source completed get its fields.
  D.completed()
}

/** Bumped by every successful cdef: type-string cache entries of older versions are stale. */
let version = 0

// ---- ctypes ----

const CT = Symbol('ffi/c ctype')
const typeCache = new Map()
const last = { ct: undefined, type: undefined, version: -1 }

/** The CType of a type string, ctype or cdata. */
function resolve(ct, params, what) {
  if (typeof ct === 'string') {
    if (params.length > 0) params = params.map((q) => ((typeof q === 'function' || typeof q === 'object') && q !== null && q[CT] instanceof T.CType ? q[CT] : q))
    else {
      // The last string resolved, then every string resolved before.
      if (ct === last.ct && last.version === version) return last.type
      const hit = typeCache.get(ct)
      if (hit !== undefined && hit.version === version) {
        last.ct = ct
        last.type = hit.type
        last.version = version
        return hit.type
      }
    }
    let type
    try {
      type = parseTypeName(ct, root, params)
    } catch (e) {
      if (e.code === 'ERR_FFI_CDEF') {
        if (/unknown type/.test(e.message)) throw error('ERR_FFI_UNKNOWN_TYPE', `${what}: ${e.message.replace(/^cdef: \d+:\d+: /, '')} in '${ct}'`)
        throw error('ERR_INVALID_ARG_VALUE', `${what}: cannot parse '${ct}': ${e.message.replace(/^cdef: /, '')}`)
      }
      throw e
    }
    if (params.length === 0) typeCache.set(ct, { type, version })
    return type
  }
  if ((typeof ct === 'function' || typeof ct === 'object') && ct !== null) {
    const t = ArrayBuffer.isView(ct) ? D.typeOfValue(ct) : ct[CT]
    if (t instanceof T.CType) return t
  }
  throw error('ERR_INVALID_ARG_TYPE', `${what}: expected a C type (a string, a ctype or a cdata), got ${describe(ct)}`)
}

function describe(v) {
  if (v === null) return 'null'
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object'
  return `${typeof v} ${String(v).slice(0, 30)}`
}

/**
 * What every ctype has, through its prototype (one per process, so that a
 * new ctype costs a function and two properties): the type's information,
 * read from the CType the ctype carries.
 */
const CTypePrototype = Object.create(Function.prototype)
for (const [name, get] of Object.entries({
  kind: (t) => t.kind,
  size: (t) => t.size,
  alignment: (t) => t.align,
  fields: (t) => (t.fields === undefined ? undefined : fieldsOf(t)),
  element: (t) => (t.kind === 'array' ? ctypeOf(t.element) : undefined),
  length: (t) => (t.kind === 'array' ? t.length : undefined),
  target: (t) => (t.kind === 'pointer' ? ctypeOf(t.target) : undefined),
  returns: (t) => (t.kind === 'function' ? ctypeOf(t.returns) : undefined),
  parameters: (t) => (t.kind === 'function' ? t.params.map((p) => Object.freeze({ name: p.name, type: ctypeOf(p.type) })) : undefined),
  variadic: (t) => (t.kind === 'function' ? t.variadic : undefined),
  ffiType: (t) => ffiTypeOf(t),
})) {
  Object.defineProperty(CTypePrototype, name, {
    get() {
      return get(this[CT])
    },
    enumerable: true,
  })
}
const spelled = (ct) => `ctype<${ct.name}>`
Object.defineProperty(CTypePrototype, 'toString', { value: function toString() { return spelled(this) } })
Object.defineProperty(CTypePrototype, util.inspect.custom, { value: function inspect() { return spelled(this) } })
Object.defineProperty(CTypePrototype, Symbol.toPrimitive, { value: function toPrimitive(hint) { return hint === 'number' ? NaN : spelled(this) } })

/** The public ctype of a CType: a function (a constructor) with its information. */
function ctypeOf(t) {
  if (t.cache !== undefined && t.cache.ctype !== undefined) return t.cache.ctype
  if (t.cache === undefined) t.cache = {}
  const text = T.spell(t)
  const f = function (...args) {
    return D.construct(t, args)
  }
  Object.setPrototypeOf(f, CTypePrototype)
  // A function's own name and length would hide the prototype's.
  Object.defineProperty(f, 'name', { value: text })
  delete f.length
  Object.defineProperty(f, CT, { value: t })
  t.cache.ctype = f
  return f
}

function fieldsOf(t) {
  if (t.cache.fields === undefined) {
    t.cache.fields = Object.freeze(
      t.fields.map((fd) => {
        const o = { name: fd.name, type: ctypeOf(fd.type), offset: fd.offset }
        if (fd.bitSize !== undefined) {
          o.bitOffset = fd.bitOffset
          o.bitSize = fd.bitSize
        }
        return Object.freeze(o)
      }),
    )
  }
  return t.cache.fields
}

/** `typeof(ct, ...params)`: the ctype of a C type string, ctype or cdata. */
function typeOf(ct, ...params) {
  return ctypeOf(resolve(ct, params, 'typeof'))
}

/** How many elements a `nelem` argument asks for (a number or a bigint). */
function count(n, what) {
  if (typeof n === 'bigint') {
    if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw error('ERR_OUT_OF_RANGE', `${what}: ${n} is not a valid count`)
    return Number(n)
  }
  if (typeof n !== 'number') throw error('ERR_INVALID_ARG_TYPE', `${what}: expected a number or a bigint, got ${describe(n)}`)
  if (!Number.isSafeInteger(n) || n < 0) throw error('ERR_OUT_OF_RANGE', `${what}: ${n} is not a valid count`)
  return n
}

/** `sizeof(ct[, nelem])`. */
function sizeOf(ct, nelem) {
  if (nelem === undefined && typeof ct === 'object' && ct !== null) {
    const n = D.sizeOfValue(ct)
    if (n !== undefined) return n
  }
  const t = resolve(ct, [], 'sizeof').base
  if (t.kind === 'array' && t.vla) {
    if (nelem === undefined) return undefined
    return t.element.size * count(nelem, 'sizeof: nelem')
  }
  if ((t.kind === 'struct' || t.kind === 'union') && t.vla) {
    const last = t.fields[t.fields.length - 1]
    if (nelem === undefined) return t.size
    const n = count(nelem, 'sizeof: nelem')
    return Math.ceil(Math.max(t.size, last.offset + last.type.element.size * n) / t.align) * t.align
  }
  if (t.kind === 'void' || t.kind === 'function') return undefined
  if (!t.complete) return undefined
  return t.size
}

/** `alignof(ct)`. */
function alignOf(ct) {
  const t = resolve(ct, [], 'alignof').base
  if (t.kind === 'array') return t.element.align
  return t.align
}

/** `offsetof(ct, field)`: the byte offset, undefined for an unknown field. */
function offsetOf(ct, field) {
  const t = resolve(ct, [], 'offsetof').base
  if (t.kind !== 'struct' && t.kind !== 'union') throw error('ERR_INVALID_ARG_VALUE', `offsetof: ${T.spell(t)} is not a struct or union`)
  if (typeof field !== 'string') throw error('ERR_INVALID_ARG_TYPE', `offsetof: expected a field name, got ${describe(field)}`)
  const f = t.fields.find((x) => x.name === field)
  return f === undefined ? undefined : f.offset
}

/** `istype(ct, obj)`: whether `obj` is a ctype or cdata of type `ct`. */
function isType(ct, obj) {
  const t = resolve(ct, [], 'istype')
  if ((typeof obj !== 'function' && typeof obj !== 'object') || obj === null) return false
  const o = ArrayBuffer.isView(obj) ? D.typeOfValue(obj) : obj[CT]
  if (!(o instanceof T.CType)) return false
  return compatible(t, o)
}

/** C's compatibility, qualifiers ignored (pointers: their targets'). */
function compatible(a, b) {
  a = a.base
  b = b.base
  if (a === b) return true
  if (a.kind === 'pointer' && b.kind === 'pointer') {
    if (a.target.base.kind === 'void' || b.target.base.kind === 'void') return true
    return compatible(a.target, b.target)
  }
  return sameType(a, b)
}

// ---- ffi_type for the raw module ----

const P = ffi.sizeof.pointer
const FFI_TYPE_SIZE = ffi.sizeof.ffi_type

/** The raw ffi_type (a type Buffer) of a C type; undefined where none exists. */
function ffiTypeOf(t) {
  t = t.base
  if (t.cache === undefined) t.cache = {}
  if (t.cache.ffiType !== undefined) return t.cache.ffiType || undefined
  let r = null
  switch (t.kind) {
    case 'void':
      r = ffi.types.void
      break
    case 'bool':
      r = ffi.types.uint8
      break
    case 'int':
    case 'enum': {
      const size = t.size
      r = size > 8 ? bytesType(t.size, t.align) : ffi.types[`${t.unsigned ? 'u' : ''}int${size * 8}`]
      break
    }
    case 'float':
      r = t.size === 4 ? ffi.types.float : t.size === 8 ? ffi.types.double : t === T.LONGDOUBLE ? ffi.types.longdouble : bytesType(t.size, t.align)
      break
    case 'complex':
      r = ffi.StructType(ffiTypeOf(t.element), ffiTypeOf(t.element))
      break
    case 'pointer':
      r = ffi.types.pointer
      break
    case 'array':
      r = t.vla || t.length === undefined ? null : handBuilt(t.size, t.align, Array(t.length).fill(ffiTypeOf(t.element)))
      break
    case 'struct':
    case 'union':
      r = !t.complete || t.vla ? null : recordType(t)
      break
    default:
      r = null
  }
  t.cache.ffiType = r
  return r || undefined
}

/**
 * A struct's ffi_type, built by hand: C's size and alignment (libffi keeps
 * a struct type whose size is already set), and elements that libffi's
 * own placement puts where C put the members, so that calls classify the
 * struct as the C compiler does: scalar members at their offsets, bytes for
 * padding the natural placement would not make, for packed (unaligned)
 * members and for bitfields.
 */
function recordType(t) {
  if (SYSV && t.size > 0 && t.size <= 16) {
    const e = sysvElements(t)
    if (e !== undefined) return handBuilt(t.size, t.align, e)
  }
  const elements = []
  let at = 0
  const pad = (to) => {
    while (at < to) {
      elements.push(ffi.types.uint8)
      at++
    }
  }
  const place = (type, offset, size, align) => {
    if (offset % align === 0 && Math.ceil(at / align) * align === offset) {
      elements.push(type)
      at = offset + size
    } else {
      pad(offset)
      for (let i = 0; i < size; i++) elements.push(ffi.types.uint8)
      at = offset + size
    }
  }
  if (t.kind === 'union') {
    const merged = unionElements(t)
    if (merged !== undefined) return handBuilt(t.size, t.align, merged)
    // (a member libffi has no class for: the largest member stands for the union's bytes)
    let big
    for (const f of t.fields) if (f.bitSize === undefined && (big === undefined || f.type.size > big.type.size)) big = f
    if (big !== undefined) place(ffiTypeOf(big.type), 0, big.type.size, big.type.align)
    pad(t.size)
    return handBuilt(t.size, t.align, elements)
  }
  let i = 0
  const fields = t.fields.filter((f) => !f.anonymous)
  // Flattened fields of anonymous members come in offset order already.
  fields.sort((a, b) => a.offset - b.offset || (a.bitOffset || 0) - (b.bitOffset || 0))
  while (i < fields.length) {
    const f = fields[i]
    if (f.bitSize !== undefined) {
      // A run of bitfields: the bytes their units cover, as bytes.
      let end = f.offset + Math.ceil((f.bitOffset + f.bitSize) / 8)
      while (i + 1 < fields.length && fields[i + 1].bitSize !== undefined) {
        i++
        const g = fields[i]
        end = Math.max(end, g.offset + Math.ceil((g.bitOffset + g.bitSize) / 8))
      }
      if (f.offset < at) {
        // shares bytes already covered
      }
      pad(Math.max(at, f.offset))
      const unit = f.type.size
      const from = at
      if (from % unit === 0 && (end - from) % unit === 0) {
        const ut = ffiTypeOf(T.intOfSize(unit, true))
        for (let o = from; o < end; o += unit) elements.push(ut)
        at = end
      } else pad(end)
      i++
      continue
    }
    if (f.offset < at) {
      i++
      continue
    }
    const ft = f.type
    const ffiT = ffiTypeOf(ft)
    if (ffiT === undefined) {
      // A flexible array member adds nothing.
      i++
      continue
    }
    place(ffiT, f.offset, ft.size, ft.align)
    i++
  }
  // No elements for the tail padding: the size is C's already, and bytes
  // there would make libffi class a float's eightbyte as integer
  // (struct { double a; float b; } goes in two SSE registers).
  if (elements.length === 0) elements.push(ffi.types.uint8)
  return handBuilt(t.size, t.align, elements)
}

// ---- x86-64 System V: records of up to 16 bytes classed as C does ----

/** Whether records travel by the x86-64 System V rules (Linux, macOS, the BSDs on x86-64). */
const SYSV = process.arch === 'x64' && process.platform !== 'win32'

/**
 * The scalar leaves of a value of type `t` at byte `at`, with what calls
 * class records by: { at, size, align, float, x87, bits } (float: a float
 * or double, the ones that travel in vector registers; x87: a long double).
 * undefined for a kind there is no rule for here (_Float128 and the like).
 */
function leavesOf(t, at, out) {
  const b = t.base
  switch (b.kind) {
    case 'struct':
    case 'union':
      for (const f of b.fields) {
        if (f.bitSize !== undefined) out.push({ at: at + f.offset, size: f.type.base.size, align: 1, float: false, bits: true })
        else if (f.type.base.kind !== 'array' || f.type.base.length !== undefined) {
          if (leavesOf(f.type, at + f.offset, out) === undefined) return undefined
        }
      }
      return out
    case 'array':
      for (let i = 0; i < (b.length || 0); i++) if (leavesOf(b.element, at + i * b.element.base.size, out) === undefined) return undefined
      return out
    case 'complex': {
      const e = b.element.base
      if (e.size > 8) out.push({ at, size: b.size, align: b.align, x87: true })
      else out.push({ at, size: e.size, align: e.align, float: true }, { at: at + e.size, size: e.size, align: e.align, float: true })
      return out
    }
    case 'float':
      if (b.size <= 8) out.push({ at, size: b.size, align: b.align, float: true })
      else if (b === T.LONGDOUBLE.base || b.size === T.LONGDOUBLE.base.size) out.push({ at, size: b.size, align: b.align, x87: true })
      else return undefined
      return out
    case 'int':
    case 'enum':
    case 'bool':
    case 'pointer':
      if (b.size <= 8) out.push({ at, size: b.size, align: b.align, float: false })
      else if (b.kind === 'int' && b.size === 16) out.push({ at, size: 8, align: b.align, float: false }, { at: at + 8, size: 8, align: 8, float: false })
      else return undefined
      return out
    default:
      return undefined
  }
}

/** An element that libffi classes as memory (an aggregate over 32 bytes): the whole record then goes in memory. */
let inMemory
function memoryElement() {
  if (inMemory === undefined) inMemory = handBuilt(40, 1, Array(40).fill(ffi.types.uint8))
  return inMemory
}

/**
 * The elements of a record of 1 to 16 bytes that make libffi class each
 * eightbyte as C does (System V ABI 3.2.3): INTEGER where any integer
 * member overlaps it, SSE where only floats and doubles do, nothing where
 * only padding does; the whole record in memory if a member is not at a
 * multiple of its alignment (packed) or is an x87 long double. Built from
 * the leaves at their absolute offsets, unions' members overlapping, so
 * that a packed or over-aligned union or nesting needs no rule of its own.
 * undefined where this has no rule (the field-wise build then applies).
 */
function sysvElements(t) {
  const leaves = leavesOf(t, 0, [])
  if (leaves === undefined || leaves.length === 0) return undefined
  if (leaves.some((l) => l.x87 || (!l.bits && l.at % l.align !== 0))) return [memoryElement()]
  const elements = []
  for (let at = 0; at < t.size; at += 8) {
    const n = Math.min(8, t.size - at)
    const over = leaves.filter((l) => l.at < at + 8 && l.at + l.size > at)
    if (over.length === 0) {
      // Only padding: no register (the elements of the eightbyte before
      // end where it starts, and a first one cannot be padding alone).
      if (at === 0) return undefined
      continue
    }
    if (over.every((l) => l.float)) elements.push(n >= 8 ? ffi.types.double : ffi.types.float)
    else for (const size of [8, 4, 2, 1]) if (n & size) elements.push(INTS[size])
  }
  return elements
}

/**
 * Whether a callback cannot take type `t` before other parameters here:
 * libffi's closure entry (3.4) counts the padding-only second eightbyte of
 * such a record as a register and reads every later argument one off.
 */
function paddedHalf(t) {
  const b = t.base
  if (!SYSV || (b.kind !== 'struct' && b.kind !== 'union') || !(b.size > 8 && b.size <= 16)) return false
  const leaves = leavesOf(t, 0, [])
  return leaves !== undefined && leaves.length > 0 && !leaves.some((l) => l.at + l.size > 8)
}

const INTS = { 8: ffi.types.uint64, 4: ffi.types.uint32, 2: ffi.types.uint16, 1: ffi.types.uint8 }

/**
 * A union's elements, so that calls class it as C does: the union's bytes
 * in pieces of its own alignment (at most 8; never more aligned than the
 * union, which may sit at any multiple of its alignment), each a float or
 * double where only floating members cover it, else an unsigned integer.
 * Where every member is floats of one size, that many of them (an HFA on
 * AArch64). undefined for a member of a kind this cannot class.
 */
function unionElements(t) {
  const leaves = leavesOf(t, 0, [])
  if (leaves === undefined || leaves.some((l) => l.x87) || t.size === 0) return undefined
  const sizes = new Set(leaves.map((l) => (l.float ? l.size : 0)))
  const unit = Math.min(8, t.align)
  if (sizes.size === 1 && !sizes.has(0) && leaves.length > 0) {
    const fs = [...sizes][0]
    if (t.size % fs === 0 && fs <= t.align) return Array(t.size / fs).fill(fs === 4 ? ffi.types.float : ffi.types.double)
  }
  const ints = { 1: ffi.types.uint8, 2: ffi.types.uint16, 4: ffi.types.uint32, 8: ffi.types.uint64 }
  const elements = []
  for (let at = 0; at < t.size; at += unit) {
    const n = Math.min(unit, t.size - at)
    const over = leaves.filter((l) => l.at < at + n && l.at + l.size > at)
    const floating = over.length > 0 && over.every((l) => l.float)
    if (floating && n === 8) elements.push(ffi.types.double)
    else if (floating && n === 4) elements.push(ffi.types.float)
    else if (ints[n] !== undefined) elements.push(ints[n])
    else for (let k = 0; k < n; k++) elements.push(ffi.types.uint8)
  }
  return elements
}

/** An opaque type of `size` bytes (__int128, _Float128): bytes. */
function bytesType(size, align) {
  return handBuilt(size, align, Array(size).fill(ffi.types.uint8))
}

/** An ffi_type of kind struct with its size and alignment set, over `elements`. */
function handBuilt(size, align, elements) {
  const type = Buffer.alloc(FFI_TYPE_SIZE)
  const list = Buffer.alloc(P * (elements.length + 1))
  elements.forEach((e, i) => ffi.writePointer(list, i * P, e))
  if (P === 8) type.writeBigUInt64LE(BigInt(size), 0)
  else type.writeUInt32LE(size, 0)
  const E = ffi.endianness
  type[`writeUInt16${E}`](align, P)
  type[`writeUInt16${E}`](ffi.TYPE_STRUCT, P + 2)
  ffi.writePointer(type, FFI_TYPE_SIZE - P, list)
  return type
}

// ---- target information ----

const ARCHES = { x64: 'x64', ia32: 'x86', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64', ppc: 'ppc', mips: 'mips', mipsel: 'mips', mips64el: 'mips64', s390x: 's390x', riscv64: 'riscv64', loong64: 'loongarch64' }
const arch = ARCHES[process.arch] || process.arch
const OSES = { win32: 'Windows', linux: 'Linux', darwin: 'OSX', freebsd: 'BSD', openbsd: 'BSD', netbsd: 'BSD', sunos: 'POSIX', aix: 'POSIX', android: 'Linux' }
const osName = OSES[process.platform] || 'Other'

/** `abi(param)`: LuaJIT's target properties. */
function abi(param) {
  switch (param) {
    case '32bit':
      return P === 4
    case '64bit':
      return P === 8
    case 'le':
      return ffi.endianness === 'LE'
    case 'be':
      return ffi.endianness === 'BE'
    case 'fpu':
      return true
    case 'hardfp':
      return process.arch === 'arm64' || process.arch === 'arm'
    case 'softfp':
      return false
    case 'eabi':
      return process.arch === 'arm'
    case 'win':
      return process.platform === 'win32'
    case 'uwp':
      return false
    case 'gc64':
      return P === 8
    default:
      return false
  }
}

D.init({ CT, ctypeOf, resolve })
const calls = require('./call.js')
calls.init({ ffiTypeOf, CT, paddedHalf })
const NS = require('./namespace.js')
NS.init({ scope: root })

/**
 * `errno([newErrno])`: the errno the last call through this module left on
 * this thread; with newErrno, sets it (the next call starts with it) and
 * returns the previous value.
 */
function errno(newErrno) {
  const old = ffi.errno()
  if (newErrno !== undefined) {
    if (typeof newErrno !== 'number' || !Number.isInteger(newErrno) || newErrno < -0x80000000 || newErrno > 0x7fffffff) {
      throw error('ERR_INVALID_ARG_TYPE', `errno: expected an int, got ${describe(newErrno)}`)
    }
    native.setErrno(newErrno)
  }
  return old
}

/** `new(ct[, nelem][, ...init])`: zero-filled C data that the garbage collector frees. */
function newData(ct, ...args) {
  const t = resolve(ct, [], 'new')
  if (args.length === 1) {
    // A scalar box with its value: generated per type (see scalarMaker).
    const make = D.scalarMaker(t)
    if (make !== null) return make(args[0])
  }
  return D.create(t, args, 'new')
}

const api = {
  cdef,
  typeof: typeOf,
  sizeof: sizeOf,
  alignof: alignOf,
  offsetof: offsetOf,
  istype: isType,
  abi,
  os: osName,
  arch,
  new: newData,
  cast: D.cast,
  addressof: D.addressof,
  string: D.string,
  bytes: D.bytes,
  copy: D.copy,
  fill: D.fill,
  tonumber: D.tonumber,
  tostring: D.tostring,
  gc: D.gc,
  metatype: D.metatype,
  load: NS.load,
  errno,
}
api.C = NS.processNamespace()

module.exports = api
