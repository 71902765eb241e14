'use strict'

// Calls from declarations: a declared C function as a JavaScript function,
// variadic calls, `.async`, and callbacks (JavaScript functions as C
// function pointers). Everything goes through the raw module: one CIF per
// function type (types are interned, so one per signature), `ffi.bind` for
// the call, `ffi.Closure` for callbacks.
//
// A declared function is planned once: the offset of each argument in
// storage that the function owns (never exposed, never detached), the
// converter of each parameter, and the reader of the result are fixed, and
// their code is generated with these as constants, so that a call converts
// straight into the storage and runs the bound call, allocating nothing for
// scalar and pointer arguments. A call made while the same function is
// already running (from a callback) uses a second set of storage, so that
// the outer call's temporaries (its strings) stay intact.

const ffi = require('../../index.js')
const T = require('./types.js')
const D = require('./cdata.js')
const { error } = require('./errors.js')
// The storage of a declared call is this module's alone (see bindOwned).
const { bindOwned } = require('../cif.js')
const { bytesOf, typedArrayTag, typedArrayByteLength } = require('../state.js')

const isTypedArray = (v) => typedArrayTag(v) !== undefined

const { Pointer, CStruct, CArray, Box, typeOfValue } = D
const I = D.internals
const { kA, kDV, kO } = I

const LE = ffi.endianness === 'LE'
const P = T.POINTER_SIZE
const ARG = ffi.sizeof.ffi_arg

let ffiTypeOf // CType -> ffi_type Buffer (set by init)
let paddedHalf // CType -> whether a callback cannot take it before other parameters (set by init)

// ---- plans: what a function type needs, once per signature ----

/** The raw ABI a calling convention names, where it means something. */
function abiOf(ft) {
  if (ft.cc === undefined) return ffi.abi.default
  const a = ffi.abi[ft.cc]
  return typeof a === 'number' ? a : ffi.abi.default
}

/** Bytes a value of type `t` takes in argument storage (at least 8: libffi reads whole slots). */
function slotSize(t) {
  const s = t.base.size
  return s > 8 ? Math.ceil(s / 8) * 8 : 8
}

/**
 * Storage layout and CIF of a call with return `ret` and argument types
 * `types` (a function type's, or with varargs added): rValue at 0, the
 * argument pointers (aValues) after it, each argument's value after them,
 * each at a multiple of 8 bytes (the layout a closure's `args` has).
 */
function layout(ret, types, cif, what) {
  const rb = ret.base
  const rsize = rb.kind === 'void' ? ARG : Math.max(Math.ceil(rb.size / 8) * 8, ARG)
  const aStart = Math.ceil(rsize / 16) * 16
  const vStart = aStart + types.length * P
  const offsets = []
  let at = 0
  for (const t of types) {
    offsets.push(at)
    at += slotSize(t)
  }
  return { cif, ret, types, rsize, aStart, vStart, offsets, size: vStart + at, what }
}

function ffiTypeOrThrow(t, what, role) {
  const b = t.base
  if (b.kind === 'void' && role === 'return') return ffi.types.void
  const f = ffiTypeOf(t)
  if (f === undefined || b.kind === 'void' || b.kind === 'function' || b.kind === 'array') {
    const why = b.kind === 'struct' || b.kind === 'union' ? (b.vla ? 'a variable-length type' : 'an incomplete type') : 'not a value type'
    throw error('ERR_INVALID_ARG_TYPE', `${what}: ${role} type ${T.spell(t)} cannot be passed by value (${why})`)
  }
  if (role === 'return' && X87_RECORDS && (b.kind === 'struct' || b.kind === 'union') && b.size <= 16 && holdsLongDouble(b)) {
    // C returns such a record in the x87 registers; libffi takes it from
    // memory and would hand back garbage.
    throw error('ERR_INVALID_ARG_TYPE', `${what}: return type ${T.spell(t)} cannot be returned by value here (a struct or union of up to 16 bytes holding a long double comes back in x87 registers, which libffi does not read): return it through a pointer`)
  }
  return f
}

/** Whether x86-64 System V's x87 classes apply (not Windows, whose long double is a double). */
const X87_RECORDS = process.arch === 'x64' && process.platform !== 'win32'

/** Whether a record holds a long double (or a complex long double) anywhere. */
function holdsLongDouble(b) {
  switch (b.kind) {
    case 'struct':
    case 'union':
      return b.fields.some((f) => f.bitSize === undefined && holdsLongDouble(f.type.base))
    case 'array':
      return holdsLongDouble(b.element.base)
    case 'float':
    case 'complex':
      return b.size > (b.kind === 'complex' ? 16 : 8)
    default:
      return false
  }
}

/** The plan of a (non-variadic part of a) function type: its CIF and layout. */
function planOf(ft, what) {
  if (ft.cache === undefined) ft.cache = {}
  if (ft.cache.plan !== undefined) return ft.cache.plan
  const rT = ffiTypeOrThrow(ft.returns, what, 'return')
  const types = ft.params.map((p) => p.type)
  const aT = types.map((t, i) => ffiTypeOrThrow(t, what, `parameter ${i + 1}`))
  const cif = ft.variadic ? undefined : ffi.CIF(abiOf(ft), rT, ...aT)
  const plan = layout(ft.returns, types, cif, what)
  ft.cache.plan = plan
  return plan
}

