'use strict'

// ffi/c's types: what ctypes expose, how they print (LuaJIT's spelling),
// `$` parameters, istype, sizeof of variable-length types, target
// information, and each ctype's ffiType passing structs by value through
// the raw module to real C.

const test = require('ava')
const c = require('ffi/c')
const ffi = require('ffi')
const { sym } = require('./helpers/c')

c.cdef(`
  typedef struct { char c; short s; } CS;
  typedef struct { double d; int i; } DI;
  typedef struct { float a, b, c; } FFF;
  typedef struct { int a, b; } II;
  typedef struct { II ii; double d; CS cs; } Nested;
  struct point { int x; int y; };
  struct vls { int n; double d[]; };
  typedef int (*cmp_t)(const void *, const void *);
  int printf(const char *fmt, ...);
  enum color { RED, GREEN = 5, BLUE };
  static const int K = 1 << 4;
`)

test('ctypes print as LuaJIT prints them', (t) => {
  const cases = {
    int: 'ctype<int>',
    uint8_t: 'ctype<unsigned char>',
    int8_t: 'ctype<char>',
    'unsigned long': 'ctype<uint64_t>',
    'long long': 'ctype<int64_t>',
    size_t: 'ctype<uint64_t>',
    'struct point *': 'ctype<struct point *>',
    'const char *': 'ctype<const char *>',
    'char *const': 'ctype<char *const>',
    'int[10]': 'ctype<int [10]>',
    'int[?]': 'ctype<int [?]>',
    'int[2][3]': 'ctype<int [2][3]>',
    'int *[4]': 'ctype<int *[4]>',
    'int (*)[4]': 'ctype<int (*)[4]>',
    'int (*)(int, double)': 'ctype<int (*)()>',
    cmp_t: 'ctype<int (*)()>',
    'complex double': 'ctype<complex>',
    'complex float': 'ctype<complex float>',
    'long double': 'ctype<long double>',
    'enum color': 'ctype<enum color>',
    'volatile int *': 'ctype<volatile int *>',
    'unsigned': 'ctype<unsigned int>',
    _Bool: 'ctype<bool>',
  }
  for (const [src, want] of Object.entries(cases)) t.is(String(c.typeof(src)), want, src)
  t.regex(String(c.typeof('CS')), /^ctype<struct \d+>$/)
})

test('a ctype exposes kind, size, alignment, fields, element, target, function parts', (t) => {
  const p = c.typeof('struct point')
  t.is(p.kind, 'struct')
  t.is(p.size, 8)
  t.is(p.alignment, 4)
  t.deepEqual(p.fields.map((f) => [f.name, String(f.type), f.offset]), [['x', 'ctype<int>', 0], ['y', 'ctype<int>', 4]])
  const a = c.typeof('double[3]')
  t.is(a.kind, 'array')
  t.is(a.length, 3)
  t.is(a.element, c.typeof('double'))
  t.is(c.typeof('struct point *').target, p)
  const f = c.typeof('int (*)(const char *, ...)').target
  t.is(f.kind, 'function')
  t.is(f.returns, c.typeof('int'))
  t.true(f.variadic)
  t.deepEqual(f.parameters.map((x) => String(x.type)), ['ctype<const char *>'])
  t.is(f.size, undefined)
  t.is(c.typeof('int'), c.typeof('int'), 'interned: the same ctype object')
  t.is(c.typeof('int32_t'), c.typeof('int'))
  t.is(c.typeof('enum color').kind, 'enum')
  t.is(c.typeof('int')(7).value, 7, 'a ctype is a constructor')
})

test('$ parameters: ctypes and array dimensions (numbers and bigints)', (t) => {
  const int = c.typeof('int')
  t.is(String(c.typeof('$ *', int)), 'ctype<int *>')
  t.is(String(c.typeof('$[$]', c.typeof('struct point'), 4n)), 'ctype<struct point [4]>')
  t.is(c.sizeof(c.typeof('int[$][$]', 2, 3)), 24)
  t.throws(() => c.typeof('$ *'), { code: 'ERR_INVALID_ARG_VALUE', message: /without a parameter/ })
  t.throws(() => c.typeof('int[$]', -1), { code: 'ERR_INVALID_ARG_VALUE', message: /negative/ })
  t.throws(() => c.typeof('int', int), { code: 'ERR_INVALID_ARG_VALUE', message: /unused/ })
})

