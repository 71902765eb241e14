'use strict'

// CIFs and calls: a CIF's private state (stamped on the Buffer prepared
// here), the fast path's records, and call, bind and callAsync. A call is
// checked in full once (fill), recorded, and repeated through the native
// slot while the same Buffers come back unchanged (repeat, run). What the
// native side trusts this file to have checked: see lib/CONTRACT.md §3
// (prepCif), §4 (call, bind) and §5 (callAsync).

const {
  native,
  info,
  raw,
  shared,
  isView,
  bytesOf,
  byteLengthOf,
  guardOf,
  checkNotDetached,
  arrayBufferResizable,
  isSharedArrayBuffer,
  typedArrayTag,
  typedArrayBuffer,
  typedArrayByteOffset,
  typedArrayByteLength,
  typedArraySet,
  Uint8ArrayOf,
  EMPTY_GUARD,
  sizeof,
  counted,
} = require('./state.js')
const { fail, renamed, describe } = require('./errors.js')
const { fnAddress, isPointerBuffer, pointeeTable } = require('./pointer.js')
const { typeAddress } = require('./types.js')

const { CifState, pointees, controlCell, callFast, FastBuffer } = shared

/** A fast-path slot's layout: `{ size, align, resultAt, resultRoom }` (src/napi/call.rs). */
const SLOT = info.slot
const CIF_BYTES = sizeof.ffi_cif

/**
 * Where the fast path's slots and the CIFs' argument-type arrays live:
 * carved out of ArrayBuffers that only this file holds, so that no caller
 * can read, write or transfer them (a write could redirect a call), and
 * given back to V8 with the last record or CIF holding a view of them, by
 * the collector itself (no finalizer, so a synchronous loop making CIFs
 * holds no more memory than its live CIFs pin). A Node Buffer per slot and
 * per type array cost as much as the rest of `CIF` together.
 */
const AREA_BYTES = 8192
/** The ArrayBuffer carved from, where its aligned bytes start, their address, how many, how many used. */
let areaBuffer
let areaBase = 0
let areaAddress = 0
let areaBytes = 0
let areaUsed = 0
/** The address of the bytes the last `carve` returned. */
let carvedAddress = 0

/**
 * `n` fresh zeroed bytes, `SLOT.align`ed, as a view no caller ever holds;
 * their address in `carvedAddress`. What does not fit the current area
 * opens a new one (of its own size, if larger than an area).
 */
function carve(n) {
  n = Math.ceil(n / SLOT.align) * SLOT.align
  if (areaUsed + n > areaBytes) {
    areaBytes = Math.max(n, AREA_BYTES)
    areaBuffer = new ArrayBuffer(areaBytes + SLOT.align)
    const address = raw.bufferAddress(new Uint8ArrayOf(areaBuffer))
    areaBase = (SLOT.align - (address % SLOT.align)) % SLOT.align
    areaAddress = address + areaBase
    areaUsed = 0
  }
  const at = areaUsed
  areaUsed += n
  carvedAddress = areaAddress + at
  return new Uint8ArrayOf(areaBuffer, areaBase + at, n)
}

// The CifState stamp and what it holds: see lib/CONTRACT.md §1 and §3.
function prepare(name, abiValue, nfixed, rType, aTypes) {
  const addrs = [typeAddress(rType, `${name}: the return type`)]
  for (let i = 0; i < aTypes.length; i++) addrs.push(typeAddress(aTypes[i], `${name}: argument type ${i}`))
  // The ffi_cif in a Buffer over an ArrayBuffer of its own (the caller's);
  // the CIF's first slot and its argument-type array in carved bytes.
  const cif = new FastBuffer(new ArrayBuffer(CIF_BYTES), 0, CIF_BYTES)
  const slot = carve(SLOT.size + aTypes.length * sizeof.pointer)
  const slotAddress = carvedAddress
  const address = raw.prepCif(abiValue, nfixed, addrs, cif, slot)
  const entry = {
    variadic: nfixed !== undefined,
    address,
    guard: guardOf(cif),
    keep: [slot, rType, aTypes],
    /** bytes rValue needs, and each argument's size: read when first needed (`sizesOf`) */
    rsize: -1,
    argSizes: undefined,
    /** the rValue of the last call that missed both records (see `slowCall`) */
    seen: undefined,
    /** the record of the call before the last one (see `slowCall`), made when needed */
    previous: undefined,
    // What ffi.stats() counts the CIF by: an empty object that lives as
    // long as the CIF's state, not the CIF itself. V8 keeps a
    // FinalizationRegistry's targets alive through young-generation
    // collections, and with the CIF as the target its whole graph (its
    // ArrayBuffer first) went to the old generation: about 1 µs per CIF
    // made in a loop.
    counted: counted('cifs', {}),
  }
  // The stamp holds the record of the last call checked in full, so that
  // `call` reaches it in one read; the record holds the CIF's entry.
  new CifState(cif, record(slot, slotAddress, entry))
  return cif
}

