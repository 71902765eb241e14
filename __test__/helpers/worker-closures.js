'use strict'

// In a Worker: closures on the Worker's own thread and from a C thread.
const { parentPort, workerData } = require('node:worker_threads')
const { ffi, fx, sym, callback } = require('./c')

async function main() {
  const out = {}
  const cb = callback('int', ['int'], (x) => x * 2)
  out.sync = Number(fx('call_n', 'int64', ['pointer', 'int'])(cb, 5))
  const cif = ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.int)
  const P = ffi.sizeof.pointer
  const fnArg = Buffer.alloc(P)
  ffi.writePointer(fnArg, 0, cb)
  const x = Buffer.alloc(4)
  x.writeInt32LE(21)
  const aValues = Buffer.alloc(2 * P)
  ffi.writePointer(aValues, 0, fnArg)
  ffi.writePointer(aValues, P, x)
  const rValue = Buffer.alloc(8)
  await ffi.callAsync(cif, sym('call_in_thread'), rValue, aValues)
  out.thread = rValue.readInt32LE(0)
  if (workerData && workerData.leaveRunning) {
    // A C thread keeps calling this Worker's closure after the Worker ends.
    const keep = callback('int', ['int'], () => 1)
    globalThis.keep = keep
    fx('bg_start', 'int', ['pointer'])(keep)
  }
  parentPort.postMessage(out)
}
main()
