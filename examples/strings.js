// Strings: size_t strlen(const char *) and char *strdup(const char *).
// A char * argument is a pointer like any other, so C reads it through two
// addresses: aValues holds the address of the argument's storage, and that
// storage holds the address of the string's bytes.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)
const P = ffi.sizeof.pointer

const text = ffi.allocCString('héllo, wörld') // UTF-8 bytes and a NUL: what C reads

// aValues: the address of the argument (in aValues' tail), then the argument
// itself: a char *, the address of `text`.
const aValues = Buffer.alloc(2 * P)
ffi.writePointer(aValues, 0, aValues.subarray(P))
ffi.writePointer(aValues, P, text)
const rValue = Buffer.alloc(ffi.sizeof.ffi_arg)

// size_t strlen(const char *s)
ffi.call(ffi.CIF(ffi.types.size_t, ffi.types.pointer), fn('strlen'), rValue, aValues)
console.log(`strlen: ${rValue.readBigUInt64LE(0)} bytes`)

// char *strdup(const char *s): the same argument; the result is a pointer.
ffi.call(ffi.CIF(ffi.types.pointer, ffi.types.pointer), fn('strdup'), rValue, aValues)
const copy = ffi.readPointer(rValue, 0) // a zero-length pointer Buffer at C's copy
console.log(`strdup: ${ffi.readCString(copy)}`)
ffi.write(copy, 0, 'H') // C's memory: write through the pointer
console.log(`after ffi.write: ${ffi.readCString(copy)}`)

// void free(void *p): C's memory goes back to C.
ffi.writePointer(aValues, P, copy)
ffi.call(ffi.CIF(ffi.types.void, ffi.types.pointer), fn('free'), rValue, aValues)
