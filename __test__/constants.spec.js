'use strict'

const test = require('ava')
const { ffi, fx } = require('./helpers/c')

const sizeofKeys = `int8 uint8 int16 uint16 int32 uint32 int64 uint64 float double bool byte char uchar short ushort
  int uint long ulong longlong ulonglong longdouble pointer size_t ffi_arg ffi_sarg ffi_type ffi_cif ffi_closure`.split(/\s+/)

test('sizeof and alignof: frozen, every key, C sizes', (t) => {
  for (const o of [ffi.sizeof, ffi.alignof]) {
    t.true(Object.isFrozen(o))
    t.deepEqual(Object.keys(o).sort(), [...sizeofKeys].sort())
    for (const k of sizeofKeys) t.true(Number.isInteger(o[k]) && o[k] > 0, k)
  }
  const s = ffi.sizeof
  t.deepEqual([s.int8, s.int16, s.int32, s.int64, s.float, s.double, s.bool, s.byte], [1, 2, 4, 8, 4, 8, 1, 1])
  t.is(s.pointer, process.arch.endsWith('64') ? 8 : 4)
  t.is(s.ffi_arg, s.pointer)
  t.is(s.long, process.platform === 'win32' ? 4 : s.pointer)
  t.true(s.ffi_closure > s.pointer)
})

test('the sizes agree with what C computes', (t) => {
  // sizeof(size_t) and sizeof(long) as C sees them, through pointer arithmetic.
  const diff = fx('ptr_diff', 'size_t', ['pointer', 'pointer'])
  const base = Buffer.alloc(64)
  t.is(diff(ffi.reinterpret(base, 0, ffi.sizeof.longdouble), base), BigInt(ffi.sizeof.longdouble))
  t.is(ffi.sizeof.ffi_type, ffi.StructType(ffi.types.int).length - 2 * ffi.sizeof.pointer)
})

test('abi: frozen, default valid, first and last refused', (t) => {
  t.true(Object.isFrozen(ffi.abi))
  for (const k of ['default', 'first', 'last']) t.true(Number.isInteger(ffi.abi[k]))
  t.true(ffi.abi.first < ffi.abi.default && ffi.abi.default < ffi.abi.last)
  if (process.arch === 'x64' && process.platform !== 'win32') {
    t.deepEqual(
      Object.keys(ffi.abi).filter((k) => !['default', 'first', 'last'].includes(k)).sort(),
      ['efi64', 'gnuw64', 'unix64', 'win64'],
    )
    t.is(ffi.abi.default, ffi.abi.unix64)
  }
  t.truthy(ffi.CIF(ffi.abi.default, ffi.types.void))
})

test('types: frozen, zero-length pointer Buffers, C names are the fixed-width Buffers', (t) => {
  const names = `void uint8 int8 uint16 int16 uint32 int32 uint64 int64 uchar char ushort short uint int float double
    pointer ulong long longdouble bool size_t ssize_t longlong ulonglong`.split(/\s+/)
  t.true(Object.isFrozen(ffi.types))
  for (const n of names) {
    t.true(Buffer.isBuffer(ffi.types[n]), n)
    t.is(ffi.types[n].length, 0, n)
    t.not(ffi.address(ffi.types[n]), 0, n)
  }
  t.is(ffi.types.int, ffi.types.int32)
  t.is(ffi.types.uint, ffi.types.uint32)
  t.is(ffi.types.short, ffi.types.int16)
  t.is(ffi.types.uchar, ffi.types.uint8)
  t.is(ffi.types.longlong, ffi.types.int64)
  t.is(ffi.types.bool, ffi.types.uint8)
  if (process.platform !== 'win32' && ffi.sizeof.long === 8) {
    t.is(ffi.types.long, ffi.types.int64)
    t.is(ffi.types.ulong, ffi.types.uint64)
    t.is(ffi.types.size_t, ffi.types.uint64)
    t.is(ffi.types.ssize_t, ffi.types.int64)
  }
  t.is(ffi.types.char, process.arch === 'arm64' && process.platform === 'linux' ? ffi.types.uint8 : ffi.types.int8)
  t.is(ffi.types.int, ffi.types.int, 'every read is the same instance')
})

test('status values and TYPE_ codes are libffi’s', (t) => {
  t.deepEqual({ ...ffi.status }, { FFI_OK: 0, FFI_BAD_TYPEDEF: 1, FFI_BAD_ABI: 2, FFI_BAD_ARGTYPE: 3 })
  t.true(Object.isFrozen(ffi.status))
  t.is(ffi.FFI_OK, 0)
  t.is(ffi.FFI_BAD_ARGTYPE, 3)
  t.throws(() => {
    'use strict'
    ffi.FFI_OK = 5
  })
  t.is(ffi.TYPE_VOID, 0)
  t.is(ffi.TYPE_STRUCT, 13)
  t.is(ffi.TYPE_POINTER, 14)
  // The codes libffi itself put in its ffi_types.
  const code = (b) => ffi.reinterpret(b, ffi.sizeof.ffi_type).readUInt16LE(ffi.sizeof.pointer + 2)
  t.is(code(ffi.types.double), ffi.TYPE_DOUBLE)
  t.is(code(ffi.types.uint16), ffi.TYPE_UINT16)
  t.is(code(ffi.StructType(ffi.types.int)), ffi.TYPE_STRUCT)
})

test('CIF returns a Buffer of sizeof.ffi_cif holding libffi’s ffi_cif', (t) => {
  const cif = ffi.CIF(ffi.types.double, ffi.types.int, ffi.types.pointer)
  t.is(cif.length, ffi.sizeof.ffi_cif)
  t.is(cif.readUInt32LE(0), ffi.abi.default, 'abi')
  t.is(cif.readUInt32LE(4), 2, 'nargs')
  t.is(ffi.address(ffi.readPointer(cif, 2 * ffi.sizeof.pointer)), ffi.address(ffi.types.double), 'rtype')
  const argTypes = ffi.readPointer(cif, ffi.sizeof.pointer, 2 * ffi.sizeof.pointer)
  t.is(ffi.address(ffi.readPointer(argTypes, 0)), ffi.address(ffi.types.int))
  t.is(ffi.address(ffi.readPointer(argTypes, ffi.sizeof.pointer)), ffi.address(ffi.types.pointer))
})

test('the export list is what index.d.ts declares (API drift shows up here)', (t) => {
  const fs = require('node:fs')
  const path = require('node:path')
  const exported = Object.keys(ffi).sort()
  t.snapshot(exported)
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  for (const name of exported) {
    t.regex(dts, new RegExp(`export (const|function) ${name}\\b`), `${name} is declared in index.d.ts`)
  }
  const dl = Object.keys(require('ffi/dlopen')).sort()
  const dlts = fs.readFileSync(path.join(__dirname, '..', 'dlopen.d.ts'), 'utf8')
  for (const name of dl) t.regex(dlts, new RegExp(`export (const|function) ${name}\\b`), name)
})
