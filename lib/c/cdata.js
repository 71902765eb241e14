'use strict'

// C data in JavaScript: `new`, `cast`, struct, array, pointer and scalar
// cdata, the conversions between C values and JavaScript values, and the
// memory utilities (addressof, string, bytes, copy, fill, gc, metatype).
//
// Memory is a DataView and a byte offset in it: an ArrayBuffer that Node
// owns for `new` (the garbage collector frees it; no Buffer over foreign
// memory is needed), or a region view of the raw module (fromAddress) for
// memory that a pointer reaches. Every struct type gets one class, made the
// first time the type is used, whose prototype has a getter and a setter
// per field; their code is generated with the field's offset and type as
// constants, so that every access site stays monomorphic and V8 can inline
// the DataView access (and drop a view made by `at(i)` altogether).

const util = require('node:util')
const ffi = require('../../index.js')
const T = require('./types.js')
const { error } = require('./errors.js')
const { bytesOf } = require('../state.js')

const LE = ffi.endianness === 'LE'
const P = T.POINTER_SIZE
const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** TypedArrays made over C memory, and their C (array) type. */
const typedArrays = privateSlot()
/** The DataView over each ArrayBuffer that C memory lives in. */
const dataViews = new WeakMap()
/** The address of each ArrayBuffer's first byte. */
const bases = new WeakMap()

// The internal slots of cdata: symbols, so that no C field name can collide.
const kDV = Symbol('dv')
const kO = Symbol('offset')
const kN = Symbol('count')
const kA = Symbol('address')
const kV = Symbol('view')
const kW = Symbol('window')
const kWO = Symbol('window offset')
const kWN = Symbol('window length')
const kB = Symbol('bounds')

/**
 * A WeakMap-like slot on objects, kept in a private field: a lookup is a
 * property load (a WeakMap's costs about 10 ns), and nobody else can read
 * or forge it. Objects that refuse new fields use a WeakMap.
 */
