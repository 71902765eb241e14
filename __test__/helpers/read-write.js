'use strict'

// ffi.read and ffi.write against memory C owns (malloc, strdup) and against
// Buffers; run normally and with FFI_TEST_NO_EXTERNAL_BUFFERS=1 (as in
// Electron), where neither may need a Buffer over foreign memory. Prints
// the results as JSON.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)
function call(name, ret, args, values) {
  const cif = ffi.CIF(ffi.types[ret], ...args.map((t) => ffi.types[t]))
  const aValues = Buffer.alloc(8 * args.length)
  values.forEach((v, i) => {
    const slot = Buffer.alloc(8)
    if (args[i] === 'pointer') ffi.writePointer(slot, 0, v)
    else slot.writeBigUInt64LE(BigInt(v))
    ffi.writePointer(aValues, 8 * i, slot)
  })
  const r = Buffer.alloc(8)
  ffi.call(cif, fn(name), r, aValues)
  return ret === 'pointer' ? ffi.readPointer(r, 0) : r.readBigUInt64LE(0)
}

const out = {}
const dup = call('strdup', 'pointer', ['pointer'], [ffi.allocCString('hello, world')])
out.read = ffi.read(dup, 7, 5).toString()
out.readIsNodeOwned = ffi.read(dup, 0, 5).length === 5
out.written = ffi.write(dup, 0, 'HELLO')
out.afterString = ffi.readCString(dup)
out.writtenView = ffi.write(dup, 7, new Uint8Array([87, 79, 82, 76, 68]))
out.afterView = ffi.read(dup, 0, 12).toString()
// strlen agrees that C sees the bytes written.
out.strlen = Number(call('strlen', 'size_t', ['pointer'], [dup]))
call('free', 'void', ['pointer'], [dup])
// On ordinary Buffers the bounds are checked.
const b = Buffer.from('abcdef')
out.bufferRead = ffi.read(b, 2, 3).toString()
out.bufferWrite = ffi.write(b, 4, 'XY')
out.buffer = b.toString()
const errors = {}
const code = (f) => {
  try {
    f()
    return 'no error'
  } catch (e) {
    return e.code
  }
}
errors.readPast = code(() => ffi.read(b, 4, 3))
errors.writePast = code(() => ffi.write(b, 5, 'XY'))
errors.readNull = code(() => ffi.read(ffi.NULL, 0, 1))
errors.writeNull = code(() => ffi.write(ffi.NULL, 0, 'x'))
errors.negative = code(() => ffi.read(b, -1, 1))
errors.badSource = code(() => ffi.write(b, 0, 42))
out.errors = errors
console.log(JSON.stringify(out))
