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

const out = Buffer.alloc(100)
const values = [Buffer.alloc(P), Buffer.alloc(8), Buffer.alloc(P), Buffer.alloc(4), Buffer.alloc(8), Buffer.alloc(P)]
ffi.writePointer(values[0], 0, out)
values[1].writeBigUInt64LE(BigInt(out.length))
ffi.writePointer(values[2], 0, ffi.allocCString('%d apples cost %.2f %s'))
values[3].writeInt32LE(12)
values[4].writeDoubleLE(3.5)
ffi.writePointer(values[5], 0, ffi.allocCString('euros'))
const aValues = Buffer.alloc(P * values.length)
values.forEach((v, i) => ffi.writePointer(aValues, i * P, v))
const rValue = Buffer.alloc(ffi.sizeof.ffi_arg)
ffi.call(cif, snprintf, rValue, aValues)

console.log(ffi.readCString(out)) // 12 apples cost 3.50 euros
