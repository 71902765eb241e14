// ffi/c from ESM (default and named exports) and inside a Worker, where
// declarations are the Worker's own.
import test from 'ava'
import c, { cdef, typeof as typeOf, sizeof, offsetof, istype, alignof, abi, os, arch, new as cnew, cast, addressof, string, bytes, copy, fill, tonumber, tostring, gc, metatype } from 'ffi/c'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

const require = createRequire(import.meta.url)

test('ESM: the default export is the namespace, and every function is a named export', (t) => {
  t.is(c, require('ffi/c'))
  const named = { cdef, typeof: typeOf, sizeof, offsetof, istype, alignof, abi, new: cnew, cast, addressof, string, bytes, copy, fill, tonumber, tostring, gc, metatype }
  for (const [name, f] of Object.entries(named)) t.is(f, c[name], name)
  t.is(os, c.os)
  t.is(arch, c.arch)
  cdef('struct esm_point { int x, y; };')
  t.is(sizeof('struct esm_point'), 8)
  t.is(String(typeOf('struct esm_point *')), 'ctype<struct esm_point *>')
  t.is(cnew('struct esm_point', 1, 2).y, 2)
})

test('a Worker has declarations of its own', async (t) => {
  cdef('typedef double only_main_t;')
  const code = `
    const { parentPort } = require('node:worker_threads')
    const c = require('ffi/c')
    let main
    try { c.typeof('only_main_t'); main = 'visible' } catch (e) { main = e.code }
    c.cdef('typedef char only_worker_t[3];')
    parentPort.postMessage({ main, worker: c.sizeof('only_worker_t') })
  `
  const msg = await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true })
    w.once('message', resolve)
    w.once('error', reject)
  })
  t.deepEqual(msg, { main: 'ERR_FFI_UNKNOWN_TYPE', worker: 3 })
  t.throws(() => typeOf('only_worker_t'), { code: 'ERR_FFI_UNKNOWN_TYPE' })
})
