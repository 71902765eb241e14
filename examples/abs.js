// A first call: int abs(int) from the C library, laid out to be called
// again and again: the argument lives in aValues' own tail, and the
// typed-array views over the argument and the result are made once.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const abs = ffi.readPointer(dlsym(dlopen(null), 'abs'), 0) // the function's address
const cif = ffi.CIF(ffi.types.int, ffi.types.int) // int abs(int)

// aValues: one pointer per argument (to that argument's storage), then the
// storage itself. rValue: an int result comes back widened to a whole ffi_arg.
const P = ffi.sizeof.pointer
const aValues = Buffer.alloc(P + 8)
ffi.writePointer(aValues, 0, aValues.subarray(P, P + 4))
const rValue = Buffer.alloc(ffi.sizeof.ffi_arg)

const arg = new Int32Array(aValues.buffer, aValues.byteOffset + P, 1)
const result = new Int32Array(rValue.buffer, rValue.byteOffset, 1) // the low half (little-endian)

for (const n of [-5, 42, -2147483647]) {
  arg[0] = n
  ffi.call(cif, abs, rValue, aValues)
  console.log(`abs(${n}) = ${result[0]}`)
}
