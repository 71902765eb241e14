'use strict'

// The C type system of ffi/c: one CType object per distinct type (interned,
// so that identity is type equality), C's layout rules as the platform's
// compiler applies them, and LuaJIT's spelling of each type.

const os = require('node:os')

const ARCH = process.arch
const WINDOWS = process.platform === 'win32'
/** The platform's `long`: 4 bytes on Windows (LLP64), else the pointer's. */
const LONG_SIZE = WINDOWS ? 4 : 8
const POINTER_SIZE = ARCH === 'ia32' || ARCH === 'arm' ? 4 : 8
/** `char` is unsigned on AArch64 and 32-bit Arm Linux, signed elsewhere (and on Apple). */
const CHAR_UNSIGNED = (ARCH === 'arm64' || ARCH === 'arm' || ARCH === 'ppc64' || ARCH === 's390x') && process.platform !== 'darwin' && !WINDOWS
/** `long double`: 16 bytes on x86-64 and AArch64 Linux, 8 on Windows and Apple AArch64. */
const LONG_DOUBLE = WINDOWS || (ARCH === 'arm64' && process.platform === 'darwin') ? [8, 8] : ARCH === 'ia32' ? [12, 4] : [16, 16]
const ENDIAN = os.endianness()

const CONST = 1
const VOLATILE = 2

let anonymousIds = 100
let uids = 1

/**
 * A C type. Every instance has the same fields (one hidden class); the ones
 * a kind does not use are undefined.
 */
class CType {
  constructor(kind, size, align) {
    /** 'void' 'bool' 'int' 'float' 'complex' 'enum' 'pointer' 'array' 'struct' 'union' 'function' */
    this.kind = kind
    /** a number unique to this type object (keys of interning maps) */
    this.uid = uids++
    this.size = size
    this.align = align
    /** CONST | VOLATILE */
    this.qual = 0
    /** the unqualified type (itself when unqualified) */
    this.base = this
    this.unsigned = false
    /** 'int' 'unsigned char' 'struct point': the name without qualifiers */
    this.spelling = ''
    this.target = undefined
    this.element = undefined
    this.length = undefined
    this.vla = false
    this.tag = undefined
    this.id = 0
    this.fields = undefined
    this.complete = true
    this.returns = undefined
    this.params = undefined
    this.variadic = false
    this.cc = undefined
    this.constants = undefined
    /** interned derived types: pointer to this, arrays of this, qualified versions */
    this.derived = undefined
    /** what higher layers attach (the ffi_type, the public ctype function, converters...) */
    this.cache = undefined
  }
}

/** A struct or union member. */
class Field {
  constructor(name, type, offset, bitOffset, bitSize) {
    this.name = name
    this.type = type
    this.offset = offset
    this.bitOffset = bitOffset
    this.bitSize = bitSize
  }
}

function scalar(kind, size, align, spelling, unsigned = false) {
  const t = new CType(kind, size, align)
  t.spelling = spelling
  t.unsigned = unsigned
  return t
}

// The builtin types, by LuaJIT's spelling of them.
const VOID = scalar('void', undefined, undefined, 'void')
VOID.complete = false
const BOOL = scalar('bool', 1, 1, 'bool', true)
const ints = {}
function intType(size, unsigned) {
  const key = `${unsigned ? 'u' : 's'}${size}`
  if (ints[key] === undefined) {
    const names = { 1: 'char', 2: 'short', 4: 'int', 8: 'int64_t' }
    let spelling = names[size]
    if (unsigned) spelling = size === 8 ? 'uint64_t' : `unsigned ${spelling}`
    ints[key] = scalar('int', size, size === 8 && ARCH === 'ia32' ? 4 : size, spelling, unsigned)
  }
  return ints[key]
}
const INT8 = intType(1, false)
const UINT8 = intType(1, true)
const INT16 = intType(2, false)
const UINT16 = intType(2, true)
const INT32 = intType(4, false)
const UINT32 = intType(4, true)
const INT64 = intType(8, false)
const UINT64 = intType(8, true)
const CHAR = CHAR_UNSIGNED ? UINT8 : INT8
const FLOAT = scalar('float', 4, 4, 'float')
const DOUBLE = scalar('float', 8, ARCH === 'ia32' ? 4 : 8, 'double')
const LONGDOUBLE = scalar('float', LONG_DOUBLE[0], LONG_DOUBLE[1], 'long double')
const COMPLEX_FLOAT = scalar('complex', 8, 4, 'complex float')
COMPLEX_FLOAT.element = FLOAT
const COMPLEX_DOUBLE = scalar('complex', 16, DOUBLE.align, 'complex')
COMPLEX_DOUBLE.element = DOUBLE
const COMPLEX_LONGDOUBLE = scalar('complex', 2 * LONG_DOUBLE[0], LONG_DOUBLE[1], 'complex long double')
COMPLEX_LONGDOUBLE.element = LONGDOUBLE
/** `__int128` and friends: laid out, never converted (opaque to calls). */
const INT128 = scalar('int', 16, 16, '__int128')
const UINT128 = scalar('int', 16, 16, 'unsigned __int128', true)
const FLOAT128 = scalar('float', 16, 16, '_Float128')
const FLOAT16 = scalar('float', 2, 2, '_Float16')

