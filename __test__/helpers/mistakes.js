'use strict'

// Mistakes that crashed (argv[2] names which): each must now be a coded
// error. Prints the error's code and message as JSON.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const how = process.argv[2]
const libc = dlopen(null)
const out = {}
function attempt(f) {
  try {
    f()
    return { code: 'no error' }
  } catch (e) {
    return { code: e.code, message: e.message }
  }
}

if (how === 'dlsym-as-fn') {
  // Forgetting readPointer: the Buffer that holds the address, called.
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const aValues = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, Buffer.alloc(4))
  Object.assign(out, attempt(() => ffi.call(cif, dlsym(libc, 'abs'), Buffer.alloc(8), aValues)))
  out.async = attempt(() => ffi.callAsync(cif, dlsym(libc, 'abs'), Buffer.alloc(8), aValues, () => {})).code
} else if (how === 'string-as-storage') {
  // strlen(const char *): the string itself stored where a slot holding its
  // address is due.
  const cif = ffi.CIF(ffi.types.size_t, ffi.types.pointer)
  const strlen = ffi.readPointer(dlsym(libc, 'strlen'), 0)
  const aValues = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, ffi.allocCString('hello'))
  Object.assign(out, attempt(() => ffi.call(cif, strlen, Buffer.alloc(8), aValues)))
  out.async = attempt(() => ffi.callAsync(cif, strlen, Buffer.alloc(8), aValues, () => {})).code
  const slot = Buffer.alloc(8)
  ffi.writePointer(slot, 0, ffi.allocCString('hello'))
  ffi.writePointer(aValues, 0, slot)
  const r = Buffer.alloc(8)
  ffi.call(cif, strlen, r, aValues)
  out.fixed = Number(r.readBigUInt64LE(0))
}
console.log(JSON.stringify(out))
