'use strict'

// Run with FFI_TEST_NO_EXTERNAL_BUFFERS=1 (as in Electron, which refuses
// Buffers over memory Node does not own): C data that ffi/c allocates works
// in full, foreign memory through the copying utilities, and a view of
// foreign memory is refused with an error that names what works instead.
// Prints what it saw as JSON.
const ffi = require('ffi')
const c = require('ffi/c')

const out = {}
const attempt = (f) => {
  try {
    f()
    return 'no error'
  } catch (e) {
    return { code: e.code, message: e.message }
  }
}

// The switch is on: the raw module refuses a Buffer over foreign memory.
const probe = Buffer.alloc(8)
out.mode = attempt(() => ffi.fromAddress(ffi.addressBigInt(probe), 8)).code

c.cdef(`
  struct nx_point { int32_t x, y; };
  typedef struct { uint8_t red, green, blue, alpha; } nx_pixel;
  struct nx_fam { int32_t n; double v[?]; };
`)

// new, struct fields, arrays (of structs and of numbers), a box, a VLS
const s = c.new('struct nx_point', 1, 2)
s.y = 5
out.struct = [s.x, s.y]
const pts = c.new('struct nx_point[3]', [1, 2], { x: 3, y: 4 })
pts.at(2).x = 9
pts[2].y = 10
out.points = [...pts].map((p) => [p.x, p.y])
const ints = c.new('int32_t[4]', 1, 2, 3, 4)
out.ints = [...ints]
const img = c.new('nx_pixel[?]', 2)
img[1].green = 128
img.at(1).alpha = 255
out.pixelBytes = [...c.bytes(img, 8)]
out.box = c.new('int64_t', -5n).value.toString()
const fam = c.new('struct nx_fam', 2, { n: 2, v: [0.5, 1.5] })
out.fam = [fam.n, ...fam.v]

// pointers into memory ffi/c owns read and write in place
const p = c.cast('int32_t *', ints)
p.set(1, 20)
out.ownPointer = [p.get(1), ints[1], p.add(3).get(0)]
out.structPointer = c.addressof(s).y
const sp = c.cast('struct nx_point *', pts)
sp.at(1).x = 30
out.structPointerAt = [sp.at(1).x, pts.at(1).x]

// foreign memory (a pointer made from an address): the copying utilities
const buf = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])
const fp = c.cast('uint8_t *', ffi.addressBigInt(buf))
out.foreignBytes = [...c.bytes(fp, 4)]
const dst = c.new('uint8_t[4]')
c.copy(dst, fp, 4)
out.copyIn = [...dst]
c.copy(fp, 'hi')
out.afterCopyString = [...buf.subarray(0, 4)]
c.copy(fp, c.new('uint8_t[2]', [9, 9]), 2)
out.afterCopy = [...buf.subarray(0, 4)]
c.fill(fp, 2, 7)
out.afterFill = [...buf.subarray(0, 4)]
const text = Buffer.from('hey\0')
out.string = c.string(c.cast('const char *', ffi.addressBigInt(text)))
out.stringLen = c.string(c.cast('const char *', ffi.addressBigInt(text)), 2)

// views of foreign memory: refused, naming the alternatives
const fs = c.cast('struct nx_point *', ffi.addressBigInt(buf))
out.refused = {
  get: attempt(() => fp.get(0)),
  set: attempt(() => fp.set(0, 1)),
  field: attempt(() => fs.x),
  at: attempt(() => fs.at(0)),
}
console.log(JSON.stringify(out))
