// Out-parameters: zlib's compress2 and uncompress take `unsigned long
// *destLen`: C reads the capacity of `dest` there and writes back the length
// it used. The argument is the address of a Buffer that holds that number.
// (zlib1g, with libz.so.1, is part of every Debian and Ubuntu system.
// unsigned long is 8 bytes on Linux and macOS.)
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const zlib = dlopen('libz.so.1')
const fn = (name) => ffi.readPointer(dlsym(zlib, name), 0)
const P = ffi.sizeof.pointer
const { pointer, ulong, int } = ffi.types

// aValues for n arguments with their storage in its own tail; `args` is
// that tail, argument i at 8 * i (the layout a closure's args has).
function argumentBuffers(n) {
  const aValues = Buffer.alloc(n * P + n * 8)
  const args = aValues.subarray(n * P)
  for (let i = 0; i < n; i++) ffi.writePointer(aValues, i * P, args.subarray(8 * i, 8 * i + 8))
  return { aValues, args }
}
const rValue = Buffer.alloc(ffi.sizeof.ffi_arg)

const source = Buffer.from('All work and no play makes Jack a dull boy. '.repeat(20))

// uLong compressBound(uLong sourceLen): the most compress2 can need.
const bound = argumentBuffers(1)
bound.args.writeBigUInt64LE(BigInt(source.length), 0)
ffi.call(ffi.CIF(ulong, ulong), fn('compressBound'), rValue, bound.aValues)
const compressed = Buffer.alloc(Number(rValue.readBigUInt64LE(0)))

// int compress2(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen, int level)
const destLen = Buffer.alloc(8) // the unsigned long C reads and writes
destLen.writeBigUInt64LE(BigInt(compressed.length)) // in: the room in dest
const c = argumentBuffers(5)
ffi.writePointer(c.args, 0, compressed)
ffi.writePointer(c.args, 8, destLen)
ffi.writePointer(c.args, 16, source)
c.args.writeBigUInt64LE(BigInt(source.length), 24)
c.args.writeInt32LE(9, 32)
ffi.call(ffi.CIF(int, pointer, pointer, pointer, ulong, int), fn('compress2'), rValue, c.aValues)
const packedLength = Number(destLen.readBigUInt64LE(0)) // out: the bytes used
console.log(`compress2: ${rValue.readInt32LE(0)} (Z_OK), ${source.length} bytes -> ${packedLength}`)

// int uncompress(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen)
const restored = Buffer.alloc(source.length)
const restoredLength = Buffer.alloc(8)
restoredLength.writeBigUInt64LE(BigInt(restored.length))
const u = argumentBuffers(4)
ffi.writePointer(u.args, 0, restored)
ffi.writePointer(u.args, 8, restoredLength)
ffi.writePointer(u.args, 16, compressed)
u.args.writeBigUInt64LE(BigInt(packedLength), 24)
ffi.call(ffi.CIF(int, pointer, pointer, pointer, ulong), fn('uncompress'), rValue, u.aValues)
console.log(`uncompress: ${rValue.readInt32LE(0)} (Z_OK), ${packedLength} bytes -> ${restoredLength.readBigUInt64LE(0)}`)
console.log(`round trip intact: ${restored.equals(source)}`)
