'use strict'

// The JavaScript surface of `ffi`. What lives here is what must be
// JavaScript: the addresses of pointer Buffers (Node reports address 0
// for a zero-length Buffer over foreign memory, and Electron refuses such
// Buffers altogether, so a zero-length pointer Buffer is an ordinary
// Node-owned Buffer that carries its address in a private field), the table of the
// CIFs this module prepared, and the links that keep Buffers alive as long
// as the C structures pointing into them. Every check on values, and every
// error's class and code, is in Rust (src/error.rs).

const { isMainThread } = require('node:worker_threads')
const native = require('./native.js')

const info = native.info()
// The hot helpers as plain N-API functions (src/napi/raw.rs): the same
// code as native.*, without napi-rs's per-call bookkeeping.
const raw = native.rawHelpers()

// Intrinsics, captured at load: the safety checks read these, never a
// property of the object passed in (a subclass's or an own `length`, a
// `buffer` getter that throws, a DataView of another realm, for which
// `instanceof DataView` is false, must not make a detached or short Buffer
// pass).
const uncurry = Function.prototype.call.bind(Function.prototype.bind, Function.prototype.call)
const getter = (proto, key) => uncurry(Object.getOwnPropertyDescriptor(proto, key).get)
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype)
const typedArrayTag = getter(TypedArrayPrototype, Symbol.toStringTag)
const typedArrayBuffer = getter(TypedArrayPrototype, 'buffer')
const typedArrayByteOffset = getter(TypedArrayPrototype, 'byteOffset')
const typedArrayByteLength = getter(TypedArrayPrototype, 'byteLength')
const typedArrayLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'length').get
const dataViewBuffer = getter(DataView.prototype, 'buffer')
const dataViewByteOffset = getter(DataView.prototype, 'byteOffset')
const dataViewByteLength = getter(DataView.prototype, 'byteLength')
const resizableDescriptor = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable')
const arrayBufferByteLength = getter(ArrayBuffer.prototype, 'byteLength')
const arrayBufferResizable = resizableDescriptor ? uncurry(resizableDescriptor.get) : () => false
const { isSharedArrayBuffer } = require('node:util').types
const isView = ArrayBuffer.isView
const typedArrayIndexOf = uncurry(TypedArrayPrototype.indexOf)
// Node's UTF-8 decoder (the one napi_create_string_utf8 uses), bounds
// checked against the view's real length; absent, readCString stays native.
const utf8Slice = typeof Buffer.prototype.utf8Slice === 'function' ? uncurry(Buffer.prototype.utf8Slice) : undefined
const Uint8ArrayOf = Uint8Array

/**
 * A view of the module's own over the bytes of a caller's Buffer: no caller
 * ever holds one, and its `length` is the intrinsic getter on a prototype
 * no caller can reach, so it reads the real length (0 once the memory is
 * detached, or out of bounds of a shrunk resizable ArrayBuffer) as fast as
 * a plain property. The fast paths compare these.
 */
class Guard extends Uint8Array {}
Object.defineProperty(Guard.prototype, 'length', { get: typedArrayLength })
const EMPTY_GUARD = new Guard(0)

/** Whether an ArrayBuffer (not a view's bytes) was detached. */
function detachedBuffer(ab) {
  if (isSharedArrayBuffer(ab)) return false
  try {
    new Uint8ArrayOf(ab, 0, 0)
    return false
  } catch {
    return true
  }
}

/**
 * `[ArrayBuffer, byteOffset, byteLength, detached]` of a TypedArray or
 * DataView of any realm, read through intrinsics; undefined for anything
 * else. A detached one has byteLength 0.
 */
function bytesOf(v) {
  if (!isView(v)) return undefined
  if (typedArrayTag(v) !== undefined) {
    const ab = typedArrayBuffer(v)
    const n = typedArrayByteLength(v)
    return [ab, n === 0 ? 0 : typedArrayByteOffset(v), n, n === 0 && detachedBuffer(ab)]
  }
  const ab = dataViewBuffer(v)
  try {
    return [ab, dataViewByteOffset(v), dataViewByteLength(v), false]
  } catch {
    // Detached, or out of bounds of a shrunk resizable ArrayBuffer.
    return [ab, 0, 0, true]
  }
}

/** A view's byteLength through intrinsics (0 once detached); -1 for a non-view. */
function byteLengthOf(v) {
  if (!isView(v)) return -1
  if (typedArrayTag(v) !== undefined) return typedArrayByteLength(v)
  try {
    return dataViewByteLength(v)
  } catch {
    // Detached, or out of bounds of a shrunk resizable ArrayBuffer.
    return 0
  }
}

/** A Guard over a view's bytes (EMPTY_GUARD for none). */
function guardOf(v) {
  if (isView(v) && typedArrayTag(v) !== undefined) {
    // (A detached or empty one reads 0 either way.)
    const n = typedArrayByteLength(v)
    return n === 0 ? EMPTY_GUARD : new Guard(typedArrayBuffer(v), typedArrayByteOffset(v), n)
  }
  const b = bytesOf(v)
  return b === undefined || b[2] === 0 ? EMPTY_GUARD : new Guard(b[0], b[1], b[2])
}

/** Whether a view's memory was detached (through intrinsics; false for a non-view). */
function isDetached(v) {
  if (!isView(v)) return false
  if (typedArrayTag(v) !== undefined) return typedArrayByteLength(v) === 0 && detachedBuffer(typedArrayBuffer(v))
  try {
    dataViewByteLength(v)
    return false
  } catch {
    // Detached, or out of bounds of a shrunk resizable ArrayBuffer.
    return true
  }
}

