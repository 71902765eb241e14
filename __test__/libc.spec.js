'use strict'

const test = require('ava')
const { ffi, bind } = require('./helpers/c')
const { dlopen, dlsym, dlclose, dlerror, extension } = require('ffi/dlopen')

const libcName = 'libc' + (extension === '.so' ? '.so.6' : extension)
const self = dlopen(null)
const fn = (name, handle = self) => ffi.readPointer(dlsym(handle, name), 0)

test('strlen and abs through dlopen(null)', (t) => {
  const strlen = bind(fn('strlen'), 'size_t', ['pointer'])
  t.is(strlen(ffi.allocCString('hello, world')), 12n)
  t.is(strlen(ffi.allocCString('')), 0n)
  t.is(strlen(ffi.allocCString('héllo')), 6n, 'UTF-8 bytes')
  const abs = bind(fn('abs'), 'int', ['int'])
  t.is(abs(-2147483647), 2147483647)
  t.is(abs(0), 0)
})

test('snprintf through CIFVar with an int, a double and a string', (t) => {
  const P = ffi.sizeof.pointer
  // int snprintf(char *buf, size_t n, const char *format, ...): three fixed.
  const cif3 = ffi.CIFVar(3, ffi.types.int, ffi.types.pointer, ffi.types.size_t, ffi.types.pointer,
    ffi.types.int, ffi.types.double, ffi.types.pointer)
  const out = Buffer.alloc(64)
  const slots = [
    Buffer.alloc(P), Buffer.alloc(8), Buffer.alloc(P), Buffer.alloc(4), Buffer.alloc(8), Buffer.alloc(P),
  ]
  ffi.writePointer(slots[0], 0, out)
  slots[1].writeBigUInt64LE(BigInt(out.length))
  ffi.writePointer(slots[2], 0, ffi.allocCString('%d|%.3f|%s'))
  slots[3].writeInt32LE(-42)
  slots[4].writeDoubleLE(Math.PI)
  ffi.writePointer(slots[5], 0, ffi.allocCString('zeta'))
  const aValues = Buffer.alloc(P * slots.length)
  slots.forEach((s, i) => ffi.writePointer(aValues, i * P, s))
  const rValue = Buffer.alloc(8)
  ffi.call(cif3, fn('snprintf'), rValue, aValues)
  t.is(ffi.readCString(out), '-42|3.142|zeta')
  t.is(rValue.readInt32LE(0), '-42|3.142|zeta'.length)
})

test('variadic arguments must already be promoted', (t) => {
  const e = t.throws(() => ffi.CIFVar(1, ffi.types.int, ffi.types.pointer, ffi.types.float))
  t.is(e.code, 'FFI_BAD_ARGTYPE')
  t.is(e.errno, ffi.FFI_BAD_ARGTYPE)
})

test('the SPEC example: libc by name, abs through readPointer', (t) => {
  const libc = dlopen(libcName)
  const abs = bind(fn('abs', libc), 'int', ['int'])
  t.is(abs(-5), 5)
  dlclose(libc)
  t.is(dlerror(libc), 'no error')
})

test('errno from a real libc failure', (t) => {
  const open = bind(fn('open'), 'int', ['pointer', 'int'])
  t.is(open(ffi.allocCString('/nonexistent/ffi/test'), 0), -1)
  t.is(ffi.errno(), require('node:os').constants.errno.ENOENT)
})
