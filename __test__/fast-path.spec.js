'use strict'

// The fast path repeats a checked call when it gets the same Buffers again.
// Whatever happens to those Buffers in between, a call either works or
// throws: it never reads or writes memory that is gone.

const test = require('ava')
const { ffi, sym } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const P = ffi.sizeof.pointer
const abs = ffi.readPointer(dlsym(dlopen(null), 'abs'), 0)
const cif = ffi.CIF(ffi.types.int, ffi.types.int)

function setup(make = (n) => Buffer.alloc(n)) {
  const arg = make(4)
  const aValues = make(P)
  const rValue = make(8)
  ffi.writePointer(aValues, 0, arg)
  const put = (v) => new DataView(arg.buffer, arg.byteOffset, 4).setInt32(0, v, true)
  const get = () => new DataView(rValue.buffer, rValue.byteOffset, 4).getInt32(0, true)
  return { arg, aValues, rValue, put, get }
}

function transfer(view) {
  structuredClone(view.buffer, { transfer: [view.buffer] })
  return view
}

test('repeated calls with the same Buffers give C’s answers', (t) => {
  const { aValues, rValue, put, get } = setup()
  for (let i = 0; i < 1000; i++) {
    put(-i)
    ffi.call(cif, abs, rValue, aValues)
    t.is(get(), i)
  }
})

test('a transferred rValue or aValues throws ERR_FFI_DETACHED instead of being written', (t) => {
  const a = setup()
  a.put(-3)
  ffi.call(cif, abs, a.rValue, a.aValues)
  transfer(a.rValue)
  t.is(a.rValue.length, 0)
  t.throws(() => ffi.call(cif, abs, a.rValue, a.aValues), { instanceOf: TypeError, code: 'ERR_FFI_DETACHED' })

  const b = setup()
  ffi.call(cif, abs, b.rValue, b.aValues)
  transfer(b.aValues)
  t.throws(() => ffi.call(cif, abs, b.rValue, b.aValues), { instanceOf: TypeError, code: 'ERR_FFI_DETACHED' })
})