/** Throws ERR_FFI_DETACHED if a call's Buffer was detached. */
function checkNotDetached(v, what) {
  if (isDetached(v)) {
    fail('ERR_FFI_DETACHED', `${what} was detached (its ArrayBuffer transferred); its memory is gone`)
  }
}

/**
 * The state every evaluation of this file on one thread shares. A cleared
 * `require.cache`, Jest's `isolateModules` or a second path to this package
 * evaluate it again over the one binary, whose per-thread state (the fast
 * path's control cell first) exists once: the first evaluation makes this
 * state and stores it natively, later ones take it, so the copies work
 * interleaved and accept each other's Buffers.
 */
/** V8's `--stack-size` (KiB) among `argv`, the last one given; else undefined. */
function v8StackSize(argv) {
  let kb
  for (const arg of argv) {
    const m = /^--stack[-_]size=(\d+)$/.exec(arg)
    if (m !== null) kb = Number(m[1])
  }
  return kb > 0 ? kb : undefined
}

function makeShared() {
  // Private state on the CIF Buffers this module prepared: a class private
  // field, stamped onto the Buffer through a base class that returns it.
  // User code can neither read nor forge it, and a copy of the Buffer has
  // none.
  class Stamp {
    constructor(target) {
      return target
    }
  }
  class CifState extends Stamp {
    #state
    constructor(target, state) {
      super(target)
      this.#state = state
    }
    static of(o) {
      // One private-field read (a brand check and then a read cost two, and
      // `#state in o` is slow on recent V8); anything without it throws.
      try {
        return o.#state
      } catch {
        return undefined
      }
    }
  }
  // The fast path: a control cell shared with the native side, and a native
  // function of no arguments that makes the call the cell points to.
  const [control, callFast] = native.fastInit()
  // Where this thread's JavaScript stack ends, for the native side's stack
  // checks (README, Limits): V8's --stack-size, if the process was given one.
  native.stackInit(v8StackSize(process.execArgv))
  // Node joins the libuv thread pool when the process exits, before any
  // native cleanup runs: from the 'exit' event on, closure calls from other
  // threads (a callAsync's, a C library's) get zero instead of waiting for
  // this thread, so that the exit completes.
  process.on('exit', () => native.closuresEnding())
  // The address of a pointer Buffer this module made: a private field
  // stamped onto an ordinary Buffer (its prototype stays Buffer.prototype),
  // which only this class reads and writes. Its value: the address (a
  // number; a bigint only past 2^53), or for a closure whose address never
  // left the module `{ closure: address }` (see `addressOf`). A copy or a
  // slice of a pointer Buffer has no such field. A WeakMap did this before:
  // each entry is an ephemeron that every collection must trace, and with
  // millions of pointer Buffers made in a loop that cost more than making
  // them.
  class PointerState extends Stamp {
    #address
    constructor(target, address) {
      super(target)
      this.#address = address
    }
    /** The field of a pointer Buffer, or undefined for any other value. */
    static of(o) {
      // `#address in o` answers false without throwing (a miss costs about
      // as much as a WeakMap lookup); it throws for a primitive.
      return typeof o === 'object' && o !== null && #address in o ? o.#address : undefined
    }
    static set(o, address) {
      o.#address = address
    }
  }
  // Zero-length pointer Buffers are views over one empty ArrayBuffer that
  // no caller can detach (a WebAssembly memory's; else a
  // SharedArrayBuffer's): a view over an existing ArrayBuffer costs a tenth
  // of Buffer.alloc(0), which makes an ArrayBuffer (and its native
  // bookkeeping) per Buffer.
  const emptyBytes =
    typeof WebAssembly === 'object' && typeof WebAssembly.Memory === 'function'
      ? new WebAssembly.Memory({ initial: 0 }).buffer
      : new SharedArrayBuffer(0)
  const FastBuffer = fastBufferClass()
  /** 64 KiB region of the address space -> an ArrayBuffer over it (see `foreignView`) */
  const regions = new Map()
  // What a view made by `reinterpret` keeps alive (the pointer Buffer it
  // was made from), as a private field: a WeakMap entry per view is an
  // ephemeron every collection traces.
  class Kept extends Stamp {
    // eslint-disable-next-line no-unused-private-class-members -- held, never read: it keeps its value alive
    #kept
    constructor(target, kept) {
      super(target)
      this.#kept = kept
    }
  }
  const NULL = new PointerState(new FastBuffer(emptyBytes, 0, 0), 0)
  // Live CIFs and struct types, for ffi.stats(): their memory is Node's, so
  // JavaScript counts them as they are made and collected.
  const live = { cifs: 0, structTypes: 0 }
  return {
    PointerState,
    Kept,
    emptyBytes,
    FastBuffer,
    regions,
    /** builtin type Buffer -> address of libffi's ffi_type */
    builtinTypes: new WeakMap(),
    /** Buffer -> what must live as long as it does (struct fields, views' owners) */
    keptAlive: new WeakMap(),
    /**
     * Buffer -> { version, map: Map(offset -> [Buffer, its byteLength then]) }:
     * what writePointer stored where, kept alive with the Buffer; the version
     * changes with every store, so that a call can trust what it checked before.
     */
    pointees: new WeakMap(),
    CifState,
    controlCell: new Float64Array(control.buffer, control.byteOffset, 1),
    callFast,
    NULL,
    /** ffi.types, made below by the first evaluation */
    types: undefined,
    live,
    collected: new FinalizationRegistry((kind) => live[kind]--),
  }
}

