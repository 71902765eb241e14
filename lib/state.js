'use strict'

// What every other file of lib/ shares: the binary's constants, the
// intrinsics the safety checks read, the guards over a Buffer's bytes, and
// the per-thread state (the private-field stamps, the fast path's control
// cell, the keep-alive tables) that every evaluation of the package on one
// thread shares. What the native side trusts these to be: see
// lib/CONTRACT.md §1 (intrinsics, stamps) and §2 (per-thread state).

const native = require('./load.js')
const { fail } = require('./errors.js')

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
const typedArraySet = uncurry(TypedArrayPrototype.set)
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

/** V8's `--stack-size` (KiB) among `argv`, the last one given; else undefined. */
function v8StackSize(argv) {
  let kb
  for (const arg of argv) {
    const m = /^--stack[-_]size=(\d+)$/.exec(arg)
    if (m !== null) kb = Number(m[1])
  }
  return kb > 0 ? kb : undefined
}

/**
 * The state every evaluation of lib/ on one thread shares. A cleared
 * `require.cache`, Jest's `isolateModules` or a second path to this package
 * evaluate it again over the one binary, whose per-thread state (the fast
 * path's control cell first) exists once: the first evaluation makes this
 * state and stores it natively, later ones take it, so the copies work
 * interleaved and accept each other's Buffers.
 */
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
    static set(o, state) {
      o.#state = state
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
  /** 4 KiB page of the address space -> an ArrayBuffer over it (see `foreignView`) */
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

const shared = native.sharedState() ?? native.sharedState(makeShared())
const { live, collected } = shared

const sizeof = Object.freeze(info.sizeof)
const alignof = Object.freeze(info.alignof)
const abi = Object.freeze(info.abi)

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

module.exports = {
  native,
  info,
  raw,
  shared,
  // intrinsics
  isView,
  typedArrayTag,
  typedArrayBuffer,
  typedArrayByteOffset,
  typedArrayByteLength,
  typedArraySet,
  arrayBufferByteLength,
  arrayBufferResizable,
  isSharedArrayBuffer,
  typedArrayIndexOf,
  utf8Slice,
  Uint8ArrayOf,
  // guards
  EMPTY_GUARD,
  bytesOf,
  byteLengthOf,
  guardOf,
  checkNotDetached,
  // constants
  sizeof,
  alignof,
  abi,
  counted,
  stats,
}