test('sizeof, alignof, offsetof, istype', (t) => {
  t.is(c.sizeof('int[?]'), undefined)
  t.is(c.sizeof('int[?]', 5), 20)
  t.is(c.sizeof('int[?]', 5n), 20)
  t.is(c.alignof('int[?]'), 4)
  t.is(c.sizeof('struct vls'), 8)
  t.is(c.sizeof('struct vls', 3), 32)
  t.is(c.sizeof('void'), undefined)
  t.is(c.sizeof('int (int)'), undefined)
  t.is(c.offsetof('struct point', 'y'), 4)
  t.is(c.offsetof('struct point', 'nosuch'), undefined)
  t.is(c.offsetof('Nested', 'cs'), 16)
  t.true(c.istype('struct point', c.typeof('struct point')))
  t.true(c.istype('const int', c.typeof('int')), 'qualifiers ignored')
  t.true(c.istype('void *', c.typeof('int *')))
  t.false(c.istype('struct point', c.typeof('int')))
  t.false(c.istype('int', 42))
  t.throws(() => c.sizeof('int[?]', -1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => c.sizeof(42), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('target information', (t) => {
  t.is(c.os, 'Linux')
  t.is(c.arch, process.arch === 'x64' ? 'x64' : process.arch)
  t.true(c.abi('64bit'))
  t.false(c.abi('32bit'))
  t.is(c.abi('le'), require('node:os').endianness() === 'LE')
  t.false(c.abi('win'))
})

/** Calls a fixture function through the raw module with `ffiType`s. */
function rawCall(name, ret, args, values) {
  const cif = ffi.CIF(c.typeof(ret).ffiType, ...args.map((a) => c.typeof(a).ffiType))
  const aValues = Buffer.alloc(8 * args.length)
  values.forEach((v, i) => ffi.writePointer(aValues, 8 * i, v))
  const r = Buffer.alloc(Math.max(16, c.sizeof(ret)))
  ffi.call(cif, sym(name), r, aValues)
  return r
}

test('ffiType passes structs by value to C and gets them back', (t) => {
  // CS cs_make(char c, short s): { c + 1, s * 2 }
  const cs = rawCall('cs_make', 'CS', ['char', 'short'], [Buffer.from([40]), Buffer.from([0x34, 0x12])])
  t.is(cs.readInt8(c.offsetof('CS', 'c')), 41)
  t.is(cs.readInt16LE(c.offsetof('CS', 's')), 0x2468)
  // DI di_make(double d, int i): { d / 2, i * 3 }
  const d = Buffer.alloc(8)
  d.writeDoubleLE(5)
  const i = Buffer.alloc(4)
  i.writeInt32LE(7)
  const di = rawCall('di_make', 'DI', ['double', 'int'], [d, i])
  t.is(di.readDoubleLE(0), 2.5)
  t.is(di.readInt32LE(c.offsetof('DI', 'i')), 21)
  // float fff_weigh(FFF v): a + 2b + 3c
  const fff = Buffer.alloc(c.sizeof('FFF'))
  ;[1, 2, 3].forEach((v, k) => fff.writeFloatLE(v, 4 * k))
  t.is(rawCall('fff_weigh', 'float', ['FFF'], [fff]).readFloatLE(0), 14)
  // double nested_weigh(Nested n)
  const n = Buffer.alloc(c.sizeof('Nested'))
  n.writeInt32LE(1, 0)
  n.writeInt32LE(2, 4)
  n.writeDoubleLE(0.5, c.offsetof('Nested', 'd'))
  n.writeInt8(3, c.offsetof('Nested', 'cs'))
  n.writeInt16LE(4, c.offsetof('Nested', 'cs') + 2)
  // a + 2b + 3d + 4c + 5s
  t.is(rawCall('nested_weigh', 'double', ['Nested'], [n]).readDoubleLE(0), 1 + 4 + 1.5 + 12 + 20)
  t.deepEqual(ffi.typeInfo(c.typeof('Nested').ffiType), { size: 24, alignment: 8, type: ffi.TYPE_STRUCT })
  t.is(c.typeof('int (int)').ffiType, undefined)
  t.is(c.typeof('int[?]').ffiType, undefined)
})
