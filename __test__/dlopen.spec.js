'use strict'

const test = require('ava')
const ffi = require('ffi')
const dl = require('ffi/dlopen')
const fixture = require('./helpers/fixture')

test('the same object as ffi.dlopen', (t) => {
  t.is(ffi.dlopen, dl)
})

test('extension and RTLD flags', (t) => {
  t.is(dl.extension, process.platform === 'darwin' ? '.dylib' : process.platform === 'win32' ? '.dll' : '.so')
  if (process.platform !== 'win32') {
    for (const f of ['RTLD_LAZY', 'RTLD_NOW', 'RTLD_GLOBAL', 'RTLD_LOCAL']) t.true(Number.isInteger(dl[f]), f)
    t.not(dl.RTLD_LAZY, dl.RTLD_NOW)
  }
})

test('a handle is a Buffer holding the loader handle; dlsym a Buffer holding the address', (t) => {
  const lib = dl.dlopen(fixture.build(), dl.RTLD_NOW | dl.RTLD_LOCAL)
  t.true(Buffer.isBuffer(lib))
  t.is(lib.length, ffi.sizeof.pointer)
  t.false(ffi.isNull(ffi.readPointer(lib, 0)))
  const sym = dl.dlsym(lib, 'fixture_global')
  t.is(sym.length, ffi.sizeof.pointer)
  // The data symbol's address: C initialised it to 1234.
  t.is(ffi.readPointer(sym, 0, 4).readInt32LE(0), 1234)
  t.is(dl.dlerror(lib), 'no error')
  dl.dlclose(lib)
})

test('dlopen(null) sees libc and libm already in the process', (t) => {
  const self = dl.dlopen(null)
  for (const s of ['strlen', 'malloc', 'cos']) t.false(ffi.isNull(ffi.readPointer(dl.dlsym(self, s), 0)), s)
  t.notThrows(() => dl.dlopen(null, dl.RTLD_NOW))
  t.notThrows(() => dl.dlopen(undefined))
})

test('dlerror without a handle reports the last failed dlopen', (t) => {
  t.throws(() => dl.dlopen('/nonexistent/libffi-nope.so'))
  t.regex(dl.dlerror(), /libffi-nope/)
})
