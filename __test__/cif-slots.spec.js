'use strict'

// A CIF's fast-path slots and argument-type array live in memory carved out
// of ArrayBuffers that only lib/cif.js holds, and a call whose rValue is a
// new Buffer (on the V8 heap, say) is made into the slot's own result room
// and copied into rValue, whose address is never asked for. These prove
// that both give the answers and errors they gave before.

const test = require('ava')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { ffi, sym } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const P = ffi.sizeof.pointer
const abs = ffi.readPointer(dlsym(dlopen(null), 'abs'), 0)
const { types } = ffi

/** aValues with 16 bytes of storage per argument in its own tail; `args[i]` is argument i's storage. */
function argumentBuffers(n) {
  const aValues = Buffer.alloc(n * P + 16 * n)
  const args = []
  for (let i = 0; i < n; i++) {
    const s = aValues.subarray(n * P + 16 * i, n * P + 16 * i + 16)
    ffi.writePointer(aValues, i * P, s)
    args.push(s)
  }
  return { aValues, args }
}

function transfer(view) {
  structuredClone(view.buffer, { transfer: [view.buffer] })
}

test('CIFs made by the thousand, most dropped: those kept stay right across collections', (t) => {
  const add = sym('add_int32')
  const mul = sym('mul_double')
  const kept = []
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3000; i++) {
      const ci = ffi.CIF(types.int32, types.int32, types.int32)
      const cd = ffi.CIF(types.double, types.double, types.double)
      if (i % 400 === 0) kept.push([ci, cd])
    }
    global.gc()
  }
  const ints = argumentBuffers(2)
  const doubles = argumentBuffers(2)
  const check = () => {
    kept.forEach(([ci, cd], k) => {
      const r = Buffer.alloc(8)
      ints.args[0].writeInt32LE(k)
      ints.args[1].writeInt32LE(1000)
      ffi.call(ci, add, r, ints.aValues)
      t.is(r.readInt32LE(0), k + 1000)
      doubles.args[0].writeDoubleLE(k + 0.5)
      doubles.args[1].writeDoubleLE(2)
      ffi.call(cd, mul, r, doubles.aValues)
      t.is(r.readDoubleLE(0), 2 * k + 1)
    })
  }
  check()
  for (let i = 0; i < 20000; i++) ffi.CIF(types.int32, types.int32, types.int32) // more carving, more garbage
  global.gc()
  check()
  t.is(kept.length, 32)
})

test('a CIF of 1100 arguments (its type array larger than an area) reaches a closure right', (t) => {
  const n = 1100 // 8800 bytes of argument types: carved from an ArrayBuffer of their own
  const argTypes = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? types.int32 : types.double))
  const cif = ffi.CIF(types.double, ...argTypes)
  global.gc()
  const closure = ffi.Closure(cif, (rValue, aValues, args) => {
    let sum = 0
    for (let i = 0; i < n; i++) sum += i % 2 === 0 ? args.readInt32LE(8 * i) : args.readDoubleLE(8 * i)
    rValue.writeDoubleLE(sum)
  })
  const { aValues, args } = argumentBuffers(n)
  let want = 0
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) args[i].writeInt32LE(i)
    else args[i].writeDoubleLE(i / 4)
    want += i % 2 === 0 ? i : i / 4
  }
  // CIFs carved after it, each called once.
  const small = Array.from({ length: 100 }, () => ffi.CIF(types.int, types.int))
  for (let k = 0; k < 3; k++) {
    const r = Buffer.alloc(8)
    ffi.call(cif, closure, r, aValues)
    t.is(r.readDoubleLE(0), want)
  }
  const one = argumentBuffers(1)
  small.forEach((c, i) => {
    one.args[0].writeInt32LE(-i)
    const r = Buffer.alloc(8)
    ffi.call(c, abs, r, one.aValues)
    t.is(r.readInt32LE(0), i)
  })
  ffi.Closure.free(closure)
})

/**
 * A call of `fn` through `cif` with its arguments written by `put` into
 * reused aValues: its result's bytes in a reused rValue, then the same in a
 * new rValue each call, of each kind a caller may make.
 */
function sameResultInNewBuffers(t, cif, fn, nargs, size, put) {
  const { aValues, args } = argumentBuffers(nargs)
  put(args)
  const reused = Buffer.alloc(size)
  ffi.call(cif, fn, reused, aValues)
  const want = [...reused]
  const kinds = [
    () => Buffer.alloc(size), // on the V8 heap while small
    () => new Uint8Array(size),
    () => Buffer.allocUnsafe(size).fill(0x55), // a slice of Node's pool
    () => Buffer.alloc(size + 8, 0xee).subarray(3, 3 + size), // within a larger Buffer
  ]
  for (let i = 0; i < 12; i++) {
    const r = kinds[i % kinds.length]()
    ffi.call(cif, fn, r, aValues)
    t.deepEqual([...r], want)
    if (i % kinds.length === 3) {
      const whole = new Uint8Array(r.buffer, r.byteOffset - 3, size + 8)
      t.deepEqual([...whole.subarray(0, 3), ...whole.subarray(3 + size)], new Array(8).fill(0xee), 'bytes around rValue untouched')
    }
  }
  return want
}

