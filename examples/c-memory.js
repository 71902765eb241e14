// ffi/c: C memory from C's own malloc, released by C's free when the
// garbage collector finds the pointer unreachable (ffi.gc), or at once with
// [Symbol.dispose]() (what `using` calls where the runtime has it); ffi.fill
// is memset; and what the platform is, in LuaJIT's terms.
const ffi = require('ffi/c')

ffi.cdef(`
  void *malloc(size_t size);
  void free(void *ptr);
`)

console.log(`os: ${ffi.os}, arch: ${ffi.arch}, 64-bit: ${ffi.abi('64bit')}, little-endian: ${ffi.abi('le')}`)
console.log(`sizeof(void *): ${ffi.sizeof('void *')}, sizeof(size_t): ${ffi.sizeof('size_t')}`)

const n = 8
const p = ffi.gc(ffi.C.malloc(n), ffi.C.free) // a void * cdata; free(p) once unreachable
ffi.fill(p, n, 0x2a) // memset(p, 42, n)
ffi.fill(p, 2) // memset(p, 0, 2)
const u8 = ffi.cast('uint8_t *', p) // the same address, read as bytes
u8.set(n - 1, 255)
console.log(`bytes: ${[...ffi.bytes(p, n)].join(' ')}`)
console.log(`u8[2] + u8[7]: ${u8.get(2) + u8.get(n - 1)}`)

p[Symbol.dispose]() // free(p) now; the collector will not call it again
console.log('freed')