const shared = native.sharedState() ?? native.sharedState(makeShared())
const { PointerState, Kept, emptyBytes, FastBuffer, regions, builtinTypes, keptAlive, pointees, CifState, controlCell, callFast, NULL, live, collected } = shared

function fail(code, message) {
  throw native.makeError(code, message)
}

/**
 * The native checks name `ffi.call` in their messages (passing the caller's
 * name down measured slower on the call path): `ffi.bind` and
 * `ffi.callAsync` rename theirs on the way out, at no cost to calls that
 * do not throw.
 */
function renamed(err, what) {
  if (what !== 'ffi.call' && err instanceof Error && err.message.startsWith('ffi.call:')) {
    const message = what + err.message.slice('ffi.call'.length)
    if (typeof err.stack === 'string') err.stack = err.stack.replace(err.message, message)
    err.message = message
  }
  return err
}

function describe(value) {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object') return Array.isArray(value) ? 'an Array' : 'an object'
  return `type ${typeof value} (${String(value).slice(0, 40)})`
}

/**
 * Node's own Buffer class (Buffer's species): `new FastBuffer(ab, o, n)` is
 * a Buffer over `ab`. If something replaced it before this module loaded,
 * Buffer.from makes the same Buffer, only slower.
 */
function fastBufferClass() {
  const species = Object.getOwnPropertyDescriptor(Buffer, Symbol.species)
  const C = species && typeof species.get === 'function' ? species.get.call(Buffer) : undefined
  if (typeof C === 'function' && C.prototype === Buffer.prototype) return C
  return function FastBuffer(ab, offset, length) {
    return Buffer.from(ab, offset, length)
  }
}

/** The address of a Buffer's first byte: a pointer Buffer's own, or from N-API. */
function addressOf(buf, what) {
  const a = PointerState.of(buf)
  if (typeof a === 'number') return a
  if (a === undefined) return raw.bufferAddress(buf, what)
  return exposed(buf, a)
}

/**
 * A pointer Buffer's address (a bigint, or a closure's, which then leaves
 * the module for the first time: if its environment ends, its code must
 * stay for C, and answer zero).
 */
function exposed(buf, a) {
  if (typeof a !== 'object') return a
  native.closureExposed(buf)
  PointerState.set(buf, a.closure)
  return a.closure
}

/**
 * The address of a call's `fn`: only a pointer Buffer this module made
 * (readPointer, fromAddress, reinterpret, Closure) can be code. A Buffer
 * Node owns is data: calling its bytes would crash.
 */
function fnAddress(fn, what) {
  const a = PointerState.of(fn)
  if (a !== undefined) return exposed(fn, a)
  if (!isView(fn)) return raw.bufferAddress(fn, what) // throws the TypeError
  const n = byteLengthOf(fn)
  if (n === 0) {
    fail('ERR_INVALID_ARG_VALUE', `${what}: not a pointer Buffer this module made (a copy or a slice of one?); use the Buffer that ffi.readPointer, ffi.fromAddress or ffi.Closure returned`)
  }
  const hint =
    n === sizeof.pointer
      ? `; if it is dlsym()'s result, that Buffer holds the function's address: read it out with ffi.readPointer(dlsym(lib, name), 0)`
      : ''
  fail('ERR_INVALID_ARG_VALUE', `${what}: a Buffer of ${n} bytes that Node owns is data, not code: fn must be a pointer Buffer from ffi.readPointer, ffi.fromAddress or ffi.Closure${hint}`)
}

/** A pointer Buffer's address, for a look that does not hand it out. */
function knownAddress(buf) {
  const a = PointerState.of(buf)
  return a !== null && typeof a === 'object' ? a.closure : a
}

/** Whether a value is a pointer Buffer this module made. */
function isPointerBuffer(buf) {
  return PointerState.of(buf) !== undefined
}

/** A new zero-length pointer Buffer at `address`. */
function pointerBuffer(address) {
  if (address === 0) return NULL
  return new PointerState(new FastBuffer(emptyBytes, 0, 0), address)
}

/**
 * A pointer Buffer of `length` bytes over foreign memory at `at` (number or
 * bigint, not NULL; `length` > 0, both checked by the caller or by the
 * native side on the exact path).
 *
 * Node frees what a Buffer (or ArrayBuffer) over foreign memory holds
 * natively only in a task of the event loop, after a collection: a
 * synchronous loop that makes them grows by about 230 bytes each until it
 * returns, and each costs over a microsecond. So small spans are views over
 * an ArrayBuffer per 64 KiB region of the address space, made once and kept
 * in `regions` (256 at most): a view is JavaScript heap that V8 counts and
 * collects, and holds nothing native. Larger spans, bigints and addresses
 * in the first region get an ArrayBuffer of their own, as before.
 */
function foreignView(at, length, what) {
  if (typeof at === 'number' && at >= REGION && length <= REGION && at + length <= maxAddress) {
    const k = Math.floor(at / REGION)
    const start = k * REGION
    let ab = regions.get(k)
    // (A detached one reads byteLength 0: made again.)
    if (ab === undefined || arrayBufferByteLength(ab) < at + length - start) {
      if (regions.size >= MAX_REGIONS) regions.clear()
      ab = native.reinterpret(start, Math.ceil((at + length) / REGION) * REGION - start, 0, what)
      regions.set(k, ab)
    }
    return new PointerState(new FastBuffer(ab, at - start, length), at)
  }
  return exactView(native.reinterpret(at, length, 0, what), at)
}