function privateSlot() {
  const Base = function (o) {
    return o
  }
  class Slot extends Base {
    #v
    constructor(o, v) {
      super(o)
      this.#v = v
    }
    static get(o) {
      if (#v in o) return o.#v
      return fallback === undefined ? undefined : fallback.get(o)
    }
    static has(o) {
      return #v in o || (fallback !== undefined && fallback.has(o))
    }
    static set(o, v) {
      if (#v in o) o.#v = v
      else {
        try {
          new Slot(o, v)
        } catch {
          if (fallback === undefined) fallback = new WeakMap()
          fallback.set(o, v)
        }
      }
    }
  }
  let fallback
  return { get: Slot.get, has: Slot.has, set: Slot.set }
}

let CT // the symbol that carries a CType (set by init)
let ctypeOf // CType -> public ctype
let resolve // (ct, params, what) -> CType

/** What a JavaScript value is, for messages. */
function kindOf(v) {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (typeof v === 'object' || typeof v === 'function') {
    const t = typeOfValue(v)
    if (t !== undefined) return `cdata<${T.spell(t)}>`
    if (Buffer.isBuffer(v)) return 'a Buffer'
    if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`
    if (Array.isArray(v)) return 'an array'
    return typeof v === 'function' ? 'a function' : 'an object'
  }
  return typeof v
}

/** The CType of a cdata (struct, array, pointer, box, known TypedArray), else undefined. */
function typeOfValue(v) {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return undefined
  if (ArrayBuffer.isView(v)) return typedArrays.get(v)
  const t = v[CT]
  return t instanceof T.CType ? t : undefined
}

function cannot(v, t, where) {
  return error('ERR_INVALID_ARG_TYPE', `${where}: cannot convert ${kindOf(v)} to ${t === undefined ? 'a pointer' : T.spell(t)}`)
}

// ---- memory ----

function dataViewOf(ab) {
  let dv = dataViews.get(ab)
  if (dv === undefined) {
    dv = new DataView(ab)
    dataViews.set(ab, dv)
  }
  return dv
}

/** The address of byte `o` of `dv` (a number, or a bigint past 2^53). */
function addressIn(dv, o) {
  const ab = dv.buffer
  let base = bases.get(ab)
  if (base === undefined) {
    base = ab.byteLength > 0 ? ffi.addressBigInt(new Uint8Array(ab, 0, 1)) : 0n
    base = base <= BigInt(MAX_SAFE) ? Number(base) : base
    bases.set(ab, base)
  }
  const off = dv.byteOffset + o
  if (typeof base === 'number' && base + off <= MAX_SAFE) return base + off
  return BigInt(base) + BigInt(off)
}

// Small objects' slabs: SLAB bytes each, for objects of up to SMALL bytes.
const SLAB = 4096
const SMALL = 256
let slab
let slabUsed = 0
const { markAsUntransferable } = require('node:worker_threads')

/** Zero-filled memory that the garbage collector frees: [dv, offset]. */
function allocate(size, align) {
  if (size <= SMALL && align <= 16) {
    // Small objects share slabs: one ArrayBuffer (and DataView) for many,
    // alive while any of them is.
    const at = Math.ceil(slabUsed / align) * align
    if (slab === undefined || at + size > SLAB) {
      const ab = new ArrayBuffer(SLAB)
      // As Node's own Buffer pool: not transferable, since other objects live in it.
      if (markAsUntransferable !== undefined) markAsUntransferable(ab)
      slab = new DataView(ab)
      dataViews.set(ab, slab)
      slabUsed = 0
      const o = 0
      slabUsed = size > 0 ? size : 1
      return [slab, o]
    }
    slabUsed = at + (size > 0 ? size : 1)
    return [slab, at]
  }
  const n = size > 0 ? size : 1
  // Node's allocator gives 16-byte alignment; more is made by hand.
  const extra = align > 16 ? align : 0
  const ab = new ArrayBuffer(n + extra)
  const dv = dataViewOf(ab)
  let o = 0
  if (extra) {
    const a = addressIn(dv, 0)
    o = Number((BigInt(align) - (BigInt(a) % BigInt(align))) % BigInt(align))
  }
  return [dv, o]
}

/**
 * `allocate` for an object of 1 to SMALL bytes, aligned to at most 16, as
 * generated code calls it: its offset in the slab that `currentSlab()`
 * then returns (no array made per object).
 */
function allocSmall(size, align) {
  const at = Math.ceil(slabUsed / align) * align
  if (slab !== undefined && at + size <= SLAB) {
    slabUsed = at + size
    return at
  }
  return allocate(size, align)[1]
}

function currentSlab() {
  return slab
}

/**
 * A view of `size` bytes of foreign memory at address `a`: [dv, offset].
 * Needs Buffers over foreign memory (the raw module's region views).
 */
function mapAddress(a, size, what) {
  if (a === 0 || a === 0n) throw error('ERR_INVALID_ARG_VALUE', `${what}: NULL pointer dereference`)
  try {
    if (typeof a === 'number') {
      const dv = pageOf(a, size)
      if (dv !== undefined) return [dv, a - Math.floor(a / PAGE) * PAGE]
    }
    const b = ffi.fromAddress(a, size > 0 ? size : 1)
    const dv = dataViewOf(b.buffer)
    foreignViews.add(dv)
    return [dv, b.byteOffset]
  } catch (e) {
    if (e === null || typeof e !== 'object' || e.code !== 'ERR_FFI_NO_EXTERNAL_BUFFERS') throw e
    throw error('ERR_FFI_NO_EXTERNAL_BUFFERS', `${what}: this runtime refuses Buffers over foreign memory, which reading or writing it in place needs; copy it instead: bytes(ptr, len), string(ptr[, len]), copy(dst, src, len) and fill(ptr, len) work here`)
  }
}

/** The DataViews made over foreign memory: a pointer or view over one keeps nothing alive. */
const foreignViews = new WeakSet()

/**
 * The DataView of the page that holds `size` bytes at address `a` (a
 * number, not 0), from a small cache; undefined if they cross a page. Its
 * offset there is `a - floor(a / PAGE) * PAGE` (`%` on a double is a call).
 */
function pageOf(a, size) {
  const k = Math.floor(a / PAGE)
  if (a - k * PAGE + size > PAGE) return undefined
  const i = k & (PAGES - 1)
  // (A page whose ArrayBuffer was detached is made again.)
  if (pageKeys[i] !== k || pageBytes[i].length === 0) {
    const b = ffi.fromAddress(k * PAGE, PAGE)
    pageViews[i] = new DataView(b.buffer, b.byteOffset, PAGE)
    foreignViews.add(pageViews[i])
    pageKeys[i] = k
    pageBytes[i] = new Uint8Array(b.buffer, b.byteOffset, 1)
  }
  return pageViews[i]
}

// The page views mapAddress keeps: a direct-mapped cache of PAGES pages.
// A view of foreign memory reads it only when asked, as C would.
const PAGE = 4096
const PAGES = 256
const pageKeys = new Float64Array(PAGES).fill(-1)
const pageViews = new Array(PAGES).fill(undefined)
// (a byte of each: its length is 0 once the page's ArrayBuffer is detached,
// read inline where an ArrayBuffer's byteLength is a builtin call)
const pageBytes = new Array(PAGES).fill(undefined)

/** An address as this module keeps it: a number below 2^53, else a bigint. */
function normAddress(a) {
  if (typeof a === 'bigint') return a <= BigInt(MAX_SAFE) ? Number(a) : a
  return a
}

function addAddress(a, d) {
  if (typeof a === 'number' && typeof d === 'number') {
    const r = a + d
    if (Number.isSafeInteger(r) && r >= 0) return r
  }
  return normAddress(BigInt.asUintN(P * 8, BigInt(a) + BigInt(d)))
}

// ---- scalar codecs: generated readers and writers per type ----

/** A JavaScript expression that reads a value of type `t` at `dv`, `at`. */
function readExpr(t, dv, at, ref) {
  t = t.base
  switch (t.kind) {
    case 'bool':
      return `(${dv}.getUint8(${at}) !== 0)`
    case 'enum':
      if (!t.complete) return `H.incomplete(${ref(t)})`
      return readExpr(t.element, dv, at, ref)
    case 'int':
      switch (t.size) {
        case 1:
          return `${dv}.get${t.unsigned ? 'Uint' : 'Int'}8(${at})`
        case 2:
        case 4:
          return `${dv}.get${t.unsigned ? 'Uint' : 'Int'}${t.size * 8}(${at}, ${LE})`
        case 8:
          return `${dv}.getBig${t.unsigned ? 'Uint' : 'Int'}64(${at}, ${LE})`
        default:
          return `H.readWide(${dv}, ${at}, ${t.size}, ${t.unsigned})`
      }
    case 'float':
      if (t.size === 4) return `${dv}.getFloat32(${at}, ${LE})`
      if (t.size === 8) return `${dv}.getFloat64(${at}, ${LE})`
      return `H.readLongDouble(${dv}, ${at}, ${ref(t)})`
    case 'complex':
      return `H.readComplex(${dv}, ${at}, ${ref(t)})`
    case 'pointer':
      return `H.readPointer(${dv}, ${at}, ${ref(t)})`
    case 'struct':
    case 'union':
      // The class itself, so that V8 sees the allocation (and can remove it).
      return t.complete ? `new ${ref(structClass(t))}(${dv}, ${at})` : `H.view(${ref(t)}, ${dv}, ${at})`
    case 'array':
      return `H.arrayView(${ref(t)}, ${dv}, ${at})`
    default:
      return `H.opaque(${ref(t)})`
  }
}

/**
 * A JavaScript statement that writes `v` (of type `t`) at `dv`, `at`;
 * `where` names it in errors. `conv` gives the code of a conversion off the
 * fast path: by default a call of the helper with the type and `where`; for
 * generated accessors, a closure of one argument made for the field (less
 * bytecode, so that V8 inlines more accessors into one function).
 */
function writeStmt(t, dv, at, v, where, ref, conv) {
  t = t.base
  const W = ref(where)
  if (conv === undefined) conv = (fn, ct) => (fn === 'toBool' ? `H.toBool(${v}, ${W})` : `H.${fn}(${v}, ${ref(ct)}, ${W})`)
  switch (t.kind) {
    case 'bool':
      return `${dv}.setUint8(${at}, typeof ${v} === 'boolean' ? +${v} : ${conv('toBool', T.BOOL)});`
    case 'enum':
      if (!t.complete) return `H.incomplete(${ref(t)});`
      // Errors name the enum, not the integer type under it.
      return writeStmt(t.element, dv, at, v, where, (x) => ref(x === t.element.base ? t : x), (fn) => conv(fn, t))
    case 'int': {
      switch (t.size) {
        case 1:
        case 2:
        case 4: {
          const m = `set${t.unsigned ? 'Uint' : 'Int'}${t.size * 8}`
          const e = t.size === 1 ? '' : `, ${LE}`
          return `${dv}.${m}(${at}, typeof ${v} === 'number' ? ${v} : ${conv('toInt', t)}${e});`
        }
        case 8:
          // A bigint as it is; a number without making a bigint.
          return `if (typeof ${v} === 'bigint') ${dv}.setBig${t.unsigned ? 'Uint' : 'Int'}64(${at}, ${v}, ${LE}); else H.writeInt64(${dv}, ${at}, ${v}, ${ref(t)}, ${W});`
        default:
          return `H.writeWide(${dv}, ${at}, ${t.size}, ${conv('toBigInt', t)});`
      }
    }
    case 'float': {
      const R = ref(t)
      if (t.size === 4) return `${dv}.setFloat32(${at}, typeof ${v} === 'number' ? ${v} : ${conv('toFloat', t)}, ${LE});`
      if (t.size === 8) return `${dv}.setFloat64(${at}, typeof ${v} === 'number' ? ${v} : ${conv('toFloat', t)}, ${LE});`
      return `H.writeLongDouble(${dv}, ${at}, ${R}, ${conv('toFloat', t)});`
    }
    case 'complex':
      return `H.writeComplex(${dv}, ${at}, ${ref(t)}, ${v}, ${W});`
    case 'pointer':
      return `H.writePointer(${dv}, ${at}, ${ref(t)}, ${v}, ${W});`
    case 'struct':
    case 'union':
    case 'array':
      return `H.initialize(${ref(t)}, ${dv}, ${at}, [${v}], ${W}, undefined);`
    default:
      return `H.opaque(${ref(t)});`
  }
}

/**
 * A `conv` for writeStmt in generated accessors: the slow conversion of
 * `v` is a call of a closure of one argument, made here for `where`.
 */
function accessorConv(v, where, ref) {
  return (fn, ct) => {
    let f
    switch (fn) {
      case 'toBool':
        f = (x) => toBool(x, where)
        break
      case 'toInt':
        f = (x) => toInt(x, ct, where)
        break
      case 'toBigInt':
        f = (x) => toBigInt(x, ct, where)
        break
      default:
        f = (x) => toFloat(x, ct, where)
    }
    return `${ref(f)}(${v})`
  }
}

/**
 * Compiles generated code: `body` is a function body that refers to the
 * helpers as H and to values `refs` as R0, R1... It returns what the body
 * returns. The uid in the source keeps V8 from sharing one compiled
 * function (and its type feedback) between types.
 */
function compile(body, refs, uid) {
  const names = refs.map((_, i) => `R${i}`)
  return new Function('H', 'kDV', 'kO', 'kN', 'kA', 'kV', 'kW', 'kWO', 'kWN', 'kB', ...names, `'use strict'\n// type ${uid}\n${body}`)(H, kDV, kO, kN, kA, kV, kW, kWO, kWN, kB, ...refs)
}

/** A `ref` function for readExpr/writeStmt that collects values into `refs`. */
function referrer(refs) {
  return (value) => {
    let i = refs.indexOf(value)
    if (i < 0) i = refs.push(value) - 1
    return `R${i}`
  }
}

/** Per-type read(dv, at) and write(dv, at, v, where) functions. */
function codec(t) {
  t = t.base
  if (t.cache === undefined) t.cache = {}
  if (t.cache.read === undefined) {
    const refs = []
    const ref = referrer(refs)
    const W = '__where__'
    const body = `return { read: function read(dv, at) { return ${readExpr(t, 'dv', 'at', ref)} },
      write: function write(dv, at, v, where) { ${writeStmt(t, 'dv', 'at', 'v', W, ref).split(ref(W)).join('where')} } }`
    const c = compile(body, refs, t.uid)
    t.cache.read = c.read
    t.cache.write = c.write
  }
  return t.cache
}

function read(t, dv, at) {
  return codec(t).read(dv, at)
}

/**
 * `new(t, v)` for a scalar type of 1 to 8 bytes (an integer, enum, bool,
 * float or double), generated once per type: the box's bytes from the
 * current slab, the value written by the type's own statement, the box
 * class called directly (no rest array, no [dv, o] pair, no codec lookup).
 * null for other types, which take create().
 */
function scalarMaker(t) {
  if (t.cache === undefined) t.cache = {}
  if (t.cache.make !== undefined) return t.cache.make
  const b = t.base
  let make = null
  const scalar = b.kind === 'int' || b.kind === 'float' || b.kind === 'bool' || (b.kind === 'enum' && b.complete)
  if (scalar && b.size >= 1 && b.size <= 8 && b.align <= 16) {
    const refs = []
    const ref = referrer(refs)
    const where = whereOf('new', t)
    const stmt = writeStmt(t, 'd', 'o', 'v', where, ref, accessorConv('v', where, ref))
    make = compile(`return function make(v) { const o = H.allocSmall(${b.size}, ${b.align}); const d = H.currentSlab(); ${stmt} return new ${ref(boxClass(t))}(d, o) }`, refs, t.uid)
  }
  t.cache.make = make
  return make
}

function write(t, dv, at, v, where) {
  codec(t).write(dv, at, v, where)
}

// ---- conversions JavaScript -> C (the slow paths of the generated code) ----

function toInt(v, t, where) {
  switch (typeof v) {
    case 'number':
      return v
    case 'bigint':
      return Number(t.unsigned ? BigInt.asUintN(32, v) : BigInt.asIntN(32, v))
    case 'boolean':
      return v ? 1 : 0
    case 'object':
      // An integer or bool cdata (a bool is an integer in C: CCX(I, B) in LuaJIT).
      if (v instanceof Box && v[CT].base.kind !== 'float') {
        const x = v.value
        return typeof x === 'boolean' ? +x : toInt(x, t, where)
      }
  }
  throw cannot(v, t, where)
}

/** Writes a 64-bit integer from a number (a safe integer split in two halves), or through toBigInt. */
function writeInt64(dv, at, v, t, where) {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    const hi = Math.floor(v / 0x100000000)
    const lo = v - hi * 0x100000000
    dv.setUint32(at + (LE ? 0 : 4), lo, LE)
    dv.setInt32(at + (LE ? 4 : 0), hi, LE)
    return
  }
  dv.setBigUint64(at, BigInt.asUintN(64, toBigInt(v, t, where)), LE)
}

function toBigInt(v, t, where) {
  switch (typeof v) {
    case 'bigint':
      return v
    case 'number':
      return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n
    case 'boolean':
      return v ? 1n : 0n
    case 'object':
      if (v instanceof Box && v[CT].base.kind !== 'float') {
        const x = v.value
        return typeof x === 'boolean' ? BigInt(x) : toBigInt(x, t, where)
      }
  }
  throw cannot(v, t, where)
}

function toFloat(v, t, where) {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Box) {
    const x = v.value
    if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return Number(x)
  }
  throw cannot(v, t, where)
}

function toBool(v, where) {
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'number') return v !== 0 ? 1 : 0
  if (v instanceof Box) {
    const x = v.value
    if (typeof x === 'boolean') return x ? 1 : 0
    if (typeof x === 'number') return x !== 0 ? 1 : 0
  }
  throw cannot(v, T.BOOL, where)
}

/** Integers wider than 64 bits (__int128), as bigints. */
function readWide(dv, at, size, unsigned) {
  let r = 0n
  for (let i = 0; i < size; i++) r = (r << 8n) | BigInt(dv.getUint8(at + (LE ? size - 1 - i : i)))
  return unsigned ? r : BigInt.asIntN(size * 8, r)
}

function writeWide(dv, at, size, v) {
  v = BigInt.asUintN(size * 8, v)
  for (let i = 0; i < size; i++) {
    dv.setUint8(at + (LE ? i : size - 1 - i), Number(v & 0xffn))
    v >>= 8n
  }
}

/**
 * `long double`: the x87 80-bit format where it is more than 8 bytes
 * (x86), IEEE binary128 elsewhere (AArch64 Linux); a double where it is one.
 */
function readLongDouble(dv, at, t) {
  if (t.size === 8) return dv.getFloat64(at, LE)
  if (T.LONGDOUBLE !== t || !(process.arch === 'x64' || process.arch === 'ia32')) {
    // binary128: sign, 15-bit exponent, 112-bit fraction
    const bits = readWide(dv, at, 16, true)
    const sign = bits >> 127n ? -1 : 1
    const exp = Number((bits >> 112n) & 0x7fffn)
    const frac = bits & ((1n << 112n) - 1n)
    if (exp === 0x7fff) return frac ? NaN : sign * Infinity
    const mant = Number(frac >> 60n) / 2 ** 52 // 52 bits, the rest rounds away
    if (exp === 0) return sign * mant * 2 ** -16382
    return sign * (1 + mant) * 2 ** (exp - 16383)
  }
  const se = dv.getUint16(at + 8, LE)
  const mant = dv.getBigUint64(at, LE)
  const sign = se & 0x8000 ? -1 : 1
  const exp = se & 0x7fff
  if (exp === 0x7fff) return mant & ((1n << 63n) - 1n) ? NaN : sign * Infinity
  if (mant === 0n) return sign * 0
  return sign * Number(mant) * 2 ** (exp - 16383 - 63)
}

