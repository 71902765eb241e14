'use strict'

// C data: new and its initializers, what JavaScript sees of C values, the
// conversions back, pointers and cast, the memory utilities, gc and
// metatype. Where memory layout matters, C fills the data and checks what
// JavaScript wrote (__test__/fixture/cdata.c).

const test = require('ava')
const util = require('node:util')
const c = require('ffi/c')
const { ffi, fx } = require('./helpers/c')

c.cdef(`
  struct cd_mixed {
    int8_t a; uint8_t b; int16_t c; uint16_t d; int32_t e; uint32_t f;
    int64_t g; uint64_t h; float fl; double db; bool bo; void *p; long double ld;
  };
  struct cd_bits {
    unsigned a : 3; int b : 5; unsigned c : 12; int d : 20;
    uint64_t e : 40; bool f : 1; int64_t g : 33;
  };
  struct cd_packed { char c; int32_t i; double d; int16_t s; uint64_t u; } __attribute__((packed));
  struct cd_point { int x, y; };
  union cd_u { int32_t i; float f; uint8_t bytes[4]; };
  struct cd_outer {
    struct cd_point pt;
    int32_t arr[3];
    struct cd_point pts[2];
    union cd_u u;
    double m[2][3];
    struct cd_packed pk;
  };
  typedef struct { uint8_t red, green, blue, alpha; } rgba_pixel;
  typedef struct { double x; double y; } point_t;
  struct cd_vls { int n; double v[?]; };
`)

/** A raw pointer Buffer at a cdata's memory, for the fixture's functions. */
const at = (cd) => ffi.fromAddress(c.addressof(cd).address)
const mixedFill = fx('cd_mixed_fill', 'void', ['pointer'])
const mixedCheck = fx('cd_mixed_check', 'int', ['pointer'])
const bitsFill = fx('cd_bits_fill', 'void', ['pointer'])
const bitsCheck = fx('cd_bits_check', 'int', ['pointer'])
const packedFill = fx('cd_packed_fill', 'void', ['pointer'])
const packedCheck = fx('cd_packed_check', 'int', ['pointer'])
const outerFill = fx('cd_outer_fill', 'void', ['pointer'])
const outerCheck = fx('cd_outer_check', 'int', ['pointer'])
const pointsSum = fx('cd_points_sum', 'int64', ['pointer', 'int'])
const greeting = fx('cd_greeting', 'pointer', [])
const sumBytes = fx('cd_sum_bytes', 'uint64', ['pointer', 'int'])
const sizes = fx('cd_sizes', 'uint64', ['int'])

test('the sizes of the fixture types are the C compiler\'s', (t) => {
  const names = ['struct cd_mixed', 'struct cd_bits', 'struct cd_packed', 'struct cd_outer']
  names.forEach((n, i) => t.is(c.sizeof(n), Number(sizes(i)), n))
})

test('new: zero-filled memory, a ctype call is new', (t) => {
  const m = c.new('struct cd_mixed')
  t.is(m.a, 0)
  t.is(m.g, 0n)
  t.is(m.p, null)
  t.is(m.bo, false)
  const ct = c.typeof('struct cd_point')
  const p = ct(3, 4)
  t.true(c.istype(ct, p))
  t.is(p.x + p.y, 7)
  t.is(pointsSum(at(p), 1), -1n)
})

test('C fills a struct of every scalar; JavaScript reads each field', (t) => {
  const m = c.new('struct cd_mixed')
  mixedFill(at(m))
  t.is(m.a, -100)
  t.is(m.b, 200)
  t.is(m.c, -30000)
  t.is(m.d, 60000)
  t.is(m.e, -2000000000)
  t.is(m.f, 4000000000)
  t.is(m.g, -(2n ** 63n))
  t.is(m.h, 2n ** 64n - 1n)
  t.is(m.fl, 1.5)
  t.is(m.db, -2.25)
  t.is(m.bo, true)
  t.is(m.ld, 0.75)
  t.is(m.p.address, c.addressof(m).address)
})

