'use strict'

// Closures: C function pointers that call JavaScript, and their
// dispatcher, which the native side calls with the depth of the call in a
// cell it shares with it. What the native side trusts: see
// lib/CONTRACT.md §6.

const { isMainThread } = require('node:worker_threads')
const { native, shared, guardOf } = require('./state.js')
const { fail, describe } = require('./errors.js')
const { cifEntry } = require('./cif.js')

const { PointerState, FastBuffer, emptyBytes, keptAlive } = shared

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
  // What closureNew trusts of these arguments: see lib/CONTRACT.md §6.
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

module.exports = { Closure }
