'use strict'

// A thread-pool call waits for this thread to run a closure while the
// process leaves in one of the ways argv[2] names. Node joins the thread
// pool on its way out, so the waiting call must be answered (with zero) for
// the process to end at all, with its own status.
const ffi = require('ffi')
const { sym } = require('./c')

const how = process.argv[2]
const cif = ffi.CIF(ffi.types.int, ffi.types.int)
const cb = ffi.Closure(cif, (r) => {
  if (how === 'exit-in-closure') process.exit(3)
  if (how === 'throw-in-closure') throw new Error('thrown by the closure')
  r.writeInt32LE(1)
})

if (how === 'closure-on-pool') {
  // The pool thread calls the closure itself: the example.
  const aValues = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, Buffer.alloc(4))
  ffi.callAsync(cif, cb, Buffer.alloc(8), aValues)
} else {
  // A C thread that the pool thread joins calls it.
  const cif2 = ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.int)
  const aValues = Buffer.alloc(16)
  const p = Buffer.alloc(8)
  ffi.writePointer(p, 0, cb)
  ffi.writePointer(aValues, 0, p)
  ffi.writePointer(aValues, 8, Buffer.alloc(4))
  ffi.callAsync(cif2, sym('call_in_thread'), Buffer.alloc(8), aValues)
}
// Keep this thread busy until the call is surely waiting for it.
const t = Date.now()
while (Date.now() - t < 100);
if (how === 'exit' || how === 'closure-on-pool') process.exit(2)
if (how === 'uncaught') throw new Error('uncaught in ordinary code')
// exit-in-closure, throw-in-closure: the closure runs once this turn ends.