test('an argument transferred after its address was stored throws ERR_FFI_DETACHED', async (t) => {
  const { arg, aValues, rValue, put } = setup()
  put(-9)
  ffi.call(cif, abs, rValue, aValues)
  transfer(arg)
  t.throws(() => ffi.call(cif, abs, rValue, aValues), { instanceOf: TypeError, code: 'ERR_FFI_DETACHED' })
  await t.throwsAsync(ffi.callAsync(cif, abs, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
  // Storing a live argument makes the call good again.
  const fresh = Buffer.alloc(4)
  fresh.writeInt32LE(-12)
  ffi.writePointer(aValues, 0, fresh)
  ffi.call(cif, abs, rValue, aValues)
  t.is(rValue.readInt32LE(0), 12)
})

const canTransfer = typeof ArrayBuffer.prototype.transfer === 'function'
;(canTransfer ? test : test.skip)('ArrayBuffer.prototype.transfer() is caught the same way', (t) => {
  const { arg, aValues, rValue } = setup()
  ffi.call(cif, abs, rValue, aValues)
  arg.buffer.transfer()
  t.throws(() => ffi.call(cif, abs, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
  const r2 = setup()
  ffi.call(cif, abs, r2.rValue, r2.aValues)
  r2.rValue.buffer.transfer()
  t.throws(() => ffi.call(cif, abs, r2.rValue, r2.aValues), { code: 'ERR_FFI_DETACHED' })
})

test('a transferred CIF is refused', (t) => {
  const c = ffi.CIF(ffi.types.int, ffi.types.int)
  const { rValue, aValues } = setup()
  ffi.call(c, abs, rValue, aValues)
  transfer(c)
  t.throws(() => ffi.call(c, abs, rValue, aValues), { code: 'ERR_FFI_INVALID_CIF' })
})

test('small typed arrays on the V8 heap keep working across collections', (t) => {
  // Typed arrays this small start on the V8 heap, where the collector may
  // move them; N-API pins them (off the heap) when it hands out an address.
  const { aValues, rValue, put, get } = setup((n) => new Uint8Array(n))
  for (let round = 0; round < 5; round++) {
    put(-(round + 40))
    ffi.call(cif, abs, rValue, aValues)
    t.is(get(), round + 40)
    global.gc()
    for (let i = 0; i < 10000; i++) new Uint8Array(16) // churn the young generation
  }
})

test('Buffers from the shared pool work and C writes only its own bytes', (t) => {
  const arg = Buffer.allocUnsafe(4)
  const rValue = Buffer.allocUnsafe(8)
  const neighbour = Buffer.from('neighbour') // likely in the same pool slab
  const aValues = Buffer.allocUnsafe(P)
  ffi.writePointer(aValues, 0, arg)
  for (let i = 0; i < 100; i++) {
    arg.writeInt32LE(-i)
    ffi.call(cif, abs, rValue, aValues)
    t.is(rValue.readInt32LE(0), i)
  }
  t.is(neighbour.toString(), 'neighbour')
})

test('an argument dropped by JavaScript stays alive for C', async (t) => {
  const aValues = Buffer.alloc(P)
  const rValue = Buffer.alloc(8)
  ;(() => {
    const arg = Buffer.alloc(4)
    arg.writeInt32LE(-77)
    ffi.writePointer(aValues, 0, arg)
  })()
  ffi.call(cif, abs, rValue, aValues)
  for (let i = 0; i < 5; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
    for (let j = 0; j < 100; j++) Buffer.alloc(4).fill(0x55)
  }
  rValue.fill(0)
  ffi.call(cif, abs, rValue, aValues)
  t.is(rValue.readInt32LE(0), 77)
})

test('the cache follows changes: new arguments, NULL arguments, other Buffers', (t) => {
  const { aValues, rValue } = setup()
  const a = Buffer.alloc(4)
  const b = Buffer.alloc(4)
  a.writeInt32LE(-1)
  b.writeInt32LE(-2)
  for (const [arg, want] of [[a, 1], [b, 2], [a, 1]]) {
    ffi.writePointer(aValues, 0, arg)
    ffi.call(cif, abs, rValue, aValues)
    t.is(rValue.readInt32LE(0), want)
  }
  // A pointer written behind writePointer's back is still checked for NULL.
  aValues.fill(0)
  t.throws(() => ffi.call(cif, abs, rValue, aValues), { code: 'ERR_FFI_NULL_POINTER' })
  // Alternating result Buffers, and another function through the same CIF.
  ffi.writePointer(aValues, 0, a)
  const r2 = Buffer.alloc(8)
  ffi.call(cif, abs, rValue, aValues)
  ffi.call(cif, abs, r2, aValues)
  t.is(rValue.readInt32LE(0), 1)
  t.is(r2.readInt32LE(0), 1)
  const idInt = sym('id_int32')
  ffi.call(cif, idInt, r2, aValues)
  t.is(r2.readInt32LE(0), -1)
})

test('closures get their argument values packed in a third Buffer', (t) => {
  const seen = []
  const types = [ffi.types.int8, ffi.types.double, ffi.types.pointer, ffi.types.int64]
  const c = ffi.Closure(ffi.CIF(ffi.types.void, ...types), (rValue, aValues, args) => {
    seen.push([args.readInt8(0), args.readDoubleLE(8), args.readBigUInt64LE(16), args.readBigInt64LE(24), args.length])
  })
  const f = ffi.CIF(ffi.types.void, ...types)
  const values = [Buffer.from([0xfe]), Buffer.alloc(8), Buffer.alloc(P), Buffer.alloc(8)]
  values[1].writeDoubleLE(2.5)
  ffi.writePointer(values[2], 0, values[0])
  values[3].writeBigInt64LE(-5n)
  const aValues = Buffer.alloc(4 * P)
  values.forEach((v, i) => ffi.writePointer(aValues, i * P, v))
  ffi.call(f, c, Buffer.alloc(8), aValues)
  t.deepEqual(seen, [[-2, 2.5, BigInt(ffi.address(values[0])), -5n, 32]])
})

// Arguments that share an ArrayBuffer are detached together, so a repeated
// call checks one view per ArrayBuffer; these prove the sharing cannot hide
// a detached, shrunk or missing argument.
const add = sym('add_int32')
const add2 = ffi.CIF(ffi.types.int32, ffi.types.int32, ffi.types.int32)

/** add_int32's arguments at `offsets` of `store`, their addresses in aValues. */
function sharedArgs(store, offsets, aValues = Buffer.alloc(2 * P)) {
  const args = offsets.map((o) => new Int32Array(store, o, 1))
  args.forEach((a, i) => ffi.writePointer(aValues, i * P, a))
  return { args, aValues }
}

test('arguments in aValues’ own ArrayBuffer: right answers, and caught once it is transferred', (t) => {
  const aValues = Buffer.alloc(2 * P + 8)
  const { args } = sharedArgs(aValues.buffer, [aValues.byteOffset + 2 * P, aValues.byteOffset + 2 * P + 4], aValues)
  const rValue = Buffer.alloc(8)
  for (let i = 0; i < 200; i++) {
    args[0][0] = i
    args[1][0] = 3 * i
    ffi.call(add2, add, rValue, aValues)
    t.is(rValue.readInt32LE(0), 4 * i)
  }
  transfer(aValues)
  t.throws(() => ffi.call(add2, add, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
})

test('arguments in one other ArrayBuffer, or in rValue’s: a transfer of it is caught', (t) => {
  const store = new ArrayBuffer(16)
  const { args, aValues } = sharedArgs(store, [0, 8])
  const rValue = Buffer.alloc(8)
  args[0][0] = 40
  args[1][0] = 2
  ffi.call(add2, add, rValue, aValues)
  t.is(rValue.readInt32LE(0), 42)
  structuredClone(store, { transfer: [store] })
  t.throws(() => ffi.call(add2, add, rValue, aValues), { code: 'ERR_FFI_DETACHED' })

  const r = Buffer.alloc(16)
  const inR = sharedArgs(r.buffer, [r.byteOffset + 8, r.byteOffset + 12])
  const rv = r.subarray(0, 8)
  inR.args[0][0] = 5
  inR.args[1][0] = 6
  ffi.call(add2, add, rv, inR.aValues)
  t.is(rv.readInt32LE(0), 11)
  transfer(r)
  t.throws(() => ffi.call(add2, add, rv, inR.aValues), { code: 'ERR_FFI_DETACHED' })
})

test('a zero-length rValue does not vouch for the arguments beside it', (t) => {
  // set_int_out(int *out, int v) returns void: any rValue will do, even an
  // empty view, which reads length 0 attached or not.
  const setOut = ffi.CIF(ffi.types.void, ffi.types.pointer, ffi.types.int32)
  const fn = sym('set_int_out')
  const out = Buffer.alloc(4)
  const store = new ArrayBuffer(16)
  const rValue = new Uint8Array(store, 0, 0)
  const pointer = Buffer.from(store, 0, P)
  const v = new Int32Array(store, 8, 1)
  ffi.writePointer(pointer, 0, out)
  const aValues = Buffer.alloc(2 * P)
  ffi.writePointer(aValues, 0, pointer)
  ffi.writePointer(aValues, P, v)
  v[0] = 77
  ffi.call(setOut, fn, rValue, aValues)
  t.is(out.readInt32LE(0), 77)
  structuredClone(store, { transfer: [store] })
  t.is(rValue.length, 0)
  t.throws(() => ffi.call(setOut, fn, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
})

const resizable = (() => {
  try {
    return new ArrayBuffer(8, { maxByteLength: 16 }).resizable === true
  } catch {
    return false
  }
})()
;(resizable ? test : test.skip)('a resizable ArrayBuffer shrunk under one argument is caught', (t) => {
  const store = new ArrayBuffer(4096, { maxByteLength: 8192 })
  const { args, aValues } = sharedArgs(store, [0, 4000])
  const rValue = Buffer.alloc(8)
  args[0][0] = 1
  args[1][0] = 2
  ffi.call(add2, add, rValue, aValues)
  t.is(rValue.readInt32LE(0), 3)
  store.resize(8) // the first argument is still in bounds, the second is not
  t.is(args[0].length, 1)
  t.is(args[1].length, 0)
  t.throws(() => ffi.call(add2, add, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
})

test('arguments in a SharedArrayBuffer are read afresh on every call', (t) => {
  const { args, aValues } = sharedArgs(new SharedArrayBuffer(8), [0, 4])
  const rValue = Buffer.alloc(8)
  for (let i = 0; i < 100; i++) {
    args[0][0] = -i
    args[1][0] = 7
    ffi.call(add2, add, rValue, aValues)
    t.is(rValue.readInt32LE(0), 7 - i)
  }
})