test('a new Buffer as rValue each call receives the result, for every kind of return', (t) => {
  const ARG = ffi.sizeof.ffi_arg
  // int, widened to ffi_arg
  let want = sameResultInNewBuffers(t, ffi.CIF(types.int, types.int), abs, 1, ARG, (a) => a[0].writeInt32LE(-77))
  t.is(Buffer.from(want).readInt32LE(0), 77)
  want = sameResultInNewBuffers(t, ffi.CIF(types.int8, types.int8, types.int8), sym('add_int8'), 2, ARG, (a) => {
    a[0].writeInt8(-100)
    a[1].writeInt8(-20)
  })
  t.is(Buffer.from(want).readBigInt64LE(0), -120n) // sign-extended to a whole ffi_arg
  want = sameResultInNewBuffers(t, ffi.CIF(types.int64, types.int64, types.int64), sym('add_int64'), 2, 8, (a) => {
    a[0].writeBigInt64LE(-(2n ** 40n))
    a[1].writeBigInt64LE(3n)
  })
  t.is(Buffer.from(want).readBigInt64LE(0), 3n - 2n ** 40n)
  want = sameResultInNewBuffers(t, ffi.CIF(types.double, types.double, types.double), sym('mul_double'), 2, 8, (a) => {
    a[0].writeDoubleLE(1.5)
    a[1].writeDoubleLE(-4)
  })
  t.is(Buffer.from(want).readDoubleLE(0), -6)
  want = sameResultInNewBuffers(t, ffi.CIF(types.float, types.float, types.float), sym('mul_float'), 2, ARG, (a) => {
    a[0].writeFloatLE(2.5)
    a[1].writeFloatLE(3)
  })
  t.is(Buffer.from(want).readFloatLE(0), 7.5)
  // Structs of 16 and 32 bytes (the most a slot's result room holds).
  const DD = ffi.StructType(types.double, types.double)
  want = sameResultInNewBuffers(t, ffi.CIF(DD, DD, types.double), sym('dd_scale'), 2, 16, (a) => {
    a[0].writeDoubleLE(1.25)
    a[0].writeDoubleLE(-2, 8)
    a[1].writeDoubleLE(4)
  })
  t.deepEqual([Buffer.from(want).readDoubleLE(0), Buffer.from(want).readDoubleLE(8)], [5, -8])
  const Big = ffi.StructType(types.int64, types.int64, types.int64, types.double)
  const big = ffi.CIF(Big, Big, Big)
  const bigArgs = (n) => {
    const b = Buffer.alloc(32)
    b.writeBigInt64LE(BigInt(n))
    b.writeBigInt64LE(BigInt(2 * n), 8)
    b.writeBigInt64LE(BigInt(3 * n), 16)
    b.writeDoubleLE(n / 2, 24)
    return b
  }
  const { aValues: bigValues } = (() => {
    const x = bigArgs(10)
    const y = bigArgs(1)
    const aValues = Buffer.alloc(2 * P)
    ffi.writePointer(aValues, 0, x)
    ffi.writePointer(aValues, P, y)
    return { aValues }
  })()
  for (let i = 0; i < 6; i++) {
    const r = Buffer.alloc(32)
    ffi.call(big, sym('big_add'), r, bigValues)
    t.deepEqual([r.readBigInt64LE(0), r.readBigInt64LE(8), r.readBigInt64LE(16), r.readDoubleLE(24)], [11n, 22n, 33n, 5.5])
  }
  // long double: the bytes C made, compared with a reused rValue's.
  const ld = Buffer.alloc(16)
  {
    const { aValues, args } = argumentBuffers(1)
    args[0].writeDoubleLE(1.5)
    ffi.call(ffi.CIF(types.longdouble, types.double), sym('ld_from_double'), ld, aValues)
  }
  sameResultInNewBuffers(t, ffi.CIF(types.longdouble, types.longdouble, types.longdouble), sym('mul_longdouble'), 2, 16, (a) => {
    ld.copy(a[0])
    ld.copy(a[1])
  })
})