function intOfSize(size, unsigned) {
  return intType(size, unsigned)
}

/** A copy of `t` that is a type of its own (a new uid, no derived types). */
function copyOf(t) {
  const r = Object.assign(new CType(t.kind, t.size, t.align), t)
  r.uid = uids++
  r.derived = undefined
  r.cache = undefined
  return r
}

/** The type `t` with qualifiers `qual` added. */
function qualified(t, qual) {
  if ((t.qual | qual) === t.qual) return t
  const base = t.base
  const q = t.qual | qual
  if (base.derived === undefined) base.derived = new Map()
  const key = `q${q}`
  let r = base.derived.get(key)
  if (r === undefined) {
    r = Object.assign(new CType(base.kind, base.size, base.align), base)
    r.uid = uids++
    r.qual = q
    r.base = base
    r.derived = undefined
    r.cache = undefined
    base.derived.set(key, r)
  }
  return r
}

/** A pointer to `t`. */
function pointerTo(t) {
  if (t.derived === undefined) t.derived = new Map()
  let p = t.derived.get('*')
  if (p === undefined) {
    p = new CType('pointer', POINTER_SIZE, POINTER_SIZE)
    p.target = t
    t.derived.set('*', p)
  }
  return p
}

/** An array of `n` (undefined: `[]`; vla: `[?]`) elements of `t`. */
function arrayOf(t, n, vla = false) {
  if (t.derived === undefined) t.derived = new Map()
  const key = vla ? '[?]' : n === undefined ? '[]' : `[${n}]`
  let a = t.derived.get(key)
  if (a === undefined) {
    const size = n === undefined || t.size === undefined ? undefined : t.size * n
    a = new CType('array', size, t.align)
    a.element = t
    a.length = n
    a.vla = vla
    t.derived.set(key, a)
  }
  return a
}

const functionTypes = new Map()
/** A function type: `returns (params...)`. Interned by signature. */
function functionOf(returns, params, variadic, cc) {
  let key = `${returns.uid}(`
  for (let i = 0; i < params.length; i++) key += `${params[i].type.uid},`
  if (variadic) key += '...'
  if (cc !== undefined) key += cc
  let f = functionTypes.get(key)
  if (f === undefined) {
    f = new CType('function', undefined, undefined)
    f.returns = returns
    f.params = params.map((p) => Object.freeze({ name: p.name, type: p.type }))
    f.variadic = variadic
    f.cc = cc
    functionTypes.set(key, f)
  }
  return f
}

const typeKeys = new WeakMap()
let nextKey = 1
/** A short string unique to each type object. */
function typeKey(t) {
  let k = typeKeys.get(t)
  if (k === undefined) typeKeys.set(t, (k = `t${nextKey++}`))
  return k
}

/** A new struct or union type, incomplete until `layout` fills it. */
function record(kind, tag) {
  const t = new CType(kind, undefined, undefined)
  t.tag = tag
  t.id = anonymousIds++
  t.spelling = tag !== undefined ? `${kind} ${tag}` : `${kind} ${t.id}`
  t.complete = false
  t.fields = []
  return t
}

/** A new enum type with its underlying integer type set by `finishEnum`. */
function enumType(tag) {
  const t = new CType('enum', undefined, undefined)
  t.tag = tag
  t.id = anonymousIds++
  t.spelling = tag !== undefined ? `enum ${tag}` : `enum ${t.id}`
  t.complete = false
  t.constants = new Map()
  return t
}