/**
 * A pointer Buffer over all of `ab`, an ArrayBuffer the native side made
 * over foreign memory at `at` (N-API tells it when undefined).
 */
function exactView(ab, at) {
  let view
  try {
    view = new FastBuffer(ab)
  } catch {
    // Past the runtime's Buffer (TypedArray) length limit.
    fail('ERR_OUT_OF_RANGE', `a Buffer of ${arrayBufferByteLength(ab)} bytes cannot be made (past the runtime's Buffer size limit)`)
  }
  return new PointerState(view, at === undefined ? raw.bufferAddress(view) : at)
}

/** Whether `n` is a whole number >= 0 that a native index check passes. */
function isIndex(n) {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/** Whole numbers >= 0 for lengths checked in JavaScript (NULL short cuts). */
function checkLength(length, what) {
  if (typeof length !== 'number') fail('ERR_INVALID_ARG_TYPE', `${what}: expected a number, got ${describe(length)}`)
  if (!Number.isSafeInteger(length) || length < 0) {
    fail('ERR_OUT_OF_RANGE', `${what}: must be a whole number >= 0, got ${length}`)
  }
}

const sizeof = Object.freeze(info.sizeof)
const alignof = Object.freeze(info.alignof)
const abi = Object.freeze(info.abi)
/** The largest address a number can give exactly on this platform (the native side's bound, minus one on 32-bit). */
const maxAddress = sizeof.pointer >= 8 ? Number.MAX_SAFE_INTEGER : 2 ** 32 - 2
const REGION = 65536
const P = sizeof.pointer
const LE = info.endianness === 'LE'
/** Bytes of a C string readCString decodes in JavaScript (far below V8's string length limit) */
const MAX_FAST_STRING = 1 << 24
const MAX_REGIONS = 256

if (shared.types === undefined) {
  const types = {}
  for (const [name, address] of info.builtinTypes) {
    const t = pointerBuffer(address)
    builtinTypes.set(t, address)
    types[name] = t
  }
  for (const [alias, canonical] of info.typeAliases) types[alias] = types[canonical]
  shared.types = Object.freeze(types)
}
const types = shared.types

/**
 * The address of a type description: a builtin type, or a Buffer holding
 * an ffi_type (StructType's, or built by hand).
 */
function typeAddress(t, what) {
  const builtin = builtinTypes.get(t)
  if (builtin !== undefined) return builtin
  if (!isView(t)) return raw.bufferAddress(t, what) // throws the TypeError
  checkNotDetached(t, what)
  const n = byteLengthOf(t)
  if (n < sizeof.ffi_type) {
    fail(
      'ERR_INVALID_ARG_VALUE',
      `${what}: expected a type Buffer (ffi.types.*, ffi.StructType(), or ${sizeof.ffi_type} bytes of ffi_type), got a Buffer of ${n} bytes`,
    )
  }
  return addressOf(t, what)
}

function prepare(name, abiValue, nfixed, rType, aTypes) {
  const addrs = [typeAddress(rType, `${name}: the return type`)]
  for (let i = 0; i < aTypes.length; i++) addrs.push(typeAddress(aTypes[i], `${name}: argument type ${i}`))
  const [cif, argTypes, slot, argSizes] = native.prepCif(abiValue, nfixed, addrs)
  const guard = guardOf(cif)
  new CifState(cif, {
    variadic: nfixed !== undefined,
    address: raw.bufferAddress(cif),
    guard,
    argSizes,
    keep: [argTypes, rType, aTypes],
    /** the record of the last call checked in full */
    last: record(slot, guard),
    /** the record of the call before it (see `slowCall`), made when needed */
    previous: undefined,
  })
  return counted('cifs', cif)
}

/**
 * What no argument can be: an empty record's `fn`, `r` and `a`, so that it
 * never matches a call.
 */
const UNSET = Symbol('unset')

/**
 * The fast path's record of a call checked in full, around its slot (the
 * native copy of that call, which `fill` writes): a CIF's state has two
 * (its last call and the one before), and each bound call has one. Every
 * record is made here, so all have one shape and the fast path stays
 * monomorphic. `cif` is the guard over the CIF's bytes.
 */
function record(slot, cif) {
  return {
    slot,
    slotAddress: raw.bufferAddress(slot),
    cif,
    // An empty record never matches a call.
    fn: UNSET,
    r: UNSET,
    a: UNSET,
    /** Guards over rValue's and aValues' bytes, and their lengths then */
    rg: EMPTY_GUARD,
    ag: EMPTY_GUARD,
    rl: -1,
    al: -1,
    /** aValues' writePointer table, and its version then */
    table: undefined,
    version: -1,
    /** guards over the other ArrayBuffers that hold arguments (see `liveViews`) */
    live: [],
  }
}

function CIF(...args) {
  const abiValue = typeof args[0] === 'number' ? args.shift() : undefined
  const rType = args.shift()
  return prepare('ffi.CIF', abiValue, undefined, rType, args)
}

function CIFVar(...args) {
  const abiValue = typeof args[0] === 'number' && typeof args[1] === 'number' ? args.shift() : undefined
  const nfixed = args.shift()
  if (typeof nfixed !== 'number') {
    fail('ERR_INVALID_ARG_TYPE', `ffi.CIFVar: nFixedArgs: expected a number, got ${describe(nfixed)}`)
  }
  const rType = args.shift()
  return prepare('ffi.CIFVar', abiValue, nfixed, rType, args)
}

function StructType(...fields) {
  const addrs = fields.map((f, i) => typeAddress(f, `ffi.StructType: field ${i}`))
  const t = native.structType(addrs)
  keptAlive.set(t, fields)
  return counted('structTypes', t)
}

/** `{ size, alignment, type }` of a type Buffer (`type`: an `ffi.TYPE_*` code). */
function typeInfo(type) {
  const [size, alignment, code] = native.typeInfo(typeAddress(type, 'ffi.typeInfo'))
  return { size, alignment, type: code }
}

function offsetsof(structType) {
  return native.offsetsOf(typeAddress(structType, 'ffi.offsetsof'))
}

/** The state of a CIF this module prepared, or a typed error. */
function cifEntry(cif, what) {
  const entry = CifState.of(cif)
  if (entry !== undefined && entry.guard.length !== 0) return entry
  if (!isView(cif)) raw.bufferAddress(cif, `${what}: cif`) // throws the TypeError
  fail(
    'ERR_FFI_INVALID_CIF',
    entry === undefined
      ? `${what}: cif is not a CIF that ffi.CIF or ffi.CIFVar returned (a copy of one is not one either)`
      : `${what}: cif's memory was detached (its ArrayBuffer was transferred)`,
  )
}

/** The writePointer table of a Buffer, made empty if it has none. */
function pointeeTable(buf) {
  let table = pointees.get(buf)
  if (table === undefined) pointees.set(buf, (table = { version: 0, map: new Map() }))
  return table
}

/** Throws if an argument whose address writePointer stored has been detached. */
function checkAttached(table, what) {
  for (const [offset, [buf, length]] of table.map) {
    if (length > 0 && byteLengthOf(buf) === 0) {
      fail('ERR_FFI_DETACHED', `${what}: the Buffer whose address is stored at offset ${offset} of aValues was detached (its ArrayBuffer transferred); its memory is gone`)
    }
  }
}

/**
 * Throws if an argument's storage that writePointer stored in aValues is a
 * Buffer shorter than the argument's type: C would read past it (a string
 * stored where a slot holding its address is due, say). Pointer Buffers of
 * foreign memory have no length to check.
 */
function checkStorage(table, entry, what) {
  const sizes = entry.argSizes
  for (let i = 0; i < sizes.length; i++) {
    const stored = table.map.get(i * sizeof.pointer)
    if (stored === undefined) continue
    const buf = stored[0]
    if (isPointerBuffer(buf)) continue
    const n = byteLengthOf(buf)
    if (n >= 0 && n < sizes[i]) {
      const pointerHint =
        sizes[i] === sizeof.pointer
          ? ` (for a pointer argument, store the address of a Buffer that holds the pointer: writePointer(slot, 0, data), then writePointer(aValues, ${i * sizeof.pointer}, slot))`
          : ''
      fail('ERR_FFI_BUFFER_TOO_SMALL', `${what}: argument ${i}'s storage is ${n} bytes, its type needs ${sizes[i]}${pointerHint}`)
    }
  }
}

/** The pointees of a cached call are still attached (their guards' `length` is 0 once detached). */
function attached(live) {
  for (let i = 0; i < live.length; i++) if (live[i].length === 0) return false
  return true
}

/**
 * The fast path, the one place a call is made from a record: if `c` is the
 * record of this very call (the same Buffers, compared by identity) and
 * nothing it checked has changed since (no Buffer detached or shrunk, no
 * writePointer into aValues), makes the call and returns true; else false,
 * and the caller checks in full.
 */
function repeat(c, fn, rValue, aValues) {
  if (
    c.fn === fn &&
    c.r === rValue &&
    c.a === aValues &&
    c.cif.length !== 0 &&
    c.rg.length === c.rl &&
    c.ag.length === c.al &&
    c.table.version === c.version &&
    attached(c.live)
  ) {
    run(c, rValue)
    return true
  }
  return false
}

/** Makes the call recorded in `c` (checked by `fill`, compared by `repeat`). */
function run(c, rValue) {
  controlCell[0] = c.slotAddress
  if (callFast() === true) native.takeResult(rValue)
}

function call(cif, fn, rValue, aValues) {
  const s = CifState.of(cif)
  if (s === undefined || !repeat(s.last, fn, rValue, aValues)) slowCall(cif, fn, rValue, aValues)
}

/** Checks everything, remembers the call for the fast path, and makes it. */
function slowCall(cif, fn, rValue, aValues) {
  const s = cifEntry(cif, 'ffi.call')
  // The CIF's second record: the call it checked before the last one. A
  // CIF shared by several functions of one signature (as a layer above
  // shares one per signature) alternates between them without a full
  // check each time.
  if (s.previous !== undefined && repeat(s.previous, fn, rValue, aValues)) return
  let c = s.last
  if (c.fn !== UNSET) {
    // The last call's record becomes the second; the second's (its slot)
    // is filled for this call, emptied first in case the checks throw.
    c = s.previous === undefined ? record(native.newSlot(), s.guard) : s.previous
    c.fn = UNSET
    s.previous = s.last
    s.last = c
  }
  fill(c, s, fn, rValue, aValues, 'ffi.call')
  run(c, rValue)
}

/**
 * Checks a call in full and records it in `c` (a CIF's state, or a bound
 * call's) for the fast path: what a repeated call compares, and its slot.
 */
function fill(c, entry, fn, rValue, aValues, what) {
  const table = isView(aValues) ? pointeeTable(aValues) : undefined
  if (table !== undefined) {
    checkAttached(table, what)
    checkStorage(table, entry, what)
  }
  checkNotDetached(rValue, `${what}: rValue`)
  checkNotDetached(aValues, `${what}: aValues`)
  try {
    raw.fillSlot(c.slot, entry.address, fnAddress(fn, `${what}: fn`), rValue, aValues, entry.variadic)
  } catch (err) {
    throw renamed(err, what)
  }
  c.fn = fn
  c.r = rValue
  c.a = aValues
  // What a repeated call compares: the guards' lengths (0 once detached).
  c.rg = guardOf(rValue)
  c.ag = guardOf(aValues)
  c.rl = c.rg.length
  c.al = c.ag.length
  c.table = table
  c.version = table.version
  c.live = liveViews(table, rValue, aValues)
}

/**
 * The guards a repeated call must find attached: one per ArrayBuffer that
 * holds an argument, since views of one ArrayBuffer are detached together.
 * Arguments inside `rValue`'s or `aValues`' ArrayBuffer are covered by their
 * guards (when they have bytes), and those in a SharedArrayBuffer can never
 * be detached. A resizable ArrayBuffer can shrink under one view and not
 * another: each of its views is checked.
 */
function liveViews(table, rValue, aValues) {
  const covered = new Set()
  for (const v of [rValue, aValues]) {
    // (A zero-length one reads 0 attached or not: it covers nothing.)
    const b = bytesOf(v)
    if (b !== undefined && b[2] > 0 && !arrayBufferResizable(b[0])) covered.add(b[0])
  }
  const live = []
  for (const [buf, length] of table.map.values()) {
    if (length === 0) continue
    const b = bytesOf(buf)
    if (b === undefined) continue
    const ab = b[0]
    if (isSharedArrayBuffer(ab) || covered.has(ab)) continue
    if (!arrayBufferResizable(ab)) covered.add(ab)
    live.push(guardOf(buf))
  }
  return live
}

/**
 * A function of no arguments that makes `ffi.call(cif, fn, rValue, aValues)`
 * with these four bound: the same checks, made in full now (bad input throws
 * here) and again whenever a Buffer was detached or `writePointer` stored
 * into `aValues`; otherwise only those are compared, which is cheaper than
 * `ffi.call`'s lookup of the CIF and its Buffers. Each bound function has its
 * own slot, so several of one CIF do not take turns on one.
 */
function bind(cif, fn, rValue, aValues) {
  const entry = cifEntry(cif, 'ffi.bind')
  const c = record(native.newSlot(), entry.guard)
  fill(c, entry, fn, rValue, aValues, 'ffi.bind')
  return function bound() {
    try {
      if (repeat(c, fn, rValue, aValues)) return
      fill(c, cifEntry(cif, 'ffi.bind'), fn, rValue, aValues, 'ffi.bind')
      run(c, rValue)
    } catch (err) {
      throw renamed(err, 'ffi.bind')
    }
  }
}

/**
 * Runs the call on the libuv thread pool. With `callback`, Node style
 * `callback(err, errno)`; without, a Promise of `errno`. Bad input throws
 * synchronously in the callback form and rejects in the Promise form.
 */
function callAsync(cif, fn, rValue, aValues, callback) {
  if (callback === undefined) {
    return new Promise((resolve, reject) => {
      startAsync(cif, fn, rValue, aValues, (err, errno) => (err ? reject(err) : resolve(errno)))
    })
  }
  if (typeof callback !== 'function') {
    fail('ERR_INVALID_ARG_TYPE', `ffi.callAsync: callback: expected a function, got ${describe(callback)}`)
  }
  startAsync(cif, fn, rValue, aValues, callback)
}

function startAsync(cif, fn, rValue, aValues, callback) {
  const entry = cifEntry(cif, 'ffi.callAsync')
  const table = pointees.get(aValues)
  if (table !== undefined) {
    checkAttached(table, 'ffi.callAsync')
    checkStorage(table, entry, 'ffi.callAsync')
  }
  checkNotDetached(rValue, 'ffi.callAsync: rValue')
  checkNotDetached(aValues, 'ffi.callAsync: aValues')
  // The native side holds every Buffer (and through `cif`, its types; through
  // `aValues`, the arguments writePointer stored) until the call completes.
  try {
    native.callAsync(entry.address, fnAddress(fn, 'ffi.callAsync: fn'), rValue, aValues, callback, cif, fn, entry.variadic)
  } catch (err) {
    throw renamed(err, 'ffi.callAsync')
  }
}

/**
 * A C function pointer that calls `fn(rValue, aValues, args)` with the
 * signature of `cif`. Lives as long as the returned pointer Buffer (or until
 * `Closure.free`), and keeps `fn` and `cif` alive as long.
 *
 * C reaches `dispatch`, which calls `fn` with the Buffers of the current
 * reentrancy depth: views of native memory that the module keeps for that
 * depth, made once and reused by every call at that depth (so a call
 * allocates nothing), and made again if `fn` detaches one of them (its
 * memory stays alive with any view of it, transferred or not).
 */
function Closure(cif, fn) {
  const entry = cifEntry(cif, 'ffi.Closure')
  if (typeof fn !== 'function') fail('ERR_INVALID_ARG_TYPE', `ffi.Closure: fn: expected a function, got ${describe(fn)}`)
  const ptr = new FastBuffer(emptyBytes, 0, 0)
  /** depth -> [rValue, aValues, args, guard], views of one Buffer over that depth's frame */
  const frames = []
  let depthCell, rEnd, aStart, vStart
  const views = (d) => {
    const b = native.closureFrame(ptr, d)
    return (frames[d] = [b.subarray(0, rEnd), b.subarray(aStart, vStart), b.subarray(vStart), guardOf(b)])
  }
  // The native side writes the depth of the call into depthCell before it
  // calls dispatch. The three views share one ArrayBuffer with the guard,
  // which (never empty) reads length 0 once any of them was detached.
  const dispatch = () => {
    const d = depthCell[0]
    let f = frames[d]
    if (f === undefined || f[3].length === 0) f = views(d)
    fn(f[0], f[1], f[2])
  }
  // Without Buffers over native memory (Electron): copies, per call. If fn
  // throws, C gets zeroes and rValue need not go back.
  const dispatchCopies = () => {
    const f = native.closureFrameCopy(ptr)
    fn(f[0], f[1], f[2])
    native.closureResult(ptr, f[0])
  }
  const made = native.closureNew(entry.address, ptr, dispatch, dispatchCopies, entry.variadic, isMainThread)
  if (made[1] !== null) depthCell = new Int32Array(made[1].buffer, made[1].byteOffset, 1)
  rEnd = made[2]
  aStart = made[3]
  vStart = made[4]
  new PointerState(ptr, { closure: made[0] })
  // The native side holds the dispatcher it picked weakly: it lives here.
  keptAlive.set(ptr, { fn, cif, dispatch: made[1] !== null ? dispatch : dispatchCopies })
  return ptr
}

/** Frees a closure at once; a second call does nothing. */
Closure.free = function free(ptr) {
  native.closureFree(ptr)
  keptAlive.delete(ptr)
}

function isNull(buf) {
  const known = knownAddress(buf)
  const a = known !== undefined ? known : addressOf(buf, 'ffi.isNull')
  return a === 0 || a === 0n
}

function address(buf) {
  const a = addressOf(buf, 'ffi.address')
  if (typeof a === 'bigint') {
    fail('ERR_OUT_OF_RANGE', `ffi.address: address 0x${a.toString(16)} is not exact as a number; use ffi.addressBigInt`)
  }
  return a
}

function addressBigInt(buf) {
  return BigInt(addressOf(buf, 'ffi.addressBigInt'))
}

/** A pointer Buffer at `addr`, `length` bytes long; NULL stays NULL. */
function pointerAt(addr, length, what) {
  if (addr === 0 || addr === 0n) {
    checkLength(length, `${what}: length`)
    return NULL
  }
  // The common cases, checked here: a whole number is an address.
  if (typeof addr === 'number' && Number.isSafeInteger(addr) && addr > 0 && addr <= maxAddress) {
    if (length === 0) return pointerBuffer(addr)
    if (isIndex(length)) return foreignView(addr, length, what)
  }
  const r = native.reinterpret(addr, length, 0, what)
  return typeof r === 'object' ? exactView(r) : pointerBuffer(r)
}

function fromAddress(addr, length = 0) {
  return pointerAt(addr, length, 'ffi.fromAddress')
}

function readPointer(buf, offset = 0, length = 0) {
  let a = storedAddress(buf, offset)
  if (a === undefined) a = raw.readPointer(buf, offset)
  return pointerAt(a, length, 'ffi.readPointer')
}

/**
 * The address stored in a Uint8Array (a Buffer) at `offset`, read here:
 * its bytes through the element access no property can intercept, within
 * its real length. Undefined when the native side must answer (another
 * kind of view, an offset out of range, an address past 2^53).
 */
function storedAddress(buf, offset) {
  if (!isView(buf) || typedArrayTag(buf) !== 'Uint8Array' || !isIndex(offset)) return undefined
  if (offset + P > typedArrayByteLength(buf)) return undefined
  let lo, hi
  if (LE) {
    lo = (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) | (buf[offset + 3] << 24)) >>> 0
    hi = P === 8 ? (buf[offset + 4] | (buf[offset + 5] << 8) | (buf[offset + 6] << 16) | (buf[offset + 7] << 24)) >>> 0 : 0
  } else {
    const at = offset + P - 4
    lo = (buf[at + 3] | (buf[at + 2] << 8) | (buf[at + 1] << 16) | (buf[at] << 24)) >>> 0
    hi = P === 8 ? (buf[offset + 3] | (buf[offset + 2] << 8) | (buf[offset + 1] << 16) | (buf[offset] << 24)) >>> 0 : 0
  }
  return hi < 0x200000 ? hi * 0x100000000 + lo : undefined
}