test('JavaScript writes every scalar field; C checks them', (t) => {
  const m = c.new('struct cd_mixed')
  Object.assign(m, { a: -100, b: 200, c: -30000, d: 60000, e: -2000000000, f: 4000000000 })
  m.g = -(2n ** 63n)
  m.h = -1 // reduced modulo 2^64, as a C cast
  m.fl = 1.5
  m.db = -2.25
  m.bo = true
  m.ld = 0.75
  m.p = c.addressof(m)
  t.is(mixedCheck(at(m)), 0)
  t.is(m.h, 2n ** 64n - 1n)
})

test('64-bit values are exact bigints both ways', (t) => {
  const v = c.new('struct cd_mixed')
  for (const x of [0n, 2n ** 53n - 1n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n]) {
    v.g = x
    t.is(v.g, x)
  }
  for (const x of [0n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
    v.h = x
    t.is(v.h, x)
  }
  v.g = 2 ** 53 - 1
  t.is(v.g, 2n ** 53n - 1n)
  v.h = 2n ** 64n + 5n
  t.is(v.h, 5n)
  const a = c.new('uint64_t[2]', 2n ** 64n - 1n)
  t.true(a instanceof BigUint64Array)
  t.deepEqual([...a], [2n ** 64n - 1n, 2n ** 64n - 1n])
})

test('integer conversions: truncation toward zero, modulo 2^bits, booleans, bigints, boxes', (t) => {
  const m = c.new('struct cd_mixed')
  m.a = 300.9
  t.is(m.a, 44)
  m.a = -1.9
  t.is(m.a, -1)
  m.b = -1
  t.is(m.b, 255)
  m.e = true
  t.is(m.e, 1)
  m.e = 2n ** 40n + 7n
  t.is(m.e, 7)
  m.e = c.new('int16_t', -5)
  t.is(m.e, -5)
  m.db = 10n
  t.is(m.db, 10)
  m.bo = 2
  t.is(m.bo, true)
})

test('a wrong value names the field, the C type and what was given', (t) => {
  const p = c.new('struct cd_point')
  let e = t.throws(() => {
    p.x = 'a'
  })
  t.is(e.code, 'ERR_INVALID_ARG_TYPE')
  t.is(e.message, 'struct cd_point.x: cannot convert string to int')
  e = t.throws(() => c.new('struct cd_mixed', { db: true }))
  t.is(e.code, 'ERR_INVALID_ARG_TYPE')
  t.regex(e.message, /struct cd_mixed\.db: cannot convert boolean to double/)
  e = t.throws(() => c.new('int[2]', 1, {}))
  t.is(e.code, 'ERR_INVALID_ARG_TYPE')
  t.throws(() => c.new('struct cd_mixed', { p: 5 }), { code: 'ERR_INVALID_ARG_TYPE', message: /struct cd_mixed\.p: cannot convert number to void \*/ })
  t.throws(() => c.new('struct cd_mixed', { p: 'str' }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => c.new('struct cd_point', { z: 1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /no field 'z'/ })
})

test('bitfields: C fills them, JavaScript reads them; JavaScript writes them, C checks', (t) => {
  const b = c.new('struct cd_bits')
  bitsFill(at(b))
  t.deepEqual([b.a, b.b, b.c, b.d, b.e, b.f, b.g], [5, -9, 4095, -524288, 0xfedcba9876n, true, -4294967296n])
  const w = c.new('struct cd_bits')
  w.a = 5
  w.b = -9
  w.c = 4095
  w.d = -524288
  w.e = 0xfedcba9876n
  w.f = true
  w.g = -4294967296n
  t.is(bitsCheck(at(w)), 0)
  w.a = 13 // 3 bits: 5
  t.is(w.a, 5)
  t.is(bitsCheck(at(w)), 0)
  const i = c.new('struct cd_bits', 5, -9, 4095, -524288, 0xfedcba9876n, true, -4294967296n)
  t.is(bitsCheck(at(i)), 0)
})

test('packed (unaligned) fields', (t) => {
  const p = c.new('struct cd_packed')
  packedFill(at(p))
  t.deepEqual([p.c, p.i, p.d, p.s, p.u], ['z'.charCodeAt(0), -123456789, 1e300, -2, 9007199254740993n])
  const q = c.new('struct cd_packed', { c: 122, i: -123456789, d: 1e300, s: -2, u: 9007199254740993n })
  t.is(packedCheck(at(q)), 0)
})

test('nested structs, arrays, unions and 2-D arrays are views of the memory', (t) => {
  const o = c.new('struct cd_outer')
  outerFill(at(o))
  t.deepEqual([o.pt.x, o.pt.y], [1, -2])
  t.true(o.arr instanceof Int32Array)
  t.deepEqual([...o.arr], [10, 20, 30])
  t.is(o.pts.length, 2)
  t.deepEqual([o.pts.at(1).x, o.pts.get(1).y, o.pts[0].x], [101, -101, 100])
  t.is(o.u.f, 1)
  t.is(o.u.i, 0x3f800000)
  t.deepEqual([...o.m.at(1)], [1, 1.25, 1.5])
  t.is(o.pk.u, 9007199254740993n)
  t.is(c.tostring(o.m), `cdata<double [2][3]>: 0x${(c.addressof(o).address + BigInt(c.offsetof('struct cd_outer', 'm'))).toString(16).padStart(16, '0')}`)

  o.pt.x = 7
  o.pt.y = 8
  o.arr.set([0, -1, -2])
  for (let i = 0; i < 2; i++) {
    o.pts.at(i).x = i * 3
    o.pts[i].y = i * 5
  }
  o.u.bytes.set([4, 3, 2, 1])
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) o.m.at(i)[j] = i * 10 + j
  o.pk = { c: 122, i: -123456789, d: 1e300, s: -2, u: 9007199254740993n }
  t.is(outerCheck(at(o)), 0)

  const init = c.new('struct cd_outer', {
    pt: [7, 8],
    arr: [0, -1, -2],
    pts: [{ x: 0, y: 0 }, [3, 5]],
    u: { i: 0x01020304 },
    m: [[0, 1, 2], [10, 11, 12]],
    pk: [122, -123456789, 1e300, -2, 9007199254740993n],
  })
  t.is(outerCheck(at(init)), 0)
})

test('arrays of structs: at(i), get(i), set(i, v), arr[i], length, iteration; C sums them', (t) => {
  const pts = c.new('struct cd_point[3]', { x: 1, y: 2 }, [3, 4])
  pts.set(2, { x: 10 })
  t.is(pts.length, 3)
  t.deepEqual([...pts].map((p) => [p.x, p.y]), [[1, 2], [3, 4], [10, 0]])
  t.is(pointsSum(at(pts), 3), -1n * 1n + -1n * 2n + 10n * 3n)
  pts[1] = { x: 100, y: 1 }
  t.is(pts[1].x, 100)
  t.throws(() => pts.at(3), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => pts.get(-1), { code: 'ERR_OUT_OF_RANGE' })
  t.is(pts.at(2n).x, 10)
  t.regex(util.inspect(pts.at(0)), /^cdata<struct cd_point>: 0x[0-9a-f]+$/)
  t.deepEqual(JSON.parse(JSON.stringify(pts.at(1))), { x: 100, y: 1 })
})

test('the rgba_pixel example: arr[i] (Proxy) and arr.at(i) write the same memory', (t) => {
  const img = c.new('rgba_pixel[?]', 4)
  img[1].green = 128
  img[1].alpha = 255
  t.is(img[1].green, 128)
  t.is(img.at(1).green, 128)
  t.is(img.at(1).alpha, 255)
  t.is(img.length, 4)
  t.is(c.sizeof(img), 16)
  t.deepEqual([...c.bytes(img, 8)], [0, 0, 0, 0, 0, 128, 0, 255])
})

test('initializers: scalars, fill, in order then zero, strings and Buffers for byte arrays, too many', (t) => {
  t.is(c.new('int', 5).value, 5)
  t.deepEqual([...c.new('int[4]', 7)], [7, 7, 7, 7])
  t.deepEqual([...c.new('int[4]', 1, 2)], [1, 2, 0, 0])
  t.deepEqual([...c.new('int[4]', [1, 2, 3])], [1, 2, 3, 0])
  t.deepEqual([...c.new('uint8_t[6]', 'abc')], [97, 98, 99, 0, 0, 0])
  t.deepEqual([...c.new('uint8_t[2]', 'abc')], [97, 98])
  t.deepEqual([...c.new('uint8_t[?]', 3, Buffer.from([9, 8, 7, 6]))], [9, 8, 7])
  const e = t.throws(() => c.new('int[2]', 1, 2, 3))
  t.is(e.code, 'ERR_INVALID_ARG_VALUE')
  t.throws(() => c.new('struct cd_point', 1, 2, 3), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => c.new('int', 1, 2), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => c.new('union cd_u', 1, 2), { code: 'ERR_INVALID_ARG_VALUE' })
  t.is(c.new('union cd_u', 0x01020304).bytes[0], 4)
  t.throws(() => c.new('struct nosuch'), { code: 'ERR_FFI_UNKNOWN_TYPE' })
})

test('variable-length arrays and structs take nelem as a number or a bigint', (t) => {
  t.is(c.new('int[?]', 3).length, 3)
  t.is(c.new('int[?]', 3n, 9)[2], 9)
  t.throws(() => c.new('int[?]'), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => c.new('int[?]', 'x'), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => c.new('int[?]', -1), { code: 'ERR_OUT_OF_RANGE' })
  const v = c.new('struct cd_vls', 4, { n: 4, v: [1, 2, 3, 4] })
  t.is(v.n, 4)
  t.true(v.v instanceof Float64Array)
  t.deepEqual([...v.v], [1, 2, 3, 4])
  t.is(c.sizeof(v), c.sizeof('struct cd_vls', 4))
})

test('scalar arrays are TypedArrays of the matching kind, known to typeof and istype', (t) => {
  const kinds = {
    'int8_t[2]': Int8Array,
    'uint8_t[2]': Uint8Array,
    'int16_t[2]': Int16Array,
    'uint16_t[2]': Uint16Array,
    'int32_t[2]': Int32Array,
    'uint32_t[2]': Uint32Array,
    'int64_t[2]': BigInt64Array,
    'uint64_t[2]': BigUint64Array,
    'float[2]': Float32Array,
    'double[2]': Float64Array,
  }
  for (const [ct, TA] of Object.entries(kinds)) {
    const a = c.new(ct)
    t.true(a instanceof TA, ct)
    t.true(c.istype(ct, a), ct)
    t.is(String(c.typeof(a)), String(c.typeof(ct)))
  }
  t.false(c.istype('int[2]', new Int32Array(2)))
  t.is(c.new('char[1]') instanceof Int8Array, !c.abi('le') || process.arch === 'x64' || process.arch === 'ia32')
  const bools = c.new('bool[2]', true)
  t.deepEqual([...bools], [true, true])
  const ptrs = c.new('int *[2]')
  t.is(ptrs.get(0), null)
})

test('a scalar is a box: value, valueOf, Number, bigint for 64-bit', (t) => {
  const b = c.new('int', 5)
  t.is(b.value, 5)
  t.is(+b, 5)
  t.is(Number(b), 5)
  b.value = 6
  t.is(b.value, 6)
  const l = c.new('int64_t', -(2n ** 63n))
  t.is(l.value, -(2n ** 63n))
  t.is(Number(c.new('uint64_t', 7n)), 7)
  t.is(c.tostring(l), '-9223372036854775808LL')
  t.is(c.tostring(c.new('uint64_t', 2n ** 64n - 1n)), '18446744073709551615ULL')
  t.is(c.tonumber(c.new('double', 2.5)), 2.5)
  t.is(c.tostring(c.new('int', 3)), '3')
})

test('pointers: cast round trip, arithmetic, equality, NULL is null, no operators', (t) => {
  const p = c.cast('int *', 0x1000)
  t.is(p.address, 0x1000n)
  t.is(c.cast('uintptr_t', p).value, 0x1000n)
  t.is(c.cast('int *', 0), null)
  t.is(c.cast('void *', 0n), null)
  t.is(p.add(2).address, 0x1008n)
  t.is(p.add(2).sub(1).address, 0x1004n)
  t.is(p.add(5).sub(p), 5n)
  t.true(p.equals(c.cast('char *', 0x1000)))
  t.false(p.isNull())
  t.is(c.tonumber(p), 0x1000)
  t.regex(c.tostring(p), /^cdata<int \*>: 0x0+1000$/)
  t.throws(() => p + 1, { code: 'ERR_INVALID_ARG_TYPE' })
  const big = c.cast('void *', 2n ** 64n - 16n)
  t.is(big.address, 2n ** 64n - 16n)
  t.is(c.cast('uint64_t', big).value, 2n ** 64n - 16n)
  t.is(c.cast('int32_t', c.cast('void *', 0x1_0000_0005)).value, 5)
})

test('pointers read and write through: get, set, at, struct fields', (t) => {
  const a = c.new('int[4]', 1, 2, 3, 4)
  const p = c.cast('int *', a)
  t.is(p.get(0), 1)
  t.is(p.get(3), 4)
  p.set(1, 20)
  t.is(a[1], 20)
  t.is(p.add(2).get(0), 3)
  t.is(p.add(2).get(-1), 20)
  const pts = c.new('struct cd_point[2]', [1, 2], [3, 4])
  const q = c.cast('struct cd_point *', pts)
  t.is(q.x, 1)
  q.y = 9
  t.is(pts.at(0).y, 9)
  t.is(q.at(1).x, 3)
  t.is(q.add(1).y, 4)
  const pp = c.addressof(pts.at(1))
  t.is(pp.x, 3)
  t.true(c.istype('struct cd_point *', pp))
  // foreign memory: a string C owns
  const g = c.cast('const char *', ffi.addressBigInt(greeting()))
  t.is(g.get(0), 'h'.charCodeAt(0))
  t.is(c.string(g), 'hello from C')
  t.is(c.string(g, 5), 'hello')
})

test('pointer fields hold cdata, Buffers, TypedArrays and raw pointers; C reads them', (t) => {
  const m = c.new('struct cd_mixed')
  const data = c.new('uint8_t[4]', [1, 2, 3, 4])
  m.p = data
  t.is(sumBytes(ffi.fromAddress(m.p.address), 4), 10n)
  const buf = Buffer.from([5, 6, 7])
  m.p = buf
  t.is(sumBytes(ffi.fromAddress(m.p.address), 3), 18n)
  m.p = ffi.fromAddress(ffi.addressBigInt(buf))
  t.is(m.p.address, ffi.addressBigInt(buf))
  m.p = null
  t.is(m.p, null)
})

test('addressof, sizeof, istype on cdata', (t) => {
  const p = c.new('struct cd_point', 1, 2)
  const ap = c.addressof(p)
  t.true(c.istype('struct cd_point *', ap))
  t.true(c.istype('struct cd_point', p))
  t.false(c.istype('struct cd_point', ap))
  t.is(c.sizeof(p), 8)
  t.is(c.sizeof(c.new('int[?]', 5)), 20)
  t.throws(() => c.addressof(5), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('string, bytes, copy, fill: bounded by the known length', (t) => {
  const s = c.new('char[?]', 16, 'hello')
  t.is(c.string(s), 'hello')
  t.is(c.string(s, 3), 'hel')
  t.is(c.string(s, 7, 'latin1'), 'hello\0\0')
  t.deepEqual([...c.bytes(s, 2)], [104, 101])
  t.throws(() => c.bytes(s, 17), { code: 'ERR_OUT_OF_RANGE' })
  c.copy(s, 'bye')
  t.is(c.string(s), 'bye')
  t.throws(() => c.copy(s, 'x'.repeat(16)), { code: 'ERR_OUT_OF_RANGE' })
  const d = c.new('uint8_t[4]')
  c.copy(d, Buffer.from([1, 2, 3]), 3)
  t.deepEqual([...d], [1, 2, 3, 0])
  t.throws(() => c.copy(d, Buffer.from([1, 2]), 3), { code: 'ERR_OUT_OF_RANGE' })
  c.fill(d, 2, 0xff)
  t.deepEqual([...d], [255, 255, 3, 0])
  t.throws(() => c.fill(d, 5), { code: 'ERR_OUT_OF_RANGE' })
  c.fill(d, 4n)
  t.is(sumBytes(at(d), 4), 0n)
  const p = c.cast('uint8_t *', d)
  c.fill(p, 4, 1) // a bare pointer: the caller's word
  t.is(sumBytes(at(d), 4), 4n)
  t.throws(() => c.string(null), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('metatype: the point example', (t) => {
  const point = c.metatype('point_t', {
    __add: (a, b) => point(a.x + b.x, a.y + b.y),
    __len: (a) => Math.sqrt(a.x * a.x + a.y * a.y),
    __index: { area: (a) => a.x * a.x + a.y * a.y },
    __tostring: (a) => `(${a.x}, ${a.y})`,
    __eq: (a, b) => a.x === b.x && a.y === b.y,
  })
  const a = point(3, 4)
  t.deepEqual([a.x, a.y, a.length, a.area()], [3, 4, 5, 25])
  t.is(a.add(point(0.5, 8)).length, 12.5)
  t.is(String(a), '(3, 4)')
  t.is(util.inspect(a), '(3, 4)')
  t.true(a.equals(point(3, 4)))
  t.is(c.new('point_t[2]').at(1).area(), 0)
  t.is(c.addressof(a).area(), 25)
  t.throws(() => c.metatype('point_t', {}), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('metatype refuses what would need a Proxy, and names that hide fields', (t) => {
  c.cdef('struct mt1 { int x; }; struct mt2 { int x; }; struct mt3 { int x; }; struct mt4 { int x; };')
  t.throws(() => c.metatype('struct mt1', { __index: () => 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => c.metatype('struct mt2', { __call: () => 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => c.metatype('struct mt3', { __index: { x: () => 1 } }), { code: 'ERR_INVALID_ARG_VALUE' })
  const ct = c.metatype('struct mt4', {
    __new: (ct, v) => c.new(ct, v * 2),
  })
  t.is(ct(21).x, 42)
  t.is(c.new(ct, 21).x, 21)
})

test('gc: a finalizer runs once with a pointer to the memory; null removes it', async (t) => {
  const seen = []
  ;(() => {
    const a = c.new('int[2]', 5)
    c.gc(a, (p) => seen.push(p.get(1)))
    const b = c.new('int[2]', 6)
    c.gc(b, (p) => seen.push(p.get(1)))
    c.gc(b, null)
  })()
  for (let i = 0; i < 20 && seen.length === 0; i++) {
    globalThis.gc()
    await new Promise((r) => setTimeout(r, 10))
  }
  t.deepEqual(seen, [5])
  const disposed = []
  const d = c.gc(c.cast('void *', 0x1234), (p) => disposed.push(p.address))
  if (typeof Symbol.dispose === 'symbol') {
    d[Symbol.dispose]()
    d[Symbol.dispose]()
    t.deepEqual(disposed, [0x1234n])
  }
  t.throws(() => c.gc(5, () => {}), { code: 'ERR_INVALID_ARG_TYPE' })
})
