'use strict'

// Buffers changed while a call is queued or running (argv[2] names how).
// Run with UV_THREADPOOL_SIZE=1, so that a first call (usleep) holds the
// pool while the call under test waits in its queue. Prints what C
// computed and what landed where, as JSON.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')
const { sym } = require('./c')

const how = process.argv[2]
const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)
const transfer = (buf) => new Uint8Array(structuredClone(buf.buffer, { transfer: [buf.buffer] }))

async function main() {
  const out = {}
  if (how.startsWith('async')) {
    // Holds the only pool thread for 200 ms.
    const sleepArg = Buffer.alloc(4)
    sleepArg.writeUInt32LE(200000)
    const sleepAv = Buffer.alloc(8)
    ffi.writePointer(sleepAv, 0, sleepArg)
    const slept = ffi.callAsync(ffi.CIF(ffi.types.int, ffi.types.uint32), fn('usleep'), Buffer.alloc(8), sleepAv)

    const cif = ffi.CIF(ffi.types.int64, ffi.types.int64)
    let rValue = Buffer.alloc(8)
    const arg = Buffer.alloc(8)
    arg.writeBigInt64LE(-5n)
    const aValues = Buffer.alloc(8)
    ffi.writePointer(aValues, 0, arg)
    let rab
    if (how === 'async-rab-shrunk') {
      rab = new ArrayBuffer(8, { maxByteLength: 16 })
      rValue = Buffer.from(rab)
    }
    const done = ffi.callAsync(cif, fn('labs'), rValue, aValues)
    // The call is queued behind usleep: change its Buffers now.
    let moved
    if (how === 'async-rvalue-transferred') moved = transfer(rValue)
    if (how === 'async-arg-changed') arg.writeBigInt64LE(-9n)
    if (how === 'async-arg-transferred') transfer(arg).fill(0xff)
    if (how === 'async-null-argument') ffi.writePointer(aValues, 0, null)
    if (how === 'async-rab-shrunk') rab.resize(0)
    globalThis.gc()
    await Promise.all([slept, done])
    out.rValueLength = rValue.length
    if (rValue.length >= 8) out.result = String(rValue.readBigInt64LE(0))
    if (moved) out.moved = Array.from(moved)
    if (rab) {
      rab.resize(8)
      out.regrown = Array.from(new Uint8Array(rab))
    }
  } else if (how === 'sync-rvalue-transferred') {
    // A closure that C calls during the call moves the outer call's rValue
    // away: C's result must not land in the memory that left.
    const cif = ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int)
    const rValue = Buffer.alloc(8)
    let moved
    const cb = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), (r) => {
      if (!moved) moved = transfer(rValue)
      r.writeInt32LE(1)
    })
    const p = Buffer.alloc(8)
    ffi.writePointer(p, 0, cb)
    const n = Buffer.alloc(4)
    n.writeInt32LE(3)
    const aValues = Buffer.alloc(16)
    ffi.writePointer(aValues, 0, p)
    ffi.writePointer(aValues, 8, n)
    ffi.call(cif, sym('call_n'), rValue, aValues)
    out.rValueLength = rValue.length
    out.moved = Array.from(moved)
    // The same call again, with a fresh rValue: C's result arrives.
    const r2 = Buffer.alloc(8)
    moved = 'done'
    ffi.call(cif, sym('call_n'), r2, aValues)
    out.result = String(r2.readBigInt64LE(0))
  }
  console.log(JSON.stringify(out))
}
main()
