// ffi/c: zlib's compress2 and uncompress, declared as zlib.h declares them.
// `unsigned long *destLen` is an out-parameter: C reads the room in `dest`
// there and writes back the length it used; a one-element array holds it.
// unsigned long is 64-bit on Linux and macOS, so it comes back a bigint.
const ffi = require('ffi/c')

ffi.cdef(`
  unsigned long compressBound(unsigned long sourceLen);
  int compress2(uint8_t *dest, unsigned long *destLen,
                const uint8_t *source, unsigned long sourceLen, int level);
  int uncompress(uint8_t *dest, unsigned long *destLen,
                 const uint8_t *source, unsigned long sourceLen);
`)
// libz.so (or libz.so.1 where only the runtime package is installed),
// libz.dylib, zlib1.dll
const zlib = ffi.load(ffi.os === 'Windows' ? 'zlib1' : 'z')

const txt = Buffer.from('abcd'.repeat(1000))
const n = zlib.compressBound(txt.length)
const buf = ffi.new('uint8_t[?]', n) // zero-filled, GC-managed: a Uint8Array over C memory
const buflen = ffi.new('unsigned long[1]', n)
const rc = zlib.compress2(buf, buflen, txt, txt.length, 9)
const comp = ffi.bytes(buf, buflen[0]) // a Buffer copy of the compressed bytes
console.log(`compressBound(${txt.length}): ${n}`)
console.log(`compress2: ${rc} (Z_OK), ${txt.length} bytes -> ${comp.length}`)

const out = ffi.new('uint8_t[?]', txt.length)
const outlen = ffi.new('unsigned long[1]', txt.length)
const rc2 = zlib.uncompress(out, outlen, comp, comp.length)
console.log(`uncompress: ${rc2} (Z_OK), ${comp.length} bytes -> ${outlen[0]}`)
console.log(`round trip equal: ${ffi.bytes(out, outlen[0]).equals(txt)}`)