function writeLongDouble(dv, at, t, x) {
  if (t.size === 8) return dv.setFloat64(at, x, LE)
  for (let i = 0; i < t.size; i++) dv.setUint8(at + i, 0)
  const f = new DataView(new ArrayBuffer(8))
  f.setFloat64(0, x)
  const hi = f.getUint32(0)
  const sign = hi >>> 31
  const e = (hi >>> 20) & 0x7ff
  const frac = f.getBigUint64(0) & ((1n << 52n) - 1n)
  let exp
  let mant // with the explicit integer bit (x87) or the fraction (binary128)
  if (e === 0x7ff) {
    exp = 0x7fff
    mant = frac ? 1n << 51n : 0n
  } else if (e === 0 && frac === 0n) {
    exp = 0
    mant = 0n
  } else if (e === 0) {
    // a subnormal double is a normal long double
    const lz = 52 - frac.toString(2).length
    exp = 1 - 1023 - lz - 1 + 16383
    mant = (frac << BigInt(lz + 1)) & ((1n << 52n) - 1n)
  } else {
    exp = e - 1023 + 16383
    mant = frac
  }
  if (T.LONGDOUBLE !== t || !(process.arch === 'x64' || process.arch === 'ia32')) {
    writeWide(dv, at, 16, (BigInt(sign) << 127n) | (BigInt(exp) << 112n) | (mant << 60n))
    return
  }
  const m64 = exp === 0 && mant === 0n ? 0n : e === 0x7ff ? (1n << 63n) | (mant << 11n) : (1n << 63n) | (mant << 11n)
  dv.setBigUint64(at, m64, LE)
  dv.setUint16(at + 8, (sign << 15) | exp, LE)
}

function readComplex(dv, at, t) {
  const e = t.element
  return { re: read(e, dv, at), im: read(e, dv, at + e.size) }
}

function writeComplex(dv, at, t, v, where) {
  const e = t.element
  if (typeof v === 'number' || typeof v === 'bigint') {
    write(e, dv, at, v, where)
    write(e, dv, at + e.size, 0, where)
    return
  }
  if (typeof v === 'object' && v !== null) {
    const re = Array.isArray(v) ? v[0] : v.re
    const im = Array.isArray(v) ? v[1] : v.im
    write(e, dv, at, re === undefined ? 0 : re, where)
    write(e, dv, at + e.size, im === undefined ? 0 : im, where)
    return
  }
  throw cannot(v, t, where)
}

function opaque(t) {
  throw error('ERR_INVALID_ARG_TYPE', `${T.spell(t)} has no JavaScript value (an opaque type)`)
}

function incomplete(t) {
  throw error('ERR_FFI_UNKNOWN_TYPE', `${T.spell(t)} is an incomplete type`)
}

// ---- pointers ----

/** Reads a pointer stored at dv, at: a pointer cdata of type `t`, or null. */
function readPointer(dv, at, t) {
  let a
  if (P === 8) {
    const lo = dv.getUint32(at + (LE ? 0 : 4), LE)
    const hi = dv.getUint32(at + (LE ? 4 : 0), LE)
    if (hi === 0 && lo === 0) return null
    a = hi < 0x200000 ? hi * 0x100000000 + lo : (BigInt(hi) << 32n) | BigInt(lo)
  } else {
    a = dv.getUint32(at, LE)
    if (a === 0) return null
  }
  return makePointer(t, a, undefined, 0)
}

/**
 * readPointer for generated code that knows the pointer's class `C` and its
 * target's size: a pointer whose page is in the page cache starts with that
 * page as its window, so that its first get/at/set reads at once instead of
 * locating it (a callback's pointer arguments, read once per call). A page
 * not cached is left to be mapped when first read, as readPointer does.
 */
function readPointerOf(C, dv, at, size) {
  if (P !== 8) return readPointer(dv, at, C.prototype[CT])
  const lo = dv.getUint32(at + (LE ? 0 : 4), LE)
  const hi = dv.getUint32(at + (LE ? 4 : 0), LE)
  if (hi === 0 && lo === 0) return null
  if (hi >= 0x200000) return makePointer(C.prototype[CT], (BigInt(hi) << 32n) | BigInt(lo), undefined, 0)
  const a = hi * 0x100000000 + lo
  const w = pageHit(a, size)
  return w === undefined ? new C(a, undefined, 0, undefined, 0, 0) : new C(a, undefined, 0, w, a - Math.floor(a / PAGE) * PAGE, PAGE)
}

/** The page cache's view of the page holding `size` bytes at address `a` (a number), or undefined on a miss. */
function pageHit(a, size) {
  const k = Math.floor(a / PAGE)
  const i = k & (PAGES - 1)
  if (size > 0 && a - k * PAGE + size <= PAGE && pageKeys[i] === k && pageBytes[i].length !== 0) return pageViews[i]
  return undefined
}

function storeAddress(dv, at, a) {
  if (P === 8) {
    if (typeof a === 'number') {
      // (An address is a whole number below 2^53: `>>> 0` is its low word,
      // exactly, in one instruction, where `%` on a double is a C call.)
      const lo = a >>> 0
      dv.setUint32(at + (LE ? 0 : 4), lo, LE)
      dv.setUint32(at + (LE ? 4 : 0), (a - lo) / 0x100000000, LE)
    } else dv.setBigUint64(at, BigInt.asUintN(64, a), LE)
  } else dv.setUint32(at, Number(BigInt.asUintN(32, BigInt(a))), LE)
}

/**
 * The address a value gives a pointer of type `t`, with what memory it
 * keeps ([address, dv, o]; dv undefined for foreign memory); throws for
 * what does not convert.
 */
function pointerSource(v, t, where) {
  if (v === null || v === undefined) return [0, undefined, 0]
  if (typeof v === 'object') {
    if (v instanceof Pointer) return [v[kA], v[kDV], v[kO]]
    if (v instanceof CStruct || v instanceof CArray) {
      if (v instanceof CStruct && t !== undefined && !compatibleTarget(t, v[CT])) throw cannot(v, t, where)
      return [addressIn(v[kDV], v[kO]), v[kDV], v[kO]]
    }
    if (v instanceof Box) {
      if (t === undefined) return [addressIn(v[kDV], v[kO]), v[kDV], v[kO]]
      throw cannot(v, t, where)
    }
    if (ArrayBuffer.isView(v)) {
      const n = v.byteLength
      if (n === 0) {
        // a zero-length pointer Buffer of the raw module, or an empty view
        const a = normAddress(ffi.addressBigInt(v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, 0)))
        return [a, undefined, 0]
      }
      const dv = dataViewOf(v.buffer)
      return [addressIn(dv, v.byteOffset), dv, v.byteOffset]
    }
    if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) {
      const dv = dataViewOf(v)
      return [addressIn(dv, 0), dv, 0]
    }
  }
  throw cannot(v, t, where)
}

function compatibleTarget(pt, st) {
  const target = pt.base.target.base
  return target.kind === 'void' || target === st.base || (target.kind === st.base.kind && T.spell(target) === T.spell(st.base))
}

function writePointer(dv, at, t, v, where) {
  if (typeof v === 'string') {
    throw error('ERR_INVALID_ARG_TYPE', `${where}: cannot convert string to ${T.spell(t)} here (the copy would not outlive this statement): store a Buffer that you keep, e.g. ffi.new('char[?]', n, string)`)
  }
  if (typeof v === 'function' && typeOfValue(v) === undefined) {
    throw error('ERR_INVALID_ARG_TYPE', `${where}: cannot convert a function to ${T.spell(t)} here: use ffi.cast('${T.spell(t)}', fn)`)
  }
  storeAddress(dv, at, pointerSource(v, t, where)[0])
}

// ---- base classes ----

/** Struct and union cdata: a view of `dv` at `o`. */
class CStruct {
  constructor(dv, o) {
    this[kDV] = dv
    this[kO] = o
  }
}

/** Arrays other than TypedArrays: `n` elements at `dv`, `o`. */
class CArray {
  constructor(dv, o, n) {
    this[kDV] = dv
    this[kO] = o
    this[kN] = n
  }
}

/** A scalar: `new('int', 5)`, `cast('int64_t', x)`. */
class Box {
  constructor(dv, o) {
    this[kDV] = dv
    this[kO] = o
  }
}

/**
 * A pointer: address `a`; `dv`, `o` when it points into memory this module
 * owns (kept alive). Its window (`kW`, `kWO`, `kWN` its length) is the memory its accesses
 * last went through, and the offset of `a` in it (possibly outside it): the
 * memory it keeps, or a region view of foreign memory mapped once and
 * reused by every access it covers (and by pointers made from this one
 * with add and sub). `kV` is the struct view that `deref()` made.
 */
class Pointer {
  constructor(a, dv, o, w, wo, wn) {
    this[kA] = a
    this[kDV] = dv
    this[kO] = o
    this[kV] = undefined
    this[kW] = w
    this[kWO] = wo
    this[kWN] = wn > 0 ? wn : 0
  }
}

function hex(a) {
  return `0x${a.toString(16).padStart(P * 2, '0')}`
}

function spellValue(v) {
  const t = v[CT]
  const mt = t.base.cache !== undefined ? t.base.cache.mt : undefined
  if (mt !== undefined && typeof mt.__tostring === 'function') return String(mt.__tostring.call(v, v))
  return `cdata<${T.spell(t)}>: ${hex(v instanceof Pointer ? v[kA] : addressIn(v[kDV], v[kO]))}`
}

for (const C of [CStruct, CArray, Box, Pointer]) {
  Object.defineProperty(C.prototype, 'toString', {
    value: function toString() {
      return spellValue(this)
    },
    writable: true,
    configurable: true,
  })
  Object.defineProperty(C.prototype, util.inspect.custom, {
    value: function inspect() {
      return spellValue(this)
    },
    writable: true,
    configurable: true,
  })
}

Object.defineProperty(CStruct.prototype, 'toJSON', {
  value: function toJSON() {
    const o = {}
    for (const f of this[CT].base.fields) o[f.name] = jsonOf(this[f.name])
    return o
  },
  writable: true,
  configurable: true,
})

function jsonOf(v) {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Pointer) return v.address.toString()
  if (v instanceof CStruct || v instanceof CArray) return v.toJSON()
  if (ArrayBuffer.isView(v)) return Array.from(v, jsonOf)
  return v
}

// ---- struct classes ----