/** Argument storage for a plan: [Buffer, DataView, rValue, aValues]. */
function storageOf(plan) {
  const mem = Buffer.alloc(plan.size)
  const rValue = mem.subarray(0, plan.rsize)
  const aValues = mem.subarray(plan.aStart, plan.vStart)
  for (let i = 0; i < plan.offsets.length; i++) {
    const o = plan.vStart + plan.offsets[i]
    ffi.writePointer(aValues, i * P, mem.subarray(o, o + slotSize(plan.types[i])))
  }
  return [mem, new DataView(mem.buffer, mem.byteOffset, mem.length), rValue, aValues]
}

/**
 * The TypedArray classes that generated calls read and write their storage
 * with, by the name the code uses: an element load or store is cheaper
 * than a DataView's (no view, endianness or bounds to check beyond the
 * index), and every slot is aligned for its type (slots are 8-byte
 * multiples, the storage a Buffer of its own at offset 0).
 */
const VIEWS = {
  I8: Int8Array,
  U8: Uint8Array,
  I16: Int16Array,
  U16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
}

/** The view name and element size for a scalar of type `t` in storage, or undefined. */
function viewOf(t) {
  let b = t.base
  if (b.kind === 'enum') {
    if (!b.complete) return undefined
    b = b.element.base
  }
  if (b.kind === 'bool') return b.size === 1 ? { name: 'U8', size: 1, kind: 'bool' } : undefined
  if (b.kind === 'int' && (b.size === 1 || b.size === 2 || b.size === 4 || b.size === 8)) {
    return { name: `${b.unsigned ? 'U' : 'I'}${b.size * 8}`, size: b.size, kind: 'int' }
  }
  if (b.kind === 'float' && (b.size === 4 || b.size === 8)) return { name: `F${b.size * 8}`, size: b.size, kind: 'float' }
  return undefined
}

/** The views of `mem` that generated code named (`uses`), by name. */
function viewsOf(mem, uses) {
  const v = {}
  for (const name of uses) v[name] = new VIEWS[name](mem.buffer, mem.byteOffset, Math.floor(mem.length / VIEWS[name].BYTES_PER_ELEMENT))
  return v
}

/** The statements that make views `uses` local constants of generated code, from `VW`. */
function viewLocals(uses) {
  return [...uses].map((n) => `const ${n} = VW.${n}`).join('; ')
}

// ---- what a parameter accepts ----

/** Whether a pointer type takes a JavaScript string (a pointer to const bytes or const void). */
function takesString(t) {
  const target = t.base.target
  if (!(target.qual & T.CONST)) return false
  const tb = target.base
  return tb.kind === 'void' || (tb.kind === 'int' && tb.size === 1)
}

function isCharPointer(t) {
  const tb = t.base.target.base
  return tb.kind === 'void' || (tb.kind === 'int' && tb.size === 1)
}

/** C's (and LuaJIT's) pointer compatibility for arguments: void on either side, same type, same-size integers. */
function pointerCompatible(to, from) {
  if (to === from) return true
  const a = to.base.target.base
  const b = from.base.target.base
  if (a === b || a.kind === 'void' || b.kind === 'void') return true
  if ((a.kind === 'int' || a.kind === 'enum') && (b.kind === 'int' || b.kind === 'enum')) return a.size === b.size
  if (a.kind !== b.kind) return false
  if (a.kind === 'pointer') return pointerCompatible(a, b)
  return T.spell(a) === T.spell(b)
}

/**
 * What a Scratch remembers when it remembers nothing: no argument is this
 * object, so that generated code compares an argument with `view` and `str`
 * without testing for undefined first.
 */
const NONE = Object.freeze({})

/** A temporary C string: a Buffer (reused while `cap` allows) and its address. */
class Scratch {
  constructor() {
    this.buf = undefined
    this.addr = 0
    this.cap = 0
    // the last TypedArray converted, and its address (see remember)
    this.view = NONE
    this.viewAddr = 0
    this.viewLength = 0
    // the last string written into buf
    this.str = NONE
  }
}

// A pointer parameter remembers the last TypedArray it converted, so that
// a loop passing the same one skips the lookup of its address (about
// 40 ns): the same object, still as long (read through intrinsics: 0 once
// detached), has the same address. It remembers the last string too (see
// putString). What is remembered is let go within a second or two, so
// that nothing is kept reachable for long.
const remembered = new Set()
let sweeping = false

function remember(sc, v, a, len) {
  if (v !== undefined) {
    sc.view = v
    sc.viewAddr = a
    sc.viewLength = len
  }
  remembered.add(sc)
  if (!sweeping) {
    sweeping = true
    setTimeout(sweep, 1000).unref()
  }
}

function sweep() {
  for (const sc of remembered) {
    sc.view = NONE
    sc.str = NONE
  }
  remembered.clear()
  sweeping = false
}

const utf8Write = typeof Buffer.prototype.utf8Write === 'function' ? Buffer.prototype.utf8Write : undefined

function writeUtf8(buf, s) {
  return utf8Write !== undefined ? utf8Write.call(buf, s, 0) : buf.write(s, 0, 'utf8')
}