/** A CIF's argument sizes (and `entry.rsize`), read from the prepared CIF once. */
function sizesOf(entry) {
  if (entry.argSizes === undefined) {
    const sizes = native.cifSizes(entry.address)
    entry.rsize = sizes[0]
    entry.argSizes = sizes.slice(1)
  }
  return entry.argSizes
}

/**
 * What no argument can be: an empty record's `fn`, `r` and `a`, so that it
 * never matches a call.
 */
const UNSET = Symbol('unset')

/**
 * A record's `r` when its slot makes the call into the slot's own result
 * room, which `runOwn` copies into the call's rValue: the slot holds no
 * rValue, so any rValue that `ownFits` may take it (see `slowCall`).
 */
const OWN = Symbol('own result')

/** A record's `live` before its first fill. */
const NO_VIEWS = Object.freeze([])

/**
 * The fast path's record of a call checked in full, around its slot (the
 * native copy of that call, which `fill` writes, at `slotAddress`): a CIF
 * has two (its last call, which its stamp holds, and the one before, which
 * its entry holds), and each bound call has one. Every record is made here,
 * so all have one shape and the fast path stays monomorphic. `entry` is the
 * CIF's (see `prepare`); `cif` is its guard, over the CIF's bytes.
 */
function record(slot, slotAddress, entry) {
  return {
    slot,
    slotAddress,
    entry,
    cif: entry.guard,
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
    live: NO_VIEWS,
    /** a view of the slot's result room, the result's size long (made for `OWN`) */
    out: undefined,
  }
}