/** The class of a struct or union type's cdata (made once per type). */
function structClass(t) {
  t = t.base
  if (!t.complete) incomplete(t)
  if (t.cache === undefined) t.cache = {}
  if (t.cache.cls !== undefined) return t.cache.cls
  const refs = []
  const ref = referrer(refs)
  const spelled = T.spell(t)
  // A variable-length struct's instances carry their element count.
  // Its own constructor, no `extends` (the base is set on the prototype
  // chain below): V8 (12) removes the allocation of a view only for an
  // instance of a base class.
  const ctor = t.vla
    ? 'constructor(dv, o, n) { this[kDV] = dv; this[kO] = o; this[kN] = n }'
    : 'constructor(dv, o) { this[kDV] = dv; this[kO] = o }'
  let members = ''
  const names = new Set()
  for (const f of t.fields) {
    if (f.name === undefined || names.has(f.name)) continue
    names.add(f.name)
    const key = JSON.stringify(f.name)
    const where = ref(`${spelled}.${f.name}`)
    const at = f.offset === 0 ? 'this[kO]' : `this[kO] + ${f.offset}`
    let get
    let set
    if (f.bitSize !== undefined) {
      get = `return H.readBits(this[kDV], ${at}, ${ref(f)})`
      set = `H.writeBits(this[kDV], ${at}, ${ref(f)}, v, ${where})`
    } else if (t.vla && f === t.fields[t.fields.length - 1]) {
      // Its length known (a cdata from new), a view; else (a view through
      // a pointer) a pointer to its first element, unchecked as in C.
      get = `return this[kN] !== undefined ? H.arrayView(${ref(f.type)}, this[kDV], ${at}, this[kN]) : H.flexible(${ref(T.pointerTo(f.type.base.element))}, this[kDV], ${at})`
      set = `H.initialize(${ref(f.type)}, this[kDV], ${at}, [v], ${where}, this[kN])`
    } else {
      get = `return ${readExpr(f.type, 'this[kDV]', at, ref)}`
      const name = `${spelled}.${f.name}`
      set = writeStmt(f.type, 'this[kDV]', at, 'v', name, ref, accessorConv('v', name, ref))
    }
    members += `get [${key}]() { ${get} }\nset [${key}](v) { ${set} }\n`
  }
  const cls = compile(`return class CData { ${ctor}\n${members} }`, [...refs], t.uid)
  Object.setPrototypeOf(cls.prototype, CStruct.prototype)
  Object.defineProperty(cls.prototype, CT, { value: t })
  t.cache.fieldNames = names
  t.cache.cls = cls
  if (t.cache.mt !== undefined) applyMetatype(t, cls.prototype, t.cache.mt, false)
  return cls
}

function view(t, dv, at) {
  const C = structClass(t)
  return new C(dv, at)
}

// ---- bitfields ----

function readBits(dv, at, f) {
  const t = f.type.base
  const nbytes = Math.ceil((f.bitOffset + f.bitSize) / 8)
  let value
  if (nbytes <= 4 && f.bitSize <= 32) {
    let u = 0
    for (let i = 0; i < nbytes; i++) u += dv.getUint8(at + (LE ? i : i)) * 2 ** (8 * (LE ? i : nbytes - 1 - i))
    const shift = LE ? f.bitOffset : nbytes * 8 - f.bitOffset - f.bitSize
    u = Math.floor(u / 2 ** shift) % 2 ** f.bitSize
    const signed = !(t.unsigned || t.kind === 'bool' || (t.kind === 'enum' && t.unsigned))
    if (signed && u >= 2 ** (f.bitSize - 1)) u -= 2 ** f.bitSize
    value = u
    if (t.kind === 'bool') return u !== 0
    if (t.size === 8) return BigInt(u)
    return value
  }
  let u = 0n
  for (let i = 0; i < nbytes; i++) u |= BigInt(dv.getUint8(at + i)) << BigInt(8 * (LE ? i : nbytes - 1 - i))
  const shift = LE ? f.bitOffset : nbytes * 8 - f.bitOffset - f.bitSize
  u = (u >> BigInt(shift)) & ((1n << BigInt(f.bitSize)) - 1n)
  if (!t.unsigned) u = BigInt.asIntN(f.bitSize, u)
  return t.size === 8 ? u : Number(u)
}

function writeBits(dv, at, f, v, where) {
  const t = f.type.base
  let x
  if (t.kind === 'bool') x = BigInt(toBool(v, where))
  else x = BigInt.asUintN(f.bitSize, toBigInt(typeof v === 'number' ? Math.trunc(v) : v, t, where))
  const nbytes = Math.ceil((f.bitOffset + f.bitSize) / 8)
  let u = 0n
  for (let i = 0; i < nbytes; i++) u |= BigInt(dv.getUint8(at + i)) << BigInt(8 * (LE ? i : nbytes - 1 - i))
  const shift = BigInt(LE ? f.bitOffset : nbytes * 8 - f.bitOffset - f.bitSize)
  const mask = ((1n << BigInt(f.bitSize)) - 1n) << shift
  u = (u & ~mask) | ((x << shift) & mask)
  for (let i = 0; i < nbytes; i++) dv.setUint8(at + i, Number((u >> BigInt(8 * (LE ? i : nbytes - 1 - i))) & 0xffn))
}

// ---- arrays ----

const TYPED = {
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
  f4: Float32Array,
  f8: Float64Array,
}

/** The TypedArray class for an array of `e`, or undefined. */
function typedClass(e) {
  e = e.base
  if (e.kind === 'enum' && e.complete) e = e.element.base
  if (e.kind === 'int' && e.size <= 8) return TYPED[`${e.unsigned ? 'u' : 'i'}${e.size}`]
  if (e.kind === 'float' && (e.size === 4 || e.size === 8) && e !== T.LONGDOUBLE) return TYPED[`f${e.size}`]
  return undefined
}

/** The cdata of an array of type `t` at dv, at, with `n` elements (a VLA's count). */
function arrayView(t, dv, at, n) {
  const b = t.base
  if (n === undefined) n = b.length === undefined ? 0 : b.length
  const TA = typedClass(b.element)
  if (TA !== undefined && (dv.byteOffset + at) % TA.BYTES_PER_ELEMENT === 0) {
    const a = new TA(dv.buffer, dv.byteOffset + at, n)
    typedArrays.set(a, t)
    return a
  }
  const C = arrayClass(t)
  return new C(dv, at, n, boundsOf(b, dv, at, n))
}

/**
 * The bounds of array cdata: a Uint8Array of its `n` elements, which its
 * generated at/get/set index (`bounds[i] === undefined` is the check). V8
 * compiles that load into a bounds check that deoptimizes rather than
 * branches, and a loop over `arr.at(i)` then keeps what it can hoist out
 * of the loop (an explicit `i < n` with a throwing path costs a third of
 * the image benchmark's pass on Node 26: benchmark/image.js). A fixed-size
 * array type shares one per type; other arrays get one over their own
 * first `n` bytes (no memory of its own), or a fresh one when they have
 * fewer bytes than elements (zero-size elements) or their memory is gone
 * (an empty one then: every index takes the slow check).
 */
function boundsOf(b, dv, at, n) {
  if (n === b.length && n <= 4096) {
    if (b.cache.bounds === undefined) b.cache.bounds = new Uint8Array(n)
    return b.cache.bounds
  }
  const m = bytesOf(dv)
  if (!m[3] && b.element.base.size >= 1 && at >= 0 && at + n <= m[2]) return new Uint8Array(m[0], m[1] + at, n)
  return n <= 4096 ? new Uint8Array(n) : new Uint8Array(0)
}

/**
 * `arr[i]` for array cdata: the prototype chain ends in a Proxy, which is
 * reached only for properties the array does not have (its indices), so
 * that `at`, `get`, `length` stay plain property accesses.
 */
const indexer = new Proxy(Object.create(null), {
  get(target, key, receiver) {
    if (typeof key === 'string') {
      const i = indexOf(key)
      if (i !== undefined) return receiver.at(i)
    }
    return Reflect.get(Object.prototype, key, receiver)
  },
  set(target, key, value, receiver) {
    if (typeof key === 'string') {
      const i = indexOf(key)
      if (i !== undefined) {
        receiver.set(i, value)
        return true
      }
    }
    Object.defineProperty(receiver, key, { value, writable: true, enumerable: true, configurable: true })
    return true
  },
  has(target, key) {
    return typeof key === 'string' && indexOf(key) !== undefined
  },
})

function indexOf(key) {
  const c = key.charCodeAt(0)
  if (c < 48 || c > 57) return undefined
  const i = Number(key)
  return Number.isSafeInteger(i) && String(i) === key ? i : undefined
}
Object.setPrototypeOf(CArray.prototype, indexer)

function index(i, n, what) {
  if (typeof i === 'number') {
    if (Number.isInteger(i) && i >= 0 && i < n) return i
  } else if (typeof i === 'bigint') {
    if (i >= 0n && i < BigInt(n)) return Number(i)
  } else throw error('ERR_INVALID_ARG_TYPE', `${what}: an index is a number or a bigint, got ${kindOf(i)}`)
  throw error('ERR_OUT_OF_RANGE', `${what}: index ${i} is outside 0..${n - 1}`)
}

/** The index `i` of array cdata `a`, checked (the generated code's slow path). */
function ix(a, i) {
  return index(i, a[kN], T.spell(a[CT]))
}

/** The class of array cdata of type `t` (made once per type). */
function arrayClass(t) {
  t = t.base
  if (t.cache === undefined) t.cache = {}
  if (t.cache.cls !== undefined) return t.cache.cls
  const e = t.element
  const es = e.size
  if (es === undefined) incomplete(e)
  const refs = []
  const ref = referrer(refs)
  const spelled = T.spell(t)
  const where = `${spelled} element`
  // The index check in as little bytecode as it takes (see accessorConv):
  // a whole number below 2^32 and the length passes; anything else (a
  // bigint, a larger index) goes to ix.
  const check = `if (typeof i !== 'number' || this[kB][i] === undefined) i = ${ref(ix)}(this, i)`
  const conv = accessorConv('v', where, ref)
  const body = `return class CData {
    constructor(dv, o, n, b) { this[kDV] = dv; this[kO] = o; this[kN] = n; this[kB] = b }
    at(i) { ${check}; return ${readExpr(e, 'this[kDV]', `this[kO] + i * ${es}`, ref)} }
    get(i) { ${check}; return ${readExpr(e, 'this[kDV]', `this[kO] + i * ${es}`, ref)} }
    set(i, v) { ${check}; ${writeStmt(e, 'this[kDV]', `this[kO] + i * ${es}`, 'v', where, ref, conv)} }
    get length() { return this[kN] }
    *[Symbol.iterator]() { for (let i = 0; i < this[kN]; i++) yield this.get(i) }
  }`
  const cls = compile(body, refs, t.uid)
  Object.setPrototypeOf(cls.prototype, CArray.prototype)
  Object.defineProperty(cls.prototype, CT, { value: t })
  t.cache.cls = cls
  return cls
}

