'use strict'

// A closure hands `fn` the same rValue/aValues/args Buffers on every call at
// the same reentrancy depth (no allocation per call). Whatever `fn` does to
// them (keeps them, detaches them, transfers them), later calls still get
// working Buffers and C still gets its answers: nothing is ever written to
// or read from memory that is gone.

const test = require('ava')
const { ffi, fx } = require('./helpers/c')
const { runChild } = require('./helpers/child')

const P = ffi.sizeof.pointer
const callN = fx('call_n', 'int64', ['pointer', 'int'])
const intCif = ffi.CIF(ffi.types.int, ffi.types.int)

/** Detaches a Buffer's ArrayBuffer where the runtime lets it: true if it did. */
function detach(buf) {
  try {
    if (typeof buf.buffer.transfer === 'function') buf.buffer.transfer()
    else structuredClone(buf.buffer, { transfer: [buf.buffer] })
  } catch {
    // Not detachable here: the Buffer keeps working, which is as good.
  }
  return buf.length === 0
}

test('every call at one depth gets the same Buffers, and args holds the values', (t) => {
  const seen = new Set()
  const cb = ffi.Closure(intCif, (rValue, aValues, args) => {
    seen.add(rValue).add(aValues).add(args)
    const x = args.readInt32LE(0)
    // aValues points at the argument libffi passed; args holds its value.
    t.is(ffi.readPointer(aValues, 0, 4).readInt32LE(0), x)
    rValue.writeBigInt64LE(BigInt(x * 3))
  })
  // sum of 3i for i < 100
  t.is(callN(cb, 100), 14850n)
  t.is(seen.size, 3, 'one rValue, one aValues, one args for all 100 calls')
})

test('reentrant calls get Buffers of their own depth', (t) => {
  const outerCif = ffi.CIF(ffi.types.int, ffi.types.int)
  let inner
  const depthsSeen = []
  const leaf = ffi.Closure(intCif, (rValue, aValues, args) => {
    depthsSeen.push(rValue)
    rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) + 1000))
  })
  const outer = ffi.Closure(outerCif, (rValue, aValues, args) => {
    const x = args.readInt32LE(0)
    depthsSeen.push(rValue)
    // A call back into C from inside the callback: the leaf runs one level down.
    inner = callN(leaf, 2) // 1000 + 1001
    // This depth's Buffers were not touched by the nested call.
    t.is(args.readInt32LE(0), x)
    rValue.writeBigInt64LE(BigInt(x) + inner)
  })
  // outer(0) + outer(1) = (0 + 2001) + (1 + 2001)
  t.is(callN(outer, 2), 4003n)
  t.is(inner, 2001n)
  t.not(depthsSeen[0], depthsSeen[1], 'the nested closure call had other Buffers')
})

test('a callback that detaches its rValue: C still gets what it wrote, later calls get fresh Buffers', (t) => {
  let calls = 0
  let detached = false
  const rValues = new Set()
  const cb = ffi.Closure(intCif, (rValue, aValues, args) => {
    rValues.add(rValue)
    rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) + 1))
    if (calls++ === 3) detached = detach(rValue) || detached
  })
  t.is(callN(cb, 10), 55n)
  globalThis.gc()
  t.is(callN(cb, 10), 55n)
  if (detached) t.true(rValues.size >= 2, 'a detached rValue was replaced')
  else t.pass('this runtime cannot detach these Buffers')
})

test('1,000 callbacks under one call, with collections and nested calls between, each reach their own function', (t) => {
  // Callbacks under one ffi.call share handle scopes, renewed every 64, and
  // reuse the dispatcher's handle within one: a stale handle would call the
  // wrong function or crash once a collection moved things.
  let inner = 0
  const leaf = ffi.Closure(intCif, (rValue, aValues, args) => {
    inner++
    rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) + 7))
  })
  const junk = []
  const outer = ffi.Closure(intCif, (rValue, aValues, args) => {
    const x = args.readInt32LE(0)
    junk.push({ x, pad: new Array(16).fill(x) })
    if (x % 50 === 0) globalThis.gc()
    // A nested call opens scopes of its own: 7 + 8 + 9 = 24.
    const nested = x % 7 === 0 ? callN(leaf, 3) - 24n : 0n
    rValue.writeBigInt64LE(BigInt(x) * 2n + nested)
  })
  // sum of 2x for x < 1000
  t.is(callN(outer, 1000), 999000n)
  t.is(inner, 3 * Math.ceil(1000 / 7))
})