/** Stores `a` (a number below 2^53) as storedAddress reads it; false when the native side must. */
function storeAddress(buf, offset, a) {
  if (typeof a !== 'number' || !isView(buf) || typedArrayTag(buf) !== 'Uint8Array' || !isIndex(offset)) return false
  if (offset + P > typedArrayByteLength(buf)) return false
  const lo = a % 0x100000000
  const hi = (a - lo) / 0x100000000
  if (P !== 8 && hi !== 0) return false
  const at = LE ? offset : offset + P - 4
  const hiAt = LE ? offset + 4 : offset
  for (let i = 0; i < 4; i++) buf[at + (LE ? i : 3 - i)] = (lo >>> (8 * i)) & 0xff
  if (P === 8) for (let i = 0; i < 4; i++) buf[hiAt + (LE ? i : 3 - i)] = (hi >>> (8 * i)) & 0xff
  return true
}

function writePointer(buf, offset, ptr) {
  const a = ptr === null ? 0 : addressOf(ptr, 'ffi.writePointer: ptr')
  if (!storeAddress(buf, offset, a)) raw.writePointer(buf, offset, a)
  // The memory `ptr` owns must outlive the pointer to it stored in `buf`.
  const table = pointeeTable(buf)
  const key = offset === undefined ? 0 : offset
  if (ptr === null) table.map.delete(key)
  else {
    const n = byteLengthOf(ptr)
    const stored = table.map.get(key)
    if (stored === undefined) table.map.set(key, [ptr, n])
    else {
      stored[0] = ptr
      stored[1] = n
    }
  }
  table.version++
}

