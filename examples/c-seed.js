// SPEC-C's example (the first code block of the contract of ffi/c), as one
// program: the same lines, with each value its comments give printed by
// console.log. The lines after the block check the rest of its comments.
const ffi = require('ffi/c')

ffi.cdef(`
  int printf(const char *fmt, ...);
  typedef struct { uint8_t red, green, blue, alpha; } rgba_pixel;
  struct point { int x; int y; };
  struct point point_add(struct point **p);
  unsigned long compressBound(unsigned long sourceLen);
  int compress2(uint8_t *dest, unsigned long *destLen,
                const uint8_t *source, unsigned long sourceLen, int level);
  int uncompress(uint8_t *dest, unsigned long *destLen,
                 const uint8_t *source, unsigned long sourceLen);
  void *malloc(size_t size);
  void free(void *ptr);
  typedef struct { double x; double y; } point_t;
`)

ffi.C.printf('Hello %s!\n', 'world')                // varargs: string -> const char *

const img = ffi.new('rgba_pixel[?]', 4)              // zero-filled, GC-managed
img[1].green = 128; img[1].alpha = 255               // element views write C memory
console.log(img[1].green)                             // 128

const zlib = ffi.load(ffi.os === 'Windows' ? 'zlib1' : 'z') // libz.so (or libz.so.1), libz.dylib, zlib1.dll
const txt = Buffer.from('abcd'.repeat(1000))
const n = zlib.compressBound(txt.length)             // unsigned long (64-bit) -> bigint
const buf = ffi.new('uint8_t[?]', n)
const buflen = ffi.new('unsigned long[1]', n)
console.log(zlib.compress2(buf, buflen, txt, txt.length, 9) === 0)
const comp = ffi.bytes(buf, buflen[0])               // a Buffer copy of the compressed bytes

const point = ffi.metatype('point_t', {
  __add: (a, b) => point(a.x + b.x, a.y + b.y),
  __len: (a) => Math.sqrt(a.x * a.x + a.y * a.y),
  __index: { area: (a) => a.x * a.x + a.y * a.y },
})
const a = point(3, 4)
console.log(a.x, a.y, a.length, a.area())             // 3 4 5 25
console.log(a.add(point(0.5, 8)).length)              // 12.5

const p = ffi.gc(ffi.C.malloc(64), ffi.C.free)        // freed by C's free once unreachable

// Beyond the block: the rest of its comments, checked.
console.log(typeof n, img[1].alpha)                   // bigint 255
console.log(Buffer.isBuffer(comp), comp.length < txt.length) // true true
const back = ffi.new('uint8_t[?]', txt.length)
const backlen = ffi.new('unsigned long[1]', txt.length)
zlib.uncompress(back, backlen, comp, comp.length)
console.log(ffi.bytes(back, backlen[0]).equals(txt))  // true: the round trip
console.log(ffi.istype('void *', p), p.isNull())      // true false