const alignUp = (n, a) => Math.ceil(n / a) * a

/**
 * Lays out a struct or union as GCC does on System V targets (x86-64,
 * AArch64; MSVC's bitfield rules on Windows): members in order at their
 * alignment (capped by `#pragma pack`, 1 when packed, raised by
 * `aligned(n)`), bitfields in storage units of their type, never straddling
 * one unless packed, named bitfields giving the record their type's
 * alignment, a flexible last member adding no size.
 *
 * `members`: `{ name, type, bits (width or undefined), align (aligned(n) of
 * the member or 0), packed (bool) }`. `opts`: `{ packed, align (aligned(n)),
 * pack (#pragma pack value or 0) }`.
 */
function layout(t, members, opts) {
  const union = t.kind === 'union'
  const pack = opts.pack || 0
  let bitpos = 0 // next free bit (structs)
  let size = 0 // bytes (unions)
  let align = 1
  // MSVC's current bitfield unit: where it ends (-1: none), its type's
  // size, and the bits used so far.
  let unitEnd = -1
  let unitSize = 0
  let unitUsed = 0
  const fields = []
  for (let i = 0; i < members.length; i++) {
    const m = members[i]
    const ft = m.type
    const last = i === members.length - 1
    if (ft.kind === 'array' && ft.length === undefined && !last && !union) {
      throw new Error(`flexible array member '${m.name}' is not the last member`)
    }
    if (ft.size === undefined && !(ft.kind === 'array' && ft.length === undefined)) {
      throw new Error(`member '${m.name}' has an incomplete type (${ft.spelling || ft.kind})`)
    }
    const packed = opts.packed || m.packed
    const natural = ft.align
    let falign = packed ? 1 : natural
    if (pack) falign = Math.min(falign, pack)
    if (m.align) falign = Math.max(falign, m.align)
    if (m.bits !== undefined) {
      const w = m.bits
      const unit = ft.size * 8
      if (WINDOWS) {
        // MSVC: a bitfield shares the current unit if the types have the
        // same size and it has room; else it starts a new unit at its
        // type's alignment. A zero-width one closes the unit.
        if (w === 0) {
          unitEnd = -1
          continue
        }
        let start
        if (union) start = 0
        else if (unitEnd >= 0 && unitSize === ft.size && unitUsed + w <= unitEnd) start = unitUsed
        else {
          start = alignUp(bitpos, falign * 8)
          unitEnd = start + unit
          unitSize = ft.size
        }
        const unitStart = unitEnd - unit
        if (m.name !== undefined) fields.push(new Field(m.name, ft, unitStart / 8, start - unitStart, w))
        align = Math.max(align, falign)
        if (union) size = Math.max(size, ft.size)
        else {
          unitUsed = start + w
          bitpos = unitEnd
        }
        continue
      }
      // System V (GCC).
      if (w === 0) {
        // An unnamed zero-width bitfield: the next member starts at a unit
        // boundary of its type (capped by #pragma pack).
        if (!union) bitpos = alignUp(bitpos, (pack ? Math.min(natural, pack) : natural) * 8)
        continue
      }
      let start = union ? 0 : bitpos
      if (!union && !packed && !pack) {
        // A bitfield may not span more units of its type's alignment than
        // its type does: else it moves to the next such boundary.
        const ta = falign * 8
        if (Math.ceil(((start % ta) + w) / ta) > unit / ta) start = alignUp(start, ta)
      }
      // Where the field's bits live: the unit of its type's size that holds
      // them, else (packed, straddling) the byte where they start.
      let unitStart = Math.floor(start / unit) * unit
      if (start + w > unitStart + unit) unitStart = Math.floor(start / 8) * 8
      if (m.name !== undefined) {
        fields.push(new Field(m.name, ft, unitStart / 8, start - unitStart, w))
        // Named bitfields give the record their type's alignment.
        align = Math.max(align, falign)
      }
      if (union) size = Math.max(size, Math.ceil(w / 8))
      else bitpos = start + w
      continue
    }
    unitEnd = -1
    let offset
    if (union) {
      offset = 0
      size = Math.max(size, ft.size === undefined ? 0 : ft.size)
    } else {
      offset = alignUp(Math.ceil(bitpos / 8), falign)
      bitpos = (offset + (ft.size === undefined ? 0 : ft.size)) * 8
    }
    align = Math.max(align, falign)
    if (m.name === undefined && (ft.kind === 'struct' || ft.kind === 'union')) {
      // An anonymous member: its fields are the record's, at their offsets.
      for (const inner of ft.fields) {
        fields.push(new Field(inner.name, inner.type, offset + inner.offset, inner.bitOffset, inner.bitSize))
      }
      continue
    }
    fields.push(new Field(m.name, ft, offset, undefined, undefined))
  }
  if (opts.align) align = Math.max(align, opts.align)
  const bytes = union ? size : Math.ceil(bitpos / 8)
  t.size = alignUp(bytes, align)
  t.align = align
  t.fields = fields.map((f) => Object.freeze(f))
  t.complete = true
  // A flexible last member makes a variable-length record.
  const lastField = members[members.length - 1]
  t.vla = lastField !== undefined && lastField.type.kind === 'array' && lastField.type.length === undefined
  return t
}