// ---- boxes ----

function boxClass(t) {
  if (t.cache === undefined) t.cache = {}
  if (t.cache.box !== undefined) return t.cache.box
  const c = codec(t)
  const where = `${T.spell(t)} value`
  const cls = compile('return class CData { constructor(dv, o) { this[kDV] = dv; this[kO] = o } }', [], t.uid)
  Object.setPrototypeOf(cls.prototype, Box.prototype)
  Object.defineProperty(cls.prototype, CT, { value: t })
  Object.defineProperty(cls.prototype, 'value', {
    get() {
      return c.read(this[kDV], this[kO])
    },
    set(v) {
      c.write(this[kDV], this[kO], v, where)
    },
  })
  t.cache.box = cls
  return cls
}

Object.defineProperty(Box.prototype, 'valueOf', {
  value: function valueOf() {
    return this.value
  },
  writable: true,
  configurable: true,
})
Object.defineProperty(Box.prototype, Symbol.toPrimitive, {
  value: function toPrimitive(hint) {
    const v = this.value
    if (hint === 'string') return typeof v === 'object' && v !== null ? spellValue(this) : String(v)
    return typeof v === 'object' && v !== null ? NaN : v
  },
  configurable: true,
})

function newBox(t, value, where) {
  const [dv, o] = allocate(t.size, t.align)
  const C = boxClass(t)
  const b = new C(dv, o)
  if (value !== undefined) write(t, dv, o, value, where)
  return b
}

// ---- pointer classes ----

function pointerClass(t) {
  if (t.cache === undefined) t.cache = {}
  const target = t.base.target
  const tb = target.base
  // A class made while the target was incomplete is made again once it is
  // complete (a struct declared first and defined by a later cdef).
  if (t.cache.ptr !== undefined && (t.cache.ptrComplete || !tb.complete)) return t.cache.ptr
  const refs = []
  const ref = referrer(refs)
  let members = ''
  if ((tb.kind === 'struct' || tb.kind === 'union') && tb.complete) {
    const names = new Set()
    for (const f of tb.fields) {
      if (f.name === undefined || names.has(f.name) || f.name in Pointer.prototype) continue
      names.add(f.name)
      const key = JSON.stringify(f.name)
      members += `get [${key}]() { return (this[kV] !== undefined ? this[kV] : this.deref(${key}))[${key}] }
        set [${key}](v) { (this[kV] !== undefined ? this[kV] : this.deref(${key}))[${key}] = v }\n`
    }
  }
  const size = tb.size
  if (size > 0 && tb.kind !== 'function' && tb.kind !== 'void') {
    // Element i through the window when it covers it, else locate() maps it.
    const spelled = T.spell(t)
    const locate = (what) => `let o
      if (typeof i !== 'number' || (i | 0) !== i || !((o = this[kWO] + i * ${size}) >= 0 && o + ${size} <= this[kWN])) o = ${ref(locateElement)}(this, i, ${size}, ${what})`
    members += `get(i = 0) { ${locate(ref(`${spelled}.get`))}
        return ${readExpr(target, 'this[kW]', 'o', ref)} }
      at(i = 0) { ${locate(ref(`${spelled}.at`))}
        return ${readExpr(target, 'this[kW]', 'o', ref)} }
      set(i, v) { ${locate(ref(`${spelled}.set`))}
        ${writeStmt(target, 'this[kW]', 'o', 'v', `${spelled} element`, ref, accessorConv('v', `${spelled} element`, ref))} }\n`
    if (tb.kind === 'struct' || tb.kind === 'union') {
      // (field: the field read or written through the pointer, for errors)
      members += `deref(field) {
        if (this[kV] === undefined) { const i = 0; ${locate(`field === undefined ? ${ref(spelled)} : ${ref(spelled)} + '.' + field`)}
          this[kV] = ${readExpr(target, 'this[kW]', 'o', ref)} }
        return this[kV] }\n`
    }
  }
  let cls = compile(`return class CData { constructor(a, dv, o, w, wo, wn) { this[kA] = a; this[kDV] = dv; this[kO] = o; this[kV] = undefined; this[kW] = w; this[kWO] = wo; this[kWN] = wn > 0 ? wn : 0 }\n${members} }`, refs, t.uid)
  const old = t.cache.ptr
  if (old !== undefined) {
    // The target was completed since the class was made: its pointers,
    // those made before included, get the new members.
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(cls.prototype))) if (k !== 'constructor') Object.defineProperty(old.prototype, k, d)
    cls = old
  } else {
    Object.setPrototypeOf(cls.prototype, Pointer.prototype)
    Object.defineProperty(cls.prototype, CT, { value: t })
  }
  t.cache.ptr = cls
  t.cache.ptrComplete = tb.complete === true || (tb.kind !== 'struct' && tb.kind !== 'union' && tb.kind !== 'enum')
  if (!t.cache.ptrComplete) incompletePointers.add(t)
  if ((tb.kind === 'struct' || tb.kind === 'union') && tb.cache !== undefined && tb.cache.mt !== undefined) applyMetatype(tb, cls.prototype, tb.cache.mt, true)
  return cls
}

/** Pointer types whose class was made while their target was incomplete. */
const incompletePointers = new Set()

/** After a cdef: the classes of pointers to what it completed are made again. */
function completed() {
  for (const t of incompletePointers) {
    if (t.base.target.base.complete) {
      incompletePointers.delete(t)
      pointerClass(t)
    }
  }
}

/**
 * A pointer cdata of type `t` at address `a` (null for 0), keeping dv when
 * given; `w`, `wo`, `wn`: a window to start from (add and sub pass theirs
 * on). A view of foreign memory is only its window: it keeps nothing.
 */
function makePointer(t, a, dv, o, w = dv, wo = o, wn = w === undefined ? 0 : w.byteLength) {
  a = normAddress(a)
  if (a === 0) return null
  if (dv !== undefined && foreignViews.has(dv)) {
    dv = undefined
    o = 0
  }
  const C = pointerClass(t)
  return new C(a, dv, o, w, wo, wn)
}

/** makePointer for what a pointer already holds (add, sub): no checks. */
function newPointer(t, a, dv, o, w, wo, wn) {
  a = normAddress(a)
  if (a === 0) return null
  const C = pointerClass(t)
  return new C(a, dv, o, w, wo, wn)
}

/** A flexible array member reached through a view: a pointer to its first element. */
function flexible(pt, dv, o) {
  return makePointer(pt, addressIn(dv, o), dv, o)
}

/**
 * The offset of element `i` of what pointer `p` points to in `p[kW]`, after
 * moving the window there: the memory the pointer keeps when it holds the
 * element, else a region view of the memory at its address (which needs
 * Buffers over foreign memory).
 */
function locateElement(p, i, size, what) {
  i = anyIndex(i, what)
  const dv = p[kDV]
  if (dv !== undefined) {
    const o = p[kO] + i * size
    if (o >= 0 && o + size <= dv.byteLength) {
      p[kW] = dv
      p[kWO] = p[kO]
      p[kWN] = dv.byteLength
      return o
    }
  }
  const [w, o] = mapAddress(addAddress(p[kA], i * size), size, what)
  p[kW] = w
  p[kWO] = o - i * size
  p[kWN] = w.byteLength
  return o
}

/** Memory at element `i` of what pointer `p` points to: [dv, offset]. */
function pointee(p, i, size, what) {
  if (size === undefined || size === 0) throw error('ERR_INVALID_ARG_VALUE', `${what}: ${T.spell(p[CT])} points to a type of unknown size`)
  const o = locateElement(p, i, size, what)
  return [p[kW], o]
}

const pointerMethods = {
  deref() {
    if (this[kV] === undefined) {
      const tt = this[CT].base.target
      const [dv, o] = pointee(this, 0, tt.base.size, `${T.spell(this[CT])}`)
      this[kV] = view(tt, dv, o)
    }
    return this[kV]
  },
  get(i = 0) {
    const tt = this[CT].base.target
    if (typeof i !== 'number' || !Number.isSafeInteger(i)) i = anyIndex(i, `${T.spell(this[CT])}.get`)
    const size = tt.base.size
    const a = this[kA]
    if (this[kDV] === undefined && typeof a === 'number' && size > 0) {
      // Foreign memory: straight to its page (no view is made).
      const x = a + i * size
      if (x > 0 && x <= MAX_SAFE) {
        const dv = pageOf(x, size)
        if (dv !== undefined) return read(tt, dv, x - Math.floor(x / PAGE) * PAGE)
      }
    }
    const [dv, o] = pointee(this, i, size, 'get')
    return read(tt, dv, o)
  },
  at(i = 0) {
    return this.get(i)
  },
  set(i, v) {
    const tt = this[CT].base.target
    const what = `${T.spell(this[CT])}.set`
    const [dv, o] = pointee(this, anyIndex(i, what), tt.base.size, what)
    write(tt, dv, o, v, `${T.spell(this[CT])} element`)
  },
  add(n) {
    const t = this[CT]
    const size = t.base.target.base.size
    if (size === undefined) throw error('ERR_INVALID_ARG_VALUE', `add: ${T.spell(t)} points to a type of unknown size`)
    const d = anyIndex(n, 'add') * size
    return newPointer(t, addAddress(this[kA], d), this[kDV], this[kDV] === undefined ? 0 : this[kO] + d, this[kW], this[kWO] + d, this[kWN])
  },
  sub(n) {
    const t = this[CT]
    const size = t.base.target.base.size
    if (size === undefined) throw error('ERR_INVALID_ARG_VALUE', `sub: ${T.spell(t)} points to a type of unknown size`)
    if (n instanceof Pointer || n === null) {
      const b = n === null ? 0n : BigInt(n[kA])
      const d = BigInt.asIntN(P * 8, BigInt(this[kA]) - b) / BigInt(size)
      return P === 8 ? d : Number(d)
    }
    const d = -anyIndex(n, 'sub') * size
    return newPointer(t, addAddress(this[kA], d), this[kDV], this[kDV] === undefined ? 0 : this[kO] + d, this[kW], this[kWO] + d, this[kWN])
  },
  equals(q) {
    if (q === null || q === undefined) return false
    if (q instanceof Pointer) return BigInt(q[kA]) === BigInt(this[kA])
    if (typeOfValue(q) !== undefined || ArrayBuffer.isView(q)) return BigInt(pointerSource(q, undefined, 'equals')[0]) === BigInt(this[kA])
    return false
  },
  isNull() {
    return this[kA] === 0 || this[kA] === 0n
  },
  cast(ct) {
    return cast(ct, this)
  },
}
for (const [k, f] of Object.entries(pointerMethods)) Object.defineProperty(Pointer.prototype, k, { value: f, writable: true, configurable: true })
Object.defineProperty(Pointer.prototype, 'address', {
  get() {
    return BigInt(this[kA])
  },
  configurable: true,
})
Object.defineProperty(Pointer.prototype, Symbol.toPrimitive, {
  value: function toPrimitive(hint) {
    if (hint === 'string') return spellValue(this)
    throw error('ERR_INVALID_ARG_TYPE', `${T.spell(this[CT])}: a pointer is not a number; use p.add(n), p.sub(q), p.address or ffi.tonumber(p)`)
  },
  configurable: true,
})

