'use strict'

// Run with FFI_TEST_NO_EXTERNAL_BUFFERS=1: the module behaves as in a
// runtime that refuses Buffers over memory it does not own (Electron).
// Closures then hand `fn` copies, made per call; pointer views throw.
const { ffi, fx } = require('./c')

const callN = fx('call_n', 'int64', ['pointer', 'int'])
const intCif = ffi.CIF(ffi.types.int, ffi.types.int)
const out = {}

const triple = ffi.Closure(intCif, (rValue, aValues, args) => {
  rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) * 3))
})
out.sum = Number(callN(triple, 100))
// The closure's dispatcher lives as long as the closure, collections or not.
globalThis.gc()
out.sumAfterGc = Number(callN(triple, 100))

const leaf = ffi.Closure(intCif, (rValue, aValues, args) => {
  rValue.writeBigInt64LE(BigInt(args.readInt32LE(0) + 1000))
})
const outer = ffi.Closure(intCif, (rValue, aValues, args) => {
  const x = args.readInt32LE(0)
  const inner = callN(leaf, 2)
  rValue.writeBigInt64LE(BigInt(x) + inner)
})
out.nested = Number(callN(outer, 2))

// A copy detached by fn counts as not written: C gets zero, nothing breaks.
const detaching = ffi.Closure(intCif, (rValue) => {
  rValue.writeBigInt64LE(5n)
  structuredClone(rValue.buffer, { transfer: [rValue.buffer] })
})
out.detachedResult = Number(callN(detaching, 1))

const seven = Buffer.alloc(4)
seven.writeInt32LE(7)
try {
  ffi.reinterpret(seven, 4)
  out.reinterpret = 'no error'
} catch (e) {
  out.reinterpret = e.code
}
// A zero-length pointer Buffer needs no foreign memory.
const holder = Buffer.alloc(ffi.sizeof.pointer)
ffi.writePointer(holder, 0, seven)
const back = ffi.readPointer(holder, 0)
out.readPointer = back.length === 0 && ffi.address(back) === ffi.address(seven) ? 'same address' : 'wrong'
console.log(JSON.stringify(out))