test('a return larger than a slot’s result room goes to rValue’s own address, new Buffers too', (t) => {
  // 5 int64s (40 bytes), returned by a closure called through ffi.call.
  const Five = ffi.StructType(types.int64, types.int64, types.int64, types.int64, types.int64)
  const cif = ffi.CIF(Five, types.int64)
  const fn = ffi.Closure(cif, (rValue, aValues, args) => {
    const k = args.readBigInt64LE(0)
    for (let i = 0; i < 5; i++) rValue.writeBigInt64LE(k * BigInt(i + 1), 8 * i)
  })
  const { aValues, args } = argumentBuffers(1)
  for (let i = 0; i < 6; i++) {
    args[0].writeBigInt64LE(BigInt(i))
    const r = Buffer.alloc(40)
    ffi.call(cif, fn, r, aValues)
    t.deepEqual([0, 1, 2, 3, 4].map((j) => r.readBigInt64LE(8 * j)), [1n, 2n, 3n, 4n, 5n].map((m) => m * BigInt(i)))
  }
  ffi.Closure.free(fn)
})

test('rValues of other kinds, and wrong ones, between new Buffers: the answers and errors of a full check', (t) => {
  const cif = ffi.CIF(types.int, types.int)
  const { aValues, args } = argumentBuffers(1)
  args[0].writeInt32LE(-5)
  const fresh = () => {
    const r = Buffer.alloc(8)
    ffi.call(cif, abs, r, aValues)
    t.is(r.readInt32LE(0), 5)
  }
  for (let i = 0; i < 3; i++) fresh()
  const i32 = new Int32Array(2)
  ffi.call(cif, abs, i32, aValues)
  t.is(i32[0], 5)
  fresh()
  const dv = new DataView(new ArrayBuffer(8))
  ffi.call(cif, abs, dv, aValues)
  t.is(dv.getInt32(0, true), 5)
  fresh()
  t.throws(() => ffi.call(cif, abs, Buffer.alloc(4), aValues), { code: 'ERR_FFI_BUFFER_TOO_SMALL', message: 'ffi.call: rValue is 4 bytes, the return type needs 8' })
  t.throws(() => ffi.call(cif, abs, Buffer.alloc(0), aValues), { code: 'ERR_FFI_BUFFER_TOO_SMALL', message: 'ffi.call: rValue is 0 bytes, the return type needs 8' })
  fresh()
  const gone = new Uint8Array(new ArrayBuffer(8))
  transfer(gone)
  t.throws(() => ffi.call(cif, abs, gone, aValues), { code: 'ERR_FFI_DETACHED' })
  t.throws(() => ffi.call(cif, abs, 'x', aValues), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.call(cif, abs, undefined, aValues), { code: 'ERR_INVALID_ARG_TYPE' })
  // A Uint8Array subclass whose own length lies is seen as what it is.
  class Liar extends Uint8Array {
    get length() {
      return 8
    }
  }
  t.throws(() => ffi.call(cif, abs, new Liar(2), aValues), { code: 'ERR_FFI_BUFFER_TOO_SMALL' })
  fresh()
  const before = new Uint8Array(8).fill(0xaa)
  ffi.call(cif, abs, before, aValues)
  t.deepEqual([...before], [5, 0, 0, 0, 0, 0, 0, 0], 'the whole ffi_arg is written')
})

test('a record that copies results still catches changes to aValues, its arguments, fn and the CIF', (t) => {
  const cif = ffi.CIF(types.int, types.int)
  const neg = sym('id_int32')
  const { aValues, args } = argumentBuffers(1)
  args[0].writeInt32LE(-3)
  const callFresh = (fn) => {
    const r = Buffer.alloc(8)
    ffi.call(cif, fn, r, aValues)
    return r.readInt32LE(0)
  }
  for (let i = 0; i < 3; i++) t.is(callFresh(abs), 3)
  // Another argument stored in aValues.
  const other = new Uint8Array(new ArrayBuffer(4))
  new DataView(other.buffer).setInt32(0, -9, true)
  ffi.writePointer(aValues, 0, other)
  // (The first two calls after a store are checked in full; the next ones copy.)
  for (let i = 0; i < 4; i++) t.is(callFresh(abs), 9)
  // That argument detached.
  transfer(other)
  t.throws(() => callFresh(abs), { code: 'ERR_FFI_DETACHED' })
  t.throws(() => callFresh(abs), { code: 'ERR_FFI_DETACHED' })
  ffi.writePointer(aValues, 0, args[0])
  t.is(callFresh(abs), 3)
  // Another fn, a NULL one, data as fn.
  t.is(callFresh(neg), -3)
  t.is(callFresh(abs), 3)
  t.throws(() => callFresh(ffi.fromAddress(0)), { code: 'ERR_FFI_NULL_POINTER', message: 'ffi.call: fn is NULL' })
  t.throws(() => callFresh(Buffer.alloc(8)), { code: 'ERR_INVALID_ARG_VALUE' })
  t.is(callFresh(abs), 3)
  // aValues shrunk below what the CIF needs.
  const rs = new ArrayBuffer(P + 16, { maxByteLength: P + 16 })
  if (rs.resizable) {
    const av = new Uint8Array(rs)
    const arg = Buffer.alloc(4)
    arg.writeInt32LE(-4)
    ffi.writePointer(av, 0, arg)
    const r = () => {
      const out = Buffer.alloc(8)
      ffi.call(cif, abs, out, av)
      return out.readInt32LE(0)
    }
    t.is(r(), 4)
    t.is(r(), 4)
    t.is(r(), 4)
    rs.resize(2)
    t.throws(r, { code: 'ERR_FFI_BUFFER_TOO_SMALL' })
  }
  // The CIF transferred.
  transfer(cif)
  t.throws(() => callFresh(abs), { code: 'ERR_FFI_INVALID_CIF' })
})

