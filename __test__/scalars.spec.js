'use strict'

const test = require('ava')
const { ffi, fx, bind, sym } = require('./helpers/c')

const extremes = {
  int8: [-128, 127, 0, -1],
  uint8: [0, 255, 1],
  int16: [-32768, 32767, -1],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647, -1],
  uint32: [0, 4294967295],
  int64: [-(2n ** 63n), 2n ** 63n - 1n, -1n],
  uint64: [0n, 2n ** 64n - 1n],
  float: [-3.4028234663852886e38, 1.401298464324817e-45, 0.5],
  double: [-Number.MAX_VALUE, Number.MIN_VALUE, Math.PI],
  char: [-128, 127],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  ulong: [2n ** 64n - 1n],
  size_t: [2n ** 64n - 1n, 0n],
}

for (const [type, values] of Object.entries(extremes)) {
  test(`${type} round-trips through C at its extremes`, (t) => {
    const id = fx(`id_${type}`, type, [type])
    for (const v of values) t.is(id(v), v, `id_${type}(${v})`)
  })
}

test('bool as argument and return', (t) => {
  const not = fx('not_bool', 'bool', ['bool'])
  t.is(not(true), false)
  t.is(not(false), true)
})

test('integers wrap in C at their own width, both signs', (t) => {
  t.is(fx('add_int8', 'int8', ['int8', 'int8'])(127, 1), -128)
  t.is(fx('add_uint8', 'uint8', ['uint8', 'uint8'])(255, 2), 1)
  t.is(fx('add_int16', 'int16', ['int16', 'int16'])(-32768, -1), 32767)
  t.is(fx('add_uint16', 'uint16', ['uint16', 'uint16'])(65535, 1), 0)
  t.is(fx('add_int32', 'int32', ['int32', 'int32'])(2147483647, 1), -2147483648)
  t.is(fx('add_uint32', 'uint32', ['uint32', 'uint32'])(4294967295, 2), 1)
  t.is(fx('add_int64', 'int64', ['int64', 'int64'])(2n ** 63n - 1n, 1n), -(2n ** 63n))
  t.is(fx('add_uint64', 'uint64', ['uint64', 'uint64'])(2n ** 64n - 1n, 3n), 2n)
})

test('floating point arithmetic is done by C', (t) => {
  t.is(fx('mul_float', 'float', ['float', 'float'])(1.5, -2.25), -3.375)
  t.is(fx('mul_double', 'double', ['double', 'double'])(1e300, 10), 1e301)
})

test('long double passes by value (bytes made by C)', (t) => {
  const from = fx('ld_from_double', 'longdouble', ['double'])
  const to = fx('ld_to_double', 'double', ['longdouble'])
  const mul = fx('mul_longdouble', 'longdouble', ['longdouble', 'longdouble'])
  const id = fx('id_longdouble', 'longdouble', ['longdouble'])
  t.is(to(mul(from(1.5), from(-4))), -6)
  t.is(to(id(from(Math.E))), Math.E)
})

test('8- and 16-bit returns are sign or zero extended through ffi_arg', (t) => {
  // The raw rValue: a whole ffi_arg, as libffi widens it.
  const raw = (name, type) => {
    const cif = ffi.CIF(ffi.types[type])
    const rValue = Buffer.alloc(ffi.sizeof.ffi_arg, 0xaa)
    ffi.call(cif, sym(name), rValue, Buffer.alloc(0))
    return rValue
  }
  const E = ffi.endianness
  t.is(raw('min_int8', 'int8')[`readBigInt64${E}`](0), -128n)
  t.is(raw('min_int16', 'int16')[`readBigInt64${E}`](0), -32768n)
  t.is(raw('max_uint8', 'uint8')[`readBigUInt64${E}`](0), 255n)
  t.is(raw('max_uint16', 'uint16')[`readBigUInt64${E}`](0), 65535n)
})

test('pointers go in and come back as pointer Buffers', (t) => {
  const buf = Buffer.from('abcdef')
  const add = fx('ptr_add', 'pointer', ['pointer', 'size_t'])
  const p = add(buf, 2n)
  t.is(ffi.address(p), ffi.address(buf) + 2)
  t.is(ffi.readCString(ffi.reinterpret(p, 4)), 'cdef')
  t.is(fx('ptr_diff', 'size_t', ['pointer', 'pointer'])(p, buf), 2n)
  t.true(ffi.isNull(fx('id_pointer', 'pointer', ['pointer'])(ffi.NULL)))
})

test('12 integer arguments of mixed widths land in their slots', (t) => {
  const f = fx('weigh_ints12', 'int64', [
    'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'int32', 'int64', 'int8', 'uint16',
  ])
  const args = [-1, 200, -300, 40000, -5, 6, -7n, 8n, 9, -10n, -11, 12]
  const expected = args.reduce((s, v, i) => s + BigInt(v) * BigInt(i + 1), 0n)
  t.is(f(...args), expected)
})

test('12 double arguments land in their slots', (t) => {
  const f = fx('weigh_doubles12', 'double', Array(12).fill('double'))
  const args = Array.from({ length: 12 }, (_, i) => (i + 1) * 0.25 * (i % 2 ? -1 : 1))
  t.is(f(...args), args.reduce((s, v, i) => s + v * (i + 1), 0))
})

test('20 mixed integer and floating arguments land in their slots', (t) => {
  const types = ['int32', 'double', 'float', 'int64', 'double', 'int8', 'float', 'double', 'uint16', 'double',
    'int32', 'double', 'float', 'int64', 'double', 'double', 'int32', 'float', 'double', 'int32']
  const args = [1, 2.5, 3.5, 4n, 5.25, -6, 7.5, 8.125, 9, 10.5, -11, 12.75, 13.5, -14n, 15.5, 16.25, 17, 18.5, 19.75, -20]
  const f = fx('weigh_mixed20', 'double', types)
  t.is(f(...args), args.reduce((s, v, i) => s + Number(v) * (i + 1), 0))
})

test('errno() is what the callee left, read right after the call', (t) => {
  const f = fx('fail_with_errno', 'int', ['int'])
  t.is(f(42), -1)
  t.is(ffi.errno(), 42)
  t.is(fx('id_int32', 'int32', ['int32'])(7), 7)
  t.is(ffi.errno(), 0, 'a call that leaves errno alone reports 0')
  t.is(ffi.lastError(), 0)
})

test('void functions may take any rValue, even an empty one', (t) => {
  const out = Buffer.alloc(4)
  const cif = ffi.CIF(ffi.types.void, ffi.types.pointer, ffi.types.int)
  const aValues = Buffer.alloc(2 * ffi.sizeof.pointer)
  const v = Buffer.alloc(4)
  v.writeInt32LE(-99)
  const p = Buffer.alloc(ffi.sizeof.pointer)
  ffi.writePointer(p, 0, out)
  ffi.writePointer(aValues, 0, p)
  ffi.writePointer(aValues, ffi.sizeof.pointer, v)
  ffi.call(cif, sym('set_int_out'), Buffer.alloc(0), aValues)
  t.is(out.readInt32LE(0), -99)
})

test('a function bound by hand through dlopen(null) and the fixture agree', (t) => {
  const greeting = bind(sym('greeting'), 'pointer', [])
  t.is(ffi.readCString(greeting()), 'hello from C')
})