function reinterpret(ptr, length, offset = 0) {
  const base = addressOf(ptr, 'ffi.reinterpret')
  let view
  if (typeof base === 'number' && base > 0 && isIndex(length) && length > 0 && isIndex(offset) && base + offset <= maxAddress) {
    view = foreignView(base + offset, length, 'ffi.reinterpret')
  } else {
    const r = native.reinterpret(base, length, offset, 'ffi.reinterpret')
    view = typeof r === 'object' ? exactView(r) : pointerBuffer(r)
  }
  // A view into `ptr`'s memory keeps `ptr` (and so that memory) alive.
  if (view !== NULL) new Kept(view, ptr)
  return view
}

function readCString(buf, offset = 0) {
  const a = knownAddress(buf)
  if (a !== undefined) {
    // (Every pointer Buffer is a Uint8Array.)
    if (typedArrayByteLength(buf) === 0) return raw.readCStringAt(a, offset)
  } else if (utf8Slice !== undefined && isView(buf) && typedArrayTag(buf) === 'Uint8Array' && isIndex(offset)) {
    // A Buffer's string, decoded in JavaScript: the same bounds (the NUL is
    // looked for only up to the real length), the same decoder. Errors, and
    // strings too long for a JavaScript string, are the native side's.
    const n = typedArrayByteLength(buf)
    if (offset < n) {
      let end = typedArrayIndexOf(buf, 0, offset)
      if (end < 0) end = n
      if (end - offset <= MAX_FAST_STRING) return utf8Slice(buf, offset, end)
    }
  }
  return raw.readCString(buf, offset)
}

