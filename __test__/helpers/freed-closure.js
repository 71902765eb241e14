'use strict'

// C calls a closure (a compiled-in entry: int(int)) after it was freed:
// it must get zero, not another closure made since, and the process gets
// one warning. Prints what C computed and the warnings, as JSON.
const ffi = require('ffi')
const { sym } = require('./c')

const warnings = []
process.on('warning', (w) => warnings.push({ name: w.name, code: w.code }))

const callN = sym('call_n')
const cif = ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int)
function callWith(address, n) {
  const slot = Buffer.alloc(8)
  ffi.writePointer(slot, 0, ffi.fromAddress(address))
  const count = Buffer.alloc(4)
  count.writeInt32LE(n)
  const aValues = Buffer.alloc(16)
  ffi.writePointer(aValues, 0, slot)
  ffi.writePointer(aValues, 8, count)
  const r = Buffer.alloc(8)
  ffi.call(cif, callN, r, aValues)
  return Number(r.readBigInt64LE(0))
}

const intCif = ffi.CIF(ffi.types.int, ffi.types.int)
const ones = ffi.Closure(intCif, (r) => r.writeInt32LE(1))
const stale = ffi.addressBigInt(ones)
const out = { before: callWith(stale, 3) }
ffi.Closure.free(ones)
// Closures made after the free take other entries first (round-robin).
const others = []
for (let i = 0; i < 10; i++) others.push(ffi.Closure(intCif, (r) => r.writeInt32LE(100)))
out.after = callWith(stale, 3)
out.again = callWith(stale, 2)
out.other = callWith(ffi.addressBigInt(others[0]), 2)
setImmediate(() => {
  out.warnings = warnings
  console.log(JSON.stringify(out))
})