/** The address of `s` as a NUL-terminated UTF-8 copy in `sc`. */
function putString(sc, s) {
  // The same string as last time is there already (C may not write through
  // a pointer to const).
  if (s === sc.str) return sc.addr
  const a = encodeString(sc, s)
  if (sc.str === NONE) remember(sc)
  // (Generated calls take a remembered string's address as a number.)
  sc.str = typeof a === 'number' ? s : NONE
  return a
}

function encodeString(sc, s) {
  const n = s.length
  if (n < 64 && n < sc.cap) {
    // Short ASCII strings byte by byte (faster than a native call); the
    // first other character hands over to the encoder.
    const b = sc.buf
    let i = 0
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      b[i] = c
    }
    if (i === n) {
      b[n] = 0
      return sc.addr
    }
  }
  if (n * 3 >= sc.cap) {
    const need = Buffer.byteLength(s, 'utf8') + 1
    if (need > sc.cap) {
      const cap = Math.max(64, need * 2)
      sc.buf = Buffer.allocUnsafeSlow(cap)
      sc.addr = addressOf(sc.buf)
      sc.cap = cap
    }
  }
  const w = writeUtf8(sc.buf, s)
  sc.buf[w] = 0
  return sc.addr
}

/** A NUL-terminated UTF-8 copy of `s` that `keep` holds until the call ends. */
function tempString(s, keep) {
  const b = ffi.allocCString(s)
  keep.push(b)
  return addressOf(b)
}

/** The address of a view's first byte, read through intrinsics. */
function addressOf(v, where = 'argument') {
  const b = bytesOf(v)
  if (b === undefined) return undefined
  if (b[3]) throw error('ERR_FFI_DETACHED', `${where}: a view of a detached ArrayBuffer (its memory is gone)`)
  if (b[2] === 0) return I.normAddress(ffi.addressBigInt(v)) // a raw pointer Buffer (or an empty view)
  return I.addressIn(I.dataViewOf(b[0]), b[1])
}

function badPointer(v, t, where) {
  if (typeof v === 'string') {
    if (!isCharPointer(t)) return I.cannot(v, t, where)
    return error('ERR_INVALID_ARG_TYPE', `${where}: cannot convert string to ${T.spell(t)}: a string converts only to a pointer to const char (C could write into a non-const one, and the copy is gone after the call): pass a Buffer, or ffi.new('char[?]', n, string)`)
  }
  if (typeof v === 'function') return error('ERR_INVALID_ARG_TYPE', `${where}: cannot convert a function to ${T.spell(t)}: a function converts only to a function pointer`)
  if (v instanceof Pointer || typeOfValue(v) !== undefined) return error('ERR_INVALID_ARG_TYPE', `${where}: cannot convert ${I.kindOf(v)} to ${T.spell(t)}: incompatible pointer types (cast it: ffi.cast('${T.spell(t)}', p))`)
  return I.cannot(v, t, where)
}

/**
 * The converter of a pointer parameter of type `t`: value -> address (a
 * number, or a bigint past 2^53). `keep` (an array) receives what must live
 * until the call ends when the call is asynchronous; without it, strings go
 * into `sc` (this call's own scratch), and the caller holds the value.
 */
function pointerConverter(t, where) {
  const strings = takesString(t)
  const fnType = t.base.target.base.kind === 'function' ? t : undefined
  return function toAddress(v, sc, keep) {
    if (sc !== undefined && v === sc.view && typedArrayByteLength(v) === sc.viewLength) return sc.viewAddr
    if (v instanceof Pointer) {
      if (v[CTsym] !== t && !pointerCompatible(t, v[CTsym])) throw badPointer(v, t, where)
      return v[kA]
    }
    if (v === null || v === undefined) return 0
    if (typeof v === 'string') {
      if (!strings) throw badPointer(v, t, where)
      return keep === undefined ? putString(sc, v) : tempString(v, keep)
    }
    if (typeof v === 'function') {
      if (fnType === undefined || typeOfValue(v) !== undefined) throw badPointer(v, t, where)
      const cb = callbackFor(fnType, v)
      if (keep !== undefined) keep.push(cb)
      return cb[kA]
    }
    if (typeof v === 'object') {
      const a = addressOf(v, where)
      if (a !== undefined) {
        // A TypedArray from new() is a C array: its element type must fit.
        const at = typedArrayType(v)
        if (at !== undefined && !pointerCompatible(t, T.pointerTo(at.base.element))) throw badPointer(v, t, where)
        if (sc !== undefined && isTypedArray(v)) {
          const len = typedArrayByteLength(v)
          if (len > 0 && typeof a === 'number') remember(sc, v, a, len)
        }
        return a
      }
      if (v instanceof CStruct || v instanceof CArray) {
        if (v instanceof CStruct && !I.compatibleTarget(t, typeOfValue(v))) throw badPointer(v, t, where)
        return I.addressIn(v[kDV], v[kO])
      }
      if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)) {
        return v.byteLength === 0 ? 0 : I.addressIn(I.dataViewOf(v), 0)
      }
      if (v instanceof Box) throw badPointer(v, t, where)
    }
    throw badPointer(v, t, where)
  }
}

/** The array type of a TypedArray that new() made, else undefined. */
function typedArrayType(v) {
  const ct = typeOfValue(v)
  return ct !== undefined && ct.base.kind === 'array' ? ct : undefined
}

