// snprintf from libc through ffi.CIFVar: one CIF per combination of
// variadic argument types, each already promoted (double, int).
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const snprintf = ffi.readPointer(dlsym(dlopen(null), 'snprintf'), 0)
const P = ffi.sizeof.pointer

// int snprintf(char *str, size_t size, const char *format, ...) with (int, double, char *)
const cif = ffi.CIFVar(3, ffi.types.int,
  ffi.types.pointer, ffi.types.size_t, ffi.types.pointer, // fixed
  ffi.types.int, ffi.types.double, ffi.types.pointer) // variadic

// Six pointers, then the six arguments, argument i at 8 * i of `args`.
const aValues = Buffer.alloc(6 * P + 6 * 8)
const args = aValues.subarray(6 * P)
for (let i = 0; i < 6; i++) ffi.writePointer(aValues, i * P, args.subarray(8 * i, 8 * i + 8))

const out = Buffer.alloc(100)
ffi.writePointer(args, 0, out)
args.writeBigUInt64LE(BigInt(out.length), 8)
ffi.writePointer(args, 16, ffi.allocCString('%d apples cost %.2f %s'))
args.writeInt32LE(12, 24)
args.writeDoubleLE(3.5, 32)
ffi.writePointer(args, 40, ffi.allocCString('euros'))
const rValue = Buffer.alloc(ffi.sizeof.ffi_arg)
ffi.call(cif, snprintf, rValue, aValues)

console.log(ffi.readCString(out)) // 12 apples cost 3.50 euros