/** Any whole number (negative allowed: pointer arithmetic), number or bigint. */
function anyIndex(i, what) {
  if (typeof i === 'number' && Number.isSafeInteger(i)) return i
  if (typeof i === 'bigint') return Number(i)
  throw error('ERR_INVALID_ARG_TYPE', `${what}: expected a whole number or a bigint, got ${kindOf(i)}`)
}

// ---- new and initializers ----

/** The element count a `nelem` argument asks for. */
function count(n, what) {
  if (typeof n === 'bigint') {
    if (n < 0n || n > BigInt(MAX_SAFE)) throw error('ERR_OUT_OF_RANGE', `${what}: ${n} is not a valid element count`)
    return Number(n)
  }
  if (typeof n !== 'number') throw error('ERR_INVALID_ARG_VALUE', `${what}: a variable-length type needs an element count (nelem), got ${kindOf(n)}`)
  if (!Number.isSafeInteger(n) || n < 0) throw error('ERR_OUT_OF_RANGE', `${what}: ${n} is not a valid element count`)
  return n
}

/** sizeof a variable-length type with `n` elements. */
function vlaSize(t, n) {
  t = t.base
  if (t.kind === 'array') return t.element.size * n
  const last = t.fields[t.fields.length - 1]
  return Math.ceil(Math.max(t.size, last.offset + last.type.element.size * n) / t.align) * t.align
}

/** `new(ct[, nelem][, ...init])` for a resolved type. */
/** `${what}: <the type's spelling>`, made once per type and `what` (errors name it; most calls never use it). */
function whereOf(what, t) {
  if (t.cache === undefined) t.cache = {}
  if (what === 'new') return t.cache.whereNew !== undefined ? t.cache.whereNew : (t.cache.whereNew = `new: ${T.spell(t)}`)
  let m = t.cache.wheres
  if (m === undefined) m = t.cache.wheres = Object.create(null)
  let w = m[what]
  if (w === undefined) w = m[what] = `${what}: ${T.spell(t)}`
  return w
}

function create(t, args, what) {
  const b = t.base
  let n
  let init = args
  if (b.vla) {
    n = count(args[0], what)
    init = args.slice(1)
  }
  if (b.kind === 'void' || b.kind === 'function' || (!b.complete && b.kind !== 'array') || (b.kind === 'array' && !b.vla && b.length === undefined)) {
    throw error('ERR_FFI_UNKNOWN_TYPE', `${what}: cannot create ${T.spell(t)} (${b.kind === 'function' ? 'a function' : 'an incomplete type'})`)
  }
  if (b.kind === 'array' && b.element.base.size === undefined) incomplete(b.element)
  const size = b.vla ? vlaSize(b, n) : b.size
  const align = b.kind === 'array' ? b.element.base.align : b.align
  const [dv, o] = allocate(size, align)
  let obj
  switch (b.kind) {
    case 'struct':
    case 'union': {
      const C = structClass(b)
      obj = b.vla ? new C(dv, o, n) : new C(dv, o)
      if (init.length > 0) {
        const fast = b.vla ? null : positionalInit(b)
        if (fast === null || !fast(dv, o, init)) initRecord(b, dv, o, init, whereOf(what, t), n)
      }
      break
    }
    case 'array':
      if (init.length > 0) initArray(b, dv, o, init, whereOf(what, t), b.vla ? n : b.length)
      obj = arrayView(t, dv, o, b.vla ? n : b.length)
      break
    case 'pointer': {
      if (init.length > 1) tooMany(what, t, 1, init.length)
      // A pointer made by new holds its value in its own memory: a box.
      obj = newBox(t, init[0], whereOf(what, t))
      break
    }
    default:
      if (init.length > 1) tooMany(what, t, 1, init.length)
      obj = new (boxClass(t))(dv, o)
      if (init.length === 1) write(t, dv, o, init[0], whereOf(what, t))
  }
  const mt = b.cache !== undefined ? b.cache.mt : undefined
  if (mt !== undefined && typeof mt.__gc === 'function') gc(obj, mt.__gc)
  return obj
}

function tooMany(what, t, max, got) {
  throw error('ERR_INVALID_ARG_VALUE', `${what}: too many initializers for ${T.spell(t)} (${got}, at most ${max})`)
}

/** Initializes a value of any type from one JavaScript value (recursively). */
function initOne(t, dv, o, v, where, n) {
  const b = t.base
  if (b.kind === 'struct' || b.kind === 'union') {
    if (v instanceof CStruct) {
      if (v[CT].base !== b) throw cannot(v, t, where)
      copyBytes(dv, o, v[kDV], v[kO], b.vla ? vlaSize(b, v[kN]) : b.size)
      return
    }
    if (isInitializer(v)) {
      if (Array.isArray(v)) initFields(b, dv, o, v, where, n)
      else initByName(b, dv, o, v, where, n)
      return
    }
    throw cannot(v, t, where)
  }
  if (b.kind === 'array') {
    const len = n !== undefined ? n : b.length === undefined ? 0 : b.length
    const vt = typeOfValue(v)
    if (vt !== undefined && vt.base.kind === 'array' && (ArrayBuffer.isView(v) || v instanceof CArray)) {
      const src = ArrayBuffer.isView(v) ? [dataViewOf(v.buffer), v.byteOffset] : [v[kDV], v[kO]]
      const bytes = Math.min(len * b.element.base.size, ArrayBuffer.isView(v) ? v.byteLength : v[kN] * vt.base.element.base.size)
      copyBytes(dv, o, src[0], src[1], bytes)
      return
    }
    if (Array.isArray(v)) {
      initArray(b, dv, o, [v], where, len)
      return
    }
    if (typeof v === 'string' || ArrayBuffer.isView(v)) {
      initArray(b, dv, o, [v], where, len)
      return
    }
    throw cannot(v, t, where)
  }
  write(t, dv, o, v, where)
}

/** An array from `init` (the arguments after nelem). */
function initArray(b, dv, o, init, where, len) {
  const e = b.element
  const es = e.base.size
  const eb = e.base
  if (init.length === 1) {
    const v = init[0]
    if (eb.kind === 'int' && es === 1 && (typeof v === 'string' || ArrayBuffer.isView(v))) {
      let bytes
      if (typeof v === 'string') bytes = Buffer.from(`${v}\0`, 'utf8')
      else {
        // (read through intrinsics: a detached view is an error, not a crash)
        const m = bytesOf(v)
        if (m[3]) throw error('ERR_FFI_DETACHED', `${where}: the initializer is a view of a detached ArrayBuffer`)
        bytes = new Uint8Array(m[0], m[1], m[2])
      }
      new Uint8Array(dv.buffer, dv.byteOffset + o, len).set(bytes.subarray(0, Math.min(len, bytes.length)))
      return
    }
    if (Array.isArray(v)) {
      if (v.length > len) tooMany(where, b, len, v.length)
      for (let i = 0; i < v.length; i++) initOne(e, dv, o + i * es, v[i], `${where}[${i}]`)
      return
    }
    const scalar = eb.kind !== 'struct' && eb.kind !== 'union' && eb.kind !== 'array'
    if (scalar) {
      // One value fills the array.
      for (let i = 0; i < len; i++) initOne(e, dv, o + i * es, v, `${where}[${i}]`)
      return
    }
  }
  if (init.length > len) tooMany(where, b, len, init.length)
  for (let i = 0; i < init.length; i++) initOne(e, dv, o + i * es, init[i], `${where}[${i}]`)
}

/** Whether `v` is a JavaScript initializer (an array or a plain object), not C data or bytes. */
function isInitializer(v) {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && typeOfValue(v) === undefined
}

/**
 * A struct or union from an initializer list `init` (the arguments of new):
 * one struct cdata (a copy), one object by field name, one array, or the
 * field values in order.
 */
/**
 * For a struct whose members are all named scalars (integers, enums,
 * bools, floats and doubles, no bitfields): positional initializers written
 * by code generated once per type, as initFields writes them (a value per
 * field in order, undefined skipped, errors naming the field). Returns
 * false for what it leaves to initRecord: too many values, or one object
 * (a cdata, an array or a table of fields). null for other types.
 */
function positionalInit(b) {
  if (b.cache === undefined) b.cache = {}
  if (b.cache.positional !== undefined) return b.cache.positional
  let fn = null
  const simple = (f) => {
    const t = f.type.base
    const k = t.kind === 'enum' && t.complete ? t.element.base : t
    return f.name !== undefined && !f.anonymous && f.bitSize === undefined && (k.kind === 'int' || k.kind === 'bool' || (k.kind === 'float' && k.size <= 8)) && k.size >= 1 && k.size <= 8
  }
  if (b.kind === 'struct' && b.complete && b.fields.length > 0 && b.fields.every(simple)) {
    const refs = []
    const ref = referrer(refs)
    let body = ''
    b.fields.forEach((f, i) => {
      const where = `${T.spell(b)}.${f.name}`
      body += `if (n > ${i}) { const v = a[${i}]; if (v !== undefined) { ${writeStmt(f.type, 'd', f.offset === 0 ? 'o' : `o + ${f.offset}`, 'v', where, ref, accessorConv('v', where, ref))} } }\n`
    })
    fn = compile(
      `return function init(d, o, a) {
        const n = a.length
        if (n > ${b.fields.length} || (n === 1 && typeof a[0] === 'object' && a[0] !== null)) return false
        ${body}
        return true
      }`,
      refs,
      b.uid,
    )
  }
  b.cache.positional = fn
  return fn
}

function initRecord(b, dv, o, init, where, n) {
  if (init.length === 1) {
    const v = init[0]
    if (v instanceof CStruct || isInitializer(v)) return initOne(b, dv, o, v, where, n)
  }
  initFields(b, dv, o, init, where, n)
}

/** Field values in order: every named field; a union takes only its first. */
function initFields(b, dv, o, values, where, n) {
  const fields = b.fields.filter((f) => f.name !== undefined)
  const max = b.kind === 'union' ? Math.min(1, fields.length) : fields.length
  if (values.length > max) tooMany(where, b, max, values.length)
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== undefined) initField(b, fields[i], dv, o, values[i], `${T.spell(b)}.${fields[i].name}`, n)
  }
}

