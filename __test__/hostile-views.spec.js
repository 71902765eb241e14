'use strict'

// Regression: the checks read properties the caller can override (a
// subclass's `length`, an own `length`, a `buffer` getter that throws once,
// `instanceof DataView` that is false for another realm's DataView), so a
// detached Buffer could pass and C then read or wrote memory that had moved
// away. Now they read intrinsics captured at load.

const test = require('ava')
const { runChild } = require('./helpers/child')
const { ffi } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const cases = {
  'subclass-length-rvalue': '0',
  'own-length-rvalue': '0',
  'subclass-length-arg': '-77',
  'throwing-buffer-arg': '-77',
  'foreign-dataview-arg': '-77',
  'foreign-dataview-rvalue': '0',
}
for (const [how, moved] of Object.entries(cases)) {
  test(`${how}: detached after a call, the next call throws ERR_FFI_DETACHED and C leaves the moved memory alone`, (t) => {
    const r = runChild('hostile-views.js', [how])
    t.is(r.signal, null, r.stderr)
    t.is(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    t.is(out.first.at(-1), '5')
    t.is(out.after, 'ERR_FFI_DETACHED')
    t.is(out.moved, moved)
  })
}

const labs = ffi.readPointer(dlsym(dlopen(null), 'labs'), 0)
const cif = ffi.CIF(ffi.types.int64, ffi.types.int64)

test('a detached DataView as rValue, aValues, argument or type: ERR_FFI_DETACHED', async (t) => {
  const detach = (dv) => {
    structuredClone(dv.buffer, { transfer: [dv.buffer] })
    return dv
  }
  const arg = Buffer.alloc(8)
  arg.writeBigInt64LE(-3n)
  const aValues = Buffer.alloc(8)
  ffi.writePointer(aValues, 0, arg)
  const expected = { instanceOf: TypeError, code: 'ERR_FFI_DETACHED' }
  t.throws(() => ffi.call(cif, labs, detach(new DataView(new ArrayBuffer(8))), aValues), expected)
  t.throws(() => ffi.call(cif, labs, Buffer.alloc(8), detach(new DataView(new ArrayBuffer(8)))), expected)
  t.throws(() => ffi.bind(cif, labs, detach(new DataView(new ArrayBuffer(8))), aValues), expected)
  await t.throwsAsync(ffi.callAsync(cif, labs, detach(new DataView(new ArrayBuffer(8))), aValues), expected)
  const dvArg = new DataView(new ArrayBuffer(8))
  const av2 = Buffer.alloc(8)
  ffi.writePointer(av2, 0, dvArg)
  detach(dvArg)
  t.throws(() => ffi.call(cif, labs, Buffer.alloc(8), av2), expected)
  t.throws(() => ffi.CIF(ffi.types.int, detach(new DataView(new ArrayBuffer(64)))), expected)
  t.throws(() => ffi.StructType(detach(new DataView(new ArrayBuffer(64)))), expected)
  // And a live DataView works, through the fast path too.
  const r = new DataView(new ArrayBuffer(8))
  for (let i = 0; i < 3; i++) ffi.call(cif, labs, r, aValues)
  t.is(r.getBigInt64(0, true), 3n)
})
