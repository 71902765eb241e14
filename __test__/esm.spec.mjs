import test from 'ava'
import { createRequire } from 'node:module'
import ffi, { CIF, call, types, sizeof, NULL, dlopen as dl } from 'ffi'
import dlopenModule from 'ffi/dlopen'

const require = createRequire(import.meta.url)

test('ESM default and named exports are the CommonJS module', (t) => {
  t.is(ffi, require('ffi'))
  t.is(CIF, ffi.CIF)
  t.is(call, ffi.call)
  t.is(types.int, require('ffi').types.int)
  t.is(sizeof.pointer, ffi.sizeof.pointer)
  t.is(NULL, ffi.NULL)
  t.is(dl, dlopenModule)
  t.is(dlopenModule, require('ffi/dlopen'))
})

test('abs through the ESM entry', (t) => {
  const cif = CIF(types.int, types.int)
  const fn = ffi.readPointer(dlopenModule.dlsym(dlopenModule.dlopen(null), 'abs'), 0)
  const arg = Buffer.alloc(4)
  arg.writeInt32LE(-9)
  const aValues = Buffer.alloc(sizeof.pointer)
  ffi.writePointer(aValues, 0, arg)
  const rValue = Buffer.alloc(8)
  call(cif, fn, rValue, aValues)
  t.is(rValue.readInt32LE(0), 9)
})

test('ffi/dlopen has named ESM exports, the flags included', async (t) => {
  const { dlopen, dlsym, dlclose, dlerror, extension, RTLD_NOW, RTLD_LAZY } = await import('ffi/dlopen')
  t.is(dlopen, dlopenModule.dlopen)
  t.is(extension, dlopenModule.extension)
  t.is(RTLD_NOW, require('ffi/dlopen').RTLD_NOW)
  t.is(typeof RTLD_LAZY, process.platform === 'win32' ? 'undefined' : 'number')
  const lib = dlopen(null, RTLD_NOW)
  t.false(ffi.isNull(ffi.readPointer(dlsym(lib, 'abs'), 0)))
  t.is(dlerror(lib), 'no error')
  dlclose(lib)
})

test('ffi/buffer loads from ESM', async (t) => {
  await import('ffi/buffer')
  t.is(typeof Buffer.prototype.readPointerLE, 'function')
})