/** Fields by name from an object; a name that is not a field is an error. */
function initByName(b, dv, o, obj, where, n) {
  const C = structClass(b)
  for (const key of Object.keys(obj)) {
    if (!C.prototype[CT].cache.fieldNames.has(key)) throw error('ERR_INVALID_ARG_VALUE', `${where}: ${T.spell(b)} has no field '${key}'`)
  }
  for (const f of b.fields) {
    if (f.name !== undefined && Object.hasOwn(obj, f.name) && obj[f.name] !== undefined) initField(b, f, dv, o, obj[f.name], `${T.spell(b)}.${f.name}`, n)
  }
}

function initField(b, f, dv, o, v, where, n) {
  if (f.bitSize !== undefined) return writeBits(dv, o + f.offset, f, v, where)
  const vlaLast = b.vla && f === b.fields[b.fields.length - 1]
  initOne(f.type, dv, o + f.offset, v, where, vlaLast ? n : undefined)
}

/** `initialize` as the generated setters call it: assigning a struct or array member. */
function initialize(t, dv, o, init, where, n) {
  const b = t.base
  const size = b.vla ? (n === undefined ? 0 : vlaSize(b, n)) : b.size
  const v = init[0]
  // Assigning replaces the whole member: what the value leaves out is zero.
  const tmp = allocate(size, 1)
  initOne(t, tmp[0], tmp[1], v, where, n)
  copyBytes(dv, o, tmp[0], tmp[1], size)
}

function copyBytes(dv, o, sdv, so, n) {
  if (n <= 0) return
  if (n <= 64) {
    let i = 0
    for (; i + 4 <= n; i += 4) dv.setUint32(o + i, sdv.getUint32(so + i))
    for (; i < n; i++) dv.setUint8(o + i, sdv.getUint8(so + i))
    return
  }
  new Uint8Array(dv.buffer, dv.byteOffset + o, n).set(new Uint8Array(sdv.buffer, sdv.byteOffset + so, n))
}

// ---- cast ----

/** `cast(ct, value)`: as a C cast. */
function cast(ct, value) {
  const t = resolve(ct, [], 'cast')
  const b = t.base
  const where = `cast: ${T.spell(t)}`
  if (b.kind === 'pointer') {
    let a
    let dv
    let o = 0
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw cannot(value, t, where)
      a = BigInt.asUintN(P * 8, BigInt(Math.trunc(value)))
    } else if (typeof value === 'bigint') a = BigInt.asUintN(P * 8, value)
    else if (value instanceof Box) {
      const x = value.value
      if (typeof x !== 'number' && typeof x !== 'bigint') throw cannot(value, t, where)
      a = BigInt.asUintN(P * 8, BigInt(typeof x === 'number' ? Math.trunc(x) : x))
    } else if (typeof value === 'function' && typeOfValue(value) === undefined) {
      if (b.target.base.kind !== 'function') throw error('ERR_INVALID_ARG_TYPE', `${where}: a JavaScript function converts only to a function pointer type`)
      return hooks.callback(t, value)
    } else [a, dv, o] = pointerSource(value, undefined, where)
    return makePointer(t, a, dv, o)
  }
  if (b.kind === 'int' || b.kind === 'float' || b.kind === 'bool' || b.kind === 'enum') {
    let v = value
    if (value instanceof Pointer || value === null) {
      if (b.kind === 'float') throw cannot(value, t, where)
      v = value === null ? 0n : BigInt(value[kA])
    } else if (typeof value === 'object' && value !== null && !(value instanceof Box)) {
      if (ArrayBuffer.isView(value) || value instanceof CStruct || value instanceof CArray) {
        if (b.kind === 'float') throw cannot(value, t, where)
        v = BigInt(pointerSource(value, undefined, where)[0])
      }
    }
    if (b.kind === 'bool' && (typeof v === 'bigint')) v = v !== 0n
    return newBox(t, v, where)
  }
  if (b.kind === 'struct' || b.kind === 'union' || b.kind === 'array') {
    throw error('ERR_INVALID_ARG_TYPE', `${where}: cannot cast to a ${b.kind} (cast to a pointer to it)`)
  }
  throw error('ERR_INVALID_ARG_TYPE', `${where}: cannot cast ${kindOf(value)} to ${T.spell(t)}`)
}

// ---- memory utilities ----

/**
 * What memory a value stands for: { dv, o, n } (n: the bytes known to be
 * there, or undefined for a bare pointer), or { a } for foreign memory.
 */
function memoryOf(v, what) {
  if (v instanceof Pointer) {
    if (v[kDV] !== undefined) return { dv: v[kDV], o: v[kO], n: undefined, a: v[kA] }
    return { dv: undefined, o: 0, n: undefined, a: v[kA] }
  }
  if (v instanceof CStruct) {
    const b = v[CT].base
    return { dv: v[kDV], o: v[kO], n: b.vla ? vlaSize(b, v[kN]) : b.size }
  }
  if (v instanceof CArray) return { dv: v[kDV], o: v[kO], n: v[kN] * v[CT].base.element.base.size }
  if (v instanceof Box) return { dv: v[kDV], o: v[kO], n: v[CT].base.size }
  if (ArrayBuffer.isView(v)) {
    if (v.byteLength === 0 && v instanceof Uint8Array) {
      const a = normAddress(ffi.addressBigInt(v))
      return { dv: undefined, o: 0, n: a === 0 ? 0 : undefined, a }
    }
    return { dv: dataViewOf(v.buffer), o: v.byteOffset, n: v.byteLength }
  }
  if (v instanceof ArrayBuffer) return { dv: dataViewOf(v), o: 0, n: v.byteLength }
  if (v === null || v === undefined) throw error('ERR_INVALID_ARG_VALUE', `${what}: NULL pointer`)
  throw error('ERR_INVALID_ARG_TYPE', `${what}: expected a cdata, a Buffer or a TypedArray, got ${kindOf(v)}`)
}

function length(n, what) {
  if (typeof n === 'bigint') n = Number(n)
  if (typeof n !== 'number') throw error('ERR_INVALID_ARG_TYPE', `${what}: a length is a number or a bigint, got ${kindOf(n)}`)
  if (!Number.isSafeInteger(n) || n < 0) throw error('ERR_OUT_OF_RANGE', `${what}: ${n} is not a valid length`)
  return n
}

function checkBound(m, len, what) {
  if (m.dv === undefined && m.a === 0) throw error('ERR_INVALID_ARG_VALUE', `${what}: NULL pointer`)
  if (m.n !== undefined && len > m.n) throw error('ERR_OUT_OF_RANGE', `${what}: ${len} bytes is past the end of ${m.n}`)
}

/** A Node-owned copy of `len` bytes of memory `m`. */
function copyOut(m, len, what) {
  if (m.dv !== undefined) return Buffer.from(new Uint8Array(m.dv.buffer, m.dv.byteOffset + m.o, len))
  if (m.a === 0) throw error('ERR_INVALID_ARG_VALUE', `${what}: NULL pointer`)
  if (len === 0) return Buffer.alloc(0)
  return ffi.read(ffi.fromAddress(m.a), 0, len)
}

function bytes(ptr, len) {
  const m = memoryOf(ptr, 'bytes')
  const n = length(len, 'bytes: len')
  checkBound(m, n, 'bytes')
  return copyOut(m, n, 'bytes')
}

function string(ptr, len, encoding = 'utf8') {
  if (ptr === null || ptr === undefined) throw error('ERR_INVALID_ARG_VALUE', 'string: NULL pointer')
  const m = memoryOf(ptr, 'string')
  if (!Buffer.isEncoding(encoding)) throw error('ERR_INVALID_ARG_VALUE', `string: unknown encoding '${encoding}'`)
  if (len === undefined || len === null) {
    if (m.dv !== undefined) {
      const limit = m.n !== undefined ? m.n : m.dv.byteLength - m.o
      const u = new Uint8Array(m.dv.buffer, m.dv.byteOffset + m.o, limit)
      let end = u.indexOf(0)
      if (end < 0) end = limit
      return Buffer.from(u.buffer, u.byteOffset, end).toString(encoding)
    }
    if (m.a === 0) throw error('ERR_INVALID_ARG_VALUE', 'string: NULL pointer')
    const s = ffi.readCString(ffi.fromAddress(m.a))
    return encoding === 'utf8' || encoding === 'utf-8' ? s : Buffer.from(s, 'utf8').toString(encoding)
  }
  const n = length(len, 'string: len')
  checkBound(m, n, 'string')
  return copyOut(m, n, 'string').toString(encoding)
}

/** Writes `src` (a Uint8Array) into memory `m`. */
function copyIn(m, src, what) {
  if (src.length === 0) return
  if (m.dv !== undefined) {
    new Uint8Array(m.dv.buffer, m.dv.byteOffset + m.o, src.length).set(src)
    return
  }
  if (m.a === 0) throw error('ERR_INVALID_ARG_VALUE', `${what}: NULL pointer`)
  ffi.write(ffi.fromAddress(m.a), 0, src)
}

function copy(dst, src, len) {
  const d = memoryOf(dst, 'copy: dst')
  let data
  if (typeof src === 'string') {
    data = Buffer.from(`${src}\0`, 'utf8')
    if (len !== undefined) data = data.subarray(0, Math.min(data.length, length(len, 'copy: len')))
  } else {
    const s = memoryOf(src, 'copy: src')
    const n = length(len, 'copy: len')
    checkBound(s, n, 'copy: src')
    data = copyOut(s, n, 'copy: src')
  }
  checkBound(d, data.length, 'copy: dst')
  copyIn(d, data, 'copy: dst')
}

function fill(dst, len, byte = 0) {
  const d = memoryOf(dst, 'fill')
  const n = length(len, 'fill: len')
  checkBound(d, n, 'fill')
  if (typeof byte !== 'number' && typeof byte !== 'bigint') throw error('ERR_INVALID_ARG_TYPE', `fill: byte is a number, got ${kindOf(byte)}`)
  if (typeof byte === 'number' && !Number.isFinite(byte)) throw error('ERR_INVALID_ARG_VALUE', `fill: byte must be a finite number, got ${byte}`)
  const data = Buffer.alloc(n, Number(BigInt.asUintN(8, BigInt(typeof byte === 'number' ? Math.trunc(byte) : byte))))
  copyIn(d, data, 'fill')
}

/** `addressof(cdata)`: a pointer to its memory (which it keeps alive). */
function addressof(v) {
  const t = typeOfValue(v)
  if (t === undefined || v instanceof Pointer) throw error('ERR_INVALID_ARG_TYPE', `addressof: expected struct, array or scalar cdata, got ${kindOf(v)}`)
  const m = memoryOf(v, 'addressof')
  return makePointer(T.pointerTo(t), addressIn(m.dv, m.o), m.dv, m.o)
}

