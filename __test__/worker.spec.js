'use strict'

const test = require('ava')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const ffi = require('ffi')

function runWorker(n) {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, 'helpers', 'worker-calls.js'), { workerData: { n } })
    let result
    w.once('message', (m) => (result = m))
    w.once('error', reject)
    w.once('exit', (code) => (code === 0 ? resolve(result) : reject(new Error(`worker exited with ${code}`))))
  })
}

test('the same calls succeed inside Workers, several at once', async (t) => {
  const results = await Promise.all([3, 5, 7].map(runWorker))
  results.forEach((r, i) => {
    const n = [3, 5, 7][i]
    t.is(r.abs, n)
    t.is(r.strlen, n)
    t.is(r.weigh, 78)
    t.deepEqual(r.di, [n / 2, 6])
    t.is(r.errno, n)
    t.is(r.typesAddress, ffi.address(ffi.types.int), "libffi's ffi_type is one per process")
    t.is(r.errorCode, 'ERR_FFI_INVALID_CIF')
  })
})

test('Workers come and go while the main thread keeps calling', async (t) => {
  for (let round = 0; round < 3; round++) {
    const r = await runWorker(round + 1)
    t.is(r.abs, round + 1)
  }
  const { bind } = require('./helpers/c')
  const abs = bind(ffi.readPointer(ffi.dlopen.dlsym(ffi.dlopen.dlopen(null), 'abs'), 0), 'int', ['int'])
  t.is(abs(-11), 11)
})