let CTsym // the symbol that carries a cdata's CType (set by init)

/** The name of argument i for messages: `printf: argument 1 (fmt)`. */
function argName(fname, i, p) {
  return `${fname}: argument ${i + 1}${p !== undefined && p.name !== undefined ? ` (${p.name})` : ''}`
}

// ---- generated code: the conversions of a signature, per function ----

/**
 * The statements that convert `v` (parameter `i` of type `t`) into the
 * storage at byte `at`: the names of the TypedArray views they use go into
 * `uses`, and functions of the instance they call into `helpers`; `CV` are
 * the pointer converters by index.
 */
function convertStmt(t, at, v, i, where, ref, uses, helpers) {
  const b = t.base
  if (b.kind === 'pointer') {
    // An address is a number below 2^53 (a bigint only past it): two
    // 32-bit words, `>>> 0` the low one exactly. The TypedArray and the
    // string this parameter converted last (see remember) are tested
    // here, before a call of the converter: a loop that passes the same
    // Buffer or string pays two comparisons (and the view's length, read
    // through the intrinsic: 0 once detached).
    uses.add('U32')
    const k = at / 4
    const [lo, hi] = LE ? [k, k + 1] : [k + 1, k]
    const put = (a) => (P === 8 ? `U32[${lo}] = ${a} >>> 0; U32[${hi}] = (${a} - (${a} >>> 0)) / 4294967296` : `U32[${k}] = ${a}`)
    const zero = P === 8 ? `U32[${lo}] = 0; U32[${hi}] = 0` : `U32[${k}] = 0`
    const sc = `SC${i}`
    const str = takesString(t) ? `else if (v === ${sc}.str) { const p = ${sc}.addr; ${put('p')} }` : ''
    // A function of the instance (its storage, its scratch), so that the
    // call's own bytecode stays small enough for V8 to inline the call
    // into the caller's loop (460 bytes at most).
    helpers.push(`function P${i}(v) {
      if (v === null) { ${zero} }
      else if (v === ${sc}.view && ${ref(typedArrayByteLength)}(v) === ${sc}.viewLength) { const p = ${sc}.viewAddr; ${put('p')} }
      ${str}
      else { K[${i}] = v; const p = CV[${i}](v, ${sc}, undefined); if (typeof p === 'number') { ${put('p')} } else H.store(dv, ${at}, p) }
    }`)
    return `P${i}(${v});`
  }
  const tv = viewOf(t)
  if (tv !== undefined) {
    // A scalar into its slot through a TypedArray: the slot is this
    // parameter's alone and zeroed once, so the bytes past a narrow value
    // stay zero (the slot reads the same as an ffi_arg). The conversions
    // are a DataView's: ToIntN for integers, a bigint as it is for 64-bit
    // ones, rounding to float for float.
    uses.add(tv.name)
    const o = tv.size < 8 && !LE ? at + 8 - tv.size : at
    const el = `${tv.name}[${o / tv.size}]`
    // (Conversions off the fast path: a closure of the value made for the
    // parameter, the shortest call in bytecode.)
    if (tv.kind === 'bool') return `${el} = typeof ${v} === 'boolean' ? +${v} : ${ref((x) => H.toBool(x, where))}(${v});`
    if (tv.kind === 'float') return `${el} = typeof ${v} === 'number' ? ${v} : ${ref((x) => H.toFloat(x, t, where))}(${v});`
    if (tv.size === 8) return `if (typeof ${v} === 'bigint') ${el} = ${v}; else ${ref((d, x) => H.writeInt64(d, at, x, t, where))}(dv, ${v});`
    return `${el} = typeof ${v} === 'number' ? ${v} : ${ref((x) => H.toInt(x, t, where))}(${v});`
  }
  if (b.kind === 'struct' || b.kind === 'union' || b.kind === 'complex' || (b.kind === 'float' && b.size > 8) || (b.kind === 'int' && b.size > 8)) {
    // Wide values: zero the slot, then write (a struct assignment zeroes what the initializer leaves out).
    return `H.zero(dv, ${at}, ${slotSize(t)}); ${I.writeStmt(t, 'dv', at, v, where, ref)}`
  }
  return I.writeStmt(t, 'dv', at, v, where, ref)
}

/** The expression that reads the result of type `t` from rValue at `dv`, 0. */
function resultExpr(t, ref, uses) {
  const b = t.base
  if (b.kind === 'void') return 'undefined'
  if ((b.kind === 'struct' || b.kind === 'union') && b.size > 0 && b.size <= 32 && b.align <= 16) {
    // A small struct result: its bytes copied word by word from the
    // result slot into a slab (allocSmall), then its class over them.
    uses.add('U32')
    uses.add('U8')
    let copy = ''
    let k = 0
    for (; k + 4 <= b.size; k += 4) copy += `d.setUint32(o + ${k}, U32[${k / 4}], ${LE}), `
    for (; k < b.size; k++) copy += `d.setUint8(o + ${k}, U8[${k}]), `
    return `((o, d) => (${copy}new ${ref(I.structClass(t))}(d, o)))(H.allocSmall(${b.size}, ${b.align}), H.currentSlab())`
  }
  const tv = viewOf(t)
  if (tv !== undefined) {
    uses.add(tv.name)
    const o = tv.size < ARG && !LE ? ARG - tv.size : 0
    return tv.kind === 'bool' ? `(U8[${o}] !== 0)` : `${tv.name}[${o / tv.size}]`
  }
  // (what no view reads: larger records, pointers, long double, complex, 128-bit integers)
  if (b.kind === 'struct' || b.kind === 'union') return `H.structCopy(${ref(t)}, dv, 0)`
  return I.readExpr(t, 'dv', 0, ref)
}