/**
 * Sets an enum's underlying type as GCC does: `unsigned int` when every
 * value is >= 0 and fits, `int` when they fit in it, else a 64-bit type
 * (the smallest that fits when `packed`).
 */
function finishEnum(t, packed) {
  let min = 0n
  let max = 0n
  for (const v of t.constants.values()) {
    if (v < min) min = v
    if (v > max) max = v
  }
  let size
  let unsigned = min >= 0n
  if (packed) {
    size = [1, 2, 4, 8].find((s) => (unsigned ? max < 1n << BigInt(8 * s) : min >= -(1n << BigInt(8 * s - 1)) && max < 1n << BigInt(8 * s - 1)))
  } else if (unsigned && max <= 0xffffffffn) {
    size = 4
  } else if (min >= -0x80000000n && max <= 0x7fffffffn) {
    size = 4
    unsigned = false
  } else {
    size = 8
  }
  const under = intType(size, unsigned)
  t.size = under.size
  t.align = under.align
  t.unsigned = unsigned
  t.element = under
  t.complete = true
  return t
}

/**
 * LuaJIT's spelling of a type: `int`, `const char *`, `struct point *`,
 * `int (*)[4]`, `int (*)()` (parameters are not shown, as LuaJIT).
 */
function spell(t, inner = '') {
  const quals = (q) => (q & CONST ? 'const ' : '') + (q & VOLATILE ? 'volatile ' : '')
  switch (t.kind) {
    case 'pointer': {
      const q = t.qual ? (t.qual & CONST ? 'const' : '') + (t.qual & VOLATILE ? (t.qual & CONST ? ' volatile' : 'volatile') : '') : ''
      const star = '*' + q + (q && inner ? ' ' : '')
      const target = t.target
      const wrap = target.kind === 'array' || target.kind === 'function'
      return spell(target, wrap ? `(${star}${inner})` : `${star}${inner}`)
    }
    case 'array': {
      const dim = t.vla ? '[?]' : t.length === undefined ? '[]' : `[${t.length}]`
      return spell(t.element, `${inner}${dim}`)
    }
    case 'function':
      return spell(t.returns, `${inner}()`)
    default: {
      const head = quals(t.qual) + t.spelling
      if (inner === '') return head
      return inner[0] === '[' || inner[0] === '(' ? `${head} ${inner}` : `${head} ${inner}`
    }
  }
}

module.exports = {
  CType,
  Field,
  CONST,
  VOLATILE,
  VOID,
  BOOL,
  CHAR,
  INT8,
  UINT8,
  INT16,
  UINT16,
  INT32,
  UINT32,
  INT64,
  UINT64,
  FLOAT,
  DOUBLE,
  LONGDOUBLE,
  COMPLEX_FLOAT,
  COMPLEX_DOUBLE,
  COMPLEX_LONGDOUBLE,
  INT128,
  UINT128,
  FLOAT128,
  FLOAT16,
  LONG_SIZE,
  POINTER_SIZE,
  CHAR_UNSIGNED,
  ENDIAN,
  WINDOWS,
  intOfSize,
  copyOf,
  qualified,
  pointerTo,
  arrayOf,
  functionOf,
  record,
  enumType,
  layout,
  finishEnum,
  spell,
  typeKey,
}
