'use strict'

// Pointer Buffers and the pointer helpers. The address table: a pointer
// Buffer this module made carries its address in a private field
// (PointerState, see lib/state.js); a copy or a slice of one has none. The
// writePointer table: what each Buffer holds the addresses of, kept alive
// with it and versioned for the fast path (lib/cif.js). Both are facts the
// native side trusts: see lib/CONTRACT.md §1 and §7.

const {
  native,
  raw,
  shared,
  isView,
  typedArrayTag,
  typedArrayByteLength,
  arrayBufferByteLength,
  typedArrayIndexOf,
  utf8Slice,
  byteLengthOf,
  info,
  sizeof,
} = require('./state.js')
const { fail, describe } = require('./errors.js')

const { PointerState, Kept, emptyBytes, FastBuffer, regions, pointees, NULL } = shared

/** The largest address a number can give exactly on this platform (the native side's bound, minus one on 32-bit). */
const maxAddress = sizeof.pointer >= 8 ? Number.MAX_SAFE_INTEGER : 2 ** 32 - 2
/** The smallest page size of the supported systems (4 KiB; 16 KiB and 64 KiB pages are multiples). */
const REGION = 4096
const P = sizeof.pointer
const LE = info.endianness === 'LE'
/** Bytes of a C string readCString decodes in JavaScript (far below V8's string length limit) */
const MAX_FAST_STRING = 1 << 24
/**
 * Bytes of a C string that readCString and allocCString move one by one
 * here while they are ASCII: for short strings that is faster than Node's
 * UTF-8 decoder or encoder, whose calls cost more than the copy.
 */
const SHORT_STRING = 32
const fromCharCode = String.fromCharCode
const charCodeAt = Function.prototype.call.bind(String.prototype.charCodeAt)
const MAX_REGIONS = 256

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
  // (closureExposed: see lib/CONTRACT.md §6.)
  if (typeof a !== 'object') return a
  native.closureExposed(buf)
  PointerState.set(buf, a.closure)
  return a.closure
}

/**
 * The address of a call's `fn`: only a pointer Buffer this module made
 * (readPointer, fromAddress, reinterpret, Closure) can be code. A Buffer
 * Node owns is data: calling its bytes would crash. See lib/CONTRACT.md §4.
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
 * an ArrayBuffer over the 4 KiB pages that hold them, made once per page
 * and kept in `regions` (256 at most): a view is JavaScript heap that V8
 * counts and collects, and holds nothing native. Pages, not larger
 * regions: memory is mapped and protected by whole pages, so if the span's
 * bytes are readable (the caller's word) so is every byte of the
 * ArrayBuffer, and what reads all of it (structuredClone or postMessage of
 * the view, `new Uint8Array(view.buffer)`) cannot fault. Larger spans,
 * bigints and addresses in the first page get an ArrayBuffer of their own.
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

/** The writePointer table of a Buffer, made empty if it has none. */
function pointeeTable(buf) {
  let table = pointees.get(buf)
  if (table === undefined) pointees.set(buf, (table = { version: 0, map: new Map() }))
  return table
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
  // The memory `ptr` owns must outlive the pointer to it stored in `buf`,
  // and the fast path must see that `buf` changed: see lib/CONTRACT.md §7.
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
      // A short ASCII string, byte by byte (element access, which nothing
      // can intercept, within the real length); else Node's decoder.
      const stop = offset + SHORT_STRING < n ? offset + SHORT_STRING : n
      let s = ''
      let i = offset
      for (; i < stop; i++) {
        const c = buf[i]
        if (c === 0) return s
        if (c > 0x7f) break
        s += fromCharCode(c)
      }
      if (i === n) return s
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
  const length = string.length
  if (length <= SHORT_STRING) {
    // A short ASCII string (its UTF-8 is its char codes), copied here.
    let i = 0
    while (i < length && charCodeAt(string, i) <= 0x7f) i++
    if (i === length) {
      const b = Buffer.allocUnsafe(length + 1)
      for (let j = 0; j < length; j++) b[j] = charCodeAt(string, j)
      b[length] = 0
      return b
    }
  }
  const n = Buffer.byteLength(string, 'utf8')
  // Small ones come from Node's pool (as Buffer.from(string) does): a
  // Buffer.alloc makes an ArrayBuffer each. Every byte is written.
  const b = Buffer.allocUnsafe(n + 1)
  b.write(string, 0, n, 'utf8')
  b[n] = 0
  return b
}

module.exports = {
  NULL,
  addressOf,
  fnAddress,
  knownAddress,
  isPointerBuffer,
  pointerBuffer,
  pointeeTable,
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
}