/**
 * A Node-owned copy of `length` bytes at `ptr` plus `offset`: from a
 * zero-length pointer Buffer, foreign memory (the caller's word that it is
 * there, as in C; NULL throws); from a Buffer with a length, never past its
 * end. Needs no Buffer over foreign memory.
 */
function read(ptr, offset, length) {
  const a = knownAddress(ptr)
  if (a !== undefined && byteLengthOf(ptr) === 0) return native.readAt(a, offset, length)
  return native.readView(ptr, offset, length)
}

/**
 * Copies `source` (a Buffer, TypedArray or DataView's bytes, or a string's
 * UTF-8, no NUL added) to `ptr` plus `offset`: into foreign memory for a
 * zero-length pointer Buffer, else never past the Buffer's end. Returns the
 * bytes written.
 */
function write(ptr, offset, source) {
  const a = knownAddress(ptr)
  if (a !== undefined && byteLengthOf(ptr) === 0) return native.writeAt(a, offset, source)
  return native.writeView(ptr, offset, source)
}

function allocCString(string) {
  if (typeof string !== 'string') {
    fail('ERR_INVALID_ARG_TYPE', `ffi.allocCString: expected a string, got ${describe(string)}`)
  }
  const n = Buffer.byteLength(string, 'utf8')
  // Small ones come from Node's pool (as Buffer.from(string) does): a
  // Buffer.alloc makes an ArrayBuffer each. Every byte is written.
  const b = Buffer.allocUnsafe(n + 1)
  b.write(string, 0, n, 'utf8')
  b[n] = 0
  return b
}

