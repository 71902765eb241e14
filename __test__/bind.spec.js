'use strict'

// ffi.bind: the call with its Buffers bound. It must give C's answers, follow
// every change ffi.call follows, and throw where ffi.call throws.

const test = require('ava')
const { ffi, sym } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const P = ffi.sizeof.pointer
const abs = ffi.readPointer(dlsym(dlopen(null), 'abs'), 0)
const cif = ffi.CIF(ffi.types.int, ffi.types.int)

function setup() {
  const arg = Buffer.alloc(4)
  const aValues = Buffer.alloc(P)
  const rValue = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, arg)
  return { arg, aValues, rValue }
}

function transfer(view) {
  structuredClone(view.buffer, { transfer: [view.buffer] })
  return view
}

test('a bound call gives C’s answers, call after call', (t) => {
  const { arg, aValues, rValue } = setup()
  const bound = ffi.bind(cif, abs, rValue, aValues)
  t.is(typeof bound, 'function')
  for (let i = 0; i < 1000; i++) {
    arg.writeInt32LE(-i)
    t.is(bound(), undefined)
    t.is(rValue.readInt32LE(0), i)
  }
})

test('bound calls of one CIF with different Buffers do not interfere', (t) => {
  const a = setup()
  const b = setup()
  const fa = ffi.bind(cif, abs, a.rValue, a.aValues)
  const fb = ffi.bind(cif, abs, b.rValue, b.aValues)
  a.arg.writeInt32LE(-3)
  b.arg.writeInt32LE(-4)
  for (let i = 0; i < 10; i++) {
    fa()
    fb()
    ffi.call(cif, abs, a.rValue, a.aValues)
    t.is(a.rValue.readInt32LE(0), 3)
    t.is(b.rValue.readInt32LE(0), 4)
  }
})

test('a bound call follows writePointer into its aValues', (t) => {
  const { aValues, rValue } = setup()
  const bound = ffi.bind(cif, abs, rValue, aValues)
  const x = Buffer.alloc(4)
  x.writeInt32LE(-21)
  const y = Buffer.alloc(4)
  y.writeInt32LE(-34)
  for (const [arg, want] of [[x, 21], [y, 34], [x, 21]]) {
    ffi.writePointer(aValues, 0, arg)
    bound()
    t.is(rValue.readInt32LE(0), want)
  }
  ffi.writePointer(aValues, 0, ffi.NULL)
  t.throws(() => bound(), { code: 'ERR_FFI_NULL_POINTER' })
})

test('bad input throws at bind time with ffi.call’s codes', (t) => {
  const { aValues, rValue } = setup()
  t.throws(() => ffi.bind(Buffer.alloc(64), abs, rValue, aValues), { code: 'ERR_FFI_INVALID_CIF' })
  t.throws(() => ffi.bind(cif, ffi.NULL, rValue, aValues), { code: 'ERR_FFI_NULL_POINTER' })
  t.throws(() => ffi.bind(cif, abs, Buffer.alloc(2), aValues), { instanceOf: RangeError, code: 'ERR_FFI_BUFFER_TOO_SMALL' })
  t.throws(() => ffi.bind(cif, abs, rValue, 'x'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.bind(cif, abs, rValue, Buffer.alloc(P)), { code: 'ERR_FFI_NULL_POINTER' })
  // Messages name ffi.bind, in the stack too.
  const e = t.throws(() => ffi.bind(cif, abs, Buffer.alloc(2), aValues), { message: /^ffi\.bind: rValue is 2 bytes/ })
  t.regex(e.stack, /^RangeError: ffi\.bind: rValue/)
  // Also when the bound call finds a NULL that was written by hand.
  const ok = setup()
  const f = ffi.bind(cif, abs, ok.rValue, ok.aValues)
  f()
  ok.aValues.fill(0)
  t.throws(() => f(), { code: 'ERR_FFI_NULL_POINTER', message: /^ffi\.bind: aValues holds NULL for argument 0/ })
})

test('detached Buffers make a bound call throw, never touch freed memory', (t) => {
  const a = setup()
  const fa = ffi.bind(cif, abs, a.rValue, a.aValues)
  a.arg.writeInt32LE(-5)
  fa()
  t.is(a.rValue.readInt32LE(0), 5)
  transfer(a.arg)
  t.throws(() => fa(), { instanceOf: TypeError, code: 'ERR_FFI_DETACHED' })
  // A live argument stored again makes it good.
  const fresh = Buffer.alloc(4)
  fresh.writeInt32LE(-6)
  ffi.writePointer(a.aValues, 0, fresh)
  fa()
  t.is(a.rValue.readInt32LE(0), 6)

  const b = setup()
  const fb = ffi.bind(cif, abs, b.rValue, b.aValues)
  fb()
  transfer(b.rValue)
  t.throws(() => fb(), { instanceOf: TypeError, code: 'ERR_FFI_DETACHED' })

  const c = ffi.CIF(ffi.types.int, ffi.types.int)
  const d = setup()
  const fc = ffi.bind(c, abs, d.rValue, d.aValues)
  fc()
  transfer(c)
  t.throws(() => fc(), { code: 'ERR_FFI_INVALID_CIF' })
})

test('a bound call with six mixed arguments computes what C does', (t) => {
  const T = ffi.types
  const c = ffi.CIF(T.double, T.int32, T.double, T.pointer, T.int64, T.float, T.uint8)
  const args = [Buffer.alloc(4), Buffer.alloc(8), Buffer.alloc(P), Buffer.alloc(8), Buffer.alloc(4), Buffer.alloc(1)]
  const aValues = Buffer.alloc(6 * P)
  args.forEach((b, i) => ffi.writePointer(aValues, i * P, b))
  const rValue = Buffer.alloc(8)
  const bound = ffi.bind(c, sym('mixed6'), rValue, aValues)
  ffi.writePointer(args[2], 0, ffi.NULL)
  args[3].writeBigInt64LE(-(1n << 40n))
  args[4].writeFloatLE(0.5)
  args[5].writeUInt8(250)
  for (const [i, d] of [[-7, 0.25], [123456, -2.5], [0, 1e10]]) {
    args[0].writeInt32LE(i)
    args[1].writeDoubleLE(d)
    bound()
    // mixed6 = a + b + (p != 0) + c + d + e
    t.is(rValue.readDoubleLE(0), i + d + 0 + -(2 ** 40) + 0.5 + 250)
  }
})