test('a callback during a call that copies its result: the result arrives, or is dropped if rValue went', (t) => {
  const callN = sym('call_n')
  const cif = ffi.CIF(types.int64, types.pointer, types.int32)
  let outer
  let detach = false
  const cb = ffi.Closure(ffi.CIF(types.int32, types.int32), (rValue, aValues, args) => {
    if (detach && outer.length !== 0) transfer(outer)
    rValue.writeBigInt64LE(BigInt(2 * args.readInt32LE(0)))
  })
  const { aValues, args } = argumentBuffers(2)
  ffi.writePointer(args[0], 0, cb)
  args[1].writeInt32LE(5)
  for (let i = 0; i < 5; i++) {
    outer = Buffer.alloc(8)
    ffi.call(cif, callN, outer, aValues)
    t.is(outer.readBigInt64LE(0), 20n) // 2 * (0 + 1 + 2 + 3 + 4)
  }
  detach = true
  outer = Buffer.alloc(8)
  ffi.call(cif, callN, outer, aValues)
  t.is(outer.length, 0, 'rValue was detached by the callback; the result was dropped')
  detach = false
  outer = Buffer.alloc(8)
  ffi.call(cif, callN, outer, aValues)
  t.is(outer.readBigInt64LE(0), 20n)
  ffi.Closure.free(cb)
})

test('rValues fresh and reused, fns in turn, in any order: every call gets its own answer', (t) => {
  const cif = ffi.CIF(types.int, types.int)
  const fns = [abs, sym('id_int32')]
  const { aValues, args } = argumentBuffers(1)
  const kept = [Buffer.alloc(8), Buffer.alloc(8), new Uint8Array(8)]
  let seed = 7
  const next = (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n
  for (let i = 0; i < 600; i++) {
    const v = -(i + 1)
    args[0].writeInt32LE(v)
    const f = next(2)
    const pick = next(5)
    const r = pick < 3 ? kept[pick] : Buffer.alloc(8)
    r.fill(0xcc)
    ffi.call(cif, fns[f], r, aValues)
    t.is(Buffer.from(r.buffer, r.byteOffset, 4).readInt32LE(0), f === 0 ? -v : v)
  }
})

test('a void function takes any rValue, a new one each call or an empty one', (t) => {
  const cif = ffi.CIF(types.void, types.pointer, types.int32)
  const setOut = sym('set_int_out')
  const out = Buffer.alloc(4)
  const { aValues, args } = argumentBuffers(2)
  ffi.writePointer(args[0], 0, out)
  for (let i = 0; i < 8; i++) {
    args[1].writeInt32LE(i)
    const r = i % 2 === 0 ? Buffer.alloc(8, 0x11) : Buffer.alloc(0)
    ffi.call(cif, setOut, r, aValues)
    t.is(out.readInt32LE(0), i)
    if (r.length) t.deepEqual([...r], new Array(8).fill(0x11), 'void writes nothing')
  }
})

test('two copies of the module share a CIF whose record copies results', (t) => {
  const root = path.join(__dirname, '..')
  const a = require(root)
  const saved = { ...require.cache }
  for (const k of Object.keys(require.cache)) delete require.cache[k]
  const b = require(root)
  Object.assign(require.cache, saved)
  t.not(a, b)
  const cif = a.CIF(a.types.int, a.types.int)
  const { aValues, args } = argumentBuffers(1)
  for (let i = 0; i < 12; i++) {
    args[0].writeInt32LE(-i)
    const r = Buffer.alloc(8)
    ;(i % 3 === 0 ? b : a).call(cif, abs, r, aValues)
    t.is(r.readInt32LE(0), i)
  }
})

test('300,000 CIFs made and dropped in one synchronous loop stay under 250 MB of RSS', (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'cif-memory.js')], {
    encoding: 'utf8',
    timeout: 120000,
  })
  t.is(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.is(out.sum, 9_600_000)
  t.true(out.peakMB < 250, `peak RSS ${out.peakMB} MB`)
})