function counted(kind, buf) {
  live[kind]++
  collected.register(buf, kind)
  return buf
}

/**
 * Counts of live native objects: closures, libraries (and those still
 * open), callAsync calls in flight and environments with closure dispatch
 * (process-wide), and this environment's CIFs and struct types.
 */
function stats() {
  return { ...native.stats(), cifs: live.cifs, structTypes: live.structTypes }
}

const status = Object.freeze({ FFI_OK: 0, FFI_BAD_TYPEDEF: 1, FFI_BAD_ABI: 2, FFI_BAD_ARGTYPE: 3 })

const ffi = {
  sizeof,
  alignof,
  abi,
  types,
  status,
  CIF,
  CIFVar,
  StructType,
  offsetsof,
  typeInfo,
  call,
  bind,
  callAsync,
  Closure,
  errno: native.errno,
  lastError: native.lastError,
  NULL,
  isNull,
  address,
  addressBigInt,
  fromAddress,
  readPointer,
  writePointer,
  reinterpret,
  readCString,
  allocCString,
  read,
  write,
  endianness: info.endianness,
  stats,
}
for (const [name, value] of Object.entries(status)) {
  Object.defineProperty(ffi, name, { value, enumerable: true, writable: false })
}
for (const [name, value] of Object.entries(info.typeCodes)) {
  Object.defineProperty(ffi, `TYPE_${name}`, { value, enumerable: true, writable: false })
}

module.exports = ffi
ffi.dlopen = require('./dlopen.js')