/** A new record of `entry`'s CIF, in a slot of its own. */
function newRecord(entry) {
  const slot = carve(SLOT.size)
  return record(slot, carvedAddress, entry)
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

/** The state of a CIF this module prepared, or a typed error. */
function cifEntry(cif, what) {
  const last = CifState.of(cif)
  const entry = last === undefined ? undefined : last.entry
  if (entry !== undefined && entry.guard.length !== 0) return entry
  if (!isView(cif)) raw.bufferAddress(cif, `${what}: cif`) // throws the TypeError
  fail(
    'ERR_FFI_INVALID_CIF',
    entry === undefined
      ? `${what}: cif is not a CIF that ffi.CIF or ffi.CIFVar returned (a copy of one is not one either)`
      : `${what}: cif's memory was detached (its ArrayBuffer was transferred)`,
  )
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
  if (table.map.size === 0) return
  const sizes = sizesOf(entry)
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
 * The fast path, the one place a call is made from a record (with
 * `copies`, its twin for records in `OWN` mode): if `c` is the record of
 * this very call (the same Buffers, compared by identity) and
 * nothing it checked has changed since (no Buffer detached or shrunk, no
 * writePointer into aValues), makes the call and returns true; else false,
 * and the caller checks in full. Every comparison is one that callFast
 * trusts: see lib/CONTRACT.md §4 before changing any.
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

/** Makes the call recorded in `c` (checked by `fill`, compared by `repeat`; see lib/CONTRACT.md §4). */
function run(c, rValue) {
  controlCell[0] = c.slotAddress
  if (callFast() === true) native.takeResult(rValue)
}

/**
 * Makes the call recorded in `c` with `r` `OWN` (compared by `copies`, or
 * filled by `fill` for this call): into the slot's result room, then a
 * copy into `rValue` by the intrinsic `set`, which reads `rValue`'s real
 * length and never needs its address.
 */
function runOwn(c, rValue) {
  controlCell[0] = c.slotAddress
  if (callFast() === true) native.takeResult(rValue)
  else typedArraySet(rValue, c.out)
}

/**
 * Whether `rValue` may take `entry`'s result by a copy (`runOwn`): a
 * Uint8Array (a Buffer) with room for the result, which fits a slot's
 * result room. Anything else goes the way of a full check, with its errors.
 */
function ownFits(entry, rValue) {
  if (typedArrayTag(rValue) !== 'Uint8Array') return false
  const n = typedArrayByteLength(rValue)
  if (entry.argSizes === undefined) sizesOf(entry)
  return n > 0 && n >= entry.rsize && entry.rsize <= SLOT.resultRoom
}

/**
 * `repeat` for a record in `OWN` mode: the same comparisons but for
 * rValue, which the slot does not hold (see lib/CONTRACT.md §4); then
 * makes the call and copies its result into `rValue`.
 */
function copies(c, fn, rValue, aValues) {
  if (
    c.r === OWN &&
    c.fn === fn &&
    c.a === aValues &&
    c.cif.length !== 0 &&
    c.ag.length === c.al &&
    c.table.version === c.version &&
    attached(c.live) &&
    ownFits(c.entry, rValue)
  ) {
    runOwn(c, rValue)
    return true
  }
  return false
}

function call(cif, fn, rValue, aValues) {
  const c = CifState.of(cif)
  if (c === undefined || !repeat(c, fn, rValue, aValues)) slowCall(cif, c, fn, rValue, aValues)
}

/**
 * Checks everything, remembers the call for the fast path, and makes it.
 * `last`: the record `CifState.of(cif)` gave (undefined for no CIF).
 */
function slowCall(cif, last, fn, rValue, aValues) {
  const s = last !== undefined && last.cif.length !== 0 ? last.entry : cifEntry(cif, 'ffi.call')
  // The CIF's second record: the call it checked before the last one. A
  // CIF shared by several functions of one signature (as a layer above
  // shares one per signature) alternates between them without a full
  // check each time.
  const p = s.previous
  if (p !== undefined && repeat(p, fn, rValue, aValues)) return
  // A call that differs from a record only by its rValue (a new one each
  // call, say) is made into the slot's own result room and copied into
  // rValue, whose address is never needed: a Buffer still on the V8 heap
  // would be moved off it for one, at 15 times the cost of a call. An
  // rValue that misses twice in a row is given a record of its own
  // instead, as before (two rValues in turn then repeat both).
  const fresh = rValue !== s.seen
  s.seen = rValue
  if (fresh && (copies(last, fn, rValue, aValues) || (p !== undefined && copies(p, fn, rValue, aValues)))) return
  let c = last
  if (c.fn !== UNSET) {
    // The last call's record becomes the second; the second's (its slot)
    // is filled for this call, emptied first in case the checks throw.
    c = p === undefined ? newRecord(s) : p
    c.fn = UNSET
    s.previous = last
    CifState.set(cif, c)
  }
  fill(c, s, fn, rValue, aValues, 'ffi.call', fresh)
  if (c.r === OWN) runOwn(c, rValue)
  else run(c, rValue)
}

/** The names `fill`'s errors give its arguments, made once. */
const LABELS = { 'ffi.call': labels('ffi.call'), 'ffi.bind': labels('ffi.bind') }
function labels(what) {
  return { rValue: `${what}: rValue`, aValues: `${what}: aValues`, fn: `${what}: fn` }
}

/**
 * Checks a call in full and records it in `c` (one of a CIF's two
 * records, or a bound call's) for the fast path: what a repeated call compares, and its slot.
 * What fillSlot leaves to these checks: see lib/CONTRACT.md §4. With
 * `own`, a call whose aValues the record holds unchanged and whose rValue
 * is another one that `ownFits` puts the record in `OWN` mode (its caller
 * then makes the call with `runOwn`).
 */
function fill(c, entry, fn, rValue, aValues, what, own) {
  const l = LABELS[what]
  if (c.a === aValues && c.ag.length === c.al && c.table.version === c.version && attached(c.live)) {
    // `repeat`'s comparisons but for fn and rValue hold: the slot holds this
    // call's CIF and aValues, checked and unchanged since, and only fn and
    // rValue are checked and put in (see lib/CONTRACT.md §4, refillSlot and ownSlot).
    if (own && c.r !== rValue && ownFits(entry, rValue)) {
      checkNotDetached(aValues, l.aValues)
      try {
        raw.ownSlot(c.slot, fnAddress(fn, l.fn))
      } catch (err) {
        throw renamed(err, what)
      }
      if (c.out === undefined) {
        c.out = new Uint8ArrayOf(typedArrayBuffer(c.slot), typedArrayByteOffset(c.slot) + SLOT.resultAt, entry.rsize)
      }
      c.r = OWN
      c.rg = EMPTY_GUARD
      c.rl = 0
      c.fn = fn
      return
    }
    checkNotDetached(rValue, l.rValue)
    checkNotDetached(aValues, l.aValues)
    try {
      raw.refillSlot(c.slot, fnAddress(fn, l.fn), rValue)
    } catch (err) {
      throw renamed(err, what)
    }
    if (c.r !== rValue || c.rg.length !== c.rl) {
      c.r = rValue
      c.rg = guardOf(rValue)
      c.rl = c.rg.length
    }
    c.fn = fn
    return
  }
  const table = isView(aValues) ? pointeeTable(aValues) : undefined
  if (table !== undefined) {
    checkAttached(table, what)
    checkStorage(table, entry, what)
  }
  checkNotDetached(rValue, l.rValue)
  checkNotDetached(aValues, l.aValues)
  try {
    raw.fillSlot(c.slot, entry.address, fnAddress(fn, l.fn), rValue, aValues, entry.variadic)
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
  c.live = liveViews(table, aValues)
}

/**
 * The guards a repeated call must find attached: one per ArrayBuffer that
 * holds an argument, since views of one ArrayBuffer are detached together.
 * Arguments inside `aValues`' ArrayBuffer are covered by its guard (when it
 * has bytes), and those in a SharedArrayBuffer can never be detached. A
 * resizable ArrayBuffer can shrink under one view and not another: each of
 * its views is checked. They depend on aValues and its table only (not on
 * `rValue`, which `fill` may replace while keeping them).
 */
function liveViews(table, aValues) {
  const covered = new Set()
  // (A zero-length aValues reads 0 attached or not: it covers nothing.)
  const b = bytesOf(aValues)
  if (b !== undefined && b[2] > 0 && !arrayBufferResizable(b[0])) covered.add(b[0])
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
  const c = newRecord(entry)
  fill(c, entry, fn, rValue, aValues, 'ffi.bind', false)
  return function bound() {
    try {
      if (repeat(c, fn, rValue, aValues)) return
      fill(c, cifEntry(cif, 'ffi.bind'), fn, rValue, aValues, 'ffi.bind', false)
      run(c, rValue)
    } catch (err) {
      throw renamed(err, 'ffi.bind')
    }
  }
}

/**
 * For ffi/c's declared functions (lib/c/call.js): `bind`'s call, checked in
 * full once, then made by `run` alone, without `repeat`'s comparisons. Sound
 * only for a caller that owns the CIF, `fn`, `rValue` and `aValues` (and
 * the argument Buffers that aValues points to) and never lets them out:
 * nothing can then detach them, shrink them or writePointer into aValues,
 * which is all that `repeat` compares (lib/CONTRACT.md §4). Errors are
 * `ffi.call`'s; the caller names its own.
 */
function bindOwned(cif, fn, rValue, aValues) {
  const entry = cifEntry(cif, 'ffi.call')
  const c = newRecord(entry)
  fill(c, entry, fn, rValue, aValues, 'ffi.call', false)
  return function owned() {
    run(c, rValue)
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
  // `aValues`, the arguments writePointer stored) until the call completes
  // (see lib/CONTRACT.md §5).
  try {
    native.callAsync(entry.address, fnAddress(fn, 'ffi.callAsync: fn'), rValue, aValues, callback, cif, fn, entry.variadic)
  } catch (err) {
    throw renamed(err, 'ffi.callAsync')
  }
}

module.exports = { CIF, CIFVar, cifEntry, call, bind, bindOwned, callAsync }
