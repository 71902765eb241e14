'use strict'

// Regression: common mistakes that crashed, now caught with a coded error
// (each first in a child node, where it used to die with SIGSEGV), and
// libffi's %al convention on the direct path.

const test = require('ava')
const { runChild } = require('./helpers/child')
const { ffi } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)

for (const how of ['dlsym-as-fn', 'string-as-storage']) {
  test(`${how}: a coded error, no crash`, (t) => {
    const r = runChild('mistakes.js', [how])
    t.is(r.signal, null, r.stderr)
    t.is(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    if (how === 'dlsym-as-fn') {
      t.is(out.code, 'ERR_INVALID_ARG_VALUE')
      t.regex(out.message, /ffi\.readPointer\(dlsym\(lib, name\), 0\)/)
      t.is(out.async, 'ERR_INVALID_ARG_VALUE')
    } else {
      t.is(out.code, 'ERR_FFI_BUFFER_TOO_SMALL')
      t.regex(out.message, /argument 0's storage is 6 bytes, its type needs 8/)
      t.is(out.async, 'ERR_FFI_BUFFER_TOO_SMALL')
      t.is(out.fixed, 5, 'with the string in a slot of its own, strlen says 5')
    }
  })
}

test('fn: a Node-owned Buffer with a length, a slice or a copy of a pointer Buffer is refused', (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const aValues = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, Buffer.alloc(4))
  const abs = fn('abs')
  const expected = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' }
  t.throws(() => ffi.call(cif, Buffer.alloc(16), Buffer.alloc(8), aValues), { ...expected, message: /a Buffer of 16 bytes that Node owns is data, not code/ })
  t.throws(() => ffi.call(cif, Buffer.from(abs), Buffer.alloc(8), aValues), { ...expected, message: /a copy or a slice/ })
  t.throws(() => ffi.call(cif, abs.subarray(0), Buffer.alloc(8), aValues), { ...expected, message: /a copy or a slice/ })
  t.throws(() => ffi.bind(cif, Buffer.alloc(8), Buffer.alloc(8), aValues), { ...expected, message: /dlsym\(\)'s result/ })
  // Every kind of pointer Buffer the module makes is accepted.
  const r = Buffer.alloc(8)
  const arg = Buffer.alloc(4)
  arg.writeInt32LE(-4)
  ffi.writePointer(aValues, 0, arg)
  ffi.call(cif, ffi.fromAddress(ffi.addressBigInt(abs)), r, aValues)
  t.is(r.readInt32LE(0), 4)
  ffi.call(cif, ffi.reinterpret(abs, 1), r, aValues)
  t.is(r.readInt32LE(0), 4)
})

test('argument storage: shorter than its type is refused; pointer Buffers and longer storage are not', (t) => {
  const cif = ffi.CIF(ffi.types.int64, ffi.types.int64)
  const labs = fn('labs')
  const aValues = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, Buffer.alloc(4))
  t.throws(() => ffi.call(cif, labs, Buffer.alloc(8), aValues), { instanceOf: RangeError, code: 'ERR_FFI_BUFFER_TOO_SMALL', message: /argument 0's storage is 4 bytes, its type needs 8/ })
  const long = Buffer.alloc(16)
  long.writeBigInt64LE(-9n)
  ffi.writePointer(aValues, 0, long)
  const r = Buffer.alloc(8)
  ffi.call(cif, labs, r, aValues)
  t.is(r.readBigInt64LE(0), 9n)
  // A pointer Buffer of foreign memory has no length to check: the caller's word.
  ffi.writePointer(aValues, 0, ffi.reinterpret(long, 0))
  ffi.call(cif, labs, r, aValues)
  t.is(r.readBigInt64LE(0), 9n)
})

test('a variadic function through a plain CIF gets %al set on the direct path, as libffi sets it', (t) => {
  // snprintf(buf, 32, "%f", 1.5) with a CIF of fixed arguments: a caller's
  // mistake that libffi's own path forgives; the direct path now does too.
  const cif = ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.size_t, ffi.types.pointer, ffi.types.double)
  const out = Buffer.alloc(32)
  const fmt = ffi.allocCString('%f')
  const slots = [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)]
  ffi.writePointer(slots[0], 0, out)
  slots[1].writeBigUInt64LE(32n)
  ffi.writePointer(slots[2], 0, fmt)
  slots[3].writeDoubleLE(1.5)
  const aValues = Buffer.alloc(32)
  slots.forEach((s, i) => ffi.writePointer(aValues, 8 * i, s))
  ffi.call(cif, fn('snprintf'), Buffer.alloc(8), aValues)
  t.is(ffi.readCString(out), '1.500000')
})

test('typeInfo: size, alignment and type code of builtin and struct types', (t) => {
  t.deepEqual(ffi.typeInfo(ffi.types.int32), { size: 4, alignment: 4, type: ffi.TYPE_SINT32 })
  t.deepEqual(ffi.typeInfo(ffi.types.double), { size: 8, alignment: ffi.alignof.double, type: ffi.TYPE_DOUBLE })
  const s = ffi.StructType(ffi.types.int8, ffi.types.double, ffi.types.int16)
  t.deepEqual(ffi.typeInfo(s), { size: 8 + 8 + 8, alignment: ffi.alignof.double, type: ffi.TYPE_STRUCT })
  t.throws(() => ffi.typeInfo(Buffer.alloc(4)), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => ffi.typeInfo(42), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('a closure called after Closure.free: zero, not a closure made since, and one warning', (t) => {
  const r = runChild('freed-closure.js')
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), {
    before: 3,
    after: 0,
    again: 0,
    other: 200,
    warnings: [{ name: 'FFIWarning', code: 'FFI_CLOSURE_CALLED_AFTER_FREE' }],
  })
})