/** The size in bytes of a cdata (a variable-length one's actual size). */
function sizeOfValue(v) {
  if (v instanceof CStruct || v instanceof CArray || ArrayBuffer.isView(v)) return memoryOf(v, 'sizeof').n
  return undefined
}

function tonumber(v) {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'boolean') return v ? 1 : 0
  if (v instanceof Box) return Number(v.value)
  if (v instanceof Pointer) return Number(v[kA])
  if (typeof v === 'string') {
    const n = Number(v)
    return v.trim() === '' || Number.isNaN(n) ? undefined : n
  }
  return undefined
}

function tostring(v) {
  if (v instanceof Box) {
    const b = v[CT].base
    const x = v.value
    if (b.kind === 'int' && b.size === 8) return `${x}${b.unsigned ? 'ULL' : 'LL'}`
    if (b.kind === 'pointer') return spellValue(v)
    return String(x)
  }
  if (v instanceof Pointer || v instanceof CStruct || v instanceof CArray) return spellValue(v)
  if (ArrayBuffer.isView(v) && typedArrays.has(v)) {
    return `cdata<${T.spell(typedArrays.get(v))}>: ${hex(addressIn(dataViewOf(v.buffer), v.byteOffset))}`
  }
  if (v === null) return 'NULL'
  try {
    return String(v)
  } catch {
    // (an object without a string form, a detached TypedArray: as Node
    // shows it, or its tag)
    try {
      return util.inspect(v)
    } catch {
      return Object.prototype.toString.call(v)
    }
  }
}

// ---- gc ----

const finalizers = new WeakMap()
const registry = new FinalizationRegistry(runFinalizer)

function runFinalizer(rec) {
  if (rec.done) return
  rec.done = true
  try {
    const p = makePointer(rec.type, rec.a, rec.dv, rec.o)
    rec.fn.call(p, p)
  } catch (e) {
    process.nextTick(() => {
      throw e
    })
  }
}

/** `gc(cdata, finalizer)`: calls finalizer once the cdata is unreachable; null removes it. */
function gc(v, fn) {
  const t = typeOfValue(v)
  if (t === undefined) throw error('ERR_INVALID_ARG_TYPE', `gc: expected a pointer or a cdata from new, got ${kindOf(v)}`)
  // A C function pointer (ffi.cast('void (*)(void *)', address)) is called as C.
  if (fn instanceof Pointer && fn[CT].base.target.base.kind === 'function') fn = hooks.callable(fn)
  if (fn !== null && typeof fn !== 'function') throw error('ERR_INVALID_ARG_TYPE', `gc: a finalizer is a function, a C function pointer or null, got ${kindOf(fn)}`)
  const old = finalizers.get(v)
  if (old !== undefined) {
    registry.unregister(old)
    finalizers.delete(v)
  }
  if (fn === null) return v
  let rec
  if (v instanceof Pointer) rec = { fn, type: t, a: v[kA], dv: v[kDV], o: v[kO], done: false }
  else {
    const m = memoryOf(v, 'gc')
    const pt = T.pointerTo(ArrayBuffer.isView(v) || v instanceof CArray ? t.base.element : t)
    rec = { fn, type: pt, a: addressIn(m.dv, m.o), dv: m.dv, o: m.o, done: false }
  }
  finalizers.set(v, rec)
  registry.register(v, rec, rec)
  return v
}

function dispose() {
  const rec = finalizers.get(this)
  if (rec === undefined) return
  finalizers.delete(this)
  registry.unregister(rec)
  runFinalizer(rec)
}
if (typeof Symbol.dispose === 'symbol') {
  for (const C of [CStruct, CArray, Box, Pointer]) Object.defineProperty(C.prototype, Symbol.dispose, { value: dispose, writable: true, configurable: true })
}

// ---- metatype ----

const METHODS = { __add: 'add', __sub: 'sub', __mul: 'mul', __div: 'div', __mod: 'mod', __pow: 'pow', __unm: 'neg', __concat: 'concat', __lt: 'lt', __le: 'le' }
const KNOWN = new Set(['__index', '__newindex', '__call', '__tostring', '__len', '__eq', '__gc', '__new', '__pairs', '__ipairs', ...Object.keys(METHODS)])

function metatype(ct, mt) {
  const t = resolve(ct, [], 'metatype')
  const b = t.base
  if (b.kind !== 'struct' && b.kind !== 'union') throw error('ERR_INVALID_ARG_VALUE', `metatype: ${T.spell(t)} is not a struct or union`)
  if (typeof mt !== 'object' || mt === null) throw error('ERR_INVALID_ARG_TYPE', `metatype: expected an object of metamethods, got ${kindOf(mt)}`)
  if (b.cache === undefined) b.cache = {}
  if (b.cache.mt !== undefined) throw error('ERR_INVALID_ARG_VALUE', `metatype: ${T.spell(t)} has a metatype already (it is set once per type)`)
  for (const k of ['__index', '__newindex']) {
    if (typeof mt[k] === 'function') throw error('ERR_INVALID_ARG_VALUE', `metatype: ${k} as a function is not supported (it would need a Proxy on every access); give __index an object of methods`)
  }
  if (mt.__newindex !== undefined) throw error('ERR_INVALID_ARG_VALUE', 'metatype: __newindex is not supported')
  if (mt.__call !== undefined) throw error('ERR_INVALID_ARG_VALUE', 'metatype: __call is not supported (a cdata cannot be called in JavaScript); give __index a method')
  for (const k of Object.keys(mt)) {
    if (!KNOWN.has(k)) throw error('ERR_INVALID_ARG_VALUE', `metatype: unknown metamethod '${k}'`)
    if (k !== '__index' && typeof mt[k] !== 'function') throw error('ERR_INVALID_ARG_TYPE', `metatype: ${k} must be a function, got ${kindOf(mt[k])}`)
  }
  const fieldNames = new Set(b.fields.map((f) => f.name))
  if (mt.__index !== undefined) {
    if (typeof mt.__index !== 'object' || mt.__index === null) throw error('ERR_INVALID_ARG_TYPE', `metatype: __index must be an object, got ${kindOf(mt.__index)}`)
    for (const k of Object.keys(mt.__index)) {
      if (fieldNames.has(k)) throw error('ERR_INVALID_ARG_VALUE', `metatype: __index.${k} has the name of a field of ${T.spell(t)}`)
    }
  }
  if (mt.__len !== undefined && fieldNames.has('length')) throw error('ERR_INVALID_ARG_VALUE', `metatype: __len would hide the field 'length' of ${T.spell(t)}`)
  b.cache.mt = Object.freeze({ ...mt })
  if (b.cache.cls !== undefined) applyMetatype(b, b.cache.cls.prototype, b.cache.mt, false)
  if (b.cache.ptr !== undefined) applyMetatype(b, b.cache.ptr.prototype, b.cache.mt, true)
  const pb = T.pointerTo(b)
  if (pb.cache !== undefined && pb.cache.ptr !== undefined) applyMetatype(b, pb.cache.ptr.prototype, b.cache.mt, true)
  return ctypeOf(t)
}

function method(name, fn) {
  const f = {
    [name](...args) {
      return fn.call(this, this, ...args)
    },
  }[name]
  return { value: f, writable: true, configurable: true }
}

function applyMetatype(b, proto, mt, isPointer) {
  if (mt.__index !== undefined) {
    for (const [k, fn] of Object.entries(mt.__index)) {
      if (typeof fn === 'function') Object.defineProperty(proto, k, method(k, fn))
      else Object.defineProperty(proto, k, { value: fn, writable: true, configurable: true })
    }
  }
  for (const [k, name] of Object.entries(METHODS)) if (mt[k] !== undefined) Object.defineProperty(proto, name, method(name, mt[k]))
  if (mt.__tostring !== undefined) {
    const fn = mt.__tostring
    const ts = function toString() {
      return String(fn.call(this, this))
    }
    Object.defineProperty(proto, 'toString', { value: ts, writable: true, configurable: true })
    Object.defineProperty(proto, util.inspect.custom, { value: ts, writable: true, configurable: true })
  }
  if (mt.__len !== undefined && !isPointer) {
    const fn = mt.__len
    Object.defineProperty(proto, 'length', {
      get() {
        return fn.call(this, this)
      },
      configurable: true,
    })
  }
  if (mt.__eq !== undefined && !isPointer) Object.defineProperty(proto, 'equals', method('equals', mt.__eq))
  const it = mt.__pairs || mt.__ipairs
  if (it !== undefined) {
    Object.defineProperty(proto, Symbol.iterator, {
      value: function iterator() {
        return it.call(this, this)[Symbol.iterator]()
      },
      writable: true,
      configurable: true,
    })
  }
}

/** `ct(...args)`: new, or the metatype's __new. */
function construct(t, args) {
  const b = t.base
  const mt = b.cache !== undefined ? b.cache.mt : undefined
  if (mt !== undefined && typeof mt.__new === 'function') {
    const ct = ctypeOf(t)
    return mt.__new.call(ct, ct, ...args)
  }
  if (t.cache === undefined) t.cache = {}
  // (its spelling names errors: made once, not per call)
  if (t.cache.spelled === undefined) t.cache.spelled = T.spell(t)
  return create(t, args, t.cache.spelled)
}

// The helpers generated code calls.
const H = {
  allocSmall,
  currentSlab,
  readPointerOf,
  pageHit,
  writeInt64,
  CStruct,
  CArray,
  Pointer,
  toInt,
  toBigInt,
  toFloat,
  toBool,
  readWide,
  writeWide,
  readLongDouble,
  writeLongDouble,
  readComplex,
  writeComplex,
  readPointer,
  writePointer,
  view,
  arrayView,
  flexible,
  initialize,
  readBits,
  writeBits,
  index,
  opaque,
  incomplete,
}

/** What lib/c/call.js provides: callbacks from JavaScript functions. */
const hooks = { callback: undefined, callable: undefined }

function init(ctx) {
  CT = ctx.CT
  ctypeOf = ctx.ctypeOf
  resolve = ctx.resolve
}

module.exports = {
  init,
  completed,
  typeOfValue,
  create,
  scalarMaker,
  construct,
  cast,
  addressof,
  sizeOfValue,
  string,
  bytes,
  copy,
  fill,
  tonumber,
  tostring,
  gc,
  metatype,
  CStruct,
  CArray,
  Box,
  Pointer,
  vlaSize,
  // for lib/c/call.js
  hooks,
  internals: {
    H,
    kA,
    kDV,
    kO,
    kindOf,
    cannot,
    codec,
    readExpr,
    writeStmt,
    compile,
    referrer,
    allocate,
    addressIn,
    dataViewOf,
    mapAddress,
    makePointer,
    pointerClass,
    readPointer,
    PAGE,
    storeAddress,
    compatibleTarget,
    initialize,
    copyBytes,
    structClass,
    normAddress,
  },
}

