'use strict'

const test = require('ava')
const { ffi, fx, struct, bind, sym } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const CS = struct('char', 'short')
const II = struct('int', 'int')
const DD = struct('double', 'double')
const FFF = struct('float', 'float', 'float')
const C3 = struct('char', 'char', 'char')
const DI = struct('double', 'int')
const Big = struct('int64', 'int64', 'int64', 'double')
const Nested = struct(II, 'double', CS)

test('layouts match C', (t) => {
  t.deepEqual([CS.offsets, CS.size], [[0, 2], 4])
  t.deepEqual([C3.offsets, C3.size], [[0, 1, 2], 3])
  t.deepEqual([DI.offsets, DI.size], [[0, 8], 16])
  t.deepEqual([FFF.offsets, FFF.size], [[0, 4, 8], 12])
  t.deepEqual([Big.offsets, Big.size], [[0, 8, 16, 24], 32])
  t.deepEqual([Nested.offsets, Nested.size], [[0, 8, 16], 24])
})

test('{char, short}', (t) => {
  t.deepEqual(fx('cs_make', CS, ['char', 'short'])(9, -300), [10, -600])
  t.is(fx('cs_sum', 'int', [CS])([-5, 1000]), 995)
})

test('{int, int}', (t) => {
  t.deepEqual(fx('ii_swap', II, [II])([-1, 2147483647]), [2147483647, -1])
  t.is(fx('ii_diff', 'int', [II])([10, 3]), 7)
})

test('{double, double}', (t) => {
  t.deepEqual(fx('dd_scale', DD, [DD, 'double'])([1.5, -2], 4), [6, -8])
  t.is(fx('dd_dot', 'double', [DD, DD])([1, 2], [3, 4]), 11)
})

test('{float, float, float}', (t) => {
  t.deepEqual(fx('fff_rotate', FFF, [FFF])([1.5, 2.5, 3.5]), [2.5, 3.5, 1.5])
  t.is(fx('fff_weigh', 'float', [FFF])([1, 2, 3]), 14)
})

test('an odd-sized 3-byte struct', (t) => {
  t.deepEqual(fx('c3_next', C3, [C3])([1, -2, 126]), [2, -1, 127])
  t.is(fx('c3_weigh', 'int', [C3])([1, 2, 3]), 14)
})

test('{double, int}', (t) => {
  t.deepEqual(fx('di_make', DI, ['double', 'int'])(5, -7), [2.5, -21])
  t.is(fx('di_sum', 'double', [DI])([0.5, 2]), 2.5)
})

test('a struct larger than 16 bytes, between scalars', (t) => {
  const r = fx('big_add', Big, [Big, Big])([1n, -2n, 3n, 0.5], [10n, 20n, -30n, 0.25])
  t.deepEqual(r, [11n, 18n, -27n, 0.75])
  t.is(fx('big_weigh', 'double', ['int', Big, 'int'])(2, [1n, 2n, 3n, 4], 3), 2000 + 1 + 4 + 9 + 16 + 1.5)
})

test('a nested struct', (t) => {
  const n = fx('nested_make', Nested, ['int', 'int', 'double', 'char', 'short'])(1, -2, 0.5, 7, 300)
  t.deepEqual(n, [[1, -2], 0.5, [7, 300]])
  t.is(fx('nested_weigh', 'double', [Nested])(n), 1 - 4 + 1.5 + 28 + 1500)
})

test('div() from libc returns div_t through StructType', (t) => {
  const divT = struct('int', 'int')
  const libc = dlopen(null)
  const div = bind(ffi.readPointer(dlsym(libc, 'div'), 0), divT, ['int', 'int'])
  t.deepEqual(div(-17, 5), [-3, -2])
  t.deepEqual(div(2147483647, 10), [214748364, 7])
})

function clobberCall(t, name, abi) {
  const cif = abi === undefined ? ffi.CIF(ffi.types.int64, Big.type) : ffi.CIF(abi, ffi.types.int64, Big.type)
  const arg = Buffer.alloc(Big.size)
  arg.writeBigInt64LE(1n, 0)
  arg.writeBigInt64LE(2n, 8)
  arg.writeBigInt64LE(3n, 16)
  arg.writeDoubleLE(4, 24)
  const before = Buffer.from(arg)
  const aValues = Buffer.alloc(ffi.sizeof.pointer)
  ffi.writePointer(aValues, 0, arg)
  const aBefore = Buffer.from(aValues)
  for (const round of [1, 2]) {
    const rValue = Buffer.alloc(8)
    ffi.call(cif, sym(name), rValue, aValues)
    t.is(rValue.readBigInt64LE(0), 6n, `C saw the argument (call ${round} with the same Buffers)`)
    t.deepEqual(arg, before, "the callee's writes did not reach the caller's struct")
    t.deepEqual(aValues, aBefore, "libffi did not rewrite the caller's aValues")
  }
}

test('a callee that writes to its by-value struct leaves the caller’s bytes alone', (t) => {
  clobberCall(t, 'big_clobber')
})

const win64 = process.arch === 'x64' && process.platform !== 'win32'
;(win64 ? test : test.skip)('the same on the Win64 ABI, where the struct goes by reference', (t) => {
  clobberCall(t, 'big_clobber_win64', ffi.abi.win64)
  const f = fx('ii_win64', 'int64', [II, 'int64'], { abi: ffi.abi.win64 })
  t.is(f([10, 3], -6n), -42n)
})

test('struct types can be built by hand from ffi_type bytes', (t) => {
  // struct { int; int; } laid out by libffi from a hand-made ffi_type.
  const P = ffi.sizeof.pointer
  const elements = Buffer.alloc(3 * P)
  ffi.writePointer(elements, 0, ffi.types.int)
  ffi.writePointer(elements, P, ffi.types.int)
  const t2 = Buffer.alloc(ffi.sizeof.ffi_type)
  t2.writeUInt16LE(ffi.TYPE_STRUCT, P + 2) // size 0 and alignment 0: libffi fills them in
  ffi.writePointer(t2, P + 4 + (P - 4), elements)
  t.deepEqual(ffi.offsetsof(t2), [0, 4])
  t.is(t2.readBigUInt64LE(0), 8n, 'libffi filled in the size')
  const cif = ffi.CIF(ffi.types.int, t2)
  const arg = Buffer.alloc(8)
  arg.writeInt32LE(50, 0)
  arg.writeInt32LE(8, 4)
  const aValues = Buffer.alloc(P)
  ffi.writePointer(aValues, 0, arg)
  const rValue = Buffer.alloc(8)
  ffi.call(cif, sym('ii_diff'), rValue, aValues)
  t.is(rValue.readInt32LE(0), 42)
})

test('a struct of at most 16 bytes holding a long double: refused as a return type where C returns it in x87 registers, accepted as an argument', (t) => {
  const ld = ffi.StructType(ffi.types.longdouble)
  t.notThrows(() => ffi.CIF(ffi.types.int, ld))
  t.notThrows(() => ffi.CIF(ffi.StructType(ffi.types.longdouble, ffi.types.longdouble), ffi.types.int), 'a 32-byte one comes back in memory for both')
  if (process.arch === 'x64' && process.platform !== 'win32') {
    t.throws(() => ffi.CIF(ld), { code: 'FFI_BAD_TYPEDEF', message: /x87/ })
    t.throws(() => ffi.CIF(ffi.StructType(ffi.StructType(ffi.types.longdouble))), { code: 'FFI_BAD_TYPEDEF' }, 'nested')
  } else t.notThrows(() => ffi.CIF(ld))
})