/** A copy of a struct or union result into memory that the garbage collector frees. */
function structCopy(t, dv, o) {
  const [ndv, no] = I.allocate(t.base.size, t.base.align)
  I.copyBytes(ndv, no, dv, o, t.base.size)
  return new (I.structClass(t))(ndv, no)
}

function zero(dv, at, n) {
  for (let i = 0; i < n; i += 4) dv.setUint32(at + i, 0)
}

const store = I.storeAddress

function arity(fname, want, got, variadic) {
  const e = error('ERR_INVALID_ARG_VALUE', `${fname}: expected ${variadic ? 'at least ' : ''}${want} argument${want === 1 ? '' : 's'}, got ${got}`)
  return e
}

// The generated code's helpers: cdata's, plus these.
const H = Object.assign(I.H, { store, zero, structCopy, arity })

let uid = 0

/**
 * A declared function as a JavaScript function, for the function type
 * `ft` at address `fnPtr` (a pointer Buffer). `holder` is kept alive by the
 * function (the library).
 */
function declaredFunction(fname, ft, fnPtr, holder) {
  const plan = planOf(ft, fname)
  const cv = ft.params.map((p, i) => (p.type.base.kind === 'pointer' ? pointerConverter(p.type, argName(fname, i, p)) : undefined))
  const fn = ft.variadic ? variadicFunction(fname, ft, plan, fnPtr, cv) : fixedFunction(fname, ft, plan, fnPtr, cv)
  Object.defineProperty(fn, 'name', { value: fname })
  fn.async = asyncFunction(fname, ft, plan, fnPtr, cv)
  keepWith.set(fn, holder)
  return fn
}

const keepWith = new WeakMap()

/**
 * The synchronous call of a function with fixed parameters: generated code
 * over one set of storage; a call made while it runs (from a callback)
 * takes a second instance, made on first need.
 */