test('the three Buffers share one ArrayBuffer: detaching args replaces all three for the next call', (t) => {
  let calls = 0
  let detached = false
  const seen = []
  const cb = ffi.Closure(intCif, (rValue, aValues, args) => {
    seen.push([rValue, aValues, args])
    t.is(aValues.buffer, args.buffer)
    t.is(rValue.buffer, args.buffer)
    // aValues points at args' copy of the value.
    t.is(ffi.readPointer(aValues, 0, 4).readInt32LE(0), args.readInt32LE(0))
    rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) * 5))
    if (calls++ === 2) detached = detach(args)
  })
  // 5 * (0 + 1 + ... + 9): the calls after the detach still answer
  t.is(callN(cb, 10), 225n)
  if (detached) {
    t.is(seen[2][0].length, 0, 'rValue went with args')
    t.not(seen[3][2], seen[2][2], 'the next call got a new args')
    t.is(seen[9][2], seen[3][2], 'and kept it')
  } else t.pass('this runtime cannot detach these Buffers')
})

test('Buffers kept from a callback and detached later do not break the next calls', (t) => {
  let kept
  const cb = ffi.Closure(intCif, (rValue, aValues, args) => {
    kept = kept || [rValue, aValues, args]
    rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) * 2))
  })
  t.is(callN(cb, 5), 20n)
  for (const b of kept) detach(b)
  globalThis.gc()
  t.is(callN(cb, 5), 20n)
  // The detached Buffers stay detached (or whole); reading them never
  // reaches freed memory.
  for (const b of kept) t.true(b.length === 0 || b.length >= 4)
})

test('qsort with a comparator that reads args, many times over one set of Buffers', (t) => {
  const { dlopen, dlsym } = require('ffi/dlopen')
  const qsort = ffi.readPointer(dlsym(dlopen(null), 'qsort'), 0)
  const n = 5000
  const data = Buffer.alloc(4 * n)
  for (let i = 0; i < n; i++) data.writeInt32LE(((i * 7919) % n) - 2500, i * 4)
  const at = ffi.address(data)
  let calls = 0
  // args holds the comparator's two pointer arguments: offsets into `data`.
  const cmp = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.pointer), (rValue, aValues, args) => {
    calls++
    const a = data.readInt32LE(Number(args.readBigUInt64LE(0)) - at)
    const b = data.readInt32LE(Number(args.readBigUInt64LE(8)) - at)
    rValue.writeBigInt64LE(BigInt(a - b))
  })
  const arg = (write) => {
    const b = Buffer.alloc(8)
    write(b)
    return b
  }
  const args = [
    arg((b) => ffi.writePointer(b, 0, data)),
    arg((b) => b.writeBigUInt64LE(BigInt(n))),
    arg((b) => b.writeBigUInt64LE(4n)),
    arg((b) => ffi.writePointer(b, 0, cmp)),
  ]
  const aValues = Buffer.alloc(4 * P)
  args.forEach((b, i) => ffi.writePointer(aValues, i * P, b))
  const cif = ffi.CIF(ffi.types.void, ffi.types.pointer, ffi.types.size_t, ffi.types.size_t, ffi.types.pointer)
  ffi.call(cif, qsort, Buffer.alloc(8), aValues)
  t.true(calls > n)
  for (let i = 1; i < n; i++) {
    if (data.readInt32LE((i - 1) * 4) > data.readInt32LE(i * 4)) return t.fail(`out of order at ${i}`)
  }
  t.is(data.readInt32LE(0), -2500)
  t.is(data.readInt32LE(4 * (n - 1)), 2499)
})

test('where external Buffers are refused (as in Electron): closures work on copies, pointer views throw', (t) => {
  const r = runChild('no-external-buffers.js', [], { env: { FFI_TEST_NO_EXTERNAL_BUFFERS: '1' } })
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), {
    sum: 14850,
    sumAfterGc: 14850,
    nested: 4003,
    detachedResult: 0,
    reinterpret: 'ERR_FFI_NO_EXTERNAL_BUFFERS',
    readPointer: 'same address',
  })
})
