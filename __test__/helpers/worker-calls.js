'use strict'

// Run inside a Worker: the same kinds of calls as the main-thread specs,
// each result computed by C, posted back for the test to check.

const { parentPort, workerData } = require('node:worker_threads')
const { ffi, fx, struct, bind } = require('./c')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const out = {}
out.abs = bind(ffi.readPointer(dlsym(libc, 'abs'), 0), 'int', ['int'])(-workerData.n)
out.strlen = Number(bind(ffi.readPointer(dlsym(libc, 'strlen'), 0), 'size_t', ['pointer'])(ffi.allocCString('x'.repeat(workerData.n))))
out.weigh = fx('weigh_doubles12', 'double', Array(12).fill('double'))(...Array(12).fill(1))
const DI = struct('double', 'int')
out.di = fx('di_make', DI, ['double', 'int'])(workerData.n, 2)
out.errno = (fx('fail_with_errno', 'int', ['int'])(workerData.n), ffi.errno())
out.typesAddress = ffi.address(ffi.types.int)
try {
  ffi.call(Buffer.alloc(8), ffi.NULL, Buffer.alloc(8), Buffer.alloc(8))
} catch (e) {
  out.errorCode = e.code
}
parentPort.postMessage(out)