function fixedFunction(fname, ft, plan, fnPtr, cv, fromArray = false) {
  const n = ft.params.length
  const refs = []
  const ref = I.referrer(refs)
  const params = ft.params.map((_, i) => `a${i}`).join(', ')
  let conv = ''
  let release = ''
  const uses = new Set()
  const helpers = []
  ft.params.forEach((p, i) => {
    conv += `${convertStmt(p.type, plan.vStart + plan.offsets[i], `a${i}`, i, argName(fname, i, p), ref, uses, helpers)}\n`
    if (p.type.base.kind === 'pointer') release += `K[${i}] = undefined; `
  })
  const result = resultExpr(ft.returns, ref, uses)
  const make = I.compile(
    `return function make(dv, VW, bound, CV, SC, K, nested) {
      ${viewLocals(uses)}
      ${ft.params.map((_, i) => `const SC${i} = SC[${i}]`).join('; ')}
      ${helpers.join('\n')}
      let busy = false
      ${
        fromArray
          ? // A variadic plan's call: the arguments in an array, counted by the caller.
            `return function call(args) {
        ${n > 0 ? `const ${ft.params.map((_, i) => `a${i} = args[${i}]`).join(', ')}` : ''}
        if (busy) return nested()(args)`
          : `return function call(${params}) {
        if (arguments.length !== ${n}) throw H.arity(${ref(fname)}, ${n}, arguments.length, false)
        if (busy) return nested()(${params})`
      }
        // Busy from the first conversion on: converting an argument can run
        // JavaScript (a getter in an initializer, a Proxy), and a call of
        // this function from there takes the nested instance instead of
        // writing over these slots.
        busy = true
        try {
          ${conv}
          bound()
        } finally { busy = false; ${release} }
        return ${result}
      }
    }`,
    refs,
    `${ft.uid} ${fname} ${uid++}`,
  )
  const instance = () => {
    const [mem, dv, rValue, aValues] = storageOf(plan)
    const bound = bindOwned(plan.cif, fnPtr, rValue, aValues)
    let inner
    const nested = () => (inner === undefined ? (inner = instance()) : inner)
    return make(dv, viewsOf(mem, uses), bound, cv, cv.map(() => new Scratch()), new Array(n).fill(undefined), nested)
  }
  return instance()
}

// ---- variadic calls ----

/** The C type a variadic argument is passed as (LuaJIT's rules, with C's promotions). */
function varargType(v, fname, i) {
  switch (typeof v) {
    case 'number':
      return T.DOUBLE
    case 'bigint':
      return T.INT64
    case 'boolean':
      return T.INT32
    case 'string':
      return CONST_CHAR_PTR
    case 'undefined':
      return VOID_PTR
    case 'object': {
      if (v === null) return VOID_PTR
      const t = typeOfValue(v)
      if (t !== undefined) {
        const b = t.base
        if (b.kind === 'pointer') return t
        if (b.kind === 'array' || ArrayBuffer.isView(v)) return T.pointerTo(b.kind === 'array' ? b.element : t.base.element)
        if (b.kind === 'float') return b.size < 8 ? T.DOUBLE : t
        if (b.kind === 'bool') return T.INT32
        if (b.kind === 'int' || b.kind === 'enum') {
          const s = b.kind === 'enum' ? b.element.base.size : b.size
          if (s < 4) return T.INT32
          return b.kind === 'enum' ? b.element : t
        }
        throw error('ERR_INVALID_ARG_TYPE', `${fname}: argument ${i + 1}: cannot pass ${I.kindOf(v)} as a variadic argument (pass a pointer: ffi.addressof(s))`)
      }
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return VOID_PTR
      break
    }
  }
  throw error('ERR_INVALID_ARG_TYPE', `${fname}: argument ${i + 1}: cannot pass ${I.kindOf(v)} as a variadic argument`)
}

let CONST_CHAR_PTR
let VOID_PTR

/**
 * A variadic function: a plan per distinct list of argument types (its
 * CIF cached on the function type), with storage and a converter per
 * argument; the last plan used is tried first, by comparing types, so that
 * a loop making the same call allocates no key.
 */
function variadicFunction(fname, ft, fixed, fnPtr, cv) {
  const nfixed = ft.params.length
  const plans = new Map()
  let last
  const vt = (v, i) => varargType(v, fname, i)
  const planFor = (args) => {
    let key = ''
    const types = ft.params.map((p) => p.type)
    for (let i = nfixed; i < args.length; i++) {
      const t = varargType(args[i], fname, i)
      types.push(t)
      key += `${t.uid},`
    }
    let p = plans.get(key)
    if (p === undefined) {
      p = varCall(varPlan(ft, types, key, fname), fname, ft, fnPtr, cv, vt)
      plans.set(key, p)
    }
    return p
  }
  return function call(...args) {
    if (args.length < nfixed) throw arity(fname, nfixed, args.length, true)
    let p = last
    if (p === undefined || !p.match(args)) last = p = planFor(args)
    return p.call(args)
  }
}

/**
 * The generated call of one variadic plan (its argument types fixed, as a
 * function of fixed parameters; see fixedFunction), and `match(args)`:
 * whether arguments pass as those types (the common kinds tested inline).
 */
function varCall(plan, fname, ft, fnPtr, cv, vt) {
  const nfixed = ft.params.length
  const types = plan.types
  const params = types.map((type, i) => (i < nfixed ? ft.params[i] : { type, name: undefined }))
  const convs = types.map((t, i) => (i < nfixed ? cv[i] : t.base.kind === 'pointer' ? pointerConverter(t, argName(fname, i, undefined)) : undefined))
  const call = fixedFunction(fname, { params, returns: ft.returns, uid: `${ft.uid} ${types.slice(nfixed).map((t) => t.uid).join(',')}` }, plan, fnPtr, convs, true)
  const refs = []
  const ref = I.referrer(refs)
  let test = `args.length === ${types.length}`
  for (let i = nfixed; i < types.length; i++) {
    const t = types[i]
    const kind = t === T.DOUBLE ? 'number' : t === T.INT64 ? 'bigint' : t === CONST_CHAR_PTR ? 'string' : undefined
    const full = `${ref(vt)}(args[${i}], ${i}) === ${ref(t)}`
    test += kind === undefined ? ` && ${full}` : ` && (typeof args[${i}] === '${kind}' || ${full})`
  }
  const match = I.compile(`return function match(args) { return ${test} }`, refs, `${ft.uid} match`)
  return { call, match }
}

/** The plan of a variadic call with argument `types`, cached per function type and key. */
function varPlan(ft, types, key, fname) {
  if (ft.cache === undefined) ft.cache = {}
  if (ft.cache.varPlans === undefined) ft.cache.varPlans = new Map()
  let plan = ft.cache.varPlans.get(key)
  if (plan === undefined) {
    const rT = ffiTypeOrThrow(ft.returns, fname, 'return')
    const aT = types.map((t, i) => ffiTypeOrThrow(t, fname, `parameter ${i + 1}`))
    const cif = ffi.CIFVar(abiOf(ft), ft.params.length, rT, ...aT)
    plan = layout(ft.returns, types, cif, fname)
    ft.cache.varPlans.set(key, plan)
  }
  return plan
}

/** The generic conversion of one argument (variadic and asynchronous calls). */
function writeArg(t, dv, at, v, conv, sc, where, keep) {
  const b = t.base
  if (b.kind === 'pointer') {
    const c = conv !== undefined ? conv : pointerConverter(t, where)
    keep.push(v)
    store(dv, at, v === null ? 0 : c(v, sc, sc === undefined ? keep : undefined))
    return
  }
  zero(dv, at, slotSize(t))
  const o = (b.kind === 'int' || b.kind === 'enum' || b.kind === 'bool') && b.size < 8 && !LE ? at + 8 - b.size : at
  I.codec(t).write(dv, o, v, where)
}

function readResult(t, dv) {
  const b = t.base
  if (b.kind === 'void') return undefined
  if (b.kind === 'struct' || b.kind === 'union') return structCopy(t, dv, 0)
  if ((b.kind === 'int' || b.kind === 'enum' || b.kind === 'bool') && b.size < ARG && !LE) return I.codec(t).read(dv, ARG - b.size)
  return I.codec(t).read(dv, 0)
}

// ---- asynchronous calls ----

/**
 * `fn.async(...args)`: the call on the thread pool, a Promise of the
 * converted result. Each call has storage of its own; the raw module copies
 * the argument values, and the temporaries (strings, callbacks) and the
 * argument values stay referenced until the Promise settles.
 */
function asyncFunction(fname, ft, fixed, fnPtr, cv) {
  const nfixed = ft.params.length
  return function async(...args) {
    return new Promise((resolve, reject) => {
      let plan = fixed
      if (ft.variadic) {
        if (args.length < nfixed) throw arity(fname, nfixed, args.length, true)
        const types = ft.params.map((p) => p.type)
        let key = ''
        for (let i = nfixed; i < args.length; i++) {
          const t = varargType(args[i], fname, i)
          types.push(t)
          key += `${t.uid},`
        }
        plan = varPlan(ft, types, key, fname)
      } else if (args.length !== nfixed) throw arity(fname, nfixed, args.length, false)
      const [mem, dv, rValue, aValues] = storageOf(plan)
      const keep = []
      for (let i = 0; i < args.length; i++) {
        writeArg(plan.types[i], dv, plan.vStart + plan.offsets[i], args[i], i < nfixed ? cv[i] : undefined, undefined, argName(fname, i, ft.params[i]), keep)
      }
      ffi.callAsync(plan.cif, fnPtr, rValue, aValues).then(
        () => {
          keep.length = 0
          try {
            resolve(readResult(ft.returns, dv))
          } catch (e) {
            reject(e)
          }
          return mem
        },
        reject,
      )
    })
  }
}

// ---- callbacks ----

const callbacks = new WeakMap() // callback cdata -> { ptr, cell }

/**
 * A callback: a pointer cdata of the function pointer type `t` whose
 * address C may call; it calls `fn` with the arguments converted to
 * JavaScript and converts its result back. It lives as long as the cdata
 * (or until `free()`).
 */
function makeCallback(t, fn) {
  const ft = t.base.target.base
  const what = `callback ${T.spell(t)}`
  if (ft.variadic) throw error('ERR_INVALID_ARG_VALUE', `${what}: a variadic function type cannot be a callback (libffi cannot receive variadic arguments)`)
  const plan = closurePlan(ft, what)
  const cell = { fn }
  const handler = plan.handler(cell)
  const ptr = ffi.Closure(plan.cif, handler)
  const cls = callbackClass(t)
  const cb = new cls(I.normAddress(ffi.addressBigInt(ptr)), undefined, 0)
  callbacks.set(cb, { ptr, cell })
  return cb
}

/** Per function type: the CIF of a closure and the maker of its handler. */
function closurePlan(ft, what) {
  if (ft.cache === undefined) ft.cache = {}
  if (ft.cache.closure !== undefined) return ft.cache.closure
  ft.params.forEach((p, i) => {
    if (i < ft.params.length - 1 && paddedHalf(p.type)) {
      throw error('ERR_INVALID_ARG_TYPE', `${what}: parameter ${i + 1} (${T.spell(p.type)}) cannot come before other parameters of a callback here: its second eightbyte is padding only, and libffi's closure entry would read every later argument from the wrong register (pass it by pointer, or last)`)
    }
  })
  const plan = planOf(ft, what)
  const cif = plan.cif
  const refs = []
  const ref = I.referrer(refs)
  let pointers = ''
  const reads = ft.params
    .map((p, i) => {
      const b = p.type.base
      if (b.kind !== 'pointer') return I.readExpr(p.type, 'dv', plan.offsets[i], ref)
      // (the class itself, and the target's size: see readPointerOf)
      const size = b.target.base.kind === 'function' || b.target.base.kind === 'void' ? 0 : b.target.base.size || 0
      const C = ref(I.pointerClass(p.type))
      const off = plan.offsets[i]
      if (P !== 8 || !LE) return `H.readPointerOf(${C}, dv, ${off}, ${size})`
      // readPointerOf written out, so that V8 sees the class it constructs
      // (and inlines the constructor) instead of a generic construct call.
      pointers += `let p${i}
        { const lo = dv.getUint32(${off}, true), hi = dv.getUint32(${off + 4}, true)
          if (hi === 0 && lo === 0) p${i} = null
          else if (hi >= 0x200000) p${i} = H.readPointerOf(${C}, dv, ${off}, ${size})
          else {
            const a = hi * 4294967296 + lo
            const w = H.pageHit(a, ${size})
            p${i} = w === undefined ? new ${C}(a, undefined, 0, undefined, 0, 0) : new ${C}(a, undefined, 0, w, a - Math.floor(a / ${I.PAGE}) * ${I.PAGE}, ${I.PAGE})
          } }\n`
      return `p${i}`
    })
    .join(', ')
  const make = I.compile(
    `return function handlerFor(cell) {
      let lastArgs, dv, lastR, rdv
      return function handler(rValue, aValues, args) {
        if (args !== lastArgs) { lastArgs = args; dv = new DataView(args.buffer, args.byteOffset, args.byteLength) }
        ${pointers}
        const r = cell.fn(${reads})
        if (rValue !== lastR) { lastR = rValue; rdv = new DataView(rValue.buffer, rValue.byteOffset, rValue.byteLength) }
        ${returnStmt(ft.returns, 'rdv', 'r', `${what}: its result`, ref)}
      }
    }`,
    refs,
    `closure ${ft.uid}`,
  )
  ft.cache.closure = { cif, handler: make }
  return ft.cache.closure
}

/** Writes a callback's result `r` into rValue: a narrow integer as a whole ffi_arg. */
function returnStmt(t, dv, r, where, ref) {
  const b = t.base
  if (b.kind === 'void') return ''
  const ib = b.kind === 'enum' && b.complete ? b.element.base : b
  if (ib.kind === 'int' && ib.size <= 4 && ARG === 8) {
    // The value as C reads it back, sign or zero extended to a whole
    // ffi_arg: ToInt32/ToUint32 and their narrowings, the conversions a
    // DataView store makes. (Anything but a number converts first.)
    const n = `(typeof ${r} === 'number' ? ${r} : H.toInt(${r}, ${ref(t)}, ${ref(where)}))`
    const bits = ib.size * 8
    const x = ib.size === 4 ? (ib.unsigned ? `${n} >>> 0` : `${n} | 0`) : ib.unsigned ? `${n} & ${2 ** bits - 1}` : `(${n} << ${32 - bits}) >> ${32 - bits}`
    return `{ const x = ${x}; ${dv}.setUint32(${LE ? 0 : 4}, x, ${LE}); ${dv}.setInt32(${LE ? 4 : 0}, x < 0 ? -1 : 0, ${LE}) }`
  }
  if ((b.kind === 'int' || b.kind === 'enum' || b.kind === 'bool') && b.size < ARG) {
    const at = LE ? 0 : ARG - b.size
    const w = I.writeStmt(t, dv, at, r, where, ref)
    const rd = I.readExpr(t, dv, at, ref)
    // widen: the value as read back (sign or zero extended), as two 32-bit halves
    return `${w} { const x = +${rd}; ${dv}.setInt32(${LE ? 0 : 4}, x, ${LE}); ${dv}.setInt32(${LE ? 4 : 0}, x < 0 ? -1 : 0, ${LE}) }`
  }
  if (b.kind === 'pointer') return `if (typeof ${r} === 'function') throw H.callbackResult(${ref(where)}); H.store(${dv}, 0, ${r} === null || ${r} === undefined ? 0 : H.pointerResult(${ref(t)}, ${r}, ${ref(where)}));`
  return I.writeStmt(t, dv, 0, r, where, ref)
}

H.callbackResult = (where) => error('ERR_INVALID_ARG_TYPE', `${where}: a callback cannot return a JavaScript function (return a callback made with ffi.cast)`)
H.pointerResult = (t, v, where) => {
  if (typeof v === 'string') throw error('ERR_INVALID_ARG_TYPE', `${where}: a callback cannot return a string (its copy would be gone when C reads it): return memory that lives on`)
  const c = pointerConverter(t, where)
  return c(v, undefined, [])
}

/** The class of callbacks of pointer type `t`: its pointer class plus free() and set(fn). */
function callbackClass(t) {
  if (t.cache === undefined) t.cache = {}
  if (t.cache.callback !== undefined) return t.cache.callback
  const base = I.pointerClass(t)
  class Callback extends base {
    free() {
      const c = callbacks.get(this)
      if (c === undefined || c.ptr === undefined) return
      ffi.Closure.free(c.ptr)
      c.ptr = undefined
      c.cell.fn = freed
    }
    set(fn, v) {
      if (typeof fn !== 'function' || v !== undefined) return super.set(fn, v)
      const c = callbacks.get(this)
      if (c.ptr === undefined) throw error('ERR_INVALID_ARG_VALUE', `set: this callback was freed`)
      c.cell.fn = fn
    }
  }
  t.cache.callback = Callback
  return Callback
}

function freed() {
  throw error('ERR_INVALID_ARG_VALUE', 'a freed callback was called')
}

/** The callback for a JavaScript function passed as an argument: made once per function and type. */
function callbackFor(t, fn) {
  if (t.cache === undefined) t.cache = {}
  let m = t.cache.temporary
  if (m === undefined) m = t.cache.temporary = new WeakMap()
  let cb = m.get(fn)
  if (cb === undefined) {
    cb = makeCallback(t, fn)
    m.set(fn, cb)
  }
  return cb
}

function init(ctx) {
  ffiTypeOf = ctx.ffiTypeOf
  paddedHalf = ctx.paddedHalf
  CTsym = ctx.CT
  CONST_CHAR_PTR = T.pointerTo(T.qualified(T.CHAR, T.CONST))
  VOID_PTR = T.pointerTo(T.VOID)
  D.hooks.callback = makeCallback
  D.hooks.callable = callable
}

const callables = new WeakMap()
/** A C function pointer cdata as a JavaScript function that calls it (made once per cdata). */
function callable(p) {
  let f = callables.get(p)
  if (f === undefined) {
    const ft = typeOfValue(p).base.target.base
    f = declaredFunction(`(${T.spell(typeOfValue(p))})`, ft, ffi.fromAddress(p[kA]), p)
    callables.set(p, f)
  }
  return f
}

module.exports = { init, declaredFunction, makeCallback }
